/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain-platform.h
 * @brief prqdrain embedding contract: everything the library needs from its environment.
 *
 * The core never calls libc, the OS or hardware directly; it goes through this table. A
 * hypervisor fills it with its allocator, timer and MMIO accessors; the Linux user-space
 * default (prqd_platform_default(), hosted builds) uses malloc, pthreads and clock_gettime;
 * the simulator supplies simulated time and register models.
 */
#ifndef PRQDRAIN_PLATFORM_H
#define PRQDRAIN_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The platform table. All callbacks receive the table's user pointer first. "Required" callbacks must be set;
 * the library fills every optional one it finds NULL with a default, so it never tests for
 * NULL at a call site.
 */
struct prqd_platform {
	/** sizeof(struct prqd_platform) as the embedder knows it; fields past it are NULL. */
	uint32_t size;
	/** Passed first to every callback. */
	void *user;

	/** Required: zeroed memory of size bytes aligned for any object, or NULL. Also called
	 * from prqd_iommu_process() (and a drain reading the queue) with the IOMMU's queue lock
	 * held, when a device's request pool grows: it must not call into the library, and
	 * where sleeping is not allowed there it must not sleep (NULL is a clean answer: the
	 * group is answered Invalid and counted in pool_exhausted). */
	void *(*alloc)(void *user, size_t size);
	/** Required: release memory from alloc; size is the size asked for. */
	void (*free)(void *user, void *ptr, size_t size);

	/** Required: a monotonic clock in nanoseconds. */
	uint64_t (*now_ns)(void *user);
	/** Optional: called in every polling loop iteration (cpu_relax, sched_yield, or advancing
	 * simulated time). Default: nothing. */
	void (*relax)(void *user);

	/** Optional locks, all four or none. Without them the embedder must serialise every call
	 * on one IOMMU (its devices, bonds and groups included). lock points to lock_size bytes
	 * inside library objects. */
	size_t lock_size;
	/** Prepare the lock at @p lock: 0 or a negative errno. */
	int (*lock_init)(void *user, void *lock);
	/** Release what lock_init set up. */
	void (*lock_destroy)(void *user, void *lock);
	/** Take the lock; it may sleep. Never taken recursively by the library. */
	void (*lock)(void *user, void *lock);
	/** Release the lock. */
	void (*unlock)(void *user, void *lock);

	/** Optional: environment lookup (PRQDRAIN_LOG, PRQDRAIN_BACKEND). Default: none. */
	const char *(*getenv)(void *user, const char *name);

	/** Optional: data the embedder hands to a named backend (the simulator's world for
	 * "sim"). prqd_iommu_open() calls it once with the name of the backend it opens,
	 * before that backend's init, so an embedder standing in for several IOMMUs (the
	 * simulator) can put that one's hardware behind its register window; a backend may
	 * call it again for its own data. Default: NULL. */
	void *(*backend_data)(void *user, const char *backend);

	/** Register-level backends only. Offsets are within the IOMMU's register window. */
	uint32_t (*mmio_read32)(void *user, uint64_t offset);
	/** 64-bit register read (register-level backends only). */
	uint64_t (*mmio_read64)(void *user, uint64_t offset);
	/** 32-bit register write (register-level backends only). */
	void (*mmio_write32)(void *user, uint64_t offset, uint32_t value);
	/** 64-bit register write (register-level backends only). */
	void (*mmio_write64)(void *user, uint64_t offset, uint64_t value);
	/** DMA-able, zeroed memory: CPU address in *va, device (bus) address in *bus. */
	int (*dma_alloc)(void *user, size_t size, size_t align, void **va, uint64_t *bus);
	/** Release memory from dma_alloc; @p size is the size asked for. */
	void (*dma_free)(void *user, void *va, size_t size);

	/** Optional: where messages go while no log function is installed
	 * (prqd_ctx_set_log_fn()), for the priorities PRQDRAIN_LOG or
	 * prqd_ctx_set_log_priority() let through. Same arguments and rules as a
	 * prqd_log_fn. Default: nowhere. The hosted default platform writes one line per
	 * message to stderr. */
	void (*log)(void *user, int prio, const char *file, int line, const char *fn,
		    const char *msg);

	/**
	 * Optional (register-level backends only; a table from an older header ends before
	 * it, which @p size tells): the embedder owns the PASID and context tables, so the
	 * library asks it to clear (@p present false) or restore (@p present true) the Present
	 * bit of one PASID-table entry, leaving every other field of the entry as it was. The
	 * library then invalidates the IOMMU's cached copies itself
	 * (VT-d: PASID cache, IOTLB, device-TLB, in that order); the callback only writes
	 * memory, with whatever barrier makes the write visible to the IOMMU before the
	 * library's next invalidation descriptor.
	 *
	 * @p source_id names the requester as the IOMMU does (VT-d: the requester ID). @p pasid
	 * is the PASID, or PRQD_NO_PASID (UINT32_MAX) for the device's requests without PASID:
	 * the embedder then changes the entry that serves them (VT-d scalable mode: the entry at
	 * the context entry's RID_PASID, Linux uses PASID 0).
	 *
	 * While the bit is clear the IOMMU blocks the PASID: its DMA faults and its page requests
	 * are answered by the IOMMU itself (VT-d: Invalid Request for a group's Last request)
	 * without reaching the page request queue. The library clears it only for a bond that is
	 * stopping, draining or being unbound, and restores it when the bond is resumed or bound
	 * again.
	 *
	 * Called with the device's gate lock held (a leaf: the callback must not call the
	 * library); must not block. Returns 1 when the bit changed, 0 when it already had that
	 * value, or a negative errno (-ENOENT: no such entry) with the entry untouched.
	 * Absent (NULL, or past @p size): the library never gates at the IOMMU and relies on its
	 * drain alone.
	 */
	int (*pasid_entry_set_present)(void *user, uint32_t source_id, uint32_t pasid,
				       bool present);
};

/**
 * @brief The Linux user-space platform: malloc, pthread mutexes, CLOCK_MONOTONIC,
 * sched_yield, secure_getenv. No MMIO or DMA.
 *
 * - Ownership: a static table; never free it.
 * - Locking: none; thread-safe.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @return The table, or NULL in a freestanding build.
 */
const struct prqd_platform *prqd_platform_default(void);

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_PLATFORM_H */
