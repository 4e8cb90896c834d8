// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the net benchmark's pure parts: iperf3 JSON, ping summaries, guest script, report. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench_fio.h"
#include "bench_iperf.h"
#include "bench_report.h"
#include "units.h"

/* `iperf3 -c 127.0.0.1 -t 1 -J -R` (iperf 3.12, Debian 12), intervals and streams trimmed */
static const char iperf_sample[] =
	"{\n"
	" \"start\": {\n"
	"  \"connected\": [\n"
	"   {\n"
	"    \"socket\": 5,\n"
	"    \"local_host\": \"127.0.0.1\",\n"
	"    \"local_port\": 45664,\n"
	"    \"remote_host\": \"127.0.0.1\",\n"
	"    \"remote_port\": 5201\n"
	"   }\n"
	"  ],\n"
	"  \"version\": \"iperf 3.12\",\n"
	"  \"system_info\": \"Linux vm 6.18.44-fc-v669 #1 SMP PREEMPT_DYNAMIC @0 x86_64\",\n"
	"  \"timestamp\": {\n"
	"   \"time\": \"Sat, 21 Nov 2026 19:01:30 GMT\",\n"
	"   \"timesecs\": 1795287690\n"
	"  },\n"
	"  \"connecting_to\": {\n"
	"   \"host\": \"127.0.0.1\",\n"
	"   \"port\": 5201\n"
	"  },\n"
	"  \"cookie\": \"d7hipn2ws5kma35cqnrhucabfhf56sgj6owi\",\n"
	"  \"tcp_mss_default\": 32768,\n"
	"  \"target_bitrate\": 0,\n"
	"  \"sock_bufsize\": 0,\n"
	"  \"sndbuf_actual\": 16384,\n"
	"  \"rcvbuf_actual\": 131072,\n"
	"  \"test_start\": {\n"
	"   \"protocol\": \"TCP\",\n"
	"   \"num_streams\": 1,\n"
	"   \"blksize\": 131072,\n"
	"   \"omit\": 0,\n"
	"   \"duration\": 1,\n"
	"   \"bytes\": 0,\n"
	"   \"blocks\": 0,\n"
	"   \"reverse\": 1,\n"
	"   \"tos\": 0,\n"
	"   \"target_bitrate\": 0\n"
	"  }\n"
	" },\n"
	" \"intervals\": [\n"
	"  {\n"
	"   \"streams\": [\n"
	"    {\n"
	"     \"socket\": 5,\n"
	"     \"start\": 0,\n"
	"     \"end\": 1.00001,\n"
	"     \"seconds\": 1.0000100135803223,\n"
	"     \"bytes\": 1887043584,\n"
	"     \"bits_per_second\": 15096197505.013723,\n"
	"     \"omitted\": false,\n"
	"     \"sender\": false\n"
	"    }\n"
	"   ],\n"
	"   \"sum\": {\n"
	"    \"start\": 0,\n"
	"    \"end\": 1.00001,\n"
	"    \"seconds\": 1.0000100135803223,\n"
	"    \"bytes\": 1887043584,\n"
	"    \"bits_per_second\": 15096197505.013723,\n"
	"    \"omitted\": false,\n"
	"    \"sender\": false\n"
	"   }\n"
	"  }\n"
	" ],\n"
	" \"end\": {\n"
	"  \"streams\": [\n"
	"   {\n"
	"    \"sender\": {\n"
	"     \"socket\": 5,\n"
	"     \"start\": 0,\n"
	"     \"end\": 1.001401,\n"
	"     \"seconds\": 1.001401,\n"
	"     \"bytes\": 1890058240,\n"
	"     \"bits_per_second\": 15099311784.19035,\n"
	"     \"retransmits\": 6,\n"
	"     \"max_snd_cwnd\": 0,\n"
	"     \"max_snd_wnd\": 0,\n"
	"     \"max_rtt\": 0,\n"
	"     \"min_rtt\": 0,\n"
	"     \"mean_rtt\": 0,\n"
	"     \"sender\": false\n"
	"    },\n"
	"    \"receiver\": {\n"
	"     \"socket\": 5,\n"
	"     \"start\": 0,\n"
	"     \"end\": 1.00001,\n"
	"     \"seconds\": 1.00001,\n"
	"     \"bytes\": 1887043584,\n"
	"     \"bits_per_second\": 15096197710.0229,\n"
	"     \"sender\": false\n"
	"    }\n"
	"   }\n"
	"  ],\n"
	"  \"sum_sent\": {\n"
	"   \"start\": 0,\n"
	"   \"end\": 1.001401,\n"
	"   \"seconds\": 1.001401,\n"
	"   \"bytes\": 1890058240,\n"
	"   \"bits_per_second\": 15099311784.19035,\n"
	"   \"retransmits\": 6,\n"
	"   \"sender\": false\n"
	"  },\n"
	"  \"sum_received\": {\n"
	"   \"start\": 0,\n"
	"   \"end\": 1.00001,\n"
	"   \"seconds\": 1.00001,\n"
	"   \"bytes\": 1887043584,\n"
	"   \"bits_per_second\": 15096197710.0229,\n"
	"   \"sender\": false\n"
	"  },\n"
	"  \"cpu_utilization_percent\": {\n"
	"   \"host_total\": 24.932409108957515,\n"
	"   \"host_user\": 2.2765410224331926,\n"
	"   \"host_system\": 22.655868086524322,\n"
	"   \"remote_total\": 15.577214014309895,\n"
	"   \"remote_user\": 0.4438763537230192,\n"
	"   \"remote_system\": 15.13323780088975\n"
	"  },\n"
	"  \"sender_tcp_congestion\": \"bbr\",\n"
	"  \"receiver_tcp_congestion\": \"bbr\"\n"
	" }\n"
	"}\n"
;

static const char iperf_refused[] =
	"{\n"
	"\t\"start\":\t{\n"
	"\t\t\"connected\":\t[],\n"
	"\t\t\"version\":\t\"iperf 3.12\",\n"
	"\t\t\"system_info\":\t\"Linux vm 6.18.44 #1 SMP x86_64\"\n"
	"\t},\n"
	"\t\"intervals\":\t[],\n"
	"\t\"end\":\t{\n"
	"\t},\n"
	"\t\"error\":\t\"unable to connect to server: Connection refused\"\n"
	"}\n";

static const char ping_iputils[] =
	"PING 10.77.0.1 (10.77.0.1) 56(84) bytes of data.\n"
	"64 bytes from 10.77.0.1: icmp_seq=1 ttl=64 time=0.412 ms\n"
	"\n"
	"--- 10.77.0.1 ping statistics ---\n"
	"3 packets transmitted, 3 received, 0% packet loss, time 414ms\n"
	"rtt min/avg/max/mdev = 0.401/1.135/4.095/0.002 ms\n";

static const char ping_busybox[] =
	"PING 10.77.0.1 (10.77.0.1): 56 data bytes\n"
	"64 bytes from 10.77.0.1: seq=0 ttl=64 time=0.625 ms\n"
	"\n"
	"--- 10.77.0.1 ping statistics ---\n"
	"20 packets transmitted, 19 packets received, 5% packet loss\n"
	"round-trip min/avg/max = 0.625/0.998/2.034 ms\n";

static void close_to(double a, double b, double eps)
{
	if (fabs(a - b) > eps)
		fail_msg("%f is not %f", a, b);
}

static void test_iperf_sample(void **state)
{
	struct ddvm_bench_result r;
	struct ddvm_err err = { "" };
	char ver[32];

	(void)state;
	assert_int_equal(ddvm_bench_iperf_parse(iperf_sample, strlen(iperf_sample), &r, ver,
						sizeof(ver), &err), 0);
	assert_true(r.valid);
	assert_string_equal(ver, "iperf 3.12");
	/* the receiving end's count, not the sender's */
	assert_int_equal(r.bytes, 1887043584ull);
	close_to(r.seconds, 1.00001, 1e-9);
	close_to(r.mib_s, 1887043584.0 / 1.00001 / DDVM_MIB, 1e-6);
	close_to(ddvm_bench_mbit(r.mib_s), 15096.197710, 1e-3);
}

static void test_iperf_noise_and_errors(void **state)
{
	struct ddvm_bench_result r;
	struct ddvm_err err = { "" };
	char buf[sizeof(iperf_sample) + 64], ver[32];
	const char *p;

	(void)state;
	/* a warning before the JSON, as 2>&1 gives it */
	snprintf(buf, sizeof(buf), "iperf3: warning: something\r\n%s", iperf_sample);
	assert_int_equal(ddvm_bench_iperf_parse(buf, strlen(buf), &r, NULL, 0, &err), 0);
	assert_int_equal(r.bytes, 1887043584ull);

	assert_int_equal(ddvm_bench_iperf_parse(iperf_refused, strlen(iperf_refused), &r, ver,
						sizeof(ver), &err), -EIO);
	assert_false(r.valid);
	assert_non_null(strstr(err.msg, "Connection refused"));
	assert_string_equal(ver, "iperf 3.12");

	assert_int_equal(ddvm_bench_iperf_parse("iperf3: command not found", 25, &r, NULL, 0, &err),
			 -EINVAL);
	assert_int_equal(ddvm_bench_iperf_parse("{ \"end\": {", 10, &r, NULL, 0, &err), -EINVAL);
	/* JSON without end.sum_received */
	p = "{ \"start\": {}, \"end\": { \"sum_sent\": { \"bytes\": 5, \"seconds\": 1 } } }";
	assert_int_equal(ddvm_bench_iperf_parse(p, strlen(p), &r, NULL, 0, &err), -EINVAL);
	/* zero seconds would divide by zero */
	p = "{ \"end\": { \"sum_received\": { \"bytes\": 5, \"seconds\": 0 } } }";
	assert_int_equal(ddvm_bench_iperf_parse(p, strlen(p), &r, NULL, 0, &err), -EINVAL);
}

static void test_ping(void **state)
{
	struct ddvm_bench_result r;
	struct ddvm_err err = { "" };

	(void)state;
	assert_int_equal(ddvm_bench_ping_parse(ping_iputils, &r, &err), 0);
	assert_true(r.valid);
	assert_int_equal(r.ios, 3);
	close_to(r.lat_min_us, 401, 1e-6);
	close_to(r.lat_mean_us, 1135, 1e-6);
	close_to(r.lat_max_us, 4095, 1e-6);

	assert_int_equal(ddvm_bench_ping_parse(ping_busybox, &r, &err), 0);
	assert_int_equal(r.ios, 19);
	close_to(r.lat_mean_us, 998, 1e-6);

	assert_int_equal(ddvm_bench_ping_parse("--- x ping statistics ---\n"
					       "4 packets transmitted, 0 received, 100% packet loss\n",
					       &r, &err), -EHOSTUNREACH);
	assert_false(r.valid);
	assert_int_equal(ddvm_bench_ping_parse("ping: bad address", &r, &err), -EINVAL);
	assert_int_equal(ddvm_bench_ping_parse("1 packets transmitted, 1 received\n", &r, &err),
			 -EINVAL);
}

static void test_script(void **state)
{
	struct ddvm_bench_iperf_opts o = {
		.ifname = "eth0", .address = "10.77.0.2/24", .remote = "10.77.0.1",
		.omit = 1, .runtime = 5,
	};
	char buf[2048], small[64], b64[2800];
	const char *p;
	int n;

	(void)state;
	n = ddvm_bench_iperf_script(buf, sizeof(buf), &o, ddvm_bench_net_workloads,
				    ddvm_bench_net_nr_workloads);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_non_null(strstr(buf, "R=10.77.0.1;I=eth0;"));
	assert_non_null(strstr(buf, "ip addr add 10.77.0.2/24 dev $I"));
	assert_non_null(strstr(buf, "iperf3 -c $R -t 5 -O 1 -J"));
	assert_non_null(strstr(buf, "echo " DDVM_BENCH_MTU_MARK "$1;read -r a"));
	/* one handshake per MTU change, in workload order */
	p = strstr(buf, "\nm 1500\n");
	assert_non_null(p);
	p = strstr(p, "\nt tcp-send-1500\nt tcp-recv-1500 -R\nm 500\n"
		      "t tcp-send-500\nt tcp-recv-500 -R\nm 1500\np rtt\nexit $s\n");
	assert_non_null(p);
	/* base64 of it leaves room on a 2048-byte kernel command line */
	assert_true(ddvm_base64(b64, sizeof(b64), buf, (size_t)n) < 1400);
	assert_int_equal(ddvm_bench_iperf_script(small, sizeof(small), &o, ddvm_bench_net_workloads,
						 ddvm_bench_net_nr_workloads), -ENOSPC);
}

/* The console carries the JSON the host parses: a round trip through the protocol. */
static void test_console_round_trip(void **state)
{
	struct ddvm_bench_console c = { 0 };
	struct ddvm_bench_event ev;
	struct ddvm_bench_result r;
	struct ddvm_err err = { "" };
	char *copy = strdup(iperf_sample), *line, *save = NULL;

	(void)state;
	assert_int_equal(ddvm_bench_console_line(&c, DDVM_BENCH_JSON " tcp-send-500 0\r", &ev), 0);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		assert_int_equal(ddvm_bench_console_line(&c, line, &ev), 0);
		assert_int_equal(ev.kind, DDVM_BENCH_EV_NONE);
	}
	assert_int_equal(ddvm_bench_console_line(&c, DDVM_BENCH_JSON_END " tcp-send-500\r", &ev),
			 0);
	assert_int_equal(ev.kind, DDVM_BENCH_EV_JSON);
	assert_string_equal(ev.name, "tcp-send-500");
	assert_int_equal(ddvm_bench_iperf_parse(ev.json, ev.json_len, &r, NULL, 0, &err), 0);
	assert_int_equal(r.bytes, 1887043584ull);
	ddvm_bench_console_free(&c);
	free(copy);
}

static struct ddvm_bench_blk_report rep;

static void fill(struct ddvm_bench_result *r, double mbit, double cpu_gib)
{
	memset(r, 0, sizeof(*r));
	r->valid = true;
	r->mib_s = mbit * 1e6 / 8 / DDVM_MIB;
	r->seconds = 5;
	r->bytes = (uint64_t)(r->mib_s * DDVM_MIB * 5);
	r->cpu_s_per_gib = cpu_gib;
}

static void test_report(void **state)
{
	unsigned int i;
	json_t *doc;
	char *t;

	(void)state;
	memset(&rep, 0, sizeof(rep));
	rep.w = ddvm_bench_net_workloads;
	rep.nr = ddvm_bench_net_nr_workloads;
	snprintf(rep.env.controller, sizeof(rep.env.controller), "e1000");
	assert_true(ddvm_bench_is_net(&rep));
	for (i = 0; i < rep.nr; i++) {
		if (rep.w[i].rtt) {
			rep.native[i].valid = rep.reuse[i].valid = true;
			rep.native[i].lat_mean_us = 500;
			rep.reuse[i].lat_mean_us = 700;
			continue;
		}
		fill(&rep.native[i], 1000, 10);
		fill(&rep.reuse[i], 950, 14);
	}
	assert_int_equal(ddvm_bench_bar(&rep), 1);
	close_to(ddvm_bench_metric(&rep.w[4], &rep.reuse[4]), 700, 1e-9);
	/* the CPU bar alone can miss it */
	rep.reuse[2].cpu_s_per_gib = 16;
	assert_int_equal(ddvm_bench_bar(&rep), 0);
	rep.reuse[2].cpu_s_per_gib = 14;
	rep.reuse[3].mib_s /= 2;
	assert_int_equal(ddvm_bench_bar(&rep), 0);
	rep.reuse[3].valid = false;
	assert_int_equal(ddvm_bench_bar(&rep), -1);

	t = ddvm_bench_table(&rep);
	assert_non_null(t);
	assert_non_null(strstr(t, "ddvm bench net: e1000"));
	assert_non_null(strstr(t, "1000 Mbit/s"));
	assert_non_null(strstr(t, "950 Mbit/s"));
	assert_non_null(strstr(t, "CPU s/GiB <= 1.5x native"));
	free(t);
	doc = ddvm_bench_json(&rep);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "benchmark")), "net");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
		json_object_get(doc, "workloads"), 2), "mtu")), 500);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iperf_sample),
		cmocka_unit_test(test_iperf_noise_and_errors),
		cmocka_unit_test(test_ping),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_console_round_trip),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
