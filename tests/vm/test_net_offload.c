// SPDX-License-Identifier: GPL-2.0
/*
 * Offloads across a net channel (DDVM_F_NET_OFFLOAD) with real VMs, for a
 * NIC with TSO done by QEMU (e1000) and one that passes GSO on (virtio-net):
 *  - c0 is `ddvm net tap`, which takes the feature: its interface has TSO
 *    on, and verified TCP streams cross both ways in 64 KiB frames;
 *  - c1 is an adapter without the feature (a plain tap on a thread of the
 *    test) on the same NIC: while c0 keeps the DD/OS's GRO on, what the
 *    remote sends c1 is cut back into frames for it, verified;
 *  - then c1 turns hostile with a raw client that takes the feature: bad
 *    checksum offsets, huge segment sizes, chains and headers that do not
 *    match are dropped and counted, good GSO frames (TCP, UDP) reach the
 *    remote as the right segments with the right bytes, a checksum left
 *    at an odd place is finished, a chain cut by the producer index resets
 *    the channel, and c0 never notices;
 *  - the DD/OS kernel log stays clean.
 * Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ddvm/check.h>

#include "chan_client.h"
#include "chan_peer.h"
#include "net_client.h"
#include "peer.h"
#include "tap.h"
#include "vmtest_net.h"

#define OPEN_MS		20000
#define COUNTER_MS	5000		/* server counters are published every heartbeat */
#define ETH_TEST	0x88b5
#define CSUM_MARKER	"ddvm-csum"
#define CSUM_SEED	0x1234		/* what the field holds before the sum is finished */
#define TCP_SPORT	40000
#define UDP_SPORT	40001
#define DPORT		9		/* discard: nobody listens, the remote answers RST */
#define TCP_PAYLOAD	20000u
#define UDP_PAYLOAD	8000u
#define UDP_SEG		1000u
#define MSS		1448u
#define SEQ0		1000u
#define RAW_ENTRIES	64		/* DDVM_NET_OFFLOAD_MIN_ENTRIES */

/* c1 without offloads: a tap adapter on a thread of ours, so its counters are at hand. */
struct plain_tap {
	struct ddvm_net *net;
	struct ddvm_tap *tap;
	pthread_t thread;
	bool running;
	int stop_fd;
	int ret;
	struct ddvm_tap_stats st;
	struct ddvm_err err;
};

/* c1 turned hostile: a raw client of its channel that took the feature. */
struct raw {
	struct ddvm_chan_client c;
	struct ddvm_cli_block layout;	/* ring sizes, for buffer offsets */
	uint8_t *data;
	uint32_t old;			/* TX index at the start of a batch */
};

struct fixture {
	struct vmtest_net n;
	struct plain_tap plain;
	struct ddvm_peer *peer;		/* the raw client's */
	int cap_fd;			/* packet socket on the remote's interface */
	bool passed;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (geteuid() != 0) {
		print_error("test_net_offload needs root (taps, namespaces); uid %u\n", geteuid());
		free(f);
		return -1;
	}
	f->plain.stop_fd = f->cap_fd = -1;
	*state = f;
	return 0;
}

static void plain_stop(struct plain_tap *p)
{
	uint64_t one = 1;

	if (p->running) {
		if (write(p->stop_fd, &one, sizeof(one)) != sizeof(one))
			print_error("cannot stop c1's adapter: %s\n", strerror(errno));
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	ddvm_tap_close(p->tap);
	p->tap = NULL;
	ddvm_net_close(p->net);
	p->net = NULL;
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	p->stop_fd = -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plain_stop(&f->plain);
	if (f->peer)
		ddvm_peer_close(f->peer);
	if (f->cap_fd >= 0)
		close(f->cap_fd);
	vmtest_net_cleanup(&f->n, f->passed);
	free(f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* -------------------------------------------------------------- helpers */

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd))
		fail_msg("'%s' failed", cmd);
}

/* Is TSO on for @ifname in @ns?  1, 0, or -errno. */
static int if_tso(const char *ns, const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	ret = vmtest_netns_if_ioctl(ns, SIOCETHTOOL, &ifr);
	return ret ? ret : (int)ev.data;
}

static void must_transfer(struct vmtest_net *n, const char *from_ns, const char *to_ns,
			  const char *to_addr, uint64_t bytes, uint64_t seed, const char *what)
{
	struct vmtest_xfer x;

	if (vmtest_tcp_transfer(from_ns, to_ns, to_addr, bytes, seed, &x))
		fail_msg("%s: TCP %s: sent %llu of %llu bytes, %llu arrived, first wrong byte at "
			 "%lld; %s", n->model, what, (unsigned long long)x.sent,
			 (unsigned long long)bytes, (unsigned long long)x.received,
			 x.first_bad == UINT64_MAX ? -1LL : (long long)x.first_bad,
			 x.why[0] ? x.why : "no socket error");
	print_message("  %s: %llu MiB %s in %.2f s (%.0f Mbit/s)\n", n->model,
		      (unsigned long long)(bytes >> 20), what, (double)x.ms / 1000.0,
		      x.ms ? (double)bytes * 8 / 1000.0 / (double)x.ms : 0.0);
}

/*
 * Wait until client @i reaches the remote at all: a NIC's link comes up a
 * while after its driver loads, and the client's carrier only follows it.
 */
static void wait_path(struct vmtest_net *n, unsigned int i)
{
	int64_t end = now_ms() + VMTEST_CARRIER_MS;
	char out[2048];

	while (vmtest_ping(n->c[i].netns, n->remote_addr, 1, out, sizeof(out)))
		if (now_ms() > end)
			fail_msg("%s: %s cannot reach the remote %s within %d ms:\n%s", n->model,
				 n->c[i].chan, n->remote_addr, VMTEST_CARRIER_MS, out);
}

static void must_ping(struct vmtest_net *n, unsigned int i, const char *when)
{
	char out[2048];

	if (vmtest_ping(n->c[i].netns, n->remote_addr, 3, out, sizeof(out)))
		fail_msg("%s: %s cannot ping the remote %s %s:\n%s", n->model, n->c[i].chan,
			 n->remote_addr, when, out);
}

static void *plain_main(void *arg)
{
	struct plain_tap *p = arg;

	p->ret = ddvm_tap_run(p->net, p->tap, p->stop_fd, &p->st, &p->err);
	return NULL;
}

/* c1's adapter without offloads, in a namespace of its own, with its address. */
static void plain_start(struct fixture *f, unsigned int i)
{
	struct vmtest_net_client *c = &f->n.c[i];
	struct plain_tap *p = &f->plain;
	struct ddvm_tap_opts o = { .ifname = c->ifname, .netns = c->netns, .plain = true };
	struct ddvm_err err = { "" };
	char sock[192];

	run("ip netns add %s && ip -n %s link set lo up", c->netns, c->netns);
	c->netns_made = true;	/* vmtest_net_down removes it */
	if (ddvm_net_open(vmtest_net_sock(&f->n, i, sock, sizeof(sock)), OPEN_MS, &p->net, &err))
		fail_msg("open %s: %s", c->chan, err.msg);
	o.mtu = ddvm_net_mtu(p->net);
	memcpy(o.mac, ddvm_net_info(p->net)->mac, 6);
	memcpy(c->mac, o.mac, 6);
	if (ddvm_tap_open(&o, &p->tap, &err))
		fail_msg("tap for %s: %s", c->chan, err.msg);
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(p->stop_fd >= 0);
	assert_int_equal(pthread_create(&p->thread, NULL, plain_main, p), 0);
	p->running = true;
	run("ip -n %s addr add %s/24 dev %s", c->netns, c->addr, c->ifname);
	if (vmtest_netns_wait_running(c->netns, c->ifname, VMTEST_CARRIER_MS))
		fail_msg("%s: %s has no carrier after %d ms", f->n.model, c->ifname,
			 VMTEST_CARRIER_MS);
}

/* ------------------------------------------------------------ frames */

static uint8_t pattern(uint32_t k)
{
	return (uint8_t)(k * 7 + (k >> 8) + 0x35);
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * An IPv4 GSO frame from c1 to the remote into @buf (header first): TCP
 * (or UDP) from port @sport to DPORT, @payload bytes of the pattern, the
 * pseudo-header sum in the checksum field as NEEDS_CSUM wants it.
 * Return: header and frame bytes.
 */
static uint32_t gso_frame(struct vmtest_net *n, uint8_t *buf, bool udp, uint32_t payload)
{
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)buf;
	uint8_t *f = buf + sizeof(*h), *ip = f + 14, *l4 = ip + 20;
	uint32_t l4_len = (udp ? 8 : 20) + payload, k;
	struct in_addr src, dst;

	memset(buf, 0, sizeof(*h) + 14 + 20 + 20);
	memcpy(f, n->remote_mac, 6);
	memcpy(f + 6, n->c[1].mac, 6);
	put16(f + 12, 0x0800);
	inet_pton(AF_INET, n->c[1].addr, &src);
	inet_pton(AF_INET, n->remote_addr, &dst);
	ip[0] = 0x45;
	put16(ip + 2, 20 + l4_len);
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000);			/* DF */
	ip[8] = 64;
	ip[9] = udp ? 17 : 6;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
	put16(l4, udp ? UDP_SPORT : TCP_SPORT);
	put16(l4 + 2, DPORT);
	if (udp) {
		put16(l4 + 4, l4_len);
	} else {
		l4[4] = SEQ0 >> 24;
		l4[5] = (SEQ0 >> 16) & 0xff;
		l4[6] = (SEQ0 >> 8) & 0xff;
		l4[7] = SEQ0 & 0xff;
		l4[12] = 5 << 4;
		l4[13] = 0x18;			/* PSH, ACK */
		put16(l4 + 14, 65535);
	}
	for (k = 0; k < payload; k++)
		l4[(udp ? 8 : 20) + k] = pattern(k);
	/* what a stack leaves for the NIC: the pseudo-header sum, not inverted */
	put16(l4 + (udp ? 6 : 16),
	      fold(sum16(ip + 12, 8, (udp ? 17u : 6u) + l4_len)));
	h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
	h->gso_type = udp ? DDVM_NET_GSO_UDP_L4 : DDVM_NET_GSO_TCPV4;
	h->gso_size = (uint16_t)(udp ? UDP_SEG : MSS);
	h->hdr_len = (uint16_t)(14 + 20 + (udp ? 8 : 20));
	h->csum_start = 14 + 20;
	h->csum_offset = udp ? 6 : 16;
	return (uint32_t)sizeof(*h) + 14 + 20 + l4_len;
}

/* A 100-byte frame of type ETH_TEST with a checksum to finish at bytes 44..45. */
static uint32_t csum_frame(struct vmtest_net *n, uint8_t *buf)
{
	struct ddvm_net_hdr *h = (struct ddvm_net_hdr *)buf;
	uint8_t *f = buf + sizeof(*h);
	uint32_t k;

	memset(buf, 0, sizeof(*h));
	memcpy(f, n->remote_mac, 6);
	memcpy(f + 6, n->c[1].mac, 6);
	put16(f + 12, ETH_TEST);
	memcpy(f + 14, CSUM_MARKER, strlen(CSUM_MARKER));
	for (k = 14 + strlen(CSUM_MARKER); k < 100; k++)
		f[k] = pattern(k);
	put16(f + 44, CSUM_SEED);		/* as a pseudo-header sum would be */
	h->flags = DDVM_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = 40;
	h->csum_offset = 4;
	return (uint32_t)sizeof(*h) + 100;
}

/* Frames whose offload header breaks a rule, one way each.  Return: their bytes. */
static uint32_t bad_csum_start(struct vmtest_net *n, uint8_t *buf)
{
	uint32_t len = csum_frame(n, buf);

	((struct ddvm_net_hdr *)buf)->csum_start = 100;	/* the field past the end */
	return len;
}

static uint32_t bad_gso_size(struct vmtest_net *n, uint8_t *buf)
{
	uint32_t len = gso_frame(n, buf, false, 3000);

	((struct ddvm_net_hdr *)buf)->gso_size = 65000;
	return len;
}

static uint32_t bad_too_short(struct vmtest_net *n, uint8_t *buf)
{
	gso_frame(n, buf, false, 3000);
	return sizeof(struct ddvm_net_hdr) + 40;	/* shorter than its headers */
}

static uint32_t bad_no_csum(struct vmtest_net *n, uint8_t *buf)
{
	uint32_t len = gso_frame(n, buf, false, 3000);

	((struct ddvm_net_hdr *)buf)->flags = 0;	/* GSO without NEEDS_CSUM */
	return len;
}

static uint32_t bad_hdr_len(struct vmtest_net *n, uint8_t *buf)
{
	uint32_t len = gso_frame(n, buf, false, 3000);

	((struct ddvm_net_hdr *)buf)->hdr_len = 40;	/* short of the TCP header */
	return len;
}

static uint32_t bad_v6_on_v4(struct vmtest_net *n, uint8_t *buf)
{
	uint32_t len = gso_frame(n, buf, false, 3000);

	((struct ddvm_net_hdr *)buf)->gso_type = DDVM_NET_GSO_TCPV6;
	return len;
}

static uint32_t (*const bad_hdrs[])(struct vmtest_net *n, uint8_t *buf) = {
	bad_csum_start, bad_gso_size, bad_too_short, bad_no_csum, bad_hdr_len, bad_v6_on_v4,
};

/* ------------------------------------------------------- the raw client */

static void raw_open(struct fixture *f, struct raw *r, unsigned int i)
{
	static const struct ddvm_ring_want want[DDVM_NET_NR_RINGS] = {
		{ RAW_ENTRIES, sizeof(struct ddvm_net_desc) },
		{ RAW_ENTRIES, sizeof(struct ddvm_net_desc) },
	};
	struct ddvm_chan_transport tr;
	struct ddvm_err err = { "" };
	char sock[192];

	vmtest_net_sock(&f->n, i, sock, sizeof(sock));
	if (ddvm_chan_peer_open(sock, &f->peer, &tr, &err))
		fail_msg("raw open of %s: %s", sock, err.msg);
	ddvm_chan_client_init(&r->c, &tr, DDVM_CHAN_NET);
	r->c.want_features = DDVM_F_NET_OFFLOAD;
	if (ddvm_chan_client_connect(&r->c, want, DDVM_NET_NR_RINGS, OPEN_MS, &err))
		fail_msg("raw connect: %s", err.msg);
	if (!(r->c.srv_copy.features & DDVM_F_NET_OFFLOAD))
		fail_msg("%s: the DD/OS does not offer offloads (features %#llx)", f->n.model,
			 (unsigned long long)r->c.srv_copy.features);
	assert_true(ddvm_load_once(&r->c.cli->features) & DDVM_F_NET_OFFLOAD);
	memset(&r->layout, 0, sizeof(r->layout));
	r->layout.rings[DDVM_NET_RING_TX].entries = RAW_ENTRIES;
	r->layout.rings[DDVM_NET_RING_RX].entries = RAW_ENTRIES;
	r->data = (uint8_t *)r->c.t.region + r->c.data_off;
	r->old = r->c.rings[DDVM_NET_RING_TX].local;
}

static void raw_desc(struct raw *r, uint16_t len, uint16_t flags)
{
	struct ddvm_ring *tx = &r->c.rings[DDVM_NET_RING_TX];
	struct ddvm_net_desc d = { .len = len, .flags = flags };

	assert_true(ddvm_ring_free(tx) > 0);
	memcpy(ddvm_ring_next(tx), &d, sizeof(d));
	tx->local++;
}

/* Copy @len bytes (header and frame) into the TX buffers from the next entry on. */
static void raw_fill(struct raw *r, const uint8_t *bytes, uint32_t len)
{
	uint32_t idx = r->c.rings[DDVM_NET_RING_TX].local;
	uint32_t room = ddvm_net_buf_room(&r->layout, DDVM_NET_RING_TX, idx);
	uint32_t part = len < room ? len : room;

	memcpy(r->data + ddvm_net_buf_off(&r->layout, DDVM_NET_RING_TX, idx), bytes, part);
	memcpy(r->data + ddvm_net_buf_off(&r->layout, DDVM_NET_RING_TX, 0), bytes + part,
	       len - part);
}

/* A well-formed chain of @len bytes. */
static void raw_chain(struct raw *r, const uint8_t *bytes, uint32_t len)
{
	raw_fill(r, bytes, len);
	for (; len > DDVM_NET_BUF_SIZE; len -= DDVM_NET_BUF_SIZE)
		raw_desc(r, DDVM_NET_BUF_SIZE, DDVM_NET_DESC_MORE);
	raw_desc(r, (uint16_t)len, 0);
}

/* Publish what was posted since the last publication, and wait until the DD/OS took it. */
static void raw_publish(struct vmtest_net *n, struct raw *r)
{
	struct ddvm_ring *tx = &r->c.rings[DDVM_NET_RING_TX];
	int64_t end = now_ms() + 10000;

	ddvm_ring_publish(tx, r->old);
	ddvm_chan_client_notify(&r->c);
	r->old = tx->local;
	while (ddvm_load_acquire(&tx->ctl->cons) != tx->local && now_ms() < end)
		ddvm_chan_client_wait(&r->c, 20);
	if (ddvm_load_acquire(&tx->ctl->cons) != tx->local)
		fail_msg("%s: the DD/OS took %u of %u TX entries in 10 s", n->model,
			 ddvm_load_acquire(&tx->ctl->cons), tx->local);
}

struct counters {
	uint64_t tx, drop, bad_hdr;
};

static void read_counters(const struct raw *r, struct counters *c)
{
	const struct ddvm_net_info *i = &r->c.srv->net;

	c->tx = ddvm_load_once(&i->tx_frames);
	c->drop = ddvm_load_once(&i->tx_dropped);
	c->bad_hdr = ddvm_load_once(&i->tx_bad_hdr);
}

/* How the counters moved past @c0 once they showed @tx sent and @drop dropped (or 5 s). */
static void wait_counters(const struct raw *r, const struct counters *c0, uint64_t tx,
			  uint64_t drop, struct counters *d)
{
	int64_t end = now_ms() + COUNTER_MS;
	struct counters c;

	do {
		read_counters(r, &c);
		if (c.tx - c0->tx >= tx && c.drop - c0->drop >= drop)
			break;
		usleep(20000);
	} while (now_ms() < end);
	/* two more heartbeats: a count that goes past the expected one shows too */
	usleep(2 * DDVM_HEARTBEAT_MS * 1000);
	read_counters(r, &c);
	d->tx = c.tx - c0->tx;
	d->drop = c.drop - c0->drop;
	d->bad_hdr = c.bad_hdr - c0->bad_hdr;
}

/* ------------------------------------------------------ at the remote */

struct seen {
	uint8_t tcp[TCP_PAYLOAD];	/* 1 where a segment brought the byte */
	uint32_t tcp_segs, tcp_bad;
	uint8_t udp[UDP_PAYLOAD];
	uint32_t udp_len, udp_dgrams, udp_bad;
	uint32_t csum_frames, csum_bad;
};

/* Take one frame c1 sent that the remote's interface received. */
static void seen_frame(struct seen *s, const uint8_t *f, uint32_t len, const uint8_t *c1)
{
	const uint8_t *ip = f + 14, *l4;
	uint32_t ihl, tot, plen, seq, k;

	if (len < 14 || memcmp(f + 6, c1, 6))
		return;
	if (((f[12] << 8) | f[13]) == ETH_TEST) {
		if (len < 100 || memcmp(f + 14, CSUM_MARKER, strlen(CSUM_MARKER)))
			return;
		s->csum_frames++;
		/* the seed the field held counts once more, as a pseudo-header would */
		s->csum_bad += fold(sum16(f + 40, 60, CSUM_SEED)) != 0xffff;
		return;
	}
	if (((f[12] << 8) | f[13]) != 0x0800 || len < 34)
		return;
	ihl = (ip[0] & 15) * 4u;
	tot = (uint32_t)(ip[2] << 8 | ip[3]);
	if (tot > len - 14 || ihl < 20 || tot < ihl + 8)
		return;
	l4 = ip + ihl;
	if (ip[9] == 6 && tot >= ihl + 20 && (l4[0] << 8 | l4[1]) == TCP_SPORT) {
		plen = tot - ihl - (l4[12] >> 4) * 4u;
		seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
		seq -= SEQ0;
		s->tcp_segs++;
		if (seq > TCP_PAYLOAD || plen > TCP_PAYLOAD - seq) {
			s->tcp_bad++;
			return;
		}
		for (k = 0; k < plen; k++) {
			if (l4[(l4[12] >> 4) * 4u + k] != pattern(seq + k))
				s->tcp_bad++;
			s->tcp[seq + k] = 1;
		}
	} else if (ip[9] == 17 && (l4[0] << 8 | l4[1]) == UDP_SPORT) {
		plen = tot - ihl - 8;
		s->udp_dgrams++;
		if (plen > UDP_PAYLOAD - s->udp_len) {
			s->udp_bad++;
			return;
		}
		/* datagrams in order, each a slice of the pattern */
		for (k = 0; k < plen; k++)
			s->udp_bad += l4[8 + k] != pattern(s->udp_len + k);
		s->udp_len += plen;
	}
}

/* Read what the capture socket got within @ms into @s. */
static void seen_collect(int fd, struct seen *s, const uint8_t *c1, int ms)
{
	static uint8_t frame[70000];
	int64_t end = now_ms() + ms;
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t r;

	while (now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 50) <= 0)
			continue;
		fl = sizeof(from);
		r = recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (r < 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		seen_frame(s, frame, (uint32_t)r, c1);
	}
}

/* ------------------------------------------------------------ the test */

/*
 * The hostile raw client: every bad chain and header is dropped and
 * counted as such; the good GSO frames and the odd checksum reach the
 * remote right; a chain cut by the producer index resets the channel.
 */
static void raw_offload(struct fixture *f)
{
	struct vmtest_net *n = &f->n;
	uint8_t *buf = malloc(DDVM_NET_HDR_BUF_SIZE), *good = malloc(DDVM_NET_HDR_BUF_SIZE);
	struct seen *s = calloc(1, sizeof(*s));
	struct counters c0, d;
	struct raw r;
	uint32_t len, gen, k, missing = 0;
	const uint32_t nr_bad = sizeof(bad_hdrs) / sizeof(bad_hdrs[0]) + 2;

	assert_true(buf && good && s);
	f->cap_fd = vmtest_packet_socket(n->remote_ns, n->remote_if, ETH_P_ALL, NULL);
	if (f->cap_fd < 0)
		fail_msg("capture on %s: %s", n->remote_if, strerror(-f->cap_fd));
	raw_open(f, &r, 1);
	/* c1's adapter is gone; its last frames reach the published counters first */
	usleep(2 * DDVM_HEARTBEAT_MS * 1000);
	read_counters(&r, &c0);

	for (k = 0; k < sizeof(bad_hdrs) / sizeof(bad_hdrs[0]); k++) {
		len = bad_hdrs[k](n, buf);
		raw_chain(&r, buf, len);
	}
	/* a chain whose first entry says MORE but is not full */
	len = gso_frame(n, buf, false, 3000);
	raw_fill(&r, buf, len);
	raw_desc(&r, 100, DDVM_NET_DESC_MORE);
	raw_desc(&r, 60, 0);
	raw_publish(n, &r);
	/* a chain of DDVM_NET_CHAIN_MAX + 1 entries, alone: it fills half the ring */
	len = gso_frame(n, buf, false, 3000);
	raw_fill(&r, buf, len);
	for (k = 0; k < DDVM_NET_CHAIN_MAX; k++)
		raw_desc(&r, DDVM_NET_BUF_SIZE, DDVM_NET_DESC_MORE);
	raw_desc(&r, 100, 0);
	raw_publish(n, &r);

	/* the good ones: TCP and UDP GSO, a checksum at an odd place */
	raw_chain(&r, good, gso_frame(n, good, false, TCP_PAYLOAD));
	raw_chain(&r, good, gso_frame(n, good, true, UDP_PAYLOAD));
	raw_chain(&r, good, csum_frame(n, good));
	raw_publish(n, &r);

	wait_counters(&r, &c0, 3, nr_bad, &d);
	print_message("  %s: %u hostile chains and 3 good frames: %llu dropped (%llu for their "
		      "headers), %llu sent\n", n->model, nr_bad, (unsigned long long)d.drop,
		      (unsigned long long)d.bad_hdr, (unsigned long long)d.tx);
	if (d.drop != nr_bad || d.bad_hdr != nr_bad || d.tx != 3)
		fail_msg("%s: %u bad chains and 3 good frames: the DD/OS counted %llu dropped, %llu "
			 "of them for bad headers, %llu sent", n->model, nr_bad,
			 (unsigned long long)d.drop, (unsigned long long)d.bad_hdr,
			 (unsigned long long)d.tx);

	seen_collect(f->cap_fd, s, n->c[1].mac, 2000);
	for (k = 0; k < TCP_PAYLOAD; k++)
		missing += !s->tcp[k];
	print_message("  %s: the remote got TCP in %u segments, UDP in %u datagrams, %u checksum "
		      "frames\n", n->model, s->tcp_segs, s->udp_dgrams, s->csum_frames);
	if (missing || s->tcp_bad)
		fail_msg("%s: TCP GSO frame of %u bytes: %u bytes missing, %u wrong at the remote",
			 n->model, TCP_PAYLOAD, missing, s->tcp_bad);
	if (s->udp_len != UDP_PAYLOAD || s->udp_bad)
		fail_msg("%s: UDP GSO frame of %u bytes: %u arrived in %u datagrams, %u wrong",
			 n->model, UDP_PAYLOAD, s->udp_len, s->udp_dgrams, s->udp_bad);
	if (s->csum_frames != 1 || s->csum_bad)
		fail_msg("%s: the frame with a checksum to finish arrived %u times, %u wrong",
			 n->model, s->csum_frames, s->csum_bad);

	/* a chain the producer index cuts: a broken ring, not a bad frame */
	gen = ddvm_load_acquire(&r.c.srv->generation);
	raw_fill(&r, good, gso_frame(n, good, false, 3000));
	raw_desc(&r, DDVM_NET_BUF_SIZE, DDVM_NET_DESC_MORE);
	ddvm_ring_publish(&r.c.rings[DDVM_NET_RING_TX], r.old);
	ddvm_chan_client_notify(&r.c);
	for (k = 0; k < 250 && ddvm_load_acquire(&r.c.srv->generation) == gen; k++)
		ddvm_chan_client_wait(&r.c, 20);
	if (ddvm_load_acquire(&r.c.srv->generation) == gen)
		fail_msg("%s: a chain cut by the producer index: no reset in 5 s", n->model);
	assert_int_equal(ddvm_load_once(&r.c.srv->error), DDVM_ERR_RING);
	ddvm_peer_close(f->peer);
	f->peer = NULL;
	free(buf);
	free(good);
	free(s);
}

static void run_model(void **state, const char *model, unsigned int subnet, char tag)
{
	struct fixture *f = *state;
	struct vmtest_net *n = &f->n;
	struct ddvm_net_srv_counters sc;
	int64_t t0 = now_ms();
	char line[512];
	int tso, k;

	if (vmtest_net_up(n, model, subnet, tag, 2))
		fail_msg("%s", n->why);
	if (vmtest_net_client_start(n, 0))
		fail_msg("%s: client 0: %s", model, n->why);
	plain_start(f, 1);
	print_message("  %s: DD/OS and 2 clients up in %.1f s\n", model, (now_ms() - t0) / 1e3);

	/* c0 took the feature and turned TSO on; c1 did neither */
	for (k = 0, tso = 0; k < 100 && tso != 1; k++) {
		tso = if_tso(n->c[0].netns, n->c[0].ifname);
		usleep(50000);
	}
	if (tso != 1)
		fail_msg("%s: c0's interface %s has TSO %d: the adapter did not take offloads",
			 model, n->c[0].ifname, tso);
	assert_int_equal(if_tso(n->c[1].netns, n->c[1].ifname), 0);
	assert_false(ddvm_net_offload(f->plain.net));
	wait_path(n, 0);
	must_ping(n, 0, "");
	must_ping(n, 1, "");

	/* verified streams: c0 in 64 KiB frames both ways, c1 in frames cut for it */
	must_transfer(n, n->c[0].netns, n->remote_ns, n->remote_addr, 64ull << 20, 0xc0, "c0 -> remote");
	must_transfer(n, n->remote_ns, n->c[0].netns, n->c[0].addr, 32ull << 20, 0x7e, "remote -> c0");
	must_transfer(n, n->remote_ns, n->c[1].netns, n->c[1].addr, 16ull << 20, 0xc1, "remote -> c1");
	must_transfer(n, n->c[1].netns, n->remote_ns, n->remote_addr, 16ull << 20, 0x1c, "c1 -> remote");
	usleep(2 * DDVM_HEARTBEAT_MS * 1000);
	ddvm_net_server_counters(f->plain.net, &sc);
	print_message("  %s: c1 got %llu frames, %llu GSO frames cut up for it\n", model,
		      (unsigned long long)sc.rx_frames, (unsigned long long)sc.rx_segmented);
	if (!sc.rx_segmented)
		fail_msg("%s: the DD/OS cut no GSO frame up for c1: was GRO on for c0?", model);
	assert_int_equal(sc.tx_bad_hdr, 0);
	plain_stop(&f->plain);

	/* c1 turns hostile; c0 never notices */
	raw_offload(f);
	must_ping(n, 0, "after c1's hostile chains");
	must_transfer(n, n->c[0].netns, n->remote_ns, n->remote_addr, 8ull << 20, 0xc2,
		      "c0 -> remote, after");

	if (vmtest_net_client_stop(n, 0))
		fail_msg("%s: adapter c0: %s", model, n->why);
	if (vmtest_net_down(n, true))
		fail_msg("%s: %s", model, n->why);
	if (vmtest_scan_console_of(&n->vm, n->domain, line, sizeof(line)))
		fail_msg("%s: DD/OS kernel log (%s/%s/console.log): %s", model, n->vm.run_dir,
			 n->domain, line);
	print_message("  %s: done in %.1f s\n", model, (now_ms() - t0) / 1e3);
	f->passed = true;
}

static void test_e1000(void **state)
{
	run_model(state, "e1000", 31, 'o');
}

static void test_virtio_net(void **state)
{
	run_model(state, "virtio-net", 32, 'p');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_e1000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virtio_net, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
