/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: configuration space decoding and PRI control (lib/linux/pci-cfg.c). The input
 * is the configuration space of one function (at most 4096 bytes; a shorter input is a
 * truncated space whose reads past the end fail, as in a truncated dump). Properties:
 *  - prqd_pci_dev_caps() returns only its documented errors; what it reports is what the
 *    bytes say (each capability found carries its ID in its header, fields match the raw
 *    registers, an absent capability is all zero);
 *  - prqd_pci_dev_info() fills only what prqd_dev_add() accepts (issue 7: a reserved Max
 *    PASID Width went through);
 *  - the PRI control calls never touch bytes outside the space, return documented errors,
 *    and never grant more than the capacity.
 * The space is a private copy per input; the fake clock only moves forward within one input.
 */
#include <errno.h>
#include <string.h>

#include "backends/sim/sim.h"
#include "lib/linux/pci-internal.h"
#include "tests/fuzz/fuzz.h"

struct fake_cfg {
	uint8_t bytes[PRQD_PCI_CFG_SIZE];
	size_t size;   /* readable bytes */
	uint64_t now;  /* fake monotonic clock */
};

static uint32_t raw(const struct fake_cfg *f, unsigned pos, unsigned width)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < width; i++)
		v |= (uint32_t)f->bytes[pos + i] << (8 * i);
	return v;
}

static void check_access(const struct fake_cfg *f, unsigned pos, unsigned width)
{
	FUZZ_REQUIRE((width == 1 || width == 2 || width == 4) && pos % width == 0 &&
			     pos + width <= PRQD_PCI_CFG_SIZE,
		     "access of %u bytes at %#x", width, pos);
	(void)f;
}

static int fake_read(void *user, unsigned pos, unsigned width, uint32_t *val)
{
	struct fake_cfg *f = user;

	check_access(f, pos, width);
	if (pos + width > f->size)
		return -EIO;
	*val = raw(f, pos, width);
	return 0;
}

static int fake_write(void *user, unsigned pos, unsigned width, uint32_t val)
{
	struct fake_cfg *f = user;

	check_access(f, pos, width);
	if (pos + width > f->size)
		return -EIO;
	for (unsigned i = 0; i < width; i++)
		f->bytes[pos + i] = (uint8_t)(val >> (8 * i));
	return 0;
}

static uint64_t fake_now(void *user)
{
	return ((struct fake_cfg *)user)->now;
}

static void fake_sleep(void *user, uint64_t ns)
{
	struct fake_cfg *f = user;

	FUZZ_REQUIRE(ns > 0 && ns <= 1000000, "sleep of %llu ns", (unsigned long long)ns);
	f->now += ns;
}

static const struct prqd_pci_cfg_ops fake_ops = {
	.read = fake_read,
	.write = fake_write,
	.find_ext_cap = NULL,
	.now_ns = fake_now,
	.sleep_ns = fake_sleep,
};

static void check_cap_header(const struct fake_cfg *f, unsigned off, unsigned id)
{
	FUZZ_REQUIRE(off >= PRQD_PCI_EXT_CAP_START && off % 4 == 0 && off + 4 <= f->size,
		     "capability %#x at %#x", id, off);
	FUZZ_REQUIRE((raw(f, off, 4) & 0xffff) == id, "header at %#x is not capability %#x", off,
		     id);
}

static void check_caps(const struct fake_cfg *f, const struct prqd_pci_caps *c)
{
	static const uint8_t zero[sizeof(struct prqd_pci_pri)];

	FUZZ_REQUIRE(c->vendor_id == raw(f, 0, 2) && c->device_id == raw(f, 2, 2), "identity");
	if (c->ats.offset) {
		check_cap_header(f, c->ats.offset, PRQD_PCI_EXT_CAP_ATS);
		FUZZ_REQUIRE(c->ats.cap == raw(f, c->ats.offset + 4, 2) &&
				     c->ats.ctrl == raw(f, c->ats.offset + 6, 2),
			     "ATS registers");
		FUZZ_REQUIRE(c->ats.inv_queue_depth >= 1 && c->ats.inv_queue_depth <= 32 &&
				     c->ats.inv_queue_depth ==
					     (c->ats.inv_queue_depth_field ? c->ats.inv_queue_depth_field
									   : 32),
			     "ATS queue depth %u", c->ats.inv_queue_depth);
	} else {
		FUZZ_REQUIRE(!memcmp(&c->ats, zero, sizeof(c->ats)), "absent ATS not zero");
	}
	if (c->pasid.offset) {
		check_cap_header(f, c->pasid.offset, PRQD_PCI_EXT_CAP_PASID);
		FUZZ_REQUIRE(c->pasid.cap == raw(f, c->pasid.offset + 4, 2) &&
				     c->pasid.max_width == ((c->pasid.cap >> 8) & 0x1f),
			     "PASID registers");
	} else {
		FUZZ_REQUIRE(!memcmp(&c->pasid, zero, sizeof(c->pasid)), "absent PASID not zero");
	}
	if (c->pri.offset) {
		check_cap_header(f, c->pri.offset, PRQD_PCI_EXT_CAP_PRI);
		FUZZ_REQUIRE(c->pri.ctrl == raw(f, c->pri.offset + 4, 2) &&
				     c->pri.status == raw(f, c->pri.offset + 6, 2) &&
				     c->pri.capacity == raw(f, c->pri.offset + 8, 4) &&
				     c->pri.allocation == raw(f, c->pri.offset + 12, 4),
			     "PRI registers");
	} else {
		FUZZ_REQUIRE(!memcmp(&c->pri, zero, sizeof(c->pri)), "absent PRI not zero");
	}
}

#if PRQD_HAVE_BACKEND_SIM
/* What prqd_pci_dev_info() filled must be what the core takes (on the simulator's IOMMU). */
static void check_accepted_by_core(const struct prqd_dev_info *info)
{
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *iommu;
	struct prqd_dev *dev;

	FUZZ_REQUIRE(info->pasid_width <= 20 && info->pri_capacity >= 1, "info out of range");
	if (sim_world_new(NULL, 1, NULL, &w) != 0)
		return;
	/* The simulator's IOMMU serves the functions of its world: one with this identity. */
	struct sim_dev_cfg scfg;
	struct sim_dev *sdev;
	sim_dev_cfg_default(&scfg);
	scfg.rid = info->rid;
	scfg.capacity = info->pri_capacity;
	scfg.prg_resp_pasid_required = info->prg_resp_pasid_required;
	scfg.pasid_width = info->pasid_width;
	FUZZ_REQUIRE(sim_dev_add(w, &scfg, &sdev) == 0, "sim_dev_add");
	if (sim_ctx_new(w, &ctx) == 0) {
		if (prqd_iommu_open(ctx, "sim", NULL, &iommu) == 0) {
			int rc = prqd_dev_add(iommu, info, &dev);
			FUZZ_REQUIRE(rc == 0 || rc == -PRQD_ENOMEM, "prqd_dev_add refused: %d", rc);
			if (rc == 0)
				FUZZ_REQUIRE(prqd_dev_remove(dev) == 0, "prqd_dev_remove");
			prqd_iommu_close(iommu);
		}
		prqd_ctx_unref(ctx);
	}
	sim_world_free(w);
}
#else
/* Without the simulator no IOMMU takes it here: only its ranges are checked. */
static void check_accepted_by_core(const struct prqd_dev_info *info)
{
	FUZZ_REQUIRE(info->pasid_width <= 20 && info->pri_capacity >= 1, "info out of range");
}
#endif

static bool one_of(int rc, const int *allowed, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == allowed[i])
			return true;
	return false;
}
#define ONE_OF(rc, ...)                                                                       \
	one_of((rc), (const int[]){ __VA_ARGS__ }, sizeof((const int[]){ __VA_ARGS__ }) / sizeof(int))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fake_cfg f;
	struct prqd_pci_dev *dev;
	struct prqd_pci_caps c;
	struct prqd_dev_info info = { .size = sizeof(info) };
	uint32_t granted = 0;
	int rc;

	memset(&f, 0, sizeof(f));
	f.size = size < PRQD_PCI_CFG_SIZE ? size : PRQD_PCI_CFG_SIZE;
	memcpy(f.bytes, data, f.size);
	if (prqd__pci_dev_new(NULL, &fake_ops, &f, 0, 0x12, 3, 4, &dev) != 0)
		return 0;

	rc = prqd_pci_dev_caps(dev, &c, sizeof(c));
	FUZZ_REQUIRE(ONE_OF(rc, 0, -EIO, -ENODEV), "prqd_pci_dev_caps returned %d", rc);
	if (rc == 0)
		check_caps(&f, &c);

	rc = prqd_pci_dev_info(dev, &info);
	FUZZ_REQUIRE(ONE_OF(rc, 0, -EIO, -ENODEV, -EOPNOTSUPP, -EPROTO),
		     "prqd_pci_dev_info returned %d", rc);
	if (rc == 0) {
		FUZZ_REQUIRE(info.rid == (0x12 << 8 | 3 << 3 | 4), "rid %#x", info.rid);
		check_accepted_by_core(&info);
	}

	/* PRI control on the (writable) copy: every documented error is fine, nothing else. */
	rc = prqd_pci_pri_stop(dev, 1);
	FUZZ_REQUIRE(ONE_OF(rc, 0, -ETIMEDOUT, -EOPNOTSUPP, -ENODEV, -EIO),
		     "prqd_pci_pri_stop returned %d", rc);
	rc = prqd_pci_pri_clear_errors(dev);
	FUZZ_REQUIRE(ONE_OF(rc, 0, -EOPNOTSUPP, -ENODEV, -EIO), "clear_errors returned %d", rc);
	rc = prqd_pci_pri_reset(dev);
	FUZZ_REQUIRE(ONE_OF(rc, 0, -EBUSY, -EOPNOTSUPP, -ENODEV, -EIO), "reset returned %d", rc);
	int pri = prqd__pci_find_ext_cap(&fake_ops, &f, PRQD_PCI_EXT_CAP_PRI);
	uint32_t capacity = pri > 0 && (size_t)pri + 12 <= f.size
				    ? raw(&f, (unsigned)pri + PRQD_PRI_MAX_REQ, 4) : 0;
	rc = prqd_pci_pri_enable(dev, 16, &granted);
	FUZZ_REQUIRE(ONE_OF(rc, 0, -EBUSY, -EOPNOTSUPP, -ENODEV, -EIO), "enable returned %d", rc);
	if (rc == 0) {
		FUZZ_REQUIRE(pri > 0, "enabled a PRI that is not there");
		FUZZ_REQUIRE(granted >= 1 && granted <= 16 && granted <= capacity &&
				     raw(&f, (unsigned)pri + PRQD_PRI_ALLOC_REQ, 4) == granted,
			     "granted %u of capacity %u", granted, capacity);
	}
	prqd__pci_dev_free(dev);
	return 0;
}
