/* SPDX-License-Identifier: MIT */
/*
 * check-prg: page request group assembly on the scripted backend.
 *
 * Every test pushes requests into the scripted queue, runs prqd_iommu_process() and checks
 * what the handler saw (group composition, order, bond) and what reached the "device" (the
 * backend's response log: exactly one response per group, right RID / PASID / index / code /
 * private data), plus the counters that must account for what was not delivered.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "tests/check-main.h"

#define RID 0x0100
#define PAGE 0x1000ull

/* ---- one world per test (Check forks each test) ---- */

static struct tw w;
static struct rec rec;
static struct prqd_dev *dev;

static void setup(void)
{
	tw_setup(&w, 0);
	rec_init(&rec, PRQD_RESP_SUCCESS);
	dev = tw_dev(&w, RID);
}

static void teardown(void)
{
	/* Tests leave their bonds bound: the teardown checks unbinding a busy world cleans up. */
	ck_assert_int_eq(prqd_dev_unbind_all(dev, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	tw_teardown(&w);
	rec_fini(&rec);
}

/* ---- tests ---- */

START_TEST(multi_page_in_order)
{
	struct prqd_bond *b = tw_bind(dev, 5, &rec);
	uint64_t tag = tq_group(w.t, RID, 5, 0x1a3, 6, 0x10000);
	ck_assert_int_eq(tw_process(&w), 6);

	ck_assert_uint_eq(rec.n, 1);
	struct rec_group *g = &rec.groups[0];
	ck_assert_uint_eq(g->count, 6);
	ck_assert_uint_eq(g->index, 0x1a3);
	ck_assert(g->last_at_end);
	ck_assert_ptr_eq(g->bond, b);
	ck_assert(g->pasid_valid);
	ck_assert_uint_eq(g->pasid, 5);
	for (unsigned i = 0; i < 6; i++)
		ck_assert_uint_eq(g->addrs[i], 0x10000 + i * PAGE);
	ck_assert_uint_eq(g->tag, tag);

	ck_assert_uint_eq(tl_count(w.t), 1);
	struct test_resp r = tl_get(w.t, 0);
	ck_assert_uint_eq(r.r.rid, RID);
	ck_assert_uint_eq(r.r.prg_index, 0x1a3);
	ck_assert_uint_eq(r.r.code, PRQD_RESP_SUCCESS);
	ck_assert(r.r.pasid_present);
	ck_assert_uint_eq(r.r.pasid, 5);
	ck_assert_uint_eq(r.r.tag, tag);

	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.requests, 6);
	ck_assert_uint_eq(s.groups, 1);
	ck_assert_uint_eq(s.delivered, 1);
	ck_assert_uint_eq(s.responses[PRQD_RESP_SUCCESS], 1);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 1);
	ck_assert_uint_eq(s.partial_discarded, 0);
}
END_TEST

/* Groups of several indices and PASIDs (and RID-only) interleaved in the queue. */
START_TEST(interleaved_groups)
{
	struct prqd_bond *b5 = tw_bind(dev, 5, &rec);
	struct prqd_bond *b6 = tw_bind(dev, 6, &rec);
	struct prqd_bond *br = tw_bind(dev, PRQD_NO_PASID, &rec);
	/* The same index 1 under PASID 5, PASID 6 and no PASID, plus index 2 under PASID 5. */
	tq_push(w.t, rq(RID, 5, 1, false, 0xa000));
	tq_push(w.t, rq(RID, 6, 1, false, 0xb000));
	tq_push(w.t, rq(RID, PRQD_NO_PASID, 1, false, 0xc000));
	tq_push(w.t, rq(RID, 5, 2, false, 0xd000));
	tq_push(w.t, rq(RID, 6, 1, true, 0xb001000));
	tq_push(w.t, rq(RID, 5, 1, false, 0xa001000));
	tq_push(w.t, rq(RID, 5, 2, true, 0xd001000));
	tq_push(w.t, rq(RID, PRQD_NO_PASID, 1, true, 0xc001000));
	tq_push(w.t, rq(RID, 5, 1, true, 0xa002000));
	ck_assert_int_eq(tw_process(&w), 9);

	/* Completion order: (6,1), (5,2), (none,1), (5,1). */
	ck_assert_uint_eq(rec.n, 4);
	struct {
		struct prqd_bond *b;
		uint16_t index;
		unsigned count;
		uint64_t a0, alast;
	} want[] = {
		{ b6, 1, 2, 0xb000, 0xb001000 },
		{ b5, 2, 2, 0xd000, 0xd001000 },
		{ br, 1, 2, 0xc000, 0xc001000 },
		{ b5, 1, 3, 0xa000, 0xa002000 },
	};
	for (unsigned i = 0; i < 4; i++) {
		struct rec_group *g = &rec.groups[i];
		ck_assert_ptr_eq(g->bond, want[i].b);
		ck_assert_uint_eq(g->index, want[i].index);
		ck_assert_uint_eq(g->count, want[i].count);
		ck_assert_uint_eq(g->addrs[0], want[i].a0);
		ck_assert_uint_eq(g->addrs[g->count - 1], want[i].alast);
		ck_assert(g->last_at_end);
	}
	ck_assert_uint_eq(rec.groups[3].addrs[1], 0xa001000);
	ck_assert(!rec.groups[2].pasid_valid);

	ck_assert_uint_eq(tl_count(w.t), 4);
	ck_assert(!tl_get(w.t, 2).r.pasid_present);
	ck_assert(tl_get(w.t, 3).r.pasid_present);
	ck_assert_uint_eq(tl_get(w.t, 3).r.pasid, 5);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.groups, 4);
	ck_assert_uint_eq(s.responses[PRQD_RESP_SUCCESS], 4);
}
END_TEST

/* An index may be reused once its group was answered: the new requests form a new group. */
START_TEST(index_reuse_after_response)
{
	tw_bind(dev, 9, &rec);
	rec.code = PRQD_RESP_DEFER;
	tq_group(w.t, RID, 9, 7, 2, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.ndeferred, 1);
	ck_assert_int_eq(prqd_respond(rec_pop_deferred(&rec), PRQD_RESP_SUCCESS), 0);

	rec.code = PRQD_RESP_INVALID;
	tq_group(w.t, RID, 9, 7, 3, 0x80000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.groups[1].count, 3);
	ck_assert_uint_eq(rec.groups[1].addrs[0], 0x80000);
	ck_assert_uint_eq(tl_count_for(w.t, RID, 7), 2);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_SUCCESS);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_INVALID);
}
END_TEST

/* A Last ahead of the other members closes the group; later members start a new one. */
START_TEST(last_before_members)
{
	tw_bind(dev, 3, &rec);
	tq_push(w.t, rq(RID, 3, 4, true, 0x1000));
	tq_push(w.t, rq(RID, 3, 4, false, 0x2000));
	tq_push(w.t, rq(RID, 3, 4, false, 0x3000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.groups[0].count, 1);
	ck_assert_uint_eq(tl_count(w.t), 1);

	tq_push(w.t, rq(RID, 3, 4, true, 0x4000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.groups[1].count, 3);
	ck_assert_uint_eq(rec.groups[1].addrs[0], 0x2000);
	ck_assert_uint_eq(rec.groups[1].addrs[2], 0x4000);
	ck_assert_uint_eq(tl_count(w.t), 2);
}
END_TEST

START_TEST(duplicate_last)
{
	tw_bind(dev, 3, &rec);
	uint64_t t1 = (uint64_t)tq_push(w.t, rq(RID, 3, 8, true, 0x1000)) + 1;
	uint64_t t2 = (uint64_t)tq_push(w.t, rq(RID, 3, 8, true, 0x1000)) + 1;
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.groups[0].count, 1);
	ck_assert_uint_eq(rec.groups[1].count, 1);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_count_tag(w.t, t1), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, t2), 1);
	ck_assert_uint_eq(tw_stats(&w).groups, 2);
}
END_TEST

START_TEST(stop_marker_never_answered)
{
	tw_bind(dev, 11, &rec);
	tq_push(w.t, rq_marker(RID, 11, 0x33));
	/* A marker for a PASID without a bond: counted as unexpected, still not answered. */
	tq_push(w.t, rq_marker(RID, 12, 0x34));
	ck_assert_int_eq(tw_process(&w), 2);
	ck_assert_uint_eq(rec.calls, 0);
	ck_assert_uint_eq(tl_count(w.t), 0);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stop_markers, 2);
	ck_assert_uint_eq(s.stop_markers_unexpected, 1);
	ck_assert_uint_eq(s.groups, 0);
	ck_assert_uint_eq(s.responses[0] + s.responses[1] + s.responses[2], 0);
}
END_TEST

/* Last with R=W=0 but no PASID is an ordinary request: delivered (RID-only bond) or answered. */
START_TEST(marker_encoding_without_pasid)
{
	tq_push(w.t, rq_marker(RID, PRQD_NO_PASID, 0x21));
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tw_stats(&w).by[PRQD_BY_NOBOND], 1);

	tw_bind(dev, PRQD_NO_PASID, &rec);
	tq_push(w.t, rq_marker(RID, PRQD_NO_PASID, 0x22));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.groups[0].index, 0x22);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_SUCCESS);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stop_markers, 0);
	ck_assert_uint_eq(s.groups, 2);
}
END_TEST

START_TEST(malformed_requests)
{
	tw_bind(dev, 2, &rec);
	tq_push_malformed(w.t, rq(RID, 2, 5, false, 0x1000));
	ck_assert_int_eq(tw_process(&w), 1);
	ck_assert_uint_eq(tl_count(w.t), 0);
	uint64_t tag = (uint64_t)tq_push_malformed(w.t, rq(RID, 2, 6, true, 0x1000)) + 1;
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 1);
	struct test_resp r = tl_get(w.t, 0);
	ck_assert_uint_eq(r.r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(r.r.prg_index, 6);
	ck_assert_uint_eq(r.r.tag, tag);
	/* A malformed stop-marker encoding is not answered either. */
	tq_push_malformed(w.t, rq_marker(RID, 2, 7));
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(rec.calls, 0);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.bad_requests, 3);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 1);
	ck_assert_uint_eq(s.stop_markers, 0);
}
END_TEST

START_TEST(unknown_requester)
{
	tq_push(w.t, rq(0x0200, 4, 1, false, 0x1000));
	uint64_t tag = (uint64_t)tq_push(w.t, rq(0x0200, 4, 1, true, 0x2000)) + 1;
	tq_push(w.t, rq_marker(0x0200, 4, 2));
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 1);
	struct test_resp r = tl_get(w.t, 0);
	ck_assert_uint_eq(r.r.rid, 0x0200);
	ck_assert_uint_eq(r.r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(r.r.tag, tag);
	ck_assert_ptr_null(r.dev_priv);
	/* Unknown requester: the PASID goes back whenever the request had one. */
	ck_assert(r.r.pasid_present);
	ck_assert_uint_eq(r.r.pasid, 4);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.unknown_requester, 3);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 1);
	ck_assert_uint_eq(s.groups, 0);
}
END_TEST

/*
 * An IOMMU that names requesters by a source ID of its own (SMMUv3 StreamID, AMD-Vi DeviceID)
 * finds the device by it, answers with it and drains with it; a caller whose prqd_dev_info
 * predates the field gets the requester ID as source ID.
 */
START_TEST(source_id_names_the_device)
{
	struct prqd_dev_info info = tw_info(0x0300);
	info.has_source_id = true;
	info.source_id = 0x12345;
	struct prqd_dev *d;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &d), 0);
	struct prqd_bond *b = tw_bind(d, 7, &rec);
	struct prqd_request r = rq(0x0300, 7, 3, true, 0x5000);
	r.source_id = 0x12345;
	tq_push(w.t, r);
	/* the same requester ID under another source ID is nobody we know */
	r.source_id = 0x54321;
	tq_push(w.t, r);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_get(w.t, 0).r.source_id, 0x12345);
	ck_assert_ptr_nonnull(tl_get(w.t, 0).dev_priv);
	ck_assert_uint_eq(tl_get(w.t, 1).r.source_id, 0x54321);
	ck_assert_ptr_null(tl_get(w.t, 1).dev_priv);
	ck_assert_uint_eq(tw_stats(&w).unknown_requester, 1);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->last_source_id, 0x12345);
	ck_assert_uint_eq(w.t->last_rid, 0x0300);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	/* Two devices may not share a source ID. */
	struct prqd_dev_info other = tw_info(0x0301);
	other.has_source_id = true;
	other.source_id = 0x12345;
	struct prqd_dev *d2;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &other, &d2), -EEXIST);
	ck_assert_int_eq(prqd_dev_remove(d), 0);

	/* An older caller's struct ends before the field: the source ID is the requester ID. */
	struct prqd_dev_info old = tw_info(0x0302);
	old.has_source_id = true;
	old.source_id = 0x777;
	old.size = offsetof(struct prqd_dev_info, has_source_id);
	ck_assert_int_eq(prqd_dev_add(w.iommu, &old, &d), 0);
	ck_assert_uint_eq(d->info.source_id, 0x0302);
	ck_assert_int_eq(prqd_dev_remove(d), 0);
}
END_TEST

/* Requests for a PASID without a bond, or beyond the device's PASID width. */
START_TEST(no_bond)
{
	struct prqd_dev_info info = tw_info(0x0300);
	info.pasid_width = 4;
	struct prqd_dev *small = NULL;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &small), 0);
	tq_group(w.t, RID, 77, 1, 2, 0x1000);
	tq_group(w.t, 0x0300, 0xfffff, 2, 2, 0x1000); /* beyond 4 bits */
	tq_group(w.t, 0x0300, PRQD_NO_PASID, 3, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(tl_get(w.t, i).r.code, PRQD_RESP_INVALID);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 3);
	ck_assert_uint_eq(s.groups, 3);
	ck_assert_uint_eq(s.delivered, 0);
	ck_assert_int_eq(prqd_dev_remove(small), 0);
}
END_TEST

/* Requests of a device removed meanwhile: its partials go with it, the rest is answered as
 * from an unknown requester. */
START_TEST(device_removed_with_requests)
{
	struct prqd_dev *d = tw_dev(&w, 0x0500);
	tq_push(w.t, rq(0x0500, 4, 1, false, 0x1000));
	tw_process(&w);
	uint64_t tag = tq_group(w.t, 0x0500, 4, 2, 2, 0x1000); /* still in the queue */
	uint64_t tag1 = (uint64_t)tq_push(w.t, rq(0x0500, 4, 1, true, 0x2000)) + 1;
	ck_assert_int_eq(prqd_dev_remove(d), 0);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.partial_discarded, 1);
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag1), 1);
	ck_assert_ptr_null(tl_get(w.t, 0).dev_priv);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.unknown_requester, 3);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 2);
}
END_TEST

/* A device that exceeds its allocation: pool of 2 requests / 2 groups. */
START_TEST(pool_exhaustion)
{
	struct tw w2;
	struct rec r2;
	tw_setup(&w2, TW_NO_OPEN);
	ck_assert_int_eq(prqd_ctx_set_param(w2.ctx, "core.pool_max", "2"), 0);
	ck_assert_int_eq(prqd_ctx_set_param(w2.ctx, "core.pool_slack", "0"), 0);
	tw_open(&w2);
	rec_init(&r2, PRQD_RESP_SUCCESS);
	struct prqd_dev *d = tw_dev(&w2, RID);
	tw_bind(d, 1, &r2);

	/* Index 1 takes both request slots; its third request does not fit: the partial
	 * group is dropped whole, and that request with it. */
	tq_push(w2.t, rq(RID, 1, 1, false, 0x1000));
	tq_push(w2.t, rq(RID, 1, 1, false, 0x2000));
	tq_push(w2.t, rq(RID, 1, 1, false, 0x3000));
	tw_process(&w2);
	struct prqd_stats s = tw_stats(&w2);
	ck_assert_uint_eq(s.pool_exhausted, 1);
	ck_assert_uint_eq(s.partial_discarded, 0);
	ck_assert_uint_eq(tl_count(w2.t), 0);

	/* Index 2 and 3 take the two slots; index 3's Last does not fit: its group goes and
	 * the Last still gets its one answer, from the library. */
	tq_push(w2.t, rq(RID, 1, 2, false, 0x4000));
	tq_push(w2.t, rq(RID, 1, 3, false, 0x5000));
	uint64_t tag3 = (uint64_t)tq_push(w2.t, rq(RID, 1, 3, true, 0x6000)) + 1;
	tw_process(&w2);
	s = tw_stats(&w2);
	ck_assert_uint_eq(s.pool_exhausted, 2);
	ck_assert_uint_eq(tl_count(w2.t), 1);
	ck_assert_uint_eq(tl_count_tag(w2.t, tag3), 1);
	ck_assert_uint_eq(tl_get(w2.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(s.by[PRQD_BY_NOBOND], 1);
	ck_assert_uint_eq(r2.calls, 0);

	/* Index 1 starts over with its Last alone; index 2 completes with the slot index 1's
	 * answer gave back. */
	tq_push(w2.t, rq(RID, 1, 1, true, 0x7000));
	tq_push(w2.t, rq(RID, 1, 2, true, 0x8000));
	tw_process(&w2);
	s = tw_stats(&w2);
	ck_assert_uint_eq(r2.n, 2);
	ck_assert_uint_eq(r2.groups[0].count, 1);
	ck_assert_uint_eq(r2.groups[0].addrs[0], 0x7000);
	ck_assert_uint_eq(r2.groups[1].count, 2);
	ck_assert_uint_eq(r2.groups[1].addrs[0], 0x4000);
	ck_assert_uint_eq(r2.groups[1].addrs[1], 0x8000);
	ck_assert_uint_eq(tl_count(w2.t), 3);
	ck_assert_uint_eq(s.pool_exhausted, 2);

	/* Deferred groups hold pool entries until answered; then they are reusable. */
	r2.code = PRQD_RESP_DEFER;
	tq_group(w2.t, RID, 1, 9, 1, 0x9000);
	tq_group(w2.t, RID, 1, 10, 1, 0xa000);
	uint64_t tag11 = tq_group(w2.t, RID, 1, 11, 1, 0xb000);
	tw_process(&w2);
	ck_assert_uint_eq(r2.ndeferred, 2);
	ck_assert_uint_eq(tl_count_tag(w2.t, tag11), 1);
	ck_assert_uint_eq(tw_stats(&w2).pool_exhausted, 3);
	ck_assert_uint_eq(rec_answer_all(&r2, PRQD_RESP_SUCCESS), 2);
	r2.code = PRQD_RESP_SUCCESS;
	uint64_t tag12 = tq_group(w2.t, RID, 1, 12, 2, 0xc000);
	tw_process(&w2);
	ck_assert_uint_eq(r2.groups[r2.n - 1].count, 2);
	ck_assert_uint_eq(r2.groups[r2.n - 1].tag, tag12);

	/* Every Last pushed got exactly one response. */
	ck_assert_uint_eq(tl_count(w2.t), 7);
	ck_assert_int_eq(prqd_dev_unbind_all(d, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

START_TEST(response_pasid_only_when_required)
{
	struct prqd_dev_info info = tw_info(0x0400);
	info.prg_resp_pasid_required = false;
	struct prqd_dev *d2 = NULL;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &d2), 0);
	struct prqd_bond *b2 = tw_bind(d2, 8, &rec);
	tw_bind(dev, 8, &rec);

	tq_group(w.t, 0x0400, 8, 1, 1, 0x1000);
	tq_group(w.t, RID, 8, 1, 1, 0x1000);
	tq_group(w.t, RID, PRQD_NO_PASID, 2, 1, 0x1000); /* no bond, no PASID */
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 3);
	struct test_resp r0 = tl_get(w.t, 0), r1 = tl_get(w.t, 1), r2 = tl_get(w.t, 2);
	ck_assert_uint_eq(r0.r.rid, 0x0400);
	ck_assert(!r0.r.pasid_present);
	ck_assert_ptr_nonnull(r0.dev_priv);
	ck_assert_uint_eq(((struct test_dev *)r0.dev_priv)->rid, 0x0400);
	ck_assert_uint_eq(r1.r.rid, RID);
	ck_assert(r1.r.pasid_present);
	ck_assert_uint_eq(r1.r.pasid, 8);
	ck_assert(!r2.r.pasid_present);
	ck_assert_int_eq(prqd_unbind(b2, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(d2), 0);
}
END_TEST

START_TEST(private_data_echoed)
{
	tw_bind(dev, 1, &rec);
	struct prqd_request a = rq(RID, 1, 3, false, 0x1000);
	struct prqd_request l = rq(RID, 1, 3, true, 0x2000);
	l.priv_data_valid = true;
	l.priv_data[0] = 0x1122334455667788ull;
	l.priv_data[1] = 0x99aabbccddeeff00ull;
	tq_push(w.t, a);
	tq_push(w.t, l);
	struct prqd_request n = rq(RID, 1, 4, true, 0x3000);
	tq_push(w.t, n);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert(rec.groups[0].priv_data_valid);
	ck_assert_uint_eq(tl_count(w.t), 2);
	struct test_resp r = tl_get(w.t, 0);
	ck_assert(r.r.priv_data_valid);
	ck_assert_uint_eq(r.r.priv_data[0], 0x1122334455667788ull);
	ck_assert_uint_eq(r.r.priv_data[1], 0x99aabbccddeeff00ull);
	ck_assert(!tl_get(w.t, 1).r.priv_data_valid);
}
END_TEST

/* An acknowledged overflow discards every partial group; a refused ack discards nothing. */
START_TEST(overflow_discards_partials)
{
	tw_bind(dev, 1, &rec);
	tw_bind(dev, 2, &rec);
	tq_push(w.t, rq(RID, 1, 1, false, 0x1000));
	tq_push(w.t, rq(RID, 2, 1, false, 0x2000));
	tq_push(w.t, rq(RID, 9, 1, false, 0x3000)); /* no bond */
	tw_process(&w);
	ck_assert_uint_eq(tw_stats(&w).partial_discarded, 0);

	/* A real overflow: the queue holds 2 entries, the third push is lost. */
	w.t->limit = 2;
	tq_push(w.t, rq(RID, 1, 2, false, 0x4000));
	tq_push(w.t, rq(RID, 1, 2, false, 0x5000));
	ck_assert_int_eq(tq_push(w.t, rq(RID, 1, 2, true, 0x6000)), -ENOSPC);
	ck_assert(w.t->overflow);
	tw_process(&w);
	ck_assert(!w.t->overflow);
	ck_assert_uint_eq(w.t->overflow_acks, 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.overflows, 1);
	ck_assert_uint_eq(s.partial_discarded, 4);
	w.t->limit = TQ_CAP;

	/* The Lasts of the discarded groups now make groups of one. */
	tq_push(w.t, rq(RID, 1, 1, true, 0x7000));
	tq_push(w.t, rq(RID, 2, 1, true, 0x8000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.groups[0].count, 1);
	ck_assert_uint_eq(rec.groups[1].count, 1);
	ck_assert_uint_eq(tl_count(w.t), 2);
}
END_TEST

/*
 * PRG index reuse after an overflow. The overflow drops the Last of a group whose first
 * requests are queued; the IOMMU answers a dropped Last itself, so the device may use that
 * index again at once. The new group must not join the old one's requests: it is delivered
 * with its own requests only and gets the one response; the old part gets none from us.
 */
START_TEST(index_reuse_after_dropped_last)
{
	tw_bind(dev, 1, &rec);
	w.t->limit = 2;
	tq_push(w.t, rq(RID, 1, 4, false, 0x1000));
	tq_push(w.t, rq(RID, 1, 4, false, 0x2000));
	ck_assert_int_eq(tq_push(w.t, rq(RID, 1, 4, true, 0x3000)), -ENOSPC); /* auto-answered */
	ck_assert_uint_eq(w.t->dropped_last, 1);
	tw_process(&w);
	ck_assert(!w.t->overflow);
	w.t->limit = TQ_CAP;

	uint64_t tag = tq_group(w.t, RID, 1, 4, 2, 0x8000); /* the index again, a new group */
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.groups[0].count, 2);
	ck_assert_uint_eq(rec.groups[0].addrs[0], 0x8000);
	ck_assert_uint_eq(rec.groups[0].addrs[1], 0x9000);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.overflows, 1);
	ck_assert_uint_eq(s.partial_discarded, 1);
	ck_assert_uint_eq(s.groups, 1);
}
END_TEST

/* A refused acknowledge (the queue filled again meanwhile) discards nothing; the next
 * consumer call acknowledges. */
START_TEST(overflow_ack_refused)
{
	tw_bind(dev, 1, &rec);
	tq_push(w.t, rq(RID, 1, 1, false, 0x1000));
	tq_raise_overflow(w.t);
	w.t->ack_refuse = 1;
	tw_process(&w);
	ck_assert(w.t->overflow);
	ck_assert_uint_eq(w.t->overflow_ack_refused, 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.overflows, 0);
	ck_assert_uint_eq(s.partial_discarded, 0);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), 0);
	ck_assert(!w.t->overflow);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.overflows, 1);
	ck_assert_uint_eq(s.partial_discarded, 1);
	/* With a budget that ends exactly at the last entry, the overflow waits for a call
	 * that sees the queue empty. */
	tq_push(w.t, rq(RID, 1, 2, true, 0x1000));
	tq_raise_overflow(w.t);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 1), 1);
	ck_assert(w.t->overflow);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 1), 0);
	ck_assert(!w.t->overflow);
	ck_assert_uint_eq(tw_stats(&w).overflows, 2);
}
END_TEST

/*
 * Stall-style faults (SMMUv3 stall model): each is its own one-request group, whatever its
 * index and Last bit, goes to the bond's handler, and is resumed (Success) or terminated
 * (otherwise) exactly once through stall_resume, never through respond.
 */
START_TEST(stall_delivered_and_resumed_once)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	/* Two stalls with the same index, neither Last: still two groups. */
	tq_push_stall(w.t, rq(RID, 3, 0, false, 0x7000), 41);
	tq_push_stall(w.t, rq(RID, 3, 0, false, 0x8000), 42);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(rec.groups[0].count, 1);
	ck_assert_uint_eq(rec.groups[0].addrs[0], 0x7000);
	ck_assert_uint_eq(w.t->nstall, 2);
	ck_assert_uint_eq(tl_count(w.t), 0); /* no page group response */
	ck_assert_uint_eq(w.t->stall_log[0].stall_tag, 41);
	ck_assert_uint_eq(w.t->stall_log[0].code, PRQD_RESP_SUCCESS);
	ck_assert_uint_eq(w.t->stall_log[0].source_id, RID);
	ck_assert(w.t->stall_log[0].pasid_valid);
	ck_assert_uint_eq(w.t->stall_log[0].pasid, 3);
	ck_assert_uint_eq(w.t->stall_log[1].stall_tag, 42);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stalls, 2);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 2);

	/* A stall between the requests of a partial page request group leaves it alone. */
	tq_push(w.t, rq(RID, 3, 5, false, 0x1000));
	tq_push_stall(w.t, rq(RID, 3, 5, true, 0x9000), 43);
	tq_push(w.t, rq(RID, 3, 5, true, 0x2000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 4);
	ck_assert_uint_eq(rec.groups[2].count, 1);
	ck_assert_uint_eq(rec.groups[3].count, 2);
	ck_assert_uint_eq(w.t->nstall, 3);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
}
END_TEST

/* A deferred stall taken back by an unbind is terminated once; the handler's late answer is
 * swallowed. Stalls with no bond or from an unknown source are terminated at once. */
START_TEST(stall_terminated_once)
{
	rec.code = PRQD_RESP_DEFER;
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	tq_push_stall(w.t, rq(RID, 3, 0, true, 0x7000), 7);
	tw_process(&w);
	struct prqd_group *g = rec_pop_deferred(&rec);
	ck_assert_ptr_nonnull(g);
	ck_assert(prqd_group_request(g, 0)->stall);
	ck_assert_uint_eq(w.t->nstall, 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_uint_eq(w.t->nstall, 1);
	ck_assert_uint_eq(w.t->stall_log[0].stall_tag, 7);
	ck_assert_uint_eq(w.t->stall_log[0].code, PRQD_RESP_INVALID);
	prqd_respond(g, PRQD_RESP_SUCCESS);
	ck_assert_uint_eq(w.t->nstall, 1);
	ck_assert_uint_eq(tw_stats(&w).late_responses, 1);

	tq_push_stall(w.t, rq(RID, 9, 0, false, 0x7000), 8);     /* no bond */
	tq_push_stall(w.t, rq(0x0777, 3, 0, false, 0x7000), 9);  /* nobody */
	tw_process(&w);
	ck_assert_uint_eq(w.t->nstall, 3);
	ck_assert_uint_eq(w.t->stall_log[1].stall_tag, 8);
	ck_assert_uint_eq(w.t->stall_log[1].code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(w.t->stall_log[2].stall_tag, 9);
	ck_assert_uint_eq(w.t->stall_log[2].code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tl_count(w.t), 0);

	/* The backend could not queue the resume: counted as answered locally. */
	rec.code = PRQD_RESP_SUCCESS;
	b = tw_bind(dev, 4, &rec);
	w.t->stall_err = -EIO;
	uint64_t local = tw_stats(&w).by[PRQD_BY_LOCAL];
	tq_push_stall(w.t, rq(RID, 4, 0, false, 0x7000), 10);
	tw_process(&w);
	ck_assert_uint_eq(w.t->nstall, 4);
	ck_assert_uint_eq(tw_stats(&w).by[PRQD_BY_LOCAL], local + 1);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
}
END_TEST

/* Handler bugs: a return value that is not a code is answered Invalid and counted. */
START_TEST(handler_bad_code)
{
	tw_bind(dev, 1, &rec);
	rec.code = 7;
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	rec.code = -5;
	tq_group(w.t, RID, 1, 2, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_INVALID);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.bad_responses, 2);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 2);
}
END_TEST

/* The handler answers Failure (only the handler may) and from inside with prqd_respond. */
static int respond_inside(struct rec *r, struct prqd_bond *bond, struct prqd_group *g)
{
	ck_assert_int_eq(prqd_respond(g, PRQD_RESP_FAILURE), 0);
	return PRQD_RESP_DEFER;
}

START_TEST(handler_responds_inside)
{
	tw_bind(dev, 1, &rec);
	rec.inner = respond_inside;
	tq_group(w.t, RID, 1, 1, 2, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_FAILURE);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.responses[PRQD_RESP_FAILURE], 1);
	ck_assert_uint_eq(s.bad_responses, 0);
}
END_TEST

/* A backend that fails to send: the group is completed locally, counted, never retried. */
START_TEST(respond_failure_local)
{
	tw_bind(dev, 1, &rec);
	w.t->respond_err = -EIO;
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	tw_process(&w);
	rec.code = PRQD_RESP_DEFER;
	tq_group(w.t, RID, 1, 2, 1, 0x1000);
	tw_process(&w);
	struct prqd_group *g = rec_pop_deferred(&rec);
	ck_assert_ptr_nonnull(g);
	int rc = prqd_respond(g, PRQD_RESP_SUCCESS);
	/* The header: "or the backend's error (the group is then answered locally and
	 * released)". */
	ck_assert_int_eq(rc, -EIO);
	w.t->respond_err = 0;
	ck_assert_uint_eq(tl_count(w.t), 2);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.by[PRQD_BY_LOCAL], 2);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 0);
	ck_assert_uint_eq(s.responses[0] + s.responses[1] + s.responses[2], 0);
	ck_assert_uint_eq(prqd_bond_outstanding(rec.groups[0].bond), 0);
}
END_TEST

/* A partial begun when no bond existed is never delivered to the bond bound later. */
START_TEST(partial_before_bind_is_stale)
{
	tq_push(w.t, rq(RID, 4, 1, false, 0x1000));
	tw_process(&w);
	tw_bind(dev, 4, &rec);
	tq_push(w.t, rq(RID, 4, 1, true, 0x2000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.groups[0].count, 1);
	ck_assert_uint_eq(rec.groups[0].addrs[0], 0x2000);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stale_groups, 1);
	ck_assert_uint_eq(s.partial_discarded, 1);
	ck_assert_uint_eq(tl_count(w.t), 1);
}
END_TEST

/* prqd_iommu_process honours its budget. */
START_TEST(process_budget)
{
	tw_bind(dev, 1, &rec);
	for (unsigned i = 0; i < 100; i++)
		tq_group(w.t, RID, 1, (uint16_t)(i % 512), 1, 0x1000);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 7), 7);
	ck_assert_uint_eq(tq_pending(w.t), 93);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 40), 40);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), 53);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), 0);
	ck_assert_uint_eq(tl_count(w.t), 100);
	/* A backend error with nothing consumed comes back as is. */
	w.t->fetch_err = -EIO;
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), -EIO);
	w.t->fetch_err = 0;
}
END_TEST

/* A bound but quiet device holds no pool memory; traffic grows the pool in chunks, which
 * stay for the next groups (no allocation per request), and never past the pool's size. */
START_TEST(pool_grows_on_demand)
{
	tw_bind(dev, 1, &rec);
	uint64_t quiet = tp_live(&w.tp);
	ck_assert_uint_eq(dev->pool.groups_allocated, 0);
	ck_assert_uint_eq(dev->pool.nodes_allocated, 0);

	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_gt(dev->pool.groups_allocated, 0);
	ck_assert_uint_eq(dev->pool.nodes_allocated, 0); /* a one-request group is one object */
	uint64_t grown = tp_live(&w.tp);
	ck_assert_uint_gt(grown, quiet);

	/* The same traffic again allocates nothing. */
	uint64_t attempts = tp_attempts(&w.tp);
	for (unsigned i = 0; i < 100; i++)
		tq_group(w.t, RID, 1, (uint16_t)(i % 512), 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 101);
	ck_assert_uint_eq(tp_attempts(&w.tp), attempts);

	/* Many held groups: the pool grows up to its size and no further. */
	rec.code = PRQD_RESP_DEFER;
	for (unsigned i = 0; i < dev->pool.size + 10; i++)
		tq_group(w.t, RID, 1, (uint16_t)i, 2, 0x2000);
	tw_process(&w);
	ck_assert_uint_le(dev->pool.groups_allocated, dev->pool.size);
	ck_assert_uint_le(dev->pool.nodes_allocated, dev->pool.size);
	ck_assert_uint_le(dev->pool.held_reqs, dev->pool.size);
	ck_assert_uint_eq(rec.ndeferred, dev->pool.size / 2);
	ck_assert_uint_gt(tw_stats(&w).pool_exhausted, 0);
	ck_assert_uint_eq(rec_answer_all(&rec, PRQD_RESP_SUCCESS), dev->pool.size / 2);
	/* Every group got its one answer: the ones that did not fit from the library. */
	ck_assert_uint_eq(tl_count(w.t), 101 + dev->pool.size + 10);
}
END_TEST

/* The pool can't grow (the platform has no memory): the group is answered Invalid and
 * counted, and the next request, with memory back, is delivered. */
START_TEST(pool_growth_fails)
{
	tw_bind(dev, 1, &rec);
	tp_fail_nth(&w.tp, 1);
	uint64_t tag = tq_group(w.t, RID, 1, 7, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 0);
	ck_assert_uint_eq(tw_stats(&w).pool_exhausted, 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);

	tag = tq_group(w.t, RID, 1, 7, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_SUCCESS);
}
END_TEST

/* Many partial groups at once: the partial hash grows, and every group still completes
 * whole, each with its own requests. */
START_TEST(many_partials)
{
	tw_bind(dev, 3, &rec);
	uint32_t buckets_before = dev->partial_mask + 1;
	enum { N = 60 };
	for (unsigned i = 0; i < N; i++)
		tq_push(w.t, rq(RID, 3, (uint16_t)i, false, 0x100000 + i * PAGE));
	tw_process(&w);
	ck_assert_uint_eq(dev->npartial, N);
	ck_assert_uint_gt(dev->partial_mask + 1, buckets_before);
	for (unsigned i = N; i-- > 0;)
		tq_push(w.t, rq(RID, 3, (uint16_t)i, true, 0x200000 + i * PAGE));
	tw_process(&w);
	ck_assert_uint_eq(dev->npartial, 0);
	ck_assert_uint_eq(rec.n, N);
	for (unsigned k = 0; k < N; k++) {
		struct rec_group *g = &rec.groups[k];
		unsigned i = N - 1 - k;
		ck_assert_uint_eq(g->index, i);
		ck_assert_uint_eq(g->count, 2);
		ck_assert_uint_eq(g->addrs[0], 0x100000 + i * PAGE);
		ck_assert_uint_eq(g->addrs[1], 0x200000 + i * PAGE);
	}
	ck_assert_uint_eq(tl_count(w.t), N);
}
END_TEST

/* The pool's books: every group and request node is in exactly one place (free, returned by
 * another thread, partial, or held by the handler / abandoned and not yet answered), and
 * held_reqs is exactly the requests of the groups not back in the free lists. */
static void check_pool_books(const struct rec *r)
{
	const struct prqd_pool *p = &dev->pool;
	uint32_t free_groups = 0, free_nodes = 0;
	for (const struct prqd_group *g = p->groups; g; g = g->free_next) {
		ck_assert_uint_le(++free_groups, p->groups_allocated);
		ck_assert_ptr_null(g->head.next);
		ck_assert_uint_eq(atomic_load(&g->state), PRQD_G_FREE);
	}
	for (const struct prqd_req_node *n = p->nodes; n; n = n->next)
		ck_assert_uint_le(++free_nodes, p->nodes_allocated);
	uint32_t groups = free_groups, nodes = free_nodes, reqs = 0;
	for (const struct prqd_group *g = atomic_load(&((struct prqd_pool *)p)->returned); g;
	     g = g->free_next) {
		ck_assert_uint_le(++groups, p->groups_allocated);
		reqs += g->count;
		nodes += g->count - 1;
	}
	for (uint32_t slot = 0; slot <= dev->partial_mask; slot++)
		for (const struct prqd_group *g = dev->partial_hash[slot]; g; g = g->hnext) {
			ck_assert_uint_eq(atomic_load(&g->state), PRQD_G_PARTIAL);
			groups++;
			reqs += g->count;
			nodes += g->count - 1;
		}
	for (unsigned i = 0; i < r->ndeferred; i++) {
		const struct prqd_group *g = r->deferred[i];
		ck_assert_uint_ne(atomic_load(&g->state), PRQD_G_FREE);
		groups++;
		reqs += g->count;
		nodes += g->count - 1;
	}
	ck_assert_uint_eq(groups, p->groups_allocated);
	ck_assert_uint_eq(nodes, p->nodes_allocated);
	ck_assert_uint_eq(reqs, p->held_reqs);
	ck_assert_uint_le(p->held_reqs, p->size);
}

/* Random traffic of groups of 1 to 3 requests, some left partial, some stale, deferred
 * answers from outside the handler, unbinds that abandon held groups answered late, and a
 * pool driven to its limit or refused memory to grow: the books balance after every step,
 * every Last is answered once, and when everything is answered and the queue read, a full
 * pool's worth of groups fits again. */
static void ignore_trace(void *user, const struct prqd_trace_event *ev)
{
	(void)user;
	(void)ev;
}

START_TEST(pool_books_balance)
{
	/* Odd runs trace: the consumer then counts each answer at once, not per batch. */
	if (_i & 1)
		prqd_ctx_set_trace_fn(w.ctx, ignore_trace, NULL);
	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	struct prqd_bond *b2 = tw_bind(dev, 2, &rec);
	uint32_t seed = 0x1234567u + (uint32_t)_i;
	uint64_t lasts = 0;
	for (unsigned step = 0; step < 4000; step++) {
		uint32_t x = xorshift(&seed);
		switch (x % 12) {
		case 0: case 1: case 2: case 3: {
			uint32_t pasid = 1 + (x >> 4) % 3; /* 3: never bound */
			uint16_t index = (uint16_t)((x >> 8) % 24);
			unsigned n = 1 + (x >> 16) % 3;
			bool close = (x >> 20) % 4 != 0;
			for (unsigned i = 0; i < n; i++) {
				bool last = close && i + 1 == n;
				tq_push(w.t, rq(RID, pasid, index, last, 0x1000 * (i + 1)));
				lasts += last;
			}
			break;
		}
		case 4:
			tw_process(&w);
			break;
		case 5:
			/* The pool or the partial hash can't grow this time. */
			tp_fail_nth(&w.tp, 1 + (x >> 4) % 2);
			tw_process(&w);
			tp_fail_nth(&w.tp, 0);
			break;
		case 6: case 7: {
			struct prqd_group *g = rec_pop_deferred(&rec);
			if (g)
				prqd_respond(g, PRQD_RESP_SUCCESS);
			break;
		}
		case 8:
			rec.code = (x >> 4) % 3 ? PRQD_RESP_DEFER : PRQD_RESP_SUCCESS;
			break;
		case 9:
			tw_process(&w);
			if (b2) {
				ck_assert_int_eq(prqd_unbind(b2, PRQD_UNBIND_FORCE | PRQD_UNBIND_NO_DRAIN),
						 0);
				b2 = NULL;
			} else {
				b2 = tw_bind(dev, 2, &rec);
			}
			break;
		case 10: {
			/* A Last alone: closes whatever partial its index has. */
			uint16_t index = (uint16_t)((x >> 8) % 24);
			tq_push(w.t, rq(RID, 1 + (x >> 4) % 2, index, true, 0x9000));
			lasts++;
			break;
		}
		default:
			break;
		}
		check_pool_books(&rec);
	}
	tw_process(&w);
	check_pool_books(&rec);
	rec_answer_all(&rec, PRQD_RESP_SUCCESS);
	check_pool_books(&rec);
	ck_assert_uint_eq(tl_count(w.t), lasts);
	/* The counters agree with what the handler saw and the backend sent. */
	struct prqd_stats st = tw_stats(&w);
	ck_assert_uint_lt(rec.n, REC_MAX);
	ck_assert_uint_eq(st.delivered, rec.n);
	uint64_t sent = 0, answered = 0;
	for (unsigned i = 0; i < PRQD_ARRAY_SIZE(st.responses); i++)
		sent += st.responses[i];
	for (unsigned i = 0; i < PRQD_NR_RESPONDERS; i++)
		answered += st.by[i];
	ck_assert_uint_eq(sent, lasts);
	ck_assert_uint_eq(answered, lasts);
	ck_assert_uint_eq(st.requests, tq_tail(w.t));

	/* Nothing is held any more: after the partials go, a pool's worth of one-request
	 * groups is delivered, none refused. */
	(void)b1;
	rec.code = PRQD_RESP_DEFER;
	for (uint16_t i = 0; i < 24; i++)
		tq_push(w.t, rq(RID, 1, i, true, 0x7000)), tq_push(w.t, rq(RID, 2, i, true, 0x7000)),
			tq_push(w.t, rq(RID, 3, i, true, 0x7000));
	tw_process(&w);
	rec_answer_all(&rec, PRQD_RESP_SUCCESS);
	check_pool_books(&rec);
	uint64_t exhausted = tw_stats(&w).pool_exhausted;
	unsigned before = rec.ndeferred;
	for (unsigned i = 0; i < dev->pool.size; i++)
		tq_push(w.t, rq(RID, 1, (uint16_t)(100 + i), true, 0x8000));
	tw_process(&w);
	check_pool_books(&rec);
	ck_assert_uint_eq(tw_stats(&w).pool_exhausted, exhausted);
	ck_assert_uint_eq(rec.ndeferred - before, dev->pool.size);
	rec_answer_all(&rec, PRQD_RESP_SUCCESS);
}
END_TEST

static Suite *prg_suite(void)
{
	Suite *s = suite_create("prg");
	TCase *tc = tcase_create("assembly");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, multi_page_in_order);
	tcase_add_loop_test(tc, pool_books_balance, 0, 8);
	tcase_add_test(tc, interleaved_groups);
	tcase_add_test(tc, index_reuse_after_response);
	tcase_add_test(tc, last_before_members);
	tcase_add_test(tc, duplicate_last);
	tcase_add_test(tc, stop_marker_never_answered);
	tcase_add_test(tc, marker_encoding_without_pasid);
	tcase_add_test(tc, malformed_requests);
	tcase_add_test(tc, unknown_requester);
	tcase_add_test(tc, source_id_names_the_device);
	tcase_add_test(tc, stall_delivered_and_resumed_once);
	tcase_add_test(tc, stall_terminated_once);
	tcase_add_test(tc, no_bond);
	tcase_add_test(tc, device_removed_with_requests);
	tcase_add_test(tc, pool_exhaustion);
	tcase_add_test(tc, pool_grows_on_demand);
	tcase_add_test(tc, pool_growth_fails);
	tcase_add_test(tc, many_partials);
	tcase_add_test(tc, response_pasid_only_when_required);
	tcase_add_test(tc, private_data_echoed);
	tcase_add_test(tc, overflow_discards_partials);
	tcase_add_test(tc, index_reuse_after_dropped_last);
	tcase_add_test(tc, overflow_ack_refused);
	tcase_add_test(tc, handler_bad_code);
	tcase_add_test(tc, handler_responds_inside);
	tcase_add_test(tc, respond_failure_local);
	tcase_add_test(tc, partial_before_bind_is_stale);
	tcase_add_test(tc, process_budget);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(prg_suite());
}
