/* SPDX-License-Identifier: MIT */
/*
 * Page request group assembly: the consumer's fast path.
 *
 * Each request is matched to its device and its bond, joins the partial group of its
 * (PASID, PRG index) or starts one, and when the group's Last arrives the group goes to the
 * bond's handler, or is answered. Groups and request nodes come from the device's pool (pool.c),
 * which is also where partial groups are kept, keyed by (PASID or none, PRG index) and
 * linked on their bond so a drain or unbind can discard exactly that bond's partials.
 */
#include "lib/answer.h"

/* Steps of the common case (a one-request group, answered by its handler at once) are
 * inlined into one flat path; what is rare stays out of line. */
#define PRQD_HOT static inline __attribute__((always_inline))
#define PRQD_COLD static __attribute__((noinline, cold))

uint32_t prqd__discard_partials(struct prqd_dev *dev, struct prqd_bond *bond)
{
	uint32_t n = 0;
	if (bond) {
		while (bond->partials) {
			struct prqd_group *g = bond->partials;
			prqd__partial_remove(dev, g);
			prqd__group_free_local(dev, g);
			n++;
		}
	} else {
		n = prqd__partial_discard_all(dev);
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
PRQD_HOT struct prqd_bond *bond_lookup(struct prqd_iommu *iommu, const struct prqd_dev *dev,
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

/* The library answers a complete group in its bond's place (@responder): it has no bond
 * (PRQD_BY_NOBOND, @gen 0), or its bond of generation @gen is not ACTIVE (PRQD_BY_STOP). */
PRQD_COLD void answer_undelivered(struct prqd_iommu *iommu, struct prqd_dev *dev,
				  struct prqd_group *g, int responder, uint32_t gen)
{
	prqd__answer(iommu, dev, &g->last->hw, gen, PRQD_RESP_INVALID, responder, true);
	atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	prqd__group_free_local(dev, g);
}

PRQD_COLD void trace_delivery(struct prqd_iommu *iommu, const struct prqd_group *g,
			      const struct prqd_bond *b)
{
	const struct prqd_request *last = &g->last->hw.req;
	struct prqd_trace_event ev = {
		.type = PRQD_TR_GROUP_DELIVER, .rid = last->rid,
		.pasid_valid = last->pasid_valid, .pasid = last->pasid,
		.prg_index = last->prg_index,	  .bond_gen = b->gen,
		.value = g->count,
	};
	prqd__trace(iommu, &ev);
}

/* A handler bug must not cost the group its response, and the library never chooses Failure
 * itself: Invalid is the answer that disables nothing. */
PRQD_COLD int bad_handler_code(struct prqd_iommu *iommu, int code)
{
	prqd_err(iommu->ctx, "handler returned %d, not a response code: answering Invalid", code);
	prqd_cstat_inc(iommu, bad_responses);
	return PRQD_RESP_INVALID;
}

/*
 * The handler returned @code for @g instead of deferring. The answer is the consumer's own
 * business, so it skips prqd_respond()'s checks: unless the group left the handler's hands
 * meanwhile (taken back by an abandon, or answered from another thread: then prqd_respond()
 * sorts it out, as for any answer), it is answered here and its memory goes straight back to
 * the consumer's pool, not through the other threads' return stack.
 */
PRQD_HOT void answer_returned(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_bond *b,
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
	const struct prqd_hw_req *last = &g->last->hw;
	int result = prqd__send_answer(iommu, dev, last, code, true);
	if (result < 0 || prqd__tracing(iommu))
		prqd__answer_record(iommu, last, gen, code, PRQD_BY_HANDLER, true, result);
	else
		iommu->batch_counts.handler_answers[code]++;
	atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	prqd__group_free_local(dev, g);
}

/* The Last request arrived: hand the group to its bond's handler, or answer it. */
PRQD_HOT void complete_group(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_group *g)
{
	iommu->batch_counts.groups++;
	struct prqd_bond *b = atomic_load_explicit(&g->bond, memory_order_relaxed);
	if (!b) {
		answer_undelivered(iommu, dev, g, PRQD_BY_NOBOND, 0);
		return;
	}
	prqd_spin_lock(&b->lock);
	if (atomic_load_explicit(&b->state, memory_order_relaxed) != PRQD_BOND_ACTIVE) {
		if (b->quarantined)
			prqd_cstat_inc(iommu, stale_groups);
		uint32_t gen = b->gen;
		prqd_spin_unlock(&b->lock);
		answer_undelivered(iommu, dev, g, PRQD_BY_STOP, gen);
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

	iommu->batch_counts.delivered++;
	if (prqd__tracing(iommu))
		trace_delivery(iommu, g, b);
	int code = b->handler(b->cookie, b, g);
	if (code == PRQD_RESP_DEFER)
		return;
	if (code < PRQD_RESP_SUCCESS || code > PRQD_RESP_FAILURE)
		code = bad_handler_code(iommu, code);
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
PRQD_HOT void group_start(struct prqd_group *g, struct prqd_bond *bond,
			  const struct prqd_request *r)
{
	atomic_store_explicit(&g->bond, bond, memory_order_relaxed);
	g->pasid_valid = r->pasid_valid;
	g->pasid = r->pasid_valid ? r->pasid : 0;
	g->index = r->prg_index;
	atomic_store_explicit(&g->state, PRQD_G_PARTIAL, memory_order_relaxed);
}

/* Copy a fetched request into the pool: the batch it came in is reused at the next fetch. */
PRQD_HOT void store_request(struct prqd_req_node *n, const struct prqd_hw_req *hw)
{
	n->hw = *hw;
	n->hw.req.size = sizeof(n->hw.req);
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
	struct prqd_group *g = prqd__group_get(dev);
	if (!g) {
		prqd_cstat_inc(iommu, pool_exhausted);
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	group_start(g, bond, r);
	store_request(&g->head, hw);
	g->head.hw.req.stall = true;
	complete_group(iommu, dev, g);
}

/* @hw begins a group (for @bond, or none): a one-request group is complete at once. */
PRQD_HOT void start_group(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_bond *bond,
			  const struct prqd_hw_req *hw)
{
	struct prqd_group *g = prqd__group_get(dev);
	if (!g) {
		prqd_cstat_inc(iommu, pool_exhausted);
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	group_start(g, bond, &hw->req);
	store_request(&g->head, hw);
	if (hw->req.last)
		complete_group(iommu, dev, g);
	else
		prqd__partial_insert(dev, g);
}

/* @hw continues the partial group @g: the group grows, and is complete at its Last. */
static void extend_group(struct prqd_iommu *iommu, struct prqd_dev *dev, struct prqd_bond *bond,
			 struct prqd_group *g, const struct prqd_hw_req *hw)
{
	if (atomic_load_explicit(&g->bond, memory_order_relaxed) != bond) {
		/* The PASID changed hands since this group began: its start belongs to an old
		 * generation (or to none). It can never complete as one group; this request
		 * starts over. */
		prqd__partial_remove(dev, g);
		prqd__group_free_local(dev, g);
		prqd_cstat_inc(iommu, stale_groups);
		prqd_cstat_inc(iommu, partial_discarded);
		start_group(iommu, dev, bond, hw);
		return;
	}
	struct prqd_req_node *n = prqd__node_get(dev);
	if (!n) {
		/* Out of request slots: the device exceeded its allocation. The group can't be
		 * kept whole, so it goes; its Last, if this is it, still gets its answer. */
		prqd_cstat_inc(iommu, pool_exhausted);
		prqd__partial_remove(dev, g);
		prqd__group_free_local(dev, g);
		answer_ungrouped(iommu, dev, hw);
		return;
	}
	store_request(n, hw);
	g->last->next = n;
	g->last = n;
	g->count++;
	if (!hw->req.last)
		return;
	prqd__partial_remove(dev, g);
	complete_group(iommu, dev, g);
}

/* A request from an unknown requester (@dev NULL) or one the backend found malformed. */
PRQD_COLD void handle_bad_request(struct prqd_iommu *iommu, struct prqd_dev *dev,
				  const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	if (!dev)
		prqd_cstat_inc(iommu, unknown_requester);
	else
		prqd_cstat_inc(iommu, bad_requests);
	prqd_dbg(iommu->ctx, "%s request rid %04x pasid %u index %u",
		 dev ? "malformed" : "unknown requester", r->rid, (unsigned)r->pasid, r->prg_index);
	if (prqd__tracing(iommu)) {
		struct prqd_trace_event ev = {
			.type = PRQD_TR_BAD_REQUEST, .rid = r->rid, .pasid_valid = r->pasid_valid,
			.pasid = r->pasid,	     .prg_index = r->prg_index, .value = r->addr,
		};
		prqd__trace(iommu, &ev);
	}
	/* A malformed Last still closes its group: the partial it would have joined can never
	 * complete and its index is about to be answered. */
	struct prqd_group *partial = dev && r->last && !hw->stall ? prqd__partial_find(dev, r)
								   : NULL;
	if (partial) {
		prqd__partial_remove(dev, partial);
		prqd__group_free_local(dev, partial);
		prqd_cstat_inc(iommu, partial_discarded);
	}
	answer_ungrouped(iommu, dev, hw);
}

PRQD_COLD void trace_request(struct prqd_iommu *iommu, const struct prqd_request *r)
{
	struct prqd_trace_event ev = {
		.type = PRQD_TR_REQUEST, .rid = r->rid, .pasid_valid = r->pasid_valid,
		.pasid = r->pasid,	 .prg_index = r->prg_index, .value = r->addr,
		.code = (uint8_t)(r->last ? 1 : 0),
	};
	prqd__trace(iommu, &ev);
}

PRQD_HOT void handle_request(struct prqd_iommu *iommu, const struct prqd_hw_req *hw)
{
	const struct prqd_request *r = &hw->req;
	if (prqd__tracing(iommu))
		trace_request(iommu, r);
	struct prqd_dev *dev = prqd__dev_lookup(iommu, r->source_id);
	if (!dev || hw->malformed) {
		handle_bad_request(iommu, dev, hw);
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
	struct prqd_group *g = atomic_load_explicit(&dev->npartial, memory_order_relaxed)
				       ? prqd__partial_find(dev, r)
				       : NULL;
	if (g)
		extend_group(iommu, dev, bond, g, hw);
	else
		start_group(iommu, dev, bond, hw);
}

/* The batch's counts into the consumer's counters, where prqd_iommu_stats() reads them. */
static void flush_batch_counts(struct prqd_iommu *iommu)
{
	struct prqd_batch_counts *c = &iommu->batch_counts;
	prqd_cstat_add(iommu, groups, c->groups);
	prqd_cstat_add(iommu, delivered, c->delivered);
	uint64_t answers = 0;
	for (unsigned code = 0; code < PRQD_ARRAY_SIZE(c->handler_answers); code++) {
		prqd_cstat_add(iommu, responses[code], c->handler_answers[code]);
		answers += c->handler_answers[code];
	}
	prqd_cstat_add(iommu, by[PRQD_BY_HANDLER], answers);
	prqd__memset(c, 0, sizeof(*c));
}

void prqd__handle_batch(struct prqd_iommu *iommu, const struct prqd_hw_req *batch, unsigned n)
{
	prqd_cstat_add(iommu, requests, n);
	for (unsigned i = 0; i < n; i++)
		handle_request(iommu, &batch[i]);
	flush_batch_counts(iommu);
}

PRQD_EXPORT unsigned prqd_group_count(const struct prqd_group *group)
{
	return group ? group->count : 0;
}

PRQD_EXPORT uint64_t prqd_group_request_tag(const struct prqd_group *group, unsigned i)
{
	if (!group)
		return 0;
	for (const struct prqd_req_node *n = &group->head; n; n = n->next, i--)
		if (i == 0)
			return n->hw.tag;
	return 0;
}

PRQD_EXPORT const struct prqd_request *prqd_group_request(const struct prqd_group *group,
							  unsigned i)
{
	if (!group)
		return NULL;
	for (const struct prqd_req_node *n = &group->head; n; n = n->next, i--)
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
