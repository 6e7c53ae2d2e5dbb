#!/bin/sh
# SPDX-License-Identifier: MIT
# qemu-smmuv3.sh: the SMMUv3 command queue engine against QEMU's SMMUv3 model.
#
# Boots tests/qemu-arm/smmuv3-guest.elf (built by make from smmuv3-entry.S, smmuv3-guest.c,
# smmuv3-rt.c and backends/smmuv3/smmuv3-cmdq.c with an aarch64 cross compiler) in
# qemu-system-aarch64 -machine virt,iommu=smmuv3. The guest prints one "ok N - ..." /
# "not ok N - ..." line per check on the PL011 UART, then the plan "1..N", and leaves through
# semihosting SYS_EXIT with status 0 when every check passed (1 otherwise). A run passes when
# the status is 0, the plan is there, it matches the number of result lines, there are at
# least $min_checks of them and none is "not ok".
#
# Environment: QEMU_AARCH64 (default qemu-system-aarch64), QEMU_TIMEOUT seconds (default 60),
# top_builddir (default: the parent of this script's directory), SMMUV3_GUEST (default
# $top_builddir/tests/qemu-arm/smmuv3-guest.elf), QEMU_ARM_CC (the cross compiler configure
# found; empty: none).
# Exit 77 (skipped) only when QEMU for aarch64 or the cross compiler is not installed.

QEMU=${QEMU_AARCH64:-qemu-system-aarch64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
top_builddir=${top_builddir:-$(dirname "$0")/../..}
GUEST=${SMMUV3_GUEST:-$top_builddir/tests/qemu-arm/smmuv3-guest.elf}
min_checks=60

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "qemu-smmuv3.sh: $QEMU not found (Debian: apt-get install qemu-system-arm), skipping"
	exit 77
fi
if [ "${QEMU_ARM_CC+set}" = set ] && [ -z "$QEMU_ARM_CC" ]; then
	echo "qemu-smmuv3.sh: configure found no aarch64 cross compiler (Debian: apt-get install" \
		"gcc-aarch64-linux-gnu, or clang and lld), skipping"
	exit 77
fi
if [ ! -f "$GUEST" ]; then
	echo "FAIL: $GUEST is missing: make builds it (make check does)"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-qemu-smmuv3.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

out="$tmp/serial.out"
start=$(date +%s.%N)
timeout -k 5 "$QEMU_TIMEOUT" "$QEMU" \
	-machine virt,iommu=smmuv3,accel=tcg -cpu cortex-a57 -m 128 -nic none \
	-semihosting -kernel "$GUEST" \
	-nographic -serial stdio -monitor none -no-reboot -display none \
	</dev/null >"$out" 2>"$tmp/stderr"
status=$?
end=$(date +%s.%N)
tr -d '\r' <"$out" >"$out.lf"

oks=$(grep -c '^ok [0-9]' "$out.lf")
notoks=$(grep -c '^not ok [0-9]' "$out.lf")
plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$out.lf" | tail -n 1)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')

grep -E '^(ok|not ok) [0-9]|^# ' "$out.lf"
why=
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
	why="timed out after ${QEMU_TIMEOUT}s"
elif [ "$status" != 0 ]; then
	why="QEMU exit status $status (0 = guest passed, 1 = guest failed)"
elif [ -z "$plan" ]; then
	why="no plan line"
elif [ "$plan" != $((oks + notoks)) ]; then
	why="plan 1..$plan but $((oks + notoks)) result lines"
elif [ "$notoks" != 0 ]; then
	why="$notoks checks failed"
elif [ "$oks" -lt "$min_checks" ]; then
	why="only $oks checks ran (expected at least $min_checks)"
fi
if [ -n "$why" ]; then
	echo "QEMU's stderr:"
	sed 's/^/  /' "$tmp/stderr"
	echo "serial output:"
	sed 's/^/  /' "$out.lf" | tail -n 40
	echo "qemu-smmuv3: FAIL: $oks ok, $notoks not ok, ${secs}s: $why"
	exit 1
fi
echo "qemu-smmuv3: ok: $oks checks passed, ${secs}s"
exit 0
