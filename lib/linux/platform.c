/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/platform.c: the default platform for Linux user space (hosted builds only).
 *
 * Memory from calloc (through lib/linux/alloc.h, so a test can refuse it), time from
 * CLOCK_MONOTONIC, sched_yield as the polling hint, pthread mutexes as the locks and
 * secure_getenv for the environment. It has no MMIO window and no DMA memory, so
 * register-level backends cannot run on it; the simulator can.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "prqdrain.h"
#include "lib/linux/alloc.h"
#include "lib/private.h" /* PRQD_EXPORT */

/*
 * prqdrain.h carries its own copies of the errno values so the core needs no <errno.h>.
 * They must equal the C library's, or strerror(-ret) would lie.
 */
#define CHECK_ERRNO(name) _Static_assert(PRQD_##name == name, "PRQD_" #name " != " #name)
CHECK_ERRNO(EPERM);
CHECK_ERRNO(ENOENT);
CHECK_ERRNO(EIO);
CHECK_ERRNO(EAGAIN);
CHECK_ERRNO(ENOMEM);
CHECK_ERRNO(EBUSY);
CHECK_ERRNO(EEXIST);
CHECK_ERRNO(ENODEV);
CHECK_ERRNO(EINVAL);
CHECK_ERRNO(ERANGE);
CHECK_ERRNO(EDEADLK);
CHECK_ERRNO(ENOSPC);
CHECK_ERRNO(EPROTO);
CHECK_ERRNO(EBADMSG);
CHECK_ERRNO(EOPNOTSUPP);
CHECK_ERRNO(ESHUTDOWN);
CHECK_ERRNO(ETIMEDOUT);
CHECK_ERRNO(EALREADY);
CHECK_ERRNO(EINPROGRESS);
CHECK_ERRNO(ESTALE);
#undef CHECK_ERRNO

static void *linux_alloc(void *user, size_t size)
{
	/* calloc(1, 0) may return NULL, which would read as failure. */
	return prqd__linux_calloc(1, size ? size : 1);
}

static void linux_free(void *user, void *ptr, size_t size)
{
	prqd__linux_free(ptr);
}

static uint64_t linux_now_ns(void *user)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC cannot fail with a valid pointer on Linux. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void linux_relax(void *user)
{
	sched_yield();
}

static int linux_lock_init(void *user, void *lock)
{
	return -pthread_mutex_init(lock, NULL);
}

static void linux_lock_destroy(void *user, void *lock)
{
	pthread_mutex_destroy(lock);
}

static void linux_lock(void *user, void *lock)
{
	pthread_mutex_lock(lock);
}

static void linux_unlock(void *user, void *lock)
{
	pthread_mutex_unlock(lock);
}

static const char *linux_getenv(void *user, const char *name)
{
	/* NULL in set-uid and similar secure-execution programs. */
	return secure_getenv(name);
}

static void *linux_backend_data(void *user, const char *backend)
{
	return NULL;
}

/* The sink while no log function is installed: "prqdrain: debug: prqd_bind: ..." on stderr,
 * one write per line so lines of concurrent threads do not interleave. */
static void linux_log(void *user, int prio, const char *file, int line, const char *fn,
		      const char *msg)
{
	static const char *const names[] = { "emerg", "alert", "crit", "err",
					     "warning", "notice", "info", "debug" };
	const char *level = prio >= 0 && prio < 8 ? names[prio] : "log";
	fprintf(stderr, "prqdrain: %s: %s: %s\n", level, fn, msg);
}

static const struct prqd_platform linux_platform = {
	.size = sizeof(struct prqd_platform),
	.user = NULL,
	.alloc = linux_alloc,
	.free = linux_free,
	.now_ns = linux_now_ns,
	.relax = linux_relax,
	.lock_size = sizeof(pthread_mutex_t),
	.lock_init = linux_lock_init,
	.lock_destroy = linux_lock_destroy,
	.lock = linux_lock,
	.unlock = linux_unlock,
	.getenv = linux_getenv,
	.backend_data = linux_backend_data,
	/* No register window and no DMA memory in user space. */
	.mmio_read32 = NULL,
	.mmio_read64 = NULL,
	.mmio_write32 = NULL,
	.mmio_write64 = NULL,
	.dma_alloc = NULL,
	.dma_free = NULL,
	.log = linux_log,
};

PRQD_EXPORT const struct prqd_platform *prqd_platform_default(void)
{
	return &linux_platform;
}
