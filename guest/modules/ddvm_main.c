// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm.ko entry: parses the "exports" parameter and binds the ivshmem
 * devices it names; every other ivshmem device is left to other drivers.
 *
 *   insmod ddvm.ko exports=0000:00:10.0=blk:/dev/vda,0000:00:11.0=blk:/dev/vda
 *   exports=0000:00:10.0=blk:/dev/vda@0+134217728	(a slice: bytes OFFSET+LENGTH)
 *
 * The mapping comes from the DD/OS's own command line, never from the shared
 * region: a client must not be able to choose what the DD/OS exports to it.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/string.h>

#include "ddvm.h"

#define DDVM_MAX_EXPORTS	16
#define PCI_DEVICE_ID_IVSHMEM	0x1110

static char *exports;
module_param(exports, charp, 0444);
MODULE_PARM_DESC(exports, "PCI-ADDR=blk:/dev/PATH[@OFFSET+LENGTH] or PCI-ADDR=net:IFNAME@MAC[,...]: which ivshmem device serves what");

static struct ddvm_export ddvm_exports[DDVM_MAX_EXPORTS];
static unsigned int ddvm_nr_exports;

static int ddvm_parse_one(char *item, struct ddvm_export *exp)
{
	char *eq = strchr(item, '=');
	char *target;

	if (!eq)
		return -EINVAL;
	*eq = '\0';
	if (strscpy(exp->pci_name, item, sizeof(exp->pci_name)) < 0)
		return -EINVAL;
	target = eq + 1;
	if (!strncmp(target, "blk:", 4)) {
		exp->type = DDVM_CHAN_BLK;
		target += 4;
	} else if (!strncmp(target, "net:", 4)) {
		exp->type = DDVM_CHAN_NET;	/* net:IFNAME@CLIENT-MAC */
		target += 4;
	} else {
		return -EINVAL;
	}
	if (!*target || strscpy(exp->target, target, sizeof(exp->target)) < 0)
		return -EINVAL;
	return 0;
}

static int ddvm_parse_exports(void)
{
	char *buf, *cur, *item;
	int ret = 0;

	if (!exports || !*exports) {
		pr_err("ddvm: no exports= given; nothing to serve\n");
		return -EINVAL;
	}
	buf = kstrdup(exports, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = buf;
	while ((item = strsep(&cur, ",")) != NULL) {
		if (!*item)
			continue;
		if (ddvm_nr_exports == DDVM_MAX_EXPORTS) {
			pr_err("ddvm: more than %d exports\n", DDVM_MAX_EXPORTS);
			ret = -E2BIG;
			break;
		}
		ret = ddvm_parse_one(item, &ddvm_exports[ddvm_nr_exports]);
		if (ret) {
			pr_err("ddvm: bad export '%s' (want PCI-ADDR=blk:PATH or PCI-ADDR=net:IFNAME@MAC)\n", item);
			break;
		}
		ddvm_nr_exports++;
	}
	kfree(buf);
	return ret;
}

static const struct ddvm_export *ddvm_find_export(struct pci_dev *pdev)
{
	unsigned int i;

	for (i = 0; i < ddvm_nr_exports; i++)
		if (!strcmp(ddvm_exports[i].pci_name, pci_name(pdev)))
			return &ddvm_exports[i];
	return NULL;
}

static bool ddvm_bound[DDVM_MAX_EXPORTS];

static int ddvm_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	const struct ddvm_export *exp = ddvm_find_export(pdev);
	int ret;

	if (!exp)
		return -ENODEV;		/* not ours: let another driver have it */
	ret = ddvm_chan_probe(pdev, exp);
	if (!ret)
		ddvm_bound[exp - ddvm_exports] = true;
	return ret;
}

/*
 * Every export must be served once the driver is registered (probing of
 * present devices is synchronous): a DD/OS that loads but serves nothing
 * would report ready and then leave its client waiting.
 */
static int ddvm_check_bound(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ddvm_nr_exports; i++) {
		if (ddvm_bound[i])
			continue;
		pr_err("ddvm: export %s=%s is not served (no such ivshmem device, or its probe failed)\n",
		       ddvm_exports[i].pci_name, ddvm_exports[i].target);
		ret = -ENODEV;
	}
	return ret;
}

/*
 * Fault injection, for testing recovery ("ddvm inject"): writing the
 * parameter "inject" makes this DD/OS fail the way a buggy driver would.
 * Only the DD/OS's init writes it, from a console line the host sends on
 * a serial port no client can reach.
 *
 *   panic    panic() now
 *   oops     the next request each channel processes dereferences NULL
 *            (with oops=panic on the command line, that is a panic too)
 *   wedge    the kernel spins with interrupts off: no heartbeat, no
 *            console; only the watchdog (or the heartbeat watch) sees it
 *   corrupt  every channel stops serving, its server-written shared
 *            fields (completion ring entries and index, counters) are
 *            overwritten with random bytes, and it reports FAILED: a
 *            client must reject the garbage and recover after the restart
 */
static struct pci_driver ddvm_pci_driver;
static struct ddvm_backend_ops ddvm_oops_ops[DDVM_MAX_EXPORTS];
static struct ddvm_chan *ddvm_inject_nowhere;	/* stays NULL: the oops's target */

static int ddvm_oops_process(struct ddvm_chan *chan)
{
	struct ddvm_chan *victim = READ_ONCE(ddvm_inject_nowhere);

	pr_emerg("ddvm: injected oops in the request path of %s\n", pci_name(chan->pdev));
	return victim->ops->process(victim);
}

/* Randomise the server-produced ring (ring 1: blk completions, net RX). */
static void ddvm_corrupt_ring(struct ddvm_chan *chan, const struct ddvm_ring_layout *l)
{
	struct ddvm_ring_ctl *ctl;
	u64 bytes = (u64)l->entries * l->entry_size;

	/* the layout is the client's: scribble only inside the region */
	if (!l->entries || !is_power_of_2(l->entries) || l->entries > DDVM_RING_MAX_ENTRIES ||
	    l->entry_size > 64 || l->off < DDVM_HDR_SIZE || l->off % 64 ||
	    l->off + DDVM_RING_CTL_SIZE + bytes > chan->region_size)
		return;
	ctl = chan->region + l->off;
	get_random_bytes((u8 *)ctl + DDVM_RING_CTL_SIZE, bytes);
	/* a plausible index: the client takes the garbage and must reject it */
	ddvm_store_release(&ctl->prod, READ_ONCE(ctl->cons) + l->entries / 2);
}

static int ddvm_inject_one(struct device *dev, void *data)
{
	struct pci_dev *pdev = to_pci_dev(dev);
	struct ddvm_chan *chan = pci_get_drvdata(pdev);
	const char *what = data;
	struct ddvm_cli_block cli;
	unsigned int i;

	if (!chan)
		return 0;
	for (i = 0; i < ddvm_nr_exports; i++)
		if (!strcmp(ddvm_exports[i].pci_name, pci_name(pdev)))
			break;
	if (i == ddvm_nr_exports)
		return 0;
	if (!strcmp(what, "oops")) {
		ddvm_oops_ops[i] = *chan->ops;
		ddvm_oops_ops[i].process = ddvm_oops_process;
		WRITE_ONCE(chan->ops, &ddvm_oops_ops[i]);
		dev_emerg(dev, "injected oops armed: the next request oopses\n");
		return 0;
	}
	/*
	 * corrupt: stop serving and let the device finish first, so no
	 * genuine completion lands after (and over) the garbage
	 */
	WRITE_ONCE(chan->stopping, true);
	cancel_work_sync(&chan->work);
	if (!chan->ops->drain(chan))
		dev_emerg(dev, "requests still in flight; corrupting anyway\n");
	memcpy(&cli, chan->cli, sizeof(cli));
	if (cli.magic == DDVM_MAGIC && cli.nr_rings > 1 && cli.nr_rings <= DDVM_MAX_RINGS)
		ddvm_corrupt_ring(chan, &cli.rings[1]);
	get_random_bytes(&chan->srv->completed, sizeof(chan->srv->completed));
	get_random_bytes(chan->srv->rsvd0, sizeof(chan->srv->rsvd0));
	get_random_bytes(chan->srv->rsvd1, sizeof(chan->srv->rsvd1));
	dev_emerg(dev, "injected corruption of the shared region; failing the channel\n");
	ddvm_chan_fail(chan, DDVM_ERR_DEVICE);
	return 0;
}

static int ddvm_inject_set(const char *val, const struct kernel_param *kp)
{
	char what[16];

	strscpy(what, val, sizeof(what));
	strim(what);
	if (!strcmp(what, "panic"))
		panic("ddvm: injected panic");
	if (!strcmp(what, "wedge")) {
		pr_emerg("ddvm: injected wedge: spinning with interrupts off\n");
		local_irq_disable();
		for (;;)
			cpu_relax();
	}
	if (strcmp(what, "oops") && strcmp(what, "corrupt"))
		return -EINVAL;
	pr_emerg("ddvm: injecting %s\n", what);
	return driver_for_each_device(&ddvm_pci_driver.driver, NULL, what, ddvm_inject_one);
}

static const struct kernel_param_ops ddvm_inject_ops = {
	.set = ddvm_inject_set,
};
module_param_cb(inject, &ddvm_inject_ops, NULL, 0200);
MODULE_PARM_DESC(inject, "panic|oops|wedge|corrupt: fail this DD/OS on purpose (recovery tests)");

static const struct pci_device_id ddvm_pci_ids[] = {
	{ PCI_VDEVICE(REDHAT_QUMRANET, PCI_DEVICE_ID_IVSHMEM) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ddvm_pci_ids);

static struct pci_driver ddvm_pci_driver = {
	.name = "ddvm",
	.id_table = ddvm_pci_ids,
	.probe = ddvm_probe,
	.remove = ddvm_chan_remove,
};

static int __init ddvm_init(void)
{
	int ret;

	ret = ddvm_parse_exports();
	if (ret)
		return ret;
	ret = ddvm_chan_init();
	if (ret)
		return ret;
	ret = pci_register_driver(&ddvm_pci_driver);
	if (ret)
		goto out_chan;
	ret = ddvm_check_bound();
	if (ret)
		goto out_unregister;
	return 0;

out_unregister:
	pci_unregister_driver(&ddvm_pci_driver);
out_chan:
	ddvm_chan_exit();
	return ret;
}

static void __exit ddvm_exit(void)
{
	pci_unregister_driver(&ddvm_pci_driver);
	ddvm_chan_exit();
}

module_init(ddvm_init);
module_exit(ddvm_exit);
MODULE_DESCRIPTION("ddvm: serve devices of this driver domain over ivshmem channels");
MODULE_LICENSE("GPL");
