// SPDX-License-Identifier: GPL-2.0
/*
 * Block backend of ddvm.ko: serves any Linux block device, opened by path,
 * to the client of a channel.  Each ring request becomes one bio (chained
 * when long) whose pages are the channel's data area itself, so the device
 * DMAs straight into or out of memory the client shares.  Every request is
 * checked before it reaches the block layer; a bad one completes with an
 * error status and the channel keeps serving.
 */
#include <linux/module.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "ddvm.h"

#define DDVM_BLK_MAX_INFLIGHT	128
#define DDVM_BLK_MAX_TRANSFER	(1u << 20)
#define DDVM_BLK_BATCH		32	/* requests taken from the ring at once */
#define DDVM_BLK_PROCESS_BUDGET	16	/* batches per run of the work item */

static unsigned int io_timeout_ms = 40000;
module_param(io_timeout_ms, uint, 0644);
MODULE_PARM_DESC(io_timeout_ms, "a request the device has not completed after this long fails the channel (default 40000)");

/* One holder for all channels: two clients of one disk may both open it exclusively. */
static int ddvm_blk_holder;

struct ddvm_blk;

struct ddvm_blk_io {
	struct ddvm_blk *blk;
	u64 id;			/* the client's request id */
	unsigned long start;	/* jiffies at submission, for the I/O timeout */
	int next_free;		/* free list link; -1 ends it */
	bool busy;
};

struct ddvm_blk {
	struct ddvm_chan *chan;
	struct block_device *bdev;
	fmode_t mode;
	bool read_only;
	u32 lbs;			/* logical block size */
	u64 start;			/* bytes: where the export starts on the disk */
	u64 capacity;			/* bytes exported, from start */
	u64 flags;			/* DDVM_BLK_F_*, private copy */
	struct ddvm_ring req;		/* we consume */
	struct ddvm_ring cmp;		/* we produce, under lock */
	u64 data_off;			/* data area, from the checked layout */
	u64 data_size;
	spinlock_t lock;		/* cmp ring, free list, inflight, starved */
	u32 nr_ios;
	int free_head;
	u32 inflight;
	bool starved;			/* process() stopped for want of an io slot */
	wait_queue_head_t drained;
	struct ddvm_blk_req batch[DDVM_BLK_BATCH];	/* process() only */
	struct ddvm_blk_io ios[DDVM_BLK_MAX_INFLIGHT];
};

static struct ddvm_blk_io *ddvm_blk_get_io(struct ddvm_blk *blk)
{
	struct ddvm_blk_io *io = NULL;
	unsigned long flags;

	spin_lock_irqsave(&blk->lock, flags);
	if (blk->free_head >= 0) {
		io = &blk->ios[blk->free_head];
		blk->free_head = io->next_free;
		io->busy = true;
		io->start = jiffies;
		blk->inflight++;
	} else {
		blk->starved = true;
	}
	spin_unlock_irqrestore(&blk->lock, flags);
	return io;
}

/* Post @io's completion, free its slot.  Any context (bio end_io included). */
static void ddvm_blk_complete(struct ddvm_blk_io *io, u32 status)
{
	struct ddvm_blk *blk = io->blk;
	struct ddvm_chan *chan = blk->chan;
	struct ddvm_blk_cmp cmp = { .id = io->id, .status = status };
	bool notify, kick, drained;
	unsigned long flags;
	u32 old;

	spin_lock_irqsave(&blk->lock, flags);
	/*
	 * The client bounds its outstanding requests by the ring size, so
	 * this slot is free; a client that breaks that rule only overwrites
	 * its own completions (the index is masked, never out of the ring).
	 */
	memcpy(ddvm_ring_next(&blk->cmp), &cmp, sizeof(cmp));
	old = blk->cmp.local++;
	notify = ddvm_ring_publish(&blk->cmp, old);
	WRITE_ONCE(chan->srv->completed, chan->srv->completed + 1);

	io->busy = false;
	io->next_free = blk->free_head;
	blk->free_head = io - blk->ios;
	blk->inflight--;
	kick = blk->starved;
	blk->starved = false;
	drained = !blk->inflight;
	spin_unlock_irqrestore(&blk->lock, flags);

	if (notify)
		ddvm_chan_notify(chan);
	if (kick)
		ddvm_chan_kick(chan);
	if (drained)
		wake_up(&blk->drained);
}

static void ddvm_blk_end_io(struct bio *bio)
{
	struct ddvm_blk_io *io = bio->bi_private;
	u32 status;

	switch (bio->bi_status) {
	case BLK_STS_OK:
		status = DDVM_BLK_S_OK;
		break;
	case BLK_STS_NOTSUPP:
		status = DDVM_BLK_S_UNSUPP;
		break;
	default:
		status = DDVM_BLK_S_IOERR;
		break;
	}
	bio_put(bio);
	ddvm_blk_complete(io, status);
}

/* Check a request copied out of the ring.  Return: 0 or a DDVM_BLK_S_* status. */
static u32 ddvm_blk_check(const struct ddvm_blk *blk, const struct ddvm_blk_req *r)
{
	const struct ddvm_blk_limits limits = {
		.capacity = blk->capacity,
		.data_size = blk->data_size,
		.lbs = blk->lbs,
		.max_transfer = DDVM_BLK_MAX_TRANSFER,
		.flags = blk->flags,	/* never re-read from the region */
	};

	return ddvm_blk_req_check(r, &limits);
}

/* Build the bio chain for a read or write over the data area; returns the last bio. */
static struct bio *ddvm_blk_data_bio(struct ddvm_blk *blk, const struct ddvm_blk_req *r,
				     blk_opf_t opf)
{
	u64 off = blk->data_off + r->data_off;	/* region offset, checked */
	u32 len = r->len;
	u32 pages = DIV_ROUND_UP(offset_in_page(off) + len, PAGE_SIZE);
	struct bio *bio;

	bio = bio_alloc(blk->bdev, min_t(u32, pages, BIO_MAX_VECS), opf, GFP_NOIO);
	bio->bi_iter.bi_sector = (blk->start + r->offset) >> SECTOR_SHIFT;
	while (len) {
		u32 poff = offset_in_page(off);
		u32 n = min_t(u32, len, PAGE_SIZE - poff);

		if (bio_add_page(bio, ddvm_chan_page(blk->chan, off), n, poff) != n) {
			sector_t next = bio_end_sector(bio);

			pages = DIV_ROUND_UP(poff + len, PAGE_SIZE);
			bio = blk_next_bio(bio, blk->bdev, min_t(u32, pages, BIO_MAX_VECS), opf,
					   GFP_NOIO);
			bio->bi_iter.bi_sector = next;
			continue;
		}
		off += n;
		len -= n;
	}
	return bio;
}

static void ddvm_blk_submit(struct ddvm_blk *blk, struct ddvm_blk_io *io,
			    const struct ddvm_blk_req *r)
{
	u32 status = ddvm_blk_check(blk, r);
	struct bio *bio;

	io->id = r->id;
	if (status) {
		ddvm_blk_complete(io, status);
		return;
	}
	switch (r->op) {
	case DDVM_BLK_READ:
		bio = ddvm_blk_data_bio(blk, r, REQ_OP_READ);
		break;
	case DDVM_BLK_WRITE:
		bio = ddvm_blk_data_bio(blk, r, REQ_OP_WRITE |
					((r->flags & DDVM_BLK_REQ_FUA) ? REQ_FUA : 0));
		break;
	case DDVM_BLK_FLUSH:
		/* the block layer turns this into nothing on a device without a cache */
		bio = bio_alloc(blk->bdev, 0, REQ_OP_WRITE | REQ_PREFLUSH, GFP_NOIO);
		break;
	default:	/* discard, write zeroes: no data pages */
		bio = bio_alloc(blk->bdev, 0, r->op == DDVM_BLK_DISCARD ? REQ_OP_DISCARD :
				REQ_OP_WRITE_ZEROES, GFP_NOIO);
		bio->bi_iter.bi_sector = (blk->start + r->offset) >> SECTOR_SHIFT;
		bio->bi_iter.bi_size = r->len;
		break;
	}
	bio->bi_private = io;
	bio->bi_end_io = ddvm_blk_end_io;
	submit_bio(bio);
}

static int ddvm_blk_process(struct ddvm_chan *chan)
{
	struct ddvm_blk *blk = chan->backend;
	struct ddvm_blk_io *batch_io[DDVM_BLK_BATCH];
	struct blk_plug plug;
	int avail, err = 0, n, i, budget = DDVM_BLK_PROCESS_BUDGET;
	bool starved = false;
	u32 old;

	blk_start_plug(&plug);
	while (!starved) {
		/*
		 * A client that keeps the ring full would keep us here for
		 * ever: the work item must come back out now and then so it
		 * sees the client's state (a reset, a new generation) and an
		 * armed fault injection takes effect.  Go round again later.
		 */
		if (!budget--) {
			ddvm_chan_kick(chan);
			break;
		}
		avail = ddvm_ring_avail(&blk->req);
		if (!avail)
			avail = ddvm_ring_arm(&blk->req);	/* sleep, unless more came */
		if (avail <= 0) {
			if (avail < 0)
				err = DDVM_ERR_RING;
			break;
		}
		/*
		 * Copy a batch out and hand its slots back before submitting:
		 * a completion must never be visible before the consumer
		 * index covers its request (the ABI's "never full" rule).
		 */
		old = blk->req.local;
		for (n = 0; n < avail && n < DDVM_BLK_BATCH; n++) {
			batch_io[n] = ddvm_blk_get_io(blk);
			if (!batch_io[n]) {
				starved = true;	/* a completion will kick us */
				break;
			}
			ddvm_ring_take(&blk->req, &blk->batch[n]);
		}
		if (blk->req.local != old && ddvm_ring_consumed(&blk->req, old))
			ddvm_chan_notify(chan);
		for (i = 0; i < n; i++)
			ddvm_blk_submit(blk, batch_io[i], &blk->batch[i]);
	}
	blk_finish_plug(&plug);
	return err;
}

static int ddvm_blk_start(struct ddvm_chan *chan, const struct ddvm_cli_block *c)
{
	struct ddvm_blk *blk = chan->backend;
	const struct ddvm_ring_layout *req = &c->rings[DDVM_BLK_RING_REQ];
	const struct ddvm_ring_layout *cmp = &c->rings[DDVM_BLK_RING_CMP];
	unsigned long flags;
	u32 i;

	spin_lock_irqsave(&blk->lock, flags);
	if (blk->inflight) {	/* cannot happen: we start only after a drain */
		spin_unlock_irqrestore(&blk->lock, flags);
		return DDVM_ERR_RING;
	}
	ddvm_ring_init(&blk->req, chan->region, req);
	ddvm_ring_init(&blk->cmp, chan->region, cmp);
	blk->data_off = c->data_off;
	blk->data_size = c->data_size;
	blk->nr_ios = min3((u32)DDVM_BLK_MAX_INFLIGHT, req->entries, cmp->entries);
	blk->free_head = -1;
	for (i = blk->nr_ios; i-- > 0;) {
		blk->ios[i].blk = blk;
		blk->ios[i].busy = false;
		blk->ios[i].next_free = blk->free_head;
		blk->free_head = i;
	}
	blk->starved = false;
	spin_unlock_irqrestore(&blk->lock, flags);
	return 0;
}

static bool ddvm_blk_idle(struct ddvm_blk *blk)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&blk->lock, flags);
	idle = !blk->inflight;
	spin_unlock_irqrestore(&blk->lock, flags);
	return idle;
}

static bool ddvm_blk_drain(struct ddvm_chan *chan)
{
	struct ddvm_blk *blk = chan->backend;

	return wait_event_timeout(blk->drained, ddvm_blk_idle(blk),
				  msecs_to_jiffies(io_timeout_ms)) > 0;
}

static int ddvm_blk_tick(struct ddvm_chan *chan)
{
	struct ddvm_blk *blk = chan->backend;
	unsigned long limit = msecs_to_jiffies(io_timeout_ms);
	unsigned long flags;
	int err = 0;
	u32 i;

	spin_lock_irqsave(&blk->lock, flags);
	for (i = 0; i < blk->nr_ios && blk->inflight; i++) {
		if (blk->ios[i].busy && time_after(jiffies, blk->ios[i].start + limit)) {
			err = DDVM_ERR_IO_TIMEOUT;
			break;
		}
	}
	spin_unlock_irqrestore(&blk->lock, flags);
	if (err)
		dev_err(&chan->pdev->dev, "request %u not completed by the device in %u ms\n",
			i, io_timeout_ms);
	return err;
}

/* Name the drivers between the disk and its PCI device, e.g. "sd/ahci". */
static void ddvm_blk_driver_names(struct block_device *bdev, char *buf, size_t size)
{
	struct device *dev = disk_to_dev(bdev->bd_disk);
	const char *last = NULL;
	size_t used = 0;

	buf[0] = '\0';
	for (; dev && used < size; dev = dev->parent) {
		if (dev->driver && (!last || strcmp(last, dev->driver->name))) {
			used += scnprintf(buf + used, size - used, "%s%s", used ? "/" : "",
					  dev->driver->name);
			last = dev->driver->name;
		}
		if (dev_is_pci(dev))
			break;
	}
}

/*
 * An export target is a block device path, optionally with a slice,
 * "/dev/vda@OFFSET+LENGTH" (bytes): several clients can then share one disk
 * without sharing data.  The slice is checked against the disk once it is
 * open; requests are checked against the slice's length like any capacity.
 */
static int ddvm_blk_parse_target(const char *target, char *path, size_t size, u64 *start,
				 u64 *length)
{
	const char *at = strchr(target, '@');
	char num[24];
	const char *plus;

	*start = 0;
	*length = 0;
	if (!at)
		return strscpy(path, target, size) < 0 ? -EINVAL : 0;
	if (at - target >= size || at == target)
		return -EINVAL;
	memcpy(path, target, at - target);
	path[at - target] = '\0';
	plus = strchr(at, '+');
	if (!plus || plus - at - 1 >= sizeof(num) || plus == at + 1)
		return -EINVAL;
	memcpy(num, at + 1, plus - at - 1);
	num[plus - at - 1] = '\0';
	if (kstrtou64(num, 10, start) || kstrtou64(plus + 1, 10, length))
		return -EINVAL;
	if (!*length || !IS_ALIGNED(*start, PAGE_SIZE) || !IS_ALIGNED(*length, PAGE_SIZE) ||
	    *start + *length < *start)
		return -EINVAL;
	return 0;
}

static int ddvm_blk_attach(struct ddvm_chan *chan, const char *target)
{
	struct ddvm_blk_info info = { };
	char path[DDVM_EXPORT_TARGET_MAX];
	struct ddvm_blk *blk;
	u64 start, length;
	int ret;

	ret = ddvm_blk_parse_target(target, path, sizeof(path), &start, &length);
	if (ret) {
		dev_err(&chan->pdev->dev,
			"bad block export '%s' (want /dev/PATH or /dev/PATH@OFFSET+LENGTH, bytes, 4 KiB aligned)\n",
			target);
		return ret;
	}

	blk = kzalloc(sizeof(*blk), GFP_KERNEL);
	if (!blk)
		return -ENOMEM;
	blk->chan = chan;
	spin_lock_init(&blk->lock);
	init_waitqueue_head(&blk->drained);
	blk->free_head = -1;

	blk->mode = FMODE_READ | FMODE_WRITE | FMODE_EXCL;
	blk->bdev = blkdev_get_by_path(path, blk->mode, &ddvm_blk_holder);
	if (IS_ERR(blk->bdev) && (PTR_ERR(blk->bdev) == -EACCES || PTR_ERR(blk->bdev) == -EROFS)) {
		blk->mode = FMODE_READ | FMODE_EXCL;
		blk->bdev = blkdev_get_by_path(path, blk->mode, &ddvm_blk_holder);
	}
	if (IS_ERR(blk->bdev)) {
		ret = PTR_ERR(blk->bdev);
		dev_err(&chan->pdev->dev, "cannot open block device %s: %d\n", path, ret);
		goto out_free;
	}
	blk->read_only = !(blk->mode & FMODE_WRITE) || bdev_read_only(blk->bdev);
	blk->lbs = bdev_logical_block_size(blk->bdev);
	blk->start = start;
	blk->capacity = length ? length : bdev_nr_bytes(blk->bdev);
	if (start + blk->capacity > bdev_nr_bytes(blk->bdev) ||
	    !IS_ALIGNED(start | blk->capacity, blk->lbs)) {
		dev_err(&chan->pdev->dev, "slice %s is not within %s (%llu bytes, %u-byte blocks)\n",
			target, path, bdev_nr_bytes(blk->bdev), blk->lbs);
		ret = -ERANGE;
		goto out_put;
	}

	info.capacity = blk->capacity;
	info.logical_block_size = blk->lbs;
	info.physical_block_size = bdev_physical_block_size(blk->bdev);
	info.max_transfer = DDVM_BLK_MAX_TRANSFER;
	info.max_inflight = DDVM_BLK_MAX_INFLIGHT;
	if (bdev_write_cache(blk->bdev))
		info.flags |= DDVM_BLK_F_FLUSH;
	if (bdev_fua(blk->bdev))
		info.flags |= DDVM_BLK_F_FUA;
	if (bdev_max_discard_sectors(blk->bdev))
		info.flags |= DDVM_BLK_F_DISCARD;
	if (bdev_write_zeroes_sectors(blk->bdev))
		info.flags |= DDVM_BLK_F_WRITE_ZEROES;
	if (blk->read_only)
		info.flags |= DDVM_BLK_F_READ_ONLY;
	strscpy(info.export_name, target, sizeof(info.export_name));
	ddvm_blk_driver_names(blk->bdev, info.driver, sizeof(info.driver));
	blk->flags = info.flags;
	memcpy(&chan->srv->blk, &info, sizeof(info));

	chan->backend = blk;
	dev_info(&chan->pdev->dev, "%s: %llu bytes, %u-byte blocks, driver %s%s\n", target,
		 blk->capacity, blk->lbs, info.driver, blk->read_only ? ", read-only" : "");
	return 0;

out_put:
	blkdev_put(blk->bdev, blk->mode);
out_free:
	kfree(blk);
	return ret;
}

static void ddvm_blk_detach(struct ddvm_chan *chan)
{
	struct ddvm_blk *blk = chan->backend;

	blkdev_put(blk->bdev, blk->mode);
	kfree(blk);
	chan->backend = NULL;
}

static bool ddvm_blk_pending(struct ddvm_chan *chan)
{
	struct ddvm_blk *blk = chan->backend;

	return ddvm_load_acquire(&blk->req.ctl->prod) != READ_ONCE(blk->req.local);
}

const struct ddvm_backend_ops ddvm_blk_ops = {
	.type = DDVM_CHAN_BLK,
	.nr_rings = DDVM_BLK_NR_RINGS,
	.entry_size = {
		[DDVM_BLK_RING_REQ] = sizeof(struct ddvm_blk_req),
		[DDVM_BLK_RING_CMP] = sizeof(struct ddvm_blk_cmp),
	},
	.attach = ddvm_blk_attach,
	.detach = ddvm_blk_detach,
	.start = ddvm_blk_start,
	.process = ddvm_blk_process,
	.drain = ddvm_blk_drain,
	.tick = ddvm_blk_tick,
	.pending = ddvm_blk_pending,
};
