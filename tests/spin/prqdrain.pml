/* SPDX-License-Identifier: MIT */
/*
 * prqdrain.pml: the page-request protocol of prqdrain on one PASID, for SPIN.
 *
 * A device issues page request groups through a posted-ordering fabric into a bounded page
 * request queue that can overflow; the core reads the queue and hands complete groups to
 * the bond live for the PASID; a driver binds, stops, drains, resumes and unbinds the PASID
 * over several generations. Nothing bounds the device's traffic or the number of driver
 * operations: every counter is kept relative (queue entries still below a mark, ...), so
 * the state space is finite without a budget. tests/spin/README.md says which code each
 * process stands for and what the model leaves out.
 *
 * Properties (each assertion checks a flag named after it, so a trail says which failed):
 *  wrong_generation   no request reaches a generation other than the one live when the
 *                     device issued it (a group delivered to the handler, a stop marker
 *                     credited to a bond or a quarantined record);
 *  double_response    at most one response per group, automatic ones included;
 *  lost_response      at least one: once nothing can move, no group is left unanswered;
 *  marker_answered    no response to a stop marker;
 *  drain_incomplete   a drain or unbind that returns 0 left nothing the device issued
 *                     before the call in the fabric or the queue;
 *  ltl drain_ends     the hardware drain loop ends once overflow stops (pan -a -f, built
 *                     from spin -DNO_HW_DEADLINE so that no deadline ends it instead).
 *
 * Switches that put a bug back (spin -DNAME -a prqdrain.pml):
 *  NO_QUARANTINE          a forced unbind frees the PASID at once (no proof at rebind);
 *  NO_BIND_MARK           bind records no queue position;
 *  DRAIN_STOPPED_SHORTCUT prqd_drain of a STOPPED bond returns 0 at once (bug 2);
 *  UNBIND_SKIPS_STOPPED   unbind of a STOPPED bond skips the drain;
 *  MARKER_OVERFLOW_EXCUSE without a hardware drain, an overflow while waiting for the stop
 *                         marker counts as if the marker came;
 *  RESTART_ANYTIME        the driver may restart the device on the PASID without the
 *                         drain-then-resume the API requires (a contract violation, to
 *                         show why the contract is there);
 *  STALE_OVERFLOW_COUNT   the drain loop compares the overflow count with the one taken
 *                         when the drain began, not at the last round (for drain_ends).
 * Bug 1 as reported is NO_QUARANTINE together with NO_BIND_MARK.
 *
 * Whether the IOMMU can drain and whether the device sends stop markers are chosen at the
 * start, every combination; -DENV_HW=0|1 and -DENV_MK=0|1 fix them, to look at one.
 */

/* ---- bounds ------------------------------------------------------------------------------ */

#ifndef QDEPTH
#define QDEPTH 2        /* page request queue entries */
#endif
#ifndef FDEPTH
#define FDEPTH 2        /* requests in flight from the device to the IOMMU */
#endif
#ifndef MAXGEN
#define MAXGEN 3        /* binds of the PASID: generations 1..MAXGEN */
#endif

#define BIT(n) (1 << (n))
/* (inline parameters are substituted as text: the bodies parenthesize them) */

/* What the PASID slot of the core holds. */
#define S_NONE 0
#define S_BOUND 1
#define S_QUARANTINED 2 /* a forced unbind left the old generation's record behind */

/* Bond states (STOPPING stands for STOPPING and DRAINING: both answer new groups Invalid). */
#define B_ACTIVE 0
#define B_STOPPING 1
#define B_STOPPED 2

/* Results of the driver's operations. */
#define OK 0
#define ETIMEDOUT 1
#define EOPNOTSUPP 2

/* A deadline may run out at any moment of a wait; the liveness run turns that off for the
 * hardware drain loop, whose termination it checks. */
#ifdef NO_HW_DEADLINE
#define HW_DEADLINE false
#else
#define HW_DEADLINE true
#endif

/* Message kinds: a page request, a stop marker, a drain completion (the page-drain wait's
 * completion, posted behind everything the device issued before the step began). */
mtype = { REQ, MARKER, DONE };

/* Fields: kind, PRG index, Last, generation live when issued (a ghost field: the core never
 * reads it; a MARKER carries the generation the device was started for). The fabric has
 * room for the one drain completion that may be in flight besides FDEPTH requests. */
chan fabric = [FDEPTH + 1] of { mtype, byte, bool, byte };
chan prq = [QDEPTH] of { mtype, byte, bool, byte };

/* ---- state ------------------------------------------------------------------------------- */

bool hw_drain;          /* the IOMMU can drain (VT-d ECAP.PDS, sim.page_drain) */
bool uses_markers;      /* the device stops a PASID with a stop marker */

/* IOMMU */
bool overflow;          /* set on a drop, cleared by the core only with the queue empty */
bool hw_busy;           /* a drain step is in flight (its completion not yet written) */

/* core (lib/) */
bool acked;             /* an overflow was acknowledged since the drain loop looked */
bool in_marker_wait;    /* the driver waits for a stop marker (acked matters then too) */
byte slot;              /* S_* */
byte bgen;              /* generation of the bond, or of the quarantined record */
byte bstate;            /* B_* */
byte below_bind;        /* queue entries still unread that were written before the bind */
byte below_drain;       /* ... before the last drain step completed */
bool marker_seen;       /* a stop marker was read for the bond (or record) */
byte p_valid;           /* partial group per PRG index (bit mask) */
byte p_owner[2];        /* generation the partial group began for, 0: no bond */
byte p_gens[2];         /* issuing generations of its requests (bit mask, ghost) */
byte held;              /* per PRG index: the handler holds its group (bit mask) */

/* device */
bool dev_running;       /* the device uses the PASID */
bool dev_stop_cmd;      /* the driver told it to stop using the PASID */
byte dev_sess;          /* generation it was started for */
byte dev_out;           /* per PRG index: a group waits for its response (bit mask) */

/* ghost */
byte live;              /* generation live for the PASID now, 0: none (the checker's epoch) */
byte next_gen;
bool in_hw_loop;        /* the driver is in the hardware drain loop */
byte pre_fabric;        /* messages the device issued before the running drain began,
                           still in the fabric */
byte pre_queue;         /* ... in the queue (always its first entries: both are FIFOs) */
bool restart_ok;        /* the device stopped before the drain that made the bond STOPPED */

bool wrong_generation, double_response, lost_response, marker_answered, drain_incomplete;

ltl drain_ends { (<>[] !overflow) -> [] (in_hw_loop -> <> !in_hw_loop) }

/* ---- shared steps ------------------------------------------------------------------------ */

/* A response reaches the device for PRG index i, closing a group whose Last is of kind k.
 * A group is known by its index: the device reuses an index only once its group was
 * answered, so a second response finds the index free (or, were it late enough to meet
 * the next group on the index, that group's own response then finds it free). */
inline respond(k, i)
{
	marker_answered = ((k) == MARKER);
	assert(!marker_answered);
	double_response = ((dev_out & BIT(i)) == 0);
	assert(!double_response);
	dev_out = dev_out & ~BIT(i)
}

inline drop_partial(i)
{
	p_valid = p_valid & ~BIT(i);
	p_owner[i] = 0;
	p_gens[i] = 0
}

/* Discard the partial groups begun for owner o (a drain's or unbind's last step). */
inline discard_partials(o)
{
	if
	:: (p_valid & BIT(0)) && p_owner[0] == o -> drop_partial(0)
	:: else -> skip
	fi;
	if
	:: (p_valid & BIT(1)) && p_owner[1] == o -> drop_partial(1)
	:: else -> skip
	fi
}

/* Answer Invalid every group the handler holds; its late answers are swallowed. */
inline abandon_held()
{
	if
	:: held & BIT(0) -> respond(REQ, 0)
	:: else -> skip
	fi;
	if
	:: held & BIT(1) -> respond(REQ, 1)
	:: else -> skip
	fi;
	held = 0
}

/* The queue is empty and overflowed: acknowledge, and drop every partial group (their Last
 * may have been dropped and auto-answered, and the device may reuse the index). */
inline ack_overflow()
{
	overflow = false;
	drop_partial(0);
	drop_partial(1);
	/* noted only for a drain loop (or marker wait) that looks, so no state is split
	 * by a flag nobody reads */
	if
	:: in_hw_loop || in_marker_wait -> acked = true
	:: else -> skip
	fi
}

/* Read the queue's head (prqd__handle_request). Locals k a l gn owner gens. */
inline consume_one()
{
	prq?k, a, l, gn;
	/* Written before the bind: it belongs to no bond. A quarantined record takes none. */
	owner = ((slot == S_BOUND && below_bind == 0) -> bgen : 0);
	if
	:: k == MARKER ->
		if
		:: slot != S_NONE && below_bind == 0 ->
			wrong_generation = (gn != bgen);
			assert(!wrong_generation);
			marker_seen = true
		:: else -> skip /* no bond: counted as unexpected */
		fi
	:: else ->
		/* A partial begun for another owner can never complete as one group. */
		if
		:: (p_valid & BIT(a)) && p_owner[a] != owner -> drop_partial(a)
		:: else -> skip
		fi;
		if
		:: !l ->
			if
			:: p_valid & BIT(a) -> p_gens[a] = p_gens[a] | BIT(gn)
			:: else ->
				p_valid = p_valid | BIT(a);
				p_owner[a] = owner;
				p_gens[a] = BIT(gn)
			fi
		:: else ->
			gens = BIT(gn);
			if
			:: p_valid & BIT(a) -> gens = gens | p_gens[a]; drop_partial(a)
			:: else -> skip
			fi;
			if
			:: owner == 0 || bstate != B_ACTIVE -> respond(k, a) /* Invalid */
			:: else ->
				wrong_generation = (gens != BIT(owner));
				assert(!wrong_generation);
				held = held | BIT(a)
			fi
		fi
	fi;
	if
	:: below_bind > 0 -> below_bind--
	:: else -> skip
	fi;
	if
	:: below_drain > 0 -> below_drain--
	:: else -> skip
	fi;
	if
	:: pre_queue > 0 -> pre_queue--
	:: else -> skip
	fi;
	k = 0; a = 0; l = false; gn = 0; owner = 0; gens = 0
}

/* ---- processes --------------------------------------------------------------------------- */

/* The device: groups of one or two requests on a free PRG index, on and on; stops on
 * command, with a stop marker or by waiting until every group got its response. */
inline send(kind, i, last, gn)
{
	fabric!kind, i, last, gn
}

proctype Device()
{
	byte i;
end_device:
	do
	:: atomic {
		dev_running && !dev_stop_cmd && len(fabric) < FDEPTH && dev_out != 3 ->
		if
		:: !(dev_out & BIT(0)) -> i = 0
		:: !(dev_out & BIT(1)) -> i = 1
		fi;
		dev_out = dev_out | BIT(i);
		if
		:: send(REQ, i, false, live) /* a group of two */
		:: skip
		fi
	   };
	   /* the Last, in a step of its own */
	   atomic { len(fabric) < FDEPTH -> send(REQ, i, true, live); i = 0 }
	:: atomic {
		dev_running && dev_stop_cmd && uses_markers && len(fabric) < FDEPTH ->
		send(MARKER, 0, true, dev_sess);
		dev_running = false;
		dev_stop_cmd = false
	   }
	:: atomic {
		/* Without markers a stop completes once every group got its response. */
		dev_running && dev_stop_cmd && !uses_markers && dev_out == 0 ->
		dev_running = false;
		dev_stop_cmd = false
	   }
	od
}

/* The IOMMU's queue writer: posted ordering (one FIFO), overflow, automatic responses. */
proctype Iommu()
{
	mtype k;
	byte a, gn;
	bool l;
end_iommu:
	do
	:: atomic {
		fabric?k, a, l, gn ->
		if
		:: k == DONE ->
			hw_busy = false;
			below_drain = len(prq)
		:: k != DONE && (overflow || len(prq) >= QDEPTH) ->
			overflow = true;
			if
			:: pre_fabric > 0 -> pre_fabric--
			:: else -> skip
			fi;
			if
			:: k == REQ && l -> respond(k, a) /* automatic Success */
			:: else -> skip /* a non-Last is lost, a marker never answered */
			fi
		:: else ->
			prq!k, a, l, gn;
			if
			:: pre_fabric > 0 -> pre_fabric--; pre_queue++
			:: else -> skip
			fi
		fi;
		k = 0; a = 0; l = false; gn = 0
	   }
	od
}

/* The core's consumer: prqd_iommu_process() and a drain's own reading of the queue alike
 * (the same code under the queue lock, whoever runs it). */
proctype Consumer()
{
	mtype k;
	byte a, gn, owner, gens;
	bool l;
end_consumer:
	do
	:: atomic { nempty(prq) -> consume_one() }
	:: atomic { overflow && len(prq) == 0 -> ack_overflow() }
	od
}

/* The fault handler: answers the groups it holds, in any order, whenever it likes. */
proctype Handler()
{
end_handler:
	do
	:: atomic { held & BIT(0) -> respond(REQ, 0); held = held & ~BIT(0) }
	:: atomic { held & BIT(1) -> respond(REQ, 1); held = held & ~BIT(1) }
	od
}

/* ---- the driver's operations (lib/bond.c, lib/drain.c) ----------------------------------- */

/*
 * Each operation is as few atomic steps as its real waits allow: the driver's waits are
 * single guards, so the model gains no states from bookkeeping between them. A deadline
 * may end any wait at any moment (a branch that is always executable).
 */

/* A drain or unbind begins: what is in flight now was issued before it. */
inline drain_begins()
{
	pre_fabric = len(fabric) - (hw_busy -> 1 : 0);
	pre_queue = len(prq);
	restart_ok = !dev_running
}

/* ... and returned 0: nothing issued before it may be left in flight. */
inline drain_returns()
{
	drain_incomplete = (pre_fabric != 0 || pre_queue != 0);
	assert(!drain_incomplete)
}

inline drain_forget()
{
	pre_fabric = 0;
	pre_queue = 0;
	rc = OK
}

/* A hardware step: the page-drain wait's completion enters the fabric behind everything
 * the device issued so far. */
inline issue_step()
{
	acked = false;
	hw_busy = true;
	fabric!DONE, 0, false, 0
}

/*
 * The drain loop (hw_rounds), entered with in_hw_loop set: a hardware step, read the queue
 * up to its mark with no overflow pending, and again while an overflow was acknowledged
 * meanwhile. A step an earlier drain left in flight covers only what came before that
 * drain: it is let complete first. Reading the queue is the Consumer's step (the same code
 * under the queue lock, whoever runs it), so the loop waits for it. Sets rc.
 */
inline hw_rounds()
{
	do
	:: atomic { !issued && !hw_busy -> issued = true; issue_step() }
	:: atomic {
		issued && !hw_busy && below_drain == 0 && !overflow ->
		if
#ifdef STALE_OVERFLOW_COUNT
		:: acked -> hw_busy = true; fabric!DONE, 0, false, 0 /* compares with the start */
#else
		:: acked -> issue_step()
#endif
		:: else -> issued = false; acked = false; in_hw_loop = false; break
		fi
	   }
	:: HW_DEADLINE -> /* a step left in flight stays tracked (hw_busy) */
		atomic { rc = ETIMEDOUT; issued = false; acked = false; in_hw_loop = false; break }
	od
}

/* Without a hardware drain only the stop marker, once read, says the old generation's
 * requests are all in, and read (the queue is read in order). Sets rc. */
inline wait_marker()
{
	if
	:: marker_seen -> skip
	:: rc = ETIMEDOUT /* the deadline */
#ifdef MARKER_OVERFLOW_EXCUSE
	:: acked -> skip  /* "an overflow meanwhile may have dropped it" */
#endif
	fi
}

inline install()
{
	slot = S_BOUND;
	next_gen++;
	bgen = next_gen;
	bstate = B_ACTIVE;
	marker_seen = false;
#ifdef NO_BIND_MARK
	below_bind = 0;
#else
	below_bind = len(prq); /* the queue's write position now */
#endif
	live = bgen;
	/* the driver starts the device on the PASID once it is bound */
	dev_running = true;
	dev_sess = bgen
}

inline free_slot()
{
	slot = S_NONE; bgen = 0; bstate = B_ACTIVE; below_bind = 0; marker_seen = false
}

#define CAN_BIND (next_gen < MAXGEN && !dev_running)

proctype Driver()
{
	byte rc;
	bool mflag, issued;
end_driver:
	do
	/* prqd_bind of a free PASID, or of a quarantined one whose stop marker was read */
	:: atomic {
		CAN_BIND && (slot == S_NONE || (slot == S_QUARANTINED && marker_seen)) ->
		if
		:: slot == S_QUARANTINED -> discard_partials(0)
		:: else -> skip
		fi;
		install()
	   }
	/* ... of a quarantined PASID: proof by a hardware drain */
	:: atomic { CAN_BIND && slot == S_QUARANTINED && !marker_seen && hw_drain ->
		    in_hw_loop = true };
		hw_rounds();
		atomic {
			if
			:: rc == OK -> discard_partials(0); install()
			:: else -> skip /* bind fails, the PASID stays quarantined */
			fi;
			rc = OK
		}
	/* ... of a quarantined PASID: proof by the stop marker, waited for */
	:: atomic { CAN_BIND && slot == S_QUARANTINED && !marker_seen && !hw_drain ->
		    in_marker_wait = true };
		wait_marker();
		atomic {
			if
			:: rc == OK -> discard_partials(0); install()
			:: else -> skip
			fi;
			rc = OK; in_marker_wait = false; acked = false
		}
	/* prqd_stop */
	:: slot == S_BOUND && bstate == B_ACTIVE -> bstate = B_STOPPING
	/* prqd_drain (no flags: the handler's groups are waited for) */
	:: atomic {
		slot == S_BOUND ->
		drain_begins();
#ifdef DRAIN_STOPPED_SHORTCUT
		if
		:: bstate == B_STOPPED -> drain_returns(); drain_forget(); goto drain_done
		:: else -> skip
		fi;
#endif
		bstate = B_STOPPING;
		in_hw_loop = hw_drain;
		rc = (hw_drain -> OK : EOPNOTSUPP)
	   };
		if
		:: hw_drain -> hw_rounds()
		:: else -> skip
		fi;
		if
		:: atomic {
			rc == OK && held == 0 ->
			discard_partials(bgen);
			bstate = B_STOPPED;
			drain_returns();
			drain_forget()
		   }
		:: atomic { /* failed, or the deadline with groups still held */
			bstate = B_STOPPING;
			drain_forget()
		   }
		fi;
#ifdef DRAIN_STOPPED_SHORTCUT
drain_done:	skip
#endif
	/* prqd_resume, and the driver may start the device on the PASID again, but only once the
	 * device had stopped before the drain that made the bond STOPPED: that drain read its
	 * stop marker, if any, so no old marker arrives after resume cleared marker_seen. */
	:: atomic {
		slot == S_BOUND && bstate == B_STOPPED ->
		bstate = B_ACTIVE;
		marker_seen = false;
		if
		:: restart_ok && !dev_running -> dev_running = true; dev_sess = bgen
		:: true
		fi;
		restart_ok = false
	   }
#ifdef RESTART_ANYTIME
	:: atomic { slot == S_BOUND && !dev_running -> dev_running = true; dev_sess = bgen }
#endif
	/* the driver tells the device to stop using the PASID */
	:: dev_running && !dev_stop_cmd -> dev_stop_cmd = true
	/* prqd_unbind (STOP_MARKER or none), once the device reported its stop complete */
	:: atomic {
		slot == S_BOUND && !dev_running ->
		if
		:: uses_markers -> mflag = true
		:: mflag = false
		fi;
		live = 0;
		drain_begins();
		abandon_held();
#ifdef UNBIND_SKIPS_STOPPED
		if
		:: bstate == B_STOPPED -> rc = OK; mflag = false; goto unbind_free
		:: else -> skip
		fi;
#endif
		bstate = B_STOPPING;
		in_hw_loop = hw_drain;
		in_marker_wait = !hw_drain && mflag;
		rc = (hw_drain || mflag -> OK : EOPNOTSUPP)
	   };
		if
		:: hw_drain -> hw_rounds()
		:: !hw_drain && mflag -> wait_marker()
		:: !hw_drain && !mflag -> skip
		fi;
#ifdef UNBIND_SKIPS_STOPPED
unbind_free:
#endif
		atomic {
			if
			:: rc == OK -> discard_partials(bgen); drain_returns(); free_slot()
			:: else -> bstate = B_STOPPING; live = bgen
			fi;
			drain_forget();
			mflag = false; in_marker_wait = false; acked = false
		}
	/* prqd_unbind(NO_DRAIN): the device stopped without markers and every group was
	 * answered. It reads the queue until empty, then refuses if the bond still holds a
	 * group. (The device is stopped: starting the call when the queue is empty is the same.) */
	:: atomic {
		slot == S_BOUND && !dev_running && !uses_markers && len(prq) == 0 && !overflow ->
		drain_begins();
		if
		:: held != 0 || ((p_valid & BIT(0)) && p_owner[0] == bgen) ||
		   ((p_valid & BIT(1)) && p_owner[1] == bgen) ->
			skip /* -EBUSY */
		:: else -> live = 0; drain_returns(); free_slot()
		fi;
		drain_forget()
	   }
	/* prqd_unbind(FORCE): nothing device-facing, returns at once */
	:: atomic {
		slot == S_BOUND ->
		live = 0;
		abandon_held();
		discard_partials(bgen);
#ifdef NO_QUARANTINE
		free_slot()
#else
		slot = S_QUARANTINED;
		bstate = B_ACTIVE
#endif
	   }
	/* the driver is done */
	:: break
	od
}

/* Nothing can move any more: every group got its response. */
proctype Finale()
{
	timeout ->
	lost_response = (dev_out != 0);
	assert(!lost_response)
}

init
{
	atomic {
#ifdef ENV_HW
		hw_drain = ENV_HW;
#else
		if
		:: hw_drain = true
		:: hw_drain = false
		fi;
#endif
#ifdef ENV_MK
		uses_markers = ENV_MK;
#else
		if
		:: uses_markers = true
		:: uses_markers = false
		fi;
#endif
		run Iommu();
		run Consumer();
		run Handler();
		run Device();
		run Driver();
		run Finale()
	}
}
