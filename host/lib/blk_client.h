/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libddvm block client: reach a disk served by a DD/OS through a channel.
 *
 * Asynchronous: fill a struct ddvm_blk_io, ddvm_blk_submit() it, collect it
 * from ddvm_blk_reap().  Blocking: ddvm_blk_pread/pwrite/flush.  Every
 * request stays owned by the library until it completes; if the DD/OS
 * restarts meanwhile, the library lays the channel out again for the new
 * generation and resubmits what was in flight (writes from the caller's
 * buffer, which must stay valid until completion), so callers see a pause,
 * never a lost or doubled completion.
 */
#ifndef DDVM_BLK_CLIENT_H
#define DDVM_BLK_CLIENT_H

#include <stdint.h>

#include "chan_client.h"

struct ddvm_blk;

struct ddvm_blk_io {
	/* set by the caller */
	uint16_t op;		/* enum ddvm_blk_op */
	uint16_t flags;		/* DDVM_BLK_REQ_* */
	uint64_t offset;	/* bytes on the device */
	uint32_t len;		/* bytes, <= ddvm_blk_max_io() */
	void *buf;		/* read: filled; write: source; NULL otherwise */
	void *priv;		/* the caller's */
	/* set by the library */
	int status;		/* 0 or -errno once reaped */
	uint32_t slot;		/* private */
};

/* Counters for status and tests. */
struct ddvm_blk_stats {
	uint64_t submitted;
	uint64_t completed;
	uint64_t replayed;		/* requests resubmitted to a new server generation */
	uint64_t generations;		/* layouts done: 1 + restarts/resets seen */
	uint64_t bad_completions;	/* completions naming no request in flight: dropped */
	uint64_t doorbells;		/* times we rang the server */
	uint64_t rechecks;		/* quiet waits with requests out: server re-rung */
};

/*
 * ddvm_blk_open - join the channel at @sock_path (a hub socket) and wait up
 * to @timeout_ms for its server.  Return: 0 or -errno with @err filled.
 */
int ddvm_blk_open(const char *sock_path, int timeout_ms, struct ddvm_blk **out,
		  struct ddvm_err *err);

/* As ddvm_blk_open over a transport the caller built (tests, other hubs). */
int ddvm_blk_open_transport(const struct ddvm_chan_transport *t, int timeout_ms,
			    struct ddvm_blk **out, struct ddvm_err *err);

void ddvm_blk_close(struct ddvm_blk *blk);

/* The device as the server described it (checked copy). */
const struct ddvm_blk_info *ddvm_blk_info(const struct ddvm_blk *blk);
uint32_t ddvm_blk_max_io(const struct ddvm_blk *blk);	/* bytes per request */
uint32_t ddvm_blk_depth(const struct ddvm_blk *blk);	/* requests in flight at most */
void ddvm_blk_get_stats(const struct ddvm_blk *blk, struct ddvm_blk_stats *st);
/* the server block's heartbeat, generation and state, for status displays */
void ddvm_blk_server_state(const struct ddvm_blk *blk, uint64_t *heartbeat, uint32_t *generation,
			   uint32_t *state);

/*
 * ddvm_blk_submit - queue @io.  Return: 0; -EAGAIN when ddvm_blk_depth()
 * requests are in flight (reap first); -EINVAL if len exceeds max_io or
 * buf is missing for a read/write.
 */
int ddvm_blk_submit(struct ddvm_blk *blk, struct ddvm_blk_io *io);

/*
 * ddvm_blk_reap - collect completed requests.
 * @done: filled with up to @max completed ios
 * @timeout_ms: how long to wait for the first one (0: don't; -1: forever)
 *
 * Rides through a DD/OS restart: while the server is away it waits, then
 * replays.  Return: number reaped (0 on timeout or when the wake fd is
 * readable, see ddvm_blk_set_wake_fd), or -errno if the channel is
 * unusable (the hub went away, the server speaks nonsense).
 */
int ddvm_blk_reap(struct ddvm_blk *blk, struct ddvm_blk_io **done, int max, int timeout_ms);

/*
 * ddvm_blk_set_wake_fd - let another thread cut a ddvm_blk_reap() wait
 * short: while @fd (e.g. an eventfd) is readable, reap returns what it has,
 * possibly 0, instead of waiting.  The caller drains @fd.  -1: none (the
 * default).  For one thread that owns the ddvm_blk and takes requests from
 * others (blk_shared.h).
 */
void ddvm_blk_set_wake_fd(struct ddvm_blk *blk, int fd);

/* Blocking I/O of any length (split into max_io pieces, depth in flight). */
int ddvm_blk_pread(struct ddvm_blk *blk, void *buf, uint64_t len, uint64_t offset);
int ddvm_blk_pwrite(struct ddvm_blk *blk, const void *buf, uint64_t len, uint64_t offset,
		    uint16_t flags);
int ddvm_blk_flush(struct ddvm_blk *blk);

/* errno for a wire status (DDVM_BLK_S_*) */
int ddvm_blk_status_errno(uint32_t status);

#endif /* DDVM_BLK_CLIENT_H */
