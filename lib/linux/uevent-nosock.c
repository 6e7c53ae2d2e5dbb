/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/uevent-nosock.c: the monitor's socket functions in a build without libnl.
 *
 * The API stays the same in every build (one version script, one header): the socket calls
 * report -EOPNOTSUPP and prqd_monitor_feed() works as always, so events from another source
 * can still be applied.
 */
#include <errno.h>

#include "lib/linux/uevent-private.h"
#include "lib/private.h"

void prqd__monitor_close(struct prqd_monitor *mon)
{
	(void)mon; /* never opened */
}

PRQD_EXPORT int prqd_monitor_open(struct prqd_monitor *mon)
{
	return mon ? -PRQD_EOPNOTSUPP : -PRQD_EINVAL;
}

PRQD_EXPORT int prqd_monitor_fd(const struct prqd_monitor *mon)
{
	(void)mon;
	return -EBADF; /* never open */
}

PRQD_EXPORT int prqd_monitor_receive(struct prqd_monitor *mon, int timeout_ms,
				     struct prqd_monitor_result *res)
{
	(void)timeout_ms;
	(void)res;
	return mon ? -PRQD_EOPNOTSUPP : -PRQD_EINVAL;
}
