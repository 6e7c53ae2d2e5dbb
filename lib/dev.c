/* SPDX-License-Identifier: MIT */
/* Devices: registration, and the bond slabs that keep bond memory type-stable. */
#include "lib/private.h"

/* Slabs double from MIN bonds up to MAX: a device with few bonds pays for few, and a
 * handle unbound early still waits behind a few never-used slots before its memory is
 * reused (FIFO). */
#define BONDS_PER_SLAB_MIN 4
#define BONDS_PER_SLAB_MAX 64

struct prqd_bond *prqd__bond_alloc(struct prqd_dev *dev)
{
	if (!dev->bond_free_head) {
		uint32_t count = dev->slabs ? dev->slabs->count * 2 : BONDS_PER_SLAB_MIN;
		if (count > BONDS_PER_SLAB_MAX)
			count = BONDS_PER_SLAB_MAX;
		size_t size = sizeof(struct prqd_bond_slab) + count * sizeof(struct prqd_bond);
		struct prqd_bond_slab *slab = prqd__plat_alloc(&dev->iommu->plat, size);
		if (!slab)
			return NULL;
		slab->count = count;
		slab->next = dev->slabs;
		dev->slabs = slab;
		for (uint32_t i = 0; i < count; i++) {
			struct prqd_bond *b = &slab->bonds[i];
			atomic_init(&b->state, PRQD_BOND_FREED);
			b->free_next = i + 1 < count ? &slab->bonds[i + 1] : NULL;
		}
		dev->bond_free_head = &slab->bonds[0];
		dev->bond_free_tail = &slab->bonds[count - 1];
	}
	struct prqd_bond *b = dev->bond_free_head;
	dev->bond_free_head = b->free_next;
	if (!dev->bond_free_head)
		dev->bond_free_tail = NULL;
	b->free_next = NULL;
	return b;
}

/*
 * Freed bonds go to the tail: a stale handle keeps reading FREED for as long as possible
 * before its slot is handed out again.
 */
void prqd__bond_free(struct prqd_dev *dev, struct prqd_bond *b)
{
	b->free_next = NULL;
	if (dev->bond_free_tail)
		dev->bond_free_tail->free_next = b;
	else
		dev->bond_free_head = b;
	dev->bond_free_tail = b;
}

static void dev_free(struct prqd_dev *dev)
{
	const struct prqd_plat *pl = &dev->iommu->plat;
	while (dev->slabs) {
		struct prqd_bond_slab *s = dev->slabs;
		dev->slabs = s->next;
		prqd__plat_free(pl, s,
				sizeof(*s) + s->count * sizeof(struct prqd_bond));
	}
	prqd__pools_fini(dev);
	prqd__pasid_table_fini(pl, &dev->table);
	prqd__lock_free(pl, dev->lock);
	prqd__lock_free(pl, dev->gate_lock);
	prqd__plat_free(pl, dev, sizeof(*dev));
}

PRQD_EXPORT int prqd_dev_add(struct prqd_iommu *iommu, const struct prqd_dev_info *info,
			     struct prqd_dev **out)
{
	if (!iommu || !info || !out)
		return -PRQD_EINVAL;
	if (info->size < offsetof(struct prqd_dev_info, ats_queue_depth) +
				 sizeof(info->ats_queue_depth) ||
	    info->pri_capacity == 0 || info->pasid_width > 20) {
		prqd_err(iommu->ctx, "device %04x: bad info (size %u, capacity %u, pasid width %u)",
			 info->rid, (unsigned)info->size, (unsigned)info->pri_capacity,
			 (unsigned)info->pasid_width);
		return -PRQD_EINVAL;
	}

	const struct prqd_plat *pl = &iommu->plat;
	struct prqd_dev *dev = prqd__plat_alloc(pl, sizeof(*dev));
	if (!dev)
		return -PRQD_ENOMEM;
	dev->iommu = iommu;
	/* Only the fields the caller's size covers are read. */
	size_t known = info->size < sizeof(dev->info) ? info->size : sizeof(dev->info);
	prqd__memcpy(&dev->info, info, known);
	dev->info.size = sizeof(dev->info);
	if (known < offsetof(struct prqd_dev_info, source_id) + sizeof(info->source_id) ||
	    !dev->info.has_source_id) {
		dev->info.has_source_id = false;
		dev->info.source_id = dev->info.rid;
	}
	if (dev->info.pri_alloc == 0 || dev->info.pri_alloc > dev->info.pri_capacity)
		dev->info.pri_alloc = dev->info.pri_capacity;

	uint64_t pool = dev->info.pri_alloc;
	if (pool > iommu->params[PRQD_P_POOL_MAX])
		pool = iommu->params[PRQD_P_POOL_MAX];
	pool += iommu->params[PRQD_P_POOL_SLACK];

	int rc = prqd__lock_new(pl, &dev->lock);
	if (rc < 0) {
		dev->lock = NULL;
		goto fail;
	}
	rc = prqd__lock_new(pl, &dev->gate_lock);
	if (rc < 0) {
		dev->gate_lock = NULL;
		goto fail;
	}
	rc = prqd__pasid_table_init(pl, &dev->table, info->pasid_width);
	if (rc < 0)
		goto fail;
	rc = prqd__pools_init(dev, (uint32_t)pool);
	if (rc < 0)
		goto fail;
	rc = iommu->ops.dev_attach(iommu->priv, &dev->info, &dev->be_priv);
	if (rc < 0) {
		prqd_err(iommu->ctx, "backend refused device %04x: %d", info->rid, rc);
		goto fail;
	}

	prqd__queue_lock(iommu);
	bool exists = prqd__dev_lookup(iommu, dev->info.source_id) != NULL;
	if (!exists)
		prqd__dev_hash_insert(iommu, dev);
	prqd__queue_unlock(iommu);
	if (exists) {
		iommu->ops.dev_detach(iommu->priv, dev->be_priv);
		prqd_err(iommu->ctx, "device %04x: source id %#x is added already", info->rid,
			 (unsigned)info->source_id);
		rc = -PRQD_EEXIST;
		goto fail;
	}
	prqd_info(iommu->ctx, "device %04x added: capacity %u, pool %u", info->rid,
		  (unsigned)info->pri_capacity, (unsigned)pool);
	*out = dev;
	return 0;
fail:
	dev_free(dev);
	return rc;
}

PRQD_EXPORT int prqd_dev_remove(struct prqd_dev *dev)
{
	if (!dev)
		return -PRQD_EINVAL;
	struct prqd_iommu *iommu = dev->iommu;
	const struct prqd_plat *pl = &iommu->plat;
	prqd__lock(pl, dev->lock);
	bool busy = dev->nbonds != 0 || dev->dev_busy;
	/* Requests of a quarantined PASID then come from an unknown requester: still
	 * answered Invalid, delivered to nobody. */
	if (!busy)
		prqd__quarantine_drop_all(dev);
	prqd__unlock(pl, dev->lock);
	if (busy)
		return -PRQD_EBUSY;

	prqd__queue_lock(iommu);
	prqd__dev_hash_remove(iommu, dev);
	/* Partial groups of PASIDs without a bond can no longer complete. */
	prqd__discard_partials(dev, NULL);
	prqd__queue_unlock(iommu);

	if (dev->drain_step)
		prqd__step_abandon(iommu, dev->drain_step);
	iommu->ops.dev_detach(iommu->priv, dev->be_priv);
	prqd_info(iommu->ctx, "device %04x removed", dev->info.rid);
	dev_free(dev);
	return 0;
}

PRQD_EXPORT uint16_t prqd_dev_rid(const struct prqd_dev *dev)
{
	return dev ? dev->info.rid : 0;
}
