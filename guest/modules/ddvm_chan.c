// SPDX-License-Identifier: GPL-2.0
/*
 * The DD/OS end of a ddvm channel: binds one ivshmem-doorbell PCI device,
 * maps its shared region so block I/O can target it directly, runs the
 * channel handshake of include/uapi/ddvm/channel.h, and hands ring work to
 * the backend (block now, network later).
 *
 * The shared region (BAR2) is given struct pages with devm_memremap_pages()
 * (MEMORY_DEVICE_GENERIC; Debian's kernel has CONFIG_ZONE_DEVICE): bios can
 * then point straight into the data area, so the disk DMAs into memory the
 * client sees and the DD/OS copies nothing.
 */
#include <linux/module.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/slab.h>

#include "ddvm.h"

/* ivshmem BAR0 registers (QEMU docs/specs/ivshmem-spec.rst) */
#define IVSHMEM_IVPOSITION	0x08
#define IVSHMEM_DOORBELL	0x0c

#define DDVM_NO_PEER		U32_MAX
#define DDVM_MAX_PEER_ID	0xffff

static struct workqueue_struct *ddvm_wq;
static DEFINE_SPINLOCK(ddvm_state_lock);	/* orders state changes across work and timer */

/* Ring the client's doorbell (vector 0); any context. */
void ddvm_chan_notify(struct ddvm_chan *chan)
{
	u32 peer = READ_ONCE(chan->client_peer);

	if (peer <= DDVM_MAX_PEER_ID)
		writel((peer << 16) | DDVM_DOORBELL_VECTOR, chan->regs + IVSHMEM_DOORBELL);
}

/* Schedule the channel's work: after a doorbell, or when a backend has room again. */
void ddvm_chan_kick(struct ddvm_chan *chan)
{
	if (!READ_ONCE(chan->stopping))
		queue_work(ddvm_wq, &chan->work);
}

struct page *ddvm_chan_page(struct ddvm_chan *chan, u64 off)
{
	return pfn_to_page(PHYS_PFN(chan->region_phys + off));
}

/*
 * Publish a new server state.  FAILED and STOPPED are final for this
 * generation of the driver: a later transition is refused, so a timer that
 * declares the device dead cannot be undone by the work item.
 */
static bool ddvm_chan_set_state(struct ddvm_chan *chan, u32 state, u32 error)
{
	unsigned long flags;
	bool ok = true;

	spin_lock_irqsave(&ddvm_state_lock, flags);
	if (chan->state == DDVM_SRV_FAILED || chan->state == DDVM_SRV_STOPPED) {
		ok = false;
	} else {
		WRITE_ONCE(chan->srv->error, error);
		ddvm_store_release(&chan->srv->state, state);
		chan->state = state;
	}
	spin_unlock_irqrestore(&ddvm_state_lock, flags);
	return ok;
}

/* The device behind the channel failed: stop serving and tell the client. */
void ddvm_chan_fail(struct ddvm_chan *chan, u32 error)
{
	if (ddvm_chan_set_state(chan, DDVM_SRV_FAILED, error)) {
		dev_err(&chan->pdev->dev, "device failed (error %u); channel stopped until the DD/OS restarts\n",
			error);
		ddvm_chan_notify(chan);
	}
}

/* Check the client's layout (a private copy) against the region. */
static int ddvm_chan_check_layout(struct ddvm_chan *chan, const struct ddvm_cli_block *c)
{
	const struct ddvm_backend_ops *ops = chan->ops;
	struct ddvm_layout_rules rules = {
		.region_size = chan->region_size,
		.type = ops->type,
		.nr_rings = ops->nr_rings,
		.features = READ_ONCE(chan->srv->features),
		.page_size = PAGE_SIZE,
	};

	memcpy(rules.entry_size, ops->entry_size, sizeof(rules.entry_size));
	return ddvm_layout_check(c, &rules);
}

/* WAIT/ERROR: start serving once the client has laid out for our generation. */
static void ddvm_chan_try_start(struct ddvm_chan *chan)
{
	struct ddvm_cli_block c;
	int err;

	if (ddvm_load_acquire(&chan->cli->state) != DDVM_CLI_READY)
		return;
	memcpy(&c, chan->cli, sizeof(c));	/* read once; use only the copy */
	if (c.state != DDVM_CLI_READY || c.generation != chan->generation)
		return;		/* laid out for a predecessor; our doorbell tells it */

	WRITE_ONCE(chan->client_peer, c.peer_id <= DDVM_MAX_PEER_ID ? c.peer_id : DDVM_NO_PEER);
	err = ddvm_chan_check_layout(chan, &c);
	if (!err)
		err = chan->ops->start(chan, &c);
	if (err) {
		dev_warn(&chan->pdev->dev, "client layout rejected (error %d)\n", err);
		if (ddvm_chan_set_state(chan, DDVM_SRV_ERROR, err))
			ddvm_chan_notify(chan);
		return;
	}
	WRITE_ONCE(chan->srv->completed, 0);
	if (ddvm_chan_set_state(chan, DDVM_SRV_RUN, DDVM_ERR_NONE)) {
		ddvm_chan_notify(chan);
		ddvm_chan_kick(chan);	/* requests may be queued already */
	}
}

/*
 * Start a new generation: wait for the device to finish what it has (its DMA
 * targets the region), then invite the client to lay out again.  @why is
 * left in srv.error so the client can tell a reset it asked for from one
 * forced by its own ring misuse.
 */
static void ddvm_chan_new_generation(struct ddvm_chan *chan, u32 why)
{
	if (!chan->ops->drain(chan)) {
		ddvm_chan_fail(chan, DDVM_ERR_IO_TIMEOUT);
		return;
	}
	chan->generation++;
	WRITE_ONCE(chan->srv->generation, chan->generation);
	if (ddvm_chan_set_state(chan, DDVM_SRV_WAIT, why))
		ddvm_chan_notify(chan);
}

static void ddvm_chan_work(struct work_struct *work)
{
	struct ddvm_chan *chan = container_of(work, struct ddvm_chan, work);
	u32 cli_state, cli_gen;
	int err;

	if (READ_ONCE(chan->stopping))
		return;
	switch (READ_ONCE(chan->state)) {
	case DDVM_SRV_WAIT:
	case DDVM_SRV_ERROR:
		ddvm_chan_try_start(chan);
		break;
	case DDVM_SRV_RUN:
		cli_state = ddvm_load_acquire(&chan->cli->state);
		cli_gen = READ_ONCE(chan->cli->generation);
		if (cli_state != DDVM_CLI_READY || cli_gen != chan->generation) {
			ddvm_chan_new_generation(chan, DDVM_ERR_NONE);
			break;
		}
		err = chan->ops->process(chan);
		if (err) {
			dev_warn(&chan->pdev->dev, "client broke the ring protocol (error %d); resetting the channel\n",
				 err);
			ddvm_chan_new_generation(chan, err);
		}
		break;
	default:
		break;
	}
}

static void ddvm_chan_heartbeat(struct timer_list *t)
{
	struct ddvm_chan *chan = from_timer(chan, t, heartbeat);
	int err;

	if (READ_ONCE(chan->stopping))
		return;
	WRITE_ONCE(chan->srv->heartbeat, chan->srv->heartbeat + 1);
	err = chan->ops->tick(chan);
	if (err)
		ddvm_chan_fail(chan, err);
	/*
	 * A safety net under the doorbells: work waiting in the ring is
	 * picked up within a heartbeat even if a wake-up was lost.
	 */
	if (READ_ONCE(chan->state) == DDVM_SRV_RUN && chan->ops->pending(chan))
		ddvm_chan_kick(chan);
	mod_timer(&chan->heartbeat, jiffies + msecs_to_jiffies(DDVM_HEARTBEAT_MS));
}

static irqreturn_t ddvm_chan_irq(int irq, void *data)
{
	ddvm_chan_kick(data);
	return IRQ_HANDLED;
}

static int ddvm_chan_map_region(struct ddvm_chan *chan)
{
	struct pci_dev *pdev = chan->pdev;
	resource_size_t start = pci_resource_start(pdev, 2);
	resource_size_t len = pci_resource_len(pdev, 2);
	void *addr;
	int ret;

	if (!len || !(pci_resource_flags(pdev, 2) & IORESOURCE_MEM)) {
		dev_err(&pdev->dev, "no shared memory BAR: is this an ivshmem-doorbell device with a hub?\n");
		return -ENODEV;
	}
	if (!is_power_of_2(len) || len < 2 * DDVM_HDR_SIZE) {
		dev_err(&pdev->dev, "shared region of %pa bytes is not a power of two >= 8 KiB\n", &len);
		return -EINVAL;
	}
	ret = pci_request_region(pdev, 2, "ddvm");
	if (ret)
		return ret;

	chan->pgmap.type = MEMORY_DEVICE_GENERIC;
	chan->pgmap.range.start = start;
	chan->pgmap.range.end = start + len - 1;
	chan->pgmap.nr_range = 1;
	addr = devm_memremap_pages(&pdev->dev, &chan->pgmap);
	if (IS_ERR(addr)) {
		dev_err(&pdev->dev, "cannot give the shared region struct pages: %ld\n", PTR_ERR(addr));
		return PTR_ERR(addr);
	}
	chan->region = addr;
	chan->region_phys = start;
	chan->region_size = len;
	chan->srv = addr + DDVM_SRV_OFFSET;
	chan->cli = addr + DDVM_CLI_OFFSET;
	return 0;
}

/* Fill the server block for a new attach; the backend has filled its part. */
static void ddvm_chan_publish_attach(struct ddvm_chan *chan)
{
	struct ddvm_srv_block *srv = chan->srv;
	u32 old_gen = 0, cli_peer;

	if (READ_ONCE(srv->magic) == DDVM_MAGIC)
		old_gen = READ_ONCE(srv->generation);	/* a predecessor served here */
	chan->generation = old_gen + 1;
	if (!chan->generation)
		chan->generation = 1;

	WRITE_ONCE(srv->version, DDVM_VERSION);
	WRITE_ONCE(srv->type, chan->ops->type);
	WRITE_ONCE(srv->generation, chan->generation);
	WRITE_ONCE(srv->peer_id, chan->peer_id);
	WRITE_ONCE(srv->features, DDVM_F_EVENT_IDX | chan->ops->features);
	WRITE_ONCE(srv->completed, 0);
	WRITE_ONCE(srv->magic, DDVM_MAGIC);

	/* a client already waiting here learns of us by its doorbell */
	cli_peer = READ_ONCE(chan->cli->peer_id);
	chan->client_peer = (READ_ONCE(chan->cli->magic) == DDVM_MAGIC &&
			     cli_peer <= DDVM_MAX_PEER_ID) ? cli_peer : DDVM_NO_PEER;
	chan->state = DDVM_SRV_DOWN;
	ddvm_chan_set_state(chan, DDVM_SRV_WAIT, DDVM_ERR_NONE);
}

int ddvm_chan_probe(struct pci_dev *pdev, const struct ddvm_export *exp)
{
	struct ddvm_chan *chan;
	int ret;

	chan = devm_kzalloc(&pdev->dev, sizeof(*chan), GFP_KERNEL);
	if (!chan)
		return -ENOMEM;
	chan->pdev = pdev;
	chan->client_peer = DDVM_NO_PEER;
	INIT_WORK(&chan->work, ddvm_chan_work);
	timer_setup(&chan->heartbeat, ddvm_chan_heartbeat, 0);
	pci_set_drvdata(pdev, chan);

	switch (exp->type) {
	case DDVM_CHAN_BLK:
		chan->ops = &ddvm_blk_ops;
		break;
	case DDVM_CHAN_NET:
		chan->ops = &ddvm_net_ops;
		break;
	default:
		return -EINVAL;
	}

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), "ddvm");
	if (ret)
		return ret;
	chan->regs = pcim_iomap_table(pdev)[0];
	ret = ddvm_chan_map_region(chan);
	if (ret)
		return ret;
	chan->peer_id = readl(chan->regs + IVSHMEM_IVPOSITION);
	/* MSI-X messages are memory writes by the device: it must be a bus master */
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(&pdev->dev, "no MSI-X vector (ivshmem-doorbell needs vectors>=1): %d\n", ret);
		return ret;
	}

	ret = chan->ops->attach(chan, exp->target);
	if (ret)
		goto out_free_vectors;
	ret = request_irq(pci_irq_vector(pdev, 0), ddvm_chan_irq, 0, "ddvm", chan);
	if (ret)
		goto out_detach;

	ddvm_chan_publish_attach(chan);
	ddvm_chan_notify(chan);
	mod_timer(&chan->heartbeat, jiffies + msecs_to_jiffies(DDVM_HEARTBEAT_MS));
	ddvm_chan_kick(chan);
	dev_info(&pdev->dev, "serving %s as peer %u, generation %u, %llu MiB region\n",
		 exp->target, chan->peer_id, chan->generation, chan->region_size >> 20);
	return 0;

out_detach:
	chan->ops->detach(chan);
out_free_vectors:
	pci_free_irq_vectors(pdev);
	return ret;
}

void ddvm_chan_remove(struct pci_dev *pdev)
{
	struct ddvm_chan *chan = pci_get_drvdata(pdev);

	ddvm_chan_set_state(chan, DDVM_SRV_STOPPED, DDVM_ERR_NONE);
	WRITE_ONCE(chan->stopping, true);
	del_timer_sync(&chan->heartbeat);
	free_irq(pci_irq_vector(pdev, 0), chan);
	cancel_work_sync(&chan->work);
	if (!chan->ops->drain(chan))
		dev_err(&pdev->dev, "requests still in flight at removal\n");
	chan->ops->detach(chan);
	ddvm_chan_notify(chan);
	pci_free_irq_vectors(pdev);
}

int ddvm_chan_init(void)
{
	ddvm_wq = alloc_workqueue("ddvm", WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	return ddvm_wq ? 0 : -ENOMEM;
}

void ddvm_chan_exit(void)
{
	destroy_workqueue(ddvm_wq);
}
