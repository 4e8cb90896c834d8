// SPDX-License-Identifier: GPL-2.0
/* Size parsing and formatting shared by config, hub arguments and CLI. */
#include <errno.h>
#include <stdio.h>

#include "units.h"

int ddvm_parse_size(const char *s, uint64_t *out, struct ddvm_err *err)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!s || !*s)
		return ddvm_errf(err, -EINVAL, "empty size (write e.g. \"64M\")");
	/* strtoull would accept signs, spaces and hex: parse by hand */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return ddvm_errf(err, -ERANGE, "size \"%s\" is too large", s);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		goto bad;
	switch (*p) {
	case '\0':
		break;
	case 'k': case 'K':
		mult = DDVM_KIB;
		p++;
		break;
	case 'm': case 'M':
		mult = DDVM_MIB;
		p++;
		break;
	case 'g': case 'G':
		mult = DDVM_GIB;
		p++;
		break;
	default:
		goto bad;
	}
	if (*p)
		goto bad;
	if (v > UINT64_MAX / mult)
		return ddvm_errf(err, -ERANGE, "size \"%s\" is too large", s);
	*out = v * mult;
	return 0;
bad:
	return ddvm_errf(err, -EINVAL,
			 "bad size \"%s\" (a number with an optional K, M or G suffix, e.g. \"64M\")",
			 s);
}

char *ddvm_format_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes && !(bytes % DDVM_GIB))
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes / DDVM_GIB));
	else if (bytes && !(bytes % DDVM_MIB))
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes / DDVM_MIB));
	else if (bytes && !(bytes % DDVM_KIB))
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes / DDVM_KIB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}

char *ddvm_format_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u < sizeof(unit) / sizeof(unit[0]) - 1) {
		v /= 1024;
		u++;
	}
	if (!u || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}
