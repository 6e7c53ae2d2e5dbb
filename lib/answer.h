/* SPDX-License-Identifier: MIT */
/*
 * Sending a group's one response. Inline, because the consumer answers most groups on its
 * fast path (a handler that answers at once); what is rare (stalls, a backend that fails,
 * tracing) is out of line in respond.c.
 */
#ifndef PRQD_ANSWER_H
#define PRQD_ANSWER_H

#include "lib/private.h"

/* respond.c: resume (Success) or terminate a stall; the backend's result. */
int prqd__send_stall(struct prqd_iommu *iommu, struct prqd_dev *dev, const struct prqd_hw_req *hw,
		     int code);
/* respond.c: what follows a sent answer when it failed (@result < 0: logged, and counted as
 * completed locally) or when tracing is on: count it as prqd__answer() does, and trace it. */
void prqd__answer_record(struct prqd_iommu *iommu, const struct prqd_hw_req *hw, uint32_t gen,
			 int code, int responder, bool consumer, int result);

/* Count a sent response (@code) or, with @code < 0, a local completion, and who answered.
 * @consumer: the caller holds the queue lock (its counters are the consumer's). */
static inline void prqd__count_answer(struct prqd_iommu *iommu, int code, int responder,
				      bool consumer)
{
	if (consumer) {
		if (code >= 0)
			prqd_cstat_inc(iommu, responses[code]);
		prqd_cstat_inc(iommu, by[responder]);
	} else {
		if (code >= 0)
			prqd_stat_inc(iommu, responses[code]);
		prqd_stat_inc(iommu, by[responder]);
	}
}

/*
 * Send the response for a group whose last request is @hw (@dev NULL: unknown requester),
 * without counting it: a page request group's response, or a stall's resume (Success) or
 * termination (otherwise). @consumer: the caller holds the queue lock; its responses are
 * committed with its batch. Returns 0 or the backend's error.
 */
static inline __attribute__((always_inline)) int
prqd__send_answer(struct prqd_iommu *iommu, struct prqd_dev *dev, const struct prqd_hw_req *hw,
		  int code, bool consumer)
{
	if (hw->stall)
		return prqd__send_stall(iommu, dev, hw, code);
	const struct prqd_request *last = &hw->req;
	struct prqd_hw_resp resp = {
		.rid = last->rid,
		.source_id = last->source_id,
		/* The device says whether it wants the PASID back; a requester we do not
		 * know gets it whenever its request carried one. */
		.pasid_present = last->pasid_valid &&
				 (!dev || dev->info.prg_resp_pasid_required),
		.pasid = last->pasid_valid ? last->pasid : 0,
		.prg_index = last->prg_index,
		.code = (uint8_t)code,
		.priv_data_valid = last->priv_data_valid &&
				   (iommu->caps.flags & PRQD_CAP_PRIV_DATA),
		.priv_data = { last->priv_data[0], last->priv_data[1] },
		.tag = hw->tag,
		/* The consumer's answers are committed at the end of its batch. */
		.batched = consumer,
	};
	return iommu->ops.respond(iommu->priv, dev ? dev->be_priv : NULL, &resp);
}

/*
 * Send the response for a group whose last request is @hw, count and trace it. A backend
 * failure completes it locally (counted as PRQD_BY_LOCAL). Returns 0 or the backend's error.
 */
static inline __attribute__((always_inline)) int
prqd__answer(struct prqd_iommu *iommu, struct prqd_dev *dev, const struct prqd_hw_req *hw,
	     uint32_t gen, int code, int responder, bool consumer)
{
	int result = prqd__send_answer(iommu, dev, hw, code, consumer);
	if (result < 0 || prqd__tracing(iommu))
		prqd__answer_record(iommu, hw, gen, code, responder, consumer, result);
	else
		prqd__count_answer(iommu, code, responder, consumer);
	return result;
}

#endif /* PRQD_ANSWER_H */
