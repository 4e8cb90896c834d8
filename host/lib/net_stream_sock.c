// SPDX-License-Identifier: GPL-2.0
/* Connecting to the unix socket QEMU's stream netdev listens on, again and again (see net_stream.h). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chan_client.h"
#include "net_stream.h"

/* frames dropped per ddvm_net_recv() while nobody is connected */
#define DDVM_NET_STREAM_IDLE_BATCH	16

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

/*
 * Nobody listens at @path yet, or not any more: QEMU has not started, or
 * has exited and will be started again.  Anything else is not going to
 * get better by waiting.
 */
static bool ddvm_net_stream_worth_retrying(int err)
{
	/* EAGAIN: QEMU's backlog is full (it accepts one connection at a time) */
	return err == -ENOENT || err == -ECONNREFUSED || err == -EAGAIN;
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

/* One attempt.  Return: the connected socket (non-blocking) or -errno. */
static int ddvm_net_stream_try(const struct sockaddr_un *sun)
{
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* unix sockets connect at once or not at all: no EINPROGRESS */
	if (!connect(fd, (const struct sockaddr *)sun, sizeof(*sun)))
		return fd;
	ret = -errno;
	close(fd);
	return ret;
}

/*
 * Sleep @ms while the channel's frames are dropped as they come.
 * Return: 0 when the time is up, -EINTR if @stop_fd became readable,
 * or -errno with @err.
 */
static int ddvm_net_stream_idle(struct ddvm_net *net, int epfd, int stop_fd, int ms,
				struct ddvm_net_stream_stats *st, struct ddvm_err *err)
{
	int64_t end = ddvm_now_ms() + ms, left;
	struct epoll_event evs[2];
	int ret, n, i;

	while ((left = end - ddvm_now_ms()) > 0) {
		ret = ddvm_net_stream_drop_rx(net, st, err);
		if (ret)
			return ret;
		ret = ddvm_net_arm(net, DDVM_NET_WANT_RX);
		if (ret < 0)
			return ddvm_errf(err, ret, "channel: %s", strerror(-ret));
		if (ret > 0)
			continue;
		/* with no server, ddvm_net_arm() looks for a new one only when called */
		if (ddvm_net_link(net) == DDVM_NET_LINK_ABSENT && left > DDVM_NET_RETRY_MS)
			left = DDVM_NET_RETRY_MS;
		n = epoll_wait(epfd, evs, 2, (int)left);
		if (n < 0 && errno != EINTR)
			return ddvm_errf(err, -errno, "epoll_wait: %m");
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == stop_fd)
				return -EINTR;
	}
	return 0;
}

int ddvm_net_stream_connect(struct ddvm_net *net, const char *path, int stop_fd,
			    struct ddvm_net_stream_stats *st, struct ddvm_err *err)
{
	int fds[2] = { ddvm_net_fd(net), stop_fd };
	int delay = DDVM_NET_STREAM_RETRY_MIN_MS;
	struct epoll_event ev;
	struct sockaddr_un sun;
	int epfd, ret, i;

	ret = ddvm_net_stream_sockaddr(&sun, path, err);
	if (ret)
		return ret;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return ddvm_errf(err, -errno, "epoll_create1: %m");
	for (i = 0; i < 2; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fds[i] };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev)) {
			ret = ddvm_errf(err, -errno, "epoll_ctl: %m");
			goto out_close;
		}
	}
	for (;;) {
		st->connect_attempts++;
		ret = ddvm_net_stream_try(&sun);
		if (ret >= 0)
			break;
		if (!ddvm_net_stream_worth_retrying(ret)) {
			ret = ddvm_errf(err, ret, "connecting to %s: %s", path, strerror(-ret));
			break;
		}
		ret = ddvm_net_stream_idle(net, epfd, stop_fd, delay, st, err);
		if (ret)
			break;
		delay = delay * 2 > DDVM_NET_STREAM_RETRY_MAX_MS ? DDVM_NET_STREAM_RETRY_MAX_MS :
								    delay * 2;
	}
out_close:
	close(epfd);
	return ret;
}
