/* SPDX-License-Identifier: MIT */
/*
 * prqdrain-bench: what the library costs, measured from outside (issue 10).
 *
 * Every figure comes from this program, run by `make bench` (the table, or one JSON object
 * with --json). `make bench-callgrind` runs it under callgrind for the instruction counts
 * (bench/callgrind.sh), which need a deterministic counter this machine's PMU does not give.
 *
 * The fast path is measured against the benchmark's ring backend (bench/bench-backend.c)
 * with 1-request groups answered synchronously by the handler; the bare loop reads the same
 * 32-byte descriptors from the same ring and writes 16-byte responses, in the same process,
 * alternating with the library run by run. Timings are medians of RUNS runs; a ratio is taken
 * within each run, then its median reported. Allocations and bytes are counted through the
 * platform's alloc callback.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <valgrind/callgrind.h>

#include "backends/sim/scenario.h"
#include "bench/bench.h"
#include "lib/private.h"

#define RUNS 5
#define PUSH_BATCH 256u    /* descriptors written before each prqd_iommu_process() */
#define BENCH_RID 0x0100u
#define ONE_MILLION 1000000u

/* ---- the platform: counted allocations, real or simulated time ----------------------------- */

struct bench_plat {
	struct prqd_platform p;
	struct bench_ring *ring;
	atomic_uint_least64_t allocs, live_bytes;
	bool simulated_time;
	atomic_uint_least64_t sim_now_ns;
	uint64_t relax_step_ns;
	void (*relax_hook)(void *arg); /* runs at each relax with simulated time */
	void *hook_arg;
};

static void *bp_alloc(void *user, size_t size)
{
	struct bench_plat *bp = user;
	atomic_fetch_add_explicit(&bp->allocs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&bp->live_bytes, size, memory_order_relaxed);
	return calloc(1, size ? size : 1);
}

static void bp_free(void *user, void *ptr, size_t size)
{
	struct bench_plat *bp = user;
	if (!ptr)
		return;
	atomic_fetch_sub_explicit(&bp->live_bytes, size, memory_order_relaxed);
	free(ptr);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t bp_now(void *user)
{
	struct bench_plat *bp = user;
	if (bp->simulated_time)
		return atomic_load_explicit(&bp->sim_now_ns, memory_order_relaxed);
	return wall_ns();
}

static void bp_relax(void *user)
{
	struct bench_plat *bp = user;
	if (!bp->simulated_time) {
		sched_yield();
		return;
	}
	atomic_fetch_add_explicit(&bp->sim_now_ns, bp->relax_step_ns, memory_order_relaxed);
	if (bp->relax_hook)
		bp->relax_hook(bp->hook_arg);
}

static int bp_lock_init(void *user, void *lock)
{
	(void)user;
	return -pthread_mutex_init(lock, NULL);
}

static void bp_lock_destroy(void *user, void *lock)
{
	(void)user;
	pthread_mutex_destroy(lock);
}

static void bp_lock(void *user, void *lock)
{
	(void)user;
	pthread_mutex_lock(lock);
}

static void bp_unlock(void *user, void *lock)
{
	(void)user;
	pthread_mutex_unlock(lock);
}

static void *bp_backend_data(void *user, const char *backend)
{
	struct bench_plat *bp = user;
	return strcmp(backend, "bench") == 0 ? bp->ring : NULL;
}

/* ---- a world: one context, the bench IOMMU, devices on it ---------------------------------- */

struct world {
	struct bench_plat plat;
	struct bench_ring *ring;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "prqdrain-bench: %s: %d (%s)\n", what, rc, strerror(rc < 0 ? -rc : rc));
	exit(2);
}

static void world_open(struct world *w, bool simulated_time)
{
	memset(w, 0, sizeof(*w));
	w->ring = aligned_alloc(64, sizeof(*w->ring));
	if (!w->ring)
		die("ring", -ENOMEM);
	memset(w->ring, 0, sizeof(*w->ring));
	struct bench_plat *bp = &w->plat;
	bp->ring = w->ring;
	bp->p.size = sizeof(bp->p);
	bp->p.user = bp;
	bp->p.alloc = bp_alloc;
	bp->p.free = bp_free;
	bp->p.now_ns = bp_now;
	bp->p.relax = bp_relax;
	bp->p.lock_size = sizeof(pthread_mutex_t);
	bp->p.lock_init = bp_lock_init;
	bp->p.lock_destroy = bp_lock_destroy;
	bp->p.lock = bp_lock;
	bp->p.unlock = bp_unlock;
	bp->p.backend_data = bp_backend_data;
	bp->simulated_time = simulated_time;
	atomic_init(&bp->sim_now_ns, 1000000000u);
	bp->relax_step_ns = 1000;
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &bp->p,
				    .flags = PRQD_CTX_IGNORE_ENV };
	int rc = prqd_ctx_new(&co, &w->ctx);
	if (rc < 0)
		die("prqd_ctx_new", rc);
	/* The bench backend plugs in as an embedder's own backend would. */
	rc = prqd_ctx_add_backend(w->ctx, &bench_backend);
	if (rc < 0)
		die("prqd_ctx_add_backend", rc);
	rc = prqd_iommu_open(w->ctx, "bench", NULL, &w->io);
	if (rc < 0)
		die("open the bench backend", rc);
}

static void world_close(struct world *w)
{
	int rc = prqd_iommu_close(w->io);
	if (rc < 0)
		die("prqd_iommu_close", rc);
	prqd_ctx_unref(w->ctx);
	free(w->ring);
}

static struct prqd_dev *dev_add(struct world *w, uint16_t rid, uint32_t capacity)
{
	struct prqd_dev_info info = {
		.size = sizeof(info), .rid = rid, .pri_capacity = capacity, .pasid_width = 20,
	};
	struct prqd_dev *dev;
	int rc = prqd_dev_add(w->io, &info, &dev);
	if (rc < 0)
		die("prqd_dev_add", rc);
	return dev;
}

static int answer_at_once(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	(void)cookie;
	(void)bond;
	(void)group;
	return PRQD_RESP_SUCCESS;
}

static struct prqd_bond *bind(struct prqd_dev *dev, uint32_t pasid, prqd_handler_fn fn,
			      void *cookie)
{
	struct prqd_bond *b;
	int rc = prqd_bind(dev, pasid, fn, cookie, &b);
	if (rc < 0)
		die("prqd_bind", rc);
	return b;
}

static void unbind_one(struct prqd_bond *b)
{
	int rc = prqd_unbind(b, 0);
	if (rc < 0)
		die("prqd_unbind", rc);
}

static void dev_remove(struct prqd_dev *dev)
{
	int rc = prqd_dev_remove(dev);
	if (rc < 0)
		die("prqd_dev_remove", rc);
}

/* ---- the fast path and the bare loop -------------------------------------------------------- */

/* Push @n one-request groups for (BENCH_RID, @pasid) through the library, PUSH_BATCH at a
 * time, each batch followed by prqd_iommu_process(). */
static void run_library(struct world *w, uint32_t pasid, uint64_t n)
{
	struct bench_ring *r = w->ring;
	for (uint64_t sent = 0; sent < n;) {
		unsigned batch = n - sent < PUSH_BATCH ? (unsigned)(n - sent) : PUSH_BATCH;
		while (!bench_ring_room(r, batch))
			prqd_iommu_process(w->io, 0);
		for (unsigned i = 0; i < batch; i++, sent++)
			bench_ring_push(r, bench_desc_word0(BENCH_RID, true, pasid,
							    (uint16_t)(sent & 511), true, true,
							    false),
					sent << 12);
		prqd_iommu_process(w->io, 0);
	}
}

/* The same descriptors read by hand: decode what a response needs, write the response. */
static void run_bare(struct bench_ring *r, uint32_t pasid, uint64_t n)
{
	for (uint64_t sent = 0; sent < n;) {
		unsigned batch = n - sent < PUSH_BATCH ? (unsigned)(n - sent) : PUSH_BATCH;
		for (unsigned i = 0; i < batch; i++, sent++)
			bench_ring_push(r, bench_desc_word0(BENCH_RID, true, pasid,
							    (uint16_t)(sent & 511), true, true,
							    false),
					sent << 12);
		uint64_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);
		uint64_t prod = atomic_load_explicit(&r->prod, memory_order_acquire);
		for (; cons != prod; cons++) {
			const struct bench_desc *d = &r->desc[cons & (BENCH_RING_SIZE - 1)];
			uint64_t w0 = d->w[0];
			struct bench_resp *out = &r->resp[r->resp_pos++ & (BENCH_RING_SIZE - 1)];
			/* rid, PASID, index and "PASID present" kept, Success as the code */
			out->w[0] = (w0 & 0x3fffffffffffull) | (uint64_t)PRQD_RESP_SUCCESS << 48;
			out->w[1] = d->w[2];
		}
		atomic_store_explicit(&r->cons, cons, memory_order_release);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct fastpath {
	double ns_per_req, bare_ns_per_req, ratio, allocs_per_req;
};

static void measure_fastpath(uint64_t n, struct fastpath *out)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 1, answer_at_once, NULL);
	/* The bare loop's own ring, of the same layout: the library's ring positions are its
	 * queue positions. */
	struct bench_ring *bare_ring = aligned_alloc(64, sizeof(*bare_ring));
	if (!bare_ring)
		die("ring", -ENOMEM);
	memset(bare_ring, 0, sizeof(*bare_ring));
	run_library(&w, 1, n / 10); /* warm the caches and the pools */
	run_bare(bare_ring, 1, n / 10);
	double lib[RUNS], bare[RUNS], ratio[RUNS], allocs = 0;
	for (unsigned i = 0; i < RUNS; i++) {
		uint64_t a0 = atomic_load(&w.plat.allocs);
		uint64_t t0 = wall_ns();
		run_library(&w, 1, n);
		uint64_t t1 = wall_ns();
		allocs += (double)(atomic_load(&w.plat.allocs) - a0);
		run_bare(bare_ring, 1, n);
		uint64_t t2 = wall_ns();
		lib[i] = (double)(t1 - t0) / (double)n;
		bare[i] = (double)(t2 - t1) / (double)n;
		ratio[i] = lib[i] / bare[i];
	}
	struct prqd_stats st;
	prqd_iommu_stats(w.io, &st, sizeof(st));
	if (st.responses[PRQD_RESP_SUCCESS] != st.requests)
		die("fast path: not every request answered Success", -EPROTO);
	out->ns_per_req = median(lib, RUNS);
	out->bare_ns_per_req = median(bare, RUNS);
	out->ratio = median(ratio, RUNS);
	out->allocs_per_req = allocs / ((double)n * RUNS);
	free(bare_ring);
	unbind_one(b);
	dev_remove(dev);
	world_close(&w);
}

/* Under callgrind: only the library loop is instrumented (bench/callgrind.sh differences
 * an N and a 2N run, so what is paid once cancels). */
static void callgrind_fastpath(uint64_t n)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 1, answer_at_once, NULL);
	run_library(&w, 1, 4096);
	CALLGRIND_ZERO_STATS;
	CALLGRIND_START_INSTRUMENTATION;
	run_library(&w, 1, n);
	CALLGRIND_STOP_INSTRUMENTATION;
	CALLGRIND_DUMP_STATS_AT("fastpath");
	unbind_one(b);
	dev_remove(dev);
	world_close(&w);
}

/* ---- drains: allocations per round, cost with many other bonds ---------------------------- */

static void drain_rounds(struct prqd_bond *b, unsigned rounds)
{
	for (unsigned i = 0; i < rounds; i++) {
		int rc = prqd_drain(b, 0, 0);
		if (rc < 0)
			die("prqd_drain", rc);
		prqd_resume(b);
	}
}

static double measure_allocs_per_drain(unsigned rounds)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 7, answer_at_once, NULL);
	drain_rounds(b, 1); /* what a first drain sets up once is not per round */
	uint64_t a0 = atomic_load(&w.plat.allocs);
	drain_rounds(b, rounds);
	double per = (double)(atomic_load(&w.plat.allocs) - a0) / rounds;
	unbind_one(b);
	dev_remove(dev);
	world_close(&w);
	return per;
}

static struct prqd_bond **bind_many(struct prqd_dev *dev, uint32_t first, uint32_t n)
{
	struct prqd_bond **v = malloc(n * sizeof(*v));
	if (!v)
		die("malloc", -ENOMEM);
	for (uint32_t i = 0; i < n; i++)
		v[i] = bind(dev, first + i, answer_at_once, NULL);
	return v;
}

static void unbind_many(struct prqd_bond **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		unbind_one(v[i]);
	free(v);
}

/* Drain time with one bond on the device, then with a million others beside it. */
static double measure_drain_time_ratio(unsigned rounds)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 0, answer_at_once, NULL);
	drain_rounds(b, rounds / 10);
	double alone[RUNS], many[RUNS], ratio[RUNS];
	for (unsigned i = 0; i < RUNS; i++) {
		uint64_t t0 = wall_ns();
		drain_rounds(b, rounds);
		alone[i] = (double)(wall_ns() - t0);
	}
	struct prqd_bond **others = bind_many(dev, 1, ONE_MILLION);
	for (unsigned i = 0; i < RUNS; i++) {
		uint64_t t0 = wall_ns();
		drain_rounds(b, rounds);
		many[i] = (double)(wall_ns() - t0);
		ratio[i] = many[i] / alone[i];
	}
	unbind_many(others, ONE_MILLION);
	unbind_one(b);
	dev_remove(dev);
	world_close(&w);
	return median(ratio, RUNS);
}

static void callgrind_drain(unsigned rounds)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 0, answer_at_once, NULL);
	drain_rounds(b, 16);
	CALLGRIND_ZERO_STATS;
	CALLGRIND_START_INSTRUMENTATION;
	drain_rounds(b, rounds);
	CALLGRIND_STOP_INSTRUMENTATION;
	CALLGRIND_DUMP_STATS_AT("drain-1");
	struct prqd_bond **others = bind_many(dev, 1, ONE_MILLION);
	drain_rounds(b, 16);
	CALLGRIND_ZERO_STATS;
	CALLGRIND_START_INSTRUMENTATION;
	drain_rounds(b, rounds);
	CALLGRIND_STOP_INSTRUMENTATION;
	CALLGRIND_DUMP_STATS_AT("drain-1m");
	unbind_many(others, ONE_MILLION);
	unbind_one(b);
	dev_remove(dev);
	world_close(&w);
}

/* ---- memory per bond and per device; a million binds and unbinds ---------------------------- */

struct memory {
	double bytes_per_bond_1m, bytes_one_bond_device, bind_unbind_1m_cpu_s;
};

static void measure_memory(struct memory *out)
{
	out->bytes_per_bond_1m = 0;
	struct world w;
	world_open(&w, false);
	uint64_t before = atomic_load(&w.plat.live_bytes);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_bond *b = bind(dev, 1, answer_at_once, NULL);
	out->bytes_one_bond_device = (double)(atomic_load(&w.plat.live_bytes) - before);
	unbind_one(b);
	dev_remove(dev);

	double cpu[RUNS];
	for (unsigned i = 0; i < RUNS; i++) {
		dev = dev_add(&w, BENCH_RID, 32);
		uint64_t base = atomic_load(&w.plat.live_bytes);
		double c0 = cpu_s();
		struct prqd_bond **v = bind_many(dev, 1, ONE_MILLION);
		uint64_t peak = atomic_load(&w.plat.live_bytes);
		unbind_many(v, ONE_MILLION);
		cpu[i] = cpu_s() - c0;
		if (i == 0)
			out->bytes_per_bond_1m = (double)(peak - base) / ONE_MILLION;
		dev_remove(dev);
	}
	out->bind_unbind_1m_cpu_s = median(cpu, RUNS);
	world_close(&w);
}

/* Under callgrind: @n binds, then their unbinds (default flags), on a fresh device. */
static void callgrind_bind(uint32_t n)
{
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	unbind_many(bind_many(dev, 1, 64), 64); /* the device's first slabs and leaves */
	CALLGRIND_ZERO_STATS;
	CALLGRIND_START_INSTRUMENTATION;
	struct prqd_bond **v = bind_many(dev, 1, n);
	unbind_many(v, n);
	CALLGRIND_STOP_INSTRUMENTATION;
	CALLGRIND_DUMP_STATS_AT("bind-unbind");
	dev_remove(dev);
	world_close(&w);
}

/* ---- isolation: a drain beside slow handlers, against a whole-device flush ------------------ */

#define SLOW_HANDLER_NS 1000000u /* the unrelated bond's handler answers after 1 ms */
#define SLOW_GROUPS 16u
#define DRAIN_STEP_NS 2000u      /* the bench hardware's drain step takes 2 us */

struct slow_handler {
	struct world *w;
	struct prqd_group *held[SLOW_GROUPS];
	uint64_t due[SLOW_GROUPS];
	unsigned n, answered;
};

static int answer_later(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct slow_handler *s = cookie;
	(void)bond;
	if (s->n == SLOW_GROUPS)
		return PRQD_RESP_INVALID;
	s->held[s->n] = group;
	s->due[s->n] = atomic_load(&s->w->plat.sim_now_ns) + SLOW_HANDLER_NS;
	s->n++;
	return PRQD_RESP_DEFER;
}

/* At each relax (simulated time passing): answer what is due. */
static void slow_handler_tick(void *arg)
{
	struct slow_handler *s = arg;
	uint64_t now = atomic_load(&s->w->plat.sim_now_ns);
	for (unsigned i = 0; i < s->n; i++) {
		if (s->held[i] && now >= s->due[i]) {
			prqd_respond(s->held[i], PRQD_RESP_SUCCESS);
			s->held[i] = NULL;
			s->answered++;
		}
	}
}

/* Simulated time for the library's drain of one bond while another bond of the device holds
 * slow groups, against waiting for the whole device (the other bond's groups included) to
 * be answered, which is what a whole-device flush needs. Both from one start in one run. */
static double measure_isolation(void)
{
	struct world w;
	world_open(&w, true);
	w.ring->drain_delay_ns = DRAIN_STEP_NS;
	struct slow_handler slow = { .w = &w };
	w.plat.relax_hook = slow_handler_tick;
	w.plat.hook_arg = &slow;
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 64);
	struct prqd_bond *fast = bind(dev, 1, answer_at_once, NULL);
	struct prqd_bond *lazy = bind(dev, 2, answer_later, &slow);
	for (unsigned i = 0; i < SLOW_GROUPS; i++) {
		bench_ring_push(w.ring, bench_desc_word0(BENCH_RID, true, 2, (uint16_t)i, true, true,
							 false), 0x1000u * i);
		bench_ring_push(w.ring, bench_desc_word0(BENCH_RID, true, 1, (uint16_t)(100 + i),
							 true, true, false), 0x1000u * i);
	}
	prqd_iommu_process(w.io, 0);
	uint64_t start = atomic_load(&w.plat.sim_now_ns);
	int rc = prqd_drain(fast, 0, 0);
	if (rc < 0)
		die("isolation: prqd_drain", rc);
	uint64_t ours = atomic_load(&w.plat.sim_now_ns) - start;
	/* The flush: the same hardware step, then nothing until every group of the device is
	 * answered. */
	while (slow.answered < slow.n || atomic_load(&w.plat.sim_now_ns) - start < DRAIN_STEP_NS)
		bp_relax(&w.plat);
	uint64_t flush = atomic_load(&w.plat.sim_now_ns) - start;
	unbind_one(fast);
	unbind_one(lazy);
	dev_remove(dev);
	world_close(&w);
	return (double)flush / (double)(ours ? ours : 1);
}

/* ---- concurrency: process() while another thread binds, stops, drains, unbinds ------------- */

/*
 * The same library run (run_library: PUSH_BATCH one-request groups for PASID 1 of the first
 * device, then prqd_iommu_process(), again and again) timed alone and with a churn thread,
 * and the ratio taken run by run. The churn thread, as fast as the library lets it, binds a
 * PASID (1000 to 1999 in turn) of the first device (same_dev) or of a second one on the same
 * IOMMU (other_dev), stops it, drains it, and unbinds it with default flags (a second, full
 * drain), with nothing queued for those PASIDs: the control path's own cost to the consumer.
 * Both runs have the timed thread on the same CPU, and the churn thread has a CPU of its own
 * (pin_to(); where there is one: on a single CPU the two threads take turns and the figure
 * says nothing about the library).
 */

struct churn {
	struct prqd_dev *dev;
	int cpu; /* -1: not pinned */
	atomic_bool stop;
	uint64_t cycles;
};

/* Pin the calling thread to @cpu (-1: leave it). */
static void pin_to(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0)
		die("pthread_setaffinity_np", -rc);
}

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	pin_to(c->cpu);
	for (uint32_t pasid = 1000; !atomic_load(&c->stop); pasid = pasid == 1999 ? 1000 : pasid + 1) {
		struct prqd_bond *b;
		if (prqd_bind(c->dev, pasid, answer_at_once, NULL, &b) < 0)
			continue;
		prqd_stop(b, 0);
		prqd_drain(b, 0, 0);
		unbind_one(b);
		c->cycles++;
	}
	return NULL;
}

static double timed_library_run(struct world *w, uint64_t n)
{
	uint64_t t0 = wall_ns();
	run_library(w, 1, n);
	return (double)(wall_ns() - t0);
}

static double with_churn(struct world *w, struct prqd_dev *dev, int cpu, uint64_t n)
{
	struct churn c = { .dev = dev, .cpu = cpu };
	pthread_t t;
	if (pthread_create(&t, NULL, churn_thread, &c) != 0)
		die("pthread_create", -EAGAIN);
	double ns = timed_library_run(w, n);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	return ns;
}

static void measure_concurrency(uint64_t n, double *same_dev, double *other_dev)
{
	/* The first two CPUs this process may run on: the timed thread's and the churn's. */
	cpu_set_t saved;
	int cpus[2] = { -1, -1 };
	if (pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0)
		for (int cpu = 0, found = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
			if (CPU_ISSET(cpu, &saved))
				cpus[found++] = cpu;
	if (cpus[1] < 0)
		cpus[0] = -1;
	pin_to(cpus[0]);
	struct world w;
	world_open(&w, false);
	struct prqd_dev *dev = dev_add(&w, BENCH_RID, 32);
	struct prqd_dev *other = dev_add(&w, BENCH_RID + 8, 32);
	struct prqd_bond *b = bind(dev, 1, answer_at_once, NULL);
	run_library(&w, 1, n / 10);
	double same[RUNS], oth[RUNS];
	for (unsigned i = 0; i < RUNS; i++) {
		double alone = timed_library_run(&w, n);
		same[i] = alone / with_churn(&w, dev, cpus[1], n);
		alone = timed_library_run(&w, n);
		oth[i] = alone / with_churn(&w, other, cpus[1], n);
	}
	*same_dev = median(same, RUNS);
	*other_dev = median(oth, RUNS);
	unbind_one(b);
	dev_remove(dev);
	dev_remove(other);
	world_close(&w);
	if (cpus[0] >= 0)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
}

/* ---- VT-d: invalidation-queue doorbells per answered group ---------------------------------- */

#define BENCH_VTD_REG_IQT 0x88u /* Invalidation Queue Tail (VT-d §11.4.9.2) */

static struct {
	struct prqd_platform p;
	void (*write64)(void *user, uint64_t offset, uint64_t value);
	uint64_t iqt_writes;
} vtd_tap;

static void tap_write64(void *user, uint64_t offset, uint64_t value)
{
	if (offset == BENCH_VTD_REG_IQT)
		vtd_tap.iqt_writes++;
	vtd_tap.write64(user, offset, value);
}

static double measure_vtd_doorbells(unsigned groups)
{
	struct sim_world *sw;
	int rc = sim_world_new(NULL, 1, NULL, &sw);
	if (rc < 0)
		die("sim_world_new", rc);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	if ((rc = sim_vtd_configure(sw, &vc)) < 0)
		die("sim_vtd_configure", rc);
	vtd_tap.p = *sim_world_platform(sw);
	vtd_tap.write64 = vtd_tap.p.mmio_write64;
	vtd_tap.p.mmio_write64 = tap_write64;
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &vtd_tap.p,
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	if ((rc = prqd_ctx_new(&co, &ctx)) < 0)
		die("prqd_ctx_new", rc);
	if ((rc = prqd_iommu_open(ctx, "vtd", NULL, &io)) < 0)
		die("prqd_iommu_open vtd", rc);
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.capacity = groups;
	struct sim_dev *sd;
	if ((rc = sim_dev_add(sw, &dc, &sd)) < 0)
		die("sim_dev_add", rc);
	struct prqd_dev_info info;
	sim_dev_info(sd, &info);
	struct prqd_dev *dev;
	if ((rc = prqd_dev_add(io, &info, &dev)) < 0)
		die("prqd_dev_add", rc);
	struct prqd_bond *b;
	if ((rc = prqd_bind(dev, 1, answer_at_once, NULL, &b)) < 0)
		die("prqd_bind", rc);
	for (unsigned i = 0; i < groups; i++)
		if ((rc = sim_dev_fault(sd, 1, 0x100000u + 0x1000u * i, 1, SIM_R)) < 0)
			die("sim_dev_fault", rc);
	sim_run_until(sw, sim_now(sw) + 100000);
	struct prqd_stats before, after;
	prqd_iommu_stats(io, &before, sizeof(before));
	uint64_t iqt0 = vtd_tap.iqt_writes;
	prqd_iommu_process(io, 0);
	uint64_t rings = vtd_tap.iqt_writes - iqt0;
	prqd_iommu_stats(io, &after, sizeof(after));
	uint64_t answered = after.responses[PRQD_RESP_SUCCESS] - before.responses[PRQD_RESP_SUCCESS];
	if (answered != groups)
		die("vtd: not every group answered in one process() call", -EPROTO);
	prqd_unbind(b, PRQD_UNBIND_NO_DRAIN);
	dev_remove(dev);
	prqd_iommu_close(io);
	prqd_ctx_unref(ctx);
	sim_world_free(sw);
	return (double)rings / (double)answered;
}

/* ---- the simulator: requests per second through prqdrain-sim's workload --------------------- */

static double measure_sim(const char *backend, uint64_t requests)
{
	struct scn_workload wl;
	scn_workload_default(&wl);
	wl.requests = requests;
	struct scn *s;
	int rc = scn_generate(&wl, &s);
	if (rc < 0)
		die("scn_generate", rc);
	struct scn_run_opts ro = { .backend = backend };
	double rate[RUNS];
	for (unsigned i = 0; i < RUNS; i++) {
		struct scn_result res;
		uint64_t t0 = wall_ns();
		rc = scn_run(s, &ro, &res);
		uint64_t t1 = wall_ns();
		if (rc < 0 || !scn_result_passed(&res))
			die("simulated workload failed", rc < 0 ? rc : -EPROTO);
		rate[i] = (double)res.traffic.requests / ((double)(t1 - t0) / 1e9);
	}
	scn_free(s);
	return median(rate, RUNS);
}

/* Wall seconds for @n one-shot generators (one 1-page group each, all due at 0) on one
 * device of capacity 32: most of them wait for credit, so the simulator's retries decide
 * how this scales. */
static double measure_oneshot_generators(unsigned n)
{
	static const char head[] = "seed 1\n"
				   "device gpu rid=01:00.0 capacity=32 pasid-width=20\n"
				   "bind r gpu pasid=1 handler=success\n";
	static const char line[] = "at 0 fault r pages=1 count=1\n";
	size_t len = sizeof(head) - 1 + (size_t)n * (sizeof(line) - 1);
	char *text = malloc(len + 1);
	if (!text)
		die("malloc", -ENOMEM);
	char *p = text;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	for (unsigned i = 0; i < n; i++, p += sizeof(line) - 1)
		memcpy(p, line, sizeof(line) - 1);
	struct scn *s;
	char err[256];
	int rc = scn_parse(text, len, "oneshot", &s, err, sizeof(err));
	free(text);
	if (rc < 0) {
		fprintf(stderr, "prqdrain-bench: %s\n", err);
		exit(2);
	}
	double secs[RUNS];
	for (unsigned i = 0; i < RUNS; i++) {
		struct scn_result res;
		uint64_t t0 = wall_ns();
		rc = scn_run(s, NULL, &res);
		secs[i] = (double)(wall_ns() - t0) / 1e9;
		if (rc < 0 || !scn_result_passed(&res) || res.traffic.groups != n)
			die("one-shot generators: run failed", rc < 0 ? rc : -EPROTO);
	}
	scn_free(s);
	return median(secs, RUNS);
}

/* ---- output ----------------------------------------------------------------------------------- */

struct figure {
	const char *key;
	const char *what;
	const char *target;
	double value;
	const char *fmt;
};

/* A figure whose measurement --only left out has value NAN and is not printed. */
static void print_table(const struct figure *f, unsigned n)
{
	printf("%-62s %14s  %s\n", "figure", "measured", "target");
	for (unsigned i = 0; i < n; i++) {
		if (isnan(f[i].value))
			continue;
		char v[32];
		snprintf(v, sizeof(v), f[i].fmt, f[i].value);
		printf("%-62s %14s  %s\n", f[i].what, v, f[i].target);
	}
}

static void print_json(const struct figure *f, unsigned n)
{
	printf("{");
	bool first = true;
	for (unsigned i = 0; i < n; i++) {
		if (isnan(f[i].value))
			continue;
		printf("%s\"%s\": %.6g", first ? "" : ", ", f[i].key, f[i].value);
		first = false;
	}
	printf("}\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: prqdrain-bench [--json] [--requests N] [--quick] [--only PARTS]\n"
		   "       prqdrain-bench --callgrind-fastpath N | --callgrind-drain ROUNDS |\n"
		   "                      --callgrind-bind N\n"
		   "Prints what the library costs (table, or one JSON object with --json).\n"
		   "--only runs some measurements: a comma-separated list of fastpath, drain,\n"
		   "  memory, isolation, concurrency, doorbells, sim, oneshot.\n"
		   "--callgrind-* run one measured section for bench/callgrind.sh.\n");
}

static const char *const parts[] = { "fastpath",    "drain",     "memory", "isolation",
				     "concurrency", "doorbells", "sim",    "oneshot" };

/* Whether @part is in the comma-separated @only (NULL: everything). */
static bool wanted(const char *only, const char *part)
{
	if (!only)
		return true;
	size_t len = strlen(part);
	for (const char *p = only; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && !strncmp(p, part, len))
			return true;
		p += n + (end != NULL);
	}
	return false;
}

/* Every name in @only is a part: 0, or -EINVAL after saying which is not. */
static int check_only(const char *only)
{
	for (const char *p = only; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		bool known = false;
		for (unsigned i = 0; i < PRQD_ARRAY_SIZE(parts); i++)
			known |= strlen(parts[i]) == n && !strncmp(p, parts[i], n);
		if (!known) {
			fprintf(stderr, "prqdrain-bench: --only: unknown part '%.*s'\n", (int)n, p);
			return -EINVAL;
		}
		p += n + (end != NULL);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "requests", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "only", required_argument, NULL, 'o' },
		{ "callgrind-fastpath", required_argument, NULL, 'F' },
		{ "callgrind-drain", required_argument, NULL, 'D' },
		{ "callgrind-bind", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, quick = false;
	const char *only = NULL;
	uint64_t n = 2000000;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'q': quick = true; break;
		case 'o': only = optarg; break;
		case 'F': callgrind_fastpath(strtoull(optarg, NULL, 0)); return 0;
		case 'D': callgrind_drain((unsigned)strtoul(optarg, NULL, 0)); return 0;
		case 'B': callgrind_bind((uint32_t)strtoul(optarg, NULL, 0)); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || n == 0) {
		usage(stderr);
		return 2;
	}
	if (only && check_only(only))
		return 2;

	struct fastpath fp = { NAN, NAN, NAN, NAN };
	if (wanted(only, "fastpath"))
		measure_fastpath(n, &fp);
	double allocs_per_drain = NAN, drain_ratio = NAN;
	if (wanted(only, "drain")) {
		allocs_per_drain = measure_allocs_per_drain(1000);
		drain_ratio = measure_drain_time_ratio(quick ? 200 : 2000);
	}
	struct memory mem = { NAN, NAN, NAN };
	if (wanted(only, "memory"))
		measure_memory(&mem);
	double isolation = wanted(only, "isolation") ? measure_isolation() : NAN;
	double same_dev = NAN, other_dev = NAN;
	if (wanted(only, "concurrency"))
		measure_concurrency(n / 4, &same_dev, &other_dev);
	double doorbells = wanted(only, "doorbells") ? measure_vtd_doorbells(32) : NAN;
	double sim_rate = NAN, vtd_rate = NAN;
	if (wanted(only, "sim")) {
		sim_rate = measure_sim("sim", quick ? 20000 : 200000);
		vtd_rate = measure_sim("vtd", quick ? 20000 : 100000);
	}
	double oneshot = wanted(only, "oneshot")
				 ? measure_oneshot_generators(quick ? 20000 : 200000)
				 : NAN;

	const struct figure figs[] = {
		{ "ns_per_req", "library ns per request (1-request groups, sync handler)", "<= 40",
		  fp.ns_per_req, "%.1f" },
		{ "req_per_s", "library requests per second, one core", ">= 25e6",
		  1e9 / fp.ns_per_req, "%.3g" },
		{ "bare_loop_ns_per_req", "bare loop ns per request (same ring)", "-",
		  fp.bare_ns_per_req, "%.1f" },
		{ "ratio_to_bare_loop", "ratio to the bare loop (same run)", "<= 4",
		  fp.ratio, "%.1f" },
		{ "allocs_per_req", "heap allocations per request", "0", fp.allocs_per_req,
		  "%.3g" },
		{ "allocs_per_drain", "heap allocations per drain round", "0", allocs_per_drain,
		  "%.3g" },
		{ "bytes_per_bond_1m", "bytes per bond at 1M bonds", "<= 128",
		  mem.bytes_per_bond_1m, "%.1f" },
		{ "bytes_one_bond_device", "bytes of a device (capacity 32) with one bond",
		  "<= 2048", mem.bytes_one_bond_device, "%.0f" },
		{ "bind_unbind_1m_cpu_s", "1M bind + unbind (default flags) CPU seconds", "<= 0.25",
		  mem.bind_unbind_1m_cpu_s, "%.3f" },
		{ "drain_time_ratio_1m_vs_1", "drain time with 1M vs 1 other bonds", "<= 1.05",
		  drain_ratio, "%.2f" },
		{ "isolation_ratio", "drain beside 1 ms handlers: flush / ours (sim time)",
		  ">= 100", isolation, "%.0f" },
		{ "concurrency_ratio_same_dev", "process() with bind/drain/unbind, same device",
		  ">= 0.9", same_dev, "%.2f" },
		{ "concurrency_ratio_other_dev", "process() with bind/drain/unbind, other device",
		  ">= 0.95", other_dev, "%.2f" },
		{ "vtd_doorbells_per_group", "VT-d IQ tail writes per group (32 in one batch)",
		  "1/batch", doorbells, "%.3f" },
		{ "sim_req_per_s", "simulator requests/s (sim backend)", ">= 5e6", sim_rate,
		  "%.3g" },
		{ "vtd_model_req_per_s", "simulator requests/s (vtd model)", ">= 2e6", vtd_rate,
		  "%.3g" },
		{ "sim_oneshot_generators_s", "simulator: 200000 one-shot generators (--quick 20000), s",
		  "<= 5", oneshot, "%.2f" },
	};
	if (json)
		print_json(figs, PRQD_ARRAY_SIZE(figs));
	else
		print_table(figs, PRQD_ARRAY_SIZE(figs));
	return 0;
}
