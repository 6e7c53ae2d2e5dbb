/* SPDX-License-Identifier: MIT */
/*
 * The world's DMA memory: what the platform's dma_alloc hands the library (counted with its
 * allocations) and what the register-level models (sim-vtd.c, sim-smmuv3.c) read and write by
 * bus address: their queues, status words and MSI targets.
 */
#include "backends/sim/sim-internal.h"

/* First bus address handed out. */
#define SIM_DMA_BASE 0x100000ull

void sim_dma_init(struct sim_dma *dma)
{
	memset(dma, 0, sizeof(*dma));
	dma->next_bus = SIM_DMA_BASE;
}

void sim_dma_release(struct sim_world *w, struct sim_dma *dma)
{
	/* Memory the library never gave back: still counted as live (the leak check saw it). */
	for (size_t i = 0; i < dma->nregions; i++)
		w->host_free(w->host_user, dma->regions[i].va, dma->regions[i].size);
	sim_mem_free(w, dma->regions, dma->cap_regions * sizeof(*dma->regions));
	dma->regions = NULL;
}

int sim_dma_alloc(struct sim_world *w, size_t size, size_t align, void **va, uint64_t *bus)
{
	struct sim_dma *dma = &w->dma;
	if (!size || !va || !bus || (align & (align - 1)))
		return -EINVAL;
	if (align < 8)
		align = 8;
	unsigned char *mem = sim_plat_alloc_counted(w, size);
	if (!mem)
		return -ENOMEM;
	memset(mem, 0, size);
	sim_mem_grow(w, (void **)&dma->regions, &dma->cap_regions, dma->nregions + 1,
		     sizeof(*dma->regions));
	uint64_t addr = (dma->next_bus + align - 1) & ~(uint64_t)(align - 1);
	/* Bus addresses are never reused: a late write to freed memory finds nothing. */
	dma->next_bus = addr + size;
	dma->regions[dma->nregions++] =
		(struct sim_dma_region){ .bus = addr, .size = size, .va = mem };
	*va = mem;
	*bus = addr;
	return 0;
}

void sim_dma_free(struct sim_world *w, void *va, size_t size)
{
	struct sim_dma *dma = &w->dma;
	(void)size; /* the region knows its own size */
	for (size_t i = 0; i < dma->nregions; i++) {
		if (dma->regions[i].va != va)
			continue;
		sim_plat_free_counted(w, va, dma->regions[i].size);
		dma->regions[i] = dma->regions[--dma->nregions];
		return;
	}
}

unsigned char *sim_dma_at(const struct sim_world *w, uint64_t bus, size_t len)
{
	const struct sim_dma *dma = &w->dma;
	for (size_t i = 0; i < dma->nregions; i++) {
		const struct sim_dma_region *r = &dma->regions[i];
		if (bus >= r->bus && bus - r->bus <= r->size && r->size - (bus - r->bus) >= len)
			return r->va + (bus - r->bus);
	}
	return NULL;
}

bool sim_dma_read(const struct sim_world *w, uint64_t bus, void *dst, size_t len)
{
	const unsigned char *p = sim_dma_at(w, bus, len);
	if (!p)
		return false;
	memcpy(dst, p, len);
	return true;
}

bool sim_dma_write(struct sim_world *w, uint64_t bus, const void *src, size_t len)
{
	unsigned char *p = sim_dma_at(w, bus, len);
	if (!p) {
		w->dma.bad_writes++;
		return false;
	}
	memcpy(p, src, len);
	return true;
}
