// SPDX-License-Identifier: GPL-2.0
/*
 * A failed NIC domain restarts and its clients never notice more than a
 * pause: one e1000 DD/OS serves two TAP clients (`ddvm net tap`, each in a
 * namespace of its own) and a "remote host" namespace on its wire.  While
 * c0 streams verified TCP to the remote and pings it ten times a second,
 * `ddvm inject` kills, panics and hangs the DD/OS.  Each time:
 *
 *  - the supervisor restarts it once and names the cause (state.json);
 *  - c0's adapter never exits and its interface is there, with carrier,
 *    afterwards: the client did nothing at all;
 *  - the same TCP connection carries on (TCP retransmits over the outage)
 *    and every byte arrives in order and intact; pings are answered again;
 *  - c1, listening promiscuously, never receives a frame for c0 or for
 *    anyone else.
 *
 * Last, `ddvm down`, the adapters stop cleanly and the kernel log is clean:
 * the final boot's section entirely, the failed boots' sections apart from
 * the injected panic itself.  Prints the supervisor's restart times and the
 * traffic gap each client saw.  Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub_spawn.h"
#include "state.h"
#include "vmtest_net.h"

#define MODEL		"e1000"
#define SUBNET		21		/* 10.79.21.0/24, in namespaces of the test's own */
#define TAG		'f'
#define XFER_BYTES	(96ull << 20)	/* c0 -> remote, per fault: 1-2 s unhindered */
#define INJECT_AT	(4ull << 20)	/* verified bytes before the fault strikes */
#define START_MS	20000		/* for INJECT_AT to arrive */
#define RTO_MAX_MS	2000		/* c0's TCP retransmits at least this often */
#define RESUME_MS	30000		/* fault to the stream moving again, at most */
#define XFER_MS		(g.resume_ms + 30000)	/* fault to the end of the stream, at most */
#define PING_BACK_MS	30000		/* fault to an answered ping again, at most */
#define PING_EVERY_MS	100
#define MIN_STALL_MS	1000		/* less: the fault missed the stream */
#define RESTART_MS	30000		/* fault to restarts + 1 and "serving" */
#define CARRIER_MS	10000		/* restart to c0's interface running again */

struct pinger {
	pthread_t thread;
	bool running;
	bool stop;		/* atomic */
	int fd;
	uint16_t id;
	struct in_addr to;
	/* written by the thread, read after it stopped */
	unsigned int sent, answered;
	int64_t last_reply_ms;	/* before the watch mark, and the first after it */
	int64_t mark_ms;	/* atomic: the fault struck then */
	int64_t first_after_ms;	/* first reply sent after the mark */
	int64_t gap_ms;		/* longest time without a reply since the mark */
	char why[128];
};

static struct {
	struct vmtest_net n;
	bool up;
	int failed;		/* tests that did not finish: keep the run dir */
	uint64_t seed;
	int resume_ms;		/* RESUME_MS, or twice that without RTO_MAX_MS */
} g;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ state.json */

/* The domain's entry in state.json, or NULL (caller json_decrefs *st). */
static json_t *domain_state(json_t **st)
{
	struct ddvm_err err;

	*st = NULL;
	if (ddvm_state_load(g.n.vm.run_dir, st, &err))
		return NULL;
	return json_array_get(json_object_get(*st, "domains"), 0);
}

struct dstate {
	char state[32];
	char wire[16];
	char cause[32];
	unsigned int restarts;
	long long ready_ms, run_ms;	/* the last restart's, -1 if none */
};

static bool read_dstate(struct dstate *s)
{
	json_t *st, *d = domain_state(&st), *log, *last;

	memset(s, 0, sizeof(*s));
	s->ready_ms = s->run_ms = -1;
	if (!d) {
		json_decref(st);
		return false;
	}
	snprintf(s->state, sizeof(s->state), "%s",
		 json_string_value(json_object_get(d, "state")) ?: "?");
	snprintf(s->wire, sizeof(s->wire), "%s",
		 json_string_value(json_object_get(json_object_get(d, "nic"), "wire")) ?: "?");
	snprintf(s->cause, sizeof(s->cause), "%s",
		 json_string_value(json_object_get(d, "last_restart_cause")) ?: "");
	s->restarts = (unsigned int)json_integer_value(json_object_get(d, "restarts"));
	log = json_object_get(d, "restart_log");
	last = json_array_get(log, json_array_size(log) ? json_array_size(log) - 1 : 0);
	if (last) {
		s->ready_ms = json_integer_value(json_object_get(last, "ready_ms"));
		s->run_ms = json_integer_value(json_object_get(last, "run_ms"));
	}
	json_decref(st);
	return true;
}

/* Wait until the domain serves with its wire up and @restarts recorded. */
static bool wait_serving(unsigned int restarts, int ms, struct dstate *s)
{
	int64_t end = now_ms() + ms;

	do {
		if (read_dstate(s) && s->restarts >= restarts && !strcmp(s->state, "serving") &&
		    !strcmp(s->wire, "up"))
			return true;
		usleep(50000);
	} while (now_ms() < end);
	return false;
}

/* ---------------------------------------------------------------- ping */

static uint16_t icmp_sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Echo requests every PING_EVERY_MS; each reply's send time is when it counts. */
static void *pinger_main(void *arg)
{
	struct pinger *p = arg;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = p->to };
	int64_t next = now_ms(), sent_at[65536 / 64] = { 0 };
	uint16_t seq = 0;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
		uint8_t buf[128];
		struct pollfd pf = { .fd = p->fd, .events = POLLIN };
		int64_t t = now_ms();
		ssize_t r;

		if (t >= next) {
			struct icmphdr h = { .type = ICMP_ECHO };

			h.un.echo.id = htons(p->id);
			h.un.echo.sequence = htons(seq);
			memcpy(buf, &h, sizeof(h));
			memset(buf + sizeof(h), 0xa5, 56);
			((struct icmphdr *)buf)->checksum = icmp_sum(buf, sizeof(h) + 56);
			sent_at[seq % (sizeof(sent_at) / sizeof(sent_at[0]))] = t;
			/* no route or no carrier for a while is what is being tested */
			sendto(p->fd, buf, sizeof(h) + 56, MSG_DONTWAIT, (struct sockaddr *)&to,
			       sizeof(to));
			p->sent++;
			seq++;
			next += PING_EVERY_MS;
			if (next < t)
				next = t + PING_EVERY_MS;
		}
		if (poll(&pf, 1, (int)(next - t > 0 ? next - t : 0)) <= 0)
			continue;
		r = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r >= (ssize_t)(sizeof(struct iphdr) + sizeof(struct icmphdr))) {
			const struct iphdr *ip = (const void *)buf;
			const struct icmphdr *h = (const void *)(buf + ip->ihl * 4);
			int64_t mark = __atomic_load_n(&p->mark_ms, __ATOMIC_ACQUIRE), at;

			if ((size_t)r < ip->ihl * 4u + sizeof(*h) || h->type != ICMP_ECHOREPLY ||
			    ntohs(h->un.echo.id) != p->id)
				continue;
			at = sent_at[ntohs(h->un.echo.sequence) % (sizeof(sent_at) /
								    sizeof(sent_at[0]))];
			t = now_ms();
			p->answered++;
			if (mark && at >= mark && !p->first_after_ms)
				p->first_after_ms = at;
			if (mark && t > mark && p->last_reply_ms &&
			    t - (p->last_reply_ms > mark ? p->last_reply_ms : mark) > p->gap_ms)
				p->gap_ms = t - (p->last_reply_ms > mark ? p->last_reply_ms : mark);
			p->last_reply_ms = t;
		}
	}
	return NULL;
}

static int pinger_start(struct pinger *p, const char *ns, const char *addr)
{
	memset(p, 0, sizeof(*p));
	p->id = (uint16_t)getpid();
	if (inet_pton(AF_INET, addr, &p->to) != 1)
		return -EINVAL;
	p->fd = vmtest_netns_socket(ns, AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (p->fd < 0)
		return p->fd;
	if (pthread_create(&p->thread, NULL, pinger_main, p)) {
		close(p->fd);
		p->fd = -1;
		return -EAGAIN;
	}
	p->running = true;
	return 0;
}

static void pinger_stop(struct pinger *p)
{
	if (!p->running)
		return;
	__atomic_store_n(&p->stop, true, __ATOMIC_RELEASE);
	pthread_join(p->thread, NULL);
	close(p->fd);
	p->fd = -1;
	p->running = false;
}

/* ------------------------------------------------------------- transfer */

struct xfer_job {
	pthread_t thread;
	struct vmtest_xfer x;
	uint64_t seed;
	int ret;
	bool done;		/* atomic */
};

static void *xfer_main(void *arg)
{
	struct xfer_job *j = arg;
	struct vmtest_net *n = &g.n;

	j->ret = vmtest_tcp_transfer(n->c[0].netns, n->remote_ns, n->remote_addr, XFER_BYTES,
				     j->seed, &j->x);
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------ the client */

/* The adapter still runs: it never exited (nor was reaped) since it started. */
static void must_have_adapter(unsigned int i, const char *when)
{
	struct vmtest_net_client *c = &g.n.c[i];
	int status;
	pid_t r;

	if (c->tap_pid <= 0)
		fail_msg("adapter %s is not running %s", c->chan, when);
	r = waitpid(c->tap_pid, &status, WNOHANG);
	if (r == c->tap_pid) {
		c->tap_pid = 0;
		fail_msg("adapter %s exited %s (%s %d)", c->chan, when,
			 WIFEXITED(status) ? "status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
}

/* The flags of @ifname in @ns, or -errno (no such interface: -ENODEV). */
static int if_flags(const char *ns, const char *ifname)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ret = vmtest_netns_if_ioctl(ns, SIOCGIFFLAGS, &ifr);
	return ret ? ret : (ifr.ifr_flags & 0xffff);
}

/* ---------------------------------------------------------------- a fault */

/* `ddvm inject DOMAIN @what`.  Return: its exit status, @out what it said. */
static int inject(const char *what, char *out, size_t len)
{
	char cmd[512];
	size_t got;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s inject --run-dir %s %s %s 2>&1", hub_spawn_bin(),
		 g.n.vm.run_dir, g.n.domain, what);
	p = popen(cmd, "r");
	if (!p) {
		snprintf(out, len, "popen: %s", strerror(errno));
		return -1;
	}
	got = fread(out, 1, len - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return status;
}

static void run_fault(const char *what, const char *cause)
{
	struct vmtest_net *n = &g.n;
	struct xfer_job j = { .seed = ++g.seed * 0x9e3779b97f4a7c15ull };
	struct pinger p;
	struct vmtest_sniffer sniff;
	struct dstate before, after;
	char out[512];
	uint64_t last = 0, cur;
	int64_t t0, t_inject, t_last_move, t_resume = 0, stall = 0, t_back, t;
	int64_t carrier_off = 0, carrier_down_ms = 0, carrier_from = 0, carrier_to = 0;
	int flags = 0, ret;

	g.failed++;	/* until this fault passes */
	if (!g.up)
		fail_msg("the domain is not up");
	if (!wait_serving(0, RESTART_MS, &before))
		fail_msg("before %s: the domain is %s (wire %s), not serving", what, before.state,
			 before.wire);
	must_have_adapter(0, "before the fault");
	must_have_adapter(1, "before the fault");

	ret = vmtest_sniff_start(&sniff, n->c[1].netns, n->c[1].ifname, n->c[1].mac, n->c[0].mac,
				 0, NULL);
	if (ret)
		fail_msg("sniffer on %s: %s", n->c[1].ifname, strerror(-ret));
	ret = pinger_start(&p, n->c[0].netns, n->remote_addr);
	if (ret) {
		vmtest_sniff_stop(&sniff);
		fail_msg("pinger in %s: %s", n->c[0].netns, strerror(-ret));
	}
	if (pthread_create(&j.thread, NULL, xfer_main, &j)) {
		pinger_stop(&p);
		vmtest_sniff_stop(&sniff);
		fail_msg("pthread_create failed");
	}

	/* the fault strikes mid-stream */
	t0 = now_ms();
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&j.x.progress, __ATOMIC_RELAXED) < INJECT_AT && now_ms() - t0 < START_MS)
		usleep(2000);
	last = __atomic_load_n(&j.x.progress, __ATOMIC_RELAXED);
	if (last < INJECT_AT || __atomic_load_n(&j.done, __ATOMIC_ACQUIRE)) {
		pthread_join(j.thread, NULL);
		pinger_stop(&p);
		vmtest_sniff_stop(&sniff);
		fail_msg("%s: before the fault the stream moved %llu bytes in %lld ms (done: %d, %s)",
			 what, (unsigned long long)last, (long long)(now_ms() - t0), j.done,
			 j.x.why);
	}
	t_inject = now_ms();
	__atomic_store_n(&p.mark_ms, t_inject, __ATOMIC_RELEASE);
	ret = inject(what, out, sizeof(out));
	if (ret) {
		/* no fault: the stream ends by itself */
		pthread_join(j.thread, NULL);
		pinger_stop(&p);
		vmtest_sniff_stop(&sniff);
		fail_msg("ddvm inject %s %s: status %d: %s", n->domain, what, ret, out);
	}

	/* watch the stream, the adapter and the interface until the stream ends */
	t_last_move = t_inject;
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE)) {
		usleep(5000);
		t = now_ms();
		cur = __atomic_load_n(&j.x.progress, __ATOMIC_RELAXED);
		if (cur != last) {
			if (t - t_last_move > stall) {
				stall = t - t_last_move;
				t_resume = t;
			}
			last = cur;
			t_last_move = t;
		}
		flags = if_flags(n->c[0].netns, n->c[0].ifname);
		if (flags < 0 || !(flags & IFF_UP))
			break;	/* checked below, with the thread joined */
		/* the adapter keeps the carrier over a restart; the new NIC's link may not */
		if (!(flags & IFF_RUNNING) && !carrier_off) {
			carrier_off = t;
			if (!carrier_from)
				carrier_from = t - t_inject;
		} else if ((flags & IFF_RUNNING) && carrier_off) {
			carrier_down_ms += t - carrier_off;
			carrier_to = t - t_inject;
			carrier_off = 0;
		}
		if (n->c[0].tap_pid > 0 && waitpid(n->c[0].tap_pid, NULL, WNOHANG) == n->c[0].tap_pid) {
			n->c[0].tap_pid = 0;
			flags = -ECHILD;
			break;
		}
		if (t - t_inject > XFER_MS)
			break;
	}
	/* the transfer's sockets time out within 20 s of any stall */
	pthread_join(j.thread, NULL);
	t = now_ms();
	pinger_stop(&p);
	ret = vmtest_sniff_stop(&sniff);

	if (flags == -ECHILD)
		fail_msg("%s: adapter c0 exited during the outage", what);
	if (flags < 0)
		fail_msg("%s: c0's interface %s went away during the outage: %s", what,
			 n->c[0].ifname, strerror(-flags));
	if (!(flags & IFF_UP))
		fail_msg("%s: c0's interface %s went down during the outage", what, n->c[0].ifname);
	if (j.ret)
		fail_msg("%s: TCP c0 -> remote across the fault: sent %llu of %llu bytes, %llu "
			 "arrived, first wrong byte at %lld; %s", what, (unsigned long long)j.x.sent,
			 (unsigned long long)XFER_BYTES, (unsigned long long)j.x.received,
			 j.x.first_bad == UINT64_MAX ? -1LL : (long long)j.x.first_bad,
			 j.x.why[0] ? j.x.why : "no socket error");
	if (!t_resume || t_resume - t_inject > g.resume_ms)
		fail_msg("%s: the stream stalled %lld ms from the fault (bar %d ms)", what,
			 (long long)(t_resume ? t_resume - t_inject : t - t_inject), g.resume_ms);
	if (stall < MIN_STALL_MS)
		fail_msg("%s: the stream never stalled for %d ms (%lld at most): the fault struck "
			 "after it, not in the middle", what, MIN_STALL_MS, (long long)stall);
	if (t - t_inject > XFER_MS)
		fail_msg("%s: the stream took %lld ms after the fault", what,
			 (long long)(t - t_inject));

	/* exactly one restart, of the right cause */
	if (!wait_serving(before.restarts + 1, RESTART_MS, &after))
		fail_msg("%s: after the fault the domain is %s (wire %s), %u restarts (%u before)",
			 what, after.state, after.wire, after.restarts, before.restarts);
	if (after.restarts != before.restarts + 1)
		fail_msg("%s: %u restarts after one fault", what, after.restarts - before.restarts);
	if (strcmp(after.cause, cause))
		fail_msg("%s: last restart cause '%s', want '%s'", what, after.cause, cause);

	/* the client did nothing: its adapter and interface are those it had */
	must_have_adapter(0, "after the recovery");
	must_have_adapter(1, "after the recovery");
	t_back = now_ms();
	do {
		flags = if_flags(n->c[0].netns, n->c[0].ifname);
		if (flags >= 0 && (flags & IFF_RUNNING))
			break;
		usleep(20000);
	} while (now_ms() - t_back < CARRIER_MS);
	if (flags < 0 || !(flags & (IFF_UP)) || !(flags & IFF_RUNNING))
		fail_msg("%s: c0's %s after the recovery: %s", what, n->c[0].ifname,
			 flags < 0 ? strerror(-flags) : "not up with carrier");
	if (carrier_off) {
		carrier_down_ms += now_ms() - carrier_off;
		carrier_to = now_ms() - t_inject;
	}

	/* pings came back */
	if (!p.first_after_ms || p.first_after_ms - t_inject > PING_BACK_MS)
		fail_msg("%s: %u pings sent, %u answered, none sent after the fault answered within "
			 "%d ms", what, p.sent, p.answered, PING_BACK_MS);

	/* and c1 heard nothing that was not for it */
	if (ret)
		fail_msg("%s: sniffer on c1: %s (it must see every frame)", what, strerror(-ret));
	if (sniff.to_watch || sniff.foreign)
		fail_msg("%s: c1 received %llu unicast frames for c0 and %llu for others (%llu seen)",
			 what, (unsigned long long)sniff.to_watch,
			 (unsigned long long)(sniff.foreign - sniff.to_watch),
			 (unsigned long long)sniff.frames);

	print_message("  %-5s cause %-9s detection to DDVM-READY %5lld ms, to client RUN %5lld ms; "
		      "TCP stalled %5lld ms (%+lld vs ping), %llu MiB intact in %.1f s; ping gap %5lld ms "
		      "(%u/%u answered); c0 without carrier %lld ms (from +%lld to +%lld ms); "
		      "c1 saw %llu frames, none for others\n",
		      what, after.cause, after.ready_ms, after.run_ms, (long long)stall,
		      (long long)(stall - p.gap_ms),
		      (unsigned long long)(XFER_BYTES >> 20), (double)j.x.ms / 1000.0,
		      (long long)p.gap_ms, p.answered, p.sent, (long long)carrier_down_ms,
		      (long long)carrier_from, (long long)carrier_to,
		      (unsigned long long)sniff.frames);
	g.failed--;
}

static void test_kill(void **state)
{
	run_fault("kill", "qemu-exit");
}

static void test_panic(void **state)
{
	run_fault("panic", "panic");
}

static void test_hang(void **state)
{
	run_fault("hang", "hang");
}

/* ------------------------------------------------------------- the end */

/*
 * Lines after the last "=== ddvm: DOMAIN boot" banner must be clean of
 * every sign of trouble; before it, where the injected panic printed its
 * own "Kernel panic" and call trace, no BUG: or WARNING: (those the fault
 * does not make).
 */
static int scan_console(char *line, size_t len)
{
	static const char *const bad[] = { "BUG:", "WARNING:", "Oops:", "Call Trace:",
					   "general protection fault" };
	char path[192], buf[1024], banner[64];
	long final = -1, at = 0;
	unsigned int k;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s/console.log", g.n.vm.run_dir, g.n.domain);
	snprintf(banner, sizeof(banner), "=== ddvm: %s boot ", g.n.domain);
	f = fopen(path, "r");
	if (!f) {
		snprintf(line, len, "no console log at %s", path);
		return -ENOENT;
	}
	while (fgets(buf, sizeof(buf), f)) {
		if (!strncmp(buf, banner, strlen(banner)))
			final = at;
		at++;
	}
	if (final < 0) {
		snprintf(line, len, "no boot banner in %s", path);
		fclose(f);
		return -ENOENT;
	}
	rewind(f);
	for (at = 0; !ret && fgets(buf, sizeof(buf), f); at++)
		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			if (at < final && k >= 2)
				break;
			if (strstr(buf, bad[k])) {
				snprintf(line, len, "%s boot's section: %s",
					 at < final ? "a failed" : "the final", buf);
				ret = -EIO;
				break;
			}
		}
	fclose(f);
	return ret;
}

static void test_down_clean(void **state)
{
	struct vmtest_net *n = &g.n;
	char line[1200];
	unsigned int i;
	int ret;

	g.failed++;
	if (!g.up)
		fail_msg("the domain is not up");
	for (i = 0; i < n->nr_clients; i++) {
		must_have_adapter(i, "at the end");
		ret = vmtest_net_client_stop(n, i);
		if (ret)
			fail_msg("adapter %s exited with %d on SIGTERM: %s", n->c[i].chan, ret, n->why);
	}
	n->why[0] = '\0';
	ret = vmtest_net_down(n, true);
	g.up = false;
	if (ret)
		fail_msg("%s", n->why);
	if (scan_console(line, sizeof(line)))
		fail_msg("DD/OS kernel log (%s/%s/console.log), %s", n->vm.run_dir, n->domain, line);
	g.failed--;
}

static int group_teardown(void **state)
{
	/* NET_FAULTS_KEEP=1 keeps the run dir (console log, adapter logs) anyway */
	bool keep = g.failed > 0 || getenv("NET_FAULTS_KEEP");
	int ret;

	g.n.why[0] = '\0';
	/* after a failure: everything stops, the run dir stays for a post-mortem */
	ret = vmtest_net_down(&g.n, keep);
	if (ret)
		print_error("cleanup: %s", g.n.why);
	if (keep && g.n.vm.dir[0])
		print_error("kept %s for a post-mortem\n", g.n.vm.dir);
	g.up = false;
	return 0;
}

static int group_setup(void **state)
{
	int64_t t0 = now_ms();
	char cmd[256];
	unsigned int i;

	g.resume_ms = RESUME_MS;
	if (geteuid() != 0) {
		print_error("test_net_faults needs root (ddvm up makes taps; namespaces); uid %u\n",
			    geteuid());
		return -1;
	}
	if (vmtest_net_up(&g.n, MODEL, SUBNET, TAG, 2))
		goto fail;
	g.up = true;
	for (i = 0; i < 2; i++)
		if (vmtest_net_client_start(&g.n, i))
			goto fail;
	/*
	 * TCP doubles its retransmission timeout over an outage: an 8 s outage
	 * can stall a stream 25 s, a 13 s one 51 s, measuring TCP's backoff
	 * rather than the DD/OS's recovery.  In c0's namespace (the sender's)
	 * the timeout stops at RTO_MAX_MS (Linux >= 6.15), so the stream moves
	 * again within RTO_MAX_MS of the path coming back.  The connection is
	 * the same one throughout either way; without the knob the bars are
	 * wider.
	 */
	snprintf(cmd, sizeof(cmd), "ip netns exec %s sysctl -qw net.ipv4.tcp_rto_max_ms=%d "
		 ">/dev/null 2>&1", g.n.c[0].netns, RTO_MAX_MS);
	if (system(cmd)) {
		g.resume_ms = 2 * RESUME_MS;
		print_message("  no net.ipv4.tcp_rto_max_ms: TCP backs off as it will, "
			      "the stream may stall up to %d ms\n", g.resume_ms);
	}
	/* a socket call blocked over the whole stall must not give up first */
	vmtest_net_sock_timeout_s = g.resume_ms / 1000 + 15;
	print_message("  %s: DD/OS and 2 clients up in %.1f s\n", MODEL,
		      (double)(now_ms() - t0) / 1000.0);
	return 0;

fail:
	/* cmocka runs no group teardown after a failed setup */
	print_error("%s", g.n.why);
	g.failed = 1;
	group_teardown(state);
	return -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_panic),
		cmocka_unit_test(test_hang),
		cmocka_unit_test(test_down_clean),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
