/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the PCI dump path, prqd_pci_open() on an `lspci -xxxx` file (the file check
 * of pci-dump-check.c, then libpci's dump reader), and decoding every device it lists.
 * Properties: the process survives any file (issue 7: an offset of 2^31 crashed libpci);
 * open returns 0 or a documented error; every listed device decodes or fails with a
 * documented error, matches its own slot, and what prqd_pci_dev_info() fills is in range.
 * The input is written to one temporary file per process, rewritten for every input.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prqdrain-pci.h"
#include "tests/fuzz/fuzz.h"

static char dump_path[] = "/tmp/prqd-fuzz-dump-XXXXXX";
static int dump_fd = -1;

static void remove_dump(void)
{
	if (dump_fd >= 0) {
		close(dump_fd);
		unlink(dump_path);
	}
}

static void write_dump(const uint8_t *data, size_t size)
{
	if (dump_fd < 0) {
		dump_fd = mkstemp(dump_path);
		FUZZ_REQUIRE(dump_fd >= 0, "mkstemp: %s", strerror(errno));
		atexit(remove_dump);
	}
	FUZZ_REQUIRE(ftruncate(dump_fd, 0) == 0, "ftruncate");
	for (size_t done = 0; done < size;) {
		ssize_t n = pwrite(dump_fd, data + done, size - done, (off_t)done);
		FUZZ_REQUIRE(n > 0, "pwrite: %s", strerror(errno));
		done += (size_t)n;
	}
}

static void check_device(struct prqd_pci_dev *d)
{
	struct prqd_pci_caps c;
	struct prqd_dev_info info = { .size = sizeof(info) };
	char slot[32];
	int rc = prqd_pci_dev_caps(d, &c, sizeof(c));

	FUZZ_REQUIRE(rc == 0 || rc == -EIO || rc == -ENODEV, "prqd_pci_dev_caps: %d", rc);
	if (rc != 0)
		return;
	snprintf(slot, sizeof(slot), "%x:%02x:%02x.%x", c.domain, c.bus, c.dev, c.func);
	FUZZ_REQUIRE(prqd_pci_dev_match(d, slot) == 1, "device does not match its slot %s", slot);
	rc = prqd_pci_dev_info(d, &info);
	FUZZ_REQUIRE(rc == 0 || rc == -EIO || rc == -ENODEV || rc == -EOPNOTSUPP || rc == -EPROTO,
		     "prqd_pci_dev_info: %d", rc);
	if (rc == 0)
		FUZZ_REQUIRE(info.pasid_width <= 20 && info.pri_capacity >= 1 &&
				     info.rid == (c.bus << 8 | c.dev << 3 | c.func),
			     "info out of range");
	/* A dump is read-only. */
	rc = prqd_pci_pri_reset(d);
	FUZZ_REQUIRE(rc == -EROFS || rc == -EOPNOTSUPP || rc == -EBUSY || rc == -ENODEV ||
			     rc == -EIO,
		     "prqd_pci_pri_reset on a dump: %d", rc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prqd_pci *pci = NULL;
	int rc;

	write_dump(data, size);
	rc = prqd_pci_open(NULL, dump_path, &pci);
	FUZZ_REQUIRE(rc == 0 || rc == -EBADMSG || rc == -ENOMEM || rc == -EIO,
		     "prqd_pci_open: %d", rc);
	if (rc != 0)
		return 0;
	for (struct prqd_pci_dev *d = prqd_pci_dev_next(pci, NULL); d; d = prqd_pci_dev_next(pci, d))
		check_device(d);
	prqd_pci_close(pci);
	return 0;
}
