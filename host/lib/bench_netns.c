// SPDX-License-Identifier: GPL-2.0
/* ip commands, namespaces, TX checksum offload and the remote iperf3 host for benchmarks. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "bench_blk.h"
#include "bench_netns.h"
#include "spawn.h"

#define NETNS_DIR		"/run/netns"
#define SERVER_SETTLE_MS	300	/* iperf3 -s listening before any client boots */

/* Run @argv to completion within @ms, stdout and stderr into @out. */
static int run_bounded(char *const *argv, char *out, size_t len, int ms, int *status,
		       struct ddvm_err *err)
{
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .keep_fd = -1,
				 .death_signal = SIGKILL };
	double deadline = ddvm_bench_now() + ms / 1000.0;
	struct pollfd pfd;
	size_t got = 0;
	int op[2], ret;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(op, O_CLOEXEC))
		return ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	ret = ddvm_spawn(&sp, &pid, err);
	close(op[1]);
	if (ret) {
		close(op[0]);
		return ret;
	}
	pfd.fd = op[0];
	pfd.events = POLLIN;
	ret = -ETIMEDOUT;	/* until EOF says it is done */
	for (;;) {
		double left = deadline - ddvm_bench_now();
		int pr;

		if (left <= 0)
			break;
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		n = read(op[0], out + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) == len - 1) {
			ret = 0;
			break;
		}
	}
	close(op[0]);
	out[got] = '\0';
	if (ret)
		kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return ret;
}

int ddvm_bench_ip(struct ddvm_err *err, const char *fmt, ...)
{
	char cmd[512], shown[512], out[512], *argv[24], *save = NULL, *t;
	int argc = 0, status = 0, ret;
	struct ddvm_err e2 = { "" };
	va_list ap;

	argv[argc++] = "ip";
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memcpy(shown, cmd, sizeof(shown));
	for (t = strtok_r(cmd, " ", &save); t && argc < 23; t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	ret = run_bounded(argv, out, sizeof(out), DDVM_BENCH_IP_TIMEOUT_MS, &status, &e2);
	if (ret)
		return ddvm_errf(err, ret, "ip %s: %s", shown,
				 ret == -ETIMEDOUT ? "no exit in time" : e2.msg);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		out[strcspn(out, "\n")] = '\0';
		return ddvm_errf(err, -EIO, "ip %s: %s", shown, out[0] ? out : "failed");
	}
	return 0;
}

bool ddvm_bench_netns_exists(const char *ns)
{
	char path[sizeof(NETNS_DIR) + DDVM_NETNS_MAX + 2];
	struct stat st;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	return !stat(path, &st);
}

int ddvm_bench_netns_add(const char *ns, struct ddvm_err *err)
{
	int ret = ddvm_bench_ip(err, "netns add %s", ns);

	return ret ? ret : ddvm_bench_ip(err, "-n %s link set dev lo up", ns);
}

void ddvm_bench_netns_del(const char *ns)
{
	if (ns[0] && ddvm_bench_netns_exists(ns))
		ddvm_bench_ip(NULL, "netns delete %s", ns);
}

int ddvm_bench_ethtool(const char *ns, const char *ifname, uint32_t cmd, uint32_t data)
{
	char path[sizeof(NETNS_DIR) + DDVM_NETNS_MAX + 2];
	int status = 0;
	pid_t pid;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	pid = fork();
	if (pid < 0)
		return -EIO;
	if (!pid) {
		/* setns() changes the caller's namespace: only a child may */
		struct ethtool_value ev = { .cmd = cmd, .data = data };
		struct ifreq ifr = { 0 };
		int fd = open(path, O_RDONLY | O_CLOEXEC), sk;

		if (fd < 0 || setns(fd, CLONE_NEWNET))
			_exit(2);
		sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&ev;
		_exit(sk < 0 || ioctl(sk, SIOCETHTOOL, &ifr) ? 2 : !!ev.data);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return -EIO;
	return WEXITSTATUS(status);
}

int ddvm_bench_tx_csum(const char *ns, const char *ifname, bool on, struct ddvm_err *err)
{
	if (ddvm_bench_ethtool(ns, ifname, ETHTOOL_STXCSUM, on) < 0)
		return ddvm_errf(err, -EIO, "cannot turn TX checksum offload %s on %s in namespace %s",
				 on ? "on" : "off", ifname, ns);
	return 0;
}

int ddvm_bench_wait_link(const char *ifname, int ms, volatile sig_atomic_t *stop,
			 struct ddvm_err *err)
{
	double end = ddvm_bench_now() + ms / 1000.0;
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	while (stat(path, &st)) {
		if (stop && *stop)
			return ddvm_errf(err, -EINTR, "interrupted");
		if (ddvm_bench_now() > end)
			return ddvm_errf(err, -ETIMEDOUT, "interface %s did not appear within %d ms",
					 ifname, ms);
		usleep(20 * 1000);
	}
	return 0;
}

int ddvm_bench_remote_start(struct ddvm_bench_remote *r, const char *ns, const char *log,
			    struct ddvm_err *err)
{
	char *argv[] = { "ip", "netns", "exec", r->ns, "iperf3", "-s", NULL };
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .keep_fd = -1,
				 .death_signal = SIGKILL };
	int logfd, ret;

	memset(r, 0, sizeof(*r));
	if (snprintf(r->ns, sizeof(r->ns), "%s", ns) >= (int)sizeof(r->ns))
		return ddvm_errf(err, -ENAMETOOLONG, "namespace name %s too long", ns);
	ret = ddvm_bench_netns_add(r->ns, err);
	if (ret) {
		r->ns[0] = '\0';	/* not ours to remove */
		return ret;
	}
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	sp.stdout_fd = logfd;
	sp.stderr_fd = logfd;
	ret = ddvm_spawn(&sp, &r->server, err);
	if (logfd >= 0)
		close(logfd);
	if (ret) {
		r->server = 0;
		ddvm_err_prefix(err, ret, "iperf3 server (Debian package iperf3): ");
		goto out_del;
	}
	usleep(SERVER_SETTLE_MS * 1000);
	if (waitpid(r->server, NULL, WNOHANG) == r->server) {
		r->server = 0;
		ret = ddvm_errf(err, -EIO, "the iperf3 server in %s exited (see %s)", r->ns, log);
		goto out_del;
	}
	return 0;
out_del:
	ddvm_bench_netns_del(r->ns);
	r->ns[0] = '\0';
	return ret;
}

int ddvm_bench_remote_wire(const struct ddvm_bench_remote *r, const char *tap, bool moved,
			   bool offload, const char *address, struct ddvm_err *err)
{
	int ret = 0;

	if (!moved)
		ret = ddvm_bench_ip(err, "link set dev %s netns %s", tap, r->ns);
	if (!ret)
		ret = ddvm_bench_tx_csum(r->ns, tap, offload, err);
	if (!ret)
		ret = ddvm_bench_ip(err, "-n %s addr add %s dev %s", r->ns, address, tap);
	if (!ret)
		ret = ddvm_bench_ip(err, "-n %s link set dev %s up", r->ns, tap);
	return ret;
}

void ddvm_bench_remote_stop(struct ddvm_bench_remote *r)
{
	if (r->server > 0)
		ddvm_bench_reap(r->server, 2000, SIGTERM);
	r->server = 0;
	ddvm_bench_netns_del(r->ns);
	r->ns[0] = '\0';
}
