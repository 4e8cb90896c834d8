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
 * client reconnects), so restarting is cheap; one that keeps dying is
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
	/* QEMU 7.2's stream netdev (server=off) never connects again by itself */
	if (b->nic && b->qemu_started)
		snprintf(b->last_error, sizeof(b->last_error), "%.160s; restarted, but QEMU "
			 "7.2's stream netdev does not reconnect: %s's NIC has no backend until "
			 "the VM restarts", why, b->vm->name);
	else
		snprintf(b->last_error, sizeof(b->last_error), "%.300s; restarted", why);
	blog(b, "%s; restart %u in %lld ms", why, b->restarts, delay);
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
	/* the socket of a bridge that died must not pass for the new one's */
	unlink(b->sock);
	if (ddvm_vm_bridge_argv(&a, b->h->cfg, b->vm, b->nic, b->index, b->h->exe,
				b->h->run_dir, &err)) {
		after_exit(b, now, err.msg);
		return;
	}
	fd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(cmd, sizeof(cmd), "%.900s: %s", b->log, strerror(errno));
		ddvm_argv_free(&a);
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
	ddvm_argv_free(&a);
	if (n) {
		b->pid = 0;
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

enum ddvm_bridge_tick ddvm_bridge_tick(struct ddvm_bridge *b, long long now, char *why,
				       size_t len)
{
	switch (b->state) {
	case DDVM_BRIDGE_RUNNING:
		return DDVM_BRIDGE_TICK_UP;
	case DDVM_BRIDGE_STARTING:
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
	unlink(b->sock);
	return true;
}

json_t *ddvm_bridge_json(const struct ddvm_bridge *b)
{
	return json_pack("{s:i, s:s, s:i, s:i, s:o, s:o}", "pid", (int)b->pid,
			 "state", state_names[b->state], "starts", b->starts,
			 "restarts", b->restarts, "log", ddvm_json_string(b->log),
			 "last_error", ddvm_json_string(b->last_error));
}
