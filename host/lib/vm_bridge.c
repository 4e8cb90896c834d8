// SPDX-License-Identifier: GPL-2.0
/* A client VM's bridge process: start, socket watch, restart policy, stop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "spawn.h"
#include "state.h"
#include "vm_args.h"
#include "vm_bridge.h"

/*
 * A bridge holds no state a restart loses (libddvm replays, QEMU's NBD
 * client reconnects, QEMU's stream netdev accepts the stream bridge's new
 * connection), so restarting is cheap; one that keeps dying is
 * broken, and its error is better shown than hidden behind restarts.
 */
static const struct ddvm_restart_cfg bridge_policy = {
	.max_attempts = 5,	/* BRIDGE_MAX_RESTARTS */
	.window = 60,		/* BRIDGE_WINDOW_S */
	.backoff_ms = 200,
	.backoff_max_ms = 5000,
};

static const char *const state_names[] = {
	[DDVM_BRIDGE_STARTING] = "starting",
	[DDVM_BRIDGE_RUNNING] = "running",
	[DDVM_BRIDGE_RESTARTING] = "restarting",
	[DDVM_BRIDGE_FAILED] = "failed",
	[DDVM_BRIDGE_STOPPED] = "stopped",
};

static void blog(const struct ddvm_bridge *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A supervisor.log line about @b: "vm0: bridge of disk0.c0 (nbd): ..." */
static void blog(const struct ddvm_bridge *b, const char *fmt, ...)
{
	char buf[640];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "%s: %s bridge of %s: ", b->vm->name,
		     b->nic ? "stream" : "nbd", b->channel);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	b->h->log(b->h->arg, buf);
}

int ddvm_bridge_init(struct ddvm_bridge *b, const struct ddvm_vms_host *h,
		     const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, struct ddvm_err *err)
{
	const struct ddvm_vm_dev_cfg *dev = nic ? &vm->nics[i] : &vm->disks[i];
	int ret;

	memset(b, 0, sizeof(*b));
	b->h = h;
	b->vm = vm;
	b->nic = nic;
	b->index = i;
	b->state = DDVM_BRIDGE_STOPPED;
	b->status_fd = -1;
	snprintf(b->channel, sizeof(b->channel), "%s.%s", dev->domain, dev->channel);
	ret = ddvm_vm_bridge_socket(b->sock, sizeof(b->sock), h->run_dir, vm, nic, i, err);
	if (ret)
		return ret;
	snprintf(b->log, sizeof(b->log), "%s/%s/%c%u.log", h->run_dir, vm->name, nic ? 'n' : 'd',
		 i);
	return 0;
}

/* It died (or never started) for @why: restart it under the policy, or give up. */
static void after_exit(struct ddvm_bridge *b, long long now, const char *why)
{
	unsigned int have = b->restarts < DDVM_RESTART_HISTORY ? b->restarts : DDVM_RESTART_HISTORY;
	unsigned int in_window = 0;
	long long delay = 0;

	if (!ddvm_restart_decide(&bridge_policy, b->restart_at, have, now, &delay, &in_window)) {
		b->state = DDVM_BRIDGE_FAILED;
		snprintf(b->last_error, sizeof(b->last_error), "gave up after %u restarts in %u s; "
			 "last: %.160s (see %.200s)", in_window, bridge_policy.window, why, b->log);
		blog(b, "%s", b->last_error);
		return;
	}
	b->restart_at[b->restarts % DDVM_RESTART_HISTORY] = now;
	b->restarts++;
	b->state = DDVM_BRIDGE_RESTARTING;
	b->t_retry = now + delay;
	snprintf(b->last_error, sizeof(b->last_error), "%.300s; restarted", why);
	blog(b, "%s; restart %u in %lld ms", why, b->restarts, delay);
}

/* A stream bridge's pipe for "connected"/"disconnected": our end in b->status_fd. */
static int status_pipe(struct ddvm_bridge *b, int *child_end, struct ddvm_err *err)
{
	int p[2];

	*child_end = -1;
	if (!b->nic)
		return 0;
	if (pipe2(p, O_CLOEXEC))
		return ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	b->status_fd = p[0];
	*child_end = p[1];
	return 0;
}

static void status_close(struct ddvm_bridge *b)
{
	if (b->status_fd >= 0)
		close(b->status_fd);
	b->status_fd = -1;
	b->status_midline = false;
	b->connected = false;
}

void ddvm_bridge_start(struct ddvm_bridge *b, long long now)
{
	struct ddvm_spawn sp = { .stdin_fd = -1, .keep_fd = -1, .death_signal = SIGTERM };
	struct ddvm_argv a = { 0 };
	struct ddvm_err err;
	char cmd[1024], banner[1200];
	int fd, n;

	b->starts++;
	b->t_start = now;
	b->state = DDVM_BRIDGE_STARTING;
	b->late_told = false;
	status_close(b);
	/*
	 * The socket of an NBD bridge that died must not pass for the new
	 * one's.  A stream bridge's socket is QEMU's: left alone.
	 */
	if (!b->nic)
		unlink(b->sock);
	if (status_pipe(b, &sp.keep_fd, &err) ||
	    ddvm_vm_bridge_argv(&a, b->h->cfg, b->vm, b->nic, b->index, b->h->exe,
				b->h->run_dir, sp.keep_fd, &err)) {
		if (sp.keep_fd >= 0)
			close(sp.keep_fd);
		status_close(b);
		after_exit(b, now, err.msg);
		return;
	}
	fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(cmd, sizeof(cmd), "%.900s: %s", b->log, strerror(errno));
		ddvm_argv_free(&a);
		if (sp.keep_fd >= 0)
			close(sp.keep_fd);
		status_close(b);
		after_exit(b, now, cmd);
		return;
	}
	ddvm_argv_format(&a, cmd, sizeof(cmd));
	n = snprintf(banner, sizeof(banner), "=== ddvm: start %u at %ld: %s\n", b->starts,
		     (long)time(NULL), cmd);
	if (write(fd, banner, (size_t)(n < (int)sizeof(banner) ? n : (int)sizeof(banner) - 1)) < 0)
		blog(b, "%s: %s", b->log, strerror(errno));
	sp.argv = a.argv;
	sp.stdout_fd = fd;
	sp.stderr_fd = fd;
	n = ddvm_spawn(&sp, &b->pid, &err);
	close(fd);
	if (sp.keep_fd >= 0)
		close(sp.keep_fd);
	ddvm_argv_free(&a);
	if (n) {
		b->pid = 0;
		status_close(b);
		after_exit(b, now, err.msg);
		return;
	}
	blog(b, "pid %d: %s", (int)b->pid, cmd);
}

static bool socket_there(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISSOCK(st.st_mode);
}

/* What the stream bridge said since the last tick: the last line is where it is now. */
static void read_status(struct ddvm_bridge *b)
{
	char buf[256];
	bool was = b->connected;
	ssize_t n;
	ssize_t i;

	while ((n = read(b->status_fd, buf, sizeof(buf))) > 0) {
		/* every line is "connected\n" or "disconnected\n": their first letter tells */
		for (i = 0; i < n; i++) {
			bool line_start = !b->status_midline;

			b->status_midline = buf[i] != '\n';
			if (!line_start)
				continue;
			if (buf[i] == 'c') {
				b->connected = true;
				b->connections++;
			} else if (buf[i] == 'd') {
				b->connected = false;
			}
		}
	}
	if (b->connected == was)
		return;
	b->h->changed(b->h->arg);
	if (b->connected) {
		blog(b, "connected to %s (connection %u)", b->sock, b->connections);
		if (b->late_told)
			b->last_error[0] = '\0';
	} else {
		blog(b, "disconnected from %s; connecting again", b->sock);
	}
}

/* A stream bridge that should have connected by now: say so, once a start. */
static void check_connected(struct ddvm_bridge *b, long long now)
{
	long long since = b->t_qemu > b->t_start ? b->t_qemu : b->t_start;

	if (b->connected || b->late_told || !b->t_qemu || now - since < DDVM_BRIDGE_READY_MS)
		return;
	b->late_told = true;
	snprintf(b->last_error, sizeof(b->last_error), "not connected to %.200s %lld ms after "
		 "%s; still trying (see %.200s)", b->sock, now - since,
		 since == b->t_qemu ? "QEMU started" : "it started", b->log);
	blog(b, "%s", b->last_error);
	b->h->changed(b->h->arg);
}

enum ddvm_bridge_tick ddvm_bridge_tick(struct ddvm_bridge *b, long long now, char *why,
				       size_t len)
{
	if (b->status_fd >= 0)
		read_status(b);
	switch (b->state) {
	case DDVM_BRIDGE_RUNNING:
		if (b->nic)
			check_connected(b, now);
		return DDVM_BRIDGE_TICK_UP;
	case DDVM_BRIDGE_STARTING:
		/* it connects to QEMU's socket, retrying: QEMU may start after it */
		if (b->pid && b->nic) {
			b->state = DDVM_BRIDGE_RUNNING;
			blog(b, "connecting to %s", b->sock);
			return DDVM_BRIDGE_TICK_UP;
		}
		if (b->pid && socket_there(b->sock)) {
			b->state = DDVM_BRIDGE_RUNNING;
			blog(b, "listening on %s after %lld ms", b->sock, now - b->t_start);
			return DDVM_BRIDGE_TICK_UP;
		}
		if (b->pid && now - b->t_start >= DDVM_BRIDGE_READY_MS) {
			snprintf(b->last_error, sizeof(b->last_error), "no socket %.200s within %d ms",
				 b->sock, DDVM_BRIDGE_READY_MS);
			blog(b, "%s; killing pid %d", b->last_error, (int)b->pid);
			kill(b->pid, SIGKILL);
			b->t_start = now;	/* once: the reap restarts it */
		}
		return DDVM_BRIDGE_TICK_WAIT;
	case DDVM_BRIDGE_RESTARTING:
		if (now >= b->t_retry)
			ddvm_bridge_start(b, now);
		return DDVM_BRIDGE_TICK_WAIT;
	case DDVM_BRIDGE_FAILED:
		if (b->gave_up_told)
			return DDVM_BRIDGE_TICK_WAIT;
		b->gave_up_told = true;
		snprintf(why, len, "%s bridge of %s: %s", b->nic ? "stream" : "nbd", b->channel,
			 b->last_error);
		return DDVM_BRIDGE_TICK_GAVE_UP;
	case DDVM_BRIDGE_STOPPED:
		break;
	}
	return DDVM_BRIDGE_TICK_WAIT;
}

bool ddvm_bridge_reap(struct ddvm_bridge *b, pid_t pid, int status, long long now,
		      bool stopping)
{
	char how[96], why[192];

	if (!b->pid || b->pid != pid)
		return false;
	b->pid = 0;
	/* its last words first, then the pipe goes with it */
	if (b->status_fd >= 0)
		read_status(b);
	status_close(b);
	/*
	 * Its helpers go with it: a bridge killed outright (ddvm blk nbd is
	 * nbdkit's parent) leaves them holding the channel's client slot,
	 * and the next bridge would find the channel full.  ddvm_spawn()
	 * made the bridge its own process group.
	 */
	kill(-pid, SIGKILL);
	ddvm_wait_status_text(status, how, sizeof(how));
	if (stopping || b->state == DDVM_BRIDGE_STOPPED) {
		blog(b, "pid %d %s", (int)pid, how);
		return true;
	}
	snprintf(why, sizeof(why), "pid %d %s after %.1f s", (int)pid, how,
		 (double)(now - b->t_start) / 1000.0);
	after_exit(b, now, why);
	return true;
}

void ddvm_bridge_stop(struct ddvm_bridge *b)
{
	if (b->state == DDVM_BRIDGE_FAILED && !b->pid)
		return;
	b->state = DDVM_BRIDGE_STOPPED;
	/* the whole group: a clean stop for the bridge and whatever it runs */
	if (b->pid)
		kill(-b->pid, SIGTERM);
}

bool ddvm_bridge_wait(struct ddvm_bridge *b, bool force)
{
	int status;

	if (!b->pid)
		return true;
	if (force) {
		blog(b, "pid %d still there after SIGTERM, killing", (int)b->pid);
		kill(-b->pid, SIGKILL);
		waitpid(b->pid, &status, 0);
	} else if (waitpid(b->pid, &status, WNOHANG) != b->pid) {
		return false;
	}
	ddvm_bridge_reap(b, b->pid, status, 0, true);
	/* a stream bridge's socket is QEMU's, which removes it as it exits */
	if (!b->nic)
		unlink(b->sock);
	return true;
}

void ddvm_bridge_qemu_started(struct ddvm_bridge *b, long long now)
{
	b->t_qemu = now;
}

json_t *ddvm_bridge_json(const struct ddvm_bridge *b)
{
	const char *state = state_names[b->state];
	json_t *o;

	/* "running" says little for a stream bridge: whether QEMU has it says more */
	if (b->nic && b->state == DDVM_BRIDGE_RUNNING)
		state = b->connected ? "connected" : "connecting";
	o = json_pack("{s:i, s:s, s:i, s:i, s:o, s:o}", "pid", (int)b->pid, "state", state,
		      "starts", b->starts, "restarts", b->restarts, "log",
		      ddvm_json_string(b->log), "last_error", ddvm_json_string(b->last_error));
	if (o && b->nic) {
		json_object_set_new(o, "connected", json_boolean(b->connected));
		json_object_set_new(o, "connections", json_integer(b->connections));
	}
	return o;
}
