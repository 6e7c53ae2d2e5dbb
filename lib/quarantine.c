/* SPDX-License-Identifier: MIT */
/*
 * Quarantine: what a forced unbind leaves behind.
 *
 * prqd_unbind(PRQD_UNBIND_FORCE) may not wait for the device, so requests its bond's
 * generation sent can still be in the queue or the fabric when it returns. If the PASID
 * were simply freed, the next bind of it would receive them. Instead the bond keeps its
 * PASID slot in state FREED (the caller's handle is dead): groups that complete against it
 * are answered Invalid and counted stale, its Stop Marker is still noted. A later
 * prqd_bind() of the PASID lifts the quarantine only with proof that nothing of that
 * generation is left: a hardware drain of the PASID, or, where the IOMMU cannot drain, the
 * generation's Stop Marker read from the queue (waited for when the device uses markers).
 * Without proof the bind fails and the quarantine stays; removing the device frees it
 * (requests from a requester ID with no device are answered Invalid).
 */
#include "lib/private.h"

void prqd__quarantine_enter(struct prqd_bond *b)
{
	struct prqd_dev *dev = b->dev;
	struct prqd_iommu *iommu = dev->iommu;
	/* Partial groups of the old generation go now; the groups it still completes find a
	 * bond that is not ACTIVE and are answered Invalid. */
	prqd__queue_lock(iommu);
	prqd__discard_partials(dev, b);
	prqd__queue_unlock(iommu);
	prqd__bond_unlink(&dev->bonds, b);
	dev->nbonds--;
	b->prev = NULL;
	b->next = dev->quarantine;
	if (dev->quarantine)
		dev->quarantine->prev = b;
	dev->quarantine = b;
	prqd_spin_lock(&b->lock);
	prqd__bond_set_state(b, PRQD_BOND_FREED);
	b->busy = 0;
	b->quarantined = 1;
	prqd_spin_unlock(&b->lock);
}

int prqd__quarantine_lift(struct prqd_dev *dev, struct prqd_bond *q)
{
	const struct prqd_plat *pl = &dev->iommu->plat;
	/* busy makes this caller the only one lifting it; the device lock is not held across
	 * the drain, so unrelated binds and unbinds of the device go on meanwhile. */
	prqd_spin_lock(&q->lock);
	bool taken = q->busy;
	q->busy = 1;
	prqd_spin_unlock(&q->lock);
	if (taken)
		return -PRQD_EBUSY;
	prqd__unlock(pl, dev->lock);
	unsigned flags = PRQD__DRAIN_RELEASE |
			 (dev->info.uses_stop_markers ? PRQD__DRAIN_MARKER_PROOF : 0u);
	int rc = prqd__drain(dev, q, flags, 0);
	prqd__lock(pl, dev->lock);
	if (rc < 0) {
		prqd_spin_lock(&q->lock);
		q->busy = 0;
		prqd_spin_unlock(&q->lock);
		return rc;
	}
	prqd_dbg(dev->iommu->ctx, "quarantine of %04x pasid %u lifted", dev->info.rid,
		 (unsigned)q->pasid);
	prqd__bond_release(q);
	return 0;
}

void prqd__quarantine_drop_all(struct prqd_dev *dev)
{
	while (dev->quarantine)
		prqd__bond_release(dev->quarantine);
}
