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
	"                      [--remote-offload] [--out DIR] [CONFIG]\n" \
	"  TCP send and receive (iperf3) at MTU 1500 and 500 and ping RTT against a\n" \
	"  remote host in a private network namespace at the far end of the NIC's\n" \
	"  wire, twice: native (iperf3 inside a DD/OS booted from the bench image)\n" \
	"  and reuse (iperf3 in a private client namespace whose interface is the\n" \
	"  channel, through `ddvm net tap`); prints a table, writes\n" \
	"  DIR/net-NIC-TIME.json and a .png chart.  Each TCP run is --omit (1) +\n" \
	"  --runtime (5) seconds.  CONFIG (default configs/net.json) gives kernel,\n" \
	"  memory, cpus, NIC model and channel of --domain (default: the first NIC\n" \
	"  domain).  Needs root (namespaces, taps).  The remote end computes its\n" \
	"  own TCP checksums unless --remote-offload: the DD/OS's module does not\n" \
	"  yet complete the partial checksums virtio-net hands it, and clients\n" \
	"  would drop those segments.\n"

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
	const char *out_dir = "run/bench", *domain = NULL, *cfg_path = NULL;
	struct ddvm_bench_blk_opts bo = {
		.ramp = DDVM_BENCH_DEFAULT_RAMP, .runtime = DDVM_BENCH_DEFAULT_RUNTIME,
		.exe = "/proc/self/exe",
	};
	char cwd[PATH_MAX], image[PATH_MAX], run_dir[PATH_MAX], initrd[DDVM_PATH_MAX + 32];
	char base[PATH_MAX], path[PATH_MAX + 8], command[1024], stamp[32];
	struct bench_ui ui = { false };
	uint64_t size = DDVM_BENCH_DEFAULT_SIZE;
	bool json_only = false, no_plot = false;
	int controller = -1, c, ret, failed = 0;
	struct ddvm_accel accel;
	struct ddvm_err err = { "" };
	unsigned int i;
	json_t *doc;
	char *table;
	time_t now;

	join_argv(argc + 1, argv - 1, command, sizeof(command));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			controller = parse_controller(optarg);
			if (controller < 0) {
				fprintf(stderr, "ddvm bench: --controller '%s': want virtio-blk, nvme "
					"or ahci\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_seconds("--runtime", optarg, 1, &bo.runtime))
				return 2;
			break;
		case 'r':
			if (parse_seconds("--ramp", optarg, 0, &bo.ramp))
				return 2;
			break;
		case 's':
			if (ddvm_parse_size(optarg, &size, &err) || size < (8 << 20) || size % 4096) {
				fprintf(stderr, "ddvm bench: --size '%s': %s\n", optarg,
					err.msg[0] ? err.msg : "want at least 8M, a multiple of 4K");
				return 2;
			}
			break;
		case 'd':
			domain = optarg;
			break;
		case 'j':
			json_only = true;
			break;
		case 'n':
			no_plot = true;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'h':
			fputs(BENCH_USAGE, stdout);
			return 0;
		default:
			fputs(BENCH_USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fputs(BENCH_USAGE, stderr);
		return 2;
	}
	if (optind < argc)
		cfg_path = argv[optind];

	if (ddvm_config_load(&cfg, cfg_path, &err))
		goto out_err;
	if (controller < 0) {
		const struct ddvm_domain_cfg *d = domain ? ddvm_config_find_domain(&cfg, domain) :
					       &cfg.domains[0];

		controller = d ? (int)d->disk.controller : DDVM_CTRL_VIRTIO_BLK;
	}
	snprintf(image, sizeof(image), "var/bench-%s.img",
		 ddvm_controller_name((enum ddvm_controller)controller));
	if (snprintf(run_dir, sizeof(run_dir), "%s/run-%s", out_dir,
		     ddvm_controller_name((enum ddvm_controller)controller)) >= (int)sizeof(run_dir)) {
		ddvm_errf(&err, -ENAMETOOLONG, "--out %s: path too long", out_dir);
		goto out_err;
	}
	ret = make_dirs(run_dir);
	if (ret) {
		ddvm_errf(&err, ret, "%s: %s", run_dir, strerror(-ret));
		goto out_err;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		ddvm_errf(&err, -errno, "getcwd: %s", strerror(errno));
		goto out_err;
	}
	if (ddvm_bench_blk_config(&bcfg, &cfg, domain, controller, image, size, run_dir, &err) ||
	    ddvm_config_absolutize(&bcfg, cwd, &err) || ddvm_accel_for_config(bcfg.accel, bcfg.source, &accel, &err))
		goto out_err;
	bench_initrd(bcfg.initrd, initrd, sizeof(initrd));

	bo.cfg = &bcfg;
	bo.bench_initrd = initrd;
	bo.accel = &accel;
	bo.command = command;
	bo.progress = bench_progress;
	bo.ctx = &ui;
	fprintf(stderr, "ddvm bench blk: %s, accel %s (%s), %u s ramp + %u s per workload\n",
		ddvm_controller_name((enum ddvm_controller)controller), ddvm_accel_name(&accel),
		accel.reason, bo.ramp, bo.runtime);
	if (ddvm_bench_blk_run(&bo, &rep, &err))
		goto out_err;

	now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(base, sizeof(base), "%s/blk-%s-%s", out_dir, rep.env.controller, stamp);
	doc = ddvm_bench_json(&rep);
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
		table = ddvm_bench_table(&rep);
		if (table)
			fputs(table, stdout);
		free(table);
	}
	json_decref(doc);
	if (!no_plot && ddvm_bench_plot(&rep, base, &err)) {
		fprintf(stderr, "ddvm bench: chart: %s\n", err.msg);
		failed = 1;
		no_plot = true;
	}
	fprintf(stderr, "results: %s.json%s%s%s\n", base, no_plot ? "" : ", ", no_plot ? "" : base,
		no_plot ? "" : ".png");
	for (i = 0; i < rep.nr; i++)
		if (!rep.native[i].valid || !rep.reuse[i].valid)
			failed = 1;
	return failed;

out_err:
	fprintf(stderr, "ddvm bench: %s\n", err.msg);
	return 1;
}

static int parse_nic(const char *s)
{
	int m;

	for (m = DDVM_NIC_E1000; m <= DDVM_NIC_RTL8139; m++)
		if (!strcmp(s, ddvm_nic_model_name((enum ddvm_nic_model)m)))
			return m;
	return -1;
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

static int bench_net(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nic", required_argument, NULL, 'm' },
		{ "remote-offload", no_argument, NULL, 'R' },
		{ "runtime", required_argument, NULL, 't' },
		{ "omit", required_argument, NULL, 'r' },
		{ "domain", required_argument, NULL, 'd' },
		{ "json-only", no_argument, NULL, 'j' },
		{ "no-plot", no_argument, NULL, 'n' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ddvm_config cfg, bcfg;
	static struct ddvm_bench_blk_report rep;
	const char *out_dir = "run/bench", *domain = NULL, *cfg_path = "configs/net.json";
	struct ddvm_bench_net_opts no = {
		.omit = DDVM_BENCH_NET_OMIT, .runtime = DDVM_BENCH_NET_RUNTIME,
		.exe = "/proc/self/exe",
	};
	char cwd[PATH_MAX], run_dir[PATH_MAX], initrd[DDVM_PATH_MAX + 32];
	char base[PATH_MAX], command[1024], stamp[32];
	struct bench_ui ui = { false };
	bool json_only = false, no_plot = false;
	int model = -1, c, ret;
	struct ddvm_accel accel;
	struct ddvm_err err = { "" };
	time_t now;

	join_argv(argc + 1, argv - 1, command, sizeof(command));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			no.remote_offload = true;
			break;
		case 'm':
			model = parse_nic(optarg);
			if (model < 0) {
				fprintf(stderr, "ddvm bench: --nic '%s': want e1000, e1000e, "
					"virtio-net or rtl8139\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_seconds("--runtime", optarg, 1, &no.runtime))
				return 2;
			break;
		case 'r':
			if (parse_seconds("--omit", optarg, 0, &no.omit))
				return 2;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'j':
			json_only = true;
			break;
		case 'n':
			no_plot = true;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'h':
			fputs(BENCH_USAGE, stdout);
			return 0;
		default:
			fputs(BENCH_USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fputs(BENCH_USAGE, stderr);
		return 2;
	}
	if (optind < argc)
		cfg_path = argv[optind];

	if (ddvm_config_load(&cfg, cfg_path, &err))
		goto out_err;
	if (snprintf(run_dir, sizeof(run_dir), "%s/run-net", out_dir) >= (int)sizeof(run_dir)) {
		ddvm_errf(&err, -ENAMETOOLONG, "--out %s: path too long", out_dir);
		goto out_err;
	}
	ret = make_dirs(run_dir);
	if (ret) {
		ddvm_errf(&err, ret, "%s: %s", run_dir, strerror(-ret));
		goto out_err;
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		ddvm_errf(&err, -errno, "getcwd: %s", strerror(errno));
		goto out_err;
	}
	if (ddvm_bench_net_config(&bcfg, &cfg, domain, model, run_dir, &err) ||
	    ddvm_config_absolutize(&bcfg, cwd, &err) ||
	    ddvm_accel_for_config(bcfg.accel, bcfg.source, &accel, &err))
		goto out_err;
	bench_initrd(bcfg.initrd, initrd, sizeof(initrd));

	no.cfg = &bcfg;
	no.bench_initrd = initrd;
	no.accel = &accel;
	no.command = command;
	no.progress = bench_progress;
	no.ctx = &ui;
	fprintf(stderr, "ddvm bench net: %s, accel %s (%s), iperf3 %u s omitted + %u s per run\n",
		ddvm_nic_model_name(bcfg.domains[0].nic.model), ddvm_accel_name(&accel),
		accel.reason, no.omit, no.runtime);
	if (ddvm_bench_net_run(&no, &rep, &err))
		goto out_err;

	now = time(NULL);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&now));
	snprintf(base, sizeof(base), "%s/net-%s-%s", out_dir, rep.env.controller, stamp);
	return bench_output(&rep, base, json_only, no_plot);

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
	if (strcmp(argv[1], "blk")) {
		fprintf(stderr, "ddvm bench: unknown benchmark '%s' (blk, net)\n%s", argv[1],
			BENCH_USAGE);
		return 2;
	}
	return bench_blk(argc - 1, argv + 1);
}
