#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-tsan.sh: the threaded suites (make check-threaded: tests/check-state, whose last cases
# run threads against each other, tests/check-trace-json, tests/stress) in a ThreadSanitizer
# build (configure --enable-tsan) in its own directory, $PRQD_TEST_BUILDDIR/tsan (default
# build-tests/tsan). Extra configure options may be given in $PRQD_CONFIGURE_FLAGS.
#
# Any ThreadSanitizer report fails the test that produced it: the process exits with 66 at
# the first one (halt_on_error). The results are in $dir/test-suite.log (tests/run-all.sh
# sums them).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=${PRQD_TEST_BUILDDIR:-$top/build-tests}/tsan
jobs=$(nproc 2>/dev/null || echo 2)
read -r -a extra_flags <<< "${PRQD_CONFIGURE_FLAGS:-}"

cd "$top" || exit 1
if [ -f "$top/config.status" ]; then
	echo "run-tsan.sh: $top is configured in place; run 'make distclean' there first" >&2
	exit 1
fi
if [ ! -x "$top/configure" ]; then
	./autogen.sh || exit 1
fi

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
# Instrumented code runs several times slower: give Check's timeouts room.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
# The stress program runs five times its default length here (about half a minute).
export PRQD_STRESS_ITERS=${PRQD_STRESS_ITERS:-50000}

echo "=== tsan build: configure --enable-tsan ${extra_flags[*]}"
mkdir -p "$dir" || exit 1
rm -f "$dir/test-suite.log"
cd "$dir" &&
	"$top/configure" --quiet --enable-tsan "${extra_flags[@]}" &&
	make -j"$jobs" &&
	make -j"$jobs" check-threaded VERBOSE=1
