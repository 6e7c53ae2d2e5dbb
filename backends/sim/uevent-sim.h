/* SPDX-License-Identifier: MIT */
/*
 * backends/sim/uevent-sim.h: the uevent monitor on the simulator, for prqdrain-monitor --sim
 * and the tests. Part of libprqdrain-sim, not exported from it (internal to the project).
 *
 * A bench is a simulated world with the devices and bonds of a scenario (or a built-in
 * setup), the library on it, and a struct prqd_monitor that knows every simulated device as
 * PCI function 0000:BB:DD.F of its requester ID. Every bound bond's device faults steadily
 * (one page per group) while the bench runs, and a poll event consumes the queue, so the
 * monitor's actions meet live traffic. Events are fed through the monitor exactly as the
 * socket path feeds them; the bench only adds the checker's bookkeeping around them (which
 * bond generation is live, when a drain began) and, for a `remove`, the surprise removal of
 * the simulated device that such an event reports.
 *
 * From a scenario the bench takes the seed, parameters, fabric settings, devices and bonds
 * (those bound at time 0); its operations and expectations are not played: the events are
 * the operations here. Single-threaded, like the simulator; no global state.
 */
#ifndef PRQD_UEVENT_SIM_H
#define PRQD_UEVENT_SIM_H

#include "prqdrain-uevent.h"
#include "backends/sim/scenario.h"

struct uevent_sim;

/* Time between two groups of one bond's traffic. */
#define UEVENT_SIM_FAULT_EVERY_NS 2000u

/*
 * uevent_sim_new - build a bench from @s (NULL: the built-in setup, two devices at
 * 0000:00:01.0 and 0000:00:02.0 with two PASID bonds each and a RID-only bond on the first)
 * with @seed (0: the scenario's). Returns 0 or a negative errno with a message in @err.
 */
int uevent_sim_new(const struct scn *s, uint64_t seed, struct uevent_sim **out, char *err,
		   size_t errlen);

/* The bench's monitor (owned by the bench). Install an event callback on it if wanted. */
struct prqd_monitor *uevent_sim_monitor(struct uevent_sim *u);

/* Run the world for @ns of simulated time (traffic flows, the queue is polled). */
void uevent_sim_run(struct uevent_sim *u, uint64_t ns);

/* Feed one datagram through the monitor (see the file comment). Returns its verdict. */
int uevent_sim_feed(struct uevent_sim *u, const void *buf, size_t len,
		    const struct prqd_uevent_origin *origin, struct prqd_monitor_result *res);

/* Bonds of the bench, in scenario order. */
unsigned uevent_sim_nbonds(const struct uevent_sim *u);
const char *uevent_sim_bond_name(const struct uevent_sim *u, unsigned i);
/* The device's slot name ("0000:00:01.0") of bond @i. */
const char *uevent_sim_bond_slot(const struct uevent_sim *u, unsigned i);
/* enum prqd_bond_state, or PRQD_BOND_FREED once unbound. */
int uevent_sim_bond_state(const struct uevent_sim *u, unsigned i);
/* Groups the bond's handler received so far (every generation). */
uint64_t uevent_sim_bond_delivered(const struct uevent_sim *u, unsigned i);

/* The end of a run. */
struct uevent_sim_report {
	uint64_t end_ns;
	struct prqd_stats stats;             /* the library's counters */
	struct prqd_monitor_stats monitor;
	unsigned unbound_at_end;             /* bonds still bound, unbound by the bench */
	unsigned violations;                 /* checker violations (0 = pass) */
	char first_violation[160];           /* the first one, described */
	char error[160];                     /* a teardown step failed (empty: none) */
};

/*
 * uevent_sim_finish - unbind what is still bound (by force on removed devices), let the world
 * run dry, remove the devices, close the library, ask the checker, and free the bench.
 * Returns 0 when the checker found nothing and the teardown went through, else -EPROTO.
 */
int uevent_sim_finish(struct uevent_sim *u, struct uevent_sim_report *rep);

/* Free a bench without the checks (after a failed setup in a test). NULL is allowed. */
void uevent_sim_free(struct uevent_sim *u);

#endif /* PRQD_UEVENT_SIM_H */
