/* SPDX-License-Identifier: MIT */
/*
 * explore: random exploration of the whole parameter space under the simulator's checker.
 *
 * Run k (k = first, first+1, ...) is the explored workload of seed k (scn_workload.explore:
 * the seed picks the sizes, the injected faults, the library and model parameters and each
 * teardown's way) on backend number k modulo the number of backends the library lists.
 * Every run must pass: no checker violation and every operation returning one of the results
 * its configuration allows. The runs are shared among --jobs processes.
 *
 *   explore [--runs N] [--first K] [--jobs J] [--quiet]
 *
 * Defaults: N from $PRQD_EXPLORE_RUNS or 4000, K = 1, J = the number of CPUs. It prints what
 * the runs exercised and a last line `runs: N, violations: V, unexpected results: U`; on a
 * failure also the first failing run as a command that replays it. Exit status 0 when every
 * run passed, 1 otherwise, 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/sim/scenario.h"
#include "backends/sim/sim.h"
#include "lib/backend.h"

#define MAX_BACKENDS 16
#define MAX_JOBS 64

/* What one job found; sent to the parent through a pipe. */
struct tally {
	uint64_t runs, violations, unexpected;
	uint64_t first_failure; /* run number, UINT64_MAX if none */
	/* What the runs exercised, so a sweep that stopped reaching something shows it. */
	uint64_t requests, drains, drain_repeats, overflows, forced, stale_groups, stale_requests;
	uint64_t quarantines_refused; /* binds a quarantine refused (run expectations held) */
};

/* Every backend a simulated world lists: each runs on it (opening a register-level backend
 * puts the world's model of its hardware behind the register window). */
static unsigned backend_count(const char **names)
{
	unsigned n = sim_backend_names(names, NULL, MAX_BACKENDS);
	return n < MAX_BACKENDS ? n : MAX_BACKENDS;
}

/* One run: 1 passed, 0 failed, -1 could not run (counted as failed). */
static int run_one(uint64_t k, const char *backend, struct scn_result *res)
{
	struct scn_workload w;
	scn_workload_default(&w);
	w.seed = k;
	w.explore = true;
	struct scn *s;
	int rc = scn_generate(&w, &s);
	if (rc < 0) {
		snprintf(res->error, sizeof(res->error), "scn_generate: %s", strerror(-rc));
		return -1;
	}
	struct scn_run_opts opts = { .backend = backend };
	rc = scn_run(s, &opts, res);
	scn_free(s);
	if (rc < 0)
		return -1;
	return scn_result_passed(res) ? 1 : 0;
}

static void add_exercised(struct tally *t, const struct scn_result *res)
{
	t->requests += res->stats.requests;
	t->drains += res->stats.drains;
	t->drain_repeats += res->stats.drain_repeats;
	t->overflows += res->stats.overflows;
	t->forced += res->finish.forced;
	t->stale_groups += res->stats.stale_groups;
	t->stale_requests += res->stats.stale_requests;
}

static void run_job(unsigned job, unsigned jobs, uint64_t first, uint64_t runs,
		    const char **backends, unsigned nb, bool quiet, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	t->first_failure = UINT64_MAX;
	uint64_t mine = runs / jobs + (job < runs % jobs), done = 0, step = mine / 10;
	for (uint64_t i = job; i < runs; i += jobs) {
		uint64_t k = first + i;
		const char *backend = backends[k % nb];
		struct scn_result res;
		int ok = run_one(k, backend, &res);
		t->runs++;
		if (ok < 0) {
			t->unexpected++;
		} else {
			t->violations += res.violations;
			if (!ok && res.violations == 0)
				t->unexpected++;
			add_exercised(t, &res);
		}
		if (ok != 1 && k < t->first_failure)
			t->first_failure = k;
		if (ok != 1 && !quiet && t->violations + t->unexpected <= 3) {
			fprintf(stderr, "explore: run %" PRIu64 " failed on %s:\n", k, backend);
			if (ok < 0)
				fprintf(stderr, "  %s\n", res.error);
			else
				scn_result_print(stderr, &res);
		}
		done++;
		if (job == 0 && !quiet && step && done % step == 0)
			fprintf(stderr, "explore: %" PRIu64 "%% of job 0's %" PRIu64 " runs\n",
				done * 100 / mine, mine);
	}
}

static int parse_u64(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "explore: %s: expected a number from %" PRIu64 " to %" PRIu64
				", got `%s`\n",
			what, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void sum(struct tally *into, const struct tally *t)
{
	into->runs += t->runs;
	into->violations += t->violations;
	into->unexpected += t->unexpected;
	if (t->first_failure < into->first_failure)
		into->first_failure = t->first_failure;
	into->requests += t->requests;
	into->drains += t->drains;
	into->drain_repeats += t->drain_repeats;
	into->overflows += t->overflows;
	into->forced += t->forced;
	into->stale_groups += t->stale_groups;
	into->stale_requests += t->stale_requests;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'n' }, { "first", required_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 },
	};
	const char *env = getenv("PRQD_EXPLORE_RUNS");
	uint64_t runs = 4000, first = 1, jobs;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	jobs = cpus > 0 ? (uint64_t)cpus : 1;
	bool quiet = false;
	if (env && *env && parse_u64("PRQD_EXPLORE_RUNS", env, 1, UINT64_MAX / 2, &runs))
		return 2;
	for (int c; (c = getopt_long(argc, argv, "n:f:j:qh", opts, NULL)) != -1;) {
		switch (c) {
		case 'n':
			if (parse_u64("--runs", optarg, 1, UINT64_MAX / 2, &runs))
				return 2;
			break;
		case 'f':
			if (parse_u64("--first", optarg, 0, UINT64_MAX / 2, &first))
				return 2;
			break;
		case 'j':
			if (parse_u64("--jobs", optarg, 1, MAX_JOBS, &jobs))
				return 2;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			printf("usage: explore [--runs N] [--first K] [--jobs J] [--quiet]\n");
			return 0;
		default:
			fprintf(stderr, "explore: try `explore --help'\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "explore: unexpected argument `%s`\n", argv[optind]);
		return 2;
	}
	if (jobs > runs)
		jobs = runs;

	const char *backends[MAX_BACKENDS];
	unsigned nb = backend_count(backends);
	if (nb == 0) {
		fprintf(stderr, "explore: the library lists no backend\n");
		return 1;
	}

	int fds[MAX_JOBS];
	pid_t pids[MAX_JOBS];
	for (unsigned j = 0; j < jobs; j++) {
		int p[2];
		if (pipe(p) < 0 || (pids[j] = fork()) < 0) {
			perror("explore: pipe/fork");
			return 1;
		}
		if (pids[j] == 0) {
			close(p[0]);
			struct tally t;
			run_job(j, (unsigned)jobs, first, runs, backends, nb, quiet, &t);
			ssize_t w = write(p[1], &t, sizeof(t));
			_exit(w == (ssize_t)sizeof(t) ? 0 : 1);
		}
		close(p[1]);
		fds[j] = p[0];
	}

	struct tally total = { .first_failure = UINT64_MAX };
	bool lost = false;
	for (unsigned j = 0; j < jobs; j++) {
		struct tally t;
		ssize_t got = read(fds[j], &t, sizeof(t));
		int status = 0;
		waitpid(pids[j], &status, 0);
		close(fds[j]);
		if (got != (ssize_t)sizeof(t) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "explore: job %u died (status 0x%x)\n", j, (unsigned)status);
			lost = true;
			continue;
		}
		sum(&total, &t);
	}

	printf("backends:");
	for (unsigned i = 0; i < nb; i++)
		printf(" %s", backends[i]);
	printf("; runs %" PRIu64 "..%" PRIu64 " on %" PRIu64 " jobs\n", first, first + runs - 1,
	       jobs);
	printf("exercised: %" PRIu64 " requests, %" PRIu64 " drains (%" PRIu64
	       " repeated after overflow), %" PRIu64 " overflows, %" PRIu64
	       " forced unbinds at the end, %" PRIu64 " stale groups, %" PRIu64
	       " stale requests\n",
	       total.requests, total.drains, total.drain_repeats, total.overflows, total.forced,
	       total.stale_groups, total.stale_requests);
	if (total.first_failure != UINT64_MAX)
		printf("first failing run: prqdrain-sim --backend %s --explore --seed %" PRIu64 "\n",
		       backends[total.first_failure % nb], total.first_failure);
	printf("runs: %" PRIu64 ", violations: %" PRIu64 ", unexpected results: %" PRIu64 "\n",
	       total.runs, total.violations, total.unexpected);
	return lost || total.violations || total.unexpected || total.runs != runs ? 1 : 0;
}
