/* SPDX-License-Identifier: MIT */
/*
 * check-vtd-desc: the VT-d descriptor encoders (backends/vtd/vtd-iq.c) against the bit layouts
 * of the invalidation-queue descriptors (../shared/reference/pri-facts.md §1.3, after the VT-d
 * specification, Linux's QI_* definitions and QEMU's masks).
 *
 * Each layout is written out below as a table of fields (quadword, lowest bit, width), on its
 * own, without the engine's or vtd-regs.h's constants. Every encoder is called with field
 * values chosen so that a field shifted to the wrong place or cut to the wrong width shows,
 * and then every field is extracted and compared, and every bit no field covers (reserved)
 * must be zero, in all four quadwords.
 */
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "backends/vtd/vtd-iq.h"

#include "tests/check-main.h"

struct field {
	const char *name;
	unsigned qw;    /* quadword 0..3 */
	unsigned lo;    /* lowest bit */
	unsigned width; /* bits */
	uint64_t value; /* expected content */
};

#define END_FIELDS { NULL, 0, 0, 0, 0 }

static uint64_t mask_of(unsigned width)
{
	return width >= 64 ? ~0ull : (1ull << width) - 1;
}

/* Compare @d with the layout @f: every field's value, and zero outside the fields. */
static void verify_layout(const char *what, const struct vtd_desc *d, const struct field *f)
{
	uint64_t covered[4] = { 0, 0, 0, 0 };

	for (; f->name; f++) {
		uint64_t m = mask_of(f->width);
		uint64_t got = (d->qw[f->qw] >> f->lo) & m;

		ck_assert_msg(f->lo + f->width <= 64, "%s: table error at %s", what, f->name);
		ck_assert_msg((covered[f->qw] & (m << f->lo)) == 0, "%s: table overlaps at %s", what,
			      f->name);
		covered[f->qw] |= m << f->lo;
		ck_assert_msg(got == (f->value & m) && (f->value & ~m) == 0,
			      "%s: field %s (qw%u [%u:%u]) is 0x%" PRIx64 ", expected 0x%" PRIx64,
			      what, f->name, f->qw, f->lo + f->width - 1, f->lo, got, f->value);
	}
	for (unsigned q = 0; q < 4; q++)
		ck_assert_msg((d->qw[q] & ~covered[q]) == 0,
			      "%s: reserved bits set in qw%u: 0x%016" PRIx64, what, q,
			      d->qw[q] & ~covered[q]);
}

/* ---- Invalidation Wait (type 5) -------------------------------------------------------- */

static void wait_case(uint64_t flags, bool i_f, bool sw, bool fn, bool pd, uint32_t data,
		      uint64_t addr)
{
	struct vtd_desc d;
	char what[96];
	const struct field layout[] = {
		{ "type", 0, 0, 4, 5 },
		{ "IF", 0, 4, 1, i_f },
		{ "SW", 0, 5, 1, sw },
		{ "FN", 0, 6, 1, fn },
		{ "PD", 0, 7, 1, pd },
		{ "status data", 0, 32, 32, data },
		{ "status address", 1, 2, 62, addr >> 2 },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d)); /* the encoder must write every quadword */
	vtd_desc_wait(&d, flags, data, addr);
	snprintf(what, sizeof(what), "wait flags 0x%" PRIx64, flags);
	verify_layout(what, &d, layout);
}

START_TEST(test_wait)
{
	const uint64_t IF = 1u << 4, SW = 1u << 5, FN = 1u << 6, PD = 1u << 7;

	wait_case(SW, false, true, false, false, 0xDEADBEEF, 0x0000123456789ABCull);
	wait_case(SW | FN, false, true, true, false, 0x00000001, 0xFFFFFFFFFFFFFFFCull);
	wait_case(SW | FN | PD, false, true, true, true, 0x80000000, 0x1000);
	wait_case(IF, true, false, false, false, 0, 0);
	wait_case(FN, false, false, true, false, 0x7FFFFFFF, 4);
	/* The address is dword aligned: its two low bits are reserved. */
	wait_case(SW, false, true, false, false, 0x12345678, 0xABCDEF03ull);
	/* Bits that are no wait flag (QW0 bits 8 and up, bits 0-3) never reach the descriptor. */
	wait_case(SW | (1ull << 8) | (1ull << 31) | 0xF, false, true, false, false, 0x55AA55AA,
		  0x2000);
}
END_TEST

/* ---- PASID-based IOTLB invalidation (type 6), all non-global mappings of a PASID --------- */

static void piotlb_case(uint16_t did, uint32_t pasid)
{
	struct vtd_desc d;
	const struct field layout[] = {
		{ "type", 0, 0, 4, 6 },
		{ "granularity", 0, 4, 2, 2 }, /* 10b: all non-global mappings of the PASID */
		{ "DID", 0, 16, 16, did },
		{ "PASID", 0, 32, 20, pasid & 0xFFFFF },
		/* QW1: AM [5:0] = 0, IH [6] = 0, address [63:12] = 0: nothing page-selective. */
		{ "AM", 1, 0, 6, 0 },
		{ "IH", 1, 6, 1, 0 },
		{ "address", 1, 12, 52, 0 },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_piotlb_all(&d, did, pasid);
	verify_layout("PASID IOTLB", &d, layout);
}

START_TEST(test_piotlb)
{
	piotlb_case(0, 0);
	piotlb_case(0xBEEF, 0x12345);
	piotlb_case(0xFFFF, 0xFFFFF);
	piotlb_case(1, 0x100001); /* PASIDs are 20 bits: bit 20 is dropped */
}
END_TEST

/* ---- PASID-cache invalidation (type 7) ----------------------------------------------------
 * QW0: type [3:0], granularity [5:4] (00b every PASID of the domain, 01b one PASID of the
 * domain, 11b global; 10b reserved), DID [31:16], PASID [51:32]; the rest of QW0 and all of
 * QW1 reserved (Linux QI_PC_*, QEMU's reserved mask 0xfff000000000f1c0 with [11:9] the upper
 * type bits). The encoder's granularity arguments are spelled 0 and 1 here on purpose. */

static void pasid_cache_case(unsigned gran, uint16_t did, uint32_t pasid)
{
	struct vtd_desc d;
	const struct field layout[] = {
		{ "type", 0, 0, 4, 7 },
		{ "granularity", 0, 4, 2, gran },
		{ "DID", 0, 16, 16, did },
		{ "PASID", 0, 32, 20, gran == 1 ? (pasid & 0xFFFFF) : 0 },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_pasid_cache(&d, gran, did, pasid);
	verify_layout(gran == 1 ? "PASID cache, PASID selective" : "PASID cache, domain selective",
		      &d, layout);
}

START_TEST(test_pasid_cache)
{
	pasid_cache_case(1, 0, 0);
	pasid_cache_case(1, 0xBEEF, 0x12345);
	pasid_cache_case(1, 0xFFFF, 0xFFFFF);
	pasid_cache_case(1, 1, 0x100001); /* PASIDs are 20 bits: bit 20 is dropped */
	pasid_cache_case(0, 0x8001, 0x777); /* domain selective: no PASID in the descriptor */
}
END_TEST

/* ---- IOTLB invalidation (type 2), domain selective ---------------------------------------- */

static void iotlb_case(uint16_t did)
{
	struct vtd_desc d;
	const struct field layout[] = {
		{ "type", 0, 0, 4, 2 },
		{ "granularity", 0, 4, 2, 2 }, /* 10b: domain selective */
		{ "DW", 0, 6, 1, 0 },
		{ "DR", 0, 7, 1, 0 },
		{ "DID", 0, 16, 16, did },
		{ "AM", 1, 0, 6, 0 },
		{ "IH", 1, 6, 1, 0 },
		{ "address", 1, 12, 52, 0 },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_iotlb_dsi(&d, did);
	verify_layout("IOTLB DSI", &d, layout);
}

START_TEST(test_iotlb)
{
	iotlb_case(0);
	iotlb_case(0x8001);
	iotlb_case(0xFFFF);
}
END_TEST

/* The whole address space, size-encoded: address bits 12..62 set, 63 clear (Linux's choice). */
#define WHOLE_RANGE_ADDR_FIELD 0x7FFFFFFFFFFFFull /* the [63:12] field: 51 ones */

/* ---- PASID-based device-TLB invalidation (type 8), whole range ---------------------------- */

static void pdevtlb_case(uint16_t sid, uint16_t pfsid, uint32_t pasid, uint8_t qdep)
{
	struct vtd_desc d;
	const struct field layout[] = {
		{ "type", 0, 0, 4, 8 },
		{ "MIP/QDEP", 0, 4, 5, qdep & 0x1F },
		{ "PFSID[3:0]", 0, 12, 4, pfsid & 0xF },
		{ "SID", 0, 16, 16, sid },
		{ "PASID", 0, 32, 20, pasid & 0xFFFFF },
		{ "PFSID[15:4]", 0, 52, 12, pfsid >> 4 },
		{ "G", 1, 0, 1, 0 },
		{ "S", 1, 11, 1, 1 },
		{ "address", 1, 12, 52, WHOLE_RANGE_ADDR_FIELD },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_pdevtlb_all(&d, sid, pfsid, pasid, qdep);
	verify_layout("PASID device-TLB", &d, layout);
}

START_TEST(test_pdevtlb)
{
	pdevtlb_case(0, 0, 0, 0);
	pdevtlb_case(0x0310, 0xABCD, 0x54321, 31);
	pdevtlb_case(0xFFFF, 0xFFFF, 0xFFFFF, 0x1F);
	pdevtlb_case(0x0100, 0x0001, 0x1, 0x20); /* a depth of 32 does not fit: encodes as 0 */
}
END_TEST

/* ---- Device-TLB invalidation (type 3), whole range ---------------------------------------- */

static void devtlb_case(uint16_t sid, uint16_t pfsid, uint8_t qdep)
{
	struct vtd_desc d;
	const struct field layout[] = {
		{ "type", 0, 0, 4, 3 },
		{ "PFSID[3:0]", 0, 12, 4, pfsid & 0xF },
		{ "MIP/QDEP", 0, 16, 5, qdep & 0x1F },
		{ "SID", 0, 32, 16, sid },
		{ "PFSID[15:4]", 0, 52, 12, pfsid >> 4 },
		{ "S", 1, 0, 1, 1 },
		{ "address", 1, 12, 52, WHOLE_RANGE_ADDR_FIELD },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_devtlb_all(&d, sid, pfsid, qdep);
	verify_layout("device-TLB", &d, layout);
}

START_TEST(test_devtlb)
{
	devtlb_case(0, 0, 0);
	devtlb_case(0x0310, 0xABCD, 17);
	devtlb_case(0xFFFF, 0xFFFF, 0x1F);
}
END_TEST

/* ---- Page group response (type 9) --------------------------------------------------------- */

static void pgrp_case(uint16_t rid, bool pp, uint32_t pasid, uint16_t prgi, uint8_t rc, bool lpig,
		      const uint64_t *priv)
{
	struct vtd_desc d;
	char what[96];
	const struct field layout[] = {
		{ "type", 0, 0, 4, 9 },
		{ "PP", 0, 4, 1, pp },
		{ "PDP", 0, 5, 1, priv != NULL },
		{ "RC", 0, 12, 4, rc },
		{ "RID", 0, 16, 16, rid },
		/* Without PP the PASID field carries nothing (the encoder leaves it zero). */
		{ "PASID", 0, 32, 20, pp ? pasid & 0xFFFFF : 0 },
		{ "LPIG", 1, 2, 1, lpig },
		{ "PRGI", 1, 3, 9, prgi & 0x1FF },
		{ "private data 0", 2, 0, 64, priv ? priv[0] : 0 },
		{ "private data 1", 3, 0, 64, priv ? priv[1] : 0 },
		END_FIELDS,
	};

	memset(&d, 0xA5, sizeof(d));
	vtd_desc_page_group_resp(&d, rid, pp, pasid, prgi, rc, lpig, priv);
	snprintf(what, sizeof(what), "page group response rid %04x pp %d rc %u", rid, pp, rc);
	verify_layout(what, &d, layout);
}

START_TEST(test_page_group_resp)
{
	const uint64_t priv[2] = { 0x0123456789ABCDEFull, 0xFEDCBA9876543210ull };

	pgrp_case(0x0310, true, 0x12345, 0x1A5, 0x0, true, NULL);
	pgrp_case(0xFFFF, true, 0xFFFFF, 0x1FF, 0x1, false, NULL);
	pgrp_case(0x0001, true, 0x00001, 0x001, 0xF, true, priv);
	pgrp_case(0x8000, false, 0x12345, 0x100, 0x1, true, NULL);
	pgrp_case(0x0000, false, 0, 0, 0, false, priv);
	pgrp_case(0x0310, true, 0x3FFFFF, 0x3FF, 0x0, true, NULL); /* 20-bit PASID, 9-bit PRGI */
}
END_TEST

static Suite *desc_suite(void)
{
	Suite *s = suite_create("vtd-desc");
	TCase *tc = tcase_create("encoders");

	tcase_add_test(tc, test_wait);
	tcase_add_test(tc, test_piotlb);
	tcase_add_test(tc, test_pasid_cache);
	tcase_add_test(tc, test_iotlb);
	tcase_add_test(tc, test_pdevtlb);
	tcase_add_test(tc, test_devtlb);
	tcase_add_test(tc, test_page_group_resp);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(desc_suite());
}
