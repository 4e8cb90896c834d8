// SPDX-License-Identifier: GPL-2.0
/* iperf3 and ping for `ddvm bench net`: workloads, guest script, output parsers (see bench_iperf.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_fio.h"
#include "bench_iperf.h"
#include "units.h"

const struct ddvm_bench_workload ddvm_bench_net_workloads[] = {
	{ "tcp-send-1500", "TCP send MTU 1500", true, false, 0, 1, true, 1500, false },
	{ "tcp-recv-1500", "TCP recv MTU 1500", false, false, 0, 1, true, 1500, false },
	{ "tcp-send-500", "TCP send MTU 500", true, false, 0, 1, true, 500, false },
	{ "tcp-recv-500", "TCP recv MTU 500", false, false, 0, 1, true, 500, false },
	{ "rtt", "ping RTT MTU 1500", false, false, 0, 1, false, 1500, true },
};
const unsigned int ddvm_bench_net_nr_workloads =
	sizeof(ddvm_bench_net_workloads) / sizeof(ddvm_bench_net_workloads[0]);

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
 * Short: it travels base64 on the kernel command line.  "w" waits for the
 * remote end of the wire: at first the host is still moving QEMU's tap
 * into its namespace, and some drivers (e1000) reset the NIC, link and
 * all, for a new MTU.  "m" is the MTU handshake; the marks around each
 * run let the host account CPU for just that run.
 */
int ddvm_bench_iperf_script(char *buf, size_t len, const struct ddvm_bench_iperf_opts *o,
			    const struct ddvm_bench_workload *w, unsigned int n)
{
	uint32_t mtu = o->link_mtu;
	size_t off = 0;
	unsigned int i;

	if (!len)
		return -ENOSPC;
	put(buf, len, &off, "R=%s;I=%s;s=0\n"
	    "ip addr add %s dev $I&&ip link set $I up||exit 1\n"
	    "w(){ i=0;until ping -c1 -W1 $R >/dev/null 2>&1;do i=$((i+1));"
	    "[ $i -lt 60 ]||{ echo no reply from $R;exit 1;};done;}\n"
	    "m(){ ip link set $I mtu $1;echo " DDVM_BENCH_MTU_MARK "$1;read -r a;w;}\n"
	    "w\n"
	    "e(){ r=$?;echo " DDVM_BENCH_MARK " end $n;[ $r = 0 ]||s=$r\n"
	    "echo " DDVM_BENCH_JSON " $n $r;cat /tmp/o;echo;echo " DDVM_BENCH_JSON_END " $n;}\n"
	    "t(){ n=$1;shift;echo " DDVM_BENCH_MARK " start $n\n"
	    "iperf3 -c $R -t %u -O %u -J \"$@\" >/tmp/o 2>&1;e;}\n"
	    "p(){ n=$1;echo " DDVM_BENCH_MARK " start $n\n"
	    "ping -c %u -i 0.2 $R >/tmp/o 2>&1;e;}\n",
	    o->remote, o->ifname, o->address, o->runtime, o->omit, DDVM_BENCH_NET_PINGS);
	for (i = 0; i < n; i++) {
		if (w[i].mtu != mtu) {
			mtu = w[i].mtu;
			put(buf, len, &off, "m %u\n", mtu);
		}
		if (w[i].rtt)
			put(buf, len, &off, "p %s\n", w[i].name);
		else
			put(buf, len, &off, "t %s%s\n", w[i].name, w[i].write ? "" : " -R");
	}
	put(buf, len, &off, "exit $s\n");
	if (off >= len)
		return -ENOSPC;
	return (int)off;
}

int ddvm_bench_iperf_parse(const char *json, size_t len, struct ddvm_bench_result *res,
			   char *version, size_t version_len, struct ddvm_err *err)
{
	const char *brace = memchr(json, '{', len);
	json_t *root, *sum, *e;
	json_error_t jerr;
	double seconds, bytes;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	if (!brace)
		return ddvm_errf(err, -EINVAL, "no iperf3 JSON (%.*s)", (int)(len < 200 ? len : 200),
				 json);
	root = json_loadb(brace, len - (size_t)(brace - json), JSON_DISABLE_EOF_CHECK, &jerr);
	if (!root || !json_is_object(root)) {
		json_decref(root);
		return ddvm_errf(err, -EINVAL, "iperf3 output is not JSON: %s (line %d)", jerr.text,
				 jerr.line);
	}
	if (version && version_len) {
		e = json_object_get(json_object_get(root, "start"), "version");
		snprintf(version, version_len, "%s", json_is_string(e) ? json_string_value(e) : "");
	}
	e = json_object_get(root, "error");
	if (json_is_string(e)) {
		ret = ddvm_errf(err, -EIO, "iperf3: %s", json_string_value(e));
		goto out;
	}
	sum = json_object_get(json_object_get(root, "end"), "sum_received");
	seconds = json_number_value(json_object_get(sum, "seconds"));
	bytes = json_number_value(json_object_get(sum, "bytes"));
	if (!json_is_object(sum) || !json_is_number(json_object_get(sum, "bytes")) ||
	    seconds <= 0 || bytes < 0) {
		ret = ddvm_errf(err, -EINVAL, "iperf3 JSON has no end.sum_received bytes and seconds");
		goto out;
	}
	res->seconds = seconds;
	res->bytes = (uint64_t)bytes;
	res->mib_s = bytes / seconds / DDVM_MIB;
	res->valid = true;
out:
	json_decref(root);
	return ret;
}

int ddvm_bench_ping_parse(const char *text, struct ddvm_bench_result *res, struct ddvm_err *err)
{
	const char *p = strstr(text, "packets transmitted, ");
	unsigned long sent = 0, got = 0;
	double mn, avg, mx;

	memset(res, 0, sizeof(*res));
	if (p) {
		while (p > text && p[-1] != '\n')
			p--;
		if (sscanf(p, "%lu packets transmitted, %lu", &sent, &got) != 2)
			p = NULL;
	}
	if (!p)
		return ddvm_errf(err, -EINVAL, "no ping summary in: %.200s", text);
	if (!got)
		return ddvm_errf(err, -EHOSTUNREACH, "ping: no reply to %lu requests", sent);
	p = strstr(text, "min/avg/max");
	p = p ? strstr(p, " = ") : NULL;
	if (!p || sscanf(p + 3, "%lf/%lf/%lf", &mn, &avg, &mx) != 3)
		return ddvm_errf(err, -EINVAL, "no min/avg/max line in ping's output: %.200s", text);
	res->ios = got;
	res->lat_min_us = mn * 1000;
	res->lat_mean_us = avg * 1000;
	res->lat_max_us = mx * 1000;
	res->valid = true;
	return 0;
}
