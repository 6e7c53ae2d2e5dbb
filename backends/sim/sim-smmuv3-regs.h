/* SPDX-License-Identifier: MIT */
/*
 * The SMMUv3 model's own register map, written from the Arm SMMUv3 facts collected in
 * ../shared/reference/pri-facts.md §2 (register table, PRI queue record, commands, overflow),
 * not from the smmuv3 backend's header: a wrong bit shared by the driver and the model that
 * tests it would never be caught. Names carry the SMMUM_ prefix so the two can never mix.
 */
#ifndef PRQD_SIM_SMMUV3_REGS_H
#define PRQD_SIM_SMMUV3_REGS_H

/* Register page 1 starts 64 KiB after page 0: the event and PRI queues' PROD/CONS live there. */
#define SMMUM_PAGE1 0x10000u

/* Offsets in the register window; width noted per register. */
enum {
	SMMUM_IDR0 = 0x00,          /* 32 */
	SMMUM_IDR1 = 0x04,          /* 32 */
	SMMUM_IDR2 = 0x08,          /* 32 */
	SMMUM_IDR3 = 0x0C,          /* 32 */
	SMMUM_IDR4 = 0x10,          /* 32 */
	SMMUM_IDR5 = 0x14,          /* 32 */
	SMMUM_CR0 = 0x20,           /* 32 */
	SMMUM_CR0ACK = 0x24,        /* 32, read-only mirror of CR0's enables */
	SMMUM_CR1 = 0x28,           /* 32 */
	SMMUM_CR2 = 0x2C,           /* 32 */
	SMMUM_IRQ_CTRL = 0x50,      /* 32 */
	SMMUM_IRQ_CTRLACK = 0x54,   /* 32 */
	SMMUM_GERROR = 0x60,        /* 32, read-only: a bit differing from GERRORN is active */
	SMMUM_GERRORN = 0x64,       /* 32, software toggles a bit to match GERROR: acknowledged */
	SMMUM_STRTAB_BASE = 0x80,   /* 64 */
	SMMUM_STRTAB_BASE_CFG = 0x88, /* 32 */
	SMMUM_CMDQ_BASE = 0x90,     /* 64 */
	SMMUM_CMDQ_PROD = 0x98,     /* 32, software's */
	SMMUM_CMDQ_CONS = 0x9C,     /* 32, the SMMU's (plus ERR) */
	SMMUM_EVTQ_BASE = 0xA0,     /* 64 */
	SMMUM_EVTQ_PROD = SMMUM_PAGE1 + 0xA8, /* 32, the SMMU's (plus OVFLG) */
	SMMUM_EVTQ_CONS = SMMUM_PAGE1 + 0xAC, /* 32, software's (plus OVACKFLG) */
	SMMUM_PRIQ_BASE = 0xC0,     /* 64 */
	SMMUM_PRIQ_PROD = SMMUM_PAGE1 + 0xC8, /* 32, the SMMU's (plus OVFLG) */
	SMMUM_PRIQ_CONS = SMMUM_PAGE1 + 0xCC, /* 32, software's (plus OVACKFLG) */
	SMMUM_PRIQ_IRQ_CFG0 = 0xD0, /* 64, MSI address */
	SMMUM_PRIQ_IRQ_CFG1 = 0xD8, /* 32, MSI data */
	SMMUM_PRIQ_IRQ_CFG2 = 0xDC, /* 32, MSI attributes */
};

/* IDR0 fields. */
#define SMMUM_IDR0_S1P (1u << 1)
#define SMMUM_IDR0_TTF_AARCH64 (2u << 2) /* [3:2] */
#define SMMUM_IDR0_COHACC (1u << 4)
#define SMMUM_IDR0_ATS (1u << 10)
#define SMMUM_IDR0_ASID16 (1u << 12)
#define SMMUM_IDR0_MSI (1u << 13)
#define SMMUM_IDR0_SEV (1u << 14)
#define SMMUM_IDR0_PRI (1u << 16)
#define SMMUM_IDR0_STALL_MODEL_SHIFT 24 /* [25:24] */

/* STALL_MODEL values. */
enum {
	SMMUM_STALL_AND_TERM = 0, /* both models per stream */
	SMMUM_STALL_TERM_ONLY = 1, /* terminate only: no stalls */
	SMMUM_STALL_FORCED = 2,   /* every fault of a stalling stream stalls */
};

/* IDR1 fields: log2 of the largest queue of each kind, and the ID widths. */
#define SMMUM_IDR1_SIDSIZE_SHIFT 0   /* [5:0] */
#define SMMUM_IDR1_SSIDSIZE_SHIFT 6  /* [10:6] */
#define SMMUM_IDR1_PRIQS_SHIFT 11    /* [15:11] */
#define SMMUM_IDR1_EVTQS_SHIFT 16    /* [20:16] */
#define SMMUM_IDR1_CMDQS_SHIFT 21    /* [25:21] */
#define SMMUM_IDR1_QS_MASK 0x1Fu

/* IDR3: PASID in overflow auto-responses decided by the request alone (STE.PPAR ignored). */
#define SMMUM_IDR3_PPS (1u << 5)

/* IDR5: 48-bit output addresses (OAS [2:0] = 5) and 4 KiB granules (bit 4). */
#define SMMUM_IDR5_OAS_48 5u
#define SMMUM_IDR5_GRAN4K (1u << 4)

/* CR0 / CR0ACK enables. */
#define SMMUM_CR0_SMMUEN (1u << 0)
#define SMMUM_CR0_PRIQEN (1u << 1)
#define SMMUM_CR0_EVTQEN (1u << 2)
#define SMMUM_CR0_CMDQEN (1u << 3)
#define SMMUM_CR0_ATSCHK (1u << 4)
#define SMMUM_CR0_MASK 0x1Fu

/* IRQ_CTRL enables. */
#define SMMUM_IRQ_GERROR (1u << 0)
#define SMMUM_IRQ_PRIQ (1u << 1)
#define SMMUM_IRQ_EVTQ (1u << 2)
#define SMMUM_IRQ_MASK 0x7u

/* GERROR / GERRORN bits the model raises. */
#define SMMUM_GERROR_CMDQ_ERR (1u << 0)
#define SMMUM_GERROR_PRIQ_ABT_ERR (1u << 3)

/* Queue BASE registers: [51:5] address, [4:0] log2 of the number of entries. */
#define SMMUM_Q_BASE_ADDR_MASK 0x000FFFFFFFFFFFE0ull
#define SMMUM_Q_BASE_LOG2SIZE_MASK 0x1Full

/* PROD / CONS: index and wrap in the low bits (the wrap just above the index), the overflow
 * flag (PROD) and its acknowledgement (CONS) in bit 31, command errors in CMDQ_CONS[30:24]. */
#define SMMUM_Q_PTR_MASK 0xFFFFFu /* [19:0] */
#define SMMUM_Q_OVF (1u << 31)
#define SMMUM_CMDQ_CONS_ERR_SHIFT 24
#define SMMUM_CMDQ_CONS_ERR_MASK (0x7Fu << SMMUM_CMDQ_CONS_ERR_SHIFT)

/* Command errors (CMDQ_CONS.ERR). */
enum {
	SMMUM_CERROR_NONE = 0,
	SMMUM_CERROR_ILL = 1,
	SMMUM_CERROR_ABT = 2,
	SMMUM_CERROR_ATC_INV_SYNC = 3,
};

/* Entry sizes in bytes. */
#define SMMUM_CMD_SIZE 16u
#define SMMUM_EVT_SIZE 32u
#define SMMUM_PRI_SIZE 16u

/* Command opcodes (dw0 [7:0]). */
enum {
	SMMUM_OP_PREFETCH_CONFIG = 0x01,
	SMMUM_OP_PREFETCH_ADDR = 0x02,
	SMMUM_OP_CFGI_STE = 0x03,
	SMMUM_OP_CFGI_ALL = 0x04,
	SMMUM_OP_CFGI_CD = 0x05,
	SMMUM_OP_CFGI_CD_ALL = 0x06,
	SMMUM_OP_TLBI_NH_ALL = 0x10,
	SMMUM_OP_TLBI_NH_ASID = 0x11,
	SMMUM_OP_TLBI_NH_VA = 0x12,
	SMMUM_OP_TLBI_EL2_ALL = 0x20,
	SMMUM_OP_TLBI_EL2_ASID = 0x21,
	SMMUM_OP_TLBI_EL2_VA = 0x22,
	SMMUM_OP_TLBI_S12_VMALL = 0x28,
	SMMUM_OP_TLBI_S2_IPA = 0x2A,
	SMMUM_OP_TLBI_NSNH_ALL = 0x30,
	SMMUM_OP_ATC_INV = 0x40,
	SMMUM_OP_PRI_RESP = 0x41,
	SMMUM_OP_RESUME = 0x44,
	SMMUM_OP_STALL_TERM = 0x45,
	SMMUM_OP_SYNC = 0x46,
};

/* Fields common to commands: dw0. */
#define SMMUM_CMD_SSEC (1ull << 10)     /* Secure stream: refused on this (Non-secure) queue */
#define SMMUM_CMD_SSV (1ull << 11)      /* SubstreamID valid */
#define SMMUM_CMD_SSID_SHIFT 12         /* [31:12] */
#define SMMUM_CMD_SSID_MASK 0xFFFFFull
#define SMMUM_CMD_SID_SHIFT 32          /* [63:32] */

/* CMD_ATC_INV dw1: [5:0] Size (span 4 KiB * 2^Size), [63:12] address. */
#define SMMUM_ATC_SIZE_MASK 0x3Full

/* CMD_PRI_RESP dw1: [8:0] PRG index, [13:12] Resp (Arm's encoding, not PCIe's). */
#define SMMUM_PRI_RESP_PRGI_MASK 0x1FFull
#define SMMUM_PRI_RESP_SHIFT 12
enum {
	SMMUM_RESP_FAILURE = 0, /* PCIe Response Failure 1111 */
	SMMUM_RESP_INVALID = 1, /* PCIe Invalid Request 0001 */
	SMMUM_RESP_SUCCESS = 2, /* PCIe Success 0000 */
	SMMUM_RESP_RESERVED = 3, /* CERROR_ILL */
};

/* CMD_RESUME: dw0 [13:12] action (bit 12 retry, bit 13 abort; both clear: terminate),
 * dw1 [15:0] STAG. */
#define SMMUM_RESUME_ACTION_SHIFT 12
#define SMMUM_RESUME_RETRY 1u
#define SMMUM_RESUME_ABORT 2u
#define SMMUM_RESUME_STAG_MASK 0xFFFFull

/* CMD_SYNC dw0: [13:12] CS (completion signal), [63:32] MSI data; dw1 [51:2] MSI address. */
#define SMMUM_SYNC_CS_SHIFT 12
enum {
	SMMUM_SYNC_CS_NONE = 0,
	SMMUM_SYNC_CS_IRQ = 1, /* an MSI write where IDR0.MSI */
	SMMUM_SYNC_CS_SEV = 2,
};
#define SMMUM_SYNC_MSIADDR_MASK 0x000FFFFFFFFFFFFCull

/* PRI queue record, dw0: [31:0] StreamID, [51:32] SubstreamID, 58 Priv, 59 Exec, 60 Read,
 * 61 Write, 62 Last, 63 SSV; dw1: [8:0] PRG index, [63:12] page address. */
#define SMMUM_PRIQ0_SSID_SHIFT 32
#define SMMUM_PRIQ0_PRIV (1ull << 58)
#define SMMUM_PRIQ0_EXEC (1ull << 59)
#define SMMUM_PRIQ0_READ (1ull << 60)
#define SMMUM_PRIQ0_WRITE (1ull << 61)
#define SMMUM_PRIQ0_LAST (1ull << 62)
#define SMMUM_PRIQ0_SSV (1ull << 63)
#define SMMUM_PRIQ1_PRGI_MASK 0x1FFull
#define SMMUM_PRIQ1_ADDR_MASK 0xFFFFFFFFFFFFF000ull

/* Event record (32 bytes), dw0: [7:0] event ID, 11 SSV, [31:12] SubstreamID, [63:32]
 * StreamID; dw1: [15:0] STAG, 31 Stall, 33 PnU, 34 InD, 35 RnW; dw2: the input address. */
#define SMMUM_EVT_F_TRANSLATION 0x10u
#define SMMUM_EVT0_SSV (1ull << 11)
#define SMMUM_EVT0_SSID_SHIFT 12
#define SMMUM_EVT0_SID_SHIFT 32
#define SMMUM_EVT1_STALL (1ull << 31)
#define SMMUM_EVT1_PNU (1ull << 33)
#define SMMUM_EVT1_IND (1ull << 34)
#define SMMUM_EVT1_RNW (1ull << 35)

#endif /* PRQD_SIM_SMMUV3_REGS_H */
