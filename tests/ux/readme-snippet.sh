#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's "Using it" code is a literal excerpt of examples/embed/embed.c (between its
# README-snippet markers), so the snippet is code that compiles and runs.
set -u
src=${srcdir:-.}
tmp=${TMPDIR:-/tmp}/prqd-snippet.$$
trap 'rm -f "$tmp".*' EXIT
sed -n '/README-snippet-begin/,/README-snippet-end/p' "$src/examples/embed/embed.c" |
	sed '1d;$d' | sed 's/^\t//' >"$tmp.code"
awk '/^## Using it/ { on = 1 } on && /^```c$/ { grab = 1; next } grab && /^```$/ { exit }
     grab { print }' "$src/README.md" >"$tmp.readme"
if [ ! -s "$tmp.code" ]; then
	echo "FAIL: no README-snippet markers in examples/embed/embed.c"; exit 1
fi
if cmp -s "$tmp.code" "$tmp.readme"; then
	echo "PASS: README's Using it code is examples/embed/embed.c's excerpt"
	exit 0
fi
echo "FAIL: README's Using it code differs from examples/embed/embed.c's excerpt:"
diff -u "$tmp.code" "$tmp.readme"
exit 1
