/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sizes as people write them ("64M", "1G", "512K", "4096"): the one parser
 * and formatter shared by the config, the hub's NAME=SIZE arguments and the
 * CLI, so "64M" means the same thing everywhere.
 */
#ifndef DDVM_UNITS_H
#define DDVM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DDVM_KIB	(1024ULL)
#define DDVM_MIB	(1024ULL * 1024)
#define DDVM_GIB	(1024ULL * 1024 * 1024)

/**
 * ddvm_parse_size - parse a size: decimal digits and an optional binary
 *	suffix K, M or G (case-insensitive; K = 1024).
 * @s:   the text, e.g. "64M"; no sign, no spaces, no "MB"/"MiB"
 * @out: the size in bytes
 * @err: filled with what is wrong with @s (the caller prefixes where @s
 *	 came from)
 *
 * Return: 0, or -EINVAL for malformed text, -ERANGE if it does not fit in
 * 64 bits.
 */
int ddvm_parse_size(const char *s, uint64_t *out, struct ddvm_err *err);

/**
 * ddvm_format_size - write @bytes in the shortest exact form ddvm_parse_size
 *	reads back ("64M", "1G", "1536K", "1000").
 * @bytes: the size
 * @buf:   where to write
 * @len:   size of @buf; 24 bytes always suffice
 *
 * Return: @buf.
 */
char *ddvm_format_size(uint64_t bytes, char *buf, size_t len);

/**
 * ddvm_format_human - write @bytes for people: "512 MiB", "245.0 MiB",
 *	"8.7 KiB" (one decimal unless exact); not meant to be parsed back.
 * @bytes: the size
 * @buf:   where to write
 * @len:   size of @buf; 16 bytes always suffice
 *
 * Return: @buf.
 */
char *ddvm_format_human(uint64_t bytes, char *buf, size_t len);

/**
 * ddvm_is_pow2 - whether @v is a power of two (0 is not).
 * @v: the value
 */
static inline int ddvm_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

#endif /* DDVM_UNITS_H */
