/* SPDX-License-Identifier: MIT */
/*
 * libprqdrain-sim's public API (include/prqdrain-sim.h): thin wrappers over the world, the
 * device model and the checker (sim.h). The public opaque types are the internal ones:
 * struct prqd_sim_world is a struct sim_world, struct prqd_sim_dev a struct sim_dev.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "prqdrain-sim.h"
#include "backends/sim/sim.h"

/* Exported from libprqdrain-sim.so (built with -fvisibility=hidden). */
#define PRQD_SIM_EXPORT __attribute__((visibility("default")))

static struct sim_world *world_of(struct prqd_sim_world *world)
{
	return (struct sim_world *)world;
}

static const struct sim_world *const_world_of(const struct prqd_sim_world *world)
{
	return (const struct sim_world *)world;
}

static struct sim_dev *dev_of(struct prqd_sim_dev *dev)
{
	return (struct sim_dev *)dev;
}

PRQD_SIM_EXPORT int prqd_sim_world_new(uint64_t seed, struct prqd_sim_world **out)
{
	if (!out)
		return -EINVAL;
	struct sim_world *w;
	int rc = sim_world_new(NULL, seed, NULL, &w);
	if (rc < 0)
		return rc;
	*out = (struct prqd_sim_world *)w;
	return 0;
}

PRQD_SIM_EXPORT void prqd_sim_world_free(struct prqd_sim_world *world)
{
	sim_world_free(world_of(world));
}

PRQD_SIM_EXPORT const struct prqd_platform *prqd_sim_world_platform(struct prqd_sim_world *world)
{
	return world ? sim_world_platform(world_of(world)) : NULL;
}

PRQD_SIM_EXPORT int prqd_sim_add_backend(struct prqd_ctx *ctx)
{
	return prqd_ctx_add_backend(ctx, &prqd_backend_sim);
}

PRQD_SIM_EXPORT int prqd_sim_ctx_new(struct prqd_sim_world *world, struct prqd_ctx **out)
{
	if (!world || !out)
		return -EINVAL;
	return sim_ctx_new(world_of(world), out);
}

PRQD_SIM_EXPORT uint64_t prqd_sim_now(const struct prqd_sim_world *world)
{
	return world ? sim_now(const_world_of(world)) : 0;
}

PRQD_SIM_EXPORT uint64_t prqd_sim_run_for(struct prqd_sim_world *world, uint64_t ns)
{
	if (!world)
		return 0;
	struct sim_world *w = world_of(world);
	uint64_t now = sim_now(w);
	return sim_run_until(w, ns > UINT64_MAX - now ? UINT64_MAX : now + ns);
}

PRQD_SIM_EXPORT int prqd_sim_dev_add(struct prqd_sim_world *world,
				     const struct prqd_sim_dev_cfg *cfg, struct prqd_sim_dev **out)
{
	if (!world || !cfg || !out ||
	    cfg->size < offsetof(struct prqd_sim_dev_cfg, rid) + sizeof(cfg->rid))
		return -EINVAL;
	/* Fields past the caller's size keep the model's defaults. */
	struct prqd_sim_dev_cfg in = { 0 };
	memcpy(&in, cfg, cfg->size < sizeof(in) ? cfg->size : sizeof(in));
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.rid = in.rid;
	if (cfg->size > offsetof(struct prqd_sim_dev_cfg, pri_capacity))
		dc.capacity = in.pri_capacity;
	if (cfg->size > offsetof(struct prqd_sim_dev_cfg, pasid_width))
		dc.pasid_width = in.pasid_width;
	if (cfg->size > offsetof(struct prqd_sim_dev_cfg, uses_stop_markers))
		dc.uses_stop_markers = in.uses_stop_markers;
	if (cfg->size > offsetof(struct prqd_sim_dev_cfg, prg_resp_pasid_required))
		dc.prg_resp_pasid_required = in.prg_resp_pasid_required;
	_Static_assert((int)PRQD_SIM_ATC_ANSWERS == (int)SIM_ATC_ANSWER &&
			       (int)PRQD_SIM_ATC_SLOW == (int)SIM_ATC_SLOW &&
			       (int)PRQD_SIM_ATC_NEVER == (int)SIM_ATC_NEVER,
		       "the public ATC modes are the model's");
	if (cfg->size > offsetof(struct prqd_sim_dev_cfg, atc))
		dc.atc_mode = in.atc;
	struct sim_dev *d;
	int rc = sim_dev_add(world_of(world), &dc, &d);
	if (rc < 0)
		return rc;
	*out = (struct prqd_sim_dev *)d;
	return 0;
}

PRQD_SIM_EXPORT int prqd_sim_dev_info(const struct prqd_sim_dev *dev, struct prqd_dev_info *out)
{
	if (!dev || !out)
		return -EINVAL;
	sim_dev_info((const struct sim_dev *)dev, out);
	return 0;
}

PRQD_SIM_EXPORT int prqd_sim_dev_fault(struct prqd_sim_dev *dev, uint32_t pasid, uint64_t addr,
				       unsigned pages, unsigned access)
{
	/* The public access bits are the model's (enum sim_access). */
	_Static_assert((int)PRQD_SIM_READ == (int)SIM_R && (int)PRQD_SIM_WRITE == (int)SIM_W &&
			       (int)PRQD_SIM_EXEC == (int)SIM_X && (int)PRQD_SIM_PRIV == (int)SIM_P,
		       "the public access bits are the model's");
	return dev ? sim_dev_fault(dev_of(dev), pasid, addr, pages, access) : -EINVAL;
}

PRQD_SIM_EXPORT int prqd_sim_dev_stop_pasid(struct prqd_sim_dev *dev, uint32_t pasid, bool marker)
{
	return dev ? sim_dev_stop_pasid(dev_of(dev), pasid, marker) : -EINVAL;
}

PRQD_SIM_EXPORT int prqd_sim_dev_start_pasid(struct prqd_sim_dev *dev, uint32_t pasid)
{
	return dev ? sim_dev_start_pasid(dev_of(dev), pasid) : -EINVAL;
}

PRQD_SIM_EXPORT int prqd_sim_dev_flr(struct prqd_sim_dev *dev)
{
	return dev ? sim_dev_flr(dev_of(dev)) : -EINVAL;
}

PRQD_SIM_EXPORT int prqd_sim_dev_remove(struct prqd_sim_dev *dev)
{
	return dev ? sim_dev_remove(dev_of(dev)) : -EINVAL;
}

PRQD_SIM_EXPORT void prqd_sim_overflow_now(struct prqd_sim_world *world)
{
	if (world)
		sim_iommu_overflow_now(world_of(world));
}

PRQD_SIM_EXPORT int prqd_sim_note_bind(struct prqd_sim_world *world, const struct prqd_bond *bond)
{
	if (!world || !bond)
		return -EINVAL;
	sim_set_epoch(world_of(world), prqd_dev_rid(prqd_bond_dev(bond)), prqd_bond_pasid(bond),
		      prqd_bond_gen(bond));
	return 0;
}

PRQD_SIM_EXPORT int prqd_sim_note_unbind(struct prqd_sim_world *world,
					 const struct prqd_bond *bond)
{
	if (!world || !bond)
		return -EINVAL;
	sim_set_epoch(world_of(world), prqd_dev_rid(prqd_bond_dev(bond)), prqd_bond_pasid(bond), 0);
	return 0;
}

PRQD_SIM_EXPORT int prqd_sim_check_delivery(struct prqd_sim_world *world,
					    const struct prqd_group *group)
{
	const struct prqd_bond *bond = group ? prqd_group_bond(group) : NULL;
	if (!world || !bond)
		return -EINVAL;
	sim_check_delivery(world_of(world), prqd_bond_gen(bond), group);
	return 0;
}

PRQD_SIM_EXPORT int prqd_sim_check_drained(struct prqd_sim_world *world,
					   const struct prqd_bond *bond, uint64_t start_ns)
{
	if (!world || !bond)
		return -EINVAL;
	uint32_t pasid = prqd_bond_pasid(bond);
	sim_check_drain_done(world_of(world),
			     pasid == PRQD_NO_PASID ? PRQD_SCOPE_RID : PRQD_SCOPE_PASID,
			     prqd_dev_rid(prqd_bond_dev(bond)), pasid, start_ns);
	return 0;
}

PRQD_SIM_EXPORT unsigned prqd_sim_finish(struct prqd_sim_world *world)
{
	if (!world)
		return 0;
	sim_check_finish(world_of(world));
	return sim_violation_total(world_of(world));
}

PRQD_SIM_EXPORT unsigned prqd_sim_violation_count(const struct prqd_sim_world *world)
{
	return world ? sim_violation_total(const_world_of(world)) : 0;
}

PRQD_SIM_EXPORT int prqd_sim_violation_text(const struct prqd_sim_world *world, unsigned index,
					    char *buf, size_t size)
{
	if (!world || !buf || !size)
		return -EINVAL;
	const struct sim_violation *v = sim_violation_get(const_world_of(world), index);
	if (!v)
		return -ENOENT;
	char pasid[16];
	if (v->pasid == PRQD_NO_PASID)
		snprintf(pasid, sizeof(pasid), "none");
	else
		snprintf(pasid, sizeof(pasid), "%u", v->pasid);
	snprintf(buf, size, "%s at %llu ns: rid %02x:%02x.%u pasid %s index %u: %s",
		 sim_violation_name(v->kind), (unsigned long long)v->time_ns, v->rid >> 8,
		 (v->rid >> 3) & 0x1f, v->rid & 7, pasid, v->prg_index, v->detail);
	return 0;
}
