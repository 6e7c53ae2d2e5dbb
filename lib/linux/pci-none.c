/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/pci-none.c: the libpci helpers in a build without libpci.
 *
 * The API and the exported symbols stay the same in every build (the rule the uevent helpers
 * follow too, lib/linux/uevent-nosock.c): prqd_pci_open() reports -EOPNOTSUPP, so no handle
 * and no device ever exists, and the calls that take one refuse what they are given.
 */
#include <errno.h>

#include <prqdrain-pci.h>

#include "lib/private.h"

PRQD_EXPORT int prqd_pci_open(struct prqd_ctx *ctx, const char *dump_file, struct prqd_pci **out)
{
	(void)ctx;
	(void)dump_file;
	return out ? -EOPNOTSUPP : -EINVAL;
}

PRQD_EXPORT void prqd_pci_close(struct prqd_pci *pci)
{
	(void)pci; /* never opened */
}

PRQD_EXPORT struct prqd_pci_dev *prqd_pci_dev_next(struct prqd_pci *pci, struct prqd_pci_dev *prev)
{
	(void)pci;
	(void)prev;
	return NULL;
}

PRQD_EXPORT int prqd_pci_dev_match(struct prqd_pci_dev *dev, const char *slot)
{
	(void)dev;
	(void)slot;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_dev_caps(struct prqd_pci_dev *dev, struct prqd_pci_caps *out, size_t size)
{
	(void)dev;
	(void)out;
	(void)size;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_dev_info(struct prqd_pci_dev *dev, struct prqd_dev_info *info)
{
	(void)dev;
	(void)info;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_pri_stop(struct prqd_pci_dev *dev, unsigned timeout_ms)
{
	(void)dev;
	(void)timeout_ms;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_pri_reset(struct prqd_pci_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_pri_enable(struct prqd_pci_dev *dev, uint32_t requested, uint32_t *granted)
{
	(void)dev;
	(void)requested;
	(void)granted;
	return -EOPNOTSUPP;
}

PRQD_EXPORT int prqd_pci_pri_clear_errors(struct prqd_pci_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;
}
