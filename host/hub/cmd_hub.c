// SPDX-License-Identifier: GPL-2.0
/* "ddvm hub": the command line around the hub core (hub.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../cli/commands.h"
#include "hub.h"
#include "units.h"

#define HUB_USAGE \
	"usage: ddvm hub [--ready-fd N] [--max-peers N] [--vectors N] SOCKDIR NAME=SIZE[@fd:N] ...\n" \
	"  Serves each channel NAME on SOCKDIR/NAME.sock with a shared region of SIZE\n" \
	"  bytes (power of two, 64K..16G, suffix K/M/G) until SIGTERM or SIGINT.\n" \
	"  @fd:N   the region is inherited descriptor N (a memfd of SIZE bytes,\n" \
	"          sealed against resizing) instead of one the hub makes\n" \
	"  --ready-fd N   write \"ready\\n\" to fd N once every socket listens, then close it\n" \
	"  --max-peers N  peers per channel (default 2: one server, one client)\n" \
	"  --vectors N    doorbell eventfds per peer (default 1; QEMU's vectors= must match)\n"

static int parse_uint(const char *opt, const char *arg, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v > max) {
		fprintf(stderr, "ddvm hub: %s '%s' is not a number in 0..%u\n", opt, arg, max);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int write_ready(int fd)
{
	static const char msg[] = "ready\n";
	size_t done = 0;

	while (done < sizeof(msg) - 1) {
		ssize_t n = write(fd, msg + done, sizeof(msg) - 1 - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* SIGTERM/SIGINT become a readable fd that stops the event loop. */
static int stop_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	/* MSG_NOSIGNAL covers the sockets; this covers a closed ready pipe */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

int cmd_hub(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "max-peers", required_argument, NULL, 'm' },
		{ "vectors", required_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ddvm_hub_config cfg = {
		.max_peers = DDVM_HUB_DEFAULT_MAX_PEERS,
		.vectors = DDVM_HUB_DEFAULT_VECTORS,
	};
	struct ddvm_hub_channel_spec *specs;
	struct ddvm_err err = { "" };
	struct ddvm_hub *hub;
	unsigned int ready_fd = 0, i;
	int have_ready = 0;
	int stop_fd, c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_uint("--ready-fd", optarg, 65535, &ready_fd))
				return 2;
			have_ready = 1;
			break;
		case 'm':
			if (parse_uint("--max-peers", optarg, DDVM_HUB_MAX_PEERS, &cfg.max_peers))
				return 2;
			break;
		case 'v':
			if (parse_uint("--vectors", optarg, 1024, &cfg.vectors))
				return 2;
			break;
		case 'h':
			fputs(HUB_USAGE, stdout);
			return 0;
		default:
			fputs(HUB_USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "ddvm hub: need a socket directory and at least one NAME=SIZE\n%s",
			HUB_USAGE);
		return 2;
	}
	if (have_ready && fcntl((int)ready_fd, F_GETFD) < 0) {
		fprintf(stderr, "ddvm hub: --ready-fd %u: %s\n", ready_fd, strerror(errno));
		return 2;
	}
	cfg.sockdir = argv[optind++];
	cfg.nr_channels = (unsigned int)(argc - optind);
	specs = calloc(cfg.nr_channels, sizeof(*specs));
	if (!specs) {
		fprintf(stderr, "ddvm hub: out of memory\n");
		return 1;
	}
	for (i = 0; i < cfg.nr_channels; i++) {
		if (ddvm_hub_parse_channel(argv[optind + i], &specs[i], &err)) {
			fprintf(stderr, "ddvm hub: %s\n", err.msg);
			free(specs);
			return 2;
		}
	}
	cfg.channels = specs;

	stop_fd = stop_signals();
	if (stop_fd < 0) {
		fprintf(stderr, "ddvm hub: signalfd: %s\n", strerror(errno));
		free(specs);
		return 1;
	}
	ret = ddvm_hub_create(&cfg, &hub, &err);
	/* the hub holds its own copies of inherited regions */
	for (i = 0; i < cfg.nr_channels; i++)
		if (specs[i].inherited)
			close(specs[i].fd);
	if (ret) {
		fprintf(stderr, "ddvm hub: %s\n", err.msg);
		ret = ret == -EINVAL ? 2 : 1;
		goto out_close;
	}
	for (i = 0; i < cfg.nr_channels; i++) {
		char size[24];

		ddvm_hub_log("channel %s: listening on %s/%s.sock, region %s%s, up to %u peers with %u vectors",
			     specs[i].name, cfg.sockdir, specs[i].name,
			     ddvm_format_size(specs[i].size, size, sizeof(size)),
			     specs[i].inherited ? " (inherited)" : "",
			     cfg.max_peers, cfg.vectors);
	}
	if (have_ready) {
		ret = write_ready((int)ready_fd);
		close((int)ready_fd);
		if (ret) {
			ddvm_hub_log("--ready-fd %u: %s; nobody waits for us, stopping",
				     ready_fd, strerror(-ret));
			ret = 1;
			goto out_destroy;
		}
	}
	ret = ddvm_hub_run(hub, stop_fd) ? 1 : 0;
	if (!ret)
		ddvm_hub_log("stopping on signal");

out_destroy:
	ddvm_hub_destroy(hub);
out_close:
	close(stop_fd);
	free(specs);
	return ret;
}
