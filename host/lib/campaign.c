// SPDX-License-Identifier: GPL-2.0
/* Fault campaign: verified random I/O through a channel while its DD/OS is made to fail. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "campaign.h"
#include "chan_client.h"
#include "pattern.h"
#include "state.h"

#define CAMPAIGN_MAX_IO		(64u << 10)
#define CAMPAIGN_REAP_MS	50
#define CAMPAIGN_GAP_MIN_MS	500
#define CAMPAIGN_GAP_MAX_MS	3000
#define CAMPAIGN_SPARE_WAIT_MS	60000	/* a spare boots in seconds; a minute means trouble */
#define CAMPAIGN_SERVE_WAIT_MS	60000	/* domain back to "serving" before the next fault */
#define CAMPAIGN_CAUSE_WAIT_MS	10000	/* the supervisor's record of the restart */
#define CAMPAIGN_READ_PERCENT	30

const char *const ddvm_campaign_kinds[DDVM_CAMPAIGN_NR_KINDS] = {
	"kill", "panic", "hang", "oops", "wedge", "corrupt",
};

static bool sector_written(const struct ddvm_campaign *c, uint64_t sec)
{
	return c->written[sec / 8] & (1u << (sec % 8));
}

static bool overlaps_busy(const struct ddvm_campaign *c, uint64_t off, uint32_t len)
{
	for (unsigned int i = 0; i < c->qd; i++) {
		const struct ddvm_blk_io *io = &c->slots[i].io;

		if (c->slots[i].busy && off < io->offset + io->len && io->offset < off + len)
			return true;
	}
	return false;
}

/*
 * A random write of the pattern, or a read, that overlaps nothing in
 * flight: then a read must see exactly the acknowledged state.  Reads go
 * mostly to written sectors, where they check the most.
 */
static int submit_one(struct ddvm_campaign *c, struct ddvm_campaign_slot *s)
{
	uint32_t max = ddvm_blk_max_io(c->blk), len;
	uint64_t off;
	bool read;

	if (max > CAMPAIGN_MAX_IO)
		max = CAMPAIGN_MAX_IO;
	read = ddvm_rand_next(&c->rng) % 100 < CAMPAIGN_READ_PERCENT;
	do {
		len = (uint32_t)(1 + ddvm_rand_next(&c->rng) % (max / 4096)) * 4096;
		off = ddvm_rand_next(&c->rng) % ((c->disk_size - len) / 4096 + 1) * 4096;
	} while (overlaps_busy(c, off, len));
	memset(&s->io, 0, sizeof(s->io));
	s->io.op = read ? DDVM_BLK_READ : DDVM_BLK_WRITE;
	s->io.offset = off;
	s->io.len = len;
	s->io.buf = s->buf;
	s->io.priv = s;
	if (read)
		memset(s->buf, 0xee, len);
	else
		ddvm_pattern_fill(s->buf, len, off, c->seed);
	s->busy = true;
	return ddvm_blk_submit(c->blk, &s->io);
}

static void complete_one(struct ddvm_campaign *c, struct ddvm_blk_io *io,
			 struct ddvm_campaign_fault *f)
{
	static const uint8_t zero[512];
	struct ddvm_campaign_slot *s = io->priv;
	uint64_t sec, first = io->offset / 512, n = io->len / 512;
	bool bad = false;

	if (!s || !s->busy) {
		c->doubled++;
		return;
	}
	s->busy = false;
	if (io->status) {
		c->client_errors++;
		if (f)
			f->client_errors++;
		return;
	}
	if (io->op == DDVM_BLK_WRITE) {
		for (sec = first; sec < first + n; sec++)
			c->written[sec / 8] |= (uint8_t)(1u << (sec % 8));
		c->writes++;
		c->bytes_written += io->len;
		return;
	}
	for (sec = first; sec < first + n && !bad; sec++) {
		const uint8_t *p = s->buf + (sec - first) * 512;

		if (sector_written(c, sec))
			bad = ddvm_pattern_check(p, 512, sec * 512, c->seed) != UINT64_MAX;
		else
			bad = memcmp(p, zero, 512) != 0;
	}
	c->reads++;
	c->bytes_read += io->len;
	if (bad) {
		c->mismatches++;
		if (f)
			f->mismatches++;
	}
}

/*
 * Top the queue up, reap what completes within CAMPAIGN_REAP_MS.
 * Return: completions reaped, or -errno when the channel is unusable.
 */
static int io_step(struct ddvm_campaign *c, struct ddvm_campaign_fault *f)
{
	struct ddvm_blk_io *done[DDVM_CAMPAIGN_QD_MAX];
	int i, got, ret;

	for (i = 0; i < (int)c->qd; i++) {
		if (c->slots[i].busy)
			continue;
		ret = submit_one(c, &c->slots[i]);
		if (ret) {
			c->slots[i].busy = false;
			snprintf(c->fatal, sizeof(c->fatal), "submit: %s", strerror(-ret));
			return ret;
		}
	}
	got = ddvm_blk_reap(c->blk, done, (int)c->qd, CAMPAIGN_REAP_MS);
	if (got < 0) {
		snprintf(c->fatal, sizeof(c->fatal), "reap: %s (the channel is unusable)",
			 strerror(-got));
		return got;
	}
	for (i = 0; i < got; i++)
		complete_one(c, done[i], f);
	return got;
}

static int io_for(struct ddvm_campaign *c, long long ms)
{
	long long end = ddvm_now_ms() + ms;
	int ret;

	while (ddvm_now_ms() < end) {
		ret = io_step(c, NULL);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The domain's entry in state.json, or NULL (the caller json_decrefs *st). */
static json_t *domain_state(const struct ddvm_campaign *c, json_t **st)
{
	struct ddvm_err err;
	json_t *doms, *d;
	size_t i;

	*st = NULL;
	if (ddvm_state_load(c->run_dir, st, &err))
		return NULL;
	doms = json_object_get(*st, "domains");
	json_array_foreach(doms, i, d)
		if (!strcmp(json_string_value(json_object_get(d, "name")) ?: "", c->domain))
			return d;
	return NULL;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "";
}

/* restarts so far, -1 if unknown; whether it serves, with a spare ready if wanted */
static long long domain_poll(const struct ddvm_campaign *c, bool *ready, char *state,
			     size_t len)
{
	json_t *st, *d = domain_state(c, &st);
	long long restarts = -1;

	*ready = false;
	if (state)
		snprintf(state, len, "%s", d ? jstr(d, "state") : "?");
	if (d) {
		restarts = json_integer_value(json_object_get(d, "restarts"));
		*ready = !strcmp(jstr(d, "state"), "serving") &&
			 json_integer_value(json_object_get(d, "qemu_pid")) > 0 &&
			 (!c->spare || !strcmp(jstr(json_object_get(d, "spare"), "state"), "ready"));
	}
	json_decref(st);
	return restarts;
}

/* Keep I/O going until the domain is fit for the next fault. */
static int wait_fit(struct ddvm_campaign *c)
{
	long long end = ddvm_now_ms() + (c->spare ? CAMPAIGN_SPARE_WAIT_MS : CAMPAIGN_SERVE_WAIT_MS);
	char state[32];
	bool ready;
	int ret;

	for (;;) {
		domain_poll(c, &ready, state, sizeof(state));
		if (ready)
			return 0;
		if (!strcmp(state, "failed") || ddvm_now_ms() > end) {
			snprintf(c->fatal, sizeof(c->fatal),
				 "domain %s not ready for the next fault (state %s%s)", c->domain,
				 state, c->spare ? ", or its warm spare not ready" : "");
			return -ETIMEDOUT;
		}
		ret = io_for(c, 200);
		if (ret)
			return ret;
	}
}

struct injector {
	struct ddvm_campaign *c;
	const char *kind;
	char out[256];
	int status;
	atomic_bool done;
};

/* The injector runs beside the I/O: the workload must not pause for it. */
static void *inject_thread(void *arg)
{
	struct injector *in = arg;

	in->status = in->c->inject(in->c->inject_arg, in->kind, in->out, sizeof(in->out));
	atomic_store(&in->done, true);
	return NULL;
}

/* The supervisor's record of the restart: its cause and detection-to-ready time. */
static int record_cause(struct ddvm_campaign *c, struct ddvm_campaign_fault *f,
			long long restarts0)
{
	long long end = ddvm_now_ms() + CAMPAIGN_CAUSE_WAIT_MS;
	json_t *st, *d, *log, *last;
	bool ready;
	int ret;

	while (domain_poll(c, &ready, NULL, 0) <= restarts0 && ddvm_now_ms() < end) {
		ret = io_for(c, 100);
		if (ret)
			return ret;
	}
	d = domain_state(c, &st);
	if (d && json_integer_value(json_object_get(d, "restarts")) > restarts0) {
		snprintf(f->cause, sizeof(f->cause), "%s", jstr(d, "last_restart_cause"));
		log = json_object_get(d, "restart_log");
		last = json_array_get(log, json_array_size(log) - 1);
		if (last && json_object_get(last, "ready_ms"))
			f->ready_ms = json_integer_value(json_object_get(last, "ready_ms"));
	}
	json_decref(st);
	return 0;
}

/* Inject f->kind, keep I/O going until the client completes I/O on a new server. */
static int one_fault(struct ddvm_campaign *c, struct ddvm_campaign_fault *f)
{
	struct injector in = { .c = c, .kind = ddvm_campaign_kinds[f->kind] };
	struct ddvm_blk_stats before, st;
	long long t0, restarts0;
	bool ready, joined = false;
	int ret = 0, got;
	pthread_t thr;

	restarts0 = domain_poll(c, &ready, NULL, 0);
	ddvm_blk_get_stats(c->blk, &before);
	f->recovery_ms = -1;
	f->ready_ms = -1;
	atomic_init(&in.done, false);
	t0 = ddvm_now_ms();
	ret = pthread_create(&thr, NULL, inject_thread, &in);
	if (ret) {
		snprintf(c->fatal, sizeof(c->fatal), "cannot start the injector: %s",
			 strerror(ret));
		return -ret;
	}
	for (;;) {
		got = io_step(c, f);
		if (got < 0) {
			ret = got;
			break;
		}
		ddvm_blk_get_stats(c->blk, &st);
		if (got > 0 && st.generations > before.generations) {
			f->recovered = true;
			f->recovery_ms = ddvm_now_ms() - t0;
			break;
		}
		if (!joined && atomic_load(&in.done)) {
			pthread_join(thr, NULL);
			joined = true;
			/* keep waiting: a fault may strike even when the injector says it failed */
			if (in.status)
				snprintf(f->error, sizeof(f->error), "inject: %.*s",
					 (int)strcspn(in.out, "\n"), in.out);
		}
		if (ddvm_now_ms() - t0 > c->recover_ms) {
			if (!f->error[0])
				snprintf(f->error, sizeof(f->error),
					 "no completion on a new server within %u ms", c->recover_ms);
			break;
		}
	}
	if (!joined)
		pthread_join(thr, NULL);
	if (!ret && in.status && !f->error[0])
		snprintf(f->error, sizeof(f->error), "inject: %.*s", (int)strcspn(in.out, "\n"),
			 in.out);
	if (!ret && f->recovered)
		ret = record_cause(c, f, restarts0);
	ddvm_blk_get_stats(c->blk, &st);
	f->replayed = st.replayed - before.replayed;
	f->bad_completions = st.bad_completions - before.bad_completions;
	return ret;
}

static int drain(struct ddvm_campaign *c)
{
	struct ddvm_blk_io *done[DDVM_CAMPAIGN_QD_MAX];
	long long end = ddvm_now_ms() + c->recover_ms;
	unsigned int busy, i;
	int got;

	for (;;) {
		for (busy = 0, i = 0; i < c->qd; i++)
			busy += c->slots[i].busy;
		if (!busy)
			return 0;
		if (ddvm_now_ms() > end) {
			snprintf(c->fatal, sizeof(c->fatal), "%u requests never completed", busy);
			return -ETIMEDOUT;
		}
		got = ddvm_blk_reap(c->blk, done, (int)c->qd, 100);
		if (got < 0) {
			snprintf(c->fatal, sizeof(c->fatal), "reap: %s", strerror(-got));
			return got;
		}
		for (i = 0; i < (unsigned int)got; i++)
			complete_one(c, done[i], NULL);
	}
}

static int campaign_alloc(struct ddvm_campaign *c)
{
	unsigned int i;

	if (c->qd > ddvm_blk_depth(c->blk))
		c->qd = ddvm_blk_depth(c->blk);
	if (c->qd > DDVM_CAMPAIGN_QD_MAX)
		c->qd = DDVM_CAMPAIGN_QD_MAX;
	if (!c->qd)
		c->qd = 1;
	if (ddvm_blk_info(c->blk)->capacity < c->disk_size)
		c->disk_size = ddvm_blk_info(c->blk)->capacity;
	c->disk_size &= ~4095ull;
	if (c->disk_size < CAMPAIGN_MAX_IO)
		return -EINVAL;
	c->written = calloc(c->disk_size / 512 / 8 + 1, 1);
	c->faults = calloc(c->nr_faults ? c->nr_faults : 1, sizeof(*c->faults));
	if (!c->written || !c->faults)
		return -ENOMEM;
	for (i = 0; i < c->qd; i++) {
		c->slots[i].buf = aligned_alloc(4096, CAMPAIGN_MAX_IO);
		if (!c->slots[i].buf)
			return -ENOMEM;
	}
	return 0;
}

int ddvm_campaign_run(struct ddvm_campaign *c)
{
	uint64_t krng = c->seed ^ 0x6661756c74ull;	/* faults and gaps: their own stream */
	struct ddvm_blk_stats st;
	long long t0 = ddvm_now_ms(), gap;
	int ret;

	c->rng = c->seed;
	c->first_bad = UINT64_MAX;
	ret = campaign_alloc(c);
	if (ret) {
		snprintf(c->fatal, sizeof(c->fatal), "setup: %s", strerror(-ret));
		return ret;
	}
	for (c->nr_run = 0; c->nr_run < c->nr_faults; c->nr_run++) {
		struct ddvm_campaign_fault *f = &c->faults[c->nr_run];

		gap = CAMPAIGN_GAP_MIN_MS +
		      (long long)(ddvm_rand_next(&krng) % (CAMPAIGN_GAP_MAX_MS - CAMPAIGN_GAP_MIN_MS));
		f->kind = (int)(ddvm_rand_next(&krng) % DDVM_CAMPAIGN_NR_KINDS);
		ret = io_for(c, gap);
		if (!ret)
			ret = wait_fit(c);
		if (!ret)
			ret = one_fault(c, f);
		if (ret) {
			c->nr_run++;	/* the fault that stopped it counts */
			break;
		}
		if (f->recovered)
			printf("[%u/%u] %s: recovered in %lld ms (cause %s, %llu replayed%s%s)\n",
			       c->nr_run + 1, c->nr_faults, ddvm_campaign_kinds[f->kind],
			       f->recovery_ms, f->cause[0] ? f->cause : "?",
			       (unsigned long long)f->replayed, f->error[0] ? "; " : "", f->error);
		else
			printf("[%u/%u] %s: NOT recovered: %s\n", c->nr_run + 1, c->nr_faults,
			       ddvm_campaign_kinds[f->kind], f->error);
		fflush(stdout);
		if (!f->recovered) {
			/* the next fault would only measure this one: stop unless it comes back */
			ret = wait_fit(c);
			if (ret) {
				c->nr_run++;
				break;
			}
		}
	}
	if (!ret)
		ret = io_for(c, 1000);
	if (!ret)
		ret = drain(c);
	if (!ret) {
		ret = ddvm_blk_flush(c->blk);
		if (ret)
			snprintf(c->fatal, sizeof(c->fatal), "flush: %s", strerror(-ret));
	}
	ddvm_blk_get_stats(c->blk, &st);
	c->submitted = st.submitted;
	c->completed = st.completed;
	c->replayed = st.replayed;
	c->bad_completions = st.bad_completions;
	c->seconds = (ddvm_now_ms() - t0) / 1000.0;
	return ret;
}

int ddvm_campaign_compare_image(const char *image, const uint8_t *written, uint64_t size,
				uint64_t seed, uint64_t *lost, uint64_t *stray,
				uint64_t *first_bad)
{
	static const uint8_t zero[512];
	const size_t chunk = 1 << 20;
	uint64_t off, s, b;
	uint8_t *buf;
	ssize_t n;
	int fd, ret = 0;

	*lost = *stray = 0;
	*first_bad = UINT64_MAX;
	fd = open(image, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(chunk);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	for (off = 0; off < size; off += chunk) {
		size_t want = size - off < chunk ? (size_t)(size - off) : chunk;

		n = pread(fd, buf, want, (off_t)off);
		if (n != (ssize_t)want) {
			ret = n < 0 ? -errno : -EIO;
			goto out_free;
		}
		/* count every bad sector: one number says how much was lost */
		for (s = 0; s < want / 512; s++) {
			uint64_t sector = off / 512 + s;
			const uint8_t *p = buf + s * 512;

			if (written[sector / 8] & (1u << (sector % 8))) {
				b = ddvm_pattern_check(p, 512, sector * 512, seed);
				if (b == UINT64_MAX)
					continue;
				++*lost;
			} else if (memcmp(p, zero, 512)) {
				b = sector * 512;
				++*stray;
			} else {
				continue;
			}
			if (*first_bad == UINT64_MAX)
				*first_bad = b;
		}
	}
	if (*lost || *stray)
		ret = -EIO;
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

struct kind_sum {
	unsigned int count, recovered;
	long long median_ms, worst_ms;
	uint64_t replayed, bad_completions, client_errors, mismatches;
	char causes[128];
};

static void sum_kind(const struct ddvm_campaign *c, int kind, struct kind_sum *k)
{
	long long ms[c->nr_run ? c->nr_run : 1];
	const char *seen[DDVM_CAMPAIGN_NR_KINDS * 2];
	unsigned int counts[DDVM_CAMPAIGN_NR_KINDS * 2], nseen = 0, n = 0, i, j;
	size_t used = 0;

	memset(k, 0, sizeof(*k));
	k->median_ms = k->worst_ms = -1;
	for (i = 0; i < c->nr_run; i++) {
		const struct ddvm_campaign_fault *f = &c->faults[i];
		const char *cause = f->cause[0] ? f->cause : "?";

		if (f->kind != kind)
			continue;
		k->count++;
		k->replayed += f->replayed;
		k->bad_completions += f->bad_completions;
		k->client_errors += f->client_errors;
		k->mismatches += f->mismatches;
		if (!f->recovered)
			continue;
		k->recovered++;
		ms[n++] = f->recovery_ms;
		for (j = 0; j < nseen && strcmp(seen[j], cause); j++)
			;
		if (j == nseen && nseen < DDVM_CAMPAIGN_NR_KINDS * 2) {
			seen[nseen] = cause;
			counts[nseen++] = 0;
		}
		if (j < nseen)
			counts[j]++;
	}
	if (n) {
		qsort(ms, n, sizeof(ms[0]), cmp_ll);
		k->median_ms = ms[n / 2];
		k->worst_ms = ms[n - 1];
	}
	for (j = 0; j < nseen && used < sizeof(k->causes); j++)
		used += (size_t)snprintf(k->causes + used, sizeof(k->causes) - used, "%s%s %u",
					 j ? ", " : "", seen[j], counts[j]);
}

bool ddvm_campaign_ok(const struct ddvm_campaign *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_run; i++)
		if (!c->faults[i].recovered)
			return false;
	return !c->fatal[0] && c->nr_run == c->nr_faults && c->image_checked &&
	       !c->lost_sectors && !c->stray_sectors && !c->mismatches && !c->doubled &&
	       c->submitted == c->completed && !c->client_errors;
}

void ddvm_campaign_print(const struct ddvm_campaign *c, FILE *f)
{
	struct kind_sum k;
	unsigned int rec = 0, i;
	int kind;

	fprintf(f, "\n%-8s %5s %9s %10s %9s %8s %4s  %s\n", "FAULT", "COUNT", "RECOVERED",
		"MEDIAN ms", "WORST ms", "REPLAYED", "BAD", "DETECTED AS");
	for (kind = 0; kind < DDVM_CAMPAIGN_NR_KINDS; kind++) {
		sum_kind(c, kind, &k);
		if (!k.count)
			continue;
		fprintf(f, "%-8s %5u %9u %10lld %9lld %8llu %4llu  %s\n", ddvm_campaign_kinds[kind],
			k.count, k.recovered, k.median_ms, k.worst_ms,
			(unsigned long long)k.replayed, (unsigned long long)k.bad_completions,
			k.causes);
	}
	for (i = 0; i < c->nr_run; i++)
		rec += c->faults[i].recovered;
	fprintf(f, "\nfaults: %u of %u injected, %u recovered, in %.0f s\n", c->nr_run,
		c->nr_faults, rec, c->seconds);
	fprintf(f, "I/O: %llu writes (%llu MiB), %llu reads (%llu MiB) verified; "
		   "submitted %llu, completed %llu, replayed %llu, bad completions dropped %llu\n",
		(unsigned long long)c->writes, (unsigned long long)(c->bytes_written >> 20),
		(unsigned long long)c->reads, (unsigned long long)(c->bytes_read >> 20),
		(unsigned long long)c->submitted, (unsigned long long)c->completed,
		(unsigned long long)c->replayed, (unsigned long long)c->bad_completions);
	if (c->image_checked)
		fprintf(f, "acknowledged writes lost: %llu sectors%s\n",
			(unsigned long long)c->lost_sectors,
			c->stray_sectors ? " (and never-written sectors not zero)" : "");
	else
		fprintf(f, "acknowledged writes lost: image not checked\n");
	if (c->stray_sectors)
		fprintf(f, "never-written sectors not zero: %llu\n",
			(unsigned long long)c->stray_sectors);
	if (c->first_bad != UINT64_MAX)
		fprintf(f, "first bad byte in the image: %llu\n", (unsigned long long)c->first_bad);
	fprintf(f, "corrupted reads: %llu\n", (unsigned long long)c->mismatches);
	fprintf(f, "requests completed twice: %llu (submitted - completed: %lld)\n",
		(unsigned long long)c->doubled, (long long)(c->submitted - c->completed));
	fprintf(f, "client errors: %llu\n", (unsigned long long)c->client_errors);
	for (i = 0; i < c->nr_run; i++)
		if (c->faults[i].error[0])
			fprintf(f, "fault %u (%s): %s\n", i + 1,
				ddvm_campaign_kinds[c->faults[i].kind], c->faults[i].error);
	if (c->fatal[0])
		fprintf(f, "stopped early: %s\n", c->fatal);
	fprintf(f, "result: %s\n", ddvm_campaign_ok(c) ? "PASS" : "FAIL");
}

int ddvm_campaign_write_json(const struct ddvm_campaign *c, const char *path,
			     struct ddvm_err *err)
{
	json_t *root, *kinds, *faults, *o;
	struct kind_sum k;
	unsigned int i;
	int kind, ret;

	root = json_object();
	kinds = json_object();
	faults = json_array();
	if (!root || !kinds || !faults) {
		json_decref(root);
		json_decref(kinds);
		json_decref(faults);
		return ddvm_errf(err, -ENOMEM, "out of memory");
	}
	for (kind = 0; kind < DDVM_CAMPAIGN_NR_KINDS; kind++) {
		sum_kind(c, kind, &k);
		if (!k.count)
			continue;
		json_object_set_new(kinds, ddvm_campaign_kinds[kind],
			json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:s}",
				  "count", k.count, "recovered", k.recovered,
				  "median_ms", k.median_ms, "worst_ms", k.worst_ms,
				  "replayed", (json_int_t)k.replayed,
				  "bad_completions", (json_int_t)k.bad_completions,
				  "client_errors", (json_int_t)k.client_errors,
				  "mismatches", (json_int_t)k.mismatches, "causes", k.causes));
	}
	for (i = 0; i < c->nr_run; i++) {
		const struct ddvm_campaign_fault *f = &c->faults[i];

		o = json_pack("{s:s, s:b, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s}",
			      "kind", ddvm_campaign_kinds[f->kind], "recovered", f->recovered,
			      "recovery_ms", f->recovery_ms, "ready_ms", f->ready_ms,
			      "cause", f->cause, "replayed", (json_int_t)f->replayed,
			      "bad_completions", (json_int_t)f->bad_completions,
			      "client_errors", (json_int_t)f->client_errors,
			      "mismatches", (json_int_t)f->mismatches, "error", f->error);
		json_array_append_new(faults, o);
	}
	json_object_set_new(root, "seed", json_integer((json_int_t)c->seed));
	json_object_set_new(root, "faults_wanted", json_integer(c->nr_faults));
	json_object_set_new(root, "faults_run", json_integer(c->nr_run));
	json_object_set_new(root, "spare", json_boolean(c->spare));
	json_object_set_new(root, "seconds", json_real(c->seconds));
	json_object_set_new(root, "by_kind", kinds);
	json_object_set_new(root, "faults", faults);
	json_object_set_new(root, "totals", json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I}",
		"writes", (json_int_t)c->writes, "reads", (json_int_t)c->reads,
		"bytes_written", (json_int_t)c->bytes_written,
		"bytes_read", (json_int_t)c->bytes_read,
		"submitted", (json_int_t)c->submitted, "completed", (json_int_t)c->completed,
		"replayed", (json_int_t)c->replayed,
		"bad_completions", (json_int_t)c->bad_completions,
		"completed_twice", (json_int_t)c->doubled,
		"corrupted_reads", (json_int_t)c->mismatches,
		"client_errors", (json_int_t)c->client_errors,
		"image_checked", c->image_checked,
		"acknowledged_sectors_lost", (json_int_t)c->lost_sectors,
		"stray_sectors", (json_int_t)c->stray_sectors));
	json_object_set_new(root, "stopped_early", json_string(c->fatal));
	json_object_set_new(root, "ok", json_boolean(ddvm_campaign_ok(c)));
	ret = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	if (ret)
		return ddvm_errf(err, -EIO, "cannot write %s", path);
	return 0;
}

void ddvm_campaign_free(struct ddvm_campaign *c)
{
	for (unsigned int i = 0; i < DDVM_CAMPAIGN_QD_MAX; i++) {
		free(c->slots[i].buf);
		c->slots[i].buf = NULL;
	}
	free(c->written);
	free(c->faults);
	c->written = NULL;
	c->faults = NULL;
}
