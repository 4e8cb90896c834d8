// SPDX-License-Identifier: GPL-2.0
/* fio inside the DD/OS: the guest script, its console protocol, fio's JSON (see bench_fio.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_fio.h"
#include "units.h"

/* snprintf into buf at *off; remembers overflow in *off = len. */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *off)
		*off = len;
	else
		*off += (size_t)n;
}

/*
 * Short on purpose: the script travels base64 on a kernel command line of
 * 2048 bytes.  One fio process per workload so the host can account CPU
 * between its prerun and postrun marks; the marks go straight to the
 * console because fio sends exec_*run output to a file.
 */
int ddvm_bench_fio_script(char *buf, size_t len, const struct ddvm_bench_fio_opts *o,
			  const struct ddvm_bench_workload *w, unsigned int n)
{
	size_t off = 0;
	unsigned int i;

	if (!len)
		return -ENOSPC;
	put(buf, len, &off, "d=%s;s=0\n", o->dev);
	put(buf, len, &off,
	    "b(){ n=$1;shift\n"
	    "fio --name=$n --filename=$d --direct=1 --ioengine=%s --time_based"
	    " --runtime=%u --ramp_time=%u --size=%llu --norandommap --randrepeat=0"
	    " --lat_percentiles=1 --percentile_list=50:99 --eta=never --output-format=json"
	    " --output=/tmp/$n.json"
	    " \"--exec_prerun=sh -c 'echo " DDVM_BENCH_MARK " start $n >/dev/console'\""
	    " \"--exec_postrun=sh -c 'echo " DDVM_BENCH_MARK " end $n >/dev/console'\" \"$@\"\n"
	    "r=$?;[ $r = 0 ]||s=$r\n"
	    "echo " DDVM_BENCH_JSON " $n $r;cat /tmp/$n.json;echo;echo " DDVM_BENCH_JSON_END " $n;}\n",
	    o->ioengine ? o->ioengine : "libaio", o->runtime, o->ramp, (unsigned long long)o->size);
	for (i = 0; i < n; i++)
		put(buf, len, &off, "b %s --rw=%s --bs=%u --iodepth=%u\n", w[i].name,
		    w[i].random ? (w[i].write ? "randwrite" : "randread") :
				  (w[i].write ? "write" : "read"),
		    w[i].bs, w[i].qd);
	put(buf, len, &off, "exit $s\n");
	if (off >= len)
		return -ENOSPC;
	return (int)off;
}

int ddvm_base64(char *out, size_t cap, const void *in, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	size_t need = (len + 2) / 3 * 4, i, o = 0;

	if (cap < need + 1)
		return -ENOSPC;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);

		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return (int)o;
}

/* A number member of @obj (integer or real); -1 if absent. */
static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/* The value at percentile @p in fio's "percentile" object ("50.000000": ns). */
static double percentile(json_t *lat, double p)
{
	json_t *pct = json_object_get(lat, "percentile"), *v;
	const char *key;

	json_object_foreach(pct, key, v) {
		double k = strtod(key, NULL);

		if (k > p - 1e-6 && k < p + 1e-6 && json_is_number(v))
			return json_number_value(v);
	}
	return -1;
}

int ddvm_bench_fio_parse(const char *json, size_t len, const struct ddvm_bench_workload *w,
			 struct ddvm_bench_result *res, char *version, size_t version_len,
			 struct ddvm_err *err)
{
	const char *side = w->write ? "write" : "read", *start;
	json_t *root, *job, *s, *lat, *v;
	json_error_t je;
	double runtime_ms, p50, p99;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	start = memchr(json, '{', len);
	if (!start)
		return ddvm_errf(err, -EINVAL, "%s: no JSON in fio's output", w->name);
	root = json_loadb(start, len - (size_t)(start - json), JSON_DISABLE_EOF_CHECK, &je);
	if (!root)
		return ddvm_errf(err, -EINVAL, "%s: fio's JSON, line %d: %s", w->name, je.line,
				 je.text);
	if (version && version_len) {
		v = json_object_get(root, "fio version");
		snprintf(version, version_len, "%s", json_is_string(v) ? json_string_value(v) : "?");
	}
	job = json_array_get(json_object_get(root, "jobs"), 0);
	if (!json_is_object(job)) {
		ret = ddvm_errf(err, -EINVAL, "%s: fio's JSON has no jobs[0]", w->name);
		goto out;
	}
	if (num(job, "error") > 0) {
		ret = ddvm_errf(err, -EIO, "%s: fio reports error %d for the job", w->name,
				(int)num(job, "error"));
		goto out;
	}
	s = json_object_get(job, side);
	lat = json_object_get(s, "lat_ns");
	runtime_ms = num(s, "runtime");
	if (!json_is_object(s) || !json_is_object(lat) || runtime_ms <= 0 ||
	    num(s, "io_bytes") < 0 || num(s, "total_ios") < 0 || num(lat, "mean") < 0) {
		ret = ddvm_errf(err, -EINVAL, "%s: fio's JSON lacks jobs[0].%s "
				"(runtime, io_bytes, total_ios, lat_ns) or ran for 0 ms", w->name,
				side);
		goto out;
	}
	p50 = percentile(lat, 50);
	p99 = percentile(lat, 99);
	if (p50 < 0 || p99 < 0) {	/* fio without lat_percentiles: completion latency */
		p50 = percentile(json_object_get(s, "clat_ns"), 50);
		p99 = percentile(json_object_get(s, "clat_ns"), 99);
	}
	res->seconds = runtime_ms / 1000.0;
	res->ios = (uint64_t)num(s, "total_ios");
	res->bytes = (uint64_t)num(s, "io_bytes");
	res->iops = (double)res->ios / res->seconds;
	res->mib_s = (double)res->bytes / res->seconds / DDVM_MIB;
	res->lat_mean_us = num(lat, "mean") / 1000.0;
	res->lat_p50_us = p50 > 0 ? p50 / 1000.0 : 0;
	res->lat_p99_us = p99 > 0 ? p99 / 1000.0 : 0;
	res->lat_max_us = num(lat, "max") > 0 ? num(lat, "max") / 1000.0 : 0;
	res->valid = true;
out:
	json_decref(root);
	return ret;
}

/* "PREFIX rest": @rest if @line starts with PREFIX and a space (or ends there). */
static const char *after(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n))
		return NULL;
	if (line[n] == ' ')
		return line + n + 1;
	return line[n] ? NULL : line + n;
}

static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strcspn(src, " ");

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int json_append(struct ddvm_bench_console *c, const char *line, size_t n)
{
	char *p;

	if (c->len + n + 2 > DDVM_BENCH_JSON_MAX)
		return -EFBIG;
	if (c->len + n + 2 > c->cap) {
		size_t cap = c->cap ? c->cap : 16384;

		while (cap < c->len + n + 2)
			cap *= 2;
		p = realloc(c->json, cap);
		if (!p)
			return -ENOMEM;
		c->json = p;
		c->cap = cap;
	}
	memcpy(c->json + c->len, line, n);
	c->len += n;
	c->json[c->len++] = '\n';
	c->json[c->len] = '\0';
	return 0;
}

int ddvm_bench_console_line(struct ddvm_bench_console *c, const char *line,
			    struct ddvm_bench_event *ev)
{
	size_t n = strlen(line);
	const char *r;
	char tmp[512];

	memset(ev, 0, sizeof(*ev));
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		n--;
	if (n < sizeof(tmp)) {	/* markers are short: look at them without the '\r' */
		memcpy(tmp, line, n);
		tmp[n] = '\0';
	} else {
		tmp[0] = '\0';
	}
	if (c->in_json) {
		r = after(tmp, DDVM_BENCH_JSON_END);
		if (!r)
			return json_append(c, line, n);
		c->in_json = false;
		ev->kind = DDVM_BENCH_EV_JSON;
		memcpy(ev->name, c->name, sizeof(ev->name));
		ev->status = c->status;
		ev->json = c->json ? c->json : "";
		ev->json_len = c->len;
		return 0;
	}
	/* a mark may follow what a program printed without a newline */
	r = strstr(tmp, DDVM_BENCH_MARK " ");
	if (r)
		r += strlen(DDVM_BENCH_MARK " ");
	if (r) {
		if (!strncmp(r, "start ", 6))
			ev->kind = DDVM_BENCH_EV_START;
		else if (!strncmp(r, "end ", 4))
			ev->kind = DDVM_BENCH_EV_STOP;
		else
			return 0;
		copy_name(ev->name, sizeof(ev->name), strchr(r, ' ') + 1);
	} else if ((r = after(tmp, DDVM_BENCH_JSON))) {
		copy_name(c->name, sizeof(c->name), r);
		r = strchr(r, ' ');
		c->status = r ? atoi(r + 1) : -1;
		c->in_json = true;
		c->len = 0;
		if (c->json)
			c->json[0] = '\0';
	} else if (after(tmp, DDVM_BENCH_BEGIN) || after(tmp, DDVM_BENCH_CMD_BEGIN)) {
		ev->kind = DDVM_BENCH_EV_BEGIN;
	} else if ((r = after(tmp, DDVM_BENCH_END)) || (r = after(tmp, DDVM_BENCH_CMD_END))) {
		ev->kind = DDVM_BENCH_EV_END;
		ev->status = *r ? atoi(r) : -1;
	} else if (!strncmp(line, "DDVM-FAIL:", 10)) {
		ev->kind = DDVM_BENCH_EV_FAIL;
		ev->msg = line + 10 + (line[10] == ' ');
	}
	return 0;
}

void ddvm_bench_console_free(struct ddvm_bench_console *c)
{
	free(c->json);
	memset(c, 0, sizeof(*c));
}
