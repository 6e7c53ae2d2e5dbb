/* SPDX-License-Identifier: MIT */
/*
 * The VT-d backend and the register-level VT-d model behind the simulated world: the model's
 * invalidation queue rules seen through raw register writes (what the backend must never
 * trip), and the backend's promises seen from outside (a drain step costs four descriptors
 * and one doorbell, no page-drain bit without ECAP.PDS, a device-TLB time-out fails only the
 * drain of its own device, the overflow is acknowledged only with the queue empty).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/scenario.h"
#include "backends/sim/sim-internal.h"
#include "backends/vtd/vtd-iq.h"
#include "backends/vtd/vtd-regs.h"
#include "lib/private.h"

#include "tests/check-main.h"

extern const struct prqd_backend prqd_backend_vtd;

/* ---- the model through its registers ---------------------------------------------------- */

struct raw {
	struct sim_world *w;
	const struct prqd_platform *p;
	uint64_t *ring;
	uint64_t ring_bus;
	volatile uint32_t *status;
	uint64_t status_bus;
};

static void raw_setup(struct raw *r, bool pds)
{
	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &r->w), 0);
	r->p = sim_world_platform(r->w);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	vc.pds = pds;
	ck_assert_int_eq(sim_vtd_configure(r->w, &vc), 0);
	void *va;
	ck_assert_int_eq(r->p->dma_alloc(r->p->user, 4096, 4096, &va, &r->ring_bus), 0);
	r->ring = va;
	ck_assert_int_eq(r->p->dma_alloc(r->p->user, 64, 64, &va, &r->status_bus), 0);
	r->status = va;
	/* 128-bit descriptors, one page: 256 entries. */
	r->p->mmio_write64(r->p->user, VTD_REG_IQT, 0);
	r->p->mmio_write64(r->p->user, VTD_REG_IQA, r->ring_bus);
	r->p->mmio_write32(r->p->user, VTD_REG_GCMD, VTD_GCMD_QIE);
	ck_assert(r->p->mmio_read32(r->p->user, VTD_REG_GSTS) & VTD_GSTS_QIES);
	ck_assert(sim_vtd_active(r->w));
}

static void raw_teardown(struct raw *r)
{
	r->p->dma_free(r->p->user, r->ring, 4096);
	r->p->dma_free(r->p->user, (void *)r->status, 64);
	struct sim_alloc_stats as;
	sim_alloc_stats(r->w, &as);
	ck_assert_uint_eq(as.live, 0);
	sim_world_free(r->w);
}

static void put_wait(struct raw *r, unsigned idx, uint64_t flags, uint32_t data)
{
	r->ring[idx * 2] = VTD_DESC_WAIT | flags | (uint64_t)data << 32;
	r->ring[idx * 2 + 1] = r->status_bus;
}

static void doorbell(struct raw *r, unsigned tail)
{
	r->p->mmio_write64(r->p->user, VTD_REG_IQT, (uint64_t)tail << 4);
}

static unsigned head(struct raw *r)
{
	return (unsigned)(r->p->mmio_read64(r->p->user, VTD_REG_IQH) >> 4);
}

static uint32_t fsts(struct raw *r)
{
	return r->p->mmio_read32(r->p->user, VTD_REG_FSTS);
}

/* A refused descriptor: IQE with IQH on it; after clearing IQE nothing moves until IQT is
 * written again; then the replacement runs. */
static void expect_refused_then_recover(struct raw *r, unsigned idx, uint32_t data)
{
	ck_assert(fsts(r) & VTD_FSTS_IQE);
	ck_assert_uint_eq(head(r), idx);
	put_wait(r, idx, VTD_WAIT_SW, data);
	r->p->mmio_write32(r->p->user, VTD_REG_FSTS, VTD_FSTS_IQE);
	ck_assert(!(fsts(r) & VTD_FSTS_IQE));
	ck_assert_uint_eq(head(r), idx);
	doorbell(r, idx + 1);
	ck_assert_uint_eq(r->status[0], data);
	ck_assert_uint_eq(head(r), idx + 1);
}

/* The world starts on the software queue model; the register model chosen for the window
 * (VT-d by default) takes the world's traffic at its first register write, and from then on
 * no other register model can be chosen. */
START_TEST(register_model_takes_over_at_the_first_write)
{
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 5, NULL, &w), 0);
	ck_assert_str_eq(sim_model_name(w), "queue");
	ck_assert_int_eq(sim_mmio_model_select(w, "no-such-model"), -ENOENT);
	ck_assert_int_eq(sim_mmio_model_select(w, "queue"), -EINVAL); /* it has no registers */
	ck_assert_int_eq(sim_mmio_model_select(w, NULL), -EINVAL);
	ck_assert_int_eq(sim_mmio_model_select(w, "vtd"), 0);
	const struct prqd_platform *p = sim_world_platform(w);
	ck_assert_uint_ne(p->mmio_read32(p->user, VTD_REG_VER), 0);
	ck_assert_str_eq(sim_model_name(w), "queue"); /* a read takes nothing over */
	ck_assert(!sim_vtd_active(w));
	p->mmio_write32(p->user, VTD_REG_FECTL, 0);
	ck_assert_str_eq(sim_model_name(w), "vtd");
	ck_assert(sim_vtd_active(w));
	ck_assert_int_eq(sim_mmio_model_select(w, "vtd"), 0);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	ck_assert_int_eq(sim_vtd_configure(w, &vc), -EBUSY);
	sim_world_free(w);
}
END_TEST

START_TEST(model_refuses_what_the_backend_must_never_queue)
{
	struct raw r;
	raw_setup(&r, false);
	ck_assert(!(r.p->mmio_read64(r.p->user, VTD_REG_ECAP) & VTD_ECAP_PDS));

	put_wait(&r, 0, VTD_WAIT_SW, 0x11);
	doorbell(&r, 1);
	ck_assert_uint_eq(r.status[0], 0x11);
	ck_assert_uint_eq(head(&r), 1);

	/* A fence-only wait reports nothing: refused, as QEMU 7.2 refuses it. */
	put_wait(&r, 1, VTD_WAIT_FN, 0x12);
	doorbell(&r, 2);
	expect_refused_then_recover(&r, 1, 0x22);

	/* Page-drain without ECAP.PDS is a reserved bit. */
	put_wait(&r, 2, VTD_WAIT_SW | VTD_WAIT_PD, 0x13);
	doorbell(&r, 3);
	expect_refused_then_recover(&r, 2, 0x23);

	/* A type the unit does not know. */
	r.ring[3 * 2] = 0xB;
	r.ring[3 * 2 + 1] = 0;
	doorbell(&r, 4);
	expect_refused_then_recover(&r, 3, 0x24);

	/* A fence with its status write is fine, and so is everything after it. */
	put_wait(&r, 4, VTD_WAIT_SW | VTD_WAIT_FN, 0x15);
	put_wait(&r, 5, VTD_WAIT_SW, 0x16);
	doorbell(&r, 6);
	ck_assert_uint_eq(r.status[0], 0x16);
	ck_assert_uint_eq(head(&r), 6);
	ck_assert_uint_eq(fsts(&r), 0);
	raw_teardown(&r);
}
END_TEST

START_TEST(model_accepts_page_drain_with_pds)
{
	struct raw r;
	raw_setup(&r, true);
	put_wait(&r, 0, VTD_WAIT_SW | VTD_WAIT_PD, 0x31);
	doorbell(&r, 1);
	ck_assert_uint_eq(fsts(&r), 0);
	ck_assert_uint_eq(r.status[0], 0x31);
	raw_teardown(&r);
}
END_TEST

/* ---- ITE in the model, waits at every ring index -------------------------------------------
 *
 * The invalidation queue engine on the model's registers: from every ring index in turn, a
 * wait that completes at once, a device-TLB invalidation for a requester nobody answers with
 * its wait, a plain and a fence wait after it, and a wait behind the fence (even and odd
 * indices, across the end of the ring). The model fetches up to the fence and aborts what it
 * fetched when the invalidation times out; the wait behind the fence and one queued while
 * ITE is set were not fetched and must run once the engine restarts the queue. Nothing may
 * stay in flight.
 */

#define NOBODY_SID 0x0777u

static void model_ite_every_slot(bool wide)
{
	struct sim_world *w;
	struct sim_vtd_config vc;
	struct vtd_iq iq;
	struct vtd_desc d;

	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &w), 0);
	sim_vtd_config_default(&vc);
	vc.ite_timeout_ns = 50000;
	ck_assert_int_eq(sim_vtd_configure(w, &vc), 0);
	ck_assert_int_eq(vtd_iq_init(&iq, sim_world_platform(w), 0, wide, 1000000), 0);

	for (uint32_t first = 0; first < iq.entries; first++) {
		enum { BEFORE, TIMEOUT, PLAIN1, FENCE, PLAIN2, AFTER, N };
		struct vtd_wait t[N];
		struct vtd_iq_error e;
		int rc;

		vtd_desc_iotlb_dsi(&d, 1);
		while (iq.tail != first)
			ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, 0, NULL), 0);
		ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, VTD_WAIT_SW, &t[BEFORE]), 0);
		vtd_desc_devtlb_all(&d, NOBODY_SID, NOBODY_SID, 0);
		ck_assert_int_eq(vtd_iq_submit(&iq, &d, 1, VTD_WAIT_SW, &t[TIMEOUT]), 0);
		ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &t[PLAIN1]), 0);
		ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_FN, &t[FENCE]), 0);
		ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &t[PLAIN2]), 0);
		sim_run_until(w, sim_now(w) + 2 * vc.ite_timeout_ns);
		ck_assert(sim_world_platform(w)->mmio_read32(w, VTD_REG_FSTS) & VTD_FSTS_ITE);
		ck_assert_int_eq(vtd_iq_submit(&iq, NULL, 0, VTD_WAIT_SW, &t[AFTER]), 0);

		for (unsigned i = 0; i < N; i++) {
			int want = i == BEFORE || i == PLAIN2 || i == AFTER ? 0 : -PRQD_EIO;

			for (unsigned k = 0; k < 2; k++)
				if ((rc = vtd_iq_poll(&iq, &t[i])) != -PRQD_EINPROGRESS)
					break;
			ck_assert_msg(rc == want, "%s, round at %u: wait %u polled %d, expected %d",
				      wide ? "256-bit" : "128-bit", first, i, rc, want);
		}
		ck_assert_int_eq(vtd_iq_errors(&iq, &e), 1);
		ck_assert(e.ite && !e.iqe);
		ck_assert_uint_eq(e.ite_sid, NOBODY_SID);
		ck_assert_uint_eq(e.aborted, 3);
		ck_assert_uint_eq(sim_world_platform(w)->mmio_read32(w, VTD_REG_FSTS), 0);
		for (unsigned i = 0; i < VTD_IQ_MAX_WAITS; i++)
			ck_assert_uint_eq(iq.slot_value[i], 0);
	}
	vtd_iq_fini(&iq);
	struct sim_alloc_stats as;
	sim_alloc_stats(w, &as);
	ck_assert_uint_eq(as.live, 0);
	sim_world_free(w);
}

START_TEST(model_ite_aborts_waits_at_every_index)
{
	model_ite_every_slot(false);
	model_ite_every_slot(true);
}
END_TEST

/* ---- the backend from outside ------------------------------------------------------------ */

static void run_text(const char *text, const char *backend, struct scn_result *res)
{
	struct scn *s;
	char err[256];
	int rc = scn_parse(text, strlen(text), "vtd.scn", &s, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s", err);
	struct scn_run_opts opts = { .backend = backend };
	ck_assert_int_eq(scn_run(s, &opts, res), 0);
	scn_free(s);
	if (!scn_result_passed(res))
		scn_result_print(stderr, res);
	ck_assert(scn_result_passed(res));
}

START_TEST(a_drain_round_is_four_descriptors_and_one_doorbell)
{
	static const char text[] = "seed 5\n"
				   "device d rid=03:00.0 capacity=32\n"
				   "bind a d pasid=1 handler=success\n"
				   "bind n d pasid=none handler=success\n"
				   "at 0 fault a pages=2 count=50 every=1us\n"
				   "at 0 fault n pages=1 count=50 every=1us\n"
				   "at 10us drain a expect=0\n"
				   "at +1us resume a\n"
				   "at 20us drain n expect=0\n"
				   "at +1us resume n\n"
				   "at 30us dev-drain d expect=0\n"
				   "at +1us dev-resume d\n"
				   "expect stats.drains >= 3\n"
				   "expect violations == 0\n";
	struct scn_result res;
	run_text(text, "vtd", &res);
	ck_assert_uint_ge(res.stats.drain_steps, 3);
	ck_assert_uint_eq(res.stats.commands_queued, 4 * res.stats.drain_steps);
	ck_assert_uint_eq(res.stats.doorbells, res.stats.drain_steps);
	/* Each step's last wait carried the page-drain bit, and each completed. */
	ck_assert_uint_eq(res.iommu.drains_started, res.stats.drain_steps);
	ck_assert_uint_eq(res.iommu.drains_completed, res.stats.drain_steps);
}
END_TEST

/* These two set the world's "sim.*" parameters, which the scenario runner's context has with
 * the "sim" backend added. */
START_TEST(without_pds_drains_are_refused_and_no_page_drain_bit_queued)
{
	static const char text[] = "seed 3\n"
				   "param sim.page_drain 0\n"
				   "device d rid=04:00.0 capacity=32\n"
				   "bind b d pasid=10 handler=success\n"
				   "at 0 fault b pages=1 count=20 every=1us\n"
				   "at 30us drain b expect=EOPNOTSUPP\n"
				   "at 40us unbind b expect=EOPNOTSUPP\n"
				   "at 100us unbind b no-drain expect=0\n"
				   "expect iommu.drains_started == 0\n"
				   "expect stats.drain_steps == 0\n"
				   "expect violations == 0\n";
	struct scn_result res;
	run_text(text, "vtd", &res);
}
END_TEST

/* ITE names the device whose ATC never answered: its drain fails with -EIO; a drain of
 * another device queued behind the time-out still completes. */
START_TEST(device_tlb_timeout_fails_only_its_own_drain)
{
	static const char text[] = "seed 3\n"
				   "param sim.ite_timeout_us 100\n"
				   "device broken rid=04:00.0 capacity=32 atc=never\n"
				   "device good   rid=05:00.0 capacity=32\n"
				   "bind stuck broken pasid=10 handler=success\n"
				   "bind fine  good   pasid=10 handler=success\n"
				   "at 0 fault stuck pages=1 count=20 every=1us\n"
				   "at 0 fault fine  pages=2 count=300 every=2us\n"
				   "at 30us drain stuck timeout=2ms expect=EIO\n"
				   "at 31us drain fine expect=0\n"
				   "at +1us resume fine\n"
				   "at 400us unbind stuck force expect=0\n"
				   "expect stats.drain_errors == 1\n"
				   "expect iommu.drains_failed >= 1\n"
				   "expect violations == 0\n"
				   "expect alloc.live == 0\n";
	struct scn_result res;
	run_text(text, "vtd", &res);
}
END_TEST

START_TEST(probe_needs_a_register_window)
{
	ck_assert_int_eq(prqd_backend_vtd.ops.probe(prqd_platform_default()), -PRQD_ENODEV);
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &w), 0);
	ck_assert_int_eq(prqd_backend_vtd.ops.probe(sim_world_platform(w)), 0);
	/* Probing reads only: the model stays passive. */
	ck_assert(!sim_vtd_active(w));
	sim_world_free(w);
}
END_TEST

/* A world whose VT-d model is configured by @vc, the library on it with the vtd backend, and
 * one device model configured by @dc. */
struct vworld {
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct sim_dev *sd;
};

static void vworld_open(struct vworld *v, uint64_t seed, const struct sim_vtd_config *vc,
			const struct sim_dev_cfg *dc)
{
	ck_assert_int_eq(sim_world_new(NULL, seed, NULL, &v->w), 0);
	ck_assert_int_eq(sim_vtd_configure(v->w, vc), 0);
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = sim_world_platform(v->w),
				    .flags = PRQD_CTX_IGNORE_ENV };
	ck_assert_int_eq(prqd_ctx_new(&co, &v->ctx), 0);
	ck_assert_int_eq(prqd_iommu_open(v->ctx, "vtd", NULL, &v->io), 0);
	ck_assert_int_eq(sim_dev_add(v->w, dc, &v->sd), 0);
}

static void vworld_close(struct vworld *v)
{
	ck_assert_int_eq(prqd_iommu_close(v->io), 0);
	prqd_ctx_unref(v->ctx);
	sim_world_free(v->w);
}

/* What init reports follows ECAP, unit by unit: page-drain (PDS with DT) makes the drain
 * exact, its absence leaves none; private data is echoed only by 256-bit descriptors (SMTS). */
START_TEST(caps_follow_ecap_per_unit)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	const struct {
		bool pds, dt, smts;
		uint32_t level, flags;
	} units[] = {
		{ true, true, true, PRQD_LEVEL_EXACT, PRQD_CAP_PRIV_DATA },
		{ false, true, true, PRQD_LEVEL_NONE, PRQD_CAP_PRIV_DATA },
		{ true, false, false, PRQD_LEVEL_NONE, 0 },
		{ true, true, false, PRQD_LEVEL_EXACT, 0 },
	};
	for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		struct sim_vtd_config vc;
		sim_vtd_config_default(&vc);
		vc.pds = units[i].pds;
		vc.dt = units[i].dt;
		vc.smts = units[i].smts;
		struct vworld v;
		vworld_open(&v, 1, &vc, &dc);
		ck_assert_msg(v.io->caps.drain_level == units[i].level, "unit %u: level %u", i,
			      (unsigned)v.io->caps.drain_level);
		ck_assert_uint_eq(v.io->caps.flags, units[i].flags);
		vworld_close(&v);
	}
}
END_TEST

/* The overflow flag stays until software has emptied the queue. */
START_TEST(overflow_acknowledged_only_when_empty)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	vc.queue_limit = 4;
	struct vworld v;
	vworld_open(&v, 9, &vc, &dc);
	struct sim_world *w = v.w;
	struct prqd_iommu *io = v.io;
	struct sim_dev *sd = v.sd;
	struct prqd_dev_info info;
	sim_dev_info(sd, &info);
	struct prqd_dev *dev;
	ck_assert_int_eq(prqd_dev_add(io, &info, &dev), 0);

	/* Eight single-page groups into a queue that takes four. */
	for (unsigned i = 0; i < 8; i++)
		ck_assert_int_eq(sim_dev_fault(sd, 1, 0x10000 + i * 0x1000, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	ck_assert_int_eq(io->ops.overflow_pending(io->priv), 1);
	ck_assert_int_eq(io->ops.overflow_ack(io->priv), -PRQD_EBUSY);
	ck_assert_int_eq(io->ops.overflow_pending(io->priv), 1);
	struct prqd_hw_req reqs[8];
	int n = io->ops.fetch(io->priv, reqs, 8);
	ck_assert_int_eq(n, 4);
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(reqs[i].seq, (uint64_t)i);
		ck_assert(reqs[i].req.pasid_valid && reqs[i].req.pasid == 1 && reqs[i].req.last);
		ck_assert(!reqs[i].malformed);
	}
	ck_assert_int_eq(io->ops.overflow_ack(io->priv), 0);
	ck_assert_int_eq(io->ops.overflow_pending(io->priv), 0);
	struct sim_iommu_stats st;
	sim_iommu_stats(w, &st);
	ck_assert_uint_eq(st.dropped_overflow, 4);
	ck_assert_uint_eq(st.auto_responses, 4); /* every dropped request was a Last */

	/* The four fetched groups are answered now (the core never saw them: answer by hand). */
	for (int i = 0; i < n; i++) {
		struct prqd_hw_resp resp = { .rid = reqs[i].req.rid, .pasid_present = true,
					     .pasid = 1, .prg_index = reqs[i].req.prg_index,
					     .code = PRQD_RESP_SUCCESS };
		ck_assert_int_eq(io->ops.respond(io->priv, dev->be_priv, &resp), 0);
	}
	sim_run_until(w, sim_now(w) + 100000);
	struct sim_dev_stats ds;
	sim_dev_stats(sd, &ds);
	ck_assert_uint_eq(ds.responses[PRQD_RESP_SUCCESS], 8);
	ck_assert_uint_eq(ds.outstanding_groups, 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	prqd_ctx_unref(v.ctx);
	sim_check_finish(w); /* every group answered once, nothing of the library left */
	ck_assert_uint_eq(sim_violation_total(w), 0);
	sim_world_free(w);
}
END_TEST

/* A handler that checks each group's requests arrive whole and in order: the pages of a
 * group are consecutive from its first. */
static int answer_checking_pages(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	(void)bond;
	unsigned *groups = cookie;
	unsigned n = prqd_group_count(group);
	uint64_t first = prqd_group_request(group, 0)->addr;
	for (unsigned i = 0; i < n; i++) {
		const struct prqd_request *r = prqd_group_request(group, i);
		ck_assert_uint_eq(r->addr, first + 0x1000ull * i);
		ck_assert(r->last == (i + 1 == n));
	}
	(*groups)++;
	return PRQD_RESP_SUCCESS;
}

/*
 * The tail the backend caches (entries seen at the last PQT read are read without a register
 * access): random traffic in a queue of a few entries, read with small budgets so fetches
 * stop inside what was seen, many times round the ring, with overflows. No entry is read twice
 * or skipped (the library's reads plus the model's drops are what the device sent), groups
 * arrive whole, every group is answered once (the checker), and every overflow is
 * acknowledged with the queue empty (the model refuses otherwise).
 */
START_TEST(cached_tail_reads_every_entry_once)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.capacity = 64;
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	vc.queue_limit = 5 + (uint32_t)_i;
	struct vworld v;
	vworld_open(&v, 11 + (uint64_t)_i, &vc, &dc);
	struct prqd_dev_info info;
	sim_dev_info(v.sd, &info);
	struct prqd_dev *dev;
	ck_assert_int_eq(prqd_dev_add(v.io, &info, &dev), 0);
	struct prqd_bond *b;
	unsigned delivered = 0;
	ck_assert_int_eq(prqd_bind(dev, 1, answer_checking_pages, &delivered, &b), 0);
	sim_set_epoch(v.w, info.rid, 1, prqd_bond_gen(b));
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(_i + 1);
	uint64_t page = 0x100000;
	for (unsigned step = 0; step < 3000; step++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint32_t x = (uint32_t)(seed >> 32);
		unsigned groups = x % 3;
		for (unsigned g = 0; g < groups; g++) {
			unsigned pages = 1 + (x >> (4 + 2 * g)) % 3;
			if (sim_dev_fault(v.sd, 1, page, pages, SIM_R) == 0)
				page += 0x1000ull * (pages + 1);
		}
		sim_run_until(v.w, sim_now(v.w) + 2000 + (x >> 12) % 5000);
		int n = prqd_iommu_process(v.io, (x >> 20) % 8 ? 1 + (x >> 24) % 4 : 0);
		ck_assert_int_ge(n, 0);
	}
	for (unsigned i = 0; i < 100; i++) {
		sim_run_until(v.w, sim_now(v.w) + 100000);
		ck_assert_int_ge(prqd_iommu_process(v.io, 0), 0);
	}
	ck_assert_int_eq(v.io->ops.overflow_pending(v.io->priv), 0);
	struct sim_dev_stats ds;
	sim_dev_stats(v.sd, &ds);
	struct sim_iommu_stats is;
	sim_iommu_stats(v.w, &is);
	struct prqd_stats st;
	ck_assert_int_eq(prqd_iommu_stats(v.io, &st, sizeof(st)), 0);
	ck_assert_uint_gt(is.dropped_overflow, 0);
	ck_assert_uint_gt(st.requests, 3 * (4096 / 32));
	ck_assert_uint_eq(st.requests + is.dropped_overflow, ds.requests_sent);
	ck_assert_uint_eq(st.delivered, delivered);
	ck_assert_uint_eq(ds.outstanding_groups, 0);
	ck_assert_uint_eq(ds.stale_responses, 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(v.io), 0);
	prqd_ctx_unref(v.ctx);
	sim_check_finish(v.w);
	ck_assert_uint_eq(sim_violation_total(v.w), 0);
	sim_world_free(v.w);
}
END_TEST

/* Malformed entries as Linux judges them; stop markers go up to the core unchanged. */
START_TEST(entries_are_checked_like_linux)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.uses_stop_markers = true;
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	struct vworld v;
	vworld_open(&v, 2, &vc, &dc);
	struct sim_world *w = v.w;
	struct prqd_iommu *io = v.io;
	struct sim_dev *sd = v.sd;
	/* privileged read, execute with read, execute with write, a plain read, a marker */
	ck_assert_int_eq(sim_dev_fault(sd, 2, 0x1000, 1, SIM_R | SIM_P), 0);
	ck_assert_int_eq(sim_dev_fault(sd, 2, 0x2000, 1, SIM_R | SIM_X), 0);
	ck_assert_int_eq(sim_dev_fault(sd, 2, 0x3000, 1, SIM_W | SIM_X), 0);
	ck_assert_int_eq(sim_dev_fault(sd, PRQD_NO_PASID, 0x4000, 1, SIM_R), 0);
	ck_assert_int_eq(sim_dev_stop_pasid(sd, 2, true), 0);
	sim_run_until(w, sim_now(w) + 100000);
	struct prqd_hw_req reqs[8];
	ck_assert_int_eq(io->ops.fetch(io->priv, reqs, 8), 5);
	ck_assert(reqs[0].malformed);
	ck_assert(reqs[1].malformed);
	ck_assert(!reqs[2].malformed);
	ck_assert(reqs[2].req.exec && reqs[2].req.write);
	ck_assert(!reqs[3].malformed && !reqs[3].req.pasid_valid && reqs[3].req.read);
	ck_assert(!reqs[4].malformed && reqs[4].req.last && !reqs[4].req.read &&
		  !reqs[4].req.write && reqs[4].req.pasid_valid && reqs[4].req.pasid == 2);
	vworld_close(&v);
}
END_TEST

static int answer_success(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	return PRQD_RESP_SUCCESS;
}

/* Without ECAP.PASID there are no PASID-based invalidations: a PASID's drain is refused, the
 * drain of the requests without PASID (legacy descriptor types) still works. */
START_TEST(without_pasid_support_only_rid_drains)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	vc.pasid = false;
	struct vworld v;
	vworld_open(&v, 4, &vc, &dc);
	struct prqd_dev_info info;
	sim_dev_info(v.sd, &info);
	struct prqd_dev *dev;
	ck_assert_int_eq(prqd_dev_add(v.io, &info, &dev), 0);
	struct prqd_bond *bp, *br;
	ck_assert_int_eq(prqd_bind(dev, 5, answer_success, NULL, &bp), 0);
	ck_assert_int_eq(prqd_bind(dev, PRQD_NO_PASID, answer_success, NULL, &br), 0);
	ck_assert_int_eq(sim_dev_fault(v.sd, PRQD_NO_PASID, 0x1000, 2, SIM_R), 0);
	ck_assert_int_eq(prqd_drain(bp, 0, 10), -PRQD_EOPNOTSUPP);
	ck_assert_int_eq(prqd_drain(br, 0, 10), 0);
	struct prqd_stats st;
	ck_assert_int_eq(prqd_iommu_stats(v.io, &st, sizeof(st)), 0);
	ck_assert_uint_eq(st.drain_steps, 1);
	/* The RID-only group was read before the drain returned, and answered as stopped. */
	ck_assert_uint_eq(st.requests, 2);
	ck_assert_uint_eq(st.by[PRQD_BY_STOP], 1);
	ck_assert_int_eq(prqd_unbind(bp, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_int_eq(prqd_unbind(br, 0), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	vworld_close(&v);
}
END_TEST

/* IQT writes seen through a tap on the world's platform. */
static struct {
	struct prqd_platform p;
	void (*write64)(void *user, uint64_t offset, uint64_t value);
	uint64_t (*read64)(void *user, uint64_t offset);
	unsigned iqt_writes, pqt_reads;
} iqt_tap;

static void iqt_tap_write64(void *user, uint64_t offset, uint64_t value)
{
	if (offset == VTD_REG_IQT)
		iqt_tap.iqt_writes++;
	iqt_tap.write64(user, offset, value);
}

static uint64_t iqt_tap_read64(void *user, uint64_t offset)
{
	if (offset == VTD_REG_PQT)
		iqt_tap.pqt_reads++;
	return iqt_tap.read64(user, offset);
}

/* @groups one-request groups queued on the VT-d model, then one process() call with
 * core.fetch_batch @batch: every group must be answered and reach the device. Counts the
 * IQ doorbells (IQT writes) and PQT reads of that call into *@doorbells and *@tail_reads. */
static void answer_backlog(unsigned groups, const char *batch, unsigned *doorbells,
			   unsigned *tail_reads)
{
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 3, NULL, &w), 0);
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	ck_assert_int_eq(sim_vtd_configure(w, &vc), 0);
	iqt_tap.p = *sim_world_platform(w);
	iqt_tap.write64 = iqt_tap.p.mmio_write64;
	iqt_tap.p.mmio_write64 = iqt_tap_write64;
	iqt_tap.read64 = iqt_tap.p.mmio_read64;
	iqt_tap.p.mmio_read64 = iqt_tap_read64;
	struct prqd_ctx_opts co = { .size = sizeof(co), .platform = &iqt_tap.p,
				    .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	ck_assert_int_eq(prqd_ctx_new(&co, &ctx), 0);
	ck_assert_int_eq(prqd_ctx_set_param(ctx, "core.fetch_batch", batch), 0);
	ck_assert_int_eq(prqd_iommu_open(ctx, "vtd", NULL, &io), 0);
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.capacity = groups + 1;
	struct sim_dev *sd;
	ck_assert_int_eq(sim_dev_add(w, &dc, &sd), 0);
	struct prqd_dev_info info;
	sim_dev_info(sd, &info);
	struct prqd_dev *dev;
	ck_assert_int_eq(prqd_dev_add(io, &info, &dev), 0);
	struct prqd_bond *b;
	ck_assert_int_eq(prqd_bind(dev, 1, answer_success, NULL, &b), 0);
	for (unsigned i = 0; i < groups; i++)
		ck_assert_int_eq(sim_dev_fault(sd, 1, 0x100000 + 0x1000 * i, 1, SIM_R), 0);
	sim_run_until(w, sim_now(w) + 100000);
	iqt_tap.iqt_writes = iqt_tap.pqt_reads = 0;
	ck_assert_int_eq(prqd_iommu_process(io, 0), (int)groups);
	*doorbells = iqt_tap.iqt_writes;
	*tail_reads = iqt_tap.pqt_reads;
	sim_run_until(w, sim_now(w) + 100000);
	struct sim_dev_stats ds;
	sim_dev_stats(sd, &ds);
	ck_assert_uint_eq(ds.responses[PRQD_RESP_SUCCESS], groups);
	ck_assert_uint_eq(ds.outstanding_groups, 0);
	ck_assert_int_eq(prqd_unbind(b, PRQD_UNBIND_NO_DRAIN), 0);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	prqd_ctx_unref(ctx);
	sim_world_free(w);
}

/*
 * A backlog of 24 groups, read in fetches of 32 or of 8:
 *  - the groups of one fetched batch share one doorbell (the core's commit at the end of the
 *    batch): 1 or 3;
 *  - the backlog costs one look at the tail register (PQT) to be read and one more to see
 *    the queue empty, however many fetches it takes (entries seen are read without asking
 *    the hardware again), plus process()'s own read for the end of what it was called for:
 *    3 either way.
 */
START_TEST(a_backlog_costs_a_doorbell_a_batch_and_three_tail_reads)
{
	unsigned doorbells, tail_reads;
	answer_backlog(24, "32", &doorbells, &tail_reads);
	ck_assert_uint_eq(doorbells, 1);
	ck_assert_uint_eq(tail_reads, 3);
	answer_backlog(24, "8", &doorbells, &tail_reads);
	ck_assert_uint_eq(doorbells, 3);
	ck_assert_uint_eq(tail_reads, 3);
}
END_TEST

/* The backend's drain steps at shifting ring positions: a device whose ATC never answers and
 * two drains of a good device queued behind it, after k = 0..15 single-descriptor responses
 * that move the four-descriptor steps along the ring (their waits at every index modulo
 * four, even and odd, and the 128-entry ring wraps about four times). The
 * deaf device's drain fails with -EIO; the good ones, aborted by a time-out that named
 * another device, are queued again and complete; a later drain completes; nothing stays in
 * flight. */
START_TEST(ite_at_every_offset_fails_only_the_deaf_drain)
{
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	dc.rid = 0x0300;
	struct sim_vtd_config vc;
	sim_vtd_config_default(&vc);
	vc.ite_timeout_ns = 100000;
	struct vworld v;
	vworld_open(&v, 6, &vc, &dc);
	struct sim_dev_cfg deaf_cfg;
	sim_dev_cfg_default(&deaf_cfg);
	deaf_cfg.rid = 0x0400;
	deaf_cfg.atc_mode = SIM_ATC_NEVER;
	struct sim_dev *deaf_sd;
	ck_assert_int_eq(sim_dev_add(v.w, &deaf_cfg, &deaf_sd), 0);
	struct prqd_dev_info info;
	struct prqd_dev *good, *deaf;
	sim_dev_info(v.sd, &info);
	ck_assert_int_eq(prqd_dev_add(v.io, &info, &good), 0);
	sim_dev_info(deaf_sd, &info);
	ck_assert_int_eq(prqd_dev_add(v.io, &info, &deaf), 0);
	struct prqd_iommu *io = v.io;
	size_t op_size = sizeof(struct prqd_drain_step) + prqd_backend_vtd.drain_priv_size;
	enum { DEAF, GOOD1, GOOD2, LATER, NOPS };
	struct prqd_drain_step *op[NOPS];
	for (unsigned i = 0; i < NOPS; i++)
		op[i] = calloc(1, op_size);

	for (unsigned k = 0; k < 16; k++) {
		/* k responses: one descriptor each. */
		struct prqd_hw_req reqs[16];
		for (unsigned j = 0; j < k; j++)
			ck_assert_int_eq(sim_dev_fault(v.sd, 1, 0x10000 + j * 0x1000, 1, SIM_R), 0);
		sim_run_until(v.w, sim_now(v.w) + 10000);
		ck_assert_int_eq(io->ops.fetch(io->priv, reqs, 16), (int)k);
		for (unsigned j = 0; j < k; j++) {
			struct prqd_hw_resp resp = { .rid = reqs[j].req.rid, .pasid_present = true,
						     .pasid = 1, .prg_index = reqs[j].req.prg_index,
						     .code = PRQD_RESP_SUCCESS };
			ck_assert_int_eq(io->ops.respond(io->priv, good->be_priv, &resp), 0);
		}
		const struct {
			struct prqd_dev *dev;
			uint32_t pasid;
		} who[NOPS] = { { deaf, 5 }, { good, 1 }, { good, 2 }, { good, 1 } };
		for (unsigned i = 0; i < NOPS; i++) {
			memset(op[i], 0, op_size);
			op[i]->scope = PRQD_SCOPE_PASID;
			op[i]->rid = prqd_dev_rid(who[i].dev);
			op[i]->pasid = who[i].pasid;
			op[i]->dev_priv = who[i].dev->be_priv;
		}
		for (unsigned i = DEAF; i <= GOOD2; i++)
			ck_assert_int_eq(io->ops.drain_start(io->priv, op[i]), 0);
		/* Poll as the core does, with the world moving on between polls: a step aborted
		 * for the deaf device's sake (-EAGAIN) says so, idempotently, and is issued again
		 * by the caller, never by the backend. */
		int rc[NOPS] = { -EINPROGRESS, -EINPROGRESS, -EINPROGRESS, -EINPROGRESS };
		unsigned reissued = 0;
		for (unsigned round = 0; round < 100; round++) {
			bool busy = false;
			for (unsigned i = DEAF; i <= GOOD2; i++) {
				if (rc[i] != -EINPROGRESS)
					continue;
				rc[i] = io->ops.drain_poll(io->priv, op[i]);
				if (rc[i] == -EAGAIN) {
					ck_assert_uint_ne(i, DEAF);
					ck_assert_int_eq(io->ops.drain_poll(io->priv, op[i]), -EAGAIN);
					ck_assert_int_eq(io->ops.drain_release(io->priv, op[i]), 0);
					ck_assert_int_eq(io->ops.drain_start(io->priv, op[i]), 0);
					rc[i] = -EINPROGRESS;
					reissued++;
				}
				busy |= rc[i] == -EINPROGRESS;
			}
			if (!busy)
				break;
			sim_run_until(v.w, sim_now(v.w) + 10000);
		}
		ck_assert_msg(rc[DEAF] == -EIO && rc[GOOD1] == 0 && rc[GOOD2] == 0,
			      "offset %u: deaf %d, good %d and %d", k, rc[DEAF], rc[GOOD1],
			      rc[GOOD2]);
		/* Queued behind the deaf device's invalidation, the good steps were aborted. */
		ck_assert_msg(reissued >= 1, "offset %u: no step aborted by the time-out", k);
		/* The queue runs on: a later drain of the good device completes. */
		ck_assert_int_eq(io->ops.drain_start(io->priv, op[LATER]), 0);
		for (unsigned round = 0; round < 100; round++) {
			if ((rc[LATER] = io->ops.drain_poll(io->priv, op[LATER])) != -EINPROGRESS)
				break;
			sim_run_until(v.w, sim_now(v.w) + 10000);
		}
		ck_assert_int_eq(rc[LATER], 0);
		for (unsigned i = 0; i < NOPS; i++)
			ck_assert_int_eq(io->ops.drain_release(io->priv, op[i]), 0);
	}
	for (unsigned i = 0; i < NOPS; i++)
		free(op[i]);
	ck_assert_int_eq(prqd_dev_remove(good), 0);
	ck_assert_int_eq(prqd_dev_remove(deaf), 0);
	ck_assert_int_eq(prqd_iommu_close(io), 0);
	prqd_ctx_unref(v.ctx);
	sim_run_until(v.w, sim_now(v.w) + 1000000);
	sim_check_finish(v.w);
	ck_assert_uint_eq(sim_violation_total(v.w), 0);
	sim_world_free(v.w);
}
END_TEST

/* ---- the checker's view of VT-d responses ---------------------------------------------- */

/* A group's Last request as the device sends it (tag @tag, PASID @pasid, index @idx). */
static void chk_send(struct sim_dev *d, uint64_t tag, uint32_t pasid, uint16_t idx)
{
	struct sim_up_msg m = { .kind = SIM_UP_PAGE_REQ, .tag = tag, .pasid = pasid,
				.prg_index = idx,
				.flags = SIM_RQ_READ | SIM_RQ_LAST | SIM_RQ_PASID };
	sim_chk_request_sent(d, &m);
}

/* A response as the VT-d model sends it: by index and PASID, without a tag (@tag 0), or
 * with one. */
static enum sim_chk_verdict chk_answer(struct sim_dev *d, uint64_t tag, uint32_t pasid,
				       uint16_t idx)
{
	struct sim_down_msg m = { .kind = SIM_DOWN_RESP, .tag = tag, .rid = d->cfg.rid,
				  .pasid = pasid, .pasid_present = true, .prg_index = idx };
	return sim_chk_response(d, &m);
}

/*
 * A page group response descriptor names its group by index and PASID, not by tag, so the
 * checker matches it through its (requester, index) ring: the oldest outstanding group there
 * whose PASID fits. Three groups share index 3 (a device reusing it), one sits at index 9;
 * each answer must take the right one, and one answer too many is a double response.
 */
START_TEST(checker_matches_untagged_responses_by_index)
{
	struct sim_world *w;
	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &w), 0);
	struct sim_dev_cfg dc;
	sim_dev_cfg_default(&dc);
	struct sim_dev *d;
	ck_assert_int_eq(sim_dev_add(w, &dc, &d), 0);
	chk_send(d, 1, 5, 3);
	chk_send(d, 2, 6, 3);
	chk_send(d, 3, 5, 3);
	chk_send(d, 4, 5, 9);

	/* PASID 6 fits only the middle group of index 3: tag 2 is answered, not tag 1. */
	ck_assert_int_eq(chk_answer(d, 0, 6, 3), SIM_CHK_OK);
	ck_assert_int_eq(chk_answer(d, 2, 6, 3), SIM_CHK_BAD);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_DOUBLE_RESPONSE), 1);
	/* Then the two groups of PASID 5 at index 3, oldest first, then none. */
	ck_assert_int_eq(chk_answer(d, 0, 5, 3), SIM_CHK_OK);
	ck_assert_int_eq(chk_answer(d, 1, 5, 3), SIM_CHK_BAD); /* tag 1 went first */
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_DOUBLE_RESPONSE), 2);
	ck_assert_int_eq(chk_answer(d, 0, 5, 3), SIM_CHK_OK);
	ck_assert_int_eq(chk_answer(d, 0, 5, 3), SIM_CHK_BAD);
	ck_assert_uint_eq(sim_violation_count(w, SIM_V_DOUBLE_RESPONSE), 3);
	/* Index 9 was untouched by all that. */
	ck_assert_int_eq(chk_answer(d, 0, 5, 9), SIM_CHK_OK);
	/* A group sent after its index emptied starts the ring again. */
	chk_send(d, 5, 6, 3);
	ck_assert_int_eq(chk_answer(d, 0, 6, 3), SIM_CHK_OK);
	sim_check_finish(w);
	ck_assert_uint_eq(sim_violation_total(w), 3);
	sim_world_free(w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vtd");
	TCase *tc = tcase_create("model");
	tcase_add_test(tc, register_model_takes_over_at_the_first_write);
	tcase_add_test(tc, model_refuses_what_the_backend_must_never_queue);
	tcase_add_test(tc, model_accepts_page_drain_with_pds);
	tcase_add_test(tc, model_ite_aborts_waits_at_every_index);
	suite_add_tcase(s, tc);
	tc = tcase_create("backend");
	tcase_add_test(tc, a_drain_round_is_four_descriptors_and_one_doorbell);
	tcase_add_test(tc, without_pds_drains_are_refused_and_no_page_drain_bit_queued);
	tcase_add_test(tc, device_tlb_timeout_fails_only_its_own_drain);
	tcase_add_test(tc, ite_at_every_offset_fails_only_the_deaf_drain);
	tcase_add_test(tc, probe_needs_a_register_window);
	tcase_add_test(tc, overflow_acknowledged_only_when_empty);
	tcase_add_loop_test(tc, cached_tail_reads_every_entry_once, 0, 4);
	tcase_add_test(tc, caps_follow_ecap_per_unit);
	tcase_add_test(tc, entries_are_checked_like_linux);
	tcase_add_test(tc, without_pasid_support_only_rid_drains);
	tcase_add_test(tc, a_backlog_costs_a_doorbell_a_batch_and_three_tail_reads);
	suite_add_tcase(s, tc);
	tc = tcase_create("checker");
	tcase_add_test(tc, checker_matches_untagged_responses_by_index);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
