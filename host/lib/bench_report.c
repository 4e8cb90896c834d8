// SPDX-License-Identifier: GPL-2.0
/* Table, JSON and gnuplot chart of a block benchmark report (see bench_report.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_report.h"
#include "spawn.h"
#include "units.h"

bool ddvm_bench_is_net(const struct ddvm_bench_blk_report *rep)
{
	return rep->nr && rep->w[0].mtu;
}

double ddvm_bench_mbit(double mib_s)
{
	return mib_s * DDVM_MIB * 8 / 1e6;
}

double ddvm_bench_metric(const struct ddvm_bench_workload *w, const struct ddvm_bench_result *r)
{
	if (!r->valid)
		return -1;
	if (w->rtt)
		return r->lat_mean_us;
	return w->throughput ? r->mib_s : r->iops;
}

/* The headline number as shown: net throughput in Mbit/s. */
static double shown(const struct ddvm_bench_workload *w, const struct ddvm_bench_result *r)
{
	double v = ddvm_bench_metric(w, r);

	return v >= 0 && w->mtu && w->throughput ? ddvm_bench_mbit(v) : v;
}

double ddvm_bench_ratio(const struct ddvm_bench_blk_report *rep, unsigned int i)
{
	double n = ddvm_bench_metric(&rep->w[i], &rep->native[i]);
	double r = ddvm_bench_metric(&rep->w[i], &rep->reuse[i]);

	if (n <= 0 || r < 0)
		return -1;
	return r / n;
}

static double cpu_ratio(const struct ddvm_bench_blk_report *rep, unsigned int i)
{
	const struct ddvm_bench_result *n = &rep->native[i], *r = &rep->reuse[i];

	if (!n->valid || !r->valid || n->cpu_s_per_gib <= 0 || r->cpu_s_per_gib <= 0)
		return -1;
	return r->cpu_s_per_gib / n->cpu_s_per_gib;
}

/* The bar applies to the 1 MiB sequential workloads, and to TCP throughput. */
static bool bar_workload(const struct ddvm_bench_workload *w)
{
	if (w->mtu)
		return w->throughput;
	return !w->random && w->bs >= (1u << 20);
}

int ddvm_bench_bar(const struct ddvm_bench_blk_report *rep)
{
	unsigned int i, seen = 0;
	int met = 1;

	for (i = 0; i < rep->nr; i++) {
		double ratio = ddvm_bench_ratio(rep, i);

		if (!bar_workload(&rep->w[i]))
			continue;
		if (ratio < 0)
			return -1;
		seen++;
		if (ratio < DDVM_BENCH_BAR)
			met = 0;
		/* moving a GiB through a DD/OS must not cost much more host CPU */
		if (rep->w[i].mtu) {
			double c = cpu_ratio(rep, i);

			if (c < 0)
				return -1;
			if (c > DDVM_BENCH_CPU_BAR)
				met = 0;
		}
	}
	return seen ? met : -1;
}

const char *ddvm_bench_fmt_metric(char *buf, size_t len, const struct ddvm_bench_workload *w,
				  const struct ddvm_bench_result *r)
{
	if (!r->valid)
		snprintf(buf, len, "-");
	else if (w->rtt)
		snprintf(buf, len, "%.0f us", r->lat_mean_us);
	else if (w->mtu)
		snprintf(buf, len, "%.0f Mbit/s", ddvm_bench_mbit(r->mib_s));
	else if (w->throughput)
		snprintf(buf, len, "%.1f MiB/s", r->mib_s);
	else
		snprintf(buf, len, "%.0f IOPS", r->iops);
	return buf;
}

static const char *fmt_num(char *buf, size_t len, double v, int prec)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.*f", prec, v);
	return buf;
}

static const char *fmt_lat(char *buf, size_t len, const struct ddvm_bench_result *r)
{
	if (!r->valid)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f / %.0f / %.0f / %.0f", r->lat_mean_us, r->lat_p50_us,
			 r->lat_p99_us, r->lat_max_us);
	return buf;
}

static const char *fmt_rtt(char *buf, size_t len, const struct ddvm_bench_result *r)
{
	if (!r->valid)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f / %.0f / %.0f", r->lat_min_us, r->lat_mean_us,
			 r->lat_max_us);
	return buf;
}

static double cpu_or_none(const struct ddvm_bench_result *r)
{
	return r->valid && r->cpu_s_per_gib > 0 ? r->cpu_s_per_gib : -1;
}

char *ddvm_bench_table(const struct ddvm_bench_blk_report *rep)
{
	const struct ddvm_bench_env *e = &rep->env;
	char a[48], b[48], c[48], d[48], f[48], g[48], sz[24];
	bool net = ddvm_bench_is_net(rep);
	size_t len = 0;
	char *out = NULL;
	unsigned int i;
	FILE *fp;
	int bar;

	fp = open_memstream(&out, &len);
	if (!fp)
		return NULL;
	if (net)
		fprintf(fp, "ddvm bench net: %s on %s, remote %s (TX checksum offload %s), iperf3 "
			"%u s omitted + %u s per run\n", e->controller, e->accel, e->remote,
			e->remote_offload ? "on" : "off", e->ramp, e->runtime);
	else
		fprintf(fp, "ddvm bench blk: %s on %s, %s of %s, %u s ramp + %u s per workload\n",
			e->controller, e->accel, ddvm_format_size(e->size, sz, sizeof(sz)),
			e->image, e->ramp, e->runtime);
	fprintf(fp, "%-20s %14s %14s %6s   %-10s %7s %7s %6s\n", "workload", "native", "reuse",
		"ratio", "CPU s/GiB", "native", "reuse", "ratio");
	for (i = 0; i < rep->nr; i++) {
		const struct ddvm_bench_workload *w = &rep->w[i];

		fprintf(fp, "%-20s %14s %14s %6s   %-10s %7s %7s %6s\n", w->label,
			ddvm_bench_fmt_metric(a, sizeof(a), w, &rep->native[i]),
			ddvm_bench_fmt_metric(b, sizeof(b), w, &rep->reuse[i]),
			fmt_num(c, sizeof(c), ddvm_bench_ratio(rep, i), 2), "",
			fmt_num(d, sizeof(d), cpu_or_none(&rep->native[i]), 2),
			fmt_num(f, sizeof(f), cpu_or_none(&rep->reuse[i]), 2),
			fmt_num(g, sizeof(g), cpu_ratio(rep, i), 2));
	}
	if (!net) {
		fprintf(fp, "\n%-20s %30s %30s\n", "latency us", "native mean/p50/p99/max",
			"reuse mean/p50/p99/max");
		for (i = 0; i < rep->nr; i++)
			fprintf(fp, "%-20s %30s %30s\n", rep->w[i].label,
				fmt_lat(a, sizeof(a), &rep->native[i]),
				fmt_lat(b, sizeof(b), &rep->reuse[i]));
	} else {
		fprintf(fp, "\n%-20s %30s %30s\n", "RTT us", "native min/avg/max",
			"reuse min/avg/max");
		for (i = 0; i < rep->nr; i++)
			if (rep->w[i].rtt)
				fprintf(fp, "%-20s %30s %30s\n", rep->w[i].label,
					fmt_rtt(a, sizeof(a), &rep->native[i]),
					fmt_rtt(b, sizeof(b), &rep->reuse[i]));
	}
	fputc('\n', fp);
	for (i = 0; i < rep->nr; i++) {
		if (rep->native[i].error[0])
			fprintf(fp, "native %s: %s\n", rep->w[i].name, rep->native[i].error);
		if (rep->reuse[i].error[0])
			fprintf(fp, "reuse %s: %s\n", rep->w[i].name, rep->reuse[i].error);
	}
	if (rep->native_error[0])
		fprintf(fp, "native: %s\n", rep->native_error);
	if (rep->reuse_error[0])
		fprintf(fp, "reuse: %s\n", rep->reuse_error);
	bar = ddvm_bench_bar(rep);
	if (net)
		fprintf(fp, "bar (TCP reuse >= %.1fx native, CPU s/GiB <= %.1fx native): %s\n",
			DDVM_BENCH_BAR, DDVM_BENCH_CPU_BAR,
			bar > 0 ? "met" : bar == 0 ? "MISSED" : "not measured");
	else
		fprintf(fp, "bar (reuse >= %.1fx native, 1 MiB sequential): %s\n", DDVM_BENCH_BAR,
			bar > 0 ? "met" : bar == 0 ? "MISSED" : "not measured");
	fprintf(fp, "host load average %.2f at start, %.2f at end (%ld CPUs)\n", e->load_start[0],
		e->load_end[0], e->host_cpus);
	if (fclose(fp)) {
		free(out);
		return NULL;
	}
	return out;
}

json_t *ddvm_bench_result_json(const struct ddvm_bench_result *r, bool net)
{
	if (!r->valid)
		return json_pack("{s:b, s:s}", "valid", 0, "error", r->error);
	if (net)
		return json_pack("{s:b, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I}",
				 "valid", 1, "seconds", r->seconds, "bytes", (json_int_t)r->bytes,
				 "mbit_s", ddvm_bench_mbit(r->mib_s), "rtt_min_us", r->lat_min_us,
				 "rtt_avg_us", r->lat_mean_us, "rtt_max_us", r->lat_max_us,
				 "cpu_seconds", r->cpu_seconds, "cpu_window_s", r->cpu_window,
				 "cpu_s_per_gib", r->cpu_s_per_gib, "pings", (json_int_t)r->ios);
	return json_pack("{s:b, s:f, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			 "valid", 1, "seconds", r->seconds, "ios", (json_int_t)r->ios,
			 "bytes", (json_int_t)r->bytes, "iops", r->iops, "mib_s", r->mib_s,
			 "lat_mean_us", r->lat_mean_us, "lat_p50_us", r->lat_p50_us,
			 "lat_p99_us", r->lat_p99_us, "lat_max_us", r->lat_max_us,
			 "cpu_seconds", r->cpu_seconds,
			 "cpu_window_s", r->cpu_window, "cpu_s_per_gib", r->cpu_s_per_gib);
}

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *env_json(const struct ddvm_bench_env *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:I,"
			 " s:i, s:i, s:I, s:I, s:i,"
			 " s:{s:s, s:I, s:i, s:i},"
			 " s:[f,f,f], s:[f,f,f], s:s, s:s, s:s}",
			 "date", e->date, "command", e->command, "accelerator", e->accel,
			 "accel_reason", e->accel_reason, "controller", e->controller,
			 "kernel_abi", e->kernel_abi, "host_kernel", e->host_kernel,
			 "host_cpus", (json_int_t)e->host_cpus, "qemu", e->qemu_version,
			 "fio", e->fio_version, "fio_ioengine", e->ioengine,
			 "image", e->image, "size", (json_int_t)e->size,
			 "ramp_s", (int)e->ramp, "runtime_s", (int)e->runtime,
			 "memory_native", (json_int_t)e->memory_native,
			 "memory_reuse", (json_int_t)e->memory_reuse, "cpus", (int)e->cpus,
			 "channel", "driver", e->channel_driver, "size", (json_int_t)e->channel_size,
			 "depth", (int)e->channel_depth, "max_io", (int)e->channel_max_io,
			 "loadavg_start", e->load_start[0], e->load_start[1], e->load_start[2],
			 "loadavg_end", e->load_end[0], e->load_end[1], e->load_end[2],
			 "native_qemu", e->native_cmdline, "reuse_qemu", e->reuse_cmdline,
			 "run_dir", e->run_dir);
}

static json_t *net_env_json(const struct ddvm_bench_env *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s,"
			 " s:i, s:i, s:I, s:I, s:i, s:I, s:[f,f,f], s:[f,f,f], s:s, s:s, s:s, s:b}",
			 "date", e->date, "command", e->command, "accelerator", e->accel,
			 "accel_reason", e->accel_reason, "nic", e->controller,
			 "kernel_abi", e->kernel_abi, "host_kernel", e->host_kernel,
			 "host_cpus", (json_int_t)e->host_cpus, "qemu", e->qemu_version,
			 "iperf3", e->fio_version, "remote", e->remote,
			 "native_address", e->native_addr, "reuse_address", e->reuse_addr,
			 "omit_s", (int)e->ramp, "runtime_s", (int)e->runtime,
			 "memory_native", (json_int_t)e->memory_native,
			 "memory_reuse", (json_int_t)e->memory_reuse, "cpus", (int)e->cpus,
			 "channel_size", (json_int_t)e->channel_size,
			 "loadavg_start", e->load_start[0], e->load_start[1], e->load_start[2],
			 "loadavg_end", e->load_end[0], e->load_end[1], e->load_end[2],
			 "native_qemu", e->native_cmdline, "reuse_qemu", e->reuse_cmdline,
			 "run_dir", e->run_dir, "remote_tx_csum_offload", e->remote_offload);
}

static json_t *net_json(const struct ddvm_bench_blk_report *rep, int bar)
{
	json_t *arr, *o;
	unsigned int i;

	arr = json_array();
	for (i = 0; arr && i < rep->nr; i++) {
		const struct ddvm_bench_workload *w = &rep->w[i];

		o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:o, s:o, s:o}",
			      "name", w->name, "label", w->label,
			      "direction", w->rtt ? "both" : w->write ? "send" : "receive",
			      "mtu", (int)w->mtu, "metric", w->rtt ? "rtt_avg_us" : "mbit_s",
			      "native", ddvm_bench_result_json(&rep->native[i], true),
			      "reuse", ddvm_bench_result_json(&rep->reuse[i], true),
			      "ratio", num_or_null(ddvm_bench_ratio(rep, i)),
			      "cpu_ratio", num_or_null(cpu_ratio(rep, i)));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:i, s:s, s:o, s:o, s:{s:s, s:f, s:f, s:o}, s:s, s:s}",
			 "version", DDVM_BENCH_JSON_VERSION, "benchmark", "net",
			 "environment", net_env_json(&rep->env), "workloads", arr,
			 "bar", "rule", "reuse/native >= min_ratio for TCP throughput and reuse/native "
			 "CPU s/GiB <= max_cpu_ratio",
			 "min_ratio", DDVM_BENCH_BAR, "max_cpu_ratio", DDVM_BENCH_CPU_BAR,
			 "met", bar < 0 ? json_null() : json_boolean(bar > 0),
			 "native_error", rep->native_error, "reuse_error", rep->reuse_error);
}

json_t *ddvm_bench_json(const struct ddvm_bench_blk_report *rep)
{
	bool net = ddvm_bench_is_net(rep);
	json_t *root, *arr, *o;
	unsigned int i;
	int bar = ddvm_bench_bar(rep);

	if (net)
		return net_json(rep, bar);

	arr = json_array();
	for (i = 0; arr && i < rep->nr; i++) {
		const struct ddvm_bench_workload *w = &rep->w[i];

		o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:o, s:o, s:o, s:o}",
			      "name", w->name, "label", w->label, "rw", w->write ? "write" : "read",
			      "pattern", w->random ? "random" : "sequential", "bs", (int)w->bs,
			      "qd", (int)w->qd, "metric", w->throughput ? "mib_s" : "iops",
			      "native", ddvm_bench_result_json(&rep->native[i], false),
			      "reuse", ddvm_bench_result_json(&rep->reuse[i], false),
			      "ratio", num_or_null(ddvm_bench_ratio(rep, i)),
			      "cpu_ratio", num_or_null(cpu_ratio(rep, i)));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	root = json_pack("{s:i, s:s, s:o, s:o, s:{s:s, s:f, s:o}, s:s, s:s}",
			 "version", DDVM_BENCH_JSON_VERSION, "benchmark", "blk",
			 "environment", env_json(&rep->env), "workloads", arr,
			 "bar", "rule", "reuse/native >= min_ratio for 1 MiB sequential read and write",
			 "min_ratio", DDVM_BENCH_BAR,
			 "met", bar < 0 ? json_null() : json_boolean(bar > 0),
			 "native_error", rep->native_error, "reuse_error", rep->reuse_error);
	return root;
}

/* gnuplot single-quoted string: a ' is doubled... not in gnuplot; refuse it instead. */
static bool gp_safe(const char *s)
{
	return !strpbrk(s, "'\n");
}

int ddvm_bench_gnuplot(const struct ddvm_bench_blk_report *rep, const char *dat, const char *png,
		       char **data, char **script)
{
	bool net = ddvm_bench_is_net(rep);
	double ymax[2] = { 0, 0 };
	unsigned int count[2] = { 0, 0 };
	size_t dlen = 0, slen = 0;
	FILE *d, *s;
	unsigned int i, block;
	char nv[32], rv[32];

	*data = *script = NULL;
	d = open_memstream(data, &dlen);
	if (!d)
		return -ENOMEM;
	/* block 0: MiB/s workloads, block 1: IOPS workloads (gnuplot "index") */
	for (block = 0; block < 2; block++) {
		fprintf(d, "# %s\n# workload native reuse ratio\n",
			block ? (net ? "RTT us" : "IOPS") : (net ? "Mbit/s" : "MiB/s"));
		for (i = 0; i < rep->nr; i++) {
			const struct ddvm_bench_workload *w = &rep->w[i];
			double n = shown(w, &rep->native[i]);
			double r = shown(w, &rep->reuse[i]);

			if (w->throughput != !block)
				continue;
			count[block]++;
			if (n > ymax[block])
				ymax[block] = n;
			if (r > ymax[block])
				ymax[block] = r;
			fprintf(d, "\"%s\" %s %s %.3f\n", w->label, fmt_num(nv, sizeof(nv), n, 3),
				fmt_num(rv, sizeof(rv), r, 3), ddvm_bench_ratio(rep, i));
		}
		fprintf(d, block ? "\n" : "\n\n");
	}
	if (fclose(d))
		goto out_nomem;

	s = open_memstream(script, &slen);
	if (!s)
		goto out_nomem;
	fprintf(s, "# ddvm bench %s chart; run: gnuplot %s.gp\n"
		"set terminal pngcairo size 1100,500 noenhanced font ',10'\n"
		"set output '%s'\n"
		"set datafile missing '-'\n"
		"set multiplot layout 1,2 title \"ddvm bench %s: %s, %s, %s; native (%s in the DD/OS) vs reuse (host %s through the channel)\"\n"
		"set style data histograms\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.85 border -1\n"
		"set boxwidth 0.9\n"
		"set grid ytics\n"
		"set key top right\n", net ? "net" : "blk", png, png, net ? "net" : "blk",
		rep->env.controller, rep->env.accel, rep->env.date, net ? "iperf3" : "fio",
		net ? "TAP client" : "client");
	/* four long net labels share one panel: slant them so they do not collide */
	if (net)
		fprintf(s, "set xtics rotate by -20\n");
	for (block = 0; block < 2; block++) {
		fprintf(s, "set title '%s'\nset ylabel '%s'\nset yrange [0:%.3f]\n"
			"set xrange [-0.6:%.1f]\n",
			block ? (net ? "round-trip time (lower is better)" : "4 KiB random read") :
				(net ? "TCP throughput" : "1 MiB sequential"),
			block ? (net ? "us" : "IOPS") : (net ? "Mbit/s" : "MiB/s"), ymax[block] > 0 ? ymax[block] * 1.25 : 1.0,
			count[block] ? count[block] - 0.4 : 0.6);
		fprintf(s, "plot '%s' index %u using 2:xtic(1) title 'native' lc rgb '#4472c4', \\\n"
			"     '' index %u using 3 title 'reuse' lc rgb '#ed7d31', \\\n"
			"     '' index %u using 0:(($2>$3?$2:$3)):($4 >= 0 ? sprintf('%%.2fx', $4) : '') "
			"with labels offset 0,1 notitle\n", dat, block, block, block);
	}
	fprintf(s, "unset multiplot\n");
	if (fclose(s))
		goto out_nomem;
	return 0;

out_nomem:
	free(*data);
	free(*script);
	*data = *script = NULL;
	return -ENOMEM;
}

int ddvm_bench_write_file(const char *path, const char *text, struct ddvm_err *err)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) && !ret)
		ret = ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	return ret;
}

int ddvm_bench_draw(const void *rep, ddvm_bench_chart_fn *chart, const char *base,
		    struct ddvm_err *err)
{
	char dat[DDVM_PATH_MAX + 8], gp[DDVM_PATH_MAX + 8], png[DDVM_PATH_MAX + 8], log[DDVM_PATH_MAX + 8];
	char *argv[] = { "gnuplot", gp, NULL };
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .keep_fd = -1 };
	char *data = NULL, *script = NULL;
	int ret, status, logfd;
	pid_t pid;

	snprintf(dat, sizeof(dat), "%s.dat", base);
	snprintf(gp, sizeof(gp), "%s.gp", base);
	snprintf(png, sizeof(png), "%s.png", base);
	snprintf(log, sizeof(log), "%s.gp.log", base);
	if (!gp_safe(base))
		return ddvm_errf(err, -EINVAL, "%s: a quote or newline in the path", base);
	ret = chart(rep, dat, png, &data, &script);
	if (ret)
		return ddvm_errf(err, ret, "out of memory");
	ret = ddvm_bench_write_file(dat, data, err);
	if (!ret)
		ret = ddvm_bench_write_file(gp, script, err);
	free(data);
	free(script);
	if (ret)
		return ret;
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	sp.stdout_fd = logfd;
	sp.stderr_fd = logfd;
	ret = ddvm_spawn(&sp, &pid, err);
	if (ret) {
		if (logfd >= 0)
			close(logfd);
		return ret == -ENOENT ?
		       ddvm_errf(err, ret, "gnuplot not found (Debian package gnuplot-nox)") : ret;
	}
	if (logfd >= 0)
		close(logfd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ddvm_errf(err, -errno, "waitpid gnuplot: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = ddvm_errf(err, -EIO, "gnuplot %s failed (see %s)", gp, log);
		return ret;
	}
	unlink(log);
	return 0;
}

static int blk_chart(const void *rep, const char *dat, const char *png, char **data,
		     char **script)
{
	return ddvm_bench_gnuplot(rep, dat, png, data, script);
}

int ddvm_bench_plot(const struct ddvm_bench_blk_report *rep, const char *base,
		    struct ddvm_err *err)
{
	return ddvm_bench_draw(rep, blk_chart, base, err);
}
