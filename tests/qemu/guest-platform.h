/* SPDX-License-Identifier: MIT */
/*
 * The platform table of the bare-metal QEMU guests (tests/qemu/guest.c for VT-d on x86,
 * tests/qemu-arm/smmuv3-guest.c for SMMUv3 on aarch64): heap and DMA memory from one bump
 * allocator over a static pool (guest memory is identity-mapped, so an address is its own bus
 * address; nothing is ever given back), the rest from the guest. Include it once, after
 * defining GUEST_POOL_SIZE and the guest's g_now_ns, g_relax, g_read32, g_read64, g_write32
 * and g_write64.
 */
#ifndef PRQD_GUEST_PLATFORM_H
#define PRQD_GUEST_PLATFORM_H

static unsigned char pool[GUEST_POOL_SIZE] __attribute__((aligned(4096)));
static size_t pool_used;
static unsigned dma_frees; /* the library's dma_free calls, which the guests count */

static int g_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	size_t at = (pool_used + align - 1) & ~(align - 1);

	if (at + size > sizeof(pool))
		return -PRQD_ENOMEM;
	memset(pool + at, 0, size);
	pool_used = at + size;
	*va = pool + at;
	*bus = (uint64_t)(uintptr_t)(pool + at);
	return 0;
}

static void g_dma_free(void *user, void *va, size_t size)
{
	dma_frees++;
}

static void *g_alloc(void *user, size_t size)
{
	void *va;
	uint64_t bus;

	return g_dma_alloc(user, size, 16, &va, &bus) ? NULL : va;
}

static void g_free(void *user, void *ptr, size_t size)
{
}

static const struct prqd_platform plat = {
	.size = sizeof(struct prqd_platform),
	.alloc = g_alloc,
	.free = g_free,
	.now_ns = g_now_ns,
	.relax = g_relax,
	.mmio_read32 = g_read32,
	.mmio_read64 = g_read64,
	.mmio_write32 = g_write32,
	.mmio_write64 = g_write64,
	.dma_alloc = g_dma_alloc,
	.dma_free = g_dma_free,
};

#endif /* PRQD_GUEST_PLATFORM_H */
