/* SPDX-License-Identifier: MIT */
/*
 * What a freestanding 32-bit x86 image must supply itself because there is no C library,
 * libgcc or libatomic to link (the guest is built without gcc-multilib): the mem* functions
 * gcc emits for copies and clears, 64-bit division (gcc calls libgcc for it on i386), and
 * 8-byte atomics (gcc calls libatomic for them when it may not use x87 or SSE registers).
 *
 * The guest runs on one CPU with interrupts off, so a plain access is atomic enough. A link
 * error naming another helper means the code linked into the guest (the library's core, the
 * vtd backend) started to need it: add it here; a 32-bit embedder of the library needs it too.
 */
#include <stddef.h>
#include <stdint.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memset(void *s, int c, size_t n)
{
	volatile unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	volatile unsigned char *q = d;
	const unsigned char *p = s;

	while (n--)
		*q++ = *p++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	volatile unsigned char *q = d;
	const unsigned char *p = s;

	if (q <= p || q >= p + n)
		return memcpy(d, s, n);
	while (n--)
		q[n] = p[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

/* ---- 64-bit division ---------------------------------------------------------------------- */

/* Unsigned 64-bit division by shift and subtract; the remainder in *@rem when non-NULL. */
static uint64_t udivmod64(uint64_t num, uint64_t den, uint64_t *rem)
{
	uint64_t quot = 0, r = 0;

	if (den == 0) {
		/* What the hardware would do is trap; there is nothing to trap to here. */
		if (rem)
			*rem = num;
		return ~0ull;
	}
	for (int bit = 63; bit >= 0; bit--) {
		r = (r << 1) | ((num >> bit) & 1);
		if (r >= den) {
			r -= den;
			quot |= 1ull << bit;
		}
	}
	if (rem)
		*rem = r;
	return quot;
}

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem);
uint64_t __udivdi3(uint64_t num, uint64_t den);
uint64_t __umoddi3(uint64_t num, uint64_t den);
int64_t __divmoddi4(int64_t num, int64_t den, int64_t *rem);
int64_t __divdi3(int64_t num, int64_t den);
int64_t __moddi3(int64_t num, int64_t den);

uint64_t __udivmoddi4(uint64_t num, uint64_t den, uint64_t *rem)
{
	return udivmod64(num, den, rem);
}

uint64_t __udivdi3(uint64_t num, uint64_t den)
{
	return udivmod64(num, den, NULL);
}

uint64_t __umoddi3(uint64_t num, uint64_t den)
{
	uint64_t r;

	udivmod64(num, den, &r);
	return r;
}

/* Signed: the quotient truncates toward zero, the remainder has the dividend's sign (C). */
int64_t __divmoddi4(int64_t num, int64_t den, int64_t *rem)
{
	uint64_t un = num < 0 ? 0 - (uint64_t)num : (uint64_t)num;
	uint64_t ud = den < 0 ? 0 - (uint64_t)den : (uint64_t)den;
	uint64_t ur, uq = udivmod64(un, ud, &ur);

	if (rem)
		*rem = (int64_t)(num < 0 ? 0 - ur : ur);
	return (int64_t)((num < 0) != (den < 0) ? 0 - uq : uq);
}

int64_t __divdi3(int64_t num, int64_t den)
{
	return __divmoddi4(num, den, NULL);
}

int64_t __moddi3(int64_t num, int64_t den)
{
	int64_t r;

	__divmoddi4(num, den, &r);
	return r;
}

/* ---- 8-byte atomics ----------------------------------------------------------------------- */
/* gcc knows these names as built-ins, so the C names differ and the symbols are set by asm. */

uint64_t guest_atomic_load_8(const volatile void *p, int order) __asm__("__atomic_load_8");
void guest_atomic_store_8(volatile void *p, uint64_t v, int order) __asm__("__atomic_store_8");
uint64_t guest_atomic_exchange_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_exchange_8");
_Bool guest_atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired,
				      _Bool weak, int success, int failure)
	__asm__("__atomic_compare_exchange_8");
uint64_t guest_atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_fetch_add_8");
uint64_t guest_atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_fetch_sub_8");
uint64_t guest_atomic_fetch_and_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_fetch_and_8");
uint64_t guest_atomic_fetch_or_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_fetch_or_8");
uint64_t guest_atomic_add_fetch_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_add_fetch_8");
uint64_t guest_atomic_sub_fetch_8(volatile void *p, uint64_t v, int order)
	__asm__("__atomic_sub_fetch_8");

uint64_t guest_atomic_load_8(const volatile void *p, int order)
{
	return *(const volatile uint64_t *)p;
}

void guest_atomic_store_8(volatile void *p, uint64_t v, int order)
{
	*(volatile uint64_t *)p = v;
}

uint64_t guest_atomic_exchange_8(volatile void *p, uint64_t v, int order)
{
	uint64_t old = *(volatile uint64_t *)p;

	*(volatile uint64_t *)p = v;
	return old;
}

_Bool guest_atomic_compare_exchange_8(volatile void *p, void *expected, uint64_t desired,
				      _Bool weak, int success, int failure)
{
	volatile uint64_t *q = p;
	uint64_t *e = expected;

	if (*q == *e) {
		*q = desired;
		return 1;
	}
	*e = *q;
	return 0;
}

uint64_t guest_atomic_fetch_add_8(volatile void *p, uint64_t v, int order)
{
	uint64_t old = *(volatile uint64_t *)p;

	*(volatile uint64_t *)p = old + v;
	return old;
}

uint64_t guest_atomic_fetch_sub_8(volatile void *p, uint64_t v, int order)
{
	uint64_t old = *(volatile uint64_t *)p;

	*(volatile uint64_t *)p = old - v;
	return old;
}

uint64_t guest_atomic_fetch_and_8(volatile void *p, uint64_t v, int order)
{
	uint64_t old = *(volatile uint64_t *)p;

	*(volatile uint64_t *)p = old & v;
	return old;
}

uint64_t guest_atomic_fetch_or_8(volatile void *p, uint64_t v, int order)
{
	uint64_t old = *(volatile uint64_t *)p;

	*(volatile uint64_t *)p = old | v;
	return old;
}

uint64_t guest_atomic_add_fetch_8(volatile void *p, uint64_t v, int order)
{
	return guest_atomic_fetch_add_8(p, v, order) + v;
}

uint64_t guest_atomic_sub_fetch_8(volatile void *p, uint64_t v, int order)
{
	return guest_atomic_fetch_sub_8(p, v, order) - v;
}
