/* SPDX-License-Identifier: MIT */
/*
 * The uevent monitor without a kernel: the parser on canned and hostile datagrams, the sender
 * check, the event-to-action table, the monitor's actions on a scripted backend, and the
 * recovery flows on the simulator with the checker watching the wire.
 *
 * Datagrams come from tests/data/uevent/ (raw bytes as the socket delivers them) or are built
 * here with ev_build(); every parse of a hostile buffer runs on an exact-size heap copy, so a
 * read past the end is an ASan error in a sanitizer build rather than a silent pass.
 */
#define _GNU_SOURCE
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "prqdrain-uevent.h"
#include "backends/sim/uevent-sim.h"
#include "tests/testutil.h"
#include "tests/check-main.h"

#define SLOT1 "0000:00:01.0"
#define SLOT2 "0000:00:02.0"

/* ---- helpers ------------------------------------------------------------------------------- */

struct buf {
	unsigned char *p;
	size_t len;
};

static struct buf load(const char *name)
{
	char path[1024];
	const char *src = getenv("top_srcdir");
	if (!src)
		src = getenv("srcdir");
	snprintf(path, sizeof(path), "%s/tests/data/uevent/%s", src ? src : ".", name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	struct buf b = { .p = malloc(PRQD_UEVENT_MAX_LEN), .len = 0 };
	ck_assert_ptr_nonnull(b.p);
	b.len = fread(b.p, 1, PRQD_UEVENT_MAX_LEN, f);
	fclose(f);
	ck_assert_uint_gt(b.len, 0);
	/* Exact size: a read one past the end lands outside the allocation. */
	unsigned char *exact = malloc(b.len);
	ck_assert_ptr_nonnull(exact);
	memcpy(exact, b.p, b.len);
	free(b.p);
	b.p = exact;
	return b;
}

/* A datagram from NULL-terminated records: each gets its NUL. */
static struct buf ev_build(const char *first, ...)
{
	size_t cap = 4096, len = 0;
	unsigned char *p = malloc(cap);
	ck_assert_ptr_nonnull(p);
	va_list ap;
	va_start(ap, first);
	for (const char *r = first; r; r = va_arg(ap, const char *)) {
		size_t n = strlen(r) + 1;
		while (len + n > cap) {
			cap *= 2;
			p = realloc(p, cap);
			ck_assert_ptr_nonnull(p);
		}
		memcpy(p + len, r, n);
		len += n;
	}
	va_end(ap);
	return (struct buf){ .p = p, .len = len };
}

/* A PCI function's event with the keys the kernel sends, plus @extra (may be NULL). */
static struct buf pci_event(const char *action, const char *slot, const char *extra1,
			    const char *extra2)
{
	char header[128], a[64], dp[128], sl[64];
	snprintf(header, sizeof(header), "%s@/devices/pci0000:00/%s", action, slot);
	snprintf(a, sizeof(a), "ACTION=%s", action);
	snprintf(dp, sizeof(dp), "DEVPATH=/devices/pci0000:00/%s", slot);
	snprintf(sl, sizeof(sl), "PCI_SLOT_NAME=%s", slot);
	if (extra1 && extra2)
		return ev_build(header, a, dp, "SUBSYSTEM=pci", extra1, extra2, sl, "SEQNUM=7",
				NULL);
	if (extra1)
		return ev_build(header, a, dp, "SUBSYSTEM=pci", extra1, sl, "SEQNUM=7", NULL);
	return ev_build(header, a, dp, "SUBSYSTEM=pci", sl, "SEQNUM=7", NULL);
}

static int parse(struct buf b, struct prqd_uevent *ev)
{
	return prqd_uevent_parse(b.p, b.len, ev);
}

/* Deterministic pseudo-random bytes (xorshift64*), state in the caller. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* ---- parser ------------------------------------------------------------------------------ */

START_TEST(parse_begin_recovery)
{
	struct buf b = load("begin-recovery.bin");
	struct prqd_uevent ev;
	ck_assert_int_eq(parse(b, &ev), 0);
	ck_assert_int_eq(ev.action, PRQD_UEVENT_CHANGE);
	ck_assert_str_eq(ev.action_name, "change");
	ck_assert_str_eq(ev.devpath, "/devices/pci0000:00/" SLOT1);
	ck_assert_str_eq(ev.subsystem, "pci");
	ck_assert_str_eq(ev.driver, "virtio-pci");
	ck_assert_str_eq(ev.pci_slot, SLOT1);
	ck_assert_int_eq(ev.error_event, PRQD_ERS_BEGIN_RECOVERY);
	ck_assert_int_eq(ev.device_online, 0);
	ck_assert(ev.has_seqnum);
	ck_assert_uint_eq(ev.seqnum, 1002);
	ck_assert_uint_eq(ev.nvars, 12);
	ck_assert_str_eq(prqd_uevent_get(&ev, "PCI_ID"), "1AF4:1042");
	ck_assert_ptr_null(prqd_uevent_get(&ev, "PCI"));  /* a key's prefix is not the key */
	ck_assert_ptr_null(prqd_uevent_get(&ev, "NOPE"));
	ck_assert_int_eq(prqd_uevent_decide(&ev), PRQD_MON_STOP_DRAIN);
	free(b.p);
}
END_TEST

/* Every well-formed canned datagram: action, function and decision. */
static const struct {
	const char *file;
	int action;
	const char *slot; /* NULL: not a PCI function */
	int decision;
} good[] = {
	{ "change-lo.bin", PRQD_UEVENT_CHANGE, NULL, PRQD_MON_NONE },
	{ "change-pci.bin", PRQD_UEVENT_CHANGE, SLOT1, PRQD_MON_NONE },
	{ "begin-recovery.bin", PRQD_UEVENT_CHANGE, SLOT1, PRQD_MON_STOP_DRAIN },
	{ "successful-recovery.bin", PRQD_UEVENT_CHANGE, SLOT1, PRQD_MON_RESUME },
	{ "failed-recovery.bin", PRQD_UEVENT_CHANGE, SLOT2, PRQD_MON_FORCE_UNBIND },
	{ "unbind-pci.bin", PRQD_UEVENT_UNBIND, SLOT2, PRQD_MON_FORCE_UNBIND },
	{ "remove-pci.bin", PRQD_UEVENT_REMOVE, SLOT1, PRQD_MON_FORCE_UNBIND },
};

START_TEST(parse_good_files)
{
	struct buf b = load(good[_i].file);
	struct prqd_uevent ev;
	ck_assert_msg(parse(b, &ev) == 0, "%s", good[_i].file);
	ck_assert_int_eq(ev.action, good[_i].action);
	ck_assert_int_eq(prqd_uevent_decide(&ev), good[_i].decision);
	uint32_t domain;
	uint16_t rid;
	int rc = prqd_uevent_pci_function(&ev, &domain, &rid);
	if (good[_i].slot) {
		uint32_t d2;
		uint16_t r2;
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(prqd_uevent_parse_slot(good[_i].slot, &d2, &r2), 0);
		ck_assert_uint_eq(domain, d2);
		ck_assert_uint_eq(rid, r2);
	} else {
		ck_assert_int_eq(rc, -PRQD_ENODEV);
	}
	free(b.p);
}
END_TEST

static const char *const bad_files[] = {
	"bad-truncated.bin", "bad-no-nul.bin",	 "bad-no-action.bin",
	"bad-no-devpath.bin", "bad-libudev.bin", "bad-header.bin",
};

START_TEST(parse_bad_files)
{
	struct buf b = load(bad_files[_i]);
	struct prqd_uevent ev;
	/* *out is written only on success: a sentinel pattern survives. */
	memset(&ev, 0xa5, sizeof(ev));
	ck_assert_msg(parse(b, &ev) == -PRQD_EBADMSG, "%s", bad_files[_i]);
	ck_assert_int_eq(((unsigned char *)&ev)[0], 0xa5);
	ck_assert_int_eq(((unsigned char *)&ev)[sizeof(ev) - 1], 0xa5);
	free(b.p);
}
END_TEST

START_TEST(parse_limits)
{
	struct prqd_uevent ev;
	ck_assert_int_eq(prqd_uevent_parse(NULL, 10, &ev), -PRQD_EINVAL);
	ck_assert_int_eq(prqd_uevent_parse("x", 1, NULL), -PRQD_EINVAL);
	ck_assert_int_eq(prqd_uevent_parse("", 0, &ev), -PRQD_EBADMSG);
	ck_assert_int_eq(prqd_uevent_parse("", 1, &ev), -PRQD_EBADMSG);

	/* Huge: longer than any kernel uevent, even when otherwise well formed. */
	size_t huge = PRQD_UEVENT_MAX_LEN + 1000;
	char *h = malloc(huge);
	ck_assert_ptr_nonnull(h);
	struct buf b = pci_event("change", SLOT1, NULL, NULL);
	memcpy(h, b.p, b.len);
	size_t off = b.len;
	while (off + 16 < huge) {
		int n = snprintf(h + off, 16, "K%zu=%s", off, "v");
		off += (size_t)n + 1;
	}
	ck_assert_int_eq(prqd_uevent_parse(h, off, &ev), -PRQD_ERANGE);
	free(h);
	free(b.p);

	/* PRQD_UEVENT_MAX_VARS records are fine, one more is not. */
	char *m = malloc(PRQD_UEVENT_MAX_LEN);
	ck_assert_ptr_nonnull(m);
	for (unsigned nv = PRQD_UEVENT_MAX_VARS; nv <= PRQD_UEVENT_MAX_VARS + 1; nv++) {
		size_t len = 0;
		len += (size_t)sprintf(m + len, "add@/devices/x") + 1;
		len += (size_t)sprintf(m + len, "ACTION=add") + 1;
		len += (size_t)sprintf(m + len, "DEVPATH=/devices/x") + 1;
		for (unsigned i = 2; i < nv; i++)
			len += (size_t)sprintf(m + len, "K%u=%u", i, i) + 1;
		int rc = prqd_uevent_parse(m, len, &ev);
		if (nv == PRQD_UEVENT_MAX_VARS) {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(ev.nvars, PRQD_UEVENT_MAX_VARS);
		} else {
			ck_assert_int_eq(rc, -PRQD_ERANGE);
		}
	}
	free(m);
}
END_TEST

/* Buffers that are each wrong in one way. */
START_TEST(parse_each_rule)
{
	struct prqd_uevent ev;
	static const char *const dp = "DEVPATH=/devices/x";
	struct {
		struct buf b;
		int want;
		const char *what;
	} cases[] = {
		{ ev_build("add@/devices/x", "ACTION=add", dp, NULL), 0, "minimal" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "", "A=1", NULL), -PRQD_EBADMSG,
		  "empty record" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "A=1", "A=2", NULL), -PRQD_EBADMSG,
		  "duplicate key" },
		{ ev_build("add@/devices/x", "ACTION=remove", dp, NULL), -PRQD_EBADMSG,
		  "ACTION disagrees with the header" },
		{ ev_build("add@/devices/x", "ACTION=add", "DEVPATH=/devices/y", NULL),
		  -PRQD_EBADMSG, "DEVPATH disagrees with the header" },
		{ ev_build("add@devices/x", "ACTION=add", "DEVPATH=devices/x", NULL), -PRQD_EBADMSG,
		  "relative DEVPATH" },
		{ ev_build("@/devices/x", "ACTION=", dp, NULL), -PRQD_EBADMSG, "empty action" },
		{ ev_build("ADD@/devices/x", "ACTION=ADD", dp, NULL), -PRQD_EBADMSG,
		  "action not lower case" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "NOEQUALS", NULL), -PRQD_EBADMSG,
		  "record without =" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "=v", NULL), -PRQD_EBADMSG,
		  "empty key" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "A B=v", NULL), -PRQD_EBADMSG,
		  "space in key" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "A=x\ty", NULL), -PRQD_EBADMSG,
		  "control character in value" },
		{ ev_build("add@/devices/x\x1b[2J", "ACTION=add", "DEVPATH=/devices/x\x1b[2J", NULL),
		  -PRQD_EBADMSG, "escape sequence in the header" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "SEQNUM=12a", NULL), -PRQD_EBADMSG,
		  "SEQNUM not decimal" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "SEQNUM=18446744073709551616", NULL),
		  -PRQD_EBADMSG, "SEQNUM past 2^64-1" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "SEQNUM=18446744073709551615", NULL),
		  0, "SEQNUM at 2^64-1" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "DEVICE_ONLINE=2", NULL),
		  -PRQD_EBADMSG, "DEVICE_ONLINE not 0/1" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "A=", NULL), 0, "empty value" },
		{ ev_build("add@/devices/x", "ACTION=add", dp, "A=caf\xc3\xa9", NULL), 0,
		  "UTF-8 value" },
		{ ev_build("frobnicate@/devices/x", "ACTION=frobnicate", dp, NULL), 0,
		  "unknown action" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i].b, &ev);
		ck_assert_msg(rc == cases[i].want, "%s: got %d, want %d", cases[i].what, rc,
			      cases[i].want);
		free(cases[i].b.p);
	}
}
END_TEST

/* Every prefix of a real datagram: an error, or (cut exactly at a record's end) an event
 * whose records are the first ones of the original. Never a crash, never a read past it. */
START_TEST(parse_every_truncation)
{
	struct buf full = load("begin-recovery.bin");
	struct prqd_uevent whole, ev;
	ck_assert_int_eq(parse(full, &whole), 0);
	for (size_t len = 0; len < full.len; len++) {
		unsigned char *p = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, full.p, len);
		int rc = prqd_uevent_parse(p, len, &ev);
		if (rc == 0) {
			ck_assert_uint_eq(p[len - 1], 0);
			ck_assert_uint_lt(ev.nvars, whole.nvars);
			for (unsigned i = 0; i < ev.nvars; i++)
				ck_assert_uint_eq(ev.vars[i].key_len, whole.vars[i].key_len);
		} else {
			ck_assert(rc == -PRQD_EBADMSG);
		}
		free(p);
	}
	free(full.p);
}
END_TEST

/* Random bytes and random mutations of real datagrams: any verdict, no crash. A parsed
 * result must point inside the buffer. */
START_TEST(parse_hostile_bytes)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct buf base = load("begin-recovery.bin");
	struct prqd_uevent ev;
	unsigned parsed = 0;
	for (unsigned iter = 0; iter < 20000; iter++) {
		size_t len;
		unsigned char *p;
		if (iter & 1) {
			len = rnd(&seed) % 600;
			p = malloc(len ? len : 1);
			ck_assert_ptr_nonnull(p);
			for (size_t i = 0; i < len; i++) {
				/* Mostly printable, with NULs and '=' and '@' often enough to
				 * get past the first checks. */
				uint64_t r = rnd(&seed);
				p[i] = (r & 7) == 0 ? 0 : (r & 7) == 1 ? '=' : (r & 15) == 2 ? '@'
										 : (unsigned char)(r >> 8);
			}
		} else {
			len = base.len;
			p = malloc(len);
			ck_assert_ptr_nonnull(p);
			memcpy(p, base.p, len);
			unsigned flips = 1 + rnd(&seed) % 4;
			for (unsigned f = 0; f < flips; f++)
				p[rnd(&seed) % len] = (unsigned char)rnd(&seed);
			if (rnd(&seed) & 1)
				len -= rnd(&seed) % len;
		}
		int rc = prqd_uevent_parse(p, len, &ev);
		if (rc == 0) {
			parsed++;
			const char *lo = (const char *)p, *hi = lo + len;
			ck_assert(ev.devpath >= lo && ev.devpath < hi);
			for (unsigned i = 0; i < ev.nvars; i++)
				ck_assert(ev.vars[i].key >= lo && ev.vars[i].value < hi);
		} else {
			ck_assert(rc == -PRQD_EBADMSG || rc == -PRQD_ERANGE);
		}
		free(p);
	}
	/* Some mutations (a changed value byte) leave a valid event: the loop did reach the
	 * success path too. */
	ck_assert_uint_gt(parsed, 0);
	free(base.p);
}
END_TEST

START_TEST(parse_slots)
{
	uint32_t d;
	uint16_t r;
	ck_assert_int_eq(prqd_uevent_parse_slot("0000:00:01.0", &d, &r), 0);
	ck_assert_uint_eq(d, 0);
	ck_assert_uint_eq(r, 0x0008);
	ck_assert_int_eq(prqd_uevent_parse_slot("0000:6a:1f.7", &d, &r), 0);
	ck_assert_uint_eq(r, 0x6aff);
	ck_assert_int_eq(prqd_uevent_parse_slot("10000:3A:00.1", &d, &r), 0);
	ck_assert_uint_eq(d, 0x10000);
	ck_assert_uint_eq(r, 0x3a01);
	static const char *const bad[] = {
		"",		 "00:01.0",	  "0000:00:20.0", "0000:00:01.8", "0000:00:01.0x",
		"0000-00:01.0", "0000:00:01:0", "000g:00:01.0", "123456789:00:01.0",
		"0000:0:01.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(prqd_uevent_parse_slot(bad[i], &d, &r) == -PRQD_EINVAL, "%s", bad[i]);
	ck_assert_int_eq(prqd_uevent_parse_slot(NULL, &d, &r), -PRQD_EINVAL);
}
END_TEST

START_TEST(function_from_devpath)
{
	/* Without PCI_SLOT_NAME the device directory names the function. */
	struct buf b = ev_build("remove@/devices/pci0000:00/0000:00:1c.0/0000:02:00.3",
				"ACTION=remove",
				"DEVPATH=/devices/pci0000:00/0000:00:1c.0/0000:02:00.3",
				"SUBSYSTEM=pci", NULL);
	struct prqd_uevent ev;
	uint32_t d;
	uint16_t r;
	ck_assert_int_eq(parse(b, &ev), 0);
	ck_assert_int_eq(prqd_uevent_pci_function(&ev, &d, &r), 0);
	ck_assert_uint_eq(r, 0x0203);
	free(b.p);
	/* A PCI bus (not a function) has no slot name in its path. */
	b = ev_build("add@/devices/pci0000:00/pci_bus/0000:00", "ACTION=add",
		     "DEVPATH=/devices/pci0000:00/pci_bus/0000:00", "SUBSYSTEM=pci_bus", NULL);
	ck_assert_int_eq(parse(b, &ev), 0);
	ck_assert_int_eq(prqd_uevent_pci_function(&ev, &d, &r), -PRQD_ENODEV);
	free(b.p);
}
END_TEST

START_TEST(decide_table)
{
	struct prqd_uevent ev;
	memset(&ev, 0, sizeof(ev));
	static const struct {
		int action, ers, want;
	} t[] = {
		{ PRQD_UEVENT_ADD, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_BIND, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_MOVE, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_ONLINE, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_OFFLINE, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_OTHER, 0, PRQD_MON_NONE },
		{ PRQD_UEVENT_REMOVE, 0, PRQD_MON_FORCE_UNBIND },
		{ PRQD_UEVENT_UNBIND, 0, PRQD_MON_FORCE_UNBIND },
		{ PRQD_UEVENT_CHANGE, PRQD_ERS_NONE, PRQD_MON_NONE },
		{ PRQD_UEVENT_CHANGE, PRQD_ERS_BEGIN_RECOVERY, PRQD_MON_STOP_DRAIN },
		{ PRQD_UEVENT_CHANGE, PRQD_ERS_SUCCESSFUL_RECOVERY, PRQD_MON_RESUME },
		{ PRQD_UEVENT_CHANGE, PRQD_ERS_FAILED_RECOVERY, PRQD_MON_FORCE_UNBIND },
		{ PRQD_UEVENT_CHANGE, PRQD_ERS_OTHER, PRQD_MON_NONE },
		/* an error event key on another action is not a recovery */
		{ PRQD_UEVENT_ADD, PRQD_ERS_BEGIN_RECOVERY, PRQD_MON_NONE },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ev.action = t[i].action;
		ev.error_event = t[i].ers;
		ck_assert_int_eq(prqd_uevent_decide(&ev), t[i].want);
	}
	ck_assert_int_eq(prqd_uevent_decide(NULL), PRQD_MON_NONE);
	ck_assert_str_eq(prqd_monitor_action_name(PRQD_MON_STOP_DRAIN), "stop+drain");
	ck_assert_str_eq(prqd_monitor_action_name(99), "?");
	ck_assert_str_eq(prqd_uevent_action_name(PRQD_UEVENT_UNBIND), "unbind");
	ck_assert_str_eq(prqd_uevent_action_name(-1), "?");

	/* NEED_RESET (newer kernels) is known to exist but asks nothing of us. */
	struct buf b = pci_event("change", SLOT1, "ERROR_EVENT=NEED_RESET", NULL);
	ck_assert_int_eq(parse(b, &ev), 0);
	ck_assert_int_eq(ev.error_event, PRQD_ERS_OTHER);
	ck_assert_int_eq(prqd_uevent_decide(&ev), PRQD_MON_NONE);
	free(b.p);
}
END_TEST

/* ---- the monitor on the scripted backend --------------------------------------------------- */

static const struct prqd_uevent_origin kernel = { .port = 0, .groups = 1, .has_creds = true };

struct seen {
	unsigned calls, with_event;
	struct prqd_monitor_result last;
};

static void record(void *user, const struct prqd_uevent *ev, const struct prqd_monitor_result *r)
{
	struct seen *s = user;
	s->calls++;
	s->with_event += ev != NULL;
	s->last = *r;
}

START_TEST(monitor_sender_check)
{
	struct prqd_monitor *mon;
	struct seen seen = { 0 };
	ck_assert_int_eq(prqd_monitor_new(0, &mon), 0);
	prqd_monitor_set_event_fn(mon, record, &seen);
	struct buf b = load("remove-pci.bin");
	struct prqd_monitor_result r;

	static const struct prqd_uevent_origin forged[] = {
		{ .port = 4242, .groups = 1 },                      /* a process on group 1 */
		{ .port = 0, .groups = 2 },                         /* udev's group */
		{ .port = 0, .groups = 0 },                         /* unicast */
		{ .port = 0, .groups = 1, .has_creds = true, .uid = 1000 }, /* not root */
	};
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		ck_assert_int_eq(prqd_monitor_feed(mon, b.p, b.len, &forged[i], &r), -PRQD_EPERM);
		ck_assert_int_eq(r.status, -PRQD_EPERM);
		ck_assert_int_eq(r.action, PRQD_MON_NONE);
	}
	/* From the kernel, but nobody registered: unknown device. */
	ck_assert_int_eq(prqd_monitor_feed(mon, b.p, b.len, &kernel, &r), -PRQD_ENODEV);
	ck_assert(r.has_slot);
	ck_assert_uint_eq(r.rid, 0x0008);
	/* No origin: a trusted replay. */
	ck_assert_int_eq(prqd_monitor_feed(mon, b.p, b.len, NULL, NULL), -PRQD_ENODEV);
	struct buf bad = load("bad-truncated.bin");
	ck_assert_int_eq(prqd_monitor_feed(mon, bad.p, bad.len, &kernel, &r), -PRQD_EBADMSG);
	ck_assert_int_eq(prqd_monitor_feed(mon, NULL, 3, &kernel, &r), -PRQD_EINVAL);

	struct prqd_monitor_stats st;
	ck_assert_int_eq(prqd_monitor_stats(mon, &st, sizeof(st)), 0);
	ck_assert_uint_eq(st.received, 7);
	ck_assert_uint_eq(st.rejected_sender, 4);
	ck_assert_uint_eq(st.rejected_unknown, 2);
	ck_assert_uint_eq(st.rejected_format, 1);
	ck_assert_uint_eq(st.accepted, 0);
	ck_assert_uint_eq(seen.calls, 7);
	ck_assert_uint_eq(seen.with_event, 2);
	/* A caller with an older, shorter struct gets only its part. */
	struct prqd_monitor_stats small;
	memset(&small, 0xff, sizeof(small));
	ck_assert_int_eq(prqd_monitor_stats(mon, &small, sizeof(uint64_t)), 0);
	ck_assert_uint_eq(small.received, 7);
	ck_assert_uint_eq(small.accepted, UINT64_MAX);
	free(b.p);
	free(bad.p);
	prqd_monitor_free(mon);
}
END_TEST

START_TEST(monitor_registry)
{
	struct tw w;
	tw_setup(&w, 0);
	struct prqd_dev *d1 = tw_dev(&w, 0x0008), *d2 = tw_dev(&w, 0x0010);
	struct prqd_monitor *mon;
	ck_assert_int_eq(prqd_monitor_new(1u << 7, &mon), -PRQD_EINVAL);
	ck_assert_int_eq(prqd_monitor_new(0, &mon), 0);
	ck_assert_int_eq(prqd_monitor_add_dev(mon, 0, d1), 0);
	ck_assert_int_eq(prqd_monitor_add_dev(mon, 0, d1), -PRQD_EEXIST);
	ck_assert_int_eq(prqd_monitor_add_dev(mon, 1, d1), -PRQD_EEXIST); /* same device */
	ck_assert_int_eq(prqd_monitor_add_dev(mon, 1, d2), 0); /* 0001:00:02.0 */
	ck_assert_int_eq(prqd_monitor_add_dev(mon, 0, NULL), -PRQD_EINVAL);
	ck_assert_int_eq(prqd_monitor_set_drain(mon, 1u << 5, 0), -PRQD_EINVAL);
	ck_assert_int_eq(prqd_monitor_fd(mon), -EBADF); /* never opened */
	ck_assert_int_eq(prqd_monitor_receive(mon, 0, NULL) < 0, 1);

	/* Domain matters: 0000:00:02.0 is not 0001:00:02.0. */
	struct buf b = pci_event("remove", SLOT2, NULL, NULL);
	ck_assert_int_eq(prqd_monitor_feed(mon, b.p, b.len, &kernel, NULL), -PRQD_ENODEV);
	free(b.p);
	b = pci_event("remove", "0001:00:02.0", NULL, NULL);
	struct prqd_monitor_result r;
	ck_assert_int_eq(prqd_monitor_feed(mon, b.p, b.len, &kernel, &r), 0);
	ck_assert_ptr_eq(r.dev, d2);
	ck_assert_int_eq(r.action, PRQD_MON_FORCE_UNBIND);
	ck_assert_int_eq(r.action_result, 0);
	free(b.p);

	ck_assert_int_eq(prqd_monitor_remove_dev(mon, d2), 0);
	ck_assert_int_eq(prqd_monitor_remove_dev(mon, d2), -PRQD_ENOENT);
	prqd_monitor_free(mon);
	prqd_monitor_free(NULL);
	ck_assert_int_eq(prqd_dev_remove(d1), 0);
	ck_assert_int_eq(prqd_dev_remove(d2), 0);
	tw_teardown(&w);
}
END_TEST

/* A scripted world with a monitor: the device at 0000:00:01.0 is registered. */
struct mfix {
	struct tw w;
	struct rec rec;
	struct prqd_monitor *mon;
	struct prqd_dev *d1;
};

static void mfix_setup(struct mfix *f, unsigned mon_flags)
{
	tw_setup(&f->w, 0);
	rec_init(&f->rec, PRQD_RESP_SUCCESS);
	f->d1 = tw_dev(&f->w, 0x0008);
	ck_assert_int_eq(prqd_monitor_new(mon_flags, &f->mon), 0);
	ck_assert_int_eq(prqd_monitor_add_dev(f->mon, 0, f->d1), 0);
}

/* Every bond must be gone already; removes the devices still registered. */
static void mfix_teardown(struct mfix *f, struct prqd_dev *also)
{
	prqd_monitor_free(f->mon);
	ck_assert_int_eq(prqd_dev_remove(f->d1), 0);
	if (also)
		ck_assert_int_eq(prqd_dev_remove(also), 0);
	rec_fini(&f->rec);
	tw_teardown(&f->w);
}

/* Feed a canned datagram from the kernel; returns the verdict, the details in @r. */
static int feed_file(struct prqd_monitor *mon, const char *name, struct prqd_monitor_result *r)
{
	struct buf ev = load(name);
	int rc = prqd_monitor_feed(mon, ev.p, ev.len, &kernel, r);
	free(ev.p);
	return rc;
}

/* The four actions on a scripted backend: bond states after each. */
START_TEST(monitor_actions)
{
	struct mfix f;
	struct prqd_monitor_result r;
	mfix_setup(&f, 0);
	struct prqd_dev *d2 = tw_dev(&f.w, 0x0010);
	struct prqd_bond *a = tw_bind(f.d1, 1, &f.rec), *b = tw_bind(f.d1, 2, &f.rec);
	struct prqd_bond *c = tw_bind(d2, 1, &f.rec);
	ck_assert_int_eq(prqd_monitor_add_dev(f.mon, 0, d2), 0);

	ck_assert_int_eq(feed_file(f.mon, "begin-recovery.bin", &r), 0);
	ck_assert_int_eq(r.action, PRQD_MON_STOP_DRAIN);
	ck_assert_int_eq(r.action_result, 0);
	ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(c), PRQD_BOND_ACTIVE); /* other device untouched */
	ck_assert_uint_eq(f.w.t->last_scope, PRQD_SCOPE_DEVICE); /* one drain for the function */

	ck_assert_int_eq(feed_file(f.mon, "successful-recovery.bin", &r), 0);
	ck_assert_int_eq(r.action, PRQD_MON_RESUME);
	ck_assert_int_eq(r.action_result, 0);
	ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);

	/* A change without an error event does nothing. */
	ck_assert_int_eq(feed_file(f.mon, "change-pci.bin", &r), 0);
	ck_assert_int_eq(r.action, PRQD_MON_NONE);
	ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_ACTIVE);

	/* FAILED_RECOVERY of device 2: its bond is freed (the handle is dead after), and the
	 * device can be forgotten and removed. */
	ck_assert_int_eq(feed_file(f.mon, "failed-recovery.bin", &r), 0);
	ck_assert_int_eq(r.action, PRQD_MON_FORCE_UNBIND);
	ck_assert_int_eq(r.action_result, 0);
	ck_assert_ptr_eq(r.dev, d2);
	ck_assert_int_eq(prqd_monitor_remove_dev(f.mon, d2), 0);

	/* Removal of device 1, twice: the duplicate finds nothing left to unbind. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(feed_file(f.mon, "remove-pci.bin", &r), 0);
		ck_assert_int_eq(r.action, PRQD_MON_FORCE_UNBIND);
		ck_assert_int_eq(r.action_result, 0);
	}

	struct prqd_monitor_stats st;
	prqd_monitor_stats(f.mon, &st, sizeof(st));
	ck_assert_uint_eq(st.accepted, 6);
	ck_assert_uint_eq(st.actions, 5);
	ck_assert_uint_eq(st.action_errors, 0);
	mfix_teardown(&f, d2);
}
END_TEST

/* A drain that cannot finish: the event is still accepted, the failure is the action's; and
 * the following resume fails since the bonds never reached STOPPED. */
START_TEST(monitor_action_errors)
{
	struct mfix f;
	struct prqd_monitor_result r;
	mfix_setup(&f, 0);
	struct prqd_bond *a = tw_bind(f.d1, 1, &f.rec);
	f.w.t->drain_mode = TD_NEVER;
	ck_assert_int_eq(prqd_monitor_set_drain(f.mon, PRQD_DRAIN_ABANDON, 5), 0);
	ck_assert_int_eq(feed_file(f.mon, "begin-recovery.bin", &r), 0);
	ck_assert_int_eq(r.action_result, -PRQD_ETIMEDOUT);
	ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_STOPPING);
	ck_assert_int_eq(feed_file(f.mon, "successful-recovery.bin", &r), 0);
	ck_assert_int_eq(r.action_result, -PRQD_EINVAL);
	struct prqd_monitor_stats st;
	prqd_monitor_stats(f.mon, &st, sizeof(st));
	ck_assert_uint_eq(st.actions, 2);
	ck_assert_uint_eq(st.action_errors, 2);
	/* The device gives up: the forced unbind still works on a STOPPING bond. */
	ck_assert_int_eq(feed_file(f.mon, "remove-pci.bin", &r), 0);
	ck_assert_int_eq(r.action_result, 0);
	mfix_teardown(&f, NULL);
}
END_TEST

/* PRQD_MONITOR_OBSERVE reports the decision and touches nothing. */
START_TEST(monitor_observe)
{
	struct mfix f;
	struct prqd_monitor_result r;
	mfix_setup(&f, PRQD_MONITOR_OBSERVE);
	struct prqd_bond *a = tw_bind(f.d1, 1, &f.rec);
	ck_assert_int_eq(feed_file(f.mon, "remove-pci.bin", &r), 0);
	ck_assert_int_eq(r.action, PRQD_MON_FORCE_UNBIND);
	ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_unbind(a, 0), 0);
	mfix_teardown(&f, NULL);
}
END_TEST

#if PRQD_HAVE_BACKEND_SIM
/* ---- recovery flows on the simulator --------------------------------------------------------- */

/* Bond indexes of the built-in setup. */
enum { D1P1, D1P2, D1RID, D2P1, D2P2, NBONDS };

static struct uevent_sim *bench(uint64_t seed)
{
	struct uevent_sim *u;
	char err[256];
	int rc = uevent_sim_new(NULL, seed, &u, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(uevent_sim_nbonds(u), NBONDS);
	return u;
}

static void feed_ok(struct uevent_sim *u, struct buf b, int action)
{
	struct prqd_monitor_result r;
	ck_assert_int_eq(uevent_sim_feed(u, b.p, b.len, &kernel, &r), 0);
	ck_assert_int_eq(r.action, action);
	ck_assert_msg(r.action_result == 0, "action %s returned %d",
		      prqd_monitor_action_name(action), r.action_result);
	free(b.p);
}

static void finish_clean(struct uevent_sim *u)
{
	struct uevent_sim_report rep;
	int rc = uevent_sim_finish(u, &rep);
	ck_assert_msg(rc == 0, "%u violation(s): %s; %s", rep.violations, rep.first_violation,
		      rep.error);
}

/* BEGIN_RECOVERY stops and drains under traffic (no checker violation); while stopped
 * nothing is delivered; SUCCESSFUL_RECOVERY makes the bonds ACTIVE and traffic flows again. */
START_TEST(sim_recovery_success)
{
	struct uevent_sim *u = bench(1 + (uint64_t)_i);
	uevent_sim_run(u, 40000);
	for (unsigned i = 0; i < NBONDS; i++)
		ck_assert_uint_gt(uevent_sim_bond_delivered(u, i), 0);

	feed_ok(u, load("begin-recovery.bin"), PRQD_MON_STOP_DRAIN);
	for (unsigned i = D1P1; i <= D1RID; i++)
		ck_assert_int_eq(uevent_sim_bond_state(u, i), PRQD_BOND_STOPPED);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P1), PRQD_BOND_ACTIVE);
	uint64_t before[NBONDS];
	for (unsigned i = 0; i < NBONDS; i++)
		before[i] = uevent_sim_bond_delivered(u, i);
	uevent_sim_run(u, 40000);
	for (unsigned i = D1P1; i <= D1RID; i++)
		ck_assert_uint_eq(uevent_sim_bond_delivered(u, i), before[i]);
	ck_assert_uint_gt(uevent_sim_bond_delivered(u, D2P1), before[D2P1]);

	feed_ok(u, load("successful-recovery.bin"), PRQD_MON_RESUME);
	for (unsigned i = D1P1; i <= D1RID; i++)
		ck_assert_int_eq(uevent_sim_bond_state(u, i), PRQD_BOND_ACTIVE);
	uevent_sim_run(u, 40000);
	for (unsigned i = D1P1; i <= D1RID; i++)
		ck_assert_uint_gt(uevent_sim_bond_delivered(u, i), before[i]);
	finish_clean(u);
}
END_TEST

/* BEGIN_RECOVERY then FAILED_RECOVERY: the stopped bonds are freed, the other device goes on. */
START_TEST(sim_recovery_failed)
{
	struct uevent_sim *u = bench(7 + (uint64_t)_i);
	uevent_sim_run(u, 30000);
	feed_ok(u, pci_event("change", SLOT2, "ERROR_EVENT=BEGIN_RECOVERY", "DEVICE_ONLINE=0"),
		PRQD_MON_STOP_DRAIN);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P1), PRQD_BOND_STOPPED);
	uevent_sim_run(u, 20000);
	feed_ok(u, load("failed-recovery.bin"), PRQD_MON_FORCE_UNBIND);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P1), PRQD_BOND_FREED);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P2), PRQD_BOND_FREED);
	ck_assert_int_eq(uevent_sim_bond_state(u, D1P1), PRQD_BOND_ACTIVE);
	uint64_t d1 = uevent_sim_bond_delivered(u, D1P1);
	uevent_sim_run(u, 20000);
	ck_assert_uint_gt(uevent_sim_bond_delivered(u, D1P1), d1);
	finish_clean(u);
}
END_TEST

/* remove (the simulated device is surprise-removed too) and driver unbind, mid-traffic and
 * with no warning: every bond of the device is freed at once, without a violation. */
START_TEST(sim_remove_and_unbind)
{
	struct uevent_sim *u = bench(11 + (uint64_t)_i);
	uevent_sim_run(u, 25000 + 1000 * (uint64_t)_i);
	feed_ok(u, load("remove-pci.bin"), PRQD_MON_FORCE_UNBIND);
	for (unsigned i = D1P1; i <= D1RID; i++)
		ck_assert_int_eq(uevent_sim_bond_state(u, i), PRQD_BOND_FREED);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P1), PRQD_BOND_ACTIVE);
	uevent_sim_run(u, 10000);
	feed_ok(u, load("unbind-pci.bin"), PRQD_MON_FORCE_UNBIND);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P1), PRQD_BOND_FREED);
	ck_assert_int_eq(uevent_sim_bond_state(u, D2P2), PRQD_BOND_FREED);
	/* Late duplicates change nothing. */
	feed_ok(u, load("remove-pci.bin"), PRQD_MON_FORCE_UNBIND);
	uevent_sim_run(u, 10000);
	finish_clean(u);
}
END_TEST

/* Hostile input reaches nothing: forged removals from a process, malformed and huge buffers,
 * events of other devices. The bonds keep running. */
START_TEST(sim_hostile_input_changes_nothing)
{
	struct uevent_sim *u = bench(3);
	uevent_sim_run(u, 20000);
	struct prqd_monitor_result r;
	static const struct prqd_uevent_origin user = { .port = 31337, .groups = 1 };
	struct buf b = load("remove-pci.bin");
	ck_assert_int_eq(uevent_sim_feed(u, b.p, b.len, &user, &r), -PRQD_EPERM);
	free(b.p);
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		b = load(bad_files[i]);
		ck_assert_int_eq(uevent_sim_feed(u, b.p, b.len, &kernel, &r), -PRQD_EBADMSG);
		free(b.p);
	}
	b = pci_event("remove", "0000:00:03.0", NULL, NULL);
	ck_assert_int_eq(uevent_sim_feed(u, b.p, b.len, &kernel, &r), -PRQD_ENODEV);
	free(b.p);
	for (unsigned i = 0; i < NBONDS; i++)
		ck_assert_int_eq(uevent_sim_bond_state(u, i), PRQD_BOND_ACTIVE);
	struct prqd_monitor_stats st;
	prqd_monitor_stats(uevent_sim_monitor(u), &st, sizeof(st));
	ck_assert_uint_eq(st.rejected_sender, 1);
	ck_assert_uint_eq(st.rejected_format, sizeof(bad_files) / sizeof(bad_files[0]));
	ck_assert_uint_eq(st.rejected_unknown, 1);
	ck_assert_uint_eq(st.accepted, 0);
	finish_clean(u);
}
END_TEST

/* A scenario file's devices: flr.scn's function at 0b:00.1, recovered twice in a row. */
START_TEST(sim_scenario_devices)
{
	char path[1024], err[256];
	const char *src = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/examples/scenarios/flr.scn", src ? src : ".");
	struct scn *s;
	ck_assert_msg(scn_load_file(path, &s, err, sizeof(err)) == 0, "%s", err);
	struct uevent_sim *u;
	ck_assert_msg(uevent_sim_new(s, 0, &u, err, sizeof(err)) == 0, "%s", err);
	scn_free(s);
	ck_assert_str_eq(uevent_sim_bond_slot(u, 0), "0000:0b:00.1");
	for (int round = 0; round < 2; round++) {
		uevent_sim_run(u, 20000);
		feed_ok(u, pci_event("change", "0000:0b:00.1", "ERROR_EVENT=BEGIN_RECOVERY", NULL),
			PRQD_MON_STOP_DRAIN);
		for (unsigned i = 0; i < uevent_sim_nbonds(u); i++)
			ck_assert_int_eq(uevent_sim_bond_state(u, i), PRQD_BOND_STOPPED);
		uevent_sim_run(u, 5000);
		feed_ok(u,
			pci_event("change", "0000:0b:00.1", "ERROR_EVENT=SUCCESSFUL_RECOVERY", NULL),
			PRQD_MON_RESUME);
	}
	finish_clean(u);
}
END_TEST

/* A device whose ATC never answers cannot be drained: BEGIN_RECOVERY is accepted, the drain's
 * -ETIMEDOUT is the action's result (the bond stays STOPPING), and the removal that follows
 * still frees everything without a violation. */
START_TEST(sim_drain_timeout_is_an_action_error)
{
	char err[256];
	struct scn *s;
	ck_assert_int_eq(scn_new("atc-never", &s), 0);
	struct scn_device d;
	scn_device_init(&d, "dev", 0x0008);
	d.cfg.atc_mode = SIM_ATC_NEVER;
	ck_assert_int_ge(scn_add_device(s, &d), 0);
	struct scn_bond b = { .dev = 0, .pasid = 1, .bound = true };
	snprintf(b.name, sizeof(b.name), "p1");
	ck_assert_int_ge(scn_add_bond(s, &b), 0);
	struct uevent_sim *u;
	ck_assert_msg(uevent_sim_new(s, 5, &u, err, sizeof(err)) == 0, "%s", err);
	scn_free(s);
	prqd_monitor_set_drain(uevent_sim_monitor(u), 0, 1);
	uevent_sim_run(u, 10000);
	struct buf ev = load("begin-recovery.bin");
	struct prqd_monitor_result r;
	ck_assert_int_eq(uevent_sim_feed(u, ev.p, ev.len, &kernel, &r), 0);
	free(ev.p);
	ck_assert_int_eq(r.action, PRQD_MON_STOP_DRAIN);
	ck_assert_int_eq(r.action_result, -PRQD_ETIMEDOUT);
	ck_assert_int_eq(uevent_sim_bond_state(u, 0), PRQD_BOND_STOPPING);
	/* The device is given up: forced unbind, and the run is still clean. */
	feed_ok(u, load("remove-pci.bin"), PRQD_MON_FORCE_UNBIND);
	finish_clean(u);
}
END_TEST

#endif /* PRQD_HAVE_BACKEND_SIM */

/* ---- the real socket ---------------------------------------------------------------------- */

#if HAVE_LIBNL
/* Open the monitor's socket, or say why this machine cannot (then the test has nothing to
 * check: a sandbox without netlink). */
static bool open_or_explain(struct prqd_monitor *mon)
{
	int rc = prqd_monitor_open(mon);
	if (rc < 0) {
		fprintf(stderr, "note: the uevent socket cannot be opened here (%s): not tested\n",
			strerror(-rc));
		return false;
	}
	return true;
}

START_TEST(socket_life_cycle)
{
	struct prqd_monitor *mon;
	ck_assert_int_eq(prqd_monitor_new(0, &mon), 0);
	ck_assert_int_eq(prqd_monitor_fd(mon), -EBADF);
	ck_assert_int_eq(prqd_monitor_receive(mon, 0, NULL), -EBADF);
	if (open_or_explain(mon)) {
		ck_assert_int_ge(prqd_monitor_fd(mon), 0);
		ck_assert_int_eq(prqd_monitor_open(mon), -EALREADY);
		/* Nothing waits, or a real event from this machine: never an error, never a
		 * block with a zero timeout. */
		int rc = prqd_monitor_receive(mon, 0, NULL);
		ck_assert(rc == 0 || rc == 1);
	}
	prqd_monitor_free(mon); /* closes the socket */
}
END_TEST

/* A process (root may send to the kernel's uevent group) forges a removal of a registered
 * device: it arrives on the monitor's socket from a non-zero port and is refused there. */
START_TEST(socket_refuses_forged_sender)
{
	if (geteuid() != 0) {
		fprintf(stderr, "note: not root: cannot send to the uevent group: not tested\n");
		return;
	}
	struct mfix f;
	mfix_setup(&f, 0);
	struct prqd_bond *a = tw_bind(f.d1, 1, &f.rec);
	if (!open_or_explain(f.mon)) {
		ck_assert_int_eq(prqd_unbind(a, 0), 0);
		mfix_teardown(&f, NULL);
		return;
	}
	int sk = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	ck_assert_int_ge(sk, 0);
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	struct buf ev = load("remove-pci.bin");
	ssize_t sent = sendto(sk, ev.p, ev.len, 0, (struct sockaddr *)&to, sizeof(to));
	int send_errno = errno;
	free(ev.p);
	close(sk);
	if (sent < 0) {
		fprintf(stderr, "note: sending to the uevent group refused here (%s): not tested\n",
			strerror(send_errno));
	} else {
		/* Real uevents of this machine may come in between: read until the forged
		 * one was judged, for at most a few seconds. */
		struct prqd_monitor_stats st = { 0 };
		for (int i = 0; i < 30 && st.rejected_sender == 0; i++) {
			int rc = prqd_monitor_receive(f.mon, 100, NULL);
			ck_assert_int_ge(rc, 0);
			prqd_monitor_stats(f.mon, &st, sizeof(st));
		}
		ck_assert_uint_eq(st.rejected_sender, 1);
		ck_assert_uint_eq(st.actions, 0);
		ck_assert_int_eq(prqd_bond_state(a), PRQD_BOND_ACTIVE);
	}
	ck_assert_int_eq(prqd_unbind(a, 0), 0);
	mfix_teardown(&f, NULL);
}
END_TEST
#endif

static Suite *uevent_suite(void)
{
	Suite *s = suite_create("uevent");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, parse_begin_recovery);
	tcase_add_loop_test(tc, parse_good_files, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, parse_bad_files, 0, sizeof(bad_files) / sizeof(bad_files[0]));
	tcase_add_test(tc, parse_limits);
	tcase_add_test(tc, parse_each_rule);
	tcase_add_test(tc, parse_every_truncation);
	tcase_add_test(tc, parse_hostile_bytes);
	tcase_add_test(tc, parse_slots);
	tcase_add_test(tc, function_from_devpath);
	tcase_add_test(tc, decide_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("monitor");
	tcase_add_test(tc, monitor_sender_check);
	tcase_add_test(tc, monitor_registry);
	tcase_add_test(tc, monitor_actions);
	tcase_add_test(tc, monitor_action_errors);
	tcase_add_test(tc, monitor_observe);
	suite_add_tcase(s, tc);

#if PRQD_HAVE_BACKEND_SIM /* the bench opens the "sim" backend (lib/linux/uevent-sim.c) */
	tc = tcase_create("sim");
	tcase_add_loop_test(tc, sim_recovery_success, 0, 8);
	tcase_add_loop_test(tc, sim_recovery_failed, 0, 4);
	tcase_add_loop_test(tc, sim_remove_and_unbind, 0, 8);
	tcase_add_test(tc, sim_hostile_input_changes_nothing);
	tcase_add_test(tc, sim_scenario_devices);
	tcase_add_test(tc, sim_drain_timeout_is_an_action_error);
	suite_add_tcase(s, tc);
#endif

#if HAVE_LIBNL
	tc = tcase_create("socket");
	tcase_add_test(tc, socket_life_cycle);
	tcase_add_test(tc, socket_refuses_forged_sender);
	suite_add_tcase(s, tc);
#endif
	return s;
}

int main(void)
{
	return run_suite(uevent_suite());
}
