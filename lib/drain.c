/* SPDX-License-Identifier: MIT */
/*
 * The drain loop (DESIGN §4, VT-d §7.10 as the model):
 *
 *  1. stop the bond(s): from now on their groups are answered Invalid on arrival; close
 *     their gates at the IOMMU where the backend can (done before any hardware step);
 *  2. hardware step: the backend makes everything the device issued before it visible in
 *     the queue and says up to which queue position;
 *  3. consume the queue up to there, serving every other bond normally (or see it consumed
 *     by the consumer that holds the queue lock: prqd__consume_settled());
 *  4. if the queue overflowed since the drain began, consume until empty so the overflow is
 *     acknowledged and partial groups discarded (an overflow check made after step 3, by
 *     this thread or the consumer, says), then repeat from 2;
 *  5. (unbind with stop-marker) check that the device's Stop Marker was read; by the
 *     instance's drain level (make_visible()): exact counts a missing marker, snapshot waits
 *     for it after the steps (unless an overflow may have dropped it: then a step after the
 *     overflow's acknowledgement), none has no steps and the marker replaces steps 2-4;
 *  6. wait until the handler answered every group it holds (or take them back);
 *  7. discard the bond's partial groups: their Last will never come (an unbind leaves this to
 *     the bond's release, which clears the PASID slot in the same queue lock hold).
 *
 * Everything is bounded by one deadline. Running out leaves the bond STOPPING; a hardware
 * step still in flight stays recorded on the bond (or device) and the next drain polls it
 * instead of issuing a new one, so a late completion is never mistaken for a newer step.
 */
#include "lib/private.h"

struct drain_run {
	struct prqd_iommu *iommu;
	struct prqd_dev *dev;
	struct prqd_bond *bond; /* NULL: every bond of dev (owned through busy) */
	uint64_t deadline;
	uint64_t start_ns;
};

static bool expired(const struct drain_run *run)
{
	return prqd__now(&run->iommu->plat) >= run->deadline;
}

/* One polling iteration: keep the queue moving for everyone, then let time pass. */
static void wait_a_little(const struct drain_run *run)
{
	prqd__consume_some(run->iommu);
	prqd__poll_abandoned(run->iommu);
	run->iommu->plat.p.relax(run->iommu->plat.p.user);
}

#define FOR_EACH_DRAINED(run, b)                                                               \
	for (struct prqd_bond *b = (run)->bond ? (run)->bond : (run)->dev->drain_first; b;      \
	     b = (run)->bond ? NULL : b->next)

static void trace_drain(const struct drain_run *run, uint32_t type, int result, uint64_t value)
{
	if (!prqd__tracing(run->iommu))
		return;
	if (run->bond) {
		prqd__trace_bond(run->bond, type, 0, 0, result, value);
		return;
	}
	struct prqd_trace_event ev = {
		.type = type, .rid = run->dev->info.rid, .result = result, .value = value,
	};
	prqd__trace(run->iommu, &ev);
}

static struct prqd_drain_step **step_slot(const struct drain_run *run)
{
	return run->bond ? &run->bond->drain_step : &run->dev->drain_step;
}

/* Issue a new drain step into the run's slot and count what it cost. */
static int issue_step(const struct drain_run *run)
{
	struct prqd_iommu *iommu = run->iommu;
	struct prqd_drain_step *op = prqd__step_get(iommu);
	if (!op)
		return -PRQD_ENOMEM;
	if (!run->bond) {
		op->scope = PRQD_SCOPE_DEVICE;
		op->pasid = PRQD_NO_PASID;
	} else if (run->bond->pasid == PRQD_NO_PASID) {
		op->scope = PRQD_SCOPE_RID;
		op->pasid = PRQD_NO_PASID;
	} else {
		op->scope = PRQD_SCOPE_PASID;
		op->pasid = run->bond->pasid;
	}
	op->rid = run->dev->info.rid;
	op->source_id = run->dev->info.source_id;
	op->dev_priv = run->dev->be_priv;
	int rc = iommu->ops.drain_start(iommu->priv, op);
	if (rc < 0) {
		prqd__step_put(iommu, op);
		return rc;
	}
	*step_slot(run) = op;
	prqd_stat_inc(iommu, drain_steps);
	prqd_stat_add(iommu, commands_queued, op->commands);
	prqd_stat_add(iommu, doorbells, op->doorbells);
	trace_drain(run, PRQD_TR_DRAIN_STEP_START, 0, op->scope);
	return 0;
}

/* The step in the run's slot is over (completed or failed): free it. */
static void end_step(const struct drain_run *run, int result, uint64_t value)
{
	struct prqd_drain_step **slot = step_slot(run);
	prqd__step_put(run->iommu, *slot);
	*slot = NULL;
	trace_drain(run, PRQD_TR_DRAIN_STEP_DONE, result, value);
}

/*
 * Step 2: issue (or resume) a hardware drain step and poll it. Returns 0 with *mark set, and
 * *fresh false when the step was one an earlier drain left in flight: its guarantee covers
 * only what the device sent before that earlier drain, so the caller must issue another.
 * A step the hardware aborted for another device's sake (-EAGAIN) is issued again here:
 * the new one starts now, so it covers this drain.
 */
static int run_step(const struct drain_run *run, uint64_t *mark, bool *fresh)
{
	struct prqd_iommu *iommu = run->iommu;
	struct prqd_drain_step **slot = step_slot(run);
	*fresh = *slot == NULL;
	if (!*slot) {
		int rc = issue_step(run);
		if (rc < 0)
			return rc;
	}
	for (;;) {
		int rc = iommu->ops.drain_poll(iommu->priv, *slot);
		if (rc == 0)
			break;
		if (rc == -PRQD_EAGAIN) {
			end_step(run, rc, 0);
			prqd_stat_inc(iommu, drain_reissues);
			if (expired(run))
				return -PRQD_ETIMEDOUT;
			rc = issue_step(run);
			if (rc < 0)
				return rc;
			*fresh = true;
			continue;
		}
		if (rc != -PRQD_EINPROGRESS) {
			/* The backend says nothing of the step is in flight any more. */
			end_step(run, rc, 0);
			return rc;
		}
		if (expired(run))
			return -PRQD_ETIMEDOUT;
		wait_a_little(run);
	}
	*mark = (*slot)->queue_mark;
	end_step(run, 0, *mark);
	return 0;
}

/* Steps 3 and 4: consume until every position below @mark was read, and settle an overflow
 * (by this thread, or seen done by the consumer at the queue: prqd__consume_settled()). */
static int consume_to(const struct drain_run *run, uint64_t mark)
{
	struct prqd_iommu *iommu = run->iommu;
	int rc = prqd__consume_settled(iommu, mark, run->deadline);
	if (rc != 1)
		return rc;
	/* The step said everything below the mark is in the queue: it is not. */
	prqd_err(iommu->ctx, "queue empty at %llu before drain mark %llu",
		 (unsigned long long)atomic_load_explicit(&iommu->consumed_seq,
							  memory_order_acquire),
		 (unsigned long long)mark);
	return -PRQD_EIO;
}

static int run_steps(const struct drain_run *run)
{
	struct prqd_iommu *iommu = run->iommu;
	unsigned epoch = atomic_load_explicit(&iommu->overflow_epoch, memory_order_acquire);
	for (;;) {
		uint64_t mark = 0;
		bool fresh;
		int rc = run_step(run, &mark, &fresh);
		if (rc == 0)
			rc = consume_to(run, mark);
		if (rc < 0)
			return rc;
		if (!fresh)
			continue; /* the old wait is closed; now the step that covers this drain */
		unsigned now_epoch = atomic_load_explicit(&iommu->overflow_epoch, memory_order_acquire);
		if (now_epoch == epoch)
			return 0;
		/* Requests of ours may have been dropped and auto-answered, and the device may
		 * have retried them since: the guarantee of this step no longer covers them. */
		epoch = now_epoch;
		prqd_stat_inc(iommu, drain_repeats);
		if (expired(run))
			return -PRQD_ETIMEDOUT;
	}
}

static unsigned held_total(const struct drain_run *run)
{
	unsigned n = 0;
	FOR_EACH_DRAINED(run, b)
	n += prqd_bond_outstanding(b);
	return n;
}

static bool marker_seen(const struct prqd_bond *b)
{
	return atomic_load_explicit(&b->marker_seen, memory_order_acquire);
}

/*
 * Step 5 with a hardware drain, for an unbind that says the device stopped the PASID with a
 * Stop Marker: the marker, sent before the stop completed, is in the queue below the mark
 * and was read, or an overflow dropped it (markers are neither credited nor auto-answered,
 * so a lost one never comes). The drain already gave the guarantee the marker stood for,
 * so waiting would only run out the deadline: a missing marker is counted and logged.
 */
static void note_marker(const struct drain_run *run)
{
	if (marker_seen(run->bond))
		return;
	prqd_stat_inc(run->iommu, stop_markers_missing);
	prqd_warn(run->iommu->ctx, "no stop marker from %04x pasid %u (lost in an overflow?)",
		  run->dev->info.rid, (unsigned)run->bond->pasid);
}

/*
 * Without a hardware drain only the Stop Marker says the device's requests for the PASID
 * are all in: posted ordering keeps every earlier request ahead of it, and the device
 * issues nothing more for the PASID until it is started again. Everything queued now is
 * read first (the marker may be waiting there); then, if @wait, the marker is waited for
 * until the deadline. An overflow does not end the wait: a marker that was dropped cannot
 * be told from one still on its way, and only the latter proves anything.
 * Returns 0 (marker read), -EOPNOTSUPP (none and not waiting), -ETIMEDOUT, or an error
 * from reading the queue.
 */
static int marker_proof(const struct drain_run *run, bool wait)
{
	int rc = prqd__consume_queued(run->iommu, run->deadline);
	while (rc == 0 && !marker_seen(run->bond)) {
		if (!wait)
			return -PRQD_EOPNOTSUPP;
		if (expired(run))
			return -PRQD_ETIMEDOUT;
		wait_a_little(run);
	}
	return rc;
}

static unsigned overflow_epoch(const struct prqd_iommu *iommu)
{
	return atomic_load_explicit(&iommu->overflow_epoch, memory_order_acquire);
}

/*
 * Step 5 at the snapshot level, after run_steps() returned 0 with the overflow epoch at
 * @proved (its last step completed after every overflow acknowledged up to then). The Stop
 * Marker is waited for as the stronger proof (the device says it sent nothing more). But a
 * marker that reaches a full PRI queue is dropped, not answered, and never sent again: once
 * an overflow was acknowledged since the marker could have been sent (the bind or resume
 * that cleared marker_seen), the marker may be gone, and waiting for it would only run out
 * the deadline. Then the proof is a snapshot drain step completed after the latest
 * acknowledgement: by the snapshot rule such a step's mark covers every request the device
 * issued before the step, and the device issued all of the PASID's requests before the
 * stop that preceded this drain; requests of ours the overflow dropped were answered by the
 * hardware, and their retries, if any, came before the stop too. (Level none has no such
 * step: there the marker is the only proof and is waited for even across an overflow.)
 */
static int snapshot_marker_proof(const struct drain_run *run, unsigned proved)
{
	unsigned begin = run->bond->marker_epoch;
	for (;;) {
		int rc = prqd__consume_queued(run->iommu, run->deadline);
		if (rc < 0 || marker_seen(run->bond))
			return rc;
		unsigned now = overflow_epoch(run->iommu);
		if (now != begin) {
			/* Unless the last step already followed the last acknowledgement, one
			 * that does. */
			if (now != proved && (rc = run_steps(run)) < 0)
				return rc;
			note_marker(run);
			return 0;
		}
		if (expired(run))
			return -PRQD_ETIMEDOUT;
		wait_a_little(run);
	}
}

/*
 * Steps 2 to 5, by the instance's drain level (lib/backend.h):
 *  - exact: the drain steps are the proof; a promised Stop Marker that was not read is
 *    only counted (an overflow dropped it);
 *  - snapshot: the drain steps, then, where the device promised a Stop Marker, the marker
 *    too: the snapshot covers what the IOMMU had accepted, the marker says the device sent
 *    nothing more; after an overflow (which may have dropped the marker) a step completed
 *    after the overflow's acknowledgement stands in (snapshot_marker_proof());
 *  - none: no hardware step is ever issued; the Stop Marker stands in for it when the
 *    caller's flags allow it or it was read already. A RID-only bond or a device never sees
 *    a marker (PCIe markers carry a PASID), so nothing can prove them drained.
 */
static int make_visible(const struct drain_run *run, unsigned flags)
{
	struct prqd_bond *b = run->bond;
	bool pasid_bond = b && b->pasid != PRQD_NO_PASID;
	bool marker_promised = pasid_bond && (flags & PRQD__DRAIN_WAIT_MARKER);
	int rc;
	switch (run->iommu->caps.drain_level) {
	case PRQD_LEVEL_EXACT:
		rc = run_steps(run);
		if (rc == 0 && marker_promised)
			note_marker(run);
		return rc;
	case PRQD_LEVEL_SNAPSHOT:
		rc = run_steps(run);
		if (rc == 0 && marker_promised)
			rc = snapshot_marker_proof(run, overflow_epoch(run->iommu));
		return rc;
	case PRQD_LEVEL_NONE:
	default:
		if (!pasid_bond)
			return -PRQD_EOPNOTSUPP;
		return marker_proof(run, flags & (PRQD__DRAIN_WAIT_MARKER |
						   PRQD__DRAIN_MARKER_PROOF));
	}
}

/* Move every drained bond that is still alive to @state. */
static void set_states(const struct drain_run *run, int state)
{
	FOR_EACH_DRAINED(run, b)
	{
		prqd_spin_lock(&b->lock);
		int now = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
		if (now != PRQD_BOND_UNBINDING && now != PRQD_BOND_FREED)
			prqd__bond_set_state(b, state);
		prqd_spin_unlock(&b->lock);
	}
}

/* Step 1 for one bond: stopped (if ACTIVE) and DRAINING in one bond lock hold, the same state
 * changes prqd_stop() and set_states() make one after the other; then its gate closed. */
static void stop_draining(struct prqd_bond *b)
{
	prqd_spin_lock(&b->lock);
	int state = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	if (state == PRQD_BOND_ACTIVE)
		prqd__bond_set_state(b, PRQD_BOND_STOPPING);
	if (state != PRQD_BOND_UNBINDING && state != PRQD_BOND_FREED)
		prqd__bond_set_state(b, PRQD_BOND_DRAINING);
	prqd_spin_unlock(&b->lock);
	prqd__gate_sync(b);
}

int prqd__drain(struct prqd_dev *dev, struct prqd_bond *bond, unsigned flags, uint32_t timeout_ms)
{
	struct prqd_iommu *iommu = dev->iommu;
	uint64_t timeout_ns = (uint64_t)(timeout_ms ? timeout_ms
						    : iommu->params[PRQD_P_DRAIN_TIMEOUT_MS]) *
			      1000000u;
	struct drain_run run = {
		.iommu = iommu,
		.dev = dev,
		.bond = bond,
		.start_ns = prqd__now(&iommu->plat),
	};
	run.deadline = run.start_ns + timeout_ns;

	/* Step 1: whatever the state, the drained bonds stop taking groups now, and their gates
	 * are closed before any hardware step: the drain then covers every request the IOMMU
	 * accepted before the gate closed (VT-d: the PASID entry cleared and its cached copies
	 * invalidated before the page-drain). prqd_stop() closes the gate of an ACTIVE bond;
	 * the sync waits for a gate call a racing stop is still making. */
	if (bond) {
		stop_draining(bond);
	} else {
		FOR_EACH_DRAINED(&run, b)
		{
			prqd_stop(b, 0);
			prqd__gate_sync(b);
		}
		set_states(&run, PRQD_BOND_DRAINING);
	}
	if (flags & PRQD_DRAIN_ABANDON) {
		FOR_EACH_DRAINED(&run, b)
		prqd__abandon_held(b);
	}
	trace_drain(&run, PRQD_TR_DRAIN_BEGIN, 0, 0);

	int rc = make_visible(&run, flags);
	while (rc == 0 && held_total(&run)) {
		if (expired(&run))
			rc = -PRQD_ETIMEDOUT;
		else
			wait_a_little(&run);
	}
	if (rc == 0) {
		/* The drained bonds' partial groups go, unless the caller releases the bond next
		 * (which discards them with the slot) or the device has none: make_visible()
		 * synchronised with the consumer past the drain point, so its count shows every
		 * partial made from a request up to there, without taking the queue lock; one
		 * made later comes from a request after the drain point, which a discard under
		 * the lock could as well have come before. */
		if (!(flags & PRQD__DRAIN_RELEASE) &&
		    atomic_load_explicit(&dev->npartial, memory_order_acquire)) {
			prqd__queue_lock(iommu);
			prqd__discard_partials(dev, bond); /* NULL: all of the device's */
			prqd__queue_unlock(iommu);
		}
		set_states(&run, PRQD_BOND_STOPPED);
		prqd_stat_inc(iommu, drains);
	} else {
		set_states(&run, PRQD_BOND_STOPPING);
		if (rc == -PRQD_ETIMEDOUT)
			prqd_stat_inc(iommu, drain_timeouts);
		else
			prqd_stat_inc(iommu, drain_errors);
		prqd_info(iommu->ctx, "drain of %04x pasid %u failed: %d", dev->info.rid,
			  bond ? (unsigned)bond->pasid : PRQD_NO_PASID, rc);
	}
	trace_drain(&run, PRQD_TR_DRAIN_END, rc, prqd__now(&iommu->plat) - run.start_ns);
	return rc;
}
