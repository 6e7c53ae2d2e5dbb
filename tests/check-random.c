/* SPDX-License-Identifier: MIT */
/*
 * Random workloads under the checker: PRQD_RANDOM_SEEDS seeds (default 1000; `make
 * check-long` runs 20000), each with every fault injected and, on every other seed, a queue
 * small enough to overflow, over every backend the library lists (prqd_backend_name(): today
 * "sim", the abstract IOMMU, and "vtd" on the register-level model). A failing seed is
 * printed so it can be replayed with
 * `prqdrain-sim --backend B --random --inject all [--overflow] --seed N`.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "tests/testutil.h"
#include "tests/check-main.h"

/* Every backend the library lists runs on the simulated world. */
#define NBACKENDS tu_backend_count()

static unsigned seed_count(void)
{
	const char *env = getenv("PRQD_RANDOM_SEEDS");
	unsigned long n = env ? strtoul(env, NULL, 10) : 0;
	return n ? (unsigned)n : 1000;
}

static void workload_for(uint64_t seed, struct scn_workload *w)
{
	scn_workload_default(w);
	w->seed = seed;
	w->overflow = seed % 2 == 0;
	char err[128];
	ck_assert_int_eq(scn_inject_parse("all", &w->inject, err, sizeof(err)), 0);
}

static bool run_seed(const char *backend, uint64_t seed, struct scn_result *res)
{
	struct scn_workload w;
	workload_for(seed, &w);
	struct scn *s;
	ck_assert_int_eq(scn_generate(&w, &s), 0);
	struct scn_run_opts opts = { .backend = backend };
	int rc = scn_run(s, &opts, res);
	scn_free(s);
	ck_assert_msg(rc == 0, "%s seed %llu: %s", backend, (unsigned long long)seed, res->error);
	return scn_result_passed(res);
}

START_TEST(random_seeds_pass_the_checker)
{
	const char *backend = tu_backend((unsigned)_i);
	unsigned n = seed_count(), failed = 0;
	uint64_t requests = 0, drains = 0, overflows = 0, late = 0, forced = 0;
	for (uint64_t seed = 1; seed <= n; seed++) {
		struct scn_result res;
		if (!run_seed(backend, seed, &res)) {
			if (failed++ < 5) {
				fprintf(stderr, "%s seed %llu failed (overflow %s):\n", backend,
					(unsigned long long)seed, seed % 2 == 0 ? "yes" : "no");
				scn_result_print(stderr, &res);
			}
		}
		requests += res.stats.requests;
		drains += res.stats.drains;
		overflows += res.stats.overflows;
		late += res.stats.late_responses;
		forced += res.finish.forced;
	}
	printf("%s: %u seeds: %llu requests, %llu drains, %llu overflows, %llu late answers, "
	       "%llu forced unbinds, %u failed\n",
	       backend, n, (unsigned long long)requests, (unsigned long long)drains,
	       (unsigned long long)overflows, (unsigned long long)late,
	       (unsigned long long)forced, failed);
	ck_assert_uint_eq(failed, 0);
	/* The sweep must actually exercise what it claims to. */
	ck_assert_uint_gt(requests, (uint64_t)n * 100);
	ck_assert_uint_gt(drains, 0);
	ck_assert_uint_gt(overflows, 0);
}
END_TEST

START_TEST(same_seed_same_run)
{
	struct scn_result res[2];
	for (int i = 0; i < 2; i++)
		run_seed(tu_backend((unsigned)_i), 12345, &res[i]);
	assert_same_summary(&res[0], &res[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("random");
	TCase *tc = tcase_create("seeds");
	tcase_set_timeout(tc, 3600);
	tcase_add_loop_test(tc, random_seeds_pass_the_checker, 0, NBACKENDS);
	tcase_add_loop_test(tc, same_seed_same_run, 0, NBACKENDS);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
