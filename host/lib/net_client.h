/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libddvm net client: one Ethernet address on a NIC served by a DD/OS.
 *
 * Frames go out with ddvm_net_send() and come in with ddvm_net_recv(), both
 * batched: one ring publication and at most one doorbell per call.  Sleep on
 * ddvm_net_fd() after ddvm_net_arm().  The channel behaves like a link that
 * never goes down: when the DD/OS restarts, frames in flight are lost (as on
 * a real wire) and the library lays the channel out again for the new server
 * by itself; while no server runs, send queues nothing and recv finds
 * nothing.  No call blocks.  A handle belongs to one thread at a time.
 */
#ifndef DDVM_NET_CLIENT_H
#define DDVM_NET_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "chan_client.h"

struct ddvm_net;

/* While no server runs, look again this often (a server may come back silently). */
#define DDVM_NET_RETRY_MS		20
/* MTU bounds a server's description must respect. */
#define DDVM_NET_MTU_MIN		68
#define DDVM_NET_MTU_MAX		9000
/* A frame with its offload header (ddvm_net_send_hdr, ddvm_net_recv_hdr). */
#define DDVM_NET_HDR_LEN		((int)sizeof(struct ddvm_net_hdr))
/* A buffer that holds any frame ddvm_net_recv_hdr() hands over. */
#define DDVM_NET_HDR_BUF_SIZE		(DDVM_NET_HDR_LEN + DDVM_NET_OFFLOAD_MAX_FRAME)

/* What ddvm_net_arm() should wake the caller for, and what it found ready. */
#define DDVM_NET_WANT_RX	(1u << 0)	/* frames arrived */
#define DDVM_NET_WANT_TX	(1u << 1)	/* the TX ring has room again */

enum ddvm_net_link {
	DDVM_NET_LINK_UP,		/* served, and the NIC has carrier */
	DDVM_NET_LINK_NO_CARRIER,	/* served, the NIC has no carrier */
	DDVM_NET_LINK_ABSENT,		/* no server now (DD/OS restarting); the link stays up */
};

/* The client's own counters. */
struct ddvm_net_stats {
	uint64_t tx_frames;	/* queued on the TX ring */
	uint64_t tx_bytes;
	uint64_t tx_full;	/* send calls that found no room for all their frames */
	uint64_t rx_frames;	/* handed to the caller */
	uint64_t rx_bytes;
	uint64_t rx_bad;	/* RX descriptors dropped: length out of range */
	uint64_t rx_too_long;	/* frames dropped: longer than the caller's buffer */
	uint64_t ring_errors;	/* the server moved a ring index impossibly: reset asked */
	uint64_t doorbells;	/* times we rang the server */
	uint64_t generations;	/* layouts done: 1 + DD/OS restarts and resets */
	uint64_t bad_servers;	/* new servers whose description was refused */
	uint64_t tx_offload_dropped;	/* GSO frames for a server without offloads: dropped */
	uint64_t rx_bad_hdr;	/* received chains or offload headers that broke the rules */
	uint64_t rx_gso_dropped;	/* GSO frames dropped: ddvm_net_recv() takes plain ones */
};

/* The server's counters for this client (srv.net), as last published. */
struct ddvm_net_srv_counters {
	uint64_t rx_frames;	/* delivered to us */
	uint64_t rx_dropped;	/* for us, dropped: our RX ring was full */
	uint64_t tx_frames;	/* sent for us */
	uint64_t tx_dropped;	/* from us, dropped: malformed, oversized or spoofed */
	uint64_t tx_bad_hdr;	/* of tx_dropped: offload header or chain refused */
	uint64_t rx_segmented;	/* GSO frames the server cut into segments for us */
};

/*
 * ddvm_net_open - join the net channel at @sock_path (a hub socket) and wait
 * up to @timeout_ms for its server.  Return: 0 or -errno with @err filled.
 */
int ddvm_net_open(const char *sock_path, int timeout_ms, struct ddvm_net **out,
		  struct ddvm_err *err);

/* As ddvm_net_open over a transport the caller built (tests, other hubs). */
int ddvm_net_open_transport(const struct ddvm_chan_transport *t, int timeout_ms,
			    struct ddvm_net **out, struct ddvm_err *err);

void ddvm_net_close(struct ddvm_net *net);

/*
 * ddvm_net_info - the NIC and our address as the server described them: a
 * checked copy (mtu in DDVM_NET_MTU_MIN..MAX, buf_size DDVM_NET_BUF_SIZE, a
 * unicast MAC, NUL-terminated names) of the current server's block.
 */
const struct ddvm_net_info *ddvm_net_info(const struct ddvm_net *net);

/*
 * ddvm_net_max_frame - longest frame (no FCS) the channel carries: the NIC's
 * MTU plus DDVM_NET_FRAME_OVERHEAD, at most DDVM_NET_BUF_SIZE.
 */
uint32_t ddvm_net_max_frame(const struct ddvm_net *net);

/* The MTU a client interface should use: the NIC's, as far as a buffer holds it. */
uint32_t ddvm_net_mtu(const struct ddvm_net *net);

/* Entries of the TX and RX rings (frames each can hold). */
void ddvm_net_ring_sizes(const struct ddvm_net *net, uint32_t *tx, uint32_t *rx);

/*
 * ddvm_net_send - queue up to @n frames, one per iovec, in order.
 *
 * Fills as many TX entries as are free, publishes them at once and rings
 * the server at most once.  Return: frames queued (0 while the ring is full
 * or no server runs: try again after ddvm_net_arm(DDVM_NET_WANT_TX)); or, if
 * the first frame is malformed, -EINVAL (shorter than an Ethernet header)
 * or -EMSGSIZE (longer than ddvm_net_max_frame()); a malformed frame after
 * the first ends the batch before it, as sendmmsg() does.
 */
int ddvm_net_send(struct ddvm_net *net, const struct iovec *frames, int n);

/*
 * ddvm_net_recv - take up to @max received frames.
 * @frames: caller buffers; on return frames[i].iov_len is the length of the
 *	    i-th frame.  Buffers of DDVM_NET_BUF_SIZE bytes hold any frame; a
 *	    frame longer than its buffer is dropped and counted.  With
 *	    offloads, partial checksums are finished and GSO frames dropped
 *	    (rx_gso_dropped): a caller that takes those uses ddvm_net_recv_hdr.
 *
 * Hands the ring entries back once per call.  Descriptors with impossible
 * lengths are dropped and counted (rx_bad).  Return: frames received (0:
 * none, or no server runs), or -errno if the hub went away.
 */
int ddvm_net_recv(struct ddvm_net *net, struct iovec *frames, int max);

/*
 * Offloads (DDVM_F_NET_OFFLOAD, channel.h): frames carry a struct
 * ddvm_net_hdr, so checksums are left for the NIC and TCP crosses the
 * channel in frames of up to 64 KiB that the DD/OS's NIC (or its stack)
 * cuts into segments, and merged segments come back the same way.
 *
 * ddvm_net_set_offload - accept the feature from the next layout on
 * (@on), or stop accepting it.  A server running now that offers it is
 * asked for a fresh generation at once (frames in flight are lost, as on
 * a link reset).  The library follows each new server: with a server that
 * does not offer it, the calls below still work, but GSO frames cannot go.
 * Return: 0, or -ENOSPC if the rings are too small for chains
 * (DDVM_NET_OFFLOAD_MIN_ENTRIES).
 */
int ddvm_net_set_offload(struct ddvm_net *net, bool on);

/* Does the current generation carry offloads (the server offered, we accepted)? */
bool ddvm_net_offload(const struct ddvm_net *net);

/*
 * ddvm_net_send_hdr - as ddvm_net_send(), but each iovec is a struct
 * ddvm_net_hdr (virtio-net's, as a tap with IFF_VNET_HDR reads it) then
 * the frame.  hdr_len of a GSO frame is taken as a hint and set from the
 * headers.  A frame the header rules refuse is malformed (-EINVAL, or
 * -EMSGSIZE for a length); without offloads in this generation, a partial
 * checksum is finished here and a GSO frame is dropped (counted in
 * tx_offload_dropped) but counts as taken.
 */
int ddvm_net_send_hdr(struct ddvm_net *net, const struct iovec *frames, int n);

/*
 * ddvm_net_recv_hdr - as ddvm_net_recv(), but each frame comes with its
 * struct ddvm_net_hdr in front (zero without offloads), checked by the
 * rules of channel.h; buffers of DDVM_NET_HDR_BUF_SIZE hold any frame.
 */
int ddvm_net_recv_hdr(struct ddvm_net *net, struct iovec *frames, int max);

/*
 * ddvm_net_fd - readable when something may have happened on the channel
 * (a doorbell, a hub message).  For poll/epoll; never read it yourself.
 */
int ddvm_net_fd(const struct ddvm_net *net);

/*
 * ddvm_net_arm - clear ddvm_net_fd() and ask the server to wake it for
 * @want (DDVM_NET_WANT_*), then look once more so no wake-up is lost.
 * Return: 0 to sleep on ddvm_net_fd(); > 0 the DDVM_NET_WANT_* already
 * satisfied (don't sleep: recv or send now); -errno if the hub went away.
 * While ddvm_net_link() says DDVM_NET_LINK_ABSENT, sleep at most
 * DDVM_NET_RETRY_MS.
 */
int ddvm_net_arm(struct ddvm_net *net, unsigned int want);

/*
 * ddvm_net_link - the link as the client sees it.  Adopts a new server
 * generation if one is waiting.  The NIC's carrier is reported live while a
 * server runs and as last seen while none does.
 */
enum ddvm_net_link ddvm_net_link(struct ddvm_net *net);

void ddvm_net_get_stats(const struct ddvm_net *net, struct ddvm_net_stats *st);
void ddvm_net_server_counters(const struct ddvm_net *net, struct ddvm_net_srv_counters *c);
/* the server block's heartbeat, generation and state, for status displays */
void ddvm_net_server_state(const struct ddvm_net *net, uint64_t *heartbeat, uint32_t *generation,
			   uint32_t *state);

#endif /* DDVM_NET_CLIENT_H */
