#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-all.sh [RUN...]: the whole test suite, twice: a plain build ("plain") and an ASan+UBSan
# build ("sanitize", --enable-sanitizers); then the threaded suites (make check-threaded) a
# third time in a ThreadSanitizer build ("tsan", --enable-tsan), where any report fails its
# test. Each run is in its own directory under build-tests/ (or $PRQD_TEST_BUILDDIR); the
# arguments pick runs (default: all three). Extra configure options for every build may be
# given in $PRQD_CONFIGURE_FLAGS.
#
# The last line printed is "N passed, N failed" (", N skipped" when any were), summed over
# the runs from their test-suite.log files; a build that produced no log counts as one
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

# run NAME CHECK-TARGET CONFIGURE-OPTIONS...: configure, build and make CHECK-TARGET in
# $out/NAME.
run() {
	local name=$1 target=$2 dir="$out/$1"
	shift 2
	echo "=== $name build: configure $* ${extra_flags[*]}"
	mkdir -p "$dir" || return 1
	rm -f "$dir/test-suite.log"
	(
		cd "$dir" &&
		"$top/configure" --quiet "$@" "${extra_flags[@]}" &&
		make -j"$jobs" &&
		make -j"$jobs" "$target" VERBOSE=1
	)
}

runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(plain sanitize tsan)
status=0
for name in "${runs[@]}"; do
	case $name in
	plain) run plain check || status=1 ;;
	sanitize) run sanitize check --enable-sanitizers || status=1 ;;
	# The process exits with 66 at the first report. Instrumented code is several times
	# slower: Check's timeouts get room, and tests/stress runs 5x its default length.
	tsan)
		TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
		CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4} \
		PRQD_STRESS_ITERS=${PRQD_STRESS_ITERS:-50000} \
			run tsan check-threaded --enable-tsan || status=1 ;;
	*)
		echo "run-all.sh: no run named '$name' (plain, sanitize, tsan)" >&2
		exit 2 ;;
	esac
done

# Sum the header of each top-level test-suite.log ("# PASS:  N" ... "# ERROR: N").
pass=0 fail=0 skip=0
for name in "${runs[@]}"; do
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
