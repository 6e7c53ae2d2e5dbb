/* SPDX-License-Identifier: MIT */
/*
 * Arm SMMUv3 register offsets, command opcodes and record fields used by the smmuv3 backend
 * and its command queue engine. Facts: ../shared/reference/pri-facts.md §2 (the Arm SMMUv3
 * specification, Linux's arm-smmu-v3.h field positions, QEMU's command enum). The simulator's
 * SMMUv3 model keeps a register map of its own; this header is the driver's.
 * Freestanding: constants only.
 */
#ifndef PRQD_SMMUV3_REGS_H
#define PRQD_SMMUV3_REGS_H

/* ---- registers (offsets in the SMMU's window; page 1 starts at 64 KiB) -------------------- */

#define SMMUV3_REG_IDR0 0x00
#define SMMUV3_REG_IDR1 0x04
#define SMMUV3_REG_IDR3 0x0C
#define SMMUV3_REG_IDR5 0x14
#define SMMUV3_REG_CR0 0x20
#define SMMUV3_REG_CR0ACK 0x24
#define SMMUV3_REG_GERROR 0x60
#define SMMUV3_REG_GERRORN 0x64
#define SMMUV3_REG_CMDQ_BASE 0x90  /* 64-bit */
#define SMMUV3_REG_CMDQ_PROD 0x98
#define SMMUV3_REG_CMDQ_CONS 0x9C
#define SMMUV3_REG_EVTQ_BASE 0xA0  /* 64-bit */
#define SMMUV3_REG_EVTQ_PROD 0x100A8
#define SMMUV3_REG_EVTQ_CONS 0x100AC
#define SMMUV3_REG_PRIQ_BASE 0xC0  /* 64-bit */
#define SMMUV3_REG_PRIQ_PROD 0x100C8
#define SMMUV3_REG_PRIQ_CONS 0x100CC

/* IDR0 */
#define SMMUV3_IDR0_TTF_SHIFT 2 /* [3:2]: translation table formats; 0 is reserved */
#define SMMUV3_IDR0_TTF_MASK 0x3u
#define SMMUV3_IDR0_ATS (1u << 10)
#define SMMUV3_IDR0_MSI (1u << 13)
#define SMMUV3_IDR0_PRI (1u << 16)
#define SMMUV3_IDR0_STALL_SHIFT 24 /* [25:24] STALL_MODEL */
#define SMMUV3_IDR0_STALL_MASK 0x3u
#define SMMUV3_STALL_MODEL_STALL 0u      /* stall and terminate */
#define SMMUV3_STALL_MODEL_TERMINATE 1u  /* terminate only: no stalls */
#define SMMUV3_STALL_MODEL_FORCE 2u      /* stall forced */

/* IDR1: log2 of the largest queue each queue base accepts. */
#define SMMUV3_IDR1_PRIQS_SHIFT 11 /* [15:11] */
#define SMMUV3_IDR1_EVTQS_SHIFT 16 /* [20:16] */
#define SMMUV3_IDR1_CMDQS_SHIFT 21 /* [25:21] */
#define SMMUV3_IDR1_QS_MASK 0x1Fu

/* IDR3 */
#define SMMUV3_IDR3_PPS (1u << 5) /* overflow auto-responses carry the request's PASID */

/* IDR5 */
#define SMMUV3_IDR5_STALL_MAX_SHIFT 16 /* [31:16]: stalled transactions outstanding at most */

/* CR0 / CR0ACK */
#define SMMUV3_CR0_SMMUEN (1u << 0)
#define SMMUV3_CR0_PRIQEN (1u << 1)
#define SMMUV3_CR0_EVTQEN (1u << 2)
#define SMMUV3_CR0_CMDQEN (1u << 3)

/* GERROR / GERRORN: an error is active while its bits differ; GERRORN acknowledges. */
#define SMMUV3_GERROR_CMDQ_ERR (1u << 0)
#define SMMUV3_GERROR_EVTQ_ABT (1u << 2)
#define SMMUV3_GERROR_PRIQ_ABT (1u << 3)
#define SMMUV3_GERROR_MSI_CMDQ_ABT (1u << 4)
#define SMMUV3_GERROR_MSI_EVTQ_ABT (1u << 5)
#define SMMUV3_GERROR_MSI_PRIQ_ABT (1u << 6)
#define SMMUV3_GERROR_MSI_GERROR_ABT (1u << 7)
#define SMMUV3_GERROR_SFM (1u << 8)

/* Queue base registers: address [51:5], LOG2SIZE [4:0], RA/WA bit 62. */
#define SMMUV3_Q_BASE_ADDR_MASK 0x000FFFFFFFFFFFE0ull
#define SMMUV3_Q_BASE_LOG2SIZE_MASK 0x1Full
#define SMMUV3_Q_BASE_RWA (1ull << 62)

/* Queue PROD/CONS: index in [log2size-1:0], the wrap bit just above it. */
#define SMMUV3_Q_OVF (1u << 31)        /* PROD.OVFLG, CONS.OVACKFLG */
#define SMMUV3_CMDQ_CONS_ERR_SHIFT 24  /* CMDQ_CONS [30:24]: the error that stopped the queue */
#define SMMUV3_CMDQ_CONS_ERR_MASK 0x7Fu

/* CMDQ_CONS.ERR values. */
#define SMMUV3_CERROR_NONE 0u
#define SMMUV3_CERROR_ILL 1u          /* illegal command: CONS points at it */
#define SMMUV3_CERROR_ABT 2u          /* abort reading the command */
#define SMMUV3_CERROR_ATC_INV_SYNC 3u /* a CMD_SYNC saw an ATC invalidation time out */

/* ---- commands (16 bytes; opcode dw0 [7:0]) ------------------------------------------------ */

#define SMMUV3_CMD_SIZE 16u
#define SMMUV3_OP_CFGI_STE 0x03
#define SMMUV3_OP_CFGI_CD 0x05
#define SMMUV3_OP_TLBI_NH_ALL 0x10
#define SMMUV3_OP_TLBI_NH_ASID 0x11
#define SMMUV3_OP_ATC_INV 0x40
#define SMMUV3_OP_PRI_RESP 0x41
#define SMMUV3_OP_RESUME 0x44
#define SMMUV3_OP_STALL_TERM 0x45
#define SMMUV3_OP_SYNC 0x46

/* Common fields. */
#define SMMUV3_CMD_SSV (1ull << 11)         /* dw0: SubstreamID valid */
#define SMMUV3_CMD_SSID_SHIFT 12            /* dw0 [31:12] */
#define SMMUV3_CMD_SID_SHIFT 32             /* dw0 [63:32] */
#define SMMUV3_SSID_MASK 0xFFFFFu

/* CMD_TLBI_*: VMID dw0 [47:32], ASID dw0 [63:48]. */
#define SMMUV3_TLBI_VMID_SHIFT 32
#define SMMUV3_TLBI_ASID_SHIFT 48

/* CMD_ATC_INV: Size dw1 [5:0] (span 4 KiB << Size), address dw1 [63:12]. */
#define SMMUV3_ATC_SIZE_ALL 52u

/* CMD_PRI_RESP: PRGIndex dw1 [8:0], Resp dw1 [13:12] -- not the PCIe wire code. */
#define SMMUV3_PRI_RESP_SHIFT 12
#define SMMUV3_PRI_RESP_FAILURE 0u
#define SMMUV3_PRI_RESP_INVALID 1u
#define SMMUV3_PRI_RESP_SUCCESS 2u

/* CMD_RESUME: action dw0 [13:12] (Ac bit 12: retry; Ab bit 13: abort), STAG dw1 [15:0]. */
#define SMMUV3_RESUME_ACTION_SHIFT 12
#define SMMUV3_RESUME_RETRY 1u
#define SMMUV3_RESUME_ABORT 2u

/* CMD_SYNC: CS dw0 [13:12], MSH [23:22], MSIAttr [27:24], MSIData [63:32];
 * MSIAddress dw1 [51:2]. */
#define SMMUV3_SYNC_CS_SHIFT 12
#define SMMUV3_SYNC_CS_NONE 0u
#define SMMUV3_SYNC_CS_IRQ 1u /* signal: the MSI write (or a wired interrupt) */
#define SMMUV3_SYNC_MSH_SHIFT 22
#define SMMUV3_SYNC_MSH_ISH 3u
#define SMMUV3_SYNC_MSIATTR_SHIFT 24
#define SMMUV3_SYNC_MSIATTR_OIWB 0xFu
#define SMMUV3_SYNC_MSIADDR_MASK 0x000FFFFFFFFFFFFCull

/* ---- PRI queue record (16 bytes) ---------------------------------------------------------- */

#define SMMUV3_PRIQ_ENTRY_SIZE 16u
#define SMMUV3_PRIQ0_SSID_SHIFT 32 /* [51:32] */
#define SMMUV3_PRIQ0_PRIV (1ull << 58)
#define SMMUV3_PRIQ0_EXEC (1ull << 59)
#define SMMUV3_PRIQ0_READ (1ull << 60)
#define SMMUV3_PRIQ0_WRITE (1ull << 61)
#define SMMUV3_PRIQ0_LAST (1ull << 62)
#define SMMUV3_PRIQ0_SSV (1ull << 63)
#define SMMUV3_PRIQ0_RES0 0x03F0000000000000ull /* [57:52] */
#define SMMUV3_PRIQ1_PRGI_MASK 0x1FFull         /* [8:0] */
#define SMMUV3_PRIQ1_RES0 0xE00ull              /* [11:9] */
#define SMMUV3_PAGE_MASK 0xFFFull

/* ---- event queue record (32 bytes) -------------------------------------------------------- */

#define SMMUV3_EVTQ_ENTRY_SIZE 32u
#define SMMUV3_EVT0_ID_MASK 0xFFull /* dw0 [7:0] */
#define SMMUV3_EVT0_SSV (1ull << 11)
#define SMMUV3_EVT1_STAG_MASK 0xFFFFull /* dw1 [15:0] */
#define SMMUV3_EVT1_STALL (1ull << 31)
#define SMMUV3_EVT1_PNU (1ull << 33) /* privileged */
#define SMMUV3_EVT1_IND (1ull << 34) /* instruction fetch */
#define SMMUV3_EVT1_RNW (1ull << 35) /* read */
/* The faults that may stall (translation, address size, access, permission). */
#define SMMUV3_EVT_F_TRANSLATION 0x10u
#define SMMUV3_EVT_F_PERMISSION 0x13u

#endif /* PRQD_SMMUV3_REGS_H */
