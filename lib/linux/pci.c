/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/pci.c: the libpci side of the PCI helpers: opening a live or dump view, listing
 * its devices, slot filters, and the configuration space ops pci-cfg.c decodes through.
 *
 * libpci reports fatal errors by calling pci_access.error, declared no-return, whose default
 * prints and calls exit(1). A library must not end its host process, so every libpci call
 * runs under a guard: a setjmp() the error hook longjmp()s back to, turning the error into a
 * return value. The hook receives no context pointer, so the innermost guard of the calling
 * thread is found through one thread-local pointer; it is set only while a guarded call runs
 * and is never shared between threads.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pci/pci.h>

#include "lib/linux/alloc.h"
#include "lib/linux/pci-internal.h"

struct prqd_pci {
	struct prqd_ctx *ctx;       /* referenced; may be NULL */
	struct pci_access *acc;
	bool read_only;             /* a dump: libpci cannot write it */
	size_t ndevs;
	struct prqd_pci_dev *devs;  /* sorted by domain, bus, device, function */
};

/* ---- the guard around libpci calls --------------------------------------------------------- */

struct lp_guard {
	jmp_buf env;
	struct prqd_ctx *ctx;
	struct lp_guard *outer;
	char msg[256];
};

static _Thread_local struct lp_guard *lp_current;

static void lp_guard_push(struct lp_guard *g, struct prqd_ctx *ctx)
{
	g->ctx = ctx;
	g->outer = lp_current;
	g->msg[0] = '\0';
	lp_current = g;
}

static void lp_guard_pop(struct lp_guard *g)
{
	lp_current = g->outer;
}

static void lp_error(char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void lp_error(char *fmt, ...)
{
	struct lp_guard *g = lp_current;
	va_list ap;

	/* Every libpci call is guarded; getting here without a guard is a bug in this file. */
	if (!g)
		abort();
	va_start(ap, fmt);
	vsnprintf(g->msg, sizeof(g->msg), fmt, ap);
	va_end(ap);
	lp_guard_pop(g);
	longjmp(g->env, 1);
}

static void lp_vlog(int prio, const char *fmt, va_list ap)
{
	struct lp_guard *g = lp_current;
	char buf[256];

	if (!g || !g->ctx)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	prqd_pci_log(g->ctx, prio, "libpci: %s", buf);
}

static void lp_warning(char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lp_warning(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lp_vlog(PRQD_LOG_WARNING, fmt, ap);
	va_end(ap);
}

static void lp_debug(char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void lp_debug(char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lp_vlog(PRQD_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* An errno for a libpci error message: its messages are the only description it gives. */
static int lp_error_code(const char *msg)
{
	if (strstr(msg, "working access method"))
		return -ENODEV;
	if (strncmp(msg, "dump:", 5) == 0)
		return strstr(msg, "Cannot open") ? -ENOENT : -EBADMSG;
	if (strstr(msg, "Out of memory"))
		return -ENOMEM;
	return -EIO;
}

static int lp_failed(struct lp_guard *g)
{
	prqd_pci_log(g->ctx, PRQD_LOG_ERR, "libpci: %s", g->msg);
	return lp_error_code(g->msg);
}

/* ---- configuration space ops on a libpci device --------------------------------------------- */

static int lp_read(void *user, unsigned pos, unsigned width, uint32_t *val)
{
	struct prqd_pci_dev *dev = user;
	struct lp_guard g;
	uint8_t b[4];

	lp_guard_push(&g, dev->ctx);
	if (setjmp(g.env))
		return lp_failed(&g);
	/* pci_read_word() hides a failed read as all ones; pci_read_block() reports it, which
	 * is how a dump that ends inside a capability is told from a register of all ones. */
	int ok = pci_read_block(dev->lib, (int)pos, b, (int)width);
	lp_guard_pop(&g);
	if (!ok)
		return -EIO;
	/* Configuration space is little-endian. */
	*val = 0;
	for (unsigned i = 0; i < width; i++)
		*val |= (uint32_t)b[i] << (8 * i);
	return 0;
}

static int lp_write(void *user, unsigned pos, unsigned width, uint32_t val)
{
	struct prqd_pci_dev *dev = user;
	struct lp_guard g;
	uint8_t b[4];

	if (dev->pci->read_only)
		return -EROFS;
	for (unsigned i = 0; i < width; i++)
		b[i] = (uint8_t)(val >> (8 * i));
	lp_guard_push(&g, dev->ctx);
	if (setjmp(g.env))
		return lp_failed(&g);
	int ok = pci_write_block(dev->lib, (int)pos, b, (int)width);
	lp_guard_pop(&g);
	return ok ? 0 : -EIO;
}

/* libpci's own walk, so a device shows the capabilities lspci shows (it needs a PCI Express
 * capability before it looks at extended space, and it stops loops). */
static int lp_find_ext_cap(void *user, unsigned id)
{
	struct prqd_pci_dev *dev = user;
	struct lp_guard g;

	lp_guard_push(&g, dev->ctx);
	if (setjmp(g.env))
		return lp_failed(&g);
	struct pci_cap *cap = pci_find_cap(dev->lib, id, PCI_CAP_EXTENDED);
	lp_guard_pop(&g);
	return cap ? cap->addr : 0;
}

static uint64_t lp_now_ns(void *user)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lp_sleep_ns(void *user, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	/* An early wake-up only means one more poll before the deadline. */
	nanosleep(&ts, NULL);
}

static const struct prqd_pci_cfg_ops lp_ops = {
	.read = lp_read,
	.write = lp_write,
	.find_ext_cap = lp_find_ext_cap,
	.now_ns = lp_now_ns,
	.sleep_ns = lp_sleep_ns,
};

/* ---- opening, listing ------------------------------------------------------------------------ */

static int dev_cmp(const void *a, const void *b)
{
	const struct prqd_pci_dev *x = a, *y = b;
	uint64_t kx = (uint64_t)x->domain << 16 | x->bus << 8 | x->dev << 3 | x->func;
	uint64_t ky = (uint64_t)y->domain << 16 | y->bus << 8 | y->dev << 3 | y->func;

	return kx < ky ? -1 : kx > ky;
}

/* Copy libpci's device list into pci->devs. Runs under the caller's guard. */
static int lp_collect(struct prqd_pci *pci)
{
	size_t n = 0;

	for (struct pci_dev *d = pci->acc->devices; d; d = d->next)
		n++;
	pci->devs = prqd__linux_calloc(n ? n : 1, sizeof(*pci->devs));
	if (!pci->devs)
		return -ENOMEM;
	for (struct pci_dev *d = pci->acc->devices; d; d = d->next) {
		struct prqd_pci_dev *dev = &pci->devs[pci->ndevs++];

		dev->ctx = pci->ctx;
		dev->ops = &lp_ops;
		dev->lib = d;
		dev->pci = pci;
		dev->domain = (uint32_t)d->domain;
		dev->bus = d->bus;
		dev->dev = d->dev;
		dev->func = d->func;
	}
	qsort(pci->devs, pci->ndevs, sizeof(*pci->devs), dev_cmp);
	/* The ops get the device itself: its address is final only after sorting. */
	for (size_t i = 0; i < pci->ndevs; i++)
		pci->devs[i].user = &pci->devs[i];
	return 0;
}

static void lp_cleanup(struct prqd_pci *pci)
{
	struct lp_guard g;

	if (pci->acc) {
		lp_guard_push(&g, pci->ctx);
		/* libpci's cleanup does not fail in practice; if it did, leak the rest. */
		if (!setjmp(g.env)) {
			pci_cleanup(pci->acc);
			lp_guard_pop(&g);
		}
	}
	prqd__linux_free(pci->devs);
	if (pci->ctx)
		prqd_ctx_unref(pci->ctx);
	prqd__linux_free(pci);
}

PRQD_EXPORT int prqd_pci_open(struct prqd_ctx *ctx, const char *dump_file, struct prqd_pci **out)
{
	struct prqd_pci *pci;
	struct lp_guard g;
	int rc;

	if (!out)
		return -EINVAL;
	pci = prqd__linux_calloc(1, sizeof(*pci));
	if (!pci)
		return -ENOMEM;
	pci->ctx = ctx ? prqd_ctx_ref(ctx) : NULL;

	if (dump_file) {
		/* libpci's message would say why, but not as an errno, and its parser trusts
		 * the file too much: check the file first. */
		rc = prqd__pci_dump_check(ctx, dump_file);
		if (rc) {
			lp_cleanup(pci);
			return rc;
		}
		pci->read_only = true;
	}

	/* pci_alloc() runs before any hook can be installed; it fails only when out of
	 * memory, where libpci's default handler exits. */
	pci->acc = pci_alloc();
	if (!pci->acc) {
		lp_cleanup(pci);
		return -ENOMEM;
	}
	pci->acc->error = lp_error;
	pci->acc->warning = lp_warning;
	pci->acc->debug = lp_debug;

	lp_guard_push(&g, ctx);
	if (setjmp(g.env)) {
		rc = lp_failed(&g);
		lp_cleanup(pci);
		return rc;
	}
	if (dump_file) {
		pci->acc->method = PCI_ACCESS_DUMP;
		/* The parameter takes a char *, which libpci copies. */
		char *name = prqd__linux_strdup(dump_file);
		int set = name ? pci_set_param(pci->acc, (char *)"dump.name", name) : -ENOMEM;
		prqd__linux_free(name);
		if (set != 0) {
			/* -1 from libpci: built without the dump method. */
			lp_guard_pop(&g);
			lp_cleanup(pci);
			return set == -ENOMEM ? -ENOMEM : -EOPNOTSUPP;
		}
	}
	pci_init(pci->acc);
	pci_scan_bus(pci->acc);
	rc = lp_collect(pci);
	lp_guard_pop(&g);
	if (rc) {
		lp_cleanup(pci);
		return rc;
	}
	*out = pci;
	return 0;
}

PRQD_EXPORT void prqd_pci_close(struct prqd_pci *pci)
{
	if (pci)
		lp_cleanup(pci);
}

PRQD_EXPORT struct prqd_pci_dev *prqd_pci_dev_next(struct prqd_pci *pci,
						   struct prqd_pci_dev *prev)
{
	size_t i;

	if (!pci)
		return NULL;
	i = prev ? (size_t)(prev - pci->devs) + 1 : 0;
	return i < pci->ndevs ? &pci->devs[i] : NULL;
}

PRQD_EXPORT int prqd_pci_dev_match(struct prqd_pci_dev *dev, const char *slot)
{
	struct pci_filter f;
	struct lp_guard g;
	char *buf;
	int rc;

	if (!dev || !slot)
		return -EINVAL;
	if (!dev->pci)
		return -EOPNOTSUPP;
	/* libpci parses in place. */
	buf = prqd__linux_strdup(slot);
	if (!buf)
		return -ENOMEM;
	lp_guard_push(&g, dev->ctx);
	if (setjmp(g.env)) {
		prqd__linux_free(buf);
		return lp_failed(&g);
	}
	pci_filter_init(dev->pci->acc, &f);
	const char *err = pci_filter_parse_slot(&f, buf);
	if (err) {
		prqd_pci_log(dev->ctx, PRQD_LOG_ERR, "slot filter '%s': %s", slot, err);
		rc = -EINVAL;
	} else {
		rc = pci_filter_match(&f, dev->lib) ? 1 : 0;
	}
	lp_guard_pop(&g);
	prqd__linux_free(buf);
	return rc;
}
