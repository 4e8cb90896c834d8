/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block benchmark workloads and the "reuse" engine: a time-based,
 * queue-depth-driven submit/reap loop over libddvm that measures what fio
 * measures inside the DD/OS, so the two sides compare like for like.
 */
#ifndef DDVM_BENCH_ENGINE_H
#define DDVM_BENCH_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_cpu.h"
#include "blk_client.h"
#include "err.h"

/* One workload, run the same way by fio (native) and by the engine (reuse). */
struct ddvm_bench_workload {
	const char *name;	/* "seq-read": fio job name, JSON key, plot label */
	const char *label;	/* "seq read 1M QD8", for people */
	bool write;
	bool random;		/* uniform 4K-aligned offsets; else a sequential sweep */
	uint32_t bs;		/* bytes per I/O */
	uint32_t qd;		/* I/Os in flight */
	bool throughput;	/* headline metric MiB/s (else IOPS) */
	/* net (`ddvm bench net`): write is "send to the remote host" */
	uint32_t mtu;		/* the link's MTU during the run; 0: a block workload */
	bool rtt;		/* ping round trips: the metric is the mean RTT */
};

/*
 * The workloads of `ddvm bench blk`, in the order they run: DESIGN.md §5's
 * 1 MiB sequential read/write and 4 KiB random read at QD1 and QD32.
 * QD8 for 1 MiB keeps 8 MiB in flight: enough to keep the emulated
 * controller busy, and within the channel's 32 slots of 1 MiB.
 */
extern const struct ddvm_bench_workload ddvm_bench_workloads[];
extern const unsigned int ddvm_bench_nr_workloads;

/* What one side measured for one workload. */
struct ddvm_bench_result {
	bool valid;		/* measured; false: not run or failed (see error) */
	char error[256];
	double seconds;		/* measured window (ramp excluded) */
	uint64_t ios;		/* completed in the window */
	uint64_t bytes;
	double iops;
	double mib_s;
	double lat_mean_us;	/* submission to completion */
	double lat_p50_us;
	double lat_p99_us;
	double lat_max_us;	/* a lost wake-up shows here first */
	double lat_min_us;	/* net RTT only */
	/* host CPU of the run's processes over cpu_window seconds */
	double cpu_seconds;
	double cpu_window;
	double cpu_s_per_gib;	/* (cpu_seconds / cpu_window) / (GiB/s) */
};

/* ddvm_bench_result_cpu - fill cpu_s_per_gib from cpu_seconds, cpu_window and mib_s. */
void ddvm_bench_result_cpu(struct ddvm_bench_result *r);

/* Latency histogram: log-linear, 1/64 relative resolution, any ns value. */
#define DDVM_HIST_SUB_BITS	6
#define DDVM_HIST_BUCKETS	((64 - DDVM_HIST_SUB_BITS + 1) << DDVM_HIST_SUB_BITS)

struct ddvm_hist {
	uint64_t count;
	double sum;		/* ns */
	uint64_t max;		/* ns */
	uint64_t buckets[DDVM_HIST_BUCKETS];
};

void ddvm_hist_add(struct ddvm_hist *h, uint64_t ns);

/* ddvm_hist_percentile - the value (ns) at percentile @p (0..100); 0 when empty. */
double ddvm_hist_percentile(const struct ddvm_hist *h, double p);

struct ddvm_bench_engine_opts {
	uint64_t size;		/* bytes of the device to use, from offset 0 */
	double ramp;		/* seconds run before measuring */
	double runtime;		/* seconds measured */
	uint64_t seed;
	const struct ddvm_bench_cpu *cpu;	/* processes to account, or NULL */
	int stall_ms;		/* no completion for this long: -ETIMEDOUT */
};

/**
 * ddvm_bench_engine_run - run workload @w on @blk and measure it.
 * @blk: an open channel
 * @w:   the workload; an I/O bigger than the channel's max_io is split,
 *	 and counts as done when all its pieces are
 * @o:   size, times, accounting
 * @res: filled (valid) on success
 * @err: names the workload and what failed
 *
 * Requests in flight when the time is up are collected but not counted.
 *
 * Return: 0, -EINVAL (the workload does not fit the device or channel),
 * -EIO (a request failed), -ETIMEDOUT (the device stalled), -errno.
 */
int ddvm_bench_engine_run(struct ddvm_blk *blk, const struct ddvm_bench_workload *w,
			  const struct ddvm_bench_engine_opts *o, struct ddvm_bench_result *res,
			  struct ddvm_err *err);

#endif /* DDVM_BENCH_ENGINE_H */
