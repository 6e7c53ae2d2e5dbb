/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/alloc.c: the Linux helpers' allocation wrappers and their test hook (alloc.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lib/linux/alloc.h"

/* Per thread, so one test's refusals never reach another thread's allocations. */
static _Thread_local struct prqd__linux_alloc_hook hook;

void prqd__linux_alloc_hook_set(const struct prqd__linux_alloc_hook *h)
{
	if (h)
		hook = *h;
	else
		hook = (struct prqd__linux_alloc_hook){ 0 };
}

static bool refused(size_t size)
{
	return hook.refuse && hook.refuse(hook.arg, size);
}

static void count(int delta)
{
	if (hook.count)
		hook.count(hook.arg, delta);
}

void *prqd__linux_calloc(size_t n, size_t size)
{
	void *p;

	if (refused(n * size))
		return NULL;
	p = calloc(n, size);
	if (p)
		count(1);
	return p;
}

void *prqd__linux_realloc(void *ptr, size_t size)
{
	void *p;

	if (refused(size))
		return NULL;
	p = realloc(ptr, size);
	if (p && !ptr)
		count(1);
	return p;
}

char *prqd__linux_strdup(const char *s)
{
	char *p;

	if (refused(strlen(s) + 1))
		return NULL;
	p = strdup(s);
	if (p)
		count(1);
	return p;
}

void prqd__linux_free(void *ptr)
{
	if (!ptr)
		return;
	count(-1);
	free(ptr);
}
