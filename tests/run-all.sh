#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-all.sh: the whole test suite, twice: a plain build and an ASan+UBSan build
# (--enable-sanitizers), each in its own directory under build-tests/ (or $PRQD_TEST_BUILDDIR);
# then the threaded suites a third time in a ThreadSanitizer build (tests/run-tsan.sh, in
# build-tests/tsan). Extra configure options for every build may be given in
# $PRQD_CONFIGURE_FLAGS.
#
# The last line printed is "N passed, N failed" (", N skipped" when any were), summed over
# the three runs from their test-suite.log files; a build that produced no log counts as one
# failure. Exits non-zero if any run failed. README.md and .ci/run both call this.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${PRQD_TEST_BUILDDIR:-$top/build-tests}
jobs=$(nproc 2>/dev/null || echo 2)
read -r -a extra_flags <<< "${PRQD_CONFIGURE_FLAGS:-}"

cd "$top" || exit 1
if [ -f "$top/config.status" ]; then
	echo "run-all.sh: $top is configured in place; run 'make distclean' there first" >&2
	exit 1
fi
if [ ! -x "$top/configure" ]; then
	./autogen.sh || exit 1
fi

# run NAME CONFIGURE-OPTIONS...: configure, build and check in $out/NAME.
run() {
	local name=$1 dir="$out/$1"
	shift
	echo "=== $name build: configure $* ${extra_flags[*]}"
	mkdir -p "$dir" || return 1
	rm -f "$dir/test-suite.log"
	(
		cd "$dir" &&
		"$top/configure" --quiet "$@" "${extra_flags[@]}" &&
		make -j"$jobs" &&
		make -j"$jobs" check VERBOSE=1
	)
}

status=0
run plain || status=1
run sanitize --enable-sanitizers || status=1
PRQD_TEST_BUILDDIR=$out bash "$top/tests/run-tsan.sh" || status=1

# Sum the header of each top-level test-suite.log ("# PASS:  N" ... "# ERROR: N").
pass=0 fail=0 skip=0
for name in plain sanitize tsan; do
	log="$out/$name/test-suite.log"
	if [ ! -f "$log" ]; then
		echo "run-all.sh: no $log: the $name build did not get to its tests" >&2
		fail=$((fail + 1))
		continue
	fi
	read -r p f s < <(awk '
		/^# (PASS|XFAIL):/ { p += $3 }
		/^# (FAIL|XPASS|ERROR):/ { f += $3 }
		/^# SKIP:/ { s += $3 }
		/^# ERROR:/ { exit }
		END { print p + 0, f + 0, s + 0 }' "$log")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done

[ "$fail" -eq 0 ] || status=1
if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
exit $status
