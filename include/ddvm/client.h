/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The client side of the channel handshake, the pure decisions only, inline
 * and shared like ring.h and check.h, so that a client VM's front-end module
 * (guest/front) and libddvm (host/lib/chan_client.c, blk_client.c,
 * net_client.c) lay out channels the same way, judge servers by the same
 * rules and count net chains alike.  Nothing here touches shared memory
 * but through ring.h: callers pass private copies.
 */
#ifndef _DDVM_CLIENT_H
#define _DDVM_CLIENT_H

#include "check.h"

/* One ring a client wants. */
struct ddvm_ring_want {
	u32 entries;
	u32 entry_size;
};

enum ddvm_chan_health {
	DDVM_CHAN_OK,		/* the server runs (or is about to run) our layout */
	DDVM_CHAN_NEW_SERVER,	/* a new generation waits for a layout: lay out, replay */
	DDVM_CHAN_ABSENT,	/* no server now (failed, stopped, restarting) */
};

/*
 * ddvm_client_srv_check - may a client of @type use this server block (a
 * private copy, state read with acquire before the rest)?
 * Return: 0; -EAGAIN while no valid block is there; -EPROTO for a server
 * of another version or type, or with an impossible peer id.
 */
static inline int ddvm_client_srv_check(const struct ddvm_srv_block *s, u16 type)
{
	if (s->magic != DDVM_MAGIC)
		return -EAGAIN;
	if (s->version != DDVM_VERSION || s->type != type || s->peer_id > 0xffff)
		return -EPROTO;
	return 0;
}

/*
 * ddvm_client_health - where does a server in @state at @generation stand
 * relative to a layout made for @ours?
 */
static inline enum ddvm_chan_health ddvm_client_health(u32 state, u32 generation, u32 ours)
{
	/* WAIT for our generation: the server has yet to read our layout, but will */
	if ((state == DDVM_SRV_RUN || state == DDVM_SRV_WAIT) && generation == ours)
		return DDVM_CHAN_OK;
	if ((state == DDVM_SRV_WAIT || state == DDVM_SRV_ERROR) && generation != ours)
		return DDVM_CHAN_NEW_SERVER;
	return DDVM_CHAN_ABSENT;
}

/*
 * ddvm_client_features - the features a client accepts of those a server
 * @offered: EVENT_IDX always, and of the others those it @wanted (for
 * instance DDVM_F_NET_OFFLOAD).  A layout carries them in cli.features.
 */
static inline u64 ddvm_client_features(u64 offered, u64 wanted)
{
	return offered & (DDVM_F_EVENT_IDX | wanted);
}

/*
 * ddvm_client_layout - a client block laying @nr_rings rings out for the
 * server block @s in a region of @size bytes: rings one after the other
 * from the end of the header, 64-byte aligned, the data area page-aligned
 * after them up to the end.  The same @want always gives the same layout,
 * so buffers and slots stay where they were across generations.
 * Return: 0, or -ENOSPC if the rings leave no data area.
 */
static inline int ddvm_client_layout(struct ddvm_cli_block *cli, const struct ddvm_srv_block *s,
				     u16 type, u32 own_id, u64 size,
				     const struct ddvm_ring_want *want, u32 nr_rings)
{
	u64 off = DDVM_HDR_SIZE;
	u32 i;

	memset(cli, 0, sizeof(*cli));
	cli->magic = DDVM_MAGIC;
	cli->version = DDVM_VERSION;
	cli->type = type;
	cli->generation = s->generation;
	cli->peer_id = own_id;
	cli->features = ddvm_client_features(s->features, 0);
	cli->state = DDVM_CLI_NONE;
	for (i = 0; i < nr_rings && i < DDVM_MAX_RINGS; i++) {
		cli->rings[i].off = off;
		cli->rings[i].entries = want[i].entries;
		cli->rings[i].entry_size = want[i].entry_size;
		off += ddvm_ring_bytes(&cli->rings[i]);
		off = (off + 63) & ~63ull;
	}
	off = (off + 4095) & ~4095ull;
	if (off >= size)
		return -ENOSPC;
	cli->nr_rings = nr_rings;
	cli->data_off = off;
	cli->data_size = size - off;
	return 0;
}

/* Block clients: the largest rings whose slots still hold a 1 MiB request. */
#define DDVM_BLK_CLIENT_ENTRIES_MAX	128
#define DDVM_BLK_CLIENT_SLOT_MAX	(1u << 20)

/*
 * ddvm_blk_client_plan - rings and data-area slots for a block client in a
 * region of @size bytes: as many slots as the rings hold (one per request
 * in flight), each as large as the region allows up to 1 MiB.
 * Return: 0 with *@entries and *@slot_size, or -ENOSPC.
 */
static inline int ddvm_blk_client_plan(u64 size, u32 *entries, u32 *slot_size)
{
	u32 e = DDVM_BLK_CLIENT_ENTRIES_MAX;
	u64 lost, data = 0, slot;

	for (; e; e /= 2) {
		/* header + both rings, rounded to a page, is what the data area loses */
		lost = DDVM_HDR_SIZE + 4096 +
		       ((2 * DDVM_RING_CTL_SIZE + (u64)e * (sizeof(struct ddvm_blk_req) +
							   sizeof(struct ddvm_blk_cmp)) + 4095) & ~4095ull);
		data = size > lost ? size - lost : 0;
		if (data / e >= DDVM_BLK_CLIENT_SLOT_MAX || e == 1)
			break;
	}
	slot = (data / e) & ~4095ull;
	if (slot > DDVM_BLK_CLIENT_SLOT_MAX)
		slot = DDVM_BLK_CLIENT_SLOT_MAX;
	if (slot < 4096)
		return -ENOSPC;
	*entries = e;
	*slot_size = (u32)slot;
	return 0;
}

/*
 * Net clients: the largest RX ring laid out (TX gets at most half).  A
 * burst a client's stack sends in one go must fit; more only adds delay.
 */
#define DDVM_NET_CLIENT_RX_MAX	1024

/* Where the data area of a net client's layout starts, for these rings (ddvm_client_layout). */
static inline u64 ddvm_net_client_data_start(u32 tx, u32 rx)
{
	u64 off = DDVM_HDR_SIZE, entries[DDVM_NET_NR_RINGS] = { tx, rx };
	int i;

	for (i = 0; i < DDVM_NET_NR_RINGS; i++)
		off = (off + DDVM_RING_CTL_SIZE + entries[i] * sizeof(struct ddvm_net_desc) + 63) &
		      ~63ull;
	return (off + 4095) & ~4095ull;
}

static inline bool ddvm_net_client_fits(u64 size, u32 tx, u32 rx)
{
	u64 start = ddvm_net_client_data_start(tx, rx);

	return start < size && size - start >= ((u64)tx + rx) * DDVM_NET_BUF_SIZE;
}

/*
 * ddvm_net_client_plan - ring entries for a net client in a region of
 * @size bytes: the largest rings whose frame buffers fit, the same size
 * both ways, then RX doubled if there is room, since a receiver cannot
 * push back on a sender across the DD/OS (a full RX ring drops).
 * Return: 0 with *@tx and *@rx, or -ENOSPC if not even one buffer each
 * way fits.
 */
static inline int ddvm_net_client_plan(u64 size, u32 *tx, u32 *rx)
{
	u32 e;

	for (e = DDVM_NET_CLIENT_RX_MAX / 2; e; e /= 2)
		if (ddvm_net_client_fits(size, e, e))
			break;
	if (!e)
		return -ENOSPC;
	*tx = e;
	*rx = ddvm_net_client_fits(size, e, 2 * e) ? 2 * e : e;
	return 0;
}

/*
 * ddvm_net_chain_entries - ring entries a frame of @len bytes takes with
 * DDVM_F_NET_OFFLOAD: its header and its bytes, buffer after buffer.
 */
static inline u32 ddvm_net_chain_entries(u32 len)
{
	return (u32)((sizeof(struct ddvm_net_hdr) + (u64)len + DDVM_NET_BUF_SIZE - 1) /
		     DDVM_NET_BUF_SIZE);
}

/*
 * ddvm_net_chain_take - take the descriptors of the next offloaded frame
 * (a chain) off @r, with *@avail entries ready, accounting them in @ch;
 * its buffers start at the first entry's.  Check @ch afterwards
 * (ddvm_net_chain_check).  Return: 0, or -EPROTO if the producer's index
 * cuts the chain (the ring is broken, not the frame).
 */
static inline int ddvm_net_chain_take(struct ddvm_ring *r, int *avail, struct ddvm_net_chain *ch)
{
	struct ddvm_net_desc d;

	do {
		if (*avail <= 0)
			return -EPROTO;
		ddvm_ring_take(r, &d);	/* d is ours: the producer cannot change it now */
		(*avail)--;
	} while (ddvm_net_chain_add(ch, &d));
	return 0;
}

#endif /* _DDVM_CLIENT_H */
