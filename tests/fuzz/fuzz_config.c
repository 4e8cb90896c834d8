// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the config loader must reject any input cleanly, and accept only checked values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "units.h"

static struct ddvm_config cfg;

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
		if (!memchr(d->disk.image, '\0', sizeof(d->disk.image)) || !d->disk.image[0])
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
		}
		for (j = 0; j < i; j++)
			if (!strcmp(cfg.domains[j].name, d->name))
				abort();
	}
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
