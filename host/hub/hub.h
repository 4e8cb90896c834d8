/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ddvm hub: hands each channel's shared memory and doorbell eventfds to
 * the peers that connect to the channel's socket, speaking QEMU's ivshmem
 * server protocol.  A library-like core; cmd_hub.c is its command line.
 */
#ifndef DDVM_HUB_H
#define DDVM_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define DDVM_HUB_NAME_MAX		64	/* channel name length */
#define DDVM_HUB_DEFAULT_MAX_PEERS	2	/* a channel is one server + one client */
#define DDVM_HUB_DEFAULT_VECTORS	1
#define DDVM_HUB_MAX_PEERS		65536	/* ids are 0..65535 */

struct ddvm_hub;

struct ddvm_hub_channel_spec {
	char name[DDVM_HUB_NAME_MAX + 1];
	uint64_t size;			/* bytes, power of two */
	/*
	 * The region, made by whoever started the hub (the supervisor keeps
	 * a read-only view of it for status and hang detection): a memfd of
	 * exactly @size bytes, sealed against shrinking and growing.  When
	 * @inherited is false the hub makes its own.
	 */
	bool inherited;
	int fd;
};

struct ddvm_hub_config {
	const char *sockdir;		/* channel NAME listens on SOCKDIR/NAME.sock */
	const struct ddvm_hub_channel_spec *channels;
	unsigned int nr_channels;
	unsigned int max_peers;		/* per channel, 1..DDVM_HUB_MAX_PEERS */
	unsigned int vectors;		/* eventfds per peer, 1..DDVM_IVSHMEM_MAX_VECTORS */
};

/**
 * ddvm_hub_parse_size() - parse a region size such as "1M".
 * @arg: decimal number with an optional K, M or G suffix (powers of 1024)
 * @size: result in bytes
 * @err: filled with a message naming @arg on failure
 *
 * The size must be a power of two (QEMU maps it as a PCI BAR) between 64K
 * and 16G.
 *
 * Return: 0 or -EINVAL.
 */
int ddvm_hub_parse_size(const char *arg, uint64_t *size, struct ddvm_err *err);

/**
 * ddvm_hub_parse_channel() - parse a "NAME=SIZE" or "NAME=SIZE@fd:N"
 *	channel argument.
 * @arg: the argument
 * @spec: result
 * @err: filled with a message naming @arg on failure
 *
 * NAME is 1..64 characters of [A-Za-z0-9_.-], not starting with '.'.
 * "@fd:N" names an inherited descriptor holding the region (see
 * struct ddvm_hub_channel_spec); it is checked by ddvm_hub_create().
 *
 * Return: 0 or -EINVAL.
 */
int ddvm_hub_parse_channel(const char *arg, struct ddvm_hub_channel_spec *spec,
			   struct ddvm_err *err);

/**
 * ddvm_hub_create() - create every channel's region and listening socket.
 * @cfg: what to serve; copied, need not outlive the call
 * @out: the new hub
 * @err: filled with a message naming the channel or path at fault
 *
 * Each channel gets a zeroed memfd of its size, sealed against resizing, and
 * a socket SOCKDIR/NAME.sock; a stale socket there is replaced, a live one
 * (another hub answers on it) is an error.  When this returns 0 every socket
 * listens, so QEMU may be started.
 *
 * An inherited region must be a memfd of exactly the channel's size, sealed
 * (or sealable) against resizing, not write-sealed, and not another
 * channel's region; the hub uses a duplicate, the caller keeps its fd.
 *
 * Return: 0 or -errno.
 */
int ddvm_hub_create(const struct ddvm_hub_config *cfg, struct ddvm_hub **out,
		    struct ddvm_err *err);

/**
 * ddvm_hub_run() - serve peers until @stop_fd becomes readable.
 * @hub: the hub
 * @stop_fd: e.g. a signalfd for SIGTERM/SIGINT; -1 to run forever
 *
 * Single-threaded.  Logs every connect, disconnect and error to stderr, one
 * timestamped line each.  @stop_fd is not read.
 *
 * Return: 0 when stopped, -errno if waiting for events failed.
 */
int ddvm_hub_run(struct ddvm_hub *hub, int stop_fd);

/**
 * ddvm_hub_destroy() - disconnect every peer, unlink the sockets, free @hub.
 * @hub: the hub, or NULL
 *
 * Peers are not told about each other's departure: they may keep using
 * their regions and doorbells (the spec allows that when the server goes).
 */
void ddvm_hub_destroy(struct ddvm_hub *hub);

/**
 * ddvm_hub_log() - write one timestamped line to stderr.
 * @fmt: printf format, without the trailing newline
 */
void ddvm_hub_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* DDVM_HUB_H */
