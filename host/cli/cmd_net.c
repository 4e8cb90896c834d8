// SPDX-License-Identifier: GPL-2.0
/* ddvm net: inspect a net channel, or run it as a TAP interface of the host. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "commands.h"
#include "net_client.h"
#include "net_stream.h"
#include "rundir.h"
#include "tap.h"

#define NET_OPEN_TIMEOUT_MS	10000

static const char net_usage[] =
	"usage: ddvm net info CHANNEL\n"
	"       ddvm net tap CHANNEL [--ifname NAME] [--netns NS] [--ready-fd N] [--no-offload]\n"
	"       ddvm net stream CHANNEL --socket PATH [--stats] [--status-fd N]\n"
	"CHANNEL is DOMAIN.CHANNEL (e.g. net0.c0, see 'ddvm status') or a hub socket path.\n"
	"tap and stream run in the foreground until SIGTERM or SIGINT.\n"
	"tap: the channel as a host interface; --ready-fd N gets \"ready\\n\" once the\n"
	"interface is up, then is closed.  The interface takes TSO and checksum\n"
	"offload from the host stack when the DD/OS offers channel offloads;\n"
	"--no-offload keeps it to finished frames of at most the MTU, one per slot.\n"
	"stream: the channel as a VM's NIC.  Connects to unix socket PATH, where QEMU\n"
	"listens with\n"
	"  -netdev stream,id=n0,server=on,addr.type=unix,addr.path=PATH\n"
	"  -device virtio-net-pci,netdev=n0,mac=<the channel's MAC>,host_mtu=<its MTU>\n"
	"(ddvm net info shows both), and relays frames between the channel and QEMU.\n"
	"It says \"connected to PATH\" on each connection, and connects again (20 ms\n"
	"growing to 500 ms apart) while PATH is not there yet and whenever QEMU drops\n"
	"the connection: start it before or after QEMU, restart it at will.  The\n"
	"connection stays up while the DD/OS restarts.  --stats prints the relay's\n"
	"counters on exit; --status-fd N gets \"connected\\n\" and \"disconnected\\n\".\n";

static int net_open(const char *name, struct ddvm_net **net)
{
	struct ddvm_err err = { "" };
	char path[512];
	int ret;

	ret = ddvm_channel_socket(path, sizeof(path), name, &err);
	if (!ret)
		ret = ddvm_net_open(path, NET_OPEN_TIMEOUT_MS, net, &err);
	if (ret)
		fprintf(stderr, "ddvm net: %s\n", err.msg);
	return ret;
}

static const char *net_link_name(enum ddvm_net_link link)
{
	switch (link) {
	case DDVM_NET_LINK_UP:
		return "up";
	case DDVM_NET_LINK_NO_CARRIER:
		return "no carrier";
	default:
		return "no server (DD/OS restarting?)";
	}
}

static void net_print_counters(struct ddvm_net *net)
{
	struct ddvm_net_srv_counters c;
	struct ddvm_net_stats st;

	ddvm_net_server_counters(net, &c);
	ddvm_net_get_stats(net, &st);
	printf("DD/OS:        rx %" PRIu64 " frames (%" PRIu64 " dropped, ring full), tx %" PRIu64
	       " frames (%" PRIu64 " dropped)\n",
	       c.rx_frames, c.rx_dropped, c.tx_frames, c.tx_dropped);
	printf("client:       rx %" PRIu64 " frames %" PRIu64 " bytes, tx %" PRIu64 " frames %" PRIu64
	       " bytes, %" PRIu64 " doorbells\n",
	       st.rx_frames, st.rx_bytes, st.tx_frames, st.tx_bytes, st.doorbells);
	printf("              %" PRIu64 " bad descriptors, %" PRIu64 " ring errors, %" PRIu64
	       " generations, %" PRIu64 " full TX ring\n",
	       st.rx_bad, st.ring_errors, st.generations, st.tx_full);
}

static int net_info(struct ddvm_net *net)
{
	const struct ddvm_net_info *i = ddvm_net_info(net);
	enum ddvm_net_link link = ddvm_net_link(net);
	uint32_t gen, state, tx, rx;
	uint64_t hb;

	ddvm_net_server_state(net, &hb, &gen, &state);
	ddvm_net_ring_sizes(net, &tx, &rx);
	printf("NIC:          %.16s (driver %.32s)\n", i->ifname, i->driver);
	printf("MAC:          %02x:%02x:%02x:%02x:%02x:%02x\n", i->mac[0], i->mac[1], i->mac[2],
	       i->mac[3], i->mac[4], i->mac[5]);
	printf("MTU:          %u (frames up to %u bytes through the channel)\n", i->mtu,
	       ddvm_net_max_frame(net));
	printf("link:         %s\n", net_link_name(link));
	printf("rings:        %u TX, %u RX frames of %u bytes\n", tx, rx, DDVM_NET_BUF_SIZE);
	printf("server:       generation %u, heartbeat %" PRIu64 "\n", gen, hb);
	net_print_counters(net);
	return 0;
}

static int net_write_ready(int fd)
{
	static const char msg[] = "ready\n";
	ssize_t n;

	do {
		n = write(fd, msg, sizeof(msg) - 1);
	} while (n < 0 && errno == EINTR);
	return n == sizeof(msg) - 1 ? 0 : -EIO;
}

/*
 * SIGTERM and SIGINT become a readable fd that ends the foreground loops;
 * SIGPIPE is ignored (a closed ready pipe or a peer gone is no reason to die).
 */
static int net_stop_fd(const char *sub)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) || (fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "ddvm net %s: signalfd: %s\n", sub, strerror(errno));
		return -errno;
	}
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

static int net_tap(struct ddvm_net *net, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "netns", required_argument, NULL, 'n' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "no-offload", no_argument, NULL, 'p' },
		{ 0 }
	};
	const struct ddvm_net_info *info = ddvm_net_info(net);
	struct ddvm_tap_opts o = { .mtu = ddvm_net_mtu(net) };
	struct ddvm_err err = { "" };
	struct ddvm_tap_stats st;
	struct ddvm_tap *tap;
	int ready_fd = -1, stop_fd, c, ret;
	char *end;
	long v;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.ifname = optarg;
			break;
		case 'n':
			o.netns = optarg;
			break;
		case 'r':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 65535) {
				fprintf(stderr, "ddvm net tap: --ready-fd '%s' is not a descriptor\n",
					optarg);
				return -EINVAL;
			}
			ready_fd = (int)v;
			break;
		case 'p':
			o.plain = true;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc)	/* argv[0] is CHANNEL: nothing may follow the options */
		return -EINVAL;
	memcpy(o.mac, info->mac, sizeof(o.mac));

	stop_fd = net_stop_fd("tap");
	if (stop_fd < 0)
		return stop_fd;

	ret = ddvm_tap_open(&o, &tap, &err);
	if (ret) {
		fprintf(stderr, "ddvm net tap: %s\n", err.msg);
		goto out_close;
	}
	printf("%s: MAC %02x:%02x:%02x:%02x:%02x:%02x, MTU %u%s%s, on %.16s (%.32s)\n",
	       ddvm_tap_ifname(tap), o.mac[0], o.mac[1], o.mac[2], o.mac[3], o.mac[4], o.mac[5],
	       o.mtu, o.netns ? " in netns " : "", o.netns ? o.netns : "", info->ifname,
	       info->driver);
	fflush(stdout);
	if (ready_fd >= 0) {
		if (net_write_ready(ready_fd))
			fprintf(stderr, "ddvm net tap: --ready-fd %d: nobody listens\n", ready_fd);
		close(ready_fd);
	}
	ret = ddvm_tap_run(net, tap, stop_fd, &st, &err);
	if (ret)
		fprintf(stderr, "ddvm net tap: %s\n", err.msg);
	printf("%s: %" PRIu64 " frames to the channel, %" PRIu64 " from it; %" PRIu64
	       " too big, %" PRIu64 " refused by the tap, %" PRIu64 " waits for TX room\n",
	       ddvm_tap_ifname(tap), st.to_chan, st.from_chan, st.refused, st.write_errors,
	       st.tx_waits);
	net_print_counters(net);
	ddvm_tap_close(tap);
out_close:
	close(stop_fd);
	return ret;
}

static void net_stream_print_stats(const struct ddvm_net_stream_stats *st)
{
	printf("from QEMU:    %" PRIu64 " frames %" PRIu64 " bytes to the channel, %" PRIu64
	       " too big, %" PRIu64 " waits for TX room\n",
	       st->to_chan_frames, st->to_chan_bytes, st->too_big, st->tx_waits);
	printf("to QEMU:      %" PRIu64 " frames %" PRIu64 " bytes from the channel, %" PRIu64
	       " dropped (queue full), %" PRIu64 " waits for the socket, %" PRIu64
	       " dropped with no QEMU\n",
	       st->from_chan_frames, st->from_chan_bytes, st->queue_drops, st->write_waits,
	       st->idle_drops);
	printf("connections:  %" PRIu64 ", %" PRIu64 " dropped for a protocol error, %" PRIu64
	       " attempts\n", st->connections, st->protocol_errors, st->connect_attempts);
}

/*
 * "connected\n" or "disconnected\n" to the --status-fd, for a supervisor
 * that shows whether the VM's NIC has its backend.  Never blocks: a reader
 * that falls behind misses lines, the bridge goes on.
 */
static void net_stream_status(int fd, const char *line)
{
	ssize_t n;

	if (fd < 0)
		return;
	do {
		n = write(fd, line, strlen(line));
	} while (n < 0 && errno == EINTR);
}

/*
 * Connect to QEMU's socket, relay, and connect again whenever the
 * connection ends, until stopped.  Return: 0 or -errno.
 */
static int net_stream_serve(struct ddvm_net *net, const char *path, int stop_fd, int status_fd,
			    struct ddvm_net_stream_stats *st)
{
	struct ddvm_err err = { "" };
	int fd, ret;

	for (;;) {
		fprintf(stderr, "ddvm net stream: connecting to %s (QEMU listens there)\n", path);
		fd = ddvm_net_stream_connect(net, path, stop_fd, st, &err);
		if (fd == -EINTR)
			return 0;
		if (fd < 0) {
			fprintf(stderr, "ddvm net stream: %s\n", err.msg);
			return fd;
		}
		printf("connected to %s\n", path);
		fflush(stdout);
		fprintf(stderr, "ddvm net stream: connection %" PRIu64 " to %s, after %" PRIu64
			" attempts in all\n", st->connections + 1, path, st->connect_attempts);
		net_stream_status(status_fd, "connected\n");
		ret = ddvm_net_stream_relay(net, fd, stop_fd, st, &err);
		close(fd);
		net_stream_status(status_fd, "disconnected\n");
		if (ret == 1)
			return 0;
		if (ret == -EPROTO) {
			fprintf(stderr, "ddvm net stream: %s\n", err.msg);
		} else if (ret < 0) {
			fprintf(stderr, "ddvm net stream: %s\n", err.msg);
			return ret;
		} else {
			fprintf(stderr, "ddvm net stream: connection %" PRIu64
				" closed by QEMU\n", st->connections);
		}
	}
}

static int net_stream(struct ddvm_net *net, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "stats", no_argument, NULL, 't' },
		{ "status-fd", required_argument, NULL, 'f' },
		{ 0 }
	};
	const struct ddvm_net_info *i = ddvm_net_info(net);
	struct ddvm_net_stream_stats st = { 0 };
	const char *path = NULL;
	int stop_fd, status_fd = -1, c, ret;
	bool stats = false;
	char *end;
	long v;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 't':
			stats = true;
			break;
		case 'f':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 65535 || fcntl((int)v, F_GETFD) < 0) {
				fprintf(stderr, "ddvm net stream: --status-fd '%s' is not an open "
					"descriptor\n", optarg);
				return -EINVAL;
			}
			status_fd = (int)v;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || !path) {
		if (!path)
			fprintf(stderr, "ddvm net stream: --socket PATH is required\n");
		return -EINVAL;
	}
	if (status_fd >= 0 && fcntl(status_fd, F_SETFL, O_NONBLOCK)) {
		fprintf(stderr, "ddvm net stream: --status-fd %d: %s\n", status_fd,
			strerror(errno));
		return -EINVAL;
	}
	stop_fd = net_stop_fd("stream");
	if (stop_fd < 0)
		return stop_fd;
	fprintf(stderr,
		"ddvm net stream: channel %.16s (%.32s) MAC %02x:%02x:%02x:%02x:%02x:%02x MTU %u; give QEMU\n"
		"  -netdev stream,id=n0,server=on,addr.type=unix,addr.path=%s\n"
		"  -device virtio-net-pci,netdev=n0,mac=%02x:%02x:%02x:%02x:%02x:%02x,host_mtu=%u\n",
		i->ifname, i->driver, i->mac[0], i->mac[1], i->mac[2], i->mac[3], i->mac[4],
		i->mac[5], ddvm_net_mtu(net), path, i->mac[0], i->mac[1], i->mac[2], i->mac[3],
		i->mac[4], i->mac[5], ddvm_net_mtu(net));
	ret = net_stream_serve(net, path, stop_fd, status_fd, &st);
	if (stats)
		net_stream_print_stats(&st);
	close(stop_fd);
	return ret;
}

int cmd_net(int argc, char **argv)
{
	struct ddvm_net *net;
	const char *sub;
	int ret;

	if (argc < 3) {
		fputs(net_usage, stderr);
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "info") && strcmp(sub, "tap") && strcmp(sub, "stream")) {
		fprintf(stderr, "ddvm net: unknown subcommand '%s'\n%s", sub, net_usage);
		return 2;
	}
	if (net_open(argv[2], &net))
		return 1;
	/* let getopt see "CHANNEL ARGS...": drop "net SUB" */
	optind = 1;
	if (!strcmp(sub, "info"))
		ret = argc == 3 ? net_info(net) : -EINVAL;
	else if (!strcmp(sub, "tap"))
		ret = net_tap(net, argc - 2, argv + 2);
	else
		ret = net_stream(net, argc - 2, argv + 2);
	ddvm_net_close(net);
	if (ret == -EINVAL)
		fputs(net_usage, stderr);
	return ret ? 1 : 0;
}
