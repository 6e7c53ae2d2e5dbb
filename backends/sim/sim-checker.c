/* SPDX-License-Identifier: MIT */
/*
 * The checker: it watches the wire, not the library. Every request leaving a device and every
 * response reaching one (the IOMMU's overflow auto-responses included) passes through here,
 * and the harness tells it what the library did (bond generations, deliveries, drains).
 *
 * A group is known from the moment its Last request leaves the device until its one
 * response arrives. Responses are matched by tag (the Last request's serial: the backend's
 * prqd_hw_req.tag, which the library hands back in prqd_hw_resp.tag), so a response to the wrong device, index or PASID,
 * a second response, or a response to a Stop Marker is told apart exactly. A response without
 * a tag is matched as the device would match it, by index.
 *
 * Memory: outstanding groups, a fixed window of recent stop markers, and a short epoch
 * history per (rid, PASID) ever bound; nothing grows with the number of requests sent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "backends/sim/sim-internal.h"

static const char *const violation_names[SIM_V_NR] = {
	[SIM_V_DOUBLE_RESPONSE] = "double-response",
	[SIM_V_NO_RESPONSE] = "no-response",
	[SIM_V_STOP_MARKER_ANSWERED] = "stop-marker-answered",
	[SIM_V_WRONG_TARGET] = "wrong-target",
	[SIM_V_WRONG_GENERATION] = "wrong-generation",
	[SIM_V_DRAIN_INCOMPLETE] = "drain-incomplete",
	[SIM_V_LEAK] = "leak",
	[SIM_V_PROTOCOL] = "protocol",
};

const char *sim_violation_name(unsigned kind)
{
	return kind < SIM_V_NR ? violation_names[kind] : "?";
}

unsigned sim_violation_count(const struct sim_world *w, unsigned kind)
{
	return kind < SIM_V_NR ? w->chk.counts[kind] : 0;
}

unsigned sim_violation_total(const struct sim_world *w)
{
	return w->chk.total;
}

const struct sim_violation *sim_violation_get(const struct sim_world *w, unsigned i)
{
	return i < w->chk.nkept ? &w->chk.kept[i] : NULL;
}

void sim_chk_violation(struct sim_world *w, unsigned kind, uint16_t rid, uint32_t pasid,
		       uint16_t prg_index, const char *fmt, ...)
{
	struct sim_checker *c = &w->chk;
	if (kind >= SIM_V_NR)
		return;
	c->counts[kind]++;
	c->total++;
	if (c->nkept >= SIM_VIOLATIONS_KEPT)
		return;
	struct sim_violation *v = &c->kept[c->nkept++];
	v->kind = kind;
	v->time_ns = w->now;
	v->rid = rid;
	v->pasid = pasid;
	v->prg_index = prg_index;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

void sim_chk_release(struct sim_world *w, struct sim_checker *c)
{
	sim_map_free(w, &c->groups);
	sim_map_free(w, &c->by_index);
	sim_pool_fini(w, &c->pool);
	sim_map_free(w, &c->epoch_index);
	sim_mem_free(w, c->epochs, c->epochs_cap * sizeof(*c->epochs));
}

/* ---- groups on the wire --------------------------------------------------------------------- */

static uint32_t wire_pasid(const struct sim_up_msg *m)
{
	return (m->flags & SIM_RQ_PASID) ? m->pasid : PRQD_NO_PASID;
}

static struct sim_chk_group *chk_group(const struct sim_checker *c, uint64_t slot)
{
	return sim_pool_at(&c->pool, (int64_t)slot);
}

static uint64_t index_key(uint16_t rid, uint16_t prg_index)
{
	return (uint64_t)rid << 16 | prg_index;
}

/* Append @slot to its (rid, index) ring: the newest group there. */
static void index_link(struct sim_world *w, struct sim_checker *c, int32_t slot)
{
	struct sim_chk_group *g = chk_group(c, (uint64_t)slot);
	bool alone;
	uint64_t *head = sim_map_ref(w, &c->by_index, index_key(g->rid, g->prg_index), &alone);
	if (alone) {
		g->index_next = g->index_prev = slot;
		*head = (uint64_t)slot;
		return;
	}
	struct sim_chk_group *first = chk_group(c, *head);
	int32_t tail = first->index_prev;
	chk_group(c, (uint64_t)tail)->index_next = slot;
	g->index_prev = tail;
	g->index_next = (int32_t)*head;
	first->index_prev = slot;
}

static void index_unlink(struct sim_world *w, struct sim_checker *c, int32_t slot)
{
	struct sim_chk_group *g = chk_group(c, (uint64_t)slot);
	uint64_t key = index_key(g->rid, g->prg_index);
	if (g->index_next == slot) { /* alone at its index */
		sim_map_del(&c->by_index, key);
		return;
	}
	chk_group(c, (uint64_t)g->index_prev)->index_next = g->index_next;
	chk_group(c, (uint64_t)g->index_next)->index_prev = g->index_prev;
	uint64_t head = 0;
	sim_map_get(&c->by_index, key, &head);
	if (head == (uint64_t)slot) /* the next oldest becomes the head */
		sim_map_put(w, &c->by_index, key, (uint64_t)g->index_next);
}

static void group_forget(struct sim_world *w, struct sim_checker *c, uint64_t slot)
{
	index_unlink(w, c, (int32_t)slot);
	sim_map_del(&c->groups, chk_group(c, slot)->tag);
	chk_group(c, slot)->tag = 0;
	sim_pool_put(&c->pool, (int32_t)slot);
}

void sim_chk_request_sent(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_world *w = d->w;
	struct sim_checker *c = &w->chk;
	if (m->flags & SIM_RQ_MARKER) {
		struct sim_chk_marker *mk = &c->markers[c->markers_next];
		mk->tag = m->tag;
		mk->pasid = m->pasid;
		mk->rid = d->cfg.rid;
		c->markers_next = (c->markers_next + 1) % SIM_MARKERS_KEPT;
		if (c->markers_count < SIM_MARKERS_KEPT)
			c->markers_count++;
		return;
	}
	/* Only a group whose Last went out can be answered; one that never sends Last (a
	 * misbehaving device) is owed nothing. */
	if (!(m->flags & SIM_RQ_LAST))
		return;
	int32_t slot = sim_pool_take(w, &c->pool);
	struct sim_chk_group *g = chk_group(c, slot);
	g->tag = m->tag;
	g->rid = d->cfg.rid;
	g->pasid_valid = m->flags & SIM_RQ_PASID;
	g->pasid = wire_pasid(m);
	g->prg_index = m->prg_index;
	sim_map_put(w, &c->groups, m->tag, (uint64_t)slot);
	index_link(w, c, slot);
}

static const struct sim_chk_marker *marker_by_tag(const struct sim_checker *c, uint64_t tag)
{
	for (unsigned i = 0; i < c->markers_count; i++)
		if (c->markers[i].tag == tag)
			return &c->markers[i];
	return NULL;
}

static const struct sim_chk_marker *marker_at(const struct sim_checker *c, uint16_t rid,
					      const struct sim_down_msg *m)
{
	if (m->prg_index != 0)
		return NULL;
	for (unsigned i = 0; i < c->markers_count; i++) {
		const struct sim_chk_marker *mk = &c->markers[i];
		if (mk->rid == rid && (!m->pasid_present || mk->pasid == m->pasid))
			return mk;
	}
	return NULL;
}

static bool pasid_fits(const struct sim_dev *d, const struct sim_chk_group *g,
		       const struct sim_down_msg *m)
{
	/* The response carries a PASID only for a group that had one, and that one. */
	if (m->pasid_present && (!g->pasid_valid || m->pasid != g->pasid))
		return false;
	/* A function that requires the PASID in responses must get it. */
	if (d->cfg.prg_resp_pasid_required && g->pasid_valid && !m->pasid_present)
		return false;
	return true;
}

static enum sim_chk_verdict judge(struct sim_dev *d, const struct sim_down_msg *m,
				  uint64_t slot)
{
	struct sim_world *w = d->w;
	struct sim_checker *c = &w->chk;
	const struct sim_chk_group *g = chk_group(c, slot);
	uint16_t rid = d->cfg.rid;
	uint32_t mpasid = m->pasid_present ? m->pasid : PRQD_NO_PASID;
	if (g->rid != rid || g->prg_index != m->prg_index) {
		sim_chk_violation(w, SIM_V_WRONG_TARGET, rid, mpasid, m->prg_index,
				  "response for group %llu (rid %04x index %u) %s",
				  (unsigned long long)g->tag, g->rid, g->prg_index,
				  g->rid != rid ? "sent to another requester" : "with another index");
		return SIM_CHK_BAD;
	}
	if (!pasid_fits(d, g, m)) {
		sim_chk_violation(w, SIM_V_WRONG_TARGET, rid, mpasid, m->prg_index,
				  "response for group %llu: PASID %s%lld, group's %s%lld",
				  (unsigned long long)g->tag, m->pasid_present ? "" : "none ",
				  m->pasid_present ? (long long)m->pasid : -1LL,
				  g->pasid_valid ? "" : "none ",
				  g->pasid_valid ? (long long)g->pasid : -1LL);
		return SIM_CHK_BAD;
	}
	bool stale = g->forgiven;
	group_forget(d->w, c, slot);
	return stale ? SIM_CHK_STALE : SIM_CHK_OK;
}

/* The oldest group outstanding at (rid, index), preferring one whose PASID fits. */
static bool match_by_index(const struct sim_dev *d, const struct sim_down_msg *m, uint64_t *out)
{
	const struct sim_checker *c = &d->w->chk;
	uint64_t head;
	if (!sim_map_get(&c->by_index, index_key(d->cfg.rid, m->prg_index), &head))
		return false;
	/* The ring is in send order: the first that fits is the oldest that fits. */
	uint64_t slot = head;
	do {
		const struct sim_chk_group *g = chk_group(c, slot);
		if (pasid_fits(d, g, m)) {
			*out = slot;
			return true;
		}
		slot = (uint64_t)g->index_next;
	} while (slot != head);
	*out = head;
	return true;
}

enum sim_chk_verdict sim_chk_response(struct sim_dev *d, const struct sim_down_msg *m)
{
	struct sim_world *w = d->w;
	struct sim_checker *c = &w->chk;
	uint16_t rid = d->cfg.rid;
	uint32_t mpasid = m->pasid_present ? m->pasid : PRQD_NO_PASID;
	uint64_t slot;

	if (m->tag) {
		if (sim_map_get(&c->groups, m->tag, &slot))
			return judge(d, m, slot);
		if (marker_by_tag(c, m->tag)) {
			sim_chk_violation(w, SIM_V_STOP_MARKER_ANSWERED, rid, mpasid, m->prg_index,
					  "response to stop marker %llu%s",
					  (unsigned long long)m->tag, m->is_auto ? " (auto)" : "");
			return SIM_CHK_BAD;
		}
		if (m->tag < d->first_tag) {
			sim_chk_violation(w, SIM_V_WRONG_TARGET, rid, mpasid, m->prg_index,
					  "response for group %llu of a removed device at this RID",
					  (unsigned long long)m->tag);
			return SIM_CHK_BAD;
		}
		sim_chk_violation(w, SIM_V_DOUBLE_RESPONSE, rid, mpasid, m->prg_index,
				  "group %llu is not outstanding (answered already)%s",
				  (unsigned long long)m->tag, m->is_auto ? " (auto)" : "");
		return SIM_CHK_BAD;
	}

	if (match_by_index(d, m, &slot))
		return judge(d, m, slot);
	if (marker_at(c, rid, m)) {
		sim_chk_violation(w, SIM_V_STOP_MARKER_ANSWERED, rid, mpasid, m->prg_index,
				  "untagged response matches a stop marker, no group outstanding");
		return SIM_CHK_BAD;
	}
	sim_chk_violation(w, SIM_V_DOUBLE_RESPONSE, rid, mpasid, m->prg_index,
			  "untagged response, no group outstanding at this index");
	return SIM_CHK_BAD;
}

struct tagged_slot {
	uint64_t tag;
	uint64_t slot;
};

static int by_tag(const void *a, const void *b)
{
	const struct tagged_slot *x = a, *y = b;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* The outstanding groups of @rid (or all of them with @all), in tag order: deterministic and
 * readable. The array holds *room entries; free it with that size. */
static size_t groups_of(struct sim_world *w, uint16_t rid, bool all, struct tagged_slot **out,
			size_t *room)
{
	struct sim_checker *c = &w->chk;
	size_t n = 0;
	struct tagged_slot *list = NULL;
	*room = c->groups.count;
	if (*room)
		list = sim_mem_alloc(w, *room * sizeof(*list));
	for (size_t i = 0; i < c->groups.cap; i++) {
		if (c->groups.slots[i].key == SIM_MAP_EMPTY)
			continue;
		uint64_t slot = c->groups.slots[i].val;
		if (all || chk_group(c, slot)->rid == rid) {
			list[n].tag = chk_group(c, slot)->tag;
			list[n].slot = slot;
			n++;
		}
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), by_tag);
	*out = list;
	return n;
}

void sim_chk_forgive_dev(struct sim_dev *d)
{
	struct sim_checker *c = &d->w->chk;
	for (size_t i = 0; i < c->groups.cap; i++)
		if (c->groups.slots[i].key != SIM_MAP_EMPTY &&
		    chk_group(c, c->groups.slots[i].val)->rid == d->cfg.rid)
			chk_group(c, c->groups.slots[i].val)->forgiven = true;
}

void sim_chk_drop_dev(struct sim_dev *d)
{
	struct sim_world *w = d->w;
	struct tagged_slot *list;
	size_t room;
	size_t n = groups_of(w, d->cfg.rid, false, &list, &room);
	for (size_t i = 0; i < n; i++)
		group_forget(w, &w->chk, list[i].slot);
	sim_mem_free(w, list, room * sizeof(*list));
}

/* ---- generations ------------------------------------------------------------------------------ */

static uint64_t epoch_key(uint16_t rid, uint32_t pasid)
{
	return (uint64_t)rid << 32 | pasid;
}

void sim_set_epoch(struct sim_world *w, uint16_t rid, uint32_t pasid, uint32_t gen)
{
	struct sim_checker *c = &w->chk;
	uint64_t key = epoch_key(rid, pasid), slot;
	if (!sim_map_get(&c->epoch_index, key, &slot)) {
		sim_mem_grow(w, (void **)&c->epochs, &c->epochs_cap, c->epochs_len + 1,
			     sizeof(*c->epochs));
		slot = c->epochs_len++;
		memset(&c->epochs[slot], 0, sizeof(c->epochs[slot]));
		sim_map_put(w, &c->epoch_index, key, slot);
	}
	struct sim_chk_epochs *e = &c->epochs[slot];
	if (e->count) {
		/* No request was issued since the last change: it is simply replaced. */
		unsigned last = (e->count - 1) % SIM_EPOCH_HISTORY;
		if (e->first_tag[last] == w->next_tag) {
			e->gen[last] = gen;
			return;
		}
	}
	unsigned i = e->count % SIM_EPOCH_HISTORY;
	e->first_tag[i] = w->next_tag;
	e->gen[i] = gen;
	e->count++;
}

/* The generation live when the request with @tag was issued; false if it is older than the
 * history kept (then it was no generation that is still remembered). */
static bool epoch_of(const struct sim_checker *c, uint16_t rid, uint32_t pasid, uint64_t tag,
		     uint32_t *gen)
{
	uint64_t slot;
	*gen = 0;
	if (!sim_map_get(&c->epoch_index, epoch_key(rid, pasid), &slot))
		return true; /* never bound */
	const struct sim_chk_epochs *e = &c->epochs[slot];
	unsigned kept = e->count < SIM_EPOCH_HISTORY ? e->count : SIM_EPOCH_HISTORY;
	for (unsigned k = 0; k < kept; k++) {
		unsigned i = (e->count - 1 - k) % SIM_EPOCH_HISTORY;
		if (e->first_tag[i] <= tag) {
			*gen = e->gen[i];
			return true;
		}
	}
	return e->count <= SIM_EPOCH_HISTORY; /* before the first change: no bond */
}

void sim_check_delivery(struct sim_world *w, uint32_t gen, const struct prqd_group *group)
{
	unsigned n = prqd_group_count(group);
	for (unsigned i = 0; i < n; i++) {
		const struct prqd_request *r = prqd_group_request(group, i);
		if (!r)
			continue;
		/* A register-level backend tags a request with its queue position; the model
		 * knows which of the simulator's requests it wrote there. */
		uint64_t tag = w->model->request_tag(w, prqd_group_request_tag(group, i));
		if (!tag)
			continue;
		uint32_t pasid = r->pasid_valid ? r->pasid : PRQD_NO_PASID;
		uint32_t issued;
		bool known = epoch_of(&w->chk, r->rid, pasid, tag, &issued);
		if (known && issued == gen)
			continue;
		char was[24];
		if (known)
			snprintf(was, sizeof(was), "%u", issued);
		else
			snprintf(was, sizeof(was), "a forgotten one");
		sim_chk_violation(w, SIM_V_WRONG_GENERATION, r->rid, pasid, r->prg_index,
				  "request %llu issued in generation %s delivered to %u",
				  (unsigned long long)tag, was, gen);
		return; /* one per group */
	}
}

/* ---- drains and the end of a run ------------------------------------------------------------ */

static bool in_scope(uint32_t scope, uint32_t pasid, bool req_pasid_valid, uint32_t req_pasid)
{
	switch (scope) {
	case PRQD_SCOPE_DEVICE:
		return true;
	case PRQD_SCOPE_RID:
		return !req_pasid_valid;
	default:
		if (pasid == PRQD_NO_PASID)
			return !req_pasid_valid;
		return req_pasid_valid && req_pasid == pasid;
	}
}

/* Requests still inside the IOMMU model, not yet read by software. */
struct queued_scan {
	uint32_t scope, pasid;
	uint16_t rid;
	uint64_t start_ns, count, first_tag;
};

static void count_queued(void *arg, uint16_t rid, bool pasid_valid, uint32_t pasid, uint64_t tag,
			 uint64_t issue_ns)
{
	struct queued_scan *q = arg;
	if (rid != q->rid || issue_ns >= q->start_ns || !in_scope(q->scope, q->pasid, pasid_valid, pasid))
		return;
	if (!q->first_tag || (tag && tag < q->first_tag))
		q->first_tag = tag;
	q->count++;
}

void sim_check_drain_done(struct sim_world *w, uint32_t scope, uint16_t rid, uint32_t pasid,
			  uint64_t start_ns)
{
	uint64_t in_fabric = 0, in_queue = 0, first_tag = 0;
	struct sim_dev *d = sim_dev_route(w, rid);
	if (d) {
		for (size_t i = 0; i < d->up.len; i++) {
			const struct sim_up_msg *m = sim_ring_at(&d->up, i);
			if (m->kind != SIM_UP_PAGE_REQ || m->issue_ns >= start_ns ||
			    !in_scope(scope, pasid, m->flags & SIM_RQ_PASID, m->pasid))
				continue;
			if (!first_tag)
				first_tag = m->tag;
			in_fabric++;
		}
	}
	struct queued_scan q = { .scope = scope, .pasid = pasid, .rid = rid,
				 .start_ns = start_ns, .first_tag = first_tag };
	w->model->each_queued(w, count_queued, &q);
	in_queue = q.count;
	first_tag = q.first_tag;
	if (in_fabric || in_queue)
		sim_chk_violation(w, SIM_V_DRAIN_INCOMPLETE, rid,
				  scope == PRQD_SCOPE_DEVICE ? PRQD_NO_PASID : pasid, 0,
				  "%llu pre-drain requests in the fabric, %llu in the queue "
				  "(first tag %llu)",
				  (unsigned long long)in_fabric, (unsigned long long)in_queue,
				  (unsigned long long)first_tag);
}

void sim_check_finish(struct sim_world *w)
{
	struct sim_checker *c = &w->chk;
	struct tagged_slot *list;
	size_t room;
	size_t n = groups_of(w, 0, true, &list, &room);
	for (size_t i = 0; i < n; i++) {
		struct sim_chk_group *g = chk_group(c, list[i].slot);
		if (g->forgiven)
			continue;
		sim_chk_violation(w, SIM_V_NO_RESPONSE, g->rid, g->pasid, g->prg_index,
				  "group %llu never answered", (unsigned long long)g->tag);
		g->forgiven = true; /* reported once */
	}
	sim_mem_free(w, list, room * sizeof(*list));
	if (w->alloc.live)
		sim_chk_violation(w, SIM_V_LEAK, 0, PRQD_NO_PASID, 0,
				  "%llu library allocations (%llu bytes) still live",
				  (unsigned long long)w->alloc.live,
				  (unsigned long long)w->alloc.live_bytes);
}
