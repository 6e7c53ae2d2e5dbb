/* SPDX-License-Identifier: MIT */
/*
 * check-api: the public API's argument checking and error returns, one path at a time:
 * NULL arguments, sizes, flags, parameters, backends, environment, logging, wrong-state
 * calls, duplicate objects, and the response rules (-EINVAL keeps the group, a second answer
 * is -ESTALE). Every error is checked by its exact value and for having changed nothing.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <prqdrain-pci.h>
#include <prqdrain-uevent.h>

#include "tests/testutil.h"
#include "tests/check-main.h"

#define RID 0x0100

static struct tw w;
static struct rec rec;

static void setup(void)
{
	tw_setup(&w, 0);
	rec_init(&rec, PRQD_RESP_SUCCESS);
}

static void teardown(void)
{
	tw_teardown(&w);
	rec_fini(&rec);
}

/* A context on a fresh test platform that reads the environment. */
static struct prqd_ctx *ctx_env(struct test_platform *tp, const char *log, const char *backend,
				uint32_t flags)
{
	tp_init(tp, 0);
	tp->env_log = log;
	tp->env_backend = backend;
	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &tp->p, .flags = flags };
	struct prqd_ctx *ctx = NULL;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), 0);
	return ctx;
}

static void ctx_env_done(struct test_platform *tp, struct prqd_ctx *ctx)
{
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
	ck_assert_uint_eq(tp->live, 0);
	ck_assert_uint_eq(tp->bad_frees, 0);
	tp_fini(tp);
}

/* ---- errno compatibility ---- */

START_TEST(errno_values)
{
	ck_assert_int_eq(PRQD_EPERM, EPERM);
	ck_assert_int_eq(PRQD_ENOENT, ENOENT);
	ck_assert_int_eq(PRQD_EIO, EIO);
	ck_assert_int_eq(PRQD_EAGAIN, EAGAIN);
	ck_assert_int_eq(PRQD_ENOMEM, ENOMEM);
	ck_assert_int_eq(PRQD_EBUSY, EBUSY);
	ck_assert_int_eq(PRQD_EEXIST, EEXIST);
	ck_assert_int_eq(PRQD_ENODEV, ENODEV);
	ck_assert_int_eq(PRQD_EINVAL, EINVAL);
	ck_assert_int_eq(PRQD_ERANGE, ERANGE);
	ck_assert_int_eq(PRQD_EDEADLK, EDEADLK);
	ck_assert_int_eq(PRQD_ENOSPC, ENOSPC);
	ck_assert_int_eq(PRQD_EPROTO, EPROTO);
	ck_assert_int_eq(PRQD_EBADMSG, EBADMSG);
	ck_assert_int_eq(PRQD_EOPNOTSUPP, EOPNOTSUPP);
	ck_assert_int_eq(PRQD_ESHUTDOWN, ESHUTDOWN);
	ck_assert_int_eq(PRQD_ETIMEDOUT, ETIMEDOUT);
	ck_assert_int_eq(PRQD_EALREADY, EALREADY);
	ck_assert_int_eq(PRQD_EINPROGRESS, EINPROGRESS);
	ck_assert_int_eq(PRQD_ESTALE, ESTALE);
	ck_assert_str_eq(strerror(PRQD_ETIMEDOUT), strerror(ETIMEDOUT));
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_ACTIVE), "active");
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_STOPPING), "stopping");
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_DRAINING), "draining");
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_STOPPED), "stopped");
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_UNBINDING), "unbinding");
	ck_assert_str_eq(prqd_bond_state_name(PRQD_BOND_FREED), "freed");
	ck_assert_str_eq(prqd_bond_state_name(0), "?");
	ck_assert_str_eq(prqd_bond_state_name(99), "?");
	ck_assert_str_eq(prqd_trace_type_name(PRQD_TR_REQUEST), "request");
	for (uint32_t t = PRQD_TR_REQUEST; t <= PRQD_TR_DRAIN_END; t++)
		ck_assert_str_ne(prqd_trace_type_name(t), "?");
	ck_assert_str_eq(prqd_trace_type_name(0), "?");
	ck_assert_str_eq(prqd_trace_type_name(PRQD_TR_DRAIN_END + 1), "?");
	ck_assert_str_eq(prqd_trace_type_name(UINT32_MAX), "?");
}
END_TEST

/* ---- context ---- */

START_TEST(ctx_new_errors)
{
	struct test_platform tp;
	tp_init(&tp, 0);
	struct prqd_ctx *ctx = (struct prqd_ctx *)&tp; /* sentinel: must not be overwritten */
	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &tp.p };

	ck_assert_int_eq(prqd_ctx_new(&o, NULL), -EINVAL);
	o.size = 4;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	o.size = sizeof(o);
	o.flags = 1u << 5;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	o.flags = 0;

	/* Required callbacks missing. */
	struct prqd_platform p = tp.p;
	p.alloc = NULL;
	o.platform = &p;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	p = tp.p;
	p.free = NULL;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	p = tp.p;
	p.now_ns = NULL;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	/* Locks are all four or none. */
	p = tp.p;
	p.unlock = NULL;
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	/* A table too small to hold the required fields. */
	p = tp.p;
	p.size = offsetof(struct prqd_platform, alloc);
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), -EINVAL);
	ck_assert_ptr_eq(ctx, (struct prqd_ctx *)&tp);
	ck_assert_uint_eq(tp.allocs, 0);

	/* A table that ends after now_ns: the optional fields read as absent. */
	p = tp.p;
	p.size = offsetof(struct prqd_platform, relax);
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), 0);
	ck_assert_ptr_null(prqd_ctx_unref(ctx));

	/* NULL opts and NULL platform: the hosted default platform. */
	ctx = NULL;
	ck_assert_int_eq(prqd_ctx_new(NULL, &ctx), 0);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
	struct prqd_ctx_opts o2 = { .size = sizeof(o2) };
	ck_assert_int_eq(prqd_ctx_new(&o2, &ctx), 0);
	ck_assert_ptr_null(prqd_ctx_unref(ctx));

	ck_assert_uint_eq(tp.live, 0);
	tp_fini(&tp);
}
END_TEST

START_TEST(ctx_refcount)
{
	struct test_platform tp;
	struct prqd_ctx *ctx = ctx_env(&tp, NULL, NULL, PRQD_CTX_IGNORE_ENV);
	ck_assert_ptr_eq(prqd_ctx_ref(ctx), ctx);
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
	ck_assert_uint_gt(tp.live, 0); /* one reference left */
	ck_assert_ptr_null(prqd_ctx_ref(NULL));
	ck_assert_ptr_null(prqd_ctx_unref(NULL));

	/* An IOMMU holds a reference: the ctx outlives the caller's. */
	struct prqd_iommu *iommu = NULL;
	ck_assert_int_eq(prqd__iommu_open_backend(ctx, &test_backend, NULL, &iommu), 0);
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
	ck_assert_uint_gt(tp.live, 0);
	ck_assert_str_eq(prqd_iommu_backend(iommu), "script");
	ck_assert_int_eq(prqd_iommu_close(iommu), 0);
	ck_assert_uint_eq(tp.live, 0);
	tp_fini(&tp);
}
END_TEST

/* ---- parameters ---- */

struct walk {
	unsigned n;
	const char *names[256];
	int stop_at;
	bool bad_range;
};

static int walk_fn(void *user, const struct prqd_param_info *info)
{
	struct walk *wk = user;
	ck_assert_ptr_nonnull(info->name);
	ck_assert_ptr_nonnull(info->help);
	if (info->def < info->min || info->def > info->max)
		wk->bad_range = true;
	if (wk->n < 256)
		wk->names[wk->n] = info->name;
	wk->n++;
	if (wk->stop_at && (int)wk->n == wk->stop_at)
		return 42;
	return 0;
}

START_TEST(params)
{
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_ctx *ctx = w.ctx;
	uint64_t v = 0;

	ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.drain_timeout_ms", &v), 0);
	ck_assert_uint_eq(v, 1000);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.drain_timeout_ms", "250"), 0);
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.drain_timeout_ms", &v), 0);
	ck_assert_uint_eq(v, 250);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.drain_timeout_ms", "0x10"), 0);
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.drain_timeout_ms", &v), 0);
	ck_assert_uint_eq(v, 16);

	/* Unknown parameter. */
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.nope", "1"), -ENOENT);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "drain_timeout_ms", "1"), -ENOENT);
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.nope", &v), -ENOENT);
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "", &v), -ENOENT);

	/* Bad values: refused, the old value stays. */
	const char *bad[] = { "",	"abc",	"12x", "0x",  "-1", " 5", "0", "3600001",
			      "0x1g", "99999999999999999999999", "1.5", "on" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(prqd_ctx_set_param(ctx, "core.drain_timeout_ms", bad[i]) == -EINVAL,
			      "value '%s' accepted", bad[i]);
		ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.drain_timeout_ms", &v), 0);
		ck_assert_uint_eq(v, 16);
	}
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.drain_timeout_ms", NULL), -EINVAL);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.fetch_batch", "1025"), -EINVAL);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.fetch_batch", "1024"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.fetch_batch", "1"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.pool_slack", "0"), 0);

	/* NULL arguments. */
	ck_assert_int_eq(prqd_ctx_set_param(NULL, "core.drain_timeout_ms", "1"), -EINVAL);
	ck_assert_int_eq(prqd_ctx_get_param(NULL, "core.drain_timeout_ms", &v), -EINVAL);
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "core.drain_timeout_ms", NULL), -EINVAL);
	int rc = prqd_ctx_set_param(ctx, NULL, "1");
	ck_assert_msg(rc == -EINVAL || rc == -ENOENT, "NULL name: %d", rc);
	rc = prqd_ctx_get_param(ctx, NULL, &v);
	ck_assert_msg(rc == -EINVAL || rc == -ENOENT, "NULL name: %d", rc);

	/* Every listed parameter can be read, and is at its default in a fresh context. */
	struct walk wk = { 0 };
	ck_assert_int_eq(prqd_param_walk(walk_fn, &wk), 0);
	ck_assert_uint_ge(wk.n, 4);
	ck_assert(!wk.bad_range);
	ck_assert_str_eq(wk.names[0], "core.drain_timeout_ms");
	bool seen[4] = { false };
	const char *core[4] = { "core.drain_timeout_ms", "core.pool_max", "core.pool_slack",
				"core.fetch_batch" };
	for (unsigned i = 0; i < wk.n && i < 256; i++) {
		ck_assert_int_eq(prqd_ctx_get_param(ctx, wk.names[i], &v), 0);
		for (unsigned j = 0; j < 4; j++)
			if (strcmp(wk.names[i], core[j]) == 0)
				seen[j] = true;
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(wk.names[i], wk.names[j]);
	}
	for (unsigned j = 0; j < 4; j++)
		ck_assert_msg(seen[j], "%s not listed", core[j]);
	/* Stable order; early stop returns the callback's value. */
	struct walk wk2 = { 0 };
	ck_assert_int_eq(prqd_param_walk(walk_fn, &wk2), 0);
	ck_assert_uint_eq(wk2.n, wk.n);
	for (unsigned i = 0; i < wk.n && i < 256; i++)
		ck_assert_str_eq(wk.names[i], wk2.names[i]);
	struct walk wk3 = { .stop_at = 2 };
	ck_assert_int_eq(prqd_param_walk(walk_fn, &wk3), 42);
	ck_assert_uint_eq(wk3.n, 2);
	ck_assert_int_eq(prqd_param_walk(NULL, NULL), -EINVAL);
	ck_assert_uint_eq(w.tp.live, 2); /* the context and its values: nothing else */
	tw_teardown(&w);
}
END_TEST

/* Parameters are copied at open: a later change does not reach an open IOMMU. */
START_TEST(params_snapshot_at_open)
{
	tw_setup(&w, TW_NO_OPEN);
	rec_init(&rec, PRQD_RESP_SUCCESS);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.drain_timeout_ms", "20"), 0);
	tw_open(&w);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.drain_timeout_ms", "500"), 0);
	ck_assert_uint_eq(prqd_iommu_param(w.iommu, "core.drain_timeout_ms"), 20);
	ck_assert_uint_eq(prqd_iommu_param(w.iommu, "core.nope"), 0);

	struct prqd_dev *dev = tw_dev(&w, RID);
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	w.t->drain_mode = TD_NEVER;
	uint64_t t0 = w.tp.now_ns;
	ck_assert_int_eq(prqd_drain(b, 0, 0), -ETIMEDOUT);
	uint64_t spent = w.tp.now_ns - t0;
	/* 20 ms on the fake clock, within one relax step. */
	ck_assert_uint_ge(spent, 20000000ull);
	ck_assert_uint_le(spent, 20000000ull + w.tp.step_ns);
	/* An explicit timeout wins over the parameter. */
	t0 = w.tp.now_ns;
	ck_assert_int_eq(prqd_drain(b, 0, 3), -ETIMEDOUT);
	spent = w.tp.now_ns - t0;
	ck_assert_uint_ge(spent, 3000000ull);
	ck_assert_uint_le(spent, 3000000ull + w.tp.step_ns);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	tw_teardown(&w);
}
END_TEST

/* An IOMMU opened with its own platform allocates (and locks) through it, not the ctx's. */
START_TEST(iommu_own_platform)
{
	tw_setup(&w, TW_NO_OPEN);
	rec_init(&rec, PRQD_RESP_SUCCESS);
	struct test_platform tp2;
	tp_init(&tp2, 0);
	uint64_t ctx_allocs = w.tp.allocs;
	struct prqd_iommu *iommu = NULL;
	ck_assert_int_eq(prqd__iommu_open_backend(w.ctx, &test_backend, &tp2.p, &iommu), 0);
	ck_assert_ptr_eq(prqd_iommu_platform(iommu)->user, &tp2);
	struct prqd_dev_info info = tw_info(RID);
	struct prqd_dev *dev = NULL;
	ck_assert_int_eq(prqd_dev_add(iommu, &info, &dev), 0);
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	struct test_iommu *t = tb_of(iommu);
	tq_group(t, RID, 3, 1, 2, 0x1000);
	ck_assert_int_eq(prqd_iommu_process(iommu, 0), 2);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.tp.allocs, ctx_allocs);
	ck_assert_uint_gt(tp2.allocs, 6);
	ck_assert_uint_gt(atomic_load(&tp2.relax_calls) + 1, 0);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(iommu), 0);
	ck_assert_uint_eq(tp2.live, 0);
	ck_assert_uint_eq(tp2.bad_frees, 0);
	tp_fini(&tp2);
	tw_teardown(&w);
	rec_fini(&rec);
}
END_TEST

/* ---- backends and the environment ---- */

START_TEST(backend_listing)
{
	unsigned n = 0;
	for (; prqd_backend_name(n, NULL); n++) {
		const char *help = NULL;
		const char *name = prqd_backend_name(n, &help);
		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(help);
		ck_assert_uint_gt(strlen(name), 0);
		ck_assert_str_ne(name, "script"); /* the test backend is not listed */
		for (unsigned j = 0; j < n; j++)
			ck_assert_str_ne(prqd_backend_name(j, NULL), name);
	}
	ck_assert_ptr_null(prqd_backend_name(n, NULL));
	ck_assert_ptr_null(prqd_backend_name(n + 1000, NULL));
	const char *help = "untouched";
	ck_assert_ptr_null(prqd_backend_name(UINT32_MAX, &help));
	ck_assert_str_eq(help, "untouched");
}
END_TEST

START_TEST(iommu_open_errors)
{
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_iommu *iommu = (struct prqd_iommu *)&w; /* sentinel */
	ck_assert_int_eq(prqd_iommu_open(NULL, NULL, NULL, &iommu), -EINVAL);
	ck_assert_int_eq(prqd_iommu_open(w.ctx, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(prqd_iommu_open(w.ctx, "no-such-backend", NULL, &iommu), -ENOENT);
	ck_assert_int_eq(prqd_iommu_open(w.ctx, "script", NULL, &iommu), -ENOENT);
	/* No backend probes successfully on a platform without hardware or a world. */
	ck_assert_int_eq(prqd_iommu_open(w.ctx, NULL, NULL, &iommu), -ENODEV);
	ck_assert_ptr_eq(iommu, (struct prqd_iommu *)&w);
	ck_assert_int_eq(prqd_iommu_close(NULL), -EINVAL);
	ck_assert_ptr_null(prqd_iommu_backend(NULL));

	/* A backend whose init fails: the error comes back, nothing leaks. */
	struct prqd_backend bad = test_backend;
	bad.ops.init = NULL; /* stub: -EOPNOTSUPP */
	ck_assert_int_eq(prqd__iommu_open_backend(w.ctx, &bad, NULL, &iommu), -EOPNOTSUPP);
	ck_assert_ptr_eq(iommu, (struct prqd_iommu *)&w);
	/* A platform passed to open that lacks required callbacks. */
	struct prqd_platform p = w.tp.p;
	p.alloc = NULL;
	ck_assert_int_eq(prqd__iommu_open_backend(w.ctx, &test_backend, &p, &iommu), -EINVAL);
	ck_assert_uint_eq(w.tp.live, 2);
	tw_teardown(&w);
}
END_TEST

START_TEST(env_backend)
{
	struct test_platform tp;
	struct prqd_iommu *iommu = NULL;

	/* PRQDRAIN_BACKEND names the backend when the caller passes NULL. */
	struct prqd_ctx *ctx = ctx_env(&tp, NULL, "no-such-backend", 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, NULL, NULL, &iommu), -ENOENT);
	/* An explicit name wins over the environment. */
	ck_assert_int_eq(prqd_iommu_open(ctx, "other-missing", NULL, &iommu), -ENOENT);
	if (prqd_backend_name(0, NULL)) {
		/* A compiled-in backend selected through the environment gets as far as its
		 * init, which finds no hardware here: -ENODEV, not -ENOENT. */
		tp.env_backend = prqd_backend_name(0, NULL);
		int rc = prqd_iommu_open(ctx, NULL, NULL, &iommu);
		ck_assert_msg(rc != -ENOENT, "PRQDRAIN_BACKEND=%s not found", tp.env_backend);
		if (rc == 0)
			ck_assert_int_eq(prqd_iommu_close(iommu), 0);
	}
	/* Empty: probing. */
	tp.env_backend = "";
	ck_assert_int_eq(prqd_iommu_open(ctx, NULL, NULL, &iommu), -ENODEV);
	ctx_env_done(&tp, ctx);

	/* PRQD_CTX_IGNORE_ENV: the environment is never consulted. */
	ctx = ctx_env(&tp, "debug", "no-such-backend", PRQD_CTX_IGNORE_ENV);
	ck_assert_int_eq(prqd_iommu_open(ctx, NULL, NULL, &iommu), -ENODEV);
	ck_assert_int_eq(prqd_ctx_get_log_priority(ctx), 0);
	ck_assert_uint_eq(atomic_load(&tp.env_lookups), 0);
	ctx_env_done(&tp, ctx);
}
END_TEST

/* ---- logging ---- */

struct logrec {
	unsigned n;
	int prio[64];
	char msg[64][256];
};

static void log_fn(void *user, int prio, const char *file, int line, const char *fn,
		   const char *msg)
{
	struct logrec *l = user;
	ck_assert_ptr_nonnull(file);
	ck_assert_ptr_nonnull(fn);
	ck_assert_int_gt(line, 0);
	ck_assert_ptr_nonnull(msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
	if (l->n < 64) {
		l->prio[l->n] = prio;
		snprintf(l->msg[l->n], sizeof(l->msg[0]), "%s", msg);
	}
	l->n++;
}

static bool log_has(const struct logrec *l, const char *needle)
{
	for (unsigned i = 0; i < l->n && i < 64; i++)
		if (strstr(l->msg[i], needle))
			return true;
	return false;
}

START_TEST(log_env_levels)
{
	struct test_platform tp;
	struct {
		const char *env;
		int prio;
	} cases[] = {
		{ NULL, 0 },	  { "debug", PRQD_LOG_DEBUG }, { "info", PRQD_LOG_INFO },
		{ "warning", PRQD_LOG_WARNING }, { "err", PRQD_LOG_ERR }, { "3", 3 },
		{ "7", 7 },	  { "garbage", 0 }, { "", 0 },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct prqd_ctx *ctx = ctx_env(&tp, cases[i].env, NULL, 0);
		ck_assert_msg(prqd_ctx_get_log_priority(ctx) == cases[i].prio,
			      "PRQDRAIN_LOG=%s: priority %d", cases[i].env ? cases[i].env : "(unset)",
			      prqd_ctx_get_log_priority(ctx));
		ck_assert_uint_ge(atomic_load(&tp.env_lookups), 1);
		ctx_env_done(&tp, ctx);
	}
	ck_assert_int_eq(prqd_ctx_get_log_priority(NULL), 0);
}
END_TEST

START_TEST(log_silent_by_default)
{
	struct logrec l = { 0 };
	tw_setup(&w, TW_NO_OPEN);
	/* A log function alone does not make the library talk. */
	prqd_ctx_set_log_fn(w.ctx, log_fn, &l);
	ck_assert_int_eq(prqd_ctx_get_log_priority(w.ctx), 0);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.nope", "1"), -ENOENT);
	tw_open(&w);
	struct prqd_dev *dev = tw_dev(&w, RID);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_uint_eq(l.n, 0);

	/* Raised: messages arrive, filtered by priority. */
	prqd_ctx_set_log_priority(w.ctx, PRQD_LOG_WARNING);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.nope", "1"), -ENOENT);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_int_eq(l.prio[0], PRQD_LOG_WARNING);
	ck_assert(log_has(&l, "core.nope"));
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.pool_max", "8"), 0); /* debug message */
	ck_assert_uint_eq(l.n, 1);
	prqd_ctx_set_log_priority(w.ctx, PRQD_LOG_DEBUG);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.pool_max", "9"), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.prio[1], PRQD_LOG_DEBUG);

	/* Removing the sink silences it again; nothing crashes without one. */
	prqd_ctx_set_log_fn(w.ctx, NULL, NULL);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.nope", "1"), -ENOENT);
	ck_assert_uint_eq(l.n, 2);
	prqd_ctx_set_log_fn(NULL, log_fn, &l);
	prqd_ctx_set_log_priority(NULL, 7);
	tw_teardown(&w);
}
END_TEST

START_TEST(log_enabled_by_env)
{
	struct test_platform tp;
	struct logrec l = { 0 };
	struct prqd_ctx *ctx = ctx_env(&tp, "debug", NULL, 0);
	prqd_ctx_set_log_fn(ctx, log_fn, &l);
	ck_assert_int_eq(prqd_iommu_open(ctx, "no-such-backend", NULL, &(struct prqd_iommu *){ 0 }),
			 -ENOENT);
	ck_assert_uint_ge(l.n, 1);
	ck_assert(log_has(&l, "no-such-backend"));
	ck_assert_int_eq(l.prio[0], PRQD_LOG_ERR);
	ctx_env_done(&tp, ctx);
}
END_TEST

/* ---- IOMMU ---- */

START_TEST(iommu_close_busy)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	ck_assert_int_eq(prqd_iommu_close(w.iommu), -EBUSY);
	/* Still usable. */
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), 1);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_int_eq(prqd_iommu_process(NULL, 0), -EINVAL);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_uint_eq(w.t->fini_calls, 0);
}
END_TEST

START_TEST(stats_size)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	tq_group(w.t, RID, 1, 1, 3, 0x1000);
	tw_process(&w);
	struct prqd_stats s;
	memset(&s, 0xee, sizeof(s));
	ck_assert_int_eq(prqd_iommu_stats(NULL, &s, sizeof(s)), -EINVAL);
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, NULL, sizeof(s)), -EINVAL);
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, &s, sizeof(s) + 8), -EINVAL);
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, &s, 12), -EINVAL);
	ck_assert_uint_eq(s.requests, 0xeeeeeeeeeeeeeeeeull);
	/* An older, shorter struct: only its fields are written. */
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, &s, 2 * sizeof(uint64_t)), 0);
	ck_assert_uint_eq(s.requests, 3);
	ck_assert_uint_eq(s.groups, 1);
	ck_assert_uint_eq(s.delivered, 0xeeeeeeeeeeeeeeeeull);
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, &s, 0), 0);
	ck_assert_int_eq(prqd_iommu_stats(w.iommu, &s, sizeof(s)), 0);
	ck_assert_uint_eq(s.doorbells, 0);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 1);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

/* ---- devices ---- */

START_TEST(dev_add_errors)
{
	struct prqd_dev_info info = tw_info(RID);
	struct prqd_dev *dev = (struct prqd_dev *)&w; /* sentinel */
	ck_assert_int_eq(prqd_dev_add(NULL, &info, &dev), -EINVAL);
	ck_assert_int_eq(prqd_dev_add(w.iommu, NULL, &dev), -EINVAL);
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, NULL), -EINVAL);
	info.size = offsetof(struct prqd_dev_info, pasid_width);
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), -EINVAL);
	info = tw_info(RID);
	info.pri_capacity = 0;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), -EINVAL);
	info = tw_info(RID);
	info.pasid_width = 21;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), -EINVAL);
	ck_assert_ptr_eq(dev, (struct prqd_dev *)&w);
	ck_assert_uint_eq(w.t->attached, 0);

	/* The backend's refusal comes back; nothing is left behind. */
	uint64_t live = w.tp.live;
	w.t->attach_err = -ENODEV;
	info = tw_info(RID);
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), -ENODEV);
	ck_assert_uint_eq(w.tp.live, live);
	w.t->attach_err = 0;

	/* Duplicate RID. */
	struct prqd_dev *d1 = tw_dev(&w, RID);
	ck_assert_uint_eq(prqd_dev_rid(d1), RID);
	ck_assert_uint_eq(prqd_dev_rid(NULL), 0);
	live = w.tp.live;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), -EEXIST);
	ck_assert_ptr_eq(dev, (struct prqd_dev *)&w);
	ck_assert_uint_eq(w.tp.live, live);
	ck_assert_uint_eq(w.t->attached - w.t->detached, 1);
	/* The first device still works. */
	struct prqd_bond *b = tw_bind(d1, 3, &rec);
	tq_group(w.t, RID, 3, 1, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_ptr_eq(rec.groups[0].bond, b);

	/* dev_remove with a bond. */
	ck_assert_int_eq(prqd_dev_remove(d1), -EBUSY);
	ck_assert_int_eq(prqd_dev_remove(NULL), -EINVAL);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(d1), 0);
	/* The RID can be added again. */
	d1 = tw_dev(&w, RID);
	ck_assert_int_eq(prqd_dev_remove(d1), 0);
	/* Pool sizing: the allocation (0 or above the capacity: the capacity), capped by
	 * core.pool_max, plus core.pool_slack. */
	struct {
		uint32_t cap, alloc, pool;
	} pools[] = { { 64, 0, 64 + 64 }, { 64, 8, 8 + 64 }, { 64, 100, 64 + 64 },
		      { 100000, 0, 4096 + 64 } };
	for (unsigned i = 0; i < sizeof(pools) / sizeof(pools[0]); i++) {
		info = tw_info(0x0700);
		info.pri_capacity = pools[i].cap;
		info.pri_alloc = pools[i].alloc;
		ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), 0);
		ck_assert_uint_eq(dev->pool.size, pools[i].pool);
		ck_assert_int_eq(prqd_dev_remove(dev), 0);
	}
	/* Limits that are valid. */
	info = tw_info(0xffff);
	info.pasid_width = 0;
	info.pri_capacity = UINT32_MAX; /* pool capped by core.pool_max */
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &dev), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

/* ---- bonds ---- */

START_TEST(bind_errors)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	struct prqd_bond *b = (struct prqd_bond *)&w; /* sentinel */
	ck_assert_int_eq(prqd_bind(NULL, 1, rec_handler, &rec, &b), -EINVAL);
	ck_assert_int_eq(prqd_bind(dev, 1, NULL, &rec, &b), -EINVAL);
	ck_assert_int_eq(prqd_bind(dev, 1, rec_handler, &rec, NULL), -EINVAL);
	ck_assert_int_eq(prqd_bind(dev, 1u << 20, rec_handler, &rec, &b), -EINVAL);
	ck_assert_int_eq(prqd_bind(dev, PRQD_NO_PASID - 1, rec_handler, &rec, &b), -EINVAL);
	ck_assert_ptr_eq(b, (struct prqd_bond *)&w);

	/* The largest PASID (a second-level leaf of its own) and a cookie of NULL. */
	struct prqd_bond *hi = NULL;
	ck_assert_int_eq(prqd_bind(dev, (1u << 20) - 1, rec_handler, &rec, &hi), 0);
	ck_assert_uint_eq(prqd_bond_pasid(hi), (1u << 20) - 1);

	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	ck_assert_int_eq(prqd_bind(dev, 1, rec_handler, &rec, &b), -EEXIST);
	struct prqd_bond *br = tw_bind(dev, PRQD_NO_PASID, &rec);
	ck_assert_int_eq(prqd_bind(dev, PRQD_NO_PASID, rec_handler, &rec, &b), -EEXIST);
	ck_assert_ptr_eq(b, (struct prqd_bond *)&w);
	/* Bound in any state but FREED: a stopped bond still owns its PASID. */
	ck_assert_int_eq(prqd_drain(b1, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bind(dev, 1, rec_handler, &rec, &b), -EEXIST);

	/* Accessors. */
	ck_assert_uint_eq(prqd_bond_pasid(b1), 1);
	ck_assert_uint_eq(prqd_bond_pasid(br), PRQD_NO_PASID);
	ck_assert_ptr_eq(prqd_bond_dev(b1), dev);
	ck_assert_uint_ne(prqd_bond_gen(b1), 0);
	ck_assert_uint_ne(prqd_bond_gen(b1), prqd_bond_gen(br));
	ck_assert_uint_eq(prqd_bond_outstanding(b1), 0);
	ck_assert_int_eq(prqd_bond_state(NULL), -EINVAL);
	ck_assert_uint_eq(prqd_bond_gen(NULL), 0);
	ck_assert_uint_eq(prqd_bond_pasid(NULL), PRQD_NO_PASID);
	ck_assert_ptr_null(prqd_bond_dev(NULL));
	ck_assert_uint_eq(prqd_bond_outstanding(NULL), 0);

	/* A device without PASID support takes only RID-only bonds. */
	struct prqd_dev_info info = tw_info(0x0200);
	info.pasid_width = 0;
	struct prqd_dev *np = NULL;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &np), 0);
	ck_assert_int_eq(prqd_bind(np, 0, rec_handler, &rec, &b), -EINVAL);
	struct prqd_bond *npr = tw_bind(np, PRQD_NO_PASID, &rec);

	ck_assert_int_eq(prqd_dev_unbind_all(dev, 0), 0);
	ck_assert_int_eq(prqd_unbind(npr, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_dev_remove(np), 0);
}
END_TEST

/* Many bonds: several bond slabs and PASID-table leaves; handles are not reused at once. */
START_TEST(many_bonds)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	enum { N = 300 };
	static struct prqd_bond *b[N];
	for (unsigned i = 0; i < N; i++) {
		b[i] = tw_bind(dev, i * 3001 % (1u << 20), &rec);
		for (unsigned j = 0; j < i; j++)
			ck_assert_ptr_ne(b[i], b[j]);
	}
	for (unsigned i = 0; i < N; i++)
		tq_group(w.t, RID, i * 3001 % (1u << 20), (uint16_t)(i % 512), 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, N);
	for (unsigned i = 0; i < N; i++)
		ck_assert_ptr_eq(rec.groups[i].bond, b[i]);
	ck_assert_uint_eq(dev->table.nleaves, 300); /* every PASID here has a leaf of its own */
	/* Unbind half and bind them again. Freed slots are reused last-freed-last (FIFO), after
	 * the 16 never-used slots of the last slab (slabs of 4, 8, 16, 32, then 64 each:
	 * 316 slots for 300 bonds): a dead handle stays dead as long as possible. */
	static struct prqd_bond *old[N];
	for (unsigned i = 0; i < N; i += 2) {
		ck_assert_int_eq(prqd_unbind(b[i], 0), 0);
		old[i] = b[i];
	}
	for (unsigned i = 0, r = 0; i < N; i += 2, r++) {
		b[i] = tw_bind(dev, i * 3001 % (1u << 20), &rec);
		if (r < 16) {
			for (unsigned k = 0; k < N; k += 2)
				ck_assert_ptr_ne(b[i], old[k]);
		} else {
			ck_assert_ptr_eq(b[i], old[2 * (r - 16)]);
		}
	}
	ck_assert_int_eq(prqd_dev_unbind_all(dev, 0), 0);
	ck_assert_uint_eq(dev->nbonds, 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

START_TEST(flags_and_states)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	struct prqd_bond *b = tw_bind(dev, 1, &rec);

	/* Unknown flags. */
	ck_assert_int_eq(prqd_stop(b, 1u << 7), -EINVAL);
	ck_assert_int_eq(prqd_drain(b, 1u << 7, 0), -EINVAL);
	ck_assert_int_eq(prqd_drain(b, 1u << 16, 0), -EINVAL); /* the internal flag is not API */
	ck_assert_int_eq(prqd_unbind(b, 1u << 7), -EINVAL);
	ck_assert_int_eq(prqd_dev_stop(dev, 1u << 7), -EINVAL);
	ck_assert_int_eq(prqd_dev_drain(dev, 1u << 7, 0), -EINVAL);
	/* Conflicting unbind flags. */
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN | PRQD_UNBIND_STOP_MARKER), -EINVAL);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(w.t->drain_starts, 0);
	/* NULL. */
	ck_assert_int_eq(prqd_stop(NULL, 0), -EINVAL);
	ck_assert_int_eq(prqd_drain(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(prqd_resume(NULL), -EINVAL);
	ck_assert_int_eq(prqd_unbind(NULL, 0), -EINVAL);
	ck_assert_int_eq(prqd_dev_stop(NULL, 0), -EINVAL);
	ck_assert_int_eq(prqd_dev_drain(NULL, 0, 0), -EINVAL);
	ck_assert_int_eq(prqd_dev_resume(NULL), -EINVAL);
	ck_assert_int_eq(prqd_dev_unbind_all(NULL, 0), -EINVAL);

	/* Wrong states. */
	ck_assert_int_eq(prqd_resume(b), 0); /* ACTIVE: nothing to do */
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_stop(b, 0), 0); /* idempotent */
	ck_assert_int_eq(prqd_stop(b, PRQD_STOP_ABANDON), 0);
	ck_assert_int_eq(prqd_resume(b), -EINVAL); /* STOPPING */
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	/* STOPPED already: drained again all the same, for what the device sent since. */
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->drain_starts, 2);
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_resume(b), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);

	/* An unbound bond: every call is -ESTALE while its slot is not reused. */
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_FREED);
	ck_assert_int_eq(prqd_stop(b, 0), -ESTALE);
	ck_assert_int_eq(prqd_stop(b, PRQD_STOP_ABANDON), -ESTALE);
	ck_assert_int_eq(prqd_drain(b, 0, 0), -ESTALE);
	ck_assert_int_eq(prqd_resume(b), -ESTALE);
	ck_assert_int_eq(prqd_unbind(b, 0), -ESTALE);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), -ESTALE);
	/* Rebinding the PASID gives another slot and a new generation; the old handle stays
	 * dead. */
	uint32_t gen = prqd_bond_gen(b);
	struct prqd_bond *b2 = tw_bind(dev, 1, &rec);
	ck_assert_ptr_ne(b2, b);
	ck_assert_uint_ne(prqd_bond_gen(b2), gen);
	ck_assert_int_eq(prqd_stop(b, 0), -ESTALE);
	ck_assert_int_eq(prqd_bond_state(b2), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_unbind(b2, 0), 0);

	/* Device-wide calls on a device without bonds. */
	ck_assert_int_eq(prqd_dev_stop(dev, 0), 0);
	ck_assert_int_eq(prqd_dev_resume(dev), 0);
	ck_assert_int_eq(prqd_dev_unbind_all(dev, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

START_TEST(unbind_no_drain_busy)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	rec.code = PRQD_RESP_DEFER;
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	tw_process(&w);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), -EBUSY);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 1);
	ck_assert_int_eq(prqd_respond(rec_pop_deferred(&rec), PRQD_RESP_SUCCESS), 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_uint_eq(w.t->drain_starts, 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

/* ---- responses ---- */

START_TEST(respond_rules)
{
	struct prqd_dev *dev = tw_dev(&w, RID);
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	rec.code = PRQD_RESP_DEFER;
	uint64_t tag = tq_group(w.t, RID, 1, 5, 2, 0x1000);
	tw_process(&w);
	struct prqd_group *g = rec_pop_deferred(&rec);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 1);
	ck_assert_uint_eq(prqd_group_count(g), 2);
	ck_assert_uint_eq(prqd_group_index(g), 5);
	ck_assert_ptr_eq(prqd_group_bond(g), b);
	ck_assert(prqd_group_request(g, 1)->last);
	ck_assert_ptr_null(prqd_group_request(g, 2));
	ck_assert_uint_eq(prqd_group_count(NULL), 0);
	ck_assert_ptr_null(prqd_group_request(NULL, 0));
	ck_assert_ptr_null(prqd_group_bond(NULL));
	ck_assert_uint_eq(prqd_group_index(NULL), 0);

	/* A bad code: refused, counted, the group stays the handler's. */
	ck_assert_int_eq(prqd_respond(g, 3), -EINVAL);
	ck_assert_int_eq(prqd_respond(g, -1), -EINVAL);
	ck_assert_int_eq(prqd_respond(g, PRQD_RESP_DEFER), -EINVAL);
	ck_assert_int_eq(prqd_respond(NULL, PRQD_RESP_SUCCESS), -EINVAL);
	ck_assert_uint_eq(tl_count(w.t), 0);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.bad_responses, 3);

	ck_assert_int_eq(prqd_respond(g, PRQD_RESP_INVALID), 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tl_get(w.t, 0).r.tag, tag);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 0);

	/* A second answer: -ESTALE, counted, nothing sent. */
	ck_assert_int_eq(prqd_respond(g, PRQD_RESP_SUCCESS), -ESTALE);
	ck_assert_uint_eq(tl_count(w.t), 1);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.bad_responses, 4);
	ck_assert_uint_eq(s.late_responses, 0);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 1);
	ck_assert_uint_eq(s.responses[PRQD_RESP_INVALID], 1);

	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
}
END_TEST

/* The library's version is the headers' (one build), and the string spells the three numbers. */
START_TEST(version)
{
	ck_assert_str_eq(prqd_version(), PRQD_VERSION_STRING);
	char spelled[32];
	snprintf(spelled, sizeof(spelled), "%d.%d.%d", PRQD_VERSION_MAJOR, PRQD_VERSION_MINOR,
		 PRQD_VERSION_MICRO);
	ck_assert_str_eq(prqd_version(), spelled);
	ck_assert_str_eq(prqd_version(), PACKAGE_VERSION);
}
END_TEST

#if !HAVE_LIBPCI || !HAVE_LIBNL
/* A Linux helper built without its library keeps its functions and says so: -EOPNOTSUPP,
 * nothing written (the rule of include/prqdrain-pci.h and include/prqdrain-uevent.h). */
START_TEST(linux_helpers_without_their_library)
{
#if !HAVE_LIBPCI
	struct prqd_pci *const untouched = (struct prqd_pci *)(uintptr_t)0x1;
	struct prqd_pci *pci = untouched;
	ck_assert_int_eq(prqd_pci_open(NULL, NULL, &pci), -EOPNOTSUPP);
	ck_assert_ptr_eq(pci, untouched);
	ck_assert_int_eq(prqd_pci_open(NULL, "no-such.dump", NULL), -EINVAL);
	ck_assert_ptr_null(prqd_pci_dev_next(NULL, NULL));
	prqd_pci_close(NULL);
#endif
#if !HAVE_LIBNL
	struct prqd_monitor *mon;
	ck_assert_int_eq(prqd_monitor_new(0, &mon), 0);
	ck_assert_int_eq(prqd_monitor_open(mon), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_monitor_fd(mon), -EBADF);
	ck_assert_int_eq(prqd_monitor_receive(mon, 0, NULL), -EOPNOTSUPP);
	prqd_monitor_free(mon);
#endif
}
END_TEST
#endif

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("standalone");
	tcase_add_test(tc, errno_values);
	tcase_add_test(tc, version);
#if !HAVE_LIBPCI || !HAVE_LIBNL
	tcase_add_test(tc, linux_helpers_without_their_library);
#endif
	tcase_add_test(tc, names);
	tcase_add_test(tc, ctx_new_errors);
	tcase_add_test(tc, ctx_refcount);
	tcase_add_test(tc, params);
	tcase_add_test(tc, params_snapshot_at_open);
	tcase_add_test(tc, iommu_own_platform);
	tcase_add_test(tc, backend_listing);
	tcase_add_test(tc, iommu_open_errors);
	tcase_add_test(tc, env_backend);
	tcase_add_test(tc, log_env_levels);
	tcase_add_test(tc, log_silent_by_default);
	tcase_add_test(tc, log_enabled_by_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("world");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, iommu_close_busy);
	tcase_add_test(tc, stats_size);
	tcase_add_test(tc, dev_add_errors);
	tcase_add_test(tc, bind_errors);
	tcase_add_test(tc, many_bonds);
	tcase_add_test(tc, flags_and_states);
	tcase_add_test(tc, unbind_no_drain_busy);
	tcase_add_test(tc, respond_rules);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(api_suite());
}
