/* SPDX-License-Identifier: MIT */
/*
 * The simulator: a deterministic discrete-event model of PRI devices, the PCIe fabric and an
 * abstract IOMMU, plus the checker that watches every request and response on the wire.
 *
 * Internal to the project: libprqdrain-sim exports only include/prqdrain-sim.h, a thin API
 * over this; prqdrain-sim, prqdrain-monitor and the tests link the internal library. Single-threaded: one world is driven by one thread, and the
 * library calls into it through the platform table sim_world_platform() returns (simulated
 * clock; relax() runs the next event) and through the "sim" backend.
 *
 * Time is in simulated nanoseconds from 0. Everything random comes from the world's seed, so
 * the same seed and the same calls give the same run.
 */
#ifndef PRQD_SIM_H
#define PRQD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "prqdrain-backend.h"

struct sim_world;
struct sim_dev;

/* ---- world ---------------------------------------------------------------------------- */

struct sim_config {
	uint64_t fabric_lat_min_ns; /* posted path latency, uniform in [min, max] (200, 2000) */
	uint64_t fabric_lat_max_ns;
	uint64_t resp_lat_ns;       /* response / invalidation downstream latency (500) */
	uint64_t relax_step_ns;     /* time relax() advances when no event is due (1000) */
	/* The platform also supplies pasid_entry_set_present, writing the PASID entries the
	 * VT-d model keeps for its devices: the "vtd" backend then gates page requests at the
	 * IOMMU (false: an embedder without the callback, no gating). */
	bool pasid_entries;
};
/* The IOMMU model's own settings are the sim backend's parameters, applied when the backend
 * is initialised: sim.queue_size (entries, default 256), sim.overflow_response (success |
 * invalid: the auto-response to Last requests dropped in overflow, default success as Intel
 * describes VT-d), sim.ite_timeout_us (the model reports a device-TLB invalidation timeout
 * after this long; 0 = never, default 0), sim.page_drain (on | off: off models VT-d without
 * ECAP.PDS: drain level none; default on). A world models one IOMMU: a second
 * prqd_iommu_open() on the same world fails with -EBUSY until the first is closed. Queue
 * positions (prqd_hw_req.seq) count from 0 for the life of the world. */

/* Fill @cfg with the defaults above. */
void sim_config_default(struct sim_config *cfg);

/* Create a world. @host supplies real memory (NULL: libc's); the world counts the library's
 * allocations made through sim_world_platform() so the checker can report leaks. @cfg NULL
 * means the defaults. Returns 0, -EINVAL (relax_step_ns 0, latency min > max, @host without
 * alloc/free) or -ENOMEM. The models' own memory also comes from @host, uncounted; if it
 * runs out mid-run the process aborts (a model cannot drop an event and stay faithful). */
int sim_world_new(const struct prqd_platform *host, uint64_t seed, const struct sim_config *cfg,
		  struct sim_world **out);
void sim_world_free(struct sim_world *w);

/* The platform to give prqd_ctx_new()/prqd_iommu_open(): simulated clock, relax() runs the
 * next event if it is due within relax_step_ns (else advances time by relax_step_ns, so the
 * clock never leaps over a polling deadline), counted allocation, no locks, getenv() finds
 * nothing, backend_data("sim") = the world. Valid while the world lives. */
const struct prqd_platform *sim_world_platform(struct sim_world *w);

/* sim_world_set_relax_hook - call @fn(@user) every SIM_RELAX_HOOK_EVERY calls of the
 * platform's relax(), i.e. now and then while a library call polls (a drain, an unbind
 * waiting on a device-TLB time-out), so that a harness can show what it waits for. @fn
 * must not call the library. NULL removes the hook. */
#define SIM_RELAX_HOOK_EVERY 256u
void sim_world_set_relax_hook(struct sim_world *w, void (*fn)(void *user), void *user);

uint64_t sim_now(const struct sim_world *w);
/* Deterministic random numbers from the world's seed. */
uint64_t sim_rand(struct sim_world *w);
/* Uniform in [lo, hi]. */
uint64_t sim_rand_range(struct sim_world *w, uint64_t lo, uint64_t hi);

/* Schedule a callback at absolute time @at (>= now). Events at equal times run in the order
 * they were scheduled. Returns 0 or -ENOMEM. */
typedef void (*sim_event_fn)(struct sim_world *w, void *arg, uint64_t arg2);
int sim_schedule(struct sim_world *w, uint64_t at, sim_event_fn fn, void *arg, uint64_t arg2);

/* Run events until none is due at or before @t, then set the clock to @t. Returns the number
 * of events run. */
uint64_t sim_run_until(struct sim_world *w, uint64_t t);
/* Run the next event (advancing the clock to it). Returns false if there is none. */
bool sim_step(struct sim_world *w);

/* ---- devices ---------------------------------------------------------------------------- */

enum sim_atc_mode {
	SIM_ATC_ANSWER = 0, /* answers invalidations after atc_lat_ns */
	SIM_ATC_SLOW = 1,   /* answers after 100 * atc_lat_ns */
	SIM_ATC_NEVER = 2,  /* never answers (the IOMMU's ITE timeout, if any, fires) */
};

enum sim_misbehaviour {
	SIM_BAD_EXCEED_CREDITS = 1u << 0, /* issues past its allocation */
	SIM_BAD_NO_LAST = 1u << 1,        /* sometimes never sends the Last request of a group */
	SIM_BAD_REUSE_INDEX = 1u << 2,    /* sometimes reuses an outstanding PRG index */
	SIM_BAD_GARBAGE = 1u << 3,        /* sometimes sends malformed requests */
};

struct sim_dev_cfg {
	uint16_t rid;
	uint32_t capacity;           /* outstanding page requests allowed */
	bool prg_resp_pasid_required;
	bool uses_stop_markers;
	uint8_t pasid_width;         /* 0..20 */
	uint8_t atc_mode;            /* enum sim_atc_mode */
	uint64_t atc_lat_ns;         /* default 1000 */
	uint16_t refault_permille;   /* after Success, chance of faulting the page again */
	uint32_t misbehave;          /* enum sim_misbehaviour */
	uint16_t misbehave_permille; /* how often a misbehaviour triggers */
	/* A platform device whose stream uses the SMMUv3 stall model instead of PRI: a fault is
	 * one transaction per page that the IOMMU holds until software resumes (retry) or
	 * terminates it. Only the SMMUv3 model takes stalls. */
	bool stall;
};

void sim_dev_cfg_default(struct sim_dev_cfg *cfg);

/* Add a device model. Returns 0, -EEXIST (rid in use), -EINVAL, -ENOMEM. A RID whose device
 * was removed may be used again (hot re-plug): the new device takes over the RID, and a
 * response meant for a group of the old one is a WRONG_TARGET violation. */
int sim_dev_add(struct sim_world *w, const struct sim_dev_cfg *cfg, struct sim_dev **out);
/* The present device at @rid, or NULL (none, or removed). */
struct sim_dev *sim_dev_find(struct sim_world *w, uint16_t rid);
/* The library's view of the device, for prqd_dev_add(). */
void sim_dev_info(const struct sim_dev *d, struct prqd_dev_info *out);

/* Access kinds for sim_dev_fault(). */
enum sim_access { SIM_R = 1, SIM_W = 2, SIM_X = 4, SIM_P = 8 };

/* The device faults @pages pages starting at @addr for @pasid (PRQD_NO_PASID for none): one
 * page request group, sent now on the posted path. Returns 0, -EAGAIN (no credits or no free
 * index: nothing sent), -ESHUTDOWN (PRI disabled after Response Failure, device removed, or
 * the PASID is stopped at the device), -EINVAL (no pages, neither read nor write asked, PASID
 * beyond the device's width). A stall-model device (cfg.stall) instead issues one stalling
 * transaction per page (capacity bounds how many are held at once); -EOPNOTSUPP unless the
 * world's SMMUv3 model is selected. */
int sim_dev_fault(struct sim_dev *d, uint32_t pasid, uint64_t addr, unsigned pages,
		  unsigned access);

/* The device's stop-PASID mechanism (PCIe §10.4.1.2). With a marker: outstanding groups of
 * the PASID become stale (their responses still return credits) and a Stop Marker is sent.
 * Without: the device finishes its groups and waits for their responses. Either way it issues
 * nothing more for the PASID until sim_dev_start_pasid(). @pasid may be PRQD_NO_PASID (the
 * RID-only requests) only without a marker. Stopping a stopped PASID does nothing.
 * Returns 0, -EINVAL, -ESHUTDOWN (device removed). */
int sim_dev_stop_pasid(struct sim_dev *d, uint32_t pasid, bool marker);
/* True when the stop completed (without marker: no group of the PASID outstanding). */
bool sim_dev_pasid_stopped(const struct sim_dev *d, uint32_t pasid);
int sim_dev_start_pasid(struct sim_dev *d, uint32_t pasid);
/* FLR: every outstanding group is forgotten by the device (responses to them are stale, not
 * violations), credits and indices reset, PRI Response Failure cleared, stopped PASIDs
 * usable again. Requests already on the link still arrive. */
int sim_dev_flr(struct sim_dev *d);
/* Surprise removal: the link goes down, requests in the fabric are lost, responses vanish.
 * The sim_dev stays valid (for its stats) until the world is freed. */
int sim_dev_remove(struct sim_dev *d);
/* The IOMMU's page request queue overflows now, as if it were full: the overflow flag is set
 * and arriving requests are dropped (dropped Last requests answered automatically) until
 * software acknowledges it. Lets a test overflow the queue at an exact time, also several
 * times within one drain. */
void sim_iommu_overflow_now(struct sim_world *w);

/* Device-side counters. */
struct sim_dev_stats {
	uint64_t groups_sent, requests_sent, stop_markers_sent;
	uint64_t responses[3], auto_responses, stale_responses;
	uint64_t unexpected_index; /* UPRGI events */
	bool response_failure;     /* RF set: PRI disabled */
	uint32_t outstanding_groups, credits_used;
	/* Stall-model devices: transactions stalled, retried, terminated (abort, STALL_TERM or
	 * an SMMU without stalls); outstanding_stalls still held. */
	uint64_t stalls_sent, stalls_retried, stalls_terminated;
	uint32_t outstanding_stalls;
};
void sim_dev_stats(const struct sim_dev *d, struct sim_dev_stats *out);

/* ---- harness notifications (for the checker) ------------------------------------------- */

/* The library bound (rid, pasid) with generation @gen: requests issued from now on for that
 * PASID belong to it. gen 0 = no bond (call at the start of unbind). */
void sim_set_epoch(struct sim_world *w, uint16_t rid, uint32_t pasid, uint32_t gen);
/* A handler received a group for bond generation @gen: every request's tag must have been
 * issued in that generation. */
void sim_check_delivery(struct sim_world *w, uint32_t gen, const struct prqd_group *group);
/* A drain began at @start_ns and returned 0 just now for (rid, pasid) or, with
 * PRQD_SCOPE_DEVICE, the whole device: no request of that scope issued before @start_ns may
 * still be in the fabric or the IOMMU queue. */
void sim_check_drain_done(struct sim_world *w, uint32_t scope, uint16_t rid, uint32_t pasid,
			  uint64_t start_ns);
/* End of run: every group answered (except on removed devices and FLR'd ones), no live
 * allocation of the library. Call after closing the library's objects and running the world
 * until idle (responses still on the wire are not answers yet). Each group is reported once. */
void sim_check_finish(struct sim_world *w);

/* ---- checker results -------------------------------------------------------------------- */

enum sim_violation_kind {
	SIM_V_DOUBLE_RESPONSE = 0, /* a group answered twice (auto-responses count) */
	SIM_V_NO_RESPONSE,         /* a group never answered */
	SIM_V_STOP_MARKER_ANSWERED,
	SIM_V_WRONG_TARGET,        /* response with wrong RID / PASID / index */
	SIM_V_WRONG_GENERATION,    /* request delivered to a bond generation not its own */
	SIM_V_DRAIN_INCOMPLETE,    /* drain returned with a pre-drain request in flight */
	SIM_V_LEAK,                /* library memory live at the end */
	SIM_V_PROTOCOL,            /* the driver broke a hardware programming rule (VT-d model:
				    * a PASID entry cleared, then IOTLB / device-TLB / page-drain
				    * before the PASID-cache invalidation) */
	SIM_V_NR
};

const char *sim_violation_name(unsigned kind);

struct sim_violation {
	uint32_t kind;
	uint64_t time_ns;
	uint16_t rid;
	uint32_t pasid;
	uint16_t prg_index;
	char detail[96];
};

/* Violations found so far (the first 64 are kept in full; all are counted). */
unsigned sim_violation_count(const struct sim_world *w, unsigned kind);
unsigned sim_violation_total(const struct sim_world *w);
const struct sim_violation *sim_violation_get(const struct sim_world *w, unsigned i);

/* Library allocations through the world's platform: live count and bytes, for leak checks
 * and the allocation-failure sweep. */
struct sim_alloc_stats {
	uint64_t allocs, frees, live, live_bytes, failed;
};
void sim_alloc_stats(const struct sim_world *w, struct sim_alloc_stats *out);

/* ---- IOMMU models ------------------------------------------------------------------------ */

/*
 * The world runs one IOMMU model at a time: "queue", the abstract software queue the "sim"
 * backend drives (the default), or a register-level model ("vtd", sim-vtd.c) that sits
 * behind the platform's register window and DMA memory and takes over the devices' traffic
 * at the first register write.
 */

/* Choose the register-level model behind the platform's register window (default: the one
 * named like the backend opened, else "vtd"); the choice holds for the world's life.
 * Returns 0, -ENOENT (no such model), -EINVAL (NULL, or a model without registers), -EBUSY
 * (another register model already runs the world). */
int sim_mmio_model_select(struct sim_world *w, const char *name);
/* Backend @backend is being opened on the world's platform (the platform's backend_data
 * hook): a register-level model of the same name goes behind the register window, unless
 * the window's model was chosen (sim_mmio_model_select(), sim_vtd_configure(),
 * sim_smmuv3_configure()) or a register model runs the world already. So a world runs
 * "vtd" and "smmuv3" alike through prqd_iommu_open() alone. */
void sim_mmio_model_for_backend(struct sim_world *w, const char *backend);
/* The name of the model that runs the world now. */
const char *sim_model_name(const struct sim_world *w);

/* IOMMU model counters (of the model that runs the world). */
struct sim_iommu_stats {
	uint64_t enqueued, dropped_overflow, auto_responses, overflows;
	uint64_t drains_started, drains_completed, drains_failed;
	uint32_t queue_depth, queue_high_water;
	/* Last requests the IOMMU answered itself because their PASID entry was not present
	 * (VT-d model; the gate), never queued. */
	uint64_t blocked_responses;
};
void sim_iommu_stats(const struct sim_world *w, struct sim_iommu_stats *out);

/* ---- the register-level VT-d model (sim-vtd.c) ------------------------------------------ */

/*
 * The world's platform also carries a DMAR unit: mmio_read/write reach the VT-d model's
 * registers and dma_alloc hands out memory the model reads and writes by bus address (counted
 * with the library's allocations). The model stays passive until the first register write;
 * from then on it, not the abstract IOMMU, receives the devices' page requests and
 * invalidation completions, and sim_iommu_stats() reports its counters. The "vtd" backend
 * (backends/vtd/) drives it.
 */
enum sim_vtd_overflow_response {
	SIM_VTD_AUTO_SUCCESS = 0, /* Last requests dropped in an overflow are answered Success */
	SIM_VTD_AUTO_INVALID = 1, /* ... Invalid */
	SIM_VTD_AUTO_NONE = 2,    /* ... not at all (QEMU's model does not answer them) */
};

struct sim_vtd_config {
	/* ECAP bits the model reports (and honours): QI, DT, PRS, PASID, PDS, SMTS. */
	bool qi, dt, prs, pasid, pds, smts;
	/* The page request queue takes at most this many entries before it overflows, even
	 * when its ring is larger (a model knob: it lets a small queue be tested with the
	 * smallest ring VT-d allows, 128 entries). 0: the ring's size less one. */
	uint32_t queue_limit;
	uint8_t overflow_response; /* enum sim_vtd_overflow_response */
	/* A device-TLB invalidation unanswered this long raises ITE. 0 = never, which no real
	 * unit does: a fence queued behind the unanswered invalidation then holds the whole
	 * invalidation queue, page group responses included, for good. */
	uint64_t ite_timeout_ns;
	/* Time from a page request's arrival to its entry in the queue: a page-drain wait must
	 * wait for requests still on their way in. */
	uint64_t prq_write_ns;
};

/* VT-d units always time a device-TLB invalidation out; real ones take far longer than this,
 * the model's default is short so a run with a dead device ends (and longer than the drain
 * deadlines the example scenarios use, so a drain of such a device runs out of time first). */
#define SIM_VTD_ITE_DEFAULT_NS 1500000ull

/* Defaults: every capability on, queue_limit 0, Success, ITE after SIM_VTD_ITE_DEFAULT_NS,
 * prq_write_ns 100. */
void sim_vtd_config_default(struct sim_vtd_config *cfg);
/* Select the VT-d model for the register window and set its configuration; only before a
 * register model's first register write (-EBUSY after). */
int sim_vtd_configure(struct sim_world *w, const struct sim_vtd_config *cfg);
/* Is the VT-d model running the world (one of its registers was written)? */
bool sim_vtd_active(const struct sim_world *w);

/* ---- the register-level SMMUv3 model (sim-smmuv3.c) ------------------------------------- */

/*
 * The model "smmuv3": an Arm SMMUv3 behind the platform's register window instead of the
 * DMAR unit. sim_smmuv3_configure() selects it (sim_mmio_model_select(w, "smmuv3") with the
 * configuration); mmio_read/write then reach its registers (page 0 at offset 0, page 1 at
 * 0x10000) and its queues live in the memory dma_alloc hands out. Like the VT-d model it
 * takes over the devices' page requests, ATS invalidation completions and stalled
 * transactions at the first register write, and sim_iommu_stats() reports its counters. The
 * "smmuv3" backend (backends/smmuv3/) drives it. StreamID = the device's requester ID.
 */
enum sim_smmuv3_ste {
	SIM_SMMUV3_STE_PPAR_MIRROR = 0, /* every STE valid, PPAR = the device's PRG Response PASID
					 * Required (what Arm expects software to program) */
	SIM_SMMUV3_STE_PPAR_CLEAR = 1,  /* every STE valid, PPAR = 0 */
	SIM_SMMUV3_STE_INVALID = 2,     /* no valid STE: PASID auto-responses are Failure */
};

struct sim_smmuv3_config {
	/* IDR0: PRI, ATS, MSI, SEV, STALL_MODEL (0 stall or terminate, 1 terminate only,
	 * 2 stall forced); IDR3.PPS. */
	bool pri, ats, msi, sev, pps;
	uint8_t stall_model;
	/* CR0.SMMUEN as the host's IOMMU driver left it: translation (stream table, SMMUEN)
	 * is not the library's, its backend only runs the queues. */
	bool smmuen;
	/* IDR1: log2 of the largest command, event and PRI queue (1..19). */
	uint8_t cmdq_max_log2, evtq_max_log2, priq_max_log2;
	/* The PRI queue takes at most this many entries before it overflows, even when its
	 * ring is larger (a model knob, as the VT-d model's queue_limit). 0: the ring's size. */
	uint32_t priq_limit;
	/* What the stream table says for the overflow auto-responses (enum sim_smmuv3_ste). */
	uint8_t ste;
	/* An ATS invalidation unanswered this long fails the CMD_SYNC after it with
	 * CERROR_ATC_INV_SYNC. 0 = never. */
	uint64_t atc_inv_timeout_ns;
	/* Time from a page request's arrival to its PRI queue record. */
	uint64_t priq_write_ns;
	/* The snapshot rule: a CMD_SYNC completes only once every page request that arrived
	 * before its ATS invalidations completed is in the PRI queue (or was answered in an
	 * overflow). The spec leaves it to the implementation; off models an SMMU that signals
	 * the sync with such requests still being written. */
	bool sync_orders_priq;
};

#define SIM_SMMUV3_ATC_TIMEOUT_DEFAULT_NS 1500000ull

/* Defaults: PRI, ATS, MSI, SEV on, PPS off, STALL_MODEL 0, SMMUEN on, every queue up to 2^10 entries
 * (IDR1), priq_limit 0, PPAR mirrored, ATC time-out after SIM_SMMUV3_ATC_TIMEOUT_DEFAULT_NS,
 * priq_write_ns 100, sync_orders_priq on. */
void sim_smmuv3_config_default(struct sim_smmuv3_config *cfg);
/* Select the SMMUv3 model for the world's register window and set its configuration: 0,
 * -EINVAL (a bad value), -EBUSY (a register model, this one included, runs the world
 * already: after the first register write). */
int sim_smmuv3_configure(struct sim_world *w, const struct sim_smmuv3_config *cfg);
/* Is the SMMUv3 model driving the world (selected and a register was written)? */
bool sim_smmuv3_active(const struct sim_world *w);

/* The "sim" backend (backends/sim/sim-backend.c): not compiled into libprqdrain, added to a
 * context with prqd_ctx_add_backend(). */
extern const struct prqd_backend prqd_backend_sim;
/* A context on the world's platform (PRQD_CTX_IGNORE_ENV) with the "sim" backend added.
 * Returns 0, -ENOMEM. */
int sim_ctx_new(struct sim_world *w, struct prqd_ctx **out);
/* The backends a world runs, as a context from sim_ctx_new() lists them: the library's
 * compiled-in ones, then "sim". Fills up to @max names (and one-line helps, when @helps is
 * not NULL; the strings are static) and returns how many there are, 0 if no context could
 * be made. */
unsigned sim_backend_names(const char **names, const char **helps, unsigned max);

#endif /* PRQD_SIM_H */
