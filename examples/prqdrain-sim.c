/* SPDX-License-Identifier: MIT */
/*
 * prqdrain-sim: run a scenario file, or a random workload, against libprqdrain on the
 * simulator, with the invariant checker watching, and print what happened.
 *
 * Exit status: 0 when the checker found no violation and every expectation held, 1
 * otherwise, 2 for a usage error or a scenario that cannot be read or set up. The summary
 * on stdout depends only on the scenario and the seed (simulated time, no wall clock), so
 * two runs with one seed print the same bytes.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backends/sim/scenario.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1"
#endif

/* Run when no scenario and no workload is given: installed with the examples, or in the
 * source tree of a build not installed yet. */
#ifndef PRQD_PKGDATADIR
#define PRQD_PKGDATADIR "/usr/local/share/prqdrain"
#endif
#define DEFAULT_SCENARIO PRQD_PKGDATADIR "/scenarios/default.scn"

static const char *default_scenario(void)
{
	if (access(DEFAULT_SCENARIO, R_OK) == 0)
		return DEFAULT_SCENARIO;
#ifdef PRQD_SRCDIR
	if (access(PRQD_SRCDIR "/examples/scenarios/default.scn", R_OK) == 0)
		return PRQD_SRCDIR "/examples/scenarios/default.scn";
#endif
	return NULL;
}

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Random workloads at least this big get a progress bar (on a terminal). */
#define PROGRESS_MIN_REQUESTS 20000u

enum {
	OPT_DEVICES = 256,
	OPT_PASIDS,
	OPT_REQUESTS,
	OPT_TEARDOWN_RATE,
	OPT_OVERFLOW,
	OPT_INJECT,
	OPT_DUMP,
	OPT_EXPLORE,
	OPT_PROGRESS,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "backend", required_argument, NULL, 'b' },
	{ "param", required_argument, NULL, 'p' },
	{ "trace", required_argument, NULL, 't' },
	{ "seed", required_argument, NULL, 's' },
	{ "random", no_argument, NULL, 'r' },
	{ "devices", required_argument, NULL, OPT_DEVICES },
	{ "pasids", required_argument, NULL, OPT_PASIDS },
	{ "requests", required_argument, NULL, OPT_REQUESTS },
	{ "teardown-rate", required_argument, NULL, OPT_TEARDOWN_RATE },
	{ "overflow", no_argument, NULL, OPT_OVERFLOW },
	{ "inject", required_argument, NULL, OPT_INJECT },
	{ "dump", required_argument, NULL, OPT_DUMP },
	{ "explore", no_argument, NULL, OPT_EXPLORE },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ NULL, 0, NULL, 0 },
};

static int print_param(void *user, const struct prqd_param_info *p)
{
	FILE *f = user;
	fprintf(f, "  %-26s %s (default %llu", p->name, p->help, (unsigned long long)p->def);
	if (p->names) {
		fprintf(f, "; values");
		for (unsigned i = 0; p->names[i]; i++)
			fprintf(f, " %s", p->names[i]);
	} else {
		fprintf(f, ", %llu..%llu", (unsigned long long)p->min, (unsigned long long)p->max);
	}
	fprintf(f, ")\n");
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: prqdrain-sim [OPTIONS] [SCENARIO.scn]\n"
		"       prqdrain-sim --random [--devices N] [--pasids N] [--requests N] ...\n"
		"\n"
		"Runs a scenario (docs/scenario-format.md) or a random workload against libprqdrain\n"
		"on the simulator; the checker watches every request and response on the wire.\n"
		"Exit status: 0 pass, 1 violation or failed expectation, 2 usage or scenario error.\n"
		"Without a scenario or workload option it runs " DEFAULT_SCENARIO ".\n"
		"\n"
		"Options:\n"
		"  -b, --backend NAME       IOMMU backend (default sim)\n"
		"  -p, --param NAME=VALUE   set a library parameter after the scenario's (repeatable)\n"
		"  -s, --seed N             seed (overrides the scenario's; the workload's seed)\n"
		"  -t, --trace FILE         write a Perfetto / Chrome trace (JSON) of the run\n"
		"      --dump FILE          write the scenario being run in the text format (- = stdout)\n"
		"  -q, --quiet              no progress and no summary unless the run fails\n"
		"      --progress           the progress bar even when stderr is not a terminal\n"
		"                           (one line per change)\n"
		"  -v, --verbose            library log on stderr (twice: debug)\n"
		"  -h, --help               this help\n"
		"  -V, --version            version\n"
		"\n"
		"Random workload (any of these selects it):\n"
		"  -r, --random             generate a workload from the seed\n"
		"      --devices N          devices (default 2, up to 256)\n"
		"      --pasids N           bonds per device (default 4)\n"
		"      --requests N         page requests in total (default 2000)\n"
		"      --teardown-rate N    permille of bonds torn down and bound again (default 250)\n"
		"      --overflow           a small queue and capacities that overflow it\n"
		"      --inject LIST        comma-separated: atc-slow, atc-never, removal, flr,\n"
		"                           marker, handler-failure, defer, misbehave, all\n"
		"                           (a name given twice counts once)\n"
		"      --explore            the seed also picks sizes, injections, parameters and\n"
		"                           teardown ways (the other workload options are ignored)\n"
		"\n"
		"Backends:\n");
	for (unsigned i = 0;; i++) {
		const char *help = NULL;
		const char *name = prqd_backend_name(i, &help);
		if (!name)
			break;
		fprintf(f, "  %-26s %s\n", name, help ? help : "");
	}
	fprintf(f, "\nParameters (--param, or `param` in a scenario):\n");
	prqd_param_walk(print_param, f);
}

static int parse_num(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*arg || *arg == '-' || *arg == '+' || *arg == ' ') {
		fprintf(stderr, "prqdrain-sim: %s: expected a number, got `%s`\n", opt, arg);
		return -1;
	}
	unsigned long long v = strtoull(arg, &end, 0);
	if (errno || *end) {
		fprintf(stderr, "prqdrain-sim: %s: expected a number, got `%s`\n", opt, arg);
		return -1;
	}
	if (v < min || v > max) {
		fprintf(stderr, "prqdrain-sim: %s: %llu is out of range (%llu..%llu)\n", opt, v,
			(unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

/*
 * The progress bar on stderr. It moves with the work done (page requests sent or given up,
 * operations run) and, while a library call blocks, names what it waits for with the
 * simulated time turning, so a long drain never looks like a hang. It ends at 100 %. On a
 * terminal it redraws at most every REDRAW_NS of wall time (and always at the end); forced
 * with --progress on anything else it draws a line per change, which tests can read.
 */
#define REDRAW_NS 100000000ull

struct progress {
	bool tty;          /* stderr is a terminal: redraw in place, rate-limited */
	bool shown;
	int last_pct;
	char last_wait[128];
	uint64_t last_draw_ns; /* wall clock */
	unsigned spin;
};

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void progress_cb(void *user, const struct scn_progress *p)
{
	struct progress *pr = user;
	int pct = p->total ? (int)(p->done * 100 / p->total) : 100;
	if (p->finished)
		pct = 100;
	const char *wait = p->waiting_for ? p->waiting_for : "";
	bool changed = pct != pr->last_pct || strcmp(wait, pr->last_wait) != 0;
	if (pr->tty) {
		uint64_t t = wall_ns();
		if (!p->finished && t - pr->last_draw_ns < REDRAW_NS)
			return;
		pr->last_draw_ns = t;
	} else if (!changed && !p->finished) {
		return;
	}
	pr->last_pct = pct;
	snprintf(pr->last_wait, sizeof(pr->last_wait), "%s", wait);
	pr->shown = true;

	char bar[31];
	int fill = pct * 30 / 100;
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[30] = '\0';
	static const char spinner[] = "|/-\\";
	char line[256];
	int n = snprintf(line, sizeof(line), "prqdrain-sim: [%s] %3d%% %c %.1f us simulated", bar,
			 pct, p->finished ? ' ' : spinner[pr->spin++ % 4],
			 (double)p->now_ns / 1e3);
	if (*wait && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ", waiting: %s", wait);
	if (pr->tty)
		fprintf(stderr, "\r%-100.100s", line);
	else
		fprintf(stderr, "%s\n", line);
	if (p->finished && pr->tty)
		fputc('\n', stderr);
	fflush(stderr);
}

static void describe_inject(char *buf, size_t n, uint32_t bits)
{
	static const char *const names[] = { "atc-slow", "atc-never", "removal", "flr",
					     "marker", "handler-failure", "defer", "misbehave" };
	size_t used = 0;
	buf[0] = '\0';
	for (unsigned i = 0; i < 8; i++) {
		if (!(bits & (1u << i)))
			continue;
		int k = snprintf(buf + used, n - used, "%s%s", used ? "," : "", names[i]);
		if (k < 0 || (size_t)k >= n - used)
			break;
		used += (size_t)k;
	}
	if (!used)
		snprintf(buf, n, "none");
}

int main(int argc, char **argv)
{
	struct scn_workload wl;
	struct scn_run_opts ro;
	const char **params = NULL;
	const char *trace_path = NULL, *dump_path = NULL;
	bool random_mode = false, quiet = false, seed_set = false, force_progress = false;
	int verbose = 0;
	uint64_t seed = 0, v;
	int c, status = EXIT_USAGE;
	char err[512];

	scn_workload_default(&wl);
	memset(&ro, 0, sizeof(ro));
	params = calloc((size_t)argc + 1, sizeof(*params));
	if (!params) {
		fprintf(stderr, "prqdrain-sim: out of memory\n");
		return EXIT_USAGE;
	}

	/* getopt names the program by argv[0]: the same name as every other message. */
	argv[0] = (char *)"prqdrain-sim";
	while ((c = getopt_long(argc, argv, "hVqvb:p:t:s:r", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			free(params);
			return EXIT_PASS;
		case 'V':
			printf("prqdrain-sim %s\n", PACKAGE_VERSION);
			free(params);
			return EXIT_PASS;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'b':
			ro.backend = optarg;
			break;
		case 'p':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "prqdrain-sim: --param: expected NAME=VALUE, got `%s`\n",
					optarg);
				goto out;
			}
			params[ro.nparams++] = optarg;
			break;
		case 't':
			trace_path = optarg;
			break;
		case 's':
			if (parse_num("--seed", optarg, 0, UINT64_MAX, &seed))
				goto out;
			seed_set = true;
			break;
		case 'r':
			random_mode = true;
			break;
		case OPT_DEVICES:
			if (parse_num("--devices", optarg, 1, 256, &v))
				goto out;
			wl.devices = (unsigned)v;
			random_mode = true;
			break;
		case OPT_PASIDS:
			if (parse_num("--pasids", optarg, 1, 4096, &v))
				goto out;
			wl.pasids = (unsigned)v;
			random_mode = true;
			break;
		case OPT_REQUESTS:
			if (parse_num("--requests", optarg, 1, 100000000, &v))
				goto out;
			wl.requests = v;
			random_mode = true;
			break;
		case OPT_TEARDOWN_RATE:
			if (parse_num("--teardown-rate", optarg, 0, 1000, &v))
				goto out;
			wl.teardown_rate = (unsigned)v;
			random_mode = true;
			break;
		case OPT_OVERFLOW:
			wl.overflow = true;
			random_mode = true;
			break;
		case OPT_INJECT:
			if (scn_inject_parse(optarg, &wl.inject, err, sizeof(err)) < 0) {
				fprintf(stderr, "prqdrain-sim: --inject: %s\n", err);
				goto out;
			}
			random_mode = true;
			break;
		case OPT_DUMP:
			dump_path = optarg;
			break;
		case OPT_PROGRESS:
			force_progress = true;
			break;
		case OPT_EXPLORE:
			wl.explore = true;
			random_mode = true;
			break;
		default:
			fprintf(stderr, "prqdrain-sim: try `prqdrain-sim --help'\n");
			goto out;
		}
	}
	if (random_mode && optind < argc) {
		fprintf(stderr, "prqdrain-sim: give a scenario file or random workload options, "
				"not both\n");
		goto out;
	}
	if (!random_mode && optind < argc - 1) {
		fprintf(stderr, "prqdrain-sim: one scenario file at a time\n");
		fprintf(stderr, "prqdrain-sim: try `prqdrain-sim --help'\n");
		goto out;
	}
	const char *scenario_path = NULL;
	if (!random_mode) {
		scenario_path = optind < argc ? argv[optind] : default_scenario();
		if (!scenario_path) {
			fprintf(stderr, "prqdrain-sim: the default scenario is missing (%s)\n",
				DEFAULT_SCENARIO);
			goto out;
		}
	}
	if ((uint64_t)wl.devices * wl.pasids > 65536) {
		fprintf(stderr, "prqdrain-sim: --devices x --pasids may be at most 65536\n");
		goto out;
	}

	struct scn *s = NULL;
	if (random_mode) {
		if (seed_set)
			wl.seed = seed;
		int rc = scn_generate(&wl, &s);
		if (rc < 0) {
			fprintf(stderr, "prqdrain-sim: cannot generate the workload: %s\n",
				strerror(-rc));
			goto out;
		}
	} else {
		if (scn_load_file(scenario_path, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "prqdrain-sim: %s\n", err);
			goto out;
		}
		if (s->ndevices == 0 && s->nops == 0) {
			fprintf(stderr, "prqdrain-sim: %s: no device and no event: nothing to run\n",
				scenario_path);
			scn_free(s);
			goto out;
		}
		if (seed_set) {
			ro.seed_set = true;
			ro.seed = seed;
		}
	}

	if (dump_path) {
		FILE *df = strcmp(dump_path, "-") ? fopen(dump_path, "w") : stdout;
		if (!df || scn_write(df, s) < 0 || (df != stdout && fclose(df) != 0)) {
			fprintf(stderr, "prqdrain-sim: --dump %s: %s\n", dump_path, strerror(errno));
			scn_free(s);
			goto out;
		}
	}

	FILE *tf = NULL;
	if (trace_path) {
		tf = fopen(trace_path, "w");
		if (!tf) {
			fprintf(stderr, "prqdrain-sim: --trace %s: %s\n", trace_path, strerror(errno));
			scn_free(s);
			goto out;
		}
	}

	struct progress prog = { .last_pct = -1, .tty = isatty(STDERR_FILENO) && !force_progress };
	ro.params = params;
	ro.trace = tf;
	if (verbose) {
		ro.log = stderr;
		ro.log_prio = verbose > 1 ? PRQD_LOG_DEBUG : PRQD_LOG_INFO;
	}
	/* On a terminal: for runs long enough to want it; --progress: always, anywhere. */
	if (force_progress || (!quiet && isatty(STDERR_FILENO) &&
			       (!random_mode || wl.explore || wl.requests >= PROGRESS_MIN_REQUESTS))) {
		ro.progress = progress_cb;
		ro.progress_user = &prog;
	}

	struct scn_result res;
	int rc = scn_run(s, &ro, &res);

	if (tf && fclose(tf) != 0 && rc == 0) {
		fprintf(stderr, "prqdrain-sim: --trace %s: %s\n", trace_path, strerror(errno));
		rc = -EIO;
	}
	if (rc < 0) {
		fprintf(stderr, "prqdrain-sim: %s\n", res.error[0] ? res.error : strerror(-rc));
		scn_free(s);
		goto out;
	}

	bool pass = scn_result_passed(&res);
	if (!quiet || !pass) {
		if (wl.explore) {
			printf("%-22s seed %llu (--dump shows what it chose)\n", "explored workload",
			       (unsigned long long)wl.seed);
		} else if (random_mode) {
			char inj[160];
			describe_inject(inj, sizeof(inj), wl.inject);
			printf("%-22s %u devices x %u bonds, %llu requests, teardown %u/1000, "
			       "overflow %s, inject %s\n",
			       "random workload", wl.devices, wl.pasids,
			       (unsigned long long)wl.requests, wl.teardown_rate,
			       wl.overflow ? "yes" : "no", inj);
		} else {
			printf("%-22s %s\n", "scenario", scenario_path);
		}
		scn_result_print(stdout, &res);
	}
	fflush(stdout);
	scn_free(s);
	status = pass ? EXIT_PASS : EXIT_FAIL;
out:
	free(params);
	return status;
}
