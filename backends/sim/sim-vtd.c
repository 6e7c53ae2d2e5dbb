/* SPDX-License-Identifier: MIT */
/*
 * A register-level model of an Intel VT-d remapping unit, as far as page requests go: what
 * the "vtd" backend drives through the platform's register window and DMA memory, in place
 * of the abstract IOMMU (sim-iommu.c). Facts: ../shared/reference/pri-facts.md §1.
 *
 *  - Registers: VER, CAP, ECAP (QI, DT, PRS, PASID, PDS, SMTS as configured), GCMD/GSTS.QIE,
 *    FSTS (IQE, ITE, ICE; write 1 to clear), IQH/IQT/IQA, ICS.IWC, IQER (IQEI, ITESID),
 *    PQH/PQT/PQA, PRS (PPR, PRO; write 1 to clear), PECTL.
 *  - The invalidation queue is processed when IQT is written, descriptor by descriptor:
 *    reserved bits and unknown types raise IQE with IQH left on the bad descriptor (the page-
 *    drain bit is reserved without ECAP.PDS; a wait with neither status write nor interrupt
 *    is refused, as QEMU 7.2 refuses it); processing resumes when software clears IQE and
 *    writes IQT again. IOTLB invalidations have nothing to do (the model caches no
 *    translations). Device-TLB invalidations go down to the device over the fabric; a wait
 *    completes when every device-TLB invalidation before it was answered, and a fence wait
 *    also holds back every descriptor after it until then. A device that does not answer
 *    within ite_timeout_ns raises ITE (IQER.ITESID = its source-id): the waits already
 *    fetched are aborted without their status write and nothing more is fetched until
 *    software clears ITE.
 *  - Page-drain: a wait with PD completes only once every page request that reached the
 *    unit before the wait's other conditions held is in the queue. Requests enter the unit
 *    prq_write_ns before their entry is written, and the device's invalidation completion,
 *    posted behind its earlier requests, arrives after them: so the drain wait covers
 *    everything the device sent before it answered the invalidation.
 *  - The page request queue: 32-byte entries written at PQT; PPR set on every write. A full
 *    queue (or queue_limit entries) sets PRO; while PRO is set every arriving request is
 *    dropped, and a dropped Last request (not a Stop Marker) gets the configured automatic
 *    response. Software clears PRO once it has emptied the queue.
 *  - Page group responses (type 9) go down to the device with their RC as the PCIe wire
 *    code (VT-d's RC values are PCIe's).
 *  - PASID entries: the embedder (the world's platform, pasid_entry_set_present) clears or
 *    restores an entry's Present bit in memory; the unit keeps using its cached copy until
 *    a PASID-cache invalidation (type 7: domain, PASID or global granularity; the model has
 *    one domain, and the entry serving requests without PASID is PASID 0's, Linux's
 *    RID_PASID). A page request whose cached entry is not present never reaches the queue:
 *    a group's Last request is answered Invalid Request by the unit, other requests and
 *    Stop Markers are dropped (UNCONFIRMED against the VT-d text, which we could not read:
 *    a request Linux finds no domain for is answered Invalid too, pri-facts.md §1.7).
 *  - The order Linux adopted in 2026 (peers.md §11) is enforced: once an entry is cleared in
 *    memory, an IOTLB or device-TLB invalidation of it, or a page-drain wait behind the
 *    device-TLB invalidation of it, before the PASID-cache invalidation is a protocol
 *    violation (the unit may still be using the entry the driver thinks is gone).
 *
 * Time: descriptors take no time; the fabric and the devices supply the latencies.
 */
#include "backends/sim/sim-internal.h"
#include "backends/sim/sim-vtd-regs.h"

#define VTDM_MODEL_VER 0x60u /* version 6.0 */
/* CAP: DRD and DWD (bits 55 and 54), as every current unit reports them. */
#define VTDM_MODEL_CAP ((1ull << 55) | (1ull << 54))

/* Descriptor fields (pri-facts.md §1.3). */
#define DESC_TYPE(qw0) ((unsigned)((qw0)&0xF))
#define DESC_TYPE_HI(qw0) (((qw0) >> 9) & 0x7) /* newer specs' upper type bits: zero here */
#define WAIT_RSVD0 0xFFFFFF00ull               /* [31:8]; bit 7 (PD) too without PDS */
#define WAIT_RSVD1 0x3ull
#define PIOTLB_RSVD0 0xFFF000000000FFC0ull
#define PIOTLB_RSVD1 0xF80ull
#define IOTLB_RSVD0 0xFFFFFFFF0000FF00ull
#define IOTLB_RSVD1 0xF80ull
#define DEVTLB_RSVD0 0x000F0000FFE00FF0ull
#define DEVTLB_RSVD1 0xFFEull
#define PDEVTLB_RSVD0 0x0000000000000E00ull
#define PDEVTLB_RSVD1 0x7FEull
#define PGRP_RSVD0 0xFFF0000000000FC0ull
#define PGRP_RSVD1 0xFFFFFFFFFFFFF003ull
#define PGRP_PDP (1ull << 5)
#define PC_RSVD0 0xFFF000000000F1C0ull /* [8:6], [15:12], [63:52]; [11:9] are DESC_TYPE_HI */

/* IQER.IQEI for a descriptor the unit refuses (invalid type or reserved field). */
#define IQEI_INVALID_DESC 0x1u

/* PRQ entry fields. */
#define PRQ_TYPE_PAGE_REQ 1ull

void sim_vtd_config_default(struct sim_vtd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->qi = cfg->dt = cfg->prs = cfg->pasid = cfg->pds = cfg->smts = true;
	cfg->queue_limit = 0;
	cfg->overflow_response = SIM_VTD_AUTO_SUCCESS;
	cfg->ite_timeout_ns = SIM_VTD_ITE_DEFAULT_NS;
	cfg->prq_write_ns = 100;
}

static void vtd_init(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	memset(v, 0, sizeof(*v));
	sim_vtd_config_default(&v->cfg);
	v->next_inv_id = 1;
	sim_ring_init(&v->invs, sizeof(struct sim_vtd_inv));
	sim_ring_init(&v->waits, sizeof(struct sim_vtd_wait));
	sim_ring_init(&v->arrivals, sizeof(struct sim_vtd_arrival));
}

static void vtd_release(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	sim_shadow_free(w, v->shadow);
	sim_ring_free(w, &v->invs);
	sim_ring_free(w, &v->waits);
	sim_ring_free(w, &v->arrivals);
	sim_mem_free(w, v->entries, v->cap_entries * sizeof(*v->entries));
	v->entries = NULL;
	v->shadow = NULL;
}

int sim_vtd_configure(struct sim_world *w, const struct sim_vtd_config *cfg)
{
	if (!w || !cfg || cfg->overflow_response > SIM_VTD_AUTO_NONE)
		return -EINVAL;
	if (w->model == &sim_vtd_model)
		return -EBUSY;
	int rc = sim_mmio_model_select(w, sim_vtd_model.name);
	if (rc < 0)
		return rc;
	w->vtd.cfg = *cfg;
	return 0;
}

bool sim_vtd_active(const struct sim_world *w)
{
	return w->model == &sim_vtd_model;
}

static uint64_t ecap_value(const struct sim_vtd *v)
{
	const struct sim_vtd_config *c = &v->cfg;
	return (c->qi ? VTDM_ECAP_QI : 0) | (c->dt ? VTDM_ECAP_DT : 0) | (c->prs ? VTDM_ECAP_PRS : 0) |
	       (c->pasid ? VTDM_ECAP_PASID : 0) | (c->pds ? VTDM_ECAP_PDS : 0) |
	       (c->smts ? VTDM_ECAP_SMTS : 0);
}

/* ---- invalidation queue ------------------------------------------------------------------- */

static bool iq_wide(const struct sim_vtd *v)
{
	return (v->iqa & VTDM_IQA_DW) != 0;
}

static uint32_t iq_entries(const struct sim_vtd *v)
{
	return (uint32_t)((4096u << (v->iqa & VTDM_IQA_QS_MASK)) >> (iq_wide(v) ? 5 : 4));
}

static unsigned iq_shift(const struct sim_vtd *v)
{
	return iq_wide(v) ? 5 : 4;
}

static uint64_t iq_base(const struct sim_vtd *v)
{
	return v->iqa & ~0xFFFull;
}

/* The oldest device-TLB invalidation still unanswered, or UINT64_MAX. */
static uint64_t oldest_open_inv(struct sim_vtd *v)
{
	/* Answered ones at the front are done with. */
	while (v->invs.len && ((struct sim_vtd_inv *)sim_ring_at(&v->invs, 0))->done)
		sim_ring_pop(&v->invs);
	for (size_t i = 0; i < v->invs.len; i++) {
		const struct sim_vtd_inv *inv = sim_ring_at(&v->invs, i);
		if (!inv->done)
			return inv->order;
	}
	return UINT64_MAX;
}

static void status_write(struct sim_world *w, const struct sim_vtd_wait *wt)
{
	struct sim_vtd *v = &w->vtd;
	if (wt->sw) {
		uint32_t data = wt->status_data;
		sim_dma_write(w, wt->status_addr, &data, sizeof(data));
	}
	if (wt->iflag)
		v->ics |= VTDM_ICS_IWC;
}

/* Complete the waits at the front whose conditions hold. */
static void complete_waits(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	while (v->waits.len) {
		struct sim_vtd_wait *wt = sim_ring_at(&v->waits, 0);
		if (!wt->ready) {
			if (oldest_open_inv(v) < wt->order)
				return;
			wt->ready = true;
			wt->ready_ns = w->now;
		}
		if (wt->pd && v->arrivals.len) {
			/* Requests that arrived before the cut must be in the queue first. */
			const struct sim_vtd_arrival *a = sim_ring_at(&v->arrivals, 0);
			if (a->arrive_ns <= wt->ready_ns)
				return;
		}
		struct sim_vtd_wait done = *wt;
		sim_ring_pop(&v->waits);
		if (done.pd)
			v->stats.drains_completed++;
		if (done.fence)
			v->fenced = false;
		status_write(w, &done);
	}
}

static void ite_timeout(struct sim_world *w, void *arg, uint64_t id);

static void send_devtlb_inv(struct sim_world *w, uint16_t sid, bool pasid_present, uint32_t pasid)
{
	struct sim_vtd *v = &w->vtd;
	struct sim_vtd_inv *inv = sim_ring_push(w, &v->invs);
	memset(inv, 0, sizeof(*inv));
	inv->id = v->next_inv_id++;
	inv->order = v->next_order;
	inv->sid = sid;
	uint64_t id = inv->id;
	/* A function that is gone (or never was) never answers: only ITE ends the wait. */
	struct sim_dev *d = sim_dev_route(w, sid);
	if (d) {
		struct sim_down_msg m = { 0 };
		m.kind = SIM_DOWN_INV;
		m.rid = sid;
		m.pasid = pasid;
		m.pasid_present = pasid_present;
		m.drain_id = id;
		sim_fabric_down(d, &m);
	}
	if (v->cfg.ite_timeout_ns)
		sim_schedule_or_die(w, w->now + v->cfg.ite_timeout_ns, ite_timeout, NULL, id);
}

static void send_response(struct sim_world *w, const uint64_t *qw)
{
	uint16_t rid = (uint16_t)(qw[0] >> 16);
	struct sim_dev *d = sim_dev_route(w, rid);
	struct sim_down_msg m = { 0 };
	m.kind = SIM_DOWN_RESP;
	m.rid = rid;
	m.pasid_present = (qw[0] >> 4) & 1;
	m.pasid = (uint32_t)(qw[0] >> 32) & 0xFFFFF;
	m.prg_index = (uint16_t)((qw[1] >> 3) & 0x1FF);
	/* VT-d's response codes are the PCIe ones: the RC field goes out as it is. */
	m.code = (uint8_t)((qw[0] >> 12) & 0xF);
	m.tag = 0; /* the descriptor names the group by index, as the wire does */
	if (!d) {
		sim_chk_violation(w, SIM_V_WRONG_TARGET, rid,
				  m.pasid_present ? m.pasid : PRQD_NO_PASID, m.prg_index,
				  "page group response to a requester ID with no device");
		return;
	}
	sim_fabric_down(d, &m);
}

/* ---- PASID entries and the PASID cache ---------------------------------------------------- */

static struct sim_vtd_pasid_entry *entry_find(struct sim_vtd *v, uint16_t rid, uint32_t pasid)
{
	for (size_t i = 0; i < v->nentries; i++)
		if (v->entries[i].rid == rid && v->entries[i].pasid == pasid)
			return &v->entries[i];
	return NULL;
}

/* Does the unit treat (@rid, @pasid)'s entry as present (its cached copy)? */
static bool entry_cached_present(struct sim_vtd *v, uint16_t rid, uint32_t pasid)
{
	const struct sim_vtd_pasid_entry *e = entry_find(v, rid, pasid);
	return !e || e->cached;
}

/* Cleared in memory, still cached as present: the unit may use what the driver removed. */
static bool entry_stale_clear(const struct sim_vtd_pasid_entry *e)
{
	return !e->present && e->cached;
}

int sim_vtd_pasid_entry_set_present(struct sim_world *w, uint32_t rid, uint32_t pasid,
				    bool present)
{
	struct sim_vtd *v = &w->vtd;
	struct sim_vtd_pasid_entry *e = entry_find(v, (uint16_t)rid, pasid);
	if (!e) {
		if (present)
			return 0; /* an entry the embedder never cleared is present */
		sim_mem_grow(w, (void **)&v->entries, &v->cap_entries, v->nentries + 1,
			     sizeof(*v->entries));
		e = &v->entries[v->nentries++];
		*e = (struct sim_vtd_pasid_entry){ .rid = (uint16_t)rid, .pasid = pasid,
						   .present = true, .cached = true };
	}
	if (e->present == present)
		return 0;
	e->present = present;
	return 1;
}

/* A PASID-cache invalidation: the unit reads the entries it covers again. */
static void pasid_cache_invalidate(struct sim_vtd *v, const uint64_t *qw)
{
	unsigned gran = VTDM_PC_GRAN(qw[0]);
	uint32_t pasid = (uint32_t)(qw[0] >> 32) & 0xFFFFF;
	for (size_t i = 0; i < v->nentries;) {
		struct sim_vtd_pasid_entry *e = &v->entries[i];
		/* Requests without PASID use PASID 0's entry (RID_PASID). */
		uint32_t entry_pasid = e->pasid == PRQD_NO_PASID ? 0 : e->pasid;
		if (gran != VTDM_PC_PASID || entry_pasid == pasid)
			e->cached = e->present;
		if (e->present && e->cached) /* back to the default: forget it */
			v->entries[i] = v->entries[--v->nentries];
		else
			i++;
	}
}

/* An IOTLB or device-TLB invalidation (or a page-drain behind one) for @rid's @pasid (any
 * requester when @any_rid; the requests without PASID for PRQD_NO_PASID) while such an entry
 * is cleared but still cached: the 2026 order puts the PASID-cache invalidation first. */
static void check_pasid_cache_first(struct sim_world *w, bool any_rid, uint16_t rid,
				    uint32_t pasid, const char *what)
{
	struct sim_vtd *v = &w->vtd;
	for (size_t i = 0; i < v->nentries; i++) {
		const struct sim_vtd_pasid_entry *e = &v->entries[i];
		if ((!any_rid && e->rid != rid) || e->pasid != pasid || !entry_stale_clear(e))
			continue;
		sim_chk_violation(w, SIM_V_PROTOCOL, e->rid, e->pasid, 0,
				  "%s while the cleared PASID entry is still cached (no PASID-cache "
				  "invalidation since it was cleared)",
				  what);
	}
}

/* The ordering rules, checked as each descriptor is fetched. */
static void check_order(struct sim_world *w, const uint64_t *qw)
{
	struct sim_vtd *v = &w->vtd;
	switch (DESC_TYPE(qw[0])) {
	case VTDM_DESC_PIOTLB:
		check_pasid_cache_first(w, true, 0, (uint32_t)(qw[0] >> 32) & 0xFFFFF,
					"PASID-based IOTLB invalidation");
		break;
	case VTDM_DESC_IOTLB:
		check_pasid_cache_first(w, true, 0, PRQD_NO_PASID, "IOTLB invalidation");
		break;
	case VTDM_DESC_PDEVTLB:
		v->devtlb_pending = true;
		v->devtlb_sid = (uint16_t)(qw[0] >> 16);
		v->devtlb_pasid = (uint32_t)(qw[0] >> 32) & 0xFFFFF;
		check_pasid_cache_first(w, false, v->devtlb_sid, v->devtlb_pasid,
					"PASID-based device-TLB invalidation");
		break;
	case VTDM_DESC_DEVTLB:
		v->devtlb_pending = true;
		v->devtlb_sid = (uint16_t)(qw[0] >> 32);
		v->devtlb_pasid = PRQD_NO_PASID;
		check_pasid_cache_first(w, false, v->devtlb_sid, PRQD_NO_PASID,
					"device-TLB invalidation");
		break;
	case VTDM_DESC_WAIT:
		if ((qw[0] & VTDM_WAIT_PD) && v->devtlb_pending)
			check_pasid_cache_first(w, false, v->devtlb_sid, v->devtlb_pasid,
						"page-drain wait");
		v->devtlb_pending = false;
		break;
	default:
		break;
	}
}

unsigned sim_vtd_recent_descs(const struct sim_world *w, uint8_t *out, unsigned max)
{
	const struct sim_vtd *v = &w->vtd;
	uint64_t n = v->ndescs < SIM_VTD_DESC_LOG ? v->ndescs : SIM_VTD_DESC_LOG;
	if (max < n)
		n = max;
	for (uint64_t k = 0; k < n; k++)
		out[k] = v->desc_log[(v->ndescs - n + k) % SIM_VTD_DESC_LOG];
	return (unsigned)n;
}

/* Is the descriptor one the unit accepts? */
static bool desc_valid(const struct sim_vtd *v, const uint64_t *qw)
{
	bool wide = iq_wide(v);
	if (DESC_TYPE_HI(qw[0]))
		return false;
	switch (DESC_TYPE(qw[0])) {
	case VTDM_DESC_WAIT: {
		uint64_t rsvd = WAIT_RSVD0 | (v->cfg.pds ? 0 : VTDM_WAIT_PD);
		if ((qw[0] & rsvd) || (qw[1] & WAIT_RSVD1))
			return false;
		/* A wait that reports nothing (fence only) is refused, as QEMU 7.2 does. */
		return (qw[0] & (VTDM_WAIT_SW | VTDM_WAIT_IF)) != 0;
	}
	case VTDM_DESC_PIOTLB:
		return !(qw[0] & PIOTLB_RSVD0) && !(qw[1] & PIOTLB_RSVD1) &&
		       ((qw[0] >> 4) & 3) >= 2;
	case VTDM_DESC_IOTLB:
		return !(qw[0] & IOTLB_RSVD0) && !(qw[1] & IOTLB_RSVD1) && ((qw[0] >> 4) & 3) != 0;
	case VTDM_DESC_DEVTLB:
		return v->cfg.dt && !(qw[0] & DEVTLB_RSVD0) && !(qw[1] & DEVTLB_RSVD1);
	case VTDM_DESC_PDEVTLB:
		return v->cfg.dt && !(qw[0] & PDEVTLB_RSVD0) && !(qw[1] & PDEVTLB_RSVD1);
	case VTDM_DESC_PGRP_RESP:
		if ((qw[0] & PGRP_PDP) && !wide)
			return false;
		return v->cfg.prs && !(qw[0] & PGRP_RSVD0) && !(qw[1] & PGRP_RSVD1);
	case VTDM_DESC_PASID_CACHE:
		return !(qw[0] & PC_RSVD0) && !qw[1] && VTDM_PC_GRAN(qw[0]) != 2;
	case 0x1: /* context-cache */
	case 0x4: /* interrupt entry cache */
		return true;
	default:
		return false;
	}
}

/* Fetch and carry out descriptors until the queue is empty or something holds it. */
static void iq_progress(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	for (;;) {
		complete_waits(w);
		if (!(v->gsts & VTDM_GSTS_QIES) || v->fenced ||
		    (v->fsts & (VTDM_FSTS_IQE | VTDM_FSTS_ITE)))
			return;
		uint32_t entries = iq_entries(v);
		uint32_t head = (uint32_t)(v->iqh >> iq_shift(v)) & (entries - 1);
		uint32_t tail = (uint32_t)(v->iqt >> iq_shift(v)) & (entries - 1);
		if (head == tail)
			return;
		uint64_t qw[4] = { 0, 0, 0, 0 };
		uint64_t at = iq_base(v) + ((uint64_t)head << iq_shift(v));
		bool readable = sim_dma_read(w, at, qw, iq_wide(v) ? 4 : 2);
		if (!readable || !desc_valid(v, qw)) {
			/* IQH stays on the refused descriptor. */
			v->fsts |= VTDM_FSTS_IQE;
			v->iqer = (v->iqer & ~0xFull) | IQEI_INVALID_DESC;
			return;
		}
		check_order(w, qw);
		v->desc_log[v->ndescs++ % SIM_VTD_DESC_LOG] = (uint8_t)DESC_TYPE(qw[0]);
		switch (DESC_TYPE(qw[0])) {
		case VTDM_DESC_WAIT: {
			struct sim_vtd_wait *wt = sim_ring_push(w, &v->waits);
			memset(wt, 0, sizeof(*wt));
			wt->order = v->next_order;
			wt->sw = qw[0] & VTDM_WAIT_SW;
			wt->iflag = qw[0] & VTDM_WAIT_IF;
			wt->fence = qw[0] & VTDM_WAIT_FN;
			wt->pd = qw[0] & VTDM_WAIT_PD;
			wt->status_data = (uint32_t)(qw[0] >> 32);
			wt->status_addr = qw[1] & ~3ull;
			if (wt->pd)
				v->stats.drains_started++;
			if (wt->fence)
				v->fenced = true;
			break;
		}
		case VTDM_DESC_DEVTLB:
			send_devtlb_inv(w, (uint16_t)(qw[0] >> 32), false, 0);
			break;
		case VTDM_DESC_PDEVTLB:
			send_devtlb_inv(w, (uint16_t)(qw[0] >> 16), true,
					(uint32_t)(qw[0] >> 32) & 0xFFFFF);
			break;
		case VTDM_DESC_PGRP_RESP:
			send_response(w, qw);
			break;
		case VTDM_DESC_PASID_CACHE:
			pasid_cache_invalidate(v, qw);
			break;
		default:
			break; /* nothing cached: nothing to invalidate */
		}
		v->next_order++;
		v->iqh = (uint64_t)((head + 1) & (entries - 1)) << iq_shift(v);
	}
}

static struct sim_vtd_inv *inv_find(struct sim_vtd *v, uint64_t id)
{
	for (size_t i = 0; i < v->invs.len; i++) {
		struct sim_vtd_inv *inv = sim_ring_at(&v->invs, i);
		if (inv->id == id)
			return inv;
	}
	return NULL;
}

static void ite_timeout(struct sim_world *w, void *arg, uint64_t id)
{
	(void)arg;
	struct sim_vtd *v = &w->vtd;
	struct sim_vtd_inv *inv = inv_find(v, id);
	if (!inv || inv->done)
		return;
	inv->done = true; /* a late completion changes nothing */
	v->fsts |= VTDM_FSTS_ITE;
	v->iqer = (v->iqer & ~(0xFFFFull << 32)) | ((uint64_t)inv->sid << 32);
	/* The waits already fetched are aborted: no status write, ever. */
	while (v->waits.len) {
		const struct sim_vtd_wait *wt = sim_ring_at(&v->waits, 0);
		if (wt->pd)
			v->stats.drains_failed++;
		sim_ring_pop(&v->waits);
	}
	v->fenced = false;
}

/* ---- page request queue ---------------------------------------------------------------------- */

static uint64_t prq_bytes(const struct sim_vtd *v)
{
	return 4096ull << (v->pqa & VTDM_PQA_PQS_MASK);
}

static uint32_t prq_count(const struct sim_vtd *v)
{
	uint64_t size = prq_bytes(v);
	return (uint32_t)(((v->pqt - v->pqh) & (size - 1)) / VTDM_PRQ_ENTRY_SIZE);
}

/* The unit answers a request itself with @code (a VTDM_RC_* wire code). */
static void send_auto_response(struct sim_world *w, const struct sim_vtd_arrival *a, uint8_t code)
{
	struct sim_dev *d = sim_dev_route(w, a->rid);
	if (d)
		sim_fabric_auto_respond(d, &a->m, code, a->m.flags & SIM_RQ_PASID);
}

/* A group's Last request, not a Stop Marker: what the unit may answer itself. */
static bool answerable_last(const struct sim_up_msg *m)
{
	return (m->flags & SIM_RQ_LAST) && !sim_up_is_stop_marker(m);
}

static void auto_respond(struct sim_world *w, const struct sim_vtd_arrival *a)
{
	struct sim_vtd *v = &w->vtd;
	if (v->cfg.overflow_response == SIM_VTD_AUTO_NONE)
		return;
	if (!sim_dev_route(w, a->rid))
		return;
	v->stats.auto_responses++;
	send_auto_response(w, a,
			   v->cfg.overflow_response == SIM_VTD_AUTO_INVALID ? VTDM_RC_INVALID
									   : VTDM_RC_SUCCESS);
}

/* The oldest arrival's entry is due: write it, or drop it in an overflow. */
static void prq_write(struct sim_world *w, void *arg, uint64_t unused)
{
	(void)arg;
	(void)unused;
	struct sim_vtd *v = &w->vtd;
	if (!v->arrivals.len)
		return;
	struct sim_vtd_arrival a = *(struct sim_vtd_arrival *)sim_ring_at(&v->arrivals, 0);
	sim_ring_pop(&v->arrivals);

	/* The unit looks the PASID entry up (its cached copy) before it queues anything. */
	uint32_t entry_pasid = (a.m.flags & SIM_RQ_PASID) ? a.m.pasid : PRQD_NO_PASID;
	if (a.m.kind == SIM_UP_PAGE_REQ && !entry_cached_present(v, a.rid, entry_pasid)) {
		if (answerable_last(&a.m)) {
			v->stats.blocked_responses++;
			send_auto_response(w, &a, VTDM_RC_INVALID);
		}
		iq_progress(w); /* a page-drain wait may have been waiting for this request */
		return;
	}

	uint64_t size = prq_bytes(v);
	uint32_t room = (uint32_t)(size / VTDM_PRQ_ENTRY_SIZE) - 1;
	if (v->cfg.queue_limit && v->cfg.queue_limit < room)
		room = v->cfg.queue_limit;
	bool enabled = v->cfg.prs && v->pqa;
	if (!enabled || (v->prs & VTDM_PRS_PRO) || prq_count(v) >= room) {
		if (enabled && !(v->prs & VTDM_PRS_PRO)) {
			v->prs |= VTDM_PRS_PRO;
			v->stats.overflows++;
		}
		v->stats.dropped_overflow++;
		if (answerable_last(&a.m))
			auto_respond(w, &a);
		iq_progress(w);
		return;
	}

	uint64_t qw[4] = { 0, 0, 0, 0 };
	bool pasid = a.m.flags & SIM_RQ_PASID;
	qw[0] = PRQ_TYPE_PAGE_REQ | (pasid ? 1ull << 8 : 0) | ((uint64_t)a.rid << 16) |
		(pasid ? (uint64_t)(a.m.pasid & 0xFFFFF) << 32 : 0) |
		((a.m.flags & SIM_RQ_EXEC) ? 1ull << 52 : 0) |
		((a.m.flags & SIM_RQ_PRIV) ? 1ull << 53 : 0);
	qw[1] = ((a.m.flags & SIM_RQ_READ) ? 1ull : 0) | ((a.m.flags & SIM_RQ_WRITE) ? 2ull : 0) |
		((a.m.flags & SIM_RQ_LAST) ? 4ull : 0) | ((uint64_t)(a.m.prg_index & 0x1FF) << 3) |
		(a.m.addr & ~0xFFFull);
	sim_dma_write(w, (v->pqa & ~0xFFFull) + (v->pqt & (size - 1)), qw, sizeof(qw));
	sim_shadow_record(v->shadow, v->prq_seq, &a.m);
	v->prq_seq++;
	v->pqt = (v->pqt + VTDM_PRQ_ENTRY_SIZE) & (size - 1);
	v->prs |= VTDM_PRS_PPR;
	v->stats.enqueued++;
	uint32_t depth = prq_count(v);
	if (depth > v->stats.queue_high_water)
		v->stats.queue_high_water = depth;
	iq_progress(w); /* a page-drain wait may have been waiting for this entry */
}

static void vtd_receive(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_world *w = d->w;
	struct sim_vtd *v = &w->vtd;
	if (m->kind == SIM_UP_INV_DONE) {
		struct sim_vtd_inv *inv = inv_find(v, m->drain_id);
		if (inv && !inv->done) {
			inv->done = true;
			iq_progress(w);
		}
		return;
	}
	struct sim_vtd_arrival *a = sim_ring_push(w, &v->arrivals);
	a->m = *m;
	a->arrive_ns = w->now;
	a->rid = d->cfg.rid;
	/* Every arrival takes the same time, so the events pop the FIFO in order. */
	sim_schedule_or_die(w, w->now + v->cfg.prq_write_ns, prq_write, NULL, 0);
}

static void vtd_overflow_now(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	if (v->cfg.prs && v->pqa && !(v->prs & VTDM_PRS_PRO)) {
		v->prs |= VTDM_PRS_PRO;
		v->stats.overflows++;
	}
}

static void vtd_stats(const struct sim_world *w, struct sim_iommu_stats *out)
{
	*out = w->vtd.stats;
	out->queue_depth = w->vtd.pqa ? prq_count(&w->vtd) : 0;
}

static uint64_t vtd_request_tag(const struct sim_world *w, uint64_t backend_tag)
{
	return sim_shadow_tag(w->vtd.shadow, w->vtd.prq_seq, backend_tag);
}

static void vtd_each_queued(const struct sim_world *w, sim_queued_fn fn, void *arg)
{
	const struct sim_vtd *v = &w->vtd;
	if (v->pqa && v->shadow) {
		uint64_t size = prq_bytes(v);
		uint32_t n = prq_count(v);
		for (uint32_t k = 0; k < n; k++) {
			uint64_t off = (v->pqh + (uint64_t)k * VTDM_PRQ_ENTRY_SIZE) & (size - 1);
			const unsigned char *p =
				sim_dma_at(w, (v->pqa & ~0xFFFull) + off, 16);
			if (!p)
				break;
			uint64_t qw0;
			memcpy(&qw0, p, 8);
			const struct sim_vtd_shadow *sh =
				sim_shadow_find(v->shadow, v->prq_seq, v->prq_seq - n + k);
			fn(arg, (uint16_t)(qw0 >> 16), (qw0 >> 8) & 1, (uint32_t)(qw0 >> 32) & 0xFFFFF,
			   sh ? sh->tag : 0, sh ? sh->issue_ns : 0);
		}
	}
	sim_arrivals_each(&v->arrivals, fn, arg);
}

/* ---- registers --------------------------------------------------------------------------- */

/* The first register write: the model takes over the world's traffic. */
static void vtd_attach(struct sim_world *w)
{
	struct sim_vtd *v = &w->vtd;
	v->shadow = sim_shadow_new(w);
}

static uint32_t vtd_read32(struct sim_world *w, uint64_t off);
static void vtd_write32(struct sim_world *w, uint64_t off, uint32_t val);

static uint64_t vtd_read64(struct sim_world *w, uint64_t off)
{
	const struct sim_vtd *v = &w->vtd;
	switch (off) {
	case VTDM_REG_CAP: return VTDM_MODEL_CAP;
	case VTDM_REG_ECAP: return ecap_value(v);
	case VTDM_REG_IQH: return v->iqh;
	case VTDM_REG_IQT: return v->iqt;
	case VTDM_REG_IQA: return v->iqa;
	case VTDM_REG_IQER: return v->iqer;
	case VTDM_REG_PQH: return v->pqh;
	case VTDM_REG_PQT: return v->pqt;
	case VTDM_REG_PQA: return v->pqa;
	default: return (uint64_t)vtd_read32(w, off) | (uint64_t)vtd_read32(w, off + 4) << 32;
	}
}

static uint32_t vtd_read32(struct sim_world *w, uint64_t off)
{
	const struct sim_vtd *v = &w->vtd;
	switch (off) {
	case VTDM_REG_VER: return VTDM_MODEL_VER;
	case VTDM_REG_GCMD: return 0; /* write-only */
	case VTDM_REG_GSTS: return v->gsts;
	case VTDM_REG_FSTS: return v->fsts;
	case VTDM_REG_FECTL: return v->fectl;
	case VTDM_REG_ICS: return v->ics;
	case VTDM_REG_IECTL: return v->iectl;
	case VTDM_REG_PRS: return v->prs;
	case VTDM_REG_PECTL: return v->pectl;
	default:
		break;
	}
	/* Halves of the 64-bit registers. */
	switch (off & ~7ull) {
	case VTDM_REG_CAP:
	case VTDM_REG_ECAP:
	case VTDM_REG_IQH:
	case VTDM_REG_IQT:
	case VTDM_REG_IQA:
	case VTDM_REG_IQER:
	case VTDM_REG_PQH:
	case VTDM_REG_PQT:
	case VTDM_REG_PQA:
		return (uint32_t)(vtd_read64(w, off & ~7ull) >> ((off & 4) * 8));
	default:
		return 0; /* reserved: reads as zero */
	}
}

static void write_gcmd(struct sim_world *w, uint32_t val)
{
	struct sim_vtd *v = &w->vtd;
	if ((val & VTDM_GCMD_QIE) && v->cfg.qi && !(v->gsts & VTDM_GSTS_QIES)) {
		v->gsts |= VTDM_GSTS_QIES;
		v->iqh = 0; /* enabling queued invalidation resets the head */
	} else if (!(val & VTDM_GCMD_QIE) && (v->gsts & VTDM_GSTS_QIES)) {
		v->gsts &= ~VTDM_GSTS_QIES;
	}
	iq_progress(w);
}

static void vtd_write64(struct sim_world *w, uint64_t off, uint64_t val)
{
	struct sim_vtd *v = &w->vtd;
	switch (off) {
	case VTDM_REG_IQT:
		v->iqt = val & 0x7FFF0ull; /* QT [18:4] */
		iq_progress(w);
		return;
	case VTDM_REG_IQA:
		if (!(v->gsts & VTDM_GSTS_QIES)) /* only while queued invalidation is off */
			v->iqa = val & ~0x7F8ull;
		return;
	case VTDM_REG_PQH:
		v->pqh = val & (prq_bytes(v) - 1) & ~(uint64_t)(VTDM_PRQ_ENTRY_SIZE - 1);
		return;
	case VTDM_REG_PQT:
		v->pqt = val & (prq_bytes(v) - 1) & ~(uint64_t)(VTDM_PRQ_ENTRY_SIZE - 1);
		return;
	case VTDM_REG_PQA:
		v->pqa = val & ~0xFF8ull;
		v->prq_seq = 0; /* positions count from the queue's setup */
		v->pqh = v->pqt = 0;
		return;
	default:
		vtd_write32(w, off, (uint32_t)val);
		vtd_write32(w, off + 4, (uint32_t)(val >> 32));
		return;
	}
}

static void vtd_write32(struct sim_world *w, uint64_t off, uint32_t val)
{
	struct sim_vtd *v = &w->vtd;
	switch (off) {
	case VTDM_REG_GCMD:
		write_gcmd(w, val);
		return;
	case VTDM_REG_FSTS: {
		bool ite_cleared = (val & VTDM_FSTS_ITE) && (v->fsts & VTDM_FSTS_ITE);
		v->fsts &= ~(val & (VTDM_FSTS_IQE | VTDM_FSTS_ICE | VTDM_FSTS_ITE | VTDM_FSTS_PRO));
		/* After IQE, processing resumes only with the next IQT write (as QEMU does);
		 * after ITE, as soon as it is cleared. */
		if (ite_cleared)
			iq_progress(w);
		return;
	}
	case VTDM_REG_FECTL: v->fectl = val; return;
	case VTDM_REG_ICS: v->ics &= ~(val & VTDM_ICS_IWC); return;
	case VTDM_REG_IECTL: v->iectl = val; return;
	case VTDM_REG_PRS: v->prs &= ~(val & (VTDM_PRS_PPR | VTDM_PRS_PRO)); return;
	case VTDM_REG_PECTL: v->pectl = val; return;
	default:
		break;
	}
	switch (off & ~7ull) {
	case VTDM_REG_IQT:
	case VTDM_REG_IQA:
	case VTDM_REG_PQH:
	case VTDM_REG_PQT:
	case VTDM_REG_PQA: {
		uint64_t cur = vtd_read64(w, off & ~7ull);
		unsigned shift = (unsigned)(off & 4) * 8;
		cur = (cur & ~(0xFFFFFFFFull << shift)) | (uint64_t)val << shift;
		vtd_write64(w, off & ~7ull, cur);
		return;
	}
	default:
		return; /* read-only or reserved */
	}
}

const struct sim_iommu_model sim_vtd_model = {
	.name = "vtd",
	.init = vtd_init,
	.release = vtd_release,
	.attach = vtd_attach,
	.receive = vtd_receive,
	.overflow_now = vtd_overflow_now,
	.stats = vtd_stats,
	.request_tag = vtd_request_tag,
	.each_queued = vtd_each_queued,
	.read32 = vtd_read32,
	.read64 = vtd_read64,
	.write32 = vtd_write32,
	.write64 = vtd_write64,
};
