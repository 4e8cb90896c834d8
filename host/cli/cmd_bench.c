// SPDX-License-Identifier: GPL-2.0
/* ddvm bench blk|net: native vs reuse throughput, IOPS or RTT, latency and host CPU, in one run. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "accel.h"
#include "bench_blk.h"
#include "bench_client.h"
#include "bench_net.h"
#include "bench_report.h"
#include "commands.h"
#include "config.h"
#include "units.h"

#define BENCH_USAGE \
	"usage: ddvm bench blk [--controller virtio-blk|nvme|ahci] [--runtime S] [--ramp S]\n" \
	"                      [--size SIZE] [--domain NAME] [--json-only] [--no-plot]\n" \
	"                      [--out DIR] [CONFIG]\n" \
	"  Runs the same workloads on the same scratch image and controller twice:\n" \
	"  native (fio inside a DD/OS booted from the bench image) and reuse (this\n" \
	"  program through the channel of a DD/OS under a private supervisor), then\n" \
	"  prints a table, writes DIR/blk-CONTROLLER-TIME.json and a .png chart.\n" \
	"  Workloads: 1M sequential read and write at QD8, 4K random read at QD1 and\n" \
	"  QD32; each runs --ramp (2) + --runtime (6) seconds.\n" \
	"  CONFIG (default: built-in) gives kernel, memory, cpus and channel size of\n" \
	"  --domain (default: its first); the disk is always the benchmark's own\n" \
	"  var/bench-CONTROLLER.img of --size (1G), never the domain's image.\n" \
	"  --out DIR     results and the private run directory (default run/bench)\n" \
	"  --json-only   print the JSON document instead of the table\n" \
	"  --no-plot     do not run gnuplot\n" \
	"\n" \
	"usage: ddvm bench net [--nic e1000|e1000e|virtio-net|rtl8139] [--runtime S]\n" \
	"                      [--omit S] [--domain NAME] [--json-only] [--no-plot]\n" \
	"                      [--remote-csum-off] [--out DIR] [CONFIG]\n" \
	"  TCP send and receive (iperf3) at MTU 1500 and 500 and ping RTT against a\n" \
	"  remote host in a private network namespace at the far end of the NIC's\n" \
	"  wire, twice: native (iperf3 inside a DD/OS booted from the bench image)\n" \
	"  and reuse (iperf3 in a private client namespace whose interface is the\n" \
	"  channel, through `ddvm net tap`); prints a table, writes\n" \
	"  DIR/net-NIC-TIME.json and a .png chart.  Each TCP run is --omit (1) +\n" \
	"  --runtime (5) seconds.  CONFIG (default configs/net.json) gives kernel,\n" \
	"  memory, cpus, NIC model and channel of --domain (default: the first NIC\n" \
	"  domain).  Needs root (namespaces, taps).  The remote end leaves TCP\n" \
	"  checksums and segmentation to its tap, as a Linux host does, unless\n" \
	"  --remote-csum-off (then it sends finished 1500-byte frames; the old\n" \
	"  default, --remote-offload is accepted and is the default now).\n" \
	"\n" \
	"usage: ddvm bench client [--paths nbd,front,direct,native] [--only blk|net]\n" \
	"                         [--net|--no-net] [--controller C] [--nic MODEL] [--runtime S]\n" \
	"                         [--ramp S] [--omit S] [--size SIZE] [--disk-domain NAME]\n" \
	"                         [--nic-domain NAME] [--remote-offload] [--json-only]\n" \
	"                         [--no-plot] [--out DIR] [CONFIG]\n" \
	"  What a client VM (stock kernel, the bench image) gets from a DD/OS, by\n" \
	"  path: fio (bench blk's workloads) on its disk and iperf3/ping (bench net's\n" \
	"  at MTU 1500) over its NIC, through the bridge (nbd for the disk, stream\n" \
	"  for the NIC), the front-end module, directly (QEMU gives the VM the\n" \
	"  scratch image or a tap itself, no DD/OS), and native (the tool inside the\n" \
	"  DD/OS, as bench blk and bench net run it).  Bridge and front paths run\n" \
	"  the DD/OS and the VM under a private supervisor (DIR/run-client/PART-PATH).\n" \
	"  Prints ratios to native and host CPU s/GiB of all of a path's processes;\n" \
	"  writes DIR/client-TIME.json, .csv and a .png chart.  CONFIG (default\n" \
	"  configs/clients.json) gives the disk and NIC domains (the first of each,\n" \
	"  or --disk-domain, --nic-domain) and the client VM (its first VM).  The\n" \
	"  disk is bench blk's scratch image var/bench-CONTROLLER.img; the NIC half\n" \
	"  needs root.\n"

struct bench_ui {
	bool line_open;		/* a "[i/n] ... " line waits for its result */
};

static void bench_progress(void *ctx, const struct ddvm_bench_progress *p)
{
	struct bench_ui *ui = ctx;

	if (!p->w) {
		fprintf(stderr, "%s%s\n", ui->line_open ? "\n" : "", p->msg);
		ui->line_open = false;
		return;
	}
	if (!p->res && !p->msg) {
		if (ui->line_open)
			fputc('\n', stderr);
		fprintf(stderr, "[%u/%u] %-6s %-18s ... ", p->step, p->total, p->side,
			p->w->label);
		ui->line_open = true;
		fflush(stderr);
		return;
	}
	if (!ui->line_open)
		fprintf(stderr, "[%u/%u] %-6s %-18s ... ", p->step, p->total, p->side,
			p->w->label);
	ui->line_open = false;
	if (p->msg) {
		fprintf(stderr, "FAILED: %s\n", p->msg);
		return;
	}
	if (p->w->rtt) {
		fprintf(stderr, "RTT %.0f us (min %.0f, max %.0f)\n", p->res->lat_mean_us,
			p->res->lat_min_us, p->res->lat_max_us);
		return;
	}
	if (p->w->mtu) {
		fprintf(stderr, "%.0f Mbit/s", ddvm_bench_mbit(p->res->mib_s));
		if (p->res->cpu_s_per_gib > 0)
			fprintf(stderr, " (%.2f CPU s/GiB)", p->res->cpu_s_per_gib);
		fputc('\n', stderr);
		return;
	}
	if (p->w->throughput)
		fprintf(stderr, "%.1f MiB/s", p->res->mib_s);
	else
		fprintf(stderr, "%.0f IOPS", p->res->iops);
	fprintf(stderr, " (lat p50 %.0f us, p99 %.0f us", p->res->lat_p50_us, p->res->lat_p99_us);
	if (p->res->cpu_s_per_gib > 0)
		fprintf(stderr, ", %.2f CPU s/GiB", p->res->cpu_s_per_gib);
	fprintf(stderr, ")\n");
}

static int parse_controller(const char *s)
{
	int c;

	for (c = DDVM_CTRL_VIRTIO_BLK; c <= DDVM_CTRL_AHCI; c++)
		if (!strcmp(s, ddvm_controller_name((enum ddvm_controller)c)))
			return c;
	return -1;
}

static int parse_seconds(const char *what, const char *s, unsigned int min, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > 3600) {
		fprintf(stderr, "ddvm bench: %s '%s': want whole seconds, %u..3600\n", what, s, min);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The initramfs with fio: initramfs-bench.cpio beside the serving one. */
static void bench_initrd(const char *initrd, char *out, size_t len)
{
	const char *slash = strrchr(initrd, '/');
	int dir = slash ? (int)(slash - initrd) : 1;

	snprintf(out, len, "%.*s/initramfs-bench.cpio", dir, slash ? initrd : ".");
}

static void join_argv(int argc, char **argv, char *out, size_t len)
{
	size_t off = 0;
	int i;

	off += (size_t)snprintf(out, len, "ddvm");
	for (i = 0; i < argc && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, " %s", argv[i]);
}

static int write_json(const char *path, json_t *doc)
{
	if (json_dump_file(doc, path, JSON_INDENT(2)))
		return -EIO;
	return 0;
}

/* Table or JSON, the JSON file and the chart of a finished report. */
static int bench_output(const struct ddvm_bench_blk_report *rep, const char *base, bool json_only,
			bool no_plot)
{
	char path[PATH_MAX + 8];
	struct ddvm_err err = { "" };
	int failed = 0;
	unsigned int i;
	json_t *doc;
	char *table;

	doc = ddvm_bench_json(rep);
	snprintf(path, sizeof(path), "%s.json", base);
	if (!doc || write_json(path, doc)) {
		fprintf(stderr, "ddvm bench: cannot write %s\n", path);
		failed = 1;
	}
	if (json_only) {
		if (doc)
			json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		table = ddvm_bench_table(rep);
		if (table)
			fputs(table, stdout);
		free(table);
	}
	json_decref(doc);
	if (!no_plot && ddvm_bench_plot(rep, base, &err)) {
		fprintf(stderr, "ddvm bench: chart: %s\n", err.msg);
		failed = 1;
		no_plot = true;
	}
	fprintf(stderr, "results: %s.json%s%s%s\n", base, no_plot ? "" : ", ", no_plot ? "" : base,
		no_plot ? "" : ".png");
	for (i = 0; i < rep->nr; i++)
		if (!rep->native[i].valid || !rep->reuse[i].valid)
			failed = 1;
	return failed;
}

static int parse_nic(const char *s)
{
	int m;

	for (m = DDVM_NIC_E1000; m <= DDVM_NIC_RTL8139; m++)
		if (!strcmp(s, ddvm_nic_model_name((enum ddvm_nic_model)m)))
			return m;
	return -1;
}

/* What the benchmarks' command lines share. */
struct bench_cli {
	const char *out_dir;
	const char *cfg_path;		/* CONFIG, or the benchmark's default */
	bool json_only, no_plot;
	int controller;			/* enum ddvm_controller, -1: the domain's */
	int nic;			/* enum ddvm_nic_model, -1: the domain's */
	unsigned int runtime, ramp;	/* fio's */
	unsigned int omit;		/* iperf3's */
	uint64_t size;
	char command[1024];		/* the command line, for the report */
};

enum { OPT_TAKEN, OPT_OTHER, OPT_EXIT };

/*
 * Option @c (getopt's, @arg its argument) when it is one every benchmark
 * names alike.  Return: OPT_TAKEN, OPT_OTHER (the caller's), or OPT_EXIT
 * with the exit status in @status (help, or a bad value).
 */
static int common_opt(int c, const char *arg, struct bench_cli *cli, int *status)
{
	struct ddvm_err err = { "" };

	*status = 2;
	switch (c) {
	case 'c':
		cli->controller = parse_controller(arg);
		if (cli->controller >= 0)
			return OPT_TAKEN;
		fprintf(stderr, "ddvm bench: --controller '%s': want virtio-blk, nvme or ahci\n",
			arg);
		return OPT_EXIT;
	case 'm':
		cli->nic = parse_nic(arg);
		if (cli->nic >= 0)
			return OPT_TAKEN;
		fprintf(stderr, "ddvm bench: --nic '%s': want e1000, e1000e, virtio-net or "
			"rtl8139\n", arg);
		return OPT_EXIT;
	case 't':
		return parse_seconds("--runtime", arg, 1, &cli->runtime) ? OPT_EXIT : OPT_TAKEN;
	case 'r':
		return parse_seconds("--ramp", arg, 0, &cli->ramp) ? OPT_EXIT : OPT_TAKEN;
	case 'O':
		return parse_seconds("--omit", arg, 0, &cli->omit) ? OPT_EXIT : OPT_TAKEN;
	case 's':
		if (!ddvm_parse_size(arg, &cli->size, &err) && cli->size >= (8 << 20) &&
		    !(cli->size % 4096))
			return OPT_TAKEN;
		fprintf(stderr, "ddvm bench: --size '%s': %s\n", arg,
			err.msg[0] ? err.msg : "want at least 8M, a multiple of 4K");
		return OPT_EXIT;
	case 'j':
		cli->json_only = true;
		return OPT_TAKEN;
	case 'n':
		cli->no_plot = true;
		return OPT_TAKEN;
	case 'o':
		cli->out_dir = arg;
		return OPT_TAKEN;
	case 'h':
		fputs(BENCH_USAGE, stdout);
		*status = 0;
		return OPT_EXIT;
	case '?':
		fputs(BENCH_USAGE, stderr);
		return OPT_EXIT;
	}
	return OPT_OTHER;
}

/*
 * Parse @argc/@argv with @opts into @cli, handing the options that are
 * not common to @own(@c, optarg, @ctx) (0 or an exit status); then the
 * optional CONFIG.  Return: -1 to go on, else the exit status.
 */
static int bench_args(int argc, char **argv, const struct option *opts, struct bench_cli *cli,
		      int (*own)(int c, const char *arg, void *ctx), void *ctx)
{
	int c, status;

	join_argv(argc + 1, argv - 1, cli->command, sizeof(cli->command));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (common_opt(c, optarg, cli, &status)) {
		case OPT_TAKEN:
			continue;
		case OPT_EXIT:
			return status;
		}
		status = own ? own(c, optarg, ctx) : 2;
		if (status)
			return status;
	}
	if (argc - optind > 1) {
		fputs(BENCH_USAGE, stderr);
		return 2;
	}
	if (optind < argc)
		cli->cfg_path = argv[optind];
	return -1;
}

/* OUT/NAME-TIME: where a finished run's results go. */
static void results_base(char *out, size_t len, const char *out_dir, const char *name)
{
	char stamp[32];
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(out, len, "%s/%s-%s", out_dir, name, stamp);
}

/* mkdir -p @dir, and the current directory into @cwd.  Return: 0 or -errno (@err says). */
static int bench_dirs(const char *dir, char *cwd, size_t len, struct ddvm_err *err)
{
	int ret = make_dirs(dir);

	if (ret)
		return ddvm_errf(err, ret, "%s: %s", dir, strerror(-ret));
	if (!getcwd(cwd, len))
		return ddvm_errf(err, -errno, "getcwd: %s", strerror(errno));
	return 0;
}

static int blk_own(int c, const char *arg, void *ctx)
{
	if (c != 'd')
		return 2;
	*(const char **)ctx = arg;
	return 0;
}

static int bench_blk(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "controller", required_argument, NULL, 'c' },
		{ "runtime", required_argument, NULL, 't' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "json-only", no_argument, NULL, 'j' },
		{ "no-plot", no_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ddvm_config cfg, bcfg;
	static struct ddvm_bench_blk_report rep;
	struct bench_cli cli = {
		.out_dir = "run/bench", .controller = -1, .nic = -1,
		.ramp = DDVM_BENCH_DEFAULT_RAMP, .runtime = DDVM_BENCH_DEFAULT_RUNTIME,
		.size = DDVM_BENCH_DEFAULT_SIZE,
	};
	struct ddvm_bench_blk_opts bo = { .exe = "/proc/self/exe" };
	char cwd[PATH_MAX], image[PATH_MAX], run_dir[PATH_MAX], initrd[DDVM_PATH_MAX + 32];
	char base[PATH_MAX + 64];
	const char *domain = NULL;
	struct bench_ui ui = { false };
	struct ddvm_accel accel;
	struct ddvm_err err = { "" };
	int ret;

	ret = bench_args(argc, argv, opts, &cli, blk_own, &domain);
	if (ret >= 0)
		return ret;
	if (ddvm_config_load(&cfg, cli.cfg_path, &err))
		goto out_err;
	if (cli.controller < 0) {
		const struct ddvm_domain_cfg *d = domain ? ddvm_config_find_domain(&cfg, domain) :
					       &cfg.domains[0];

		cli.controller = d ? (int)d->disk.controller : DDVM_CTRL_VIRTIO_BLK;
	}
	snprintf(image, sizeof(image), "var/bench-%s.img",
		 ddvm_controller_name((enum ddvm_controller)cli.controller));
	if (snprintf(run_dir, sizeof(run_dir), "%s/run-%s", cli.out_dir,
		     ddvm_controller_name((enum ddvm_controller)cli.controller)) >=
	    (int)sizeof(run_dir)) {
		ddvm_errf(&err, -ENAMETOOLONG, "--out %s: path too long", cli.out_dir);
		goto out_err;
	}
	if (bench_dirs(run_dir, cwd, sizeof(cwd), &err) ||
	    ddvm_bench_blk_config(&bcfg, &cfg, domain, cli.controller, image, cli.size, run_dir,
				  &err) ||
	    ddvm_config_absolutize(&bcfg, cwd, &err) ||
	    ddvm_accel_for_config(bcfg.accel, bcfg.source, &accel, &err))
		goto out_err;
	bench_initrd(bcfg.initrd, initrd, sizeof(initrd));

	bo.cfg = &bcfg;
	bo.bench_initrd = initrd;
	bo.accel = &accel;
	bo.ramp = cli.ramp;
	bo.runtime = cli.runtime;
	bo.command = cli.command;
	bo.progress = bench_progress;
	bo.ctx = &ui;
	fprintf(stderr, "ddvm bench blk: %s, accel %s (%s), %u s ramp + %u s per workload\n",
		ddvm_controller_name((enum ddvm_controller)cli.controller), ddvm_accel_name(&accel),
		accel.reason, bo.ramp, bo.runtime);
	if (ddvm_bench_blk_run(&bo, &rep, &err))
		goto out_err;
	snprintf(run_dir, sizeof(run_dir), "blk-%s", rep.env.controller);
	results_base(base, sizeof(base), cli.out_dir, run_dir);
	return bench_output(&rep, base, cli.json_only, cli.no_plot);

out_err:
	fprintf(stderr, "ddvm bench: %s\n", err.msg);
	return 1;
}

struct net_own {
	const char *domain;
	bool remote_offload;
};

static int net_own(int c, const char *arg, void *ctx)
{
	struct net_own *n = ctx;

	if (c == 'd')
		n->domain = arg;
	else if (c == 'R')
		n->remote_offload = true;
	else if (c == 'C')
		n->remote_offload = false;
	else
		return 2;
	return 0;
}

static int bench_net(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nic", required_argument, NULL, 'm' },
		{ "remote-offload", no_argument, NULL, 'R' },
		{ "remote-csum-off", no_argument, NULL, 'C' },
		{ "runtime", required_argument, NULL, 't' },
		{ "omit", required_argument, NULL, 'O' },
		{ "domain", required_argument, NULL, 'd' },
		{ "json-only", no_argument, NULL, 'j' },
		{ "no-plot", no_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ddvm_config cfg, bcfg;
	static struct ddvm_bench_blk_report rep;
	struct bench_cli cli = {
		.out_dir = "run/bench", .cfg_path = "configs/net.json", .controller = -1,
		.nic = -1, .omit = DDVM_BENCH_NET_OMIT, .runtime = DDVM_BENCH_NET_RUNTIME,
	};
	struct ddvm_bench_net_opts no = { .exe = "/proc/self/exe" };
	char cwd[PATH_MAX], run_dir[PATH_MAX], initrd[DDVM_PATH_MAX + 32], base[PATH_MAX + 64];
	/* a remote that offloads, as Linux hosts do: the DD/OS handles partial checksums */
	struct net_own own = { NULL, true };
	struct bench_ui ui = { false };
	struct ddvm_accel accel;
	struct ddvm_err err = { "" };
	int ret;

	ret = bench_args(argc, argv, opts, &cli, net_own, &own);
	if (ret >= 0)
		return ret;
	if (ddvm_config_load(&cfg, cli.cfg_path, &err))
		goto out_err;
	if (snprintf(run_dir, sizeof(run_dir), "%s/run-net", cli.out_dir) >= (int)sizeof(run_dir)) {
		ddvm_errf(&err, -ENAMETOOLONG, "--out %s: path too long", cli.out_dir);
		goto out_err;
	}
	if (bench_dirs(run_dir, cwd, sizeof(cwd), &err) ||
	    ddvm_bench_net_config(&bcfg, &cfg, own.domain, cli.nic, run_dir, &err) ||
	    ddvm_config_absolutize(&bcfg, cwd, &err) ||
	    ddvm_accel_for_config(bcfg.accel, bcfg.source, &accel, &err))
		goto out_err;
	bench_initrd(bcfg.initrd, initrd, sizeof(initrd));

	no.cfg = &bcfg;
	no.bench_initrd = initrd;
	no.accel = &accel;
	no.omit = cli.omit;
	no.runtime = cli.runtime;
	no.remote_offload = own.remote_offload;
	no.command = cli.command;
	no.progress = bench_progress;
	no.ctx = &ui;
	fprintf(stderr, "ddvm bench net: %s, accel %s (%s), iperf3 %u s omitted + %u s per run\n",
		ddvm_nic_model_name(bcfg.domains[0].nic.model), ddvm_accel_name(&accel),
		accel.reason, no.omit, no.runtime);
	if (ddvm_bench_net_run(&no, &rep, &err))
		goto out_err;
	snprintf(run_dir, sizeof(run_dir), "net-%s", rep.env.controller);
	results_base(base, sizeof(base), cli.out_dir, run_dir);
	return bench_output(&rep, base, cli.json_only, cli.no_plot);

out_err:
	fprintf(stderr, "ddvm bench: %s\n", err.msg);
	return 1;
}

/* @path made absolute against @cwd. */
static int absolute(char *out, size_t len, const char *cwd, const char *path)
{
	int n = path[0] == '/' ? snprintf(out, len, "%s", path) :
				 snprintf(out, len, "%s/%s", cwd, path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Table or JSON, the JSON and CSV files and the chart of a finished client report. */
static int client_output(const struct ddvm_bench_client_report *rep, const char *base,
			 bool json_only, bool no_plot)
{
	char path[PATH_MAX + 128];
	struct ddvm_err err = { "" };
	int failed = 0;
	unsigned int i, p;
	char *text;
	json_t *doc;

	doc = ddvm_bench_client_json(rep);
	snprintf(path, sizeof(path), "%s.json", base);
	if (!doc || write_json(path, doc)) {
		fprintf(stderr, "ddvm bench: cannot write %s\n", path);
		failed = 1;
	}
	text = ddvm_bench_client_csv(rep);
	snprintf(path, sizeof(path), "%s.csv", base);
	if (!text || ddvm_bench_write_file(path, text, &err)) {
		fprintf(stderr, "ddvm bench: cannot write %s%s%s\n", path, err.msg[0] ? ": " : "",
			err.msg);
		failed = 1;
	}
	free(text);
	if (json_only) {
		if (doc)
			json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		text = ddvm_bench_client_table(rep);
		if (text)
			fputs(text, stdout);
		free(text);
	}
	json_decref(doc);
	if (!no_plot && ddvm_bench_client_plot(rep, base, &err)) {
		fprintf(stderr, "ddvm bench: chart: %s\n", err.msg);
		failed = 1;
		no_plot = true;
	}
	fprintf(stderr, "results: %s.json, %s.csv%s%s%s\n", base, base, no_plot ? "" : ", ",
		no_plot ? "" : base, no_plot ? "" : ".png");
	for (p = 0; p < DDVM_BENCH_NR_PATHS; p++) {
		if (!(rep->paths & (1u << p)))
			continue;
		for (i = 0; rep->blk.on && i < rep->blk.nr; i++)
			failed |= !rep->blk.res[p][i].valid;
		for (i = 0; rep->net.on && i < rep->net.nr; i++)
			failed |= !rep->net.res[p][i].valid;
	}
	return failed;
}

static int client_own(int c, const char *arg, void *ctx)
{
	struct ddvm_bench_client_opts *co = ctx;
	struct ddvm_err err = { "" };

	switch (c) {
	case 'p':
		if (!ddvm_bench_parse_paths(arg, &co->paths, &err))
			return 0;
		fprintf(stderr, "ddvm bench: %s\n", err.msg);
		return 2;
	case 'y':
		if (strcmp(arg, "blk") && strcmp(arg, "net")) {
			fprintf(stderr, "ddvm bench: --only '%s': want blk or net\n", arg);
			return 2;
		}
		co->blk = !strcmp(arg, "blk");
		co->net = !co->blk;
		return 0;
	case 'e':
		co->net = true;
		return 0;
	case 'N':
		co->net = false;
		co->blk = true;
		return 0;
	case 'd':
		co->disk_domain = arg;
		return 0;
	case 'D':
		co->nic_domain = arg;
		return 0;
	case 'R':
		co->remote_offload = true;
		return 0;
	}
	return 2;
}

static int bench_client(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "controller", required_argument, NULL, 'c' },
		{ "nic", required_argument, NULL, 'm' },
		{ "runtime", required_argument, NULL, 't' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "omit", required_argument, NULL, 'O' },
		{ "size", required_argument, NULL, 's' },
		{ "paths", required_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'y' },
		{ "net", no_argument, NULL, 'e' },
		{ "no-net", no_argument, NULL, 'N' },
		{ "disk-domain", required_argument, NULL, 'd' },
		{ "nic-domain", required_argument, NULL, 'D' },
		{ "remote-offload", no_argument, NULL, 'R' },
		{ "json-only", no_argument, NULL, 'j' },
		{ "no-plot", no_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ddvm_config cfg;
	static struct ddvm_bench_client_report rep;
	struct bench_cli cli = {
		.out_dir = "run/bench", .cfg_path = "configs/clients.json", .controller = -1,
		.nic = -1, .ramp = DDVM_BENCH_DEFAULT_RAMP, .runtime = DDVM_BENCH_DEFAULT_RUNTIME,
		.omit = DDVM_BENCH_NET_OMIT, .size = DDVM_BENCH_DEFAULT_SIZE,
	};
	struct ddvm_bench_client_opts co = {
		.paths = DDVM_BENCH_ALL_PATHS, .blk = true,
		.net = true, .exe = "/proc/self/exe",
	};
	char cwd[PATH_MAX], image[PATH_MAX + 64], run_dir[PATH_MAX + 16], lock[PATH_MAX + 32];
	char initrd[DDVM_PATH_MAX + 32], base[PATH_MAX + 16], rel[64];
	struct bench_ui ui = { false };
	struct ddvm_accel accel;
	struct ddvm_err err = { "" };
	int ret;

	ret = bench_args(argc, argv, opts, &cli, client_own, &co);
	if (ret >= 0)
		return ret;
	if (!getcwd(cwd, sizeof(cwd))) {
		ddvm_errf(&err, -errno, "getcwd: %s", strerror(errno));
		goto out_err;
	}
	if (ddvm_config_load(&cfg, cli.cfg_path, &err) || ddvm_config_absolutize(&cfg, cwd, &err) ||
	    ddvm_accel_for_config(cfg.accel, cfg.source, &accel, &err))
		goto out_err;
	if (cli.controller < 0) {
		const struct ddvm_domain_cfg *d = co.disk_domain ?
			ddvm_config_find_domain(&cfg, co.disk_domain) : NULL;
		unsigned int i;

		for (i = 0; !d && i < cfg.nr_domains; i++)
			if (cfg.domains[i].has_disk)
				d = &cfg.domains[i];
		cli.controller = d ? (int)d->disk.controller : DDVM_CTRL_VIRTIO_BLK;
	}
	/* the scratch image and its lock are `ddvm bench blk`'s: one benchmark at a time on it */
	snprintf(rel, sizeof(rel), "var/bench-%s.img",
		 ddvm_controller_name((enum ddvm_controller)cli.controller));
	if (absolute(image, sizeof(image), cwd, rel) ||
	    absolute(base, sizeof(base), cwd, cli.out_dir) ||
	    snprintf(run_dir, sizeof(run_dir), "%s/run-client", base) >= (int)sizeof(run_dir) ||
	    snprintf(lock, sizeof(lock), "%s/run-%s", base,
		     ddvm_controller_name((enum ddvm_controller)cli.controller)) >= (int)sizeof(lock)) {
		ddvm_errf(&err, -ENAMETOOLONG, "--out %s: path too long", cli.out_dir);
		goto out_err;
	}
	if (bench_dirs(run_dir, cwd, sizeof(cwd), &err))
		goto out_err;
	bench_initrd(cfg.initrd, initrd, sizeof(initrd));
	co.cfg = &cfg;
	co.controller = cli.controller;
	co.nic_model = cli.nic;
	co.ramp = cli.ramp;
	co.omit = cli.omit;
	co.runtime = cli.runtime;
	co.size = cli.size;
	co.image = image;
	co.run_dir = run_dir;
	co.scratch_lock = lock;
	co.bench_initrd = initrd;
	co.accel = &accel;
	co.command = cli.command;
	co.progress = bench_progress;
	co.ctx = &ui;
	fprintf(stderr, "ddvm bench client: %s%s%s, accel %s (%s), fio %u s ramp + %u s, "
		"iperf3 %u s omitted + %u s\n", co.blk ? "disk" : "", co.blk && co.net ? " and " : "",
		co.net ? "NIC" : "", ddvm_accel_name(&accel), accel.reason, co.ramp, co.runtime,
		co.omit, co.runtime);
	ret = ddvm_bench_client_run(&co, &rep, &err);
	if (ret && ret != -EINTR)
		goto out_err;
	if (ret)
		fprintf(stderr, "ddvm bench: %s\n", err.msg);
	results_base(base, sizeof(base), cli.out_dir, "client");
	return client_output(&rep, base, cli.json_only, cli.no_plot) || ret;

out_err:
	fprintf(stderr, "ddvm bench: %s\n", err.msg);
	return 1;
}

int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(BENCH_USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "net"))
		return bench_net(argc - 1, argv + 1);
	if (!strcmp(argv[1], "client"))
		return bench_client(argc - 1, argv + 1);
	if (strcmp(argv[1], "blk")) {
		fprintf(stderr, "ddvm bench: unknown benchmark '%s' (blk, net, client)\n%s", argv[1],
			BENCH_USAGE);
		return 2;
	}
	return bench_blk(argc - 1, argv + 1);
}
