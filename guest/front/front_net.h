/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The net front end's state, shared by front_net.c (the netdev, its rings,
 * server generations, carrier) and front_net_frames.c (the frames
 * themselves: plain ones, and with DDVM_F_NET_OFFLOAD an offload header
 * and a chain of buffers per frame, include/uapi/ddvm/channel.h).
 */
#ifndef _DDVM_FRONT_NET_H
#define _DDVM_FRONT_NET_H

#include <linux/netdevice.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "ddvm_front.h"

/*
 * What the interface offers the stack while its layout carries offloads:
 * scatter-gather, checksums, TCP segmentation and received checksums.
 * No UDP segmentation: this kernel's virtio_net_hdr_from_skb() and
 * virtio_net_hdr_to_skb() do not speak GSO_UDP_L4 yet.
 */
#define DDVM_FRONT_NET_OFFLOADS	(NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_TSO | NETIF_F_TSO6 | \
				 NETIF_F_TSO_ECN | NETIF_F_RXCSUM)

struct ddvm_front_net {
	struct ddvm_front_chan chan;	/* first: the PCI drvdata points here */
	struct net_device *dev;
	struct napi_struct napi;
	spinlock_t lock;		/* rings, layout, counters: xmit, NAPI, timer */
	struct ddvm_ring_want want[DDVM_NET_NR_RINGS];
	struct ddvm_cli_block layout;	/* private: ring sizes and data area, for buffer offsets */
	u8 *data;			/* the data area */
	struct ddvm_net_info info;	/* checked copy of the current server's */
	u32 max_frame;			/* plain frames: MTU + overhead, at most a buffer */
	u32 mtu_frame;			/* offloaded unsegmented frames: MTU + overhead */
	u32 tx_pub_old;			/* TX ring index last published */
	u32 tx_cons_seen;		/* the server's TX index at the last recheck */
	bool event_idx;			/* the server honours cons_event/prod_event */
	bool offload;			/* this layout carries DDVM_F_NET_OFFLOAD */
	bool usable;			/* this layout's server accepted, its rings sane */
	bool reset_asked;		/* we asked for a fresh generation */
	struct timer_list timer;	/* carrier, and the safety net; while up */
	struct work_struct features_work; /* the netdev's features follow n->offload */
	u64 ring_errors, bad_servers, doorbells, rechecks;
	u64 tx_gso, rx_gso, rx_bad_hdr;	/* GSO frames that crossed whole; refused chains */
};

/* front_net_frames.c: under n->lock */
int ddvm_front_net_tx_plain(struct ddvm_front_net *n, struct sk_buff *skb, int room);
int ddvm_front_net_tx_chain(struct ddvm_front_net *n, struct sk_buff *skb, int room);
struct sk_buff *ddvm_front_net_rx_plain(struct ddvm_front_net *n, int *avail);
int ddvm_front_net_rx_chain(struct ddvm_front_net *n, int *avail, struct sk_buff **out);
/* front_net_frames.c: any context */
netdev_features_t ddvm_front_net_features_check(struct sk_buff *skb, struct net_device *dev,
						netdev_features_t features);

#endif /* _DDVM_FRONT_NET_H */
