/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Channel monitor: the supervisor's read-only view of each channel region,
 * sampled into checked plain values for status, and the heartbeat
 * bookkeeping that hang detection builds on.
 *
 * The supervisor makes every region (ddvm_region_create) and hands it to
 * the hub, so it holds the memfd and can map it.  It never writes a region
 * and never takes part in the handshake: it is not in the data path.
 *
 * Everything in a region is written by a DD/OS or a client, so everything
 * read from it is hostile: the server and client blocks are copied once
 * into private memory, numbers are only ever printed or compared (an enum
 * out of range prints as "?N", never indexes anything), and strings are cut
 * at their field's end and made printable ASCII before they reach a log,
 * a terminal or state.json.
 */
#ifndef DDVM_CHANMON_H
#define DDVM_CHANMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* One sample of a region, decoded and checked. */
struct ddvm_chan_sample {
	bool served;		/* srv.magic is DDVM_MAGIC: some server wrote the block */
	bool version_ok;	/* srv.version is DDVM_VERSION: the fields below mean what we think */
	uint16_t version;
	uint16_t type;		/* enum ddvm_chan_type, as written */
	uint32_t state;		/* enum ddvm_srv_state, as written */
	uint32_t generation;
	uint32_t error;		/* enum ddvm_chan_error, as written */
	uint64_t heartbeat;
	uint64_t completed;
	/* the client block */
	bool cli_present;	/* cli.magic is DDVM_MAGIC */
	uint32_t cli_state;	/* enum ddvm_cli_state, as written */
	uint32_t cli_generation;
	/* by srv.type, valid when version_ok */
	struct {
		uint8_t mac[6];
		uint16_t mtu;
		bool link_up;
		uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped;
		uint64_t tx_bad_hdr, rx_segmented;
		bool offload;	/* both blocks say DDVM_F_NET_OFFLOAD: the client took it */
		char ifname[16];
		char driver[32];
	} net;
	struct {
		uint64_t capacity;
		uint32_t logical_block_size;
		uint64_t flags;
		char export_name[64];
		char driver[32];
	} blk;
};

/* One channel under watch. */
struct ddvm_chanmon {
	const void *map;	/* PROT_READ, MAP_SHARED; NULL when closed */
	size_t size;
	/* heartbeat bookkeeping, updated by ddvm_chanmon_sample() */
	uint64_t last_heartbeat;
	uint32_t last_generation;
	long long beat_ms;	/* last move seen (or first served sample); -1: never served */
	unsigned long samples;
};

/**
 * ddvm_region_create - a channel region as the hub would make it: a zeroed
 *	memfd of @size bytes, sealed against shrinking, growing and further
 *	seals (so nobody can make it read-only for the peers).
 * @name: for /proc/PID/fd and messages ("DOMAIN.CHANNEL")
 * @size: bytes
 * @fd:   the memfd, O_CLOEXEC, never 0..2 (a child's stdio would cover it)
 * @err:  names @name and what failed
 *
 * Return: 0 or -errno.
 */
int ddvm_region_create(const char *name, uint64_t size, int *fd, struct ddvm_err *err);

/**
 * ddvm_chanmon_open - map region @fd read-only for watching.
 * @m:    the monitor, filled
 * @fd:   the region (kept open by the caller; the mapping outlives it)
 * @size: its size, at least DDVM_HDR_SIZE
 * @name: for messages
 * @err:  what failed
 *
 * Return: 0 or -errno.
 */
int ddvm_chanmon_open(struct ddvm_chanmon *m, int fd, uint64_t size, const char *name,
		      struct ddvm_err *err);

/**
 * ddvm_chanmon_close - unmap; @m may be zeroed or already closed.
 * @m: the monitor
 */
void ddvm_chanmon_close(struct ddvm_chanmon *m);

/**
 * ddvm_chan_decode - decode the header of a region in memory: copy the
 *	server and client blocks once and check them.
 * @region: the region (at least @size bytes readable)
 * @size:   its size; smaller than DDVM_HDR_SIZE reads as "never served"
 * @out:    the sample
 *
 * Pure: the fuzzers and unit tests call it on made-up regions.
 */
void ddvm_chan_decode(const void *region, size_t size, struct ddvm_chan_sample *out);

/**
 * ddvm_chanmon_sample - decode @m's region now and note whether the
 *	heartbeat moved since the last sample.
 * @m:      the monitor
 * @now_ms: CLOCK_MONOTONIC milliseconds
 * @out:    the sample
 *
 * A new generation counts as a beat: a restarted server may start its
 * counter anywhere.
 */
void ddvm_chanmon_sample(struct ddvm_chanmon *m, long long now_ms, struct ddvm_chan_sample *out);

/**
 * ddvm_chanmon_beat_age - milliseconds since the supervisor last saw the
 *	heartbeat move (or, if it never has, since it first saw a server),
 *	as of @now_ms; -1 when no server ever wrote the region.  The
 *	resolution is the sampling period: hang detection should allow a few
 *	periods beyond DDVM_HEARTBEAT_MS.
 * @m:      the monitor
 * @now_ms: CLOCK_MONOTONIC milliseconds
 */
long long ddvm_chanmon_beat_age(const struct ddvm_chanmon *m, long long now_ms);

/**
 * ddvm_chan_attached - whether the sampled server claims to be attached
 *	(WAIT, RUN, ERROR or FAILED), so its heartbeat should move: what a
 *	hang detector checks before it trusts ddvm_chanmon_beat_age().
 * @s: the sample
 */
bool ddvm_chan_attached(const struct ddvm_chan_sample *s);

/* Names of what a region holds: "run", "?7" for a value out of range. */
const char *ddvm_srv_state_name(uint32_t state, char *buf, size_t len);
const char *ddvm_cli_state_name(uint32_t state, char *buf, size_t len);
const char *ddvm_chan_error_name(uint32_t error, char *buf, size_t len);
const char *ddvm_chan_type_name(uint32_t type, char *buf, size_t len);

/**
 * ddvm_chan_sample_json - @s as the "server"/"client" members of a channel
 *	in state.json (see state.h).
 * @s:            the sample
 * @beat_age_ms:  from ddvm_chanmon_beat_age()
 *
 * Return: a new object, or NULL when out of memory.
 */
json_t *ddvm_chan_sample_json(const struct ddvm_chan_sample *s, long long beat_age_ms);

#endif /* DDVM_CHANMON_H */
