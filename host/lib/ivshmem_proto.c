// SPDX-License-Identifier: GPL-2.0
/* Sending and receiving ivshmem server protocol messages (see ivshmem_proto.h). */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ivshmem_proto.h"

/*
 * Room for more descriptors than a message may carry: what does not fit
 * would be dropped by the kernel with MSG_CTRUNC, but we want to see (and
 * close) a sender's extra fds and report them, not lose track of them.
 */
#define RECV_MAX_FDS	8
/* How long a started message may take to arrive completely. */
#define RECV_REST_MS	1000

int ddvm_ivshmem_send(int sock, int64_t value, int fd)
{
	uint64_t le = htole64((uint64_t)value);
	const unsigned char *buf = (const unsigned char *)&le;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	size_t done = 0;

	while (done < sizeof(le)) {
		struct iovec iov = {
			.iov_base = (void *)(buf + done),
			.iov_len = sizeof(le) - done,
		};
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		/* the fd must arrive with the message's first byte, never later */
		if (fd >= 0 && done == 0) {
			struct cmsghdr *cmsg;

			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = ctl.buf;
			msg.msg_controllen = sizeof(ctl.buf);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Take the descriptors of one recvmsg() into *@keep: the first one overall
 * is kept, every other one is closed and makes the message invalid, as does
 * any control message that is not SCM_RIGHTS or was truncated.
 */
static int collect_fds(struct msghdr *msg, int *keep)
{
	struct cmsghdr *cmsg;
	int ret = 0;

	for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
		size_t i, nfds;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
			ret = -EPROTO;
			continue;
		}
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (*keep < 0) {
				*keep = fd;
			} else {
				close(fd);
				ret = -EPROTO;
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		ret = -EPROTO;
	return ret;
}

/* The rest of a started message is on its way: wait for it, bounded. */
static int wait_rest(int sock)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	int n;

	do
		n = poll(&pfd, 1, RECV_REST_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -EPROTO;
}

int ddvm_ivshmem_recv(int sock, int64_t *value, int *fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * RECV_MAX_FDS)];
	} ctl;
	unsigned char buf[sizeof(uint64_t)];
	size_t got = 0;
	uint64_t le;
	int rfd = -1;
	int ret;

	*fd = -1;
	while (got < sizeof(buf)) {
		struct iovec iov = { .iov_base = buf + got, .iov_len = sizeof(buf) - got };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.buf,
			.msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n;

		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && got > 0) {
				ret = wait_rest(sock);
				if (ret)
					goto out_close;
				continue;
			}
			ret = -errno;
			goto out_close;
		}
		ret = collect_fds(&msg, &rfd);
		if (ret)
			goto out_close;
		if (n == 0) {
			ret = got ? -EPROTO : -ECONNRESET;
			goto out_close;
		}
		got += (size_t)n;
	}
	memcpy(&le, buf, sizeof(le));
	*value = (int64_t)le64toh(le);
	*fd = rfd;
	return 0;

out_close:
	if (rfd >= 0)
		close(rfd);
	return ret;
}
