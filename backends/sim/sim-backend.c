/* SPDX-License-Identifier: MIT */
/*
 * The "sim" backend: the steps of the backend contract (prqdrain-backend.h) carried out on the
 * world's abstract IOMMU model (sim-iommu.c). The world comes from the platform:
 * backend_data(user, "sim"), which sim_world_platform() provides. One IOMMU may be open per
 * world at a time.
 */
#include "backends/sim/sim-internal.h"

struct sim_backend_priv {
	struct sim_world *w;
};

/* The world behind a platform table, or NULL. Fields past the embedder's size are absent. */
static struct sim_world *world_of(const struct prqd_platform *plat)
{
	if (!plat || plat->size < offsetof(struct prqd_platform, backend_data) +
					  sizeof(plat->backend_data) ||
	    !plat->backend_data)
		return NULL;
	struct sim_world *w = plat->backend_data(plat->user, "sim");
	return w && w->magic == SIM_WORLD_MAGIC ? w : NULL;
}

static int sim_probe(const struct prqd_platform *plat)
{
	return world_of(plat) ? 0 : -ENODEV;
}

static int sim_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	struct sim_backend_priv *bp = priv;
	struct sim_world *w = world_of(prqd_iommu_platform(iommu));
	if (!w)
		return -ENODEV;
	struct sim_iommu *im = &w->iommu;
	if (im->backend_attached)
		return -EBUSY; /* the world models one IOMMU */
	/* The core checked the ranges when the parameters were set. */
	im->queue_size = (uint32_t)prqd_iommu_param(iommu, "sim.queue_size");
	im->overflow_response = (uint8_t)prqd_iommu_param(iommu, "sim.overflow_response");
	im->ite_timeout_ns = prqd_iommu_param(iommu, "sim.ite_timeout_us") * 1000u;
	im->page_drain = prqd_iommu_param(iommu, "sim.page_drain") != 0;
	if (im->queue_size == 0)
		im->queue_size = 1;
	im->backend_attached = true;
	bp->w = w;
	/* The model's drain completes like VT-d's page-drain; without it there is none. */
	caps->drain_level = im->page_drain ? PRQD_LEVEL_EXACT : PRQD_LEVEL_NONE;
	/* No PRQD_CAP_GATE: the abstract IOMMU has no PASID table nor a cache of one, so a gate
	 * here would be a mechanism no hardware has, checked only against itself. Gating is
	 * modelled where it is real: the VT-d model behind the "vtd" backend, when the platform
	 * supplies pasid_entry_set_present (sim_config.pasid_entries). */
	caps->flags = 0;
	return 0;
}

static void sim_fini(struct prqd_iommu *iommu, void *priv)
{
	struct sim_backend_priv *bp = priv;
	(void)iommu;
	if (bp->w)
		bp->w->iommu.backend_attached = false;
}

static int sim_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	struct sim_backend_priv *bp = priv;
	struct sim_dev *d = sim_dev_find(bp->w, info->rid);
	if (!d)
		return -ENODEV;
	*dev_priv = d;
	return 0;
}

static void sim_dev_detach(void *priv, void *dev_priv)
{
	(void)priv;
	(void)dev_priv;
}

static int sim_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	struct sim_backend_priv *bp = priv;
	int n = sim_iommu_fetch(bp->w, out, max);
	/* The model names requesters by requester ID, as VT-d does. */
	for (int i = 0; i < n; i++)
		out[i].req.source_id = out[i].req.rid;
	return n;
}

/*
 * Generic response codes to the PCIe wire encoding, spelled out: Failure is 1111b, not the
 * generic value 2 (which is reserved on the wire; Linux's VT-d driver once passed it raw).
 */
static int wire_code(uint8_t code, uint8_t *out)
{
	switch (code) {
	case PRQD_RESP_SUCCESS: *out = SIM_RC_SUCCESS; return 0;
	case PRQD_RESP_INVALID: *out = SIM_RC_INVALID; return 0;
	case PRQD_RESP_FAILURE: *out = SIM_RC_FAILURE; return 0;
	default: return -EINVAL;
	}
}

static int sim_queue_tail(void *priv, uint64_t *pos)
{
	struct sim_backend_priv *bp = priv;
	*pos = bp->w->iommu.next_seq;
	return 0;
}

static int sim_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	struct sim_backend_priv *bp = priv;
	(void)dev_priv; /* routed by the response's requester ID, as on the wire */
	uint8_t rc;
	if (wire_code(resp->code, &rc) < 0)
		return -EINVAL;
	return sim_iommu_respond(bp->w, resp, rc);
}

static int sim_drain_start(void *priv, struct prqd_drain_step *op)
{
	struct sim_backend_priv *bp = priv;
	return sim_iommu_drain_start(bp->w, op->dev_priv, op);
}

static int sim_drain_poll(void *priv, struct prqd_drain_step *op)
{
	struct sim_backend_priv *bp = priv;
	return sim_iommu_drain_poll(bp->w, op);
}

static int sim_drain_release(void *priv, struct prqd_drain_step *op)
{
	struct sim_backend_priv *bp = priv;
	return sim_iommu_drain_release(bp->w, op);
}

static int sim_overflow_pending(void *priv)
{
	struct sim_backend_priv *bp = priv;
	return bp->w->iommu.overflow ? 1 : 0;
}

static int sim_overflow_ack(void *priv)
{
	struct sim_backend_priv *bp = priv;
	return sim_iommu_overflow_ack(bp->w);
}

static const char *const overflow_response_names[] = { "success", "invalid", NULL };

static const struct prqd_param_def sim_params[] = {
	{ "sim.queue_size", "simulated page request queue size in entries", 256, 1, 1u << 20,
	  NULL },
	{ "sim.overflow_response",
	  "automatic response to a Last request dropped in a queue overflow", PRQD_RESP_SUCCESS,
	  0, 1, overflow_response_names },
	{ "sim.ite_timeout_us",
	  "the model reports a device-TLB invalidation timeout (VT-d ITE) after this long; "
	  "0 = never",
	  0, 0, 1000000000, NULL },
	{ "sim.page_drain",
	  "the model can drain page requests (VT-d ECAP.PDS); off: drain level none (Stop "
	  "Markers only)",
	  1, 0, 1, NULL },
	{ NULL, NULL, 0, 0, 0, NULL },
};

const struct prqd_backend prqd_backend_sim = {
	.version = PRQD_BACKEND_VERSION,
	.name = "sim",
	.help = "simulator: abstract IOMMU, PRI devices and fabric in a deterministic world",
	.priv_size = sizeof(struct sim_backend_priv),
	.drain_priv_size = sizeof(struct sim_drain_priv),
	.params = sim_params,
	.ops = {
		.probe = sim_probe,
		.init = sim_init,
		.fini = sim_fini,
		.dev_attach = sim_dev_attach,
		.dev_detach = sim_dev_detach,
		.fetch = sim_fetch,
		.queue_tail = sim_queue_tail,
		.respond = sim_respond,
		.drain_start = sim_drain_start,
		.drain_poll = sim_drain_poll,
		.drain_release = sim_drain_release,
		.overflow_pending = sim_overflow_pending,
		.overflow_ack = sim_overflow_ack,
	},
};

int sim_ctx_new(struct sim_world *w, struct prqd_ctx **out)
{
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = sim_world_platform(w),
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	int rc = prqd_ctx_new(&co, &ctx);
	if (rc < 0)
		return rc;
	rc = prqd_ctx_add_backend(ctx, &prqd_backend_sim);
	if (rc < 0) {
		prqd_ctx_unref(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

unsigned sim_backend_names(const char **names, const char **helps, unsigned max)
{
	/* Listing needs no world: a context on the host's platform with "sim" added lists the
	 * same names, which outlive it (they are the backends' static strings). */
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = prqd_platform_default(),
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	if (prqd_ctx_new(&co, &ctx) < 0)
		return 0;
	unsigned n = 0;
	if (prqd_ctx_add_backend(ctx, &prqd_backend_sim) == 0) {
		const char *help = NULL;
		for (const char *name; (name = prqd_ctx_backend_name(ctx, n, &help)) != NULL; n++) {
			if (n < max) {
				names[n] = name;
				if (helps)
					helps[n] = help;
			}
		}
	}
	prqd_ctx_unref(ctx);
	return n;
}
