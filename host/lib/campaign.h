/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Fault campaign: keep verified random I/O going through a block channel
 * while a caller-supplied injector makes the driver domain fail again and
 * again, and account for every request, every recovery and every byte.
 */
#ifndef DDVM_CAMPAIGN_H
#define DDVM_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "blk_client.h"
#include "err.h"

#define DDVM_CAMPAIGN_NR_KINDS	6
#define DDVM_CAMPAIGN_QD_MAX	64

/* kill, panic, hang, oops, wedge, corrupt: what `ddvm inject` takes */
extern const char *const ddvm_campaign_kinds[DDVM_CAMPAIGN_NR_KINDS];

struct ddvm_campaign_fault {
	int kind;			/* index into ddvm_campaign_kinds */
	bool recovered;			/* I/O completed again within the bound */
	long long recovery_ms;		/* injection to the first completion after; -1 */
	long long ready_ms;		/* supervisor: detection to DDVM-READY; -1 unknown */
	char cause[24];			/* supervisor's last_restart_cause; "" unknown */
	uint64_t replayed;		/* ddvm_blk_get_stats deltas over the fault */
	uint64_t bad_completions;
	uint64_t client_errors;		/* requests that completed with an error */
	uint64_t mismatches;		/* reads that were not what was acknowledged */
	char error[192];		/* what went wrong, "" if nothing */
};

/* One request slot; the campaign owns the buffers. */
struct ddvm_campaign_slot {
	struct ddvm_blk_io io;
	uint8_t *buf;
	bool busy;
};

struct ddvm_campaign {
	/* set by the caller */
	struct ddvm_blk *blk;
	const char *run_dir;		/* of the supervisor: state.json */
	const char *domain;
	uint64_t seed;
	uint64_t disk_size;		/* bytes the workload covers */
	unsigned int nr_faults;
	unsigned int qd;		/* capped at the channel's depth and QD_MAX */
	unsigned int recover_ms;	/* per fault: beyond it, "not recovered" */
	bool spare;			/* wait for the warm spare before each fault */
	/* blocking; runs in a thread of its own; 0 or -errno, output in @out */
	int (*inject)(void *arg, const char *kind, char *out, size_t len);
	void *inject_arg;

	/* results */
	struct ddvm_campaign_fault *faults;	/* nr_run of them */
	unsigned int nr_run;
	uint64_t writes, reads, bytes_written, bytes_read;
	uint64_t mismatches;		/* corrupted reads */
	uint64_t client_errors;		/* requests completed with an error */
	uint64_t doubled;		/* completions of requests not in flight */
	uint64_t submitted, completed;	/* the library's own counters at the end */
	uint64_t replayed, bad_completions;
	uint64_t lost_sectors;		/* acknowledged sectors not in the image */
	uint64_t stray_sectors;		/* never-written sectors that are not zero */
	uint64_t first_bad;		/* image offset of the first bad byte, or UINT64_MAX */
	bool image_checked;
	double seconds;
	char fatal[256];		/* why the campaign stopped early, "" if it did not */

	/* private */
	uint8_t *written;		/* 1 bit per 512-byte sector, set when acknowledged */
	struct ddvm_campaign_slot slots[DDVM_CAMPAIGN_QD_MAX];
	uint64_t rng;
};

/*
 * ddvm_campaign_run - I/O, then @nr_faults injections at random gaps of
 *	0.5-3 s, each followed by a wait for the domain to serve again;
 *	then drain and flush.
 *
 * Return: 0 when it ran to the end (the results say how well), or -errno
 * with c->fatal saying why it stopped.
 */
int ddvm_campaign_run(struct ddvm_campaign *c);

/*
 * ddvm_campaign_compare_image - the image must hold the pattern of @seed in
 *	every 512-byte sector set in @written and zeroes elsewhere.
 * @lost:      acknowledged sectors that do not hold their pattern
 * @stray:     never-written sectors that are not zero
 * @first_bad: offset of the first bad byte, UINT64_MAX if none
 *
 * Return: 0 if the image matches, -EIO if not, -errno if unreadable.
 */
int ddvm_campaign_compare_image(const char *image, const uint8_t *written, uint64_t size,
				uint64_t seed, uint64_t *lost, uint64_t *stray,
				uint64_t *first_bad);

/* The per-kind table and the totals, for people. */
void ddvm_campaign_print(const struct ddvm_campaign *c, FILE *f);

/* The same as JSON in @path. Return: 0 or -errno with @err filled. */
int ddvm_campaign_write_json(const struct ddvm_campaign *c, const char *path,
			     struct ddvm_err *err);

/* Whether the results are clean: all recovered, nothing lost, doubled or wrong. */
bool ddvm_campaign_ok(const struct ddvm_campaign *c);

void ddvm_campaign_free(struct ddvm_campaign *c);

#endif /* DDVM_CAMPAIGN_H */
