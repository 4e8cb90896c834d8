/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of ddvm.ko: the generic ivshmem channel (ddvm_chan.c)
 * and the device backends that serve a channel (ddvm_blk.c, later net).
 */
#ifndef _DDVM_H
#define _DDVM_H

#include <linux/pci.h>
#include <linux/memremap.h>
#include <linux/workqueue.h>
#include <linux/timer.h>
#include <linux/spinlock.h>

#include <uapi/ddvm/channel.h>
#include <ddvm/ring.h>
#include <ddvm/check.h>

#define DDVM_EXPORT_TARGET_MAX	64

/* One entry of the "exports" module parameter: which device a channel serves. */
struct ddvm_export {
	char pci_name[16];		/* e.g. 0000:00:10.0 */
	u16 type;			/* enum ddvm_chan_type */
	char target[DDVM_EXPORT_TARGET_MAX];	/* block device path or netdev name */
};

struct ddvm_chan;

/*
 * What a backend does for a channel.  All hooks run in process context
 * except where noted; the channel serialises them (one work item).
 */
struct ddvm_backend_ops {
	u16 type;
	u64 features;			/* DDVM_F_* offered on top of the channel's own */
	u32 nr_rings;
	u32 entry_size[DDVM_MAX_RINGS];
	/* open the exported device, fill srv->blk/net; 0/-errno */
	int (*attach)(struct ddvm_chan *chan, const char *target);
	void (*detach)(struct ddvm_chan *chan);
	/* the layout is checked; bind the rings; 0 or a DDVM_ERR_* code */
	int (*start)(struct ddvm_chan *chan, const struct ddvm_cli_block *cli);
	/* consume requests; 0, or a DDVM_ERR_* code that stops the channel */
	int (*process)(struct ddvm_chan *chan);
	/* wait until nothing is in flight; false if that took too long */
	bool (*drain)(struct ddvm_chan *chan);
	/* heartbeat tick (timer context): a DDVM_ERR_* code if the device failed */
	int (*tick)(struct ddvm_chan *chan);
	/* does the client's request (TX) ring hold entries not yet taken? any context */
	bool (*pending)(struct ddvm_chan *chan);
};

struct ddvm_chan {
	struct pci_dev *pdev;
	void __iomem *regs;		/* BAR0: ivshmem registers */
	void *region;			/* BAR2 as ZONE_DEVICE memory, see ddvm_chan.c */
	phys_addr_t region_phys;
	u64 region_size;
	struct dev_pagemap pgmap;
	struct ddvm_srv_block *srv;
	struct ddvm_cli_block *cli;
	u32 peer_id;			/* our ivshmem id (IVPosition) */
	u32 client_peer;		/* from the client's layout; U32_MAX if none */
	u32 generation;
	u32 state;			/* private copy of srv->state */
	const struct ddvm_backend_ops *ops;
	void *backend;
	struct work_struct work;
	struct timer_list heartbeat;
	bool stopping;
	char name[32];			/* for messages: "ddvm 0000:00:10.0" */
};

/* ddvm_chan.c */
void ddvm_chan_kick(struct ddvm_chan *chan);
void ddvm_chan_notify(struct ddvm_chan *chan);
void ddvm_chan_fail(struct ddvm_chan *chan, u32 error);
struct page *ddvm_chan_page(struct ddvm_chan *chan, u64 off);
int ddvm_chan_probe(struct pci_dev *pdev, const struct ddvm_export *exp);
void ddvm_chan_remove(struct pci_dev *pdev);
int ddvm_chan_init(void);
void ddvm_chan_exit(void);

/* ddvm_blk.c */
extern const struct ddvm_backend_ops ddvm_blk_ops;

/* ddvm_net.c */
extern const struct ddvm_backend_ops ddvm_net_ops;

#endif /* _DDVM_H */
