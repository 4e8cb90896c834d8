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
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "ddvm.h"

#define DDVM_NET_TX_BATCH	64	/* frames taken from the TX ring at once */

/* A NIC shared by the clients attached to it. */
struct ddvm_net_port {
	struct list_head node;		/* ddvm_net_ports, under ddvm_net_mutex */
	struct net_device *dev;
	struct list_head clients;	/* struct ddvm_net, RCU for the rx handler */
	unsigned int nr_clients;
	netdev_features_t gro_off;	/* GRO features we turned off, restored at the end */
};

/* One client channel on a port. */
struct ddvm_net {
	struct ddvm_chan *chan;
	struct ddvm_net_port *port;
	struct list_head node;		/* port->clients */
	u8 mac[ETH_ALEN];
	spinlock_t rx_lock;		/* the RX ring's producer side, running */
	bool running;			/* rings bound for the current generation */
	struct ddvm_ring tx, rx;
	struct ddvm_cli_block layout;	/* checked private copy: buffer offsets */
	u8 *data;			/* the data area */
	u64 rx_frames, rx_dropped;	/* under rx_lock */
	u64 tx_frames, tx_dropped;	/* work only */
};

static LIST_HEAD(ddvm_net_ports);
static DEFINE_MUTEX(ddvm_net_mutex);	/* ports and their client lists */

/* Copy one frame into @n's RX ring; frames in excess of the ring are dropped. */
static void ddvm_net_deliver(struct ddvm_net *n, const struct sk_buff *skb, int offset,
			     u32 len, bool *notify)
{
	struct ddvm_net_desc d = { .len = len };
	unsigned long flags;
	u32 old;

	spin_lock_irqsave(&n->rx_lock, flags);
	if (!n->running) {
		spin_unlock_irqrestore(&n->rx_lock, flags);
		return;
	}
	if (len > DDVM_NET_BUF_SIZE || skb_is_gso(skb) || ddvm_ring_free(&n->rx) <= 0) {
		n->rx_dropped++;	/* a full ring or a broken one: the client's loss */
		spin_unlock_irqrestore(&n->rx_lock, flags);
		return;
	}
	old = n->rx.local;
	if (skb_copy_bits(skb, offset, n->data + ddvm_net_buf_off(&n->layout, DDVM_NET_RING_RX, old),
			  len)) {
		n->rx_dropped++;
		spin_unlock_irqrestore(&n->rx_lock, flags);
		return;
	}
	memcpy(ddvm_ring_next(&n->rx), &d, sizeof(d));
	n->rx.local++;
	if (ddvm_ring_publish(&n->rx, old))
		*notify = true;
	n->rx_frames++;
	spin_unlock_irqrestore(&n->rx_lock, flags);
}

static void ddvm_net_deliver_notify(struct ddvm_net *n, const struct sk_buff *skb, int offset,
				    u32 len)
{
	bool notify = false;

	ddvm_net_deliver(n, skb, offset, len, &notify);
	if (notify)
		ddvm_chan_notify(n->chan);
}

/*
 * Hand a frame (Ethernet header at @offset from skb->data) to the clients it
 * is addressed to; @from is a client that must not get its own frame back.
 * Return: true if a client owned the unicast destination.
 */
static bool ddvm_net_switch(struct ddvm_net_port *port, const struct sk_buff *skb, int offset,
			    u32 len, const struct ddvm_net *from)
{
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
			ddvm_net_deliver_notify(n, skb, offset, len);
		} else if (ether_addr_equal(dest, n->mac)) {
			ddvm_net_deliver_notify(n, skb, offset, len);
			owned = true;
			break;
		}
	}
	rcu_read_unlock();
	return owned;
}

/* Every frame the NIC receives comes here first; the DD/OS's own stack gets none. */
static rx_handler_result_t ddvm_net_rx_handler(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	struct ddvm_net_port *port = rcu_dereference(skb->dev->rx_handler_data);
	int offset = skb_mac_offset(skb);	/* the driver already pulled the header */

	/*
	 * A virtio-net or tap peer may hand over packets whose transport
	 * checksum is left for "hardware" to finish; a client gets bytes on
	 * a wire, so finish it here (on our own copy of a shared skb).
	 */
	if (skb->ip_summed == CHECKSUM_PARTIAL && !skb_is_gso(skb)) {
		skb = skb_share_check(skb, GFP_ATOMIC);
		if (!skb)
			return RX_HANDLER_CONSUMED;
		*pskb = skb;
		if (skb_checksum_help(skb)) {
			kfree_skb(skb);
			return RX_HANDLER_CONSUMED;
		}
	}
	if (skb->pkt_type != PACKET_LOOPBACK && offset <= 0)
		ddvm_net_switch(port, skb, offset, skb->len - offset, NULL);
	consume_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/* Send one client frame, already copied into @skb and checked. */
static void ddvm_net_xmit(struct ddvm_net *n, struct sk_buff *skb)
{
	struct net_device *dev = n->port->dev;
	const struct ethhdr *eth = (const struct ethhdr *)skb->data;

	/* another client of this NIC: deliver it here, as a switch would */
	if (ddvm_net_switch(n->port, skb, 0, skb->len, n)) {
		consume_skb(skb);
		return;
	}
	skb->dev = dev;
	skb->protocol = eth->h_proto;
	skb_reset_mac_header(skb);
	skb_reset_network_header(skb);
	if (dev_queue_xmit(skb) == NET_XMIT_SUCCESS)
		n->tx_frames++;
	else
		n->tx_dropped++;
}

static int ddvm_net_process(struct ddvm_chan *chan)
{
	struct ddvm_net *n = chan->backend;
	struct net_device *dev = n->port->dev;
	u32 max_frame = READ_ONCE(dev->mtu) + ETH_HLEN + VLAN_HLEN;
	struct sk_buff *batch[DDVM_NET_TX_BATCH];
	struct ddvm_net_desc d;
	int avail, count, i;
	const u8 *buf;
	u32 old;

	for (;;) {
		avail = ddvm_ring_avail(&n->tx);
		if (!avail)
			avail = ddvm_ring_arm(&n->tx);
		if (avail < 0)
			return DDVM_ERR_RING;
		if (!avail)
			return 0;
		/* copy a batch out, hand the buffers back, then send */
		old = n->tx.local;
		for (count = 0; avail-- > 0 && count < DDVM_NET_TX_BATCH;) {
			buf = n->data + ddvm_net_buf_off(&n->layout, DDVM_NET_RING_TX, n->tx.local);
			ddvm_ring_take(&n->tx, &d);
			if (!ddvm_net_frame_check(d.len, max_frame)) {
				n->tx_dropped++;
				continue;
			}
			batch[count] = netdev_alloc_skb(dev, d.len + NET_IP_ALIGN);
			if (!batch[count]) {
				n->tx_dropped++;
				continue;
			}
			skb_reserve(batch[count], NET_IP_ALIGN);
			skb_put_data(batch[count], buf, d.len);
			/* checked on our copy: the client cannot change it now */
			if (!ether_addr_equal(((struct ethhdr *)batch[count]->data)->h_source, n->mac)) {
				kfree_skb(batch[count]);
				n->tx_dropped++;
				continue;
			}
			count++;
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
	u64 rx, rxd;

	spin_lock_irqsave(&n->rx_lock, flags);
	rx = n->rx_frames;
	rxd = n->rx_dropped;
	spin_unlock_irqrestore(&n->rx_lock, flags);
	WRITE_ONCE(info->mtu, READ_ONCE(dev->mtu));
	WRITE_ONCE(info->link_up, netif_carrier_ok(dev) ? 1 : 0);
	WRITE_ONCE(info->rx_frames, rx);
	WRITE_ONCE(info->rx_dropped, rxd);
	WRITE_ONCE(info->tx_frames, READ_ONCE(n->tx_frames));
	WRITE_ONCE(info->tx_dropped, READ_ONCE(n->tx_dropped));
}

static int ddvm_net_tick(struct ddvm_chan *chan)
{
	ddvm_net_publish_info(chan->backend);
	return 0;
}

static int ddvm_net_start(struct ddvm_chan *chan, const struct ddvm_cli_block *c)
{
	struct ddvm_net *n = chan->backend;
	unsigned long flags;
	u32 err;

	err = ddvm_net_layout_check(c);
	if (err)
		return err;
	spin_lock_irqsave(&n->rx_lock, flags);
	n->layout = *c;
	ddvm_ring_init(&n->tx, chan->region, &c->rings[DDVM_NET_RING_TX]);
	ddvm_ring_init(&n->rx, chan->region, &c->rings[DDVM_NET_RING_RX]);
	n->data = (u8 *)chan->region + c->data_off;
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
	spin_unlock_irqrestore(&n->rx_lock, flags);
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
	rtnl_lock();
	ret = netdev_rx_handler_register(dev, ddvm_net_rx_handler, port);
	if (!ret) {
		ret = dev_set_promiscuity(dev, 1);
		if (ret)
			netdev_rx_handler_unregister(dev);
	}
	if (!ret) {
		/*
		 * Clients get frames, not the 64 KiB super-packets GRO, GRO_HW
		 * (virtio-net) and LRO build: a bridge re-segments on transmit,
		 * we have no transmit.
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
	list_add(&port->node, &ddvm_net_ports);
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
		list_del(&port->node);
	}
	mutex_unlock(&ddvm_net_mutex);
	synchronize_rcu();	/* the rx handler may still be looking at us or the port */
	dev_put(port->dev);	/* each client holds its own reference */
	if (!port->nr_clients)
		kfree(port);
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
