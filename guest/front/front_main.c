// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm_front.ko entry: parses the "channels" parameter and binds the ivshmem
 * devices it names as the client side of their channels; every other
 * ivshmem device is left to other drivers.
 *
 *   insmod ddvm_front.ko channels=0000:00:10.0=blk,0000:00:11.0=net
 *
 * Block channels become /dev/ddvmblk0, 1, ... and net channels ddvmnet0,
 * 1, ..., numbered in the order of their entries.  Loading waits (up to
 * connect_timeout_ms per channel) for each channel's server, and fails,
 * naming the channel, if one cannot be served.
 */
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "ddvm_front.h"

#define PCI_DEVICE_ID_IVSHMEM	0x1110

static char *channels;
module_param(channels, charp, 0444);
MODULE_PARM_DESC(channels, "PCI-ADDR=blk|net[,...]: the ivshmem devices to be the client of, and as what");

unsigned int ddvm_front_connect_timeout_ms = 30000;
module_param_named(connect_timeout_ms, ddvm_front_connect_timeout_ms, uint, 0644);
MODULE_PARM_DESC(connect_timeout_ms, "how long a channel waits for its server when bound (default 30000)");

struct workqueue_struct *ddvm_front_wq;

static struct ddvm_front_entry ddvm_front_entries[DDVM_FRONT_MAX_CHANNELS];
static unsigned int ddvm_front_nr_entries;

/* "DDDD:BB:SS.F" in hex, as pci_name() spells it (lower case). */
static bool ddvm_front_pci_name_ok(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'x' ? !(isdigit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')) :
		    s[i] != shape[i])
			return false;
	}
	return true;
}

/* One "PCI-ADDR=blk|net" item.  Return: 0, or -EINVAL with the reason in @why. */
static int ddvm_front_parse_one(char *item, struct ddvm_front_entry *e, const char **why)
{
	char *eq = strchr(item, '=');
	unsigned int i;

	if (!eq) {
		*why = "no '='";
		return -EINVAL;
	}
	*eq = '\0';
	if (!ddvm_front_pci_name_ok(item)) {
		*why = "the PCI address is not DDDD:BB:SS.F in lower-case hex";
		return -EINVAL;
	}
	if (!strcmp(eq + 1, "blk")) {
		e->type = DDVM_CHAN_BLK;
	} else if (!strcmp(eq + 1, "net")) {
		e->type = DDVM_CHAN_NET;
	} else {
		*why = "the type is neither blk nor net";
		return -EINVAL;
	}
	for (i = 0; i < ddvm_front_nr_entries; i++) {
		if (!strcmp(ddvm_front_entries[i].pci_name, item)) {
			*why = "the PCI address is named twice";
			return -EINVAL;
		}
		if (ddvm_front_entries[i].type == e->type)
			e->index++;
	}
	strscpy(e->pci_name, item, sizeof(e->pci_name));
	return 0;
}

static int ddvm_front_parse_channels(void)
{
	const char *why = NULL;
	char *buf, *cur, *item;
	int ret = 0;

	if (!channels || !*channels) {
		pr_err("ddvm_front: no channels= given (want PCI-ADDR=blk|net[,...]); nothing to do\n");
		return -EINVAL;
	}
	buf = kstrdup(channels, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	cur = buf;
	while ((item = strsep(&cur, ",")) != NULL) {
		char shown[40];

		strscpy(shown, item, sizeof(shown));
		if (!*item) {
			pr_err("ddvm_front: channels='%s' has an empty item\n", channels);
			ret = -EINVAL;
			break;
		}
		if (ddvm_front_nr_entries == DDVM_FRONT_MAX_CHANNELS) {
			pr_err("ddvm_front: channels= names more than %d channels\n",
			       DDVM_FRONT_MAX_CHANNELS);
			ret = -E2BIG;
			break;
		}
		ret = ddvm_front_parse_one(item, &ddvm_front_entries[ddvm_front_nr_entries], &why);
		if (ret) {
			pr_err("ddvm_front: bad channels= item '%s': %s (want PCI-ADDR=blk|net, e.g. 0000:00:10.0=blk)\n",
			       shown, why);
			break;
		}
		ddvm_front_nr_entries++;
	}
	kfree(buf);
	return ret;
}

static struct ddvm_front_entry *ddvm_front_find(struct pci_dev *pdev)
{
	unsigned int i;

	for (i = 0; i < ddvm_front_nr_entries; i++)
		if (!strcmp(ddvm_front_entries[i].pci_name, pci_name(pdev)))
			return &ddvm_front_entries[i];
	return NULL;
}

static int ddvm_front_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct ddvm_front_entry *e = ddvm_front_find(pdev);
	int ret;

	if (!e)
		return -ENODEV;		/* not ours: let another driver have it */
	if (e->type == DDVM_CHAN_BLK)
		ret = ddvm_front_blk_probe(pdev, e);
	else
		ret = ddvm_front_net_probe(pdev, e);
	if (!ret)
		e->bound = true;
	return ret;
}

static void ddvm_front_remove(struct pci_dev *pdev)
{
	struct ddvm_front_chan *chan = pci_get_drvdata(pdev);

	if (chan->type == DDVM_CHAN_BLK)
		ddvm_front_blk_remove(chan);
	else
		ddvm_front_net_remove(chan);
}

static const struct pci_device_id ddvm_front_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, PCI_DEVICE_ID_IVSHMEM) },
	{ }
};
MODULE_DEVICE_TABLE(pci, ddvm_front_ids);

static struct pci_driver ddvm_front_pci_driver = {
	.name = "ddvm_front",
	.id_table = ddvm_front_ids,
	.probe = ddvm_front_probe,
	.remove = ddvm_front_remove,
};

/*
 * Every channel named must be served once the driver is registered (present
 * devices are probed synchronously): a client VM whose disk or NIC silently
 * did not appear would fail much later and much less clearly.
 */
static int ddvm_front_check_bound(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < ddvm_front_nr_entries; i++) {
		if (ddvm_front_entries[i].bound)
			continue;
		pr_err("ddvm_front: channel %s=%s is not bound (no such ivshmem device, or no server: see above)\n",
		       ddvm_front_entries[i].pci_name,
		       ddvm_front_entries[i].type == DDVM_CHAN_BLK ? "blk" : "net");
		ret = -ENODEV;
	}
	return ret;
}

static int __init ddvm_front_init(void)
{
	int ret;

	ret = ddvm_front_parse_channels();
	if (ret)
		return ret;
	ddvm_front_wq = alloc_workqueue("ddvm_front", WQ_HIGHPRI | WQ_MEM_RECLAIM, 0);
	if (!ddvm_front_wq)
		return -ENOMEM;
	ret = pci_register_driver(&ddvm_front_pci_driver);
	if (ret)
		goto out_wq;
	ret = ddvm_front_check_bound();
	if (ret)
		goto out_unregister;
	return 0;

out_unregister:
	pci_unregister_driver(&ddvm_front_pci_driver);
out_wq:
	destroy_workqueue(ddvm_front_wq);
	return ret;
}

static void __exit ddvm_front_exit(void)
{
	pci_unregister_driver(&ddvm_front_pci_driver);
	destroy_workqueue(ddvm_front_wq);
}

module_init(ddvm_front_init);
module_exit(ddvm_front_exit);

MODULE_DESCRIPTION("ddvm front end: block devices and netdevs on DD/OS channels");
MODULE_LICENSE("GPL");
