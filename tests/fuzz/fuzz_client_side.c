// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: libddvm's block client (host/lib/blk_client.c and
 * chan_client.c) against a hostile server in the same process.  The input
 * gives the server block the client connects to and then a script of
 * client calls and server moves; the client must never crash, hang, leak,
 * report a completion twice or for a request it never put on the ring.
 *
 * Input:
 *   byte 0  flags: bits 0-1 region size (16 KiB, 64 KiB, 4 MiB + 64 KiB:
 *           1, 1 and 4 slots; 12 KiB: too small); bit 2 fix magic, version
 *           and type; bit 3 peer id below 256; bit 4 start in WAIT; bit 5
 *           answer the layout with RUN (else byte 1 is the state); bit 6
 *           sane device info; bit 7 answer for the client's generation
 *           (else byte 2 is added to it)
 *   byte 1  answer state; byte 2 answer generation delta; byte 3 unused
 *   4..99   the first 96 bytes of the server block (header and blk info)
 *   then    steps of 9 bytes: op, u64 argument (see enum step)
 *
 * During open (1 ms timeout) the server reacts to doorbells: a RESET gets
 * a new generation in WAIT, the first layout for its generation gets the
 * answer above; afterwards doorbells are only counted.  The client's
 * doorbell eventfd is a semaphore kept non-zero so no wait ever sleeps.
 * The server only writes what a server may write (its block, the request
 * ring's consumer side, the completion ring's producer side and entries,
 * the data area): the client never reads back its own fields, so a hostile
 * server gains nothing by writing those too, and this harness reads them as
 * the truth of what the client published.
 *
 * DDVM_FUZZ_SEEDS=DIR writes seed inputs to DIR and exits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_client.h"
#include "fuzz_seed.h"

#define HDR_LEN		100
#define SRV_BYTES	96
#define STEP_LEN	9
#define MAX_STEPS	256
#define MAX_IOS		8
#define MAX_SLOTS	128		/* the library's deepest plan */
#define MAX_RECEIVED	64
#define OPEN_TIMEOUT_MS	1
#define BUF_MAX		((0xfff * 512) + 1)	/* largest len do_submit() makes */

static const uint64_t region_sizes[4] = { 16 << 10, 64 << 10, (4 << 20) + (64 << 10), 12 << 10 };

enum flag {
	F_FIX_ID = 1 << 2,
	F_SMALL_PEER = 1 << 3,
	F_START_WAIT = 1 << 4,
	F_ANSWER_RUN = 1 << 5,
	F_SANE_INFO = 1 << 6,
	F_ANSWER_GEN = 1 << 7,
};

enum step {
	ST_SUBMIT,	/* b0: op (mod 5; >= 0xf0 raw), b1: flags, b2-3: len, b4-7: offset/512 */
	ST_REAP,	/* b0: max - 1 (mod 8); b1 0xff: 1 ms timeout, else 0 */
	ST_TAKE,	/* server takes up to b0 % 8 + 1 requests */
	ST_COMPLETE,	/* server completes received request b0 with status b1 */
	ST_POST_RAW,	/* server posts a completion with id = arg, status = 0 */
	ST_POST_DUP,	/* server posts its last completion again */
	ST_CMP_PROD,	/* b0 & 3: raw (arg >> 32), local + small, honest, local - 1 */
	ST_REQ_CONS,	/* b0 & 3: raw (arg >> 32), what we took, the client's prod, prod + 1 */
	ST_EVENTS,	/* req.cons_event = arg low 32 bits, cmp.prod_event = arg high 32 */
	ST_STATE,	/* b0 % 8: state; b1 % 3: same/+1/raw generation; b2: break magic,
			   version, peer id; b3: error */
	ST_POKE,	/* u32 arg >> 32 at (b0 | b1 << 8) % 512 & ~3 in the server block */
	ST_NR,
};

struct hio {
	struct ddvm_blk_io io;
	bool inflight;
	bool published;		/* its request reached the ring since submission */
	uint8_t *buf;
};

struct received {
	uint64_t id;
	uint64_t data_off;
	uint32_t len;
	uint16_t op;
};

struct harness {
	uint8_t *region;
	uint64_t size;
	struct ddvm_srv_block *srv;
	struct ddvm_cli_block *cli;
	struct ddvm_blk *blk;
	int efd;
	/* connect phase */
	bool connecting, answered;
	uint8_t flags, answer_state, answer_gen;
	uint64_t doorbells;
	/* oracle */
	struct hio ios[MAX_IOS];
	struct hio *owner[MAX_SLOTS];
	uint64_t submitted, completed;
	uint32_t cli_gen;		/* the client's layout generation scan() last saw */
	uint32_t scan_pos;		/* next request-ring index to look at */
	/* the server's ring views, bound to the client's current layout */
	struct ddvm_ring sreq, scmp;
	bool bound;
	struct received rcv[MAX_RECEIVED];
	uint32_t nr_rcv;
	struct ddvm_blk_cmp last;
};

static uint8_t *regions[4];
static uint8_t *bufs[MAX_IOS];	/* BUF_MAX each, reused: fresh pages are slow */
static int doorbell_fd = -1;
static bool trace;		/* DDVM_FUZZ_TRACE=1: say what each step did */

#define TRACE(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_client_side:%d: %s\n", line, what);
	abort();
}

#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } while (0)

/* The server's reaction to the client's doorbell while it opens. */
static int h_notify(void *ctx, uint32_t peer_id)
{
	struct harness *h = ctx;
	uint32_t cli_state, state;

	h->doorbells++;
	CHECK(peer_id <= 0xffff);
	if (!h->connecting)
		return 0;
	cli_state = ddvm_load_acquire(&h->cli->state);
	state = ddvm_load_acquire(&h->srv->state);
	if (cli_state == DDVM_CLI_RESET && state == DDVM_SRV_RUN) {
		/* a new generation for a client that asked for one */
		h->srv->generation++;
		ddvm_store_release(&h->srv->state, DDVM_SRV_WAIT);
	} else if (cli_state == DDVM_CLI_READY && !h->answered &&
		   h->cli->generation == h->srv->generation) {
		h->answered = true;
		if (!(h->flags & F_ANSWER_GEN))
			h->srv->generation += h->answer_gen;
		ddvm_store_release(&h->srv->state,
				   h->flags & F_ANSWER_RUN ? DDVM_SRV_RUN : h->answer_state);
	}
	return 0;
}

/* Bind the server's views of the rings to the layout the client wrote. */
static void server_bind(struct harness *h)
{
	struct ddvm_cli_block c = *h->cli;

	ddvm_ring_init(&h->sreq, h->region, &c.rings[DDVM_BLK_RING_REQ]);
	ddvm_ring_init(&h->scmp, h->region, &c.rings[DDVM_BLK_RING_CMP]);
	h->bound = true;
}

/*
 * After every library call: attribute what the client put on the request
 * ring since the last look to the io that owned the slot when the call
 * began (@snap), or to @fresh (just submitted), and check each request is
 * exactly that io's.  Entries the client never produced are never read.
 */
static void scan(struct harness *h, struct hio *const *snap, struct hio *fresh)
{
	struct ddvm_blk_stats st;
	const struct ddvm_ring_layout *l = &h->cli->rings[DDVM_BLK_RING_REQ];
	const struct ddvm_ring_ctl *ctl;
	const struct ddvm_blk_req *ents;
	uint32_t prod;

	ddvm_blk_get_stats(h->blk, &st);
	CHECK(st.submitted == h->submitted);
	/*
	 * A new layout (every one is for a new server generation) reset the
	 * rings to index 0.  Not st.generations: that only counts layouts
	 * whose server block the client then accepted.
	 */
	if (!h->bound || h->cli->generation != h->cli_gen) {
		h->cli_gen = h->cli->generation;
		h->scan_pos = 0;
		server_bind(h);
	}
	CHECK(l->off >= DDVM_HDR_SIZE && l->entries && l->entries <= MAX_SLOTS &&
	      l->off + ddvm_ring_bytes(l) <= h->size);
	ctl = (const void *)(h->region + l->off);
	ents = (const void *)(h->region + l->off + DDVM_RING_CTL_SIZE);
	prod = ctl->prod;
	CHECK(prod - h->scan_pos <= l->entries);
	for (; h->scan_pos != prod; h->scan_pos++) {
		const struct ddvm_blk_req *e = &ents[h->scan_pos & (l->entries - 1)];
		uint32_t slot = (uint32_t)e->id;
		struct hio *o = fresh && slot == fresh->io.slot ? fresh :
				slot < MAX_SLOTS ? snap[slot] : NULL;

		CHECK(o && o->inflight);
		CHECK(e->op == o->io.op && e->flags == o->io.flags && e->offset == o->io.offset &&
		      e->len == o->io.len);
		/* a data op's slot is inside the data area and holds what is written */
		if (e->op == DDVM_BLK_READ || e->op == DDVM_BLK_WRITE)
			CHECK(e->data_off + e->len <= h->cli->data_size);
		if (e->op == DDVM_BLK_WRITE)
			CHECK(!memcmp(h->region + h->cli->data_off + e->data_off, o->buf, e->len));
		o->published = true;
	}
}

static bool valid_status(int s)
{
	return s == 0 || s == -EINVAL || s == -ERANGE || s == -EOPNOTSUPP || s == -EROFS ||
	       s == -EIO;
}

static void do_submit(struct harness *h, const uint8_t *a)
{
	struct hio *snap[MAX_SLOTS], *x = NULL;
	uint16_t units = (uint16_t)(a[2] | a[3] << 8);
	uint32_t off;
	int ret;

	for (int i = 0; i < MAX_IOS && !x; i++)
		if (!h->ios[i].inflight)
			x = &h->ios[i];
	if (!x)
		return;
	memcpy(&off, a + 4, 4);
	memset(&x->io, 0, sizeof(x->io));
	x->io.op = a[0] >= 0xf0 ? a[0] & 0xf : a[0] % 5;
	x->io.flags = a[1] & 0x80 ? a[1] : a[1] & DDVM_BLK_REQ_FUA;
	/* mostly small; up to 2 MiB to cross the 1 MiB slot and max_io limits */
	x->io.len = units & 0x8000 ? (uint32_t)(units & 0xfff) * 512 + (units >> 12 & 1) :
				     (units % 130) * 512u;
	x->io.offset = (uint64_t)off * 512;
	x->buf = NULL;
	if ((x->io.op == DDVM_BLK_READ || x->io.op == DDVM_BLK_WRITE) && x->io.len) {
		/* the buffer ends where its allocation does: ASan sees any copy past len */
		x->buf = bufs[x - h->ios] + BUF_MAX - x->io.len;
		memset(x->buf, a[4], x->io.len);
		x->io.buf = x->buf;
	}
	memcpy(snap, h->owner, sizeof(snap));
	ret = ddvm_blk_submit(h->blk, &x->io);
	TRACE("  submit io %d op %u len %u off %llu: %d slot %u\n", (int)(x - h->ios), x->io.op,
	      x->io.len, (unsigned long long)x->io.offset, ret, x->io.slot);
	if (ret) {
		CHECK(ret == -EAGAIN || ret == -EINVAL);
		scan(h, snap, NULL);
		return;
	}
	CHECK(x->io.slot < MAX_SLOTS && !h->owner[x->io.slot]);
	x->inflight = true;
	x->published = false;
	h->owner[x->io.slot] = x;
	h->submitted++;
	scan(h, snap, x);
}

static void do_reap(struct harness *h, int max, int timeout_ms)
{
	struct ddvm_blk_io *done[MAX_IOS];
	struct hio *snap[MAX_SLOTS];
	struct ddvm_blk_stats st;
	int n;

	memcpy(snap, h->owner, sizeof(snap));
	n = ddvm_blk_reap(h->blk, done, max, timeout_ms);
	TRACE("  reap %d %d ms: %d\n", max, timeout_ms, n);
	scan(h, snap, NULL);
	CHECK(n <= max);
	for (int k = 0; k < n; k++) {
		struct hio *x = (struct hio *)done[k];

		/* one of ours, in flight, its request on the ring: reported once */
		CHECK(x >= h->ios && x < h->ios + MAX_IOS && (void *)x == (void *)&x->io);
		CHECK(x->inflight);
		CHECK(x->published);
		CHECK(valid_status(x->io.status));
		CHECK(h->owner[x->io.slot] == x);
		h->owner[x->io.slot] = NULL;
		x->inflight = false;
		h->completed++;
	}
	ddvm_blk_get_stats(h->blk, &st);
	CHECK(st.completed == h->completed);
}

/* Post one completion as the server, with no regard for room. */
static void server_post(struct harness *h, uint64_t id, uint32_t status)
{
	uint32_t old = h->scmp.local;

	h->last = (struct ddvm_blk_cmp){ .id = id, .status = status };
	memcpy(ddvm_ring_next(&h->scmp), &h->last, sizeof(h->last));
	h->scmp.local++;
	ddvm_ring_publish(&h->scmp, old);
}

static void server_take(struct harness *h, int max)
{
	struct ddvm_blk_req r;
	int avail = ddvm_ring_avail(&h->sreq);
	uint32_t old = h->sreq.local;

	/*
	 * Refused only after this server lied about its consumer index and
	 * the client filled what it was told was free: skip to the client.
	 */
	if (avail < 0) {
		h->sreq.local = h->sreq.peer = ddvm_load_acquire(&h->sreq.ctl->prod);
		return;
	}
	for (; avail > 0 && max > 0; avail--, max--) {
		ddvm_ring_take(&h->sreq, &r);
		h->rcv[h->nr_rcv % MAX_RECEIVED] =
			(struct received){ r.id, r.data_off, r.len, r.op };
		h->nr_rcv++;
	}
	ddvm_ring_consumed(&h->sreq, old);
}

static void server_complete(struct harness *h, const uint8_t *a)
{
	uint32_t n = h->nr_rcv < MAX_RECEIVED ? h->nr_rcv : MAX_RECEIVED;
	struct received *r;
	uint32_t status;

	if (!n)
		return;
	r = &h->rcv[a[0] % n];
	status = a[1] >= 0xf0 ? (uint32_t)a[1] << 24 | a[2] : a[1] % 6;
	/* a read puts data where the request said, if that is inside the data area */
	if (r->op == DDVM_BLK_READ && r->data_off <= h->cli->data_size &&
	    r->len <= h->cli->data_size - r->data_off)
		memset(h->region + h->cli->data_off + r->data_off, a[3], r->len);
	server_post(h, r->id, status);
}

static void server_state(struct harness *h, const uint8_t *a, uint64_t arg)
{
	h->srv->error = a[3];
	if (a[1] % 3 == 1)
		h->srv->generation++;
	else if (a[1] % 3 == 2)
		h->srv->generation = (uint32_t)(arg >> 32);
	if (a[2] & 1)
		h->srv->magic = h->srv->magic == DDVM_MAGIC ? 0 : DDVM_MAGIC;
	if (a[2] & 2)
		h->srv->version = h->srv->version == DDVM_VERSION ? 2 : DDVM_VERSION;
	if (a[2] & 4)
		h->srv->peer_id = a[4] | a[5] << 8 | a[6] << 16;
	ddvm_store_release(&h->srv->state, a[0] % 8);
}

static void step(struct harness *h, uint8_t op, const uint8_t *a)
{
	uint64_t arg;
	uint32_t hi, lo;
	uint16_t at;

	memcpy(&arg, a, 8);
	hi = (uint32_t)(arg >> 32);
	lo = (uint32_t)arg;
	TRACE("step %u arg %#llx\n", op % ST_NR, (unsigned long long)arg);
	switch (op % ST_NR) {
	case ST_SUBMIT:
		do_submit(h, a);
		break;
	case ST_REAP:
		do_reap(h, 1 + a[0] % MAX_IOS, a[1] == 0xff);
		break;
	case ST_TAKE:
		server_take(h, 1 + a[0] % 8);
		break;
	case ST_COMPLETE:
		server_complete(h, a);
		break;
	case ST_POST_RAW:
		server_post(h, arg, 0);
		break;
	case ST_POST_DUP:
		server_post(h, h->last.id, h->last.status);
		break;
	case ST_CMP_PROD:
		switch (a[0] & 3) {
		case 0: h->scmp.ctl->prod = hi; break;
		case 1: h->scmp.ctl->prod = h->scmp.local + hi % 300; break;
		case 2: h->scmp.ctl->prod = h->scmp.local; break;
		case 3: h->scmp.ctl->prod = h->scmp.local - 1; break;
		}
		break;
	case ST_REQ_CONS:
		switch (a[0] & 3) {
		case 0: h->sreq.ctl->cons = hi; break;
		case 1: h->sreq.ctl->cons = h->sreq.local; break;
		case 2: h->sreq.ctl->cons = h->sreq.ctl->prod; break;
		case 3: h->sreq.ctl->cons = h->sreq.ctl->prod + 1; break;
		}
		break;
	case ST_EVENTS:
		h->sreq.ctl->cons_event = lo;
		h->scmp.ctl->prod_event = hi;
		break;
	case ST_STATE:
		server_state(h, a, arg);
		break;
	case ST_POKE:
		at = (uint16_t)((a[0] | a[1] << 8) % sizeof(struct ddvm_srv_block)) & ~3;
		memcpy((uint8_t *)h->srv + at, &hi, 4);
		break;
	}
}

/* The server block the client first finds, from the input and its flags. */
static void server_setup(struct harness *h, const uint8_t *hdr)
{
	struct ddvm_srv_block *s = h->srv;
	struct ddvm_blk_info *i = &s->blk;

	memcpy(s, hdr + 4, SRV_BYTES);
	if (h->flags & F_FIX_ID) {
		s->magic = DDVM_MAGIC;
		s->version = DDVM_VERSION;
		s->type = DDVM_CHAN_BLK;
	}
	if (h->flags & F_SMALL_PEER)
		s->peer_id &= 0xff;
	if (h->flags & F_START_WAIT)
		s->state = DDVM_SRV_WAIT;
	if (h->flags & F_SANE_INFO) {
		i->logical_block_size = 512u << (i->logical_block_size & 3);
		i->max_transfer = i->logical_block_size * (1 + i->max_transfer % 2048);
		i->capacity = i->capacity % (1ull << 40) / i->logical_block_size *
			      i->logical_block_size;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	uint8_t hdr[HDR_LEN] = { 0 };
	struct ddvm_chan_transport t;
	struct ddvm_err err;
	size_t pos = HDR_LEN;
	int ret, steps;

	memset(&h, 0, sizeof(h));
	memcpy(hdr, data, size < HDR_LEN ? size : HDR_LEN);
	h.flags = hdr[0];
	h.answer_state = hdr[1];
	h.answer_gen = hdr[2];
	h.size = region_sizes[h.flags & 3];
	h.region = regions[h.flags & 3];
	/* the header and the rings; the data area's old bytes do no harm */
	memset(h.region, 0, h.size < (16 << 10) ? h.size : (16 << 10));
	h.srv = (struct ddvm_srv_block *)(h.region + DDVM_SRV_OFFSET);
	h.cli = (struct ddvm_cli_block *)(h.region + DDVM_CLI_OFFSET);
	server_setup(&h, hdr);

	t = (struct ddvm_chan_transport){
		.region = h.region, .size = h.size, .own_id = 1, .doorbell_fd = doorbell_fd,
		.side_fd = -1, .notify = h_notify, .ctx = &h,
	};
	err.msg[0] = '\0';
	h.connecting = true;
	ret = ddvm_blk_open_transport(&t, OPEN_TIMEOUT_MS, &h.blk, &err);
	h.connecting = false;
	TRACE("open: %d %s\n", ret, ret ? err.msg : "");
	if (ret) {
		CHECK(ret < 0 && err.msg[0]);	/* every failure says why */
		return 0;
	}
	CHECK(ddvm_blk_depth(h.blk) >= 1 && ddvm_blk_depth(h.blk) <= MAX_SLOTS);
	scan(&h, h.owner, NULL);

	for (steps = 0; steps < MAX_STEPS && pos + STEP_LEN <= size; steps++, pos += STEP_LEN)
		step(&h, data[pos], data + pos + 1);
	/* a last look: whatever the server left must still be consistent */
	do_reap(&h, MAX_IOS, 0);

	ddvm_blk_close(h.blk);
	return 0;
}

/* ------------------------------------------------------------- seeds */

static void put_step(uint8_t *buf, size_t *len, uint8_t op, uint64_t arg)
{
	buf[(*len)++] = op;
	memcpy(buf + *len, &arg, 8);
	*len += 8;
}

/* arg bytes for a submit: op, flags, len/512, offset/512 */
static uint64_t sub(uint8_t op, uint8_t flags, uint16_t units, uint32_t blk)
{
	return op | (uint64_t)flags << 8 | (uint64_t)units << 16 | (uint64_t)blk << 32;
}

static size_t seed_header(uint8_t *buf, uint8_t flags, uint32_t state)
{
	struct ddvm_srv_block s;

	memset(&s, 0, sizeof(s));
	s.magic = DDVM_MAGIC;
	s.version = DDVM_VERSION;
	s.type = DDVM_CHAN_BLK;
	s.state = state;
	s.generation = 3;
	s.peer_id = 0;
	s.features = DDVM_F_EVENT_IDX;
	s.blk.capacity = 1 << 20;
	s.blk.logical_block_size = 512;
	s.blk.max_transfer = 64 << 10;
	s.blk.max_inflight = 128;
	s.blk.flags = DDVM_BLK_F_FLUSH | DDVM_BLK_F_WRITE_ZEROES;
	memset(buf, 0, HDR_LEN);
	buf[0] = flags;
	buf[1] = DDVM_SRV_RUN;
	memcpy(buf + 4, &s, SRV_BYTES);
	return HDR_LEN;
}

static void write_seeds(const char *dir)
{
	static uint8_t buf[HDR_LEN + MAX_STEPS * STEP_LEN];
	size_t len;

	/* an honest round: write, read, flush, all completed and reaped */
	len = seed_header(buf, 2 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 0));
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_READ, 0, 8, 0));
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_FLUSH, 0, 0, 0));
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_COMPLETE, 1);
	put_step(buf, &len, ST_COMPLETE, 2);
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "honest", buf, len);

	/* duplicates, forged ids, wild indices */
	len = seed_header(buf, 2 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 1, 8, 16));
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_POST_DUP, 0);
	put_step(buf, &len, ST_POST_RAW, 1ull << 32);
	put_step(buf, &len, ST_REAP, 7);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_READ, 0, 8, 16));
	put_step(buf, &len, ST_POST_DUP, 0);
	put_step(buf, &len, ST_REAP, 7);
	put_step(buf, &len, ST_CMP_PROD, 0x0000100000000000ull);
	put_step(buf, &len, ST_REAP, 7);
	put_step(buf, &len, ST_REQ_CONS, 3);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_FLUSH, 0, 0, 0));
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "hostile-completions", buf, len);

	/* a restart mid-flight: new generation, replay */
	len = seed_header(buf, 2 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 0));
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 8));
	put_step(buf, &len, ST_TAKE, 0);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8);
	put_step(buf, &len, ST_REAP, 7);
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_COMPLETE, 1);
	put_step(buf, &len, ST_COMPLETE, 2);
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "restart-replay", buf, len);

	/* a predecessor's client was served: reset first; one slot in a 64 KiB region */
	len = seed_header(buf, 1 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_RUN);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_READ, 0, 16, 0));
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_READ, 0, 16, 0));
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_REAP, 0);
	fuzz_write_seed(dir, "reset-first", buf, len);

	/* the server rejects the layout */
	len = seed_header(buf, 0 | F_ANSWER_GEN, DDVM_SRV_WAIT);
	buf[1] = DDVM_SRV_ERROR;
	fuzz_write_seed(dir, "rejected", buf, len);

	/* a region too small for one slot */
	len = seed_header(buf, 3 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	fuzz_write_seed(dir, "too-small", buf, len);

	/* reap with a timeout on an empty ring: arm, wait, look again */
	len = seed_header(buf, 0 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_READ, 0, 1, 0));
	put_step(buf, &len, ST_REAP, 0xff00);
	put_step(buf, &len, ST_TAKE, 0);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_REAP, 0xff00);
	fuzz_write_seed(dir, "reap-waits", buf, len);

	/*
	 * Regressions.  A new generation whose block has no magic yet: reap
	 * with timeout 0 used to spin forever.
	 */
	len = seed_header(buf, 2 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 0));
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8 | 1 << 16);
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "regress-new-gen-no-magic", buf, len);

	/* completions taken before a failed relayout used to be lost */
	len = seed_header(buf, 2 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 0));
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 8));
	put_step(buf, &len, ST_TAKE, 0);
	put_step(buf, &len, ST_COMPLETE, 0);
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8 | 2 << 16);
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "regress-replay-bad-version", buf, len);

	/* a completion for a request the ring refused used to complete it */
	len = seed_header(buf, 1 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_REQ_CONS, 3);
	put_step(buf, &len, ST_SUBMIT, sub(DDVM_BLK_WRITE, 0, 8, 0));
	put_step(buf, &len, ST_POST_RAW, 0);
	put_step(buf, &len, ST_REAP, 7);
	fuzz_write_seed(dir, "regress-unposted-completion", buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint64_t lots = 1ull << 60;

	fuzz_seeds_if_asked(write_seeds);
	trace = getenv("DDVM_FUZZ_TRACE") != NULL;
	for (int i = 0; i < MAX_IOS; i++) {
		bufs[i] = malloc(BUF_MAX);
		if (!bufs[i])
			abort();
	}
	for (int i = 0; i < 4; i++) {
		regions[i] = aligned_alloc(4096, region_sizes[i]);
		if (!regions[i])
			abort();
		memset(regions[i], 0, region_sizes[i]);
	}
	/* a semaphore that stays readable: the client's waits return at once */
	doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
	if (doorbell_fd < 0 || write(doorbell_fd, &lots, sizeof(lots)) != sizeof(lots))
		abort();
	return 0;
}
