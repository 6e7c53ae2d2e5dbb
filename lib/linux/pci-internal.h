/* SPDX-License-Identifier: MIT */
/*
 * Private interface of the libpci helpers.
 *
 * The decoding and PRI control code (pci-cfg.c) never calls libpci: it reaches configuration
 * space through struct prqd_pci_cfg_ops. pci.c supplies the libpci implementation; the tests
 * supply an in-memory one, because dumps are read-only and nobody runs the suite with a PRI
 * device at hand.
 */
#ifndef PRQD_LINUX_PCI_INTERNAL_H
#define PRQD_LINUX_PCI_INTERNAL_H

#include <stdint.h>

#include "prqdrain-pci.h"
#include "lib/private.h"

/* Register layout (PCIe base spec; Linux pci_regs.h uses the same numbers). */
#define PRQD_PCI_EXT_CAP_START 0x100
#define PRQD_PCI_CFG_SIZE 4096

#define PRQD_ATS_CAP 0x04
#define PRQD_ATS_CAP_QDEP 0x001f
#define PRQD_ATS_CAP_PAGE_ALIGNED 0x0020
#define PRQD_ATS_CAP_GLOBAL_INV 0x0040
#define PRQD_ATS_CTRL 0x06
#define PRQD_ATS_CTRL_STU 0x001f
#define PRQD_ATS_CTRL_ENABLE 0x8000

#define PRQD_PASID_CAP 0x04
#define PRQD_PASID_CAP_EXEC 0x0002
#define PRQD_PASID_CAP_PRIV 0x0004
#define PRQD_PASID_CAP_WIDTH 0x1f00
/* Max PASID Width values above 20 are reserved. */
#define PRQD_PASID_WIDTH_MAX 20u
#define PRQD_PASID_CTRL 0x06
#define PRQD_PASID_CTRL_ENABLE 0x0001
#define PRQD_PASID_CTRL_EXEC 0x0002
#define PRQD_PASID_CTRL_PRIV 0x0004

#define PRQD_PRI_CTRL 0x04
#define PRQD_PRI_CTRL_ENABLE 0x0001
#define PRQD_PRI_CTRL_RESET 0x0002
#define PRQD_PRI_STATUS 0x06
#define PRQD_PRI_STATUS_RF 0x0001
#define PRQD_PRI_STATUS_UPRGI 0x0002
#define PRQD_PRI_STATUS_STOPPED 0x0100
/* PRG Response PASID Required: libpci 3.9's header (Debian 12) does not name it yet. */
#define PRQD_PRI_STATUS_PASID 0x8000
#define PRQD_PRI_MAX_REQ 0x08
#define PRQD_PRI_ALLOC_REQ 0x0c

/*
 * Configuration space access of one device. Every callback gets @user. Values are in CPU
 * order; @width is 1, 2 or 4 and @pos is aligned to it.
 */
struct prqd_pci_cfg_ops {
	/* 0, or -EIO when the bytes cannot be read (past the end of a dump, sysfs refused). */
	int (*read)(void *user, unsigned pos, unsigned width, uint32_t *val);
	/* 0, -EROFS (read-only view), -EIO. */
	int (*write)(void *user, unsigned pos, unsigned width, uint32_t val);
	/*
	 * Optional. Offset of extended capability @id, 0 when absent, or a negative errno.
	 * NULL: prqd__pci_find_ext_cap() walks the list through read().
	 */
	int (*find_ext_cap)(void *user, unsigned id);
	/* Monotonic clock and a sleep, for prqd_pci_pri_stop()'s deadline. */
	uint64_t (*now_ns)(void *user);
	void (*sleep_ns)(void *user, uint64_t ns);
};

struct prqd_pci_dev {
	struct prqd_ctx *ctx; /* for messages; may be NULL */
	const struct prqd_pci_cfg_ops *ops;
	void *user;
	uint32_t domain;
	uint8_t bus, dev, func;
	void *lib; /* struct pci_dev of libpci, NULL for a device on custom ops */
	struct prqd_pci *pci; /* owner, NULL for a device on custom ops */
};

/*
 * Walk the extended capability list from 0x100 through ops->read. Stops on an empty header,
 * an all-ones header, a pointer below 0x100 or a loop. Returns the offset, 0 or -EIO.
 */
int prqd__pci_find_ext_cap(const struct prqd_pci_cfg_ops *ops, void *user, unsigned id);

/*
 * A device on custom ops (the tests' in-memory configuration space). @ops and @user must
 * outlive it. The identity is what prqd_pci_dev_caps() reports: vendor and device IDs are read
 * through @ops. Free with prqd__pci_dev_free(). Returns 0, -ENOMEM.
 */
int prqd__pci_dev_new(struct prqd_ctx *ctx, const struct prqd_pci_cfg_ops *ops, void *user,
		      uint32_t domain, uint8_t bus, uint8_t dev, uint8_t func,
		      struct prqd_pci_dev **out);
void prqd__pci_dev_free(struct prqd_pci_dev *dev);

/*
 * Check a dump file against the grammar of libpci's dump reader (pci-dump-check.c) before
 * libpci reads it. Returns 0; -EBADMSG (malformed: logged with the line number through @ctx);
 * an open(2) error; -EIO (read error).
 */
int prqd__pci_dump_check(struct prqd_ctx *ctx, const char *path);

/* Log through @ctx when there is one (the helpers accept a NULL context). */
#define prqd_pci_log(ctx, prio, ...)                                                          \
	do {                                                                                   \
		if (ctx)                                                                       \
			prqd_log_cond((ctx), (prio), __VA_ARGS__);                             \
	} while (0)

#endif /* PRQD_LINUX_PCI_INTERNAL_H */
