#!/bin/sh
# SPDX-License-Identifier: MIT
# exports.sh: libprqdrain.so exports exactly the functions lib/libprqdrain.sym names, and
# libprqdrain-sim.so (when built) exactly those of backends/sim/libprqdrain-sim.sym. The
# libraries are compiled with -fvisibility=hidden, so a name a symbol file lists whose
# definition lacks its export attribute is missing here, and an exported function the file
# does not list must not leak either. Then: libprqdrain.so holds no simulator code (no
# symbol, local ones included, of the world, its models, the checker, the "sim" backend,
# scenarios, workloads or the uevent bench). Skipped (77) in a build without the shared
# library or nm. Environment: top_srcdir, top_builddir.

top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
NM=${NM:-nm}

so=$(ls "$top_builddir"/lib/.libs/libprqdrain.so.* 2>/dev/null | head -n 1)
[ -n "$so" ] || { echo "exports.sh: no shared libprqdrain built, skipping"; exit 77; }
command -v "$NM" >/dev/null 2>&1 || { echo "exports.sh: no $NM, skipping"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/prqd-exports.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# compare SO SYMFILE: the defined dynamic symbols of SO (without version suffixes and version
# nodes) against the names "name;" inside SYMFILE's nodes.
compare() {
	$NM -D --defined-only "$1" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u \
		>"$tmp/exported"
	sed -e 's|/\*.*\*/||' "$2" |
		awk '/^[ \t]*[A-Za-z_][A-Za-z0-9_]*;[ \t]*$/ { sub(/;.*/, ""); print $1 }' |
		sort -u >"$tmp/listed"
	[ -s "$tmp/listed" ] || { echo "FAIL: no names read from $2"; return 1; }
	if ! cmp -s "$tmp/exported" "$tmp/listed"; then
		echo "FAIL: $1 exports differ from $2 (< exported only, > listed only):"
		diff "$tmp/exported" "$tmp/listed" | grep '^[<>]'
		return 1
	fi
	echo "exports: $(basename "$1"): $(wc -l <"$tmp/exported") functions, exactly those of $2"
}

fail=0
compare "$so" "$top_srcdir/lib/libprqdrain.sym" || fail=1

# Every symbol of libprqdrain.so, local ones included (the build keeps its symbol table): the
# simulator's names start with sim_, scn_ or uevent_sim_, its backend is prqd_backend_sim.
$NM "$so" | awk '{ print $NF }' | grep -E '^(sim_|scn_|uevent_sim|prqd_backend_sim$)' \
	>"$tmp/sim-in-core"
if [ -s "$tmp/sim-in-core" ]; then
	echo "FAIL: $so holds simulator code:"
	head -n 20 "$tmp/sim-in-core"
	fail=1
elif ! $NM "$so" | grep -q ' prqd_ctx_new$'; then
	echo "FAIL: $NM shows no symbol table of $so: its simulator check would prove nothing"
	fail=1
else
	echo "exports: $(basename "$so"): no simulator symbol among $($NM "$so" | wc -l) symbols"
fi

sim_so=$(ls "$top_builddir"/backends/sim/.libs/libprqdrain-sim.so.* 2>/dev/null | head -n 1)
if [ -n "$sim_so" ]; then
	compare "$sim_so" "$top_srcdir/backends/sim/libprqdrain-sim.sym" || fail=1
	# The other way round: the simulator library carries the models it is made of.
	$NM "$sim_so" | awk '{ print $NF }' | grep -q '^sim_world_new$' ||
		{ echo "FAIL: $sim_so has no sim_world_new: the check above looked at the wrong file"; fail=1; }
else
	echo "exports: no libprqdrain-sim built (configure --disable-backend-sim)"
fi
exit $fail
