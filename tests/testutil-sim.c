/* SPDX-License-Identifier: MIT */
/* tests/testutil-sim.c: the shared test helpers that need libprqdrain-sim (the backends a
 * simulated world runs, scenario summaries). Linked only into suites built with it. */
#define _GNU_SOURCE

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "backends/sim/scenario.h"

#define TU_BACKENDS_MAX 16

void assert_same_summary(const struct scn_result *a, const struct scn_result *b)
{
	const struct scn_result *res[2] = { a, b };
	char *out[2];
	size_t len[2];
	for (int i = 0; i < 2; i++) {
		FILE *f = open_memstream(&out[i], &len[i]);
		ck_assert_ptr_nonnull(f);
		scn_result_print(f, res[i]);
		fclose(f);
	}
	ck_assert_uint_eq(len[0], len[1]);
	ck_assert_int_eq(memcmp(out[0], out[1], len[0]), 0);
	free(out[0]);
	free(out[1]);
}

unsigned tu_backend_count(void)
{
	const char *names[TU_BACKENDS_MAX];
	unsigned n = sim_backend_names(names, NULL, TU_BACKENDS_MAX);
	if (n == 0) {
		/* Called while a suite is built, outside any test: a suite over no backend
		 * would pass vacuously. */
		fprintf(stderr, "a simulated world lists no backend\n");
		abort();
	}
	return n;
}

const char *tu_backend(unsigned i)
{
	const char *names[TU_BACKENDS_MAX];
	unsigned n = sim_backend_names(names, NULL, TU_BACKENDS_MAX);
	ck_assert_uint_lt(i, n);
	return names[i];
}
