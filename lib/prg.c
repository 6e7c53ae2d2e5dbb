/* SPDX-License-Identifier: MIT */
/*
 * Page request group assembly: the consumer's fast path.
 *
 * Each device has fixed pools of request nodes and groups, sized at prqd_dev_add(), so no
 * request costs a heap allocation. Only the consumer (queue lock held) takes from the pools;
 * anyone may give a group back (a deferred response from another thread), so returned groups
 * go on a lock-free stack that the consumer empties in one exchange when its own list runs
 * dry. A returned group keeps its request chain, which the consumer splices back then.
 *
 * Partial groups are keyed by (PASID or none, PRG index) in a per-device hash, and linked on
 * their bond so a drain or unbind can discard exactly that bond's partials.
 */
#include "lib/private.h"

int prqd__pools_init(struct prqd_dev *dev, uint32_t pool_size)
{
	const struct prqd_plat *pl = &dev->iommu->plat;
	dev->pool_size = pool_size;
	dev->req_mem = prqd__plat_alloc(pl, pool_size * sizeof(*dev->req_mem));
	dev->group_mem = prqd__plat_alloc(pl, pool_size * sizeof(*dev->group_mem));
	uint32_t buckets = 16;
	while (buckets < pool_size)
		buckets <<= 1;
	dev->partial_mask = buckets - 1;
	dev->partial_hash = prqd__plat_alloc(pl, buckets * sizeof(*dev->partial_hash));
	if (!dev->req_mem || !dev->group_mem || !dev->partial_hash) {
		prqd__pools_fini(dev);
		return -PRQD_ENOMEM;
	}
	for (uint32_t i = 0; i < pool_size; i++) {
		dev->req_mem[i].next = i + 1 < pool_size ? &dev->req_mem[i + 1] : NULL;
		dev->group_mem[i].free_next = i + 1 < pool_size ? &dev->group_mem[i + 1] : NULL;
		dev->group_mem[i].dev = dev;
	}
	dev->req_free = &dev->req_mem[0];
	dev->groups.local = &dev->group_mem[0];
	atomic_init(&dev->groups.returned, NULL);
	return 0;
}

void prqd__pools_fini(struct prqd_dev *dev)
{
	const struct prqd_plat *pl = &dev->iommu->plat;
	prqd__plat_free(pl, dev->req_mem, dev->pool_size * sizeof(*dev->req_mem));
	prqd__plat_free(pl, dev->group_mem, dev->pool_size * sizeof(*dev->group_mem));
	prqd__plat_free(pl, dev->partial_hash, (dev->partial_mask + 1) * sizeof(*dev->partial_hash));
	dev->req_mem = NULL;
	dev->group_mem = NULL;
	dev->partial_hash = NULL;
}

/* Consumer: take back every group returned by other threads, with its request chain. */
static void reclaim_returned(struct prqd_dev *dev)
{
	struct prqd_group *g =
		atomic_exchange_explicit(&dev->groups.returned, NULL, memory_order_acquire);
	while (g) {
		struct prqd_group *next = g->free_next;
		if (g->first) {
			g->last->next = dev->req_free;
			dev->req_free = g->first;
			g->first = g->last = NULL;
		}
		g->free_next = dev->groups.local;
		dev->groups.local = g;
		g = next;
	}
}

/* Consumer: a group back to the local pool, its requests included. */
static void group_free_local(struct prqd_dev *dev, struct prqd_group *g)
{
	if (g->first) {
		g->last->next = dev->req_free;
		dev->req_free = g->first;
	}
	g->first = g->last = NULL;
	atomic_store_explicit(&g->state, PRQD_G_FREE, memory_order_relaxed);
	g->free_next = dev->groups.local;
	dev->groups.local = g;
}

void prqd__group_release(struct prqd_group *g)
{
	struct prqd_dev *dev = g->dev;
	atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	atomic_store_explicit(&g->state, PRQD_G_FREE, memory_order_relaxed);
	struct prqd_group *head = atomic_load_explicit(&dev->groups.returned, memory_order_relaxed);
	do {
		g->free_next = head;
	} while (!atomic_compare_exchange_weak_explicit(&dev->groups.returned, &head, g,
							memory_order_release, memory_order_relaxed));
}

static struct prqd_group *group_alloc(struct prqd_dev *dev)
{
	if (!dev->groups.local)
		reclaim_returned(dev);
	struct prqd_group *g = dev->groups.local;
	if (!g)
		return NULL;
	dev->groups.local = g->free_next;
	g->free_next = NULL;
	g->count = 0;
	g->first = g->last = NULL;
	g->hnext = g->bnext = g->bprev = NULL;
	return g;
}

static struct prqd_req_node *req_alloc(struct prqd_dev *dev)
{
	if (!dev->req_free)
		reclaim_returned(dev);
	struct prqd_req_node *n = dev->req_free;
	if (n)
		dev->req_free = n->next;
	return n;
}

static uint32_t partial_slot(const struct prqd_dev *dev, bool pasid_valid, uint32_t pasid,
			     uint16_t index)
{
	uint32_t key = ((pasid_valid ? pasid + 1 : 0) << 9) ^ index;
	key *= 0x9e3779b1u; /* Fibonacci hashing spreads consecutive PASIDs */
	return (key >> 7) & dev->partial_mask;
}

static struct prqd_group *partial_find(struct prqd_dev *dev, const struct prqd_request *r)
{
	if (!dev->npartial) /* the common case: one-request groups */
		return NULL;
	for (struct prqd_group *g = dev->partial_hash[partial_slot(dev, r->pasid_valid, r->pasid,
								    r->prg_index)];
	     g; g = g->hnext)
		if (g->index == r->prg_index && g->pasid_valid == r->pasid_valid &&
		    (!r->pasid_valid || g->pasid == r->pasid))
			return g;
	return NULL;
}

static void partial_insert(struct prqd_dev *dev, struct prqd_group *g)
{
	uint32_t slot = partial_slot(dev, g->pasid_valid, g->pasid, g->index);
	g->hnext = dev->partial_hash[slot];
	dev->partial_hash[slot] = g;
	dev->npartial++;
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	if (b) {
		g->bprev = NULL;
		g->bnext = b->partials;
		if (b->partials)
			b->partials->bprev = g;
		b->partials = g;
	}
}

static void partial_remove(struct prqd_dev *dev, struct prqd_group *g)
{
	uint32_t slot = partial_slot(dev, g->pasid_valid, g->pasid, g->index);
	for (struct prqd_group **pp = &dev->partial_hash[slot]; *pp; pp = &(*pp)->hnext) {
		if (*pp == g) {
			*pp = g->hnext;
			dev->npartial--;
			break;
		}
	}
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	if (b) {
		if (g->bprev)
			g->bprev->bnext = g->bnext;
		else
			b->partials = g->bnext;
		if (g->bnext)
			g->bnext->bprev = g->bprev;
	}
	g->hnext = g->bnext = g->bprev = NULL;
}

uint32_t prqd__discard_partials(struct prqd_dev *dev, struct prqd_bond *bond)
{
	uint32_t n = 0;
	if (bond) {
		while (bond->partials) {
			struct prqd_group *g = bond->partials;
			partial_remove(dev, g);
			group_free_local(dev, g);
			n++;
		}
	} else {
		for (uint32_t slot = 0; slot <= dev->partial_mask; slot++) {
			while (dev->partial_hash[slot]) {
				struct prqd_group *g = dev->partial_hash[slot];
				partial_remove(dev, g);
				group_free_local(dev, g);
				n++;
			}
		}
	}
	if (n) {
		prqd_cstat_add(dev->iommu, partial_discarded, n);
		if (prqd__tracing(dev->iommu)) {
			struct prqd_trace_event ev = {
				.type = PRQD_TR_PARTIAL_DISCARD,
				.rid = dev->info.rid,
				.pasid_valid = bond && bond->pasid != PRQD_NO_PASID,
				.pasid = bond && bond->pasid != PRQD_NO_PASID ? bond->pasid : 0,
				.bond_gen = bond ? bond->gen : 0,
				.value = n,
			};
			prqd__trace(dev->iommu, &ev);
		}
	}
	return n;
}

/*
 * The bond a request belongs to: the one in its PASID's slot, unless the request was queued
 * before that bond was bound (then it is an earlier generation's, or nobody's).
 */
static struct prqd_bond *bond_lookup(struct prqd_iommu *iommu, const struct prqd_dev *dev,
				     const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	struct prqd_bond *b = r->pasid_valid ? prqd__pasid_get(&dev->table, r->pasid)
					     : dev->rid_bond;
	if (b && hw->seq < b->start_seq) {
		prqd_cstat_inc(iommu, stale_requests);
		return NULL;
	}
	return b;
}

static bool is_stop_marker(const struct prqd_request *r)
{
	/* Without a PASID the same encoding is an ordinary request (PCIe §10.4.1.2). */
	return r->last && !r->read && !r->write && r->pasid_valid;
}

static void handle_stop_marker(struct prqd_iommu *iommu, struct prqd_dev *dev,
			       const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	prqd_cstat_inc(iommu, stop_markers);
	/* The marker often arrives before the driver calls unbind: it is remembered whatever
	 * the bond's state, until the bond resumes. */
	struct prqd_bond *b = bond_lookup(iommu, dev, hw);
	if (b)
		atomic_store_explicit(&b->marker_seen, true, memory_order_release);
	else
		prqd_cstat_inc(iommu, stop_markers_unexpected);
	if (prqd__tracing(iommu)) {
		struct prqd_trace_event ev = {
			.type = PRQD_TR_STOP_MARKER, .rid = r->rid, .pasid_valid = true,
			.pasid = r->pasid,	   .prg_index = r->prg_index,
			.bond_gen = b ? b->gen : 0,
		};
		prqd__trace(iommu, &ev);
	}
}

/*
 * The handler returned @code for @g instead of deferring. The answer is the consumer's own
 * business, so it skips prqd_respond()'s checks: unless the group left the handler's hands
 * meanwhile (taken back by an abandon, or answered from another thread: then prqd_respond()
 * sorts it out, as for any answer), it is answered here and its memory goes straight back to
 * the consumer's pool, not through the other threads' return stack.
 */
static void answer_returned(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_bond *b,
			    struct prqd_group *g, int code)
{
	prqd_spin_lock(&b->lock);
	if (atomic_load_explicit(&g->state, memory_order_relaxed) != PRQD_G_HANDLER ||
	    atomic_load_explicit(&g->bond, memory_order_relaxed) != b) {
		prqd_spin_unlock(&b->lock);
		prqd_respond(g, code);
		return;
	}
	prqd__held_unlink(b, g);
	atomic_store_explicit(&g->state, PRQD_G_ANSWERING, memory_order_relaxed);
	uint32_t gen = b->gen;
	prqd_spin_unlock(&b->lock);
	prqd__answer(iommu, dev, &g->last->hw, gen, code, PRQD_BY_HANDLER, true);
	atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	group_free_local(dev, g);
}

/* The Last request arrived: hand the group to its bond's handler, or answer it. */
static void complete_group(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_group *g)
{
	prqd_cstat_inc(iommu, groups);
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	const struct prqd_request *last = &g->last->hw.req;
	if (!b) {
		prqd__answer(iommu, dev, &g->last->hw, 0, PRQD_RESP_INVALID, PRQD_BY_NOBOND, true);
		group_free_local(dev, g);
		return;
	}
	prqd_spin_lock(&b->lock);
	if (atomic_load_explicit(&b->state, memory_order_relaxed) != PRQD_BOND_ACTIVE) {
		if (b->quarantined)
			prqd_cstat_inc(iommu, stale_groups);
		prqd_spin_unlock(&b->lock);
		prqd__answer(iommu, dev, &g->last->hw, b->gen, PRQD_RESP_INVALID, PRQD_BY_STOP,
			     true);
		atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
		group_free_local(dev, g);
		return;
	}
	atomic_store_explicit(&g->state, PRQD_G_HANDLER, memory_order_release);
	g->bprev = NULL;
	g->bnext = b->held;
	if (b->held)
		b->held->bprev = g;
	b->held = g;
	b->outstanding++;
	prqd_spin_unlock(&b->lock);

	prqd_cstat_inc(iommu, delivered);
	if (prqd__tracing(iommu)) {
		struct prqd_trace_event ev = {
			.type = PRQD_TR_GROUP_DELIVER, .rid = last->rid,
			.pasid_valid = last->pasid_valid, .pasid = last->pasid,
			.prg_index = last->prg_index,	  .bond_gen = b->gen,
			.value = g->count,
		};
		prqd__trace(iommu, &ev);
	}
	int code = b->handler(b->cookie, b, g);
	if (code == PRQD_RESP_DEFER)
		return;
	if (code < PRQD_RESP_SUCCESS || code > PRQD_RESP_FAILURE) {
		/* A handler bug must not cost the group its response, and the library never
		 * chooses Failure itself: Invalid is the answer that disables nothing. */
		prqd_err(iommu->ctx, "handler returned %d, not a response code: answering Invalid",
			 code);
		prqd_cstat_inc(iommu, bad_responses);
		code = PRQD_RESP_INVALID;
	}
	answer_returned(iommu, dev, b, g, code);
}

/* A request that cannot join a group: answer it alone if it closes one (a stall always does:
 * it is terminated). */
static void answer_ungrouped(struct prqd_iommu *iommu, struct prqd_dev *dev,
			     const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	if (hw->stall || (r->last && !is_stop_marker(r)))
		prqd__answer(iommu, dev, hw, 0, PRQD_RESP_INVALID, PRQD_BY_NOBOND, true);
}

/* A fresh group begins with @r, for @bond (NULL: none). */
static void group_start(struct prqd_group *g, struct prqd_bond *bond, const struct prqd_request *r)
{
	atomic_store_explicit(&g->bond, bond, memory_order_relaxed);
	g->bond_gen = bond ? bond->gen : 0;
	g->pasid_valid = r->pasid_valid;
	g->pasid = r->pasid_valid ? r->pasid : 0;
	g->index = r->prg_index;
	atomic_store_explicit(&g->state, PRQD_G_PARTIAL, memory_order_relaxed);
}

/*
 * A stall-style fault: one transaction, its own group, never grouped by index nor kept
 * partial. It goes to the bond's handler like a page request group (or is terminated when
 * the PASID has no active bond), and the group's exactly-once answer resumes or terminates
 * it.
 */
static void handle_stall(struct prqd_iommu *iommu, struct prqd_dev *dev,
			 const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	prqd_cstat_inc(iommu, stalls);
	struct prqd_bond *bond = bond_lookup(iommu, dev, hw);
	struct prqd_group *g = group_alloc(dev);
	struct prqd_req_node *n = g ? req_alloc(dev) : NULL;
	if (!n) {
		if (g)
			group_free_local(dev, g);
		prqd_cstat_inc(iommu, pool_exhausted);
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	group_start(g, bond, r);
	n->hw = *hw;
	n->hw.req.size = sizeof(n->hw.req);
	n->hw.req.stall = true;
	n->next = NULL;
	g->first = g->last = n;
	g->count = 1;
	complete_group(iommu, dev, g);
}

void prqd__handle_request(struct prqd_iommu *iommu, const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	prqd_cstat_inc(iommu, requests);
	if (prqd__tracing(iommu)) {
		struct prqd_trace_event ev = {
			.type = PRQD_TR_REQUEST, .rid = r->rid, .pasid_valid = r->pasid_valid,
			.pasid = r->pasid,	 .prg_index = r->prg_index, .value = r->addr,
			.code = (uint8_t)(r->last ? 1 : 0),
		};
		prqd__trace(iommu, &ev);
	}

	struct prqd_dev *dev = prqd__dev_lookup(iommu, r->source_id);
	if (!dev || hw->malformed) {
		if (!dev)
			prqd_cstat_inc(iommu, unknown_requester);
		else
			prqd_cstat_inc(iommu, bad_requests);
		prqd_dbg(iommu->ctx, "%s request rid %04x pasid %u index %u",
			 dev ? "malformed" : "unknown requester", r->rid, (unsigned)r->pasid,
			 r->prg_index);
		if (prqd__tracing(iommu)) {
			struct prqd_trace_event ev = {
				.type = PRQD_TR_BAD_REQUEST, .rid = r->rid,
				.pasid_valid = r->pasid_valid, .pasid = r->pasid,
				.prg_index = r->prg_index, .value = r->addr,
			};
			prqd__trace(iommu, &ev);
		}
		/* A malformed Last still closes its group: the partial it would have joined can
		 * never complete and its index is about to be answered. */
		struct prqd_group *partial =
			dev && r->last && !hw->stall ? partial_find(dev, r) : NULL;
		if (partial) {
			partial_remove(dev, partial);
			group_free_local(dev, partial);
			prqd_cstat_inc(iommu, partial_discarded);
		}
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	if (hw->stall) {
		handle_stall(iommu, dev, hw);
		return;
	}
	if (is_stop_marker(r)) {
		handle_stop_marker(iommu, dev, hw);
		return;
	}

	struct prqd_bond *bond = bond_lookup(iommu, dev, hw);
	struct prqd_group *g = partial_find(dev, r);
	if (g && atomic_load_explicit(&g->bond, memory_order_relaxed) != bond) {
		/* The PASID changed hands since this group began: its start belongs to an old
		 * generation (or to none). It can never complete as one group. */
		partial_remove(dev, g);
		group_free_local(dev, g);
		prqd_cstat_inc(iommu, stale_groups);
		prqd_cstat_inc(iommu, partial_discarded);
		g = NULL;
	}
	bool is_new = g == NULL;
	if (is_new) {
		g = group_alloc(dev);
		if (!g) {
			prqd_cstat_inc(iommu, pool_exhausted);
			answer_ungrouped(iommu, dev, hw);
			return;
		}
		group_start(g, bond, r);
	}
	struct prqd_req_node *n = req_alloc(dev);
	if (!n) {
		/* Out of request slots: the device exceeded its allocation. The group can't be
		 * kept whole, so it goes; its Last, if this is it, still gets its answer. */
		prqd_cstat_inc(iommu, pool_exhausted);
		if (!is_new)
			partial_remove(dev, g);
		group_free_local(dev, g);
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	n->hw = *hw;
	n->hw.req.size = sizeof(n->hw.req);
	n->next = NULL;
	if (g->last)
		g->last->next = n;
	else
		g->first = n;
	g->last = n;
	g->count++;

	if (!r->last) {
		if (is_new)
			partial_insert(dev, g);
		return;
	}
	if (!is_new)
		partial_remove(dev, g);
	complete_group(iommu, dev, g);
}

PRQD_EXPORT unsigned prqd_group_count(const struct prqd_group *group)
{
	return group ? group->count : 0;
}

PRQD_EXPORT uint64_t prqd_group_request_tag(const struct prqd_group *group, unsigned i)
{
	if (!group)
		return 0;
	for (const struct prqd_req_node *n = group->first; n; n = n->next, i--)
		if (i == 0)
			return n->hw.tag;
	return 0;
}

PRQD_EXPORT const struct prqd_request *prqd_group_request(const struct prqd_group *group,
							  unsigned i)
{
	if (!group)
		return NULL;
	for (const struct prqd_req_node *n = group->first; n; n = n->next, i--)
		if (i == 0)
			return &n->hw.req;
	return NULL;
}

PRQD_EXPORT struct prqd_bond *prqd_group_bond(const struct prqd_group *group)
{
	return group ? atomic_load_explicit(&((struct prqd_group *)group)->bond,
					    memory_order_relaxed)
		     : NULL;
}

PRQD_EXPORT uint16_t prqd_group_index(const struct prqd_group *group)
{
	return group ? group->index : 0;
}
