/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A host program as a peer of a ddvm channel: joins the hub's socket like
 * QEMU's ivshmem-doorbell device does, maps the shared region and rings and
 * receives doorbells (eventfds).
 *
 * Typical use: ddvm_peer_connect(); poll ddvm_peer_hub_fd() and
 * ddvm_peer_doorbell_fd(p, 0) for POLLIN; on the first call
 * ddvm_peer_process_hub() (peers joined or left), on the second read the
 * eventfd and look at the region; ddvm_peer_notify() to wake another peer.
 */
#ifndef DDVM_PEER_H
#define DDVM_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define DDVM_PEER_MAX_PEERS	1024	/* other peers tracked; more is a protocol error */
#define DDVM_PEER_SETUP_TIMEOUT_MS 5000	/* for the hub's setup messages */

struct ddvm_peer;

/**
 * ddvm_peer_connect() - join a channel with one doorbell vector.
 * @sock_path: the hub's socket for the channel (SOCKDIR/NAME.sock)
 * @out: the new peer
 * @err: filled with a message naming @sock_path on failure
 *
 * Same as ddvm_peer_connect_vectors() with one vector, the hub's default.
 *
 * Return: 0 or -errno.
 */
int ddvm_peer_connect(const char *sock_path, struct ddvm_peer **out, struct ddvm_err *err);

/**
 * ddvm_peer_connect_vectors() - join a channel.
 * @sock_path: the hub's socket for the channel
 * @vectors: doorbell vectors to use, 1..DDVM_IVSHMEM_MAX_VECTORS; like
 *           QEMU's "vectors=", extra ones the hub sends are closed
 * @out: the new peer
 * @err: filled with a message naming @sock_path on failure
 *
 * Reads the setup messages (checking every value: version 0, an id in
 * 0..65535, a region that is a regular file or memfd of a power-of-two size
 * in 64K..16G, only eventfds as doorbells), maps the region shared and
 * returns once it has its own @vectors eventfds.  The hub socket is then
 * non-blocking.
 *
 * Return: 0; -EUSERS if the channel is full; -ETIMEDOUT if the hub sent
 * too little in DDVM_PEER_SETUP_TIMEOUT_MS; -EPROTO for a hub that does
 * not follow the protocol; another -errno from connecting or mapping.
 */
int ddvm_peer_connect_vectors(const char *sock_path, unsigned int vectors,
			      struct ddvm_peer **out, struct ddvm_err *err);

/**
 * ddvm_peer_attach() - join a channel over an already connected socket.
 * @sock: a unix stream socket to the hub; owned by the peer from now on,
 *        closed also on failure
 * @name: how messages name the hub (e.g. its socket path)
 * @vectors: as for ddvm_peer_connect_vectors()
 * @out: the new peer
 * @err: filled with a message naming @name on failure
 *
 * Return: as ddvm_peer_connect_vectors().
 */
int ddvm_peer_attach(int sock, const char *name, unsigned int vectors,
		     struct ddvm_peer **out, struct ddvm_err *err);

/**
 * ddvm_peer_process_hub() - handle what the hub sent since the last call.
 * @peer: the peer
 * @err: filled on failure (may be NULL)
 *
 * Never blocks (except briefly for the rest of a half-arrived message):
 * call it when ddvm_peer_hub_fd() is readable.  Updates the table of other
 * peers (joined: their eventfds; left: closed).  Handles at most a bounded
 * number of messages per call; if it returns that many, call again.
 *
 * On any error the hub connection is closed (as the spec asks: the stream
 * may be out of step) and ddvm_peer_hub_fd() returns -1; the region and the
 * doorbells known so far stay usable, but nobody will tell us about joins
 * and departures any more.
 *
 * Return: the number of messages handled (0 if none was waiting);
 * -ECONNRESET if the hub has gone; -EPROTO if it sent something invalid.
 */
int ddvm_peer_process_hub(struct ddvm_peer *peer, struct ddvm_err *err);

/**
 * ddvm_peer_hub_fd() - the hub socket, to poll for POLLIN.
 * @peer: the peer
 *
 * Return: the fd, or -1 once the hub has gone.
 */
int ddvm_peer_hub_fd(const struct ddvm_peer *peer);

/**
 * ddvm_peer_notify() - ring another peer's doorbell.
 * @peer: the peer
 * @peer_id: whom to ring, as the hub numbered it (our own id rings us)
 * @vector: which of its vectors
 *
 * Return: 0; -ENOENT if no peer @peer_id is known or it has no @vector;
 * another -errno from writing the eventfd.
 */
int ddvm_peer_notify(struct ddvm_peer *peer, unsigned int peer_id, unsigned int vector);

/**
 * ddvm_peer_doorbell_fd() - our own eventfd for @vector.
 * @peer: the peer
 * @vector: 0..vectors-1
 *
 * Readable when another peer rang us; read its 8-byte counter to re-arm.
 * The fd is non-blocking and stays owned by @peer.
 *
 * Return: the fd, or -ENOENT if there is no such vector.
 */
int ddvm_peer_doorbell_fd(const struct ddvm_peer *peer, unsigned int vector);

/**
 * ddvm_peer_has() - whether peer @id is connected, as far as the hub told us.
 * @peer: the peer
 * @id: a peer id (our own counts)
 */
bool ddvm_peer_has(const struct ddvm_peer *peer, unsigned int id);

/**
 * ddvm_peer_id() - our id on the channel (0..65535), as the hub assigned it.
 * @peer: the peer
 */
unsigned int ddvm_peer_id(const struct ddvm_peer *peer);

/**
 * ddvm_peer_region() - the shared region, mapped read-write and shared.
 * @peer: the peer
 * @size: if not NULL, set to the region's size in bytes
 *
 * Every byte may be written by the other peers at any time: copy, then
 * check what they wrote.
 */
void *ddvm_peer_region(const struct ddvm_peer *peer, size_t *size);

/**
 * ddvm_peer_close() - leave the channel: unmap, close every fd, free.
 * @peer: the peer, or NULL
 */
void ddvm_peer_close(struct ddvm_peer *peer);

#endif /* DDVM_PEER_H */
