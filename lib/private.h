/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the core. Freestanding: only compiler-provided headers.
 *
 * Lock order (outer to inner): device lock -> IOMMU queue lock -> bond spinlock.
 *  - The queue lock (platform lock) is held by whoever consumes the hardware queue
 *    (prqd_iommu_process or a drain). It also guards the device hash, every device's PASID
 *    table, pool (but its stack of returned groups) and partial-group hash, per-bond partial
 *    lists and the batch's counts: all of them are used on the fast path by the consumer
 *    only, so they need no other lock. It is taken through
 *    prqd__queue_lock() only, which claims a holder flag first and polls it rather than
 *    sleep on the platform lock while a consumer cycles; the holder publishes its progress
 *    (consumed_seq, overflow_checks), which a drain waits on instead of taking the lock
 *    (iommu.c, "queue progress"). Mutual exclusion is the platform lock's alone.
 *  - The device lock (platform lock) serialises bind/unbind and device-wide operations on
 *    one device and guards its bond list.
 *  - The bond spinlock guards a bond's state and its list of groups the handler holds. It
 *    is held for a few instructions, never across a callback; unrelated PASIDs never share
 *    it, which keeps the fast path free of device-wide locking.
 */
#ifndef PRQD_PRIVATE_H
#define PRQD_PRIVATE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "lib/backend.h"
#include "lib/fmt.h"
#include "lib/spinlock.h"

#define PRQD_EXPORT __attribute__((visibility("default")))
#define PRQD_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- platform with every optional callback filled ---------------------------------------- */

struct prqd_plat {
	struct prqd_platform p; /* all function pointers non-NULL after prqd__plat_fill() */
	bool has_locks;
	bool has_pasid_entry; /* the embedder supplied pasid_entry_set_present */
};

int prqd__plat_fill(struct prqd_plat *out, const struct prqd_platform *in);
void *prqd__plat_alloc(const struct prqd_plat *pl, size_t size);
void prqd__plat_free(const struct prqd_plat *pl, void *ptr, size_t size);
/* A platform lock in its own allocation; without platform locks a shared dummy. */
int prqd__lock_new(const struct prqd_plat *pl, void **lock);
void prqd__lock_free(const struct prqd_plat *pl, void *lock);
static inline void prqd__lock(const struct prqd_plat *pl, void *lock)
{
	pl->p.lock(pl->p.user, lock);
}
static inline void prqd__unlock(const struct prqd_plat *pl, void *lock)
{
	pl->p.unlock(pl->p.user, lock);
}
static inline uint64_t prqd__now(const struct prqd_plat *pl)
{
	return pl->p.now_ns(pl->p.user);
}

/* ---- context ----------------------------------------------------------------------------- */

struct prqd_ctx {
	atomic_uint refs;
	struct prqd_plat plat;
	uint32_t flags;
	prqd_log_fn log_fn;
	void *log_user;
	int log_prio;
	prqd_trace_fn trace_fn;
	void *trace_user;
	/* Backends added with prqd_ctx_add_backend(): the core's copies, every operation set
	 * (stubs for the missing ones). An IOMMU opened with one points here. */
	struct prqd_backend added[PRQD_CTX_BACKENDS_MAX];
	unsigned nadded;
	uint64_t *param_values; /* indexed like prqd__param_def(ctx, ...) */
	unsigned nparams;
};

/* The context's backends, compiled-in ones first (probing order), then the added ones; NULL
 * past the last. @ctx NULL: the compiled-in ones. */
const struct prqd_backend *prqd__backend_at(const struct prqd_ctx *ctx, unsigned index);
const struct prqd_backend *prqd__backend_find(const struct prqd_ctx *ctx, const char *name);

/* Memory through the context's platform (used by trace-json.c too). */
void *prqd__alloc(struct prqd_ctx *ctx, size_t size);
void prqd__free(struct prqd_ctx *ctx, void *p, size_t size);

/* ---- parameters ---------------------------------------------------------------------------- */

/* Every parameter of @ctx: the core's, then each compiled-in backend's, then each added
 * backend's (@ctx NULL: none added); NULL past the end. */
const struct prqd_param_def *prqd__param_def(const struct prqd_ctx *ctx, unsigned index);
unsigned prqd__param_count(const struct prqd_ctx *ctx);
/* Index of a parameter of @ctx by full name, or -ENOENT. */
int prqd__param_find(const struct prqd_ctx *ctx, const char *name);
/* Parse @value for @def: 0 and *out, or -EINVAL. */
int prqd__param_parse(const struct prqd_param_def *def, const char *value, uint64_t *out);

/* Core parameter indices (their order in the core table). */
enum {
	PRQD_P_DRAIN_TIMEOUT_MS = 0,
	PRQD_P_POOL_MAX,
	PRQD_P_POOL_SLACK,
	PRQD_P_FETCH_BATCH,
};

/* ---- logging ------------------------------------------------------------------------------ */

void prqd__log(const struct prqd_ctx *ctx, int prio, const char *file, int line, const char *fn,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void prqd__vlog(const struct prqd_ctx *ctx, int prio, const char *file, int line, const char *fn,
		const char *fmt, va_list ap);

/* PRQDRAIN_LOG's value: a priority name ("debug") or digit; 0 (silent) if unknown. */
int prqd__log_prio_parse(const char *s);

#define prqd_log_cond(ctx, prio, ...)                                                          \
	do {                                                                                   \
		const struct prqd_ctx *log_ctx_ = (ctx);                                      \
		if (log_ctx_->log_prio >= (prio))                                             \
			prqd__log(log_ctx_, (prio), __FILE__, __LINE__, __func__, __VA_ARGS__); \
	} while (0)
#define prqd_err(ctx, ...) prqd_log_cond(ctx, PRQD_LOG_ERR, __VA_ARGS__)
#define prqd_warn(ctx, ...) prqd_log_cond(ctx, PRQD_LOG_WARNING, __VA_ARGS__)
#define prqd_info(ctx, ...) prqd_log_cond(ctx, PRQD_LOG_INFO, __VA_ARGS__)
#define prqd_dbg(ctx, ...) prqd_log_cond(ctx, PRQD_LOG_DEBUG, __VA_ARGS__)

/* ---- statistics ---------------------------------------------------------------------------- */

/*
 * Counters, in two arrays that prqd_iommu_stats() sums:
 *  - stats: bumped from any thread (responders, drains, binds) with relaxed atomic adds;
 *  - consumer_stats: bumped only with the queue lock held (the consumer's fast path), so a
 *    relaxed load and store suffice: no locked instruction per request. The lock's hand-over
 *    orders one consumer's updates after the last's; a reader without the lock sees each
 *    counter whole (atomic), maybe a moment old.
 * A field may live in both; each call site picks the array by the locks it holds.
 */
struct prqd_istats {
	atomic_uint_least64_t v[sizeof(struct prqd_stats) / sizeof(uint64_t)];
};
#define PRQD_STAT_IDX(field) (offsetof(struct prqd_stats, field) / sizeof(uint64_t))
#define prqd_stat_add(iommu, field, n)                                                         \
	atomic_fetch_add_explicit(&(iommu)->stats.v[PRQD_STAT_IDX(field)], (n),               \
				  memory_order_relaxed)
#define prqd_stat_inc(iommu, field) prqd_stat_add(iommu, field, 1)
/* Queue lock held. */
#define prqd_cstat_add(iommu, field, n)                                                        \
	prqd__counter_bump(&(iommu)->consumer_stats.v[PRQD_STAT_IDX(field)], (n))
#define prqd_cstat_inc(iommu, field) prqd_cstat_add(iommu, field, 1)
static inline void prqd__counter_bump(atomic_uint_least64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* ---- groups and requests -------------------------------------------------------------------- */

struct prqd_req_node {
	struct prqd_hw_req hw; /* as fetched: the request, the backend's tag, a stall's tag */
	struct prqd_req_node *next;
};

enum prqd_group_state {
	PRQD_G_FREE = 0,
	PRQD_G_PARTIAL,   /* being assembled (consumer only) */
	PRQD_G_HANDLER,   /* delivered, the handler owes one response */
	PRQD_G_ANSWERING, /* the handler's response is being sent */
	PRQD_G_ABANDONING, /* the library is answering it in the handler's place */
	PRQD_G_ABANDONED, /* answered by the library; the handler's late answer releases it */
};

struct prqd_group {
	/* The first request, in the group itself: a one-request group is one object. Further
	 * requests hang from head.next, in arrival order. */
	struct prqd_req_node head;
	struct prqd_req_node *last;        /* the latest request (&head for one) */
	struct prqd_dev *dev;
	_Atomic(struct prqd_bond *) bond; /* owner while PARTIAL/HANDLER; NULL otherwise */
	atomic_uint state;                 /* enum prqd_group_state */
	uint32_t pasid;
	uint32_t count;                    /* requests in the group */
	uint16_t index;
	bool pasid_valid;
	struct prqd_group *hnext;          /* partial hash chain */
	struct prqd_group *bnext, *bprev;  /* bond's partial list or held list */
	struct prqd_group *free_next;
};

/* ---- bonds ----------------------------------------------------------------------------------- */

struct prqd_bond {
	struct prqd_dev *dev;
	prqd_handler_fn handler;
	void *cookie;
	struct prqd_bond *next, *prev;    /* device's bond list (device lock) */
	struct prqd_group *held;          /* groups the handler holds (bond lock) */
	struct prqd_group *partials;      /* partial groups (queue lock) */
	struct prqd_drain_step *drain_step;      /* hardware step in flight (busy owner) */
	/* Queue position when the bond was installed: a request below it was queued before
	 * the bind and belongs to an earlier generation or to none (queue lock to read). */
	uint64_t start_seq;
	uint32_t pasid;                   /* PRQD_NO_PASID for RID-only */
	uint32_t gen;
	atomic_uint state;                /* enum prqd_bond_state */
	prqd_spinlock_t lock;
	uint32_t outstanding;             /* groups in held (bond lock) */
	uint8_t busy;                     /* drain or unbind running (bond lock) */
	atomic_bool marker_seen;          /* a stop marker arrived since bind or resume */
	/* iommu->overflow_epoch when marker_seen was cleared: an overflow acknowledged since
	 * may have dropped the marker (lib/drain.c, snapshot level). */
	unsigned marker_epoch;
	uint8_t gate_on;                  /* what the backend was last told (device gate lock) */
	/* Unbound with FORCE, not yet proven drained: the handle is dead (state FREED) but the
	 * bond keeps its PASID slot, so whatever its generation left in the queue or the
	 * fabric is answered Invalid, until a bind of the PASID proves it gone (quarantine.c).
	 * Set under the device lock and the bond lock. */
	uint8_t quarantined;
	struct prqd_bond *free_next;      /* slab free list (device lock) */
};

/* ---- devices ---------------------------------------------------------------------------------- */

/* A device's pools (lib/pool.c): grown on demand up to @size requests held at once. Only
 * the consumer takes from them; anyone returns a group, through @returned. */
struct prqd_pool {
	struct prqd_group *groups;             /* free groups (consumer) */
	struct prqd_req_node *nodes;           /* free request nodes (consumer) */
	_Atomic(struct prqd_group *) returned; /* groups given back by other threads */
	uint32_t size;                         /* most requests held at once */
	/* Requests in groups not free (consumer): a group returned by another thread counts
	 * until the consumer takes it back. */
	uint32_t held_reqs;
	uint32_t groups_allocated, nodes_allocated;
	uint32_t group_chunk, node_chunk;      /* objects in the last chunk of each */
	struct prqd_pool_chunk *chunks;        /* every chunk, for the device's removal */
};

#define PRQD_PASID_LEAF_BITS 6
#define PRQD_PASID_LEAF_SIZE (1u << PRQD_PASID_LEAF_BITS)

struct prqd_pasid_table {
	struct prqd_bond ***dir; /* dir[pasid >> 6][pasid & 63]; all on demand */
	uint32_t ndir;           /* directory entries allocated */
	uint32_t ndir_max;       /* entries the device's PASID width needs */
	uint32_t nleaves;
};

/* What a bind allocates before it takes the queue lock (pasid-table.c). */
struct prqd_pasid_prep {
	struct prqd_bond **leaf; /* a new leaf, or NULL */
	struct prqd_bond ***dir; /* a larger directory, or NULL */
	uint32_t ndir;
};

struct prqd_bond_slab {
	struct prqd_bond_slab *next;
	uint32_t count;
	struct prqd_bond bonds[];
};

struct prqd_dev {
	/* Set at prqd_dev_add(), read by every thread. */
	struct prqd_iommu *iommu;
	struct prqd_dev *hnext; /* IOMMU device hash chain (by source ID; queue lock) */
	struct prqd_dev_info info;
	void *be_priv;
	void *lock;
	/* Serialises the backend's gate calls for this device, and makes the last write follow
	 * the bond's latest state (a leaf lock: nothing else is taken under it). */
	void *gate_lock;
	/* The consumer's fields (queue lock), apart from the control path's below: a bind or
	 * unbind on the device does not take the consumer's cache lines. */
	struct prqd_pasid_table table;
	struct prqd_bond *rid_bond;
	struct prqd_pool pool;
	struct prqd_group **partial_hash; /* partial groups; grows with their number */
	uint32_t partial_mask;
	/* Partial groups of the device: the consumer's count (queue lock to change), which a
	 * drain may read without the lock (lib/drain.c). */
	atomic_uint npartial;
	uint32_t partial_grow_retry; /* after a failed growth, the npartial to try again at */

	unsigned char control_gap[64];
	/* The control path's (device lock). */
	uint32_t next_gen;
	uint32_t nbonds;
	struct prqd_bond *bonds; /* all bonds */
	struct prqd_bond *quarantine; /* quarantined bonds, linked by next/prev */
	struct prqd_bond_slab *slabs;
	struct prqd_bond *bond_free_head, *bond_free_tail; /* FIFO: delays reuse of a handle */
	struct prqd_drain_step *drain_step;         /* device-wide drain step in flight */
	uint8_t dev_busy;                    /* device-wide drain running */
	/* The bonds a device-wide drain owns: this one and all after it on the list, as they
	 * were when it started. Bonds bound later are prepended, so the run is stable. */
	struct prqd_bond *drain_first;
};

/* ---- IOMMU ------------------------------------------------------------------------------------ */

#define PRQD_SOURCE_HASH 256

struct prqd_abandoned_step {
	struct prqd_abandoned_step *next;
	struct prqd_drain_step *op;
	size_t size;
};

struct prqd_iommu {
	/* Set at open, read by every thread. */
	struct prqd_ctx *ctx;
	const struct prqd_backend *be;
	struct prqd_backend_ops ops; /* stubs filled in */
	struct prqd_plat plat;
	void *priv;
	struct prqd_be_caps caps; /* what init said this instance can do */
	uint64_t *params; /* the context's values at open */
	unsigned nparams;
	void *queue_lock;
	void *abandoned_lock;
	size_t drain_step_size;
	atomic_uint nabandoned;                /* abandoned steps: pollers look without the lock */

	/*
	 * The groups below are kept apart (a 64-byte gap between each), so a thread that writes
	 * one never takes a cache line another thread reads or writes on its own path: the
	 * consumer's fast path, the queue's published progress that control-path callers poll,
	 * the control path's own lists, and the two counter arrays.
	 */
	unsigned char consumer_gap[64];
	/* The consumer's (queue lock). */
	struct prqd_dev *dev_hash[PRQD_SOURCE_HASH]; /* by source ID */
	struct prqd_dev *last_dev; /* the device prqd__dev_lookup() found last */
	uint32_t ndevs;
	struct prqd_hw_req *batch;
	uint32_t batch_size;

	atomic_uint_least64_t consumed_seq; /* every queue position below it was consumed and
					       its responses committed (release, per batch) */

	unsigned char progress_gap[64];
	/* Written by the queue lock's holder a few times per hold, polled by threads that want
	 * the lock or wait for the queue's progress (iommu.c, "queue progress"): kept off the
	 * line of consumed_seq, which the consumer writes at every batch. */
	atomic_bool queue_held;              /* a thread holds the queue lock (a hint) */
	atomic_uint overflow_checks;         /* overflow checks completed (see iommu.c) */
	atomic_uint overflow_epoch;          /* bumped at each acknowledged overflow */

	unsigned char control_gap[64];
	/* The control path's (abandoned_lock, but for spare_step). */
	/* One finished step kept for the next drain without the lock: a drain at a time, the
	 * common case, takes and gives back this one. */
	_Atomic(struct prqd_drain_step *) spare_step;
	struct prqd_abandoned_step *abandoned;  /* hardware steps given up on, still tracked */
	/* Finished steps kept for the next drain, linked through their tracking record: a drain
	 * round allocates nothing. */
	struct prqd_abandoned_step *spare_steps;
	uint32_t nspare_steps;

	unsigned char stats_gap0[64];
	/* What the consumer's common path counted in the batch it is handling (queue lock),
	 * added to consumer_stats at the batch's end: a plain add per event there. */
	struct prqd_batch_counts {
		uint64_t groups, delivered;
		uint64_t handler_answers[PRQD_RESP_FAILURE + 1]; /* by response code */
	} batch_counts;
	struct prqd_istats consumer_stats; /* queue lock held */
	unsigned char stats_gap1[64];
	struct prqd_istats stats;          /* any thread */
};

/* The queue lock, for every caller. Taking it waits a little (iommu.c) while another thread
 * holds it before queueing on the platform lock; the holder flag tells such waiters, and
 * drains polling the queue's progress, that someone is at the queue. */
void prqd__queue_lock(struct prqd_iommu *iommu);
/* The flag is cleared after the platform lock is released: a thread that claims it next
 * finds the platform lock free. */
static inline void prqd__queue_unlock(struct prqd_iommu *iommu)
{
	prqd__unlock(&iommu->plat, iommu->queue_lock);
	atomic_store_explicit(&iommu->queue_held, false, memory_order_relaxed);
}

/* ---- internal functions ---------------------------------------------------------------------- */

/* backend-stubs.c: copy @in over the stubs, so every operation is set. */
void prqd__backend_fill_ops(struct prqd_backend_ops *out, const struct prqd_backend_ops *in);

/* iommu.c */
/* prqd_iommu_open() with a given backend table: for tests with a scripted backend. */
int prqd__iommu_open_backend(struct prqd_ctx *ctx, const struct prqd_backend *be,
			     const struct prqd_platform *platform, struct prqd_iommu **out);
/* Queue lock held: the device by source ID, from the hash (remembered as the last found). */
struct prqd_dev *prqd__dev_lookup_hash(struct prqd_iommu *iommu, uint32_t source_id);
/* Queue lock held. Requests come in runs from one device: the last one found is tried first,
 * inline. */
static inline struct prqd_dev *prqd__dev_lookup(struct prqd_iommu *iommu, uint32_t source_id)
{
	struct prqd_dev *last = iommu->last_dev;
	if (last && last->info.source_id == source_id)
		return last;
	return prqd__dev_lookup_hash(iommu, source_id);
}
/* Device hash (by source ID) changes, queue lock held. */
void prqd__dev_hash_insert(struct prqd_iommu *iommu, struct prqd_dev *dev);
void prqd__dev_hash_remove(struct prqd_iommu *iommu, struct prqd_dev *dev);
/* Consume with the queue lock held: up to @budget requests (0: no count limit), stopping
 * once every position below @end was read or the queue is empty. */
int prqd__consume_locked(struct prqd_iommu *iommu, unsigned budget, uint64_t end);
/* Queue lock held: the position the next request will be written at; without the backend's
 * queue_tail, the position the consumer reached (all it can know). */
uint64_t prqd__queue_tail(struct prqd_iommu *iommu);
/* Read everything queued when called, batch by batch (the queue lock is taken per batch,
 * so concurrent drains keep their deadlines). 0, -ETIMEDOUT at @deadline, or the backend's
 * error. */
int prqd__consume_queued(struct prqd_iommu *iommu, uint64_t deadline);
/* Read batch by batch (the queue lock taken per batch) until every position below @end was
 * read: 0; 1 when the queue ran empty first; -ETIMEDOUT at @deadline; or the backend's
 * error. */
int prqd__consume_to(struct prqd_iommu *iommu, uint64_t end, uint64_t deadline);
/* For a drain: return once every position below @end was read and an overflow check made
 * after that found none pending (or acknowledged one, the queue read until empty). While
 * another thread holds the queue lock and makes progress, its published progress is waited
 * for (spinning with the CPU's pause hint) instead of the lock; otherwise this thread reads,
 * one batch per lock hold. 0; 1 when the queue ran empty before @end; -ETIMEDOUT at
 * @deadline; or the backend's error. */
int prqd__consume_settled(struct prqd_iommu *iommu, uint64_t end, uint64_t deadline);
/* If the queue overflowed, read until it is empty so the overflow is acknowledged (and the
 * partial groups it made hopeless discarded), one batch per queue lock hold. 0, -ETIMEDOUT
 * at @deadline, or the backend's error. */
int prqd__settle_overflow(struct prqd_iommu *iommu, uint64_t deadline);
/* Take the queue lock, consume a batch, release; for polling loops. */
int prqd__consume_some(struct prqd_iommu *iommu);
void prqd__poll_abandoned(struct prqd_iommu *iommu);
void prqd__step_abandon(struct prqd_iommu *iommu, struct prqd_drain_step *op);
/* A zeroed drain step (drain_step_size bytes): a spare one, or a new allocation (NULL when
 * that fails). Any thread, no core lock needed. */
struct prqd_drain_step *prqd__step_get(struct prqd_iommu *iommu);
/* A step nothing can write any more: kept as a spare, or freed. */
void prqd__step_put(struct prqd_iommu *iommu, struct prqd_drain_step *op);

/* pasid-table.c (queue lock held for get/set) */
int prqd__pasid_table_init(const struct prqd_plat *pl, struct prqd_pasid_table *t, uint8_t width);
void prqd__pasid_table_fini(const struct prqd_plat *pl, struct prqd_pasid_table *t);
/* The bond in @pasid's slot, or NULL. Inline: the consumer looks up every request. */
static inline struct prqd_bond *prqd__pasid_get(const struct prqd_pasid_table *t, uint32_t pasid)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	if (hi >= t->ndir || !t->dir[hi])
		return NULL;
	return t->dir[hi][pasid & (PRQD_PASID_LEAF_SIZE - 1)];
}
/* Device lock held, queue lock not: allocate what setting @pasid needs into *prep (nothing
 * when its leaf exists). Returns 0, -EINVAL (PASID beyond the width), -ENOMEM (nothing
 * kept). */
int prqd__pasid_prepare(const struct prqd_plat *pl, const struct prqd_pasid_table *t,
			uint32_t pasid, struct prqd_pasid_prep *prep);
/* Free what prepare allocated and set did not use. */
void prqd__pasid_prep_free(const struct prqd_plat *pl, struct prqd_pasid_prep *prep);
/* Queue lock held (and the device lock): install what @prep holds (NULL: nothing; the
 * PASID's leaf must exist then), then point @pasid at @b (NULL to clear). */
void prqd__pasid_set(const struct prqd_plat *pl, struct prqd_pasid_table *t, uint32_t pasid,
		     struct prqd_bond *b, struct prqd_pasid_prep *prep);

/* pool.c (consumer side, queue lock held, unless stated) */
/* The partial hash now; the pools of @pool_size requests grow as requests come. */
int prqd__pools_init(struct prqd_dev *dev, uint32_t pool_size);
void prqd__pools_fini(struct prqd_dev *dev);
struct prqd_group *prqd__group_get_slow(struct prqd_dev *dev);
/* Pop a free group (the pool's list non-empty) for one request, stored in its head. Its
 * hash and bond links need no reset: whatever took it off a list cleared them, and they are
 * written before they are read again (partial insert, delivery). */
static inline struct prqd_group *prqd__group_take(struct prqd_pool *p)
{
	struct prqd_group *g = p->groups;
	p->groups = g->free_next;
	g->free_next = NULL;
	g->count = 1;
	g->last = &g->head;
	g->head.next = NULL;
	p->held_reqs++;
	return g;
}
/* A group with room for its first request, or NULL when the device's pool is full (or can't
 * grow). The caller stores the request in g->head. */
static inline struct prqd_group *prqd__group_get(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	if (p->groups && p->held_reqs < p->size)
		return prqd__group_take(p);
	return prqd__group_get_slow(dev);
}
/* A node for one more request of a group, or NULL when the pool is full. */
struct prqd_req_node *prqd__node_get(struct prqd_dev *dev);
/* A group back to the consumer's pool, its requests included. Inline: the consumer frees
 * each group it answers itself. */
static inline void prqd__group_free_local(struct prqd_dev *dev, struct prqd_group *g)
{
	struct prqd_pool *p = &dev->pool;
	if (g->head.next) {
		g->last->next = p->nodes;
		p->nodes = g->head.next;
		g->head.next = NULL;
	}
	p->held_reqs -= g->count;
	atomic_store_explicit(&g->state, PRQD_G_FREE, memory_order_relaxed);
	g->free_next = p->groups;
	p->groups = g;
}
/* Release a group's memory to its device's pool: any thread. */
void prqd__group_release(struct prqd_group *g);
struct prqd_group *prqd__partial_find(struct prqd_dev *dev, const struct prqd_request *r);
void prqd__partial_insert(struct prqd_dev *dev, struct prqd_group *g);
void prqd__partial_remove(struct prqd_dev *dev, struct prqd_group *g);
/* Remove and free every partial group of @dev; returns how many. */
uint32_t prqd__partial_discard_all(struct prqd_dev *dev);

/* prg.c (consumer side, queue lock held) */
/* Handle @n fetched requests in order (the caller commits their responses and then moves
 * consumed_seq past them). */
void prqd__handle_batch(struct prqd_iommu *iommu, const struct prqd_hw_req *batch, unsigned n);
/* Discard partial groups: of one bond, or every one of the device (@bond NULL). */
uint32_t prqd__discard_partials(struct prqd_dev *dev, struct prqd_bond *bond);

/* respond.c (sending a response: lib/answer.h) */
/* Take @g off one of its bond's lists (@head: its partials or the groups it holds). */
static inline void prqd__bond_list_unlink(struct prqd_group **head, struct prqd_group *g)
{
	if (g->bprev)
		g->bprev->bnext = g->bnext;
	else
		*head = g->bnext;
	if (g->bnext)
		g->bnext->bprev = g->bprev;
	g->bnext = g->bprev = NULL;
}
/* Bond lock held: take @g off the bond's list of groups the handler holds. */
static inline void prqd__held_unlink(struct prqd_bond *b, struct prqd_group *g)
{
	prqd__bond_list_unlink(&b->held, g);
	b->outstanding--;
}
/* Take back every group the handler holds (bond lock taken inside) and answer them Invalid.
 * Returns how many. */
uint32_t prqd__abandon_held(struct prqd_bond *bond);

/* dev.c: bond memory (device lock held) */
struct prqd_bond *prqd__bond_alloc(struct prqd_dev *dev);
void prqd__bond_free(struct prqd_dev *dev, struct prqd_bond *b);

/* bond.c */
/* Bond lock held: change state and trace it. */
void prqd__bond_set_state(struct prqd_bond *b, int state);
/* Bring the backend's gate in line with the bond's state (open only while ACTIVE), under the
 * device's gate lock: returns once any gate call already in progress for the device is over.
 * Nothing on an instance that cannot gate, where the drain alone stops the PASID (the check
 * inline: every state change asks). prqd__gate_apply() is the rest, for an instance that can. */
void prqd__gate_apply(struct prqd_bond *b);
static inline void prqd__gate_sync(struct prqd_bond *b)
{
	if (b->dev->iommu->caps.flags & PRQD_CAP_GATE)
		prqd__gate_apply(b);
}
/* Device lock held: clear the bond's PASID slot, discard its partials, hand over a step in
 * flight, and free it (a quarantine included). Nothing else may own it. */
void prqd__bond_release(struct prqd_bond *b);
/* Device lock held: take @b off @list (the device's bonds or its quarantine). */
void prqd__bond_unlink(struct prqd_bond **list, struct prqd_bond *b);

/* quarantine.c (device lock held) */
/* Turn a bond being unbound with FORCE into a quarantine that keeps its PASID slot. */
void prqd__quarantine_enter(struct prqd_bond *b);
/* Prove the quarantined @q's generation gone and free it. Drops the device lock for the
 * drain and takes it again. 0, or the drain's error (the quarantine stays). */
int prqd__quarantine_lift(struct prqd_dev *dev, struct prqd_bond *q);
/* Free every quarantine of a device that is being removed. */
void prqd__quarantine_drop_all(struct prqd_dev *dev);

/* drain.c */
/* Internal drain flags. WAIT_MARKER: the device stopped the PASID with a Stop Marker
 * (unbind with PRQD_UNBIND_STOP_MARKER); below drain level exact the marker is the proof
 * and is waited for. MARKER_PROOF: at drain level none, a Stop Marker from the device may
 * stand in for the drain and is waited for (a quarantine being lifted); with a hardware
 * drain it is not looked at. */
#define PRQD__DRAIN_WAIT_MARKER (1u << 16)
#define PRQD__DRAIN_MARKER_PROOF (1u << 17)
/* RELEASE: the caller releases @bond (prqd__bond_release()) once the drain succeeded, which
 * discards its partial groups under the same queue lock hold as its PASID slot; step 7 is
 * left to it. */
#define PRQD__DRAIN_RELEASE (1u << 18)
/* Drain @bond, or every bond of @dev marked busy by the caller when @bond is NULL. The
 * caller owns the bond(s) through their busy flag. */
int prqd__drain(struct prqd_dev *dev, struct prqd_bond *bond, unsigned flags, uint32_t timeout_ms);

/* trace.c */
static inline bool prqd__tracing(const struct prqd_iommu *iommu)
{
	return iommu->ctx->trace_fn != NULL;
}
void prqd__trace(struct prqd_iommu *iommu, struct prqd_trace_event *ev);
/* An event about @b (tracing on). */
void prqd__trace_bond_event(struct prqd_bond *b, uint32_t type, int from, int to, int result,
			    uint64_t value);
/* An event about @b if tracing is on: the check inline, since every state change asks. */
static inline void prqd__trace_bond(struct prqd_bond *b, uint32_t type, int from, int to,
				    int result, uint64_t value)
{
	if (prqd__tracing(b->dev->iommu))
		prqd__trace_bond_event(b, type, from, to, result, value);
}

/* string helpers (freestanding) */
int prqd__strcmp(const char *a, const char *b);
void prqd__memset(void *p, int c, size_t n);
void prqd__memcpy(void *d, const void *s, size_t n);

#endif /* PRQD_PRIVATE_H */
