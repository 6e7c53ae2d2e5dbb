/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/alloc.h: the memory of the Linux helpers (lib/linux/: the default platform, the
 * libpci helpers, the uevent monitor), and the hook a test fails it through.
 *
 * The core allocates only through the embedder's platform table. The helpers are hosted code
 * that libc's allocator serves anyway (libpci and libnl allocate with malloc themselves), and
 * not every one of them has a context to reach a platform from (prqd_monitor_new() takes none),
 * so they call these wrappers instead of calloc/realloc/strdup/free, and an allocation-failure
 * test can refuse any one of their allocations.
 *
 * The hook is hosted-only test support: it is per thread (set and seen only by the thread that
 * installs it, so tests running in parallel cannot disturb each other), and without one these
 * are the libc functions.
 */
#ifndef PRQD_LINUX_ALLOC_H
#define PRQD_LINUX_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

void *prqd__linux_calloc(size_t n, size_t size);
/* realloc(); with @ptr NULL an allocation like any other. */
void *prqd__linux_realloc(void *ptr, size_t size);
char *prqd__linux_strdup(const char *s);
void prqd__linux_free(void *ptr);

struct prqd__linux_alloc_hook {
	/* Asked before every allocation, with its size in bytes: true refuses it. */
	bool (*refuse)(void *arg, size_t size);
	/* Told +1 for every new block handed out, -1 for every block freed. May be NULL. */
	void (*count)(void *arg, int delta);
	void *arg;
};

/* Install @hook for the calling thread (copied); NULL removes it. */
void prqd__linux_alloc_hook_set(const struct prqd__linux_alloc_hook *hook);

#endif /* PRQD_LINUX_ALLOC_H */
