// SPDX-License-Identifier: GPL-2.0
/*
 * One block channel shared by many threads (blk_shared.h) against a server
 * in another process: threads doing multi-piece writes, reads and zeroing
 * at once land exactly on the server's disk; server statuses reach the
 * caller as the right errno; forged and doubled completions and a server
 * restart cost nothing; a server that stops answering stalls callers until
 * it answers again; stopping fails what is left.  (An impossible ring index
 * is libddvm's to wait out until a new generation: test_blk_client.c.)
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_shared.h"
#include "fake_blk_server.h"
#include "pattern.h"

#define REGION		(64ull << 20)
#define DISK		(128ull << 20)
#define THREADS		8
#define AREA		(DISK / THREADS)	/* each thread's own part of the disk */
#define MAX_REQ		(3u << 20)		/* several max_io pieces */
#define OPS		40
#define SEED		0x5ba7ed

struct fixture {
	struct fake_blk_server srv;
	struct ddvm_blk *blk;
	struct ddvm_blk_shared *sh;
};

struct worker {
	struct fixture *f;
	pthread_t thread;
	unsigned int id;
	uint64_t rng;
	uint8_t written[AREA / 512 / 8];	/* sectors holding the pattern */
	char why[160];				/* empty, or what went wrong */
};

static struct fixture *fixture_open(enum fake_blk_misbehave mode, uint64_t arg)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ddvm_err err = { "" };

	assert_non_null(f);
	assert_int_equal(fake_blk_start(&f->srv, REGION, DISK, mode, arg), 0);
	if (ddvm_blk_open_transport(&f->srv.transport, 5000, &f->blk, &err))
		fail_msg("open: %s", err.msg);
	assert_int_equal(ddvm_blk_shared_start(f->blk, &f->sh), 0);
	return f;
}

static void fixture_close(struct fixture *f)
{
	ddvm_blk_shared_stop(f->sh);
	ddvm_blk_close(f->blk);
	fake_blk_stop(&f->srv);
	free(f);
}

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static void mark(struct worker *w, uint64_t off, uint64_t len, bool pattern)
{
	for (uint64_t s = off / 512; s < (off + len) / 512; s++) {
		if (pattern)
			w->written[s / 8] |= (uint8_t)(1u << (s % 8));
		else
			w->written[s / 8] &= (uint8_t)~(1u << (s % 8));
	}
}

/* Writes (some FUA), zeroing, flushes and read-backs in the worker's own area. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = malloc(MAX_REQ), *back = malloc(MAX_REQ);
	uint64_t base = w->id * AREA, off, len;
	int ret, i, kind;

	for (i = 0; i < OPS && !w->why[0]; i++) {
		len = (1 + rnd(w) % (MAX_REQ / 512)) * 512;
		off = rnd(w) % ((AREA - len) / 512 + 1) * 512;
		kind = (int)(rnd(w) % 8);
		if (kind == 0) {
			ret = ddvm_blk_shared_io(w->f->sh, DDVM_BLK_WRITE_ZEROES,
						 rnd(w) % 2 ? DDVM_BLK_REQ_FUA : 0, NULL, len, base + off);
			mark(w, off, len, false);
		} else if (kind == 1) {
			ret = ddvm_blk_shared_io(w->f->sh, DDVM_BLK_FLUSH, 0, NULL, 0, 0);
		} else {
			ddvm_pattern_fill(buf, len, base + off, SEED);
			ret = ddvm_blk_shared_io(w->f->sh, DDVM_BLK_WRITE,
						 kind == 2 ? DDVM_BLK_REQ_FUA : 0, buf, len, base + off);
			mark(w, off, len, true);
		}
		if (ret) {
			snprintf(w->why, sizeof(w->why), "op %d at %llu+%llu: %d", kind,
				 (unsigned long long)(base + off), (unsigned long long)len, ret);
			break;
		}
		/* read back a stretch around it: what this thread alone wrote there */
		ret = ddvm_blk_shared_io(w->f->sh, DDVM_BLK_READ, 0, back, len, base + off);
		if (ret) {
			snprintf(w->why, sizeof(w->why), "read at %llu: %d",
				 (unsigned long long)(base + off), ret);
			break;
		}
		for (uint64_t s = 0; s < len / 512 && !w->why[0]; s++) {
			uint64_t sec = off / 512 + s;
			bool pat = w->written[sec / 8] & (1u << (sec % 8));
			static const uint8_t zero[512];

			if (pat ? ddvm_pattern_check(back + s * 512, 512, base + sec * 512, SEED) !=
				  UINT64_MAX : !!memcmp(back + s * 512, zero, 512))
				snprintf(w->why, sizeof(w->why), "read-back of sector %llu: wrong",
					 (unsigned long long)(base / 512 + sec));
		}
	}
	free(buf);
	free(back);
	return NULL;
}

/* THREADS workers at once; then the server's own disk must hold what they wrote. */
static void run_workers(struct fixture *f)
{
	static struct worker w[THREADS];
	static const uint8_t zero[512];
	unsigned int i;

	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].f = f;
		w[i].id = i;
		w[i].rng = SEED + i * 7919;
		assert_int_equal(pthread_create(&w[i].thread, NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < THREADS; i++)
		if (w[i].why[0])
			fail_msg("thread %u: %s", i, w[i].why);
	for (uint64_t sec = 0; sec < DISK / 512; sec++) {
		struct worker *o = &w[sec / (AREA / 512)];
		uint64_t local = sec % (AREA / 512);
		const uint8_t *p = f->srv.disk + sec * 512;

		if (o->written[local / 8] & (1u << (local % 8))) {
			if (ddvm_pattern_check(p, 512, sec * 512, SEED) != UINT64_MAX)
				fail_msg("server disk sector %llu: not the pattern",
					 (unsigned long long)sec);
		} else if (memcmp(p, zero, 512)) {
			fail_msg("server disk sector %llu: not zero", (unsigned long long)sec);
		}
	}
}

/* FUA on a zeroing is a flush after it: the wire takes FUA on writes only. */
static void test_fua_zeroing_is_followed_by_a_flush(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	struct ddvm_blk_stats a, b;

	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_FLUSH, 0, NULL, 0, 0), 0);
	ddvm_blk_shared_get_stats(f->sh, &a);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE_ZEROES, DDVM_BLK_REQ_FUA, NULL,
					    4096, 0), 0);
	ddvm_blk_shared_get_stats(f->sh, &b);
	assert_int_equal(b.submitted - a.submitted, 2);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE_ZEROES, 0, NULL, 4096, 0), 0);
	ddvm_blk_shared_get_stats(f->sh, &a);
	assert_int_equal(a.submitted - b.submitted, 1);
	fixture_close(f);
}

static void test_server_statuses_become_errnos(void **state)
{
	const uint64_t bad = 40ull << 20;
	struct fixture *f = fixture_open(FAKE_BLK_IOERR_AT, bad);
	size_t len = 4u << 20;
	uint8_t *buf = calloc(1, len);

	/* a 4 MiB write whose third piece covers the bad byte fails as a whole */
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE, 0, buf, len, bad - (2u << 20)),
			 -EIO);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_READ, 0, buf, 4096, bad), -EIO);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_READ, 0, buf, len, 0), 0);
	/* the fake disk has no discard */
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_DISCARD, 0, NULL, 4096, 0), -EOPNOTSUPP);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE, 0, buf, 4096, 100), -EINVAL);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_READ, 0, buf, 4096, DISK), -ERANGE);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_READ, 0, NULL, 4096, 0), -EINVAL);
	/* the channel still serves */
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_FLUSH, 0, NULL, 0, 0), 0);
	free(buf);
	fixture_close(f);
}

static void test_unknown_status_is_eio(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_WILD_STATUS_AT, 8192);
	uint8_t buf[4096] = { 0 };

	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE, 0, buf, 4096, 8192), -EIO);
	assert_int_equal(ddvm_blk_shared_io(f->sh, DDVM_BLK_WRITE, 0, buf, 4096, 0), 0);
	fixture_close(f);
}

/* The workers against a server behaving as @mode says: nothing of it shows. */
static void run_against(enum fake_blk_misbehave mode, uint64_t arg)
{
	struct fixture *f = fixture_open(mode, arg);
	struct ddvm_blk_stats st;

	run_workers(f);
	ddvm_blk_shared_get_stats(f->sh, &st);
	assert_int_equal(st.submitted, st.completed);
	if (mode == FAKE_BLK_HONEST)
		assert_int_equal(st.bad_completions, 0);
	if (mode == FAKE_BLK_FORGED_IDS || mode == FAKE_BLK_DOUBLE_COMPLETE)
		assert_true(st.bad_completions > 0);
	if (mode == FAKE_BLK_RESTART_AFTER) {
		assert_true(st.generations >= 2);
		assert_true(st.replayed > 0);
	}
	fixture_close(f);
}

static void test_threads_share_one_channel(void **state)
{
	run_against(FAKE_BLK_HONEST, 0);
}

static void test_forged_completions(void **state)
{
	run_against(FAKE_BLK_FORGED_IDS, 0);
}

static void test_double_completions(void **state)
{
	run_against(FAKE_BLK_DOUBLE_COMPLETE, 0);
}

static void test_server_restart_is_replayed(void **state)
{
	run_against(FAKE_BLK_RESTART_AFTER, 300);
}

struct waiter {
	struct fixture *f;
	pthread_t thread;
	uint64_t off;
	int ret;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	uint8_t *buf = malloc(MAX_REQ);

	ddvm_pattern_fill(buf, MAX_REQ, w->off, SEED);
	w->ret = ddvm_blk_shared_io(w->f->sh, DDVM_BLK_WRITE, 0, buf, MAX_REQ, w->off);
	free(buf);
	return NULL;
}

/* Start @n writers and wait until the engine has handed every piece to the channel. */
static void start_waiters(struct fixture *f, struct waiter *w, unsigned int n)
{
	struct ddvm_blk_stats st;
	uint64_t pieces = 0, before;

	ddvm_blk_shared_get_stats(f->sh, &st);
	before = st.submitted;
	for (unsigned int i = 0; i < n; i++) {
		w[i] = (struct waiter){ .f = f, .off = i * (uint64_t)MAX_REQ, .ret = 1 };
		assert_int_equal(pthread_create(&w[i].thread, NULL, waiter_main, &w[i]), 0);
		pieces += (MAX_REQ + ddvm_blk_max_io(f->blk) - 1) / ddvm_blk_max_io(f->blk);
	}
	for (int ms = 0; st.submitted - before < pieces; ms++) {
		if (ms > 20000)
			fail_msg("the engine handed %llu of %llu pieces to the channel in 20 s",
				 (unsigned long long)(st.submitted - before),
				 (unsigned long long)pieces);
		usleep(1000);
		ddvm_blk_shared_get_stats(f->sh, &st);
	}
}

/* SIGSTOP the server and wait until it is stopped, not just signalled. */
static void stop_server(struct fixture *f)
{
	int status;

	assert_int_equal(kill(f->srv.pid, SIGSTOP), 0);
	assert_int_equal(waitpid(f->srv.pid, &status, WUNTRACED), f->srv.pid);
	assert_true(WIFSTOPPED(status));
}

/* A server that stops answering stalls its callers; when it answers they complete. */
static void test_callers_wait_for_a_silent_server(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	struct waiter w[4];
	struct ddvm_blk_stats st;

	stop_server(f);
	start_waiters(f, w, 4);
	ddvm_blk_shared_get_stats(f->sh, &st);
	assert_true(st.completed < st.submitted);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(w[i].ret, 1);	/* all still waiting */
	assert_int_equal(kill(f->srv.pid, SIGCONT), 0);
	for (unsigned int i = 0; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		assert_int_equal(w[i].ret, 0);
		for (uint64_t o = 0; o < MAX_REQ; o += 512)
			assert_int_equal(ddvm_pattern_check(f->srv.disk + w[i].off + o, 512,
							    w[i].off + o, SEED), UINT64_MAX);
	}
	fixture_close(f);
}

/* Stopping the engine with callers waiting fails them with -ESHUTDOWN. */
static void test_stop_fails_what_is_left(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	struct waiter w[2];

	stop_server(f);
	start_waiters(f, w, 2);
	ddvm_blk_shared_stop(f->sh);
	f->sh = NULL;
	for (unsigned int i = 0; i < 2; i++) {
		pthread_join(w[i].thread, NULL);
		assert_int_equal(w[i].ret, -ESHUTDOWN);
	}
	fixture_close(f);	/* kills the stopped server */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_share_one_channel),
		cmocka_unit_test(test_fua_zeroing_is_followed_by_a_flush),
		cmocka_unit_test(test_server_statuses_become_errnos),
		cmocka_unit_test(test_unknown_status_is_eio),
		cmocka_unit_test(test_forged_completions),
		cmocka_unit_test(test_double_completions),
		cmocka_unit_test(test_server_restart_is_replayed),
		cmocka_unit_test(test_callers_wait_for_a_silent_server),
		cmocka_unit_test(test_stop_fails_what_is_left),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
