/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verification data: every 8-byte word is a pure function of a seed and
 * its byte offset on the device.  A write that lands at the wrong offset, a
 * lost write over zeroes, or a torn one all show up as mismatches, and a
 * checker can recompute the expected bytes of a backing file without
 * having seen the writes.
 */
#ifndef DDVM_PATTERN_H
#define DDVM_PATTERN_H

#include <stdint.h>

/* Fill @buf (@len bytes, a multiple of 8) with the pattern for device offset @offset. */
void ddvm_pattern_fill(void *buf, uint64_t len, uint64_t offset, uint64_t seed);

/*
 * ddvm_pattern_check - compare @buf with the pattern.
 * Return: the device offset of the first differing byte, or UINT64_MAX if
 * all match.
 */
uint64_t ddvm_pattern_check(const void *buf, uint64_t len, uint64_t offset, uint64_t seed);

/* A small fast PRNG (splitmix64) for random offsets and sizes. */
uint64_t ddvm_rand_next(uint64_t *state);

#endif /* DDVM_PATTERN_H */
