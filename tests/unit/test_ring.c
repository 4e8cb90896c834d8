// SPDX-License-Identifier: GPL-2.0
/*
 * The SPSC ring of include/ddvm/ring.h: a million entries between two
 * processes with notification suppression, hostile peer indices (including
 * the legal wrap at 2^32), and ddvm_need_event against a reference.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ddvm/ring.h>

/* ------------------------------------------------------------ helpers */

struct entry {
	uint64_t seq;
	uint64_t check;
};

/* splitmix64: a checksum that differs for every sequence number */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Bind a ring view whose indices all start at @start: the region's ring
 * indices and the private ones, as a ring that has already run @start
 * entries would have them.  Lets the tests cross 2^32 quickly.
 */
static void ring_bind_at(struct ddvm_ring *r, void *base, const struct ddvm_ring_layout *l,
			 uint32_t start)
{
	ddvm_ring_init(r, base, l);
	r->local = start;
	r->peer = start;
}

static void ring_ctl_set(struct ddvm_ring_ctl *ctl, uint32_t start)
{
	ctl->prod = start;
	ctl->cons = start;
	ctl->cons_event = start;
	ctl->prod_event = start;
}

/*
 * A ring whose last entry ends exactly at a page boundary followed by an
 * inaccessible page, with another one in front: an access past the ring's
 * entries (or before its control block's page) faults.  The unit tests are
 * built without ASan; this is their bounds check.
 */
struct guarded {
	void *map;
	size_t map_len;
	void *base;			/* region start the layout's offset is from */
	struct ddvm_ring_layout l;
	struct ddvm_ring_ctl *ctl;
	unsigned char *ents;		/* first entry */
	unsigned char *end;		/* one past the last entry */
};

static void guarded_ring(struct guarded *g, uint32_t entries, uint32_t entry_size)
{
	size_t bytes = DDVM_RING_CTL_SIZE + (size_t)entries * entry_size;
	size_t pages = (bytes + 4095) / 4096;
	unsigned char *mid, *ring;

	g->map_len = (pages + 2) * 4096;
	g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->map != MAP_FAILED);
	mid = (unsigned char *)g->map + 4096;
	assert_int_equal(mprotect(g->map, 4096, PROT_NONE), 0);
	assert_int_equal(mprotect(mid + pages * 4096, 4096, PROT_NONE), 0);
	ring = mid + pages * 4096 - bytes;
	assert_int_equal((uintptr_t)ring & 63, 0);
	g->l = (struct ddvm_ring_layout){ .off = DDVM_HDR_SIZE, .entries = entries,
					  .entry_size = entry_size };
	g->base = ring - DDVM_HDR_SIZE;	/* never dereferenced: only base + off is */
	g->ctl = (struct ddvm_ring_ctl *)ring;
	g->ents = ring + DDVM_RING_CTL_SIZE;
	g->end = mid + pages * 4096;
}

static void guarded_free(struct guarded *g)
{
	munmap(g->map, g->map_len);
}

/* The slot the ring would use for @idx lies inside the ring's entries. */
static void assert_slot_inside(struct guarded *g, struct ddvm_ring *r, uint32_t idx)
{
	unsigned char *p = ddvm_ring_entry(r, idx);

	assert_true(p >= g->ents);
	assert_true(p + r->entry_size <= g->end);
}

/* --------------------------------------------- two processes, 1M entries */

#define STREAM_ENTRIES		64
#define STREAM_COUNT		1000000ull
#define STREAM_START		(UINT32_MAX - 300000u)	/* crosses 2^32 mid-stream */
#define STREAM_SLEEP_MS		5000	/* a wake-up that takes this long is a lost one */
#define STREAM_DEADLINE_S	30

/* What the producer child reports, in memory shared with the parent. */
struct stream_stats {
	uint64_t produced;
	uint64_t doorbells;	/* producer -> consumer rings */
	uint64_t sleeps;	/* producer waits for room */
	uint64_t publishes;
	char error[160];	/* empty if the producer finished cleanly */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep until @efd is rung.  Return: 0, or -ETIMEDOUT/-errno. */
static int efd_sleep(int efd)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	uint64_t v;
	int n = poll(&pfd, 1, STREAM_SLEEP_MS);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (!n)
		return -ETIMEDOUT;
	if (read(efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int efd_ring(int efd)
{
	uint64_t one = 1;

	return write(efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

/*
 * The producer: fills what is free in batches of varying size (1..13) so
 * publishes land at every phase of the consumer's arm/sleep cycle, rings
 * the consumer only when ddvm_ring_publish says so, and sleeps when the
 * ring stays full after ddvm_ring_arm_room.  The consumer (the parent)
 * alternates between taking everything and taking 1..17 at a time.
 */
static void stream_producer(void *base, const struct ddvm_ring_layout *l, int prod_efd,
			    int cons_efd, struct stream_stats *st)
{
	struct ddvm_ring r;
	uint64_t seq = 0;
	uint32_t old;
	int n, ret;

	ring_bind_at(&r, base, l, STREAM_START);
	while (seq < STREAM_COUNT) {
		n = ddvm_ring_free(&r);
		if (n == 0)
			n = ddvm_ring_arm_room(&r);
		if (n < 0 || n > STREAM_ENTRIES) {
			snprintf(st->error, sizeof(st->error), "free() = %d at seq %llu", n,
				 (unsigned long long)seq);
			return;
		}
		if (n == 0) {
			st->sleeps++;
			ret = efd_sleep(prod_efd);
			if (ret) {
				snprintf(st->error, sizeof(st->error),
					 "no room wake-up at seq %llu (%d): lost wake-up",
					 (unsigned long long)seq, ret);
				return;
			}
			continue;
		}
		if (n > (int)(1 + seq % 13))
			n = (int)(1 + seq % 13);
		old = r.local;
		for (; n > 0 && seq < STREAM_COUNT; n--, seq++) {
			struct entry *e = ddvm_ring_next(&r);

			e->seq = seq;
			e->check = mix(seq);
			r.local++;
		}
		st->publishes++;
		if (ddvm_ring_publish(&r, old)) {
			st->doorbells++;
			if (efd_ring(cons_efd)) {
				snprintf(st->error, sizeof(st->error), "ringing the consumer");
				return;
			}
		}
		st->produced = seq;
	}
}

static void test_stream_two_processes(void **state)
{
	size_t region_size = 64 << 10;
	struct ddvm_ring_layout l = { .off = DDVM_HDR_SIZE, .entries = STREAM_ENTRIES,
				      .entry_size = sizeof(struct entry) };
	int memfd, prod_efd, cons_efd, n, ret, status;
	uint64_t expect = 0, bad = 0, cons_doorbells = 0, cons_sleeps = 0, max_avail = 0;
	int64_t deadline = mono_ms() + STREAM_DEADLINE_S * 1000;
	struct stream_stats *st;
	char why[160] = "";
	struct ddvm_ring r;
	struct entry e;
	void *base;
	pid_t pid;
	uint32_t old;

	memfd = memfd_create("ring-test", MFD_CLOEXEC);
	assert_true(memfd >= 0);
	assert_int_equal(ftruncate(memfd, (off_t)region_size), 0);
	base = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	assert_true(base != MAP_FAILED);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(st != MAP_FAILED);
	prod_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cons_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(prod_efd >= 0 && cons_efd >= 0);
	ring_ctl_set((struct ddvm_ring_ctl *)((char *)base + l.off), STREAM_START);

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		stream_producer(base, &l, prod_efd, cons_efd, st);
		_exit(st->error[0] ? 1 : 0);
	}

	/* the consumer: take all that is there, hand it back, arm before sleeping */
	ring_bind_at(&r, base, &l, STREAM_START);
	while (expect < STREAM_COUNT && !why[0]) {
		n = ddvm_ring_avail(&r);
		if (n == 0)
			n = ddvm_ring_arm(&r);
		if (n < 0 || n > STREAM_ENTRIES) {
			snprintf(why, sizeof(why), "avail() = %d at seq %llu", n,
				 (unsigned long long)expect);
			break;
		}
		if (n == 0) {
			if (mono_ms() > deadline) {
				snprintf(why, sizeof(why), "not done in %d s", STREAM_DEADLINE_S);
				break;
			}
			cons_sleeps++;
			ret = efd_sleep(cons_efd);
			if (ret)
				snprintf(why, sizeof(why),
					 "no entry wake-up at seq %llu (%d): lost wake-up",
					 (unsigned long long)expect, ret);
			continue;
		}
		if ((uint64_t)n > max_avail)
			max_avail = n;
		/* hand slots back in varying amounts too, not always all of them */
		if (expect & 0x10000)
			n = n < (int)(1 + expect % 17) ? n : (int)(1 + expect % 17);
		old = r.local;
		while (n-- > 0) {
			ddvm_ring_take(&r, &e);
			if (e.seq != expect || e.check != mix(e.seq))
				bad++;
			expect++;
		}
		if (ddvm_ring_consumed(&r, old)) {
			cons_doorbells++;
			if (efd_ring(prod_efd))
				snprintf(why, sizeof(why), "ringing the producer failed");
		}
	}

	/* the child never outlives the test, whatever happened */
	if (why[0])
		kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (why[0])
		fail_msg("consumer: %s", why);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("producer: %s (status %#x)", st->error, status);

	print_message("      %llu entries, %llu publishes; doorbells: %llu to consumer, "
		      "%llu to producer; sleeps: consumer %llu, producer %llu; largest batch %llu\n",
		      (unsigned long long)expect, (unsigned long long)st->publishes,
		      (unsigned long long)st->doorbells, (unsigned long long)cons_doorbells,
		      (unsigned long long)cons_sleeps, (unsigned long long)st->sleeps,
		      (unsigned long long)max_avail);
	assert_int_equal(expect, STREAM_COUNT);
	assert_int_equal(st->produced, STREAM_COUNT);
	assert_int_equal(bad, 0);
	/* both ends wrapped: the indices passed 2^32 */
	assert_true(r.local < STREAM_START);
	/* suppression: far fewer doorbells than entries, in both directions together */
	assert_true((st->doorbells + cons_doorbells) * 10 < STREAM_COUNT);

	munmap(st, sizeof(*st));
	munmap(base, region_size);
	close(memfd);
	close(prod_efd);
	close(cons_efd);
}

/* ------------------------------------------------------ hostile indices */

#define HOSTILE_ENTRIES	16

/* Start values: zero, small, and every phase just below and at 2^32. */
static const uint32_t starts[] = {
	0, 1, 7, 0x7fffffffu, 0x80000000u, UINT32_MAX - HOSTILE_ENTRIES - 1,
	UINT32_MAX - HOSTILE_ENTRIES, UINT32_MAX - 9, UINT32_MAX - 1, UINT32_MAX,
};

/* The consumer never accepts a producer index beyond what the ring holds. */
static void test_consumer_prod_jumps_beyond(void **state)
{
	const uint32_t E = HOSTILE_ENTRIES;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint32_t s = starts[i];
		struct guarded g;
		struct ddvm_ring c;
		struct entry e;

		guarded_ring(&g, E, sizeof(struct entry));
		ring_ctl_set(g.ctl, s);
		ring_bind_at(&c, g.base, &g.l, s);

		g.ctl->prod = s + E + 1;
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		g.ctl->prod = s + 0x80000000u;
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		g.ctl->prod = s + UINT32_MAX;		/* i.e. s - 1 */
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		/* the refused values left no trace */
		assert_int_equal(c.peer, s);
		assert_int_equal(c.local, s);

		g.ctl->prod = s + E;			/* exactly full: legal */
		assert_int_equal(ddvm_ring_avail(&c), E);
		for (uint32_t k = 0; k < 5; k++) {
			assert_slot_inside(&g, &c, c.local);
			ddvm_ring_take(&c, &e);
		}
		/* five taken: the producer may now be five further, not six */
		g.ctl->prod = s + E + 5;
		assert_int_equal(ddvm_ring_avail(&c), E);
		g.ctl->prod = s + E + 6;
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		assert_int_equal(c.peer, s + E + 5);
		guarded_free(&g);
	}
}

/* A producer index that goes backwards is refused, even by one. */
static void test_consumer_prod_goes_backwards(void **state)
{
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint32_t s = starts[i];
		struct guarded g;
		struct ddvm_ring c;
		struct entry e;

		guarded_ring(&g, HOSTILE_ENTRIES, sizeof(struct entry));
		ring_ctl_set(g.ctl, s);
		ring_bind_at(&c, g.base, &g.l, s);

		g.ctl->prod = s + 10;
		assert_int_equal(ddvm_ring_avail(&c), 10);
		g.ctl->prod = s + 9;
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		g.ctl->prod = s + 10;			/* back to what we saw: fine */
		assert_int_equal(ddvm_ring_avail(&c), 10);
		for (int k = 0; k < 10; k++)
			ddvm_ring_take(&c, &e);
		assert_int_equal(ddvm_ring_avail(&c), 0);
		g.ctl->prod = s + 9;			/* behind what we consumed */
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		g.ctl->prod = s;
		assert_int_equal(ddvm_ring_avail(&c), -EPROTO);
		/* ddvm_ring_arm looks at the same index and refuses the same way */
		assert_int_equal(ddvm_ring_arm(&c), -EPROTO);
		assert_int_equal(g.ctl->cons_event, s + 10);
		guarded_free(&g);
	}
}

/* The producer never accepts a consumer index it did not make possible. */
static void test_producer_cons_runs_ahead(void **state)
{
	const uint32_t E = HOSTILE_ENTRIES;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint32_t s = starts[i];
		struct guarded g;
		struct ddvm_ring p;
		uint32_t old;

		guarded_ring(&g, E, sizeof(struct entry));
		ring_ctl_set(g.ctl, s);
		ring_bind_at(&p, g.base, &g.l, s);

		assert_int_equal(ddvm_ring_free(&p), E);
		g.ctl->cons = s + 1;			/* consumed what was never produced */
		assert_int_equal(ddvm_ring_free(&p), -EPROTO);
		g.ctl->cons = s;

		old = p.local;
		for (int k = 0; k < 5; k++) {
			assert_slot_inside(&g, &p, p.local);
			memset(ddvm_ring_next(&p), k, sizeof(struct entry));
			p.local++;
		}
		ddvm_ring_publish(&p, old);
		assert_int_equal(ddvm_ring_free(&p), E - 5);
		g.ctl->cons = s + 6;
		assert_int_equal(ddvm_ring_free(&p), -EPROTO);
		g.ctl->cons = s + 0x80000000u;
		assert_int_equal(ddvm_ring_free(&p), -EPROTO);
		g.ctl->cons = s + 3;
		assert_int_equal(ddvm_ring_free(&p), E - 2);
		g.ctl->cons = s + 2;			/* backwards */
		assert_int_equal(ddvm_ring_free(&p), -EPROTO);
		g.ctl->cons = s - 1;			/* before anything was produced */
		assert_int_equal(ddvm_ring_free(&p), -EPROTO);
		assert_int_equal(ddvm_ring_arm_room(&p), -EPROTO);
		assert_int_equal(p.peer, s + 3);
		g.ctl->cons = s + 5;			/* all consumed */
		assert_int_equal(ddvm_ring_free(&p), E);
		guarded_free(&g);
	}
}

/* Full cycles across 2^32 through the API on both ends, for every start phase. */
static void test_legal_wrap(void **state)
{
	const uint32_t E = HOSTILE_ENTRIES;

	for (uint32_t back = 0; back <= 3 * E; back++) {
		uint32_t s = UINT32_MAX - back;
		uint64_t seq = 0, got = 0;
		struct guarded g;
		struct ddvm_ring p, c;
		struct entry e;
		uint32_t old;
		int n;

		guarded_ring(&g, E, sizeof(struct entry));
		ring_ctl_set(g.ctl, s);
		ring_bind_at(&p, g.base, &g.l, s);
		ring_bind_at(&c, g.base, &g.l, s);
		for (int round = 0; round < 8; round++) {
			n = ddvm_ring_free(&p);
			assert_int_equal(n, E);		/* the consumer emptied it */
			old = p.local;
			for (; n > 0; n--, seq++) {
				e = (struct entry){ seq, mix(seq) };
				assert_slot_inside(&g, &p, p.local);
				memcpy(ddvm_ring_next(&p), &e, sizeof(e));
				p.local++;
			}
			ddvm_ring_publish(&p, old);
			assert_int_equal(ddvm_ring_free(&p), 0);
			n = ddvm_ring_avail(&c);
			assert_int_equal(n, E);
			old = c.local;
			for (; n > 0; n--, got++) {
				assert_slot_inside(&g, &c, c.local);
				ddvm_ring_take(&c, &e);
				assert_int_equal(e.seq, got);
				assert_int_equal(e.check, mix(got));
			}
			ddvm_ring_consumed(&c, old);
			assert_int_equal(ddvm_ring_avail(&c), 0);
		}
		assert_int_equal(got, 8 * E);
		assert_int_equal(g.ctl->prod, (uint32_t)(s + 8 * E));	/* wrapped */
		assert_int_equal(g.ctl->cons, (uint32_t)(s + 8 * E));
		guarded_free(&g);
	}
}

/* xorshift64*: deterministic randomness for the model test */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* A peer index near @ref: sometimes legal, sometimes just off, sometimes wild. */
static uint32_t hostile_value(uint64_t *x, uint32_t ref, uint32_t entries)
{
	switch (rnd(x) % 4) {
	case 0:
		return (uint32_t)rnd(x);
	case 1:
		return ref + (uint32_t)(rnd(x) % (2 * entries + 3)) - entries - 1;
	default:
		return ref + (uint32_t)(rnd(x) % (entries + 2));
	}
}

/*
 * Random steps on both ends against a model in unwrapped 64-bit counters
 * (a different formulation from ring.h's u32 arithmetic): each end accepts
 * an index exactly when the model says it is possible, and never returns a
 * count that would read or fill a slot it does not own.
 */
static void test_model_random_indices(void **state)
{
	const uint32_t E = HOSTILE_ENTRIES;
	uint64_t x = 0x1234567887654321ull, refused_c = 0, refused_p = 0;
	struct guarded g;
	struct ddvm_ring c, p;
	struct entry e;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint32_t s = starts[i];
		/* consumer model: taken <= seen <= taken + E; producer: acked <= cons <= filled */
		uint64_t c_taken = s, c_seen = s, p_filled = s, p_acked = s;

		guarded_ring(&g, E, sizeof(struct entry));
		ring_ctl_set(g.ctl, s);
		ring_bind_at(&c, g.base, &g.l, s);
		ring_bind_at(&p, g.base, &g.l, s);
		for (int step = 0; step < 20000; step++) {
			uint32_t v;
			uint64_t fwd, want;
			int n;

			/* consumer end */
			v = hostile_value(&x, (uint32_t)c_seen, E);
			g.ctl->prod = v;
			fwd = c_seen + (uint32_t)(v - (uint32_t)c_seen);
			n = ddvm_ring_avail(&c);
			if (fwd > c_taken + E) {
				assert_int_equal(n, -EPROTO);
				refused_c++;
			} else {
				c_seen = fwd;
				want = c_seen - c_taken;
				assert_int_equal(n, (int)want);
				assert_true(n <= (int)E);
				for (int k = (int)(rnd(&x) % (want + 1)); k > 0; k--, c_taken++) {
					assert_slot_inside(&g, &c, c.local);
					ddvm_ring_take(&c, &e);
				}
			}
			assert_int_equal(c.local, (uint32_t)c_taken);

			/* producer end */
			v = hostile_value(&x, (uint32_t)p_acked, E);
			g.ctl->cons = v;
			fwd = p_acked + (uint32_t)(v - (uint32_t)p_acked);
			n = ddvm_ring_free(&p);
			if (fwd > p_filled) {
				assert_int_equal(n, -EPROTO);
				refused_p++;
			} else {
				p_acked = fwd;
				want = E - (p_filled - p_acked);
				assert_int_equal(n, (int)want);
				for (int k = (int)(rnd(&x) % (want + 1)); k > 0; k--, p_filled++) {
					assert_slot_inside(&g, &p, p.local);
					memset(ddvm_ring_next(&p), 0x5a, sizeof(struct entry));
					p.local++;
				}
			}
			assert_int_equal(p.local, (uint32_t)p_filled);
		}
		guarded_free(&g);
	}
	/* the generator produced both kinds of value */
	assert_true(refused_c > 1000 && refused_p > 1000);
}

/* ------------------------------------------------- notification helpers */

static void test_need_event_table(void **state)
{
	static const struct {
		uint32_t event, new_idx, old_idx;
		bool want;
	} t[] = {
		{ 0, 1, 0, true },			/* event is the first new entry */
		{ 0, 0, 0, false },			/* nothing new: never ring */
		{ 5, 5, 5, false },
		{ 4, 10, 5, false },			/* event already passed before old */
		{ 5, 10, 5, true },			/* event == old */
		{ 9, 10, 5, true },			/* event == new - 1 */
		{ 10, 10, 5, false },			/* event == new: not passed yet */
		{ 11, 10, 5, false },
		/* around 2^32 */
		{ UINT32_MAX, 2, UINT32_MAX - 1, true },
		{ UINT32_MAX - 1, 2, UINT32_MAX - 1, true },
		{ 1, 2, UINT32_MAX - 1, true },
		{ 0, 2, UINT32_MAX - 1, true },
		{ 2, 2, UINT32_MAX - 1, false },
		{ UINT32_MAX - 2, 2, UINT32_MAX - 1, false },
		{ UINT32_MAX, 0, UINT32_MAX, true },	/* one entry, crossing zero */
		{ 0, 0, UINT32_MAX, false },
		{ UINT32_MAX, UINT32_MAX, UINT32_MAX, false },
		/* a batch as large as the index space allows minus one */
		{ 0x80000000u, 0xffffffffu, 0, true },
		{ 0xffffffffu, 0xffffffffu, 0, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (ddvm_need_event(t[i].event, t[i].new_idx, t[i].old_idx) != t[i].want)
			fail_msg("need_event(event %#x, new %#x, old %#x) != %d", t[i].event,
				 t[i].new_idx, t[i].old_idx, t[i].want);
	}
}

/* Every small window around 0 and 2^31, against "event in [old, new)". */
static void test_need_event_exhaustive(void **state)
{
	static const uint32_t centres[] = { 0, 0x80000000u, 12345 };

	for (size_t ci = 0; ci < 3; ci++) {
		for (int64_t o = -20; o <= 20; o++) {
			for (int64_t d = 0; d <= 20; d++) {
				for (int64_t ev = -45; ev <= 45; ev++) {
					uint32_t old = centres[ci] + (uint32_t)o;
					uint32_t new_idx = old + (uint32_t)d;
					uint32_t event = centres[ci] + (uint32_t)ev;
					/* in unwrapped terms: event - old in [0, d) */
					int64_t rel = ev - o;
					bool want = rel >= 0 && rel < d;

					if (ddvm_need_event(event, new_idx, old) != want)
						fail_msg("need_event(%#x, %#x, %#x) != %d", event,
							 new_idx, old, want);
				}
			}
		}
	}
}

/* Publish and consume ring only when the other end armed, once per arm. */
static void test_suppression_single_process(void **state)
{
	const uint32_t E = HOSTILE_ENTRIES;
	struct guarded g;
	struct ddvm_ring p, c;
	struct entry e = { 0 };
	uint32_t old;

	guarded_ring(&g, E, sizeof(e));
	ring_ctl_set(g.ctl, UINT32_MAX - 2);
	ring_bind_at(&p, g.base, &g.l, UINT32_MAX - 2);
	ring_bind_at(&c, g.base, &g.l, UINT32_MAX - 2);

	/* a fresh ring: cons_event == prod, the first entry rings */
	old = p.local++;
	assert_true(ddvm_ring_publish(&p, old));
	old = p.local++;
	assert_false(ddvm_ring_publish(&p, old));	/* consumer did not re-arm */

	/* arming with entries waiting says so instead of sleeping */
	assert_int_equal(ddvm_ring_arm(&c), 2);
	old = c.local;
	ddvm_ring_take(&c, &e);
	ddvm_ring_take(&c, &e);
	assert_true(ddvm_ring_consumed(&c, old));	/* prod_event starts at the start */
	assert_int_equal(ddvm_ring_arm(&c), 0);		/* now it would sleep */
	old = p.local;
	p.local += 3;
	assert_true(ddvm_ring_publish(&p, old));	/* its wake-up, across 2^32 */
	old = p.local++;
	assert_false(ddvm_ring_publish(&p, old));

	/* producer fills the ring, arms for room: the first consumed() rings, once */
	assert_int_equal(ddvm_ring_free(&p), E - 4);
	old = p.local;
	p.local += E - 4;
	ddvm_ring_publish(&p, old);
	assert_int_equal(ddvm_ring_free(&p), 0);
	assert_int_equal(ddvm_ring_arm_room(&p), 0);
	assert_int_equal(ddvm_ring_avail(&c), E);
	old = c.local;
	ddvm_ring_take(&c, &e);
	assert_true(ddvm_ring_consumed(&c, old));
	old = c.local;
	ddvm_ring_take(&c, &e);
	assert_false(ddvm_ring_consumed(&c, old));
	assert_int_equal(ddvm_ring_free(&p), 2);
	/* arm_room with room already there returns it rather than sleeping */
	assert_int_equal(ddvm_ring_arm_room(&p), 2);
	guarded_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_need_event_table),
		cmocka_unit_test(test_need_event_exhaustive),
		cmocka_unit_test(test_suppression_single_process),
		cmocka_unit_test(test_consumer_prod_jumps_beyond),
		cmocka_unit_test(test_consumer_prod_goes_backwards),
		cmocka_unit_test(test_producer_cons_runs_ahead),
		cmocka_unit_test(test_legal_wrap),
		cmocka_unit_test(test_model_random_indices),
		cmocka_unit_test(test_stream_two_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
