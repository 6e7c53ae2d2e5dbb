/* SPDX-License-Identifier: MIT */
/*
 * What the freestanding aarch64 guest must supply itself, there being no C library to link:
 * the mem* functions gcc emits for struct copies and clears. Byte by byte, because every
 * access is to Device memory (MMU off) and must be aligned.
 */
#include <stddef.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memset(void *s, int c, size_t n)
{
	volatile unsigned char *p = s;

	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)c;
	return s;
}

void *memmove(void *d, const void *s, size_t n)
{
	volatile unsigned char *to = d;
	const volatile unsigned char *from = s;

	if (to < from) {
		for (size_t i = 0; i < n; i++)
			to[i] = from[i];
	} else {
		for (size_t i = n; i > 0; i--)
			to[i - 1] = from[i - 1];
	}
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	return memmove(d, s, n);
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}
