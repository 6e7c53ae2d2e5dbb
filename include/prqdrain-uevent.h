/* SPDX-License-Identifier: MIT */
/**
 * @file prqdrain-uevent.h
 * @brief prqdrain-uevent: follow the kernel's device events (NETLINK_KOBJECT_UEVENT) and apply them
 * to the bonds of registered devices. Linux user space only (hosted builds).
 *
 *  - A PCI `remove`, or a driver `unbind`, of a registered device: the device is gone for its
 *    users, so every bond is unbound with PRQD_UNBIND_FORCE (no drain: nothing would answer).
 *  - A `change` with ERROR_EVENT=BEGIN_RECOVERY (AER/DPC/EEH recovery, sent by the kernel's
 *    pci_uevent_ers()): device-wide prqd_dev_stop() then prqd_dev_drain(), so nothing of the
 *    old traffic survives the reset; SUCCESSFUL_RECOVERY: prqd_dev_resume();
 *    FAILED_RECOVERY: forced unbind, as for a removal.
 *
 * Two layers:
 *  - prqd_uevent_parse() is a pure function over a byte buffer: no allocation, no I/O, no
 *    library state. Anything a socket may deliver is either parsed or refused with an error.
 *  - struct prqd_monitor maps PCI functions to struct prqd_dev and acts on events. It can be
 *    fed buffers by hand (prqd_monitor_feed(): tests, replays, another event source) or read
 *    the kernel's socket itself (prqd_monitor_open() / prqd_monitor_receive(), which need a
 *    build with libnl-3; without it they return -EOPNOTSUPP, so the exported symbols are the
 *    same in every build).
 *
 * Conventions are those of <prqdrain.h>: negative errno values, *out written only on
 * success, no global state. A monitor is not thread-safe (as libnl's socket is not): one
 * thread at a time calls into it. The prqd_dev_* calls it makes are the library's own and
 * follow their locking; they block for up to the drain timeout.
 */
#ifndef PRQDRAIN_UEVENT_H
#define PRQDRAIN_UEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <prqdrain.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup prqdrain_uevent Device events: the kernel uevents that end or reset a PRI device
 * @{
 */

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/**
 * @name Limits of a kernel uevent
 * Limits of a kernel uevent. The kernel builds the KEY=VALUE part in a 2048-byte buffer
 * (UEVENT_BUFFER_SIZE) with at most 64 variables (UEVENT_NUM_ENVP) and prefixes
 * "ACTION@DEVPATH"; a buffer beyond these bounds is not from the kernel.
 */
/** @{ */
#define PRQD_UEVENT_MAX_LEN 8192u  /**< longest datagram accepted, in bytes */
#define PRQD_UEVENT_MAX_VARS 64u   /**< most KEY=VALUE records accepted */
/** @} */

/** The kernel's actions (lib/kobject_uevent.c); PRQD_UEVENT_OTHER for a name not in the list. */
enum prqd_uevent_action {
	PRQD_UEVENT_OTHER = 0,
	PRQD_UEVENT_ADD,
	PRQD_UEVENT_REMOVE,
	PRQD_UEVENT_CHANGE,
	PRQD_UEVENT_MOVE,
	PRQD_UEVENT_ONLINE,
	PRQD_UEVENT_OFFLINE,
	PRQD_UEVENT_BIND,
	PRQD_UEVENT_UNBIND,
};

/** ERROR_EVENT of a PCI error recovery `change` (PRQD_ERS_NONE when absent). */
enum prqd_uevent_ers {
	PRQD_ERS_NONE = 0,
	PRQD_ERS_BEGIN_RECOVERY,
	PRQD_ERS_SUCCESSFUL_RECOVERY,
	PRQD_ERS_FAILED_RECOVERY,
	PRQD_ERS_OTHER, /**< a value this version does not know (e.g. NEED_RESET): no action */
};

/** One KEY=VALUE record. key is not NUL-terminated (it ends at the '='); value is. */
struct prqd_uevent_var {
	const char *key;   /**< the key's first character */
	size_t key_len;    /**< the key's length */
	const char *value; /**< the value, NUL-terminated */
};

/**
 * A parsed event. Every string points into the buffer given to prqd_uevent_parse() and is
 * valid as long as that buffer is; nothing is allocated. Optional fields are NULL when the
 * event lacks the key.
 */
struct prqd_uevent {
	int action;             /**< enum prqd_uevent_action */
	const char *action_name; /**< ACTION, as sent ("change") */
	const char *devpath;    /**< DEVPATH, below /sys ("/devices/pci0000:00/0000:00:01.0") */
	const char *subsystem;  /**< SUBSYSTEM ("pci") */
	const char *driver;     /**< DRIVER (absent after an unbind) */
	const char *pci_slot;   /**< PCI_SLOT_NAME ("0000:00:01.0") */
	int error_event;        /**< enum prqd_uevent_ers, from ERROR_EVENT */
	int device_online;      /**< DEVICE_ONLINE: 0 or 1, -1 when absent */
	bool has_seqnum;        /**< SEQNUM was present */
	uint64_t seqnum;        /**< SEQNUM */
	unsigned nvars;         /**< records after the header, in buffer order */
	struct prqd_uevent_var vars[PRQD_UEVENT_MAX_VARS]; /**< the records (nvars of them) */
};

/**
 * @brief Parse one datagram of the kernel's uevent socket.
 *
 * Strict, because only the kernel's own format is wanted: every record ends with a NUL (the
 * last one too), has no control characters, and after the header is KEY=VALUE with a
 * non-empty key of [A-Za-z0-9_]; keys are unique; ACTION and DEVPATH are present and agree
 * with the header; DEVPATH starts with '/'; SEQNUM, if present, is decimal.
 *
 * - Ownership: the event points into @p buf and is valid as long as @p buf is; nothing is
 *   allocated.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param buf the datagram, "ACTION@DEVPATH\0KEY=VALUE\0...KEY=VALUE\0". Any bytes: it never
 *        reads outside [buf, buf + len) and never writes outside *out.
 * @param len its length in bytes.
 * @param out receives the event (pointers into @p buf). Written only on success.
 * @return 0; -EINVAL (NULL argument); -EBADMSG (malformed, truncated, empty, or a udev
 *         "libudev" message, which is not the kernel's format); -ERANGE (longer than
 *         PRQD_UEVENT_MAX_LEN or more than PRQD_UEVENT_MAX_VARS records).
 */
int prqd_uevent_parse(const void *buf, size_t len, struct prqd_uevent *out);

/**
 * @brief The value of @p key in @p ev.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ev a parsed event.
 * @param key the key, NUL-terminated.
 * @return The value (pointing into the parsed buffer), or NULL when absent.
 */
const char *prqd_uevent_get(const struct prqd_uevent *ev, const char *key);

/**
 * @brief The static name of an enum prqd_uevent_action ("remove", ...).
 *
 * - Ownership: the string is static.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param action an enum prqd_uevent_action value.
 * @return The name, or "?".
 */
const char *prqd_uevent_action_name(int action);

/**
 * @brief Parse a PCI slot name "DDDD:BB:DD.F" into a domain and a requester ID.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param slot the name as PCI_SLOT_NAME and sysfs spell it; the domain may have 4 to 8 hex digits.
 * @param domain receives the domain.
 * @param rid receives bus << 8 | device << 3 | function.
 * @return 0; -EINVAL.
 */
int prqd_uevent_parse_slot(const char *slot, uint32_t *domain, uint16_t *rid);

/**
 * Who sent a datagram, as the socket reports it. The kernel sends from netlink port 0 to
 * multicast group 1 (bit 0 of groups); with SO_PASSCRED its credentials are uid 0.
 */
struct prqd_uevent_origin {
	uint32_t port;   /**< sender's netlink port id (nl_pid); 0 = the kernel */
	uint32_t groups; /**< multicast groups bitmask (nl_groups) */
	bool has_creds;  /**< uid is known (SCM_CREDENTIALS) */
	uint32_t uid;    /**< sender's user ID, when has_creds */
};

/* ------------------------------------------------------------------------------------------ */
/* Monitor                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** A monitor: registered devices, an optional socket, counters. Opaque. */
struct prqd_monitor;

/** What the monitor did with an event. */
enum prqd_monitor_action {
	PRQD_MON_NONE = 0,   /**< an event of a registered device that asks for nothing */
	PRQD_MON_STOP_DRAIN, /**< prqd_dev_stop() + prqd_dev_drain() (BEGIN_RECOVERY) */
	PRQD_MON_RESUME,     /**< prqd_dev_resume() (SUCCESSFUL_RECOVERY) */
	PRQD_MON_FORCE_UNBIND, /**< prqd_dev_unbind_all(PRQD_UNBIND_FORCE) (remove, unbind,
				* FAILED_RECOVERY) */
};

/**
 * @brief The static name of an enum prqd_monitor_action: "none", "stop+drain", "resume",
 * "force-unbind".
 *
 * - Ownership: the string is static.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param action an enum prqd_monitor_action value.
 * @return The name, or "?".
 */
const char *prqd_monitor_action_name(int action);

/**
 * @brief The action a monitor takes for @p ev on a registered device.
 *
 * remove and unbind force the unbind; change with ERROR_EVENT BEGIN_RECOVERY stops and drains,
 * SUCCESSFUL_RECOVERY resumes, FAILED_RECOVERY forces the unbind; everything else is
 * PRQD_MON_NONE.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ev a parsed event.
 * @return An enum prqd_monitor_action value. Cannot fail.
 */
int prqd_uevent_decide(const struct prqd_uevent *ev);

/**
 * @brief The PCI function an event is about.
 *
 * The slot is PCI_SLOT_NAME, or else DEVPATH's last component.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; pure and reentrant.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param ev a parsed event; SUBSYSTEM must be "pci".
 * @param domain receives the domain.
 * @param rid receives the requester ID.
 * @return 0; -ENODEV (not a PCI function's event); -EINVAL (NULL argument).
 */
int prqd_uevent_pci_function(const struct prqd_uevent *ev, uint32_t *domain, uint16_t *rid);

/** The verdict on one datagram, reported by prqd_monitor_feed() / prqd_monitor_receive(). */
struct prqd_monitor_result {
	int status;        /**< 0 accepted; else why it was refused: -EBADMSG / -ERANGE (format),
			    * -EPERM (not from the kernel), -ENODEV (no registered device) */
	int action;        /**< enum prqd_monitor_action (PRQD_MON_NONE when refused) */
	int action_result; /**< 0 or the first error of the library calls made */
	struct prqd_dev *dev; /**< the registered device, or NULL */
	uint32_t domain;   /**< the event's PCI function, when it names one */
	uint16_t rid;      /**< requester ID of that function */
	bool has_slot;     /**< domain and rid are set */
};

/** Counters of one monitor; monotonic. */
struct prqd_monitor_stats {
	uint64_t received;        /**< datagrams fed or read */
	uint64_t accepted;        /**< from the kernel, well formed, about a registered device */
	uint64_t rejected_format; /**< refused by prqd_uevent_parse() */
	uint64_t rejected_sender; /**< not from the kernel (port, group or uid) */
	uint64_t rejected_unknown; /**< well formed, from the kernel, no registered device */
	uint64_t actions;         /**< accepted events that called into the library */
	uint64_t action_errors;   /**< ... of which a library call failed */
	uint64_t recv_errors;     /**< socket errors (prqd_monitor_receive()), ENOBUFS included */
};

/**
 * Called for every datagram after the monitor acted on it (refused ones too, with the event NULL
 * when it did not parse). The event and its strings are valid during the call only. It may call
 * prqd_monitor_add_dev() / prqd_monitor_remove_dev() (e.g. to forget a removed device before
 * prqd_dev_remove()), but not prqd_monitor_free(), _feed() or _receive().
 */
typedef void (*prqd_monitor_event_fn)(void *user, const struct prqd_uevent *ev,
				      const struct prqd_monitor_result *res);

/** Flags of prqd_monitor_new(). */
enum prqd_monitor_flags {
	/** Act on nothing: classify and report only (a dry run, or a listener like lspri's). */
	PRQD_MONITOR_OBSERVE = 1u << 0,
};

/**
 * @brief Create a monitor with no device and no socket.
 *
 * - Ownership: the caller owns the monitor and frees it with prqd_monitor_free().
 * - Locking: none.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param flags enum prqd_monitor_flags.
 * @param out receives the monitor.
 * @return 0; -EINVAL (unknown flag, NULL @p out); -ENOMEM.
 */
int prqd_monitor_new(unsigned flags, struct prqd_monitor **out);

/**
 * @brief Close the socket (if open) and free the monitor.
 *
 * - Ownership: the monitor and its socket are released; the registered devices stay their
 *   owners' and are only forgotten.
 * - Locking: none; no other thread may use the monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor, or NULL.
 */
void prqd_monitor_free(struct prqd_monitor *mon);

/**
 * @brief Install (or remove with NULL) the event callback.
 *
 * - Ownership: @p user stays the caller's and must stay valid while installed.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param fn the callback, or NULL.
 * @param user passed to @p fn.
 */
void prqd_monitor_set_event_fn(struct prqd_monitor *mon, prqd_monitor_event_fn fn, void *user);

/**
 * @brief Flags and timeout of the device-wide drain on BEGIN_RECOVERY.
 *
 * - Ownership: nothing changes hands.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param flags enum prqd_drain_flags; the default is 0.
 * @param timeout_ms the drain's deadline; 0 (the default) = the context's core.drain_timeout_ms.
 * @return 0; -EINVAL (unknown flag).
 */
int prqd_monitor_set_drain(struct prqd_monitor *mon, unsigned flags, uint32_t timeout_ms);

/**
 * @brief Follow the PCI function @p domain:prqd_dev_rid(@p dev).
 *
 * - Ownership: the device stays the caller's: forget it with prqd_monitor_remove_dev() before
 *   prqd_dev_remove().
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param domain the function's PCI domain.
 * @param dev the device.
 * @return 0; -EINVAL (NULL); -EEXIST (that function or that device is registered already); -ENOMEM.
 */
int prqd_monitor_add_dev(struct prqd_monitor *mon, uint32_t domain, struct prqd_dev *dev);

/**
 * @brief Forget a device.
 *
 * - Ownership: the device stays the caller's.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param dev the device.
 * @return 0; -ENOENT (not registered).
 */
int prqd_monitor_remove_dev(struct prqd_monitor *mon, struct prqd_dev *dev);

/**
 * @brief Handle one datagram: check the sender, parse, find the device, act, count, call the
 * event callback.
 *
 * - Ownership: @p buf stays the caller's; nothing of it is kept after the callback returns.
 * - Locking: one thread at a time per monitor; the library calls it makes take their own locks
 *   (the device lock, the queue lock per batch, the bond spinlocks).
 * - Blocking: while an action's drain runs: up to the monitor's drain timeout (default
 *   core.drain_timeout_ms) for a BEGIN_RECOVERY, up to core.drain_timeout_ms per bond
 *   waited out by a forced unbind; else never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param buf the datagram.
 * @param len its length.
 * @param origin who sent it; NULL means "trusted" (a replay of canned events); the socket path
 *        always passes the real one.
 * @param res receives the verdict, or NULL.
 * @return The verdict's status: 0 when accepted (then the action's own result is in
 *         res->action_result: a failed library call does not make the event bad), else the
 *         reason it was refused (-EBADMSG, -ERANGE, -EPERM, -ENODEV); -EINVAL for NULL @p mon
 *         or @p buf.
 */
int prqd_monitor_feed(struct prqd_monitor *mon, const void *buf, size_t len,
		      const struct prqd_uevent_origin *origin, struct prqd_monitor_result *res);

/**
 * @brief Open the kernel's uevent socket (NETLINK_KOBJECT_UEVENT, group 1), non-blocking, with
 * credentials passing.
 *
 * - Ownership: the monitor owns the socket.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @return 0; -EALREADY (open already); -EOPNOTSUPP (built without libnl); or a negative
 *         errno from the socket (-EPERM, -EPROTONOSUPPORT, ..., e.g. in a sandbox that
 *         forbids netlink).
 */
int prqd_monitor_open(struct prqd_monitor *mon);

/**
 * @brief The socket's file descriptor, for poll().
 *
 * - Ownership: the monitor owns the descriptor: do not close it.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @return The descriptor, or -EBADF when not open.
 */
int prqd_monitor_fd(const struct prqd_monitor *mon);

/**
 * @brief Wait for one datagram on the socket and prqd_monitor_feed() it with its real origin.
 *
 * - Ownership: nothing changes hands.
 * - Locking: as prqd_monitor_feed().
 * - Blocking: up to @p timeout_ms for a datagram, then as prqd_monitor_feed().
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param timeout_ms how long to wait: 0 do not wait, negative forever.
 * @param res receives the verdict, or NULL.
 * @return 1 when a datagram was handled (its verdict in @p res); 0 when none came in time;
 *         -EBADF (not open); -EOPNOTSUPP (no libnl); -ENOBUFS (the kernel dropped events: the
 *         socket buffer overflowed; counted, the socket stays usable); or another negative
 *         errno.
 */
int prqd_monitor_receive(struct prqd_monitor *mon, int timeout_ms,
			 struct prqd_monitor_result *res);

/**
 * @brief Copy the monitor's counters.
 *
 * - Ownership: @p out is the caller's.
 * - Locking: none; one thread at a time per monitor.
 * - Blocking: never.
 * - Since: 0.1
 *
 * @param mon the monitor.
 * @param out receives the counters.
 * @param size sizeof(*out) as the caller knows it.
 * @return 0; -EINVAL.
 */
int prqd_monitor_stats(const struct prqd_monitor *mon, struct prqd_monitor_stats *out,
		       size_t size);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_UEVENT_H */
