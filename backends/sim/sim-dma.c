/* SPDX-License-Identifier: MIT */
/*
 * DMA memory of the world: what the platform's dma_alloc hands to the library (counted with
 * its allocations), and what a register-level model reads and writes by bus address (queues,
 * status words).
 */
#include "backends/sim/sim-internal.h"

#define SIM_DMA_BASE 0x100000ull /* first bus address handed out */

void sim_dma_init(struct sim_dma *dma)
{
	memset(dma, 0, sizeof(*dma));
	dma->next_bus = SIM_DMA_BASE;
}

void sim_dma_release(struct sim_world *w)
{
	struct sim_dma *dma = &w->dma;
	/* Memory the library never gave back: still counted as live (the leak check saw it). */
	for (size_t i = 0; i < dma->len; i++)
		w->host_free(w->host_user, dma->regions[i].va, dma->regions[i].size);
	sim_mem_free(w, dma->regions, dma->cap * sizeof(*dma->regions));
	dma->regions = NULL;
	dma->len = dma->cap = 0;
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
	sim_mem_grow(w, (void **)&dma->regions, &dma->cap, dma->len + 1, sizeof(*dma->regions));
	uint64_t addr = (dma->next_bus + align - 1) & ~(uint64_t)(align - 1);
	dma->next_bus = addr + size;
	dma->regions[dma->len++] = (struct sim_dma_region){ .bus = addr, .size = size, .va = mem };
	*va = mem;
	*bus = addr;
	return 0;
}

void sim_dma_free(struct sim_world *w, void *va, size_t size)
{
	struct sim_dma *dma = &w->dma;
	(void)size; /* the region knows its size */
	for (size_t i = 0; i < dma->len; i++) {
		if (dma->regions[i].va != va)
			continue;
		sim_plat_free_counted(w, va, dma->regions[i].size);
		dma->regions[i] = dma->regions[--dma->len];
		return;
	}
}

unsigned char *sim_dma_at(const struct sim_world *w, uint64_t bus, size_t len)
{
	const struct sim_dma *dma = &w->dma;
	for (size_t i = 0; i < dma->len; i++) {
		const struct sim_dma_region *r = &dma->regions[i];
		if (bus >= r->bus && bus - r->bus <= r->size && r->size - (bus - r->bus) >= len)
			return r->va + (bus - r->bus);
	}
	return NULL;
}

bool sim_dma_read64(const struct sim_world *w, uint64_t bus, uint64_t *out)
{
	const unsigned char *p = sim_dma_at(w, bus, 8);
	if (!p)
		return false;
	memcpy(out, p, 8);
	return true;
}

bool sim_dma_read(const struct sim_world *w, uint64_t bus, uint64_t *out, size_t n)
{
	const unsigned char *p = sim_dma_at(w, bus, n * 8);
	if (p) {
		memcpy(out, p, n * 8);
		return true;
	}
	/* Regions next to each other in bus space: each word is read where it lies. */
	for (size_t i = 0; i < n; i++)
		if (!sim_dma_read64(w, bus + 8 * i, &out[i]))
			return false;
	return true;
}

void sim_dma_write(struct sim_world *w, uint64_t bus, const void *src, size_t len)
{
	unsigned char *p = sim_dma_at(w, bus, len);
	if (!p) {
		w->dma.bad_writes++;
		return;
	}
	memcpy(p, src, len);
}
