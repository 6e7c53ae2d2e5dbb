/* SPDX-License-Identifier: MIT */
/*
 * check-fmt: lib/fmt.c against the C library's snprintf, the independent oracle.
 *
 * Every format is generated or listed here, run through vsnprintf and prqd_vfmt with the
 * same arguments, and compared at full size and at several truncated sizes: return value,
 * stored bytes, terminating NUL, and that nothing past @size was written. Formats whose
 * behaviour C leaves undefined ('#' with %d, '0' with %s, NULL %s, ...) are not compared
 * with the oracle; the few the library defines are checked against literal expectations.
 */
#include <check.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"

#include "tests/check-main.h"

#define REF_MAX 1024
#define CANARY 0x5a

static unsigned long n_compared;
static unsigned n_failed;

static void report(const char *fmt, const char *what, const char *ref, int rn, const char *got,
		   int gn, size_t size)
{
	if (++n_failed <= 20)
		fprintf(stderr, "format \"%s\" size %zu: %s: expected %d \"%s\", got %d \"%s\"\n",
			fmt, size, what, rn, ref, gn, got);
}

/* Hide a format from the compiler's checks: for formats that are odd on purpose. */
static const char *unchecked(const char *fmt)
{
	const char *volatile opaque = fmt;

	return opaque;
}

static void reset_counters(void)
{
	n_compared = 0;
	n_failed = 0;
}

/* Compare prqd_vfmt with vsnprintf for one format and argument list. */
static void verify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void verify(const char *fmt, ...)
{
	char ref[REF_MAX], got[REF_MAX + 16];
	size_t sizes[8];
	unsigned nsizes = 0;
	va_list ap, aq;
	int rn;

	va_start(ap, fmt);
	va_copy(aq, ap);
	rn = vsnprintf(ref, sizeof(ref), fmt, aq);
	va_end(aq);
	ck_assert_msg(rn >= 0 && rn < REF_MAX, "oracle failed on \"%s\"", fmt);

	sizes[nsizes++] = sizeof(ref); /* ample */
	sizes[nsizes++] = (size_t)rn + 1; /* exact */
	sizes[nsizes++] = (size_t)rn;     /* one short */
	sizes[nsizes++] = (size_t)rn / 2;
	sizes[nsizes++] = 1;
	sizes[nsizes++] = 0;

	for (unsigned i = 0; i < nsizes; i++) {
		size_t size = sizes[i];
		size_t stored = size ? ((size_t)rn < size ? (size_t)rn : size - 1) : 0;
		int gn;

		memset(got, CANARY, sizeof(got));
		va_copy(aq, ap);
		gn = prqd_vfmt(size ? got : NULL, size, fmt, aq);
		va_end(aq);
		n_compared++;

		if (gn != rn) {
			report(fmt, "return value", ref, rn, size ? got : "", gn, size);
			continue;
		}
		if (size == 0)
			continue; /* NULL buffer: nothing may be written, nothing to compare */
		if (memcmp(got, ref, stored) != 0 || got[stored] != '\0') {
			got[sizeof(got) - 1] = '\0';
			report(fmt, "output", ref, rn, got, gn, size);
			continue;
		}
		for (size_t j = size; j < sizeof(got); j++) {
			if ((unsigned char)got[j] != CANARY) {
				report(fmt, "wrote past size", ref, rn, "", gn, size);
				break;
			}
		}
	}

	/* Size 0 with a real buffer must not touch it either. */
	memset(got, CANARY, sizeof(got));
	va_copy(aq, ap);
	if (prqd_vfmt(got, 0, fmt, aq) != rn || (unsigned char)got[0] != CANARY)
		report(fmt, "size 0 with a buffer", ref, rn, "", -1, 0);
	va_end(aq);
	va_end(ap);
}

static void expect_no_failures(const char *what)
{
	ck_assert_msg(n_failed == 0, "%s: %u mismatches with snprintf (first ones on stderr), %lu compared",
		      what, n_failed, n_compared);
}

/* ------------------------------------------------------------------------------------------ */

static const long long int_values[] = {
	0, 1, -1, 7, 8, 9, 10, 15, 16, 42, -42, 99, 100, 127, -128, 128, 255, 256, -255,
	1000, 4095, 32767, -32768, 65535, 65536, 123456789, -123456789,
	INT_MAX, INT_MIN, UINT_MAX, (long long)UINT_MAX + 1,
	0x123456789abcdefLL, -0x123456789abcdefLL, LLONG_MAX, LLONG_MIN,
};

/* Flags, width and precision, with the int and long long types over all the values. */
static const char *const widths[] = { "", "1", "5", "25" };
static const char *const precs[] = { "", ".", ".0", ".3", ".22" };
static const char *const wide_lengths[] = { "", "ll" };
/* Every length modifier, with fewer flag, width and precision combinations. */
static const char *const lengths[] = { "", "hh", "h", "l", "ll", "z", "j", "t" };
static const char *const some_flags[] = { "", "#", "-", "0", "+", " #" };
static const char *const some_widths[] = { "", "5" };
static const char *const some_precs[] = { "", ".3" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Call verify with @v converted to the type the length modifier calls for. */
static void verify_int(const char *fmt, const char *len, bool is_signed, long long v)
{
	if (!strcmp(len, "") || !strcmp(len, "hh") || !strcmp(len, "h")) {
		if (is_signed)
			verify(fmt, (int)v);
		else
			verify(fmt, (unsigned int)v);
	} else if (!strcmp(len, "l")) {
		if (is_signed)
			verify(fmt, (long)v);
		else
			verify(fmt, (unsigned long)v);
	} else if (!strcmp(len, "ll")) {
		if (is_signed)
			verify(fmt, v);
		else
			verify(fmt, (unsigned long long)v);
	} else if (!strcmp(len, "z")) {
		if (is_signed)
			verify(fmt, (ptrdiff_t)v); /* the signed type of %zd */
		else
			verify(fmt, (size_t)v);
	} else if (!strcmp(len, "j")) {
		if (is_signed)
			verify(fmt, (intmax_t)v);
		else
			verify(fmt, (uintmax_t)v);
	} else if (!strcmp(len, "t")) {
		verify(fmt, (ptrdiff_t)v);
	} else {
		ck_abort_msg("unknown length modifier %s", len);
	}
}

static bool is_signed_conv(char c)
{
	return c == 'd' || c == 'i';
}

/* Run one "<%FLAGS WIDTH PREC LEN CONV>" format over every value. */
static void verify_int_format(const char *flags, const char *width, const char *prec,
			      const char *len, char conv)
{
	char fmt[64];

	/* '#' with d, i and u is undefined. */
	if (strchr(flags, '#') && (is_signed_conv(conv) || conv == 'u'))
		return;
	snprintf(fmt, sizeof(fmt), "<%%%s%s%s%s%c>", flags, width, prec, len, conv);
	for (size_t v = 0; v < N(int_values); v++)
		verify_int(fmt, len, is_signed_conv(conv), int_values[v]);
}

static const char int_convs[] = "diuxXo";

/* Every subset of the flags "-0+ #" with every width and precision. */
START_TEST(test_integer_flags)
{
	static const char flag_chars[] = "-0+ #";

	for (const char *c = int_convs; *c; c++)
		for (unsigned fset = 0; fset < 32; fset++) {
			char flags[8];
			unsigned nf = 0;

			for (unsigned b = 0; b < 5; b++)
				if (fset & (1u << b))
					flags[nf++] = flag_chars[b];
			flags[nf] = '\0';

			for (size_t w = 0; w < N(widths); w++)
				for (size_t p = 0; p < N(precs); p++)
					for (size_t l = 0; l < N(wide_lengths); l++)
						verify_int_format(flags, widths[w], precs[p],
								  wide_lengths[l], *c);
		}
	expect_no_failures("integer flags");
}
END_TEST

/* Every length modifier (conversion to char, short, ... before printing). */
START_TEST(test_integer_lengths)
{
	for (const char *c = int_convs; *c; c++)
		for (size_t f = 0; f < N(some_flags); f++)
			for (size_t w = 0; w < N(some_widths); w++)
				for (size_t p = 0; p < N(some_precs); p++)
					for (size_t l = 0; l < N(lengths); l++)
						verify_int_format(some_flags[f], some_widths[w],
								  some_precs[p], lengths[l], *c);
	expect_no_failures("integer lengths");
}
END_TEST

/* '*' for width and precision, including negative values (left-justify / no precision). */
START_TEST(test_star)
{
	static const int stars[] = { -20, -5, -1, 0, 1, 3, 7, 19 };
	static const char *const fmts[] = { "[%*d]", "[%-*d]", "[%0*d]", "[%*x]", "[%#*o]", "[%*s]",
					    "[%-*s]", "[%*c]", "[%*u]" };
	static const char *const pfmts[] = { "[%.*d]", "[%.*x]", "[%#.*o]", "[%.*s]", "[%08.*d]",
					     "[%-.*u]" };
	static const char *const wpfmts[] = { "[%*.*d]", "[%-*.*x]", "[%0*.*i]", "[%*.*s]",
					      "[%+*.*d]" };

	for (size_t i = 0; i < N(stars); i++) {
		int w = stars[i];

		for (size_t f = 0; f < N(fmts); f++) {
			char conv = fmts[f][strlen(fmts[f]) - 2];

			if (conv == 's')
				verify(fmts[f], w, "hello");
			else if (conv == 'c')
				verify(fmts[f], w, 'Z');
			else if (conv == 'u' || conv == 'x' || conv == 'o')
				verify(fmts[f], w, 1234u);
			else
				verify(fmts[f], w, -1234);
		}
		for (size_t f = 0; f < N(pfmts); f++) {
			char conv = pfmts[f][strlen(pfmts[f]) - 2];

			if (conv == 's')
				verify(pfmts[f], w, "precision");
			else if (conv == 'd' || conv == 'i')
				verify(pfmts[f], w, -77);
			else
				verify(pfmts[f], w, 0u);
		}
		for (size_t j = 0; j < N(stars); j++)
			for (size_t f = 0; f < N(wpfmts); f++) {
				char conv = wpfmts[f][strlen(wpfmts[f]) - 2];

				if (conv == 's')
					verify(wpfmts[f], w, stars[j], "abcdefghij");
				else if (conv == 'x')
					verify(wpfmts[f], w, stars[j], 0xbeefu);
				else
					verify(wpfmts[f], w, stars[j], 42);
			}
	}
	expect_no_failures("star");
}
END_TEST

START_TEST(test_strings_chars)
{
	static const char *const strs[] = { "", "a", "hello", "hello, world", "tab\there",
					    "0123456789abcdefghijklmnopqrstuvwxyz" };
	static const char *const sfmts[] = { "%s", "%1s", "%10s", "%-10s", "%.0s", "%.3s", "%-8.3s",
					     "%20.5s", "%.40s", "|%s|%s|", "%s%%%s" };
	static const int chars[] = { 'a', 'Z', ' ', '%', '~', 0x7f };
	static const char *const cfmts[] = { "%c", "%3c", "%-3c", "[%c%c]", "%1c" };

	for (size_t s = 0; s < N(strs); s++)
		for (size_t f = 0; f < N(sfmts); f++)
			verify(sfmts[f], strs[s], strs[(s + 1) % (N(strs))]);
	for (size_t c = 0; c < N(chars); c++)
		for (size_t f = 0; f < N(cfmts); f++)
			verify(cfmts[f], chars[c], chars[(c + 1) % (N(chars))]);

	/* A precision bounds the read: the array below has no terminating NUL. */
	{
		static const char unterminated[4] = { 'a', 'b', 'c', 'd' };

		verify("%.4s|", unterminated);
		verify("%.*s|", 2, unterminated);
		verify("%-6.*s|", 4, unterminated);
	}
	expect_no_failures("strings and chars");
}
END_TEST

START_TEST(test_pointers)
{
	static int object;
	void *ptrs[] = { &object, (void *)(uintptr_t)1, (void *)(uintptr_t)0xdeadbeef,
			 (void *)UINTPTR_MAX, (void *)test_pointers };
	static const char *const pfmts[] = { "%p", "[%20p]", "[%-20p]", "%p%p", "[%3p]" };
	char buf[64];

	for (size_t i = 0; i < N(ptrs); i++)
		for (size_t f = 0; f < N(pfmts); f++)
			verify(pfmts[f], ptrs[i], ptrs[(i + 1) % (N(ptrs))]);
	expect_no_failures("pointers");

	/* NULL is the library's choice (glibc prints "(nil)"). */
	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), "%p", NULL), 3);
	ck_assert_str_eq(buf, "0x0");
	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), "[%5p]", NULL), 7);
	ck_assert_str_eq(buf, "[  0x0]");
}
END_TEST

/* Mixed, hand-written formats of the kind the library uses. */
START_TEST(test_mixed)
{
	verify("plain text, no conversions");
	verify("%%");
	verify("100%% of %d%%", 5);
	verify("rid %02x:%02x.%x pasid %#x prg %u", 0x3a, 0x1f, 7, 0x12345, 511u);
	verify("{\"ts\":%llu.%03u,\"tid\":%u}", 123456789ULL, 42u, 4294967295u);
	verify("%s=%lld (%s)", "core.drain_timeout_ms", 1000LL, "ms");
	verify("%-12s|%12s|%.2s|", "left", "right", "cut");
	verify("%hhu %hhd %hu %hd", 300, 200, 70000, 40000);
	verify("%zu %zx %zd", (size_t)SIZE_MAX, (size_t)0xabc, (ptrdiff_t)-5);
	verify("%jd %ju %jx", INTMAX_MIN, UINTMAX_MAX, UINTMAX_MAX);
	verify("%td %tx", (ptrdiff_t)-12345, (ptrdiff_t)0x7f);
	verify("%lx %lX %lo %lu", 0xfedcba98UL, 0xfedcba98UL, 0777UL, 0UL);
	verify("%+d % d %+d % d %+i", 0, 0, -3, -3, 17);
	verify("%#x %#X %#o %#x %#o", 0u, 255u, 0u, 1u, 8u);
	verify(unchecked("%08.3d|%-08d|%0-8d|%+08d|% 08d"), 5, 5, 5, 5, 5);
	verify("%c%c%c", 'a', 'b', 'c');
	expect_no_failures("mixed");
}
END_TEST

/* Output longer than any buffer: return value and truncation on long expansions. */
START_TEST(test_long_output)
{
	char big[600];
	char small[8];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	verify("%s", big);
	verify("%s%s", big + 300, big + 500);
	verify("%500d|", 7);
	verify("%-500x|", 7u);
	verify("%.300d", -1);
	expect_no_failures("long output");

	memset(small, CANARY, sizeof(small));
	ck_assert_int_eq(prqd_fmt(small, 4, "%d", 123456), 6);
	ck_assert_str_eq(small, "123");
	ck_assert_int_eq((unsigned char)small[4], CANARY);
}
END_TEST

/* Behaviour C leaves undefined but the library defines (fmt.h). */
START_TEST(test_library_defined)
{
	char buf[32];

	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), unchecked("%s"), (const char *)NULL), 6);
	ck_assert_str_eq(buf, "(null)");
	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), unchecked("a%yb"), 0), 4);
	ck_assert_str_eq(buf, "a%yb");
	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), unchecked("ab%"), 0), 3);
	ck_assert_str_eq(buf, "ab%");
	ck_assert_int_eq(prqd_fmt(buf, sizeof(buf), unchecked("ab%-5"), 0), 5);
	ck_assert_str_eq(buf, "ab%-5");
	ck_assert_int_eq(prqd_fmt(NULL, 0, "%d", 12345), 5);
}
END_TEST

static Suite *fmt_suite(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("snprintf-oracle");

	tcase_add_checked_fixture(tc, reset_counters, NULL);

	tcase_add_test(tc, test_integer_flags);
	tcase_add_test(tc, test_integer_lengths);
	tcase_add_test(tc, test_star);
	tcase_add_test(tc, test_strings_chars);
	tcase_add_test(tc, test_pointers);
	tcase_add_test(tc, test_mixed);
	tcase_add_test(tc, test_long_output);
	tcase_add_test(tc, test_library_defined);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(fmt_suite());
}
