#!/bin/sh
# SPDX-License-Identifier: MIT
# PRQDRAIN_LOG alone (no log function installed) prints why prqd_iommu_open() failed on the
# hosted default platform, and without it the library says nothing.
set -u
prog=${top_builddir:-.}/tests/ux/log-default
err=${TMPDIR:-/tmp}/prqd-log-default.$$
trap 'rm -f "$err"' EXIT
fail=0

env -u PRQDRAIN_LOG -u PRQDRAIN_BACKEND "$prog" 2>"$err" >/dev/null || { echo "FAIL: calls did not fail as expected"; fail=1; }
if [ -s "$err" ]; then
	echo "FAIL: silent by default, but stderr got:"; cat "$err"; fail=1
fi

env -u PRQDRAIN_BACKEND PRQDRAIN_LOG=debug "$prog" 2>"$err" >/dev/null || fail=1
for want in "prqdrain: err: .*no backend named 'no-such-backend'" \
	    "prqdrain: err: .*no backend found usable hardware" \
	    "prqdrain: debug: .*probe found nothing"; do
	if ! grep -q "$want" "$err"; then
		echo "FAIL: PRQDRAIN_LOG=debug: no line matching: $want"; cat "$err"; fail=1
	fi
done

env -u PRQDRAIN_BACKEND PRQDRAIN_LOG=err "$prog" 2>"$err" >/dev/null || fail=1
if grep -q "prqdrain: debug:" "$err"; then
	echo "FAIL: PRQDRAIN_LOG=err let debug lines through"; fail=1
fi
if ! grep -q "prqdrain: err: .*no backend named" "$err"; then
	echo "FAIL: PRQDRAIN_LOG=err: the error line is missing"; fail=1
fi
[ $fail = 0 ] && echo "PASS: logging through the platform's default sink"
exit $fail
