/* SPDX-License-Identifier: MIT */
/*
 * A register-level model of an Arm SMMUv3, as far as page requests go: what the "smmuv3"
 * backend drives through the platform's register window and DMA memory, in place of the
 * abstract IOMMU (sim-iommu.c). Facts: ../shared/reference/pri-facts.md §2 and §4.2.
 *
 *  - Registers: IDR0 (PRI, ATS, MSI, SEV, STALL_MODEL as configured), IDR1 (queue size
 *    maxima, 16-bit StreamIDs, 20-bit SubstreamIDs), IDR3.PPS, IDR5, CR0 with CR0ACK
 *    mirroring the enables at once (SMMUEN starts as the host's IOMMU driver left it,
 *    cfg.smmuen: translation is not the library's), CR1/CR2/IRQ_CTRL kept as written (IRQ_CTRLACK mirrors),
 *    GERROR/GERRORN (an error is active while the two bits differ), the three queues'
 *    BASE/PROD/CONS (PROD/CONS of the event and PRI queues in register page 1). A queue's
 *    size is 2^LOG2SIZE entries, LOG2SIZE capped at IDR1's maximum; PROD and CONS carry an
 *    index and a wrap bit just above it: empty when both are equal, full when only the wraps
 *    differ. A queue's BASE, and the pointer the SMMU owns, change only while it is disabled.
 *  - The command queue is consumed from CONS to PROD when PROD is written (and whenever
 *    something the queue waits for happens). CMD_SYNC stops consumption until every ATS
 *    invalidation before it was answered; then CONS moves past it and, with CS=IRQ on an SMMU
 *    with MSIs, MSIData is written to MSIAddress. CMD_PRI_RESP goes down to the device with
 *    Arm's Resp mapped to the PCIe code (Success 0b10 -> 0000, Invalid 0b01 -> 0001, Failure
 *    0b00 -> 1111). TLB and configuration invalidations have nothing to do (the model caches
 *    nothing). An unknown opcode, a Secure stream (SSec), the reserved Resp 0b11, or a command
 *    for a feature IDR0 does not report, is CERROR_ILL: CONS stays on the command, its ERR
 *    field says why, GERROR.CMDQ_ERR toggles, and nothing more is consumed until software
 *    acknowledges through GERRORN (it may have replaced the command meanwhile). A command
 *    the model cannot read is CERROR_ABT. An invalidation the device leaves unanswered for
 *    atc_inv_timeout_ns makes the next CMD_SYNC fail with CERROR_ATC_INV_SYNC; after the
 *    acknowledgement that sync runs again and completes.
 *  - The snapshot drain (TLBI + CMD_SYNC, CMD_ATC_INV + CMD_SYNC, then the PRI queue up to
 *    the PROD read after that sync) is sound because of two facts the model keeps: the
 *    device's invalidation completion is posted behind every page request it sent earlier,
 *    so those requests reached the SMMU before the sync could complete; and (with
 *    sync_orders_priq) the sync completes only once every request that arrived before the
 *    completion is in the PRI queue. Without the second rule a request may still be on its
 *    way into the queue when the driver reads PROD, and the checker reports the drain.
 *  - The PRI queue: 16-byte records written at PROD. The queue is full at 2^LOG2SIZE
 *    records (or priq_limit). A request arriving at a full queue toggles PROD.OVFLG; while
 *    OVFLG differs from CONS.OVACKFLG nothing is written and every arriving request is
 *    dropped: one with Last gets an automatic Success (with the request's PASID where
 *    IDR3.PPS or the STE's PPAR says so; Failure without PASID for a PASID request whose STE
 *    is not valid), one without Last nothing, a Stop Marker (Last, R=W=0, PASID) nothing
 *    ever. With PRIQEN or SMMUEN clear, or PRIQ_ABT_ERR active, every request with Last is
 *    answered Response Failure. The checker counts automatic answers like any other, so a
 *    later CMD_PRI_RESP for the same group is a second response.
 *  - The stall model, for platform devices whose stream stalls (sim_dev_cfg.stall): each
 *    faulting transaction is held and gets an STAG; its F_TRANSLATION event record (Stall=1,
 *    STAG, StreamID, SubstreamID with SSV, PnU/InD/RnW, address) is written to the event
 *    queue in arrival order as soon as the queue is enabled and has room (stall records
 *    wait, they are never dropped and never overflow the queue). CMD_RESUME (StreamID,
 *    STAG) ends it: retry (the device's transaction goes on) or abort/terminate; a resume
 *    that matches nothing is ignored by the SMMU but is a second answer for the checker.
 *    CMD_STALL_TERM terminates every transaction of the stream still held. With
 *    STALL_MODEL=1 (terminate only) transactions are terminated at once, and CMD_RESUME /
 *    CMD_STALL_TERM are illegal.
 *
 * Time: commands take no time; the fabric and the devices supply the latencies.
 */
#include "backends/sim/sim-internal.h"
#include "backends/sim/sim-smmuv3-regs.h"

/* StreamIDs are requester IDs: 16 bits; SubstreamIDs are PASIDs: 20 bits. */
#define MODEL_SIDSIZE 16u
#define MODEL_SSIDSIZE 20u
#define MODEL_QS_MAX 19u /* the largest LOG2SIZE Arm allows */

void sim_smmuv3_config_default(struct sim_smmuv3_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->pri = cfg->ats = cfg->msi = cfg->sev = cfg->smmuen = true;
	cfg->stall_model = SMMUM_STALL_AND_TERM;
	cfg->cmdq_max_log2 = cfg->evtq_max_log2 = cfg->priq_max_log2 = 10;
	cfg->ste = SIM_SMMUV3_STE_PPAR_MIRROR;
	cfg->atc_inv_timeout_ns = SIM_SMMUV3_ATC_TIMEOUT_DEFAULT_NS;
	cfg->priq_write_ns = 100;
	cfg->sync_orders_priq = true;
}

static void smmuv3_init(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	memset(s, 0, sizeof(*s));
	sim_smmuv3_config_default(&s->cfg);
	s->cr0 = SMMUM_CR0_SMMUEN; /* as the host's driver left it (cfg.smmuen) */
	s->next_inv_id = 1;
	sim_ring_init(&s->invs, sizeof(struct sim_smmuv3_inv));
	sim_ring_init(&s->arrivals, sizeof(struct sim_vtd_arrival));
}

static void smmuv3_release(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	sim_shadow_free(w, s->shadow);
	s->shadow = NULL;
	sim_mem_free(w, s->stalls, s->cap_stalls * sizeof(*s->stalls));
	s->stalls = NULL;
	sim_ring_free(w, &s->invs);
	sim_ring_free(w, &s->arrivals);
}

static bool log2_fits(uint8_t v)
{
	return v >= 1 && v <= MODEL_QS_MAX;
}

int sim_smmuv3_configure(struct sim_world *w, const struct sim_smmuv3_config *cfg)
{
	if (!w || !cfg || cfg->stall_model > SMMUM_STALL_FORCED ||
	    cfg->ste > SIM_SMMUV3_STE_INVALID || !log2_fits(cfg->cmdq_max_log2) ||
	    !log2_fits(cfg->evtq_max_log2) || !log2_fits(cfg->priq_max_log2))
		return -EINVAL;
	if (w->model == &sim_smmuv3_model)
		return -EBUSY;
	int rc = sim_mmio_model_select(w, sim_smmuv3_model.name);
	if (rc < 0)
		return rc;
	w->smmuv3.cfg = *cfg;
	w->smmuv3.cr0 = cfg->smmuen ? SMMUM_CR0_SMMUEN : 0;
	return 0;
}

bool sim_smmuv3_active(const struct sim_world *w)
{
	return w->model == &sim_smmuv3_model;
}

/* ---- queue arithmetic -------------------------------------------------------------------- */

static unsigned q_log2(const struct sim_smmuv3_queue *q, uint8_t max_log2)
{
	unsigned l = (unsigned)(q->base & SMMUM_Q_BASE_LOG2SIZE_MASK);
	return l > max_log2 ? max_log2 : l;
}

/* Index and wrap bits of a pointer for a queue of 2^@l entries. */
static uint32_t q_ptr(uint32_t reg, unsigned l)
{
	return reg & ((2u << l) - 1);
}

/* Entries between @cons and @prod (0 .. 2^l). */
static uint32_t q_used(uint32_t prod, uint32_t cons, unsigned l)
{
	return (q_ptr(prod, l) - q_ptr(cons, l)) & ((2u << l) - 1);
}

static uint32_t q_index(uint32_t reg, unsigned l)
{
	return reg & ((1u << l) - 1);
}

/* @reg advanced by one entry, its flag bits (above the pointer) kept. */
static uint32_t q_advance(uint32_t reg, unsigned l)
{
	uint32_t mask = (2u << l) - 1;
	return (reg & ~mask) | ((reg + 1) & mask);
}

static uint64_t q_addr(const struct sim_smmuv3_queue *q, uint32_t reg, unsigned l,
		       unsigned entry_size)
{
	return (q->base & SMMUM_Q_BASE_ADDR_MASK) + (uint64_t)q_index(reg, l) * entry_size;
}

static unsigned priq_log2(const struct sim_smmuv3 *s)
{
	return q_log2(&s->priq, s->cfg.priq_max_log2);
}

static unsigned cmdq_log2(const struct sim_smmuv3 *s)
{
	return q_log2(&s->cmdq, s->cfg.cmdq_max_log2);
}

static bool gerror_active(const struct sim_smmuv3 *s, uint32_t bit)
{
	return ((s->gerror ^ s->gerrorn) & bit) != 0;
}

/* Raise a global error unless it is active already (a toggle, as GERROR's bits are). */
static void gerror_raise(struct sim_smmuv3 *s, uint32_t bit)
{
	if (!gerror_active(s, bit))
		s->gerror ^= bit;
}

/* ---- stall model ---------------------------------------------------------------------------- */

/* Write the event records of stalls not recorded yet, in order, while the event queue takes
 * them: a stall record is never lost and never overflows the queue, it waits for room. */
static void evtq_flush(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	const uint32_t on = SMMUM_CR0_SMMUEN | SMMUM_CR0_EVTQEN;
	for (size_t i = 0; i < s->nstalls; i++) {
		struct sim_smmuv3_stall *st = &s->stalls[i];
		if (st->recorded)
			continue;
		unsigned l = q_log2(&s->evtq, s->cfg.evtq_max_log2);
		if ((s->cr0 & on) != on || q_used(s->evtq.prod, s->evtq.cons, l) >= (1u << l))
			return;
		uint64_t rec[4] = { 0, 0, 0, 0 };
		rec[0] = SMMUM_EVT_F_TRANSLATION | (uint64_t)st->sid << SMMUM_EVT0_SID_SHIFT;
		if (st->flags & SIM_RQ_PASID)
			rec[0] |= SMMUM_EVT0_SSV | (uint64_t)st->ssid << SMMUM_EVT0_SSID_SHIFT;
		rec[1] = st->stag | SMMUM_EVT1_STALL;
		rec[1] |= (st->flags & SIM_RQ_PRIV) ? 0 : SMMUM_EVT1_PNU;
		rec[1] |= (st->flags & SIM_RQ_EXEC) ? SMMUM_EVT1_IND : 0;
		rec[1] |= (st->flags & SIM_RQ_WRITE) ? 0 : SMMUM_EVT1_RNW;
		rec[2] = st->addr;
		uint64_t at = q_addr(&s->evtq, s->evtq.prod, l, SMMUM_EVT_SIZE);
		if (!sim_dma_at(w, at, sizeof(rec)))
			return; /* retried when software touches the queue again */
		sim_dma_write(w, at, rec, sizeof(rec));
		st->recorded = true;
		s->evtq.prod = q_advance(s->evtq.prod, l);
	}
}

static bool stag_in_use(const struct sim_smmuv3 *s, uint16_t stag)
{
	for (size_t i = 0; i < s->nstalls; i++)
		if (s->stalls[i].stag == stag)
			return true;
	return false;
}

/* A stalled transaction ends: the device retries it (@retry) or sees it terminated. */
static void stall_end(struct sim_world *w, size_t i, bool retry, bool by_smmu)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	struct sim_smmuv3_stall st = s->stalls[i];
	memmove(&s->stalls[i], &s->stalls[i + 1], (s->nstalls - i - 1) * sizeof(*s->stalls));
	s->nstalls--;
	struct sim_dev *d = st.sid <= 0xFFFF ? sim_dev_route(w, (uint16_t)st.sid) : NULL;
	if (!d)
		return;
	struct sim_down_msg m = { 0 };
	m.kind = SIM_DOWN_RESUME;
	m.rid = (uint16_t)st.sid;
	m.tag = st.tag;
	m.pasid_present = st.flags & SIM_RQ_PASID;
	m.pasid = st.ssid;
	m.code = retry ? 0 : 1;
	m.is_auto = by_smmu;
	sim_fabric_down(d, &m);
}

static void stall_arrive(struct sim_world *w, struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	/* STAGs are opaque to software; the model hands them out in turn, skipping held ones. */
	while (stag_in_use(s, s->next_stag))
		s->next_stag++;
	sim_mem_grow(w, (void **)&s->stalls, &s->cap_stalls, s->nstalls + 1, sizeof(*s->stalls));
	struct sim_smmuv3_stall *st = &s->stalls[s->nstalls++];
	memset(st, 0, sizeof(*st));
	st->tag = m->tag;
	st->addr = m->addr;
	st->sid = d->cfg.rid;
	st->ssid = m->pasid;
	st->flags = m->flags;
	st->stag = s->next_stag++;
	if (s->cfg.stall_model == SMMUM_STALL_TERM_ONLY) {
		/* An SMMU without stalls terminates the transaction at once. */
		stall_end(w, s->nstalls - 1, false, true);
		return;
	}
	evtq_flush(w);
}

/* CMD_RESUME: the stalled transaction (StreamID, STAG) is retried or terminated. */
static void resume(struct sim_world *w, const uint64_t *cmd)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	uint32_t sid = (uint32_t)(cmd[0] >> SMMUM_CMD_SID_SHIFT);
	uint16_t stag = (uint16_t)(cmd[1] & SMMUM_RESUME_STAG_MASK);
	unsigned action = (unsigned)(cmd[0] >> SMMUM_RESUME_ACTION_SHIFT) & 3;
	for (size_t i = 0; i < s->nstalls; i++) {
		if (s->stalls[i].sid == sid && s->stalls[i].stag == stag && s->stalls[i].recorded) {
			stall_end(w, i, action == SMMUM_RESUME_RETRY, false);
			return;
		}
	}
	/* The SMMU ignores it; for software it means a stall ended twice (or never was). */
	sim_chk_violation(w, SIM_V_DOUBLE_RESPONSE, (uint16_t)sid, PRQD_NO_PASID, 0,
			  "CMD_RESUME for StreamID %x STAG %x: no transaction stalled", sid, stag);
}

/* CMD_STALL_TERM: every transaction of the stream still stalled is terminated. */
static void stall_term(struct sim_world *w, const uint64_t *cmd)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	uint32_t sid = (uint32_t)(cmd[0] >> SMMUM_CMD_SID_SHIFT);
	for (size_t i = s->nstalls; i-- > 0;)
		if (s->stalls[i].sid == sid)
			stall_end(w, i, false, true);
}

/* ---- command queue ------------------------------------------------------------------------ */

static void atc_timeout(struct sim_world *w, void *arg, uint64_t id);

static struct sim_smmuv3_inv *inv_find(struct sim_smmuv3 *s, uint64_t id)
{
	for (size_t i = 0; i < s->invs.len; i++) {
		struct sim_smmuv3_inv *inv = sim_ring_at(&s->invs, i);
		if (inv->id == id)
			return inv;
	}
	return NULL;
}

static void send_atc_inv(struct sim_world *w, const uint64_t *cmd)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	uint32_t sid = (uint32_t)(cmd[0] >> SMMUM_CMD_SID_SHIFT);
	struct sim_smmuv3_inv *inv = sim_ring_push(w, &s->invs);
	memset(inv, 0, sizeof(*inv));
	inv->id = s->next_inv_id++;
	inv->sid = sid;
	uint64_t id = inv->id;
	/* A function that is gone (or never was) never answers: only the time-out ends it. */
	struct sim_dev *d = sid <= 0xFFFF ? sim_dev_route(w, (uint16_t)sid) : NULL;
	if (d) {
		struct sim_down_msg m = { 0 };
		m.kind = SIM_DOWN_INV;
		m.rid = (uint16_t)sid;
		m.pasid_present = cmd[0] & SMMUM_CMD_SSV;
		m.pasid = (uint32_t)((cmd[0] >> SMMUM_CMD_SSID_SHIFT) & SMMUM_CMD_SSID_MASK);
		m.drain_id = id;
		sim_fabric_down(d, &m);
	}
	if (s->cfg.atc_inv_timeout_ns)
		sim_schedule_or_die(w, w->now + s->cfg.atc_inv_timeout_ns, atc_timeout, NULL, id);
}

/* Arm's CMD_PRI_RESP.Resp as the PCIe PRG Response code on the wire. */
static uint8_t wire_code(unsigned resp)
{
	switch (resp) {
	case SMMUM_RESP_SUCCESS: return SIM_RC_SUCCESS;
	case SMMUM_RESP_INVALID: return SIM_RC_INVALID;
	default: return SIM_RC_FAILURE;
	}
}

static void send_pri_resp(struct sim_world *w, const uint64_t *cmd)
{
	uint32_t sid = (uint32_t)(cmd[0] >> SMMUM_CMD_SID_SHIFT);
	struct sim_down_msg m = { 0 };
	m.kind = SIM_DOWN_RESP;
	m.rid = (uint16_t)sid;
	m.pasid_present = cmd[0] & SMMUM_CMD_SSV;
	m.pasid = (uint32_t)((cmd[0] >> SMMUM_CMD_SSID_SHIFT) & SMMUM_CMD_SSID_MASK);
	m.prg_index = (uint16_t)(cmd[1] & SMMUM_PRI_RESP_PRGI_MASK);
	m.code = wire_code((unsigned)(cmd[1] >> SMMUM_PRI_RESP_SHIFT) & 3);
	m.tag = 0; /* the command names the group by index, as the wire does */
	struct sim_dev *d = sid <= 0xFFFF ? sim_dev_route(w, (uint16_t)sid) : NULL;
	if (!d) {
		sim_chk_violation(w, SIM_V_WRONG_TARGET, m.rid,
				  m.pasid_present ? m.pasid : PRQD_NO_PASID, m.prg_index,
				  "CMD_PRI_RESP to StreamID %x with no device", sid);
		return;
	}
	sim_fabric_down(d, &m);
}

/* Does the SMMU accept the command? CERROR_NONE or the error it stops on. */
static unsigned cmd_error(const struct sim_smmuv3 *s, const uint64_t *cmd)
{
	const struct sim_smmuv3_config *c = &s->cfg;
	unsigned op = (unsigned)(cmd[0] & 0xFF);
	switch (op) {
	case SMMUM_OP_PREFETCH_CONFIG:
	case SMMUM_OP_PREFETCH_ADDR:
	case SMMUM_OP_CFGI_STE:
	case SMMUM_OP_CFGI_ALL:
	case SMMUM_OP_CFGI_CD:
	case SMMUM_OP_CFGI_CD_ALL:
		return (cmd[0] & SMMUM_CMD_SSEC) ? SMMUM_CERROR_ILL : SMMUM_CERROR_NONE;
	case SMMUM_OP_TLBI_NH_ALL:
	case SMMUM_OP_TLBI_NH_ASID:
	case SMMUM_OP_TLBI_NH_VA:
	case SMMUM_OP_TLBI_EL2_ALL:
	case SMMUM_OP_TLBI_EL2_ASID:
	case SMMUM_OP_TLBI_EL2_VA:
	case SMMUM_OP_TLBI_S12_VMALL:
	case SMMUM_OP_TLBI_S2_IPA:
	case SMMUM_OP_TLBI_NSNH_ALL:
	case SMMUM_OP_SYNC:
		return SMMUM_CERROR_NONE;
	case SMMUM_OP_ATC_INV:
		if (!c->ats || (cmd[0] & SMMUM_CMD_SSEC))
			return SMMUM_CERROR_ILL;
		return SMMUM_CERROR_NONE;
	case SMMUM_OP_PRI_RESP:
		if (!c->pri || (cmd[0] & SMMUM_CMD_SSEC) ||
		    ((cmd[1] >> SMMUM_PRI_RESP_SHIFT) & 3) == SMMUM_RESP_RESERVED)
			return SMMUM_CERROR_ILL;
		return SMMUM_CERROR_NONE;
	case SMMUM_OP_RESUME:
	case SMMUM_OP_STALL_TERM:
		if (c->stall_model == SMMUM_STALL_TERM_ONLY || (cmd[0] & SMMUM_CMD_SSEC))
			return SMMUM_CERROR_ILL;
		return SMMUM_CERROR_NONE;
	default:
		return SMMUM_CERROR_ILL;
	}
}

/* Stop the queue on the command at CONS. */
static void cmdq_stop(struct sim_smmuv3 *s, unsigned cerror)
{
	s->cmdq.cons = (s->cmdq.cons & ~SMMUM_CMDQ_CONS_ERR_MASK) |
		       ((uint32_t)cerror << SMMUM_CMDQ_CONS_ERR_SHIFT);
	gerror_raise(s, SMMUM_GERROR_CMDQ_ERR);
}

/* The invalidations the sync at CONS waits for are answered (true), and which timed out. */
static bool invs_answered(struct sim_smmuv3 *s, bool *timed_out)
{
	*timed_out = false;
	for (size_t i = 0; i < s->invs.len; i++) {
		const struct sim_smmuv3_inv *inv = sim_ring_at(&s->invs, i);
		if (!inv->done)
			return false;
		if (inv->timed_out)
			*timed_out = true;
	}
	return true;
}

static bool arrivals_before(const struct sim_smmuv3 *s, uint64_t cut_ns)
{
	if (!s->arrivals.len)
		return false;
	const struct sim_vtd_arrival *a = sim_ring_at(&s->arrivals, 0);
	return a->arrive_ns <= cut_ns;
}

/* The CMD_SYNC at CONS: true once it completed (CONS may move on). */
static bool sync_complete(struct sim_world *w, const uint64_t *cmd)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	if (!s->sync_ready) {
		bool timed_out;
		if (!invs_answered(s, &timed_out))
			return false;
		if (timed_out) {
			/* The invalidations are over (failed): the sync runs again after the
			 * acknowledgement and then completes. */
			sim_ring_clear(&s->invs);
			if (s->sync_has_inv)
				s->stats.drains_failed++;
			s->sync_has_inv = false;
			cmdq_stop(s, SMMUM_CERROR_ATC_INV_SYNC);
			return false;
		}
		s->sync_ready = true;
		s->sync_ready_ns = w->now;
	}
	if (s->cfg.sync_orders_priq && arrivals_before(s, s->sync_ready_ns))
		return false;
	s->sync_ready = false;
	sim_ring_clear(&s->invs);
	if (s->sync_has_inv)
		s->stats.drains_completed++;
	s->sync_has_inv = false;
	unsigned cs = (unsigned)(cmd[0] >> SMMUM_SYNC_CS_SHIFT) & 3;
	if (cs == SMMUM_SYNC_CS_IRQ && s->cfg.msi) {
		uint32_t data = (uint32_t)(cmd[0] >> 32);
		sim_dma_write(w, cmd[1] & SMMUM_SYNC_MSIADDR_MASK, &data, sizeof(data));
	}
	return true;
}

/* Consume commands until the queue is empty or something holds it. */
static void cmdq_progress(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	for (;;) {
		if (!(s->cr0 & SMMUM_CR0_CMDQEN) || gerror_active(s, SMMUM_GERROR_CMDQ_ERR))
			return;
		unsigned l = cmdq_log2(s);
		if (!q_used(s->cmdq.prod, s->cmdq.cons, l))
			return;
		uint64_t cmd[2];
		uint64_t at = q_addr(&s->cmdq, s->cmdq.cons, l, SMMUM_CMD_SIZE);
		if (!sim_dma_read(w, at, cmd, 2)) {
			cmdq_stop(s, SMMUM_CERROR_ABT);
			return;
		}
		unsigned cerror = cmd_error(s, cmd);
		if (cerror != SMMUM_CERROR_NONE) {
			cmdq_stop(s, cerror);
			return;
		}
		switch (cmd[0] & 0xFF) {
		case SMMUM_OP_SYNC:
			if (!sync_complete(w, cmd))
				return;
			break;
		case SMMUM_OP_ATC_INV:
			if (!s->sync_has_inv)
				s->stats.drains_started++;
			s->sync_has_inv = true;
			send_atc_inv(w, cmd);
			break;
		case SMMUM_OP_PRI_RESP:
			send_pri_resp(w, cmd);
			break;
		case SMMUM_OP_RESUME:
			resume(w, cmd);
			break;
		case SMMUM_OP_STALL_TERM:
			stall_term(w, cmd);
			break;
		default:
			break; /* nothing cached, nothing stalled: nothing to do */
		}
		s->cmdq.cons = q_advance(s->cmdq.cons, l);
	}
}

static void atc_timeout(struct sim_world *w, void *arg, uint64_t id)
{
	(void)arg;
	struct sim_smmuv3_inv *inv = inv_find(&w->smmuv3, id);
	if (!inv || inv->done)
		return;
	inv->done = true; /* a late completion changes nothing */
	inv->timed_out = true;
	cmdq_progress(w);
}

/* ---- PRI queue ------------------------------------------------------------------------------ */

static bool priq_overflowed(const struct sim_smmuv3 *s)
{
	return ((s->priq.prod ^ s->priq.cons) & SMMUM_Q_OVF) != 0;
}

/* The SMMU's own PRG response to a dropped request with Last. */
static void auto_respond(struct sim_world *w, const struct sim_vtd_arrival *a, bool success)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	struct sim_dev *d = sim_dev_route(w, a->rid);
	if (!d)
		return;
	uint8_t code = success ? SIM_RC_SUCCESS : SIM_RC_FAILURE;
	bool pasid_present = false;
	if (success && (a->m.flags & SIM_RQ_PASID)) {
		/* §8.1: IDR3.PPS carries the request's PASID always; otherwise a valid STE's PPAR
		 * decides; without a valid STE the answer is Failure without PASID. */
		bool ppar = s->cfg.ste == SIM_SMMUV3_STE_PPAR_MIRROR && d->cfg.prg_resp_pasid_required;
		if (!s->cfg.pps && s->cfg.ste == SIM_SMMUV3_STE_INVALID)
			code = SIM_RC_FAILURE;
		else if (s->cfg.pps || ppar)
			pasid_present = true;
	}
	s->stats.auto_responses++;
	sim_fabric_auto_respond(d, &a->m, code, pasid_present);
}

static void priq_record(const struct sim_vtd_arrival *a, uint64_t *rec)
{
	const struct sim_up_msg *m = &a->m;
	bool ssv = m->flags & SIM_RQ_PASID;
	rec[0] = (uint64_t)a->rid;
	if (ssv) {
		/* Without a PASID prefix Exec and Priv are 0. */
		rec[0] |= SMMUM_PRIQ0_SSV | (uint64_t)(m->pasid & SMMUM_CMD_SSID_MASK)
						    << SMMUM_PRIQ0_SSID_SHIFT;
		rec[0] |= (m->flags & SIM_RQ_PRIV) ? SMMUM_PRIQ0_PRIV : 0;
		rec[0] |= (m->flags & SIM_RQ_EXEC) ? SMMUM_PRIQ0_EXEC : 0;
	}
	rec[0] |= (m->flags & SIM_RQ_READ) ? SMMUM_PRIQ0_READ : 0;
	rec[0] |= (m->flags & SIM_RQ_WRITE) ? SMMUM_PRIQ0_WRITE : 0;
	rec[0] |= (m->flags & SIM_RQ_LAST) ? SMMUM_PRIQ0_LAST : 0;
	rec[1] = (m->prg_index & SMMUM_PRIQ1_PRGI_MASK) | (m->addr & SMMUM_PRIQ1_ADDR_MASK);
}

/* Requests the SMMU answers itself with Failure, writing nothing (§8.2). */
static bool priq_refuses(const struct sim_smmuv3 *s)
{
	return !s->cfg.pri || (s->cr0 & (SMMUM_CR0_SMMUEN | SMMUM_CR0_PRIQEN)) !=
				      (SMMUM_CR0_SMMUEN | SMMUM_CR0_PRIQEN) ||
	       gerror_active(s, SMMUM_GERROR_PRIQ_ABT_ERR);
}

/* The oldest arrival's record is due: write it, or drop it. */
static void priq_write(struct sim_world *w, void *arg, uint64_t unused)
{
	(void)arg;
	(void)unused;
	struct sim_smmuv3 *s = &w->smmuv3;
	if (!s->arrivals.len)
		return;
	struct sim_vtd_arrival a = *(struct sim_vtd_arrival *)sim_ring_at(&s->arrivals, 0);
	sim_ring_pop(&s->arrivals);
	bool last = a.m.flags & SIM_RQ_LAST;
	bool marker = sim_up_is_stop_marker(&a.m);

	if (priq_refuses(s)) {
		if (last && !marker)
			auto_respond(w, &a, false);
		cmdq_progress(w);
		return;
	}
	unsigned l = priq_log2(s);
	uint32_t room = 1u << l;
	if (s->cfg.priq_limit && s->cfg.priq_limit < room)
		room = s->cfg.priq_limit;
	if (priq_overflowed(s) || q_used(s->priq.prod, s->priq.cons, l) >= room) {
		if (!priq_overflowed(s)) {
			s->priq.prod ^= SMMUM_Q_OVF;
			s->stats.overflows++;
		}
		s->stats.dropped_overflow++;
		if (last && !marker)
			auto_respond(w, &a, true);
		cmdq_progress(w);
		return;
	}
	uint64_t rec[2];
	priq_record(&a, rec);
	uint64_t at = q_addr(&s->priq, s->priq.prod, l, SMMUM_PRI_SIZE);
	if (!sim_dma_at(w, at, sizeof(rec))) {
		/* An abort writing the record: the request is answered Failure. */
		gerror_raise(s, SMMUM_GERROR_PRIQ_ABT_ERR);
		if (last && !marker)
			auto_respond(w, &a, false);
		cmdq_progress(w);
		return;
	}
	sim_dma_write(w, at, rec, sizeof(rec));
	sim_shadow_record(s->shadow, s->priq_seq, &a.m);
	s->priq_seq++;
	s->priq.prod = q_advance(s->priq.prod, l);
	s->stats.enqueued++;
	uint32_t depth = q_used(s->priq.prod, s->priq.cons, l);
	if (depth > s->stats.queue_high_water)
		s->stats.queue_high_water = depth;
	cmdq_progress(w); /* a sync may have been waiting for this record */
}

static void smmuv3_receive(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_world *w = d->w;
	struct sim_smmuv3 *s = &w->smmuv3;
	if (m->kind == SIM_UP_INV_DONE) {
		struct sim_smmuv3_inv *inv = inv_find(s, m->drain_id);
		if (inv && !inv->done) {
			inv->done = true;
			cmdq_progress(w);
		}
		return;
	}
	if (m->kind == SIM_UP_STALL) {
		stall_arrive(w, d, m);
		return;
	}
	struct sim_vtd_arrival *a = sim_ring_push(w, &s->arrivals);
	a->m = *m;
	a->arrive_ns = w->now;
	a->rid = d->cfg.rid;
	/* Every arrival takes the same time, so the events pop the FIFO in order. */
	sim_schedule_or_die(w, w->now + s->cfg.priq_write_ns, priq_write, NULL, 0);
}

static void smmuv3_overflow_now(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	if (!priq_refuses(s) && !priq_overflowed(s)) {
		s->priq.prod ^= SMMUM_Q_OVF;
		s->stats.overflows++;
	}
}

static void smmuv3_stats(const struct sim_world *w, struct sim_iommu_stats *out)
{
	const struct sim_smmuv3 *s = &w->smmuv3;
	*out = s->stats;
	out->queue_depth = s->priq.base ? q_used(s->priq.prod, s->priq.cons, priq_log2(s)) : 0;
}

static uint64_t smmuv3_request_tag(const struct sim_world *w, uint64_t backend_tag)
{
	return sim_shadow_tag(w->smmuv3.shadow, w->smmuv3.priq_seq, backend_tag);
}

static void smmuv3_each_queued(const struct sim_world *w, sim_queued_fn fn, void *arg)
{
	const struct sim_smmuv3 *s = &w->smmuv3;
	if (s->priq.base && s->shadow) {
		unsigned l = priq_log2(s);
		uint32_t n = q_used(s->priq.prod, s->priq.cons, l);
		uint32_t at = s->priq.cons;
		for (uint32_t k = 0; k < n; k++, at = q_advance(at, l)) {
			uint64_t rec0;
			if (!sim_dma_read64(w, q_addr(&s->priq, at, l, SMMUM_PRI_SIZE), &rec0))
				break;
			const struct sim_vtd_shadow *sh =
				sim_shadow_find(s->shadow, s->priq_seq, s->priq_seq - n + k);
			fn(arg, (uint16_t)rec0, (rec0 & SMMUM_PRIQ0_SSV) != 0,
			   (uint32_t)(rec0 >> SMMUM_PRIQ0_SSID_SHIFT) & SMMUM_CMD_SSID_MASK,
			   sh ? sh->tag : 0, sh ? sh->issue_ns : 0);
		}
	}
	sim_arrivals_each(&s->arrivals, fn, arg);
}

/* ---- registers ------------------------------------------------------------------------------ */

static void smmuv3_attach(struct sim_world *w)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	s->shadow = sim_shadow_new(w);
}

static uint32_t idr0_value(const struct sim_smmuv3_config *c)
{
	return SMMUM_IDR0_S1P | SMMUM_IDR0_TTF_AARCH64 | SMMUM_IDR0_COHACC | SMMUM_IDR0_ASID16 |
	       (c->ats ? SMMUM_IDR0_ATS : 0) | (c->msi ? SMMUM_IDR0_MSI : 0) |
	       (c->sev ? SMMUM_IDR0_SEV : 0) | (c->pri ? SMMUM_IDR0_PRI : 0) |
	       (uint32_t)c->stall_model << SMMUM_IDR0_STALL_MODEL_SHIFT;
}

static uint32_t idr1_value(const struct sim_smmuv3_config *c)
{
	return MODEL_SIDSIZE << SMMUM_IDR1_SIDSIZE_SHIFT |
	       MODEL_SSIDSIZE << SMMUM_IDR1_SSIDSIZE_SHIFT |
	       (uint32_t)c->priq_max_log2 << SMMUM_IDR1_PRIQS_SHIFT |
	       (uint32_t)c->evtq_max_log2 << SMMUM_IDR1_EVTQS_SHIFT |
	       (uint32_t)c->cmdq_max_log2 << SMMUM_IDR1_CMDQS_SHIFT;
}

static uint64_t smmuv3_read64(struct sim_world *w, uint64_t off);
static void smmuv3_write32(struct sim_world *w, uint64_t off, uint32_t val);

/* Is @off within one of the 64-bit registers (read and written in 32-bit halves too)? */
static bool wide_register(uint64_t off)
{
	switch (off & ~7ull) {
	case SMMUM_STRTAB_BASE:
	case SMMUM_CMDQ_BASE:
	case SMMUM_EVTQ_BASE:
	case SMMUM_PRIQ_BASE:
	case SMMUM_PRIQ_IRQ_CFG0:
		return true;
	default:
		return false;
	}
}

static uint32_t smmuv3_read32(struct sim_world *w, uint64_t off)
{
	const struct sim_smmuv3 *s = &w->smmuv3;
	switch (off) {
	case SMMUM_IDR0: return idr0_value(&s->cfg);
	case SMMUM_IDR1: return idr1_value(&s->cfg);
	case SMMUM_IDR3: return s->cfg.pps ? SMMUM_IDR3_PPS : 0;
	case SMMUM_IDR5: return SMMUM_IDR5_OAS_48 | SMMUM_IDR5_GRAN4K;
	case SMMUM_CR0: return s->cr0;
	case SMMUM_CR0ACK: return s->cr0; /* the model takes every enable at once */
	case SMMUM_CR1: return s->cr1;
	case SMMUM_CR2: return s->cr2;
	case SMMUM_IRQ_CTRL: return s->irq_ctrl;
	case SMMUM_IRQ_CTRLACK: return s->irq_ctrl;
	case SMMUM_GERROR: return s->gerror;
	case SMMUM_GERRORN: return s->gerrorn;
	case SMMUM_STRTAB_BASE_CFG: return s->strtab_base_cfg;
	case SMMUM_CMDQ_PROD: return s->cmdq.prod;
	case SMMUM_CMDQ_CONS: return s->cmdq.cons;
	case SMMUM_EVTQ_PROD: return s->evtq.prod;
	case SMMUM_EVTQ_CONS: return s->evtq.cons;
	case SMMUM_PRIQ_PROD: return s->priq.prod;
	case SMMUM_PRIQ_CONS: return s->priq.cons;
	case SMMUM_PRIQ_IRQ_CFG1: return s->priq_irq_cfg1;
	case SMMUM_PRIQ_IRQ_CFG2: return s->priq_irq_cfg2;
	default:
		break;
	}
	if (wide_register(off))
		return (uint32_t)(smmuv3_read64(w, off & ~7ull) >> ((off & 4) * 8));
	return 0; /* reserved or not modelled: reads as zero */
}

static uint64_t smmuv3_read64(struct sim_world *w, uint64_t off)
{
	const struct sim_smmuv3 *s = &w->smmuv3;
	switch (off) {
	case SMMUM_STRTAB_BASE: return s->strtab_base;
	case SMMUM_CMDQ_BASE: return s->cmdq.base;
	case SMMUM_EVTQ_BASE: return s->evtq.base;
	case SMMUM_PRIQ_BASE: return s->priq.base;
	case SMMUM_PRIQ_IRQ_CFG0: return s->priq_irq_cfg0;
	default:
		return (uint64_t)smmuv3_read32(w, off) |
		       (uint64_t)smmuv3_read32(w, off + 4) << 32;
	}
}

static void write_cr0(struct sim_world *w, uint32_t val)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	val &= SMMUM_CR0_MASK;
	if (!s->cfg.pri)
		val &= ~SMMUM_CR0_PRIQEN;
	s->cr0 = val;
	cmdq_progress(w);
	evtq_flush(w);
}

/* A queue's BASE is programmed only while the queue is off. */
static void write_base(struct sim_smmuv3 *s, struct sim_smmuv3_queue *q, uint32_t enable,
		       uint64_t val)
{
	if (s->cr0 & enable)
		return;
	q->base = val & (SMMUM_Q_BASE_ADDR_MASK | SMMUM_Q_BASE_LOG2SIZE_MASK | (1ull << 62));
}

/* A pointer register: the pointer bits of its queue, plus @flags. */
static uint32_t ptr_value(uint32_t val, unsigned l, uint32_t flags)
{
	return q_ptr(val, l) | (val & flags);
}

static void smmuv3_write64(struct sim_world *w, uint64_t off, uint64_t val)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	switch (off) {
	case SMMUM_STRTAB_BASE:
		if (!(s->cr0 & SMMUM_CR0_SMMUEN))
			s->strtab_base = val;
		return;
	case SMMUM_CMDQ_BASE:
		write_base(s, &s->cmdq, SMMUM_CR0_CMDQEN, val);
		return;
	case SMMUM_EVTQ_BASE:
		write_base(s, &s->evtq, SMMUM_CR0_EVTQEN, val);
		return;
	case SMMUM_PRIQ_BASE:
		if (s->cr0 & SMMUM_CR0_PRIQEN)
			return;
		write_base(s, &s->priq, SMMUM_CR0_PRIQEN, val);
		s->priq_seq = 0; /* positions count from the queue's setup */
		return;
	case SMMUM_PRIQ_IRQ_CFG0:
		s->priq_irq_cfg0 = val;
		return;
	default:
		smmuv3_write32(w, off, (uint32_t)val);
		smmuv3_write32(w, off + 4, (uint32_t)(val >> 32));
		return;
	}
}

static void smmuv3_write32(struct sim_world *w, uint64_t off, uint32_t val)
{
	struct sim_smmuv3 *s = &w->smmuv3;
	switch (off) {
	case SMMUM_CR0:
		write_cr0(w, val);
		return;
	case SMMUM_CR1: s->cr1 = val; return;
	case SMMUM_CR2: s->cr2 = val; return;
	case SMMUM_IRQ_CTRL: s->irq_ctrl = val & SMMUM_IRQ_MASK; return;
	case SMMUM_GERRORN: {
		bool cmdq_was_stopped = gerror_active(s, SMMUM_GERROR_CMDQ_ERR);
		s->gerrorn = val;
		/* An acknowledged command error lets the queue go on from CONS. */
		if (cmdq_was_stopped && !gerror_active(s, SMMUM_GERROR_CMDQ_ERR))
			cmdq_progress(w);
		return;
	}
	case SMMUM_STRTAB_BASE_CFG:
		if (!(s->cr0 & SMMUM_CR0_SMMUEN))
			s->strtab_base_cfg = val;
		return;
	case SMMUM_CMDQ_PROD:
		s->cmdq.prod = ptr_value(val, cmdq_log2(s), 0);
		cmdq_progress(w);
		return;
	case SMMUM_CMDQ_CONS:
		if (!(s->cr0 & SMMUM_CR0_CMDQEN))
			s->cmdq.cons = ptr_value(val, cmdq_log2(s), SMMUM_CMDQ_CONS_ERR_MASK);
		return;
	case SMMUM_EVTQ_PROD:
		if (!(s->cr0 & SMMUM_CR0_EVTQEN))
			s->evtq.prod = ptr_value(val, q_log2(&s->evtq, s->cfg.evtq_max_log2),
						 SMMUM_Q_OVF);
		return;
	case SMMUM_EVTQ_CONS:
		s->evtq.cons = ptr_value(val, q_log2(&s->evtq, s->cfg.evtq_max_log2), SMMUM_Q_OVF);
		evtq_flush(w); /* room for stall records that waited */
		return;
	case SMMUM_PRIQ_PROD:
		if (!(s->cr0 & SMMUM_CR0_PRIQEN))
			s->priq.prod = ptr_value(val, priq_log2(s), SMMUM_Q_OVF);
		return;
	case SMMUM_PRIQ_CONS:
		s->priq.cons = ptr_value(val, priq_log2(s), SMMUM_Q_OVF);
		return;
	case SMMUM_PRIQ_IRQ_CFG1: s->priq_irq_cfg1 = val; return;
	case SMMUM_PRIQ_IRQ_CFG2: s->priq_irq_cfg2 = val; return;
	default:
		break;
	}
	if (wide_register(off)) {
		/* One half of a 64-bit register: the other half stays. */
		uint64_t cur = smmuv3_read64(w, off & ~7ull);
		unsigned shift = (unsigned)(off & 4) * 8;
		cur = (cur & ~(0xFFFFFFFFull << shift)) | (uint64_t)val << shift;
		smmuv3_write64(w, off & ~7ull, cur);
	}
	/* Anything else is read-only, reserved or not modelled. */
}

const struct sim_iommu_model sim_smmuv3_model = {
	.name = "smmuv3",
	.init = smmuv3_init,
	.release = smmuv3_release,
	.attach = smmuv3_attach,
	.receive = smmuv3_receive,
	.overflow_now = smmuv3_overflow_now,
	.stats = smmuv3_stats,
	.request_tag = smmuv3_request_tag,
	.each_queued = smmuv3_each_queued,
	.read32 = smmuv3_read32,
	.read64 = smmuv3_read64,
	.write32 = smmuv3_write32,
	.write64 = smmuv3_write64,
};
