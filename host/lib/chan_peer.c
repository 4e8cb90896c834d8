// SPDX-License-Identifier: GPL-2.0
/* Transport of a client channel over a hub peer (see chan_peer.h). */
#include <string.h>

#include "chan_peer.h"

static int chan_peer_notify(void *ctx, uint32_t peer_id)
{
	return ddvm_peer_notify(ctx, peer_id, DDVM_DOORBELL_VECTOR);
}

static int chan_peer_service(void *ctx)
{
	int ret = ddvm_peer_process_hub(ctx, NULL);

	return ret < 0 ? ret : 0;
}

int ddvm_chan_peer_open(const char *sock_path, struct ddvm_peer **peer,
			struct ddvm_chan_transport *t, struct ddvm_err *err)
{
	size_t size;
	int ret;

	ret = ddvm_peer_connect(sock_path, peer, err);
	if (ret)
		return ret;
	memset(t, 0, sizeof(*t));
	t->region = ddvm_peer_region(*peer, &size);
	t->size = size;
	t->own_id = ddvm_peer_id(*peer);
	t->doorbell_fd = ddvm_peer_doorbell_fd(*peer, DDVM_DOORBELL_VECTOR);
	t->side_fd = ddvm_peer_hub_fd(*peer);
	t->notify = chan_peer_notify;
	t->service = chan_peer_service;
	t->ctx = *peer;
	return 0;
}
