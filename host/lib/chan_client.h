/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client end of a ddvm channel, independent of the device type: waits
 * for a server, lays the rings out for its generation, and sleeps on the
 * doorbell.  How doorbells reach the server (a hub peer, or a bare eventfd
 * in tests) is behind struct ddvm_chan_transport.  What to decide about a
 * server block and where the rings go are ddvm/client.h's, shared with the
 * front-end module in client VMs; this file does the waiting and the
 * writing to shared memory.
 */
#ifndef DDVM_CHAN_CLIENT_H
#define DDVM_CHAN_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <ddvm/client.h>
#include "err.h"

struct ddvm_chan_transport {
	void *region;		/* the mapped shared region */
	uint64_t size;
	uint32_t own_id;	/* our ivshmem peer id */
	int doorbell_fd;	/* eventfd the server rings us on */
	int side_fd;		/* the hub socket, polled for peer changes; -1 if none */
	/* ring @peer_id's doorbell; -ENOENT if no such peer is known (yet) */
	int (*notify)(void *ctx, uint32_t peer_id);
	/* handle what side_fd has; -errno if the link to the hub is gone */
	int (*service)(void *ctx);
	void *ctx;
};

struct ddvm_chan_client {
	struct ddvm_chan_transport t;
	struct ddvm_srv_block *srv;	/* shared; read with care */
	struct ddvm_cli_block *cli;	/* shared; we write it */
	uint16_t type;
	uint32_t generation;		/* the server generation we laid out for */
	uint32_t server_id;		/* the server's peer id, from its block */
	struct ddvm_srv_block srv_copy;	/* checked copy from the last layout */
	struct ddvm_ring rings[DDVM_MAX_RINGS];
	uint32_t nr_rings;
	uint64_t data_off;		/* data area, from region start */
	uint64_t data_size;
	uint64_t generations_seen;	/* layouts done (1 + restarts/resets) */
	int wake_fd;			/* the caller's: readable ends a wait early; -1 if none */
	uint64_t want_features;		/* DDVM_F_* to accept, beyond EVENT_IDX, when offered */
};

void ddvm_chan_client_init(struct ddvm_chan_client *c, const struct ddvm_chan_transport *t,
			   uint16_t type);

/*
 * ddvm_chan_client_connect - wait for a server and lay out the rings.
 *
 * A server already serving a predecessor is asked for a fresh generation
 * first: a new client cannot know what the old one left in flight.
 *
 * On success the server is RUNning our layout and c->srv_copy holds its
 * checked block.  Return: 0 or -errno (-ETIMEDOUT, -EPROTO for a rejected
 * layout or a server that speaks nonsense, with @err saying which).
 */
int ddvm_chan_client_connect(struct ddvm_chan_client *c, const struct ddvm_ring_want *want,
			     uint32_t nr_rings, int timeout_ms, struct ddvm_err *err);

/*
 * ddvm_chan_client_relayout - lay out again for the server's new generation
 * (after ddvm_chan_client_health() said DDVM_CHAN_NEW_SERVER).  Does not
 * wait for RUN: the caller resubmits and the server starts when it reads
 * the layout.  Return: 0 or -errno.
 */
int ddvm_chan_client_relayout(struct ddvm_chan_client *c, const struct ddvm_ring_want *want,
			      uint32_t nr_rings, struct ddvm_err *err);

/* Ring the server if it asked for it (the caller already decided). */
int ddvm_chan_client_notify(struct ddvm_chan_client *c);

/*
 * ddvm_chan_client_wait - sleep until a doorbell, a hub message, c->wake_fd
 * readable or @timeout_ms.  The wake fd is the caller's to drain.
 * Return: 1 woken, DDVM_CHAN_WAKE_FD the wake fd is readable, 0 timed
 * out, -errno (hub gone).
 */
#define DDVM_CHAN_WAKE_FD	2
int ddvm_chan_client_wait(struct ddvm_chan_client *c, int timeout_ms);

/*
 * Where does the server stand relative to our layout (enum ddvm_chan_health,
 * decided by ddvm_client_health())?  Reads shared memory once.
 */
enum ddvm_chan_health ddvm_chan_client_health(struct ddvm_chan_client *c);

/* Milliseconds on CLOCK_MONOTONIC, for deadlines. */
int64_t ddvm_now_ms(void);

#endif /* DDVM_CHAN_CLIENT_H */
