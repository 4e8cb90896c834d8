// SPDX-License-Identifier: GPL-2.0
/* Client VMs under the supervisor: wait for their domains, bridges, QEMU, console, exit. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "preflight.h"
#include "qemu_args.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "supervisor.h"
#include "vm_args.h"
#include "vm_bridge.h"
#include "vm_client.h"

enum vm_state {
	VM_WAITING,	/* for its driver domains to serve */
	VM_BRIDGES,	/* its bridges are starting */
	VM_BOOTING,	/* QEMU runs, no DDVM-READY yet */
	VM_RUNNING,
	VM_EXITED,	/* QEMU exited after it ran: reported, not restarted */
	VM_FAILED,	/* never ran: a domain, a bridge or its boot failed */
	VM_STOPPED,	/* by ddvm down */
};

static const char *const vm_state_names[] = {
	[VM_WAITING] = "waiting",
	[VM_BRIDGES] = "bridges",
	[VM_BOOTING] = "booting",
	[VM_RUNNING] = "running",
	[VM_EXITED] = "exited",
	[VM_FAILED] = "failed",
	[VM_STOPPED] = "stopped",
};

#define LINE_SCAN	512	/* console line kept for matching; the log keeps all */
#define CMD_BEGIN	"DDVM-CMD-BEGIN"
#define CMD_END		"DDVM-CMD-END "
#define PANIC_LINE	"Kernel panic - not syncing:"

struct vm {
	struct ddvm_vms *set;
	const struct ddvm_vm_cfg *cfg;
	unsigned int idx;
	enum vm_state state;
	pid_t pid;		/* QEMU, 0 when none */
	int out_fd;		/* QEMU's stdout+stderr: the console */
	int console_fd;		/* RUN/VM/console.log */
	long long t_bridges;	/* monotonic ms the bridges were started */
	long long t_start;	/* monotonic ms QEMU started */
	time_t started_at;	/* wall clock of the same */
	long long boot_ms;	/* QEMU start to DDVM-READY; -1 not yet */
	int exit_status;	/* wait status; -1 while it runs or never ran */
	bool expect_exit;	/* we killed it */
	int cmd;		/* "run": -2 none given, -1 running or not yet, else its exit status */
	bool cmd_begun;
	char line[LINE_SCAN];
	size_t line_len;
	char last_line[160];
	char last_error[384];
	unsigned int nr_bridges;
	struct ddvm_bridge br[DDVM_VM_MAX_DISKS + DDVM_VM_MAX_NICS];
};

struct ddvm_vms {
	const struct ddvm_vms_host *h;
	bool stopping;
	unsigned int nr;
	struct vm vms[DDVM_MAX_VMS];
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void vlog(struct ddvm_vms *v, bool progress, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line for supervisor.log, and for "ddvm up" too when @progress. */
static void vlog(struct ddvm_vms *v, bool progress, const char *fmt, ...)
{
	char buf[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (progress)
		v->h->progress(v->h->arg, buf);
	else
		v->h->log(v->h->arg, buf);
}

static void set_error(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->last_error, sizeof(vm->last_error), fmt, ap);
	va_end(ap);
}

/* The VM failed before it ran: say why, stop what it started. */
static void fail_vm(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail_vm(struct vm *vm, const char *fmt, ...)
{
	unsigned int i;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->last_error, sizeof(vm->last_error), fmt, ap);
	va_end(ap);
	vm->state = VM_FAILED;
	vlog(vm->set, true, "%s: failed: %s", vm->cfg->name, vm->last_error);
	if (vm->pid) {
		vm->expect_exit = true;
		kill(vm->pid, SIGKILL);
	}
	for (i = 0; i < vm->nr_bridges; i++)
		ddvm_bridge_stop(&vm->br[i]);
}

/* ------------------------------------------------------------------ QEMU */

static void start_qemu(struct vm *vm)
{
	const struct ddvm_vms_host *h = vm->set->h;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = h->ev_tag | vm->idx };
	struct ddvm_spawn sp = { .stdin_fd = -1, .keep_fd = -1, .death_signal = SIGKILL };
	struct ddvm_argv a = { 0 };
	char cmd[4096], banner[4096 + 256];
	struct ddvm_err err;
	int op[2], n;
	pid_t pid;

	if (ddvm_vm_argv(&a, h->cfg, vm->cfg, h->accel, h->run_dir, &err)) {
		fail_vm(vm, "%s", err.msg);
		return;
	}
	if (pipe2(op, O_CLOEXEC)) {
		ddvm_argv_free(&a);
		fail_vm(vm, "pipe: %s", strerror(errno));
		return;
	}
	ddvm_argv_format(&a, cmd, sizeof(cmd));
	n = snprintf(banner, sizeof(banner), "\n=== ddvm: client VM %s boot at %ld: %s\n",
		     vm->cfg->name, (long)time(NULL), cmd);
	if (n >= (int)sizeof(banner))
		n = (int)sizeof(banner) - 1;
	if (write(vm->console_fd, banner, (size_t)n) < 0)
		vlog(vm->set, false, "%s: console log: %s", vm->cfg->name, strerror(errno));
	sp.argv = a.argv;
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	n = ddvm_spawn(&sp, &pid, &err);
	close(op[1]);
	ddvm_argv_free(&a);
	if (n) {
		close(op[0]);
		fail_vm(vm, "%s", err.msg);
		return;
	}
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	for (n = 0; n < (int)vm->nr_bridges; n++)
		ddvm_bridge_qemu_started(&vm->br[n], mono_ms());
	vm->pid = pid;
	vm->out_fd = op[0];
	vm->t_start = mono_ms();
	vm->started_at = time(NULL);
	vm->state = VM_BOOTING;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, vm->out_fd, &ev))
		vlog(vm->set, false, "%s: epoll: %s", vm->cfg->name, strerror(errno));
	vlog(vm->set, false, "%s: QEMU pid %d: %s", vm->cfg->name, (int)pid, cmd);
	vlog(vm->set, true, "%s: booting (QEMU pid %d)", vm->cfg->name, (int)pid);
	/* a kernel that never says DDVM-READY (boot_timeout 0) runs once started */
	if (!vm->cfg->boot_timeout) {
		vm->state = VM_RUNNING;
		vlog(vm->set, true, "%s: running (boot_timeout 0: not waiting for %s)",
		     vm->cfg->name, DDVM_READY_LINE);
	}
}

static void on_console_line(struct vm *vm, char *line)
{
	char *p;

	/* the guest's to write: printable ASCII before it reaches a log or state.json */
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = *p == '\t' || *p == '\r' ? ' ' : '?';
	/* serial lines end in \r\n */
	p = line + strlen(line);
	while (p > line && p[-1] == ' ')
		*--p = '\0';
	if (*line)
		snprintf(vm->last_line, sizeof(vm->last_line), "%s", line);
	if (vm->state == VM_BOOTING && strstr(line, DDVM_READY_LINE)) {
		vm->state = VM_RUNNING;
		vm->boot_ms = mono_ms() - vm->t_start;
		vlog(vm->set, true, "%s: running after %.1f s", vm->cfg->name,
		     (double)vm->boot_ms / 1000.0);
		vm->set->h->changed(vm->set->h->arg);
		return;
	}
	if (strstr(line, CMD_BEGIN)) {
		vm->cmd_begun = true;
		return;
	}
	p = strstr(line, CMD_END);
	if (p && vm->cmd_begun) {
		vm->cmd = atoi(p + strlen(CMD_END));
		vlog(vm->set, false, "%s: its run script ended with status %d", vm->cfg->name,
		     vm->cmd);
		vm->set->h->changed(vm->set->h->arg);
		return;
	}
	p = strstr(line, DDVM_FAIL_PREFIX);
	if (!p)
		p = strstr(line, PANIC_LINE);
	if (p) {
		set_error(vm, "guest: %s", p);
		vlog(vm->set, false, "%s: %s", vm->cfg->name, vm->last_error);
	}
}

/* What QEMU printed: into console.log, scanned by line. */
static void drain_console(struct vm *vm)
{
	char buf[4096];
	ssize_t n, i;

	while (vm->out_fd >= 0) {
		n = read(vm->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			epoll_ctl(vm->set->h->epfd, EPOLL_CTL_DEL, vm->out_fd, NULL);
			close(vm->out_fd);
			vm->out_fd = -1;
			return;
		}
		if (write(vm->console_fd, buf, (size_t)n) != n)
			vlog(vm->set, false, "%s: console log write failed", vm->cfg->name);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				vm->line[vm->line_len] = '\0';
				on_console_line(vm, vm->line);
				vm->line_len = 0;
			} else if (vm->line_len < sizeof(vm->line) - 1) {
				vm->line[vm->line_len++] = buf[i] ? buf[i] : ' ';
			}
		}
	}
}

static void on_qemu_exit(struct vm *vm, int status)
{
	char how[96];
	unsigned int i;

	drain_console(vm);
	if (vm->out_fd >= 0) {
		epoll_ctl(vm->set->h->epfd, EPOLL_CTL_DEL, vm->out_fd, NULL);
		close(vm->out_fd);
		vm->out_fd = -1;
	}
	ddvm_wait_status_text(status, how, sizeof(how));
	vlog(vm->set, false, "%s: QEMU pid %d %s after %.1f s", vm->cfg->name, (int)vm->pid, how,
	     (double)(mono_ms() - vm->t_start) / 1000.0);
	vm->pid = 0;
	vm->exit_status = status;
	if (vm->set->stopping) {
		if (vm->state != VM_FAILED)
			vm->state = VM_STOPPED;
		return;
	}
	if (vm->state == VM_BOOTING) {
		if (!vm->expect_exit)
			fail_vm(vm, "QEMU %s before %s%s%s", how, DDVM_READY_LINE,
				vm->last_line[0] ? "; last console line: " : "", vm->last_line);
		vm->state = VM_FAILED;
	} else if (vm->state == VM_RUNNING) {
		vm->state = VM_EXITED;
		if (!vm->last_error[0])
			set_error(vm, "QEMU %s", how);
		vlog(vm->set, true, "%s: %s (a client VM is not restarted)", vm->cfg->name, how);
	}
	/* nothing uses its bridges any more */
	for (i = 0; i < vm->nr_bridges; i++)
		ddvm_bridge_stop(&vm->br[i]);
	vm->set->h->changed(vm->set->h->arg);
}

/* --------------------------------------------------------------- lifecycle */

/* Whether every domain @vm uses serves; a failed one fails @vm.  Return: may it start? */
static bool domains_ready(struct vm *vm)
{
	const struct ddvm_vms_host *h = vm->set->h;
	unsigned int i;

	for (i = 0; i < vm->cfg->nr_disks + vm->cfg->nr_nics; i++) {
		const struct ddvm_vm_dev_cfg *dev = i < vm->cfg->nr_disks ? &vm->cfg->disks[i] :
						     &vm->cfg->nics[i - vm->cfg->nr_disks];

		switch (h->domain_state(h->arg, dev->dom)) {
		case DDVM_VM_DOM_PENDING:
			return false;
		case DDVM_VM_DOM_FAILED:
			fail_vm(vm, "domain %s failed, so channel %s.%s never served", dev->domain,
				dev->domain, dev->channel);
			return false;
		case DDVM_VM_DOM_SERVING:
			break;
		}
	}
	return true;
}

static void start_bridges(struct vm *vm)
{
	unsigned int i;

	vm->state = VM_BRIDGES;
	vm->t_bridges = mono_ms();
	if (vm->nr_bridges)
		vlog(vm->set, true, "%s: its domains serve; starting %u bridge%s", vm->cfg->name,
		     vm->nr_bridges, vm->nr_bridges == 1 ? "" : "s");
	for (i = 0; i < vm->nr_bridges && vm->state == VM_BRIDGES; i++)
		ddvm_bridge_start(&vm->br[i], mono_ms());
}

bool ddvm_vms_kick(struct ddvm_vms *v)
{
	bool changed = false;
	unsigned int i;

	for (i = 0; i < v->nr && !v->stopping; i++) {
		struct vm *vm = &v->vms[i];

		if (vm->state != VM_WAITING)
			continue;
		if (domains_ready(vm)) {
			start_bridges(vm);
			/* no bridge to wait for: straight to QEMU */
			if (!vm->nr_bridges)
				start_qemu(vm);
		}
		changed |= vm->state != VM_WAITING;
	}
	return changed;
}

/*
 * Bridges starting: once every NBD socket is there and every stream bridge
 * runs (it connects to QEMU's socket, so QEMU cannot wait for it), QEMU;
 * one that never comes up fails the VM.
 */
static void tick_vm(struct vm *vm, long long now)
{
	unsigned int i, up = 0;
	char why[320];

	for (i = 0; i < vm->nr_bridges; i++) {
		switch (ddvm_bridge_tick(&vm->br[i], now, why, sizeof(why))) {
		case DDVM_BRIDGE_TICK_UP:
			up++;
			break;
		case DDVM_BRIDGE_TICK_GAVE_UP:
			if (vm->state == VM_BRIDGES)
				fail_vm(vm, "%s", why);
			else
				set_error(vm, "%s", why);
			vm->set->h->changed(vm->set->h->arg);
			return;
		case DDVM_BRIDGE_TICK_WAIT:
			break;
		}
	}
	if (vm->state == VM_BRIDGES && up == vm->nr_bridges) {
		vlog(vm->set, false, "%s: %u bridge%s up after %lld ms", vm->cfg->name,
		     up, up == 1 ? "" : "s", now - vm->t_bridges);
		start_qemu(vm);
		vm->set->h->changed(vm->set->h->arg);
		return;
	}
	if (vm->state == VM_BOOTING && vm->pid && !vm->expect_exit &&
	    now - vm->t_start >= (long long)vm->cfg->boot_timeout * 1000) {
		fail_vm(vm, "no %s within %u s (boot_timeout)%s%s", DDVM_READY_LINE,
			vm->cfg->boot_timeout, vm->last_line[0] ? "; last console line: " : "",
			vm->last_line);
		vm->set->h->changed(vm->set->h->arg);
	}
}

void ddvm_vms_tick(struct ddvm_vms *v)
{
	long long now = mono_ms();
	unsigned int i;

	for (i = 0; i < v->nr && !v->stopping; i++)
		tick_vm(&v->vms[i], now);
}

void ddvm_vms_event(struct ddvm_vms *v, uint32_t idx)
{
	if (idx < v->nr)
		drain_console(&v->vms[idx]);
}

bool ddvm_vms_reap(struct ddvm_vms *v, pid_t pid, int status)
{
	unsigned int i, j;

	for (i = 0; i < v->nr; i++) {
		struct vm *vm = &v->vms[i];

		if (vm->pid == pid) {
			on_qemu_exit(vm, status);
			return true;
		}
		for (j = 0; j < vm->nr_bridges; j++)
			if (ddvm_bridge_reap(&vm->br[j], pid, status, mono_ms(), v->stopping)) {
				v->h->changed(v->h->arg);
				return true;
			}
	}
	return false;
}

bool ddvm_vms_settled(const struct ddvm_vms *v, bool *ok)
{
	unsigned int i;

	*ok = true;
	for (i = 0; i < v->nr; i++) {
		enum vm_state s = v->vms[i].state;

		if (s == VM_WAITING || s == VM_BRIDGES || s == VM_BOOTING)
			return false;
		if (s == VM_FAILED)
			*ok = false;
	}
	return true;
}

/* ------------------------------------------------------------------ state */

static json_t *dev_json(const struct vm *vm, bool nic, unsigned int i)
{
	const struct ddvm_vms_host *h = vm->set->h;
	const struct ddvm_vm_dev_cfg *dev = nic ? &vm->cfg->nics[i] : &vm->cfg->disks[i];
	const struct ddvm_domain_cfg *d = &h->cfg->domains[dev->dom];
	char chan[2 * DDVM_NAME_MAX + 2], guest[16], mac[18], path[DDVM_SOCK_PATH_MAX];
	unsigned int b;
	json_t *o;

	snprintf(chan, sizeof(chan), "%s.%s", dev->domain, dev->channel);
	if (dev->via == DDVM_VIA_FRONT)
		ddvm_hub_socket_path(path, sizeof(path), h->run_dir, dev->domain, dev->channel, NULL);
	else
		ddvm_vm_bridge_socket(path, sizeof(path), h->run_dir, vm->cfg, nic, i, NULL);
	o = json_pack("{s:s, s:s, s:s, s:o}", "channel", chan, "via", ddvm_vm_via_name(dev->via),
		      "guest", ddvm_vm_guest_name(vm->cfg, nic, i, guest, sizeof(guest)),
		      "socket", ddvm_json_string(path));
	if (!o)
		return NULL;
	if (nic) {
		json_object_set_new(o, "mac", json_string(ddvm_format_mac(
			d->channels[dev->chan].mac, mac, sizeof(mac))));
		json_object_set_new(o, "address", json_string(dev->address));
	}
	for (b = 0; b < vm->nr_bridges; b++)
		if (vm->br[b].nic == nic && vm->br[b].index == i)
			json_object_set_new(o, "bridge", ddvm_bridge_json(&vm->br[b]));
	return o;
}

static json_t *vm_json(const struct vm *vm)
{
	const struct ddvm_vms_host *h = vm->set->h;
	json_t *disks = json_array(), *nics = json_array(), *o;
	char path[4096];
	unsigned int i;

	for (i = 0; i < vm->cfg->nr_disks; i++)
		json_array_append_new(disks, dev_json(vm, false, i));
	for (i = 0; i < vm->cfg->nr_nics; i++)
		json_array_append_new(nics, dev_json(vm, true, i));
	o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:i, s:o, s:o, s:I, s:o, s:o}",
		      "name", vm->cfg->name,
		      "state", vm_state_names[vm->state],
		      "qemu_pid", (int)vm->pid,
		      "started_at", (json_int_t)vm->started_at,
		      "boot_ms", (json_int_t)vm->boot_ms,
		      "memory", (json_int_t)vm->cfg->memory,
		      "cpus", vm->cfg->cpus,
		      "kernel", ddvm_json_string(vm->cfg->kernel),
		      "initrd", ddvm_json_string(vm->cfg->initrd),
		      "exit_status", (json_int_t)(vm->exit_status < 0 ? -1 :
			WIFEXITED(vm->exit_status) ? WEXITSTATUS(vm->exit_status) :
			128 + WTERMSIG(vm->exit_status)),
		      "disks", disks, "nics", nics);
	if (!o)
		return NULL;
	json_object_set_new(o, "last_error", ddvm_json_string(vm->last_error));
	snprintf(path, sizeof(path), "%s/%s/" DDVM_CONSOLE_LOG, h->run_dir, vm->cfg->name);
	json_object_set_new(o, "console", ddvm_json_string(path));
	snprintf(path, sizeof(path), "%s/%s/" DDVM_VM_SHELL_SOCK, h->run_dir, vm->cfg->name);
	json_object_set_new(o, "shell", ddvm_json_string(path));
	ddvm_qmp_socket_path(path, sizeof(path), h->run_dir, vm->cfg->name, NULL);
	json_object_set_new(o, "qmp", ddvm_json_string(path));
	if (vm->cfg->run[0])
		json_object_set_new(o, "run", json_pack("{s:o, s:s, s:i}",
			"script", ddvm_json_string(vm->cfg->run),
			"state", vm->cmd >= 0 ? "done" : vm->cmd_begun ? "running" : "not started",
			"exit_status", vm->cmd));
	return o;
}

json_t *ddvm_vms_json(const struct ddvm_vms *v)
{
	json_t *arr = json_array();
	unsigned int i;

	for (i = 0; i < v->nr; i++)
		json_array_append_new(arr, vm_json(&v->vms[i]));
	return arr;
}

/* ---------------------------------------------------------------- shutdown */

/* Wait until none of the VMs' QEMUs runs, or @ms passes, keeping their consoles read. */
static void wait_qemus(struct ddvm_vms *v, long long ms)
{
	long long deadline = mono_ms() + ms;
	unsigned int i, alive;
	int status;

	for (;;) {
		alive = 0;
		for (i = 0; i < v->nr; i++) {
			struct vm *vm = &v->vms[i];

			if (!vm->pid)
				continue;
			drain_console(vm);
			if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
				on_qemu_exit(vm, status);
				continue;
			}
			alive++;
		}
		if (!alive || mono_ms() >= deadline)
			return;
		usleep(20 * 1000);
	}
}

static void signal_qemus(struct ddvm_vms *v, int sig)
{
	unsigned int i;

	for (i = 0; i < v->nr; i++)
		if (v->vms[i].pid) {
			vlog(v, false, "%s: sending signal %d to QEMU pid %d", v->vms[i].cfg->name,
			     sig, (int)v->vms[i].pid);
			v->vms[i].expect_exit = true;
			kill(v->vms[i].pid, sig);
		}
}

void ddvm_vms_stop(struct ddvm_vms *v)
{
	long long deadline;
	unsigned int i, j, alive;

	if (!v)
		return;
	v->stopping = true;
	/* QEMU quits on SIGTERM as on QMP quit: its disks flushed, NBD disconnected */
	signal_qemus(v, SIGTERM);
	wait_qemus(v, DDVM_QUIT_TIMEOUT_MS);
	signal_qemus(v, SIGKILL);
	wait_qemus(v, DDVM_TERM_TIMEOUT_MS);
	for (i = 0; i < v->nr; i++) {
		if (v->vms[i].state != VM_FAILED && v->vms[i].state != VM_EXITED)
			v->vms[i].state = VM_STOPPED;
		for (j = 0; j < v->vms[i].nr_bridges; j++)
			ddvm_bridge_stop(&v->vms[i].br[j]);
	}
	/* then the bridges, which nothing uses any more */
	deadline = mono_ms() + DDVM_TERM_TIMEOUT_MS;
	do {
		alive = 0;
		for (i = 0; i < v->nr; i++)
			for (j = 0; j < v->vms[i].nr_bridges; j++)
				alive += !ddvm_bridge_wait(&v->vms[i].br[j], mono_ms() >= deadline);
		if (alive)
			usleep(20 * 1000);
	} while (alive);
}

void ddvm_vms_destroy(struct ddvm_vms *v)
{
	unsigned int i;

	if (!v)
		return;
	for (i = 0; i < v->nr; i++) {
		struct vm *vm = &v->vms[i];

		if (vm->out_fd >= 0)
			close(vm->out_fd);
		if (vm->console_fd >= 0)
			close(vm->console_fd);
	}
	free(v);
}

/* ------------------------------------------------------------------- setup */

static int setup_vm(struct ddvm_vms *v, unsigned int idx, struct ddvm_err *err)
{
	const struct ddvm_vms_host *h = v->h;
	struct vm *vm = &v->vms[idx];
	char dir[4096], path[4096 + 16];
	unsigned int i;
	int ret;

	vm->set = v;
	vm->cfg = &h->cfg->vms[idx];
	vm->idx = idx;
	vm->state = VM_WAITING;
	vm->out_fd = -1;
	vm->boot_ms = -1;
	vm->exit_status = -1;
	vm->cmd = vm->cfg->run[0] ? -1 : -2;
	snprintf(dir, sizeof(dir), "%s/%s", h->run_dir, vm->cfg->name);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return ddvm_errf(err, -errno, "%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/" DDVM_CONSOLE_LOG, dir);
	vm->console_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (vm->console_fd < 0)
		return ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	for (i = 0; i < vm->cfg->nr_disks + vm->cfg->nr_nics; i++) {
		bool nic = i >= vm->cfg->nr_disks;
		unsigned int k = nic ? i - vm->cfg->nr_disks : i;
		const struct ddvm_vm_dev_cfg *dev = nic ? &vm->cfg->nics[k] : &vm->cfg->disks[k];

		if (dev->via == DDVM_VIA_FRONT)
			continue;
		ret = ddvm_bridge_init(&vm->br[vm->nr_bridges++], h, vm->cfg, nic, k, err);
		if (ret)
			return ret;
	}
	return 0;
}

int ddvm_vms_create(struct ddvm_vms **out, const struct ddvm_vms_host *h, struct ddvm_err *err)
{
	struct ddvm_vms *v = calloc(1, sizeof(*v));
	unsigned int i;
	int ret;

	if (!v)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	v->h = h;
	for (i = 0; i < DDVM_MAX_VMS; i++) {
		v->vms[i].console_fd = -1;
		v->vms[i].out_fd = -1;
	}
	v->nr = h->cfg->nr_vms;
	for (i = 0; i < v->nr; i++) {
		ret = setup_vm(v, i, err);
		if (ret) {
			ddvm_vms_destroy(v);
			return ret;
		}
	}
	*out = v;
	return 0;
}

int ddvm_vms_preflight(const struct ddvm_config *cfg, struct ddvm_err *err)
{
	struct ddvm_accel tcg = { .kind = DDVM_ACCEL_TCG };
	struct ddvm_argv a;
	char what[64];
	unsigned int i, j;
	int ret;

	for (i = 0; i < cfg->nr_vms; i++) {
		const struct ddvm_vm_cfg *vm = &cfg->vms[i];

		snprintf(what, sizeof(what), "VM %s: kernel", vm->name);
		ret = ddvm_check_readable(what, vm->kernel, " (make setup fetches it)", err);
		snprintf(what, sizeof(what), "VM %s: initrd", vm->name);
		if (!ret)
			ret = ddvm_check_readable(what, vm->initrd, " (make image builds it)", err);
		/* reads the "run" script and checks every socket path and the command line */
		if (!ret)
			ret = ddvm_vm_argv(&a, cfg, vm, &tcg, cfg->run_dir, err);
		if (ret)
			return ret;
		ddvm_argv_free(&a);
		for (j = 0; j < vm->nr_disks; j++) {
			if (vm->disks[j].via != DDVM_VIA_NBD)
				continue;
			ret = ddvm_find_program("nbdkit");
			if (ret)
				return ddvm_errf(err, ret, "VM %s: disk %s.%s via nbd needs nbdkit, "
						 "not found in PATH (Debian package nbdkit)",
						 vm->name, vm->disks[j].domain, vm->disks[j].channel);
		}
	}
	return 0;
}
