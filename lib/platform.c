/* SPDX-License-Identifier: MIT */
/*
 * The embedder's platform table, copied with every optional callback filled by a default so
 * call sites never test for NULL.
 */
#include "lib/private.h"

static void default_relax(void *user)
{
	(void)user;
	prqd_cpu_pause();
}

static int default_lock_init(void *user, void *lock)
{
	return 0;
}

static void default_lock_noop(void *user, void *lock)
{
}

static const char *default_getenv(void *user, const char *name)
{
	return NULL;
}

static void *default_backend_data(void *user, const char *backend)
{
	return NULL;
}

static uint32_t default_read32(void *user, uint64_t off)
{
	return UINT32_MAX; /* what a read of absent MMIO returns on PCIe */
}

static uint64_t default_read64(void *user, uint64_t off)
{
	return UINT64_MAX;
}

static void default_write32(void *user, uint64_t off, uint32_t v)
{
}

static void default_write64(void *user, uint64_t off, uint64_t v)
{
}

static int default_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	return -PRQD_EOPNOTSUPP;
}

static void default_dma_free(void *user, void *va, size_t size)
{
}

static void default_log(void *user, int prio, const char *file, int line, const char *fn,
			const char *msg)
{
}

static int default_pasid_entry_set_present(void *user, uint32_t source_id, uint32_t pasid,
					   bool present)
{
	return -PRQD_EOPNOTSUPP;
}

/* A field is present when the embedder's table is large enough to hold it and it is set. */
#define PLAT_HAS(in, field)                                                                    \
	((in)->size >= offsetof(struct prqd_platform, field) + sizeof((in)->field) && (in)->field)
#define PLAT_TAKE(out, in, field, fallback)                                                    \
	((out)->p.field = PLAT_HAS(in, field) ? (in)->field : (fallback))

int prqd__plat_fill(struct prqd_plat *out, const struct prqd_platform *in)
{
	if (!in || in->size < offsetof(struct prqd_platform, relax))
		return -PRQD_EINVAL;
	if (!in->alloc || !in->free || !in->now_ns)
		return -PRQD_EINVAL;
	prqd__memset(out, 0, sizeof(*out));
	out->p.size = sizeof(out->p);
	out->p.user = in->user;
	out->p.alloc = in->alloc;
	out->p.free = in->free;
	out->p.now_ns = in->now_ns;
	PLAT_TAKE(out, in, relax, default_relax);

	/* Locks: all four or none; a partial set is an embedding bug. */
	unsigned nlock = PLAT_HAS(in, lock_init) + PLAT_HAS(in, lock_destroy) + PLAT_HAS(in, lock) +
			 PLAT_HAS(in, unlock);
	if (nlock != 0 && nlock != 4)
		return -PRQD_EINVAL;
	out->has_locks = nlock == 4;
	out->p.lock_size = out->has_locks ? in->lock_size : 0;
	PLAT_TAKE(out, in, lock_init, default_lock_init);
	PLAT_TAKE(out, in, lock_destroy, default_lock_noop);
	PLAT_TAKE(out, in, lock, default_lock_noop);
	PLAT_TAKE(out, in, unlock, default_lock_noop);

	PLAT_TAKE(out, in, getenv, default_getenv);
	PLAT_TAKE(out, in, backend_data, default_backend_data);
	PLAT_TAKE(out, in, mmio_read32, default_read32);
	PLAT_TAKE(out, in, mmio_read64, default_read64);
	PLAT_TAKE(out, in, mmio_write32, default_write32);
	PLAT_TAKE(out, in, mmio_write64, default_write64);
	PLAT_TAKE(out, in, dma_alloc, default_dma_alloc);
	PLAT_TAKE(out, in, dma_free, default_dma_free);
	PLAT_TAKE(out, in, log, default_log);
	/* Backends ask prqd_iommu_can_gate_pasid() whether the callback is the embedder's. */
	out->has_pasid_entry = PLAT_HAS(in, pasid_entry_set_present);
	PLAT_TAKE(out, in, pasid_entry_set_present, default_pasid_entry_set_present);
	return 0;
}

void *prqd__plat_alloc(const struct prqd_plat *pl, size_t size)
{
	return pl->p.alloc(pl->p.user, size);
}

void prqd__plat_free(const struct prqd_plat *pl, void *ptr, size_t size)
{
	if (ptr)
		pl->p.free(pl->p.user, ptr, size);
}

int prqd__lock_new(const struct prqd_plat *pl, void **lock)
{
	if (!pl->has_locks) {
		/* No platform locks: the no-op callbacks never touch the pointer, any token does. */
		*lock = (void *)pl;
		return 0;
	}
	void *l = prqd__plat_alloc(pl, pl->p.lock_size ? pl->p.lock_size : 1);
	if (!l)
		return -PRQD_ENOMEM;
	int rc = pl->p.lock_init(pl->p.user, l);
	if (rc) {
		prqd__plat_free(pl, l, pl->p.lock_size ? pl->p.lock_size : 1);
		return rc < 0 ? rc : -PRQD_ENOMEM;
	}
	*lock = l;
	return 0;
}

void prqd__lock_free(const struct prqd_plat *pl, void *lock)
{
	if (!pl->has_locks || !lock)
		return;
	pl->p.lock_destroy(pl->p.user, lock);
	prqd__plat_free(pl, lock, pl->p.lock_size ? pl->p.lock_size : 1);
}

int prqd__strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

void prqd__memset(void *p, int c, size_t n)
{
	__builtin_memset(p, c, n);
}

void prqd__memcpy(void *d, const void *s, size_t n)
{
	__builtin_memcpy(d, s, n);
}
