/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain-pci.h
 * @brief prqdrain-pci: the Linux libpci helpers of libprqdrain.
 *
 * Every hosted build of libprqdrain has these functions: in a build without libpci
 * (configure --without-libpci, or libpci not found) prqd_pci_open() returns -EOPNOTSUPP, and
 * the others, which need its handle, cannot be reached; the exported symbols are the same in
 * every build.
 *
 * They find a function's PRI, PASID and ATS extended capabilities, decode every field, fill a
 * struct prqd_dev_info for prqd_dev_add(), and drive PRI the way a user-space driver must
 * (stop and wait for Stopped, reset, enable with an allocation, clear the error bits). They
 * read configuration space through libpci, either live (sysfs, as lspci does) or from a text
 * dump made by `lspci -xxxx` (libpci's "dump" access method, lspci's -F).
 *
 * Conventions (those of <prqdrain.h>, plus):
 *  - This header is for Linux user space only: errors are negative errno.h values.
 *  - libpci never exits the process through these functions: its fatal errors (unreadable or
 *    malformed dump, no access method) come back as error returns, and the message is logged
 *    at PRQD_LOG_ERR through the context given to prqd_pci_open() (silent without one).
 *  - Locking: a struct prqd_pci and its devices must not be used from two threads at once
 *    (libpci's access object is not thread-safe). Separate handles are independent.
 *  - Reading decodes the registers as they are at the time of the call; nothing is cached.
 */
#ifndef PRQDRAIN_PCI_H
#define PRQDRAIN_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup prqdrain_pci PCI helpers: find, decode and drive PRI, PASID and ATS through libpci
 * @{
 */

/** A view of the PCI devices: live, or one dump file. Opaque. */
struct prqd_pci;
/** One PCI function of that view; belongs to its struct prqd_pci and is valid until
 * prqd_pci_close(). Opaque. */
struct prqd_pci_dev;

/** @name PCIe extended capability IDs */
/** @{ */
#define PRQD_PCI_EXT_CAP_ATS 0x0f   /**< Address Translation Services */
#define PRQD_PCI_EXT_CAP_PRI 0x13   /**< Page Request Interface */
#define PRQD_PCI_EXT_CAP_PASID 0x1b /**< Process Address Space ID */
/** @} */

/** ATS capability (offset 0 when absent). */
struct prqd_pci_ats {
	uint16_t offset;          /**< in configuration space; 0: no ATS capability */
	uint8_t version;          /**< capability version (header bits 19:16) */
	uint16_t cap;             /**< ATS Capability register, raw */
	uint16_t ctrl;            /**< ATS Control register, raw */
	uint8_t inv_queue_depth_field; /**< Invalidate Queue Depth as encoded (0 means 32) */
	uint8_t inv_queue_depth;  /**< decoded: 1..32 */
	bool page_aligned;        /**< Page Aligned Request */
	bool global_invalidate;   /**< Global Invalidate Supported */
	uint8_t stu;              /**< Smallest Translation Unit: 2^stu * 4 KiB */
	bool enable;              /**< ATS Enable */
};

/** PASID capability (offset 0 when absent). */
struct prqd_pci_pasid {
	uint16_t offset;          /**< in configuration space; 0: no PASID capability */
	uint8_t version;          /**< capability version */
	uint16_t cap;             /**< PASID Capability register, raw */
	uint16_t ctrl;            /**< PASID Control register, raw */
	bool exec_supported;      /**< Execute Permission Supported */
	bool priv_supported;      /**< Privileged Mode Supported */
	uint8_t max_width;        /**< Max PASID Width in bits (PASIDs < 2^max_width), as read:
				   *   21..31 are reserved (prqd_pci_dev_info() refuses them) */
	bool enable;              /**< PASID Enable */
	bool exec_enable;         /**< Execute Permission Enable */
	bool priv_enable;         /**< Privileged Mode Enable */
};

/** PRI (Page Request Interface) capability (offset 0 when absent). */
struct prqd_pci_pri {
	uint16_t offset;          /**< in configuration space; 0: no PRI capability */
	uint8_t version;          /**< capability version */
	uint16_t ctrl;            /**< Control register, raw */
	uint16_t status;          /**< Status register, raw */
	bool enable;              /**< PRI Enable */
	bool reset;               /**< write-only in hardware: reads 0 on a conforming device */
	bool response_failure;    /**< RF: a response with Response Failure arrived (RW1C) */
	bool unexpected_prg_index; /**< UPRGI: a response named a PRG not outstanding (RW1C) */
	bool stopped;             /**< every issued request has completed (meaningful with !enable) */
	bool prg_resp_pasid_required; /**< responses must carry a PASID when the request had one */
	uint32_t capacity;        /**< Outstanding Page Request Capacity */
	uint32_t allocation;      /**< Outstanding Page Request Allocation (0: not programmed) */
};

/** Everything prqd_pci_dev_caps() reports about one function. */
struct prqd_pci_caps {
	uint32_t domain;          /**< PCI domain (segment) */
	uint8_t bus;              /**< bus number */
	uint8_t dev;              /**< device number */
	uint8_t func;             /**< function number */
	uint16_t vendor_id;       /**< Vendor ID */
	uint16_t device_id;       /**< Device ID */
	struct prqd_pci_ats ats;  /**< ATS capability */
	struct prqd_pci_pasid pasid; /**< PASID capability */
	struct prqd_pci_pri pri;  /**< PRI capability */
};

/**
 * @brief Scan the PCI devices.
 *
 * - Ownership: the caller owns the handle and frees it with prqd_pci_close(); a reference to
 *   @p ctx is held until then.
 * - Locking: none (the new handle is the caller's alone).
 * - Blocking: reads the dump file or sysfs; never waits on a device.
 * - Since: 0.1
 *
 * @param ctx for messages (libpci's errors at PRQD_LOG_ERR, its warnings at
 *        PRQD_LOG_WARNING), or NULL for none.
 * @param dump_file NULL for the live system (libpci picks its access method, sysfs on Linux),
 *        or a file written by `lspci -xxxx` (the capabilities need the full 4096 bytes;
 *        `lspci -vvv -xxxx` output is fine: the text lines are ignored).
 * @param out receives the handle.
 * @return 0; -ENOENT or another open(2) error when the dump file cannot be opened; -EBADMSG
 *         when it is malformed (a bad hex line, a line over 253 characters or without its
 *         newline, a NUL byte in a line, a byte at an offset past 4095 however large the
 *         offset, a device number past 31 or a function number past 7); -EIO when it cannot
 *         be read; -ENODEV when libpci has no working access method; -ENOMEM; -EOPNOTSUPP in
 *         a build without libpci. A dump file is checked in full before libpci reads it
 *         (libpci's own parser trusts large offsets), with the line at fault in the message;
 *         it must not change while prqd_pci_open() runs.
 */
int prqd_pci_open(struct prqd_ctx *ctx, const char *dump_file, struct prqd_pci **out);

/**
 * @brief Free the handle and all its devices.
 *
 * - Ownership: the handle, its devices and its context reference are released.
 * - Locking: none; no other thread may use the handle.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param pci the handle, or NULL.
 */
void prqd_pci_close(struct prqd_pci *pci);

/**
 * @brief Iterate the devices in (domain, bus, device, function) order.
 *
 * - Ownership: the device belongs to @p pci.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param pci the handle.
 * @param prev the previous device, or NULL for the first.
 * @return The next device, or NULL after the last.
 */
struct prqd_pci_dev *prqd_pci_dev_next(struct prqd_pci *pci, struct prqd_pci_dev *prev);

/**
 * @brief Whether @p dev matches a slot filter in lspci's -s syntax
 * ("[[domain:]bus:][device][.func]", parts may be empty or "*").
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param slot the filter.
 * @return 1 (match); 0 (no match); -EINVAL (the filter does not parse).
 */
int prqd_pci_dev_match(struct prqd_pci_dev *dev, const char *slot);

/**
 * @brief Read and decode the device's identity and its ATS, PASID and PRI capabilities.
 *
 * A capability not present has offset 0 and every field 0.
 *
 * - Ownership: @p out is the caller's.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: configuration space reads only.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param out receives the capabilities.
 * @param size sizeof(*out) as the caller knows it (at least the 0.1 size).
 * @return 0; -EINVAL (@p size too small); -EIO (configuration space ends inside a
 *         capability, as in a truncated dump, or a read failed); -ENODEV (the device reads
 *         as all ones: gone).
 */
int prqd_pci_dev_caps(struct prqd_pci_dev *dev, struct prqd_pci_caps *out, size_t size);

/**
 * @brief Fill a struct prqd_dev_info for prqd_dev_add().
 *
 * Fills the requester ID (bus, device, function; the PCI domain is not part of it: the caller
 * picks the IOMMU of that domain), PRI capacity and allocation, PRG Response PASID Required,
 * Max PASID Width (0 without a PASID capability) and the ATS Invalidate Queue Depth as
 * encoded (0 means 32; also 0 without ATS). uses_stop_markers is device-specific, not in
 * configuration space: it is set false.
 *
 * - Ownership: @p info is the caller's; its size field must be set by the caller, as for
 *   prqd_dev_add().
 * - Locking: none; one thread at a time per handle.
 * - Blocking: configuration space reads only.
 * - Since: 0.1
 *
 * @param dev the device.
 * @param info receives the description.
 * @return 0; -EINVAL (info->size too small); -EOPNOTSUPP (no PRI capability, or its capacity
 *         is 0: the function can never issue a page request); -EPROTO (the PASID capability's
 *         Max PASID Width is a reserved value, 21..31: the device is refused rather than given
 *         a guessed width; prqd_pci_dev_caps() still reports the raw value); or
 *         prqd_pci_dev_caps()'s errors.
 */
int prqd_pci_dev_info(struct prqd_pci_dev *dev, struct prqd_dev_info *info);

/*
 * PRI control. These write configuration space, so they need a live handle with write access
 * (root): on a dump they return -EROFS. They return -EOPNOTSUPP without a PRI capability and
 * -ENODEV when the device reads as all ones (gone, or in reset).
 */

/**
 * @brief Clear PRI Enable, then poll Status until Stopped: every page request the function
 * issued has been answered.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: up to @p timeout_ms, polling with a growing interval (at most 1 ms).
 * - Since: 0.1
 *
 * @param dev the device (a live handle with write access).
 * @param timeout_ms how long to wait for Stopped; 0 checks once.
 * @return 0; -ETIMEDOUT (Enable stays clear: the function issues no new requests but some are
 *         still outstanding; call again to keep waiting); -EROFS, -EOPNOTSUPP, -ENODEV as
 *         for every PRI control call.
 */
int prqd_pci_pri_stop(struct prqd_pci_dev *dev, unsigned timeout_ms);

/**
 * @brief Write PRI Reset (with Enable clear): the function forgets its outstanding requests
 * and credits.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: configuration space accesses only.
 * - Since: 0.1
 *
 * @param dev the device (a live handle with write access).
 * @return 0; -EBUSY (Enable is set: reset is only valid while PRI is disabled); -EROFS,
 *         -EOPNOTSUPP, -ENODEV as for every PRI control call.
 */
int prqd_pci_pri_reset(struct prqd_pci_dev *dev);

/**
 * @brief Program Allocation = min(Capacity, @p requested) and set PRI Enable.
 *
 * Enabling a PRI that has not stopped has indeterminate results, so this requires Enable
 * clear and Stopped set (stop it first). Enabling clears RF, UPRGI and Stopped in the device.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: configuration space accesses only.
 * - Since: 0.1
 *
 * @param dev the device (a live handle with write access).
 * @param requested the allocation wanted.
 * @param granted receives the allocation written, or NULL.
 * @return 0; -EINVAL (@p requested is 0); -EBUSY (Enable set or Stopped clear); -EOPNOTSUPP
 *         (no PRI capability, or capacity 0); -EROFS, -ENODEV as for every PRI control call.
 */
int prqd_pci_pri_enable(struct prqd_pci_dev *dev, uint32_t requested, uint32_t *granted);

/**
 * @brief Clear Response Failure and Unexpected PRG Index (write one to clear; other status
 * bits are read-only).
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per handle.
 * - Blocking: configuration space accesses only.
 * - Since: 0.1
 *
 * @param dev the device (a live handle with write access).
 * @return 0; -EROFS, -EOPNOTSUPP, -ENODEV as for every PRI control call.
 */
int prqd_pci_pri_clear_errors(struct prqd_pci_dev *dev);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_PCI_H */
