// SPDX-License-Identifier: GPL-2.0
/*
 * A failed driver domain restarts and its clients lose nothing: a host
 * client keeps verified random I/O going through a virtio-blk DD/OS while
 * "ddvm inject" kills, panics, hangs, oopses and corrupts it; every request
 * must complete exactly once without error, every read must see what was
 * acknowledged, and after shutdown the image must hold every acknowledged
 * write.  Prints the supervisor's restart-to-serving time per fault.
 *
 * Twice: with cold restarts (a new QEMU boots), then with a warm spare
 * (a booted QEMU takes over), where the restart must also be fast.  A
 * wedged guest kernel is caught by the heartbeat watch first; with a
 * hang_timeout beyond the watchdog's 6 s, by the watchdog.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blk_client.h"
#include "hub_spawn.h"
#include "pattern.h"
#include "state.h"
#include "vmtest.h"

#define DISK_SIZE	(64ull << 20)
#define SECTORS		(DISK_SIZE / 512)
#define OPEN_MS		20000
#define QD		8
#define MAX_IO		(64u << 10)
#define SEED		0xfa17
#define RECOVER_MS	60000	/* a fault to the client's next generation, at most */
#define AFTER_MS	1500	/* I/O kept going after the recovery */
#define SPARE_WAIT_MS	60000	/* for the warm spare to be ready before a fault */
#define SPARE_BAR_MS	1500	/* detection to serving again, with a spare */
#define SPARE_HANG_TIMEOUT 10	/* s: beyond the DD/OS's 6 s watchdog */
#define COLD_HANG_TIMEOUT 3	/* s: the default, within it */

struct slot {
	struct ddvm_blk_io io;
	uint8_t *buf;
	bool busy;
};

static struct {
	struct vmtest t;
	struct ddvm_blk *blk;
	uint8_t written[SECTORS / 8];	/* acknowledged writes, by sector */
	struct slot slots[QD];
	uint64_t rng;
	bool up;
	bool spare;			/* this supervisor's domain has a warm spare */
	unsigned int restarts;		/* in state.json before the fault */
} g;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t rnd(void)
{
	g.rng ^= g.rng << 13;
	g.rng ^= g.rng >> 7;
	g.rng ^= g.rng << 17;
	return g.rng;
}

static bool overlaps_busy(uint64_t off, uint32_t len)
{
	for (int i = 0; i < QD; i++)
		if (g.slots[i].busy && off < g.slots[i].io.offset + g.slots[i].io.len &&
		    g.slots[i].io.offset < off + len)
			return true;
	return false;
}

/* A random read or write that overlaps nothing in flight, so reads are exact. */
static void submit_one(struct slot *s)
{
	uint32_t len;
	uint64_t off;
	int ret;

	do {
		len = (uint32_t)(1 + rnd() % (MAX_IO / 4096)) * 4096;
		off = rnd() % ((DISK_SIZE - len) / 4096 + 1) * 4096;
	} while (overlaps_busy(off, len));
	memset(&s->io, 0, sizeof(s->io));
	s->io.op = rnd() % 2 ? DDVM_BLK_WRITE : DDVM_BLK_READ;
	s->io.offset = off;
	s->io.len = len;
	s->io.buf = s->buf;
	s->io.priv = s;
	if (s->io.op == DDVM_BLK_WRITE)
		ddvm_pattern_fill(s->buf, len, off, SEED);
	else
		memset(s->buf, 0xee, len);
	ret = ddvm_blk_submit(g.blk, &s->io);
	if (ret)
		fail_msg("submit: %d", ret);
	s->busy = true;
}

static bool sector_written(uint64_t sec)
{
	return g.written[sec / 8] & (1u << (sec % 8));
}

static void complete_one(struct ddvm_blk_io *io)
{
	struct slot *s = io->priv;
	uint64_t sec, first = io->offset / 512, n = io->len / 512;
	static const uint8_t zero[512];

	if (!s->busy)
		fail_msg("request at %llu completed twice", (unsigned long long)io->offset);
	s->busy = false;
	if (io->status)
		fail_msg("%s at %llu+%u failed: %d", io->op == DDVM_BLK_WRITE ? "write" : "read",
			 (unsigned long long)io->offset, io->len, io->status);
	for (sec = first; sec < first + n; sec++) {
		uint8_t *p = s->buf + (sec - first) * 512;

		if (io->op == DDVM_BLK_WRITE) {
			g.written[sec / 8] |= (uint8_t)(1u << (sec % 8));
		} else if (sector_written(sec)) {
			if (ddvm_pattern_check(p, 512, sec * 512, SEED) != UINT64_MAX)
				fail_msg("read of sector %llu: not what was acknowledged",
					 (unsigned long long)sec);
		} else if (memcmp(p, zero, 512)) {
			fail_msg("read of never-written sector %llu: not zero",
				 (unsigned long long)sec);
		}
	}
}

/* Keep QD requests going for up to @ms or until @stop says so. */
static unsigned long io_for(long long ms, bool (*stop)(void))
{
	struct ddvm_blk_io *done[QD];
	long long end = now_ms() + ms;
	unsigned long n = 0;
	int i, got;

	while (now_ms() < end && !(stop && stop())) {
		for (i = 0; i < QD; i++)
			if (!g.slots[i].busy)
				submit_one(&g.slots[i]);
		got = ddvm_blk_reap(g.blk, done, QD, 100);
		if (got < 0)
			fail_msg("reap: %d", got);
		for (i = 0; i < got; i++)
			complete_one(done[i]);
		n += (unsigned long)got;
	}
	return n;
}

static void drain(void)
{
	struct ddvm_blk_io *done[QD];
	long long end = now_ms() + RECOVER_MS;
	int busy, i, got;

	for (;;) {
		for (busy = 0, i = 0; i < QD; i++)
			busy += g.slots[i].busy;
		if (!busy)
			return;
		if (now_ms() > end)
			fail_msg("%d requests never completed", busy);
		got = ddvm_blk_reap(g.blk, done, QD, 100);
		if (got < 0)
			fail_msg("reap: %d", got);
		for (i = 0; i < got; i++)
			complete_one(done[i]);
	}
}

/* The domain's entry in state.json, or NULL (caller json_decrefs *st). */
static json_t *domain_state(json_t **st)
{
	struct ddvm_err err;

	*st = NULL;
	if (ddvm_state_load(g.t.run_dir, st, &err))
		return NULL;
	return json_array_get(json_object_get(*st, "domains"), 0);
}

static unsigned int restarts_now(const char **state)
{
	static char buf[32];
	json_t *st, *d = domain_state(&st);
	unsigned int n = d ? (unsigned int)json_integer_value(json_object_get(d, "restarts")) : 0;

	if (state) {
		snprintf(buf, sizeof(buf), "%s",
			 d ? json_string_value(json_object_get(d, "state")) ?: "?" : "?");
		*state = buf;
	}
	json_decref(st);
	return n;
}

static bool spare_ready(void)
{
	json_t *st, *d = domain_state(&st);
	const char *s = d ? json_string_value(json_object_get(json_object_get(d, "spare"),
							      "state")) : NULL;
	bool ready = s && !strcmp(s, "ready");

	json_decref(st);
	return ready;
}

/*
 * `ddvm up` a one-disk domain, with or without a warm spare, in a
 * vmtest-shaped dir; room for every fault's restart in the window.
 */
static int up_domain(struct vmtest *t, bool spare, unsigned int max_attempts)
{
	char cfg[160], cmd[512];
	FILE *f;
	int ret;

	memset(t, 0, sizeof(*t));
	strcpy(t->dir, "/tmp/ddvm-vmtest-XXXXXX");
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(t->run_dir, sizeof(t->run_dir), "%s/run", t->dir);
	snprintf(t->image, sizeof(t->image), "%s/disk.img", t->dir);
	snprintf(cfg, sizeof(cfg), "%s/ddvm.json", t->dir);
	f = fopen(cfg, "w");
	if (!f)
		return -errno;
	fprintf(f, "{ \"run_dir\": \"%s\", \"domains\": [ { \"name\": \"dd\",\n"
		   "  \"warm_spare\": %s, \"restart\": { \"max_attempts\": %u },\n"
		   "  \"hang_timeout\": %d,\n"
		   "  \"disk\": { \"image\": \"%s\", \"size\": \"64M\" },\n"
		   "  \"channels\": [ { \"name\": \"c0\" } ] } ] }\n", t->run_dir,
		spare ? "true" : "false", max_attempts, spare ? SPARE_HANG_TIMEOUT : COLD_HANG_TIMEOUT, t->image);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s up %s 2>&1", hub_spawn_bin(), cfg);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	t->log[fread(t->log, 1, sizeof(t->log) - 1, f)] = '\0';
	ret = pclose(f);
	return ret ? -EIO : 0;
}

/* A supervisor of the kind the test wants, with the client open. */
static void ensure_up(bool spare)
{
	struct ddvm_err err = { "" };
	char sock[160];

	if (g.up && g.spare == spare)
		return;
	if (g.up) {
		/* an earlier test failed before its shutdown: keep its logs */
		ddvm_blk_close(g.blk);
		g.blk = NULL;
		vmtest_down(&g.t, true);
		g.up = false;
	}
	for (int i = 0; i < QD; i++)
		g.slots[i].busy = false;
	memset(g.written, 0, sizeof(g.written));
	if (up_domain(&g.t, spare, 20))
		fail_msg("ddvm up failed:\n%s", g.t.log);
	g.up = true;
	g.spare = spare;
	if (ddvm_blk_open(vmtest_channel(&g.t, "c0", sock, sizeof(sock)), OPEN_MS, &g.blk, &err))
		fail_msg("open: %s", err.msg);
}

struct injector {
	pthread_t thread;
	const char *what;
	int status;
	char out[512];
};

/* "ddvm inject" from a thread: the test's own I/O must not stop for it. */
static void *inject_thread(void *arg)
{
	struct injector *in = arg;
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "%s inject --run-dir %s dd %s 2>&1", hub_spawn_bin(),
		 g.t.run_dir, in->what);
	p = popen(cmd, "r");
	if (!p) {
		in->status = -errno;
		return NULL;
	}
	n = fread(in->out, 1, sizeof(in->out) - 1, p);
	in->out[n] = '\0';
	in->status = pclose(p);
	return NULL;
}

static uint64_t gen_before;

static bool new_generation(void)
{
	struct ddvm_blk_stats st;

	ddvm_blk_get_stats(g.blk, &st);
	return st.generations > gen_before;
}

/*
 * I/O before, during and after fault @what; the supervisor must restart the
 * DD/OS once and the client must carry on by itself.
 */
static void run_fault(const char *what, bool spare)
{
	struct ddvm_blk_stats before, after;
	struct injector in = { .what = what };
	json_t *st, *d, *last;
	const char *state;
	long long t0, t_back;
	unsigned long n;

	ensure_up(spare);
	if (spare) {
		long long until = now_ms() + SPARE_WAIT_MS;

		/* keep the client busy meanwhile: the spare boots under load */
		while (!spare_ready() && now_ms() < until)
			io_for(200, NULL);
		if (!spare_ready())
			fail_msg("the warm spare was not ready within %d ms", SPARE_WAIT_MS);
	}
	g.restarts = restarts_now(NULL);
	ddvm_blk_get_stats(g.blk, &before);
	gen_before = before.generations;
	n = io_for(500, NULL);
	if (!n)
		fail_msg("no I/O completed before the fault");

	t0 = now_ms();
	assert_int_equal(pthread_create(&in.thread, NULL, inject_thread, &in), 0);
	io_for(RECOVER_MS, new_generation);
	pthread_join(in.thread, NULL);
	if (in.status)
		fail_msg("ddvm inject dd %s: status %d: %s", what, in.status, in.out);
	if (!new_generation())
		fail_msg("%s: the client saw no new server within %d ms", what, RECOVER_MS);
	t_back = now_ms() - t0;
	n = io_for(AFTER_MS, NULL);
	if (!n)
		fail_msg("%s: no I/O completed after the recovery", what);
	drain();

	ddvm_blk_get_stats(g.blk, &after);
	if (getenv("FAULTS_VERBOSE"))
		print_message("%s: submitted %llu completed %llu replayed %llu generations %llu "
			      "bad %llu\n", what, (unsigned long long)after.submitted,
			      (unsigned long long)after.completed,
			      (unsigned long long)after.replayed,
			      (unsigned long long)after.generations,
			      (unsigned long long)after.bad_completions);
	assert_int_equal(after.submitted, after.completed);
	/* the DD/OS drained, then put garbage on the completion ring: it must be seen */
	if (!strcmp(what, "corrupt") && after.bad_completions == before.bad_completions)
		fail_msg("corrupt: the client took no garbage completion");
	if (strcmp(what, "corrupt") && after.bad_completions != before.bad_completions)
		fail_msg("%s: %llu bad completions", what,
			 (unsigned long long)(after.bad_completions - before.bad_completions));

	/* exactly one restart, recorded with its cause and time */
	for (int i = 0; i < 40 && restarts_now(&state) == g.restarts; i++)
		usleep(50 * 1000);
	assert_int_equal(restarts_now(&state), g.restarts + 1);
	d = domain_state(&st);
	assert_non_null(d);
	last = json_array_get(json_object_get(d, "restart_log"),
			      json_array_size(json_object_get(d, "restart_log")) - 1);
	print_message("%-5s %-8s cause %-14s detection to DDVM-READY %5lld ms, to client RUN %5lld ms; "
		      "client stalled %lld ms; %llu replayed, %llu bad completions dropped\n",
		      spare ? "spare" : "cold", what,
		      json_string_value(json_object_get(last, "cause")),
		      (long long)json_integer_value(json_object_get(last, "ready_ms")),
		      (long long)json_integer_value(json_object_get(last, "run_ms")), t_back,
		      (unsigned long long)(after.replayed - before.replayed),
		      (unsigned long long)(after.bad_completions - before.bad_completions));
	if (spare && json_integer_value(json_object_get(last, "ready_ms")) > SPARE_BAR_MS)
		fail_msg("%s: with a warm spare, serving again took %lld ms (bar %d ms)", what,
			 (long long)json_integer_value(json_object_get(last, "ready_ms")),
			 SPARE_BAR_MS);
	json_decref(st);
}

static void expect_cause(const char *want)
{
	json_t *st, *d = domain_state(&st);
	const char *got = d ? json_string_value(json_object_get(d, "last_restart_cause")) : NULL;

	if (!got || strcmp(got, want))
		fail_msg("last restart cause %s, want %s", got ? got : "(none)", want);
	json_decref(st);
}

/* fault, the cause the supervisor must name (an oops is a panic: oops=panic) */
#define FAULT_TESTS(mode, spare, wedge_cause)				\
static void test_##mode##_kill(void **state)					\
{										\
	run_fault("kill", spare);						\
	expect_cause("qemu-exit");						\
}										\
static void test_##mode##_panic(void **state)					\
{										\
	run_fault("panic", spare);						\
	expect_cause("panic");							\
}										\
static void test_##mode##_hang(void **state)					\
{										\
	run_fault("hang", spare);						\
	expect_cause("hang");							\
}										\
static void test_##mode##_oops(void **state)					\
{										\
	run_fault("oops", spare);						\
	expect_cause("panic");							\
}										\
static void test_##mode##_wedge(void **state)					\
{										\
	run_fault("wedge", spare);						\
	expect_cause(wedge_cause);						\
}										\
static void test_##mode##_corrupt(void **state)				\
{										\
	run_fault("corrupt", spare);						\
	expect_cause("device-failed");						\
}										\
static void test_##mode##_image(void **state)					\
{										\
	check_image();								\
}

/* After shutdown the image holds exactly what was acknowledged. */
static void check_image(void)
{
	uint64_t bad = 0;
	int ret;

	assert_true(g.up);
	drain();
	assert_int_equal(ddvm_blk_flush(g.blk), 0);
	ddvm_blk_close(g.blk);
	g.blk = NULL;
	if (vmtest_down(&g.t, true))
		fail_msg("ddvm down: %s", g.t.log);
	g.up = false;
	ret = vmtest_compare_image(g.t.image, g.written, DISK_SIZE, SEED, &bad);
	if (ret)
		fail_msg("%s: differs from the acknowledged writes at byte %llu", g.t.image,
			 (unsigned long long)bad);
	vmtest_down(&g.t, false);
}

/*
 * The policy's limit: with restart.max_attempts 1, a second failure within
 * the window leaves the domain failed with the reason, and the supervisor,
 * with nothing left to run, stops.
 */
static void test_gives_up(void **state)
{
	struct injector in = { .what = "kill" };
	struct vmtest t;
	json_t *st, *d;
	const char *s = "?";
	int i;

	if (up_domain(&t, false, 1))
		fail_msg("ddvm up failed:\n%s", t.log);
	g.t = t;	/* inject_thread and domain_state read g.t */
	inject_thread(&in);
	if (in.status)
		fail_msg("first kill: %s", in.out);
	for (i = 0; i < 400 && strcmp(s, "serving"); i++) {
		usleep(50 * 1000);
		if (restarts_now(&s) != 1)
			s = "?";
	}
	if (strcmp(s, "serving"))
		fail_msg("not serving again after the first kill (%s)", s);
	inject_thread(&in);
	if (in.status)
		fail_msg("second kill: %s", in.out);
	for (i = 0; i < 200; i++) {
		d = domain_state(&st);
		s = d ? json_string_value(json_object_get(d, "state")) : NULL;
		if (s && !strcmp(s, "failed"))
			break;
		json_decref(st);
		d = NULL;
		usleep(50 * 1000);
	}
	if (!d)
		fail_msg("domain not failed 10 s after the second kill");
	if (!strstr(json_string_value(json_object_get(d, "last_error")), "gave up"))
		fail_msg("last_error: %s", json_string_value(json_object_get(d, "last_error")));
	print_message("policy: %s\n", json_string_value(json_object_get(d, "last_error")));
	json_decref(st);
	vmtest_down(&t, false);
}

FAULT_TESTS(cold, false, "hang")
FAULT_TESTS(spare, true, "watchdog")

static int setup(void **state)
{
	int i;

	g.rng = SEED;
	for (i = 0; i < QD; i++) {
		g.slots[i].buf = aligned_alloc(4096, MAX_IO);
		if (!g.slots[i].buf)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	if (g.blk)
		ddvm_blk_close(g.blk);
	if (g.up)
		vmtest_down(&g.t, true);	/* kept for a look at the logs */
	for (int i = 0; i < QD; i++)
		free(g.slots[i].buf);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cold_kill),
		cmocka_unit_test(test_cold_panic),
		cmocka_unit_test(test_cold_hang),
		cmocka_unit_test(test_cold_oops),
		cmocka_unit_test(test_cold_wedge),
		cmocka_unit_test(test_cold_corrupt),
		cmocka_unit_test(test_cold_image),
		cmocka_unit_test(test_spare_kill),
		cmocka_unit_test(test_spare_panic),
		cmocka_unit_test(test_spare_hang),
		cmocka_unit_test(test_spare_oops),
		cmocka_unit_test(test_spare_wedge),
		cmocka_unit_test(test_spare_corrupt),
		cmocka_unit_test(test_spare_image),
		cmocka_unit_test(test_gives_up),
	};

	/* FAULTS_FILTER=test_corrupt: one fault alone, when chasing it */
	if (getenv("FAULTS_FILTER"))
		cmocka_set_test_filter(getenv("FAULTS_FILTER"));
	return cmocka_run_group_tests(tests, setup, teardown);
}
