// SPDX-License-Identifier: GPL-2.0
/*
 * libddvm's net client against an echo server in another process over a
 * memfd region and eventfds: long content-checked streams, batching, a full
 * TX ring, hostile RX descriptors and indices, and riding through server
 * restarts and absences without reopening.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_net_server.h"
#include "net_client.h"
#include "pattern.h"

#define REGION		(2ull << 20)	/* power of two, as ivshmem wants: 256 entries a ring */
#define BATCH		64
#define ETHERTYPE_TEST	0x88b5		/* IEEE local experimental */

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

struct fixture {
	struct fake_net_server srv;
	struct ddvm_net *net;
	uint8_t mac[6];			/* ours, from the server */
};

static struct fixture *fixture_open_opts(uint64_t region, const struct fake_net_opts *o)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ddvm_err err = { "" };

	assert_non_null(f);
	assert_int_equal(fake_net_start(&f->srv, region, o), 0);
	if (ddvm_net_open_transport(&f->srv.transport, 5000, &f->net, &err))
		fail_msg("open: %s", err.msg);
	memcpy(f->mac, ddvm_net_info(f->net)->mac, 6);
	return f;
}

static struct fixture *fixture_open(void)
{
	return fixture_open_opts(REGION, NULL);
}

static void fixture_close(struct fixture *f)
{
	ddvm_net_close(f->net);
	fake_net_stop(&f->srv);
	free(f);
}

/* ------------------------------------------------------------ test frames */

/* Frame @seq: a length in 60..1514 and bytes that are a function of seq. */
static uint32_t frame_len(uint64_t seq)
{
	uint64_t st = seq * 0x9e3779b97f4a7c15ull + 1;

	return 60 + (uint32_t)(ddvm_rand_next(&st) % (1514 - 60 + 1));
}

static void frame_body(uint8_t *f, uint64_t seq, uint32_t len)
{
	uint64_t st = seq ^ 0xabcdef12345ull, v;
	uint32_t i;

	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &seq, 8);
	for (i = 22; i < len; i += 8) {
		v = ddvm_rand_next(&st);
		memcpy(f + i, &v, len - i < 8 ? len - i : 8);
	}
}

static uint32_t make_frame(uint8_t *f, uint64_t seq, const uint8_t *src)
{
	uint32_t len = frame_len(seq);

	memcpy(f, peer_mac, 6);
	memcpy(f + 6, src, 6);
	frame_body(f, seq, len);
	return len;
}

/* Is @f (@len bytes) the echo of frame @seq, addressed back to @mac?  Returns seq. */
static uint64_t check_echo(const uint8_t *f, uint32_t len, const uint8_t *mac)
{
	uint8_t want[DDVM_NET_BUF_SIZE];
	uint64_t seq;

	assert_true(len >= 22);
	memcpy(&seq, f + 14, 8);
	assert_int_equal(len, frame_len(seq));
	memcpy(want, mac, 6);
	memcpy(want + 6, peer_mac, 6);
	frame_body(want, seq, len);
	assert_memory_equal(f, want, len);
	return seq;
}

/* --------------------------------------------------------------- the pump */

struct pump {
	uint64_t sent;		/* frames queued */
	uint64_t next;		/* the seq we expect next */
	uint64_t received;
	uint64_t lost;		/* seqs skipped across a new generation */
	uint64_t send_calls;
};

static void pump_recv(struct fixture *f, struct pump *p, uint8_t *rxb, uint64_t gen0, bool *progress)
{
	struct iovec iov[BATCH];
	struct ddvm_net_stats st;
	uint64_t seq;
	int n, i;

	for (i = 0; i < BATCH; i++)
		iov[i] = (struct iovec){ rxb + (size_t)i * DDVM_NET_BUF_SIZE, DDVM_NET_BUF_SIZE };
	n = ddvm_net_recv(f->net, iov, BATCH);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		seq = check_echo(iov[i].iov_base, (uint32_t)iov[i].iov_len, f->mac);
		assert_true(seq >= p->next);	/* never twice, never out of order */
		if (seq != p->next) {
			/* only a restart may lose frames */
			ddvm_net_get_stats(f->net, &st);
			if (st.generations == gen0)
				fail_msg("frame %llu lost without a restart (got %llu)",
					 (unsigned long long)p->next, (unsigned long long)seq);
			p->lost += seq - p->next;
		}
		p->next = seq + 1;
		p->received++;
	}
	if (n)
		*progress = true;
}

/* Send @total frames and take their echoes, in batches, sleeping on the fd when stuck. */
static void pump(struct fixture *f, uint64_t total, struct pump *p)
{
	uint8_t *txb = malloc((size_t)BATCH * DDVM_NET_BUF_SIZE);
	uint8_t *rxb = malloc((size_t)BATCH * DDVM_NET_BUF_SIZE);
	struct ddvm_net_stats st;
	struct iovec iov[BATCH];
	int64_t stuck_since = ddvm_now_ms();
	uint64_t gen0;
	bool progress;
	int n, k, i, r;

	assert_non_null(txb);
	assert_non_null(rxb);
	memset(p, 0, sizeof(*p));
	ddvm_net_get_stats(f->net, &st);
	gen0 = st.generations;
	while (p->next < total) {
		progress = false;
		if (p->sent < total) {
			k = total - p->sent < BATCH ? (int)(total - p->sent) : BATCH;
			for (i = 0; i < k; i++) {
				iov[i].iov_base = txb + (size_t)i * DDVM_NET_BUF_SIZE;
				iov[i].iov_len = make_frame(iov[i].iov_base, p->sent + i, f->mac);
			}
			n = ddvm_net_send(f->net, iov, k);
			assert_true(n >= 0 && n <= k);
			p->send_calls++;
			p->sent += (uint64_t)n;
			if (n)
				progress = true;
		}
		pump_recv(f, p, rxb, gen0, &progress);
		if (progress) {
			stuck_since = ddvm_now_ms();
			continue;
		}
		if (ddvm_now_ms() - stuck_since > 10000)
			fail_msg("stuck: sent %llu, next %llu of %llu", (unsigned long long)p->sent,
				 (unsigned long long)p->next, (unsigned long long)total);
		r = ddvm_net_arm(f->net, DDVM_NET_WANT_RX | (p->sent < total ? DDVM_NET_WANT_TX : 0));
		assert_true(r >= 0);
		if (!r) {
			struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };

			poll(&pfd, 1, ddvm_net_link(f->net) == DDVM_NET_LINK_ABSENT ?
				      DDVM_NET_RETRY_MS : 1000);
		}
	}
	free(txb);
	free(rxb);
}

/* Receive what arrives within @ms into @bufs (DDVM_NET_BUF_SIZE each). */
static int recv_for(struct fixture *f, struct iovec *iov, uint8_t *bufs, int max, int ms)
{
	int64_t end = ddvm_now_ms() + ms;
	int n = 0, r, i;

	while (n < max && ddvm_now_ms() < end) {
		for (i = n; i < max; i++)
			iov[i] = (struct iovec){ bufs + (size_t)i * DDVM_NET_BUF_SIZE, DDVM_NET_BUF_SIZE };
		r = ddvm_net_recv(f->net, iov + n, max - n);
		assert_true(r >= 0);
		n += r;
		if (!r && !ddvm_net_arm(f->net, DDVM_NET_WANT_RX)) {
			struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };

			poll(&pfd, 1, DDVM_NET_RETRY_MS);
		}
	}
	return n;
}

/* ------------------------------------------------------------------ tests */

static void test_info_and_rings(void **state)
{
	struct fixture *f = fixture_open();
	const struct ddvm_net_info *i = ddvm_net_info(f->net);
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	uint32_t tx, rx;

	assert_memory_equal(i->mac, mac, 6);
	assert_int_equal(i->mtu, 1500);
	assert_int_equal(i->buf_size, DDVM_NET_BUF_SIZE);
	assert_string_equal(i->ifname, "eth0");
	assert_string_equal(i->driver, "fake");
	assert_int_equal(ddvm_net_max_frame(f->net), 1518);
	assert_int_equal(ddvm_net_mtu(f->net), 1500);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
	ddvm_net_ring_sizes(f->net, &tx, &rx);
	assert_int_equal(tx, 256);	/* 2 x 512 buffers and the rings do not fit 2 MiB */
	assert_int_equal(rx, 512);	/* RX gets the room that is left: a full one drops */
	fixture_close(f);

	/* 1 MiB exactly cannot hold 2 x 256 buffers and the rings: half of it */
	f = fixture_open_opts(1ull << 20, NULL);
	ddvm_net_ring_sizes(f->net, &tx, &rx);
	assert_int_equal(tx, 128);
	assert_int_equal(rx, 256);
	fixture_close(f);

	/* the 4 MiB of a default channel: the largest rings there are */
	f = fixture_open_opts(4ull << 20, NULL);
	ddvm_net_ring_sizes(f->net, &tx, &rx);
	assert_int_equal(tx, 512);
	assert_int_equal(rx, DDVM_NET_CLIENT_RX_MAX);
	fixture_close(f);
}

static void test_jumbo_mtu_is_capped_by_the_buffer(void **state)
{
	struct fake_net_opts o = { .mtu = 9000 };
	struct fixture *f = fixture_open_opts(REGION, &o);

	assert_int_equal(ddvm_net_info(f->net)->mtu, 9000);
	assert_int_equal(ddvm_net_max_frame(f->net), DDVM_NET_BUF_SIZE);
	assert_int_equal(ddvm_net_mtu(f->net), DDVM_NET_BUF_SIZE - DDVM_NET_FRAME_OVERHEAD);
	fixture_close(f);
}

static void test_region_too_small(void **state)
{
	struct fake_net_server srv;
	struct ddvm_err err = { "" };
	struct ddvm_net *net;

	assert_int_equal(fake_net_start(&srv, 8192, NULL), 0);
	assert_int_equal(ddvm_net_open_transport(&srv.transport, 1000, &net, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "8192"));
	fake_net_stop(&srv);
}

static void test_bad_server_info_is_refused(void **state)
{
	struct fake_net_opts bad[] = {
		{ .mtu = 40 },
		{ .mtu = 9001 },
		{ .buf_size = 4096 },
		{ .mac = { 0x01, 0x00, 0x5e, 0, 0, 1 } },	/* multicast */
	};
	const char *why[] = { "MTU 40", "MTU 9001", "4096-byte", "not a unicast" };

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct fake_net_server srv;
		struct ddvm_err err = { "" };
		struct ddvm_net *net;

		assert_int_equal(fake_net_start(&srv, REGION, &bad[k]), 0);
		assert_int_equal(ddvm_net_open_transport(&srv.transport, 5000, &net, &err), -EPROTO);
		if (!strstr(err.msg, why[k]))
			fail_msg("case %zu: error '%s' does not say '%s'", k, err.msg, why[k]);
		fake_net_stop(&srv);
	}
}

static void test_100k_frames_round_trip(void **state)
{
	struct fixture *f = fixture_open();
	struct ddvm_net_stats st;
	struct pump p;

	pump(f, 100000, &p);
	assert_int_equal(p.received, 100000);
	assert_int_equal(p.lost, 0);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.tx_frames, 100000);
	assert_int_equal(st.rx_frames, 100000);
	assert_int_equal(st.rx_bad, 0);
	assert_int_equal(st.ring_errors, 0);
	assert_int_equal(st.generations, 1);
	assert_int_equal(f->srv.ctl->echoed, 100000);
	assert_int_equal(f->srv.ctl->tx_dropped, 0);
	/* the server offers offloads; a client that did not ask keeps the plain ABI */
	assert_true(((struct ddvm_srv_block *)f->srv.region)->features & DDVM_F_NET_OFFLOAD);
	assert_false(ddvm_net_offload(f->net));
	assert_int_equal(f->srv.ctl->offload, 0);
	fixture_close(f);
}

static void test_batching_saves_doorbells(void **state)
{
	struct fixture *f = fixture_open();
	const uint64_t frames = 30000;
	struct ddvm_net_stats st;
	uint64_t bells0, bells;
	struct pump p;

	bells0 = ddvm_load_once(&f->srv.ctl->doorbells);
	pump(f, frames, &p);
	usleep(50 * 1000);	/* the server's count of the last bells */
	bells = ddvm_load_once(&f->srv.ctl->doorbells) - bells0;
	ddvm_net_get_stats(f->net, &st);
	print_message("%llu frames, %llu send calls, %llu doorbells (client counted %llu)\n",
		      (unsigned long long)frames, (unsigned long long)p.send_calls,
		      (unsigned long long)bells, (unsigned long long)st.doorbells);
	/* at most one bell per send or recv call, and only when the server sleeps */
	assert_true(bells <= st.doorbells + 4);	/* + late bells of the handshake */
	assert_true(st.doorbells <= 2 * p.send_calls);
	assert_true(bells < frames / 8);
	fixture_close(f);
}

static void test_without_event_idx_every_batch_rings(void **state)
{
	struct fake_net_opts o = { .no_event_idx = 1 };
	struct fixture *f = fixture_open_opts(REGION, &o);
	struct ddvm_net_stats st;
	struct pump p;

	pump(f, 5000, &p);
	assert_int_equal(p.received, 5000);
	ddvm_net_get_stats(f->net, &st);
	/*
	 * Every batch that queued anything rings (plus a bell when we free RX
	 * room the server waits for): still one per batch, not per frame.
	 */
	assert_true(st.doorbells >= 5000 / BATCH);
	assert_true(st.doorbells <= 2 * p.send_calls);
	fixture_close(f);
}

static void test_full_ring_takes_part_of_a_batch(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *txb = malloc(300 * DDVM_NET_BUF_SIZE), *rxb = malloc(256 * DDVM_NET_BUF_SIZE);
	struct iovec iov[300], riov[256];
	struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };
	struct ddvm_net_stats st;
	int i, n, r;

	f->srv.ctl->paused = 1;
	for (i = 0; i < 300; i++) {
		iov[i].iov_base = txb + (size_t)i * DDVM_NET_BUF_SIZE;
		iov[i].iov_len = make_frame(iov[i].iov_base, (uint64_t)i, f->mac);
	}
	n = ddvm_net_send(f->net, iov, 300);
	assert_int_equal(n, 256);
	assert_int_equal(ddvm_net_send(f->net, iov + 256, 44), 0);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.tx_full, 2);
	assert_int_equal(st.tx_frames, 256);
	/* no room: arm for it, and the server's progress wakes us */
	assert_int_equal(ddvm_net_arm(f->net, DDVM_NET_WANT_TX), 0);
	f->srv.ctl->paused = 0;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	r = ddvm_net_arm(f->net, DDVM_NET_WANT_TX | DDVM_NET_WANT_RX);
	assert_true(r & DDVM_NET_WANT_TX);
	n = recv_for(f, riov, rxb, 256, 2000);
	assert_int_equal(n, 256);
	for (i = 0; i < n; i++)
		assert_int_equal(check_echo(riov[i].iov_base, (uint32_t)riov[i].iov_len, f->mac),
				 (uint64_t)i);
	assert_int_equal(ddvm_net_send(f->net, iov + 256, 44), 44);
	n = recv_for(f, riov, rxb, 44, 2000);
	assert_int_equal(n, 44);
	assert_int_equal(check_echo(riov[43].iov_base, (uint32_t)riov[43].iov_len, f->mac), 299);
	free(txb);
	free(rxb);
	fixture_close(f);
}

static void test_malformed_frames_are_refused(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t buf[2 * DDVM_NET_BUF_SIZE];
	struct iovec iov[2];

	make_frame(buf, 1, f->mac);
	iov[0] = (struct iovec){ buf, 13 };
	assert_int_equal(ddvm_net_send(f->net, iov, 1), -EINVAL);
	iov[0].iov_len = 1519;
	assert_int_equal(ddvm_net_send(f->net, iov, 1), -EMSGSIZE);
	iov[0].iov_len = 1518;	/* MTU + header + a VLAN tag fits */
	iov[1] = (struct iovec){ buf, 3000 };
	assert_int_equal(ddvm_net_send(f->net, iov, 2), 1);	/* stops before the bad one */
	assert_int_equal(ddvm_net_send(f->net, iov + 1, 1), -EMSGSIZE);
	assert_int_equal(ddvm_net_send(f->net, iov, 0), 0);
	fixture_close(f);
}

static void test_arm_and_fd_wake_up(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t frame[DDVM_NET_BUF_SIZE], in[DDVM_NET_BUF_SIZE];
	struct iovec iov = { frame, 0 }, riov = { in, sizeof(in) };
	struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };

	usleep(30 * 1000);	/* let the handshake's bells land */
	assert_int_equal(ddvm_net_arm(f->net, DDVM_NET_WANT_RX), 0);
	assert_int_equal(poll(&pfd, 1, 50), 0);		/* nothing: sleep */
	iov.iov_len = make_frame(frame, 7, f->mac);
	assert_int_equal(ddvm_net_send(f->net, &iov, 1), 1);
	assert_int_equal(poll(&pfd, 1, 2000), 1);	/* the echo rings us */
	assert_int_equal(ddvm_net_arm(f->net, DDVM_NET_WANT_RX), DDVM_NET_WANT_RX);
	assert_int_equal(ddvm_net_recv(f->net, &riov, 1), 1);
	assert_int_equal(check_echo(in, (uint32_t)riov.iov_len, f->mac), 7);
	assert_int_equal(ddvm_net_arm(f->net, DDVM_NET_WANT_RX), 0);
	fixture_close(f);
}

static void test_hostile_descriptors_are_dropped(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *bufs = malloc(8 * DDVM_NET_BUF_SIZE);
	struct ddvm_net_stats st;
	struct iovec iov[8];
	struct pump p;
	int n;

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_BAD_DESC, 0, 2000), 0);
	n = recv_for(f, iov, bufs, 8, 300);
	assert_int_equal(n, 1);		/* only the sane broadcast frame after them */
	assert_int_equal(iov[0].iov_len, 60);
	assert_memory_equal(bufs, "\xff\xff\xff\xff\xff\xff", 6);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_bad, 4);
	assert_int_equal(st.ring_errors, 0);
	pump(f, 2000, &p);		/* and the channel carries on */
	assert_int_equal(p.received, 2000);
	free(bufs);
	fixture_close(f);
}

static void test_wild_index_gets_a_fresh_generation(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *bufs = malloc(8 * DDVM_NET_BUF_SIZE);
	struct ddvm_net_stats st;
	struct iovec iov[8];
	struct pump p;

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_WILD_INDEX, 0, 2000), 0);
	/* nothing is taken from a ring whose producer claims 100000 entries */
	assert_int_equal(recv_for(f, iov, bufs, 8, 300), 0);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.ring_errors, 1);
	pump(f, 2000, &p);		/* the reset we asked for brings a new generation */
	assert_int_equal(p.received, 2000);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.generations, 2);
	assert_int_equal(st.ring_errors, 1);
	free(bufs);
	fixture_close(f);
}

static void test_restart_mid_stream(void **state)
{
	struct fixture *f = fixture_open();
	struct ddvm_net_stats st;
	uint32_t tx, rx;
	struct pump p;

	f->srv.ctl->restart_after = 20000;
	pump(f, 60000, &p);
	ddvm_net_get_stats(f->net, &st);
	ddvm_net_ring_sizes(f->net, &tx, &rx);
	print_message("restart lost %llu of 60000 frames\n", (unsigned long long)p.lost);
	assert_int_equal(st.generations, 2);
	assert_int_equal(f->srv.ctl->generation, 2);
	assert_int_equal(p.next, 60000);	/* traffic flowed to the end */
	assert_true(p.lost <= tx + rx + BATCH);	/* no more than the rings held */
	assert_int_equal(p.received + p.lost, 60000);
	fixture_close(f);
}

static void test_absent_server_queues_nothing(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t frame[DDVM_NET_BUF_SIZE];
	struct iovec iov = { frame, 0 };
	struct ddvm_net_stats st;
	int64_t end;
	struct pump p;

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_STOP, 0, 2000), 0);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_ABSENT);
	iov.iov_len = make_frame(frame, 0, f->mac);
	assert_int_equal(ddvm_net_send(f->net, &iov, 1), 0);
	iov.iov_len = DDVM_NET_BUF_SIZE;
	assert_int_equal(ddvm_net_recv(f->net, &iov, 1), 0);
	assert_int_equal(ddvm_net_arm(f->net, DDVM_NET_WANT_RX | DDVM_NET_WANT_TX), 0);

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_START, 0, 2000), 0);
	end = ddvm_now_ms() + 2000;
	while (ddvm_net_link(f->net) != DDVM_NET_LINK_UP && ddvm_now_ms() < end)
		usleep(1000);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
	pump(f, 3000, &p);		/* same handle, no reopen */
	assert_int_equal(p.received, 3000);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.generations, 2);
	fixture_close(f);
}

static void test_link_state_follows_carrier(void **state)
{
	struct fixture *f = fixture_open();

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_LINK, 0, 2000), 0);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_NO_CARRIER);
	assert_int_equal(ddvm_net_info(f->net)->link_up, 0);
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_LINK, 1, 2000), 0);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
	fixture_close(f);
}

/*
 * The DD/OS decides who gets what; the client must not second-guess it:
 * broadcast, multicast and even a unicast frame for another address (which
 * an honest DD/OS never sends us) reach the caller unchanged.
 */
static void test_client_does_not_filter(void **state)
{
	static const uint8_t dst[3][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
		{ 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 },
	};
	struct fixture *f = fixture_open();
	uint8_t *bufs = malloc(4 * DDVM_NET_BUF_SIZE);
	struct fake_net_ctl *ctl = f->srv.ctl;
	struct iovec iov[4];
	int i;

	for (i = 0; i < 3; i++) {
		memcpy(ctl->inject[i].data, dst[i], 6);
		memcpy(ctl->inject[i].data + 6, peer_mac, 6);
		memset(ctl->inject[i].data + 12, 0x40 + i, 60 - 12);
		ctl->inject[i].len = 60 + i;
	}
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_INJECT, 3, 2000), 0);
	assert_int_equal(recv_for(f, iov, bufs, 3, 2000), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(iov[i].iov_len, 60 + i);
		assert_memory_equal(iov[i].iov_base, ctl->inject[i].data, 60);
	}
	free(bufs);
	fixture_close(f);
}

static void test_small_caller_buffer_drops_the_frame(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t frame[DDVM_NET_BUF_SIZE], small[100];
	struct iovec iov = { frame, 0 }, riov = { small, sizeof(small) };
	struct ddvm_net_stats st;
	int64_t end = ddvm_now_ms() + 2000;

	iov.iov_len = make_frame(frame, 3, f->mac);	/* 1080 bytes */
	assert_true(iov.iov_len > sizeof(small));
	assert_int_equal(ddvm_net_send(f->net, &iov, 1), 1);
	do {
		assert_int_equal(ddvm_net_recv(f->net, &riov, 1), 0);
		ddvm_net_get_stats(f->net, &st);
	} while (!st.rx_too_long && ddvm_now_ms() < end);
	assert_int_equal(st.rx_too_long, 1);
	assert_int_equal(riov.iov_len, sizeof(small));	/* untouched */
	fixture_close(f);
}

/* ------------------------------------------------------------- offloads */

#define OFF_BUF		DDVM_NET_HDR_BUF_SIZE
#define MSS		1448
#define L4_OFF		34		/* Ethernet, IPv4 without options */
#define HDRS		(L4_OFF + 20)	/* and TCP without options */

/* Wait until the channel carries offloads (or not), driving the library as a caller would. */
static void wait_offload(struct fixture *f, bool on)
{
	int64_t end = ddvm_now_ms() + 3000;

	while ((ddvm_net_offload(f->net) != on || ddvm_net_link(f->net) != DDVM_NET_LINK_UP) &&
	       ddvm_now_ms() < end) {
		struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };

		if (!ddvm_net_arm(f->net, DDVM_NET_WANT_RX))
			poll(&pfd, 1, DDVM_NET_RETRY_MS);
	}
	assert_int_equal(ddvm_net_offload(f->net), on);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
}

/*
 * Frame @seq with its offload header into @buf: IPv4 and TCP headers from
 * @src, the seq in the first payload bytes, then bytes that are a function
 * of seq.  By seq: a TCP GSO frame of up to 64000 bytes of payload, a
 * plain frame with a zero header, a frame with a partial checksum.
 * Return: header and frame bytes.
 */
static uint32_t make_off_frame(uint8_t *buf, uint64_t seq, const uint8_t *src)
{
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)buf;
	uint8_t *f = buf + sizeof(*h);
	uint64_t st = seq * 0x9e3779b97f4a7c15ull + 7, v;
	uint32_t payload, len, i;

	memset(buf, 0, sizeof(*h) + HDRS);
	payload = seq % 3 == 0 ? 8 + (uint32_t)(ddvm_rand_next(&st) % 64000) :
				 8 + (uint32_t)(ddvm_rand_next(&st) % (1514 - HDRS - 8));
	len = HDRS + payload;
	memcpy(f, peer_mac, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 6] = 0x40;		/* DF */
	f[14 + 9] = 6;			/* TCP */
	f[L4_OFF + 12] = 5 << 4;
	memcpy(f + HDRS, &seq, 8);
	for (i = HDRS + 8; i < len; i += 8) {
		v = ddvm_rand_next(&st);
		memcpy(f + i, &v, len - i < 8 ? len - i : 8);
	}
	if (seq % 3 != 1) {
		h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = L4_OFF;
		h->csum_offset = 16;
	}
	if (seq % 3 == 0 && payload > MSS) {
		h->gso_type = DDVM_NET_GSO_TCPV4;
		h->gso_size = MSS;
		h->hdr_len = HDRS;
	}
	return (uint32_t)sizeof(*h) + len;
}

/* Is @got (@len bytes) the echo of frame @seq, header and all?  Returns seq. */
static uint64_t check_off_echo(struct fixture *f, const uint8_t *got, uint32_t len, uint8_t *want)
{
	uint64_t seq;

	assert_true(len >= sizeof(struct ddvm_net_hdr) + HDRS + 8);
	memcpy(&seq, got + sizeof(struct ddvm_net_hdr) + HDRS, 8);
	assert_int_equal(len, make_off_frame(want, seq, f->mac));
	/* the echo swaps the addresses */
	memcpy(want + sizeof(struct ddvm_net_hdr) + 6, peer_mac, 6);
	memcpy(want + sizeof(struct ddvm_net_hdr), f->mac, 6);
	assert_memory_equal(got, want, len);
	return seq;
}

/* Send @total offloaded frames and take their echoes; return the GSO frames among them. */
static uint64_t pump_offload(struct fixture *f, uint64_t total)
{
	enum { OB = 16 };
	uint8_t *txb = malloc((size_t)OB * OFF_BUF), *rxb = malloc((size_t)OB * OFF_BUF);
	uint8_t *want = malloc(OFF_BUF);
	uint64_t sent = 0, next = 0, gso = 0;
	int64_t stuck_since = ddvm_now_ms();
	struct iovec iov[OB];
	int n, k, i;

	assert_true(txb && rxb && want);
	while (next < total) {
		bool progress = false;

		k = total - sent < OB ? (int)(total - sent) : OB;
		for (i = 0; i < k; i++) {
			iov[i].iov_base = txb + (size_t)i * OFF_BUF;
			iov[i].iov_len = make_off_frame(iov[i].iov_base, sent + i, f->mac);
		}
		n = k ? ddvm_net_send_hdr(f->net, iov, k) : 0;
		assert_true(n >= 0 && n <= k);
		sent += (uint64_t)n;
		progress = n > 0;
		for (i = 0; i < OB; i++)
			iov[i] = (struct iovec){ rxb + (size_t)i * OFF_BUF, OFF_BUF };
		n = ddvm_net_recv_hdr(f->net, iov, OB);
		assert_true(n >= 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(check_off_echo(f, iov[i].iov_base, (uint32_t)iov[i].iov_len,
							want), next);
			gso += ((struct ddvm_net_hdr *)iov[i].iov_base)->gso_type != 0;
			next++;
		}
		if (progress || n) {
			stuck_since = ddvm_now_ms();
			continue;
		}
		if (ddvm_now_ms() - stuck_since > 10000)
			fail_msg("stuck: sent %llu, next %llu of %llu", (unsigned long long)sent,
				 (unsigned long long)next, (unsigned long long)total);
		if (!ddvm_net_arm(f->net, DDVM_NET_WANT_RX | (sent < total ? DDVM_NET_WANT_TX : 0))) {
			struct pollfd pfd = { .fd = ddvm_net_fd(f->net), .events = POLLIN };

			poll(&pfd, 1, 1000);
		}
	}
	free(txb);
	free(rxb);
	free(want);
	return gso;
}

/*
 * A client that asks for offloads gets them from a server that offers
 * them (a fresh generation), and 64 KiB frames, plain ones and partial
 * checksums cross both ways whole, over chains that wrap the rings.
 */
static void test_offload_round_trip(void **state)
{
	struct fixture *f = fixture_open();
	struct ddvm_net_stats st;
	uint64_t gso;

	assert_false(ddvm_net_offload(f->net));
	assert_int_equal(ddvm_net_set_offload(f->net, true), 0);
	wait_offload(f, true);
	assert_int_equal(f->srv.ctl->offload, 1);
	gso = pump_offload(f, 3000);
	ddvm_net_get_stats(f->net, &st);
	print_message("3000 frames, %llu of them GSO, %llu bytes\n", (unsigned long long)gso,
		      (unsigned long long)st.tx_bytes);
	assert_true(gso > 900);
	assert_int_equal(f->srv.ctl->tx_gso, gso);
	assert_int_equal(f->srv.ctl->tx_dropped, 0);
	assert_int_equal(st.generations, 2);	/* one reset to take the feature */
	assert_int_equal(st.rx_bad_hdr + st.rx_bad + st.ring_errors + st.rx_too_long, 0);
	/* and back to plain frames */
	assert_int_equal(ddvm_net_set_offload(f->net, false), 0);
	wait_offload(f, false);
	assert_int_equal(f->srv.ctl->offload, 0);
	fixture_close(f);
}

/* Headers the rules refuse are the caller's mistake; hdr_len is a hint the library corrects. */
static void test_offload_refused_frames(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *buf = malloc(OFF_BUF + 16);
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)buf;
	struct iovec iov = { buf, 0 };
	uint32_t len;

	assert_int_equal(ddvm_net_set_offload(f->net, true), 0);
	wait_offload(f, true);
	len = make_off_frame(buf, 3, f->mac);		/* GSO */
	assert_int_equal(h->gso_type, DDVM_NET_GSO_TCPV4);
	iov.iov_len = len;
	h->flags = 0;					/* GSO without NEEDS_CSUM */
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EINVAL);
	make_off_frame(buf, 3, f->mac);
	h->gso_size = 2000;				/* segments over the MTU */
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EINVAL);
	make_off_frame(buf, 3, f->mac);
	h->csum_start = 40;				/* not the TCP header */
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EINVAL);
	make_off_frame(buf, 4, f->mac);			/* plain */
	iov.iov_len = sizeof(*h) + 1519;
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EMSGSIZE);
	iov.iov_len = sizeof(*h) + 13;
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EINVAL);
	iov.iov_len = OFF_BUF + 1;
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), -EMSGSIZE);

	/* a tap's hdr_len says how much was linear: the server gets the headers' length */
	iov.iov_len = make_off_frame(buf, 3, f->mac);
	h->hdr_len = 1000;
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), 1);
	for (int i = 0; i < 200 && ddvm_load_acquire(&f->srv.ctl->last_tx_len) != len - sizeof(*h); i++)
		usleep(10000);
	assert_int_equal(f->srv.ctl->last_tx_len, len - sizeof(*h));
	assert_int_equal(f->srv.ctl->last_hdr.hdr_len, HDRS);
	assert_int_equal(f->srv.ctl->last_hdr.gso_size, MSS);
	free(buf);
	fixture_close(f);
}

/*
 * The Internet checksum over @len bytes is right if it sums to 0xffff.
 * Summed as little-endian words, unlike the library: the one's complement
 * sum does not care, so this is a second opinion.
 */
static bool csum_ok(const uint8_t *p, uint32_t len)
{
	uint32_t sum = 0, i;
	uint16_t w;

	for (i = 0; i < len; i += 2) {
		w = p[i];
		if (i + 1 < len)
			w |= (uint16_t)(p[i + 1] << 8);
		sum += w;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum == 0xffff;
}

/*
 * A server without the feature: asking for it changes nothing, GSO frames
 * are dropped and counted, partial checksums are finished in the library,
 * and frames come back behind zero headers.
 */
static void test_offload_not_offered(void **state)
{
	struct fake_net_opts o = { .no_offload = 1 };
	struct fixture *f = fixture_open_opts(REGION, &o);
	uint8_t *buf = malloc(OFF_BUF), *in = malloc(OFF_BUF);
	struct iovec iov = { buf, 0 }, riov;
	struct ddvm_net_stats st;
	uint32_t len;

	assert_int_equal(ddvm_net_set_offload(f->net, true), 0);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
	assert_false(ddvm_net_offload(f->net));
	iov.iov_len = make_off_frame(buf, 0, f->mac);	/* GSO */
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), 1);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.tx_offload_dropped, 1);
	assert_int_equal(st.tx_frames, 0);

	len = make_off_frame(buf, 2, f->mac);		/* a partial checksum */
	iov.iov_len = len;
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), 1);
	riov = (struct iovec){ in, OFF_BUF };
	for (int i = 0; i < 200 && ddvm_net_recv_hdr(f->net, &riov, 1) == 0; i++) {
		riov.iov_len = OFF_BUF;
		usleep(10000);
	}
	assert_int_equal(riov.iov_len, len);
	assert_memory_equal(in, "\0\0\0\0\0\0\0\0\0\0\0\0", sizeof(struct ddvm_net_hdr));
	assert_true(csum_ok(in + sizeof(struct ddvm_net_hdr) + L4_OFF,
			    len - (uint32_t)sizeof(struct ddvm_net_hdr) - L4_OFF));
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.generations, 1);		/* nothing to reset for */
	free(buf);
	free(in);
	fixture_close(f);
}

/* Offloads through the plain calls: plain frames pass, GSO ones are dropped and counted. */
static void test_offload_plain_calls(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *buf = malloc(OFF_BUF), *in = malloc(OFF_BUF);
	struct iovec iov = { buf, 0 }, riov;
	struct ddvm_net_stats st;
	uint32_t len;
	int n = 0;

	assert_int_equal(ddvm_net_set_offload(f->net, true), 0);
	wait_offload(f, true);
	iov.iov_len = make_frame(buf, 5, f->mac);
	assert_int_equal(ddvm_net_send(f->net, &iov, 1), 1);
	len = make_off_frame(buf + DDVM_NET_BUF_SIZE, 0, f->mac);	/* GSO */
	iov = (struct iovec){ buf + DDVM_NET_BUF_SIZE, len };
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), 1);
	len = make_off_frame(buf + DDVM_NET_BUF_SIZE, 2, f->mac);	/* a partial checksum */
	iov = (struct iovec){ buf + DDVM_NET_BUF_SIZE, len };
	assert_int_equal(ddvm_net_send_hdr(f->net, &iov, 1), 1);
	for (int i = 0; i < 200 && n < 2; i++) {
		riov = (struct iovec){ n ? in + DDVM_NET_BUF_SIZE : in, DDVM_NET_BUF_SIZE };
		n += ddvm_net_recv(f->net, &riov, 1);
		if (n == 1 && riov.iov_base == in)
			assert_int_equal(check_echo(in, (uint32_t)riov.iov_len, f->mac), 5);
		usleep(5000);
	}
	assert_int_equal(n, 2);
	/* the checksummed one, without its header and with its checksum done */
	assert_int_equal(riov.iov_len, len - sizeof(struct ddvm_net_hdr));
	assert_true(csum_ok(in + DDVM_NET_BUF_SIZE + L4_OFF, (uint32_t)riov.iov_len - L4_OFF));
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_gso_dropped, 1);
	free(buf);
	free(in);
	fixture_close(f);
}

/* A server's chains that break the rules are dropped and counted; a cut one resets. */
static void test_offload_hostile_chains(void **state)
{
	struct fixture *f = fixture_open();
	uint8_t *bufs = malloc(8 * (size_t)OFF_BUF);
	struct ddvm_net_stats st;
	struct iovec iov[8];
	int n = 0;

	assert_int_equal(ddvm_net_set_offload(f->net, true), 0);
	wait_offload(f, true);
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_BAD_CHAINS, 0, 2000), 0);
	for (int i = 0; i < 100 && !n; i++) {
		for (int k = 0; k < 8; k++)
			iov[k] = (struct iovec){ bufs + (size_t)k * OFF_BUF, OFF_BUF };
		n = ddvm_net_recv_hdr(f->net, iov, 8);
		usleep(5000);
	}
	assert_int_equal(n, 1);		/* only the sane broadcast after them */
	assert_int_equal(iov[0].iov_len, sizeof(struct ddvm_net_hdr) + 60);
	assert_memory_equal(bufs + sizeof(struct ddvm_net_hdr), "\xff\xff\xff\xff\xff\xff", 6);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.rx_bad_hdr, 5);
	assert_int_equal(st.ring_errors, 0);

	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_CUT_CHAIN, 0, 2000), 0);
	for (int i = 0; i < 100 && !st.ring_errors; i++) {
		iov[0] = (struct iovec){ bufs, OFF_BUF };
		assert_int_equal(ddvm_net_recv_hdr(f->net, iov, 1), 0);
		ddvm_net_get_stats(f->net, &st);
		usleep(5000);
	}
	assert_int_equal(st.ring_errors, 1);
	wait_offload(f, true);		/* the fresh generation has the feature again */
	assert_true(pump_offload(f, 300) > 90);
	free(bufs);
	fixture_close(f);
}

/* Rings too short for a chain cannot take offloads. */
static void test_offload_needs_room(void **state)
{
	struct fixture *f = fixture_open_opts(128ull << 10, NULL);	/* 16 + 16 entries */

	assert_int_equal(ddvm_net_set_offload(f->net, true), -ENOSPC);
	assert_false(ddvm_net_offload(f->net));
	fixture_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_and_rings),
		cmocka_unit_test(test_jumbo_mtu_is_capped_by_the_buffer),
		cmocka_unit_test(test_region_too_small),
		cmocka_unit_test(test_bad_server_info_is_refused),
		cmocka_unit_test(test_100k_frames_round_trip),
		cmocka_unit_test(test_batching_saves_doorbells),
		cmocka_unit_test(test_without_event_idx_every_batch_rings),
		cmocka_unit_test(test_full_ring_takes_part_of_a_batch),
		cmocka_unit_test(test_malformed_frames_are_refused),
		cmocka_unit_test(test_arm_and_fd_wake_up),
		cmocka_unit_test(test_hostile_descriptors_are_dropped),
		cmocka_unit_test(test_wild_index_gets_a_fresh_generation),
		cmocka_unit_test(test_restart_mid_stream),
		cmocka_unit_test(test_absent_server_queues_nothing),
		cmocka_unit_test(test_link_state_follows_carrier),
		cmocka_unit_test(test_client_does_not_filter),
		cmocka_unit_test(test_small_caller_buffer_drops_the_frame),
		cmocka_unit_test(test_offload_round_trip),
		cmocka_unit_test(test_offload_refused_frames),
		cmocka_unit_test(test_offload_not_offered),
		cmocka_unit_test(test_offload_plain_calls),
		cmocka_unit_test(test_offload_hostile_chains),
		cmocka_unit_test(test_offload_needs_room),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
