#!/bin/sh
# SPDX-License-Identifier: MIT
# What a user gets from `make install`: a build of its own from the source tree, installed
# into a temporary prefix, then checked from outside:
#  - prqdrain-sim with no arguments runs the installed default scenario and passes;
#  - the example scenarios and the format description are installed;
#  - every installed man page formats without a warning (man -l), and the tools' pages name
#    every long option their --help lists;
#  - the API has its overview page and one page per function group.
# Skipped (77) only when `man` is missing. Environment: top_srcdir (the source tree).
set -u
src=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
if ! command -v man >/dev/null 2>&1; then
	echo "SKIP: man (man-db) is not installed"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
prefix=$tmp/prefix
fail=0
pass() { echo "PASS: $1"; }
bad() { echo "FAIL: $1"; fail=1; }

mkdir "$tmp/build"
if ! (cd "$tmp/build" && "$src/configure" --prefix="$prefix" --disable-sanitizers \
	CFLAGS="-O1" >"$tmp/configure.log" 2>&1 && make -j2 >"$tmp/make.log" 2>&1 &&
	make install >"$tmp/install.log" 2>&1); then
	tail -30 "$tmp/configure.log" "$tmp/make.log" "$tmp/install.log" 2>/dev/null
	echo "FAIL: configure, make or make install"
	exit 1
fi
pass "configure --prefix=$prefix, make, make install"

share=$prefix/share/prqdrain
[ -f "$share/scenarios/default.scn" ] && [ -f "$share/scenario-format.md" ] &&
	[ "$(ls "$share/scenarios" | wc -l)" -ge 5 ] && pass "scenarios and format installed" ||
	bad "scenarios or docs/scenario-format.md missing under $share"

# The default run, from a directory without any scenario in it.
(cd "$tmp" && "$prefix/bin/prqdrain-sim") >"$tmp/default.out" 2>&1; rc=$?
if [ $rc = 0 ] && grep -q "^scenario  *$share/scenarios/default.scn$" "$tmp/default.out" &&
	grep -q '^result  *PASS' "$tmp/default.out"; then
	pass "prqdrain-sim with no arguments runs the installed default scenario"
else
	cat "$tmp/default.out"; bad "prqdrain-sim with no arguments (exit $rc)"
fi

# Every installed page formats cleanly.
pages=$(find "$prefix/share/man" -type f | sort)
[ -n "$pages" ] || bad "no man page installed"
for page in $pages; do
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	if [ -n "$warn" ]; then
		echo "$warn"; bad "man -l ${page#$prefix/}"
	fi
done
pass "man -l on $(echo "$pages" | wc -l) installed pages (warnings above if any)"

for want in man1/prqdrain-sim.1 man8/prqdrain-monitor.8 man3/prqdrain.3; do
	[ -f "$prefix/share/man/$want" ] || bad "man page $want not installed"
done
if [ -x "$prefix/bin/lspri" ]; then
	[ -f "$prefix/share/man/man8/lspri.8" ] || bad "man page lspri(8) not installed"
fi
if command -v doxygen >/dev/null 2>&1; then
	for group in version context tracing iommu devices bonds; do
		[ -f "$prefix/share/man/man3/prqdrain_$group.3" ] ||
			bad "API page prqdrain_$group(3) not installed"
	done
	# The overview names only pages that exist.
	for ref in $(man -l "$prefix/share/man/man3/prqdrain.3" 2>/dev/null |
		grep -o 'prq[a-z_]*(3)' | sort -u | sed 's/(3)//'); do
		[ -f "$prefix/share/man/man3/$ref.3" ] || bad "prqdrain(3) refers to $ref(3), not installed"
	done
fi

# The tools' pages document every long option their --help shows.
for tool in prqdrain-sim lspri prqdrain-monitor; do
	[ -x "$prefix/bin/$tool" ] || continue
	page=$(ls "$prefix"/share/man/man?/"$tool".? 2>/dev/null | head -1)
	text=$(MANWIDTH=200 man -l "$page" 2>/dev/null)
	for opt in $("$prefix/bin/$tool" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		echo "$text" | grep -q -- "$opt" || bad "$tool(${page##*.}) does not document $opt"
	done
done
pass "the tools' man pages document their options (failures above if any)"
exit $fail
