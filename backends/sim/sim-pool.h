/* SPDX-License-Identifier: MIT */
/*
 * backends/sim/sim-pool.h: a growable array of records addressed by index, with a free list
 * of the unused ones (the checker's groups on the wire, a device's outstanding groups).
 *
 * Indices stay valid while records come and go; pointers do not survive a take, which may
 * move the array when it grows.
 */
#ifndef PRQD_SIM_POOL_H
#define PRQD_SIM_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct sim_world;

struct sim_pool {
	void *rec;          /* cap records of elem bytes */
	int32_t *next_free; /* for a free slot: the next free slot, or -1 */
	size_t cap;
	size_t elem;
	int32_t free;       /* the first free slot, or -1 */
};

/* An empty pool of records of @elem bytes. */
void sim_pool_init(struct sim_pool *p, size_t elem);
/* Grow the array when no slot is free (sim_pool_take). */
void sim_pool_grow(struct sim_world *w, struct sim_pool *p);
/* Give every slot back (the array stays). */
void sim_pool_reset(struct sim_pool *p);
/* Release the array. */
void sim_pool_fini(struct sim_world *w, struct sim_pool *p);

static inline void *sim_pool_at(const struct sim_pool *p, int64_t slot)
{
	return (char *)p->rec + (size_t)slot * p->elem;
}

/* Take and give back are inline: the checker and every device take a record per group. */

/* A free slot (the array grows, through the world's memory, when none is left); its record
 * is zeroed. */
static inline int32_t sim_pool_take(struct sim_world *w, struct sim_pool *p)
{
	if (p->free < 0)
		sim_pool_grow(w, p);
	int32_t slot = p->free;
	p->free = p->next_free[slot];
	memset(sim_pool_at(p, slot), 0, p->elem);
	return slot;
}

/* Give @slot back. */
static inline void sim_pool_put(struct sim_pool *p, int32_t slot)
{
	p->next_free[slot] = p->free;
	p->free = slot;
}

#endif /* PRQD_SIM_POOL_H */
