/* SPDX-License-Identifier: MIT */
/* An IOMMU: backend selection, the queue consumer, overflow handling, statistics. */
#include "lib/private.h"

/* Pick by name, by PRQDRAIN_BACKEND, or by probing in table order. */
static int select_backend(struct prqd_ctx *ctx, const char *name, const struct prqd_platform *plat,
			  const struct prqd_backend **out)
{
	if (!name && !(ctx->flags & PRQD_CTX_IGNORE_ENV))
		name = ctx->plat.p.getenv(ctx->plat.p.user, "PRQDRAIN_BACKEND");
	if (name && *name) {
		*out = prqd__backend_find(ctx, name);
		if (!*out) {
			prqd_err(ctx, "no backend named '%s'", name);
			return -PRQD_ENOENT;
		}
		return 0;
	}
	const struct prqd_backend *be;
	for (unsigned i = 0; (be = prqd__backend_at(ctx, i)) != NULL; i++) {
		struct prqd_backend_ops ops;
		prqd__backend_fill_ops(&ops, &be->ops);
		int rc = ops.probe(plat);
		if (rc == 0) {
			*out = be;
			return 0;
		}
		prqd_dbg(ctx, "backend %s: probe found nothing: %d", be->name, rc);
	}
	prqd_err(ctx, "no backend found usable hardware (name one, or set PRQDRAIN_BACKEND)");
	return -PRQD_ENODEV;
}

static void iommu_free(struct prqd_iommu *iommu)
{
	const struct prqd_plat *pl = &iommu->plat;
	prqd__plat_free(pl, iommu->batch, iommu->batch_size * sizeof(*iommu->batch));
	prqd__plat_free(pl, iommu->priv, iommu->be ? iommu->be->priv_size : 0);
	prqd__plat_free(pl, iommu->params, iommu->nparams * sizeof(uint64_t));
	prqd__lock_free(pl, iommu->queue_lock);
	prqd__lock_free(pl, iommu->abandoned_lock);
	struct prqd_ctx *ctx = iommu->ctx;
	prqd__plat_free(pl, iommu, sizeof(*iommu));
	prqd_ctx_unref(ctx);
}

int prqd__iommu_open_backend(struct prqd_ctx *ctx, const struct prqd_backend *be,
			     const struct prqd_platform *platform, struct prqd_iommu **out)
{
	struct prqd_plat plat;
	int rc = 0;
	if (platform)
		rc = prqd__plat_fill(&plat, platform);
	else
		/* The context's table is filled already: filling it again would take its
		 * default lock callbacks for the embedder's, giving a lockless platform no-op
		 * locks (has_locks) and a dummy allocation per lock. */
		plat = ctx->plat;
	if (rc < 0)
		return rc;
	struct prqd_iommu *iommu = prqd__plat_alloc(&plat, sizeof(*iommu));
	if (!iommu)
		return -PRQD_ENOMEM;
	iommu->ctx = prqd_ctx_ref(ctx);
	iommu->plat = plat;
	iommu->be = be;
	prqd__backend_fill_ops(&iommu->ops, &be->ops);
	/* A drain step's allocation ends with its abandoned-step record (abandoned_of()), so
	 * handing a step to the IOMMU's tracking never needs memory. */
	size_t op_size = sizeof(struct prqd_drain_step) + be->drain_priv_size;
	size_t align = _Alignof(struct prqd_abandoned_step);
	op_size = (op_size + align - 1) / align * align;
	iommu->drain_step_size = op_size + sizeof(struct prqd_abandoned_step);

	rc = -PRQD_ENOMEM;
	iommu->params = prqd__plat_alloc(&plat, ctx->nparams * sizeof(uint64_t));
	if (!iommu->params)
		goto fail;
	iommu->nparams = ctx->nparams;
	prqd__memcpy(iommu->params, ctx->param_values, ctx->nparams * sizeof(uint64_t));
	iommu->batch_size = (uint32_t)iommu->params[PRQD_P_FETCH_BATCH];
	iommu->batch = prqd__plat_alloc(&plat, iommu->batch_size * sizeof(*iommu->batch));
	if (!iommu->batch)
		goto fail;
	if (be->priv_size) {
		iommu->priv = prqd__plat_alloc(&plat, be->priv_size);
		if (!iommu->priv)
			goto fail;
	}
	if ((rc = prqd__lock_new(&plat, &iommu->queue_lock)) < 0)
		goto fail;
	if ((rc = prqd__lock_new(&plat, &iommu->abandoned_lock)) < 0)
		goto fail;
	/* The embedder learns which backend comes up on its platform before that backend
	 * touches it: one that stands in for several IOMMUs (the simulator) puts the named
	 * one's hardware behind its register window. What it returns is the backend's to ask
	 * for. */
	(void)plat.p.backend_data(plat.p.user, be->name);
	rc = iommu->ops.init(iommu, iommu->priv, &iommu->caps);
	if (rc < 0) {
		prqd_err(ctx, "backend %s: init failed: %d", be->name, rc);
		goto fail;
	}
	if ((iommu->caps.flags & ~(uint32_t)PRQD_CAP_ALL) ||
	    iommu->caps.drain_level > PRQD_LEVEL_EXACT) {
		prqd_err(ctx, "backend %s: init reported unknown caps %#x or drain level %u",
			 be->name, (unsigned)iommu->caps.flags, (unsigned)iommu->caps.drain_level);
		iommu->ops.fini(iommu, iommu->priv);
		rc = -PRQD_EINVAL;
		goto fail;
	}
	static const char *const level_names[] = { "none", "snapshot", "exact" };
	prqd_info(ctx, "iommu opened with backend %s (drain level %s, caps %#x)", be->name,
		  level_names[iommu->caps.drain_level], (unsigned)iommu->caps.flags);
	*out = iommu;
	return 0;
fail:
	iommu_free(iommu);
	return rc;
}

PRQD_EXPORT int prqd_iommu_open(struct prqd_ctx *ctx, const char *backend,
				const struct prqd_platform *platform, struct prqd_iommu **out)
{
	if (!ctx || !out)
		return -PRQD_EINVAL;
	const struct prqd_backend *be;
	int rc = select_backend(ctx, backend, platform ? platform : &ctx->plat.p, &be);
	if (rc < 0)
		return rc;
	return prqd__iommu_open_backend(ctx, be, platform, out);
}

PRQD_EXPORT int prqd_iommu_close(struct prqd_iommu *iommu)
{
	if (!iommu)
		return -PRQD_EINVAL;
	if (iommu->ndevs)
		return -PRQD_EBUSY;
	/* Steps given up on are released now: the backend's fini owns whatever is left. */
	while (iommu->abandoned) {
		struct prqd_abandoned_step *o = iommu->abandoned;
		iommu->abandoned = o->next;
		iommu->ops.drain_release(iommu->priv, o->op);
		prqd__plat_free(&iommu->plat, o->op, o->size); /* o with it */
	}
	prqd__plat_free(&iommu->plat, atomic_load_explicit(&iommu->spare_step, memory_order_relaxed),
			iommu->drain_step_size);
	while (iommu->spare_steps) {
		struct prqd_abandoned_step *o = iommu->spare_steps;
		iommu->spare_steps = o->next;
		prqd__plat_free(&iommu->plat, o->op, iommu->drain_step_size); /* o with it */
	}
	iommu->ops.fini(iommu, iommu->priv);
	iommu_free(iommu);
	return 0;
}

PRQD_EXPORT const char *prqd_iommu_backend(const struct prqd_iommu *iommu)
{
	return iommu ? iommu->be->name : NULL;
}

static unsigned source_bucket(uint32_t sid)
{
	return (sid ^ (sid >> 8) ^ (sid >> 16) ^ (sid >> 24)) & (PRQD_SOURCE_HASH - 1);
}

struct prqd_dev *prqd__dev_lookup_hash(struct prqd_iommu *iommu, uint32_t source_id)
{
	for (struct prqd_dev *d = iommu->dev_hash[source_bucket(source_id)]; d; d = d->hnext)
		if (d->info.source_id == source_id) {
			iommu->last_dev = d;
			return d;
		}
	return NULL;
}

void prqd__dev_hash_insert(struct prqd_iommu *iommu, struct prqd_dev *dev)
{
	unsigned b = source_bucket(dev->info.source_id);
	dev->hnext = iommu->dev_hash[b];
	iommu->dev_hash[b] = dev;
	iommu->ndevs++;
}

void prqd__dev_hash_remove(struct prqd_iommu *iommu, struct prqd_dev *dev)
{
	for (struct prqd_dev **pp = &iommu->dev_hash[source_bucket(dev->info.source_id)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == dev) {
			*pp = dev->hnext;
			iommu->ndevs--;
			if (iommu->last_dev == dev)
				iommu->last_dev = NULL;
			return;
		}
	}
}

/*
 * Queue progress. Whoever holds the queue lock publishes what it did, so that a drain (the
 * control path) can see its queue work done by the consumer that holds the lock instead of
 * queueing on the lock behind it, taking the consumer's cache lines and waking it up:
 *  - queue_held: claimed by the thread about to take the queue lock and cleared once it
 *    released it (prqd__queue_lock()); a hint only: it decides whether a waiter polls or
 *    goes for the lock, never what is true;
 *  - consumed_seq: stored (release) after each batch's responses were committed, so a
 *    reader that sees a position consumed (acquire) also sees everything the consumer did
 *    for the requests below it, as if it had taken the lock after the consumer;
 *  - overflow_checks: bumped (release) after each overflow check that found none pending
 *    or acknowledged one (overflow_epoch bumped first). A check counted after a reader saw
 *    consumed_seq at some position began after everything below that position was
 *    consumed: the holder publishes consumed_seq before it checks, and every earlier check
 *    was counted before that publication.
 * The last two are written with the queue lock held only, so a plain load and store would
 * do; they are atomics for the readers without the lock. A drain that sees the mark consumed
 * and a check made after that has what the lock would have given it: the drain's guarantee
 * rests on what was consumed and checked, not on which thread did it.
 */
static void overflow_checked(struct prqd_iommu *iommu)
{
	unsigned n = atomic_load_explicit(&iommu->overflow_checks, memory_order_relaxed);
	atomic_store_explicit(&iommu->overflow_checks, n + 1, memory_order_release);
}

/*
 * Waiting for the queue lock's holder. A thread that wants the lock, or waits for what the
 * holder publishes, polls the progress line (queue_held, overflow_checks) rather than
 * queueing on the platform lock: a waiter asleep on a platform lock that a consumer takes
 * again after each process() call makes the consumer pay a wake-up at every release and can
 * lose the race for the lock to it every time (a convoy). Polling often costs the holder
 * little: it writes that line a few times per hold, whatever the number of reads. The
 * first polls are CPU pause hints (no platform time passes, and a single-threaded platform
 * never polls: nobody else can be holding the lock); a holder that stays longer (a slow
 * handler, a long queue) is then polled with relax(), and at last queued on.
 */
#define POLL_PAUSES 4096 /* about 40 us at 10 ns a pause */
#define POLL_RELAXES 256

/* The @poll-th wait for the holder: false once the budget is spent. */
static bool poll_holder(const struct prqd_iommu *iommu, unsigned poll)
{
	if (poll < POLL_PAUSES)
		prqd_cpu_pause();
	else if (poll < POLL_PAUSES + POLL_RELAXES)
		iommu->plat.p.relax(iommu->plat.p.user);
	else
		return false;
	return true;
}

/*
 * The flag is claimed before the platform lock is taken, so two threads that both saw it
 * clear do not both go for the platform lock and one sleep there: the one that lost the
 * claim keeps polling. Mutual exclusion is still the platform lock's alone: a thread whose
 * budget ran out takes it without the claim (and sets the flag once it holds it), so the
 * flag may now and then be wrong, which costs a wait, never a guarantee.
 */
void prqd__queue_lock(struct prqd_iommu *iommu)
{
	for (unsigned poll = 0;; poll++) {
		bool clear = false;
		if (!atomic_load_explicit(&iommu->queue_held, memory_order_relaxed) &&
		    atomic_compare_exchange_weak_explicit(&iommu->queue_held, &clear, true,
							  memory_order_relaxed,
							  memory_order_relaxed))
			break;
		if (!poll_holder(iommu, poll)) {
			prqd__lock(&iommu->plat, iommu->queue_lock);
			atomic_store_explicit(&iommu->queue_held, true, memory_order_relaxed);
			return;
		}
	}
	prqd__lock(&iommu->plat, iommu->queue_lock);
}

/*
 * The queue is empty: if it overflowed, groups whose Last was dropped (and auto-answered by
 * the hardware) can never complete, and the device may reuse their indices, so every partial
 * group is thrown away before the overflow is acknowledged.
 */
static void handle_overflow(struct prqd_iommu *iommu)
{
	int pending = iommu->ops.overflow_pending(iommu->priv);
	if (pending != 1) {
		if (pending == 0)
			overflow_checked(iommu);
		return;
	}
	int rc = iommu->ops.overflow_ack(iommu->priv);
	if (rc < 0) {
		prqd_dbg(iommu->ctx, "overflow acknowledge refused: %d", rc);
		return;
	}
	uint32_t discarded = 0;
	for (unsigned b = 0; b < PRQD_SOURCE_HASH; b++)
		for (struct prqd_dev *d = iommu->dev_hash[b]; d; d = d->hnext)
			discarded += prqd__discard_partials(d, NULL);
	atomic_fetch_add_explicit(&iommu->overflow_epoch, 1, memory_order_release);
	overflow_checked(iommu);
	prqd_cstat_inc(iommu, overflows);
	prqd_info(iommu->ctx, "queue overflow acknowledged, %u partial groups discarded",
		  (unsigned)discarded);
	if (prqd__tracing(iommu)) {
		struct prqd_trace_event ev = { .type = PRQD_TR_OVERFLOW, .value = discarded };
		prqd__trace(iommu, &ev);
	}
}

int prqd__consume_locked(struct prqd_iommu *iommu, unsigned budget, uint64_t end)
{
	unsigned total = 0;
	for (;;) {
		unsigned want = iommu->batch_size;
		if (budget && budget - total < want)
			want = budget - total;
		/* Up to @end exactly; once there, one more batch at most, so an empty queue is
		 * seen and a pending overflow acknowledged as before. */
		uint64_t consumed = atomic_load_explicit(&iommu->consumed_seq, memory_order_relaxed);
		bool past_end = consumed >= end;
		if (!past_end && end - consumed < want)
			want = (unsigned)(end - consumed);
		int got = iommu->ops.fetch(iommu->priv, iommu->batch, want);
		if (got < 0)
			return total ? (int)total : got;
		prqd__handle_batch(iommu, iommu->batch, (unsigned)got);
		/* The batch's responses reach the hardware together (one doorbell), before
		 * anyone else may consume; then the batch counts as consumed. */
		if (got > 0) {
			iommu->ops.commit(iommu->priv);
			atomic_store_explicit(&iommu->consumed_seq, iommu->batch[got - 1].seq + 1,
					      memory_order_release);
		}
		total += (unsigned)got;
		if ((unsigned)got < want) {
			handle_overflow(iommu);
			break;
		}
		if ((budget && total >= budget) || past_end)
			break;
	}
	return (int)total;
}

uint64_t prqd__queue_tail(struct prqd_iommu *iommu)
{
	uint64_t pos;
	if (iommu->ops.queue_tail(iommu->priv, &pos) < 0)
		pos = atomic_load_explicit(&iommu->consumed_seq, memory_order_relaxed);
	return pos;
}

int prqd__consume_some(struct prqd_iommu *iommu)
{
	prqd__queue_lock(iommu);
	int n = prqd__consume_locked(iommu, iommu->batch_size, UINT64_MAX);
	prqd__queue_unlock(iommu);
	return n;
}

int prqd__consume_to(struct prqd_iommu *iommu, uint64_t end, uint64_t deadline)
{
	const struct prqd_plat *pl = &iommu->plat;
	for (;;) {
		prqd__queue_lock(iommu);
		uint64_t consumed = atomic_load_explicit(&iommu->consumed_seq, memory_order_acquire);
		int n = consumed < end ? prqd__consume_locked(iommu, iommu->batch_size, end) : 0;
		consumed = atomic_load_explicit(&iommu->consumed_seq, memory_order_acquire);
		prqd__queue_unlock(iommu);
		if (consumed >= end)
			return 0;
		if (n < 0)
			return n;
		if (n == 0)
			return 1;
		if (prqd__now(pl) >= deadline)
			return -PRQD_ETIMEDOUT;
	}
}

int prqd__consume_queued(struct prqd_iommu *iommu, uint64_t deadline)
{
	prqd__queue_lock(iommu);
	uint64_t end = prqd__queue_tail(iommu);
	prqd__queue_unlock(iommu);
	/* Empty before the position: the rest was dropped in an overflow. */
	int rc = prqd__consume_to(iommu, end, deadline);
	return rc == 1 ? 0 : rc;
}

/* Queue lock held: if an overflow is pending, read one batch (acknowledging it when the queue
 * runs empty; *@n: how many were read) and look again. Returns overflow_pending()'s last
 * answer. */
static int settle_locked(struct prqd_iommu *iommu, int *n)
{
	int pending = iommu->ops.overflow_pending(iommu->priv);
	if (pending == 1) {
		*n = prqd__consume_locked(iommu, iommu->batch_size, UINT64_MAX);
		pending = iommu->ops.overflow_pending(iommu->priv);
	}
	if (pending == 0)
		overflow_checked(iommu);
	return pending;
}

int prqd__settle_overflow(struct prqd_iommu *iommu, uint64_t deadline)
{
	const struct prqd_plat *pl = &iommu->plat;
	for (;;) {
		/* One batch at a time: other requesters may keep the queue from emptying, and
		 * the deadline must still hold. */
		prqd__queue_lock(iommu);
		int n = 0;
		int pending = settle_locked(iommu, &n);
		prqd__queue_unlock(iommu);
		if (pending != 1)
			return pending < 0 ? pending : 0;
		if (prqd__now(pl) >= deadline)
			return -PRQD_ETIMEDOUT;
		if (n <= 0) {
			/* Nothing to read: let time pass. */
			prqd__poll_abandoned(iommu);
			pl->p.relax(pl->p.user);
		}
	}
}

/* Pause-polls while nobody holds the lock but requests below a drain's mark wait (about three
 * microseconds): a consumer about to run reads them from its own caches, which is cheaper for
 * it than finding them read by the drain's thread. */
#define POLLS_IDLE 300

int prqd__consume_settled(struct prqd_iommu *iommu, uint64_t end, uint64_t deadline)
{
	const struct prqd_plat *pl = &iommu->plat;
	/* @checks: the count last seen; once @reached, one read after the mark was seen
	 * consumed, so a change means a check made after that (see "queue progress"). */
	bool reached = atomic_load_explicit(&iommu->consumed_seq, memory_order_acquire) >= end;
	unsigned checks = atomic_load_explicit(&iommu->overflow_checks, memory_order_acquire);
	unsigned polls = 0;
	for (;;) {
		/* While another thread is at the queue, its published progress may be all this
		 * needs. consumed_seq (written at every batch) is read only when a holder
		 * completed a check, at the end of its reading. */
		bool waiting;
		if (atomic_load_explicit(&iommu->queue_held, memory_order_relaxed))
			waiting = poll_holder(iommu, polls);
		else if ((waiting = !reached && polls < POLLS_IDLE))
			prqd_cpu_pause();
		if (waiting) {
			polls++;
			unsigned now_checks = atomic_load_explicit(&iommu->overflow_checks,
								   memory_order_acquire);
			if (now_checks == checks)
				continue;
			if (reached)
				return 0;
			checks = now_checks;
			if (atomic_load_explicit(&iommu->consumed_seq, memory_order_acquire) >= end) {
				reached = true;
				checks = atomic_load_explicit(&iommu->overflow_checks,
							      memory_order_acquire);
			}
			polls = 0;
			if (prqd__now(pl) >= deadline)
				return -PRQD_ETIMEDOUT;
			continue;
		}
		/* Nobody at the queue (or nobody making progress): do it here, one batch per
		 * lock hold so that concurrent drains keep their deadlines. Once the mark is
		 * reached, that is the overflow check alone, a short hold. */
		prqd__queue_lock(iommu);
		int n = 0, pending = 0;
		reached = atomic_load_explicit(&iommu->consumed_seq, memory_order_relaxed) >= end;
		if (!reached) {
			n = prqd__consume_locked(iommu, iommu->batch_size, end);
			reached = atomic_load_explicit(&iommu->consumed_seq,
						       memory_order_relaxed) >= end;
		}
		if (reached)
			pending = settle_locked(iommu, &n);
		checks = atomic_load_explicit(&iommu->overflow_checks, memory_order_relaxed);
		prqd__queue_unlock(iommu);
		if (reached && pending != 1)
			return pending < 0 ? pending : 0;
		if (n < 0)
			return n;
		if (!reached && n == 0)
			return 1;
		if (prqd__now(pl) >= deadline)
			return -PRQD_ETIMEDOUT;
		if (reached && n <= 0) {
			/* An overflow to settle and nothing to read: let time pass. */
			prqd__poll_abandoned(iommu);
			pl->p.relax(pl->p.user);
		}
		polls = 0;
	}
}

/* The tracking record at the end of a step's allocation (see drain_step_size). */
static struct prqd_abandoned_step *abandoned_of(const struct prqd_iommu *iommu,
					   struct prqd_drain_step *op)
{
	return (struct prqd_abandoned_step *)(void *)((unsigned char *)op + iommu->drain_step_size -
						    sizeof(struct prqd_abandoned_step));
}

/* Steps kept for reuse at most: more than this many drains at once are rare. */
#define SPARE_STEPS_MAX 8

struct prqd_drain_step *prqd__step_get(struct prqd_iommu *iommu)
{
	struct prqd_drain_step *op =
		atomic_exchange_explicit(&iommu->spare_step, NULL, memory_order_acquire);
	if (op) {
		prqd__memset(op, 0, iommu->drain_step_size);
		return op;
	}
	prqd__lock(&iommu->plat, iommu->abandoned_lock);
	struct prqd_abandoned_step *o = iommu->spare_steps;
	if (o) {
		iommu->spare_steps = o->next;
		iommu->nspare_steps--;
	}
	prqd__unlock(&iommu->plat, iommu->abandoned_lock);
	if (!o)
		return prqd__plat_alloc(&iommu->plat, iommu->drain_step_size);
	op = o->op;
	/* As from the allocator: the backend finds its part zeroed (o is inside, zeroed too). */
	prqd__memset(op, 0, iommu->drain_step_size);
	return op;
}

void prqd__step_put(struct prqd_iommu *iommu, struct prqd_drain_step *op)
{
	struct prqd_drain_step *none = NULL;
	if (atomic_compare_exchange_strong_explicit(&iommu->spare_step, &none, op,
						    memory_order_release, memory_order_relaxed))
		return;
	struct prqd_abandoned_step *o = abandoned_of(iommu, op);
	prqd__lock(&iommu->plat, iommu->abandoned_lock);
	bool keep = iommu->nspare_steps < SPARE_STEPS_MAX;
	if (keep) {
		o->op = op;
		o->next = iommu->spare_steps;
		iommu->spare_steps = o;
		iommu->nspare_steps++;
	}
	prqd__unlock(&iommu->plat, iommu->abandoned_lock);
	if (!keep)
		prqd__plat_free(&iommu->plat, op, iommu->drain_step_size);
}

void prqd__step_abandon(struct prqd_iommu *iommu, struct prqd_drain_step *op)
{
	if (iommu->ops.drain_release(iommu->priv, op) == 0) {
		prqd__step_put(iommu, op);
		return;
	}
	/* Kept until the hardware lets go: no allocation here, so it can't fail. */
	struct prqd_abandoned_step *o = abandoned_of(iommu, op);
	o->op = op;
	o->size = iommu->drain_step_size;
	prqd__lock(&iommu->plat, iommu->abandoned_lock);
	o->next = iommu->abandoned;
	iommu->abandoned = o;
	atomic_fetch_add_explicit(&iommu->nabandoned, 1, memory_order_relaxed);
	prqd__unlock(&iommu->plat, iommu->abandoned_lock);
}

void prqd__poll_abandoned(struct prqd_iommu *iommu)
{
	/* The list itself is read only under its lock; missing a step abandoned right now
	 * costs nothing, the next poll sees it. */
	if (atomic_load_explicit(&iommu->nabandoned, memory_order_relaxed) == 0)
		return;
	prqd__lock(&iommu->plat, iommu->abandoned_lock);
	for (struct prqd_abandoned_step **pp = &iommu->abandoned; *pp;) {
		struct prqd_abandoned_step *o = *pp;
		int rc = iommu->ops.drain_poll(iommu->priv, o->op);
		if (rc != -PRQD_EINPROGRESS || iommu->ops.drain_release(iommu->priv, o->op) == 0) {
			*pp = o->next;
			atomic_fetch_sub_explicit(&iommu->nabandoned, 1, memory_order_relaxed);
			prqd__plat_free(&iommu->plat, o->op, o->size); /* o with it */
		} else {
			pp = &o->next;
		}
	}
	prqd__unlock(&iommu->plat, iommu->abandoned_lock);
}

PRQD_EXPORT int prqd_iommu_process(struct prqd_iommu *iommu, unsigned budget)
{
	if (!iommu)
		return -PRQD_EINVAL;
	prqd__queue_lock(iommu);
	/* Without a budget, what is queued now: a flood that keeps the queue full must not
	 * keep this call (and the queue lock) forever. */
	uint64_t end = budget ? UINT64_MAX : prqd__queue_tail(iommu);
	int n = prqd__consume_locked(iommu, budget, end);
	prqd__queue_unlock(iommu);
	prqd__poll_abandoned(iommu);
	return n;
}

PRQD_EXPORT int prqd_iommu_stats(const struct prqd_iommu *iommu, struct prqd_stats *out,
				 size_t size)
{
	if (!iommu || !out || size % sizeof(uint64_t) || size > sizeof(struct prqd_stats))
		return -PRQD_EINVAL;
	uint64_t *dst = (uint64_t *)(void *)out;
	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		dst[i] = atomic_load_explicit(&iommu->stats.v[i], memory_order_relaxed) +
			 atomic_load_explicit(&iommu->consumer_stats.v[i], memory_order_relaxed);
	return 0;
}
