// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm console VM: the client VM's shell (its ttyS1, RUN/VM/shell.sock) on
 * this terminal.  From a terminal: raw mode, every key to the guest (^C
 * too), Ctrl-] leaves.  From a pipe: the lines are typed into the shell,
 * then a marker command is, and the output is relayed until the marker's
 * output comes back, so "echo ls | ddvm console vm0" prints what ls did and
 * returns.  The guest's tty echoes what is typed, so piped commands show
 * twice: as typed and as their output.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "rundir.h"
#include "state.h"

#define CONSOLE_USAGE \
	"usage: ddvm console [--run-dir DIR] [--timeout S] VM\n" \
	"  Attaches to client VM VM's shell (its second serial port) of the supervisor\n" \
	"  owning DIR (default $" DDVM_RUN_DIR_ENV " or ./run).  On a terminal Ctrl-] leaves.\n" \
	"  With stdin not a terminal, its lines run in the shell and the command returns\n" \
	"  once their output is back (at most S seconds, default 60, after stdin ends).\n"

#define ESCAPE_KEY	0x1d	/* Ctrl-] */
#define MARKER_FMT	"DDVM-CONSOLE-END-%ld"

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

static void on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int raw_tty(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return -errno;
	tio = saved_tio;
	cfmakeraw(&tio);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio))
		return -errno;
	tio_saved = true;
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	return 0;
}

/* Every byte of @buf to @fd.  Return: 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The shell socket of client VM @name from state.json, or an error that
 * names what there is instead.
 */
static int find_shell(const char *run_dir, const char *name, char *path, size_t len)
{
	char list[256] = "";
	struct ddvm_err err;
	json_t *st, *vm;
	const char *state;
	size_t i, off = 0;
	int ret = -ENOENT;

	if (ddvm_state_load(run_dir, &st, &err)) {
		fprintf(stderr, "ddvm console: %s (is a supervisor running there? 'ddvm up')\n",
			err.msg);
		return -ENOENT;
	}
	json_array_foreach(json_object_get(st, "vms"), i, vm) {
		const char *n = json_string_value(json_object_get(vm, "name"));

		if (!n)
			continue;
		off += (size_t)snprintf(list + off, off < sizeof(list) ? sizeof(list) - off : 0,
					"%s%s", off ? ", " : "", n);
		if (strcmp(n, name))
			continue;
		state = json_string_value(json_object_get(vm, "state"));
		snprintf(path, len, "%s", json_string_value(json_object_get(vm, "shell")) ?: "");
		if (state && strcmp(state, "running") && strcmp(state, "booting")) {
			fprintf(stderr, "ddvm console: VM %s is %s%s%s\n", name, state,
				*(json_string_value(json_object_get(vm, "last_error")) ?: "") ?
				": " : "",
				json_string_value(json_object_get(vm, "last_error")) ?: "");
			ret = -ENOTCONN;
		} else {
			ret = 0;
		}
		goto out;
	}
	json_array_foreach(json_object_get(st, "domains"), i, vm)
		if (!strcmp(json_string_value(json_object_get(vm, "name")) ?: "", name)) {
			fprintf(stderr, "ddvm console: %s is a driver domain, not a client VM (its "
				"console is logged in %s)\n", name,
				json_string_value(json_object_get(vm, "console")) ?: "?");
			goto out;
		}
	fprintf(stderr, "ddvm console: no client VM \"%s\" in %s (VMs: %s)\n", name, run_dir,
		list[0] ? list : "none");
out:
	json_decref(st);
	return ret;
}

static int connect_shell(const char *name, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ddvm console: VM %s: socket path too long: %s\n", name, path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "ddvm console: VM %s: %s: %s\n", name, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Terminal: keys in, output out, until Ctrl-] or the VM hangs up. */
static int interactive(const char *name, int fd)
{
	struct pollfd p[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN },
	};
	char buf[4096];
	ssize_t n;
	char *esc;

	fprintf(stderr, "[connected to %s's shell; Ctrl-] leaves]\r\n", name);
	if (raw_tty()) {
		fprintf(stderr, "ddvm console: cannot set the terminal raw: %s\n", strerror(errno));
		return 1;
	}
	/* a fresh prompt, whatever the line held */
	if (write_all(fd, "\r", 1))
		goto out_gone;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n))
				goto out_gone;
		}
		if (p[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0)
				break;
			esc = memchr(buf, ESCAPE_KEY, (size_t)n);
			if (esc) {
				write_all(fd, buf, (size_t)(esc - buf));
				break;
			}
			if (write_all(fd, buf, (size_t)n))
				goto out_gone;
		}
	}
	restore_tty();
	fprintf(stderr, "\n[left %s's shell]\n", name);
	return 0;

out_gone:
	restore_tty();
	fprintf(stderr, "\nddvm console: VM %s closed its shell (did it stop?)\n", name);
	return 1;
}

/*
 * Pipe: stdin typed in, then a command whose output is @marker (written
 * so that its echo is not), then output relayed up to that output.
 */
static int piped(const char *name, int fd, int timeout_s)
{
	struct pollfd p[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN }, { .fd = fd, .events = POLLIN },
	};
	char marker[64], cmd[128], buf[4096], tail[4096 + 64];
	size_t mlen, have = 0, keep;
	time_t deadline = 0;
	bool in_done = false;
	ssize_t n;
	char *hit;

	mlen = (size_t)snprintf(marker, sizeof(marker), MARKER_FMT, (long)getpid());
	/* the tty echoes the command as typed: only its output has the marker whole */
	snprintf(cmd, sizeof(cmd), "\nprintf 'DDVM-CONSOLE-%%s-%%s\\n' END %ld\n", (long)getpid());
	for (;;) {
		int wait_ms = -1;

		if (in_done) {
			time_t now = time(NULL);

			if (now >= deadline) {
				fprintf(stderr, "ddvm console: VM %s: no answer within %d s after the "
					"input ended\n", name, timeout_s);
				return 124;
			}
			wait_ms = (int)(deadline - now) * 1000;
		}
		n = poll(p, 2, wait_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (p[0].revents && !in_done) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0 && write_all(fd, buf, (size_t)n))
				goto out_gone;
			if (n <= 0) {
				in_done = true;
				p[0].fd = -1;
				deadline = time(NULL) + timeout_s;
				if (write_all(fd, cmd, strlen(cmd)))
					goto out_gone;
			}
		}
		if (p[1].revents) {
			n = read(fd, tail + have, sizeof(tail) - have);
			if (n <= 0)
				goto out_gone;
			have += (size_t)n;
			hit = memmem(tail, have, marker, mlen);
			if (hit) {
				write_all(STDOUT_FILENO, tail, (size_t)(hit - tail));
				return 0;
			}
			/* print all but what could be the start of a marker */
			keep = have < mlen ? have : mlen - 1;
			if (write_all(STDOUT_FILENO, tail, have - keep))
				return 1;
			memmove(tail, tail + have - keep, keep);
			have = keep;
		}
	}
	return 1;

out_gone:
	write_all(STDOUT_FILENO, tail, have);
	fprintf(stderr, "ddvm console: VM %s closed its shell (did it stop?)\n", name);
	return 1;
}

int cmd_console(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *run_dir = NULL;
	char path[4096], *end;
	int c, fd, ret, timeout_s = 60;
	long t;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hr:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			run_dir = optarg;
			break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*end || t < 1 || t > 86400) {
				fprintf(stderr, "ddvm console: --timeout %s: want 1 to 86400 seconds\n",
					optarg);
				return 2;
			}
			timeout_s = (int)t;
			break;
		case 'h':
			fputs(CONSOLE_USAGE, stdout);
			return 0;
		default:
			fputs(CONSOLE_USAGE, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(CONSOLE_USAGE, stderr);
		return 2;
	}
	run_dir = ddvm_run_dir_pick(run_dir, NULL);
	if (!ddvm_run_owner(run_dir)) {
		fprintf(stderr, "ddvm console: no supervisor runs in %s ('ddvm up' a config with "
			"\"vms\")\n", run_dir);
		return 1;
	}
	if (find_shell(run_dir, argv[optind], path, sizeof(path)))
		return 1;
	fd = connect_shell(argv[optind], path);
	if (fd < 0)
		return 1;
	/* a VM gone mid-write must give an error, not kill us */
	signal(SIGPIPE, SIG_IGN);
	ret = isatty(STDIN_FILENO) ? interactive(argv[optind], fd) :
	      piped(argv[optind], fd, timeout_s);
	close(fd);
	return ret;
}
