/* SPDX-License-Identifier: MIT */
/*
 * check-state: the bond state machine and the drain loop on the scripted backend.
 *
 * Things that happen "during" a drain (requests arriving, the handler answering, a stop
 * marker, an overflow, another call into the library) are modelled with the test platform's
 * relax hook and the backend's poll hook: both run in the draining thread, without library
 * locks, at deterministic points. The fake clock moves only when the library relaxes, so
 * timeouts are exact. The last test case runs real threads against each other and checks the
 * outcome from the backend's response log (exactly one response per group), never the time.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "tests/check-main.h"

#define RID 0x0100
#define RID2 0x0108

static struct tw w;
static struct rec rec;
static struct prqd_dev *dev;

/* ---- bond-state trace ---- */

struct trace_rec {
	unsigned n;
	struct {
		uint32_t type;
		uint32_t pasid;
		bool pasid_valid;
		uint8_t from, to;
		int result;
		uint64_t value;
		uint8_t responder, code;
	} ev[1024];
};
static struct trace_rec tr;
static pthread_mutex_t tr_mu = PTHREAD_MUTEX_INITIALIZER;

/* Trace events come from every thread that calls into the library. */
static void trace_fn(void *user, const struct prqd_trace_event *ev)
{
	struct trace_rec *t = user;
	ck_assert_uint_ge(ev->time_ns, 1);
	pthread_mutex_lock(&tr_mu);
	if (t->n < 1024) {
		t->ev[t->n].type = ev->type;
		t->ev[t->n].pasid = ev->pasid;
		t->ev[t->n].pasid_valid = ev->pasid_valid;
		t->ev[t->n].from = ev->state_from;
		t->ev[t->n].to = ev->state_to;
		t->ev[t->n].result = ev->result;
		t->ev[t->n].value = ev->value;
		t->ev[t->n].responder = ev->responder;
		t->ev[t->n].code = ev->code;
	}
	t->n++;
	pthread_mutex_unlock(&tr_mu);
}

/* The states @pasid went through, as "a>b c>d ..." from the trace. */
static const char *transitions(uint32_t pasid)
{
	static char buf[512];
	size_t len = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < tr.n && i < 1024; i++) {
		if (tr.ev[i].type != PRQD_TR_BOND_STATE)
			continue;
		uint32_t p = tr.ev[i].pasid_valid ? tr.ev[i].pasid : PRQD_NO_PASID;
		if (p != pasid)
			continue;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s>%s", len ? " " : "",
					tr.ev[i].from ? prqd_bond_state_name(tr.ev[i].from) : "none",
					prqd_bond_state_name(tr.ev[i].to));
	}
	return buf;
}

static unsigned trace_count(uint32_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < tr.n && i < 1024; i++)
		n += tr.ev[i].type == type;
	return n;
}

static void setup(void)
{
	tw_setup(&w, 0);
	memset(&tr, 0, sizeof(tr));
	prqd_ctx_set_trace_fn(w.ctx, trace_fn, &tr);
	rec_init(&rec, PRQD_RESP_SUCCESS);
	dev = tw_dev(&w, RID);
}

static void teardown(void)
{
	tp_set_hook(&w.tp, NULL, NULL);
	w.t->poll_hook = NULL;
	w.t->drain_mode = TD_COMPLETE;
	ck_assert_int_eq(prqd_dev_unbind_all(dev, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	tw_teardown(&w);
	rec_fini(&rec);
}

/* ---- the basic cycle ---- */

START_TEST(stop_drain_resume)
{
	struct prqd_bond *b = tw_bind(dev, 7, &rec);
	ck_assert_uint_eq(tg_count(w.t, 7, true), 1);
	uint32_t gen = prqd_bond_gen(b);

	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(tg_count(w.t, 7, false), 1);

	/* STOPPING: groups are answered Invalid at once; the handler is not called. */
	uint64_t tag = tq_group(w.t, RID, 7, 1, 3, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tl_get(w.t, 0).r.tag, tag);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.by[PRQD_BY_STOP], 1);
	ck_assert_uint_eq(s.delivered, 0);

	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(w.t->last_scope, PRQD_SCOPE_PASID);
	ck_assert_uint_eq(w.t->last_pasid, 7);
	ck_assert_uint_eq(w.t->last_rid, RID);
	ck_assert_ptr_nonnull(w.t->last_dev_priv);
	ck_assert_uint_eq(((struct test_dev *)w.t->last_dev_priv)->rid, RID);
	ck_assert_uint_eq(w.t->inflight, 0);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.drains, 1);
	ck_assert_uint_eq(s.drain_steps, 1);
	ck_assert_uint_eq(s.commands_queued, 4);
	ck_assert_uint_eq(s.doorbells, 1);

	/* STOPPED: still answered Invalid. */
	tq_group(w.t, RID, 7, 2, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, 0);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_INVALID);

	ck_assert_int_eq(prqd_resume(b), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(prqd_bond_gen(b), gen); /* same generation */
	ck_assert_uint_eq(tg_count(w.t, 7, true), 2);
	tq_group(w.t, RID, 7, 3, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_uint_eq(tl_get(w.t, 2).r.code, PRQD_RESP_SUCCESS);

	ck_assert_str_eq(transitions(7), "none>active active>stopping stopping>draining "
					 "draining>stopped stopped>active");
	ck_assert_uint_eq(trace_count(PRQD_TR_DRAIN_BEGIN), 1);
	ck_assert_uint_eq(trace_count(PRQD_TR_DRAIN_STEP_START), 1);
	ck_assert_uint_eq(trace_count(PRQD_TR_DRAIN_STEP_DONE), 1);
	ck_assert_uint_eq(trace_count(PRQD_TR_DRAIN_END), 1);
	ck_assert_uint_eq(trace_count(PRQD_TR_RESPONSE), tl_count(w.t));
	ck_assert_uint_eq(trace_count(PRQD_TR_GROUP_DELIVER), 1);
	ck_assert_uint_eq(trace_count(PRQD_TR_REQUEST), 5);

	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_str_eq(transitions(7), "none>active active>stopping stopping>draining "
					 "draining>stopped stopped>active active>stopping "
					 "stopping>draining draining>stopped stopped>unbinding "
					 "unbinding>freed");
	ck_assert_uint_eq(w.t->drain_starts, 2);
}
END_TEST

/* prqd_drain on an ACTIVE bond stops it first; a RID-only bond drains with scope RID. */
START_TEST(drain_from_active_rid_only)
{
	struct prqd_bond *b = tw_bind(dev, PRQD_NO_PASID, &rec);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(w.t->last_scope, PRQD_SCOPE_RID);
	ck_assert_uint_eq(w.t->last_pasid, PRQD_NO_PASID);
	ck_assert_uint_eq(tg_count(w.t, PRQD_NO_PASID, false), 1);
	ck_assert_str_eq(transitions(PRQD_NO_PASID),
			 "none>active active>stopping stopping>draining draining>stopped");
}
END_TEST

/* Requests the device issued before the drain, still in the queue, are consumed by it. */
START_TEST(drain_consumes_to_mark)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	struct prqd_bond *o = tw_bind(dev, 2, &rec);
	uint64_t t1 = tq_group(w.t, RID, 1, 1, 2, 0x1000);
	uint64_t t2 = tq_group(w.t, RID, 2, 1, 2, 0x1000);
	tq_push(w.t, rq(RID, 1, 2, false, 0x5000)); /* partial: its Last never comes */
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(tq_pending(w.t), 0);
	/* Ours answered Invalid by the library, the other bond's served by its handler. */
	ck_assert_uint_eq(tl_count_tag(w.t, t1), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, t2), 1);
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_ptr_eq(rec.groups[0].bond, o);
	for (size_t i = 0; i < tl_count(w.t); i++) {
		struct test_resp r = tl_get(w.t, i);
		ck_assert_uint_eq(r.r.code, r.r.tag == t1 ? PRQD_RESP_INVALID : PRQD_RESP_SUCCESS);
	}
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.partial_discarded, 1);
	ck_assert_uint_eq(s.by[PRQD_BY_STOP], 1);

	/* A mark the queue never reaches: the drain fails instead of returning early. */
	ck_assert_int_eq(prqd_resume(b), 0);
	w.t->mark_fixed = true;
	w.t->mark = tq_tail(w.t) + 5;
	int rc = prqd_drain(b, 0, 0);
	ck_assert_int_lt(rc, 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	w.t->mark_fixed = false;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
}
END_TEST

/* ---- timeouts and failures ---- */

START_TEST(drain_timeout_keeps_step)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	w.t->drain_mode = TD_NEVER;
	uint64_t t0 = w.tp.now_ns;
	ck_assert_int_eq(prqd_drain(b, 0, 10), -ETIMEDOUT);
	ck_assert_uint_ge(w.tp.now_ns - t0, 10000000ull);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(w.t->inflight, 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.drain_timeouts, 1);
	ck_assert_uint_eq(s.drains, 0);
	ck_assert_str_eq(transitions(3), "none>active active>stopping stopping>draining "
					 "draining>stopping");

	/* Again, still never completing: the same step is polled, no second start. */
	ck_assert_int_eq(prqd_drain(b, 0, 5), -ETIMEDOUT);
	ck_assert_uint_eq(w.t->drain_starts, 1);

	/* The hardware completes: the next drain resumes the kept step (polls it, no new start
	 * while it is in flight) and, its wait closed, issues one fresh step: the old one
	 * covers only what the device sent before the first drain. */
	w.t->drain_mode = TD_COMPLETE;
	unsigned polls = w.t->drain_poll_calls;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(w.t->drain_starts, 2);
	ck_assert_uint_eq(w.t->drain_completed, 2);
	ck_assert_uint_eq(w.t->drain_poll_calls, polls + 2);
	ck_assert_uint_eq(w.t->inflight, 0);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.drain_timeouts, 2);
	ck_assert_uint_eq(s.drains, 1);
	ck_assert_uint_eq(s.drain_steps, 2);
	ck_assert_uint_eq(s.drain_repeats, 0);
}
END_TEST

START_TEST(drain_eio)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	w.t->drain_mode = TD_EIO;
	w.t->drain_polls = 2;
	ck_assert_int_eq(prqd_drain(b, 0, 0), -EIO);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(w.t->inflight, 0);
	ck_assert_uint_eq(w.t->drain_failed, 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.drain_errors, 1);
	ck_assert_uint_eq(s.drain_timeouts, 0);
	/* A failed step is gone: the retry starts a new one. */
	w.t->drain_mode = TD_COMPLETE;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->drain_starts, 2);

	/* Failing to issue the step at all. */
	ck_assert_int_eq(prqd_resume(b), 0);
	w.t->drain_start_err = -ENODEV;
	ck_assert_int_eq(prqd_drain(b, 0, 0), -ENODEV);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(w.t->inflight, 0);
	/* Unbind reports the drain's error and leaves the bond alive. */
	ck_assert_int_eq(prqd_unbind(b, 0), -ENODEV);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	w.t->drain_start_err = 0;
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
}
END_TEST

/*
 * Order stays in the core: a step the hardware aborted for another device's sake (-EAGAIN,
 * VT-d: another device's ITE) is issued again by the core, within the deadline, and every
 * step issued is counted with its cost.
 */
START_TEST(aborted_step_reissued_and_counted)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	w.t->drain_aborts = 2;
	w.t->drain_polls = 1;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->drain_aborted, 2);
	ck_assert_uint_eq(w.t->drain_starts, 3);
	ck_assert_uint_eq(w.t->drain_completed, 1);
	ck_assert_uint_eq(w.t->inflight, 0);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.drain_steps, 3);
	ck_assert_uint_eq(s.drain_reissues, 2);
	ck_assert_uint_eq(s.commands_queued, 12);
	ck_assert_uint_eq(s.doorbells, 3);
	ck_assert_uint_eq(s.drain_errors, 0);

	/* Aborted again and again: the deadline still holds, nothing is left in flight. */
	w.t->drain_aborts = 1000000;
	uint64_t t0 = w.tp.now_ns;
	ck_assert_int_eq(prqd_drain(b, 0, 5), -ETIMEDOUT);
	ck_assert_uint_le(w.tp.now_ns - t0, 6000000ull);
	ck_assert_uint_le(w.t->inflight, 1); /* at most the latest step, kept for the next drain */
	w.t->drain_aborts = 0;
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_uint_eq(w.t->inflight, 0);
}
END_TEST

/* A backend without a hardware drain step. */
START_TEST(drain_unsupported)
{
	struct tw w2;
	struct rec r2;
	tw_setup(&w2, TW_NO_OPEN);
	rec_init(&r2, PRQD_RESP_SUCCESS);
	struct prqd_backend be = test_backend;
	be.ops.drain_start = NULL;
	be.ops.drain_poll = NULL;
	be.ops.drain_release = NULL;
	be.ops.gate = NULL;
	ck_assert_int_eq(prqd__iommu_open_backend(w2.ctx, &be, NULL, &w2.iommu), 0);
	w2.t = tb_of(w2.iommu);
	struct prqd_dev *d = tw_dev(&w2, RID);
	struct prqd_bond *b = tw_bind(d, 1, &r2);
	ck_assert_int_eq(prqd_drain(b, 0, 0), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_unbind(b, 0), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_uint_eq(w2.t->ngates, 0);
	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

/* ---- held groups ---- */

struct answer_later {
	struct rec *r;
	unsigned after; /* relax calls before answering */
	unsigned calls;
	int code;
	int result;
	unsigned answered;
};

static void answer_hook(void *arg)
{
	struct answer_later *a = arg;
	if (++a->calls != a->after)
		return;
	struct prqd_group *g;
	while ((g = rec_pop_deferred(a->r)) != NULL) {
		a->result = prqd_respond(g, a->code);
		a->answered++;
	}
}

START_TEST(drain_waits_for_held)
{
	struct prqd_bond *b = tw_bind(dev, 4, &rec);
	rec.code = PRQD_RESP_DEFER;
	uint64_t tag = tq_group(w.t, RID, 4, 9, 2, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 1);

	struct answer_later a = { .r = &rec, .after = 50, .code = PRQD_RESP_SUCCESS };
	tp_set_hook(&w.tp, answer_hook, &a);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(a.answered, 1);
	ck_assert_int_eq(a.result, 0);
	ck_assert_uint_ge(a.calls, 50); /* it did wait */
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	/* The handler's own answer went out, once. */
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_SUCCESS);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 1);
	ck_assert_uint_eq(s.late_responses, 0);

	/* Never answered: the drain times out, the group keeps its one response to come. */
	ck_assert_int_eq(prqd_resume(b), 0);
	tq_group(w.t, RID, 4, 10, 1, 0x1000);
	tw_process(&w);
	tp_set_hook(&w.tp, NULL, NULL);
	ck_assert_int_eq(prqd_drain(b, 0, 5), -ETIMEDOUT);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 1);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_int_eq(prqd_respond(rec_pop_deferred(&rec), PRQD_RESP_SUCCESS), 0);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	/* Three hardware steps: the timed-out drain's own step completed within it. */
	ck_assert_uint_eq(w.t->drain_starts, 3);
}
END_TEST

/* Stop with ABANDON: held groups are answered Invalid now, the handler's answer is late. */
START_TEST(stop_abandon)
{
	struct prqd_bond *b = tw_bind(dev, 5, &rec);
	rec.code = PRQD_RESP_DEFER;
	uint64_t t1 = tq_group(w.t, RID, 5, 1, 1, 0x1000);
	uint64_t t2 = tq_group(w.t, RID, 5, 2, 3, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 2);
	struct prqd_group *g1 = rec_pop_deferred(&rec), *g2 = rec_pop_deferred(&rec);

	/* Without the flag, stop leaves held groups to the handler. */
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 2);
	ck_assert_uint_eq(tl_count(w.t), 0);
	ck_assert_int_eq(prqd_stop(b, PRQD_STOP_ABANDON), 0);
	ck_assert_uint_eq(prqd_bond_outstanding(b), 0);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_count_tag(w.t, t1), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, t2), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_uint_eq(tl_get(w.t, 1).r.code, PRQD_RESP_INVALID);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.by[PRQD_BY_ABANDON], 2);

	ck_assert_int_eq(prqd_respond(g1, PRQD_RESP_SUCCESS), -EALREADY);
	ck_assert_int_eq(prqd_respond(g2, PRQD_RESP_FAILURE), -EALREADY);
	ck_assert_uint_eq(tl_count(w.t), 2);
	s = tw_stats(&w);
	ck_assert_uint_eq(s.late_responses, 2);
	ck_assert_uint_eq(s.responses[PRQD_RESP_FAILURE], 0);
	ck_assert_uint_eq(trace_count(PRQD_TR_LATE_RESPONSE), 2);
	ck_assert_uint_eq(trace_count(PRQD_TR_RESPONSE), 2);
	for (unsigned i = 0; i < tr.n; i++)
		if (tr.ev[i].type == PRQD_TR_RESPONSE) {
			ck_assert_uint_eq(tr.ev[i].responder, PRQD_BY_ABANDON);
			ck_assert_uint_eq(tr.ev[i].code, PRQD_RESP_INVALID);
		}
	/* The handle is released after the late answer. */
	ck_assert_int_eq(prqd_respond(g1, PRQD_RESP_SUCCESS), -ESTALE);
	ck_assert_uint_eq(tw_stats(&w).late_responses, 2);

	/* The drain has nothing to wait for. */
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
}
END_TEST

START_TEST(drain_abandon)
{
	struct prqd_bond *b = tw_bind(dev, 5, &rec);
	rec.code = PRQD_RESP_DEFER;
	uint64_t t1 = tq_group(w.t, RID, 5, 1, 1, 0x1000);
	tw_process(&w);
	struct prqd_group *g1 = rec_pop_deferred(&rec);
	ck_assert_int_eq(prqd_drain(b, PRQD_DRAIN_ABANDON, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, t1), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	ck_assert_int_eq(prqd_respond(g1, PRQD_RESP_SUCCESS), -EALREADY);
	ck_assert_uint_eq(tl_count(w.t), 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.late_responses, 1);
	ck_assert_uint_eq(s.by[PRQD_BY_ABANDON], 1);
	ck_assert_uint_eq(s.by[PRQD_BY_HANDLER], 0);
}
END_TEST

/* The handler stops its own bond with ABANDON and then answers: the library's Invalid is the
 * one response. */
static int stop_inside(struct rec *r, struct prqd_bond *bond, struct prqd_group *g)
{
	ck_assert_int_eq(prqd_stop(bond, PRQD_STOP_ABANDON), 0);
	return PRQD_RESP_SUCCESS;
}

START_TEST(handler_stops_own_bond)
{
	struct prqd_bond *b = tw_bind(dev, 6, &rec);
	rec.inner = stop_inside;
	uint64_t t = tq_group(w.t, RID, 6, 1, 1, 0x1000);
	tq_group(w.t, RID, 6, 2, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tl_count_tag(w.t, t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.late_responses, 1);
	ck_assert_uint_eq(s.by[PRQD_BY_ABANDON], 1);
	ck_assert_uint_eq(s.by[PRQD_BY_STOP], 1);
}
END_TEST

/* ---- during a drain ---- */

struct during {
	struct test_iommu *t;
	struct prqd_dev *dev;
	struct prqd_bond *self, *other;
	unsigned calls;
	uint64_t tag_self, tag_other;
	int rc_drain, rc_unbind, rc_dev_drain, rc_dev_remove, rc_bind, rc_resume;
	int rc_stop;
	struct prqd_bond *bound;
	struct rec *r;
};

static void during_hook(void *arg)
{
	struct during *d = arg;
	if (++d->calls != 3)
		return;
	d->tag_self = tq_group(d->t, RID, prqd_bond_pasid(d->self), 20, 2, 0x1000);
	d->tag_other = tq_group(d->t, RID, prqd_bond_pasid(d->other), 20, 2, 0x1000);
	d->rc_drain = prqd_drain(d->self, 0, 0);
	d->rc_unbind = prqd_unbind(d->self, PRQD_UNBIND_FORCE);
	d->rc_dev_drain = prqd_dev_drain(d->dev, 0, 0);
	d->rc_dev_remove = prqd_dev_remove(d->dev);
	d->rc_resume = prqd_resume(d->self);
	d->rc_stop = prqd_stop(d->self, 0);
}

START_TEST(other_calls_during_drain)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	struct prqd_bond *o = tw_bind(dev, 2, &rec);
	struct during d = { .t = w.t, .dev = dev, .self = b, .other = o };
	w.t->drain_polls = 10;
	tp_set_hook(&w.tp, during_hook, &d);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_ge(d.calls, 3);
	ck_assert_int_eq(d.rc_drain, -EBUSY);
	ck_assert_int_eq(d.rc_unbind, -EBUSY);
	ck_assert_int_eq(d.rc_dev_drain, -EBUSY);
	ck_assert_int_eq(d.rc_dev_remove, -EBUSY);
	ck_assert_int_eq(d.rc_resume, -EINVAL);
	ck_assert_int_eq(d.rc_stop, 0);
	/* The other bond was served during the drain; ours answered by the library. */
	ck_assert_uint_eq(rec.calls, 1);
	ck_assert_ptr_eq(rec.groups[0].bond, o);
	ck_assert_uint_eq(tl_count_tag(w.t, d.tag_self), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, d.tag_other), 1);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(o), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(w.t->drain_starts, 1);
}
END_TEST

/* ---- overflow during a drain ---- */

static void overflow_poll_hook(struct test_iommu *t, struct prqd_drain_step *op, void *arg)
{
	unsigned *n = arg;
	if ((*n)++ == 0)
		tq_raise_overflow(t);
}

START_TEST(overflow_during_drain)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	tw_bind(dev, 2, &rec);
	/* Partials of ours and of the other bond. */
	tq_push(w.t, rq(RID, 1, 1, false, 0x1000));
	tq_push(w.t, rq(RID, 2, 1, false, 0x2000));
	tw_process(&w);
	unsigned n = 0;
	w.t->poll_hook = overflow_poll_hook;
	w.t->poll_hook_arg = &n;
	w.t->drain_polls = 1;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert(!w.t->overflow);
	ck_assert_uint_eq(w.t->overflow_acks, 1);
	/* The step was repeated after the overflow. */
	ck_assert_uint_eq(w.t->drain_starts, 2);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.drain_repeats, 1);
	ck_assert_uint_eq(s.drain_steps, 2);
	ck_assert_uint_eq(s.overflows, 1);
	ck_assert_uint_eq(s.partial_discarded, 2);
	ck_assert_uint_eq(trace_count(PRQD_TR_OVERFLOW), 1);
	/* The other bond's group starts over with its Last. */
	tq_push(w.t, rq(RID, 2, 1, true, 0x3000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(rec.groups[0].count, 1);
}
END_TEST

/* An overflow already pending with requests in the queue: consumed, acknowledged, repeated. */
START_TEST(overflow_pending_at_drain)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	w.t->limit = 3;
	tq_group(w.t, RID, 1, 1, 3, 0x1000);
	ck_assert_int_eq(tq_push(w.t, rq(RID, 1, 2, true, 0x1000)), -ENOSPC);
	ck_assert_uint_eq(w.t->dropped_last, 1);
	w.t->limit = TQ_CAP;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(tq_pending(w.t), 0);
	ck_assert_uint_eq(w.t->overflow_acks, 1);
	ck_assert_uint_eq(tw_stats(&w).drain_repeats, 1);
	ck_assert_uint_eq(w.t->drain_starts, 2);
	ck_assert_uint_eq(tl_count(w.t), 1);
}
END_TEST

/* The acknowledge is refused a few times during a drain: it keeps trying, then repeats. */
START_TEST(overflow_ack_refused_during_drain)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	tq_raise_overflow(w.t);
	w.t->ack_refuse = 3;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(w.t->overflow_ack_refused, 3);
	ck_assert_uint_eq(w.t->overflow_acks, 1);
	ck_assert_uint_eq(tw_stats(&w).drain_repeats, 1);
}
END_TEST

/* Several batches before the mark (core.fetch_batch 1). */
START_TEST(drain_many_batches)
{
	struct tw w2;
	struct rec r2;
	tw_setup(&w2, TW_NO_OPEN);
	ck_assert_int_eq(prqd_ctx_set_param(w2.ctx, "core.fetch_batch", "1"), 0);
	tw_open(&w2);
	rec_init(&r2, PRQD_RESP_SUCCESS);
	struct prqd_dev *d = tw_dev(&w2, RID);
	struct prqd_bond *b = tw_bind(d, 1, &r2);
	tw_bind(d, 2, &r2);
	for (unsigned i = 0; i < 50; i++)
		tq_group(w2.t, RID, 1 + i % 2, (uint16_t)i, 2, 0x1000);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(tq_pending(w2.t), 0);
	ck_assert_uint_eq(tl_count(w2.t), 50);
	ck_assert_uint_eq(r2.calls, 25);
	ck_assert_uint_eq(w2.t->fetch_calls, 100); /* one request per fetch, none past the mark */
	ck_assert_int_eq(prqd_dev_unbind_all(d, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

/* The queue cannot be read: the drain fails with the backend's error, the bond stays
 * STOPPING; prqd_iommu_process reports it too. */
START_TEST(drain_fetch_error)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	w.t->fetch_err = -EIO;
	ck_assert_int_eq(prqd_drain(b, 0, 0), -EIO);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_iommu_process(w.iommu, 0), -EIO);
	ck_assert_uint_eq(tw_stats(&w).drain_errors, 1);
	w.t->fetch_err = 0;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_get(w.t, 0).r.code, PRQD_RESP_INVALID);
}
END_TEST

/* Gating is an optimisation: a backend error there changes nothing but a warning. */
static unsigned warnings;
static void count_log(void *user, int prio, const char *file, int line, const char *fn,
		      const char *msg)
{
	if (prio == PRQD_LOG_WARNING)
		warnings++;
}

START_TEST(gate_error_ignored)
{
	prqd_ctx_set_log_fn(w.ctx, count_log, NULL);
	prqd_ctx_set_log_priority(w.ctx, PRQD_LOG_WARNING);
	w.t->gate_err = -EIO;
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_resume(b), 0);
	ck_assert_uint_eq(warnings, 3);
	/* -EOPNOTSUPP (no gating in this hardware) is not even worth a warning. */
	w.t->gate_err = -EOPNOTSUPP;
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_uint_eq(warnings, 3);
	w.t->gate_err = 0;
	prqd_ctx_set_log_fn(w.ctx, NULL, NULL);
}
END_TEST

/*
 * Other devices keep the queue busy (every fetch finds a full batch and more) while an
 * overflow waits for the queue to empty: each fetch costs 20 us of (fake) time. The drain is
 * bounded by its deadline: it returns -ETIMEDOUT long before the flood ends.
 */
struct flood {
	struct test_platform *tp;
	unsigned left;
};

static void flood_hook(struct test_iommu *t, void *arg)
{
	struct flood *f = arg;
	atomic_fetch_add(&f->tp->now_ns, 20000);
	for (unsigned i = 0; i < 40 && f->left; i++, f->left--)
		tq_push(t, rq(RID2, 1, (uint16_t)(f->left % 512), true, 0x1000));
}

START_TEST(drain_deadline_under_flood)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	struct prqd_dev *other = tw_dev(&w, RID2);
	struct rec r2;
	rec_init(&r2, PRQD_RESP_SUCCESS);
	tw_bind(other, 1, &r2);
	struct flood f = { .tp = &w.tp, .left = 40000 }; /* 1000 fetches: 20 ms */
	tq_raise_overflow(w.t);
	w.t->fetch_hook = flood_hook;
	w.t->fetch_hook_arg = &f;
	int rc = prqd_drain(b, 0, 5);
	w.t->fetch_hook = NULL;
	ck_assert_msg(rc == -ETIMEDOUT && f.left > 0,
		      "drain with a 5 ms deadline returned %d after %u requests (%u us)", rc,
		      40000 - f.left, (40000 - f.left) / 40 * 20);
	tw_process(&w);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_dev_unbind_all(other, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(other), 0);
	rec_fini(&r2);
}
END_TEST

/*
 * Calls that read "what is queued" return under a flood instead of following it: another
 * device keeps the queue full (each fetch finds 40 new requests behind it). Before the fix
 * prqd_iommu_process(iommu, 0) and prqd_unbind(NO_DRAIN) read until the flood ended.
 */
START_TEST(queued_reads_bounded_under_flood)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	struct prqd_dev *other = tw_dev(&w, RID2);
	struct rec r2;
	rec_init(&r2, PRQD_RESP_SUCCESS);
	tw_bind(other, 1, &r2);
	unsigned batch = 32;
	ck_assert_uint_eq(w.iommu->batch_size, batch);
	for (unsigned i = 0; i < 10; i++)
		tq_push(w.t, rq(RID2, 1, (uint16_t)i, true, 0x1000));

	struct flood f = { .tp = &w.tp, .left = 40000 };
	w.t->fetch_hook = flood_hook;
	w.t->fetch_hook_arg = &f;
	int n = prqd_iommu_process(w.iommu, 0);
	/* The ten queued at the call, plus at most one batch of what came after. */
	ck_assert_msg(n >= 10 && n <= 10 + (int)batch, "process(0) read %d under a flood", n);

	uint64_t before = w.t->fetched;
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_msg(w.t->fetched - before <= 40 + 2 * batch,
		      "unbind(NO_DRAIN) read %llu under a flood",
		      (unsigned long long)(w.t->fetched - before));
	w.t->fetch_hook = NULL;
	ck_assert_uint_gt(f.left, 30000);
	while (tw_process(&w) > 0)
		;
	ck_assert_int_eq(prqd_dev_unbind_all(other, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(other), 0);
	rec_fini(&r2);
}
END_TEST

/* ---- unbind ---- */

struct marker_later {
	struct test_iommu *t;
	uint32_t pasid;
	unsigned after, calls;
	unsigned starts_at_push;
};

static void marker_hook(void *arg)
{
	struct marker_later *m = arg;
	if (++m->calls == m->after) {
		m->starts_at_push = m->t->drain_starts;
		tq_push(m->t, rq_marker(RID, m->pasid, 0));
	}
}

/* The marker arrives while the hardware step runs: read, never answered, none missing. */
START_TEST(unbind_stop_marker_read_during_drain)
{
	struct prqd_bond *b = tw_bind(dev, 9, &rec);
	w.t->drain_polls = 40;
	struct marker_later m = { .t = w.t, .pasid = 9, .after = 20 };
	tp_set_hook(&w.tp, marker_hook, &m);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_ge(m.calls, 20);
	ck_assert_uint_eq(m.starts_at_push, 1); /* pushed while the step was in flight */
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(tl_count(w.t), 0);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stop_markers, 1);
	ck_assert_uint_eq(s.stop_markers_unexpected, 0);
	ck_assert_uint_eq(s.stop_markers_missing, 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_FREED);
}
END_TEST

START_TEST(unbind_stop_marker_already_seen)
{
	struct prqd_bond *b = tw_bind(dev, 9, &rec);
	tq_push(w.t, rq_marker(RID, 9, 0));
	tw_process(&w);
	uint64_t relax = w.tp.relax_calls;
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(w.tp.relax_calls, relax); /* nothing to wait for */
	ck_assert_uint_eq(tl_count(w.t), 0);
	ck_assert_uint_eq(tw_stats(&w).stop_markers_missing, 0);
}
END_TEST

/*
 * With a page-drain step, a marker not read by the end of the drain can never come (lost in
 * an overflow: markers are neither credited nor auto-answered). The unbind does not wait out
 * its deadline for it: it succeeds and counts the marker missing.
 */
START_TEST(unbind_stop_marker_lost_is_counted)
{
	struct prqd_bond *b = tw_bind(dev, 9, &rec);
	uint64_t relax = w.tp.relax_calls;
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_lt(w.tp.relax_calls - relax, 5);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.stop_markers_missing, 1);
	ck_assert_uint_eq(s.drain_timeouts, 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_FREED);
}
END_TEST

/* The flag on a device that does not use markers is a caller error, refused up front. */
START_TEST(unbind_stop_marker_needs_marker_device)
{
	struct prqd_dev_info info = tw_info(RID2);
	info.uses_stop_markers = false;
	struct prqd_dev *d2;
	ck_assert_int_eq(prqd_dev_add(w.iommu, &info, &d2), 0);
	struct prqd_bond *b = tw_bind(d2, 3, &rec);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), -EINVAL);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(w.t->drain_starts, 0);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(d2), 0);
}
END_TEST

/* A marker is remembered until resume: it does not count for the next stop episode. */
START_TEST(marker_forgotten_on_resume)
{
	struct prqd_bond *b = tw_bind(dev, 9, &rec);
	tq_push(w.t, rq_marker(RID, 9, 0));
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_resume(b), 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_eq(tw_stats(&w).stop_markers_missing, 1);
}
END_TEST

/*
 * At drain level none (no hardware drain step), only the marker says the device's requests
 * are all in: the unbind waits for it within the deadline, overflow or not.
 */
/* A world whose scripted IOMMU declares drain @level, with a 3 ms drain deadline. */
static void open_level_world(struct tw *w2, uint32_t level)
{
	tw_setup(w2, TW_NO_OPEN);
	ck_assert_int_eq(prqd_ctx_set_param(w2->ctx, "core.drain_timeout_ms", "3"), 0);
	tb_init_caps.drain_level = level;
	ck_assert_int_eq(prqd__iommu_open_backend(w2->ctx, &test_backend, NULL, &w2->iommu), 0);
	w2->t = tb_of(w2->iommu);
	ck_assert_uint_eq(w2->iommu->caps.drain_level, level);
}

static void raise_overflow_hook(void *arg)
{
	struct marker_later *m = arg;
	if (++m->calls == m->after)
		tq_raise_overflow(m->t);
}

START_TEST(unbind_stop_marker_waits_without_hw_drain)
{
	struct tw w2;
	struct rec r2;
	rec_init(&r2, PRQD_RESP_SUCCESS);
	open_level_world(&w2, PRQD_LEVEL_NONE); /* as VT-d without ECAP.PDS */
	struct prqd_dev *d = tw_dev(&w2, RID);

	/* the marker comes after 20 relaxes: waited for */
	struct prqd_bond *b = tw_bind(d, 9, &r2);
	struct marker_later m = { .t = w2.t, .pasid = 9, .after = 20 };
	tp_set_hook(&w2.tp, marker_hook, &m);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_ge(m.calls, 20);
	ck_assert_uint_eq(tw_stats(&w2).stop_markers_missing, 0);

	/* no marker: the deadline (3 ms) runs out, the bond stays STOPPING */
	b = tw_bind(d, 10, &r2);
	tp_set_hook(&w2.tp, NULL, NULL);
	uint64_t t0 = w2.tp.now_ns;
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), -ETIMEDOUT);
	ck_assert_uint_ge(w2.tp.now_ns - t0, 3000000ull);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);

	/* An overflow during the wait may have dropped the marker, or the marker may still be
	 * on its way behind requests of the PASID: the two can't be told apart, so the wait
	 * goes on to the deadline; only the marker proves the device's requests are in. */
	struct marker_later o = { .t = w2.t, .after = 5 };
	tp_set_hook(&w2.tp, raise_overflow_hook, &o);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), -ETIMEDOUT);
	ck_assert_uint_ge(tw_stats(&w2).overflows, 1);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	tp_set_hook(&w2.tp, NULL, NULL);

	/* The marker arrives late: the next unbind reads it and succeeds. */
	tq_push(w2.t, rq_marker(RID, 10, 0));
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_eq(tw_stats(&w2).stop_markers_missing, 0);
	ck_assert_uint_eq(w2.t->drain_starts, 0);

	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

/*
 * At drain level snapshot the drain steps run as at exact, and where the device promised
 * a Stop Marker the marker is waited for after them: the snapshot covers what the IOMMU had
 * accepted, only the marker says the device sent nothing more. Without the promise the
 * steps are the whole proof.
 */
START_TEST(snapshot_level_rounds_then_marker)
{
	struct tw w2;
	struct rec r2;
	rec_init(&r2, PRQD_RESP_SUCCESS);
	open_level_world(&w2, PRQD_LEVEL_SNAPSHOT);
	struct prqd_dev *d = tw_dev(&w2, RID);

	/* The marker comes after 20 relaxes, well after the step completed: waited for. */
	struct prqd_bond *b = tw_bind(d, 9, &r2);
	struct marker_later m = { .t = w2.t, .pasid = 9, .after = 20 };
	tp_set_hook(&w2.tp, marker_hook, &m);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	ck_assert_uint_ge(m.calls, 20);
	ck_assert_uint_eq(w2.t->drain_starts, 1);
	ck_assert_uint_eq(w2.t->drain_completed, 1);
	ck_assert_uint_eq(tw_stats(&w2).stop_markers_missing, 0);
	tp_set_hook(&w2.tp, NULL, NULL);

	/* No marker: the steps completed, yet the unbind runs out its deadline (at exact it
	 * would return 0 and count the marker missing). */
	b = tw_bind(d, 10, &r2);
	uint64_t t0 = w2.tp.now_ns;
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), -ETIMEDOUT);
	ck_assert_uint_ge(w2.tp.now_ns - t0, 3000000ull);
	ck_assert_uint_eq(w2.t->drain_completed, 2);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);

	/* Without the promise, the steps alone prove the drain. */
	b = tw_bind(d, 11, &r2);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(w2.t->drain_completed, 3);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);

	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

/* Stop markers carry a PASID: a RID-only bond can never see one, so the flag can't make
 * its unbind wait (prqd_dev_unbind_all(dev, STOP_MARKER) covers RID-only bonds too). */
START_TEST(unbind_stop_marker_rid_only)
{
	struct prqd_bond *br = tw_bind(dev, PRQD_NO_PASID, &rec);
	struct prqd_bond *bp = tw_bind(dev, 4, &rec);
	tq_push(w.t, rq_marker(RID, 4, 0));
	uint64_t relax = w.tp.relax_calls;
	int rc = prqd_dev_unbind_all(dev, PRQD_UNBIND_STOP_MARKER);
	ck_assert_msg(rc == 0, "prqd_dev_unbind_all(STOP_MARKER) with a RID-only bond: %d", rc);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_FREED);
	ck_assert_int_eq(prqd_bond_state(bp), PRQD_BOND_FREED);
	ck_assert_uint_eq(w.t->drain_starts, 2); /* the drain itself is still done */
	ck_assert_uint_lt(w.tp.relax_calls - relax, 10);
}
END_TEST


START_TEST(unbind_force_never_draining)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	rec.code = PRQD_RESP_DEFER;
	uint64_t tag = tq_group(w.t, RID, 3, 1, 1, 0x1000);
	tq_push(w.t, rq(RID, 3, 2, false, 0x1000)); /* a partial */
	tw_process(&w);
	struct prqd_group *g = rec_pop_deferred(&rec);

	w.t->drain_mode = TD_NEVER;
	w.t->release_busy = true;
	ck_assert_int_eq(prqd_drain(b, 0, 5), -ETIMEDOUT);
	ck_assert_int_eq(prqd_unbind(b, 0), -ETIMEDOUT);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPING);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(tl_count(w.t), 1); /* unbind's drain abandoned the held group */
	uint64_t live = tp_live(&w.tp);

	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_FREED);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tag), 1);
	ck_assert_int_eq(prqd_respond(g, PRQD_RESP_SUCCESS), -EALREADY);
	ck_assert_uint_eq(tl_count(w.t), 1);
	struct prqd_stats s = tw_stats(&w);
	ck_assert_uint_eq(s.partial_discarded, 1);
	ck_assert_uint_eq(s.late_responses, 1);

	/* The step is still in flight: the quarantined PASID keeps it, without allocating
	 * (FORCE must not fail), so the next drain of the PASID picks it up. */
	ck_assert_uint_eq(w.t->inflight, 1);
	ck_assert_uint_eq(tp_live(&w.tp), live);
	tw_process(&w);
	ck_assert_uint_eq(w.t->inflight, 1);

	/* Rebinding needs proof that generation 1 is gone: the step never completes, so the
	 * bind runs out of time and the PASID stays quarantined. */
	rec.code = PRQD_RESP_SUCCESS;
	struct prqd_bond *nb = NULL;
	ck_assert_int_eq(prqd_bind(dev, 3, rec_handler, &rec, &nb), -ETIMEDOUT);
	ck_assert_ptr_null(nb);
	ck_assert_uint_eq(w.t->drain_starts, 1);
	/* Meanwhile, a group of PASID 3 is answered Invalid as stale, delivered to nobody. */
	uint64_t stale = tq_group(w.t, RID, 3, 4, 1, 0x3000);
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(tl_count_tag(w.t, stale), 1);
	ck_assert_uint_eq(tw_stats(&w).stale_groups, 1);

	/* The hardware completes the old step; a bind polls it to the end, then issues the
	 * step that covers its own start, and only then binds. */
	w.t->drain_mode = TD_COMPLETE;
	struct prqd_bond *b2 = tw_bind(dev, 3, &rec);
	ck_assert_uint_eq(w.t->drain_starts, 2);
	ck_assert_uint_eq(w.t->inflight, 0);
	/* The old step ended: kept as the IOMMU's spare (reused by the new step, which is a
	 * spare again now; freed at close), the bond slab reused: nothing more is live. */
	ck_assert_uint_eq(tp_live(&w.tp), live);
	ck_assert_uint_gt(prqd_bond_gen(b2), prqd_bond_gen(rec.groups[0].bond));
	tq_push(w.t, rq(RID, 3, 2, true, 0x2000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_ptr_eq(rec.groups[1].bond, b2);
	ck_assert_uint_eq(rec.groups[1].count, 1);
}


/* A step still in flight when the IOMMU closes is released there; nothing leaks. */
START_TEST(abandoned_step_at_close)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	w.t->drain_mode = TD_NEVER;
	w.t->release_busy = true;
	ck_assert_int_eq(prqd_drain(b, 0, 1), -ETIMEDOUT);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_uint_eq(w.t->inflight, 1);
	/* teardown: remove the device and close; the leak check is in tw_teardown. */
}
END_TEST

/* A step in flight on a bond's device is tracked past the device's removal too. */
START_TEST(abandoned_step_after_dev_remove)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	w.t->drain_mode = TD_NEVER;
	w.t->release_busy = true;
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 1), -ETIMEDOUT);
	ck_assert_uint_eq(w.t->last_scope, PRQD_SCOPE_DEVICE);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_uint_eq(w.t->inflight, 1);
	w.t->drain_mode = TD_COMPLETE;
	tw_process(&w);
	ck_assert_uint_eq(w.t->inflight, 0);
	dev = tw_dev(&w, RID); /* for the teardown */
}
END_TEST

START_TEST(unbind_no_drain)
{
	struct prqd_bond *b = tw_bind(dev, 3, &rec);
	tq_push(w.t, rq(RID, 3, 2, false, 0x1000)); /* a partial */
	tw_process(&w);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), -EBUSY);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	tq_push(w.t, rq(RID, 3, 2, true, 0x2000));
	rec.code = PRQD_RESP_DEFER;
	tw_process(&w);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), -EBUSY);
	ck_assert_int_eq(prqd_respond(rec_pop_deferred(&rec), PRQD_RESP_SUCCESS), 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_uint_eq(w.t->drain_starts, 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
	ck_assert_uint_eq(tg_count(w.t, 3, false), 1);
}
END_TEST

/* ---- generations ---- */

START_TEST(rebind_generation)
{
	struct prqd_bond *b1 = tw_bind(dev, 5, &rec);
	uint32_t g1 = prqd_bond_gen(b1);
	tq_push(w.t, rq(RID, 5, 3, false, 0x1000)); /* old generation's partial */
	tw_process(&w);
	ck_assert_int_eq(prqd_unbind(b1, 0), 0);
	ck_assert_uint_eq(tw_stats(&w).partial_discarded, 1);

	/* A complete group in the queue when the PASID is bound again was sent before the
	 * bind: consumed after it, it is still nobody's. Answered Invalid, never delivered. */
	uint64_t tq1 = tq_group(w.t, RID, 5, 4, 1, 0x4000);
	struct prqd_bond *b2 = tw_bind(dev, 5, &rec);
	ck_assert_uint_ne(prqd_bond_gen(b2), g1);
	tq_push(w.t, rq(RID, 5, 3, true, 0x2000)); /* the old partial's index */
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tq1), 1);
	ck_assert_uint_eq(tw_stats(&w).stale_requests, 1);
	ck_assert_ptr_eq(rec.groups[0].bond, b2);
	ck_assert_uint_eq(rec.groups[0].gen, prqd_bond_gen(b2));
	ck_assert_uint_eq(rec.groups[0].count, 1); /* the old partial never joins */
	ck_assert_uint_eq(rec.groups[0].addrs[0], 0x2000);

	/* Begun under b2, unbound by force, rebound: the partial goes with b2. */
	tq_push(w.t, rq(RID, 5, 6, false, 0x6000));
	tw_process(&w);
	ck_assert_int_eq(prqd_unbind(b2, PRQD_UNBIND_FORCE), 0);
	struct prqd_bond *b3 = tw_bind(dev, 5, &rec);
	ck_assert_uint_ne(prqd_bond_gen(b3), prqd_bond_gen(b2));
	tq_push(w.t, rq(RID, 5, 6, true, 0x7000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 2);
	ck_assert_ptr_eq(rec.groups[1].bond, b3);
	ck_assert_uint_eq(rec.groups[1].count, 1);

	/* Begun with no bond at all, completed after a bind: stale, not delivered whole. */
	ck_assert_int_eq(prqd_unbind(b3, 0), 0);
	tq_push(w.t, rq(RID, 5, 7, false, 0x8000));
	tw_process(&w);
	struct prqd_bond *b4 = tw_bind(dev, 5, &rec);
	tq_push(w.t, rq(RID, 5, 7, true, 0x9000));
	tw_process(&w);
	ck_assert_uint_eq(rec.n, 3);
	ck_assert_ptr_eq(rec.groups[2].bond, b4);
	ck_assert_uint_eq(rec.groups[2].count, 1);
	ck_assert_uint_eq(tw_stats(&w).stale_groups, 1);
	/* Every generation differs. */
	ck_assert_uint_ne(prqd_bond_gen(b4), prqd_bond_gen(b3));
	ck_assert_uint_ne(prqd_bond_gen(b4), g1);
}
END_TEST

/* ---- device-wide ---- */

START_TEST(device_wide)
{
	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	struct prqd_bond *b2 = tw_bind(dev, 2, &rec);
	struct prqd_bond *br = tw_bind(dev, PRQD_NO_PASID, &rec);
	struct prqd_dev *other = tw_dev(&w, RID2);
	struct prqd_bond *ob = tw_bind(other, 1, &rec);

	rec.code = PRQD_RESP_DEFER;
	tq_group(w.t, RID, 2, 1, 1, 0x1000);       /* held by the handler */
	tq_push(w.t, rq(RID, 1, 2, false, 0x1000)); /* partials */
	tq_push(w.t, rq(RID, PRQD_NO_PASID, 2, false, 0x1000));
	tq_push(w.t, rq(RID, 77, 2, false, 0x1000)); /* of a PASID without bond */
	tw_process(&w);
	rec.code = PRQD_RESP_SUCCESS;

	ck_assert_int_eq(prqd_dev_stop(dev, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_bond_state(b2), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_bond_state(ob), PRQD_BOND_ACTIVE);
	ck_assert_uint_eq(tg_count(w.t, 1, false), 1);
	ck_assert_uint_eq(tg_count(w.t, PRQD_NO_PASID, false), 1);

	/* The held group is answered by the handler during the drain. */
	struct answer_later a = { .r = &rec, .after = 10, .code = PRQD_RESP_SUCCESS };
	tp_set_hook(&w.tp, answer_hook, &a);
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0);
	tp_set_hook(&w.tp, NULL, NULL);
	ck_assert_uint_eq(a.answered, 1);
	ck_assert_int_eq(a.result, 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(b2), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_bond_state(ob), PRQD_BOND_ACTIVE);
	/* One hardware step for the whole function. */
	ck_assert_uint_eq(w.t->drain_starts, 1);
	ck_assert_uint_eq(w.t->scope_count[PRQD_SCOPE_DEVICE], 1);
	ck_assert_uint_eq(w.t->last_rid, RID);
	ck_assert_uint_eq(tw_stats(&w).partial_discarded, 3);

	/* Groups of every bond of the device are answered Invalid; the other device's served. */
	uint64_t t1 = tq_group(w.t, RID, 1, 3, 1, 0x1000);
	uint64_t tr_ = tq_group(w.t, RID, PRQD_NO_PASID, 3, 1, 0x1000);
	uint64_t to = tq_group(w.t, RID2, 1, 3, 1, 0x1000);
	unsigned calls = rec.calls;
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, calls + 1);
	ck_assert_uint_eq(tl_count_tag(w.t, t1), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, tr_), 1);
	ck_assert_uint_eq(tl_count_tag(w.t, to), 1);

	ck_assert_int_eq(prqd_dev_resume(dev), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_bond_state(b2), PRQD_BOND_ACTIVE);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_ACTIVE);
	tq_group(w.t, RID, PRQD_NO_PASID, 4, 1, 0x1000);
	tw_process(&w);
	ck_assert_uint_eq(rec.calls, calls + 2);

	/* Device drain from ACTIVE, then a second one: STOPPED already, still one step each. */
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0);
	ck_assert_uint_eq(w.t->scope_count[PRQD_SCOPE_DEVICE], 2);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_STOPPED);

	ck_assert_int_eq(prqd_dev_unbind_all(dev, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_FREED);
	ck_assert_int_eq(prqd_bond_state(br), PRQD_BOND_FREED);
	ck_assert_int_eq(prqd_dev_remove(other), -EBUSY);
	ck_assert_int_eq(prqd_unbind(ob, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(other), 0);
}
END_TEST

START_TEST(device_drain_timeout_and_abandon)
{
	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	struct prqd_bond *b2 = tw_bind(dev, 2, &rec);
	rec.code = PRQD_RESP_DEFER;
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	tq_group(w.t, RID, 2, 1, 1, 0x1000);
	tw_process(&w);
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 3), -ETIMEDOUT);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_bond_state(b2), PRQD_BOND_STOPPING);
	ck_assert_int_eq(prqd_dev_drain(dev, PRQD_DRAIN_ABANDON, 0), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(tl_count(w.t), 2);
	ck_assert_uint_eq(tw_stats(&w).by[PRQD_BY_ABANDON], 2);
	ck_assert_uint_eq(rec_answer_all(&rec, PRQD_RESP_SUCCESS), 0);
	ck_assert_uint_eq(tw_stats(&w).late_responses, 2);
	ck_assert_uint_eq(tl_count(w.t), 2);
	/* A bond busy alone makes the device-wide drain refuse. */
	ck_assert_int_eq(prqd_resume(b1), 0);
	w.t->drain_mode = TD_NEVER;
	ck_assert_int_eq(prqd_drain(b1, 0, 1), -ETIMEDOUT);
	ck_assert_int_eq(prqd_dev_stop(dev, PRQD_STOP_ABANDON), 0);
	w.t->drain_mode = TD_COMPLETE;
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0);
}
END_TEST

/*
 * A hardware step left in flight by a timed-out drain covers only requests issued before it
 * started. Once the bond went STOPPED another way (a device-wide drain) and was resumed, new
 * requests follow; the next drain must not accept the old step's completion for them.
 */
START_TEST(stale_step_not_reused_after_resume)
{
	struct prqd_bond *b = tw_bind(dev, 1, &rec);
	w.t->drain_mode = TD_NEVER;
	ck_assert_int_eq(prqd_drain(b, 0, 1), -ETIMEDOUT); /* step 1 in flight */
	w.t->drain_mode = TD_COMPLETE;
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0); /* step 2 (device) */
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_STOPPED);
	ck_assert_int_eq(prqd_resume(b), 0);
	/* New requests of the resumed bond; then a drain. */
	tq_group(w.t, RID, 1, 1, 1, 0x1000);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_msg(w.t->drain_starts == 3,
		      "the drain after resume reused a step started before the resume "
		      "(%u steps started, expected 3)",
		      w.t->drain_starts);
}
END_TEST

/* The same for the device's own step. */
START_TEST(stale_device_step_not_reused)
{
	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	struct prqd_bond *b2 = tw_bind(dev, 2, &rec);
	w.t->drain_mode = TD_NEVER;
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 1), -ETIMEDOUT); /* device step in flight */
	w.t->drain_mode = TD_COMPLETE;
	ck_assert_int_eq(prqd_drain(b1, 0, 0), 0);
	ck_assert_int_eq(prqd_drain(b2, 0, 0), 0);
	ck_assert_int_eq(prqd_dev_resume(dev), 0);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_ACTIVE);
	tq_group(w.t, RID, 2, 1, 1, 0x1000);
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0);
	ck_assert_uint_eq(w.t->scope_count[PRQD_SCOPE_DEVICE], 2);
	ck_assert_uint_eq(w.t->inflight, 0);
	ck_assert_uint_eq(tl_count(w.t), 1);
}
END_TEST

/* A bond bound while a device-wide drain runs is not the drain's: it stays as bound. */
struct bind_during {
	struct prqd_dev *dev;
	struct rec *r;
	unsigned calls;
	int rc;
	struct prqd_bond *b;
};

static void bind_during_hook(void *arg)
{
	struct bind_during *d = arg;
	if (++d->calls == 2)
		d->rc = prqd_bind(d->dev, 42, rec_handler, d->r, &d->b);
}

START_TEST(bind_during_device_drain)
{
	struct prqd_bond *b1 = tw_bind(dev, 1, &rec);
	struct bind_during d = { .dev = dev, .r = &rec };
	w.t->drain_polls = 5;
	tp_set_hook(&w.tp, bind_during_hook, &d);
	ck_assert_int_eq(prqd_dev_drain(dev, 0, 0), 0);
	tp_set_hook(&w.tp, NULL, NULL);
	ck_assert_uint_ge(d.calls, 2);
	ck_assert_int_eq(prqd_bond_state(b1), PRQD_BOND_STOPPED);
	ck_assert_uint_eq(prqd_bond_outstanding(b1), 0);
	if (d.rc == 0) {
		/* Not the drain's: it can be drained on its own now. */
		ck_assert_int_eq(prqd_drain(d.b, 0, 0), 0);
		ck_assert_int_eq(prqd_bond_state(d.b), PRQD_BOND_STOPPED);
		ck_assert_int_eq(prqd_resume(d.b), 0);
	}
	if (d.rc == 0) {
		ck_assert_msg(prqd_bond_state(d.b) == PRQD_BOND_ACTIVE,
			      "bond bound during a device drain ended %s (never stopped, gated "
			      "%u times off)",
			      prqd_bond_state_name(prqd_bond_state(d.b)), tg_count(w.t, 42, false));
	} else {
		ck_assert_int_eq(d.rc, -EBUSY);
	}
}
END_TEST

/* ---- gate ordering ---- */

/*
 * prqd_stop() changes the state under the bond lock and writes the gate after releasing it.
 * If another thread drains and resumes the bond in that window, its "gate on" must not be
 * overtaken by the stop's "gate off": the gate has to follow the bond's final state. The
 * other thread starts inside the stop's gate call, so its resume lands in the window.
 */
struct gate_racer {
	struct prqd_bond *b;
	pthread_t thread;
	bool started;
	int drain_rc, resume_rc;
};

static void *drain_and_resume(void *arg)
{
	struct gate_racer *g = arg;
	g->drain_rc = prqd_drain(g->b, 0, 0);
	g->resume_rc = prqd_resume(g->b);
	return NULL;
}

static void start_racer_in_gate(struct test_iommu *t, uint32_t pasid, bool enable, void *arg)
{
	struct gate_racer *g = arg;
	if (enable || g->started)
		return;
	g->started = true;
	ck_assert_int_eq(pthread_create(&g->thread, NULL, drain_and_resume, g), 0);
	/* Give it time to reach the gate; correctness does not depend on how far it got. */
	for (int i = 0; i < 1000; i++)
		sched_yield();
}

START_TEST(gate_follows_final_state)
{
	struct prqd_bond *b = tw_bind(dev, 5, &rec);
	struct gate_racer g = { .b = b };
	w.t->gate_hook = start_racer_in_gate;
	w.t->gate_hook_arg = &g;
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert(g.started);
	pthread_join(g.thread, NULL);
	w.t->gate_hook = NULL;
	ck_assert_int_eq(g.drain_rc, 0);
	ck_assert_int_eq(g.resume_rc, 0);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	ck_assert_msg(w.t->gate_last[5] == 1, "ACTIVE bond left gated off");
}
END_TEST

/* ---- locks absent: the same life cycle in the freestanding single-threaded mode ---- */

START_TEST(no_locks_cycle)
{
	struct tw w2;
	struct rec r2;
	tw_setup(&w2, TW_NO_LOCKS);
	rec_init(&r2, PRQD_RESP_DEFER);
	ck_assert_ptr_null(w2.tp.p.lock);
	struct prqd_dev *d = tw_dev(&w2, RID);
	struct prqd_bond *b = tw_bind(d, 1, &r2);
	tq_group(w2.t, RID, 1, 1, 2, 0x1000);
	tw_process(&w2);
	struct answer_later a = { .r = &r2, .after = 3, .code = PRQD_RESP_SUCCESS };
	tp_set_hook(&w2.tp, answer_hook, &a);
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	ck_assert_uint_eq(a.answered, 1);
	ck_assert_int_eq(prqd_resume(b), 0);
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	ck_assert_uint_eq(tl_count(w2.t), 1);
	ck_assert_int_eq(prqd_dev_remove(d), 0);
	tw_teardown(&w2);
	rec_fini(&r2);
}
END_TEST

/* ========================================================================================== */
/* Concurrency                                                                                */
/* ========================================================================================== */

#define C_PASIDS 48
#define C_CONTROLLERS 3
#define C_ITERS 1500
#define C_GROUPS 12000

struct conc {
	struct tw *w;
	struct prqd_dev *dev;
	struct rec rec;
	atomic_bool stop_consumer, stop_responder, stop_producer;
	/* tags of every Last pushed */
	uint64_t *tags;
	atomic_uint ntags;
	/* outcomes seen by the responder */
	atomic_uint resp_ok, resp_already, resp_stale, resp_other;
	atomic_uint ctl_unexpected;
	int ctl_last_bad_rc, ctl_last_bad_op;
	bool dev_ops; /* one controller also runs device-wide operations */
};

static void *consumer_main(void *arg)
{
	struct conc *c = arg;
	while (!atomic_load(&c->stop_consumer)) {
		int n = prqd_iommu_process(c->w->iommu, 64);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			sched_yield();
	}
	return NULL;
}

static void *responder_main(void *arg)
{
	struct conc *c = arg;
	for (;;) {
		struct prqd_group *g = rec_pop_deferred(&c->rec);
		if (!g) {
			if (atomic_load(&c->stop_responder))
				break;
			sched_yield();
			continue;
		}
		int rc = prqd_respond(g, PRQD_RESP_SUCCESS);
		if (rc == 0)
			atomic_fetch_add(&c->resp_ok, 1);
		else if (rc == -EALREADY)
			atomic_fetch_add(&c->resp_already, 1);
		else if (rc == -ESTALE)
			atomic_fetch_add(&c->resp_stale, 1);
		else
			atomic_fetch_add(&c->resp_other, 1);
	}
	return NULL;
}

static void *producer_main(void *arg)
{
	struct conc *c = arg;
	uint32_t seed = 12345;
	uint16_t next_index[C_PASIDS] = { 0 };
	for (unsigned i = 0; i < C_GROUPS && !atomic_load(&c->stop_producer); i++) {
		while (tq_pending(c->w->t) > 4096)
			sched_yield();
		uint32_t pasid = xorshift(&seed) % C_PASIDS;
		unsigned n = 1 + xorshift(&seed) % 3;
		uint16_t index = next_index[pasid]++ % 512;
		for (unsigned k = 0; k < n; k++) {
			int64_t seq = tq_push(c->w->t, rq(RID, pasid, index, k + 1 == n, 0x1000ull * k));
			ck_assert_int_ge(seq, 0);
			if (k + 1 == n)
				c->tags[atomic_fetch_add(&c->ntags, 1)] = (uint64_t)seq + 1;
		}
		if (xorshift(&seed) % 97 == 0)
			tq_push(c->w->t, rq_marker(RID, pasid, 0));
	}
	return NULL;
}

struct ctl {
	struct conc *c;
	unsigned id;
	uint32_t seed;
	struct prqd_bond *b[C_PASIDS];
};

/* Drain deadline of the controllers, in fake-clock milliseconds (one poll is 1 us). */
#define C_DRAIN_MS 30000

static void ctl_bad(struct conc *c, int op, int rc)
{
	atomic_fetch_add(&c->ctl_unexpected, 1);
	c->ctl_last_bad_op = op;
	c->ctl_last_bad_rc = rc;
}

static void *controller_main(void *arg)
{
	struct ctl *k = arg;
	struct conc *c = k->c;
	for (unsigned it = 0; it < C_ITERS; it++) {
		/* Each controller owns the PASIDs p with p % C_CONTROLLERS == id. */
		uint32_t p = (xorshift(&k->seed) % (C_PASIDS / C_CONTROLLERS)) * C_CONTROLLERS + k->id;
		struct prqd_bond *b = k->b[p];
		unsigned op = xorshift(&k->seed) % 10;
		int rc;
		if (c->dev_ops && k->id == 0 && xorshift(&k->seed) % 20 == 0) {
			unsigned dop = xorshift(&k->seed) % 3;
			rc = dop == 0 ? prqd_dev_stop(c->dev, xorshift(&k->seed) % 2)
			     : dop == 1 ? prqd_dev_drain(c->dev, xorshift(&k->seed) % 2, C_DRAIN_MS)
					: prqd_dev_resume(c->dev);
			/* Other controllers' bonds may be busy, in the wrong state, or being
			 * unbound (prqd_dev_resume passes on prqd_resume's -ESTALE). */
			if (rc != 0 && rc != -EBUSY && rc != -EINVAL && rc != -ESTALE)
				ctl_bad(c, 100 + (int)dop, rc);
			continue;
		}
		if (!b) {
			rc = prqd_bind(c->dev, p, rec_handler, &c->rec, &k->b[p]);
			if (rc != 0)
				ctl_bad(c, 0, rc);
			continue;
		}
		switch (op) {
		case 0:
		case 1:
			rc = prqd_stop(b, xorshift(&k->seed) % 2 ? PRQD_STOP_ABANDON : 0);
			if (rc != 0)
				ctl_bad(c, 1, rc);
			break;
		case 2:
		case 3:
			/* The fake clock ticks per poll: a generous deadline, so that a consumer
			 * thread the host does not schedule for a while is no time-out. */
			rc = prqd_drain(b, xorshift(&k->seed) % 2 ? PRQD_DRAIN_ABANDON : 0, C_DRAIN_MS);
			if (rc != 0 && !(c->dev_ops && rc == -EBUSY))
				ctl_bad(c, 2, rc);
			break;
		case 4:
		case 5:
			rc = prqd_resume(b);
			if (rc != 0 && rc != -EINVAL)
				ctl_bad(c, 4, rc);
			break;
		default: {
			unsigned flags = xorshift(&k->seed) % 3 == 0 ? PRQD_UNBIND_FORCE : 0;
			rc = prqd_unbind(b, flags);
			if (rc == -EBUSY && c->dev_ops)
				break;
			if (rc != 0) {
				ctl_bad(c, 6, rc);
				rc = prqd_unbind(b, PRQD_UNBIND_FORCE);
			}
			if (rc == 0)
				k->b[p] = NULL;
			break;
		}
		}
	}
	/* Leave every bond bound and ACTIVE or stopped: the main thread unbinds. */
	return NULL;
}

static void run_concurrency(bool dev_ops)
{
	static struct conc c;
	memset(&c, 0, sizeof(c));
	struct tw *cw = &w;
	c.w = cw;
	c.dev = dev;
	c.dev_ops = dev_ops;
	if (!dev_ops) {
		/* A device whose allocation covers everything the test can have in flight. */
		ck_assert_int_eq(prqd_dev_remove(dev), 0);
		struct prqd_dev_info info = tw_info(RID);
		info.pri_capacity = 4096;
		ck_assert_int_eq(prqd_dev_add(cw->iommu, &info, &dev), 0);
		c.dev = dev;
	}
	rec_init(&c.rec, PRQD_RESP_SUCCESS);
	c.rec.defer_every = 3;
	c.tags = calloc(C_GROUPS, sizeof(*c.tags));
	ck_assert_ptr_nonnull(c.tags);
	/* The fake clock moves only in the draining threads: allow plenty of polls. */
	cw->tp.step_ns = 1000;

	pthread_t cons, resp, prod, ctl_th[C_CONTROLLERS];
	static struct ctl ctls[C_CONTROLLERS];
	memset(ctls, 0, sizeof(ctls));
	/* Every PASID starts bound, so traffic reaches handlers from the first request. */
	for (uint32_t p = 0; p < C_PASIDS; p++)
		ctls[p % C_CONTROLLERS].b[p] = tw_bind(c.dev, p, &c.rec);
	ck_assert_int_eq(pthread_create(&cons, NULL, consumer_main, &c), 0);
	ck_assert_int_eq(pthread_create(&resp, NULL, responder_main, &c), 0);
	ck_assert_int_eq(pthread_create(&prod, NULL, producer_main, &c), 0);
	for (unsigned i = 0; i < C_CONTROLLERS; i++) {
		ctls[i].c = &c;
		ctls[i].id = i;
		ctls[i].seed = 777 + i * 31;
		ck_assert_int_eq(pthread_create(&ctl_th[i], NULL, controller_main, &ctls[i]), 0);
	}
	for (unsigned i = 0; i < C_CONTROLLERS; i++)
		pthread_join(ctl_th[i], NULL);
	pthread_join(prod, NULL);
	/* Gating follows the state: an ACTIVE bond is not left gated off (its requests would
	 * never arrive), a stopped one not left gated on. */
	unsigned gate_wrong = 0;
	for (unsigned i = 0; i < C_CONTROLLERS; i++)
		for (unsigned p = 0; p < C_PASIDS; p++) {
			struct prqd_bond *b = ctls[i].b[p];
			if (!b)
				continue;
			int st = prqd_bond_state(b);
			uint8_t g = cw->t->gate_last[p];
			if ((st == PRQD_BOND_ACTIVE) != (g == 1)) {
				if (!gate_wrong++)
					fprintf(stderr, "pasid %u: %s, last gate %s\n", p,
						prqd_bond_state_name(st), g == 1 ? "on" : "off");
			}
		}
	ck_assert_msg(gate_wrong == 0, "%u bonds gated against their state", gate_wrong);
	/* Let the consumer empty the queue while bonds are still bound. */
	while (tq_pending(cw->t))
		sched_yield();
	atomic_store(&c.stop_consumer, true);
	pthread_join(cons, NULL);
	/* Unbind everything (answering held groups is the unbind's job), then stop answering. */
	for (unsigned i = 0; i < C_CONTROLLERS; i++)
		for (unsigned p = 0; p < C_PASIDS; p++)
			if (ctls[i].b[p])
				ck_assert_int_eq(prqd_unbind(ctls[i].b[p], PRQD_UNBIND_FORCE), 0);
	atomic_store(&c.stop_responder, true);
	pthread_join(resp, NULL);

	ck_assert_msg(atomic_load(&c.ctl_unexpected) == 0,
		      "%u unexpected results from control calls (last: op %d rc %d)",
		      atomic_load(&c.ctl_unexpected), c.ctl_last_bad_op, c.ctl_last_bad_rc);
	ck_assert_uint_eq(atomic_load(&c.resp_stale), 0);
	ck_assert_uint_eq(atomic_load(&c.resp_other), 0);

	/* Every group pushed got exactly one response; nothing else was answered. */
	unsigned ntags = atomic_load(&c.ntags);
	ck_assert_uint_eq(ntags, C_GROUPS);
	size_t nlog = tl_count(cw->t);
	uint8_t *seen = calloc(tq_tail(cw->t) + 2, 1);
	ck_assert_ptr_nonnull(seen);
	unsigned dup = 0, stray = 0;
	for (size_t i = 0; i < nlog; i++) {
		uint64_t tag = tl_get(cw->t, i).r.tag;
		if (tag == 0 || tag > tq_tail(cw->t)) {
			stray++;
			continue;
		}
		if (seen[tag]++)
			dup++;
	}
	unsigned missing = 0;
	for (unsigned i = 0; i < ntags; i++)
		if (seen[c.tags[i]] != 1 && !missing++)
			fprintf(stderr, "tag %llu answered %u times\n", (unsigned long long)c.tags[i],
				seen[c.tags[i]]);
	ck_assert_msg(dup == 0 && stray == 0 && missing == 0,
		      "%u duplicate, %u stray, %u missing or duplicated responses of %u groups",
		      dup, stray, missing, ntags);
	ck_assert_uint_eq(nlog, ntags);
	free(seen);

	struct prqd_stats s = tw_stats(cw);
	uint64_t by = 0;
	for (unsigned i = 0; i < PRQD_NR_RESPONDERS; i++)
		by += s.by[i];
	ck_assert_uint_eq(by, nlog);
	ck_assert_uint_eq(s.by[PRQD_BY_LOCAL], 0);
	/* Groups the pool could not hold are answered without being a group (pool_exhausted);
	 * with the large pool of the first run there are none. */
	ck_assert_uint_le(s.groups, ntags);
	if (!dev_ops) {
		ck_assert_uint_eq(s.pool_exhausted, 0);
		ck_assert_uint_eq(s.groups, ntags);
	}
	ck_assert_uint_ge(s.late_responses, atomic_load(&c.resp_already));
	ck_assert_uint_eq(cw->t->inflight, 0);
	fprintf(stderr,
		"concurrency%s: %u groups, %llu delivered, %llu drains, %llu by stop, %llu "
		"abandoned, %u late, %llu stale groups, %llu pool exhausted\n",
		dev_ops ? " (device-wide ops)" : "", ntags, (unsigned long long)s.delivered,
		(unsigned long long)s.drains, (unsigned long long)s.by[PRQD_BY_STOP],
		(unsigned long long)s.by[PRQD_BY_ABANDON], atomic_load(&c.resp_already),
		(unsigned long long)s.stale_groups, (unsigned long long)s.pool_exhausted);
	/* The backend contract: no concurrent gate calls on one device. */
	unsigned overlaps = atomic_load(&cw->t->gate_overlaps);
	free(c.tags);
	rec_fini(&c.rec);
	ck_assert_msg(overlaps == 0, "%u overlapping gate calls on one device", overlaps);
}

START_TEST(concurrency)
{
	run_concurrency(false);
}
END_TEST

START_TEST(concurrency_device_ops)
{
	run_concurrency(true);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("machine");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stop_drain_resume);
	tcase_add_test(tc, drain_from_active_rid_only);
	tcase_add_test(tc, drain_consumes_to_mark);
	tcase_add_test(tc, drain_timeout_keeps_step);
	tcase_add_test(tc, drain_eio);
	tcase_add_test(tc, drain_unsupported);
	tcase_add_test(tc, drain_waits_for_held);
	tcase_add_test(tc, stop_abandon);
	tcase_add_test(tc, drain_abandon);
	tcase_add_test(tc, handler_stops_own_bond);
	tcase_add_test(tc, other_calls_during_drain);
	tcase_add_test(tc, overflow_during_drain);
	tcase_add_test(tc, overflow_pending_at_drain);
	tcase_add_test(tc, overflow_ack_refused_during_drain);
	tcase_add_test(tc, drain_many_batches);
	tcase_add_test(tc, drain_fetch_error);
	tcase_add_test(tc, gate_error_ignored);
	tcase_add_test(tc, drain_deadline_under_flood);
	tcase_add_test(tc, unbind_stop_marker_read_during_drain);
	tcase_add_test(tc, unbind_stop_marker_already_seen);
	tcase_add_test(tc, unbind_stop_marker_lost_is_counted);
	tcase_add_test(tc, unbind_stop_marker_needs_marker_device);
	tcase_add_test(tc, unbind_stop_marker_waits_without_hw_drain);
	tcase_add_test(tc, unbind_stop_marker_rid_only);
	tcase_add_test(tc, aborted_step_reissued_and_counted);
	tcase_add_test(tc, snapshot_level_rounds_then_marker);
	tcase_add_test(tc, marker_forgotten_on_resume);
	tcase_add_test(tc, unbind_force_never_draining);
	tcase_add_test(tc, abandoned_step_at_close);
	tcase_add_test(tc, abandoned_step_after_dev_remove);
	tcase_add_test(tc, unbind_no_drain);
	tcase_add_test(tc, rebind_generation);
	tcase_add_test(tc, queued_reads_bounded_under_flood);
	tcase_add_test(tc, device_wide);
	tcase_add_test(tc, device_drain_timeout_and_abandon);
	tcase_add_test(tc, stale_step_not_reused_after_resume);
	tcase_add_test(tc, stale_device_step_not_reused);
	tcase_add_test(tc, bind_during_device_drain);
	tcase_add_test(tc, no_locks_cycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("gate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, gate_follows_final_state);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, concurrency);
	tcase_add_test(tc, concurrency_device_ops);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(state_suite());
}
