/* SPDX-License-Identifier: MIT */
/*
 * backends/sim/scenario-compare.c: whether two scenarios mean the same run, field by field,
 * for the tests that hold scn_write() and scn_parse() to an exact round trip.
 *
 * Everything a run reads is compared; not compared are where things were written (the file
 * name and the line numbers) and the allocation sizes. A fabric value counts only when its
 * bit is set, as the runner reads it only then.
 *
 * scn_check_round_trip() is the property itself: write, parse, compare, write again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"

struct cmp {
	char *why;
	size_t len;
	bool differ;
};

static void differ(struct cmp *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void differ(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	/* The first difference is the one worth reading. */
	if (c->differ)
		return;
	c->differ = true;
	if (c->why && c->len) {
		va_start(ap, fmt);
		vsnprintf(c->why, c->len, fmt, ap);
		va_end(ap);
	}
}

#define SAME_NUM(c, what, i, a, b, field)                                                    \
	do {                                                                                 \
		if ((uint64_t)(a)->field != (uint64_t)(b)->field)                            \
			differ((c), "%s %u: " #field " %" PRIu64 " != %" PRIu64, (what), (i), \
			       (uint64_t)(a)->field, (uint64_t)(b)->field);                  \
	} while (0)

#define SAME_STR(c, what, i, a, b, field)                                                     \
	do {                                                                                  \
		if (strcmp((a)->field, (b)->field) != 0)                                      \
			differ((c), "%s %u: " #field " \"%s\" != \"%s\"", (what), (i), (a)->field, \
			       (b)->field);                                                   \
	} while (0)

static void cmp_device(struct cmp *c, unsigned i, const struct scn_device *a,
		       const struct scn_device *b)
{
	SAME_STR(c, "device", i, a, b, name);
	SAME_NUM(c, "device", i, a, b, cfg.rid);
	SAME_NUM(c, "device", i, a, b, cfg.capacity);
	SAME_NUM(c, "device", i, a, b, cfg.prg_resp_pasid_required);
	SAME_NUM(c, "device", i, a, b, cfg.uses_stop_markers);
	SAME_NUM(c, "device", i, a, b, cfg.pasid_width);
	SAME_NUM(c, "device", i, a, b, cfg.atc_mode);
	SAME_NUM(c, "device", i, a, b, cfg.atc_lat_ns);
	SAME_NUM(c, "device", i, a, b, cfg.refault_permille);
	SAME_NUM(c, "device", i, a, b, cfg.misbehave);
	SAME_NUM(c, "device", i, a, b, cfg.misbehave_permille);
}

static void cmp_bond(struct cmp *c, unsigned i, const struct scn_bond *a, const struct scn_bond *b)
{
	SAME_STR(c, "bond", i, a, b, name);
	SAME_NUM(c, "bond", i, a, b, dev);
	SAME_NUM(c, "bond", i, a, b, pasid);
	SAME_NUM(c, "bond", i, a, b, handler.kind);
	SAME_NUM(c, "bond", i, a, b, handler.code);
	SAME_NUM(c, "bond", i, a, b, handler.delay_ns);
	SAME_NUM(c, "bond", i, a, b, bound);
}

static void cmp_op(struct cmp *c, unsigned i, const struct scn_op *a, const struct scn_op *b)
{
	SAME_NUM(c, "op", i, a, b, at_ns);
	SAME_NUM(c, "op", i, a, b, kind);
	SAME_NUM(c, "op", i, a, b, on_device);
	SAME_NUM(c, "op", i, a, b, target);
	SAME_NUM(c, "op", i, a, b, flags);
	SAME_NUM(c, "op", i, a, b, pasid);
	SAME_NUM(c, "op", i, a, b, pages);
	SAME_NUM(c, "op", i, a, b, count);
	SAME_NUM(c, "op", i, a, b, every_ns);
	SAME_NUM(c, "op", i, a, b, addr);
	SAME_NUM(c, "op", i, a, b, access);
	SAME_NUM(c, "op", i, a, b, timeout_ns);
	SAME_NUM(c, "op", i, a, b, budget);
	SAME_NUM(c, "op", i, a, b, code);
	SAME_NUM(c, "op", i, a, b, nexpect);
	for (unsigned k = 0; k < a->nexpect && k < SCN_EXPECT_ALT; k++)
		SAME_NUM(c, "op", i, a, b, expect[k]);
}

static void cmp_expect(struct cmp *c, unsigned i, const struct scn_expect *a,
		       const struct scn_expect *b)
{
	SAME_STR(c, "expect", i, a, b, key);
	SAME_NUM(c, "expect", i, a, b, cmp);
	SAME_NUM(c, "expect", i, a, b, rhs_is_key);
	if (a->rhs_is_key)
		SAME_STR(c, "expect", i, a, b, rhs_key);
	else
		SAME_NUM(c, "expect", i, a, b, value);
	SAME_NUM(c, "expect", i, a, b, lhs.src);
	SAME_NUM(c, "expect", i, a, b, lhs.width);
	SAME_NUM(c, "expect", i, a, b, lhs.offset);
	SAME_NUM(c, "expect", i, a, b, lhs.index);
	if (a->rhs_is_key) {
		SAME_NUM(c, "expect", i, a, b, rhs.src);
		SAME_NUM(c, "expect", i, a, b, rhs.width);
		SAME_NUM(c, "expect", i, a, b, rhs.offset);
		SAME_NUM(c, "expect", i, a, b, rhs.index);
	}
}

bool scn_equal(const struct scn *a, const struct scn *b, char *why, size_t whylen)
{
	struct cmp c = { .why = why, .len = whylen };
	const unsigned top = 0;

	if (why && whylen)
		why[0] = '\0';
	SAME_NUM(&c, "scenario", top, a, b, seed);
	SAME_NUM(&c, "scenario", top, a, b, poll_ns);
	SAME_NUM(&c, "scenario", top, a, b, limit_ns);
	SAME_NUM(&c, "scenario", top, a, b, settle_ns);
	SAME_NUM(&c, "scenario", top, a, b, fabric.set);
	if (a->fabric.set & SCN_FABRIC_LAT) {
		SAME_NUM(&c, "scenario", top, a, b, fabric.lat_min_ns);
		SAME_NUM(&c, "scenario", top, a, b, fabric.lat_max_ns);
	}
	if (a->fabric.set & SCN_FABRIC_RESP)
		SAME_NUM(&c, "scenario", top, a, b, fabric.resp_lat_ns);
	if (a->fabric.set & SCN_FABRIC_RELAX)
		SAME_NUM(&c, "scenario", top, a, b, fabric.relax_step_ns);
	SAME_NUM(&c, "scenario", top, a, b, nparams);
	SAME_NUM(&c, "scenario", top, a, b, ndevices);
	SAME_NUM(&c, "scenario", top, a, b, nbonds);
	SAME_NUM(&c, "scenario", top, a, b, nops);
	SAME_NUM(&c, "scenario", top, a, b, nexpects);
	if (c.differ)
		return false;
	for (unsigned i = 0; i < a->nparams; i++) {
		SAME_STR(&c, "param", i, &a->params[i], &b->params[i], name);
		SAME_STR(&c, "param", i, &a->params[i], &b->params[i], value);
	}
	for (unsigned i = 0; i < a->ndevices; i++)
		cmp_device(&c, i, &a->devices[i], &b->devices[i]);
	for (unsigned i = 0; i < a->nbonds; i++)
		cmp_bond(&c, i, &a->bonds[i], &b->bonds[i]);
	for (unsigned i = 0; i < a->nops; i++)
		cmp_op(&c, i, &a->ops[i], &b->ops[i]);
	for (unsigned i = 0; i < a->nexpects; i++)
		cmp_expect(&c, i, &a->expects[i], &b->expects[i]);
	return !c.differ;
}

/* Print @s into a new buffer (*text, *len); 0 or -ENOMEM / -EIO. */
static int write_to_memory(const struct scn *s, char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	int rc;

	if (!f)
		return -ENOMEM;
	rc = scn_write(f, s);
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc) {
		free(*text);
		*text = NULL;
	}
	return rc;
}

int scn_check_round_trip(const struct scn *s, char *why, size_t whylen)
{
	char *first = NULL, *second = NULL;
	size_t first_len, second_len;
	struct scn *again = NULL;
	char err[256];
	int rc;

	if (why && whylen)
		why[0] = '\0';
	rc = write_to_memory(s, &first, &first_len);
	if (rc)
		goto out;
	rc = scn_parse(first, first_len, s->file, &again, err, sizeof(err));
	if (rc) {
		if (why && whylen)
			snprintf(why, whylen, "the written text does not parse: %s", err);
		rc = -EPROTO;
		goto out;
	}
	if (!scn_equal(s, again, why, whylen)) {
		rc = -EPROTO;
		goto out;
	}
	rc = write_to_memory(again, &second, &second_len);
	if (rc)
		goto out;
	if (first_len != second_len || memcmp(first, second, first_len) != 0) {
		if (why && whylen)
			snprintf(why, whylen, "the second write differs from the first");
		rc = -EPROTO;
	}
out:
	free(first);
	free(second);
	scn_free(again);
	return rc;
}
