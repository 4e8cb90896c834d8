// SPDX-License-Identifier: GPL-2.0
/* VM test helpers for the net path: NIC domain, TAP clients, namespaces, transfer, sniffer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hub_spawn.h"
#include "pattern.h"
#include "vmtest_net.h"

#define NETNS_DIR	"/run/netns"
#define READY_MS	20000	/* `ddvm net tap` waits up to 10 s for the server itself */
#define IP_MS		10000	/* one ip command */
#define XFER_CHUNK	(256u << 10)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool netns_exists(const char *ns)
{
	char path[sizeof(NETNS_DIR) + VMTEST_NS_MAX + 2];
	struct stat st;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	return !stat(path, &st);
}

/* --------------------------------------------------- emergency cleanup */

/*
 * A test killed by tests/run's timeout (SIGTERM) or ^C must not leave a
 * supervisor, QEMU, adapters and namespaces behind: the handler does what
 * vmtest_net_down() would, with async-signal-safe calls only, then dies of
 * the signal.  (A failed assertion is not this path: cmocka runs the
 * test's teardown.)
 */
#define MAX_ACTIVE	4
static struct vmtest_net *volatile active[MAX_ACTIVE];

static void run_quiet(const char *path, char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_RDWR);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(path, argv);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
}

static void emergency_cleanup(int sig)
{
	unsigned int i, k;

	for (i = 0; i < MAX_ACTIVE; i++) {
		struct vmtest_net *n = active[i];

		if (!n)
			continue;
		for (k = 0; k < n->nr_clients; k++) {
			if (n->c[k].tap_pid > 0) {
				kill(n->c[k].tap_pid, SIGKILL);
				waitpid(n->c[k].tap_pid, NULL, 0);
			}
			if (n->c[k].netns_made)
				run_quiet("ip", (char *const[]){ "ip", "netns", "del", n->c[k].netns,
								 NULL });
		}
		if (n->vm_made)
			run_quiet((char *)hub_spawn_bin(), (char *const[]){ (char *)hub_spawn_bin(),
				  "down", "--run-dir", n->vm.run_dir, NULL });
		if (n->vm.dir[0])
			run_quiet("rm", (char *const[]){ "rm", "-rf", n->vm.dir, NULL });
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void track(struct vmtest_net *n, bool on)
{
	static bool handlers;
	unsigned int i;

	if (!handlers) {
		struct sigaction sa = { .sa_handler = emergency_cleanup };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		handlers = true;
	}
	for (i = 0; i < MAX_ACTIVE; i++) {
		if (on && !active[i]) {
			active[i] = n;
			return;
		}
		if (!on && active[i] == n)
			active[i] = NULL;
	}
}

/* --------------------------------------------------------- processes */

/* Append to n->why, keeping what is there. */
static void why_add(struct vmtest_net *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void why_add(struct vmtest_net *n, const char *fmt, ...)
{
	size_t used = strlen(n->why);
	va_list ap;

	if (used >= sizeof(n->why) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(n->why + used, sizeof(n->why) - used, fmt, ap);
	va_end(ap);
}

/* Enter namespace @ns on this thread; *@self gets the way back. */
static int netns_enter(const char *ns, int *self)
{
	char path[sizeof(NETNS_DIR) + VMTEST_NS_MAX + 2];
	int fd, ret = 0;

	/* thread-self: a thread may already be elsewhere than the process */
	*self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*self < 0)
		return -errno;
	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret) {
		close(*self);
		*self = -1;
	}
	return ret;
}

static void netns_leave(int self)
{
	/* a thread stuck in a test namespace would make every later check lie */
	if (setns(self, CLONE_NEWNET))
		abort();
	close(self);
}

/*
 * Run @argv to completion within @timeout_ms, in namespace @ns if not NULL;
 * output into @out.  Return: exit status, 128 + signal, or -errno.
 */
static int run_cmd(const char *ns, const char *const *argv, char *out, size_t len, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int pfd[2], status = 0;
	size_t used = 0;
	char sink[256];
	pid_t pid;

	if (len)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (!pid) {
		char path[sizeof(NETNS_DIR) + VMTEST_NS_MAX + 2];
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (ns) {
			snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET)) {
				fprintf(stderr, "cannot enter netns %s: %s\n", ns, strerror(errno));
				_exit(126);
			}
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (used + 1 < len)
			r = read(pfd[0], out + used, len - 1 - used);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (used + 1 < len) {
			used += (size_t)r;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(5000);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Run "ip ARGS..."; on failure n->why says what ip said. */
static int ip(struct vmtest_net *n, const char *const *args)
{
	const char *argv[16] = { "ip" };
	char out[512], cmd[256];
	size_t i, used = 0;
	int ret;

	for (i = 0; args[i] && i < 14; i++) {
		argv[i + 1] = args[i];
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s", args[i]);
		if (used >= sizeof(cmd))
			used = sizeof(cmd) - 1;
	}
	ret = run_cmd(NULL, argv, out, sizeof(out), IP_MS);
	if (ret) {
		why_add(n, "'ip%s' failed (%d): %s\n", cmd, ret, out);
		return -EIO;
	}
	return 0;
}

int vmtest_ping(const char *ns, const char *addr, unsigned int count, char *out, size_t len)
{
	char cnt[16], wait_s[16];
	unsigned int tx = 0, rx = 0;
	const char *p;
	int ret;

	snprintf(cnt, sizeof(cnt), "%u", count);
	snprintf(wait_s, sizeof(wait_s), "%u", 2u);
	ret = run_cmd(ns, (const char *const[]){ "ping", "-n", "-q", "-c", cnt, "-i", "0.2", "-W",
						 wait_s, addr, NULL },
		      out, len, (int)(count * 200 + 5000));
	p = strstr(out, "packets transmitted");
	while (p && p > out && p[-1] != '\n')
		p--;
	if (ret || !p || sscanf(p, "%u packets transmitted, %u received", &tx, &rx) != 2 ||
	    tx != count || rx != count)
		return -EIO;
	return 0;
}

int vmtest_tcp_csum_errors(const char *ns, uint64_t *count)
{
	char out[4096], *hdr, *val, *hs, *vs, *h, *v;
	int ret;

	ret = run_cmd(ns, (const char *const[]){ "cat", "/proc/net/snmp", NULL }, out, sizeof(out),
		      IP_MS);
	if (ret)
		return -EIO;
	/* "Tcp: names..." then "Tcp: values..." */
	hdr = strstr(out, "\nTcp: ");
	val = hdr ? strstr(hdr + 1, "\nTcp: ") : NULL;
	if (!hdr || !val)
		return -ENOENT;
	hdr += 6;
	val += 6;
	*strchrnul(hdr, '\n') = '\0';
	*strchrnul(val, '\n') = '\0';
	for (h = strtok_r(hdr, " ", &hs), v = strtok_r(val, " ", &vs); h && v;
	     h = strtok_r(NULL, " ", &hs), v = strtok_r(NULL, " ", &vs))
		if (!strcmp(h, "InCsumErrors")) {
			*count = strtoull(v, NULL, 10);
			return 0;
		}
	return -ENOENT;
}

/* ---------------------------------------------------------- sockets */

int vmtest_netns_socket(const char *ns, int domain, int type, int proto)
{
	int self, fd, ret;

	ret = netns_enter(ns, &self);
	if (ret)
		return ret;
	fd = socket(domain, type, proto);
	if (fd < 0)
		ret = -errno;
	netns_leave(self);
	return fd < 0 ? ret : fd;
}

int vmtest_netns_if_ioctl(const char *ns, unsigned long req, struct ifreq *ifr)
{
	int fd, ret = 0;

	fd = vmtest_netns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (ioctl(fd, req, ifr))
		ret = -errno;
	close(fd);
	return ret;
}

int vmtest_netns_ifinfo(const char *ns, const char *ifname, int *ifindex, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd, ret = 0;

	fd = vmtest_netns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr))
		ret = -errno;
	else if (ifindex)
		*ifindex = ifr.ifr_ifindex;
	if (!ret && mac) {
		if (ioctl(fd, SIOCGIFHWADDR, &ifr))
			ret = -errno;
		else
			memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	close(fd);
	return ret;
}

int vmtest_packet_socket(const char *ns, const char *ifname, uint16_t proto, int *ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(proto) };
	int fd, idx, ret, rcvbuf = 4 << 20;

	ret = vmtest_netns_ifinfo(ns, ifname, &idx, NULL);
	if (ret)
		return ret;
	/* protocol 0 until bound: no frame of another interface slips in */
	fd = vmtest_netns_socket(ns, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	sll.sll_ifindex = idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (ifindex)
		*ifindex = idx;
	return fd;
}

/* --------------------------------------------------------- the domain */

void vmtest_net_cleanup(struct vmtest_net *n, bool passed)
{
	n->why[0] = '\0';
	if (vmtest_net_down(n, !passed))
		fprintf(stderr, "cleanup: %s", n->why);
	if (!passed && n->vm.dir[0])
		fprintf(stderr, "kept %s for a post-mortem\n", n->vm.dir);
}

const char *vmtest_net_sock(const struct vmtest_net *n, unsigned int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/hub/%s.%s.sock", n->vm.run_dir, n->domain, n->c[i].chan);
	return buf;
}

int vmtest_net_up(struct vmtest_net *n, const char *model, unsigned int subnet, char tag,
		  unsigned int nr_clients)
{
	char json[2048], clients[256];
	int pid = (int)getpid() % 10000000;	/* the domain name has 12 characters */
	size_t used = 0;
	unsigned int i;
	int ret;

	memset(n, 0, sizeof(*n));
	if (!nr_clients || nr_clients > VMTEST_NET_CLIENTS || subnet < 1 || subnet > 254) {
		why_add(n, "vmtest_net_up: bad arguments\n");
		return -EINVAL;
	}
	snprintf(n->model, sizeof(n->model), "%s", model);
	snprintf(n->domain, sizeof(n->domain), "nt%d%c", pid, tag);
	snprintf(n->remote_ns, sizeof(n->remote_ns), "ddvm-r-%d-%c", pid, tag);
	snprintf(n->remote_if, sizeof(n->remote_if), "dd-%s", n->domain);
	snprintf(n->remote_addr, sizeof(n->remote_addr), "10.79.%u.1", subnet);
	n->nr_clients = nr_clients;
	for (i = 0; i < nr_clients; i++) {
		struct vmtest_net_client *c = &n->c[i];

		snprintf(c->chan, sizeof(c->chan), "c%u", i);
		snprintf(c->netns, sizeof(c->netns), "ddvm-c%u-%d-%c", i, pid, tag);
		snprintf(c->ifname, sizeof(c->ifname), "t%u", i);
		snprintf(c->addr, sizeof(c->addr), "10.79.%u.%u", subnet, 10 + i);
		used += (size_t)snprintf(clients + used, sizeof(clients) - used,
					 "%s{ \"name\": \"%s\" }", i ? ", " : "", c->chan);
	}
	snprintf(json, sizeof(json),
		 "[ { \"name\": \"%s\", \"memory\": \"192M\", \"cpus\": 1,\n"
		 "    \"nic\": { \"model\": \"%s\", \"clients\": [ %s ],\n"
		 "             \"wire\": { \"netns\": \"%s\", \"address\": \"%s/24\" } } } ]",
		 n->domain, model, clients, n->remote_ns, n->remote_addr);
	/* leftovers of a run killed with this pid would make the result lie */
	if (netns_exists(n->remote_ns)) {
		why_add(n, "network namespace %s exists already (a dead run's?)\n", n->remote_ns);
		return -EEXIST;
	}
	track(n, true);
	ret = vmtest_up_domains(&n->vm, json);
	n->vm_made = n->vm.dir[0] != '\0';
	if (ret) {
		why_add(n, "ddvm up (%s) failed: %d\n%s\n", model, ret, n->vm.log);
		return ret;
	}
	ret = vmtest_netns_ifinfo(n->remote_ns, n->remote_if, NULL, n->remote_mac);
	if (ret) {
		why_add(n, "the wire %s in %s: %s\n", n->remote_if, n->remote_ns, strerror(-ret));
		return ret;
	}
	return 0;
}

int vmtest_netns_wait_running(const char *ns, const char *ifname, int ms)
{
	int64_t deadline = now_ms() + ms;
	struct ifreq ifr;
	int fd, ret = -ETIMEDOUT;

	fd = vmtest_netns_socket(ns, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	do {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr)) {
			ret = -errno;
			break;
		}
		if (ifr.ifr_flags & IFF_RUNNING) {
			ret = 0;
			break;
		}
		usleep(20000);
	} while (now_ms() < deadline);
	close(fd);
	return ret;
}

static void client_log_tail(struct vmtest_net *n, unsigned int i)
{
	char buf[1024];
	ssize_t r;
	off_t size;
	int fd;

	fd = open(n->c[i].tap_log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	r = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
					    size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (r > 0) {
		buf[r] = '\0';
		why_add(n, "adapter %s said:\n%s\n", n->c[i].chan, buf);
	}
}

int vmtest_net_client_start(struct vmtest_net *n, unsigned int i)
{
	struct vmtest_net_client *c = &n->c[i];
	char sock[192], buf[16], cidr[32], path[sizeof(c->tap_log)];
	int pfd[2], ret;
	int64_t deadline;
	size_t got = 0;
	pid_t pid;

	if (i >= n->nr_clients || c->tap_pid)
		return -EINVAL;
	if (!c->netns_made) {
		if (ip(n, (const char *const[]){ "netns", "add", c->netns, NULL }))
			return -EIO;
		c->netns_made = true;
		if (ip(n, (const char *const[]){ "-n", c->netns, "link", "set", "lo", "up", NULL }))
			return -EIO;
	}
	snprintf(path, sizeof(path), "%s/tap-%s.log", n->vm.dir, c->chan);
	memcpy(c->tap_log, path, sizeof(c->tap_log));
	vmtest_net_sock(n, i, sock, sizeof(sock));
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (!pid) {
		const char *argv[] = { hub_spawn_bin(), "net", "tap", sock, "--ifname", c->ifname,
				       "--netns", c->netns, "--ready-fd", "3",
				       c->plain ? "--no-offload" : NULL, NULL };
		int fd;

		/* an adapter must not outlive a test that died */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		fd = open(c->tap_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (pfd[1] == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(pfd[1], 3);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	c->tap_pid = pid;
	deadline = now_ms() + READY_MS;
	while (got < 6) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = read(pfd[0], buf + got, 6 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
	if (got != 6 || memcmp(buf, "ready\n", 6)) {
		why_add(n, "ddvm net tap %s: no \"ready\" within %d ms\n", c->chan, READY_MS);
		vmtest_net_client_stop(n, i);
		client_log_tail(n, i);
		return -EIO;
	}
	snprintf(cidr, sizeof(cidr), "%s/24", c->addr);
	if (ip(n, (const char *const[]){ "-n", c->netns, "addr", "add", cidr, "dev", c->ifname,
					 NULL }))
		return -EIO;
	ret = vmtest_netns_ifinfo(c->netns, c->ifname, NULL, c->mac);
	if (ret) {
		why_add(n, "%s in %s: %s\n", c->ifname, c->netns, strerror(-ret));
		return ret;
	}
	/* the interface shows the NIC's carrier: wait for it as any client would */
	ret = vmtest_netns_wait_running(c->netns, c->ifname, VMTEST_CARRIER_MS);
	if (ret) {
		why_add(n, "%s in %s: no carrier within %d ms (%s)\n", c->ifname, c->netns,
			VMTEST_CARRIER_MS, strerror(-ret));
		client_log_tail(n, i);
	}
	return ret;
}

int vmtest_net_client_stop(struct vmtest_net *n, unsigned int i)
{
	struct vmtest_net_client *c = &n->c[i];
	int64_t deadline = now_ms() + 5000;
	int status = 0;
	pid_t r;

	if (c->tap_pid <= 0)
		return -ESRCH;
	kill(c->tap_pid, SIGTERM);
	while ((r = waitpid(c->tap_pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		usleep(5000);
	if (r == 0) {
		why_add(n, "adapter %s ignored SIGTERM for 5 s: killed\n", c->chan);
		kill(c->tap_pid, SIGKILL);
		waitpid(c->tap_pid, &status, 0);
	}
	c->tap_pid = 0;
	if (r < 0)
		return -ECHILD;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int vmtest_net_down(struct vmtest_net *n, bool keep)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n->nr_clients; i++) {
		if (n->c[i].tap_pid > 0 && vmtest_net_client_stop(n, i) != 0) {
			why_add(n, "adapter %s did not stop cleanly\n", n->c[i].chan);
			client_log_tail(n, i);
			ret = -EIO;
		}
		if (n->c[i].netns_made) {
			if (ip(n, (const char *const[]){ "netns", "del", n->c[i].netns, NULL }))
				ret = -EIO;
			else
				n->c[i].netns_made = false;
		}
	}
	if (n->vm_made) {
		/* keep: the console log is read after this */
		if (vmtest_down(&n->vm, true)) {
			why_add(n, "ddvm down: %s\n", n->vm.log);
			ret = -EIO;
		}
		n->vm_made = false;
		/* the supervisor removes the namespaces it made; ours to check */
		if (n->remote_ns[0] && netns_exists(n->remote_ns)) {
			why_add(n, "ddvm down left network namespace %s behind\n", n->remote_ns);
			ip(n, (const char *const[]){ "netns", "del", n->remote_ns, NULL });
			ret = ret ? ret : -EEXIST;
		}
	}
	if (!keep && n->vm.dir[0]) {
		run_cmd(NULL, (const char *const[]){ "rm", "-rf", n->vm.dir, NULL }, NULL, 0, IP_MS);
		n->vm.dir[0] = '\0';
	}
	if (!keep)
		track(n, false);
	return ret;
}

/* ---------------------------------------------------------- transfer */

struct receiver {
	int listen_fd;
	uint64_t received;
	uint64_t first_bad;
	uint64_t seed;
	int64_t done_ms;
	uint64_t *progress;	/* the caller's vmtest_xfer.progress */
	char why[128];
};

int vmtest_net_sock_timeout_s = 20;

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = vmtest_net_sock_timeout_s };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Accept one connection and check every byte against the pattern until EOF. */
static void *receiver_main(void *arg)
{
	struct receiver *rc = arg;
	const size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);
	size_t have = 0, n8;
	uint64_t bad;
	ssize_t r;
	int fd;

	rc->first_bad = UINT64_MAX;
	if (!buf) {
		snprintf(rc->why, sizeof(rc->why), "receiver: out of memory");
		return NULL;
	}
	fd = accept4(rc->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		snprintf(rc->why, sizeof(rc->why), "accept: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	set_timeouts(fd);
	for (;;) {
		r = recv(fd, buf + have, cap - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(rc->why, sizeof(rc->why), "recv after %llu bytes: %s",
				 (unsigned long long)rc->received, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		/* the pattern is defined per 8-byte word of the stream */
		n8 = have & ~(size_t)7;
		if (rc->first_bad == UINT64_MAX) {
			bad = ddvm_pattern_check(buf, n8, rc->received, rc->seed);
			if (bad != UINT64_MAX)
				rc->first_bad = bad;
		}
		rc->received += n8;
		__atomic_store_n(rc->progress, rc->received, __ATOMIC_RELAXED);
		memmove(buf, buf + n8, have - n8);
		have -= n8;
	}
	rc->received += have;	/* a ragged tail is a length error */
	rc->done_ms = now_ms();
	close(fd);
	free(buf);
	return NULL;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t r;

	while (len) {
		r = send(fd, p, len, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int vmtest_tcp_transfer(const char *from_ns, const char *to_ns, const char *to_addr,
			uint64_t bytes, uint64_t seed, struct vmtest_xfer *x)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct receiver rc = { .listen_fd = -1, .seed = seed };
	socklen_t sl = sizeof(sa);
	uint8_t *buf = NULL;
	pthread_t thread;
	int64_t t0 = 0;
	int fd = -1, one = 1, ret;
	bool joined = true;

	memset(x, 0, sizeof(*x));
	x->first_bad = UINT64_MAX;
	rc.progress = &x->progress;
	if (bytes % 8 || inet_pton(AF_INET, to_addr, &sa.sin_addr) != 1) {
		snprintf(x->why, sizeof(x->why), "bad transfer arguments");
		return -EINVAL;
	}
	rc.listen_fd = vmtest_netns_socket(to_ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc.listen_fd < 0) {
		snprintf(x->why, sizeof(x->why), "listener in %s: %s", to_ns, strerror(-rc.listen_fd));
		return rc.listen_fd;
	}
	setsockopt(rc.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	set_timeouts(rc.listen_fd);	/* accept() gives up too */
	if (bind(rc.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(rc.listen_fd, 1) ||
	    getsockname(rc.listen_fd, (struct sockaddr *)&sa, &sl)) {
		ret = -errno;
		snprintf(x->why, sizeof(x->why), "listen on %s in %s: %s", to_addr, to_ns,
			 strerror(-ret));
		goto out;
	}
	if (pthread_create(&thread, NULL, receiver_main, &rc)) {
		ret = -EAGAIN;
		snprintf(x->why, sizeof(x->why), "pthread_create failed");
		goto out;
	}
	joined = false;
	buf = malloc(XFER_CHUNK);
	fd = vmtest_netns_socket(from_ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!buf || fd < 0) {
		ret = fd < 0 ? fd : -ENOMEM;
		snprintf(x->why, sizeof(x->why), "sender in %s: %s", from_ns, strerror(-ret));
		goto out;
	}
	set_timeouts(fd);
	t0 = now_ms();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		snprintf(x->why, sizeof(x->why), "connect from %s to %s: %s", from_ns, to_addr,
			 strerror(-ret));
		goto out;
	}
	while (x->sent < bytes) {
		size_t len = bytes - x->sent < XFER_CHUNK ? (size_t)(bytes - x->sent) : XFER_CHUNK;

		ddvm_pattern_fill(buf, len, x->sent, seed);
		ret = send_all(fd, buf, len);
		if (ret) {
			snprintf(x->why, sizeof(x->why), "send after %llu bytes: %s",
				 (unsigned long long)x->sent, strerror(-ret));
			goto out;
		}
		x->sent += len;
	}
	ret = shutdown(fd, SHUT_WR) ? -errno : 0;
	if (ret)
		snprintf(x->why, sizeof(x->why), "shutdown: %s", strerror(-ret));
out:
	if (!joined) {
		/* a sender that never connected must not leave accept() waiting */
		if (ret)
			shutdown(rc.listen_fd, SHUT_RDWR);
		pthread_join(thread, NULL);
	}
	if (fd >= 0)
		close(fd);
	if (rc.listen_fd >= 0)
		close(rc.listen_fd);
	free(buf);
	x->received = rc.received;
	x->first_bad = rc.first_bad;
	x->ms = rc.done_ms && t0 ? rc.done_ms - t0 : 0;
	if (!ret && rc.why[0]) {
		snprintf(x->why, sizeof(x->why), "%s", rc.why);
		ret = -EIO;
	}
	if (!ret && (x->received != bytes || x->first_bad != UINT64_MAX))
		ret = -EIO;
	return ret;
}

/* ----------------------------------------------------------- sniffer */

static void *sniffer_main(void *arg)
{
	struct vmtest_sniffer *s = arg;
	uint8_t frame[2048];
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t r;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		fl = sizeof(from);
		r = recvfrom(s->fd, frame, sizeof(frame), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			s->error = -errno;
			break;
		}
		/* our own interface's transmissions are not what it received */
		if (from.sll_pkttype == PACKET_OUTGOING || r < 14)
			continue;
		s->frames++;
		if (!memcmp(frame, s->watch, 6))
			s->to_watch++;
		if (!(frame[0] & 1) && memcmp(frame, s->own, 6))
			s->foreign++;
		if (s->marker[0] && r >= 14 + (ssize_t)strlen(s->marker) &&
		    ((frame[12] << 8) | frame[13]) == s->marker_type &&
		    !memcmp(frame + 14, s->marker, strlen(s->marker)))
			s->markers++;
	}
	return NULL;
}

int vmtest_sniff_start(struct vmtest_sniffer *s, const char *ns, const char *ifname,
		       const uint8_t own[6], const uint8_t watch[6], uint16_t marker_type,
		       const char *marker)
{
	struct timeval tv = { .tv_usec = 100000 };	/* how soon stop is seen */
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int ret;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	memcpy(s->own, own, 6);
	memcpy(s->watch, watch, 6);
	s->marker_type = marker_type;
	if (marker)
		snprintf(s->marker, sizeof(s->marker), "%s", marker);
	s->fd = vmtest_packet_socket(ns, ifname, ETH_P_ALL, &mr.mr_ifindex);
	if (s->fd < 0)
		return s->fd;
	if (setsockopt(s->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) ||
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		ret = -errno;
		goto out_close;
	}
	if (pthread_create(&s->thread, NULL, sniffer_main, s)) {
		ret = -EAGAIN;
		goto out_close;
	}
	s->running = true;
	return 0;

out_close:
	close(s->fd);
	s->fd = -1;
	return ret;
}

int vmtest_sniff_stop(struct vmtest_sniffer *s)
{
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);

	if (s->running) {
		__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
		pthread_join(s->thread, NULL);
		s->running = false;
		/* a frame the socket dropped was not checked: that is an error too */
		if (!s->error && !getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) &&
		    st.tp_drops)
			s->error = -ENOBUFS;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return s->error;
}
