/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the scenario parser. Any bytes are parsed or refused with a message naming
 * the file and line; whatever parses must survive write -> parse -> write unchanged
 * (scn_check_round_trip), so a scenario saved with prqdrain-sim --dump runs as the original.
 */
#include <errno.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn *s = NULL;
	char err[512], why[512];
	int rc = scn_parse((const char *)data, size, "fuzz.scn", &s, err, sizeof(err));

	if (rc < 0) {
		FUZZ_REQUIRE(rc == -EINVAL || rc == -ENOMEM, "scn_parse returned %d", rc);
		FUZZ_REQUIRE(rc == -ENOMEM || strncmp(err, "fuzz.scn:", 9) == 0,
			     "refusal without file and line: \"%s\"", err);
		return 0;
	}
	rc = scn_check_round_trip(s, why, sizeof(why));
	FUZZ_REQUIRE(rc == 0 || rc == -ENOMEM, "round trip broke (%d): %s", rc, why);
	scn_free(s);
	return 0;
}
