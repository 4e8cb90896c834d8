/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A net channel as the far end of QEMU's stream netdev, so that a client
 * VM with a stock virtio-net driver uses a NIC of a DD/OS.  QEMU listens:
 *
 *   -netdev stream,id=n0,server=on,addr.type=unix,addr.path=PATH
 *   -device virtio-net-pci,netdev=n0,mac=<the channel's MAC>,host_mtu=<its MTU>
 *
 * and the bridge connects.  On the socket each Ethernet frame travels as a
 * 4-byte big-endian length and the frame, both ways, with no virtio-net
 * header (QEMU's net/stream.c).  The relay moves frames between one such
 * connection and the channel, batched both ways: one read takes whatever
 * QEMU wrote and every complete frame in it goes to the channel with one
 * ddvm_net_send(); frames from the channel go to QEMU with one writev() per
 * ddvm_net_recv() batch.
 *
 * Why QEMU listens: QEMU 7.2 never reconnects a client-mode stream
 * netdev, but a server-mode one accepts the next connection once the last
 * one ends.  So a bridge that dies and is started again reconnects, and
 * the VM's NIC sees a pause, not a lost backend.  The bridge itself never
 * drops the connection for a reason of its own: while the DD/OS restarts
 * the socket stays open and frames wait, as they would for a NIC whose
 * queue is full.  Only a peer that breaks the protocol is disconnected
 * (and connected to again).
 */
#ifndef DDVM_NET_STREAM_H
#define DDVM_NET_STREAM_H

#include <stdint.h>
#include <sys/uio.h>

#include "err.h"
#include "net_client.h"

/* The length in front of every frame on the socket. */
#define DDVM_NET_STREAM_HDR		4
/*
 * The longest frame the protocol allows: QEMU's own limit (NET_BUFSIZE),
 * beyond which QEMU drops the connection too.  A frame up to this long
 * that the channel cannot carry is dropped like an oversized frame on a
 * wire; a longer one, or one shorter than an Ethernet header, cannot come
 * from a working QEMU and ends the connection.
 */
#define DDVM_NET_STREAM_LEN_MAX		(65536 + 4096)
/* Bytes read from the socket at once; holds any frame whole. */
#define DDVM_NET_STREAM_IN_SIZE		(256u << 10)
/* Frames per ddvm_net_send() and per ddvm_net_recv(). */
#define DDVM_NET_STREAM_BATCH		64
/* Bytes of frames kept for QEMU while its socket is full; more are dropped. */
#define DDVM_NET_STREAM_OUT_SIZE	(512u << 10)
/* Waits between attempts to connect: the first, doubling up to the last. */
#define DDVM_NET_STREAM_RETRY_MIN_MS	20
#define DDVM_NET_STREAM_RETRY_MAX_MS	500

struct ddvm_net_stream_stats {
	/* QEMU -> channel */
	uint64_t to_chan_frames;	/* queued on the TX ring */
	uint64_t to_chan_bytes;
	uint64_t too_big;		/* longer than the channel carries: dropped */
	uint64_t tx_waits;		/* TX ring full or no server: the socket was left alone */
	uint64_t reads;			/* read() calls that brought bytes */
	/* channel -> QEMU */
	uint64_t from_chan_frames;	/* taken from the RX ring (queue_drops of them dropped) */
	uint64_t from_chan_bytes;
	uint64_t queue_drops;		/* dropped: QEMU did not read and the queue was full */
	uint64_t write_waits;		/* times the socket was full */
	uint64_t writes;		/* writev()/send() calls that took bytes */
	uint64_t idle_drops;		/* dropped: no QEMU connected */
	/* connections */
	uint64_t connect_attempts;	/* connect() calls */
	uint64_t connections;		/* relays run on a connection */
	uint64_t protocol_errors;	/* connections dropped for an impossible length */
};

/*
 * ddvm_net_stream_parse - cut complete frames from @len bytes of stream.
 * @frames: filled with up to @max frames, pointing into @buf
 * @used:   bytes of @buf the returned frames (with their lengths) cover
 *
 * A partial header or frame at the end is left for later (not in @used).
 * Return: the number of frames; -EPROTO if the first length in @buf is
 * below DDVM_NET_MIN_FRAME or above DDVM_NET_STREAM_LEN_MAX (frames before
 * a bad length are returned first, the error comes with the next call).
 */
int ddvm_net_stream_parse(uint8_t *buf, size_t len, struct iovec *frames, int max, size_t *used);

/* The byte stream from QEMU: read into, then cut into frames. */
struct ddvm_net_stream_in {
	uint8_t *buf;			/* DDVM_NET_STREAM_IN_SIZE bytes */
	size_t start, end;		/* [start, end) read but not yet cut */
	uint64_t offset;		/* stream offset of buf[start], for messages */
};

int ddvm_net_stream_in_init(struct ddvm_net_stream_in *in);
void ddvm_net_stream_in_free(struct ddvm_net_stream_in *in);

/*
 * ddvm_net_stream_in_space - where the next read goes, and @room for it.
 * Moves the unread tail to the front first, which invalidates frames cut
 * before: call it only once those are sent or dropped.  @room is never 0.
 */
uint8_t *ddvm_net_stream_in_space(struct ddvm_net_stream_in *in, size_t *room);

/* @n bytes were read into ddvm_net_stream_in_space(). */
void ddvm_net_stream_in_fill(struct ddvm_net_stream_in *in, size_t n);

/*
 * ddvm_net_stream_in_cut - up to @max frames from what was read (see
 * ddvm_net_stream_parse).  Return: frames, or -EPROTO with the bad length
 * in *@bad_len and in->offset at its header.
 */
int ddvm_net_stream_in_cut(struct ddvm_net_stream_in *in, struct iovec *frames, int max,
			   uint32_t *bad_len);

/*
 * ddvm_net_stream_relay - move frames between connected stream socket
 * @sock (non-blocking) and @net until the peer closes it, breaks the
 * protocol, or @stop_fd becomes readable.  Counts into @st.
 *
 * While the TX ring is full or no server runs, the socket is not read, so
 * QEMU holds the guest's frames back (nothing the guest's TCP would have to
 * retransmit is dropped here).  While QEMU does not read, frames from the
 * channel wait in a queue of DDVM_NET_STREAM_OUT_SIZE bytes; beyond that
 * they are dropped and counted.  The caller closes @sock.
 *
 * Return: 0 the peer closed, 1 stopped, -EPROTO the peer sent an impossible
 * length (counted; @err says which, where), -errno the socket or the
 * channel's hub failed.
 */
int ddvm_net_stream_relay(struct ddvm_net *net, int sock, int stop_fd,
			  struct ddvm_net_stream_stats *st, struct ddvm_err *err);

/*
 * ddvm_net_stream_connect - connect to the unix socket QEMU listens on at
 * @path.  While there is none (QEMU not started yet, or gone and to be
 * started again) or nobody listens on it, try again after
 * DDVM_NET_STREAM_RETRY_MIN_MS, doubling up to DDVM_NET_STREAM_RETRY_MAX_MS,
 * and drop (and count) what the channel receives meanwhile, as a wire with
 * nothing plugged in would.
 *
 * QEMU accepts one connection at a time: a connection made while another
 * bridge is connected waits in QEMU's backlog until that one ends.
 *
 * Return: the connection (non-blocking), -EINTR if @stop_fd became
 * readable, or -errno with @err (a path that is too long, a socket we may
 * not use, the channel's hub failing).
 */
int ddvm_net_stream_connect(struct ddvm_net *net, const char *path, int stop_fd,
			    struct ddvm_net_stream_stats *st, struct ddvm_err *err);

#endif /* DDVM_NET_STREAM_H */
