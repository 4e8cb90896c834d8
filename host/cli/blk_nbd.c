// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm blk nbd CHANNEL --socket PATH: serve a block channel as an NBD export
 * on unix socket PATH until killed.  nbdkit does the NBD side, with the ddvm
 * plugin (host/nbd/, built next to the ddvm binary) doing the channel side;
 * this command is nbdkit's parent: it finds the plugin, clears a stale
 * socket, passes SIGTERM/SIGINT/SIGHUP on, and removes the socket, which
 * nbdkit leaves behind.  nbdkit runs with --exit-with-parent, so it also
 * dies with this process.
 *
 * On SIGTERM nbdkit stops accepting and finishes the requests under way,
 * but then waits for every client to disconnect (its workers block reading
 * the next request).  A client VM may stay connected forever, so after
 * STOP_GRACE_MS nbdkit is killed: that is safe, every write it acknowledged
 * was completed by the DD/OS, and an NBD client resends what was not
 * acknowledged when it reconnects (QEMU's reconnect-delay).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_nbd.h"
#include "err.h"
#include "rundir.h"

#define NBD_PLUGIN_NAME	"nbdkit-ddvm-plugin.so"
#define STOP_GRACE_MS	5000
/*
 * nbdkit's worker threads per connection: the requests it has in the plugin
 * at once.  Its default, 16, would cap one client below a channel's depth
 * (32..128 requests); idle threads cost only address space.
 */
#define NBDKIT_THREADS	"64"

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/* The plugin next to the running ddvm binary. */
static int plugin_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n < 0) {
		fprintf(stderr, "ddvm blk nbd: /proc/self/exe: %s\n", strerror(errno));
		return -errno;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	if (snprintf(buf, len, "%s/%s", exe, NBD_PLUGIN_NAME) >= (int)len)
		return -ENAMETOOLONG;
	if (access(buf, R_OK)) {
		fprintf(stderr, "ddvm blk nbd: no NBD plugin at %s (%s); 'make host' builds it\n",
			buf, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

/*
 * PATH must be free for nbdkit: nothing there, or a socket nobody listens
 * on any more (nbdkit does not remove its socket).  Never remove anything else.
 */
static int clear_stale_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ddvm blk nbd: --socket %s: longer than a unix socket path may be\n",
			path);
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "ddvm blk nbd: --socket %s exists and is not a socket\n", path);
		return -EEXIST;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (!ret) {
		fprintf(stderr, "ddvm blk nbd: --socket %s: something already serves there\n", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		fprintf(stderr, "ddvm blk nbd: removing the stale socket %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };	/* no SA_RESTART: wake waitpid */
	int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return !lstat(path, &st) && S_ISSOCK(st.st_mode);
}

/*
 * Wait for nbdkit.  Say "listening on PATH" once its socket is there (a
 * caller may wait for that line); on a stop signal pass it on, and kill
 * nbdkit after the grace time.  Return: 0 (*killed: we had to), or -errno.
 */
static int wait_nbdkit(pid_t pid, const char *path, int *status, bool *killed)
{
	long long deadline = 0;
	bool listening = false, polling;
	pid_t r;

	*killed = false;
	for (;;) {
		polling = deadline || !listening;
		r = waitpid(pid, status, polling ? WNOHANG : 0);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (!listening && is_socket(path)) {
			printf("listening on %s\n", path);
			fflush(stdout);
			listening = true;
		}
		if (stop_signal && !deadline) {
			kill(pid, SIGTERM);
			deadline = now_ms() + STOP_GRACE_MS;
		}
		if (deadline && !*killed && now_ms() > deadline) {
			kill(pid, SIGKILL);
			*killed = true;
		}
		if (polling && r == 0)
			usleep(20 * 1000);
	}
}

static const char nbd_usage[] =
	"usage: ddvm blk nbd CHANNEL --socket PATH\n"
	"Serve CHANNEL as an NBD export on unix socket PATH (nbdkit, several connections at\n"
	"once) until SIGTERM.  E.g. qemu-io -f raw nbd+unix:///?socket=PATH, or QEMU:\n"
	"  -blockdev driver=nbd,node-name=d0,server.type=unix,server.path=PATH,reconnect-delay=10\n"
	"  -device virtio-blk-pci,drive=d0\n";

int blk_nbd(int argc, char **argv)
{
	static const struct option opts[] = { { "socket", required_argument, NULL, 's' }, { 0 } };
	char chan[512], plugin[PATH_MAX], sockarg[600];
	struct ddvm_err err = { "" };
	const char *path = NULL;
	int c, ret, status;
	bool killed;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 's') {
			fputs(nbd_usage, stderr);
			return 2;
		}
		path = optarg;
	}
	if (argc - optind != 1 || !path) {
		fputs(nbd_usage, stderr);
		return 2;
	}
	ret = ddvm_channel_socket(chan, sizeof(chan), argv[optind], &err);
	if (ret) {
		fprintf(stderr, "ddvm blk nbd: %s\n", err.msg);
		return 1;
	}
	snprintf(sockarg, sizeof(sockarg), "socket=%s", chan);
	if (plugin_path(plugin, sizeof(plugin)) || clear_stale_socket(path) ||
	    catch_stop_signals())
		return 1;

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ddvm blk nbd: fork: %s\n", strerror(errno));
		return 1;
	}
	if (!pid) {
		execlp("nbdkit", "nbdkit", "--foreground", "--exit-with-parent", "--threads",
		       NBDKIT_THREADS, "--unix", path, plugin, sockarg, (char *)NULL);
		fprintf(stderr, "ddvm blk nbd: cannot run nbdkit: %s (Debian package nbdkit)\n",
			strerror(errno));
		_exit(127);
	}
	fprintf(stderr, "ddvm blk nbd: serving %s on %s (nbdkit pid %d)\n", argv[optind], path,
		(int)pid);
	ret = wait_nbdkit(pid, path, &status, &killed);
	unlink(path);
	if (ret) {
		fprintf(stderr, "ddvm blk nbd: waiting for nbdkit: %s\n", strerror(-ret));
		return 1;
	}
	if (killed) {
		fprintf(stderr, "ddvm blk nbd: clients still connected %d ms after SIGTERM: "
			"disconnected them\n", STOP_GRACE_MS);
		return 0;
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (stop_signal && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)
		return 0;
	if (WIFEXITED(status))
		fprintf(stderr, "ddvm blk nbd: nbdkit exited with status %d\n", WEXITSTATUS(status));
	else
		fprintf(stderr, "ddvm blk nbd: nbdkit killed by signal %d\n", WTERMSIG(status));
	return 1;
}
