// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the config loader must reject any input cleanly, and accept only checked values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "units.h"

static struct ddvm_config cfg;

/* A VM's device names a channel of the right kind that no other device uses. */
static void check_vm_dev(const struct ddvm_vm_dev_cfg *v, enum ddvm_channel_kind kind)
{
	const struct ddvm_domain_cfg *d;
	unsigned int i, j;

	if (v->dom >= cfg.nr_domains)
		abort();
	d = &cfg.domains[v->dom];
	if (v->chan >= d->nr_channels || d->channels[v->chan].kind != kind ||
	    strcmp(d->name, v->domain) || strcmp(d->channels[v->chan].name, v->channel))
		abort();
	if (kind == DDVM_CHANNEL_NET ? v->via == DDVM_VIA_NBD : v->via == DDVM_VIA_STREAM)
		abort();
	for (i = 0; i < cfg.nr_vms; i++)
		for (j = 0; j < cfg.vms[i].nr_disks + cfg.vms[i].nr_nics; j++) {
			const struct ddvm_vm_dev_cfg *o = j < cfg.vms[i].nr_disks ?
				&cfg.vms[i].disks[j] : &cfg.vms[i].nics[j - cfg.vms[i].nr_disks];

			if (o != v && o->dom == v->dom && o->chan == v->chan)
				abort();
		}
}

static void check_vm(const struct ddvm_vm_cfg *vm)
{
	unsigned int i;

	if (!ddvm_valid_name(vm->name) || ddvm_config_find_domain(&cfg, vm->name) ||
	    vm->nr_disks > DDVM_VM_MAX_DISKS || vm->nr_nics > DDVM_VM_MAX_NICS ||
	    vm->memory < DDVM_MEMORY_MIN || vm->memory > DDVM_MEMORY_MAX || !vm->kernel[0] ||
	    !vm->initrd[0] || !memchr(vm->append, '\0', sizeof(vm->append)))
		abort();
	for (i = 0; i < vm->nr_disks; i++)
		check_vm_dev(&vm->disks[i], DDVM_CHANNEL_BLK);
	for (i = 0; i < vm->nr_nics; i++)
		check_vm_dev(&vm->nics[i], DDVM_CHANNEL_NET);
}

/* What every accepted config must satisfy; abort() makes libFuzzer report it. */
static void check_invariants(void)
{
	unsigned int i, j;

	if (cfg.nr_domains < 1 || cfg.nr_domains > DDVM_MAX_DOMAINS)
		abort();
	for (i = 0; i < cfg.nr_domains; i++) {
		const struct ddvm_domain_cfg *d = &cfg.domains[i];

		if (!ddvm_valid_name(d->name) || (!d->has_disk && !d->has_nic))
			abort();
		if (d->has_nic && (strlen(d->name) > DDVM_NIC_DOMAIN_NAME_MAX ||
				   d->nic.model > DDVM_NIC_RTL8139 || ddvm_mac_problem(d->nic.mac)))
			abort();
		if (d->memory < DDVM_MEMORY_MIN || d->memory > DDVM_MEMORY_MAX)
			abort();
		if (d->nr_channels < 1 || d->nr_channels > DDVM_MAX_CHANNELS)
			abort();
		if (d->disk.controller > DDVM_CTRL_AHCI || d->disk.size % 512)
			abort();
		/* a NIC-only domain has no image at all */
		if (!memchr(d->disk.image, '\0', sizeof(d->disk.image)) ||
		    !d->disk.image[0] != !d->has_disk)
			abort();
		for (j = 0; j < d->nr_channels; j++) {
			const struct ddvm_channel_cfg *c = &d->channels[j];

			if (!ddvm_valid_name(c->name) || !ddvm_is_pow2(c->size) ||
			    c->size < DDVM_CHANNEL_MIN || c->size > DDVM_CHANNEL_MAX)
				abort();
			/* a net channel needs a NIC and its own unicast MAC */
			if (c->kind == DDVM_CHANNEL_NET &&
			    (!d->has_nic || ddvm_mac_problem(c->mac) ||
			     !memcmp(c->mac, d->nic.mac, 6)))
				abort();
			if (c->kind == DDVM_CHANNEL_BLK && !d->has_disk)
				abort();
			/* a slice: aligned, inside a disk of known size */
			if (c->offset % DDVM_SLICE_ALIGN || c->length % DDVM_SLICE_ALIGN ||
			    (c->offset && !c->length) ||
			    (d->disk.size && c->length && c->offset + c->length > d->disk.size))
				abort();
		}
		for (j = 0; j < i; j++)
			if (!strcmp(cfg.domains[j].name, d->name))
				abort();
	}
	if (cfg.nr_vms > DDVM_MAX_VMS)
		abort();
	for (i = 0; i < cfg.nr_vms; i++)
		check_vm(&cfg.vms[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddvm_err err;
	uint64_t v;
	char buf[64];

	err.msg[0] = '\0';
	if (!ddvm_config_parse(&cfg, (const char *)data, size, "fuzz.json", &err))
		check_invariants();
	else if (!err.msg[0])
		abort();	/* every rejection must say why */

	/* the size parser on its own, as the hub and CLI use it */
	if (size < sizeof(buf)) {
		memcpy(buf, data, size);
		buf[size] = '\0';
		if (!ddvm_parse_size(buf, &v, &err)) {
			char out[24];

			ddvm_format_size(v, out, sizeof(out));
			if (ddvm_parse_size(out, &v, &err))
				abort();
		}
	}
	return 0;
}
