// SPDX-License-Identifier: GPL-2.0
/* Parsing of the hub's channel arguments ("NAME=SIZE[@fd:N]"); see hub.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
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

/* "@fd:N" after the size: N decimal, 0..INT_MAX, nothing after it. */
static int parse_fd(const char *s, int *fd)
{
	unsigned long v;
	char *end;

	if (strncmp(s, "@fd:", 4) || s[4] < '0' || s[4] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s + 4, &end, 10);
	if (*end || errno || v > INT_MAX)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

int ddvm_hub_parse_channel(const char *arg, struct ddvm_hub_channel_spec *spec,
			   struct ddvm_err *err)
{
	const char *eq = strchr(arg, '=');
	char size[32];
	const char *at, *sz = eq ? eq + 1 : NULL;
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
	spec->inherited = false;
	spec->fd = -1;
	at = strchr(eq + 1, '@');
	if (at) {
		if ((size_t)(at - eq - 1) >= sizeof(size) || parse_fd(at, &spec->fd))
			return ddvm_errf(err, -EINVAL,
					 "channel '%s': expected NAME=SIZE or NAME=SIZE@fd:N "
					 "(N an inherited descriptor)", arg);
		memcpy(size, eq + 1, (size_t)(at - eq - 1));
		size[at - eq - 1] = '\0';
		sz = size;
		spec->inherited = true;
	}
	ret = ddvm_hub_parse_size(sz, &spec->size, err);
	if (ret)
		return ddvm_err_prefix(err, ret, "channel '%s': ", arg);
	return 0;
}
