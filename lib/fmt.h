/* SPDX-License-Identifier: MIT */
/*
 * fmt.h: a freestanding snprintf for the core (log messages, trace JSON).
 *
 * The core cannot use libc, so it formats with these. Semantics are snprintf's for the
 * supported subset: the output is truncated to @size - 1 bytes and always NUL-terminated
 * when @size > 0 (@buf may be NULL when @size is 0), and the return value is the length the
 * whole output would have had. A negative return means that length does not fit in an int.
 *
 * Supported: %% %c %s (with precision, also %.*s: at most that many bytes are read),
 * %d %i %u %x %X %o with the length modifiers hh h l ll z j t, the flags - 0 + space #,
 * width and precision as numbers or '*', and %p (0x followed by lowercase hex; NULL is 0x0).
 * No floating point, no %n. A NULL %s prints "(null)". An unknown conversion is copied
 * to the output as written.
 */
#ifndef PRQD_FMT_H
#define PRQD_FMT_H

#include <stdarg.h>
#include <stddef.h>

int prqd_vfmt(char *buf, size_t size, const char *fmt, va_list ap);
int prqd_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* PRQD_FMT_H */
