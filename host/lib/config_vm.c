// SPDX-License-Identifier: GPL-2.0
/*
 * The config's "vms": client VMs and the channels they use.  Parsed after
 * "domains", so every channel a VM names is checked against them: it
 * exists, it carries what the VM expects (a disk a blk channel, a NIC a
 * net channel), and no other VM uses it (a channel has one client).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_json.h"
#include "units.h"

static const char *const via_names[] = {
	[DDVM_VIA_NBD] = "nbd",
	[DDVM_VIA_STREAM] = "stream",
	[DDVM_VIA_FRONT] = "front",
};

/* The paths a disk and a NIC may take, as cfg_parse_enum() wants them. */
static const char *const disk_vias[] = { "nbd", "front" };
static const enum ddvm_vm_via disk_via_vals[] = { DDVM_VIA_NBD, DDVM_VIA_FRONT };
static const char *const nic_vias[] = { "stream", "front" };
static const enum ddvm_vm_via nic_via_vals[] = { DDVM_VIA_STREAM, DDVM_VIA_FRONT };

const char *ddvm_vm_via_name(enum ddvm_vm_via v)
{
	if ((unsigned int)v >= sizeof(via_names) / sizeof(via_names[0]))
		return "?";
	return via_names[v];
}

/* "a, b, c": the names of @d's channels of @kind, for messages. */
static void channel_list(const struct ddvm_domain_cfg *d, enum ddvm_channel_kind kind,
			 char *buf, size_t len)
{
	size_t off = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < d->nr_channels && off < len; i++)
		if (d->channels[i].kind == kind)
			off += (size_t)snprintf(buf + off, len - off, "%s%s.%s", off ? ", " : "",
						d->name, d->channels[i].name);
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* "DOMAIN.CHANNEL" of a channel of @kind: split, looked up, indices stored. */
static int resolve_channel(struct cfg_ctx *c, const char *path, const struct ddvm_config *cfg,
			   const char *text, enum ddvm_channel_kind kind,
			   struct ddvm_vm_dev_cfg *dev)
{
	const char *what = kind == DDVM_CHANNEL_NET ? "net" : "blk";
	const char *dot = strchr(text, '.');
	const struct ddvm_domain_cfg *d;
	char list[256];
	size_t n = dot ? (size_t)(dot - text) : 0;
	unsigned int i;

	if (!dot || n > DDVM_NAME_MAX || strlen(dot + 1) > DDVM_NAME_MAX)
		return cfg_err(c, path, "\"%.80s\" is not DOMAIN.CHANNEL (e.g. \"disk0.c0\")", text);
	memcpy(dev->domain, text, n);
	dev->domain[n] = '\0';
	snprintf(dev->channel, sizeof(dev->channel), "%s", dot + 1);
	for (i = 0; i < cfg->nr_domains; i++)
		if (!strcmp(cfg->domains[i].name, dev->domain))
			break;
	if (i == cfg->nr_domains)
		return cfg_err(c, path, "no domain \"%.32s\" in this config", dev->domain);
	d = &cfg->domains[i];
	dev->dom = i;
	for (i = 0; i < d->nr_channels; i++)
		if (!strcmp(d->channels[i].name, dev->channel))
			break;
	channel_list(d, kind, list, sizeof(list));
	if (i == d->nr_channels)
		return cfg_err(c, path, "domain %s has no channel \"%s\" (its %s channels: %s)",
			       d->name, dev->channel, what, list);
	if (d->channels[i].kind != kind)
		return cfg_err(c, path, "%s is a %s channel; this needs a %s channel (%s has: %s)",
			       text, kind == DDVM_CHANNEL_NET ? "blk" : "net", what, d->name, list);
	dev->chan = i;
	return 0;
}

/* One entry of "disks" or "nics". */
static int parse_dev(struct cfg_ctx *c, json_t *obj, const char *path,
		     const struct ddvm_config *cfg, enum ddvm_channel_kind kind,
		     struct ddvm_vm_dev_cfg *dev)
{
	static const char *const disk_keys[] = { "channel", "via", NULL };
	static const char *const nic_keys[] = { "channel", "via", "address", NULL };
	bool net = kind == DDVM_CHANNEL_NET;
	char p[CFG_PATH_LEN], text[2 * DDVM_NAME_MAX + 2];
	unsigned int via = 0;
	int ret;

	memset(dev, 0, sizeof(*dev));
	if ((ret = cfg_expect_object(c, obj, path)) ||
	    (ret = cfg_check_keys(c, obj, path, net ? nic_keys : disk_keys)))
		return ret;
	cfg_path_key(p, path, "channel");
	ret = cfg_get_string(c, obj, path, "channel", text, sizeof(text));
	if (ret < 0)
		return ret;
	if (!ret)
		return cfg_err(c, p, "missing (the %s channel, DOMAIN.CHANNEL)", net ? "net" : "blk");
	ret = resolve_channel(c, p, cfg, text, kind, dev);
	if (ret)
		return ret;
	ret = cfg_parse_enum(c, obj, path, "via", net ? nic_vias : disk_vias, 2, &via);
	if (ret < 0)
		return ret;
	dev->via = net ? nic_via_vals[via] : disk_via_vals[via];
	if (!net)
		return 0;
	cfg_path_key(p, path, "address");
	ret = cfg_get_string(c, obj, path, "address", dev->address, sizeof(dev->address));
	if (ret < 0)
		return ret;
	if (ret && !cfg_valid_address(dev->address, NULL, NULL))
		return cfg_err(c, p, "bad address \"%s\" (want IP/PREFIX, e.g. \"10.77.0.11/24\")",
			       dev->address);
	return 0;
}

/* "disks" or "nics": an array of at most @max devices, stored in @devs. */
static int parse_devs(struct cfg_ctx *c, json_t *vm, const char *path, const char *key,
		      const struct ddvm_config *cfg, enum ddvm_channel_kind kind,
		      struct ddvm_vm_dev_cfg *devs, unsigned int max, unsigned int *nr)
{
	json_t *arr = json_object_get(vm, key);
	char p[CFG_PATH_LEN], q[CFG_PATH_LEN];
	size_t i, n;
	int ret;

	*nr = 0;
	if (!arr)
		return 0;
	cfg_path_key(p, path, key);
	if (!json_is_array(arr))
		return cfg_err(c, p, "expected an array, got %s", cfg_json_kind(arr));
	n = json_array_size(arr);
	if (n > max)
		return cfg_err(c, p, "has %zu entries (at most %u)", n, max);
	for (i = 0; i < n; i++) {
		cfg_path_index(q, p, i);
		ret = parse_dev(c, json_array_get(arr, i), q, cfg, kind, &devs[i]);
		if (ret)
			return ret;
	}
	*nr = (unsigned int)n;
	return 0;
}

static int parse_vm(struct cfg_ctx *c, json_t *obj, const char *path,
		    const struct ddvm_config *cfg, struct ddvm_vm_cfg *vm)
{
	static const char *const keys[] = {
		"name", "kernel", "initrd", "memory", "cpus", "boot_timeout", "disks", "nics",
		"run", "append", NULL
	};
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	memset(vm, 0, sizeof(*vm));
	snprintf(vm->kernel, sizeof(vm->kernel), "%s", cfg->kernel);
	snprintf(vm->initrd, sizeof(vm->initrd), DDVM_DEFAULT_VM_INITRD);
	vm->memory = DDVM_DEFAULT_VM_MEMORY;
	vm->cpus = 1;
	vm->boot_timeout = DDVM_DEFAULT_VM_BOOT_TIMEOUT;
	ret = cfg_get_dir_name(c, obj, path, vm->name);
	if (ret < 0)
		return ret;
	if ((ret = cfg_get_string(c, obj, path, "kernel", vm->kernel, sizeof(vm->kernel))) < 0 ||
	    (ret = cfg_get_string(c, obj, path, "initrd", vm->initrd, sizeof(vm->initrd))) < 0 ||
	    (ret = cfg_get_string(c, obj, path, "run", vm->run, sizeof(vm->run))) < 0 ||
	    (ret = cfg_get_string(c, obj, path, "append", vm->append, sizeof(vm->append))) < 0 ||
	    (ret = cfg_get_memory(c, obj, path, &vm->memory)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "cpus", 1, DDVM_CPUS_MAX, &vm->cpus)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "boot_timeout", 0, DDVM_BOOT_TIMEOUT_MAX,
				&vm->boot_timeout)) < 0)
		return ret;
	ret = parse_devs(c, obj, path, "disks", cfg, DDVM_CHANNEL_BLK, vm->disks,
			 DDVM_VM_MAX_DISKS, &vm->nr_disks);
	if (!ret)
		ret = parse_devs(c, obj, path, "nics", cfg, DDVM_CHANNEL_NET, vm->nics,
				 DDVM_VM_MAX_NICS, &vm->nr_nics);
	return ret;
}

/* The JSON path of device @i of VM @v (disks first, then NICs), for messages. */
static void dev_path(char *out, const struct ddvm_vm_cfg *vm, unsigned int v, unsigned int i)
{
	if (i < vm->nr_disks)
		cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "vms[%u].disks[%u]", v, i));
	else
		cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "vms[%u].nics[%u]", v,
						i - vm->nr_disks));
}

static const struct ddvm_vm_dev_cfg *vm_dev(const struct ddvm_vm_cfg *vm, unsigned int i)
{
	return i < vm->nr_disks ? &vm->disks[i] : &vm->nics[i - vm->nr_disks];
}

/*
 * A channel has one client: no two devices of any VMs may name the same
 * one.  (Host tools may still attach to the channels no VM uses.)
 */
static int check_channel_owners(struct cfg_ctx *c, const struct ddvm_config *cfg,
				unsigned int v)
{
	const struct ddvm_vm_cfg *vm = &cfg->vms[v];
	char p[CFG_PATH_LEN], q[CFG_PATH_LEN];
	unsigned int i, w, j;

	for (i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		const struct ddvm_vm_dev_cfg *a = vm_dev(vm, i);

		for (w = 0; w <= v; w++) {
			const struct ddvm_vm_cfg *o = &cfg->vms[w];
			unsigned int n = w == v ? i : o->nr_disks + o->nr_nics;

			for (j = 0; j < n; j++) {
				const struct ddvm_vm_dev_cfg *b = vm_dev(o, j);

				if (a->dom != b->dom || a->chan != b->chan)
					continue;
				dev_path(p, vm, v, i);
				dev_path(q, o, w, j);
				return cfg_err(c, p, "channel %s.%s is also %s's (a channel has one "
					       "client)", a->domain, a->channel, q);
			}
		}
	}
	return 0;
}

/* RUN/NAME/ is a VM's or a domain's directory: names are unique across both. */
static int check_vm_name(struct cfg_ctx *c, const struct ddvm_config *cfg, unsigned int v)
{
	const char *name = cfg->vms[v].name;
	char p[CFG_PATH_LEN];
	unsigned int i;

	cfg_path_mark_cut(p, snprintf(p, CFG_PATH_LEN, "vms[%u].name", v));
	for (i = 0; i < cfg->nr_domains; i++)
		if (!strcmp(cfg->domains[i].name, name))
			return cfg_err(c, p, "\"%s\" is also the name of domains[%u] (names are "
				       "unique across domains and VMs)", name, i);
	for (i = 0; i < v; i++)
		if (!strcmp(cfg->vms[i].name, name))
			return cfg_err(c, p, "duplicate VM name \"%s\" (also vms[%u])", name, i);
	return 0;
}

int cfg_parse_vms(struct cfg_ctx *c, json_t *arr, struct ddvm_config *cfg)
{
	char p[CFG_PATH_LEN];
	size_t i, n;
	int ret;

	if (!json_is_array(arr))
		return cfg_err(c, "vms", "expected an array of client VMs, got %s",
			       cfg_json_kind(arr));
	n = json_array_size(arr);
	if (n > DDVM_MAX_VMS)
		return cfg_err(c, "vms", "has %zu VMs (at most %d)", n, DDVM_MAX_VMS);
	for (i = 0; i < n; i++) {
		cfg_path_index(p, "vms", i);
		ret = parse_vm(c, json_array_get(arr, i), p, cfg, &cfg->vms[i]);
		if (!ret)
			ret = check_vm_name(c, cfg, (unsigned int)i);
		if (!ret)
			ret = check_channel_owners(c, cfg, (unsigned int)i);
		if (ret)
			return ret;
	}
	cfg->nr_vms = (unsigned int)n;
	return 0;
}
