#!/bin/sh
# SPDX-License-Identifier: MIT
# `make fuzz`: build every fuzz target of tests/fuzz with clang's libFuzzer and the address
# and undefined-behaviour sanitizers, then run each for FUZZ_SECONDS, starting from its seed
# corpus (tests/fuzz/corpus/NAME, never written) and a work corpus in the build directory.
# Crashing inputs are kept as fuzz-work/crashes/NAME-*; add each to the seed corpus once its
# bug is fixed. Exit status: 0 when no target failed.
#
# Environment (set by the make rule): FUZZ_CC, FUZZ_SECONDS, FUZZ_CPPFLAGS, FUZZ_LIB_SOURCES
# (the library's sources, relative to srcdir), FUZZ_LIBS, FUZZ_TARGETS, srcdir.
set -u

cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
work=fuzz-work
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "make fuzz: the compiler '$cc' was not found. The fuzz targets need clang with" >&2
	echo "libFuzzer: on Debian, apt-get install clang (or set FUZZ_CC)." >&2
	exit 2
fi
mkdir -p "$work/obj" "$work/crashes" || exit 2
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
	>"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer $san "$work/probe.c" -o "$work/probe" >"$work/probe.log" 2>&1; then
	echo "make fuzz: '$cc' cannot build a libFuzzer program (-fsanitize=fuzzer):" >&2
	cat "$work/probe.log" >&2
	echo "Debian's clang package has libFuzzer; install it or set FUZZ_CC." >&2
	exit 2
fi

cflags="-g -O1 -fno-omit-frame-pointer $san $FUZZ_CPPFLAGS"
# The socket half of the uevent monitor needs libnl; the targets only parse.
case " $FUZZ_LIB_SOURCES " in
*" lib/linux/uevent-nosock.c "*) ;;
*) FUZZ_LIB_SOURCES="$FUZZ_LIB_SOURCES lib/linux/uevent-nosock.c" ;;
esac

echo "make fuzz: compiling the library with $cc"
# An object is rebuilt when its source or any header of the tree is newer: a changed
# structure must not leave objects of the old layout linked with new ones.
newest_header=$(ls -t "$srcdir"/include/*.h "$srcdir"/lib/*.h "$srcdir"/lib/linux/*.h \
	"$srcdir"/backends/*/*.h 2>/dev/null | head -n 1)
objs=
for src in $FUZZ_LIB_SOURCES; do
	case $src in *.c) ;; *) continue ;; esac
	obj="$work/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')"
	if [ ! -f "$obj" ] || [ "$srcdir/$src" -nt "$obj" ] ||
		{ [ -n "$newest_header" ] && [ "$newest_header" -nt "$obj" ]; }; then
		"$cc" $cflags -fsanitize=fuzzer-no-link -c "$srcdir/$src" -o "$obj" || exit 2
	fi
	objs="$objs $obj"
done

failed=
for t in $FUZZ_TARGETS; do
	bin="$work/fuzz-$t"
	"$cc" $cflags -fsanitize=fuzzer "$srcdir/tests/fuzz/fuzz-$t.c" $objs $FUZZ_LIBS -lpthread \
		-o "$bin" || exit 2
	mkdir -p "$work/corpus-$t"
	echo "make fuzz: $t for ${seconds}s"
	if "$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
		-artifact_prefix="$work/crashes/$t-" "$work/corpus-$t" "$srcdir/tests/fuzz/corpus/$t" \
		>"$work/$t.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
		echo "make fuzz: $t: no failure in ${runs:-?} runs"
	else
		echo "make fuzz: $t FAILED; log $work/$t.log; input:" >&2
		ls "$work/crashes/$t-"* 2>/dev/null >&2
		grep -m5 -E 'ERROR|property broken|runtime error' "$work/$t.log" >&2
		failed="$failed $t"
	fi
done
if [ -n "$failed" ]; then
	echo "make fuzz: failed:$failed" >&2
	exit 1
fi
echo "make fuzz: every target ran ${seconds}s without a failure"
