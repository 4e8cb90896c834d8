/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Results of `ddvm bench blk` and `ddvm bench net` for people and
 * programs: the table, the JSON document and the gnuplot bar chart, all
 * made from one report.  A report whose workloads have an MTU is a net
 * report: throughput in Mbit/s, round-trip time, and a CPU bar too.
 */
#ifndef DDVM_BENCH_REPORT_H
#define DDVM_BENCH_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "bench_engine.h"
#include "config.h"
#include "err.h"

#define DDVM_BENCH_MAX_WORKLOADS	8
#define DDVM_BENCH_BAR			0.9	/* reuse/native for 1 MiB sequential, TCP */
#define DDVM_BENCH_CPU_BAR		1.5	/* net: reuse/native CPU s/GiB at most */
#define DDVM_BENCH_JSON_VERSION		1

/* Where and how the benchmark ran: everything needed to compare runs fairly. */
struct ddvm_bench_env {
	char date[32];			/* ISO 8601, UTC */
	char command[1024];		/* the ddvm command line */
	char accel[8];
	char accel_reason[256];
	char controller[16];		/* net: the NIC model */
	char kernel_abi[64];		/* the DD/OS kernel */
	char host_kernel[128];
	long host_cpus;
	char qemu_version[128];
	char fio_version[32];		/* net: iperf3's, in the DD/OS */
	char ioengine[16];		/* fio's, in the DD/OS */
	char image[DDVM_PATH_MAX];	/* the scratch image both sides used */
	uint64_t size;			/* bytes of it exercised */
	unsigned int ramp, runtime;	/* seconds per workload */
	uint64_t memory_native, memory_reuse;	/* DD/OS memory, bytes */
	unsigned int cpus;		/* DD/OS vCPUs */
	char channel_driver[64];	/* the driver chain the module reports */
	uint64_t channel_size;
	uint32_t channel_depth, channel_max_io;
	double load_start[3], load_end[3];	/* host load average */
	char native_cmdline[8192];	/* QEMU, as run */
	char reuse_cmdline[4096];	/* QEMU of the serving DD/OS (from its console log) */
	char run_dir[DDVM_PATH_MAX];	/* logs and consoles of this run */
	/* net */
	char remote[64];		/* the remote host: netns and address */
	char native_addr[64], reuse_addr[96];	/* the DD/OS's, the client's */
	bool remote_offload;		/* the remote tap kept TX checksum offload */
};

struct ddvm_bench_blk_report {
	struct ddvm_bench_env env;
	unsigned int nr;
	const struct ddvm_bench_workload *w;	/* nr of them */
	struct ddvm_bench_result native[DDVM_BENCH_MAX_WORKLOADS];
	struct ddvm_bench_result reuse[DDVM_BENCH_MAX_WORKLOADS];
	char native_error[512];		/* why the native side stopped early, or "" */
	char reuse_error[512];
};

/* Whether @rep is a `ddvm bench net` report. */
bool ddvm_bench_is_net(const struct ddvm_bench_blk_report *rep);

/* MiB/s as Mbit/s (10^6 bits), the unit networks are quoted in. */
double ddvm_bench_mbit(double mib_s);

/* The workload's headline number: MiB/s, IOPS or RTT us; < 0 when not measured. */
double ddvm_bench_metric(const struct ddvm_bench_workload *w, const struct ddvm_bench_result *r);

/* reuse / native of the headline metric; < 0 when either is missing. */
double ddvm_bench_ratio(const struct ddvm_bench_blk_report *rep, unsigned int i);

/*
 * ddvm_bench_bar - whether every 1 MiB sequential workload (net: every TCP
 * workload) reached DDVM_BENCH_BAR; net also wants reuse CPU s/GiB at most
 * DDVM_BENCH_CPU_BAR times native's.  Return: 1 met, 0 missed, -1 not
 * measured.
 */
int ddvm_bench_bar(const struct ddvm_bench_blk_report *rep);

/* The headline metric of @r as shown: "950.0 MiB/s", "8000 IOPS", "940 Mbit/s", "310 us", "-". */
const char *ddvm_bench_fmt_metric(char *buf, size_t len, const struct ddvm_bench_workload *w,
				  const struct ddvm_bench_result *r);

/* One result as JSON (a net one: Mbit/s and RTT).  Return: a new reference, or NULL. */
json_t *ddvm_bench_result_json(const struct ddvm_bench_result *r, bool net);

/* ddvm_bench_table - the report as a table for a terminal.  Return: text to free, or NULL. */
char *ddvm_bench_table(const struct ddvm_bench_blk_report *rep);

/* ddvm_bench_json - the report as a JSON document.  Return: a new reference, or NULL. */
json_t *ddvm_bench_json(const struct ddvm_bench_blk_report *rep);

/**
 * ddvm_bench_gnuplot - the data and the script for the bar chart.
 * @rep:    the report
 * @dat:    the data file the script reads (written by the caller)
 * @png:    the image the script writes
 * @data:   set to the data text (caller frees)
 * @script: set to the script text (caller frees)
 *
 * Two panels, native and reuse side by side with the ratio above each
 * pair: 1 MiB sequential in MiB/s, 4 KiB random in IOPS.
 *
 * Return: 0 or -ENOMEM.
 */
int ddvm_bench_gnuplot(const struct ddvm_bench_blk_report *rep, const char *dat, const char *png,
		       char **data, char **script);

/**
 * ddvm_bench_plot - write @base.dat and @base.gp and run gnuplot to draw
 *	@base.png.
 * @rep:  the report
 * @base: path without extension
 * @err:  names the file or says why gnuplot failed
 *
 * Return: 0, -ENOENT (no gnuplot), -EIO (gnuplot failed), -errno.
 */
int ddvm_bench_plot(const struct ddvm_bench_blk_report *rep, const char *base,
		    struct ddvm_err *err);

/* A chart's data and script text for report @rep (ddvm_bench_gnuplot()'s shape). */
typedef int ddvm_bench_chart_fn(const void *rep, const char *dat, const char *png, char **data,
				char **script);

/**
 * ddvm_bench_draw - write @base.dat and @base.gp from @chart and run
 *	gnuplot to draw @base.png.
 * @rep:   the report @chart reads
 * @chart: makes the data and the script
 * @base:  path without extension
 * @err:   names the file or says why gnuplot failed
 *
 * Return: 0, -ENOENT (no gnuplot), -EIO (gnuplot failed), -errno.
 */
int ddvm_bench_draw(const void *rep, ddvm_bench_chart_fn *chart, const char *base,
		    struct ddvm_err *err);

/* ddvm_bench_write_file - @path holds @text now.  Return: 0 or -errno (@err names it). */
int ddvm_bench_write_file(const char *path, const char *text, struct ddvm_err *err);

#endif /* DDVM_BENCH_REPORT_H */
