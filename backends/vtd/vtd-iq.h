/* SPDX-License-Identifier: MIT */
/*
 * The VT-d invalidation queue engine: descriptor encoders, batched submission with one
 * doorbell, wait descriptors with a unique status value each, and error handling (IQE, ITE,
 * ICE). The vtd backend builds on it; the QEMU oracle (tests/qemu/) links it into a tiny
 * multiboot guest and checks it against Debian's QEMU 7.2 VT-d model.
 *
 * Freestanding (it must also build with -m32 -ffreestanding for the guest): it touches
 * hardware and memory only through struct prqd_platform (mmio_*, dma_alloc/free, now_ns,
 * relax), includes only compiler headers and project headers, and keeps all state in
 * struct vtd_iq, which the caller allocates (statically in the guest).
 *
 * Not thread-safe: the caller serialises every call on one struct vtd_iq.
 */
#ifndef PRQD_VTD_IQ_H
#define PRQD_VTD_IQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain-platform.h"

/* One descriptor, 128 or 256 bits (qw[2], qw[3] unused in 128-bit mode). */
struct vtd_desc {
	uint64_t qw[4];
};

/* ---- encoders (pure; facts: pri-facts.md §1.3) ------------------------------------------ */

/* Invalidation wait (type 5). @flags: VTD_WAIT_* from vtd-regs.h. */
void vtd_desc_wait(struct vtd_desc *d, uint64_t flags, uint32_t status_data, uint64_t status_addr);
/* PASID-based IOTLB invalidation of all non-global mappings of @pasid (type 6, G=2). */
void vtd_desc_piotlb_all(struct vtd_desc *d, uint16_t did, uint32_t pasid);
/* PASID-cache invalidation (type 7): @gran VTD_PC_GRAN_PASID for @pasid within domain @did,
 * VTD_PC_GRAN_DOMAIN for every PASID of @did (@pasid ignored). */
void vtd_desc_pasid_cache(struct vtd_desc *d, unsigned gran, uint16_t did, uint32_t pasid);
/* Legacy IOTLB domain-selective invalidation (type 2, G=2), for RID-only traffic. */
void vtd_desc_iotlb_dsi(struct vtd_desc *d, uint16_t did);
/* PASID-based device-TLB invalidation of the whole address space (type 8, S=1, all address
 * bits set), @qdep the ATS invalidate queue depth (0 if >= 32). */
void vtd_desc_pdevtlb_all(struct vtd_desc *d, uint16_t sid, uint16_t pfsid, uint32_t pasid,
			  uint8_t qdep);
/* Legacy device-TLB invalidation of the whole address space (type 3). */
void vtd_desc_devtlb_all(struct vtd_desc *d, uint16_t sid, uint16_t pfsid, uint8_t qdep);
/* Page group response (type 9). @rc: VTD_RC_*; @pasid_present: PP; @lpig: LPIG;
 * @priv_data: QW2/QW3 when non-NULL (sets PDP; 256-bit descriptors only). */
void vtd_desc_page_group_resp(struct vtd_desc *d, uint16_t rid, bool pasid_present,
			      uint32_t pasid, uint16_t prg_index, uint8_t rc, bool lpig,
			      const uint64_t *priv_data);

/* ---- the queue -------------------------------------------------------------------------- */

#define VTD_IQ_MAX_WAITS 64 /* status slots: waits that may be outstanding at once */

/* A wait in flight. Give it back with vtd_iq_wait_done() or vtd_iq_wait_abandon(). */
struct vtd_wait {
	uint32_t slot;
	uint32_t value; /* the unique status value the hardware writes on completion */
};

/* What vtd_iq_errors() found and did. */
struct vtd_iq_error {
	bool iqe;             /* a descriptor was invalid ... */
	uint32_t iqe_index;   /* ... at this ring index (IQH) */
	uint8_t iqe_type;     /* ... of this type; it was replaced by a harmless wait */
	bool ite;             /* a device-TLB invalidation timed out ... */
	uint16_t ite_sid;     /* ... for this source-id (IQER.ITESID; 0 if not reported) */
	uint32_t aborted;     /* waits the time-out aborted, or whose batch it cut (they poll
			       * as -EIO) */
	bool ice;             /* invalidation completion error */
};

struct vtd_iq {
	const struct prqd_platform *plat;
	bool wide;             /* 256-bit descriptors (IQA.DW) */
	uint32_t entries;      /* ring size in descriptors */
	uint32_t tail;         /* next free index (software copy of IQT) */
	uint32_t head;         /* IQH as last read (ring index): free space without an MMIO read */
	uint64_t ecap;         /* ECAP as read by vtd_iq_init (PDS gates the page-drain bit) */
	void *ring;            /* DMA memory of the ring */
	uint64_t ring_bus;
	size_t ring_bytes;
	volatile uint32_t *status; /* DMA memory: one 32-bit status word per slot */
	uint64_t status_bus;
	uint32_t slot_value[VTD_IQ_MAX_WAITS]; /* value a slot waits for; 0 = free */
	uint32_t slot_state[VTD_IQ_MAX_WAITS]; /* engine-private */
	uint32_t slot_where[VTD_IQ_MAX_WAITS]; /* engine-private: ring index of the wait and
						  * of the first descriptor of its batch */
	struct vtd_iq_error unreported; /* found by vtd_iq_poll, not yet returned by
					 * vtd_iq_errors */
	uint32_t next_value;   /* source of unique status values */
	uint64_t descriptors;  /* descriptors queued since init (for statistics) */
	uint64_t doorbells;    /* IQT writes since init */
	bool broken;           /* an unrecoverable error: every call fails with -EIO */
};

/*
 * vtd_iq_init - allocate the ring (2^@order 4-KiB pages) and the status slots through
 * plat->dma_alloc, program IQA (with DW when @wide), IQT = 0, enable queued invalidation
 * (GCMD.QIE) and wait for GSTS.QIES (bounded by @timeout_ns of plat->now_ns).
 * If queued invalidation is already on, it is turned off first (IQA may only change then).
 * Returns 0, -ENOMEM, -ETIMEDOUT, -EOPNOTSUPP (ECAP.QI clear, or @wide without ECAP.SMTS),
 * -EINVAL (@order > 7). On failure nothing is held (vtd_iq_fini is harmless) and
 * vtd_iq_submit fails with -EIO.
 */
int vtd_iq_init(struct vtd_iq *iq, const struct prqd_platform *plat, unsigned order, bool wide,
		uint64_t timeout_ns);
/* vtd_iq_fini - disable queued invalidation and free the memory. Waits still in flight are
 * forgotten: call only when the hardware can no longer write (device gone, unit disabled). */
void vtd_iq_fini(struct vtd_iq *iq);

/*
 * vtd_iq_submit - queue @n descriptors and, when @wait_flags is non-zero, a trailing wait
 * descriptor with VTD_WAIT_SW | @wait_flags (e.g. VTD_WAIT_FN, VTD_WAIT_PD) whose status
 * write goes to a free slot with a new unique value; then one IQT write (one doorbell) for
 * the whole batch. SW and IF are never combined (QEMU 7.2 aborts on it). With @wait_flags 0,
 * @ticket may be NULL. @wait_flags VTD_WAIT_SW alone asks for a plain status-write wait.
 * No descriptor with the page-drain bit (VTD_WAIT_PD, in @wait_flags or in @descs) is queued
 * unless ECAP.PDS is set, and 256-bit content (QW2/QW3) needs 256-bit descriptors.
 * Returns 0, -EAGAIN (ring or status slots full: nothing queued), -EIO (queue broken),
 * -EOPNOTSUPP (page-drain bit without ECAP.PDS: nothing queued), -EINVAL (VTD_WAIT_IF or
 * an unknown bit in @wait_flags, no @ticket for a wait, QW2/QW3 set in 128-bit mode).
 */
int vtd_iq_submit(struct vtd_iq *iq, const struct vtd_desc *descs, unsigned n,
		  uint64_t wait_flags, struct vtd_wait *ticket);

/*
 * vtd_iq_poll - has the wait completed? Checks for errors first (vtd_iq_errors, the result
 * discarded; call vtd_iq_errors yourself to see them).
 * Returns 0 (completed: the slot is free again), -EINPROGRESS, -EIO (the slot is free again:
 * aborted by a device-TLB invalidation time-out or its batch cut by one, or a descriptor of
 * its own batch was rejected as invalid (IQE) and replaced, or the queue is broken),
 * -EINVAL (not an outstanding ticket: already completed, abandoned, or never issued).
 */
int vtd_iq_poll(struct vtd_iq *iq, const struct vtd_wait *ticket);

/*
 * vtd_iq_wait_abandon - the caller stops caring about a wait (its deadline passed). The slot
 * stays reserved until the hardware writes that wait's own value (or aborts it), so a late
 * status write can never complete a newer wait. Always safe.
 */
void vtd_iq_wait_abandon(struct vtd_iq *iq, const struct vtd_wait *ticket);

/*
 * vtd_iq_errors - read FSTS and handle what is pending, in place:
 *  - IQE: the descriptor at IQH is replaced by a status-write wait to a scratch slot, FSTS.IQE
 *    is cleared and IQT rewritten, so processing resumes at the next descriptor;
 *  - ITE: waits the hardware had fetched (those before IQH) and not written are marked
 *    aborted, whatever their ring index; a wait whose batch began before IQH but which was
 *    not fetched itself is failed (it still runs, and polls as -EIO once written: the time-out
 *    may have been its own batch's invalidation); FSTS.ITE is cleared and IQT rewritten if
 *    descriptors are still pending;
 *  - ICE: reported and cleared.
 * What vtd_iq_poll handled since the last call is reported here too (counts add up; the
 * index, type and source-id are those of the latest). A descriptor rejected twice (the
 * harmless wait itself) breaks the queue.
 * Returns 1 if anything was found (details in *@err, may be NULL), 0 if not.
 */
int vtd_iq_errors(struct vtd_iq *iq, struct vtd_iq_error *err);

#endif /* PRQD_VTD_IQ_H */
