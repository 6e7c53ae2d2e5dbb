/* SPDX-License-Identifier: MIT */
/*
 * Scenario files: the parser, the in-memory builders it shares with the random workload
 * generator, expectation key resolution and the writer (scn_write) that prints a scenario back.
 *
 * The parser is meant to be fuzzed: it takes a byte buffer and a length, never relies on a NUL
 * terminator, copies each line into a bounded buffer before looking at it, and turns every
 * problem into a message naming the file and line. It does no recursion and allocates only
 * the scenario's arrays.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define TOKENS_MAX 32
#define ITEMS_MAX (1u << 20) /* per array: far past any real scenario, far from overflow */
#define FILE_SIZE_MAX (16u << 20)

/* ---- names --------------------------------------------------------------------------------- */

static const char *const op_names[SCN_OP_NR] = {
	[SCN_OP_FAULT] = "fault",
	[SCN_OP_DEVICE_STOP] = "device-stop",
	[SCN_OP_DEVICE_START] = "device-start",
	[SCN_OP_WAIT_STOPPED] = "wait-stopped",
	[SCN_OP_STOP] = "stop",
	[SCN_OP_DRAIN] = "drain",
	[SCN_OP_RESUME] = "resume",
	[SCN_OP_UNBIND] = "unbind",
	[SCN_OP_BIND] = "bind",
	[SCN_OP_DEV_STOP] = "dev-stop",
	[SCN_OP_DEV_DRAIN] = "dev-drain",
	[SCN_OP_DEV_RESUME] = "dev-resume",
	[SCN_OP_DEV_UNBIND] = "dev-unbind",
	[SCN_OP_FLR] = "flr",
	[SCN_OP_REMOVE] = "remove",
	[SCN_OP_RESPOND_DEFERRED] = "respond-deferred",
	[SCN_OP_PROCESS] = "process",
	[SCN_OP_OVERFLOW] = "overflow",
};

const char *scn_op_name(unsigned kind)
{
	return kind < SCN_OP_NR ? op_names[kind] : "?";
}

static const struct {
	const char *name;
	int err;
} errno_names[] = {
	{ "EPERM", PRQD_EPERM },	   { "ENOENT", PRQD_ENOENT },
	{ "EIO", PRQD_EIO },		   { "EAGAIN", PRQD_EAGAIN },
	{ "ENOMEM", PRQD_ENOMEM },	   { "EBUSY", PRQD_EBUSY },
	{ "EEXIST", PRQD_EEXIST },	   { "ENODEV", PRQD_ENODEV },
	{ "EINVAL", PRQD_EINVAL },	   { "ERANGE", PRQD_ERANGE },
	{ "EDEADLK", PRQD_EDEADLK },	   { "ENOSPC", PRQD_ENOSPC },
	{ "EPROTO", PRQD_EPROTO },	   { "EBADMSG", PRQD_EBADMSG },
	{ "EOPNOTSUPP", PRQD_EOPNOTSUPP }, { "ESHUTDOWN", PRQD_ESHUTDOWN },
	{ "ETIMEDOUT", PRQD_ETIMEDOUT },   { "EALREADY", PRQD_EALREADY },
	{ "EINPROGRESS", PRQD_EINPROGRESS }, { "ESTALE", PRQD_ESTALE },
};
#define NR_ERRNO_NAMES (sizeof(errno_names) / sizeof(errno_names[0]))

const char *scn_errno_name(int err)
{
	if (err == 0)
		return "0";
	for (size_t i = 0; i < NR_ERRNO_NAMES; i++)
		if (-errno_names[i].err == err)
			return errno_names[i].name;
	return "E?";
}

static const char *const violation_keys[] = {
	[SIM_V_DOUBLE_RESPONSE] = "double_response",
	[SIM_V_NO_RESPONSE] = "no_response",
	[SIM_V_STOP_MARKER_ANSWERED] = "stop_marker_answered",
	[SIM_V_WRONG_TARGET] = "wrong_target",
	[SIM_V_WRONG_GENERATION] = "wrong_generation",
	[SIM_V_DRAIN_INCOMPLETE] = "drain_incomplete",
	[SIM_V_LEAK] = "leak",
	[SIM_V_PROTOCOL] = "protocol",
};
_Static_assert(sizeof(violation_keys) / sizeof(violation_keys[0]) == SIM_V_NR,
	       "a violation kind without an expectation key");

const char *scn_violation_key(unsigned kind)
{
	return kind < SIM_V_NR ? violation_keys[kind] : "?";
}

static const char *const resp_names[3] = { "success", "invalid", "failure" };
static const char *const atc_names[3] = { "answer", "slow", "never" };
static const char *const misbehave_names[4] = { "exceed-credits", "no-last", "reuse-index",
						"garbage" };

/* ---- building ------------------------------------------------------------------------------ */

static int grow(void **arr, unsigned *cap, unsigned n, size_t elem)
{
	if (n < *cap)
		return 0;
	if (n >= ITEMS_MAX)
		return -ENOMEM;
	unsigned ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int scn_new(const char *filename, struct scn **out)
{
	struct scn *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	copy_name(s->file, sizeof(s->file), filename ? filename : "<scenario>");
	s->seed = 1;
	s->poll_ns = 2000;
	s->limit_ns = 1000000000ull;
	s->settle_ns = 50000;
	*out = s;
	return 0;
}

void scn_free(struct scn *s)
{
	if (!s)
		return;
	free(s->params);
	free(s->devices);
	free(s->bonds);
	free(s->ops);
	free(s->expects);
	free(s);
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SCN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

int scn_find_device(const struct scn *s, const char *name)
{
	for (unsigned i = 0; i < s->ndevices; i++)
		if (!strcmp(s->devices[i].name, name))
			return (int)i;
	return -1;
}

int scn_find_bond(const struct scn *s, const char *name)
{
	for (unsigned i = 0; i < s->nbonds; i++)
		if (!strcmp(s->bonds[i].name, name))
			return (int)i;
	return -1;
}

void scn_device_init(struct scn_device *d, const char *name, uint16_t rid)
{
	memset(d, 0, sizeof(*d));
	copy_name(d->name, sizeof(d->name), name ? name : "");
	/* The format's own defaults (docs/scenario-format.md), so a file means the same thing
	 * whatever the simulator's defaults become. */
	d->cfg.rid = rid;
	d->cfg.capacity = 32;
	d->cfg.prg_resp_pasid_required = true;
	d->cfg.uses_stop_markers = false;
	d->cfg.pasid_width = 20;
	d->cfg.atc_mode = SIM_ATC_ANSWER;
	d->cfg.atc_lat_ns = 1000;
	d->cfg.refault_permille = 0;
	d->cfg.misbehave = 0;
	d->cfg.misbehave_permille = 10;
}

void scn_op_init(struct scn_op *op, enum scn_op_kind kind, uint64_t at_ns, unsigned target)
{
	memset(op, 0, sizeof(*op));
	op->kind = (uint8_t)kind;
	op->at_ns = at_ns;
	op->target = target;
	op->pasid = PRQD_NO_PASID;
	op->pages = 1;
	op->count = 1;
	op->every_ns = 1000;
	op->access = SIM_R | SIM_W;
	op->timeout_ns = kind == SCN_OP_WAIT_STOPPED ? 1000000 : 0;
	op->code = -1;
	op->nexpect = 1; /* expect=0 */
}

int scn_add_param(struct scn *s, const char *name, const char *value, unsigned line)
{
	if (!name[0] || strlen(name) > SCN_PARAM_MAX || strlen(value) > SCN_PARAM_MAX)
		return -EINVAL;
	if (grow((void **)&s->params, &s->cap_params, s->nparams, sizeof(*s->params)))
		return -ENOMEM;
	struct scn_param *p = &s->params[s->nparams];
	copy_name(p->name, sizeof(p->name), name);
	copy_name(p->value, sizeof(p->value), value);
	p->line = line;
	return (int)s->nparams++;
}

static bool name_free(const struct scn *s, const char *name)
{
	return scn_find_device(s, name) < 0 && scn_find_bond(s, name) < 0;
}

static bool dev_cfg_ok(const struct sim_dev_cfg *c)
{
	return c->capacity >= 1 && c->capacity <= 65536 && c->pasid_width <= 20 &&
	       c->atc_mode <= SIM_ATC_NEVER && c->atc_lat_ns <= 1000000000ull &&
	       c->refault_permille <= 1000 && c->misbehave <= 0xf && c->misbehave_permille <= 1000;
}

int scn_add_device(struct scn *s, const struct scn_device *d)
{
	if (!name_ok(d->name) || !dev_cfg_ok(&d->cfg))
		return -EINVAL;
	if (!name_free(s, d->name))
		return -EEXIST;
	for (unsigned i = 0; i < s->ndevices; i++)
		if (s->devices[i].cfg.rid == d->cfg.rid)
			return -EEXIST;
	if (grow((void **)&s->devices, &s->cap_devices, s->ndevices, sizeof(*d)))
		return -ENOMEM;
	s->devices[s->ndevices] = *d;
	return (int)s->ndevices++;
}

static bool pasid_fits(const struct scn_device *d, uint32_t pasid)
{
	if (pasid == PRQD_NO_PASID)
		return true;
	return d->cfg.pasid_width > 0 && (uint64_t)pasid < (1ull << d->cfg.pasid_width);
}

int scn_add_bond(struct scn *s, const struct scn_bond *b)
{
	if (!name_ok(b->name) || b->dev >= s->ndevices ||
	    !pasid_fits(&s->devices[b->dev], b->pasid) || b->handler.kind > SCN_HANDLER_NEVER ||
	    b->handler.code > PRQD_RESP_FAILURE)
		return -EINVAL;
	if (!name_free(s, b->name))
		return -EEXIST;
	for (unsigned i = 0; i < s->nbonds; i++)
		if (s->bonds[i].dev == b->dev && s->bonds[i].pasid == b->pasid)
			return -EEXIST;
	if (grow((void **)&s->bonds, &s->cap_bonds, s->nbonds, sizeof(*b)))
		return -ENOMEM;
	s->bonds[s->nbonds] = *b;
	/* The answer code and delay belong to a deferring handler only: kept canonical, so a
	 * scenario built in C and its text form are the same structure. */
	if (b->handler.kind != SCN_HANDLER_DEFER) {
		s->bonds[s->nbonds].handler.code = 0;
		s->bonds[s->nbonds].handler.delay_ns = 0;
	}
	return (int)s->nbonds++;
}

bool scn_op_has_target(const struct scn_op *op)
{
	return op->kind != SCN_OP_PROCESS && op->kind != SCN_OP_OVERFLOW;
}

bool scn_op_on_device(const struct scn_op *op)
{
	switch (op->kind) {
	case SCN_OP_DEV_STOP:
	case SCN_OP_DEV_DRAIN:
	case SCN_OP_DEV_RESUME:
	case SCN_OP_DEV_UNBIND:
	case SCN_OP_FLR:
	case SCN_OP_REMOVE:
		return true;
	case SCN_OP_FAULT:
		return op->on_device;
	default:
		return false;
	}
}

int scn_add_op(struct scn *s, const struct scn_op *op)
{
	if (op->kind >= SCN_OP_NR || op->nexpect > SCN_EXPECT_ALT || op->code < -1 ||
	    op->code > PRQD_RESP_FAILURE)
		return -EINVAL;
	if (scn_op_has_target(op) &&
	    op->target >= (scn_op_on_device(op) ? s->ndevices : s->nbonds))
		return -EINVAL;
	if (op->kind == SCN_OP_FAULT) {
		if (op->pages < 1 || op->pages > 512 || op->count < 1 || op->every_ns < 1 ||
		    !(op->access & (SIM_R | SIM_W)) || op->access > 0xf || (op->addr & 0xfff))
			return -EINVAL;
		if (op->on_device && !pasid_fits(&s->devices[op->target], op->pasid))
			return -EINVAL;
	}
	if (grow((void **)&s->ops, &s->cap_ops, s->nops, sizeof(*op)))
		return -ENOMEM;
	s->ops[s->nops] = *op;
	return (int)s->nops++;
}

/* ---- expectation keys ---------------------------------------------------------------------- */

struct field {
	const char *name;
	size_t offset;
	size_t width;
};

#define RES(key, m) { key, offsetof(struct scn_result, m), sizeof(((struct scn_result *)0)->m) }
#define DEVF(key, m) { key, offsetof(struct sim_dev_stats, m), sizeof(((struct sim_dev_stats *)0)->m) }
#define BONDF(key, m) \
	{ key, offsetof(struct scn_bond_counters, m), sizeof(((struct scn_bond_counters *)0)->m) }

static const struct field result_fields[] = {
	RES("violations", violations),
	RES("time", end_ns),
	RES("stats.requests", stats.requests),
	RES("stats.groups", stats.groups),
	RES("stats.delivered", stats.delivered),
	RES("stats.responses.success", stats.responses[PRQD_RESP_SUCCESS]),
	RES("stats.responses.invalid", stats.responses[PRQD_RESP_INVALID]),
	RES("stats.responses.failure", stats.responses[PRQD_RESP_FAILURE]),
	RES("responses.success", stats.responses[PRQD_RESP_SUCCESS]),
	RES("responses.invalid", stats.responses[PRQD_RESP_INVALID]),
	RES("responses.failure", stats.responses[PRQD_RESP_FAILURE]),
	RES("stats.by.handler", stats.by[PRQD_BY_HANDLER]),
	RES("stats.by.stop", stats.by[PRQD_BY_STOP]),
	RES("stats.by.nobond", stats.by[PRQD_BY_NOBOND]),
	RES("stats.by.abandon", stats.by[PRQD_BY_ABANDON]),
	RES("stats.by.local", stats.by[PRQD_BY_LOCAL]),
	RES("stats.stop_markers", stats.stop_markers),
	RES("stats.stop_markers_unexpected", stats.stop_markers_unexpected),
	RES("stats.stop_markers_missing", stats.stop_markers_missing),
	RES("stats.bad_requests", stats.bad_requests),
	RES("stats.unknown_requester", stats.unknown_requester),
	RES("stats.stale_groups", stats.stale_groups),
	RES("stats.stale_requests", stats.stale_requests),
	RES("stats.partial_discarded", stats.partial_discarded),
	RES("stats.pool_exhausted", stats.pool_exhausted),
	RES("stats.late_responses", stats.late_responses),
	RES("stats.bad_responses", stats.bad_responses),
	RES("stats.overflows", stats.overflows),
	RES("stats.drains", stats.drains),
	RES("stats.drain_timeouts", stats.drain_timeouts),
	RES("stats.drain_errors", stats.drain_errors),
	RES("stats.drain_steps", stats.drain_steps),
	RES("stats.drain_repeats", stats.drain_repeats),
	RES("stats.commands_queued", stats.commands_queued),
	RES("stats.doorbells", stats.doorbells),
	RES("stats.drain_reissues", stats.drain_reissues),
	RES("iommu.enqueued", iommu.enqueued),
	RES("iommu.dropped_overflow", iommu.dropped_overflow),
	RES("iommu.auto_responses", iommu.auto_responses),
	RES("iommu.overflows", iommu.overflows),
	RES("iommu.drains_started", iommu.drains_started),
	RES("iommu.drains_completed", iommu.drains_completed),
	RES("iommu.drains_failed", iommu.drains_failed),
	RES("iommu.queue_depth", iommu.queue_depth),
	RES("iommu.queue_high_water", iommu.queue_high_water),
	RES("iommu.blocked_responses", iommu.blocked_responses),
	RES("alloc.allocs", alloc.allocs),
	RES("alloc.frees", alloc.frees),
	RES("alloc.live", alloc.live),
	RES("alloc.live_bytes", alloc.live_bytes),
	RES("alloc.failed", alloc.failed),
	RES("devices.groups_sent", dev.groups_sent),
	RES("devices.requests_sent", dev.requests_sent),
	RES("devices.stop_markers_sent", dev.stop_markers_sent),
	RES("devices.responses.success", dev.responses[PRQD_RESP_SUCCESS]),
	RES("devices.responses.invalid", dev.responses[PRQD_RESP_INVALID]),
	RES("devices.responses.failure", dev.responses[PRQD_RESP_FAILURE]),
	RES("devices.auto_responses", dev.auto_responses),
	RES("devices.stale_responses", dev.stale_responses),
	RES("devices.unexpected_index", dev.unexpected_index),
	RES("devices.response_failure", dev.response_failure),
	RES("traffic.planned", traffic.planned),
	RES("traffic.groups", traffic.groups),
	RES("traffic.requests", traffic.requests),
	RES("traffic.eagain", traffic.eagain),
	RES("traffic.refused", traffic.refused),
	RES("respond.ok", respond.ok),
	RES("respond.already", respond.already),
	RES("respond.stale", respond.stale),
	RES("respond.error", respond.error),
	RES("drain.count", drain.count),
	RES("drain.p50", drain.p50_ns),
	RES("drain.p99", drain.p99_ns),
	RES("drain.max", drain.max_ns),
	RES("finish.unbinds", finish.unbinds),
	RES("finish.forced", finish.forced),
};

static const struct field device_fields[] = {
	DEVF("groups_sent", groups_sent),
	DEVF("requests_sent", requests_sent),
	DEVF("stop_markers_sent", stop_markers_sent),
	DEVF("responses.success", responses[PRQD_RESP_SUCCESS]),
	DEVF("responses.invalid", responses[PRQD_RESP_INVALID]),
	DEVF("responses.failure", responses[PRQD_RESP_FAILURE]),
	DEVF("auto_responses", auto_responses),
	DEVF("stale_responses", stale_responses),
	DEVF("unexpected_index", unexpected_index),
	DEVF("response_failure", response_failure),
	DEVF("outstanding_groups", outstanding_groups),
	DEVF("credits_used", credits_used),
};

static const struct field bond_fields[] = {
	BONDF("delivered", delivered),
	BONDF("binds", binds),
	BONDF("deferred", deferred),
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct field *find_field(const struct field *tab, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

static void list_fields(char *buf, size_t size, const struct field *tab, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && used + 1 < size; i++) {
		int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", tab[i].name);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (used >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

/* Resolve @key into @e (src, index, offset, width); messages go to @err. */
static int resolve_key(const struct scn *s, const char *key, struct scn_ref *e, char *err,
		       size_t errlen)
{
	const struct field *f = find_field(result_fields, NELEM(result_fields), key);
	if (f) {
		e->src = SCN_SRC_RESULT;
		e->offset = (uint16_t)f->offset;
		e->width = (uint8_t)f->width;
		e->index = 0;
		return 0;
	}
	if (!strncmp(key, "violations.", 11)) {
		for (unsigned k = 0; k < SIM_V_NR; k++) {
			if (strcmp(key + 11, violation_keys[k]))
				continue;
			e->src = SCN_SRC_RESULT;
			e->offset = (uint16_t)(offsetof(struct scn_result, violations_by_kind) +
					       k * sizeof(uint32_t));
			e->width = sizeof(uint32_t);
			e->index = 0;
			return 0;
		}
		snprintf(err, errlen,
			 "unknown violation kind `%.40s` (expected double_response, no_response, "
			 "stop_marker_answered, wrong_target, wrong_generation, drain_incomplete, "
			 "leak)",
			 key + 11);
		return -ENOENT;
	}
	bool is_dev = !strncmp(key, "device.", 7), is_bond = !strncmp(key, "bond.", 5);
	if (is_dev || is_bond) {
		const char *name = key + (is_dev ? 7 : 5);
		const char *dot = strchr(name, '.');
		char nm[SCN_NAME_MAX + 1];
		char fields[400];
		if (!dot || dot == name || (size_t)(dot - name) > SCN_NAME_MAX) {
			snprintf(err, errlen, "expected `%s.<name>.<counter>`, got `%.60s`",
				 is_dev ? "device" : "bond", key);
			return -ENOENT;
		}
		memcpy(nm, name, (size_t)(dot - name));
		nm[dot - name] = '\0';
		int idx = is_dev ? scn_find_device(s, nm) : scn_find_bond(s, nm);
		if (idx < 0) {
			snprintf(err, errlen, "unknown %s `%s` in `%.60s`", is_dev ? "device" : "bond",
				 nm, key);
			return -ENOENT;
		}
		f = is_dev ? find_field(device_fields, NELEM(device_fields), dot + 1)
			   : find_field(bond_fields, NELEM(bond_fields), dot + 1);
		if (!f) {
			if (is_dev)
				list_fields(fields, sizeof(fields), device_fields, NELEM(device_fields));
			else
				list_fields(fields, sizeof(fields), bond_fields, NELEM(bond_fields));
			snprintf(err, errlen, "%s has no counter `%.40s` (expected %s)",
				 is_dev ? "a device" : "a bond", dot + 1, fields);
			return -ENOENT;
		}
		e->src = is_dev ? SCN_SRC_DEVICE : SCN_SRC_BOND;
		e->index = (uint32_t)idx;
		e->offset = (uint16_t)f->offset;
		e->width = (uint8_t)f->width;
		return 0;
	}
	snprintf(err, errlen,
		 "unknown expectation key `%.60s` (expected violations[.KIND], stats.*, "
		 "responses.*, iommu.*, alloc.*, devices.*, device.NAME.*, bond.NAME.*, traffic.*, "
		 "respond.*, drain.*, finish.*, time; see docs/scenario-format.md)",
		 key);
	return -ENOENT;
}

static int add_expect(struct scn *s, const char *key, enum scn_cmp cmp, uint64_t value,
		      const char *rhs_key, unsigned line, char *err, size_t errlen)
{
	struct scn_expect e;
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (strlen(key) > SCN_KEY_MAX || (rhs_key && strlen(rhs_key) > SCN_KEY_MAX) ||
	    cmp > SCN_GE) {
		snprintf(err, errlen, "expectation key too long or bad comparison");
		return -EINVAL;
	}
	memset(&e, 0, sizeof(e));
	copy_name(e.key, sizeof(e.key), key);
	e.cmp = (uint8_t)cmp;
	e.value = value;
	e.line = line;
	int r = resolve_key(s, key, &e.lhs, err, errlen);
	if (r < 0)
		return r;
	if (rhs_key) {
		e.rhs_is_key = true;
		copy_name(e.rhs_key, sizeof(e.rhs_key), rhs_key);
		r = resolve_key(s, rhs_key, &e.rhs, err, errlen);
		if (r < 0)
			return r;
	}
	if (grow((void **)&s->expects, &s->cap_expects, s->nexpects, sizeof(e)))
		return -ENOMEM;
	s->expects[s->nexpects] = e;
	return (int)s->nexpects++;
}

int scn_add_expect(struct scn *s, const char *key, enum scn_cmp cmp, uint64_t value,
		   unsigned line, char *err, size_t errlen)
{
	return add_expect(s, key, cmp, value, NULL, line, err, errlen);
}

int scn_add_expect_key(struct scn *s, const char *key, enum scn_cmp cmp, const char *rhs_key,
		       unsigned line, char *err, size_t errlen)
{
	return add_expect(s, key, cmp, 0, rhs_key, line, err, errlen);
}

/* ---- lexical helpers ------------------------------------------------------------------------ */

struct parser {
	struct scn *s;
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
	uint64_t last_at;
	unsigned ntok;
	char *tok[TOKENS_MAX];
	char buf[SCN_LINE_MAX + 1];
};

/* Tokens are printable ASCII (checked before), so they can be shown as they are; long ones are
 * cut so one message stays one readable line. */
#define TOKF "`%.48s%s`"
#define TOKA(t) (t), (strlen(t) > 48 ? "..." : "")

__attribute__((format(printf, 2, 3))) static int perr(struct parser *p, const char *fmt, ...)
{
	if (p->err && p->errlen) {
		int n = snprintf(p->err, p->errlen, "%s:%u: ", p->file, p->line);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* Decimal or 0x hexadecimal, no sign, no spaces; -ERANGE past UINT64_MAX. */
static int parse_u64(const char *t, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		base = 16;
		t += 2;
	}
	if (!*t)
		return -EINVAL;
	for (; *t; t++) {
		unsigned d;
		if (*t >= '0' && *t <= '9')
			d = (unsigned)(*t - '0');
		else if (base == 16 && *t >= 'a' && *t <= 'f')
			d = (unsigned)(*t - 'a' + 10);
		else if (base == 16 && *t >= 'A' && *t <= 'F')
			d = (unsigned)(*t - 'A' + 10);
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* A number followed by ns, us, ms or s; a bare 0 is allowed. */
static int parse_time(const char *t, uint64_t *out)
{
	size_t n = strlen(t), digits = 0;
	while (digits < n && t[digits] >= '0' && t[digits] <= '9')
		digits++;
	if (digits == 0 || digits > 20)
		return -EINVAL;
	char num[24];
	memcpy(num, t, digits);
	num[digits] = '\0';
	uint64_t v, mul;
	int r = parse_u64(num, &v);
	if (r)
		return r;
	const char *unit = t + digits;
	if (!*unit) {
		if (v != 0)
			return -EINVAL; /* a unit is required: "10" could mean anything */
		mul = 1;
	} else if (!strcmp(unit, "ns")) {
		mul = 1;
	} else if (!strcmp(unit, "us")) {
		mul = 1000;
	} else if (!strcmp(unit, "ms")) {
		mul = 1000000;
	} else if (!strcmp(unit, "s")) {
		mul = 1000000000;
	} else {
		return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static int parse_yesno(const char *t, bool *out)
{
	if (!strcmp(t, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcmp(t, "no")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int parse_resp(const char *t)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(t, resp_names[i]))
			return i;
	return -1;
}

/* "ETIMEDOUT", "-ETIMEDOUT", "0" */
static int parse_result(const char *t, int *out)
{
	if (!strcmp(t, "0")) {
		*out = 0;
		return 0;
	}
	if (*t == '-')
		t++;
	for (size_t i = 0; i < NR_ERRNO_NAMES; i++) {
		if (!strcmp(t, errno_names[i].name)) {
			*out = -errno_names[i].err;
			return 0;
		}
	}
	return -EINVAL;
}

/* expect=A|B|..., or any */
static int parse_expect_list(const char *v, struct scn_op *op)
{
	char buf[SCN_LINE_MAX + 1];
	if (!strcmp(v, "any")) {
		op->nexpect = 0;
		return 0;
	}
	size_t n = strlen(v);
	memcpy(buf, v, n + 1);
	op->nexpect = 0;
	char *save = NULL;
	unsigned alt = 0;
	if (buf[0] == '|' || buf[n - 1] == '|' || strstr(buf, "||"))
		return -EINVAL;
	for (char *w = strtok_r(buf, "|", &save); w; w = strtok_r(NULL, "|", &save)) {
		int r;
		if (alt >= SCN_EXPECT_ALT || parse_result(w, &r))
			return -EINVAL;
		op->expect[alt++] = r;
	}
	op->nexpect = (uint8_t)alt;
	return alt ? 0 : -EINVAL;
}

/* bus:dev.fn in hexadecimal, as lspci prints it */
static int parse_bdf(const char *t, uint64_t *out)
{
	unsigned bus = 0, dev = 0, fn = 0, i = 0, part = 0, digits = 0;
	for (; t[i]; i++) {
		char c = t[i];
		unsigned d;
		if (c == ':' && part == 0 && digits) {
			part = 1;
			digits = 0;
			continue;
		}
		if (c == '.' && part == 1 && digits) {
			part = 2;
			digits = 0;
			continue;
		}
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
		if (++digits > 2)
			return -EINVAL;
		if (part == 0)
			bus = bus * 16 + d;
		else if (part == 1)
			dev = dev * 16 + d;
		else
			fn = fn * 16 + d;
	}
	if (part != 2 || !digits || dev > 31 || fn > 7)
		return -EINVAL;
	*out = bus << 8 | dev << 3 | fn;
	return 0;
}

/* ---- options (key=value words) --------------------------------------------------------------- */

struct optspec {
	const char *name;
	bool flag;        /* a bare word, no value */
	const char *form; /* shown in "expected `...`" */
};

/*
 * Find the option a word names in @tab. Returns its index and its value in *val (NULL for a
 * flag); reports unknown options, repeated ones, flags given a value and options without one.
 */
static int find_opt(struct parser *p, const char *what, const struct optspec *tab, unsigned n,
		    uint64_t allowed, const char *word, const char **val, uint64_t *seen)
{
	const char *eq = strchr(word, '=');
	size_t klen = eq ? (size_t)(eq - word) : strlen(word);
	for (unsigned i = 0; i < n; i++) {
		if (!(allowed & (1ull << i)) || strlen(tab[i].name) != klen ||
		    strncmp(tab[i].name, word, klen))
			continue;
		if (*seen & (1ull << i))
			return perr(p, "`%s` given twice after %s", tab[i].name, what);
		if (tab[i].flag && eq)
			return perr(p, "expected `%s` (a word without a value) after %s, got " TOKF,
				    tab[i].name, what, TOKA(word));
		if (!tab[i].flag && (!eq || !eq[1]))
			return perr(p, "expected `%s` after %s, got " TOKF, tab[i].form, what,
				    TOKA(word));
		*seen |= 1ull << i;
		*val = eq ? eq + 1 : NULL;
		return (int)i;
	}
	char list[512];
	size_t used = 0;
	list[0] = '\0';
	for (unsigned i = 0; i < n && used < sizeof(list); i++) {
		if (!(allowed & (1ull << i)))
			continue;
		int k = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
				 tab[i].form);
		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (!list[0])
		return perr(p, "%s takes no options, got " TOKF, what, TOKA(word));
	return perr(p, "unknown option " TOKF " after %s (expected %s)", TOKA(word), what, list);
}

static int bad(struct parser *p, const struct optspec *o, const char *what, const char *word)
{
	return perr(p, "expected `%s` after %s, got " TOKF, o->form, what, TOKA(word));
}

/* ---- directives ------------------------------------------------------------------------------ */

static int need_args(struct parser *p, unsigned n, const char *form)
{
	if (p->ntok != n)
		return perr(p, "expected `%s`, got %u word%s", form, p->ntok, p->ntok == 1 ? "" : "s");
	return 0;
}

static int check_name(struct parser *p, const char *kind, const char *name)
{
	if (!name_ok(name))
		return perr(p,
			    "expected a %s name (1 to %d of A-Z a-z 0-9 _ -), got " TOKF, kind,
			    SCN_NAME_MAX, TOKA(name));
	int d = scn_find_device(p->s, name), b = scn_find_bond(p->s, name);
	if (d >= 0)
		return perr(p, "name `%s` is already used by the device at line %u", name,
			    p->s->devices[d].line);
	if (b >= 0)
		return perr(p, "name `%s` is already used by the bond at line %u", name,
			    p->s->bonds[b].line);
	return 0;
}

static int oom(struct parser *p)
{
	perr(p, "out of memory");
	return -ENOMEM;
}

static int dir_seed(struct parser *p)
{
	int r = need_args(p, 2, "seed <number>");
	if (r)
		return r;
	if (parse_u64(p->tok[1], &p->s->seed))
		return perr(p, "expected `seed <number>` (0 .. 2^64-1), got " TOKF, TOKA(p->tok[1]));
	return 0;
}

static int dir_param(struct parser *p)
{
	int r = need_args(p, 3, "param <name> <value>");
	if (r)
		return r;
	const char *n = p->tok[1], *v = p->tok[2];
	if (strlen(n) > SCN_PARAM_MAX || strchr(n, '='))
		return perr(p, "expected a parameter name (like core.drain_timeout_ms), got " TOKF,
			    TOKA(n));
	if (strlen(v) > SCN_PARAM_MAX)
		return perr(p, "parameter value longer than %d characters", SCN_PARAM_MAX);
	if (scn_add_param(p->s, n, v, p->line) < 0)
		return oom(p);
	return 0;
}

static int dir_time_setting(struct parser *p, uint64_t *slot, uint64_t min, uint64_t max,
			    const char *form)
{
	int r = need_args(p, 2, form);
	if (r)
		return r;
	uint64_t v;
	if (parse_time(p->tok[1], &v))
		return perr(p, "expected `%s` (like 10us, 2ms), got " TOKF, form, TOKA(p->tok[1]));
	if (v < min || v > max)
		return perr(p, "%s: " TOKF " is out of range (%llu ns .. %llu ns)", p->tok[0],
			    TOKA(p->tok[1]), (unsigned long long)min, (unsigned long long)max);
	*slot = v;
	return 0;
}

enum { FO_LAT, FO_RESP, FO_RELAX };
static const struct optspec fabric_opts[] = {
	[FO_LAT] = { "latency", false, "latency=<time>..<time>" },
	[FO_RESP] = { "response-latency", false, "response-latency=<time>" },
	[FO_RELAX] = { "relax-step", false, "relax-step=<time>" },
};

static int dir_fabric(struct parser *p)
{
	uint64_t seen = 0;
	if (p->ntok < 2)
		return perr(p, "expected `fabric [latency=<time>..<time>] [response-latency=<time>] "
			       "[relax-step=<time>]`");
	for (unsigned i = 1; i < p->ntok; i++) {
		const char *v;
		int o = find_opt(p, "fabric", fabric_opts, NELEM(fabric_opts), 7, p->tok[i], &v,
				 &seen);
		if (o < 0)
			return o;
		const struct optspec *os = &fabric_opts[o];
		uint64_t a, b;
		const uint64_t max = 1000000000ull;
		switch (o) {
		case FO_LAT: {
			const char *dots = strstr(v, "..");
			char lo[SCN_LINE_MAX + 1];
			if (!dots)
				return bad(p, os, "fabric", p->tok[i]);
			memcpy(lo, v, (size_t)(dots - v));
			lo[dots - v] = '\0';
			if (parse_time(lo, &a) || parse_time(dots + 2, &b) || a > b || b > max)
				return bad(p, os, "fabric", p->tok[i]);
			p->s->fabric.lat_min_ns = a;
			p->s->fabric.lat_max_ns = b;
			p->s->fabric.set |= SCN_FABRIC_LAT;
			break;
		}
		case FO_RESP:
			if (parse_time(v, &a) || a > max)
				return bad(p, os, "fabric", p->tok[i]);
			p->s->fabric.resp_lat_ns = a;
			p->s->fabric.set |= SCN_FABRIC_RESP;
			break;
		case FO_RELAX:
			if (parse_time(v, &a) || a < 1 || a > max)
				return bad(p, os, "fabric", p->tok[i]);
			p->s->fabric.relax_step_ns = a;
			p->s->fabric.set |= SCN_FABRIC_RELAX;
			break;
		}
	}
	return 0;
}

static int dir_platform(struct parser *p)
{
	if (p->ntok != 2 || strcmp(p->tok[1], "pasid-entries") != 0)
		return perr(p, "expected `platform pasid-entries`");
	p->s->pasid_entries = true;
	return 0;
}

enum { DO_RID, DO_CAP, DO_PW, DO_PRESP, DO_SM, DO_ATC, DO_ATCLAT, DO_REFAULT, DO_MIS, DO_MISRATE };
static const struct optspec device_opts[] = {
	[DO_RID] = { "rid", false, "rid=<number>|<bus>:<dev>.<fn>" },
	[DO_CAP] = { "capacity", false, "capacity=<1..65536>" },
	[DO_PW] = { "pasid-width", false, "pasid-width=<0..20>" },
	[DO_PRESP] = { "pasid-resp", false, "pasid-resp=yes|no" },
	[DO_SM] = { "stop-markers", false, "stop-markers=yes|no" },
	[DO_ATC] = { "atc", false, "atc=answer|slow|never" },
	[DO_ATCLAT] = { "atc-latency", false, "atc-latency=<time up to 1s>" },
	[DO_REFAULT] = { "refault", false, "refault=<permille 0..1000>" },
	[DO_MIS] = { "misbehave", false,
		     "misbehave=none|all|<exceed-credits,no-last,reuse-index,garbage>" },
	[DO_MISRATE] = { "misbehave-rate", false, "misbehave-rate=<permille 0..1000>" },
};

static int parse_misbehave(const char *v, uint32_t *out)
{
	char buf[SCN_LINE_MAX + 1];
	char *save = NULL;
	uint32_t m = 0;
	if (!strcmp(v, "none")) {
		*out = 0;
		return 0;
	}
	if (!strcmp(v, "all")) {
		*out = 0xf;
		return 0;
	}
	size_t n = strlen(v);
	if (v[0] == ',' || v[n - 1] == ',' || strstr(v, ",,"))
		return -EINVAL;
	memcpy(buf, v, n + 1);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		unsigned i;
		for (i = 0; i < 4; i++)
			if (!strcmp(w, misbehave_names[i]))
				break;
		if (i == 4)
			return -EINVAL;
		m |= 1u << i;
	}
	*out = m;
	return 0;
}

static int dir_device(struct parser *p)
{
	struct scn_device d;
	uint64_t seen = 0, v64;
	bool yn;
	if (p->ntok < 2)
		return perr(p, "expected `device <name> rid=<number> [options]`");
	int r = check_name(p, "device", p->tok[1]);
	if (r)
		return r;
	scn_device_init(&d, p->tok[1], 0);
	d.line = p->line;
	for (unsigned i = 2; i < p->ntok; i++) {
		const char *v, *w = p->tok[i];
		int o = find_opt(p, "device", device_opts, NELEM(device_opts),
				 (1u << NELEM(device_opts)) - 1, w, &v, &seen);
		if (o < 0)
			return o;
		const struct optspec *os = &device_opts[o];
		switch (o) {
		case DO_RID:
			if (strchr(v, ':') ? parse_bdf(v, &v64) : parse_u64(v, &v64))
				return bad(p, os, "device", w);
			if (v64 > 0xffff)
				return perr(p, "rid " TOKF " is out of range (0 .. 0xffff)", TOKA(v));
			d.cfg.rid = (uint16_t)v64;
			break;
		case DO_CAP:
			if (parse_u64(v, &v64) || v64 < 1 || v64 > 65536)
				return bad(p, os, "device", w);
			d.cfg.capacity = (uint32_t)v64;
			break;
		case DO_PW:
			if (parse_u64(v, &v64) || v64 > 20)
				return bad(p, os, "device", w);
			d.cfg.pasid_width = (uint8_t)v64;
			break;
		case DO_PRESP:
			if (parse_yesno(v, &yn))
				return bad(p, os, "device", w);
			d.cfg.prg_resp_pasid_required = yn;
			break;
		case DO_SM:
			if (parse_yesno(v, &yn))
				return bad(p, os, "device", w);
			d.cfg.uses_stop_markers = yn;
			break;
		case DO_ATC: {
			unsigned m;
			for (m = 0; m < 3; m++)
				if (!strcmp(v, atc_names[m]))
					break;
			if (m == 3)
				return bad(p, os, "device", w);
			d.cfg.atc_mode = (uint8_t)m;
			break;
		}
		case DO_ATCLAT:
			if (parse_time(v, &v64) || v64 > 1000000000ull)
				return bad(p, os, "device", w);
			d.cfg.atc_lat_ns = v64;
			break;
		case DO_REFAULT:
			if (parse_u64(v, &v64) || v64 > 1000)
				return bad(p, os, "device", w);
			d.cfg.refault_permille = (uint16_t)v64;
			break;
		case DO_MIS:
			if (parse_misbehave(v, &d.cfg.misbehave))
				return bad(p, os, "device", w);
			break;
		case DO_MISRATE:
			if (parse_u64(v, &v64) || v64 > 1000)
				return bad(p, os, "device", w);
			d.cfg.misbehave_permille = (uint16_t)v64;
			break;
		}
	}
	if (!(seen & (1u << DO_RID)))
		return perr(p, "device `%s` needs `rid=<number>|<bus>:<dev>.<fn>`", d.name);
	for (unsigned i = 0; i < p->s->ndevices; i++)
		if (p->s->devices[i].cfg.rid == d.cfg.rid)
			return perr(p, "rid 0x%04x is already used by device `%s` (line %u)",
				    d.cfg.rid, p->s->devices[i].name, p->s->devices[i].line);
	r = scn_add_device(p->s, &d);
	if (r == -ENOMEM)
		return oom(p);
	return r < 0 ? perr(p, "device `%s` rejected", d.name) : 0;
}

static int parse_handler(const char *v, struct scn_handler *h)
{
	memset(h, 0, sizeof(*h));
	if (!strcmp(v, "success")) {
		h->kind = SCN_HANDLER_SUCCESS;
	} else if (!strcmp(v, "invalid")) {
		h->kind = SCN_HANDLER_INVALID;
	} else if (!strcmp(v, "failure")) {
		h->kind = SCN_HANDLER_FAILURE;
	} else if (!strcmp(v, "never")) {
		h->kind = SCN_HANDLER_NEVER;
	} else if (!strncmp(v, "defer:", 6)) {
		char buf[SCN_LINE_MAX + 1];
		size_t n = strlen(v + 6);
		memcpy(buf, v + 6, n + 1);
		char *colon = strchr(buf, ':');
		int code = PRQD_RESP_SUCCESS;
		if (colon) {
			*colon = '\0';
			code = parse_resp(colon + 1);
			if (code < 0)
				return -EINVAL;
		}
		if (parse_time(buf, &h->delay_ns) || h->delay_ns > 1000000000ull)
			return -EINVAL;
		h->kind = SCN_HANDLER_DEFER;
		h->code = (uint8_t)code;
	} else {
		return -EINVAL;
	}
	return 0;
}

enum { BO_PASID, BO_HANDLER, BO_BOUND };
static const struct optspec bind_opts[] = {
	[BO_PASID] = { "pasid", false, "pasid=<number>|none" },
	[BO_HANDLER] = { "handler", false,
			 "handler=success|invalid|failure|never|defer:<time>[:<code>]" },
	[BO_BOUND] = { "bound", false, "bound=yes|no" },
};

static int parse_pasid(const char *v, uint32_t *out)
{
	uint64_t v64;
	if (!strcmp(v, "none")) {
		*out = PRQD_NO_PASID;
		return 0;
	}
	if (parse_u64(v, &v64) || v64 >= (1u << 20))
		return -EINVAL;
	*out = (uint32_t)v64;
	return 0;
}

static int dir_bind(struct parser *p)
{
	struct scn_bond b;
	uint64_t seen = 0;
	if (p->ntok < 3)
		return perr(p, "expected `bind <name> <device> pasid=<number>|none [handler=...]`");
	int r = check_name(p, "bond", p->tok[1]);
	if (r)
		return r;
	memset(&b, 0, sizeof(b));
	copy_name(b.name, sizeof(b.name), p->tok[1]);
	b.line = p->line;
	b.bound = true;
	int dev = scn_find_device(p->s, p->tok[2]);
	if (dev < 0)
		return perr(p, "expected a device name after `bind %s`, got " TOKF
			       " (devices must be declared before use)",
			    b.name, TOKA(p->tok[2]));
	b.dev = (unsigned)dev;
	const struct scn_device *d = &p->s->devices[dev];
	for (unsigned i = 3; i < p->ntok; i++) {
		const char *v, *w = p->tok[i];
		int o = find_opt(p, "bind", bind_opts, NELEM(bind_opts), 7, w, &v, &seen);
		if (o < 0)
			return o;
		switch (o) {
		case BO_PASID:
			if (parse_pasid(v, &b.pasid))
				return bad(p, &bind_opts[o], "bind", w);
			break;
		case BO_HANDLER:
			if (parse_handler(v, &b.handler))
				return bad(p, &bind_opts[o], "bind", w);
			break;
		case BO_BOUND:
			if (parse_yesno(v, &b.bound))
				return bad(p, &bind_opts[o], "bind", w);
			break;
		}
	}
	if (!(seen & (1u << BO_PASID)))
		return perr(p, "bind `%s` needs `pasid=<number>|none`", b.name);
	if (!pasid_fits(d, b.pasid))
		return perr(p, "pasid %u does not fit device `%s` (pasid-width=%u)", b.pasid, d->name,
			    d->cfg.pasid_width);
	for (unsigned i = 0; i < p->s->nbonds; i++) {
		const struct scn_bond *o = &p->s->bonds[i];
		if (o->dev == b.dev && o->pasid == b.pasid)
			return perr(p, "bond `%s` binds the same device and PASID as bond `%s` "
				       "(line %u); use `at <time> bind %s` for a new generation",
				    b.name, o->name, o->line, o->name);
	}
	r = scn_add_bond(p->s, &b);
	if (r == -ENOMEM)
		return oom(p);
	return r < 0 ? perr(p, "bond `%s` rejected", b.name) : 0;
}

/* ---- at TIME OP ... ------------------------------------------------------------------------ */

enum {
	OO_PAGES, OO_COUNT, OO_EVERY, OO_ACCESS, OO_ADDR, OO_PASID, OO_MARKER, OO_TIMEOUT,
	OO_ABANDON, OO_STOP_MARKER, OO_FORCE, OO_NO_DRAIN, OO_EXPECT, OO_CODE, OO_BUDGET,
};
static const struct optspec op_opts[] = {
	[OO_PAGES] = { "pages", false, "pages=<1..512>" },
	[OO_COUNT] = { "count", false, "count=<1..1000000000>" },
	[OO_EVERY] = { "every", false, "every=<time, at least 1ns>" },
	[OO_ACCESS] = { "access", false, "access=<r and/or w, plus x, p>" },
	[OO_ADDR] = { "addr", false, "addr=<4 KiB aligned address>" },
	[OO_PASID] = { "pasid", false, "pasid=<number>|none" },
	[OO_MARKER] = { "marker", false, "marker=yes|no" },
	[OO_TIMEOUT] = { "timeout", false, "timeout=<time up to 1h>" },
	[OO_ABANDON] = { "abandon", true, "abandon" },
	[OO_STOP_MARKER] = { "stop-marker", true, "stop-marker" },
	[OO_FORCE] = { "force", true, "force" },
	[OO_NO_DRAIN] = { "no-drain", true, "no-drain" },
	[OO_EXPECT] = { "expect", false, "expect=<0|ERRNO>[|...]|any" },
	[OO_CODE] = { "code", false, "code=success|invalid|failure" },
	[OO_BUDGET] = { "budget", false, "budget=<number>" },
};

enum target_kind { T_NONE, T_BOND, T_DEVICE, T_EITHER };

#define B(o) (1u << (o))
static const struct {
	const char *name;
	uint8_t kind;
	uint8_t target;
	uint32_t opts;
} op_table[] = {
	{ "fault", SCN_OP_FAULT, T_EITHER,
	  B(OO_PAGES) | B(OO_COUNT) | B(OO_EVERY) | B(OO_ACCESS) | B(OO_ADDR) | B(OO_PASID) },
	{ "device-stop", SCN_OP_DEVICE_STOP, T_BOND, B(OO_MARKER) | B(OO_EXPECT) },
	{ "device-start", SCN_OP_DEVICE_START, T_BOND, B(OO_EXPECT) },
	{ "wait-stopped", SCN_OP_WAIT_STOPPED, T_BOND, B(OO_TIMEOUT) | B(OO_EXPECT) },
	{ "stop", SCN_OP_STOP, T_BOND, B(OO_ABANDON) | B(OO_EXPECT) },
	{ "drain", SCN_OP_DRAIN, T_BOND, B(OO_TIMEOUT) | B(OO_ABANDON) | B(OO_EXPECT) },
	{ "resume", SCN_OP_RESUME, T_BOND, B(OO_EXPECT) },
	{ "unbind", SCN_OP_UNBIND, T_BOND,
	  B(OO_STOP_MARKER) | B(OO_FORCE) | B(OO_NO_DRAIN) | B(OO_EXPECT) },
	{ "bind", SCN_OP_BIND, T_BOND, B(OO_EXPECT) },
	{ "bind-again", SCN_OP_BIND, T_BOND, B(OO_EXPECT) },
	{ "dev-stop", SCN_OP_DEV_STOP, T_DEVICE, B(OO_ABANDON) | B(OO_EXPECT) },
	{ "dev-drain", SCN_OP_DEV_DRAIN, T_DEVICE, B(OO_TIMEOUT) | B(OO_ABANDON) | B(OO_EXPECT) },
	{ "dev-resume", SCN_OP_DEV_RESUME, T_DEVICE, B(OO_EXPECT) },
	{ "dev-unbind", SCN_OP_DEV_UNBIND, T_DEVICE, B(OO_FORCE) | B(OO_EXPECT) },
	{ "flr", SCN_OP_FLR, T_DEVICE, B(OO_EXPECT) },
	{ "remove", SCN_OP_REMOVE, T_DEVICE, B(OO_EXPECT) },
	{ "respond-deferred", SCN_OP_RESPOND_DEFERRED, T_BOND, B(OO_CODE) },
	{ "process", SCN_OP_PROCESS, T_NONE, B(OO_BUDGET) | B(OO_EXPECT) },
	{ "overflow", SCN_OP_OVERFLOW, T_NONE, B(OO_EXPECT) },
};
#undef B

static int parse_access(const char *v, uint8_t *out)
{
	uint8_t a = 0;
	for (; *v; v++) {
		uint8_t bit;
		switch (*v) {
		case 'r': bit = SIM_R; break;
		case 'w': bit = SIM_W; break;
		case 'x': bit = SIM_X; break;
		case 'p': bit = SIM_P; break;
		default: return -EINVAL;
		}
		if (a & bit)
			return -EINVAL;
		a |= bit;
	}
	if (!(a & (SIM_R | SIM_W)))
		return -EINVAL; /* a page request asks for read and/or write access */
	*out = a;
	return 0;
}

static int dir_at(struct parser *p)
{
	struct scn_op op;
	uint64_t at, seen = 0, v64;
	if (p->ntok < 3)
		return perr(p, "expected `at <time> <operation> ...`");
	const char *t = p->tok[1];
	bool rel = t[0] == '+';
	if (parse_time(rel ? t + 1 : t, &at))
		return perr(p, "expected a time after `at` (like 0, 10us, 2ms, +5us), got " TOKF,
			    TOKA(t));
	if (rel) {
		if (at > UINT64_MAX - p->last_at)
			return perr(p, "time " TOKF " is out of range", TOKA(t));
		at += p->last_at;
	}
	if (at > 3600ull * 1000000000ull)
		return perr(p, "time " TOKF " is past the one hour a scenario may last", TOKA(t));
	p->last_at = at;

	const char *opname = p->tok[2];
	unsigned k;
	for (k = 0; k < NELEM(op_table); k++)
		if (!strcmp(op_table[k].name, opname))
			break;
	if (k == NELEM(op_table))
		return perr(p,
			    "unknown operation " TOKF " (expected fault, device-stop, device-start, "
			    "wait-stopped, stop, drain, resume, unbind, bind, bind-again, dev-stop, "
			    "dev-drain, dev-resume, dev-unbind, flr, remove, respond-deferred, "
			    "process)",
			    TOKA(opname));
	unsigned first_opt = 3;
	scn_op_init(&op, op_table[k].kind, at, 0);
	op.line = p->line;
	if (op_table[k].target != T_NONE) {
		if (p->ntok < 4)
			return perr(p, "expected a %s name after `%s`",
				    op_table[k].target == T_DEVICE  ? "device"
				    : op_table[k].target == T_BOND ? "bond"
								   : "bond or device",
				    opname);
		const char *nm = p->tok[3];
		int bi = op_table[k].target != T_DEVICE ? scn_find_bond(p->s, nm) : -1;
		int di = op_table[k].target != T_BOND ? scn_find_device(p->s, nm) : -1;
		if (bi >= 0) {
			op.target = (unsigned)bi;
		} else if (di >= 0) {
			op.target = (unsigned)di;
			op.on_device = op_table[k].kind == SCN_OP_FAULT;
		} else {
			bool other = op_table[k].target == T_BOND ? scn_find_device(p->s, nm) >= 0
				   : op_table[k].target == T_DEVICE ? scn_find_bond(p->s, nm) >= 0
								    : false;
			return perr(p, "`%s` needs a %s, got " TOKF "%s", opname,
				    op_table[k].target == T_DEVICE  ? "device"
				    : op_table[k].target == T_BOND ? "bond"
								   : "bond or device",
				    TOKA(nm),
				    other ? (op_table[k].target == T_BOND ? " (that is a device)"
									  : " (that is a bond)")
					  : " (unknown name; declare it before use)");
		}
		first_opt = 4;
	}
	uint32_t allowed = op_table[k].opts;
	if (op.kind == SCN_OP_FAULT && !op.on_device)
		allowed &= ~(1u << OO_PASID);
	for (unsigned i = first_opt; i < p->ntok; i++) {
		const char *v, *w = p->tok[i];
		int o = find_opt(p, opname, op_opts, NELEM(op_opts), allowed, w, &v, &seen);
		if (o < 0)
			return o;
		const struct optspec *os = &op_opts[o];
		switch (o) {
		case OO_PAGES:
			if (parse_u64(v, &v64) || v64 < 1 || v64 > 512)
				return bad(p, os, opname, w);
			op.pages = (uint32_t)v64;
			break;
		case OO_COUNT:
			if (parse_u64(v, &v64) || v64 < 1 || v64 > 1000000000ull)
				return bad(p, os, opname, w);
			op.count = (uint32_t)v64;
			break;
		case OO_EVERY:
			if (parse_time(v, &v64) || v64 < 1 || v64 > 3600ull * 1000000000ull)
				return bad(p, os, opname, w);
			op.every_ns = v64;
			break;
		case OO_ACCESS:
			if (parse_access(v, &op.access))
				return bad(p, os, opname, w);
			break;
		case OO_ADDR:
			if (parse_u64(v, &v64) || (v64 & 0xfff))
				return bad(p, os, opname, w);
			op.addr = v64;
			break;
		case OO_PASID:
			if (parse_pasid(v, &op.pasid))
				return bad(p, os, opname, w);
			break;
		case OO_MARKER: {
			bool yn;
			if (parse_yesno(v, &yn))
				return bad(p, os, opname, w);
			op.flags = (op.flags & ~SCN_F_MARKER) | (yn ? SCN_F_MARKER : 0);
			break;
		}
		case OO_TIMEOUT:
			if (parse_time(v, &v64) || v64 > 3600ull * 1000000000ull)
				return bad(p, os, opname, w);
			op.timeout_ns = v64;
			break;
		case OO_ABANDON:
			op.flags |= SCN_F_ABANDON;
			break;
		case OO_STOP_MARKER:
			op.flags |= SCN_F_STOP_MARKER;
			break;
		case OO_FORCE:
			op.flags |= SCN_F_FORCE;
			break;
		case OO_NO_DRAIN:
			op.flags |= SCN_F_NO_DRAIN;
			break;
		case OO_EXPECT:
			if (parse_expect_list(v, &op))
				return bad(p, os, opname, w);
			break;
		case OO_CODE: {
			int c = parse_resp(v);
			if (c < 0)
				return bad(p, os, opname, w);
			op.code = (int8_t)c;
			break;
		}
		case OO_BUDGET:
			if (parse_u64(v, &v64) || v64 > UINT32_MAX)
				return bad(p, os, opname, w);
			op.budget = (uint32_t)v64;
			break;
		}
	}
	/* Defaults and requirements that depend on the target. */
	if (op.kind == SCN_OP_DEVICE_STOP) {
		const struct scn_bond *b = &p->s->bonds[op.target];
		if (!(seen & (1u << OO_MARKER)) && p->s->devices[b->dev].cfg.uses_stop_markers &&
		    b->pasid != PRQD_NO_PASID)
			op.flags |= SCN_F_MARKER;
		if ((op.flags & SCN_F_MARKER) && b->pasid == PRQD_NO_PASID)
			return perr(p, "`device-stop %s marker=yes`: a Stop Marker needs a PASID and "
				       "bond `%s` has none",
				    b->name, b->name);
	}
	if (op.kind == SCN_OP_FAULT && op.on_device) {
		if (!(seen & (1u << OO_PASID)))
			return perr(p, "`fault` on device `%s` needs `pasid=<number>|none` (or name a "
				       "bond instead)",
				    p->s->devices[op.target].name);
		const struct scn_device *d = &p->s->devices[op.target];
		if (!pasid_fits(d, op.pasid))
			return perr(p, "pasid %u does not fit device `%s` (pasid-width=%u)", op.pasid,
				    d->name, d->cfg.pasid_width);
	}
	if (op.kind == SCN_OP_DEV_UNBIND && !(op.flags & SCN_F_FORCE))
		return perr(p, "`dev-unbind` needs `force` (without it a failed unbind would leave "
			       "some bonds alive that the scenario can no longer name; unbind them "
			       "one by one instead)");
	int r = scn_add_op(p->s, &op);
	if (r == -ENOMEM)
		return oom(p);
	return r < 0 ? perr(p, "operation rejected") : 0;
}

/* ---- expect KEY OP VALUE ------------------------------------------------------------------- */

static int dir_expect(struct parser *p)
{
	static const char *const cmps[] = { "==", "!=", "<", "<=", ">", ">=" };
	int r = need_args(p, 4, "expect <key> <==|!=|<|<=|>|>=> <value>");
	if (r)
		return r;
	unsigned c;
	for (c = 0; c < 6; c++)
		if (!strcmp(p->tok[2], cmps[c]))
			break;
	if (c == 6)
		return perr(p, "expected a comparison (==, !=, <, <=, >, >=) after `expect %.48s`, "
			       "got " TOKF,
			    p->tok[1], TOKA(p->tok[2]));
	uint64_t v = 0;
	const char *vt = p->tok[3];
	bool yn, is_key = false;
	if (strlen(p->tok[1]) > SCN_KEY_MAX || strlen(vt) > SCN_KEY_MAX)
		return perr(p, "expectation key longer than %d characters", SCN_KEY_MAX);
	if (!parse_yesno(vt, &yn))
		v = yn;
	else if (parse_u64(vt, &v) && parse_time(vt, &v)) {
		/* Not a constant: another counter (keys start with a letter). */
		if (!((vt[0] >= 'a' && vt[0] <= 'z') || (vt[0] >= 'A' && vt[0] <= 'Z')))
			return perr(p, "expected a number, a time (like 5us), yes|no or a key as the "
				       "value, got " TOKF,
				    TOKA(vt));
		is_key = true;
	}
	char why[512];
	r = is_key ? scn_add_expect_key(p->s, p->tok[1], (enum scn_cmp)c, vt, p->line, why,
					sizeof(why))
		   : scn_add_expect(p->s, p->tok[1], (enum scn_cmp)c, v, p->line, why, sizeof(why));
	if (r == -ENOMEM)
		return oom(p);
	if (r < 0)
		return perr(p, "%s", why);
	return 0;
}

/* ---- lines ---------------------------------------------------------------------------------- */

static int do_line(struct parser *p)
{
	const char *d = p->tok[0];
	if (!strcmp(d, "seed"))
		return dir_seed(p);
	if (!strcmp(d, "param"))
		return dir_param(p);
	if (!strcmp(d, "fabric"))
		return dir_fabric(p);
	if (!strcmp(d, "platform"))
		return dir_platform(p);
	if (!strcmp(d, "poll"))
		return dir_time_setting(p, &p->s->poll_ns, 100, 1000000, "poll <time>");
	if (!strcmp(d, "limit"))
		return dir_time_setting(p, &p->s->limit_ns, 1000, 3600ull * 1000000000ull,
					"limit <time>");
	if (!strcmp(d, "settle"))
		return dir_time_setting(p, &p->s->settle_ns, 0, 1000000000ull, "settle <time>");
	if (!strcmp(d, "device"))
		return dir_device(p);
	if (!strcmp(d, "bind"))
		return dir_bind(p);
	if (!strcmp(d, "at"))
		return dir_at(p);
	if (!strcmp(d, "expect"))
		return dir_expect(p);
	return perr(p, "unknown directive " TOKF " (expected seed, param, fabric, poll, limit, "
		       "settle, device, bind, at, expect)",
		    TOKA(d));
}

/*
 * Copy one line (without its newline) into p->buf, check its bytes, cut the comment and split
 * it into words. Printable ASCII and tabs only, except in comments, which may hold any byte
 * but NUL (UTF-8 prose is fine there).
 */
static int lex_line(struct parser *p, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	if (n > SCN_LINE_MAX)
		return perr(p, "line too long (%zu bytes; at most %d)", n, SCN_LINE_MAX);
	size_t keep = n;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return perr(p, "NUL byte at column %zu (is this a text file?)", i + 1);
		if (keep == n && c == '#')
			keep = i;
		if (keep == n && c != '\t' && (c < 0x20 || c > 0x7e))
			return perr(p, "unexpected byte 0x%02x at column %zu (only printable ASCII "
				       "outside comments)",
				    c, i + 1);
	}
	memcpy(p->buf, s, keep);
	p->buf[keep] = '\0';
	p->ntok = 0;
	char *c = p->buf;
	for (;;) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (!*c)
			break;
		if (p->ntok == TOKENS_MAX)
			return perr(p, "too many words on one line (at most %d)", TOKENS_MAX);
		p->tok[p->ntok++] = c;
		while (*c && *c != ' ' && *c != '\t')
			c++;
		if (*c)
			*c++ = '\0';
	}
	return 0;
}

int scn_parse(const char *text, size_t len, const char *filename, struct scn **out, char *err,
	      size_t errlen)
{
	struct parser *p;
	struct scn *s;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!filename)
		filename = "<scenario>";
	if (!text && len)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p || scn_new(filename, &s) < 0) {
		free(p);
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", filename);
		return -ENOMEM;
	}
	p->s = s;
	p->file = filename;
	p->err = err;
	p->errlen = errlen;
	size_t pos = 0;
	r = 0;
	while (pos < len && r == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		p->line++;
		r = lex_line(p, text + pos, n);
		if (r == 0 && p->ntok)
			r = do_line(p);
		pos += n + 1;
	}
	free(p);
	if (r < 0) {
		scn_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int scn_load_file(const char *path, struct scn **out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	size_t cap = 0, len = 0;
	char *buf = NULL;
	int r = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= FILE_SIZE_MAX) {
				if (err && errlen)
					snprintf(err, errlen, "%s: larger than %u MiB", path,
						 FILE_SIZE_MAX >> 20);
				r = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 16384;
			char *nb = realloc(buf, cap);
			if (!nb) {
				r = -ENOMEM;
				if (err && errlen)
					snprintf(err, errlen, "%s: out of memory", path);
				break;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				r = -errno;
				if (r == 0)
					r = -EIO;
				/* A directory opens but does not read (EISDIR): say which. */
				if (err && errlen)
					snprintf(err, errlen, "%s: %s", path, strerror(-r));
			}
			break;
		}
	}
	fclose(f);
	if (r == 0)
		r = scn_parse(buf, len, path, out, err, errlen);
	free(buf);
	return r;
}

/* ---- writing -------------------------------------------------------------------------------- */

static const char *fmt_time(char *buf, size_t n, uint64_t ns)
{
	if (ns == 0)
		snprintf(buf, n, "0");
	else if (ns % 1000000000ull == 0)
		snprintf(buf, n, "%llus", (unsigned long long)(ns / 1000000000ull));
	else if (ns % 1000000 == 0)
		snprintf(buf, n, "%llums", (unsigned long long)(ns / 1000000));
	else if (ns % 1000 == 0)
		snprintf(buf, n, "%lluus", (unsigned long long)(ns / 1000));
	else
		snprintf(buf, n, "%lluns", (unsigned long long)ns);
	return buf;
}

static const char *fmt_pasid(char *buf, size_t n, uint32_t pasid)
{
	if (pasid == PRQD_NO_PASID)
		snprintf(buf, n, "none");
	else
		snprintf(buf, n, "%u", pasid);
	return buf;
}

static void write_op(FILE *f, const struct scn *s, const struct scn_op *op)
{
	char t1[32], t2[32];
	fprintf(f, "at %s %s", fmt_time(t1, sizeof(t1), op->at_ns), scn_op_name(op->kind));
	if (scn_op_has_target(op)) {
		bool dev = scn_op_on_device(op);
		fprintf(f, " %s", dev ? s->devices[op->target].name : s->bonds[op->target].name);
	}
	switch (op->kind) {
	case SCN_OP_FAULT:
		if (op->on_device)
			fprintf(f, " pasid=%s", fmt_pasid(t1, sizeof(t1), op->pasid));
		fprintf(f, " pages=%u count=%u every=%s access=%s%s%s%s", op->pages, op->count,
			fmt_time(t2, sizeof(t2), op->every_ns), op->access & SIM_R ? "r" : "",
			op->access & SIM_W ? "w" : "", op->access & SIM_X ? "x" : "",
			op->access & SIM_P ? "p" : "");
		if (op->addr)
			fprintf(f, " addr=0x%llx", (unsigned long long)op->addr);
		break;
	case SCN_OP_DEVICE_STOP:
		fprintf(f, " marker=%s", op->flags & SCN_F_MARKER ? "yes" : "no");
		break;
	case SCN_OP_WAIT_STOPPED:
	case SCN_OP_DRAIN:
	case SCN_OP_DEV_DRAIN: {
		/* Left out only when it is what leaving it out means for this kind (wait-stopped
		 * defaults to 1 ms, so its timeout=0 must be written). */
		struct scn_op dflt;
		scn_op_init(&dflt, op->kind, 0, 0);
		if (op->timeout_ns != dflt.timeout_ns)
			fprintf(f, " timeout=%s", fmt_time(t1, sizeof(t1), op->timeout_ns));
		break;
	}
	case SCN_OP_RESPOND_DEFERRED:
		if (op->code >= 0)
			fprintf(f, " code=%s", resp_names[op->code]);
		break;
	case SCN_OP_PROCESS:
		if (op->budget)
			fprintf(f, " budget=%u", op->budget);
		break;
	default:
		break;
	}
	if (op->flags & SCN_F_ABANDON)
		fprintf(f, " abandon");
	if (op->flags & SCN_F_STOP_MARKER)
		fprintf(f, " stop-marker");
	if (op->flags & SCN_F_FORCE)
		fprintf(f, " force");
	if (op->flags & SCN_F_NO_DRAIN)
		fprintf(f, " no-drain");
	if (op->kind != SCN_OP_FAULT && op->kind != SCN_OP_RESPOND_DEFERRED) {
		if (op->nexpect == 0) {
			fprintf(f, " expect=any");
		} else if (!(op->nexpect == 1 && op->expect[0] == 0)) {
			fprintf(f, " expect=");
			for (unsigned i = 0; i < op->nexpect; i++)
				fprintf(f, "%s%s", i ? "|" : "", scn_errno_name(op->expect[i]));
		}
	}
	fputc('\n', f);
}

int scn_write(FILE *f, const struct scn *s)
{
	static const char *const cmps[] = { "==", "!=", "<", "<=", ">", ">=" };
	char t1[32], t2[32], t3[32];
	fprintf(f, "# %s\nseed %llu\n", s->file, (unsigned long long)s->seed);
	fprintf(f, "poll %s\nlimit %s\nsettle %s\n", fmt_time(t1, sizeof(t1), s->poll_ns),
		fmt_time(t2, sizeof(t2), s->limit_ns), fmt_time(t3, sizeof(t3), s->settle_ns));
	if (s->fabric.set) {
		fprintf(f, "fabric");
		if (s->fabric.set & SCN_FABRIC_LAT)
			fprintf(f, " latency=%s..%s", fmt_time(t1, sizeof(t1), s->fabric.lat_min_ns),
				fmt_time(t2, sizeof(t2), s->fabric.lat_max_ns));
		if (s->fabric.set & SCN_FABRIC_RESP)
			fprintf(f, " response-latency=%s",
				fmt_time(t1, sizeof(t1), s->fabric.resp_lat_ns));
		if (s->fabric.set & SCN_FABRIC_RELAX)
			fprintf(f, " relax-step=%s", fmt_time(t1, sizeof(t1), s->fabric.relax_step_ns));
		fputc('\n', f);
	}
	if (s->pasid_entries)
		fprintf(f, "platform pasid-entries\n");
	for (unsigned i = 0; i < s->nparams; i++)
		fprintf(f, "param %s %s\n", s->params[i].name, s->params[i].value);
	struct scn_device dflt;
	scn_device_init(&dflt, "", 0);
	for (unsigned i = 0; i < s->ndevices; i++) {
		const struct sim_dev_cfg *c = &s->devices[i].cfg;
		fprintf(f,
			"device %s rid=0x%04x capacity=%u pasid-width=%u pasid-resp=%s "
			"stop-markers=%s atc=%s atc-latency=%s refault=%u",
			s->devices[i].name, c->rid, c->capacity, c->pasid_width,
			c->prg_resp_pasid_required ? "yes" : "no",
			c->uses_stop_markers ? "yes" : "no", atc_names[c->atc_mode % 3],
			fmt_time(t1, sizeof(t1), c->atc_lat_ns), c->refault_permille);
		if (c->misbehave) {
			fprintf(f, " misbehave=");
			bool first = true;
			for (unsigned b = 0; b < 4; b++)
				if (c->misbehave & (1u << b)) {
					fprintf(f, "%s%s", first ? "" : ",", misbehave_names[b]);
					first = false;
				}
		}
		/* The rate is kept even while nothing misbehaves: the structure must come back. */
		if (c->misbehave || c->misbehave_permille != dflt.cfg.misbehave_permille)
			fprintf(f, " misbehave-rate=%u", c->misbehave_permille);
		fputc('\n', f);
	}
	for (unsigned i = 0; i < s->nbonds; i++) {
		const struct scn_bond *b = &s->bonds[i];
		fprintf(f, "bind %s %s pasid=%s handler=", b->name, s->devices[b->dev].name,
			fmt_pasid(t1, sizeof(t1), b->pasid));
		switch (b->handler.kind) {
		case SCN_HANDLER_SUCCESS: fprintf(f, "success"); break;
		case SCN_HANDLER_INVALID: fprintf(f, "invalid"); break;
		case SCN_HANDLER_FAILURE: fprintf(f, "failure"); break;
		case SCN_HANDLER_NEVER: fprintf(f, "never"); break;
		default:
			fprintf(f, "defer:%s:%s", fmt_time(t1, sizeof(t1), b->handler.delay_ns),
				resp_names[b->handler.code % 3]);
		}
		if (!b->bound)
			fprintf(f, " bound=no");
		fputc('\n', f);
	}
	for (unsigned i = 0; i < s->nops; i++)
		write_op(f, s, &s->ops[i]);
	for (unsigned i = 0; i < s->nexpects; i++) {
		const struct scn_expect *e = &s->expects[i];
		if (e->rhs_is_key)
			fprintf(f, "expect %s %s %s\n", e->key, cmps[e->cmp % 6], e->rhs_key);
		else
			fprintf(f, "expect %s %s %llu\n", e->key, cmps[e->cmp % 6],
				(unsigned long long)e->value);
	}
	return ferror(f) ? -EIO : 0;
}
