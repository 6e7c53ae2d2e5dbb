/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d register offsets and bit fields used by the vtd backend and the VT-d model.
 * Facts: ../shared/reference/pri-facts.md §1 (Linux intel-iommu.h, QEMU intel_iommu_internal.h,
 * Intel datasheets). Freestanding: constants only.
 */
#ifndef PRQD_VTD_REGS_H
#define PRQD_VTD_REGS_H

/* Register offsets in the DMAR unit's window. */
#define VTD_REG_VER 0x00   /* 32-bit */
#define VTD_REG_CAP 0x08   /* 64-bit */
#define VTD_REG_ECAP 0x10  /* 64-bit */
#define VTD_REG_GCMD 0x18  /* 32-bit */
#define VTD_REG_GSTS 0x1C  /* 32-bit */
#define VTD_REG_FSTS 0x34  /* 32-bit */
#define VTD_REG_FECTL 0x38 /* 32-bit */
#define VTD_REG_IQH 0x80   /* 64-bit */
#define VTD_REG_IQT 0x88   /* 64-bit */
#define VTD_REG_IQA 0x90   /* 64-bit */
#define VTD_REG_ICS 0x9C   /* 32-bit */
#define VTD_REG_IECTL 0xA0 /* 32-bit */
#define VTD_REG_IQER 0xB0  /* 64-bit */
#define VTD_REG_PQH 0xC0   /* 64-bit */
#define VTD_REG_PQT 0xC8   /* 64-bit */
#define VTD_REG_PQA 0xD0   /* 64-bit */
#define VTD_REG_PRS 0xDC   /* 32-bit */
#define VTD_REG_PECTL 0xE0 /* 32-bit */

/* ECAP */
#define VTD_ECAP_QI (1ull << 1)
#define VTD_ECAP_DT (1ull << 2)
#define VTD_ECAP_PRS (1ull << 29)
#define VTD_ECAP_PASID (1ull << 40)
#define VTD_ECAP_PDS (1ull << 42)
#define VTD_ECAP_SMTS (1ull << 43)

/* GCMD / GSTS */
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GSTS_QIES (1u << 26)

/* FSTS (RW1C error bits) */
#define VTD_FSTS_IQE (1u << 4) /* invalidation queue error: IQH points at the bad descriptor */
#define VTD_FSTS_ICE (1u << 5) /* invalidation completion error */
#define VTD_FSTS_ITE (1u << 6) /* device-TLB invalidation time-out */
#define VTD_FSTS_PRO (1u << 7) /* page request overflow (older placement) */

/* IQA: base [63:12], DW (256-bit descriptors) bit 11, QS [2:0] = 2^QS 4-KiB pages. */
#define VTD_IQA_DW (1ull << 11)
#define VTD_IQA_QS_MASK 0x7ull

/* ICS */
#define VTD_ICS_IWC (1u << 0)

/* IQER: IQEI [3:0], ITESID [47:32], ICESID [63:48]. */
#define VTD_IQER_IQEI(v) ((unsigned)((v) & 0xF))
#define VTD_IQER_ITESID(v) ((uint16_t)((v) >> 32))
#define VTD_IQER_ICESID(v) ((uint16_t)((v) >> 48))

/* PQA: base [63:12], PQS [2:0]: 2^(PQS+7) 32-byte entries (scalable mode). */
#define VTD_PQA_PQS_MASK 0x7ull
#define VTD_PRQ_ENTRY_SIZE 32u

/* PRS (RW1C) */
#define VTD_PRS_PPR (1u << 0)
#define VTD_PRS_PRO (1u << 1)

/* Descriptor types: low nibble of QW0. */
#define VTD_DESC_IOTLB 0x2
#define VTD_DESC_DEVTLB 0x3
#define VTD_DESC_WAIT 0x5
#define VTD_DESC_PIOTLB 0x6
#define VTD_DESC_PASID_CACHE 0x7
#define VTD_DESC_PDEVTLB 0x8
#define VTD_DESC_PGRP_RESP 0x9

/* Invalidation wait (type 5) QW0 flags; status data in QW0 [63:32], address in QW1 [63:2]. */
#define VTD_WAIT_IF (1ull << 4)
#define VTD_WAIT_SW (1ull << 5)
#define VTD_WAIT_FN (1ull << 6)
#define VTD_WAIT_PD (1ull << 7) /* reserved unless ECAP.PDS */

/* PASID-cache invalidation (type 7) granularity, QW0 [5:4]: every PASID of a domain, or one
 * PASID of a domain (DID [31:16], PASID [51:32]). */
#define VTD_PC_GRAN_DOMAIN 0x0
#define VTD_PC_GRAN_PASID 0x1

/* Page group response (type 9) response codes (RC, QW0 [15:12]). */
#define VTD_RC_SUCCESS 0x0
#define VTD_RC_INVALID 0x1
#define VTD_RC_FAILURE 0xF

#endif /* PRQD_VTD_REGS_H */
