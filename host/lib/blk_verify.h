/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verified block workloads over a channel: write the seeded pattern over a
 * range (sequentially or at random offsets and sizes), read it back, and
 * report mismatches by device offset.  Used by `ddvm blk verify`, the demo,
 * the VM tests and the benchmarks, so all of them check data the same way.
 */
#ifndef DDVM_BLK_VERIFY_H
#define DDVM_BLK_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "blk_client.h"

struct ddvm_verify_opts {
	uint64_t offset;	/* start of the range, bytes */
	uint64_t length;	/* bytes; 0: to the end of the device */
	uint32_t block;		/* sequential: request size; random: largest size */
	uint64_t random_ops;	/* 0: sequential; else this many random writes */
	uint32_t qd;		/* requests in flight (capped at the channel depth) */
	uint64_t seed;
	bool no_read;		/* write only */
	bool no_write;		/* read and check what a previous run wrote */
	uint8_t *written;	/* optional: bitmap, 1 bit per 512-byte sector, set for every write */
};

struct ddvm_verify_result {
	uint64_t ops;			/* writes issued */
	uint64_t bytes_written;
	uint64_t bytes_read;		/* and checked */
	double write_seconds;
	double read_seconds;
	uint64_t mismatches;		/* reads whose data differed */
	uint64_t first_bad;		/* device offset of the first bad byte, UINT64_MAX if none */
	int io_error;			/* first request error, 0 if none */
};

/* Return: 0 if all data verified; -EIO on mismatches or I/O errors; -errno otherwise. */
int ddvm_blk_verify(struct ddvm_blk *blk, const struct ddvm_verify_opts *opts,
		    struct ddvm_verify_result *res);

#endif /* DDVM_BLK_VERIFY_H */
