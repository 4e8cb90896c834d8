// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the DD/OS end of a block channel against a hostile
 * client, running the include/ddvm checks and ring code exactly as
 * ddvm.ko's ddvm_chan_try_start() and ddvm_blk_process() do.
 *
 * The input is the whole shared region (zero-padded to 8 KiB, cut at
 * 64 KiB; the region is exactly that big, so ASan sees its end):
 *   - the server block supplies the device the server pretends to have:
 *     srv.features (offered), srv.blk.capacity, .logical_block_size (low 2
 *     bits pick 512..4096), .max_transfer, .max_inflight (io slots), .flags;
 *   - the client block is the layout under test;
 *   - the reserved header bytes at 1024 hold a script of 8-byte steps
 *     {u8 op, u8 arg, u16 pad, u32 val} played between passes of the
 *     process loop: the client moving its producer index (legally or not),
 *     scribbling on a request after publishing it, the device completing
 *     requests, and so on;
 *   - the rest is rings and data, as the layout says.
 * Every accepted request's bytes are touched in a data-area buffer and a
 * disk buffer allocated to their exact sizes, and compared against an
 * independent 128-bit model of the rules; anything outside aborts.
 *
 * DDVM_FUZZ_SEEDS=DIR writes seed inputs to DIR and exits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddvm/check.h>

#include "fuzz_seed.h"

#define REGION_MIN	8192
#define REGION_MAX	(64 << 10)
#define SCRIPT_OFF	1024
#define SCRIPT_STEPS	((DDVM_HDR_SIZE - SCRIPT_OFF) / 8)
#define MAX_INFLIGHT	128	/* as DDVM_BLK_MAX_INFLIGHT */
#define BATCH		32	/* as DDVM_BLK_BATCH */
#define DISK_MAX	(1 << 20)	/* larger disks are checked, not touched */
#define MAX_PASSES	4096

enum step_op {
	S_END = 0,
	S_PROD_SET,	/* req prod = val */
	S_PROD_ADD,	/* req prod += val % (2 * entries + 2): legal or just over */
	S_COMPLETE,	/* the device completes up to arg in-flight requests */
	S_SCRIBBLE,	/* xor val into a word of the entry arg past our consumer index */
	S_CMP_CONS,	/* client's consumer index of the completion ring = val */
	S_EVENTS,	/* both event indices the client writes = val */
	S_NR_OPS,
};

struct step {
	uint8_t op;
	uint8_t arg;
	uint16_t pad;
	uint32_t val;
};

/* One request the "device" holds. */
struct io {
	uint64_t id;
	int busy;
};

struct server {
	uint8_t *region;
	uint64_t size;
	struct ddvm_cli_block c;	/* the private, checked copy */
	struct ddvm_ring req, cmp;
	struct ddvm_blk_limits limits;
	uint8_t *data;			/* a data-area stand-in of exactly data_size bytes */
	uint8_t *disk;			/* exactly capacity bytes, or NULL */
	struct io ios[MAX_INFLIGHT];
	uint32_t nr_ios, inflight;
	bool starved;
	const struct step *script;
	uint32_t next_step;
	uint64_t sink;			/* keeps the reads of written data alive */
};

static void check_failed(const char *what)
{
	fprintf(stderr, "fuzz_server_side: %s\n", what);
	abort();
}

#define CHECK(cond) do { if (!(cond)) check_failed(#cond); } while (0)

/* Inside [lo, hi) of the region? */
static void check_in_region(const struct server *s, const void *p, size_t len)
{
	const uint8_t *b = p;

	CHECK(b >= s->region + DDVM_HDR_SIZE && b + len <= s->region + s->size);
}

static void check_in_ring(const struct ddvm_ring *r, const struct ddvm_ring_layout *l,
			  const struct server *s, const void *slot)
{
	const uint8_t *lo = s->region + l->off + DDVM_RING_CTL_SIZE;
	const uint8_t *p = slot;

	CHECK(p >= lo && p + r->entry_size <= lo + (uint64_t)l->entries * l->entry_size);
}

/*
 * The layout, once accepted, as the ABI text says it must be: computed
 * again in 128 bits, independent of check.h's u64 subtraction tricks.
 */
static void model_layout(const struct server *s)
{
	const struct ddvm_cli_block *c = &s->c;
	static const uint32_t esz[2] = { sizeof(struct ddvm_blk_req), sizeof(struct ddvm_blk_cmp) };
	unsigned __int128 lo[3], hi[3];
	uint32_t i, j;

	CHECK(c->nr_rings == DDVM_BLK_NR_RINGS && c->peer_id <= 0xffff);
	for (i = 0; i < 2; i++) {
		const struct ddvm_ring_layout *l = &c->rings[i];

		CHECK(l->entries && l->entries <= DDVM_RING_MAX_ENTRIES &&
		      !(l->entries & (l->entries - 1)));
		CHECK(l->entry_size == esz[i] && !(l->off % 64));
		lo[i] = l->off;
		hi[i] = lo[i] + DDVM_RING_CTL_SIZE + (unsigned __int128)l->entries * l->entry_size;
	}
	CHECK(c->data_size && !(c->data_off % 4096));
	lo[2] = c->data_off;
	hi[2] = lo[2] + c->data_size;
	for (i = 0; i < 3; i++) {
		CHECK(lo[i] >= DDVM_HDR_SIZE && hi[i] <= s->size);
		for (j = 0; j < i; j++)
			CHECK(hi[j] <= lo[i] || hi[i] <= lo[j]);
	}
}

/* An accepted request, as the ABI text says it must be. */
static void model_request(const struct server *s, const struct ddvm_blk_req *r)
{
	const struct ddvm_blk_limits *l = &s->limits;

	CHECK(r->op <= DDVM_BLK_WRITE_ZEROES && !(r->flags & ~DDVM_BLK_REQ_FUA));
	if (r->op == DDVM_BLK_FLUSH)
		return;
	CHECK(r->len && !(r->len % l->lbs) && !(r->offset % l->lbs));
	CHECK((unsigned __int128)r->offset + r->len <= l->capacity);
	if (r->op == DDVM_BLK_READ || r->op == DDVM_BLK_WRITE) {
		CHECK(r->len <= l->max_transfer && !(r->data_off % l->lbs));
		CHECK((unsigned __int128)r->data_off + r->len <= l->data_size);
	}
	if (r->op != DDVM_BLK_READ)
		CHECK(!(l->flags & DDVM_BLK_F_READ_ONLY));
	if (r->op == DDVM_BLK_DISCARD)
		CHECK(l->flags & DDVM_BLK_F_DISCARD);
	if (r->op == DDVM_BLK_WRITE_ZEROES)
		CHECK(l->flags & DDVM_BLK_F_WRITE_ZEROES);
}

/* As ddvm_blk_complete(): post the completion, free the io slot. */
static void complete(struct server *s, struct io *io, uint32_t status)
{
	struct ddvm_blk_cmp cmp = { .id = io->id, .status = status };
	void *slot = ddvm_ring_next(&s->cmp);
	uint32_t old;

	check_in_ring(&s->cmp, &s->c.rings[DDVM_BLK_RING_CMP], s, slot);
	memcpy(slot, &cmp, sizeof(cmp));
	old = s->cmp.local++;
	ddvm_ring_publish(&s->cmp, old);
	io->busy = 0;
	s->inflight--;
	s->starved = false;
}

static struct io *get_io(struct server *s)
{
	for (uint32_t i = 0; i < s->nr_ios; i++) {
		if (!s->ios[i].busy) {
			s->ios[i].busy = 1;
			s->inflight++;
			return &s->ios[i];
		}
	}
	s->starved = true;
	return NULL;
}

/* As ddvm_blk_submit(): check, then let the "device" touch what the request names. */
static void submit(struct server *s, struct io *io, const struct ddvm_blk_req *r)
{
	uint32_t status = ddvm_blk_req_check(r, &s->limits);
	uint8_t *area;

	io->id = r->id;
	if (status) {
		complete(s, io, status);
		return;
	}
	model_request(s, r);
	switch (r->op) {
	case DDVM_BLK_READ:	/* the device DMAs into the data area */
		area = s->region + s->c.data_off + r->data_off;
		check_in_region(s, area, r->len);
		memset(area, 0xa5, r->len);
		memset(s->data + r->data_off, 0xa5, r->len);
		if (s->disk)
			s->sink += s->disk[r->offset] + s->disk[r->offset + r->len - 1];
		break;
	case DDVM_BLK_WRITE:	/* and out of it */
		area = s->region + s->c.data_off + r->data_off;
		check_in_region(s, area, r->len);
		s->sink += area[0] + area[r->len - 1];
		s->sink += s->data[r->data_off] + s->data[r->data_off + r->len - 1];
		if (s->disk)
			memcpy(s->disk + r->offset, s->data + r->data_off, r->len);
		break;
	case DDVM_BLK_DISCARD:
	case DDVM_BLK_WRITE_ZEROES:
		if (s->disk)
			memset(s->disk + r->offset, 0, r->len);
		break;
	default:
		break;
	}
}

/* One step of the script; false when it has ended. */
static bool play_step(struct server *s)
{
	const struct step *st;
	uint32_t entries = s->req.mask + 1, n;
	uint32_t *w;

	if (s->next_step >= SCRIPT_STEPS)
		return false;
	st = &s->script[s->next_step++];
	switch (st->op % S_NR_OPS) {
	case S_END:
		s->next_step = SCRIPT_STEPS;
		return false;
	case S_PROD_SET:
		ddvm_store_release(&s->req.ctl->prod, st->val);
		break;
	case S_PROD_ADD:
		ddvm_store_release(&s->req.ctl->prod,
				   s->req.ctl->prod + st->val % (2 * entries + 2));
		break;
	case S_COMPLETE:
		n = st->arg;
		for (uint32_t i = 0; i < s->nr_ios && n; i++) {
			if (s->ios[i].busy) {
				complete(s, &s->ios[i], st->val & 1 ? DDVM_BLK_S_IOERR : 0);
				n--;
			}
		}
		break;
	case S_SCRIBBLE:
		w = ddvm_ring_entry(&s->req, s->req.local + st->arg);
		check_in_ring(&s->req, &s->c.rings[DDVM_BLK_RING_REQ], s, w);
		w[(st->val >> 24) % (sizeof(struct ddvm_blk_req) / 4)] ^= st->val;
		break;
	case S_CMP_CONS:
		ddvm_store_release(&s->cmp.ctl->cons, st->val);
		break;
	case S_EVENTS:
		ddvm_store_once(&s->req.ctl->prod_event, st->val);
		ddvm_store_once(&s->cmp.ctl->cons_event, st->val);
		break;
	}
	return true;
}

/*
 * ddvm_blk_process(), pass for pass; between passes the client (the
 * script) moves.  Return: 0 or DDVM_ERR_RING.
 */
static int process(struct server *s, int *passes)
{
	struct ddvm_blk_req batch[BATCH];
	struct io *batch_io[BATCH];
	int avail, err = 0, n, i;
	uint32_t old;

	s->starved = false;
	while (!s->starved && ++*passes < MAX_PASSES) {
		avail = ddvm_ring_avail(&s->req);
		if (!avail)
			avail = ddvm_ring_arm(&s->req);
		if (avail <= 0) {
			if (avail < 0)
				err = DDVM_ERR_RING;
			break;
		}
		CHECK(avail <= (int)(s->req.mask + 1));
		old = s->req.local;
		for (n = 0; n < avail && n < BATCH; n++) {
			batch_io[n] = get_io(s);
			if (!batch_io[n])
				break;
			check_in_ring(&s->req, &s->c.rings[DDVM_BLK_RING_REQ], s,
				      ddvm_ring_entry(&s->req, s->req.local));
			ddvm_ring_take(&s->req, &batch[n]);
		}
		if (s->req.local != old)
			ddvm_ring_consumed(&s->req, old);
		for (i = 0; i < n; i++)
			submit(s, batch_io[i], &batch[i]);
		play_step(s);
	}
	return err;
}

static void serve(struct server *s)
{
	const struct ddvm_srv_block *srv = (const void *)(s->region + DDVM_SRV_OFFSET);
	struct ddvm_layout_rules rules = {
		.region_size = s->size,
		.type = DDVM_CHAN_BLK,
		.nr_rings = DDVM_BLK_NR_RINGS,
		.entry_size = { sizeof(struct ddvm_blk_req), sizeof(struct ddvm_blk_cmp) },
		.features = srv->features,
		.page_size = 4096,
	};
	const struct ddvm_ring_layout *req, *cmp;
	int passes = 0, err;

	/* ddvm_chan_try_start(): read the client block once, use only the copy */
	memcpy(&s->c, s->region + DDVM_CLI_OFFSET, sizeof(s->c));
	if (ddvm_layout_check(&s->c, &rules))
		return;
	model_layout(s);

	/* ddvm_blk_start() */
	req = &s->c.rings[DDVM_BLK_RING_REQ];
	cmp = &s->c.rings[DDVM_BLK_RING_CMP];
	ddvm_ring_init(&s->req, s->region, req);
	ddvm_ring_init(&s->cmp, s->region, cmp);
	s->limits = (struct ddvm_blk_limits){
		.capacity = srv->blk.capacity,
		.data_size = s->c.data_size,
		.lbs = 512u << (srv->blk.logical_block_size & 3),
		.max_transfer = srv->blk.max_transfer,
		.flags = srv->blk.flags,
	};
	s->nr_ios = MAX_INFLIGHT;
	if (req->entries < s->nr_ios)
		s->nr_ios = req->entries;
	if (cmp->entries < s->nr_ios)
		s->nr_ios = cmp->entries;
	if (srv->blk.max_inflight && srv->blk.max_inflight < s->nr_ios)
		s->nr_ios = srv->blk.max_inflight;
	s->data = malloc(s->c.data_size);
	if (!s->data)
		abort();
	memcpy(s->data, s->region + s->c.data_off, s->c.data_size);
	if (s->limits.capacity <= DISK_MAX) {
		s->disk = calloc(1, s->limits.capacity ? s->limits.capacity : 1);
		if (!s->disk)
			abort();
	}
	s->script = (const struct step *)(s->region + SCRIPT_OFF);

	/* doorbells: process until the ring is quiet and the script is over */
	for (;;) {
		err = process(s, &passes);
		if (err || passes >= MAX_PASSES)
			break;
		if (!play_step(s))
			break;
	}
	/* the device finishes what it has (drain before a new generation) */
	for (uint32_t i = 0; i < s->nr_ios; i++)
		if (s->ios[i].busy)
			complete(s, &s->ios[i], 0);
	CHECK(s->inflight == 0);
	free(s->data);
	free(s->disk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server s;
	size_t rsize = size < REGION_MIN ? REGION_MIN : size > REGION_MAX ? REGION_MAX : size;

	memset(&s, 0, sizeof(s));
	s.size = rsize;
	s.region = malloc(rsize);	/* not page-aligned on purpose: offsets only */
	if (!s.region)
		abort();
	memset(s.region, 0, rsize);
	memcpy(s.region, data, size < rsize ? size : rsize);
	serve(&s);
	free(s.region);
	return 0;
}

/* ------------------------------------------------------------- seeds */

struct seed_req {
	uint16_t op, flags;
	uint64_t offset, data_off;
	uint32_t len;
};

/*
 * A region as an honest client lays it out: req ring of @entries at 4096,
 * cmp ring after it, data at 8192 to the end; @n requests published, and
 * the script @steps.
 */
static void make_seed(uint8_t *r, size_t size, uint32_t entries, const struct seed_req *reqs,
		      uint32_t n, const struct step *steps, uint32_t nsteps, uint64_t srv_flags)
{
	struct ddvm_srv_block *srv = (void *)(r + DDVM_SRV_OFFSET);
	struct ddvm_cli_block *c = (void *)(r + DDVM_CLI_OFFSET);
	struct ddvm_ring_ctl *ctl;
	struct ddvm_blk_req *e;

	memset(r, 0, size);
	srv->magic = DDVM_MAGIC;
	srv->version = DDVM_VERSION;
	srv->type = DDVM_CHAN_BLK;
	srv->state = DDVM_SRV_WAIT;
	srv->features = DDVM_F_EVENT_IDX;
	srv->blk.capacity = 256 << 10;
	srv->blk.logical_block_size = 0;	/* 512 */
	srv->blk.max_transfer = 16 << 10;
	srv->blk.max_inflight = 8;
	srv->blk.flags = srv_flags;
	c->magic = DDVM_MAGIC;
	c->version = DDVM_VERSION;
	c->type = DDVM_CHAN_BLK;
	c->state = DDVM_CLI_READY;
	c->peer_id = 1;
	c->nr_rings = 2;
	c->features = DDVM_F_EVENT_IDX;
	c->rings[0] = (struct ddvm_ring_layout){ 4096, entries, sizeof(struct ddvm_blk_req) };
	c->rings[1] = (struct ddvm_ring_layout){ 4096 + ddvm_ring_bytes(&c->rings[0]), entries,
						 sizeof(struct ddvm_blk_cmp) };
	c->data_off = 8192;
	c->data_size = size - 8192;
	ctl = (void *)(r + 4096);
	e = (void *)(r + 4096 + DDVM_RING_CTL_SIZE);
	for (uint32_t i = 0; i < n; i++)
		e[i % entries] = (struct ddvm_blk_req){ .id = i, .offset = reqs[i].offset,
							.data_off = reqs[i].data_off,
							.len = reqs[i].len, .op = reqs[i].op,
							.flags = reqs[i].flags };
	ctl->prod = n;
	memcpy(r + SCRIPT_OFF, steps, nsteps * sizeof(*steps));
}

static void write_seeds(const char *dir)
{
	static uint8_t buf[16384];
	static const struct seed_req mixed[] = {
		{ DDVM_BLK_READ, 0, 0, 0, 4096 },
		{ DDVM_BLK_WRITE, DDVM_BLK_REQ_FUA, 4096, 4096, 4096 },
		{ DDVM_BLK_FLUSH, 0, 0, 0, 0 },
		{ DDVM_BLK_DISCARD, 0, 8192, 0, 65536 },
		{ DDVM_BLK_WRITE_ZEROES, 0, 0, 0, 512 },
		{ DDVM_BLK_READ, 0, 256 << 10, 0, 512 },	/* past the disk */
		{ DDVM_BLK_WRITE, 0, 0, 8192 - 512, 1024 },	/* past the data area */
		{ 9, 0, 0, 0, 512 },				/* bad op */
	};
	static const struct step busy[] = {
		{ S_PROD_ADD, 0, 0, 3 }, { S_COMPLETE, 4, 0, 0 }, { S_PROD_SET, 0, 0, 100 },
		{ S_PROD_ADD, 0, 0, 2 }, { S_SCRIBBLE, 0, 0, 0x03000001 }, { S_CMP_CONS, 0, 0, 5 },
		{ S_EVENTS, 0, 0, 7 }, { S_COMPLETE, 8, 0, 1 }, { S_END, 0, 0, 0 },
	};
	static const struct step wild[] = {
		{ S_PROD_SET, 0, 0, 0xffffffffu }, { S_END, 0, 0, 0 },
	};
	struct seed_req many[64];

	make_seed(buf, sizeof(buf), 16, mixed, 8, busy, 9,
		  DDVM_BLK_F_FLUSH | DDVM_BLK_F_DISCARD | DDVM_BLK_F_WRITE_ZEROES);
	fuzz_write_seed(dir, "mixed", buf, sizeof(buf));
	make_seed(buf, sizeof(buf), 16, mixed, 5, wild, 2, DDVM_BLK_F_READ_ONLY);
	fuzz_write_seed(dir, "read-only-wild-index", buf, sizeof(buf));
	for (uint32_t i = 0; i < 64; i++)
		many[i] = (struct seed_req){ i & 1 ? DDVM_BLK_WRITE : DDVM_BLK_READ, 0,
					     (uint64_t)i * 4096, (i % 8) * 512ull, 512 };
	make_seed(buf, sizeof(buf), 64, many, 64, busy, 9, 0);
	fuzz_write_seed(dir, "full-ring-starved", buf, sizeof(buf));
	make_seed(buf, 12288, 1, mixed, 1, busy + 1, 1, 0);
	fuzz_write_seed(dir, "one-entry", buf, 12288);
	make_seed(buf, 12288, 1, mixed, 1, busy + 1, 1, 0);
	((struct ddvm_cli_block *)(buf + DDVM_CLI_OFFSET))->version = 2;
	fuzz_write_seed(dir, "bad-version", buf, 12288);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seeds_if_asked(write_seeds);
	return 0;
}
