/* SPDX-License-Identifier: MIT */
/*
 * backends/sim/uevent-sim.c: the uevent monitor on the simulator (see uevent-sim.h).
 *
 * Like the scenario runner, everything happens as events of one world: a poll event consumes
 * the queue, one generator per bond faults steadily, and a library call that blocks (the
 * drain of BEGIN_RECOVERY) polls with the platform's relax(), which runs the world, so
 * traffic goes on during it. What the bench adds to the monitor are only the checker's
 * notifications the runner would make for the same library calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sim/uevent-sim.h"

/* A generator retrying after -EAGAIN waits at least this long. */
#define RETRY_MIN_NS 500u
/* Bound on the events run while the world runs dry at the end. */
#define DRY_RUN_STEPS 2000000u

struct uevent_sim;

struct udev {
	struct sim_dev *sd;
	struct prqd_dev *pd;
	uint16_t rid;
	bool removed;
	char slot[16];
};

struct ubond {
	struct uevent_sim *u;
	unsigned dev;
	uint32_t pasid;
	int code;            /* what the handler answers */
	struct prqd_bond *b; /* NULL once unbound */
	uint32_t gen;
	uint64_t delivered;
	uint64_t sent;
	uint64_t base;       /* the generator's address window */
	bool gen_active;
	char name[SCN_NAME_MAX + 1];
};

struct uevent_sim {
	struct sim_world *w;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct prqd_monitor *mon;
	struct udev *devs;
	struct ubond *bonds;
	unsigned ndevs, nbonds;
	uint64_t poll_ns;
	bool in_lib;    /* a library call runs: the poll event leaves the queue to it */
	bool finishing; /* generators stop */
	bool stop_poll;
};

static uint64_t now(const struct uevent_sim *u)
{
	return sim_now(u->w);
}

/* ---- handler, traffic, polling ------------------------------------------------------------ */

static int handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct ubond *ub = cookie;
	sim_check_delivery(ub->u->w, prqd_bond_gen(bond), group);
	ub->delivered++;
	return ub->code;
}

static void gen_event(struct sim_world *w, void *arg, uint64_t unused)
{
	struct ubond *ub = arg;
	struct uevent_sim *u = ub->u;
	(void)unused;
	/* A bond's traffic ends with the bond: its user is gone. */
	if (u->finishing || !ub->b) {
		ub->gen_active = false;
		return;
	}
	uint64_t addr = ub->base + (ub->sent % 65536) * 4096;
	int rc = sim_dev_fault(u->devs[ub->dev].sd, ub->pasid, addr, 1, SIM_R);
	uint64_t next = UEVENT_SIM_FAULT_EVERY_NS;
	if (rc == 0) {
		ub->sent++;
	} else if (rc == -EAGAIN) {
		/* No credit or index free: the device tries again once responses came. */
		if (next < RETRY_MIN_NS)
			next = RETRY_MIN_NS;
	} else {
		/* -ESHUTDOWN: removed, or PRI disabled. */
		ub->gen_active = false;
		return;
	}
	if (sim_schedule(w, now(u) + next, gen_event, ub, 0) < 0)
		ub->gen_active = false;
}

static void process_now(struct uevent_sim *u)
{
	u->in_lib = true;
	(void)prqd_iommu_process(u->io, 0);
	u->in_lib = false;
}

static void poll_event(struct sim_world *w, void *arg, uint64_t unused)
{
	struct uevent_sim *u = arg;
	(void)unused;
	if (u->stop_poll)
		return;
	if (!u->in_lib)
		process_now(u);
	if (sim_schedule(w, now(u) + u->poll_ns, poll_event, u, 0) < 0)
		u->stop_poll = true;
}

/* ---- setup ------------------------------------------------------------------------------ */

__attribute__((format(printf, 4, 5))) static int setup_error(char *err, size_t errlen, int rc,
							     const char *fmt, ...)
{
	if (errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc < 0 ? rc : -EINVAL;
}

/* The built-in setup: what a small error-recovery test needs and no more. */
static int builtin(struct scn **out)
{
	struct scn *s;
	int rc = scn_new("built-in", &s);
	if (rc < 0)
		return rc;
	s->seed = 1;
	static const struct {
		const char *name;
		uint16_t rid;
	} devs[] = { { "dev1", 0x0008 }, { "dev2", 0x0010 } };
	static const struct {
		const char *name;
		unsigned dev;
		uint32_t pasid;
	} bonds[] = {
		{ "dev1-p1", 0, 1 }, { "dev1-p2", 0, 2 }, { "dev1-rid", 0, PRQD_NO_PASID },
		{ "dev2-p1", 1, 1 }, { "dev2-p2", 1, 2 },
	};
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]) && rc >= 0; i++) {
		struct scn_device d;
		scn_device_init(&d, devs[i].name, devs[i].rid);
		rc = scn_add_device(s, &d);
	}
	for (size_t i = 0; i < sizeof(bonds) / sizeof(bonds[0]) && rc >= 0; i++) {
		struct scn_bond b = { .dev = bonds[i].dev, .pasid = bonds[i].pasid, .bound = true };
		snprintf(b.name, sizeof(b.name), "%s", bonds[i].name);
		b.handler.kind = SCN_HANDLER_SUCCESS;
		rc = scn_add_bond(s, &b);
	}
	if (rc < 0) {
		scn_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static int bind_bond(struct uevent_sim *u, struct ubond *ub)
{
	int rc = prqd_bind(u->devs[ub->dev].pd, ub->pasid, handler, ub, &ub->b);
	if (rc < 0)
		return rc;
	ub->gen = prqd_bond_gen(ub->b);
	sim_set_epoch(u->w, u->devs[ub->dev].rid, ub->pasid, ub->gen);
	return 0;
}

static int setup(struct uevent_sim *u, const struct scn *s, uint64_t seed, char *err,
		 size_t errlen)
{
	struct sim_config cfg;
	int rc;

	scn_sim_config(s, &cfg);
	rc = sim_world_new(prqd_platform_default(), seed ? seed : s->seed, &cfg, &u->w);
	if (rc < 0)
		return setup_error(err, errlen, rc, "cannot create the simulated world (%d)", rc);
	u->poll_ns = s->poll_ns ? s->poll_ns : 2000;

	rc = sim_ctx_new(u->w, &u->ctx);
	if (rc < 0)
		return setup_error(err, errlen, rc, "prqd_ctx_new failed (%d)", rc);
	for (unsigned i = 0; i < s->nparams; i++) {
		rc = prqd_ctx_set_param(u->ctx, s->params[i].name, s->params[i].value);
		if (rc < 0)
			return setup_error(err, errlen, rc, "%s:%u: parameter %s=%s: %s", s->file,
					   s->params[i].line, s->params[i].name,
					   s->params[i].value, strerror(-rc));
	}
	rc = prqd_iommu_open(u->ctx, "sim", NULL, &u->io);
	if (rc < 0)
		return setup_error(err, errlen, rc, "prqd_iommu_open(sim) failed: %s",
				   strerror(-rc));
	rc = prqd_monitor_new(0, &u->mon);
	if (rc < 0)
		return setup_error(err, errlen, rc, "prqd_monitor_new failed: %s", strerror(-rc));

	u->devs = calloc(s->ndevices ? s->ndevices : 1, sizeof(*u->devs));
	u->bonds = calloc(s->nbonds ? s->nbonds : 1, sizeof(*u->bonds));
	if (!u->devs || !u->bonds)
		return setup_error(err, errlen, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < s->ndevices; i++) {
		struct udev *d = &u->devs[i];
		struct sim_dev_cfg dc = s->devices[i].cfg;
		struct prqd_dev_info info;
		rc = sim_dev_add(u->w, &dc, &d->sd);
		if (rc < 0)
			return setup_error(err, errlen, rc, "device %s: sim_dev_add failed: %s",
					   s->devices[i].name, strerror(-rc));
		sim_dev_info(d->sd, &info);
		rc = prqd_dev_add(u->io, &info, &d->pd);
		if (rc < 0)
			return setup_error(err, errlen, rc, "device %s: prqd_dev_add failed: %s",
					   s->devices[i].name, strerror(-rc));
		u->ndevs++;
		d->rid = dc.rid;
		snprintf(d->slot, sizeof(d->slot), "0000:%02x:%02x.%x", dc.rid >> 8,
			 (dc.rid >> 3) & 0x1f, dc.rid & 7);
		/* Simulated devices live in PCI domain 0 as far as the monitor knows. */
		rc = prqd_monitor_add_dev(u->mon, 0, d->pd);
		if (rc < 0)
			return setup_error(err, errlen, rc, "device %s: prqd_monitor_add_dev: %s",
					   s->devices[i].name, strerror(-rc));
	}
	for (unsigned i = 0; i < s->nbonds; i++) {
		const struct scn_bond *sb = &s->bonds[i];
		struct ubond *ub = &u->bonds[i];
		ub->u = u;
		ub->dev = sb->dev;
		ub->pasid = sb->pasid;
		ub->code = sb->handler.kind == SCN_HANDLER_INVALID ? PRQD_RESP_INVALID
								    : PRQD_RESP_SUCCESS;
		ub->base = ((uint64_t)i + 1) << 28;
		snprintf(ub->name, sizeof(ub->name), "%s", sb->name);
		u->nbonds++;
		if (!sb->bound)
			continue;
		rc = bind_bond(u, ub);
		if (rc < 0)
			return setup_error(err, errlen, rc, "bond %s: prqd_bind failed: %s", sb->name,
					   strerror(-rc));
		ub->gen_active = true;
		if (sim_schedule(u->w, 0, gen_event, ub, 0) < 0)
			return setup_error(err, errlen, -ENOMEM, "out of memory");
	}
	if (sim_schedule(u->w, 0, poll_event, u, 0) < 0)
		return setup_error(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

int uevent_sim_new(const struct scn *s, uint64_t seed, struct uevent_sim **out, char *err,
		   size_t errlen)
{
	struct scn *own = NULL;
	if (errlen)
		err[0] = '\0';
	if (!s) {
		int rc = builtin(&own);
		if (rc < 0)
			return setup_error(err, errlen, rc, "cannot build the built-in setup (%d)",
					   rc);
		s = own;
	}
	struct uevent_sim *u = calloc(1, sizeof(*u));
	if (!u) {
		scn_free(own);
		return setup_error(err, errlen, -ENOMEM, "out of memory");
	}
	int rc = setup(u, s, seed, err, errlen);
	scn_free(own);
	if (rc < 0) {
		uevent_sim_free(u);
		return rc;
	}
	*out = u;
	return 0;
}

/* ---- running ------------------------------------------------------------------------------ */

struct prqd_monitor *uevent_sim_monitor(struct uevent_sim *u)
{
	return u->mon;
}

void uevent_sim_run(struct uevent_sim *u, uint64_t ns)
{
	sim_run_until(u->w, now(u) + ns);
}

static struct udev *dev_of(struct uevent_sim *u, const struct prqd_dev *pd)
{
	for (unsigned i = 0; i < u->ndevs; i++)
		if (u->devs[i].pd == pd)
			return &u->devs[i];
	return NULL;
}

/* Tell the checker which generation owns (rid, pasid) for every live bond of @d. */
static void set_epochs(struct uevent_sim *u, const struct udev *d, bool live)
{
	for (unsigned i = 0; i < u->nbonds; i++) {
		struct ubond *ub = &u->bonds[i];
		if (&u->devs[ub->dev] == d && ub->b)
			sim_set_epoch(u->w, d->rid, ub->pasid, live ? ub->gen : 0);
	}
}

int uevent_sim_feed(struct uevent_sim *u, const void *buf, size_t len,
		    const struct prqd_uevent_origin *origin, struct prqd_monitor_result *res)
{
	struct prqd_monitor_result r = { 0 };
	struct prqd_uevent ev;
	struct udev *d = NULL;
	int planned = PRQD_MON_NONE;
	bool is_remove = false;

	/* The monitor decides; the bench only needs to know beforehand what a forced unbind
	 * would end (the checker must hear of it before the call) and when a drain began. */
	if (buf && prqd_uevent_parse(buf, len, &ev) == 0) {
		uint32_t domain;
		uint16_t rid;
		if (prqd_uevent_pci_function(&ev, &domain, &rid) == 0 && domain == 0)
			for (unsigned i = 0; i < u->ndevs; i++)
				if (u->devs[i].rid == rid)
					d = &u->devs[i];
		planned = prqd_uevent_decide(&ev);
		is_remove = ev.action == PRQD_UEVENT_REMOVE;
	}
	if (d && planned == PRQD_MON_FORCE_UNBIND)
		set_epochs(u, d, false);
	uint64_t start = now(u);

	u->in_lib = true;
	int status = prqd_monitor_feed(u->mon, buf, len, origin, &r);
	u->in_lib = false;

	struct udev *acted = status == 0 ? dev_of(u, r.dev) : NULL;
	if (d && planned == PRQD_MON_FORCE_UNBIND && (acted != d || r.action_result < 0))
		set_epochs(u, d, true); /* refused or failed: the bonds live on */
	if (acted) {
		if (r.action == PRQD_MON_FORCE_UNBIND && r.action_result == 0)
			for (unsigned i = 0; i < u->nbonds; i++)
				if (&u->devs[u->bonds[i].dev] == acted)
					u->bonds[i].b = NULL;
		if (r.action == PRQD_MON_STOP_DRAIN && r.action_result == 0)
			sim_check_drain_done(u->w, PRQD_SCOPE_DEVICE, acted->rid, PRQD_NO_PASID,
					     start);
		/* A remove event reports a device that is gone: the simulated one goes now. */
		if (is_remove && !acted->removed) {
			sim_dev_remove(acted->sd);
			acted->removed = true;
		}
	}
	if (res)
		*res = r;
	return status;
}

unsigned uevent_sim_nbonds(const struct uevent_sim *u)
{
	return u->nbonds;
}

const char *uevent_sim_bond_name(const struct uevent_sim *u, unsigned i)
{
	return i < u->nbonds ? u->bonds[i].name : "?";
}

const char *uevent_sim_bond_slot(const struct uevent_sim *u, unsigned i)
{
	return i < u->nbonds ? u->devs[u->bonds[i].dev].slot : "?";
}

int uevent_sim_bond_state(const struct uevent_sim *u, unsigned i)
{
	if (i >= u->nbonds || !u->bonds[i].b)
		return PRQD_BOND_FREED;
	return prqd_bond_state(u->bonds[i].b);
}

uint64_t uevent_sim_bond_delivered(const struct uevent_sim *u, unsigned i)
{
	return i < u->nbonds ? u->bonds[i].delivered : 0;
}

/* ---- the end -------------------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void report_error(struct uevent_sim_report *rep,
							       const char *fmt, ...)
{
	if (rep->error[0])
		return; /* the first one is the one worth reading */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
}

int uevent_sim_finish(struct uevent_sim *u, struct uevent_sim_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	u->finishing = true;
	for (unsigned i = 0; i < u->nbonds; i++) {
		struct ubond *ub = &u->bonds[i];
		if (!ub->b)
			continue;
		struct udev *d = &u->devs[ub->dev];
		rep->unbound_at_end++;
		sim_set_epoch(u->w, d->rid, ub->pasid, 0);
		uint64_t start = now(u);
		u->in_lib = true;
		int rc = prqd_unbind(ub->b, d->removed ? PRQD_UNBIND_FORCE : 0);
		if (rc < 0 && !d->removed)
			rc = prqd_unbind(ub->b, PRQD_UNBIND_FORCE);
		else if (rc == 0 && !d->removed)
			sim_check_drain_done(u->w,
					     ub->pasid == PRQD_NO_PASID ? PRQD_SCOPE_RID
									: PRQD_SCOPE_PASID,
					     d->rid, ub->pasid, start);
		u->in_lib = false;
		if (rc < 0)
			report_error(rep, "end: prqd_unbind(%s) returned %d", ub->name, rc);
		ub->b = NULL;
	}
	/* Run dry: stragglers reach the queue and are answered (no bond: Invalid). */
	u->stop_poll = true;
	for (unsigned long steps = 0; steps < DRY_RUN_STEPS; steps++) {
		process_now(u);
		if (!sim_step(u->w))
			break;
	}
	process_now(u);
	rep->end_ns = now(u);
	prqd_monitor_stats(u->mon, &rep->monitor, sizeof(rep->monitor));
	prqd_monitor_free(u->mon);
	u->mon = NULL;
	prqd_iommu_stats(u->io, &rep->stats, sizeof(rep->stats));
	for (unsigned i = 0; i < u->ndevs; i++) {
		int rc = prqd_dev_remove(u->devs[i].pd);
		if (rc < 0)
			report_error(rep, "end: prqd_dev_remove(%s) returned %d", u->devs[i].slot,
				     rc);
		else
			u->devs[i].pd = NULL;
	}
	if (prqd_iommu_close(u->io) == 0) {
		u->io = NULL;
		u->ctx = prqd_ctx_unref(u->ctx);
		sim_check_finish(u->w);
	} else {
		report_error(rep, "end: prqd_iommu_close failed");
	}
	rep->violations = sim_violation_total(u->w);
	if (rep->violations) {
		const struct sim_violation *v = sim_violation_get(u->w, 0);
		if (v)
			snprintf(rep->first_violation, sizeof(rep->first_violation),
				 "%s at %llu ns, rid %04x pasid %u index %u: %s",
				 sim_violation_name(v->kind), (unsigned long long)v->time_ns, v->rid,
				 v->pasid, v->prg_index, v->detail);
	}
	bool ok = rep->violations == 0 && rep->error[0] == '\0';
	uevent_sim_free(u);
	return ok ? 0 : -EPROTO;
}

void uevent_sim_free(struct uevent_sim *u)
{
	if (!u)
		return;
	prqd_monitor_free(u->mon);
	if (u->io) {
		/* A bench torn down without uevent_sim_finish(): force out what is left so
		 * the IOMMU can close (nothing is checked any more). */
		u->finishing = true;
		u->stop_poll = true;
		for (unsigned i = 0; i < u->nbonds; i++)
			if (u->bonds[i].b)
				prqd_unbind(u->bonds[i].b, PRQD_UNBIND_FORCE);
		for (unsigned i = 0; i < u->ndevs; i++)
			if (u->devs[i].pd)
				prqd_dev_remove(u->devs[i].pd);
		prqd_iommu_close(u->io);
	}
	if (u->ctx)
		prqd_ctx_unref(u->ctx);
	if (u->w)
		sim_world_free(u->w);
	free(u->devs);
	free(u->bonds);
	free(u);
}
