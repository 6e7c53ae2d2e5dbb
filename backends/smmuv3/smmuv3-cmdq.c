/* SPDX-License-Identifier: MIT */
/*
 * The SMMUv3 command queue engine (see smmuv3-cmdq.h for the contract).
 *
 * The queue: software owns [prod, cons + entries), the SMMU [cons, prod). A batch is copied
 * in and published with one CMDQ_PROD write. A CMD_SYNC completes once every command before
 * it completed, and the SMMU moves CONS past a command only when it is done with it, so a
 * sync at position P has completed when CONS is past P. No memory is needed for that; where
 * the SMMU can signal with an MSI, the sync also writes the low 32 bits of P + 1 into one
 * completion word (syncs complete in queue order, so the word only grows), which saves the
 * register read.
 *
 * A command error stops the queue with CONS on the command at fault. The engine remembers
 * the positions of the commands that failed, so that a sync whose batch held one reports
 * -EIO although CONS went past it.
 *
 * Freestanding: only compiler headers and project headers; every register and memory access
 * goes through struct prqd_platform.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain.h"
#include "backends/smmuv3/smmuv3-cmdq.h"
#include "backends/smmuv3/smmuv3-regs.h"

#define MAX_LOG2SIZE 19u       /* the architecture's largest queue: 2^19 entries */
#define ABT_REPEAT_LIMIT 3u    /* the same fetch abort this often: the queue is unusable */
#define FINI_TIMEOUT_NS 10000000ull

/* ---- builders ----------------------------------------------------------------------------- */

static void cmd_clear(struct smmuv3_cmd *c, unsigned opcode)
{
	c->dw[0] = opcode & 0xFFu;
	c->dw[1] = 0;
}

/* StreamID, and SubstreamID with SSV when @ssv: the fields most commands share. */
static uint64_t stream_fields(uint32_t sid, bool ssv, uint32_t ssid)
{
	uint64_t dw0 = (uint64_t)sid << SMMUV3_CMD_SID_SHIFT;

	if (ssv)
		dw0 |= SMMUV3_CMD_SSV | ((uint64_t)(ssid & SMMUV3_SSID_MASK) << SMMUV3_CMD_SSID_SHIFT);
	return dw0;
}

void smmuv3_cmd_sync(struct smmuv3_cmd *c, unsigned cs, uint32_t msi_data, uint64_t msi_addr)
{
	cmd_clear(c, SMMUV3_OP_SYNC);
	c->dw[0] |= (uint64_t)(cs & 3u) << SMMUV3_SYNC_CS_SHIFT;
	if (cs == SMMUV3_SYNC_CS_IRQ && msi_addr) {
		/* The write lands in normal cacheable memory the CPU polls. */
		c->dw[0] |= (uint64_t)SMMUV3_SYNC_MSH_ISH << SMMUV3_SYNC_MSH_SHIFT |
			    (uint64_t)SMMUV3_SYNC_MSIATTR_OIWB << SMMUV3_SYNC_MSIATTR_SHIFT |
			    (uint64_t)msi_data << 32;
		c->dw[1] = msi_addr & SMMUV3_SYNC_MSIADDR_MASK;
	}
}

void smmuv3_cmd_pri_resp(struct smmuv3_cmd *c, uint32_t sid, bool ssv, uint32_t ssid,
			 uint16_t prg_index, unsigned resp)
{
	cmd_clear(c, SMMUV3_OP_PRI_RESP);
	c->dw[0] |= stream_fields(sid, ssv, ssid);
	c->dw[1] = (prg_index & SMMUV3_PRIQ1_PRGI_MASK) | (uint64_t)(resp & 3u) << SMMUV3_PRI_RESP_SHIFT;
}

void smmuv3_cmd_atc_inv_all(struct smmuv3_cmd *c, uint32_t sid, bool ssv, uint32_t ssid)
{
	cmd_clear(c, SMMUV3_OP_ATC_INV);
	c->dw[0] |= stream_fields(sid, ssv, ssid);
	c->dw[1] = SMMUV3_ATC_SIZE_ALL; /* address 0, span 2^64 bytes */
}

void smmuv3_cmd_tlbi_nh_asid(struct smmuv3_cmd *c, uint16_t asid, uint16_t vmid)
{
	cmd_clear(c, SMMUV3_OP_TLBI_NH_ASID);
	c->dw[0] |= (uint64_t)vmid << SMMUV3_TLBI_VMID_SHIFT | (uint64_t)asid << SMMUV3_TLBI_ASID_SHIFT;
}

void smmuv3_cmd_tlbi_nh_all(struct smmuv3_cmd *c, uint16_t vmid)
{
	cmd_clear(c, SMMUV3_OP_TLBI_NH_ALL);
	c->dw[0] |= (uint64_t)vmid << SMMUV3_TLBI_VMID_SHIFT;
}

void smmuv3_cmd_cfgi_cd(struct smmuv3_cmd *c, uint32_t sid, uint32_t ssid, bool leaf)
{
	cmd_clear(c, SMMUV3_OP_CFGI_CD);
	/* CFGI_CD names its SubstreamID without SSV. */
	c->dw[0] |= (uint64_t)sid << SMMUV3_CMD_SID_SHIFT |
		    (uint64_t)(ssid & SMMUV3_SSID_MASK) << SMMUV3_CMD_SSID_SHIFT;
	c->dw[1] = leaf ? 1u : 0u;
}

void smmuv3_cmd_resume(struct smmuv3_cmd *c, uint32_t sid, uint16_t stag, unsigned action)
{
	cmd_clear(c, SMMUV3_OP_RESUME);
	c->dw[0] |= (uint64_t)sid << SMMUV3_CMD_SID_SHIFT |
		    (uint64_t)(action & 3u) << SMMUV3_RESUME_ACTION_SHIFT;
	c->dw[1] = stag;
}

void smmuv3_cmd_stall_term(struct smmuv3_cmd *c, uint32_t sid)
{
	cmd_clear(c, SMMUV3_OP_STALL_TERM);
	c->dw[0] |= (uint64_t)sid << SMMUV3_CMD_SID_SHIFT;
}

/* ---- registers ------------------------------------------------------------------------------ */

static uint32_t rd32(const struct smmuv3_cmdq *q, uint64_t off)
{
	return q->plat->mmio_read32(q->plat->user, off);
}

static void wr32(const struct smmuv3_cmdq *q, uint64_t off, uint32_t v)
{
	q->plat->mmio_write32(q->plat->user, off, v);
}

int smmuv3_cr0_update(const struct prqd_platform *plat, uint32_t mask, uint32_t value,
		      uint64_t timeout_ns)
{
	uint32_t cr0 = plat->mmio_read32(plat->user, SMMUV3_REG_CR0);
	uint64_t start = plat->now_ns(plat->user);

	plat->mmio_write32(plat->user, SMMUV3_REG_CR0, (cr0 & ~mask) | (value & mask));
	for (;;) {
		if ((plat->mmio_read32(plat->user, SMMUV3_REG_CR0ACK) & mask) == (value & mask))
			return 0;
		if (plat->now_ns(plat->user) - start > timeout_ns)
			return -PRQD_ETIMEDOUT;
		if (plat->relax)
			plat->relax(plat->user);
	}
}

/* PROD and CONS carry index and wrap bit: positions modulo twice the queue size. */
static uint32_t wrap_mask(const struct smmuv3_cmdq *q)
{
	return (q->entries << 1) - 1;
}

/* The consumer position CONS names: at most one queue behind what software produced. */
static uint64_t cons_position(const struct smmuv3_cmdq *q, uint32_t cons_reg)
{
	uint32_t behind = ((uint32_t)q->prod - cons_reg) & wrap_mask(q);

	if (behind > q->entries)
		behind = q->entries; /* nonsense from the register: treat the queue as full */
	return q->prod - behind;
}

uint64_t smmuv3_cmdq_read_cons(struct smmuv3_cmdq *q)
{
	q->cons = cons_position(q, rd32(q, SMMUV3_REG_CMDQ_CONS));
	return q->cons;
}

static volatile uint64_t *slot_of(const struct smmuv3_cmdq *q, uint64_t pos)
{
	uint32_t index = (uint32_t)pos & (q->entries - 1);

	return (volatile uint64_t *)((unsigned char *)q->ring + (size_t)index * SMMUV3_CMD_SIZE);
}

/* ---- init / fini ---------------------------------------------------------------------------- */

static void release_memory(struct smmuv3_cmdq *q)
{
	const struct prqd_platform *p = q->plat;

	if (q->ring)
		p->dma_free(p->user, q->ring, q->ring_bytes);
	if (q->msi_word)
		p->dma_free(p->user, (void *)q->msi_word, 64);
	q->ring = NULL;
	q->msi_word = NULL;
}

/* Acknowledge a command error (and a sync's MSI abort) an earlier owner left active. */
static void ack_stale_errors(struct smmuv3_cmdq *q)
{
	uint32_t active = (rd32(q, SMMUV3_REG_GERROR) ^ rd32(q, SMMUV3_REG_GERRORN)) &
			  (SMMUV3_GERROR_CMDQ_ERR | SMMUV3_GERROR_MSI_CMDQ_ABT);

	if (active)
		wr32(q, SMMUV3_REG_GERRORN, rd32(q, SMMUV3_REG_GERRORN) ^ active);
}

int smmuv3_cmdq_init(struct smmuv3_cmdq *q, const struct prqd_platform *plat, unsigned log2size,
		     bool use_msi, uint64_t timeout_ns)
{
	uint32_t idr0, idr1, max_log2;
	void *va;
	uint64_t bus;
	int ret;

	if (!q || !plat || log2size == 0 || log2size > MAX_LOG2SIZE)
		return -PRQD_EINVAL;
	for (size_t i = 0; i < sizeof(*q); i++)
		((volatile char *)q)[i] = 0;
	q->plat = plat;
	q->broken = true; /* until the queue runs */

	idr0 = rd32(q, SMMUV3_REG_IDR0);
	idr1 = rd32(q, SMMUV3_REG_IDR1);
	max_log2 = (idr1 >> SMMUV3_IDR1_CMDQS_SHIFT) & SMMUV3_IDR1_QS_MASK;
	if (max_log2 == 0)
		return -PRQD_EOPNOTSUPP;
	q->log2size = log2size < max_log2 ? log2size : max_log2;
	q->entries = 1u << q->log2size;
	/* The base must be aligned to the queue's size, and to 32 bytes at least. */
	q->ring_bytes = (size_t)q->entries * SMMUV3_CMD_SIZE;
	if (plat->dma_alloc(plat->user, q->ring_bytes, q->ring_bytes < 32 ? 32 : q->ring_bytes, &va,
			    &bus) != 0 ||
	    !va)
		return -PRQD_ENOMEM;
	q->ring = va;
	q->ring_bus = bus;
	q->msi = use_msi && (idr0 & SMMUV3_IDR0_MSI);
	if (q->msi) {
		if (plat->dma_alloc(plat->user, 64, 64, &va, &bus) != 0 || !va) {
			release_memory(q);
			return -PRQD_ENOMEM;
		}
		q->msi_word = va;
		q->msi_bus = bus;
	}

	/* CMDQ_BASE, PROD and CONS may only change while the queue is off. */
	if (rd32(q, SMMUV3_REG_CR0ACK) & SMMUV3_CR0_CMDQEN) {
		ret = smmuv3_cr0_update(plat, SMMUV3_CR0_CMDQEN, 0, timeout_ns);
		if (ret < 0)
			goto fail;
	}
	ack_stale_errors(q);
	plat->mmio_write64(plat->user, SMMUV3_REG_CMDQ_BASE,
			   (q->ring_bus & SMMUV3_Q_BASE_ADDR_MASK) | SMMUV3_Q_BASE_RWA | q->log2size);
	wr32(q, SMMUV3_REG_CMDQ_PROD, 0);
	wr32(q, SMMUV3_REG_CMDQ_CONS, 0);
	ret = smmuv3_cr0_update(plat, SMMUV3_CR0_CMDQEN, SMMUV3_CR0_CMDQEN, timeout_ns);
	if (ret < 0)
		goto fail;
	q->broken = false;
	return 0;

fail:
	release_memory(q);
	return ret;
}

void smmuv3_cmdq_fini(struct smmuv3_cmdq *q)
{
	if (!q || !q->plat)
		return;
	if (q->ring)
		(void)smmuv3_cr0_update(q->plat, SMMUV3_CR0_CMDQEN, 0, FINI_TIMEOUT_NS);
	release_memory(q);
	q->broken = true;
}

/* ---- submission ----------------------------------------------------------------------------- */

static void put_cmd(struct smmuv3_cmdq *q, uint64_t pos, const struct smmuv3_cmd *c)
{
	volatile uint64_t *s = slot_of(q, pos);

	s[0] = c->dw[0];
	s[1] = c->dw[1];
}

/* The value a sync at @pos writes into the completion word. */
static uint32_t msi_value(uint64_t pos)
{
	return (uint32_t)(pos + 1);
}

int smmuv3_cmdq_submit(struct smmuv3_cmdq *q, const struct smmuv3_cmd *cmds, unsigned n,
		       struct smmuv3_sync *ticket)
{
	uint64_t need, start;
	struct smmuv3_cmd sync;

	if (q->broken)
		return -PRQD_EIO;
	if (n && !cmds)
		return -PRQD_EINVAL;
	need = (uint64_t)n + (ticket ? 1 : 0);
	if (need == 0)
		return 0;
	if (need > q->entries)
		return -PRQD_EINVAL;
	if (need > q->entries - (q->prod - q->cons)) {
		smmuv3_cmdq_read_cons(q); /* the cached position may be behind the SMMU */
		if (need > q->entries - (q->prod - q->cons))
			return -PRQD_EAGAIN;
	}

	start = q->prod;
	for (unsigned i = 0; i < n; i++)
		put_cmd(q, q->prod++, &cmds[i]);
	if (ticket) {
		if (q->msi)
			smmuv3_cmd_sync(&sync, SMMUV3_SYNC_CS_IRQ, msi_value(q->prod), q->msi_bus);
		else
			smmuv3_cmd_sync(&sync, SMMUV3_SYNC_CS_NONE, 0, 0);
		ticket->start = start;
		ticket->pos = q->prod;
		put_cmd(q, q->prod++, &sync);
	}
	q->commands += need;
	/* The commands must be visible in memory before the SMMU sees the new PROD. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr32(q, SMMUV3_REG_CMDQ_PROD, (uint32_t)q->prod & wrap_mask(q));
	q->doorbells++;
	return 0;
}

/* ---- errors --------------------------------------------------------------------------------- */

static void note_failed(struct smmuv3_cmdq *q, uint64_t pos)
{
	q->err_pos[q->err_count % SMMUV3_CMDQ_ERR_HISTORY] = pos;
	q->err_count++;
}

/* Did a command of the batch [start, pos] fail? When more errors came than the history
 * holds, an older one may have been in the batch: say so rather than claim success. */
static bool batch_failed(const struct smmuv3_cmdq *q, const struct smmuv3_sync *t)
{
	uint64_t kept = q->err_count < SMMUV3_CMDQ_ERR_HISTORY ? q->err_count : SMMUV3_CMDQ_ERR_HISTORY;

	for (uint64_t k = q->err_count - kept; k < q->err_count; k++) {
		uint64_t e = q->err_pos[k % SMMUV3_CMDQ_ERR_HISTORY];

		if (e >= t->start && e <= t->pos)
			return true;
	}
	if (q->err_count > kept)
		return q->err_pos[(q->err_count - kept) % SMMUV3_CMDQ_ERR_HISTORY] > t->start;
	return false;
}

/* CERROR_ILL at @pos: put a sync without signal in its place (unless it is one already:
 * then the SMMU refuses what it must accept and the queue cannot be trusted). */
static void replace_illegal(struct smmuv3_cmdq *q, uint64_t pos, struct smmuv3_cmdq_error *acc)
{
	volatile uint64_t *s = slot_of(q, pos);
	struct smmuv3_cmd repl;

	smmuv3_cmd_sync(&repl, SMMUV3_SYNC_CS_NONE, 0, 0);
	acc->ill++;
	acc->ill_pos = pos;
	acc->ill_opcode = (uint8_t)(s[0] & 0xFF);
	if (s[0] == repl.dw[0] && s[1] == repl.dw[1]) {
		q->broken = true;
		return;
	}
	note_failed(q, pos);
	put_cmd(q, pos, &repl);
}

static void handle_cmdq_error(struct smmuv3_cmdq *q, struct smmuv3_cmdq_error *acc)
{
	uint32_t cons_reg = rd32(q, SMMUV3_REG_CMDQ_CONS);
	unsigned cerror = (cons_reg >> SMMUV3_CMDQ_CONS_ERR_SHIFT) & SMMUV3_CMDQ_CONS_ERR_MASK;
	uint64_t pos = cons_position(q, cons_reg & wrap_mask(q));

	q->cons = pos;
	if (pos == q->prod) {
		/* Stopped on a command never queued: the registers cannot be trusted. */
		q->broken = true;
		return;
	}
	switch (cerror) {
	case SMMUV3_CERROR_ILL:
		replace_illegal(q, pos, acc);
		break;
	case SMMUV3_CERROR_ABT:
		acc->abt++;
		if (q->abt_repeats && q->abt_pos == pos) {
			if (++q->abt_repeats >= ABT_REPEAT_LIMIT)
				q->broken = true;
		} else {
			q->abt_pos = pos;
			q->abt_repeats = 1;
		}
		break;
	case SMMUV3_CERROR_ATC_INV_SYNC:
		/* The sync is read again and completes: the invalidations it waited for are
		 * over, though not answered. Its batch failed. */
		acc->atc_inv_sync++;
		acc->atc_pos = pos;
		note_failed(q, pos);
		break;
	default:
		acc->unknown++;
		q->broken = true;
		break;
	}
}

/* Handle what GERROR shows for the command queue; what was found is added to *@acc. */
static void handle_faults(struct smmuv3_cmdq *q, struct smmuv3_cmdq_error *acc)
{
	uint32_t gerrorn, active;

	if (!q->plat || !q->ring || q->broken)
		return;
	gerrorn = rd32(q, SMMUV3_REG_GERRORN);
	active = (rd32(q, SMMUV3_REG_GERROR) ^ gerrorn) &
		 (SMMUV3_GERROR_CMDQ_ERR | SMMUV3_GERROR_MSI_CMDQ_ABT);
	if (!active)
		return;
	if (active & SMMUV3_GERROR_CMDQ_ERR)
		handle_cmdq_error(q, acc);
	if (active & SMMUV3_GERROR_MSI_CMDQ_ABT)
		acc->msi_abt++;
	if (q->broken)
		return; /* left stopped: nothing more it runs can be trusted */
	/* The replacement must be in memory before the acknowledge restarts the queue. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr32(q, SMMUV3_REG_GERRORN, gerrorn ^ active);
}

int smmuv3_cmdq_errors(struct smmuv3_cmdq *q, struct smmuv3_cmdq_error *err)
{
	struct smmuv3_cmdq_error e;
	bool any;

	handle_faults(q, &q->unreported);
	e = q->unreported;
	q->unreported = (struct smmuv3_cmdq_error){ 0 };
	any = e.ill || e.abt || e.atc_inv_sync || e.msi_abt || e.unknown;
	if (err)
		*err = e;
	return any ? 1 : 0;
}

/* ---- completion ----------------------------------------------------------------------------- */

static bool msi_done(const struct smmuv3_cmdq *q, uint64_t pos)
{
	uint32_t word;

	if (!q->msi)
		return false;
	word = *q->msi_word;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return (int32_t)(word - msi_value(pos)) >= 0;
}

int smmuv3_cmdq_poll(struct smmuv3_cmdq *q, const struct smmuv3_sync *ticket)
{
	if (!ticket || ticket->pos >= q->prod || ticket->start > ticket->pos)
		return -PRQD_EINVAL;
	handle_faults(q, &q->unreported);
	if (ticket->pos >= q->cons && !msi_done(q, ticket->pos))
		smmuv3_cmdq_read_cons(q);
	if (ticket->pos < q->cons || msi_done(q, ticket->pos))
		return batch_failed(q, ticket) ? -PRQD_EIO : 0;
	if (q->broken)
		return -PRQD_EIO;
	return -PRQD_EINPROGRESS;
}

int smmuv3_cmdq_wait(struct smmuv3_cmdq *q, const struct smmuv3_sync *ticket,
		     uint64_t timeout_ns)
{
	const struct prqd_platform *p = q->plat;
	uint64_t start = p->now_ns(p->user);

	for (;;) {
		int rc = smmuv3_cmdq_poll(q, ticket);

		if (rc != -PRQD_EINPROGRESS)
			return rc;
		if (p->now_ns(p->user) - start > timeout_ns)
			return -PRQD_ETIMEDOUT;
		if (p->relax)
			p->relax(p->user);
	}
}
