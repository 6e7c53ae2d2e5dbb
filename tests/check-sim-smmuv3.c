/* SPDX-License-Identifier: MIT */
/*
 * The simulator's register-level SMMUv3 model driven through raw register writes, the way
 * the smmuv3 backend will drive it: IDR fields, CMD_SYNC completion (MSI write), wrap bits,
 * CMD_PRI_RESP's Resp mapped to the PCIe code, CERROR_ILL (illegal opcode, reserved Resp,
 * SSec) and the GERRORN acknowledgement, CERROR_ATC_INV_SYNC, the PRI queue record bit by
 * bit, overflow auto-responses with the PPS/PPAR rules, stop markers never answered, and the
 * snapshot rule that makes TLBI/ATC_INV + CMD_SYNC + "PRI queue up to PROD" a sound drain.
 *
 * Offsets, bits and expected records are written out by hand from pri-facts.md §2 (not taken
 * from the model's header): the test is a third reading of the spec facts.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim-internal.h"

#include "tests/check-main.h"

/* Register offsets (page 1 = +0x10000). */
#define R_IDR0 0x00
#define R_IDR1 0x04
#define R_IDR3 0x0C
#define R_CR0 0x20
#define R_CR0ACK 0x24
#define R_GERROR 0x60
#define R_GERRORN 0x64
#define R_CMDQ_BASE 0x90
#define R_CMDQ_PROD 0x98
#define R_CMDQ_CONS 0x9C
#define R_EVTQ_BASE 0xA0
#define R_EVTQ_PROD 0x100A8
#define R_EVTQ_CONS 0x100AC
#define R_PRIQ_BASE 0xC0
#define R_PRIQ_PROD 0x100C8
#define R_PRIQ_CONS 0x100CC

/* CR0: SMMUEN 0, PRIQEN 1, CMDQEN 3. */
#define EN_ALL 0xBu
#define EN_NO_PRIQ 0x9u
#define EN_WITH_EVTQ 0xFu

#define OVF (1u << 31)
#define RID 0x0100u

struct smmu {
	struct sim_world *w;
	const struct prqd_platform *p;
	uint64_t *cmdq, *priq, *evtq;
	uint64_t cmdq_bus, priq_bus, msi_bus, evtq_bus;
	unsigned evtq_log2;
	volatile uint32_t *msi;
	unsigned cmdq_log2, priq_log2;
	uint32_t cmd_prod, pri_cons;
	struct sim_dev *dev;
};

static uint32_t rd(struct smmu *s, uint64_t off)
{
	return s->p->mmio_read32(s->p->user, off);
}

static void wr(struct smmu *s, uint64_t off, uint32_t val)
{
	s->p->mmio_write32(s->p->user, off, val);
}

static void smmu_open(struct smmu *s, const struct sim_smmuv3_config *cfg, unsigned priq_log2,
		      const struct sim_dev_cfg *dc)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(sim_world_new(NULL, 7, NULL, &s->w), 0);
	s->p = sim_world_platform(s->w);
	struct sim_smmuv3_config def;
	sim_smmuv3_config_default(&def);
	ck_assert_int_eq(sim_smmuv3_configure(s->w, cfg ? cfg : &def), 0);
	s->cmdq_log2 = 2; /* four commands: the wrap bit is bit 2 */
	s->priq_log2 = priq_log2;
	void *va;
	ck_assert_int_eq(s->p->dma_alloc(s->p->user, 16u << s->cmdq_log2, 64, &va, &s->cmdq_bus), 0);
	s->cmdq = va;
	ck_assert_int_eq(s->p->dma_alloc(s->p->user, 16u << priq_log2, 64, &va, &s->priq_bus), 0);
	s->priq = va;
	ck_assert_int_eq(s->p->dma_alloc(s->p->user, 8, 8, &va, &s->msi_bus), 0);
	s->msi = va;
	s->p->mmio_write64(s->p->user, R_CMDQ_BASE, s->cmdq_bus | s->cmdq_log2);
	s->p->mmio_write64(s->p->user, R_PRIQ_BASE, s->priq_bus | priq_log2);
	wr(s, R_CMDQ_PROD, 0);
	wr(s, R_CMDQ_CONS, 0);
	wr(s, R_PRIQ_PROD, 0);
	wr(s, R_PRIQ_CONS, 0);
	wr(s, R_CR0, EN_ALL);
	ck_assert_uint_eq(rd(s, R_CR0ACK), EN_ALL);
	ck_assert(sim_smmuv3_active(s->w));
	struct sim_dev_cfg d;
	sim_dev_cfg_default(&d);
	if (dc)
		d = *dc;
	d.rid = RID;
	ck_assert_int_eq(sim_dev_add(s->w, &d, &s->dev), 0);
}

/* Give the queues back (the checker's leak check counts them as the library's). */
static void free_queues(struct smmu *s)
{
	if (!s->cmdq)
		return;
	s->p->dma_free(s->p->user, s->cmdq, 16u << s->cmdq_log2);
	s->p->dma_free(s->p->user, s->priq, 16u << s->priq_log2);
	s->p->dma_free(s->p->user, (void *)s->msi, 8);
	if (s->evtq)
		s->p->dma_free(s->p->user, s->evtq, 32u << s->evtq_log2);
	s->cmdq = s->priq = s->evtq = NULL;
	s->msi = NULL;
}

static void smmu_close(struct smmu *s)
{
	free_queues(s);
	sim_world_free(s->w);
}

static void run(struct smmu *s, uint64_t ns)
{
	sim_run_until(s->w, sim_now(s->w) + ns);
}

/* Queue one command at the software's PROD and ring the doorbell. */
static void cmd(struct smmu *s, uint64_t dw0, uint64_t dw1)
{
	uint32_t mask = (2u << s->cmdq_log2) - 1;
	uint32_t idx = s->cmd_prod & ((1u << s->cmdq_log2) - 1);
	s->cmdq[idx * 2] = dw0;
	s->cmdq[idx * 2 + 1] = dw1;
	s->cmd_prod = (s->cmd_prod + 1) & mask;
	wr(s, R_CMDQ_PROD, s->cmd_prod);
}

/* Commands (dw0 [7:0] opcode). */
static uint64_t sync_cmd(unsigned cs, uint32_t data)
{
	return 0x46ull | (uint64_t)cs << 12 | (uint64_t)data << 32;
}

static uint64_t sid_ssid(uint32_t sid, bool ssv, uint32_t ssid)
{
	return (uint64_t)sid << 32 | (ssv ? 1ull << 11 : 0) | (uint64_t)ssid << 12;
}

static void pri_resp(struct smmu *s, bool ssv, uint32_t pasid, unsigned prgi, unsigned resp)
{
	cmd(s, 0x41ull | sid_ssid(RID, ssv, pasid), (uint64_t)prgi | (uint64_t)resp << 12);
}

/* The next PRI queue record (false when the queue is empty). */
static bool pri_pop(struct smmu *s, uint64_t rec[2])
{
	uint32_t mask = (2u << s->priq_log2) - 1;
	uint32_t prod = rd(s, R_PRIQ_PROD);
	if (((prod ^ s->pri_cons) & mask) == 0)
		return false;
	uint32_t idx = s->pri_cons & ((1u << s->priq_log2) - 1);
	rec[0] = s->priq[idx * 2];
	rec[1] = s->priq[idx * 2 + 1];
	s->pri_cons = (s->pri_cons & ~mask) | ((s->pri_cons + 1) & mask);
	wr(s, R_PRIQ_CONS, s->pri_cons);
	return true;
}

static void inject(struct smmu *s, uint32_t pasid, uint16_t prgi, uint64_t addr, uint8_t flags)
{
	struct sim_up_msg m = { 0 };
	m.kind = SIM_UP_PAGE_REQ;
	m.tag = s->w->next_tag++;
	m.issue_ns = sim_now(s->w);
	m.pasid = pasid;
	m.prg_index = prgi;
	m.addr = addr;
	m.flags = flags;
	s->w->model->receive(s->dev, &m);
}

static void finish_clean(struct smmu *s)
{
	run(s, 100000);
	free_queues(s);
	sim_check_finish(s->w);
	for (unsigned i = 0; i < sim_violation_total(s->w) && i < 4; i++)
		fprintf(stderr, "violation: %s\n", sim_violation_get(s->w, i)->detail);
	ck_assert_uint_eq(sim_violation_total(s->w), 0);
}

START_TEST(idr_fields_report_the_configuration)
{
	struct sim_smmuv3_config c;
	sim_smmuv3_config_default(&c);
	c.stall_model = 2;
	c.pps = true;
	c.msi = false;
	c.cmdq_max_log2 = 8;
	c.evtq_max_log2 = 7;
	c.priq_max_log2 = 9;
	struct smmu s;
	smmu_open(&s, &c, 3, NULL);
	uint32_t idr0 = rd(&s, R_IDR0);
	ck_assert(idr0 & (1u << 16));    /* PRI */
	ck_assert(idr0 & (1u << 10));    /* ATS */
	ck_assert(!(idr0 & (1u << 13))); /* MSI */
	ck_assert(idr0 & (1u << 14));    /* SEV */
	ck_assert_uint_eq((idr0 >> 24) & 3, 2);
	uint32_t idr1 = rd(&s, R_IDR1);
	ck_assert_uint_eq((idr1 >> 11) & 0x1F, 9);  /* PRIQS */
	ck_assert_uint_eq((idr1 >> 16) & 0x1F, 7);  /* EVTQS */
	ck_assert_uint_eq((idr1 >> 21) & 0x1F, 8);  /* CMDQS */
	ck_assert_uint_eq((idr1 >> 6) & 0x1F, 20);  /* SSIDSIZE */
	ck_assert_uint_eq(rd(&s, R_IDR3) & (1u << 5), 1u << 5);
	/* A second configuration once the registers were touched is refused. */
	ck_assert_int_eq(sim_smmuv3_configure(s.w, &c), -EBUSY);
	smmu_close(&s);
}
END_TEST

START_TEST(cmd_sync_completes_and_writes_its_msi)
{
	struct smmu s;
	smmu_open(&s, NULL, 3, NULL);
	cmd(&s, sync_cmd(1, 0xC0FFEE11u), s.msi_bus);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 1);
	ck_assert_uint_eq(*s.msi, 0xC0FFEE11u);
	/* CS=NONE: completion is seen in CONS alone. */
	*s.msi = 0;
	cmd(&s, sync_cmd(0, 0x1234u), s.msi_bus);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 2);
	ck_assert_uint_eq(*s.msi, 0);
	smmu_close(&s);

	/* Without IDR0.MSI the sync completes and writes nothing. */
	struct sim_smmuv3_config c;
	sim_smmuv3_config_default(&c);
	c.msi = false;
	smmu_open(&s, &c, 3, NULL);
	cmd(&s, sync_cmd(1, 0xC0FFEE11u), s.msi_bus);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 1);
	ck_assert_uint_eq(*s.msi, 0);
	smmu_close(&s);
}
END_TEST

START_TEST(queue_pointers_wrap)
{
	struct smmu s;
	smmu_open(&s, NULL, 1, NULL);
	/* Four-entry command queue: index bits [1:0], wrap bit 2. */
	static const uint32_t cons_after[] = { 1, 2, 3, 4, 5, 6, 7, 0, 1, 2 };
	for (unsigned i = 0; i < 10; i++) {
		cmd(&s, sync_cmd(0, 0), 0);
		ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), cons_after[i]);
	}
	/* Two-entry PRI queue: index bit 0, wrap bit 1. */
	static const uint32_t prod_after[] = { 1, 2, 3, 0, 1 };
	for (unsigned i = 0; i < 5; i++) {
		inject(&s, 0, (uint16_t)i, 0x1000ull * (i + 1), SIM_RQ_READ);
		run(&s, 1000);
		ck_assert_uint_eq(rd(&s, R_PRIQ_PROD), prod_after[i]);
		uint64_t rec[2];
		ck_assert(pri_pop(&s, rec));
		ck_assert_uint_eq(rec[1], 0x1000ull * (i + 1) | i);
	}
	smmu_close(&s);
}
END_TEST

START_TEST(pri_record_layout)
{
	struct smmu s;
	smmu_open(&s, NULL, 3, NULL);
	uint64_t rec[2];
	/* PASID 0x12345, PRGI 0x1A5, every permission, Last. */
	inject(&s, 0x12345, 0x1A5, 0xABCDE000ull,
	       SIM_RQ_READ | SIM_RQ_WRITE | SIM_RQ_EXEC | SIM_RQ_PRIV | SIM_RQ_LAST | SIM_RQ_PASID);
	/* No PASID: Exec and Priv read 0 even if the device set them; read only, not Last. */
	inject(&s, 0, 0x002, 0x7FFFFFFFF000ull, SIM_RQ_READ | SIM_RQ_EXEC | SIM_RQ_PRIV);
	/* A stop marker: Last, R=W=0, SSV, PRGI 0. */
	inject(&s, 0x7, 0, 0, SIM_RQ_LAST | SIM_RQ_PASID | SIM_RQ_MARKER);
	run(&s, 1000);
	ck_assert(pri_pop(&s, rec));
	ck_assert_uint_eq(rec[0], 0xFC01234500000100ull);
	ck_assert_uint_eq(rec[1], 0x00000000ABCDE1A5ull);
	ck_assert(pri_pop(&s, rec));
	ck_assert_uint_eq(rec[0], 0x1000000000000100ull);
	ck_assert_uint_eq(rec[1], 0x00007FFFFFFFF002ull);
	ck_assert(pri_pop(&s, rec));
	ck_assert_uint_eq(rec[0], 0xC000000700000100ull);
	ck_assert_uint_eq(rec[1], 0);
	ck_assert(!pri_pop(&s, rec));
	smmu_close(&s);
}
END_TEST

/* One device group of one page; its PRI record's PRG index. */
static unsigned fault_one(struct smmu *s, uint32_t pasid, uint64_t addr)
{
	ck_assert_int_eq(sim_dev_fault(s->dev, pasid, addr, 1, SIM_R), 0);
	run(s, 10000);
	uint64_t rec[2];
	ck_assert(pri_pop(s, rec));
	ck_assert(rec[0] & (1ull << 62));
	return (unsigned)(rec[1] & 0x1FF);
}

START_TEST(pri_resp_maps_arm_codes_to_pcie_codes)
{
	struct smmu s;
	smmu_open(&s, NULL, 3, NULL);
	struct sim_dev_stats st;
	/* Resp 0b10 Success -> PCIe Success. */
	pri_resp(&s, true, 5, fault_one(&s, 5, 0x10000), 2);
	run(&s, 10000);
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.responses[PRQD_RESP_SUCCESS], 1);
	/* Resp 0b01 Invalid -> PCIe Invalid Request. */
	pri_resp(&s, true, 5, fault_one(&s, 5, 0x20000), 1);
	run(&s, 10000);
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.responses[PRQD_RESP_INVALID], 1);
	/* Resp 0b00 Failure -> PCIe Response Failure (the device turns PRI off). */
	pri_resp(&s, true, 5, fault_one(&s, 5, 0x30000), 0);
	run(&s, 10000);
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.responses[PRQD_RESP_FAILURE], 1);
	ck_assert(st.response_failure);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 3);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

/* The queue stopped on the command at @idx with @cerror; nothing after it was consumed. */
static void expect_stopped(struct smmu *s, uint32_t idx, unsigned cerror)
{
	uint32_t cons = rd(s, R_CMDQ_CONS);
	ck_assert_uint_eq(cons & 0xFFFFF, idx);
	ck_assert_uint_eq((cons >> 24) & 0x7F, cerror);
	ck_assert_uint_eq((rd(s, R_GERROR) ^ rd(s, R_GERRORN)) & 1, 1);
}

/* Replace the stopped command with a sync, acknowledge: the queue goes on. */
static void recover(struct smmu *s, uint32_t idx)
{
	uint32_t i = idx & ((1u << s->cmdq_log2) - 1);
	s->cmdq[i * 2] = sync_cmd(0, 0);
	s->cmdq[i * 2 + 1] = 0;
	wr(s, R_GERRORN, rd(s, R_GERRORN) ^ 1);
	ck_assert_uint_eq(rd(s, R_CMDQ_CONS) & 0xFFFFF, s->cmd_prod);
}

START_TEST(illegal_commands_stop_the_queue_until_acknowledged)
{
	struct smmu s;
	smmu_open(&s, NULL, 3, NULL);
	unsigned prgi = fault_one(&s, 9, 0x40000);
	/* Unknown opcode, then a sync behind it that must wait. */
	cmd(&s, 0x7F, 0);
	cmd(&s, sync_cmd(0, 0), 0);
	expect_stopped(&s, 0, 1);
	/* Still stopped after more doorbells. */
	wr(&s, R_CMDQ_PROD, s.cmd_prod);
	expect_stopped(&s, 0, 1);
	recover(&s, 0);
	/* The reserved Resp 0b11. */
	pri_resp(&s, true, 9, prgi, 3);
	expect_stopped(&s, 2, 1);
	recover(&s, 2);
	/* SSec set on the Non-secure queue. */
	cmd(&s, 0x41ull | sid_ssid(RID, true, 9) | 1ull << 10, prgi | 2ull << 12);
	expect_stopped(&s, 3, 1);
	recover(&s, 3);
	/* None of them reached the device; the real answer does. */
	pri_resp(&s, true, 9, prgi, 2);
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.responses[PRQD_RESP_SUCCESS], 1);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

START_TEST(atc_inv_sync_waits_for_the_device_and_fails_on_timeout)
{
	struct smmu s;
	smmu_open(&s, NULL, 3, NULL);
	cmd(&s, 0x40ull | sid_ssid(RID, true, 3), 52); /* whole range */
	cmd(&s, sync_cmd(0, 0), 0);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 1); /* the sync waits */
	run(&s, 100000);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS), 2);
	smmu_close(&s);

	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.atc_mode = SIM_ATC_NEVER;
	smmu_open(&s, NULL, 3, &dc);
	cmd(&s, 0x40ull | sid_ssid(RID, true, 3), 52);
	cmd(&s, sync_cmd(0, 0), 0);
	run(&s, SIM_SMMUV3_ATC_TIMEOUT_DEFAULT_NS + 1000);
	expect_stopped(&s, 1, 3); /* CERROR_ATC_INV_SYNC on the sync */
	/* Acknowledged, the same sync runs again and completes. */
	wr(&s, R_GERRORN, rd(&s, R_GERRORN) ^ 1);
	ck_assert_uint_eq(rd(&s, R_CMDQ_CONS) & 0xFFFFF, 2);
	struct sim_iommu_stats st;
	sim_iommu_stats(s.w, &st);
	ck_assert_uint_eq(st.drains_started, 1);
	ck_assert_uint_eq(st.drains_failed, 1);
	smmu_close(&s);
}
END_TEST

/* Fill a two-entry PRI queue with two groups (their PRG indices in @prgi); a third group's
 * Last overflows it and is answered by the SMMU. Returns the third group's index. */
static unsigned overflow_with_three_groups(struct smmu *s, uint32_t pasid, unsigned prgi[2])
{
	ck_assert_int_eq(sim_dev_fault(s->dev, pasid, 0x100000, 1, SIM_R), 0);
	ck_assert_int_eq(sim_dev_fault(s->dev, pasid, 0x200000, 1, SIM_R), 0);
	run(s, 10000);
	ck_assert_uint_eq(rd(s, R_PRIQ_PROD), 2); /* full: index 0, wrap 1 */
	for (unsigned i = 0; i < 2; i++) {
		ck_assert(s->priq[i * 2] & (1ull << 62));
		prgi[i] = (unsigned)(s->priq[i * 2 + 1] & 0x1FF);
	}
	ck_assert_int_eq(sim_dev_fault(s->dev, pasid, 0x300000, 1, SIM_R), 0);
	unsigned third = SIM_PRG_INDICES;
	for (unsigned i = 0; i < SIM_PRG_INDICES; i++)
		if (i != prgi[0] && i != prgi[1] && s->dev->index_head[i] >= 0)
			third = i;
	ck_assert_uint_lt(third, SIM_PRG_INDICES);
	run(s, 10000);
	ck_assert_uint_eq(rd(s, R_PRIQ_PROD), 2 | OVF);
	return third;
}

/* Software's recovery (§8.1.1): answer the groups whose Last is queued, then one CONS write
 * that moves RD and acknowledges OVFLG. */
static void recover_overflow(struct smmu *s, uint32_t pasid, const unsigned prgi[2])
{
	for (unsigned i = 0; i < 2; i++)
		pri_resp(s, true, pasid, prgi[i], 2);
	s->pri_cons = 2 | (rd(s, R_PRIQ_PROD) & OVF);
	wr(s, R_PRIQ_CONS, s->pri_cons);
}

START_TEST(overflow_answers_last_drops_the_rest_and_never_a_marker)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.uses_stop_markers = true;
	struct smmu s;
	smmu_open(&s, NULL, 1, &dc);
	unsigned prgi[2];
	(void)overflow_with_three_groups(&s, 4, prgi);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.auto_responses, 1);
	/* A two-page group while overflowed: the first request dropped, Last answered. */
	ck_assert_int_eq(sim_dev_fault(s.dev, 4, 0x400000, 2, SIM_R), 0);
	/* A stop marker of another PASID while overflowed: dropped, never answered. */
	ck_assert_int_eq(sim_dev_stop_pasid(s.dev, 6, true), 0);
	run(&s, 10000);
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.auto_responses, 2);
	ck_assert_uint_eq(rd(&s, R_PRIQ_PROD), 2 | OVF);
	struct sim_iommu_stats is;
	sim_iommu_stats(s.w, &is);
	ck_assert_uint_eq(is.overflows, 1);
	ck_assert_uint_eq(is.dropped_overflow, 4);
	recover_overflow(&s, 4, prgi);
	/* Acknowledged: records are written again. */
	ck_assert_int_eq(sim_dev_fault(s.dev, 4, 0x500000, 1, SIM_R), 0);
	run(&s, 10000);
	ck_assert_uint_eq(rd(&s, R_PRIQ_PROD), 3 | OVF);
	uint64_t rec[2];
	ck_assert(pri_pop(&s, rec));
	pri_resp(&s, true, 4, (unsigned)(rec[1] & 0x1FF), 2);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

START_TEST(a_response_after_the_auto_response_is_a_second_response)
{
	struct smmu s;
	smmu_open(&s, NULL, 1, NULL);
	unsigned prgi[2];
	unsigned third = overflow_with_three_groups(&s, 4, prgi);
	recover_overflow(&s, 4, prgi);
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.outstanding_groups, 0);
	ck_assert_uint_eq(sim_violation_total(s.w), 0);
	/* The driver answers the group the SMMU answered already. */
	pri_resp(&s, true, 4, third, 2);
	run(&s, 10000);
	ck_assert_uint_eq(sim_violation_count(s.w, SIM_V_DOUBLE_RESPONSE), 1);
	smmu_close(&s);
}
END_TEST

/* The overflow auto-response's PASID per IDR3.PPS and STE.PPAR, seen by a device that
 * requires the PASID in responses. */
static unsigned auto_response_violations(bool pps, uint8_t ste, bool pasid_required, bool *rf)
{
	struct sim_smmuv3_config c;
	sim_smmuv3_config_default(&c);
	c.pps = pps;
	c.ste = ste;
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.prg_resp_pasid_required = pasid_required;
	struct smmu s;
	smmu_open(&s, &c, 1, &dc);
	unsigned prgi[2];
	(void)overflow_with_three_groups(&s, 4, prgi);
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.auto_responses, 1);
	*rf = st.response_failure;
	unsigned n = sim_violation_count(s.w, SIM_V_WRONG_TARGET);
	smmu_close(&s);
	return n;
}

START_TEST(auto_response_pasid_follows_pps_and_ppar)
{
	bool rf;
	/* PPAR mirrors the device's PASID-required bit: the PASID is carried. */
	ck_assert_uint_eq(auto_response_violations(false, SIM_SMMUV3_STE_PPAR_MIRROR, true, &rf),
			  0);
	ck_assert(!rf);
	/* PPAR clear: no PASID; the device required one, which the checker sees. */
	ck_assert_uint_eq(auto_response_violations(false, SIM_SMMUV3_STE_PPAR_CLEAR, true, &rf),
			  1);
	/* ... and a device that does not require it takes the answer. */
	ck_assert_uint_eq(auto_response_violations(false, SIM_SMMUV3_STE_PPAR_CLEAR, false, &rf),
			  0);
	ck_assert(!rf);
	/* PPS: the PASID is carried whatever PPAR says. */
	ck_assert_uint_eq(auto_response_violations(true, SIM_SMMUV3_STE_PPAR_CLEAR, true, &rf), 0);
	ck_assert(!rf);
	/* No valid STE: Failure without PASID, which turns the device's PRI off. */
	ck_assert_uint_eq(auto_response_violations(false, SIM_SMMUV3_STE_INVALID, false, &rf), 0);
	ck_assert(rf);
}
END_TEST

START_TEST(stop_markers_are_queued_and_a_response_to_one_is_caught)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.uses_stop_markers = true;
	struct smmu s;
	smmu_open(&s, NULL, 3, &dc);
	ck_assert_int_eq(sim_dev_stop_pasid(s.dev, 6, true), 0);
	run(&s, 10000);
	uint64_t rec[2];
	ck_assert(pri_pop(&s, rec));
	ck_assert_uint_eq(rec[0], 0xC000000600000100ull);
	ck_assert_uint_eq(rec[1] & 0x1FF, 0);
	run(&s, 100000);
	ck_assert_uint_eq(sim_violation_total(s.w), 0); /* nobody answered it */
	pri_resp(&s, true, 6, 0, 2);
	run(&s, 10000);
	ck_assert_uint_eq(sim_violation_count(s.w, SIM_V_STOP_MARKER_ANSWERED), 1);
	smmu_close(&s);
}
END_TEST

START_TEST(priq_disabled_answers_failure)
{
	/* §8.2: Response Failure without PASID, so a device that takes it. */
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.prg_resp_pasid_required = false;
	struct smmu s;
	smmu_open(&s, NULL, 3, &dc);
	wr(&s, R_CR0, EN_NO_PRIQ);
	ck_assert_uint_eq(rd(&s, R_CR0ACK), EN_NO_PRIQ);
	ck_assert_int_eq(sim_dev_fault(s.dev, 2, 0x1000, 1, SIM_R), 0);
	run(&s, 10000);
	ck_assert_uint_eq(rd(&s, R_PRIQ_PROD), 0);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.responses[PRQD_RESP_FAILURE], 1);
	ck_assert_uint_eq(st.auto_responses, 1);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

/* The driver's snapshot drain of PASID 8: the device faults, the PASID is torn down at once
 * (TLBI + CMD_SYNC, ATC_INV + CMD_SYNC), and the PRI queue is read up to the PROD read after
 * the sync: then no earlier request of the PASID may be left anywhere. Returns the drains the
 * checker found incomplete. */
static unsigned snapshot_drain(bool sync_orders_priq)
{
	struct sim_smmuv3_config c;
	sim_smmuv3_config_default(&c);
	c.sync_orders_priq = sync_orders_priq;
	c.priq_write_ns = 20000; /* slow record writes: longer than the invalidation round trip */
	struct smmu s;
	smmu_open(&s, &c, 4, NULL);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(sim_dev_fault(s.dev, 8, 0x100000 * (i + 1), 2, SIM_R), 0);
	run(&s, 1); /* the drain starts after the faults */
	uint64_t start = sim_now(s.w);
	cmd(&s, 0x11, 0); /* TLBI_NH_ASID */
	cmd(&s, sync_cmd(0, 0), 0);
	cmd(&s, 0x40ull | sid_ssid(RID, true, 8), 52);
	cmd(&s, sync_cmd(0, 0), 0);
	while ((rd(&s, R_CMDQ_CONS) & 0xFFFFF) != s.cmd_prod)
		ck_assert(sim_step(s.w));
	/* The snapshot: the PRI queue up to the PROD read now, every group answered. */
	uint64_t rec[2];
	unsigned answered = 0;
	while (pri_pop(&s, rec))
		if (rec[0] & (1ull << 62)) {
			pri_resp(&s, true, 8, (unsigned)(rec[1] & 0x1FF), 2);
			answered++;
		}
	sim_check_drain_done(s.w, PRQD_SCOPE_PASID, RID, 8, start);
	unsigned n = sim_violation_count(s.w, SIM_V_DRAIN_INCOMPLETE);
	if (sync_orders_priq) {
		ck_assert_uint_eq(answered, 4);
		finish_clean(&s);
	}
	smmu_close(&s);
	return n;
}

START_TEST(snapshot_drain_is_sound_only_when_sync_orders_the_priq)
{
	ck_assert_uint_eq(snapshot_drain(true), 0);
	/* An SMMU that signals the sync with records still being written: the checker sees the
	 * drain return with requests in flight. */
	ck_assert_uint_eq(snapshot_drain(false), 1);
}
END_TEST

/* ---- stall model ------------------------------------------------------------------------ */

/* An SMMU with its event queue (2^@log2 records) and a stall-model platform device. */
static void stall_open(struct smmu *s, const struct sim_smmuv3_config *cfg, unsigned log2)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.stall = true;
	smmu_open(s, cfg, 3, &dc);
	void *va;
	s->evtq_log2 = log2;
	ck_assert_int_eq(s->p->dma_alloc(s->p->user, 32u << log2, 64, &va, &s->evtq_bus), 0);
	s->evtq = va;
	wr(s, R_CR0, EN_ALL); /* the event queue is programmed while it is off */
	s->p->mmio_write64(s->p->user, R_EVTQ_BASE, s->evtq_bus | log2);
	wr(s, R_EVTQ_PROD, 0);
	wr(s, R_EVTQ_CONS, 0);
	wr(s, R_CR0, EN_WITH_EVTQ);
	ck_assert_uint_eq(rd(s, R_CR0ACK), EN_WITH_EVTQ);
}

static void resume_cmd(struct smmu *s, unsigned action, uint16_t stag)
{
	cmd(s, 0x44ull | (uint64_t)action << 12 | (uint64_t)RID << 32, stag);
}

START_TEST(stall_records_and_resume)
{
	struct smmu s;
	stall_open(&s, NULL, 2);
	ck_assert_int_eq(sim_dev_fault(s.dev, 0x55, 0x4000, 2, SIM_R | SIM_W), 0);
	run(&s, 10000);
	ck_assert_uint_eq(rd(&s, R_EVTQ_PROD), 2);
	/* F_TRANSLATION, SSV, SubstreamID 0x55, StreamID 0x100; Stall, PnU (not privileged),
	 * RnW clear (a write); STAG 0 and 1 in turn; the input address. */
	ck_assert_uint_eq(s.evtq[0], 0x0000010000055810ull);
	ck_assert_uint_eq(s.evtq[1], 0x0000000280000000ull);
	ck_assert_uint_eq(s.evtq[2], 0x4000);
	ck_assert_uint_eq(s.evtq[4], 0x0000010000055810ull);
	ck_assert_uint_eq(s.evtq[5], 0x0000000280000001ull);
	ck_assert_uint_eq(s.evtq[6], 0x5000);
	wr(&s, R_EVTQ_CONS, 2);
	resume_cmd(&s, 1, 0); /* retry */
	resume_cmd(&s, 2, 1); /* abort */
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.stalls_sent, 2);
	ck_assert_uint_eq(st.stalls_retried, 1);
	ck_assert_uint_eq(st.stalls_terminated, 1);
	ck_assert_uint_eq(st.outstanding_stalls, 0);
	ck_assert_uint_eq(sim_violation_total(s.w), 0);
	/* A second resume of a stall that ended: the SMMU ignores it, the checker does not. */
	resume_cmd(&s, 1, 0);
	run(&s, 10000);
	ck_assert_uint_eq(sim_violation_count(s.w, SIM_V_DOUBLE_RESPONSE), 1);
	smmu_close(&s);
}
END_TEST

START_TEST(stall_term_ends_every_stall_of_the_stream)
{
	struct smmu s;
	stall_open(&s, NULL, 2);
	ck_assert_int_eq(sim_dev_fault(s.dev, PRQD_NO_PASID, 0x8000, 3, SIM_R), 0);
	run(&s, 10000);
	/* Without a PASID: no SSV; a read: RnW set. */
	ck_assert_uint_eq(s.evtq[0], 0x0000010000000010ull);
	ck_assert_uint_eq(s.evtq[1], 0x0000000A80000000ull);
	cmd(&s, 0x45ull | (uint64_t)RID << 32, 0);
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.stalls_terminated, 3);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

START_TEST(stall_records_wait_for_room_and_never_overflow)
{
	struct smmu s;
	stall_open(&s, NULL, 1); /* two records */
	ck_assert_int_eq(sim_dev_fault(s.dev, 3, 0x10000, 3, SIM_R), 0);
	run(&s, 10000);
	ck_assert_uint_eq(rd(&s, R_EVTQ_PROD), 2); /* full, no OVFLG */
	wr(&s, R_EVTQ_CONS, 1);
	ck_assert_uint_eq(rd(&s, R_EVTQ_PROD), 3);
	ck_assert_uint_eq(s.evtq[1] & 0xFFFF, 2); /* the third stall took slot 0 */
	wr(&s, R_EVTQ_CONS, 3);
	for (uint16_t stag = 0; stag < 3; stag++)
		resume_cmd(&s, 1, stag);
	run(&s, 10000);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.stalls_retried, 3);
	finish_clean(&s);
	smmu_close(&s);
}
END_TEST

START_TEST(without_stalls_transactions_are_terminated)
{
	struct sim_smmuv3_config c;
	sim_smmuv3_config_default(&c);
	c.stall_model = 1; /* terminate only */
	struct smmu s;
	stall_open(&s, &c, 2);
	ck_assert_int_eq(sim_dev_fault(s.dev, 3, 0x10000, 1, SIM_R), 0);
	run(&s, 10000);
	ck_assert_uint_eq(rd(&s, R_EVTQ_PROD), 0);
	struct sim_dev_stats st;
	sim_dev_stats(s.dev, &st);
	ck_assert_uint_eq(st.stalls_terminated, 1);
	/* CMD_RESUME on such an SMMU is illegal. */
	resume_cmd(&s, 1, 0);
	expect_stopped(&s, 0, 1);
	finish_clean(&s);
	smmu_close(&s);

	/* A stall-model device needs the SMMUv3 model. */
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &w), 0);
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.stall = true;
	struct sim_dev *d;
	ck_assert_int_eq(sim_dev_add(w, &dc, &d), 0);
	ck_assert_int_eq(sim_dev_fault(d, 3, 0x10000, 1, SIM_R), -EOPNOTSUPP);
	sim_world_free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim-smmuv3");
	TCase *tc = tcase_create("registers");
	tcase_add_test(tc, idr_fields_report_the_configuration);
	tcase_add_test(tc, cmd_sync_completes_and_writes_its_msi);
	tcase_add_test(tc, queue_pointers_wrap);
	tcase_add_test(tc, illegal_commands_stop_the_queue_until_acknowledged);
	tcase_add_test(tc, atc_inv_sync_waits_for_the_device_and_fails_on_timeout);
	suite_add_tcase(s, tc);
	tc = tcase_create("pri");
	tcase_add_test(tc, pri_record_layout);
	tcase_add_test(tc, pri_resp_maps_arm_codes_to_pcie_codes);
	tcase_add_test(tc, overflow_answers_last_drops_the_rest_and_never_a_marker);
	tcase_add_test(tc, a_response_after_the_auto_response_is_a_second_response);
	tcase_add_test(tc, auto_response_pasid_follows_pps_and_ppar);
	tcase_add_test(tc, stop_markers_are_queued_and_a_response_to_one_is_caught);
	tcase_add_test(tc, priq_disabled_answers_failure);
	tcase_add_test(tc, snapshot_drain_is_sound_only_when_sync_orders_the_priq);
	suite_add_tcase(s, tc);
	tc = tcase_create("stall");
	tcase_add_test(tc, stall_records_and_resume);
	tcase_add_test(tc, stall_term_ends_every_stall_of_the_stream);
	tcase_add_test(tc, stall_records_wait_for_room_and_never_overflow);
	tcase_add_test(tc, without_stalls_transactions_are_terminated);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
