/* SPDX-License-Identifier: MIT */
/*
 * prqdrain-monitor: follow the kernel's device events (uevents) and report those of PCI
 * functions with the PRI capability; with --sim, apply them to the bonds of simulated devices
 * through struct prqd_monitor, so removal and error recovery run end to end: datagram,
 * sender check, parser, action, library, checker.
 *
 * Events come from the kernel's socket (a build with libnl), or from files of canned
 * datagrams, one raw datagram per file, as the socket delivers them (tests/data/uevent/).
 *
 * Exit status: 0 done; 1 fewer than --count events before --timeout, or with --sim a checker
 * violation or a failed teardown; 2 usage or unreadable input; 3 the socket cannot be opened
 * (built without libnl, or not allowed here).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prqdrain-uevent.h"
#include "lib/linux/uevent-sim.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1"
#endif

#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NO_SOCKET 3

#define MAX_SLOTS 64
#define PCI_EXT_CAP_ID_PRI 0x13
#define PCI_CFG_EXT_START 0x100
#define PCI_CFG_SIZE 4096

enum {
	OPT_SIM = 256,
	OPT_SIM_BUILTIN,
	OPT_GAP,
	OPT_SEED,
	OPT_FROM_PORT,
};

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "all", no_argument, NULL, 'a' },
	{ "slot", required_argument, NULL, 's' },
	{ "count", required_argument, NULL, 'n' },
	{ "timeout", required_argument, NULL, 't' },
	{ "sim", required_argument, NULL, OPT_SIM },
	{ "sim-builtin", no_argument, NULL, OPT_SIM_BUILTIN },
	{ "gap", required_argument, NULL, OPT_GAP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "from-port", required_argument, NULL, OPT_FROM_PORT },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: prqdrain-monitor [OPTIONS] [FILE...]\n"
		"\n"
		"Follow the kernel's device events and report those of PCI functions with PRI.\n"
		"With --sim, apply them to the bonds of simulated devices: remove and unbind force\n"
		"the unbind, ERROR_EVENT=BEGIN_RECOVERY stops and drains the device,\n"
		"SUCCESSFUL_RECOVERY resumes it, FAILED_RECOVERY forces the unbind.\n"
		"\n"
		"Events come from the kernel's uevent socket, or from FILEs: one raw datagram per\n"
		"file, fed in order.\n"
		"\n"
		"Options:\n"
		"  -a, --all            report every event, not only PRI-capable PCI functions'\n"
		"  -s, --slot SLOT      report only this PCI function (repeatable), e.g. 0000:00:01.0\n"
		"  -n, --count N        stop after N reported events\n"
		"  -t, --timeout MS     socket: give up after MS milliseconds (exit 1 if --count\n"
		"                       events did not come)\n"
		"      --sim SCENARIO   apply events to the devices and bonds of a scenario file;\n"
		"                       a device with requester ID BB:DD.F is PCI function 0000:BB:DD.F\n"
		"      --sim-builtin    the same with a built-in setup: 0000:00:01.0 (bonds dev1-p1,\n"
		"                       dev1-p2, dev1-rid) and 0000:00:02.0 (dev2-p1, dev2-p2)\n"
		"      --gap TIME       simulated time before each event and after the last\n"
		"                       (ns, us, ms; default 20us)\n"
		"      --seed N         the simulation's seed (default: the scenario's)\n"
		"      --from-port N    feed FILEs as sent from netlink port N (0 = the kernel, the\n"
		"                       default; others are refused by the sender check)\n"
		"  -q, --quiet          print only the summary (--sim) or nothing\n"
		"  -h, --help           this text\n"
		"  -V, --version        the version\n"
		"\n"
		"Exit status: 0 done; 1 too few events before --timeout, or with --sim a checker\n"
		"violation; 2 usage or unreadable input; 3 the socket cannot be opened here.\n");
}

struct opts {
	bool all, quiet, sim, sim_builtin;
	const char *scenario;
	char slots[MAX_SLOTS][24];
	unsigned nslots;
	unsigned long count;  /* 0: no limit */
	long timeout_ms;      /* -1: none */
	uint64_t gap_ns;
	uint64_t seed;
	uint32_t from_port;
};

/* Slots known to have PRI (read at start-up, and on `add`): a removed device's config space
 * cannot be read any more when its `remove` arrives. */
struct pri_cache {
	char slot[MAX_SLOTS * 4][24];
	unsigned n;
};

struct mon_state {
	const struct opts *o;
	struct pri_cache pri;
	unsigned long reported;
	struct uevent_sim *sim;
};

/* ---- PRI capability from sysfs -------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whether the function's extended capability list has PRI. Reading config space past 64
 * bytes needs root; without it (or for a conventional PCI device) the answer is no. */
static bool slot_has_pri(const char *slot)
{
	char path[96];
	unsigned char cfg[PCI_CFG_SIZE];
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", slot);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, cfg, sizeof(cfg), 0);
	close(fd);
	if (n < (ssize_t)(PCI_CFG_EXT_START + 4))
		return false;
	unsigned off = PCI_CFG_EXT_START;
	/* Each capability is at least 4 bytes and dword-aligned: the list cannot be longer
	 * than this, whatever a broken device's pointers say. */
	for (unsigned hops = 0; hops < (PCI_CFG_SIZE - PCI_CFG_EXT_START) / 4; hops++) {
		if (off < PCI_CFG_EXT_START || off + 4 > (unsigned)n)
			return false;
		uint32_t h = le32(cfg + off);
		if (h == 0 || h == 0xffffffffu)
			return false;
		if ((h & 0xffff) == PCI_EXT_CAP_ID_PRI)
			return true;
		off = (h >> 20) & 0xffc;
		if (off == 0)
			return false;
	}
	return false;
}

static bool pri_known(const struct pri_cache *c, const char *slot)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->slot[i], slot) == 0)
			return true;
	return false;
}

static void pri_remember(struct pri_cache *c, const char *slot)
{
	size_t len = strlen(slot);
	/* Slot names are short; anything longer is not one and is not kept. */
	if (len >= sizeof(c->slot[0]) || pri_known(c, slot) ||
	    c->n == sizeof(c->slot) / sizeof(c->slot[0]))
		return;
	memcpy(c->slot[c->n++], slot, len + 1);
}

static void pri_scan(struct pri_cache *c)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && slot_has_pri(e->d_name))
			pri_remember(c, e->d_name);
	closedir(d);
}

/* ---- reporting -------------------------------------------------------------------------------- */

static const char *errname(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -EPERM:
		return "EPERM (not from the kernel)";
	case -EBADMSG:
		return "EBADMSG (malformed)";
	case -ERANGE:
		return "ERANGE (too large)";
	case -ENODEV:
		return "ENODEV (no registered device)";
	default:
		return strerror(-err);
	}
}

static bool slot_selected(const struct opts *o, const char *slot)
{
	if (o->nslots == 0)
		return true;
	for (unsigned i = 0; i < o->nslots; i++)
		if (slot && strcmp(o->slots[i], slot) == 0)
			return true;
	return false;
}

/* The canonical spelling of a function, as sysfs and PCI_SLOT_NAME have it. */
static void format_slot(char *buf, size_t n, uint32_t domain, uint16_t rid)
{
	snprintf(buf, n, "%04" PRIx32 ":%02x:%02x.%x", domain, rid >> 8, (rid >> 3) & 0x1f,
		 rid & 7);
}

static const char *event_slot(const struct prqd_uevent *ev, char *buf, size_t n)
{
	uint32_t domain;
	uint16_t rid;
	if (prqd_uevent_pci_function(ev, &domain, &rid) < 0)
		return NULL;
	format_slot(buf, n, domain, rid);
	return buf;
}

/* Whether this event is one the user asked to see. */
static bool wanted(struct mon_state *st, const struct prqd_uevent *ev, const char *slot)
{
	const struct opts *o = st->o;
	if (!ev) /* refused datagrams name no function: shown when everything is */
		return (o->all || o->sim) && o->nslots == 0;
	if (slot && ev->action == PRQD_UEVENT_ADD && !o->sim && slot_has_pri(slot))
		pri_remember(&st->pri, slot);
	if (!slot_selected(o, slot))
		return false;
	if (o->all || o->sim || o->nslots)
		return true;
	return slot && pri_known(&st->pri, slot);
}

static void on_event(void *user, const struct prqd_uevent *ev,
		     const struct prqd_monitor_result *res)
{
	struct mon_state *st = user;
	char slotbuf[24];
	const char *slot = ev ? event_slot(ev, slotbuf, sizeof(slotbuf)) : NULL;
	if (!wanted(st, ev, slot))
		return;
	st->reported++;
	if (st->o->quiet)
		return;
	if (!ev) {
		printf("refused: %s\n", errname(res->status));
		fflush(stdout);
		return;
	}
	printf("%s %s", ev->action_name, slot ? slot : ev->devpath);
	if (ev->subsystem && (!slot || strcmp(ev->subsystem, "pci") != 0))
		printf(" subsystem=%s", ev->subsystem);
	if (ev->driver)
		printf(" driver=%s", ev->driver);
	const char *ers = prqd_uevent_get(ev, "ERROR_EVENT");
	if (ers)
		printf(" ERROR_EVENT=%s", ers);
	if (ev->device_online >= 0)
		printf(" DEVICE_ONLINE=%d", ev->device_online);
	if (ev->has_seqnum)
		printf(" seq=%" PRIu64, ev->seqnum);
	int decided = prqd_uevent_decide(ev);
	/* Without --sim no device is registered: every event is "unknown", which is no news;
	 * what a registered device's bonds would go through is. */
	bool unregistered = res->status == -ENODEV && !st->o->sim;
	if (res->status < 0 && !unregistered)
		printf(": %s", errname(res->status));
	else if (res->action != PRQD_MON_NONE)
		printf(": %s %s", prqd_monitor_action_name(res->action),
		       errname(res->action_result));
	if (res->status < 0 && decided != PRQD_MON_NONE)
		printf(" (would %s)", prqd_monitor_action_name(decided));
	printf("\n");
	fflush(stdout);
}

/* ---- the simulation ------------------------------------------------------------------------ */

static void print_bonds(const struct uevent_sim *u)
{
	for (unsigned i = 0; i < uevent_sim_nbonds(u); i++)
		printf("  bond %-12s %s  %-9s delivered %" PRIu64 "\n", uevent_sim_bond_name(u, i),
		       uevent_sim_bond_slot(u, i), prqd_bond_state_name(uevent_sim_bond_state(u, i)),
		       uevent_sim_bond_delivered(u, i));
}

static int sim_finish(struct mon_state *st)
{
	struct uevent_sim_report rep;
	if (!st->o->quiet) {
		printf("bonds after the events:\n");
		print_bonds(st->sim);
	}
	int rc = uevent_sim_finish(st->sim, &rep);
	st->sim = NULL;
	const struct prqd_monitor_stats *m = &rep.monitor;
	printf("monitor: received %" PRIu64 ", accepted %" PRIu64 ", rejected: format %" PRIu64
	       ", sender %" PRIu64 ", unknown device %" PRIu64 "; actions %" PRIu64
	       " (failed %" PRIu64 ")\n",
	       m->received, m->accepted, m->rejected_format, m->rejected_sender,
	       m->rejected_unknown, m->actions, m->action_errors);
	printf("library: groups %" PRIu64 ", delivered %" PRIu64 ", answered by stop %" PRIu64
	       ", drains %" PRIu64 "\n",
	       rep.stats.groups, rep.stats.delivered, rep.stats.by[PRQD_BY_STOP],
	       rep.stats.drains);
	printf("checker: %u violation(s)%s%s\n", rep.violations, rep.violations ? ": " : "",
	       rep.first_violation);
	if (rep.error[0])
		printf("teardown: %s\n", rep.error);
	return rc == 0 ? EXIT_PASS : EXIT_FAIL;
}

/* ---- sources ------------------------------------------------------------------------------ */

static int feed(struct mon_state *st, struct prqd_monitor *mon, const void *buf, size_t len,
		const struct prqd_uevent_origin *origin)
{
	if (st->sim) {
		uevent_sim_run(st->sim, st->o->gap_ns);
		return uevent_sim_feed(st->sim, buf, len, origin, NULL);
	}
	return prqd_monitor_feed(mon, buf, len, origin, NULL);
}

static int replay(struct mon_state *st, struct prqd_monitor *mon, char **files, int nfiles)
{
	struct prqd_uevent_origin origin = { .port = st->o->from_port, .groups = 1 };
	/* Big enough to read a datagram past the parser's limit, so "too large" is the
	 * parser's verdict, as on the socket, and not the reader's. */
	const size_t cap = PRQD_UEVENT_MAX_LEN * 2;
	unsigned char *buf = malloc(cap);
	int status = EXIT_PASS;
	if (!buf) {
		fprintf(stderr, "prqdrain-monitor: out of memory\n");
		return EXIT_FAIL;
	}
	for (int i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "rb");
		if (!f) {
			fprintf(stderr, "prqdrain-monitor: %s: %s\n", files[i], strerror(errno));
			status = EXIT_USAGE;
			break;
		}
		size_t len = fread(buf, 1, cap, f);
		bool err = ferror(f);
		fclose(f);
		if (err) {
			fprintf(stderr, "prqdrain-monitor: %s: read error\n", files[i]);
			status = EXIT_USAGE;
			break;
		}
		feed(st, mon, buf, len, &origin);
		if (st->o->count && st->reported >= st->o->count)
			break;
	}
	free(buf);
	return status;
}

/* The one thing a signal handler may touch: a flag the receive loop polls. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_live(struct mon_state *st, struct prqd_monitor *mon)
{
	int rc = prqd_monitor_open(mon);
	if (rc < 0) {
		fprintf(stderr, "prqdrain-monitor: cannot open the uevent socket: %s\n",
			rc == -EOPNOTSUPP ? "built without libnl" : strerror(-rc));
		return EXIT_NO_SOCKET;
	}
	/* Scripts wait for this line before making the kernel send an event. */
	fprintf(stderr, "prqdrain-monitor: listening\n");
	fflush(stderr);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uint64_t deadline = st->o->timeout_ms >= 0 ? mono_ms() + (uint64_t)st->o->timeout_ms : 0;
	while (!interrupted) {
		if (st->o->count && st->reported >= st->o->count)
			return EXIT_PASS;
		int wait = -1;
		if (st->o->timeout_ms >= 0) {
			uint64_t t = mono_ms();
			if (t >= deadline)
				return st->o->count ? EXIT_FAIL : EXIT_PASS;
			wait = (int)(deadline - t);
		}
		/* Wake up now and then: a signal between the check and poll() would otherwise
		 * only be seen at the next event. */
		if (wait < 0 || wait > 500)
			wait = 500;
		if (st->sim) {
			/* Simulated time goes on while the kernel is quiet. */
			uevent_sim_run(st->sim, st->o->gap_ns);
		}
		rc = prqd_monitor_receive(mon, wait, NULL);
		if (rc == -ENOBUFS) {
			fprintf(stderr, "prqdrain-monitor: the kernel dropped events (socket buffer "
					"full)\n");
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "prqdrain-monitor: receive: %s\n", strerror(-rc));
			return EXIT_FAIL;
		}
	}
	return EXIT_PASS;
}

/* ---- options ------------------------------------------------------------------------------- */

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool parse_time_ns(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	uint64_t mul;
	if (strcmp(end, "ns") == 0 || (*end == '\0' && v == 0))
		mul = 1;
	else if (strcmp(end, "us") == 0)
		mul = 1000;
	else if (strcmp(end, "ms") == 0)
		mul = 1000000;
	else
		return false;
	if (v > UINT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout_ms = -1, .gap_ns = 20000 };
	unsigned long v;
	int c;

	/* getopt names the program by argv[0]: the same name as every other message. */
	argv[0] = (char *)"prqdrain-monitor";
	while ((c = getopt_long(argc, argv, "hVqas:n:t:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_PASS;
		case 'V':
			printf("prqdrain-monitor %s\n", PACKAGE_VERSION);
			return EXIT_PASS;
		case 'q':
			o.quiet = true;
			break;
		case 'a':
			o.all = true;
			break;
		case 's': {
			uint32_t dom;
			uint16_t rid;
			if (prqd_uevent_parse_slot(optarg, &dom, &rid) < 0 || o.nslots == MAX_SLOTS) {
				fprintf(stderr, "prqdrain-monitor: --slot %s: expected DDDD:BB:DD.F\n",
					optarg);
				return EXIT_USAGE;
			}
			/* Kept in the canonical spelling so it compares with the events'. */
			format_slot(o.slots[o.nslots++], sizeof(o.slots[0]), dom, rid);
			break;
		}
		case 'n':
			if (!parse_ulong(optarg, &o.count) || o.count == 0) {
				fprintf(stderr, "prqdrain-monitor: --count: expected a positive number\n");
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (!parse_ulong(optarg, &v) || v > 86400000ul) {
				fprintf(stderr, "prqdrain-monitor: --timeout: expected milliseconds\n");
				return EXIT_USAGE;
			}
			o.timeout_ms = (long)v;
			break;
		case OPT_SIM:
			o.sim = true;
			o.scenario = optarg;
			break;
		case OPT_SIM_BUILTIN:
			o.sim = true;
			o.sim_builtin = true;
			break;
		case OPT_GAP:
			if (!parse_time_ns(optarg, &o.gap_ns)) {
				fprintf(stderr, "prqdrain-monitor: --gap: expected a time (20us)\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_SEED:
			if (!parse_ulong(optarg, &v)) {
				fprintf(stderr, "prqdrain-monitor: --seed: expected a number\n");
				return EXIT_USAGE;
			}
			o.seed = v;
			break;
		case OPT_FROM_PORT:
			if (!parse_ulong(optarg, &v) || v > UINT32_MAX) {
				fprintf(stderr, "prqdrain-monitor: --from-port: expected a number\n");
				return EXIT_USAGE;
			}
			o.from_port = (uint32_t)v;
			break;
		default: /* getopt said what was wrong */
			fprintf(stderr, "prqdrain-monitor: try `prqdrain-monitor --help'\n");
			return EXIT_USAGE;
		}
	}
	if (o.scenario && o.sim_builtin) {
		fprintf(stderr, "prqdrain-monitor: --sim and --sim-builtin exclude each other\n");
		return EXIT_USAGE;
	}

	struct mon_state st = { .o = &o };
	struct prqd_monitor *mon = NULL;
	int rc;
	if (o.sim) {
		struct scn *s = NULL;
		char err[256];
		if (o.scenario && scn_load_file(o.scenario, &s, err, sizeof(err)) < 0) {
			fprintf(stderr, "prqdrain-monitor: %s\n", err);
			return EXIT_USAGE;
		}
		rc = uevent_sim_new(s, o.seed, &st.sim, err, sizeof(err));
		scn_free(s);
		if (rc < 0) {
			fprintf(stderr, "prqdrain-monitor: %s\n", err);
			return EXIT_USAGE;
		}
		mon = uevent_sim_monitor(st.sim);
	} else {
		/* Without devices to act on, the monitor only classifies. */
		rc = prqd_monitor_new(PRQD_MONITOR_OBSERVE, &mon);
		if (rc < 0) {
			fprintf(stderr, "prqdrain-monitor: %s\n", strerror(-rc));
			return EXIT_FAIL;
		}
		if (!o.all && optind == argc)
			pri_scan(&st.pri);
	}
	prqd_monitor_set_event_fn(mon, on_event, &st);

	int status;
	if (optind < argc)
		status = replay(&st, mon, argv + optind, argc - optind);
	else
		status = listen_live(&st, mon);

	if (st.sim) {
		if (status == EXIT_PASS || status == EXIT_FAIL) {
			uevent_sim_run(st.sim, o.gap_ns);
			int s2 = sim_finish(&st);
			if (status == EXIT_PASS)
				status = s2;
		} else {
			uevent_sim_free(st.sim);
		}
	} else {
		prqd_monitor_free(mon);
	}
	return status;
}
