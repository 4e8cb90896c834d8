/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Checks of peer-written channel data, inline and shared by the DD/OS module
 * and libddvm, so the host fuzzers exercise the exact code the DD/OS runs.
 * Every function takes a private copy of what the peer wrote.
 */
#ifndef _DDVM_CHECK_H
#define _DDVM_CHECK_H

#include "ring.h"

/* What a server will accept from a layout. */
struct ddvm_layout_rules {
	u64 region_size;
	u16 type;			/* enum ddvm_chan_type served */
	u32 nr_rings;
	u32 entry_size[DDVM_MAX_RINGS];
	u64 features;			/* offered */
	u32 page_size;			/* data area alignment */
};

/*
 * ddvm_layout_check - is the client's layout @c acceptable?
 * Return: 0 or an enum ddvm_chan_error code.
 */
static inline u32 ddvm_layout_check(const struct ddvm_cli_block *c,
				    const struct ddvm_layout_rules *rules)
{
	u64 size = rules->region_size;
	u32 i, j;

	if (c->magic != DDVM_MAGIC || c->version != DDVM_VERSION)
		return DDVM_ERR_VERSION;
	if (c->type != rules->type)
		return DDVM_ERR_TYPE;
	if (c->features & ~rules->features)
		return DDVM_ERR_FEATURES;
	if (c->nr_rings != rules->nr_rings || c->nr_rings > DDVM_MAX_RINGS ||
	    c->peer_id > 0xffff)
		return DDVM_ERR_LAYOUT;
	if (c->data_off < DDVM_HDR_SIZE || (c->data_off & (rules->page_size - 1)) ||
	    c->data_off >= size || !c->data_size || c->data_size > size - c->data_off)
		return DDVM_ERR_LAYOUT;
	for (i = 0; i < c->nr_rings; i++) {
		const struct ddvm_ring_layout *l = &c->rings[i];

		if (ddvm_ring_layout_check(l, rules->entry_size[i], size))
			return DDVM_ERR_LAYOUT;
		if (ddvm_ranges_overlap(l->off, ddvm_ring_bytes(l), c->data_off, c->data_size))
			return DDVM_ERR_LAYOUT;
		for (j = 0; j < i; j++)
			if (ddvm_ranges_overlap(l->off, ddvm_ring_bytes(l), c->rings[j].off,
						ddvm_ring_bytes(&c->rings[j])))
				return DDVM_ERR_LAYOUT;
	}
	return 0;
}

/* What the block server knows when it checks a request. */
struct ddvm_blk_limits {
	u64 capacity;			/* bytes */
	u64 data_size;			/* bytes of the data area */
	u32 lbs;			/* logical block size, power of two */
	u32 max_transfer;
	u64 flags;			/* DDVM_BLK_F_* of the device */
};

/*
 * ddvm_blk_req_check - may this request (a private copy) go to the device?
 * Return: 0 or an enum ddvm_blk_status.
 */
static inline u32 ddvm_blk_req_check(const struct ddvm_blk_req *r,
				     const struct ddvm_blk_limits *l)
{
	u64 mask = l->lbs - 1;

	if (r->op > DDVM_BLK_WRITE_ZEROES || (r->flags & ~DDVM_BLK_REQ_FUA))
		return DDVM_BLK_S_INVAL;
	if (r->op == DDVM_BLK_FLUSH)
		return 0;
	if (!r->len || (r->len & mask) || (r->offset & mask))
		return DDVM_BLK_S_INVAL;
	if (r->op == DDVM_BLK_READ || r->op == DDVM_BLK_WRITE) {
		if (r->len > l->max_transfer || (r->data_off & mask) ||
		    r->data_off > l->data_size || r->len > l->data_size - r->data_off)
			return DDVM_BLK_S_INVAL;
	}
	if (r->offset > l->capacity || r->len > l->capacity - r->offset)
		return DDVM_BLK_S_RANGE;
	if (r->op != DDVM_BLK_READ && (l->flags & DDVM_BLK_F_READ_ONLY))
		return DDVM_BLK_S_RDONLY;
	if (r->op == DDVM_BLK_DISCARD && !(l->flags & DDVM_BLK_F_DISCARD))
		return DDVM_BLK_S_UNSUPP;
	if (r->op == DDVM_BLK_WRITE_ZEROES && !(l->flags & DDVM_BLK_F_WRITE_ZEROES))
		return DDVM_BLK_S_UNSUPP;
	return 0;
}

/*
 * ddvm_net_layout_check - does a net layout's data area hold one buffer per
 * entry of both rings (after ddvm_layout_check accepted the rest)?
 * Return: 0 or DDVM_ERR_LAYOUT.
 */
static inline u32 ddvm_net_layout_check(const struct ddvm_cli_block *c)
{
	u64 need = ((u64)c->rings[DDVM_NET_RING_TX].entries +
		    c->rings[DDVM_NET_RING_RX].entries) * DDVM_NET_BUF_SIZE;

	return c->nr_rings == DDVM_NET_NR_RINGS && c->data_size >= need ? 0 : DDVM_ERR_LAYOUT;
}

/* Offset in the data area of the buffer of entry @idx of net ring @ring. */
static inline u64 ddvm_net_buf_off(const struct ddvm_cli_block *c, u32 ring, u32 idx)
{
	u64 base = ring == DDVM_NET_RING_RX ?
		   (u64)c->rings[DDVM_NET_RING_TX].entries * DDVM_NET_BUF_SIZE : 0;

	return base + (u64)(idx & (c->rings[ring].entries - 1)) * DDVM_NET_BUF_SIZE;
}

/*
 * ddvm_net_frame_check - may a client's frame of @len bytes go out?
 * @max_frame: the NIC's MTU plus the Ethernet header (and a VLAN tag)
 * Return: true if it is at least a header and fits the NIC and a buffer.
 */
static inline bool ddvm_net_frame_check(u32 len, u32 max_frame)
{
	return len >= DDVM_NET_MIN_FRAME && len <= max_frame && len <= DDVM_NET_BUF_SIZE;
}

#endif /* _DDVM_CHECK_H */
