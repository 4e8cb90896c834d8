/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ddvm bench blk`: the same workloads on the same image and controller,
 * first "native" (fio inside a DD/OS booted from the bench image), then
 * "reuse" (a host client through the channel of a DD/OS served by a
 * private supervisor), with host CPU accounted for each.  The scratch
 * image is the benchmark's own: the user's disks are never written.
 */
#ifndef DDVM_BENCH_BLK_H
#define DDVM_BENCH_BLK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "accel.h"
#include "bench_engine.h"
#include "bench_report.h"
#include "config.h"
#include "err.h"
#include "progress.h"

#define DDVM_BENCH_NATIVE_MEMORY	(384ULL << 20)	/* fio's libraries unpack in RAM */
#define DDVM_BENCH_DEFAULT_SIZE		(1ULL << 30)
#define DDVM_BENCH_DEFAULT_RUNTIME	6
#define DDVM_BENCH_DEFAULT_RAMP		2
#define DDVM_BENCH_IOENGINE		"libaio"

/* What happens, for the command to show. */
struct ddvm_bench_progress {
	unsigned int step, total;	/* step 0: a message outside the workloads */
	const char *side;		/* "native", "reuse" */
	const struct ddvm_bench_workload *w;	/* NULL with a message */
	const struct ddvm_bench_result *res;	/* NULL: the workload starts */
	const char *msg;		/* a message, or the failure of @w */
};

/* Who gets the progress of a benchmark run (the command's printer). */
struct ddvm_bench_sink {
	void (*progress)(void *ctx, const struct ddvm_bench_progress *p);
	void *ctx;
	unsigned int total;		/* steps in the run */
};

/* Send a free-form progress line to @s (nothing if it has no printer). */
void ddvm_bench_say(const struct ddvm_bench_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Tell @s that @side of workload @w starts (@res NULL) or finished. */
void ddvm_bench_step(const struct ddvm_bench_sink *s, unsigned int step, const char *side,
		     const struct ddvm_bench_workload *w, const struct ddvm_bench_result *res,
		     const char *msg);

/* Seconds on CLOCK_MONOTONIC, for the benchmarks' deadlines and windows. */
double ddvm_bench_now(void);

struct ddvm_bench_blk_opts {
	const struct ddvm_config *cfg;	/* from ddvm_bench_blk_config(), paths absolute */
	const char *bench_initrd;	/* the initramfs with fio */
	const struct ddvm_accel *accel;
	unsigned int ramp, runtime;	/* seconds per workload */
	const char *exe;		/* the ddvm binary, for the hub: "/proc/self/exe" */
	const char *command;		/* the command line, for the report */
	void (*progress)(void *ctx, const struct ddvm_bench_progress *p);
	void *ctx;
	volatile sig_atomic_t *stop;	/* if not NULL: set, the native side stops */
};

/**
 * ddvm_bench_blk_config - the config a benchmark runs: domain @domain of
 *	@in (the first if NULL) with one channel (its first, or the default)
 *	over the whole disk, its disk replaced by the scratch image, no warm
 *	spare and no client VMs.
 * @out:        filled; relative paths stay relative (absolutize after)
 * @in:         the loaded config
 * @domain:     a domain name or NULL
 * @controller: the controller to use, or -1 for the domain's own
 * @image:      the scratch image
 * @size:       its size
 * @run_dir:    the benchmark's private run directory
 * @err:        names the domain that is missing or the path too long
 *
 * Return: 0, -ENOENT (no such domain), -ENAMETOOLONG.
 */
int ddvm_bench_blk_config(struct ddvm_config *out, const struct ddvm_config *in,
			  const char *domain, int controller, const char *image, uint64_t size,
			  const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_bench_scratch - make @path a @size-byte image full of data.
 * @path:   the scratch image (created, or resized when its size differs)
 * @size:   bytes
 * @filled: set when it was (re)filled now
 * @err:    names the image
 *
 * A file of the right size whose first and last 4 KiB are not zero is
 * taken as filled by an earlier run.  Data is the seeded pattern, so
 * neither side reads holes or zeroes.
 *
 * Return: 0 or -errno.
 */
int ddvm_bench_scratch(const char *path, uint64_t size, bool *filled, struct ddvm_err *err);

/**
 * ddvm_bench_blk_run - run both sides and fill @rep.
 * @o:   what to run
 * @rep: the report; a side that failed has its error set and the other
 *	 side still runs
 * @err: why nothing could be measured (lock, preflight, image)
 *
 * Return: 0 when the run went through (look at @rep for failed sides),
 * else -errno.
 */
int ddvm_bench_blk_run(const struct ddvm_bench_blk_opts *o, struct ddvm_bench_blk_report *rep,
		       struct ddvm_err *err);

/**
 * ddvm_bench_blk_native - only the native side (fio in a DD/OS booted from
 *	the bench image) of @o into @rep (native results, native_error,
 *	env); for `ddvm bench client`, which holds the run directory's lock
 *	and has checked the scratch image and ddvm_bench_preflight().
 * @o:   what to run; @o->cfg->run_dir exists
 * @rep: the report
 * @err: why nothing could be run
 *
 * Return: 0 (see @rep for failures) or -EINVAL.
 */
int ddvm_bench_blk_native(const struct ddvm_bench_blk_opts *o, struct ddvm_bench_blk_report *rep,
			  struct ddvm_err *err);

/**
 * ddvm_bench_preflight - what would fail later in a benchmark of @cfg:
 *	the supervisor's preflight, also with @bench_initrd as the image.
 * @cfg:          the benchmark's config, paths absolute
 * @bench_initrd: the initramfs with fio and iperf3
 * @err:          names the file or program at fault
 *
 * Return: 0 or -errno.
 */
int ddvm_bench_preflight(const struct ddvm_config *cfg, const char *bench_initrd,
			 struct ddvm_err *err);

/* Helpers the net benchmark shares. */

/* ddvm_bench_capture_line - the first line @argv prints on stdout, or "" (version strings). */
void ddvm_bench_capture_line(char *const *argv, char *out, size_t len);

/* The host a benchmark runs on: when, which kernel, how many CPUs, which QEMU. */
struct ddvm_bench_host {
	char date[32];			/* ISO 8601, UTC */
	char host_kernel[128];
	long host_cpus;
	char qemu_version[128];
};

/* ddvm_bench_host_info - fill @h now. */
void ddvm_bench_host_info(struct ddvm_bench_host *h);

/* ddvm_bench_kernel_abi - the "abi" file beside @kernel, or "unknown". */
void ddvm_bench_kernel_abi(const char *kernel, char *out, size_t len);

/*
 * ddvm_bench_reap - send @sig_first (if not 0), wait up to @ms for child
 * @pid to exit, then SIGKILL it.  Return: its wait status.
 */
int ddvm_bench_reap(pid_t pid, int ms, int sig_first);

/**
 * ddvm_bench_supervise - run a supervisor for @cfg, as `ddvm up` does, in
 *	a child of ours, and follow its progress until its domains serve
 *	and its client VMs run.
 * @cfg:      absolute paths, a private run directory
 * @accel:    the accelerator
 * @lock_fd:  the run directory's lock, held by us
 * @exe:      the ddvm binary, for the hub
 * @deadline: CLOCK_MONOTONIC seconds to give up at
 * @line:     gets each progress line
 * @ctx:      for @line
 * @sv_pid:   the supervisor's pid (> 0 even on failure once forked: stop it)
 * @err:      why not, with the supervisor's last progress line
 *
 * Return: 0 or -errno (-EIO: a DD/OS or VM did not come up).
 */
int ddvm_bench_supervise(const struct ddvm_config *cfg, const struct ddvm_accel *accel, int lock_fd,
			 const char *exe, double deadline, ddvm_progress_fn *line, void *ctx,
			 pid_t *sv_pid, struct ddvm_err *err);

#endif /* DDVM_BENCH_BLK_H */
