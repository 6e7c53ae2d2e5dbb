#!/bin/sh
# SPDX-License-Identifier: MIT
# End to end through the kernel: make the kernel emit a real uevent for a PCI function by
# writing `change` to /sys/bus/pci/devices/<slot>/uevent (root only), and check that
# prqdrain-monitor receives it on its NETLINK_KOBJECT_UEVENT socket, passes the sender check
# (port 0, group 1, uid 0) and parses it. With a function that the built-in simulation also
# has (0000:00:01.0 or 0000:00:02.0), the event is fed to the simulated bonds as well.
#
# `change` is the one action safe on a real device: udev re-reads its properties, nothing is
# unbound or removed. Exit 77 (skip) only when not root, when there is no PCI function whose
# uevent file can be written, or when the socket cannot be opened here (no libnl in this
# build, or a sandbox that forbids netlink). Every wait is bounded.

set -u
builddir=${top_builddir:-.}
monitor=$builddir/prqdrain-monitor
wait_s=10

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "$out" ] && sed 's/^/  out: /' "$out"; [ -f "$err" ] && sed 's/^/  err: /' "$err"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root: writing a uevent file needs root"
[ -x "$monitor" ] || { echo "FAIL: $monitor not built"; exit 1; }

# A function the built-in simulation also has comes first, so the second run below happens.
slot=
for d in /sys/bus/pci/devices/0000:00:01.0 /sys/bus/pci/devices/0000:00:02.0 \
	/sys/bus/pci/devices/*; do
	[ -w "$d/uevent" ] || continue
	slot=${d##*/}
	break
done
[ -n "$slot" ] || skip "no PCI function with a writable uevent file"

tmp=$(mktemp -d) || exit 1
out=$tmp/out
err=$tmp/err
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# run_once ARGS...: start the monitor, wait until it listens, trigger, wait for its end.
# Sets $status.
run_once() {
	: >"$out"
	: >"$err"
	"$monitor" -s "$slot" -n 1 -t $((wait_s * 1000)) "$@" >"$out" 2>"$err" &
	pid=$!
	i=0
	while ! grep -q listening "$err" 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			status=$?
			pid=
			[ $status = 3 ] && skip "the uevent socket cannot be opened here: $(cat "$err")"
			fail "the monitor exited with $status before listening"
		fi
		i=$((i + 1))
		[ $i -le $((wait_s * 10)) ] || fail "the monitor did not start listening in ${wait_s}s"
		sleep 0.1
	done
	echo change >"/sys/bus/pci/devices/$slot/uevent" ||
		fail "writing change to /sys/bus/pci/devices/$slot/uevent failed"
	# The monitor ends by itself: after one event, or at its own timeout.
	wait "$pid"
	status=$?
	pid=
}

echo "triggering a change uevent on $slot"
run_once --all
[ $status = 0 ] || fail "no uevent for $slot arrived within ${wait_s}s (exit $status)"
grep -q "^change $slot" "$out" || fail "the event printed is not a change of $slot"
grep -q "^refused" "$out" && fail "the kernel's event was refused"
echo "received: $(head -n 1 "$out")"

case $slot in
0000:00:01.0 | 0000:00:02.0)
	# The same function is a simulated device: the kernel's event reaches its bonds'
	# monitor as an accepted event (a change without ERROR_EVENT asks for nothing).
	run_once --sim-builtin
	[ $status = 0 ] || fail "simulation: no uevent, or a checker violation (exit $status)"
	grep -q "^change $slot" "$out" || fail "simulation: no change of $slot"
	grep -q "accepted 1," "$out" || fail "simulation: the event was not accepted"
	grep -q "checker: 0 violation" "$out" || fail "simulation: checker violations"
	echo "simulation: accepted, checker clean"
	;;
esac
echo "PASS"
exit 0
