/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A net channel as a Linux TAP interface of the host: the kernel's network
 * stack (or a bridge, or a VM's tap backend) sends and receives Ethernet
 * frames on it, and an adapter loop moves them to and from the channel.
 * The interface carries the client's MAC and the NIC's MTU, follows the
 * NIC's carrier, and stays up while the DD/OS restarts.
 *
 * Unless opened plain, the tap speaks virtio-net headers (IFF_VNET_HDR)
 * and, while the channel carries offloads (ddvm_net_set_offload), lets the
 * host stack hand it unfinished checksums and 64 KiB TCP frames
 * (TUNSETOFFLOAD), which cross the channel as they are; the DD/OS's NIC
 * segments them.  Received merged segments come out the same way.
 */
#ifndef DDVM_TAP_H
#define DDVM_TAP_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "net_client.h"

/* Frames read from the tap before one ddvm_net_send(). */
#define DDVM_TAP_BATCH	64

struct ddvm_tap;

struct ddvm_tap_opts {
	const char *ifname;	/* NULL or "": "ddvm%d"; a %d picks a free number */
	const char *netns;	/* NULL: the current one; else a name under /var/run/netns */
	uint8_t mac[6];
	uint32_t mtu;
	bool plain;		/* frames only: no virtio-net header, no offloads */
};

/*
 * ddvm_tap_open - create a TAP interface (IFF_TAP | IFF_NO_PI) in
 * @o->netns, give it @o->mac and @o->mtu, and bring it up.  The interface
 * lives as long as the tap is open.  Return: 0 or -errno with @err filled.
 */
int ddvm_tap_open(const struct ddvm_tap_opts *o, struct ddvm_tap **out, struct ddvm_err *err);
void ddvm_tap_close(struct ddvm_tap *tap);

const char *ddvm_tap_ifname(const struct ddvm_tap *tap);
int ddvm_tap_fd(const struct ddvm_tap *tap);

int ddvm_tap_set_mac(struct ddvm_tap *tap, const uint8_t mac[6], struct ddvm_err *err);
int ddvm_tap_set_mtu(struct ddvm_tap *tap, uint32_t mtu, struct ddvm_err *err);
/* Show the NIC's carrier on the interface (a no-op on kernels before 5.0). */
int ddvm_tap_set_carrier(struct ddvm_tap *tap, bool on);
/*
 * Let the host stack hand the tap unfinished checksums and TCP frames to
 * segment (@on), or not; -EINVAL for a plain tap.  Return: 0 or -errno.
 */
int ddvm_tap_set_offload(struct ddvm_tap *tap, bool on);

struct ddvm_tap_stats {
	uint64_t to_chan;	/* frames read from the tap and queued on the channel */
	uint64_t from_chan;	/* frames from the channel written to the tap */
	uint64_t refused;	/* frames from the tap the channel cannot carry (size) */
	uint64_t write_errors;	/* frames from the channel the tap refused (e.g. it is down) */
	uint64_t tx_waits;	/* times the TX ring was full and the tap was left alone */
	uint64_t carrier_changes;
	uint64_t offload_changes;	/* times the tap's offloads followed a new server */
};

/*
 * ddvm_tap_run - move frames between @tap and @net until @stop_fd becomes
 * readable (a signalfd, an eventfd) or the channel fails.
 *
 * Per wakeup: reads up to DDVM_TAP_BATCH frames from the tap and queues them
 * with one ddvm_net_send(); drains the channel in batches and writes each
 * frame to the tap.  A tap that is not plain asks the channel for
 * offloads and turns its own on and off with each server's answer.  While the TX ring is full the tap is not read, so the
 * kernel queues (and, past its queue, drops) as it would for a slow NIC.
 * Return: 0 when stopped, -errno if the hub went away or the tap broke.
 */
int ddvm_tap_run(struct ddvm_net *net, struct ddvm_tap *tap, int stop_fd,
		 struct ddvm_tap_stats *st, struct ddvm_err *err);

#endif /* DDVM_TAP_H */
