#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh: libprqdrain.so exports exactly the functions lib/libprqdrain.sym names. The
# library is compiled with -fvisibility=hidden, so a name the symbol file lists whose
# definition lacks PRQD_EXPORT is missing here, and a PRQD_EXPORT function the file does not
# list must not leak either. Skipped (77) in a build without the shared library or nm.
# Environment: top_srcdir, top_builddir.

top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
NM=${NM:-nm}

so=$(ls "$top_builddir"/lib/.libs/libprqdrain.so.* 2>/dev/null | head -n 1)
[ -n "$so" ] || { echo "exports.sh: no shared libprqdrain built, skipping"; exit 77; }
command -v "$NM" >/dev/null 2>&1 || { echo "exports.sh: no $NM, skipping"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-exports.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Defined dynamic symbols, without their version suffix and without the version nodes.
$NM -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u \
	>"$tmp/exported"
# The names in the symbol file: lines "name;" inside a node, comments and local: * aside.
sed -e 's|/\*.*\*/||' "$top_srcdir/lib/libprqdrain.sym" |
	awk '/^[ \t]*[A-Za-z_][A-Za-z0-9_]*;[ \t]*$/ { sub(/;.*/, ""); print $1 }' | sort -u \
	>"$tmp/listed"

[ -s "$tmp/listed" ] || { echo "FAIL: no names read from lib/libprqdrain.sym"; exit 1; }
if ! cmp -s "$tmp/exported" "$tmp/listed"; then
	echo "FAIL: $so exports differ from lib/libprqdrain.sym (< exported only, > listed only):"
	diff "$tmp/exported" "$tmp/listed" | grep '^[<>]'
	exit 1
fi
echo "exports: $(wc -l <"$tmp/exported") functions, exactly those of lib/libprqdrain.sym"
