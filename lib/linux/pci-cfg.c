/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/pci-cfg.c: decoding of the ATS, PASID and PRI capabilities, and PRI control.
 *
 * Everything here goes through struct prqd_pci_cfg_ops, never libpci itself, so the same code
 * runs on libpci devices (pci.c) and on the tests' in-memory configuration space.
 */
#include <errno.h>
#include <string.h>

#include "lib/linux/alloc.h"
#include "lib/linux/pci-internal.h"

/* Polling for Stopped: start short (a device that drains quickly answers within
 * microseconds) and back off to 1 ms so a slow one does not keep a CPU busy. */
#define STOP_POLL_FIRST_NS 10000u
#define STOP_POLL_MAX_NS 1000000u

static int cfg_read(struct prqd_pci_dev *dev, unsigned pos, unsigned width, uint32_t *val)
{
	return dev->ops->read(dev->user, pos, width, val);
}

static int cfg_read16(struct prqd_pci_dev *dev, unsigned pos, uint16_t *val)
{
	uint32_t v;
	int rc = cfg_read(dev, pos, 2, &v);

	if (rc == 0)
		*val = (uint16_t)v;
	return rc;
}

static int cfg_write(struct prqd_pci_dev *dev, unsigned pos, unsigned width, uint32_t val)
{
	return dev->ops->write(dev->user, pos, width, val);
}

int prqd__pci_find_ext_cap(const struct prqd_pci_cfg_ops *ops, void *user, unsigned id)
{
	/* Each header is at least 4 bytes and 4-aligned, so a chain longer than this loops. */
	unsigned budget = (PRQD_PCI_CFG_SIZE - PRQD_PCI_EXT_CAP_START) / 4;
	unsigned pos = PRQD_PCI_EXT_CAP_START;

	while (budget--) {
		uint32_t hdr;
		int rc = ops->read(user, pos, 4, &hdr);

		if (rc)
			return rc;
		if (hdr == 0 || hdr == UINT32_MAX)
			return 0;
		if ((hdr & 0xffff) == id)
			return (int)pos;
		pos = (hdr >> 20) & 0xffc;
		if (pos < PRQD_PCI_EXT_CAP_START)
			return 0;
	}
	return 0;
}

static int find_cap(struct prqd_pci_dev *dev, unsigned id)
{
	if (dev->ops->find_ext_cap)
		return dev->ops->find_ext_cap(dev->user, id);
	return prqd__pci_find_ext_cap(dev->ops, dev->user, id);
}

/* Offset and version of capability @id; *off = 0 when absent. */
static int cap_header(struct prqd_pci_dev *dev, unsigned id, uint16_t *off, uint8_t *version)
{
	uint32_t hdr;
	int pos = find_cap(dev, id);

	*off = 0;
	*version = 0;
	if (pos <= 0)
		return pos;
	int rc = cfg_read(dev, (unsigned)pos, 4, &hdr);
	if (rc)
		return rc;
	*off = (uint16_t)pos;
	*version = (hdr >> 16) & 0xf;
	return 0;
}

/* ATS and PASID share a layout: a 16-bit Capability register, then a 16-bit Control. */
_Static_assert(PRQD_ATS_CAP == PRQD_PASID_CAP && PRQD_ATS_CTRL == PRQD_PASID_CTRL,
	       "ATS and PASID registers differ");

static int read_cap_ctrl(struct prqd_pci_dev *dev, unsigned id, uint16_t *off, uint8_t *version,
			 uint16_t *cap, uint16_t *ctrl)
{
	int rc = cap_header(dev, id, off, version);

	if (rc || !*off)
		return rc;
	if ((rc = cfg_read16(dev, *off + PRQD_ATS_CAP, cap)))
		return rc;
	return cfg_read16(dev, *off + PRQD_ATS_CTRL, ctrl);
}

static int read_ats(struct prqd_pci_dev *dev, struct prqd_pci_ats *ats)
{
	int rc = read_cap_ctrl(dev, PRQD_PCI_EXT_CAP_ATS, &ats->offset, &ats->version, &ats->cap,
			       &ats->ctrl);

	if (rc || !ats->offset)
		return rc;
	ats->inv_queue_depth_field = ats->cap & PRQD_ATS_CAP_QDEP;
	/* The field is 5 bits wide, so a depth of 32 is encoded as 0. */
	ats->inv_queue_depth = ats->inv_queue_depth_field ? ats->inv_queue_depth_field : 32;
	ats->page_aligned = ats->cap & PRQD_ATS_CAP_PAGE_ALIGNED;
	ats->global_invalidate = ats->cap & PRQD_ATS_CAP_GLOBAL_INV;
	ats->stu = ats->ctrl & PRQD_ATS_CTRL_STU;
	ats->enable = ats->ctrl & PRQD_ATS_CTRL_ENABLE;
	return 0;
}

static int read_pasid(struct prqd_pci_dev *dev, struct prqd_pci_pasid *p)
{
	int rc = read_cap_ctrl(dev, PRQD_PCI_EXT_CAP_PASID, &p->offset, &p->version, &p->cap,
			       &p->ctrl);

	if (rc || !p->offset)
		return rc;
	p->exec_supported = p->cap & PRQD_PASID_CAP_EXEC;
	p->priv_supported = p->cap & PRQD_PASID_CAP_PRIV;
	p->max_width = (p->cap & PRQD_PASID_CAP_WIDTH) >> 8;
	p->enable = p->ctrl & PRQD_PASID_CTRL_ENABLE;
	p->exec_enable = p->ctrl & PRQD_PASID_CTRL_EXEC;
	p->priv_enable = p->ctrl & PRQD_PASID_CTRL_PRIV;
	return 0;
}

static int read_pri(struct prqd_pci_dev *dev, struct prqd_pci_pri *p)
{
	int rc = cap_header(dev, PRQD_PCI_EXT_CAP_PRI, &p->offset, &p->version);

	if (rc || !p->offset)
		return rc;
	if ((rc = cfg_read16(dev, p->offset + PRQD_PRI_CTRL, &p->ctrl)) ||
	    (rc = cfg_read16(dev, p->offset + PRQD_PRI_STATUS, &p->status)) ||
	    (rc = cfg_read(dev, p->offset + PRQD_PRI_MAX_REQ, 4, &p->capacity)) ||
	    (rc = cfg_read(dev, p->offset + PRQD_PRI_ALLOC_REQ, 4, &p->allocation)))
		return rc;
	p->enable = p->ctrl & PRQD_PRI_CTRL_ENABLE;
	p->reset = p->ctrl & PRQD_PRI_CTRL_RESET;
	p->response_failure = p->status & PRQD_PRI_STATUS_RF;
	p->unexpected_prg_index = p->status & PRQD_PRI_STATUS_UPRGI;
	p->stopped = p->status & PRQD_PRI_STATUS_STOPPED;
	p->prg_resp_pasid_required = p->status & PRQD_PRI_STATUS_PASID;
	return 0;
}

/* A function that is gone (or in reset) answers every read with all ones. */
static int check_present(struct prqd_pci_dev *dev, uint16_t *vendor, uint16_t *device)
{
	int rc;

	if ((rc = cfg_read16(dev, 0x00, vendor)) || (rc = cfg_read16(dev, 0x02, device)))
		return rc;
	if (*vendor == 0xffff) {
		prqd_pci_log(dev->ctx, PRQD_LOG_ERR, "%02x:%02x.%u reads as all ones (gone?)",
			     dev->bus, dev->dev, dev->func);
		return -ENODEV;
	}
	return 0;
}

PRQD_EXPORT int prqd_pci_dev_caps(struct prqd_pci_dev *dev, struct prqd_pci_caps *out, size_t size)
{
	struct prqd_pci_caps c;
	int rc;

	if (!dev || !out || size < sizeof(c))
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	c.domain = dev->domain;
	c.bus = dev->bus;
	c.dev = dev->dev;
	c.func = dev->func;
	if ((rc = check_present(dev, &c.vendor_id, &c.device_id)) || (rc = read_ats(dev, &c.ats)) ||
	    (rc = read_pasid(dev, &c.pasid)) || (rc = read_pri(dev, &c.pri))) {
		if (rc == -EIO)
			prqd_pci_log(dev->ctx, PRQD_LOG_ERR,
				     "%02x:%02x.%u: configuration space unreadable inside a "
				     "capability (truncated dump?)",
				     dev->bus, dev->dev, dev->func);
		return rc;
	}
	memcpy(out, &c, sizeof(c));
	return 0;
}

PRQD_EXPORT int prqd_pci_dev_info(struct prqd_pci_dev *dev, struct prqd_dev_info *info)
{
	struct prqd_pci_caps c;
	int rc;

	if (!info || info->size < offsetof(struct prqd_dev_info, ats_queue_depth) +
					  sizeof(info->ats_queue_depth))
		return -EINVAL;
	rc = prqd_pci_dev_caps(dev, &c, sizeof(c));
	if (rc)
		return rc;
	if (!c.pri.offset || c.pri.capacity == 0) {
		prqd_pci_log(dev->ctx, PRQD_LOG_ERR, "%02x:%02x.%u: %s", c.bus, c.dev, c.func,
			     c.pri.offset ? "PRI capacity is 0" : "no PRI capability");
		return -EOPNOTSUPP;
	}
	/* Widths 21..31 are reserved encodings: such a device breaks the spec, and no width the
	 * core could be given is known to be true (a clamp to 20 would be a guess). */
	if (c.pasid.offset && c.pasid.max_width > PRQD_PASID_WIDTH_MAX) {
		prqd_pci_log(dev->ctx, PRQD_LOG_ERR,
			     "%02x:%02x.%u: Max PASID Width %u is a reserved value (at most %u)",
			     c.bus, c.dev, c.func, c.pasid.max_width, PRQD_PASID_WIDTH_MAX);
		return -EPROTO;
	}
	info->rid = (uint16_t)(c.bus << 8 | c.dev << 3 | c.func);
	info->pri_capacity = c.pri.capacity;
	info->pri_alloc = c.pri.allocation;
	info->prg_resp_pasid_required = c.pri.prg_resp_pasid_required;
	info->uses_stop_markers = false;
	info->pasid_width = c.pasid.offset ? c.pasid.max_width : 0;
	info->ats_queue_depth = c.ats.offset ? c.ats.inv_queue_depth_field : 0;
	return 0;
}

/* ---- PRI control --------------------------------------------------------------------------- */

/* The PRI offset and its control register, or an error: no PRI, device gone. */
static int pri_begin(struct prqd_pci_dev *dev, unsigned *off, uint16_t *ctrl)
{
	uint16_t vendor, device;
	int pos, rc;

	if (!dev)
		return -EINVAL;
	if ((rc = check_present(dev, &vendor, &device)))
		return rc;
	pos = find_cap(dev, PRQD_PCI_EXT_CAP_PRI);
	if (pos < 0)
		return pos;
	if (pos == 0)
		return -EOPNOTSUPP;
	*off = (unsigned)pos;
	return cfg_read16(dev, *off + PRQD_PRI_CTRL, ctrl);
}

/* Reserved status bits read 0, so all ones means the function stopped answering. */
static int pri_status(struct prqd_pci_dev *dev, unsigned off, uint16_t *status)
{
	int rc = cfg_read16(dev, off + PRQD_PRI_STATUS, status);

	if (rc == 0 && *status == 0xffff)
		return -ENODEV;
	return rc;
}

PRQD_EXPORT int prqd_pci_pri_stop(struct prqd_pci_dev *dev, unsigned timeout_ms)
{
	unsigned off;
	uint16_t ctrl, status;
	int rc = pri_begin(dev, &off, &ctrl);

	if (rc)
		return rc;
	/* Reset reads 0, but never write it back by accident along with Enable. */
	if (ctrl & PRQD_PRI_CTRL_ENABLE) {
		rc = cfg_write(dev, off + PRQD_PRI_CTRL, 2,
			       ctrl & ~(PRQD_PRI_CTRL_ENABLE | PRQD_PRI_CTRL_RESET));
		if (rc)
			return rc;
	}

	uint64_t deadline = dev->ops->now_ns(dev->user) + (uint64_t)timeout_ms * 1000000u;
	uint64_t interval = STOP_POLL_FIRST_NS;

	for (;;) {
		if ((rc = pri_status(dev, off, &status)))
			return rc;
		if (status & PRQD_PRI_STATUS_STOPPED)
			return 0;
		uint64_t now = dev->ops->now_ns(dev->user);
		if (now >= deadline) {
			prqd_pci_log(dev->ctx, PRQD_LOG_WARNING,
				     "%02x:%02x.%u: PRI not stopped after %u ms", dev->bus,
				     dev->dev, dev->func, timeout_ms);
			return -ETIMEDOUT;
		}
		dev->ops->sleep_ns(dev->user,
				   interval < deadline - now ? interval : deadline - now);
		if (interval < STOP_POLL_MAX_NS)
			interval *= 2;
	}
}

PRQD_EXPORT int prqd_pci_pri_reset(struct prqd_pci_dev *dev)
{
	unsigned off;
	uint16_t ctrl;
	int rc = pri_begin(dev, &off, &ctrl);

	if (rc)
		return rc;
	if (ctrl == 0xffff)
		return -ENODEV;
	/* Reset is defined only while PRI is disabled. */
	if (ctrl & PRQD_PRI_CTRL_ENABLE)
		return -EBUSY;
	return cfg_write(dev, off + PRQD_PRI_CTRL, 2, ctrl | PRQD_PRI_CTRL_RESET);
}

PRQD_EXPORT int prqd_pci_pri_enable(struct prqd_pci_dev *dev, uint32_t requested,
				    uint32_t *granted)
{
	unsigned off;
	uint16_t ctrl, status;
	uint32_t capacity;
	int rc;

	if (requested == 0)
		return -EINVAL;
	if ((rc = pri_begin(dev, &off, &ctrl)) || (rc = pri_status(dev, off, &status)))
		return rc;
	if ((ctrl & PRQD_PRI_CTRL_ENABLE) || !(status & PRQD_PRI_STATUS_STOPPED)) {
		prqd_pci_log(dev->ctx, PRQD_LOG_ERR, "%02x:%02x.%u: PRI %s: stop it first",
			     dev->bus, dev->dev, dev->func,
			     (ctrl & PRQD_PRI_CTRL_ENABLE) ? "enabled already" : "not stopped");
		return -EBUSY;
	}
	if ((rc = cfg_read(dev, off + PRQD_PRI_MAX_REQ, 4, &capacity)))
		return rc;
	if (capacity == 0)
		return -EOPNOTSUPP;
	uint32_t alloc = requested < capacity ? requested : capacity;
	/* Allocation may only change while Enable is clear: write it first. */
	if ((rc = cfg_write(dev, off + PRQD_PRI_ALLOC_REQ, 4, alloc)) ||
	    (rc = cfg_write(dev, off + PRQD_PRI_CTRL, 2,
			    (ctrl & ~PRQD_PRI_CTRL_RESET) | PRQD_PRI_CTRL_ENABLE)))
		return rc;
	if (granted)
		*granted = alloc;
	return 0;
}

PRQD_EXPORT int prqd_pci_pri_clear_errors(struct prqd_pci_dev *dev)
{
	unsigned off;
	uint16_t ctrl, status;
	int rc;

	if ((rc = pri_begin(dev, &off, &ctrl)) || (rc = pri_status(dev, off, &status)))
		return rc;
	/* Write-one-to-clear: writing only these two bits leaves the rest of Status alone. */
	return cfg_write(dev, off + PRQD_PRI_STATUS, 2,
			 PRQD_PRI_STATUS_RF | PRQD_PRI_STATUS_UPRGI);
}

/* ---- devices on custom ops ----------------------------------------------------------------- */

int prqd__pci_dev_new(struct prqd_ctx *ctx, const struct prqd_pci_cfg_ops *ops, void *user,
		      uint32_t domain, uint8_t bus, uint8_t dev, uint8_t func,
		      struct prqd_pci_dev **out)
{
	struct prqd_pci_dev *d = prqd__linux_calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ctx = ctx;
	d->ops = ops;
	d->user = user;
	d->domain = domain;
	d->bus = bus;
	d->dev = dev;
	d->func = func;
	*out = d;
	return 0;
}

void prqd__pci_dev_free(struct prqd_pci_dev *dev)
{
	prqd__linux_free(dev);
}
