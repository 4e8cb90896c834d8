// SPDX-License-Identifier: GPL-2.0
/*
 * Net path end to end with real VMs under the real supervisor: for each NIC
 * model QEMU emulates, a DD/OS shares the NIC between two clients (TAP
 * adapters in namespaces of their own) and a "remote host" namespace on the
 * NIC's wire.  Clients ping the remote, move verified TCP streams both
 * ways, never see each other's unicast, all see broadcast; a hostile client
 * gets its spoofed and malformed frames dropped and counted while the
 * other keeps working; the DD/OS kernel log stays clean.  Needs root.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan_client.h"
#include "chan_peer.h"
#include "net_client.h"
#include "pattern.h"
#include "peer.h"
#include "vmtest_net.h"

#define OPEN_MS		20000
#define ETH_TEST	0x88b5		/* IEEE local experimental: nobody else's frames */
#define FWD_BYTES	(64ull << 20)	/* c0 -> remote */
#define REV_BYTES	(16ull << 20)	/* remote -> c0 */
#define BCAST_MARKER	"ddvm-bcast"
#define SPOOF_MARKER	"ddvm-spoof"
#define COUNTER_MS	5000		/* server counters are published every heartbeat */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct fixture {
	struct vmtest_net n;
	struct vmtest_sniffer sniff;
	int fds[4];			/* packet sockets, closed by the teardown */
	struct ddvm_net *net;		/* c1's channel, opened directly */
	struct ddvm_peer *peer;		/* c1's channel, raw */
	bool passed;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned int i;

	if (!f)
		return -1;
	if (geteuid() != 0) {
		print_error("test_net_vm needs root (ddvm up makes taps; namespaces); uid %u\n",
			    geteuid());
		free(f);
		return -1;
	}
	f->sniff.fd = -1;
	for (i = 0; i < 4; i++)
		f->fds[i] = -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned int i;

	vmtest_sniff_stop(&f->sniff);
	for (i = 0; i < 4; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	if (f->net)
		ddvm_net_close(f->net);
	if (f->peer)
		ddvm_peer_close(f->peer);
	/* a failed test keeps its run dir (console log, adapter logs) to look at */
	vmtest_net_cleanup(&f->n, f->passed);
	free(f);
	return 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void must_ping(struct vmtest_net *n, unsigned int i, const char *when)
{
	char out[2048];

	if (vmtest_ping(n->c[i].netns, n->remote_addr, 3, out, sizeof(out)))
		fail_msg("%s: %s cannot ping the remote %s %s:\n%s", n->model, n->c[i].chan,
			 n->remote_addr, when, out);
}

/* The line of `ddvm status` for channel @chan of the domain, in @line. */
static bool status_line(struct vmtest_net *n, const char *chan, char *line, size_t len)
{
	char start[32];
	const char *p;

	snprintf(start, sizeof(start), "\n%s.%s ", n->domain, chan);
	if (vmtest_ddvm(&n->vm, (const char *const[]){ "status", "--run-dir", n->vm.run_dir,
						       NULL }))
		return false;
	p = strstr(n->vm.log, start);
	if (!p)
		return false;
	snprintf(line, len, "%.*s", (int)strcspn(p + 1, "\n"), p + 1);
	return true;
}

/*
 * `ddvm status` tells the two clients apart: c0 took the channel's
 * offloads, c1 (--no-offload) did not.  The supervisor refreshes its
 * channel data every second, so a stale view gets a few chances.
 */
static void status_shows_offloads(struct vmtest_net *n)
{
	char l0[512] = "", l1[512] = "";
	bool ok = false;
	int k;

	for (k = 0; k < 50 && !ok; k++) {
		if (k)
			usleep(100000);
		ok = status_line(n, "c0", l0, sizeof(l0)) && status_line(n, "c1", l1, sizeof(l1)) &&
		     strstr(l0, "link up, offload, rx") && strstr(l1, "link up, rx");
	}
	if (!ok)
		fail_msg("%s: ddvm status should show c0 with offloads and c1 without:\n%s\n%s\n%s",
			 n->model, l0, l1, n->vm.log);
}

static void must_transfer(struct vmtest_net *n, const char *from_ns, const char *to_ns,
			  const char *to_addr, uint64_t bytes, uint64_t seed, const char *what)
{
	uint64_t csum_from = 0, csum_to = 0;
	struct vmtest_xfer x;

	if (vmtest_tcp_transfer(from_ns, to_ns, to_addr, bytes, seed, &x)) {
		/* the likeliest culprit when ping works and TCP does not */
		vmtest_tcp_csum_errors(from_ns, &csum_from);
		vmtest_tcp_csum_errors(to_ns, &csum_to);
		fail_msg("%s: TCP %s: sent %llu of %llu bytes, %llu arrived, first wrong byte at "
			 "%lld; %s; TCP segments with bad checksums: %llu at the sender, %llu at "
			 "the receiver", n->model, what, (unsigned long long)x.sent,
			 (unsigned long long)bytes, (unsigned long long)x.received,
			 x.first_bad == UINT64_MAX ? -1LL : (long long)x.first_bad,
			 x.why[0] ? x.why : "no socket error", (unsigned long long)csum_from,
			 (unsigned long long)csum_to);
	}
	print_message("  %s: %llu MiB %s in %.2f s (%.0f Mbit/s)\n", n->model,
		      (unsigned long long)(bytes >> 20), what, (double)x.ms / 1000.0,
		      x.ms ? (double)bytes * 8 / 1000.0 / (double)x.ms : 0.0);
}

/* Frames of ETH_TEST on @fd whose payload starts with @marker, within @ms. */
static unsigned int count_markers(int fd, const char *marker, int ms, bool stop_at_first)
{
	struct timespec t0;
	uint8_t frame[2048];
	unsigned int found = 0;
	ssize_t r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since(&t0) * 1000 < ms) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 50) <= 0)
			continue;
		r = recv(fd, frame, sizeof(frame), MSG_DONTWAIT);
		if (r < 0)
			continue;
		if (r < 14 + (ssize_t)strlen(marker) || ((frame[12] << 8) | frame[13]) != ETH_TEST ||
		    memcmp(frame + 14, marker, strlen(marker)))
			continue;
		found++;
		if (stop_at_first)
			break;
	}
	return found;
}

static void drain(int fd)
{
	uint8_t frame[2048];

	while (recv(fd, frame, sizeof(frame), MSG_DONTWAIT) >= 0)
		;
}

/* ------------------------------------------------------------ garbage */

struct garbage {
	unsigned int sent, spoofed, good;
};

/* An ethertype no stack in the namespaces acts on: garbage stays garbage. */
static uint16_t junk_type(uint64_t r)
{
	uint16_t t = (uint16_t)r;

	return t == 0x0800 || t == 0x0806 || t == 0x86dd || t == 0x8100 || t == 0x88a8 ? 0x88b6 : t;
}

/* Queue @nr frames, waiting for ring room as a well-behaved client would. */
static void send_frames(struct ddvm_net *net, struct iovec *iov, int nr)
{
	struct timespec t0;
	int done = 0, ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < nr) {
		ret = ddvm_net_send(net, iov + done, nr - done);
		if (ret < 0)
			fail_msg("ddvm_net_send refused frame %d (%zu bytes): %d", done,
				 iov[done].iov_len, ret);
		done += ret;
		if (done < nr && !ret) {
			struct pollfd p = { .fd = ddvm_net_fd(net), .events = POLLIN };

			if (since(&t0) > 10)
				fail_msg("TX ring stayed full for 10 s (%d of %d frames queued)", done, nr);
			if (ddvm_net_arm(net, DDVM_NET_WANT_TX) == 0)
				poll(&p, 1, DDVM_NET_RETRY_MS);
		}
	}
}

/*
 * Through the library: random bytes with foreign source addresses, frames
 * claiming to come from c0 or from the remote (with a marker, so a leak
 * shows), and frames from c1's own address that are merely odd: 14-byte
 * bare headers, random payloads and destinations.  The DD/OS must drop and
 * count exactly the spoofed ones and send the rest.
 */
static void garbage_frames(struct vmtest_net *n, struct ddvm_net *net, struct garbage *g)
{
	enum { NR = 600 };
	const uint8_t *own = n->c[1].mac;
	uint32_t max = ddvm_net_max_frame(net);
	uint64_t rng = 0x6a5b;
	struct iovec iov[NR];
	uint8_t *bufs = calloc(NR, DDVM_NET_BUF_SIZE);
	unsigned int i, k;

	assert_non_null(bufs);
	memset(g, 0, sizeof(*g));
	for (i = 0; i < NR; i++) {
		uint8_t *f = bufs + (size_t)i * DDVM_NET_BUF_SIZE;
		uint64_t kind = ddvm_rand_next(&rng) % 5;
		size_t len = 14 + ddvm_rand_next(&rng) % (max - 13);
		uint16_t type;

		for (k = 0; k < len; k++)
			f[k] = (uint8_t)ddvm_rand_next(&rng);
		switch (kind) {
		case 0:		/* random bytes: the source is someone else's */
			if (!memcmp(f + 6, own, 6))
				f[11] ^= 1;
			g->spoofed++;
			break;
		case 1:		/* c0's source to everyone */
		case 2:		/* the remote's source to c0 */
			len = 60;
			memcpy(f, kind == 1 ? bcast : n->c[0].mac, 6);
			memcpy(f + 6, kind == 1 ? n->c[0].mac : n->remote_mac, 6);
			f[12] = ETH_TEST >> 8;
			f[13] = ETH_TEST & 0xff;
			memcpy(f + 14, SPOOF_MARKER, strlen(SPOOF_MARKER));
			g->spoofed++;
			break;
		case 3:		/* a bare header: the least a frame may be */
			len = 14;
			/* fall through */
		default:	/* our own source, anything after it */
			/* not c0's address: a frame switched to c0 is not counted as sent */
			if (!memcmp(f, n->c[0].mac, 6))
				f[5] ^= 1;
			memcpy(f + 6, own, 6);
			type = junk_type(ddvm_rand_next(&rng));
			f[12] = (uint8_t)(type >> 8);
			f[13] = (uint8_t)type;
			g->good++;
			break;
		}
		iov[i] = (struct iovec){ .iov_base = f, .iov_len = len };
	}
	for (i = 0; i < NR; i += 32)
		send_frames(net, iov + i, NR - i < 32 ? (int)(NR - i) : 32);
	g->sent = NR;
	free(bufs);
}

/* Where c1's server counters are read: through the library, or a raw server block. */
struct counters_src {
	struct ddvm_net *net;
	const struct ddvm_net_info *live;
};

static void read_counters(const struct counters_src *src, uint64_t *tx, uint64_t *drop)
{
	struct ddvm_net_srv_counters c;

	if (src->net) {
		ddvm_net_server_counters(src->net, &c);
		*tx = c.tx_frames;
		*drop = c.tx_dropped;
	} else {
		*tx = ddvm_load_once(&src->live->tx_frames);
		*drop = ddvm_load_once(&src->live->tx_dropped);
	}
}

/*
 * Wait until the counters moved past @tx0 and @drop0 by at least @want_tx
 * sent and @want_drop dropped; *@tx and *@drop get how far they moved.
 */
static void wait_counters(const struct counters_src *src, uint64_t tx0, uint64_t drop0,
			  uint64_t want_tx, uint64_t want_drop, uint64_t *tx, uint64_t *drop)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		read_counters(src, tx, drop);
		if (*tx - tx0 >= want_tx && *drop - drop0 >= want_drop)
			break;
		usleep(20000);
	} while (since(&t0) * 1000 < COUNTER_MS);
	/* two more heartbeats: a count that goes past the expected one shows too */
	usleep(2 * DDVM_HEARTBEAT_MS * 1000);
	read_counters(src, tx, drop);
	*tx -= tx0;
	*drop -= drop0;
}

/* Post one raw TX descriptor of @len over a frame from @mac. */
static void raw_post(struct ddvm_chan_client *c, const uint8_t mac[6], uint32_t len)
{
	struct ddvm_ring *tx = &c->rings[DDVM_NET_RING_TX];
	uint32_t idx = tx->local & tx->mask;
	uint8_t *buf = (uint8_t *)c->t.region + c->data_off + (uint64_t)idx * DDVM_NET_BUF_SIZE;
	struct ddvm_net_desc d = { .len = (uint16_t)len };

	assert_true(ddvm_ring_free(tx) > 0);
	memset(buf, 0x5a, DDVM_NET_BUF_SIZE);
	memcpy(buf, bcast, 6);
	memcpy(buf + 6, mac, 6);
	buf[12] = ETH_TEST >> 8;
	buf[13] = ETH_TEST & 0xff;
	memcpy(ddvm_ring_next(tx), &d, sizeof(d));
	tx->local++;
}

/*
 * Past the library: descriptors whose lengths no frame may have (too short,
 * beyond the NIC's MTU, beyond a buffer, beyond anything) are dropped and
 * counted, a good frame after them still goes out, and a wild producer
 * index makes the DD/OS drop the generation, not crash.
 */
static void raw_garbage(struct fixture *f)
{
	static const struct ddvm_ring_want want[DDVM_NET_NR_RINGS] = {
		{ 64, sizeof(struct ddvm_net_desc) }, { 64, sizeof(struct ddvm_net_desc) },
	};
	struct vmtest_net *n = &f->n;
	struct ddvm_chan_transport tr;
	struct ddvm_err err = { "" };
	struct ddvm_chan_client c;
	struct counters_src src = { NULL };
	uint64_t tx0, drop0, tx, drop;
	uint32_t max, lens[8], old, gen;
	char sock[192];
	unsigned int i;

	vmtest_net_sock(n, 1, sock, sizeof(sock));
	if (ddvm_chan_peer_open(sock, &f->peer, &tr, &err))
		fail_msg("raw open of %s: %s", sock, err.msg);
	ddvm_chan_client_init(&c, &tr, DDVM_CHAN_NET);
	if (ddvm_chan_client_connect(&c, want, DDVM_NET_NR_RINGS, OPEN_MS, &err))
		fail_msg("raw connect: %s", err.msg);
	src.live = &c.srv->net;
	max = c.srv_copy.net.mtu + DDVM_NET_FRAME_OVERHEAD;
	lens[0] = 0;
	lens[1] = 1;
	lens[2] = DDVM_NET_MIN_FRAME - 1;
	lens[3] = max + 1;
	lens[4] = DDVM_NET_BUF_SIZE;
	lens[5] = DDVM_NET_BUF_SIZE + 1;
	lens[6] = 4096;
	lens[7] = 65535;
	read_counters(&src, &tx0, &drop0);

	old = c.rings[DDVM_NET_RING_TX].local;
	for (i = 0; i < 8; i++)
		raw_post(&c, n->c[1].mac, lens[i]);
	raw_post(&c, n->c[1].mac, 60);		/* and one good frame */
	ddvm_ring_publish(&c.rings[DDVM_NET_RING_TX], old);
	ddvm_chan_client_notify(&c);
	wait_counters(&src, tx0, drop0, 1, 8, &tx, &drop);
	if (drop != 8 || tx != 1)
		fail_msg("%s: 8 malformed descriptors and 1 good frame: the DD/OS counted %llu "
			 "dropped, %llu sent", n->model, (unsigned long long)drop,
			 (unsigned long long)tx);

	gen = ddvm_load_acquire(&c.srv->generation);
	ddvm_store_release(&c.rings[DDVM_NET_RING_TX].ctl->prod,
			   c.rings[DDVM_NET_RING_TX].local + 100000);
	ddvm_chan_client_notify(&c);
	for (i = 0; i < 250 && ddvm_load_acquire(&c.srv->generation) == gen; i++)
		ddvm_chan_client_wait(&c, 20);
	if (ddvm_load_acquire(&c.srv->generation) == gen)
		fail_msg("%s: a TX producer index 100000 ahead: no reset in 5 s (state %u)",
			 n->model, ddvm_load_acquire(&c.srv->state));
	assert_int_equal(ddvm_load_once(&c.srv->error), DDVM_ERR_RING);
	ddvm_peer_close(f->peer);
	f->peer = NULL;
}

/* --------------------------------------------------------------- test */

static void run_model(void **state, const char *model, const char *driver, unsigned int subnet,
		      char tag)
{
	struct fixture *f = *state;
	struct vmtest_net *n = &f->n;
	struct counters_src src = { NULL };
	const struct ddvm_net_info *info;
	struct ddvm_err err = { "" };
	uint64_t tx0, drop0, tx, drop;
	struct garbage g;
	struct timespec t0;
	uint8_t frame[64] = { 0 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	char sock[192], line[512], marker[48];
	int rfd, cfd[2], ret;
	unsigned int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (vmtest_net_up(n, model, subnet, tag, 2))
		fail_msg("%s", n->why);
	/* c0 takes the channel's offloads, c1 declines them: both kinds of client on one NIC */
	n->c[1].plain = true;
	for (i = 0; i < 2; i++)
		if (vmtest_net_client_start(n, i))
			fail_msg("%s: client %u: %s", model, i, n->why);
	print_message("  %s: DD/OS and 2 clients up in %.1f s\n", model, since(&t0));

	/* 1. both clients reach the remote host through the one NIC */
	for (i = 0; i < 2; i++)
		must_ping(n, i, "");
	status_shows_offloads(n);

	/* 3. c1 listens promiscuously while c0's streams pass through the same NIC */
	ret = vmtest_sniff_start(&f->sniff, n->c[1].netns, n->c[1].ifname, n->c[1].mac,
				 n->c[0].mac, ETH_TEST, BCAST_MARKER);
	if (ret)
		fail_msg("sniffer on %s: %s", n->c[1].ifname, strerror(-ret));

	/* 2. verified streams both ways; the reverse one is unicast to c0 all along */
	must_transfer(n, n->c[0].netns, n->remote_ns, n->remote_addr, FWD_BYTES, 0xc0, "c0 -> remote");
	must_transfer(n, n->remote_ns, n->c[0].netns, n->c[0].addr, REV_BYTES, 0x7e, "remote -> c0");

	/* 4. a broadcast from the remote reaches both clients */
	rfd = f->fds[0] = vmtest_packet_socket(n->remote_ns, n->remote_if, ETH_TEST, &to.sll_ifindex);
	for (i = 0; i < 2; i++)
		cfd[i] = f->fds[1 + i] = vmtest_packet_socket(n->c[i].netns, n->c[i].ifname, ETH_TEST,
							       NULL);
	if (rfd < 0 || cfd[0] < 0 || cfd[1] < 0)
		fail_msg("packet sockets: %d %d %d", rfd, cfd[0], cfd[1]);
	snprintf(marker, sizeof(marker), BCAST_MARKER " %s %d", model, (int)getpid());
	memcpy(frame, bcast, 6);
	memcpy(frame + 6, n->remote_mac, 6);
	frame[12] = ETH_TEST >> 8;
	frame[13] = ETH_TEST & 0xff;
	memcpy(frame + 14, marker, strlen(marker));
	memcpy(to.sll_addr, bcast, 6);
	assert_int_equal(sendto(rfd, frame, sizeof(frame), 0, (struct sockaddr *)&to, sizeof(to)),
			 sizeof(frame));
	for (i = 0; i < 2; i++)
		if (count_markers(cfd[i], marker, 3000, true) != 1)
			fail_msg("%s: a broadcast from the remote did not reach %s within 3 s", model,
				 n->c[i].chan);
	usleep(200000);		/* the sniffer's copy of it */
	ret = vmtest_sniff_stop(&f->sniff);
	if (ret)
		fail_msg("sniffer on %s: %s (it must see every frame to prove none was c0's)",
			 n->c[1].ifname, strerror(-ret));
	print_message("  %s: c1 saw %llu frames during c0's streams, %llu for c0's MAC\n", model,
		      (unsigned long long)f->sniff.frames, (unsigned long long)f->sniff.to_watch);
	if (f->sniff.to_watch || f->sniff.foreign)
		fail_msg("%s: c1 received %llu unicast frames for c0 and %llu for others (%llu "
			 "frames seen)", model, (unsigned long long)f->sniff.to_watch,
			 (unsigned long long)(f->sniff.foreign - f->sniff.to_watch),
			 (unsigned long long)f->sniff.frames);
	/* the sniffer really was listening: it saw the broadcast */
	if (f->sniff.markers != 1)
		fail_msg("%s: c1's sniffer saw the broadcast %llu times", model,
			 (unsigned long long)f->sniff.markers);

	/* 5. c1 turns hostile: its adapter goes, garbage comes straight onto its channel */
	ret = vmtest_net_client_stop(n, 1);
	if (ret)
		fail_msg("%s: adapter c1 exited with %d on SIGTERM: %s", model, ret, n->why);
	if (ddvm_net_open(vmtest_net_sock(n, 1, sock, sizeof(sock)), OPEN_MS, &f->net, &err))
		fail_msg("%s: open c1: %s", model, err.msg);
	info = ddvm_net_info(f->net);
	if (strcmp(info->driver, driver))
		fail_msg("%s: the NIC is driven by '%s', expected %s", model, info->driver, driver);
	assert_memory_equal(info->mac, n->c[1].mac, 6);
	assert_int_equal(ddvm_net_link(f->net), DDVM_NET_LINK_UP);
	drain(cfd[0]);
	drain(rfd);
	usleep(2 * DDVM_HEARTBEAT_MS * 1000);	/* the counters as of now */
	src.net = f->net;
	read_counters(&src, &tx0, &drop0);
	garbage_frames(n, f->net, &g);
	wait_counters(&src, tx0, drop0, g.good, g.spoofed, &tx, &drop);
	print_message("  %s: c1 sent %u garbage frames: %llu sent on, %llu dropped\n", model,
		      g.sent, (unsigned long long)tx, (unsigned long long)drop);
	if (drop != g.spoofed || tx != g.good)
		fail_msg("%s: of %u frames from c1, %u spoofed and %u with its own address: the "
			 "DD/OS counted %llu dropped and %llu sent", model, g.sent, g.spoofed, g.good,
			 (unsigned long long)drop, (unsigned long long)tx);
	if (count_markers(cfd[0], SPOOF_MARKER, 300, false))
		fail_msg("%s: a frame c1 sent with a spoofed source reached c0", model);
	if (count_markers(rfd, SPOOF_MARKER, 100, false))
		fail_msg("%s: a frame c1 sent with a spoofed source reached the remote", model);
	ddvm_net_close(f->net);
	f->net = NULL;
	raw_garbage(f);

	/* c0 never noticed; c1 is served again as soon as it behaves */
	must_ping(n, 0, "after c1's garbage");
	if (vmtest_net_client_start(n, 1))
		fail_msg("%s: restarting c1's adapter: %s", model, n->why);
	must_ping(n, 1, "after its own garbage");

	/* 6. clean stops, a clean shutdown, a clean kernel log */
	for (i = 0; i < 2; i++) {
		ret = vmtest_net_client_stop(n, i);
		if (ret)
			fail_msg("%s: adapter %s exited with %d: %s", model, n->c[i].chan, ret, n->why);
	}
	if (vmtest_net_down(n, true))
		fail_msg("%s: %s", model, n->why);
	if (vmtest_scan_console_of(&n->vm, n->domain, line, sizeof(line)))
		fail_msg("%s: DD/OS kernel log (%s/%s/console.log): %s", model, n->vm.run_dir,
			 n->domain, line);
	print_message("  %s: done in %.1f s\n", model, since(&t0));
	f->passed = true;
}

static void test_e1000(void **state)
{
	run_model(state, "e1000", "e1000", 1, 'a');
}

static void test_e1000e(void **state)
{
	run_model(state, "e1000e", "e1000e", 2, 'b');
}

static void test_virtio_net(void **state)
{
	run_model(state, "virtio-net", "virtio_net", 3, 'c');
}

static void test_rtl8139(void **state)
{
	/* QEMU's RTL8139C+ is 8139cp's chip (8139too refuses it) */
	run_model(state, "rtl8139", "8139cp", 4, 'd');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_e1000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_e1000e, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_net, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtl8139, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
