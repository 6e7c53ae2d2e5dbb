/* SPDX-License-Identifier: MIT */
/*
 * The main() of a fuzz target built without libFuzzer: it feeds every file it is given (or,
 * without arguments, every file of the target's seed corpus, tests/fuzz/corpus/NAME under
 * $top_srcdir) to LLVMFuzzerTestOneInput() once, so `make check` replays the corpus with any
 * compiler. A target reports a broken property by aborting, as under libFuzzer; an empty or
 * missing corpus fails too, so a replay cannot pass by testing nothing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

#ifndef FUZZ_TARGET_NAME
#error "FUZZ_TARGET_NAME names the target's corpus directory"
#endif

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = nb;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	/* An exact-size copy, so reading one byte past the input is caught by a sanitizer or
	 * valgrind here as it is under libFuzzer. */
	unsigned char *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replay every regular file of @dir in name order; returns the count or -1. */
static int replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name), count = 0;

	if (n < 0) {
		perror(dir);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];

		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (replay_file(path) < 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	char dir[4096];
	int total = 0;

	if (argc < 2) {
		const char *top = getenv("top_srcdir");
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".",
			 FUZZ_TARGET_NAME);
		total = replay_dir(dir);
	} else {
		for (int i = 1; i < argc && total >= 0; i++) {
			DIR *d = opendir(argv[i]);
			if (d) {
				closedir(d);
				int n = replay_dir(argv[i]);
				total = n < 0 ? -1 : total + n;
			} else {
				total = replay_file(argv[i]) < 0 ? -1 : total + 1;
			}
		}
	}
	if (total <= 0) {
		fprintf(stderr, "%s: %s\n", FUZZ_TARGET_NAME,
			total == 0 ? "no input replayed (empty corpus?)" : "an input could not be read");
		return 1;
	}
	printf("%s: %d inputs replayed\n%d passed, 0 failed\n", FUZZ_TARGET_NAME, total, total);
	return 0;
}
