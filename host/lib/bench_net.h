/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ddvm bench net`: bulk TCP both ways at two MTUs and ping RTT against a
 * remote host (an iperf3 server in a private network namespace at the
 * far end of the NIC's wire), first "native" (iperf3 inside a DD/OS booted
 * from the bench image, over its own NIC) and then "reuse" (iperf3 in a
 * private client namespace whose interface is a net channel through a
 * serving DD/OS, via `ddvm net tap`), with host CPU accounted for each.
 * Every namespace, interface and domain name carries our pid, so runs and
 * `ddvm up` never collide; all of them are removed on every path.
 */
#ifndef DDVM_BENCH_NET_H
#define DDVM_BENCH_NET_H

#include <stdbool.h>

#include "accel.h"
#include "bench_blk.h"
#include "bench_iperf.h"
#include "bench_report.h"
#include "config.h"
#include "err.h"

#define DDVM_BENCH_NET_RUNTIME		5
#define DDVM_BENCH_NET_OMIT		1
#define DDVM_BENCH_NET_REMOTE		"10.77.0.1"
#define DDVM_BENCH_NET_PREFIX		"/24"
#define DDVM_BENCH_NET_NATIVE_ADDR	"10.77.0.2"
#define DDVM_BENCH_NET_REUSE_ADDR	"10.77.0.10"

struct ddvm_bench_net_opts {
	const struct ddvm_config *cfg;	/* from ddvm_bench_net_config(), paths absolute */
	const char *bench_initrd;	/* the initramfs with iperf3 */
	const struct ddvm_accel *accel;
	unsigned int omit, runtime;	/* iperf3 -O and -t, seconds */
	const char *exe;		/* the ddvm binary: hub and `ddvm net tap` */
	const char *command;		/* the command line, for the report */
	bool remote_offload;		/* keep TX checksum offload on the remote tap */
	void (*progress)(void *ctx, const struct ddvm_bench_progress *p);
	void *ctx;
};

/**
 * ddvm_bench_net_config - the config a net benchmark runs: NIC domain
 *	@domain of @in (the first with a NIC if NULL) with its first client
 *	only, no disk, the NIC model @model (or its own if < 0), renamed
 *	"bnPID" and wired to the benchmark's private remote namespace.
 * @out:     filled
 * @in:      the loaded config
 * @domain:  a domain name or NULL
 * @model:   enum ddvm_nic_model, or -1
 * @run_dir: the benchmark's private run directory
 * @err:     names what is missing
 *
 * Return: 0, -ENOENT (no such NIC domain), -ENAMETOOLONG.
 */
int ddvm_bench_net_config(struct ddvm_config *out, const struct ddvm_config *in,
			  const char *domain, int model, const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_bench_net_run - run both sides and fill @rep.
 * @o:   what to run
 * @rep: the report; a side that failed has its error set and the other
 *	 side still runs
 * @err: why nothing could be measured (lock, preflight, namespaces)
 *
 * Return: 0 when the run went through (see @rep for failed sides), else -errno.
 */
int ddvm_bench_net_run(const struct ddvm_bench_net_opts *o, struct ddvm_bench_blk_report *rep,
		       struct ddvm_err *err);

#endif /* DDVM_BENCH_NET_H */
