// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm.ko entry: parses the "exports" parameter and binds the ivshmem
 * devices it names; every other ivshmem device is left to other drivers.
 *
 *   insmod ddvm.ko exports=0000:00:10.0=blk:/dev/vda,0000:00:11.0=blk:/dev/vda
 *
 * The mapping comes from the DD/OS's own command line, never from the shared
 * region: a client must not be able to choose what the DD/OS exports to it.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>

#include "ddvm.h"

#define DDVM_MAX_EXPORTS	16
#define PCI_DEVICE_ID_IVSHMEM	0x1110

static char *exports;
module_param(exports, charp, 0444);
MODULE_PARM_DESC(exports, "PCI-ADDR=blk:/dev/PATH or PCI-ADDR=net:IFNAME@MAC[,...]: which ivshmem device serves what");

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
