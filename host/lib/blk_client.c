// SPDX-License-Identifier: GPL-2.0
/* libddvm block client: requests, completions and replay (see blk_client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blk_client.h"
#include "chan_peer.h"

#define DDVM_BLK_RECHECK_MS		200

/* A data-area slot: one request in flight owns one slot. */
struct ddvm_blk_slot {
	struct ddvm_blk_io *io;		/* NULL when free */
	uint32_t seq;			/* bumped per submission: stale completions miss */
	bool posted;			/* on the ring of the current generation */
};

struct ddvm_blk {
	struct ddvm_chan_client chan;
	struct ddvm_peer *peer;		/* NULL with a caller's transport */
	struct ddvm_blk_info info;	/* checked copy */
	struct ddvm_ring_want want[DDVM_BLK_NR_RINGS];
	uint32_t depth;			/* slots */
	uint32_t slot_size;		/* bytes, multiple of 4096 */
	uint32_t max_io;
	struct ddvm_blk_slot *slots;
	uint32_t *free;			/* stack of free slot numbers */
	uint32_t nr_free;
	uint32_t nr_unposted;		/* slots holding a request not on the ring yet */
	struct ddvm_blk_stats stats;
};

int ddvm_blk_status_errno(uint32_t status)
{
	switch (status) {
	case DDVM_BLK_S_OK:
		return 0;
	case DDVM_BLK_S_INVAL:
		return -EINVAL;
	case DDVM_BLK_S_RANGE:
		return -ERANGE;
	case DDVM_BLK_S_UNSUPP:
		return -EOPNOTSUPP;
	case DDVM_BLK_S_RDONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

static uint8_t *ddvm_blk_slot_data(struct ddvm_blk *blk, uint32_t slot)
{
	return (uint8_t *)blk->chan.t.region + blk->chan.data_off + (uint64_t)slot * blk->slot_size;
}

/* A server block's device info we can live with?  -EPROTO if not. */
static int ddvm_blk_check_info(const struct ddvm_blk_info *i, struct ddvm_err *err)
{
	uint32_t lbs = i->logical_block_size;

	if (lbs < 512 || lbs > 4096 || (lbs & (lbs - 1)))	/* the ABI's range */
		return ddvm_errf(err, -EPROTO, "server reports logical block size %u", lbs);
	if (i->max_transfer < lbs || (i->capacity % lbs))
		return ddvm_errf(err, -EPROTO, "server reports max_transfer %u, capacity %llu",
				 i->max_transfer, (unsigned long long)i->capacity);
	return 0;
}

/* Rings and slots for this region, sized by ddvm_blk_client_plan() as in client VMs. */
static int ddvm_blk_plan(struct ddvm_blk *blk, struct ddvm_err *err)
{
	uint32_t entries;

	if (ddvm_blk_client_plan(blk->chan.t.size, &entries, &blk->slot_size))
		return ddvm_errf(err, -ENOSPC, "shared region of %llu bytes is too small",
				 (unsigned long long)blk->chan.t.size);
	blk->want[DDVM_BLK_RING_REQ] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_req) };
	blk->want[DDVM_BLK_RING_CMP] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_cmp) };
	blk->depth = entries;
	blk->slots = calloc(entries, sizeof(*blk->slots));
	blk->free = calloc(entries, sizeof(*blk->free));
	if (!blk->slots || !blk->free)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	for (blk->nr_free = 0; blk->nr_free < entries; blk->nr_free++)
		blk->free[blk->nr_free] = entries - 1 - blk->nr_free;
	return 0;
}

/* Fix the limits that depend on both our plan and the server's device. */
static int ddvm_blk_adopt_server(struct ddvm_blk *blk, struct ddvm_err *err)
{
	struct ddvm_blk_info info = blk->chan.srv_copy.blk;
	int ret;

	ret = ddvm_blk_check_info(&info, err);
	if (ret)
		return ret;
	if (blk->chan.data_size < (uint64_t)blk->depth * blk->slot_size)
		return ddvm_errf(err, -EPROTO, "data area shrank under us");
	blk->info = info;
	blk->max_io = blk->slot_size < info.max_transfer ? blk->slot_size : info.max_transfer;
	blk->max_io -= blk->max_io % info.logical_block_size;
	return 0;
}

/* Put a slot's request on the ring (submission and replay). */
static int ddvm_blk_post(struct ddvm_blk *blk, uint32_t slot)
{
	struct ddvm_ring *req = &blk->chan.rings[DDVM_BLK_RING_REQ];
	struct ddvm_blk_slot *s = &blk->slots[slot];
	struct ddvm_blk_io *io = s->io;
	struct ddvm_blk_req r;
	int free_slots = ddvm_ring_free(req);
	uint32_t old;

	if (free_slots < 0)
		return free_slots;
	if (free_slots == 0)	/* we never have more in flight than entries */
		return -EPROTO;
	s->seq++;
	s->posted = true;
	if (io->op == DDVM_BLK_WRITE)
		memcpy(ddvm_blk_slot_data(blk, slot), io->buf, io->len);
	memset(&r, 0, sizeof(r));
	r.id = ((uint64_t)s->seq << 32) | slot;
	r.offset = io->offset;
	r.data_off = (uint64_t)slot * blk->slot_size;
	r.len = io->len;
	r.op = io->op;
	r.flags = io->flags;
	memcpy(ddvm_ring_next(req), &r, sizeof(r));
	old = req->local++;
	if (ddvm_ring_publish(req, old)) {
		blk->stats.doorbells++;
		ddvm_chan_client_notify(&blk->chan);
	}
	return 0;
}

/*
 * Put every slot that holds a request not yet on the ring there.  A request
 * stays unposted while the server is away or its ring has no room (only a
 * server that breaks the ABI's "never full" rule does that); it is never
 * dropped.  Return: 0, or -EPROTO if the ring refuses for now.
 */
static int ddvm_blk_post_pending(struct ddvm_blk *blk)
{
	uint32_t slot;
	int ret;

	for (slot = 0; slot < blk->depth && blk->nr_unposted; slot++) {
		if (!blk->slots[slot].io || blk->slots[slot].posted)
			continue;
		ret = ddvm_blk_post(blk, slot);
		if (ret)
			return ret;
		blk->nr_unposted--;
	}
	return 0;
}

int ddvm_blk_submit(struct ddvm_blk *blk, struct ddvm_blk_io *io)
{
	uint32_t slot;

	if (io->op == DDVM_BLK_READ || io->op == DDVM_BLK_WRITE) {
		if (!io->buf || !io->len || io->len > blk->max_io)
			return -EINVAL;
	} else if (io->op > DDVM_BLK_WRITE_ZEROES) {
		return -EINVAL;
	}
	if (!blk->nr_free)
		return -EAGAIN;
	slot = blk->free[--blk->nr_free];
	blk->slots[slot].io = io;
	blk->slots[slot].posted = false;
	blk->nr_unposted++;
	io->slot = slot;
	io->status = -EINPROGRESS;
	blk->stats.submitted++;
	/* while the server is away the request waits in its slot for the replay */
	if (ddvm_chan_client_health(&blk->chan) == DDVM_CHAN_OK)
		ddvm_blk_post_pending(blk);
	return 0;
}

/* Match a completion to its request; NULL for a stale or forged one. */
static struct ddvm_blk_io *ddvm_blk_match(struct ddvm_blk *blk, const struct ddvm_blk_cmp *c)
{
	uint32_t slot = (uint32_t)c->id;
	struct ddvm_blk_slot *s;

	if (slot >= blk->depth)
		return NULL;
	s = &blk->slots[slot];
	/* unposted: the seq is its previous request's, which this may echo */
	if (!s->io || !s->posted || s->seq != (uint32_t)(c->id >> 32))
		return NULL;
	return s->io;
}

static void ddvm_blk_finish(struct ddvm_blk *blk, struct ddvm_blk_io *io, uint32_t status)
{
	io->status = ddvm_blk_status_errno(status);
	if (io->op == DDVM_BLK_READ && !io->status)
		memcpy(io->buf, ddvm_blk_slot_data(blk, io->slot), io->len);
	blk->slots[io->slot].io = NULL;
	blk->slots[io->slot].posted = false;
	blk->free[blk->nr_free++] = io->slot;
	blk->stats.completed++;
}

/* Take what the completion ring holds, up to @max.  Return: count or -EPROTO. */
static int ddvm_blk_take(struct ddvm_blk *blk, struct ddvm_blk_io **done, int max)
{
	struct ddvm_ring *cmp = &blk->chan.rings[DDVM_BLK_RING_CMP];
	struct ddvm_blk_cmp c;
	struct ddvm_blk_io *io;
	int avail, n = 0;
	uint32_t old = cmp->local;

	avail = ddvm_ring_avail(cmp);
	if (avail < 0)
		return avail;
	while (avail-- > 0 && n < max) {
		ddvm_ring_take(cmp, &c);
		io = ddvm_blk_match(blk, &c);
		if (!io) {
			blk->stats.bad_completions++;
			continue;
		}
		ddvm_blk_finish(blk, io, c.status);
		done[n++] = io;
	}
	if (cmp->local != old)
		ddvm_ring_consumed(cmp, old);	/* the server never waits for room here */
	return n;
}

/*
 * The server is new: keep what its predecessor completed and published,
 * lay out again, and resubmit everything still in flight.
 */
static int ddvm_blk_replay(struct ddvm_blk *blk, struct ddvm_blk_io **done, int max, int *n)
{
	uint32_t slot;
	int ret;

	if (blk->chan.generations_seen && *n < max) {
		ret = ddvm_blk_take(blk, done + *n, max - *n);
		if (ret > 0)
			*n += ret;
	}
	ret = ddvm_chan_client_relayout(&blk->chan, blk->want, DDVM_BLK_NR_RINGS, NULL);
	if (ret)
		return ret;	/* -EAGAIN: no valid server block yet */
	blk->stats.generations = blk->chan.generations_seen;
	/* nothing of the old generation is on the new rings: all of it goes again */
	blk->nr_unposted = 0;
	for (slot = 0; slot < blk->depth; slot++) {
		if (!blk->slots[slot].io)
			continue;
		blk->slots[slot].posted = false;
		blk->nr_unposted++;
		blk->stats.replayed++;
	}
	ret = ddvm_blk_adopt_server(blk, NULL);	/* on the copy relayout checked */
	if (ret) {
		/*
		 * A server describing a device we cannot use: withdraw the
		 * layout so it starts yet another generation, and keep every
		 * request for the one after.
		 */
		ddvm_store_release(&blk->chan.cli->state, DDVM_CLI_NONE);
		ddvm_chan_client_notify(&blk->chan);
		return ret;
	}
	ddvm_blk_post_pending(blk);	/* what does not fit now goes from reap */
	return 0;
}

int ddvm_blk_reap(struct ddvm_blk *blk, struct ddvm_blk_io **done, int max, int timeout_ms)
{
	struct ddvm_ring *cmp = &blk->chan.rings[DDVM_BLK_RING_CMP];
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : ddvm_now_ms() + timeout_ms;
	int64_t wait;
	int n = 0, ret;

	for (;;) {
		switch (ddvm_chan_client_health(&blk->chan)) {
		case DDVM_CHAN_OK:
			if (blk->nr_unposted)
				ddvm_blk_post_pending(blk);
			ret = ddvm_blk_take(blk, done + n, max - n);
			if (ret < 0)	/* a server that garbles its ring is waited out */
				break;
			n += ret;
			if (n || !timeout_ms)
				return n;
			if (ddvm_ring_arm(cmp) != 0)
				continue;	/* more came (or the ring broke): look again */
			break;
		case DDVM_CHAN_NEW_SERVER:
			ret = ddvm_blk_replay(blk, done, max, &n);
			/* what it took from the old ring is done: the caller's, whatever came after */
			if (n)
				return n;
			if (ret == -EAGAIN)
				break;	/* wait for a valid block, within the deadline */
			if (ret)
				return ret;
			continue;
		case DDVM_CHAN_ABSENT:
			break;
		}
		wait = deadline - ddvm_now_ms();
		if (wait <= 0)
			return n;
		/*
		 * A safety net under the doorbells: with requests out, look
		 * at the rings again and re-ring the server every 200 ms, so a
		 * lost wake-up costs a pause, never a hang.
		 */
		if (wait > DDVM_BLK_RECHECK_MS)
			wait = DDVM_BLK_RECHECK_MS;
		/*
		 * While the server is away no doorbell may come (it does not
		 * know us yet), so look at its block every 20 ms.
		 */
		if (ddvm_chan_client_health(&blk->chan) != DDVM_CHAN_OK && wait > 20)
			wait = 20;
		ret = ddvm_chan_client_wait(&blk->chan, (int)wait);
		if (ret == DDVM_CHAN_WAKE_FD)
			return n;
		if (!ret && blk->nr_free < blk->depth &&
		    ddvm_chan_client_health(&blk->chan) == DDVM_CHAN_OK) {
			blk->stats.rechecks++;
			ddvm_chan_client_notify(&blk->chan);
		}
		if (ret < 0)
			return ret;
	}
}

/* Run one blocking transfer: split, keep up to depth pieces in flight. */
static int ddvm_blk_rw(struct ddvm_blk *blk, uint16_t op, uint8_t *buf, uint64_t len,
		       uint64_t offset, uint16_t flags)
{
	uint32_t n = blk->depth, inflight = 0, i;
	struct ddvm_blk_io *ios, **done;
	uint64_t pos = 0;
	int ret = 0, got, first_err = 0;

	ios = calloc(n, sizeof(*ios));
	done = calloc(n, sizeof(*done));
	if (!ios || !done) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < n; i++)
		ios[i].priv = NULL;
	i = 0;
	while (pos < len || inflight) {
		while (pos < len && inflight < n) {
			struct ddvm_blk_io *io = &ios[i % n];
			uint64_t chunk = len - pos;

			while (io->priv)	/* find a free io struct */
				io = &ios[++i % n];
			if (chunk > blk->max_io)
				chunk = blk->max_io;
			io->op = op;
			io->flags = flags;
			io->offset = offset + pos;
			io->len = (uint32_t)chunk;
			io->buf = buf + pos;
			io->priv = io;
			ret = ddvm_blk_submit(blk, io);
			if (ret) {
				io->priv = NULL;
				if (!first_err)
					first_err = ret;
				pos = len;	/* submit no more; collect what is out */
				break;
			}
			pos += chunk;
			inflight++;
		}
		if (!inflight)
			break;
		got = ddvm_blk_reap(blk, done, (int)n, -1);
		if (got < 0) {
			ret = got;
			goto out_free;
		}
		for (int k = 0; k < got; k++) {
			if (done[k]->status && !first_err)
				first_err = done[k]->status;
			done[k]->priv = NULL;
			inflight--;
		}
	}
	ret = first_err;
out_free:
	free(ios);
	free(done);
	return ret;
}

int ddvm_blk_pread(struct ddvm_blk *blk, void *buf, uint64_t len, uint64_t offset)
{
	return ddvm_blk_rw(blk, DDVM_BLK_READ, buf, len, offset, 0);
}

int ddvm_blk_pwrite(struct ddvm_blk *blk, const void *buf, uint64_t len, uint64_t offset,
		    uint16_t flags)
{
	/* the library only reads a write's buffer */
	return ddvm_blk_rw(blk, DDVM_BLK_WRITE, (uint8_t *)(uintptr_t)buf, len, offset, flags);
}

int ddvm_blk_flush(struct ddvm_blk *blk)
{
	struct ddvm_blk_io io = { .op = DDVM_BLK_FLUSH }, *done;
	int ret;

	ret = ddvm_blk_submit(blk, &io);
	if (ret)
		return ret;
	do {
		ret = ddvm_blk_reap(blk, &done, 1, -1);
	} while (ret == 0);
	return ret < 0 ? ret : io.status;
}

int ddvm_blk_open_transport(const struct ddvm_chan_transport *t, int timeout_ms,
			    struct ddvm_blk **out, struct ddvm_err *err)
{
	struct ddvm_blk *blk;
	int ret;

	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	ddvm_chan_client_init(&blk->chan, t, DDVM_CHAN_BLK);
	ret = ddvm_blk_plan(blk, err);
	if (ret)
		goto out_free;
	ret = ddvm_chan_client_connect(&blk->chan, blk->want, DDVM_BLK_NR_RINGS, timeout_ms, err);
	if (ret)
		goto out_free;
	ret = ddvm_blk_adopt_server(blk, err);
	if (ret)
		goto out_free;
	blk->stats.generations = blk->chan.generations_seen;
	*out = blk;
	return 0;

out_free:
	free(blk->slots);
	free(blk->free);
	free(blk);
	return ret;
}

int ddvm_blk_open(const char *sock_path, int timeout_ms, struct ddvm_blk **out,
		  struct ddvm_err *err)
{
	struct ddvm_chan_transport t;
	struct ddvm_peer *peer;
	int ret;

	ret = ddvm_chan_peer_open(sock_path, &peer, &t, err);
	if (ret)
		return ret;
	ret = ddvm_blk_open_transport(&t, timeout_ms, out, err);
	if (ret) {
		ddvm_err_prefix(err, ret, "channel %s: ", sock_path);
		ddvm_peer_close(peer);
		return ret;
	}
	(*out)->peer = peer;
	return 0;
}

void ddvm_blk_close(struct ddvm_blk *blk)
{
	if (!blk)
		return;
	ddvm_store_release(&blk->chan.cli->state, DDVM_CLI_NONE);
	ddvm_chan_client_notify(&blk->chan);
	if (blk->peer)
		ddvm_peer_close(blk->peer);
	free(blk->slots);
	free(blk->free);
	free(blk);
}

const struct ddvm_blk_info *ddvm_blk_info(const struct ddvm_blk *blk)
{
	return &blk->info;
}

void ddvm_blk_set_wake_fd(struct ddvm_blk *blk, int fd)
{
	blk->chan.wake_fd = fd;
}

uint32_t ddvm_blk_max_io(const struct ddvm_blk *blk)
{
	return blk->max_io;
}

uint32_t ddvm_blk_depth(const struct ddvm_blk *blk)
{
	return blk->depth;
}

void ddvm_blk_get_stats(const struct ddvm_blk *blk, struct ddvm_blk_stats *st)
{
	*st = blk->stats;
}

void ddvm_blk_server_state(const struct ddvm_blk *blk, uint64_t *heartbeat, uint32_t *generation,
			   uint32_t *state)
{
	*heartbeat = ddvm_load_once(&blk->chan.srv->heartbeat);
	*generation = ddvm_load_once(&blk->chan.srv->generation);
	*state = ddvm_load_acquire(&blk->chan.srv->state);
}
