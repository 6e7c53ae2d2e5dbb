/* SPDX-License-Identifier: MIT */
/*
 * Bonds and their state machine (DESIGN §4):
 *
 *   bind -> ACTIVE -stop-> STOPPING -drain-> DRAINING -> STOPPED -resume-> ACTIVE
 *   unbind from any state: stop and drain as needed (unless flags say otherwise) -> FREED.
 *
 * A drain that fails returns the bond to STOPPING. `busy` marks a bond owned by a running
 * drain or unbind, so a second one is refused instead of interleaving.
 */
#include "lib/private.h"

void prqd__bond_set_state(struct prqd_bond *b, int state)
{
	int from = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	if (from == state)
		return;
	atomic_store_explicit(&b->state, (unsigned)state, memory_order_release);
	prqd__trace_bond(b, PRQD_TR_BOND_STATE, from, state, 0, 0);
}

static bool bond_dead(int state)
{
	return state == PRQD_BOND_UNBINDING || state == PRQD_BOND_FREED;
}

/* The bond in @pasid's slot (a quarantine included), or NULL. Device or queue lock held. */
static struct prqd_bond *slot_of(const struct prqd_dev *dev, uint32_t pasid)
{
	return pasid == PRQD_NO_PASID ? dev->rid_bond : prqd__pasid_get(&dev->table, pasid);
}

/*
 * Bring the backend's gate in line with the bond's state: open while ACTIVE, closed
 * otherwise. Called after every state change, outside the bond lock (a gate write may touch
 * hardware), and by the drain before its first hardware step. Reading the state under the
 * device's gate lock makes the last write reflect the latest state, whatever order racing
 * callers arrive in, and makes a caller wait for a gate call another thread is making.
 * Reached through prqd__gate_sync() on an instance that can gate.
 */
void prqd__gate_apply(struct prqd_bond *b)
{
	struct prqd_dev *dev = b->dev;
	struct prqd_iommu *iommu = dev->iommu;
	prqd__lock(&iommu->plat, dev->gate_lock);
	bool open = atomic_load_explicit(&b->state, memory_order_acquire) == PRQD_BOND_ACTIVE;
	if (open != (bool)b->gate_on) {
		int rc = iommu->ops.gate(iommu->priv, dev->be_priv, b->pasid, open);
		if (rc < 0 && rc != -PRQD_EOPNOTSUPP)
			prqd_warn(iommu->ctx, "gating pasid %u %s failed: %d", (unsigned)b->pasid,
				  open ? "on" : "off", rc);
		/* Recorded even on failure: the next change asks again, and a failed close
		 * leaves the drain, which never depends on the gate, to prove the PASID. */
		b->gate_on = open;
	}
	prqd__unlock(&iommu->plat, dev->gate_lock);
}

PRQD_EXPORT int prqd_bind(struct prqd_dev *dev, uint32_t pasid, prqd_handler_fn handler,
			  void *cookie, struct prqd_bond **out)
{
	if (!dev || !handler || !out)
		return -PRQD_EINVAL;
	struct prqd_iommu *iommu = dev->iommu;
	if (pasid != PRQD_NO_PASID &&
	    (dev->info.pasid_width == 0 || pasid >= (1u << dev->info.pasid_width))) {
		prqd_err(iommu->ctx, "%04x: pasid %u out of range (the device has %u PASID bits)",
			 dev->info.rid, (unsigned)pasid, (unsigned)dev->info.pasid_width);
		return -PRQD_EINVAL;
	}
	const struct prqd_plat *pl = &iommu->plat;

	prqd__lock(pl, dev->lock);
	/* Writers of the table hold the device lock, so reading it here is stable. */
	struct prqd_bond *existing = slot_of(dev, pasid);
	if (existing && existing->quarantined) {
		/* Unbound with FORCE: its generation may still have requests on the way. */
		int rc = prqd__quarantine_lift(dev, existing);
		if (rc < 0) {
			prqd__unlock(pl, dev->lock);
			prqd_dbg(iommu->ctx, "%04x pasid %u stays quarantined: %d", dev->info.rid,
				 (unsigned)pasid, rc);
			return rc;
		}
		existing = slot_of(dev, pasid);
	}
	if (existing) {
		prqd__unlock(pl, dev->lock);
		prqd_dbg(iommu->ctx, "%04x pasid %u is bound already", dev->info.rid, (unsigned)pasid);
		return -PRQD_EEXIST;
	}
	struct prqd_pasid_prep prep = { 0 };
	int rc = pasid == PRQD_NO_PASID ? 0 : prqd__pasid_prepare(pl, &dev->table, pasid, &prep);
	struct prqd_bond *b = rc < 0 ? NULL : prqd__bond_alloc(dev);
	if (!b) {
		prqd__pasid_prep_free(pl, &prep);
		prqd__unlock(pl, dev->lock);
		prqd_err(iommu->ctx, "%04x pasid %u: out of memory for the bond", dev->info.rid,
			 (unsigned)pasid);
		return rc < 0 ? rc : -PRQD_ENOMEM;
	}

	b->dev = dev;
	b->handler = handler;
	b->cookie = cookie;
	b->pasid = pasid;
	if (++dev->next_gen == 0) /* 0 means "no bond" to the consumer */
		++dev->next_gen;
	b->gen = dev->next_gen;
	b->held = b->partials = NULL;
	b->drain_step = NULL;
	b->outstanding = 0;
	b->busy = 0;
	b->gate_on = 0;
	atomic_store_explicit(&b->marker_seen, false, memory_order_relaxed);
	b->marker_epoch = atomic_load_explicit(&iommu->overflow_epoch, memory_order_acquire);
	atomic_store_explicit(&b->lock, 0, memory_order_relaxed);
	atomic_store_explicit(&b->state, PRQD_BOND_ACTIVE, memory_order_release);
	b->prev = NULL;
	b->next = dev->bonds;
	if (dev->bonds)
		dev->bonds->prev = b;
	dev->bonds = b;
	dev->nbonds++;

	b->quarantined = 0;
	/* The queue lock, for the tail and the slot together. A position published by the
	 * consumer would not do for start_seq: it lags the tail, and a request queued before
	 * this bind but after that publication would reach the new bond (the guarantee is that
	 * none does: bind-after-queued.scn). Reading the tail needs the lock too (the backend's
	 * queue_tail is called with it held). prqd__queue_lock() waits for a process() call to
	 * end rather than sleep behind it: the hold here is short. */
	prqd__queue_lock(iommu);
	/* Whatever is queued now was sent before this bind: not this generation's. */
	b->start_seq = prqd__queue_tail(iommu);
	if (pasid == PRQD_NO_PASID)
		dev->rid_bond = b;
	else
		prqd__pasid_set(pl, &dev->table, pasid, b, &prep);
	prqd__queue_unlock(iommu);
	prqd__unlock(pl, dev->lock);

	prqd__gate_sync(b);
	prqd__trace_bond(b, PRQD_TR_BOND_STATE, 0, PRQD_BOND_ACTIVE, 0, 0);
	prqd_dbg(iommu->ctx, "bound %04x pasid %u gen %u", dev->info.rid, (unsigned)pasid,
		 (unsigned)b->gen);
	*out = b;
	return 0;
}

PRQD_EXPORT int prqd_bond_state(const struct prqd_bond *bond)
{
	return bond ? (int)atomic_load_explicit(&((struct prqd_bond *)bond)->state,
						memory_order_acquire)
		    : -PRQD_EINVAL;
}

PRQD_EXPORT uint32_t prqd_bond_gen(const struct prqd_bond *bond)
{
	return bond ? bond->gen : 0;
}

PRQD_EXPORT uint32_t prqd_bond_pasid(const struct prqd_bond *bond)
{
	return bond ? bond->pasid : PRQD_NO_PASID;
}

PRQD_EXPORT struct prqd_dev *prqd_bond_dev(const struct prqd_bond *bond)
{
	return bond ? bond->dev : NULL;
}

PRQD_EXPORT unsigned prqd_bond_outstanding(const struct prqd_bond *bond)
{
	if (!bond)
		return 0;
	struct prqd_bond *b = (struct prqd_bond *)bond;
	prqd_spin_lock(&b->lock);
	unsigned n = b->outstanding;
	prqd_spin_unlock(&b->lock);
	return n;
}

PRQD_EXPORT const char *prqd_bond_state_name(int state)
{
	switch (state) {
	case PRQD_BOND_ACTIVE: return "active";
	case PRQD_BOND_STOPPING: return "stopping";
	case PRQD_BOND_DRAINING: return "draining";
	case PRQD_BOND_STOPPED: return "stopped";
	case PRQD_BOND_UNBINDING: return "unbinding";
	case PRQD_BOND_FREED: return "freed";
	default: return "?";
	}
}

PRQD_EXPORT int prqd_stop(struct prqd_bond *b, unsigned flags)
{
	if (!b || (flags & ~(unsigned)PRQD_STOP_ABANDON))
		return -PRQD_EINVAL;
	prqd_spin_lock(&b->lock);
	int state = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	if (bond_dead(state)) {
		prqd_spin_unlock(&b->lock);
		return -PRQD_ESTALE;
	}
	bool was_active = state == PRQD_BOND_ACTIVE;
	if (was_active)
		prqd__bond_set_state(b, PRQD_BOND_STOPPING);
	prqd_spin_unlock(&b->lock);

	if (was_active)
		prqd__gate_sync(b);
	if (flags & PRQD_STOP_ABANDON)
		prqd__abandon_held(b);
	return 0;
}

PRQD_EXPORT int prqd_drain(struct prqd_bond *b, unsigned flags, uint32_t timeout_ms)
{
	if (!b || (flags & ~(unsigned)PRQD_DRAIN_ABANDON))
		return -PRQD_EINVAL;
	prqd_spin_lock(&b->lock);
	int state = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	int rc = bond_dead(state) ? -PRQD_ESTALE : b->busy ? -PRQD_EBUSY : 0;
	/* A STOPPED bond is drained again: the guarantee is for this call's start, and the
	 * device may have sent more since the last drain. */
	if (rc == 0)
		b->busy = 1;
	prqd_spin_unlock(&b->lock);
	if (rc < 0)
		return rc;

	rc = prqd__drain(b->dev, b, flags, timeout_ms);
	prqd_spin_lock(&b->lock);
	b->busy = 0;
	prqd_spin_unlock(&b->lock);
	return rc;
}

PRQD_EXPORT int prqd_resume(struct prqd_bond *b)
{
	if (!b)
		return -PRQD_EINVAL;
	prqd_spin_lock(&b->lock);
	int state = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	int rc = 0;
	if (bond_dead(state))
		rc = -PRQD_ESTALE;
	else if (state == PRQD_BOND_STOPPED && !b->busy) {
		atomic_store_explicit(&b->marker_seen, false, memory_order_relaxed);
		b->marker_epoch = atomic_load_explicit(&b->dev->iommu->overflow_epoch,
						       memory_order_acquire);
		prqd__bond_set_state(b, PRQD_BOND_ACTIVE);
	} else if (state != PRQD_BOND_ACTIVE)
		rc = -PRQD_EINVAL;
	prqd_spin_unlock(&b->lock);
	if (rc == 0 && state == PRQD_BOND_STOPPED)
		prqd__gate_sync(b);
	return rc;
}

void prqd__bond_unlink(struct prqd_bond **list, struct prqd_bond *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		*list = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->next = b->prev = NULL;
}

void prqd__bond_release(struct prqd_bond *b)
{
	struct prqd_dev *dev = b->dev;
	struct prqd_iommu *iommu = dev->iommu;
	const struct prqd_plat *pl = &iommu->plat;

	prqd__queue_lock(iommu);
	if (b->pasid == PRQD_NO_PASID)
		dev->rid_bond = NULL;
	else
		prqd__pasid_set(pl, &dev->table, b->pasid, NULL, NULL);
	prqd__discard_partials(dev, b);
	prqd__queue_unlock(iommu);

	if (b->drain_step) {
		/* A step still in flight is handed to the IOMMU, which tracks it until the
		 * hardware can no longer write its completion. */
		prqd__step_abandon(iommu, b->drain_step);
		b->drain_step = NULL;
	}
	prqd__bond_unlink(b->quarantined ? &dev->quarantine : &dev->bonds, b);
	if (!b->quarantined)
		dev->nbonds--;
	prqd_spin_lock(&b->lock);
	prqd__bond_set_state(b, PRQD_BOND_FREED);
	b->busy = 0;
	b->quarantined = 0;
	prqd_spin_unlock(&b->lock);
	prqd__bond_free(dev, b);
}

/* Remove a bond that nothing else owns any more: free it, or quarantine its PASID. @drained:
 * a drain just took back every held group and waited for none to be left; the bond was not
 * ACTIVE since, and cannot be resumed while the caller owns it (busy), so no group was
 * handed to the handler after: nothing to take back. */
static void bond_teardown(struct prqd_bond *b, bool quarantine, bool drained)
{
	struct prqd_dev *dev = b->dev;
	const struct prqd_plat *pl = &dev->iommu->plat;
	if (!drained)
		prqd__abandon_held(b);
	prqd__lock(pl, dev->lock);
	if (quarantine)
		prqd__quarantine_enter(b);
	else
		prqd__bond_release(b);
	prqd__unlock(pl, dev->lock);
}

PRQD_EXPORT int prqd_unbind(struct prqd_bond *b, unsigned flags)
{
	const unsigned known = PRQD_UNBIND_STOP_MARKER | PRQD_UNBIND_FORCE | PRQD_UNBIND_NO_DRAIN;
	if (!b || (flags & ~known))
		return -PRQD_EINVAL;
	if ((flags & PRQD_UNBIND_NO_DRAIN) && (flags & PRQD_UNBIND_STOP_MARKER))
		return -PRQD_EINVAL;
	/* A marker from a device that never sends one would be a wait for nothing. */
	if ((flags & PRQD_UNBIND_STOP_MARKER) && !(flags & PRQD_UNBIND_FORCE) &&
	    !b->dev->info.uses_stop_markers)
		return -PRQD_EINVAL;

	prqd_spin_lock(&b->lock);
	int state = (int)atomic_load_explicit(&b->state, memory_order_relaxed);
	int rc = bond_dead(state) ? -PRQD_ESTALE : b->busy ? -PRQD_EBUSY : 0;
	if (rc == 0)
		b->busy = 1;
	prqd_spin_unlock(&b->lock);
	if (rc < 0)
		return rc;

	struct prqd_iommu *iommu = b->dev->iommu;
	/* FORCE alone proves nothing about what the device sent: the PASID is quarantined. */
	bool quarantine = (flags & PRQD_UNBIND_FORCE) && !(flags & PRQD_UNBIND_NO_DRAIN);
	if (flags & PRQD_UNBIND_FORCE) {
		/* The device is gone: nothing device-facing that could only time out. Held
		 * groups are still answered: a response is a posted message, it cannot hang. */
		prqd_info(iommu->ctx, "forced unbind of %04x pasid %u%s", b->dev->info.rid,
			  (unsigned)b->pasid, quarantine ? ": quarantined" : "");
	} else if (flags & PRQD_UNBIND_NO_DRAIN) {
		/* Read what the queue already holds first: a group of this bond waiting there is
		 * as outstanding as one the handler holds. What arrives after the call started
		 * is not waited for, so a flood elsewhere cannot hold the call. */
		uint64_t deadline = prqd__now(&iommu->plat) +
				    iommu->params[PRQD_P_DRAIN_TIMEOUT_MS] * 1000000u;
		rc = prqd__consume_queued(iommu, deadline);
		/* A partial whose Last an overflow dropped (and the hardware answered) goes only
		 * when the overflow is acknowledged: the device completed it, so wait for that. */
		if (rc == 0)
			rc = prqd__settle_overflow(iommu, deadline);
		prqd__queue_lock(iommu);
		bool partials = b->partials != NULL;
		prqd__queue_unlock(iommu);
		if (rc == 0 && (partials || prqd_bond_outstanding(b)))
			rc = -PRQD_EBUSY;
	} else {
		/* Drained even when STOPPED: the device may have sent more since. */
		unsigned dflags = PRQD_DRAIN_ABANDON | PRQD__DRAIN_RELEASE;
		if (flags & PRQD_UNBIND_STOP_MARKER)
			dflags |= PRQD__DRAIN_WAIT_MARKER;
		rc = prqd__drain(b->dev, b, dflags, 0);
	}
	if (rc < 0) {
		prqd_spin_lock(&b->lock);
		b->busy = 0;
		prqd_spin_unlock(&b->lock);
		return rc;
	}

	prqd_spin_lock(&b->lock);
	prqd__bond_set_state(b, PRQD_BOND_UNBINDING);
	prqd_spin_unlock(&b->lock);
	prqd__gate_sync(b);
	bond_teardown(b, quarantine, !(flags & (PRQD_UNBIND_FORCE | PRQD_UNBIND_NO_DRAIN)));
	return 0;
}

/* ---- device-wide operations ---------------------------------------------------------------- */

PRQD_EXPORT int prqd_dev_stop(struct prqd_dev *dev, unsigned flags)
{
	if (!dev || (flags & ~(unsigned)PRQD_STOP_ABANDON))
		return -PRQD_EINVAL;
	const struct prqd_plat *pl = &dev->iommu->plat;
	prqd__lock(pl, dev->lock);
	for (struct prqd_bond *b = dev->bonds; b; b = b->next)
		prqd_stop(b, flags);
	prqd__unlock(pl, dev->lock);
	return 0;
}

/* Release bonds a device-wide drain owned: from @first up to (not including) @end. */
static void release_busy(struct prqd_bond *first, struct prqd_bond *end)
{
	for (struct prqd_bond *b = first; b != end; b = b->next) {
		prqd_spin_lock(&b->lock);
		b->busy = 0;
		prqd_spin_unlock(&b->lock);
	}
}

PRQD_EXPORT int prqd_dev_drain(struct prqd_dev *dev, unsigned flags, uint32_t timeout_ms)
{
	if (!dev || (flags & ~(unsigned)PRQD_DRAIN_ABANDON))
		return -PRQD_EINVAL;
	const struct prqd_plat *pl = &dev->iommu->plat;
	prqd__lock(pl, dev->lock);
	if (dev->dev_busy) {
		prqd__unlock(pl, dev->lock);
		return -PRQD_EBUSY;
	}
	/* Own every bond for the duration, or none: a bond already draining or unbinding
	 * alone makes the device-wide drain wait for the caller to retry. */
	for (struct prqd_bond *b = dev->bonds; b; b = b->next) {
		prqd_spin_lock(&b->lock);
		bool taken = b->busy || bond_dead((int)atomic_load_explicit(&b->state,
									     memory_order_relaxed));
		if (!taken)
			b->busy = 1;
		prqd_spin_unlock(&b->lock);
		if (taken) {
			release_busy(dev->bonds, b);
			prqd__unlock(pl, dev->lock);
			return -PRQD_EBUSY;
		}
	}
	dev->dev_busy = 1;
	dev->drain_first = dev->bonds;
	prqd__unlock(pl, dev->lock);

	int rc = prqd__drain(dev, NULL, flags, timeout_ms);

	prqd__lock(pl, dev->lock);
	release_busy(dev->drain_first, NULL);
	dev->drain_first = NULL;
	dev->dev_busy = 0;
	prqd__unlock(pl, dev->lock);
	return rc;
}

PRQD_EXPORT int prqd_dev_resume(struct prqd_dev *dev)
{
	if (!dev)
		return -PRQD_EINVAL;
	const struct prqd_plat *pl = &dev->iommu->plat;
	int first_error = 0;
	prqd__lock(pl, dev->lock);
	for (struct prqd_bond *b = dev->bonds; b; b = b->next) {
		int rc = prqd_resume(b);
		if (rc < 0 && !first_error)
			first_error = rc;
	}
	prqd__unlock(pl, dev->lock);
	return first_error;
}

PRQD_EXPORT int prqd_dev_unbind_all(struct prqd_dev *dev, unsigned flags)
{
	if (!dev)
		return -PRQD_EINVAL;
	const struct prqd_plat *pl = &dev->iommu->plat;
	int first_error = 0;
	/* Unbind takes the device lock itself, so walk by picking the next candidate each time.
	 * Bonds that refuse stay on the list, in front: the walk goes on after the last one
	 * (O(n) in all), and re-counts from the head only if that one left the list meanwhile
	 * (a bond's memory outlives it, its generation tells a reuse). */
	struct prqd_bond *refused = NULL;
	uint32_t refused_gen = 0;
	for (unsigned skip = 0;;) {
		prqd__lock(pl, dev->lock);
		struct prqd_bond *b;
		if (refused && refused->gen == refused_gen && !refused->quarantined &&
		    atomic_load_explicit(&refused->state, memory_order_relaxed) != PRQD_BOND_FREED) {
			b = refused->next;
		} else {
			b = dev->bonds;
			for (unsigned i = 0; b && i < skip; i++)
				b = b->next;
		}
		uint32_t gen = b ? b->gen : 0;
		prqd__unlock(pl, dev->lock);
		if (!b)
			break;
		int rc = prqd_unbind(b, flags);
		if (rc == -PRQD_ESTALE) {
			/* Another thread is unbinding it: it leaves the list by itself, and
			 * skipping it would skip the bond after it instead. */
			pl->p.relax(pl->p.user);
		} else if (rc < 0) {
			if (!first_error)
				first_error = rc;
			skip++;
			refused = b;
			refused_gen = gen;
		}
	}
	return first_error;
}
