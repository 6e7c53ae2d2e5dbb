/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/uevent-monitor.c: the monitor's event logic, without the socket.
 *
 * Everything from a datagram to the library calls: the sender check, parsing, finding the
 * registered device, deciding and applying the action, counting. It needs no libnl, so the
 * whole path is tested from canned buffers on any machine; uevent-nl.c only adds the reading.
 */
#include <string.h>

#include "lib/linux/alloc.h"
#include "lib/linux/uevent-private.h"
#include "lib/private.h"

static const char *const action_names[] = {
	[PRQD_MON_NONE] = "none",
	[PRQD_MON_STOP_DRAIN] = "stop+drain",
	[PRQD_MON_RESUME] = "resume",
	[PRQD_MON_FORCE_UNBIND] = "force-unbind",
};

PRQD_EXPORT const char *prqd_monitor_action_name(int action)
{
	if (action < 0 || (size_t)action >= PRQD_ARRAY_SIZE(action_names))
		return "?";
	return action_names[action];
}

PRQD_EXPORT int prqd_uevent_decide(const struct prqd_uevent *ev)
{
	if (!ev)
		return PRQD_MON_NONE;
	switch (ev->action) {
	case PRQD_UEVENT_REMOVE:
	case PRQD_UEVENT_UNBIND:
		/* Removed, or no driver any more: whatever the bonds served is gone, and the
		 * function will answer nothing a drain could wait for. */
		return PRQD_MON_FORCE_UNBIND;
	case PRQD_UEVENT_CHANGE:
		switch (ev->error_event) {
		case PRQD_ERS_BEGIN_RECOVERY:
			return PRQD_MON_STOP_DRAIN;
		case PRQD_ERS_SUCCESSFUL_RECOVERY:
			return PRQD_MON_RESUME;
		case PRQD_ERS_FAILED_RECOVERY:
			/* The kernel gave the device up (it is about to be removed or stays
			 * dead): the same as a removal. */
			return PRQD_MON_FORCE_UNBIND;
		default:
			return PRQD_MON_NONE;
		}
	default:
		return PRQD_MON_NONE;
	}
}

PRQD_EXPORT int prqd_uevent_pci_function(const struct prqd_uevent *ev, uint32_t *domain,
					 uint16_t *rid)
{
	if (!ev || !domain || !rid)
		return -PRQD_EINVAL;
	if (!ev->subsystem || strcmp(ev->subsystem, "pci") != 0)
		return -PRQD_ENODEV;
	if (ev->pci_slot)
		return prqd_uevent_parse_slot(ev->pci_slot, domain, rid) < 0 ? -PRQD_ENODEV : 0;
	/* PCI_SLOT_NAME comes from the PCI bus's uevent callback; should an event lack it,
	 * the device's directory name is the same slot name. */
	const char *base = strrchr(ev->devpath, '/');
	if (!base || prqd_uevent_parse_slot(base + 1, domain, rid) < 0)
		return -PRQD_ENODEV;
	return 0;
}

PRQD_EXPORT int prqd_monitor_new(unsigned flags, struct prqd_monitor **out)
{
	if (!out || (flags & ~(unsigned)PRQD_MONITOR_OBSERVE))
		return -PRQD_EINVAL;
	struct prqd_monitor *mon = prqd__linux_calloc(1, sizeof(*mon));
	if (!mon)
		return -PRQD_ENOMEM;
	mon->flags = flags;
	*out = mon;
	return 0;
}

PRQD_EXPORT void prqd_monitor_free(struct prqd_monitor *mon)
{
	if (!mon)
		return;
	prqd__monitor_close(mon);
	prqd__linux_free(mon->devs);
	prqd__linux_free(mon);
}

PRQD_EXPORT void prqd_monitor_set_event_fn(struct prqd_monitor *mon, prqd_monitor_event_fn fn,
					   void *user)
{
	if (!mon)
		return;
	mon->event_fn = fn;
	mon->event_user = user;
}

PRQD_EXPORT int prqd_monitor_set_drain(struct prqd_monitor *mon, unsigned flags,
				       uint32_t timeout_ms)
{
	if (!mon || (flags & ~(unsigned)PRQD_DRAIN_ABANDON))
		return -PRQD_EINVAL;
	mon->drain_flags = flags;
	mon->drain_timeout_ms = timeout_ms;
	return 0;
}

static struct mon_entry *find_fn(struct prqd_monitor *mon, uint32_t domain, uint16_t rid)
{
	for (size_t i = 0; i < mon->ndevs; i++)
		if (mon->devs[i].domain == domain && mon->devs[i].rid == rid)
			return &mon->devs[i];
	return NULL;
}

static struct mon_entry *find_dev(struct prqd_monitor *mon, const struct prqd_dev *dev)
{
	for (size_t i = 0; i < mon->ndevs; i++)
		if (mon->devs[i].dev == dev)
			return &mon->devs[i];
	return NULL;
}

PRQD_EXPORT int prqd_monitor_add_dev(struct prqd_monitor *mon, uint32_t domain,
				     struct prqd_dev *dev)
{
	if (!mon || !dev)
		return -PRQD_EINVAL;
	uint16_t rid = prqd_dev_rid(dev);
	if (find_fn(mon, domain, rid) || find_dev(mon, dev))
		return -PRQD_EEXIST;
	if (mon->ndevs == mon->cap_devs) {
		size_t ncap = mon->cap_devs ? mon->cap_devs * 2 : 8;
		struct mon_entry *n = prqd__linux_realloc(mon->devs, ncap * sizeof(*n));
		if (!n)
			return -PRQD_ENOMEM;
		mon->devs = n;
		mon->cap_devs = ncap;
	}
	mon->devs[mon->ndevs++] = (struct mon_entry){ .domain = domain, .rid = rid, .dev = dev };
	return 0;
}

PRQD_EXPORT int prqd_monitor_remove_dev(struct prqd_monitor *mon, struct prqd_dev *dev)
{
	if (!mon)
		return -PRQD_EINVAL;
	struct mon_entry *e = find_dev(mon, dev);
	if (!e)
		return -PRQD_ENOENT;
	*e = mon->devs[--mon->ndevs];
	return 0;
}

/* The kernel multicasts uevents from port 0 to group 1 (bit 0); a process can bind any
 * other port and send to the group too, which is the forgery the port check stops.
 * Credentials, when the socket passes them, must be root's as well. */
static bool from_kernel(const struct prqd_uevent_origin *o)
{
	if (o->port != 0)
		return false;
	if (!(o->groups & 1u))
		return false;
	if (o->has_creds && o->uid != 0)
		return false;
	return true;
}

static int apply(struct prqd_monitor *mon, int action, struct prqd_dev *dev)
{
	int rc;
	switch (action) {
	case PRQD_MON_STOP_DRAIN:
		rc = prqd_dev_stop(dev, 0);
		if (rc == 0)
			rc = prqd_dev_drain(dev, mon->drain_flags, mon->drain_timeout_ms);
		return rc;
	case PRQD_MON_RESUME:
		return prqd_dev_resume(dev);
	case PRQD_MON_FORCE_UNBIND:
		return prqd_dev_unbind_all(dev, PRQD_UNBIND_FORCE);
	default:
		return 0;
	}
}

/* Report to the callback and return the verdict. */
static int done(struct prqd_monitor *mon, const struct prqd_uevent *ev,
		const struct prqd_monitor_result *r, struct prqd_monitor_result *res)
{
	if (res)
		*res = *r;
	if (mon->event_fn)
		mon->event_fn(mon->event_user, ev, r);
	return r->status;
}

PRQD_EXPORT int prqd_monitor_feed(struct prqd_monitor *mon, const void *buf, size_t len,
				  const struct prqd_uevent_origin *origin,
				  struct prqd_monitor_result *res)
{
	struct prqd_monitor_result r = { 0 };
	struct prqd_uevent ev;

	if (!mon || !buf)
		return -PRQD_EINVAL;
	mon->stats.received++;

	if (origin && !from_kernel(origin)) {
		mon->stats.rejected_sender++;
		r.status = -PRQD_EPERM;
		return done(mon, NULL, &r, res);
	}
	int rc = prqd_uevent_parse(buf, len, &ev);
	if (rc < 0) {
		mon->stats.rejected_format++;
		r.status = rc;
		return done(mon, NULL, &r, res);
	}
	if (prqd_uevent_pci_function(&ev, &r.domain, &r.rid) == 0)
		r.has_slot = true;
	struct mon_entry *e = r.has_slot ? find_fn(mon, r.domain, r.rid) : NULL;
	if (!e) {
		mon->stats.rejected_unknown++;
		r.status = -PRQD_ENODEV;
		return done(mon, &ev, &r, res);
	}
	mon->stats.accepted++;
	r.dev = e->dev;
	r.action = prqd_uevent_decide(&ev);
	if (r.action != PRQD_MON_NONE && !(mon->flags & PRQD_MONITOR_OBSERVE)) {
		mon->stats.actions++;
		r.action_result = apply(mon, r.action, e->dev);
		if (r.action_result < 0)
			mon->stats.action_errors++;
	}
	return done(mon, &ev, &r, res);
}

PRQD_EXPORT int prqd_monitor_stats(const struct prqd_monitor *mon, struct prqd_monitor_stats *out,
				   size_t size)
{
	if (!mon || !out)
		return -PRQD_EINVAL;
	memcpy(out, &mon->stats, size < sizeof(mon->stats) ? size : sizeof(mon->stats));
	return 0;
}
