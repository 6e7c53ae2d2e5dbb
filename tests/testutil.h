/* SPDX-License-Identifier: MIT */
/*
 * tests/testutil.h: shared helpers for the Check suites that test the core through a scripted
 * backend (check-api, check-state, check-prg, check-allocfail, ...).
 *
 *  - struct test_platform: a platform table over calloc/free that counts allocations, checks
 *    that free() gets the size alloc() was asked for, can fail the n-th allocation, and has a
 *    fake clock that only moves when the library relaxes (so every timeout is deterministic)
 *    with a hook to model things happening "during" a wait. Locks are pthread mutexes, or
 *    absent with TP_NO_LOCKS. Environment lookups come from fields of the struct.
 *  - test_backend: a backend named "script" whose queue the test fills directly (tq_push),
 *    which logs every response, gate and device attach, and whose drain steps complete after
 *    a number of polls, never, or fail, as the test says. Its state is struct test_iommu,
 *    the backend's private data (iommu->priv).
 *  - struct rec: a recording fault handler that answers with a fixed code or defers.
 *  - struct tw: a ready world (platform, context, IOMMU on test_backend) for one test.
 *
 * Everything is thread-safe where the concurrency tests need it (queue, logs, recorder);
 * the fake clock and the hooks are for single-threaded tests.
 */
#ifndef PRQD_TESTUTIL_H
#define PRQD_TESTUTIL_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/private.h"

/* ---- platform ---------------------------------------------------------------------------- */

enum tp_flags {
	TP_NO_LOCKS = 1u << 0, /* no lock callbacks: the freestanding single-threaded mode */
};

struct test_platform {
	struct prqd_platform p;
	pthread_mutex_t mu; /* guards the allocation counters */

	/* allocation accounting */
	uint64_t allocs;     /* successful allocations */
	uint64_t frees;
	uint64_t live;       /* allocations not freed yet */
	uint64_t live_bytes;
	uint64_t attempts;   /* alloc() calls, failed ones included */
	uint64_t fail_at;    /* attempt number (1-based, counted from tp_fail_nth) that fails */
	uint64_t fail_base;
	uint64_t failed;     /* allocations refused on purpose */
	uint64_t bad_frees;  /* free() with a size different from alloc's, or a bad pointer */
	uint64_t zero_size;  /* alloc(0) calls */
	uint64_t lock_inits; /* lock_init calls */
	uint64_t lock_fail_at; /* lock_init call number (1-based) that fails with -EAGAIN */
	uint64_t locks_live;

	/* fake clock: moves by step_ns per relax() call, never by itself */
	_Atomic uint64_t now_ns;
	uint64_t step_ns;
	atomic_uint_least64_t relax_calls;
	void (*relax_hook)(void *arg); /* run after the clock moved, without library locks */
	void *hook_arg;
	bool in_hook;

	/* environment */
	const char *env_log;     /* PRQDRAIN_LOG */
	const char *env_backend; /* PRQDRAIN_BACKEND */
	atomic_uint env_lookups;
};

void tp_init(struct test_platform *tp, unsigned flags);
void tp_fini(struct test_platform *tp);
/* The n-th allocation attempt from now (1-based) fails; 0 disarms. */
void tp_fail_nth(struct test_platform *tp, uint64_t n);
uint64_t tp_live(struct test_platform *tp);
uint64_t tp_attempts(struct test_platform *tp);
void tp_set_hook(struct test_platform *tp, void (*hook)(void *arg), void *arg);

/* ---- the scripted backend --------------------------------------------------------------- */

#define TQ_CAP 16384u    /* ring size; `limit` models a smaller hardware queue */
#define TB_MAX_GATES 1024u
#define TB_MAX_DEVS 64u
#define TB_GATE_RID 4096u /* gate_last[] slot of RID-only requests */

enum td_mode {
	TD_COMPLETE = 0, /* drain_poll completes after `drain_polls` polls (0 = at the first) */
	TD_NEVER,        /* drain_poll stays -EINPROGRESS */
	TD_EIO,          /* drain_poll fails with -EIO after `drain_polls` polls */
};

/* One response the backend was asked to send. */
struct test_resp {
	struct prqd_hw_resp r;
	void *dev_priv;
	int result; /* what respond() returned */
};

struct test_gate {
	uint16_t rid;
	uint32_t pasid;
	bool enable;
};

/* The backend's per-device record (dev_priv), allocated through the platform. */
struct test_dev {
	uint32_t magic;
	uint16_t rid;
	struct prqd_dev_info info;
	atomic_int in_gate; /* gate calls running on this device */
};
#define TEST_DEV_MAGIC 0x7e57de11u

/* Per drain step (op->priv). */
struct test_op {
	uint32_t id;
	uint32_t polls;
	bool inflight;
};

struct test_iommu {
	pthread_mutex_t mu;
	struct prqd_iommu *iommu;
	bool inited;

	/* queue: entries with seq in [head, tail) */
	struct prqd_hw_req *q;
	uint64_t head, tail;
	unsigned limit;       /* entries the queue holds; a push beyond it overflows */
	bool overflow;        /* overflow flag (raised by a full push or by the test) */
	uint64_t dropped;     /* pushes lost to a full queue */
	uint64_t dropped_last; /* of those, Last requests (auto-answered by "hardware") */
	unsigned overflow_acks, overflow_ack_refused;
	unsigned ack_refuse;  /* refuse this many more acknowledges (-EBUSY) even when empty */
	int fetch_err;        /* fetch returns this when non-zero */
	/* Called (without the backend lock) at the start of every fetch. */
	void (*fetch_hook)(struct test_iommu *t, void *arg);
	void *fetch_hook_arg;
	uint64_t fetched;
	unsigned fetch_calls;

	/* responses (grown with realloc; plain libc, not the platform's allocator) */
	struct test_resp *log;
	size_t nlog, caplog;
	int respond_err;     /* respond returns this when non-zero (logged with it) */

	/* stalls resumed or terminated (stall_resume), in call order */
	struct prqd_hw_stall_resp stall_log[256];
	unsigned nstall;     /* calls; the first 256 are in stall_log[] */
	int stall_err;       /* stall_resume returns this when non-zero */

	/* drain steps */
	int drain_mode;      /* enum td_mode */
	unsigned drain_polls; /* polls before completion / failure */
	int drain_start_err; /* drain_start returns this when non-zero */
	bool mark_fixed;     /* queue_mark = mark instead of the tail at completion */
	uint64_t mark;
	bool release_busy;   /* drain_release refuses (-EBUSY) steps still in flight */
	unsigned drain_aborts; /* the next this many steps that come due report -EAGAIN */
	unsigned drain_aborted;
	unsigned drain_starts, drain_poll_calls, drain_completed, drain_failed;
	unsigned drain_releases, drain_release_refused;
	unsigned inflight;   /* steps started and neither completed, failed nor released */
	uint32_t last_scope;
	uint16_t last_rid;
	uint32_t last_source_id;
	uint32_t last_pasid;
	void *last_dev_priv;
	unsigned scope_count[4];
	/* Called (without the backend lock) at every drain_poll, before it decides. */
	void (*poll_hook)(struct test_iommu *t, struct prqd_drain_step *op, void *arg);
	void *poll_hook_arg;

	/* devices */
	unsigned attached, detached;
	int attach_err;      /* dev_attach returns this when non-zero */
	uint16_t attach_rids[TB_MAX_DEVS];
	unsigned nattach_rids;

	/* gating */
	struct test_gate gates[TB_MAX_GATES];
	unsigned ngates;         /* calls; the first TB_MAX_GATES are in gates[] */
	/* The last gate call per PASID of the first device attached (index TB_GATE_RID for
	 * RID-only): 0 none yet, 1 enabled, 2 disabled. */
	uint8_t gate_last[TB_GATE_RID + 1];
	int gate_err;        /* gate returns this when non-zero (default: real gating) */
	/* Called (without the backend lock, not nested) at every gate call before it is
	 * recorded: models another thread running between the core's decision and the
	 * hardware write. */
	void (*gate_hook)(struct test_iommu *t, uint32_t pasid, bool enable, void *arg);
	void *gate_hook_arg;
	bool in_gate_hook;
	/* The contract: gate runs with no concurrent call on the same device. Overlapping
	 * gate calls seen (each call yields the CPU once to make overlaps visible). */
	atomic_uint gate_overlaps;

	unsigned fini_calls;
};

extern const struct prqd_backend test_backend;
/* What the next init of test_backend reports (then back to the default: every cap, drain
 * level exact). Set it right before opening an IOMMU that should differ. */
extern struct prqd_be_caps tb_init_caps;

/* The backend state behind an IOMMU opened on test_backend. */
struct test_iommu *tb_of(struct prqd_iommu *iommu);

/* Push a request; returns its queue position (seq) or -ENOSPC (queue full: overflow raised,
 * the request dropped). Its backend tag (prqd_hw_req.tag) is seq + 1 (unique per IOMMU), or
 * @tag with tq_push_tagged(). */
int64_t tq_push(struct test_iommu *t, struct prqd_request r);
int64_t tq_push_tagged(struct test_iommu *t, struct prqd_request r, uint64_t tag);
/* Push a stall-style fault (prqd_hw_req.stall) with @stall_tag. */
int64_t tq_push_stall(struct test_iommu *t, struct prqd_request r, uint32_t stall_tag);
int64_t tq_push_malformed(struct test_iommu *t, struct prqd_request r);
unsigned tq_pending(struct test_iommu *t);
void tq_raise_overflow(struct test_iommu *t);
uint64_t tq_tail(struct test_iommu *t);

/* Response log. */
size_t tl_count(struct test_iommu *t);
struct test_resp tl_get(struct test_iommu *t, size_t i);
/* Responses whose tag is @tag. */
unsigned tl_count_tag(struct test_iommu *t, uint64_t tag);
/* Responses to (rid, pasid or PRQD_NO_PASID, index) as encoded in the request. */
unsigned tl_count_for(struct test_iommu *t, uint16_t rid, uint16_t index);

/* Gates. */
unsigned tg_count(struct test_iommu *t, uint32_t pasid, bool enable);

/* ---- requests ---------------------------------------------------------------------------- */

/* A read request; @pasid PRQD_NO_PASID for none. */
struct prqd_request rq(uint16_t rid, uint32_t pasid, uint16_t index, bool last, uint64_t addr);
/* A stop marker (Last, R=W=0) for @pasid (PRQD_NO_PASID gives the same encoding without one). */
struct prqd_request rq_marker(uint16_t rid, uint32_t pasid, uint16_t index);
/* Push a whole group of @n requests (addresses addr, addr+4K, ...); returns the Last's tag. */
uint64_t tq_group(struct test_iommu *t, uint16_t rid, uint32_t pasid, uint16_t index, unsigned n,
		  uint64_t addr);

/* ---- the recording handler ---------------------------------------------------------------- */

#define REC_MAX 8192u
#define REC_ADDRS 8u
#define REC_KEEP (-100)

struct rec_group {
	struct prqd_group *g;
	struct prqd_bond *bond;
	uint32_t gen;
	unsigned count;
	uint16_t index;
	bool pasid_valid;
	uint32_t pasid;
	uint16_t rid;
	uint64_t tag; /* the Last's */
	bool last_at_end; /* request count-1 is the Last, no other is */
	uint64_t addrs[REC_ADDRS];
	bool priv_data_valid;
	uint64_t priv_data[2];
};

struct rec {
	pthread_mutex_t mu;
	int code;             /* what the handler returns (a prqd_resp or PRQD_RESP_DEFER) */
	unsigned defer_every; /* if non-zero, defer every defer_every-th call instead */
	unsigned calls;
	struct rec_group groups[REC_MAX];
	unsigned n;
	struct prqd_group *deferred[REC_MAX];
	unsigned ndeferred;
	/* Optional: called inside the handler after recording (may call prqd_respond/stop);
	 * returns the code to return instead, or REC_KEEP. */
	int (*inner)(struct rec *r, struct prqd_bond *bond, struct prqd_group *g);
	void *arg;
};

void rec_init(struct rec *r, int code);
void rec_fini(struct rec *r);
int rec_handler(void *cookie, struct prqd_bond *bond, struct prqd_group *g);
/* Take the oldest deferred group (NULL if none). */
struct prqd_group *rec_pop_deferred(struct rec *r);
/* Answer every deferred group with @code; returns how many returned 0. */
unsigned rec_answer_all(struct rec *r, int code);

/* ---- backends ------------------------------------------------------------------------------ */

/* The backends the library lists (prqd_backend_name()), never a hard-coded list, whose
 * hardware the simulated world has (their probe answers on its platform): every one of them
 * runs on the simulated world. The count is at least 1. */
unsigned tu_backend_count(void);
const char *tu_backend(unsigned i);

/* ---- pseudo-random numbers ---------------------------------------------------------------- */

/* xorshift32: the next number of the sequence whose state (never 0) is *@state. */
uint32_t xorshift(uint32_t *state);

/* ---- a ready world ----------------------------------------------------------------------- */

struct tw {
	struct test_platform tp;
	struct prqd_ctx *ctx;
	struct prqd_iommu *iommu;
	struct test_iommu *t;
};

enum tw_flags {
	TW_NO_LOCKS = TP_NO_LOCKS,
	TW_NO_OPEN = 1u << 8, /* context only */
};

/* Context (PRQD_CTX_IGNORE_ENV) on the test platform, IOMMU on test_backend. Asserts. */
void tw_setup(struct tw *w, unsigned flags);
/* Open the IOMMU after tw_setup(TW_NO_OPEN) (for parameter tests). Asserts. */
void tw_open(struct tw *w);
/* Close everything and assert no allocation is live. Devices must be removed already. */
void tw_teardown(struct tw *w);

/* A device with defaults: capacity 64, PASID width 20, PASID required, stop markers. */
struct prqd_dev_info tw_info(uint16_t rid);
struct prqd_dev *tw_dev(struct tw *w, uint16_t rid);
struct prqd_bond *tw_bind(struct prqd_dev *dev, uint32_t pasid, struct rec *r);

/* Counters. */
struct prqd_stats tw_stats(struct tw *w);

/* Process the whole queue; returns the number consumed. */
int tw_process(struct tw *w);

/* ---- scenario runs ---- */

struct scn_result;
/* @sub under the source tree: $top_srcdir (or $srcdir, or .)/@sub. The result is in a static
 * buffer, valid until the next call. */
const char *source_dir(const char *sub);
/* The directory of the example scenarios: source_dir("examples/scenarios"). The regression
 * scenarios, one per bug found, are in source_dir("tests/scenarios"). */
const char *scenario_dir(void);
/* Assert that two scenario runs print byte-identical summaries (determinism). */
void assert_same_summary(const struct scn_result *a, const struct scn_result *b);

#endif /* PRQD_TESTUTIL_H */
