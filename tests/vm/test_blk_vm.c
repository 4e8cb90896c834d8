// SPDX-License-Identifier: GPL-2.0
/*
 * Block path end to end with real VMs under the real supervisor: a DD/OS
 * drives each disk controller with Linux's own driver, host clients write
 * and verify through its channels, and after shutdown the backing image
 * must hold exactly what the clients wrote.  Bad and hostile requests get
 * errors while the DD/OS keeps serving; its kernel log must stay clean.
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
#include "chan_peer.h"
#include "pattern.h"
#include "vmtest.h"

#define DISK_SIZE	(256ull << 20)
#define OPEN_MS		20000

static void must_up(struct vmtest *t, const char *controller, unsigned int channels)
{
	if (vmtest_up(t, controller, "256M", channels))
		fail_msg("ddvm up (%s) failed:\n%s", controller, t->log);
}

static struct ddvm_blk *must_open(struct vmtest *t, const char *chan)
{
	struct ddvm_err err = { "" };
	struct ddvm_blk *blk;
	char sock[160];

	if (ddvm_blk_open(vmtest_channel(t, chan, sock, sizeof(sock)), OPEN_MS, &blk, &err))
		fail_msg("open %s: %s", chan, err.msg);
	return blk;
}

static void must_be_clean(struct vmtest *t)
{
	char line[512];

	if (vmtest_scan_console(t, line, sizeof(line)))
		fail_msg("DD/OS kernel log (%s/dd/console.log): %s", t->run_dir, line);
}

/*
 * Random offsets and sizes over the whole disk through channel c0 (>= 64
 * MiB moved), a second client on c1 reading c0's data back, then shutdown
 * and a byte-for-byte check of the image.
 */
static void run_controller(const char *controller, const char *driver)
{
	struct ddvm_verify_opts o = { .random_ops = 700, .block = 256 << 10, .qd = 32, .seed = 0x600d };
	uint8_t *written = calloc(DISK_SIZE / 512 / 8, 1);
	struct ddvm_verify_result res;
	struct ddvm_blk *a, *b;
	struct vmtest t;
	uint64_t bad = 0;
	uint8_t *buf;
	int ret;

	assert_non_null(written);
	o.written = written;
	must_up(&t, controller, 2);
	a = must_open(&t, "c0");
	assert_int_equal(ddvm_blk_info(a)->capacity, DISK_SIZE);
	if (!strstr(ddvm_blk_info(a)->driver, driver))
		fail_msg("%s is served by driver '%s', expected %s", controller,
			 ddvm_blk_info(a)->driver, driver);

	ret = ddvm_blk_verify(a, &o, &res);
	if (ret)
		fail_msg("verify through %s: %d, %llu mismatches (first at %llu), io error %d", controller,
			 ret, (unsigned long long)res.mismatches, (unsigned long long)res.first_bad,
			 res.io_error);
	assert_true(res.bytes_written >= 64ull << 20);
	assert_int_equal(res.bytes_read, res.bytes_written);

	/* a second client of the same disk sees the first one's data */
	b = must_open(&t, "c1");
	buf = malloc(1 << 20);
	assert_int_equal(ddvm_blk_pwrite(a, (ddvm_pattern_fill(buf, 1 << 20, 0, o.seed), buf),
					 1 << 20, 0, DDVM_BLK_REQ_FUA), 0);
	for (uint64_t s = 0; s < (1 << 20) / 512; s++)
		written[s / 8] |= (uint8_t)(1u << (s % 8));
	memset(buf, 0, 1 << 20);
	assert_int_equal(ddvm_blk_pread(b, buf, 1 << 20, 0), 0);
	assert_int_equal(ddvm_pattern_check(buf, 1 << 20, 0, o.seed), UINT64_MAX);
	free(buf);
	ddvm_blk_close(b);
	assert_int_equal(ddvm_blk_flush(a), 0);
	ddvm_blk_close(a);

	must_be_clean(&t);
	if (vmtest_down(&t, true))
		fail_msg("ddvm down: %s", t.log);
	ret = vmtest_compare_image(t.image, written, DISK_SIZE, o.seed, &bad);
	if (ret)
		fail_msg("%s: image differs from what the client wrote at byte %llu", t.image,
			 (unsigned long long)bad);
	vmtest_down(&t, false);
	free(written);
}

static void test_virtio_blk(void **state)
{
	run_controller("virtio-blk", "virtio_blk");
}

static void test_nvme(void **state)
{
	run_controller("nvme", "nvme");
}

static void test_ahci(void **state)
{
	run_controller("ahci", "ahci");
}

/* Post one raw request and return its completion status. */
static uint32_t raw_request(struct ddvm_chan_client *c, const struct ddvm_blk_req *r)
{
	struct ddvm_ring *req = &c->rings[DDVM_BLK_RING_REQ], *cmp = &c->rings[DDVM_BLK_RING_CMP];
	struct ddvm_blk_cmp done;
	uint32_t old = req->local;
	int i, n;

	assert_true(ddvm_ring_free(req) > 0);
	memcpy(ddvm_ring_next(req), r, sizeof(*r));
	req->local++;
	ddvm_ring_publish(req, old);
	ddvm_chan_client_notify(c);
	for (i = 0; i < 500; i++) {
		n = ddvm_ring_avail(cmp);
		assert_true(n >= 0);
		if (n) {
			old = cmp->local;
			ddvm_ring_take(cmp, &done);
			ddvm_ring_consumed(cmp, old);
			assert_int_equal(done.id, r->id);
			return done.status;
		}
		ddvm_chan_client_wait(c, 20);
	}
	fail_msg("no completion for request %llu", (unsigned long long)r->id);
	return 0;
}

/*
 * A hostile client: malformed requests each get an error status, a wild
 * ring index makes the DD/OS drop the generation (not crash), and a normal
 * client is served afterwards.
 */
static void test_bad_requests(void **state)
{
	static const struct ddvm_ring_want want[DDVM_BLK_NR_RINGS] = {
		{ 32, sizeof(struct ddvm_blk_req) }, { 32, sizeof(struct ddvm_blk_cmp) },
	};
	struct ddvm_verify_opts o = { .length = 8 << 20, .block = 1 << 20, .qd = 8, .seed = 77 };
	struct ddvm_verify_result res;
	struct ddvm_chan_transport tr;
	struct ddvm_err err = { "" };
	struct ddvm_chan_client c;
	struct ddvm_peer *peer;
	struct ddvm_blk *blk;
	uint8_t buf[4096];
	struct vmtest t;
	char sock[160];
	uint32_t gen;
	struct {
		struct ddvm_blk_req r;
		uint32_t status;
	} cases[] = {
		{ { .op = 99, .len = 4096 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .len = 0 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .len = 100 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .offset = 100, .len = 512 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .len = 2u << 20 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .data_off = 1ull << 40, .len = 4096 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_WRITE, .data_off = UINT64_MAX - 511, .len = 4096 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_READ, .offset = DISK_SIZE, .len = 4096 }, DDVM_BLK_S_RANGE },
		{ { .op = DDVM_BLK_WRITE, .offset = UINT64_MAX - 511, .len = 4096 }, DDVM_BLK_S_RANGE },
		{ { .op = DDVM_BLK_WRITE, .flags = 0x80, .len = 4096 }, DDVM_BLK_S_INVAL },
		{ { .op = DDVM_BLK_FLUSH, .offset = UINT64_MAX, .len = 7 }, DDVM_BLK_S_OK },
		{ { .op = DDVM_BLK_READ, .offset = 4096, .len = 4096 }, DDVM_BLK_S_OK },
	};

	must_up(&t, "virtio-blk", 1);

	/* the library reports the server's verdicts as errnos */
	blk = must_open(&t, "c0");
	assert_int_equal(ddvm_blk_pread(blk, buf, 4096, DISK_SIZE), -ERANGE);
	assert_int_equal(ddvm_blk_pread(blk, buf, 4096, 4096 + 512 * 3 + 1), -EINVAL);
	ddvm_blk_close(blk);

	/* raw requests straight onto the ring */
	if (ddvm_chan_peer_open(vmtest_channel(&t, "c0", sock, sizeof(sock)), &peer, &tr, &err))
		fail_msg("%s", err.msg);
	ddvm_chan_client_init(&c, &tr, DDVM_CHAN_BLK);
	if (ddvm_chan_client_connect(&c, want, DDVM_BLK_NR_RINGS, OPEN_MS, &err))
		fail_msg("raw connect: %s", err.msg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cases[i].r.id = 1000 + i;
		assert_int_equal(raw_request(&c, &cases[i].r), cases[i].status);
	}

	/* a producer index that jumps past the ring: the DD/OS resets the channel */
	gen = c.generation;
	ddvm_store_release(&c.rings[DDVM_BLK_RING_REQ].ctl->prod,
			   c.rings[DDVM_BLK_RING_REQ].local + 100000);
	ddvm_chan_client_notify(&c);
	for (int i = 0; i < 250 && ddvm_load_acquire(&c.srv->generation) == gen; i++)
		ddvm_chan_client_wait(&c, 20);
	assert_int_not_equal(ddvm_load_acquire(&c.srv->generation), gen);
	assert_int_equal(ddvm_load_once(&c.srv->error), DDVM_ERR_RING);
	ddvm_peer_close(peer);

	/* and serves the next client as if nothing happened */
	blk = must_open(&t, "c0");
	assert_int_equal(ddvm_blk_verify(blk, &o, &res), 0);
	ddvm_blk_close(blk);

	must_be_clean(&t);
	if (vmtest_down(&t, false))
		fail_msg("ddvm down: %s", t.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtio_blk),
		cmocka_unit_test(test_nvme),
		cmocka_unit_test(test_ahci),
		cmocka_unit_test(test_bad_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
