// SPDX-License-Identifier: GPL-2.0
/*
 * Block front end: /dev/ddvmblkN, a blk-mq disk whose requests go over a
 * blk channel to the disk a DD/OS serves.  The client side of the block
 * protocol, as host/lib/blk_client.c does it:
 *
 *  - one data-area slot per request in flight; the slot is the request's
 *    blk-mq tag, the queue depth is the ring's, so the request ring is
 *    never full (the ABI's rule) and no request waits for a slot;
 *  - a request id is (sequence << 32 | slot), the sequence bumped at every
 *    posting, so a completion for anything not in flight right now (stale,
 *    duplicated, forged) is dropped and counted, never completes a request;
 *  - requests stay ours until they complete: when the DD/OS restarts (a new
 *    generation) everything in flight is posted again to the new server,
 *    writes copied again from the request's own pages, so the disk stalls
 *    and then continues with nothing lost;
 *  - a server that moves a ring index impossibly gets the channel reset
 *    (cli.state RESET) and our requests replayed to its next generation.
 *
 * Data is copied between the request's pages and its slot, both ways.  The
 * DD/OS maps the region as ZONE_DEVICE pages to DMA straight into it; here
 * copying is simpler, costs one memcpy, and is what makes replay possible.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "ddvm_front.h"

#define DDVM_FRONT_BLK_BATCH		32	/* completions handed to blk-mq at once */
/* Bytes per discard or write-zeroes request: any amount fits the 32-bit length. */
#define DDVM_FRONT_BLK_MAX_RANGE	(1u << 30)
#define DDVM_FRONT_BLK_TIMEOUT_S	30	/* between "still waiting" warnings */

struct ddvm_front_blk_slot {
	struct request *rq;	/* NULL when free */
	u32 seq;		/* bumped per posting: stale completions miss */
	bool posted;		/* on the request ring of the current layout */
	u64 copied;		/* write: the layout for which the slot holds its data */
};

/* Per-request driver data (blk-mq pdu). */
struct ddvm_front_blk_cmd {
	blk_status_t status;
};

struct ddvm_front_blk {
	struct ddvm_front_chan chan;	/* first: the PCI drvdata points here */
	unsigned int index;		/* N of ddvmblkN */
	char name[16];
	spinlock_t lock;		/* everything below, and the chan's layout */
	struct ddvm_blk_info info;	/* checked copy of the current server's */
	struct ddvm_ring_want want[DDVM_BLK_NR_RINGS];
	u32 depth;			/* slots = ring entries = blk-mq queue depth */
	u32 slot_size;			/* bytes, multiple of 4096 */
	u32 max_io;			/* bytes per read or write */
	struct ddvm_front_blk_slot *slots;
	u32 nr_inflight;		/* slots holding a request */
	u32 nr_unposted;		/* of those, not on the current ring */
	u32 pub_old;			/* request ring index last published */
	bool event_idx;			/* the server honours cons_event */
	bool usable;			/* this layout's server accepted, its rings sane */
	bool reset_asked;		/* we asked for a fresh generation */
	bool dead;			/* being removed: fail everything */
	unsigned int quiet_bells;	/* chan.bells at the last recheck */
	u64 capacity;			/* bytes, what the disk shows */
	struct work_struct work;	/* lays out for a new generation, replays */
	struct timer_list timer;	/* the safety net, while requests are out */
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	/* counters, under lock; in the kernel log at removal */
	u64 submitted, completed, replayed, bad_completions, doorbells, rechecks;
};

static void *ddvm_front_blk_slot_data(struct ddvm_front_blk *blk, u32 slot)
{
	return blk->chan.region + blk->chan.data_off + (u64)slot * blk->slot_size;
}

/* The wire op of @rq; -EOPNOTSUPP for what a channel does not carry. */
static int ddvm_front_blk_op(struct request *rq, u16 *op, u16 *flags)
{
	*flags = 0;
	switch (req_op(rq)) {
	case REQ_OP_READ:
		*op = DDVM_BLK_READ;
		return 0;
	case REQ_OP_WRITE:
		*op = DDVM_BLK_WRITE;
		if (rq->cmd_flags & REQ_FUA)
			*flags = DDVM_BLK_REQ_FUA;
		return 0;
	case REQ_OP_FLUSH:
		*op = DDVM_BLK_FLUSH;
		return 0;
	case REQ_OP_DISCARD:
		*op = DDVM_BLK_DISCARD;
		return 0;
	case REQ_OP_WRITE_ZEROES:
		*op = DDVM_BLK_WRITE_ZEROES;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static blk_status_t ddvm_front_blk_status(u32 status)
{
	switch (status) {
	case DDVM_BLK_S_OK:
		return BLK_STS_OK;
	case DDVM_BLK_S_UNSUPP:
		return BLK_STS_NOTSUPP;
	default:	/* device error, or a request the server found out of range */
		return BLK_STS_IOERR;
	}
}

static void ddvm_front_blk_copy_to_slot(struct ddvm_front_blk *blk, struct request *rq)
{
	u8 *dst = ddvm_front_blk_slot_data(blk, rq->tag);
	struct req_iterator iter;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, iter) {
		memcpy_from_bvec(dst, &bv);
		dst += bv.bv_len;
	}
}

static void ddvm_front_blk_copy_from_slot(struct ddvm_front_blk *blk, struct request *rq)
{
	const u8 *src = ddvm_front_blk_slot_data(blk, rq->tag);
	struct req_iterator iter;
	struct bio_vec bv;

	rq_for_each_segment(bv, rq, iter) {
		memcpy_to_bvec(&bv, src);
		src += bv.bv_len;
	}
}

/*
 * The server moved a ring index impossibly: neither ring can be trusted, so
 * ask for a fresh generation (handshake step 4) and replay to it.
 */
static void ddvm_front_blk_ring_broken_locked(struct ddvm_front_blk *blk)
{
	blk->usable = false;
	if (blk->reset_asked)
		return;
	blk->reset_asked = true;
	dev_warn_ratelimited(&blk->chan.pdev->dev,
			     "%s: the server broke a ring (generation %u); asking it for a fresh one\n",
			     blk->name, blk->chan.generation);
	ddvm_front_chan_set_state(&blk->chan, DDVM_CLI_RESET);
}

/* Does the channel want a new layout (a new server, or our reset not yet heard)? */
static bool ddvm_front_blk_needs_layout(struct ddvm_front_blk *blk)
{
	return ddvm_front_chan_health(&blk->chan) == DDVM_CHAN_NEW_SERVER ||
	       (blk->reset_asked && ddvm_front_chan_waits_again(&blk->chan));
}

/* Make what was posted visible; ring the server if it sleeps on the ring. */
static void ddvm_front_blk_publish_locked(struct ddvm_front_blk *blk)
{
	struct ddvm_ring *req = &blk->chan.rings[DDVM_BLK_RING_REQ];

	if (req->local == blk->pub_old)
		return;
	if (ddvm_ring_publish(req, blk->pub_old) || !blk->event_idx) {
		blk->doorbells++;
		ddvm_front_chan_notify(&blk->chan);
	}
	blk->pub_old = req->local;
}

/* Put slot @slot's request on the request ring (first posting and replay), unpublished. */
static int ddvm_front_blk_post_locked(struct ddvm_front_blk *blk, u32 slot)
{
	struct ddvm_ring *req = &blk->chan.rings[DDVM_BLK_RING_REQ];
	struct ddvm_front_blk_slot *s = &blk->slots[slot];
	struct request *rq = s->rq;
	struct ddvm_blk_req r;
	int room = ddvm_ring_free(req);
	u16 op, flags;

	if (room < 0) {
		ddvm_front_blk_ring_broken_locked(blk);
		return room;
	}
	if (!room)	/* we never have more out than entries: the server broke the rule */
		return -EAGAIN;
	ddvm_front_blk_op(rq, &op, &flags);	/* checked in queue_rq */
	/* a write's slot may have been scribbled over by a server that died since */
	if (op == DDVM_BLK_WRITE && s->copied != blk->chan.layouts) {
		ddvm_front_blk_copy_to_slot(blk, rq);
		s->copied = blk->chan.layouts;
	}
	s->seq++;
	s->posted = true;
	memset(&r, 0, sizeof(r));
	r.id = ((u64)s->seq << 32) | slot;
	if (op != DDVM_BLK_FLUSH) {
		r.offset = (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
		r.len = blk_rq_bytes(rq);
	}
	if (op == DDVM_BLK_READ || op == DDVM_BLK_WRITE)
		r.data_off = (u64)slot * blk->slot_size;
	r.op = op;
	r.flags = flags;
	memcpy(ddvm_ring_next(req), &r, sizeof(r));
	req->local++;
	blk->nr_unposted--;
	return 0;
}

/* Post every request not on the ring yet; what does not fit waits, it is never dropped. */
static void ddvm_front_blk_post_pending_locked(struct ddvm_front_blk *blk)
{
	u32 slot;

	for (slot = 0; slot < blk->depth && blk->nr_unposted; slot++) {
		if (!blk->slots[slot].rq || blk->slots[slot].posted)
			continue;
		if (ddvm_front_blk_post_locked(blk, slot))
			break;
	}
}

/* Match a completion (a private copy) to its request; NULL for a stale or forged one. */
static struct request *ddvm_front_blk_match(struct ddvm_front_blk *blk,
					    const struct ddvm_blk_cmp *c)
{
	u32 slot = (u32)c->id;
	struct ddvm_front_blk_slot *s;

	if (slot >= blk->depth)
		return NULL;
	s = &blk->slots[slot];
	/* unposted: its sequence is its previous posting's, which this may echo */
	if (!s->rq || !s->posted || s->seq != (u32)(c->id >> 32))
		return NULL;
	return s->rq;
}

/* Take up to @max completions off the ring; the requests go to @done. */
static int ddvm_front_blk_take_locked(struct ddvm_front_blk *blk, struct request **done, int max)
{
	struct ddvm_ring *cmp = &blk->chan.rings[DDVM_BLK_RING_CMP];
	struct ddvm_front_blk_cmd *cmd;
	struct ddvm_blk_cmp c;
	struct request *rq;
	u32 old = cmp->local;
	int avail, n = 0;

	avail = ddvm_ring_avail(cmp);
	if (avail < 0) {
		ddvm_front_blk_ring_broken_locked(blk);
		return 0;
	}
	while (avail-- > 0 && n < max) {
		ddvm_ring_take(cmp, &c);
		rq = ddvm_front_blk_match(blk, &c);
		if (!rq) {
			blk->bad_completions++;
			continue;
		}
		cmd = blk_mq_rq_to_pdu(rq);
		cmd->status = ddvm_front_blk_status(c.status);
		blk->slots[rq->tag].rq = NULL;
		blk->slots[rq->tag].posted = false;
		blk->nr_inflight--;
		blk->completed++;
		done[n++] = rq;
	}
	if (cmp->local != old)
		ddvm_ring_consumed(cmp, old);	/* the server never waits for room here */
	return n;
}

/*
 * Everything a doorbell (or the safety net) may mean: completions to take,
 * requests to post, a new server to lay out for (in the work: a replay
 * copies data).  Return: requests completed, in @done.
 */
static int ddvm_front_blk_service_locked(struct ddvm_front_blk *blk, struct request **done,
					 int max)
{
	struct ddvm_ring *cmp = &blk->chan.rings[DDVM_BLK_RING_CMP];
	int n = 0, ret;

	if (blk->dead)
		return 0;
	if (ddvm_front_blk_needs_layout(blk)) {
		queue_work(ddvm_front_wq, &blk->work);
		return 0;
	}
	if (ddvm_front_chan_health(&blk->chan) != DDVM_CHAN_OK || !blk->usable)
		return 0;
	if (blk->nr_unposted)
		ddvm_front_blk_post_pending_locked(blk);
	ddvm_front_blk_publish_locked(blk);
	for (;;) {
		ret = ddvm_front_blk_take_locked(blk, done + n, max - n);
		n += ret;
		if (n == max || !blk->usable)
			return n;
		/* ask for a doorbell at the next completion, then look once more */
		ret = ddvm_ring_arm(cmp);
		if (ret < 0)
			ddvm_front_blk_ring_broken_locked(blk);
		if (ret <= 0)
			return n;
	}
}

static void ddvm_front_blk_arm_timer(struct ddvm_front_blk *blk, unsigned int ms)
{
	if (!timer_pending(&blk->timer))
		mod_timer(&blk->timer, jiffies + msecs_to_jiffies(ms));
}

static void ddvm_front_blk_service(struct ddvm_front_blk *blk)
{
	struct request *done[DDVM_FRONT_BLK_BATCH];
	unsigned long flags;
	int n, i;

	do {
		spin_lock_irqsave(&blk->lock, flags);
		n = ddvm_front_blk_service_locked(blk, done, DDVM_FRONT_BLK_BATCH);
		spin_unlock_irqrestore(&blk->lock, flags);
		for (i = 0; i < n; i++)
			blk_mq_complete_request(done[i]);
	} while (n == DDVM_FRONT_BLK_BATCH);
}

/* Hard irq: the server rang. */
static void ddvm_front_blk_doorbell(struct ddvm_front_chan *chan)
{
	ddvm_front_blk_service(container_of(chan, struct ddvm_front_blk, chan));
}

/*
 * The safety net: with requests out, every 200 ms (20 ms while the server
 * is away, so a restart is noticed quickly) look at the rings, and re-ring
 * a server that has been quiet, so a lost interrupt costs a pause, never a
 * hang.
 */
static void ddvm_front_blk_timer(struct timer_list *t)
{
	struct ddvm_front_blk *blk = from_timer(blk, t, timer);
	unsigned int bells = READ_ONCE(blk->chan.bells);
	bool away, out;

	spin_lock_irq(&blk->lock);
	away = ddvm_front_chan_health(&blk->chan) != DDVM_CHAN_OK || !blk->usable;
	out = blk->nr_inflight && !blk->dead;
	if (out && !away && bells == blk->quiet_bells) {
		blk->rechecks++;
		ddvm_front_chan_notify(&blk->chan);
	}
	blk->quiet_bells = bells;
	spin_unlock_irq(&blk->lock);

	ddvm_front_blk_service(blk);
	if (out)
		ddvm_front_blk_arm_timer(blk, away ? DDVM_FRONT_POLL_MS : DDVM_FRONT_RECHECK_MS);
}

/* Is @i (a private copy) a device we can be a disk for?  -EPROTO if not. */
static int ddvm_front_blk_check_info(struct ddvm_front_blk *blk, const struct ddvm_blk_info *i)
{
	u32 lbs = i->logical_block_size;

	if (lbs < 512 || lbs > 4096 || !is_power_of_2(lbs)) {
		dev_err_ratelimited(&blk->chan.pdev->dev, "%s: server reports logical block size %u\n",
				    blk->name, lbs);
		return -EPROTO;
	}
	if (i->max_transfer < max_t(u32, lbs, PAGE_SIZE) || i->capacity % lbs) {
		dev_err_ratelimited(&blk->chan.pdev->dev, "%s: server reports max_transfer %u, capacity %llu\n",
				    blk->name, i->max_transfer, i->capacity);
		return -EPROTO;
	}
	if (blk->chan.data_size < (u64)blk->depth * blk->slot_size) {
		dev_err_ratelimited(&blk->chan.pdev->dev, "%s: data area shrank under us\n", blk->name);
		return -EPROTO;
	}
	return 0;
}

/*
 * Take the server behind the current layout (its checked block copy) as
 * ours.  The first one fixes the disk's geometry; a later one (a restarted
 * DD/OS) must keep the block size and the transfer size our requests have.
 */
static int ddvm_front_blk_adopt_locked(struct ddvm_front_blk *blk, bool first)
{
	struct ddvm_blk_info info = blk->chan.srv_copy.blk;
	int ret;

	ret = ddvm_front_blk_check_info(blk, &info);
	if (ret)
		return ret;
	if (first) {
		blk->max_io = min(blk->slot_size, info.max_transfer);
		blk->max_io -= blk->max_io % info.logical_block_size;
	} else if (info.logical_block_size != blk->info.logical_block_size ||
		   info.max_transfer < blk->max_io) {
		dev_err_ratelimited(&blk->chan.pdev->dev,
				    "%s: the new server has %u-byte blocks and %u-byte transfers, the disk %u and %u\n",
				    blk->name, info.logical_block_size, info.max_transfer,
				    blk->info.logical_block_size, blk->max_io);
		return -EPROTO;
	}
	info.export_name[sizeof(info.export_name) - 1] = '\0';
	info.driver[sizeof(info.driver) - 1] = '\0';
	blk->info = info;
	blk->event_idx = !!(blk->chan.srv_copy.features & DDVM_F_EVENT_IDX);
	blk->usable = true;
	return 0;
}

/*
 * A new server generation waits for a layout: take what its predecessor
 * completed and published, lay out again, and post every request still in
 * flight once more.  Process context: a replay copies up to a ring of
 * writes.  If no valid server block is there yet the safety net comes back.
 */
static void ddvm_front_blk_replay(struct work_struct *work)
{
	struct ddvm_front_blk *blk = container_of(work, struct ddvm_front_blk, work);
	struct request *done[DDVM_FRONT_BLK_BATCH];
	u32 slot, replayed = 0;
	u64 capacity;
	bool ro;
	int n, i, ret;

	for (;;) {
		spin_lock_irq(&blk->lock);
		if (blk->dead || !ddvm_front_blk_needs_layout(blk)) {
			spin_unlock_irq(&blk->lock);
			return;
		}
		n = blk->usable ? ddvm_front_blk_take_locked(blk, done, DDVM_FRONT_BLK_BATCH) : 0;
		if (!n)
			break;
		spin_unlock_irq(&blk->lock);
		for (i = 0; i < n; i++)
			blk_mq_complete_request(done[i]);
	}
	ret = ddvm_front_chan_relayout(&blk->chan, blk->want, DDVM_BLK_NR_RINGS);
	if (ret) {
		spin_unlock_irq(&blk->lock);
		if (ret != -EAGAIN)
			dev_err_ratelimited(&blk->chan.pdev->dev, "%s: cannot lay out for the new server: %d\n",
					    blk->name, ret);
		ddvm_front_blk_arm_timer(blk, DDVM_FRONT_POLL_MS);
		return;
	}
	blk->usable = false;
	blk->reset_asked = false;
	blk->pub_old = 0;
	/* nothing of the old generation is on the new rings: all of it goes again */
	blk->nr_unposted = 0;
	for (slot = 0; slot < blk->depth; slot++) {
		if (!blk->slots[slot].rq)
			continue;
		blk->slots[slot].posted = false;
		blk->nr_unposted++;
		replayed++;
	}
	blk->replayed += replayed;
	if (ddvm_front_blk_adopt_locked(blk, false)) {
		/* keep every request for a server we can use; this one gets no layout */
		ddvm_front_chan_set_state(&blk->chan, DDVM_CLI_NONE);
		spin_unlock_irq(&blk->lock);
		return;
	}
	ddvm_front_blk_post_pending_locked(blk);
	ddvm_front_blk_publish_locked(blk);
	capacity = blk->info.capacity;
	ro = blk->info.flags & DDVM_BLK_F_READ_ONLY;
	spin_unlock_irq(&blk->lock);

	dev_info(&blk->chan.pdev->dev, "%s: server generation %u (peer %u): %u requests replayed\n",
		 blk->name, blk->chan.generation, blk->chan.server_id, replayed);
	if (capacity != blk->capacity) {
		dev_warn(&blk->chan.pdev->dev, "%s: the new server's disk has %llu bytes, was %llu\n",
			 blk->name, capacity, blk->capacity);
		blk->capacity = capacity;
		set_capacity_and_notify(blk->disk, capacity >> SECTOR_SHIFT);
	}
	if (ro != get_disk_ro(blk->disk))
		set_disk_ro(blk->disk, ro);
	ddvm_front_blk_arm_timer(blk, DDVM_FRONT_RECHECK_MS);
}

static blk_status_t ddvm_front_blk_queue_rq(struct blk_mq_hw_ctx *hctx,
					    const struct blk_mq_queue_data *bd)
{
	struct ddvm_front_blk *blk = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct ddvm_front_blk_slot *s;
	unsigned long flags;
	u64 layouts;
	u16 op, fl;

	if (ddvm_front_blk_op(rq, &op, &fl))
		return BLK_STS_NOTSUPP;
	if (WARN_ON_ONCE(rq->tag < 0 || rq->tag >= blk->depth))
		return BLK_STS_IOERR;
	if ((op == DDVM_BLK_READ || op == DDVM_BLK_WRITE) && blk_rq_bytes(rq) > blk->max_io)
		return BLK_STS_IOERR;	/* the queue limits forbid it */
	blk_mq_start_request(rq);
	s = &blk->slots[rq->tag];
	/*
	 * Copy a write in before taking the lock: the slot is this tag's
	 * alone.  Note the layout first; if it changes meanwhile, posting
	 * copies again.
	 */
	layouts = READ_ONCE(blk->chan.layouts);
	if (op == DDVM_BLK_WRITE)
		ddvm_front_blk_copy_to_slot(blk, rq);

	spin_lock_irqsave(&blk->lock, flags);
	if (blk->dead) {
		spin_unlock_irqrestore(&blk->lock, flags);
		return BLK_STS_IOERR;
	}
	s->rq = rq;
	s->posted = false;
	s->copied = op == DDVM_BLK_WRITE ? layouts : 0;
	blk->nr_inflight++;
	blk->nr_unposted++;
	blk->submitted++;
	/* while the server is away the request waits in its slot for the replay */
	if (ddvm_front_chan_health(&blk->chan) == DDVM_CHAN_OK && blk->usable) {
		if (blk->nr_unposted == 1)
			ddvm_front_blk_post_locked(blk, rq->tag);
		else
			ddvm_front_blk_post_pending_locked(blk);
		if (bd->last)
			ddvm_front_blk_publish_locked(blk);
	} else if (ddvm_front_blk_needs_layout(blk)) {
		queue_work(ddvm_front_wq, &blk->work);
	}
	spin_unlock_irqrestore(&blk->lock, flags);
	ddvm_front_blk_arm_timer(blk, DDVM_FRONT_RECHECK_MS);
	return BLK_STS_OK;
}

/* blk-mq stopped short of a request with bd->last: publish what was posted. */
static void ddvm_front_blk_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct ddvm_front_blk *blk = hctx->queue->queuedata;
	unsigned long flags;

	spin_lock_irqsave(&blk->lock, flags);
	if (!blk->dead && blk->usable)
		ddvm_front_blk_publish_locked(blk);
	spin_unlock_irqrestore(&blk->lock, flags);
}

/* Softirq on the submitting CPU: a read's data comes out of its slot (the tag is still ours). */
static void ddvm_front_blk_complete(struct request *rq)
{
	struct ddvm_front_blk *blk = rq->q->queuedata;
	struct ddvm_front_blk_cmd *cmd = blk_mq_rq_to_pdu(rq);

	if (req_op(rq) == REQ_OP_READ && cmd->status == BLK_STS_OK)
		ddvm_front_blk_copy_from_slot(blk, rq);
	blk_mq_end_request(rq, cmd->status);
}

/*
 * A request is never failed for being slow: the DD/OS times out its device
 * (and fails the channel, and gets restarted), and a request in flight
 * across a restart is replayed.  Say so now and then, and keep waiting.
 */
static enum blk_eh_timer_return ddvm_front_blk_timeout(struct request *rq)
{
	struct ddvm_front_blk *blk = rq->q->queuedata;

	dev_warn_ratelimited(&blk->chan.pdev->dev,
			     "%s: a request has waited %d s for the server (state %u, generation %u); still waiting\n",
			     blk->name, DDVM_FRONT_BLK_TIMEOUT_S,
			     ddvm_load_acquire(&blk->chan.srv->state),
			     READ_ONCE(blk->chan.srv->generation));
	return BLK_EH_RESET_TIMER;
}

static const struct blk_mq_ops ddvm_front_blk_mq_ops = {
	.queue_rq = ddvm_front_blk_queue_rq,
	.commit_rqs = ddvm_front_blk_commit_rqs,
	.complete = ddvm_front_blk_complete,
	.timeout = ddvm_front_blk_timeout,
};

static const struct block_device_operations ddvm_front_blk_fops = {
	.owner = THIS_MODULE,
};

/* Size the rings and slots for this region as libddvm does (ddvm/client.h). */
static int ddvm_front_blk_plan(struct ddvm_front_blk *blk)
{
	if (ddvm_blk_client_plan(blk->chan.size, &blk->depth, &blk->slot_size)) {
		dev_err(&blk->chan.pdev->dev, "shared region of %llu bytes is too small for a disk\n",
			blk->chan.size);
		return -ENOSPC;
	}
	blk->want[DDVM_BLK_RING_REQ] = (struct ddvm_ring_want){ blk->depth,
								 sizeof(struct ddvm_blk_req) };
	blk->want[DDVM_BLK_RING_CMP] = (struct ddvm_ring_want){ blk->depth,
								 sizeof(struct ddvm_blk_cmp) };
	blk->slots = kcalloc(blk->depth, sizeof(*blk->slots), GFP_KERNEL);
	return blk->slots ? 0 : -ENOMEM;
}

/* The disk's limits, from the server's device and our slots. */
static void ddvm_front_blk_set_limits(struct ddvm_front_blk *blk, struct request_queue *q)
{
	const struct ddvm_blk_info *i = &blk->info;
	u32 pbs = i->physical_block_size;
	bool cache = i->flags & DDVM_BLK_F_FLUSH;

	blk_queue_logical_block_size(q, i->logical_block_size);
	if (!is_power_of_2(pbs) || pbs < i->logical_block_size || pbs > 65536)
		pbs = i->logical_block_size;	/* advice only: never trust it further */
	blk_queue_physical_block_size(q, pbs);
	blk_queue_max_hw_sectors(q, blk->max_io >> SECTOR_SHIFT);
	/* data is copied segment by segment: segments cost nothing */
	blk_queue_max_segments(q, min_t(u32, USHRT_MAX, blk->max_io >> SECTOR_SHIFT));
	blk_queue_max_segment_size(q, blk->max_io);
	/*
	 * FUA goes over the wire whenever there is a cache: the server's block
	 * layer emulates it with a flush where its device has no native FUA,
	 * one round trip instead of our write-then-flush.
	 */
	blk_queue_write_cache(q, cache, cache);
	if (i->flags & DDVM_BLK_F_DISCARD) {
		q->limits.discard_granularity = i->logical_block_size;
		blk_queue_max_discard_sectors(q, DDVM_FRONT_BLK_MAX_RANGE >> SECTOR_SHIFT);
	}
	if (i->flags & DDVM_BLK_F_WRITE_ZEROES)
		blk_queue_max_write_zeroes_sectors(q, DDVM_FRONT_BLK_MAX_RANGE >> SECTOR_SHIFT);
	blk_queue_rq_timeout(q, DDVM_FRONT_BLK_TIMEOUT_S * HZ);
}

static int ddvm_front_blk_add_disk(struct ddvm_front_blk *blk)
{
	struct gendisk *disk;
	int ret;

	blk->tag_set.ops = &ddvm_front_blk_mq_ops;
	blk->tag_set.nr_hw_queues = 1;
	blk->tag_set.queue_depth = blk->depth;
	blk->tag_set.numa_node = NUMA_NO_NODE;
	blk->tag_set.cmd_size = sizeof(struct ddvm_front_blk_cmd);
	blk->tag_set.flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_NO_SCHED_BY_DEFAULT;
	blk->tag_set.driver_data = blk;
	ret = blk_mq_alloc_tag_set(&blk->tag_set);
	if (ret)
		return ret;
	disk = blk_mq_alloc_disk(&blk->tag_set, blk);
	if (IS_ERR(disk)) {
		ret = PTR_ERR(disk);
		goto out_free_tags;
	}
	ddvm_front_blk_set_limits(blk, disk->queue);
	/* no major: the block layer hands out extended dev_t numbers, as for NVMe */
	strscpy(disk->disk_name, blk->name, DISK_NAME_LEN);
	disk->fops = &ddvm_front_blk_fops;
	disk->private_data = blk;
	blk->capacity = blk->info.capacity;
	set_capacity(disk, blk->capacity >> SECTOR_SHIFT);
	set_disk_ro(disk, blk->info.flags & DDVM_BLK_F_READ_ONLY);
	blk->disk = disk;
	/* the partition scan in add_disk already needs the doorbell */
	WRITE_ONCE(blk->chan.on_doorbell, ddvm_front_blk_doorbell);
	ret = add_disk(disk);
	if (ret)
		goto out_put_disk;
	return 0;

out_put_disk:
	WRITE_ONCE(blk->chan.on_doorbell, NULL);
	spin_lock_irq(&blk->lock);
	blk->dead = true;
	spin_unlock_irq(&blk->lock);
	cancel_work_sync(&blk->work);	/* first: the work may arm the timer */
	del_timer_sync(&blk->timer);
	put_disk(disk);
out_free_tags:
	blk_mq_free_tag_set(&blk->tag_set);
	return ret;
}

int ddvm_front_blk_probe(struct pci_dev *pdev, const struct ddvm_front_entry *entry)
{
	struct ddvm_front_blk *blk;
	int ret;

	blk = kzalloc(sizeof(*blk), GFP_KERNEL);
	if (!blk)
		return -ENOMEM;
	blk->index = entry->index;
	snprintf(blk->name, sizeof(blk->name), "ddvmblk%u", entry->index);
	spin_lock_init(&blk->lock);
	INIT_WORK(&blk->work, ddvm_front_blk_replay);
	timer_setup(&blk->timer, ddvm_front_blk_timer, 0);

	ret = ddvm_front_chan_open(&blk->chan, pdev, DDVM_CHAN_BLK);
	if (ret)
		goto out_free;
	ret = ddvm_front_blk_plan(blk);
	if (ret)
		goto out_close;
	ret = ddvm_front_chan_connect(&blk->chan, blk->want, DDVM_BLK_NR_RINGS,
				      ddvm_front_connect_timeout_ms);
	if (ret)
		goto out_close;
	ret = ddvm_front_blk_adopt_locked(blk, true);	/* nothing runs concurrently yet */
	if (ret)
		goto out_close;
	pci_set_drvdata(pdev, &blk->chan);
	ret = ddvm_front_blk_add_disk(blk);
	if (ret)
		goto out_close;
	dev_info(&pdev->dev, "%s: %llu bytes, %u-byte blocks, %s served by %s (peer %u, generation %u), %u requests of %u KiB in flight%s\n",
		 blk->name, blk->info.capacity, blk->info.logical_block_size, blk->info.export_name,
		 blk->info.driver, blk->chan.server_id, blk->chan.generation, blk->depth,
		 blk->max_io >> 10, blk->info.flags & DDVM_BLK_F_READ_ONLY ? ", read-only" : "");
	return 0;

out_close:
	ddvm_front_chan_close(&blk->chan);
out_free:
	kfree(blk->slots);
	kfree(blk);
	return ret;
}

/* Going away: every request still out fails now, new ones fail at once. */
static void ddvm_front_blk_fail_all(struct ddvm_front_blk *blk)
{
	struct request *done[DDVM_FRONT_BLK_BATCH];
	struct ddvm_front_blk_cmd *cmd;
	u32 slot;
	int n, i;

	do {
		n = 0;
		spin_lock_irq(&blk->lock);
		blk->dead = true;
		for (slot = 0; slot < blk->depth && n < DDVM_FRONT_BLK_BATCH; slot++) {
			if (!blk->slots[slot].rq)
				continue;
			cmd = blk_mq_rq_to_pdu(blk->slots[slot].rq);
			cmd->status = BLK_STS_IOERR;
			done[n++] = blk->slots[slot].rq;
			blk->slots[slot].rq = NULL;
			blk->nr_inflight--;
		}
		spin_unlock_irq(&blk->lock);
		for (i = 0; i < n; i++)
			blk_mq_complete_request(done[i]);
	} while (n);
}

void ddvm_front_blk_remove(struct ddvm_front_chan *chan)
{
	struct ddvm_front_blk *blk = container_of(chan, struct ddvm_front_blk, chan);

	/* nobody has the disk open (it holds the module): what is still out is lost anyway */
	ddvm_front_blk_fail_all(blk);
	del_gendisk(blk->disk);
	WRITE_ONCE(chan->on_doorbell, NULL);
	cancel_work_sync(&blk->work);	/* first: the work may arm the timer; dead, nothing re-arms */
	del_timer_sync(&blk->timer);
	ddvm_front_chan_close(chan);
	put_disk(blk->disk);
	blk_mq_free_tag_set(&blk->tag_set);
	dev_info(&chan->pdev->dev, "%s: removed after %llu requests (%llu replayed over %llu layouts, %llu bad completions dropped, %llu doorbells, %llu rechecks)\n",
		 blk->name, blk->submitted, blk->replayed, chan->layouts, blk->bad_completions,
		 blk->doorbells, blk->rechecks);
	kfree(blk->slots);
	kfree(blk);
}
