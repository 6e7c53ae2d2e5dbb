#!/bin/sh
# SPDX-License-Identifier: MIT
# doc-check.sh: the public headers' doc comments parse cleanly in doxygen: no warning (an
# undocumented parameter, a @param naming no parameter, an unknown command; not
# WARN_NO_PARAMDOC, which doxygen 1.9.4 raises for every function), and every
# function's comment has its one "Since:" line. Skipped (77) when doxygen is not installed.
# Environment: top_srcdir, top_builddir (the generated prqdrain-version.h is there).

top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}

if ! command -v doxygen >/dev/null 2>&1; then
	echo "doc-check.sh: doxygen not installed, skipping"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-doc.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

headers="$top_srcdir/include/prqdrain.h $top_srcdir/include/prqdrain-platform.h
$top_srcdir/include/prqdrain-backend.h $top_srcdir/include/prqdrain-sim.h
$top_srcdir/include/prqdrain-pci.h $top_srcdir/include/prqdrain-uevent.h
$top_builddir/include/prqdrain-version.h"

cat >"$tmp/Doxyfile" <<_EOF
PROJECT_NAME = prqdrain
OUTPUT_DIRECTORY = $tmp/out
INPUT = $(echo $headers)
OPTIMIZE_OUTPUT_FOR_C = YES
EXTRACT_ALL = NO
WARN_IF_UNDOCUMENTED = YES
WARN_IF_DOC_ERROR = YES
WARN_LOGFILE = $tmp/warnings
GENERATE_HTML = NO
GENERATE_LATEX = NO
GENERATE_XML = YES
QUIET = YES
_EOF

if ! doxygen "$tmp/Doxyfile" >"$tmp/stdout" 2>&1; then
	cat "$tmp/stdout"
	echo "FAIL: doxygen failed"
	exit 1
fi
cp "$tmp/warnings" "$tmp/counted"
fail=0
if [ -s "$tmp/counted" ]; then
	cat "$tmp/counted"
	echo "FAIL: doxygen warns about the public headers"
	fail=1
fi

# Every exported function's comment carries "Since:" exactly once.
for h in $headers; do
	awk -v file="$h" '
		/^\/\*\*/ { doc = ""; indoc = 1 }
		indoc { doc = doc $0 "\n" }
		/\*\// { indoc = 0 }
		/^[a-z].*[ *]prqd_[a-z0-9_]+\(/ {
			name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
			n = gsub(/Since:/, "&", doc)
			if (n != 1) { printf "FAIL: %s: %s has %d Since: lines\n", file, name, n; bad = 1 }
			doc = ""
		}
		END { exit bad }' "$h" || fail=1
done

[ $fail = 0 ] && echo "doc-check: public headers parse without warnings, one Since: per function"
exit $fail
