/* SPDX-License-Identifier: MIT */
/*
 * lib/linux/uevent-nl.c: the monitor's kernel socket, with libnl-3 (built with libnl only;
 * uevent-nosock.c stands in otherwise).
 *
 * Uevents are not netlink messages: a datagram is the bare "ACTION@DEVPATH\0KEY=VALUE\0..."
 * with no nlmsghdr, so libnl's message machinery (nl_recvmsgs*) would misparse it. libnl is
 * used for the socket's life cycle and for nl_recv(), which hands back the raw datagram, the
 * sender's address and its credentials.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/errno.h>

#include "lib/linux/uevent-private.h"
#include "lib/private.h"

/* The kernel multicasts uevents to this group (lib/kobject_uevent.c); udev's re-broadcasts
 * go to group 2, which we do not join. */
#define KERNEL_UEVENT_GROUP 1

/* A burst of uevents (a hot-unplugged switch with many functions) must not overflow the
 * socket; the kernel caps the value at net.core.rmem_max unless we are privileged. */
#define RCVBUF_BYTES (1 << 20)

/*
 * libnl reports errors as its own negative NLE_* codes, folded from errno; the monitor's
 * contract is negative errno values, so map back the ones a socket can produce.
 */
static int nlerr_to_errno(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case NLE_SUCCESS:
		return 0;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_EXIST:
		return -EEXIST;
	default:
		return -EIO;
	}
}

void prqd__monitor_close(struct prqd_monitor *mon)
{
	if (!mon->sk)
		return;
	nl_close(mon->sk);
	nl_socket_free(mon->sk);
	mon->sk = NULL;
}

PRQD_EXPORT int prqd_monitor_open(struct prqd_monitor *mon)
{
	if (!mon)
		return -EINVAL;
	if (mon->sk)
		return -EALREADY;
	struct nl_sock *sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	/* Uevents carry no netlink sequence numbers. */
	nl_socket_disable_seq_check(sk);
	int rc = nl_connect(sk, NETLINK_KOBJECT_UEVENT);
	if (rc < 0)
		goto fail;
	/* Membership needs a connected socket (libnl refuses it before nl_connect). */
	rc = nl_socket_add_membership(sk, KERNEL_UEVENT_GROUP);
	if (rc < 0)
		goto fail;
	/* With SCM_CREDENTIALS the kernel attaches the sender's uid to every datagram, which
	 * the monitor checks on top of the port. */
	rc = nl_socket_set_passcred(sk, 1);
	if (rc < 0)
		goto fail;
	rc = nl_socket_set_nonblocking(sk);
	if (rc < 0)
		goto fail;
	/* Best effort: a smaller buffer only makes -ENOBUFS likelier, which is reported. */
	(void)nl_socket_set_buffer_size(sk, RCVBUF_BYTES, 0);
	mon->sk = sk;
	return 0;
fail:
	rc = nlerr_to_errno(rc);
	nl_close(sk);
	nl_socket_free(sk);
	return rc;
}

PRQD_EXPORT int prqd_monitor_fd(const struct prqd_monitor *mon)
{
	if (!mon || !mon->sk)
		return -EBADF;
	return nl_socket_get_fd(mon->sk);
}

PRQD_EXPORT int prqd_monitor_receive(struct prqd_monitor *mon, int timeout_ms,
				     struct prqd_monitor_result *res)
{
	if (!mon)
		return -EINVAL;
	if (!mon->sk)
		return -EBADF;

	struct pollfd pfd = { .fd = nl_socket_get_fd(mon->sk), .events = POLLIN };
	int n;
	do
		n = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		mon->stats.recv_errors++;
		return -errno;
	}
	if (n == 0)
		return 0;

	struct sockaddr_nl from = { 0 };
	unsigned char *buf = NULL;
	struct ucred *creds = NULL;
	errno = 0;
	int len = nl_recv(mon->sk, &from, &buf, &creds);
	if (len < 0) {
		int err = nlerr_to_errno(len);
		/* libnl folds ENOBUFS (the kernel dropped datagrams for want of buffer space)
		 * into NLE_NOMEM; errno still tells the two apart, and a lost event matters
		 * to the caller: it may have missed a removal. */
		if (len == -NLE_NOMEM && errno == ENOBUFS)
			err = -ENOBUFS;
		free(buf);
		free(creds);
		if (err == -EAGAIN)
			return 0; /* woken up but nothing to read (another reader, a spurious wake) */
		mon->stats.recv_errors++;
		return err;
	}

	struct prqd_uevent_origin origin = {
		.port = from.nl_pid,
		.groups = from.nl_groups,
		.has_creds = creds != NULL,
		.uid = creds ? (uint32_t)creds->uid : 0,
	};
	/* nl_recv gives no buffer for an empty datagram: feed an empty one all the same, so
	 * it is counted as malformed like any other. */
	static const unsigned char empty[1];
	prqd_monitor_feed(mon, buf ? buf : empty, buf ? (size_t)len : 0, &origin, res);
	free(buf);
	free(creds);
	return 1;
}
