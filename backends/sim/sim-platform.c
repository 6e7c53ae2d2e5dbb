/* SPDX-License-Identifier: MIT */
/*
 * The platform table the library sees when it runs in a world: memory from the host but
 * counted (leak checks, the allocation-failure sweep), the simulated clock, and a relax()
 * that lets the world move on while the library polls.
 */
#include "backends/sim/sim-internal.h"

void *sim_plat_alloc_counted(struct sim_world *w, size_t size)
{
	void *p = w->host_alloc(w->host_user, size);
	if (!p) {
		w->alloc.failed++;
		return NULL;
	}
	w->alloc.allocs++;
	w->alloc.live++;
	w->alloc.live_bytes += size;
	return p;
}

void sim_plat_free_counted(struct sim_world *w, void *ptr, size_t size)
{
	if (!ptr)
		return;
	w->alloc.frees++;
	w->alloc.live--;
	w->alloc.live_bytes -= size;
	w->host_free(w->host_user, ptr, size);
}

static void *plat_alloc(void *user, size_t size)
{
	return sim_plat_alloc_counted(user, size);
}

static void plat_free(void *user, void *ptr, size_t size)
{
	sim_plat_free_counted(user, ptr, size);
}

static uint64_t plat_now_ns(void *user)
{
	const struct sim_world *w = user;
	return w->now;
}

/*
 * A polling loop's relax: the world runs its next event if one is due within relax_step_ns,
 * else the clock advances by relax_step_ns. Either way the loop's deadline comes closer, so
 * a wait on something that never happens still times out; and the clock never leaps past a
 * deadline in one call because the only thing scheduled is far away (a device timer, say)
 * while the waiting loop would have made progress by itself meanwhile.
 */
static void plat_relax(void *user)
{
	struct sim_world *w = user;
	if (w->relax_hook && ++w->relax_calls % SIM_RELAX_HOOK_EVERY == 0)
		w->relax_hook(w->relax_hook_user);
	uint64_t horizon = w->now + w->cfg.relax_step_ns, at;
	if (sim_next_event_at(w, &at) && at <= horizon)
		sim_step(w);
	else
		w->now = horizon;
}

/* The simulated environment has no variables: a run never depends on the host's. */
static const char *plat_getenv(void *user, const char *name)
{
	(void)user;
	(void)name;
	return NULL;
}

/* "sim" gets the world. Any name is also what prqd_iommu_open() is bringing up: the window
 * then holds that backend's hardware, when the world has a model of it. */
static void *plat_backend_data(void *user, const char *backend)
{
	if (!backend)
		return NULL;
	if (strcmp(backend, "sim") == 0)
		return user;
	sim_mmio_model_for_backend(user, backend);
	return NULL;
}

/* The register window belongs to the register-level model chosen for it (w->mmio_model,
 * the VT-d model by default), which takes over the world's traffic at the first write. */
static uint32_t plat_mmio_read32(void *user, uint64_t offset)
{
	struct sim_world *w = user;
	return w->mmio_model->read32(w, offset);
}

static uint64_t plat_mmio_read64(void *user, uint64_t offset)
{
	struct sim_world *w = user;
	return w->mmio_model->read64(w, offset);
}

static void plat_mmio_write32(void *user, uint64_t offset, uint32_t value)
{
	struct sim_world *w = user;
	sim_model_attach(w, w->mmio_model);
	w->mmio_model->write32(w, offset, value);
}

static void plat_mmio_write64(void *user, uint64_t offset, uint64_t value)
{
	struct sim_world *w = user;
	sim_model_attach(w, w->mmio_model);
	w->mmio_model->write64(w, offset, value);
}

static int plat_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	return sim_dma_alloc(user, size, align, va, bus);
}

static void plat_dma_free(void *user, void *va, size_t size)
{
	sim_dma_free(user, va, size);
}

/* The embedder owns the PASID tables; here they are the VT-d model's (sim-vtd.c). */
static int plat_pasid_entry_set_present(void *user, uint32_t source_id, uint32_t pasid,
					bool present)
{
	if (source_id > UINT16_MAX)
		return -ENOENT; /* VT-d names requesters by a 16-bit requester ID */
	return sim_vtd_pasid_entry_set_present(user, source_id, pasid, present);
}

void sim_platform_setup(struct sim_world *w)
{
	struct prqd_platform *p = &w->plat;
	memset(p, 0, sizeof(*p));
	p->size = sizeof(*p);
	p->user = w;
	p->alloc = plat_alloc;
	p->free = plat_free;
	p->now_ns = plat_now_ns;
	p->relax = plat_relax;
	/* No locks: one world is driven by one thread. */
	p->getenv = plat_getenv;
	p->backend_data = plat_backend_data;
	p->mmio_read32 = plat_mmio_read32;
	p->mmio_read64 = plat_mmio_read64;
	p->mmio_write32 = plat_mmio_write32;
	p->mmio_write64 = plat_mmio_write64;
	p->dma_alloc = plat_dma_alloc;
	p->dma_free = plat_dma_free;
	if (w->cfg.pasid_entries)
		p->pasid_entry_set_present = plat_pasid_entry_set_present;
}

const struct prqd_platform *sim_world_platform(struct sim_world *w)
{
	return &w->plat;
}

void sim_alloc_stats(const struct sim_world *w, struct sim_alloc_stats *out)
{
	*out = w->alloc;
}

void sim_world_set_relax_hook(struct sim_world *w, void (*fn)(void *user), void *user)
{
	w->relax_hook = fn;
	w->relax_hook_user = user;
}
