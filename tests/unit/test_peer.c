// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the peer's checks on what a hub sends (host/lib/peer.c): a
 * fake hub on a socketpair sends good and bad setups and updates; every bad
 * one must fail with the right errno and a message, leaking no fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ivshmem_proto.h"
#include "peer.h"

static int hub_fd = -1;		/* the fake hub's end */
static int peer_fd = -1;	/* the peer's end, handed to ddvm_peer_attach() */
static int fds_before;

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

static int setup_pair(void **state)
{
	int sp[2];

	fds_before = count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		return -1;
	hub_fd = sp[0];
	peer_fd = sp[1];
	return 0;
}

static int teardown_pair(void **state)
{
	if (hub_fd >= 0)
		close(hub_fd);
	hub_fd = -1;
	return 0;
}

/* Every test ends here: the peer end is owned by the peer; nothing may leak. */
static void end_test(void)
{
	close(hub_fd);
	hub_fd = -1;
	assert_int_equal(count_fds(), fds_before);
}

static int memfd(off_t size)
{
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

/* The fake hub sends @v with @fd (which it then closes: the peer has its copy). */
static void hub_send(int64_t v, int fd)
{
	assert_int_equal(ddvm_ivshmem_send(hub_fd, v, fd), 0);
	if (fd >= 0)
		close(fd);
}

/* Version, id and region: the start every good setup shares. */
static void hub_send_start(unsigned int id, off_t size)
{
	hub_send(0, -1);
	hub_send(id, -1);
	hub_send(-1, memfd(size));
}

static void expect_attach_fails(int want, const char *needle)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;

	/* the hub has said all it will say */
	shutdown(hub_fd, SHUT_WR);
	assert_int_equal(ddvm_peer_attach(peer_fd, "fake", 1, &p, &err), want);
	assert_null(p);
	if (!strstr(err.msg, needle))
		fail_msg("expected \"%s\" in \"%s\"", needle, err.msg);
	assert_non_null(strstr(err.msg, "hub fake"));
}

static bool readable(int fd)
{
	uint64_t c;

	return read(fd, &c, sizeof(c)) == sizeof(c);
}

static void test_good_setup_and_updates(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;
	int e1[2], own[3], e5, v;
	size_t size;

	for (v = 0; v < 2; v++)
		e1[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (v = 0; v < 3; v++)
		own[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	hub_send_start(3, 128 << 10);
	for (v = 0; v < 2; v++)
		assert_int_equal(ddvm_ivshmem_send(hub_fd, 1, e1[v]), 0);
	/* three own vectors for a peer of two: the third is closed */
	for (v = 0; v < 3; v++)
		assert_int_equal(ddvm_ivshmem_send(hub_fd, 3, own[v]), 0);

	assert_int_equal(ddvm_peer_attach(peer_fd, "fake", 2, &p, &err), 0);
	assert_int_equal(ddvm_peer_id(p), 3);
	assert_true(ddvm_peer_has(p, 1));
	assert_true(ddvm_peer_has(p, 3));
	assert_false(ddvm_peer_has(p, 0));
	assert_non_null(ddvm_peer_region(p, &size));
	assert_int_equal(size, 128 << 10);

	/* doorbells are wired in vector order */
	assert_int_equal(ddvm_peer_notify(p, 1, 1), 0);
	assert_true(readable(e1[1]));
	assert_false(readable(e1[0]));
	assert_int_equal(write(own[1], &(uint64_t){ 1 }, 8), 8);
	assert_true(readable(ddvm_peer_doorbell_fd(p, 1)));
	assert_int_equal(ddvm_peer_doorbell_fd(p, 2), -ENOENT);

	/* the third own vector may still be in flight: process_hub closes it */
	assert_true(ddvm_peer_process_hub(p, &err) >= 0);
	/* later: 5 joins, 1 leaves, an unknown 9 leaves (harmless) */
	e5 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_int_equal(ddvm_ivshmem_send(hub_fd, 5, e5), 0);
	hub_send(1, -1);
	hub_send(9, -1);
	assert_int_equal(ddvm_peer_process_hub(p, &err), 3);
	assert_int_equal(ddvm_peer_process_hub(p, &err), 0);
	assert_true(ddvm_peer_has(p, 5));
	assert_false(ddvm_peer_has(p, 1));
	assert_int_equal(ddvm_peer_notify(p, 1, 0), -ENOENT);
	assert_int_equal(ddvm_peer_notify(p, 5, 0), 0);
	assert_true(readable(e5));
	assert_int_equal(ddvm_peer_notify(p, 5, 1), -ENOENT);

	/* the hub dies */
	close(hub_fd);
	hub_fd = -1;
	assert_int_equal(ddvm_peer_process_hub(p, &err), -ECONNRESET);
	assert_non_null(strstr(err.msg, "closed the connection"));
	assert_int_equal(ddvm_peer_hub_fd(p), -1);
	ddvm_peer_close(p);
	close(e5);
	for (v = 0; v < 2; v++)
		close(e1[v]);
	for (v = 0; v < 3; v++)
		close(own[v]);
	hub_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* for end_test */
	end_test();
}

static void test_bad_version(void **state)
{
	hub_send(1, -1);
	expect_attach_fails(-EPROTO, "protocol version 1");
	end_test();
}

static void test_version_with_fd(void **state)
{
	hub_send(0, eventfd(0, EFD_CLOEXEC));
	expect_attach_fails(-EPROTO, "version message carries an fd");
	end_test();
}

static void test_refused(void **state)
{
	hub_send(DDVM_IVSHMEM_REFUSE_FULL, -1);
	expect_attach_fails(-EUSERS, "refused us: the channel is full");
	end_test();
}

static void test_bad_ids(void **state)
{
	hub_send(0, -1);
	hub_send(65536, -1);
	expect_attach_fails(-EPROTO, "peer id 65536 is not in 0..65535");
	end_test();
}

static void test_negative_id(void **state)
{
	hub_send(0, -1);
	hub_send(-5, -1);
	expect_attach_fails(-EPROTO, "peer id -5");
	end_test();
}

static void test_region_not_pow2(void **state)
{
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, memfd(96 << 10));
	expect_attach_fails(-EPROTO, "size 98304 is not a power of two in 64K..16G");
	end_test();
}

static void test_region_too_small(void **state)
{
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, memfd(32 << 10));
	expect_attach_fails(-EPROTO, "size 32768");
	end_test();
}

static void test_region_is_pipe(void **state)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, p[0]);
	expect_attach_fails(-EPROTO, "not a memfd or regular file");
	end_test();
}

static void test_region_without_fd(void **state)
{
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, -1);
	expect_attach_fails(-EPROTO, "shared memory message without an fd");
	end_test();
}

static void test_region_read_only(void **state)
{
	char path[64];
	int m = memfd(64 << 10), ro;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", m);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(ro >= 0);
	close(m);
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, ro);
	expect_attach_fails(-EACCES, "cannot map 65536 bytes of shared memory");
	end_test();
}

static void test_region_write_sealed(void **state)
{
	int m = memfd(64 << 10);

	assert_int_equal(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE), 0);
	hub_send(0, -1);
	hub_send(0, -1);
	hub_send(-1, m);
	expect_attach_fails(-EPERM, "cannot map");
	end_test();
}

static void test_second_region(void **state)
{
	hub_send_start(0, 64 << 10);
	hub_send(-1, memfd(64 << 10));
	expect_attach_fails(-EPROTO, "second shared memory fd");
	end_test();
}

static void test_doorbell_not_eventfd(void **state)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	hub_send_start(0, 64 << 10);
	hub_send(0, p[1]);
	expect_attach_fails(-EPROTO, "doorbell for peer 0 is not an eventfd");
	end_test();
}

static void test_told_we_left(void **state)
{
	hub_send_start(2, 64 << 10);
	hub_send(2, -1);
	expect_attach_fails(-EPROTO, "told us that we (peer 2) left");
	end_test();
}

static void test_invalid_message(void **state)
{
	hub_send_start(0, 64 << 10);
	hub_send(70000, eventfd(0, EFD_CLOEXEC));
	expect_attach_fails(-EPROTO, "invalid message 70000");
	end_test();
}

static void test_eof_in_setup(void **state)
{
	hub_send(0, -1);
	hub_send(0, -1);
	expect_attach_fails(-ECONNRESET, "closed the connection before sending the shared memory");
	end_test();
}

/* After setup, the region again is a protocol error, and the connection goes. */
static void test_region_again_later(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;

	hub_send_start(0, 64 << 10);
	hub_send(0, eventfd(0, EFD_CLOEXEC));
	assert_int_equal(ddvm_peer_attach(peer_fd, "fake", 1, &p, &err), 0);
	hub_send(-1, memfd(64 << 10));
	assert_int_equal(ddvm_peer_process_hub(p, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "sent shared memory again"));
	assert_int_equal(ddvm_peer_hub_fd(p), -1);
	assert_int_equal(ddvm_peer_process_hub(p, &err), -ECONNRESET);
	/* what we had stays usable */
	assert_int_equal(ddvm_peer_notify(p, 0, 0), 0);
	assert_true(readable(ddvm_peer_doorbell_fd(p, 0)));
	ddvm_peer_close(p);
	end_test();
}

/* A hub announcing more peers than we track is an error, not unbounded memory. */
static void test_too_many_peers(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;
	unsigned int id;
	int ret = 0;

	hub_send_start(0, 64 << 10);
	hub_send(0, eventfd(0, EFD_CLOEXEC));
	assert_int_equal(ddvm_peer_attach(peer_fd, "fake", 1, &p, &err), 0);
	for (id = 1; id <= DDVM_PEER_MAX_PEERS + 1 && ret >= 0; id++) {
		hub_send(id, eventfd(0, EFD_CLOEXEC));
		if (id % 64 == 0 || id == DDVM_PEER_MAX_PEERS + 1)
			ret = ddvm_peer_process_hub(p, &err);
	}
	assert_int_equal(ret, -EPROTO);
	assert_non_null(strstr(err.msg, "more than 1024 peers"));
	ddvm_peer_close(p);
	end_test();
}

static void test_bad_vectors_arg(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;

	assert_int_equal(ddvm_peer_attach(peer_fd, "fake", 0, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "0 vectors"));
	assert_int_equal(ddvm_peer_connect("/nonexistent/x.sock", &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/x.sock"));
	end_test();
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_setup_and_updates),
		T(test_bad_version),
		T(test_version_with_fd),
		T(test_refused),
		T(test_bad_ids),
		T(test_negative_id),
		T(test_region_not_pow2),
		T(test_region_too_small),
		T(test_region_is_pipe),
		T(test_region_without_fd),
		T(test_region_read_only),
		T(test_region_write_sealed),
		T(test_second_region),
		T(test_doorbell_not_eventfd),
		T(test_told_we_left),
		T(test_invalid_message),
		T(test_eof_in_setup),
		T(test_region_again_later),
		T(test_too_many_peers),
		T(test_bad_vectors_arg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
