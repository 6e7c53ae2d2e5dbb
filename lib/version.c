/* SPDX-License-Identifier: MIT */
/* The running library's version; the headers carry the one a program was compiled with. */
#include "lib/private.h"

PRQD_EXPORT const char *prqd_version(void)
{
	return PRQD_VERSION_STRING;
}
