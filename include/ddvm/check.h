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

	if (c->nr_rings != DDVM_NET_NR_RINGS || c->data_size < need)
		return DDVM_ERR_LAYOUT;
	/* a ring must hold the longest chain, and then some */
	if ((c->features & DDVM_F_NET_OFFLOAD) &&
	    (c->rings[DDVM_NET_RING_TX].entries < DDVM_NET_OFFLOAD_MIN_ENTRIES ||
	     c->rings[DDVM_NET_RING_RX].entries < DDVM_NET_OFFLOAD_MIN_ENTRIES))
		return DDVM_ERR_LAYOUT;
	return 0;
}

/* Offset in the data area of the buffer of entry @idx of net ring @ring. */
static inline u64 ddvm_net_buf_off(const struct ddvm_cli_block *c, u32 ring, u32 idx)
{
	u64 base = ring == DDVM_NET_RING_RX ?
		   (u64)c->rings[DDVM_NET_RING_TX].entries * DDVM_NET_BUF_SIZE : 0;

	return base + (u64)(idx & (c->rings[ring].entries - 1)) * DDVM_NET_BUF_SIZE;
}

/*
 * Bytes of ring @ring's buffers from entry @idx's to the end of the ring's
 * last one: a chain starting at @idx is contiguous that far, then wraps to
 * the ring's first buffer.
 */
static inline u32 ddvm_net_buf_room(const struct ddvm_cli_block *c, u32 ring, u32 idx)
{
	u32 entries = c->rings[ring].entries;

	return (entries - (idx & (entries - 1))) * DDVM_NET_BUF_SIZE;
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

/* ------------------------------------------------------- net offloads */

/*
 * A chain of ring entries holding one offloaded frame, as the consumer
 * takes its descriptors (private copies) one by one: ddvm_net_chain_add()
 * for each until it returns false, then ddvm_net_chain_check().
 */
struct ddvm_net_chain {
	u32 entries;
	u32 bytes;		/* header and frame */
	bool bad;		/* a descriptor broke the chain rules */
};

/*
 * ddvm_net_chain_add - account descriptor @d to chain @ch.
 * Return: true if the frame goes on in the next entry (DDVM_NET_DESC_MORE).
 * A consumer that has no next entry (the producer index cuts the chain)
 * has a broken ring, not a bad frame.
 */
static inline bool ddvm_net_chain_add(struct ddvm_net_chain *ch, const struct ddvm_net_desc *d)
{
	bool more = d->flags & DDVM_NET_DESC_MORE;

	ch->entries++;
	if ((d->flags & ~DDVM_NET_DESC_MORE) || ch->entries > DDVM_NET_CHAIN_MAX ||
	    (more ? d->len != DDVM_NET_BUF_SIZE : !d->len || d->len > DDVM_NET_BUF_SIZE))
		ch->bad = true;
	else
		ch->bytes += d->len;	/* at most DDVM_NET_CHAIN_MAX buffers */
	return more;
}

/* ddvm_net_chain_check - do the entries hold a header and a frame of sane length? */
static inline bool ddvm_net_chain_check(const struct ddvm_net_chain *ch)
{
	return !ch->bad &&
	       ch->bytes >= sizeof(struct ddvm_net_hdr) + DDVM_NET_MIN_FRAME &&
	       ch->bytes <= sizeof(struct ddvm_net_hdr) + DDVM_NET_OFFLOAD_MAX_FRAME;
}

/* Why ddvm_net_hdr_check() refused a frame. */
enum ddvm_net_hdr_err {
	DDVM_NET_HDR_OK = 0,
	DDVM_NET_HDR_FLAGS,	/* unknown flags, rsvd not 0 */
	DDVM_NET_HDR_LENGTH,	/* the frame is too short or too long for what it claims */
	DDVM_NET_HDR_CSUM,	/* csum_start/csum_offset outside the frame or the transport header */
	DDVM_NET_HDR_GSO_TYPE,	/* unknown type, ECN without TCP, GSO without NEEDS_CSUM */
	DDVM_NET_HDR_GSO_SIZE,	/* segments too small, too many, or larger than the MTU */
	DDVM_NET_HDR_PROTO,	/* the headers are not the IP and transport the type says */
	DDVM_NET_HDR_HDR_LEN,	/* hdr_len is not the end of the transport header */
};

/* Bytes of a frame the header checks may read: Ethernet, VLAN, IPv4 options, TCP options. */
#define DDVM_NET_HDR_PARSE_MAX	(14 + 4 + 60 + 60)

static inline u32 ddvm_net_be16(const unsigned char *p)
{
	return (u32)p[0] << 8 | p[1];
}

/* The IP and transport headers of a frame, as ddvm_net_l4_parse() found them. */
struct ddvm_net_l4 {
	u32 l3_off;		/* the IP header */
	u32 l4_off;		/* the TCP or UDP header */
	u32 l4_len;		/* its length, TCP options included */
	u32 ip_version;		/* 4 or 6 */
	u32 proto;		/* 6 (TCP) or 17 (UDP) */
};

/*
 * ddvm_net_l4_parse - find TCP or UDP in a frame: an Ethernet header (at
 * most one VLAN tag), IPv4 that is not a fragment or IPv6 without
 * extension headers, then a TCP header whose data offset fits, or UDP.
 * @frame holds @avail bytes of a frame of @len bytes.
 * Return: true with @l filled, false if the frame is anything else.
 */
static inline bool ddvm_net_l4_parse(const unsigned char *frame, u32 avail, u32 len,
				     struct ddvm_net_l4 *l)
{
	const unsigned char *ip;
	u32 type;

	if (avail > len)
		avail = len;
	l->l3_off = 14;
	if (avail < l->l3_off)
		return false;
	type = ddvm_net_be16(frame + 12);
	if (type == 0x8100 || type == 0x88a8) {
		l->l3_off += 4;
		if (avail < l->l3_off)
			return false;
		type = ddvm_net_be16(frame + 16);
	}
	ip = frame + l->l3_off;
	if (type == 0x0800) {
		/* IPv4: a sane IHL, and MF clear with offset 0 */
		if (avail < l->l3_off + 20 || ip[0] >> 4 != 4 || (ip[0] & 15) < 5 ||
		    (ddvm_net_be16(ip + 6) & 0x3fff))
			return false;
		l->ip_version = 4;
		l->proto = ip[9];
		l->l4_off = l->l3_off + (ip[0] & 15) * 4u;
	} else if (type == 0x86dd) {
		if (avail < l->l3_off + 40 || ip[0] >> 4 != 6)
			return false;
		l->ip_version = 6;
		l->proto = ip[6];	/* the next header: no extension headers */
		l->l4_off = l->l3_off + 40;
	} else {
		return false;
	}
	if (l->proto == 6) {
		if (avail < l->l4_off + 20)
			return false;
		l->l4_len = (frame[l->l4_off + 12] >> 4) * 4u;
		return l->l4_len >= 20 && l->l4_off + l->l4_len <= avail;
	}
	l->l4_len = 8;
	return l->proto == 17 && l->l4_off + 8 <= avail;
}

/* Offset of the checksum field in a TCP (6) or UDP (17) header. */
static inline u32 ddvm_net_l4_csum_offset(u32 proto)
{
	return proto == 6 ? 16 : 6;
}

/*
 * ddvm_net_hdr_check - may a frame with offload header @h go on?
 * @h:         a private copy of the header
 * @frame:     a private copy of the frame's first @avail bytes (all of
 *	       them, or at least DDVM_NET_HDR_PARSE_MAX)
 * @len:       the frame's length, header excluded
 * @max_frame: the longest unsegmented frame: MTU + DDVM_NET_FRAME_OVERHEAD
 *
 * The rules are channel.h's.  Return: DDVM_NET_HDR_OK or an enum
 * ddvm_net_hdr_err.
 */
static inline u32 ddvm_net_hdr_check(const struct ddvm_net_hdr *h, const unsigned char *frame,
				     u32 avail, u32 len, u32 max_frame)
{
	u32 type = h->gso_type & ~DDVM_NET_GSO_ECN, payload, segs;
	struct ddvm_net_l4 l;

	if ((h->flags & ~(DDVM_NET_HDR_F_NEEDS_CSUM | DDVM_NET_HDR_F_DATA_VALID)) || h->rsvd)
		return DDVM_NET_HDR_FLAGS;
	if (len < DDVM_NET_MIN_FRAME)
		return DDVM_NET_HDR_LENGTH;
	if ((h->flags & DDVM_NET_HDR_F_NEEDS_CSUM) &&
	    (h->csum_start < DDVM_NET_MIN_FRAME || h->csum_start >= len ||
	     (u32)h->csum_offset + 2 > len - h->csum_start))
		return DDVM_NET_HDR_CSUM;
	if (h->gso_type == DDVM_NET_GSO_NONE) {
		if (h->gso_size || h->hdr_len)
			return DDVM_NET_HDR_GSO_SIZE;
		return len <= max_frame ? DDVM_NET_HDR_OK : DDVM_NET_HDR_LENGTH;
	}

	if ((type != DDVM_NET_GSO_TCPV4 && type != DDVM_NET_GSO_TCPV6 &&
	     type != DDVM_NET_GSO_UDP_L4) ||
	    (type == DDVM_NET_GSO_UDP_L4 && (h->gso_type & DDVM_NET_GSO_ECN)) ||
	    !(h->flags & DDVM_NET_HDR_F_NEEDS_CSUM))
		return DDVM_NET_HDR_GSO_TYPE;
	if (len > DDVM_NET_OFFLOAD_MAX_FRAME)
		return DDVM_NET_HDR_LENGTH;
	if (!ddvm_net_l4_parse(frame, avail, len, &l) ||
	    l.proto != (type == DDVM_NET_GSO_UDP_L4 ? 17u : 6u) ||
	    (type == DDVM_NET_GSO_TCPV4 && l.ip_version != 4) ||
	    (type == DDVM_NET_GSO_TCPV6 && l.ip_version != 6))
		return DDVM_NET_HDR_PROTO;
	if (h->csum_start != l.l4_off || h->csum_offset != ddvm_net_l4_csum_offset(l.proto))
		return DDVM_NET_HDR_CSUM;
	if (h->hdr_len != l.l4_off + l.l4_len)
		return DDVM_NET_HDR_HDR_LEN;
	/* the parse found the headers inside the frame: len >= hdr_len */
	payload = len - h->hdr_len;
	if (h->gso_size < DDVM_NET_GSO_SIZE_MIN || h->gso_size > max_frame ||
	    h->hdr_len > max_frame - h->gso_size)
		return DDVM_NET_HDR_GSO_SIZE;
	segs = (payload + h->gso_size - 1) / h->gso_size;
	if (segs > (type == DDVM_NET_GSO_UDP_L4 ? DDVM_NET_UDP_MAX_SEGS : DDVM_NET_GSO_MAX_SEGS))
		return DDVM_NET_HDR_GSO_SIZE;
	return DDVM_NET_HDR_OK;
}

#endif /* _DDVM_CHECK_H */
