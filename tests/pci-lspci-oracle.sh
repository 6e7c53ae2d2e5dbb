#!/bin/sh
# SPDX-License-Identifier: MIT
# pci-lspci-oracle.sh: lspri against Debian's lspci, the independent oracle.
#
# For every dump (the shared fixtures of real devices, the synthetic ones of tests/data/pci,
# and the live system), both tools' outputs are reduced to lines "SLOT CAP.FIELD=VALUE"
# (whitespace, commas and lspci's wording normalised away) and compared:
#  - every field lspci prints must be in lspri's output with the same value, and lspri must
#    not report a capability or field lspci's vocabulary has that lspci did not print;
#  - the fields lspci 3.9 does not print (ATS Page Aligned and Global Invalidate, PRI's PRG
#    Response PASID Required) are checked against the raw bytes of the dump, decoded here in
#    awk, independently of libpci;
#  - the lspci -vvv text stored in the fixtures (from the lspci that captured them) is a
#    second oracle for the fields it prints.
# A comparison that cannot fail proves nothing, so each field of lspri's output is then
# altered in turn and the comparison must report it.
# Exit 77 (skip) without lspci.

set -u
: "${srcdir:=.}"
: "${top_srcdir:=$srcdir}"
: "${top_builddir:=.}"
LSPRI=${LSPRI:-$top_builddir/lspri}
DATA=$srcdir/tests/data/pci
FIXTURES=${PRQD_PCI_FIXTURES:-$top_srcdir/../shared/fixtures/pci}

command -v lspci >/dev/null 2>&1 || { echo "SKIP: no lspci"; exit 77; }
[ -x "$LSPRI" ] || { echo "FAIL: $LSPRI not built"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pci-oracle.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
checked=0

# lspci -vvv text -> "slot cap.field=value". Only the three capabilities are kept.
norm_lspci() {
	awk '
	function emit(k, v) { if (cap != "") print slot, cap "." k "=" v }
	# Flags ("Enable+") and "Name: value" pairs of one line, after the "XXXCap:" label.
	function fields(line, names,    n, t, i, name, m) {
		gsub(/,/, " ", line)
		n = split(line, t, /[ \t]+/)
		for (i = 1; i <= n; i++) {
			if (t[i] ~ /^[A-Za-z]+[+-]$/) {
				name = substr(t[i], 1, length(t[i]) - 1)
				if (name in names) emit(names[name], substr(t[i], length(t[i])))
			}
		}
	}
	/^[0-9a-f]/ {
		slot = $1; sub(/^0000:/, "", slot); cap = ""; next
	}
	/^\tCapabilities: \[/ {
		cap = ""
		if ($0 ~ /\(ATS\)$/) cap = "ats"
		else if ($0 ~ /\(PASID\)$/) cap = "pasid"
		else if ($0 ~ /\(PRI\)$/) cap = "pri"
		if (cap != "") {
			off = $2; sub(/^\[/, "", off)
			ver = $3; sub(/^v/, "", ver); sub(/\]$/, "", ver)
			emit("offset", off); emit("version", ver)
		}
		next
	}
	/^\t[^\t]/ { cap = ""; next }
	cap == "ats" && /ATSCap:/ { match($0, /Depth: [0-9a-f]+/); emit("iqd", substr($0, RSTART + 7, RLENGTH - 7)) }
	cap == "ats" && /ATSCtl:/ {
		delete nm; nm["Enable"] = "enable"; fields($0, nm)
		match($0, /Unit: [0-9a-f]+/); emit("stu", substr($0, RSTART + 6, RLENGTH - 6))
	}
	cap == "pasid" && /PASIDCap:/ {
		delete nm; nm["Exec"] = "exec"; nm["Priv"] = "priv"; fields($0, nm)
		match($0, /Width: [0-9a-f]+/); emit("width", substr($0, RSTART + 7, RLENGTH - 7))
	}
	cap == "pasid" && /PASIDCtl:/ {
		delete nm; nm["Enable"] = "enable"; nm["Exec"] = "exec_enable"; nm["Priv"] = "priv_enable"
		fields($0, nm)
	}
	cap == "pri" && /PRICtl:/ { delete nm; nm["Enable"] = "enable"; nm["Reset"] = "reset"; fields($0, nm) }
	cap == "pri" && /PRISta:/ {
		delete nm; nm["RF"] = "rf"; nm["UPRGI"] = "uprgi"; nm["Stopped"] = "stopped"; nm["PASID"] = "pasid"
		fields($0, nm)
	}
	cap == "pri" && /Page Request Capacity:/ {
		match($0, /Capacity: [0-9a-f]+/); emit("capacity", substr($0, RSTART + 10, RLENGTH - 10))
		match($0, /Allocation: [0-9a-f]+/); emit("alloc", substr($0, RSTART + 12, RLENGTH - 12))
	}
	' | sort
}

# lspri's text -> the same form.
norm_lspri() {
	awk '
	/^[0-9a-f]/ { slot = $1; next }
	/^\t(ATS|PASID|PRI) \[/ {
		cap = tolower($1)
		off = $2; sub(/^\[/, "", off)
		ver = $3; sub(/^v/, "", ver); sub(/\]:$/, "", ver)
		print slot, cap ".offset=" off
		print slot, cap ".version=" ver
		map["ats", "Enable"] = "enable"; map["ats", "InvQueueDepth"] = "iqd"; map["ats", "STU"] = "stu"
		map["ats", "PageAligned"] = "pa"; map["ats", "GlobalInvalidate"] = "gi"
		map["pasid", "Exec"] = "exec"; map["pasid", "Priv"] = "priv"; map["pasid", "MaxWidth"] = "width"
		map["pasid", "Enable"] = "enable"; map["pasid", "ExecEnable"] = "exec_enable"
		map["pasid", "PrivEnable"] = "priv_enable"
		map["pri", "Enable"] = "enable"; map["pri", "Reset"] = "reset"; map["pri", "RF"] = "rf"
		map["pri", "UPRGI"] = "uprgi"; map["pri", "Stopped"] = "stopped"; map["pri", "PASID"] = "pasid"
		map["pri", "Capacity"] = "capacity"; map["pri", "Allocation"] = "alloc"
		for (i = 4; i <= NF; i++) {
			t = $i
			if (t ~ /^[A-Za-z]+[+-]$/) {
				name = substr(t, 1, length(t) - 1); val = substr(t, length(t))
			} else if (t ~ /^[A-Za-z]+:$/ && i < NF) {
				name = substr(t, 1, length(t) - 1); val = $(i + 1); i++
			} else {
				continue
			}
			if ((cap, name) in map) print slot, cap "." map[cap, name] "=" val
			else print slot, cap ".UNKNOWN-" name "=" val
		}
	}
	' | sort
}

# The raw bytes of a dump -> every field, decoded here from the hex lines (not through libpci)
# at the offsets lspri found (those offsets are themselves checked against lspci). This is the
# only oracle for the fields lspci 3.9 does not print: ATS Page Aligned and Global Invalidate,
# PRI's PRG Response PASID Required.
raw_fields() { # dump normalised-lspri
	awk -v want="$2" '
	function hex(s,    i, c, v) {
		v = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		return v
	}
	function bit(v, b) { return int(v / b) % 2 ? "+" : "-" }
	function b(s, o) { return byte[s, o] + 0 }
	function out(s, k, v) { print s, k "=" v }
	BEGIN {
		while ((getline line < want) > 0) {
			split(line, w, " ")
			if (w[2] ~ /\.offset=/) { split(w[2], kv, "="); sub(/\.offset/, "", kv[1]); off[w[1], kv[1]] = hex(kv[2]) }
		}
	}
	{ sub(/\r$/, "") }
	/^([0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]?:)?[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]\.[0-7] / {
		slot = $1; sub(/^0000:/, "", slot); dev = 1; next
	}
	/^$/ { dev = 0; next }
	dev && /^[0-9a-f][0-9a-f]+: / {
		base = hex(substr($1, 1, length($1) - 1))
		for (i = 2; i <= NF; i++) byte[slot, base + i - 2] = hex($i)
	}
	END {
		for (k in off) {
			split(k, sk, SUBSEP); s = sk[1]; c = sk[2]; o = off[k]
			out(s, c ".offset", sprintf("%03x", o))
			out(s, c ".version", b(s, o + 2) % 16)
			if (c == "ats") {
				out(s, "ats.iqd", sprintf("%02x", b(s, o + 4) % 32))
				out(s, "ats.pa", bit(b(s, o + 4), 32))
				out(s, "ats.gi", bit(b(s, o + 4), 64))
				out(s, "ats.stu", sprintf("%02x", b(s, o + 6) % 32))
				out(s, "ats.enable", bit(b(s, o + 7), 128))
			} else if (c == "pasid") {
				out(s, "pasid.exec", bit(b(s, o + 4), 2))
				out(s, "pasid.priv", bit(b(s, o + 4), 4))
				out(s, "pasid.width", sprintf("%02x", b(s, o + 5) % 32))
				out(s, "pasid.enable", bit(b(s, o + 6), 1))
				out(s, "pasid.exec_enable", bit(b(s, o + 6), 2))
				out(s, "pasid.priv_enable", bit(b(s, o + 6), 4))
			} else if (c == "pri") {
				out(s, "pri.enable", bit(b(s, o + 4), 1))
				out(s, "pri.reset", bit(b(s, o + 4), 2))
				out(s, "pri.rf", bit(b(s, o + 6), 1))
				out(s, "pri.uprgi", bit(b(s, o + 6), 2))
				out(s, "pri.stopped", bit(b(s, o + 7), 1))
				out(s, "pri.pasid", bit(b(s, o + 7), 128))
				# Two 16-bit halves: awk printf %x may not take 32-bit values.
				out(s, "pri.capacity", sprintf("%04x%04x", b(s, o + 11) * 256 + b(s, o + 10), b(s, o + 9) * 256 + b(s, o + 8)))
				out(s, "pri.alloc", sprintf("%04x%04x", b(s, o + 15) * 256 + b(s, o + 14), b(s, o + 13) * 256 + b(s, o + 12)))
			}
		}
	}
	' "$1" | sort
}

# compare ORACLE LSPRI [what]: 0 when every oracle line is in LSPRI and LSPRI has no
# capability field of the oracle's vocabulary that the oracle lacks.
compare() {
	missing=$(comm -23 "$1" "$2")
	# Keys (slot cap.field) the oracle knows about; lspri lines with such a key must agree.
	sed 's/=.*//' "$1" | sort -u > "$tmp/keys"
	awk 'NR == FNR { k[$0] = 1; next } { split($0, a, "="); if (a[1] in k) print }' \
		"$tmp/keys" "$2" | sort > "$tmp/restricted"
	# A capability the oracle did not print at all, for a slot: extra.
	extra=$(awk 'NR == FNR { split($2, a, "."); c[$1 " " a[1]] = 1; next }
		{ split($2, a, "."); if (!(($1 " " a[1]) in c)) print }' "$1" "$2")
	extra="$extra$(comm -13 "$1" "$tmp/restricted")"
	if [ -n "$missing" ] || [ -n "$extra" ]; then
		[ -n "${3:-}" ] || return 1
		echo "FAIL: $3"
		[ -z "$missing" ] || printf '  %s: expected, lspri differs or lacks it:\n%s\n' "$3" "$missing" | sed 's/^/    /'
		[ -z "$extra" ] || printf '  %s: lspri says, oracle does not:\n%s\n' "$3" "$extra" | sed 's/^/    /'
		return 1
	fi
	return 0
}

# Alter each line of $2 in turn: compare() against $1 must fail every time.
mutations() { # oracle lspri what
	n=$(wc -l < "$2")
	i=1
	caught=0
	while [ "$i" -le "$n" ]; do
		awk -v i="$i" 'NR == i {
			if ($0 ~ /[+]$/) sub(/[+]$/, "-"); else if ($0 ~ /-$/) sub(/-$/, "+"); else $0 = $0 "0"
		} { print }' "$2" | sort > "$tmp/mutant"
		line=$(sed -n "${i}p" "$2")
		# Only lines the oracle speaks about can be caught by it.
		if awk -v l="$line" 'BEGIN { sub(/=.*/, "", l) } { k = $0; sub(/=.*/, "", k) }
				k == l { found = 1 } END { exit !found }' "$1"; then
			if compare "$1" "$tmp/mutant"; then
				echo "FAIL: $3: altering '$line' goes unnoticed"
				fail=1
			else
				caught=$((caught + 1))
			fi
		fi
		i=$((i + 1))
	done
	# Dropping a whole capability must be noticed too.
	first=$(head -n 1 "$1" | awk '{ split($2, a, "."); print $1 " " a[1] }')
	if [ -n "$first" ]; then
		awk -v c="$first" '{ split($2, a, "."); if ($1 " " a[1] != c) print }' "$2" > "$tmp/mutant"
		if compare "$1" "$tmp/mutant"; then
			echo "FAIL: $3: dropping $first goes unnoticed"
			fail=1
		fi
	fi
	echo "  $3: $caught altered fields caught"
}

# check FILE NAME: lspci and the raw bytes against lspri for one dump ("" FILE: live system).
check() {
	file=$1 name=$2
	if [ -n "$file" ]; then
		lspci -F "$file" -vvv 2>/dev/null | norm_lspci > "$tmp/lspci" || true
		"$LSPRI" -F "$file" > "$tmp/lspri.txt"; rc=$?
	else
		lspci -vvv 2>/dev/null | norm_lspci > "$tmp/lspci" || true
		"$LSPRI" > "$tmp/lspri.txt"; rc=$?
	fi
	if [ "$rc" != 0 ]; then
		echo "FAIL: $name: lspri exited $rc"
		fail=1
		return
	fi
	norm_lspri < "$tmp/lspri.txt" > "$tmp/lspri"
	if grep -q UNKNOWN "$tmp/lspri"; then
		echo "FAIL: $name: lspri printed a field this script does not know:"
		grep UNKNOWN "$tmp/lspri"
		fail=1
	fi
	compare "$tmp/lspci" "$tmp/lspri" "$name vs lspci -vvv" || fail=1
	mutations "$tmp/lspci" "$tmp/lspri" "$name vs lspci -vvv"
	nf=$(wc -l < "$tmp/lspci")
	checked=$((checked + nf))
	echo "  $name: $nf fields equal to lspci's over $(cut -d' ' -f1 "$tmp/lspci" | sort -u | wc -l) devices"
	if [ -n "$file" ]; then
		raw_fields "$file" "$tmp/lspri" > "$tmp/raw"
		compare "$tmp/raw" "$tmp/lspri" "$name vs raw bytes" || fail=1
		mutations "$tmp/raw" "$tmp/lspri" "$name vs raw bytes"
		# Text stored in the dump by the lspci that made it (fixtures only).
		norm_lspci < "$file" > "$tmp/stored"
		if [ -s "$tmp/stored" ]; then
			compare "$tmp/stored" "$tmp/lspri" "$name vs its stored lspci text" || fail=1
			echo "  $name: $(wc -l < "$tmp/stored") fields equal to the stored lspci text"
		fi
	fi
}

for f in "$FIXTURES"/*.lspci; do
	[ -f "$f" ] || { echo "note: no shared fixtures under $FIXTURES"; break; }
	check "$f" "$(basename "$f")"
done
check "$DATA/edge.dump" edge.dump
check "$DATA/garbage.dump" garbage.dump
check "" "live system"

# -s selects like lspci -s.
"$LSPRI" -F "$DATA/edge.dump" -s 00:03 | norm_lspri > "$tmp/lspri"
lspci -F "$DATA/edge.dump" -s 00:03 -vvv 2>/dev/null | norm_lspci > "$tmp/lspci"
compare "$tmp/lspci" "$tmp/lspri" "-s 00:03" || fail=1
[ "$(cut -d' ' -f1 "$tmp/lspri" | sort -u)" = "00:03.0" ] || { echo "FAIL: -s 00:03 listed other slots"; fail=1; }

# Broken dumps: an error naming the file and line, never a silent exit or a crash (the file is
# checked before libpci reads it: libpci's own reader crashes on huge-offset.dump).
for bad in malformed:"malformed hex line" unterminated:unterminated long-line:"too long" \
	huge-offset:"offset past 4095"; do
	f=${bad%%:*} msg=${bad#*:}
	"$LSPRI" -F "$DATA/$f.dump" > "$tmp/out" 2> "$tmp/err"; rc=$?
	if [ "$rc" != 1 ] || ! grep -q "$f.dump:[0-9]*: malformed dump: .*$msg" "$tmp/err"; then
		echo "FAIL: $f.dump: exit $rc, stderr: $(cat "$tmp/err")"
		fail=1
	fi
done
"$LSPRI" -F "$DATA/truncated-cap.dump" > "$tmp/out" 2> "$tmp/err"; rc=$?
if [ "$rc" != 1 ] || ! grep -q "truncated" "$tmp/err"; then
	echo "FAIL: truncated-cap.dump: exit $rc, stderr: $(cat "$tmp/err")"
	fail=1
fi

# Unprivileged on the live system: sysfs hides extended space, and lspri says so.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
   setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$LSPRI" > "$tmp/out" 2> "$tmp/err"; rc=$?
	if [ "$rc" != 0 ] || ! grep -q "not root" "$tmp/err"; then
		echo "FAIL: lspri as nobody: exit $rc, stderr: $(cat "$tmp/err")"
		fail=1
	fi
fi

# Verdicts of the edge cases.
verdict() { # slot expected-substring
	v=$("$LSPRI" -F "$DATA/edge.dump" -s "$1" | grep Verdict)
	case $v in
	*"$2"*) ;;
	*) echo "FAIL: verdict of $1: '$v' lacks '$2'"; fail=1 ;;
	esac
}
verdict 00:03.0 "yes, but Response Failure set"
verdict 00:04.0 "state: enabled"
verdict 00:05.0 "usable for drain: no: capacity 0"
verdict 00:06.0 "responses need a PASID but PASID is not enabled"
verdict 00:07.0 "32 exceeds capacity 16"
verdict 00:0b.0 "state: stopping"
verdict 00:09.0 "no: no PRI capability"

# --json carries the same values as the text (when python3 can parse it).
if command -v python3 >/dev/null 2>&1 && python3 -c 'import json' 2>/dev/null; then
	"$LSPRI" -F "$DATA/edge.dump" --json > "$tmp/json"
	python3 - "$tmp/json" > "$tmp/fromjson" <<'PY' || { echo "FAIL: --json output"; fail=1; }
import json, sys
names = {"ats": [("enable", "enable"), ("inv_queue_depth_field", "iqd"), ("stu", "stu"),
                 ("page_aligned", "pa"), ("global_invalidate", "gi")],
         "pasid": [("exec_supported", "exec"), ("priv_supported", "priv"), ("max_width", "width"),
                   ("enable", "enable"), ("exec_enable", "exec_enable"),
                   ("priv_enable", "priv_enable")],
         "pri": [("enable", "enable"), ("reset", "reset"), ("response_failure", "rf"),
                 ("unexpected_prg_index", "uprgi"), ("stopped", "stopped"),
                 ("prg_resp_pasid_required", "pasid"), ("capacity", "capacity"),
                 ("allocation", "alloc")]}
width = {"capacity": "%08x", "alloc": "%08x"}
for d in json.load(open(sys.argv[1])):
    for cap, fields in names.items():
        c = d[cap]
        if c is None:
            continue
        print(d["slot"], "%s.offset=%03x" % (cap, c["offset"]))
        print(d["slot"], "%s.version=%u" % (cap, c["version"]))
        for key, short in fields:
            v = c[key]
            v = ("+" if v else "-") if isinstance(v, bool) else width.get(short, "%02x") % v
            print(d["slot"], "%s.%s=%s" % (cap, short, v))
PY
	sort -o "$tmp/fromjson" "$tmp/fromjson"
	"$LSPRI" -F "$DATA/edge.dump" | norm_lspri > "$tmp/lspri"
	if ! cmp -s "$tmp/fromjson" "$tmp/lspri"; then
		echo "FAIL: --json and text differ:"
		diff "$tmp/fromjson" "$tmp/lspri" | head -20
		fail=1
	fi
else
	echo "note: no python3, --json not compared"
fi

echo "$checked fields compared with lspci"
[ "$checked" -gt 100 ] || { echo "FAIL: too few fields compared ($checked)"; fail=1; }
exit $fail
