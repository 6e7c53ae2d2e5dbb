/* SPDX-License-Identifier: MIT */
/*
 * Random workloads: a scenario generated from a seed, built with the same scn_add_* helpers
 * the parser uses, so it runs through the same runner and can be printed with scn_write() as
 * a file to keep when a seed finds a bug.
 *
 * What a workload looks like:
 *  - devices dev0..devN-1 at 01:00.0, 01:01.0, ... with random capacity, PASID response
 *    requirement, refault rate, and (with `marker`) Stop Marker use;
 *  - `pasids` bonds per device on distinct random PASIDs (sometimes one RID-only), each with
 *    a traffic generator sharing the requested page requests;
 *  - teardowns of a `teardown_rate` permille of the bonds, done the way a driver does it:
 *    stop the PASID at the device (with or without a marker), wait for the stop to complete
 *    when there is no marker, unbind (with the stop-marker flag when there was one), bind
 *    again; or, for some, drain and resume the same bond. The device issues nothing for the
 *    PASID in between: it is stopped until the new bind (or the resume) restarts it;
 *  - device-level injections, each on a device of its own while there are enough devices:
 *    an ATC that never answers (its teardowns expect the unbind to fail, then force it), a
 *    slow ATC, a surprise removal (then forced unbinds), an FLR (dev-stop, dev-drain, FLR,
 *    dev-resume), a misbehaving device; bond-level ones: a handler answering Failure,
 *    handlers deferring their answers.
 * The only expectation is the checker's: no violation.
 *
 * The generator has its own random numbers (not the world's), so the scenario depends only
 * on the options; the world's seed is the same number and drives the latencies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define US 1000ull
#define MS 1000000ull

/* splitmix64: small and good enough to choose a workload. */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the tiny modulo bias does not matter here). */
static uint64_t rnd_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rnd(r) % (hi - lo + 1);
}

static bool chance(struct rng *r, unsigned permille)
{
	return rnd_range(r, 0, 999) < permille;
}

void scn_workload_default(struct scn_workload *w)
{
	memset(w, 0, sizeof(*w));
	w->seed = 1;
	w->devices = 2;
	w->pasids = 4;
	w->requests = 2000;
	w->teardown_rate = 250;
}

static const struct {
	const char *name;
	uint32_t bit;
} inject_names[] = {
	{ "atc-slow", SCN_INJECT_ATC_SLOW },
	{ "atc-never", SCN_INJECT_ATC_NEVER },
	{ "removal", SCN_INJECT_REMOVAL },
	{ "flr", SCN_INJECT_FLR },
	{ "marker", SCN_INJECT_MARKER },
	{ "handler-failure", SCN_INJECT_HANDLER_FAILURE },
	{ "defer", SCN_INJECT_DEFER },
	{ "misbehave", SCN_INJECT_MISBEHAVE },
};

int scn_inject_parse(const char *list, uint32_t *out, char *err, size_t errlen)
{
	uint32_t bits = 0;
	const char *p = list;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		size_t i;
		if (n == 3 && !strncmp(p, "all", 3)) {
			for (i = 0; i < sizeof(inject_names) / sizeof(inject_names[0]); i++)
				bits |= inject_names[i].bit;
		} else {
			for (i = 0; i < sizeof(inject_names) / sizeof(inject_names[0]); i++)
				if (strlen(inject_names[i].name) == n && !strncmp(inject_names[i].name, p, n))
					break;
			if (i == sizeof(inject_names) / sizeof(inject_names[0])) {
				if (err && errlen)
					snprintf(err, errlen,
						 "unknown injection `%.*s` (expected atc-slow, atc-never, "
						 "removal, flr, marker, handler-failure, defer, misbehave "
						 "or all)",
						 (int)(n > 40 ? 40 : n), p);
				return -EINVAL;
			}
			bits |= inject_names[i].bit;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	*out = bits;
	return 0;
}

/* What a device is for in this workload. */
enum role {
	ROLE_ATC_NEVER = 1u << 0,
	ROLE_ATC_SLOW = 1u << 1,
	ROLE_REMOVAL = 1u << 2,
	ROLE_FLR = 1u << 3,
	ROLE_MISBEHAVE = 1u << 4,
	ROLE_FAILURE = 1u << 5, /* one of its bonds answers Failure: PRI goes off */
};

/* Roles that make the teardown protocol moot or unfollowable on a device: a removed device
 * is force-unbound, an FLR'd one is reset as a whole, one with PRI off after Failure never
 * completes a stop without marker, a misbehaving one may never send a Last. */
#define ROLES_NO_TEARDOWN (ROLE_REMOVAL | ROLE_FLR | ROLE_MISBEHAVE | ROLE_FAILURE)

/* Roles that cannot share a device: one ATC mode per device; a removed device cannot be
 * reset; a device-wide drain around an FLR cannot finish when the ATC never answers. */
static bool roles_conflict(unsigned have, unsigned want)
{
	static const unsigned pairs[][2] = {
		{ ROLE_ATC_NEVER, ROLE_ATC_SLOW },
		{ ROLE_REMOVAL, ROLE_FLR },
		{ ROLE_FLR, ROLE_ATC_NEVER },
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (((have & pairs[i][0]) && (want & pairs[i][1])) ||
		    ((have & pairs[i][1]) && (want & pairs[i][0])))
			return true;
	return false;
}

struct gen {
	struct scn *s;
	struct rng rng;
	const struct scn_workload *o;
	unsigned *roles;     /* per device */
	uint64_t end_ns;     /* latest planned activity */
};

static int add_op(struct gen *g, const struct scn_op *op)
{
	int rc = scn_add_op(g->s, op);
	if (op->at_ns > g->end_ns)
		g->end_ns = op->at_ns;
	return rc < 0 ? rc : 0;
}

static int add_fault(struct gen *g, unsigned bond, uint64_t at, uint32_t pages, uint32_t count,
		     uint64_t every)
{
	struct scn_op op;
	scn_op_init(&op, SCN_OP_FAULT, at, bond);
	op.pages = pages;
	op.count = count;
	op.every_ns = every;
	op.access = chance(&g->rng, 300) ? SIM_R : SIM_R | SIM_W;
	uint64_t end = at + (uint64_t)count * every;
	if (end > g->end_ns)
		g->end_ns = end;
	return add_op(g, &op);
}

static int add_simple(struct gen *g, enum scn_op_kind kind, uint64_t at, unsigned target,
		      uint32_t flags)
{
	struct scn_op op;
	scn_op_init(&op, kind, at, target);
	op.flags = flags;
	return add_op(g, &op);
}

/*
 * One episode of a driver stopping a bond at @at, in one of two ways:
 *  - teardown: stop the PASID at the device, wait for the stop to complete (no marker),
 *    unbind (stop-marker flag after a marker), bind again: a new generation;
 *  - pause (@pause): stop at the device, wait, drain, resume the same generation, restart
 *    the PASID at the device (a driver that reset its context and goes on).
 * On a device whose ATC never answers the drain fails (-ETIMEDOUT, or -EIO with an ITE
 * timeout), and the driver forces an unbind and binds again either way.
 */
static int add_episode(struct gen *g, unsigned bond, uint64_t at, bool pause)
{
	const struct scn_bond *b = &g->s->bonds[bond];
	const struct scn_device *d = &g->s->devices[b->dev];
	bool marker = d->cfg.uses_stop_markers && b->pasid != PRQD_NO_PASID;
	bool never = g->roles[b->dev] & ROLE_ATC_NEVER;
	struct scn_op op;
	int rc;

	scn_op_init(&op, SCN_OP_DEVICE_STOP, at, bond);
	op.flags = marker ? SCN_F_MARKER : 0;
	if ((rc = add_op(g, &op)))
		return rc;
	if (!marker) {
		scn_op_init(&op, SCN_OP_WAIT_STOPPED, at + 1 * US, bond);
		op.timeout_ns = 2 * MS;
		if ((rc = add_op(g, &op)))
			return rc;
	}
	if (pause) {
		scn_op_init(&op, SCN_OP_DRAIN, at + 2 * US, bond);
	} else {
		scn_op_init(&op, SCN_OP_UNBIND, at + 2 * US, bond);
		op.flags = marker ? SCN_F_STOP_MARKER : 0;
	}
	if (never) {
		op.nexpect = 2;
		op.expect[0] = -PRQD_ETIMEDOUT;
		op.expect[1] = -PRQD_EIO;
		if ((rc = add_op(g, &op)))
			return rc;
		if ((rc = add_simple(g, SCN_OP_UNBIND, at + 3 * US, bond, SCN_F_FORCE)))
			return rc;
		return add_simple(g, SCN_OP_BIND, at + 4 * US, bond, 0);
	}
	if ((rc = add_op(g, &op)))
		return rc;
	if (!pause)
		return add_simple(g, SCN_OP_BIND, at + 4 * US, bond, 0);
	if ((rc = add_simple(g, SCN_OP_RESUME, at + 4 * US, bond, 0)))
		return rc;
	/* The driver restarts its device after the resume (its actions run in order). */
	return add_simple(g, SCN_OP_DEVICE_START, at + 5 * US, bond, 0);
}

static int gen_devices(struct gen *g)
{
	const struct scn_workload *o = g->o;
	/* Device-level injections, each on its own device while there are enough. */
	static const struct {
		uint32_t inject;
		unsigned role;
	} wanted[] = {
		{ SCN_INJECT_ATC_NEVER, ROLE_ATC_NEVER },  { SCN_INJECT_REMOVAL, ROLE_REMOVAL },
		{ SCN_INJECT_FLR, ROLE_FLR },		   { SCN_INJECT_ATC_SLOW, ROLE_ATC_SLOW },
		{ SCN_INJECT_MISBEHAVE, ROLE_MISBEHAVE },
		{ SCN_INJECT_HANDLER_FAILURE, ROLE_FAILURE },
	};
	/* Roles that rule out teardowns (ROLES_NO_TEARDOWN) never go to one reserved device,
	 * so teardowns keep a device even with few devices and many injections. Otherwise a
	 * role takes a device of its own when one is free, else one it can share without
	 * conflict, else it is left out of this workload. */
	unsigned reserved = (unsigned)rnd_range(&g->rng, 0, o->devices - 1);
	unsigned next = reserved + 1;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		if (!(o->inject & wanted[i].inject))
			continue;
		bool blocks = wanted[i].role & ROLES_NO_TEARDOWN;
		int pick = -1;
		for (unsigned pass = 0; pass < 2 && pick < 0; pass++) {
			for (unsigned k = 0; k < o->devices; k++) {
				unsigned dev = (next + k) % o->devices;
				if ((pass == 0 && g->roles[dev]) ||
				    (blocks && dev == reserved && o->devices > 1) ||
				    roles_conflict(g->roles[dev], wanted[i].role))
					continue;
				pick = (int)dev;
				break;
			}
		}
		if (pick >= 0) {
			g->roles[pick] |= wanted[i].role;
			next = (unsigned)pick + 1;
		}
	}

	unsigned queue = 256;
	if (o->overflow) {
		queue = (unsigned)rnd_range(&g->rng, 8, 32);
		char v[16];
		snprintf(v, sizeof(v), "%u", queue);
		if (scn_add_param(g->s, "sim.queue_size", v, 0) < 0)
			return -ENOMEM;
		/* A late interrupt lets the queue overflow before anyone reads it. */
		g->s->poll_ns = rnd_range(&g->rng, 2 * US, 10 * US);
	}
	for (unsigned i = 0; i < o->devices; i++) {
		struct scn_device d;
		char name[16];
		snprintf(name, sizeof(name), "dev%u", i);
		scn_device_init(&d, name, (uint16_t)(0x0100 + i * 8));
		if (o->overflow)
			/* Together they can have far more outstanding than the queue holds. */
			d.cfg.capacity = (uint32_t)rnd_range(&g->rng, queue, 3 * queue);
		else
			d.cfg.capacity = (uint32_t)rnd_range(&g->rng, 8, 64);
		d.cfg.prg_resp_pasid_required = chance(&g->rng, 700);
		d.cfg.uses_stop_markers = (o->inject & SCN_INJECT_MARKER) && chance(&g->rng, 600);
		d.cfg.refault_permille = (uint16_t)rnd_range(&g->rng, 0, 150);
		d.cfg.atc_lat_ns = rnd_range(&g->rng, 200, 3000);
		if (g->roles[i] & ROLE_ATC_NEVER)
			d.cfg.atc_mode = SIM_ATC_NEVER;
		else if (g->roles[i] & ROLE_ATC_SLOW)
			d.cfg.atc_mode = SIM_ATC_SLOW;
		if (g->roles[i] & ROLE_MISBEHAVE) {
			d.cfg.misbehave = SIM_BAD_EXCEED_CREDITS | SIM_BAD_NO_LAST |
					  SIM_BAD_REUSE_INDEX | SIM_BAD_GARBAGE;
			d.cfg.misbehave_permille = (uint16_t)rnd_range(&g->rng, 5, 30);
		}
		int rc = scn_add_device(g->s, &d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int gen_bonds(struct gen *g)
{
	const struct scn_workload *o = g->o;
	bool failure_done = false;
	for (unsigned i = 0; i < o->devices; i++) {
		/* Distinct PASIDs: an arithmetic progression from a random start. */
		uint64_t span = (1u << 20) - 2;
		uint64_t base = rnd_range(&g->rng, 1, 1000);
		uint64_t step = rnd_range(&g->rng, 1, (span - base) / o->pasids);
		bool rid_only = o->pasids >= 2 && chance(&g->rng, 250);
		for (unsigned j = 0; j < o->pasids; j++) {
			struct scn_bond b;
			memset(&b, 0, sizeof(b));
			snprintf(b.name, sizeof(b.name), "d%up%u", i, j);
			b.dev = i;
			b.pasid = rid_only && j == 0 ? PRQD_NO_PASID : (uint32_t)(base + j * step);
			b.bound = true;
			b.handler.kind = SCN_HANDLER_SUCCESS;
			if ((o->inject & SCN_INJECT_DEFER) && chance(&g->rng, 500)) {
				b.handler.kind = SCN_HANDLER_DEFER;
				b.handler.delay_ns = rnd_range(&g->rng, 500, 20 * US);
				b.handler.code = chance(&g->rng, 900) ? PRQD_RESP_SUCCESS
								      : PRQD_RESP_INVALID;
			} else if (chance(&g->rng, 50)) {
				b.handler.kind = SCN_HANDLER_INVALID;
			}
			if ((g->roles[i] & ROLE_FAILURE) && !failure_done) {
				b.handler.kind = SCN_HANDLER_FAILURE;
				failure_done = true;
			}
			int rc = scn_add_bond(g->s, &b);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Traffic and teardowns, bond by bond. */
static int gen_traffic(struct gen *g)
{
	const struct scn_workload *o = g->o;
	unsigned nb = g->s->nbonds;
	uint64_t left = o->requests;
	for (unsigned b = 0; b < nb; b++) {
		uint64_t share = left / (nb - b);
		left -= share;
		if (share == 0)
			continue;
		unsigned dev = g->s->bonds[b].dev;
		uint32_t pages = (uint32_t)rnd_range(&g->rng, 1, o->overflow ? 8 : 4);
		if (pages > g->s->devices[dev].cfg.capacity)
			pages = g->s->devices[dev].cfg.capacity;
		if (pages > share)
			pages = (uint32_t)share;
		uint64_t count = share / pages, rem = share % pages;
		if (count > 1000000000ull)
			return -EINVAL;
		uint64_t every = o->overflow ? rnd_range(&g->rng, 100, 600)
					     : rnd_range(&g->rng, 1 * US, 4 * US);
		uint64_t start = rnd_range(&g->rng, 0, 5 * US);
		uint64_t dur = count * every;
		bool teardown = !(g->roles[dev] & ROLES_NO_TEARDOWN) &&
				chance(&g->rng, o->teardown_rate) && count >= 2;
		int rc;
		if (teardown) {
			/* Part of the traffic before the teardown, the rest for the new user. */
			uint64_t c1 = rnd_range(&g->rng, 1, count - 1);
			uint64_t at = start + c1 * every + rnd_range(&g->rng, 0, every);
			if ((rc = add_fault(g, b, start, pages, (uint32_t)c1, every)))
				return rc;
			if ((rc = add_episode(g, b, at, chance(&g->rng, 400))))
				return rc;
			/* Well after the new bind, which may wait behind other library
			 * operations (they run one at a time). */
			if ((rc = add_fault(g, b, at + 50 * US, pages, (uint32_t)(count - c1), every)))
				return rc;
		} else if ((rc = add_fault(g, b, start, pages, (uint32_t)count, every))) {
			return rc;
		}
		if (rem && (rc = add_fault(g, b, start + rnd_range(&g->rng, 0, dur), (uint32_t)rem, 1,
					   every)))
			return rc;
	}
	return 0;
}

static int gen_device_events(struct gen *g)
{
	const struct scn_workload *o = g->o;
	uint64_t span = g->end_ns;
	for (unsigned i = 0; i < o->devices; i++) {
		uint64_t at = rnd_range(&g->rng, span / 4, span * 3 / 4);
		int rc;
		if (g->roles[i] & ROLE_REMOVAL) {
			/* Surprise removal; the driver notices and forces its bonds out. */
			if ((rc = add_simple(g, SCN_OP_REMOVE, at, i, 0)))
				return rc;
			for (unsigned b = 0; b < g->s->nbonds; b++)
				if (g->s->bonds[b].dev == i &&
				    (rc = add_simple(g, SCN_OP_UNBIND, at + 2 * US, b, SCN_F_FORCE)))
					return rc;
		}
		if (g->roles[i] & ROLE_FLR) {
			/* Reset with the library's device-wide stop, drain and resume around it. */
			if ((rc = add_simple(g, SCN_OP_DEV_STOP, at, i, 0)) ||
			    (rc = add_simple(g, SCN_OP_DEV_DRAIN, at + 1 * US, i, 0)) ||
			    (rc = add_simple(g, SCN_OP_FLR, at + 20 * US, i, 0)) ||
			    (rc = add_simple(g, SCN_OP_DEV_RESUME, at + 21 * US, i, 0)))
				return rc;
		}
	}
	return 0;
}

int scn_generate(const struct scn_workload *o, struct scn **out)
{
	struct gen g;
	char file[64];
	int rc;

	if (!o || o->devices < 1 || o->devices > 256 || o->pasids < 1 || o->pasids > 4096 ||
	    (uint64_t)o->devices * o->pasids > 65536 || o->requests < 1 ||
	    o->requests > 100000000ull || o->teardown_rate > 1000)
		return -EINVAL;
	memset(&g, 0, sizeof(g));
	g.o = o;
	g.rng.s = o->seed ^ 0x5eed5eed5eed5eedull;
	snprintf(file, sizeof(file), "random-%llu", (unsigned long long)o->seed);
	rc = scn_new(file, &g.s);
	if (rc < 0)
		return rc;
	g.roles = calloc(o->devices, sizeof(*g.roles));
	if (!g.roles) {
		scn_free(g.s);
		return -ENOMEM;
	}
	g.s->seed = o->seed;
	/* Short deadlines: a drain that cannot finish (ATC never answers) costs simulated time
	 * and the CPU that goes with it; 5 ms is far above any drain that can finish here. */
	rc = scn_add_param(g.s, "core.drain_timeout_ms", "5", 0);
	if (rc >= 0)
		rc = gen_devices(&g);
	if (rc >= 0)
		rc = gen_bonds(&g);
	if (rc >= 0)
		rc = gen_traffic(&g);
	if (rc >= 0)
		rc = gen_device_events(&g);
	if (rc >= 0) {
		/* Generous: the traffic plan assumes no waiting for credits. */
		g.s->limit_ns = g.end_ns * 8 + 50 * MS;
		rc = scn_add_expect(g.s, "violations", SCN_EQ, 0, 0, NULL, 0);
	}
	free(g.roles);
	if (rc < 0) {
		scn_free(g.s);
		return rc;
	}
	*out = g.s;
	return 0;
}
