/* SPDX-License-Identifier: MIT */
/* Trace events: stamped with the platform clock and handed to the context's sink. */
#include "lib/private.h"

void prqd__trace(struct prqd_iommu *iommu, struct prqd_trace_event *ev)
{
	struct prqd_ctx *ctx = iommu->ctx;
	if (!ctx->trace_fn)
		return;
	ev->time_ns = prqd__now(&iommu->plat);
	ctx->trace_fn(ctx->trace_user, ev);
}

void prqd__trace_bond_event(struct prqd_bond *b, uint32_t type, int from, int to, int result,
			    uint64_t value)
{
	struct prqd_iommu *iommu = b->dev->iommu;
	struct prqd_trace_event ev = {
		.type = type,
		.rid = b->dev->info.rid,
		.pasid_valid = b->pasid != PRQD_NO_PASID,
		.pasid = b->pasid != PRQD_NO_PASID ? b->pasid : 0,
		.bond_gen = b->gen,
		.state_from = (uint8_t)from,
		.state_to = (uint8_t)to,
		.result = result,
		.value = value,
	};
	prqd__trace(iommu, &ev);
}

PRQD_EXPORT const char *prqd_trace_type_name(uint32_t type)
{
	static const char *const names[] = {
		[PRQD_TR_REQUEST] = "request",
		[PRQD_TR_GROUP_DELIVER] = "deliver",
		[PRQD_TR_RESPONSE] = "response",
		[PRQD_TR_LATE_RESPONSE] = "late-response",
		[PRQD_TR_STOP_MARKER] = "stop-marker",
		[PRQD_TR_BAD_REQUEST] = "bad-request",
		[PRQD_TR_PARTIAL_DISCARD] = "partial-discard",
		[PRQD_TR_OVERFLOW] = "overflow",
		[PRQD_TR_BOND_STATE] = "bond-state",
		[PRQD_TR_DRAIN_BEGIN] = "drain",
		[PRQD_TR_DRAIN_STEP_START] = "drain-step-start",
		[PRQD_TR_DRAIN_STEP_DONE] = "drain-step-done",
		[PRQD_TR_DRAIN_END] = "drain-end",
	};
	if (type < PRQD_ARRAY_SIZE(names) && names[type])
		return names[type];
	return "?";
}
