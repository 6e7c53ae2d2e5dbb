/* SPDX-License-Identifier: MIT */
/*
 * The VT-d invalidation queue engine (see vtd-iq.h for the contract).
 *
 * The ring: software owns [tail, head) modulo the ring size, the hardware the rest; one slot
 * always stays empty so that head == tail means "empty". A batch is copied in and published
 * with one IQT write. Waits write a 32-bit value into a status word of their own (one per
 * slot); values come from a counter, skip 0 and any value still outstanding, and a slot is
 * zeroed before reuse, so a write can only ever complete the wait it was queued for.
 *
 * Per slot the engine remembers where the wait sits in the ring and where its batch began:
 * an invalid descriptor (IQE) inside a batch fails that batch's wait, and a device-TLB
 * time-out (ITE) aborts the waits the hardware had already fetched (those before IQH) and
 * fails the wait of a batch IQH cuts in two.
 *
 * Freestanding: only compiler headers and project headers; every register and memory access
 * goes through struct prqd_platform.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "backends/vtd/vtd-iq.h"
#include "backends/vtd/vtd-regs.h"

/* slot_state values. */
enum {
	SLOT_FREE = 0,
	SLOT_WAITING,   /* queued, its owner will poll it */
	SLOT_ABANDONED, /* queued, nobody polls: freed once its own value is written */
	SLOT_DEAD,      /* will never be written (replaced after IQE, aborted by ITE) */
};
#define SLOT_STATE_MASK 0xFu
#define SLOT_FAILED 0x10u /* a descriptor of its batch was rejected: completes as -EIO */

/* slot_where: ring index of the wait in [15:0], of its batch's first descriptor in [31:16]. */
#define WHERE(wait, start) ((uint32_t)(wait) | ((uint32_t)(start) << 16))
#define WHERE_WAIT(w) ((w) & 0xFFFFu)
#define WHERE_START(w) ((w) >> 16)

#define SCRATCH_SLOT VTD_IQ_MAX_WAITS    /* status word of the waits that replace bad ones */
#define SCRATCH_VALUE 0x5C5C5C5Cu
#define MAX_ORDER 7u                     /* IQA.QS is 3 bits; 2^15 entries fit WHERE() */
#define GSTS_ONESHOT_MASK 0x96FFFFFFu    /* GSTS bits that may be written back to GCMD */
#define FINI_TIMEOUT_NS 10000000ull

/* ---- encoders ---------------------------------------------------------------------------- */

static void desc_clear(struct vtd_desc *d)
{
	d->qw[0] = 0;
	d->qw[1] = 0;
	d->qw[2] = 0;
	d->qw[3] = 0;
}

void vtd_desc_wait(struct vtd_desc *d, uint64_t flags, uint32_t status_data, uint64_t status_addr)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_WAIT | (flags & (VTD_WAIT_IF | VTD_WAIT_SW | VTD_WAIT_FN | VTD_WAIT_PD)) |
		   ((uint64_t)status_data << 32);
	d->qw[1] = status_addr & ~3ull;
}

void vtd_desc_piotlb_all(struct vtd_desc *d, uint16_t did, uint32_t pasid)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_PIOTLB | (2ull << 4) | ((uint64_t)did << 16) |
		   ((uint64_t)(pasid & 0xFFFFFu) << 32);
}

void vtd_desc_pasid_cache(struct vtd_desc *d, unsigned gran, uint16_t did, uint32_t pasid)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_PASID_CACHE | ((uint64_t)(gran & 3u) << 4) | ((uint64_t)did << 16);
	if (gran == VTD_PC_GRAN_PASID)
		d->qw[0] |= (uint64_t)(pasid & 0xFFFFFu) << 32;
}

void vtd_desc_iotlb_dsi(struct vtd_desc *d, uint16_t did)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_IOTLB | (2ull << 4) | ((uint64_t)did << 16);
}

/* The whole address space in a size-encoded device-TLB invalidation: every address bit from
 * 12 up to 62 set (the lowest clear bit, 63, gives the range: 2^64 bytes). */
#define DEVTLB_ALL_ADDR 0x7FFFFFFFFFFFF000ull

void vtd_desc_pdevtlb_all(struct vtd_desc *d, uint16_t sid, uint16_t pfsid, uint32_t pasid,
			  uint8_t qdep)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_PDEVTLB | ((uint64_t)(qdep & 0x1Fu) << 4) |
		   ((uint64_t)(pfsid & 0xFu) << 12) | ((uint64_t)sid << 16) |
		   ((uint64_t)(pasid & 0xFFFFFu) << 32) | ((uint64_t)(pfsid >> 4) << 52);
	d->qw[1] = DEVTLB_ALL_ADDR | (1ull << 11); /* S = 1 */
}

void vtd_desc_devtlb_all(struct vtd_desc *d, uint16_t sid, uint16_t pfsid, uint8_t qdep)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_DEVTLB | ((uint64_t)(pfsid & 0xFu) << 12) |
		   ((uint64_t)(qdep & 0x1Fu) << 16) | ((uint64_t)sid << 32) |
		   ((uint64_t)(pfsid >> 4) << 52);
	d->qw[1] = DEVTLB_ALL_ADDR | 1ull; /* S = 1 */
}

void vtd_desc_page_group_resp(struct vtd_desc *d, uint16_t rid, bool pasid_present,
			      uint32_t pasid, uint16_t prg_index, uint8_t rc, bool lpig,
			      const uint64_t *priv_data)
{
	desc_clear(d);
	d->qw[0] = VTD_DESC_PGRP_RESP | ((uint64_t)(rc & 0xFu) << 12) | ((uint64_t)rid << 16);
	if (pasid_present)
		d->qw[0] |= (1ull << 4) | ((uint64_t)(pasid & 0xFFFFFu) << 32);
	d->qw[1] = ((uint64_t)(prg_index & 0x1FFu) << 3) | (lpig ? 1ull << 2 : 0);
	if (priv_data) {
		d->qw[0] |= 1ull << 5; /* PDP */
		d->qw[2] = priv_data[0];
		d->qw[3] = priv_data[1];
	}
}

/* ---- helpers ------------------------------------------------------------------------------ */

static unsigned desc_shift(const struct vtd_iq *iq)
{
	return iq->wide ? 5 : 4;
}

static uint32_t ring_mask(const struct vtd_iq *iq)
{
	return iq->entries - 1;
}

/* Distance from @from forward to @to on the ring. */
static uint32_t ring_dist(const struct vtd_iq *iq, uint32_t from, uint32_t to)
{
	return (to - from) & ring_mask(iq);
}

static volatile uint64_t *ring_slot(const struct vtd_iq *iq, uint32_t index)
{
	return (volatile uint64_t *)((char *)iq->ring + ((size_t)index << desc_shift(iq)));
}

static void ring_put(struct vtd_iq *iq, uint32_t index, const struct vtd_desc *d)
{
	volatile uint64_t *q = ring_slot(iq, index);

	q[0] = d->qw[0];
	q[1] = d->qw[1];
	if (iq->wide) {
		q[2] = d->qw[2];
		q[3] = d->qw[3];
	}
}

static uint32_t reg_index(const struct vtd_iq *iq, uint64_t reg)
{
	return (uint32_t)(reg >> desc_shift(iq)) & ring_mask(iq);
}

static uint32_t read_head(struct vtd_iq *iq)
{
	iq->head = reg_index(iq, iq->plat->mmio_read64(iq->plat->user, VTD_REG_IQH));
	return iq->head;
}

static void ring_doorbell(struct vtd_iq *iq)
{
	/* The descriptors must be visible in memory before the hardware sees the new tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	iq->plat->mmio_write64(iq->plat->user, VTD_REG_IQT, (uint64_t)iq->tail << desc_shift(iq));
	iq->doorbells++;
}

static uint32_t free_entries(const struct vtd_iq *iq)
{
	return iq->entries - 1 - ring_dist(iq, iq->head, iq->tail);
}

static uint32_t status_read(const struct vtd_iq *iq, uint32_t slot)
{
	uint32_t v = iq->status[slot];

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return v;
}

static void slot_free(struct vtd_iq *iq, uint32_t slot)
{
	iq->slot_value[slot] = 0;
	iq->slot_state[slot] = SLOT_FREE;
	iq->slot_where[slot] = 0;
}

static uint32_t slot_state(const struct vtd_iq *iq, uint32_t slot)
{
	return iq->slot_state[slot] & SLOT_STATE_MASK;
}

/* Is the slot queued and not yet written? */
static bool slot_outstanding(const struct vtd_iq *iq, uint32_t slot)
{
	uint32_t st = slot_state(iq, slot);

	return (st == SLOT_WAITING || st == SLOT_ABANDONED) &&
	       status_read(iq, slot) != iq->slot_value[slot];
}

/* The hardware will never write this slot: a waiting owner gets -EIO, an abandoned slot is free. */
static void slot_kill(struct vtd_iq *iq, uint32_t slot)
{
	if (slot_state(iq, slot) == SLOT_ABANDONED)
		slot_free(iq, slot);
	else
		iq->slot_state[slot] = SLOT_DEAD;
}

static bool value_in_use(const struct vtd_iq *iq, uint32_t value)
{
	for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++)
		if (iq->slot_value[i] == value)
			return true;
	return false;
}

static uint32_t new_value(struct vtd_iq *iq)
{
	uint32_t v;

	do
		v = iq->next_value++;
	while (v == 0 || v == SCRATCH_VALUE || value_in_use(iq, v));
	return v;
}

/* A free slot, reclaiming abandoned waits whose own value has arrived; -1 if none. */
static int find_slot(struct vtd_iq *iq)
{
	int found = -1;

	for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++) {
		if (slot_state(iq, i) == SLOT_ABANDONED && status_read(iq, i) == iq->slot_value[i])
			slot_free(iq, i);
		if (found < 0 && slot_state(iq, i) == SLOT_FREE)
			found = (int)i;
	}
	return found;
}

static void gcmd_set(struct vtd_iq *iq, uint32_t bit, bool on)
{
	const struct prqd_platform *p = iq->plat;
	uint32_t sts = p->mmio_read32(p->user, VTD_REG_GSTS) & GSTS_ONESHOT_MASK;

	p->mmio_write32(p->user, VTD_REG_GCMD, on ? sts | bit : sts & ~bit);
}

/* Wait until GSTS.@bit reads @on, at most @timeout_ns. */
static int gsts_wait(struct vtd_iq *iq, uint32_t bit, bool on, uint64_t timeout_ns)
{
	const struct prqd_platform *p = iq->plat;
	uint64_t start = p->now_ns(p->user);

	for (;;) {
		bool is = (p->mmio_read32(p->user, VTD_REG_GSTS) & bit) != 0;

		if (is == on)
			return 0;
		if (p->now_ns(p->user) - start > timeout_ns)
			return -PRQD_ETIMEDOUT;
		if (p->relax)
			p->relax(p->user);
	}
}

/* ---- init / fini ------------------------------------------------------------------------- */

static void release_memory(struct vtd_iq *iq)
{
	const struct prqd_platform *p = iq->plat;

	if (iq->ring)
		p->dma_free(p->user, iq->ring, iq->ring_bytes);
	if (iq->status)
		p->dma_free(p->user, (void *)iq->status, (VTD_IQ_MAX_WAITS + 1) * sizeof(uint32_t));
	iq->ring = NULL;
	iq->status = NULL;
}

int vtd_iq_init(struct vtd_iq *iq, const struct prqd_platform *plat, unsigned order, bool wide,
		uint64_t timeout_ns)
{
	void *va;
	uint64_t bus;
	int ret;

	if (!iq || !plat || order > MAX_ORDER)
		return -PRQD_EINVAL;
	for (size_t i = 0; i < sizeof(*iq); i++)
		((volatile char *)iq)[i] = 0;
	iq->plat = plat;
	iq->broken = true; /* until the queue runs */

	iq->ecap = plat->mmio_read64(plat->user, VTD_REG_ECAP);
	if (!(iq->ecap & VTD_ECAP_QI))
		return -PRQD_EOPNOTSUPP;
	if (wide && !(iq->ecap & VTD_ECAP_SMTS))
		return -PRQD_EOPNOTSUPP; /* IQA.DW exists only with scalable mode */

	iq->wide = wide;
	iq->ring_bytes = (size_t)4096 << order;
	iq->entries = (uint32_t)(iq->ring_bytes >> desc_shift(iq));
	if (plat->dma_alloc(plat->user, iq->ring_bytes, 4096, &va, &bus) != 0 || !va)
		return -PRQD_ENOMEM;
	iq->ring = va;
	iq->ring_bus = bus;
	if (plat->dma_alloc(plat->user, (VTD_IQ_MAX_WAITS + 1) * sizeof(uint32_t), 64, &va, &bus) !=
		    0 ||
	    !va) {
		release_memory(iq);
		return -PRQD_ENOMEM;
	}
	iq->status = va;
	iq->status_bus = bus;

	/* IQA may only change while queued invalidation is off. */
	if (plat->mmio_read32(plat->user, VTD_REG_GSTS) & VTD_GSTS_QIES) {
		gcmd_set(iq, VTD_GCMD_QIE, false);
		ret = gsts_wait(iq, VTD_GSTS_QIES, false, timeout_ns);
		if (ret < 0)
			goto fail;
	}
	plat->mmio_write64(plat->user, VTD_REG_IQT, 0);
	plat->mmio_write64(plat->user, VTD_REG_IQA,
			   iq->ring_bus | (wide ? VTD_IQA_DW : 0) | (order & VTD_IQA_QS_MASK));
	gcmd_set(iq, VTD_GCMD_QIE, true);
	ret = gsts_wait(iq, VTD_GSTS_QIES, true, timeout_ns);
	if (ret < 0)
		goto fail;

	iq->tail = 0;
	read_head(iq);
	iq->next_value = 1;
	iq->broken = false;
	return 0;

fail:
	release_memory(iq);
	return ret;
}

void vtd_iq_fini(struct vtd_iq *iq)
{
	if (!iq || !iq->plat)
		return;
	if (iq->ring) {
		gcmd_set(iq, VTD_GCMD_QIE, false);
		(void)gsts_wait(iq, VTD_GSTS_QIES, false, FINI_TIMEOUT_NS);
	}
	release_memory(iq);
	for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++)
		slot_free(iq, i);
	iq->broken = true;
}

/* ---- submission --------------------------------------------------------------------------- */

static bool is_drain_wait(const struct vtd_desc *d)
{
	return (d->qw[0] & 0xF) == VTD_DESC_WAIT && (d->qw[0] & VTD_WAIT_PD);
}

static bool is_sw_if_wait(const struct vtd_desc *d)
{
	return (d->qw[0] & 0xF) == VTD_DESC_WAIT && (d->qw[0] & VTD_WAIT_SW) &&
	       (d->qw[0] & VTD_WAIT_IF);
}

int vtd_iq_submit(struct vtd_iq *iq, const struct vtd_desc *descs, unsigned n,
		  uint64_t wait_flags, struct vtd_wait *ticket)
{
	bool pds = (iq->ecap & VTD_ECAP_PDS) != 0;
	uint32_t need, start, value;
	struct vtd_desc w;
	int slot = -1;

	if (iq->broken)
		return -PRQD_EIO;
	if (wait_flags & ~(VTD_WAIT_SW | VTD_WAIT_FN | VTD_WAIT_PD))
		return -PRQD_EINVAL;
	if (wait_flags && !ticket)
		return -PRQD_EINVAL;
	if (n && !descs)
		return -PRQD_EINVAL;
	if ((wait_flags & VTD_WAIT_PD) && !pds)
		return -PRQD_EOPNOTSUPP;
	for (unsigned i = 0; i < n; i++) {
		if (is_drain_wait(&descs[i]) && !pds)
			return -PRQD_EOPNOTSUPP;
		if (is_sw_if_wait(&descs[i]))
			return -PRQD_EINVAL;
		if (!iq->wide && (descs[i].qw[2] | descs[i].qw[3]))
			return -PRQD_EINVAL;
	}

	need = n + (wait_flags ? 1 : 0);
	if (need == 0)
		return 0;
	if (need > free_entries(iq)) {
		read_head(iq); /* the cached head may be behind the hardware */
		if (need > free_entries(iq))
			return -PRQD_EAGAIN;
	}
	if (wait_flags) {
		slot = find_slot(iq);
		if (slot < 0)
			return -PRQD_EAGAIN;
	}

	start = iq->tail;
	for (unsigned i = 0; i < n; i++) {
		ring_put(iq, iq->tail, &descs[i]);
		iq->tail = (iq->tail + 1) & ring_mask(iq);
	}
	if (wait_flags) {
		value = new_value(iq);
		iq->status[slot] = 0;
		iq->slot_value[slot] = value;
		iq->slot_state[slot] = SLOT_WAITING;
		iq->slot_where[slot] = WHERE(iq->tail, start);
		vtd_desc_wait(&w, VTD_WAIT_SW | wait_flags, value,
			      iq->status_bus + (uint64_t)slot * sizeof(uint32_t));
		ring_put(iq, iq->tail, &w);
		iq->tail = (iq->tail + 1) & ring_mask(iq);
		ticket->slot = (uint32_t)slot;
		ticket->value = value;
	}
	iq->descriptors += need;
	ring_doorbell(iq);
	return 0;
}

/* ---- errors ------------------------------------------------------------------------------- */

static void write_fsts(struct vtd_iq *iq, uint32_t bits)
{
	iq->plat->mmio_write32(iq->plat->user, VTD_REG_FSTS, bits);
}

static void break_queue(struct vtd_iq *iq)
{
	iq->broken = true;
	for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++)
		if (slot_state(iq, i) == SLOT_WAITING || slot_state(iq, i) == SLOT_ABANDONED)
			slot_kill(iq, i);
}

/* IQE: IQH stopped on a descriptor the hardware refused. Replace it with a plain status write
 * to the scratch word, fail the wait of its batch, clear IQE and restart with an IQT write. */
static void handle_iqe(struct vtd_iq *iq, struct vtd_iq_error *acc)
{
	uint32_t h = read_head(iq);
	volatile uint64_t *bad = ring_slot(iq, h);
	uint64_t scratch_bus = iq->status_bus + SCRATCH_SLOT * sizeof(uint32_t);
	uint64_t qw0 = bad[0];
	struct vtd_desc repl;

	acc->iqe = true;
	acc->iqe_index = h;
	acc->iqe_type = (uint8_t)((qw0 & 0xF) | ((qw0 >> 5) & 0x70));

	vtd_desc_wait(&repl, VTD_WAIT_SW, SCRATCH_VALUE, scratch_bus);
	if (h != iq->tail) {
		if (qw0 == repl.qw[0] && bad[1] == repl.qw[1]) {
			/* Our harmless wait was refused too: nothing here can be trusted. */
			write_fsts(iq, VTD_FSTS_IQE);
			break_queue(iq);
			return;
		}
		for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++) {
			uint32_t w = WHERE_WAIT(iq->slot_where[i]);
			uint32_t s = WHERE_START(iq->slot_where[i]);

			if (!slot_outstanding(iq, i) || ring_dist(iq, s, h) > ring_dist(iq, s, w))
				continue;
			if (h == w)
				slot_kill(iq, i);
			else
				iq->slot_state[i] |= SLOT_FAILED;
		}
		ring_put(iq, h, &repl);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	write_fsts(iq, VTD_FSTS_IQE);
	ring_doorbell(iq);
}

/*
 * ITE: a device-TLB invalidation timed out. The unit dropped every wait it had fetched (those
 * before IQH) without writing it, and goes on at IQH once ITE is cleared. Every slot is
 * looked at, whatever its ring index (Linux once stepped over even indices and spun for ever
 * on a wait it never aborted). How far the unit read ahead is its own business, so a batch
 * may be cut by IQH: its first descriptors fetched, its wait not. That wait will run after the
 * restart and write its value although the invalidation that timed out may be one of its
 * batch, so it is failed: it still completes (the slot stays reserved until its value is
 * written) but polls as -EIO.
 */
static void handle_ite(struct vtd_iq *iq, struct vtd_iq_error *acc)
{
	const struct prqd_platform *p = iq->plat;
	uint32_t h = read_head(iq);
	uint32_t pending = ring_dist(iq, h, iq->tail);

	acc->ite = true;
	acc->ite_sid = VTD_IQER_ITESID(p->mmio_read64(p->user, VTD_REG_IQER));
	for (uint32_t i = 0; i < VTD_IQ_MAX_WAITS; i++) {
		bool wait_fetched, batch_fetched;

		if (!slot_outstanding(iq, i))
			continue;
		wait_fetched = ring_dist(iq, h, WHERE_WAIT(iq->slot_where[i])) >= pending;
		batch_fetched = ring_dist(iq, h, WHERE_START(iq->slot_where[i])) >= pending;
		if (wait_fetched) {
			slot_kill(iq, i);
			acc->aborted++;
		} else if (batch_fetched && !(iq->slot_state[i] & SLOT_FAILED)) {
			iq->slot_state[i] |= SLOT_FAILED;
			acc->aborted++;
		}
	}
	write_fsts(iq, VTD_FSTS_ITE);
	/* Harmless where the unit resumes by itself; a restart where it waits for IQT (as
	 * QEMU does after IQE). */
	if (h != iq->tail)
		ring_doorbell(iq);
}

/* Handle what FSTS shows; what was found is added to *@acc. */
static void handle_faults(struct vtd_iq *iq, struct vtd_iq_error *acc)
{
	const struct prqd_platform *p = iq->plat;
	uint32_t fsts;

	if (!p || !iq->ring)
		return;
	fsts = p->mmio_read32(p->user, VTD_REG_FSTS);
	if (fsts & VTD_FSTS_IQE)
		handle_iqe(iq, acc);
	if ((fsts & VTD_FSTS_ITE) && !iq->broken)
		handle_ite(iq, acc);
	if (fsts & VTD_FSTS_ICE) {
		acc->ice = true;
		write_fsts(iq, VTD_FSTS_ICE);
	}
}

int vtd_iq_errors(struct vtd_iq *iq, struct vtd_iq_error *err)
{
	struct vtd_iq_error e;
	bool any;

	handle_faults(iq, &iq->unreported);
	e = iq->unreported;
	iq->unreported = (struct vtd_iq_error){ 0 };
	any = e.iqe || e.ite || e.ice || e.aborted;
	if (err)
		*err = e;
	return any ? 1 : 0;
}

/* ---- completion --------------------------------------------------------------------------- */

static bool ticket_valid(const struct vtd_iq *iq, const struct vtd_wait *t)
{
	return t && t->slot < VTD_IQ_MAX_WAITS && t->value != 0 &&
	       iq->slot_value[t->slot] == t->value;
}

int vtd_iq_poll(struct vtd_iq *iq, const struct vtd_wait *ticket)
{
	uint32_t slot, st;

	if (!ticket_valid(iq, ticket) || slot_state(iq, ticket->slot) == SLOT_ABANDONED)
		return -PRQD_EINVAL;
	slot = ticket->slot;
	if (!iq->broken)
		handle_faults(iq, &iq->unreported);

	st = iq->slot_state[slot];
	if ((st & SLOT_STATE_MASK) == SLOT_DEAD) {
		slot_free(iq, slot);
		return -PRQD_EIO;
	}
	if (status_read(iq, slot) == ticket->value) {
		slot_free(iq, slot);
		return (st & SLOT_FAILED) ? -PRQD_EIO : 0;
	}
	if (iq->broken) {
		slot_free(iq, slot);
		return -PRQD_EIO;
	}
	return -PRQD_EINPROGRESS;
}

void vtd_iq_wait_abandon(struct vtd_iq *iq, const struct vtd_wait *ticket)
{
	uint32_t slot;

	if (!ticket_valid(iq, ticket))
		return;
	slot = ticket->slot;
	if (slot_state(iq, slot) == SLOT_DEAD || status_read(iq, slot) == ticket->value)
		slot_free(iq, slot);
	else if (slot_state(iq, slot) == SLOT_WAITING)
		iq->slot_state[slot] = SLOT_ABANDONED | (iq->slot_state[slot] & SLOT_FAILED);
}
