#!/bin/sh
# SPDX-License-Identifier: MIT
# prqdrain-monitor end to end on canned datagrams (no kernel, no root, any build): files are
# read, checked for their sender, parsed, matched to the built-in simulated devices and
# applied to their bonds under traffic, and the checker must find nothing.

set -u
builddir=${top_builddir:-.}
data=${top_srcdir:-.}/tests/data/uevent
monitor=$builddir/prqdrain-monitor
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

fail() { echo "FAIL: $*"; sed 's/^/  out: /' "$out"; exit 1; }
expect() { grep -q -- "$1" "$out" || fail "expected a line matching: $1"; }

# Recovery of 00:01.0, failure of 00:02.0, then removal of 00:01.0, with malformed and
# foreign datagrams in between.
"$monitor" --sim-builtin \
	"$data/begin-recovery.bin" "$data/bad-truncated.bin" "$data/change-lo.bin" \
	"$data/successful-recovery.bin" "$data/failed-recovery.bin" "$data/bad-libudev.bin" \
	"$data/remove-pci.bin" >"$out" 2>&1 || fail "exit status $?"
expect '^change 0000:00:01.0 .*ERROR_EVENT=BEGIN_RECOVERY.*: stop+drain ok$'
expect '^change 0000:00:01.0 .*ERROR_EVENT=SUCCESSFUL_RECOVERY.*: resume ok$'
expect '^change 0000:00:02.0 .*ERROR_EVENT=FAILED_RECOVERY.*: force-unbind ok$'
expect '^remove 0000:00:01.0 .*: force-unbind ok$'
expect '^change /devices/virtual/net/lo .*ENODEV'
[ "$(grep -c '^refused: EBADMSG' "$out")" = 2 ] || fail "two malformed datagrams should be refused"
expect '^  bond dev1-p1 .* freed '
expect '^  bond dev2-p2 .* freed '
expect 'monitor: received 7, accepted 4, rejected: format 2, sender 0, unknown device 1; actions 4 (failed 0)'
expect 'checker: 0 violation'

# Recovery that succeeds leaves the bonds active, and traffic reaches them again.
"$monitor" --sim-builtin "$data/begin-recovery.bin" "$data/successful-recovery.bin" \
	>"$out" 2>&1 || fail "exit status $?"
expect '^  bond dev1-p1 .* active '
expect 'checker: 0 violation'

# The same removal from a process's port: refused, nothing happens.
"$monitor" --sim-builtin --from-port 4242 "$data/remove-pci.bin" >"$out" 2>&1 ||
	fail "exit status $?"
expect '^refused: EPERM'
expect '^  bond dev1-p1 .* active '
expect 'sender 1'

# Without --sim: only reporting, with what a registered device would go through.
"$monitor" --all "$data/remove-pci.bin" "$data/change-lo.bin" >"$out" 2>&1 ||
	fail "exit status $?"
expect '^remove 0000:00:01.0 seq=1006 (would force-unbind)$'
expect '^change /devices/virtual/net/lo subsystem=net seq=999$'

# A missing file is a usage error.
"$monitor" --sim-builtin "$data/no-such-file.bin" >"$out" 2>&1
[ $? = 2 ] || fail "a missing file should exit 2"
echo PASS
