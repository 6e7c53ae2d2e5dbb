/* SPDX-License-Identifier: MIT */
/*
 * The private backend contract. A backend implements hardware steps; the core alone decides
 * their order (the state machine lives only in lib/). Each backend exports exactly one
 * `const struct prqd_backend prqd_backend_<name>` and is listed in lib/backends.c.
 *
 * All operations are optional: at open the core copies the backend's non-NULL operations over
 * a table of stubs returning -EOPNOTSUPP (lib/backend-stubs.c), so the core never tests for
 * NULL and a missing operation is a clean error.
 *
 * Locking as seen by a backend:
 *  - fetch, queue_tail, overflow_pending and overflow_ack run with the IOMMU's queue lock
 *    held (one consumer at a time);
 *  - respond may run in any thread, concurrently with everything else: the backend
 *    serialises its own submission path (VT-d: the invalidation queue);
 *  - drain_start / drain_poll / drain_release run without core locks, possibly concurrently
 *    for different devices or PASIDs; the backend serialises its own submission path;
 *  - init, fini, dev_attach, dev_detach, gate run with no concurrent call on the same device.
 * No operation may call back into the public API. Operations must not block beyond bounded
 * register polling: waiting is the core's job (drain_poll is polled).
 */
#ifndef PRQD_BACKEND_H
#define PRQD_BACKEND_H

#include "prqdrain.h"

struct prqd_iommu;

/* A decoded page request, plus its position in the queue. */
struct prqd_hw_req {
	struct prqd_request req;
	/* Queue position: strictly increasing across fetches of one IOMMU, never reused. */
	uint64_t seq;
	/* The backend found the entry malformed (reserved bits, impossible permissions): the
	 * core answers Invalid when Last and counts it. */
	bool malformed;
};

/* A response to send. The backend maps @code to its encoding explicitly. */
struct prqd_hw_resp {
	uint16_t rid;
	bool pasid_present; /* carry the PASID (device requires it and the request had one) */
	uint32_t pasid;
	uint16_t prg_index;
	uint8_t code; /* enum prqd_resp */
	bool priv_data_valid;
	uint64_t priv_data[2];
	uint64_t tag; /* the Last request's tag, for simulators */
};

/* Scope of a hardware drain. */
enum prqd_drain_scope {
	PRQD_SCOPE_PASID = 1, /* one PASID of a device */
	PRQD_SCOPE_RID = 2,   /* the device's requests without PASID */
	PRQD_SCOPE_DEVICE = 3, /* every PASID and the RID-only requests of a device */
};

/*
 * One hardware drain step in flight. The core allocates it (with drain_priv_size bytes for
 * the backend after it) and keeps it until drain_poll reported completion or failure, or
 * drain_release accepted it: a wait in flight is never forgotten, so a late completion
 * can't be mistaken for a newer one.
 */
struct prqd_hw_drain {
	uint32_t scope;  /* enum prqd_drain_scope */
	uint16_t rid;
	uint32_t pasid;
	void *dev_priv;  /* the backend's per-device data (from dev_attach) */
	/* Written by the backend when drain_poll returns 0: every request the device issued
	 * before drain_start is in the queue at a position < queue_mark, or was dropped by an
	 * overflow that overflow_pending reports. */
	uint64_t queue_mark;
	/* Counted by the backend at drain_start: descriptors queued, doorbell writes. */
	uint32_t descriptors, doorbells;
	unsigned char priv[]; /* drain_priv_size bytes for the backend */
};

/* Parameter descriptions a backend declares ("<backend>.<name>"). */
struct prqd_param_def {
	const char *name;
	const char *help;
	uint64_t def, min, max;
	const char *const *names; /* optional value names, NULL-terminated */
};

struct prqd_backend_ops {
	/* Is the hardware (or model) present? 0 yes, -ENODEV no. Called before init. */
	int (*probe)(const struct prqd_platform *plat);
	/* Bring the IOMMU up; @priv has priv_size zeroed bytes. Returns 0 or negative errno.
	 * Read parameters with prqd_iommu_param(). */
	int (*init)(struct prqd_iommu *iommu, void *priv);
	void (*fini)(struct prqd_iommu *iommu, void *priv);

	/* A device is added: allocate per-device state (return it in *dev_priv). */
	int (*dev_attach)(void *priv, const struct prqd_dev_info *info, void **dev_priv);
	void (*dev_detach)(void *priv, void *dev_priv);

	/* Stop (enable=false) or restart page requests of a PASID (or RID-only with
	 * PRQD_NO_PASID) at the IOMMU, where the hardware can. Optional: stub = -EOPNOTSUPP,
	 * which the core ignores (gating is an optimisation). */
	int (*gate)(void *priv, void *dev_priv, uint32_t pasid, bool enable);

	/* Read up to @max requests from the queue into @out, advancing the head.
	 * Returns the number read (0 = empty) or negative errno. */
	int (*fetch)(void *priv, struct prqd_hw_req *out, unsigned max);
	/* The queue position the next request will be written at: every request in the queue
	 * now has a seq below *pos. The core takes it when a PASID is bound (nothing queued
	 * before the bind may reach the new bond) and to bound "read what is there" loops.
	 * 0, or -EOPNOTSUPP (the core then knows only what it has read). */
	int (*queue_tail)(void *priv, uint64_t *pos);

	/* Send one group response. 0 or negative errno (the core then completes it locally). */
	int (*respond)(void *priv, void *dev_priv, const struct prqd_hw_resp *resp);

	/* Issue a hardware drain step (VT-d: fence wait, IOTLB and device-TLB invalidation, wait
	 * with page-drain, one doorbell). Returns 0 (issued), -EOPNOTSUPP (cannot drain), or
	 * negative errno (nothing in flight). */
	int (*drain_start)(void *priv, struct prqd_hw_drain *op);
	/* Poll a step: 0 complete (queue_mark set), -EINPROGRESS, or negative errno: the step
	 * failed (-EIO: device-TLB invalidation timed out) and nothing of it is in flight. */
	int (*drain_poll)(void *priv, struct prqd_hw_drain *op);
	/* The core gives up on a step (device gone). Returns 0 if nothing of it can write any
	 * more (the core frees it), -EBUSY if the hardware may still complete it (the core keeps
	 * it and asks again later). */
	int (*drain_release)(void *priv, struct prqd_hw_drain *op);

	/* Has the queue overflowed since the last acknowledge? 1 yes, 0 no, or negative errno. */
	int (*overflow_pending)(void *priv);
	/* Acknowledge the overflow. Called only when fetch just returned 0 (queue empty).
	 * Returns 0, or -EBUSY when the queue is not empty after all. */
	int (*overflow_ack)(void *priv);
};

enum prqd_backend_caps {
	PRQD_CAP_HW_DRAIN = 1u << 0,  /* drain_start is real */
	PRQD_CAP_GATE = 1u << 1,      /* gate is real */
	PRQD_CAP_PRIV_DATA = 1u << 2, /* responses echo private data */
};

struct prqd_backend {
	const char *name;
	const char *help;
	uint32_t caps;
	size_t priv_size;       /* per-IOMMU state, allocated zeroed by the core */
	size_t drain_priv_size; /* per drain step, after struct prqd_hw_drain */
	const struct prqd_param_def *params; /* NULL-name terminated, or NULL */
	struct prqd_backend_ops ops;
};

/* The ops table every backend's missing operations are filled from. */
extern const struct prqd_backend_ops prqd_backend_stub_ops;

/* Backends compiled in, in probing order; NULL-terminated. */
extern const struct prqd_backend *const prqd_backends[];

/* Helpers the core offers to backends. */
const struct prqd_platform *prqd_iommu_platform(const struct prqd_iommu *iommu);
struct prqd_ctx *prqd_iommu_ctx(const struct prqd_iommu *iommu);
/* The value of "<backend>.<name>" for this IOMMU (snapshot taken at open). */
uint64_t prqd_iommu_param(const struct prqd_iommu *iommu, const char *name);

#endif /* PRQD_BACKEND_H */
