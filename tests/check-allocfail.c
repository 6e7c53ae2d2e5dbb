/* SPDX-License-Identifier: MIT */
/*
 * check-allocfail: the allocation-failure sweep.
 *
 * One deterministic workload (context, IOMMU, two devices, bonds on several PASIDs including
 * ones that need new PASID-table leaves, traffic, deferred answers, drains, a stop-marker
 * unbind, an overflow, a device-wide drain, a drain step orphaned by a forced unbind,
 * unbinds, removal, close) runs once to count its allocation attempts N. Then, for every n in
 * 1..N, it runs again with the n-th attempt failing. Every call must return 0 or a clean
 * negative errno from a short list; the harness cleans up whatever was created; at the end
 * no allocation is live, every free had the size of its allocation, and every page request
 * group pushed got exactly one response.
 *
 * The same sweep runs without platform locks (the freestanding, single-threaded embedding),
 * where the core allocates no lock objects.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"

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

	/* A drain step the hardware never finishes, orphaned by a forced unbind. */
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
		process(w); /* the orphan completes and is freed */
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
	/* iommu: queue + orphan locks; two devices: a device lock and a gate lock each. */
	ck_assert_uint_eq(with - without, 6);
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
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(allocfail_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
