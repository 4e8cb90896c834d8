// SPDX-License-Identifier: GPL-2.0
/* Verified block workloads (see blk_verify.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blk_verify.h"
#include "pattern.h"

struct ddvm_extent {
	uint64_t offset;
	uint32_t len;
};

static double ddvm_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The extents to write: a sequential sweep or random offsets and sizes. */
static int ddvm_verify_plan(const struct ddvm_verify_opts *o, uint64_t end, uint32_t lbs,
			    uint32_t max_io, struct ddvm_extent **out, uint64_t *count)
{
	uint64_t n, i, pos, rng = o->seed ^ 0x5eed, blocks;
	uint32_t block = o->block ? o->block : max_io;
	struct ddvm_extent *e;

	if (block > max_io)
		block = max_io;
	block -= block % lbs;
	if (!block || o->offset >= end || o->offset % lbs)
		return -EINVAL;
	if (o->random_ops) {
		n = o->random_ops;
		e = calloc(n, sizeof(*e));
		if (!e)
			return -ENOMEM;
		blocks = (end - o->offset) / lbs;
		for (i = 0; i < n; i++) {
			uint64_t nb = 1 + ddvm_rand_next(&rng) % (block / lbs);

			if (nb > blocks)
				nb = blocks;
			e[i].offset = o->offset + (ddvm_rand_next(&rng) % (blocks - nb + 1)) * lbs;
			e[i].len = (uint32_t)(nb * lbs);
		}
	} else {
		n = (end - o->offset + block - 1) / block;
		e = calloc(n, sizeof(*e));
		if (!e)
			return -ENOMEM;
		for (i = 0, pos = o->offset; i < n; i++, pos += block) {
			e[i].offset = pos;
			e[i].len = (uint32_t)(end - pos < block ? end - pos : block);
		}
	}
	*out = e;
	*count = n;
	return 0;
}

static void ddvm_mark_written(uint8_t *map, const struct ddvm_extent *e)
{
	uint64_t s;

	for (s = e->offset / 512; s < (e->offset + e->len) / 512; s++)
		map[s / 8] |= (uint8_t)(1u << (s % 8));
}

/* Run every extent as a write (pattern) or a read (checked), @qd in flight. */
static int ddvm_verify_pass(struct ddvm_blk *blk, const struct ddvm_verify_opts *o,
			    const struct ddvm_extent *ext, uint64_t n, bool write,
			    struct ddvm_verify_result *res)
{
	uint32_t qd = o->qd ? o->qd : 8, max_io = ddvm_blk_max_io(blk), i, inflight = 0;
	struct ddvm_blk_io *ios, **done;
	uint8_t *bufs;
	uint64_t next = 0, bad;
	int ret = 0, got, k;

	if (qd > ddvm_blk_depth(blk))
		qd = ddvm_blk_depth(blk);
	ios = calloc(qd, sizeof(*ios));
	done = calloc(qd, sizeof(*done));
	bufs = aligned_alloc(4096, (size_t)qd * max_io);
	if (!ios || !done || !bufs) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < qd; i++)
		ios[i].buf = bufs + (size_t)i * max_io;

	while (next < n || inflight) {
		for (i = 0; i < qd && next < n; i++) {
			struct ddvm_blk_io *io = &ios[i];

			if (io->priv)
				continue;
			io->op = write ? DDVM_BLK_WRITE : DDVM_BLK_READ;
			io->flags = 0;
			io->offset = ext[next].offset;
			io->len = ext[next].len;
			if (write)
				ddvm_pattern_fill(io->buf, io->len, io->offset, o->seed);
			io->priv = (void *)&ext[next];
			ret = ddvm_blk_submit(blk, io);
			if (ret) {
				io->priv = NULL;
				goto out_free;
			}
			if (write && o->written)
				ddvm_mark_written(o->written, &ext[next]);
			next++;
			inflight++;
		}
		got = ddvm_blk_reap(blk, done, (int)qd, -1);
		if (got < 0) {
			ret = got;
			goto out_free;
		}
		for (k = 0; k < got; k++) {
			struct ddvm_blk_io *io = done[k];

			inflight--;
			io->priv = NULL;
			if (io->status) {
				if (!res->io_error)
					res->io_error = io->status;
				continue;
			}
			if (write) {
				res->bytes_written += io->len;
				continue;
			}
			res->bytes_read += io->len;
			bad = ddvm_pattern_check(io->buf, io->len, io->offset, o->seed);
			if (bad != UINT64_MAX) {
				res->mismatches++;
				if (bad < res->first_bad)
					res->first_bad = bad;
			}
		}
	}
out_free:
	free(ios);
	free(done);
	free(bufs);
	return ret;
}

int ddvm_blk_verify(struct ddvm_blk *blk, const struct ddvm_verify_opts *opts,
		    struct ddvm_verify_result *res)
{
	const struct ddvm_blk_info *info = ddvm_blk_info(blk);
	uint64_t end, n;
	struct ddvm_extent *ext;
	double t;
	int ret;

	memset(res, 0, sizeof(*res));
	res->first_bad = UINT64_MAX;
	end = opts->length ? opts->offset + opts->length : info->capacity;
	if (end > info->capacity || end < opts->offset)
		return -ERANGE;
	ret = ddvm_verify_plan(opts, end, info->logical_block_size, ddvm_blk_max_io(blk), &ext, &n);
	if (ret)
		return ret;
	res->ops = n;
	if (!opts->no_write) {
		t = ddvm_seconds();
		ret = ddvm_verify_pass(blk, opts, ext, n, true, res);
		res->write_seconds = ddvm_seconds() - t;
		if (!ret)
			ret = ddvm_blk_flush(blk);
	}
	if (!ret && !opts->no_read) {
		t = ddvm_seconds();
		ret = ddvm_verify_pass(blk, opts, ext, n, false, res);
		res->read_seconds = ddvm_seconds() - t;
	}
	free(ext);
	if (ret)
		return ret;
	return res->mismatches || res->io_error ? -EIO : 0;
}
