/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One block channel shared by many threads.  A struct ddvm_blk is not
 * thread-safe, so an engine thread owns it: other threads queue whole
 * requests of any length and sleep; the engine splits them into
 * ddvm_blk_max_io() pieces, keeps up to ddvm_blk_depth() pieces in flight
 * across all callers, and wakes each caller when its last piece is done.
 * Requests ride through DD/OS restarts like any libddvm request: a caller
 * sees a pause, then its result.  The NBD bridge (host/nbd/) is built on it.
 */
#ifndef DDVM_BLK_SHARED_H
#define DDVM_BLK_SHARED_H

#include <stdint.h>

#include "blk_client.h"

struct ddvm_blk_shared;

/*
 * ddvm_blk_shared_start - start the engine thread on @blk, which belongs to
 * it until ddvm_blk_shared_stop().  Return: 0 or -errno.
 */
int ddvm_blk_shared_start(struct ddvm_blk *blk, struct ddvm_blk_shared **out);

/*
 * ddvm_blk_shared_stop - end the engine thread and free @s.  Requests still
 * queued or in flight complete with -ESHUTDOWN; if any were in flight the
 * ddvm_blk may still hold them, so the caller closes it rather than reuse it.
 */
void ddvm_blk_shared_stop(struct ddvm_blk_shared *s);

/*
 * ddvm_blk_shared_io - do one request and wait for it.  Thread-safe.
 * @op:     DDVM_BLK_READ, WRITE, FLUSH, DISCARD or WRITE_ZEROES
 * @flags:  DDVM_BLK_REQ_FUA: durable when this returns.  The channel takes
 *          FUA on writes only, so a discard or zeroing with it is followed
 *          by a flush.
 * @buf:    read: filled; write: source (kept unchanged); NULL otherwise
 * @len:    bytes, any multiple of the logical block size (0 for FLUSH)
 *
 * Return: 0, the first failed piece's -errno (a server status, see
 * ddvm_blk_status_errno), or the channel's -errno once it is unusable
 * (every later request gets it too).
 */
int ddvm_blk_shared_io(struct ddvm_blk_shared *s, uint16_t op, uint16_t flags, void *buf,
		       uint64_t len, uint64_t offset);

/* The channel's counters: up to the engine's last submission or completion. */
void ddvm_blk_shared_get_stats(struct ddvm_blk_shared *s, struct ddvm_blk_stats *st);

#endif /* DDVM_BLK_SHARED_H */
