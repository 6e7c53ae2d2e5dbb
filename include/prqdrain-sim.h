/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain-sim.h
 * @brief libprqdrain-sim: test code on libprqdrain against simulated PRI devices and IOMMUs.
 *
 * A world is a deterministic discrete-event model of PRI devices, the PCIe fabric between
 * them and an IOMMU, with a checker that watches every request and response on the wire. A
 * test author creates a world, adds devices, gets a context on the world
 * (prqd_sim_ctx_new(): its platform, with the "sim" backend added), opens an IOMMU on it with
 * the ordinary API (prqd_iommu_open(): "sim", the abstract IOMMU; "vtd" or "smmuv3", the
 * library's backend driving the world's register-level model of that IOMMU, which opening
 * it puts behind the register window), adds the devices and binds
 * with the ordinary API, makes the devices fault, runs the world, and at the end reads the
 * checker's verdict: the violations of the page request guarantees it saw (a group answered
 * twice or never, a Stop Marker answered, a response to the wrong function, a request
 * delivered to a bond generation not its own, a drain that returned with requests of its
 * scope still in flight, library memory left allocated).
 *
 * Conventions: as prqdrain.h (negative errno, objects out through **out, opaque types). A
 * world is single-threaded: one thread drives it and every library object on its platform,
 * whose relax() runs the world while the library polls; nothing here takes a lock. Time is
 * simulated nanoseconds from 0; the same seed and the same calls give the same run.
 */
#ifndef PRQDRAIN_SIM_H
#define PRQDRAIN_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup prqdrain_sim Simulator (libprqdrain-sim): a world, its devices, the checker
 * @{
 */

/** A simulated world: devices, fabric, IOMMU models, checker. Opaque. */
struct prqd_sim_world;
/** A simulated PRI function of a world. Opaque. */
struct prqd_sim_dev;

/**
 * @brief Create a world.
 *
 * Its memory is libc's; the library's allocations through its platform are counted, so the
 * checker reports what the library leaves allocated.
 *
 * - Ownership: the caller's; free with prqd_sim_world_free().
 * - Locking: none; no global state.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param seed every random choice of the world comes from it.
 * @param out receives the world.
 * @return 0; -EINVAL (@p out NULL); -ENOMEM.
 */
int prqd_sim_world_new(uint64_t seed, struct prqd_sim_world **out);

/**
 * @brief Free a world, its devices with it.
 *
 * Close every library object on its platform first (IOMMUs, contexts).
 *
 * - Ownership: @p world and its devices are freed.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world, or NULL.
 */
void prqd_sim_world_free(struct prqd_sim_world *world);

/**
 * @brief The platform a library object on this world uses: simulated clock, counted memory,
 * relax() running the world, the register window and DMA memory of the world's register-level
 * model (that of the backend opened on it: VT-d or SMMUv3; VT-d when none was), and the world
 * as the "sim" backend's data.
 *
 * - Ownership: the world's; valid while it lives.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @return The platform table, or NULL for a NULL world.
 */
const struct prqd_platform *prqd_sim_world_platform(struct prqd_sim_world *world);

/**
 * @brief Add the "sim" backend (the abstract IOMMU of a world) to a context.
 *
 * An IOMMU opened with it on a world's platform is that world's IOMMU; its parameters are
 * "sim.*" (prqd_param_walk() does not list them; prqd_ctx_get_param() finds them).
 *
 * - Ownership: nothing changes hands.
 * - Locking: none. Not thread-safe against other calls on the context.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ctx the context.
 * @return 0, or prqd_ctx_add_backend()'s error (-EEXIST: added already).
 */
int prqd_sim_add_backend(struct prqd_ctx *ctx);

/**
 * @brief A context on the world's platform, ignoring the environment, with the "sim"
 * backend added.
 *
 * - Ownership: the caller's reference; drop it with prqd_ctx_unref() before freeing the world.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param out receives the context.
 * @return 0; -EINVAL (NULL argument); -ENOMEM.
 */
int prqd_sim_ctx_new(struct prqd_sim_world *world, struct prqd_ctx **out);

/**
 * @brief The world's clock.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @return Simulated nanoseconds since the world was created.
 */
uint64_t prqd_sim_now(const struct prqd_sim_world *world);

/**
 * @brief Run the world for @p ns simulated nanoseconds: every event due by then happens
 * (requests travel, the IOMMU queues them, responses reach the devices).
 *
 * The library is not called from here: consume the queue with prqd_iommu_process().
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never in real time.
 * - Since: 0.1
 *
 * @param world the world.
 * @param ns how long.
 * @return The number of events that ran.
 */
uint64_t prqd_sim_run_for(struct prqd_sim_world *world, uint64_t ns);

/** When a device answers an ATS invalidation (what a hardware drain waits for). */
enum prqd_sim_atc {
	PRQD_SIM_ATC_ANSWERS = 0, /**< after its latency */
	PRQD_SIM_ATC_SLOW = 1,    /**< a hundred times later */
	PRQD_SIM_ATC_NEVER = 2,   /**< never: only the IOMMU's time-out ends the wait */
};

/** A simulated function. Fields past @c size are taken at their defaults. */
struct prqd_sim_dev_cfg {
	/** sizeof(struct prqd_sim_dev_cfg) as the caller knows it. */
	uint32_t size;
	/** Requester ID, unique among the world's present devices. */
	uint16_t rid;
	/** Outstanding page requests allowed (PRI capacity), at least 1. */
	uint32_t pri_capacity;
	/** PASID width, 0 to 20 (0: no PASID). */
	uint8_t pasid_width;
	/** Stopping a PASID sends a Stop Marker. */
	bool uses_stop_markers;
	/** Responses must carry the PASID (PRG Response PASID Required). */
	bool prg_resp_pasid_required;
	/** enum prqd_sim_atc. */
	uint8_t atc;
};

/**
 * @brief Add a device to the world.
 *
 * - Ownership: the world's; valid until the world is freed (also after removal).
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param cfg the device; borrowed for the call.
 * @param out receives the device.
 * @return 0; -EINVAL (NULL argument, @c size too small, a value out of range); -EEXIST
 *         (a present device has that requester ID); -ENOMEM.
 */
int prqd_sim_dev_add(struct prqd_sim_world *world, const struct prqd_sim_dev_cfg *cfg,
		     struct prqd_sim_dev **out);

/**
 * @brief What to give prqd_dev_add() for the device.
 *
 * - Ownership: @p out is the caller's, filled whole.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param out receives the description.
 * @return 0 or -EINVAL (NULL argument).
 */
int prqd_sim_dev_info(const struct prqd_sim_dev *dev, struct prqd_dev_info *out);

/** Access kinds of prqd_sim_dev_fault(). */
enum prqd_sim_access {
	PRQD_SIM_READ = 1,  /**< read access */
	PRQD_SIM_WRITE = 2, /**< write access */
	PRQD_SIM_EXEC = 4,  /**< execute */
	PRQD_SIM_PRIV = 8,  /**< privileged */
};

/**
 * @brief The device faults @p pages pages from @p addr: one page request group, sent now.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param pasid the PASID, or PRQD_NO_PASID.
 * @param addr the first page's address.
 * @param pages how many pages (requests in the group).
 * @param access enum prqd_sim_access bits; read or write among them.
 * @return 0; -EAGAIN (no credit or group index free: nothing sent); -ESHUTDOWN (the device
 *         is removed, its PRI disabled, or the PASID stopped at the device); -EINVAL.
 */
int prqd_sim_dev_fault(struct prqd_sim_dev *dev, uint32_t pasid, uint64_t addr, unsigned pages,
		       unsigned access);

/**
 * @brief The device stops issuing page requests for a PASID, as its driver would before
 * unbinding it (with a Stop Marker if the device sends them and @p marker is set).
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param pasid the PASID (PRQD_NO_PASID only without a marker).
 * @param marker send a Stop Marker.
 * @return 0; -EINVAL; -ESHUTDOWN (device removed).
 */
int prqd_sim_dev_stop_pasid(struct prqd_sim_dev *dev, uint32_t pasid, bool marker);

/**
 * @brief The device issues page requests for a stopped PASID again.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param pasid the PASID.
 * @return 0; -EINVAL; -ESHUTDOWN (device removed).
 */
int prqd_sim_dev_start_pasid(struct prqd_sim_dev *dev, uint32_t pasid);

/**
 * @brief Function Level Reset: the device forgets its outstanding groups (responses to them
 * are stale, not violations); requests already on the link still arrive.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @return 0; -EINVAL; -ESHUTDOWN (device removed).
 */
int prqd_sim_dev_flr(struct prqd_sim_dev *dev);

/**
 * @brief Surprise removal: the link goes down, requests in flight are lost, responses
 * vanish.
 *
 * - Ownership: the device stays valid until the world is freed.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @return 0; -EINVAL; -ESHUTDOWN (removed already).
 */
int prqd_sim_dev_remove(struct prqd_sim_dev *dev);

/**
 * @brief The IOMMU's page request queue overflows now, as a full one would: requests are
 * dropped (dropped Last requests answered by the IOMMU itself) until software empties the
 * queue and acknowledges the overflow.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 */
void prqd_sim_overflow_now(struct prqd_sim_world *world);

/**
 * @brief Tell the checker that @p bond now owns its PASID: requests the device issues from
 * now on for it belong to the bond's generation. Call right after prqd_bind() succeeds.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world of the bond's device.
 * @param bond the bond.
 * @return 0 or -EINVAL.
 */
int prqd_sim_note_bind(struct prqd_sim_world *world, const struct prqd_bond *bond);

/**
 * @brief Tell the checker that @p bond is going: no request issued from now on belongs to a
 * bond. Call right before prqd_unbind(); if the unbind fails, call prqd_sim_note_bind()
 * again.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param bond the bond.
 * @return 0 or -EINVAL.
 */
int prqd_sim_note_unbind(struct prqd_sim_world *world, const struct prqd_bond *bond);

/**
 * @brief Check a group a handler received: every request of it must have been issued in
 * the generation of the bond it was delivered to. Call from the handler.
 *
 * - Ownership: nothing changes hands; @p group stays the handler's.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param group the group.
 * @return 0 or -EINVAL; a wrong delivery is a violation, not an error.
 */
int prqd_sim_check_delivery(struct prqd_sim_world *world, const struct prqd_group *group);

/**
 * @brief Check a drain: prqd_drain() (or an unbind that drains) of @p bond returned 0 and
 * began at @p start_ns (prqd_sim_now() before the call): no request of its PASID issued
 * before may still be in the fabric or the IOMMU's queue.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param bond the bond drained (still valid: check before unbinding returns it).
 * @param start_ns when the drain began.
 * @return 0 or -EINVAL; a request left behind is a violation, not an error.
 */
int prqd_sim_check_drained(struct prqd_sim_world *world, const struct prqd_bond *bond,
			   uint64_t start_ns);

/**
 * @brief The end-of-run checks: every group of a present device answered (FLR'd and
 * removed devices excepted), no library allocation left.
 *
 * Call after closing the library's objects on the world and running it until responses
 * still on the wire have arrived. Each unanswered group is reported once.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @return The number of violations seen in the whole run, these included.
 */
unsigned prqd_sim_finish(struct prqd_sim_world *world);

/**
 * @brief The checker's verdict so far: the number of violations it saw.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @return The count; 0 means every guarantee held.
 */
unsigned prqd_sim_violation_count(const struct prqd_sim_world *world);

/**
 * @brief One violation, as a line of text: its kind, time, function, PASID and detail.
 *
 * The first 64 are kept in full; later ones are only counted.
 *
 * - Ownership: @p buf is the caller's.
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param world the world.
 * @param index 0 for the first violation seen.
 * @param buf receives the text, NUL-terminated and truncated to @p size.
 * @param size bytes of @p buf.
 * @return 0; -EINVAL (NULL argument, @p size 0); -ENOENT (no such violation kept).
 */
int prqd_sim_violation_text(const struct prqd_sim_world *world, unsigned index, char *buf,
			    size_t size);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_SIM_H */
