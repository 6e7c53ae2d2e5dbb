/* SPDX-License-Identifier: MIT */
/*
 * The IOMMU models the world can run, and the calls the world's users make whichever model
 * runs. A model is one entry of sim_iommu_models[] and one member of struct sim_world.
 */
#include "backends/sim/sim-internal.h"

const struct sim_iommu_model *const sim_iommu_models[] = {
	&sim_queue_model,
	&sim_vtd_model,
	&sim_smmuv3_model,
	NULL,
};

void sim_model_attach(struct sim_world *w, const struct sim_iommu_model *m)
{
	if (w->model == m)
		return;
	w->model = m;
	m->attach(w);
}

int sim_mmio_model_select(struct sim_world *w, const char *name)
{
	if (!w || !name)
		return -EINVAL;
	for (size_t i = 0; sim_iommu_models[i]; i++) {
		const struct sim_iommu_model *m = sim_iommu_models[i];
		if (strcmp(m->name, name) != 0)
			continue;
		if (!m->write32)
			return -EINVAL; /* no registers: software drives it through "sim" */
		if (w->model->write32 && w->model != m)
			return -EBUSY; /* another register model runs the world already */
		w->mmio_model = m;
		w->mmio_model_chosen = true;
		return 0;
	}
	return -ENOENT;
}

/* The register-level model named like @backend, or NULL. */
static const struct sim_iommu_model *mmio_model_named(const char *backend)
{
	for (size_t i = 0; sim_iommu_models[i]; i++)
		if (sim_iommu_models[i]->write32 && strcmp(sim_iommu_models[i]->name, backend) == 0)
			return sim_iommu_models[i];
	return NULL;
}

void sim_mmio_model_for_backend(struct sim_world *w, const char *backend)
{
	if (w->mmio_model_chosen || w->model->write32)
		return; /* chosen by the embedder, or a register model runs the world already */
	const struct sim_iommu_model *m = mmio_model_named(backend);
	if (m)
		w->mmio_model = m;
}

const char *sim_model_name(const struct sim_world *w)
{
	return w->model->name;
}

void sim_iommu_stats(const struct sim_world *w, struct sim_iommu_stats *out)
{
	w->model->stats(w, out);
}

void sim_iommu_overflow_now(struct sim_world *w)
{
	w->model->overflow_now(w);
}
