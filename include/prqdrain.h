/* SPDX-License-Identifier: MIT */
/*
 * prqdrain: PCIe PRI page requests and PASID teardown (stop, drain, resume, unbind).
 *
 * The only public header of libprqdrain. The embedding contract (memory, clock, locks,
 * MMIO and DMA memory callbacks) is in <prqdrain-platform.h>, included below.
 *
 * Conventions that hold for every function here unless its comment says otherwise:
 *  - Errors are negative errno values (PRQD_E* below, equal to Linux's <errno.h>), 0 is success.
 *  - Objects come out through a `**out` parameter; *out is written only on success.
 *  - Every object is opaque. Reference counted objects have _ref/_unref; _unref returns NULL.
 *  - Nothing is logged unless a log function is installed or PRQDRAIN_LOG is set.
 *  - There is no global state. All objects of one context may be used from several threads
 *    when the platform supplies locks (see prqd_platform); the exceptions are stated per
 *    function. Callbacks (handler, log, trace) run in the calling thread of the function that
 *    triggered them and must not call back into the functions listed in their description.
 */
#ifndef PRQDRAIN_H
#define PRQDRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain-platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes. They equal the Linux errno values, so strerror(-ret) works on Linux; the
 * library itself never includes <errno.h> because the core builds freestanding.
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

/* Opaque objects. */
struct prqd_ctx;   /* library context: logging, parameters, tracing */
struct prqd_iommu; /* one IOMMU (DMAR unit, SMMU, simulated IOMMU) driven by one backend */
struct prqd_dev;   /* one PCIe function (requester ID) behind an IOMMU */
struct prqd_bond;  /* (device, PASID or RID-only) bound to a fault handler */
struct prqd_group; /* one page request group handed to a handler */

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Options for prqd_ctx_new(). Zero-initialise and set what you need. */
struct prqd_ctx_opts {
	/* Size of this struct as the caller knows it (sizeof(struct prqd_ctx_opts)). */
	uint32_t size;
	/* Platform for memory, clock, locks and environment. NULL selects the library's
	 * default platform for Linux user space when built hosted; a freestanding build has
	 * no default and returns -EINVAL. The table and its user pointer must outlive the ctx. */
	const struct prqd_platform *platform;
	/* PRQD_CTX_* flags. */
	uint32_t flags;
};

enum prqd_ctx_flags {
	/* Do not read PRQDRAIN_LOG / PRQDRAIN_BACKEND from the environment. */
	PRQD_CTX_IGNORE_ENV = 1u << 0,
};

/* Log priorities, as syslog's. */
enum prqd_log_prio {
	PRQD_LOG_ERR = 3,
	PRQD_LOG_WARNING = 4,
	PRQD_LOG_INFO = 6,
	PRQD_LOG_DEBUG = 7,
};

/*
 * prqd_ctx_new - create a library context.
 * @opts: options, or NULL for all defaults.
 * @out: receives the new context; the caller owns one reference (prqd_ctx_unref()).
 *
 * Reads PRQDRAIN_LOG (err, warning, info, debug or a number) unless PRQD_CTX_IGNORE_ENV.
 * Returns 0, -EINVAL (opts->size too small, no platform in a freestanding build, platform
 * lacking a required callback) or -ENOMEM.
 * Since: 0.1
 */
int prqd_ctx_new(const struct prqd_ctx_opts *opts, struct prqd_ctx **out);

/* prqd_ctx_ref - take a reference. Returns @ctx. Thread-safe. Since: 0.1 */
struct prqd_ctx *prqd_ctx_ref(struct prqd_ctx *ctx);

/*
 * prqd_ctx_unref - drop a reference; the last one frees the context. Every IOMMU opened on it
 * holds a reference, so the context lives until they are closed. Returns NULL. Since: 0.1
 */
struct prqd_ctx *prqd_ctx_unref(struct prqd_ctx *ctx);

/*
 * Log callback. @msg is one line without a trailing newline, already formatted.
 * It may run in any thread that calls into the library; it must not call the library.
 */
typedef void (*prqd_log_fn)(void *user, int prio, const char *file, int line, const char *fn,
			    const char *msg);

/* prqd_ctx_set_log_fn - install (or with NULL remove) the log sink. Not thread-safe against
 * concurrent logging: call it before opening IOMMUs. Since: 0.1 */
void prqd_ctx_set_log_fn(struct prqd_ctx *ctx, prqd_log_fn fn, void *user);
/* prqd_ctx_set_log_priority - messages above @prio are dropped before formatting. Since: 0.1 */
void prqd_ctx_set_log_priority(struct prqd_ctx *ctx, int prio);
/* prqd_ctx_get_log_priority - the current priority (0 = silent, the default). Since: 0.1 */
int prqd_ctx_get_log_priority(const struct prqd_ctx *ctx);

/*
 * Parameters by name: "core.*" for the library, "<backend>.*" for a backend (for example
 * "core.drain_timeout_ms", "sim.queue_size"). Values are decimal or 0x hexadecimal integers,
 * or one of the names a parameter lists ("on"/"off" for booleans). They take effect for IOMMUs
 * opened after the call.
 *
 * prqd_ctx_set_param - returns 0, -ENOENT (no parameter of that name), -EINVAL (value not
 * parseable or out of range; the old value stays). Not thread-safe against prqd_iommu_open().
 * Since: 0.1
 */
int prqd_ctx_set_param(struct prqd_ctx *ctx, const char *name, const char *value);

/*
 * prqd_ctx_get_param - read a parameter's current value as an integer.
 * Returns 0 and writes *value, or -ENOENT. Since: 0.1
 */
int prqd_ctx_get_param(const struct prqd_ctx *ctx, const char *name, uint64_t *value);

/* A parameter's description for listings (--help). All strings are static. */
struct prqd_param_info {
	const char *name;
	const char *help;
	uint64_t def, min, max;
	const char *const *names; /* NULL, or value names indexed by value, NULL-terminated */
};

/*
 * prqd_param_walk - call @fn for every known parameter, in a stable order; stops early and
 * returns @fn's value when it is non-zero, else returns 0. Since: 0.1
 */
int prqd_param_walk(int (*fn)(void *user, const struct prqd_param_info *info), void *user);

/*
 * prqd_backend_name - the name of backend number @index (0, 1, ...) compiled into the library,
 * in probing order, or NULL past the last. @help, if not NULL, receives a one-line description.
 * Since: 0.1
 */
const char *prqd_backend_name(unsigned index, const char **help);

/* ------------------------------------------------------------------------------------------ */
/* Tracing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

enum prqd_trace_type {
	PRQD_TR_REQUEST = 1,     /* a page request was read from the queue */
	PRQD_TR_GROUP_DELIVER,   /* a complete group went to the handler */
	PRQD_TR_RESPONSE,        /* a response was sent (code, who) */
	PRQD_TR_LATE_RESPONSE,   /* a handler answered a group already answered: swallowed */
	PRQD_TR_STOP_MARKER,     /* a stop marker was seen (never answered) */
	PRQD_TR_BAD_REQUEST,     /* a malformed request or one from an unknown requester */
	PRQD_TR_PARTIAL_DISCARD, /* partial groups discarded (count in @value) */
	PRQD_TR_OVERFLOW,        /* the queue overflowed; acknowledged once empty */
	PRQD_TR_BOND_STATE,      /* bond state changed: @state_from -> @state_to */
	PRQD_TR_DRAIN_BEGIN,     /* drain started */
	PRQD_TR_DRAIN_STEP_START,  /* hardware drain step issued (scope in @value) */
	PRQD_TR_DRAIN_STEP_DONE,   /* hardware drain step completed (result in @result) */
	PRQD_TR_DRAIN_END,       /* drain finished (result in @result) */
};

/*
 * Who answered a group. Groups the hardware answers on its own (auto-responses during a queue
 * overflow) never reach the library and are not counted here.
 */
enum prqd_responder {
	PRQD_BY_HANDLER = 0, /* the handler, synchronously or through prqd_respond() */
	PRQD_BY_STOP = 1,    /* the library, because the bond was stopping or stopped */
	PRQD_BY_NOBOND = 2,  /* the library: no bond, unknown requester, malformed, no memory */
	PRQD_BY_ABANDON = 3, /* the library, taking a group back from the handler */
	PRQD_BY_LOCAL = 4,   /* nobody: the backend could not send it (counted, logged) */
};
#define PRQD_NR_RESPONDERS 5

/* One trace event. Fields that do not apply are 0. Valid only during the callback. */
struct prqd_trace_event {
	uint32_t type;    /* enum prqd_trace_type */
	uint64_t time_ns; /* platform clock */
	uint16_t rid;
	bool pasid_valid;
	uint32_t pasid;
	uint16_t prg_index;
	uint32_t bond_gen;
	uint8_t state_from, state_to; /* enum prqd_bond_state */
	uint8_t code;                 /* enum prqd_resp */
	uint8_t responder;            /* enum prqd_responder */
	int result;                   /* 0 or negative errno */
	uint64_t value;               /* event-specific (address, count, scope) */
};

/*
 * Trace callback: runs inside library calls (under internal locks); it must only record.
 */
typedef void (*prqd_trace_fn)(void *user, const struct prqd_trace_event *ev);

/* prqd_ctx_set_trace_fn - install (or remove with NULL) the trace sink. Call before opening
 * IOMMUs. Since: 0.1 */
void prqd_ctx_set_trace_fn(struct prqd_ctx *ctx, prqd_trace_fn fn, void *user);

/* prqd_trace_type_name - static name of an event type ("request", ...), or "?". Since: 0.1 */
const char *prqd_trace_type_name(uint32_t type);

/*
 * Chrome / Perfetto trace JSON writer. It formats events into JSON and hands the text to
 * @write in pieces; it never does I/O itself. Open the result in ui.perfetto.dev or
 * chrome://tracing.
 */
struct prqd_trace_json;
typedef int (*prqd_write_fn)(void *user, const char *buf, size_t len);

/* prqd_trace_json_new - start a writer (writes the opening of the document). Returns 0,
 * -ENOMEM or @write's error. Since: 0.1 */
int prqd_trace_json_new(struct prqd_ctx *ctx, prqd_write_fn write, void *user,
			struct prqd_trace_json **out);
/* prqd_trace_json_event - a prqd_trace_fn: pass the writer as its user pointer. Since: 0.1 */
void prqd_trace_json_event(void *writer, const struct prqd_trace_event *ev);
/* prqd_trace_json_finish - close the document and free the writer. Returns 0 or the first
 * error of @write seen during the writer's life. Since: 0.1 */
int prqd_trace_json_finish(struct prqd_trace_json *tw);

/* ------------------------------------------------------------------------------------------ */
/* IOMMU                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * prqd_iommu_open - bring up one IOMMU with a backend.
 * @backend: a name from prqd_backend_name(), or NULL: then PRQDRAIN_BACKEND (unless the ctx
 *           ignores the environment), else the first backend whose probe succeeds.
 * @platform: callbacks for this IOMMU (MMIO window, DMA memory, and the backend's data);
 *            NULL uses the context's. Must outlive the IOMMU.
 * @out: receives the IOMMU; the caller owns it and closes it with prqd_iommu_close().
 *
 * Returns 0, -ENOENT (no backend of that name), -ENODEV (no backend probed successfully, or
 * the backend found no usable hardware), -EOPNOTSUPP (hardware lacks page requests),
 * -ENOMEM, or the backend's error.
 * Since: 0.1
 */
int prqd_iommu_open(struct prqd_ctx *ctx, const char *backend, const struct prqd_platform *platform,
		    struct prqd_iommu **out);

/*
 * prqd_iommu_close - release an IOMMU. Every device must have been removed (-EBUSY
 * otherwise, nothing is released). Returns 0 or -EBUSY. Since: 0.1
 */
int prqd_iommu_close(struct prqd_iommu *iommu);

/* prqd_iommu_backend - the name of the backend driving @iommu. Since: 0.1 */
const char *prqd_iommu_backend(const struct prqd_iommu *iommu);

/*
 * prqd_iommu_process - consume up to @budget page requests from the hardware queue (0 means
 * "what is queued when the call starts", plus at most one batch, core.fetch_batch, of what
 * arrives meanwhile: a flood cannot keep the call going): assemble groups, hand complete ones
 * to handlers or answer them, and handle queue overflow. Call it from the page request
 * interrupt or a poll loop, again while it returns a full budget.
 * Only one thread consumes the queue at a time: a concurrent call waits for the other.
 * Handlers run inside this call. Blocks only on the queue lock, for at most one queue's worth
 * of requests of another consumer.
 * Returns the number of requests consumed (>= 0) or a negative errno from the backend.
 * Since: 0.1
 */
int prqd_iommu_process(struct prqd_iommu *iommu, unsigned budget);

/* Counters of one IOMMU. Monotonic; read with prqd_iommu_stats(). */
struct prqd_stats {
	uint64_t requests;         /* page requests read from the queue */
	uint64_t groups;           /* groups completed (Last seen) */
	uint64_t delivered;        /* groups handed to a handler */
	uint64_t responses[3];     /* responses sent, by enum prqd_resp */
	uint64_t by[PRQD_NR_RESPONDERS]; /* groups answered, by enum prqd_responder */
	uint64_t stop_markers;     /* stop markers seen (never answered) */
	uint64_t stop_markers_unexpected; /* ... for a PASID with no bond */
	uint64_t stop_markers_missing; /* unbinds with PRQD_UNBIND_STOP_MARKER that saw none */
	uint64_t bad_requests;     /* malformed requests (answered Invalid when Last) */
	uint64_t unknown_requester; /* requests from a requester ID with no device */
	uint64_t stale_groups;     /* groups completing for a bond generation no longer live */
	uint64_t partial_discarded; /* partial groups thrown away (overflow, drain) */
	uint64_t pool_exhausted;   /* requests dropped because the device's request pool was full */
	uint64_t late_responses;   /* handler answers swallowed (group answered already) */
	uint64_t bad_responses;    /* prqd_respond() refused (unknown group, bad code) */
	uint64_t overflows;        /* queue overflows acknowledged */
	uint64_t drains;           /* drains completed */
	uint64_t drain_timeouts;   /* drains that ran out of time */
	uint64_t drain_errors;     /* drains failed by the hardware (device-TLB timeout, ...) */
	uint64_t drain_steps;      /* hardware drain steps issued */
	uint64_t drain_repeats;    /* of those, repeated because of an overflow */
	uint64_t commands_queued;  /* commands (descriptors) the backend queued for drain steps */
	uint64_t doorbells;        /* doorbell (queue tail) writes for drain steps */
	uint64_t stale_requests;   /* requests read for a PASID that were queued before its
				    * current bond was bound (answered as having no bond) */
	uint64_t drain_reissues;   /* drain steps issued again after the hardware aborted one
				    * for another device's sake (counted in drain_steps too) */
	uint64_t stalls;           /* stall-style faults read (SMMUv3 stall model), each
				    * delivered as a one-request group and resumed or
				    * terminated once (counted in requests too) */
};

/*
 * prqd_iommu_stats - copy the counters into @out (@size = sizeof(*out) as the caller knows it;
 * fields past it are not written). Counters are read without a global lock and may be
 * mutually a little out of date under concurrency. Returns 0 or -EINVAL. Since: 0.1
 */
int prqd_iommu_stats(const struct prqd_iommu *iommu, struct prqd_stats *out, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Devices                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* What the library must know of a PCIe function (fillable from config space, see lib/linux). */
struct prqd_dev_info {
	uint32_t size;           /* sizeof(struct prqd_dev_info) as the caller knows it */
	uint16_t rid;            /* requester ID: bus << 8 | device << 3 | function */
	uint32_t pri_capacity;   /* PRI Outstanding Page Request Capacity (1 .. 2^32-1) */
	uint32_t pri_alloc;      /* Allocation programmed into the device; 0 means = capacity */
	bool prg_resp_pasid_required; /* PRI status "PRG Response PASID Required" */
	bool uses_stop_markers;  /* the device's stop-PASID mechanism sends Stop Markers */
	uint8_t pasid_width;     /* PASID capability Max PASID Width (0 = no PASID support) */
	uint16_t ats_queue_depth; /* ATS Invalidate Queue Depth (0 means 32) */
	/* Appended in 0.1: how the IOMMU names the function in its queues and commands, where
	 * that differs from the requester ID (SMMUv3 StreamID, AMD-Vi DeviceID, RISC-V IOMMU
	 * device_id). Without has_source_id (or with a @size that stops before it) the source
	 * ID is the requester ID, as on VT-d. */
	bool has_source_id;
	uint32_t source_id;
};

/*
 * prqd_dev_add - register a function with the IOMMU and attach it in the backend.
 * Allocates the device's request and group pools (sized from the allocation) here, so no
 * allocation happens per request later.
 * Returns 0, -EINVAL (bad info), -EEXIST (source ID already added), -ENOMEM, or the backend's error.
 * The device belongs to the IOMMU; remove it with prqd_dev_remove(). Since: 0.1
 */
int prqd_dev_add(struct prqd_iommu *iommu, const struct prqd_dev_info *info, struct prqd_dev **out);

/*
 * prqd_dev_remove - detach and free a device. Every bond must be unbound (-EBUSY otherwise).
 * Groups a handler still holds after a forced unbind are released here: their handles become
 * invalid. PASIDs quarantined by a forced unbind are freed with the device: their requests
 * then come from an unknown requester and are answered Invalid. Returns 0 or -EBUSY. Since: 0.1
 */
int prqd_dev_remove(struct prqd_dev *dev);

/* prqd_dev_rid - the device's requester ID. Since: 0.1 */
uint16_t prqd_dev_rid(const struct prqd_dev *dev);

/* ------------------------------------------------------------------------------------------ */
/* Bonds, groups, responses                                                                   */
/* ------------------------------------------------------------------------------------------ */

enum prqd_bond_state {
	PRQD_BOND_ACTIVE = 1,   /* groups go to the handler */
	PRQD_BOND_STOPPING = 2, /* stopped; groups answered Invalid; drain not (yet) complete */
	PRQD_BOND_DRAINING = 3, /* a drain is running */
	PRQD_BOND_STOPPED = 4,  /* drained: nothing of this bond remains in flight */
	PRQD_BOND_UNBINDING = 5, /* prqd_unbind() is running */
	PRQD_BOND_FREED = 6,    /* gone: the handle is dead */
};

/* prqd_bond_state_name - "active", "stopping", ... Since: 0.1 */
const char *prqd_bond_state_name(int state);

/* Generic response codes; each backend maps them to its own encoding. */
enum prqd_resp {
	PRQD_RESP_SUCCESS = 0, /* pages are there: the device retries translation */
	PRQD_RESP_INVALID = 1, /* will never succeed: the device gives the access up */
	PRQD_RESP_FAILURE = 2, /* unrecoverable: the function disables PRI. Never sent by the
				* library on its own. */
};

/* Handler return value meaning "I will answer later with prqd_respond()". */
#define PRQD_RESP_DEFER (-1)

/*
 * One page request of a group, as decoded by the backend. The library fills it and the
 * handler reads it (prqd_group_request()); @size is sizeof(struct prqd_request) as the
 * library knows it. Fields are only ever appended: a handler built against a newer header
 * reads a field only when @size reaches past it.
 */
struct prqd_request {
	uint32_t size;     /* set by the library */
	uint64_t addr;     /* page address (4 KiB aligned) */
	bool read, write, exec, priv;
	bool last;
	uint16_t prg_index;
	bool pasid_valid;
	uint32_t pasid;
	uint16_t rid;
	uint32_t source_id; /* the IOMMU's name of the requester (prqd_dev_info.source_id) */
	uint64_t priv_data[2]; /* private data, echoed in the response where the hardware does */
	bool priv_data_valid;
	/* A stall-style fault (SMMUv3 stall model), alone in its group: the IOMMU holds the
	 * transaction; answering Success resumes (retries) it, Invalid or Failure terminates it.
	 * The one response is sent as for any group. */
	bool stall;
};

/*
 * The fault handler. Called from prqd_iommu_process() (or a drain) with one complete group,
 * while the bond is ACTIVE. Return a prqd_resp code to answer now, or PRQD_RESP_DEFER and
 * answer later from any thread with prqd_respond(). The handler must not call
 * prqd_iommu_process(), prqd_drain*(), prqd_unbind(), prqd_bind() or prqd_dev_* on the same
 * IOMMU; it may call prqd_respond() and prqd_stop(). A handler that can take long should defer:
 * it runs in the thread that consumes the queue.
 */
typedef int (*prqd_handler_fn)(void *cookie, struct prqd_bond *bond, struct prqd_group *group);

#define PRQD_NO_PASID UINT32_MAX

/*
 * prqd_bind - bind (device, PASID) to a handler, starting ACTIVE with a new generation.
 * @pasid: the PASID (< 2^pasid_width), or PRQD_NO_PASID for requests without a PASID.
 * The new generation receives only requests queued after the bind: whatever the queue holds
 * for the PASID when it is bound was sent before, is answered Invalid and counted
 * (stats.stale_requests). A device must not use a PASID before it is bound.
 * If the PASID is quarantined (an earlier bond of it was unbound with PRQD_UNBIND_FORCE), the
 * bind first proves that generation's requests gone: a hardware drain of the PASID, or where
 * the IOMMU cannot drain, the Stop Marker that generation's device sent (read from the queue,
 * waited for when the device uses markers). Only then is the quarantine lifted. This is the one
 * case where bind blocks: up to core.drain_timeout_ms, polling with the platform's relax.
 * Locking: takes the device lock and briefly the queue lock (not across the drain).
 * Returns 0, -EINVAL (PASID out of range, NULL handler), -EEXIST (bound already, in any state
 * but FREED), -ENOMEM; for a quarantined PASID also -ETIMEDOUT or -EIO (the drain failed),
 * -EOPNOTSUPP (no hardware drain and no Stop Marker to stand in for it), -EBUSY (another
 * thread is lifting the quarantine): the PASID then stays quarantined and the bind may be
 * retried. The bond belongs to the device; end it with prqd_unbind(). Since: 0.1
 */
int prqd_bind(struct prqd_dev *dev, uint32_t pasid, prqd_handler_fn handler, void *cookie,
	      struct prqd_bond **out);

/* prqd_bond_state - the current state (enum prqd_bond_state). Since: 0.1 */
int prqd_bond_state(const struct prqd_bond *bond);
/* prqd_bond_gen - the bond's generation (unique per device and PASID). Since: 0.1 */
uint32_t prqd_bond_gen(const struct prqd_bond *bond);
/* prqd_bond_pasid - the PASID, or PRQD_NO_PASID. Since: 0.1 */
uint32_t prqd_bond_pasid(const struct prqd_bond *bond);
/* prqd_bond_dev - the device. Since: 0.1 */
struct prqd_dev *prqd_bond_dev(const struct prqd_bond *bond);
/* prqd_bond_outstanding - groups of the bond the handler holds, unanswered. Since: 0.1 */
unsigned prqd_bond_outstanding(const struct prqd_bond *bond);

enum prqd_stop_flags {
	/* Answer the groups the handler holds with Invalid now; its later answers are swallowed
	 * and counted (late_responses). Without it they keep the handler's one response. */
	PRQD_STOP_ABANDON = 1u << 0,
};

/*
 * prqd_stop - stop delivering: from now on every group of the bond is answered Invalid at once.
 * Never blocks on a handler or the hardware. Idempotent: a stopped, stopping or draining bond
 * returns 0 (PRQD_STOP_ABANDON still applies). Where the backend can gate page requests
 * (VT-d PRE bit) it does so.
 * Returns 0, -ESTALE (the bond is being unbound or freed), -EINVAL (unknown flag). Since: 0.1
 */
int prqd_stop(struct prqd_bond *bond, unsigned flags);

enum prqd_drain_flags {
	PRQD_DRAIN_ABANDON = 1u << 0, /* as PRQD_STOP_ABANDON, for groups still held */
};

/*
 * prqd_drain - make sure nothing the device issued for this bond before the call is left in
 * the fabric, the queue or the library. Stops the bond first if it is ACTIVE. Runs the
 * backend's hardware drain, consumes the queue up to the point it guarantees (answering this
 * bond's groups Invalid and serving other bonds normally), repeats while the queue overflowed,
 * waits until the handler answered every group it holds (or takes them back with
 * PRQD_DRAIN_ABANDON), and discards partial groups. The guarantee is for this call's start:
 * a STOPPED bond is drained again (the device may have sent more since the last drain).
 * Where the IOMMU cannot drain, a Stop Marker of the PASID already read (or queued now)
 * stands in for the hardware step: the device sent it after all its earlier requests.
 * Blocks, polling with the platform's relax, for at most @timeout_ms (0 = the parameter
 * core.drain_timeout_ms). Takes the queue lock one batch at a time.
 * Returns 0 (bond STOPPED), -ETIMEDOUT (bond left STOPPING; a hardware step still in flight
 * is kept and resumed by the next drain), -EIO (the hardware reported the device-TLB
 * invalidation failed; bond STOPPING), -EOPNOTSUPP (the backend cannot drain and no Stop
 * Marker was seen), -EBUSY (another drain or unbind of this bond is running), -ESTALE (bond
 * being unbound), -EINVAL (unknown flag). Since: 0.1
 */
int prqd_drain(struct prqd_bond *bond, unsigned flags, uint32_t timeout_ms);

/*
 * prqd_resume - STOPPED -> ACTIVE, same generation: for a driver that reset the device and
 * goes on with the PASID. The order that keeps the guarantee: stop the PASID at the device and
 * wait for the stop to complete, drain (a drain that starts after the stop completed), resume,
 * and only then let the device use the PASID again. A device restarted earlier may send a
 * request or Stop Marker that the drain does not cover (an old marker read later would pass
 * for the next stop's). Never blocks. Returns 0, -EINVAL (not STOPPED; ACTIVE returns 0),
 * -ESTALE. Since: 0.1
 */
int prqd_resume(struct prqd_bond *bond);

enum prqd_unbind_flags {
	/* The device stopped the PASID with a Stop Marker (the device must have
	 * uses_stop_markers). The drain runs as always; then, where the backend drains in
	 * hardware exactly (VT-d page-drain), a marker that was not read (lost in an overflow)
	 * is counted in stats.stop_markers_missing; where its drain is only a snapshot of the
	 * queue (SMMUv3) or it cannot drain, the marker is the proof and is waited for within
	 * the deadline, overflow or not (a dropped marker cannot be told from one
	 * still on its way): -ETIMEDOUT if it never comes. */
	PRQD_UNBIND_STOP_MARKER = 1u << 0,
	/* The device is gone (surprise removal) or beyond recovery: no drain and no waiting.
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
	/* The caller asserts the device stopped without markers and every group completed: no
	 * drain. What is queued when the call starts is read first (bounded: a flood of other
	 * requests does not hold the call), and a pending overflow is acknowledged (it may have
	 * dropped the Last of a group the device completed); refused with -EBUSY if the library
	 * then still holds any group of the bond, complete or partial, -ETIMEDOUT if the
	 * overflow could not be acknowledged within core.drain_timeout_ms. */
	PRQD_UNBIND_NO_DRAIN = 1u << 2,
};

/*
 * prqd_unbind - end a bond. Stops and drains it (also when STOPPED: the drain covers the
 * call's start; timeout core.drain_timeout_ms), answers Invalid every group the handler still
 * holds (its later answers are swallowed), and frees it. After it returns 0 the PASID can be
 * bound again and @bond is dead. Blocks, polling with the platform's relax, for at most
 * core.drain_timeout_ms (FORCE never blocks). Takes the device lock briefly, the queue lock
 * one batch at a time.
 * Returns 0, -ETIMEDOUT / -EIO (drain failed: the bond stays STOPPING and alive; retry, or
 * unbind with PRQD_UNBIND_FORCE), -EOPNOTSUPP (the backend cannot drain, e.g. VT-d without
 * page-drain support: nothing was changed but the stop; unbind with NO_DRAIN once the device
 * reported the stop complete, or with FORCE), -EBUSY (another drain/unbind is running, or
 * NO_DRAIN with groups outstanding), -ESTALE (already being unbound), -EINVAL (unknown or
 * conflicting flags, STOP_MARKER for a device without uses_stop_markers).
 * Since: 0.1
 */
int prqd_unbind(struct prqd_bond *bond, unsigned flags);

/*
 * Device-wide variants for FLR and error recovery: they act on every bond of the device,
 * RID-only included, with one hardware drain for the whole function. Same returns as the
 * per-bond calls. prqd_dev_unbind_all() applies prqd_unbind() with @flags to every bond and
 * returns the first error. Since: 0.1
 */
int prqd_dev_stop(struct prqd_dev *dev, unsigned flags);
int prqd_dev_drain(struct prqd_dev *dev, unsigned flags, uint32_t timeout_ms);
int prqd_dev_resume(struct prqd_dev *dev);
int prqd_dev_unbind_all(struct prqd_dev *dev, unsigned flags);

/*
 * prqd_respond - answer a group the handler deferred. Exactly one response reaches the
 * device per group; an answer for a group the library already answered (PRQD_STOP_ABANDON,
 * unbind) is swallowed, counted and returns -EALREADY; the group handle is then released.
 * Thread-safe; may be called from the handler itself.
 * Returns 0, -EALREADY (swallowed), -EINVAL (code not a prqd_resp; the group stays the
 * handler's), -ESTALE (the handle is not a group the handler holds: answered already), or the
 * backend's error (the group is then answered locally and released). Since: 0.1
 */
int prqd_respond(struct prqd_group *group, int code);

/* Group accessors, valid while the handler holds the group. Since: 0.1 */
unsigned prqd_group_count(const struct prqd_group *group);   /* requests in the group */
/* prqd_group_request - the @i-th request (the Last one is at count-1), or NULL. */
const struct prqd_request *prqd_group_request(const struct prqd_group *group, unsigned i);
struct prqd_bond *prqd_group_bond(const struct prqd_group *group);
uint16_t prqd_group_index(const struct prqd_group *group);

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_H */
