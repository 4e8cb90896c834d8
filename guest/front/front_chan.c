// SPDX-License-Identifier: GPL-2.0
/*
 * The client end of a ddvm channel in a Linux client VM: binds one
 * ivshmem-doorbell PCI device, maps its shared region, and runs the client
 * side of the handshake of include/uapi/ddvm/channel.h exactly as libddvm's
 * host/lib/chan_client.c does: wait for a server, lay the rings out for its
 * generation, and lay out again whenever a new generation (a restarted or
 * reset server) waits for it.
 *
 * The region is mapped write-back with memremap(), not given struct pages
 * as the DD/OS does: the backends copy between their requests and the data
 * area (the copy is what lets a write be replayed after the DD/OS
 * scribbled over its slot), so nothing here needs to be a bio target.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>

#include "ddvm_front.h"

/* ivshmem BAR0 registers (QEMU docs/specs/ivshmem-spec.rst) */
#define IVSHMEM_IVPOSITION	0x08
#define IVSHMEM_DOORBELL	0x0c

#define DDVM_FRONT_NO_PEER	U32_MAX
#define DDVM_FRONT_MAX_PEER_ID	0xffff

static_assert(sizeof(struct ddvm_srv_block) == 512, "the server block is 512 bytes");
static_assert(sizeof(struct ddvm_cli_block) == 512, "the client block is 512 bytes");

/* Ring the server's doorbell (vector 0), if we know who it is; any context. */
void ddvm_front_chan_notify(struct ddvm_front_chan *chan)
{
	u32 peer = READ_ONCE(chan->server_id);

	if (peer <= DDVM_FRONT_MAX_PEER_ID)
		writel((peer << 16) | DDVM_DOORBELL_VECTOR, chan->regs + IVSHMEM_DOORBELL);
}

/* Publish cli.state (NONE: we left; RESET: we want a fresh generation) and tell the server. */
void ddvm_front_chan_set_state(struct ddvm_front_chan *chan, u32 cli_state)
{
	WRITE_ONCE(chan->cli->peer_id, chan->own_id);
	ddvm_store_release(&chan->cli->state, cli_state);
	ddvm_front_chan_notify(chan);
}

static irqreturn_t ddvm_front_chan_irq(int irq, void *data)
{
	struct ddvm_front_chan *chan = data;
	void (*on_doorbell)(struct ddvm_front_chan *chan) = READ_ONCE(chan->on_doorbell);

	WRITE_ONCE(chan->bells, chan->bells + 1);
	wake_up(&chan->wait);
	if (on_doorbell)
		on_doorbell(chan);
	return IRQ_HANDLED;
}

/* A private copy of the server block; -EAGAIN while nothing valid is there, -EPROTO if alien. */
static int ddvm_front_chan_read_srv(struct ddvm_front_chan *chan, struct ddvm_srv_block *s)
{
	u32 state = ddvm_load_acquire(&chan->srv->state);

	memcpy(s, chan->srv, sizeof(*s));
	s->state = state;	/* the fields we rely on were published before state */
	return ddvm_client_srv_check(s, chan->type);
}

/*
 * ddvm_front_chan_health - where does the server stand relative to our
 * layout?  Reads the server block once; any context.
 */
enum ddvm_chan_health ddvm_front_chan_health(struct ddvm_front_chan *chan)
{
	u32 state = ddvm_load_acquire(&chan->srv->state);

	return ddvm_client_health(state, READ_ONCE(chan->srv->generation), chan->generation);
}

/*
 * ddvm_front_chan_waits_again - after we asked for a reset (cli.state
 * RESET), is the server still WAITing for the layout we withdrew?  It
 * resets only a layout it runs, so it needs a fresh copy of the same one.
 */
bool ddvm_front_chan_waits_again(struct ddvm_front_chan *chan)
{
	return ddvm_load_acquire(&chan->srv->state) == DDVM_SRV_WAIT &&
	       READ_ONCE(chan->srv->generation) == chan->generation;
}

/* Write a layout for generation @s->generation and hand it to the server. */
static int ddvm_front_chan_layout(struct ddvm_front_chan *chan, const struct ddvm_srv_block *s,
				  const struct ddvm_ring_want *want, u32 nr_rings)
{
	struct ddvm_cli_block cli;
	u32 i;

	if (ddvm_client_layout(&cli, s, chan->type, chan->own_id, chan->size, want, nr_rings))
		return -ENOSPC;
	/* and what the backend wants on top, if this server offers it */
	cli.features = ddvm_client_features(s->features, chan->want_features);

	/* withdraw the old layout first, so the server never sees half of the new one */
	ddvm_store_release(&chan->cli->state, DDVM_CLI_NONE);
	for (i = 0; i < nr_rings; i++) {
		ddvm_ring_init(&chan->rings[i], chan->region, &cli.rings[i]);
		ddvm_ring_reset(&chan->rings[i]);
	}
	memcpy(chan->cli, &cli, sizeof(cli));
	ddvm_store_release(&chan->cli->state, DDVM_CLI_READY);

	chan->nr_rings = nr_rings;
	chan->data_off = cli.data_off;
	chan->data_size = cli.data_size;
	chan->generation = s->generation;
	chan->features = cli.features;
	WRITE_ONCE(chan->server_id, s->peer_id);
	chan->srv_copy = *s;
	chan->layouts++;
	return 0;
}

/*
 * ddvm_front_chan_relayout - lay out again for the server's new generation
 * (health said DDVM_CHAN_NEW_SERVER).  Does not wait for RUN: the caller
 * resubmits and the server starts when it reads the layout.  Any context,
 * under the backend's lock.  Return: 0, -EAGAIN (no valid server block
 * yet), -EPROTO (a server of another version or type), -ENOSPC.
 */
int ddvm_front_chan_relayout(struct ddvm_front_chan *chan, const struct ddvm_ring_want *want,
			     u32 nr_rings)
{
	struct ddvm_srv_block s;
	int ret;

	ret = ddvm_front_chan_read_srv(chan, &s);
	if (ret)
		return ret;
	ret = ddvm_front_chan_layout(chan, &s, want, nr_rings);
	if (!ret)
		ddvm_front_chan_notify(chan);
	return ret;
}

/*
 * ddvm_front_chan_connect - wait up to @timeout_ms for a server and lay out
 * the rings (process context, before the backend exists).
 *
 * A server already serving a predecessor of ours (a previous client VM, or
 * this one before a module reload) is asked for a fresh generation first:
 * we cannot know what the old client left in flight.
 *
 * Return: 0 once the server RUNs our layout (chan->srv_copy holds its
 * checked block), or -errno, said in the kernel log.
 */
int ddvm_front_chan_connect(struct ddvm_front_chan *chan, const struct ddvm_ring_want *want,
			    u32 nr_rings, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct device *dev = &chan->pdev->dev;
	bool laid_out = false, reset_sent = false;
	struct ddvm_srv_block s;
	unsigned int bells;
	int ret;

	for (;;) {
		bells = READ_ONCE(chan->bells);
		ret = ddvm_front_chan_read_srv(chan, &s);
		if (ret == -EPROTO) {
			dev_err(dev, "server block speaks version %u type %u peer %u; want version %u type %u (%s)\n",
				s.version, s.type, s.peer_id, DDVM_VERSION, chan->type,
				chan->type == DDVM_CHAN_BLK ? "blk" : "net");
			return ret;
		}
		if (!ret) {
			if (laid_out && s.generation == chan->generation) {
				if (s.state == DDVM_SRV_RUN) {
					chan->srv_copy = s;
					return 0;
				}
				if (s.state == DDVM_SRV_ERROR) {
					dev_err(dev, "server rejected our layout (error %u)\n", s.error);
					return -EPROTO;
				}
			} else if (s.state == DDVM_SRV_WAIT || s.state == DDVM_SRV_ERROR) {
				ret = ddvm_front_chan_layout(chan, &s, want, nr_rings);
				if (ret) {
					dev_err(dev, "shared region of %llu bytes is too small for the rings\n",
						chan->size);
					return ret;
				}
				laid_out = true;
				ddvm_front_chan_notify(chan);
			} else if (s.state == DDVM_SRV_RUN && !reset_sent) {
				WRITE_ONCE(chan->server_id, s.peer_id);
				ddvm_front_chan_set_state(chan, DDVM_CLI_RESET);
				reset_sent = true;
			}
		}
		if (time_after_eq(jiffies, deadline)) {
			if (!ret && s.state == DDVM_SRV_FAILED) {
				dev_err(dev, "the server reports a failed device (error %u)\n", s.error);
				return -EIO;
			}
			dev_err(dev, "no server answered within %u ms (%s)\n", timeout_ms,
				ret ? "no server block yet" :
				s.state == DDVM_SRV_STOPPED ? "server stopped" : "server busy");
			return -ETIMEDOUT;
		}
		wait_event_timeout(chan->wait, READ_ONCE(chan->bells) != bells,
				   msecs_to_jiffies(DDVM_FRONT_POLL_MS));
		if (laid_out || reset_sent)
			ddvm_front_chan_notify(chan);	/* the server's id may have just become known */
	}
}

static int ddvm_front_chan_map(struct ddvm_front_chan *chan)
{
	struct pci_dev *pdev = chan->pdev;
	resource_size_t start = pci_resource_start(pdev, 2);
	resource_size_t len = pci_resource_len(pdev, 2);
	int ret;

	if (!len || !(pci_resource_flags(pdev, 2) & IORESOURCE_MEM)) {
		dev_err(&pdev->dev, "no shared memory BAR: is this an ivshmem-doorbell device with a hub?\n");
		return -ENODEV;
	}
	if (!is_power_of_2(len) || len < 2 * DDVM_HDR_SIZE) {
		dev_err(&pdev->dev, "shared region of %pa bytes is not a power of two >= 8 KiB\n", &len);
		return -EINVAL;
	}
	ret = pcim_iomap_regions(pdev, BIT(0), "ddvm_front");
	if (ret)
		return ret;
	chan->regs = pcim_iomap_table(pdev)[0];
	ret = pci_request_region(pdev, 2, "ddvm_front");
	if (ret)
		return ret;
	/* ivshmem's BAR2 is ordinary RAM on the host side: cacheable, like the DD/OS's view */
	chan->region = devm_memremap(&pdev->dev, start, len, MEMREMAP_WB);
	if (IS_ERR(chan->region)) {
		ret = PTR_ERR(chan->region);
		dev_err(&pdev->dev, "cannot map the shared region: %d\n", ret);
		return ret;
	}
	chan->size = len;
	chan->srv = chan->region + DDVM_SRV_OFFSET;
	chan->cli = chan->region + DDVM_CLI_OFFSET;
	return 0;
}

/*
 * ddvm_front_chan_open - enable the ivshmem device, map its region, take its
 * doorbell interrupt.  The PCI resources and the mapping are device-managed
 * (released when the driver lets the device go); the interrupt is
 * ddvm_front_chan_close()'s.  Return: 0 or -errno (said in the kernel log).
 */
int ddvm_front_chan_open(struct ddvm_front_chan *chan, struct pci_dev *pdev, u16 type)
{
	int ret;

	chan->pdev = pdev;
	chan->type = type;
	chan->server_id = DDVM_FRONT_NO_PEER;
	init_waitqueue_head(&chan->wait);

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = ddvm_front_chan_map(chan);
	if (ret)
		return ret;
	chan->own_id = readl(chan->regs + IVSHMEM_IVPOSITION);
	if (chan->own_id > DDVM_FRONT_MAX_PEER_ID) {
		dev_err(&pdev->dev, "ivshmem gave us peer id %u: not connected to a hub?\n", chan->own_id);
		return -ENODEV;
	}
	/* MSI-X messages are memory writes by the device: it must be a bus master */
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX);
	if (ret < 0) {
		dev_err(&pdev->dev, "no MSI-X vector (ivshmem-doorbell needs vectors=1): %d\n", ret);
		return ret;
	}
	ret = request_irq(pci_irq_vector(pdev, 0), ddvm_front_chan_irq, 0, "ddvm_front", chan);
	if (ret)
		pci_free_irq_vectors(pdev);
	return ret;
}

/* Leave the channel (the server stops using our rings) and give the device back. */
void ddvm_front_chan_close(struct ddvm_front_chan *chan)
{
	ddvm_front_chan_set_state(chan, DDVM_CLI_NONE);
	free_irq(pci_irq_vector(chan->pdev, 0), chan);
	pci_free_irq_vectors(chan->pdev);
}
