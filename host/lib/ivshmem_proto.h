/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format of QEMU's ivshmem server protocol (docs/specs/ivshmem-spec):
 * the hub sends, peers receive, one little-endian int64 per message with at
 * most one file descriptor riding along as SCM_RIGHTS.
 *
 * Message sequence on connect: version 0; the peer's id; -1 with the shared
 * memory fd; for each other peer, its id once per vector with one eventfd
 * each; the peer's own id once per vector with its own eventfds.  Later: a
 * peer id with an eventfd (that peer joined, one message per vector) or
 * without one (that peer left).
 */
#ifndef DDVM_IVSHMEM_PROTO_H
#define DDVM_IVSHMEM_PROTO_H

#include <stdint.h>

#define DDVM_IVSHMEM_VERSION	0	/* the only version QEMU speaks */
#define DDVM_IVSHMEM_SHM_MSG	(-1)	/* value of the message carrying the region */
#define DDVM_IVSHMEM_MAX_ID	65535	/* the doorbell register has 16 bits for it */
#define DDVM_IVSHMEM_MAX_VECTORS 64	/* far beyond what a channel needs */
#define DDVM_IVSHMEM_MIN_SIZE	(64ull << 10)
#define DDVM_IVSHMEM_MAX_SIZE	(16ull << 30)

/*
 * The protocol has no way to refuse a peer.  The hub sends a negative errno
 * in place of the version instead: QEMU then fails cleanly with "server sent
 * version -87, expecting 0" (it would spin forever on a bare close during
 * setup), and our peer library reports the errno.
 */
#define DDVM_IVSHMEM_REFUSE_FULL (-87)	/* -EUSERS: the channel has max-peers peers */

/**
 * ddvm_ivshmem_send() - send one message, whole.
 * @sock: connected unix stream socket
 * @value: the int64 to send (little-endian on the wire)
 * @fd: a file descriptor to pass with it, or -1
 *
 * Loops over partial sends and EINTR; @fd travels with the first byte only,
 * so the receiver sees it together with the start of the message.  Never
 * raises SIGPIPE.  On a socket with SO_SNDTIMEO a peer that does not read
 * makes this fail with -EAGAIN once the timeout expires.
 *
 * Return: 0, or -errno (the message may then be partly sent: drop the peer).
 */
int ddvm_ivshmem_send(int sock, int64_t value, int fd);

/**
 * ddvm_ivshmem_recv() - receive one message, whole.
 * @sock: connected unix stream socket, blocking or not
 * @value: where to store the int64
 * @fd: where to store the received descriptor (close-on-exec), or -1 if none
 *
 * Loops over short reads and EINTR.  Once the first byte has arrived the
 * rest is waited for (up to a second) even on a non-blocking socket, since
 * the sender writes a message in one go.  A message with more than one
 * descriptor, with control data other than SCM_RIGHTS, or with truncated
 * control data is rejected; every descriptor received for it is closed.
 *
 * Return: 0 with *@value and *@fd set; -EAGAIN if no byte is available yet
 * (non-blocking socket or SO_RCVTIMEO expired); -ECONNRESET if the sender
 * closed before the first byte; -EPROTO for a malformed or truncated
 * message; another -errno from recvmsg.  On error *@fd is -1.
 */
int ddvm_ivshmem_recv(int sock, int64_t *value, int *fd);

#endif /* DDVM_IVSHMEM_PROTO_H */
