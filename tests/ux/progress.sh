#!/bin/sh
# SPDX-License-Identifier: MIT
# prqdrain-sim's progress display (--progress: one line per change, as on a terminal but
# readable): it never goes backwards, names what a blocking call waits for while the
# simulated clock turns, and ends at 100 % on every run, whatever was injected.
set -u
sim=${top_builddir:-.}/prqdrain-sim
src=${srcdir:-.}
err=${TMPDIR:-/tmp}/prqd-progress.$$
trap 'rm -f "$err"' EXIT
fail=0
if [ ! -x "$sim" ]; then
	echo "SKIP: prqdrain-sim not built (configure --disable-backend-sim)"
	exit 77
fi

check_run() { # description, then prqdrain-sim's arguments
	what=$1; shift
	"$sim" --progress -q "$@" >/dev/null 2>"$err"
	rc=$?
	last=$(tail -n 1 "$err")
	ok=yes
	[ $rc = 0 ] || { echo "exit status $rc"; ok=no; }
	echo "$last" | grep -q '^prqdrain-sim: \[#*\] 100% ' || { echo "last line: $last"; ok=no; }
	# Percentages never decrease.
	if ! sed -n 's/^prqdrain-sim: \[[#.]*\] *\([0-9]*\)%.*/\1/p' "$err" |
		awk 'NR > 1 && $1 < prev { bad = 1 } { prev = $1 } END { exit bad }'; then
		echo "the percentage went backwards"; ok=no
	fi
	if [ $ok = yes ]; then echo "PASS: $what"; else echo "FAIL: $what"; cat "$err"; fail=1; fi
}

check_run "random workload, every fault injected" --random --requests 2000 --inject all --seed 3
check_run "random workload over vtd" --backend vtd --random --requests 2000 --inject all --seed 4
check_run "the default scenario" "$src/examples/scenarios/default.scn"
check_run "a device whose ATC never answers" "$src/examples/scenarios/atc-never-answers.scn"

# While the unbind waits out the device-TLB time-out, the display says so and time moves.
if grep -q 'waiting: prqd_\(unbind\|drain\)' "$err" &&
	[ "$(grep -c 'waiting: prqd_' "$err")" -ge 2 ]; then
	echo "PASS: a blocking call is named while it waits"
else
	echo "FAIL: no line names the blocking call"; cat "$err"; fail=1
fi
exit $fail
