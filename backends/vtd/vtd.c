/* SPDX-License-Identifier: MIT */
/*
 * The "vtd" backend: Intel VT-d at register level, through the platform table only (MMIO at
 * offsets of the DMAR unit, DMA memory, clock). Facts: ../shared/reference/pri-facts.md §1.
 *
 *  - The page request queue (PQA/PQH/PQT, 32-byte entries) is read by fetch; entries are
 *    checked as Linux checks them and passed up with their queue position.
 *  - Responses are page group response descriptors (type 9) on the invalidation queue.
 *  - A drain step is VT-d §7.10 in one batch and one doorbell: a fence wait, the IOTLB
 *    invalidation of the PASID (or of the domain for requests without PASID), the device-TLB
 *    invalidation of the whole address space, and a wait with status write and page-drain.
 *    Without ECAP.PDS the drain cannot be done and no page-drain bit is ever queued.
 *  - Overflow: PRS.PRO, acknowledged only once the queue is empty.
 *  - Gate (only when the embedder supplies pasid_entry_set_present, in scalable mode, with
 *    page-drain: without it the Stop Marker is the only proof, and a closed gate drops it):
 *    closing clears the PASID entry's Present bit through the platform, then one batch and
 *    one doorbell: the PASID-cache invalidation, a fence wait, the IOTLB and device-TLB
 *    invalidations, and a wait with status write, polled for at most vtd.gate_wait_us
 *    (Linux's PASID teardown order since 2026: the unit may use its cached copy of the
 *    entry until the PASID cache is invalidated). Opening restores the bit and invalidates
 *    the PASID cache so the unit reads the entry again.
 *
 * Freestanding like the core. The invalidation queue engine (vtd-iq.c) is not thread-safe:
 * every use of it, and the queue's software head with its position counter, is serialised by
 * one platform lock.
 */
#include "prqdrain-backend.h"
#include "backends/vtd/vtd-iq.h"
#include "backends/vtd/vtd-regs.h"

/* Bounds on register polling inside one operation (the core does the long waits). */
#define VTD_INIT_TIMEOUT_NS 10000000ull   /* queued invalidation enable: 10 ms */
#define VTD_RING_FULL_WAIT_NS 1000000ull  /* a full invalidation ring draining: 1 ms */

/* Page request entry fields (pri-facts.md §1.3.5). */
#define PRQ_PP (1ull << 8)
#define PRQ_PDP (1ull << 9)
#define PRQ_ER (1ull << 52)
#define PRQ_PMR (1ull << 53)
#define PRQ_RDR (1ull << 0)
#define PRQ_WRR (1ull << 1)
#define PRQ_LPIG (1ull << 2)

/* Recent ITE source-ids, to tell a drain whose own device timed out from one whose waits
 * were aborted by another device's time-out. */
#define VTD_ITE_HISTORY 8u

struct vtd_priv {
	struct prqd_iommu *iommu;
	const struct prqd_platform *plat;
	void *lock;

	uint64_t cap, ecap;
	bool page_drain; /* ECAP.PDS (with DT): the §7.10 drain is possible */
	bool gate;       /* scalable mode and the embedder's pasid_entry_set_present */
	uint16_t did;
	uint64_t gate_wait_ns; /* vtd.gate_wait_us: bound on a gate call's invalidations */

	struct vtd_iq iq;

	/* Page request queue. */
	void *prq;
	uint64_t prq_bus;
	size_t prq_bytes;
	uint64_t prq_head;  /* byte offset of the next entry software reads (= PQH) */
	/* Byte offset of the tail as last read from PQT: entries before it are read without
	 * touching a register again. */
	uint64_t prq_tail_seen;
	uint64_t prq_seq;   /* queue position of that entry */

	/* Status word of the fence waits: their write only has to land somewhere harmless. */
	volatile uint32_t *fence_status;
	uint64_t fence_bus;

	/* Device-TLB time-outs seen: count, and the source-ids of the latest ones. */
	uint64_t ite_count;
	uint16_t ite_sid[VTD_ITE_HISTORY];
};

struct vtd_dev {
	uint16_t rid;
	uint8_t qdep; /* ATS invalidate queue depth as the descriptor encodes it (0 = 32) */
};

/* What a drain step keeps after struct prqd_drain_step. */
struct vtd_drain {
	struct vtd_wait ticket;
	uint64_t ite_count; /* ITEs seen when the batch was queued */
	int32_t result;     /* 0 in flight; 1 complete; negative errno failed */
	bool abandoned;     /* given up by the core: the engine keeps its slot */
};

static void reg_write32(const struct vtd_priv *vp, uint64_t off, uint32_t v)
{
	vp->plat->mmio_write32(vp->plat->user, off, v);
}

static uint32_t reg_read32(const struct vtd_priv *vp, uint64_t off)
{
	return vp->plat->mmio_read32(vp->plat->user, off);
}

static void reg_write64(const struct vtd_priv *vp, uint64_t off, uint64_t v)
{
	vp->plat->mmio_write64(vp->plat->user, off, v);
}

static uint64_t reg_read64(const struct vtd_priv *vp, uint64_t off)
{
	return vp->plat->mmio_read64(vp->plat->user, off);
}

static void unit_lock(struct vtd_priv *vp)
{
	prqd_be_lock(vp->iommu, vp->lock);
}

static void unit_unlock(struct vtd_priv *vp)
{
	prqd_be_unlock(vp->iommu, vp->lock);
}

/* ---- probe, init, fini ---------------------------------------------------------------------- */

/* The raw table the embedder gave: fields past its size, or NULL, are absent. */
static bool has_mmio(const struct prqd_platform *plat)
{
	return plat &&
	       plat->size >= offsetof(struct prqd_platform, mmio_read64) + sizeof(plat->mmio_read64) &&
	       plat->mmio_read32 && plat->mmio_read64;
}

static int vtd_probe(const struct prqd_platform *plat)
{
	if (!has_mmio(plat))
		return -PRQD_ENODEV;
	/* All ones: nothing answers in the window (PCIe's read of absent MMIO). */
	uint32_t ver = plat->mmio_read32(plat->user, VTD_REG_VER);
	uint64_t ecap = plat->mmio_read64(plat->user, VTD_REG_ECAP);
	if (ver == UINT32_MAX || ver == 0 || ecap == UINT64_MAX)
		return -PRQD_ENODEV;
	return (ecap & VTD_ECAP_QI) && (ecap & VTD_ECAP_PRS) ? 0 : -PRQD_ENODEV;
}

static void release_memory(struct vtd_priv *vp)
{
	prqd_be_dma_free(vp->iommu, vp->prq, vp->prq_bytes);
	prqd_be_dma_free(vp->iommu, (void *)vp->fence_status, 64);
	vp->prq = NULL;
	vp->fence_status = NULL;
}

static int vtd_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	struct vtd_priv *vp = priv;
	vp->iommu = iommu;
	vp->plat = prqd_iommu_platform(iommu);

	uint32_t ver = reg_read32(vp, VTD_REG_VER);
	vp->cap = reg_read64(vp, VTD_REG_CAP);
	vp->ecap = reg_read64(vp, VTD_REG_ECAP);
	if (ver == UINT32_MAX || vp->ecap == UINT64_MAX) {
		prqd_be_err(vp->iommu, "vtd: no remapping unit answers in the register window");
		return -PRQD_ENODEV;
	}
	if (!(vp->ecap & VTD_ECAP_QI) || !(vp->ecap & VTD_ECAP_PRS)) {
		prqd_be_err(vp->iommu, "vtd: unit lacks %s (ECAP %#llx)",
			 !(vp->ecap & VTD_ECAP_QI) ? "queued invalidation" : "page requests",
			 (unsigned long long)vp->ecap);
		return -PRQD_EOPNOTSUPP;
	}
	/* PD is meaningful only with device-TLB support (pri-facts §1.1). */
	vp->page_drain = (vp->ecap & VTD_ECAP_PDS) && (vp->ecap & VTD_ECAP_DT);
	if (!vp->page_drain)
		prqd_be_warn(vp->iommu, "vtd: no page-drain support (ECAP.PDS=0): no hardware drain");
	vp->did = (uint16_t)prqd_iommu_param(iommu, "vtd.did");
	vp->gate_wait_ns = prqd_iommu_param(iommu, "vtd.gate_wait_us") * 1000u;
	/* PASID entries (and the PASID cache) exist in scalable mode only. And only with
	 * page-drain: without it a PASID is proven drained by its Stop Marker alone, which a
	 * closed gate would keep from ever reaching the queue. */
	vp->gate = (vp->ecap & VTD_ECAP_SMTS) && vp->page_drain && prqd_iommu_can_gate_pasid(iommu);
	unsigned iq_order = (unsigned)prqd_iommu_param(iommu, "vtd.iq_order");
	unsigned prq_order = (unsigned)prqd_iommu_param(iommu, "vtd.prq_order");
	/* 256-bit descriptors are the scalable-mode format (and carry private data). */
	bool wide = (vp->ecap & VTD_ECAP_SMTS) != 0;

	int rc = prqd_be_lock_new(iommu, &vp->lock);
	if (rc < 0)
		return rc;
	void *va;
	rc = prqd_be_dma_alloc(iommu, 64, 64, &va, &vp->fence_bus);
	if (rc < 0)
		goto fail;
	vp->fence_status = va;
	vp->prq_bytes = (size_t)4096 << prq_order;
	rc = prqd_be_dma_alloc(iommu, vp->prq_bytes, 4096, &va, &vp->prq_bus);
	if (rc < 0)
		goto fail;
	vp->prq = va;

	rc = vtd_iq_init(&vp->iq, vp->plat, iq_order, wide, VTD_INIT_TIMEOUT_NS);
	if (rc < 0) {
		prqd_be_err(vp->iommu, "vtd: invalidation queue setup failed: %d", rc);
		goto fail;
	}
	/* Stale state from an earlier owner of the unit goes first. */
	reg_write32(vp, VTD_REG_PRS, VTD_PRS_PPR | VTD_PRS_PRO);
	reg_write64(vp, VTD_REG_PQH, 0);
	reg_write64(vp, VTD_REG_PQT, 0);
	reg_write64(vp, VTD_REG_PQA, vp->prq_bus | (prq_order & VTD_PQA_PQS_MASK));
	vp->prq_head = 0;
	vp->prq_tail_seen = 0;
	vp->prq_seq = 0;
	/* The §7.10 page-drain is exact; without it this unit offers no drain at all. Private
	 * data is echoed only by the 256-bit response descriptor. */
	caps->drain_level = vp->page_drain ? PRQD_LEVEL_EXACT : PRQD_LEVEL_NONE;
	caps->flags = (wide ? PRQD_CAP_PRIV_DATA : 0) | (vp->gate ? PRQD_CAP_GATE : 0);
	prqd_be_info(vp->iommu, "vtd: ver %#x, ecap %#llx, %zu-entry page request queue, %u-bit descriptors",
		  ver, (unsigned long long)vp->ecap, vp->prq_bytes / VTD_PRQ_ENTRY_SIZE,
		  wide ? 256u : 128u);
	return 0;
fail:
	release_memory(vp);
	prqd_be_lock_free(iommu, vp->lock);
	vp->lock = NULL;
	return rc;
}

static void vtd_fini(struct prqd_iommu *iommu, void *priv)
{
	struct vtd_priv *vp = priv;
	/* The queue's memory goes: the unit must stop writing into it first. */
	reg_write64(vp, VTD_REG_PQA, 0);
	vtd_iq_fini(&vp->iq);
	release_memory(vp);
	prqd_be_lock_free(iommu, vp->lock);
	vp->lock = NULL;
}

static int vtd_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	struct vtd_priv *vp = priv;
	struct vtd_dev *vd = prqd_be_alloc(vp->iommu, sizeof(*vd));
	if (!vd)
		return -PRQD_ENOMEM;
	vd->rid = info->rid;
	/* The descriptor's 5-bit field: 0 stands for 32 (and for anything deeper). */
	vd->qdep = info->ats_queue_depth >= 32 ? 0 : (uint8_t)info->ats_queue_depth;
	*dev_priv = vd;
	return 0;
}

static void vtd_dev_detach(void *priv, void *dev_priv)
{
	struct vtd_priv *vp = priv;
	prqd_be_free(vp->iommu, dev_priv, sizeof(struct vtd_dev));
}

/* ---- page request queue --------------------------------------------------------------------- */

/* Canonical for 48-bit virtual addresses: bits 63:47 all equal. */
static bool canonical(uint64_t addr)
{
	return (uint64_t)((int64_t)(addr << 16) >> 16) == addr;
}

static void decode_entry(const volatile uint64_t *e, struct prqd_hw_req *out)
{
	uint64_t qw0 = e[0], qw1 = e[1];
	struct prqd_request *r = &out->req;
	*out = (struct prqd_hw_req){ 0 };
	r->rid = (uint16_t)(qw0 >> 16);
	r->source_id = r->rid; /* VT-d names requesters by their requester ID */
	r->pasid_valid = (qw0 & PRQ_PP) != 0;
	r->pasid = r->pasid_valid ? (uint32_t)(qw0 >> 32) & 0xFFFFF : 0;
	r->exec = (qw0 & PRQ_ER) != 0;
	r->priv = (qw0 & PRQ_PMR) != 0;
	r->read = (qw1 & PRQ_RDR) != 0;
	r->write = (qw1 & PRQ_WRR) != 0;
	r->last = (qw1 & PRQ_LPIG) != 0;
	r->prg_index = (uint16_t)((qw1 >> 3) & 0x1FF);
	r->addr = qw1 & ~0xFFFull;
	if (qw0 & PRQ_PDP) {
		r->priv_data_valid = true;
		r->priv_data[0] = e[2];
		r->priv_data[1] = e[3];
	}
	/* As Linux refuses them: an address no CPU could have faulted on, a privileged
	 * request for data (only execute may be privileged), execute together with read. */
	out->malformed = !canonical(r->addr) || (r->priv && (r->read || r->write)) ||
			 (r->exec && r->read);
	/* Stop markers (Last, no access, a PASID) go up like any entry: the core keeps the
	 * books on them and never answers one. */
}

static void note_errors(struct vtd_priv *vp);

/* Unit lock held: the tail from PQT, after the error check. A batch of entries costs one PRS
 * write and one PQT read, however many fetches it takes to read them. */
static void refresh_tail(struct vtd_priv *vp)
{
	/* Drains may not run, the consumer does: an invalidation queue error (IQE, ITE) that
	 * holds the queue, and with it every response, is handled here too, at each look at
	 * the tail (a long backlog is read first; a full invalidation queue handles it too). */
	note_errors(vp);
	/* Clear PPR before reading the tail: an entry written after this sets it again. */
	reg_write32(vp, VTD_REG_PRS, VTD_PRS_PPR);
	vp->prq_tail_seen = reg_read64(vp, VTD_REG_PQT) & (vp->prq_bytes - 1) &
			    ~(uint64_t)(VTD_PRQ_ENTRY_SIZE - 1);
}

static int vtd_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	struct vtd_priv *vp = priv;
	uint64_t mask = vp->prq_bytes - 1;
	unit_lock(vp);
	unsigned n = 0;
	bool tail_read = false;
	while (n < max) {
		if (vp->prq_head == vp->prq_tail_seen) {
			/* What was seen is read: look at the registers again, once a fetch. */
			if (tail_read)
				break;
			refresh_tail(vp);
			tail_read = true;
			continue;
		}
		const volatile uint64_t *e =
			(const volatile uint64_t *)((unsigned char *)vp->prq + vp->prq_head);
		decode_entry(e, &out[n]);
		out[n].seq = vp->prq_seq;
		/* The position names the entry for a simulator's checker; 0 stays "none". */
		out[n].tag = vp->prq_seq + 1;
		vp->prq_seq++;
		vp->prq_head = (vp->prq_head + VTD_PRQ_ENTRY_SIZE) & mask;
		n++;
	}
	if (n)
		reg_write64(vp, VTD_REG_PQH, vp->prq_head);
	unit_unlock(vp);
	return (int)n;
}

static uint64_t queue_mark(const struct vtd_priv *vp);

static int vtd_queue_tail(void *priv, uint64_t *pos)
{
	struct vtd_priv *vp = priv;
	unit_lock(vp);
	*pos = queue_mark(vp);
	unit_unlock(vp);
	return 0;
}

static int vtd_overflow_pending(void *priv)
{
	struct vtd_priv *vp = priv;
	return (reg_read32(vp, VTD_REG_PRS) & VTD_PRS_PRO) ? 1 : 0;
}

static int vtd_overflow_ack(void *priv)
{
	struct vtd_priv *vp = priv;
	uint64_t mask = vp->prq_bytes - 1;
	/* While PRO is set the unit writes nothing, so an empty queue stays empty until the
	 * clear below. */
	uint64_t head = reg_read64(vp, VTD_REG_PQH) & mask;
	uint64_t tail = reg_read64(vp, VTD_REG_PQT) & mask;
	if (head != tail)
		return -PRQD_EBUSY;
	reg_write32(vp, VTD_REG_PRS, VTD_PRS_PRO);
	return 0;
}

/* ---- the invalidation queue ----------------------------------------------------------------- */

/* Look at what the engine found (lock held): log it and remember device-TLB time-outs. */
static void note_errors(struct vtd_priv *vp)
{
	struct vtd_iq_error err;
	if (vtd_iq_errors(&vp->iq, &err) == 0)
		return;
	if (err.iqe)
		prqd_be_err(vp->iommu, "vtd: invalid descriptor (type %u) at queue index %u replaced",
			 err.iqe_type, (unsigned)err.iqe_index);
	if (err.ite) {
		vp->ite_sid[vp->ite_count % VTD_ITE_HISTORY] = err.ite_sid;
		vp->ite_count++;
		prqd_be_err(vp->iommu,
			 "vtd: device-TLB invalidation timed out for source-id %04x "
			 "(%u waits aborted)",
			 err.ite_sid, (unsigned)err.aborted);
	}
	if (err.ice)
		prqd_be_err(vp->iommu, "vtd: invalidation completion error");
}

/* Queue descriptors, waiting a bounded time for room; @hold leaves the doorbell to
 * vtd_commit (no wait descriptor then). Unit lock held. */
static int submit_as(struct vtd_priv *vp, const struct vtd_desc *descs, unsigned n,
		     uint64_t wait_flags, struct vtd_wait *ticket, bool hold)
{
	uint64_t start = prqd_be_now_ns(vp->iommu);
	for (;;) {
		int rc = hold ? vtd_iq_submit_held(&vp->iq, descs, n)
			      : vtd_iq_submit(&vp->iq, descs, n, wait_flags, ticket);
		if (rc != -PRQD_EAGAIN)
			return rc;
		/* A full ring empties as the unit works, unless an error holds it. */
		note_errors(vp);
		if (prqd_be_now_ns(vp->iommu) - start > VTD_RING_FULL_WAIT_NS)
			return rc;
		prqd_be_relax(vp->iommu);
	}
}

/* Queue a batch and ring for it (and for anything held before it). */
static int submit(struct vtd_priv *vp, const struct vtd_desc *descs, unsigned n,
		  uint64_t wait_flags, struct vtd_wait *ticket)
{
	return submit_as(vp, descs, n, wait_flags, ticket, false);
}

/* Generic response codes to VT-d's RC field, spelled out (Failure is 0xF, not 2). */
static int vtd_rc(uint8_t code, uint8_t *out)
{
	switch (code) {
	case PRQD_RESP_SUCCESS: *out = VTD_RC_SUCCESS; return 0;
	case PRQD_RESP_INVALID: *out = VTD_RC_INVALID; return 0;
	case PRQD_RESP_FAILURE: *out = VTD_RC_FAILURE; return 0;
	default: return -PRQD_EINVAL;
	}
}

static int vtd_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	struct vtd_priv *vp = priv;
	(void)dev_priv; /* the descriptor is addressed by requester ID, like the message */
	uint8_t rc;
	if (vtd_rc(resp->code, &rc) < 0)
		return -PRQD_EINVAL;
	struct vtd_desc d;
	/* Private data can be echoed only in the 256-bit format. */
	bool echo = resp->priv_data_valid && vp->iq.wide;
	/* Only the Last request's group is answered, so LPIG is always set. */
	vtd_desc_page_group_resp(&d, resp->rid, resp->pasid_present, resp->pasid,
				 resp->prg_index, rc, true, echo ? resp->priv_data : NULL);
	unit_lock(vp);
	/* A response of the consumer's batch waits for commit's one doorbell. */
	int ret = submit_as(vp, &d, 1, 0, NULL, resp->batched);
	unit_unlock(vp);
	if (ret < 0)
		prqd_be_err(vp->iommu, "vtd: page group response to %04x index %u not queued: %d",
			 resp->rid, resp->prg_index, ret);
	return ret;
}

/* The end of the consumer's batch: one IQ tail write for the responses it held back. */
static int vtd_commit(void *priv)
{
	struct vtd_priv *vp = priv;
	unit_lock(vp);
	vtd_iq_ring(&vp->iq);
	unit_unlock(vp);
	return 0;
}

/* ---- the §7.10 drain ------------------------------------------------------------------------ */

static struct vtd_drain *drain_of(struct prqd_drain_step *op)
{
	return (struct vtd_drain *)(void *)op->priv;
}

/* Queue the four descriptors of one drain step with one doorbell (lock held). */
static int queue_drain(struct vtd_priv *vp, struct prqd_drain_step *op)
{
	const struct vtd_dev *vd = op->dev_priv;
	struct vtd_drain *dr = drain_of(op);
	struct vtd_desc descs[3];
	uint16_t sid = op->rid;
	uint8_t qdep = vd ? vd->qdep : 0;
	/* 1. Fence: what was queued before (the caller's own invalidations) completes first.
	 * It carries a status write because a wait without one is refused by QEMU 7.2. */
	vtd_desc_wait(&descs[0], VTD_WAIT_FN | VTD_WAIT_SW, 1, vp->fence_bus);
	if (op->scope == PRQD_SCOPE_PASID) {
		/* 2. The PASID's IOTLB entries, then 3. the device's ATC for the PASID, all of
		 * it: the device must answer, and its answer pushes its earlier page requests
		 * ahead of it (posted ordering). */
		vtd_desc_piotlb_all(&descs[1], vp->did, op->pasid);
		vtd_desc_pdevtlb_all(&descs[2], sid, sid, op->pasid, qdep);
	} else {
		/* Requests without PASID, or the whole function: the legacy domain-selective
		 * IOTLB and device-TLB invalidations (any completion from the device pushes all
		 * its earlier requests, whatever their PASID). */
		vtd_desc_iotlb_dsi(&descs[1], vp->did);
		vtd_desc_devtlb_all(&descs[2], sid, sid, qdep);
	}
	/* 4. The drain wait: status write and page-drain, appended by the engine. */
	int rc = submit(vp, descs, 3, VTD_WAIT_PD, &dr->ticket);
	if (rc < 0)
		return rc;
	dr->ite_count = vp->ite_count;
	return 0;
}

static int vtd_drain_start(void *priv, struct prqd_drain_step *op)
{
	struct vtd_priv *vp = priv;
	if (!vp->page_drain)
		return -PRQD_EOPNOTSUPP; /* level none: never queue a page-drain bit the unit reserves */
	if (op->scope < PRQD_SCOPE_PASID || op->scope > PRQD_SCOPE_DEVICE)
		return -PRQD_EINVAL;
	/* The PASID-based invalidations (types 6 and 8) exist only with ECAP.PASID. */
	if (op->scope == PRQD_SCOPE_PASID && !(vp->ecap & VTD_ECAP_PASID))
		return -PRQD_EOPNOTSUPP;
	struct vtd_drain *dr = drain_of(op);
	*dr = (struct vtd_drain){ 0 };
	unit_lock(vp);
	int rc = queue_drain(vp, op);
	unit_unlock(vp);
	if (rc < 0) {
		prqd_be_err(vp->iommu, "vtd: drain of %04x not queued: %d", op->rid, rc);
		return rc == -PRQD_EAGAIN ? -PRQD_EBUSY : rc;
	}
	op->commands = 4;
	op->doorbells = 1;
	return 0;
}

/* Was the step's wait aborted by another device's time-out, and only that? (lock held) Then
 * a new step is worth issuing. Not after a refused descriptor (no time-out seen since the
 * step was queued: the same batch would be refused again), nor when a time-out named this
 * device, or one named no device at all (older units report ITESID 0), or too many came to
 * tell. */
static bool aborted_by_another_device(const struct vtd_priv *vp, struct prqd_drain_step *op)
{
	const struct vtd_drain *dr = drain_of(op);
	uint64_t seen = vp->ite_count - dr->ite_count;
	if (seen == 0 || seen > VTD_ITE_HISTORY || vp->iq.broken)
		return false;
	for (uint64_t k = dr->ite_count; k < vp->ite_count; k++) {
		uint16_t sid = vp->ite_sid[k % VTD_ITE_HISTORY];
		if (sid == op->rid || sid == 0)
			return false;
	}
	return true;
}

/* The queue position just past the last entry present now (lock held). */
static uint64_t queue_mark(const struct vtd_priv *vp)
{
	uint64_t mask = vp->prq_bytes - 1;
	uint64_t tail = reg_read64(vp, VTD_REG_PQT) & mask & ~(uint64_t)(VTD_PRQ_ENTRY_SIZE - 1);
	return vp->prq_seq + ((tail - vp->prq_head) & mask) / VTD_PRQ_ENTRY_SIZE;
}

/* An abandoned wait: can the unit still write its status? (lock held) The engine keeps the
 * slot with the wait's value until that value is written or the wait is known dead. */
static bool abandoned_in_flight(const struct vtd_priv *vp, const struct vtd_drain *dr)
{
	uint32_t slot = dr->ticket.slot;
	return slot < VTD_IQ_MAX_WAITS && vp->iq.slot_value[slot] == dr->ticket.value &&
	       vp->iq.status[slot] != dr->ticket.value;
}

static int vtd_drain_poll(void *priv, struct prqd_drain_step *op)
{
	struct vtd_priv *vp = priv;
	struct vtd_drain *dr = drain_of(op);
	if (dr->result > 0)
		return 0; /* told already; queue_mark still holds */
	if (dr->result < 0)
		return dr->result;
	unit_lock(vp);
	if (dr->abandoned) {
		bool busy = abandoned_in_flight(vp, dr);
		unit_unlock(vp);
		if (busy)
			return -PRQD_EINPROGRESS;
		dr->result = -PRQD_EIO; /* nothing more will be written; its outcome is moot */
		return dr->result;
	}
	note_errors(vp);
	int rc = vtd_iq_poll(&vp->iq, &dr->ticket);
	note_errors(vp);
	if (rc == 0) {
		/* The page-drain wait completed: every request the device sent before it
		 * answered the invalidation is in the queue now. */
		op->queue_mark = queue_mark(vp);
		dr->result = 1;
		unit_unlock(vp);
		return 0;
	}
	if (rc == -PRQD_EIO && aborted_by_another_device(vp, op)) {
		/* Another device's time-out aborted our waits: this device answered or may
		 * still answer, so a new step would complete. Issuing it is the core's call. */
		unit_unlock(vp);
		prqd_be_info(vp->iommu, "vtd: drain of %04x aborted by another device's time-out",
			     op->rid);
		dr->result = -PRQD_EAGAIN;
		return dr->result;
	}
	unit_unlock(vp);
	if (rc == -PRQD_EINPROGRESS)
		return rc;
	if (rc == -PRQD_EIO && vp->ite_count != dr->ite_count)
		prqd_be_err(vp->iommu, "vtd: drain of %04x pasid %u failed: device-TLB invalidation "
				  "timed out (source-id %04x)",
			 op->rid, (unsigned)op->pasid, vp->ite_sid[(vp->ite_count - 1) % VTD_ITE_HISTORY]);
	else if (rc == -PRQD_EIO)
		prqd_be_err(vp->iommu, "vtd: drain of %04x pasid %u failed: the unit refused a "
				  "descriptor of the step%s",
			 op->rid, (unsigned)op->pasid, vp->iq.broken ? " (queue broken)" : "");
	dr->result = rc < 0 ? rc : -PRQD_EIO;
	return dr->result;
}

static int vtd_drain_release(void *priv, struct prqd_drain_step *op)
{
	struct vtd_priv *vp = priv;
	struct vtd_drain *dr = drain_of(op);
	if (dr->result != 0)
		return 0;
	int rc = vtd_drain_poll(priv, op);
	if (rc != -PRQD_EINPROGRESS)
		return 0;
	unit_lock(vp);
	if (!dr->abandoned) {
		/* The slot stays reserved until the unit writes this wait's own value, so the
		 * late write can never complete a newer wait. */
		vtd_iq_wait_abandon(&vp->iq, &dr->ticket);
		dr->abandoned = true;
	}
	bool busy = abandoned_in_flight(vp, dr);
	unit_unlock(vp);
	return busy ? -PRQD_EBUSY : 0;
}

/* ---- the gate ------------------------------------------------------------------------------- */

/*
 * The invalidations that follow a change of the PASID entry (lock held), in @descs; returns
 * how many (the engine appends the final status-write wait). Closing, in the order Linux's
 * PASID teardown adopted in 2026: the PASID cache (the unit's copy of the entry), then a
 * fence so that nothing after it starts before the unit stopped using the old entry (no
 * translation can refill the TLBs through it), then the IOTLB and the device's ATC, which
 * may hold translations made through it. Opening: the PASID cache only (nothing was cached
 * through a non-present entry). For requests without PASID the embedder changed the entry
 * at the context's RID_PASID, which the backend does not know: the whole domain's PASID
 * cache goes, with the legacy IOTLB and device-TLB invalidations the drain uses for them.
 */
static unsigned gate_descs(const struct vtd_priv *vp, const struct vtd_dev *vd, uint32_t pasid,
			   bool enable, struct vtd_desc *descs)
{
	bool rid_only = pasid == PRQD_NO_PASID;
	unsigned n = 0;
	vtd_desc_pasid_cache(&descs[n++], rid_only ? VTD_PC_GRAN_DOMAIN : VTD_PC_GRAN_PASID, vp->did,
			     rid_only ? 0 : pasid);
	if (enable)
		return n;
	/* With a status write: QEMU 7.2 refuses a wait without one. */
	vtd_desc_wait(&descs[n++], VTD_WAIT_FN | VTD_WAIT_SW, 1, vp->fence_bus);
	if (rid_only)
		vtd_desc_iotlb_dsi(&descs[n++], vp->did);
	else
		vtd_desc_piotlb_all(&descs[n++], vp->did, pasid);
	if (vp->ecap & VTD_ECAP_DT) {
		if (rid_only)
			vtd_desc_devtlb_all(&descs[n++], vd->rid, vd->rid, vd->qdep);
		else
			vtd_desc_pdevtlb_all(&descs[n++], vd->rid, vd->rid, pasid, vd->qdep);
	}
	return n;
}

/* Poll a gate's wait until it completes or vtd.gate_wait_us pass (lock held; dropped while
 * time passes so responses and drains of other threads go on). */
static int gate_wait(struct vtd_priv *vp, const struct vtd_wait *ticket)
{
	uint64_t deadline = prqd_be_now_ns(vp->iommu) + vp->gate_wait_ns;
	for (;;) {
		note_errors(vp);
		int rc = vtd_iq_poll(&vp->iq, ticket);
		note_errors(vp);
		if (rc != -PRQD_EINPROGRESS)
			return rc;
		if (prqd_be_now_ns(vp->iommu) >= deadline) {
			/* The batch stays queued: whatever is queued later runs after it. */
			vtd_iq_wait_abandon(&vp->iq, ticket);
			return -PRQD_ETIMEDOUT;
		}
		unit_unlock(vp);
		prqd_be_relax(vp->iommu);
		unit_lock(vp);
	}
}

static int vtd_gate(void *priv, void *dev_priv, uint32_t pasid, bool enable)
{
	struct vtd_priv *vp = priv;
	const struct vtd_dev *vd = dev_priv;
	const struct prqd_platform *pl = vp->plat;
	if (!vp->gate || !vd)
		return -PRQD_EOPNOTSUPP;
	if (pasid != PRQD_NO_PASID && !(vp->ecap & VTD_ECAP_PASID))
		return -PRQD_EOPNOTSUPP;
	int changed = pl->pasid_entry_set_present(pl->user, vd->rid, pasid, enable);
	if (changed < 0) {
		prqd_be_err(vp->iommu, "vtd: the platform could not %s the PASID entry of %04x pasid %u: %d",
			    enable ? "restore" : "clear", vd->rid, (unsigned)pasid, changed);
		return changed;
	}
	if (changed == 0)
		return 0; /* as it was: whoever changed it queued the invalidations */

	struct vtd_desc descs[4];
	unsigned n = gate_descs(vp, vd, pasid, enable, descs);
	struct vtd_wait ticket;
	unit_lock(vp);
	int rc = submit(vp, descs, n, VTD_WAIT_SW, &ticket);
	if (rc < 0) {
		unit_unlock(vp);
		/* Nothing queued: put the entry back, so it matches what the unit has cached. */
		pl->pasid_entry_set_present(pl->user, vd->rid, pasid, !enable);
		prqd_be_err(vp->iommu, "vtd: gate %s of %04x pasid %u not queued: %d",
			    enable ? "on" : "off", vd->rid, (unsigned)pasid, rc);
		return rc == -PRQD_EAGAIN ? -PRQD_EBUSY : rc;
	}
	rc = gate_wait(vp, &ticket);
	unit_unlock(vp);
	if (rc < 0)
		prqd_be_err(vp->iommu, "vtd: gate %s of %04x pasid %u: invalidations %s (%d)",
			    enable ? "on" : "off", vd->rid, (unsigned)pasid,
			    rc == -PRQD_ETIMEDOUT ? "not complete in time" : "failed", rc);
	return rc;
}

/* ---- the backend ---------------------------------------------------------------------------- */

static const struct prqd_param_def vtd_params[] = {
	{ "vtd.iq_order", "invalidation queue size: 2^N 4-KiB pages", 0, 0, 7, NULL },
	{ "vtd.prq_order",
	  "page request queue size: 2^N 4-KiB pages, 2^(N+7) entries (Linux uses 4)", 4, 0, 7,
	  NULL },
	{ "vtd.did", "domain id used in the drain's and the gate's invalidations", 1, 0, 65535,
	  NULL },
	{ "vtd.gate_wait_us",
	  "bound on one gate call: the invalidations after a PASID entry changed, the device's "
	  "answer to the device-TLB invalidation included",
	  2000, 1, 1000000, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

const struct prqd_backend prqd_backend_vtd = {
	.version = PRQD_BACKEND_VERSION,
	.name = "vtd",
	.help = "Intel VT-d: page request queue, invalidation queue and the §7.10 drain, "
		"through the platform's MMIO and DMA callbacks",
	.priv_size = sizeof(struct vtd_priv),
	.drain_priv_size = sizeof(struct vtd_drain),
	.params = vtd_params,
	.ops = {
		.probe = vtd_probe,
		.init = vtd_init,
		.fini = vtd_fini,
		.dev_attach = vtd_dev_attach,
		.dev_detach = vtd_dev_detach,
		.gate = vtd_gate,
		.fetch = vtd_fetch,
		.queue_tail = vtd_queue_tail,
		.respond = vtd_respond,
		.drain_start = vtd_drain_start,
		.drain_poll = vtd_drain_poll,
		.drain_release = vtd_drain_release,
		.overflow_pending = vtd_overflow_pending,
		.overflow_ack = vtd_overflow_ack,
		.commit = vtd_commit,
	},
};
