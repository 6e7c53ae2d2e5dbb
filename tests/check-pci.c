/* SPDX-License-Identifier: MIT */
/*
 * check-pci: the libpci helpers (lib/linux/pci*.c).
 *
 *  - Decoding and PRI control against an in-memory configuration space that behaves like a
 *    device: Enable 1->0 sets Stopped after a number of status reads (or never), Reset is
 *    write-only, RF and UPRGI are write-one-to-clear, enabling clears them and Stopped. Time is
 *    a fake clock advanced by the sleeps, so deadlines are exact and fast.
 *  - The dump access method: the shared fixtures (real devices) and the synthetic dumps of
 *    tests/data/pci, including malformed and truncated ones, which must come back as errors
 *    with a message while this process keeps running.
 *  - The live system, when it has PCI devices.
 * Field-by-field agreement with lspci is tests/pci-lspci-oracle.sh's job.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prqdrain.h"
#include "prqdrain-pci.h"
#include "backends/sim/sim.h"
#include "lib/linux/pci-internal.h"

#include "tests/check-main.h"

/* ---- an in-memory device ------------------------------------------------------------------- */

struct memdev {
	uint8_t cfg[PRQD_PCI_CFG_SIZE];
	unsigned pri;        /* PRI offset, 0 if none */
	int stop_after;      /* status reads after Enable 1->0 until Stopped; -1: never */
	int stop_countdown;  /* < 0: not stopping */
	bool gone;           /* every read returns all ones */
	unsigned resets;     /* Reset writes seen */
	unsigned writes;
	bool alloc_while_enabled; /* Allocation written with Enable set (a spec violation) */
	uint64_t now, sleeps;
	unsigned last_cap;   /* the capability whose next pointer the next one fills */
};

static uint32_t get(const struct memdev *m, unsigned pos, unsigned width)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)m->cfg[pos + i] << (8 * i);
	return v;
}

static void put(struct memdev *m, unsigned pos, unsigned width, uint32_t v)
{
	for (unsigned i = 0; i < width; i++)
		m->cfg[pos + i] = (uint8_t)(v >> (8 * i));
}

static int mem_read(void *user, unsigned pos, unsigned width, uint32_t *val)
{
	struct memdev *m = user;

	ck_assert_uint_eq(pos % width, 0);
	if (pos + width > sizeof(m->cfg))
		return -EIO;
	if (m->gone) {
		*val = width == 4 ? UINT32_MAX : (1u << (8 * width)) - 1;
		return 0;
	}
	if (m->pri && pos == m->pri + PRQD_PRI_STATUS && m->stop_countdown >= 0) {
		if (m->stop_countdown == 0) {
			put(m, pos, 2, get(m, pos, 2) | PRQD_PRI_STATUS_STOPPED);
			m->stop_countdown = -1;
		} else {
			m->stop_countdown--;
		}
	}
	*val = get(m, pos, width);
	return 0;
}

static int mem_write(void *user, unsigned pos, unsigned width, uint32_t val)
{
	struct memdev *m = user;

	ck_assert_uint_eq(pos % width, 0);
	m->writes++;
	if (m->pri && pos == m->pri + PRQD_PRI_CTRL) {
		ck_assert_uint_eq(width, 2);
		uint16_t old = (uint16_t)get(m, pos, 2);
		uint16_t st = (uint16_t)get(m, m->pri + PRQD_PRI_STATUS, 2);
		if (val & PRQD_PRI_CTRL_RESET)
			m->resets++;
		if ((old & PRQD_PRI_CTRL_ENABLE) && !(val & PRQD_PRI_CTRL_ENABLE))
			m->stop_countdown = m->stop_after;
		if (!(old & PRQD_PRI_CTRL_ENABLE) && (val & PRQD_PRI_CTRL_ENABLE)) {
			st &= ~(PRQD_PRI_STATUS_STOPPED | PRQD_PRI_STATUS_RF | PRQD_PRI_STATUS_UPRGI);
			m->stop_countdown = -1;
		}
		put(m, m->pri + PRQD_PRI_STATUS, 2, st);
		/* Reset is write-only: it reads back 0. */
		put(m, pos, 2, val & ~PRQD_PRI_CTRL_RESET);
		return 0;
	}
	if (m->pri && pos == m->pri + PRQD_PRI_STATUS) {
		uint16_t st = (uint16_t)get(m, pos, 2);
		st &= ~(val & (PRQD_PRI_STATUS_RF | PRQD_PRI_STATUS_UPRGI));
		put(m, pos, 2, st);
		return 0;
	}
	if (m->pri && pos == m->pri + PRQD_PRI_ALLOC_REQ &&
	    (get(m, m->pri + PRQD_PRI_CTRL, 2) & PRQD_PRI_CTRL_ENABLE))
		m->alloc_while_enabled = true;
	if (m->pri && pos == m->pri + PRQD_PRI_MAX_REQ)
		return 0; /* read-only */
	put(m, pos, width, val);
	return 0;
}

static uint64_t mem_now(void *user)
{
	return ((struct memdev *)user)->now;
}

static void mem_sleep(void *user, uint64_t ns)
{
	struct memdev *m = user;

	ck_assert_uint_gt(ns, 0);
	m->now += ns;
	m->sleeps++;
}

static const struct prqd_pci_cfg_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.find_ext_cap = NULL, /* the generic walk */
	.now_ns = mem_now,
	.sleep_ns = mem_sleep,
};

/* A function of vendor 0xabcd; capabilities are chained in the order they are added. */
static void mem_init(struct memdev *m, uint16_t device)
{
	memset(m, 0, sizeof(*m));
	put(m, 0x00, 2, 0xabcd);
	put(m, 0x02, 2, device);
	m->stop_after = 0;
	m->stop_countdown = -1;
}

static void mem_add_cap(struct memdev *m, unsigned off, unsigned id)
{
	if (m->last_cap)
		put(m, m->last_cap, 4, get(m, m->last_cap, 4) | off << 20);
	put(m, off, 4, id | 1u << 16);
	m->last_cap = off;
}

static void mem_ats(struct memdev *m, unsigned off, uint16_t cap, uint16_t ctrl)
{
	mem_add_cap(m, off, PRQD_PCI_EXT_CAP_ATS);
	put(m, off + 4, 2, cap);
	put(m, off + 6, 2, ctrl);
}

static void mem_pasid(struct memdev *m, unsigned off, uint16_t cap, uint16_t ctrl)
{
	mem_add_cap(m, off, PRQD_PCI_EXT_CAP_PASID);
	put(m, off + 4, 2, cap);
	put(m, off + 6, 2, ctrl);
}

static void mem_pri(struct memdev *m, unsigned off, uint16_t ctrl, uint16_t status,
		    uint32_t capacity, uint32_t alloc)
{
	mem_add_cap(m, off, PRQD_PCI_EXT_CAP_PRI);
	m->pri = off;
	put(m, off + 4, 2, ctrl);
	put(m, off + 6, 2, status);
	put(m, off + 8, 4, capacity);
	put(m, off + 12, 4, alloc);
}

static struct prqd_pci_dev *mem_dev(struct memdev *m)
{
	struct prqd_pci_dev *d;

	ck_assert_int_eq(prqd__pci_dev_new(NULL, &mem_ops, m, 0, 0x6a, 1, 0, &d), 0);
	return d;
}

static uint16_t pri_ctrl(const struct memdev *m)
{
	return (uint16_t)get(m, m->pri + PRQD_PRI_CTRL, 2);
}

static uint16_t pri_status(const struct memdev *m)
{
	return (uint16_t)get(m, m->pri + PRQD_PRI_STATUS, 2);
}

/* ---- decoding ------------------------------------------------------------------------------ */

/*
 * Two devices whose every field differs between them, and each flag from its neighbours in
 * the same register: a decoder that reads a wrong bit, a wrong register or returns a constant
 * gets at least one of them wrong.
 */
START_TEST(test_decode_varied)
{
	struct memdev m;
	struct prqd_pci_caps c;
	struct prqd_pci_dev *d;

	mem_init(&m, 0x0001);
	mem_ats(&m, 0x100, 0x0025, 0x0003);
	mem_pasid(&m, 0x110, 0x1002, 0x0005);
	mem_pri(&m, 0x120, 0x0001, 0x8001, 0x100, 0x80);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.vendor_id, 0xabcd);
	ck_assert_uint_eq(c.device_id, 0x0001);
	ck_assert_uint_eq(c.bus, 0x6a);
	ck_assert_uint_eq(c.dev, 1);
	ck_assert_uint_eq(c.ats.offset, 0x100);
	ck_assert_uint_eq(c.ats.version, 1);
	ck_assert_uint_eq(c.ats.inv_queue_depth_field, 5);
	ck_assert_uint_eq(c.ats.inv_queue_depth, 5);
	ck_assert(c.ats.page_aligned);
	ck_assert(!c.ats.global_invalidate);
	ck_assert_uint_eq(c.ats.stu, 3);
	ck_assert(!c.ats.enable);
	ck_assert_uint_eq(c.pasid.offset, 0x110);
	ck_assert(c.pasid.exec_supported);
	ck_assert(!c.pasid.priv_supported);
	ck_assert_uint_eq(c.pasid.max_width, 0x10);
	ck_assert(c.pasid.enable);
	ck_assert(!c.pasid.exec_enable);
	ck_assert(c.pasid.priv_enable);
	ck_assert_uint_eq(c.pri.offset, 0x120);
	ck_assert(c.pri.enable);
	ck_assert(!c.pri.reset);
	ck_assert(c.pri.response_failure);
	ck_assert(!c.pri.unexpected_prg_index);
	ck_assert(!c.pri.stopped);
	ck_assert(c.pri.prg_resp_pasid_required);
	ck_assert_uint_eq(c.pri.capacity, 0x100);
	ck_assert_uint_eq(c.pri.allocation, 0x80);
	prqd__pci_dev_free(d);

	mem_init(&m, 0x0002);
	mem_add_cap(&m, 0x100, 0x000b); /* a vendor-specific capability ahead of them */
	mem_pasid(&m, 0x140, 0x0d04, 0x0006);
	mem_ats(&m, 0x200, 0x005a, 0x801f);
	mem_pri(&m, 0x300, 0x0002, 0x0102, 0x12345, 0x2345);
	put(&m, 0x300, 4, get(&m, 0x300, 4) | 2u << 16); /* version 3 */
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.ats.offset, 0x200);
	ck_assert_uint_eq(c.ats.inv_queue_depth_field, 0x1a);
	ck_assert(!c.ats.page_aligned);
	ck_assert(c.ats.global_invalidate);
	ck_assert_uint_eq(c.ats.stu, 0x1f);
	ck_assert(c.ats.enable);
	ck_assert_uint_eq(c.pasid.offset, 0x140);
	ck_assert(!c.pasid.exec_supported);
	ck_assert(c.pasid.priv_supported);
	ck_assert_uint_eq(c.pasid.max_width, 0x0d);
	ck_assert(!c.pasid.enable);
	ck_assert(c.pasid.exec_enable);
	ck_assert(c.pasid.priv_enable);
	ck_assert_uint_eq(c.pri.offset, 0x300);
	ck_assert_uint_eq(c.pri.version, 3);
	ck_assert(!c.pri.enable);
	ck_assert(c.pri.reset);
	ck_assert(!c.pri.response_failure);
	ck_assert(c.pri.unexpected_prg_index);
	ck_assert(c.pri.stopped);
	ck_assert(!c.pri.prg_resp_pasid_required);
	ck_assert_uint_eq(c.pri.capacity, 0x12345);
	ck_assert_uint_eq(c.pri.allocation, 0x2345);
	prqd__pci_dev_free(d);

	/* Two devices cannot tell four status flags apart: RF and PASID, UPRGI and Stopped
	 * were equal so far. And a version with bit 3 set. */
	mem_init(&m, 0x0003);
	mem_pri(&m, 0x100, 0x0000, 0x0003, 1, 1);
	put(&m, 0x100, 4, (get(&m, 0x100, 4) & ~0xf0000u) | 9u << 16);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.pri.version, 9);
	ck_assert(c.pri.response_failure);
	ck_assert(c.pri.unexpected_prg_index);
	ck_assert(!c.pri.stopped);
	ck_assert(!c.pri.prg_resp_pasid_required);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_decode_qdepth_zero_means_32)
{
	struct memdev m;
	struct prqd_pci_caps c;
	struct prqd_pci_dev *d;

	mem_init(&m, 3);
	mem_ats(&m, 0x100, 0x0000, 0x8000);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.ats.inv_queue_depth_field, 0);
	ck_assert_uint_eq(c.ats.inv_queue_depth, 32);
	ck_assert_uint_eq(c.pri.offset, 0);
	ck_assert_uint_eq(c.pasid.offset, 0);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c) - 1), -EINVAL);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_find_walk_edges)
{
	struct memdev m;

	/* A loop: 0x100 -> 0x180 -> 0x100. */
	mem_init(&m, 4);
	put(&m, 0x100, 4, 0x0b | 1u << 16 | 0x180u << 20);
	put(&m, 0x180, 4, 0x0b | 1u << 16 | 0x100u << 20);
	ck_assert_int_eq(prqd__pci_find_ext_cap(&mem_ops, &m, PRQD_PCI_EXT_CAP_PRI), 0);
	/* A pointer back into the legacy space ends the walk. */
	put(&m, 0x180, 4, 0x0b | 1u << 16 | 0x40u << 20);
	ck_assert_int_eq(prqd__pci_find_ext_cap(&mem_ops, &m, PRQD_PCI_EXT_CAP_PRI), 0);
	/* All ones (no extended space) and an empty header. */
	put(&m, 0x100, 4, UINT32_MAX);
	ck_assert_int_eq(prqd__pci_find_ext_cap(&mem_ops, &m, 0xffff), 0);
	put(&m, 0x100, 4, 0);
	ck_assert_int_eq(prqd__pci_find_ext_cap(&mem_ops, &m, 0), 0);
	/* Found past another capability. */
	put(&m, 0x100, 4, 0x0b | 1u << 16 | 0x200u << 20);
	put(&m, 0x200, 4, PRQD_PCI_EXT_CAP_PRI | 1u << 16);
	ck_assert_int_eq(prqd__pci_find_ext_cap(&mem_ops, &m, PRQD_PCI_EXT_CAP_PRI), 0x200);
}
END_TEST

START_TEST(test_dev_info)
{
	struct memdev m;
	struct prqd_pci_dev *d;
	struct prqd_dev_info info = { .size = sizeof(info) };

	mem_init(&m, 5);
	mem_ats(&m, 0x100, 0x0007, 0x8000);
	mem_pasid(&m, 0x110, 0x1404, 0x0005);
	mem_pri(&m, 0x120, 0x0000, 0x8100, 0x200, 0x40);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), 0);
	ck_assert_uint_eq(info.rid, 0x6a08);
	ck_assert_uint_eq(info.pri_capacity, 0x200);
	ck_assert_uint_eq(info.pri_alloc, 0x40);
	ck_assert(info.prg_resp_pasid_required);
	ck_assert(!info.uses_stop_markers);
	ck_assert_uint_eq(info.pasid_width, 20);
	ck_assert_uint_eq(info.ats_queue_depth, 7);

	info.size = 4;
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), -EINVAL);
	prqd__pci_dev_free(d);

	/* No PASID: width 0; no ATS: depth 0. */
	mem_init(&m, 6);
	mem_pri(&m, 0x100, 0x0000, 0x0100, 0x10, 0);
	d = mem_dev(&m);
	info.size = sizeof(info);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), 0);
	ck_assert_uint_eq(info.pasid_width, 0);
	ck_assert_uint_eq(info.ats_queue_depth, 0);
	ck_assert(!info.prg_resp_pasid_required);
	prqd__pci_dev_free(d);

	/* Max PASID Width 20 is the largest; 21..31 are reserved: refused, not passed on to
	 * prqd_dev_add() (which would refuse it with less to say). */
	for (unsigned width = 20; width < 32; width++) {
		mem_init(&m, 9);
		mem_pasid(&m, 0x100, (uint16_t)(width << 8 | 0x4), 0x0001);
		mem_pri(&m, 0x110, 0x0000, 0x0100, 0x10, 0);
		d = mem_dev(&m);
		memset(&info, 0xa5, sizeof(info));
		info.size = sizeof(info);
		ck_assert_int_eq(prqd_pci_dev_info(d, &info), width == 20 ? 0 : -EPROTO);
		if (width == 20)
			ck_assert_uint_eq(info.pasid_width, 20);
		prqd__pci_dev_free(d);
	}

	/* Capacity 0 and no PRI at all: nothing the core could use. */
	mem_init(&m, 7);
	mem_ats(&m, 0x100, 0, 0x8000);
	mem_pri(&m, 0x110, 0x0000, 0x0100, 0, 0);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), -EOPNOTSUPP);
	prqd__pci_dev_free(d);
	mem_init(&m, 8);
	mem_ats(&m, 0x100, 0, 0x8000);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), -EOPNOTSUPP);
	prqd__pci_dev_free(d);
}
END_TEST

#if PRQD_HAVE_BACKEND_SIM
/* What prqd_pci_dev_info() fills is what prqd_dev_add() takes. */
START_TEST(test_dev_info_accepted_by_core)
{
	struct memdev m;
	struct prqd_pci_dev *d;
	struct prqd_dev_info info = { .size = sizeof(info) };
	struct prqd_ctx *ctx;
	struct prqd_iommu *iommu;
	struct prqd_dev *dev;
	struct sim_world *w;
	struct sim_dev_cfg scfg;
	struct sim_dev *sdev;

	mem_init(&m, 9);
	mem_ats(&m, 0x100, 0, 0x8000);
	mem_pasid(&m, 0x110, 0x1404, 0x0005);
	mem_pri(&m, 0x120, 0x0000, 0x8100, 0x200, 0);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), 0);
	/* The simulator's IOMMU runs on its world's platform. */
	ck_assert_int_eq(sim_world_new(NULL, 1, NULL, &w), 0);
	/* A simulated function with the same config as the one read from configuration space. */
	sim_dev_cfg_default(&scfg);
	scfg.rid = info.rid;
	scfg.capacity = info.pri_capacity;
	scfg.prg_resp_pasid_required = info.prg_resp_pasid_required;
	scfg.pasid_width = info.pasid_width;
	ck_assert_int_eq(sim_dev_add(w, &scfg, &sdev), 0);
	ck_assert_int_eq(sim_ctx_new(w, &ctx), 0);
	/* The first backend the world's context lists: each runs on the simulated world. */
	ck_assert_int_eq(prqd_iommu_open(ctx, prqd_ctx_backend_name(ctx, 0, NULL), NULL, &iommu),
			 0);
	ck_assert_int_eq(prqd_dev_add(iommu, &info, &dev), 0);
	ck_assert_uint_eq(prqd_dev_rid(dev), 0x6a08);
	ck_assert_int_eq(prqd_dev_remove(dev), 0);
	ck_assert_int_eq(prqd_iommu_close(iommu), 0);
	prqd_ctx_unref(ctx);
	sim_world_free(w);
	prqd__pci_dev_free(d);
}
END_TEST
#endif /* PRQD_HAVE_BACKEND_SIM */

/* ---- PRI control --------------------------------------------------------------------------- */

static struct prqd_pci_dev *pri_dev(struct memdev *m, uint16_t ctrl, uint16_t status,
				    uint32_t capacity)
{
	mem_init(m, 0x10);
	mem_ats(m, 0x100, 0, 0x8000);
	mem_pasid(m, 0x110, 0x1404, 0x0001);
	mem_pri(m, 0x120, ctrl, status, capacity, 0);
	return mem_dev(m);
}

START_TEST(test_stop_waits_for_stopped)
{
	struct memdev m;
	struct prqd_pci_dev *d = pri_dev(&m, PRQD_PRI_CTRL_ENABLE, 0, 0x100);

	m.stop_after = 5;
	ck_assert_int_eq(prqd_pci_pri_stop(d, 100), 0);
	ck_assert_uint_eq(pri_ctrl(&m) & PRQD_PRI_CTRL_ENABLE, 0);
	ck_assert(pri_status(&m) & PRQD_PRI_STATUS_STOPPED);
	ck_assert_uint_eq(m.sleeps, 5);
	ck_assert_uint_lt(m.now, 100 * 1000000ull);
	ck_assert_uint_eq(m.resets, 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_stop_times_out)
{
	struct memdev m;
	struct prqd_pci_dev *d = pri_dev(&m, PRQD_PRI_CTRL_ENABLE, 0, 0x100);

	m.stop_after = -1;
	ck_assert_int_eq(prqd_pci_pri_stop(d, 50), -ETIMEDOUT);
	/* It waited the whole deadline and not more. */
	ck_assert_uint_eq(m.now, 50 * 1000000ull);
	ck_assert_uint_eq(pri_ctrl(&m) & PRQD_PRI_CTRL_ENABLE, 0);
	/* Polls back off: far fewer than one per 10 us. */
	ck_assert_uint_lt(m.sleeps, 100);
	/* Calling again keeps waiting; Stopped arrives this time. */
	m.stop_countdown = 2;
	ck_assert_int_eq(prqd_pci_pri_stop(d, 50), 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_stop_zero_timeout)
{
	struct memdev m;
	struct prqd_pci_dev *d = pri_dev(&m, 0, PRQD_PRI_STATUS_STOPPED, 0x100);

	ck_assert_int_eq(prqd_pci_pri_stop(d, 0), 0);
	ck_assert_uint_eq(m.sleeps, 0);
	/* Enable was clear already: nothing to write. */
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);

	d = pri_dev(&m, 0, 0, 0x100); /* Enable- Stopped-: requests outstanding */
	ck_assert_int_eq(prqd_pci_pri_stop(d, 0), -ETIMEDOUT);
	ck_assert_uint_eq(m.sleeps, 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_gone_device)
{
	struct memdev m;
	struct prqd_pci_dev *d = pri_dev(&m, PRQD_PRI_CTRL_ENABLE, 0, 0x100);
	struct prqd_pci_caps c;
	uint32_t granted = 7;

	m.gone = true;
	/* All-ones status has Stopped set: it must not be taken for a stopped PRI. */
	ck_assert_int_eq(prqd_pci_pri_stop(d, 10), -ENODEV);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 1, &granted), -ENODEV);
	ck_assert_uint_eq(granted, 7);
	ck_assert_int_eq(prqd_pci_pri_reset(d), -ENODEV);
	ck_assert_int_eq(prqd_pci_pri_clear_errors(d), -ENODEV);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), -ENODEV);
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_reset)
{
	struct memdev m;
	struct prqd_pci_dev *d = pri_dev(&m, PRQD_PRI_CTRL_ENABLE, 0, 0x100);

	ck_assert_int_eq(prqd_pci_pri_reset(d), -EBUSY);
	ck_assert_uint_eq(m.resets, 0);
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);

	d = pri_dev(&m, 0, PRQD_PRI_STATUS_STOPPED, 0x100);
	ck_assert_int_eq(prqd_pci_pri_reset(d), 0);
	ck_assert_uint_eq(m.resets, 1);
	ck_assert_uint_eq(pri_ctrl(&m), 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_enable)
{
	struct memdev m;
	struct prqd_pci_dev *d;
	uint32_t granted = 0;

	/* Stopped: Allocation = min(capacity, requested), written before Enable. */
	d = pri_dev(&m, 0, PRQD_PRI_STATUS_STOPPED | PRQD_PRI_STATUS_RF, 0x100);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 0x1000, &granted), 0);
	ck_assert_uint_eq(granted, 0x100);
	ck_assert_uint_eq(get(&m, m.pri + PRQD_PRI_ALLOC_REQ, 4), 0x100);
	ck_assert_uint_eq(pri_ctrl(&m), PRQD_PRI_CTRL_ENABLE);
	ck_assert(!m.alloc_while_enabled);
	ck_assert_uint_eq(pri_status(&m) & (PRQD_PRI_STATUS_STOPPED | PRQD_PRI_STATUS_RF), 0);
	/* Enabled now: a second enable is refused. */
	ck_assert_int_eq(prqd_pci_pri_enable(d, 1, &granted), -EBUSY);
	/* Stop, then enable with fewer than the capacity. */
	ck_assert_int_eq(prqd_pci_pri_stop(d, 10), 0);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 0x10, NULL), 0);
	ck_assert_uint_eq(get(&m, m.pri + PRQD_PRI_ALLOC_REQ, 4), 0x10);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 0, NULL), -EINVAL);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_enable_refused_unless_stopped)
{
	struct memdev m;
	struct prqd_pci_dev *d;
	uint32_t granted = 99;

	/* Enabled and not stopped. */
	d = pri_dev(&m, PRQD_PRI_CTRL_ENABLE, 0, 0x100);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 8, &granted), -EBUSY);
	ck_assert_uint_eq(m.writes, 0);
	ck_assert_uint_eq(granted, 99);
	prqd__pci_dev_free(d);
	/* Disabled but not stopped: requests still outstanding. */
	d = pri_dev(&m, 0, 0, 0x100);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 8, &granted), -EBUSY);
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);
	/* Capacity 0. */
	d = pri_dev(&m, 0, PRQD_PRI_STATUS_STOPPED, 0);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 8, &granted), -EOPNOTSUPP);
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_clear_errors)
{
	struct memdev m;
	uint16_t st = PRQD_PRI_STATUS_RF | PRQD_PRI_STATUS_UPRGI | PRQD_PRI_STATUS_STOPPED |
		      PRQD_PRI_STATUS_PASID;
	struct prqd_pci_dev *d = pri_dev(&m, 0, st, 0x100);
	struct prqd_pci_caps c;

	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert(c.pri.response_failure && c.pri.unexpected_prg_index);
	ck_assert_int_eq(prqd_pci_pri_clear_errors(d), 0);
	ck_assert_uint_eq(pri_status(&m), PRQD_PRI_STATUS_STOPPED | PRQD_PRI_STATUS_PASID);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert(!c.pri.response_failure && !c.pri.unexpected_prg_index);
	ck_assert(c.pri.stopped && c.pri.prg_resp_pasid_required);
	prqd__pci_dev_free(d);
}
END_TEST

START_TEST(test_control_without_pri)
{
	struct memdev m;
	struct prqd_pci_dev *d;

	mem_init(&m, 0x11);
	mem_ats(&m, 0x100, 0, 0x8000);
	d = mem_dev(&m);
	ck_assert_int_eq(prqd_pci_pri_stop(d, 1), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_pci_pri_reset(d), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_pci_pri_enable(d, 1, NULL), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_pci_pri_clear_errors(d), -EOPNOTSUPP);
	ck_assert_uint_eq(m.writes, 0);
	prqd__pci_dev_free(d);
}
END_TEST

/* ---- dumps through libpci ------------------------------------------------------------------- */

struct logbuf {
	char text[4096];
	size_t len;
};

static void log_capture(void *user, int prio, const char *file, int line, const char *fn,
			const char *msg)
{
	struct logbuf *lb = user;
	int n = snprintf(lb->text + lb->len, sizeof(lb->text) - lb->len, "%s\n", msg);

	if (n > 0 && (size_t)n < sizeof(lb->text) - lb->len)
		lb->len += (size_t)n;
}

static struct prqd_ctx *log_ctx(struct logbuf *lb)
{
	struct prqd_ctx_opts o = { .size = sizeof(o), .flags = PRQD_CTX_IGNORE_ENV };
	struct prqd_ctx *ctx;

	memset(lb, 0, sizeof(*lb));
	ck_assert_int_eq(prqd_ctx_new(&o, &ctx), 0);
	prqd_ctx_set_log_fn(ctx, log_capture, lb);
	prqd_ctx_set_log_priority(ctx, PRQD_LOG_ERR);
	return ctx;
}

static char *data_path(const char *name)
{
	static char buf[4096];
	const char *srcdir = getenv("srcdir");

	snprintf(buf, sizeof(buf), "%s/tests/data/pci/%s", srcdir ? srcdir : ".", name);
	return buf;
}

/* The shared fixtures live beside the repository (../shared), or where PRQD_PCI_FIXTURES says. */
static const char *fixture_path(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("PRQD_PCI_FIXTURES");
	const char *top = getenv("top_srcdir");

	if (dir)
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	else
		snprintf(buf, sizeof(buf), "%s/../shared/fixtures/pci/%s", top ? top : "..", name);
	FILE *f = fopen(buf, "r");
	if (!f)
		return NULL;
	fclose(f);
	return buf;
}

static struct prqd_pci_dev *find_slot(struct prqd_pci *pci, const char *slot)
{
	for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d; d = prqd_pci_dev_next(pci, d))
		if (prqd_pci_dev_match(d, slot) == 1)
			return d;
	ck_abort_msg("no device %s", slot);
	return NULL;
}

START_TEST(test_fixture_dsa)
{
	const char *path = fixture_path("dsa-spr-pri-pasid.lspci");
	struct prqd_pci *pci;
	struct prqd_pci_caps c;
	struct prqd_dev_info info = { .size = sizeof(info) };
	struct prqd_pci_dev *d;

	if (!path) {
		fprintf(stderr, "check-pci: shared fixtures not found, DSA fixture not tested\n");
		return;
	}
	ck_assert_int_eq(prqd_pci_open(NULL, path, &pci), 0);
	d = prqd_pci_dev_next(pci, NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_null(prqd_pci_dev_next(pci, d));
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.bus, 0x6a);
	ck_assert_uint_eq(c.dev, 1);
	ck_assert_uint_eq(c.vendor_id, 0x8086);
	ck_assert_uint_eq(c.device_id, 0x0b25);
	ck_assert_uint_eq(c.ats.offset, 0x220);
	ck_assert_uint_eq(c.ats.inv_queue_depth, 32);
	ck_assert(c.ats.enable);
	ck_assert_uint_eq(c.pasid.offset, 0x230);
	ck_assert_uint_eq(c.pasid.cap, 0x1404);
	ck_assert_uint_eq(c.pasid.ctrl, 0x0005);
	ck_assert_uint_eq(c.pasid.max_width, 20);
	ck_assert_uint_eq(c.pri.offset, 0x240);
	ck_assert_uint_eq(c.pri.ctrl, 0);
	ck_assert_uint_eq(c.pri.status, 0x8100);
	ck_assert(c.pri.stopped && c.pri.prg_resp_pasid_required);
	ck_assert_uint_eq(c.pri.capacity, 0x200);
	ck_assert_uint_eq(c.pri.allocation, 0);

	ck_assert_int_eq(prqd_pci_dev_info(d, &info), 0);
	ck_assert_uint_eq(info.rid, 0x6a08);
	ck_assert_uint_eq(info.pri_capacity, 0x200);
	ck_assert(info.prg_resp_pasid_required);
	ck_assert_uint_eq(info.pasid_width, 20);
	ck_assert_uint_eq(info.ats_queue_depth, 0);

	/* A dump is read-only: control is refused before libpci sees a write. */
	ck_assert_int_eq(prqd_pci_pri_stop(d, 1), 0); /* Enable clear, Stopped set: no write */
	ck_assert_int_eq(prqd_pci_pri_enable(d, 16, NULL), -EROFS);
	ck_assert_int_eq(prqd_pci_pri_reset(d), -EROFS);
	ck_assert_int_eq(prqd_pci_pri_clear_errors(d), -EROFS);
	prqd_pci_close(pci);
}
END_TEST

START_TEST(test_fixture_igpu)
{
	const char *path = fixture_path("igpu-skl-pri-pasid.lspci");
	struct prqd_pci *pci;
	struct prqd_pci_caps c;

	if (!path)
		return;
	ck_assert_int_eq(prqd_pci_open(NULL, path, &pci), 0);
	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "00:02.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.pasid.offset, 0x100);
	ck_assert(c.pasid.exec_supported && !c.pasid.priv_supported);
	ck_assert_uint_eq(c.ats.offset, 0x200);
	ck_assert_uint_eq(c.pri.offset, 0x300);
	ck_assert(!c.pri.enable && !c.pri.stopped);
	ck_assert_uint_eq(c.pri.capacity, 0x8000);
	prqd_pci_close(pci);
}
END_TEST

START_TEST(test_edge_dump)
{
	struct prqd_pci *pci;
	struct prqd_pci_caps c;
	struct prqd_dev_info info = { .size = sizeof(info) };
	unsigned n = 0;

	ck_assert_int_eq(prqd_pci_open(NULL, data_path("edge.dump"), &pci), 0);
	/* Sorted: the domain-1 device comes last although the dump lists devices in order and
	 * libpci keeps them reversed. */
	for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d; d = prqd_pci_dev_next(pci, d)) {
		ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
		ck_assert_uint_eq(c.device_id, n < 12 ? n + 1 : 0x0d);
		n++;
	}
	ck_assert_uint_eq(n, 13);

	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "00:01.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.pri.status, 0x8001);
	ck_assert_uint_eq(c.ats.cap, 0x0025);

	/* Not PCI Express: extended space is not looked at, as lspci does. */
	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "00:08.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.ats.offset + c.pri.offset + c.pasid.offset, 0);
	/* A looping list still yields what precedes the loop. */
	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "00:09.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.ats.offset, 0x180);
	ck_assert_uint_eq(c.pri.offset, 0);
	/* 256 bytes of configuration space (lspci -xxx): no extended capabilities. */
	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "00:0c.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.ats.offset + c.pri.offset, 0);
	/* Capacity 0 and no PRI are refused for the core. */
	ck_assert_int_eq(prqd_pci_dev_info(find_slot(pci, "00:05.0"), &info), -EOPNOTSUPP);
	ck_assert_int_eq(prqd_pci_dev_info(find_slot(pci, "00:0a.0"), &info), -EOPNOTSUPP);
	/* Domain 1. */
	ck_assert_int_eq(prqd_pci_dev_caps(find_slot(pci, "0001:02:00.0"), &c, sizeof(c)), 0);
	ck_assert_uint_eq(c.domain, 1);
	ck_assert_uint_eq(c.pri.allocation, 0x200);
	ck_assert_int_eq(prqd_pci_dev_info(find_slot(pci, "0001:02:00.0"), &info), 0);
	ck_assert_uint_eq(info.rid, 0x0200);
	prqd_pci_close(pci);
}
END_TEST

START_TEST(test_slot_filter)
{
	struct prqd_pci *pci;
	struct prqd_pci_dev *d;
	struct logbuf lb;
	struct prqd_ctx *ctx = log_ctx(&lb);

	ck_assert_int_eq(prqd_pci_open(ctx, data_path("edge.dump"), &pci), 0);
	d = prqd_pci_dev_next(pci, NULL);
	ck_assert_int_eq(prqd_pci_dev_match(d, "00:01.0"), 1);
	ck_assert_int_eq(prqd_pci_dev_match(d, "01"), 1);
	ck_assert_int_eq(prqd_pci_dev_match(d, ".0"), 1);
	ck_assert_int_eq(prqd_pci_dev_match(d, "00:02"), 0);
	ck_assert_int_eq(prqd_pci_dev_match(d, "1:00:01.0"), 0);
	ck_assert_int_eq(prqd_pci_dev_match(d, "zz:qq"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(lb.text, "slot filter"));
	prqd_pci_close(pci);
	prqd_ctx_unref(ctx);
}
END_TEST

/* The same devices with noise around them decode the same. */
START_TEST(test_garbage_lines)
{
	struct prqd_pci *clean, *noisy;
	struct prqd_pci_caps a, b;
	static const char *const slots[][2] = { { "00:01.0", "00:01.0" }, { "00:04.0", "00:02.0" } };

	ck_assert_int_eq(prqd_pci_open(NULL, data_path("edge.dump"), &clean), 0);
	ck_assert_int_eq(prqd_pci_open(NULL, data_path("garbage.dump"), &noisy), 0);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(prqd_pci_dev_caps(find_slot(clean, slots[i][0]), &a, sizeof(a)), 0);
		ck_assert_int_eq(prqd_pci_dev_caps(find_slot(noisy, slots[i][1]), &b, sizeof(b)), 0);
		ck_assert_uint_ne(b.pri.offset, 0);
		a.dev = b.dev;
		a.device_id = b.device_id;
		ck_assert_mem_eq(&a, &b, sizeof(a));
	}
	/* Two devices only: the header without its trailing space is not one. */
	ck_assert_ptr_null(prqd_pci_dev_next(noisy, prqd_pci_dev_next(noisy, prqd_pci_dev_next(noisy, NULL))));
	prqd_pci_close(clean);
	prqd_pci_close(noisy);
}
END_TEST

/* libpci's fatal errors come back as errors with libpci's message; the process lives on. */
static void expect_open_error(const char *file, int err, const char *msg)
{
	struct logbuf lb;
	struct prqd_ctx *ctx = log_ctx(&lb);
	struct prqd_pci *pci = (struct prqd_pci *)&lb; /* must stay untouched */

	ck_assert_int_eq(prqd_pci_open(ctx, file, &pci), err);
	ck_assert_ptr_eq(pci, (struct prqd_pci *)&lb);
	ck_assert_msg(strstr(lb.text, msg), "log \"%s\" lacks \"%s\"", lb.text, msg);
	prqd_ctx_unref(ctx);
}

START_TEST(test_bad_dumps)
{
	expect_open_error(data_path("malformed.dump"), -EBADMSG, "malformed.dump:6: malformed dump: malformed hex line");
	expect_open_error(data_path("unterminated.dump"), -EBADMSG, "unterminated");
	expect_open_error(data_path("long-line.dump"), -EBADMSG, "long-line.dump:2: malformed dump: line too long");
	expect_open_error(data_path("no-such.dump"), -ENOENT, "no-such.dump");
	/* Twice in a row, and a good open after: the error path leaves nothing behind. */
	expect_open_error(data_path("malformed.dump"), -EBADMSG, "malformed hex line");
	struct prqd_pci *pci;
	ck_assert_int_eq(prqd_pci_open(NULL, data_path("edge.dump"), &pci), 0);
	prqd_pci_close(pci);
}
END_TEST

/* libpci's parser would write before its buffer (lspci -F crashes on this file). */
START_TEST(test_huge_offset_dump)
{
	expect_open_error(data_path("huge-offset.dump"), -EBADMSG,
			  "huge-offset.dump:6: malformed dump: offset past 4095");
}
END_TEST

/* Write @text to a temporary dump file and open it: the return of prqd_pci_open(). */
static int open_bytes(const char *text, size_t len, struct logbuf *lb)
{
	char path[] = "/tmp/check-pci-XXXXXX";
	int fd = mkstemp(path);
	struct prqd_ctx *ctx = log_ctx(lb);
	struct prqd_pci *pci;
	int rc;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	rc = prqd_pci_open(ctx, path, &pci);
	if (rc == 0)
		prqd_pci_close(pci);
	unlink(path);
	prqd_ctx_unref(ctx);
	return rc;
}

static int open_text(const char *text, struct logbuf *lb)
{
	return open_bytes(text, strlen(text), lb);
}

/* Every byte must land below 4096, whatever the offset's size; outside a device hex lines
 * are text (libpci skips them) and may say anything; device headers must name a function. */
START_TEST(test_dump_offsets)
{
	static const char hdr[] = "00:01.0 x\n00: cd ab 01 02 06 00 00 00 00 00 80 08 00 00 00 00\n";
	char text[512];
	struct logbuf lb;

	snprintf(text, sizeof(text), "%sff0: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n", hdr);
	ck_assert_int_eq(open_text(text, &lb), 0);
	snprintf(text, sizeof(text), "%sff8: 00 01 02 03 04 05 06 07 08\n", hdr);
	ck_assert_int_eq(open_text(text, &lb), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(lb.text, ":3: malformed dump: offset past 4095"));
	snprintf(text, sizeof(text), "%s1000: 00\n", hdr);
	ck_assert_int_eq(open_text(text, &lb), -EBADMSG);
	snprintf(text, sizeof(text), "%sffffffff: 00\n", hdr);
	ck_assert_int_eq(open_text(text, &lb), -EBADMSG);
	snprintf(text, sizeof(text), "%s\nffffffff: 00\n80000000: 00\n", hdr);
	ck_assert_int_eq(open_text(text, &lb), 0);
	/* Device and function numbers libpci takes but no function has (they would spill into
	 * the bus and device bits of the requester ID). */
	ck_assert_int_eq(open_text("00:1f.7 x\n00: cd ab\n", &lb), 0);
	ck_assert_int_eq(open_text("00:20.0 x\n00: cd ab\n", &lb), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(lb.text, ":1: malformed dump: device number past 31"));
	ck_assert_int_eq(open_text("0000:00:01.8 x\n00: cd ab\n", &lb), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(lb.text, ":1: malformed dump: function number past 7"));
	/* A NUL byte hides the newline from libpci's reader: refused before it. */
	static const char nul[] = "00:01.0 x\n00: 00\0 00\n";
	ck_assert_int_eq(open_bytes(nul, sizeof(nul) - 1, &lb), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(lb.text, ":2: malformed dump: line too long or unterminated"));
}
END_TEST

START_TEST(test_truncated_capability)
{
	struct logbuf lb;
	struct prqd_ctx *ctx = log_ctx(&lb);
	struct prqd_pci *pci;
	struct prqd_pci_caps c;
	struct prqd_dev_info info = { .size = sizeof(info) };
	struct prqd_pci_dev *d;

	ck_assert_int_eq(prqd_pci_open(ctx, data_path("truncated-cap.dump"), &pci), 0);
	d = prqd_pci_dev_next(pci, NULL);
	ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), -EIO);
	ck_assert_int_eq(prqd_pci_dev_info(d, &info), -EIO);
	ck_assert_ptr_nonnull(strstr(lb.text, "truncated"));
	prqd_pci_close(pci);
	prqd_ctx_unref(ctx);
}
END_TEST

START_TEST(test_live)
{
	struct prqd_pci *pci;
	struct prqd_pci_caps c;
	unsigned n = 0;
	int rc = prqd_pci_open(NULL, NULL, &pci);

	if (rc == -ENODEV) {
		fprintf(stderr, "check-pci: no libpci access method here, live scan not tested\n");
		return;
	}
	ck_assert_int_eq(rc, 0);
	for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d; d = prqd_pci_dev_next(pci, d)) {
		ck_assert_int_eq(prqd_pci_dev_caps(d, &c, sizeof(c)), 0);
		ck_assert_uint_ne(c.vendor_id, 0xffff);
		n++;
	}
	fprintf(stderr, "check-pci: %u live devices read\n", n);
	prqd_pci_close(pci);
}
END_TEST

static Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("memory");

	tcase_add_test(tc, test_decode_varied);
	tcase_add_test(tc, test_decode_qdepth_zero_means_32);
	tcase_add_test(tc, test_find_walk_edges);
	tcase_add_test(tc, test_dev_info);
#if PRQD_HAVE_BACKEND_SIM
	tcase_add_test(tc, test_dev_info_accepted_by_core);
#endif
	tcase_add_test(tc, test_stop_waits_for_stopped);
	tcase_add_test(tc, test_stop_times_out);
	tcase_add_test(tc, test_stop_zero_timeout);
	tcase_add_test(tc, test_gone_device);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_enable);
	tcase_add_test(tc, test_enable_refused_unless_stopped);
	tcase_add_test(tc, test_clear_errors);
	tcase_add_test(tc, test_control_without_pri);
	suite_add_tcase(s, tc);

	tc = tcase_create("libpci");
	tcase_add_test(tc, test_fixture_dsa);
	tcase_add_test(tc, test_fixture_igpu);
	tcase_add_test(tc, test_edge_dump);
	tcase_add_test(tc, test_slot_filter);
	tcase_add_test(tc, test_garbage_lines);
	tcase_add_test(tc, test_bad_dumps);
	tcase_add_test(tc, test_huge_offset_dump);
	tcase_add_test(tc, test_dump_offsets);
	tcase_add_test(tc, test_truncated_capability);
	tcase_add_test(tc, test_live);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(pci_suite());
}
