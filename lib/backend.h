/* SPDX-License-Identifier: MIT */
/*
 * The private backend contract. A backend implements hardware steps; the core alone decides
 * their order (the state machine lives only in lib/). Each backend exports exactly one
 * `const struct prqd_backend prqd_backend_<name>` and is listed in lib/backends.c.
 *
 * This header is all a backend includes from the core: the types it exchanges with the core,
 * the operations it implements, and the services the core offers it (memory, DMA memory,
 * locks, clock, logging, parameters; see the end of the file). A backend never includes
 * lib/private.h and never looks inside struct prqd_iommu.
 *
 * All operations are optional: at open the core copies the backend's non-NULL operations over
 * a table of stubs returning -EOPNOTSUPP (lib/backend-stubs.c), so the core never tests for
 * NULL and a missing operation is a clean error.
 *
 * Locks the core may hold while it calls a backend (each operation below says which):
 *  - the IOMMU's queue lock: one consumer of the hardware queue at a time;
 *  - a device's lock: bind, unbind and device-wide work on that device.
 * A backend's own locks (prqd_be_lock_new()) are leaves: it takes nothing of the core's under
 * them and never calls back into the public API from an operation. An operation never waits
 * for the hardware beyond bounded register polling (a few milliseconds at most, said per
 * operation): long waits are the core's, which polls (drain_poll) with its own deadline.
 *
 * Errors are negative PRQD_E* values (prqdrain.h); 0 is success unless an operation says
 * otherwise.
 */
#ifndef PRQD_BACKEND_H
#define PRQD_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "prqdrain-platform.h"

struct prqd_iommu;

/* A decoded page request, plus its position in the queue. */
struct prqd_hw_req {
	/* The decoded request. req.source_id is how the queue entry names the requester (VT-d:
	 * the requester ID; SMMUv3: the StreamID); the core finds the device by it. */
	struct prqd_request req;
	/* Queue position: strictly increasing across fetches of one IOMMU, never reused. */
	uint64_t seq;
	/* The backend's own name for the entry (0: none), handed back in the response to the
	 * group it closes (prqd_hw_resp.tag) and readable with prqd_group_request_tag(): a
	 * simulator matches responses and deliveries to what its devices sent. */
	uint64_t tag;
	/* A stall-style fault (SMMUv3 stall model), not a page request: one transaction the
	 * IOMMU holds until it is resumed or terminated, named by @stall_tag. The core delivers
	 * it alone as a one-request group (prg_index and last are not looked at) and answers it
	 * exactly once through stall_resume, never through respond. */
	bool stall;
	uint32_t stall_tag; /* SMMUv3 STAG */
	/* The backend found the entry malformed (reserved bits, impossible permissions): the
	 * core answers Invalid when Last and counts it. */
	bool malformed;
};

/* A response to send. The backend maps @code to its encoding explicitly. */
struct prqd_hw_resp {
	uint16_t rid;
	uint32_t source_id; /* the request's source ID: how SMMUv3, AMD-Vi, RISC-V address it */
	bool pasid_present; /* carry the PASID (device requires it and the request had one) */
	uint32_t pasid;
	uint16_t prg_index;
	uint8_t code; /* enum prqd_resp */
	bool priv_data_valid;
	uint64_t priv_data[2];
	uint64_t tag; /* the Last request's prqd_hw_req.tag */
};

/* The answer to one stall: resume it (code Success: retry the transaction) or terminate it
 * (Invalid or Failure). The backend maps @code explicitly (SMMUv3 CMD_RESUME: Success to
 * RETRY, Invalid and Failure to ABORT) and refuses a code it does not know. */
struct prqd_hw_stall_resp {
	uint16_t rid;
	uint32_t source_id;
	bool pasid_valid;
	uint32_t pasid;
	uint32_t stall_tag;
	uint8_t code; /* enum prqd_resp */
};

/* Scope of a hardware drain. */
enum prqd_drain_scope {
	PRQD_SCOPE_PASID = 1, /* one PASID of a device */
	PRQD_SCOPE_RID = 2,   /* the device's requests without PASID */
	PRQD_SCOPE_DEVICE = 3, /* every PASID and the RID-only requests of a device */
};

/*
 * One hardware drain step in flight. A backend never issues a step on its own (no retry, no
 * re-queue): the core decides every step, so its cost counters see them all. The core allocates it (with drain_priv_size bytes for
 * the backend after it) and keeps it until drain_poll reported completion or failure, or
 * drain_release accepted it: a wait in flight is never forgotten, so a late completion
 * can't be mistaken for a newer one.
 */
struct prqd_drain_step {
	uint32_t scope;  /* enum prqd_drain_scope */
	uint16_t rid;
	uint32_t source_id; /* the device's source ID (prqd_dev_info.source_id) */
	uint32_t pasid;
	void *dev_priv;  /* the backend's per-device data (from dev_attach) */
	/* Written by the backend when drain_poll returns 0: every request the device issued
	 * before drain_start is in the queue at a position < queue_mark, or was dropped by an
	 * overflow that overflow_pending reports. */
	uint64_t queue_mark;
	/* Counted by the backend at drain_start: commands queued (VT-d descriptors, SMMUv3
	 * commands), doorbell (queue tail) writes. The core adds them to its statistics. */
	uint32_t commands, doorbells;
	unsigned char priv[]; /* drain_priv_size bytes for the backend */
};

/* Parameter descriptions a backend declares ("<backend>.<name>"). */
struct prqd_param_def {
	const char *name;
	const char *help;
	uint64_t def, min, max;
	const char *const *names; /* optional value names, NULL-terminated */
};

/* What one IOMMU instance can do, beyond the operations every backend has. */
enum prqd_backend_caps {
	PRQD_CAP_GATE = 1u << 0,      /* gate stops requests at the IOMMU (else never called) */
	PRQD_CAP_PRIV_DATA = 1u << 1, /* responses echo private data (else never asked to) */
};
#define PRQD_CAP_ALL (PRQD_CAP_GATE | PRQD_CAP_PRIV_DATA)

/*
 * What a completed drain step proves, per instance. The core's drain loop (lib/drain.c)
 * handles each level on its own path.
 */
enum prqd_drain_level {
	/* No hardware drain (VT-d without ECAP.PDS, a queue with no drain primitive): the core
	 * never calls drain_start. A PASID is proven drained only by its Stop Marker (or by
	 * the caller's documented bound); a RID-only or device-wide drain fails with
	 * -EOPNOTSUPP. */
	PRQD_LEVEL_NONE = 0,
	/* The step's mark is a snapshot of the queue's producer position taken after the
	 * step's invalidations completed (SMMUv3: PRIQ_PROD read after CMD_SYNC). Every request
	 * the IOMMU had accepted by then is below the mark; the backend documents the rule that
	 * makes requests the device sent earlier count as accepted (SMMUv3: the ATC
	 * invalidation's completion is ordered behind them). Where the device stops a PASID with
	 * a Stop Marker, the core also waits for the marker, as the stronger proof. */
	PRQD_LEVEL_SNAPSHOT = 1,
	/* The hardware itself drains (VT-d page-drain, §7.10): every request the device issued
	 * before drain_start is below the mark when drain_poll returns 0. A missing Stop Marker
	 * is only counted. */
	PRQD_LEVEL_EXACT = 2,
};

/* Filled by init for its instance; the core starts it zeroed (no caps, level none). */
struct prqd_be_caps {
	uint32_t flags;       /* enum prqd_backend_caps */
	uint32_t drain_level; /* enum prqd_drain_level */
};

/*
 * The operations. For each: when the core calls it, the locks held, how long it may block,
 * who owns each pointer, and every return value. "@priv" is the backend's per-IOMMU state
 * (priv_size zeroed bytes, owned by the core, valid from init to the end of fini); "@dev_priv"
 * what dev_attach returned for the device.
 */
struct prqd_backend_ops {
	/*
	 * probe: is this backend's hardware (or model) behind @plat? Called by
	 * prqd_iommu_open() when no backend is named, in prqd_backends[] order, before any
	 * init and without any core lock; also with a platform no IOMMU was opened on. @plat is
	 * the embedder's raw table (fields past plat->size are absent, optional callbacks may be
	 * NULL), borrowed for the call. Reads registers only; no allocation, no side effect.
	 * Returns 0 (present) or -ENODEV.
	 */
	int (*probe)(const struct prqd_platform *plat);
	/*
	 * init: bring the IOMMU up. Called once per prqd_iommu_open(), no lock held, no other
	 * operation before it returns. @priv is zeroed. Reads its parameters with
	 * prqd_iommu_param(), and says in *@caps (zeroed by the core: no flags, level none)
	 * what this instance can do, from what the hardware reports: the core checks it (an
	 * unknown flag or level fails the open) and honours it for the instance's life. May poll registers for a
	 * bounded time (VT-d: queued invalidation enable, 10 ms). Returns 0, or a negative
	 * errno after undoing everything (fini is not called then): -ENODEV (nothing answers),
	 * -EOPNOTSUPP (hardware lacks a required feature), -ENOMEM, -EBUSY (the unit is in use),
	 * -ETIMEDOUT (the unit did not come up).
	 */
	int (*init)(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps);
	/*
	 * fini: stop the hardware writing into memory it owns and free everything init and
	 * dev_attach allocated. Called once by prqd_iommu_close(), no lock held, after every
	 * device was detached and every drain step released (drain_release was called for each
	 * one still tracked, whatever it answered). Must not fail.
	 */
	void (*fini)(struct prqd_iommu *iommu, void *priv);

	/*
	 * dev_attach: a device is added (prqd_dev_add). The device's lock is not held yet, the
	 * queue lock is not held; no other call for this device runs. @info is borrowed for the
	 * call (copy what is needed). Stores its per-device state in *@dev_priv (may be NULL),
	 * which the backend owns until dev_detach. Returns 0, -ENOMEM, -ENODEV (no such device
	 * behind this IOMMU), -EINVAL (info out of range for the hardware).
	 */
	int (*dev_attach)(void *priv, const struct prqd_dev_info *info, void **dev_priv);
	/*
	 * dev_detach: a device goes (prqd_dev_remove), after all its bonds and drain steps are
	 * gone or handed to the IOMMU's tracking. No core lock held. Frees @dev_priv. A drain
	 * step still tracked keeps its op->dev_priv pointer: the backend must not need it after
	 * this (copy what drain_poll/release need into the step's priv at drain_start).
	 */
	void (*dev_detach)(void *priv, void *dev_priv);

	/*
	 * gate: stop (@enable false) or restart page requests of a PASID (or the RID-only
	 * requests with PRQD_NO_PASID) at the IOMMU. Called only with PRQD_CAP_GATE, under the
	 * device's gate lock (a leaf), possibly with the device lock held.
	 *
	 * An instance whose drain is proven by a Stop Marker (level none, or snapshot where the
	 * device promised one) claims the cap only if a closed gate still lets markers into the
	 * queue: the core closes the gate before it waits for the marker.
	 *
	 * Order: the core closes the gate of every bond a drain covers before it starts the
	 * drain's first hardware step (lib/drain.c, step 1), and opens it only once the bond is
	 * ACTIVE again. gate(false) must therefore return only when the IOMMU no longer uses a
	 * cached copy of what it changed (VT-d: PASID entry cleared, then PASID cache, IOTLB and
	 * device-TLB invalidated and a wait completed), so the drain that follows covers every
	 * request the IOMMU accepted before the gate closed.
	 *
	 * Blocks for a bounded time only, the backend's own bound (VT-d: vtd.gate_wait_us, the
	 * device's answer to the device-TLB invalidation included). Returns 0; -EOPNOTSUPP (the
	 * backend cannot gate this scope); or another negative errno, which the core logs and
	 * otherwise ignores (the drain alone still proves the PASID drained): -EBUSY (no room
	 * in the invalidation queue: nothing changed), -ETIMEDOUT (the invalidations did not
	 * complete in time: they stay queued, ahead of anything queued later), -EIO (the unit
	 * refused or aborted them), or the embedder's callback's error (nothing changed).
	 */
	int (*gate)(void *priv, void *dev_priv, uint32_t pasid, bool enable);

	/*
	 * fetch: read up to @max (>= 1) requests from the queue into @out (owned by the core,
	 * @max entries), advancing the queue's head. Queue lock held: at most one fetch,
	 * queue_tail, overflow_pending or overflow_ack at a time. No blocking: what is in the
	 * queue now. Each entry gets its seq (strictly increasing over the IOMMU's lifetime,
	 * never reused) and malformed set when the entry breaks the format. Returns the number
	 * read (0: empty), or a negative errno (-EIO: the queue is unusable); on error nothing
	 * was consumed.
	 */
	int (*fetch)(void *priv, struct prqd_hw_req *out, unsigned max);
	/*
	 * queue_tail: the position the next request will be written at, in *@pos: every
	 * request in the queue now has a seq below it. Queue lock held; no blocking. The core
	 * takes it when a PASID is bound (nothing queued before the bind may reach the new
	 * bond) and to bound "read what is there" loops. Returns 0, or -EOPNOTSUPP (the core
	 * then knows only what it has read).
	 */
	int (*queue_tail)(void *priv, uint64_t *pos);

	/*
	 * respond: send one group response. Called from any thread (the handler's, the
	 * consumer's, a drain's), concurrently with every other operation except for the same
	 * group (the core sends each group's response exactly once); no core lock held.
	 * resp->priv_data_valid is set only on an instance with PRQD_CAP_PRIV_DATA. The
	 * backend serialises its own submission path; it may wait a bounded time (1 ms) for
	 * room. @resp is borrowed for the call. Maps resp->code explicitly to its encoding and
	 * refuses a code it does not know. Returns 0 (queued to the hardware), -EINVAL (unknown
	 * code), -EBUSY (no room in time), -EIO (the submission path is broken): on any error
	 * the core completes the group locally and counts it.
	 */
	int (*respond)(void *priv, void *dev_priv, const struct prqd_hw_resp *resp);

	/*
	 * drain_start: issue a hardware drain step for @op's scope (VT-d: fence wait, IOTLB and
	 * device-TLB invalidation, wait with page-drain, one doorbell). Called only on an
	 * instance whose drain level is not none. No core lock held;
	 * concurrent calls for other devices or PASIDs; the backend serialises its submission
	 * path and may wait a bounded time (1 ms) for room. @op is owned by the core; the
	 * backend fills op->commands/op->doorbells and its own op->priv. Returns 0 (issued: the
	 * core will poll it until it completes or fails, or release it), -EOPNOTSUPP (this
	 * instance cannot drain this scope), -EBUSY (no room now), -EINVAL (bad scope), or -EIO:
	 * on every error nothing of the step is in flight.
	 */
	int (*drain_start)(void *priv, struct prqd_drain_step *op);
	/*
	 * drain_poll: has the step completed? No core lock held; never blocks. Idempotent: once
	 * it returned 0 (or an error) every further call returns the same, with the same
	 * queue_mark. Returns 0 (complete, op->queue_mark set), -EINPROGRESS, -EAGAIN (the
	 * step was aborted by something outside its device, VT-d: another device's
	 * device-TLB time-out; nothing of it is in flight and a new step would complete: the
	 * core issues one, within its deadline, and counts it), or another negative errno: the
	 * step failed and nothing of it is in flight any more (-EIO: the device's
	 * invalidation timed out or the hardware refused the step). At level snapshot the
	 * mark is the producer position read after the step's invalidations completed.
	 */
	int (*drain_poll)(void *priv, struct prqd_drain_step *op);
	/*
	 * drain_release: the core gives up on a step (deadline passed and the bond or device is
	 * going). No core lock held. Returns 0 when nothing of the step can write any more (the
	 * core frees @op right after), -EBUSY when the hardware may still complete it: the core
	 * keeps @op, calls drain_release again later, and frees it only after a 0. Calling it
	 * on a step that completed or failed returns 0.
	 */
	int (*drain_release)(void *priv, struct prqd_drain_step *op);

	/*
	 * overflow_pending: has the queue overflowed (requests dropped) since the last
	 * acknowledge? Queue lock held; a register read. Returns 1, 0, or a negative errno.
	 */
	int (*overflow_pending)(void *priv);
	/*
	 * overflow_ack: acknowledge the overflow so the hardware queues again. Queue lock held;
	 * called only right after fetch returned 0. Returns 0, or -EBUSY when the queue is not
	 * empty after all (a request arrived between the two): the core reads it and tries
	 * again; the overflow must stay pending then.
	 */
	int (*overflow_ack)(void *priv);

	/*
	 * stall_resume: resume or terminate one stalled transaction that fetch reported
	 * (prqd_hw_req.stall). Same calling rules as respond: any thread, no core lock, bounded
	 * wait for room, @resp borrowed; called exactly once per stall. Returns 0 (queued),
	 * -EINVAL (unknown code), -EBUSY, -EIO: on error the core counts it answered locally
	 * (the hardware's own stall timeout or a STALL_TERM at device teardown ends it).
	 * Only a backend whose fetch reports stalls needs it.
	 */
	int (*stall_resume)(void *priv, void *dev_priv, const struct prqd_hw_stall_resp *resp);
};

struct prqd_backend {
	const char *name;
	const char *help;
	size_t priv_size;       /* per-IOMMU state, allocated zeroed by the core */
	size_t drain_priv_size; /* per drain step, after struct prqd_drain_step */
	const struct prqd_param_def *params; /* NULL-name terminated, or NULL */
	struct prqd_backend_ops ops;
};

/* The ops table every backend's missing operations are filled from. */
extern const struct prqd_backend_ops prqd_backend_stub_ops;

/* Backends compiled in, in probing order; NULL-terminated. */
extern const struct prqd_backend *const prqd_backends[];

/*
 * Services the core offers backends (lib/backend-api.c). Each takes the IOMMU init was given;
 * a backend keeps that pointer in its priv. They may be called from any operation, under any
 * lock the core holds, and never block beyond the platform's callback.
 */

/* The embedder's platform table with every optional callback filled in (locks are no-ops on
 * a platform without them): for MMIO, and for code that is handed a platform (vtd-iq.c).
 * Owned by the core; valid until fini returns. */
const struct prqd_platform *prqd_iommu_platform(const struct prqd_iommu *iommu);
/* Did the embedder supply pasid_entry_set_present (prqdrain-platform.h)? Without it the
 * platform table's callback is a default that returns -EOPNOTSUPP; a backend that gates by
 * clearing PASID entries claims PRQD_CAP_GATE only with it. */
bool prqd_iommu_can_gate_pasid(const struct prqd_iommu *iommu);
/* The value of the parameter "<backend>.<name>" (the full name) for this IOMMU, from a
 * snapshot taken at open; 0 for an unknown name. */
uint64_t prqd_iommu_param(const struct prqd_iommu *iommu, const char *name);

/* Memory: @size zeroed bytes, or NULL; free with the size asked for. */
void *prqd_be_alloc(const struct prqd_iommu *iommu, size_t size);
void prqd_be_free(const struct prqd_iommu *iommu, void *ptr, size_t size);
/* DMA-able memory the hardware reads or writes: 0 with *va and *bus (the address the device
 * uses), -ENOMEM, or -EOPNOTSUPP (the platform has no DMA memory). Zeroed. */
int prqd_be_dma_alloc(const struct prqd_iommu *iommu, size_t size, size_t align, void **va,
		      uint64_t *bus);
void prqd_be_dma_free(const struct prqd_iommu *iommu, void *va, size_t size);

/* Locks (the platform's, or no-ops without platform locks): a leaf lock for the backend's own
 * state. 0 or -ENOMEM. Not recursive. */
int prqd_be_lock_new(const struct prqd_iommu *iommu, void **lock);
void prqd_be_lock_free(const struct prqd_iommu *iommu, void *lock);
void prqd_be_lock(const struct prqd_iommu *iommu, void *lock);
void prqd_be_unlock(const struct prqd_iommu *iommu, void *lock);

/* The prqd_hw_req.tag of a delivered group's @i-th request (0: none or out of range). For the
 * handler's side of a simulator; any thread that holds the group. */
uint64_t prqd_group_request_tag(const struct prqd_group *group, unsigned i);

/* Clock: monotonic nanoseconds; relax is the polling hint between two register reads. */
uint64_t prqd_be_now_ns(const struct prqd_iommu *iommu);
void prqd_be_relax(const struct prqd_iommu *iommu);

/* Logging through the context's log function, at PRQD_LOG_* priorities; the message should
 * start with the backend's name. */
void prqd_be_log(const struct prqd_iommu *iommu, int prio, const char *file, int line,
		 const char *fn, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
#define prqd_be_err(iommu, ...)                                                                \
	prqd_be_log(iommu, PRQD_LOG_ERR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define prqd_be_warn(iommu, ...)                                                               \
	prqd_be_log(iommu, PRQD_LOG_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define prqd_be_info(iommu, ...)                                                               \
	prqd_be_log(iommu, PRQD_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)

#endif /* PRQD_BACKEND_H */
