/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Benchmarks whose tool (fio, iperf3) runs inside a VM, a DD/OS or a
 * client VM: follow the VM's console for the bench console protocol
 * (bench_fio.h), sample host CPU at each workload's marks, and turn each
 * workload's output into its result.  The console is either a pipe from
 * a QEMU we start (ddvm_bench_vm_run) or the console log a supervisor
 * writes for a VM it started (ddvm_bench_vm_follow).  Also: the processes
 * of a supervised run, from its state.json, for CPU accounting.
 */
#ifndef DDVM_BENCH_VM_H
#define DDVM_BENCH_VM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "argv.h"
#include "bench_cpu.h"
#include "bench_engine.h"
#include "bench_fio.h"
#include "bench_report.h"
#include "config.h"
#include "err.h"

/* per workload beyond its own time (ramp + runtime): the tool's start, its JSON */
#define DDVM_BENCH_WORKLOAD_SLACK_S	60
/* a VM that printed its script's end has this long to power off */
#define DDVM_BENCH_POWEROFF_MS		15000

/**
 * struct ddvm_bench_watch - one VM's run of the bench script, seen on its
 *	console.  Zero it, set the inputs, ddvm_bench_watch_fd() (or one
 *	of the ddvm_bench_vm_* that call it), then ddvm_bench_watch_free().
 * @w:       the workloads the script runs (by name)
 * @nr:      how many
 * @res:     @nr results, filled as their output arrives
 * @cpu:     the host processes whose CPU each workload is charged with
 * @what:    the VM, for messages: "the bench DD/OS", "client VM bcvm"
 * @boot_s:  seconds to the script's begin line
 * @step_s:  then seconds from each protocol line to the next
 * @log_fd:  every console line is copied here, or -1
 * @stop:    if not NULL, the watch ends (error "interrupted") once it is set
 * @parse:   workload @i's output (@len bytes) into @r: valid on success,
 *	     no CPU fields; 0 or -errno with @err saying why
 * @line:    if not NULL, sees every line outside a JSON block first and
 *	     returns true when it consumed it (a private handshake)
 * @note:    if not NULL, told the script began (@i < 0), workload @i
 *	     starts (@r and @msg NULL), succeeded (@r) or failed (@msg)
 * @ctx:     for the callbacks
 *
 * Filled: @begun, @done (the end line came), @status (the script's exit
 * status), @error ("" or why the watch ended early: a timeout, QEMU gone,
 * the guest's DDVM-FAIL, the script's non-zero status) and @last_line.
 *
 * CPU: each result gets the CPU seconds of @cpu between its start and end
 * marks and that window; per GiB as the block benchmark counts it (rate
 * over the window / throughput, ddvm_bench_result_cpu) for block
 * workloads, as the net benchmark counts it (all of it / bytes the
 * receiver got) for net workloads (@w->mtu), none for RTT.
 */
struct ddvm_bench_watch {
	const struct ddvm_bench_workload *w;
	unsigned int nr;
	struct ddvm_bench_result *res;
	struct ddvm_bench_cpu cpu;
	const char *what;
	double boot_s, step_s;
	int log_fd;
	volatile sig_atomic_t *stop;
	int (*parse)(void *ctx, unsigned int i, const char *out, size_t len,
		     struct ddvm_bench_result *r, struct ddvm_err *err);
	bool (*line)(void *ctx, const char *line);
	void (*note)(void *ctx, int i, const struct ddvm_bench_result *r, const char *msg);
	void *ctx;

	bool begun, done;
	int status;
	char error[512];
	char last_line[200];

	/* private */
	struct ddvm_bench_console con;
	double deadline;
	double t_start[DDVM_BENCH_MAX_WORKLOADS], t_stop[DDVM_BENCH_MAX_WORKLOADS];
	double c_start[DDVM_BENCH_MAX_WORKLOADS], c_stop[DDVM_BENCH_MAX_WORKLOADS];
};

/**
 * ddvm_bench_watch_line - feed one console line (no newline) to @wt.
 * @wt:   the watch
 * @line: the line, NUL-terminated
 *
 * Return: true once the watch is over (@wt->done, or @wt->error set).
 */
bool ddvm_bench_watch_line(struct ddvm_bench_watch *wt, const char *line);

/**
 * ddvm_bench_watch_fd - read console lines from @fd until the script's
 *	end, a failure, or the deadlines pass.
 * @wt:         the watch
 * @fd:         a pipe (its EOF: QEMU is gone), or with @follow_pid a
 *		regular file another process appends to
 * @follow_pid: > 0: @fd is that file and this is the QEMU writing it; its
 *		end (the process gone) ends the watch, not the file's
 *
 * Sets @wt->deadline from @wt->boot_s first.
 */
void ddvm_bench_watch_fd(struct ddvm_bench_watch *wt, int fd, pid_t follow_pid);

void ddvm_bench_watch_free(struct ddvm_bench_watch *wt);

/**
 * ddvm_bench_vm_run - run QEMU @a with its console on a pipe through
 *	@wt, then let it power off (or kill it).
 * @a:       the QEMU command line (the guest script in it)
 * @log:     the console log to write (truncated; the command line first)
 * @wt:      the watch; QEMU's pid is added to @wt->cpu
 * @stdin_fd: QEMU's stdin (the guest console's input) or -1
 * @started: if not NULL, called once QEMU runs (before the watch), to
 *	     account more processes or wire a tap; an error stops the run
 * @ctx:     for @started
 *
 * Errors go to @wt->error.
 */
void ddvm_bench_vm_run(const struct ddvm_argv *a, const char *log, struct ddvm_bench_watch *wt,
		       int stdin_fd, int (*started)(void *ctx, pid_t pid, struct ddvm_err *err),
		       void *ctx);

/**
 * ddvm_bench_vm_follow - watch a VM a supervisor started through the
 *	console log it writes.
 * @console: RUN/VM/console.log, read from its start
 * @qemu:    the VM's QEMU (its end ends the watch)
 * @wt:      the watch; errors go to @wt->error
 */
void ddvm_bench_vm_follow(const char *console, pid_t qemu, struct ddvm_bench_watch *wt);

/**
 * ddvm_bench_cmdline_append - add @args to the kernel command line of
 *	QEMU command line @a (its -append), within the kernel's limit.
 * @a:    the QEMU command line
 * @args: " ddvm.mode=bench ..." (starting with a space)
 * @err:  says when there is no -append or the result is too long
 *
 * Return: 0, -EINVAL, -E2BIG, -ENOMEM.
 */
int ddvm_bench_cmdline_append(struct ddvm_argv *a, const char *args, struct ddvm_err *err);

/* The processes of a supervised run, from its state.json. */
struct ddvm_bench_pids {
	pid_t hub;
	unsigned int nr_domains;
	pid_t domain[DDVM_MAX_DOMAINS];		/* each domain's QEMU */
	pid_t vm;				/* the first client VM's QEMU, or 0 */
	unsigned int nr_bridges;
	pid_t bridge[DDVM_VM_MAX_DISKS + DDVM_VM_MAX_NICS];	/* its bridges, disks first */
};

/**
 * ddvm_bench_state_pids - the pids in a state.json document.
 * @st:  the document (state.h)
 * @p:   filled; a pid it does not name is 0
 * @err: says what is missing
 *
 * Return: 0, or -ESRCH when it names no hub or a domain without a QEMU.
 */
int ddvm_bench_state_pids(json_t *st, struct ddvm_bench_pids *p, struct ddvm_err *err);

/* ddvm_bench_run_pids - the same from RUN/state.json.  Return: 0 or -errno. */
int ddvm_bench_run_pids(const char *run_dir, struct ddvm_bench_pids *p, struct ddvm_err *err);

/**
 * ddvm_proc_stat_ppid - the parent pid from the text of /proc/PID/stat.
 * @text: the file's content
 * @ppid: filled
 *
 * Return: 0 or -EINVAL.
 */
int ddvm_proc_stat_ppid(const char *text, pid_t *ppid);

/**
 * ddvm_bench_cpu_add_children - account the children of @parent too (the
 *	nbdkit of a `ddvm blk nbd`): its own CPU never includes theirs
 *	while they run.
 * @c:      the processes accounted (its @proc is searched)
 * @parent: the parent
 *
 * Return: how many were added, or -ENOSPC when @c is full.
 */
int ddvm_bench_cpu_add_children(struct ddvm_bench_cpu *c, pid_t parent);

#endif /* DDVM_BENCH_VM_H */
