#!/bin/sh
# SPDX-License-Identifier: MIT
# spin-verify.sh: verify the Promela model of the page-request protocol
# (tests/spin/prqdrain.pml, described in tests/spin/README.md) with SPIN.
#
#  - the model as the library implements it: the safety properties hold (errors: 0), and
#    the drain loop ends once overflow stops (LTL drain_ends under weak fairness);
#  - each switch that puts a known bug back makes SPIN report the property that bug
#    breaks, with a counterexample trail that replays.
#
# Every run prints SPIN's own result lines (states stored, errors). Environment: CC
# (default cc, builds the verifiers), srcdir or top_srcdir (where tests/ is). Exit 77
# (skipped) when spin or the compiler is missing; a run that takes too long fails.

CC=${CC:-cc}
if ! command -v spin >/dev/null 2>&1; then
	echo "spin-verify.sh: spin not installed, skipping"
	exit 77
fi
set -- $CC
if ! command -v "$1" >/dev/null 2>&1; then
	echo "spin-verify.sh: compiler '$CC' not found, skipping"
	exit 77
fi

if [ -n "${srcdir:-}" ]; then
	model=$srcdir/tests/spin/prqdrain.pml
else
	model=${top_srcdir:-$(dirname "$0")/..}/tests/spin/prqdrain.pml
fi
if [ ! -f "$model" ]; then
	echo "spin-verify.sh: no model at $model" >&2
	exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/spin-verify.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
cp "$model" "$work/prqdrain.pml" || exit 1
cd "$work" || exit 1

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# build NAME SPIN-OPTIONS PAN-CFLAGS: generate and compile a verifier as pan-NAME.
# -O0: the verifier is compiled in a fraction of the time -O1 takes, and runs nearly as fast.
build() {
	rm -f pan.c pan.h pan.m pan.b pan.t pan.p
	spin $2 -a prqdrain.pml >"spin-$1.out" 2>&1 || {
		cat "spin-$1.out"
		return 1
	}
	$CC -O0 -w -DMEMLIM=1024 $3 -o "pan-$1" pan.c || return 1
}

# verify NAME SPIN-OPTIONS PAN-CFLAGS PAN-OPTIONS: run, keep the output in NAME.log and
# print SPIN's result lines.
verify() {
	build "$1" "$2" "$3" || {
		fail "$1: the verifier did not build"
		return 1
	}
	rm -f prqdrain.pml.trail
	timeout 300 "./pan-$1" $4 >"$1.log" 2>&1
	grep -E 'violated|acceptance cycle|errors:|states, stored|elapsed|Search not completed|too small' "$1.log" |
		sed 's/^/    /'
}

errors_of() {
	sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$1.log"
}

# holds NAME DESCRIPTION SPIN-OPTIONS PAN-CFLAGS PAN-OPTIONS: the search is complete and
# finds nothing.
holds() {
	echo "== $1: $2"
	verify "$1" "$3" "$4" "$5" || return
	if [ "$(errors_of "$1")" != 0 ]; then
		fail "$1: spin reports errors"
	elif grep -q -E 'Search not completed|too small' "$1.log"; then
		fail "$1: the search was cut short"
	elif ! grep -q 'states, stored' "$1.log"; then
		fail "$1: no result from the verifier"
	fi
}

# breaks NAME DESCRIPTION SPIN-OPTIONS PAN-CFLAGS PAN-OPTIONS EXPECTED: spin finds an error
# matching EXPECTED (assertion flags or "acceptance cycle", an extended regular expression)
# and leaves a trail that replays to it.
breaks() {
	echo "== $1: $2"
	verify "$1" "$3" "$4" "$5" || return
	n=$(errors_of "$1")
	if [ -z "$n" ] || [ "$n" = 0 ]; then
		fail "$1: spin found no error"
		return
	fi
	case $6 in
	"acceptance cycle") pattern='acceptance cycle' ;;
	*) pattern="assertion violated +!\(($6)\)" ;;
	esac
	if ! grep -q -E "$pattern" "$1.log"; then
		fail "$1: spin found an error, but not '$6'"
		return
	fi
	if [ ! -s prqdrain.pml.trail ]; then
		fail "$1: no counterexample trail"
		return
	fi
	steps=$(grep -c . prqdrain.pml.trail)
	replay=$(spin $3 -t prqdrain.pml 2>&1 | grep -E 'text of failed assertion|START OF CYCLE' | head -n 1)
	if [ -z "$replay" ]; then
		fail "$1: the trail does not replay to the error"
		return
	fi
	echo "    trail: $steps steps, replayed: $replay"
}

safety='-DSAFETY -DNOCLAIM'
live='-DNFAIR=3'

holds fixed "the protocol as implemented: every assertion holds" \
	"" "$safety" "-m200000"
holds drain-ends "LTL drain_ends: the drain loop ends once overflow stops (weak fairness)" \
	"-DNO_HW_DEADLINE" "$live" "-m200000 -a -f"

breaks bug1 "bug 1 as reported: FORCE frees the PASID, bind takes no queue mark" \
	"-DNO_QUARANTINE -DNO_BIND_MARK" "$safety" "-m200000" wrong_generation
breaks bug1-mark-only "bug 1 with only the bind mark: requests still in the fabric" \
	"-DNO_QUARANTINE" "$safety" "-m200000" wrong_generation
breaks bug2 "bug 2: draining a STOPPED bond returns at once" \
	"-DDRAIN_STOPPED_SHORTCUT" "$safety" "-m200000" drain_incomplete
breaks unbind-stopped "unbind of a STOPPED bond skips the drain" \
	"-DUNBIND_SKIPS_STOPPED" "$safety" "-m200000" drain_incomplete
breaks marker-excuse "no hardware drain: an overflow excuses the missing stop marker" \
	"-DMARKER_OVERFLOW_EXCUSE" "$safety" "-m200000" drain_incomplete
breaks restart-anytime "the device restarted without drain and resume (contract broken)" \
	"-DRESTART_ANYTIME" "$safety" "-m200000" "wrong_generation|drain_incomplete"
breaks stale-overflow-count "the drain loop compares with the overflow count of its start" \
	"-DNO_HW_DEADLINE -DSTALE_OVERFLOW_COUNT" "$live" "-m200000 -a -f" "acceptance cycle"

if [ "$failures" != 0 ]; then
	echo "spin-verify.sh: $failures failed"
	exit 1
fi
echo "spin-verify.sh: all verified"
exit 0
