/* SPDX-License-Identifier: GPL-2.0 */
/* A client channel's transport over a hub peer: the glue between peer.h and chan_client.h. */
#ifndef DDVM_CHAN_PEER_H
#define DDVM_CHAN_PEER_H

#include "chan_client.h"
#include "peer.h"

/*
 * ddvm_chan_peer_open - join the hub channel at @sock_path and describe it
 * as a transport.  The peer stays owned by the caller (*peer).
 * Return: 0 or -errno with @err filled.
 */
int ddvm_chan_peer_open(const char *sock_path, struct ddvm_peer **peer,
			struct ddvm_chan_transport *t, struct ddvm_err *err);

#endif /* DDVM_CHAN_PEER_H */
