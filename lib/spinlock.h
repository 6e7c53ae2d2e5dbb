/* SPDX-License-Identifier: MIT */
/*
 * A one-word spinlock for per-bond state. Bonds must stay small (DESIGN: at most 128 bytes
 * with 2^20 of them on one device), and the sections it guards are a handful of
 * instructions that never call out, so a platform mutex per bond would cost more memory than
 * it saves in waiting. Spinning uses the CPU's pause hint, not the platform's relax(), which
 * in the simulator advances time and must not run inside a critical section.
 */
#ifndef PRQD_SPINLOCK_H
#define PRQD_SPINLOCK_H

#include <stdatomic.h>

typedef atomic_uint prqd_spinlock_t;

static inline void prqd_cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

static inline void prqd_spin_lock(prqd_spinlock_t *l)
{
	for (;;) {
		if (!atomic_exchange_explicit(l, 1u, memory_order_acquire))
			return;
		while (atomic_load_explicit(l, memory_order_relaxed))
			prqd_cpu_pause();
	}
}

static inline void prqd_spin_unlock(prqd_spinlock_t *l)
{
	atomic_store_explicit(l, 0u, memory_order_release);
}

#endif /* PRQD_SPINLOCK_H */
