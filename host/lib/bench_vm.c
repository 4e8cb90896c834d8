// SPDX-License-Identifier: GPL-2.0
/* A bench tool inside a VM: its console, its CPU, its processes (see bench_vm.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_blk.h"
#include "bench_vm.h"
#include "spawn.h"
#include "state.h"
#include "units.h"

#define FOLLOW_POLL_MS	50	/* a followed console log has no wake-up: look this often */

static int workload_index(const struct ddvm_bench_watch *wt, const char *name)
{
	unsigned int i;

	for (i = 0; i < wt->nr; i++)
		if (!strcmp(wt->w[i].name, name))
			return (int)i;
	return -1;
}

static void note(struct ddvm_bench_watch *wt, int i, const struct ddvm_bench_result *r,
		 const char *msg)
{
	if (wt->note)
		wt->note(wt->ctx, i, r, msg);
}

/* The CPU of the run between workload @i's marks, per GiB as its kind counts it. */
static void charge_cpu(struct ddvm_bench_watch *wt, unsigned int i, struct ddvm_bench_result *r)
{
	const struct ddvm_bench_workload *w = &wt->w[i];

	if (wt->c_start[i] < 0 || wt->c_stop[i] < wt->c_start[i] ||
	    wt->t_stop[i] <= wt->t_start[i] || w->rtt)
		return;
	r->cpu_seconds = wt->c_stop[i] - wt->c_start[i];
	r->cpu_window = wt->t_stop[i] - wt->t_start[i];
	if (!w->mtu)
		ddvm_bench_result_cpu(r);
	else if (r->bytes)
		r->cpu_s_per_gib = r->cpu_seconds / ((double)r->bytes / DDVM_GIB);
}

static void on_json(struct ddvm_bench_watch *wt, int i, const struct ddvm_bench_event *ev)
{
	struct ddvm_bench_result *r = &wt->res[i];
	struct ddvm_err err = { "" };

	if (wt->parse(wt->ctx, (unsigned int)i, ev->json, ev->json_len, r, &err)) {
		memset(r, 0, sizeof(*r));
		if (ev->status)
			snprintf(r->error, sizeof(r->error), "%.200s (exit status %d; see the "
				 "console log)", err.msg, ev->status);
		else
			snprintf(r->error, sizeof(r->error), "%s", err.msg);
		note(wt, i, NULL, r->error);
		return;
	}
	charge_cpu(wt, (unsigned int)i, r);
	note(wt, i, r, NULL);
}

static void on_event(struct ddvm_bench_watch *wt, const struct ddvm_bench_event *ev)
{
	int i = ev->name[0] ? workload_index(wt, ev->name) : -1;
	double c;

	switch (ev->kind) {
	case DDVM_BENCH_EV_BEGIN:
		wt->begun = true;
		note(wt, -1, NULL, NULL);
		break;
	case DDVM_BENCH_EV_START:
		if (i < 0)
			break;
		wt->t_start[i] = ddvm_bench_now();
		wt->c_start[i] = ddvm_bench_cpu_sample(&wt->cpu, &c, NULL) ? -1 : c;
		note(wt, i, NULL, NULL);
		break;
	case DDVM_BENCH_EV_STOP:
		if (i < 0)
			break;
		wt->t_stop[i] = ddvm_bench_now();
		wt->c_stop[i] = ddvm_bench_cpu_sample(&wt->cpu, &c, NULL) ? -1 : c;
		break;
	case DDVM_BENCH_EV_JSON:
		if (i >= 0)
			on_json(wt, i, ev);
		break;
	case DDVM_BENCH_EV_END:
		wt->done = true;
		wt->status = ev->status;
		if (ev->status && !wt->error[0])
			snprintf(wt->error, sizeof(wt->error), "the bench script in %s exited %d",
				 wt->what, ev->status);
		break;
	case DDVM_BENCH_EV_FAIL:
		snprintf(wt->error, sizeof(wt->error), "%s failed: %.400s", wt->what, ev->msg);
		break;
	case DDVM_BENCH_EV_NONE:
		break;
	}
}

bool ddvm_bench_watch_line(struct ddvm_bench_watch *wt, const char *line)
{
	struct ddvm_bench_event ev;
	size_t n = strlen(line);
	int ret;

	if (wt->log_fd >= 0 && (write(wt->log_fd, line, n) < 0 || write(wt->log_fd, "\n", 1) < 0))
		wt->log_fd = -1;	/* the log is a courtesy */
	if (n && line[0] != '\r' && !wt->con.in_json)
		snprintf(wt->last_line, sizeof(wt->last_line), "%.*s", (int)strcspn(line, "\r"),
			 line);
	if (!wt->con.in_json && wt->line && wt->line(wt->ctx, line)) {
		wt->deadline = ddvm_bench_now() + wt->step_s;
		return false;
	}
	ret = ddvm_bench_console_line(&wt->con, line, &ev);
	if (ret) {
		snprintf(wt->error, sizeof(wt->error), "%s: console: %s", wt->what,
			 ret == -EFBIG ? "a JSON block over 1 MiB" : strerror(-ret));
		return true;
	}
	if (ev.kind != DDVM_BENCH_EV_NONE)
		wt->deadline = ddvm_bench_now() + wt->step_s;
	on_event(wt, &ev);
	return wt->done || wt->error[0];
}

/* Whether process @pid is still there (the supervisor reaps its QEMU at once). */
static bool alive(pid_t pid)
{
	return !kill(pid, 0) || errno != ESRCH;
}

/* Feed the complete lines of @buf (@len bytes) to @wt; keep the rest.  Return: watch over. */
static bool feed_lines(struct ddvm_bench_watch *wt, char *buf, size_t *len, size_t cap)
{
	size_t i, start = 0;
	bool over = false;

	for (i = 0; i < *len && !over; i++) {
		if (buf[i] != '\n')
			continue;
		buf[i] = '\0';
		over = ddvm_bench_watch_line(wt, buf + start);
		start = i + 1;
	}
	memmove(buf, buf + start, *len - start);
	*len -= start;
	if (!over && *len == cap - 1) {	/* a line longer than we keep */
		buf[*len] = '\0';
		over = ddvm_bench_watch_line(wt, buf);
		*len = 0;
	}
	return over;
}

void ddvm_bench_watch_fd(struct ddvm_bench_watch *wt, int fd, pid_t follow_pid)
{
	const size_t cap = 65536;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	bool gone = false;
	double left;
	ssize_t n;
	char *buf;

	buf = malloc(cap);
	if (!buf) {
		snprintf(wt->error, sizeof(wt->error), "out of memory");
		return;
	}
	wt->deadline = ddvm_bench_now() + wt->boot_s;
	for (;;) {
		if (wt->stop && *wt->stop) {
			snprintf(wt->error, sizeof(wt->error), "interrupted");
			break;
		}
		left = wt->deadline - ddvm_bench_now();
		if (left <= 0) {
			snprintf(wt->error, sizeof(wt->error), "timed out %s; last console line: %s",
				 wt->begun ? "running the workloads (a stalled device?)" :
				 "waiting for the bench script to begin", wt->last_line);
			break;
		}
		if (!follow_pid) {
			int pr = poll(&pfd, 1, (int)(left * 1000) + 1);

			if (pr < 0 && errno != EINTR) {
				snprintf(wt->error, sizeof(wt->error), "poll: %s", strerror(errno));
				break;
			}
			if (pr <= 0)
				continue;	/* the deadline decides */
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n > 0) {
			len += (size_t)n;
			if (feed_lines(wt, buf, &len, cap))
				break;
			continue;
		}
		/* a file another process appends to ends with that process; read once more */
		if (follow_pid && !gone) {
			gone = !alive(follow_pid);
			if (!gone)
				usleep(FOLLOW_POLL_MS * 1000);
			continue;
		}
		snprintf(wt->error, sizeof(wt->error), "QEMU of %s exited before the script's end; "
			 "last console line: %s", wt->what, wt->last_line);
		break;
	}
	free(buf);
}

void ddvm_bench_watch_free(struct ddvm_bench_watch *wt)
{
	ddvm_bench_console_free(&wt->con);
}

void ddvm_bench_vm_run(const struct ddvm_argv *a, const char *log, struct ddvm_bench_watch *wt,
		       int stdin_fd, int (*started)(void *ctx, pid_t pid, struct ddvm_err *err),
		       void *ctx)
{
	struct ddvm_spawn sp = { .argv = a->argv, .stdin_fd = stdin_fd, .keep_fd = -1,
				 .death_signal = SIGKILL };
	struct ddvm_err err = { "" };
	char cmd[8192];
	int op[2], logfd;
	pid_t pid;

	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd >= 0)
		dprintf(logfd, "=== ddvm bench: %s\n", ddvm_argv_format(a, cmd, sizeof(cmd)));
	wt->log_fd = logfd;
	if (pipe2(op, O_CLOEXEC)) {
		snprintf(wt->error, sizeof(wt->error), "pipe: %s", strerror(errno));
		goto out_log;
	}
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	if (ddvm_spawn(&sp, &pid, &err)) {
		snprintf(wt->error, sizeof(wt->error), "%s", err.msg);
		close(op[0]);
		close(op[1]);
		goto out_log;
	}
	close(op[1]);
	if (ddvm_bench_cpu_add(&wt->cpu, pid) || (started && started(ctx, pid, &err))) {
		snprintf(wt->error, sizeof(wt->error), "%s", err.msg[0] ? err.msg :
			 "too many processes to account");
		ddvm_bench_reap(pid, 0, 0);
		close(op[0]);
		goto out_log;
	}
	ddvm_bench_watch_fd(wt, op[0], 0);
	close(op[0]);
	/* the guest powers off after the script; a stuck one is killed */
	ddvm_bench_reap(pid, wt->done ? DDVM_BENCH_POWEROFF_MS : 0, 0);
out_log:
	wt->log_fd = -1;
	if (logfd >= 0)
		close(logfd);
}

void ddvm_bench_vm_follow(const char *console, pid_t qemu, struct ddvm_bench_watch *wt)
{
	int fd = open(console, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(wt->error, sizeof(wt->error), "%.400s: %s", console, strerror(errno));
		return;
	}
	ddvm_bench_watch_fd(wt, fd, qemu);
	close(fd);
}

int ddvm_bench_cmdline_append(struct ddvm_argv *a, const char *args, struct ddvm_err *err)
{
	char *cmdline;
	int i;

	for (i = 0; i + 1 < a->argc; i++) {
		if (strcmp(a->argv[i], "-append"))
			continue;
		if (asprintf(&cmdline, "%s%s", a->argv[i + 1], args) < 0)
			return ddvm_errf(err, -ENOMEM, "out of memory");
		if (strlen(cmdline) > DDVM_KERNEL_CMDLINE_MAX) {
			i = (int)strlen(cmdline);
			free(cmdline);
			return ddvm_errf(err, -E2BIG, "kernel command line of %d bytes, at most %d "
					 "fit", i, DDVM_KERNEL_CMDLINE_MAX);
		}
		free(a->argv[i + 1]);
		a->argv[i + 1] = cmdline;
		return 0;
	}
	return ddvm_errf(err, -EINVAL, "no -append in the QEMU command line");
}

/* ------------------------------------------------------------------ pids */

static pid_t pid_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) && json_integer_value(v) > 0 &&
	       json_integer_value(v) < (1 << 30) ? (pid_t)json_integer_value(v) : 0;
}

/* The pid of each bridge in @devs (a "disks" or "nics" array) into @p. */
static void bridge_pids(json_t *devs, struct ddvm_bench_pids *p)
{
	const unsigned int max = sizeof(p->bridge) / sizeof(p->bridge[0]);
	size_t i;
	json_t *d;

	json_array_foreach(devs, i, d) {
		pid_t pid = pid_of(json_object_get(d, "bridge"), "pid");

		if (pid && p->nr_bridges < max)
			p->bridge[p->nr_bridges++] = pid;
	}
}

int ddvm_bench_state_pids(json_t *st, struct ddvm_bench_pids *p, struct ddvm_err *err)
{
	json_t *doms = json_object_get(st, "domains"), *vm, *d;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->hub = pid_of(json_object_get(st, "hub"), "pid");
	if (!p->hub)
		return ddvm_errf(err, -ESRCH, "state.json names no hub pid");
	json_array_foreach(doms, i, d) {
		if (p->nr_domains == DDVM_MAX_DOMAINS)
			break;
		p->domain[p->nr_domains] = pid_of(d, "qemu_pid");
		if (!p->domain[p->nr_domains])
			return ddvm_errf(err, -ESRCH, "state.json names no QEMU pid for domain %s",
					 json_is_string(json_object_get(d, "name")) ?
					 json_string_value(json_object_get(d, "name")) : "?");
		p->nr_domains++;
	}
	if (!p->nr_domains)
		return ddvm_errf(err, -ESRCH, "state.json names no domain");
	vm = json_array_get(json_object_get(st, "vms"), 0);
	p->vm = pid_of(vm, "qemu_pid");
	bridge_pids(json_object_get(vm, "disks"), p);
	bridge_pids(json_object_get(vm, "nics"), p);
	return 0;
}

int ddvm_bench_run_pids(const char *run_dir, struct ddvm_bench_pids *p, struct ddvm_err *err)
{
	json_t *st;
	int ret;

	ret = ddvm_state_load(run_dir, &st, err);
	if (ret)
		return ret;
	ret = ddvm_bench_state_pids(st, p, err);
	json_decref(st);
	return ret;
}

int ddvm_proc_stat_ppid(const char *text, pid_t *ppid)
{
	const char *p = strrchr(text, ')');
	char *end;
	long v;

	/* "pid (comm) S PPID ...": the command name may hold anything */
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(p + 4, &end, 10);
	if (end == p + 4 || *end != ' ' || errno || v < 0 || v >= (1L << 30))
		return -EINVAL;
	*ppid = (pid_t)v;
	return 0;
}

int ddvm_bench_cpu_add_children(struct ddvm_bench_cpu *c, pid_t parent)
{
	const char *proc = c->proc ? c->proc : "/proc";
	char path[512], buf[1024];
	struct dirent *de;
	int added = 0, fd;
	pid_t ppid;
	ssize_t n;
	DIR *d;

	d = opendir(proc);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!de->d_name[0] || strspn(de->d_name, "0123456789") != strlen(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/stat", proc, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (ddvm_proc_stat_ppid(buf, &ppid) || ppid != parent)
			continue;
		if (ddvm_bench_cpu_add(c, (pid_t)atoi(de->d_name))) {
			added = -ENOSPC;
			break;
		}
		added++;
	}
	closedir(d);
	return added;
}
