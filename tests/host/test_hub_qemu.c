// SPDX-License-Identifier: GPL-2.0
/*
 * The hub with real QEMU: an ivshmem-doorbell device joins a channel as a
 * peer, sees no error, leaves cleanly, is refused cleanly, restarts, and
 * survives host peers coming and going.  QEMU runs with -S (the guest never
 * runs), so this is fast even on TCG.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub_spawn.h"
#include "peer.h"

#define QEMU_BIN	"qemu-system-x86_64"

static struct hub_spawn hub;

struct qemu {
	pid_t pid;
	char log[128];
	char qmp[100];		/* fits a sun_path */
};

static int teardown_hub(void **state)
{
	hub_spawn_cleanup(&hub);
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A test that cannot run fails and says why: QEMU is part of setup. */
static void require_qemu(void)
{
	char path[4096], *dirs, *dir, *save = NULL;
	const char *env = getenv("PATH");

	dirs = strdup(env ? env : "/usr/bin:/bin");
	assert_non_null(dirs);
	for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", dir, QEMU_BIN);
		if (!access(path, X_OK)) {
			free(dirs);
			return;
		}
	}
	free(dirs);
	fail_msg("%s not found in PATH: install QEMU (Debian package qemu-system-x86, "
		 "scripts/setup.sh does it) to run the hub's QEMU interoperability tests",
		 QEMU_BIN);
}

static void start_hub(const char *const *opts, const char *const *channels)
{
	if (hub_spawn_start(&hub, opts, channels))
		fail_msg("cannot start the hub: %s", hub.why);
}

static struct ddvm_peer *connect_to(const char *chan)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;
	char path[128];

	if (ddvm_peer_connect(hub_spawn_sock(&hub, chan, path, sizeof(path)), &p, &err))
		fail_msg("connect to %s: %s", path, err.msg);
	return p;
}

static bool wait_has(struct ddvm_peer *p, unsigned int id, bool want, int ms)
{
	long end = now_ms() + ms;

	while (ddvm_peer_has(p, id) != want) {
		struct pollfd pfd = { .fd = ddvm_peer_hub_fd(p), .events = POLLIN };
		long left = end - now_ms();

		if (pfd.fd < 0 || left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		if (ddvm_peer_process_hub(p, NULL) < 0)
			return false;
	}
	return true;
}

static int log_count(const char *needle)
{
	static char buf[1 << 20];
	const char *p = hub_spawn_log_read(&hub, buf, sizeof(buf));
	int n = 0;

	while ((p = strstr(p, needle))) {
		n++;
		p++;
	}
	return n;
}

static bool wait_log_count(const char *needle, int count, int ms)
{
	long end = now_ms() + ms;

	while (log_count(needle) < count) {
		if (now_ms() > end)
			return false;
		usleep(10000);
	}
	return log_count(needle) == count;
}

/* QEMU with an ivshmem-doorbell device on channel @chan and a QMP socket. */
static void qemu_start(struct qemu *q, const char *chan, const char *tag)
{
	char chardev[256], sock[128], qmparg[160];

	snprintf(q->log, sizeof(q->log), "%s/qemu-%s.log", hub.dir, tag);
	snprintf(q->qmp, sizeof(q->qmp), "%s/qmp-%s.sock", hub.dir, tag);
	snprintf(chardev, sizeof(chardev), "socket,path=%s,id=hub",
		 hub_spawn_sock(&hub, chan, sock, sizeof(sock)));
	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", q->qmp);
	q->pid = fork();
	assert_true(q->pid >= 0);
	if (!q->pid) {
		int fd = open(q->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(126);
		execlp(QEMU_BIN, QEMU_BIN, "-M", "q35", "-accel", "tcg", "-nodefaults",
		       "-display", "none", "-S", "-m", "64", "-chardev", chardev,
		       "-device", "ivshmem-doorbell,chardev=hub,vectors=1",
		       "-qmp", qmparg, (char *)NULL);
		_exit(127);
	}
}

/* Wait up to @ms for QEMU to exit; its wait status, or -1. */
static int qemu_wait(struct qemu *q, int ms)
{
	long end = now_ms() + ms;
	int st;

	while (waitpid(q->pid, &st, WNOHANG) != q->pid) {
		if (now_ms() > end)
			return -1;
		usleep(10000);
	}
	q->pid = 0;
	return st;
}

static void qemu_kill(struct qemu *q)
{
	if (q->pid > 0) {
		kill(q->pid, SIGKILL);
		qemu_wait(q, 5000);
	}
}

static const char *qemu_log(const struct qemu *q)
{
	static char buf[8192];
	ssize_t n;
	int fd;

	buf[0] = '\0';
	fd = open(q->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int qmp_connect(struct qemu *q)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tmo = { .tv_sec = 10 };
	long end = now_ms() + 15000;
	int s;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", q->qmp);
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(s >= 0);
		if (!connect(s, (struct sockaddr *)&sun, sizeof(sun)))
			break;
		close(s);
		if (now_ms() > end || (q->pid > 0 && waitpid(q->pid, NULL, WNOHANG) == q->pid))
			fail_msg("no QMP socket from QEMU; its output: %s", qemu_log(q));
		usleep(20000);
	}
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	return s;
}

/* Read one line ("\n"-terminated JSON object) into @buf; false if QMP ended. */
static bool qmp_line_try(int s, char *buf, size_t len)
{
	size_t n = 0;

	while (n < len - 1) {
		ssize_t r = read(s, buf + n, 1);

		if (r <= 0) {
			snprintf(buf, len, "QMP connection ended (%s)", r ? strerror(errno) : "EOF");
			return false;
		}
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static void qmp_line(int s, char *buf, size_t len)
{
	if (!qmp_line_try(s, buf, len))
		fail_msg("%s", buf);
}

/*
 * Send @cmd and return its answer (events are skipped), or NULL if QEMU is
 * gone; it must not be an error.
 */
static const char *qmp_try(int s, const char *cmd)
{
	static char buf[1 << 16];

	if (write(s, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return NULL;
	for (;;) {
		if (!qmp_line_try(s, buf, sizeof(buf)))
			return NULL;
		if (strstr(buf, "\"error\""))
			fail_msg("QMP %s failed: %s", cmd, buf);
		if (strstr(buf, "\"return\""))
			return buf;
	}
}

static const char *qmp(int s, const char *cmd)
{
	const char *r = qmp_try(s, cmd);

	if (!r)
		fail_msg("QMP %s: QEMU closed the connection without an answer", cmd);
	return r;
}

static const char *const ch_c[] = { "c=1M", NULL };

static void test_qemu_joins_as_peer(void **state)
{
	struct ddvm_peer *a;
	struct qemu q = { 0 };
	char greeting[4096];
	const char *r;
	int s, st;

	require_qemu();
	start_hub(NULL, ch_c);
	a = connect_to("c");
	strcpy(ddvm_peer_region(a, NULL), "host was here");
	qemu_start(&q, "c", "1");

	/* the hub handed QEMU id 1 and told us its doorbell */
	if (!wait_has(a, 1, true, 15000)) {
		qemu_kill(&q);
		fail_msg("QEMU never joined the channel; QEMU: %s", qemu_log(&q));
	}
	assert_true(hub_spawn_log_has(&hub, "channel c: peer 1 connected"));
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);

	s = qmp_connect(&q);
	qmp_line(s, greeting, sizeof(greeting));
	assert_non_null(strstr(greeting, "\"QMP\""));
	qmp(s, "{\"execute\":\"qmp_capabilities\"}\n");
	r = qmp(s, "{\"execute\":\"query-status\"}\n");
	assert_non_null(strstr(r, "\"prelaunch\""));
	/* the ivshmem device realized: vendor 0x1af4, device 0x1110 */
	r = qmp(s, "{\"execute\":\"query-pci\"}\n");
	if (!strstr(r, "\"vendor\": 6900") || !strstr(r, "\"device\": 4368"))
		fail_msg("no ivshmem device in query-pci: %.2000s", r);
	r = qmp(s, "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"info qtree\"}}\n");
	assert_non_null(strstr(r, "ivshmem-doorbell"));
	qmp(s, "{\"execute\":\"quit\"}\n");
	close(s);

	st = qemu_wait(&q, 10000);
	if (st < 0) {
		qemu_kill(&q);
		fail_msg("QEMU did not quit; output: %s", qemu_log(&q));
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* QEMU said nothing: no protocol complaint such as "Too many eventfd" */
	if (qemu_log(&q)[0])
		fail_msg("QEMU printed: %s", qemu_log(&q));
	assert_true(wait_has(a, 1, false, 5000));
	assert_true(hub_spawn_log_wait(&hub, "channel c: peer 1 disconnected: hung up", 2000));
	assert_string_equal(ddvm_peer_region(a, NULL), "host was here");
	ddvm_peer_close(a);
}

static void test_qemu_refused_when_full(void **state)
{
	struct ddvm_peer *a, *b;
	struct qemu q = { 0 };
	int st;

	require_qemu();
	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	qemu_start(&q, "c", "full");
	/* QEMU would spin forever on a bare close; our refusal makes it fail fast */
	st = qemu_wait(&q, 15000);
	if (st < 0) {
		qemu_kill(&q);
		fail_msg("QEMU did not exit when refused; output: %s", qemu_log(&q));
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	if (!strstr(qemu_log(&q), "server sent version -87"))
		fail_msg("unexpected QEMU output: %s", qemu_log(&q));
	assert_true(hub_spawn_log_has(&hub, "channel c: full (2 peers), refusing"));
	ddvm_peer_close(a);
	ddvm_peer_close(b);
}

/*
 * A DD/OS killed and restarted at once gets its slot back, under a new id:
 * a saw the old one leave.
 */
static void test_qemu_restart(void **state)
{
	struct ddvm_peer *a;
	struct qemu q1 = { 0 }, q2 = { 0 };
	char line[64];
	int i;

	require_qemu();
	start_hub(NULL, ch_c);
	a = connect_to("c");
	qemu_start(&q1, "c", "r1");
	if (!wait_has(a, 1, true, 15000)) {
		qemu_kill(&q1);
		fail_msg("QEMU never joined; QEMU: %s", qemu_log(&q1));
	}
	for (i = 0; i < 3; i++) {
		struct qemu *old = i % 2 ? &q2 : &q1, *new = i % 2 ? &q1 : &q2;

		kill(old->pid, SIGKILL);
		qemu_wait(old, 5000);
		qemu_start(new, "c", i % 2 ? "r1" : "r2");
		/* peer i + 1 left and it came back as peer i + 2 */
		snprintf(line, sizeof(line), "channel c: peer %d connected", i + 2);
		if (!wait_log_count(line, 1, 15000)) {
			qemu_kill(new);
			fail_msg("restarted QEMU never joined; QEMU: %s", qemu_log(new));
		}
		assert_true(wait_has(a, i + 2, true, 5000));
		assert_false(ddvm_peer_has(a, i + 1));
		assert_int_equal(ddvm_peer_notify(a, i + 2, 0), 0);
	}
	qemu_kill(&q1);
	qemu_kill(&q2);
	assert_false(hub_spawn_log_has(&hub, "refusing"));
	ddvm_peer_close(a);
}

/* What became of QEMU, for a failure message. */
static const char *qemu_fate(struct qemu *q)
{
	static char buf[64];
	int st = qemu_wait(q, 2000);

	if (st < 0)
		return "stopped answering QMP";
	if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, sizeof(buf), "exited with status %d", WEXITSTATUS(st));
	return buf;
}

static struct qemu churn_q;

static int teardown_churn(void **state)
{
	qemu_kill(&churn_q);
	return teardown_hub(state);
}

#define CHURN_PEERS	20

/*
 * QEMU 7.2's ivshmem device frees a departed peer's doorbell array in
 * close_peer_eventfds() but keeps the pointer (resize_peers() only
 * allocates for new ids), and writes through it when that id joins again.
 * A hub handing out the smallest free id crashed it with "double free or
 * corruption (fasttop)" after a host peer or two had come and gone.  QEMU
 * joins first, as a DD/OS does; host peers then join and leave one by one.
 */
static void test_qemu_survives_peer_churn(void **state)
{
	struct qemu *q = &churn_q;
	char greeting[4096];
	const char *r;
	int s, i, st;

	require_qemu();
	memset(q, 0, sizeof(*q));
	start_hub(NULL, ch_c);
	qemu_start(q, "c", "churn");
	if (!hub_spawn_log_wait(&hub, "channel c: peer 0 connected", 15000))
		fail_msg("QEMU never joined the channel; QEMU: %s", qemu_log(q));
	s = qmp_connect(q);
	qmp_line(s, greeting, sizeof(greeting));
	qmp(s, "{\"execute\":\"qmp_capabilities\"}\n");

	for (i = 0; i <= CHURN_PEERS; i++) {
		struct ddvm_peer *p;

		/*
		 * QMP is served by the loop that reads the hub's messages, so an
		 * answer also means QEMU has got on with them.
		 */
		r = qmp_try(s, "{\"execute\":\"query-status\"}\n");
		if (!r || !strstr(r, "\"prelaunch\""))
			fail_msg("QEMU %s after %d host peers came and went; its output: %s",
				 r ? r : qemu_fate(q), i, qemu_log(q));
		if (i == CHURN_PEERS)
			break;
		p = connect_to("c");
		/* the hub told us QEMU's doorbell, and told QEMU ours */
		assert_true(ddvm_peer_has(p, 0));
		assert_int_equal(ddvm_peer_notify(p, 0, 0), 0);
		ddvm_peer_close(p);
		/* the hub has told QEMU it left before the next one joins */
		if (!wait_log_count("disconnected: hung up", i + 1, 5000))
			fail_msg("the hub did not see host peer %d leave", i + 1);
		usleep(20 * 1000);
	}

	qmp(s, "{\"execute\":\"quit\"}\n");
	close(s);
	st = qemu_wait(q, 10000);
	if (st < 0)
		fail_msg("QEMU did not quit; output: %s", qemu_log(q));
	if (strstr(qemu_log(q), "double free") || strstr(qemu_log(q), "corruption"))
		fail_msg("QEMU's heap was corrupted: %s", qemu_log(q));
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail_msg("QEMU quit with status %#x; output: %s", st, qemu_log(q));
	/* and said nothing, such as "Too many eventfd received" */
	if (qemu_log(q)[0])
		fail_msg("QEMU printed: %s", qemu_log(q));
	assert_false(hub_spawn_log_has(&hub, "refusing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_qemu_joins_as_peer, teardown_hub),
		cmocka_unit_test_teardown(test_qemu_refused_when_full, teardown_hub),
		cmocka_unit_test_teardown(test_qemu_restart, teardown_hub),
		cmocka_unit_test_teardown(test_qemu_survives_peer_churn, teardown_churn),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
