/* SPDX-License-Identifier: MIT */
/*
 * check-backend-registration: prqd_ctx_add_backend() (include/prqdrain-backend.h). Every
 * refusal by its exact error and for having changed nothing; a registered backend listed
 * after the compiled-in ones, its parameters in the context, opened by name and by probing,
 * its missing operations filled with stubs, its table copied, and no other context seeing it.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <prqdrain-backend.h>

#include "tests/testutil.h"
#include "tests/check-main.h"

static const struct prqd_param_def depth_param[] = {
	{ "script.depth", "a parameter of the registered backend", 7, 1, 100, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

/* test_backend ("script", the scripted queue) as an embedder would register it. */
static struct prqd_backend registrable(void)
{
	struct prqd_backend be = test_backend;
	be.version = PRQD_BACKEND_VERSION;
	be.params = depth_param;
	return be;
}

static unsigned builtin_count(void)
{
	unsigned n = 0;
	while (prqd_backend_name(n, NULL))
		n++;
	return n;
}

/* The context lists exactly the compiled-in backends, nothing added. */
static void assert_nothing_added(struct prqd_ctx *ctx)
{
	unsigned n = builtin_count();
	for (unsigned i = 0; i < n; i++)
		ck_assert_str_eq(prqd_ctx_backend_name(ctx, i, NULL), prqd_backend_name(i, NULL));
	ck_assert_ptr_null(prqd_ctx_backend_name(ctx, n, NULL));
	uint64_t v;
	ck_assert_int_eq(prqd_ctx_get_param(ctx, "script.depth", &v), -ENOENT);
}

START_TEST(refusals)
{
	struct tw w;
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_backend be = registrable();

	ck_assert_int_eq(prqd_ctx_add_backend(NULL, &be), -EINVAL);
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, NULL), -EINVAL);

	struct prqd_backend bad = be;
	bad.version = 0;
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -EINVAL);
	bad = be;
	bad.version = PRQD_BACKEND_VERSION + 1; /* newer than this library */
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -EOPNOTSUPP);
	bad = be;
	bad.name = NULL;
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -EINVAL);
	bad.name = "";
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -EINVAL);
	if (prqd_backend_name(0, NULL)) {
		bad.name = prqd_backend_name(0, NULL); /* a compiled-in backend's name */
		ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -EEXIST);
	}

	/* Parameters: named "<backend>.<param>", each once, defaults in range. */
	static const struct prqd_param_def foreign[] = {
		{ "other.depth", "", 1, 0, 1, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	static const struct prqd_param_def prefix_only[] = {
		{ "script.", "", 1, 0, 1, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	static const struct prqd_param_def longer_prefix[] = {
		{ "scripted.depth", "", 1, 0, 1, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	static const struct prqd_param_def twice[] = {
		{ "script.a", "", 1, 0, 1, NULL }, { "script.a", "", 1, 0, 1, NULL },
		{ NULL, NULL, 0, 0, 0, NULL } };
	static const struct prqd_param_def out_of_range[] = {
		{ "script.a", "", 5, 0, 1, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	static const struct prqd_param_def core_name[] = {
		{ "core.fetch_batch", "", 1, 0, 1, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	const struct prqd_param_def *bad_params[] = { foreign, prefix_only, longer_prefix,
						      twice, out_of_range, core_name };
	for (size_t i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
		bad = be;
		bad.params = bad_params[i];
		ck_assert_msg(prqd_ctx_add_backend(w.ctx, &bad) == -EINVAL, "parameter set %zu", i);
	}
	assert_nothing_added(w.ctx);

	/* Added once; a second time by the same name is refused. */
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &be), 0);
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &be), -EEXIST);
	/* Room for PRQD_CTX_BACKENDS_MAX, then -ENOSPC. */
	static const char *const names[] = { "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8" };
	ck_assert_uint_ge(sizeof(names) / sizeof(names[0]), PRQD_CTX_BACKENDS_MAX);
	for (unsigned i = 1; i < PRQD_CTX_BACKENDS_MAX; i++) {
		bad = be;
		bad.name = names[i - 1];
		bad.params = NULL;
		ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), 0);
	}
	bad = be;
	bad.name = names[PRQD_CTX_BACKENDS_MAX - 1];
	bad.params = NULL;
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &bad), -ENOSPC);
	ck_assert_ptr_null(prqd_ctx_backend_name(w.ctx, builtin_count() + PRQD_CTX_BACKENDS_MAX,
						 NULL));
	tw_teardown(&w);
}
END_TEST

START_TEST(registered_backend_is_the_contexts)
{
	struct tw w;
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_backend be = registrable();
	unsigned n = builtin_count();

	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &be), 0);
	/* The core keeps its own copy: what the caller changes afterwards changes nothing. */
	be.name = "changed";
	be.ops.init = NULL;

	const char *help = NULL;
	ck_assert_str_eq(prqd_ctx_backend_name(w.ctx, n, &help), "script");
	ck_assert_str_eq(help, test_backend.help);
	ck_assert_ptr_null(prqd_ctx_backend_name(w.ctx, n + 1, NULL));
	ck_assert_ptr_null(prqd_backend_name(n, NULL)); /* the library's own list is unchanged */

	/* Its parameter, at its default, set like any other. */
	uint64_t v = 0;
	ck_assert_int_eq(prqd_ctx_get_param(w.ctx, "script.depth", &v), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "script.depth", "101"), -EINVAL);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "script.depth", "12"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "core.fetch_batch", "8"), 0);

	/* Opened by name; the IOMMU takes the values of the moment. */
	struct prqd_iommu *io = NULL;
	ck_assert_int_eq(prqd_iommu_open(w.ctx, "script", NULL, &io), 0);
	ck_assert_str_eq(prqd_iommu_backend(io), "script");
	ck_assert_uint_eq(prqd_iommu_param(io, "script.depth"), 12);
	ck_assert_uint_eq(prqd_iommu_param(io, "core.fetch_batch"), 8);
	ck_assert_int_eq(prqd_ctx_set_param(w.ctx, "script.depth", "20"), 0);
	ck_assert_uint_eq(prqd_iommu_param(io, "script.depth"), 12);
	ck_assert_uint_eq(prqd_iommu_param(io, "no.such"), 0);

	/* A backend added after the IOMMU was opened: the context grows, the IOMMU keeps its
	 * snapshot and closes cleanly. */
	static const struct prqd_param_def later_param[] = {
		{ "later.knob", "", 3, 0, 9, NULL }, { NULL, NULL, 0, 0, 0, NULL } };
	struct prqd_backend later = registrable();
	later.name = "later";
	later.params = later_param;
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &later), 0);
	ck_assert_int_eq(prqd_ctx_get_param(w.ctx, "later.knob", &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_uint_eq(prqd_iommu_param(io, "later.knob"), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);

	/* Another context does not see it. */
	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &w.tp.p,
				   .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *other = NULL;
	ck_assert_int_eq(prqd_ctx_new(&o, &other), 0);
	ck_assert_int_eq(prqd_iommu_open(other, "script", NULL, &io), -ENOENT);
	assert_nothing_added(other);
	ck_assert_ptr_null(prqd_ctx_unref(other));
	tw_teardown(&w);
}
END_TEST

/* With no name, probing reaches the registered backend after the compiled-in ones, which
 * find no hardware on the test platform. */
START_TEST(registered_backend_is_probed)
{
	struct tw w;
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_iommu *io = NULL;
	ck_assert_int_eq(prqd_iommu_open(w.ctx, NULL, NULL, &io), -ENODEV);
	struct prqd_backend be = registrable();
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &be), 0);
	ck_assert_int_eq(prqd_iommu_open(w.ctx, NULL, NULL, &io), 0);
	ck_assert_str_eq(prqd_iommu_backend(io), "script");
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	tw_teardown(&w);
}
END_TEST

/* Operations the backend leaves NULL are the core's stubs: a clean -EOPNOTSUPP, no crash. */
START_TEST(missing_operations_are_stubs)
{
	struct tw w;
	tw_setup(&w, TW_NO_OPEN);
	struct prqd_backend be = registrable();
	be.name = "sparse";
	be.params = NULL;
	be.ops.dev_attach = NULL;
	be.ops.fetch = NULL;
	ck_assert_int_eq(prqd_ctx_add_backend(w.ctx, &be), 0);
	struct prqd_iommu *io = NULL;
	ck_assert_int_eq(prqd_iommu_open(w.ctx, "sparse", NULL, &io), 0);
	struct prqd_dev_info info;
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.rid = 0x100;
	info.pri_capacity = 8;
	info.pasid_width = 8;
	struct prqd_dev *dev = NULL;
	ck_assert_int_eq(prqd_dev_add(io, &info, &dev), -EOPNOTSUPP);
	ck_assert_ptr_null(dev);
	ck_assert_int_lt(prqd_iommu_process(io, 0), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	tw_teardown(&w);
}
END_TEST

static Suite *registration_suite(void)
{
	Suite *s = suite_create("backend-registration");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, registered_backend_is_the_contexts);
	tcase_add_test(tc, registered_backend_is_probed);
	tcase_add_test(tc, missing_operations_are_stubs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(registration_suite());
}
