// SPDX-License-Identifier: GPL-2.0
/*
 * libddvm's block client against a server in another process over a memfd
 * region and eventfds: data round trips, bad requests, hostile completions,
 * and replay across a server restart.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blk_client.h"
#include "blk_verify.h"
#include "fake_blk_server.h"
#include "pattern.h"

#define REGION	(64ull << 20)
#define DISK	(256ull << 20)

struct fixture {
	struct fake_blk_server srv;
	struct ddvm_blk *blk;
};

static struct fixture *fixture_open(enum fake_blk_misbehave mode, uint64_t arg)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ddvm_err err = { "" };

	assert_non_null(f);
	assert_int_equal(fake_blk_start(&f->srv, REGION, DISK, mode, arg), 0);
	if (ddvm_blk_open_transport(&f->srv.transport, 5000, &f->blk, &err))
		fail_msg("open: %s", err.msg);
	return f;
}

static void fixture_close(struct fixture *f)
{
	ddvm_blk_close(f->blk);
	fake_blk_stop(&f->srv);
	free(f);
}

static void test_info_and_limits(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	const struct ddvm_blk_info *i = ddvm_blk_info(f->blk);

	assert_int_equal(i->capacity, DISK);
	assert_int_equal(i->logical_block_size, 512);
	assert_string_equal(i->export_name, "ram");
	assert_int_equal(ddvm_blk_max_io(f->blk), 1u << 20);
	assert_true(ddvm_blk_depth(f->blk) >= 16);
	fixture_close(f);
}

static void test_round_trip_reaches_the_disk(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	size_t len = 3u << 20;	/* several max-size requests */
	uint8_t *w = malloc(len), *r = malloc(len);

	ddvm_pattern_fill(w, len, 4096, 42);
	assert_int_equal(ddvm_blk_pwrite(f->blk, w, len, 4096, 0), 0);
	assert_memory_equal(f->srv.disk + 4096, w, len);	/* the server's disk, not a cache */
	assert_int_equal(ddvm_blk_flush(f->blk), 0);
	memset(r, 0, len);
	assert_int_equal(ddvm_blk_pread(f->blk, r, len, 4096), 0);
	assert_memory_equal(r, w, len);
	free(w);
	free(r);
	fixture_close(f);
}

static void test_random_verify(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	struct ddvm_verify_opts o = { .random_ops = 3000, .block = 256 << 10, .qd = 32, .seed = 7 };
	struct ddvm_verify_result res;
	struct ddvm_blk_stats st;

	assert_int_equal(ddvm_blk_verify(f->blk, &o, &res), 0);
	assert_int_equal(res.ops, 3000);
	assert_int_equal(res.mismatches, 0);
	ddvm_blk_get_stats(f->blk, &st);
	assert_int_equal(st.submitted, st.completed);
	assert_int_equal(st.bad_completions, 0);
	fixture_close(f);
}

static void test_bad_requests_get_errors(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_HONEST, 0);
	uint8_t buf[4096] = { 1 };

	assert_int_equal(ddvm_blk_pwrite(f->blk, buf, 4096, DISK - 512, 0), -ERANGE);
	assert_int_equal(ddvm_blk_pread(f->blk, buf, 4096, DISK), -ERANGE);
	assert_int_equal(ddvm_blk_pread(f->blk, buf, 4096, 100), -EINVAL);	/* misaligned */
	assert_int_equal(ddvm_blk_pread(f->blk, buf, 100, 0), -EINVAL);		/* odd length */
	/* and the channel still serves */
	assert_int_equal(ddvm_blk_pwrite(f->blk, buf, 4096, 0, 0), 0);
	assert_int_equal(f->srv.disk[0], 1);
	fixture_close(f);
}

static void test_forged_and_double_completions_are_dropped(void **state)
{
	enum fake_blk_misbehave modes[] = { FAKE_BLK_FORGED_IDS, FAKE_BLK_DOUBLE_COMPLETE };
	struct ddvm_verify_opts o = { .random_ops = 500, .block = 64 << 10, .qd = 16, .seed = 3 };
	struct ddvm_verify_result res;
	struct ddvm_blk_stats st;

	for (size_t m = 0; m < 2; m++) {
		struct fixture *f = fixture_open(modes[m], 0);

		assert_int_equal(ddvm_blk_verify(f->blk, &o, &res), 0);
		ddvm_blk_get_stats(f->blk, &st);
		/* every request completed exactly once; the extras matched nothing */
		assert_int_equal(st.submitted, st.completed);
		assert_true(st.bad_completions > 0);
		fixture_close(f);
	}
}

static void test_wild_index_is_survived(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_WILD_INDEX, 0);
	struct ddvm_blk_io ios[32], *done[32];
	uint8_t *buf = calloc(32, 4096);
	int i, got = 0, n;

	for (i = 0; i < 32; i++) {
		ios[i] = (struct ddvm_blk_io){ .op = DDVM_BLK_WRITE, .offset = (uint64_t)i * 4096,
					       .len = 4096, .buf = buf + i * 4096 };
		assert_int_equal(ddvm_blk_submit(f->blk, &ios[i]), 0);
	}
	/* the server's completion index jumps by 100000: no crash, no bogus completion */
	for (i = 0; i < 20; i++) {
		n = ddvm_blk_reap(f->blk, done, 32, 20);
		assert_true(n >= 0);
		got += n;
	}
	assert_true(got <= 32);
	free(buf);
	fixture_close(f);
}

static void test_replay_after_server_restart(void **state)
{
	struct fixture *f = fixture_open(FAKE_BLK_RESTART_AFTER, 700);
	struct ddvm_verify_opts o = { .random_ops = 2000, .block = 128 << 10, .qd = 32, .seed = 11 };
	struct ddvm_verify_result res;
	struct ddvm_blk_stats st;

	assert_int_equal(ddvm_blk_verify(f->blk, &o, &res), 0);
	assert_int_equal(res.mismatches, 0);
	ddvm_blk_get_stats(f->blk, &st);
	assert_true(st.generations >= 2);
	assert_true(st.replayed > 0);
	assert_int_equal(st.submitted, st.completed);
	fixture_close(f);
}

/*
 * libddvm sizes and places its rings exactly as ddvm/client.h plans them
 * (the front-end module in client VMs runs the same code): depth, slot
 * size and the client block it publishes, for regions from one 4 KiB slot
 * to 32 slots of 1 MiB.
 */
static void test_layout_is_client_h(void **state)
{
	static const uint64_t sizes[] = { 16 << 10, 64 << 10, (4 << 20) + (64 << 10), REGION };
	struct ddvm_ring_want want[DDVM_BLK_NR_RINGS];
	struct ddvm_cli_block expect, got;
	struct fake_blk_server srv;
	struct ddvm_err err = { "" };
	struct ddvm_srv_block s;
	struct ddvm_blk *blk;
	uint32_t entries = 0, slot = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(fake_blk_start(&srv, sizes[i], 1 << 20, FAKE_BLK_HONEST, 0), 0);
		if (ddvm_blk_open_transport(&srv.transport, 5000, &blk, &err))
			fail_msg("open over %llu bytes: %s", (unsigned long long)sizes[i], err.msg);
		assert_int_equal(ddvm_blk_client_plan(sizes[i], &entries, &slot), 0);
		assert_int_equal(ddvm_blk_depth(blk), entries);
		assert_int_equal(ddvm_blk_max_io(blk), slot < (1u << 20) ? slot : 1u << 20);

		memcpy(&s, (char *)srv.region + DDVM_SRV_OFFSET, sizeof(s));
		memcpy(&got, (char *)srv.region + DDVM_CLI_OFFSET, sizeof(got));
		want[DDVM_BLK_RING_REQ] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_req) };
		want[DDVM_BLK_RING_CMP] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_cmp) };
		assert_int_equal(ddvm_client_layout(&expect, &s, DDVM_CHAN_BLK, got.peer_id, sizes[i],
						    want, DDVM_BLK_NR_RINGS), 0);
		assert_int_equal(got.state, DDVM_CLI_READY);
		expect.state = got.state;
		assert_memory_equal(&got, &expect, sizeof(got));
		ddvm_blk_close(blk);
		fake_blk_stop(&srv);
	}
	/* the smallest region holding one slot */
	assert_int_equal(ddvm_blk_client_plan(16 << 10, &entries, &slot), 0);
	assert_int_equal(entries, 1);
	assert_int_equal(slot, 4096);
}

/*
 * A region too small for one slot is refused before any waiting, with the
 * region's size in the message (14 KiB once slipped through as 128 slots
 * of 1 MiB and failed later as "data area shrank").
 */
static void test_tiny_region_is_refused(void **state)
{
	static const uint64_t sizes[] = { 8 << 10, 12 << 10, 14 << 10 };
	struct fake_blk_server srv;
	struct ddvm_err err;
	struct ddvm_blk *blk = NULL;
	char size_text[32];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(fake_blk_start(&srv, sizes[i], 1 << 20, FAKE_BLK_HONEST, 0), 0);
		assert_int_equal(ddvm_blk_open_transport(&srv.transport, 5000, &blk, &err), -ENOSPC);
		snprintf(size_text, sizeof(size_text), "%llu bytes", (unsigned long long)sizes[i]);
		assert_non_null(strstr(err.msg, size_text));
		assert_null(blk);
		fake_blk_stop(&srv);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_and_limits),
		cmocka_unit_test(test_round_trip_reaches_the_disk),
		cmocka_unit_test(test_random_verify),
		cmocka_unit_test(test_bad_requests_get_errors),
		cmocka_unit_test(test_forged_and_double_completions_are_dropped),
		cmocka_unit_test(test_wild_index_is_survived),
		cmocka_unit_test(test_replay_after_server_restart),
		cmocka_unit_test(test_layout_is_client_h),
		cmocka_unit_test(test_tiny_region_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
