// SPDX-License-Identifier: GPL-2.0
/*
 * Net front end: ddvmnetN, an Ethernet interface whose frames go over a net
 * channel to the NIC a DD/OS shares, with the address the DD/OS gave this
 * channel.  The client side of the net protocol, as host/lib/net_client.c
 * does it:
 *
 *  - TX: each frame is copied into its ring entry's buffer (with offloads,
 *    behind its header into a chain of them: front_net_frames.c); a batch
 *    the stack hands over (xmit_more) is published at once, with at most
 *    one doorbell, and only if the server sleeps on the ring (event index);
 *  - RX: NAPI takes the frames the server published, hands the buffers
 *    back once per poll, and asks for a doorbell only when it goes idle;
 *  - the link is a wire that never goes down: while no server runs (the
 *    DD/OS restarts) frames are lost as on a real wire and the carrier
 *    stays as it was; a new server generation gets a new layout by itself;
 *    the carrier otherwise follows the NIC's link as the server reports it
 *    (a restarted DD/OS's NIC may take a moment to find its link: that is
 *    the NIC's real state, and the flap it shows makes the stack check its
 *    neighbours again, as after a cable was plugged back);
 *  - offloads (DDVM_F_NET_OFFLOAD: checksums, TSO, 64 KiB frames both
 *    ways) are accepted whenever the server offers them, as libddvm does,
 *    unless net_offload=0; a new generation may offer otherwise (another
 *    DD/OS), and the interface's features then follow (ndo_fix_features);
 *  - a server that moves a ring index impossibly gets the channel reset.
 */
#include <linux/etherdevice.h>
#include <linux/module.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>

#include "front_net.h"

/* libddvm's limits on what a server may describe */
#define DDVM_FRONT_NET_MTU_MIN		68
#define DDVM_FRONT_NET_MTU_MAX		9000

static bool ddvm_front_net_offload = true;
module_param_named(net_offload, ddvm_front_net_offload, bool, 0444);
MODULE_PARM_DESC(net_offload, "accept the net channels' offloads (checksums, TSO) when offered (default 1)");

static void ddvm_front_net_notify(struct ddvm_front_net *n)
{
	n->doorbells++;
	ddvm_front_chan_notify(&n->chan);
}

/* The rings the region holds, as libddvm plans them (ddvm/client.h: RX doubled where there is room). */
static int ddvm_front_net_plan(struct ddvm_front_net *n)
{
	u32 tx, rx;

	if (ddvm_net_client_plan(n->chan.size, &tx, &rx)) {
		dev_err(&n->chan.pdev->dev, "shared region of %llu bytes cannot hold a net channel\n",
			n->chan.size);
		return -ENOSPC;
	}
	n->want[DDVM_NET_RING_TX] = (struct ddvm_ring_want){ tx, sizeof(struct ddvm_net_desc) };
	n->want[DDVM_NET_RING_RX] = (struct ddvm_ring_want){ rx, sizeof(struct ddvm_net_desc) };
	/* a chain must fit a ring with room to spare (ddvm_net_layout_check) */
	if (ddvm_front_net_offload && tx >= DDVM_NET_OFFLOAD_MIN_ENTRIES)
		n->chan.want_features = DDVM_F_NET_OFFLOAD;
	return 0;
}

/* Record where the layout put things; the same rules the server checks. */
static int ddvm_front_net_bind_layout(struct ddvm_front_net *n)
{
	struct ddvm_cli_block *l = &n->layout;
	u32 i;

	memset(l, 0, sizeof(*l));
	l->nr_rings = DDVM_NET_NR_RINGS;
	l->features = n->chan.features;
	for (i = 0; i < DDVM_NET_NR_RINGS; i++) {
		l->rings[i].entries = n->want[i].entries;
		l->rings[i].entry_size = n->want[i].entry_size;
	}
	l->data_off = n->chan.data_off;
	l->data_size = n->chan.data_size;
	if (ddvm_net_layout_check(l))
		return -ENOSPC;
	n->data = (u8 *)n->chan.region + l->data_off;
	return 0;
}

/*
 * Take the server block @s (a private, checked copy) as the current
 * server's.  Our address is the channel's and stays: a server that names
 * another is refused (the DD/OS would drop our frames as spoofed anyway).
 */
static int ddvm_front_net_adopt(struct ddvm_front_net *n, const struct ddvm_srv_block *s,
				bool first)
{
	struct ddvm_net_info i = s->net;
	struct device *dev = &n->chan.pdev->dev;

	if (i.mtu < DDVM_FRONT_NET_MTU_MIN || i.mtu > DDVM_FRONT_NET_MTU_MAX) {
		dev_err_ratelimited(dev, "server reports MTU %u (want %d..%d)\n", i.mtu,
				    DDVM_FRONT_NET_MTU_MIN, DDVM_FRONT_NET_MTU_MAX);
		return -EPROTO;
	}
	if (i.buf_size != DDVM_NET_BUF_SIZE) {
		dev_err_ratelimited(dev, "server reports %u-byte frame buffers (want %d)\n",
				    i.buf_size, DDVM_NET_BUF_SIZE);
		return -EPROTO;
	}
	if (!is_valid_ether_addr(i.mac)) {
		dev_err_ratelimited(dev, "server gives us %pM, not a unicast address\n", i.mac);
		return -EPROTO;
	}
	if (!first && !ether_addr_equal(i.mac, n->dev->dev_addr)) {
		dev_err_ratelimited(dev, "the new server gives us %pM, the interface has %pM\n",
				    i.mac, n->dev->dev_addr);
		return -EPROTO;
	}
	i.ifname[sizeof(i.ifname) - 1] = '\0';
	i.driver[sizeof(i.driver) - 1] = '\0';
	n->info = i;
	n->mtu_frame = i.mtu + DDVM_NET_FRAME_OVERHEAD;
	n->max_frame = min_t(u32, n->mtu_frame, DDVM_NET_BUF_SIZE);
	n->event_idx = !!(s->features & DDVM_F_EVENT_IDX);
	/* what our layout accepted of what this server offered */
	WRITE_ONCE(n->offload, !!(n->chan.features & DDVM_F_NET_OFFLOAD));
	n->usable = true;
	return 0;
}

/*
 * The server moved one of our rings' indices impossibly: trust neither ring,
 * ask for a fresh generation (handshake step 4), pass nothing until it comes.
 */
static void ddvm_front_net_ring_broken_locked(struct ddvm_front_net *n)
{
	n->ring_errors++;
	n->usable = false;
	if (n->reset_asked)
		return;
	n->reset_asked = true;
	netdev_warn(n->dev, "the server broke a ring (generation %u); asking it for a fresh one\n",
		    n->chan.generation);
	ddvm_front_chan_set_state(&n->chan, DDVM_CLI_RESET);
}

/*
 * The interface's features follow what the layout carries: the stack
 * stops handing us TSO frames and partial checksums as soon as a
 * generation without offloads runs (those it hands over meanwhile are
 * lost, or finished: front_net_frames.c), and gets them back with one
 * that has them.  Process context, under rtnl.
 */
static void ddvm_front_net_features_work(struct work_struct *work)
{
	struct ddvm_front_net *n = container_of(work, struct ddvm_front_net, features_work);

	rtnl_lock();
	if (n->dev->reg_state == NETREG_REGISTERED)
		netdev_update_features(n->dev);
	rtnl_unlock();
}

static netdev_features_t ddvm_front_net_fix_features(struct net_device *dev,
						     netdev_features_t features)
{
	struct ddvm_front_net *n = netdev_priv(dev);

	if (!READ_ONCE(n->offload))
		features &= ~DDVM_FRONT_NET_OFFLOADS;
	return features;
}

/*
 * A new server generation waits for a layout: frames in flight are lost (a
 * restart is a cable pulled and plugged back); lay out again and carry on.
 */
static void ddvm_front_net_relayout_locked(struct ddvm_front_net *n)
{
	bool offload = n->offload;

	n->usable = false;
	n->reset_asked = false;
	if (ddvm_front_chan_relayout(&n->chan, n->want, DDVM_NET_NR_RINGS))
		return;		/* no valid server block yet: look again later */
	n->tx_pub_old = 0;
	n->tx_cons_seen = 0;
	if (ddvm_front_net_bind_layout(n) || ddvm_front_net_adopt(n, &n->chan.srv_copy, false)) {
		n->usable = false;
		n->bad_servers++;
		return;
	}
	netdev_info(n->dev, "server generation %u (peer %u, %s on %s), offloads %s\n",
		    n->chan.generation, n->chan.server_id, n->info.ifname, n->info.driver,
		    n->offload ? "on" : "off");
	if (n->offload != offload)
		schedule_work(&n->features_work);
	if (netif_queue_stopped(n->dev))
		netif_wake_queue(n->dev);	/* a fresh, empty TX ring */
}

/* Catch up with the server.  Return: whether frames may flow now. */
static bool ddvm_front_net_sync_locked(struct ddvm_front_net *n)
{
	switch (ddvm_front_chan_health(&n->chan)) {
	case DDVM_CHAN_OK:
		/* a server still WAITing for the layout we withdrew needs a fresh copy */
		if (n->reset_asked && ddvm_front_chan_waits_again(&n->chan))
			break;
		return n->usable;
	case DDVM_CHAN_NEW_SERVER:
		break;
	case DDVM_CHAN_ABSENT:
		return false;
	}
	ddvm_front_net_relayout_locked(n);
	return n->usable && ddvm_front_chan_health(&n->chan) == DDVM_CHAN_OK;
}

/* Make the frames queued since the last publication visible; ring if the server sleeps. */
static void ddvm_front_net_publish_locked(struct ddvm_front_net *n)
{
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];

	if (tx->local == n->tx_pub_old)
		return;
	if (ddvm_ring_publish(tx, n->tx_pub_old) || !n->event_idx)
		ddvm_front_net_notify(n);
	n->tx_pub_old = tx->local;
}

/* Free TX entries the queue needs to run: room for the longest frame. */
static int ddvm_front_net_tx_need(const struct ddvm_front_net *n)
{
	return n->offload ? DDVM_NET_CHAIN_MAX : 1;
}

/*
 * The server may have freed TX entries: let a stopped queue go again once
 * they are enough for any frame; until then, ask the server to ring when
 * it frees more, and look once more (it may have freed them meanwhile).
 */
static void ddvm_front_net_tx_room_locked(struct ddvm_front_net *n)
{
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];
	int room, need = ddvm_front_net_tx_need(n);

	if (!netif_queue_stopped(n->dev))
		return;
	room = ddvm_ring_free(tx);
	if (room >= 0 && room < need)
		room = ddvm_ring_arm_room(tx);
	if (room < 0)
		ddvm_front_net_ring_broken_locked(n);
	else if (room >= need)
		netif_wake_queue(n->dev);
}

/* The TX ring may not hold the next frame: stop until the server frees entries. */
static void ddvm_front_net_tx_full_locked(struct ddvm_front_net *n)
{
	netif_stop_queue(n->dev);
	ddvm_front_net_tx_room_locked(n);
}

static netdev_tx_t ddvm_front_net_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct ddvm_front_net *n = netdev_priv(dev);
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];
	u32 len = skb->len;
	int room, used;

	spin_lock(&n->lock);
	/* no server: the frame is lost, as on a wire with nobody at the other end */
	if (!ddvm_front_net_sync_locked(n))
		goto out_drop;
	room = ddvm_ring_free(tx);
	if (room < 0) {
		ddvm_front_net_ring_broken_locked(n);
		goto out_drop;
	}
	used = n->offload ? ddvm_front_net_tx_chain(n, skb, room) :
			    ddvm_front_net_tx_plain(n, skb, room);
	if (used == -ENOSPC) {
		/* the queue stops before the ring fills; a late frame is dropped */
		ddvm_front_net_tx_full_locked(n);
		ddvm_front_net_publish_locked(n);
		goto out_drop;
	}
	if (used < 0) {
		dev->stats.tx_errors++;
		goto out_drop;
	}
	dev->stats.tx_packets++;
	dev->stats.tx_bytes += len;
	if (room - used < ddvm_front_net_tx_need(n))
		ddvm_front_net_tx_full_locked(n);
	/* one publication, and at most one doorbell, per batch the stack hands us */
	if (!netdev_xmit_more() || netif_queue_stopped(dev))
		ddvm_front_net_publish_locked(n);
	spin_unlock(&n->lock);
	dev_consume_skb_any(skb);
	return NETDEV_TX_OK;

out_drop:
	dev->stats.tx_dropped++;
	spin_unlock(&n->lock);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

/* Take up to @budget received frames into @q.  Return: frames taken. */
static int ddvm_front_net_rx_locked(struct ddvm_front_net *n, struct sk_buff_head *q, int budget)
{
	struct ddvm_ring *rx = &n->chan.rings[DDVM_NET_RING_RX];
	struct net_device *dev = n->dev;
	struct sk_buff *skb;
	u32 old = rx->local;
	int avail, done = 0;

	avail = ddvm_ring_avail(rx);
	if (avail < 0) {
		ddvm_front_net_ring_broken_locked(n);
		return 0;
	}
	while (avail > 0 && done < budget) {
		done++;
		if (!n->offload) {
			skb = ddvm_front_net_rx_plain(n, &avail);
		} else if (ddvm_front_net_rx_chain(n, &avail, &skb)) {
			ddvm_front_net_ring_broken_locked(n);	/* what we took so far is good */
			break;
		}
		if (!skb)
			continue;
		dev->stats.rx_packets++;
		dev->stats.rx_bytes += skb->len;
		skb->protocol = eth_type_trans(skb, dev);
		__skb_queue_tail(q, skb);
	}
	/* the buffers go back once per poll; the server drops, never waits, when we lag */
	if (n->usable && rx->local != old && ddvm_ring_consumed(rx, old))
		ddvm_front_net_notify(n);
	return done;
}

static int ddvm_front_net_poll(struct napi_struct *napi, int budget)
{
	struct ddvm_front_net *n = container_of(napi, struct ddvm_front_net, napi);
	struct sk_buff_head q;
	struct sk_buff *skb;
	int done = 0, more = 0;

	__skb_queue_head_init(&q);
	spin_lock(&n->lock);
	if (ddvm_front_net_sync_locked(n)) {
		done = ddvm_front_net_rx_locked(n, &q, budget);
		ddvm_front_net_tx_room_locked(n);
	}
	spin_unlock(&n->lock);
	/* outside the lock: the stack may answer at once through our xmit */
	while ((skb = __skb_dequeue(&q)))
		napi_gro_receive(napi, skb);

	if (done < budget && napi_complete_done(napi, done)) {
		/* ask for a doorbell at the next frame, then look once more */
		spin_lock(&n->lock);
		if (ddvm_front_net_sync_locked(n)) {
			more = ddvm_ring_arm(&n->chan.rings[DDVM_NET_RING_RX]);
			if (more < 0)
				ddvm_front_net_ring_broken_locked(n);
		}
		spin_unlock(&n->lock);
		if (more > 0)
			napi_schedule(napi);
	}
	return done;
}

/* Hard irq: the server rang (frames, room, or a new generation). */
static void ddvm_front_net_doorbell(struct ddvm_front_chan *chan)
{
	napi_schedule(&container_of(chan, struct ddvm_front_net, chan)->napi);
}

/*
 * While the interface is up: the carrier follows the NIC's link as the
 * server reports it (and stays as it was while no server runs), and the
 * safety net picks up frames whose doorbell was lost and re-rings a server
 * that left our frames unsent for a whole period.
 */
static void ddvm_front_net_timer(struct timer_list *t)
{
	struct ddvm_front_net *n = from_timer(n, t, timer);
	struct ddvm_ring *tx = &n->chan.rings[DDVM_NET_RING_TX];
	struct net_device *dev = n->dev;
	bool ok, kick = false, link;
	int room;

	spin_lock(&n->lock);
	ok = ddvm_front_net_sync_locked(n);
	if (ok) {
		link = READ_ONCE(n->chan.srv->net.link_up) != 0;
		if (link != netif_carrier_ok(dev)) {
			if (link)
				netif_carrier_on(dev);
			else
				netif_carrier_off(dev);
		}
		kick = ddvm_ring_avail(&n->chan.rings[DDVM_NET_RING_RX]) != 0;
		ddvm_front_net_publish_locked(n);
		room = ddvm_ring_free(tx);
		if (room < 0) {
			ddvm_front_net_ring_broken_locked(n);
		} else if ((u32)room <= tx->mask && tx->peer == n->tx_cons_seen) {
			n->rechecks++;
			ddvm_front_net_notify(n);
		}
		n->tx_cons_seen = tx->peer;
		ddvm_front_net_tx_room_locked(n);
	} else if (netif_queue_stopped(dev)) {
		netif_wake_queue(dev);	/* frames are lost meanwhile, not held */
	}
	spin_unlock(&n->lock);
	if (kick)
		napi_schedule(&n->napi);
	mod_timer(&n->timer, jiffies + msecs_to_jiffies(ok ? DDVM_FRONT_RECHECK_MS :
							DDVM_FRONT_POLL_MS));
}

static int ddvm_front_net_open(struct net_device *dev)
{
	struct ddvm_front_net *n = netdev_priv(dev);
	bool link;

	napi_enable(&n->napi);
	spin_lock_bh(&n->lock);
	link = !ddvm_front_net_sync_locked(n) || READ_ONCE(n->chan.srv->net.link_up);
	spin_unlock_bh(&n->lock);
	if (link)
		netif_carrier_on(dev);
	else
		netif_carrier_off(dev);
	netif_start_queue(dev);
	mod_timer(&n->timer, jiffies + msecs_to_jiffies(DDVM_FRONT_RECHECK_MS));
	/* frames may be waiting already */
	local_bh_disable();
	napi_schedule(&n->napi);
	local_bh_enable();
	return 0;
}

static int ddvm_front_net_stop(struct net_device *dev)
{
	struct ddvm_front_net *n = netdev_priv(dev);

	netif_stop_queue(dev);
	del_timer_sync(&n->timer);
	napi_disable(&n->napi);
	return 0;
}

static const struct net_device_ops ddvm_front_net_ops = {
	.ndo_open = ddvm_front_net_open,
	.ndo_stop = ddvm_front_net_stop,
	.ndo_start_xmit = ddvm_front_net_xmit,
	.ndo_validate_addr = eth_validate_addr,
	.ndo_fix_features = ddvm_front_net_fix_features,
	.ndo_features_check = ddvm_front_net_features_check,
	/* no ndo_set_mac_address: the address is the channel's, fixed by the DD/OS */
};

/*
 * /sys/class/net/ddvmnetN/ddvm/: whether the current layout carries
 * offloads, and how many GSO frames crossed the channel whole each way
 * and how many offloaded frames the server wrote that we refused.
 */
static ssize_t offload_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct ddvm_front_net *n = netdev_priv(to_net_dev(d));

	return sysfs_emit(buf, "%d\n", READ_ONCE(n->offload));
}
static DEVICE_ATTR_RO(offload);

#define DDVM_FRONT_NET_COUNTER(name)							\
static ssize_t name##_show(struct device *d, struct device_attribute *attr, char *buf)	\
{											\
	struct ddvm_front_net *n = netdev_priv(to_net_dev(d));				\
											\
	return sysfs_emit(buf, "%llu\n", READ_ONCE(n->name));				\
}											\
static DEVICE_ATTR_RO(name)

DDVM_FRONT_NET_COUNTER(tx_gso);
DDVM_FRONT_NET_COUNTER(rx_gso);
DDVM_FRONT_NET_COUNTER(rx_bad_hdr);

static struct attribute *ddvm_front_net_attrs[] = {
	&dev_attr_offload.attr,
	&dev_attr_tx_gso.attr,
	&dev_attr_rx_gso.attr,
	&dev_attr_rx_bad_hdr.attr,
	NULL,
};

static const struct attribute_group ddvm_front_net_attr_group = {
	.name = "ddvm",
	.attrs = ddvm_front_net_attrs,
};

int ddvm_front_net_probe(struct pci_dev *pdev, const struct ddvm_front_entry *entry)
{
	struct net_device *dev;
	struct ddvm_front_net *n;
	char name[IFNAMSIZ];
	int ret;

	snprintf(name, sizeof(name), "ddvmnet%u", entry->index);
	dev = alloc_netdev(sizeof(*n), name, NET_NAME_PREDICTABLE, ether_setup);
	if (!dev)
		return -ENOMEM;
	SET_NETDEV_DEV(dev, &pdev->dev);
	n = netdev_priv(dev);
	n->dev = dev;
	spin_lock_init(&n->lock);
	timer_setup(&n->timer, ddvm_front_net_timer, 0);
	INIT_WORK(&n->features_work, ddvm_front_net_features_work);

	ret = ddvm_front_chan_open(&n->chan, pdev, DDVM_CHAN_NET);
	if (ret)
		goto out_free;
	ret = ddvm_front_net_plan(n);
	if (ret)
		goto out_close;
	ret = ddvm_front_chan_connect(&n->chan, n->want, DDVM_NET_NR_RINGS,
				      ddvm_front_connect_timeout_ms);
	if (ret)
		goto out_close;
	ret = ddvm_front_net_bind_layout(n);
	if (ret) {
		dev_err(&pdev->dev, "data area of %llu bytes is too small for the frame buffers\n",
			n->chan.data_size);
		goto out_close;
	}
	ret = ddvm_front_net_adopt(n, &n->chan.srv_copy, true);
	if (ret)
		goto out_close;

	eth_hw_addr_set(dev, n->info.mac);
	dev->netdev_ops = &ddvm_front_net_ops;
	dev->min_mtu = DDVM_FRONT_NET_MTU_MIN;
	dev->max_mtu = n->max_frame - DDVM_NET_FRAME_OVERHEAD;
	dev->mtu = min_t(u32, n->info.mtu, dev->max_mtu);
	/* all of them; ndo_fix_features keeps those the layout carries */
	dev->hw_features = DDVM_FRONT_NET_OFFLOADS;
	dev->features = DDVM_FRONT_NET_OFFLOADS;
	/* a TSO frame and its header must fit a chain, its segments the server's limit */
	netif_set_tso_max_size(dev, min_t(u32, GSO_LEGACY_MAX_SIZE, DDVM_NET_OFFLOAD_MAX_FRAME));
	netif_set_tso_max_segs(dev, DDVM_NET_GSO_MAX_SEGS);
	dev->sysfs_groups[0] = &ddvm_front_net_attr_group;
	netif_napi_add(dev, &n->napi, ddvm_front_net_poll);
	netif_carrier_off(dev);
	pci_set_drvdata(pdev, &n->chan);
	WRITE_ONCE(n->chan.on_doorbell, ddvm_front_net_doorbell);
	ret = register_netdev(dev);
	if (ret) {
		dev_err(&pdev->dev, "cannot register %s: %d\n", name, ret);
		goto out_napi;
	}
	netdev_info(dev, "%pM, MTU %u, on %s (%s) of the DD/OS (peer %u, generation %u), %u+%u buffers, offloads %s\n",
		    dev->dev_addr, dev->mtu, n->info.ifname, n->info.driver, n->chan.server_id,
		    n->chan.generation, n->want[DDVM_NET_RING_TX].entries,
		    n->want[DDVM_NET_RING_RX].entries, n->offload ? "on" : "off");
	return 0;

out_napi:
	WRITE_ONCE(n->chan.on_doorbell, NULL);
	netif_napi_del(&n->napi);
out_close:
	ddvm_front_chan_close(&n->chan);
out_free:
	free_netdev(dev);
	return ret;
}

void ddvm_front_net_remove(struct ddvm_front_chan *chan)
{
	struct ddvm_front_net *n = container_of(chan, struct ddvm_front_net, chan);
	struct net_device *dev = n->dev;

	unregister_netdev(dev);		/* stops it: timer and NAPI are off */
	cancel_work_sync(&n->features_work);
	WRITE_ONCE(chan->on_doorbell, NULL);
	ddvm_front_chan_close(chan);
	netif_napi_del(&n->napi);
	dev_info(&chan->pdev->dev, "%s: removed (%llu layouts, %llu ring errors, %llu servers refused, %llu doorbells, %llu rechecks, %llu+%llu GSO frames out+in, %llu refused)\n",
		 dev->name, chan->layouts, n->ring_errors, n->bad_servers, n->doorbells, n->rechecks,
		 n->tx_gso, n->rx_gso, n->rx_bad_hdr);
	free_netdev(dev);
}
