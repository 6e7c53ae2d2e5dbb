#!/bin/sh
# SPDX-License-Identifier: MIT
# What the command-line tools print when things go wrong: one message per problem, each
# starting with the program's name.
set -u
b=${top_builddir:-.}
s=${srcdir:-.}
out=${TMPDIR:-/tmp}/prqd-cli.$$
trap 'rm -f "$out"' EXIT
fail=0
check() { # description, then the condition already evaluated in $ok
	if [ "$ok" = yes ]; then echo "PASS: $1"; else echo "FAIL: $1"; cat "$out"; fail=1; fi
}

if [ -x "$b/lspri" ]; then
	"$b/lspri" -F /nonexistent/dump >/dev/null 2>"$out"; rc=$?
	ok=no; [ $rc = 1 ] && [ "$(wc -l <"$out")" = 1 ] &&
		grep -q '^lspri: /nonexistent/dump: No such file or directory$' "$out" && ok=yes
	check "lspri -F on a missing file: one error line, exit 1"

	"$b/lspri" -F "$s/tests/data/pci/edge.dump" -s 00:08.0 >/dev/null 2>"$out"; rc=$?
	ok=no; [ $rc = 0 ] &&
		grep -q '^lspri: no PCI function in 00:08.0 has an ATS, PASID or PRI capability$' "$out" &&
		ok=yes
	check "lspri with no PRI device says so"

	"$b/lspri" -F "$s/tests/data/pci/edge.dump" --json -s 00:08.0 >"$out" 2>&1; rc=$?
	ok=no; [ $rc = 0 ] && [ "$(cat "$out")" = "[]" ] && ok=yes
	check "lspri --json with no PRI device prints an empty list only"
else
	echo "SKIP: lspri not built (no libpci)"
fi
sim=$b/prqdrain-sim
if [ ! -x "$sim" ]; then
	echo "SKIP: prqdrain-sim not built (configure --disable-backend-sim)"
	exit $fail
fi
"$sim" "${TMPDIR:-/tmp}" >/dev/null 2>"$out"; rc=$?
ok=no; [ $rc = 2 ] && grep -q '^prqdrain-sim: .*: Is a directory$' "$out" && ok=yes
check "prqdrain-sim with a directory as the scenario: is a directory"

empty=${TMPDIR:-/tmp}/prqd-empty.$$.scn
printf '# only a comment\n' >"$empty"
"$sim" "$empty" >/dev/null 2>"$out"; rc=$?
rm -f "$empty"
ok=no; [ $rc = 2 ] && grep -q '^prqdrain-sim: .*: no device and no event: nothing to run$' "$out" &&
	ok=yes
check "prqdrain-sim with an empty scenario: an error, exit 2"

"$sim" --random --requests 50 --inject all,all,marker >"$out" 2>&1; rc=$?
ok=no; [ $rc = 0 ] && grep -q '^result *PASS' "$out" && ok=yes
check "prqdrain-sim --inject all,all: a repeated name is harmless"

for tool in prqdrain-sim lspri prqdrain-monitor; do
	[ -x "$b/$tool" ] || continue
	"$b/$tool" --no-such-option >/dev/null 2>"$out"
	ok=yes
	# Every line the tool wrote about the error starts with its name (usage text aside).
	grep -v -E '^(Usage|  |List|$)' "$out" | grep -v "^$tool: " >/dev/null && ok=no
	grep -q "^$tool: " "$out" || ok=no
	check "$tool: messages start with '$tool: '"
done
exit $fail
