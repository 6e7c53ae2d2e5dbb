/* SPDX-License-Identifier: MIT */
/*
 * fmt.c: the freestanding formatter (see fmt.h for what it supports).
 *
 * Output goes through a sink that counts every byte and stores those that fit, so the
 * snprintf return value falls out of the count. Only <stdarg.h>, <stddef.h>, <stdint.h>
 * and <stdbool.h> are used.
 */
#include <stdbool.h>
#include <stdint.h>

#include "lib/fmt.h"

#define FMT_INT_MAX ((int)(~0u >> 1))

_Static_assert(sizeof(ptrdiff_t) == sizeof(size_t), "%zd and %t assume ptrdiff_t is size_t's signed twin");

struct sink {
	char *buf;
	size_t size;
	size_t len; /* bytes the full output has so far, stored or not */
};

static void put(struct sink *s, char c)
{
	if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void put_repeat(struct sink *s, char c, int n)
{
	while (n-- > 0)
		put(s, c);
}

static void put_mem(struct sink *s, const char *p, size_t n)
{
	while (n--)
		put(s, *p++);
}

enum {
	F_LEFT = 1u << 0,  /* '-' */
	F_ZERO = 1u << 1,  /* '0' */
	F_PLUS = 1u << 2,  /* '+' */
	F_SPACE = 1u << 3, /* ' ' */
	F_ALT = 1u << 4,   /* '#' */
};

enum len_mod { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

struct spec {
	unsigned flags;
	int width;     /* 0 when absent */
	int prec;      /* -1 when absent */
	enum len_mod len;
};

/* Parse a decimal field, saturating rather than overflowing. */
static int parse_decimal(const char **pp)
{
	const char *p = *pp;
	int v = 0;

	while (*p >= '0' && *p <= '9') {
		int d = *p++ - '0';

		v = v > (FMT_INT_MAX - d) / 10 ? FMT_INT_MAX : v * 10 + d;
	}
	*pp = p;
	return v;
}

static intmax_t arg_signed(enum len_mod len, va_list *ap)
{
	switch (len) {
	case LEN_HH: return (signed char)va_arg(*ap, int);
	case LEN_H:  return (short)va_arg(*ap, int);
	case LEN_L:  return va_arg(*ap, long);
	case LEN_LL: return va_arg(*ap, long long);
	case LEN_Z:  return va_arg(*ap, ptrdiff_t);
	case LEN_J:  return va_arg(*ap, intmax_t);
	case LEN_T:  return va_arg(*ap, ptrdiff_t);
	case LEN_NONE: break;
	}
	return va_arg(*ap, int);
}

static uintmax_t arg_unsigned(enum len_mod len, va_list *ap)
{
	switch (len) {
	case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:  return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:  return va_arg(*ap, unsigned long);
	case LEN_LL: return va_arg(*ap, unsigned long long);
	case LEN_Z:  return va_arg(*ap, size_t);
	case LEN_J:  return va_arg(*ap, uintmax_t);
	case LEN_T:  return (size_t)va_arg(*ap, ptrdiff_t);
	case LEN_NONE: break;
	}
	return va_arg(*ap, unsigned int);
}

/*
 * Emit an integer: [padding] prefix [zeros] digits [padding]. @prefix is the sign or the
 * 0x of '#' and %p, already decided by the caller.
 */
static void put_number(struct sink *s, const struct spec *sp, uintmax_t v, unsigned base,
		       bool upper, const char *prefix)
{
	const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char digits[3 * sizeof(uintmax_t)]; /* enough for octal */
	int nd = 0, np = 0, zeros, pad;

	while (v) {
		digits[nd++] = xdigits[v % base];
		v /= base;
	}
	while (prefix[np])
		np++;

	/* Precision is the minimum number of digits (default 1; 0 prints nothing for 0). */
	zeros = (sp->prec < 0 ? 1 : sp->prec) - nd;
	if (zeros < 0)
		zeros = 0;
	/* '#' with %o: the first digit must be a 0. */
	if ((sp->flags & F_ALT) && base == 8 && zeros == 0)
		zeros = 1;

	pad = sp->width - (np + zeros + nd);
	if (pad < 0)
		pad = 0;

	if (sp->flags & F_LEFT) {
		put_mem(s, prefix, (size_t)np);
		put_repeat(s, '0', zeros);
		while (nd)
			put(s, digits[--nd]);
		put_repeat(s, ' ', pad);
		return;
	}
	/* The 0 flag pads with zeros after the sign; a precision disables it. */
	if ((sp->flags & F_ZERO) && sp->prec < 0) {
		zeros += pad;
		pad = 0;
	}
	put_repeat(s, ' ', pad);
	put_mem(s, prefix, (size_t)np);
	put_repeat(s, '0', zeros);
	while (nd)
		put(s, digits[--nd]);
}

/* Emit @n bytes of @str padded to the field width. */
static void put_field(struct sink *s, const struct spec *sp, const char *str, size_t n)
{
	int pad = (size_t)sp->width > n ? sp->width - (int)n : 0;

	if (!(sp->flags & F_LEFT))
		put_repeat(s, ' ', pad);
	put_mem(s, str, n);
	if (sp->flags & F_LEFT)
		put_repeat(s, ' ', pad);
}

/*
 * Parse the conversion after a '%' at *pp and emit it. Returns false if the format ended
 * inside the specification.
 */
static bool convert(struct sink *s, const char **pp, va_list *ap)
{
	const char *start = *pp - 1; /* the '%' */
	const char *p = *pp;
	struct spec sp = { .flags = 0, .width = 0, .prec = -1, .len = LEN_NONE };
	const char *prefix = "";

	for (;; p++) {
		if (*p == '-')
			sp.flags |= F_LEFT;
		else if (*p == '0')
			sp.flags |= F_ZERO;
		else if (*p == '+')
			sp.flags |= F_PLUS;
		else if (*p == ' ')
			sp.flags |= F_SPACE;
		else if (*p == '#')
			sp.flags |= F_ALT;
		else
			break;
	}

	if (*p == '*') {
		int w = va_arg(*ap, int);

		p++;
		if (w < 0) {
			sp.flags |= F_LEFT;
			w = w < -FMT_INT_MAX ? FMT_INT_MAX : -w;
		}
		sp.width = w;
	} else {
		sp.width = parse_decimal(&p);
	}

	if (*p == '.') {
		p++;
		if (*p == '*') {
			int pr = va_arg(*ap, int);

			p++;
			sp.prec = pr < 0 ? -1 : pr;
		} else {
			sp.prec = parse_decimal(&p);
		}
	}

	switch (*p) {
	case 'h':
		p++;
		if (*p == 'h') {
			p++;
			sp.len = LEN_HH;
		} else {
			sp.len = LEN_H;
		}
		break;
	case 'l':
		p++;
		if (*p == 'l') {
			p++;
			sp.len = LEN_LL;
		} else {
			sp.len = LEN_L;
		}
		break;
	case 'z': p++; sp.len = LEN_Z; break;
	case 'j': p++; sp.len = LEN_J; break;
	case 't': p++; sp.len = LEN_T; break;
	default: break;
	}

	switch (*p) {
	case 'd':
	case 'i': {
		intmax_t v = arg_signed(sp.len, ap);
		/* Negate in unsigned arithmetic so INTMAX_MIN is fine. */
		uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;

		if (v < 0)
			prefix = "-";
		else if (sp.flags & F_PLUS)
			prefix = "+";
		else if (sp.flags & F_SPACE)
			prefix = " ";
		put_number(s, &sp, mag, 10, false, prefix);
		break;
	}
	case 'u':
		put_number(s, &sp, arg_unsigned(sp.len, ap), 10, false, prefix);
		break;
	case 'o':
		put_number(s, &sp, arg_unsigned(sp.len, ap), 8, false, prefix);
		break;
	case 'x':
	case 'X': {
		uintmax_t v = arg_unsigned(sp.len, ap);

		if ((sp.flags & F_ALT) && v)
			prefix = *p == 'x' ? "0x" : "0X";
		put_number(s, &sp, v, 16, *p == 'X', prefix);
		break;
	}
	case 'p': {
		uintptr_t v = (uintptr_t)va_arg(*ap, void *);

		sp.flags &= ~(unsigned)F_ALT;
		put_number(s, &sp, v, 16, false, "0x");
		break;
	}
	case 'c': {
		char c = (char)va_arg(*ap, int);

		put_field(s, &sp, &c, 1);
		break;
	}
	case 's': {
		const char *str = va_arg(*ap, const char *);
		size_t n = 0;

		if (!str)
			str = "(null)";
		/* Never read past the precision: the string need not be terminated there. */
		while ((sp.prec < 0 || n < (size_t)sp.prec) && str[n])
			n++;
		put_field(s, &sp, str, n);
		break;
	}
	case '%':
		put(s, '%');
		break;
	case '\0':
		/* The format ended inside a specification: copy what there was. */
		put_mem(s, start, (size_t)(p - start));
		*pp = p;
		return false;
	default:
		/* Unknown conversion: copy it as written. */
		put_mem(s, start, (size_t)(p + 1 - start));
		break;
	}
	*pp = p + 1;
	return true;
}

int prqd_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { .buf = buf, .size = buf ? size : 0, .len = 0 };
	const char *p = fmt;
	va_list aq;

	va_copy(aq, ap);
	while (*p) {
		if (*p != '%') {
			put(&s, *p++);
			continue;
		}
		p++;
		if (!convert(&s, &p, &aq))
			break;
	}
	va_end(aq);

	if (s.size)
		s.buf[s.len < s.size ? s.len : s.size - 1] = '\0';
	return s.len > (size_t)FMT_INT_MAX ? -1 : (int)s.len;
}

int prqd_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = prqd_vfmt(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
