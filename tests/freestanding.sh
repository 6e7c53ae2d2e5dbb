#!/bin/sh
# SPDX-License-Identifier: MIT
# freestanding.sh: the core (lib/*.c, not lib/linux/) and the register-level backends
# (backends/vtd/*.c, backends/smmuv3/*.c) must build without a C library: hypervisors and
# firmware embed them.
#
# Every one of those files is compiled with -ffreestanding -nostdinc, seeing only the compiler's own
# headers, and then:
#  - the headers it actually included must be project headers or one of <stdint.h>
#    <stddef.h> <stdbool.h> <stdarg.h> <stdatomic.h> (compiler headers such as <limits.h>
#    chain to libc's or pull in more than the core may rely on);
#  - its object may reference, besides the project's prqd_*, vtd_* and smmuv3_* symbols, only what a compiler can emit on its
#    own: the mem* functions gcc emits for struct copies and clears, the stack protector,
#    and libgcc's arithmetic helpers (listed below).
# Environment: CC (default cc), top_srcdir (default: the parent of this script's directory),
# top_builddir (default: the current directory).
# Exit 77 (skipped) only when the compiler is missing.

CC=${CC:-cc}
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
# The generated headers (include/prqdrain-version.h) are in the build tree.
top_builddir=${top_builddir:-.}

# The first word of CC must be runnable (CC may carry options, e.g. "gcc -m32").
set -- $CC
if ! command -v "$1" >/dev/null 2>&1; then
	echo "freestanding.sh: compiler '$CC' not found, skipping"
	exit 77
fi
NM=${NM:-nm}

allowed_headers="stdint.h stdint-gcc.h stddef.h stdbool.h stdarg.h stdatomic.h"
# Symbols a compiler may reference without being asked (besides prqd_*).
allowed_symbols="memcpy memset memmove memcmp
__stack_chk_fail __stack_chk_guard __stack_chk_fail_local _GLOBAL_OFFSET_TABLE_
__udivdi3 __umoddi3 __divdi3 __moddi3 __udivmoddi4 __divmoddi4
__udivti3 __umodti3 __divti3 __modti3"

compiler_include=$($CC -print-file-name=include)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-freestanding.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

fail=0
count=0
for src in "$top_srcdir"/lib/*.c "$top_srcdir"/backends/vtd/*.c "$top_srcdir"/backends/smmuv3/*.c; do
	[ -e "$src" ] || continue
	count=$((count + 1))
	name=$(basename "$src" .c)
	obj="$tmp/$name.o"
	dep="$tmp/$name.d"

	if ! $CC -std=c11 -ffreestanding -nostdinc -isystem "$compiler_include" \
		-I"$top_builddir/include" -I"$top_srcdir/include" -I"$top_srcdir" -DPRQD_HAVE_BACKEND_SIM=0 \
		-Werror=implicit-function-declaration \
		-MD -MF "$dep" -c -o "$obj" "$src"; then
		echo "FAIL: $src does not compile freestanding"
		fail=1
		continue
	fi

	# Headers from the compiler's directory must be on the allowed list.
	for h in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$dep"); do
		case "$h" in
		"$compiler_include"/*)
			base=${h#"$compiler_include"/}
			ok=0
			for a in $allowed_headers; do
				[ "$base" = "$a" ] && ok=1
			done
			if [ $ok = 0 ]; then
				echo "FAIL: $src includes <$base>, which the freestanding core may not use"
				fail=1
			fi
			;;
		esac
	done

	# Undefined symbols outside the project prefix must be compiler helpers.
	for sym in $($NM -u "$obj" | awk '{ print $NF }'); do
		case "$sym" in
		prqd_* | vtd_* | smmuv3_*) continue ;;
		esac
		ok=0
		for a in $allowed_symbols; do
			[ "$sym" = "$a" ] && ok=1
		done
		if [ $ok = 0 ]; then
			echo "FAIL: $src references '$sym', which a freestanding build does not have"
			fail=1
		fi
	done
done

if [ $count = 0 ]; then
	echo "FAIL: no lib/*.c under $top_srcdir"
	exit 1
fi
[ $fail = 0 ] && echo "freestanding: $count files compile with only compiler headers"
exit $fail
