/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the uevent parser (lib/linux/uevent-parse.c), which sees whatever the netlink
 * socket delivers. It must never read outside the datagram, and what it accepts must be the
 * kernel's format as prqdrain-uevent.h states it: every string it returns lies inside the
 * buffer and ends there with a NUL, ACTION and DEVPATH are present, DEVPATH starts with '/',
 * keys are [A-Za-z0-9_] and unique. The slot name parser gets the same bytes as a C string.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "prqdrain-uevent.h"
#include "tests/fuzz/fuzz.h"

static bool inside(const uint8_t *buf, size_t len, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	return p >= buf && p < buf + len && memchr(p, '\0', (size_t)(buf + len - p)) != NULL;
}

static bool key_ok(const char *key, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = key[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

static void check_event(const uint8_t *buf, size_t len, const struct prqd_uevent *ev)
{
	FUZZ_REQUIRE(ev->action_name && inside(buf, len, ev->action_name), "action name");
	FUZZ_REQUIRE(ev->devpath && inside(buf, len, ev->devpath) && ev->devpath[0] == '/',
		     "devpath");
	const char *optional[] = { ev->subsystem, ev->driver, ev->pci_slot };
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		FUZZ_REQUIRE(!optional[i] || inside(buf, len, optional[i]), "optional field %zu", i);
	FUZZ_REQUIRE(ev->nvars <= PRQD_UEVENT_MAX_VARS, "nvars %u", ev->nvars);
	for (unsigned i = 0; i < ev->nvars; i++) {
		const struct prqd_uevent_var *v = &ev->vars[i];
		const uint8_t *k = (const uint8_t *)v->key;
		FUZZ_REQUIRE(k >= buf && k + v->key_len < buf + len && key_ok(v->key, v->key_len) &&
				     v->key[v->key_len] == '=',
			     "key of record %u", i);
		FUZZ_REQUIRE(inside(buf, len, v->value) && v->value == v->key + v->key_len + 1,
			     "value of record %u", i);
		for (unsigned j = 0; j < i; j++)
			FUZZ_REQUIRE(ev->vars[j].key_len != v->key_len ||
					     memcmp(ev->vars[j].key, v->key, v->key_len) != 0,
				     "key of record %u repeated", i);
	}
	FUZZ_REQUIRE(prqd_uevent_get(ev, "ACTION") != NULL && prqd_uevent_get(ev, "DEVPATH") != NULL,
		     "ACTION and DEVPATH");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prqd_uevent ev;
	int rc = prqd_uevent_parse(data, size, &ev);

	if (rc == 0)
		check_event(data, size, &ev);
	else
		FUZZ_REQUIRE(rc == -EBADMSG || rc == -ERANGE, "prqd_uevent_parse returned %d", rc);

	/* The same bytes as a slot name: cut at 63 bytes or the first NUL. */
	char slot[64];
	size_t n = size < sizeof(slot) - 1 ? size : sizeof(slot) - 1;
	memcpy(slot, data, n);
	slot[n] = '\0';
	uint32_t domain = 0;
	uint16_t rid = 0;
	rc = prqd_uevent_parse_slot(slot, &domain, &rid);
	FUZZ_REQUIRE(rc == 0 || rc == -EINVAL, "prqd_uevent_parse_slot returned %d", rc);
	if (rc == 0) {
		/* What was accepted, written the way sysfs writes it, reads back the same. */
		char again[64];
		uint32_t domain2;
		uint16_t rid2;
		snprintf(again, sizeof(again), "%04x:%02x:%02x.%u", domain, rid >> 8,
			 (rid >> 3) & 0x1f, rid & 7);
		FUZZ_REQUIRE(prqd_uevent_parse_slot(again, &domain2, &rid2) == 0 &&
				     domain2 == domain && rid2 == rid,
			     "slot \"%s\" written as \"%s\" does not read back", slot, again);
	}
	return 0;
}
