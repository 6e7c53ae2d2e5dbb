/* SPDX-License-Identifier: MIT */
/* backends/sim/sim-pool.c: records by index with a free list (sim-pool.h). */
#include <string.h>

#include "backends/sim/sim-internal.h"
#include "backends/sim/sim-pool.h"

void sim_pool_init(struct sim_pool *p, size_t elem)
{
	memset(p, 0, sizeof(*p));
	p->elem = elem;
	p->free = -1;
}

/* Thread slots [@from, cap) onto the free list, lowest first out. */
static void free_from(struct sim_pool *p, size_t from)
{
	for (size_t i = p->cap; i-- > from;) {
		p->next_free[i] = p->free;
		p->free = (int32_t)i;
	}
}

void sim_pool_grow(struct sim_world *w, struct sim_pool *p)
{
	size_t old = p->cap, links_cap = p->cap;
	sim_mem_grow(w, &p->rec, &p->cap, old + 1, p->elem);
	sim_mem_grow(w, (void **)&p->next_free, &links_cap, p->cap, sizeof(*p->next_free));
	free_from(p, old);
}

void sim_pool_reset(struct sim_pool *p)
{
	p->free = -1;
	free_from(p, 0);
}

void sim_pool_fini(struct sim_world *w, struct sim_pool *p)
{
	sim_mem_free(w, p->rec, p->cap * p->elem);
	sim_mem_free(w, p->next_free, p->cap * sizeof(*p->next_free));
	sim_pool_init(p, p->elem);
}
