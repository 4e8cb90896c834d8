/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A net server in a child process over a memfd region and two eventfds:
 * the DD/OS side of a net channel, built from the same include/ddvm checks
 * as ddvm.ko, that echoes every frame the client sends back to it (source
 * and destination swapped).  Tests steer it through a shared control block:
 * pause it, restart it, stop it, make it inject frames or write hostile
 * descriptors; it counts the doorbells it gets.
 *
 * Unlike the DD/OS, which drops a frame for a full RX ring, the echo waits
 * for room (and asks to be woken for it), so a test can check every byte of
 * a long stream; it still drops, and counts, what a DD/OS would refuse.
 *
 * Like the DD/OS it offers DDVM_F_NET_OFFLOAD (unless told not to); a
 * client that accepts it gets every frame echoed with the offload header
 * it came with, a chain for a chain.
 */
#ifndef DDVM_FAKE_NET_SERVER_H
#define DDVM_FAKE_NET_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include "chan_client.h"

#define FAKE_NET_INJECT_MAX	4

enum fake_net_cmd {
	FAKE_NET_NOP = 0,
	FAKE_NET_RESTART,	/* a new generation now: everything in flight is lost */
	FAKE_NET_STOP,		/* state STOPPED: no server until FAKE_NET_START */
	FAKE_NET_START,		/* attach again after a STOP: a new generation */
	FAKE_NET_INJECT,	/* post ctl->inject[0..arg-1] on the RX ring */
	FAKE_NET_BAD_DESC,	/* post 4 descriptors with impossible lengths, then one frame */
	FAKE_NET_WILD_INDEX,	/* move the RX producer index 100000 ahead */
	FAKE_NET_LINK,		/* link_up = arg */
	FAKE_NET_BAD_CHAINS,	/* offloads: post 5 chains that break the rules, then one frame */
	FAKE_NET_CUT_CHAIN,	/* offloads: publish the first entry of a chain, never the rest */
};

/* Shared with the server process; fields the server counts are read-only to tests. */
struct fake_net_ctl {
	/* the test's */
	uint32_t paused;		/* nonzero: leave the TX ring alone */
	uint64_t restart_after;		/* nonzero: restart once this many frames were echoed */
	uint32_t cmd, cmd_arg;
	uint32_t cmd_seq;		/* the test bumps it to issue cmd */
	struct {
		uint16_t len;
		uint8_t data[128];
	} inject[FAKE_NET_INJECT_MAX];
	/* the server's */
	uint32_t cmd_done;		/* cmd_seq of the last command carried out */
	uint64_t doorbells;		/* times the client rang us */
	uint64_t tx_frames;		/* frames taken from the TX ring */
	uint64_t tx_dropped;		/* malformed or spoofed: refused as a DD/OS would */
	uint64_t tx_bad_hdr;		/* of them: chain or offload header refused */
	uint64_t tx_gso;		/* GSO frames taken */
	uint64_t echoed;		/* frames posted back on RX */
	uint64_t rx_waits;		/* times the echo found RX full and waited for room */
	uint32_t generation;
	uint32_t offload;		/* the current generation carries offloads */
	uint32_t last_tx_len;
	struct ddvm_net_hdr last_hdr;	/* of the last frame taken, with offloads */
	/*
	 * The last GSO frame taken, kept apart from last_*: a real tap also
	 * carries the kernel's own IPv6 chatter (MLD, ND), which may follow
	 * the frame a test sent.
	 */
	uint32_t last_gso_len;
	struct ddvm_net_hdr last_gso_hdr;
	uint8_t last_tx[2048];		/* the last frame taken from TX (its start) */
};

struct fake_net_opts {
	uint16_t mtu;			/* default 1500 */
	uint32_t buf_size;		/* default DDVM_NET_BUF_SIZE */
	uint8_t mac[6];			/* default 52:54:00:12:34:56 */
	int no_event_idx;		/* do not offer DDVM_F_EVENT_IDX */
	int no_offload;			/* do not offer DDVM_F_NET_OFFLOAD */
};

struct fake_net_server {
	pid_t pid;
	int memfd;
	void *region;
	uint64_t size;
	int srv_efd;		/* the server's doorbell (client rings it) */
	int cli_efd;		/* the client's doorbell */
	struct ddvm_chan_transport transport;	/* for ddvm_net_open_transport() */
	struct fake_net_ctl *ctl;
	struct fake_net_opts opts;
};

/*
 * fake_net_start - fork an echo server over a region of @region_size bytes.
 * @o: NULL for the defaults.  Return: 0 or -errno.
 */
int fake_net_start(struct fake_net_server *s, uint64_t region_size, const struct fake_net_opts *o);
void fake_net_stop(struct fake_net_server *s);

/* Have the server carry out @cmd; wait up to @timeout_ms.  Return: 0 or -ETIMEDOUT. */
int fake_net_cmd(struct fake_net_server *s, enum fake_net_cmd cmd, uint32_t arg, int timeout_ms);

#endif /* DDVM_FAKE_NET_SERVER_H */
