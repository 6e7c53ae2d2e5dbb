/* SPDX-License-Identifier: MIT */
/*
 * PASID -> bond, per device: a two-level table of 64-entry leaves under a directory. Both
 * come on demand: the directory holds only the leaves up to the highest one used (it grows
 * by doubling, up to what the device's PASID width needs), and a leaf is allocated at the
 * first bind in its range. A device with one bond costs one small leaf and a one-entry
 * directory; 2^20 bonds cost 8 bytes each in leaves and 1/8 byte each in the directory.
 *
 * Reads and writes happen with the IOMMU queue lock held (see private.h), so the consumer's
 * lookup is two plain loads. The binder (device lock held, which serialises writers)
 * allocates a leaf and, if needed, a larger directory before it takes the queue lock, and
 * installs them under it, which keeps allocation out of the consumer's way; leaves live
 * until the device goes.
 */
#include "lib/private.h"

static uint32_t dir_entries_max(uint8_t width)
{
	uint64_t pasids = width ? (1ull << width) : 1;
	return (uint32_t)((pasids + PRQD_PASID_LEAF_SIZE - 1) / PRQD_PASID_LEAF_SIZE);
}

int prqd__pasid_table_init(const struct prqd_plat *pl, struct prqd_pasid_table *t, uint8_t width)
{
	(void)pl;
	t->dir = NULL;
	t->ndir = 0;
	t->ndir_max = dir_entries_max(width);
	t->nleaves = 0;
	return 0;
}

void prqd__pasid_table_fini(const struct prqd_plat *pl, struct prqd_pasid_table *t)
{
	if (!t->dir)
		return;
	for (uint32_t i = 0; i < t->ndir; i++)
		prqd__plat_free(pl, t->dir[i], PRQD_PASID_LEAF_SIZE * sizeof(struct prqd_bond *));
	prqd__plat_free(pl, t->dir, t->ndir * sizeof(*t->dir));
	t->dir = NULL;
	t->ndir = 0;
}

int prqd__pasid_prepare(const struct prqd_plat *pl, const struct prqd_pasid_table *t,
			uint32_t pasid, struct prqd_pasid_prep *prep)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	prep->leaf = NULL;
	prep->dir = NULL;
	prep->ndir = 0;
	if (hi >= t->ndir_max)
		return -PRQD_EINVAL;
	if (hi < t->ndir && t->dir[hi])
		return 0;
	prep->leaf = prqd__plat_alloc(pl, PRQD_PASID_LEAF_SIZE * sizeof(*prep->leaf));
	if (!prep->leaf)
		return -PRQD_ENOMEM;
	if (hi < t->ndir)
		return 0;
	uint32_t n = t->ndir ? t->ndir : 1;
	while (n <= hi)
		n *= 2;
	if (n > t->ndir_max)
		n = t->ndir_max;
	prep->dir = prqd__plat_alloc(pl, n * sizeof(*prep->dir));
	if (!prep->dir) {
		prqd__pasid_prep_free(pl, prep);
		return -PRQD_ENOMEM;
	}
	prep->ndir = n;
	return 0;
}

void prqd__pasid_prep_free(const struct prqd_plat *pl, struct prqd_pasid_prep *prep)
{
	prqd__plat_free(pl, prep->leaf, PRQD_PASID_LEAF_SIZE * sizeof(*prep->leaf));
	prqd__plat_free(pl, prep->dir, prep->ndir * sizeof(*prep->dir));
	prep->leaf = NULL;
	prep->dir = NULL;
	prep->ndir = 0;
}

void prqd__pasid_set(const struct prqd_plat *pl, struct prqd_pasid_table *t, uint32_t pasid,
		     struct prqd_bond *b, struct prqd_pasid_prep *prep)
{
	uint32_t hi = pasid >> PRQD_PASID_LEAF_BITS;
	if (prep && prep->dir) {
		/* The larger directory takes over the leaves; the old one goes (rare: the
		 * directory only doubles). */
		for (uint32_t i = 0; i < t->ndir; i++)
			prep->dir[i] = t->dir[i];
		prqd__plat_free(pl, t->dir, t->ndir * sizeof(*t->dir));
		t->dir = prep->dir;
		t->ndir = prep->ndir;
		prep->dir = NULL;
		prep->ndir = 0;
	}
	if (prep && prep->leaf) {
		t->dir[hi] = prep->leaf;
		t->nleaves++;
		prep->leaf = NULL;
	}
	t->dir[hi][pasid & (PRQD_PASID_LEAF_SIZE - 1)] = b;
}
