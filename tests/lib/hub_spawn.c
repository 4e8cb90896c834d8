// SPDX-License-Identifier: GPL-2.0
/* Test helper that runs the real ddvm hub as a child process (see hub_spawn.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hub_spawn.h"

#define MAX_ARGS	64

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *hub_spawn_bin(void)
{
	static char path[512];
	const char *bin = getenv("DDVM_BIN");
	const char *build = getenv("BUILD");

	if (bin && *bin)
		return bin;
	snprintf(path, sizeof(path), "%s/ddvm", build && *build ? build : "build");
	return path;
}

/* Wait for @pid up to @ms; 0 with *status, or -ETIMEDOUT. */
static int wait_pid(pid_t pid, int *status, int ms)
{
	long end = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(5000);
	}
}

const char *hub_spawn_log_read(const struct hub_spawn *h, char *buf, size_t len)
{
	ssize_t n = 0;
	int fd;

	buf[0] = '\0';
	fd = open(h->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

bool hub_spawn_log_has(const struct hub_spawn *h, const char *needle)
{
	static char buf[1 << 20];

	return strstr(hub_spawn_log_read(h, buf, sizeof(buf)), needle) != NULL;
}

bool hub_spawn_log_wait(const struct hub_spawn *h, const char *needle, int ms)
{
	long end = now_ms() + ms;

	while (!hub_spawn_log_has(h, needle)) {
		if (now_ms() > end)
			return false;
		usleep(5000);
	}
	return true;
}

const char *hub_spawn_sock(const struct hub_spawn *h, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.sock", h->dir, name);
	return buf;
}

static void fail_why(struct hub_spawn *h, const char *what)
{
	char log[400];

	snprintf(h->why, sizeof(h->why), "%s; hub log: %s", what,
		 hub_spawn_log_read(h, log, sizeof(log)));
}

int hub_spawn_start(struct hub_spawn *h, const char *const *opts, const char *const *channels)
{
	char dir[] = "/tmp/ddvm-hubtest.XXXXXX";

	if (!mkdtemp(dir)) {
		memset(h, 0, sizeof(*h));
		snprintf(h->why, sizeof(h->why), "mkdtemp: %s", strerror(errno));
		return -errno;
	}
	return hub_spawn_start_in(h, dir, opts, channels);
}

int hub_spawn_start_in(struct hub_spawn *h, const char *dir, const char *const *opts,
		       const char *const *channels)
{
	const char *argv[MAX_ARGS];
	char fdarg[16], buf[16];
	int pipefd[2], n = 0, i, ret;
	struct pollfd pfd;
	ssize_t got;

	memset(h, 0, sizeof(*h));
	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	snprintf(h->log, sizeof(h->log), "%s/hub.log", h->dir);
	if (access(hub_spawn_bin(), X_OK)) {
		snprintf(h->why, sizeof(h->why), "%s is not built (make host): %s",
			 hub_spawn_bin(), strerror(errno));
		return -ENOENT;
	}
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(h->why, sizeof(h->why), "pipe: %s", strerror(errno));
		return -errno;
	}
	snprintf(fdarg, sizeof(fdarg), "%d", pipefd[1]);
	argv[n++] = hub_spawn_bin();
	argv[n++] = "hub";
	argv[n++] = "--ready-fd";
	argv[n++] = fdarg;
	for (i = 0; opts && opts[i] && n < MAX_ARGS - 8; i++)
		argv[n++] = opts[i];
	argv[n++] = h->dir;
	for (i = 0; channels[i] && n < MAX_ARGS - 1; i++)
		argv[n++] = channels[i];
	argv[n] = NULL;

	h->pid = fork();
	if (h->pid < 0) {
		snprintf(h->why, sizeof(h->why), "fork: %s", strerror(errno));
		h->pid = 0;
		return -errno;
	}
	if (!h->pid) {
		int log = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (log < 0 || dup2(log, STDERR_FILENO) < 0)
			_exit(126);
		/* only the write end, and only in the child, survives exec */
		fcntl(pipefd[1], F_SETFD, 0);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	pfd.fd = pipefd[0];
	pfd.events = POLLIN;
	ret = poll(&pfd, 1, 5000);
	got = ret > 0 ? read(pipefd[0], buf, sizeof(buf) - 1) : -1;
	close(pipefd[0]);
	if (got == 6 && !memcmp(buf, "ready\n", 6))
		return 0;
	fail_why(h, ret == 0 ? "hub not ready within 5 s" : "hub exited before it was ready");
	hub_spawn_stop(h, SIGKILL, NULL);
	return -EIO;
}

int hub_spawn_stop(struct hub_spawn *h, int sig, int *status)
{
	int st = 0, ret;

	if (!h->pid)
		return 0;
	kill(h->pid, sig);
	ret = wait_pid(h->pid, &st, 5000);
	if (ret == -ETIMEDOUT) {
		kill(h->pid, SIGKILL);
		wait_pid(h->pid, &st, 5000);
	}
	h->pid = 0;
	if (status)
		*status = st;
	return ret;
}

void hub_spawn_cleanup(struct hub_spawn *h)
{
	char cmd[128];

	if (h->pid) {
		kill(h->pid, SIGCONT);
		hub_spawn_stop(h, SIGKILL, NULL);
	}
	if (!strncmp(h->dir, "/tmp/ddvm-hub", 13)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
		if (system(cmd))
			fprintf(stderr, "hub_spawn: could not remove %s\n", h->dir);
	}
	h->dir[0] = '\0';
}

int hub_spawn_run(const char *const *argv, bool run_as_nobody, char *out, size_t len)
{
	const char *full[MAX_ARGS];
	int pipefd[2], st = 0, n = 0, i, ret;
	size_t got = 0;
	long end;
	pid_t pid;

	full[n++] = hub_spawn_bin();
	for (i = 0; argv[i] && n < MAX_ARGS - 1; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return ret;
	}
	if (!pid) {
		/*
		 * Open the binary while still root: the checkout may sit in a
		 * directory nobody cannot enter (mktemp -d makes it 0700), and
		 * the test is about the hub's errors, not about that path.
		 */
		int exe = open(full[0], O_PATH | O_CLOEXEC);

		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		if (run_as_nobody && !geteuid() && (setgroups(0, NULL) || setgid(65534) ||
						    setuid(65534))) {
			fprintf(stderr, "hub_spawn_run: cannot become nobody: %s\n", strerror(errno));
			_exit(126);
		}
		if (exe >= 0)
			fexecve(exe, (char *const *)full, environ);
		fprintf(stderr, "hub_spawn_run: cannot run %s: %s\n", full[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	end = now_ms() + 10000;
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, (int)(end - now_ms() > 0 ? end - now_ms() : 0)) <= 0)
			break;
		r = read(pipefd[0], out + got, len - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == len - 1)
			break;
	}
	out[got] = '\0';
	close(pipefd[0]);
	ret = wait_pid(pid, &st, (int)(end - now_ms() > 0 ? end - now_ms() : 0));
	if (ret) {
		kill(pid, SIGKILL);
		wait_pid(pid, &st, 5000);
		return ret;
	}
	return st;
}
