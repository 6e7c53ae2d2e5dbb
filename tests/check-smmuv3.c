/* SPDX-License-Identifier: MIT */
/*
 * check-smmuv3: the SMMUv3 command queue engine and the smmuv3 backend on a small register
 * file of this test's own, for what QEMU's model cannot show (tests/qemu-arm/ covers the rest
 * against QEMU 7.2): PRI queue records decoded, responses and resumes encoded, stop markers
 * never answered, overflow acknowledged per Arm §8.1.1, stall records, the drain's commands,
 * ATC invalidation time-outs, fetch aborts, MSI completion, the queue positions of page
 * requests and stalls.
 *
 * The fake SMMU: IDR0/1/3/5 as the test sets them, CR0 echoed in CR0ACK (unless stuck),
 * GERROR/GERRORN, the three queues. A CMDQ_PROD, CR0 or GERRORN write runs the command queue
 * unless the test holds it or an error is active: each command is logged; an opcode outside
 * the architecture's list stops the queue with CERROR_ILL, a planned fetch abort with
 * CERROR_ABT, a CMD_SYNC after a CMD_ATC_INV to the "deaf" StreamID with CERROR_ATC_INV_SYNC
 * (once: read again, it completes); a CMD_SYNC with CS=IRQ writes its MSI data where
 * IDR0.MSI. The PRI and event queues are filled by the test. DMA addresses are pointers.
 *
 * Its register map is written here from the specification's facts (pri-facts.md §2), not
 * taken from the driver's smmuv3-regs.h.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prqdrain.h"
#include "backends/smmuv3/smmuv3-cmdq.h"
#include "lib/private.h"

#include "tests/check-main.h"

#define F_IDR0 0x00
#define F_REG_IDR1 0x04
#define F_IDR3 0x0C
#define F_IDR5 0x14
#define F_CR0 0x20
#define F_CR0ACK 0x24
#define F_GERROR 0x60
#define F_GERRORN 0x64
#define F_CMDQ_BASE 0x90
#define F_CMDQ_PROD 0x98
#define F_CMDQ_CONS 0x9C
#define F_EVTQ_BASE 0xA0
#define F_EVTQ_PROD 0x100A8
#define F_EVTQ_CONS 0x100AC
#define F_PRIQ_BASE 0xC0
#define F_PRIQ_PROD 0x100C8
#define F_PRIQ_CONS 0x100CC
#define F_CMDQEN (1u << 3)
#define F_EVTQEN (1u << 2)
#define F_PRIQEN (1u << 1)
#define F_CMDQ_ERR 1u
#define F_OVF (1u << 31)
/* IDR0: TTF=AArch64 [3:2]=2, ATS bit 10, MSI bit 13, PRI bit 16, STALL_MODEL [25:24]. */
#define F_IDR0_BASE (2u << 2)
#define F_IDR0_ATS (1u << 10)
#define F_IDR0_MSI (1u << 13)
#define F_IDR0_PRI (1u << 16)
#define F_IDR0_TERMINATE_ONLY (1u << 24)
/* IDR1: CMDQS [25:21], EVTQS [20:16], PRIQS [15:11]. */
#define F_IDR1(cmdqs, evtqs, priqs) ((cmdqs) << 21 | (evtqs) << 16 | (priqs) << 11)

struct fake {
	uint32_t idr0, idr1, idr3, idr5;
	uint32_t cr0, cr0ack, gerror, gerrorn;
	bool ack_stuck, hold;
	uint64_t base[3]; /* command, event, PRI queue */
	uint32_t prod[3], cons[3];
	int deaf_sid;            /* ATC invalidations of this StreamID time out; -1: none */
	bool atc_timed_out;      /* ... and the next sync reports it */
	unsigned aborts;         /* the next command fetches that abort */
	bool refuse_plain_sync;  /* a CMD_SYNC without signal is illegal (a broken unit) */
	struct smmuv3_cmd log[4096];
	unsigned logged, prod_writes;
	unsigned dma_allocs, dma_frees;
	uint64_t now;
};

enum { Q_CMD, Q_EVT, Q_PRI };

static unsigned q_log2(const struct fake *f, int q)
{
	return (unsigned)(f->base[q] & 0x1F);
}

static void *q_mem(const struct fake *f, int q)
{
	return (void *)(uintptr_t)(f->base[q] & 0x000FFFFFFFFFFFE0ull);
}

static bool valid_opcode(unsigned op)
{
	static const unsigned ops[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x12, 0x20,
					0x21, 0x22, 0x28, 0x2A, 0x30, 0x40, 0x41, 0x44, 0x45, 0x46 };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i] == op)
			return true;
	return false;
}

static void stop_queue(struct fake *f, unsigned cerror)
{
	f->cons[Q_CMD] = (f->cons[Q_CMD] & 0x00FFFFFFu) | cerror << 24;
	f->gerror ^= F_CMDQ_ERR;
}

static void run_cmdq(struct fake *f)
{
	unsigned log2 = q_log2(f, Q_CMD);
	uint32_t wrap = (2u << log2) - 1;

	if (f->hold || !(f->cr0 & F_CMDQEN))
		return;
	while (!((f->gerror ^ f->gerrorn) & F_CMDQ_ERR) &&
	       (f->cons[Q_CMD] & wrap) != (f->prod[Q_CMD] & wrap)) {
		uint32_t idx = f->cons[Q_CMD] & ((1u << log2) - 1);
		const uint64_t *e = (const uint64_t *)q_mem(f, Q_CMD) + 2 * idx;
		unsigned op = (unsigned)(e[0] & 0xFF);

		if (f->aborts) {
			f->aborts--;
			stop_queue(f, 2);
			return;
		}
		if (!valid_opcode(op) || (f->refuse_plain_sync && op == 0x46 && e[0] == 0x46)) {
			stop_queue(f, 1);
			return;
		}
		if (op == 0x40 && (int64_t)(e[0] >> 32) == f->deaf_sid)
			f->atc_timed_out = true;
		if (op == 0x46 && f->atc_timed_out) {
			f->atc_timed_out = false;
			stop_queue(f, 3);
			return;
		}
		if (op == 0x46 && ((e[0] >> 12) & 3) == 1 && (f->idr0 & F_IDR0_MSI) && e[1])
			*(volatile uint32_t *)(uintptr_t)(e[1] & 0x000FFFFFFFFFFFFCull) =
				(uint32_t)(e[0] >> 32);
		ck_assert_uint_lt(f->logged, 4096);
		f->log[f->logged].dw[0] = e[0];
		f->log[f->logged].dw[1] = e[1];
		f->logged++;
		f->cons[Q_CMD] = ((f->cons[Q_CMD] & wrap) + 1) & wrap;
	}
}

static int q_of_reg(uint64_t off, bool *is_prod)
{
	switch (off) {
	case F_CMDQ_PROD: *is_prod = true; return Q_CMD;
	case F_CMDQ_CONS: *is_prod = false; return Q_CMD;
	case F_EVTQ_PROD: *is_prod = true; return Q_EVT;
	case F_EVTQ_CONS: *is_prod = false; return Q_EVT;
	case F_PRIQ_PROD: *is_prod = true; return Q_PRI;
	case F_PRIQ_CONS: *is_prod = false; return Q_PRI;
	default: return -1;
	}
}

static uint32_t f_read32(void *user, uint64_t off)
{
	struct fake *f = user;
	bool is_prod;
	int q = q_of_reg(off, &is_prod);

	if (q >= 0)
		return is_prod ? f->prod[q] : f->cons[q];
	switch (off) {
	case F_IDR0: return f->idr0;
	case F_REG_IDR1: return f->idr1;
	case F_IDR3: return f->idr3;
	case F_IDR5: return f->idr5;
	case F_CR0: return f->cr0;
	case F_CR0ACK: return f->cr0ack;
	case F_GERROR: return f->gerror;
	case F_GERRORN: return f->gerrorn;
	default: return 0;
	}
}

static uint64_t f_read64(void *user, uint64_t off)
{
	struct fake *f = user;

	switch (off) {
	case F_CMDQ_BASE: return f->base[Q_CMD];
	case F_EVTQ_BASE: return f->base[Q_EVT];
	case F_PRIQ_BASE: return f->base[Q_PRI];
	default: return f_read32(user, off) | (uint64_t)f_read32(user, off + 4) << 32;
	}
}

static void f_write32(void *user, uint64_t off, uint32_t v)
{
	struct fake *f = user;
	bool is_prod;
	int q = q_of_reg(off, &is_prod);

	if (q >= 0) {
		if (is_prod)
			f->prod[q] = v;
		else
			f->cons[q] = v;
		if (q == Q_CMD && is_prod) {
			f->prod_writes++;
			run_cmdq(f);
		}
		return;
	}
	switch (off) {
	case F_CR0:
		f->cr0 = v;
		if (!f->ack_stuck)
			f->cr0ack = v;
		run_cmdq(f);
		break;
	case F_GERRORN:
		f->gerrorn = v;
		run_cmdq(f);
		break;
	default:
		break;
	}
}

static void f_write64(void *user, uint64_t off, uint64_t v)
{
	struct fake *f = user;

	switch (off) {
	case F_CMDQ_BASE: f->base[Q_CMD] = v; break;
	case F_EVTQ_BASE: f->base[Q_EVT] = v; break;
	case F_PRIQ_BASE: f->base[Q_PRI] = v; break;
	default: break;
	}
}

static uint64_t f_now(void *user)
{
	struct fake *f = user;

	return f->now += 1000;
}

static void *f_alloc(void *user, size_t size)
{
	return calloc(1, size);
}

static void f_free(void *user, void *p, size_t size)
{
	free(p);
}

static int f_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	struct fake *f = user;
	size_t rounded = (size + align - 1) / align * align;
	void *p = aligned_alloc(align, rounded);

	if (!p)
		return -PRQD_ENOMEM;
	memset(p, 0, rounded);
	f->dma_allocs++;
	*va = p;
	*bus = (uint64_t)(uintptr_t)p;
	return 0;
}

static void f_dma_free(void *user, void *va, size_t size)
{
	struct fake *f = user;

	if (va)
		f->dma_frees++;
	free(va);
}

static struct prqd_platform fake_platform(struct fake *f)
{
	return (struct prqd_platform){
		.size = sizeof(struct prqd_platform), .user = f,
		.alloc = f_alloc, .free = f_free, .now_ns = f_now,
		.mmio_read32 = f_read32, .mmio_read64 = f_read64,
		.mmio_write32 = f_write32, .mmio_write64 = f_write64,
		.dma_alloc = f_dma_alloc, .dma_free = f_dma_free,
	};
}

static struct fake *fake_new(uint32_t idr0)
{
	struct fake *f = calloc(1, sizeof(*f));

	ck_assert_ptr_nonnull(f);
	f->idr0 = idr0;
	f->idr1 = F_IDR1(8u, 8u, 8u);
	f->idr5 = 4u << 16; /* STALL_MAX 4 */
	f->deaf_sid = -1;
	return f;
}

/* ---- the engine ----------------------------------------------------------------------------- */

static struct smmuv3_cmdq q;

START_TEST(engine_init_limits)
{
	struct fake *f = fake_new(F_IDR0_BASE);
	struct prqd_platform p = fake_platform(f);

	f->idr1 = F_IDR1(4u, 8u, 8u);
	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 8, false, 1000000), 0);
	ck_assert_uint_eq(q.log2size, 4); /* cut to IDR1.CMDQS */
	/* Base [51:5], RA bit 62, LOG2SIZE [4:0]. */
	ck_assert_uint_eq(f->base[Q_CMD], q.ring_bus | (1ull << 62) | 4);
	smmuv3_cmdq_fini(&q);
	ck_assert_uint_eq(f->cr0ack & F_CMDQEN, 0);

	f->idr1 = F_IDR1(0u, 8u, 8u);
	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 3, false, 1000000), -PRQD_EOPNOTSUPP);
	f->idr1 = F_IDR1(8u, 8u, 8u);
	f->ack_stuck = true;
	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 3, false, 1000000), -PRQD_ETIMEDOUT);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, NULL, 0, NULL), -PRQD_EIO);
	ck_assert_uint_eq(f->dma_allocs, f->dma_frees);
	free(f);
}
END_TEST

/* Commands that log as themselves, @n of them. */
static void some_commands(struct smmuv3_cmd *c, unsigned n, unsigned salt)
{
	for (unsigned i = 0; i < n; i++)
		smmuv3_cmd_tlbi_nh_asid(&c[i], (uint16_t)(salt * 16 + i), 0);
}

START_TEST(engine_wraps_and_batches)
{
	struct fake *f = fake_new(F_IDR0_BASE);
	struct prqd_platform p = fake_platform(f);
	struct smmuv3_cmd c[3];
	struct smmuv3_sync t;

	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 2, false, 1000000), 0); /* 4 commands */
	f->prod_writes = 0; /* init's own PROD = 0 */
	for (unsigned round = 0; round < 10; round++) {
		some_commands(c, 3, round);
		ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 3, &t), 0);
		ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), 0);
	}
	ck_assert_uint_eq(f->prod_writes, 10);
	ck_assert_uint_eq(f->logged, 40);
	for (unsigned round = 0; round < 10; round++) {
		for (unsigned i = 0; i < 3; i++)
			ck_assert_uint_eq(f->log[round * 4 + i].dw[0] >> 48, round * 16 + i);
		ck_assert_uint_eq(f->log[round * 4 + 3].dw[0], 0x46); /* the closing sync */
	}
	/* 40 commands through a 4-entry queue: index 0, wrap bit (bit 2) clear. */
	ck_assert_uint_eq(f->prod[Q_CMD], 0);
	ck_assert_uint_eq(f->cons[Q_CMD], 0);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 4, &t), -PRQD_EINVAL); /* 5 > 4 */

	/* Held: the queue fills, then refuses, then drains. */
	f->hold = true;
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 2, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 2, NULL), -PRQD_EAGAIN);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EINPROGRESS);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, NULL), 0);
	f->hold = false;
	run_cmdq(f);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 3, NULL), 0);
	smmuv3_cmdq_fini(&q);
	ck_assert_uint_eq(f->dma_allocs, f->dma_frees);
	free(f);
}
END_TEST

START_TEST(engine_illegal_command)
{
	struct fake *f = fake_new(F_IDR0_BASE);
	struct prqd_platform p = fake_platform(f);
	struct smmuv3_cmd c[3];
	struct smmuv3_sync t, t2;
	struct smmuv3_cmdq_error err;

	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 3, false, 1000000), 0);
	some_commands(c, 3, 1);
	c[1].dw[0] = 0x7F;
	c[1].dw[1] = 0x1234;
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 3, &t), 0);
	ck_assert_uint_eq(f->logged, 1); /* stopped on it */
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EIO);
	/* Replaced in the ring by a plain sync; the rest ran. */
	const uint64_t *slot = (const uint64_t *)q.ring + 2 * 1;
	ck_assert_uint_eq(slot[0], 0x46);
	ck_assert_uint_eq(slot[1], 0);
	ck_assert_uint_eq(f->logged, 4);
	ck_assert_uint_eq(f->log[1].dw[0], 0x46);
	ck_assert_uint_eq(f->gerror ^ f->gerrorn, 0);
	ck_assert_int_eq(smmuv3_cmdq_errors(&q, &err), 1);
	ck_assert_uint_eq(err.ill, 1);
	ck_assert_uint_eq(err.ill_opcode, 0x7F);
	ck_assert_uint_eq(err.ill_pos, 1);
	ck_assert_int_eq(smmuv3_cmdq_errors(&q, &err), 0);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, &t2), 0);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t2), 0);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EIO); /* the same answer again */

	/* A unit that refuses the replacement too: the queue is broken, not looped on. */
	f->refuse_plain_sync = true;
	c[0].dw[0] = 0x7E;
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EINPROGRESS); /* replaced, refused */
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EIO);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, NULL), -PRQD_EIO);
	smmuv3_cmdq_fini(&q);
	free(f);
}
END_TEST

START_TEST(engine_abort_and_atc_timeout)
{
	struct fake *f = fake_new(F_IDR0_BASE);
	struct prqd_platform p = fake_platform(f);
	struct smmuv3_cmd c[2];
	struct smmuv3_sync t;
	struct smmuv3_cmdq_error err;

	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 3, false, 1000000), 0);
	/* One fetch abort: read again, and the batch is fine. */
	f->aborts = 1;
	some_commands(c, 2, 2);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 2, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_wait(&q, &t, 1000000), 0);
	ck_assert_int_eq(smmuv3_cmdq_errors(&q, &err), 1);
	ck_assert_uint_eq(err.abt, 1);

	/* An ATC invalidation that times out fails its batch's sync, and only that one. */
	f->deaf_sid = 9;
	smmuv3_cmd_atc_inv_all(&c[0], 9, true, 3);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_wait(&q, &t, 1000000), -PRQD_EIO);
	ck_assert_int_eq(smmuv3_cmdq_errors(&q, &err), 1);
	ck_assert_uint_eq(err.atc_inv_sync, 1);
	ck_assert_uint_eq(err.atc_pos, t.pos);
	smmuv3_cmd_atc_inv_all(&c[0], 8, true, 3);
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_wait(&q, &t, 1000000), 0);

	/* The same abort again and again: the queue is given up. */
	f->aborts = 10;
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, c, 1, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_wait(&q, &t, 1000000), -PRQD_EIO);
	ck_assert(q.broken);
	smmuv3_cmdq_fini(&q);
	free(f);
}
END_TEST

START_TEST(engine_msi_completion)
{
	struct fake *f = fake_new(F_IDR0_BASE | F_IDR0_MSI);
	struct prqd_platform p = fake_platform(f);
	struct smmuv3_sync t;

	ck_assert_int_eq(smmuv3_cmdq_init(&q, &p, 3, true, 1000000), 0);
	ck_assert(q.msi);
	for (unsigned i = 0; i < 20; i++) {
		ck_assert_int_eq(smmuv3_cmdq_submit(&q, NULL, 0, &t), 0);
		ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), 0);
	}
	/* The sync signals with its value to the completion word. */
	const struct smmuv3_cmd *last = &f->log[f->logged - 1];
	ck_assert_uint_eq((last->dw[0] >> 12) & 3, 1);
	ck_assert_uint_eq(last->dw[1], q.msi_bus);
	ck_assert_uint_eq(*q.msi_word, (uint32_t)(last->dw[0] >> 32));
	ck_assert_uint_eq(*q.msi_word, 20);
	/* Held: the word has not moved, so the sync is not complete. */
	f->hold = true;
	ck_assert_int_eq(smmuv3_cmdq_submit(&q, NULL, 0, &t), 0);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), -PRQD_EINPROGRESS);
	f->hold = false;
	run_cmdq(f);
	ck_assert_int_eq(smmuv3_cmdq_poll(&q, &t), 0);
	smmuv3_cmdq_fini(&q);
	ck_assert_uint_eq(f->dma_allocs, f->dma_frees);
	free(f);
}
END_TEST

/* ---- the backend through the library ---------------------------------------------------------- */

#define DEV_RID 0x0100u
#define DEV_SID 0x10100u /* a StreamID that is not the requester ID */
#define PASID 5u

struct bed {
	struct fake *f;
	struct prqd_platform p;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct prqd_dev *dev;
	struct prqd_bond *bond;
	struct prqd_request got[16];
	unsigned ngot, groups;
	bool stall_seen;
};

/* Answer by PRG index: 4 Invalid, 6 Failure, else Success; stalls: tag 0x78 Invalid. */
static int handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct bed *b = cookie;
	unsigned n = prqd_group_count(group);
	const struct prqd_request *last = prqd_group_request(group, n - 1);

	b->groups++;
	for (unsigned i = 0; i < n && b->ngot < 16; i++)
		b->got[b->ngot++] = *prqd_group_request(group, i);
	if (last->stall)
		return prqd_group_request_tag(group, 0) && b->got[b->ngot - 1].addr == 0x78000
			       ? PRQD_RESP_INVALID
			       : PRQD_RESP_SUCCESS;
	if (last->prg_index == 4)
		return PRQD_RESP_INVALID;
	if (last->prg_index == 6)
		return PRQD_RESP_FAILURE;
	return PRQD_RESP_SUCCESS;
}

static void bed_open(struct bed *b, uint32_t idr0)
{
	memset(b, 0, sizeof(*b));
	b->f = fake_new(idr0);
	b->p = fake_platform(b->f);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &b->p,
				    .flags = PRQD_CTX_IGNORE_ENV };
	ck_assert_int_eq(prqd_ctx_new(&co, &b->ctx), 0);
	ck_assert_int_eq(prqd_ctx_set_param(b->ctx, "smmuv3.priq_order", "3"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(b->ctx, "smmuv3.evtq_order", "3"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(b->ctx, "core.drain_timeout_ms", "50"), 0);
	ck_assert_int_eq(prqd_iommu_open(b->ctx, "smmuv3", NULL, &b->io), 0);
	struct prqd_dev_info info = {
		.size = sizeof(info), .rid = DEV_RID, .pri_capacity = 32,
		.prg_resp_pasid_required = true, .pasid_width = 20,
		.has_source_id = true, .source_id = DEV_SID,
	};
	ck_assert_int_eq(prqd_dev_add(b->io, &info, &b->dev), 0);
	ck_assert_int_eq(prqd_bind(b->dev, PASID, handler, b, &b->bond), 0);
}

static void bed_close(struct bed *b)
{
	if (b->bond)
		prqd_unbind(b->bond, PRQD_UNBIND_FORCE | PRQD_UNBIND_NO_DRAIN);
	ck_assert_int_eq(prqd_dev_remove(b->dev), 0);
	ck_assert_int_eq(prqd_iommu_close(b->io), 0);
	ck_assert_uint_eq(b->f->cr0ack & (F_PRIQEN | F_EVTQEN | F_CMDQEN), 0);
	ck_assert_uint_eq(b->f->dma_allocs, b->f->dma_frees);
	prqd_ctx_unref(b->ctx);
	free(b->f);
}

/* Write a PRI queue record the way the SMMU lays it out (pri-facts.md §2.2). */
static void put_ppr(struct fake *f, uint32_t sid, bool ssv, uint32_t ssid, bool r, bool w,
		    bool last, uint16_t prgi, uint64_t addr, uint64_t extra0)
{
	unsigned log2 = q_log2(f, Q_PRI);
	uint32_t idx = f->prod[Q_PRI] & ((1u << log2) - 1);
	uint64_t *e = (uint64_t *)q_mem(f, Q_PRI) + 2 * idx;

	e[0] = sid | (uint64_t)(ssid & 0xFFFFF) << 32 | (uint64_t)r << 60 | (uint64_t)w << 61 |
	       (uint64_t)last << 62 | (uint64_t)ssv << 63 | extra0;
	e[1] = addr | prgi;
	f->prod[Q_PRI] = (f->prod[Q_PRI] & F_OVF) | (((f->prod[Q_PRI] & ((2u << log2) - 1)) + 1) &
						    ((2u << log2) - 1));
}

/* A stall event record (32 bytes): ID [7:0], SSV bit 11, SSID [31:12], SID [63:32]; STAG
 * [15:0], Stall bit 31, RnW bit 35; the input address in the third word. */
static void put_stall(struct fake *f, uint32_t sid, uint32_t ssid, uint16_t stag, uint64_t addr)
{
	unsigned log2 = q_log2(f, Q_EVT);
	uint32_t idx = f->prod[Q_EVT] & ((1u << log2) - 1);
	uint64_t *e = (uint64_t *)q_mem(f, Q_EVT) + 4 * idx;

	e[0] = 0x10 | 1ull << 11 | (uint64_t)ssid << 12 | (uint64_t)sid << 32;
	e[1] = stag | 1ull << 31 | 1ull << 35;
	e[2] = addr;
	e[3] = 0;
	f->prod[Q_EVT] = ((f->prod[Q_EVT] & ((2u << log2) - 1)) + 1) & ((2u << log2) - 1);
}

/* The last logged command with opcode @op, or NULL. */
static const struct smmuv3_cmd *last_cmd(const struct fake *f, unsigned op)
{
	for (unsigned i = f->logged; i > 0; i--)
		if ((f->log[i - 1].dw[0] & 0xFF) == op)
			return &f->log[i - 1];
	return NULL;
}

static unsigned count_cmd(const struct fake *f, unsigned op)
{
	unsigned n = 0;
	for (unsigned i = 0; i < f->logged; i++)
		n += (f->log[i].dw[0] & 0xFF) == op;
	return n;
}

static struct prqd_stats stats_of(const struct bed *b)
{
	struct prqd_stats st;
	ck_assert_int_eq(prqd_iommu_stats(b->io, &st, sizeof(st)), 0);
	return st;
}

START_TEST(backend_requests_and_responses)
{
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS);
	struct fake *f = b.f;
	ck_assert_uint_eq(f->cr0ack & (F_CMDQEN | F_EVTQEN | F_PRIQEN),
			  F_CMDQEN | F_EVTQEN | F_PRIQEN);
	ck_assert_uint_eq(q_log2(f, Q_PRI), 3);
	ck_assert_uint_eq(f->base[Q_PRI] >> 62, 1); /* WA */

	/* A two-request group: read, then write with Last. */
	put_ppr(f, DEV_SID, true, PASID, true, false, false, 3, 0x7000, 0);
	put_ppr(f, DEV_SID, true, PASID, false, true, true, 3, 0x8000, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 2);
	ck_assert_uint_eq(b.groups, 1);
	ck_assert_uint_eq(b.got[0].source_id, DEV_SID);
	ck_assert_uint_eq(b.got[0].rid, DEV_SID & 0xFFFF);
	ck_assert(b.got[0].pasid_valid);
	ck_assert_uint_eq(b.got[0].pasid, PASID);
	ck_assert(b.got[0].read && !b.got[0].write && !b.got[0].last);
	ck_assert_uint_eq(b.got[0].addr, 0x7000);
	ck_assert(b.got[1].write && !b.got[1].read && b.got[1].last);
	ck_assert_uint_eq(b.got[1].prg_index, 3);
	/* PRI_RESP: opcode 0x41, SSV (the device requires the PASID), SSID [31:12], SID
	 * [63:32]; PRGIndex [8:0], Resp [13:12] = 0b10 Success. */
	const struct smmuv3_cmd *r = last_cmd(f, 0x41);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->dw[0], 0x41 | 1ull << 11 | (uint64_t)PASID << 12 | (uint64_t)DEV_SID << 32);
	ck_assert_uint_eq(r->dw[1], 3 | 2ull << 12);
	/* The PRI queue's CONS moved with one write for the batch. */
	ck_assert_uint_eq(f->cons[Q_PRI], 2);

	/* Invalid is 0b01, Failure 0b00: not the PCIe codes. */
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 4, 0x9000, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	ck_assert_uint_eq(last_cmd(f, 0x41)->dw[1], 4 | 1ull << 12);
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 6, 0x9000, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	ck_assert_uint_eq(last_cmd(f, 0x41)->dw[1], 6);

	/* A stop marker (Last, no access, SSV) is never answered. */
	unsigned resps = count_cmd(f, 0x41);
	put_ppr(f, DEV_SID, true, PASID, false, false, true, 0, 0, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	ck_assert_uint_eq(count_cmd(f, 0x41), resps);
	ck_assert_uint_eq(stats_of(&b).stop_markers, 1);

	/* Reserved bits (dw0 [57:52]) or Exec without a PASID: malformed, answered Invalid. */
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 9, 0xA000, 1ull << 55);
	put_ppr(f, DEV_SID, false, 0, true, false, true, 10, 0xA000, 1ull << 59);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 2);
	ck_assert_uint_eq(stats_of(&b).bad_requests, 2);
	ck_assert_uint_eq(count_cmd(f, 0x41), resps + 2);
	ck_assert_uint_eq(last_cmd(f, 0x41)->dw[1], 10 | 1ull << 12);

	/* Through the queue more than twice: positions wrap. */
	for (unsigned round = 0; round < 5; round++) {
		for (unsigned i = 0; i < 5; i++)
			put_ppr(f, DEV_SID, true, PASID, true, false, true, (uint16_t)(20 + i),
				0x10000, 0);
		ck_assert_int_eq(prqd_iommu_process(b.io, 0), 5);
	}
	ck_assert_uint_eq(count_cmd(f, 0x41), resps + 2 + 25);
	bed_close(&b);
}
END_TEST

START_TEST(backend_overflow)
{
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS);
	struct fake *f = b.f;

	/* A partial group, then the SMMU overflows (OVFLG toggles): its Last was answered by
	 * the SMMU itself, so the partial must go, and one CONS write acknowledges. */
	put_ppr(f, DEV_SID, true, PASID, true, false, false, 7, 0x7000, 0);
	f->prod[Q_PRI] ^= F_OVF;
	unsigned resps = count_cmd(f, 0x41);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	ck_assert_uint_eq(f->cons[Q_PRI], F_OVF | 1);
	struct prqd_stats st = stats_of(&b);
	ck_assert_uint_eq(st.overflows, 1);
	ck_assert_uint_eq(st.partial_discarded, 1);
	ck_assert_uint_eq(count_cmd(f, 0x41), resps);
	/* A group with the same index later is a new group. */
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 7, 0x8000, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	ck_assert_uint_eq(b.got[b.ngot - 1].addr, 0x8000);
	ck_assert_uint_eq(b.groups, 1);
	ck_assert_uint_eq(f->cons[Q_PRI], F_OVF | 2); /* the acknowledge is kept */
	/* Overflow again: the flag toggles back. */
	f->prod[Q_PRI] ^= F_OVF;
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 0);
	ck_assert_uint_eq(f->cons[Q_PRI], 2);
	ck_assert_uint_eq(stats_of(&b).overflows, 2);
	/* The SMMU could not write the queue (GERROR.PRIQ_ABT_ERR, bit 3): records were lost,
	 * which the library hears as an overflow; GERRORN acknowledges. */
	put_ppr(f, DEV_SID, true, PASID, true, false, false, 8, 0x7000, 0);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 1);
	f->gerror ^= 1u << 3;
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 0);
	ck_assert_uint_eq(f->gerror ^ f->gerrorn, 0);
	st = stats_of(&b);
	ck_assert_uint_eq(st.overflows, 3);
	ck_assert_uint_eq(st.partial_discarded, 2);
	bed_close(&b);
}
END_TEST

START_TEST(backend_stalls)
{
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS); /* STALL_MODEL 0: stalls */
	struct fake *f = b.f;

	put_stall(f, DEV_SID, PASID, 0x77, 0x12345678);
	put_stall(f, DEV_SID, PASID, 0x78, 0x78000);
	ck_assert_int_eq(prqd_iommu_process(b.io, 0), 2);
	ck_assert_uint_eq(b.groups, 2);
	ck_assert(b.got[0].stall && b.got[0].read && b.got[0].last);
	ck_assert_uint_eq(b.got[0].addr, 0x12345000);
	ck_assert_uint_eq(b.got[0].source_id, DEV_SID);
	ck_assert_uint_eq(stats_of(&b).stalls, 2);
	/* CMD_RESUME: opcode 0x44, action [13:12] retry 1 / abort 2, SID [63:32]; STAG. */
	ck_assert_uint_eq(count_cmd(f, 0x44), 2);
	ck_assert_uint_eq(f->log[f->logged - 2].dw[0], 0x44 | 1ull << 12 | (uint64_t)DEV_SID << 32);
	ck_assert_uint_eq(f->log[f->logged - 2].dw[1], 0x77);
	ck_assert_uint_eq(f->log[f->logged - 1].dw[0], 0x44 | 2ull << 12 | (uint64_t)DEV_SID << 32);
	ck_assert_uint_eq(f->log[f->logged - 1].dw[1], 0x78);
	ck_assert_uint_eq(f->cons[Q_EVT], 2);
	/* Removing the device terminates its stalls: STALL_TERM, then a sync. */
	ck_assert_int_eq(prqd_unbind(b.bond, 0), 0);
	b.bond = NULL;
	ck_assert_int_eq(prqd_dev_remove(b.dev), 0);
	ck_assert_uint_eq(f->log[f->logged - 2].dw[0], 0x45 | (uint64_t)DEV_SID << 32);
	ck_assert_uint_eq(f->log[f->logged - 1].dw[0] & 0xFF, 0x46);
	struct prqd_dev_info info = { .size = sizeof(info), .rid = DEV_RID, .pri_capacity = 32 };
	ck_assert_int_eq(prqd_dev_add(b.io, &info, &b.dev), 0);
	bed_close(&b);
}
END_TEST

/* Page requests and stalls share one sequence: whatever either queue held when the tail was
 * read is below it, whatever came later at or above it. */
START_TEST(backend_positions_across_queues)
{
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS);
	struct fake *f = b.f;
	struct prqd_hw_req out[8];
	uint64_t tail;

	put_ppr(f, DEV_SID, true, PASID, true, false, true, 1, 0x1000, 0);
	put_stall(f, DEV_SID, PASID, 1, 0x2000);
	ck_assert_int_eq(b.io->ops.queue_tail(b.io->priv, &tail), 0);
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 2, 0x3000, 0);
	put_stall(f, DEV_SID, PASID, 2, 0x4000);
	int n = b.io->ops.fetch(b.io->priv, out, 8);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < n; i++) {
		bool before = out[i].req.addr == 0x1000 || out[i].req.addr == 0x2000;
		ck_assert_msg(before == (out[i].seq < tail), "entry at %#llx: seq %llu, tail %llu",
			      (unsigned long long)out[i].req.addr, (unsigned long long)out[i].seq,
			      (unsigned long long)tail);
		if (i)
			ck_assert_uint_gt(out[i].seq, out[i - 1].seq);
	}
	ck_assert_uint_eq(out[n - 1].seq + 1, out[0].seq + 4); /* dense */
	/* Answer what was taken out behind the library's back. */
	for (int i = 0; i < n; i++) {
		if (out[i].stall) {
			struct prqd_hw_stall_resp sr = { .source_id = DEV_SID, .stall_tag = out[i].stall_tag,
							 .code = PRQD_RESP_INVALID };
			ck_assert_int_eq(b.io->ops.stall_resume(b.io->priv, NULL, &sr), 0);
		} else {
			struct prqd_hw_resp pr = { .source_id = DEV_SID, .prg_index = out[i].req.prg_index,
						   .code = PRQD_RESP_INVALID };
			ck_assert_int_eq(b.io->ops.respond(b.io->priv, NULL, &pr), 0);
		}
	}
	struct prqd_hw_resp bad = { .source_id = DEV_SID, .code = 7 };
	ck_assert_int_eq(b.io->ops.respond(b.io->priv, NULL, &bad), -PRQD_EINVAL);
	struct prqd_hw_stall_resp bad_stall = { .source_id = DEV_SID, .code = 7 };
	ck_assert_int_eq(b.io->ops.stall_resume(b.io->priv, NULL, &bad_stall), -PRQD_EINVAL);
	/* A command queue that does not move: responses are refused after a bounded wait. */
	f->hold = true;
	struct prqd_hw_resp ok = { .source_id = DEV_SID, .code = PRQD_RESP_SUCCESS };
	int rc = 0;
	for (unsigned i = 0; i < 1024 && rc == 0; i++)
		rc = b.io->ops.respond(b.io->priv, NULL, &ok);
	ck_assert_int_eq(rc, -PRQD_EBUSY);
	f->hold = false;
	run_cmdq(f);
	ck_assert_int_eq(b.io->ops.respond(b.io->priv, NULL, &ok), 0);
	bed_close(&b);
}
END_TEST

START_TEST(backend_drain)
{
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS);
	struct fake *f = b.f;

	unsigned before = f->logged, bells = f->prod_writes;
	ck_assert_int_eq(prqd_drain(b.bond, 0, 100), 0);
	/* TLBI_NH_ALL, SYNC, ATC_INV of the PASID's whole range, SYNC: one PROD write. */
	ck_assert_uint_eq(f->logged - before, 4);
	ck_assert_uint_eq(f->prod_writes - bells, 1);
	ck_assert_uint_eq(f->log[before].dw[0], 0x10);
	ck_assert_uint_eq(f->log[before + 1].dw[0], 0x46);
	ck_assert_uint_eq(f->log[before + 2].dw[0],
			  0x40 | 1ull << 11 | (uint64_t)PASID << 12 | (uint64_t)DEV_SID << 32);
	ck_assert_uint_eq(f->log[before + 2].dw[1], 52);
	ck_assert_uint_eq(f->log[before + 3].dw[0] & 0xFF, 0x46);
	struct prqd_stats st = stats_of(&b);
	ck_assert_uint_eq(st.commands_queued, 4);
	ck_assert_uint_eq(st.doorbells, 1);

	/* What was queued before the drain is read before it returns. */
	put_ppr(f, DEV_SID, true, PASID, true, false, true, 11, 0x5000, 0);
	ck_assert_int_eq(prqd_drain(b.bond, 0, 100), 0);
	ck_assert_uint_eq(f->cons[Q_PRI], 1);

	/* The device's ATC never answers: the drain fails, nothing of it left behind. */
	f->deaf_sid = DEV_SID;
	ck_assert_int_lt(prqd_drain(b.bond, 0, 100), 0);
	ck_assert_uint_eq(stats_of(&b).drain_errors, 1);
	f->deaf_sid = -1;
	ck_assert_int_eq(prqd_drain(b.bond, 0, 100), 0);
	bed_close(&b);
}
END_TEST

START_TEST(backend_without_ats_or_pri)
{
	/* PRI without ATS: no drain (level none); a PASID bond can still be unbound with its
	 * stop marker. */
	struct bed b;
	bed_open(&b, F_IDR0_BASE | F_IDR0_PRI);
	ck_assert_int_eq(prqd_drain(b.bond, 0, 10), -PRQD_EOPNOTSUPP);
	bed_close(&b);

	/* Neither PRI nor stalls: nothing to do for this library. */
	struct fake *f = fake_new(F_IDR0_BASE | F_IDR0_TERMINATE_ONLY);
	struct prqd_platform p = fake_platform(f);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &p, .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	ck_assert_int_eq(prqd_ctx_new(&co, &ctx), 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, "smmuv3", NULL, &io), -PRQD_EOPNOTSUPP);
	ck_assert_uint_eq(f->dma_allocs, f->dma_frees);
	/* Nothing that looks like an SMMUv3 (no queue sizes): not probed, not opened. */
	f->idr1 = 0;
	ck_assert_int_eq(prqd_iommu_open(ctx, "smmuv3", NULL, &io), -PRQD_ENODEV);
	prqd_ctx_unref(ctx);
	free(f);
}
END_TEST

/* SMMUEN belongs to the embedder, unless smmuv3.smmuen asks the backend to set it. */
START_TEST(backend_smmuen)
{
	struct fake *f = fake_new(F_IDR0_BASE | F_IDR0_PRI | F_IDR0_ATS);
	struct prqd_platform p = fake_platform(f);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &p, .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	ck_assert_int_eq(prqd_ctx_new(&co, &ctx), 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, "smmuv3", NULL, &io), 0);
	ck_assert_uint_eq(f->cr0ack & 1, 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "smmuv3.smmuen", "1"), 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, "smmuv3", NULL, &io), 0);
	ck_assert_uint_eq(f->cr0ack & 1, 1);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	ck_assert_uint_eq(f->cr0ack & 1, 0);
	/* Already on (the embedder's): left on at close. */
	f->cr0 = f->cr0ack = 1;
	ck_assert_int_eq(prqd_iommu_open(ctx, "smmuv3", NULL, &io), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	ck_assert_uint_eq(f->cr0ack & 1, 1);
	ck_assert_uint_eq(f->dma_allocs, f->dma_frees);
	prqd_ctx_unref(ctx);
	free(f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smmuv3");
	TCase *tc = tcase_create("engine");
	tcase_add_test(tc, engine_init_limits);
	tcase_add_test(tc, engine_wraps_and_batches);
	tcase_add_test(tc, engine_illegal_command);
	tcase_add_test(tc, engine_abort_and_atc_timeout);
	tcase_add_test(tc, engine_msi_completion);
	suite_add_tcase(s, tc);
	tc = tcase_create("backend");
	tcase_add_test(tc, backend_requests_and_responses);
	tcase_add_test(tc, backend_overflow);
	tcase_add_test(tc, backend_stalls);
	tcase_add_test(tc, backend_positions_across_queues);
	tcase_add_test(tc, backend_drain);
	tcase_add_test(tc, backend_without_ats_or_pri);
	tcase_add_test(tc, backend_smmuen);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
