/* SPDX-License-Identifier: MIT */
/*
 * The SMMUv3 command queue engine: command builders, batched submission with one CMDQ_PROD
 * write, CMD_SYNC completion by polling CMDQ_CONS (and by the sync's MSI write where
 * IDR0.MSI), and command errors (CMDQ_CONS.ERR with GERROR.CMDQ_ERR): the failing command
 * is reported, replaced by a harmless CMD_SYNC when it was illegal, GERRORN acknowledges and
 * the queue resumes. The smmuv3 backend builds on it; the QEMU oracle (tests/qemu-arm/) links
 * it into a bare-metal aarch64 guest and checks it against Debian's QEMU 7.2 SMMUv3 model.
 *
 * Freestanding: hardware and memory only through struct prqd_platform (mmio_*, dma_alloc/free,
 * now_ns, relax), compiler headers and project headers only, all state in struct
 * smmuv3_cmdq, which the caller allocates (statically in the guest).
 *
 * Positions: the engine counts commands from 0 at init in 64 bits and never reuses a count;
 * the registers hold them modulo twice the queue size (index plus wrap bit). The hardware is
 * never more than one queue ahead of or behind software, so the counts are exact.
 *
 * Not thread-safe: the caller serialises every call on one struct smmuv3_cmdq.
 */
#ifndef PRQD_SMMUV3_CMDQ_H
#define PRQD_SMMUV3_CMDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prqdrain-platform.h"

/* One command, two 64-bit words. */
struct smmuv3_cmd {
	uint64_t dw[2];
};

/* ---- builders (pure; facts: pri-facts.md §2.3) -------------------------------------------- */

/* CMD_SYNC. @cs: SMMUV3_SYNC_CS_NONE, or SMMUV3_SYNC_CS_IRQ with an MSI write of
 * @msi_data to @msi_addr (0: no write). */
void smmuv3_cmd_sync(struct smmuv3_cmd *c, unsigned cs, uint32_t msi_data, uint64_t msi_addr);
/* CMD_PRI_RESP for @prg_index of @sid (with @ssid when @ssv). @resp is the command's own
 * encoding, SMMUV3_PRI_RESP_* (Success 0b10, Invalid 0b01, Failure 0b00). */
void smmuv3_cmd_pri_resp(struct smmuv3_cmd *c, uint32_t sid, bool ssv, uint32_t ssid,
			 uint16_t prg_index, unsigned resp);
/* CMD_ATC_INV of the whole address range of @sid (of @ssid when @ssv; without it every entry
 * of the stream, PASID-tagged ones included). */
void smmuv3_cmd_atc_inv_all(struct smmuv3_cmd *c, uint32_t sid, bool ssv, uint32_t ssid);
/* CMD_TLBI_NH_ASID: stage-1 entries of @asid in @vmid. */
void smmuv3_cmd_tlbi_nh_asid(struct smmuv3_cmd *c, uint16_t asid, uint16_t vmid);
/* CMD_TLBI_NH_ALL: every stage-1 entry of @vmid. */
void smmuv3_cmd_tlbi_nh_all(struct smmuv3_cmd *c, uint16_t vmid);
/* CMD_CFGI_CD: the context descriptor of @ssid of @sid (@leaf: only the leaf entry). */
void smmuv3_cmd_cfgi_cd(struct smmuv3_cmd *c, uint32_t sid, uint32_t ssid, bool leaf);
/* CMD_RESUME of the stalled transaction @stag of @sid. @action: SMMUV3_RESUME_RETRY or
 * SMMUV3_RESUME_ABORT. */
void smmuv3_cmd_resume(struct smmuv3_cmd *c, uint32_t sid, uint16_t stag, unsigned action);
/* CMD_STALL_TERM: every stalled transaction of @sid marked for termination. */
void smmuv3_cmd_stall_term(struct smmuv3_cmd *c, uint32_t sid);
/* The opcode of @c. */
static inline unsigned smmuv3_cmd_opcode(const struct smmuv3_cmd *c)
{
	return (unsigned)(c->dw[0] & 0xFF);
}

/* ---- the queue ---------------------------------------------------------------------------- */

/* A CMD_SYNC in flight: the batch it closes spans positions [start, pos]. Plain values, no
 * slot behind them: a ticket may be dropped at any time. */
struct smmuv3_sync {
	uint64_t start;
	uint64_t pos;
};

/* What smmuv3_cmdq_errors() found and did. Counts add up since the last call; positions and
 * opcode are those of the latest. */
struct smmuv3_cmdq_error {
	uint32_t ill;          /* illegal commands, each replaced by a CMD_SYNC */
	uint64_t ill_pos;      /* ... position of the latest */
	uint8_t ill_opcode;    /* ... and its opcode */
	uint32_t abt;          /* aborts reading a command (it is read again) */
	uint32_t atc_inv_sync; /* CMD_SYNCs whose ATC invalidations timed out */
	uint64_t atc_pos;      /* ... position of the latest */
	uint32_t msi_abt;      /* a CMD_SYNC's MSI write aborted (completion is polled anyway) */
	uint32_t unknown;      /* CMDQ_CONS.ERR values this engine does not know */
};

/* Errors remembered to fail the syncs of the batches they hit. */
#define SMMUV3_CMDQ_ERR_HISTORY 16u

struct smmuv3_cmdq {
	const struct prqd_platform *plat;
	unsigned log2size;     /* the queue holds 2^log2size commands */
	uint32_t entries;
	void *ring;            /* DMA memory of the queue */
	uint64_t ring_bus;
	size_t ring_bytes;
	uint64_t prod;         /* position of the next command software writes */
	uint64_t cons;         /* position of the next command the SMMU reads, as last seen */
	bool msi;              /* CMD_SYNCs complete by an MSI write too (IDR0.MSI) */
	volatile uint32_t *msi_word; /* DMA memory: the latest completed sync writes its value */
	uint64_t msi_bus;
	uint64_t err_pos[SMMUV3_CMDQ_ERR_HISTORY]; /* positions of failed commands, latest last */
	uint64_t err_count;    /* failed commands since init (ILL and ATC_INV_SYNC) */
	uint64_t abt_pos;      /* position of the last abort, and how often it repeated */
	unsigned abt_repeats;
	struct smmuv3_cmdq_error unreported; /* found while polling, not yet returned */
	uint64_t commands;     /* commands queued since init (for statistics) */
	uint64_t doorbells;    /* CMDQ_PROD writes since init */
	bool broken;           /* an unrecoverable error: every call fails with -EIO */
};

/*
 * smmuv3_cr0_update - set the CR0 bits in @mask to @value (others kept) and wait until CR0ACK
 * shows them, at most @timeout_ns. Returns 0 or -ETIMEDOUT.
 */
int smmuv3_cr0_update(const struct prqd_platform *plat, uint32_t mask, uint32_t value,
		      uint64_t timeout_ns);

/*
 * smmuv3_cmdq_init - allocate a queue of 2^@log2size commands (cut to IDR1.CMDQS) through
 * plat->dma_alloc, turn CMDQEN off if it was on, acknowledge a command error left by an
 * earlier owner, program CMDQ_BASE, PROD = CONS = 0 and enable the queue (CR0.CMDQEN, polled
 * in CR0ACK for at most @timeout_ns). Other CR0 bits are left as they are. With @use_msi and
 * IDR0.MSI, CMD_SYNCs also write a completion word.
 * Returns 0, -EINVAL (@log2size 0 or above 19, no platform), -EOPNOTSUPP (IDR1.CMDQS is 0),
 * -ENOMEM, -ETIMEDOUT. On failure nothing is held (smmuv3_cmdq_fini is harmless) and
 * submissions fail with -EIO.
 */
int smmuv3_cmdq_init(struct smmuv3_cmdq *q, const struct prqd_platform *plat, unsigned log2size,
		     bool use_msi, uint64_t timeout_ns);
/* smmuv3_cmdq_fini - turn CMDQEN off and free the memory. Syncs still in flight are
 * forgotten. */
void smmuv3_cmdq_fini(struct smmuv3_cmdq *q);

/*
 * smmuv3_cmdq_submit - queue @n commands and, when @ticket is non-NULL, a closing CMD_SYNC
 * whose ticket is returned; then one CMDQ_PROD write for the whole batch.
 * Returns 0, -EAGAIN (no room now: nothing queued; room comes as the SMMU consumes, or after
 * smmuv3_cmdq_errors cleared an error that holds the queue), -EINVAL (the batch can never
 * fit, or @n with no @cmds), -EIO (queue broken).
 */
int smmuv3_cmdq_submit(struct smmuv3_cmdq *q, const struct smmuv3_cmd *cmds, unsigned n,
		       struct smmuv3_sync *ticket);

/*
 * smmuv3_cmdq_poll - has the sync completed? Handles pending command errors first (their
 * report is kept for smmuv3_cmdq_errors).
 * Returns 0 (completed: every command of the batch was consumed and completed), -EINPROGRESS,
 * -EIO (completed, but a command of its batch was illegal and replaced, or the sync reported
 * an ATC invalidation time-out; or the queue is broken), -EINVAL (a position never queued).
 */
int smmuv3_cmdq_poll(struct smmuv3_cmdq *q, const struct smmuv3_sync *ticket);

/*
 * smmuv3_cmdq_wait - poll @ticket until it completes or @timeout_ns passes.
 * Returns what smmuv3_cmdq_poll returned last, -ETIMEDOUT instead of -EINPROGRESS.
 */
int smmuv3_cmdq_wait(struct smmuv3_cmdq *q, const struct smmuv3_sync *ticket,
		     uint64_t timeout_ns);

/*
 * smmuv3_cmdq_errors - handle a pending command error (GERROR.CMDQ_ERR differs from
 * GERRORN's) in place:
 *  - CERROR_ILL: the command at CONS is overwritten with a CMD_SYNC without signal, so the
 *    queue resumes with the next one; syncs of the batch holding it poll as -EIO. If the
 *    replacement itself is refused, the queue is broken.
 *  - CERROR_ABT: nothing is changed, the command is read again; the same abort three times
 *    in a row breaks the queue.
 *  - CERROR_ATC_INV_SYNC: the sync at CONS is read again (it has nothing left to wait for);
 *    it and the syncs of its batch poll as -EIO.
 * then GERRORN acknowledges CMDQ_ERR, which restarts the queue. GERROR.MSI_CMDQ_ABT is
 * counted and acknowledged too. What polling handled since the last call is reported here.
 * Returns 1 if anything was found (details in *@err, may be NULL), 0 if not.
 */
int smmuv3_cmdq_errors(struct smmuv3_cmdq *q, struct smmuv3_cmdq_error *err);

/* smmuv3_cmdq_read_cons - read CMDQ_CONS and return the consumer position (errors aside). */
uint64_t smmuv3_cmdq_read_cons(struct smmuv3_cmdq *q);

#endif /* PRQD_SMMUV3_CMDQ_H */
