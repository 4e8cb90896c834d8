// SPDX-License-Identifier: GPL-2.0
/* Host tests of the QMP client: against a real QEMU started with -S (no guest runs), and against scripted fake servers for the bounds. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "qmp.h"

#define QEMU "qemu-system-x86_64"

static char dir[64];
static char sock[128];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ddvm-test-qmp-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock);
	rmdir(dir);
	return 0;
}

/*
 * Start QEMU paused before any guest code (-S) with a QMP socket; fails the
 * test, naming the reason, when QEMU cannot be started.
 */
static pid_t start_qemu(void)
{
	char qmparg[160];
	int pfd[2], e = 0;
	pid_t pid;
	ssize_t n;

	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", sock);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execlp(QEMU, QEMU, "-S", "-M", "q35", "-accel", "tcg", "-nodefaults",
		       "-no-user-config", "-display", "none", "-m", "64M",
		       "-qmp", qmparg, (char *)NULL);
		e = errno;
		n = write(pfd[1], &e, sizeof(e));
		_exit(127 + (int)(n * 0));
	}
	close(pfd[1]);
	n = read(pfd[0], &e, sizeof(e));
	close(pfd[0]);
	if (n == sizeof(e)) {
		waitpid(pid, NULL, 0);
		fail_msg("cannot run %s: %s (install the Debian package qemu-system-x86)",
			 QEMU, strerror(e));
	}
	return pid;
}

static void kill_child(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Wait up to @ms for @pid to exit; return its wait status or -1. */
static int wait_exit(pid_t pid, int ms)
{
	int status;

	for (; ms > 0; ms -= 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(10 * 1000);
	}
	return -1;
}

static struct ddvm_qmp *connect_ok(void)
{
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err = { "" };
	int ret;

	ret = ddvm_qmp_connect(&q, sock, 10000, &err);
	if (ret)
		fail_msg("connect: %d %s", ret, err.msg);
	return q;
}

static void test_status(void **state)
{
	pid_t pid = start_qemu();
	struct ddvm_qmp *q = connect_ok();
	struct ddvm_err err;
	json_t *ret = NULL;

	assert_int_equal(ddvm_qmp_execute(q, "query-status", NULL, 5000, &ret, &err), 0);
	assert_non_null(ret);
	assert_string_equal(json_string_value(json_object_get(ret, "status")), "prelaunch");
	assert_true(json_is_false(json_object_get(ret, "running")));
	json_decref(ret);
	assert_true(ddvm_qmp_fd(q) >= 0);
	ddvm_qmp_close(q);
	kill_child(pid);
}

static void test_unknown_command(void **state)
{
	pid_t pid = start_qemu();
	struct ddvm_qmp *q = connect_ok();
	struct ddvm_err err = { "" };
	json_t *ret = NULL, *args;

	assert_int_equal(ddvm_qmp_execute(q, "no-such-command", NULL, 5000, &ret, &err),
			 -EREMOTEIO);
	assert_null(ret);
	/* QMP's own desc and class, and the command, are in the message */
	if (!strstr(err.msg, "has not been found") || !strstr(err.msg, "CommandNotFound") ||
	    !strstr(err.msg, "no-such-command"))
		fail_msg("unexpected message: %s", err.msg);

	args = json_pack("{s:i}", "bogus", 1);
	assert_int_equal(ddvm_qmp_execute(q, "query-status", args, 5000, NULL, &err),
			 -EREMOTEIO);
	json_decref(args);
	assert_non_null(strstr(err.msg, "bogus"));

	/* the connection still works after errors */
	assert_int_equal(ddvm_qmp_execute(q, "query-status", NULL, 5000, NULL, &err), 0);
	ddvm_qmp_close(q);
	kill_child(pid);
}

struct seen {
	int stop;
	int resume;
};

static void on_event(void *arg, const char *event, json_t *msg)
{
	struct seen *s = arg;

	assert_non_null(json_object_get(msg, "timestamp"));
	if (!strcmp(event, "STOP"))
		s->stop++;
	if (!strcmp(event, "RESUME"))
		s->resume++;
}

static void test_events(void **state)
{
	pid_t pid = start_qemu();
	struct ddvm_qmp *q = connect_ok();
	struct seen s = { 0, 0 };
	struct ddvm_err err;
	int i;

	ddvm_qmp_set_event_handler(q, on_event, &s);
	assert_int_equal(ddvm_qmp_execute(q, "cont", NULL, 5000, NULL, &err), 0);
	assert_int_equal(ddvm_qmp_execute(q, "stop", NULL, 5000, NULL, &err), 0);
	/* events may trail the answer; dispatch picks them up */
	for (i = 0; i < 200 && !(s.stop && s.resume); i++) {
		assert_int_equal(ddvm_qmp_dispatch(q, &err), 0);
		usleep(10 * 1000);
	}
	assert_int_equal(s.resume, 1);
	assert_int_equal(s.stop, 1);
	ddvm_qmp_close(q);
	kill_child(pid);
}

static void test_quit(void **state)
{
	pid_t pid = start_qemu();
	struct ddvm_qmp *q = connect_ok();
	struct ddvm_err err;
	int status, ret;

	assert_int_equal(ddvm_qmp_execute(q, "quit", NULL, 5000, NULL, &err), 0);
	status = wait_exit(pid, 10000);
	if (status == -1) {
		kill_child(pid);
		fail_msg("QEMU still running 10 s after quit");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* QEMU is gone: the next command reports the closed connection */
	ret = ddvm_qmp_execute(q, "query-status", NULL, 2000, NULL, &err);
	assert_true(ret == -EPIPE || ret == -ECONNRESET);
	ddvm_qmp_close(q);
}

/* ---------------------------------------------------------- fake servers */

/*
 * A scripted QMP server in a child: "<" lines wait for one line from the
 * client, anything else is sent as is.  Returns the child's pid once it
 * listens.
 */
static pid_t fake_server(const char *const *script)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, cfd, i;
	pid_t pid;

	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	unlink(sock);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid) {
		close(lfd);
		return pid;
	}
	cfd = accept(lfd, NULL, NULL);
	if (cfd < 0)
		_exit(1);
	for (i = 0; script[i]; i++) {
		if (!strcmp(script[i], "<")) {
			char c;

			while (read(cfd, &c, 1) == 1 && c != '\n')
				;
		} else if (write(cfd, script[i], strlen(script[i])) < 0) {
			_exit(1);
		}
	}
	pause();	/* hold the connection open until killed */
	_exit(0);
}

static const char greeting[] = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";

static void test_fake_not_json(void **state)
{
	const char *const script[] = { "hello, I am not QMP\n", NULL };
	pid_t pid = fake_server(script);
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err = { "" };

	assert_int_equal(ddvm_qmp_connect(&q, sock, 3000, &err), -EPROTO);
	assert_null(q);
	assert_non_null(strstr(err.msg, "not a JSON object"));
	assert_non_null(strstr(err.msg, sock));
	kill_child(pid);
}

static void test_fake_not_greeting(void **state)
{
	const char *const script[] = { "{\"return\": {}}\n", NULL };
	pid_t pid = fake_server(script);
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err;

	assert_int_equal(ddvm_qmp_connect(&q, sock, 3000, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "greeting"));
	kill_child(pid);
}

static void test_fake_long_line(void **state)
{
	static char big[DDVM_QMP_LINE_MAX + 4096];
	const char *const script[] = { big, NULL };
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err;
	pid_t pid;

	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	pid = fake_server(script);
	assert_int_equal(ddvm_qmp_connect(&q, sock, 5000, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "longer than"));
	kill_child(pid);
}

static void test_fake_silent(void **state)
{
	const char *const script[] = { NULL };
	pid_t pid = fake_server(script);
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err;
	struct timespec a, b;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(ddvm_qmp_connect(&q, sock, 300, &err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 250 && ms < 3000);
	assert_non_null(strstr(err.msg, "greeting"));
	kill_child(pid);
}

static void test_no_socket(void **state)
{
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err;

	unlink(sock);
	assert_int_equal(ddvm_qmp_connect(&q, sock, 100, &err), -ENOENT);
	assert_non_null(strstr(err.msg, sock));
}

static int events_seen;

static void count_event(void *arg, const char *event, json_t *msg)
{
	if (!strcmp(event, "GUEST_PANICKED"))
		events_seen++;
}

/* Stale answers are skipped by id, events in between are delivered. */
static void test_fake_reply_matching(void **state)
{
	const char *const script[] = {
		greeting, "<", "{\"return\": {}, \"id\": 1}\r\n",
		"<",
		"{\"return\": {\"stale\": true}, \"id\": 77}\r\n",
		"\r\n",
		"{\"event\": \"GUEST_PANICKED\", \"data\": {}, \"timestamp\": {}}\r\n",
		"{\"return\": {\"ok\": 1}, \"id\": 2}\r\n",
		"<",
		"{\"error\": {\"class\": \"GenericError\"}, \"id\": 3}\r\n",
		"<",
		"{\"id\": 4}\r\n",
		NULL
	};
	pid_t pid = fake_server(script);
	struct ddvm_qmp *q = NULL;
	struct ddvm_err err;
	json_t *ret = NULL;

	events_seen = 0;
	if (ddvm_qmp_connect(&q, sock, 3000, &err))
		fail_msg("%s", err.msg);
	ddvm_qmp_set_event_handler(q, count_event, NULL);
	assert_int_equal(ddvm_qmp_execute(q, "x", NULL, 3000, &ret, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(ret, "ok")), 1);
	json_decref(ret);
	assert_int_equal(events_seen, 1);
	assert_int_equal(ddvm_qmp_execute(q, "y", NULL, 3000, NULL, &err), -EREMOTEIO);
	assert_non_null(strstr(err.msg, "no description"));
	assert_int_equal(ddvm_qmp_execute(q, "z", NULL, 3000, NULL, &err), -EPROTO);
	/* nothing more comes: a timeout, not a hang */
	assert_int_equal(ddvm_qmp_execute(q, "w", NULL, 200, NULL, &err), -ETIMEDOUT);
	ddvm_qmp_close(q);
	kill_child(pid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_not_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_not_greeting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fake_reply_matching, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
