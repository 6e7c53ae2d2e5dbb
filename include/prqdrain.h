/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain.h
 * @brief prqdrain: PCIe PRI page requests and PASID teardown (stop, drain, resume, unbind).
 *
 * The main public header of libprqdrain. The embedding contract (memory, clock, locks, MMIO
 * and DMA memory callbacks) is in prqdrain-platform.h, included below; the version macros are
 * in prqdrain-version.h, included below too.
 *
 * Conventions that hold for every function here unless its comment says otherwise:
 *  - Errors are negative errno values (PRQD_E* below, equal to Linux's errno.h), 0 is success.
 *  - Objects come out through a `**out` parameter; `*out` is written only on success.
 *  - Every object is opaque. Reference counted objects have _ref/_unref; _unref returns NULL.
 *  - Nothing is logged unless a log function is installed or PRQDRAIN_LOG is set.
 *  - There is no global state. All objects of one context may be used from several threads
 *    when the platform supplies locks (see prqd_platform); the exceptions are stated per
 *    function. Callbacks (handler, log, trace) run in the calling thread of the function that
 *    triggered them and must not call back into the functions listed in their description.
 *
 * Every function's comment says who owns what it takes and returns (Ownership), which
 * library locks it takes (Locking), how long it may wait (Blocking), and its errors (Returns).
 * The locks, taken in this order and never the other way round:
 *  - the device lock: one per prqd_dev, a platform lock; bind, unbind, device-wide calls and
 *    prqd_dev_remove() take it; a call waits on it while another thread holds it.
 *  - the queue lock: one per prqd_iommu, a platform lock held by whoever consumes the page
 *    request queue: prqd_iommu_process() for its whole call (handlers run under it), a drain
 *    for one batch (core.fetch_batch requests) at a time, registration calls briefly.
 *  - the bond spinlock: one per bond, the library's own, held for a few instructions around a
 *    state change or a group's answer; never across a callback or a backend call.
 * "Blocking: never" means no wait on the hardware, on a handler or on time; a call may still
 * wait for a lock held by another thread as said in its Locking line.
 */
#ifndef PRQDRAIN_H
#define PRQDRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain-platform.h>
#include <prqdrain-version.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Error codes. They equal the Linux errno values, so strerror(-ret) works on Linux; the
 * library itself never includes errno.h because the core builds freestanding.
 */
enum {
	PRQD_EPERM = 1,
	PRQD_ENOENT = 2,
	PRQD_EIO = 5,
	PRQD_EAGAIN = 11,
	PRQD_ENOMEM = 12,
	PRQD_EBUSY = 16,
	PRQD_EEXIST = 17,
	PRQD_ENODEV = 19,
	PRQD_EINVAL = 22,
	PRQD_ERANGE = 34,
	PRQD_EDEADLK = 35,
	PRQD_ENOSPC = 28,
	PRQD_EPROTO = 71,
	PRQD_EBADMSG = 74,
	PRQD_EOPNOTSUPP = 95,
	PRQD_ESHUTDOWN = 108,
	PRQD_ETIMEDOUT = 110,
	PRQD_EALREADY = 114,
	PRQD_EINPROGRESS = 115,
	PRQD_ESTALE = 116,
};

/** Library context: logging, parameters, tracing. Opaque. */
struct prqd_ctx;
/** One IOMMU (DMAR unit, SMMU, simulated IOMMU) driven by one backend. Opaque. */
struct prqd_iommu;
/** One PCIe function (requester ID) behind an IOMMU. Opaque. */
struct prqd_dev;
/** A (device, PASID or RID-only) pair bound to a fault handler. Opaque. */
struct prqd_bond;
/** One page request group handed to a handler. Opaque. */
struct prqd_group;

/* ------------------------------------------------------------------------------------------ */
/* Version                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_version Version: compile-time macros and the run-time version
 * @{
 */

/**
 * @brief The version of the library that is running, "MAJOR.MINOR.MICRO".
 *
 * Compare it with PRQD_VERSION_STRING (the version of the header the program was built
 * against) to tell a program built against another release.
 *
 * - Ownership: a static string; never free it.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @return The version string; never NULL.
 */
const char *prqd_version(void);

/** @} */

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_context Context: platform, logging, parameters, backends
 * @{
 */

/** Options for prqd_ctx_new(). Zero-initialise and set what you need. */
struct prqd_ctx_opts {
	/** Size of this struct as the caller knows it (sizeof(struct prqd_ctx_opts)). */
	uint32_t size;
	/** Platform for memory, clock, locks and environment. NULL selects the library's
	 * default platform for Linux user space when built hosted; a freestanding build has
	 * no default and returns -EINVAL. The table and its user pointer must outlive the ctx. */
	const struct prqd_platform *platform;
	/** PRQD_CTX_* flags. */
	uint32_t flags;
};

/** Flags of prqd_ctx_opts.flags. */
enum prqd_ctx_flags {
	/** Do not read PRQDRAIN_LOG / PRQDRAIN_BACKEND from the environment. */
	PRQD_CTX_IGNORE_ENV = 1u << 0,
};

/** Log priorities, as syslog's. */
enum prqd_log_prio {
	PRQD_LOG_ERR = 3,
	PRQD_LOG_WARNING = 4,
	PRQD_LOG_INFO = 6,
	PRQD_LOG_DEBUG = 7,
};

/**
 * @brief Create a library context.
 *
 * Reads PRQDRAIN_LOG (err, warning, info, debug or a number) unless PRQD_CTX_IGNORE_ENV.
 *
 * - Ownership: the caller owns one reference to the new context (prqd_ctx_unref()); the
 *   platform table stays the caller's and must outlive the context.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param opts options, or NULL for all defaults.
 * @param out receives the new context.
 * @return 0; -EINVAL (opts->size too small, no platform in a freestanding build, a platform
 *         lacking a required callback); -ENOMEM.
 */
int prqd_ctx_new(const struct prqd_ctx_opts *opts, struct prqd_ctx **out);

/**
 * @brief Take a reference to a context.
 *
 * - Ownership: the caller owns the new reference.
 * - Locking: none (an atomic counter); thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context, or NULL.
 * @return @p ctx. Cannot fail.
 */
struct prqd_ctx *prqd_ctx_ref(struct prqd_ctx *ctx);

/**
 * @brief Drop a reference; the last one frees the context.
 *
 * Every IOMMU opened on the context holds a reference, so the context lives until they are
 * closed.
 *
 * - Ownership: the caller's reference is gone.
 * - Locking: none (an atomic counter); thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context, or NULL.
 * @return NULL. Cannot fail.
 */
struct prqd_ctx *prqd_ctx_unref(struct prqd_ctx *ctx);

/**
 * Log callback. @p msg is one line without a trailing newline, already formatted; it is
 * valid during the call only. The callback may run in any thread that calls into the
 * library, possibly under the queue lock; it must not call the library.
 */
typedef void (*prqd_log_fn)(void *user, int prio, const char *file, int line, const char *fn,
			    const char *msg);

/**
 * @brief Install (or with NULL remove) the log sink.
 *
 * - Ownership: @p user stays the caller's and must stay valid while the sink is installed.
 * - Locking: none. Not thread-safe against concurrent logging: call it before opening IOMMUs.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param fn the sink, or NULL.
 * @param user passed to @p fn.
 */
void prqd_ctx_set_log_fn(struct prqd_ctx *ctx, prqd_log_fn fn, void *user);

/**
 * @brief Set the log threshold: messages above @p prio are dropped before formatting.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none (a plain store): set it before other threads log through the context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param prio an enum prqd_log_prio value, or 0 for silence.
 */
void prqd_ctx_set_log_priority(struct prqd_ctx *ctx, int prio);

/**
 * @brief The current log threshold.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @return The priority (0 = silent, the default). Cannot fail.
 */
int prqd_ctx_get_log_priority(const struct prqd_ctx *ctx);

/**
 * @brief Set a parameter by name.
 *
 * Parameters are "core.*" for the library, "<backend>.*" for a backend (for example
 * "core.drain_timeout_ms", "sim.queue_size"). Values are decimal or 0x hexadecimal integers,
 * or one of the names a parameter lists ("on"/"off" for booleans). They take effect for
 * IOMMUs opened after the call.
 *
 * - Ownership: @p name and @p value stay the caller's; nothing is kept of them.
 * - Locking: none. Not thread-safe against prqd_iommu_open() or another set on the context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param name the parameter's name.
 * @param value the new value as text.
 * @return 0; -ENOENT (no parameter of that name); -EINVAL (value not parseable or out of
 *         range: the old value stays).
 */
int prqd_ctx_set_param(struct prqd_ctx *ctx, const char *name, const char *value);

/**
 * @brief Read a parameter's current value as an integer.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none. Not thread-safe against prqd_ctx_set_param() of the same context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param name the parameter's name.
 * @param value receives the value (written only on success).
 * @return 0; -ENOENT (no parameter of that name).
 */
int prqd_ctx_get_param(const struct prqd_ctx *ctx, const char *name, uint64_t *value);

/** A parameter's description for listings (--help). All strings are static. */
struct prqd_param_info {
	const char *name; /**< the name, for example core.drain_timeout_ms */
	const char *help; /**< one line */
	uint64_t def;     /**< default value */
	uint64_t min;     /**< smallest accepted value */
	uint64_t max;     /**< largest accepted value */
	const char *const *names; /**< NULL, or value names indexed by value, NULL-terminated */
};

/**
 * @brief Call @p fn for every known parameter, in a stable order.
 *
 * - Ownership: the info passed to @p fn is static.
 * - Locking: none; thread-safe (it reads only static tables).
 * - Blocking: never, but for what @p fn does.
 * - Since: 0.1
 *
 * @param fn called once per parameter; a non-zero return stops the walk.
 * @param user passed to @p fn.
 * @return 0 after the last parameter, or the first non-zero value @p fn returned.
 */
int prqd_param_walk(int (*fn)(void *user, const struct prqd_param_info *info), void *user);

/**
 * @brief The name of a backend compiled into the library.
 *
 * Backends are numbered 0, 1, ... in probing order; configure decides which are compiled.
 * Backends added to a context (prqd_ctx_add_backend(), such as libprqdrain-sim's "sim") are
 * listed by prqd_ctx_backend_name(), after these.
 *
 * - Ownership: the strings are static.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param index the backend's number.
 * @param help if not NULL, receives a one-line description.
 * @return The name, or NULL past the last backend.
 */
const char *prqd_backend_name(unsigned index, const char **help);

/** @} */

/* ------------------------------------------------------------------------------------------ */
/* Tracing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_tracing Tracing: events of the page request protocol
 * @{
 */

/** The kinds of trace events (prqd_trace_event.type). */
enum prqd_trace_type {
	PRQD_TR_REQUEST = 1,     /**< a page request was read from the queue */
	PRQD_TR_GROUP_DELIVER,   /**< a complete group went to the handler */
	PRQD_TR_RESPONSE,        /**< a response was sent (code, who) */
	PRQD_TR_LATE_RESPONSE,   /**< a handler answered a group already answered: swallowed */
	PRQD_TR_STOP_MARKER,     /**< a stop marker was seen (never answered) */
	PRQD_TR_BAD_REQUEST,     /**< a malformed request or one from an unknown requester */
	PRQD_TR_PARTIAL_DISCARD, /**< partial groups discarded (count in value) */
	PRQD_TR_OVERFLOW,        /**< the queue overflowed; acknowledged once empty */
	PRQD_TR_BOND_STATE,      /**< bond state changed: state_from -> state_to */
	PRQD_TR_DRAIN_BEGIN,     /**< drain started */
	PRQD_TR_DRAIN_STEP_START, /**< hardware drain step issued (scope in value) */
	PRQD_TR_DRAIN_STEP_DONE, /**< hardware drain step completed (result in result) */
	PRQD_TR_DRAIN_END,       /**< drain finished (result in result) */
};

/**
 * Who answered a group. Groups the hardware answers on its own (auto-responses during a queue
 * overflow) never reach the library and are not counted here.
 */
enum prqd_responder {
	PRQD_BY_HANDLER = 0, /**< the handler, synchronously or through prqd_respond() */
	PRQD_BY_STOP = 1,    /**< the library, because the bond was stopping or stopped */
	PRQD_BY_NOBOND = 2,  /**< the library: no bond, unknown requester, malformed, no memory */
	PRQD_BY_ABANDON = 3, /**< the library, taking a group back from the handler */
	PRQD_BY_LOCAL = 4,   /**< nobody: the backend could not send it (counted, logged) */
};
/** Number of enum prqd_responder values (size of prqd_stats.by). */
#define PRQD_NR_RESPONDERS 5

/** One trace event. Fields that do not apply are 0. Valid only during the callback. */
struct prqd_trace_event {
	uint32_t type;    /**< enum prqd_trace_type */
	uint64_t time_ns; /**< platform clock */
	uint16_t rid;     /**< requester ID */
	bool pasid_valid; /**< the request carried a PASID */
	uint32_t pasid;   /**< the PASID, when pasid_valid */
	uint16_t prg_index; /**< page request group index */
	uint32_t bond_gen;  /**< the bond's generation */
	uint8_t state_from; /**< enum prqd_bond_state before (PRQD_TR_BOND_STATE) */
	uint8_t state_to;   /**< enum prqd_bond_state after (PRQD_TR_BOND_STATE) */
	uint8_t code;       /**< enum prqd_resp */
	uint8_t responder;  /**< enum prqd_responder */
	int result;         /**< 0 or negative errno */
	uint64_t value;     /**< event-specific (address, count, scope) */
};

/**
 * Trace callback: runs inside library calls, possibly under the queue lock or a bond
 * spinlock, so it must only record: no library call, no wait.
 */
typedef void (*prqd_trace_fn)(void *user, const struct prqd_trace_event *ev);

/**
 * @brief Install (or remove with NULL) the trace sink.
 *
 * - Ownership: @p user stays the caller's and must stay valid while the sink is installed.
 * - Locking: none. Not thread-safe against running IOMMUs: call it before opening them.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param fn the sink, or NULL.
 * @param user passed to @p fn.
 */
void prqd_ctx_set_trace_fn(struct prqd_ctx *ctx, prqd_trace_fn fn, void *user);

/**
 * @brief The static name of a trace event type ("request", ...).
 *
 * - Ownership: the string is static.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param type an enum prqd_trace_type value.
 * @return The name, or "?" for an unknown type.
 */
const char *prqd_trace_type_name(uint32_t type);

/**
 * Chrome / Perfetto trace JSON writer. It formats events into JSON and hands the text to its
 * write function in pieces; it never does I/O itself. Open the result in ui.perfetto.dev or
 * chrome://tracing.
 */
struct prqd_trace_json;
/** Output function of the trace JSON writer: 0, or a negative errno that the writer keeps. */
typedef int (*prqd_write_fn)(void *user, const char *buf, size_t len);

/**
 * @brief Start a trace JSON writer (writes the opening of the document).
 *
 * - Ownership: the caller owns the writer and ends it with prqd_trace_json_finish(); @p user
 *   stays the caller's and must outlive the writer. The writer allocates from @p ctx's
 *   platform, so @p ctx must outlive it too.
 * - Locking: none (creates the writer's own lock).
 * - Blocking: as long as @p write takes.
 * - Since: 0.1
 *
 * @param ctx the context whose platform provides memory and the writer's lock.
 * @param write the output function.
 * @param user passed to @p write.
 * @param out receives the writer.
 * @return 0; -ENOMEM; or @p write's error.
 */
int prqd_trace_json_new(struct prqd_ctx *ctx, prqd_write_fn write, void *user,
			struct prqd_trace_json **out);

/**
 * @brief A prqd_trace_fn that writes one event: install it with the writer as its user pointer.
 *
 * - Ownership: nothing changes hands; @p ev is read during the call only.
 * - Locking: the writer's own lock (thread-safe; events of several threads are serialised).
 * - Blocking: as long as the writer's write function takes.
 * - Since: 0.1
 *
 * @param writer a struct prqd_trace_json.
 * @param ev the event.
 */
void prqd_trace_json_event(void *writer, const struct prqd_trace_event *ev);

/**
 * @brief Close the document and free the writer.
 *
 * - Ownership: the writer is freed; uninstall the trace sink first.
 * - Locking: the writer's own lock.
 * - Blocking: as long as the writer's write function takes.
 * - Since: 0.1
 *
 * @param tw the writer.
 * @return 0, or the first error of the write function seen during the writer's life.
 */
int prqd_trace_json_finish(struct prqd_trace_json *tw);

/** @} */

/* ------------------------------------------------------------------------------------------ */
/* IOMMU                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_iommu IOMMU: open, process the page request queue, statistics
 * @{
 */

/**
 * @brief Bring up one IOMMU with a backend.
 *
 * - Ownership: the caller owns the IOMMU and closes it with prqd_iommu_close(); the IOMMU
 *   holds a reference to @p ctx; @p platform stays the caller's and must outlive the IOMMU.
 * - Locking: none. Not thread-safe against prqd_ctx_set_param() of the same context.
 * - Blocking: as long as the backend's initialisation takes (a register-level backend waits
 *   for the hardware within its own bounded timeouts).
 * - Since: 0.1
 *
 * @param ctx the context.
 * @param backend a name from prqd_ctx_backend_name() (the compiled-in backends and those added
 *        to @p ctx with prqd_ctx_add_backend(), prqdrain-backend.h), or NULL: then
 *        PRQDRAIN_BACKEND (unless the context ignores the environment), else the first
 *        backend whose probe succeeds, in that order.
 * @param platform callbacks for this IOMMU (MMIO window, DMA memory, and the backend's data);
 *        NULL uses the context's.
 * @param out receives the IOMMU.
 * @return 0; -ENOENT (no backend of that name); -ENODEV (no backend probed successfully, or
 *         the backend found no usable hardware); -EOPNOTSUPP (hardware lacks page requests);
 *         -ENOMEM; or the backend's error.
 */
int prqd_iommu_open(struct prqd_ctx *ctx, const char *backend, const struct prqd_platform *platform,
		    struct prqd_iommu **out);

/**
 * @brief Release an IOMMU.
 *
 * Every device must have been removed first. Hardware drain steps given up on earlier are
 * released here.
 *
 * - Ownership: on success the IOMMU is freed and its context reference dropped.
 * - Locking: none. No other thread may use the IOMMU during or after the call.
 * - Blocking: as long as the backend's shutdown takes (bounded by the backend).
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @return 0; -EBUSY (devices remain: nothing is released); -EINVAL (NULL).
 */
int prqd_iommu_close(struct prqd_iommu *iommu);

/**
 * @brief The name of the backend driving @p iommu.
 *
 * - Ownership: the string is static.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @return The name, or NULL for a NULL @p iommu.
 */
const char *prqd_iommu_backend(const struct prqd_iommu *iommu);

/**
 * @brief Consume page requests from the hardware queue.
 *
 * Reads up to @p budget requests, assembles groups, hands complete ones to handlers or
 * answers them, and handles queue overflow. Call it from the page request interrupt or a poll
 * loop, again while it returns a full budget.
 *
 * - Ownership: groups handed to a handler are the handler's until answered.
 * - Locking: the queue lock for the whole call: only one thread consumes the queue at a time,
 *   a concurrent call waits for the other. Handlers run under it.
 * - Blocking: only on the queue lock, for at most one queue's worth of requests of another
 *   consumer; never on the hardware.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param budget most requests to consume; 0 means what is queued when the call starts, plus
 *        at most one batch (core.fetch_batch) of what arrives meanwhile: a flood cannot keep
 *        the call going.
 * @return The number of requests consumed (>= 0); -EINVAL (NULL); or a negative errno from
 *         the backend.
 */
int prqd_iommu_process(struct prqd_iommu *iommu, unsigned budget);

/** Counters of one IOMMU. Monotonic; read with prqd_iommu_stats(). */
struct prqd_stats {
	uint64_t requests;         /**< page requests read from the queue */
	uint64_t groups;           /**< groups completed (Last seen) */
	uint64_t delivered;        /**< groups handed to a handler */
	uint64_t responses[3];     /**< responses sent, by enum prqd_resp */
	uint64_t by[PRQD_NR_RESPONDERS]; /**< groups answered, by enum prqd_responder */
	uint64_t stop_markers;     /**< stop markers seen (never answered) */
	uint64_t stop_markers_unexpected; /**< ... for a PASID with no bond */
	uint64_t stop_markers_missing; /**< unbinds with PRQD_UNBIND_STOP_MARKER that saw none */
	uint64_t bad_requests;     /**< malformed requests (answered Invalid when Last) */
	uint64_t unknown_requester; /**< requests from a requester ID with no device */
	uint64_t stale_groups;     /**< groups completing for a bond generation no longer live */
	uint64_t partial_discarded; /**< partial groups thrown away (overflow, drain) */
	uint64_t pool_exhausted;   /**< requests dropped because the device's request pool was full */
	uint64_t late_responses;   /**< handler answers swallowed (group answered already) */
	uint64_t bad_responses;    /**< prqd_respond() refused (unknown group, bad code) */
	uint64_t overflows;        /**< queue overflows acknowledged */
	uint64_t drains;           /**< drains completed */
	uint64_t drain_timeouts;   /**< drains that ran out of time */
	uint64_t drain_errors;     /**< drains failed by the hardware (device-TLB timeout, ...) */
	uint64_t drain_steps;      /**< hardware drain steps issued */
	uint64_t drain_repeats;    /**< of those, repeated because of an overflow */
	uint64_t commands_queued;  /**< commands (descriptors) the backend queued for drain steps */
	uint64_t doorbells;        /**< doorbell (queue tail) writes for drain steps */
	uint64_t stale_requests;   /**< requests read for a PASID that were queued before its
				    * current bond was bound (answered as having no bond) */
	uint64_t drain_reissues;   /**< drain steps issued again after the hardware aborted one
				    * for another device's sake (counted in drain_steps too) */
	uint64_t stalls;           /**< stall-style faults read (SMMUv3 stall model), each
				    * delivered as a one-request group and resumed or
				    * terminated once (counted in requests too) */
};

/**
 * @brief Copy the IOMMU's counters.
 *
 * Counters are read without a global lock and may be mutually a little out of date under
 * concurrency. The consumer adds what it counts on its common path (groups, deliveries, the
 * handler's own answers) at the end of each batch it reads, and its requests at the start:
 * a reader during a prqd_iommu_process() call (a handler included) may see requests ahead of
 * groups, or a deferred answer counted before its delivery.
 *
 * - Ownership: @p out is the caller's.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param out receives the counters.
 * @param size sizeof(*out) as the caller knows it; fields past it are not written.
 * @return 0; -EINVAL (NULL argument, @p size not a multiple of 8 or larger than the
 *         struct).
 */
int prqd_iommu_stats(const struct prqd_iommu *iommu, struct prqd_stats *out, size_t size);

/** @} */

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_devices Devices: add, remove, stop and drain a whole device
 * @{
 */

/** What the library must know of a PCIe function (fillable from config space, see lib/linux). */
struct prqd_dev_info {
	uint32_t size;           /**< sizeof(struct prqd_dev_info) as the caller knows it */
	uint16_t rid;            /**< requester ID: bus << 8 | device << 3 | function */
	uint32_t pri_capacity;   /**< PRI Outstanding Page Request Capacity (1 .. 2^32-1) */
	uint32_t pri_alloc;      /**< Allocation programmed into the device; 0 means = capacity */
	bool prg_resp_pasid_required; /**< PRI status "PRG Response PASID Required" */
	bool uses_stop_markers;  /**< the device's stop-PASID mechanism sends Stop Markers */
	uint8_t pasid_width;     /**< PASID capability Max PASID Width (0 = no PASID support) */
	uint16_t ats_queue_depth; /**< ATS Invalidate Queue Depth (0 means 32) */
	/** Appended in 0.1: how the IOMMU names the function in its queues and commands, where
	 * that differs from the requester ID (SMMUv3 StreamID, AMD-Vi DeviceID, RISC-V IOMMU
	 * device_id). Without has_source_id (or with a @c size that stops before it) the source
	 * ID is the requester ID, as on VT-d. */
	bool has_source_id;
	uint32_t source_id; /**< the source ID, when has_source_id */
};

/**
 * @brief Register a function with the IOMMU and attach it in the backend.
 *
 * The device's pool holds at most its PRI allocation (capped by core.pool_max) plus
 * core.pool_slack requests at once. Its memory comes as requests arrive, in chunks that are
 * kept until the device is removed: a quiet device costs little, and steady traffic
 * allocates nothing per request (see prqd_platform.alloc for where it is called).
 *
 * - Ownership: the device belongs to the IOMMU; remove it with prqd_dev_remove(). @p info is
 *   copied.
 * - Locking: takes the queue lock briefly, to make the device visible to the consumer.
 * - Blocking: only on the queue lock (while another thread consumes the queue), and as long as
 *   the backend's attach takes.
 * - Since: 0.1
 *
 * @param iommu the IOMMU.
 * @param info the function's description (info->size set by the caller).
 * @param out receives the device.
 * @return 0; -EINVAL (bad info); -EEXIST (source ID already added); -ENOMEM; or the backend's error.
 */
int prqd_dev_add(struct prqd_iommu *iommu, const struct prqd_dev_info *info, struct prqd_dev **out);

/**
 * @brief Detach and free a device.
 *
 * Every bond must be unbound first. Groups a handler still holds after a forced unbind are
 * released here: their handles become invalid. PASIDs quarantined by a forced unbind are
 * freed with the device: their requests then come from an unknown requester and are answered
 * Invalid.
 *
 * - Ownership: on success the device and every handle of it are freed.
 * - Locking: the device lock, then the queue lock briefly.
 * - Blocking: only on those locks, and as long as the backend's detach takes.
 * - Since: 0.1
 *
 * @param dev the device.
 * @return 0; -EBUSY (bonds remain: nothing is changed).
 */
int prqd_dev_remove(struct prqd_dev *dev);

/**
 * @brief The device's requester ID.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @return bus << 8 | device << 3 | function. Cannot fail.
 */
uint16_t prqd_dev_rid(const struct prqd_dev *dev);

/** @} */

/* ------------------------------------------------------------------------------------------ */
/* Bonds, groups, responses                                                                   */
/* ------------------------------------------------------------------------------------------ */

/**
 * @defgroup prqdrain_bonds Bonds, groups, responses: bind, drain, unbind; answer groups
 * @{
 */

/** The life of a bond. */
enum prqd_bond_state {
	PRQD_BOND_ACTIVE = 1,   /**< groups go to the handler */
	PRQD_BOND_STOPPING = 2, /**< stopped; groups answered Invalid; drain not (yet) complete */
	PRQD_BOND_DRAINING = 3, /**< a drain is running */
	PRQD_BOND_STOPPED = 4,  /**< drained: nothing of this bond remains in flight */
	PRQD_BOND_UNBINDING = 5, /**< prqd_unbind() is running */
	PRQD_BOND_FREED = 6,    /**< gone: the handle is dead */
};

/**
 * @brief The static name of a bond state ("active", "stopping", ...).
 *
 * - Ownership: the string is static.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param state an enum prqd_bond_state value.
 * @return The name, or "?" for an unknown state.
 */
const char *prqd_bond_state_name(int state);

/** Generic response codes; each backend maps them to its own encoding. */
enum prqd_resp {
	PRQD_RESP_SUCCESS = 0, /**< pages are there: the device retries translation */
	PRQD_RESP_INVALID = 1, /**< will never succeed: the device gives the access up */
	PRQD_RESP_FAILURE = 2, /**< unrecoverable: the function disables PRI. Never sent by the
				* library on its own. */
};

/** Handler return value meaning "I will answer later with prqd_respond()". */
#define PRQD_RESP_DEFER (-1)

/**
 * One page request of a group, as decoded by the backend. The library fills it and the
 * handler reads it (prqd_group_request()); size is sizeof(struct prqd_request) as the
 * library knows it. Fields are only ever appended: a handler built against a newer header
 * reads a field only when size reaches past it.
 */
struct prqd_request {
	uint32_t size;     /**< set by the library */
	uint64_t addr;     /**< page address (4 KiB aligned) */
	bool read;         /**< read access requested */
	bool write;        /**< write access requested */
	bool exec;         /**< execute access requested */
	bool priv;         /**< privileged (supervisor) access requested */
	bool last;         /**< the last request of its page request group */
	uint16_t prg_index; /**< page request group index */
	bool pasid_valid;  /**< the request carried a PASID */
	uint32_t pasid;    /**< the PASID, when pasid_valid */
	uint16_t rid;      /**< requester ID: bus << 8 | device << 3 | function */
	uint32_t source_id; /**< the IOMMU's name of the requester (prqd_dev_info.source_id) */
	uint64_t priv_data[2]; /**< private data, echoed in the response where the hardware does */
	bool priv_data_valid; /**< priv_data holds what the request carried */
	/** A stall-style fault (SMMUv3 stall model), alone in its group: the IOMMU holds the
	 * transaction; answering Success resumes (retries) it, Invalid or Failure terminates it.
	 * The one response is sent as for any group. */
	bool stall;
};

/**
 * The fault handler. Called from prqd_iommu_process() (or a drain) with one complete group,
 * while the bond is ACTIVE, under the queue lock. Return a prqd_resp code to answer now, or
 * PRQD_RESP_DEFER and answer later from any thread with prqd_respond(). The handler must not
 * call prqd_iommu_process(), prqd_drain(), prqd_unbind(), prqd_bind() or prqd_dev_* on the
 * same IOMMU; it may call prqd_respond() and prqd_stop(). A handler that can take long should
 * defer: it runs in the thread that consumes the queue.
 */
typedef int (*prqd_handler_fn)(void *cookie, struct prqd_bond *bond, struct prqd_group *group);

/** The "PASID" of a bond for requests without a PASID (RID-only). */
#define PRQD_NO_PASID UINT32_MAX

/**
 * @brief Bind (device, PASID) to a handler, starting ACTIVE with a new generation.
 *
 * The new generation receives only requests queued after the bind: whatever the queue holds
 * for the PASID when it is bound was sent before, is answered Invalid and counted
 * (stats.stale_requests). A device must not use a PASID before it is bound.
 *
 * If the PASID is quarantined (an earlier bond of it was unbound with PRQD_UNBIND_FORCE), the
 * bind first proves that generation's requests gone: a hardware drain of the PASID, or where
 * the IOMMU cannot drain, the Stop Marker that generation's device sent (read from the queue,
 * waited for when the device uses markers). Only then is the quarantine lifted.
 *
 * - Ownership: the bond belongs to the device; end it with prqd_unbind(). @p cookie stays the
 *   caller's and must stay valid until the bond is unbound.
 * - Locking: the device lock, and under it the queue lock briefly to take the queue mark
 *   (what is queued now belongs to earlier generations); a quarantine is lifted with the
 *   device lock dropped, taking the queue lock one batch at a time.
 * - Blocking: only on those locks, except for a quarantined PASID: then up to
 *   core.drain_timeout_ms, polling with the platform's relax.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param pasid the PASID (< 2^pasid_width), or PRQD_NO_PASID for requests without a PASID.
 * @param handler called with every complete group of the bond.
 * @param cookie passed to @p handler.
 * @param out receives the bond.
 * @return 0; -EINVAL (PASID out of range, NULL handler); -EEXIST (bound already, in any state
 *         but FREED); -ENOMEM; for a quarantined PASID also -ETIMEDOUT or -EIO (the drain
 *         failed), -EOPNOTSUPP (no hardware drain and no Stop Marker to stand in for it),
 *         -EBUSY (another thread is lifting the quarantine): the PASID then stays quarantined
 *         and the bind may be retried.
 */
int prqd_bind(struct prqd_dev *dev, uint32_t pasid, prqd_handler_fn handler, void *cookie,
	      struct prqd_bond **out);

/**
 * @brief The bond's current state.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none (an atomic load); thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return An enum prqd_bond_state value. Cannot fail.
 */
int prqd_bond_state(const struct prqd_bond *bond);

/**
 * @brief The bond's generation, unique per device and PASID.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return The generation. Cannot fail.
 */
uint32_t prqd_bond_gen(const struct prqd_bond *bond);

/**
 * @brief The bond's PASID.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return The PASID, or PRQD_NO_PASID. Cannot fail.
 */
uint32_t prqd_bond_pasid(const struct prqd_bond *bond);

/**
 * @brief The bond's device.
 *
 * - Ownership: the device stays the IOMMU's.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return The device. Cannot fail.
 */
struct prqd_dev *prqd_bond_dev(const struct prqd_bond *bond);

/**
 * @brief The number of the bond's groups the handler holds unanswered.
 *
 * - Ownership: nothing changes hands.
 * - Locking: the bond spinlock.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return The count. Cannot fail.
 */
unsigned prqd_bond_outstanding(const struct prqd_bond *bond);

/** Flags of prqd_stop(). */
enum prqd_stop_flags {
	/** Answer the groups the handler holds with Invalid now; its later answers are swallowed
	 * and counted (late_responses). Without it they keep the handler's one response. */
	PRQD_STOP_ABANDON = 1u << 0,
};

/**
 * @brief Stop delivering: from now on every group of the bond is answered Invalid at once.
 *
 * Idempotent: a stopped, stopping or draining bond returns 0 (PRQD_STOP_ABANDON still
 * applies). Where the backend can gate page requests at the IOMMU it does so (VT-d, when the
 * platform supplies pasid_entry_set_present: the PASID entry's Present bit is cleared and the
 * IOMMU's caches of it invalidated; the IOMMU then answers the PASID's page requests itself).
 *
 * - Ownership: with PRQD_STOP_ABANDON the held groups are taken back from the handler.
 * - Locking: the bond spinlock, then (outside it) the device's gate lock around the backend's
 *   gate call. May be called from the handler.
 * - Blocking: never on a handler; on the hardware only inside the backend's gate call, for
 *   the backend's bound (VT-d: vtd.gate_wait_us, the device's answer to a device-TLB
 *   invalidation included).
 * - Since: 0.1
 *
 * @param bond the bond.
 * @param flags enum prqd_stop_flags.
 * @return 0; -ESTALE (the bond is being unbound or freed); -EINVAL (unknown flag).
 */
int prqd_stop(struct prqd_bond *bond, unsigned flags);

/** Flags of prqd_drain() and prqd_dev_drain(). */
enum prqd_drain_flags {
	PRQD_DRAIN_ABANDON = 1u << 0, /**< as PRQD_STOP_ABANDON, for groups still held */
};

/**
 * @brief Make sure nothing the device issued for this bond before the call is left in the
 * fabric, the queue or the library.
 *
 * Stops the bond first if it is ACTIVE. Runs the backend's hardware drain, consumes the queue
 * up to the point it guarantees (answering this bond's groups Invalid and serving other bonds
 * normally), repeats while the queue overflowed, waits until the handler answered every group
 * it holds (or takes them back with PRQD_DRAIN_ABANDON), and discards partial groups. The
 * guarantee is for this call's start: a STOPPED bond is drained again (the device may have
 * sent more since the last drain). Where the IOMMU cannot drain, a Stop Marker of the PASID
 * already read (or queued now) stands in for the hardware step: the device sent it after all
 * its earlier requests.
 *
 * - Ownership: with PRQD_DRAIN_ABANDON the held groups are taken back from the handler.
 * - Locking: the bond spinlock for state changes; the queue lock one batch (core.fetch_batch)
 *   at a time, so other bonds' groups keep flowing. Not from a handler.
 * - Blocking: up to @p timeout_ms, polling with the platform's relax.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @param flags enum prqd_drain_flags.
 * @param timeout_ms the deadline; 0 = the parameter core.drain_timeout_ms.
 * @return 0 (bond STOPPED); -ETIMEDOUT (bond left STOPPING; a hardware step still in flight is
 *         kept and resumed by the next drain); -EIO (the hardware reported the device-TLB
 *         invalidation failed; bond STOPPING); -EOPNOTSUPP (the backend cannot drain and no
 *         Stop Marker was seen); -EBUSY (another drain or unbind of this bond is running);
 *         -ESTALE (bond being unbound); -EINVAL (unknown flag).
 */
int prqd_drain(struct prqd_bond *bond, unsigned flags, uint32_t timeout_ms);

/**
 * @brief STOPPED -> ACTIVE, same generation: for a driver that reset the device and goes on
 * with the PASID.
 *
 * The order that keeps the guarantee: stop the PASID at the device and wait for the stop to
 * complete, drain (a drain that starts after the stop completed), resume, and only then let
 * the device use the PASID again. A device restarted earlier may send a request or Stop Marker
 * that the drain does not cover (an old marker read later would pass for the next stop's).
 *
 * - Ownership: nothing changes hands.
 * - Locking: the bond spinlock, then (outside it) the device's gate lock around the backend's
 *   gate call.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @return 0 (also for an ACTIVE bond); -EINVAL (not STOPPED); -ESTALE (being unbound).
 */
int prqd_resume(struct prqd_bond *bond);

/** Flags of prqd_unbind() and prqd_dev_unbind_all(). */
enum prqd_unbind_flags {
	/** The device stopped the PASID with a Stop Marker (the device must have
	 * uses_stop_markers). The drain runs as always; then, where the backend drains in
	 * hardware exactly (VT-d page-drain), a marker that was not read (lost in an overflow)
	 * is counted in stats.stop_markers_missing; where its drain is only a snapshot of the
	 * queue (SMMUv3) or it cannot drain, the marker is the proof and is waited for within
	 * the deadline, overflow or not (a dropped marker cannot be told from one
	 * still on its way): -ETIMEDOUT if it never comes. */
	PRQD_UNBIND_STOP_MARKER = 1u << 0,
	/** The device is gone (surprise removal) or beyond recovery: no drain and no waiting.
	 * Groups the handler holds are answered Invalid at once (a response is a posted message:
	 * it cannot hang, and a removed device's link drops it), partial groups are discarded,
	 * and the handle is dead. FORCE does not suspend the guarantee: what the bond's
	 * generation sent may still be in the queue or the fabric, so the PASID is quarantined:
	 * its requests are answered Invalid (stats.stale_groups), a hardware step left in flight
	 * is kept for the next drain of the PASID, and prqd_bind() of it first proves that
	 * generation gone (see there). prqd_dev_remove() ends the quarantine with the device.
	 * With PRQD_UNBIND_NO_DRAIN too, the caller asserts nothing of the generation is left
	 * in flight (the device's PRI reported Stopped after a stop without markers): no
	 * quarantine. Fails only with -EBUSY while another thread's drain or unbind of the same
	 * bond runs. */
	PRQD_UNBIND_FORCE = 1u << 1,
	/** The caller asserts the device stopped without markers and every group completed: no
	 * drain. What is queued when the call starts is read first (bounded: a flood of other
	 * requests does not hold the call), and a pending overflow is acknowledged (it may have
	 * dropped the Last of a group the device completed); refused with -EBUSY if the library
	 * then still holds any group of the bond, complete or partial, -ETIMEDOUT if the
	 * overflow could not be acknowledged within core.drain_timeout_ms. */
	PRQD_UNBIND_NO_DRAIN = 1u << 2,
};

/**
 * @brief End a bond.
 *
 * Stops and drains it (also when STOPPED: the drain covers the call's start; timeout
 * core.drain_timeout_ms), answers Invalid every group the handler still holds (its later
 * answers are swallowed), and frees it. After it returns 0 the PASID can be bound again
 * (after a FORCE, through the quarantine: see PRQD_UNBIND_FORCE).
 *
 * - Ownership: on success @p bond is dead; groups the handler held are answered and their
 *   handles released with the bond (or, after FORCE, with the device).
 * - Locking: the bond spinlock for state changes; the queue lock one batch at a time while
 *   draining; the device lock briefly to free the bond (then the queue lock under it). Not
 *   from a handler.
 * - Blocking: up to core.drain_timeout_ms, polling with the platform's relax; with
 *   PRQD_UNBIND_FORCE never.
 * - Since: 0.1
 *
 * @param bond the bond.
 * @param flags enum prqd_unbind_flags.
 * @return 0; -ETIMEDOUT / -EIO (drain failed: the bond stays STOPPING and alive; retry, or
 *         unbind with PRQD_UNBIND_FORCE); -EOPNOTSUPP (the backend cannot drain, e.g. VT-d
 *         without page-drain support: nothing was changed but the stop; unbind with NO_DRAIN
 *         once the device reported the stop complete, or with FORCE); -EBUSY (another
 *         drain/unbind is running, or NO_DRAIN with groups outstanding); -ESTALE (already
 *         being unbound); -EINVAL (unknown or conflicting flags, STOP_MARKER for a device
 *         without uses_stop_markers).
 */
int prqd_unbind(struct prqd_bond *bond, unsigned flags);

/**
 * @brief prqd_stop() for every bond of the device, RID-only included (FLR, error recovery).
 *
 * - Ownership: as prqd_stop().
 * - Locking: the device lock (while walking the bonds), each bond's spinlock, the gate lock.
 * - Blocking: never on a handler or the hardware's progress.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param flags enum prqd_stop_flags.
 * @return 0 (bonds being unbound are left alone); -EINVAL (NULL, unknown flag).
 */
int prqd_dev_stop(struct prqd_dev *dev, unsigned flags);

/**
 * @brief prqd_drain() for every bond of the device, with one hardware drain for the whole
 * function.
 *
 * - Ownership: as prqd_drain().
 * - Locking: the device lock while claiming and releasing the bonds (not across the wait),
 *   each bond's spinlock, the queue lock one batch at a time. Not from a handler.
 * - Blocking: up to @p timeout_ms, polling with the platform's relax.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param flags enum prqd_drain_flags.
 * @param timeout_ms the deadline; 0 = the parameter core.drain_timeout_ms.
 * @return 0 (every bond STOPPED); -EBUSY (a drain or unbind of one of the bonds, or another
 *         device-wide drain, is running: nothing was done); or prqd_drain()'s errors.
 */
int prqd_dev_drain(struct prqd_dev *dev, unsigned flags, uint32_t timeout_ms);

/**
 * @brief prqd_resume() for every STOPPED bond of the device.
 *
 * - Ownership: nothing changes hands.
 * - Locking: the device lock, each bond's spinlock, the gate lock.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @return 0, or the first error of prqd_resume().
 */
int prqd_dev_resume(struct prqd_dev *dev);

/**
 * @brief prqd_unbind() with @p flags for every bond of the device.
 *
 * A bond another thread is unbinding is waited out, not skipped.
 *
 * - Ownership: as prqd_unbind(): on success every bond handle of the device is dead.
 * - Locking: the device lock to pick each bond (not across its unbind), then as prqd_unbind().
 *   Not from a handler.
 * - Blocking: up to core.drain_timeout_ms per bond (never with PRQD_UNBIND_FORCE, but for
 *   waiting out another thread's unbind of the same bond).
 * - Since: 0.1
 *
 * @param dev the device.
 * @param flags enum prqd_unbind_flags.
 * @return 0, or the first error of prqd_unbind().
 */
int prqd_dev_unbind_all(struct prqd_dev *dev, unsigned flags);

/**
 * @brief Answer a group the handler deferred.
 *
 * Exactly one response reaches the device per group; an answer for a group the library
 * already answered (PRQD_STOP_ABANDON, unbind) is swallowed and counted.
 *
 * - Ownership: the group handle is released (also when swallowed, and on a backend error);
 *   it stays the handler's only on -EINVAL.
 * - Locking: the bond spinlock. Thread-safe; may be called from the handler itself.
 * - Blocking: never (a response is a posted write to the backend).
 * - Since: 0.1
 *
 * @param group a group the handler holds.
 * @param code an enum prqd_resp value.
 * @return 0; -EALREADY (swallowed); -EINVAL (code not a prqd_resp; the group stays the
 *         handler's); -ESTALE (the handle is not a group the handler holds: answered
 *         already); or the backend's error (the group is then answered locally).
 */
int prqd_respond(struct prqd_group *group, int code);

/**
 * @brief The number of requests in a group.
 *
 * - Ownership: valid while the handler holds the group.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param group the group.
 * @return The count (at least 1), 0 for NULL.
 */
unsigned prqd_group_count(const struct prqd_group *group);

/**
 * @brief One request of a group.
 *
 * - Ownership: the request belongs to the group and is valid while the handler holds it.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param group the group.
 * @param i the index; the Last request is at count - 1.
 * @return The request, or NULL when @p i is out of range.
 */
const struct prqd_request *prqd_group_request(const struct prqd_group *group, unsigned i);

/**
 * @brief The bond a group belongs to.
 *
 * - Ownership: the bond stays the device's.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param group the group.
 * @return The bond. Cannot fail.
 */
struct prqd_bond *prqd_group_bond(const struct prqd_group *group);

/**
 * @brief The group's page request group index (PRG index).
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param group the group.
 * @return The index. Cannot fail.
 */
uint16_t prqd_group_index(const struct prqd_group *group);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_H */
