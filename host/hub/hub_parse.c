// SPDX-License-Identifier: GPL-2.0
/* Parsing of the hub's channel arguments ("NAME=SIZE"); see hub.h. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "hub.h"
#include "ivshmem_proto.h"
#include "units.h"

int ddvm_hub_parse_size(const char *arg, uint64_t *size, struct ddvm_err *err)
{
	uint64_t v;
	int ret;

	ret = ddvm_parse_size(arg, &v, err);
	if (ret)
		return -EINVAL;
	/* QEMU maps the region as a PCI BAR, which must be a power of two */
	if (!ddvm_is_pow2(v))
		return ddvm_errf(err, -EINVAL, "size \"%s\" is not a power of two", arg);
	if (v < DDVM_IVSHMEM_MIN_SIZE)
		return ddvm_errf(err, -EINVAL, "size \"%s\" is smaller than 64K", arg);
	if (v > DDVM_IVSHMEM_MAX_SIZE)
		return ddvm_errf(err, -EINVAL, "size \"%s\" is larger than 16G", arg);
	*size = v;
	return 0;
}

/* Names become file names and log words: keep them boring. */
static int check_name(const char *name, size_t len)
{
	size_t i;

	if (!len || len > DDVM_HUB_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return -EINVAL;
	return 0;
}

int ddvm_hub_parse_channel(const char *arg, struct ddvm_hub_channel_spec *spec,
			   struct ddvm_err *err)
{
	const char *eq = strchr(arg, '=');
	size_t len;
	int ret;

	if (!eq)
		return ddvm_errf(err, -EINVAL, "channel '%s': expected NAME=SIZE, e.g. blk0=1M",
				 arg);
	len = (size_t)(eq - arg);
	if (check_name(arg, len))
		return ddvm_errf(err, -EINVAL,
				 "channel '%s': name must be 1..%d characters of A-Z a-z 0-9 _ . - and not start with '.'",
				 arg, DDVM_HUB_NAME_MAX);
	memcpy(spec->name, arg, len);
	spec->name[len] = '\0';
	ret = ddvm_hub_parse_size(eq + 1, &spec->size, err);
	if (ret)
		return ddvm_err_prefix(err, ret, "channel '%s': ", arg);
	return 0;
}
