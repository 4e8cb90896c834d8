/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of ddvm_front.ko, the client end of ddvm channels in a
 * Linux client VM (the paper's client stub drivers): the channel itself
 * (front_chan.c: ivshmem device, layout, generations), a block device on a
 * blk channel (front_blk.c) and a netdev on a net channel (front_net.c).
 *
 * The channel ABI is include/uapi/ddvm/channel.h; the rings and checks are
 * the shared include/ddvm/ring.h and check.h, the same code the DD/OS and
 * libddvm run, and the handshake's decisions are ddvm/client.h.  The client
 * side mirrors host/lib/chan_client.c, blk_client.c and net_client.c: every
 * value read from the region is the server's and is checked before use.
 */
#ifndef _DDVM_FRONT_H
#define _DDVM_FRONT_H

#include <linux/pci.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <uapi/ddvm/channel.h>
#include <ddvm/ring.h>
#include <ddvm/check.h>
#include <ddvm/client.h>

#define DDVM_FRONT_MAX_CHANNELS	16
/* Look at the server block this often while no doorbell can be trusted to come. */
#define DDVM_FRONT_POLL_MS	20
/*
 * The safety net under the doorbells: with work outstanding, look at the
 * rings again and re-ring the server this often (libddvm's recheck), so a
 * lost interrupt (TCG) costs a pause, never a hang.
 */
#define DDVM_FRONT_RECHECK_MS	200

/* One entry of the "channels" module parameter. */
struct ddvm_front_entry {
	char pci_name[16];	/* e.g. 0000:00:10.0 */
	u16 type;		/* enum ddvm_chan_type */
	unsigned int index;	/* N of ddvmblkN / ddvmnetN: order among entries of its type */
	bool bound;
};

/*
 * The client end of one channel.  Backends embed it first; the PCI
 * device's drvdata points at it.  Layout fields change only under the
 * backend's lock.
 */
struct ddvm_front_chan {
	struct pci_dev *pdev;
	void __iomem *regs;		/* BAR0: ivshmem registers */
	void *region;			/* BAR2, the shared region, mapped write-back */
	u64 size;
	struct ddvm_srv_block *srv;	/* shared: read with care */
	struct ddvm_cli_block *cli;	/* shared: we write it */
	u16 type;
	u32 own_id;			/* our ivshmem peer id */
	u32 generation;			/* the server generation we laid out for */
	u32 server_id;			/* the server's peer id, U32_MAX if none */
	u64 want_features;		/* DDVM_F_* to accept, beyond EVENT_IDX, when offered */
	u64 features;			/* what the last layout accepted (cli.features) */
	struct ddvm_srv_block srv_copy;	/* checked copy behind the last layout */
	struct ddvm_ring rings[DDVM_MAX_RINGS];
	u32 nr_rings;
	u64 data_off;			/* data area, from region start */
	u64 data_size;
	u64 layouts;			/* layouts done: 1 + restarts and resets seen */
	unsigned int bells;		/* doorbells received, for waiters */
	wait_queue_head_t wait;		/* woken by every doorbell */
	/* the backend's doorbell handler (hard irq), set once it is ready */
	void (*on_doorbell)(struct ddvm_front_chan *chan);
};

/* front_chan.c */
int ddvm_front_chan_open(struct ddvm_front_chan *chan, struct pci_dev *pdev, u16 type);
void ddvm_front_chan_close(struct ddvm_front_chan *chan);
int ddvm_front_chan_connect(struct ddvm_front_chan *chan, const struct ddvm_ring_want *want,
			    u32 nr_rings, unsigned int timeout_ms);
int ddvm_front_chan_relayout(struct ddvm_front_chan *chan, const struct ddvm_ring_want *want,
			     u32 nr_rings);
enum ddvm_chan_health ddvm_front_chan_health(struct ddvm_front_chan *chan);
bool ddvm_front_chan_waits_again(struct ddvm_front_chan *chan);
void ddvm_front_chan_notify(struct ddvm_front_chan *chan);
void ddvm_front_chan_set_state(struct ddvm_front_chan *chan, u32 cli_state);

/* front_blk.c */
int ddvm_front_blk_probe(struct pci_dev *pdev, const struct ddvm_front_entry *entry);
void ddvm_front_blk_remove(struct ddvm_front_chan *chan);

/* front_net.c */
int ddvm_front_net_probe(struct pci_dev *pdev, const struct ddvm_front_entry *entry);
void ddvm_front_net_remove(struct ddvm_front_chan *chan);

/* front_main.c */
extern unsigned int ddvm_front_connect_timeout_ms;
extern struct workqueue_struct *ddvm_front_wq;	/* in the memory-reclaim path: our own */

#endif /* _DDVM_FRONT_H */
