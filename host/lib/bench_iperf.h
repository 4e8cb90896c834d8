/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure parts of `ddvm bench net`: its workloads, the guest script that
 * runs iperf3 and ping inside the DD/OS (ddvm.cmd=<base64>), and the
 * parsers of iperf3's JSON and of ping's summary, which both sides share.
 *
 * Besides bench_fio.h's console protocol (MARK start/end, JSON, JSON-END)
 * the script prints "DDVM-BENCH-MARK mtu N" after setting the NIC's MTU to
 * N and then reads one line from the console: the host answers once the
 * remote end of the wire has MTU N too, so both ends always agree.
 */
#ifndef DDVM_BENCH_IPERF_H
#define DDVM_BENCH_IPERF_H

#include <stddef.h>
#include <stdint.h>

#include "bench_engine.h"
#include "err.h"

#define DDVM_BENCH_MTU_MARK	"DDVM-BENCH-MARK mtu "
#define DDVM_BENCH_NET_PINGS	20	/* ping -c, 0.2 s apart */

/* TCP send and receive at MTU 1500 and 500, then ping RTT at 1500. */
extern const struct ddvm_bench_workload ddvm_bench_net_workloads[];
extern const unsigned int ddvm_bench_net_nr_workloads;

struct ddvm_bench_iperf_opts {
	const char *ifname;	/* the DD/OS's NIC: "eth0" */
	const char *address;	/* its address, "10.77.0.2/24" */
	const char *remote;	/* the iperf3 server, "10.77.0.1" */
	unsigned int omit;	/* iperf3 -O: seconds of slow start not counted */
	unsigned int runtime;	/* iperf3 -t */
	uint32_t link_mtu;	/* the MTU the link has: no handshake for it (0: none known) */
};

/**
 * ddvm_bench_iperf_script - the guest script running @n workloads.
 * @buf: where to write (NUL-terminated)
 * @len: size of @buf
 * @o:   addresses and times
 * @w:   the workloads, run in this order; an MTU change costs one
 *	 handshake with the host
 * @n:   how many
 *
 * Return: the script's length, or -ENOSPC when @buf is too small.
 */
int ddvm_bench_iperf_script(char *buf, size_t len, const struct ddvm_bench_iperf_opts *o,
			    const struct ddvm_bench_workload *w, unsigned int n);

/**
 * ddvm_bench_iperf_parse - one TCP run's result from `iperf3 -c -J` output.
 * @json:    the text (anything before the first '{' is skipped)
 * @len:     its length
 * @res:     filled on success: valid, seconds, bytes, mib_s of what the
 *	     receiving end got (the sender's count includes what was lost)
 * @version: if not NULL, iperf3's version ("iperf 3.12")
 * @version_len: size of @version
 * @err:     what is missing, or iperf3's own error
 *
 * Return: 0, -EINVAL for text that is not iperf3 JSON, -EIO when iperf3
 * reports an error (no server, connection reset, ...).
 */
int ddvm_bench_iperf_parse(const char *json, size_t len, struct ddvm_bench_result *res,
			   char *version, size_t version_len, struct ddvm_err *err);

/**
 * ddvm_bench_ping_parse - RTT from ping's summary (iputils' "rtt
 *	min/avg/max/mdev = ..." or busybox's "round-trip min/avg/max = ...").
 * @text: ping's output, NUL-terminated
 * @res:  filled on success: valid, ios (replies), lat_min/mean/max_us
 * @err:  says what is missing
 *
 * Return: 0, -EINVAL (no summary), -EHOSTUNREACH (no reply at all).
 */
int ddvm_bench_ping_parse(const char *text, struct ddvm_bench_result *res, struct ddvm_err *err);

#endif /* DDVM_BENCH_IPERF_H */
