// SPDX-License-Identifier: GPL-2.0
/*
 * Frames of the net front end, in and out of the ring buffers.
 *
 * Plain (no DDVM_F_NET_OFFLOAD): one finished frame per ring entry and
 * buffer, at most a buffer long.
 *
 * With offloads, as between a virtio-net driver and its device: every
 * frame is a struct ddvm_net_hdr (byte for byte a little-endian
 * virtio_net_hdr_v1) and the frame, over a chain of up to
 * DDVM_NET_CHAIN_MAX buffers, so a 64 KiB TSO frame with a partial
 * checksum crosses the channel whole and the DD/OS's NIC (or its GSO)
 * cuts it up.  The header is the kernel's own virtio_net_hdr_from_skb()
 * and virtio_net_hdr_to_skb(), judged by the channel's rules
 * (ddvm_net_hdr_check, the code the DD/OS checks us with): a frame the
 * rules cannot describe is never sent that way (ndo_features_check
 * leaves it to the stack's software GSO), and a received one that breaks
 * them is dropped and counted.  Chains and headers the server wrote are
 * read once, from private copies, and checked before use.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>

#include "front_net.h"

/* Received frames up to a buffer long get a linear skb; longer ones their headers linear. */
#define DDVM_FRONT_NET_RX_COPYBREAK	DDVM_NET_BUF_SIZE
#define DDVM_FRONT_NET_RX_LINEAR	256	/* more than the header checks parse */
static_assert(DDVM_FRONT_NET_RX_LINEAR >= DDVM_NET_HDR_PARSE_MAX);

/* The buffer of entry @idx of ring @ring, and its bytes up to the end of that ring's buffers. */
static u8 *ddvm_front_net_buf(struct ddvm_front_net *n, u32 ring, u32 idx, u32 *room)
{
	*room = ddvm_net_buf_room(&n->layout, ring, idx);
	return n->data + ddvm_net_buf_off(&n->layout, ring, idx);
}

/* ------------------------------------------------------------ headers */

static void ddvm_front_net_hdr_from_virtio(struct ddvm_net_hdr *h, const struct virtio_net_hdr *v)
{
	h->flags = v->flags;
	h->gso_type = v->gso_type;
	h->hdr_len = __virtio16_to_cpu(true, v->hdr_len);
	h->gso_size = __virtio16_to_cpu(true, v->gso_size);
	h->csum_start = __virtio16_to_cpu(true, v->csum_start);
	h->csum_offset = __virtio16_to_cpu(true, v->csum_offset);
	h->rsvd = 0;
}

static void ddvm_front_net_hdr_to_virtio(struct virtio_net_hdr *v, const struct ddvm_net_hdr *h)
{
	v->flags = h->flags;
	v->gso_type = h->gso_type;
	v->hdr_len = __cpu_to_virtio16(true, h->hdr_len);
	v->gso_size = __cpu_to_virtio16(true, h->gso_size);
	v->csum_start = __cpu_to_virtio16(true, h->csum_start);
	v->csum_offset = __cpu_to_virtio16(true, h->csum_offset);
}

/*
 * The offload header for @skb (the Ethernet header at skb->data), checked
 * by the rules the server will check it by.  Return: 0, or -EINVAL if
 * they cannot describe the frame.
 */
static int ddvm_front_net_skb_hdr(const struct ddvm_front_net *n, const struct sk_buff *skb,
				  struct ddvm_net_hdr *h)
{
	u8 copy[DDVM_NET_HDR_PARSE_MAX];
	u32 avail = min_t(u32, skb->len, sizeof(copy));
	struct virtio_net_hdr v;
	struct ddvm_net_l4 l;
	const u8 *head;

	if (virtio_net_hdr_from_skb(skb, &v, true, false, 0))
		return -EINVAL;
	ddvm_front_net_hdr_from_virtio(h, &v);
	head = skb_header_pointer(skb, 0, avail, copy);
	if (!head)
		return -EINVAL;
	/* virtio's hdr_len says how much was linear; the channel's, where the headers end */
	if (h->gso_type != DDVM_NET_GSO_NONE) {
		if (!ddvm_net_l4_parse(head, avail, skb->len, &l))
			return -EINVAL;
		h->hdr_len = l.l4_off + l.l4_len;
	}
	return ddvm_net_hdr_check(h, head, avail, skb->len, READ_ONCE(n->mtu_frame)) ? -EINVAL : 0;
}

/*
 * ndo_features_check: a GSO or partially checksummed frame whose header
 * the channel's rules refuse (IPv6 extension headers, two VLAN tags, too
 * many segments...) is segmented and checksummed by the stack instead.
 */
netdev_features_t ddvm_front_net_features_check(struct sk_buff *skb, struct net_device *dev,
						netdev_features_t features)
{
	struct ddvm_front_net *n = netdev_priv(dev);
	struct ddvm_net_hdr h;

	features = vlan_features_check(skb, features);
	if ((skb_is_gso(skb) || skb->ip_summed == CHECKSUM_PARTIAL) &&
	    ddvm_front_net_skb_hdr(n, skb, &h))
		features &= ~(NETIF_F_GSO_MASK | NETIF_F_CSUM_MASK);
	return features;
}

/* ----------------------------------------------------------------- TX */

/*
 * ddvm_front_net_tx_plain - copy @skb as a finished frame into the TX
 * ring's next entry.  @room: free entries.
 * Return: entries used (1), -ENOSPC without room, -EINVAL for a frame
 * the channel cannot carry now (a GSO frame made for a generation with
 * offloads: lost, as on a wire being replugged).
 */
int ddvm_front_net_tx_plain(struct ddvm_front_net *n, struct sk_buff *skb, int room)
{
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];
	struct ddvm_net_desc d = { 0 };
	u32 unused;

	if (skb_is_gso(skb) || skb->len < DDVM_NET_MIN_FRAME || skb->len > n->max_frame)
		return -EINVAL;
	if (!room)
		return -ENOSPC;
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return -EINVAL;
	if (skb_copy_bits(skb, 0, ddvm_front_net_buf(n, DDVM_NET_RING_TX, tx->local, &unused),
			  skb->len))
		return -EINVAL;
	d.len = skb->len;
	memcpy(ddvm_ring_next(tx), &d, sizeof(d));
	tx->local++;
	return 1;
}

/*
 * ddvm_front_net_tx_chain - copy @skb behind its offload header into the
 * TX ring from its next entry on (a chain; it wraps from the ring's last
 * buffer to its first).  @room: free entries.
 * Return: entries used, -ENOSPC if it needs more than @room, -EINVAL if
 * the channel's rules refuse its header.
 */
int ddvm_front_net_tx_chain(struct ddvm_front_net *n, struct sk_buff *skb, int room)
{
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];
	struct ddvm_net_desc d = { 0 };
	struct ddvm_net_hdr h;
	u32 len = skb->len, total, part, buf_room, unused;
	u8 *buf;
	int nr;

	if (ddvm_front_net_skb_hdr(n, skb, &h))
		return -EINVAL;
	nr = ddvm_net_chain_entries(len);
	if (nr > room)
		return -ENOSPC;
	buf = ddvm_front_net_buf(n, DDVM_NET_RING_TX, tx->local, &buf_room);
	memcpy(buf, &h, sizeof(h));
	part = min_t(u32, len, buf_room - sizeof(h));
	if (skb_copy_bits(skb, 0, buf + sizeof(h), part) ||
	    (part < len && skb_copy_bits(skb, part, ddvm_front_net_buf(n, DDVM_NET_RING_TX, 0, &unused),
					 len - part)))
		return -EINVAL;
	for (total = sizeof(h) + len; total; total -= d.len) {
		d.len = min_t(u32, total, DDVM_NET_BUF_SIZE);
		d.flags = total > DDVM_NET_BUF_SIZE ? DDVM_NET_DESC_MORE : 0;
		memcpy(ddvm_ring_next(tx), &d, sizeof(d));
		tx->local++;
	}
	if (h.gso_type != DDVM_NET_GSO_NONE)
		n->tx_gso++;
	return nr;
}

/* ----------------------------------------------------------------- RX */

/*
 * ddvm_front_net_rx_plain - the next plain frame of the RX ring, copied
 * into a new skb.  Return: the skb, or NULL if the frame was dropped
 * (counted).
 */
struct sk_buff *ddvm_front_net_rx_plain(struct ddvm_front_net *n, int *avail)
{
	struct ddvm_ring *rx = &n->chan.rings[DDVM_NET_RING_RX];
	struct net_device *dev = n->dev;
	struct ddvm_net_desc d;
	struct sk_buff *skb;
	u32 unused;
	u8 *buf;

	buf = ddvm_front_net_buf(n, DDVM_NET_RING_RX, rx->local, &unused);
	ddvm_ring_take(rx, &d);		/* d is ours: the server cannot change it now */
	(*avail)--;
	if (d.len < DDVM_NET_MIN_FRAME || d.len > DDVM_NET_BUF_SIZE) {
		dev->stats.rx_length_errors++;
		dev->stats.rx_errors++;
		return NULL;
	}
	skb = napi_alloc_skb(&n->napi, d.len);
	if (!skb) {
		dev->stats.rx_dropped++;
		return NULL;
	}
	skb_put_data(skb, buf, d.len);
	return skb;
}

/* An skb for a received frame of @len bytes: linear if short, else its headers. */
static struct sk_buff *ddvm_front_net_rx_alloc(struct ddvm_front_net *n, u32 len)
{
	u32 linear = len <= DDVM_FRONT_NET_RX_COPYBREAK ? len : DDVM_FRONT_NET_RX_LINEAR;
	struct sk_buff *skb;
	int err;

	if (linear == len) {
		skb = napi_alloc_skb(&n->napi, len);
		if (skb)
			skb_put(skb, len);
		return skb;
	}
	skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + linear, len - linear,
				   PAGE_ALLOC_COSTLY_ORDER, &err, GFP_ATOMIC);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put(skb, linear);
	skb->data_len = len - linear;
	skb->len += len - linear;
	return skb;
}

/*
 * Make @skb what its header @h (checked) says: a partial checksum, a GSO
 * frame the stack checks again (DODGY), or a checksum the DD/OS verified.
 */
static int ddvm_front_net_rx_apply(struct ddvm_front_net *n, struct sk_buff *skb,
				   const struct ddvm_net_hdr *h)
{
	struct virtio_net_hdr v;

	if ((h->flags & DDVM_NET_HDR_F_DATA_VALID) && (n->dev->features & NETIF_F_RXCSUM))
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	ddvm_front_net_hdr_to_virtio(&v, h);
	if (virtio_net_hdr_to_skb(skb, &v, true))
		return -EINVAL;
	if (skb_is_gso(skb))
		n->rx_gso++;
	return 0;
}

/*
 * ddvm_front_net_rx_chain - take the next frame (a chain) off the RX ring
 * into a new skb, its offload header applied.
 * Return: 0 with *@out the skb, or NULL if the frame was dropped
 * (counted); -EPROTO if the server's index cuts the chain (a broken ring).
 */
int ddvm_front_net_rx_chain(struct ddvm_front_net *n, int *avail, struct sk_buff **out)
{
	struct ddvm_ring *rx = &n->chan.rings[DDVM_NET_RING_RX];
	struct net_device *dev = n->dev;
	struct ddvm_net_chain ch = { 0 };
	u32 first = rx->local, room, len, part, unused;
	struct ddvm_net_hdr h;
	struct sk_buff *skb;
	const u8 *buf;

	*out = NULL;
	if (ddvm_net_chain_take(rx, avail, &ch))
		return -EPROTO;
	if (!ddvm_net_chain_check(&ch))
		goto out_bad;
	buf = ddvm_front_net_buf(n, DDVM_NET_RING_RX, first, &room);
	memcpy(&h, buf, sizeof(h));	/* read once: only the copy counts */
	len = ch.bytes - sizeof(h);
	skb = ddvm_front_net_rx_alloc(n, len);
	if (!skb) {
		dev->stats.rx_dropped++;
		return 0;
	}
	/* the chain checks bound it: at most DDVM_NET_CHAIN_MAX buffers, fewer than the ring's */
	part = min_t(u32, len, room - sizeof(h));
	if (skb_store_bits(skb, 0, buf + sizeof(h), part) ||
	    (part < len && skb_store_bits(skb, part, ddvm_front_net_buf(n, DDVM_NET_RING_RX, 0, &unused),
					  len - part)))
		goto out_free;
	/* checked on our copy, which the server can no longer change */
	if (ddvm_net_hdr_check(&h, skb->data, skb_headlen(skb), len, n->mtu_frame) ||
	    ddvm_front_net_rx_apply(n, skb, &h))
		goto out_free;
	*out = skb;
	return 0;

out_free:
	kfree_skb(skb);
out_bad:
	n->rx_bad_hdr++;
	dev->stats.rx_frame_errors++;
	dev->stats.rx_errors++;
	return 0;
}
