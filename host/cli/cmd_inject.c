// SPDX-License-Identifier: GPL-2.0
/* ddvm inject: make a serving driver domain fail on purpose, to see it recover. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "qmp.h"
#include "rundir.h"
#include "state.h"

#define INJECT_USAGE \
	"usage: ddvm inject [--run-dir DIR] DOMAIN kill|panic|hang|oops|wedge|corrupt\n" \
	"  Makes serving driver domain DOMAIN fail; its supervisor should restart it:\n" \
	"    kill     SIGKILL its QEMU\n" \
	"    hang     freeze the VM (QMP stop on RUN/DOMAIN/" DDVM_QMP_TOOLS_SOCK ")\n" \
	"    panic    the DD/OS kernel panics\n" \
	"    oops     the next request the DD/OS processes oopses (oops=panic)\n" \
	"    wedge    the DD/OS kernel spins with interrupts off (for the watchdog)\n" \
	"    corrupt  the DD/OS scribbles over its channels and reports them failed\n" \
	"  panic, oops, wedge and corrupt go to the DD/OS's init over its second serial\n" \
	"  port (RUN/DOMAIN/" DDVM_INJECT_SOCK ").\n"

#define INJECT_QMP_TIMEOUT_MS	2000
#define INJECT_ECHO_TIMEOUT_MS	3000

/* Whether /proc/PID/cmdline is a QEMU running domain @name ("-name NAME"). */
static bool is_domain_qemu(pid_t pid, const char *name)
{
	char path[64], buf[8192];
	bool qemu = false, named = false;
	ssize_t n, i;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	qemu = strstr(buf, "qemu") != NULL;
	for (i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (!strcmp(buf + i, "-name") && i + 6 < n && !strcmp(buf + i + 6, name))
			named = true;
	return qemu && named;
}

static int inject_kill(json_t *dom, const char *name)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(dom, "qemu_pid"));

	/* state.json may be a second old: never signal a stranger */
	if (pid <= 0 || !is_domain_qemu(pid, name)) {
		fprintf(stderr, "ddvm inject: domain %s has no QEMU running now\n", name);
		return 1;
	}
	if (kill(pid, SIGKILL)) {
		fprintf(stderr, "ddvm inject: kill %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	printf("%s: killed QEMU pid %d\n", name, (int)pid);
	return 0;
}

static int inject_hang(const char *run_dir, const char *name)
{
	char path[DDVM_SOCK_PATH_MAX];
	struct ddvm_err err;
	struct ddvm_qmp *q;
	int ret;

	ret = ddvm_domain_socket_path(path, sizeof(path), run_dir, name, DDVM_QMP_TOOLS_SOCK,
				      &err);
	if (!ret)
		ret = ddvm_qmp_connect(&q, path, INJECT_QMP_TIMEOUT_MS, &err);
	if (!ret) {
		ret = ddvm_qmp_execute(q, "stop", NULL, INJECT_QMP_TIMEOUT_MS, NULL, &err);
		ddvm_qmp_close(q);
	}
	if (ret) {
		fprintf(stderr, "ddvm inject: %s\n", err.msg);
		return 1;
	}
	printf("%s: VM stopped (its heartbeat stalls)\n", name);
	return 0;
}

/* Whether @want (up to its newline) comes back on @fd within @ms. */
static bool wait_echo(int fd, const char *want, int ms)
{
	size_t wlen = strcspn(want, "\n"), got = 0;
	char buf[512];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long deadline;
	struct timespec ts;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
	for (;;) {
		long long left;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		left = deadline - ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		if (got == sizeof(buf) - 1) {
			/* keep the tail: the line may straddle */
			memmove(buf, buf + got - wlen, wlen);
			got = wlen;
		}
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
		buf[got] = '\0';
		if (memmem(buf, got, want, wlen))
			return true;
	}
}

/* One line to the DD/OS's init on its ttyS1. */
static int inject_guest(const char *run_dir, const char *name, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[64];
	struct ddvm_err err;
	int fd, n;

	if (ddvm_domain_socket_path(sa.sun_path, sizeof(sa.sun_path), run_dir, name,
				    DDVM_INJECT_SOCK, &err)) {
		fprintf(stderr, "ddvm inject: %s\n", err.msg);
		return 1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "ddvm inject: %s: %s\n", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* a newline first ends whatever half line an earlier writer left */
	n = snprintf(line, sizeof(line), "\nddvm-inject %s\n", what);
	if (write(fd, line, (size_t)n) != n) {
		fprintf(stderr, "ddvm inject: %s: %s\n", sa.sun_path, strerror(errno));
		close(fd);
		return 1;
	}
	/*
	 * QEMU drops what the guest's UART has not taken yet when we hang
	 * up: wait for the guest's tty to echo the line back.
	 */
	if (!wait_echo(fd, line + 1, INJECT_ECHO_TIMEOUT_MS)) {
		fprintf(stderr, "ddvm inject: the DD/OS did not take the line within %d ms "
			"(is its init reading ttyS1?)\n", INJECT_ECHO_TIMEOUT_MS);
		close(fd);
		return 1;
	}
	close(fd);
	printf("%s: asked the DD/OS to %s\n", name,
	       !strcmp(what, "panic") ? "panic" : !strcmp(what, "oops") ? "oops on its next request" :
	       !strcmp(what, "wedge") ? "wedge its kernel" : "corrupt its channels");
	return 0;
}

int cmd_inject(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *run_dir = NULL, *name, *what, *state;
	json_t *st = NULL, *doms, *dom = NULL;
	struct ddvm_err err;
	size_t i;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hr:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			fputs(INJECT_USAGE, stdout);
			return 0;
		default:
			fputs(INJECT_USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fputs(INJECT_USAGE, stderr);
		return 2;
	}
	name = argv[optind];
	what = argv[optind + 1];
	if (strcmp(what, "kill") && strcmp(what, "hang") && strcmp(what, "panic") &&
	    strcmp(what, "oops") && strcmp(what, "wedge") && strcmp(what, "corrupt")) {
		fprintf(stderr, "ddvm inject: unknown fault '%s'\n%s", what, INJECT_USAGE);
		return 2;
	}
	run_dir = ddvm_run_dir_pick(run_dir, NULL);
	if (!ddvm_run_owner(run_dir)) {
		fprintf(stderr, "ddvm inject: no supervisor runs in %s\n", run_dir);
		return 1;
	}
	ret = ddvm_state_load(run_dir, &st, &err);
	if (ret) {
		fprintf(stderr, "ddvm inject: %s\n", err.msg);
		return 1;
	}
	doms = json_object_get(st, "domains");
	for (i = 0; i < json_array_size(doms); i++) {
		const char *n = json_string_value(json_object_get(json_array_get(doms, i), "name"));

		if (n && !strcmp(n, name))
			dom = json_array_get(doms, i);
	}
	if (!dom) {
		fprintf(stderr, "ddvm inject: no domain %s in %s\n", name, run_dir);
		ret = 1;
		goto out;
	}
	/* a fault during a boot tests the boot retries, not the recovery */
	state = json_string_value(json_object_get(dom, "state"));
	if (!state || strcmp(state, "serving")) {
		fprintf(stderr, "ddvm inject: domain %s is %s, not serving\n", name,
			state ? state : "?");
		ret = 1;
		goto out;
	}
	if (!strcmp(what, "kill"))
		ret = inject_kill(dom, name);
	else if (!strcmp(what, "hang"))
		ret = inject_hang(run_dir, name);
	else
		ret = inject_guest(run_dir, name, what);
out:
	json_decref(st);
	return ret;
}
