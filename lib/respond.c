/* SPDX-License-Identifier: MIT */
/*
 * Responses: exactly one per group. A group the handler holds is answered either by the
 * handler (prqd_respond) or by the library taking it back (abandon); the group's state word
 * decides who, under the bond's lock, and the loser's answer is swallowed and counted.
 */
#include "lib/answer.h"

int prqd__send_stall(struct prqd_iommu *iommu, struct prqd_dev *dev, const struct prqd_hw_req *hw,
		     int code)
{
	/* A stall is resumed or terminated by its tag; the backend maps the code explicitly. */
	const struct prqd_hw_stall_resp resp = {
		.rid = hw->req.rid,
		.source_id = hw->req.source_id,
		.pasid_valid = hw->req.pasid_valid,
		.pasid = hw->req.pasid_valid ? hw->req.pasid : 0,
		.stall_tag = hw->stall_tag,
		.code = (uint8_t)code,
	};
	return iommu->ops.stall_resume(iommu->priv, dev ? dev->be_priv : NULL, &resp);
}

void prqd__answer_record(struct prqd_iommu *iommu, const struct prqd_hw_req *hw, uint32_t gen,
			 int code, int responder, bool consumer, int result)
{
	const struct prqd_request *last = &hw->req;
	if (result < 0) {
		if (hw->stall)
			prqd_err(iommu->ctx, "stall %u of %04x not resumed or terminated: %d",
				 (unsigned)hw->stall_tag, last->rid, result);
		else
			prqd_err(iommu->ctx, "response to %04x index %u failed: %d", last->rid,
				 last->prg_index, result);
		responder = PRQD_BY_LOCAL;
		prqd__count_answer(iommu, -1, responder, consumer);
	} else {
		prqd__count_answer(iommu, code, responder, consumer);
	}
	if (!prqd__tracing(iommu) || hw->stall)
		return;
	struct prqd_trace_event ev = {
		.type = PRQD_TR_RESPONSE,
		.rid = last->rid,
		.pasid_valid = last->pasid_valid,
		.pasid = last->pasid,
		.prg_index = last->prg_index,
		.bond_gen = gen,
		.code = (uint8_t)code,
		.responder = (uint8_t)responder,
		.result = result,
	};
	prqd__trace(iommu, &ev);
}

static int late_answer(struct prqd_group *g)
{
	struct prqd_iommu *iommu = g->dev->iommu;
	unsigned expect = PRQD_G_ABANDONED;
	if (!atomic_compare_exchange_strong_explicit(&g->state, &expect, PRQD_G_FREE,
						     memory_order_acq_rel, memory_order_acquire)) {
		prqd_stat_inc(iommu, bad_responses);
		return -PRQD_ESTALE;
	}
	prqd_stat_inc(iommu, late_responses);
	if (prqd__tracing(iommu)) {
		const struct prqd_request *last = &g->last->hw.req;
		struct prqd_trace_event ev = {
			.type = PRQD_TR_LATE_RESPONSE, .rid = last->rid,
			.pasid_valid = last->pasid_valid, .pasid = last->pasid,
			.prg_index = last->prg_index,
		};
		prqd__trace(iommu, &ev);
	}
	prqd__group_release(g);
	return -PRQD_EALREADY;
}

PRQD_EXPORT int prqd_respond(struct prqd_group *group, int code)
{
	if (!group || !group->dev)
		return -PRQD_EINVAL;
	struct prqd_iommu *iommu = group->dev->iommu;
	if (code < PRQD_RESP_SUCCESS || code > PRQD_RESP_FAILURE) {
		prqd_stat_inc(iommu, bad_responses);
		return -PRQD_EINVAL;
	}
	for (;;) {
		unsigned state = atomic_load_explicit(&group->state, memory_order_acquire);
		if (state == PRQD_G_ABANDONING) {
			/* The library is answering it right now; the outcome is a late answer. */
			prqd_cpu_pause();
			continue;
		}
		if (state == PRQD_G_ABANDONED)
			return late_answer(group);
		if (state != PRQD_G_HANDLER) {
			prqd_stat_inc(iommu, bad_responses);
			return -PRQD_ESTALE;
		}
		struct prqd_bond *b = atomic_load_explicit(&group->bond, memory_order_acquire);
		if (!b)
			continue;
		/* Bond memory is type-stable (slabs live until the device goes), so taking its
		 * lock is safe even if it was unbound meanwhile; the re-check decides. */
		prqd_spin_lock(&b->lock);
		if (atomic_load_explicit(&group->state, memory_order_relaxed) != PRQD_G_HANDLER ||
		    atomic_load_explicit(&group->bond, memory_order_relaxed) != b) {
			prqd_spin_unlock(&b->lock);
			continue;
		}
		prqd__held_unlink(b, group);
		atomic_store_explicit(&group->state, PRQD_G_ANSWERING, memory_order_relaxed);
		uint32_t gen = b->gen;
		prqd_spin_unlock(&b->lock);

		int rc = prqd__answer(iommu, group->dev, &group->last->hw, gen, code,
				      PRQD_BY_HANDLER, false);
		prqd__group_release(group);
		return rc;
	}
}

uint32_t prqd__abandon_held(struct prqd_bond *b)
{
	prqd_spin_lock(&b->lock);
	struct prqd_group *list = b->held;
	for (struct prqd_group *g = list; g; g = g->bnext) {
		atomic_store_explicit(&g->state, PRQD_G_ABANDONING, memory_order_relaxed);
		atomic_store_explicit(&g->bond, NULL, memory_order_relaxed);
	}
	b->held = NULL;
	b->outstanding = 0;
	uint32_t gen = b->gen;
	prqd_spin_unlock(&b->lock);

	uint32_t n = 0;
	struct prqd_iommu *iommu = b->dev->iommu;
	while (list) {
		struct prqd_group *g = list;
		list = g->bnext;
		g->bnext = g->bprev = NULL;
		prqd__answer(iommu, g->dev, &g->last->hw, gen, PRQD_RESP_INVALID,
			     PRQD_BY_ABANDON, false);
		/* From here the handler's late answer may release it at any moment. */
		atomic_store_explicit(&g->state, PRQD_G_ABANDONED, memory_order_release);
		n++;
	}
	return n;
}
