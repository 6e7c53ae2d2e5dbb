/* SPDX-License-Identifier: MIT */
/*
 * Private structures shared by the simulator's files. Nothing here is seen outside
 * backends/sim/.
 *
 * Who owns what:
 *  - sim-world.c: the world, its event heap, its random numbers, and the small containers
 *    below (hash map, FIFO ring) every model uses.
 *  - sim-platform.c: the platform table the library sees (counted allocation, simulated time).
 *  - sim-device.c: the PRI endpoint (credits, PRG indices, stop, FLR, removal, ATC).
 *  - sim-fabric.c: the posted upstream path and the downstream path of each device.
 *  - sim-model.c: the table of IOMMU models and which one the world runs.
 *  - sim-iommu.c: the software queue model, an abstract IOMMU (page request queue,
 *    overflow, drains, responses) the "sim" backend drives.
 *  - sim-vtd.c: the register-level VT-d model the "vtd" backend drives instead.
 *  - sim-smmuv3.c: the register-level SMMUv3 model the "smmuv3" backend drives instead.
 *  - sim-dma.c: the DMA memory a register-level model reads and writes by bus address.
 *  - sim-checker.c: the invariant checker.
 *  - sim-backend.c: the "sim" backend the core drives.
 *
 * Memory: every container grows to the largest number of things in flight at once (messages
 * on a path, queue entries, outstanding groups) and is reused, so a run that sends millions of
 * requests uses as much memory as its busiest moment.
 */
#ifndef PRQD_SIM_INTERNAL_H
#define PRQD_SIM_INTERNAL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backends/sim/sim-pool.h"
#include "backends/sim/sim.h"

/* Tells sim_world_platform()'s backend_data apart from anything else handed to "sim". */
#define SIM_WORLD_MAGIC 0x5349574fu /* "SIWO" */

/* PRG indices are 9 bits. */
#define SIM_PRG_INDICES 512u

/* A device that never sends Last still holds the PRG index. Real devices time such groups out
 * after a vendor-specific delay; the model releases the index after this long so a run can
 * end. Long next to every default latency and drain deadline, so the library sees the group
 * stay partial. */
#define SIM_NO_LAST_RELEASE_NS 100000000ull /* 100 ms */

/* SIM_ATC_SLOW answers this many times slower than atc_lat_ns. */
#define SIM_ATC_SLOW_FACTOR 100u

/* Violations kept in full; the rest are only counted. */
#define SIM_VIOLATIONS_KEPT 64u

/* Recent stop markers the checker remembers to recognise a response to one. Markers are
 * rare (one per stop of a PASID) and a response to one comes soon after it, if ever. */
#define SIM_MARKERS_KEPT 256u

/* Epoch changes remembered per (rid, PASID). A request older than all of them belongs to a
 * generation that is no longer remembered, hence not to any live bond. */
#define SIM_EPOCH_HISTORY 8u

/* ---- containers (sim-world.c) -------------------------------------------------------- */

/* Host memory for the models themselves: not counted as library allocations, never
 * failed on purpose. Allocation failure of the model aborts the run (it cannot go on
 * faithfully). */
void *sim_mem_alloc(struct sim_world *w, size_t size);
void sim_mem_free(struct sim_world *w, void *ptr, size_t size);
/* Grow an array of @elem-byte items from *cap to at least @need items (doubling). */
void sim_mem_grow(struct sim_world *w, void **arr, size_t *cap, size_t need, size_t elem);

/* Open-addressing hash map uint64 -> uint64, linear probing, backward-shift deletion (no
 * tombstones). Iteration is by slot, which depends only on the keys inserted: deterministic.
 * SIM_MAP_EMPTY marks a free slot and is not a valid key (tags, PASIDs and RID/PASID pairs
 * never reach it). */
#define SIM_MAP_EMPTY UINT64_MAX

struct sim_map_entry {
	uint64_t key;
	uint64_t val;
};

struct sim_map {
	struct sim_map_entry *slots; /* key and value side by side: one cache line per probe */
	size_t cap;                  /* 0 or a power of two */
	size_t count;
	unsigned shift;              /* 64 - log2(cap): a hash's top bits pick the home slot */
};

/* A key's home slot in a map with room: Fibonacci hashing (the golden ratio's multiple, top
 * bits), one multiplication. The keys (serial tags, RID/index and RID/PASID pairs) differ in
 * low bits or in whole fields, which the product spreads over its top bits. */
static inline size_t sim_map_home(const struct sim_map *m, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> m->shift);
}

void sim_map_put(struct sim_world *w, struct sim_map *m, uint64_t key, uint64_t val);
/* The value of @key, added (value 0, *@added true) if absent: one probe where a get then a
 * put would take two. Valid until the map next changes. */
uint64_t *sim_map_ref(struct sim_world *w, struct sim_map *m, uint64_t key, bool *added);
bool sim_map_del(struct sim_map *m, uint64_t key);
void sim_map_free(struct sim_world *w, struct sim_map *m);

/* Inline: the checker and the devices look a key up several times per request. */
static inline bool sim_map_get(const struct sim_map *m, uint64_t key, uint64_t *val)
{
	if (!m->count)
		return false;
	for (size_t s = sim_map_home(m, key); m->slots[s].key != SIM_MAP_EMPTY;
	     s = (s + 1) & (m->cap - 1)) {
		if (m->slots[s].key == key) {
			if (val)
				*val = m->slots[s].val;
			return true;
		}
	}
	return false;
}

/* Growable FIFO of fixed-size items. */
struct sim_ring {
	unsigned char *buf;
	size_t item_size;
	size_t cap; /* items */
	size_t head;
	size_t len;
};

void sim_ring_init(struct sim_ring *r, size_t item_size);
/* Double the ring's room (sim_ring_push when it is full). */
void sim_ring_grow(struct sim_world *w, struct sim_ring *r);

/* The rings carry every message and queue entry of a run: the three below are inline so
 * that a push or a pop costs a few instructions, not a call. */

/* The @i-th item from the front. */
static inline void *sim_ring_at(const struct sim_ring *r, size_t i)
{
	return r->buf + ((r->head + i) & (r->cap - 1)) * r->item_size;
}

/* Append one item, to be filled by the caller; returns it (valid until the next push). */
static inline void *sim_ring_push(struct sim_world *w, struct sim_ring *r)
{
	if (r->len == r->cap)
		sim_ring_grow(w, r);
	return sim_ring_at(r, r->len++);
}

static inline void sim_ring_pop(struct sim_ring *r)
{
	if (!r->len)
		return;
	r->head = (r->head + 1) & (r->cap - 1);
	r->len--;
}

void sim_ring_clear(struct sim_ring *r);
void sim_ring_free(struct sim_world *w, struct sim_ring *r);

/* Schedule, aborting on allocation failure (internal events must not be lost). */
void sim_schedule_or_die(struct sim_world *w, uint64_t at, sim_event_fn fn, void *arg,
			 uint64_t arg2);
/* Take a place in the scheduling order now, for an event scheduled later with
 * sim_schedule_reserved(): it then runs exactly where it would have had it been scheduled
 * at the time of the reservation. The fabric uses this to keep one event per path (for the
 * message at its head) instead of one per message, with the same order of events. */
static inline uint64_t sim_event_reserve(struct sim_world *w);
void sim_schedule_reserved(struct sim_world *w, uint64_t at, uint64_t seq, sim_event_fn fn,
			   void *arg, uint64_t arg2);

/* The time of the next event to run, if any (the world's own peek: events are only ever
 * taken off the heap here and in sim_step). */
bool sim_next_event_at(struct sim_world *w, uint64_t *at);

/* ---- messages on the wire (sim-fabric.c) ----------------------------------------------- */

enum sim_up_kind {
	SIM_UP_PAGE_REQ = 1, /* page request or stop marker */
	SIM_UP_INV_DONE = 2, /* ATS invalidation completion */
	SIM_UP_STALL = 3,    /* a stall-model device's transaction that faulted */
};

enum sim_req_flags {
	SIM_RQ_READ = 1u << 0,
	SIM_RQ_WRITE = 1u << 1,
	SIM_RQ_EXEC = 1u << 2,
	SIM_RQ_PRIV = 1u << 3,
	SIM_RQ_LAST = 1u << 4,
	SIM_RQ_PASID = 1u << 5,  /* PASID prefix present */
	SIM_RQ_MARKER = 1u << 6, /* a Stop Marker (L=1, R=W=0, PASID): for the checker's books */
};

/* Device -> IOMMU, on the posted path. */
struct sim_up_msg {
	uint64_t deliver_at; /* set by the fabric */
	uint64_t event_seq;  /* its place in the scheduling order (fabric) */
	uint64_t issue_ns; /* when the device sent it (drain checks) */
	uint64_t tag;      /* page request: world-unique serial; completion: 0 */
	uint64_t addr;     /* page request: page address */
	uint64_t drain_id; /* completion: the drain it answers */
	uint32_t pasid;
	uint16_t prg_index;
	uint8_t kind;      /* enum sim_up_kind */
	uint8_t flags;     /* enum sim_req_flags */
};

enum sim_down_kind {
	SIM_DOWN_RESP = 1, /* PRG response */
	SIM_DOWN_INV = 2,  /* ATS invalidation */
	SIM_DOWN_RESUME = 3, /* a stalled transaction ends: code 0 retried, else terminated */
};

/* PRG Response Message codes on the wire (PCIe §10.4.2.1); every other value is reserved. */
enum sim_wire_rc {
	SIM_RC_SUCCESS = 0x0,
	SIM_RC_INVALID = 0x1,
	SIM_RC_FAILURE = 0xF,
};

/* IOMMU -> device. */
struct sim_down_msg {
	uint64_t deliver_at; /* set by the fabric */
	uint64_t event_seq;  /* its place in the scheduling order (fabric) */
	uint64_t tag;      /* response: the Last request's tag (0 if the library gave none) */
	uint64_t drain_id; /* invalidation: the drain waiting for it */
	uint32_t pasid;
	uint16_t rid;      /* the response's destination ID as sent */
	uint16_t prg_index;
	uint8_t kind;      /* enum sim_down_kind */
	uint8_t code;      /* response: the PCIe Response Code on the wire (SIM_RC_*) */
	bool pasid_present;
	bool is_auto;      /* the IOMMU's overflow auto-response */
};

/* Whether @m is a Stop Marker, judged by its wire encoding as an IOMMU judges it: a page
 * request with L=1, R=W=0 and a PASID. An IOMMU queues or drops it but never answers it. */
static inline bool sim_up_is_stop_marker(const struct sim_up_msg *m)
{
	return (m->flags & SIM_RQ_LAST) && !(m->flags & (SIM_RQ_READ | SIM_RQ_WRITE)) &&
	       (m->flags & SIM_RQ_PASID);
}

/* An IOMMU model answers request @m of device @d itself (an overflow or a closed PASID):
 * a PRG response with wire code @code, carrying @m's PASID when @pasid_present. The model
 * counts it in its own statistics. */
void sim_fabric_auto_respond(struct sim_dev *d, const struct sim_up_msg *m, uint8_t code,
			     bool pasid_present);

/* Put a message on the device's upstream (posted, order-preserving) path. */
void sim_fabric_up(struct sim_dev *d, const struct sim_up_msg *m);
/* Put a message on the device's downstream path. */
void sim_fabric_down(struct sim_dev *d, const struct sim_down_msg *m);
/* The link went down: everything on both paths is lost. */
void sim_fabric_drop_all(struct sim_dev *d);

/* ---- device (sim-device.c) ---------------------------------------------------------- */

/* One outstanding page request group as the device keeps it. */
struct sim_dev_group {
	uint64_t first_tag; /* names the group for the no-Last release timer */
	uint64_t last_tag;  /* its final request's tag: what a response to it carries */
	uint64_t addr;      /* first page: refaulted after Success */
	uint32_t pasid;     /* PRQD_NO_PASID for none */
	uint32_t pages;     /* credits it holds */
	int32_t next;       /* next group on the same PRG index (FIFO); -1 at the end */
	uint8_t access;     /* enum sim_access */
	bool stale;         /* stopped with a marker: the response only returns credits */
	bool no_last;       /* Last never sent (misbehaviour): released by a timer */
};

struct sim_dev {
	struct sim_world *w;
	struct sim_dev_cfg cfg;
	bool removed;
	bool response_failure; /* PRI status RF: PRI disabled until FLR */
	uint64_t first_tag;    /* the world's next tag when the device was added */

	/* Outstanding groups: a FIFO per PRG index (several only when the device misbehaves
	 * by reusing an index), records from a pool with a free list. */
	int32_t index_head[SIM_PRG_INDICES], index_tail[SIM_PRG_INDICES];
	uint64_t index_busy[SIM_PRG_INDICES / 64]; /* bit set <=> the index FIFO is not empty */
	struct sim_pool groups; /* of struct sim_dev_group */
	uint32_t credits_used;
	uint32_t outstanding;

	/* PASIDs stopped at the device (PRQD_NO_PASID included): pasid -> marker (0/1). */
	struct sim_map stopped;

	/* Stall model: transactions held by the IOMMU, by tag (value unused). */
	struct sim_map stalls;

	/* Paths to and from the IOMMU (sim-fabric.c). */
	struct sim_ring up, down;
	uint64_t up_last_at, down_last_at;

	struct sim_dev_stats stats;
};

/* A message reached the device on its downstream path. */
void sim_dev_receive(struct sim_dev *d, const struct sim_down_msg *m);
/* The device the world routes @rid to: the present one, else the last removed one (whose
 * traffic vanishes), else NULL (no device ever had that RID). */
struct sim_dev *sim_dev_route(struct sim_world *w, uint16_t rid);

/* ---- IOMMU model (sim-iommu.c) --------------------------------------------------------- */

/* A queue entry: the request as it arrived, its queue position and its requester. */
struct sim_qent {
	struct sim_up_msg m;
	uint64_t seq;
	uint16_t rid;
};

enum sim_drain_state {
	SIM_DRAIN_PENDING = 1, /* invalidation sent, completion not back */
	SIM_DRAIN_DONE = 2,    /* completion arrived: mark valid */
	SIM_DRAIN_FAILED = 3,  /* ITE: timed out, a late completion is ignored */
};

/* A drain step the model tracks; the core's prqd_drain_step names it by id. */
struct sim_drain_rec {
	uint64_t id; /* 0 = free slot */
	struct sim_dev *dev;
	uint64_t mark;
	uint8_t state; /* enum sim_drain_state */
};

/* What the backend keeps after struct prqd_drain_step (drain_priv_size bytes). */
struct sim_drain_priv {
	uint64_t id;
	/* Once the core has been told the outcome, it is kept here so a repeated poll answers
	 * the same without the model's record. */
	int32_t result; /* 0 none yet; 1 done; negative errno failed */
};

struct sim_iommu {
	/* Parameters (the backend's, applied at init). */
	uint32_t queue_size;
	uint8_t overflow_response; /* enum prqd_resp: 0 success, 1 invalid */
	uint64_t ite_timeout_ns;   /* 0 = never */
	bool page_drain;           /* ECAP.PDS: drain steps are possible */
	bool backend_attached;     /* one IOMMU per world */

	struct sim_ring queue; /* struct sim_qent, head = next to fetch */
	uint64_t next_seq;
	bool overflow;

	struct sim_drain_rec *drains;
	size_t drains_cap;
	uint64_t next_drain_id;

	struct sim_iommu_stats stats;
};

/* The backend's steps. */
int sim_iommu_fetch(struct sim_world *w, struct prqd_hw_req *out, unsigned max);
/* Send a response whose code the backend already encoded for the wire (SIM_RC_*). */
int sim_iommu_respond(struct sim_world *w, const struct prqd_hw_resp *resp, uint8_t wire_code);
int sim_iommu_drain_start(struct sim_world *w, struct sim_dev *d, struct prqd_drain_step *op);
int sim_iommu_drain_poll(struct sim_world *w, struct prqd_drain_step *op);
int sim_iommu_drain_release(struct sim_world *w, struct prqd_drain_step *op);
int sim_iommu_overflow_ack(struct sim_world *w);

/* ---- DMA memory (sim-dma.c) ------------------------------------------------------------- */

/* Memory the platform's dma_alloc hands to the library; a register model reaches it by bus
 * address. Bus addresses are never reused: a late write to freed memory finds nothing. */
struct sim_dma_region {
	uint64_t bus;
	size_t size;
	unsigned char *va;
};

struct sim_dma {
	struct sim_dma_region *regions;
	size_t len, cap;
	uint64_t next_bus;
	uint64_t bad_writes; /* writes to bus addresses nobody allocated */
};

void sim_dma_init(struct sim_dma *dma);
/* Memory the library never gave back is freed here (the leak check has seen it). */
void sim_dma_release(struct sim_world *w);
int sim_dma_alloc(struct sim_world *w, size_t size, size_t align, void **va, uint64_t *bus);
void sim_dma_free(struct sim_world *w, void *va, size_t size);
/* The host address of @len bytes at bus address @bus, or NULL. */
unsigned char *sim_dma_at(const struct sim_world *w, uint64_t bus, size_t len);
bool sim_dma_read64(const struct sim_world *w, uint64_t bus, uint64_t *out);
/* @n 64-bit words from @bus on, as @n sim_dma_read64() calls would read them (one region
 * lookup when they lie in one region); false as soon as one is unreadable. */
bool sim_dma_read(const struct sim_world *w, uint64_t bus, uint64_t *out, size_t n);
/* A write to memory nobody allocated is lost and counted. */
void sim_dma_write(struct sim_world *w, uint64_t bus, const void *src, size_t len);

/* ---- IOMMU models (sim-model.c) -------------------------------------------------------- */

/* One page request inside a model that software has not read yet (sim_iommu_model
 * each_queued): its requester, PASID, the simulator's tag (0 if the model no longer knows
 * it) and when the device issued it. */
typedef void (*sim_queued_fn)(void *arg, uint16_t rid, bool pasid_valid, uint32_t pasid,
			      uint64_t tag, uint64_t issue_ns);

/*
 * An IOMMU model: what the world, the fabric and the checker ask of the IOMMU, whichever
 * model the world runs. Every op is set but the register window's. The world starts with the software queue model
 * (sim-iommu.c, driven by the "sim" backend); the first register write through the
 * platform attaches the register-level model behind the register window (w->mmio_model,
 * "vtd" by default, sim_mmio_model_select() chooses), which from then on receives the
 * devices' traffic. Each model keeps its state in its own member of struct sim_world.
 */
struct sim_iommu_model {
	const char *name;
	/* World creation and teardown: set up and free the model's state (every model's, used
	 * or not). */
	void (*init)(struct sim_world *w);
	void (*release)(struct sim_world *w);
	/* The model starts receiving the world's traffic (sim_model_attach). */
	void (*attach)(struct sim_world *w);
	/* A message reached the IOMMU on @d's upstream path. */
	void (*receive)(struct sim_dev *d, const struct sim_up_msg *m);
	/* The page request queue overflows now, as a full one would. */
	void (*overflow_now)(struct sim_world *w);
	void (*stats)(const struct sim_world *w, struct sim_iommu_stats *out);
	/* The simulator's tag of the request the backend tagged @backend_tag in
	 * prqd_hw_req.tag, or 0 if the model no longer knows it. */
	uint64_t (*request_tag)(const struct sim_world *w, uint64_t backend_tag);
	/* Call @fn for every page request inside the model that software has not read. */
	void (*each_queued)(const struct sim_world *w, sim_queued_fn fn, void *arg);
	/* The register window: register-level models only, NULL in the others (which
	 * sim_mmio_model_select() refuses). */
	uint32_t (*read32)(struct sim_world *w, uint64_t off);
	uint64_t (*read64)(struct sim_world *w, uint64_t off);
	void (*write32)(struct sim_world *w, uint64_t off, uint32_t val);
	void (*write64)(struct sim_world *w, uint64_t off, uint64_t val);
};

extern const struct sim_iommu_model sim_queue_model; /* sim-iommu.c */
extern const struct sim_iommu_model sim_vtd_model;   /* sim-vtd.c */
extern const struct sim_iommu_model sim_smmuv3_model; /* sim-smmuv3.c */

/* Every model the world builds, NULL-terminated: a new model adds one entry (sim-model.c). */
extern const struct sim_iommu_model *const sim_iommu_models[];

/* Make @m the model that receives the world's traffic (once: attaching the attached model
 * again does nothing). */
void sim_model_attach(struct sim_world *w, const struct sim_iommu_model *m);

/* ---- VT-d model (sim-vtd.c) ------------------------------------------------------------- */

/* A device-TLB invalidation sent to a device, waiting for its completion. */
struct sim_vtd_inv {
	uint64_t id;    /* echoed by the device's completion (sim_up_msg.drain_id) */
	uint64_t order; /* position of its descriptor in the processing order */
	uint16_t sid;
	bool done;      /* answered, or timed out */
};

/* An invalidation wait fetched but not complete. */
struct sim_vtd_wait {
	uint64_t order;
	uint64_t status_addr;
	uint64_t ready_ns; /* when everything before it had completed (page-drain cut) */
	uint32_t status_data;
	bool sw, iflag, fence, pd, ready;
};

/* A page request between its arrival and its queue entry. */
struct sim_vtd_arrival {
	struct sim_up_msg m;
	uint64_t arrive_ns;
	uint16_t rid;
};

/* What the model remembers of a queue entry it wrote, by position: the checker's view. */
struct sim_vtd_shadow {
	uint64_t seq;
	uint64_t tag;
	uint64_t issue_ns;
};
#define SIM_VTD_SHADOW 8192u /* positions remembered (a power of two) */

/* What a register-level model tells about one page request it holds that software has not
 * read yet (the checker's view of its queue): @tag 0 if the model no longer knows it. */
typedef void (*sim_queued_fn)(void *arg, uint16_t rid, bool pasid_valid, uint32_t pasid,
			      uint64_t tag, uint64_t issue_ns);

/* The shadow log of a register-level model (VT-d, SMMUv3), SIM_VTD_SHADOW entries (sim-world.c):
 * what it wrote at each queue position, counted from the queue's setup. */
struct sim_vtd_shadow *sim_shadow_new(struct sim_world *w);
void sim_shadow_free(struct sim_world *w, struct sim_vtd_shadow *log);
void sim_shadow_record(struct sim_vtd_shadow *log, uint64_t seq, const struct sim_up_msg *m);
/* The entry of queue position @seq when @written entries were written so far; NULL if
 * never written or no longer remembered (or @log is NULL). */
const struct sim_vtd_shadow *sim_shadow_find(const struct sim_vtd_shadow *log, uint64_t written,
					     uint64_t seq);
/* The simulator's tag of the request at the position a register backend tagged
 * @backend_tag (position + 1), or 0. */
uint64_t sim_shadow_tag(const struct sim_vtd_shadow *log, uint64_t written, uint64_t backend_tag);
/* Call @fn for every page request among @arrivals (struct sim_vtd_arrival). */
void sim_arrivals_each(const struct sim_ring *arrivals, sim_queued_fn fn, void *arg);

/*
 * A PASID-table entry the embedder changed through the platform (sim-platform.c), with the
 * unit's cached copy of it. Entries not listed are present in memory and in the cache.
 */
struct sim_vtd_pasid_entry {
	uint16_t rid;
	uint32_t pasid; /* PRQD_NO_PASID: the entry serving requests without PASID (RID_PASID) */
	bool present;   /* the Present bit in memory */
	bool cached;    /* the bit as the unit uses it: read at the last PASID-cache invalidation */
};

#define SIM_VTD_DESC_LOG 64u /* descriptor types remembered, in fetch order */

struct sim_vtd {
	struct sim_vtd_config cfg;

	/* Registers. */
	uint32_t gsts, fsts, fectl, ics, iectl, prs, pectl;
	uint64_t iqh, iqt, iqa, iqer, pqh, pqt, pqa;

	/* Invalidation queue processing. */
	uint64_t next_order;     /* descriptors fetched so far */
	struct sim_ring invs;    /* struct sim_vtd_inv, in order */
	struct sim_ring waits;   /* struct sim_vtd_wait, in order */
	bool fenced;             /* a fence wait is pending: nothing more is fetched */
	uint64_t next_inv_id;

	/* Page requests. */
	struct sim_ring arrivals; /* struct sim_vtd_arrival */
	uint64_t prq_seq;         /* entries written since PQA was programmed */
	struct sim_vtd_shadow *shadow; /* SIM_VTD_SHADOW entries, allocated on attach */

	/* PASID entries and the unit's cache of them (the gate). */
	struct sim_vtd_pasid_entry *entries;
	size_t nentries, cap_entries;
	/* The latest device-TLB invalidation fetched since the last wait: whose ATC a
	 * page-drain wait after it drains. */
	bool devtlb_pending;
	uint16_t devtlb_sid;
	uint32_t devtlb_pasid; /* PRQD_NO_PASID for the legacy (no PASID) invalidation */
	uint8_t desc_log[SIM_VTD_DESC_LOG]; /* types of the latest descriptors fetched */
	uint64_t ndescs;                     /* descriptors fetched (and accepted) so far */

	struct sim_iommu_stats stats;
};

/* The platform's pasid_entry_set_present: set the Present bit of (@rid, @pasid)'s entry in
 * memory (the unit's cached copy changes only with a PASID-cache invalidation). Returns 1
 * (changed) or 0 (it already had that value). */
int sim_vtd_pasid_entry_set_present(struct sim_world *w, uint32_t rid, uint32_t pasid,
				    bool present);
/* The types of the latest descriptors the unit fetched and accepted, oldest first: up to
 * @max (at most SIM_VTD_DESC_LOG) into @out; returns how many. */
unsigned sim_vtd_recent_descs(const struct sim_world *w, uint8_t *out, unsigned max);

/* ---- SMMUv3 model (sim-smmuv3.c) ---------------------------------------------------------- */

/* One of the SMMU's circular queues as software programmed it: raw register values. */
struct sim_smmuv3_queue {
	uint64_t base; /* *_BASE */
	uint32_t prod; /* *_PROD: index and wrap (plus OVFLG on the event and PRI queues) */
	uint32_t cons; /* *_CONS: index and wrap (plus ERR on the command queue, OVACKFLG) */
};

/* An ATS invalidation sent to a device, waiting for its completion. */
struct sim_smmuv3_inv {
	uint64_t id; /* echoed by the device's completion (sim_up_msg.drain_id) */
	uint32_t sid;
	bool done;      /* answered, or timed out */
	bool timed_out; /* the next CMD_SYNC fails with CERROR_ATC_INV_SYNC */
};

/* A transaction the SMMU holds (stall model) until CMD_RESUME or CMD_STALL_TERM. */
struct sim_smmuv3_stall {
	uint64_t tag;  /* the device's transaction */
	uint64_t addr;
	uint32_t sid;
	uint32_t ssid;
	uint16_t stag;
	uint8_t flags;  /* enum sim_req_flags of the transaction */
	bool recorded;  /* its event record is in the event queue */
};

struct sim_smmuv3 {
	struct sim_smmuv3_config cfg;

	/* Registers. */
	uint32_t cr0, cr1, cr2, irq_ctrl, gerror, gerrorn, strtab_base_cfg;
	uint64_t strtab_base, priq_irq_cfg0;
	uint32_t priq_irq_cfg1, priq_irq_cfg2;
	struct sim_smmuv3_queue cmdq, evtq, priq;

	/* Command processing: ATS invalidations consumed since the last completed CMD_SYNC, and
	 * the sync at CONS once everything before it completed (the snapshot cut). */
	struct sim_ring invs; /* struct sim_smmuv3_inv, in order */
	uint64_t next_inv_id;
	bool sync_ready;
	uint64_t sync_ready_ns;
	bool sync_has_inv; /* the sync at CONS covers ATS invalidations: a drain round */

	/* Page requests between their arrival and their record (struct sim_vtd_arrival: the
	 * same facts as the VT-d model keeps). */
	struct sim_ring arrivals;
	uint64_t priq_seq; /* records written since PRIQ_BASE was programmed */
	struct sim_vtd_shadow *shadow; /* SIM_VTD_SHADOW entries, allocated on attach */

	/* Stalled transactions in arrival order (event records are written in that order). */
	struct sim_smmuv3_stall *stalls;
	size_t nstalls, cap_stalls;
	uint16_t next_stag;

	struct sim_iommu_stats stats;
};

/* ---- checker (sim-checker.c) ---------------------------------------------------------- */

/* A group as the checker sees it on the wire: from its Last request to its one response. */
struct sim_chk_group {
	uint64_t tag; /* the Last request's tag */
	uint32_t pasid;
	uint16_t rid;
	uint16_t prg_index;
	bool pasid_valid;
	bool forgiven; /* FLR or Response Failure: a response is stale, none is fine */
	/* The groups outstanding at the same (rid, index), a ring in send (tag) order whose
	 * head is in sim_checker.by_index: an untagged response finds its group there. */
	int32_t index_next, index_prev;
};

struct sim_chk_marker {
	uint64_t tag;
	uint32_t pasid;
	uint16_t rid;
};

struct sim_chk_epochs {
	uint64_t first_tag[SIM_EPOCH_HISTORY]; /* requests from this tag on ... */
	uint32_t gen[SIM_EPOCH_HISTORY];       /* ... belong to this generation */
	uint32_t count;                        /* changes ever recorded */
};

struct sim_checker {
	struct sim_map groups; /* Last tag -> pool slot */
	struct sim_map by_index; /* rid << 16 | prg_index -> pool slot of the oldest group there */
	struct sim_pool pool;  /* of struct sim_chk_group */

	struct sim_chk_marker markers[SIM_MARKERS_KEPT];
	unsigned markers_next, markers_count;

	struct sim_map epoch_index; /* rid << 32 | pasid -> slot in epochs */
	struct sim_chk_epochs *epochs;
	size_t epochs_len, epochs_cap;

	unsigned counts[SIM_V_NR];
	unsigned total;
	struct sim_violation kept[SIM_VIOLATIONS_KEPT];
	unsigned nkept;
};

enum sim_chk_verdict {
	SIM_CHK_OK = 0,    /* the one response of a group */
	SIM_CHK_STALE = 1, /* a response the device no longer expects (FLR, RF): ignored */
	SIM_CHK_BAD = 2,   /* a violation was recorded */
};

void sim_chk_release(struct sim_world *w, struct sim_checker *c);
/* A request left device @d (after its fields are final). */
void sim_chk_request_sent(struct sim_dev *d, const struct sim_up_msg *m);
/* A response reached device @d (auto-responses included). */
enum sim_chk_verdict sim_chk_response(struct sim_dev *d, const struct sim_down_msg *m);
/* The device answers no more for its outstanding groups (FLR, Response Failure). */
void sim_chk_forgive_dev(struct sim_dev *d);
/* The device is gone: forget its groups (nothing of it counts as never answered). */
void sim_chk_drop_dev(struct sim_dev *d);
/* Record a violation. */
void sim_chk_violation(struct sim_world *w, unsigned kind, uint16_t rid, uint32_t pasid,
		       uint16_t prg_index, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* ---- the world ------------------------------------------------------------------------ */

struct sim_event {
	uint64_t at;
	uint64_t seq; /* ties at equal times run in scheduling order */
	sim_event_fn fn;
	void *arg;
	uint64_t arg2;
};

struct sim_world {
	uint32_t magic; /* SIM_WORLD_MAGIC */
	struct sim_config cfg;

	/* Memory for the models (the host's, uncounted). */
	void *host_user;
	void *(*host_alloc)(void *user, size_t size);
	void (*host_free)(void *user, void *ptr, size_t size);

	/* The table the library gets (sim-platform.c). */
	struct prqd_platform plat;
	struct sim_alloc_stats alloc;

	uint64_t now;
	uint64_t rng[4]; /* xoshiro256** state */

	/* Called every SIM_RELAX_HOOK_EVERY relax() calls, while a library call waits. */
	void (*relax_hook)(void *user);
	void *relax_hook_user;
	uint64_t relax_calls;

	struct sim_event *heap;
	size_t heap_len, heap_cap;
	bool heap_root_ran; /* heap[0] is the event running or last run, not yet removed */
	uint64_t event_seq;

	uint64_t next_tag; /* request serials, from 1 */

	/* Devices by RID, sorted: the present one, or the last removed one, per RID. */
	struct sim_dev **devs;
	size_t ndevs, devs_cap;
	struct sim_dev *route_last; /* sim_dev_route()'s last answer, or NULL */
	/* Every device ever added (freed with the world: events may still name them). */
	struct sim_dev **all_devs;
	size_t nall, all_cap;

	/* The IOMMU models (one member per model, each model's own) and which of them receives
	 * the devices' traffic and sits behind the platform's register window. */
	const struct sim_iommu_model *model;
	const struct sim_iommu_model *mmio_model;
	/* sim_mmio_model_select() (or a model's configure) chose mmio_model: opening a backend
	 * no longer changes it (sim_mmio_model_for_backend). */
	bool mmio_model_chosen;
	struct sim_iommu iommu;
	struct sim_vtd vtd;
	struct sim_smmuv3 smmuv3;
	struct sim_dma dma;
	struct sim_checker chk;
};

/* (Declared with the scheduling calls above; inline: the fabric takes one per message.) */
static inline uint64_t sim_event_reserve(struct sim_world *w)
{
	return w->event_seq++;
}

/* sim-platform.c: fill w->plat. */
void sim_platform_setup(struct sim_world *w);
/* sim-platform.c: memory counted as the library's (the allocation-failure sweep fails it too). */
void *sim_plat_alloc_counted(struct sim_world *w, size_t size);
void sim_plat_free_counted(struct sim_world *w, void *ptr, size_t size);
/* sim-device.c: free a device's memory (world teardown). */
void sim_dev_release(struct sim_dev *d);

static inline uint64_t sim_max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

#endif /* PRQD_SIM_INTERNAL_H */
