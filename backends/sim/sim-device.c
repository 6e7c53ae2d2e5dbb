/* SPDX-License-Identifier: MIT */
/*
 * The device model: a PCIe function with PRI, PASID and an ATC.
 *
 * What it keeps is what a real function keeps: its credits (Outstanding Page Request
 * Allocation), which PRG indices are outstanding and for which PASID, which PASIDs its
 * stop-PASID mechanism has stopped, and the PRI status bits (Response Failure, Unexpected PRG
 * Index). It matches responses by PRG index (and PASID when it requires one), as hardware
 * does. The tag every request carries is for the checker; the device itself only looks at it
 * to treat a response the checker found stale (FLR, Response Failure) as stale.
 */
#include "backends/sim/sim-internal.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)

void sim_dev_cfg_default(struct sim_dev_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->rid = 0x0100; /* 01:00.0 */
	cfg->capacity = 32;
	cfg->prg_resp_pasid_required = true;
	cfg->uses_stop_markers = false;
	cfg->pasid_width = 20;
	cfg->atc_mode = SIM_ATC_ANSWER;
	cfg->atc_lat_ns = 1000;
}

/* ---- device table ------------------------------------------------------------------------- */

/* Position of @rid in the sorted table, or where it would go. */
static size_t dev_slot(const struct sim_world *w, uint16_t rid, bool *found)
{
	size_t lo = 0, hi = w->ndevs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->devs[mid]->cfg.rid < rid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < w->ndevs && w->devs[lo]->cfg.rid == rid;
	return lo;
}

struct sim_dev *sim_dev_route(struct sim_world *w, uint16_t rid)
{
	/* Every response is routed: the last answer is remembered (sim_dev_add forgets it). */
	if (w->route_last && w->route_last->cfg.rid == rid)
		return w->route_last;
	bool found;
	size_t i = dev_slot(w, rid, &found);
	if (!found)
		return NULL;
	w->route_last = w->devs[i];
	return w->devs[i];
}

struct sim_dev *sim_dev_find(struct sim_world *w, uint16_t rid)
{
	struct sim_dev *d = sim_dev_route(w, rid);
	return d && !d->removed ? d : NULL;
}

static bool pasid_ok(const struct sim_dev *d, uint32_t pasid)
{
	if (pasid == PRQD_NO_PASID)
		return true;
	return d->cfg.pasid_width > 0 && pasid < (1u << d->cfg.pasid_width);
}

int sim_dev_add(struct sim_world *w, const struct sim_dev_cfg *cfg, struct sim_dev **out)
{
	if (!cfg || cfg->capacity == 0 || cfg->pasid_width > 20 || cfg->atc_mode > SIM_ATC_NEVER ||
	    cfg->refault_permille > 1000 || cfg->misbehave_permille > 1000)
		return -EINVAL;
	bool found;
	size_t slot = dev_slot(w, cfg->rid, &found);
	if (found && !w->devs[slot]->removed)
		return -EEXIST;

	struct sim_dev *d = sim_mem_alloc(w, sizeof(*d));
	memset(d, 0, sizeof(*d));
	d->w = w;
	d->cfg = *cfg;
	d->first_tag = w->next_tag;
	for (unsigned i = 0; i < SIM_PRG_INDICES; i++)
		d->index_head[i] = d->index_tail[i] = -1;
	sim_pool_init(&d->groups, sizeof(struct sim_dev_group));
	sim_ring_init(&d->up, sizeof(struct sim_up_msg));
	sim_ring_init(&d->down, sizeof(struct sim_down_msg));

	sim_mem_grow(w, (void **)&w->all_devs, &w->all_cap, w->nall + 1, sizeof(*w->all_devs));
	w->all_devs[w->nall++] = d;
	w->route_last = NULL; /* the routing changes */
	if (found) {
		/* A new function at the RID of a removed one (hot re-plug): it takes over the
		 * routing; the old one stays allocated for the events that still name it. */
		w->devs[slot] = d;
	} else {
		sim_mem_grow(w, (void **)&w->devs, &w->devs_cap, w->ndevs + 1, sizeof(*w->devs));
		memmove(&w->devs[slot + 1], &w->devs[slot], (w->ndevs - slot) * sizeof(*w->devs));
		w->devs[slot] = d;
		w->ndevs++;
	}
	if (out)
		*out = d;
	return 0;
}

void sim_dev_info(const struct sim_dev *d, struct prqd_dev_info *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->rid = d->cfg.rid;
	out->pri_capacity = d->cfg.capacity;
	out->pri_alloc = d->cfg.capacity;
	out->prg_resp_pasid_required = d->cfg.prg_resp_pasid_required;
	out->uses_stop_markers = d->cfg.uses_stop_markers;
	out->pasid_width = d->cfg.pasid_width;
	out->ats_queue_depth = 0;
}

void sim_dev_release(struct sim_dev *d)
{
	struct sim_world *w = d->w;
	sim_pool_fini(w, &d->groups);
	sim_map_free(w, &d->stopped);
	sim_map_free(w, &d->stalls);
	sim_ring_free(w, &d->up);
	sim_ring_free(w, &d->down);
	sim_mem_free(w, d, sizeof(*d));
}

/* ---- outstanding groups -------------------------------------------------------------------- */

static bool index_busy(const struct sim_dev *d, unsigned idx)
{
	return d->index_busy[idx / 64] >> (idx % 64) & 1;
}

static void index_mark(struct sim_dev *d, unsigned idx)
{
	if (d->index_head[idx] < 0)
		d->index_busy[idx / 64] &= ~(1ull << (idx % 64));
	else
		d->index_busy[idx / 64] |= 1ull << (idx % 64);
}

static struct sim_dev_group *dev_group(const struct sim_dev *d, int32_t id)
{
	return sim_pool_at(&d->groups, id);
}

static int32_t group_new(struct sim_dev *d, unsigned idx)
{
	int32_t id = sim_pool_take(d->w, &d->groups);
	struct sim_dev_group *g = dev_group(d, id);
	g->next = -1;
	if (d->index_tail[idx] < 0)
		d->index_head[idx] = id;
	else
		dev_group(d, d->index_tail[idx])->next = id;
	d->index_tail[idx] = id;
	index_mark(d, idx);
	return id;
}

/* Unlink group @id (whose predecessor on the index FIFO is @prev, or -1) and free it,
 * returning its credits. */
static void group_end(struct sim_dev *d, unsigned idx, int32_t prev, int32_t id)
{
	struct sim_dev_group *g = dev_group(d, id);
	if (prev < 0)
		d->index_head[idx] = g->next;
	else
		dev_group(d, prev)->next = g->next;
	if (d->index_tail[idx] == id)
		d->index_tail[idx] = prev;
	index_mark(d, idx);
	d->credits_used -= g->pages;
	d->outstanding--;
	sim_pool_put(&d->groups, id);
}

static void groups_reset(struct sim_dev *d)
{
	for (unsigned i = 0; i < SIM_PRG_INDICES; i++)
		d->index_head[i] = d->index_tail[i] = -1;
	memset(d->index_busy, 0, sizeof(d->index_busy));
	sim_pool_reset(&d->groups);
	d->credits_used = 0;
	d->outstanding = 0;
}

/* ---- sending -------------------------------------------------------------------------------- */

/* Does misbehaviour @what strike now? Draws a random number only when it is enabled. */
static bool misbehaves(struct sim_dev *d, uint32_t what)
{
	if (!(d->cfg.misbehave & what) || d->cfg.misbehave_permille == 0)
		return false;
	return sim_rand_range(d->w, 0, 999) < d->cfg.misbehave_permille;
}

/* A random PRG index that is free (@want_busy false) or outstanding (true); -1 if none. */
static int pick_index(struct sim_dev *d, bool want_busy)
{
	unsigned start = (unsigned)sim_rand_range(d->w, 0, SIM_PRG_INDICES - 1);
	for (unsigned i = 0; i < SIM_PRG_INDICES; i++) {
		unsigned idx = (start + i) % SIM_PRG_INDICES;
		if (index_busy(d, idx) == want_busy)
			return (int)idx;
	}
	return -1;
}

static void no_last_release(struct sim_world *w, void *arg, uint64_t first_tag);

/* The request flags of an access. */
static uint8_t access_flags(unsigned access, uint32_t pasid)
{
	uint8_t flags = 0;
	if (access & SIM_R)
		flags |= SIM_RQ_READ;
	if (access & SIM_W)
		flags |= SIM_RQ_WRITE;
	if (access & SIM_X)
		flags |= SIM_RQ_EXEC;
	if (access & SIM_P)
		flags |= SIM_RQ_PRIV;
	if (pasid != PRQD_NO_PASID)
		flags |= SIM_RQ_PASID;
	return flags;
}

/* A request about @addr leaving the device now, with the world's next tag. */
static struct sim_up_msg page_msg(struct sim_dev *d, uint8_t kind, uint32_t pasid, uint64_t addr,
				  uint8_t flags)
{
	struct sim_up_msg m = { 0 };
	m.kind = kind;
	m.issue_ns = d->w->now;
	m.tag = d->w->next_tag++;
	m.addr = addr;
	m.pasid = pasid == PRQD_NO_PASID ? 0 : pasid;
	m.flags = flags;
	return m;
}

/* Issue one page request group: the requests go out back to back on the posted path. */
static int send_group(struct sim_dev *d, uint32_t pasid, uint64_t addr, unsigned pages,
		      unsigned access)
{
	struct sim_world *w = d->w;
	if ((uint64_t)d->credits_used + pages > d->cfg.capacity &&
	    !misbehaves(d, SIM_BAD_EXCEED_CREDITS))
		return -EAGAIN;
	int idx = -1;
	if (d->outstanding && misbehaves(d, SIM_BAD_REUSE_INDEX))
		idx = pick_index(d, true);
	if (idx < 0)
		idx = pick_index(d, false);
	if (idx < 0)
		return -EAGAIN;
	bool no_last = misbehaves(d, SIM_BAD_NO_LAST);
	bool garbage = misbehaves(d, SIM_BAD_GARBAGE);

	int32_t id = group_new(d, (unsigned)idx);
	struct sim_dev_group *g = dev_group(d, id);
	g->first_tag = w->next_tag;
	g->addr = addr;
	g->pasid = pasid;
	g->pages = pages;
	g->access = (uint8_t)access;
	g->no_last = no_last;
	g->last_tag = g->first_tag + pages - 1; /* the group's tags are consecutive */
	uint64_t first_tag = g->first_tag;
	d->credits_used += pages;
	d->outstanding++;
	d->stats.groups_sent++;

	uint8_t flags = access_flags(access, pasid);
	for (unsigned k = 0; k < pages; k++) {
		struct sim_up_msg m = page_msg(d, SIM_UP_PAGE_REQ, pasid, addr + (uint64_t)k * PAGE_SIZE,
					       flags);
		m.prg_index = (uint16_t)idx;
		bool final = k + 1 == pages;
		/* A device that "never sends Last" sends its final request without L. */
		if (final && !no_last)
			m.flags |= SIM_RQ_LAST;
		/* Garbage: the final request's address is made non-canonical (bits 63:48 no
		 * longer a copy of bit 47), which the IOMMU flags as malformed. */
		if (final && garbage)
			m.addr ^= 1ull << 62;
		sim_fabric_up(d, &m);
		d->stats.requests_sent++;
	}
	if (no_last)
		sim_schedule_or_die(w, w->now + SIM_NO_LAST_RELEASE_NS, no_last_release, d, first_tag);
	return 0;
}

/* A stall-model device's fault: one transaction per page, each held by the SMMU until it is
 * resumed or terminated. The checker owes each one exactly one end (a group of one). */
static int send_stalls(struct sim_dev *d, uint32_t pasid, uint64_t addr, unsigned pages,
		       unsigned access)
{
	struct sim_world *w = d->w;
	if (w->mmio_model != &sim_smmuv3_model)
		return -EOPNOTSUPP;
	if (d->removed)
		return -ESHUTDOWN;
	if ((uint64_t)d->credits_used + pages > d->cfg.capacity)
		return -EAGAIN;
	for (unsigned k = 0; k < pages; k++) {
		struct sim_up_msg m = page_msg(d, SIM_UP_STALL, pasid, addr + (uint64_t)k * PAGE_SIZE,
					       access_flags(access, pasid) | SIM_RQ_LAST);
		sim_map_put(w, &d->stalls, m.tag, 0);
		d->credits_used++;
		d->stats.stalls_sent++;
		sim_fabric_up(d, &m);
	}
	return 0;
}

/* A stalled transaction ended at the SMMU. */
static void receive_resume(struct sim_dev *d, const struct sim_down_msg *m)
{
	sim_chk_response(d, m);
	if (!sim_map_del(&d->stalls, m->tag))
		return; /* not one of its stalls: the checker said what it was */
	d->credits_used--;
	if (m->code == 0)
		d->stats.stalls_retried++;
	else
		d->stats.stalls_terminated++;
}

int sim_dev_fault(struct sim_dev *d, uint32_t pasid, uint64_t addr, unsigned pages,
		  unsigned access)
{
	if (pages == 0 || !(access & (SIM_R | SIM_W)) ||
	    (access & ~(unsigned)(SIM_R | SIM_W | SIM_X | SIM_P)) || !pasid_ok(d, pasid))
		return -EINVAL;
	if (d->cfg.stall)
		return send_stalls(d, pasid, addr & ~(PAGE_SIZE - 1), pages, access);
	if (d->removed || d->response_failure || sim_map_get(&d->stopped, pasid, NULL))
		return -ESHUTDOWN;
	return send_group(d, pasid, addr & ~(PAGE_SIZE - 1), pages, access);
}

/* The device gives up on a group that never got its Last request (a device timeout). The
 * checker never expected a response for it: it only counts groups whose Last went out. */
static void no_last_release(struct sim_world *w, void *arg, uint64_t first_tag)
{
	struct sim_dev *d = arg;
	(void)w;
	for (unsigned idx = 0; idx < SIM_PRG_INDICES; idx++) {
		if (!index_busy(d, idx))
			continue;
		for (int32_t prev = -1, id = d->index_head[idx]; id >= 0;
		     prev = id, id = dev_group(d, id)->next) {
			if (dev_group(d, id)->first_tag == first_tag) {
				group_end(d, idx, prev, id);
				return;
			}
		}
	}
	/* Gone already (FLR, removal, or a response for its index took it). */
}

/* ---- stopping a PASID -------------------------------------------------------------------- */

int sim_dev_stop_pasid(struct sim_dev *d, uint32_t pasid, bool marker)
{
	if (!pasid_ok(d, pasid) || (marker && pasid == PRQD_NO_PASID))
		return -EINVAL; /* a Stop Marker is defined by its PASID prefix */
	if (d->removed)
		return -ESHUTDOWN;
	if (sim_map_get(&d->stopped, pasid, NULL))
		return 0; /* stopped already: the mechanism reports it again */
	sim_map_put(d->w, &d->stopped, pasid, marker);
	if (!marker)
		return 0;

	/* PCIe §10.4.1.2 with a Stop Marker: outstanding requests of the PASID become stale
	 * (their responses only return credits and indices), then the marker goes out behind
	 * every request already sent. */
	for (unsigned idx = 0; idx < SIM_PRG_INDICES; idx++)
		for (int32_t id = d->index_head[idx]; id >= 0; id = dev_group(d, id)->next)
			if (dev_group(d, id)->pasid == pasid)
				dev_group(d, id)->stale = true;
	if (d->response_failure)
		return 0; /* PRI is off: no message at all */
	struct sim_up_msg m = { 0 };
	m.kind = SIM_UP_PAGE_REQ;
	m.issue_ns = d->w->now;
	m.tag = d->w->next_tag++;
	m.pasid = pasid;
	m.prg_index = 0; /* a marker reserves no index and no credit */
	m.flags = SIM_RQ_LAST | SIM_RQ_PASID | SIM_RQ_MARKER;
	sim_fabric_up(d, &m);
	d->stats.stop_markers_sent++;
	return 0;
}

bool sim_dev_pasid_stopped(const struct sim_dev *d, uint32_t pasid)
{
	if (d->removed)
		return true;
	uint64_t marker;
	if (!sim_map_get(&d->stopped, pasid, &marker))
		return false;
	if (marker)
		return true;
	/* Without a marker the stop completes when the PASID's last response came back. */
	for (unsigned idx = 0; idx < SIM_PRG_INDICES; idx++)
		for (int32_t id = d->index_head[idx]; id >= 0; id = dev_group(d, id)->next)
			if (dev_group(d, id)->pasid == pasid)
				return false;
	return true;
}

int sim_dev_start_pasid(struct sim_dev *d, uint32_t pasid)
{
	if (!pasid_ok(d, pasid))
		return -EINVAL;
	if (d->removed)
		return -ESHUTDOWN;
	sim_map_del(&d->stopped, pasid);
	return 0;
}

/* ---- reset and removal --------------------------------------------------------------------- */

int sim_dev_flr(struct sim_dev *d)
{
	if (d->removed)
		return -ESHUTDOWN;
	/* The function forgets everything PRI-related: outstanding groups, the RF status and
	 * its stop-PASID states (the PASIDs are usable again after reset). Requests already
	 * on the link are posted and still arrive. */
	groups_reset(d);
	d->response_failure = false;
	sim_map_free(d->w, &d->stopped);
	sim_map_free(d->w, &d->stalls); /* a stall's later end finds nothing */
	sim_chk_forgive_dev(d);
	return 0;
}

int sim_dev_remove(struct sim_dev *d)
{
	if (d->removed)
		return 0;
	d->removed = true;
	sim_fabric_drop_all(d);
	groups_reset(d);
	sim_chk_drop_dev(d);
	return 0;
}

void sim_dev_stats(const struct sim_dev *d, struct sim_dev_stats *out)
{
	*out = d->stats;
	out->response_failure = d->response_failure;
	out->outstanding_groups = d->outstanding;
	out->credits_used = d->credits_used;
	out->outstanding_stalls = (uint32_t)d->stalls.count;
}

/* ---- receiving ---------------------------------------------------------------------------- */

static void atc_answer(struct sim_world *w, void *arg, uint64_t drain_id)
{
	struct sim_dev *d = arg;
	if (d->removed)
		return;
	/* The completion is posted on the same path as the page requests: it cannot pass the
	 * requests the device sent before it. */
	struct sim_up_msg m = { 0 };
	m.kind = SIM_UP_INV_DONE;
	m.issue_ns = w->now;
	m.drain_id = drain_id;
	sim_fabric_up(d, &m);
}

static void receive_invalidation(struct sim_dev *d, const struct sim_down_msg *m)
{
	uint64_t lat = d->cfg.atc_lat_ns;
	switch (d->cfg.atc_mode) {
	case SIM_ATC_NEVER:
		return;
	case SIM_ATC_SLOW:
		lat *= SIM_ATC_SLOW_FACTOR;
		break;
	default:
		break;
	}
	sim_schedule_or_die(d->w, d->w->now + lat, atc_answer, d, m->drain_id);
}

/* Does a response's PASID part fit group @g, for a device that requires PASIDs in responses? */
static bool response_pasid_fits(const struct sim_dev *d, const struct sim_dev_group *g,
				const struct sim_down_msg *m)
{
	if (!d->cfg.prg_resp_pasid_required)
		return true;
	if (g->pasid == PRQD_NO_PASID)
		return !m->pasid_present;
	return m->pasid_present && m->pasid == g->pasid;
}

/* The device's reading of a wire Response Code; -1 for a reserved one. */
static int decode_wire_code(uint8_t rc)
{
	switch (rc) {
	case SIM_RC_SUCCESS: return PRQD_RESP_SUCCESS;
	case SIM_RC_INVALID: return PRQD_RESP_INVALID;
	case SIM_RC_FAILURE: return PRQD_RESP_FAILURE;
	default: return -1;
	}
}

static void receive_response(struct sim_dev *d, const struct sim_down_msg *m)
{
	enum sim_chk_verdict verdict = sim_chk_response(d, m);
	int code = decode_wire_code(m->code);
	if (code < 0) {
		/* A reserved code: the group ends, but nothing says what the device makes of it.
		 * It is a wrong response all the same. */
		sim_chk_violation(d->w, SIM_V_WRONG_TARGET, d->cfg.rid,
				  m->pasid_present ? m->pasid : PRQD_NO_PASID, m->prg_index,
				  "reserved response code 0x%x on the wire", m->code);
		code = PRQD_RESP_INVALID;
	}
	d->stats.responses[code]++;
	if (m->is_auto)
		d->stats.auto_responses++;
	if (d->response_failure || verdict == SIM_CHK_STALE) {
		/* After Response Failure the function expects no responses; after FLR the
		 * response belongs to a group it forgot. */
		d->stats.stale_responses++;
		return;
	}

	/* The oldest group on the index whose PASID fits, as hardware matches. Several fit only
	 * when the device reused an outstanding index (misbehaviour); a real device would then
	 * pick one arbitrarily, the model picks the one the response was meant for (by tag) so
	 * the confusion does not strand a group forever. */
	unsigned idx = m->prg_index % SIM_PRG_INDICES;
	int32_t prev = -1, id = -1;
	for (int32_t p = -1, i = d->index_head[idx]; i >= 0; p = i, i = dev_group(d, i)->next) {
		if (!response_pasid_fits(d, dev_group(d, i), m))
			continue;
		if (id < 0 || (m->tag && dev_group(d, i)->last_tag == m->tag)) {
			prev = p;
			id = i;
		}
		if (m->tag && dev_group(d, i)->last_tag == m->tag)
			break;
	}
	if (id < 0) {
		/* PRI status: Unexpected PRG Index. */
		d->stats.unexpected_index++;
		if (verdict == SIM_CHK_OK)
			sim_chk_violation(d->w, SIM_V_WRONG_TARGET, d->cfg.rid,
					  m->pasid_present ? m->pasid : PRQD_NO_PASID, m->prg_index,
					  "device has no outstanding group at this index%s",
					  m->pasid_present ? " and PASID" : "");
		return;
	}

	struct sim_dev_group g = *dev_group(d, id);
	group_end(d, idx, prev, id);
	if (g.stale) {
		d->stats.stale_responses++;
		return;
	}
	switch (code) {
	case PRQD_RESP_SUCCESS:
		/* The ATS translation is retried; sometimes the page is gone again by then. */
		if (d->cfg.refault_permille &&
		    sim_rand_range(d->w, 0, 999) < d->cfg.refault_permille &&
		    !sim_map_get(&d->stopped, g.pasid, NULL))
			(void)send_group(d, g.pasid, g.addr, 1, g.access);
		break;
	case PRQD_RESP_FAILURE:
		/* PRI is disabled until reset; the remaining groups will never be answered
		 * as far as the function cares. */
		d->response_failure = true;
		sim_chk_forgive_dev(d);
		break;
	default: /* Invalid: the access is abandoned */
		break;
	}
}

void sim_dev_receive(struct sim_dev *d, const struct sim_down_msg *m)
{
	if (d->removed)
		return;
	if (m->kind == SIM_DOWN_INV)
		receive_invalidation(d, m);
	else if (m->kind == SIM_DOWN_RESUME)
		receive_resume(d, m);
	else
		receive_response(d, m);
}
