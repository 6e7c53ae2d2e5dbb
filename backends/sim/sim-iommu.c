/* SPDX-License-Identifier: MIT */
/*
 * The software queue model ("queue"), an abstract IOMMU: what the "sim" backend drives.
 *
 *  - A bounded page request queue of decoded requests, each with a sequence number that
 *    only grows.
 *  - Overflow as VT-d and SMMUv3 define it: a request arriving at a full queue sets the
 *    overflow flag, and while the flag is set nothing is written. A dropped request with
 *    Last=1 gets an automatic response (sim.overflow_response, Success by default as Intel
 *    describes VT-d and as Arm specifies), a dropped Last=0 request or Stop Marker gets none.
 *    Software clears the flag once it has emptied the queue.
 *  - Malformed requests: a non-canonical page address.
 *  - A drain step modelled on VT-d's: the invalidation goes down to the device, whose ATC
 *    answers on the posted upstream path; when that completion reaches the IOMMU every
 *    earlier request of the device is in the queue (or was dropped in an overflow), so the
 *    queue position of the next entry is the step's mark. With sim.ite_timeout_us the step
 *    fails as VT-d's ITE does when the device takes too long.
 *  - Responses go down to the device.
 */
#include "backends/sim/sim-internal.h"

static void queue_init(struct sim_world *w)
{
	struct sim_iommu *im = &w->iommu;
	memset(im, 0, sizeof(*im));
	im->queue_size = 256;
	im->overflow_response = PRQD_RESP_SUCCESS;
	im->page_drain = true;
	sim_ring_init(&im->queue, sizeof(struct sim_qent));
	/* Positions count from 0, as a hardware queue's do: a mark of 0 means "nothing". */
	im->next_seq = 0;
	im->next_drain_id = 1;
}

static void queue_release(struct sim_world *w)
{
	struct sim_iommu *im = &w->iommu;
	sim_ring_free(w, &im->queue);
	sim_mem_free(w, im->drains, im->drains_cap * sizeof(*im->drains));
	im->drains = NULL;
	im->drains_cap = 0;
}

/* The world starts with this model: nothing to set up when it is attached. */
static void queue_attach(struct sim_world *w)
{
	(void)w;
}

static void queue_stats(const struct sim_world *w, struct sim_iommu_stats *out)
{
	*out = w->iommu.stats;
	out->queue_depth = (uint32_t)w->iommu.queue.len;
}

/* Bits 63:48 must repeat bit 47 (48-bit virtual addresses). */
static bool canonical(uint64_t addr)
{
	return (uint64_t)((int64_t)(addr << 16) >> 16) == addr;
}

/* ---- drains ---------------------------------------------------------------------------------- */

static struct sim_drain_rec *drain_find(struct sim_iommu *im, uint64_t id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < im->drains_cap; i++)
		if (im->drains[i].id == id)
			return &im->drains[i];
	return NULL;
}

static struct sim_drain_rec *drain_new(struct sim_world *w, struct sim_iommu *im)
{
	for (size_t i = 0; i < im->drains_cap; i++)
		if (!im->drains[i].id)
			return &im->drains[i];
	size_t old = im->drains_cap;
	sim_mem_grow(w, (void **)&im->drains, &im->drains_cap, old + 1, sizeof(*im->drains));
	memset(&im->drains[old], 0, (im->drains_cap - old) * sizeof(*im->drains));
	return &im->drains[old];
}

static void drain_forget(struct sim_drain_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
}

/* The device's invalidation completion reached the IOMMU. */
static void drain_completion(struct sim_world *w, uint64_t id)
{
	struct sim_iommu *im = &w->iommu;
	struct sim_drain_rec *rec = drain_find(im, id);
	/* Unknown (released) or failed already (ITE): a late completion changes nothing. */
	if (!rec || rec->state != SIM_DRAIN_PENDING)
		return;
	rec->state = SIM_DRAIN_DONE;
	rec->mark = im->next_seq;
	im->stats.drains_completed++;
}

static void ite_timeout(struct sim_world *w, void *arg, uint64_t id)
{
	(void)arg;
	struct sim_drain_rec *rec = drain_find(&w->iommu, id);
	if (!rec || rec->state != SIM_DRAIN_PENDING)
		return;
	rec->state = SIM_DRAIN_FAILED;
	w->iommu.stats.drains_failed++;
}

int sim_iommu_drain_start(struct sim_world *w, struct sim_dev *d, struct prqd_drain_step *op)
{
	struct sim_iommu *im = &w->iommu;
	if (!d || op->scope < PRQD_SCOPE_PASID || op->scope > PRQD_SCOPE_DEVICE)
		return -EINVAL;
	if (!im->page_drain)
		return -EOPNOTSUPP; /* as VT-d without ECAP.PDS: nothing is issued */
	struct sim_drain_rec *rec = drain_new(w, im);
	rec->id = im->next_drain_id++;
	rec->dev = d;
	rec->state = SIM_DRAIN_PENDING;
	struct sim_drain_priv *priv = (struct sim_drain_priv *)op->priv;
	priv->id = rec->id;
	priv->result = 0;
	/* What VT-d spends per drain step: fence wait, PASID IOTLB and device-TLB invalidations,
	 * page-drain wait; one tail write. */
	op->commands = 4;
	op->doorbells = 1;
	im->stats.drains_started++;

	/* A removed device never sees the invalidation (the fabric drops it), so the step
	 * cannot complete: only the ITE timeout, if any, ends it. */
	struct sim_down_msg m = { 0 };
	m.kind = SIM_DOWN_INV;
	m.rid = d->cfg.rid;
	m.pasid = op->pasid;
	m.pasid_present = op->scope == PRQD_SCOPE_PASID;
	m.drain_id = rec->id;
	sim_fabric_down(d, &m);
	if (im->ite_timeout_ns)
		sim_schedule_or_die(w, w->now + im->ite_timeout_ns, ite_timeout, NULL, rec->id);
	return 0;
}

int sim_iommu_drain_poll(struct sim_world *w, struct prqd_drain_step *op)
{
	struct sim_drain_priv *priv = (struct sim_drain_priv *)op->priv;
	if (priv->result > 0)
		return 0; /* told already; queue_mark still holds */
	if (priv->result < 0)
		return priv->result;
	struct sim_drain_rec *rec = drain_find(&w->iommu, priv->id);
	if (!rec)
		return -EINVAL;
	switch (rec->state) {
	case SIM_DRAIN_DONE:
		op->queue_mark = rec->mark;
		priv->result = 1;
		drain_forget(rec);
		return 0;
	case SIM_DRAIN_FAILED:
		priv->result = -EIO;
		drain_forget(rec);
		return -EIO;
	default:
		return -EINPROGRESS;
	}
}

int sim_iommu_drain_release(struct sim_world *w, struct prqd_drain_step *op)
{
	struct sim_drain_priv *priv = (struct sim_drain_priv *)op->priv;
	if (priv->result != 0)
		return 0;
	struct sim_drain_rec *rec = drain_find(&w->iommu, priv->id);
	if (!rec)
		return 0;
	if (rec->state == SIM_DRAIN_PENDING && !rec->dev->removed &&
	    rec->dev->cfg.atc_mode != SIM_ATC_NEVER)
		return -EBUSY; /* the device will answer, late: keep waiting for it */
	/* Done, failed, or a completion that can never come: nothing more will be written. */
	drain_forget(rec);
	return 0;
}

/* ---- queue ---------------------------------------------------------------------------------- */

static void auto_respond(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_iommu *im = &d->w->iommu;
	/* The IOMMU's own answer, encoded for the wire as it would encode it. */
	uint8_t code = im->overflow_response == PRQD_RESP_INVALID ? SIM_RC_INVALID : SIM_RC_SUCCESS;
	im->stats.auto_responses++;
	sim_fabric_auto_respond(d, m, code, m->flags & SIM_RQ_PASID);
}

static void queue_receive(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_world *w = d->w;
	struct sim_iommu *im = &w->iommu;
	if (m->kind == SIM_UP_INV_DONE) {
		drain_completion(w, m->drain_id);
		return;
	}

	if (im->overflow || im->queue.len >= im->queue_size) {
		if (!im->overflow) {
			im->overflow = true;
			im->stats.overflows++;
		}
		im->stats.dropped_overflow++;
		if ((m->flags & SIM_RQ_LAST) && !sim_up_is_stop_marker(m))
			auto_respond(d, m);
		return;
	}

	/* The entry keeps the message as it arrived; sim_iommu_fetch decodes it straight into
	 * the backend's array, one copy of the decoded request instead of two. */
	struct sim_qent *e = sim_ring_push(w, &im->queue);
	e->m = *m;
	e->seq = im->next_seq++;
	e->rid = d->cfg.rid;
	im->stats.enqueued++;
	if (im->queue.len > im->stats.queue_high_water)
		im->stats.queue_high_water = (uint32_t)im->queue.len;
}

/* Queue entry @e as software reads it. The fields not set start as a copy of a zeroed entry:
 * GCC clears a 96-byte struct with a string instruction (rep stos), whose start-up costs more
 * than the whole decode, and copies a constant with vector moves. */
static void qent_decode(const struct sim_qent *e, struct prqd_hw_req *out)
{
	static const struct prqd_hw_req blank;
	const struct sim_up_msg *m = &e->m;
	*out = blank;
	struct prqd_request *r = &out->req;
	r->addr = m->addr;
	r->read = m->flags & SIM_RQ_READ;
	r->write = m->flags & SIM_RQ_WRITE;
	r->exec = m->flags & SIM_RQ_EXEC;
	r->priv = m->flags & SIM_RQ_PRIV;
	r->last = m->flags & SIM_RQ_LAST;
	r->prg_index = m->prg_index;
	r->pasid_valid = m->flags & SIM_RQ_PASID;
	r->pasid = r->pasid_valid ? m->pasid : 0;
	r->rid = e->rid;
	out->tag = m->tag;
	out->seq = e->seq;
	out->malformed = !canonical(m->addr);
}

int sim_iommu_fetch(struct sim_world *w, struct prqd_hw_req *out, unsigned max)
{
	struct sim_iommu *im = &w->iommu;
	unsigned n = 0;
	while (n < max && im->queue.len) {
		qent_decode(sim_ring_at(&im->queue, 0), &out[n++]);
		sim_ring_pop(&im->queue);
	}
	return (int)n;
}

static void queue_overflow_now(struct sim_world *w)
{
	struct sim_iommu *im = &w->iommu;
	if (!im->overflow) {
		im->overflow = true;
		im->stats.overflows++;
	}
}

int sim_iommu_overflow_ack(struct sim_world *w)
{
	struct sim_iommu *im = &w->iommu;
	if (im->queue.len)
		return -EBUSY;
	im->overflow = false;
	return 0;
}

int sim_iommu_respond(struct sim_world *w, const struct prqd_hw_resp *resp, uint8_t wire_code)
{
	if (wire_code > 0xF || resp->prg_index >= SIM_PRG_INDICES)
		return -EINVAL;
	struct sim_dev *d = sim_dev_route(w, resp->rid);
	if (!d) {
		/* The message goes out; no function has that ID. */
		sim_chk_violation(w, SIM_V_WRONG_TARGET, resp->rid,
				  resp->pasid_present ? resp->pasid : PRQD_NO_PASID, resp->prg_index,
				  "response to a requester ID with no device (tag %llu)",
				  (unsigned long long)resp->tag);
		return 0;
	}
	struct sim_down_msg m = { 0 };
	m.kind = SIM_DOWN_RESP;
	m.rid = resp->rid;
	m.pasid_present = resp->pasid_present;
	m.pasid = resp->pasid;
	m.prg_index = resp->prg_index;
	m.code = wire_code;
	m.tag = resp->tag;
	sim_fabric_down(d, &m); /* vanishes if the device was removed */
	return 0;
}

/* The "sim" backend passes the simulator's tag through prqd_hw_req.tag as it is. */
static uint64_t queue_request_tag(const struct sim_world *w, uint64_t backend_tag)
{
	(void)w;
	return backend_tag;
}

static void queue_each_queued(const struct sim_world *w, sim_queued_fn fn, void *arg)
{
	const struct sim_ring *q = &w->iommu.queue;
	for (size_t i = 0; i < q->len; i++) {
		const struct sim_qent *e = sim_ring_at(q, i);
		bool pasid_valid = e->m.flags & SIM_RQ_PASID;
		fn(arg, e->rid, pasid_valid, pasid_valid ? e->m.pasid : 0, e->m.tag, e->m.issue_ns);
	}
}

const struct sim_iommu_model sim_queue_model = {
	.name = "queue",
	.init = queue_init,
	.release = queue_release,
	.attach = queue_attach,
	.receive = queue_receive,
	.overflow_now = queue_overflow_now,
	.stats = queue_stats,
	.request_tag = queue_request_tag,
	.each_queued = queue_each_queued,
	/* No registers: software reaches this model through the "sim" backend only. */
};
