#!/bin/sh
# SPDX-License-Identifier: MIT
# Instruction counts of bench/prqdrain-bench under callgrind (no PMU counter is needed):
#  - instr_per_req: the fast-path loop run for N and for 2N requests, (I(2N) - I(N)) / N, in
#    total and for the library's own files (lib/);
#  - locked_rmw_per_req: the same difference for the locked read-modify-write instructions
#    of the benchmark's binary (the library is linked into it): those objdump shows with a
#    lock prefix, and xchg with memory (locked without one), weighted by how often callgrind
#    saw each run;
#  - drain_instr_ratio_1m_vs_1: instructions of the same drains with a million other bonds
#    on the device, over those with none;
#  - bind_unbind_instr: instructions per bind + unbind (default flags: a full drain each).
# Prints one JSON object. Usage: callgrind.sh path/to/prqdrain-bench [N] [DRAIN_ROUNDS]
set -eu
bench=$1
n=${2:-200000}
rounds=${3:-200}
dir=$(mktemp -d "${TMPDIR:-/tmp}/prqd-callgrind.XXXXXX")
trap 'rm -rf "$dir"' EXIT

run() { # $1: name, rest: bench arguments
	name=$1
	shift
	valgrind --tool=callgrind --instr-atstart=no --dump-instr=yes --compress-pos=no \
		--compress-strings=no --callgrind-out-file="$dir/$name.%p" \
		"$bench" "$@" >/dev/null 2>"$dir/$name.log" || {
		cat "$dir/$name.log" >&2
		exit 1
	}
}

# Instructions of the dump labelled $2 in the files of run $1: all, or only lib/ files ($3).
count() {
	for f in "$dir/$1".*; do
		case $f in *.log) continue ;; esac
		grep -q "^desc: Trigger: Client Request: $2\$" "$f" || continue
		if [ "${3:-}" = lib ]; then
			# Inlined helpers of lib/*.h count as the library's too.
			callgrind_annotate --auto=no --threshold=100 "$f" 2>/dev/null |
				awk '$0 ~ /[ .\/]lib\/[^ \/]*\.[ch]:/ { gsub(",", "", $1); s += $1 }
				     END { print s + 0 }'
		else
			awk '/^totals:/ { print $2 }' "$f"
		fi
	done
}

# Executions of locked read-modify-write instructions of the benchmark's own binary in the
# dump labelled $2 of run $1. Callgrind names an instruction of a position-independent
# binary by its offset in the file, as objdump does.
locked() {
	objdump -d --no-show-raw-insn "$bench" |
		awk '$1 ~ /^[0-9a-f]+:$/ && ($2 == "lock" || ($2 ~ /^xchg/ && $0 ~ /\(/)) {
			sub(":", "", $1); print "0x" $1 }' >"$dir/locked.addr"
	for f in "$dir/$1".*; do
		case $f in *.log | *.addr) continue ;; esac
		grep -q "^desc: Trigger: Client Request: $2\$" "$f" || continue
		awk -v bin="$(basename "$bench")" 'NR == FNR { locked[$1] = 1; next }
			/^ob=/ { n = split($0, part, "/"); in_bin = part[n] == bin; next }
			/^calls=/ { skip = 1; next }
			/^0x/ { if (!skip && in_bin && ($1 in locked)) s += $NF; skip = 0; next }
			{ skip = 0 }
			END { print s + 0 }' "$dir/locked.addr" "$f"
	done
}

run fp1 --callgrind-fastpath "$n"
run fp2 --callgrind-fastpath $((2 * n))
run drain --callgrind-drain "$rounds"
binds=20000
run bind --callgrind-bind "$binds"

awk -v a="$(count fp1 fastpath)" -v b="$(count fp2 fastpath)" \
    -v ka="$(locked fp1 fastpath)" -v kb="$(locked fp2 fastpath)" \
    -v la="$(count fp1 fastpath lib)" -v lb="$(count fp2 fastpath lib)" \
    -v d1="$(count drain drain-1)" -v dm="$(count drain drain-1m)" -v n="$n" \
    -v bu="$(count bind bind-unbind)" -v nb="$binds" 'BEGIN {
	printf "{\"instr_per_req\": %.1f, \"instr_per_req_lib\": %.1f, ", (b - a) / n, (lb - la) / n
	printf "\"locked_rmw_per_req\": %.2f, ", (kb - ka) / n
	printf "\"drain_instr_ratio_1m_vs_1\": %.3f, ", dm / d1
	printf "\"bind_unbind_instr\": %.0f}\n", bu / nb
}'
