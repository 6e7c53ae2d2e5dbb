/* SPDX-License-Identifier: MIT */
/*
 * The VT-d model's own register map, written from the VT-d specification facts collected
 * in ../shared/reference/pri-facts.md §1 (register table, ECAP bits, descriptor layouts),
 * not from the vtd backend's header: a wrong bit shared by the driver and the model that
 * tests it would never be caught. Names carry the VTDM_ prefix so the two can never mix.
 */
#ifndef PRQD_SIM_VTD_REGS_H
#define PRQD_SIM_VTD_REGS_H

/* Offsets in the unit's register window (VT-d §11.4): width noted per register. */
enum {
	VTDM_REG_VER = 0x000,   /* 32 */
	VTDM_REG_CAP = 0x008,   /* 64 */
	VTDM_REG_ECAP = 0x010,  /* 64 */
	VTDM_REG_GCMD = 0x018,  /* 32 */
	VTDM_REG_GSTS = 0x01C,  /* 32 */
	VTDM_REG_FSTS = 0x034,  /* 32, error bits write-1-to-clear */
	VTDM_REG_FECTL = 0x038, /* 32 */
	VTDM_REG_IQH = 0x080,   /* 64, invalidation queue head (hardware) */
	VTDM_REG_IQT = 0x088,   /* 64, invalidation queue tail (software) */
	VTDM_REG_IQA = 0x090,   /* 64 */
	VTDM_REG_ICS = 0x09C,   /* 32 */
	VTDM_REG_IECTL = 0x0A0, /* 32 */
	VTDM_REG_IQER = 0x0B0,  /* 64 */
	VTDM_REG_PQH = 0x0C0,   /* 64, page request queue head (software) */
	VTDM_REG_PQT = 0x0C8,   /* 64, page request queue tail (hardware) */
	VTDM_REG_PQA = 0x0D0,   /* 64 */
	VTDM_REG_PRS = 0x0DC,   /* 32, write-1-to-clear */
	VTDM_REG_PECTL = 0x0E0, /* 32 */
};

/* Extended capabilities: bit numbers. */
#define VTDM_ECAP_QI (1ull << 1)     /* queued invalidation */
#define VTDM_ECAP_DT (1ull << 2)     /* device-TLB invalidation */
#define VTDM_ECAP_PRS (1ull << 29)   /* page requests */
#define VTDM_ECAP_PASID (1ull << 40)
#define VTDM_ECAP_PDS (1ull << 42)   /* page-drain in the wait descriptor */
#define VTDM_ECAP_SMTS (1ull << 43)  /* scalable mode */

/* Global command and status: queued invalidation enable is bit 26 of both. */
#define VTDM_GCMD_QIE (1u << 26)
#define VTDM_GSTS_QIES (1u << 26)

/* Fault status: the invalidation errors and the legacy overflow placement. */
#define VTDM_FSTS_IQE (1u << 4)
#define VTDM_FSTS_ICE (1u << 5)
#define VTDM_FSTS_ITE (1u << 6)
#define VTDM_FSTS_PRO (1u << 7)

/* Invalidation queue address: 4 KiB-aligned base, DW (256-bit descriptors) at bit 11, the
 * queue size as a power of two of 4 KiB pages in bits 2:0. */
#define VTDM_IQA_DW (1ull << 11)
#define VTDM_IQA_QS_MASK 0x7ull

/* Invalidation completion status: wait completed (bit 0). */
#define VTDM_ICS_IWC (1u << 0)

/* Page request queue address: 4 KiB-aligned base, size in bits 2:0 (2^(PQS+7) entries of
 * 32 bytes each). */
#define VTDM_PQA_PQS_MASK 0x7ull
#define VTDM_PRQ_ENTRY_SIZE 32u

/* Page request status: pending (bit 0), overflow (bit 1). */
#define VTDM_PRS_PPR (1u << 0)
#define VTDM_PRS_PRO (1u << 1)

/* Descriptor type codes, bits 3:0 of the first quadword. */
enum {
	VTDM_DESC_IOTLB = 0x2,
	VTDM_DESC_DEVTLB = 0x3,
	VTDM_DESC_WAIT = 0x5,
	VTDM_DESC_PIOTLB = 0x6,
	VTDM_DESC_PASID_CACHE = 0x7,
	VTDM_DESC_PDEVTLB = 0x8,
	VTDM_DESC_PGRP_RESP = 0x9,
};

/* Invalidation wait flags in the first quadword: interrupt (4), status write (5), fence (6),
 * page-drain (7, reserved unless ECAP.PDS). */
#define VTDM_WAIT_IF (1ull << 4)
#define VTDM_WAIT_SW (1ull << 5)
#define VTDM_WAIT_FN (1ull << 6)
#define VTDM_WAIT_PD (1ull << 7)

/* PASID-cache invalidation granularity, bits 5:4 of the first quadword: a whole domain (0),
 * one PASID of a domain (1), everything (3); 2 is reserved. Domain id in bits 31:16, PASID in
 * bits 51:32. */
#define VTDM_PC_GRAN(qw0) ((unsigned)(((qw0) >> 4) & 3))
#define VTDM_PC_DOMAIN 0u
#define VTDM_PC_PASID 1u
#define VTDM_PC_GLOBAL 3u

/* Page group response codes (the PCIe PRG Response codes). */
#define VTDM_RC_SUCCESS 0x0
#define VTDM_RC_INVALID 0x1

#endif /* PRQD_SIM_VTD_REGS_H */
