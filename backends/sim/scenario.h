/* SPDX-License-Identifier: MIT */
/*
 * Scenarios for the simulator: a text file in the format of docs/scenario-format.md, or a
 * random workload generated from a seed, and the runner that plays one against libprqdrain on
 * a simulated world while the checker watches the wire.
 *
 * Internal to the project, like sim.h: prqdrain-sim and the tests link it. A parsed or
 * generated scenario is plain data (struct scn below), so a test can also build one in C with
 * the scn_add_* helpers, or print one back as text with scn_write() to keep a failing random
 * seed as a regression file.
 *
 * Typical use (a test):
 *
 *	struct scn *s;
 *	struct scn_result res;
 *	char err[256];
 *	if (scn_load_file("examples/scenarios/flr.scn", &s, err, sizeof(err)) < 0)
 *		fail("%s", err);                     // "flr.scn:12: expected ..."
 *	if (scn_run(s, NULL, &res) < 0)
 *		fail("%s", res.error);               // setup failed (unknown param, ...)
 *	ck_assert(scn_result_passed(&res));          // no violation, every expectation held
 *	scn_free(s);
 *
 * Nothing here has global state; every function is reentrant. A scenario is not modified by
 * scn_run(), so one parsed scenario can be run many times (with different seeds).
 */
#ifndef PRQD_SCENARIO_H
#define PRQD_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim.h"

#define SCN_NAME_MAX 31     /* device and bond names: [A-Za-z0-9_-], 1..31 characters */
#define SCN_PARAM_MAX 63    /* parameter names and values */
#define SCN_KEY_MAX 63      /* expectation keys */
#define SCN_FILE_MAX 127    /* the file name kept for messages (longer ones are cut) */
#define SCN_LINE_MAX 1024   /* longest line the parser accepts, without the newline */
#define SCN_EXPECT_ALT 4    /* alternatives in an op's expect=A|B|... */

/* ---- the scenario ------------------------------------------------------------------------ */

/* What a bond's fault handler does with each group it receives. */
enum scn_handler_kind {
	SCN_HANDLER_SUCCESS = 0, /* answers Success at once */
	SCN_HANDLER_INVALID,     /* answers Invalid at once */
	SCN_HANDLER_FAILURE,     /* answers Failure at once (the device then disables PRI) */
	SCN_HANDLER_DEFER,       /* defers; answers @code after @delay_ns of simulated time */
	SCN_HANDLER_NEVER,       /* defers and answers only on a respond-deferred operation */
};

struct scn_handler {
	uint8_t kind;      /* enum scn_handler_kind */
	uint8_t code;      /* SCN_HANDLER_DEFER: the enum prqd_resp code sent later */
	uint64_t delay_ns; /* SCN_HANDLER_DEFER */
};

struct scn_device {
	char name[SCN_NAME_MAX + 1];
	/* Complete: scn_device_init() fills the format's defaults, which are the scenario's
	 * own (documented) and do not follow sim_dev_cfg_default(). */
	struct sim_dev_cfg cfg;
	unsigned line; /* where it was declared; 0 when generated */
};

struct scn_bond {
	char name[SCN_NAME_MAX + 1];
	unsigned dev;               /* index into scn.devices */
	uint32_t pasid;             /* or PRQD_NO_PASID */
	struct scn_handler handler;
	bool bound;                 /* bound at time 0; else its first `bind` op binds it */
	unsigned line;
};

enum scn_op_kind {
	SCN_OP_FAULT = 0,        /* start a traffic generator (bond's or device's PASID) */
	SCN_OP_DEVICE_STOP,      /* sim_dev_stop_pasid (with or without a Stop Marker) */
	SCN_OP_DEVICE_START,     /* sim_dev_start_pasid */
	SCN_OP_WAIT_STOPPED,     /* block until sim_dev_pasid_stopped (or timeout) */
	SCN_OP_STOP,             /* prqd_stop */
	SCN_OP_DRAIN,            /* prqd_drain */
	SCN_OP_RESUME,           /* prqd_resume */
	SCN_OP_UNBIND,           /* prqd_unbind */
	SCN_OP_BIND,             /* prqd_bind again: a new generation */
	SCN_OP_DEV_STOP,         /* prqd_dev_stop */
	SCN_OP_DEV_DRAIN,        /* prqd_dev_drain */
	SCN_OP_DEV_RESUME,       /* prqd_dev_resume */
	SCN_OP_DEV_UNBIND,       /* prqd_dev_unbind_all with PRQD_UNBIND_FORCE */
	SCN_OP_FLR,              /* sim_dev_flr */
	SCN_OP_REMOVE,           /* sim_dev_remove (surprise removal) */
	SCN_OP_RESPOND_DEFERRED, /* answer every group the bond's handler holds, now */
	SCN_OP_PROCESS,          /* prqd_iommu_process, once, outside the poll loop */
	SCN_OP_OVERFLOW,         /* sim_iommu_overflow_now: the queue overflows now */
	SCN_OP_NR
};

enum scn_op_flags {
	SCN_F_ABANDON = 1u << 0,     /* stop, drain, dev-stop, dev-drain: ..._ABANDON */
	SCN_F_STOP_MARKER = 1u << 1, /* unbind: PRQD_UNBIND_STOP_MARKER */
	SCN_F_FORCE = 1u << 2,       /* unbind: PRQD_UNBIND_FORCE */
	SCN_F_NO_DRAIN = 1u << 3,    /* unbind: PRQD_UNBIND_NO_DRAIN */
	SCN_F_MARKER = 1u << 4,      /* device-stop: send a Stop Marker */
};

struct scn_op {
	uint64_t at_ns;        /* when it is due (simulated) */
	uint8_t kind;          /* enum scn_op_kind */
	bool on_device;        /* fault: @target is a device and @pasid says which PASID */
	unsigned target;       /* bond index; device index for dev-*, flr, remove, on_device */
	uint32_t flags;        /* enum scn_op_flags */
	uint32_t pasid;        /* fault on a device: PASID or PRQD_NO_PASID */
	uint32_t pages;        /* fault: pages per group (1..512) */
	uint32_t count;        /* fault: groups to send */
	uint64_t every_ns;     /* fault: time between groups (and between -EAGAIN retries) */
	uint64_t addr;         /* fault: first page address; 0 = derived from the target */
	uint8_t access;        /* fault: enum sim_access bits */
	uint64_t timeout_ns;   /* drain, dev-drain (0 = core.drain_timeout_ms), wait-stopped */
	uint32_t budget;       /* process (0 = until empty) */
	int8_t code;           /* respond-deferred: enum prqd_resp, or -1 = the handler's */
	uint8_t nexpect;       /* accepted results in @expect; 0 = any result */
	int expect[SCN_EXPECT_ALT]; /* 0 or negative errno */
	unsigned line;
};

enum scn_cmp { SCN_EQ = 0, SCN_NE, SCN_LT, SCN_LE, SCN_GT, SCN_GE };

/* Where a counter named by an expectation key lives (filled by key resolution). */
enum scn_src {
	SCN_SRC_RESULT = 0, /* a field of struct scn_result */
	SCN_SRC_DEVICE,     /* a field of struct sim_dev_stats of device @index */
	SCN_SRC_BOND,       /* a field of struct scn_bond_counters of bond @index */
};

/* A resolved key: @width bytes (1 = bool, 4, 8) at @offset of the source struct. */
struct scn_ref {
	uint8_t src; /* enum scn_src */
	uint8_t width;
	uint16_t offset;
	uint32_t index;
};

/* `expect KEY CMP VALUE`, where VALUE is a constant or (rhs_is_key) another key. */
struct scn_expect {
	char key[SCN_KEY_MAX + 1];
	uint8_t cmp;       /* enum scn_cmp */
	bool rhs_is_key;
	uint64_t value;    /* the constant */
	char rhs_key[SCN_KEY_MAX + 1];
	struct scn_ref lhs, rhs;
	unsigned line;
};

struct scn_param {
	char name[SCN_PARAM_MAX + 1];
	char value[SCN_PARAM_MAX + 1];
	unsigned line;
};

/* Settings of the simulated fabric; a field is used only when its bit is in @set. */
enum scn_fabric_bits {
	SCN_FABRIC_LAT = 1u << 0,   /* lat_min_ns, lat_max_ns */
	SCN_FABRIC_RESP = 1u << 1,  /* resp_lat_ns */
	SCN_FABRIC_RELAX = 1u << 2, /* relax_step_ns */
};

struct scn {
	char file[SCN_FILE_MAX + 1]; /* for messages */
	uint64_t seed;
	uint64_t poll_ns;   /* how often the runner calls prqd_iommu_process (default 2 us) */
	uint64_t limit_ns;  /* the run never goes past this simulated time (default 1 s) */
	uint64_t settle_ns; /* quiet time after the last activity before the end (default 50 us) */
	struct {
		unsigned set;
		uint64_t lat_min_ns, lat_max_ns, resp_lat_ns, relax_step_ns;
	} fabric;
	/* `platform pasid-entries`: the world's platform supplies pasid_entry_set_present
	 * (sim_config.pasid_entries), so the vtd backend gates at the IOMMU. */
	bool pasid_entries;
	struct scn_param *params;
	struct scn_device *devices;
	struct scn_bond *bonds;
	struct scn_op *ops;         /* in file order; events due at one time run in this order */
	struct scn_expect *expects;
	unsigned nparams, ndevices, nbonds, nops, nexpects;
	unsigned cap_params, cap_devices, cap_bonds, cap_ops, cap_expects; /* private */
};

/*
 * scn_parse - parse a scenario from @text (@len bytes, any bytes: NUL, no final newline and
 * overlong lines are reported, never read past). @filename names the text in messages.
 * On error returns -EINVAL (or -ENOMEM) and writes one line to @err (if @errlen > 0), of the
 * form "FILE:LINE: what was expected, got `what`". On success *out owns a new scenario.
 */
int scn_parse(const char *text, size_t len, const char *filename, struct scn **out, char *err,
	      size_t errlen);

/* scn_load_file - read @path and scn_parse() it; also -errno from opening or reading. */
int scn_load_file(const char *path, struct scn **out, char *err, size_t errlen);

/* scn_write - print @s in the text format; scn_parse() of the output gives the same scenario.
 * Returns 0 or -EIO. */
int scn_write(FILE *f, const struct scn *s);

void scn_free(struct scn *s);

/* scn_equal - whether @a and @b mean the same run: every field a run reads, not the file name
 * nor line numbers. When not, the first difference goes to @why (if @whylen > 0). */
bool scn_equal(const struct scn *a, const struct scn *b, char *why, size_t whylen);

/* scn_check_round_trip - write @s, parse the text (under @s's file name), compare with @s
 * (scn_equal), write the copy and compare the two texts byte for byte. Returns 0, -EPROTO
 * (the round trip broke: what broke in @why), -ENOMEM, -EIO. */
int scn_check_round_trip(const struct scn *s, char *why, size_t whylen);

/* Building a scenario in C (the generator and tests use these; the parser too).
 * scn_new: an empty scenario with the defaults above. The scn_add_* helpers check names
 * (unique across devices and bonds), indexes and ranges, copy the struct, and return its
 * index or -EINVAL / -EEXIST / -ENOMEM. */
int scn_new(const char *filename, struct scn **out);
void scn_device_init(struct scn_device *d, const char *name, uint16_t rid);
void scn_op_init(struct scn_op *op, enum scn_op_kind kind, uint64_t at_ns, unsigned target);
int scn_add_param(struct scn *s, const char *name, const char *value, unsigned line);
int scn_add_device(struct scn *s, const struct scn_device *d);
int scn_add_bond(struct scn *s, const struct scn_bond *b);
int scn_add_op(struct scn *s, const struct scn_op *op);
/* Resolves @key (and @rhs_key); an unknown key is -ENOENT with the reason in @err.
 * scn_add_expect compares with a constant, scn_add_expect_key with another counter. */
int scn_add_expect(struct scn *s, const char *key, enum scn_cmp cmp, uint64_t value,
		   unsigned line, char *err, size_t errlen);
int scn_add_expect_key(struct scn *s, const char *key, enum scn_cmp cmp, const char *rhs_key,
		       unsigned line, char *err, size_t errlen);
/* The index of a device or bond named @name, or -1. */
int scn_find_device(const struct scn *s, const char *name);
int scn_find_bond(const struct scn *s, const char *name);

/* Names used in the text format (static strings). */
const char *scn_op_name(unsigned kind);
/* scn_op_has_target - whether @op names a bond or a device (process and overflow do not). */
bool scn_op_has_target(const struct scn_op *op);
/* scn_op_on_device - whether @op's target indexes devices (else bonds). */
bool scn_op_on_device(const struct scn_op *op);
const char *scn_errno_name(int err); /* "0", "ETIMEDOUT", ... for 0 and -PRQD_E* values */

/* ---- random workloads -------------------------------------------------------------------- */

enum scn_inject {
	SCN_INJECT_ATC_SLOW = 1u << 0,        /* one device's ATC answers 100x slower */
	SCN_INJECT_ATC_NEVER = 1u << 1,       /* one device's ATC never answers: drains time out,
					       * then a forced unbind */
	SCN_INJECT_REMOVAL = 1u << 2,         /* one device is surprise-removed mid-run */
	SCN_INJECT_FLR = 1u << 3,             /* one device gets dev-stop, dev-drain, FLR, resume */
	SCN_INJECT_MARKER = 1u << 4,          /* devices stop PASIDs with Stop Markers */
	SCN_INJECT_HANDLER_FAILURE = 1u << 5, /* one bond's handler answers Failure */
	SCN_INJECT_DEFER = 1u << 6,           /* handlers defer their answers */
	SCN_INJECT_MISBEHAVE = 1u << 7,       /* one device breaks the PRI rules now and then */
};

struct scn_workload {
	uint64_t seed;
	unsigned devices;        /* 1..256 (default 2) */
	unsigned pasids;         /* bonds per device, 1..4096 (default 4) */
	uint64_t requests;       /* page requests in total, 1..10^8 (default 2000) */
	unsigned teardown_rate;  /* permille of bonds torn down and bound again (default 250) */
	bool overflow;           /* a small queue and device capacities that sum past it */
	uint32_t inject;         /* enum scn_inject */
	/* Explore the parameter space as well: the seed also chooses the sizes above, the
	 * injections, library and model parameters (page-drain on or off, ITE time-out, queue,
	 * pool and batch sizes, drain deadlines, overflow response) and each teardown's way
	 * (unbind, stop-marker, no-drain, force then rebind, force with no-drain, drain twice
	 * and resume). The other fields are then ignored. */
	bool explore;
};

/* scn_workload_default - the defaults above, seed 1, nothing injected. */
void scn_workload_default(struct scn_workload *w);
/* scn_inject_parse - "atc-slow,defer,..." into enum scn_inject bits; -EINVAL naming the bad
 * word in @err. */
int scn_inject_parse(const char *list, uint32_t *out, char *err, size_t errlen);
/* scn_generate - a random scenario for @opts (same opts, same scenario), driving devices the
 * way a driver would (device-stop, wait, unbind, bind again); its expectation is no checker
 * violation. Returns 0, -EINVAL (opts out of range), -ENOMEM. */
int scn_generate(const struct scn_workload *opts, struct scn **out);

/* ---- running ----------------------------------------------------------------------------- */

/* Where a run is, for a progress display. The work is the page requests the `fault`
 * operations plan plus the operations: done counts requests sent or given up (a generator
 * that ended early) and operations run. */
struct scn_progress {
	uint64_t done, total;
	uint64_t now_ns;          /* simulated time */
	const char *waiting_for;  /* while a library call blocks: "drain wq", "end of run: unbind
				   * wq", ...; NULL otherwise. Valid during the call only. */
	bool finished;            /* the last call of the run: done == total */
};

struct scn_run_opts {
	const char *backend;          /* NULL: "sim" */
	const char *const *params;    /* "NAME=VALUE" strings applied after the scenario's */
	unsigned nparams;
	bool seed_set;                /* use @seed instead of the scenario's */
	uint64_t seed;
	FILE *trace;                  /* if set: Perfetto / Chrome trace JSON of the run */
	FILE *log;                    /* if set: the library's log, at @log_prio */
	int log_prio;
	/* Called now and then while the run goes on, also while a library call blocks, and
	 * once more at the end with done == total (for a progress display). */
	void (*progress)(void *user, const struct scn_progress *p);
	void *progress_user;
};

#define SCN_MAX_MESSAGES 16
#define SCN_MAX_VIOLATIONS 8
#define SCN_MESSAGE_LEN 200

/* Counters the runner keeps per bond name (all generations). */
struct scn_bond_counters {
	uint64_t delivered; /* groups its handler received */
	uint64_t binds;     /* successful prqd_bind calls */
	uint64_t deferred;  /* groups its handler deferred */
};

struct scn_result {
	uint64_t seed;
	char backend[32];
	uint64_t end_ns;             /* simulated time at the end of the run (the world idle) */
	uint64_t last_event_ns;      /* the end of the last library call that acted: the run's length */

	struct prqd_stats stats;     /* the library's counters, read before closing the IOMMU */
	struct sim_iommu_stats iommu;
	struct sim_alloc_stats alloc; /* after everything was closed */
	struct {                     /* all devices together */
		uint64_t groups_sent, requests_sent, stop_markers_sent;
		uint64_t responses[3], auto_responses, stale_responses, unexpected_index;
		uint32_t response_failure; /* devices with Response Failure set */
	} dev;
	struct {
		uint64_t planned;  /* page requests the fault ops asked for */
		uint64_t groups, requests; /* sent by the generators */
		uint64_t eagain;   /* tries refused with -EAGAIN (retried) */
		uint64_t refused;  /* generators ended early (-ESHUTDOWN: stopped, removed, RF) */
	} traffic;
	struct {                     /* prqd_respond() from deferred answers, by result */
		uint64_t ok, already, stale, error;
	} respond;
	struct {                     /* drains that returned 0: drain, dev-drain, unbind */
		uint64_t count, p50_ns, p99_ns, max_ns;
	} drain;
	struct {
		uint64_t unbinds;    /* bonds the runner unbound at the end */
		uint64_t forced;     /* of which with PRQD_UNBIND_FORCE */
		bool idle;           /* the world ran out of events before the bound */
	} finish;

	/* Checker verdict. */
	uint32_t violations;
	uint32_t violations_by_kind[SIM_V_NR];
	uint32_t nviolation;         /* kept below (the first ones) */
	struct sim_violation violation[SCN_MAX_VIOLATIONS];

	/* Expectations: the file's `expect` lines. Checks: each operation's result against its
	 * expect= list (or success), the binds, the runner's end-of-run unbinds, operations the
	 * run never reached. Messages of the first failures of either. */
	uint32_t expectations, expectations_failed;
	uint32_t checks, checks_failed;
	uint32_t nmessage;
	char message[SCN_MAX_MESSAGES][SCN_MESSAGE_LEN];

	char error[256];             /* why scn_run() failed, when it returns < 0 */
};

/*
 * scn_run - play @s on a new simulated world and fill @res (zeroed first).
 * Returns 0 when the run took place (whatever its verdict: see scn_result_passed()), or a
 * negative errno when it could not be set up (unknown parameter or backend, allocation) with
 * a message naming the file and line in res->error.
 * CPU cost is proportional to simulated events: a random seed of ~2000 requests takes about
 * half a millisecond.
 */
int scn_run(const struct scn *s, const struct scn_run_opts *opts, struct scn_result *res);

/* scn_sim_config - the world configuration a scenario's `fabric` line asks for (defaults
 * elsewhere), for harnesses that build their own world from a scenario. */
void scn_sim_config(const struct scn *s, struct sim_config *cfg);

/* scn_result_passed - no violation and no failed expectation. */
bool scn_result_passed(const struct scn_result *res);

/* scn_result_print - the summary table (deterministic for a seed: simulated time only). */
void scn_result_print(FILE *f, const struct scn_result *res);

/* scn_violation_key - the expectation key suffix for a violation kind ("double_response"). */
const char *scn_violation_key(unsigned kind);

#endif /* PRQD_SCENARIO_H */
