// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the ivshmem message encoding (host/lib/ivshmem_proto.c) over
 * socketpairs.  sendmsg() and recvmsg() are interposed here so that partial
 * transfers and EINTR, which a unix socket rarely produces by itself, are
 * forced on the code under test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ivshmem_proto.h"

/* ---------------------------------------------------------------- interposers */

static struct {
	size_t send_chunk;	/* >0: each sendmsg() moves at most this many bytes */
	int send_eintr;		/* fail this many sendmsg() calls with EINTR first */
	size_t recv_chunk;	/* >0: each recvmsg() reads at most this many bytes */
	int recv_eintr;
	int send_calls;		/* sendmsg() calls that moved data */
	int send_calls_with_fd;
	int first_call_had_fd;
} io;

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr m = *msg;
	struct iovec iov;
	ssize_t n;

	if (io.send_eintr > 0) {
		io.send_eintr--;
		errno = EINTR;
		return -1;
	}
	if (io.send_chunk && m.msg_iovlen == 1 && m.msg_iov[0].iov_len > io.send_chunk) {
		iov = m.msg_iov[0];
		iov.iov_len = io.send_chunk;
		m.msg_iov = &iov;
	}
	n = syscall(SYS_sendmsg, fd, &m, flags);
	if (n > 0) {
		if (m.msg_controllen) {
			io.send_calls_with_fd++;
			if (!io.send_calls)
				io.first_call_had_fd = 1;
		}
		io.send_calls++;
	}
	return n;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct iovec *orig = msg->msg_iov, iov;
	ssize_t n;

	if (io.recv_eintr > 0) {
		io.recv_eintr--;
		errno = EINTR;
		return -1;
	}
	if (io.recv_chunk && msg->msg_iovlen == 1 && orig[0].iov_len > io.recv_chunk) {
		iov = orig[0];
		iov.iov_len = io.recv_chunk;
		msg->msg_iov = &iov;
	}
	n = syscall(SYS_recvmsg, fd, msg, flags);
	msg->msg_iov = orig;
	return n;
}

/* ---------------------------------------------------------------- helpers */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int sp[2] = { -1, -1 };
static int fds_before;

static int setup_pair(void **state)
{
	memset(&io, 0, sizeof(io));
	fds_before = count_fds();
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp);
}

static void close_pair(void)
{
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	sp[0] = sp[1] = -1;
}

/* Every test ends here: it must leave exactly the fds it found. */
static void end_test(void)
{
	close_pair();
	assert_int_equal(count_fds(), fds_before);
}

static int teardown_pair(void **state)
{
	memset(&io, 0, sizeof(io));
	close_pair();
	return 0;
}

/* Send raw bytes with @nfds copies of @fd attached (not via the code under test). */
static void raw_send(int s, const void *buf, size_t len, int fd, int nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int i;

	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		for (i = 0; i < nfds; i++)
			memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
	}
	assert_int_equal(syscall(SYS_sendmsg, s, &msg, 0), (long)len);
}

/* Whether two fds are the same open file (kcmp KCMP_FILE). */
static bool same_file(int a, int b)
{
	return syscall(SYS_kcmp, getpid(), getpid(), 0, a, b) == 0;
}

/* ---------------------------------------------------------------- tests */

static void test_roundtrip(void **state)
{
	static const int64_t values[] = { 0, 1, -1, 65535, 65536, INT64_MIN, INT64_MAX,
					  0x0102030405060708ll };
	int64_t v;
	size_t i;
	int fd, efd;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		assert_int_equal(ddvm_ivshmem_send(sp[0], values[i], -1), 0);
		assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
		assert_true(v == values[i]);
		assert_int_equal(fd, -1);
	}
	efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(ddvm_ivshmem_send(sp[0], -1, efd), 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, -1);
	assert_true(fd >= 0 && fd != efd);
	assert_true(same_file(fd, efd));
	/* received fds must not leak into programs we exec */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(efd);
	end_test();
}

static void test_little_endian_on_wire(void **state)
{
	unsigned char b[8];
	int i;

	assert_int_equal(ddvm_ivshmem_send(sp[0], 0x0102030405060708ll, -1), 0);
	assert_int_equal(read(sp[1], b, 8), 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(b[i], 8 - i);
	assert_int_equal(ddvm_ivshmem_send(sp[0], -2, -1), 0);
	assert_int_equal(read(sp[1], b, 8), 8);
	assert_int_equal(b[0], 0xfe);
	assert_int_equal(b[7], 0xff);
	end_test();
}

/* Partial sends: the rest follows, and the fd only with the first byte. */
static void test_partial_send(void **state)
{
	int64_t v;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	io.send_chunk = 1;
	io.send_eintr = 2;
	assert_int_equal(ddvm_ivshmem_send(sp[0], 0x1122334455667788ll, efd), 0);
	assert_int_equal(io.send_calls, 8);
	assert_int_equal(io.send_calls_with_fd, 1);
	assert_true(io.first_call_had_fd);
	io.send_chunk = 0;
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_true(v == 0x1122334455667788ll);
	assert_true(same_file(fd, efd));
	close(fd);

	io.send_chunk = 3;
	io.send_calls = io.send_calls_with_fd = 0;
	assert_int_equal(ddvm_ivshmem_send(sp[0], 42, -1), 0);
	assert_int_equal(io.send_calls, 3);
	assert_int_equal(io.send_calls_with_fd, 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, 42);
	assert_int_equal(fd, -1);
	close(efd);
	end_test();
}

/* A reader that gets one byte per call still sees the message and its fd. */
static void test_short_reads(void **state)
{
	int64_t v;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(ddvm_ivshmem_send(sp[0], 7, efd), 0);
	assert_int_equal(ddvm_ivshmem_send(sp[0], 8, -1), 0);
	io.recv_chunk = 1;
	io.recv_eintr = 1;
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, 7);
	assert_true(same_file(fd, efd));
	close(fd);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, 8);
	assert_int_equal(fd, -1);

	/* a message the sender split itself, fd with the first part */
	io.recv_chunk = 0;
	raw_send(sp[0], "\x05\x00\x00", 3, efd, 1);
	raw_send(sp[0], "\x00\x00\x00\x00\x00", 5, -1, 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, 5);
	assert_true(same_file(fd, efd));
	close(fd);
	close(efd);
	end_test();
}

static void *send_rest_later(void *arg)
{
	usleep(100 * 1000);
	raw_send(sp[0], "\x00\x00\x00\x00\x00", 5, -1, 0);
	return NULL;
}

static void test_nonblocking(void **state)
{
	pthread_t t;
	int64_t v;
	int fd;

	assert_int_equal(fcntl(sp[1], F_SETFL, O_RDWR | O_NONBLOCK), 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EAGAIN);
	assert_int_equal(fd, -1);
	/* a started message is waited for */
	raw_send(sp[0], "\x09\x00\x00", 3, -1, 0);
	assert_int_equal(pthread_create(&t, NULL, send_rest_later, NULL), 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	pthread_join(t, NULL);
	assert_int_equal(v, 9);
	/* ... but not forever, and its fd is closed */
	raw_send(sp[0], "\x09\x00\x00", 3, sp[0], 1);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	end_test();
}

static void test_eof(void **state)
{
	int64_t v;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	close(sp[0]);
	sp[0] = -1;
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -ECONNRESET);
	assert_int_equal(fd, -1);
	close(sp[1]);

	/* truncated message: rejected, its fd closed (teardown counts) */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	raw_send(sp[0], "\x01\x00\x00", 3, efd, 1);
	close(sp[0]);
	sp[0] = -1;
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	close(efd);
	end_test();
}

static void test_two_fds_rejected(void **state)
{
	const char msg[8] = { 3 };
	int64_t v;
	int fd, efd = eventfd(0, EFD_CLOEXEC);

	raw_send(sp[0], msg, 8, efd, 2);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	/* one fd per part of a split message is two fds too */
	raw_send(sp[0], msg, 4, efd, 1);
	raw_send(sp[0], msg + 4, 4, efd, 1);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	/* more fds than fit the control buffer: truncated, still rejected */
	raw_send(sp[0], msg, 8, efd, 12);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	/* the stream is still in step for a good message */
	assert_int_equal(ddvm_ivshmem_send(sp[0], 4, efd), 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), 0);
	assert_int_equal(v, 4);
	close(fd);
	close(efd);
	end_test();
}

static void test_foreign_cmsg_rejected(void **state)
{
	int one = 1, fd, efd = eventfd(0, EFD_CLOEXEC);
	int64_t v;

	/* with SO_PASSCRED every message carries SCM_CREDENTIALS: not ours to accept */
	assert_int_equal(setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	assert_int_equal(ddvm_ivshmem_send(sp[0], 1, efd), 0);
	assert_int_equal(ddvm_ivshmem_recv(sp[1], &v, &fd), -EPROTO);
	assert_int_equal(fd, -1);
	close(efd);
	end_test();
}

static void test_send_errors(void **state)
{
	struct timeval tmo = { .tv_usec = 100 * 1000 };
	char junk[4096] = { 0 };
	struct timespec t0, t1;
	long ms;

	/* a peer that never reads: the send times out instead of hanging */
	while (send(sp[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	assert_int_equal(setsockopt(sp[0], SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ddvm_ivshmem_send(sp[0], 1, -1), -EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 50 && ms < 2000);

	/* a peer that has gone: an error, and no SIGPIPE killing us */
	close(sp[1]);
	sp[1] = -1;
	assert_int_equal(ddvm_ivshmem_send(sp[0], 1, -1), -EPIPE);
	assert_int_equal(ddvm_ivshmem_send(-1, 1, -1), -EBADF);
	end_test();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_little_endian_on_wire, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_partial_send, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_short_reads, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_nonblocking, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_eof, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_two_fds_rejected, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_foreign_cmsg_rejected, setup_pair, teardown_pair),
		cmocka_unit_test_setup_teardown(test_send_errors, setup_pair, teardown_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
