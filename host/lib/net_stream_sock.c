// SPDX-License-Identifier: GPL-2.0
/* The unix socket QEMU's stream netdev connects to, and the wait for it (see net_stream.h). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net_stream.h"

#define DDVM_NET_STREAM_BACKLOG		4
/* frames dropped per ddvm_net_recv() while nobody is connected */
#define DDVM_NET_STREAM_IDLE_BATCH	16
#define DDVM_NET_STREAM_IDLE_TICK_MS	1000

static int ddvm_net_stream_sockaddr(struct sockaddr_un *sun, const char *path,
				    struct ddvm_err *err)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!len || len >= sizeof(sun->sun_path))
		return ddvm_errf(err, -ENAMETOOLONG, "socket path \"%s\": want 1..%zu bytes", path,
				 sizeof(sun->sun_path) - 1);
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/* A socket file at @path that nobody accepts on is a dead bridge's: remove it. */
static int ddvm_net_stream_clear_stale(const struct sockaddr_un *sun, struct ddvm_err *err)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : ddvm_errf(err, -errno, "%s: %m", path);
	if (!S_ISSOCK(st.st_mode))
		return ddvm_errf(err, -EEXIST, "%s exists and is not a socket", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ddvm_errf(err, -errno, "socket: %m");
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) ? -errno : 0;
	close(fd);
	/* EAGAIN: a listener whose backlog is full, alive all the same */
	if (!ret || ret == -EAGAIN)
		return ddvm_errf(err, -EADDRINUSE,
				 "%s: something listens there already (another ddvm net stream?)",
				 path);
	if (ret != -ECONNREFUSED)
		return ddvm_errf(err, ret, "%s: %s", path, strerror(-ret));
	if (unlink(path) && errno != ENOENT)
		return ddvm_errf(err, -errno, "removing the stale socket %s: %m", path);
	return 0;
}

int ddvm_net_stream_listen(const char *path, struct ddvm_err *err)
{
	struct sockaddr_un sun;
	int fd, ret;

	ret = ddvm_net_stream_sockaddr(&sun, path, err);
	if (!ret)
		ret = ddvm_net_stream_clear_stale(&sun, err);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return ddvm_errf(err, -errno, "socket: %m");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = ddvm_errf(err, -errno, "binding %s: %m", path);
		goto out_close;
	}
	if (listen(fd, DDVM_NET_STREAM_BACKLOG)) {
		ret = ddvm_errf(err, -errno, "listening on %s: %m", path);
		unlink(path);
		goto out_close;
	}
	return fd;

out_close:
	close(fd);
	return ret;
}

/* Nobody to hand them to: take what arrived off the ring and count it. */
static int ddvm_net_stream_drop_rx(struct ddvm_net *net, struct ddvm_net_stream_stats *st,
				   struct ddvm_err *err)
{
	uint8_t bufs[DDVM_NET_STREAM_IDLE_BATCH][DDVM_NET_BUF_SIZE];	/* 32 KiB */
	struct iovec iov[DDVM_NET_STREAM_IDLE_BATCH];
	int n, i;

	do {
		for (i = 0; i < DDVM_NET_STREAM_IDLE_BATCH; i++)
			iov[i] = (struct iovec){ bufs[i], DDVM_NET_BUF_SIZE };
		n = ddvm_net_recv(net, iov, DDVM_NET_STREAM_IDLE_BATCH);
		if (n < 0)
			return ddvm_errf(err, n, "channel: %s", strerror(-n));
		st->idle_drops += (uint64_t)n;
	} while (n == DDVM_NET_STREAM_IDLE_BATCH);
	return 0;
}

int ddvm_net_stream_accept(struct ddvm_net *net, int listen_fd, int stop_fd,
			   struct ddvm_net_stream_stats *st, struct ddvm_err *err)
{
	int fds[3] = { listen_fd, ddvm_net_fd(net), stop_fd };
	struct epoll_event ev, evs[3];
	int epfd, fd, ret, n, i;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return ddvm_errf(err, -errno, "epoll_create1: %m");
	for (i = 0; i < 3; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fds[i] };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev)) {
			ret = ddvm_errf(err, -errno, "epoll_ctl: %m");
			goto out_close;
		}
	}
	for (;;) {
		fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			ret = fd;
			break;
		}
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			ret = ddvm_errf(err, -errno, "accept: %m");
			break;
		}
		ret = ddvm_net_stream_drop_rx(net, st, err);
		if (ret)
			break;
		ret = ddvm_net_arm(net, DDVM_NET_WANT_RX);
		if (ret < 0) {
			ret = ddvm_errf(err, ret, "channel: %s", strerror(-ret));
			break;
		}
		if (ret > 0)
			continue;
		n = epoll_wait(epfd, evs, 3, ddvm_net_link(net) == DDVM_NET_LINK_ABSENT ?
					     DDVM_NET_RETRY_MS : DDVM_NET_STREAM_IDLE_TICK_MS);
		if (n < 0 && errno != EINTR) {
			ret = ddvm_errf(err, -errno, "epoll_wait: %m");
			break;
		}
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == stop_fd)
				break;
		if (i < n) {
			ret = -EINTR;
			break;
		}
	}
out_close:
	close(epfd);
	return ret;
}
