/* SPDX-License-Identifier: MIT */
/*
 * Stubs for operations a backend leaves out. They are positional on purpose: adding an
 * operation to struct prqd_backend_ops without a stub here breaks the build with
 * -Wmissing-field-initializers.
 */
#include "lib/private.h"

static int stub_probe(const struct prqd_platform *plat)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	return -PRQD_EOPNOTSUPP;
}
static void stub_fini(struct prqd_iommu *iommu, void *priv)
{
}
static int stub_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	return -PRQD_EOPNOTSUPP;
}
static void stub_dev_detach(void *priv, void *dev_priv)
{
}
static int stub_gate(void *priv, void *dev_priv, uint32_t pasid, bool enable)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_queue_tail(void *priv, uint64_t *pos)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_drain_start(void *priv, struct prqd_drain_step *op)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_drain_poll(void *priv, struct prqd_drain_step *op)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_drain_release(void *priv, struct prqd_drain_step *op)
{
	return 0; /* nothing was ever started */
}
static int stub_overflow_pending(void *priv)
{
	return 0; /* a backend that cannot tell never reports an overflow */
}
static int stub_overflow_ack(void *priv)
{
	return -PRQD_EOPNOTSUPP;
}
static int stub_stall_resume(void *priv, void *dev_priv, const struct prqd_hw_stall_resp *resp)
{
	return -PRQD_EOPNOTSUPP;
}

static int stub_commit(void *priv)
{
	return 0; /* nothing was held back */
}
const struct prqd_backend_ops prqd_backend_stub_ops = {
	stub_probe,	   stub_init,	     stub_fini,	      stub_dev_attach,	stub_dev_detach,
	stub_gate,	   stub_fetch,	     stub_queue_tail, stub_respond,	stub_drain_start,
	stub_drain_poll,   stub_drain_release, stub_overflow_pending, stub_overflow_ack,
	stub_stall_resume, stub_commit,
};

void prqd__backend_fill_ops(struct prqd_backend_ops *out, const struct prqd_backend_ops *in)
{
	*out = prqd_backend_stub_ops;
#define TAKE(op)                                                                               \
	if (in->op)                                                                            \
		out->op = in->op;
	TAKE(probe) TAKE(init) TAKE(fini) TAKE(dev_attach) TAKE(dev_detach) TAKE(gate) TAKE(fetch)
	TAKE(queue_tail) TAKE(respond) TAKE(drain_start) TAKE(drain_poll) TAKE(drain_release)
	TAKE(overflow_pending) TAKE(overflow_ack) TAKE(stall_resume) TAKE(commit)
#undef TAKE
}
