// SPDX-License-Identifier: GPL-2.0
/* The reuse side of the block benchmark: a time-based QD-driven loop over libddvm. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_engine.h"
#include "pattern.h"
#include "units.h"

const struct ddvm_bench_workload ddvm_bench_workloads[] = {
	{ "seq-read", "seq read 1M QD8", false, false, 1 << 20, 8, true, 0, false },
	{ "seq-write", "seq write 1M QD8", true, false, 1 << 20, 8, true, 0, false },
	{ "rand-read-qd1", "rand read 4K QD1", false, true, 4096, 1, false, 0, false },
	{ "rand-read-qd32", "rand read 4K QD32", false, true, 4096, 32, false, 0, false },
};
const unsigned int ddvm_bench_nr_workloads =
	sizeof(ddvm_bench_workloads) / sizeof(ddvm_bench_workloads[0]);

void ddvm_bench_result_cpu(struct ddvm_bench_result *r)
{
	double gib_s = r->mib_s / 1024.0;

	r->cpu_s_per_gib = 0;
	if (r->cpu_window > 0 && gib_s > 0)
		r->cpu_s_per_gib = (r->cpu_seconds / r->cpu_window) / gib_s;
}

/* ------------------------------------------------------------- histogram */

static unsigned int hist_index(uint64_t v)
{
	unsigned int m;

	if (v < (2u << DDVM_HIST_SUB_BITS))
		return (unsigned int)v;
	m = 63 - (unsigned int)__builtin_clzll(v);
	return ((m - DDVM_HIST_SUB_BITS + 1) << DDVM_HIST_SUB_BITS) +
	       (unsigned int)((v >> (m - DDVM_HIST_SUB_BITS)) & ((1u << DDVM_HIST_SUB_BITS) - 1));
}

/* The middle of bucket @idx's range. */
static double hist_value(unsigned int idx)
{
	unsigned int g = idx >> DDVM_HIST_SUB_BITS, sub = idx & ((1u << DDVM_HIST_SUB_BITS) - 1);
	unsigned int shift;

	if (idx < (2u << DDVM_HIST_SUB_BITS))
		return idx;
	shift = g - 1;	/* m - SUB_BITS, with m = g + SUB_BITS - 1 */
	return (double)((1u << DDVM_HIST_SUB_BITS) + sub) * (double)(1ull << shift) +
	       (double)(1ull << shift) / 2;
}

void ddvm_hist_add(struct ddvm_hist *h, uint64_t ns)
{
	h->buckets[hist_index(ns)]++;
	h->count++;
	h->sum += (double)ns;
	if (ns > h->max)
		h->max = ns;
}

double ddvm_hist_percentile(const struct ddvm_hist *h, double p)
{
	uint64_t target, cum = 0;
	unsigned int i;
	double exact, v;

	if (!h->count)
		return 0;
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	exact = p / 100.0 * (double)h->count;
	target = (uint64_t)exact;
	if ((double)target < exact)
		target++;
	if (!target)
		target = 1;
	for (i = 0; i < DDVM_HIST_BUCKETS; i++) {
		cum += h->buckets[i];
		if (cum >= target)
			break;
	}
	/* a bucket's middle may lie beyond the largest value seen */
	v = hist_value(i < DDVM_HIST_BUCKETS ? i : DDVM_HIST_BUCKETS - 1);
	return v > (double)h->max ? (double)h->max : v;
}

/* ---------------------------------------------------------------- engine */

/* One workload I/O: one or more channel requests. */
struct lio {
	uint64_t start_ns;
	uint32_t pending;	/* pieces not yet completed */
	uint8_t *buf;
	struct ddvm_blk_io *pieces;
};

enum phase { PH_RAMP, PH_MEASURE, PH_DRAIN };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct engine {
	struct ddvm_blk *blk;
	const struct ddvm_bench_workload *w;
	const struct ddvm_bench_engine_opts *o;
	uint32_t max_io, pieces;
	uint64_t span;		/* bytes of the device used */
	uint64_t next_off;	/* sequential */
	uint64_t rng;
	struct lio *lios;
	struct ddvm_blk_io *ios;
	uint32_t *free;
	uint32_t nr_free;
	uint32_t inflight;	/* lios */
	struct ddvm_hist *hist;
};

static uint64_t next_offset(struct engine *e)
{
	uint64_t off, slots;

	if (e->w->random) {
		slots = (e->span - e->w->bs) / 4096 + 1;
		return (ddvm_rand_next(&e->rng) % slots) * 4096;
	}
	off = e->next_off;
	e->next_off += e->w->bs;
	if (e->next_off + e->w->bs > e->span)
		e->next_off = 0;
	return off;
}

static int submit_one(struct engine *e)
{
	uint32_t idx = e->free[--e->nr_free], k;
	struct lio *l = &e->lios[idx];
	uint64_t off = next_offset(e);
	int ret;

	l->start_ns = now_ns();
	l->pending = e->pieces;
	for (k = 0; k < e->pieces; k++) {
		struct ddvm_blk_io *io = &l->pieces[k];
		uint32_t done = k * e->max_io;

		memset(io, 0, sizeof(*io));
		io->op = e->w->write ? DDVM_BLK_WRITE : DDVM_BLK_READ;
		io->offset = off + done;
		io->len = e->w->bs - done < e->max_io ? e->w->bs - done : e->max_io;
		io->buf = l->buf + done;
		io->priv = l;
		ret = ddvm_blk_submit(e->blk, io);
		if (ret) {
			/* pieces already submitted complete normally; the rest never will */
			l->pending -= e->pieces - k;
			if (!l->pending)
				e->free[e->nr_free++] = idx;
			else
				e->inflight++;
			return ret;
		}
	}
	e->inflight++;
	return 0;
}

static int engine_setup(struct engine *e, struct ddvm_err *err)
{
	const struct ddvm_bench_workload *w = e->w;
	uint64_t capacity = ddvm_blk_info(e->blk)->capacity;
	uint32_t depth = ddvm_blk_depth(e->blk), i;

	e->max_io = ddvm_blk_max_io(e->blk);
	if (!w->bs || w->bs % 4096 || !w->qd || !e->max_io)
		return ddvm_errf(err, -EINVAL, "%s: bad workload (bs %u, qd %u)", w->name, w->bs,
				 w->qd);
	e->pieces = (w->bs + e->max_io - 1) / e->max_io;
	if ((uint64_t)w->qd * e->pieces > depth)
		return ddvm_errf(err, -EINVAL,
				 "%s: %u I/Os of %u bytes need %u requests in flight, the channel "
				 "holds %u (max %u bytes each): give the channel a bigger region",
				 w->name, w->qd, w->bs, w->qd * e->pieces, depth, e->max_io);
	e->span = e->o->size ? e->o->size : capacity;
	if (e->span > capacity)
		return ddvm_errf(err, -EINVAL, "%s: size %llu is beyond the device's %llu bytes",
				 w->name, (unsigned long long)e->span, (unsigned long long)capacity);
	e->span -= e->span % 4096;
	if (e->span < w->bs)
		return ddvm_errf(err, -EINVAL, "%s: size %llu is smaller than one I/O", w->name,
				 (unsigned long long)e->span);
	e->lios = calloc(w->qd, sizeof(*e->lios));
	e->ios = calloc((size_t)w->qd * e->pieces, sizeof(*e->ios));
	e->free = calloc(w->qd, sizeof(*e->free));
	e->hist = calloc(1, sizeof(*e->hist));
	if (!e->lios || !e->ios || !e->free || !e->hist)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	for (i = 0; i < w->qd; i++) {
		struct lio *l = &e->lios[i];

		if (posix_memalign((void **)&l->buf, 4096, w->bs))
			return ddvm_errf(err, -ENOMEM, "out of memory");
		/* incompressible, non-zero data, as fio writes */
		ddvm_pattern_fill(l->buf, w->bs, (uint64_t)i * w->bs, e->o->seed + 1);
		l->pieces = &e->ios[(size_t)i * e->pieces];
		e->free[e->nr_free++] = w->qd - 1 - i;
	}
	e->rng = e->o->seed ^ 0xb1e55edull;
	return 0;
}

static void engine_free(struct engine *e)
{
	uint32_t i;

	if (e->lios)
		for (i = 0; i < e->w->qd; i++)
			free(e->lios[i].buf);
	free(e->lios);
	free(e->ios);
	free(e->free);
	free(e->hist);
}

int ddvm_bench_engine_run(struct ddvm_blk *blk, const struct ddvm_bench_workload *w,
			  const struct ddvm_bench_engine_opts *o, struct ddvm_bench_result *res,
			  struct ddvm_err *err)
{
	struct engine e = { .blk = blk, .w = w, .o = o };
	uint64_t t0, t_meas, t_end, t_meas_act = 0, t_end_act = 0, now, last_progress;
	uint64_t stall_ns = (uint64_t)(o->stall_ms > 0 ? o->stall_ms : 30000) * 1000000ull;
	double cpu0 = 0, cpu1 = 0;
	struct ddvm_blk_io *done[64];
	enum phase ph = PH_RAMP;
	int ret = 0, n, i, timeout;

	memset(res, 0, sizeof(*res));
	ret = engine_setup(&e, err);
	if (ret)
		goto out_free;

	t0 = now_ns();
	t_meas = t0 + (uint64_t)(o->ramp * 1e9);
	t_end = t_meas + (uint64_t)(o->runtime * 1e9);
	last_progress = t0;
	for (;;) {
		now = now_ns();
		if (ph == PH_RAMP && now >= t_meas) {
			ph = PH_MEASURE;
			t_meas_act = now;
			if (o->cpu && (ret = ddvm_bench_cpu_sample(o->cpu, &cpu0, err)))
				ph = PH_DRAIN;
		}
		if (ph == PH_MEASURE && now >= t_end) {
			ph = PH_DRAIN;
			t_end_act = now;
			if (o->cpu && (ret = ddvm_bench_cpu_sample(o->cpu, &cpu1, err)))
				ph = PH_DRAIN;
		}
		while (ph != PH_DRAIN && e.nr_free) {
			ret = submit_one(&e);
			if (ret) {
				ddvm_errf(err, ret, "%s: submit: %s", w->name, strerror(-ret));
				ph = PH_DRAIN;
			}
		}
		if (!e.inflight)
			break;
		if (ph == PH_DRAIN) {
			timeout = 1000;
		} else {
			uint64_t next = ph == PH_RAMP ? t_meas : t_end;

			timeout = next > now ? (int)((next - now) / 1000000 + 1) : 1;
			if (timeout > 1000)
				timeout = 1000;
		}
		n = ddvm_blk_reap(blk, done, (int)(sizeof(done) / sizeof(done[0])), timeout);
		if (n < 0) {
			ret = ddvm_errf(err, n, "%s: channel failed: %s (close it)", w->name,
					strerror(-n));
			goto out_free;	/* requests may be in flight: the caller closes blk */
		}
		now = now_ns();
		if (!n) {
			if (now - last_progress > stall_ns) {
				uint64_t hb;
				uint32_t gen, state;

				/* a live heartbeat means the DD/OS runs: a device or a lost doorbell */
				ddvm_blk_server_state(blk, &hb, &gen, &state);
				ret = ddvm_errf(err, -ETIMEDOUT,
						"%s: no request completed for %d ms (%u I/Os in flight; "
						"server state %u, generation %u, heartbeat %llu)",
						w->name, (int)(stall_ns / 1000000), e.inflight, state, gen,
						(unsigned long long)hb);
				goto out_free;
			}
			continue;
		}
		last_progress = now;
		for (i = 0; i < n; i++) {
			struct lio *l = done[i]->priv;

			if (done[i]->status && !ret) {
				ret = ddvm_errf(err, -EIO, "%s: request at offset %llu: %s", w->name,
						(unsigned long long)done[i]->offset,
						strerror(-done[i]->status));
				ph = PH_DRAIN;
			}
			if (--l->pending)
				continue;
			e.inflight--;
			e.free[e.nr_free++] = (uint32_t)(l - e.lios);
			if (ph == PH_MEASURE) {
				res->ios++;
				res->bytes += w->bs;
				ddvm_hist_add(e.hist, now - l->start_ns);
			}
		}
	}
	if (ret)
		goto out_free;
	res->seconds = (double)(t_end_act - t_meas_act) / 1e9;
	if (res->seconds <= 0) {
		ret = ddvm_errf(err, -EINVAL, "%s: nothing measured", w->name);
		goto out_free;
	}
	res->iops = (double)res->ios / res->seconds;
	res->mib_s = (double)res->bytes / res->seconds / DDVM_MIB;
	res->lat_mean_us = e.hist->count ? e.hist->sum / (double)e.hist->count / 1000.0 : 0;
	res->lat_p50_us = ddvm_hist_percentile(e.hist, 50) / 1000.0;
	res->lat_p99_us = ddvm_hist_percentile(e.hist, 99) / 1000.0;
	res->lat_max_us = (double)e.hist->max / 1000.0;
	if (o->cpu) {
		res->cpu_seconds = cpu1 - cpu0;
		res->cpu_window = res->seconds;
		ddvm_bench_result_cpu(res);
	}
	res->valid = true;
out_free:
	engine_free(&e);
	return ret;
}
