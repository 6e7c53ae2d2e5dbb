/* SPDX-License-Identifier: MIT */
/*
 * check-vtd-iq: the invalidation queue engine (backends/vtd/vtd-iq.c) on a small scripted
 * register file, for what QEMU's model cannot show (tests/qemu/ covers the rest against
 * QEMU 7.2): device-TLB invalidation time-outs (ITE) aborting the waits the unit had fetched,
 * ICE, an invalid wait of the engine's own, a queue that cannot recover, the page-drain bit on
 * a unit with ECAP.PDS, argument checks, allocation failures, time-outs, value wrap-around.
 *
 * The fake unit: GCMD.QIE <-> GSTS.QIES, IQA, IQH/IQT (byte offsets), FSTS (RW1C), ICS, IQER.
 * An IQT write runs the queue unless IQE or ITE is pending or the test holds it. Waits (type
 * 5) with SW write their data; a wait with neither SW nor IF, or of a type the test rejects,
 * stops the queue with IQE on it. A device-TLB invalidation (type 3 or 8) for the source-id
 * the test made deaf times out: the unit has then fetched everything up to IQT (IQH = IQT),
 * or, with fetch_ahead >= 0, only that many descriptors after the one that timed out (how far
 * a unit reads ahead is its own business: VT-d only says that the waits pending in the unit
 * are aborted and that it goes on at IQH); it does not write the waits it fetched after the
 * time-out, and sets ITE with IQER.ITESID. Clearing IQE or ITE does not restart it; an IQT
 * write does.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prqdrain.h"
#include "backends/vtd/vtd-iq.h"
#include "backends/vtd/vtd-regs.h"

#include "tests/check-main.h"

/* The unit's own register map, written here from the specification's facts (pri-facts.md
 * §1) rather than taken from the driver's vtd-regs.h, so that a wrong offset or bit there
 * cannot hide behind a fake that reads the same header. vtd-regs.h is used only for what the
 * engine's API takes (the VTD_WAIT_* flags of vtd_iq_submit, response codes). */
#define UNIT_REG_ECAP 0x10
#define UNIT_REG_GCMD 0x18
#define UNIT_REG_GSTS 0x1C
#define UNIT_REG_FSTS 0x34
#define UNIT_REG_IQH 0x80
#define UNIT_REG_IQT 0x88
#define UNIT_REG_IQA 0x90
#define UNIT_REG_ICS 0x9C
#define UNIT_REG_IQER 0xB0
#define UNIT_ECAP_QI (1ull << 1)
#define UNIT_ECAP_DT (1ull << 2)
#define UNIT_ECAP_PRS (1ull << 29)
#define UNIT_ECAP_PASID (1ull << 40)
#define UNIT_ECAP_PDS (1ull << 42)
#define UNIT_ECAP_SMTS (1ull << 43)
#define UNIT_GCMD_QIE (1u << 26)
#define UNIT_GSTS_QIES (1u << 26)
#define UNIT_FSTS_IQE (1u << 4)
#define UNIT_FSTS_ICE (1u << 5)
#define UNIT_FSTS_ITE (1u << 6)
#define UNIT_ICS_IWC (1u << 0)
#define UNIT_IQA_DW (1ull << 11)
#define UNIT_IQA_QS_MASK 0x7ull
#define UNIT_DESC_DEVTLB 0x3u   /* source-id in QW0 [47:32] */
#define UNIT_DESC_WAIT 0x5u
#define UNIT_DESC_PDEVTLB 0x8u  /* source-id in QW0 [31:16] */
#define UNIT_WAIT_IF (1ull << 4)
#define UNIT_WAIT_SW (1ull << 5)
#define UNIT_WAIT_FN (1ull << 6)
#define UNIT_WAIT_PD (1ull << 7)

struct fake {
	uint64_t ecap, iqa, iqh, iqt, iqer;
	uint32_t gsts, fsts, ics;
	bool hold;              /* IQT writes do not run the queue */
	bool qies_stuck;        /* GCMD.QIE never shows in GSTS */
	int deaf_sid;           /* device-TLB invalidations for it time out; -1: none */
	int fetch_ahead;        /* descriptors fetched past a time-out; -1: all up to IQT */
	uint32_t reject_types;  /* bit per descriptor type answered with IQE */
	bool reject_fn_waits;   /* waits with FN answered with IQE */
	int fail_alloc;         /* the Nth dma_alloc fails (1-based), 0: none */
	unsigned allocs, frees, iqt_writes;
	uint64_t now;
};

static struct fake fk;
static struct vtd_iq iq;

static unsigned fk_shift(void)
{
	return (fk.iqa & UNIT_IQA_DW) ? 5 : 4;
}

static uint32_t fk_entries(void)
{
	return (uint32_t)((4096ull << (fk.iqa & UNIT_IQA_QS_MASK)) >> fk_shift());
}

static uint64_t *fk_desc(uint32_t index)
{
	return (uint64_t *)(uintptr_t)((fk.iqa & ~0xFFFull) + ((uint64_t)index << fk_shift()));
}

static bool fk_is_devtlb(const uint64_t *d, uint16_t *sid)
{
	unsigned type = d[0] & 0xF;

	if (type == UNIT_DESC_DEVTLB)
		*sid = (uint16_t)(d[0] >> 32);
	else if (type == UNIT_DESC_PDEVTLB)
		*sid = (uint16_t)(d[0] >> 16);
	else
		return false;
	return true;
}

static void fk_run(void)
{
	uint32_t n = fk_entries(), head = (uint32_t)(fk.iqh >> fk_shift()),
		 tail = (uint32_t)(fk.iqt >> fk_shift());

	if (fk.hold || !(fk.gsts & UNIT_GSTS_QIES) || (fk.fsts & (UNIT_FSTS_IQE | UNIT_FSTS_ITE)))
		return;
	while (head != tail) {
		uint64_t *d = fk_desc(head);
		unsigned type = d[0] & 0xF;
		uint16_t sid;

		if ((fk.reject_types & (1u << type)) ||
		    (type == UNIT_DESC_WAIT &&
		     (!(d[0] & (UNIT_WAIT_SW | UNIT_WAIT_IF)) ||
		      (fk.reject_fn_waits && (d[0] & UNIT_WAIT_FN))))) {
			fk.fsts |= UNIT_FSTS_IQE;
			break;
		}
		if (fk_is_devtlb(d, &sid) && sid == fk.deaf_sid) {
			/* What was fetched after it is aborted; IQH stays past the last fetched. */
			uint32_t left = (tail - head - 1) & (n - 1);

			if (fk.fetch_ahead >= 0 && (uint32_t)fk.fetch_ahead < left)
				left = (uint32_t)fk.fetch_ahead;
			head = (head + 1 + left) & (n - 1);
			fk.iqer = (uint64_t)sid << 32;
			fk.fsts |= UNIT_FSTS_ITE;
			break;
		}
		if (type == UNIT_DESC_WAIT && (d[0] & UNIT_WAIT_SW))
			*(volatile uint32_t *)(uintptr_t)d[1] = (uint32_t)(d[0] >> 32);
		if (type == UNIT_DESC_WAIT && (d[0] & UNIT_WAIT_IF))
			fk.ics |= UNIT_ICS_IWC;
		head = (head + 1) & (n - 1);
	}
	fk.iqh = (uint64_t)head << fk_shift();
}

static uint32_t fk_read32(void *user, uint64_t off)
{
	switch (off) {
	case UNIT_REG_GSTS: return fk.gsts;
	case UNIT_REG_FSTS: return fk.fsts;
	case UNIT_REG_ICS: return fk.ics;
	default: return 0;
	}
}

static uint64_t fk_read64(void *user, uint64_t off)
{
	switch (off) {
	case UNIT_REG_ECAP: return fk.ecap;
	case UNIT_REG_IQH: return fk.iqh;
	case UNIT_REG_IQT: return fk.iqt;
	case UNIT_REG_IQA: return fk.iqa;
	case UNIT_REG_IQER: return fk.iqer;
	default: return 0;
	}
}

static void fk_write32(void *user, uint64_t off, uint32_t v)
{
	switch (off) {
	case UNIT_REG_GCMD:
		if ((v & UNIT_GCMD_QIE) && !fk.qies_stuck) {
			if (!(fk.gsts & UNIT_GSTS_QIES))
				fk.iqh = 0;
			fk.gsts |= UNIT_GSTS_QIES;
		} else if (!(v & UNIT_GCMD_QIE)) {
			fk.gsts &= ~UNIT_GSTS_QIES;
		}
		break;
	case UNIT_REG_FSTS: fk.fsts &= ~v; break;
	case UNIT_REG_ICS: fk.ics &= ~v; break;
	default: break;
	}
}

static void fk_write64(void *user, uint64_t off, uint64_t v)
{
	switch (off) {
	case UNIT_REG_IQA: fk.iqa = v; break;
	case UNIT_REG_IQT:
		fk.iqt = v;
		fk.iqt_writes++;
		fk_run();
		break;
	default: break;
	}
}

static uint64_t fk_now(void *user)
{
	return fk.now;
}

static void fk_relax(void *user)
{
	fk.now += 1000;
}

static int fk_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	void *p;

	if (++fk.allocs == (unsigned)fk.fail_alloc)
		return -PRQD_ENOMEM;
	p = aligned_alloc(align, (size + align - 1) / align * align);
	if (!p)
		return -PRQD_ENOMEM;
	memset(p, 0, size);
	*va = p;
	*bus = (uint64_t)(uintptr_t)p;
	return 0;
}

static void fk_dma_free(void *user, void *va, size_t size)
{
	fk.frees++;
	free(va);
}

static const struct prqd_platform fk_plat = {
	.size = sizeof(struct prqd_platform),
	.now_ns = fk_now,
	.relax = fk_relax,
	.mmio_read32 = fk_read32,
	.mmio_read64 = fk_read64,
	.mmio_write32 = fk_write32,
	.mmio_write64 = fk_write64,
	.dma_alloc = fk_dma_alloc,
	.dma_free = fk_dma_free,
};

static void fk_reset(uint64_t ecap)
{
	memset(&fk, 0, sizeof(fk));
	fk.ecap = ecap;
	fk.deaf_sid = -1;
	fk.fetch_ahead = -1;
}

#define ECAP_SM (UNIT_ECAP_QI | UNIT_ECAP_DT | UNIT_ECAP_SMTS | UNIT_ECAP_PASID)

/* A unit and a running queue of one page. */
static void setup(uint64_t ecap, bool wide)
{
	fk_reset(ecap);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, wide, 1000000), 0);
}

static void teardown(void)
{
	vtd_iq_fini(&iq);
	ck_assert_uint_eq(fk.allocs, fk.frees);
}

static int plain_wait(struct vtd_wait *t)
{
	return vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, t);
}

/* ---- init and fini ---------------------------------------------------------------------- */

START_TEST(test_init)
{
	fk_reset(UNIT_ECAP_DT);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, false, 1000), -PRQD_EOPNOTSUPP);
	fk_reset(UNIT_ECAP_QI);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, true, 1000), -PRQD_EOPNOTSUPP);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 8, false, 1000), -PRQD_EINVAL);
	for (int n = 1; n <= 2; n++) {
		fk_reset(ECAP_SM);
		fk.fail_alloc = n;
		ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, true, 1000), -PRQD_ENOMEM);
		ck_assert_uint_eq(fk.allocs - 1, fk.frees);
	}
	fk_reset(ECAP_SM);
	fk.qies_stuck = true;
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, true, 50000), -PRQD_ETIMEDOUT);
	ck_assert_uint_eq(fk.allocs, fk.frees);
	ck_assert_int_eq(plain_wait(&(struct vtd_wait){ 0, 0 }), -PRQD_EIO);

	fk_reset(ECAP_SM);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 3, true, 1000), 0);
	ck_assert(fk.gsts & UNIT_GSTS_QIES);
	ck_assert_uint_eq(fk.iqa, iq.ring_bus | UNIT_IQA_DW | 3);
	ck_assert_uint_eq(iq.entries, 8 * 4096 / 32);
	ck_assert_uint_eq(iq.ring_bytes, 8 * 4096);
	vtd_iq_fini(&iq);
	ck_assert(!(fk.gsts & UNIT_GSTS_QIES));
	ck_assert_uint_eq(fk.allocs, fk.frees);
	ck_assert_int_eq(plain_wait(&(struct vtd_wait){ 0, 0 }), -PRQD_EIO);
}
END_TEST

/* ---- arguments -------------------------------------------------------------------------- */

START_TEST(test_arguments)
{
	struct vtd_desc d;
	struct vtd_wait t;
	unsigned iqt = fk.iqt_writes;

	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, 0, NULL), 0); /* nothing to do */
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, NULL), -PRQD_EINVAL);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_IF, &t), -PRQD_EINVAL);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW | (1ull << 8), &t),
			 -PRQD_EINVAL);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 1, 0, NULL), -PRQD_EINVAL);
	vtd_desc_wait(&d, VTD_WAIT_SW | VTD_WAIT_IF, 1, 0x1000);
	ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, 0, NULL), -PRQD_EINVAL);
	/* Private data needs 256-bit descriptors (this queue is 128-bit). */
	vtd_desc_page_group_resp(&d, 1, true, 1, 1, VTD_RC_SUCCESS, true,
				 (const uint64_t[]){ 1, 2 });
	ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, 0, NULL), -PRQD_EINVAL);
	ck_assert_uint_eq(fk.iqt_writes, iqt);
	ck_assert_uint_eq(iq.descriptors, 0);

	/* Tickets that are not outstanding. */
	ck_assert_int_eq(vtd_iq_poll(&iq, NULL), -PRQD_EINVAL);
	ck_assert_int_eq(vtd_iq_poll(&iq, &(struct vtd_wait){ VTD_IQ_MAX_WAITS, 1 }),
			 -PRQD_EINVAL);
	ck_assert_int_eq(plain_wait(&t), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), -PRQD_EINVAL);
	vtd_iq_wait_abandon(&iq, &t); /* harmless */
	vtd_iq_wait_abandon(&iq, NULL);
}
END_TEST

/* ---- the page-drain bit ------------------------------------------------------------------ */

START_TEST(test_page_drain)
{
	struct vtd_desc d[3];
	struct vtd_wait t;
	uint32_t at;
	unsigned iqt;

	fk_reset(UNIT_ECAP_QI | UNIT_ECAP_DT | UNIT_ECAP_PRS);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, false, 1000), 0);
	iqt = fk.iqt_writes;
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_FN | VTD_WAIT_PD, &t),
			 -PRQD_EOPNOTSUPP);
	vtd_desc_wait(&d[0], VTD_WAIT_SW | VTD_WAIT_PD, 1, 0x1000);
	ck_assert_int_eq(vtd_iq_submit(&iq, d, 1, 0, NULL), -PRQD_EOPNOTSUPP);
	ck_assert_uint_eq(fk.iqt_writes, iqt);
	ck_assert_uint_eq(iq.descriptors, 0);
	vtd_iq_fini(&iq);

	/* With ECAP.PDS the §7.10 batch goes out in one doorbell. */
	fk_reset(ECAP_SM | UNIT_ECAP_PRS | UNIT_ECAP_PDS);
	ck_assert_int_eq(vtd_iq_init(&iq, &fk_plat, 0, true, 1000), 0);
	vtd_desc_wait(&d[0], VTD_WAIT_SW | VTD_WAIT_FN, 1, iq.status_bus + 4 * VTD_IQ_MAX_WAITS);
	vtd_desc_piotlb_all(&d[1], 3, 0x55);
	vtd_desc_pdevtlb_all(&d[2], 0x100, 0, 0x55, 0);
	at = iq.tail;
	iqt = fk.iqt_writes;
	ck_assert_int_eq(vtd_iq_submit(&iq, d, 3, VTD_WAIT_FN | VTD_WAIT_PD, &t), 0);
	ck_assert_uint_eq(fk.iqt_writes, iqt + 1);
	ck_assert_uint_eq(iq.doorbells, 1);
	ck_assert_uint_eq(iq.descriptors, 4);
	ck_assert_uint_eq(((uint64_t *)iq.ring)[(at + 3) * 4] & 0xFF,
			  UNIT_DESC_WAIT | UNIT_WAIT_SW | UNIT_WAIT_FN | UNIT_WAIT_PD);
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), 0);

	/* 256-bit descriptors carry all four quadwords (the private data of a response). */
	vtd_desc_page_group_resp(&d[0], 0x100, true, 0x55, 7, VTD_RC_SUCCESS, true,
				 (const uint64_t[]){ 0x1111222233334444ull, 0x5555666677778888ull });
	at = iq.tail;
	ck_assert_int_eq(vtd_iq_submit(&iq, d, 1, VTD_WAIT_SW, &t), 0);
	for (unsigned q = 0; q < 4; q++)
		ck_assert_uint_eq(((uint64_t *)iq.ring)[at * 4 + q], d[0].qw[q]);
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), 0);
	vtd_iq_fini(&iq);
	ck_assert_uint_eq(fk.allocs, fk.frees);
}
END_TEST

/* ---- ITE ---------------------------------------------------------------------------------- */

START_TEST(test_ite)
{
	struct vtd_desc d[2];
	struct vtd_wait a, b, c, ab;
	struct vtd_iq_error e;

	/* A (the deaf device's invalidation and a wait) and an abandoned wait, fetched together
	 * when the unit runs: ITE; neither is written. */
	fk.hold = true;
	fk.deaf_sid = 0x0310;
	vtd_desc_iotlb_dsi(&d[0], 1);
	vtd_desc_devtlb_all(&d[1], 0x0310, 0, 0);
	ck_assert_int_eq(vtd_iq_submit(&iq, d, 2, VTD_WAIT_FN, &a), 0);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &ab), 0);
	vtd_iq_wait_abandon(&iq, &ab);
	fk.hold = false;
	fk_run();
	ck_assert(fk.fsts & UNIT_FSTS_ITE);
	/* B: queued after the time-out, not fetched: it must survive. */
	fk.deaf_sid = -1;
	ck_assert_int_eq(plain_wait(&b), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &a), -PRQD_EIO);
	ck_assert(!(fk.fsts & UNIT_FSTS_ITE));
	ck_assert_int_eq(vtd_iq_poll(&iq, &b), 0);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(e.ite && !e.iqe && !e.ice);
	ck_assert_uint_eq(e.ite_sid, 0x0310);
	ck_assert_uint_eq(e.aborted, 2);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 0);
	/* Neither A's nor the abandoned wait's slot is held any more. */
	ck_assert_int_eq(vtd_iq_poll(&iq, &a), -PRQD_EINVAL);
	for (unsigned i = 0; i < VTD_IQ_MAX_WAITS; i++)
		ck_assert_uint_eq(iq.slot_value[i], 0);
	ck_assert_int_eq(plain_wait(&c), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &c), 0);
}
END_TEST

START_TEST(test_ite_pdevtlb)
{
	struct vtd_desc d;
	struct vtd_wait a;
	struct vtd_iq_error e;

	fk.deaf_sid = 0x0420;
	vtd_desc_pdevtlb_all(&d, 0x0420, 0, 7, 0);
	ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, VTD_WAIT_FN, &a), 0);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(e.ite);
	ck_assert_uint_eq(e.ite_sid, 0x0420);
	ck_assert_uint_eq(e.aborted, 1);
	ck_assert_int_eq(vtd_iq_poll(&iq, &a), -PRQD_EIO);
}
END_TEST

/* ---- ITE with waits at every ring position --------------------------------------------------
 *
 * Linux once aborted only the waits at odd ring indices after a time-out (its submissions used
 * to be pairs); a wait anywhere else stayed "in use" and its poller spun for ever. Here a
 * round of seven batches (eleven descriptors) is queued from every ring index in turn, so its
 * waits sit at even and odd indices and across the end of the ring; the unit times out on the
 * second batch's device-TLB invalidation having read ahead some number of descriptors. Every
 * wait the unit fetched and dropped must poll as -EIO at once, every wait of a batch the
 * time-out cut must poll as -EIO (its batch may hold the invalidation that timed out, so it
 * must not look complete when the unit runs it after the restart), and the rest complete.
 */

#define DEAF_SID 0x0310u
#define GOOD_SID 0x0100u

enum { W_BEFORE, W_TIMEOUT, W_NEXT, W_ABANDONED, W_FENCE, W_TRIPLE, W_LAST, ROUND_WAITS };

struct round_wait {
	struct vtd_wait t;
	uint32_t start; /* ring index of the batch's first descriptor */
	uint32_t at;    /* ring index of the wait */
};

static uint32_t ring_dist(uint32_t from, uint32_t to)
{
	return (to - from) & (iq.entries - 1);
}

/* Queue filler descriptors (no wait, one batch) so that the next one goes to ring index
 * @index. The unit runs them at once. */
static void advance_to(uint32_t index)
{
	static struct vtd_desc fill[256];
	uint32_t n = ring_dist(iq.tail, index);

	ck_assert_uint_lt(n, sizeof(fill) / sizeof(fill[0]));
	for (uint32_t i = 0; i < n; i++)
		vtd_desc_iotlb_dsi(&fill[i], 1);
	if (n)
		ck_assert_int_eq(vtd_iq_submit(&iq, fill, n, 0, NULL), 0);
	ck_assert_uint_eq(iq.tail, index);
}

static void queue_batch(struct round_wait *w, const struct vtd_desc *d, unsigned n, uint64_t flags)
{
	w->start = iq.tail;
	ck_assert_int_eq(vtd_iq_submit(&iq, d, n, flags, &w->t), 0);
	w->at = ring_dist(1, iq.tail); /* the index before the new tail */
}

/* What a wait must poll as, given the time-out at @timeout and the unit's IQH after it. */
static int expected_result(const struct round_wait *w, uint32_t first, uint32_t timeout,
			   uint32_t fetched_end)
{
	if (ring_dist(first, w->at) < ring_dist(first, timeout))
		return 0; /* ran before the time-out */
	if (ring_dist(first, w->at) < ring_dist(first, fetched_end))
		return -PRQD_EIO; /* fetched, aborted by the unit */
	if (ring_dist(first, w->start) < ring_dist(first, fetched_end))
		return -PRQD_EIO; /* its batch was cut by the time-out */
	return 0; /* runs after the restart */
}

static void ite_round(uint32_t first, int fetch_ahead)
{
	struct round_wait w[ROUND_WAITS];
	struct vtd_desc d[2];
	struct vtd_iq_error e;
	struct vtd_wait later;
	uint32_t timeout, fetched_end, end, expect_aborted = 0;

	advance_to(first);
	fk.hold = true;
	fk.deaf_sid = DEAF_SID;
	fk.fetch_ahead = fetch_ahead;
	vtd_desc_iotlb_dsi(&d[0], 1);
	queue_batch(&w[W_BEFORE], d, 1, VTD_WAIT_SW);
	timeout = iq.tail;
	vtd_desc_devtlb_all(&d[0], DEAF_SID, 0, 0);
	queue_batch(&w[W_TIMEOUT], d, 1, VTD_WAIT_FN);
	queue_batch(&w[W_NEXT], NULL, 0, VTD_WAIT_SW);
	queue_batch(&w[W_ABANDONED], NULL, 0, VTD_WAIT_SW);
	vtd_iq_wait_abandon(&iq, &w[W_ABANDONED].t);
	queue_batch(&w[W_FENCE], NULL, 0, VTD_WAIT_FN);
	vtd_desc_iotlb_dsi(&d[0], 2);
	vtd_desc_devtlb_all(&d[1], GOOD_SID, 0, 0);
	queue_batch(&w[W_TRIPLE], d, 2, VTD_WAIT_SW);
	queue_batch(&w[W_LAST], NULL, 0, VTD_WAIT_SW);
	end = iq.tail;
	ck_assert_uint_eq(ring_dist(first, end), 11);

	fk.hold = false;
	fk_run();
	ck_assert(fk.fsts & UNIT_FSTS_ITE);
	fetched_end = (uint32_t)(fk.iqh >> fk_shift());
	ck_assert_uint_ge(ring_dist(first, fetched_end), ring_dist(first, timeout) + 1);

	for (unsigned i = 0; i < ROUND_WAITS; i++) {
		int want = expected_result(&w[i], first, timeout, fetched_end), rc = 0;

		expect_aborted += want < 0;
		if (i == W_ABANDONED)
			continue;
		/* The first poll handles the time-out and restarts the unit: no wait may still
		 * be in flight after a second look. */
		for (unsigned k = 0; k < 2; k++)
			if ((rc = vtd_iq_poll(&iq, &w[i].t)) != -PRQD_EINPROGRESS)
				break;
		ck_assert_msg(rc == want,
			      "round at %u, fetch-ahead %d: wait %u at index %u (batch from %u) "
			      "polled %d, expected %d",
			      first, fetch_ahead, i, w[i].at, w[i].start, rc, want);
	}
	ck_assert(!(fk.fsts & UNIT_FSTS_ITE));
	ck_assert_uint_eq(fk.iqh, fk.iqt); /* restarted: the unit ran the rest */
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(e.ite);
	ck_assert_uint_eq(e.ite_sid, DEAF_SID);
	ck_assert_uint_eq(e.aborted, expect_aborted);

	/* Later waits complete, and every slot is free again (the abandoned one included). */
	fk.deaf_sid = -1;
	ck_assert_int_eq(plain_wait(&later), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &later), 0);
	for (unsigned i = 0; i < VTD_IQ_MAX_WAITS; i++)
		ck_assert_uint_eq(iq.slot_value[i], 0);
	ck_assert(!iq.broken);
}

/* The unit had fetched the whole round when it timed out: every wait after the time-out,
 * whatever its index, is aborted. */
START_TEST(test_ite_every_slot_all_fetched)
{
	for (uint32_t first = 0; first < iq.entries; first++)
		ite_round(first, -1);
}
END_TEST

/* The unit had read only some descriptors past the time-out: the cut batch fails, the waits
 * not fetched complete after the restart. */
START_TEST(test_ite_every_slot_partly_fetched)
{
	/* The time-out's own batch cut; single waits fetched, the rest not; the three-
	 * descriptor batch cut after its second descriptor. */
	static const int ahead[] = { 0, 2, 5 };

	for (unsigned a = 0; a < sizeof(ahead) / sizeof(ahead[0]); a++)
		for (uint32_t first = 0; first < iq.entries; first++)
			ite_round(first, ahead[a]);
}
END_TEST

/* ---- ICE ---------------------------------------------------------------------------------- */

START_TEST(test_ice)
{
	struct vtd_iq_error e;
	struct vtd_wait t;

	fk.fsts |= UNIT_FSTS_ICE;
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(e.ice && !e.iqe && !e.ite);
	ck_assert(!(fk.fsts & UNIT_FSTS_ICE));
	ck_assert_int_eq(vtd_iq_errors(&iq, NULL), 0);
	fk.fsts |= UNIT_FSTS_ICE;
	ck_assert_int_eq(plain_wait(&t), 0);
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), 0);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1); /* what poll cleared is still told */
	ck_assert(e.ice);
}
END_TEST

/* ---- IQE ---------------------------------------------------------------------------------- */

START_TEST(test_iqe_own_wait)
{
	struct vtd_wait a, b, ab;
	struct vtd_iq_error e;
	uint32_t at = iq.tail;

	/* The unit refuses fence waits: the engine's own wait is the bad descriptor. */
	fk.reject_fn_waits = true;
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_FN, &a), 0);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_FN, &ab), 0);
	ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &b), 0);
	vtd_iq_wait_abandon(&iq, &ab);
	ck_assert_int_eq(vtd_iq_poll(&iq, &a), -PRQD_EIO); /* replaced: never written */
	/* The abandoned one is refused next and replaced at the next look; the latest is told. */
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(e.iqe);
	ck_assert_uint_eq(e.iqe_index, at + 1);
	ck_assert_uint_eq(e.iqe_type, UNIT_DESC_WAIT);
	ck_assert_int_eq(vtd_iq_poll(&iq, &b), 0);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 0);
	for (unsigned i = 0; i < VTD_IQ_MAX_WAITS; i++)
		ck_assert_uint_eq(iq.slot_value[i], 0);
	ck_assert(!iq.broken);
}
END_TEST

START_TEST(test_iqe_broken)
{
	struct vtd_wait a;
	struct vtd_iq_error e;

	/* Every wait refused, the replacement too: the queue is broken, and says so. */
	fk.reject_types = 1u << UNIT_DESC_WAIT;
	ck_assert_int_eq(plain_wait(&a), 0);
	ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
	ck_assert(!iq.broken);
	ck_assert_int_eq(vtd_iq_poll(&iq, &a), -PRQD_EIO);
	ck_assert(iq.broken);
	ck_assert_int_eq(plain_wait(&a), -PRQD_EIO);
}
END_TEST

/* ---- ring and slots ---------------------------------------------------------------------- */

START_TEST(test_full_and_slots)
{
	struct vtd_desc d;
	struct vtd_wait t[VTD_IQ_MAX_WAITS + 1];
	unsigned n = 0, iqt;

	fk.hold = true;
	vtd_desc_iotlb_dsi(&d, 1);
	while (vtd_iq_submit(&iq, &d, 1, 0, NULL) == 0)
		n++;
	ck_assert_uint_eq(n, iq.entries - 1);
	iqt = fk.iqt_writes;
	ck_assert_int_eq(plain_wait(&t[0]), -PRQD_EAGAIN);
	ck_assert_uint_eq(fk.iqt_writes, iqt);
	fk.hold = false;
	fk_run();
	/* The cached head is behind: submit reads IQH once and goes on. */
	for (n = 0; n < VTD_IQ_MAX_WAITS; n++)
		ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &t[n]), 0);
	ck_assert_int_eq(plain_wait(&t[n]), -PRQD_EAGAIN); /* every slot outstanding */
	for (n = 0; n < VTD_IQ_MAX_WAITS; n++)
		ck_assert_int_eq(vtd_iq_poll(&iq, &t[n]), 0);
	ck_assert_int_eq(plain_wait(&t[0]), 0);
}
END_TEST

START_TEST(test_value_wrap)
{
	struct vtd_wait t;
	uint32_t seen_max = 0;

	iq.next_value = 0xFFFFFFFEu;
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(plain_wait(&t), 0);
		ck_assert_uint_ne(t.value, 0);
		if (t.value > seen_max)
			seen_max = t.value;
		ck_assert_int_eq(vtd_iq_poll(&iq, &t), 0);
	}
	ck_assert_uint_eq(seen_max, 0xFFFFFFFFu);
	ck_assert_uint_lt(t.value, 4);
}
END_TEST

static void setup_legacy(void)
{
	setup(UNIT_ECAP_QI | UNIT_ECAP_DT, false);
}

static void setup_wide(void)
{
	setup(ECAP_SM, true);
}

static Suite *iq_suite(void)
{
	Suite *s = suite_create("vtd-iq");
	TCase *tc = tcase_create("init");
	const struct {
		const char *name;
		void (*setup)(void);
	} modes[] = { { "128-bit", setup_legacy }, { "256-bit", setup_wide } };

	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_page_drain);
	suite_add_tcase(s, tc);
	tc = tcase_create("arguments");
	tcase_add_checked_fixture(tc, setup_legacy, teardown);
	tcase_add_test(tc, test_arguments);
	suite_add_tcase(s, tc);
	for (unsigned m = 0; m < 2; m++) {
		tc = tcase_create(modes[m].name);
		tcase_add_checked_fixture(tc, modes[m].setup, teardown);
		tcase_add_test(tc, test_ite);
		tcase_add_test(tc, test_ite_pdevtlb);
		tcase_add_test(tc, test_ite_every_slot_all_fetched);
		tcase_add_test(tc, test_ite_every_slot_partly_fetched);
		tcase_add_test(tc, test_ice);
		tcase_add_test(tc, test_iqe_own_wait);
		tcase_add_test(tc, test_iqe_broken);
		tcase_add_test(tc, test_full_and_slots);
		tcase_add_test(tc, test_value_wrap);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return run_suite(iq_suite());
}
