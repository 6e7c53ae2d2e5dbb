# SPDX-License-Identifier: MIT
# Sourced by the QEMU oracle scripts (tests/qemu/qemu-vtd.sh, tests/qemu-arm/qemu-smmuv3.sh):
# read the TAP lines a guest printed on its serial port and say what went wrong, if anything.
#
# tap_verdict SERIAL_LF STATUS PASS_STATUS MIN_CHECKS
#   SERIAL_LF    the serial output with CRs removed
#   STATUS       QEMU's exit status (124/137: the timeout killed it)
#   PASS_STATUS  the status a passing guest makes QEMU exit with
#   MIN_CHECKS   fewer "ok" lines than this is a failure too
# Sets oks, notoks and plan, and why (empty when the guest passed).
tap_verdict() {
	oks=$(grep -c '^ok [0-9]' "$1")
	notoks=$(grep -c '^not ok [0-9]' "$1")
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$1" | tail -n 1)
	why=
	if [ "$2" = 124 ] || [ "$2" = 137 ]; then
		why="timed out after ${QEMU_TIMEOUT}s"
	elif [ "$2" != "$3" ]; then
		why="QEMU exit status $2 ($3 = guest passed)"
	elif [ -z "$plan" ]; then
		why="no plan line"
	elif [ "$plan" != $((oks + notoks)) ]; then
		why="plan 1..$plan but $((oks + notoks)) result lines"
	elif [ "$notoks" != 0 ]; then
		why="$notoks checks failed"
	elif [ "$oks" -lt "$4" ]; then
		why="only $oks checks ran (expected at least $4)"
	fi
}
