/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Host CPU accounting for benchmarks: utime + stime of a set of processes
 * (all their threads) read from /proc/PID/stat, and the load average, so
 * a benchmark can say how many host CPU seconds each GiB moved cost.
 */
#ifndef DDVM_BENCH_CPU_H
#define DDVM_BENCH_CPU_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define DDVM_BENCH_MAX_PIDS	8

struct ddvm_bench_cpu {
	const char *proc;	/* the proc mount; NULL: "/proc" (tests use a fake tree) */
	long hz;		/* clock ticks per second; 0: sysconf(_SC_CLK_TCK) */
	unsigned int nr;
	pid_t pids[DDVM_BENCH_MAX_PIDS];
};

/**
 * ddvm_proc_stat_ticks - utime + stime from the text of /proc/PID/stat.
 * @text:  the file's content, NUL-terminated
 * @ticks: clock ticks the process (every thread, not its children) ran
 *
 * The command name in parentheses may hold spaces and ')': fields are
 * counted from the last ')'.
 *
 * Return: 0 or -EINVAL for text that is not a stat line.
 */
int ddvm_proc_stat_ticks(const char *text, uint64_t *ticks);

/* ddvm_bench_cpu_add - account @pid too.  Return: 0, -ENOSPC when full, -EINVAL for pid <= 0. */
int ddvm_bench_cpu_add(struct ddvm_bench_cpu *c, pid_t pid);

/**
 * ddvm_bench_cpu_sample - CPU seconds the processes of @c have used so far.
 * @c:       the processes
 * @seconds: their sum
 * @err:     names the process that could not be read
 *
 * Return: 0, -ESRCH (a process is gone), -EINVAL, -errno.
 */
int ddvm_bench_cpu_sample(const struct ddvm_bench_cpu *c, double *seconds, struct ddvm_err *err);

/**
 * ddvm_loadavg - the 1, 5 and 15 minute load averages from PROC/loadavg.
 * @proc: the proc mount, NULL for "/proc"
 * @avg:  filled
 *
 * Return: 0 or -errno / -EINVAL.
 */
int ddvm_loadavg(const char *proc, double avg[3]);

#endif /* DDVM_BENCH_CPU_H */
