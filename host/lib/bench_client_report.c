// SPDX-License-Identifier: GPL-2.0
/* Table, JSON, CSV and chart of a `ddvm bench client` report (see bench_client.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_client.h"
#include "units.h"

/* Columns left to right: the client paths, native last (what they are compared to). */
static const enum ddvm_bench_path column[DDVM_BENCH_NR_PATHS] = {
	DDVM_BENCH_PATH_BRIDGE, DDVM_BENCH_PATH_FRONT, DDVM_BENCH_PATH_DIRECT,
	DDVM_BENCH_PATH_NATIVE,
};

static bool path_on(const struct ddvm_bench_client_report *rep, enum ddvm_bench_path p)
{
	return rep->paths & (1u << p);
}

double ddvm_bench_client_ratio(const struct ddvm_bench_part *part, unsigned int i,
			       enum ddvm_bench_path path)
{
	double n = ddvm_bench_metric(&part->w[i], &part->res[DDVM_BENCH_PATH_NATIVE][i]);
	double r = ddvm_bench_metric(&part->w[i], &part->res[path][i]);

	if (n <= 0 || r < 0)
		return -1;
	return r / n;
}

static double cpu_of(const struct ddvm_bench_result *r)
{
	return r->valid && r->cpu_s_per_gib > 0 ? r->cpu_s_per_gib : -1;
}

double ddvm_bench_client_cpu_ratio(const struct ddvm_bench_part *part, unsigned int i,
				   enum ddvm_bench_path path)
{
	double n = cpu_of(&part->res[DDVM_BENCH_PATH_NATIVE][i]);
	double r = cpu_of(&part->res[path][i]);

	return n > 0 && r > 0 ? r / n : -1;
}

/* Whether workload @w has a CPU cost per GiB worth showing (not a few ping bytes). */
static bool has_cpu(const struct ddvm_bench_workload *w)
{
	return !w->rtt;
}

/* ------------------------------------------------------------------- table */

static void header(FILE *fp, const struct ddvm_bench_client_report *rep,
		   const struct ddvm_bench_part *part, const char *title, int width)
{
	unsigned int k;

	fprintf(fp, "%-20s", title);
	for (k = 0; k < DDVM_BENCH_NR_PATHS; k++)
		if (path_on(rep, column[k]))
			fprintf(fp, " %*s", width, ddvm_bench_path_name(column[k], part->net));
	fputc('\n', fp);
}

/* "950.0 MiB/s 0.45x": the metric, and for a client path its ratio to native. */
static void metric_cell(char *buf, size_t len, const struct ddvm_bench_part *part,
			unsigned int i, enum ddvm_bench_path p)
{
	double ratio = ddvm_bench_client_ratio(part, i, p);
	char m[48];

	ddvm_bench_fmt_metric(m, sizeof(m), &part->w[i], &part->res[p][i]);
	if (p == DDVM_BENCH_PATH_NATIVE || ratio < 0)
		snprintf(buf, len, "%s      ", m);
	else
		snprintf(buf, len, "%s %5.2fx", m, ratio);
}

static void cpu_cell(char *buf, size_t len, const struct ddvm_bench_part *part, unsigned int i,
		     enum ddvm_bench_path p)
{
	double c = cpu_of(&part->res[p][i]), ratio = ddvm_bench_client_cpu_ratio(part, i, p);

	if (c < 0)
		snprintf(buf, len, "-      ");
	else if (p == DDVM_BENCH_PATH_NATIVE || ratio < 0)
		snprintf(buf, len, "%.2f      ", c);
	else
		snprintf(buf, len, "%.2f %5.2fx", c, ratio);
}

static void lat_cell(char *buf, size_t len, const struct ddvm_bench_result *r)
{
	if (!r->valid)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.0f / %.0f", r->lat_p50_us, r->lat_p99_us);
}

static void part_table(FILE *fp, const struct ddvm_bench_client_report *rep,
		       const struct ddvm_bench_part *part)
{
	const int width = 19;
	char cell[64];
	unsigned int i, k;

	header(fp, rep, part, part->net ? "NIC: iperf3, ping" : "disk: fio", width);
	for (i = 0; i < part->nr; i++) {
		fprintf(fp, "%-20s", part->w[i].label);
		for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
			if (!path_on(rep, column[k]))
				continue;
			metric_cell(cell, sizeof(cell), part, i, column[k]);
			fprintf(fp, " %*s", width, cell);
		}
		fputc('\n', fp);
	}
	header(fp, rep, part, "host CPU s/GiB", width);
	for (i = 0; i < part->nr; i++) {
		if (!has_cpu(&part->w[i]))
			continue;
		fprintf(fp, "%-20s", part->w[i].label);
		for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
			if (!path_on(rep, column[k]))
				continue;
			cpu_cell(cell, sizeof(cell), part, i, column[k]);
			fprintf(fp, " %*s", width, cell);
		}
		fputc('\n', fp);
	}
	if (part->net)
		return;
	header(fp, rep, part, "latency p50/p99 us", width);
	for (i = 0; i < part->nr; i++) {
		fprintf(fp, "%-20s", part->w[i].label);
		for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
			if (!path_on(rep, column[k]))
				continue;
			lat_cell(cell, sizeof(cell), &part->res[column[k]][i]);
			fprintf(fp, " %*s", width, cell);
		}
		fputc('\n', fp);
	}
}

static void part_errors(FILE *fp, const struct ddvm_bench_client_report *rep,
			const struct ddvm_bench_part *part)
{
	const char *kind = part->net ? "NIC" : "disk";
	unsigned int i, k;

	for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
		enum ddvm_bench_path p = column[k];

		if (!path_on(rep, p))
			continue;
		for (i = 0; i < part->nr; i++)
			if (part->res[p][i].error[0])
				fprintf(fp, "%s %s %s: %s\n", kind, ddvm_bench_path_name(p, part->net),
					part->w[i].name, part->res[p][i].error);
		if (part->error[p][0])
			fprintf(fp, "%s %s: %s\n", kind, ddvm_bench_path_name(p, part->net),
				part->error[p]);
	}
}

char *ddvm_bench_client_table(const struct ddvm_bench_client_report *rep)
{
	const struct ddvm_bench_client_env *e = &rep->env;
	size_t len = 0;
	char *out = NULL, sz[24];
	FILE *fp;

	fp = open_memstream(&out, &len);
	if (!fp)
		return NULL;
	fprintf(fp, "ddvm bench client on %s: client VM %llu MiB, %u vCPU, kernel %s; "
		"ratios are path / native\n", e->accel, (unsigned long long)(e->vm_memory >> 20),
		e->vm_cpus, e->kernel_abi);
	if (rep->blk.on) {
		fprintf(fp, "disk: %s DD/OS, %s of %s, fio %u s ramp + %u s per workload\n\n",
			e->controller, ddvm_format_size(e->size, sz, sizeof(sz)), e->image, e->ramp,
			e->runtime);
		part_table(fp, rep, &rep->blk);
		fputc('\n', fp);
	}
	if (rep->net.on) {
		fprintf(fp, "NIC: %s DD/OS, remote host %s (TX checksum offload %s), iperf3 %u s "
			"omitted + %u s per run; RTT: a ratio over 1 is slower\n\n", e->nic, e->remote,
			e->remote_offload ? "on" : "off", e->omit, e->runtime);
		part_table(fp, rep, &rep->net);
		fputc('\n', fp);
	}
	if (rep->blk.on)
		part_errors(fp, rep, &rep->blk);
	if (rep->net.on)
		part_errors(fp, rep, &rep->net);
	fprintf(fp, "host load average %.2f at start, %.2f at end (%ld CPUs)\n", e->load_start[0],
		e->load_end[0], e->host.host_cpus);
	if (fclose(fp)) {
		free(out);
		return NULL;
	}
	return out;
}

/* -------------------------------------------------------------------- JSON */

static json_t *num_or_null(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *env_json(const struct ddvm_bench_client_env *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I,"
			 " s:i, s:i, s:i, s:I, s:i, s:I, s:I, s:i, s:I, s:I, s:s, s:b,"
			 " s:[f,f,f], s:[f,f,f], s:s}",
			 "date", e->host.date, "command", e->command, "accelerator", e->accel,
			 "accel_reason", e->accel_reason, "host_kernel", e->host.host_kernel,
			 "host_cpus", (json_int_t)e->host.host_cpus, "qemu", e->host.qemu_version,
			 "kernel_abi", e->kernel_abi, "fio", e->fio_version,
			 "iperf3", e->iperf_version, "controller", e->controller, "image", e->image,
			 "size", (json_int_t)e->size, "ramp_s", (int)e->ramp,
			 "runtime_s", (int)e->runtime, "omit_s", (int)e->omit,
			 "vm_memory", (json_int_t)e->vm_memory, "vm_cpus", (int)e->vm_cpus,
			 "disk_dd_memory", (json_int_t)e->disk_dd_memory,
			 "nic_dd_memory", (json_int_t)e->nic_dd_memory, "dd_cpus", (int)e->dd_cpus,
			 "blk_channel_size", (json_int_t)e->blk_channel_size,
			 "net_channel_size", (json_int_t)e->net_channel_size,
			 "remote", e->remote, "remote_tx_csum_offload", e->remote_offload,
			 "loadavg_start", e->load_start[0], e->load_start[1], e->load_start[2],
			 "loadavg_end", e->load_end[0], e->load_end[1], e->load_end[2],
			 "run_dir", e->run_dir);
}

/* What a workload is, as the other benchmarks' JSON says it. */
static json_t *workload_json(const struct ddvm_bench_workload *w)
{
	if (w->mtu)
		return json_pack("{s:s, s:s, s:s, s:i, s:s}", "name", w->name, "label", w->label,
				 "direction", w->rtt ? "both" : w->write ? "send" : "receive",
				 "mtu", (int)w->mtu, "metric", w->rtt ? "rtt_avg_us" : "mbit_s");
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "name", w->name, "label",
			 w->label, "rw", w->write ? "write" : "read",
			 "pattern", w->random ? "random" : "sequential", "bs", (int)w->bs,
			 "qd", (int)w->qd, "metric", w->throughput ? "mib_s" : "iops");
}

static json_t *part_json(const struct ddvm_bench_client_report *rep,
			 const struct ddvm_bench_part *part)
{
	json_t *paths = json_object(), *arr = json_array(), *o, *res, *ratio, *cpu;
	unsigned int i, k;

	if (!paths || !arr)
		goto out_nomem;
	for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
		enum ddvm_bench_path p = column[k];

		if (path_on(rep, p) &&
		    json_object_set_new(paths, ddvm_bench_path_name(p, part->net),
					json_pack("{s:s, s:s}", "error", part->error[p],
						  "qemu", part->qemu[p])))
			goto out_nomem;
	}
	for (i = 0; i < part->nr; i++) {
		o = workload_json(&part->w[i]);
		res = json_object();
		ratio = json_object();
		cpu = json_object();
		if (!o || !res || !ratio || !cpu || json_object_set_new(o, "results", res) ||
		    json_object_set_new(o, "ratio", ratio) ||
		    json_object_set_new(o, "cpu_ratio", cpu) || json_array_append_new(arr, o))
			goto out_nomem;
		for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
			enum ddvm_bench_path p = column[k];
			const char *name = ddvm_bench_path_name(p, part->net);

			if (!path_on(rep, p))
				continue;
			if (json_object_set_new(res, name,
						ddvm_bench_result_json(&part->res[p][i], part->net)))
				goto out_nomem;
			if (p == DDVM_BENCH_PATH_NATIVE)
				continue;
			if (json_object_set_new(ratio, name,
						num_or_null(ddvm_bench_client_ratio(part, i, p))) ||
			    json_object_set_new(cpu, name,
						num_or_null(ddvm_bench_client_cpu_ratio(part, i, p))))
				goto out_nomem;
		}
	}
	return json_pack("{s:o, s:o}", "paths", paths, "workloads", arr);

out_nomem:
	json_decref(paths);
	json_decref(arr);
	return NULL;
}

json_t *ddvm_bench_client_json(const struct ddvm_bench_client_report *rep)
{
	json_t *root = json_pack("{s:i, s:s, s:o}", "version", DDVM_BENCH_JSON_VERSION,
				 "benchmark", "client", "environment", env_json(&rep->env));

	if (!root)
		return NULL;
	if ((rep->blk.on && json_object_set_new(root, "disk", part_json(rep, &rep->blk))) ||
	    (rep->net.on && json_object_set_new(root, "net", part_json(rep, &rep->net)))) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* --------------------------------------------------------------------- CSV */

/* @s as a CSV field: quoted, quotes doubled, line breaks as spaces. */
static void csv_text(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputs("\"\"", fp);
		else
			fputc(*s == '\n' || *s == '\r' ? ' ' : *s, fp);
	}
	fputc('"', fp);
}

static void csv_num(FILE *fp, double v)
{
	if (v >= 0)
		fprintf(fp, ",%.6g", v);
	else
		fputc(',', fp);
}

static void part_csv(FILE *fp, const struct ddvm_bench_client_report *rep,
		     const struct ddvm_bench_part *part)
{
	unsigned int i, k;

	for (i = 0; i < part->nr; i++) {
		const struct ddvm_bench_workload *w = &part->w[i];

		for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
			enum ddvm_bench_path p = column[k];
			const struct ddvm_bench_result *r = &part->res[p][i];
			double v = ddvm_bench_metric(w, r);

			if (!path_on(rep, p))
				continue;
			if (v >= 0 && w->mtu && w->throughput)
				v = ddvm_bench_mbit(v);
			fprintf(fp, "%s,%s,", part->net ? "net" : "disk", w->name);
			csv_text(fp, w->label);
			fprintf(fp, ",%s,%d,%s", ddvm_bench_path_name(p, part->net), r->valid,
				w->rtt ? "rtt_avg_us" : w->mtu ? "mbit_s" :
				w->throughput ? "mib_s" : "iops");
			csv_num(fp, v);
			csv_num(fp, p == DDVM_BENCH_PATH_NATIVE ? -1 :
				ddvm_bench_client_ratio(part, i, p));
			csv_num(fp, has_cpu(w) ? cpu_of(r) : -1);
			csv_num(fp, p == DDVM_BENCH_PATH_NATIVE || !has_cpu(w) ? -1 :
				ddvm_bench_client_cpu_ratio(part, i, p));
			csv_num(fp, r->valid && !w->mtu ? r->lat_p50_us : -1);
			csv_num(fp, r->valid && !w->mtu ? r->lat_p99_us : -1);
			fputc(',', fp);
			csv_text(fp, r->error[0] ? r->error : part->error[p]);
			fputc('\n', fp);
		}
	}
}

char *ddvm_bench_client_csv(const struct ddvm_bench_client_report *rep)
{
	size_t len = 0;
	char *out = NULL;
	FILE *fp;

	fp = open_memstream(&out, &len);
	if (!fp)
		return NULL;
	fputs("part,workload,label,path,valid,metric,value,ratio,cpu_s_per_gib,cpu_ratio,"
	      "lat_p50_us,lat_p99_us,error\n", fp);
	if (rep->blk.on)
		part_csv(fp, rep, &rep->blk);
	if (rep->net.on)
		part_csv(fp, rep, &rep->net);
	if (fclose(fp)) {
		free(out);
		return NULL;
	}
	return out;
}

/* ------------------------------------------------------------------- chart */

enum panel { PANEL_SEQ, PANEL_RAND, PANEL_TCP, PANEL_CPU, NR_PANELS };

static const char *const panel_title[NR_PANELS] = {
	"disk: 1 MiB sequential", "disk: 4 KiB random read", "NIC: TCP, MTU 1500",
	"host CPU s per GiB moved (lower is better)",
};
static const char *const panel_unit[NR_PANELS] = { "MiB/s", "IOPS", "Mbit/s", "CPU s/GiB" };

/* Whether workload @w of @part is a bar in panel @pn. */
static bool in_panel(const struct ddvm_bench_part *part, const struct ddvm_bench_workload *w,
		     enum panel pn)
{
	if (!part->on)
		return false;
	switch (pn) {
	case PANEL_SEQ:
		return !part->net && w->throughput;
	case PANEL_RAND:
		return !part->net && !w->throughput;
	case PANEL_TCP:
		return part->net && !w->rtt;
	case PANEL_CPU:
		return w->throughput && !w->rtt;
	case NR_PANELS:
		break;
	}
	return false;
}

/* One data block: "label" then each path's value, then each client path's ratio. */
static void panel_data(FILE *d, const struct ddvm_bench_client_report *rep, enum panel pn,
		       double *ymin, double *ymax, unsigned int *count)
{
	const struct ddvm_bench_part *parts[] = { &rep->blk, &rep->net };
	unsigned int pi, i, k;

	fprintf(d, "# %s (%s)\n# workload", panel_title[pn], panel_unit[pn]);
	for (k = 0; k < DDVM_BENCH_NR_PATHS; k++)
		fprintf(d, " %s", ddvm_bench_path_name(column[k], false));
	fprintf(d, " ratios\n");
	for (pi = 0; pi < 2; pi++) {
		const struct ddvm_bench_part *part = parts[pi];

		for (i = 0; i < part->nr; i++) {
			const struct ddvm_bench_workload *w = &part->w[i];

			if (!in_panel(part, w, pn))
				continue;
			(*count)++;
			fprintf(d, "\"%s\"", w->label);
			for (k = 0; k < DDVM_BENCH_NR_PATHS; k++) {
				const struct ddvm_bench_result *r = &part->res[column[k]][i];
				double v = pn == PANEL_CPU ? cpu_of(r) : ddvm_bench_metric(w, r);

				if (v >= 0 && pn == PANEL_TCP)
					v = ddvm_bench_mbit(v);
				if (!path_on(rep, column[k]))
					v = -1;
				if (v > *ymax)
					*ymax = v;
				if (v > 0 && (*ymin <= 0 || v < *ymin))
					*ymin = v;
				if (v < 0)
					fprintf(d, " -");
				else
					fprintf(d, " %.3f", v);
			}
			for (k = 0; k + 1 < DDVM_BENCH_NR_PATHS; k++)
				fprintf(d, " %.3f", !path_on(rep, column[k]) ? -1 : pn == PANEL_CPU ?
					ddvm_bench_client_cpu_ratio(part, i, column[k]) :
					ddvm_bench_client_ratio(part, i, column[k]));
			fputc('\n', d);
		}
	}
	fprintf(d, "\n\n");
}

int ddvm_bench_client_gnuplot(const struct ddvm_bench_client_report *rep, const char *dat,
			      const char *png, char **data, char **script)
{
	static const char *const colour[DDVM_BENCH_NR_PATHS] = {
		"#ed7d31", "#a5a5a5", "#70ad47", "#4472c4",
	};
	static const char *const legend[DDVM_BENCH_NR_PATHS] = {
		"bridge (nbd / stream)", "front-end module", "direct (no DD/OS)",
		"native (in the DD/OS)",
	};
	const unsigned int n = DDVM_BENCH_NR_PATHS;
	double ymin[NR_PANELS] = { 0 }, ymax[NR_PANELS] = { 0 };
	unsigned int count[NR_PANELS] = { 0 }, pn, k;
	size_t dlen = 0, slen = 0;
	FILE *d, *s;

	*data = *script = NULL;
	d = open_memstream(data, &dlen);
	if (!d)
		return -ENOMEM;
	for (pn = 0; pn < NR_PANELS; pn++)
		panel_data(d, rep, pn, &ymin[pn], &ymax[pn], &count[pn]);
	if (fclose(d))
		goto out_nomem;

	s = open_memstream(script, &slen);
	if (!s)
		goto out_nomem;
	fprintf(s, "# ddvm bench client chart; run: gnuplot %s.gp\n"
		"set terminal pngcairo size 1200,900 noenhanced font ',10'\n"
		"set output '%s'\n"
		"set datafile missing '-'\n"
		"set multiplot layout 2,2 title \"ddvm bench client: %s%s%s, %s, %s; "
		"a client VM's disk and NIC by path, ratio to native above each bar\"\n"
		"set style data histograms\n"
		"set style histogram clustered gap 1\n"
		"set style fill solid 0.85 border -1\n"
		"set boxwidth 0.9\n"
		"set grid ytics\n"
		"set key top right font ',8'\n", png, png, rep->env.controller,
		rep->env.controller[0] && rep->env.nic[0] ? " / " : "", rep->env.nic, rep->env.accel,
		rep->env.host.date);
	for (pn = 0; pn < NR_PANELS; pn++) {
		fprintf(s, "set title '%s'\nset ylabel '%s'\nset xrange [-0.6:%.1f]\n",
			panel_title[pn], panel_unit[pn], count[pn] ? count[pn] - 0.4 : 0.6);
		/* disk and NIC costs differ tenfold and more: a log axis, slanted labels */
		if (pn == PANEL_CPU && ymin[pn] > 0)
			fprintf(s, "set logscale y\nset yrange [%.4f:%.3f]\nset xtics rotate by 20 right\n",
				ymin[pn] / 2, ymax[pn] * 3);
		else
			fprintf(s, "set yrange [0:%.3f]\n", ymax[pn] > 0 ? ymax[pn] * 1.25 : 1.0);
		if (!count[pn]) {	/* keep the layout: an empty panel */
			fprintf(s, "plot NaN notitle\n");
			continue;
		}
		fprintf(s, "plot '%s' index %u using 2:xtic(1) title '%s' lc rgb '%s'", dat, pn,
			legend[0], colour[0]);
		for (k = 1; k < n; k++)
			fprintf(s, ", \\\n     '' index %u using %u title '%s' lc rgb '%s'", pn, k + 2,
				legend[k], colour[k]);
		/* bar k of a cluster of n (gap 1) is centred at x + (k - (n - 1) / 2) / (n + 1) */
		for (k = 0; k + 1 < n; k++)
			fprintf(s, ", \\\n     '' index %u using ($0%+.3f):%u:($%u >= 0 ? "
				"sprintf('%%.2fx', $%u) : '') with labels offset 0,0.7 font ',8' "
				"notitle", pn, (k - (n - 1) / 2.0) / (n + 1), k + 2, n + 2 + k,
				n + 2 + k);
		fputc('\n', s);
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

static int client_chart(const void *rep, const char *dat, const char *png, char **data,
			char **script)
{
	return ddvm_bench_client_gnuplot(rep, dat, png, data, script);
}

int ddvm_bench_client_plot(const struct ddvm_bench_client_report *rep, const char *base,
			   struct ddvm_err *err)
{
	return ddvm_bench_draw(rep, client_chart, base, err);
}
