/* SPDX-License-Identifier: MIT */
/* tests/testutil.c: the test platform, the scripted backend and the recording handler. */
#define _GNU_SOURCE

#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "backends/sim/scenario.h"
#include "backends/sim/sim.h"
#include "lib/backend.h"

/* ========================================================================================== */
/* Platform                                                                                   */
/* ========================================================================================== */

#define TP_MAGIC 0x70a110c5u
#define TP_DEAD 0xdeadf4eeu

/* Every block carries its size in a header so free() can check the size it is given. */
struct tp_hdr {
	uint64_t size;
	uint32_t magic;
	uint32_t pad;
	alignas(max_align_t) unsigned char data[];
};

static void *tp_alloc(void *user, size_t size)
{
	struct test_platform *tp = user;
	pthread_mutex_lock(&tp->mu);
	uint64_t attempt = ++tp->attempts;
	bool fail = tp->fail_at && attempt - tp->fail_base == tp->fail_at;
	if (fail)
		tp->failed++;
	if (size == 0)
		tp->zero_size++;
	pthread_mutex_unlock(&tp->mu);
	if (fail)
		return NULL;
	struct tp_hdr *h = calloc(1, sizeof(*h) + (size ? size : 1));
	if (!h)
		return NULL;
	h->size = size;
	h->magic = TP_MAGIC;
	pthread_mutex_lock(&tp->mu);
	tp->allocs++;
	tp->live++;
	tp->live_bytes += size;
	pthread_mutex_unlock(&tp->mu);
	return h->data;
}

static void tp_free(void *user, void *ptr, size_t size)
{
	struct test_platform *tp = user;
	if (!ptr) {
		/* The contract never frees NULL through the platform, but it is harmless. */
		return;
	}
	struct tp_hdr *h = (struct tp_hdr *)((unsigned char *)ptr - offsetof(struct tp_hdr, data));
	pthread_mutex_lock(&tp->mu);
	if (h->magic != TP_MAGIC) {
		tp->bad_frees++;
		pthread_mutex_unlock(&tp->mu);
		fprintf(stderr, "testutil: free of a block that is not live (%p)\n", ptr);
		return; /* do not free: it may be a double free */
	}
	if (h->size != size) {
		tp->bad_frees++;
		fprintf(stderr, "testutil: free(%p) with size %zu, allocated %llu\n", ptr, size,
			(unsigned long long)h->size);
	}
	tp->frees++;
	tp->live--;
	tp->live_bytes -= h->size;
	pthread_mutex_unlock(&tp->mu);
	h->magic = TP_DEAD;
	free(h);
}

static uint64_t tp_now(void *user)
{
	struct test_platform *tp = user;
	return atomic_load(&tp->now_ns);
}

static void tp_relax(void *user)
{
	struct test_platform *tp = user;
	atomic_fetch_add(&tp->now_ns, tp->step_ns);
	atomic_fetch_add(&tp->relax_calls, 1);
	if (tp->relax_hook && !tp->in_hook) {
		tp->in_hook = true;
		tp->relax_hook(tp->hook_arg);
		tp->in_hook = false;
	}
}

static int tp_lock_init(void *user, void *lock)
{
	struct test_platform *tp = user;
	pthread_mutex_lock(&tp->mu);
	bool fail = ++tp->lock_inits == tp->lock_fail_at;
	if (!fail)
		tp->locks_live++;
	pthread_mutex_unlock(&tp->mu);
	if (fail)
		return -EAGAIN;
	return -pthread_mutex_init(lock, NULL);
}

static void tp_lock_destroy(void *user, void *lock)
{
	struct test_platform *tp = user;
	pthread_mutex_lock(&tp->mu);
	tp->locks_live--;
	pthread_mutex_unlock(&tp->mu);
	pthread_mutex_destroy(lock);
}

static void tp_lock(void *user, void *lock)
{
	pthread_mutex_lock(lock);
}

static void tp_unlock(void *user, void *lock)
{
	pthread_mutex_unlock(lock);
}

static const char *tp_getenv(void *user, const char *name)
{
	struct test_platform *tp = user;
	atomic_fetch_add(&tp->env_lookups, 1);
	if (strcmp(name, "PRQDRAIN_LOG") == 0)
		return tp->env_log;
	if (strcmp(name, "PRQDRAIN_BACKEND") == 0)
		return tp->env_backend;
	return NULL;
}

void tp_init(struct test_platform *tp, unsigned flags)
{
	memset(tp, 0, sizeof(*tp));
	pthread_mutex_init(&tp->mu, NULL);
	tp->p.size = sizeof(tp->p);
	tp->p.user = tp;
	tp->p.alloc = tp_alloc;
	tp->p.free = tp_free;
	tp->p.now_ns = tp_now;
	tp->p.relax = tp_relax;
	if (!(flags & TP_NO_LOCKS)) {
		tp->p.lock_size = sizeof(pthread_mutex_t);
		tp->p.lock_init = tp_lock_init;
		tp->p.lock_destroy = tp_lock_destroy;
		tp->p.lock = tp_lock;
		tp->p.unlock = tp_unlock;
	}
	tp->p.getenv = tp_getenv;
	atomic_init(&tp->now_ns, 1000000000ull); /* not 0: catch "0 means unset" confusions */
	tp->step_ns = 100000;                   /* 0.1 ms per relax */
}

void tp_fini(struct test_platform *tp)
{
	pthread_mutex_destroy(&tp->mu);
}

void tp_fail_nth(struct test_platform *tp, uint64_t n)
{
	pthread_mutex_lock(&tp->mu);
	tp->fail_at = n;
	tp->fail_base = tp->attempts;
	pthread_mutex_unlock(&tp->mu);
}

uint64_t tp_live(struct test_platform *tp)
{
	pthread_mutex_lock(&tp->mu);
	uint64_t n = tp->live;
	pthread_mutex_unlock(&tp->mu);
	return n;
}

uint64_t tp_attempts(struct test_platform *tp)
{
	pthread_mutex_lock(&tp->mu);
	uint64_t n = tp->attempts;
	pthread_mutex_unlock(&tp->mu);
	return n;
}

void tp_set_hook(struct test_platform *tp, void (*hook)(void *arg), void *arg)
{
	tp->relax_hook = hook;
	tp->hook_arg = arg;
}

/* ========================================================================================== */
/* The scripted backend                                                                       */
/* ========================================================================================== */

struct test_iommu *tb_of(struct prqd_iommu *iommu)
{
	return iommu->priv;
}

static int tb_probe(const struct prqd_platform *plat)
{
	return 0;
}

#define TB_DEFAULT_CAPS { .flags = PRQD_CAP_ALL, .drain_level = PRQD_LEVEL_EXACT }
struct prqd_be_caps tb_init_caps = TB_DEFAULT_CAPS;

static int tb_init(struct prqd_iommu *iommu, void *priv, struct prqd_be_caps *caps)
{
	struct test_iommu *t = priv;
	*caps = tb_init_caps;
	tb_init_caps = (struct prqd_be_caps)TB_DEFAULT_CAPS; /* one open only */
	pthread_mutex_init(&t->mu, NULL);
	t->iommu = iommu;
	t->q = calloc(TQ_CAP, sizeof(*t->q));
	if (!t->q)
		abort();
	t->limit = TQ_CAP;
	t->inited = true;
	return 0;
}

static void tb_fini(struct prqd_iommu *iommu, void *priv)
{
	struct test_iommu *t = priv;
	t->fini_calls++;
	free(t->q);
	free(t->log);
	t->q = NULL;
	t->log = NULL;
	pthread_mutex_destroy(&t->mu);
}

static int tb_dev_attach(void *priv, const struct prqd_dev_info *info, void **dev_priv)
{
	struct test_iommu *t = priv;
	if (t->attach_err)
		return t->attach_err;
	const struct prqd_platform *pl = prqd_iommu_platform(t->iommu);
	struct test_dev *d = pl->alloc(pl->user, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->magic = TEST_DEV_MAGIC;
	d->rid = info->rid;
	d->info = *info;
	pthread_mutex_lock(&t->mu);
	t->attached++;
	if (t->nattach_rids < TB_MAX_DEVS)
		t->attach_rids[t->nattach_rids++] = info->rid;
	pthread_mutex_unlock(&t->mu);
	*dev_priv = d;
	return 0;
}

static void tb_dev_detach(void *priv, void *dev_priv)
{
	struct test_iommu *t = priv;
	struct test_dev *d = dev_priv;
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->magic, TEST_DEV_MAGIC);
	d->magic = 0;
	pthread_mutex_lock(&t->mu);
	t->detached++;
	pthread_mutex_unlock(&t->mu);
	const struct prqd_platform *pl = prqd_iommu_platform(t->iommu);
	pl->free(pl->user, d, sizeof(*d));
}

static int tb_gate(void *priv, void *dev_priv, uint32_t pasid, bool enable)
{
	struct test_iommu *t = priv;
	struct test_dev *d = dev_priv;
	if (d && atomic_fetch_add(&d->in_gate, 1) != 0)
		atomic_fetch_add(&t->gate_overlaps, 1);
	if (d)
		sched_yield();
	if (t->gate_hook && !t->in_gate_hook) {
		t->in_gate_hook = true;
		t->gate_hook(t, pasid, enable, t->gate_hook_arg);
		t->in_gate_hook = false;
	}
	pthread_mutex_lock(&t->mu);
	int rc = t->gate_err;
	if (t->ngates < TB_MAX_GATES)
		t->gates[t->ngates] = (struct test_gate){ d ? d->rid : 0xffff, pasid, enable };
	t->ngates++;
	if (d && t->nattach_rids && d->rid == t->attach_rids[0]) {
		unsigned slot = pasid == PRQD_NO_PASID ? TB_GATE_RID : pasid;
		if (slot <= TB_GATE_RID)
			t->gate_last[slot] = enable ? 1 : 2;
	}
	if (d)
		atomic_fetch_sub(&d->in_gate, 1);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_fetch(void *priv, struct prqd_hw_req *out, unsigned max)
{
	struct test_iommu *t = priv;
	if (t->fetch_hook)
		t->fetch_hook(t, t->fetch_hook_arg);
	pthread_mutex_lock(&t->mu);
	t->fetch_calls++;
	if (t->fetch_err) {
		int rc = t->fetch_err;
		pthread_mutex_unlock(&t->mu);
		return rc;
	}
	unsigned n = 0;
	while (n < max && t->head < t->tail) {
		out[n++] = t->q[t->head % TQ_CAP];
		t->head++;
	}
	t->fetched += n;
	pthread_mutex_unlock(&t->mu);
	return (int)n;
}

static int tb_queue_tail(void *priv, uint64_t *pos)
{
	struct test_iommu *t = priv;
	pthread_mutex_lock(&t->mu);
	*pos = t->tail;
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static int tb_respond(void *priv, void *dev_priv, const struct prqd_hw_resp *resp)
{
	struct test_iommu *t = priv;
	if (dev_priv)
		ck_assert_uint_eq(((struct test_dev *)dev_priv)->magic, TEST_DEV_MAGIC);
	pthread_mutex_lock(&t->mu);
	if (t->nlog == t->caplog) {
		t->caplog = t->caplog ? t->caplog * 2 : 256;
		t->log = realloc(t->log, t->caplog * sizeof(*t->log));
		if (!t->log)
			abort();
	}
	int rc = t->respond_err;
	t->log[t->nlog++] = (struct test_resp){ *resp, dev_priv, rc };
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_drain_start(void *priv, struct prqd_drain_step *op)
{
	struct test_iommu *t = priv;
	struct test_op *o = (struct test_op *)op->priv;
	pthread_mutex_lock(&t->mu);
	int rc = t->drain_start_err;
	if (rc == 0) {
		t->drain_starts++;
		t->inflight++;
		o->id = t->drain_starts;
		o->polls = 0;
		o->inflight = true;
		op->commands = 4;
		op->doorbells = 1;
		t->last_scope = op->scope;
		t->last_rid = op->rid;
		t->last_source_id = op->source_id;
		t->last_pasid = op->pasid;
		t->last_dev_priv = op->dev_priv;
		if (op->scope < 4)
			t->scope_count[op->scope]++;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_drain_poll(void *priv, struct prqd_drain_step *op)
{
	struct test_iommu *t = priv;
	struct test_op *o = (struct test_op *)op->priv;
	if (t->poll_hook)
		t->poll_hook(t, op, t->poll_hook_arg);
	pthread_mutex_lock(&t->mu);
	t->drain_poll_calls++;
	/* A step the core polls must be one it started and still has. */
	ck_assert_msg(o->inflight, "drain_poll on a step that is not in flight (id %u)", o->id);
	int rc = -EINPROGRESS;
	bool due = o->polls >= t->drain_polls;
	o->polls++;
	if (due && t->drain_aborts) {
		/* Aborted for another device's sake: over, and worth issuing again. */
		t->drain_aborts--;
		t->drain_aborted++;
		rc = -EAGAIN;
	} else if (t->drain_mode == TD_COMPLETE && due) {
		op->queue_mark = t->mark_fixed ? t->mark : t->tail;
		t->drain_completed++;
		rc = 0;
	} else if (t->drain_mode == TD_EIO && due) {
		t->drain_failed++;
		rc = -EIO;
	}
	if (rc != -EINPROGRESS) {
		o->inflight = false;
		t->inflight--;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_stall_resume(void *priv, void *dev_priv, const struct prqd_hw_stall_resp *resp)
{
	struct test_iommu *t = priv;
	(void)dev_priv;
	pthread_mutex_lock(&t->mu);
	if (t->nstall < sizeof(t->stall_log) / sizeof(t->stall_log[0]))
		t->stall_log[t->nstall] = *resp;
	t->nstall++;
	int rc = t->stall_err;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_drain_release(void *priv, struct prqd_drain_step *op)
{
	struct test_iommu *t = priv;
	struct test_op *o = (struct test_op *)op->priv;
	pthread_mutex_lock(&t->mu);
	t->drain_releases++;
	int rc = 0;
	if (o->inflight && t->release_busy) {
		t->drain_release_refused++;
		rc = -EBUSY;
	} else if (o->inflight) {
		o->inflight = false;
		t->inflight--;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_overflow_pending(void *priv)
{
	struct test_iommu *t = priv;
	pthread_mutex_lock(&t->mu);
	int rc = t->overflow ? 1 : 0;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int tb_overflow_ack(void *priv)
{
	struct test_iommu *t = priv;
	pthread_mutex_lock(&t->mu);
	int rc = 0;
	if (t->head != t->tail || t->ack_refuse) {
		if (t->ack_refuse)
			t->ack_refuse--;
		t->overflow_ack_refused++;
		rc = -EBUSY;
	} else {
		ck_assert_msg(t->overflow, "overflow_ack without a pending overflow");
		t->overflow = false;
		t->overflow_acks++;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

const struct prqd_backend test_backend = {
	.name = "script",
	.help = "scripted test backend",
	.priv_size = sizeof(struct test_iommu),
	.drain_priv_size = sizeof(struct test_op),
	.params = NULL,
	.ops = {
		.probe = tb_probe,
		.init = tb_init,
		.fini = tb_fini,
		.dev_attach = tb_dev_attach,
		.dev_detach = tb_dev_detach,
		.gate = tb_gate,
		.fetch = tb_fetch,
		.queue_tail = tb_queue_tail,
		.respond = tb_respond,
		.drain_start = tb_drain_start,
		.drain_poll = tb_drain_poll,
		.drain_release = tb_drain_release,
		.overflow_pending = tb_overflow_pending,
		.overflow_ack = tb_overflow_ack,
		.stall_resume = tb_stall_resume,
	},
};

static int64_t push_entry(struct test_iommu *t, struct prqd_request r, uint64_t tag,
			  bool malformed, bool stall, uint32_t stall_tag)
{
	pthread_mutex_lock(&t->mu);
	if (t->tail - t->head >= t->limit) {
		t->overflow = true;
		t->dropped++;
		if (r.last)
			t->dropped_last++;
		pthread_mutex_unlock(&t->mu);
		return -ENOSPC;
	}
	uint64_t seq = t->tail++;
	/* The scripted queue names requesters by requester ID unless the test names a source. */
	if (r.source_id == 0)
		r.source_id = r.rid;
	if (tag == 0)
		tag = seq + 1;
	t->q[seq % TQ_CAP] = (struct prqd_hw_req){ .req = r, .seq = seq, .tag = tag,
						   .stall = stall, .stall_tag = stall_tag,
						   .malformed = malformed };
	pthread_mutex_unlock(&t->mu);
	return (int64_t)seq;
}

static int64_t push(struct test_iommu *t, struct prqd_request r, uint64_t tag, bool malformed)
{
	return push_entry(t, r, tag, malformed, false, 0);
}

int64_t tq_push_stall(struct test_iommu *t, struct prqd_request r, uint32_t stall_tag)
{
	return push_entry(t, r, 0, false, true, stall_tag);
}

int64_t tq_push(struct test_iommu *t, struct prqd_request r)
{
	return push(t, r, 0, false);
}

int64_t tq_push_tagged(struct test_iommu *t, struct prqd_request r, uint64_t tag)
{
	return push(t, r, tag, false);
}

int64_t tq_push_malformed(struct test_iommu *t, struct prqd_request r)
{
	return push(t, r, 0, true);
}

unsigned tq_pending(struct test_iommu *t)
{
	pthread_mutex_lock(&t->mu);
	unsigned n = (unsigned)(t->tail - t->head);
	pthread_mutex_unlock(&t->mu);
	return n;
}

void tq_raise_overflow(struct test_iommu *t)
{
	pthread_mutex_lock(&t->mu);
	t->overflow = true;
	pthread_mutex_unlock(&t->mu);
}

uint64_t tq_tail(struct test_iommu *t)
{
	pthread_mutex_lock(&t->mu);
	uint64_t v = t->tail;
	pthread_mutex_unlock(&t->mu);
	return v;
}

size_t tl_count(struct test_iommu *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->nlog;
	pthread_mutex_unlock(&t->mu);
	return n;
}

struct test_resp tl_get(struct test_iommu *t, size_t i)
{
	pthread_mutex_lock(&t->mu);
	ck_assert_uint_lt(i, t->nlog);
	struct test_resp r = t->log[i];
	pthread_mutex_unlock(&t->mu);
	return r;
}

unsigned tl_count_tag(struct test_iommu *t, uint64_t tag)
{
	unsigned n = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->nlog; i++)
		n += t->log[i].r.tag == tag;
	pthread_mutex_unlock(&t->mu);
	return n;
}

unsigned tl_count_for(struct test_iommu *t, uint16_t rid, uint16_t index)
{
	unsigned n = 0;
	pthread_mutex_lock(&t->mu);
	for (size_t i = 0; i < t->nlog; i++)
		n += t->log[i].r.rid == rid && t->log[i].r.prg_index == index;
	pthread_mutex_unlock(&t->mu);
	return n;
}

unsigned tg_count(struct test_iommu *t, uint32_t pasid, bool enable)
{
	unsigned n = 0;
	pthread_mutex_lock(&t->mu);
	for (unsigned i = 0; i < t->ngates && i < TB_MAX_GATES; i++)
		n += t->gates[i].pasid == pasid && t->gates[i].enable == enable;
	pthread_mutex_unlock(&t->mu);
	return n;
}

/* ========================================================================================== */
/* Requests                                                                                   */
/* ========================================================================================== */

struct prqd_request rq(uint16_t rid, uint32_t pasid, uint16_t index, bool last, uint64_t addr)
{
	return (struct prqd_request){
		.addr = addr,
		.read = true,
		.last = last,
		.prg_index = index,
		.pasid_valid = pasid != PRQD_NO_PASID,
		.pasid = pasid != PRQD_NO_PASID ? pasid : 0,
		.rid = rid,
	};
}

struct prqd_request rq_marker(uint16_t rid, uint32_t pasid, uint16_t index)
{
	struct prqd_request r = rq(rid, pasid, index, true, 0);
	r.read = false;
	r.write = false;
	return r;
}

uint64_t tq_group(struct test_iommu *t, uint16_t rid, uint32_t pasid, uint16_t index, unsigned n,
		  uint64_t addr)
{
	int64_t seq = -1;
	for (unsigned i = 0; i < n; i++) {
		seq = tq_push(t, rq(rid, pasid, index, i + 1 == n, addr + 4096ull * i));
		ck_assert_int_ge(seq, 0);
	}
	return (uint64_t)seq + 1;
}

/* ========================================================================================== */
/* Recording handler                                                                          */
/* ========================================================================================== */

void rec_init(struct rec *r, int code)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->code = code;
}

void rec_fini(struct rec *r)
{
	pthread_mutex_destroy(&r->mu);
}

int rec_handler(void *cookie, struct prqd_bond *bond, struct prqd_group *g)
{
	struct rec *r = cookie;
	unsigned count = prqd_group_count(g);
	struct rec_group rg = {
		.g = g,
		.bond = bond,
		.gen = prqd_bond_gen(bond),
		.count = count,
		.index = prqd_group_index(g),
	};
	/* The group's bond is the one the handler was called for (or none any more: another
	 * thread took the group back with an abandoning stop or unbind meanwhile). */
	struct prqd_bond *gb = prqd_group_bond(g);
	ck_assert_msg(gb == bond || gb == NULL, "group of bond %p handed to bond %p", (void *)gb,
		      (void *)bond);
	ck_assert_uint_ge(count, 1);
	rg.last_at_end = true;
	for (unsigned i = 0; i < count; i++) {
		const struct prqd_request *q = prqd_group_request(g, i);
		ck_assert_ptr_nonnull(q);
		if (q->last != (i + 1 == count))
			rg.last_at_end = false;
		if (i < REC_ADDRS)
			rg.addrs[i] = q->addr;
		if (i + 1 == count) {
			rg.tag = prqd_group_request_tag(g, i);
			ck_assert_uint_eq(q->size, sizeof(*q));
			rg.pasid_valid = q->pasid_valid;
			rg.pasid = q->pasid;
			rg.rid = q->rid;
			rg.priv_data_valid = q->priv_data_valid;
			rg.priv_data[0] = q->priv_data[0];
			rg.priv_data[1] = q->priv_data[1];
		}
		ck_assert_uint_eq(q->prg_index, rg.index);
	}
	ck_assert_ptr_null(prqd_group_request(g, count));

	pthread_mutex_lock(&r->mu);
	r->calls++;
	int code = r->code;
	if (r->defer_every && r->calls % r->defer_every == 0)
		code = PRQD_RESP_DEFER;
	if (r->n < REC_MAX)
		r->groups[r->n++] = rg;
	if (code == PRQD_RESP_DEFER && r->ndeferred < REC_MAX)
		r->deferred[r->ndeferred++] = g;
	pthread_mutex_unlock(&r->mu);
	if (r->inner) {
		int c = r->inner(r, bond, g);
		if (c != REC_KEEP)
			code = c;
	}
	return code;
}

struct prqd_group *rec_pop_deferred(struct rec *r)
{
	pthread_mutex_lock(&r->mu);
	struct prqd_group *g = NULL;
	if (r->ndeferred) {
		g = r->deferred[0];
		memmove(&r->deferred[0], &r->deferred[1], (r->ndeferred - 1) * sizeof(r->deferred[0]));
		r->ndeferred--;
	}
	pthread_mutex_unlock(&r->mu);
	return g;
}

unsigned rec_answer_all(struct rec *r, int code)
{
	unsigned ok = 0;
	struct prqd_group *g;
	while ((g = rec_pop_deferred(r)) != NULL)
		ok += prqd_respond(g, code) == 0;
	return ok;
}

/* ========================================================================================== */
/* Pseudo-random numbers                                                                      */
/* ========================================================================================== */

uint32_t xorshift(uint32_t *state)
{
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* ========================================================================================== */
/* World                                                                                      */
/* ========================================================================================== */

void tw_setup(struct tw *w, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	tp_init(&w->tp, flags & TP_NO_LOCKS);
	struct prqd_ctx_opts o = {
		.size = sizeof(o), .platform = &w->tp.p, .flags = PRQD_CTX_IGNORE_ENV,
	};
	ck_assert_int_eq(prqd_ctx_new(&o, &w->ctx), 0);
	if (!(flags & TW_NO_OPEN))
		tw_open(w);
}

void tw_open(struct tw *w)
{
	ck_assert_int_eq(prqd__iommu_open_backend(w->ctx, &test_backend, NULL, &w->iommu), 0);
	w->t = tb_of(w->iommu);
	ck_assert(w->t->inited);
}

void tw_teardown(struct tw *w)
{
	if (w->iommu) {
		struct test_iommu *t = w->t;
		unsigned attached = t->attached, detached = t->detached;
		ck_assert_uint_eq(attached, detached);
		ck_assert_int_eq(prqd_iommu_close(w->iommu), 0);
		w->iommu = NULL;
		w->t = NULL;
	}
	ck_assert_ptr_null(prqd_ctx_unref(w->ctx));
	w->ctx = NULL;
	ck_assert_uint_eq(w->tp.bad_frees, 0);
	ck_assert_uint_eq(w->tp.locks_live, 0);
	ck_assert_msg(w->tp.live == 0, "%llu allocations leaked (%llu bytes)",
		      (unsigned long long)w->tp.live, (unsigned long long)w->tp.live_bytes);
	tp_fini(&w->tp);
}

struct prqd_dev_info tw_info(uint16_t rid)
{
	return (struct prqd_dev_info){
		.size = sizeof(struct prqd_dev_info),
		.rid = rid,
		.pri_capacity = 64,
		.pri_alloc = 0,
		.prg_resp_pasid_required = true,
		.uses_stop_markers = true,
		.pasid_width = 20,
		.ats_queue_depth = 0,
	};
}

struct prqd_dev *tw_dev(struct tw *w, uint16_t rid)
{
	struct prqd_dev_info info = tw_info(rid);
	struct prqd_dev *dev = NULL;
	ck_assert_int_eq(prqd_dev_add(w->iommu, &info, &dev), 0);
	ck_assert_ptr_nonnull(dev);
	return dev;
}

struct prqd_bond *tw_bind(struct prqd_dev *dev, uint32_t pasid, struct rec *r)
{
	struct prqd_bond *b = NULL;
	ck_assert_int_eq(prqd_bind(dev, pasid, rec_handler, r, &b), 0);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(prqd_bond_state(b), PRQD_BOND_ACTIVE);
	return b;
}

struct prqd_stats tw_stats(struct tw *w)
{
	struct prqd_stats s;
	memset(&s, 0xa5, sizeof(s));
	ck_assert_int_eq(prqd_iommu_stats(w->iommu, &s, sizeof(s)), 0);
	return s;
}

int tw_process(struct tw *w)
{
	int n = prqd_iommu_process(w->iommu, 0);
	ck_assert_int_ge(n, 0);
	return n;
}

/* ========================================================================================== */
/* Scenario runs                                                                              */
/* ========================================================================================== */

void assert_same_summary(const struct scn_result *a, const struct scn_result *b)
{
	const struct scn_result *res[2] = { a, b };
	char *out[2];
	size_t len[2];
	for (int i = 0; i < 2; i++) {
		FILE *f = open_memstream(&out[i], &len[i]);
		ck_assert_ptr_nonnull(f);
		scn_result_print(f, res[i]);
		fclose(f);
	}
	ck_assert_uint_eq(len[0], len[1]);
	ck_assert_int_eq(memcmp(out[0], out[1], len[0]), 0);
	free(out[0]);
	free(out[1]);
}

const char *source_dir(const char *sub)
{
	static char dir[1024];
	const char *src = getenv("top_srcdir");
	if (!src)
		src = getenv("srcdir");
	snprintf(dir, sizeof(dir), "%s/%s", src ? src : ".", sub);
	return dir;
}

const char *scenario_dir(void)
{
	return source_dir("examples/scenarios");
}

/*
 * Is the hardware of backend @i of the library's list behind the simulated world (its probe
 * answers on a world's platform)? The world-driven suites run only over those: a
 * register-level backend whose model the world does not have yet (smmuv3, until the SMMUv3
 * model joins the world) has suites of its own against a register file of the test's
 * (tests/check-smmuv3*.c) and QEMU (tests/qemu-arm/).
 */
static bool world_hosts(unsigned i)
{
	static int known[64]; /* 0 unknown, 1 yes, -1 no */
	if (i < 64 && known[i])
		return known[i] > 0;
	struct sim_world *w;
	if (sim_world_new(NULL, 1, NULL, &w) != 0)
		abort();
	bool yes = prqd_backends[i]->ops.probe(sim_world_platform(w)) == 0;
	sim_world_free(w);
	if (i < 64)
		known[i] = yes ? 1 : -1;
	return yes;
}

unsigned tu_backend_count(void)
{
	unsigned n = 0;
	for (unsigned i = 0; prqd_backend_name(i, NULL); i++)
		n += world_hosts(i);
	if (n == 0) {
		/* Called while a suite is built, outside any test: a suite over no backend
		 * would pass vacuously. */
		fprintf(stderr, "the library lists no backend the simulated world hosts\n");
		abort();
	}
	return n;
}

const char *tu_backend(unsigned i)
{
	const char *name = NULL;
	for (unsigned k = 0; (name = prqd_backend_name(k, NULL)) != NULL; k++)
		if (world_hosts(k) && i-- == 0)
			break;
	ck_assert_ptr_nonnull(name);
	return name;
}
