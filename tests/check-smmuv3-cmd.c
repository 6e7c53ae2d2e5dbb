/* SPDX-License-Identifier: MIT */
/*
 * check-smmuv3-cmd: the SMMUv3 command builders (backends/smmuv3/smmuv3-cmdq.c) against the
 * command layouts of the Arm SMMUv3 specification as pri-facts.md §2.3 gives them (Linux's
 * field masks, QEMU's command enum).
 *
 * Every layout is written out here as a list of fields (word, highest bit, lowest bit,
 * value), without smmuv3-regs.h: the test assembles the two words the command must be from
 * the list and compares them with what the builder wrote, so a field at the wrong place, cut
 * to the wrong width or a stray bit shows. Field values are chosen with their top and bottom
 * bits set where the width allows.
 */
#include <check.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/smmuv3/smmuv3-cmdq.h"

#include "tests/check-main.h"

struct bits {
	unsigned word, hi, lo;
	uint64_t value;
};

#define LAYOUT_END { 2, 0, 0, 0 }

/* The command @layout describes, assembled; a value wider than its field fails the test. */
static struct smmuv3_cmd assemble(const char *what, const struct bits *layout)
{
	struct smmuv3_cmd c = { { 0, 0 } };
	uint64_t used[2] = { 0, 0 };

	for (const struct bits *b = layout; b->word < 2; b++) {
		unsigned width = b->hi - b->lo + 1;
		uint64_t mask = width == 64 ? ~0ull : ((1ull << width) - 1);

		ck_assert_msg((b->value & ~mask) == 0, "%s: value too wide for dw%u [%u:%u]", what,
			      b->word, b->hi, b->lo);
		ck_assert_msg((used[b->word] & (mask << b->lo)) == 0, "%s: fields overlap at dw%u [%u:%u]",
			      what, b->word, b->hi, b->lo);
		used[b->word] |= mask << b->lo;
		c.dw[b->word] |= b->value << b->lo;
	}
	return c;
}

static void expect(const char *what, const struct smmuv3_cmd *got, const struct bits *layout)
{
	struct smmuv3_cmd want = assemble(what, layout);

	ck_assert_msg(got->dw[0] == want.dw[0] && got->dw[1] == want.dw[1],
		      "%s: got %016" PRIx64 " %016" PRIx64 ", want %016" PRIx64 " %016" PRIx64, what,
		      got->dw[0], got->dw[1], want.dw[0], want.dw[1]);
}

START_TEST(cmd_sync)
{
	struct smmuv3_cmd c;

	smmuv3_cmd_sync(&c, 0, 0, 0);
	expect("CMD_SYNC CS=NONE", &c, (const struct bits[]){ { 0, 7, 0, 0x46 }, LAYOUT_END });

	/* CS=IRQ with an MSI write: MSH inner shareable (3), MSIAttr inner/outer write-back
	 * (0xF), MSIData [63:32], MSIAddress [51:2] (low two bits dropped). */
	smmuv3_cmd_sync(&c, 1, 0x80000001u, 0x000F123456789ABFull);
	expect("CMD_SYNC CS=IRQ with MSI", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x46 },
				      { 0, 13, 12, 1 },
				      { 0, 23, 22, 3 },
				      { 0, 27, 24, 0xF },
				      { 0, 63, 32, 0x80000001u },
				      { 1, 51, 2, 0x000F123456789ABFull >> 2 },
				      LAYOUT_END });

	smmuv3_cmd_sync(&c, 1, 7, 0);
	expect("CMD_SYNC CS=IRQ without an address writes nothing", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x46 }, { 0, 13, 12, 1 }, LAYOUT_END });
}
END_TEST

START_TEST(cmd_pri_resp)
{
	struct smmuv3_cmd c;

	/* Resp is the command's own code (§2.3): Success 0b10, Invalid 0b01, Failure 0b00. */
	smmuv3_cmd_pri_resp(&c, 0x80000001u, true, 0xF0001, 0x1FF, 2);
	expect("CMD_PRI_RESP Success with SSV", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x41 },
				      { 0, 11, 11, 1 },
				      { 0, 31, 12, 0xF0001 },
				      { 0, 63, 32, 0x80000001u },
				      { 1, 8, 0, 0x1FF },
				      { 1, 13, 12, 2 },
				      LAYOUT_END });

	smmuv3_cmd_pri_resp(&c, 0x100, false, 0xFFFFF, 0x101, 1);
	expect("CMD_PRI_RESP Invalid without SSV ignores the SubstreamID", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x41 },
				      { 0, 63, 32, 0x100 },
				      { 1, 8, 0, 0x101 },
				      { 1, 13, 12, 1 },
				      LAYOUT_END });

	smmuv3_cmd_pri_resp(&c, 0x100, true, 1, 0, 0);
	expect("CMD_PRI_RESP Failure", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x41 },
				      { 0, 11, 11, 1 },
				      { 0, 31, 12, 1 },
				      { 0, 63, 32, 0x100 },
				      LAYOUT_END });
}
END_TEST

START_TEST(cmd_atc_inv)
{
	struct smmuv3_cmd c;

	/* The whole range: Size 52 (4 KiB << 52 = 2^64 bytes), address 0, Global 0. */
	smmuv3_cmd_atc_inv_all(&c, 0xFFFFFFFFu, true, 0x80001);
	expect("CMD_ATC_INV of a PASID", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x40 },
				      { 0, 11, 11, 1 },
				      { 0, 31, 12, 0x80001 },
				      { 0, 63, 32, 0xFFFFFFFFu },
				      { 1, 5, 0, 52 },
				      LAYOUT_END });

	smmuv3_cmd_atc_inv_all(&c, 0x10, false, 0x12345);
	expect("CMD_ATC_INV of a stream", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x40 }, { 0, 63, 32, 0x10 }, { 1, 5, 0, 52 },
				      LAYOUT_END });
}
END_TEST

START_TEST(cmd_tlbi)
{
	struct smmuv3_cmd c;

	smmuv3_cmd_tlbi_nh_asid(&c, 0x8001, 0x8002);
	expect("CMD_TLBI_NH_ASID", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x11 }, { 0, 47, 32, 0x8002 }, { 0, 63, 48, 0x8001 },
				      LAYOUT_END });

	smmuv3_cmd_tlbi_nh_all(&c, 0xFFFF);
	expect("CMD_TLBI_NH_ALL", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x10 }, { 0, 47, 32, 0xFFFF }, LAYOUT_END });
}
END_TEST

START_TEST(cmd_cfgi_cd)
{
	struct smmuv3_cmd c;

	smmuv3_cmd_cfgi_cd(&c, 0x80000003u, 0xFFFFF, true);
	expect("CMD_CFGI_CD leaf", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x05 },
				      { 0, 31, 12, 0xFFFFF },
				      { 0, 63, 32, 0x80000003u },
				      { 1, 0, 0, 1 },
				      LAYOUT_END });
}
END_TEST

START_TEST(cmd_resume_and_stall_term)
{
	struct smmuv3_cmd c;

	/* Action [13:12]: bit 12 retry (Ac), bit 13 abort (Ab); STAG dw1 [15:0]. */
	smmuv3_cmd_resume(&c, 0x80000005u, 0x8001, 1);
	expect("CMD_RESUME retry", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x44 },
				      { 0, 13, 12, 1 },
				      { 0, 63, 32, 0x80000005u },
				      { 1, 15, 0, 0x8001 },
				      LAYOUT_END });
	smmuv3_cmd_resume(&c, 7, 0xFFFF, 2);
	expect("CMD_RESUME abort", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x44 },
				      { 0, 13, 12, 2 },
				      { 0, 63, 32, 7 },
				      { 1, 15, 0, 0xFFFF },
				      LAYOUT_END });

	smmuv3_cmd_stall_term(&c, 0xC0000001u);
	expect("CMD_STALL_TERM", &c,
	       (const struct bits[]){ { 0, 7, 0, 0x45 }, { 0, 63, 32, 0xC0000001u }, LAYOUT_END });
	ck_assert_uint_eq(smmuv3_cmd_opcode(&c), 0x45);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smmuv3-cmd");
	TCase *tc = tcase_create("builders");

	tcase_add_test(tc, cmd_sync);
	tcase_add_test(tc, cmd_pri_resp);
	tcase_add_test(tc, cmd_atc_inv);
	tcase_add_test(tc, cmd_tlbi);
	tcase_add_test(tc, cmd_cfgi_cd);
	tcase_add_test(tc, cmd_resume_and_stall_term);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
