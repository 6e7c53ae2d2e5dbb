/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/uevent-private.h: the monitor's structure, shared by the event logic
 * (uevent-monitor.c, no libnl) and the socket part (uevent-nl.c with libnl, or
 * uevent-nosock.c without).
 */
#ifndef PRQD_UEVENT_PRIVATE_H
#define PRQD_UEVENT_PRIVATE_H

#include "prqdrain-uevent.h"

struct nl_sock; /* libnl's; only uevent-nl.c looks inside */

struct mon_entry {
	uint32_t domain;
	uint16_t rid;
	struct prqd_dev *dev;
};

struct prqd_monitor {
	unsigned flags;
	prqd_monitor_event_fn event_fn;
	void *event_user;
	unsigned drain_flags;
	uint32_t drain_timeout_ms;

	struct mon_entry *devs; /* unordered; a handful of devices, searched linearly */
	size_t ndevs, cap_devs;

	struct nl_sock *sk; /* NULL while not open */
	struct prqd_monitor_stats stats;
};

/* Close the socket if open (uevent-nl.c / uevent-nosock.c). */
void prqd__monitor_close(struct prqd_monitor *mon);

#endif /* PRQD_UEVENT_PRIVATE_H */
