/* SPDX-License-Identifier: MIT */
/*
 * The "smmuv3" backend: Arm SMMUv3 at register level, through the platform table only (MMIO
 * at offsets of the SMMU's window, DMA memory, clock). Facts: ../shared/reference/pri-facts.md
 * §2 and §4.2.
 *
 *  - The PRI queue (PRIQ_BASE/PROD/CONS, 16-byte records) is read by fetch; records are
 *    decoded with their StreamID, SubstreamID (when SSV), permissions, Last and PRG index.
 *    Stop markers (Last, no access, SSV) go up as they are: the core never answers one.
 *  - Stall faults (event queue records with Stall set) go up through the stall fields of
 *    struct prqd_hw_req and are answered with CMD_RESUME (stall_resume).
 *  - Responses are CMD_PRI_RESP commands, Resp mapped explicitly (Success 0b10, Invalid 0b01,
 *    Failure 0b00).
 *  - A drain step is TLB invalidation, CMD_SYNC, ATC invalidation of the whole range of the
 *    PASID (or of the stream), CMD_SYNC: one batch, one CMDQ_PROD write. Its mark is the PRI
 *    queue's producer position read after the last sync completed (level snapshot; why that
 *    bounds the requests in flight is written at smmuv3_drain_poll).
 *  - Overflow: PRIQ_PROD.OVFLG differs from the OVACKFLG software last wrote in PRIQ_CONS;
 *    acknowledged with one CONS write once the queue is read empty (Arm §8.1.1).
 *
 * The SMMU's translation set-up (stream table, context descriptors, SMMUEN, CR1/CR2) belongs
 * to the embedder: this backend owns the three queues only, and turns their enables off and
 * on around programming them.
 *
 * Queue positions: the PRI queue and the stall records of the event queue are read into one
 * sequence. A stall record is stamped, when software first sees it, with the PRI queue's
 * producer position of that moment, and goes up after every page request below its stamp
 * and before any at or above it. So whatever is in either queue when queue_tail (or a drain
 * mark) is taken is numbered below the position it returns, and whatever arrives later at or
 * above it. Stall records are copied out of the event queue as soon as they are seen (the
 * event queue also carries faults that are only logged); at most IDR5.STALL_MAX stalls can
 * be outstanding, which sizes the copy.
 *
 * Freestanding like the core. The command queue engine is not thread-safe: every use of it,
 * and of the queues' software state, is serialised by one platform lock.
 */
#include "lib/backend.h"
#include "backends/smmuv3/smmuv3-cmdq.h"
#include "backends/smmuv3/smmuv3-regs.h"

#define PAGE_4K 4096u
#define STALL_COPY_MAX 65536u /* IDR5.STALL_MAX is 16 bits */

/* A stall record copied out of the event queue, waiting for fetch. */
struct smmuv3_stall {
	uint64_t stamp; /* PRI queue producer position when it was seen */
	uint64_t addr;
	uint32_t sid;
	uint32_t ssid;
	uint16_t stag;
	bool ssv, read, exec, priv;
};

/* One of the SMMU's output queues (PRI or event queue) as software sees it. */
struct smmuv3_outq {
	void *mem;
	uint64_t bus;
	size_t bytes;
	unsigned log2size;
	uint32_t entries;
	uint32_t entry_size;
	uint64_t prod_reg, cons_reg; /* register offsets */
	uint64_t cons;      /* position of the next record software reads */
	uint32_t ovack;     /* the OVACKFLG software writes back (bit 31) */
};

struct smmuv3_priv {
	struct prqd_iommu *iommu;
	const struct prqd_platform *plat;
	void *lock;

	uint32_t idr0, idr1, idr3, idr5;
	bool pri, ats, stall;
	bool set_smmuen; /* init turned SMMUEN on (smmuv3.smmuen): fini turns it off */
	uint16_t vmid;
	bool drain_tlbi;
	uint64_t ack_timeout_ns, room_wait_ns;

	struct smmuv3_cmdq cmdq;
	struct smmuv3_outq priq, evtq;
	bool has_priq, has_evtq;

	/* Stall records seen and not yet fetched: a ring of stall_cap. */
	struct smmuv3_stall *stalls;
	uint32_t stall_cap, stall_head, stall_count;

	uint64_t seq;          /* position of the next request fetch returns */
	bool priq_lost;        /* PRIQ_ABT_ERR: records dropped, reported as an overflow */
	bool broken;           /* service failure mode: fetch fails */
	uint64_t events_logged, events_lost, stalls_left; /* for the log */
};

struct smmuv3_dev {
	uint32_t sid; /* StreamID */
	uint16_t rid;
};

/* What a drain step keeps after struct prqd_drain_step. */
struct smmuv3_drain {
	struct smmuv3_sync ticket;
	int32_t result; /* 0 in flight; 1 complete; negative errno failed */
};

static uint32_t reg_read32(const struct smmuv3_priv *sp, uint64_t off)
{
	return sp->plat->mmio_read32(sp->plat->user, off);
}

static void reg_write32(const struct smmuv3_priv *sp, uint64_t off, uint32_t v)
{
	sp->plat->mmio_write32(sp->plat->user, off, v);
}

static void unit_lock(struct smmuv3_priv *sp)
{
	prqd_be_lock(sp->iommu, sp->lock);
}

static void unit_unlock(struct smmuv3_priv *sp)
{
	prqd_be_unlock(sp->iommu, sp->lock);
}

static unsigned field(uint32_t reg, unsigned shift, uint32_t mask)
{
	return (reg >> shift) & mask;
}

/* ---- probe ------------------------------------------------------------------------------- */

/* The raw table the embedder gave: fields past its size, or NULL, are absent. */
static bool has_mmio(const struct prqd_platform *plat)
{
	return plat &&
	       plat->size >= offsetof(struct prqd_platform, mmio_read64) + sizeof(plat->mmio_read64) &&
	       plat->mmio_read32;
}

/* Does this look like an SMMUv3 that can take page requests or stalls? A window where nothing
 * answers reads all ones; another unit's registers lack translation table formats or queue
 * sizes at these offsets. */
static bool looks_like_smmuv3(uint32_t idr0, uint32_t idr1)
{
	if (idr0 == UINT32_MAX || idr0 == 0 || idr1 == UINT32_MAX)
		return false;
	if (field(idr0, SMMUV3_IDR0_TTF_SHIFT, SMMUV3_IDR0_TTF_MASK) == 0)
		return false;
	if (field(idr1, SMMUV3_IDR1_CMDQS_SHIFT, SMMUV3_IDR1_QS_MASK) == 0 ||
	    field(idr1, SMMUV3_IDR1_EVTQS_SHIFT, SMMUV3_IDR1_QS_MASK) == 0)
		return false;
	return true;
}

static bool can_stall(uint32_t idr0)
{
	return field(idr0, SMMUV3_IDR0_STALL_SHIFT, SMMUV3_IDR0_STALL_MASK) !=
	       SMMUV3_STALL_MODEL_TERMINATE;
}

static int smmuv3_probe(const struct prqd_platform *plat)
{
	if (!has_mmio(plat))
		return -PRQD_ENODEV;
	uint32_t idr0 = plat->mmio_read32(plat->user, SMMUV3_REG_IDR0);
	uint32_t idr1 = plat->mmio_read32(plat->user, SMMUV3_REG_IDR1);
	if (!looks_like_smmuv3(idr0, idr1))
		return -PRQD_ENODEV;
	return (idr0 & SMMUV3_IDR0_PRI) || can_stall(idr0) ? 0 : -PRQD_ENODEV;
}

/* ---- output queues ---------------------------------------------------------------------- */

static uint32_t outq_wrap_mask(const struct smmuv3_outq *q)
{
	return (q->entries << 1) - 1;
}

/* The producer position PROD names, from the register's value: the SMMU never writes more
 * than one queue ahead of software. */
static uint64_t outq_prod(const struct smmuv3_outq *q, uint32_t prod_reg)
{
	uint32_t ahead = (prod_reg - (uint32_t)q->cons) & outq_wrap_mask(q);

	if (ahead > q->entries)
		ahead = q->entries; /* nonsense from the register: read no more than a queue */
	/* The records PROD covers are read after it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return q->cons + ahead;
}

static const volatile uint64_t *outq_record(const struct smmuv3_outq *q, uint64_t pos)
{
	uint32_t index = (uint32_t)pos & (q->entries - 1);

	return (const volatile uint64_t *)((unsigned char *)q->mem + (size_t)index * q->entry_size);
}

/* Tell the SMMU how far software read, keeping the overflow acknowledge as it was. */
static void outq_write_cons(const struct smmuv3_priv *sp, const struct smmuv3_outq *q)
{
	/* Every read of the records given back is done before the SMMU may overwrite them. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	reg_write32(sp, q->cons_reg, ((uint32_t)q->cons & outq_wrap_mask(q)) | q->ovack);
}

static int outq_setup(struct smmuv3_priv *sp, struct smmuv3_outq *q, unsigned order,
		      unsigned max_order, uint32_t entry_size, uint64_t base_reg, uint64_t prod_reg,
		      uint64_t cons_reg)
{
	void *va;

	q->log2size = order < max_order ? order : max_order;
	q->entries = 1u << q->log2size;
	q->entry_size = entry_size;
	q->bytes = (size_t)q->entries * entry_size;
	q->prod_reg = prod_reg;
	q->cons_reg = cons_reg;
	/* The base must be aligned to the queue's size (32 bytes at least). */
	int rc = prqd_be_dma_alloc(sp->iommu, q->bytes, q->bytes < 32 ? 32 : q->bytes, &va, &q->bus);
	if (rc < 0)
		return rc;
	q->mem = va;
	sp->plat->mmio_write64(sp->plat->user, base_reg,
			       (q->bus & SMMUV3_Q_BASE_ADDR_MASK) | SMMUV3_Q_BASE_RWA | q->log2size);
	reg_write32(sp, prod_reg, 0);
	reg_write32(sp, cons_reg, 0);
	q->cons = 0;
	q->ovack = 0;
	return 0;
}

static void outq_free(struct smmuv3_priv *sp, struct smmuv3_outq *q)
{
	prqd_be_dma_free(sp->iommu, q->mem, q->bytes);
	q->mem = NULL;
}

/* ---- errors ------------------------------------------------------------------------------- */

/* Look at what the command queue engine found (lock held) and log it. */
static void note_cmdq_errors(struct smmuv3_priv *sp)
{
	struct smmuv3_cmdq_error err;
	if (smmuv3_cmdq_errors(&sp->cmdq, &err) == 0)
		return;
	if (err.ill)
		prqd_be_err(sp->iommu, "smmuv3: illegal command (opcode %#x) at position %llu replaced",
			    err.ill_opcode, (unsigned long long)err.ill_pos);
	if (err.atc_inv_sync)
		prqd_be_err(sp->iommu, "smmuv3: ATC invalidation timed out (CMD_SYNC at %llu)",
			    (unsigned long long)err.atc_pos);
	if (err.abt)
		prqd_be_err(sp->iommu, "smmuv3: %u command fetch aborts", (unsigned)err.abt);
	if (err.unknown || sp->cmdq.broken)
		prqd_be_err(sp->iommu, "smmuv3: the command queue is stopped for good");
}

/* Global errors other than the command queue's (lock held): acknowledge and remember. */
static void note_global_errors(struct smmuv3_priv *sp)
{
	const uint32_t mine = SMMUV3_GERROR_EVTQ_ABT | SMMUV3_GERROR_PRIQ_ABT |
			      SMMUV3_GERROR_MSI_EVTQ_ABT | SMMUV3_GERROR_MSI_PRIQ_ABT |
			      SMMUV3_GERROR_MSI_GERROR_ABT | SMMUV3_GERROR_SFM;
	uint32_t gerrorn = reg_read32(sp, SMMUV3_REG_GERRORN);
	uint32_t active = (reg_read32(sp, SMMUV3_REG_GERROR) ^ gerrorn) & mine;
	if (!active)
		return;
	if (active & SMMUV3_GERROR_PRIQ_ABT) {
		/* Records were lost (their Last ones answered Failure by the SMMU): partial
		 * groups may never complete, as after an overflow. */
		sp->priq_lost = true;
		prqd_be_err(sp->iommu, "smmuv3: PRI queue write aborted, page requests lost");
	}
	if (active & SMMUV3_GERROR_EVTQ_ABT)
		prqd_be_err(sp->iommu, "smmuv3: event queue write aborted");
	if (active & SMMUV3_GERROR_SFM) {
		sp->broken = true;
		prqd_be_err(sp->iommu, "smmuv3: service failure mode");
	}
	reg_write32(sp, SMMUV3_REG_GERRORN, gerrorn ^ active);
}

/* Queue a batch, waiting a bounded time for room (lock held). */
static int submit(struct smmuv3_priv *sp, const struct smmuv3_cmd *cmds, unsigned n,
		  struct smmuv3_sync *ticket)
{
	uint64_t start = prqd_be_now_ns(sp->iommu);
	for (;;) {
		int rc = smmuv3_cmdq_submit(&sp->cmdq, cmds, n, ticket);
		if (rc != -PRQD_EAGAIN)
			return rc;
		/* A full queue empties as the SMMU works, unless an error holds it. */
		note_cmdq_errors(sp);
		if (prqd_be_now_ns(sp->iommu) - start > sp->room_wait_ns)
			return rc;
		prqd_be_relax(sp->iommu);
	}
}

/* Queue @n commands and a sync and wait for it, for at most @timeout_ns (lock held). */
static int submit_and_wait(struct smmuv3_priv *sp, const struct smmuv3_cmd *cmds, unsigned n,
			   uint64_t timeout_ns)
{
	struct smmuv3_sync t;
	int rc = submit(sp, cmds, n, &t);
	if (rc < 0)
		return rc;
	rc = smmuv3_cmdq_wait(&sp->cmdq, &t, timeout_ns);
	note_cmdq_errors(sp);
	return rc;
}

/* ---- the event queue: stall records --------------------------------------------------------- */

static void decode_stall(const volatile uint64_t *e, uint64_t stamp, struct smmuv3_stall *s)
{
	uint64_t dw0 = e[0], dw1 = e[1];
	s->stamp = stamp;
	s->sid = (uint32_t)(dw0 >> SMMUV3_CMD_SID_SHIFT);
	s->ssv = (dw0 & SMMUV3_EVT0_SSV) != 0;
	s->ssid = s->ssv ? (uint32_t)(dw0 >> SMMUV3_CMD_SSID_SHIFT) & SMMUV3_SSID_MASK : 0;
	s->stag = (uint16_t)(dw1 & SMMUV3_EVT1_STAG_MASK);
	s->read = (dw1 & SMMUV3_EVT1_RNW) != 0;
	s->exec = (dw1 & SMMUV3_EVT1_IND) != 0;
	s->priv = (dw1 & SMMUV3_EVT1_PNU) != 0;
	s->addr = e[2];
}

static bool is_stall_record(const volatile uint64_t *e)
{
	unsigned id = (unsigned)(e[0] & SMMUV3_EVT0_ID_MASK);
	return (e[1] & SMMUV3_EVT1_STALL) && id >= SMMUV3_EVT_F_TRANSLATION &&
	       id <= SMMUV3_EVT_F_PERMISSION;
}

/* The PRI queue's producer position now (lock held); the consumer position without one. */
static uint64_t priq_prod_now(const struct smmuv3_priv *sp)
{
	if (!sp->has_priq)
		return sp->priq.cons;
	return outq_prod(&sp->priq, reg_read32(sp, sp->priq.prod_reg));
}

/* Copy the stall records of the event queue out, stamped with @stamp, and log the other
 * events (lock held). Records that do not fit stay in the queue (never happens with an SMMU
 * that keeps to IDR5.STALL_MAX; logged). */
static void pull_events(struct smmuv3_priv *sp, uint64_t stamp)
{
	struct smmuv3_outq *q = &sp->evtq;
	if (!sp->has_evtq)
		return;
	uint32_t prod_reg = reg_read32(sp, q->prod_reg);
	uint64_t prod = outq_prod(q, prod_reg);
	uint64_t start = q->cons;
	while (q->cons < prod) {
		const volatile uint64_t *e = outq_record(q, q->cons);
		if (is_stall_record(e)) {
			if (sp->stall_count == sp->stall_cap) {
				sp->stalls_left++;
				prqd_be_err(sp->iommu, "smmuv3: more stalls than IDR5.STALL_MAX; "
						       "left in the event queue");
				break;
			}
			uint32_t at = (sp->stall_head + sp->stall_count) % sp->stall_cap;
			decode_stall(e, stamp, &sp->stalls[at]);
			sp->stall_count++;
		} else {
			sp->events_logged++;
			prqd_be_info(sp->iommu, "smmuv3: event %#x for stream %u",
				     (unsigned)(e[0] & SMMUV3_EVT0_ID_MASK), (unsigned)(e[0] >> 32));
		}
		q->cons++;
	}
	/* Event queue overflow: faults were lost (stall records never are). Acknowledged with
	 * the queue read empty. */
	uint32_t ovflg = prod_reg & SMMUV3_Q_OVF;
	bool ack = ovflg != q->ovack && q->cons == prod;
	if (ack) {
		q->ovack = ovflg;
		sp->events_lost++;
		prqd_be_warn(sp->iommu, "smmuv3: event queue overflowed, events lost");
	}
	if (q->cons != start || ack)
		outq_write_cons(sp, q);
}

/* ---- probe, init, fini ---------------------------------------------------------------------- */

static void release_all(struct smmuv3_priv *sp)
{
	uint32_t off = (sp->has_priq || sp->has_evtq ? SMMUV3_CR0_PRIQEN | SMMUV3_CR0_EVTQEN : 0) |
		       (sp->set_smmuen ? SMMUV3_CR0_SMMUEN : 0);
	if (off)
		(void)smmuv3_cr0_update(sp->plat, off, 0, sp->ack_timeout_ns);
	sp->set_smmuen = false;
	smmuv3_cmdq_fini(&sp->cmdq);
	if (sp->priq.mem)
		outq_free(sp, &sp->priq);
	if (sp->evtq.mem)
		outq_free(sp, &sp->evtq);
	if (sp->stalls)
		prqd_be_free(sp->iommu, sp->stalls, (size_t)sp->stall_cap * sizeof(*sp->stalls));
	sp->stalls = NULL;
	sp->has_priq = sp->has_evtq = false;
	prqd_be_lock_free(sp->iommu, sp->lock);
	sp->lock = NULL;
}

static int smmuv3_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	struct smmuv3_priv *sp = priv;
	sp->iommu = iommu;
	sp->plat = prqd_iommu_platform(iommu);

	sp->idr0 = reg_read32(sp, SMMUV3_REG_IDR0);
	sp->idr1 = reg_read32(sp, SMMUV3_REG_IDR1);
	sp->idr3 = reg_read32(sp, SMMUV3_REG_IDR3);
	sp->idr5 = reg_read32(sp, SMMUV3_REG_IDR5);
	if (!looks_like_smmuv3(sp->idr0, sp->idr1)) {
		prqd_be_err(iommu, "smmuv3: no SMMUv3 answers in the register window (IDR0 %#x)",
			    sp->idr0);
		return -PRQD_ENODEV;
	}
	sp->pri = (sp->idr0 & SMMUV3_IDR0_PRI) != 0;
	sp->ats = (sp->idr0 & SMMUV3_IDR0_ATS) != 0;
	sp->stall = can_stall(sp->idr0);
	if (!sp->pri && !sp->stall) {
		prqd_be_err(iommu, "smmuv3: the SMMU has neither PRI nor stalls (IDR0 %#x)", sp->idr0);
		return -PRQD_EOPNOTSUPP;
	}
	sp->vmid = (uint16_t)prqd_iommu_param(iommu, "smmuv3.vmid");
	sp->drain_tlbi = prqd_iommu_param(iommu, "smmuv3.drain_tlbi") != 0;
	sp->ack_timeout_ns = prqd_iommu_param(iommu, "smmuv3.ack_timeout_us") * 1000;
	sp->room_wait_ns = prqd_iommu_param(iommu, "smmuv3.room_wait_us") * 1000;

	int rc = prqd_be_lock_new(iommu, &sp->lock);
	if (rc < 0)
		return rc;
	rc = smmuv3_cmdq_init(&sp->cmdq, sp->plat, (unsigned)prqd_iommu_param(iommu, "smmuv3.cmdq_order"),
			      prqd_iommu_param(iommu, "smmuv3.msi") != 0, sp->ack_timeout_ns);
	if (rc < 0) {
		prqd_be_err(iommu, "smmuv3: command queue setup failed: %d", rc);
		goto fail;
	}
	/* Queue bases may only change while their queues are off. */
	rc = smmuv3_cr0_update(sp->plat, SMMUV3_CR0_PRIQEN | SMMUV3_CR0_EVTQEN, 0, sp->ack_timeout_ns);
	if (rc < 0)
		goto fail;
	uint32_t enable = SMMUV3_CR0_EVTQEN;
	rc = outq_setup(sp, &sp->evtq, (unsigned)prqd_iommu_param(iommu, "smmuv3.evtq_order"),
			field(sp->idr1, SMMUV3_IDR1_EVTQS_SHIFT, SMMUV3_IDR1_QS_MASK),
			SMMUV3_EVTQ_ENTRY_SIZE, SMMUV3_REG_EVTQ_BASE, SMMUV3_REG_EVTQ_PROD,
			SMMUV3_REG_EVTQ_CONS);
	if (rc < 0)
		goto fail;
	sp->has_evtq = true;
	if (sp->pri) {
		unsigned max = field(sp->idr1, SMMUV3_IDR1_PRIQS_SHIFT, SMMUV3_IDR1_QS_MASK);
		rc = outq_setup(sp, &sp->priq, (unsigned)prqd_iommu_param(iommu, "smmuv3.priq_order"),
				max ? max : 1, SMMUV3_PRIQ_ENTRY_SIZE, SMMUV3_REG_PRIQ_BASE,
				SMMUV3_REG_PRIQ_PROD, SMMUV3_REG_PRIQ_CONS);
		if (rc < 0)
			goto fail;
		sp->has_priq = true;
		enable |= SMMUV3_CR0_PRIQEN;
	}
	if (sp->stall) {
		uint32_t stall_max = field(sp->idr5, SMMUV3_IDR5_STALL_MAX_SHIFT, 0xFFFFu);
		sp->stall_cap = stall_max > sp->evtq.entries ? stall_max : sp->evtq.entries;
		if (sp->stall_cap > STALL_COPY_MAX)
			sp->stall_cap = STALL_COPY_MAX;
		sp->stalls = prqd_be_alloc(iommu, (size_t)sp->stall_cap * sizeof(*sp->stalls));
		if (!sp->stalls) {
			rc = -PRQD_ENOMEM;
			goto fail;
		}
	}
	/* A stale global error from an earlier owner goes first. */
	note_global_errors(sp);
	sp->broken = false;
	sp->priq_lost = false;
	if (prqd_iommu_param(iommu, "smmuv3.smmuen") &&
	    !(reg_read32(sp, SMMUV3_REG_CR0ACK) & SMMUV3_CR0_SMMUEN)) {
		enable |= SMMUV3_CR0_SMMUEN;
		sp->set_smmuen = true;
	}
	rc = smmuv3_cr0_update(sp->plat, enable, enable, sp->ack_timeout_ns);
	if (rc < 0) {
		prqd_be_err(iommu, "smmuv3: queues did not come up (CR0ACK %#x)",
			    reg_read32(sp, SMMUV3_REG_CR0ACK));
		goto fail;
	}
	if (sp->pri && !(reg_read32(sp, SMMUV3_REG_CR0ACK) & SMMUV3_CR0_SMMUEN))
		prqd_be_warn(iommu, "smmuv3: SMMUEN is off: the SMMU answers page requests Failure "
				    "until the embedder enables it");
	/* Without ATS there is no ATC invalidation, so nothing pushes a device's page
	 * requests ahead of a sync: no hardware drain. */
	caps->drain_level = sp->pri && sp->ats ? PRQD_LEVEL_SNAPSHOT : PRQD_LEVEL_NONE;
	caps->flags = 0; /* no per-stream page request gate (pri-facts §2.5), no private data */
	prqd_be_info(iommu, "smmuv3: IDR0 %#x IDR1 %#x IDR3 %#x, %u-entry PRI queue, %u-entry "
			    "event queue, %u-command queue%s",
		     sp->idr0, sp->idr1, sp->idr3, sp->has_priq ? sp->priq.entries : 0,
		     sp->evtq.entries, sp->cmdq.entries, sp->stall ? ", stalls" : "");
	return 0;
fail:
	release_all(sp);
	return rc;
}

static void smmuv3_fini(struct prqd_iommu *iommu, void *priv)
{
	struct smmuv3_priv *sp = priv;
	/* The queues' memory goes: the SMMU must stop writing into it first. */
	release_all(sp);
}

/* ---- devices ----------------------------------------------------------------------------- */

static int smmuv3_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	struct smmuv3_priv *sp = priv;
	struct smmuv3_dev *sd = prqd_be_alloc(sp->iommu, sizeof(*sd));
	if (!sd)
		return -PRQD_ENOMEM;
	sd->rid = info->rid;
	sd->sid = info->has_source_id ? info->source_id : info->rid;
	*dev_priv = sd;
	return 0;
}

/*
 * The stream goes: its stalled transactions are terminated (CMD_STALL_TERM, then a sync so
 * the termination is done before the device's state is freed). The spec's shutdown order
 * has the embedder set the stream's STE to abort (CFGI_STE, sync) before this, so nothing new
 * stalls; stall records already copied out still go up and are answered (a CMD_RESUME that
 * matches nothing is ignored).
 */
static void smmuv3_dev_detach(void *priv, void *dev_priv)
{
	struct smmuv3_priv *sp = priv;
	struct smmuv3_dev *sd = dev_priv;
	if (sp->stall && sd) {
		struct smmuv3_cmd term;
		smmuv3_cmd_stall_term(&term, sd->sid);
		unit_lock(sp);
		int rc = submit_and_wait(sp, &term, 1, sp->ack_timeout_ns);
		unit_unlock(sp);
		if (rc < 0)
			prqd_be_err(sp->iommu, "smmuv3: stall termination of stream %u: %d",
				    (unsigned)sd->sid, rc);
	}
	prqd_be_free(sp->iommu, dev_priv, sizeof(struct smmuv3_dev));
}

/* ---- fetch -------------------------------------------------------------------------------- */

static void decode_ppr(const volatile uint64_t *e, struct prqd_hw_req *out)
{
	uint64_t dw0 = e[0], dw1 = e[1];
	struct prqd_request *r = &out->req;
	*out = (struct prqd_hw_req){ 0 };
	r->source_id = (uint32_t)dw0; /* StreamID [31:0] */
	r->rid = (uint16_t)dw0;       /* for PCIe, the requester ID is StreamID [15:0] */
	r->pasid_valid = (dw0 & SMMUV3_PRIQ0_SSV) != 0;
	r->pasid = r->pasid_valid ? (uint32_t)(dw0 >> SMMUV3_PRIQ0_SSID_SHIFT) & SMMUV3_SSID_MASK : 0;
	r->priv = (dw0 & SMMUV3_PRIQ0_PRIV) != 0;
	r->exec = (dw0 & SMMUV3_PRIQ0_EXEC) != 0;
	r->read = (dw0 & SMMUV3_PRIQ0_READ) != 0;
	r->write = (dw0 & SMMUV3_PRIQ0_WRITE) != 0;
	r->last = (dw0 & SMMUV3_PRIQ0_LAST) != 0;
	r->prg_index = (uint16_t)(dw1 & SMMUV3_PRIQ1_PRGI_MASK);
	r->addr = dw1 & ~SMMUV3_PAGE_MASK;
	/* Reserved bits set, or execute / privileged without a PASID prefix (the SMMU reports
	 * them 0 then): not a record an SMMU writes. Stop markers go up as they are; the core
	 * keeps the books on them and never answers one. */
	out->malformed = (dw0 & SMMUV3_PRIQ0_RES0) || (dw1 & SMMUV3_PRIQ1_RES0) ||
			 (!r->pasid_valid && (r->exec || r->priv));
}

static void stall_to_req(const struct smmuv3_stall *s, struct prqd_hw_req *out)
{
	struct prqd_request *r = &out->req;
	*out = (struct prqd_hw_req){ 0 };
	r->source_id = s->sid;
	r->rid = (uint16_t)s->sid;
	r->pasid_valid = s->ssv;
	r->pasid = s->ssid;
	r->read = s->read;
	r->write = !s->read;
	r->exec = s->exec;
	r->priv = s->priv;
	r->last = true;
	r->addr = s->addr & ~SMMUV3_PAGE_MASK;
	r->stall = true;
	out->stall = true;
	out->stall_tag = s->stag;
}

static int smmuv3_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	struct smmuv3_priv *sp = priv;
	unit_lock(sp);
	note_global_errors(sp);
	/* The consumer runs often, drains may not: a command error that holds the queue, and
	 * with it every response, is handled here too. */
	note_cmdq_errors(sp);
	if (sp->broken) {
		unit_unlock(sp);
		return -PRQD_EIO;
	}
	pull_events(sp, priq_prod_now(sp));
	/* Read after the pull: every stamp is at or below it. */
	uint64_t priq_prod = priq_prod_now(sp);
	uint64_t priq_start = sp->priq.cons;
	unsigned n = 0;
	while (n < max) {
		struct prqd_hw_req *o = &out[n];
		if (sp->stall_count && sp->stalls[sp->stall_head].stamp <= sp->priq.cons) {
			stall_to_req(&sp->stalls[sp->stall_head], o);
			sp->stall_head = (sp->stall_head + 1) % sp->stall_cap;
			sp->stall_count--;
		} else if (sp->priq.cons < priq_prod) {
			decode_ppr(outq_record(&sp->priq, sp->priq.cons), o);
			sp->priq.cons++;
		} else {
			break;
		}
		o->seq = sp->seq;
		/* The position names the entry for a simulator's checker; 0 stays "none". */
		o->tag = sp->seq + 1;
		sp->seq++;
		n++;
	}
	/* One CONS write for the batch; the overflow acknowledge is kept as it was. */
	if (sp->priq.cons != priq_start)
		outq_write_cons(sp, &sp->priq);
	unit_unlock(sp);
	return (int)n;
}

/* The position just past everything in both queues now (lock held): page requests below the
 * PRI queue's producer and every stall record seen, which the pull stamps at or below it. */
static uint64_t queue_mark(struct smmuv3_priv *sp)
{
	uint64_t priq_prod = priq_prod_now(sp);
	pull_events(sp, priq_prod);
	return sp->seq + (priq_prod - sp->priq.cons) + sp->stall_count;
}

static int smmuv3_queue_tail(void *priv, uint64_t *pos)
{
	struct smmuv3_priv *sp = priv;
	unit_lock(sp);
	*pos = queue_mark(sp);
	unit_unlock(sp);
	return 0;
}

static int smmuv3_overflow_pending(void *priv)
{
	struct smmuv3_priv *sp = priv;
	if (!sp->has_priq)
		return 0;
	unit_lock(sp);
	uint32_t prod_reg = reg_read32(sp, sp->priq.prod_reg);
	int pending = (prod_reg & SMMUV3_Q_OVF) != sp->priq.ovack || sp->priq_lost;
	unit_unlock(sp);
	return pending;
}

/* Arm §8.1.1: with the queue read up to its producer, one CONS write moves RD there and
 * copies OVFLG into OVACKFLG. While the overflow was active the SMMU wrote nothing, so the
 * queue read empty stays empty until this write. */
static int smmuv3_overflow_ack(void *priv)
{
	struct smmuv3_priv *sp = priv;
	if (!sp->has_priq)
		return 0;
	unit_lock(sp);
	uint32_t prod_reg = reg_read32(sp, sp->priq.prod_reg);
	if (outq_prod(&sp->priq, prod_reg) != sp->priq.cons) {
		unit_unlock(sp);
		return -PRQD_EBUSY;
	}
	sp->priq.ovack = prod_reg & SMMUV3_Q_OVF;
	sp->priq_lost = false;
	outq_write_cons(sp, &sp->priq);
	unit_unlock(sp);
	return 0;
}

/* ---- responses ---------------------------------------------------------------------------- */

/* Generic response codes to CMD_PRI_RESP's Resp field, spelled out: not the PCIe wire code. */
static int pri_resp_code(uint8_t code, unsigned *out)
{
	switch (code) {
	case PRQD_RESP_SUCCESS: *out = SMMUV3_PRI_RESP_SUCCESS; return 0;
	case PRQD_RESP_INVALID: *out = SMMUV3_PRI_RESP_INVALID; return 0;
	case PRQD_RESP_FAILURE: *out = SMMUV3_PRI_RESP_FAILURE; return 0;
	default: return -PRQD_EINVAL;
	}
}

/* Queue one command without a sync (a response completes on consumption) and log failure. */
static int submit_one(struct smmuv3_priv *sp, const struct smmuv3_cmd *cmd, const char *what,
		      uint32_t sid, unsigned index)
{
	unit_lock(sp);
	int rc = submit(sp, cmd, 1, NULL);
	unit_unlock(sp);
	if (rc < 0)
		prqd_be_err(sp->iommu, "smmuv3: %s to stream %u index %u not queued: %d", what,
			    (unsigned)sid, index, rc);
	return rc == -PRQD_EAGAIN ? -PRQD_EBUSY : rc; /* no room in time */
}

static int smmuv3_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	struct smmuv3_priv *sp = priv;
	(void)dev_priv; /* the command names the stream itself */
	unsigned code;
	if (pri_resp_code(resp->code, &code) < 0)
		return -PRQD_EINVAL;
	struct smmuv3_cmd cmd;
	/* SSV: the core sets pasid_present when the device requires the PASID (its "PRG
	 * Response PASID Required" bit) and the request carried one. */
	smmuv3_cmd_pri_resp(&cmd, resp->source_id, resp->pasid_present, resp->pasid,
			    resp->prg_index, code);
	return submit_one(sp, &cmd, "page response", resp->source_id, resp->prg_index);
}

/* Success retries the stalled transaction; Invalid and Failure abort it. */
static int resume_action(uint8_t code, unsigned *out)
{
	switch (code) {
	case PRQD_RESP_SUCCESS: *out = SMMUV3_RESUME_RETRY; return 0;
	case PRQD_RESP_INVALID:
	case PRQD_RESP_FAILURE: *out = SMMUV3_RESUME_ABORT; return 0;
	default: return -PRQD_EINVAL;
	}
}

static int smmuv3_stall_resume(void *priv, void *dev_priv, const struct prqd_hw_stall_resp *resp)
{
	struct smmuv3_priv *sp = priv;
	(void)dev_priv;
	unsigned action;
	if (resume_action(resp->code, &action) < 0)
		return -PRQD_EINVAL;
	struct smmuv3_cmd cmd;
	smmuv3_cmd_resume(&cmd, resp->source_id, (uint16_t)resp->stall_tag, action);
	return submit_one(sp, &cmd, "stall resume", resp->source_id, resp->stall_tag);
}

/* ---- the drain ---------------------------------------------------------------------------- */

static struct smmuv3_drain *drain_of(struct prqd_drain_step *op)
{
	return (struct smmuv3_drain *)(void *)op->priv;
}

static int smmuv3_drain_start(void *priv, struct prqd_drain_step *op)
{
	struct smmuv3_priv *sp = priv;
	if (!sp->pri || !sp->ats)
		return -PRQD_EOPNOTSUPP;
	if (op->scope < PRQD_SCOPE_PASID || op->scope > PRQD_SCOPE_DEVICE)
		return -PRQD_EINVAL;
	struct smmuv3_drain *dr = drain_of(op);
	*dr = (struct smmuv3_drain){ 0 };
	struct smmuv3_cmd cmds[3];
	unsigned n = 0;
	if (sp->drain_tlbi) {
		/* The SMMU's TLB first, then the ATC (Arm §4.5.1: an ATC invalidation must
		 * follow the TLB invalidation and its sync, or the device could refill its ATC
		 * from a stale TLB entry). The library does not know the PASID's ASID, so every
		 * stage-1 entry of the VMID goes. */
		smmuv3_cmd_tlbi_nh_all(&cmds[n++], sp->vmid);
		smmuv3_cmd_sync(&cmds[n++], SMMUV3_SYNC_CS_NONE, 0, 0);
	}
	/* The device's ATC for the PASID, all of it (without a PASID: every entry of the
	 * stream, PASID-tagged ones included). */
	smmuv3_cmd_atc_inv_all(&cmds[n++], op->source_id, op->scope == PRQD_SCOPE_PASID, op->pasid);
	unit_lock(sp);
	int rc = submit(sp, cmds, n, &dr->ticket);
	unit_unlock(sp);
	if (rc < 0) {
		prqd_be_err(sp->iommu, "smmuv3: drain of stream %u not queued: %d",
			    (unsigned)op->source_id, rc);
		return rc == -PRQD_EAGAIN ? -PRQD_EBUSY : rc;
	}
	op->commands = n + 1;
	op->doorbells = 1;
	return 0;
}

/*
 * Why the mark bounds what the device sent before the drain (level snapshot):
 *
 * The device answers the ATC invalidation with an ATS Invalidate Completion message. PCIe
 * orders posted requests behind earlier posted requests from the same function, and page
 * requests and invalidation completions are both posted messages travelling the same way, so
 * the completion reaches the root complex after every page request the device sent before it.
 * The CMD_SYNC after CMD_ATC_INV completes only once that completion arrived (Arm §4.7.3:
 * a sync guarantees the ATC invalidations before it completed), so when the sync is seen
 * complete, every page request sent before the invalidation has been received by the SMMU.
 *
 * The extra rule this needs, which the specification does not state for the PRI queue: an
 * SMMU writes a page request it has received into the PRI queue (or, full, drops it as an
 * overflow) before it completes a CMD_SYNC that was waiting for a completion behind it. The
 * PRIQ_PROD read after the sync is then past every such request, or the overflow it caused is
 * pending, which the core checks after consuming to the mark and repeats the step for.
 * Where the device stops the PASID with a Stop Marker the core also waits for the marker,
 * which covers an SMMU that writes late.
 *
 * Linux's 2020 design (JPB, v8 9/9) instead waited after the flush until the queue was seen
 * empty or the thread had consumed two queue lengths, because it kept only PROD's wrapped
 * index: with the 64-bit positions kept here the mark is exact however often the queue
 * wraps, so no such wait is needed.
 */
static int smmuv3_drain_poll(void *priv, struct prqd_drain_step *op)
{
	struct smmuv3_priv *sp = priv;
	struct smmuv3_drain *dr = drain_of(op);
	if (dr->result > 0)
		return 0; /* told already; queue_mark still holds */
	if (dr->result < 0)
		return dr->result;
	unit_lock(sp);
	note_cmdq_errors(sp);
	int rc = smmuv3_cmdq_poll(&sp->cmdq, &dr->ticket);
	note_cmdq_errors(sp);
	if (rc == 0) {
		op->queue_mark = queue_mark(sp);
		dr->result = 1;
		unit_unlock(sp);
		return 0;
	}
	unit_unlock(sp);
	if (rc == -PRQD_EINPROGRESS)
		return rc;
	/* The ATC invalidation timed out (CERROR_ATC_INV_SYNC on this step's sync), a command
	 * of the step was refused, or the queue is broken: the step's commands were all
	 * consumed, nothing of it is in flight. Each drain batch ends with its own sync, so an
	 * ATC time-out reported at it belongs to this device's invalidation. */
	prqd_be_err(sp->iommu, "smmuv3: drain of stream %u pasid %u failed%s",
		    (unsigned)op->source_id, (unsigned)op->pasid,
		    sp->cmdq.broken ? " (command queue broken)" : "");
	dr->result = rc < 0 ? rc : -PRQD_EIO;
	return dr->result;
}

/* A sync writes no memory of its own (completion is CONS moving past it; the MSI word only
 * grows), so a step given up on can never complete a newer one: nothing to keep. */
static int smmuv3_drain_release(void *priv, struct prqd_drain_step *op)
{
	(void)priv;
	(void)op;
	return 0;
}

/* ---- the backend ---------------------------------------------------------------------------- */

static const char *const drain_tlbi_names[] = { "none", "nh-all", NULL };

static const struct prqd_param_def smmuv3_params[] = {
	{ "smmuv3.cmdq_order", "command queue size: 2^N commands (cut to IDR1.CMDQS)", 8, 1, 19,
	  NULL },
	{ "smmuv3.priq_order",
	  "PRI queue size: 2^N records (cut to IDR1.PRIQS); Arm expects it to cover the devices' "
	  "PRI allocations",
	  10, 1, 19, NULL },
	{ "smmuv3.evtq_order", "event queue size: 2^N records (cut to IDR1.EVTQS)", 7, 1, 19, NULL },
	{ "smmuv3.vmid", "VMID of the drain's stage-1 TLB invalidation", 0, 0, 65535, NULL },
	{ "smmuv3.drain_tlbi",
	  "TLB invalidation in each drain step: none (the embedder did it) or nh-all", 1, 0, 1,
	  drain_tlbi_names },
	{ "smmuv3.msi", "CMD_SYNC completion by MSI write where IDR0.MSI (polling CONS otherwise)",
	  1, 0, 1, NULL },
	{ "smmuv3.smmuen",
	  "set CR0.SMMUEN at init if it is off, and clear it at fini (for a unit no other driver "
	  "enables)",
	  0, 0, 1, NULL },
	{ "smmuv3.ack_timeout_us", "CR0ACK and command completion wait in init, detach", 10000, 1,
	  10000000, NULL },
	{ "smmuv3.room_wait_us", "wait for command queue room in respond and drain_start", 1000, 0,
	  1000000, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

const struct prqd_backend prqd_backend_smmuv3 = {
	.name = "smmuv3",
	.help = "Arm SMMUv3: PRI queue, stall events, command queue and the snapshot drain, "
		"through the platform's MMIO and DMA callbacks",
	.priv_size = sizeof(struct smmuv3_priv),
	.drain_priv_size = sizeof(struct smmuv3_drain),
	.params = smmuv3_params,
	.ops = {
		.probe = smmuv3_probe,
		.init = smmuv3_init,
		.fini = smmuv3_fini,
		.dev_attach = smmuv3_dev_attach,
		.dev_detach = smmuv3_dev_detach,
		.fetch = smmuv3_fetch,
		.queue_tail = smmuv3_queue_tail,
		.respond = smmuv3_respond,
		.drain_start = smmuv3_drain_start,
		.drain_poll = smmuv3_drain_poll,
		.drain_release = smmuv3_drain_release,
		.overflow_pending = smmuv3_overflow_pending,
		.overflow_ack = smmuv3_overflow_ack,
		.stall_resume = smmuv3_stall_resume,
	},
};
