/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's own IOMMU: an in-memory ring of 32-byte page request descriptors that the
 * benchmark fills, and a ring of 16-byte responses the backend writes. It plugs into the core
 * through the public backend contract (prqdrain-backend.h), added to the benchmark's context
 * with prqd_ctx_add_backend() as an embedder's own backend would be.
 *
 * The descriptor layout is the benchmark's own (not a hardware format):
 *   word 0: requester ID (bits 15:0), PASID (35:16), PRG index (44:36), PASID valid (45),
 *           Last (46), read (47), write (48);
 *   word 1: page address; words 2-3: private data.
 *
 * Threads: one producer (the benchmark's thread that calls bench_ring_push) and the core's
 * consumer (fetch, queue lock held); the positions are atomics, the slots plain memory.
 * Responses are written by whoever answers; in the benchmark every group is answered by the
 * consumer under the queue lock, so one writer at a time.
 */
#ifndef PRQD_BENCH_H
#define PRQD_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "prqdrain-backend.h"

#define BENCH_RING_SIZE 4096u /* descriptors and responses; a power of two */

struct bench_desc {
	uint64_t w[4];
};

struct bench_resp {
	uint64_t w[2];
};

struct bench_ring {
	struct bench_desc desc[BENCH_RING_SIZE];
	struct bench_resp resp[BENCH_RING_SIZE];
	_Alignas(64) atomic_uint_least64_t prod; /* next position the producer writes */
	_Alignas(64) atomic_uint_least64_t cons; /* next position fetch reads */
	_Alignas(64) uint64_t resp_pos;          /* responses written (one writer at a time) */
	/* A drain step completes this long after it started (0: at once). Set before the run;
	 * read by every drain step, so off the line the consumer writes at each response. */
	_Alignas(64) uint64_t drain_delay_ns;
};

/* The ring a bench backend instance uses: what the platform's backend_data("bench")
 * returns. */
extern const struct prqd_backend bench_backend;

static inline uint64_t bench_desc_word0(uint16_t rid, bool pasid_valid, uint32_t pasid,
					uint16_t index, bool last, bool read, bool write)
{
	return (uint64_t)rid | (uint64_t)(pasid & 0xfffff) << 16 | (uint64_t)(index & 0x1ff) << 36 |
	       (uint64_t)pasid_valid << 45 | (uint64_t)last << 46 | (uint64_t)read << 47 |
	       (uint64_t)write << 48;
}

/* Room for @n more descriptors? (producer side) */
static inline bool bench_ring_room(const struct bench_ring *r, unsigned n)
{
	uint64_t prod = atomic_load_explicit(&r->prod, memory_order_relaxed);
	uint64_t cons = atomic_load_explicit(&r->cons, memory_order_acquire);
	return prod - cons + n <= BENCH_RING_SIZE;
}

/* Write one descriptor at the producer position (the caller checked the room) and publish
 * it. */
static inline void bench_ring_push(struct bench_ring *r, uint64_t word0, uint64_t addr)
{
	uint64_t prod = atomic_load_explicit(&r->prod, memory_order_relaxed);
	struct bench_desc *d = &r->desc[prod & (BENCH_RING_SIZE - 1)];
	d->w[0] = word0;
	d->w[1] = addr;
	d->w[2] = 0;
	d->w[3] = 0;
	atomic_store_explicit(&r->prod, prod + 1, memory_order_release);
}

#endif /* PRQD_BENCH_H */
