/* SPDX-License-Identifier: MIT */
/*
 * The gate on VT-d: the vtd backend closes a PASID at the IOMMU by clearing its PASID entry
 * through the embedder's pasid_entry_set_present and invalidating the unit's caches of it;
 * the register-level model keeps the entries, answers the PASID's page requests itself while
 * its cached entry is not present, and counts a protocol violation when the driver breaks the
 * 2026 teardown order (IOTLB, device-TLB or page-drain before the PASID-cache invalidation).
 *
 *  - the descriptors each gate call queues, in order, and that the drain runs after them;
 *  - the model flags every wrong order it is shown, and accepts the right one;
 *  - no gate without the callback (absent, or past the embedder's table size), nor without
 *    scalable mode, nor without page-drain (the Stop Marker must get through);
 *  - a gate whose invalidations cannot complete returns within its bound and says so;
 *  - the scenarios in tests/scenarios that gate, over "vtd", with and without the callback.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "backends/sim/sim-internal.h"
#include "backends/vtd/vtd-iq.h"
#include "backends/vtd/vtd-regs.h"
#include "lib/private.h"

#include "tests/check-main.h"
#include "tests/testutil.h"

#define RID 0x0300u

/* A world whose platform supplies the PASID-entry callback when @pasid_entries, the library
 * on it with the vtd backend (@param: one extra "name=value" or NULL), one device. */
struct gworld {
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct sim_dev *sd;
	struct prqd_dev *dev;
};

static void gworld_open(struct gworld *g, bool pasid_entries, const struct sim_vtd_config *vc,
			const struct sim_dev_cfg *dc, const char *param)
{
	struct sim_config cfg;
	sim_config_default(&cfg);
	cfg.pasid_entries = pasid_entries;
	ck_assert_int_eq(sim_world_new(NULL, 3, &cfg, &g->w), 0);
	ck_assert_int_eq(sim_vtd_configure(g->w, vc), 0);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = sim_world_platform(g->w),
				    .flags = PRQD_CTX_IGNORE_ENV };
	ck_assert_int_eq(prqd_ctx_new(&co, &g->ctx), 0);
	if (param) {
		char name[64];
		const char *eq = strchr(param, '=');
		ck_assert_ptr_nonnull(eq);
		snprintf(name, sizeof(name), "%.*s", (int)(eq - param), param);
		ck_assert_int_eq(prqd_ctx_set_param(g->ctx, name, eq + 1), 0);
	}
	ck_assert_int_eq(prqd_iommu_open(g->ctx, "vtd", NULL, &g->io), 0);
	ck_assert_int_eq(sim_dev_add(g->w, dc, &g->sd), 0);
	struct prqd_dev_info info;
	sim_dev_info(g->sd, &info);
	ck_assert_int_eq(prqd_dev_add(g->io, &info, &g->dev), 0);
}

/* Close everything, let the world settle, and hold the checker to its verdict. */
static void gworld_close(struct gworld *g)
{
	ck_assert_int_eq(prqd_dev_remove(g->dev), 0);
	ck_assert_int_eq(prqd_iommu_close(g->io), 0);
	prqd_ctx_unref(g->ctx);
	sim_run_until(g->w, sim_now(g->w) + 2000000);
	sim_check_finish(g->w);
	for (unsigned i = 0; i < sim_violation_total(g->w) && sim_violation_get(g->w, i); i++)
		fprintf(stderr, "violation: %s\n", sim_violation_get(g->w, i)->detail);
	ck_assert_uint_eq(sim_violation_total(g->w), 0);
	sim_world_free(g->w);
}

static void dev_cfg(struct sim_dev_cfg *dc)
{
	sim_dev_cfg_default(dc);
	dc->rid = RID;
}

/* The default unit and device, the platform with the PASID-entry callback. */
static void gworld_open_gating(struct gworld *g)
{
	struct sim_vtd_config vc;
	struct sim_dev_cfg dc;
	sim_vtd_config_default(&vc);
	dev_cfg(&dc);
	gworld_open(g, true, &vc, &dc, NULL);
}

static int answer_success(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	(void)cookie;
	(void)bond;
	(void)group;
	return PRQD_RESP_SUCCESS;
}

/* The descriptor types the unit fetched since @since (its count then), as a string of hex
 * digits ("75685": PASID cache, wait, PASID IOTLB, PASID device-TLB, wait). */
static const char *descs_since(const struct sim_world *w, uint64_t since, char *buf, size_t len)
{
	uint8_t types[SIM_VTD_DESC_LOG];
	uint64_t n = w->vtd.ndescs - since;
	ck_assert_uint_le(n, SIM_VTD_DESC_LOG);
	ck_assert_uint_lt(n, len);
	unsigned got = sim_vtd_recent_descs(w, types, (unsigned)n);
	ck_assert_uint_eq(got, n);
	for (unsigned k = 0; k < got; k++)
		buf[k] = "0123456789ABCDEF"[types[k] & 0xF];
	buf[got] = '\0';
	return buf;
}

#define EXPECT_DESCS(w, since, want)                                                           \
	do {                                                                                   \
		char got_[SIM_VTD_DESC_LOG + 1];                                               \
		descs_since((w), (since), got_, sizeof(got_));                                 \
		ck_assert_msg(strcmp(got_, (want)) == 0, "descriptors %s, expected %s", got_,  \
			      (want));                                                         \
	} while (0)

static const struct sim_vtd_pasid_entry *entry_of(const struct sim_world *w, uint32_t pasid)
{
	for (size_t i = 0; i < w->vtd.nentries; i++)
		if (w->vtd.entries[i].rid == RID && w->vtd.entries[i].pasid == pasid)
			return &w->vtd.entries[i];
	return NULL;
}

/* ---- the sequence ---------------------------------------------------------------------------- */

START_TEST(closing_invalidates_the_pasid_cache_before_the_tlbs)
{
	struct gworld g;
	gworld_open_gating(&g);
	struct sim_world *w = g.w;
	ck_assert(g.io->caps.flags & PRQD_CAP_GATE);

	/* Binding opens a gate that is open already: the entry is present, nothing queued. */
	uint64_t at = w->vtd.ndescs;
	struct prqd_bond *b;
	ck_assert_int_eq(prqd_bind(g.dev, 5, answer_success, NULL, &b), 0);
	EXPECT_DESCS(w, at, "");

	/* Stop: entry cleared, then PASID cache, fence, PASID IOTLB, PASID device-TLB, wait. */
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	EXPECT_DESCS(w, at, "75685");
	const struct sim_vtd_pasid_entry *e = entry_of(w, 5);
	ck_assert_ptr_nonnull(e);
	ck_assert(!e->present && !e->cached);

	/* Closed: the unit answers the PASID's groups itself; nothing reaches the queue. */
	struct sim_iommu_stats st0, st1;
	struct sim_dev_stats ds0, ds1;
	sim_iommu_stats(w, &st0);
	sim_dev_stats(g.sd, &ds0);
	for (unsigned k = 0; k < 3; k++)
		ck_assert_int_eq(sim_dev_fault(g.sd, 5, 0x10000 + k * 0x1000, 2, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	sim_iommu_stats(w, &st1);
	sim_dev_stats(g.sd, &ds1);
	ck_assert_uint_eq(st1.blocked_responses - st0.blocked_responses, 3);
	ck_assert_uint_eq(st1.enqueued, st0.enqueued);
	ck_assert_uint_eq(ds1.responses[PRQD_RESP_INVALID] - ds0.responses[PRQD_RESP_INVALID], 3);
	ck_assert_uint_eq(ds1.outstanding_groups, 0);

	/* The drain runs behind the closed gate: its own four descriptors, no second close. */
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_drain(b, 0, 0), 0);
	EXPECT_DESCS(w, at, "5685");

	/* Resume restores the entry and has the unit read it again. */
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_resume(b), 0);
	EXPECT_DESCS(w, at, "75");
	ck_assert_ptr_null(entry_of(w, 5));
	ck_assert_int_eq(sim_dev_fault(g.sd, 5, 0x40000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	ck_assert_int_ge(prqd_iommu_process(g.io, 0), 1);
	struct prqd_stats s;
	ck_assert_int_eq(prqd_iommu_stats(g.io, &s, sizeof(s)), 0);
	ck_assert_uint_eq(s.delivered, 1);

	/* Requests without PASID: the domain's PASID cache, legacy IOTLB and device-TLB. */
	struct prqd_bond *r;
	ck_assert_int_eq(prqd_bind(g.dev, PRQD_NO_PASID, answer_success, NULL, &r), 0);
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_stop(r, 0), 0);
	EXPECT_DESCS(w, at, "75235");
	ck_assert_int_eq(sim_dev_fault(g.sd, PRQD_NO_PASID, 0x50000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	sim_iommu_stats(w, &st1);
	ck_assert_uint_eq(st1.blocked_responses - st0.blocked_responses, 4);
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_drain(r, 0, 0), 0);
	ck_assert_int_eq(prqd_resume(r), 0);
	EXPECT_DESCS(w, at, "523575");

	/* Unbind closes the gate first, then drains (the bond was active). */
	at = w->vtd.ndescs;
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	EXPECT_DESCS(w, at, "756855685");
	ck_assert_int_eq(prqd_unbind(r, 0), 0);
	sim_run_until(w, sim_now(w) + 100000);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), 0);
	gworld_close(&g);
}
END_TEST

/* A device-wide drain closes every bond's gate before its one step. */
START_TEST(device_drain_closes_every_gate_first)
{
	struct gworld g;
	gworld_open_gating(&g);
	struct prqd_bond *b1, *b2;
	ck_assert_int_eq(prqd_bind(g.dev, 1, answer_success, NULL, &b1), 0);
	ck_assert_int_eq(prqd_bind(g.dev, 2, answer_success, NULL, &b2), 0);
	uint64_t at = g.w->vtd.ndescs;
	ck_assert_int_eq(prqd_dev_drain(g.dev, 0, 0), 0);
	/* Two closes (in either order), then the device-scope step: legacy types. */
	EXPECT_DESCS(g.w, at, "75685756855235");
	ck_assert_int_eq(prqd_dev_resume(g.dev), 0);
	ck_assert_int_eq(prqd_unbind(b1, 0), 0);
	ck_assert_int_eq(prqd_unbind(b2, 0), 0);
	gworld_close(&g);
}
END_TEST

/* ---- the model enforces the order ----------------------------------------------------------- */

/* Queue @n descriptors and a wait (with page-drain when @pd), then let the world run. */
static void queue(struct sim_world *w, struct vtd_iq *iq, const struct vtd_desc *d, unsigned n,
		  bool pd)
{
	struct vtd_wait t;
	ck_assert_int_eq(vtd_iq_submit(iq, d, n, VTD_WAIT_SW | (pd ? VTD_WAIT_PD : 0), &t), 0);
	sim_run_until(w, sim_now(w) + 100000);
	ck_assert_int_eq(vtd_iq_poll(iq, &t), 0);
}

START_TEST(model_flags_tlb_invalidations_before_the_pasid_cache)
{
	struct sim_config cfg;
	sim_config_default(&cfg);
	cfg.pasid_entries = true;
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 1, &cfg, &w), 0);
	const struct prqd_platform *p = sim_world_platform(w);
	struct sim_dev_cfg dc;
	dev_cfg(&dc);
	struct sim_dev *sd;
	ck_assert_int_eq(sim_dev_add(w, &dc, &sd), 0);
	struct vtd_iq iq;
	ck_assert_int_eq(vtd_iq_init(&iq, p, 0, true, 1000000), 0);
	struct vtd_desc d[4];
	unsigned flagged = 0;

	/* The callback says whether the bit changed. */
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, 9, true), 0);
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, 9, false), 1);
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, 9, false), 0);

	/* Cleared, then the IOTLB before the PASID cache. */
	vtd_desc_piotlb_all(&d[0], 1, 9);
	queue(w, &iq, d, 1, false);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), ++flagged);
	/* The device-TLB, and a page-drain behind it: two more. */
	vtd_desc_pdevtlb_all(&d[0], RID, RID, 9, 0);
	queue(w, &iq, d, 1, true);
	flagged += 2;
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), flagged);
	/* Once the PASID cache is invalidated the same steps are fine, and the unit answers the
	 * PASID's requests itself. */
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_PASID, 1, 9);
	queue(w, &iq, d, 1, false);
	vtd_desc_piotlb_all(&d[0], 1, 9);
	vtd_desc_pdevtlb_all(&d[1], RID, RID, 9, 0);
	queue(w, &iq, d, 2, true);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), flagged);
	ck_assert_int_eq(sim_dev_fault(sd, 9, 0x1000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	struct sim_iommu_stats st;
	sim_iommu_stats(w, &st);
	ck_assert_uint_eq(st.blocked_responses, 1);
	ck_assert_uint_eq(st.enqueued, 0);

	/* The right order from the start: nothing flagged. A PASID-selective invalidation of
	 * another PASID does not cover this one. */
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, 10, false), 1);
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_PASID, 1, 11);
	vtd_desc_piotlb_all(&d[1], 1, 10);
	queue(w, &iq, d, 2, false);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), ++flagged);
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_PASID, 1, 10);
	vtd_desc_wait(&d[1], VTD_WAIT_FN | VTD_WAIT_SW, 7, iq.status_bus);
	vtd_desc_piotlb_all(&d[2], 1, 10);
	vtd_desc_pdevtlb_all(&d[3], RID, RID, 10, 0);
	queue(w, &iq, d, 4, true);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), flagged);

	/* Requests without PASID: the legacy IOTLB before the domain's PASID cache. */
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, PRQD_NO_PASID, false), 1);
	vtd_desc_iotlb_dsi(&d[0], 1);
	queue(w, &iq, d, 1, false);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), ++flagged);
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_DOMAIN, 1, 0);
	vtd_desc_iotlb_dsi(&d[1], 1);
	vtd_desc_devtlb_all(&d[2], RID, RID, 0);
	queue(w, &iq, d, 3, true);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_PROTOCOL), flagged);

	/* Restored but not invalidated: the unit still answers by itself; after the
	 * invalidation the request is queued (no queue is set up here: it overflows). */
	ck_assert_int_eq(p->pasid_entry_set_present(p->user, RID, 9, true), 1);
	ck_assert_int_eq(sim_dev_fault(sd, 9, 0x2000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	sim_iommu_stats(w, &st);
	ck_assert_uint_eq(st.blocked_responses, 2);
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_PASID, 1, 9);
	queue(w, &iq, d, 1, false);
	ck_assert_int_eq(sim_dev_fault(sd, 9, 0x3000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	sim_iommu_stats(w, &st);
	ck_assert_uint_eq(st.blocked_responses, 2);

	/* A reserved granularity (10b) is refused like any bad descriptor. */
	vtd_desc_pasid_cache(&d[0], VTD_PC_GRAN_PASID, 1, 9);
	d[0].qw[0] ^= 3ull << 4; /* 01b -> 10b */
	struct vtd_wait t;
	ck_assert_int_eq(vtd_iq_submit(&iq, d, 1, VTD_WAIT_SW, &t), 0);
	struct vtd_iq_error err;
	ck_assert_int_eq(vtd_iq_poll(&iq, &t), -EIO);
	ck_assert_int_eq(vtd_iq_errors(&iq, &err), 1);
	ck_assert(err.iqe && err.iqe_type == VTD_DESC_PASID_CACHE);

	vtd_iq_fini(&iq);
	ck_assert_int_eq(sim_dev_remove(sd), 0);
	sim_world_free(w);
}
END_TEST

/* ---- when there is no gate -------------------------------------------------------------------- */

START_TEST(no_gate_without_callback_scalable_mode_or_page_drain)
{
	struct sim_vtd_config vc;
	struct sim_dev_cfg dc;
	struct gworld g;
	sim_vtd_config_default(&vc);
	dev_cfg(&dc);

	/* No callback: no gate, and a stop queues nothing. */
	gworld_open(&g, false, &vc, &dc, NULL);
	ck_assert(!(g.io->caps.flags & PRQD_CAP_GATE));
	struct prqd_bond *b;
	ck_assert_int_eq(prqd_bind(g.dev, 5, answer_success, NULL, &b), 0);
	uint64_t at = g.w->vtd.ndescs;
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	EXPECT_DESCS(g.w, at, "");
	ck_assert_int_eq(prqd_unbind(b, 0), 0);
	gworld_close(&g);

	/* Scalable mode off: no PASID entries to clear. */
	vc.smts = false;
	gworld_open(&g, true, &vc, &dc, NULL);
	ck_assert(!(g.io->caps.flags & PRQD_CAP_GATE));
	gworld_close(&g);
	vc.smts = true;

	/* No page-drain: the Stop Marker is the only proof of a PASID, and a closed gate would
	 * drop it; an unbind with the marker sent after the stop still completes. */
	vc.pds = false;
	dc.uses_stop_markers = true;
	gworld_open(&g, true, &vc, &dc, NULL);
	ck_assert(!(g.io->caps.flags & PRQD_CAP_GATE));
	ck_assert_int_eq(prqd_bind(g.dev, 5, answer_success, NULL, &b), 0);
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_int_eq(sim_dev_stop_pasid(g.sd, 5, true), 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_STOP_MARKER), 0);
	gworld_close(&g);
	vc.pds = true;
	dc.uses_stop_markers = false;

	/* An embedder whose table ends before the callback (built against an older header). */
	struct sim_config cfg;
	sim_config_default(&cfg);
	cfg.pasid_entries = true;
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 1, &cfg, &w), 0);
	struct prqd_platform old = *sim_world_platform(w);
	ck_assert_ptr_nonnull(old.pasid_entry_set_present);
	old.size = offsetof(struct prqd_platform, pasid_entry_set_present);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &old,
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	ck_assert_int_eq(prqd_ctx_new(&co, &ctx), 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, "vtd", NULL, &io), 0);
	ck_assert(!(io->caps.flags & PRQD_CAP_GATE));
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	prqd_ctx_unref(ctx);
	sim_world_free(w);
}
END_TEST

/* ---- a gate that cannot finish --------------------------------------------------------------- */

static unsigned errors_logged;

static void count_errors(void *user, int prio, const char *file, int line, const char *fn,
			 const char *msg)
{
	(void)user;
	(void)file;
	(void)line;
	(void)fn;
	(void)msg;
	if (prio <= PRQD_LOG_WARNING)
		errors_logged++;
}

/* The device never answers the device-TLB invalidation: the gate's wait gives up after
 * vtd.gate_wait_us and says so; its batch stays queued ahead of what comes later (the
 * unit's time-out ends it), and the unit serves responses again afterwards. */
START_TEST(a_gate_that_cannot_finish_is_bounded_and_reported)
{
	struct sim_vtd_config vc;
	struct sim_dev_cfg dc;
	struct gworld g;
	sim_vtd_config_default(&vc);
	vc.ite_timeout_ns = 400000;
	dev_cfg(&dc);
	dc.atc_mode = SIM_ATC_NEVER;
	gworld_open(&g, true, &vc, &dc, "vtd.gate_wait_us=50");
	prqd_ctx_set_log_fn(g.ctx, count_errors, NULL);
	prqd_ctx_set_log_priority(g.ctx, PRQD_LOG_WARNING);
	errors_logged = 0;
	struct prqd_bond *b;
	ck_assert_int_eq(prqd_bind(g.dev, 5, answer_success, NULL, &b), 0);

	/* The backend's own answer, through the core's table. */
	uint64_t t0 = sim_now(g.w);
	ck_assert_int_eq(g.io->ops.gate(g.io->priv, g.dev->be_priv, 5, false), -ETIMEDOUT);
	uint64_t took = sim_now(g.w) - t0;
	ck_assert_msg(took >= 50000 && took <= 60000, "gate took %llu ns",
		      (unsigned long long)took);
	ck_assert_uint_ge(errors_logged, 1);
	/* Cleared already: asking again finds nothing to change. */
	ck_assert_int_eq(g.io->ops.gate(g.io->priv, g.dev->be_priv, 5, false), 0);
	/* Opening it again waits for the unit too: the time-out ends the closing batch and
	 * aborts this wait with it. */
	int rc = g.io->ops.gate(g.io->priv, g.dev->be_priv, 5, true);
	ck_assert_msg(rc == -ETIMEDOUT || rc == -EIO, "gate on: %d", rc);

	/* Through the core: prqd_stop returns 0 and logs the failed close. */
	sim_run_until(g.w, sim_now(g.w) + 1000000);
	ck_assert_int_eq(g.io->ops.gate(g.io->priv, g.dev->be_priv, 5, true), 0);
	unsigned before = errors_logged;
	t0 = sim_now(g.w);
	ck_assert_int_eq(prqd_stop(b, 0), 0);
	ck_assert_uint_le(sim_now(g.w) - t0, 60000);
	ck_assert_uint_gt(errors_logged, before);

	/* The queue runs again after the unit's time-out: a group of another PASID of the
	 * device is answered (its entry was never cleared: binding it queues nothing). */
	sim_run_until(g.w, sim_now(g.w) + 1000000);
	struct prqd_bond *other;
	ck_assert_int_eq(prqd_bind(g.dev, 6, answer_success, NULL, &other), 0);
	ck_assert_int_eq(sim_dev_fault(g.sd, 6, 0x7000, 1, SIM_R), 0);
	sim_run_until(g.w, sim_now(g.w) + 100000);
	ck_assert_int_ge(prqd_iommu_process(g.io, 0), 1);
	sim_run_until(g.w, sim_now(g.w) + 100000);
	struct sim_dev_stats ds;
	sim_dev_stats(g.sd, &ds);
	ck_assert_uint_eq(ds.responses[PRQD_RESP_SUCCESS], 1);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_FORCE), 0);
	ck_assert_int_eq(prqd_unbind(other, PRQD_UNBIND_FORCE), 0);
	prqd_ctx_set_log_fn(g.ctx, NULL, NULL);
	gworld_close(&g);
}
END_TEST

/* ---- scenarios ------------------------------------------------------------------------------- */

static const char *const gate_scenarios[] = {
	"gate-teardown.scn",
	"gate-rid-and-device.scn",
};
#define NGATE_SCENARIOS (sizeof(gate_scenarios) / sizeof(gate_scenarios[0]))

/* Each gating scenario over "vtd": with the callback the unit answers requests of closed
 * PASIDs itself and the checker passes; without it (the same file, the line taken out)
 * nothing is gated and the checker passes too. */
START_TEST(gate_scenarios_pass_with_and_without_the_callback)
{
	const char *file = gate_scenarios[(size_t)_i / 2];
	bool with = _i % 2 == 0;
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", source_dir("tests/scenarios"), file);
	struct scn *s;
	char err[512];
	ck_assert_msg(scn_load_file(path, &s, err, sizeof(err)) == 0, "%s: %s", path, err);
	ck_assert_msg(s->pasid_entries, "%s: no `platform pasid-entries` line", file);
	s->pasid_entries = with;
	struct scn_run_opts opts = { .backend = "vtd" };
	struct scn_result res;
	ck_assert_int_eq(scn_run(s, &opts, &res), 0);
	scn_free(s);
	if (!scn_result_passed(&res))
		scn_result_print(stderr, &res);
	ck_assert(scn_result_passed(&res));
	ck_assert_uint_eq(res.violations, 0);
	if (with)
		ck_assert_msg(res.iommu.blocked_responses >= 1, "%s: nothing was gated", file);
	else
		ck_assert_uint_eq(res.iommu.blocked_responses, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vtd-gate");
	TCase *tc = tcase_create("gate");
	tcase_add_test(tc, closing_invalidates_the_pasid_cache_before_the_tlbs);
	tcase_add_test(tc, device_drain_closes_every_gate_first);
	tcase_add_test(tc, model_flags_tlb_invalidations_before_the_pasid_cache);
	tcase_add_test(tc, no_gate_without_callback_scalable_mode_or_page_drain);
	tcase_add_test(tc, a_gate_that_cannot_finish_is_bounded_and_reported);
	tcase_add_loop_test(tc, gate_scenarios_pass_with_and_without_the_callback, 0,
			    (int)(2 * NGATE_SCENARIOS));
	suite_add_tcase(s, tc);
	return run_suite(s);
}
