/* SPDX-License-Identifier: MIT */
/* The benchmark's ring backend (bench/bench.h): the least a backend can do per request. */
#include "bench/bench.h"

struct bench_priv {
	struct prqd_iommu *iommu;
	struct bench_ring *ring;
};

struct bench_step {
	uint64_t started_ns;
};

static int bench_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	struct bench_priv *bp = priv;
	const struct prqd_platform *plat = prqd_iommu_platform(iommu);
	bp->iommu = iommu;
	bp->ring = plat->backend_data(plat->user, "bench");
	if (!bp->ring)
		return -PRQD_ENODEV;
	caps->drain_level = PRQD_LEVEL_EXACT;
	return 0;
}

static void bench_fini(struct prqd_iommu *iommu, void *priv)
{
	(void)iommu;
	(void)priv;
}

static int bench_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	(void)priv;
	(void)info;
	*dev_priv = NULL;
	return 0;
}

static void bench_dev_detach(void *priv, void *dev_priv)
{
	(void)priv;
	(void)dev_priv;
}

static int bench_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	struct bench_ring *r = ((struct bench_priv *)priv)->ring;
	uint64_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);
	uint64_t prod = atomic_load_explicit(&r->prod, memory_order_acquire);
	unsigned n = 0;
	for (; n < max && cons != prod; n++, cons++) {
		const struct bench_desc *d = &r->desc[cons & (BENCH_RING_SIZE - 1)];
		uint64_t w0 = d->w[0];
		struct prqd_hw_req *h = &out[n];
		h->req.size = sizeof(h->req);
		h->req.rid = (uint16_t)w0;
		h->req.source_id = (uint16_t)w0;
		h->req.pasid = (uint32_t)(w0 >> 16) & 0xfffff;
		h->req.prg_index = (uint16_t)(w0 >> 36) & 0x1ff;
		h->req.pasid_valid = (w0 >> 45) & 1;
		h->req.last = (w0 >> 46) & 1;
		h->req.read = (w0 >> 47) & 1;
		h->req.write = (w0 >> 48) & 1;
		h->req.exec = false;
		h->req.priv = false;
		h->req.addr = d->w[1];
		h->req.priv_data_valid = false;
		h->req.priv_data[0] = d->w[2];
		h->req.priv_data[1] = d->w[3];
		h->seq = cons;
		h->tag = 0;
		h->req.stall = false;
		h->stall = false;
		h->stall_tag = 0;
		h->malformed = false;
	}
	atomic_store_explicit(&r->cons, cons, memory_order_release);
	return (int)n;
}

static int bench_queue_tail(void *priv, uint64_t *pos)
{
	struct bench_ring *r = ((struct bench_priv *)priv)->ring;
	*pos = atomic_load_explicit(&r->prod, memory_order_acquire);
	return 0;
}

static int bench_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	struct bench_ring *r = ((struct bench_priv *)priv)->ring;
	(void)dev_priv;
	if (resp->code > PRQD_RESP_FAILURE)
		return -PRQD_EINVAL;
	struct bench_resp *out = &r->resp[r->resp_pos++ & (BENCH_RING_SIZE - 1)];
	out->w[0] = (uint64_t)resp->rid | (uint64_t)(resp->pasid & 0xfffff) << 16 |
		    (uint64_t)resp->prg_index << 36 | (uint64_t)resp->pasid_present << 45 |
		    (uint64_t)resp->code << 48;
	out->w[1] = resp->priv_data_valid ? resp->priv_data[0] : 0;
	return 0;
}

static int bench_drain_start(void *priv, struct prqd_drain_step *op)
{
	struct bench_priv *bp = priv;
	struct bench_step *st = (struct bench_step *)(void *)op->priv;
	/* The clock only models a step's duration: without one, a step costs what the least a
	 * backend's does, not two clock reads. */
	st->started_ns = bp->ring->drain_delay_ns ? prqd_be_now_ns(bp->iommu) : 0;
	/* Everything published so far is what the device sent before the step. */
	op->queue_mark = atomic_load_explicit(&bp->ring->prod, memory_order_acquire);
	op->commands = 1;
	op->doorbells = 1;
	return 0;
}

static int bench_drain_poll(void *priv, struct prqd_drain_step *op)
{
	struct bench_priv *bp = priv;
	const struct bench_step *st = (const struct bench_step *)(const void *)op->priv;
	if (bp->ring->drain_delay_ns &&
	    prqd_be_now_ns(bp->iommu) - st->started_ns < bp->ring->drain_delay_ns)
		return -PRQD_EINPROGRESS;
	return 0;
}

static int bench_drain_release(void *priv, struct prqd_drain_step *op)
{
	(void)priv;
	(void)op;
	return 0;
}

static int bench_overflow_pending(void *priv)
{
	(void)priv;
	return 0;
}

const struct prqd_backend bench_backend = {
	.version = PRQD_BACKEND_VERSION,
	.name = "bench",
	.help = "in-memory ring for the benchmark",
	.priv_size = sizeof(struct bench_priv),
	.drain_priv_size = sizeof(struct bench_step),
	.ops = {
		.init = bench_init,
		.fini = bench_fini,
		.dev_attach = bench_dev_attach,
		.dev_detach = bench_dev_detach,
		.fetch = bench_fetch,
		.queue_tail = bench_queue_tail,
		.respond = bench_respond,
		.drain_start = bench_drain_start,
		.drain_poll = bench_drain_poll,
		.drain_release = bench_drain_release,
		.overflow_pending = bench_overflow_pending,
	},
};
