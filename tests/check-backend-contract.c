/* SPDX-License-Identifier: MIT */
/*
 * The backend contract (lib/backend.h), checked on every backend the library lists
 * (tu_backend(), never a hard-coded list), each on the simulated world, once with the
 * world's IOMMU able to drain and once without. The operations are called the way the core
 * calls them, and what each promises is checked from outside (the world's register window
 * holds the model of the backend's hardware: SMMUv3 for "smmuv3", VT-d otherwise):
 *  - fetch: seq strictly increasing across fetches, queue_tail above every seq read;
 *  - respond: the three generic codes reach the device as themselves, an unknown code is
 *    refused (-EINVAL) and reaches nobody;
 *  - drain_start/drain_poll: every request sent before the step is below the mark; polling a
 *    finished step again gives the same answer and the same mark;
 *  - drain_release: 0 on a finished step; on one in flight 0 only once nothing of it can
 *    write, -EBUSY until then;
 *  - overflow_ack: refused while the queue holds entries (the overflow stays pending),
 *    accepted once it is empty;
 *  - caps per instance: the level follows the world's IOMMU (a drain level only where it can
 *    drain, a refused drain_start where it cannot), only known flags, and the core never
 *    starts a step at level none;
 *  - gate, on every instance that claims PRQD_CAP_GATE (with and without the platform's
 *    PASID-entry callback): closed, the PASID's groups never reach the queue and are each
 *    answered once by the IOMMU; closing twice is harmless; opened, they are queued again;
 *    the same for the requests without PASID. On an instance without the cap the core never
 *    calls it. Some listed backend must claim it where the platform offers the callback.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "tests/check-main.h"
#include "tests/testutil.h"

#define PASID 1u
#define STEP_NS 10000u /* world time between two polls */

struct cw {
	const char *backend;
	bool can_drain;
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct sim_dev *sd;
	struct prqd_dev *dev;
	void *priv;
	const struct prqd_backend_ops *ops;
};

/* Backend @_i / 2 of the library's list; even @_i with a world that can drain. The world's
 * IOMMU models are all configured alike, whichever backend drives them; its platform offers
 * the PASID-entry callback when @pasid_entries. */
static void cw_open_platform(struct cw *c, int i, uint32_t queue_limit, bool pasid_entries)
{
	memset(c, 0, sizeof(*c));
	c->backend = tu_backend((unsigned)i / 2);
	c->can_drain = i % 2 == 0;
	struct sim_config cfg;
	sim_config_default(&cfg);
	cfg.pasid_entries = pasid_entries;
	ck_assert_int_eq(sim_world_new(NULL, 7, &cfg, &c->w), 0);
	if (strcmp(c->backend, "smmuv3") == 0) {
		/* An SMMU drains through ATC invalidations: without ATS it cannot. */
		struct sim_smmuv3_config sc;
		sim_smmuv3_config_default(&sc);
		sc.ats = c->can_drain;
		sc.priq_limit = queue_limit;
		ck_assert_int_eq(sim_smmuv3_configure(c->w, &sc), 0);
	} else {
		struct sim_vtd_config vc;
		sim_vtd_config_default(&vc);
		vc.pds = c->can_drain;
		if (queue_limit)
			vc.queue_limit = queue_limit;
		ck_assert_int_eq(sim_vtd_configure(c->w, &vc), 0);
	}
	ck_assert_int_eq(sim_ctx_new(c->w, &c->ctx), 0);
	ck_assert_int_eq(prqd_ctx_set_param(c->ctx, "sim.page_drain", c->can_drain ? "1" : "0"),
			 0);
	if (queue_limit) {
		char v[16];
		snprintf(v, sizeof(v), "%u", (unsigned)queue_limit);
		ck_assert_int_eq(prqd_ctx_set_param(c->ctx, "sim.queue_size", v), 0);
	}
	ck_assert_int_eq(prqd_ctx_set_param(c->ctx, "core.drain_timeout_ms", "5"), 0);
	ck_assert_int_eq(prqd_iommu_open(c->ctx, c->backend, NULL, &c->io), 0);
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	ck_assert_int_eq(sim_dev_add(c->w, &dc, &c->sd), 0);
	struct prqd_dev_info info;
	sim_dev_info(c->sd, &info);
	ck_assert_int_eq(prqd_dev_add(c->io, &info, &c->dev), 0);
	c->priv = c->io->priv;
	c->ops = &c->io->ops;
}

static void cw_open(struct cw *c, int i, uint32_t queue_limit)
{
	cw_open_platform(c, i, queue_limit, false);
}

static void cw_close(struct cw *c)
{
	ck_assert_int_eq(prqd_dev_remove(c->dev), 0);
	ck_assert_int_eq(prqd_iommu_close(c->io), 0);
	prqd_ctx_unref(c->ctx);
	sim_world_free(c->w);
}

static void run_for(struct cw *c, uint64_t ns)
{
	sim_run_until(c->w, sim_now(c->w) + ns);
}

/* @n single-page read groups for the PASID, then time for them to reach the queue. */
static void send_groups(struct cw *c, unsigned n, uint64_t base)
{
	for (unsigned k = 0; k < n; k++)
		ck_assert_int_eq(sim_dev_fault(c->sd, PASID, base + k * 0x1000ull, 1, SIM_R), 0);
	run_for(c, 100000);
}

/* Read everything queued, checking seq order; returns how many were read. */
static unsigned fetch_all(struct cw *c, struct prqd_hw_req *out, unsigned cap, uint64_t *last_seq,
			  bool *have_seq)
{
	unsigned total = 0;
	for (;;) {
		struct prqd_hw_req batch[3];
		int n = c->ops->fetch(c->priv, batch, 3);
		ck_assert_int_ge(n, 0);
		ck_assert_int_le(n, 3);
		if (n == 0)
			return total;
		for (int k = 0; k < n; k++) {
			if (*have_seq)
				ck_assert_msg(batch[k].seq > *last_seq,
					      "%s: seq %llu after %llu", c->backend,
					      (unsigned long long)batch[k].seq,
					      (unsigned long long)*last_seq);
			*last_seq = batch[k].seq;
			*have_seq = true;
			if (total < cap)
				out[total] = batch[k];
			total++;
		}
	}
}

static void answer(struct cw *c, const struct prqd_hw_req *r, uint8_t code, int expect)
{
	struct prqd_hw_resp resp = {
		.rid = r->req.rid, .source_id = r->req.source_id, .pasid_present = true,
		.pasid = r->req.pasid, .prg_index = r->req.prg_index, .code = code, .tag = r->tag,
	};
	ck_assert_int_eq(c->ops->respond(c->priv, c->dev->be_priv, &resp), expect);
}

START_TEST(fetch_seq_strictly_increasing_and_codes_mapped)
{
	struct cw c;
	cw_open(&c, _i, 0);
	struct prqd_hw_req got[64];
	uint64_t last = 0;
	bool have = false;
	for (unsigned round = 0; round < 3; round++) {
		send_groups(&c, 7, 0x100000ull * (round + 1));
		unsigned n = fetch_all(&c, got, 64, &last, &have);
		ck_assert_uint_eq(n, 7);
		uint64_t tail;
		ck_assert_int_eq(c.ops->queue_tail(c.priv, &tail), 0);
		ck_assert_uint_gt(tail, last);
		for (unsigned k = 0; k < n; k++) {
			ck_assert(got[k].req.last);
			ck_assert_uint_eq(got[k].req.source_id, got[k].req.rid);
			answer(&c, &got[k], PRQD_RESP_SUCCESS, 0);
		}
	}
	/* Each generic code reaches the device as itself; an unknown one is refused. */
	send_groups(&c, 3, 0x900000);
	unsigned n = fetch_all(&c, got, 64, &last, &have);
	ck_assert_uint_eq(n, 3);
	struct sim_dev_stats before, after;
	sim_dev_stats(c.sd, &before);
	answer(&c, &got[0], 7, -EINVAL);
	answer(&c, &got[0], PRQD_RESP_INVALID, 0);
	answer(&c, &got[1], PRQD_RESP_SUCCESS, 0);
	answer(&c, &got[2], PRQD_RESP_FAILURE, 0);
	run_for(&c, 100000);
	sim_dev_stats(c.sd, &after);
	ck_assert_uint_eq(after.responses[PRQD_RESP_SUCCESS] - before.responses[PRQD_RESP_SUCCESS],
			  1);
	ck_assert_uint_eq(after.responses[PRQD_RESP_INVALID] - before.responses[PRQD_RESP_INVALID],
			  1);
	ck_assert_uint_eq(after.responses[PRQD_RESP_FAILURE] - before.responses[PRQD_RESP_FAILURE],
			  1);
	ck_assert_uint_eq(after.unexpected_index, before.unexpected_index);
	cw_close(&c);
}
END_TEST

static struct prqd_drain_step *step_new(struct cw *c)
{
	struct prqd_drain_step *op = calloc(1, c->io->drain_step_size);
	ck_assert_ptr_nonnull(op);
	op->scope = PRQD_SCOPE_PASID;
	op->rid = prqd_dev_rid(c->dev);
	op->source_id = c->dev->info.source_id;
	op->pasid = PASID;
	op->dev_priv = c->dev->be_priv;
	return op;
}

/* Poll until the step is over (the world moving between polls); returns the result. */
static int poll_done(struct cw *c, struct prqd_drain_step *op)
{
	int rc = -EINPROGRESS;
	for (unsigned k = 0; k < 1000 && rc == -EINPROGRESS; k++) {
		rc = c->ops->drain_poll(c->priv, op);
		if (rc == -EINPROGRESS)
			run_for(c, STEP_NS);
	}
	return rc;
}

START_TEST(drain_steps_keep_their_promises)
{
	struct cw c;
	cw_open(&c, _i, 0);
	uint32_t level = c.io->caps.drain_level;
	ck_assert_uint_eq(c.io->caps.flags & ~(uint32_t)PRQD_CAP_ALL, 0);
	struct prqd_drain_step *op = step_new(&c);
	if (!c.can_drain) {
		/* Level none, and a backend that honours it issues nothing. */
		ck_assert_uint_eq(level, PRQD_LEVEL_NONE);
		ck_assert_int_eq(c.ops->drain_start(c.priv, op), -EOPNOTSUPP);
		free(op);
		cw_close(&c);
		return;
	}
	ck_assert_msg(level == PRQD_LEVEL_EXACT || level == PRQD_LEVEL_SNAPSHOT,
		      "%s can drain but reports level %u", c.backend, (unsigned)level);

	/* Requests sent before the step (some still on their way) are all below its mark. */
	for (unsigned k = 0; k < 6; k++)
		ck_assert_int_eq(sim_dev_fault(c.sd, PASID, 0x200000ull + k * 0x1000, 1, SIM_R), 0);
	ck_assert_int_eq(c.ops->drain_start(c.priv, op), 0);
	ck_assert_uint_ge(op->commands + op->doorbells, 1);
	ck_assert_int_eq(poll_done(&c, op), 0);
	uint64_t mark = op->queue_mark;
	/* Idempotent: the same answer and the same mark. */
	ck_assert_int_eq(c.ops->drain_poll(c.priv, op), 0);
	ck_assert_uint_eq(op->queue_mark, mark);
	run_for(&c, 100000);
	ck_assert_int_eq(c.ops->drain_poll(c.priv, op), 0);
	ck_assert_uint_eq(op->queue_mark, mark);
	struct prqd_hw_req got[16];
	uint64_t last = 0;
	bool have = false;
	unsigned n = fetch_all(&c, got, 16, &last, &have);
	ck_assert_uint_eq(n, 6);
	for (unsigned k = 0; k < n; k++) {
		ck_assert_uint_lt(got[k].seq, mark);
		answer(&c, &got[k], PRQD_RESP_SUCCESS, 0);
	}
	/* Released once finished: nothing can write any more. */
	ck_assert_int_eq(c.ops->drain_release(c.priv, op), 0);

	/* Released in flight: -EBUSY while the hardware may still write, then 0; after a 0 the
	 * step is over for good. */
	memset(op, 0, c.io->drain_step_size);
	free(op);
	op = step_new(&c);
	ck_assert_int_eq(c.ops->drain_start(c.priv, op), 0);
	int rc = c.ops->drain_release(c.priv, op);
	for (unsigned k = 0; k < 1000 && rc == -EBUSY; k++) {
		run_for(&c, STEP_NS);
		rc = c.ops->drain_release(c.priv, op);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.ops->drain_release(c.priv, op), 0);
	free(op);

	/* A later step still completes: the released one left nothing behind. */
	op = step_new(&c);
	ck_assert_int_eq(c.ops->drain_start(c.priv, op), 0);
	ck_assert_int_eq(poll_done(&c, op), 0);
	ck_assert_int_eq(c.ops->drain_release(c.priv, op), 0);
	free(op);
	cw_close(&c);
}
END_TEST

static int success_handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	(void)cookie;
	(void)bond;
	(void)group;
	return PRQD_RESP_SUCCESS;
}

/* The core follows the instance's level: steps only where the backend can drain. */
START_TEST(core_honours_the_instance_level)
{
	struct cw c;
	cw_open(&c, _i, 0);
	struct prqd_bond *b;
	ck_assert_int_eq(prqd_bind(c.dev, PASID, success_handler, NULL, &b), 0);
	send_groups(&c, 4, 0x300000);
	ck_assert_int_ge(prqd_iommu_process(c.io, 0), 0);
	int rc = prqd_drain(b, 0, 0);
	struct prqd_stats s;
	ck_assert_int_eq(prqd_iommu_stats(c.io, &s, sizeof(s)), 0);
	ck_assert_uint_eq(s.delivered, 4);
	if (c.io->caps.drain_level == PRQD_LEVEL_NONE) {
		ck_assert_int_eq(rc, -EOPNOTSUPP); /* no step, no marker */
		ck_assert_uint_eq(s.drain_steps, 0);
		ck_assert_uint_eq(s.commands_queued, 0);
		ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	} else {
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_ge(s.drain_steps, 1);
		ck_assert_int_eq(prqd_unbind(b, 0), 0);
	}
	cw_close(&c);
}
END_TEST

START_TEST(overflow_ack_only_when_empty)
{
	struct cw c;
	cw_open(&c, _i, 4);
	/* Eight single-page groups into a queue that takes four. */
	send_groups(&c, 8, 0x400000);
	ck_assert_int_eq(c.ops->overflow_pending(c.priv), 1);
	ck_assert_int_eq(c.ops->overflow_ack(c.priv), -EBUSY);
	ck_assert_int_eq(c.ops->overflow_pending(c.priv), 1);
	struct prqd_hw_req got[16];
	uint64_t last = 0;
	bool have = false;
	struct prqd_hw_req one;
	ck_assert_int_eq(c.ops->fetch(c.priv, &one, 1), 1);
	ck_assert_int_eq(c.ops->overflow_ack(c.priv), -EBUSY); /* still not empty */
	ck_assert_int_eq(c.ops->overflow_pending(c.priv), 1);
	last = one.seq;
	have = true;
	unsigned n = fetch_all(&c, got, 16, &last, &have);
	ck_assert_uint_ge(n, 1);
	ck_assert_int_eq(c.ops->overflow_ack(c.priv), 0);
	ck_assert_int_eq(c.ops->overflow_pending(c.priv), 0);
	answer(&c, &one, PRQD_RESP_SUCCESS, 0);
	for (unsigned k = 0; k < n && k < 16; k++)
		answer(&c, &got[k], PRQD_RESP_SUCCESS, 0);
	/* The queue takes requests again. */
	send_groups(&c, 2, 0x500000);
	ck_assert_uint_eq(fetch_all(&c, got, 16, &last, &have), 2);
	cw_close(&c);
}
END_TEST

/* @n single-page read groups of @pasid sent now, and time for them to arrive. */
static void send_pasid_groups(struct cw *c, uint32_t pasid, unsigned n, uint64_t base)
{
	for (unsigned k = 0; k < n; k++)
		ck_assert_int_eq(sim_dev_fault(c->sd, pasid, base + k * 0x1000ull, 1, SIM_R), 0);
	run_for(c, 100000);
}

/* One scope (@pasid or PRQD_NO_PASID) through a close and an open of its gate. */
static void gate_round(struct cw *c, uint32_t pasid, uint64_t base)
{
	struct prqd_hw_req got[16];
	uint64_t last = 0;
	bool have = false;
	struct sim_dev_stats before, after;

	ck_assert_int_eq(c->ops->gate(c->priv, c->dev->be_priv, pasid, false), 0);
	ck_assert_int_eq(c->ops->gate(c->priv, c->dev->be_priv, pasid, false), 0);
	sim_dev_stats(c->sd, &before);
	send_pasid_groups(c, pasid, 3, base);
	ck_assert_uint_eq(fetch_all(c, got, 16, &last, &have), 0);
	sim_dev_stats(c->sd, &after);
	/* Answered by the IOMMU, each once: the device has none outstanding. */
	ck_assert_uint_eq(after.auto_responses - before.auto_responses, 3);
	ck_assert_uint_eq(after.outstanding_groups, 0);

	ck_assert_int_eq(c->ops->gate(c->priv, c->dev->be_priv, pasid, true), 0);
	send_pasid_groups(c, pasid, 2, base + 0x100000);
	unsigned n = fetch_all(c, got, 16, &last, &have);
	ck_assert_uint_eq(n, 2);
	for (unsigned k = 0; k < n; k++) {
		struct prqd_hw_resp resp = {
			.rid = got[k].req.rid, .source_id = got[k].req.source_id,
			.pasid_present = got[k].req.pasid_valid, .pasid = got[k].req.pasid,
			.prg_index = got[k].req.prg_index, .code = PRQD_RESP_SUCCESS,
			.tag = got[k].tag,
		};
		ck_assert_int_eq(c->ops->respond(c->priv, c->dev->be_priv, &resp), 0);
	}
	run_for(c, 100000);
	sim_dev_stats(c->sd, &after);
	ck_assert_uint_eq(after.outstanding_groups, 0);
}

/* @_i / 2 as cw_open's index, odd @_i with the PASID-entry callback. */
START_TEST(gate_per_instance_caps)
{
	struct cw c;
	cw_open_platform(&c, _i / 2, 0, _i % 2 == 1);
	if (c.io->caps.flags & PRQD_CAP_GATE) {
		gate_round(&c, PASID, 0x600000);
		gate_round(&c, PRQD_NO_PASID, 0x700000);
	} else {
		/* The core never calls gate without the cap: a stop, drain and resume reach
		 * the device's groups through the library alone. */
		struct prqd_bond *b;
		ck_assert_int_eq(prqd_bind(c.dev, PASID, success_handler, NULL, &b), 0);
		ck_assert_int_eq(prqd_stop(b, 0), 0);
		send_groups(&c, 2, 0x800000);
		ck_assert_int_ge(prqd_iommu_process(c.io, 0), 0);
		struct prqd_stats s;
		ck_assert_int_eq(prqd_iommu_stats(c.io, &s, sizeof(s)), 0);
		ck_assert_uint_eq(s.requests, 2); /* queued: nothing stopped them at the IOMMU */
		ck_assert_uint_eq(s.by[PRQD_BY_STOP], 2);
		ck_assert_int_eq(prqd_unbind(b, c.can_drain ? 0 : PRQD_UNBIND_FORCE), 0);
	}
	cw_close(&c);
}
END_TEST

/* The gate is not a stub everywhere: some listed backend gates where the platform offers
 * the PASID-entry callback. */
START_TEST(some_backend_gates_with_the_callback)
{
	unsigned gating = 0;
	for (unsigned b = 0; b < tu_backend_count(); b++) {
		struct cw c;
		cw_open_platform(&c, (int)(2 * b), 0, true);
		gating += (c.io->caps.flags & PRQD_CAP_GATE) != 0;
		cw_close(&c);
	}
	ck_assert_msg(gating >= 1,
		      "no listed backend claims PRQD_CAP_GATE on a platform with PASID entries");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backend-contract");
	TCase *tc = tcase_create("every backend");
	int runs = (int)(2 * tu_backend_count()); /* each with and without a hardware drain */
	tcase_add_loop_test(tc, fetch_seq_strictly_increasing_and_codes_mapped, 0, runs);
	tcase_add_loop_test(tc, drain_steps_keep_their_promises, 0, runs);
	tcase_add_loop_test(tc, core_honours_the_instance_level, 0, runs);
	tcase_add_loop_test(tc, overflow_ack_only_when_empty, 0, runs);
	tcase_add_loop_test(tc, gate_per_instance_caps, 0, 2 * runs);
	suite_add_tcase(s, tc);
	tc = tcase_create("gating exists");
	tcase_add_test(tc, some_backend_gates_with_the_callback);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
