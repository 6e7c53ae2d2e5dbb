/* SPDX-License-Identifier: MIT */
/*
 * Every scenario in examples/scenarios runs under the simulator's checker and must pass, over
 * every backend the library lists that the world has a model of (tu_backend(): the abstract
 * IOMMU "sim", "vtd" on the VT-d model, "smmuv3" on the SMMUv3 model);
 * malformed scenario text is refused with file and line; and the checker itself must catch
 * a driver that lies to the library (a test that cannot fail proves nothing).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "tests/testutil.h"
#include "tests/check-main.h"

/* Every backend the library lists runs on the simulated world. */
#define NBACKENDS tu_backend_count()

/*
 * What a backend's hardware cannot give in a scenario written for the abstract IOMMU, and
 * why. Over such a backend the scenario must still pass the checker (no violation, every
 * group answered once, no drain left incomplete, nothing leaked, the world idle) and every
 * other expectation and operation; only a failure whose message holds one of @excused is
 * forgiven.
 */
struct hw_limit {
	const char *backend, *file;
	const char *excused[5];
};

static const struct hw_limit hw_limits[] = {
	/* atc-never-answers expects a healthy device to be served without a pause while
	 * another device's device-TLB invalidation never completes. On VT-d that cannot be:
	 * the next drain's fence wait holds the whole invalidation queue, page group
	 * responses included, until the unit reports the time-out (ITE). */
	{ "vtd", "atc-never-answers.scn",
	  { "expect traffic.eagain ", "expect bond.fine.delivered ", "expect stats.by.stop " } },
	/* On SMMUv3 likewise: the CMD_SYNC after the ATC invalidation holds the single command
	 * queue, CMD_PRI_RESP included, until the invalidation completes or times out. And
	 * an SMMU always times an ATC invalidation out (sim.ite_timeout_us 0 cannot switch
	 * that off): the sync then fails with CERROR_ATC_INV_SYNC, which the contract reports
	 * as -EIO (the device's invalidation timed out), before the unbind's 2 ms deadline.
	 * So the unbind and the quarantined re-bind fail with -EIO, not -ETIMEDOUT, and one
	 * drain fails rather than times out. */
	{ "smmuv3", "atc-never-answers.scn",
	  { "expect traffic.eagain ", "unbind stuck returned -EIO,", "bind stuck returned -EIO,",
	    "expect stats.drain_timeouts " } },
	/* surprise-removal drains the removed device before the library is told it is gone:
	 * the CMD_SYNC waits on the ATC invalidation nobody answers, and the command queue
	 * behind it (the other device's CMD_PRI_RESP) waits too, until the SMMU times the
	 * invalidation out, longer than the device's 32 credits last. No command may pass a
	 * CMD_SYNC, so the other device retries (-EAGAIN) meanwhile; it is still served every
	 * group (bond.other.delivered == 200 holds). */
	{ "smmuv3", "surprise-removal.scn", { "expect traffic.eagain " } },
};

static const struct hw_limit *hw_limit_of(const char *backend, const char *file)
{
	for (size_t i = 0; i < sizeof(hw_limits) / sizeof(hw_limits[0]); i++)
		if (strcmp(hw_limits[i].backend, backend) == 0 &&
		    strcmp(hw_limits[i].file, file) == 0)
			return &hw_limits[i];
	return NULL;
}

/* Did @res pass, apart from what @limit excuses (NULL: nothing)? Every failure must be
 * among the kept messages to be excused. */
static bool passed_within(const struct scn_result *res, const struct hw_limit *limit)
{
	if (!limit)
		return scn_result_passed(res);
	if (res->violations || res->alloc.live || !res->finish.idle ||
	    res->nmessage < res->expectations_failed + res->checks_failed)
		return false;
	for (uint32_t m = 0; m < res->nmessage; m++) {
		bool excused = false;
		for (size_t k = 0; k < 5 && limit->excused[k]; k++)
			excused |= strstr(res->message[m], limit->excused[k]) != NULL;
		if (!excused)
			return false;
	}
	return true;
}

static int run_file(const char *backend, const char *path, struct scn_result *res)
{
	struct scn *s;
	char err[512];
	int rc = scn_load_file(path, &s, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s", path, err);
	struct scn_run_opts opts = { .backend = backend };
	rc = scn_run(s, &opts, res);
	scn_free(s);
	return rc;
}

/* The nine scenarios the project promises, each passing with expectations checked. */
static const char *const required[] = {
	"plain-faults.scn",	    "teardown-no-marker.scn", "teardown-stop-marker.scn",
	"overflow-during-drain.scn", "atc-never-answers.scn",  "surprise-removal.scn",
	"flr.scn",		    "handler-failure.scn",    "deferred-vs-unbind.scn",
};

#define NREQUIRED (sizeof(required) / sizeof(required[0]))

START_TEST(every_required_scenario_passes)
{
	const char *backend = tu_backend((unsigned)((size_t)_i / NREQUIRED));
	const char *file = required[(size_t)_i % NREQUIRED];
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", scenario_dir(), file);
	struct scn_result res;
	int rc = run_file(backend, path, &res);
	ck_assert_msg(rc == 0, "%s: %s", path, res.error);
	const struct hw_limit *limit = hw_limit_of(backend, file);
	if (!passed_within(&res, limit))
		scn_result_print(stderr, &res);
	ck_assert_msg(res.violations == 0, "%s over %s: %u violations", file, backend,
		      res.violations);
	if (!limit) {
		ck_assert_msg(res.expectations_failed == 0, "%s over %s: %u expectations failed",
			      file, backend, res.expectations_failed);
		ck_assert_msg(res.checks_failed == 0, "%s over %s: %u operations failed", file,
			      backend, res.checks_failed);
	}
	ck_assert_msg(passed_within(&res, limit), "%s over %s: a failure beyond the hardware's "
		      "limits", file, backend);
	/* a scenario without its own expectations would pass vacuously */
	ck_assert_uint_ge(res.expectations, 3);
	ck_assert_uint_eq(res.alloc.live, 0);
	ck_assert(res.finish.idle);
}
END_TEST

/* Every .scn in @dir passes over @backend; returns how many ran. */
static unsigned run_folder(const char *backend, const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s", dir);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".scn") != 0)
			continue;
		char path[2048];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct scn_result res;
		ck_assert_int_eq(run_file(backend, path, &res), 0);
		const struct hw_limit *limit = hw_limit_of(backend, e->d_name);
		if (!passed_within(&res, limit))
			scn_result_print(stderr, &res);
		ck_assert_msg(passed_within(&res, limit), "%s over %s failed", e->d_name,
			      backend);
		n++;
	}
	closedir(d);
	return n;
}

/* Every .scn in the folder, also ones added later, passes. */
START_TEST(every_file_in_folder_passes)
{
	unsigned n = run_folder(tu_backend((unsigned)_i), scenario_dir());
	ck_assert_uint_ge(n, (int)(sizeof(required) / sizeof(required[0])));
}
END_TEST

/* Every regression scenario (tests/scenarios) passes on every backend. */
START_TEST(every_regression_passes)
{
	ck_assert_uint_ge(run_folder(tu_backend((unsigned)_i), source_dir("tests/scenarios")),
			  4);
}
END_TEST

/* Same scenario, same seed: byte-identical summary. */
START_TEST(runs_are_deterministic)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/overflow-during-drain.scn", scenario_dir());
	struct scn_result res[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(run_file(tu_backend((unsigned)_i), path, &res[i]), 0);
	assert_same_summary(&res[0], &res[1]);
}
END_TEST

/* Parse @text; expect failure with an error that starts with "bad.scn:<line>:". */
static void expect_parse_error(const char *text, size_t len, unsigned line, const char *needle)
{
	struct scn *s = NULL;
	char err[512] = "";
	int rc = scn_parse(text, len, "bad.scn", &s, err, sizeof(err));
	ck_assert_msg(rc < 0, "accepted: %.*s", (int)len, text);
	ck_assert_ptr_null(s);
	char prefix[32];
	snprintf(prefix, sizeof(prefix), "bad.scn:%u:", line);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "error '%s' lacks '%s'", err,
		      prefix);
	if (needle)
		ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
}

#define HEAD "device d rid=0x100 capacity=8\n"

START_TEST(malformed_scenarios_name_file_and_line)
{
	static const char bad_pasid[] = HEAD "bind b d pasid=x handler=success\n";
	expect_parse_error(bad_pasid, sizeof(bad_pasid) - 1, 2, "pasid");
	static const char unknown_directive[] = HEAD "frobnicate d\n";
	expect_parse_error(unknown_directive, sizeof(unknown_directive) - 1, 2, "frobnicate");
	static const char unknown_name[] = HEAD "bind b nosuch pasid=1 handler=success\n";
	expect_parse_error(unknown_name, sizeof(unknown_name) - 1, 2, "nosuch");
	static const char duplicate[] = HEAD "device d rid=0x200 capacity=8\n";
	expect_parse_error(duplicate, sizeof(duplicate) - 1, 2, NULL);
	static const char bad_time[] = HEAD "bind b d pasid=1 handler=success\nat 5 stop b\n";
	expect_parse_error(bad_time, sizeof(bad_time) - 1, 3, NULL);
	static const char out_of_range[] = "device d rid=0x100 capacity=8 pasid-width=99\n";
	expect_parse_error(out_of_range, sizeof(out_of_range) - 1, 1, NULL);
	static const char bad_key[] = HEAD "expect stats.nosuch == 1\n";
	expect_parse_error(bad_key, sizeof(bad_key) - 1, 2, "stats.nosuch");
	/* bytes a fuzzer would send: NUL in the middle, no newline at the end */
	static const char nul[] = HEAD "bind b d pasid=1\0 handler=success";
	expect_parse_error(nul, sizeof(nul) - 1, 2, NULL);
}
END_TEST

START_TEST(long_line_and_garbage_are_errors_not_crashes)
{
	size_t n = 100000;
	char *text = malloc(n);
	memset(text, 'a', n);
	expect_parse_error(text, n, 1, NULL);
	for (size_t i = 0; i < n; i++)
		text[i] = (char)(i * 131 + 7);
	struct scn *s = NULL;
	char err[256];
	ck_assert_int_lt(scn_parse(text, n, "bad.scn", &s, err, sizeof(err)), 0);
	free(text);
}
END_TEST

START_TEST(missing_file_is_an_error)
{
	struct scn *s = NULL;
	char err[256] = "";
	ck_assert_int_lt(scn_load_file("/nonexistent/x.scn", &s, err, sizeof(err)), 0);
	ck_assert_ptr_null(s);
	ck_assert(strstr(err, "/nonexistent/x.scn") != NULL);
}
END_TEST

/*
 * The checker must fail a run when the driver lies: here it unbinds with no-drain (asserting
 * the device stopped) while the device is still faulting on the PASID and then rebinds it.
 * Requests of the old use then reach the new generation or are left in flight.
 */
START_TEST(checker_catches_a_lying_driver)
{
	static const char text[] = "seed 4\n"
				   "device d rid=0x100 capacity=32\n"
				   "bind b d pasid=7 handler=success\n"
				   "at 0 fault b pages=1 count=200 every=100ns\n"
				   "at 3us unbind b no-drain expect=any\n"
				   "at 3us bind b\n";
	struct scn *s;
	char err[256];
	int rc = scn_parse(text, sizeof(text) - 1, "liar.scn", &s, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	struct scn_run_opts opts = { .backend = tu_backend((unsigned)_i) };
	struct scn_result res;
	ck_assert_int_eq(scn_run(s, &opts, &res), 0);
	scn_free(s);
	ck_assert_msg(res.violations > 0, "checker saw nothing wrong over %s",
		      tu_backend((unsigned)_i));
	ck_assert(!scn_result_passed(&res));
}
END_TEST

static Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenarios");
	TCase *tc = tcase_create("files");
	tcase_add_loop_test(tc, every_required_scenario_passes, 0, (int)(NREQUIRED * NBACKENDS));
	tcase_add_loop_test(tc, every_file_in_folder_passes, 0, (int)NBACKENDS);
	tcase_add_loop_test(tc, every_regression_passes, 0, (int)NBACKENDS);
	tcase_add_loop_test(tc, runs_are_deterministic, 0, (int)NBACKENDS);
	suite_add_tcase(s, tc);
	tc = tcase_create("parser");
	tcase_add_test(tc, malformed_scenarios_name_file_and_line);
	tcase_add_test(tc, long_line_and_garbage_are_errors_not_crashes);
	tcase_add_test(tc, missing_file_is_an_error);
	suite_add_tcase(s, tc);
	tc = tcase_create("checker");
	tcase_add_loop_test(tc, checker_catches_a_lying_driver, 0, (int)NBACKENDS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(scenario_suite());
}
