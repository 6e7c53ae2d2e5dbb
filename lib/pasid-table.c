/* SPDX-License-Identifier: MIT */
/*
 * PASID -> bond, per device: a two-level table (1024 x 1024 for 20-bit PASIDs). The directory
 * is sized from the device's PASID width; leaves come on demand, so a device with a few bonds
 * costs one small directory, and 2^20 bonds cost 8 bytes each in leaves.
 *
 * Reads and writes happen with the IOMMU queue lock held (see private.h), so the consumer's
 * lookup is two plain loads. A leaf is allocated by the binder (device lock held, which
 * serialises writers) before it takes the queue lock and installed under it, which keeps
 * allocation out of the consumer's way; leaves live until the device goes.
 */
#include "lib/private.h"

static uint32_t dir_entries(uint8_t width)
{
	uint64_t pasids = width ? (1ull << width) : 1;
	return (uint32_t)((pasids + PRQD_PASID_LEAF_SIZE - 1) / PRQD_PASID_LEAF_SIZE);
}

int prqd__pasid_table_init(const struct prqd_plat *pl, struct prqd_pasid_table *t, uint8_t width)
{
	t->ndir = dir_entries(width);
	t->nleaves = 0;
	t->dir = prqd__plat_alloc(pl, t->ndir * sizeof(*t->dir));
	return t->dir ? 0 : -PRQD_ENOMEM;
}

void prqd__pasid_table_fini(const struct prqd_plat *pl, struct prqd_pasid_table *t)
{
	if (!t->dir)
		return;
	for (uint32_t i = 0; i < t->ndir; i++)
		prqd__plat_free(pl, t->dir[i], PRQD_PASID_LEAF_SIZE * sizeof(struct prqd_bond *));
	prqd__plat_free(pl, t->dir, t->ndir * sizeof(*t->dir));
	t->dir = NULL;
}

struct prqd_bond *prqd__pasid_get(const struct prqd_pasid_table *t, uint32_t pasid)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	if (hi >= t->ndir || !t->dir[hi])
		return NULL;
	return t->dir[hi][pasid & (PRQD_PASID_LEAF_SIZE - 1)];
}

int prqd__pasid_leaf_prepare(const struct prqd_plat *pl, const struct prqd_pasid_table *t,
			     uint32_t pasid, struct prqd_bond ***leaf)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	*leaf = NULL;
	if (hi >= t->ndir)
		return -PRQD_EINVAL;
	if (t->dir[hi])
		return 0;
	*leaf = prqd__plat_alloc(pl, PRQD_PASID_LEAF_SIZE * sizeof(**leaf));
	return *leaf ? 0 : -PRQD_ENOMEM;
}

void prqd__pasid_set(struct prqd_pasid_table *t, uint32_t pasid, struct prqd_bond *b,
		     struct prqd_bond **leaf)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	if (leaf) {
		t->dir[hi] = leaf;
		t->nleaves++;
	}
	t->dir[hi][pasid & (PRQD_PASID_LEAF_SIZE - 1)] = b;
}
