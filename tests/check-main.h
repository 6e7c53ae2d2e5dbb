/* SPDX-License-Identifier: MIT */
/* tests/check-main.h: the one way every Check suite runs and turns its result into an exit
 * status (CK_VERBOSITY picks the output, as Check's CK_ENV says). */
#ifndef PRQD_CHECK_MAIN_H
#define PRQD_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Run @s (the runner takes it over), then EXIT_SUCCESS when no test failed. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif /* PRQD_CHECK_MAIN_H */
