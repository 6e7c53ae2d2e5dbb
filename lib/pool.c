/* SPDX-License-Identifier: MIT */
/*
 * A device's pools of groups and request nodes, and its hash of partial groups.
 *
 * The pools hold what the handler and the assembly of groups need: a group carries its first
 * request in itself, so a one-request group (the common case) takes one object; the further
 * requests of a larger group take request nodes. Nothing is allocated at prqd_dev_add()
 * beyond a small partial hash: a device that is bound but quiet costs no pool memory, and a
 * hypervisor with thousands of such functions does not pay for their PRI allocations up
 * front. The pools grow on demand, in chunks that double from POOL_CHUNK_MIN to
 * POOL_CHUNK_MAX objects, and keep what they grew until the device goes, so a device's
 * steady traffic allocates nothing. Growth happens only on the consumer's side (queue lock
 * held); a failed allocation counts as an exhausted pool (pool_exhausted), as a device over
 * its allocation does: a Last (or stall) that finds no room is answered Invalid; a request
 * before the Last that finds none is dropped with the partial group it would have joined,
 * so the group's later requests make a smaller group. Every group the device closes gets
 * its one answer either way.
 *
 * The limit is the device's pool size (its PRI allocation, capped by core.pool_max, plus
 * core.pool_slack): at most that many requests are held at once, in at most that many
 * groups. A device that exceeds its allocation can't take memory from others.
 *
 * Only the consumer takes from the pools; anyone may give a group back (a deferred response
 * from another thread), so returned groups go on a lock-free stack that the consumer takes in
 * one exchange when it runs short. A returned group keeps its request chain, which the
 * consumer splices back then.
 */
#include "lib/private.h"

#define POOL_CHUNK_MIN 4u
#define POOL_CHUNK_MAX 64u
#define PARTIAL_BUCKETS_MIN 16u

/* The head of each chunk of groups or nodes, linked on the device for its removal. */
struct prqd_pool_chunk {
	struct prqd_pool_chunk *next;
	size_t size; /* bytes of the allocation, this header included */
};

static void *chunk_items(struct prqd_pool_chunk *c)
{
	return (unsigned char *)c + ((sizeof(*c) + 63) & ~(size_t)63);
}

/* A new chunk's size in objects: double the last one's (*@last, updated), within what the
 * limit leaves. */
static uint32_t chunk_count(uint32_t *last, uint32_t allocated, uint32_t limit)
{
	uint32_t count = *last ? *last * 2 : POOL_CHUNK_MIN;
	if (count > POOL_CHUNK_MAX)
		count = POOL_CHUNK_MAX;
	if (count > limit - allocated)
		count = limit - allocated;
	*last = count;
	return count;
}

/* A new chunk of objects of @item_size for a pool list that has @*allocated of the pool's
 * size: its first object and, in *@count, how many; NULL at the limit or without memory. */
static void *pool_grow(struct prqd_dev *dev, uint32_t *allocated, uint32_t *last_chunk,
		       size_t item_size, uint32_t *count)
{
	struct prqd_pool *p = &dev->pool;
	if (*allocated >= p->size)
		return NULL;
	uint32_t n = chunk_count(last_chunk, *allocated, p->size);
	size_t size = ((sizeof(struct prqd_pool_chunk) + 63) & ~(size_t)63) + n * item_size;
	struct prqd_pool_chunk *c = prqd__plat_alloc(&dev->iommu->plat, size);
	if (!c)
		return NULL;
	c->size = size;
	c->next = p->chunks;
	p->chunks = c;
	*allocated += n;
	*count = n;
	return chunk_items(c);
}

static bool groups_grow(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	uint32_t count;
	struct prqd_group *g = pool_grow(dev, &p->groups_allocated, &p->group_chunk,
					 sizeof(*g), &count);
	if (!g)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		g[i].dev = dev;
		g[i].free_next = i + 1 < count ? &g[i + 1] : p->groups;
	}
	p->groups = &g[0];
	return true;
}

static bool nodes_grow(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	uint32_t count;
	struct prqd_req_node *n = pool_grow(dev, &p->nodes_allocated, &p->node_chunk,
					    sizeof(*n), &count);
	if (!n)
		return false;
	for (uint32_t i = 0; i < count; i++)
		n[i].next = i + 1 < count ? &n[i + 1] : p->nodes;
	p->nodes = &n[0];
	return true;
}

int prqd__pools_init(struct prqd_dev *dev, uint32_t pool_size)
{
	struct prqd_pool *p = &dev->pool;
	p->size = pool_size;
	atomic_init(&p->returned, NULL);
	atomic_init(&dev->npartial, 0);
	dev->partial_mask = PARTIAL_BUCKETS_MIN - 1;
	dev->partial_hash = prqd__plat_alloc(&dev->iommu->plat,
					     PARTIAL_BUCKETS_MIN * sizeof(*dev->partial_hash));
	return dev->partial_hash ? 0 : -PRQD_ENOMEM;
}

void prqd__pools_fini(struct prqd_dev *dev)
{
	const struct prqd_plat *pl = &dev->iommu->plat;
	while (dev->pool.chunks) {
		struct prqd_pool_chunk *c = dev->pool.chunks;
		dev->pool.chunks = c->next;
		prqd__plat_free(pl, c, c->size);
	}
	if (dev->partial_hash)
		prqd__plat_free(pl, dev->partial_hash,
				(dev->partial_mask + 1) * sizeof(*dev->partial_hash));
	dev->partial_hash = NULL;
}

/* Consumer: take back every group returned by other threads, with its request chain. */
static bool reclaim_returned(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	struct prqd_group *g = atomic_exchange_explicit(&p->returned, NULL, memory_order_acquire);
	if (!g)
		return false;
	while (g) {
		struct prqd_group *next = g->free_next;
		prqd__group_free_local(dev, g);
		g = next;
	}
	return true;
}

void prqd__group_release(struct prqd_group *g)
{
	struct prqd_pool *p = &g->dev->pool;
	atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	atomic_store_explicit(&g->state, PRQD_G_FREE, memory_order_relaxed);
	struct prqd_group *head = atomic_load_explicit(&p->returned, memory_order_relaxed);
	do {
		g->free_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&p->returned, &head, g, memory_order_release,
							memory_order_relaxed));
}

/* Consumer: room for one more request, taking back returned groups when at the limit. */
static bool request_room(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	return p->held_reqs < p->size || (reclaim_returned(dev) && p->held_reqs < p->size);
}

struct prqd_group *prqd__group_get_slow(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	if (!request_room(dev))
		return NULL;
	if (!p->groups && !reclaim_returned(dev) && !groups_grow(dev))
		return NULL;
	return prqd__group_take(p);
}

struct prqd_req_node *prqd__node_get(struct prqd_dev *dev)
{
	struct prqd_pool *p = &dev->pool;
	if (!request_room(dev))
		return NULL;
	if (!p->nodes) {
		reclaim_returned(dev);
		if (!p->nodes && !nodes_grow(dev))
			return NULL;
	}
	struct prqd_req_node *n = p->nodes;
	p->nodes = n->next;
	n->next = NULL;
	p->held_reqs++;
	return n;
}

/* ---- partial groups, by (PASID or none, PRG index) ---------------------------------------- */

static uint32_t partial_key(bool pasid_valid, uint32_t pasid, uint16_t index)
{
	uint32_t key = ((pasid_valid ? pasid + 1 : 0) << 9) ^ index;
	return key * 0x9e3779b1u; /* Fibonacci hashing spreads consecutive PASIDs */
}

static uint32_t partial_slot(const struct prqd_dev *dev, const struct prqd_group *g)
{
	return (partial_key(g->pasid_valid, g->pasid, g->index) >> 7) & dev->partial_mask;
}

/* Queue lock held: the count changes under it only, so a relaxed load and store do; a
 * reader without the lock sees each value whole. */
static void partial_count_add(struct prqd_dev *dev, int delta)
{
	unsigned n = atomic_load_explicit(&dev->npartial, memory_order_relaxed);
	atomic_store_explicit(&dev->npartial, n + (unsigned)delta, memory_order_relaxed);
}

struct prqd_group *prqd__partial_find(struct prqd_dev *dev, const struct prqd_request *r)
{
	uint32_t slot = (partial_key(r->pasid_valid, r->pasid, r->prg_index) >> 7) &
			dev->partial_mask;
	for (struct prqd_group *g = dev->partial_hash[slot]; g; g = g->hnext)
		if (g->index == r->prg_index && g->pasid_valid == r->pasid_valid &&
		    (!r->pasid_valid || g->pasid == r->pasid))
			return g;
	return NULL;
}

/* More than two partials a bucket: a table twice the size, if memory allows (the old one
 * keeps working otherwise, and growth is tried again only once the partials have doubled,
 * not at every insert). No larger than the pool can fill. */
static void partial_hash_grow(struct prqd_dev *dev)
{
	uint32_t buckets = (dev->partial_mask + 1) * 2;
	uint32_t npartial = atomic_load_explicit(&dev->npartial, memory_order_relaxed);
	if (npartial <= 2 * (dev->partial_mask + 1) || buckets > 2 * dev->pool.size ||
	    npartial < dev->partial_grow_retry)
		return;
	const struct prqd_plat *pl = &dev->iommu->plat;
	struct prqd_group **table = prqd__plat_alloc(pl, buckets * sizeof(*table));
	if (!table) {
		dev->partial_grow_retry = 2 * npartial;
		return;
	}
	dev->partial_grow_retry = 0;
	struct prqd_group **old = dev->partial_hash;
	uint32_t old_buckets = dev->partial_mask + 1;
	dev->partial_hash = table;
	dev->partial_mask = buckets - 1;
	for (uint32_t i = 0; i < old_buckets; i++) {
		while (old[i]) {
			struct prqd_group *g = old[i];
			old[i] = g->hnext;
			uint32_t slot = partial_slot(dev, g);
			g->hnext = table[slot];
			table[slot] = g;
		}
	}
	prqd__plat_free(pl, old, old_buckets * sizeof(*old));
}

void prqd__partial_insert(struct prqd_dev *dev, struct prqd_group *g)
{
	uint32_t slot = partial_slot(dev, g);
	g->hnext = dev->partial_hash[slot];
	dev->partial_hash[slot] = g;
	partial_count_add(dev, 1);
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	if (b) {
		g->bprev = NULL;
		g->bnext = b->partials;
		if (b->partials)
			b->partials->bprev = g;
		b->partials = g;
	}
	partial_hash_grow(dev);
}

void prqd__partial_remove(struct prqd_dev *dev, struct prqd_group *g)
{
	for (struct prqd_group **pp = &dev->partial_hash[partial_slot(dev, g)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == g) {
			*pp = g->hnext;
			partial_count_add(dev, -1);
			break;
		}
	}
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	if (b)
		prqd__bond_list_unlink(&b->partials, g);
	g->hnext = NULL;
}

uint32_t prqd__partial_discard_all(struct prqd_dev *dev)
{
	uint32_t n = 0;
	for (uint32_t slot = 0; slot <= dev->partial_mask; slot++) {
		while (dev->partial_hash[slot]) {
			struct prqd_group *g = dev->partial_hash[slot];
			prqd__partial_remove(dev, g);
			prqd__group_free_local(dev, g);
			n++;
		}
	}
	return n;
}
