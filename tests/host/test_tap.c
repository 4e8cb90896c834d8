// SPDX-License-Identifier: GPL-2.0
/*
 * The TAP adapter end to end, without a VM: an echo server behind a net
 * channel, the adapter moving frames, and a TAP interface in a network
 * namespace of the test's own.  A packet socket bound to the interface
 * inside the namespace sends raw Ethernet frames into the kernel's side of
 * the tap; they must come back through channel and echo, byte for byte,
 * with the adapter taking offloads (a 64 KiB TCP frame crosses whole, its
 * GSO header with it) and without them (opened plain).
 * Nothing leaves the namespace; it is deleted whatever happens.  Needs root
 * (CAP_NET_ADMIN, CAP_SYS_ADMIN for setns) and /dev/net/tun.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_net_server.h"
#include "net_client.h"
#include "tap.h"

#define REGION		(2ull << 20)
#define IFNAME		"ddvmt0"
#define ETHERTYPE_TEST	0x88b5

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static char netns[64];
static bool netns_made;

/* ------------------------------------------------------------ namespace */

static void netns_delete(void)
{
	char cmd[128];

	if (!netns_made)
		return;
	snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", netns);
	if (system(cmd) == 0)
		netns_made = false;
}

static int group_setup(void **state)
{
	char cmd[128];

	if (geteuid() != 0) {
		print_error("test_tap needs root (CAP_NET_ADMIN, setns); running as uid %u\n",
			    geteuid());
		return -1;
	}
	if (access("/dev/net/tun", R_OK | W_OK)) {
		print_error("test_tap needs /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	snprintf(netns, sizeof(netns), "ddvm-test-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s", netns);
	if (system(cmd)) {
		print_error("'%s' failed: network namespaces unavailable\n", cmd);
		return -1;
	}
	netns_made = true;
	atexit(netns_delete);	/* also when a test crashes out */
	return 0;
}

static int group_teardown(void **state)
{
	netns_delete();
	return 0;
}

/* Run the calling thread in the test namespace (true) or back in ours (false). */
static void enter_netns(bool in)
{
	static int self = -1;
	char path[128];
	int fd;

	if (self < 0)
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0);
	if (!in) {
		assert_int_equal(setns(self, CLONE_NEWNET), 0);
		return;
	}
	snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(setns(fd, CLONE_NEWNET), 0);
	close(fd);
}

/* ------------------------------------------------------------ fixture */

struct fixture {
	struct fake_net_server srv;
	struct ddvm_net *net;
	struct ddvm_tap *tap;
	uint8_t mac[6];
	int stop_fd;
	pthread_t thread;
	bool running;		/* the adapter thread */
	int run_ret;
	struct ddvm_err run_err;
	struct ddvm_tap_stats st;
	int pkt;		/* packet socket on IFNAME, in the namespace */
	int ifindex;
};

static void *adapter_main(void *arg)
{
	struct fixture *f = arg;

	f->run_ret = ddvm_tap_run(f->net, f->tap, f->stop_fd, &f->st, &f->run_err);
	return NULL;
}

static short if_flags(void);

/* Is TSO on for the interface?  What the adapter turned on with TUNSETOFFLOAD. */
static int if_tso(void)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq ifr = { 0 };
	int s, ret;

	enter_netns(true);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter_netns(false);
	assert_true(s >= 0);
	strcpy(ifr.ifr_name, IFNAME);
	ifr.ifr_data = (void *)&ev;
	ret = ioctl(s, SIOCETHTOOL, &ifr) ? -errno : (int)ev.data;
	close(s);
	return ret;
}

static struct fixture *fixture_open_mode(struct fixture **slot, bool plain)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ddvm_err err = { "" };
	struct ddvm_tap_opts o = { .ifname = IFNAME, .netns = netns, .plain = plain };
	int64_t end;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int rcvbuf = 4 << 20;

	assert_non_null(f);
	f->pkt = f->stop_fd = -1;
	*slot = f;		/* the teardown closes whatever got opened */
	assert_int_equal(fake_net_start(&f->srv, REGION, NULL), 0);
	if (ddvm_net_open_transport(&f->srv.transport, 5000, &f->net, &err))
		fail_msg("open: %s", err.msg);
	memcpy(f->mac, ddvm_net_info(f->net)->mac, 6);
	memcpy(o.mac, f->mac, 6);
	o.mtu = ddvm_net_mtu(f->net);
	if (ddvm_tap_open(&o, &f->tap, &err))
		fail_msg("tap: %s", err.msg);
	assert_string_equal(ddvm_tap_ifname(f->tap), IFNAME);
	/* made in the namespace, not here */
	assert_int_equal(if_nametoindex(IFNAME), 0);

	enter_netns(true);
	f->ifindex = (int)if_nametoindex(IFNAME);
	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	enter_netns(false);
	assert_true(f->ifindex > 0);
	assert_true(f->pkt >= 0);
	sll.sll_ifindex = f->ifindex;
	assert_int_equal(bind(f->pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
	setsockopt(f->pkt, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(f->stop_fd >= 0);
	assert_int_equal(pthread_create(&f->thread, NULL, adapter_main, f), 0);
	f->running = true;
	/*
	 * Carrier once the adapter saw the NIC's; a tap that is not plain
	 * asks for offloads, and a fresh generation brings them.
	 */
	end = ddvm_now_ms() + 3000;
	while ((!(if_flags() & IFF_RUNNING) ||
		(!plain && (!ddvm_load_acquire(&f->srv.ctl->offload) || if_tso() != 1))) &&
	       ddvm_now_ms() < end)
		usleep(10000);
	assert_true(if_flags() & IFF_RUNNING);
	assert_int_equal(f->srv.ctl->offload, !plain);
	assert_int_equal(if_tso(), !plain);
	return f;
}

static struct fixture *fixture_open(struct fixture **slot)
{
	return fixture_open_mode(slot, false);
}

static void fixture_stop_adapter(struct fixture *f)
{
	uint64_t one = 1;

	if (!f->running)
		return;
	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	f->running = false;
	if (f->run_ret)
		fail_msg("adapter: %s", f->run_err.msg);
}

static void fixture_close(struct fixture *f)
{
	if (!f)
		return;
	uint64_t one = 1;

	if (f->running) {	/* a failed test left it running */
		if (write(f->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(f->thread, NULL);
	}
	if (f->pkt >= 0)
		close(f->pkt);
	ddvm_tap_close(f->tap);
	if (f->net)
		ddvm_net_close(f->net);
	fake_net_stop(&f->srv);
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	free(f);
}

static int test_teardown(void **state)
{
	fixture_close(*state);
	*state = NULL;
	return 0;
}

/* ------------------------------------------------------------ frames */

static uint32_t frame_len(uint32_t seq)
{
	return 60 + (seq * 7919u) % (1514 - 60 + 1);
}

static void frame_fill(uint8_t *f, uint32_t seq, const uint8_t *dst, const uint8_t *src)
{
	uint32_t len = frame_len(seq), i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &seq, 4);
	for (i = 18; i < len; i++)
		f[i] = (uint8_t)(seq * 31 + i);
}

/* Send frame @seq into the kernel's side of the tap. */
static void send_frame(struct fixture *f, uint32_t seq)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = f->ifindex,
				  .sll_halen = 6 };
	uint8_t buf[1514];

	memcpy(to.sll_addr, peer_mac, 6);
	frame_fill(buf, seq, peer_mac, f->mac);
	if (sendto(f->pkt, buf, frame_len(seq), 0, (struct sockaddr *)&to, sizeof(to)) !=
	    (ssize_t)frame_len(seq))
		fail_msg("sendto %s: %s", IFNAME, strerror(errno));
}

/*
 * Collect test frames the interface received (not those it sent) for up to
 * @ms; the echoes are checked byte for byte and marked in @seen.
 * Return: echoes seen; *others counts other test frames (injected ones).
 */
static int recv_echoes(struct fixture *f, bool *seen, uint32_t n, int ms, int *others)
{
	int64_t end = ddvm_now_ms() + ms;
	uint8_t buf[2048], want[1514];
	struct sockaddr_ll from;
	socklen_t fl;
	uint32_t seq;
	ssize_t len;
	int got = 0;

	while (got < (int)n && ddvm_now_ms() < end) {
		struct pollfd pfd = { .fd = f->pkt, .events = POLLIN };

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fl = sizeof(from);
		len = recvfrom(f->pkt, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (len < 18 || from.sll_pkttype == PACKET_OUTGOING ||
		    buf[12] != (ETHERTYPE_TEST >> 8) || buf[13] != (ETHERTYPE_TEST & 0xff))
			continue;	/* our own sends, IPv6 chatter of a new interface */
		if (memcmp(buf + 6, peer_mac, 6)) {
			if (others)
				(*others)++;
			continue;
		}
		memcpy(&seq, buf + 14, 4);
		assert_true(seq < n);
		assert_int_equal(from.sll_pkttype, PACKET_HOST);
		assert_int_equal(len, frame_len(seq));
		frame_fill(want, seq, f->mac, peer_mac);
		assert_memory_equal(buf, want, (size_t)len);
		if (!seen[seq])
			got++;
		seen[seq] = true;
	}
	return got;
}

static short if_flags(void)
{
	struct ifreq ifr = { 0 };
	int s;

	enter_netns(true);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter_netns(false);
	assert_true(s >= 0);
	strcpy(ifr.ifr_name, IFNAME);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	close(s);
	return ifr.ifr_flags;
}

/* ------------------------------------------------------------ tests */

static void test_interface_takes_mac_mtu_and_comes_up(void **state)
{
	struct fixture *f = fixture_open((struct fixture **)state);
	struct ifreq ifr = { 0 };
	int s;

	enter_netns(true);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	enter_netns(false);
	assert_true(s >= 0);
	strcpy(ifr.ifr_name, IFNAME);
	assert_int_equal(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	assert_memory_equal(ifr.ifr_hwaddr.sa_data, f->mac, 6);
	assert_int_equal(ioctl(s, SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1500);
	close(s);
	assert_true(if_flags() & IFF_UP);
	fixture_stop_adapter(f);
	fixture_close(f);
	*state = NULL;

	/* the interface lives only as long as its tap */
	enter_netns(true);
	assert_int_equal(if_nametoindex(IFNAME), 0);
	enter_netns(false);
}

static void frames_cross_both_ways(void **state, bool plain)
{
	enum { N = 300 };
	struct fixture *f = fixture_open_mode((struct fixture **)state, plain);
	struct fake_net_ctl *ctl = f->srv.ctl;
	bool seen[N] = { false };
	int got, others = 0;
	uint32_t i;

	for (i = 0; i < N; i++) {
		send_frame(f, i);
		if (i % 50 == 49)
			usleep(2000);	/* within the tap's queue, whatever the scheduler does */
	}
	got = recv_echoes(f, seen, N, 5000, NULL);
	if (got != N)
		fail_msg("%d of %d frames came back (server took %llu, echoed %llu)", got, N,
			 (unsigned long long)ctl->tx_frames, (unsigned long long)ctl->echoed);
	/* the interface's frames reached the channel as they were sent */
	assert_true(ctl->echoed >= N);

	/* a frame only the server makes (a broadcast) shows up on the interface */
	memset(ctl->inject[0].data, 0xff, 6);
	memcpy(ctl->inject[0].data + 6, "\x02\x00\x00\x00\x00\x77", 6);
	ctl->inject[0].data[12] = ETHERTYPE_TEST >> 8;
	ctl->inject[0].data[13] = ETHERTYPE_TEST & 0xff;
	memset(ctl->inject[0].data + 14, 0xab, 60 - 14);
	ctl->inject[0].len = 60;
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_INJECT, 1, 2000), 0);
	recv_echoes(f, seen, N, 1000, &others);
	assert_int_equal(others, 1);

	fixture_stop_adapter(f);
	assert_true(f->st.to_chan >= N);
	assert_true(f->st.from_chan >= N + 1);
	assert_int_equal(f->st.write_errors, 0);
}

static void test_frames_cross_both_ways(void **state)
{
	frames_cross_both_ways(state, false);
}

/* A plain tap (no virtio-net header) against a server that offers offloads. */
static void test_frames_cross_both_ways_plain(void **state)
{
	frames_cross_both_ways(state, true);
	assert_int_equal(((struct fixture *)*state)->srv.ctl->offload, 0);
}

/*
 * A 64 KiB TCP frame the kernel's side of the tap sends as one (a packet
 * socket with a virtio-net header, as a VM's tap would) crosses the
 * channel whole with its GSO header, and its echo comes back into the
 * kernel whole: nobody cut it up on the way.
 */
static void test_gso_frame_crosses_whole(void **state)
{
	enum { PAYLOAD = 60000, HDRS = 14 + 20 + 20 };
	struct fixture *f = fixture_open((struct fixture **)state);
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = f->ifindex,
				  .sll_halen = 6 };
	static uint8_t out[sizeof(struct virtio_net_hdr) + HDRS + PAYLOAD], in[70000];
	struct virtio_net_hdr *vh = (struct virtio_net_hdr *)out;
	uint8_t *fr = out + sizeof(*vh), *ip = fr + 14;
	struct fake_net_ctl *ctl = f->srv.ctl;
	int one = 1, fd, i;
	int64_t end;
	ssize_t len = 0;

	enter_netns(true);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	enter_netns(false);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)), 0);
	to.sll_protocol = htons(ETH_P_IP);
	assert_int_equal(bind(fd, (struct sockaddr *)&to, sizeof(to)), 0);

	memcpy(fr, peer_mac, 6);
	memcpy(fr + 6, f->mac, 6);
	fr[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (20 + 20 + PAYLOAD) >> 8;
	ip[3] = (20 + 20 + PAYLOAD) & 0xff;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	ip[20 + 12] = 5 << 4;
	for (i = 0; i < PAYLOAD; i++)
		fr[HDRS + i] = (uint8_t)(i * 13 + 7);
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = HDRS;
	vh->gso_size = 1448;
	vh->csum_start = 14 + 20;
	vh->csum_offset = 16;
	memcpy(to.sll_addr, peer_mac, 6);
	if (sendto(fd, out, sizeof(out), 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)sizeof(out))
		fail_msg("sendto with a GSO header: %s", strerror(errno));

	/* the echo: the same bytes, addresses swapped, and still one GSO frame */
	end = ddvm_now_ms() + 5000;
	while (ddvm_now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		len = recvfrom(fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		/* skip the kernel's own IPv4 chatter, if any: ours is the TCP frame */
		if (len > (ssize_t)(sizeof(*vh) + 14 + 9) && from.sll_pkttype != PACKET_OUTGOING &&
		    in[sizeof(*vh) + 14 + 9] == 6)
			break;
		len = 0;
	}
	close(fd);
	assert_int_equal(ctl->tx_gso, 1);
	assert_int_equal(ctl->last_gso_len, HDRS + PAYLOAD);
	assert_int_equal(ctl->last_gso_hdr.gso_type, DDVM_NET_GSO_TCPV4);
	assert_int_equal(ctl->last_gso_hdr.gso_size, 1448);
	if (len != (ssize_t)sizeof(out))
		fail_msg("the echo of a %zu-byte GSO frame came back as %zd bytes", sizeof(out), len);
	vh = (struct virtio_net_hdr *)in;
	assert_int_equal(vh->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	assert_int_equal(vh->gso_size, 1448);
	assert_memory_equal(in + sizeof(*vh), f->mac, 6);
	assert_memory_equal(in + sizeof(*vh) + 6, peer_mac, 6);
	assert_memory_equal(in + sizeof(*vh) + 12, fr + 12, HDRS - 12 + PAYLOAD);
	fixture_stop_adapter(f);
}

static void test_restart_and_carrier(void **state)
{
	enum { N = 100 };
	struct fixture *f = fixture_open((struct fixture **)state);
	struct ddvm_srv_block *srv = f->srv.region;
	bool seen[N] = { false };
	struct ddvm_net_stats st;
	uint32_t i, gen;
	int64_t end;

	for (i = 0; i < N / 2; i++)
		send_frame(f, i);
	assert_int_equal(recv_echoes(f, seen, N / 2, 5000, NULL), N / 2);

	/* the DD/OS restarts: the interface stays up and carries on */
	gen = ddvm_load_acquire(&srv->generation);	/* 2: the adapter took offloads */
	assert_int_equal(gen, 2);
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_RESTART, 0, 2000), 0);
	end = ddvm_now_ms() + 3000;
	/* the adapter's thread owns the client: watch the server take its new layout */
	while ((ddvm_load_acquire(&srv->state) != DDVM_SRV_RUN || srv->generation != gen + 1 ||
		!ddvm_load_acquire(&f->srv.ctl->offload)) && ddvm_now_ms() < end)
		usleep(20000);
	assert_int_equal(ddvm_load_acquire(&srv->state), DDVM_SRV_RUN);
	assert_int_equal(srv->generation, gen + 1);
	assert_int_equal(f->srv.ctl->offload, 1);	/* and the new server's offloads */
	assert_true(if_flags() & IFF_RUNNING);
	for (i = N / 2; i < N; i++)
		send_frame(f, i);
	memset(seen, 0, sizeof(seen));
	assert_int_equal(recv_echoes(f, seen + 0, N, 5000, NULL), N / 2);

	/* the NIC loses its carrier: so does the interface, and gets it back */
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_LINK, 0, 2000), 0);
	end = ddvm_now_ms() + 3000;
	while ((if_flags() & IFF_RUNNING) && ddvm_now_ms() < end)
		usleep(20000);
	assert_false(if_flags() & IFF_RUNNING);
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_LINK, 1, 2000), 0);
	end = ddvm_now_ms() + 3000;
	while (!(if_flags() & IFF_RUNNING) && ddvm_now_ms() < end)
		usleep(20000);
	assert_true(if_flags() & IFF_RUNNING);

	fixture_stop_adapter(f);
	assert_true(f->st.carrier_changes >= 2);
	ddvm_net_get_stats(f->net, &st);
	assert_int_equal(st.generations, 3);
}

static void test_bad_netns_is_named(void **state)
{
	struct ddvm_tap_opts o = { .ifname = IFNAME, .mac = { 0x02, 0, 0, 0, 0, 5 }, .mtu = 1500 };
	struct ddvm_err err = { "" };
	struct ddvm_tap *tap;
	char name[80];

	snprintf(name, sizeof(name), "ddvm-test-absent-%d", (int)getpid());
	o.netns = name;
	assert_int_equal(ddvm_tap_open(&o, &tap, &err), -ENOENT);
	assert_non_null(strstr(err.msg, name));
	o.netns = "../etc";
	assert_int_equal(ddvm_tap_open(&o, &tap, &err), -EINVAL);
	o.netns = netns;
	o.ifname = "a-name-far-too-long-for-linux";
	assert_int_equal(ddvm_tap_open(&o, &tap, &err), -EINVAL);
	/* nothing was left behind in our namespace */
	assert_int_equal(if_nametoindex(IFNAME), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_interface_takes_mac_mtu_and_comes_up, test_teardown),
		cmocka_unit_test_teardown(test_frames_cross_both_ways, test_teardown),
		cmocka_unit_test_teardown(test_frames_cross_both_ways_plain, test_teardown),
		cmocka_unit_test_teardown(test_gso_frame_crosses_whole, test_teardown),
		cmocka_unit_test_teardown(test_restart_and_carrier, test_teardown),
		cmocka_unit_test(test_bad_netns_is_named),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
