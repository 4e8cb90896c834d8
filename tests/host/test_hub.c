// SPDX-License-Identifier: GPL-2.0
/* Host-only end-to-end tests of the real ddvm hub with host peers (libddvm's peer.c). */
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hub_spawn.h"
#include "ivshmem_proto.h"
#include "peer.h"

static struct hub_spawn hub;

static int teardown_hub(void **state)
{
	hub_spawn_cleanup(&hub);
	return 0;
}

static void start_hub(const char *const *opts, const char *const *channels)
{
	if (hub_spawn_start(&hub, opts, channels))
		fail_msg("cannot start the hub: %s", hub.why);
}

static struct ddvm_peer *connect_v(const char *chan, unsigned int vectors)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;
	char path[128];
	int ret;

	ret = ddvm_peer_connect_vectors(hub_spawn_sock(&hub, chan, path, sizeof(path)), vectors,
					&p, &err);
	if (ret)
		fail_msg("connect to %s: %d: %s", path, ret, err.msg);
	return p;
}

static struct ddvm_peer *connect_to(const char *chan)
{
	return connect_v(chan, 1);
}

/* Process hub messages until peer @id is (or is no longer) known, up to @ms. */
static bool wait_has(struct ddvm_peer *p, unsigned int id, bool want, int ms)
{
	struct ddvm_err err = { "" };

	while (ddvm_peer_has(p, id) != want) {
		struct pollfd pfd = { .fd = ddvm_peer_hub_fd(p), .events = POLLIN };

		if (pfd.fd < 0 || poll(&pfd, 1, ms) <= 0)
			return false;
		if (ddvm_peer_process_hub(p, &err) < 0) {
			print_error("process_hub: %s\n", err.msg);
			return false;
		}
	}
	return true;
}

/* Whether our doorbell @vector rang within @ms; reading it re-arms it. */
static bool rang(struct ddvm_peer *p, unsigned int vector, int ms)
{
	struct pollfd pfd = { .fd = ddvm_peer_doorbell_fd(p, vector), .events = POLLIN };
	uint64_t count;

	if (pfd.fd < 0 || poll(&pfd, 1, ms) <= 0)
		return false;
	return read(pfd.fd, &count, sizeof(count)) == sizeof(count) && count > 0;
}

static bool fd_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

static const char *const ch_c[] = { "c=1M", NULL };

static void test_share_region_and_doorbells(void **state)
{
	struct ddvm_peer *a, *b;
	size_t sa, sb;
	char *ra, *rb;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	assert_int_equal(ddvm_peer_id(a), 0);
	assert_int_equal(ddvm_peer_id(b), 1);
	/* b learnt of a during setup; a learns of b from a later message */
	assert_true(ddvm_peer_has(b, 0));
	assert_true(wait_has(a, 1, true, 2000));

	ra = ddvm_peer_region(a, &sa);
	rb = ddvm_peer_region(b, &sb);
	assert_int_equal(sa, 1 << 20);
	assert_int_equal(sb, 1 << 20);
	strcpy(ra + 4096, "written by a");
	assert_string_equal(rb + 4096, "written by a");
	rb[sb - 1] = 'z';
	assert_int_equal(ra[sa - 1], 'z');

	assert_false(rang(b, 0, 0));
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);
	assert_true(rang(b, 0, 1000));
	assert_false(rang(a, 0, 0));
	assert_int_equal(ddvm_peer_notify(b, 0, 0), 0);
	assert_true(rang(a, 0, 1000));
	assert_false(rang(b, 0, 0));

	/* unknown peers and vectors are errors, not crashes */
	assert_int_equal(ddvm_peer_notify(a, 7, 0), -ENOENT);
	assert_int_equal(ddvm_peer_notify(a, 1, 1), -ENOENT);
	assert_int_equal(ddvm_peer_doorbell_fd(a, 1), -ENOENT);

	assert_true(hub_spawn_log_has(&hub, "channel c: peer 0 connected"));
	assert_true(hub_spawn_log_has(&hub, "channel c: peer 1 connected"));
	ddvm_peer_close(b);
	assert_true(wait_has(a, 1, false, 2000));
	assert_true(hub_spawn_log_wait(&hub, "channel c: peer 1 disconnected: hung up", 2000));
	ddvm_peer_close(a);
}

static int raw_connect(const char *chan)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tmo = { .tv_sec = 2 };
	int s;

	hub_spawn_sock(&hub, chan, sun.sun_path, sizeof(sun.sun_path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)), 0);
	return s;
}

/* Receive one message and check its value and whether it has an fd; return the fd. */
static int expect_msg(int s, int64_t want, bool with_fd)
{
	int64_t v = INT64_MIN;
	int fd = -1;

	assert_int_equal(ddvm_ivshmem_recv(s, &v, &fd), 0);
	assert_int_equal(v, want);
	if (with_fd)
		assert_true(fd >= 0);
	else
		assert_int_equal(fd, -1);
	return fd;
}

/* The exact sequence QEMU's ivshmem device expects, seen on raw sockets. */
static void test_exact_message_sequence(void **state)
{
	static const char *const opts[] = { "--vectors", "2", "--max-peers", "3", NULL };
	static const char *const chans[] = { "q=64K", NULL };
	int r1, r2, r3, shm1, shm2, own1[2], own2[2], r1_to_2[2], r2_to_1[2], fd, v;
	struct stat st1, st2;
	uint64_t one = 1, cnt;

	start_hub(opts, chans);
	r1 = raw_connect("q");
	expect_msg(r1, 0, false);		/* version */
	expect_msg(r1, 0, false);		/* its id */
	shm1 = expect_msg(r1, -1, true);	/* the region */
	assert_int_equal(fstat(shm1, &st1), 0);
	assert_true(S_ISREG(st1.st_mode));
	assert_int_equal(st1.st_size, 64 << 10);
	assert_int_equal(fcntl(shm1, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	for (v = 0; v < 2; v++)
		own1[v] = expect_msg(r1, 0, true);
	assert_false(fd_readable(r1, 100));

	r2 = raw_connect("q");
	expect_msg(r2, 0, false);
	expect_msg(r2, 1, false);
	shm2 = expect_msg(r2, -1, true);
	assert_int_equal(fstat(shm2, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev);
	for (v = 0; v < 2; v++)
		r2_to_1[v] = expect_msg(r2, 0, true);
	for (v = 0; v < 2; v++)
		own2[v] = expect_msg(r2, 1, true);
	for (v = 0; v < 2; v++)
		r1_to_2[v] = expect_msg(r1, 1, true);

	/* vector 1 of peer 1 rings exactly peer 1's own vector 1 */
	assert_int_equal(write(r1_to_2[1], &one, sizeof(one)), sizeof(one));
	assert_true(fd_readable(own2[1], 1000));
	assert_false(fd_readable(own2[0], 0));
	assert_int_equal(read(own2[1], &cnt, sizeof(cnt)), sizeof(cnt));
	assert_int_equal(write(r2_to_1[0], &one, sizeof(one)), sizeof(one));
	assert_true(fd_readable(own1[0], 1000));
	assert_false(fd_readable(own1[1], 0));

	/*
	 * A departure is the bare id.  r1 saw 1 leave, so 1 is not reused
	 * (QEMU would write through its freed doorbells): the newcomer is 2.
	 */
	close(r2);
	expect_msg(r1, 1, false);
	r3 = raw_connect("q");
	expect_msg(r3, 0, false);
	expect_msg(r3, 2, false);
	fd = expect_msg(r3, -1, true);
	close(fd);
	for (v = 0; v < 2; v++)
		close(expect_msg(r3, 0, true));
	for (v = 0; v < 2; v++)
		close(expect_msg(r3, 2, true));
	for (v = 0; v < 2; v++)
		close(expect_msg(r1, 2, true));
	assert_false(fd_readable(r1, 100));
	assert_false(fd_readable(r3, 0));

	close(r1);
	close(r3);
	close(shm1);
	close(shm2);
	for (v = 0; v < 2; v++) {
		close(own1[v]);
		close(own2[v]);
		close(r1_to_2[v]);
		close(r2_to_1[v]);
	}
}

static void test_multiple_vectors(void **state)
{
	static const char *const opts[] = { "--vectors", "3", NULL };
	struct ddvm_peer *a, *b;

	start_hub(opts, ch_c);
	a = connect_v("c", 3);
	/* like QEMU with fewer vectors: the extra fds are closed */
	b = connect_v("c", 1);
	assert_true(wait_has(a, 1, true, 2000));
	assert_true(ddvm_peer_doorbell_fd(a, 2) >= 0);
	assert_int_equal(ddvm_peer_doorbell_fd(b, 1), -ENOENT);
	assert_int_equal(ddvm_peer_notify(b, 0, 2), -ENOENT);

	assert_int_equal(ddvm_peer_notify(b, 0, 0), 0);
	assert_true(rang(a, 0, 1000));
	assert_false(rang(a, 1, 0));
	assert_false(rang(a, 2, 0));
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);
	assert_true(rang(b, 0, 1000));
	/* ringing oneself works as on QEMU */
	assert_int_equal(ddvm_peer_notify(a, 0, 2), 0);
	assert_true(rang(a, 2, 1000));
	ddvm_peer_close(a);
	ddvm_peer_close(b);
}

/* A peer wanting more vectors than the hub hands out says so instead of hanging. */
static void test_too_few_vectors(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *p = NULL;
	char path[128];

	start_hub(NULL, ch_c);
	assert_int_equal(ddvm_peer_connect_vectors(hub_spawn_sock(&hub, "c", path, sizeof(path)),
						   2, &p, &err), -ETIMEDOUT);
	assert_null(p);
	assert_non_null(strstr(err.msg, "our doorbell 2 of 2 (does the hub have fewer --vectors?)"));
}

static void test_third_peer_refused(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *a, *b, *c = NULL;
	char path[128];

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	assert_int_equal(ddvm_peer_connect(hub_spawn_sock(&hub, "c", path, sizeof(path)), &c,
					   &err), -EUSERS);
	assert_null(c);
	assert_non_null(strstr(err.msg, "full"));
	assert_true(hub_spawn_log_wait(&hub, "channel c: full (2 peers), refusing", 2000));
	/* the refused one changed nothing for the others */
	assert_true(wait_has(a, 1, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);
	assert_true(rang(b, 0, 1000));

	/* a slot is free again once b left; a saw 1 leave, so c is 2 */
	ddvm_peer_close(b);
	assert_true(wait_has(a, 1, false, 2000));
	c = connect_to("c");
	assert_int_equal(ddvm_peer_id(c), 2);
	assert_true(wait_has(a, 2, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 2, 0), 0);
	assert_true(rang(c, 0, 1000));
	ddvm_peer_close(c);
	ddvm_peer_close(a);
}

/*
 * A new peer gets the smallest id that is free and that no connected peer
 * saw leave: QEMU's ivshmem device keeps a dangling pointer to a departed
 * peer's doorbells and writes through it if that id joins again.
 */
static void test_id_rule(void **state)
{
	static const char *const opts[] = { "--max-peers", "5", NULL };
	struct ddvm_peer *a, *b, *c, *d, *e;

	start_hub(opts, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	assert_int_equal(ddvm_peer_id(a), 0);
	assert_int_equal(ddvm_peer_id(b), 1);
	/* once a saw 1 come and go, the next peer gets 2, not 1 */
	assert_true(wait_has(a, 1, true, 2000));
	ddvm_peer_close(b);
	assert_true(wait_has(a, 1, false, 2000));
	c = connect_to("c");
	assert_int_equal(ddvm_peer_id(c), 2);
	assert_true(wait_has(a, 2, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 2, 0), 0);
	assert_true(rang(c, 0, 1000));
	assert_int_equal(ddvm_peer_notify(c, 0, 0), 0);
	assert_true(rang(a, 0, 1000));

	/*
	 * Only c is left.  It joined after 1 left, so 1 is reused; it saw 0
	 * leave, so 0 is not, and the one after is past the live 2.
	 */
	ddvm_peer_close(a);
	assert_true(wait_has(c, 0, false, 2000));
	d = connect_to("c");
	assert_int_equal(ddvm_peer_id(d), 1);
	e = connect_to("c");
	assert_int_equal(ddvm_peer_id(e), 3);
	/* the reused id is wired to the new peer's doorbells */
	assert_true(wait_has(c, 1, true, 2000));
	assert_int_equal(ddvm_peer_notify(c, 1, 0), 0);
	assert_true(rang(d, 0, 1000));
	assert_false(rang(e, 0, 0));
	assert_int_equal(ddvm_peer_notify(e, 1, 0), 0);
	assert_true(rang(d, 0, 1000));
	assert_false(ddvm_peer_has(e, 0));

	/* an empty channel has no one who saw anything: ids start at 0 again */
	ddvm_peer_close(c);
	ddvm_peer_close(d);
	ddvm_peer_close(e);
	assert_true(hub_spawn_log_wait(&hub, "(0 peers left)", 2000));
	a = connect_to("c");
	assert_int_equal(ddvm_peer_id(a), 0);
	b = connect_to("c");
	assert_int_equal(ddvm_peer_id(b), 1);
	assert_true(wait_has(a, 1, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);
	assert_true(rang(b, 0, 1000));
	ddvm_peer_close(b);
	ddvm_peer_close(a);
}

/* Whether the last 64K of the hub's log (which can be long) contain @needle. */
static bool log_tail_has(const char *needle)
{
	static char buf[64 << 10];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(hub.log, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	n = pread(fd, buf, sizeof(buf) - 1,
		  st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}

/*
 * While one peer stays, every departure uses up an id for good.  Once all
 * 65536 are, newcomers are refused -- cleanly, as for a full channel --
 * until that peer goes.  Raw sockets, as 65535 joins must be quick.
 */
static void test_ids_run_out(void **state)
{
	int r, x, id;

	start_hub(NULL, ch_c);
	r = raw_connect("c");
	expect_msg(r, 0, false);
	expect_msg(r, 0, false);
	close(expect_msg(r, -1, true));
	close(expect_msg(r, 0, true));
	for (id = 1; id <= DDVM_IVSHMEM_MAX_ID; id++) {
		x = raw_connect("c");
		expect_msg(x, 0, false);
		expect_msg(x, id, false);
		close(expect_msg(x, -1, true));
		close(expect_msg(x, 0, true));
		close(expect_msg(x, id, true));
		close(x);
		close(expect_msg(r, id, true));
		expect_msg(r, id, false);	/* r saw it leave: never handed out again */
	}

	x = raw_connect("c");
	expect_msg(x, DDVM_IVSHMEM_REFUSE_FULL, false);
	close(x);
	assert_true(log_tail_has("channel c: no peer id left that the connected peers can take"));
	/* the refusal changed nothing for r */
	assert_false(fd_readable(r, 100));

	/* with r gone nobody saw anything: 0 again */
	close(r);
	x = raw_connect("c");
	expect_msg(x, 0, false);
	expect_msg(x, 0, false);
	close(expect_msg(x, -1, true));
	close(expect_msg(x, 0, true));
	close(x);
}

/*
 * The DD/OS-restart race, made deterministic: with the hub stopped, the new
 * DD/OS connects and only then does its predecessor's socket hang up, so
 * the hub sees the full channel before the hang-up.
 */
static void test_restart_race(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *a, *b, *c = NULL;
	char path[128];
	int st, s;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	assert_true(wait_has(a, 1, true, 2000));

	assert_int_equal(kill(hub.pid, SIGSTOP), 0);
	assert_int_equal(waitpid(hub.pid, &st, WUNTRACED), hub.pid);
	assert_true(WIFSTOPPED(st));
	s = raw_connect("c");		/* queued in the backlog: the listener is ready */
	ddvm_peer_close(b);		/* only now does the old one hang up */
	assert_int_equal(kill(hub.pid, SIGCONT), 0);

	/* accepted into the slot of the dead one, under a new id: a saw 1 leave */
	assert_int_equal(ddvm_peer_attach(s, hub_spawn_sock(&hub, "c", path, sizeof(path)), 1,
					  &c, &err), 0);
	assert_int_equal(ddvm_peer_id(c), 2);
	assert_true(hub_spawn_log_has(&hub, "peer 1 disconnected: hung up (found while accepting"));
	assert_false(hub_spawn_log_has(&hub, "refusing"));

	/* a saw 1 leave and 2 come, and reaches the new one */
	assert_true(wait_has(a, 1, false, 2000));
	assert_true(wait_has(a, 2, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 2, 0), 0);
	assert_true(rang(c, 0, 1000));
	assert_int_equal(ddvm_peer_notify(c, 0, 0), 0);
	assert_true(rang(a, 0, 1000));
	ddvm_peer_close(c);
	ddvm_peer_close(a);
}

/* The same race as it happens: close and reconnect at once, many times. */
static void test_restart_race_loop(void **state)
{
	struct ddvm_peer *a, *b;
	int i;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	/* never refused, and never an id a saw leave: 2, 3, ... */
	for (i = 0; i < 50; i++) {
		ddvm_peer_close(b);
		b = connect_to("c");
		assert_int_equal(ddvm_peer_id(b), i + 2);
	}
	assert_true(hub_spawn_log_has(&hub, "channel c: peer 51 connected"));
	assert_false(hub_spawn_log_has(&hub, "refusing"));
	assert_true(wait_has(a, 51, true, 2000));
	assert_int_equal(ddvm_peer_notify(a, 51, 0), 0);
	assert_true(rang(b, 0, 1000));
	ddvm_peer_close(b);
	ddvm_peer_close(a);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_channels_isolated(void **state)
{
	static const char *const chans[] = { "x=64K", "y=128K", NULL };
	struct ddvm_peer *ax, *bx, *ay, *by;
	unsigned char *rx, *ry;
	size_t sx, sy;

	start_hub(NULL, chans);
	ax = connect_to("x");
	ay = connect_to("y");
	/* both are peer 0, each of its own channel */
	assert_int_equal(ddvm_peer_id(ax), 0);
	assert_int_equal(ddvm_peer_id(ay), 0);
	rx = ddvm_peer_region(ax, &sx);
	ry = ddvm_peer_region(ay, &sy);
	assert_int_equal(sx, 64 << 10);
	assert_int_equal(sy, 128 << 10);
	memset(rx, 0xa5, sx);
	assert_true(all_zero(ry, sy));
	memset(ry, 0x5a, sy);
	assert_int_equal(rx[0], 0xa5);
	assert_int_equal(rx[sx - 1], 0xa5);

	bx = connect_to("x");
	by = connect_to("y");
	assert_int_equal(ddvm_peer_id(bx), 1);
	assert_int_equal(ddvm_peer_id(by), 1);
	/* bx sees x's peers only; ringing x's peer 1 never wakes y's peer 1 */
	assert_true(wait_has(ax, 1, true, 2000));
	assert_int_equal(ddvm_peer_notify(ax, 1, 0), 0);
	assert_true(rang(bx, 0, 1000));
	assert_false(rang(by, 0, 200));
	assert_true(wait_has(ay, 1, true, 2000));
	assert_int_equal(ddvm_peer_notify(ay, 1, 0), 0);
	assert_true(rang(by, 0, 1000));
	assert_false(rang(bx, 0, 200));
	ddvm_peer_close(bx);
	/* y hears nothing of x's departures */
	assert_true(wait_has(ax, 1, false, 2000));
	assert_false(fd_readable(ddvm_peer_hub_fd(ay), 200));
	assert_true(ddvm_peer_has(ay, 1));
	ddvm_peer_close(ax);
	ddvm_peer_close(ay);
	ddvm_peer_close(by);
}

static void test_region_survives(void **state)
{
	struct ddvm_peer *a, *b, *c;
	char *r;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	strcpy(ddvm_peer_region(a, NULL), "server state");
	strcpy((char *)ddvm_peer_region(b, NULL) + 65536, "client state");
	ddvm_peer_close(a);
	ddvm_peer_close(b);
	assert_true(hub_spawn_log_wait(&hub, "(0 peers left)", 2000));
	c = connect_to("c");
	assert_int_equal(ddvm_peer_id(c), 0);
	r = ddvm_peer_region(c, NULL);
	assert_string_equal(r, "server state");
	assert_string_equal(r + 65536, "client state");
	ddvm_peer_close(c);
}

static void test_hub_stops(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_peer *a, *b;
	char path[128];
	int st;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	b = connect_to("c");
	assert_true(wait_has(a, 1, true, 2000));
	assert_int_equal(hub_spawn_stop(&hub, SIGTERM, &st), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(access(hub_spawn_sock(&hub, "c", path, sizeof(path)), F_OK), -1);
	assert_true(hub_spawn_log_has(&hub, "stopping on signal"));

	assert_true(fd_readable(ddvm_peer_hub_fd(a), 1000));
	assert_int_equal(ddvm_peer_process_hub(a, &err), -ECONNRESET);
	assert_non_null(strstr(err.msg, "closed"));
	assert_int_equal(ddvm_peer_hub_fd(a), -1);
	assert_int_equal(ddvm_peer_process_hub(a, NULL), -ECONNRESET);
	/* without the hub, the peers keep their region and doorbells */
	assert_int_equal(ddvm_peer_notify(a, 1, 0), 0);
	assert_true(rang(b, 0, 1000));
	ddvm_peer_close(a);
	ddvm_peer_close(b);

	/* SIGINT too, and connecting to a hub that is gone says so */
	hub_spawn_cleanup(&hub);
	start_hub(NULL, ch_c);
	hub_spawn_sock(&hub, "c", path, sizeof(path));
	assert_int_equal(hub_spawn_stop(&hub, SIGINT, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	a = NULL;
	assert_int_equal(ddvm_peer_connect(path, &a, &err), -ENOENT);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "is the hub running?"));
}

/* A peer that never reads must not wedge the hub: it is dropped. */
static void test_stuck_peer_dropped(void **state)
{
	static const char *const opts[] = { "--max-peers", "3", NULL };
	struct ddvm_peer *a, *x;
	time_t end = time(NULL) + 30;
	int r, i;

	start_hub(opts, ch_c);
	r = raw_connect("c");		/* peer 0, never reads */
	a = connect_to("c");		/* peer 1 */
	/*
	 * Every join and leave is two more messages for r, until its socket is
	 * full.  a sees every x leave, so each x gets a new id.
	 */
	for (i = 0; !hub_spawn_log_has(&hub, "peer 0 disconnected: send failed"); i++) {
		if (time(NULL) > end)
			fail_msg("hub still has the stuck peer after %d joins", i);
		x = connect_to("c");
		assert_int_equal(ddvm_peer_id(x), i + 2);
		ddvm_peer_close(x);
	}
	assert_true(hub_spawn_log_has(&hub, "peer did not read for 1 s"));
	/* the hub still serves, and told the others; a saw 0 leave too */
	assert_true(wait_has(a, 0, false, 3000));
	x = connect_to("c");
	assert_int_equal(ddvm_peer_id(x), i + 2);
	assert_false(ddvm_peer_has(x, 0));
	assert_int_equal(ddvm_peer_notify(x, 1, 0), 0);
	assert_true(rang(a, 0, 1000));
	ddvm_peer_close(x);
	ddvm_peer_close(a);
	close(r);
}

/* Peers never send: one that does is dropped, the others are told. */
static void test_chatty_peer_dropped(void **state)
{
	struct ddvm_peer *a;
	int r;

	start_hub(NULL, ch_c);
	a = connect_to("c");
	r = raw_connect("c");
	assert_true(wait_has(a, 1, true, 2000));
	assert_int_equal(write(r, "hello", 5), 5);
	assert_true(wait_has(a, 1, false, 2000));
	assert_true(hub_spawn_log_has(&hub, "peer 1 disconnected: sent data"));
	close(r);
	ddvm_peer_close(a);
}

static void expect_run_fails(const char *const *argv, bool as_nobody, const char *needle)
{
	char out[4096];
	int st;

	st = hub_spawn_run(argv, as_nobody, out, sizeof(out));
	assert_true(st >= 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 0)
		fail_msg("ddvm %s %s ... did not fail (status %#x): %s", argv[0], argv[1], st, out);
	if (!strstr(out, needle))
		fail_msg("expected \"%s\" in: %s", needle, out);
}

static void test_bad_args(void **state)
{
	char dir[] = "/tmp/ddvm-hubargs.XXXXXX", path[256], longdir[200];
	int fd;

	assert_non_null(mkdtemp(dir));
	{
		const char *a[] = { "hub", dir, "x=100K", NULL };

		expect_run_fails(a, false, "channel 'x=100K': size \"100K\" is not a power of two");
	}
	{
		const char *a[] = { "hub", dir, "ok=1M", "small=32K", NULL };

		expect_run_fails(a, false, "'small=32K': size \"32K\" is smaller than 64K");
	}
	{
		const char *a[] = { "hub", dir, "x=32G", NULL };

		expect_run_fails(a, false, "larger than 16G");
	}
	{
		const char *a[] = { "hub", dir, "x=1Mb", NULL };

		expect_run_fails(a, false, "bad size \"1Mb\"");
	}
	{
		const char *a[] = { "hub", dir, "justaname", NULL };

		expect_run_fails(a, false, "'justaname': expected NAME=SIZE");
	}
	{
		const char *a[] = { "hub", dir, "../evil=1M", NULL };

		expect_run_fails(a, false, "'../evil=1M': name must be");
	}
	{
		const char *a[] = { "hub", dir, "x=1M", "x=64K", NULL };

		expect_run_fails(a, false, "channel x is given twice");
	}
	{
		const char *a[] = { "hub", "--max-peers", "0", dir, "x=1M", NULL };

		expect_run_fails(a, false, "max-peers 0");
	}
	{
		const char *a[] = { "hub", "--vectors", "x", dir, "x=1M", NULL };

		expect_run_fails(a, false, "--vectors 'x' is not a number");
	}
	{
		const char *a[] = { "hub", "--ready-fd", "999", dir, "x=1M", NULL };

		expect_run_fails(a, false, "--ready-fd 999: Bad file descriptor");
	}
	{
		const char *a[] = { "hub", dir, NULL };

		expect_run_fails(a, false, "need a socket directory and at least one NAME=SIZE");
	}
	/* a directory root owns and nobody may not write */
	assert_int_equal(chmod(dir, 0755), 0);
	{
		const char *a[] = { "hub", dir, "x=1M", NULL };

		snprintf(path, sizeof(path), "cannot create socket %s/x.sock: Permission denied",
			 dir);
		expect_run_fails(a, true, path);
	}
	{
		const char *a[] = { "hub", "/nonexistent-dir", "x=1M", NULL };

		expect_run_fails(a, false, "/nonexistent-dir/x.sock: No such file or directory");
	}
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	{
		const char *a[] = { "hub", longdir, "x=1M", NULL };

		expect_run_fails(a, false, "x.sock is too long");
	}
	/* something that is not a socket is never replaced */
	snprintf(path, sizeof(path), "%s/f.sock", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	{
		const char *a[] = { "hub", dir, "f=1M", NULL };

		expect_run_fails(a, false, "f.sock exists and is not a socket");
	}
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

/* A memfd the test keeps (no O_CLOEXEC: the hub inherits it), @size bytes. */
static int region_fd(size_t size, unsigned int seals)
{
	int fd = memfd_create("ddvm-test", MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

/*
 * NAME=SIZE@fd:N: the hub serves the region its starter made, so the
 * starter (the supervisor) sees what the peers write, and vice versa.
 */
static void test_inherited_region(void **state)
{
	char arg[64], arg2[64], path[128];
	const char *chans[] = { arg, arg2, NULL };
	struct ddvm_peer *a;
	char *mine, *r;
	size_t size;
	int fd, fd2;

	fd = region_fd(1 << 20, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	fd2 = region_fd(64 << 10, 0);	/* unsealed: the hub seals it */
	mine = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mine != MAP_FAILED);
	strcpy(mine + 8192, "made by the starter");
	snprintf(arg, sizeof(arg), "c=1M@fd:%d", fd);
	snprintf(arg2, sizeof(arg2), "d=64K@fd:%d", fd2);
	start_hub(NULL, chans);
	assert_true(hub_spawn_log_has(&hub, "region 1M (inherited)"));
	a = connect_to("c");
	r = ddvm_peer_region(a, &size);
	assert_int_equal(size, 1 << 20);
	assert_string_equal(r + 8192, "made by the starter");
	strcpy(r + 65536, "written by a peer");
	assert_string_equal(mine + 65536, "written by a peer");
	ddvm_peer_close(a);
	/* the hub sealed the unsealed one: nobody resizes a peer's region */
	assert_true(fcntl(fd2, F_GET_SEALS) & F_SEAL_GROW);
	assert_int_not_equal(ftruncate(fd2, 1 << 20), 0);
	a = connect_to("d");
	assert_string_equal(hub_spawn_sock(&hub, "d", path, sizeof(path)) + strlen(hub.dir),
			    "/d.sock");
	ddvm_peer_region(a, &size);
	assert_int_equal(size, 64 << 10);
	ddvm_peer_close(a);
	munmap(mine, 1 << 20);
	close(fd);
	close(fd2);
}

static void test_inherited_region_errors(void **state)
{
	char dir[] = "/tmp/ddvm-hubfd.XXXXXX", a1[64], a2[64], cmd[64];
	int fd, ro, small, pfd[2];

	assert_non_null(mkdtemp(dir));
	fd = region_fd(1 << 20, 0);
	ro = region_fd(1 << 20, F_SEAL_WRITE);
	small = region_fd(64 << 10, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(pipe(pfd), 0);
	{
		const char *a[] = { "hub", dir, "x=1M@fd:", NULL };

		expect_run_fails(a, false, "'x=1M@fd:': expected NAME=SIZE or NAME=SIZE@fd:N");
	}
	{
		const char *a[] = { "hub", dir, "x=1M@7", NULL };

		expect_run_fails(a, false, "expected NAME=SIZE or NAME=SIZE@fd:N");
	}
	{
		const char *a[] = { "hub", dir, "x=1M@fd:3x", NULL };

		expect_run_fails(a, false, "expected NAME=SIZE or NAME=SIZE@fd:N");
	}
	{
		const char *a[] = { "hub", dir, "x=1000@fd:3", NULL };

		expect_run_fails(a, false, "size \"1000\" is not a power of two");
	}
	{
		const char *a[] = { "hub", dir, "x=1M@fd:999", NULL };

		expect_run_fails(a, false, "channel x: region fd 999: Bad file descriptor");
	}
	snprintf(a1, sizeof(a1), "x=1M@fd:%d", small);
	{
		const char *a[] = { "hub", dir, a1, NULL };

		expect_run_fails(a, false, "channel x: region fd");
		expect_run_fails(a, false, "has 65536 bytes, the channel 1048576");
	}
	snprintf(a1, sizeof(a1), "x=1M@fd:%d", ro);
	{
		const char *a[] = { "hub", dir, a1, NULL };

		expect_run_fails(a, false, "sealed read-only");
	}
	snprintf(a1, sizeof(a1), "x=64K@fd:%d", pfd[0]);
	{
		const char *a[] = { "hub", dir, a1, NULL };

		expect_run_fails(a, false, "is not a memfd");
	}
	/* one region for two channels would join their clients */
	snprintf(a1, sizeof(a1), "x=1M@fd:%d", fd);
	snprintf(a2, sizeof(a2), "y=1M@fd:%d", fd);
	{
		const char *a[] = { "hub", dir, a1, a2, NULL };

		expect_run_fails(a, false, "channel y: its region is also channel x's");
	}
	close(fd);
	close(ro);
	close(small);
	close(pfd[0]);
	close(pfd[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A socket left by a hub that died is replaced; a live hub's is not taken over. */
static void test_stale_and_live_sockets(void **state)
{
	char dir[] = "/tmp/ddvm-hubtest.XXXXXX";
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ddvm_peer *p;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/c.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	if (hub_spawn_start_in(&hub, dir, NULL, ch_c))
		fail_msg("hub did not replace a stale socket: %s", hub.why);
	p = connect_to("c");
	ddvm_peer_close(p);
	{
		const char *a[] = { "hub", hub.dir, "c=1M", NULL };

		expect_run_fails(a, false, "c.sock: another hub is listening on it");
	}
	/* and the first hub still serves */
	p = connect_to("c");
	ddvm_peer_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_share_region_and_doorbells, teardown_hub),
		cmocka_unit_test_teardown(test_exact_message_sequence, teardown_hub),
		cmocka_unit_test_teardown(test_multiple_vectors, teardown_hub),
		cmocka_unit_test_teardown(test_too_few_vectors, teardown_hub),
		cmocka_unit_test_teardown(test_third_peer_refused, teardown_hub),
		cmocka_unit_test_teardown(test_id_rule, teardown_hub),
		cmocka_unit_test_teardown(test_ids_run_out, teardown_hub),
		cmocka_unit_test_teardown(test_restart_race, teardown_hub),
		cmocka_unit_test_teardown(test_restart_race_loop, teardown_hub),
		cmocka_unit_test_teardown(test_channels_isolated, teardown_hub),
		cmocka_unit_test_teardown(test_region_survives, teardown_hub),
		cmocka_unit_test_teardown(test_hub_stops, teardown_hub),
		cmocka_unit_test_teardown(test_stuck_peer_dropped, teardown_hub),
		cmocka_unit_test_teardown(test_chatty_peer_dropped, teardown_hub),
		cmocka_unit_test_teardown(test_bad_args, teardown_hub),
		cmocka_unit_test_teardown(test_stale_and_live_sockets, teardown_hub),
		cmocka_unit_test_teardown(test_inherited_region, teardown_hub),
		cmocka_unit_test_teardown(test_inherited_region_errors, teardown_hub),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
