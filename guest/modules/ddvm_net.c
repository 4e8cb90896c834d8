// SPDX-License-Identifier: GPL-2.0
/*
 * Net backend of ddvm.ko: shares one Linux netdev, whatever its driver,
 * among clients that each have their own MAC address and channel, as the
 * L4Ka DD/OS did.  The NIC is put in promiscuous mode and an rx_handler
 * takes every frame before the DD/OS's own stack: a unicast frame goes to
 * the one client with that destination address, broadcast and multicast
 * to all.  Client frames are copied out of the shared buffers once, checked
 * (size, source address) and sent with dev_queue_xmit, or delivered to
 * another client of the same NIC directly, as a switch would.
 *
 * A client that accepted DDVM_F_NET_OFFLOAD exchanges frames with an
 * offload header (channel.h): its 64 KiB TCP frames become GSO skbs that
 * the NIC's TSO (or the stack's GSO) cuts up, and while such a client runs
 * the NIC's GRO stays on so it receives merged segments whole.  A client
 * without the feature gets the GSO frames cut into segments and partial
 * checksums finished, on its own copy.
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/tcp.h>

#include "ddvm.h"

#define DDVM_NET_TX_BATCH	64	/* frames taken from the TX ring at once */
#define DDVM_NET_PROCESS_BUDGET	16	/* batches per run of the work item */
#define DDVM_NET_TX_LINEAR	256	/* linear bytes of a GSO skb: its headers */
/* At most this many segments per TCP GSO skb handed to the NIC (see ddvm_net_tx_piece). */
#define DDVM_NET_TX_GSO_SEGS	32
/*
 * Bytes a port keeps queued for its NIC (qdisc and driver).  Past this the
 * DD/OS takes no more client frames until the NIC frees some: the client's
 * TX ring fills and its sender slows down, as behind a real NIC, instead of
 * fq_codel dropping whole 64 KiB frames the sender's TCP then resends.
 * TCP small queues keep the DD/OS's own sockets at about as much.
 */
#define DDVM_NET_TX_INFLIGHT	(256 * 1024)
/* A driver that has freed nothing for this long does not hold us back. */
#define DDVM_NET_TX_STALL_MS	50

/* A NIC shared by the clients attached to it. */
struct ddvm_net_port {
	struct list_head node;		/* ddvm_net_ports: ddvm_net_mutex, RCU for TX completions */
	struct net_device *dev;
	struct list_head clients;	/* struct ddvm_net, RCU for the rx handler */
	unsigned int nr_clients;
	netdev_features_t gro_off;	/* GRO features we turned off, restored at the end */
	unsigned int nr_offload;	/* running offload clients, under ddvm_net_mutex */
	bool gro_on;			/* gro_off turned back on for them */
	struct tasklet_struct notify;	/* rings the clients a NAPI poll gave frames */
	atomic_t tx_inflight;		/* bytes of our skbs the NIC has not freed yet */
	unsigned long tx_done;		/* jiffies of the last one it freed */
	bool tx_throttled;		/* a client waits for tx_inflight to drop */
	wait_queue_head_t tx_drained;	/* the last client's leave waits for none */
};

/* One client channel on a port. */
struct ddvm_net {
	struct ddvm_chan *chan;
	struct ddvm_net_port *port;
	struct list_head node;		/* port->clients */
	u8 mac[ETH_ALEN];
	spinlock_t rx_lock;		/* the RX ring's producer side, running, offload */
	bool running;			/* rings bound for the current generation */
	bool offload;			/* the client accepted DDVM_F_NET_OFFLOAD for it */
	bool offload_counted;		/* in port->nr_offload, under ddvm_net_mutex */
	bool notify;			/* frames delivered since port->notify last rang us */
	struct ddvm_ring tx, rx;
	struct ddvm_cli_block layout;	/* checked private copy: buffer offsets */
	u8 *data;			/* the data area */
	u64 rx_frames, rx_dropped, rx_segmented;	/* under rx_lock */
	u64 tx_frames, tx_dropped, tx_bad_hdr;		/* work only */
};

/* One received (or switched) frame on its way to the clients it is for. */
struct ddvm_net_rx {
	struct sk_buff *skb;
	int offset;			/* of the Ethernet header from skb->data */
	u32 len;
	u32 max_frame;			/* the NIC's MTU + DDVM_NET_FRAME_OVERHEAD */
	struct sk_buff *segs;		/* a GSO skb cut into frames, on first need */
	bool cut;			/* segs was tried */
};

static LIST_HEAD(ddvm_net_ports);
static DEFINE_MUTEX(ddvm_net_mutex);	/* ports and their client lists */

/*
 * Where entry @idx's buffer of @ring is, and in *@room how many bytes of
 * the ring's buffers follow it before they wrap: a chain's bytes are
 * contiguous up to there.
 */
static u8 *ddvm_net_buf(struct ddvm_net *n, u32 ring, u32 idx, u32 *room)
{
	*room = ddvm_net_buf_room(&n->layout, ring, idx);
	return n->data + ddvm_net_buf_off(&n->layout, ring, idx);
}

/* Offset of @skb's checksum start from its Ethernet header at @offset from skb->data. */
static long ddvm_net_csum_start(const struct sk_buff *skb, int offset)
{
	return (long)(skb_checksum_start(skb) - (skb->data + offset));
}

/*
 * Finish the partial checksum of a frame copied to @buf: what a NIC
 * would do for the sender, done for a client that cannot.
 */
static bool ddvm_net_finish_csum(u8 *buf, u32 len, long start, u32 off)
{
	__sum16 sum;

	if (start < DDVM_NET_MIN_FRAME || start >= len || off + 2 > len - start)
		return false;
	sum = csum_fold(csum_partial(buf + start, len - start, 0));
	put_unaligned(sum ?: CSUM_MANGLED_0, (__sum16 *)(buf + start + off));
	return true;
}

/* A plain client's frame: one buffer, checksum complete.  Under rx_lock. */
static bool ddvm_net_put_frame(struct ddvm_net *n, const struct sk_buff *skb, int offset, u32 len)
{
	struct ddvm_net_desc d = { .len = len };
	u32 room;
	u8 *buf;

	if (len > DDVM_NET_BUF_SIZE || skb_is_gso(skb) || ddvm_ring_free(&n->rx) <= 0)
		return false;	/* a full ring or a broken one: the client's loss */
	buf = ddvm_net_buf(n, DDVM_NET_RING_RX, n->rx.local, &room);
	if (skb_copy_bits(skb, offset, buf, len))
		return false;
	if (skb->ip_summed == CHECKSUM_PARTIAL &&
	    !ddvm_net_finish_csum(buf, len, ddvm_net_csum_start(skb, offset), skb->csum_offset))
		return false;
	memcpy(ddvm_ring_next(&n->rx), &d, sizeof(d));
	n->rx.local++;
	return true;
}

/* An offload client's frame: @h and the frame over a chain of entries.  Under rx_lock. */
static bool ddvm_net_put_chain(struct ddvm_net *n, const struct sk_buff *skb, int offset, u32 len,
			       const struct ddvm_net_hdr *h)
{
	u32 total = sizeof(*h) + len, nr = DIV_ROUND_UP(total, DDVM_NET_BUF_SIZE), room, part, i;
	struct ddvm_net_desc d = { 0 };
	u8 *buf;

	if (len > DDVM_NET_OFFLOAD_MAX_FRAME || ddvm_ring_free(&n->rx) < (int)nr)
		return false;
	buf = ddvm_net_buf(n, DDVM_NET_RING_RX, n->rx.local, &room);
	memcpy(buf, h, sizeof(*h));
	part = min(len, room - (u32)sizeof(*h));
	if (skb_copy_bits(skb, offset, buf + sizeof(*h), part))
		return false;
	if (part < len && skb_copy_bits(skb, offset + part, ddvm_net_buf(n, DDVM_NET_RING_RX, 0, &room),
					len - part))
		return false;
	for (i = 0; i < nr; i++, total -= DDVM_NET_BUF_SIZE) {
		d.len = min_t(u32, total, DDVM_NET_BUF_SIZE);
		d.flags = i + 1 < nr ? DDVM_NET_DESC_MORE : 0;
		memcpy(ddvm_ring_next(&n->rx), &d, sizeof(d));
		n->rx.local++;
	}
	return true;
}

/*
 * The offload header for @skb (Ethernet header at @offset from skb->data,
 * @len bytes), checked by the rules the client will check it by.
 * Return: 0, or -EINVAL if they cannot describe it (a GSO skb is then cut up).
 */
static int ddvm_net_rx_hdr(const struct sk_buff *skb, int offset, u32 len, u32 max_frame,
			   struct ddvm_net_hdr *h)
{
	const struct skb_shared_info *shinfo = skb_shinfo(skb);
	u8 head[DDVM_NET_HDR_PARSE_MAX];
	u32 avail = min_t(u32, len, sizeof(head));
	struct ddvm_net_l4 l;
	long start;

	memset(h, 0, sizeof(*h));
	if (skb->ip_summed == CHECKSUM_PARTIAL) {
		start = ddvm_net_csum_start(skb, offset);
		if (start < 0 || start > U16_MAX)
			return -EINVAL;
		h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = start;
		h->csum_offset = skb->csum_offset;
	} else if (skb->ip_summed == CHECKSUM_UNNECESSARY) {
		h->flags = DDVM_NET_HDR_F_DATA_VALID;
	}
	if (skb_is_gso(skb)) {
		if (shinfo->gso_type & SKB_GSO_TCPV4)
			h->gso_type = DDVM_NET_GSO_TCPV4;
		else if (shinfo->gso_type & SKB_GSO_TCPV6)
			h->gso_type = DDVM_NET_GSO_TCPV6;
		else if (shinfo->gso_type & SKB_GSO_UDP_L4)
			h->gso_type = DDVM_NET_GSO_UDP_L4;
		else
			return -EINVAL;
		if (shinfo->gso_type & SKB_GSO_TCP_ECN)
			h->gso_type |= DDVM_NET_GSO_ECN;
		if (skb_copy_bits(skb, offset, head, avail) ||
		    !ddvm_net_l4_parse(head, avail, len, &l))
			return -EINVAL;
		h->hdr_len = l.l4_off + l.l4_len;
		h->gso_size = shinfo->gso_size;
	}
	return ddvm_net_hdr_check(h, head, avail, len, max_frame) ? -EINVAL : 0;
}

/* Cut a GSO frame into plain frames (software GSO), once for all its clients. */
static struct sk_buff *ddvm_net_rx_segs(struct ddvm_net_rx *rx)
{
	struct sk_buff *skb = rx->skb, *segs;

	if (rx->cut)
		return rx->segs;
	rx->cut = true;
	/* segmentation writes checksums: only what the stack would hand a NIC */
	if (skb->ip_summed != CHECKSUM_PARTIAL && skb->ip_summed != CHECKSUM_UNNECESSARY)
		return NULL;
	__skb_push(skb, -rx->offset);	/* it wants skb->data at the Ethernet header */
	segs = skb_gso_segment(skb, NETIF_F_SG);
	__skb_pull(skb, -rx->offset);
	rx->segs = IS_ERR(segs) ? NULL : segs;
	return rx->segs;
}

/* One frame, already plain (no GSO), as client @n takes it.  Under rx_lock. */
static bool ddvm_net_put_plain(struct ddvm_net *n, const struct sk_buff *skb, int offset, u32 len,
			       u32 max_frame)
{
	struct ddvm_net_hdr h;

	if (!n->offload)
		return ddvm_net_put_frame(n, skb, offset, len);
	return !ddvm_net_rx_hdr(skb, offset, len, max_frame, &h) &&
	       ddvm_net_put_chain(n, skb, offset, len, &h);
}

static void ddvm_net_count_rx(struct ddvm_net *n, bool delivered)
{
	if (delivered)
		n->rx_frames++;
	else
		n->rx_dropped++;	/* a full ring or a broken one: the client's loss */
}

/* Copy frame @rx into @n's RX ring; frames in excess of the ring are dropped. */
static void ddvm_net_deliver(struct ddvm_net *n, struct ddvm_net_rx *rx, bool *notify)
{
	struct sk_buff *segs = NULL, *seg;
	struct ddvm_net_hdr h;
	unsigned long flags;
	bool whole = false;
	u32 old;

	/* outside the lock: what may cost a segmentation */
	if (READ_ONCE(n->offload))
		whole = !ddvm_net_rx_hdr(rx->skb, rx->offset, rx->len, rx->max_frame, &h);
	if (!whole && skb_is_gso(rx->skb))
		segs = ddvm_net_rx_segs(rx);

	spin_lock_irqsave(&n->rx_lock, flags);
	if (!n->running) {
		spin_unlock_irqrestore(&n->rx_lock, flags);
		return;
	}
	old = n->rx.local;
	if (whole) {
		/* a generation without the feature may have started since */
		ddvm_net_count_rx(n, n->offload && ddvm_net_put_chain(n, rx->skb, rx->offset,
								      rx->len, &h));
	} else if (skb_is_gso(rx->skb)) {
		if (segs)
			n->rx_segmented++;
		else
			n->rx_dropped++;
		for (seg = segs; seg; seg = seg->next)
			ddvm_net_count_rx(n, ddvm_net_put_plain(n, seg, 0, seg->len, rx->max_frame));
	} else {
		ddvm_net_count_rx(n, ddvm_net_put_plain(n, rx->skb, rx->offset, rx->len,
							rx->max_frame));
	}
	if (n->rx.local != old && ddvm_ring_publish(&n->rx, old))
		*notify = true;
	spin_unlock_irqrestore(&n->rx_lock, flags);
}

/*
 * One doorbell per client per NAPI poll, not per frame: a tasklet runs
 * right after the poll (NET_RX before TASKLET in the softirq order) and
 * rings every client that got frames in it.  Half the frames of a TCP
 * sender's stream are ACKs, one each.
 */
static void ddvm_net_notify_clients(struct tasklet_struct *t)
{
	struct ddvm_net_port *port = from_tasklet(port, t, notify);
	struct ddvm_net *n;

	rcu_read_lock();
	list_for_each_entry_rcu(n, &port->clients, node)
		if (xchg(&n->notify, false))
			ddvm_chan_notify(n->chan);
	rcu_read_unlock();
}

static void ddvm_net_deliver_notify(struct ddvm_net *n, struct ddvm_net_rx *rx)
{
	bool notify = false;

	ddvm_net_deliver(n, rx, &notify);
	if (notify) {
		WRITE_ONCE(n->notify, true);
		tasklet_schedule(&n->port->notify);
	}
}

/*
 * Hand a frame (Ethernet header at @offset from skb->data) to the clients it
 * is addressed to; @from is a client that must not get its own frame back.
 * Return: true if a client owned the unicast destination.
 */
static bool ddvm_net_switch(struct ddvm_net_port *port, struct sk_buff *skb, int offset,
			    u32 len, const struct ddvm_net *from)
{
	struct ddvm_net_rx rx = {
		.skb = skb, .offset = offset, .len = len,
		.max_frame = READ_ONCE(port->dev->mtu) + DDVM_NET_FRAME_OVERHEAD,
	};
	u8 dest[ETH_ALEN];
	struct ddvm_net *n;
	bool owned = false;

	if (skb_copy_bits(skb, offset, dest, ETH_ALEN))
		return false;
	rcu_read_lock();
	list_for_each_entry_rcu(n, &port->clients, node) {
		if (n == from)
			continue;
		if (is_multicast_ether_addr(dest)) {
			ddvm_net_deliver_notify(n, &rx);
		} else if (ether_addr_equal(dest, n->mac)) {
			ddvm_net_deliver_notify(n, &rx);
			owned = true;
			break;
		}
	}
	rcu_read_unlock();
	kfree_skb_list(rx.segs);
	return owned;
}

/* Every frame the NIC receives comes here first; the DD/OS's own stack gets none. */
static rx_handler_result_t ddvm_net_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct ddvm_net_port *port = rcu_dereference(skb->dev->rx_handler_data);
	int offset = skb_mac_offset(skb);	/* the driver already pulled the header */

	/* a GSO frame may have to be cut up for a client, which moves skb->data */
	if (skb_is_gso(skb)) {
		skb = skb_share_check(skb, GFP_ATOMIC);
		if (!skb)
			return RX_HANDLER_CONSUMED;
		*pskb = skb;
	}
	if (skb->pkt_type != PACKET_LOOPBACK && offset <= 0)
		ddvm_net_switch(port, skb, offset, skb->len - offset, NULL);
	consume_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/*
 * Segments per GSO skb for the NIC at @mss.  e1000 deadlocks its TX ring
 * when it refuses (NETDEV_TX_BUSY) an skb that needs more descriptors than
 * the 24 it keeps free right after one the qdisc sent with xmit_more: the
 * tail register is never written.  It counts one per fragment plus one
 * per 4 KiB, or per 2 MSS below that, so a 64 KiB skb of 4 KiB pages at
 * MSS 448 asks for ~80.  Pieces whose payload needs at most 16 of them,
 * whatever the fragments, are safe there and cheap anywhere: at MSS 1448,
 * 18 segments, 3 skbs for a 64 KiB frame instead of 45.
 */
static unsigned int ddvm_net_tx_piece(unsigned int mss)
{
	return clamp(min(65536 / (2048 + mss), 32768 / mss), 1u, (unsigned int)DDVM_NET_TX_GSO_SEGS);
}

/*
 * Cut a TCP GSO skb into GSO skbs of ddvm_net_tx_piece() segments: the
 * stack's own segmentation with a multiple of the MSS as segment size
 * fixes sequence numbers, flags, lengths and checksums; each piece is then
 * GSO again with the real MSS.
 * Return: the list of pieces (@skb itself if it was small enough), NULL
 * if segmentation failed (@skb is freed then).
 */
static struct sk_buff *ddvm_net_tx_split(struct sk_buff *skb)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	unsigned int mss = shinfo->gso_size, per;
	unsigned int type = shinfo->gso_type & ~SKB_GSO_TCP_ECN;
	struct sk_buff *segs, *seg;

	if (!skb_is_gso(skb) || !(type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)))
		return skb;
	per = ddvm_net_tx_piece(mss);		/* and per * mss < 64 KiB: gso_size is 16 bits */
	if (skb->len - skb_transport_offset(skb) - tcp_hdrlen(skb) <= mss * per)
		return skb;
	shinfo->gso_size = mss * per;
	segs = skb_gso_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
	shinfo->gso_size = mss;
	if (!segs)
		return skb;	/* the stack found nothing to cut after all */
	if (IS_ERR(segs)) {
		kfree_skb(skb);
		return NULL;
	}
	consume_skb(skb);
	for (seg = segs; seg; seg = seg->next) {
		if (seg->len - skb_transport_offset(seg) - tcp_hdrlen(seg) <= mss)
			continue;
		skb_shinfo(seg)->gso_size = mss;
		/* only the first piece keeps CWR, and with it the ECN rule */
		skb_shinfo(seg)->gso_type = type | SKB_GSO_DODGY |
					    (tcp_hdr(seg)->cwr ? SKB_GSO_TCP_ECN : 0);
		skb_shinfo(seg)->gso_segs = 0;
	}
	return segs;
}

/*
 * An skb of ours is freed (the NIC sent it, or the stack dropped it): take
 * its bytes (in destructor_arg, theirs since we set the destructor) off
 * its port's account, and wake the clients that stopped for room.
 */
static void ddvm_net_tx_done(struct sk_buff *skb)
{
	int bytes = (int)(unsigned long)skb_shinfo(skb)->destructor_arg, left;
	struct ddvm_net_port *port;
	struct ddvm_net *n;

	rcu_read_lock();
	list_for_each_entry_rcu(port, &ddvm_net_ports, node) {
		if (port->dev != skb->dev)
			continue;
		WRITE_ONCE(port->tx_done, jiffies);
		left = atomic_sub_return(bytes, &port->tx_inflight);
		/* pairs with ddvm_net_tx_throttled(): it sees our drop or we see its flag */
		if (left <= DDVM_NET_TX_INFLIGHT / 2 && READ_ONCE(port->tx_throttled)) {
			WRITE_ONCE(port->tx_throttled, false);
			list_for_each_entry_rcu(n, &port->clients, node)
				ddvm_chan_kick(n->chan);
		}
		if (!left)
			wake_up(&port->tx_drained);
		break;
	}
	rcu_read_unlock();
}

/* Has the NIC so much of ours queued that clients must wait?  Work only. */
static bool ddvm_net_tx_throttled(struct ddvm_net_port *port)
{
	if (atomic_read(&port->tx_inflight) < DDVM_NET_TX_INFLIGHT)
		return false;
	WRITE_ONCE(port->tx_throttled, true);
	smp_mb();
	if (atomic_read(&port->tx_inflight) < DDVM_NET_TX_INFLIGHT)
		return false;
	/* a driver that frees late must not stall us for good: the heartbeat retries */
	return time_before(jiffies, READ_ONCE(port->tx_done) +
			   msecs_to_jiffies(DDVM_NET_TX_STALL_MS));
}

/* Hand @skb to the NIC, on its port's account. */
static int ddvm_net_queue(struct ddvm_net_port *port, struct sk_buff *skb)
{
	skb->destructor = ddvm_net_tx_done;
	skb_shinfo(skb)->destructor_arg = (void *)(unsigned long)skb->len;
	atomic_add(skb->len, &port->tx_inflight);
	return dev_queue_xmit(skb);
}

/* Send one client frame, already copied into @skb and checked. */
static void ddvm_net_xmit(struct ddvm_net *n, struct sk_buff *skb)
{
	struct sk_buff *next;
	bool sent = true;

	/* another client of this NIC: deliver it here, as a switch would */
	if (ddvm_net_switch(n->port, skb, 0, skb->len, n)) {
		consume_skb(skb);
		return;
	}
	skb = ddvm_net_tx_split(skb);
	if (!skb)
		sent = false;
	for (; skb; skb = next) {
		next = skb->next;
		skb_mark_not_on_list(skb);
		if (ddvm_net_queue(n->port, skb) != NET_XMIT_SUCCESS)
			sent = false;
	}
	if (sent)
		n->tx_frames++;
	else
		n->tx_dropped++;
}

/* Our copy of a client frame is ready for the NIC if it comes from the client's own address. */
static bool ddvm_net_tx_prepare(struct ddvm_net *n, struct sk_buff *skb)
{
	const struct ethhdr *eth = (const struct ethhdr *)skb->data;

	/* checked on our copy: the client cannot change it now */
	if (!ether_addr_equal(eth->h_source, n->mac))
		return false;
	skb->dev = n->port->dev;
	skb->protocol = eth->h_proto;
	skb_reset_mac_header(skb);
	return true;
}

/* The next plain frame of the TX ring in a new skb; NULL if it was dropped (counted). */
static struct sk_buff *ddvm_net_take_plain(struct ddvm_net *n, int *avail, u32 max_frame)
{
	struct ddvm_net_desc d;
	struct sk_buff *skb;
	const u8 *buf;
	u32 room;

	buf = ddvm_net_buf(n, DDVM_NET_RING_TX, n->tx.local, &room);
	ddvm_ring_take(&n->tx, &d);
	(*avail)--;
	if (!ddvm_net_frame_check(d.len, max_frame))
		return NULL;
	skb = netdev_alloc_skb(n->port->dev, d.len + NET_IP_ALIGN);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_IP_ALIGN);
	skb_put_data(skb, buf, d.len);
	skb_reset_network_header(skb);
	return skb;
}

/*
 * Make @skb (a client's frame, our copy, the Ethernet header at skb->data)
 * what offload header @h says: a partial checksum where drivers expect
 * one, a GSO skb marked DODGY so the stack checks its headers again.
 * Return: 0, or -EINVAL for a header the rules refuse.
 */
static int ddvm_net_tx_offload(struct sk_buff *skb, const struct ddvm_net_hdr *h, u32 max_frame)
{
	struct skb_shared_info *shinfo = skb_shinfo(skb);
	struct ddvm_net_l4 l;
	bool l4;

	if (ddvm_net_hdr_check(h, skb->data, skb_headlen(skb), skb->len, max_frame))
		return -EINVAL;
	skb_reset_network_header(skb);
	if (!(h->flags & DDVM_NET_HDR_F_NEEDS_CSUM))
		return 0;
	if (!skb_partial_csum_set(skb, h->csum_start, h->csum_offset))
		return -EINVAL;
	/* the check guarantees this for GSO frames */
	l4 = ddvm_net_l4_parse(skb->data, skb_headlen(skb), skb->len, &l) &&
	     h->csum_start == l.l4_off && h->csum_offset == ddvm_net_l4_csum_offset(l.proto);
	if (!l4)	/* not TCP or UDP where drivers look for it: finish it here */
		return skb_checksum_help(skb) ? -EINVAL : 0;
	skb_set_network_header(skb, l.l3_off);
	if (h->gso_type == DDVM_NET_GSO_NONE || skb->len - h->hdr_len <= h->gso_size)
		return 0;	/* one segment: not really GSO */
	switch (h->gso_type & ~DDVM_NET_GSO_ECN) {
	case DDVM_NET_GSO_TCPV4:
		shinfo->gso_type = SKB_GSO_TCPV4;
		break;
	case DDVM_NET_GSO_TCPV6:
		shinfo->gso_type = SKB_GSO_TCPV6;
		break;
	default:
		shinfo->gso_type = SKB_GSO_UDP_L4;
		break;
	}
	if (h->gso_type & DDVM_NET_GSO_ECN)
		shinfo->gso_type |= SKB_GSO_TCP_ECN;
	shinfo->gso_type |= SKB_GSO_DODGY;
	shinfo->gso_size = h->gso_size;
	shinfo->gso_segs = 0;
	return 0;
}

/*
 * The next offloaded frame (a chain) of the TX ring in a new skb: its
 * headers linear, the rest in page fragments.  Return: the skb, NULL if
 * it was dropped (counted), ERR_PTR(-EPROTO) if the producer index cuts
 * the chain.
 */
static struct sk_buff *ddvm_net_take_chain(struct ddvm_net *n, int *avail, u32 max_frame)
{
	struct ddvm_net_chain ch = { 0 };
	struct ddvm_net_desc d;
	struct ddvm_net_hdr h;
	u32 first = n->tx.local, room, len, linear, part;
	struct sk_buff *skb;
	const u8 *buf;
	int err;

	do {
		if (*avail <= 0)
			return ERR_PTR(-EPROTO);
		ddvm_ring_take(&n->tx, &d);
		(*avail)--;
	} while (ddvm_net_chain_add(&ch, &d));
	if (!ddvm_net_chain_check(&ch))
		goto bad;
	buf = ddvm_net_buf(n, DDVM_NET_RING_TX, first, &room);
	memcpy(&h, buf, sizeof(h));	/* read once; use only the copy */
	len = ch.bytes - sizeof(h);
	linear = h.gso_type == DDVM_NET_GSO_NONE ? len : min_t(u32, len, DDVM_NET_TX_LINEAR);
	if (linear > max_frame)
		goto bad;	/* the check would refuse it: spare the allocation */
	skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + linear, len - linear,
				   PAGE_ALLOC_COSTLY_ORDER, &err, GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put(skb, linear);
	skb->data_len = len - linear;
	skb->len += len - linear;
	part = min(len, room - (u32)sizeof(h));
	if (skb_store_bits(skb, 0, buf + sizeof(h), part) ||
	    (part < len && skb_store_bits(skb, part, ddvm_net_buf(n, DDVM_NET_RING_TX, 0, &room),
					  len - part))) {
		kfree_skb(skb);
		return NULL;
	}
	if (!ddvm_net_tx_offload(skb, &h, max_frame))
		return skb;
	kfree_skb(skb);
bad:
	n->tx_bad_hdr++;
	return NULL;
}

static int ddvm_net_process(struct ddvm_chan *chan)
{
	struct ddvm_net *n = chan->backend;
	struct net_device *dev = n->port->dev;
	u32 max_frame = READ_ONCE(dev->mtu) + DDVM_NET_FRAME_OVERHEAD;
	struct sk_buff *batch[DDVM_NET_TX_BATCH], *skb;
	int avail, count, i, budget = DDVM_NET_PROCESS_BUDGET;
	u32 old;

	for (;;) {
		/*
		 * As in ddvm_blk_process: a client that keeps its TX ring full
		 * must not keep the work item here for ever.  Under a flood of
		 * received frames softirqs move to ksoftirqd, which a worker
		 * that never returns starves, and the heartbeat timer with it.
		 */
		if (!budget--) {
			ddvm_chan_kick(chan);
			return 0;
		}
		avail = ddvm_ring_avail(&n->tx);
		if (!avail)
			avail = ddvm_ring_arm(&n->tx);
		if (avail < 0)
			return DDVM_ERR_RING;
		if (!avail)
			return 0;
		/* frames stay in the ring, the client's sender waits: ddvm_net_tx_done kicks us */
		if (ddvm_net_tx_throttled(n->port))
			return 0;
		/* copy a batch out, hand the buffers back, then send */
		old = n->tx.local;
		for (count = 0; avail > 0 && count < DDVM_NET_TX_BATCH;) {
			skb = n->offload ? ddvm_net_take_chain(n, &avail, max_frame) :
					   ddvm_net_take_plain(n, &avail, max_frame);
			if (IS_ERR(skb)) {
				while (count)
					kfree_skb(batch[--count]);
				return DDVM_ERR_RING;
			}
			if (skb && ddvm_net_tx_prepare(n, skb)) {
				batch[count++] = skb;
			} else {
				kfree_skb(skb);
				n->tx_dropped++;
			}
		}
		if (ddvm_ring_consumed(&n->tx, old))
			ddvm_chan_notify(chan);
		for (i = 0; i < count; i++)
			ddvm_net_xmit(n, batch[i]);
	}
}

static void ddvm_net_publish_info(struct ddvm_net *n)
{
	struct ddvm_net_info *info = &n->chan->srv->net;
	struct net_device *dev = n->port->dev;
	unsigned long flags;
	u64 rx, rxd, rxs;

	spin_lock_irqsave(&n->rx_lock, flags);
	rx = n->rx_frames;
	rxd = n->rx_dropped;
	rxs = n->rx_segmented;
	spin_unlock_irqrestore(&n->rx_lock, flags);
	WRITE_ONCE(info->mtu, READ_ONCE(dev->mtu));
	WRITE_ONCE(info->link_up, netif_carrier_ok(dev) ? 1 : 0);
	WRITE_ONCE(info->rx_frames, rx);
	WRITE_ONCE(info->rx_dropped, rxd);
	WRITE_ONCE(info->tx_frames, READ_ONCE(n->tx_frames));
	WRITE_ONCE(info->tx_dropped, READ_ONCE(n->tx_dropped));
	WRITE_ONCE(info->tx_bad_hdr, READ_ONCE(n->tx_bad_hdr));
	WRITE_ONCE(info->rx_segmented, rxs);
}

static int ddvm_net_tick(struct ddvm_chan *chan)
{
	ddvm_net_publish_info(chan->backend);
	return 0;
}

/*
 * GRO merges the segments the NIC receives into the 64 KiB frames offload
 * clients take whole; a client without offloads would only get them cut up
 * again, so GRO is on while an offload client runs.  Under ddvm_net_mutex.
 */
static void ddvm_net_port_gro(struct ddvm_net_port *port)
{
	struct net_device *dev = port->dev;
	bool on = port->nr_offload > 0;

	lockdep_assert_held(&ddvm_net_mutex);
	if (on == port->gro_on || !port->gro_off)
		return;
	rtnl_lock();
	if (on)
		dev->wanted_features |= port->gro_off;
	else
		dev->wanted_features &= ~port->gro_off;
	netdev_update_features(dev);
	rtnl_unlock();
	port->gro_on = on;
}

/* Count @n among its port's offload clients while it serves one, or not. */
static void ddvm_net_count_offload(struct ddvm_net *n, bool on)
{
	struct ddvm_net_port *port = n->port;

	mutex_lock(&ddvm_net_mutex);
	if (n->offload_counted != on) {
		n->offload_counted = on;
		if (on)
			port->nr_offload++;
		else
			port->nr_offload--;
		ddvm_net_port_gro(port);
	}
	mutex_unlock(&ddvm_net_mutex);
}

static int ddvm_net_start(struct ddvm_chan *chan, const struct ddvm_cli_block *c)
{
	struct ddvm_net *n = chan->backend;
	bool offload = c->features & DDVM_F_NET_OFFLOAD;
	unsigned long flags;
	u32 err;

	err = ddvm_net_layout_check(c);
	if (err)
		return err;
	ddvm_net_count_offload(n, offload);
	spin_lock_irqsave(&n->rx_lock, flags);
	n->layout = *c;
	ddvm_ring_init(&n->tx, chan->region, &c->rings[DDVM_NET_RING_TX]);
	ddvm_ring_init(&n->rx, chan->region, &c->rings[DDVM_NET_RING_RX]);
	n->data = (u8 *)chan->region + c->data_off;
	n->offload = offload;
	n->running = true;
	spin_unlock_irqrestore(&n->rx_lock, flags);
	return 0;
}

/* Nothing of a frame outlives its copy, so stopping delivery is all a drain needs. */
static bool ddvm_net_drain(struct ddvm_chan *chan)
{
	struct ddvm_net *n = chan->backend;
	unsigned long flags;

	spin_lock_irqsave(&n->rx_lock, flags);
	n->running = false;
	n->offload = false;
	spin_unlock_irqrestore(&n->rx_lock, flags);
	ddvm_net_count_offload(n, false);
	return true;
}

static const char *ddvm_net_driver_name(struct net_device *dev)
{
	struct device *parent = dev->dev.parent;

	return parent && parent->driver ? parent->driver->name : "unknown";
}

/* Attach to the port of @dev, creating it (rx_handler, promiscuous) for the first client. */
static int ddvm_net_join(struct ddvm_net *n, struct net_device *dev)
{
	struct ddvm_net_port *port;
	struct ddvm_net *other;
	int ret;

	lockdep_assert_held(&ddvm_net_mutex);
	list_for_each_entry(port, &ddvm_net_ports, node)
		if (port->dev == dev)
			goto found;
	port = kzalloc(sizeof(*port), GFP_KERNEL);
	if (!port)
		return -ENOMEM;
	port->dev = dev;
	INIT_LIST_HEAD(&port->clients);
	init_waitqueue_head(&port->tx_drained);
	tasklet_setup(&port->notify, ddvm_net_notify_clients);
	port->tx_done = jiffies;
	rtnl_lock();
	ret = netdev_rx_handler_register(dev, ddvm_net_rx_handler, port);
	if (!ret) {
		ret = dev_set_promiscuity(dev, 1);
		if (ret)
			netdev_rx_handler_unregister(dev);
	}
	if (!ret) {
		/*
		 * Plain clients get frames, not the 64 KiB super-packets GRO,
		 * GRO_HW (virtio-net) and LRO build; GRO comes back while an
		 * offload client runs (ddvm_net_port_gro), LRO never: its
		 * frames are no GSO a client could be given.
		 */
		port->gro_off = dev->wanted_features & (NETIF_F_GRO | NETIF_F_GRO_HW);
		dev->wanted_features &= ~(NETIF_F_GRO | NETIF_F_GRO_HW);
		netdev_update_features(dev);
		dev_disable_lro(dev);
	}
	rtnl_unlock();
	if (ret) {
		kfree(port);
		return ret;
	}
	list_add_rcu(&port->node, &ddvm_net_ports);
found:
	list_for_each_entry(other, &port->clients, node)
		if (ether_addr_equal(other->mac, n->mac))
			return -EEXIST;
	n->port = port;
	port->nr_clients++;
	list_add_tail_rcu(&n->node, &port->clients);
	return 0;
}

/* Detach from the port; the last client gives the NIC back. */
static void ddvm_net_leave(struct ddvm_net *n)
{
	struct ddvm_net_port *port = n->port;

	mutex_lock(&ddvm_net_mutex);
	list_del_rcu(&n->node);
	if (!--port->nr_clients) {
		rtnl_lock();
		netdev_rx_handler_unregister(port->dev);
		dev_set_promiscuity(port->dev, -1);
		if (port->gro_off) {
			port->dev->wanted_features |= port->gro_off;
			netdev_update_features(port->dev);
		}
		rtnl_unlock();
		/* our skbs' destructor needs the port (and this module) until the last is freed */
		if (!wait_event_timeout(port->tx_drained, !atomic_read(&port->tx_inflight), 10 * HZ))
			netdev_warn(port->dev, "ddvm: %d bytes still queued for the NIC after 10 s\n",
				    atomic_read(&port->tx_inflight));
		list_del_rcu(&port->node);
	}
	mutex_unlock(&ddvm_net_mutex);
	synchronize_rcu();	/* the rx handler may still be looking at us or the port */
	dev_put(port->dev);	/* each client holds its own reference */
	if (!port->nr_clients) {
		tasklet_kill(&port->notify);	/* no rx handler left to schedule it */
		kfree(port);
	}
}

/* target: "IFNAME@MAC" */
static int ddvm_net_attach(struct ddvm_chan *chan, const char *target)
{
	struct ddvm_net_info *info = &chan->srv->net;
	char ifname[IFNAMSIZ];
	struct net_device *dev;
	const char *at = strchr(target, '@');
	struct ddvm_net *n;
	int ret;

	if (!at || at == target || at - target >= IFNAMSIZ) {
		dev_err(&chan->pdev->dev, "net export '%s': want IFNAME@MAC\n", target);
		return -EINVAL;
	}
	n = kzalloc(sizeof(*n), GFP_KERNEL);
	if (!n)
		return -ENOMEM;
	n->chan = chan;
	spin_lock_init(&n->rx_lock);
	memcpy(ifname, target, at - target);
	ifname[at - target] = '\0';
	if (!mac_pton(at + 1, n->mac) || !is_valid_ether_addr(n->mac)) {
		dev_err(&chan->pdev->dev, "net export '%s': bad client MAC\n", target);
		ret = -EINVAL;
		goto out_free;
	}
	dev = dev_get_by_name(&init_net, ifname);
	if (!dev) {
		dev_err(&chan->pdev->dev, "net export '%s': no netdev %s\n", target, ifname);
		ret = -ENODEV;
		goto out_free;
	}
	mutex_lock(&ddvm_net_mutex);
	ret = ddvm_net_join(n, dev);
	mutex_unlock(&ddvm_net_mutex);
	if (ret) {
		dev_err(&chan->pdev->dev, "net export '%s': cannot share %s: %d\n", target, ifname, ret);
		dev_put(dev);
		goto out_free;
	}

	memcpy(info->mac, n->mac, ETH_ALEN);
	info->buf_size = DDVM_NET_BUF_SIZE;
	strscpy(info->ifname, ifname, sizeof(info->ifname));
	strscpy(info->driver, ddvm_net_driver_name(dev), sizeof(info->driver));
	chan->backend = n;
	ddvm_net_publish_info(n);
	dev_info(&chan->pdev->dev, "%s (%s): client %pM\n", ifname, info->driver, n->mac);
	return 0;

out_free:
	kfree(n);
	return ret;
}

static void ddvm_net_detach(struct ddvm_chan *chan)
{
	struct ddvm_net *n = chan->backend;

	ddvm_net_drain(chan);
	ddvm_net_leave(n);
	kfree(n);
	chan->backend = NULL;
}

static bool ddvm_net_pending(struct ddvm_chan *chan)
{
	struct ddvm_net *n = chan->backend;

	return ddvm_load_acquire(&n->tx.ctl->prod) != READ_ONCE(n->tx.local);
}

const struct ddvm_backend_ops ddvm_net_ops = {
	.type = DDVM_CHAN_NET,
	.features = DDVM_F_NET_OFFLOAD,
	.nr_rings = DDVM_NET_NR_RINGS,
	.entry_size = {
		[DDVM_NET_RING_TX] = sizeof(struct ddvm_net_desc),
		[DDVM_NET_RING_RX] = sizeof(struct ddvm_net_desc),
	},
	.attach = ddvm_net_attach,
	.detach = ddvm_net_detach,
	.start = ddvm_net_start,
	.process = ddvm_net_process,
	.drain = ddvm_net_drain,
	.tick = ddvm_net_tick,
	.pending = ddvm_net_pending,
};
