/* SPDX-License-Identifier: MIT */
/*
 * tests/stress: every public operation racing every other, with the library's two promises
 * checked from outside.
 *
 * Threads, on one device of the scripted test backend (tests/testutil.c):
 *  - one processing thread calls prqd_iommu_process() with budgets from 0 ("until empty")
 *    to 64;
 *  - one producer plays the device: whole page request groups (1 to 3 requests) for a few
 *    PASIDs and for requests without PASID, stop markers now and then, bursts that overflow
 *    the queue; like a device it reuses a PRG index only once the group that last used it was
 *    answered (by the library, or by the "hardware" when an overflow dropped its Last);
 *  - two control threads each own half of the bonds and run every bond operation and flag
 *    on them (bind, stop, drain with short deadlines, resume, unbind with 0 / FORCE /
 *    NO_DRAIN / STOP_MARKER), the device-wide ones (stop, drain, resume, unbind_all) and
 *    answer the groups the handler deferred, some of them only after an abandoning stop or an
 *    unbind took them back.
 *
 * Checked (a violation makes the exit status 1):
 *  - every group the producer pushed got exactly one response: counted per group instance
 *    (each request carries a unique tag; a response carries its Last's) at the backend;
 *  - no stop marker and no request other than a Last was ever answered;
 *  - no group was delivered to a bond generation other than the one live when the producer
 *    pushed it (the producer pushes a PASID's groups and the owner binds it under the same
 *    per-PASID mutex, so "live at push time" is well defined);
 *  - every call returns one of the results its documentation allows in this setting.
 * A TSan build (tests/run-tsan.sh) checks the memory accesses on top.
 *
 * A Check program with one test (the test backend asserts with Check), usable on its own:
 * stress [ITERATIONS [SEED]]; environment PRQD_STRESS_ITERS, PRQD_STRESS_SEED,
 * PRQD_STRESS_MAX_SECONDS (wall-clock cap, default 300: past it the threads stop early; 30 s
 * without progress is a violation, and threads that do not stop within a minute of being told
 * end the run with status 2). The work is bounded: ITERATIONS operations per control thread, which keep
 * pace with the producer, and at most 8 * ITERATIONS groups.
 *
 * The producer plays a device that is never told to stop: it keeps sending for a PASID
 * while its bond is stopped, drained, unbound or bound again. The library must keep both
 * promises all the same (what a drain covers is only what was sent before it started).
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/check-main.h"
#include "tests/testutil.h"

#define RID 0x0200
#define NPASID 6              /* PASIDs 1 .. NPASID */
#define NSLOT (NPASID + 1)    /* slot NPASID: the RID-only bond */
#define NINDEX 32             /* PRG indices the producer cycles through per slot */
#define NCTL 2                /* control threads; slot s belongs to s % NCTL */
#define QUEUE_LIMIT 256u      /* the modelled hardware queue */
#define DEFERRED_MAX 4096u
#define DEFAULT_ITERS 10000u
#define GROUPS_PER_ITER 8u
#define STALL_SECONDS 30

#define ENDED_ALL 16u /* a generation ended by prqd_dev_unbind_all() (1 + flags < 16) */

enum tag_kind { TK_NONE = 0, TK_MIDDLE, TK_LAST, TK_MARKER };

/* What the producer pushed under one tag (written before the push, read after the fetch). */
struct pushed {
	uint32_t gen;   /* bond generation live for the slot at push time; 0 none */
	uint8_t slot;
	uint8_t kind;   /* enum tag_kind */
	uint16_t index;
	bool dropped;   /* lost to a full queue (a dropped Last is answered by the hardware) */
};

enum op {
	OP_BIND, OP_STOP, OP_DRAIN, OP_RESUME, OP_UNBIND, OP_RESPOND, OP_HANDLER_STOP,
	OP_DEV_STOP, OP_DEV_DRAIN, OP_DEV_RESUME, OP_DEV_UNBIND_ALL, OP_PROCESS, NOPS
};
static const char *const op_names[NOPS] = {
	"bind", "stop", "drain", "resume", "unbind", "respond", "stop from the handler",
	"dev_stop", "dev_drain", "dev_resume", "dev_unbind_all", "iommu_process",
};

struct stress {
	struct tw w;
	struct prqd_dev *dev;
	unsigned iters;
	uint32_t seed;

	/* Bond handles: owners change their own slots under the read lock; dev_unbind_all,
	 * which ends every handle, holds the write lock. */
	pthread_rwlock_t handles;
	struct prqd_bond *bond[NSLOT];
	/* Per slot: the generation live (0: none), under slot_mu, which the producer holds
	 * while pushing one group and the owner while binding. */
	pthread_mutex_t slot_mu[NSLOT];
	uint32_t live_gen[NSLOT];
	/* Per slot, under the handles lock like bond[]: the last bond was forced out without
	 * NO_DRAIN, so the PASID is quarantined and a bind may fail proving it drained. */
	bool quarantined[NSLOT];
	atomic_uint binds_refused; /* binds a quarantine refused (deadline, busy) */

	/* Tags: every request pushed has a unique one, 1 .. ntags. */
	struct pushed *pushed;
	atomic_uint *answers; /* responses seen at the backend per tag */
	uint64_t tag_cap;
	atomic_uint_least64_t next_tag;

	/* Groups the handler deferred, answered by the control threads. */
	pthread_mutex_t deferred_mu;
	struct prqd_group *deferred[DEFERRED_MAX];
	unsigned ndeferred;

	atomic_bool stop_all, producer_done;
	atomic_uint controllers_done;
	atomic_uint controller_iters;

	/* outcomes */
	atomic_uint_least64_t groups_pushed, requests_dropped, lasts_dropped, markers_pushed;
	atomic_uint_least64_t delivered, deferred_total, respond_ok, respond_late;
	atomic_uint_least64_t calls[NOPS];
	/* wrong_gen: requests delivered to another generation than the one live at their
	 * push, of them pushed while no bond was live and while an older one was */
	atomic_uint wrong_gen, wrong_gen_unbound, wrong_gen_old;
	/* How each generation ended (1 + unbind flags, | ENDED_ALL for dev_unbind_all), and
	 * the wrong-generation deliveries of requests pushed to an older generation by it. */
	atomic_uint *gen_ended;
	uint32_t gen_cap;
	atomic_uint wrong_gen_by_end[2 * ENDED_ALL];
	atomic_uint stalled;
	atomic_uint bad_delivery, bad_response, unexpected_rc;
	pthread_mutex_t report_mu;
	unsigned reports;
};

static struct stress S;

/* Print the first few violations (any thread); the counters say how many there were. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	pthread_mutex_lock(&S.report_mu);
	if (S.reports++ < 20) {
		va_list ap;
		va_start(ap, fmt);
		fputs("stress: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	pthread_mutex_unlock(&S.report_mu);
}

static void unexpected(enum op op, int rc)
{
	atomic_fetch_add(&S.unexpected_rc, 1);
	report("%s returned %d (%s)", op_names[op], rc, strerror(-rc));
}

/* Is @rc one of the (negative errno) values in the list ending with 1? 0 always is. */
static bool rc_in(int rc, ...)
{
	if (rc == 0)
		return true;
	va_list ap;
	va_start(ap, rc);
	bool found = false;
	for (int v = va_arg(ap, int); v != 1; v = va_arg(ap, int))
		if (v == rc)
			found = true;
	va_end(ap);
	return found;
}

/* A decision taken from a tag alone, so the handler needs no shared random state. */
static uint32_t tag_hash(uint64_t tag)
{
	uint64_t x = (tag ^ S.seed) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32);
}

static uint32_t slot_pasid(unsigned slot)
{
	return slot == NPASID ? PRQD_NO_PASID : slot + 1;
}

static unsigned pasid_slot(const struct prqd_request *r)
{
	return r->pasid_valid ? r->pasid - 1 : NPASID;
}

static void count_call(enum op op)
{
	atomic_fetch_add_explicit(&S.calls[op], 1, memory_order_relaxed);
}

/* ---- the backend: the test backend, with every response also counted per tag ----------- */

static struct prqd_backend stress_backend;

static int stress_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	uint64_t tag = resp->tag;
	if (tag == 0 || tag >= S.tag_cap || S.pushed[tag].kind != TK_LAST) {
		atomic_fetch_add(&S.bad_response, 1);
		report("response for tag %llu, which is not the Last of a group pushed",
		       (unsigned long long)tag);
	} else {
		const struct pushed *p = &S.pushed[tag];
		atomic_fetch_add(&S.answers[tag], 1);
		bool pasid_ok = p->slot == NPASID ? !resp->pasid_present
						  : resp->pasid_present && resp->pasid == slot_pasid(p->slot);
		if (!pasid_ok || resp->prg_index != p->index || resp->rid != RID) {
			atomic_fetch_add(&S.bad_response, 1);
			report("response for tag %llu carries rid %04x pasid %s%u index %u, pushed "
			       "as slot %u index %u", (unsigned long long)tag, resp->rid,
			       resp->pasid_present ? "" : "none/", (unsigned)resp->pasid,
			       resp->prg_index, p->slot, p->index);
		}
	}
	return test_backend.ops.respond(priv, dev_priv, resp);
}

/* ---- the handler ------------------------------------------------------------------------ */

static int stress_handler(void *cookie, struct prqd_bond *bond, struct prqd_group *g)
{
	(void)cookie;
	atomic_fetch_add(&S.delivered, 1);
	uint32_t gen = prqd_bond_gen(bond);
	unsigned count = prqd_group_count(g);
	uint64_t last_tag = 0;
	for (unsigned i = 0; i < count; i++) {
		const struct prqd_request *r = prqd_group_request(g, i);
		uint64_t tag = prqd_group_request_tag(g, i);
		if (!r || tag == 0 || tag >= S.tag_cap || S.pushed[tag].kind == TK_NONE ||
		    S.pushed[tag].kind == TK_MARKER) {
			atomic_fetch_add(&S.bad_delivery, 1);
			report("delivered request %u of %u has tag %llu, not one pushed as part of a "
			       "group", i, count, (unsigned long long)tag);
			continue;
		}
		const struct pushed *p = &S.pushed[tag];
		if (p->slot != pasid_slot(r) || prqd_bond_pasid(bond) != slot_pasid(p->slot)) {
			atomic_fetch_add(&S.bad_delivery, 1);
			report("tag %llu of slot %u delivered to the bond of pasid %u",
			       (unsigned long long)tag, p->slot, (unsigned)prqd_bond_pasid(bond));
		}
		if (p->gen != gen) {
			atomic_fetch_add(p->gen ? &S.wrong_gen_old : &S.wrong_gen_unbound, 1);
			unsigned ended = p->gen && p->gen < S.gen_cap ? atomic_load(&S.gen_ended[p->gen])
								      : 0;
			if (ended)
				atomic_fetch_add(&S.wrong_gen_by_end[ended], 1);
			if (atomic_fetch_add(&S.wrong_gen, 1) < 5)
				report("wrong generation: tag %llu (slot %u index %u) pushed while "
				       "generation %u was live, delivered to generation %u",
				       (unsigned long long)tag, p->slot, p->index, p->gen, gen);
		}
		last_tag = tag;
	}

	uint32_t h = tag_hash(last_tag);
	if (h % 128 == 0) {
		/* A handler may stop its own bond (an unbind may be running: -ESTALE). */
		count_call(OP_HANDLER_STOP);
		int rc = prqd_stop(bond, (h >> 8) & 1 ? PRQD_STOP_ABANDON : 0);
		if (!rc_in(rc, -ESTALE, 1))
			unexpected(OP_HANDLER_STOP, rc);
	}
	switch ((h >> 10) % 8) {
	case 0:
	case 1:
	case 2:
		pthread_mutex_lock(&S.deferred_mu);
		if (S.ndeferred < DEFERRED_MAX) {
			S.deferred[S.ndeferred++] = g;
			pthread_mutex_unlock(&S.deferred_mu);
			atomic_fetch_add(&S.deferred_total, 1);
			return PRQD_RESP_DEFER;
		}
		pthread_mutex_unlock(&S.deferred_mu);
		return PRQD_RESP_SUCCESS;
	case 3:
		return PRQD_RESP_INVALID;
	default:
		return PRQD_RESP_SUCCESS;
	}
}

/* Answer up to @max deferred groups, oldest or newest first (0: all). */
static void answer_deferred(unsigned max, uint32_t *seed)
{
	for (unsigned i = 0; max == 0 || i < max; i++) {
		pthread_mutex_lock(&S.deferred_mu);
		struct prqd_group *g = NULL;
		if (S.ndeferred) {
			unsigned at = xorshift(seed) % S.ndeferred;
			g = S.deferred[at];
			S.deferred[at] = S.deferred[--S.ndeferred];
		}
		pthread_mutex_unlock(&S.deferred_mu);
		if (!g)
			return;
		count_call(OP_RESPOND);
		int rc = prqd_respond(g, xorshift(seed) % 4 ? PRQD_RESP_SUCCESS : PRQD_RESP_INVALID);
		if (rc == 0)
			atomic_fetch_add(&S.respond_ok, 1);
		else if (rc == -EALREADY)
			atomic_fetch_add(&S.respond_late, 1);
		else
			unexpected(OP_RESPOND, rc);
	}
}

/* ---- the producer (the device) ---------------------------------------------------------- */

static uint64_t new_tag(void)
{
	uint64_t tag = atomic_fetch_add(&S.next_tag, 1);
	if (tag >= S.tag_cap) {
		fprintf(stderr, "stress: more than %llu tags\n", (unsigned long long)S.tag_cap);
		abort();
	}
	return tag;
}

/* Push one request as @kind; a full queue drops it (and raises the overflow). Returns its
 * tag. */
static uint64_t push_one(unsigned slot, uint16_t index, unsigned k, enum tag_kind kind)
{
	uint32_t pasid = slot_pasid(slot);
	uint64_t tag = new_tag();
	struct prqd_request r = kind == TK_MARKER ? rq_marker(RID, pasid, 0)
						  : rq(RID, pasid, index, kind == TK_LAST,
						       0x10000000ull + 0x1000ull * k);
	S.pushed[tag] = (struct pushed){
		.gen = S.live_gen[slot], .slot = (uint8_t)slot, .kind = (uint8_t)kind, .index = index,
	};
	if (tq_push_tagged(S.w.t, r, tag) < 0) {
		S.pushed[tag].dropped = true;
		atomic_fetch_add(&S.requests_dropped, 1);
		if (kind == TK_LAST)
			atomic_fetch_add(&S.lasts_dropped, 1);
	}
	return tag;
}

static bool answered(uint64_t tag)
{
	return atomic_load(&S.answers[tag]) != 0 || S.pushed[tag].dropped;
}

static void *producer_main(void *arg)
{
	(void)arg;
	uint32_t seed = S.seed ^ 0x5eed;
	uint16_t next_index[NSLOT] = { 0 };
	uint64_t index_tag[NSLOT][NINDEX] = { { 0 } }; /* the Last that used it most recently */
	uint64_t max_groups = (uint64_t)S.iters * GROUPS_PER_ITER;
	unsigned burst = 0, busy_tries = 0;
	while (atomic_load(&S.groups_pushed) < max_groups &&
	       atomic_load(&S.controllers_done) < NCTL && !atomic_load(&S.stop_all)) {
		if (burst == 0 && xorshift(&seed) % 500 == 0)
			burst = 20 + xorshift(&seed) % 100; /* ignore the queue's fill: overflow */
		if (burst)
			burst--;
		else if (tq_pending(S.w.t) + 8 > QUEUE_LIMIT) {
			sched_yield();
			continue;
		}
		unsigned slot = xorshift(&seed) % NSLOT;
		pthread_mutex_lock(&S.slot_mu[slot]);
		uint16_t index = next_index[slot];
		uint64_t prev = index_tag[slot][index];
		if (prev && !answered(prev)) {
			/* Like a device: the index is still owed a response. */
			pthread_mutex_unlock(&S.slot_mu[slot]);
			if (++busy_tries % NSLOT == 0)
				sched_yield();
			continue;
		}
		unsigned n = 1 + xorshift(&seed) % 3;
		for (unsigned k = 0; k + 1 < n; k++)
			push_one(slot, index, k, TK_MIDDLE);
		index_tag[slot][index] = push_one(slot, index, n - 1, TK_LAST);
		next_index[slot] = (uint16_t)((index + 1) % NINDEX);
		if (slot != NPASID && xorshift(&seed) % 40 == 0) {
			push_one(slot, 0, 0, TK_MARKER);
			atomic_fetch_add(&S.markers_pushed, 1);
		}
		pthread_mutex_unlock(&S.slot_mu[slot]);
		atomic_fetch_add(&S.groups_pushed, 1);
	}
	atomic_store(&S.producer_done, true);
	return NULL;
}

/* ---- the processing thread ---------------------------------------------------------------- */

static void *process_main(void *arg)
{
	(void)arg;
	uint32_t seed = S.seed ^ 0x9c0c;
	while (!atomic_load(&S.stop_all)) {
		unsigned budget = xorshift(&seed) % 4 == 0 ? 0 : 1 + xorshift(&seed) % 64;
		count_call(OP_PROCESS);
		int n = prqd_iommu_process(S.w.iommu, budget);
		if (n < 0)
			unexpected(OP_PROCESS, n);
		if (n <= 0)
			sched_yield();
	}
	return NULL;
}

/* ---- the control threads ---------------------------------------------------------------- */

/* Forget the handle of a bond of generation @gen that was unbound with @how (1 + flags,
 * | ENDED_ALL) (handles lock held). @gen is read before the unbind: after it the handle is
 * dead, and another controller's bind may already reuse its memory. */
static void forget(unsigned slot, unsigned how, uint32_t gen)
{
	if (gen < S.gen_cap)
		atomic_store(&S.gen_ended[gen], how);
	unsigned flags = (how & (ENDED_ALL - 1)) - 1;
	S.quarantined[slot] = (flags & PRQD_UNBIND_FORCE) && !(flags & PRQD_UNBIND_NO_DRAIN);
	S.bond[slot] = NULL;
	pthread_mutex_lock(&S.slot_mu[slot]);
	S.live_gen[slot] = 0;
	pthread_mutex_unlock(&S.slot_mu[slot]);
}

static void bind_slot(unsigned slot)
{
	/* Held across the bind: a request pushed meanwhile has a well-defined generation. */
	pthread_mutex_lock(&S.slot_mu[slot]);
	struct prqd_bond *b = NULL;
	count_call(OP_BIND);
	int rc = prqd_bind(S.dev, slot_pasid(slot), stress_handler, NULL, &b);
	if (rc == 0) {
		S.bond[slot] = b;
		S.live_gen[slot] = prqd_bond_gen(b);
	}
	pthread_mutex_unlock(&S.slot_mu[slot]);
	if (rc == 0) {
		S.quarantined[slot] = false;
	} else if (S.quarantined[slot] && rc_in(rc, -ETIMEDOUT, -EIO, -EBUSY, 1)) {
		/* Lifting the quarantine needs a drain of the PASID, which may run out of
		 * time or fail: the PASID stays quarantined and a later bind tries again. */
		atomic_fetch_add(&S.binds_refused, 1);
	} else {
		unexpected(OP_BIND, rc);
	}
}

static const unsigned unbind_flag_sets[] = {
	0,
	PRQD_UNBIND_FORCE,
	PRQD_UNBIND_NO_DRAIN,
	PRQD_UNBIND_STOP_MARKER,
	PRQD_UNBIND_STOP_MARKER | PRQD_UNBIND_FORCE,
};
#define N_UNBIND_FLAG_SETS (sizeof(unbind_flag_sets) / sizeof(unbind_flag_sets[0]))

static void unbind_slot(unsigned slot, uint32_t *seed)
{
	unsigned flags = unbind_flag_sets[xorshift(seed) % N_UNBIND_FLAG_SETS];
	if ((flags & PRQD_UNBIND_STOP_MARKER) && slot != NPASID && xorshift(seed) % 2) {
		/* The device stopped the PASID with a marker (sometimes it never sent one). */
		pthread_mutex_lock(&S.slot_mu[slot]);
		push_one(slot, 0, 0, TK_MARKER);
		pthread_mutex_unlock(&S.slot_mu[slot]);
		atomic_fetch_add(&S.markers_pushed, 1);
	}
	count_call(OP_UNBIND);
	uint32_t gen = prqd_bond_gen(S.bond[slot]);
	int rc = prqd_unbind(S.bond[slot], flags);
	/* -EBUSY: a device-wide drain owns the bond, or NO_DRAIN found groups outstanding;
	 * -ETIMEDOUT: the drain ran out of time (never with FORCE, which does not drain). */
	bool ok = flags & PRQD_UNBIND_FORCE ? rc_in(rc, -EBUSY, 1) : rc_in(rc, -EBUSY, -ETIMEDOUT, 1);
	if (rc == 0)
		forget(slot, 1 + flags, gen);
	else if (!ok)
		unexpected(OP_UNBIND, rc);
}

static void bond_op(unsigned slot, uint32_t *seed)
{
	struct prqd_bond *b = S.bond[slot];
	if (!b) {
		bind_slot(slot);
		return;
	}
	int rc;
	switch (xorshift(seed) % 5) {
	case 0:
		count_call(OP_STOP);
		rc = prqd_stop(b, xorshift(seed) % 2 ? PRQD_STOP_ABANDON : 0);
		if (rc != 0)
			unexpected(OP_STOP, rc);
		break;
	case 1:
		/* Short deadlines: the handler's deferred groups may outlive them. */
		count_call(OP_DRAIN);
		rc = prqd_drain(b, xorshift(seed) % 2 ? PRQD_DRAIN_ABANDON : 0, 1 + xorshift(seed) % 4);
		if (!rc_in(rc, -EBUSY, -ETIMEDOUT, 1))
			unexpected(OP_DRAIN, rc);
		break;
	case 2:
		count_call(OP_RESUME);
		rc = prqd_resume(b);
		if (!rc_in(rc, -EINVAL, 1)) /* not STOPPED */
			unexpected(OP_RESUME, rc);
		break;
	default:
		unbind_slot(slot, seed);
		break;
	}
}

static void device_op(uint32_t *seed)
{
	int rc;
	switch (xorshift(seed) % 3) {
	case 0:
		count_call(OP_DEV_STOP);
		rc = prqd_dev_stop(S.dev, xorshift(seed) % 2 ? PRQD_STOP_ABANDON : 0);
		if (rc != 0)
			unexpected(OP_DEV_STOP, rc);
		break;
	case 1:
		count_call(OP_DEV_DRAIN);
		rc = prqd_dev_drain(S.dev, xorshift(seed) % 2 ? PRQD_DRAIN_ABANDON : 0,
				    1 + xorshift(seed) % 4);
		if (!rc_in(rc, -EBUSY, -ETIMEDOUT, 1))
			unexpected(OP_DEV_DRAIN, rc);
		break;
	default:
		/* -EINVAL: a bond not STOPPED; -ESTALE: one being unbound by its owner. */
		count_call(OP_DEV_RESUME);
		rc = prqd_dev_resume(S.dev);
		if (!rc_in(rc, -EINVAL, -ESTALE, 1))
			unexpected(OP_DEV_RESUME, rc);
		break;
	}
}

/* Holds the handles' write lock: no other control call runs, every handle may end. */
static void unbind_all(uint32_t *seed)
{
	static const unsigned flag_sets[] = { 0, PRQD_UNBIND_FORCE, PRQD_UNBIND_NO_DRAIN,
					      PRQD_UNBIND_STOP_MARKER };
	unsigned flags = flag_sets[xorshift(seed) % 4];
	count_call(OP_DEV_UNBIND_ALL);
	uint32_t gens[NSLOT];
	for (unsigned slot = 0; slot < NSLOT; slot++)
		gens[slot] = S.bond[slot] ? prqd_bond_gen(S.bond[slot]) : 0;
	int rc = prqd_dev_unbind_all(S.dev, flags);
	/* NO_DRAIN refuses bonds with groups outstanding; a drain may run out of time. */
	bool ok = flags & PRQD_UNBIND_FORCE ? rc == 0
		  : flags & PRQD_UNBIND_NO_DRAIN ? rc_in(rc, -EBUSY, 1)
						  : rc_in(rc, -ETIMEDOUT, 1);
	if (!ok)
		unexpected(OP_DEV_UNBIND_ALL, rc);
	/* The write lock keeps every other bind out: an ended bond's memory is not reused yet,
	 * so its state can still be read. */
	for (unsigned slot = 0; slot < NSLOT; slot++)
		if (S.bond[slot] && prqd_bond_state(S.bond[slot]) == PRQD_BOND_FREED)
			forget(slot, (1 + flags) | ENDED_ALL, gens[slot]);
}

struct controller {
	unsigned id;
	uint32_t seed;
};

static void *controller_main(void *arg)
{
	struct controller *c = arg;
	for (unsigned it = 0; it < S.iters && !atomic_load(&S.stop_all); it++) {
		/* Keep pace with the device, so operations meet traffic whatever the scheduler
		 * does; the producer in turn stops once the controllers are done. The device may
		 * be waiting for deferred answers (it reuses no index still owed one): give them. */
		while (atomic_load(&S.groups_pushed) < (uint64_t)it * GROUPS_PER_ITER / 2 &&
		       !atomic_load(&S.producer_done) && !atomic_load(&S.stop_all)) {
			answer_deferred(1, &c->seed);
			sched_yield();
		}
		unsigned pick = xorshift(&c->seed) % 100;
		if (pick < 20) {
			answer_deferred(1 + xorshift(&c->seed) % 8, &c->seed);
		} else if (pick < 26) {
			pthread_rwlock_rdlock(&S.handles);
			device_op(&c->seed);
			pthread_rwlock_unlock(&S.handles);
		} else if (pick < 27) {
			pthread_rwlock_wrlock(&S.handles);
			unbind_all(&c->seed);
			pthread_rwlock_unlock(&S.handles);
		} else {
			unsigned slot = (xorshift(&c->seed) % ((NSLOT + NCTL - 1 - c->id) / NCTL)) * NCTL +
					c->id;
			pthread_rwlock_rdlock(&S.handles);
			bond_op(slot, &c->seed);
			pthread_rwlock_unlock(&S.handles);
		}
		atomic_fetch_add(&S.controller_iters, 1);
	}
	atomic_fetch_add(&S.controllers_done, 1);
	return NULL;
}

/* ---- main ------------------------------------------------------------------------------- */

static unsigned env_uint(const char *name, unsigned def)
{
	const char *v = getenv(name);
	return v && *v ? (unsigned)strtoul(v, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void setup(void)
{
	stress_backend = test_backend;
	stress_backend.name = "stress";
	stress_backend.ops.respond = stress_respond;

	tw_setup(&S.w, TW_NO_OPEN);
	/* Unbind drains on the fake clock (0.01 ms per relax): a few thousand polls at most. */
	if (prqd_ctx_set_param(S.w.ctx, "core.drain_timeout_ms", "20") != 0)
		abort();
	if (prqd__iommu_open_backend(S.w.ctx, &stress_backend, NULL, &S.w.iommu) != 0)
		abort();
	S.w.t = tb_of(S.w.iommu);
	S.w.tp.step_ns = 10000;
	S.w.t->limit = QUEUE_LIMIT;
	/* Hardware steps take 0.6 ms of fake time, so short drains time out with one in flight
	 * and a forced unbind hands it to the IOMMU, which keeps it until it completes. */
	S.w.t->drain_polls = 60;
	S.w.t->release_busy = true;

	struct prqd_dev_info info = tw_info(RID);
	info.pri_capacity = 256;
	if (prqd_dev_add(S.w.iommu, &info, &S.dev) != 0)
		abort();

	pthread_rwlock_init(&S.handles, NULL);
	pthread_mutex_init(&S.deferred_mu, NULL);
	pthread_mutex_init(&S.report_mu, NULL);
	for (unsigned i = 0; i < NSLOT; i++)
		pthread_mutex_init(&S.slot_mu[i], NULL);
	/* Groups of up to 3 requests, a marker now and then, the unbinds' markers. */
	S.tag_cap = (uint64_t)S.iters * GROUPS_PER_ITER * 4 + 2 * S.iters * NCTL + 16;
	S.pushed = calloc(S.tag_cap, sizeof(*S.pushed));
	S.answers = calloc(S.tag_cap, sizeof(*S.answers));
	S.gen_cap = S.iters * NCTL + 2 * NSLOT + 1; /* at most one bind per iteration */
	S.gen_ended = calloc(S.gen_cap, sizeof(*S.gen_ended));
	if (!S.pushed || !S.answers || !S.gen_ended)
		abort();
	atomic_store(&S.next_tag, 1);
}

/* Empty the queue with every bond still bound, answer every deferred group, unbind all. */
static void finish(void)
{
	uint32_t seed = S.seed ^ 0xf1;
	while (tq_pending(S.w.t) || S.w.t->overflow) {
		int n = prqd_iommu_process(S.w.iommu, 0);
		if (n < 0) {
			unexpected(OP_PROCESS, n);
			break;
		}
	}
	answer_deferred(0, &seed);
	int rc = prqd_dev_unbind_all(S.dev, PRQD_UNBIND_FORCE);
	if (rc != 0)
		unexpected(OP_DEV_UNBIND_ALL, rc);
	answer_deferred(0, &seed); /* nothing can have been deferred since; kept for safety */
	if (prqd_dev_remove(S.dev) != 0) {
		report("prqd_dev_remove failed at the end");
		atomic_fetch_add(&S.unexpected_rc, 1);
	}
}

/* Every group pushed answered exactly once, nothing else answered. Returns violations. */
static unsigned check_answers(uint64_t *groups, uint64_t *by_library)
{
	unsigned missing = 0, duplicate = 0, marker = 0;
	uint64_t ntags = atomic_load(&S.next_tag);
	for (uint64_t tag = 1; tag < ntags; tag++) {
		const struct pushed *p = &S.pushed[tag];
		unsigned a = atomic_load(&S.answers[tag]);
		if (p->kind == TK_LAST) {
			unsigned total = a + (p->dropped ? 1 : 0);
			(*groups)++;
			*by_library += a;
			if (total == 0 && missing++ < 5)
				report("group tag %llu (slot %u index %u) never answered",
				       (unsigned long long)tag, p->slot, p->index);
			if (total > 1 && duplicate++ < 5)
				report("group tag %llu (slot %u index %u) answered %u times%s",
				       (unsigned long long)tag, p->slot, p->index, total,
				       p->dropped ? " (one by the hardware)" : "");
		} else if (a) {
			/* stress_respond counted these as bad responses already */
			marker += p->kind == TK_MARKER;
		}
	}
	if (marker)
		report("%u stop markers answered", marker);
	return missing + duplicate;
}

static unsigned max_seconds;

/* The whole run; returns the number of violations. */
static unsigned run_stress(void)
{
	printf("stress: %u iterations per control thread, seed %u\n", S.iters, S.seed);

	setup();
	/* Every bond starts bound, so traffic reaches handlers from the first request. */
	for (unsigned slot = 0; slot < NSLOT; slot++)
		bind_slot(slot);

	pthread_t process, producer, control[NCTL];
	struct controller ctl[NCTL];
	pthread_create(&process, NULL, process_main, NULL);
	pthread_create(&producer, NULL, producer_main, NULL);
	for (unsigned i = 0; i < NCTL; i++) {
		ctl[i] = (struct controller){ .id = i, .seed = S.seed * 2654435761u + i + 1 };
		pthread_create(&control[i], NULL, controller_main, &ctl[i]);
	}

	/* Wall-clock cap: past it the threads stop early. No progress (neither a control
	 * operation nor a group pushed) for STALL_SECONDS is a violation; threads that do not
	 * stop a minute after being told are stuck inside a call. */
	double start = now_s(), last_progress = start, stop_told = 0;
	uint64_t progress = 0;
	bool capped = false;
	while (atomic_load(&S.controllers_done) < NCTL || !atomic_load(&S.producer_done)) {
		usleep(20000);
		double t = now_s();
		uint64_t p = atomic_load(&S.controller_iters) + atomic_load(&S.groups_pushed);
		if (p != progress) {
			progress = p;
			last_progress = t;
		}
		if (!stop_told && t - start > max_seconds) {
			capped = true;
			printf("stress: time cap of %u s reached after %u control iterations: "
			       "stopping early\n", max_seconds, atomic_load(&S.controller_iters));
		} else if (!stop_told && t - last_progress > STALL_SECONDS) {
			atomic_fetch_add(&S.stalled, 1);
			report("no progress for %d s after %u control iterations and %llu groups: "
			       "livelock", STALL_SECONDS, atomic_load(&S.controller_iters),
			       (unsigned long long)atomic_load(&S.groups_pushed));
		}
		if (!stop_told && (capped || atomic_load(&S.stalled))) {
			stop_told = t;
			atomic_store(&S.stop_all, true);
		}
		if (stop_told && t - stop_told > 60.0) {
			fprintf(stderr, "stress: FAIL: threads still running 60 s after being told to "
				"stop (deadlock or livelock inside a call)\n");
			_exit(2);
		}
	}
	for (unsigned i = 0; i < NCTL; i++)
		pthread_join(control[i], NULL);
	pthread_join(producer, NULL);
	atomic_store(&S.stop_all, true);
	pthread_join(process, NULL);
	finish();
	double elapsed = now_s() - start;

	uint64_t groups = 0, by_library = 0;
	unsigned answer_violations = check_answers(&groups, &by_library);
	struct prqd_stats st;
	prqd_iommu_stats(S.w.iommu, &st, sizeof(st));
	uint64_t by_sum = 0;
	for (unsigned i = 0; i < PRQD_NR_RESPONDERS; i++)
		by_sum += st.by[i];
	unsigned stats_violations = 0;
	if (by_sum != by_library) {
		report("stats count %llu responses by responder, the backend saw %llu",
		       (unsigned long long)by_sum, (unsigned long long)by_library);
		stats_violations++;
	}
	if (st.by[PRQD_BY_LOCAL]) {
		report("%llu groups answered locally (the backend never fails here)",
		       (unsigned long long)st.by[PRQD_BY_LOCAL]);
		stats_violations++;
	}

	printf("stress: %.1f s, %u control iterations%s\n", elapsed,
	       atomic_load(&S.controller_iters), capped ? " (stopped by the time cap)" : "");
	printf("stress: %llu groups pushed (%llu requests dropped by overflows, %llu of them "
	       "Lasts), %llu stop markers\n",
	       (unsigned long long)groups, (unsigned long long)atomic_load(&S.requests_dropped),
	       (unsigned long long)atomic_load(&S.lasts_dropped),
	       (unsigned long long)atomic_load(&S.markers_pushed));
	printf("stress: %llu delivered, %llu deferred (%llu answered, %llu answered late), "
	       "by stop %llu, by abandon %llu, no bond %llu, overflows %llu, pool exhausted %llu\n",
	       (unsigned long long)atomic_load(&S.delivered),
	       (unsigned long long)atomic_load(&S.deferred_total),
	       (unsigned long long)atomic_load(&S.respond_ok),
	       (unsigned long long)atomic_load(&S.respond_late),
	       (unsigned long long)st.by[PRQD_BY_STOP], (unsigned long long)st.by[PRQD_BY_ABANDON],
	       (unsigned long long)st.by[PRQD_BY_NOBOND], (unsigned long long)st.overflows,
	       (unsigned long long)st.pool_exhausted);
	printf("stress: drains %llu, timed out %llu, stop markers seen %llu, missing %llu, "
	       "binds refused by a quarantine %u\n",
	       (unsigned long long)st.drains, (unsigned long long)st.drain_timeouts,
	       (unsigned long long)st.stop_markers, (unsigned long long)st.stop_markers_missing,
	       atomic_load(&S.binds_refused));
	printf("stress: calls:");
	for (unsigned i = 0; i < NOPS; i++)
		printf(" %s %llu%s", op_names[i], (unsigned long long)atomic_load(&S.calls[i]),
		       i + 1 < NOPS ? "," : "\n");

	unsigned wrong_gen = atomic_load(&S.wrong_gen);
	unsigned violations = answer_violations + stats_violations + atomic_load(&S.stalled) +
			      atomic_load(&S.bad_delivery) +
			      atomic_load(&S.bad_response) + atomic_load(&S.unexpected_rc);
	printf("stress: violations: %u unanswered or answered twice, %u stalls, %u bad "
	       "deliveries, %u bad responses, %u unexpected results, %u stats, %u wrong "
	       "generation (%u pushed unbound, %u pushed to an older generation)\n",
	       answer_violations, atomic_load(&S.stalled), atomic_load(&S.bad_delivery), atomic_load(&S.bad_response),
	       atomic_load(&S.unexpected_rc), stats_violations, wrong_gen,
	       atomic_load(&S.wrong_gen_unbound), atomic_load(&S.wrong_gen_old));
	if (atomic_load(&S.wrong_gen_old)) {
		printf("stress: wrong generation, pushed to an older generation that ended by:");
		for (unsigned how = 1; how < 2 * ENDED_ALL; how++) {
			unsigned n = atomic_load(&S.wrong_gen_by_end[how]);
			unsigned flags = (how & (ENDED_ALL - 1)) - 1;
			if (n)
				printf(" %s(%s%s%s%s) %u", how & ENDED_ALL ? "unbind_all" : "unbind",
				       flags ? "" : "0", flags & PRQD_UNBIND_STOP_MARKER ? "M" : "",
				       flags & PRQD_UNBIND_FORCE ? "F" : "",
				       flags & PRQD_UNBIND_NO_DRAIN ? "N" : "", n);
		}
		printf(" (M stop marker, F force, N no drain)\n");
	}
	violations += wrong_gen;

	tw_teardown(&S.w);
	free(S.pushed);
	free(S.answers);
	free(S.gen_ended);
	printf("stress: %s\n", violations ? "FAIL" : "ok");
	return violations;
}

START_TEST(stress)
{
	unsigned violations = run_stress();
	ck_assert_msg(violations == 0, "%u violations (see the lines above)", violations);
}
END_TEST

/* A Check program (the test backend asserts with Check), one test: the run above. */
int main(int argc, char **argv)
{
	S.iters = env_uint("PRQD_STRESS_ITERS", DEFAULT_ITERS);
	S.seed = env_uint("PRQD_STRESS_SEED", 1);
	if (argc > 1)
		S.iters = (unsigned)strtoul(argv[1], NULL, 0);
	if (argc > 2)
		S.seed = (uint32_t)strtoul(argv[2], NULL, 0);
	if (S.seed == 0)
		S.seed = 1;
	max_seconds = env_uint("PRQD_STRESS_MAX_SECONDS", 300);
	setvbuf(stdout, NULL, _IOLBF, 0);

	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("stress");
	/* The run stops itself at the cap and reports itself stuck a minute later. */
	tcase_set_timeout(tc, max_seconds + 120);
	tcase_add_test(tc, stress);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
