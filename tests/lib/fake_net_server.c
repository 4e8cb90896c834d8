// SPDX-License-Identifier: GPL-2.0
/* A net channel echo server in a child process, for host tests (see fake_net_server.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddvm/check.h>

#include "fake_net_server.h"

#define FAKE_SERVER_ID	0
#define FAKE_CLIENT_ID	1
#define FAKE_BATCH	64
/* a struct ddvm_net_hdr and the longest offloaded frame */
#define FAKE_FRAME_MAX	(sizeof(struct ddvm_net_hdr) + DDVM_NET_OFFLOAD_MAX_FRAME)

static int fake_notify(void *ctx, uint32_t peer_id)
{
	struct fake_net_server *s = ctx;
	uint64_t one = 1;

	if (peer_id != FAKE_SERVER_ID)
		return -ENOENT;
	return write(s->srv_efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

struct fake_state {
	struct fake_net_server *s;
	struct fake_net_ctl *ctl;
	struct ddvm_srv_block *srv;
	struct ddvm_cli_block *cli;
	struct ddvm_ring tx, rx;
	struct ddvm_cli_block layout;	/* checked private copy */
	uint8_t *data;
	uint32_t gen;
	bool running;			/* rings bound for this generation */
	bool offload;			/* the client accepted DDVM_F_NET_OFFLOAD */
	bool restarted;			/* restart_after done */
	uint32_t max_frame;
	uint8_t frame[FAKE_FRAME_MAX];	/* one offloaded frame on its way back */
};

static void fake_ring_client(struct fake_state *st)
{
	uint64_t one = 1;

	if (write(st->s->cli_efd, &one, sizeof(one)) < 0)
		_exit(3);
}

static void fake_new_generation(struct fake_state *st)
{
	st->running = false;
	st->gen++;
	st->ctl->generation = st->gen;
	ddvm_store_once(&st->srv->generation, st->gen);
	ddvm_store_release(&st->srv->state, DDVM_SRV_WAIT);
	fake_ring_client(st);
}

static void fake_try_start(struct fake_state *st)
{
	struct ddvm_layout_rules rules = {
		.region_size = st->s->size,
		.type = DDVM_CHAN_NET,
		.nr_rings = DDVM_NET_NR_RINGS,
		.entry_size = { sizeof(struct ddvm_net_desc), sizeof(struct ddvm_net_desc) },
		.features = st->srv->features,
		.page_size = 4096,
	};
	struct ddvm_cli_block c;

	if (ddvm_load_acquire(&st->cli->state) != DDVM_CLI_READY)
		return;
	memcpy(&c, st->cli, sizeof(c));
	if (c.generation != st->gen)
		return;
	if (ddvm_layout_check(&c, &rules) || ddvm_net_layout_check(&c)) {
		ddvm_store_once(&st->srv->error, DDVM_ERR_LAYOUT);
		ddvm_store_release(&st->srv->state, DDVM_SRV_ERROR);
		fake_ring_client(st);
		return;
	}
	st->layout = c;
	st->offload = c.features & DDVM_F_NET_OFFLOAD;
	st->ctl->offload = st->offload;
	ddvm_ring_init(&st->tx, st->s->region, &c.rings[DDVM_NET_RING_TX]);
	ddvm_ring_init(&st->rx, st->s->region, &c.rings[DDVM_NET_RING_RX]);
	st->data = (uint8_t *)st->s->region + c.data_off;
	st->running = true;
	ddvm_store_release(&st->srv->state, DDVM_SRV_RUN);
	fake_ring_client(st);
}

/* Post one frame (or a bare descriptor of @len) on RX; false if the ring is full. */
static bool fake_post(struct fake_state *st, const uint8_t *frame, uint16_t len, bool *notify)
{
	struct ddvm_net_desc d = { .len = len };
	uint32_t old = st->rx.local;

	if (ddvm_ring_free(&st->rx) <= 0)
		return false;
	if (frame)
		memcpy(st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_RX, old), frame, len);
	memcpy(ddvm_ring_next(&st->rx), &d, sizeof(d));
	st->rx.local++;
	if (ddvm_ring_publish(&st->rx, old))
		*notify = true;
	return true;
}

/* Post a raw RX descriptor over whatever its buffer holds; false if the ring is full. */
static bool fake_post_desc(struct fake_state *st, uint16_t len, uint16_t flags)
{
	struct ddvm_net_desc d = { .len = len, .flags = flags };

	if (ddvm_ring_free(&st->rx) <= 0)
		return false;
	memcpy(ddvm_ring_next(&st->rx), &d, sizeof(d));
	st->rx.local++;
	return true;
}

/*
 * Write @len bytes (an offload header and its frame) into RX entries as one
 * chain, not yet published; the caller checked the room.
 */
static void fake_put_chain(struct fake_state *st, const uint8_t *bytes, uint32_t len)
{
	uint32_t room = ddvm_net_buf_room(&st->layout, DDVM_NET_RING_RX, st->rx.local);
	uint8_t *buf = st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_RX, st->rx.local);
	uint32_t part = len < room ? len : room;

	memcpy(buf, bytes, part);
	memcpy(st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_RX, 0), bytes + part,
	       len - part);
	for (; len > DDVM_NET_BUF_SIZE; len -= DDVM_NET_BUF_SIZE)
		fake_post_desc(st, DDVM_NET_BUF_SIZE, DDVM_NET_DESC_MORE);
	fake_post_desc(st, (uint16_t)len, 0);
}

/* Offloads: chains that break the rules in five ways, then one sane broadcast frame. */
static void fake_bad_chains(struct fake_state *st, bool *notify)
{
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)st->frame;
	uint8_t *f = st->frame + sizeof(*h);
	uint32_t old = st->rx.local;

	if (ddvm_ring_free(&st->rx) < 8)
		return;
	fake_post_desc(st, 100, DDVM_NET_DESC_MORE);	/* a short entry that says MORE */
	fake_post_desc(st, 100, 0);
	fake_post_desc(st, 20, 0);			/* a header and 8 bytes */
	memset(st->frame, 0, 60 + sizeof(*h));
	memset(f, 0xff, 6);
	memcpy(f + 6, st->srv->net.mac, 6);
	h->gso_type = DDVM_NET_GSO_TCPV4;		/* GSO without NEEDS_CSUM */
	h->gso_size = 1000;
	fake_put_chain(st, st->frame, 60 + sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;		/* the checksum field past the end */
	h->csum_start = 50;
	h->csum_offset = 9;
	fake_put_chain(st, st->frame, 60 + sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->flags = 0x10;				/* an unknown flag */
	fake_put_chain(st, st->frame, 60 + sizeof(*h));
	h->flags = 0;
	fake_put_chain(st, st->frame, 60 + sizeof(*h));
	if (ddvm_ring_publish(&st->rx, old))
		*notify = true;
}

/* Post one frame as the generation carries it: plain, or behind a zero header. */
static void fake_inject(struct fake_state *st, const uint8_t *frame, uint16_t len, bool *notify)
{
	uint32_t old = st->rx.local;

	if (!st->offload) {
		fake_post(st, frame, len, notify);
		return;
	}
	if (ddvm_ring_free(&st->rx) < DDVM_NET_CHAIN_MAX)
		return;
	memset(st->frame, 0, sizeof(struct ddvm_net_hdr));
	memcpy(st->frame + sizeof(struct ddvm_net_hdr), frame, len);
	fake_put_chain(st, st->frame, sizeof(struct ddvm_net_hdr) + len);
	if (ddvm_ring_publish(&st->rx, old))
		*notify = true;
}

static void fake_command(struct fake_state *st, uint32_t cmd, uint32_t arg)
{
	static const uint16_t bad_lens[] = { 0xffff, DDVM_NET_BUF_SIZE + 1, DDVM_NET_MIN_FRAME - 1, 0 };
	uint8_t bcast[60];
	bool notify = false;
	uint32_t i;

	switch (cmd) {
	case FAKE_NET_RESTART:
	case FAKE_NET_START:
		fake_new_generation(st);
		return;
	case FAKE_NET_STOP:
		st->running = false;
		ddvm_store_release(&st->srv->state, DDVM_SRV_STOPPED);
		fake_ring_client(st);
		return;
	case FAKE_NET_LINK:
		ddvm_store_once(&st->srv->net.link_up, arg);
		fake_ring_client(st);
		return;
	default:
		break;
	}
	if (!st->running)
		return;
	switch (cmd) {
	case FAKE_NET_INJECT:
		for (i = 0; i < arg && i < FAKE_NET_INJECT_MAX; i++)
			fake_inject(st, st->ctl->inject[i].data, st->ctl->inject[i].len, &notify);
		break;
	case FAKE_NET_BAD_DESC:
		/* the buffers of the bad ones hold whatever was there: the client must not look */
		for (i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++)
			fake_post(st, NULL, bad_lens[i], &notify);
		memset(bcast, 0xff, 6);
		memcpy(bcast + 6, st->srv->net.mac, 6);
		memset(bcast + 12, 0x5a, sizeof(bcast) - 12);
		fake_post(st, bcast, sizeof(bcast), &notify);
		break;
	case FAKE_NET_WILD_INDEX:
		ddvm_store_release(&st->rx.ctl->prod, st->rx.local + 100000);
		notify = true;
		break;
	case FAKE_NET_BAD_CHAINS:
		if (st->offload)
			fake_bad_chains(st, &notify);
		break;
	case FAKE_NET_CUT_CHAIN:
		if (st->offload && fake_post_desc(st, DDVM_NET_BUF_SIZE, DDVM_NET_DESC_MORE) &&
		    ddvm_ring_publish(&st->rx, st->rx.local - 1))
			notify = true;
		break;
	}
	if (notify)
		fake_ring_client(st);
}

/*
 * Take one offloaded frame (a chain) off TX into st->frame.  Return: its
 * bytes (header included), 0 if it was dropped (counted), -1 if the
 * producer index cuts the chain.
 */
static int fake_take_chain(struct fake_state *st, int *avail)
{
	struct fake_net_ctl *ctl = st->ctl;
	uint32_t first = st->tx.local, room, part;
	struct ddvm_net_chain ch = { 0 };
	struct ddvm_net_hdr h;
	struct ddvm_net_desc d;
	uint8_t *f;

	do {
		if (*avail <= 0)
			return -1;
		ddvm_ring_take(&st->tx, &d);
		(*avail)--;
	} while (ddvm_net_chain_add(&ch, &d));
	ctl->tx_frames++;
	if (!ddvm_net_chain_check(&ch))
		goto bad;
	room = ddvm_net_buf_room(&st->layout, DDVM_NET_RING_TX, first);
	part = ch.bytes < room ? ch.bytes : room;
	memcpy(st->frame, st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_TX, first), part);
	memcpy(st->frame + part, st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_TX, 0),
	       ch.bytes - part);
	memcpy(&h, st->frame, sizeof(h));
	f = st->frame + sizeof(h);
	ctl->last_hdr = h;
	memcpy(ctl->last_tx, f, ch.bytes - sizeof(h) < sizeof(ctl->last_tx) ?
	       ch.bytes - sizeof(h) : sizeof(ctl->last_tx));
	ddvm_store_release(&ctl->last_tx_len, ch.bytes - (uint32_t)sizeof(h));
	if (ddvm_net_hdr_check(&h, f, ch.bytes - sizeof(h), ch.bytes - sizeof(h), st->max_frame))
		goto bad;
	if (memcmp(f + 6, st->srv->net.mac, 6)) {
		ctl->tx_dropped++;	/* spoofed */
		return 0;
	}
	if (h.gso_type != DDVM_NET_GSO_NONE) {
		ctl->tx_gso++;
		ctl->last_gso_hdr = h;
		ctl->last_gso_len = ch.bytes - (uint32_t)sizeof(h);
	}
	return (int)ch.bytes;
bad:
	ctl->tx_bad_hdr++;
	ctl->tx_dropped++;
	return 0;
}

/* Offloads: echo chain by chain, each once RX has room for the longest. */
static void fake_serve_chains(struct fake_state *st)
{
	struct fake_net_ctl *ctl = st->ctl;
	uint8_t *f = st->frame + sizeof(struct ddvm_net_hdr), mac[6];
	uint32_t old_tx, old_rx;
	bool notify = false;
	int avail, room, len, n;

	while (!ddvm_load_once(&ctl->paused)) {
		avail = ddvm_ring_avail(&st->tx);
		if (!avail)
			avail = ddvm_ring_arm(&st->tx);
		room = ddvm_ring_free(&st->rx);
		if (room >= 0 && room < DDVM_NET_CHAIN_MAX) {
			ctl->rx_waits++;
			room = ddvm_ring_arm_room(&st->rx);
		}
		if (avail < 0 || room < 0) {
			fake_new_generation(st);
			return;
		}
		if (!avail || room < DDVM_NET_CHAIN_MAX)
			break;
		old_tx = st->tx.local;
		old_rx = st->rx.local;
		for (n = 0; n < FAKE_BATCH && avail && room >= DDVM_NET_CHAIN_MAX; n++) {
			len = fake_take_chain(st, &avail);
			if (len < 0) {
				fake_new_generation(st);
				return;
			}
			if (!len)
				continue;
			memcpy(mac, f, 6);
			memcpy(f, f + 6, 6);
			memcpy(f + 6, mac, 6);
			fake_put_chain(st, st->frame, (uint32_t)len);
			room = ddvm_ring_free(&st->rx);
			ctl->echoed++;
		}
		if (ddvm_ring_consumed(&st->tx, old_tx))
			notify = true;
		if (st->rx.local != old_rx && ddvm_ring_publish(&st->rx, old_rx))
			notify = true;
	}
	if (notify)
		fake_ring_client(st);
}

/* Echo what the TX ring holds, as far as the RX ring has room. */
static void fake_serve(struct fake_state *st)
{
	struct fake_net_ctl *ctl = st->ctl;
	uint8_t frame[DDVM_NET_BUF_SIZE], mac[6];
	struct ddvm_net_desc d;
	uint32_t old_tx, old_rx;
	bool notify = false;
	int avail, room, n, i;
	uint64_t off;

	while (!ddvm_load_once(&ctl->paused)) {
		avail = ddvm_ring_avail(&st->tx);
		if (!avail)
			avail = ddvm_ring_arm(&st->tx);
		if (avail < 0) {
			/* the client broke its ring: a new generation, as ddvm.ko does */
			fake_new_generation(st);
			return;
		}
		if (!avail)
			break;
		room = ddvm_ring_free(&st->rx);
		if (!room) {
			ctl->rx_waits++;
			room = ddvm_ring_arm_room(&st->rx);
		}
		if (room < 0) {
			fake_new_generation(st);
			return;
		}
		if (!room)
			break;
		n = avail < room ? avail : room;
		if (n > FAKE_BATCH)
			n = FAKE_BATCH;
		old_tx = st->tx.local;
		old_rx = st->rx.local;
		for (i = 0; i < n; i++) {
			off = ddvm_net_buf_off(&st->layout, DDVM_NET_RING_TX, st->tx.local);
			ddvm_ring_take(&st->tx, &d);
			ctl->tx_frames++;
			if (!ddvm_net_frame_check(d.len, st->max_frame)) {
				ctl->tx_dropped++;
				continue;
			}
			memcpy(frame, st->data + off, d.len);
			memcpy(ctl->last_tx, frame, d.len);
			ddvm_store_release(&ctl->last_tx_len, (uint32_t)d.len);
			if (memcmp(frame + 6, st->srv->net.mac, 6)) {
				ctl->tx_dropped++;	/* spoofed */
				continue;
			}
			if (ctl->restart_after && !st->restarted && ctl->echoed == ctl->restart_after) {
				/* "crash": what is in flight is lost, a new server comes */
				st->restarted = true;
				fake_new_generation(st);
				return;
			}
			memcpy(mac, frame, 6);
			memcpy(frame, frame + 6, 6);
			memcpy(frame + 6, mac, 6);
			memcpy(st->data + ddvm_net_buf_off(&st->layout, DDVM_NET_RING_RX, st->rx.local),
			       frame, d.len);
			memcpy(ddvm_ring_next(&st->rx), &d, sizeof(d));
			st->rx.local++;
			ctl->echoed++;
		}
		if (ddvm_ring_consumed(&st->tx, old_tx))
			notify = true;
		if (st->rx.local != old_rx && ddvm_ring_publish(&st->rx, old_rx))
			notify = true;
	}
	if (notify)
		fake_ring_client(st);
}

static void fake_server_main(struct fake_net_server *s)
{
	struct fake_state st = { .s = s, .ctl = s->ctl };
	struct pollfd pfd = { .fd = s->srv_efd, .events = POLLIN };
	struct ddvm_srv_block *srv;
	uint32_t seq;
	uint64_t v;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	srv = st.srv = (struct ddvm_srv_block *)((char *)s->region + DDVM_SRV_OFFSET);
	st.cli = (struct ddvm_cli_block *)((char *)s->region + DDVM_CLI_OFFSET);
	st.max_frame = s->opts.mtu + 18u;
	srv->version = DDVM_VERSION;
	srv->type = DDVM_CHAN_NET;
	srv->peer_id = FAKE_SERVER_ID;
	srv->features = (s->opts.no_event_idx ? 0 : DDVM_F_EVENT_IDX) |
			(s->opts.no_offload ? 0 : DDVM_F_NET_OFFLOAD);
	memcpy(srv->net.mac, s->opts.mac, 6);
	srv->net.mtu = s->opts.mtu;
	srv->net.link_up = 1;
	srv->net.buf_size = s->opts.buf_size;
	strcpy(srv->net.ifname, "eth0");
	strcpy(srv->net.driver, "fake");
	srv->magic = DDVM_MAGIC;
	fake_new_generation(&st);
	for (;;) {
		if (poll(&pfd, 1, 10) > 0) {
			if (read(s->srv_efd, &v, sizeof(v)) == sizeof(v))
				st.ctl->doorbells += v;
			else if (errno != EAGAIN)
				_exit(2);
		}
		seq = ddvm_load_acquire(&st.ctl->cmd_seq);
		if (seq != st.ctl->cmd_done) {
			fake_command(&st, st.ctl->cmd, st.ctl->cmd_arg);
			ddvm_store_release(&st.ctl->cmd_done, seq);
		}
		switch (ddvm_load_acquire(&srv->state)) {
		case DDVM_SRV_WAIT:
		case DDVM_SRV_ERROR:
			fake_try_start(&st);
			break;
		case DDVM_SRV_RUN:
			if (ddvm_load_acquire(&st.cli->state) != DDVM_CLI_READY ||
			    ddvm_load_once(&st.cli->generation) != st.gen) {
				fake_new_generation(&st);
				break;
			}
			if (st.offload)
				fake_serve_chains(&st);
			else
				fake_serve(&st);
			break;
		}
	}
}

int fake_net_cmd(struct fake_net_server *s, enum fake_net_cmd cmd, uint32_t arg, int timeout_ms)
{
	uint32_t seq = s->ctl->cmd_seq + 1;
	int waited = 0;

	s->ctl->cmd = cmd;
	s->ctl->cmd_arg = arg;
	ddvm_store_release(&s->ctl->cmd_seq, seq);
	/* no doorbell: the server looks every 10 ms, and doorbells are what tests count */
	while (ddvm_load_acquire(&s->ctl->cmd_done) != seq) {
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		usleep(1000);
		waited++;
	}
	return 0;
}

int fake_net_start(struct fake_net_server *s, uint64_t region_size, const struct fake_net_opts *o)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

	memset(s, 0, sizeof(*s));
	s->memfd = s->srv_efd = s->cli_efd = -1;
	if (o)
		s->opts = *o;
	if (!s->opts.mtu)
		s->opts.mtu = 1500;
	if (!s->opts.buf_size)
		s->opts.buf_size = DDVM_NET_BUF_SIZE;
	if (!memcmp(s->opts.mac, "\0\0\0\0\0\0", 6))
		memcpy(s->opts.mac, mac, 6);
	s->size = region_size;
	s->memfd = memfd_create("fake-net", MFD_CLOEXEC);
	if (s->memfd < 0 || ftruncate(s->memfd, (off_t)region_size))
		return -errno;
	s->region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	s->ctl = mmap(NULL, sizeof(*s->ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (s->region == MAP_FAILED || s->ctl == MAP_FAILED)
		return -ENOMEM;
	s->srv_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->cli_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->srv_efd < 0 || s->cli_efd < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid)
		fake_server_main(s);
	s->transport = (struct ddvm_chan_transport){
		.region = s->region, .size = region_size, .own_id = FAKE_CLIENT_ID,
		.doorbell_fd = s->cli_efd, .side_fd = -1, .notify = fake_notify, .ctx = s,
	};
	return 0;
}

void fake_net_stop(struct fake_net_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->region && s->region != MAP_FAILED)
		munmap(s->region, s->size);
	if (s->ctl && s->ctl != MAP_FAILED)
		munmap(s->ctl, sizeof(*s->ctl));
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->srv_efd >= 0)
		close(s->srv_efd);
	if (s->cli_efd >= 0)
		close(s->cli_efd);
}
