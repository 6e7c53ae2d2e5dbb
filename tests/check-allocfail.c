/* SPDX-License-Identifier: MIT */
/*
 * check-allocfail: the allocation-failure sweep.
 *
 * One deterministic workload (context, IOMMU, two devices, bonds on several PASIDs including
 * ones that need new PASID-table leaves, traffic, deferred answers, drains, a stop-marker
 * unbind, an overflow, a device-wide drain, a drain step abandoned by a forced unbind,
 * unbinds, removal, close) runs once to count its allocation attempts N. Then, for every n in
 * 1..N, it runs again with the n-th attempt failing. Every call must return 0 or a clean
 * negative errno from a short list; the harness cleans up whatever was created; at the end
 * no allocation is live, every free had the size of its allocation, and every page request
 * group pushed got exactly one response.
 *
 * The same sweep runs without platform locks (the freestanding, single-threaded embedding),
 * where the core allocates no lock objects.
 *
 * Beyond the core, the same way (count, then fail each allocation in turn):
 *  - the vtd backend on the simulator's register-level VT-d model: open, a device, bonds,
 *    traffic, a drain, unbinds, close, with every allocation and DMA allocation of the core
 *    and the backend failing in turn, and every lock_init; the model's checker must then find
 *    every group answered once and nothing of the library left;
 *  - the Linux helpers, through their allocation hook (lib/linux/alloc.h): prqd_pci_open() on
 *    a fixture dump with a slot match and prqd_pci_dev_info(), and the uevent monitor's set-up
 *    (new, a registry that grows twice) with datagrams fed through it.
 * Each failure must come back as a clean negative errno and leave nothing allocated.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "lib/linux/alloc.h"
#include "prqdrain-uevent.h"
#include "tests/testutil.h"
#include "tests/check-main.h"
#if HAVE_LIBPCI
#include "prqdrain-pci.h"
#endif

#define RID_A 0x0100
#define RID_B 0x0200
#define MAX_TAGS 256

enum { B_P1, B_P2, B_P3, B_P5000, B_PMAX, B_RID, NBONDS };
static const uint32_t bond_pasid[NBONDS] = { 1, 2, 3, 5000, (1u << 20) - 1, PRQD_NO_PASID };

struct wl {
	struct test_platform tp;
	struct prqd_ctx *ctx;
	struct prqd_iommu *iommu;
	struct test_iommu *t;
	struct prqd_dev *dev_a, *dev_b;
	struct prqd_bond *b[NBONDS];
	struct rec rec;
	uint64_t tags[MAX_TAGS];
	unsigned ntags;
	uint64_t fail_at; /* 0: none */
	unsigned steps;   /* calls checked */
};

/* rc must be 0 or one of the listed errors (terminated by 0). */
static int expect(struct wl *w, const char *what, int rc, ...)
{
	w->steps++;
	if (rc == 0)
		return 0;
	va_list ap;
	va_start(ap, rc);
	for (int ok; (ok = va_arg(ap, int)) != 0;) {
		if (rc == ok) {
			va_end(ap);
			return rc;
		}
	}
	va_end(ap);
	ck_abort_msg("allocation %llu failing: %s returned %d", (unsigned long long)w->fail_at,
		     what, rc);
	return rc;
}

static struct prqd_dev_info info_of(uint16_t rid, uint8_t width)
{
	struct prqd_dev_info info = tw_info(rid);
	info.pasid_width = width;
	info.pri_capacity = 32;
	return info;
}

static struct prqd_dev *dev_of(struct wl *w, unsigned i)
{
	return bond_pasid[i] == PRQD_NO_PASID ? w->dev_b : w->dev_a;
}

/* Push a group for bond slot @i (whether or not it is bound) and remember its Last. */
static void traffic(struct wl *w, unsigned i, uint16_t index, unsigned n)
{
	uint16_t rid = bond_pasid[i] == PRQD_NO_PASID ? RID_B : RID_A;
	uint64_t tag = tq_group(w->t, rid, bond_pasid[i], index, n, 0x10000ull * (i + 1));
	ck_assert_uint_lt(w->ntags, MAX_TAGS);
	w->tags[w->ntags++] = tag;
}

static void push_all(struct wl *w, uint16_t index)
{
	for (unsigned i = 0; i < NBONDS; i++)
		traffic(w, i, index, 1 + i % 3);
	/* A PASID nobody bound, and a requester nobody added. */
	uint64_t tag = tq_group(w->t, RID_A, 77, index, 2, 0x7000);
	w->tags[w->ntags++] = tag;
	tag = tq_group(w->t, 0x0300, 1, index, 1, 0x8000);
	w->tags[w->ntags++] = tag;
}

static void process(struct wl *w)
{
	int n = prqd_iommu_process(w->iommu, 0);
	ck_assert_int_ge(n, 0);
}

static void unbind_slot(struct wl *w, unsigned i, unsigned flags)
{
	if (!w->b[i])
		return;
	int rc = expect(w, "prqd_unbind", prqd_unbind(w->b[i], flags), -ENOMEM, -ETIMEDOUT, 0);
	if (rc < 0) {
		/* The bond stays alive and STOPPING; surprise-removal style cleanup can't fail. */
		ck_assert_int_eq(prqd_bond_state(w->b[i]), PRQD_BOND_STOPPING);
		ck_assert_int_eq(prqd_unbind(w->b[i], PRQD_UNBIND_FORCE), 0);
	}
	w->b[i] = NULL;
}

/* The workload; returns with everything released (or asserts). */
static void workload(struct wl *w, unsigned tp_flags, uint64_t fail_at, uint64_t lock_fail_at)
{
	memset(w, 0, sizeof(*w));
	tp_init(&w->tp, tp_flags);
	w->tp.lock_fail_at = lock_fail_at;
	rec_init(&w->rec, PRQD_RESP_SUCCESS);
	w->rec.defer_every = 3;
	w->fail_at = fail_at;
	if (fail_at)
		tp_fail_nth(&w->tp, fail_at);

	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &w->tp.p,
				   .flags = PRQD_CTX_IGNORE_ENV };
	if (expect(w, "prqd_ctx_new", prqd_ctx_new(&o, &w->ctx), -ENOMEM, 0) < 0)
		goto out;
	ck_assert_int_eq(prqd_ctx_set_param(w->ctx, "core.fetch_batch", "4"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(w->ctx, "core.pool_slack", "8"), 0);
	if (expect(w, "iommu open",
		   prqd__iommu_open_backend(w->ctx, &test_backend, NULL, &w->iommu), -ENOMEM,
		   -EAGAIN, 0) < 0)
		goto out_ctx;
	w->t = tb_of(w->iommu);

	struct prqd_dev_info ia = info_of(RID_A, 20), ib = info_of(RID_B, 0);
	expect(w, "dev_add A", prqd_dev_add(w->iommu, &ia, &w->dev_a), -ENOMEM, -EAGAIN, 0);
	expect(w, "dev_add B", prqd_dev_add(w->iommu, &ib, &w->dev_b), -ENOMEM, -EAGAIN, 0);
	for (unsigned i = 0; i < NBONDS; i++) {
		struct prqd_dev *d = dev_of(w, i);
		if (!d)
			continue;
		int rc = expect(w, "prqd_bind",
				prqd_bind(d, bond_pasid[i], rec_handler, &w->rec, &w->b[i]),
				-ENOMEM, 0);
		if (rc < 0)
			w->b[i] = NULL;
	}

	/* Traffic, some of it held by the handler, and a partial of P2. */
	push_all(w, 1);
	tq_push(w->t, rq(RID_A, 2, 9, false, 0x9000));
	process(w);
	struct prqd_group *g = rec_pop_deferred(&w->rec);
	if (g)
		ck_assert_int_eq(prqd_respond(g, PRQD_RESP_SUCCESS), 0);

	/* Drain and resume one bond. */
	if (w->b[B_P2]) {
		int rc = expect(w, "prqd_drain", prqd_drain(w->b[B_P2], 0, 0), -ENOMEM, 0);
		if (rc == 0)
			ck_assert_int_eq(prqd_resume(w->b[B_P2]), 0);
		else
			ck_assert_int_eq(prqd_bond_state(w->b[B_P2]), PRQD_BOND_STOPPING);
	}
	/* Stop-marker unbind; the marker is in the queue already. */
	if (w->b[B_P3]) {
		tq_push(w->t, rq_marker(RID_A, 3, 0));
		unbind_slot(w, B_P3, PRQD_UNBIND_STOP_MARKER);
	}
	/* An overflow with partials around. */
	tq_push(w->t, rq(RID_A, 1, 10, false, 0xa000));
	tq_raise_overflow(w->t);
	push_all(w, 2);
	process(w);
	ck_assert(!w->t->overflow);

	/* Device-wide drain and resume (answering what the handler holds meanwhile). */
	rec_answer_all(&w->rec, PRQD_RESP_SUCCESS);
	if (w->dev_a) {
		int rc = expect(w, "prqd_dev_drain", prqd_dev_drain(w->dev_a, 0, 0), -ENOMEM, 0);
		int rr = prqd_dev_resume(w->dev_a);
		bool any = false;
		for (unsigned i = 0; i < NBONDS; i++)
			any |= w->b[i] && dev_of(w, i) == w->dev_a;
		if (rc == 0 || !any)
			ck_assert_int_eq(rr, 0);
		else
			ck_assert_int_eq(rr, -EINVAL); /* its bonds are STOPPING */
		/* Bonds left STOPPING by a failed drain are drained one by one. */
		for (unsigned i = 0; i < NBONDS; i++)
			if (w->b[i] && prqd_bond_state(w->b[i]) == PRQD_BOND_STOPPING &&
			    expect(w, "prqd_drain", prqd_drain(w->b[i], 0, 0), -ENOMEM, 0) == 0)
				ck_assert_int_eq(prqd_resume(w->b[i]), 0);
	}

	/* A drain step the hardware never finishes, abandoned by a forced unbind. */
	if (w->b[B_P5000]) {
		w->t->drain_mode = TD_NEVER;
		w->t->release_busy = true;
		expect(w, "prqd_drain (never)", prqd_drain(w->b[B_P5000], 0, 1), -ETIMEDOUT, -ENOMEM,
		       0);
		ck_assert_int_eq(prqd_unbind(w->b[B_P5000], PRQD_UNBIND_FORCE), 0);
		w->b[B_P5000] = NULL;
		process(w);
		w->t->drain_mode = TD_COMPLETE;
		w->t->release_busy = false;
		process(w); /* the abandoned step completes and is freed */
	}

	push_all(w, 3);
	process(w);
	rec_answer_all(&w->rec, PRQD_RESP_INVALID);

	/* Unbind the rest: the usual way, forced when that fails. */
	for (unsigned i = 0; i < NBONDS; i++)
		unbind_slot(w, i, 0);
	rec_answer_all(&w->rec, PRQD_RESP_SUCCESS); /* late: -EALREADY, released */
	process(w);

	/* Exactly one response per group pushed, whatever failed. */
	ck_assert_uint_eq(tq_pending(w->t), 0);
	for (unsigned i = 0; i < w->ntags; i++)
		ck_assert_msg(tl_count_tag(w->t, w->tags[i]) == 1,
			      "allocation %llu failing: group %u (tag %llu) answered %u times",
			      (unsigned long long)fail_at, i, (unsigned long long)w->tags[i],
			      tl_count_tag(w->t, w->tags[i]));
	ck_assert_uint_eq(tl_count(w->t), w->ntags);

	if (w->dev_a)
		ck_assert_int_eq(prqd_dev_remove(w->dev_a), 0);
	if (w->dev_b)
		ck_assert_int_eq(prqd_dev_remove(w->dev_b), 0);
	ck_assert_uint_eq(w->t->attached, w->t->detached);
	ck_assert_int_eq(prqd_iommu_close(w->iommu), 0);
out_ctx:
	ck_assert_ptr_null(prqd_ctx_unref(w->ctx));
out:
	ck_assert_msg(w->tp.live == 0, "allocation %llu failing: %llu allocations leaked",
		      (unsigned long long)fail_at, (unsigned long long)w->tp.live);
	ck_assert_uint_eq(w->tp.bad_frees, 0);
	ck_assert_uint_eq(w->tp.failed, fail_at ? 1 : 0);
	ck_assert_uint_eq(w->tp.locks_live, 0);
	if (lock_fail_at)
		ck_assert_uint_ge(w->tp.lock_inits, lock_fail_at);
	rec_fini(&w->rec);
	tp_fini(&w->tp);
}

static void sweep(unsigned tp_flags)
{
	static struct wl w;
	workload(&w, tp_flags, 0, 0);
	uint64_t n = w.tp.attempts;
	uint64_t nlocks = w.tp.lock_inits;
	unsigned steps = w.steps;
	/* Sanity: the workload is what it claims to be. */
	ck_assert_uint_ge(n, 20);
	ck_assert_uint_ge(steps, 15);
	fprintf(stderr, "allocfail%s: %llu allocations per run, sweeping\n",
		tp_flags & TP_NO_LOCKS ? " (no locks)" : "", (unsigned long long)n);
	for (uint64_t i = 1; i <= n; i++)
		workload(&w, tp_flags, i, 0);
	/* The platform's lock_init failing, each in turn. */
	ck_assert_uint_eq(nlocks, tp_flags & TP_NO_LOCKS ? 0 : 6);
	for (uint64_t i = 1; i <= nlocks; i++)
		workload(&w, tp_flags, 0, i);
	/* Deterministic: a clean run allocates the same again. */
	workload(&w, tp_flags, 0, 0);
	ck_assert_uint_eq(w.tp.attempts, n);
}

START_TEST(sweep_locks)
{
	sweep(0);
}
END_TEST

START_TEST(sweep_no_locks)
{
	sweep(TP_NO_LOCKS);
}
END_TEST

/* The core without platform locks allocates no lock objects: fewer allocations. */
START_TEST(no_locks_allocates_less)
{
	static struct wl w;
	workload(&w, 0, 0, 0);
	uint64_t with = w.tp.attempts;
	workload(&w, TP_NO_LOCKS, 0, 0);
	uint64_t without = w.tp.attempts;
	/* iommu: queue + abandoned-step locks; two devices: a device lock and a gate lock each. */
	ck_assert_uint_eq(with - without, 6);
}
END_TEST

#if PRQD_HAVE_BACKEND_VTD && PRQD_HAVE_BACKEND_SIM /* the vtd backend on the VT-d model */
/* ---- the vtd backend on the VT-d model ------------------------------------------------------ */

/* The world's platform, with every allocation (plain and DMA) counted and one of them failing,
 * and single-threaded locks that check their own use. */
struct vtd_plat {
	struct prqd_platform p;            /* what the library sees */
	const struct prqd_platform *world; /* the simulated world's own table */
	uint64_t attempts, fail_at, failed;
	uint64_t lock_inits, lock_fail_at, locks_live;
};

#define VLOCK_FREE 0x10c4f3e3u
#define VLOCK_HELD 0x10c4be1du

static bool vplat_refuse(struct vtd_plat *vp)
{
	if (++vp->attempts != vp->fail_at)
		return false;
	vp->failed++;
	return true;
}

static void *vplat_alloc(void *user, size_t size)
{
	struct vtd_plat *vp = user;
	return vplat_refuse(vp) ? NULL : vp->world->alloc(vp->world->user, size);
}

static void vplat_free(void *user, void *ptr, size_t size)
{
	struct vtd_plat *vp = user;
	vp->world->free(vp->world->user, ptr, size);
}

static int vplat_dma_alloc(void *user, size_t size, size_t align, void **va, uint64_t *bus)
{
	struct vtd_plat *vp = user;
	if (vplat_refuse(vp))
		return -ENOMEM;
	return vp->world->dma_alloc(vp->world->user, size, align, va, bus);
}

static void vplat_dma_free(void *user, void *va, size_t size)
{
	struct vtd_plat *vp = user;
	vp->world->dma_free(vp->world->user, va, size);
}

static uint64_t vplat_now(void *user)
{
	struct vtd_plat *vp = user;
	return vp->world->now_ns(vp->world->user);
}

static void vplat_relax(void *user)
{
	struct vtd_plat *vp = user;
	vp->world->relax(vp->world->user);
}

static uint32_t vplat_read32(void *user, uint64_t off)
{
	struct vtd_plat *vp = user;
	return vp->world->mmio_read32(vp->world->user, off);
}

static uint64_t vplat_read64(void *user, uint64_t off)
{
	struct vtd_plat *vp = user;
	return vp->world->mmio_read64(vp->world->user, off);
}

static void vplat_write32(void *user, uint64_t off, uint32_t v)
{
	struct vtd_plat *vp = user;
	vp->world->mmio_write32(vp->world->user, off, v);
}

static void vplat_write64(void *user, uint64_t off, uint64_t v)
{
	struct vtd_plat *vp = user;
	vp->world->mmio_write64(vp->world->user, off, v);
}

static int vplat_lock_init(void *user, void *lock)
{
	struct vtd_plat *vp = user;
	if (++vp->lock_inits == vp->lock_fail_at)
		return -EAGAIN;
	*(uint32_t *)lock = VLOCK_FREE;
	vp->locks_live++;
	return 0;
}

static void vplat_lock_destroy(void *user, void *lock)
{
	struct vtd_plat *vp = user;
	ck_assert_uint_eq(*(uint32_t *)lock, VLOCK_FREE);
	*(uint32_t *)lock = 0;
	vp->locks_live--;
}

/* One thread: taking a held lock would be a deadlock, releasing a free one a bug. */
static void vplat_lock(void *user, void *lock)
{
	ck_assert_uint_eq(*(uint32_t *)lock, VLOCK_FREE);
	*(uint32_t *)lock = VLOCK_HELD;
}

static void vplat_unlock(void *user, void *lock)
{
	ck_assert_uint_eq(*(uint32_t *)lock, VLOCK_HELD);
	*(uint32_t *)lock = VLOCK_FREE;
}

static void vplat_init(struct vtd_plat *vp, struct sim_world *w, uint64_t fail_at,
		       uint64_t lock_fail_at)
{
	memset(vp, 0, sizeof(*vp));
	vp->world = sim_world_platform(w);
	vp->fail_at = fail_at;
	vp->lock_fail_at = lock_fail_at;
	vp->p = *vp->world;
	vp->p.size = sizeof(vp->p);
	vp->p.user = vp;
	vp->p.alloc = vplat_alloc;
	vp->p.free = vplat_free;
	vp->p.now_ns = vplat_now;
	vp->p.relax = vplat_relax;
	vp->p.lock_size = sizeof(uint32_t);
	vp->p.lock_init = vplat_lock_init;
	vp->p.lock_destroy = vplat_lock_destroy;
	vp->p.lock = vplat_lock;
	vp->p.unlock = vplat_unlock;
	vp->p.mmio_read32 = vplat_read32;
	vp->p.mmio_read64 = vplat_read64;
	vp->p.mmio_write32 = vplat_write32;
	vp->p.mmio_write64 = vplat_write64;
	vp->p.dma_alloc = vplat_dma_alloc;
	vp->p.dma_free = vplat_dma_free;
	vp->p.backend_data = NULL;
}

static int answer_success(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	return PRQD_RESP_SUCCESS;
}

/* Faults of the three bonds' PASIDs, delivered and answered. */
static void vtd_traffic(struct sim_world *w, struct prqd_iommu *io, struct sim_dev *sd,
			uint64_t base)
{
	static const uint32_t pasids[] = { 1, 2, PRQD_NO_PASID };
	for (unsigned k = 0; k < 9; k++) {
		int rc = sim_dev_fault(sd, pasids[k % 3], base + k * 0x4000ull, 1 + k % 2, SIM_R);
		ck_assert(rc == 0 || rc == -EAGAIN);
	}
	sim_run_until(w, sim_now(w) + 20000);
	ck_assert_int_ge(prqd_iommu_process(io, 0), 0);
}

struct vtd_run {
	uint64_t fail_at;
	struct vtd_plat vp;
	unsigned steps;
};

static int vexpect(struct vtd_run *r, const char *what, int rc, int ok1, int ok2)
{
	r->steps++;
	ck_assert_msg(rc == 0 || rc == ok1 || rc == ok2, "vtd, allocation %llu failing: %s returned %d",
		      (unsigned long long)r->fail_at, what, rc);
	return rc;
}

static void vtd_unbind(struct vtd_run *r, struct prqd_bond **b)
{
	if (!*b)
		return;
	if (vexpect(r, "prqd_unbind", prqd_unbind(*b, 0), -ENOMEM, -ETIMEDOUT) < 0)
		ck_assert_int_eq(prqd_unbind(*b, PRQD_UNBIND_FORCE), 0);
	*b = NULL;
}

static void vtd_workload(struct vtd_run *r, uint64_t fail_at, uint64_t lock_fail_at)
{
	struct sim_world *w;
	struct sim_vtd_config vc;
	struct sim_dev_cfg dc;
	struct sim_dev *sd;
	struct prqd_ctx *ctx = NULL;
	struct prqd_iommu *io = NULL;
	struct prqd_dev *dev = NULL;
	struct prqd_bond *b[3] = { NULL, NULL, NULL };
	static const uint32_t pasids[3] = { 1, 2, PRQD_NO_PASID };

	memset(r, 0, sizeof(*r));
	r->fail_at = fail_at;
	ck_assert_int_eq(sim_world_new(NULL, 11, NULL, &w), 0);
	sim_vtd_config_default(&vc);
	ck_assert_int_eq(sim_vtd_configure(w, &vc), 0);
	vplat_init(&r->vp, w, fail_at, lock_fail_at);
	sim_dev_cfg_default(&dc);
	dc.rid = RID_A;
	dc.capacity = 32;
	dc.pasid_width = 20;
	ck_assert_int_eq(sim_dev_add(w, &dc, &sd), 0);

	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &r->vp.p,
				   .flags = PRQD_CTX_IGNORE_ENV };
	if (vexpect(r, "prqd_ctx_new", prqd_ctx_new(&o, &ctx), -ENOMEM, -ENOMEM) < 0)
		goto out;
	if (vexpect(r, "prqd_iommu_open(vtd)", prqd_iommu_open(ctx, "vtd", NULL, &io), -ENOMEM,
		    -EAGAIN) < 0)
		goto out_ctx;
	struct prqd_dev_info info;
	sim_dev_info(sd, &info);
	if (vexpect(r, "prqd_dev_add", prqd_dev_add(io, &info, &dev), -ENOMEM, -EAGAIN) < 0)
		dev = NULL;
	for (unsigned i = 0; dev && i < 3; i++)
		if (vexpect(r, "prqd_bind", prqd_bind(dev, pasids[i], answer_success, NULL, &b[i]),
			    -ENOMEM, -ENOMEM) < 0)
			b[i] = NULL;

	vtd_traffic(w, io, sd, 0x100000);
	/* The §7.10 drain: fence, invalidations, page-drain wait, through the model. */
	if (b[0]) {
		int rc = vexpect(r, "prqd_drain", prqd_drain(b[0], 0, 50), -ENOMEM, -ENOMEM);
		if (rc == 0)
			ck_assert_int_eq(prqd_resume(b[0]), 0);
		else
			ck_assert_int_eq(prqd_bond_state(b[0]), PRQD_BOND_STOPPING);
	}
	vtd_traffic(w, io, sd, 0x200000);
	for (unsigned i = 0; i < 3; i++)
		vtd_unbind(r, &b[i]);
	/* What is still on its way in is answered before the device goes. */
	sim_run_until(w, sim_now(w) + 50000);
	ck_assert_int_ge(prqd_iommu_process(io, 0), 0);
	sim_run_until(w, sim_now(w) + 50000);
	if (!fail_at && !lock_fail_at) {
		/* The clean run is the workload it claims to be. */
		struct prqd_stats st;
		ck_assert_int_eq(prqd_iommu_stats(io, &st, sizeof(st)), 0);
		ck_assert_uint_ge(st.drain_steps, 1);
		ck_assert_uint_ge(st.requests, 18);
		ck_assert_uint_ge(st.by[PRQD_BY_HANDLER], 12);
	}
	if (dev)
		ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
out_ctx:
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
out:
	sim_run_until(w, sim_now(w) + 50000);
	sim_check_finish(w);
	for (unsigned i = 0; i < sim_violation_total(w); i++) {
		const struct sim_violation *v = sim_violation_get(w, i);
		fprintf(stderr, "vtd, allocation %llu failing: %s: %s\n",
			(unsigned long long)fail_at, sim_violation_name(v->kind), v->detail);
	}
	ck_assert_uint_eq(sim_violation_total(w), 0);
	struct sim_alloc_stats as;
	sim_alloc_stats(w, &as);
	ck_assert_msg(as.live == 0 && as.live_bytes == 0,
		      "vtd, allocation %llu failing: %llu allocations (%llu bytes) leaked",
		      (unsigned long long)fail_at, (unsigned long long)as.live,
		      (unsigned long long)as.live_bytes);
	ck_assert_uint_eq(r->vp.failed, fail_at ? 1 : 0);
	ck_assert_uint_eq(r->vp.locks_live, 0);
	sim_world_free(w);
}

START_TEST(sweep_vtd)
{
	static struct vtd_run r;
	vtd_workload(&r, 0, 0);
	uint64_t n = r.vp.attempts, nlocks = r.vp.lock_inits;
	/* Sanity: four DMA areas, the core's objects, the drain step; the core's and the
	 * backend's locks. */
	ck_assert_uint_ge(n, 15);
	ck_assert_uint_ge(nlocks, 5);
	ck_assert_uint_ge(r.steps, 8);
	fprintf(stderr, "allocfail (vtd): %llu allocations, %llu locks per run, sweeping\n",
		(unsigned long long)n, (unsigned long long)nlocks);
	for (uint64_t i = 1; i <= n; i++)
		vtd_workload(&r, i, 0);
	for (uint64_t i = 1; i <= nlocks; i++)
		vtd_workload(&r, 0, i);
	vtd_workload(&r, 0, 0);
	ck_assert_uint_eq(r.vp.attempts, n);
}
END_TEST

#endif /* PRQD_HAVE_BACKEND_VTD && PRQD_HAVE_BACKEND_SIM */

/* ---- the Linux helpers ----------------------------------------------------------------------- */

/* The helpers' hook: the fail_at-th allocation from arming fails; blocks are counted. */
struct lx_sweep {
	uint64_t attempts, fail_at, failed;
	int64_t live;
};

static bool lx_refuse(void *arg, size_t size)
{
	struct lx_sweep *s = arg;
	if (++s->attempts != s->fail_at)
		return false;
	s->failed++;
	return true;
}

static void lx_count(void *arg, int delta)
{
	struct lx_sweep *s = arg;
	s->live += delta;
}

static void lx_arm(struct lx_sweep *s, uint64_t fail_at)
{
	memset(s, 0, sizeof(*s));
	s->fail_at = fail_at;
	struct prqd__linux_alloc_hook h = { .refuse = lx_refuse, .count = lx_count, .arg = s };
	prqd__linux_alloc_hook_set(&h);
}

/* Disarm; nothing the helpers allocated may be left, and the failure must have happened. */
static void lx_disarm(struct lx_sweep *s, const char *what)
{
	prqd__linux_alloc_hook_set(NULL);
	ck_assert_msg(s->live == 0, "%s, allocation %llu failing: %lld blocks leaked", what,
		      (unsigned long long)s->fail_at, (long long)s->live);
	ck_assert_uint_eq(s->failed, s->fail_at && s->fail_at <= s->attempts ? 1 : 0);
}

/* One run of @fn with the @fail_at-th allocation failing; returns the attempts it made. */
static uint64_t lx_run(void (*fn)(uint64_t fail_at), uint64_t fail_at)
{
	static struct lx_sweep s;
	lx_arm(&s, fail_at);
	fn(fail_at);
	uint64_t n = s.attempts;
	lx_disarm(&s, "linux helpers");
	return n;
}

static void lx_sweep_all(const char *what, void (*fn)(uint64_t fail_at), uint64_t at_least)
{
	uint64_t n = lx_run(fn, 0);
	ck_assert_uint_ge(n, at_least);
	fprintf(stderr, "allocfail (%s): %llu allocations per run, sweeping\n", what,
		(unsigned long long)n);
	for (uint64_t i = 1; i <= n; i++)
		lx_run(fn, i);
	ck_assert_uint_eq(lx_run(fn, 0), n);
}

#if HAVE_LIBPCI
static char *fixture(const char *name)
{
	static char path[4096];
	const char *srcdir = getenv("srcdir");
	snprintf(path, sizeof(path), "%s/tests/data/pci/%s", srcdir ? srcdir : ".", name);
	return path;
}

/* Open the fixture dump, find the PRI function by slot, read what prqd_dev_add() takes. */
static void pci_workload(uint64_t fail_at)
{
	struct test_platform tp;
	struct prqd_ctx *ctx;
	struct prqd_pci *pci;
	struct prqd_dev_info info = { .size = sizeof(info) };

	tp_init(&tp, 0);
	struct prqd_ctx_opts o = { .size = sizeof(o), .platform = &tp.p,
				   .flags = PRQD_CTX_IGNORE_ENV };
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), 0);
	int rc = prqd_pci_open(ctx, fixture("edge.dump"), &pci);
	ck_assert_msg(rc == 0 || rc == -ENOMEM, "pci, allocation %llu failing: open returned %d",
		      (unsigned long long)fail_at, rc);
	if (rc == 0) {
		struct prqd_pci_dev *found = NULL;
		for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d && !found;
		     d = prqd_pci_dev_next(pci, d)) {
			rc = prqd_pci_dev_match(d, "0001:02:00.0");
			ck_assert_msg(rc == 0 || rc == 1 || rc == -ENOMEM,
				      "pci, allocation %llu failing: match returned %d",
				      (unsigned long long)fail_at, rc);
			if (rc == 1)
				found = d;
		}
		if (found) {
			ck_assert_int_eq(prqd_pci_dev_info(found, &info), 0);
			ck_assert_uint_eq(info.rid, 0x0200);
		}
		prqd_pci_close(pci);
	}
	/* The handle's context reference is gone with it. */
	ck_assert_ptr_null(prqd_ctx_unref(ctx));
	ck_assert_uint_eq(tp.live, 0);
	tp_fini(&tp);
}

START_TEST(sweep_pci)
{
	lx_sweep_all("pci", pci_workload, 3);
}
END_TEST
#endif

#define MON_DEVS 20 /* the registry starts at 8 entries: it grows twice */

static struct tw mon_world;
static struct prqd_dev *mon_devs[MON_DEVS];

static uint16_t mon_rid(unsigned i)
{
	return (uint16_t)(0x0100 + 8 * i); /* 0000:01:{i}.0 */
}

/* A "change" event without an error-recovery key for 0000:01:{i}.0: no action is taken. */
static size_t mon_event(char *buf, size_t size, unsigned i)
{
	char slot[32];
	size_t len = 0;
	snprintf(slot, sizeof(slot), "0000:01:%02x.0", i);
	const char *fmt[] = { "change@/devices/pci0000:00/%s", "ACTION=change",
			      "DEVPATH=/devices/pci0000:00/%s", "SUBSYSTEM=pci",
			      "PCI_SLOT_NAME=%s", "SEQNUM=9" };
	for (unsigned k = 0; k < sizeof(fmt) / sizeof(fmt[0]); k++) {
		int n = snprintf(buf + len, size - len, fmt[k], slot);
		ck_assert(n > 0 && (size_t)n < size - len);
		len += (size_t)n + 1; /* with its NUL */
	}
	return len;
}

/* A monitor, a registry of MON_DEVS functions, an event for each (known or not). */
static void monitor_workload(uint64_t fail_at)
{
	static const struct prqd_uevent_origin kernel = { .port = 0, .groups = 1 };
	struct prqd_monitor *mon;
	bool registered[MON_DEVS];
	char buf[512];

	int rc = prqd_monitor_new(0, &mon);
	ck_assert_msg(rc == 0 || rc == -ENOMEM, "monitor, allocation %llu failing: new returned %d",
		      (unsigned long long)fail_at, rc);
	if (rc < 0)
		return;
	ck_assert_int_eq(prqd_monitor_set_drain(mon, 0, 10), 0);
	for (unsigned i = 0; i < MON_DEVS; i++) {
		rc = prqd_monitor_add_dev(mon, 0, mon_devs[i]);
		ck_assert_msg(rc == 0 || rc == -ENOMEM,
			      "monitor, allocation %llu failing: add_dev returned %d",
			      (unsigned long long)fail_at, rc);
		registered[i] = rc == 0;
	}
	/* The registry holds exactly what was added. */
	for (unsigned i = 0; i < MON_DEVS; i++) {
		struct prqd_monitor_result res;
		size_t len = mon_event(buf, sizeof(buf), i);
		rc = prqd_monitor_feed(mon, buf, len, &kernel, &res);
		ck_assert_int_eq(rc, registered[i] ? 0 : -ENODEV);
		if (registered[i]) {
			ck_assert_ptr_eq(res.dev, mon_devs[i]);
			ck_assert_int_eq(res.action, PRQD_MON_NONE);
		}
	}
	prqd_monitor_free(mon);
}

START_TEST(sweep_monitor)
{
	tw_setup(&mon_world, 0);
	for (unsigned i = 0; i < MON_DEVS; i++)
		mon_devs[i] = tw_dev(&mon_world, mon_rid(i));
	lx_sweep_all("uevent monitor", monitor_workload, 3);
	for (unsigned i = 0; i < MON_DEVS; i++)
		ck_assert_int_eq(prqd_dev_remove(mon_devs[i]), 0);
	tw_teardown(&mon_world);
}
END_TEST

static Suite *allocfail_suite(void)
{
	Suite *s = suite_create("allocfail");
	TCase *tc = tcase_create("sweep");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sweep_locks);
	tcase_add_test(tc, sweep_no_locks);
	tcase_add_test(tc, no_locks_allocates_less);
	suite_add_tcase(s, tc);
#if PRQD_HAVE_BACKEND_VTD && PRQD_HAVE_BACKEND_SIM /* the vtd backend on the VT-d model */
	tc = tcase_create("vtd");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sweep_vtd);
	suite_add_tcase(s, tc);
#endif
	tc = tcase_create("linux-helpers");
#if HAVE_LIBPCI
	tcase_add_test(tc, sweep_pci);
#endif
	tcase_add_test(tc, sweep_monitor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(allocfail_suite());
}
