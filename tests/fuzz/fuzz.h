/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target of tests/fuzz provides, and how it reports a broken property.
 * Built with clang -fsanitize=fuzzer (make fuzz) libFuzzer calls the entry point; built with
 * fuzz-replay.c (make check) the replay program calls it once per corpus file.
 */
#ifndef PRQD_TESTS_FUZZ_H
#define PRQD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property that must hold on every input: abort (libFuzzer keeps the input as a crash). */
#define FUZZ_REQUIRE(cond, ...)                                                               \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__,   \
				#cond);                                                       \
			fprintf(stderr, __VA_ARGS__);                                         \
			fputc('\n', stderr);                                                  \
			abort();                                                              \
		}                                                                             \
	} while (0)

#endif /* PRQD_TESTS_FUZZ_H */
