/* SPDX-License-Identifier: MIT */
/*
 * The scenario runner: plays a struct scn against libprqdrain on a simulated world.
 *
 * Everything happens as events of one world, in simulated time:
 *  - a poll event every scn.poll_ns calls prqd_iommu_process(), as an interrupt thread would;
 *  - each `at` operation is an event at its time;
 *  - each `fault` starts a traffic generator: one event per group it sends (or retries);
 *  - deferred handler answers are events that call prqd_respond().
 *
 * Blocking library calls (drain, unbind, dev-drain) run inside their event; the library
 * polls with the platform's relax(), which runs the world's next event, so traffic, device
 * events and deferred answers keep happening while a drain waits. That is how the races the
 * library must survive (answers landing during an unbind, a device removed mid-drain) are
 * produced. The driver's operations themselves are serialised, as the platform contract asks
 * of an embedder without locks (and as a driver's program order would have them): one due
 * while another runs waits in a FIFO until it returns, and the poll event leaves the queue
 * to the blocking call (which consumes it itself).
 *
 * A run ends when every operation ran, every generator finished and no deferred answer is
 * pending, plus the scenario's settle time (or at its limit). Then the runner unbinds what is
 * still bound, lets the world run dry, removes the devices, closes the library and asks the
 * checker for its verdict. Expectations are evaluated last.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "backends/sim/sim-pool.h"

/* A generator retrying after -EAGAIN waits at least this long (its `every` may be 1 ns). */
#define RETRY_MIN_NS 500u
/* Bound on the events run after the teardown, when the world should be running dry. */
#define DRY_RUN_STEPS 2000000u

struct run;

struct rdev {
	struct sim_dev *sd;
	struct prqd_dev *pd;
	bool removed;
	/* Generators refused with -EAGAIN wait here in arrival order; one retry event per
	 * device tries them from the head, so a crowd of waiting generators costs one try per
	 * retry, not one each. */
	int64_t wait_head, wait_tail; /* op indexes, -1: none */
	bool retry_scheduled;
};

struct rbond {
	struct run *run;
	unsigned idx;
	struct prqd_bond *b; /* NULL while not bound */
	uint32_t gen;        /* of the current (or last) binding */
	bool dev_stopped;    /* stopped at the device since its last bind (needs a restart) */
	unsigned unbound_line; /* the op that unbound it, for messages */
	struct scn_bond_counters c;
};

struct rgen {
	uint64_t base, sent; /* address window and groups sent so far */
	uint32_t left;
	bool active;
	bool waiting;        /* on its device's wait list */
	int64_t wait_next;   /* next op index on that list, -1: none */
};

/* A group a handler deferred. */
struct rdefer {
	struct prqd_group *g;
	uint32_t bond;
	uint32_t seq;      /* must match the event's, since slots are reused */
	uint8_t code;
	bool live;
	bool timed;        /* an event will answer it */
};

struct run {
	const struct scn *s;
	const struct scn_run_opts *o;
	struct scn_result *res;

	struct sim_world *w;
	const struct prqd_platform *plat;
	struct prqd_ctx *ctx;
	struct prqd_iommu *io;
	struct prqd_trace_json *tw;

	struct rdev *devs;
	struct rbond *bonds;
	struct rgen *gens; /* one per op (used by fault ops) */
	bool *op_ran;

	struct sim_pool defers; /* of struct rdefer, from the world's memory */
	uint32_t defer_seq;
	unsigned timers_pending;

	unsigned *fifo; /* serialised ops waiting for the running one */
	size_t fifo_head, fifo_len, fifo_cap;
	bool busy;      /* a serialised op is running */
	bool in_lib;    /* a library call is running (the poll event stays out) */

	unsigned ops_done;
	uint64_t requests_given_up; /* planned requests of generators that ended early */
	unsigned bonds_finished;    /* bonds the end of the run has dealt with */
	char busy_what[SCN_FILE_MAX + 64]; /* the operation running now, for the progress display */
	unsigned gens_active;
	bool finishing; /* the scenario is over: generators and ops stop */
	bool stop_poll;
	bool process_error_seen;

	uint64_t *lat;
	size_t nlat, cap_lat;
};

/* ---- messages ------------------------------------------------------------------------------ */

static void add_message(struct scn_result *res, const char *fmt, va_list ap)
{
	if (res->nmessage < SCN_MAX_MESSAGES)
		vsnprintf(res->message[res->nmessage++], SCN_MESSAGE_LEN, fmt, ap);
}

/* One failed check of the runner's own: an operation's result (its expect= list, a bind, the
 * end-of-run unbinds), an operation that never ran. Checks that pass count with passed(). */
__attribute__((format(printf, 2, 3))) static void fail(struct run *r, const char *fmt, ...)
{
	r->res->checks++;
	r->res->checks_failed++;
	va_list ap;
	va_start(ap, fmt);
	add_message(r->res, fmt, ap);
	va_end(ap);
}

/* One of the file's `expect` lines that did not hold. */
__attribute__((format(printf, 2, 3))) static void expect_failed(struct run *r, const char *fmt,
								...)
{
	r->res->expectations++;
	r->res->expectations_failed++;
	va_list ap;
	va_start(ap, fmt);
	add_message(r->res, fmt, ap);
	va_end(ap);
}

static const char *op_target(const struct run *r, const struct scn_op *op)
{
	if (!scn_op_has_target(op))
		return "";
	return scn_op_on_device(op) ? r->s->devices[op->target].name
				    : r->s->bonds[op->target].name;
}

static void describe_op(const struct run *r, const struct scn_op *op, char *buf, size_t n)
{
	if (op->line)
		snprintf(buf, n, "%s:%u: %s %s", r->s->file, op->line, scn_op_name(op->kind),
			 op_target(r, op));
	else
		snprintf(buf, n, "%s: op at %lluns: %s %s", r->s->file,
			 (unsigned long long)op->at_ns, scn_op_name(op->kind), op_target(r, op));
}

static void passed(struct run *r)
{
	r->res->checks++;
}

/* Compare an operation's result with its expect= list. */
static void check_result(struct run *r, const struct scn_op *op, int got)
{
	if (op->nexpect == 0) {
		passed(r);
		return;
	}
	for (unsigned i = 0; i < op->nexpect; i++) {
		if (op->expect[i] == got) {
			passed(r);
			return;
		}
	}
	char what[SCN_FILE_MAX + 96], want[64];
	size_t used = 0;
	want[0] = '\0';
	for (unsigned i = 0; i < op->nexpect && used < sizeof(want); i++) {
		int k = snprintf(want + used, sizeof(want) - used, "%s%s", i ? "|" : "",
				 scn_errno_name(op->expect[i]));
		if (k < 0)
			break;
		used += (size_t)k;
	}
	describe_op(r, op, what, sizeof(what));
	fail(r, "%s returned %s%s, expected %s", what, got ? "-" : "", scn_errno_name(got), want);
}

static void not_bound(struct run *r, const struct scn_op *op, const struct rbond *rb)
{
	char what[SCN_FILE_MAX + 96];
	if (op->nexpect == 0) {
		passed(r);
		return;
	}
	describe_op(r, op, what, sizeof(what));
	if (rb->unbound_line)
		fail(r, "%s: the bond is not bound (unbound at line %u)", what, rb->unbound_line);
	else
		fail(r, "%s: the bond is not bound", what);
}

/* ---- small helpers ---------------------------------------------------------------------------- */

static void relax(struct run *r)
{
	r->plat->relax(r->plat->user);
}

static uint64_t now(const struct run *r)
{
	return sim_now(r->w);
}

/* A library call begins (it may block: the progress display names it meanwhile). */
static void lib_enter(struct run *r, const char *call, const char *target)
{
	if (r->o->progress)
		snprintf(r->busy_what, sizeof(r->busy_what), "%s%s%s%s", r->finishing ?
			 "end of run: " : "", call, *target ? " " : "", target);
	r->in_lib = true;
}

/* The library call ends. One that @acted (a control call; a process() that read requests; a
 * deferred answer sent) marks the run's last event, which the summary gives as the run's
 * length: after it the world may idle on, running timers that change nothing. Taken here
 * rather than from the library's trace, which would cost every request a trace event. */
static void lib_leave(struct run *r, bool acted)
{
	r->in_lib = false;
	if (acted && now(r) > r->res->last_event_ns)
		r->res->last_event_ns = now(r);
}

static uint32_t timeout_ms(uint64_t ns)
{
	if (ns == 0)
		return 0; /* core.drain_timeout_ms */
	uint64_t ms = (ns + 999999) / 1000000;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void record_latency(struct run *r, uint64_t ns)
{
	if (r->nlat == r->cap_lat) {
		size_t ncap = r->cap_lat ? r->cap_lat * 2 : 64;
		uint64_t *n = realloc(r->lat, ncap * sizeof(*n));
		if (!n)
			return; /* the percentiles lose one sample; the run goes on */
		r->lat = n;
		r->cap_lat = ncap;
	}
	r->lat[r->nlat++] = ns;
}

static uint32_t drain_scope(uint32_t pasid)
{
	return pasid == PRQD_NO_PASID ? PRQD_SCOPE_RID : PRQD_SCOPE_PASID;
}

/* A drain (or an unbind's) returned 0 having started at @start: the checker verifies nothing
 * of the scope issued before @start is still on its way. */
static void drained(struct run *r, uint32_t scope, unsigned dev, uint32_t pasid, uint64_t start)
{
	sim_check_drain_done(r->w, scope, r->s->devices[dev].cfg.rid, pasid, start);
	record_latency(r, now(r) - start);
}

/* ---- handlers and deferred answers ----------------------------------------------------------- */

static void defer_answer(struct run *r, uint32_t slot, int code);

static struct rdefer *defer_at(const struct run *r, uint32_t slot)
{
	return sim_pool_at(&r->defers, slot);
}

static void defer_event(struct sim_world *w, void *arg, uint64_t arg2)
{
	struct run *r = arg;
	uint32_t slot = (uint32_t)arg2, seq = (uint32_t)(arg2 >> 32);
	(void)w;
	if (slot >= r->defers.cap || defer_at(r, slot)->seq != seq || !defer_at(r, slot)->live)
		return; /* answered already by a respond-deferred */
	r->timers_pending--;
	defer_at(r, slot)->timed = false;
	defer_answer(r, slot, defer_at(r, slot)->code);
}

/* Answer a held group and release its slot. */
static void defer_answer(struct run *r, uint32_t slot, int code)
{
	struct rdefer *d = defer_at(r, slot);
	if (d->timed) {
		d->timed = false;
		r->timers_pending--;
	}
	struct prqd_group *g = d->g;
	d->live = false;
	d->g = NULL;
	sim_pool_put(&r->defers, (int32_t)slot);
	int rc = prqd_respond(g, code);
	switch (rc) {
	case 0:
		lib_leave(r, true); /* a response went out */
		r->res->respond.ok++;
		break;
	case -PRQD_EALREADY:
		r->res->respond.already++;
		break;
	case -PRQD_ESTALE:
		r->res->respond.stale++;
		break;
	default:
		r->res->respond.error++;
		break;
	}
}

static int defer_group(struct run *r, struct rbond *rb, struct prqd_group *g)
{
	const struct scn_handler *h = &r->s->bonds[rb->idx].handler;
	uint32_t slot = (uint32_t)sim_pool_take(r->w, &r->defers);
	struct rdefer *d = defer_at(r, slot);
	d->g = g;
	d->bond = rb->idx;
	d->seq = ++r->defer_seq;
	d->live = true;
	d->timed = false;
	d->code = h->kind == SCN_HANDLER_DEFER ? h->code : PRQD_RESP_SUCCESS;
	rb->c.deferred++;
	if (h->kind == SCN_HANDLER_DEFER) {
		if (sim_schedule(r->w, now(r) + h->delay_ns, defer_event, r,
				 (uint64_t)d->seq << 32 | slot) < 0) {
			/* Undo: the handler answers at once instead. */
			d->live = false;
			sim_pool_put(&r->defers, (int32_t)slot);
			return -ENOMEM;
		}
		d->timed = true;
		r->timers_pending++;
	}
	return 0;
}

/* The fault handler of every bond: checks the delivery, then answers as the bond says. */
static int handler(void *cookie, struct prqd_bond *bond, struct prqd_group *group)
{
	struct rbond *rb = cookie;
	struct run *r = rb->run;
	const struct scn_handler *h = &r->s->bonds[rb->idx].handler;
	sim_check_delivery(r->w, prqd_bond_gen(bond), group);
	rb->c.delivered++;
	switch (h->kind) {
	case SCN_HANDLER_SUCCESS:
		return PRQD_RESP_SUCCESS;
	case SCN_HANDLER_INVALID:
		return PRQD_RESP_INVALID;
	case SCN_HANDLER_FAILURE:
		return PRQD_RESP_FAILURE;
	default:
		if (defer_group(r, rb, group) < 0) {
			fail(r, "%s: out of memory deferring a group of bond %s", r->s->file,
			     r->s->bonds[rb->idx].name);
			return PRQD_RESP_INVALID;
		}
		return PRQD_RESP_DEFER;
	}
}

/* ---- traffic generators ---------------------------------------------------------------------- */

static void gen_end(struct run *r, struct rgen *g)
{
	if (g->active) {
		g->active = false;
		r->gens_active--;
	}
}

static unsigned gen_device(const struct run *r, const struct scn_op *op)
{
	return op->on_device ? op->target : r->s->bonds[op->target].dev;
}

static void dev_retry_event(struct sim_world *w, void *arg, uint64_t dev);
static void gen_event(struct sim_world *w, void *arg, uint64_t idx);

/* Put generator @idx on its device's wait list (at the head when it was the one just
 * retried, so the order holds) and make sure a retry is due. */
static void gen_wait(struct run *r, uint64_t idx, bool at_head, uint64_t delay)
{
	const struct scn_op *op = &r->s->ops[idx];
	struct rgen *g = &r->gens[idx];
	struct rdev *rd = &r->devs[gen_device(r, op)];
	g->waiting = true;
	if (at_head) {
		g->wait_next = rd->wait_head;
		rd->wait_head = (int64_t)idx;
		if (rd->wait_tail < 0)
			rd->wait_tail = (int64_t)idx;
	} else {
		g->wait_next = -1;
		if (rd->wait_tail >= 0)
			r->gens[rd->wait_tail].wait_next = (int64_t)idx;
		else
			rd->wait_head = (int64_t)idx;
		rd->wait_tail = (int64_t)idx;
	}
	if (rd->retry_scheduled)
		return;
	if (sim_schedule(r->w, now(r) + delay, dev_retry_event, r, gen_device(r, op)) < 0) {
		fail(r, "%s: out of memory scheduling a retry", r->s->file);
		return;
	}
	rd->retry_scheduled = true;
}

/* One try of generator @idx. Returns false when the device refused it for now (-EAGAIN):
 * it is then on the device's wait list. */
static bool gen_try(struct run *r, uint64_t idx, bool retried)
{
	const struct scn_op *op = &r->s->ops[idx];
	struct rgen *g = &r->gens[idx];
	if (!g->active)
		return true;
	if (r->finishing) {
		gen_end(r, g);
		return true;
	}
	unsigned dev = gen_device(r, op);
	uint32_t pasid = op->on_device ? op->pasid : r->s->bonds[op->target].pasid;
	/* Walk a 256 MiB window so addresses stay distinct for a long while. */
	uint64_t addr = g->base + ((g->sent * op->pages) % 65536) * 4096;
	int rc = sim_dev_fault(r->devs[dev].sd, pasid, addr, op->pages, op->access);
	uint64_t next = op->every_ns;
	if (rc == 0) {
		r->res->traffic.groups++;
		r->res->traffic.requests += op->pages;
		g->sent++;
		if (--g->left == 0) {
			gen_end(r, g);
			return true;
		}
	} else if (rc == -EAGAIN) {
		/* No credit or no free index: the device tries again later, as a real one
		 * would after a response frees something. */
		r->res->traffic.eagain++;
		gen_wait(r, idx, retried, next < RETRY_MIN_NS ? RETRY_MIN_NS : next);
		return false;
	} else {
		/* -ESHUTDOWN: the PASID is stopped at the device, PRI is off after Response
		 * Failure, or the device is gone. The generator's work ends here. */
		r->res->traffic.refused++;
		r->requests_given_up += (uint64_t)g->left * op->pages;
		if (rc != -ESHUTDOWN) {
			char what[SCN_FILE_MAX + 96];
			describe_op(r, op, what, sizeof(what));
			fail(r, "%s: sim_dev_fault returned %d", what, rc);
		}
		gen_end(r, g);
		return true;
	}
	if (sim_schedule(r->w, now(r) + next, gen_event, r, idx) < 0)
		gen_end(r, g);
	return true;
}

static void gen_event(struct sim_world *w, void *arg, uint64_t idx)
{
	(void)w;
	gen_try(arg, idx, false);
}

/* A device's retry: its waiting generators in order, until one is refused again. */
static void dev_retry_event(struct sim_world *w, void *arg, uint64_t dev)
{
	struct run *r = arg;
	struct rdev *rd = &r->devs[dev];
	(void)w;
	rd->retry_scheduled = false;
	while (rd->wait_head >= 0) {
		uint64_t idx = (uint64_t)rd->wait_head;
		struct rgen *g = &r->gens[idx];
		rd->wait_head = g->wait_next;
		if (rd->wait_head < 0)
			rd->wait_tail = -1;
		g->waiting = false;
		if (!gen_try(r, idx, true))
			break;
	}
}

/* ---- operations ------------------------------------------------------------------------------ */

/*
 * The driver's own actions (library calls, and what it does to its device: stop or restart
 * a PASID, reset, wait for a stop) run one at a time in program order. What the world does
 * by itself (traffic, a surprise removal, a handler's deferred answers) happens at its time,
 * also while the driver is blocked in a drain.
 */
static bool serialised(uint8_t kind)
{
	switch (kind) {
	case SCN_OP_FAULT:
	case SCN_OP_REMOVE:
	case SCN_OP_RESPOND_DEFERRED:
	case SCN_OP_OVERFLOW:
		return false;
	default:
		return true;
	}
}

static int do_bind(struct run *r, struct rbond *rb)
{
	const struct scn_bond *sb = &r->s->bonds[rb->idx];
	struct rdev *rd = &r->devs[sb->dev];
	struct prqd_bond *nb;
	lib_enter(r, "prqd_bind", sb->name);
	int rc = prqd_bind(rd->pd, sb->pasid, handler, rb, &nb);
	lib_leave(r, true);
	if (rc < 0)
		return rc;
	if (rb->b)
		fail(r, "%s: prqd_bind(%s) succeeded while the previous binding was alive",
		     r->s->file, sb->name);
	rb->b = nb;
	rb->gen = prqd_bond_gen(nb);
	rb->c.binds++;
	rb->unbound_line = 0;
	sim_set_epoch(r->w, r->s->devices[sb->dev].cfg.rid, sb->pasid, rb->gen);
	/* The device restarts the PASID only once the new binding is live, so no request of
	 * the new user can belong to the old generation. */
	if (rb->dev_stopped && !rd->removed) {
		sim_dev_start_pasid(rd->sd, sb->pasid);
		rb->dev_stopped = false;
	}
	return 0;
}

static unsigned unbind_flags(uint32_t f)
{
	return (f & SCN_F_STOP_MARKER ? PRQD_UNBIND_STOP_MARKER : 0) |
	       (f & SCN_F_FORCE ? PRQD_UNBIND_FORCE : 0) |
	       (f & SCN_F_NO_DRAIN ? PRQD_UNBIND_NO_DRAIN : 0);
}

static int do_unbind(struct run *r, struct rbond *rb, unsigned flags, unsigned line)
{
	const struct scn_bond *sb = &r->s->bonds[rb->idx];
	uint16_t rid = r->s->devices[sb->dev].cfg.rid;
	uint64_t start = now(r);
	/* From here on the device's requests for the PASID belong to no bond. */
	sim_set_epoch(r->w, rid, sb->pasid, 0);
	lib_enter(r, "prqd_unbind", r->s->bonds[rb->idx].name);
	int rc = prqd_unbind(rb->b, flags);
	lib_leave(r, true);
	if (rc == 0) {
		rb->b = NULL;
		rb->unbound_line = line;
		if (!(flags & PRQD_UNBIND_FORCE)) {
			if (flags & PRQD_UNBIND_NO_DRAIN)
				sim_check_drain_done(r->w, drain_scope(sb->pasid), rid, sb->pasid,
						     start);
			else
				drained(r, drain_scope(sb->pasid), sb->dev, sb->pasid, start);
		}
	} else {
		/* Still bound (STOPPING): it keeps its generation. */
		sim_set_epoch(r->w, rid, sb->pasid, rb->gen);
	}
	return rc;
}

static void report_progress(struct run *r, bool finished)
{
	if (!r->o->progress)
		return;
	struct scn_progress p = {
		/* the end of the run counts one unit per bond (unbound there or not) */
		.total = r->res->traffic.planned + r->s->nops + r->s->nbonds,
		.now_ns = now(r),
		.waiting_for = r->in_lib ? r->busy_what : NULL,
		.finished = finished,
	};
	p.done = r->res->traffic.requests + r->requests_given_up + r->ops_done + r->bonds_finished;
	if (finished || p.done > p.total)
		p.done = p.total;
	if (finished) /* the run's length, as the summary gives it */
		p.now_ns = r->res->last_event_ns;
	r->o->progress(r->o->progress_user, &p);
}

/* While a library call polls (the world's relax), the display keeps moving. */
static void progress_while_blocked(void *user)
{
	struct run *r = user;
	if (r->in_lib)
		report_progress(r, false);
}

static void exec_op(struct run *r, unsigned idx)
{
	const struct scn_op *op = &r->s->ops[idx];
	struct rbond *rb = NULL;
	struct rdev *rd = NULL;
	unsigned dev_idx = 0;
	int rc = 0;
	r->op_ran[idx] = true;
	r->ops_done++;

	switch (op->kind) {
	case SCN_OP_DEV_STOP:
	case SCN_OP_DEV_DRAIN:
	case SCN_OP_DEV_RESUME:
	case SCN_OP_DEV_UNBIND:
	case SCN_OP_FLR:
	case SCN_OP_REMOVE:
		dev_idx = op->target;
		rd = &r->devs[dev_idx];
		break;
	case SCN_OP_PROCESS:
	case SCN_OP_OVERFLOW:
		break;
	case SCN_OP_FAULT:
		if (op->on_device)
			break;
		/* fall through */
	default:
		rb = &r->bonds[op->target];
		dev_idx = r->s->bonds[op->target].dev;
		rd = &r->devs[dev_idx];
		break;
	}
	const struct scn_bond *sb = rb ? &r->s->bonds[rb->idx] : NULL;

	switch (op->kind) {
	case SCN_OP_FAULT: {
		struct rgen *g = &r->gens[idx];
		if (g->active)
			return;
		g->left = op->count;
		g->sent = 0;
		g->base = op->addr ? op->addr : ((uint64_t)(idx % 0x7ffff) + 1) << 28;
		g->active = true;
		r->gens_active++;
		gen_event(r->w, r, idx);
		return;
	}
	case SCN_OP_DEVICE_STOP:
		rc = sim_dev_stop_pasid(rd->sd, sb->pasid, op->flags & SCN_F_MARKER);
		if (rc == 0)
			rb->dev_stopped = true;
		break;
	case SCN_OP_DEVICE_START:
		rc = sim_dev_start_pasid(rd->sd, sb->pasid);
		if (rc == 0)
			rb->dev_stopped = false;
		break;
	case SCN_OP_WAIT_STOPPED: {
		/* A driver polling its device's stop-PASID status: the world (and the poll
		 * event) goes on meanwhile, so outstanding groups get their responses. */
		uint64_t deadline = now(r) + op->timeout_ns;
		while (!sim_dev_pasid_stopped(rd->sd, sb->pasid)) {
			if (now(r) >= deadline) {
				rc = -ETIMEDOUT;
				break;
			}
			relax(r);
		}
		break;
	}
	case SCN_OP_STOP:
		if (!rb->b) {
			not_bound(r, op, rb);
			return;
		}
		lib_enter(r, "prqd_stop", r->s->bonds[rb->idx].name);
		rc = prqd_stop(rb->b, op->flags & SCN_F_ABANDON ? PRQD_STOP_ABANDON : 0);
		lib_leave(r, true);
		break;
	case SCN_OP_DRAIN: {
		if (!rb->b) {
			not_bound(r, op, rb);
			return;
		}
		uint64_t start = now(r);
		lib_enter(r, "prqd_drain", r->s->bonds[rb->idx].name);
		rc = prqd_drain(rb->b, op->flags & SCN_F_ABANDON ? PRQD_DRAIN_ABANDON : 0,
				timeout_ms(op->timeout_ns));
		lib_leave(r, true);
		if (rc == 0)
			drained(r, drain_scope(sb->pasid), dev_idx, sb->pasid, start);
		break;
	}
	case SCN_OP_RESUME:
		if (!rb->b) {
			not_bound(r, op, rb);
			return;
		}
		lib_enter(r, "prqd_resume", r->s->bonds[rb->idx].name);
		rc = prqd_resume(rb->b);
		lib_leave(r, true);
		break;
	case SCN_OP_UNBIND:
		if (!rb->b) {
			not_bound(r, op, rb);
			return;
		}
		rc = do_unbind(r, rb, unbind_flags(op->flags), op->line);
		break;
	case SCN_OP_BIND:
		rc = do_bind(r, rb);
		break;
	case SCN_OP_DEV_STOP:
		lib_enter(r, "prqd_dev_stop", r->s->devices[dev_idx].name);
		rc = prqd_dev_stop(rd->pd, op->flags & SCN_F_ABANDON ? PRQD_STOP_ABANDON : 0);
		lib_leave(r, true);
		break;
	case SCN_OP_DEV_DRAIN: {
		uint64_t start = now(r);
		lib_enter(r, "prqd_dev_drain", r->s->devices[dev_idx].name);
		rc = prqd_dev_drain(rd->pd, op->flags & SCN_F_ABANDON ? PRQD_DRAIN_ABANDON : 0,
				    timeout_ms(op->timeout_ns));
		lib_leave(r, true);
		if (rc == 0)
			drained(r, PRQD_SCOPE_DEVICE, dev_idx, PRQD_NO_PASID, start);
		break;
	}
	case SCN_OP_DEV_RESUME:
		lib_enter(r, "prqd_dev_resume", r->s->devices[dev_idx].name);
		rc = prqd_dev_resume(rd->pd);
		lib_leave(r, true);
		break;
	case SCN_OP_DEV_UNBIND: {
		uint16_t rid = r->s->devices[dev_idx].cfg.rid;
		for (unsigned i = 0; i < r->s->nbonds; i++)
			if (r->s->bonds[i].dev == dev_idx && r->bonds[i].b)
				sim_set_epoch(r->w, rid, r->s->bonds[i].pasid, 0);
		lib_enter(r, "prqd_dev_unbind_all", r->s->devices[dev_idx].name);
		rc = prqd_dev_unbind_all(rd->pd, PRQD_UNBIND_FORCE);
		lib_leave(r, true);
		/* A forced unbind cannot fail; if it did anyway, we cannot tell which bonds
		 * died, so keep them all (the failure is reported). */
		for (unsigned i = 0; i < r->s->nbonds; i++) {
			if (r->s->bonds[i].dev != dev_idx || !r->bonds[i].b)
				continue;
			if (rc == 0) {
				r->bonds[i].b = NULL;
				r->bonds[i].unbound_line = op->line;
			} else {
				sim_set_epoch(r->w, rid, r->s->bonds[i].pasid, r->bonds[i].gen);
			}
		}
		break;
	}
	case SCN_OP_FLR:
		rc = sim_dev_flr(rd->sd);
		if (rc == 0) /* the function forgot its stopped PASIDs */
			for (unsigned i = 0; i < r->s->nbonds; i++)
				if (r->s->bonds[i].dev == dev_idx)
					r->bonds[i].dev_stopped = false;
		break;
	case SCN_OP_REMOVE:
		rc = sim_dev_remove(rd->sd);
		rd->removed = true;
		break;
	case SCN_OP_OVERFLOW:
		sim_iommu_overflow_now(r->w);
		break;
	case SCN_OP_RESPOND_DEFERRED:
		for (uint32_t i = 0; i < r->defers.cap; i++)
			if (defer_at(r, i)->live && defer_at(r, i)->bond == rb->idx)
				defer_answer(r, i,
					     op->code >= 0 ? op->code : defer_at(r, i)->code);
		return;
	case SCN_OP_PROCESS:
		lib_enter(r, "prqd_iommu_process", "");
		rc = prqd_iommu_process(r->io, op->budget);
		lib_leave(r, rc > 0);
		if (rc > 0)
			rc = 0;
		break;
	}
	check_result(r, op, rc);
}

static void fifo_push(struct run *r, unsigned idx)
{
	if (r->fifo_len == r->fifo_cap) {
		/* Sized for every op at setup; cannot fill. */
		return;
	}
	r->fifo[(r->fifo_head + r->fifo_len++) % r->fifo_cap] = idx;
}

static void op_event(struct sim_world *w, void *arg, uint64_t idx)
{
	struct run *r = arg;
	(void)w;
	if (r->finishing)
		return; /* the run hit its limit first; reported at the end */
	if (!serialised(r->s->ops[idx].kind)) {
		exec_op(r, (unsigned)idx);
		return;
	}
	if (r->busy) {
		fifo_push(r, (unsigned)idx);
		return;
	}
	r->busy = true;
	exec_op(r, (unsigned)idx);
	while (r->fifo_len) {
		unsigned next = r->fifo[r->fifo_head];
		r->fifo_head = (r->fifo_head + 1) % r->fifo_cap;
		r->fifo_len--;
		exec_op(r, next);
	}
	r->busy = false;
}

/* ---- the poll event ------------------------------------------------------------------------ */

static void process_now(struct run *r)
{
	lib_enter(r, "prqd_iommu_process", "");
	int n = prqd_iommu_process(r->io, 0);
	lib_leave(r, n > 0);
	if (n < 0 && !r->process_error_seen) {
		r->process_error_seen = true;
		fail(r, "%s: prqd_iommu_process returned %d at %llu ns", r->s->file, n,
		     (unsigned long long)now(r));
	}
}

static void poll_event(struct sim_world *w, void *arg, uint64_t unused)
{
	struct run *r = arg;
	(void)unused;
	if (r->stop_poll)
		return;
	if (!r->in_lib)
		process_now(r);
	if (sim_schedule(w, now(r) + r->s->poll_ns, poll_event, r, 0) < 0)
		r->stop_poll = true;
}

/* ---- setup and teardown ------------------------------------------------------------------- */

static int trace_write(void *user, const char *buf, size_t len)
{
	return fwrite(buf, 1, len, user) == len ? 0 : -EIO;
}

static void log_fn(void *user, int prio, const char *file, int line, const char *fn,
		   const char *msg)
{
	struct run *r = user;
	(void)file;
	(void)line;
	fprintf(r->o->log, "[%12.3f us] <%d> %s: %s\n", (double)now(r) / 1000.0, prio,
		fn ? fn : "", msg);
}

static int setup_error(struct run *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int setup_error(struct run *r, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->res->error, sizeof(r->res->error), fmt, ap);
	va_end(ap);
	return rc < 0 ? rc : -EINVAL;
}

static int apply_param(struct run *r, const char *name, const char *value, const char *where)
{
	int rc = prqd_ctx_set_param(r->ctx, name, value);
	if (rc == -PRQD_ENOENT)
		return setup_error(r, rc, "%s: no parameter `%s` (prqdrain-sim --help lists them)",
				   where, name);
	if (rc < 0)
		return setup_error(r, rc, "%s: parameter `%s`: invalid value `%s`", where, name,
				   value);
	return 0;
}

/*
 * The VT-d model takes the IOMMU settings a scenario gives the abstract one (sim.*), so the
 * same scenario runs over "sim" and "vtd": the queue size becomes the model's queue limit
 * (VT-d's smallest ring has 128 entries), the overflow auto-response, the device-TLB
 * invalidation time-out (ITE; 0 keeps the model's default), and page-drain support
 * (ECAP.PDS).
 */
static void configure_vtd_model(struct run *r)
{
	struct sim_vtd_config vc;
	uint64_t v;
	sim_vtd_config_default(&vc);
	if (prqd_ctx_get_param(r->ctx, "sim.queue_size", &v) == 0)
		vc.queue_limit = (uint32_t)v;
	if (prqd_ctx_get_param(r->ctx, "sim.overflow_response", &v) == 0)
		vc.overflow_response = v == PRQD_RESP_INVALID ? SIM_VTD_AUTO_INVALID
							       : SIM_VTD_AUTO_SUCCESS;
	/* "Never" is the abstract IOMMU's; a VT-d unit always times out (the model's default). */
	if (prqd_ctx_get_param(r->ctx, "sim.ite_timeout_us", &v) == 0 && v)
		vc.ite_timeout_ns = v * 1000u;
	if (prqd_ctx_get_param(r->ctx, "sim.page_drain", &v) == 0)
		vc.pds = v != 0;
	sim_vtd_configure(r->w, &vc);
}

/*
 * The SMMUv3 model takes the same settings where SMMUv3 has them: the queue size becomes the
 * PRI queue's limit, the device-TLB time-out the ATS invalidation time-out that fails a
 * CMD_SYNC (0 keeps the model's default), and a world that cannot drain (sim.page_drain off)
 * an SMMU without ATS: with no ATC invalidation to push a device's requests ahead of a sync
 * there is no drain. Arm fixes the overflow auto-response (Success, the PASID per IDR3.PPS
 * and STE.PPAR): sim.overflow_response does not apply.
 */
static void configure_smmuv3_model(struct run *r)
{
	struct sim_smmuv3_config sc;
	uint64_t v;
	sim_smmuv3_config_default(&sc);
	if (prqd_ctx_get_param(r->ctx, "sim.queue_size", &v) == 0)
		sc.priq_limit = (uint32_t)v;
	if (prqd_ctx_get_param(r->ctx, "sim.ite_timeout_us", &v) == 0 && v)
		sc.atc_inv_timeout_ns = v * 1000u;
	if (prqd_ctx_get_param(r->ctx, "sim.page_drain", &v) == 0)
		sc.ats = v != 0;
	sim_smmuv3_configure(r->w, &sc);
}

void scn_sim_config(const struct scn *s, struct sim_config *cfg)
{
	sim_config_default(cfg);
	if (s->fabric.set & SCN_FABRIC_LAT) {
		cfg->fabric_lat_min_ns = s->fabric.lat_min_ns;
		cfg->fabric_lat_max_ns = s->fabric.lat_max_ns;
	}
	if (s->fabric.set & SCN_FABRIC_RESP)
		cfg->resp_lat_ns = s->fabric.resp_lat_ns;
	if (s->fabric.set & SCN_FABRIC_RELAX)
		cfg->relax_step_ns = s->fabric.relax_step_ns;
	cfg->pasid_entries = s->pasid_entries;
}

static int setup(struct run *r, uint64_t seed)
{
	const struct scn *s = r->s;
	struct sim_config cfg;
	char where[SCN_FILE_MAX + 32];
	int rc;

	scn_sim_config(s, &cfg);
	rc = sim_world_new(prqd_platform_default(), seed, &cfg, &r->w);
	if (rc < 0)
		return setup_error(r, rc, "%s: cannot create the simulated world (%d)", s->file, rc);
	r->plat = sim_world_platform(r->w);
	if (r->o->progress)
		sim_world_set_relax_hook(r->w, progress_while_blocked, r);

	rc = sim_ctx_new(r->w, &r->ctx);
	if (rc < 0)
		return setup_error(r, rc, "%s: prqd_ctx_new failed (%d)", s->file, rc);
	if (r->o->log) {
		prqd_ctx_set_log_fn(r->ctx, log_fn, r);
		prqd_ctx_set_log_priority(r->ctx, r->o->log_prio);
	}
	for (unsigned i = 0; i < s->nparams; i++) {
		snprintf(where, sizeof(where), "%s:%u", s->file, s->params[i].line);
		rc = apply_param(r, s->params[i].name, s->params[i].value, where);
		if (rc < 0)
			return rc;
	}
	for (unsigned i = 0; i < r->o->nparams; i++) {
		const char *nv = r->o->params[i];
		const char *eq = strchr(nv, '=');
		char name[SCN_PARAM_MAX + 1];
		if (!eq || eq == nv || (size_t)(eq - nv) > SCN_PARAM_MAX)
			return setup_error(r, -EINVAL, "--param %s: expected NAME=VALUE", nv);
		memcpy(name, nv, (size_t)(eq - nv));
		name[eq - nv] = '\0';
		snprintf(where, sizeof(where), "--param %.40s", nv);
		rc = apply_param(r, name, eq + 1, where);
		if (rc < 0)
			return rc;
	}
	if (r->o->trace) {
		rc = prqd_trace_json_new(r->ctx, trace_write, r->o->trace, &r->tw);
		if (rc < 0)
			return setup_error(r, rc, "cannot start the trace (%d)", rc);
	}
	if (r->tw)
		prqd_ctx_set_trace_fn(r->ctx, prqd_trace_json_event, r->tw);
	const char *backend = r->o->backend ? r->o->backend : "sim";
	snprintf(r->res->backend, sizeof(r->res->backend), "%s", backend);
	if (strcmp(backend, "vtd") == 0)
		configure_vtd_model(r);
	else if (strcmp(backend, "smmuv3") == 0)
		configure_smmuv3_model(r);
	rc = prqd_iommu_open(r->ctx, backend, NULL, &r->io);
	if (rc == -PRQD_ENOENT)
		return setup_error(r, rc, "no backend `%s` (prqdrain-sim --help lists them)",
				   backend);
	if (rc < 0)
		return setup_error(r, rc, "backend `%s`: prqd_iommu_open failed: %s", backend,
				   strerror(-rc));

	for (unsigned i = 0; i < s->ndevices; i++) {
		const struct scn_device *d = &s->devices[i];
		struct sim_dev_cfg dc;
		struct prqd_dev_info info;
		/* Complete: scn_device_init() filled in the format's own defaults. */
		dc = d->cfg;
		rc = sim_dev_add(r->w, &dc, &r->devs[i].sd);
		if (rc < 0)
			return setup_error(r, rc, "%s:%u: device %s: sim_dev_add failed: %s", s->file,
					   d->line, d->name, strerror(-rc));
		sim_dev_info(r->devs[i].sd, &info);
		rc = prqd_dev_add(r->io, &info, &r->devs[i].pd);
		if (rc < 0)
			return setup_error(r, rc, "%s:%u: device %s: prqd_dev_add failed: %s", s->file,
					   d->line, d->name, strerror(-rc));
	}
	for (unsigned i = 0; i < s->nbonds; i++) {
		struct rbond *rb = &r->bonds[i];
		rb->run = r;
		rb->idx = i;
		if (!s->bonds[i].bound)
			continue;
		rc = do_bind(r, rb);
		if (rc == 0)
			passed(r);
		else
			fail(r, "%s:%u: bind %s: prqd_bind returned %s", s->file, s->bonds[i].line,
			     s->bonds[i].name, scn_errno_name(rc));
	}
	for (unsigned i = 0; i < s->nops; i++) {
		const struct scn_op *op = &s->ops[i];
		if (op->kind == SCN_OP_FAULT)
			r->res->traffic.planned += (uint64_t)op->pages * op->count;
		if (sim_schedule(r->w, op->at_ns, op_event, r, i) < 0)
			return setup_error(r, -ENOMEM, "out of memory");
	}
	if (sim_schedule(r->w, 0, poll_event, r, 0) < 0)
		return setup_error(r, -ENOMEM, "out of memory");
	return 0;
}

static bool scenario_done(const struct run *r)
{
	return r->ops_done == r->s->nops && r->gens_active == 0 && r->timers_pending == 0;
}

/* The scenario proper: until done and settled, or the limit. */
static void play(struct run *r)
{
	uint64_t quiet_since = 0;
	bool quiet = false;
	unsigned long steps = 0;
	for (;;) {
		if (now(r) >= r->s->limit_ns)
			break;
		if (scenario_done(r)) {
			if (!quiet) {
				quiet = true;
				quiet_since = now(r);
			}
			if (now(r) - quiet_since >= r->s->settle_ns)
				break;
		} else {
			quiet = false;
		}
		if (!sim_step(r->w))
			break;
		if ((++steps & 1023) == 0)
			report_progress(r, false);
	}
}

/* After the scenario: unbind what is still bound, let the world run dry, close everything. */
static void finish(struct run *r)
{
	const struct scn *s = r->s;
	r->finishing = true;
	for (unsigned i = 0; i < s->nbonds; i++, r->bonds_finished++) {
		struct rbond *rb = &r->bonds[i];
		if (!rb->b)
			continue;
		const struct scn_device *d = &s->devices[s->bonds[i].dev];
		/* A gone device, or one whose ATC never answers, can only be unbound by force
		 * (a drain would just run into its deadline). */
		bool force = r->devs[s->bonds[i].dev].removed || d->cfg.atc_mode == SIM_ATC_NEVER;
		r->res->finish.unbinds++;
		int rc = do_unbind(r, rb, force ? PRQD_UNBIND_FORCE : 0, 0);
		if (rc < 0 && !force) {
			force = true;
			rc = do_unbind(r, rb, PRQD_UNBIND_FORCE, 0);
		}
		if (force)
			r->res->finish.forced++;
		if (rc == 0)
			passed(r);
		if (rc < 0) {
			fail(r, "%s: end of run: prqd_unbind(%s, force) returned %s", s->file,
			     s->bonds[i].name, scn_errno_name(rc));
			rb->b = NULL; /* never touched again */
		}
	}
	/* Let the world run dry: stragglers in the fabric reach the queue and get answered
	 * (no bond: Invalid), deferred answers land (late), refaults die out. */
	r->stop_poll = true;
	unsigned long steps = 0;
	for (;;) {
		process_now(r);
		if (!sim_step(r->w)) {
			r->res->finish.idle = true;
			break;
		}
		if (++steps >= DRY_RUN_STEPS)
			break;
		if ((steps & 1023) == 0)
			report_progress(r, false);
	}
	process_now(r);
}

static void close_all(struct run *r)
{
	const struct scn *s = r->s;
	if (r->io) {
		for (unsigned i = 0; i < s->ndevices; i++) {
			if (!r->devs[i].pd)
				continue;
			int rc = prqd_dev_remove(r->devs[i].pd);
			if (rc < 0) {
				fail(r, "%s: end of run: prqd_dev_remove(%s) returned %s", s->file,
				     s->devices[i].name, scn_errno_name(rc));
			}
		}
		prqd_iommu_stats(r->io, &r->res->stats, sizeof(r->res->stats));
		int rc = prqd_iommu_close(r->io);
		if (rc < 0) {
			fail(r, "%s: end of run: prqd_iommu_close returned %s", s->file,
			     scn_errno_name(rc));
		}
		r->io = NULL;
	}
	if (r->tw) {
		prqd_ctx_set_trace_fn(r->ctx, NULL, NULL);
		if (prqd_trace_json_finish(r->tw) < 0)
			fail(r, "writing the trace failed");
		r->tw = NULL;
	}
	if (r->ctx)
		r->ctx = prqd_ctx_unref(r->ctx);
}

/* ---- results ------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @v. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned pct)
{
	if (!n)
		return 0;
	size_t rank = (n * pct + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

static uint64_t read_field(const void *base, size_t offset, unsigned width)
{
	const unsigned char *p = (const unsigned char *)base + offset;
	switch (width) {
	case 1: {
		uint8_t v;
		memcpy(&v, p, 1);
		return v;
	}
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

static uint64_t ref_value(const struct run *r, const struct sim_dev_stats *dstats,
			  const struct scn_ref *ref)
{
	switch (ref->src) {
	case SCN_SRC_DEVICE:
		return read_field(&dstats[ref->index], ref->offset, ref->width);
	case SCN_SRC_BOND:
		return read_field(&r->bonds[ref->index].c, ref->offset, ref->width);
	default:
		return read_field(r->res, ref->offset, ref->width);
	}
}

static void evaluate(struct run *r, const struct sim_dev_stats *dstats)
{
	static const char *const cmps[] = { "==", "!=", "<", "<=", ">", ">=" };
	const struct scn *s = r->s;
	for (unsigned i = 0; i < s->nexpects; i++) {
		const struct scn_expect *e = &s->expects[i];
		uint64_t got = ref_value(r, dstats, &e->lhs);
		uint64_t want = e->rhs_is_key ? ref_value(r, dstats, &e->rhs) : e->value;
		bool ok;
		switch (e->cmp) {
		case SCN_EQ: ok = got == want; break;
		case SCN_NE: ok = got != want; break;
		case SCN_LT: ok = got < want; break;
		case SCN_LE: ok = got <= want; break;
		case SCN_GT: ok = got > want; break;
		default: ok = got >= want; break;
		}
		if (ok)
			r->res->expectations++;
		else if (e->rhs_is_key)
			expect_failed(r, "%s:%u: expect %s %s %s: got %llu and %llu", s->file, e->line,
				      e->key, cmps[e->cmp % 6], e->rhs_key, (unsigned long long)got,
				      (unsigned long long)want);
		else
			expect_failed(r, "%s:%u: expect %s %s %llu: got %llu", s->file, e->line,
				      e->key, cmps[e->cmp % 6], (unsigned long long)want,
				      (unsigned long long)got);
	}
}

static void collect(struct run *r)
{
	struct scn_result *res = r->res;
	const struct scn *s = r->s;
	res->end_ns = now(r);
	sim_iommu_stats(r->w, &res->iommu);
	sim_alloc_stats(r->w, &res->alloc);
	res->violations = sim_violation_total(r->w);
	for (unsigned k = 0; k < SIM_V_NR; k++)
		res->violations_by_kind[k] = sim_violation_count(r->w, k);
	for (unsigned i = 0; i < SCN_MAX_VIOLATIONS; i++) {
		const struct sim_violation *v = sim_violation_get(r->w, i);
		if (!v)
			break;
		res->violation[res->nviolation++] = *v;
	}
	struct sim_dev_stats *ds = calloc(s->ndevices ? s->ndevices : 1, sizeof(*ds));
	for (unsigned i = 0; ds && i < s->ndevices; i++) {
		sim_dev_stats(r->devs[i].sd, &ds[i]);
		res->dev.groups_sent += ds[i].groups_sent;
		res->dev.requests_sent += ds[i].requests_sent;
		res->dev.stop_markers_sent += ds[i].stop_markers_sent;
		for (unsigned c = 0; c < 3; c++)
			res->dev.responses[c] += ds[i].responses[c];
		res->dev.auto_responses += ds[i].auto_responses;
		res->dev.stale_responses += ds[i].stale_responses;
		res->dev.unexpected_index += ds[i].unexpected_index;
		res->dev.response_failure += ds[i].response_failure;
	}
	if (r->nlat) {
		qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_u64);
		res->drain.count = r->nlat;
		res->drain.p50_ns = percentile(r->lat, r->nlat, 50);
		res->drain.p99_ns = percentile(r->lat, r->nlat, 99);
		res->drain.max_ns = r->lat[r->nlat - 1];
	}
	for (unsigned i = 0; i < s->nops; i++) {
		if (r->op_ran[i])
			continue;
		char what[SCN_FILE_MAX + 96];
		describe_op(r, &s->ops[i], what, sizeof(what));
		fail(r, "%s: never ran (the run hit its limit of %llu ns first)", what,
		     (unsigned long long)s->limit_ns);
	}
	if (ds)
		evaluate(r, ds);
	else
		fail(r, "out of memory evaluating expectations");
	free(ds);
}

int scn_run(const struct scn *s, const struct scn_run_opts *opts, struct scn_result *res)
{
	static const struct scn_run_opts no_opts;
	struct run run;
	struct run *r = &run;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->o = opts ? opts : &no_opts;
	r->res = res;
	sim_pool_init(&r->defers, sizeof(struct rdefer));
	res->seed = r->o->seed_set ? r->o->seed : s->seed;

	r->devs = calloc(s->ndevices + 1, sizeof(*r->devs));
	r->bonds = calloc(s->nbonds + 1, sizeof(*r->bonds));
	r->gens = calloc(s->nops + 1, sizeof(*r->gens));
	r->op_ran = calloc(s->nops + 1, sizeof(*r->op_ran));
	r->fifo_cap = s->nops + 1;
	r->fifo = calloc(r->fifo_cap, sizeof(*r->fifo));
	if (!r->devs || !r->bonds || !r->gens || !r->op_ran || !r->fifo) {
		rc = setup_error(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i <= s->ndevices; i++)
		r->devs[i].wait_head = r->devs[i].wait_tail = -1;

	rc = setup(r, res->seed);
	if (rc == 0) {
		play(r);
		finish(r);
	}
	close_all(r);
	if (rc == 0) {
		sim_check_finish(r->w);
		collect(r);
		report_progress(r, true);
	}
out:
	if (r->w) {
		sim_pool_fini(r->w, &r->defers);
		sim_world_free(r->w);
	}
	free(r->devs);
	free(r->bonds);
	free(r->gens);
	free(r->op_ran);
	free(r->fifo);
	free(r->lat);
	return rc;
}

bool scn_result_passed(const struct scn_result *res)
{
	return res->violations == 0 && res->expectations_failed == 0 && res->checks_failed == 0;
}

/* ---- the summary ---------------------------------------------------------------------------- */

static const char *fmt_ns(char *buf, size_t n, uint64_t ns)
{
	if (ns < 10000)
		snprintf(buf, n, "%llu ns", (unsigned long long)ns);
	else if (ns < 10000000)
		snprintf(buf, n, "%.1f us", (double)ns / 1e3);
	else if (ns < 10000000000ull)
		snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.1f s", (double)ns / 1e9);
	return buf;
}

void scn_result_print(FILE *f, const struct scn_result *res)
{
	const struct prqd_stats *st = &res->stats;
	char a[32], b[32], c[32];
	const int w = -22;

	fprintf(f, "%*s %s, seed %llu, %s simulated (to the last event)\n", w, "run",
		res->backend, (unsigned long long)res->seed,
		fmt_ns(a, sizeof(a), res->last_event_ns));
	/* The library counts Stop Markers among the requests it reads, the devices apart. */
	fprintf(f, "%*s %llu sent by devices, %llu read by the library, %llu dropped in queue "
		   "overflows\n",
		w, "page requests", (unsigned long long)res->dev.requests_sent,
		(unsigned long long)(st->requests - st->stop_markers),
		(unsigned long long)res->iommu.dropped_overflow);
	fprintf(f, "%*s %llu sent, %llu completed, %llu delivered to handlers\n", w, "groups",
		(unsigned long long)res->dev.groups_sent, (unsigned long long)st->groups,
		(unsigned long long)st->delivered);
	fprintf(f, "%*s success %llu, invalid %llu, failure %llu\n", w, "responses (library)",
		(unsigned long long)st->responses[PRQD_RESP_SUCCESS],
		(unsigned long long)st->responses[PRQD_RESP_INVALID],
		(unsigned long long)st->responses[PRQD_RESP_FAILURE]);
	fprintf(f,
		"%*s handler %llu, stop %llu, no bond %llu, abandon %llu, local %llu, "
		"overflow (hardware) %llu\n",
		w, "answered by", (unsigned long long)st->by[PRQD_BY_HANDLER],
		(unsigned long long)st->by[PRQD_BY_STOP], (unsigned long long)st->by[PRQD_BY_NOBOND],
		(unsigned long long)st->by[PRQD_BY_ABANDON], (unsigned long long)st->by[PRQD_BY_LOCAL],
		(unsigned long long)res->iommu.auto_responses);
	fprintf(f, "%*s success %llu, invalid %llu, failure %llu, stale %llu, unexpected "
		   "index %llu, response failure on %u device%s\n",
		w, "responses (devices)", (unsigned long long)res->dev.responses[PRQD_RESP_SUCCESS],
		(unsigned long long)res->dev.responses[PRQD_RESP_INVALID],
		(unsigned long long)res->dev.responses[PRQD_RESP_FAILURE],
		(unsigned long long)res->dev.stale_responses,
		(unsigned long long)res->dev.unexpected_index, res->dev.response_failure,
		res->dev.response_failure == 1 ? "" : "s");
	fprintf(f, "%*s %llu stop markers sent, %llu read; %llu late answers swallowed, %llu "
		   "stale groups, %llu partial discarded, %llu malformed\n",
		w, "other", (unsigned long long)res->dev.stop_markers_sent,
		(unsigned long long)st->stop_markers,
		(unsigned long long)st->late_responses, (unsigned long long)st->stale_groups,
		(unsigned long long)st->partial_discarded, (unsigned long long)st->bad_requests);
	fprintf(f, "%*s %llu completed, %llu timed out, %llu failed; %llu drain steps, %llu "
		   "repeated after overflow\n",
		w, "drains", (unsigned long long)st->drains, (unsigned long long)st->drain_timeouts,
		(unsigned long long)st->drain_errors, (unsigned long long)st->drain_steps,
		(unsigned long long)st->drain_repeats);
	fprintf(f, "%*s %llu acknowledged (%llu requests dropped, queue high water %u)\n", w,
		"overflows", (unsigned long long)st->overflows,
		(unsigned long long)res->iommu.dropped_overflow, res->iommu.queue_high_water);
	if (res->drain.count)
		fprintf(f, "%*s p50 %s, p99 %s, max %s (%llu drains)\n", w, "drain latency",
			fmt_ns(a, sizeof(a), res->drain.p50_ns), fmt_ns(b, sizeof(b), res->drain.p99_ns),
			fmt_ns(c, sizeof(c), res->drain.max_ns), (unsigned long long)res->drain.count);
	else
		fprintf(f, "%*s no drain completed\n", w, "drain latency");
	fprintf(f, "%*s %llu deferred answers: %llu sent, %llu late (swallowed), %llu stale, "
		   "%llu errors\n",
		w, "deferred",
		(unsigned long long)(res->respond.ok + res->respond.already + res->respond.stale +
				     res->respond.error),
		(unsigned long long)res->respond.ok, (unsigned long long)res->respond.already,
		(unsigned long long)res->respond.stale, (unsigned long long)res->respond.error);
	fprintf(f, "%*s %llu planned, %llu sent, %llu retries after -EAGAIN, %llu generators "
		   "ended early\n",
		w, "traffic", (unsigned long long)res->traffic.planned,
		(unsigned long long)res->traffic.requests, (unsigned long long)res->traffic.eagain,
		(unsigned long long)res->traffic.refused);
	fprintf(f, "%*s %llu unbound by the runner (%llu forced), world %s\n", w, "end of run",
		(unsigned long long)res->finish.unbinds, (unsigned long long)res->finish.forced,
		res->finish.idle ? "idle" : "still busy");
	fprintf(f, "%*s %llu live allocations (%llu bytes) of %llu\n", w, "library memory",
		(unsigned long long)res->alloc.live, (unsigned long long)res->alloc.live_bytes,
		(unsigned long long)res->alloc.allocs);
	if (res->violations == 0) {
		fprintf(f, "%*s PASS, no violation\n", w, "checker");
	} else {
		fprintf(f, "%*s FAIL, %u violation%s:", w, "checker", res->violations,
			res->violations == 1 ? "" : "s");
		for (unsigned k = 0; k < SIM_V_NR; k++)
			if (res->violations_by_kind[k])
				fprintf(f, " %s %u", sim_violation_name(k), res->violations_by_kind[k]);
		fputc('\n', f);
		for (unsigned i = 0; i < res->nviolation; i++) {
			const struct sim_violation *v = &res->violation[i];
			char pasid[16];
			if (v->pasid == PRQD_NO_PASID)
				snprintf(pasid, sizeof(pasid), "none");
			else
				snprintf(pasid, sizeof(pasid), "%u", v->pasid);
			fprintf(f, "  %s at %s: rid %04x pasid %s index %u: %s\n",
				sim_violation_name(v->kind), fmt_ns(a, sizeof(a), v->time_ns), v->rid,
				pasid, v->prg_index, v->detail);
		}
		if (res->nviolation < res->violations)
			fprintf(f, "  ... %u more\n", res->violations - res->nviolation);
	}
	fprintf(f, "%*s %u of %u held\n", w, "expectations",
		res->expectations - res->expectations_failed, res->expectations);
	fprintf(f, "%*s %u of %u returned what was expected\n", w, "operations",
		res->checks - res->checks_failed, res->checks);
	for (unsigned i = 0; i < res->nmessage; i++)
		fprintf(f, "  FAIL %s\n", res->message[i]);
	uint32_t failures = res->expectations_failed + res->checks_failed;
	if (res->nmessage < failures)
		fprintf(f, "  ... %u more\n", failures - res->nmessage);
	fprintf(f, "%*s %s\n", w, "result", scn_result_passed(res) ? "PASS" : "FAIL");
}
