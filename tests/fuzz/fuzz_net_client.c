// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: libddvm's net client (host/lib/net_client.c) against a
 * hostile server in the same process.  The input gives the server block the
 * client connects to, then a script of client calls (recv, send, arm, link)
 * and server moves (RX descriptors of any length, raw ring indices, event
 * indices, state and generation changes, pokes into the server block).  The
 * client must never crash, read or write outside the region or the
 * caller's buffers (ASan: the region and every buffer end where their
 * allocation does), hand up a frame of an impossible length, or publish a
 * TX entry that is not exactly the caller's frame.  With offloads
 * (DDVM_F_NET_OFFLOAD) the server also posts chains, honest and not, and
 * the client must hand up only frames whose headers pass the rules, and
 * publish only whole chains whose headers pass them.
 *
 * Input:
 *   byte 0  flags: bits 0-1 region size (8 KiB: too small; 16 KiB, 64 KiB,
 *           1 MiB + 64 KiB: rings of 2, 8 and 256 entries); bit 2 fix
 *           magic/version/type; bit 3 peer id below 256; bit 4 start in WAIT;
 *           bit 5 answer the layout with RUN (else byte 1 is the state);
 *           bit 6 sane net info; bit 7 answer for the client's generation
 *           (else byte 2 is added to it)
 *   byte 1  answer state; byte 2 answer generation delta; byte 3: bit 0
 *           offer DDVM_F_NET_OFFLOAD, bit 1 the client asks for it at once
 *   4..163  the first 160 bytes of the server block (header and net info)
 *   then    steps of 9 bytes: op, u64 argument (see enum step)
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

#include <ddvm/check.h>

#include "fuzz_seed.h"
#include "net_client.h"

#define SRV_BYTES	160
#define HDR_LEN		(4 + SRV_BYTES)
#define STEP_LEN	9
#define MAX_STEPS	256
#define MAX_FRAMES	16
#define OPEN_TIMEOUT_MS	1

static const uint64_t region_sizes[4] = { 8 << 10, 16 << 10, 64 << 10, (1 << 20) + (64 << 10) };

enum flag {
	F_FIX_ID = 1 << 2,
	F_SMALL_PEER = 1 << 3,
	F_START_WAIT = 1 << 4,
	F_ANSWER_RUN = 1 << 5,
	F_SANE_INFO = 1 << 6,
	F_ANSWER_GEN = 1 << 7,
};

enum step {
	ST_RECV,	/* b0: max - 1 (mod 16); b1: 0 full buffers, else b1 * 8 bytes each */
	ST_SEND,	/* b0: frames - 1 (mod 8); b1..b7: their lengths / 8 (0xff: 2048 + b) */
	ST_ARM,		/* b0 & 3: DDVM_NET_WANT_* */
	ST_LINK,	/* ddvm_net_link() and ddvm_net_info() */
	ST_POST,	/* server posts an RX descriptor of len = low 16 bits, flags = b2-3 */
	ST_TAKE,	/* server consumes up to b0 % 8 + 1 TX entries */
	ST_RX_PROD,	/* b0 & 3: raw (arg >> 32), local + small, honest, local - 1 */
	ST_TX_CONS,	/* b0 & 3: raw (arg >> 32), what we took, the client's prod, prod + 1 */
	ST_EVENTS,	/* tx.cons_event = arg low 32 bits, rx.prod_event = arg high 32 */
	ST_STATE,	/* b0 % 8: state; b1 % 3: same/+1/raw generation; b2: magic, version, peer */
	ST_POKE,	/* u32 arg >> 32 at (b0 | b1 << 8) % 512 & ~3 in the server block */
	ST_OFFLOAD,	/* ddvm_net_set_offload(b0 & 1) */
	ST_SEND_HDR,	/* b0: frames - 1 (mod 4); b1..b4: kinds (see hdr_frame), b5..b7: sizes */
	ST_RECV_HDR,	/* b0: max - 1 (mod 4); b1: 0 full buffers, else b1 * 64 bytes each */
	ST_POST_CHAIN,	/* b0 % 4: honest plain, honest GSO, raw descriptors (b2..b7), cut */
	ST_NR,
};

struct harness {
	uint8_t *region;
	uint64_t size;
	struct ddvm_srv_block *srv;
	struct ddvm_cli_block *cli;
	struct ddvm_net *net;
	bool connecting, answered;
	uint8_t flags, answer_state, answer_gen, offload_flags;
	/* the server's ring views, bound to the client's current layout */
	struct ddvm_cli_block layout;
	struct ddvm_ring stx, srx;
	uint32_t cli_gen;
	uint64_t layouts;		/* the client's count of layouts done */
	bool bound;
	uint32_t tx_seen;		/* TX index up to which entries were checked */
	uint64_t rx_frames;		/* client stats the oracle expects */
};

static uint8_t *regions[4];
static uint8_t *frame_bufs[MAX_FRAMES];	/* DDVM_NET_BUF_SIZE + 64 each */
#define HDR_FRAMES	4
#define HDR_BUF		(DDVM_NET_HDR_BUF_SIZE + 64)
static uint8_t *hdr_bufs[HDR_FRAMES];	/* HDR_BUF each */
static uint8_t chain_buf[DDVM_NET_HDR_BUF_SIZE + DDVM_NET_BUF_SIZE];
static int doorbell_fd = -1;
static bool trace;		/* DDVM_FUZZ_TRACE=1: say what each call did */

#define TRACE(...) do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_net_client:%d: %s\n", line, what);
	abort();
}

#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } while (0)

/* The server's reaction to the client's doorbell while it opens. */
static int h_notify(void *ctx, uint32_t peer_id)
{
	struct harness *h = ctx;
	uint32_t cli_state, state;

	CHECK(peer_id <= 0xffff);
	if (!h->connecting)
		return 0;
	cli_state = ddvm_load_acquire(&h->cli->state);
	state = ddvm_load_acquire(&h->srv->state);
	if (cli_state == DDVM_CLI_RESET && state == DDVM_SRV_RUN) {
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

/* Copy @len bytes of ring @ring's buffers from entry @idx's on, across the wrap. */
static void copy_chain(struct harness *h, uint32_t ring, uint32_t idx, uint8_t *out, uint32_t len)
{
	uint8_t *data = h->region + h->layout.data_off;
	uint32_t room = ddvm_net_buf_room(&h->layout, ring, idx);
	uint32_t part = len < room ? len : room;

	memcpy(out, data + ddvm_net_buf_off(&h->layout, ring, idx), part);
	memcpy(out + part, data + ddvm_net_buf_off(&h->layout, ring, 0), len - part);
}

/*
 * Offloads: the client published whole chains only, each one a DD/OS
 * would take: sane descriptors, a header that passes the rules.
 */
static void scan_chains(struct harness *h, uint32_t prod)
{
	uint32_t max_frame = ddvm_net_info(h->net)->mtu + DDVM_NET_FRAME_OVERHEAD, first;
	struct ddvm_net_hdr hdr;
	struct ddvm_net_desc d;

	while (h->tx_seen != prod) {
		struct ddvm_net_chain ch = { 0 };
		bool more;

		first = h->tx_seen;
		do {
			CHECK(h->tx_seen != prod);	/* a chain cut by our own index */
			memcpy(&d, ddvm_ring_entry(&h->stx, h->tx_seen++), sizeof(d));
			more = ddvm_net_chain_add(&ch, &d);
		} while (more);
		CHECK(ddvm_net_chain_check(&ch));
		copy_chain(h, DDVM_NET_RING_TX, first, chain_buf, ch.bytes);
		memcpy(&hdr, chain_buf, sizeof(hdr));
		CHECK(ddvm_net_hdr_check(&hdr, chain_buf + sizeof(hdr), ch.bytes - sizeof(hdr),
					 ch.bytes - sizeof(hdr), max_frame) == DDVM_NET_HDR_OK);
	}
}

/*
 * After every call: a layout the client published must be one a server
 * accepts, and the server's ring views follow it.  Then every TX entry the
 * client produced since the last look must be a sane frame in its buffer.
 */
static void scan(struct harness *h)
{
	struct ddvm_layout_rules rules = {
		.region_size = h->size,
		.type = DDVM_CHAN_NET,
		.nr_rings = DDVM_NET_NR_RINGS,
		.entry_size = { sizeof(struct ddvm_net_desc), sizeof(struct ddvm_net_desc) },
		/* what a client of ours may accept, whatever the server pokes in later */
		.features = DDVM_F_EVENT_IDX | DDVM_F_NET_OFFLOAD,
		.page_size = 4096,
	};
	struct ddvm_cli_block c = *h->cli;
	struct ddvm_net_stats st;
	struct ddvm_net_desc d;
	uint32_t prod;

	if (c.state != DDVM_CLI_READY)
		return;
	CHECK(ddvm_layout_check(&c, &rules) == 0);
	CHECK(ddvm_net_layout_check(&c) == 0);
	/* every layout resets the rings, even one again for the same generation */
	ddvm_net_get_stats(h->net, &st);
	if (!h->bound || c.generation != h->cli_gen || st.generations != h->layouts) {
		h->cli_gen = c.generation;
		h->layouts = st.generations;
		h->layout = c;
		ddvm_ring_init(&h->stx, h->region, &c.rings[DDVM_NET_RING_TX]);
		ddvm_ring_init(&h->srx, h->region, &c.rings[DDVM_NET_RING_RX]);
		h->tx_seen = 0;
		h->bound = true;
	}
	prod = ddvm_load_acquire(&h->stx.ctl->prod);
	CHECK(prod - h->tx_seen <= h->layout.rings[DDVM_NET_RING_TX].entries);
	if (h->layout.features & DDVM_F_NET_OFFLOAD) {
		scan_chains(h, prod);
		return;
	}
	for (; h->tx_seen != prod; h->tx_seen++) {
		memcpy(&d, ddvm_ring_entry(&h->stx, h->tx_seen), sizeof(d));
		CHECK(d.len >= DDVM_NET_MIN_FRAME && d.len <= DDVM_NET_BUF_SIZE);
		CHECK(d.len <= ddvm_net_max_frame(h->net));
		CHECK(ddvm_net_buf_off(&h->layout, DDVM_NET_RING_TX, h->tx_seen) + d.len <=
		      h->layout.data_size);
	}
}

static void do_recv(struct harness *h, const uint8_t *a)
{
	struct iovec iov[MAX_FRAMES];
	size_t cap[MAX_FRAMES];
	struct ddvm_net_stats st;
	int max = 1 + a[0] % MAX_FRAMES, n, i;

	for (i = 0; i < max; i++) {
		cap[i] = a[1] ? (size_t)a[1] * 8 : DDVM_NET_BUF_SIZE;
		/* the buffer ends where its allocation does: ASan sees a copy past it */
		iov[i].iov_base = frame_bufs[i] + DDVM_NET_BUF_SIZE + 64 - cap[i];
		iov[i].iov_len = cap[i];
	}
	n = ddvm_net_recv(h->net, iov, max);
	TRACE("  recv %d (buffers %zu): %d\n", max, cap[0], n);
	CHECK(n >= 0 && n <= max);	/* no hub to lose: never an error */
	for (i = 0; i < n; i++)
		CHECK(iov[i].iov_len >= DDVM_NET_MIN_FRAME && iov[i].iov_len <= cap[i]);
	h->rx_frames += (uint64_t)n;
	ddvm_net_get_stats(h->net, &st);
	CHECK(st.rx_frames == h->rx_frames);
	scan(h);
}

static void do_send(struct harness *h, const uint8_t *a)
{
	struct iovec iov[8];
	int n = 1 + a[0] % 8, ret, i;
	uint32_t prod0 = h->bound ? ddvm_load_acquire(&h->stx.ctl->prod) : 0;
	uint64_t layouts0 = h->layouts;
	size_t len;

	for (i = 0; i < n; i++) {
		uint8_t b = a[1 + i % 7];

		len = b == 0xff ? DDVM_NET_BUF_SIZE + (i & 1) : (size_t)b * 8;
		iov[i].iov_base = frame_bufs[i] + DDVM_NET_BUF_SIZE + 64 - len;
		iov[i].iov_len = len;
		memset(iov[i].iov_base, b ^ i, len);
	}
	ret = ddvm_net_send(h->net, iov, n);
	TRACE("  send %d (first %zu bytes): %d\n", n, iov[0].iov_len, ret);
	CHECK(ret == -EINVAL || ret == -EMSGSIZE || (ret >= 0 && ret <= n));
	scan(h);
	/* what was queued is the caller's frames, in order, in their buffers */
	if (ret > 0 && h->bound && h->layouts == layouts0 &&
	    !(h->layout.features & DDVM_F_NET_OFFLOAD)) {
		for (i = 0; i < ret; i++) {
			struct ddvm_net_desc d;
			uint32_t idx = prod0 + (uint32_t)i;

			memcpy(&d, ddvm_ring_entry(&h->stx, idx), sizeof(d));
			CHECK(d.len == iov[i].iov_len);
			CHECK(!memcmp(h->region + h->layout.data_off +
				      ddvm_net_buf_off(&h->layout, DDVM_NET_RING_TX, idx),
				      iov[i].iov_base, d.len));
		}
	}
}

/*
 * Frame @i for ddvm_net_send_hdr into @buf: by @kind, a plain frame behind
 * a zero header, one with a checksum to finish, a TCPv4 GSO frame of
 * @size * 256 bytes of payload, or @size header bytes of garbage.
 * Return: header and frame bytes.
 */
static size_t hdr_frame(uint8_t *buf, uint8_t kind, uint8_t size, uint64_t arg)
{
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)buf;
	uint8_t *f = buf + sizeof(*h);
	size_t len;

	memset(buf, 0, sizeof(*h) + 64);
	switch (kind % 4) {
	case 0:
		return sizeof(*h) + 14 + (size_t)size * 8;
	case 1:
		h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = 14 + size % 32;
		h->csum_offset = size % 7;
		return sizeof(*h) + 60 + (size_t)size * 4;
	case 2:
		len = 54 + (size_t)size * 256;
		f[12] = 0x08;
		f[14] = 0x45;
		f[14 + 9] = 6;
		f[34 + 12] = 5 << 4;
		h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
		h->gso_type = DDVM_NET_GSO_TCPV4;
		h->gso_size = 1448;
		h->hdr_len = 54;
		h->csum_start = 34;
		h->csum_offset = 16;
		return sizeof(*h) + len;
	default:
		memcpy(h, &arg, 8);
		memcpy((uint8_t *)h + 8, &arg, 4);
		return sizeof(*h) + 14 + (size_t)size * 64;
	}
}

static void do_send_hdr(struct harness *h, const uint8_t *a, uint64_t arg)
{
	struct iovec iov[HDR_FRAMES];
	int n = 1 + a[0] % HDR_FRAMES, ret, i;
	size_t len;

	for (i = 0; i < n; i++) {
		len = hdr_frame(chain_buf, a[1 + i], a[5 + i % 3], arg);
		if (len > HDR_BUF)
			len = HDR_BUF;
		/* the frame ends where its buffer does */
		iov[i].iov_base = hdr_bufs[i] + HDR_BUF - len;
		iov[i].iov_len = len;
		memcpy(iov[i].iov_base, chain_buf, len);
	}
	ret = ddvm_net_send_hdr(h->net, iov, n);
	TRACE("  send_hdr %d (first %zu bytes): %d\n", n, iov[0].iov_len, ret);
	CHECK(ret == -EINVAL || ret == -EMSGSIZE || (ret >= 0 && ret <= n));
	scan(h);
}

static void do_recv_hdr(struct harness *h, const uint8_t *a)
{
	struct iovec iov[HDR_FRAMES];
	size_t cap[HDR_FRAMES];
	struct ddvm_net_hdr hdr;
	struct ddvm_net_stats st;
	int max = 1 + a[0] % HDR_FRAMES, n, i;
	uint32_t max_frame = ddvm_net_info(h->net)->mtu + DDVM_NET_FRAME_OVERHEAD, len;

	for (i = 0; i < max; i++) {
		cap[i] = a[1] ? (size_t)a[1] * 64 : HDR_BUF;
		iov[i].iov_base = hdr_bufs[i] + HDR_BUF - cap[i];
		iov[i].iov_len = cap[i];
	}
	n = ddvm_net_recv_hdr(h->net, iov, max);
	TRACE("  recv_hdr %d (buffers %zu): %d\n", max, cap[0], n);
	CHECK(n >= 0 && n <= max);
	for (i = 0; i < n; i++) {
		CHECK(iov[i].iov_len >= sizeof(hdr) + DDVM_NET_MIN_FRAME && iov[i].iov_len <= cap[i]);
		memcpy(&hdr, iov[i].iov_base, sizeof(hdr));
		len = (uint32_t)(iov[i].iov_len - sizeof(hdr));
		/* what is handed up passed the rules (a zero header always does) */
		CHECK(ddvm_net_hdr_check(&hdr, (uint8_t *)iov[i].iov_base + sizeof(hdr), len, len,
					 max_frame > DDVM_NET_BUF_SIZE ? max_frame : DDVM_NET_BUF_SIZE) ==
		      DDVM_NET_HDR_OK);
	}
	h->rx_frames += (uint64_t)n;
	ddvm_net_get_stats(h->net, &st);
	CHECK(st.rx_frames == h->rx_frames);
	scan(h);
}

/* Server: post a chain on RX (offloads), honest or not, and publish it. */
static void server_post_chain(struct harness *h, const uint8_t *a, uint64_t arg)
{
	uint32_t old = h->srx.local, len, i, room;
	struct ddvm_net_desc d = { 0 };
	uint8_t *data;

	if (!h->bound)
		return;
	data = h->region + h->layout.data_off;
	switch (a[0] % 4) {
	case 0:
	case 1:
		len = (uint32_t)hdr_frame(chain_buf, (uint8_t)(a[0] % 4 ? 2 : a[1]), a[1], arg);
		room = ddvm_net_buf_room(&h->layout, DDVM_NET_RING_RX, old);
		if ((len + DDVM_NET_BUF_SIZE - 1) / DDVM_NET_BUF_SIZE >
		    h->layout.rings[DDVM_NET_RING_RX].entries)
			return;
		memcpy(data + ddvm_net_buf_off(&h->layout, DDVM_NET_RING_RX, old), chain_buf,
		       len < room ? len : room);
		if (len > room)
			memcpy(data + ddvm_net_buf_off(&h->layout, DDVM_NET_RING_RX, 0),
			       chain_buf + room, len - room);
		for (; len; len -= d.len) {
			d.len = (uint16_t)(len > DDVM_NET_BUF_SIZE ? DDVM_NET_BUF_SIZE : len);
			d.flags = len > DDVM_NET_BUF_SIZE ? DDVM_NET_DESC_MORE : 0;
			memcpy(ddvm_ring_next(&h->srx), &d, sizeof(d));
			h->srx.local++;
		}
		break;
	case 2:
		for (i = 0; i < 3; i++) {
			d.len = (uint16_t)(a[2 + 2 * i] * 9);
			d.flags = a[3 + 2 * i] & 3;
			memcpy(ddvm_ring_next(&h->srx), &d, sizeof(d));
			h->srx.local++;
		}
		break;
	default:
		d.len = DDVM_NET_BUF_SIZE;
		d.flags = DDVM_NET_DESC_MORE;
		memcpy(ddvm_ring_next(&h->srx), &d, sizeof(d));
		h->srx.local++;
		break;
	}
	ddvm_ring_publish(&h->srx, old);
}

/* Server: post one RX descriptor (with a frame of its length, if it fits). */
static void server_post(struct harness *h, uint16_t len, uint16_t flags)
{
	struct ddvm_net_desc d = { .len = len, .flags = flags };
	uint32_t old = h->srx.local;
	uint64_t off;

	if (!h->bound)
		return;
	off = h->layout.data_off + ddvm_net_buf_off(&h->layout, DDVM_NET_RING_RX, old);
	if (len <= DDVM_NET_BUF_SIZE)
		memset(h->region + off, len & 0xff, len);
	memcpy(ddvm_ring_next(&h->srx), &d, sizeof(d));
	h->srx.local++;
	ddvm_ring_publish(&h->srx, old);
}

static void server_take(struct harness *h, int max)
{
	struct ddvm_net_desc d;
	int avail;
	uint32_t old;

	if (!h->bound)
		return;
	avail = ddvm_ring_avail(&h->stx);
	old = h->stx.local;
	if (avail < 0) {	/* after our own lies about the consumer index */
		h->stx.local = h->stx.peer = ddvm_load_acquire(&h->stx.ctl->prod);
		return;
	}
	for (; avail > 0 && max > 0; avail--, max--)
		ddvm_ring_take(&h->stx, &d);
	ddvm_ring_consumed(&h->stx, old);
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
	if (a[2] & 8)
		h->srv->net.mtu = a[7] * 64;
	ddvm_store_release(&h->srv->state, a[0] % 8);
}

static void step(struct harness *h, uint8_t op, const uint8_t *a)
{
	const struct ddvm_net_info *info;
	uint32_t hi, lo;
	uint64_t arg;
	uint16_t at;
	int ret;

	memcpy(&arg, a, 8);
	hi = (uint32_t)(arg >> 32);
	lo = (uint32_t)arg;
	switch (op % ST_NR) {
	case ST_RECV:
		do_recv(h, a);
		break;
	case ST_SEND:
		do_send(h, a);
		break;
	case ST_ARM:
		ret = ddvm_net_arm(h->net, a[0] & 3);
		TRACE("  arm %d: %d\n", a[0] & 3, ret);
		CHECK(ret >= 0 && ret <= 3);
		scan(h);
		break;
	case ST_LINK:
		ret = ddvm_net_link(h->net);
		CHECK(ret >= DDVM_NET_LINK_UP && ret <= DDVM_NET_LINK_ABSENT);
		info = ddvm_net_info(h->net);
		CHECK(info->mtu >= DDVM_NET_MTU_MIN && info->mtu <= DDVM_NET_MTU_MAX);
		CHECK(info->buf_size == DDVM_NET_BUF_SIZE && !(info->mac[0] & 1));
		CHECK(memchr(info->ifname, 0, sizeof(info->ifname)) &&
		      memchr(info->driver, 0, sizeof(info->driver)));
		CHECK(ddvm_net_max_frame(h->net) <= DDVM_NET_BUF_SIZE);
		scan(h);
		break;
	case ST_POST:
		server_post(h, (uint16_t)lo, (uint16_t)(lo >> 16));
		break;
	case ST_TAKE:
		server_take(h, 1 + a[0] % 8);
		break;
	case ST_RX_PROD:
		if (!h->bound)
			break;
		switch (a[0] & 3) {
		case 0: h->srx.ctl->prod = hi; break;
		case 1: h->srx.ctl->prod = h->srx.local + hi % 600; break;
		case 2: h->srx.ctl->prod = h->srx.local; break;
		case 3: h->srx.ctl->prod = h->srx.local - 1; break;
		}
		break;
	case ST_TX_CONS:
		if (!h->bound)
			break;
		switch (a[0] & 3) {
		case 0: h->stx.ctl->cons = hi; break;
		case 1: h->stx.ctl->cons = h->stx.local; break;
		case 2: h->stx.ctl->cons = h->stx.ctl->prod; break;
		case 3: h->stx.ctl->cons = h->stx.ctl->prod + 1; break;
		}
		break;
	case ST_EVENTS:
		if (!h->bound)
			break;
		h->stx.ctl->cons_event = lo;
		h->srx.ctl->prod_event = hi;
		break;
	case ST_STATE:
		server_state(h, a, arg);
		break;
	case ST_POKE:
		at = (uint16_t)((a[0] | a[1] << 8) % sizeof(struct ddvm_srv_block)) & ~3;
		memcpy((uint8_t *)h->srv + at, &hi, 4);
		break;
	case ST_OFFLOAD:
		ret = ddvm_net_set_offload(h->net, a[0] & 1);
		TRACE("  offload %d: %d\n", a[0] & 1, ret);
		CHECK(ret == 0 || (ret == -ENOSPC && (a[0] & 1)));
		scan(h);
		break;
	case ST_SEND_HDR:
		do_send_hdr(h, a, arg);
		break;
	case ST_RECV_HDR:
		do_recv_hdr(h, a);
		break;
	case ST_POST_CHAIN:
		server_post_chain(h, a, arg);
		break;
	}
}

/* The server block the client first finds, from the input and its flags. */
static void server_setup(struct harness *h, const uint8_t *hdr)
{
	struct ddvm_srv_block *s = h->srv;
	struct ddvm_net_info *i = &s->net;

	memcpy(s, hdr + 4, SRV_BYTES);
	if (h->flags & F_FIX_ID) {
		s->magic = DDVM_MAGIC;
		s->version = DDVM_VERSION;
		s->type = DDVM_CHAN_NET;
	}
	if (h->flags & F_SMALL_PEER)
		s->peer_id &= 0xff;
	if (h->flags & F_START_WAIT)
		s->state = DDVM_SRV_WAIT;
	if (h->flags & F_SANE_INFO) {
		i->mtu = DDVM_NET_MTU_MIN + i->mtu % (DDVM_NET_MTU_MAX - DDVM_NET_MTU_MIN + 1);
		i->buf_size = DDVM_NET_BUF_SIZE;
		i->mac[0] = (i->mac[0] & ~1) | 2;
	}
	if (h->offload_flags & 1)
		s->features |= DDVM_F_NET_OFFLOAD;
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
	h.offload_flags = hdr[3];
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
	ret = ddvm_net_open_transport(&t, OPEN_TIMEOUT_MS, &h.net, &err);
	h.connecting = false;
	TRACE("open: %d %s\n", ret, ret ? err.msg : "");
	if (ret) {
		CHECK(ret < 0 && err.msg[0]);	/* every failure says why */
		return 0;
	}
	if (h.offload_flags & 2) {
		ret = ddvm_net_set_offload(h.net, true);
		CHECK(ret == 0 || ret == -ENOSPC);
	}
	scan(&h);
	for (steps = 0; steps < MAX_STEPS && pos + STEP_LEN <= size; steps++, pos += STEP_LEN) {
		TRACE("step %u\n", data[pos] % ST_NR);
		step(&h, data[pos], data + pos + 1);
	}
	if (trace) {
		struct ddvm_net_stats st;

		ddvm_net_get_stats(h.net, &st);
		TRACE("stats: tx %llu rx %llu bad %llu short %llu ring errors %llu generations %llu bad servers %llu\n",
		      (unsigned long long)st.tx_frames, (unsigned long long)st.rx_frames,
		      (unsigned long long)st.rx_bad, (unsigned long long)st.rx_too_long,
		      (unsigned long long)st.ring_errors, (unsigned long long)st.generations,
		      (unsigned long long)st.bad_servers);
	}
	ddvm_net_close(h.net);
	return 0;
}

/* ------------------------------------------------------------- seeds */

static void put_step(uint8_t *buf, size_t *len, uint8_t op, uint64_t arg)
{
	buf[(*len)++] = op;
	memcpy(buf + *len, &arg, 8);
	*len += 8;
}

static size_t seed_header(uint8_t *buf, uint8_t flags, uint32_t state)
{
	struct ddvm_srv_block s;

	memset(&s, 0, sizeof(s));
	s.magic = DDVM_MAGIC;
	s.version = DDVM_VERSION;
	s.type = DDVM_CHAN_NET;
	s.state = state;
	s.generation = 3;
	s.features = DDVM_F_EVENT_IDX;
	memcpy(s.net.mac, "\x52\x54\x00\x12\x34\x56", 6);
	s.net.mtu = 1500;
	s.net.link_up = 1;
	s.net.buf_size = DDVM_NET_BUF_SIZE;
	strcpy(s.net.ifname, "eth0");
	strcpy(s.net.driver, "e1000");
	memset(buf, 0, HDR_LEN);
	buf[0] = flags;
	buf[1] = DDVM_SRV_RUN;
	memcpy(buf + 4, &s, SRV_BYTES);
	return HDR_LEN;
}

static void write_seeds(const char *dir)
{
	static uint8_t buf[HDR_LEN + MAX_STEPS * STEP_LEN];
	const uint8_t ok = 3 | F_ANSWER_RUN | F_ANSWER_GEN;
	size_t len;

	/* honest traffic both ways */
	len = seed_header(buf, ok, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SEND, 0x0808080808080803ull);
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_POST, 60);
	put_step(buf, &len, ST_POST, 1514);
	put_step(buf, &len, ST_ARM, 3);
	put_step(buf, &len, ST_RECV, 7);
	put_step(buf, &len, ST_LINK, 0);
	fuzz_write_seed(dir, "honest", buf, len);

	/* hostile descriptors, a short caller buffer, a wild producer index */
	len = seed_header(buf, ok, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_POST, 0xffff);
	put_step(buf, &len, ST_POST, DDVM_NET_BUF_SIZE + 1);
	put_step(buf, &len, ST_POST, 3);
	put_step(buf, &len, ST_POST, 0);
	put_step(buf, &len, ST_POST, 1500);
	put_step(buf, &len, ST_RECV, 7 | 8 << 8);
	put_step(buf, &len, ST_RX_PROD, 0x0001000000000001ull);
	put_step(buf, &len, ST_RECV, 7);
	put_step(buf, &len, ST_RX_PROD, 0x1234567800000000ull);
	put_step(buf, &len, ST_RECV, 7);
	put_step(buf, &len, ST_ARM, 1);
	fuzz_write_seed(dir, "hostile-rx", buf, len);

	/* a full TX ring and a lying consumer index */
	len = seed_header(buf, 1 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SEND, 0x0808080808080807ull);
	put_step(buf, &len, ST_SEND, 0x0808080808080807ull);
	put_step(buf, &len, ST_TX_CONS, 3);
	put_step(buf, &len, ST_SEND, 0xff08080808080801ull);
	put_step(buf, &len, ST_ARM, 2);
	put_step(buf, &len, ST_TX_CONS, 0x1234567800000000ull);
	put_step(buf, &len, ST_SEND, 0x0808080808080807ull);
	fuzz_write_seed(dir, "tx-full", buf, len);

	/* a restart: new generation, a bad description, then a good one */
	len = seed_header(buf, ok, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8 | 8ull << 16);
	put_step(buf, &len, ST_RECV, 0);
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8 | 8ull << 16 | 24ull << 56);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_POST, 100);
	put_step(buf, &len, ST_RECV, 0);
	put_step(buf, &len, ST_STATE, DDVM_SRV_STOPPED);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_LINK, 0);
	fuzz_write_seed(dir, "restart", buf, len);

	/* a broken ring while the server still WAITs for our layout: lay it out again */
	len = seed_header(buf, ok, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT);
	put_step(buf, &len, ST_RX_PROD, 0x7654321000000000ull);
	put_step(buf, &len, ST_RECV, 3);
	put_step(buf, &len, ST_RECV, 3);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_POST, 64);
	put_step(buf, &len, ST_RECV, 3);
	fuzz_write_seed(dir, "reset-while-waiting", buf, len);

	/* offloads: frames with headers both ways, honest chains and hostile ones */
	len = seed_header(buf, ok, DDVM_SRV_WAIT);
	buf[3] = 3;
	/* the client asked for a fresh generation to take the feature: give it one */
	put_step(buf, &len, ST_STATE, DDVM_SRV_WAIT | 1 << 8);
	put_step(buf, &len, ST_LINK, 0);
	put_step(buf, &len, ST_STATE, DDVM_SRV_RUN);
	put_step(buf, &len, ST_SEND_HDR, 0x0804080400030201ull);
	put_step(buf, &len, ST_TAKE, 7);
	put_step(buf, &len, ST_POST_CHAIN, 0x0000000000000500ull);
	put_step(buf, &len, ST_POST_CHAIN, 0x0000000000000801ull);
	put_step(buf, &len, ST_RECV_HDR, 3);
	put_step(buf, &len, ST_POST_CHAIN, 0x0102640164000002ull);
	put_step(buf, &len, ST_RECV_HDR, 3);
	put_step(buf, &len, ST_POST_CHAIN, 3);
	put_step(buf, &len, ST_RECV_HDR, 3);
	put_step(buf, &len, ST_POST_CHAIN, 0x0000000000000801ull);
	put_step(buf, &len, ST_RECV, 3);
	put_step(buf, &len, ST_SEND, 0x0808080808080801ull);
	put_step(buf, &len, ST_OFFLOAD, 0);
	put_step(buf, &len, ST_LINK, 0);
	put_step(buf, &len, ST_SEND_HDR, 0x0804080400030201ull);
	fuzz_write_seed(dir, "offload", buf, len);

	/* too small a region, and a server that rejects the layout */
	len = seed_header(buf, 0 | F_ANSWER_RUN | F_ANSWER_GEN, DDVM_SRV_WAIT);
	fuzz_write_seed(dir, "too-small", buf, len);
	len = seed_header(buf, 1 | F_ANSWER_GEN, DDVM_SRV_WAIT);
	buf[1] = DDVM_SRV_ERROR;
	fuzz_write_seed(dir, "rejected", buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint64_t lots = 1ull << 60;
	int i;

	fuzz_seeds_if_asked(write_seeds);
	trace = getenv("DDVM_FUZZ_TRACE") != NULL;
	for (i = 0; i < MAX_FRAMES; i++) {
		frame_bufs[i] = malloc(DDVM_NET_BUF_SIZE + 64);
		if (!frame_bufs[i])
			abort();
	}
	for (i = 0; i < HDR_FRAMES; i++) {
		hdr_bufs[i] = malloc(HDR_BUF);
		if (!hdr_bufs[i])
			abort();
	}
	for (i = 0; i < 4; i++) {
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
