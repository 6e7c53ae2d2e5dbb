/* SPDX-License-Identifier: MIT */
/*
 * prqdrain-uevent: follow the kernel's device events (NETLINK_KOBJECT_UEVENT) and apply them
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
 *    build with libnl-3; without it they return -EOPNOTSUPP).
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

/* ------------------------------------------------------------------------------------------ */
/* Parsing                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/*
 * Limits of a kernel uevent. The kernel builds the KEY=VALUE part in a 2048-byte buffer
 * (UEVENT_BUFFER_SIZE) with at most 64 variables (UEVENT_NUM_ENVP) and prefixes
 * "ACTION@DEVPATH"; a buffer beyond these bounds is not from the kernel.
 */
#define PRQD_UEVENT_MAX_LEN 8192u
#define PRQD_UEVENT_MAX_VARS 64u

/* The kernel's actions (lib/kobject_uevent.c); PRQD_UEVENT_OTHER for a name not in the list. */
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

/* ERROR_EVENT of a PCI error recovery `change` (PRQD_ERS_NONE when absent). */
enum prqd_uevent_ers {
	PRQD_ERS_NONE = 0,
	PRQD_ERS_BEGIN_RECOVERY,
	PRQD_ERS_SUCCESSFUL_RECOVERY,
	PRQD_ERS_FAILED_RECOVERY,
	PRQD_ERS_OTHER, /* a value this version does not know (e.g. NEED_RESET): no action */
};

/* One KEY=VALUE record. @key is not NUL-terminated (it ends at the '='); @value is. */
struct prqd_uevent_var {
	const char *key;
	size_t key_len;
	const char *value;
};

/*
 * A parsed event. Every string points into the buffer given to prqd_uevent_parse() and is
 * valid as long as that buffer is; nothing is allocated. Optional fields are NULL when the
 * event lacks the key.
 */
struct prqd_uevent {
	int action;             /* enum prqd_uevent_action */
	const char *action_name; /* ACTION, as sent ("change") */
	const char *devpath;    /* DEVPATH, below /sys ("/devices/pci0000:00/0000:00:01.0") */
	const char *subsystem;  /* SUBSYSTEM ("pci") */
	const char *driver;     /* DRIVER (absent after an unbind) */
	const char *pci_slot;   /* PCI_SLOT_NAME ("0000:00:01.0") */
	int error_event;        /* enum prqd_uevent_ers, from ERROR_EVENT */
	int device_online;      /* DEVICE_ONLINE: 0 or 1, -1 when absent */
	bool has_seqnum;
	uint64_t seqnum;        /* SEQNUM */
	unsigned nvars;         /* records after the header, in buffer order */
	struct prqd_uevent_var vars[PRQD_UEVENT_MAX_VARS];
};

/*
 * prqd_uevent_parse - parse one datagram of the kernel's uevent socket.
 * @buf, @len: the datagram, "ACTION@DEVPATH\0KEY=VALUE\0...KEY=VALUE\0". Any bytes: it never
 *             reads outside [buf, buf + len) and never writes outside *out.
 * @out: receives the event (pointers into @buf). Written only on success.
 *
 * Strict, because only the kernel's own format is wanted: every record ends with a NUL (the
 * last one too), has no control characters, and after the header is KEY=VALUE with a
 * non-empty key of [A-Za-z0-9_]; keys are unique; ACTION and DEVPATH are present and agree
 * with the header; DEVPATH starts with '/'; SEQNUM, if present, is decimal.
 * Returns 0, -EINVAL (NULL argument), -EBADMSG (malformed, truncated, empty, or a udev
 * "libudev" message, which is not the kernel's format), -ERANGE (longer than
 * PRQD_UEVENT_MAX_LEN or more than PRQD_UEVENT_MAX_VARS records). Pure and reentrant.
 * Since: 0.1
 */
int prqd_uevent_parse(const void *buf, size_t len, struct prqd_uevent *out);

/*
 * prqd_uevent_get - the value of @key in @ev, or NULL when absent. @key is NUL-terminated.
 * Since: 0.1
 */
const char *prqd_uevent_get(const struct prqd_uevent *ev, const char *key);

/* prqd_uevent_action_name - static name of an enum prqd_uevent_action ("remove", ...), or "?".
 * Since: 0.1 */
const char *prqd_uevent_action_name(int action);

/*
 * prqd_uevent_parse_slot - parse a PCI slot name "DDDD:BB:DD.F" (as PCI_SLOT_NAME and sysfs
 * spell it; the domain may have 4 to 8 hex digits) into a domain and a requester ID
 * (bus << 8 | device << 3 | function). Returns 0 or -EINVAL. Since: 0.1
 */
int prqd_uevent_parse_slot(const char *slot, uint32_t *domain, uint16_t *rid);

/*
 * Who sent a datagram, as the socket reports it. The kernel sends from netlink port 0 to
 * multicast group 1 (bit 0 of @groups); with SO_PASSCRED its credentials are uid 0.
 */
struct prqd_uevent_origin {
	uint32_t port;   /* sender's netlink port id (nl_pid); 0 = the kernel */
	uint32_t groups; /* multicast groups bitmask (nl_groups) */
	bool has_creds;  /* @uid is known (SCM_CREDENTIALS) */
	uint32_t uid;
};

/* ------------------------------------------------------------------------------------------ */
/* Monitor                                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct prqd_monitor;

/* What the monitor did with an event. */
enum prqd_monitor_action {
	PRQD_MON_NONE = 0,   /* an event of a registered device that asks for nothing */
	PRQD_MON_STOP_DRAIN, /* prqd_dev_stop() + prqd_dev_drain() (BEGIN_RECOVERY) */
	PRQD_MON_RESUME,     /* prqd_dev_resume() (SUCCESSFUL_RECOVERY) */
	PRQD_MON_FORCE_UNBIND, /* prqd_dev_unbind_all(PRQD_UNBIND_FORCE) (remove, unbind,
				* FAILED_RECOVERY) */
};

/* prqd_monitor_action_name - "none", "stop+drain", "resume", "force-unbind", or "?".
 * Since: 0.1 */
const char *prqd_monitor_action_name(int action);

/*
 * prqd_uevent_decide - the action a monitor takes for @ev on a registered device (enum
 * prqd_monitor_action): remove and unbind force the unbind; change with ERROR_EVENT
 * BEGIN_RECOVERY stops and drains, SUCCESSFUL_RECOVERY resumes, FAILED_RECOVERY forces the
 * unbind; everything else is PRQD_MON_NONE. Pure. Since: 0.1
 */
int prqd_uevent_decide(const struct prqd_uevent *ev);

/*
 * prqd_uevent_pci_function - the PCI function an event is about: SUBSYSTEM must be "pci";
 * the slot is PCI_SLOT_NAME, or else DEVPATH's last component. Returns 0 and writes @domain
 * and @rid, -ENODEV (not a PCI function's event) or -EINVAL (NULL argument). Since: 0.1
 */
int prqd_uevent_pci_function(const struct prqd_uevent *ev, uint32_t *domain, uint16_t *rid);

/* The verdict on one datagram, reported by prqd_monitor_feed() / prqd_monitor_receive(). */
struct prqd_monitor_result {
	int status;        /* 0 accepted; else why it was refused: -EBADMSG / -ERANGE (format),
			    * -EPERM (not from the kernel), -ENODEV (no registered device) */
	int action;        /* enum prqd_monitor_action (PRQD_MON_NONE when refused) */
	int action_result; /* 0 or the first error of the library calls made */
	struct prqd_dev *dev; /* the registered device, or NULL */
	uint32_t domain;   /* the event's PCI function, when it names one */
	uint16_t rid;
	bool has_slot;
};

/* Counters of one monitor; monotonic. */
struct prqd_monitor_stats {
	uint64_t received;        /* datagrams fed or read */
	uint64_t accepted;        /* from the kernel, well formed, about a registered device */
	uint64_t rejected_format; /* refused by prqd_uevent_parse() */
	uint64_t rejected_sender; /* not from the kernel (port, group or uid) */
	uint64_t rejected_unknown; /* well formed, from the kernel, no registered device */
	uint64_t actions;         /* accepted events that called into the library */
	uint64_t action_errors;   /* ... of which a library call failed */
	uint64_t recv_errors;     /* socket errors (prqd_monitor_receive()), ENOBUFS included */
};

/*
 * Called for every datagram after the monitor acted on it (refused ones too, with @ev NULL
 * when it did not parse). @ev and its strings are valid during the call only. It may call
 * prqd_monitor_add_dev() / prqd_monitor_remove_dev() (e.g. to forget a removed device before
 * prqd_dev_remove()), but not prqd_monitor_free(), _feed() or _receive().
 */
typedef void (*prqd_monitor_event_fn)(void *user, const struct prqd_uevent *ev,
				      const struct prqd_monitor_result *res);

enum prqd_monitor_flags {
	/* Act on nothing: classify and report only (a dry run, or a listener like lspri's). */
	PRQD_MONITOR_OBSERVE = 1u << 0,
};

/*
 * prqd_monitor_new - create a monitor with no device and no socket.
 * @flags: enum prqd_monitor_flags.
 * @out: receives the monitor; the caller frees it with prqd_monitor_free().
 * Returns 0, -EINVAL (unknown flag, NULL @out), -ENOMEM. Since: 0.1
 */
int prqd_monitor_new(unsigned flags, struct prqd_monitor **out);

/* prqd_monitor_free - close the socket (if open) and free the monitor; the registered devices
 * are only forgotten. NULL is allowed. Since: 0.1 */
void prqd_monitor_free(struct prqd_monitor *mon);

/* prqd_monitor_set_event_fn - install (or remove with NULL) the event callback. Since: 0.1 */
void prqd_monitor_set_event_fn(struct prqd_monitor *mon, prqd_monitor_event_fn fn, void *user);

/*
 * prqd_monitor_set_drain - flags (enum prqd_drain_flags) and timeout of the device-wide drain
 * on BEGIN_RECOVERY (0 = the context's core.drain_timeout_ms). The defaults are 0 and 0.
 * Returns 0 or -EINVAL (unknown flag). Since: 0.1
 */
int prqd_monitor_set_drain(struct prqd_monitor *mon, unsigned flags, uint32_t timeout_ms);

/*
 * prqd_monitor_add_dev - follow the PCI function @domain:prqd_dev_rid(@dev). The device stays
 * the caller's: forget it with prqd_monitor_remove_dev() before prqd_dev_remove().
 * Returns 0, -EINVAL (NULL), -EEXIST (that function or that device is registered already),
 * -ENOMEM. Since: 0.1
 */
int prqd_monitor_add_dev(struct prqd_monitor *mon, uint32_t domain, struct prqd_dev *dev);

/* prqd_monitor_remove_dev - forget @dev. Returns 0 or -ENOENT. Since: 0.1 */
int prqd_monitor_remove_dev(struct prqd_monitor *mon, struct prqd_dev *dev);

/*
 * prqd_monitor_feed - handle one datagram: check the sender, parse, find the device, act,
 * count, call the event callback. @origin NULL means "trusted" (a replay of canned events);
 * the socket path always passes the real one. @res (may be NULL) receives the verdict.
 * Returns the verdict's status: 0 when accepted (then the action's own result is in
 * res->action_result: a failed library call does not make the event bad), else the reason it
 * was refused. -EINVAL for NULL @mon or @buf. Since: 0.1
 */
int prqd_monitor_feed(struct prqd_monitor *mon, const void *buf, size_t len,
		      const struct prqd_uevent_origin *origin, struct prqd_monitor_result *res);

/*
 * prqd_monitor_open - open the kernel's uevent socket (NETLINK_KOBJECT_UEVENT, group 1),
 * non-blocking, with credentials passing. Returns 0, -EALREADY (open already), -EOPNOTSUPP
 * (built without libnl), or a negative errno from the socket (-EPERM, -EPROTONOSUPPORT, ...,
 * e.g. in a sandbox that forbids netlink). Since: 0.1
 */
int prqd_monitor_open(struct prqd_monitor *mon);

/* prqd_monitor_fd - the socket's file descriptor for poll(), or -EBADF when not open. The
 * monitor owns it. Since: 0.1 */
int prqd_monitor_fd(const struct prqd_monitor *mon);

/*
 * prqd_monitor_receive - wait up to @timeout_ms (0: do not wait; negative: forever) for one
 * datagram on the socket and prqd_monitor_feed() it with its real origin.
 * Returns 1 when a datagram was handled (its verdict in @res), 0 when none came in time,
 * -EBADF (not open), -EOPNOTSUPP (no libnl), -ENOBUFS (the kernel dropped events: the socket
 * buffer overflowed; counted, the socket stays usable), or another negative errno.
 * Since: 0.1
 */
int prqd_monitor_receive(struct prqd_monitor *mon, int timeout_ms,
			 struct prqd_monitor_result *res);

/* prqd_monitor_stats - copy the counters (@size = sizeof(*out) as the caller knows it).
 * Returns 0 or -EINVAL. Since: 0.1 */
int prqd_monitor_stats(const struct prqd_monitor *mon, struct prqd_monitor_stats *out,
		       size_t size);

#ifdef __cplusplus
}
#endif

#endif /* PRQDRAIN_UEVENT_H */
