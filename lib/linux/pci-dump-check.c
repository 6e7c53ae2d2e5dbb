/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/pci-dump-check.c: validation of an `lspci -xxxx` dump before libpci parses it.
 *
 * libpci's dump reader (3.9) scans a hex line's offset with "%x" into an int and compares it
 * only against the top (4096) before storing bytes there: an offset of 0x80000000 or more is
 * negative and the bytes land before its buffer (lspci -F crashes the same way). So the file is
 * read here first, line for line as libpci reads it, and refused when libpci would refuse it
 * or could be hurt by it. The grammar followed (that of libpci's dump access method):
 *  - lines are read 254 bytes at a time and must end with a newline inside those bytes;
 *  - "[domain:]bus:dev.func " (2 hex bus digits, 2 hex device digits, one function digit,
 *    a domain of 4 to 6 hex digits) starts a device; an empty line ends it; libpci takes a
 *    device number past 31 or a function past 7, which no function has: refused here;
 *  - inside a device, "OFFSET: " (2 to 8 hex digits) starts a hex line whose bytes follow as
 *    two hex digits each, separated by single spaces, nothing else after them; every byte must
 *    land below 4096;
 *  - any other line is ignored (the text lines of `lspci -vvv -xxxx`).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/linux/pci-internal.h"

/* libpci's line buffer is 256 bytes; it lets fgets() fill 254 of them and the NUL. */
#define DUMP_LINE_BUF 256

/* Whether @s starts with @pattern, where '#' stands for one hex digit. */
static bool dump_matches(const char *s, const char *pattern)
{
	for (; *pattern; pattern++, s++) {
		if (*pattern == '#' ? !isxdigit((unsigned char)*s) : *pattern != *s)
			return false;
	}
	return true;
}

static unsigned hex_value(char c)
{
	if (isdigit((unsigned char)c))
		return (unsigned)(c - '0');
	return (unsigned)(tolower((unsigned char)c) - 'a' + 10);
}

/*
 * Whether @line starts a device for libpci (true), and if so whether its address is one a
 * PCI function can have (*why stays NULL): libpci takes any two hex digits for the device and
 * any digit for the function, but a device number past 31 or a function past 7 would spill
 * into the neighbouring fields of the requester ID.
 */
static bool dump_is_device_header(const char *line, const char **why)
{
	static const char *const headers[] = { "##:##.# ", "####:##:##.# ", "#####:##:##.# ",
					       "######:##:##.# " };

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		size_t n = strlen(headers[i]);
		if (!dump_matches(line, headers[i]))
			continue;
		/* libpci reads the function with %d: a hex digit past 9 makes it ordinary text. */
		if (!isdigit((unsigned char)line[n - 2]))
			return false;
		if (hex_value(line[n - 5]) * 16 + hex_value(line[n - 4]) > 31)
			*why = "device number past 31";
		else if (line[n - 2] > '7')
			*why = "function number past 7";
		return true;
	}
	return false;
}

/* The number of hex digits of a hex line's offset (2 to 8), or 0 when @line is none. */
static size_t dump_offset_digits(const char *line)
{
	size_t n = 0;

	while (n < 8 && isxdigit((unsigned char)line[n]))
		n++;
	return n >= 2 && line[n] == ':' && line[n + 1] == ' ' ? n : 0;
}

/* Check one hex line; returns NULL or what is wrong with it. */
static const char *dump_check_hex_line(const char *line, size_t digits)
{
	unsigned long pos = 0;
	const char *z = line;

	for (size_t i = 0; i < digits; i++, z++)
		pos = pos << 4 | hex_value(*z);
	z += 2; /* ": " */
	while (isxdigit((unsigned char)z[0]) && isxdigit((unsigned char)z[1]) &&
	       (z[2] == '\0' || z[2] == ' ')) {
		if (pos >= PRQD_PCI_CFG_SIZE)
			return "offset past 4095";
		pos++;
		z += 2;
		if (*z)
			z++;
	}
	return *z ? "malformed hex line" : NULL;
}

int prqd__pci_dump_check(struct prqd_ctx *ctx, const char *path)
{
	char buf[DUMP_LINE_BUF];
	bool in_device = false;
	unsigned lineno = 0;
	const char *why = NULL;
	FILE *f = fopen(path, "re");

	if (!f) {
		int rc = -errno;
		prqd_pci_log(ctx, PRQD_LOG_ERR, "%s: %s", path, strerror(-rc));
		return rc;
	}
	while (!why && fgets(buf, DUMP_LINE_BUF - 1, f)) {
		char *end = strchr(buf, '\n');

		lineno++;
		if (!end) {
			why = "line too long or unterminated (or holds a NUL byte)";
			break;
		}
		*end = '\0';
		if (end > buf && end[-1] == '\r')
			end[-1] = '\0';
		if (dump_is_device_header(buf, &why)) {
			in_device = true;
		} else if (!buf[0]) {
			in_device = false;
		} else if (in_device) {
			size_t digits = dump_offset_digits(buf);
			if (digits)
				why = dump_check_hex_line(buf, digits);
		}
	}
	if (!why && ferror(f)) {
		fclose(f);
		prqd_pci_log(ctx, PRQD_LOG_ERR, "%s: read error", path);
		return -EIO;
	}
	fclose(f);
	if (why) {
		prqd_pci_log(ctx, PRQD_LOG_ERR, "%s:%u: malformed dump: %s", path, lineno, why);
		return -EBADMSG;
	}
	return 0;
}
