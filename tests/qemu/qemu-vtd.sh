#!/bin/sh
# SPDX-License-Identifier: MIT
# qemu-vtd.sh: the VT-d invalidation queue engine against QEMU's intel-iommu model.
#
# Boots tests/qemu/guest.elf (built by make from guest-entry.S, guest.c and
# backends/vtd/vtd-iq.c) in qemu-system-x86_64 once per intel-iommu mode:
#   legacy      intremap=off                                         128-bit descriptors
#   sm          intremap=off,x-scalable-mode=on                      128-bit descriptors
#   sm          intremap=off,x-scalable-mode=on                      256-bit descriptors
#   smpasid     intremap=off,x-scalable-mode=on,x-pasid-mode=on      256-bit descriptors
# The guest prints one "ok N - ..." / "not ok N - ..." line per check on its serial port, then
# the plan "1..N", and leaves through isa-debug-exit with 0 (QEMU exit status 1) when every
# check passed. A run passes when the status is 1, the plan is there, it matches the number of
# result lines, there are at least $min_checks of them and none is "not ok".
#
# Environment: QEMU (default qemu-system-x86_64), QEMU_TIMEOUT seconds per boot (default 60),
# top_builddir (default: the parent of this script's directory), GUEST (default
# $top_builddir/tests/qemu/guest.elf).
# No NIC (-nic none): nothing needs an option ROM. Exit 77 (skipped) only when QEMU is not
# installed.

QEMU=${QEMU:-qemu-system-x86_64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
top_builddir=${top_builddir:-$(dirname "$0")/../..}
GUEST=${GUEST:-$top_builddir/tests/qemu/guest.elf}
min_checks=40

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "qemu-vtd.sh: $QEMU not found (Debian: apt-get install qemu-system-x86), skipping"
	exit 77
fi
if [ ! -f "$GUEST" ]; then
	echo "FAIL: $GUEST is missing: make builds it (make check does)"
	exit 1
fi

# tap_verdict: what the guest's TAP lines say.
. "${srcdir:-$(dirname "$0")/../..}/tests/qemu/tap-verdict.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-qemu.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

fail=0
runs=0
# boot NAME IOMMU-OPTIONS GUEST-CMDLINE
boot() {
	name=$1 opts=$2 cmdline=$3
	out="$tmp/$name.out"
	runs=$((runs + 1))
	start=$(date +%s.%N)
	timeout -k 5 "$QEMU_TIMEOUT" "$QEMU" \
		-machine q35,accel=tcg -m 64 -nic none \
		-device "intel-iommu,$opts" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$GUEST" -append "$cmdline" \
		-nographic -serial stdio -monitor none -no-reboot -display none \
		</dev/null >"$out" 2>"$tmp/$name.err"
	status=$?
	end=$(date +%s.%N)
	tr -d '\r' <"$out" >"$out.lf"

	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')

	echo "=== $name: intel-iommu,$opts; guest \"$cmdline\""
	grep -E '^(ok|not ok) [0-9]|^# ' "$out.lf" | sed "s/^/$name: /"
	verdict=ok
	tap_verdict "$out.lf" "$status" 1 "$min_checks"
	if [ -n "$why" ]; then
		verdict=FAIL
		fail=1
		echo "$name: QEMU's stderr:"
		sed "s/^/$name:   /" "$tmp/$name.err"
		echo "$name: serial output:"
		sed "s/^/$name:   /" "$out.lf" | tail -n 40
	fi
	echo "$name: $verdict: $oks ok, $notoks not ok, ${secs}s${why:+: $why}"
}

boot legacy "intremap=off" "mode=legacy dw=128"
boot sm-128 "intremap=off,x-scalable-mode=on" "mode=sm dw=128"
boot sm-256 "intremap=off,x-scalable-mode=on" "mode=sm dw=256"
boot smpasid-256 "intremap=off,x-scalable-mode=on,x-pasid-mode=on" "mode=smpasid dw=256"

echo "qemu-vtd: $runs boots, $([ $fail = 0 ] && echo "all passed" || echo "FAILED")"
exit $fail
