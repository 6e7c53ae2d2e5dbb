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
	/* The model and library parameters chosen (exploration varies them). */
	bool page_drain;     /* sim.page_drain */
	bool ite;            /* sim.ite_timeout_us > 0: a slow ATC may time out (-EIO) */
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

/* The device stops the PASID at @at: with a Stop Marker, or without one and then the
 * driver waits for the stop to complete (every group of the PASID answered). */
static int add_device_stop(struct gen *g, unsigned bond, uint64_t at, bool marker)
{
	struct scn_op op;
	scn_op_init(&op, SCN_OP_DEVICE_STOP, at, bond);
	op.flags = marker ? SCN_F_MARKER : 0;
	int rc = add_op(g, &op);
	if (rc || marker)
		return rc;
	scn_op_init(&op, SCN_OP_WAIT_STOPPED, at + 1 * US, bond);
	op.timeout_ns = 2 * MS;
	return add_op(g, &op);
}

/* Accepted results: 0 and every error in @errs (0-terminated), at most SCN_EXPECT_ALT. */
static void expect_set(struct scn_op *op, const int *errs)
{
	op->nexpect = 1;
	op->expect[0] = 0;
	for (; *errs && op->nexpect < SCN_EXPECT_ALT; errs++) {
		bool have = false;
		for (unsigned i = 0; i < op->nexpect; i++)
			have |= op->expect[i] == *errs;
		if (!have)
			op->expect[op->nexpect++] = *errs;
	}
}

/* The errors a drain of a bond on @dev may end with that are the hardware's, not a bug: an
 * ATC that never answers, or a slow one (against the deadline, or an ITE time-out). On VT-d
 * one device's slow invalidation holds the whole invalidation queue, so with such a device
 * anywhere in the workload every drain may run out of time. 0-terminated. */
static void atc_errors(const struct gen *g, unsigned dev, int *errs)
{
	unsigned n = 0;
	bool slow_here = g->roles[dev] & (ROLE_ATC_NEVER | ROLE_ATC_SLOW);
	bool slow_anywhere = false;
	for (unsigned i = 0; i < g->o->devices; i++)
		slow_anywhere |= (g->roles[i] & (ROLE_ATC_NEVER | ROLE_ATC_SLOW)) != 0;
	if (slow_here || slow_anywhere)
		errs[n++] = -PRQD_ETIMEDOUT;
	if ((g->roles[dev] & ROLE_ATC_NEVER) || (slow_anywhere && g->ite))
		errs[n++] = -PRQD_EIO;
	errs[n] = 0;
}

static void errors_add(int *errs, int err)
{
	unsigned n = 0;
	while (errs[n])
		n++;
	errs[n] = err;
	errs[n + 1] = 0;
}

/* How an explored episode ends the bond's first life. */
enum teardown_way {
	WAY_UNBIND,	    /* unbind (stop-marker after a marker) */
	WAY_FORCE,	    /* unbind force at once: a quarantine the bind must lift */
	WAY_NO_DRAIN,	    /* after wait-stopped: unbind no-drain */
	WAY_FORCE_NO_DRAIN, /* after wait-stopped: unbind force no-drain (no quarantine) */
	WAY_PAUSE,	    /* drain, resume */
	WAY_PAUSE_TWICE,    /* drain, drain a STOPPED bond again, resume */
	WAY_COUNT,
};

static int add_op_expecting(struct gen *g, enum scn_op_kind kind, uint64_t at, unsigned bond,
			    uint32_t flags, const int *errs)
{
	struct scn_op op;
	scn_op_init(&op, kind, at, bond);
	op.flags = flags;
	expect_set(&op, errs);
	return add_op(g, &op);
}

/*
 * An explored episode: the device stops the PASID (with a marker when it uses them, else
 * the driver waits for the stop), then one of the teardown ways, each accepting exactly the
 * errors this configuration can produce without a bug.
 */
static int add_explored_episode(struct gen *g, unsigned bond, uint64_t at)
{
	const struct scn_bond *b = &g->s->bonds[bond];
	const struct scn_device *d = &g->s->devices[b->dev];
	bool marker = d->cfg.uses_stop_markers && b->pasid != PRQD_NO_PASID;
	int hw[6], drain_errs[6], bind_errs[6];
	const int none[1] = { 0 };
	int rc;

	atc_errors(g, b->dev, hw);
	memcpy(drain_errs, hw, sizeof(hw));
	memcpy(bind_errs, hw, sizeof(hw));
	if (!g->page_drain) {
		/* Only a marker can stand in for the drain: an unbind waits for it (and runs
		 * out of time if an overflow dropped it); a plain drain does not wait. */
		errors_add(drain_errs, marker ? -PRQD_ETIMEDOUT : -PRQD_EOPNOTSUPP);
		errors_add(drain_errs, -PRQD_EOPNOTSUPP);
		errors_add(bind_errs, marker ? -PRQD_ETIMEDOUT : -PRQD_EOPNOTSUPP);
	}

	enum teardown_way way = (enum teardown_way)rnd_range(&g->rng, 0, WAY_COUNT - 1);
	if (marker && (way == WAY_NO_DRAIN || way == WAY_FORCE_NO_DRAIN))
		way = WAY_FORCE; /* no-drain is the caller's word after a stop without marker */

	struct scn_op op;
	if ((rc = add_device_stop(g, bond, at, marker)))
		return rc;
	uint64_t t = at + 2 * US;
	switch (way) {
	case WAY_UNBIND:
		if ((rc = add_op_expecting(g, SCN_OP_UNBIND, t, bond,
					   marker ? SCN_F_STOP_MARKER : 0, drain_errs)))
			return rc;
		if (drain_errs[0]) {
			/* The driver forces what would not go (nothing if it went). */
			scn_op_init(&op, SCN_OP_UNBIND, t + 1 * US, bond);
			op.flags = SCN_F_FORCE;
			op.nexpect = 0; /* any */
			if ((rc = add_op(g, &op)))
				return rc;
		}
		return add_op_expecting(g, SCN_OP_BIND, t + 2 * US, bond, 0, bind_errs);
	case WAY_FORCE:
		if ((rc = add_op_expecting(g, SCN_OP_UNBIND, t, bond, SCN_F_FORCE, none)))
			return rc;
		return add_op_expecting(g, SCN_OP_BIND, t + 1 * US, bond, 0, bind_errs);
	case WAY_NO_DRAIN:
	case WAY_FORCE_NO_DRAIN: {
		uint32_t flags = SCN_F_NO_DRAIN | (way == WAY_FORCE_NO_DRAIN ? SCN_F_FORCE : 0);
		if ((rc = add_op_expecting(g, SCN_OP_UNBIND, t, bond, flags, none)))
			return rc;
		return add_op_expecting(g, SCN_OP_BIND, t + 1 * US, bond, 0, none);
	}
	default: {
		unsigned drains = way == WAY_PAUSE_TWICE ? 2 : 1;
		for (unsigned i = 0; i < drains; i++)
			if ((rc = add_op_expecting(g, SCN_OP_DRAIN, t + i * US, bond, 0, drain_errs)))
				return rc;
		int resume_errs[2] = { drain_errs[0] ? -PRQD_EINVAL : 0, 0 };
		if ((rc = add_op_expecting(g, SCN_OP_RESUME, t + 2 * US, bond, 0, resume_errs)))
			return rc;
		return add_simple(g, SCN_OP_DEVICE_START, t + 3 * US, bond, 0);
	}
	}
}

/*
 * One episode of a driver stopping a bond at @at, in one of two ways:
 *  - teardown: stop the PASID at the device, wait for the stop to complete (no marker),
 *    unbind (stop-marker flag after a marker), bind again: a new generation;
 *  - pause (@pause): stop at the device, wait, drain, resume the same generation, restart
 *    the PASID at the device (a driver that reset its context and goes on).
 * On a device whose ATC never answers the drain fails (-ETIMEDOUT, or -EIO with an ITE
 * timeout), and the driver forces an unbind and tries to bind again either way: the forced
 * unbind quarantines the PASID, and lifting it needs a drain that this device can never
 * complete, so that bind fails the same way.
 */
static int add_episode(struct gen *g, unsigned bond, uint64_t at, bool pause)
{
	const struct scn_bond *b = &g->s->bonds[bond];
	const struct scn_device *d = &g->s->devices[b->dev];
	bool marker = d->cfg.uses_stop_markers && b->pasid != PRQD_NO_PASID;
	bool never = g->roles[b->dev] & ROLE_ATC_NEVER;
	struct scn_op op;
	int rc;

	if ((rc = add_device_stop(g, bond, at, marker)))
		return rc;
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
		scn_op_init(&op, SCN_OP_BIND, at + 4 * US, bond);
		op.nexpect = 2;
		op.expect[0] = -PRQD_ETIMEDOUT;
		op.expect[1] = -PRQD_EIO;
		return add_op(g, &op);
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
			rc = o->explore ? add_explored_episode(g, b, at)
					: add_episode(g, b, at, chance(&g->rng, 400));
			if (rc)
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
			/* Reset with the library's device-wide stop, drain and resume around it.
			 * Without page-drain nothing can drain a whole device (no marker speaks
			 * for every PASID): the drain is refused and the resume with it. */
			int drain_errs[6];
			atc_errors(g, i, drain_errs);
			if (!g->page_drain)
				errors_add(drain_errs, -PRQD_EOPNOTSUPP);
			int resume_errs[2] = { drain_errs[0] ? -PRQD_EINVAL : 0, 0 };
			if ((rc = add_simple(g, SCN_OP_DEV_STOP, at, i, 0)) ||
			    (rc = add_op_expecting(g, SCN_OP_DEV_DRAIN, at + 1 * US, i, 0,
						   drain_errs)) ||
			    (rc = add_simple(g, SCN_OP_FLR, at + 20 * US, i, 0)) ||
			    (rc = add_op_expecting(g, SCN_OP_DEV_RESUME, at + 21 * US, i, 0,
						   resume_errs)))
				return rc;
		}
	}
	return 0;
}

/* The sizes and injections of an explored workload, from its seed. */
static void explore_options(struct scn_workload *o, struct rng *r)
{
	o->devices = (unsigned)rnd_range(r, 1, 4);
	o->pasids = (unsigned)rnd_range(r, 1, 6);
	o->requests = rnd_range(r, 50, chance(r, 200) ? 5000 : 1000);
	o->teardown_rate = (unsigned)rnd_range(r, 200, 1000);
	o->overflow = chance(r, 400);
	o->inject = (uint32_t)rnd(r) & ((SCN_INJECT_MISBEHAVE << 1) - 1);
}

static int add_param_u64(struct scn *s, const char *name, uint64_t v)
{
	char text[24];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	return scn_add_param(s, name, text, 0);
}

/* The library and model parameters of an explored workload. */
static int explore_params(struct gen *g)
{
	static const uint64_t pool_max[] = { 2, 8, 64, 4096 };
	struct rng *r = &g->rng;
	g->page_drain = !chance(r, 250);
	uint64_t ite_us = chance(r, 300) ? rnd_range(r, 20, 400) : 0;
	g->ite = ite_us != 0;
	int rc = 0;
	if (rc >= 0)
		rc = add_param_u64(g->s, "sim.page_drain", g->page_drain);
	if (rc >= 0)
		rc = add_param_u64(g->s, "sim.ite_timeout_us", ite_us);
	if (rc >= 0)
		rc = scn_add_param(g->s, "sim.overflow_response",
				   chance(r, 500) ? "success" : "invalid", 0);
	if (rc >= 0)
		rc = add_param_u64(g->s, "core.drain_timeout_ms", rnd_range(r, 1, 5));
	if (rc >= 0)
		rc = add_param_u64(g->s, "core.pool_max", pool_max[rnd_range(r, 0, 3)]);
	if (rc >= 0)
		rc = add_param_u64(g->s, "core.pool_slack", rnd_range(r, 0, 1) ? 64 : rnd_range(r, 0, 8));
	if (rc >= 0)
		rc = add_param_u64(g->s, "core.fetch_batch", rnd_range(r, 1, 64));
	return rc;
}

/*
 * Explored workloads sometimes bind a PASID late, on the first device: before the bind the
 * device already sent requests for it, which may wait in the queue (the poll is slow in an
 * overflow workload). They belong to nobody and must never reach the bond; traffic after
 * the bind is the bond's. The device stops using the PASID and the driver waits for that
 * before binding it (a device must not use a PASID nobody bound: what it sends then and is
 * still on the wire at the bind cannot be told from the new bond's). PASID 0 is never one
 * of the regular bonds (theirs start at 1).
 */
static int add_late_bind(struct gen *g)
{
	struct scn_bond b;
	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "late");
	b.dev = 0;
	b.pasid = 0;
	b.bound = false;
	b.handler.kind = SCN_HANDLER_SUCCESS;
	int bond = scn_add_bond(g->s, &b);
	if (bond < 0)
		return bond;
	uint64_t every = rnd_range(&g->rng, 200, 2 * US);
	uint32_t count = (uint32_t)rnd_range(&g->rng, 1, 8);
	uint64_t at = rnd_range(&g->rng, 0, 20 * US);
	struct scn_op op;
	scn_op_init(&op, SCN_OP_FAULT, at, 0);
	op.on_device = true;
	op.pasid = 0;
	op.count = count;
	op.every_ns = every;
	int rc = add_op(g, &op);
	uint64_t stop_at = at + count * every + rnd_range(&g->rng, 0, 2 * US);
	if (rc == 0)
		rc = add_device_stop(g, (unsigned)bond, stop_at, false);
	if (rc == 0)
		rc = add_simple(g, SCN_OP_BIND, stop_at + 2 * US, (unsigned)bond, 0);
	if (rc == 0)
		rc = add_fault(g, (unsigned)bond, stop_at + 50 * US, 1, count, every);
	return rc;
}

int scn_generate(const struct scn_workload *opts, struct scn **out)
{
	struct gen g;
	char file[64];
	int rc;
	struct scn_workload explored;
	const struct scn_workload *o = opts;

	if (!o || o->devices < 1 || o->devices > 256 || o->pasids < 1 || o->pasids > 4096 ||
	    (uint64_t)o->devices * o->pasids > 65536 || o->requests < 1 ||
	    o->requests > 100000000ull || o->teardown_rate > 1000)
		return -EINVAL;
	memset(&g, 0, sizeof(g));
	g.rng.s = o->seed ^ 0x5eed5eed5eed5eedull;
	g.page_drain = true;
	if (o->explore) {
		explored = *o;
		explore_options(&explored, &g.rng);
		o = &explored;
	}
	g.o = o;
	snprintf(file, sizeof(file), "%s-%llu", o->explore ? "explore" : "random",
		 (unsigned long long)o->seed);
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
	rc = o->explore ? explore_params(&g) : scn_add_param(g.s, "core.drain_timeout_ms", "5", 0);
	if (rc >= 0)
		rc = gen_devices(&g);
	if (rc >= 0)
		rc = gen_bonds(&g);
	if (rc >= 0)
		rc = gen_traffic(&g);
	if (rc >= 0)
		rc = gen_device_events(&g);
	if (rc >= 0 && o->explore && g.roles[0] == 0 &&
	    chance(&g.rng, 300))
		rc = add_late_bind(&g);
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
