/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/uevent-parse.c: the kernel uevent datagram parser and the PCI slot parser.
 *
 * Pure functions over bytes: no allocation, no I/O, no state, and no libnl, so they build and
 * are tested everywhere, and a fuzzer can call prqd_uevent_parse() directly.
 *
 * The kernel's format (lib/kobject_uevent.c): a header "ACTION@DEVPATH" and then the
 * environment "KEY=VALUE" records, each terminated by a NUL, in one datagram with no netlink
 * header. The parser only accepts what the kernel produces; whatever else arrives on the
 * socket (truncated datagrams, udev's re-broadcasts, forged buffers) is refused.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "prqdrain-uevent.h"
#include "lib/private.h"

/* udev re-broadcasts start with this (and a 0xfeedcafe magic): user space, never the kernel. */
static const char libudev_prefix[] = "libudev";

static const char *const action_names[] = {
	[PRQD_UEVENT_OTHER] = "?",
	[PRQD_UEVENT_ADD] = "add",
	[PRQD_UEVENT_REMOVE] = "remove",
	[PRQD_UEVENT_CHANGE] = "change",
	[PRQD_UEVENT_MOVE] = "move",
	[PRQD_UEVENT_ONLINE] = "online",
	[PRQD_UEVENT_OFFLINE] = "offline",
	[PRQD_UEVENT_BIND] = "bind",
	[PRQD_UEVENT_UNBIND] = "unbind",
};

PRQD_EXPORT const char *prqd_uevent_action_name(int action)
{
	if (action <= PRQD_UEVENT_OTHER || (size_t)action >= PRQD_ARRAY_SIZE(action_names))
		return "?";
	return action_names[action];
}

/* Printable ASCII and UTF-8 bytes; control characters never occur in a kernel uevent and
 * would reach terminals and logs unfiltered. */
static bool byte_ok(unsigned char c)
{
	return c >= 0x20 && c != 0x7f;
}

static bool key_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool key_is(const struct prqd_uevent_var *v, const char *key)
{
	size_t n = strlen(key);
	return v->key_len == n && memcmp(v->key, key, n) == 0;
}

static int parse_action(const char *s, size_t n)
{
	for (size_t i = PRQD_UEVENT_ADD; i < PRQD_ARRAY_SIZE(action_names); i++)
		if (strlen(action_names[i]) == n && memcmp(action_names[i], s, n) == 0)
			return (int)i;
	return PRQD_UEVENT_OTHER;
}

static int parse_ers(const char *v)
{
	if (strcmp(v, "BEGIN_RECOVERY") == 0)
		return PRQD_ERS_BEGIN_RECOVERY;
	if (strcmp(v, "SUCCESSFUL_RECOVERY") == 0)
		return PRQD_ERS_SUCCESSFUL_RECOVERY;
	if (strcmp(v, "FAILED_RECOVERY") == 0)
		return PRQD_ERS_FAILED_RECOVERY;
	return PRQD_ERS_OTHER;
}

/* Interpret the records the monitor cares about; everything else stays in vars[] only. */
static int known_keys(struct prqd_uevent *ev, const char *header_action, size_t action_len,
		      const char *header_devpath)
{
	const char *action = NULL, *devpath = NULL, *seqnum = NULL, *online = NULL;
	const char *ers = NULL;
	for (unsigned i = 0; i < ev->nvars; i++) {
		const struct prqd_uevent_var *v = &ev->vars[i];
		if (key_is(v, "ACTION"))
			action = v->value;
		else if (key_is(v, "DEVPATH"))
			devpath = v->value;
		else if (key_is(v, "SUBSYSTEM"))
			ev->subsystem = v->value;
		else if (key_is(v, "DRIVER"))
			ev->driver = v->value;
		else if (key_is(v, "PCI_SLOT_NAME"))
			ev->pci_slot = v->value;
		else if (key_is(v, "SEQNUM"))
			seqnum = v->value;
		else if (key_is(v, "DEVICE_ONLINE"))
			online = v->value;
		else if (key_is(v, "ERROR_EVENT"))
			ers = v->value;
	}
	/* The kernel always sends both, equal to the header; a buffer that disagrees with
	 * itself is not the kernel's. */
	if (!action || !devpath)
		return -PRQD_EBADMSG;
	if (strlen(action) != action_len || memcmp(action, header_action, action_len) != 0)
		return -PRQD_EBADMSG;
	if (strcmp(devpath, header_devpath) != 0)
		return -PRQD_EBADMSG;
	ev->action_name = action;
	ev->devpath = devpath;
	ev->action = parse_action(action, action_len);
	if (seqnum) {
		if (prqd_parse_u64(seqnum, false, &ev->seqnum) < 0) /* decimal, as the kernel writes it */
			return -PRQD_EBADMSG;
		ev->has_seqnum = true;
	}
	if (online) {
		if (strcmp(online, "0") != 0 && strcmp(online, "1") != 0)
			return -PRQD_EBADMSG;
		ev->device_online = online[0] - '0';
	}
	if (ers)
		ev->error_event = parse_ers(ers);
	return 0;
}

PRQD_EXPORT int prqd_uevent_parse(const void *buf, size_t len, struct prqd_uevent *out)
{
	/* Parsed into a local copy so *out is written only on success. It is large (the
	 * variable table), but a caller that can afford one struct prqd_uevent can afford
	 * two on the stack of a monitor thread. */
	struct prqd_uevent ev;
	const char *p = buf;

	if (!buf || !out)
		return -PRQD_EINVAL;
	if (len == 0)
		return -PRQD_EBADMSG;
	if (len > PRQD_UEVENT_MAX_LEN)
		return -PRQD_ERANGE;
	if (len >= sizeof(libudev_prefix) && memcmp(p, libudev_prefix, sizeof(libudev_prefix)) == 0)
		return -PRQD_EBADMSG;
	/* Every record ends with a NUL, the last one too: a datagram cut short has none at
	 * its end. Checking this first lets the loop below use string functions safely. */
	if (p[len - 1] != '\0')
		return -PRQD_EBADMSG;

	memset(&ev, 0, sizeof(ev));
	ev.device_online = -1;

	/* Header: ACTION@DEVPATH. */
	size_t hlen = strlen(p);
	const char *at = memchr(p, '@', hlen);
	if (!at || at == p || at[1] != '/')
		return -PRQD_EBADMSG;
	for (size_t i = 0; i < hlen; i++)
		if (!byte_ok((unsigned char)p[i]))
			return -PRQD_EBADMSG;
	const char *header_action = p;
	size_t action_len = (size_t)(at - p);
	for (size_t i = 0; i < action_len; i++)
		if (!(p[i] >= 'a' && p[i] <= 'z'))
			return -PRQD_EBADMSG;
	const char *header_devpath = at + 1;

	/* Records. */
	size_t off = hlen + 1;
	while (off < len) {
		const char *rec = p + off;
		size_t rlen = strlen(rec); /* stops at the NUL guaranteed at p[len - 1] */
		if (rlen == 0)
			return -PRQD_EBADMSG; /* empty record: never sent by the kernel */
		size_t klen = 0;
		while (klen < rlen && key_char_ok(rec[klen]))
			klen++;
		if (klen == 0 || klen == rlen || rec[klen] != '=')
			return -PRQD_EBADMSG;
		for (size_t i = klen + 1; i < rlen; i++)
			if (!byte_ok((unsigned char)rec[i]))
				return -PRQD_EBADMSG;
		if (ev.nvars == PRQD_UEVENT_MAX_VARS)
			return -PRQD_ERANGE;
		struct prqd_uevent_var v = { .key = rec, .key_len = klen, .value = rec + klen + 1 };
		/* Duplicates would make "the" value of a key ambiguous: refuse them. The table
		 * is small (64), so the quadratic check costs nothing worth a hash. */
		for (unsigned i = 0; i < ev.nvars; i++)
			if (ev.vars[i].key_len == klen && memcmp(ev.vars[i].key, rec, klen) == 0)
				return -PRQD_EBADMSG;
		ev.vars[ev.nvars++] = v;
		off += rlen + 1;
	}

	int rc = known_keys(&ev, header_action, action_len, header_devpath);
	if (rc < 0)
		return rc;
	*out = ev;
	return 0;
}

PRQD_EXPORT const char *prqd_uevent_get(const struct prqd_uevent *ev, const char *key)
{
	if (!ev || !key)
		return NULL;
	for (unsigned i = 0; i < ev->nvars && i < PRQD_UEVENT_MAX_VARS; i++)
		if (key_is(&ev->vars[i], key))
			return ev->vars[i].value;
	return NULL;
}

/* @n (1..8) hex digits exactly (a field of a slot name), into *out. strtoul alone would also
 * take signs, spaces and a 0x prefix. */
static bool hex_field(const char *s, size_t n, uint32_t *out)
{
	char tmp[9];
	if (n == 0 || n >= sizeof(tmp))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = (uint32_t)strtoul(tmp, NULL, 16);
	return true;
}

PRQD_EXPORT int prqd_uevent_parse_slot(const char *slot, uint32_t *domain, uint16_t *rid)
{
	if (!slot || !domain || !rid)
		return -PRQD_EINVAL;
	/* DOMAIN:BB:DD.F, where only the domain's width varies (4 digits, up to 8 on
	 * machines with large domain numbers such as VMD or Hyper-V). */
	size_t len = strnlen(slot, 17);
	if (len < 12 || len > 16)
		return -PRQD_EINVAL;
	size_t dlen = len - 8;
	const char *t = slot + dlen; /* ":BB:DD.F" */
	uint32_t dom, bus, dev, fn;
	if (t[0] != ':' || t[3] != ':' || t[6] != '.')
		return -PRQD_EINVAL;
	if (!hex_field(slot, dlen, &dom) || !hex_field(t + 1, 2, &bus) ||
	    !hex_field(t + 4, 2, &dev) || !hex_field(t + 7, 1, &fn))
		return -PRQD_EINVAL;
	if (dev > 0x1f || fn > 7)
		return -PRQD_EINVAL;
	*domain = dom;
	*rid = (uint16_t)(bus << 8 | dev << 3 | fn);
	return 0;
}
