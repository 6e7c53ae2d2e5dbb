/* SPDX-License-Identifier: MIT */
/*
 * The PCIe fabric between each device and the IOMMU.
 *
 * Upstream, page requests and ATS invalidation completions are posted writes on one path:
 * they may take any time in [fabric_lat_min_ns, fabric_lat_max_ns], but never pass each
 * other. A message's delivery time is max(the previous message's on this path, now + its
 * latency), and events at equal times run in scheduling order, so a path delivers in the
 * order it was fed. That is the property the VT-d page-drain relies on: an invalidation
 * completion pushes every earlier page request of the device ahead of it into the IOMMU.
 *
 * Downstream, responses and invalidations take resp_lat_ns, also in order.
 *
 * Each path is a FIFO of messages and at most one scheduled event, for the message at its
 * head, so the event heap stays as small as the number of paths however many messages are in
 * flight. Each message reserves its place in the scheduling order when it is sent, and its
 * event is scheduled with that place: events run exactly as if every message had its own.
 * When the link goes down the FIFOs are emptied, and an event still scheduled delivers
 * nothing.
 */
#include "backends/sim/sim-internal.h"

static void up_deliver(struct sim_world *w, void *arg, uint64_t arg2)
{
	struct sim_dev *d = arg;
	(void)arg2;
	if (!d->up.len) /* lost when the link went down */
		return;
	struct sim_up_msg m = *(struct sim_up_msg *)sim_ring_at(&d->up, 0);
	sim_ring_pop(&d->up);
	/* Schedule the next head before delivering: delivery may feed this path again. */
	if (d->up.len) {
		const struct sim_up_msg *next = sim_ring_at(&d->up, 0);
		sim_schedule_reserved(w, next->deliver_at, next->event_seq, up_deliver, d, 0);
	}
	w->model->receive(d, &m);
}

void sim_fabric_up(struct sim_dev *d, const struct sim_up_msg *m)
{
	struct sim_world *w = d->w;
	if (d->removed)
		return;
	if (m->kind == SIM_UP_PAGE_REQ || m->kind == SIM_UP_STALL)
		sim_chk_request_sent(d, m);
	uint64_t lat = sim_rand_range(w, w->cfg.fabric_lat_min_ns, w->cfg.fabric_lat_max_ns);
	uint64_t at = sim_max_u64(d->up_last_at, w->now + lat);
	d->up_last_at = at;
	struct sim_up_msg *slot = sim_ring_push(w, &d->up);
	*slot = *m;
	slot->deliver_at = at;
	slot->event_seq = sim_event_reserve(w);
	if (d->up.len == 1)
		sim_schedule_reserved(w, at, slot->event_seq, up_deliver, d, 0);
}

static void down_deliver(struct sim_world *w, void *arg, uint64_t arg2)
{
	struct sim_dev *d = arg;
	(void)arg2;
	if (!d->down.len)
		return;
	struct sim_down_msg m = *(struct sim_down_msg *)sim_ring_at(&d->down, 0);
	sim_ring_pop(&d->down);
	if (d->down.len) {
		const struct sim_down_msg *next = sim_ring_at(&d->down, 0);
		sim_schedule_reserved(w, next->deliver_at, next->event_seq, down_deliver, d, 0);
	}
	sim_dev_receive(d, &m);
}

void sim_fabric_auto_respond(struct sim_dev *d, const struct sim_up_msg *m, uint8_t code,
			     bool pasid_present)
{
	struct sim_down_msg r = { 0 };
	r.kind = SIM_DOWN_RESP;
	r.rid = d->cfg.rid;
	r.pasid_present = pasid_present;
	r.pasid = pasid_present ? m->pasid : 0;
	r.prg_index = m->prg_index;
	r.code = code;
	r.tag = m->tag;
	r.is_auto = true;
	sim_fabric_down(d, &r);
}

void sim_fabric_down(struct sim_dev *d, const struct sim_down_msg *m)
{
	struct sim_world *w = d->w;
	if (d->removed) /* nobody at the other end: it vanishes */
		return;
	uint64_t at = sim_max_u64(d->down_last_at, w->now + w->cfg.resp_lat_ns);
	d->down_last_at = at;
	struct sim_down_msg *slot = sim_ring_push(w, &d->down);
	*slot = *m;
	slot->deliver_at = at;
	slot->event_seq = sim_event_reserve(w);
	if (d->down.len == 1)
		sim_schedule_reserved(w, at, slot->event_seq, down_deliver, d, 0);
}

void sim_fabric_drop_all(struct sim_dev *d)
{
	sim_ring_clear(&d->up);
	sim_ring_clear(&d->down);
}
