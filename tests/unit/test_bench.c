// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the block benchmark's pure parts: fio JSON, console protocol, CPU from /proc, histogram, table. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_blk.h"
#include "bench_cpu.h"
#include "bench_engine.h"
#include "bench_fio.h"
#include "bench_report.h"

/* rand-read-qd32 as fio 3.33 wrote it in a DD/OS (virtio-blk, TCG), trimmed */
static const char fio_sample[] =
	"{\n"
	" \"fio version\": \"fio-3.33\",\n"
	" \"timestamp\": 1795285413,\n"
	" \"timestamp_ms\": 1795285413496,\n"
	" \"time\": \"Sat Nov 21 18:23:33 2026\",\n"
	" \"jobs\": [\n"
	"  {\n"
	"   \"jobname\": \"rand-read-qd32\",\n"
	"   \"groupid\": 0,\n"
	"   \"error\": 0,\n"
	"   \"eta\": 0,\n"
	"   \"elapsed\": 4,\n"
	"   \"job options\": {\n"
	"    \"name\": \"rand-read-qd32\",\n"
	"    \"filename\": \"/dev/vda\",\n"
	"    \"direct\": \"1\",\n"
	"    \"ioengine\": \"libaio\",\n"
	"    \"rw\": \"randread\",\n"
	"    \"bs\": \"4096\",\n"
	"    \"iodepth\": \"32\"\n"
	"   },\n"
	"   \"read\": {\n"
	"    \"io_bytes\": 64491520,\n"
	"    \"io_kbytes\": 62980,\n"
	"    \"bw_bytes\": 32229645,\n"
	"    \"bw\": 31474,\n"
	"    \"iops\": 7852.573713,\n"
	"    \"runtime\": 2001,\n"
	"    \"total_ios\": 15713,\n"
	"    \"short_ios\": 0,\n"
	"    \"drop_ios\": 0,\n"
	"    \"slat_ns\": {\n"
	"     \"min\": 42989,\n"
	"     \"max\": 2277204,\n"
	"     \"mean\": 81324.304824,\n"
	"     \"stddev\": 68380.397353,\n"
	"     \"N\": 15714\n"
	"    },\n"
	"    \"clat_ns\": {\n"
	"     \"min\": 213561,\n"
	"     \"max\": 11608705,\n"
	"     \"mean\": 3963217.579713,\n"
	"     \"stddev\": 862420.447956,\n"
	"     \"N\": 15744,\n"
	"     \"percentile\": {\n"
	"      \"50.000000\": 3817472,\n"
	"      \"99.000000\": 7045120\n"
	"     }\n"
	"    },\n"
	"    \"lat_ns\": {\n"
	"     \"min\": 379634,\n"
	"     \"max\": 11751490,\n"
	"     \"mean\": 4044570.745681,\n"
	"     \"stddev\": 874056.913815,\n"
	"     \"N\": 15744,\n"
	"     \"percentile\": {\n"
	"      \"50.000000\": 3915776,\n"
	"      \"99.000000\": 7176192\n"
	"     }\n"
	"    }\n"
	"   },\n"
	"   \"write\": {\n"
	"    \"io_bytes\": 0,\n"
	"    \"io_kbytes\": 0,\n"
	"    \"bw_bytes\": 0,\n"
	"    \"bw\": 0,\n"
	"    \"iops\": 0.0,\n"
	"    \"runtime\": 0,\n"
	"    \"total_ios\": 0,\n"
	"    \"short_ios\": 0,\n"
	"    \"drop_ios\": 0,\n"
	"    \"slat_ns\": {\n"
	"     \"min\": 0,\n"
	"     \"max\": 0,\n"
	"     \"mean\": 0.0,\n"
	"     \"stddev\": 0.0,\n"
	"     \"N\": 0\n"
	"    },\n"
	"    \"clat_ns\": {\n"
	"     \"min\": 0,\n"
	"     \"max\": 0,\n"
	"     \"mean\": 0.0,\n"
	"     \"stddev\": 0.0,\n"
	"     \"N\": 0\n"
	"    },\n"
	"    \"lat_ns\": {\n"
	"     \"min\": 0,\n"
	"     \"max\": 0,\n"
	"     \"mean\": 0.0,\n"
	"     \"stddev\": 0.0,\n"
	"     \"N\": 0\n"
	"    }\n"
	"   },\n"
	"   \"job_runtime\": 2000,\n"
	"   \"usr_cpu\": 28.9,\n"
	"   \"sys_cpu\": 40.8,\n"
	"   \"ctx\": 16076,\n"
	"   \"majf\": 0,\n"
	"   \"minf\": 37,\n"
	"   \"iodepth_level\": {\n"
	"    \"1\": 0.0,\n"
	"    \"2\": 0.0,\n"
	"    \"4\": 0.0,\n"
	"    \"8\": 0.0,\n"
	"    \"16\": 0.0,\n"
	"    \"32\": 100.0,\n"
	"    \">=64\": 0.0\n"
	"   },\n"
	"   \"latency_depth\": 32,\n"
	"   \"latency_target\": 0,\n"
	"   \"latency_percentile\": 100.0,\n"
	"   \"latency_window\": 0\n"
	"  }\n"
	" ]\n"
	"}\n";

static const struct ddvm_bench_workload *wl(const char *name)
{
	unsigned int i;

	for (i = 0; i < ddvm_bench_nr_workloads; i++)
		if (!strcmp(ddvm_bench_workloads[i].name, name))
			return &ddvm_bench_workloads[i];
	fail_msg("no workload %s", name);
	return NULL;
}

static void close_to(double got, double want, double rel)
{
	double d = got > want ? got - want : want - got;

	if (d > rel * (want > 0 ? want : 1))
		fail_msg("%f is not within %.3f%% of %f", got, rel * 100, want);
}

/* ------------------------------------------------------------- fio JSON */

static void test_fio_parse_sample(void **state)
{
	struct ddvm_bench_result r;
	struct ddvm_err err;
	char ver[32];

	assert_int_equal(ddvm_bench_fio_parse(fio_sample, strlen(fio_sample),
					      wl("rand-read-qd32"), &r, ver, sizeof(ver), &err), 0);
	assert_true(r.valid);
	assert_string_equal(ver, "fio-3.33");
	assert_int_equal(r.ios, 15713);
	assert_int_equal(r.bytes, 64491520);
	close_to(r.seconds, 2.001, 1e-9);
	close_to(r.iops, 15713 / 2.001, 1e-9);
	close_to(r.mib_s, 64491520 / 2.001 / 1048576, 1e-9);
	/* total latency (lat_ns), not completion latency (clat_ns) */
	close_to(r.lat_mean_us, 4044.570745681, 1e-9);
	close_to(r.lat_p50_us, 3915.776, 1e-9);
	close_to(r.lat_p99_us, 7176.192, 1e-9);
	close_to(r.lat_max_us, 11751.490, 1e-9);
	assert_int_equal(r.cpu_seconds, 0);
}

static void test_fio_parse_skips_noise(void **state)
{
	char *text = NULL;
	struct ddvm_bench_result r;
	struct ddvm_err err;

	/* fio may warn before its JSON; the console may add a line after it */
	assert_true(asprintf(&text, "fio: note: something\n%s\nDDVM noise\n", fio_sample) > 0);
	assert_int_equal(ddvm_bench_fio_parse(text, strlen(text), wl("rand-read-qd32"), &r, NULL, 0,
					      &err), 0);
	assert_int_equal(r.ios, 15713);
	free(text);
}

static void test_fio_parse_write_side(void **state)
{
	struct ddvm_bench_result r;
	struct ddvm_err err;

	/* the sample's write side ran 0 ms: a write workload has nothing to show */
	assert_int_equal(ddvm_bench_fio_parse(fio_sample, strlen(fio_sample), wl("seq-write"), &r,
					      NULL, 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "jobs[0].write"));
	assert_false(r.valid);
}

static void test_fio_parse_errors(void **state)
{
	static const char job_error[] =
		"{\"fio version\":\"fio-3.33\",\"jobs\":[{\"jobname\":\"x\",\"error\":5}]}";
	static const char no_jobs[] = "{\"fio version\":\"fio-3.33\"}";
	static const char clat_only[] =
		"{\"jobs\":[{\"error\":0,\"read\":{\"io_bytes\":8192,\"total_ios\":2,"
		"\"runtime\":1000,\"lat_ns\":{\"mean\":2000.0},"
		"\"clat_ns\":{\"percentile\":{\"50.000000\":1000,\"99.000000\":3000}}}}]}";
	struct ddvm_bench_result r;
	struct ddvm_err err;

	assert_int_equal(ddvm_bench_fio_parse(job_error, sizeof(job_error) - 1, wl("seq-read"), &r,
					      NULL, 0, &err), -EIO);
	assert_non_null(strstr(err.msg, "error 5"));
	assert_int_equal(ddvm_bench_fio_parse(no_jobs, sizeof(no_jobs) - 1, wl("seq-read"), &r,
					      NULL, 0, &err), -EINVAL);
	assert_int_equal(ddvm_bench_fio_parse("fio: command not found", 22, wl("seq-read"), &r,
					      NULL, 0, &err), -EINVAL);
	assert_int_equal(ddvm_bench_fio_parse("{\"jobs\": [", 10, wl("seq-read"), &r, NULL, 0,
					      &err), -EINVAL);
	/* without lat percentiles, the completion latency's are taken */
	assert_int_equal(ddvm_bench_fio_parse(clat_only, sizeof(clat_only) - 1, wl("seq-read"), &r,
					      NULL, 0, &err), 0);
	close_to(r.lat_p50_us, 1.0, 1e-9);
	close_to(r.lat_p99_us, 3.0, 1e-9);
	close_to(r.iops, 2.0, 1e-9);
}

/* ------------------------------------------------------- script, base64 */

static void test_base64(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	char buf[16];
	unsigned int i;

	for (i = 0; i < 7; i++) {
		assert_int_equal(ddvm_base64(buf, sizeof(buf), in[i], strlen(in[i])),
				 (int)strlen(out[i]));
		assert_string_equal(buf, out[i]);
	}
	assert_int_equal(ddvm_base64(buf, 8, "foobar", 6), -ENOSPC);
}

static void test_fio_script(void **state)
{
	struct ddvm_bench_fio_opts o = {
		.dev = "/dev/nvme0n1", .size = 1ull << 30, .ramp = 2, .runtime = 6,
		.ioengine = "libaio",
	};
	char script[2048], b64[2800], tiny[64];
	/* what qemu_args puts on the command line before ours, at its longest */
	const char *base = "console=ttyS0 loglevel=5 panic=-1 ddvm.disk=virtio-blk ddvm.exports="
			   " ddvm.mode=bench ddvm.cmd=";
	int n, m;

	n = ddvm_bench_fio_script(script, sizeof(script), &o, ddvm_bench_workloads,
				  ddvm_bench_nr_workloads);
	assert_true(n > 0);
	assert_int_equal((int)strlen(script), n);
	assert_non_null(strstr(script, "d=/dev/nvme0n1"));
	assert_non_null(strstr(script, "--runtime=6 --ramp_time=2 --size=1073741824"));
	assert_non_null(strstr(script, "--ioengine=libaio"));
	assert_non_null(strstr(script, "--direct=1"));
	assert_non_null(strstr(script, "--output-format=json"));
	assert_non_null(strstr(script, "b seq-read --rw=read --bs=1048576 --iodepth=8\n"));
	assert_non_null(strstr(script, "b seq-write --rw=write --bs=1048576 --iodepth=8\n"));
	assert_non_null(strstr(script, "b rand-read-qd1 --rw=randread --bs=4096 --iodepth=1\n"));
	assert_non_null(strstr(script, "b rand-read-qd32 --rw=randread --bs=4096 --iodepth=32\n"));
	assert_non_null(strstr(script, "echo DDVM-BENCH-MARK start $n >/dev/console"));
	assert_non_null(strstr(script, "echo DDVM-BENCH-JSON $n $r;"));
	/* it must fit the kernel command line, base64 and all */
	m = ddvm_base64(b64, sizeof(b64), script, (size_t)n);
	assert_true(m > 0);
	assert_true(strlen(base) + (size_t)m <= DDVM_KERNEL_CMDLINE_MAX);
	assert_int_equal(ddvm_bench_fio_script(tiny, sizeof(tiny), &o, ddvm_bench_workloads,
					       ddvm_bench_nr_workloads), -ENOSPC);
}

/* ------------------------------------------------------------- console */

static void feed(struct ddvm_bench_console *c, const char *line, struct ddvm_bench_event *ev)
{
	assert_int_equal(ddvm_bench_console_line(c, line, ev), 0);
}

static void test_console_protocol(void **state)
{
	struct ddvm_bench_console c = { 0 };
	struct ddvm_bench_event ev;
	struct ddvm_bench_result r;
	struct ddvm_err err;
	const char *p, *nl;
	char line[256];

	feed(&c, "[    1.234] virtio_blk virtio0: [vda] 2097152 512-byte logical blocks\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	feed(&c, "DDVM-READY\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	feed(&c, "DDVM-BENCH-BEGIN\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_BEGIN);
	feed(&c, "DDVM-BENCH-MARK start rand-read-qd32\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_START);
	assert_string_equal(ev.name, "rand-read-qd32");
	/* a program's status line without a newline before the mark */
	feed(&c, "Jobs: 1 (f=1): [r(1)][-.-%][r=32.0MiB/s]DDVM-BENCH-MARK end rand-read-qd32\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_STOP);
	assert_string_equal(ev.name, "rand-read-qd32");
	feed(&c, "DDVM-BENCH-JSON rand-read-qd32 0\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	for (p = fio_sample; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s\r", (int)(nl - p), p);
		feed(&c, line, &ev);
		assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	}
	/* inside the JSON, a mark-like word is data; only the end line ends it */
	feed(&c, "DDVM-BENCH-JSON-END rand-read-qd32\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_JSON);
	assert_string_equal(ev.name, "rand-read-qd32");
	assert_int_equal(ev.status, 0);
	assert_int_equal(ddvm_bench_fio_parse(ev.json, ev.json_len, wl("rand-read-qd32"), &r, NULL,
					      0, &err), 0);
	assert_int_equal(r.ios, 15713);
	feed(&c, "DDVM-BENCH-JSON seq-read 1", &ev);
	feed(&c, "DDVM-BENCH-JSON-END seq-read", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_JSON);
	assert_int_equal(ev.status, 1);
	assert_int_equal(ev.json_len, 0);
	feed(&c, "DDVM-BENCH-END 3\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_END);
	assert_int_equal(ev.status, 3);
	feed(&c, "DDVM-FAIL: /dev/vda did not appear within 10 s\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_FAIL);
	assert_non_null(strstr(ev.msg, "/dev/vda did not appear"));
	feed(&c, "DDVM-BENCH-ENDING", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	ddvm_bench_console_free(&c);
}

/* A client VM's init frames the same script with DDVM-CMD-BEGIN / DDVM-CMD-END. */
static void test_console_client_frame(void **state)
{
	struct ddvm_bench_console c = { 0 };
	struct ddvm_bench_event ev;

	feed(&c, "DDVM-READY\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	feed(&c, "DDVM-CMD-BEGIN\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_BEGIN);
	feed(&c, "DDVM-BENCH-MARK start seq-read\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_START);
	feed(&c, "DDVM-CMD-END 0\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_END);
	assert_int_equal(ev.status, 0);
	feed(&c, "DDVM-CMD-END 7", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_END);
	assert_int_equal(ev.status, 7);
	/* only the whole word: a longer one, or the word inside a line, is output */
	feed(&c, "DDVM-CMD-BEGINNING\r", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	feed(&c, "echo DDVM-CMD-END 1", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	/* inside a JSON block the words are data */
	feed(&c, "DDVM-BENCH-JSON seq-read 0", &ev);
	feed(&c, "DDVM-CMD-END 0", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	feed(&c, "DDVM-BENCH-JSON-END seq-read", &ev);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_JSON);
	assert_non_null(strstr(ev.json, "DDVM-CMD-END 0"));
	ddvm_bench_console_free(&c);
}

/* ---------------------------------------------------------------- CPU */

static void test_proc_stat_ticks(void **state)
{
	/* a command name with spaces and ')' must not shift the fields */
	static const char stat[] =
		"4242 (qemu) (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 8 9 20 0 5 0 "
		"100 1000 200\n";
	uint64_t t;

	assert_int_equal(ddvm_proc_stat_ticks(stat, &t), 0);
	assert_int_equal(t, 1234 + 567);
	assert_int_equal(ddvm_proc_stat_ticks("4242 (qemu) S 1 2", &t), -EINVAL);
	assert_int_equal(ddvm_proc_stat_ticks("garbage", &t), -EINVAL);
	assert_int_equal(ddvm_proc_stat_ticks("1 (a) S 1 2 3 4 5 6 7 8 9 10 x 5 6", &t), -EINVAL);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_cpu_sample(void **state)
{
	char root[] = "/tmp/ddvm-bench-proc-XXXXXX", path[128];
	struct ddvm_bench_cpu c = { .hz = 100 };
	struct ddvm_err err;
	double s, avg[3];

	assert_non_null(mkdtemp(root));
	c.proc = root;
	snprintf(path, sizeof(path), "%s/10", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/10/stat", root);
	write_text(path, "10 (qemu-system-x86) S 1 10 10 0 -1 0 0 0 0 0 250 150 0 0 20 0 3 0\n");
	snprintf(path, sizeof(path), "%s/20", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/20/stat", root);
	write_text(path, "20 (ddvm) R 1 20 20 0 -1 0 0 0 0 0 30 70 0 0 20 0 1 0\n");
	snprintf(path, sizeof(path), "%s/loadavg", root);
	write_text(path, "0.71 0.74 1.20 2/300 4242\n");

	assert_int_equal(ddvm_bench_cpu_add(&c, 10), 0);
	assert_int_equal(ddvm_bench_cpu_add(&c, 20), 0);
	assert_int_equal(ddvm_bench_cpu_sample(&c, &s, &err), 0);
	close_to(s, 5.0, 1e-12);	/* (250 + 150 + 30 + 70) / 100 */
	assert_int_equal(ddvm_loadavg(root, avg), 0);
	close_to(avg[0], 0.71, 1e-12);
	close_to(avg[2], 1.20, 1e-12);

	/* a process that went away is named */
	assert_int_equal(ddvm_bench_cpu_add(&c, 30), 0);
	assert_int_equal(ddvm_bench_cpu_sample(&c, &s, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "process 30"));
	assert_int_equal(ddvm_bench_cpu_add(&c, 0), -EINVAL);
	while (c.nr < DDVM_BENCH_MAX_PIDS)
		ddvm_bench_cpu_add(&c, 40);
	assert_int_equal(ddvm_bench_cpu_add(&c, 41), -ENOSPC);

	snprintf(path, sizeof(path), "%s/10/stat", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/20/stat", root);
	unlink(path);
	snprintf(path, sizeof(path), "%s/10", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/20", root);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/loadavg", root);
	unlink(path);
	rmdir(root);
}

static void test_cpu_real_proc(void **state)
{
	struct ddvm_bench_cpu c = { 0 };
	struct ddvm_err err;
	volatile unsigned long spin = 0;
	double a, b;

	assert_int_equal(ddvm_bench_cpu_add(&c, getpid()), 0);
	assert_int_equal(ddvm_bench_cpu_sample(&c, &a, &err), 0);
	while (spin < 100000000ul)	/* ~0.1 s of CPU */
		spin++;
	assert_int_equal(ddvm_bench_cpu_sample(&c, &b, &err), 0);
	assert_true(b > a);
}

static void test_cpu_per_gib(void **state)
{
	struct ddvm_bench_result r = { .mib_s = 512, .cpu_seconds = 3, .cpu_window = 2 };

	/* 1.5 CPUs busy while moving 0.5 GiB/s: 3 CPU seconds per GiB */
	ddvm_bench_result_cpu(&r);
	close_to(r.cpu_s_per_gib, 3.0, 1e-12);
	r.cpu_window = 0;
	ddvm_bench_result_cpu(&r);
	assert_true(r.cpu_s_per_gib == 0);
}

/* ----------------------------------------------------------- histogram */

static void test_hist(void **state)
{
	struct ddvm_hist *h = calloc(1, sizeof(*h));
	uint64_t v;

	assert_non_null(h);
	assert_true(ddvm_hist_percentile(h, 50) == 0);
	/* exact below 128 ns */
	for (v = 1; v <= 100; v++)
		ddvm_hist_add(h, v);
	close_to(ddvm_hist_percentile(h, 50), 50, 0);
	close_to(ddvm_hist_percentile(h, 99), 99, 0);
	close_to(ddvm_hist_percentile(h, 100), 100, 0);
	close_to(h->sum / (double)h->count, 50.5, 1e-12);
	assert_int_equal(h->max, 100);
	memset(h, 0, sizeof(*h));
	/* 99 fast I/Os at 100 us and one at 1 s: p50 and p99 fast, the mean is not */
	for (v = 0; v < 990; v++)
		ddvm_hist_add(h, 100000);
	for (v = 0; v < 10; v++)
		ddvm_hist_add(h, 1000000000);
	close_to(ddvm_hist_percentile(h, 50), 100000, 1.0 / 64);
	close_to(ddvm_hist_percentile(h, 99), 100000, 1.0 / 64);
	close_to(ddvm_hist_percentile(h, 99.5), 1e9, 1.0 / 64);
	assert_true(ddvm_hist_percentile(h, 100) <= 1e9);	/* never beyond the max */
	close_to(h->sum / (double)h->count, 0.99 * 100000 + 0.01 * 1e9, 1e-9);
	/* uniform over a wide range: every percentile within the resolution */
	memset(h, 0, sizeof(*h));
	for (v = 1; v <= 100000; v++)
		ddvm_hist_add(h, v * 1000);
	close_to(ddvm_hist_percentile(h, 50), 50000000, 1.0 / 64);
	close_to(ddvm_hist_percentile(h, 99), 99000000, 1.0 / 64);
	ddvm_hist_add(h, UINT64_MAX);	/* the top bucket exists */
	free(h);
}

/* --------------------------------------------------------------- report */

static void result(struct ddvm_bench_result *r, double mib_s, double iops, double cpu)
{
	memset(r, 0, sizeof(*r));
	r->valid = true;
	r->seconds = 6;
	r->mib_s = mib_s;
	r->iops = iops;
	r->bytes = (uint64_t)(mib_s * 6 * 1048576);
	r->ios = (uint64_t)(iops * 6);
	r->lat_mean_us = 110;
	r->lat_p50_us = 100;
	r->lat_p99_us = 250;
	r->lat_max_us = 900;
	r->cpu_seconds = cpu;
	r->cpu_window = 6;
	r->cpu_s_per_gib = cpu;
}

static struct ddvm_bench_blk_report *make_report(void)
{
	struct ddvm_bench_blk_report *rep = calloc(1, sizeof(*rep));

	assert_non_null(rep);
	rep->w = ddvm_bench_workloads;
	rep->nr = ddvm_bench_nr_workloads;
	snprintf(rep->env.controller, sizeof(rep->env.controller), "virtio-blk");
	snprintf(rep->env.accel, sizeof(rep->env.accel), "tcg");
	snprintf(rep->env.image, sizeof(rep->env.image), "/w/var/bench-virtio-blk.img");
	snprintf(rep->env.date, sizeof(rep->env.date), "2026-11-21T18:00:00Z");
	rep->env.size = 1ull << 30;
	rep->env.ramp = 2;
	rep->env.runtime = 6;
	rep->env.host_cpus = 2;
	result(&rep->native[0], 1000, 1000, 0.5);
	result(&rep->reuse[0], 950, 950, 0.6);
	result(&rep->native[1], 800, 800, 0.5);
	result(&rep->reuse[1], 720, 720, 0.5);
	result(&rep->native[2], 24, 6000, 40);
	result(&rep->reuse[2], 32, 8000, 30);
	result(&rep->native[3], 31, 8000, 20);
	rep->reuse[3].valid = false;
	snprintf(rep->reuse[3].error, sizeof(rep->reuse[3].error), "rand-read-qd32: stalled");
	return rep;
}

static void test_table(void **state)
{
	struct ddvm_bench_blk_report *rep = make_report();
	char *t;

	close_to(ddvm_bench_ratio(rep, 0), 0.95, 1e-12);
	close_to(ddvm_bench_ratio(rep, 2), 8000.0 / 6000, 1e-12);	/* IOPS for random */
	assert_true(ddvm_bench_ratio(rep, 3) < 0);
	assert_int_equal(ddvm_bench_bar(rep), 1);	/* 0.95 and 0.90 */

	t = ddvm_bench_table(rep);
	assert_non_null(t);
	assert_non_null(strstr(t, "workload                     native          reuse  ratio"));
	assert_non_null(strstr(t, "seq read 1M QD8        1000.0 MiB/s    950.0 MiB/s   0.95"));
	assert_non_null(strstr(t, "seq write 1M QD8        800.0 MiB/s    720.0 MiB/s   0.90"));
	assert_non_null(strstr(t, "rand read 4K QD1          6000 IOPS      8000 IOPS   1.33"));
	assert_non_null(strstr(t, "rand read 4K QD32         8000 IOPS              -      -"));
	/* CPU s/GiB: native, reuse, reuse/native */
	assert_non_null(strstr(t, "   0.50    0.60   1.20\n"));
	assert_non_null(strstr(t, "110 / 100 / 250 / 900"));
	assert_non_null(strstr(t, "reuse rand-read-qd32: rand-read-qd32: stalled"));
	assert_non_null(strstr(t, "1 MiB sequential): met"));
	free(t);

	rep->reuse[1].mib_s = 700;	/* 0.875 */
	assert_int_equal(ddvm_bench_bar(rep), 0);
	t = ddvm_bench_table(rep);
	assert_non_null(strstr(t, "1 MiB sequential): MISSED"));
	free(t);
	rep->native[0].valid = false;
	assert_int_equal(ddvm_bench_bar(rep), -1);
	free(rep);
}

static void test_json(void **state)
{
	struct ddvm_bench_blk_report *rep = make_report();
	json_t *doc, *w0, *w3;

	doc = ddvm_bench_json(rep);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "environment"),
							      "controller")), "virtio-blk");
	assert_true(json_is_true(json_object_get(json_object_get(doc, "bar"), "met")));
	w0 = json_array_get(json_object_get(doc, "workloads"), 0);
	assert_string_equal(json_string_value(json_object_get(w0, "name")), "seq-read");
	close_to(json_real_value(json_object_get(w0, "ratio")), 0.95, 1e-12);
	close_to(json_real_value(json_object_get(json_object_get(w0, "reuse"), "cpu_s_per_gib")),
		 0.6, 1e-12);
	w3 = json_array_get(json_object_get(doc, "workloads"), 3);
	assert_true(json_is_null(json_object_get(w3, "ratio")));
	assert_true(json_is_false(json_object_get(json_object_get(w3, "reuse"), "valid")));
	json_decref(doc);
	free(rep);
}

static void test_gnuplot(void **state)
{
	struct ddvm_bench_blk_report *rep = make_report();
	char *data, *script;

	assert_int_equal(ddvm_bench_gnuplot(rep, "/o/b.dat", "/o/b.png", &data, &script), 0);
	/* MiB/s workloads in block 0, IOPS in block 1, missing as '-' */
	assert_non_null(strstr(data, "\"seq read 1M QD8\" 1000.000 950.000 0.950\n"));
	assert_non_null(strstr(data, "\"rand read 4K QD32\" 8000.000 - -1.000\n"));
	assert_true(strstr(data, "seq write") < strstr(data, "# IOPS"));
	assert_true(strstr(data, "rand read 4K QD1") > strstr(data, "# IOPS"));
	assert_non_null(strstr(script, "set output '/o/b.png'"));
	assert_non_null(strstr(script, "plot '/o/b.dat' index 0 using 2:xtic(1) title 'native'"));
	assert_non_null(strstr(script, "index 1 using 3 title 'reuse'"));
	assert_non_null(strstr(script, "sprintf('%.2fx', $4)"));
	assert_non_null(strstr(script, "set yrange [0:1250.000]"));
	assert_non_null(strstr(script, "set xrange [-0.6:1.6]"));
	free(data);
	free(script);
	free(rep);
}

/* ----------------------------------------------------- config, scratch */

static void test_bench_config(void **state)
{
	static const char json[] =
		"{\"kernel\":\"k\",\"domains\":["
		"{\"name\":\"a\",\"memory\":\"128M\",\"disk\":{\"image\":\"a.img\",\"controller\":\"nvme\"}},"
		"{\"name\":\"b\",\"cpus\":2,\"disk\":{\"image\":\"b.img\"},"
		"\"channels\":[{\"name\":\"x\",\"size\":\"16M\"},{\"name\":\"y\"}]}]}";
	struct ddvm_config *in = calloc(1, sizeof(*in)), *out = calloc(1, sizeof(*out));
	struct ddvm_err err;

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(ddvm_config_parse(in, json, sizeof(json) - 1, "t.json", &err), 0);
	assert_int_equal(ddvm_bench_blk_config(out, in, NULL, -1, "var/s.img", 1 << 30, "run/b",
					       &err), 0);
	assert_int_equal(out->nr_domains, 1);
	assert_string_equal(out->domains[0].name, "a");
	assert_int_equal(out->domains[0].disk.controller, DDVM_CTRL_NVME);
	assert_string_equal(out->domains[0].disk.image, "var/s.img");
	assert_int_equal(out->domains[0].disk.size, 1 << 30);
	assert_int_equal(out->domains[0].memory, 128 << 20);
	assert_string_equal(out->run_dir, "run/b");
	assert_string_equal(out->kernel, "k");
	assert_int_equal(out->domains[0].nr_channels, 1);

	assert_int_equal(ddvm_bench_blk_config(out, in, "b", DDVM_CTRL_AHCI, "s.img", 1 << 30, "r",
					       &err), 0);
	assert_int_equal(out->domains[0].cpus, 2);
	assert_int_equal(out->domains[0].disk.controller, DDVM_CTRL_AHCI);
	assert_int_equal(out->domains[0].nr_channels, 1);
	assert_string_equal(out->domains[0].channels[0].name, "x");
	assert_int_equal(out->domains[0].channels[0].size, 16 << 20);

	assert_int_equal(ddvm_bench_blk_config(out, in, "zz", -1, "s.img", 1 << 30, "r", &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "zz"));
	free(in);
	free(out);
}

static void test_scratch(void **state)
{
	char dir[] = "/tmp/ddvm-bench-scratch-XXXXXX", path[160], sub[128];
	unsigned char buf[4096];
	struct ddvm_err err;
	struct stat st;
	bool filled;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/var", dir);
	snprintf(path, sizeof(path), "%s/bench.img", sub);
	assert_int_equal(ddvm_bench_scratch(path, 1 << 20, &filled, &err), 0);
	assert_true(filled);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), (1 << 20) - 4096), 4096);
	close(fd);
	assert_true(buf[0] || buf[1] || buf[4095]);
	/* filled already: kept */
	assert_int_equal(ddvm_bench_scratch(path, 1 << 20, &filled, &err), 0);
	assert_false(filled);
	/* another size: resized and filled again */
	assert_int_equal(ddvm_bench_scratch(path, 2 << 20, &filled, &err), 0);
	assert_true(filled);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 2 << 20);
	assert_int_equal(ddvm_bench_scratch(path, 1000, &filled, &err), -EINVAL);
	/* never anything but a regular file */
	assert_int_equal(ddvm_bench_scratch(sub, 1 << 20, &filled, &err), -EISDIR);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fio_parse_sample),
		cmocka_unit_test(test_fio_parse_skips_noise),
		cmocka_unit_test(test_fio_parse_write_side),
		cmocka_unit_test(test_fio_parse_errors),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_fio_script),
		cmocka_unit_test(test_console_protocol),
		cmocka_unit_test(test_console_client_frame),
		cmocka_unit_test(test_proc_stat_ticks),
		cmocka_unit_test(test_cpu_sample),
		cmocka_unit_test(test_cpu_real_proc),
		cmocka_unit_test(test_cpu_per_gib),
		cmocka_unit_test(test_hist),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_gnuplot),
		cmocka_unit_test(test_bench_config),
		cmocka_unit_test(test_scratch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
