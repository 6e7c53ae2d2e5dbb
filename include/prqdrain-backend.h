/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain-backend.h
 * @brief prqdrain backend contract: what an IOMMU backend implements and what the core offers it.
 *
 * A backend implements hardware steps (read the page request queue, send a response, issue a
 * drain step); the core alone decides their order. The library compiles some backends in
 * (prqd_backend_name() lists them); an embedder, or a companion library such as
 * libprqdrain-sim, brings its own with prqd_ctx_add_backend(), per context: there is no
 * global registry.
 *
 * Versioning: struct prqd_backend starts with @c version, which the backend sets to the
 * PRQD_BACKEND_VERSION it was compiled against. A later contract only appends operations
 * and fields and raises the version; the core reads no field the backend's version does not
 * have, and refuses a version newer than its own.
 *
 * Every operation is optional: the core copies the backend's table into its own at
 * registration (compiled-in backends: at open), filling each NULL operation with a stub that
 * returns -EOPNOTSUPP (drain_release and overflow_pending: 0), so it never tests for NULL and
 * a missing operation is a clean error.
 *
 * Locks the core may hold while it calls a backend (each operation says which):
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
#ifndef PRQDRAIN_BACKEND_H
#define PRQDRAIN_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain.h>
#include <prqdrain-platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup prqdrain_backend Backends: the contract a backend implements, the core's services
 * @{
 */

/** The contract version a backend compiled against this header declares. */
#define PRQD_BACKEND_VERSION 1

/** A decoded page request, plus its position in the queue. */
struct prqd_hw_req {
	/** The decoded request. req.source_id is how the queue entry names the requester
	 * (VT-d: the requester ID; SMMUv3: the StreamID); the core finds the device by it. */
	struct prqd_request req;
	/** Queue position: strictly increasing across fetches of one IOMMU, never reused. */
	uint64_t seq;
	/** The backend's own name for the entry (0: none), handed back in the response to the
	 * group it closes (prqd_hw_resp.tag) and readable with prqd_group_request_tag(): a
	 * simulator matches responses and deliveries to what its devices sent. */
	uint64_t tag;
	/** A stall-style fault (SMMUv3 stall model), not a page request: one transaction the
	 * IOMMU holds until it is resumed or terminated, named by @c stall_tag. The core
	 * delivers it alone as a one-request group (prg_index and last are not looked at) and
	 * answers it exactly once through stall_resume, never through respond. */
	bool stall;
	/** The stall's tag (SMMUv3 STAG). */
	uint32_t stall_tag;
	/** The backend found the entry malformed (reserved bits, impossible permissions): the
	 * core answers Invalid when Last and counts it. */
	bool malformed;
};

/** A response to send. The backend maps @c code to its encoding explicitly. */
struct prqd_hw_resp {
	/** The requester ID the response goes to. */
	uint16_t rid;
	/** The request's source ID: how SMMUv3, AMD-Vi and RISC-V address the response. */
	uint32_t source_id;
	/** Carry the PASID (the device requires it and the request had one). */
	bool pasid_present;
	/** The PASID, when @c pasid_present. */
	uint32_t pasid;
	/** The page request group index answered. */
	uint16_t prg_index;
	/** enum prqd_resp. */
	uint8_t code;
	/** Echo @c priv_data (only on an instance with PRQD_CAP_PRIV_DATA). */
	bool priv_data_valid;
	/** The private data of the group's requests. */
	uint64_t priv_data[2];
	/** The Last request's prqd_hw_req.tag. */
	uint64_t tag;
	/** Sent by the consumer within a batch: the core calls commit before it releases the
	 * queue lock, so the backend may leave the doorbell to commit. Clear: the response must
	 * reach the hardware before respond returns. */
	bool batched;
};

/** The answer to one stall: resume it (code Success: retry the transaction) or terminate it
 * (Invalid or Failure). The backend maps @c code explicitly (SMMUv3 CMD_RESUME: Success to
 * RETRY, Invalid and Failure to ABORT) and refuses a code it does not know. */
struct prqd_hw_stall_resp {
	/** The requester ID of the stalled transaction. */
	uint16_t rid;
	/** Its source ID (SMMUv3 StreamID). */
	uint32_t source_id;
	/** The transaction carried a PASID. */
	bool pasid_valid;
	/** The PASID, when @c pasid_valid. */
	uint32_t pasid;
	/** prqd_hw_req.stall_tag of the stall. */
	uint32_t stall_tag;
	/** enum prqd_resp. */
	uint8_t code;
};

/** Scope of a hardware drain. */
enum prqd_drain_scope {
	PRQD_SCOPE_PASID = 1,  /**< one PASID of a device */
	PRQD_SCOPE_RID = 2,    /**< the device's requests without PASID */
	PRQD_SCOPE_DEVICE = 3, /**< every PASID and the RID-only requests of a device */
};

/**
 * One hardware drain step in flight. A backend never issues a step on its own (no retry, no
 * re-queue): the core decides every step, so its cost counters see them all. The core
 * allocates it (with drain_priv_size bytes for the backend after it) and keeps it until
 * drain_poll reported completion or failure, or drain_release accepted it: a wait in flight
 * is never forgotten, so a late completion can't be mistaken for a newer one.
 */
struct prqd_drain_step {
	/** enum prqd_drain_scope. */
	uint32_t scope;
	/** The device's requester ID. */
	uint16_t rid;
	/** The device's source ID (prqd_dev_info.source_id). */
	uint32_t source_id;
	/** The PASID drained (scope PASID). */
	uint32_t pasid;
	/** The backend's per-device data (from dev_attach). */
	void *dev_priv;
	/** Written by the backend when drain_poll returns 0: every request the device issued
	 * before drain_start is in the queue at a position below it, or was dropped by an
	 * overflow that overflow_pending reports. */
	uint64_t queue_mark;
	/** Commands queued for the step (VT-d descriptors, SMMUv3 commands), counted by the
	 * backend at drain_start; the core adds them to its statistics. */
	uint32_t commands;
	/** Doorbell (queue tail) writes for the step, counted like @c commands. */
	uint32_t doorbells;
	/** drain_priv_size bytes for the backend. */
	unsigned char priv[];
};

/** A parameter a backend declares; its name is "<backend>.<name>". */
struct prqd_param_def {
	/** The full name, "<backend>.<name>". */
	const char *name;
	/** One line for listings. */
	const char *help;
	/** The default value. */
	uint64_t def;
	/** The smallest value accepted. */
	uint64_t min;
	/** The largest value accepted. */
	uint64_t max;
	/** Optional value names (value i is names[i]), NULL-terminated; NULL for none. */
	const char *const *names;
};

/** What one IOMMU instance can do, beyond the operations every backend has. */
enum prqd_backend_caps {
	PRQD_CAP_GATE = 1u << 0,      /**< gate stops requests at the IOMMU (else never called) */
	PRQD_CAP_PRIV_DATA = 1u << 1, /**< responses echo private data (else never asked to) */
};
/** Every capability flag this contract knows. */
#define PRQD_CAP_ALL (PRQD_CAP_GATE | PRQD_CAP_PRIV_DATA)

/**
 * What a completed drain step proves, per instance. The core's drain loop handles each level
 * on its own path.
 */
enum prqd_drain_level {
	/** No hardware drain (VT-d without ECAP.PDS, a queue with no drain primitive): the core
	 * never calls drain_start. A PASID is proven drained only by its Stop Marker (or by the
	 * caller's documented bound); a RID-only or device-wide drain fails with -EOPNOTSUPP. */
	PRQD_LEVEL_NONE = 0,
	/** The step's mark is a snapshot of the queue's producer position taken after the
	 * step's invalidations completed (SMMUv3: PRIQ_PROD read after CMD_SYNC). Every request
	 * the IOMMU had accepted by then is below the mark; the backend documents the rule that
	 * makes requests the device sent earlier count as accepted (SMMUv3: the ATC
	 * invalidation's completion is ordered behind them). Where the device stops a PASID with
	 * a Stop Marker, the core also waits for the marker, as the stronger proof. */
	PRQD_LEVEL_SNAPSHOT = 1,
	/** The hardware itself drains (VT-d page-drain): every request the device issued before
	 * drain_start is below the mark when drain_poll returns 0. A missing Stop Marker is only
	 * counted. */
	PRQD_LEVEL_EXACT = 2,
};

/** Filled by init for its instance; the core starts it zeroed (no caps, level none). */
struct prqd_be_caps {
	/** enum prqd_backend_caps. */
	uint32_t flags;
	/** enum prqd_drain_level. */
	uint32_t drain_level;
};

/**
 * The operations. For each: when the core calls it, the locks held, how long it may block,
 * who owns each pointer, and every return value. "priv" is the backend's per-IOMMU state
 * (priv_size zeroed bytes, owned by the core, valid from init to the end of fini);
 * "dev_priv" what dev_attach returned for the device.
 */
struct prqd_backend_ops {
	/**
	 * Is this backend's hardware (or model) behind @c plat? Called by prqd_iommu_open()
	 * when no backend is named (compiled-in backends first, in prqd_backend_name() order,
	 * then the context's registered ones), before any init and without any core lock. @c
	 * plat is the embedder's raw table (fields past plat->size are absent, optional
	 * callbacks may be NULL), borrowed for the call. Reads registers only; no allocation,
	 * no side effect. Returns 0 (present) or -ENODEV.
	 */
	int (*probe)(const struct prqd_platform *plat);
	/**
	 * Bring the IOMMU up. Called once per prqd_iommu_open(), no lock held, no other
	 * operation before it returns. @c priv is zeroed. Reads its parameters with
	 * prqd_iommu_param(), and says in @c caps (zeroed by the core: no flags, level none)
	 * what this instance can do, from what the hardware reports: the core checks it (an
	 * unknown flag or level fails the open) and honours it for the instance's life. May
	 * poll registers for a bounded time (VT-d: queued invalidation enable, 10 ms). Returns
	 * 0, or a negative errno after undoing everything (fini is not called then): -ENODEV
	 * (nothing answers), -EOPNOTSUPP (hardware lacks a required feature), -ENOMEM, -EBUSY
	 * (the unit is in use), -ETIMEDOUT (the unit did not come up).
	 */
	int (*init)(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps);
	/**
	 * Stop the hardware writing into memory it owns and free everything init and
	 * dev_attach allocated. Called once by prqd_iommu_close(), no lock held, after every
	 * device was detached and every drain step released (drain_release was called for each
	 * one still tracked, whatever it answered). Must not fail.
	 */
	void (*fini)(struct prqd_iommu *iommu, void *priv);

	/**
	 * A device is added (prqd_dev_add). The device's lock is not held yet, the queue lock
	 * is not held; no other call for this device runs. @c info is borrowed for the call
	 * (copy what is needed). Stores its per-device state in @c dev_priv (may be NULL),
	 * which the backend owns until dev_detach. Returns 0, -ENOMEM, -ENODEV (no such device
	 * behind this IOMMU), -EINVAL (info out of range for the hardware).
	 */
	int (*dev_attach)(void *priv, const struct prqd_dev_info *info, void **dev_priv);
	/**
	 * A device goes (prqd_dev_remove), after all its bonds and drain steps are gone or
	 * handed to the IOMMU's tracking. No core lock held. Frees @c dev_priv. A drain step
	 * still tracked keeps its op->dev_priv pointer: the backend must not need it after this
	 * (copy what drain_poll/release need into the step's priv at drain_start).
	 */
	void (*dev_detach)(void *priv, void *dev_priv);

	/**
	 * Stop (@c enable false) or restart page requests of a PASID (or the RID-only requests
	 * with PRQD_NO_PASID) at the IOMMU. Called only with PRQD_CAP_GATE, under the device's
	 * gate lock (a leaf), possibly with the device lock held.
	 *
	 * An instance whose drain is proven by a Stop Marker (level none, or snapshot where the
	 * device promised one) claims the cap only if a closed gate still lets markers into the
	 * queue: the core closes the gate before it waits for the marker.
	 *
	 * Order: the core closes the gate of every bond a drain covers before it starts the
	 * drain's first hardware step, and opens it only once the bond is ACTIVE again.
	 * gate(false) must therefore return only when the IOMMU no longer uses a cached copy of
	 * what it changed (VT-d: PASID entry cleared, then PASID cache, IOTLB and device-TLB
	 * invalidated and a wait completed), so the drain that follows covers every request the
	 * IOMMU accepted before the gate closed.
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

	/**
	 * Read up to @c max (>= 1) requests from the queue into @c out (owned by the core,
	 * @c max entries), advancing the queue's head. Queue lock held: at most one fetch,
	 * queue_tail, overflow_pending or overflow_ack at a time. No blocking: what is in the
	 * queue now. Each entry gets its seq (strictly increasing over the IOMMU's lifetime,
	 * never reused) and malformed set when the entry breaks the format. Returns the number
	 * read (0: empty), or a negative errno (-EIO: the queue is unusable); on error nothing
	 * was consumed.
	 */
	int (*fetch)(void *priv, struct prqd_hw_req *out, unsigned max);
	/**
	 * The position the next request will be written at, in @c pos: every request in the
	 * queue now has a seq below it. Queue lock held; no blocking. The core takes it when a
	 * PASID is bound (nothing queued before the bind may reach the new bond) and to bound
	 * "read what is there" loops. Returns 0, or -EOPNOTSUPP (the core then knows only what
	 * it has read).
	 */
	int (*queue_tail)(void *priv, uint64_t *pos);

	/**
	 * Send one group response. Called from any thread (the handler's, the consumer's, a
	 * drain's), concurrently with every other operation except for the same group (the
	 * core sends each group's response exactly once); no core lock held.
	 * resp->priv_data_valid is set only on an instance with PRQD_CAP_PRIV_DATA. The backend
	 * serialises its own submission path; it may wait a bounded time (1 ms) for room.
	 * @c resp is borrowed for the call. Maps resp->code explicitly to its encoding and
	 * refuses a code it does not know. Returns 0 (queued to the hardware), -EINVAL (unknown
	 * code), -EBUSY (no room in time), -EIO (the submission path is broken): on any error
	 * the core completes the group locally and counts it.
	 */
	int (*respond)(void *priv, void *dev_priv, const struct prqd_hw_resp *resp);

	/**
	 * Issue a hardware drain step for @c op's scope (VT-d: fence wait, IOTLB and
	 * device-TLB invalidation, wait with page-drain, one doorbell). Called only on an
	 * instance whose drain level is not none. No core lock held; concurrent calls for
	 * other devices or PASIDs; the backend serialises its submission path and may wait a
	 * bounded time (1 ms) for room. @c op is owned by the core; the backend fills
	 * op->commands/op->doorbells and its own op->priv. Returns 0 (issued: the core will
	 * poll it until it completes or fails, or release it), -EOPNOTSUPP (this instance
	 * cannot drain this scope), -EBUSY (no room now), -EINVAL (bad scope), or -EIO: on
	 * every error nothing of the step is in flight.
	 */
	int (*drain_start)(void *priv, struct prqd_drain_step *op);
	/**
	 * Has the step completed? No core lock held; never blocks. Idempotent: once it
	 * returned 0 (or an error) every further call returns the same, with the same
	 * queue_mark. Returns 0 (complete, op->queue_mark set), -EINPROGRESS, -EAGAIN (the step
	 * was aborted by something outside its device, VT-d: another device's device-TLB
	 * time-out; nothing of it is in flight and a new step would complete: the core issues
	 * one, within its deadline, and counts it), or another negative errno: the step failed
	 * and nothing of it is in flight any more (-EIO: the device's invalidation timed out or
	 * the hardware refused the step). At level snapshot the mark is the producer position
	 * read after the step's invalidations completed.
	 */
	int (*drain_poll)(void *priv, struct prqd_drain_step *op);
	/**
	 * The core gives up on a step (deadline passed and the bond or device is going). No
	 * core lock held. Returns 0 when nothing of the step can write any more (the core frees
	 * @c op right after), -EBUSY when the hardware may still complete it: the core keeps
	 * @c op, calls drain_release again later, and frees it only after a 0. Calling it on a
	 * step that completed or failed returns 0.
	 */
	int (*drain_release)(void *priv, struct prqd_drain_step *op);

	/**
	 * Has the queue overflowed (requests dropped) since the last acknowledge? Queue lock
	 * held; a register read. Returns 1, 0, or a negative errno.
	 */
	int (*overflow_pending)(void *priv);
	/**
	 * Acknowledge the overflow so the hardware queues again. Queue lock held; called only
	 * right after fetch returned 0. Returns 0, or -EBUSY when the queue is not empty after
	 * all (a request arrived between the two): the core reads it and tries again; the
	 * overflow must stay pending then.
	 */
	int (*overflow_ack)(void *priv);

	/**
	 * Resume or terminate one stalled transaction that fetch reported (prqd_hw_req.stall).
	 * Same calling rules as respond: any thread, no core lock, bounded wait for room,
	 * @c resp borrowed; called exactly once per stall. Returns 0 (queued), -EINVAL (unknown
	 * code), -EBUSY, -EIO: on error the core counts it answered locally (the hardware's own
	 * stall timeout or a STALL_TERM at device teardown ends it). Only a backend whose fetch
	 * reports stalls needs it.
	 */
	int (*stall_resume)(void *priv, void *dev_priv, const struct prqd_hw_stall_resp *resp);

	/**
	 * The consumer finished handling a fetched batch: every response it sent with
	 * resp->batched set must now reach the hardware (VT-d: one invalidation-queue tail write
	 * for all of them, not one per group). Called by the core with the queue lock held,
	 * after each fetch that returned requests, before the lock is released; no blocking
	 * beyond a register write. Returns 0, or -EIO (the submission path broke: what respond
	 * accepted is lost with it, as for any response). A backend that never holds a response
	 * back leaves it out (the stub returns 0).
	 */
	int (*commit)(void *priv);
};

/** A backend: its name, sizes, parameters and operations. */
struct prqd_backend {
	/** PRQD_BACKEND_VERSION as the backend was compiled; fields a version lacks are absent. */
	uint32_t version;
	/** Unique among the context's backends: what prqd_iommu_open() is given. */
	const char *name;
	/** One line for listings. */
	const char *help;
	/** Per-IOMMU state, allocated zeroed by the core. */
	size_t priv_size;
	/** Per drain step, after struct prqd_drain_step. */
	size_t drain_priv_size;
	/** Parameters, each named "<name>.<param>", ended by one with a NULL name; or NULL. */
	const struct prqd_param_def *params;
	/** The operations; NULL ones are filled with stubs. */
	struct prqd_backend_ops ops;
};

/**
 * @brief Add a backend to a context, beside the compiled-in ones.
 *
 * The core copies @p be into the context's own table (NULL operations filled with stubs) and
 * adds its parameters to the context's, at their defaults: prqd_ctx_set_param(),
 * prqd_iommu_open() and prqd_ctx_backend_name() of this context see it from now on.
 *
 * - Ownership: the struct is copied; the strings and the params array it points to stay the
 *   caller's and must outlive the context.
 * - Locking: none. Not thread-safe against any other call on the same context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param be the backend, with @c version set to PRQD_BACKEND_VERSION.
 * @return 0; -EINVAL (NULL argument, version 0, empty name, a parameter not named
 *         "<name>.<param>"); -EOPNOTSUPP (a version newer than this library's
 *         PRQD_BACKEND_VERSION); -EEXIST (a backend of that name, compiled in or
 *         registered); -ENOSPC (the context has PRQD_CTX_BACKENDS_MAX registered already);
 *         -ENOMEM.
 */
int prqd_ctx_add_backend(struct prqd_ctx *ctx, const struct prqd_backend *be);

/** The most backends one context takes with prqd_ctx_add_backend(). */
#define PRQD_CTX_BACKENDS_MAX 8

/**
 * @brief The name of a backend a context can open: the compiled-in ones, then those added
 * with prqd_ctx_add_backend().
 *
 * - Ownership: the strings are static or the registering caller's.
 * - Locking: none. Not thread-safe against prqd_ctx_add_backend() on the same context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context; NULL lists the compiled-in backends only, as prqd_backend_name().
 * @param index the backend's number: probing order.
 * @param help if not NULL, receives a one-line description.
 * @return The name, or NULL past the last backend.
 */
const char *prqd_ctx_backend_name(const struct prqd_ctx *ctx, unsigned index, const char **help);

/**
 * @brief Call @p fn for every parameter of a context: prqd_param_walk()'s, then those of the
 * backends added with prqd_ctx_add_backend(), in that order.
 *
 * - Ownership: the strings @p fn sees are static or the registering caller's.
 * - Locking: none. Not thread-safe against prqd_ctx_add_backend() on the same context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context; NULL walks the compiled-in parameters only, as prqd_param_walk().
 * @param fn called once per parameter; a non-zero return stops the walk.
 * @param user passed to @p fn.
 * @return 0 after the last parameter, -EINVAL (@p fn NULL), or the first non-zero value
 *         @p fn returned.
 */
int prqd_ctx_param_walk(const struct prqd_ctx *ctx,
			int (*fn)(void *user, const struct prqd_param_info *info), void *user);

/* ------------------------------------------------------------------------------------------ */
/* Services the core offers backends                                                          */
/* ------------------------------------------------------------------------------------------ */

/**
 * @brief Parse an unsigned number as parameter values are written: decimal digits, or with
 * @p hex also hexadecimal after 0x; the whole string, no sign, no space.
 *
 * The one number syntax of the library's text: parameters (prqd_ctx_set_param()), uevent
 * records (decimal), and the simulator's scenario files.
 *
 * - Ownership: @p s is borrowed for the call.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param s the text.
 * @param hex accept 0x followed by hexadecimal digits.
 * @param out receives the value; written only on success.
 * @return 0; -EINVAL (NULL argument, empty, a character that is not a digit); -ERANGE (above
 *         UINT64_MAX).
 */
int prqd_parse_u64(const char *s, bool hex, uint64_t *out);

/**
 * @brief The IOMMU's platform table with every optional callback filled in (locks are no-ops
 * on a platform without them): for MMIO, and for code that is handed a platform.
 *
 * - Ownership: the core's; valid until fini returns.
 * - Locking: none; any operation, under any core lock.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU init was given.
 * @return The table.
 */
const struct prqd_platform *prqd_iommu_platform(const struct prqd_iommu *iommu);

/**
 * @brief Whether the embedder supplied pasid_entry_set_present (prqdrain-platform.h).
 *
 * Without it the platform table's callback is a default that returns -EOPNOTSUPP; a backend
 * that gates by clearing PASID entries claims PRQD_CAP_GATE only with it.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; any operation.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @return true when the embedder's table has the callback.
 */
bool prqd_iommu_can_gate_pasid(const struct prqd_iommu *iommu);

/**
 * @brief The value of a parameter for this IOMMU, from a snapshot taken at open.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; any operation.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param name the full name, "<backend>.<param>".
 * @return The value; 0 for an unknown name.
 */
uint64_t prqd_iommu_param(const struct prqd_iommu *iommu, const char *name);

/**
 * @brief Memory for the backend from the platform.
 *
 * - Ownership: the backend's; free with prqd_be_free() and the same size.
 * - Locking: none; any operation, under any core lock.
 * - Blocking: as the platform's alloc.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param size bytes.
 * @return Zeroed memory, or NULL.
 */
void *prqd_be_alloc(const struct prqd_iommu *iommu, size_t size);

/**
 * @brief Release memory from prqd_be_alloc().
 *
 * - Ownership: @p ptr goes back to the platform.
 * - Locking: none; any operation.
 * - Blocking: as the platform's free.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param ptr the memory, or NULL.
 * @param size the size asked for.
 */
void prqd_be_free(const struct prqd_iommu *iommu, void *ptr, size_t size);

/**
 * @brief DMA-able memory the hardware reads or writes, zeroed.
 *
 * - Ownership: the backend's; free with prqd_be_dma_free().
 * - Locking: none; any operation.
 * - Blocking: as the platform's dma_alloc.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param size bytes.
 * @param align alignment of the bus address, a power of two.
 * @param va receives the CPU address.
 * @param bus receives the address the device uses.
 * @return 0; -ENOMEM; -EOPNOTSUPP (the platform has no DMA memory).
 */
int prqd_be_dma_alloc(const struct prqd_iommu *iommu, size_t size, size_t align, void **va,
		      uint64_t *bus);

/**
 * @brief Release memory from prqd_be_dma_alloc().
 *
 * - Ownership: @p va goes back to the platform.
 * - Locking: none; any operation.
 * - Blocking: as the platform's dma_free.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param va the CPU address, or NULL.
 * @param size the size asked for.
 */
void prqd_be_dma_free(const struct prqd_iommu *iommu, void *va, size_t size);

/**
 * @brief A leaf lock for the backend's own state: the platform's, or a no-op without platform
 * locks. Not recursive.
 *
 * - Ownership: the backend's; free with prqd_be_lock_free().
 * - Locking: none; any operation.
 * - Blocking: as the platform's lock_init.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param lock receives the lock.
 * @return 0 or -ENOMEM.
 */
int prqd_be_lock_new(const struct prqd_iommu *iommu, void **lock);

/**
 * @brief Release a lock from prqd_be_lock_new(); it must not be held.
 *
 * - Ownership: @p lock is freed.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param lock the lock, or NULL.
 */
void prqd_be_lock_free(const struct prqd_iommu *iommu, void *lock);

/**
 * @brief Take a lock from prqd_be_lock_new().
 *
 * - Ownership: nothing changes hands.
 * - Locking: takes @p lock; the backend takes nothing of the core's under it.
 * - Blocking: while another thread holds it.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param lock the lock.
 */
void prqd_be_lock(const struct prqd_iommu *iommu, void *lock);

/**
 * @brief Release a lock taken with prqd_be_lock().
 *
 * - Ownership: nothing changes hands.
 * - Locking: releases @p lock.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param lock the lock.
 */
void prqd_be_unlock(const struct prqd_iommu *iommu, void *lock);

/**
 * @brief The prqd_hw_req.tag of a delivered group's request: for the handler's side of a
 * simulator, which matches deliveries to what its devices sent.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; any thread that holds the group.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param group a group delivered to a handler and not answered yet.
 * @param i the request's index in the group.
 * @return The tag; 0 for none or @p i out of range.
 */
uint64_t prqd_group_request_tag(const struct prqd_group *group, unsigned i);

/**
 * @brief The platform's monotonic clock.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; any operation.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @return Nanoseconds.
 */
uint64_t prqd_be_now_ns(const struct prqd_iommu *iommu);

/**
 * @brief The polling hint between two register reads (the platform's relax).
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; any operation.
 * - Blocking: as the platform's relax (a simulated platform advances time here).
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 */
void prqd_be_relax(const struct prqd_iommu *iommu);

/**
 * @brief Log through the context's log function; the message should start with the
 * backend's name.
 *
 * - Ownership: the strings are borrowed for the call.
 * - Locking: none; any operation.
 * - Blocking: as the log function.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param prio a PRQD_LOG_* priority; nothing happens above the context's priority.
 * @param file the source file.
 * @param line the source line.
 * @param fn the function.
 * @param fmt printf format, then its arguments.
 */
void prqd_be_log(const struct prqd_iommu *iommu, int prio, const char *file, int line,
		 const char *fn, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 6, 7)))
#endif
	;

/** Log an error with the caller's position. */
#define prqd_be_err(iommu, ...)                                                                \
	prqd_be_log(iommu, PRQD_LOG_ERR, __FILE__, __LINE__, __func__, __VA_ARGS__)
/** Log a warning with the caller's position. */
#define prqd_be_warn(iommu, ...)                                                               \
	prqd_be_log(iommu, PRQD_LOG_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)
/** Log information with the caller's position. */
#define prqd_be_info(iommu, ...)                                                               \
	prqd_be_log(iommu, PRQD_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_BACKEND_H */
