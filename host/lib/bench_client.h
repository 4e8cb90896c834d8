/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `ddvm bench client`: what a client VM (the stock kernel, the bench
 * image) gets from a DD/OS's disk and NIC, by path, in one run:
 *
 *   bridge  disk: virtio-blk on QEMU's NBD client, `ddvm blk nbd`;
 *           NIC: virtio-net on a stream netdev, `ddvm net stream`
 *   front   the front-end module (/dev/ddvmblk0, ddvmnet0) on the channel
 *   direct  no DD/OS: QEMU gives the VM the scratch image as virtio-blk,
 *           or a virtio-net on a tap into the remote host's namespace
 *   native  the tool inside the DD/OS on its own device, as `ddvm bench
 *           blk` and `ddvm bench net` run it (their code)
 *
 * Disk: fio with `ddvm bench blk`'s workloads on the benchmark's scratch
 * image.  NIC: iperf3 send and receive and ping, at MTU 1500, against
 * an iperf3 server in a private namespace (the remote host) at the far
 * end of the NIC's wire.  Bridge and front paths run under a private
 * supervisor, from a config with the DD/OS and the client VM, as `ddvm
 * up` would; each path gets RUN/blk-PATH or RUN/net-PATH, its logs and
 * consoles.  Every path is charged the host CPU of all its processes.
 */
#ifndef DDVM_BENCH_CLIENT_H
#define DDVM_BENCH_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "accel.h"
#include "argv.h"
#include "bench_blk.h"
#include "bench_engine.h"
#include "bench_report.h"
#include "config.h"
#include "err.h"

enum ddvm_bench_path {
	DDVM_BENCH_PATH_BRIDGE,
	DDVM_BENCH_PATH_FRONT,
	DDVM_BENCH_PATH_DIRECT,
	DDVM_BENCH_PATH_NATIVE,
	DDVM_BENCH_NR_PATHS,
};

#define DDVM_BENCH_ALL_PATHS	((1u << DDVM_BENCH_NR_PATHS) - 1)
#define DDVM_BENCH_CLIENT_VM	"bcvm"		/* the client VM's name */
#define DDVM_BENCH_CLIENT_ADDR	"10.77.0.21"	/* its address on the remote's net */
#define DDVM_BENCH_CLIENT_MTU	1500
#define DDVM_BENCH_CLIENT_DIRECT_MAC	"02:dd:bc:00:00:01"

/* "nbd" / "stream" (@net), "front", "direct", "native". */
const char *ddvm_bench_path_name(enum ddvm_bench_path p, bool net);

/**
 * ddvm_bench_parse_paths - a --paths list: names of ddvm_bench_path_name()
 *	(either bridge name, or "bridge"), comma-separated.
 * @list: the text
 * @mask: set to the paths' bits (1 << path)
 * @err:  names the word it does not know
 *
 * Return: 0 or -EINVAL.
 */
int ddvm_bench_parse_paths(const char *list, unsigned int *mask, struct ddvm_err *err);

/* The disk or the NIC half of a report. */
struct ddvm_bench_part {
	bool net;
	bool on;			/* measured in this run */
	unsigned int nr;
	struct ddvm_bench_workload w[DDVM_BENCH_MAX_WORKLOADS];
	struct ddvm_bench_result res[DDVM_BENCH_NR_PATHS][DDVM_BENCH_MAX_WORKLOADS];
	char error[DDVM_BENCH_NR_PATHS][512];	/* why a path stopped early, or "" */
	char qemu[DDVM_BENCH_NR_PATHS][8192];	/* the QEMU the tool ran in, as run */
};

/* Where and how the benchmark ran. */
struct ddvm_bench_client_env {
	struct ddvm_bench_host host;
	char command[1024];
	char accel[8];
	char accel_reason[256];
	char kernel_abi[64];		/* DD/OSes and client VM: the same kernel */
	char fio_version[32];
	char iperf_version[32];
	char controller[16];		/* the disk DD/OS's */
	char nic[16];			/* the NIC DD/OS's */
	char image[DDVM_PATH_MAX];	/* the scratch image */
	uint64_t size;
	unsigned int ramp, runtime;	/* fio; iperf3 -t is runtime too */
	unsigned int omit;		/* iperf3 -O */
	uint64_t vm_memory;
	unsigned int vm_cpus;
	uint64_t disk_dd_memory, nic_dd_memory;
	unsigned int dd_cpus;
	uint64_t blk_channel_size, net_channel_size;
	char remote[96];		/* the remote host: address and namespace */
	bool remote_offload;		/* its tap kept TX checksum offload */
	double load_start[3], load_end[3];
	char run_dir[DDVM_PATH_MAX];
};

struct ddvm_bench_client_report {
	struct ddvm_bench_client_env env;
	unsigned int paths;		/* the paths run: bits (1 << path) */
	struct ddvm_bench_part blk, net;
};

struct ddvm_bench_client_opts {
	const struct ddvm_config *cfg;	/* as loaded, paths absolute */
	const char *disk_domain;	/* NULL: the first with a disk */
	const char *nic_domain;		/* NULL: the first with a NIC */
	int controller;			/* enum ddvm_controller, or -1: the domain's */
	int nic_model;			/* enum ddvm_nic_model, or -1: the domain's */
	const char *image;		/* the scratch image, absolute */
	uint64_t size;
	const char *run_dir;		/* the benchmark's own, absolute */
	const char *scratch_lock;	/* `ddvm bench blk`'s run directory: its lock
					 * keeps two benchmarks off the scratch image */
	const char *bench_initrd;	/* the image with fio and iperf3, absolute */
	const struct ddvm_accel *accel;
	unsigned int ramp, runtime, omit;
	unsigned int paths;		/* bits (1 << path) */
	bool blk, net;
	bool remote_offload;
	const char *exe;		/* the ddvm binary */
	const char *command;
	void (*progress)(void *ctx, const struct ddvm_bench_progress *p);
	void *ctx;
};

/**
 * ddvm_bench_client_workloads - the workloads of each half: `ddvm bench
 *	blk`'s for the disk; `ddvm bench net`'s at DDVM_BENCH_CLIENT_MTU
 *	for the NIC (a client VM's MTU is not the host's to change).
 * @rep: its blk and net parts get their workloads
 */
void ddvm_bench_client_workloads(struct ddvm_bench_client_report *rep);

/**
 * ddvm_bench_client_vm - the client VM of a path: named
 *	DDVM_BENCH_CLIENT_VM, memory, cpus, kernel and boot timeout of
 *	@in's first VM (or the defaults, the config's kernel), image
 *	@initrd, running @script; no devices yet.
 * @vm:     filled
 * @in:     the config as loaded
 * @initrd: the bench image
 * @script: the script file (ddvm.cmd)
 * @err:    says when a path does not fit
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_bench_client_vm(struct ddvm_vm_cfg *vm, const struct ddvm_config *in, const char *initrd,
			 const char *script, struct ddvm_err *err);

/**
 * ddvm_bench_client_config - a supervised path's config: @base (one
 *	domain, its one channel; from ddvm_bench_blk_config() or
 *	ddvm_bench_client_nic_config()) and client VM @vm with that channel
 *	as its disk or NIC, reached via @via.
 * @out:     filled
 * @base:    the domain
 * @vm:      the VM (no devices)
 * @via:     nbd or front for a disk channel, stream or front for a NIC's
 * @run_dir: the path's run directory
 * @err:     says what does not fit
 *
 * Return: 0, -EINVAL (a via the channel cannot take), -ENAMETOOLONG.
 */
int ddvm_bench_client_config(struct ddvm_config *out, const struct ddvm_config *base,
			     const struct ddvm_vm_cfg *vm, enum ddvm_vm_via via,
			     const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_bench_client_nic_config - the NIC domain of the net paths: as
 *	ddvm_bench_net_config() makes it, its wire into namespace @remote_ns
 *	without an address (the benchmark adds it once the tap's offload is
 *	set), and no VMs.
 * Arguments and return as ddvm_bench_net_config().
 */
int ddvm_bench_client_nic_config(struct ddvm_config *out, const struct ddvm_config *in,
				 const char *domain, int model, const char *remote_ns,
				 const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_bench_direct_argv - the QEMU of a direct path: client VM @vm with
 *	the scratch image @image as its virtio-blk disk (/dev/vda), or with
 *	@image NULL a virtio-net NIC (eth0) on a tap QEMU makes, @tap; the
 *	VM powers off after its script.
 * @out:     filled; free with ddvm_argv_free()
 * @cfg:     the config (the VM uses none of its channels)
 * @vm:      the VM; its "append" is set here
 * @accel:   the accelerator
 * @image:   the image, or NULL
 * @tap:     the tap, with @image NULL
 * @run_dir: where its sockets go (RUN/VM/ must exist)
 * @err:     what failed
 *
 * Return: 0 or -errno as ddvm_vm_argv().
 */
int ddvm_bench_direct_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
			   struct ddvm_vm_cfg *vm, const struct ddvm_accel *accel,
			   const char *image, const char *tap, const char *run_dir,
			   struct ddvm_err *err);

/**
 * ddvm_bench_client_run - run every selected path of every selected half.
 * @o:   what to run
 * @rep: filled; a path that failed has its error and the others still run
 * @err: why nothing could be measured (lock, preflight, scratch image)
 *
 * Return: 0 when the run went through (see @rep), -EINTR when interrupted
 * (cleaned up), else -errno.
 */
int ddvm_bench_client_run(const struct ddvm_bench_client_opts *o,
			  struct ddvm_bench_client_report *rep, struct ddvm_err *err);

/* ------------------------------------------------------------- report */

/* @path's headline metric / native's for workload @i of @part; < 0 when either is missing. */
double ddvm_bench_client_ratio(const struct ddvm_bench_part *part, unsigned int i,
			       enum ddvm_bench_path path);

/* The same for host CPU seconds per GiB. */
double ddvm_bench_client_cpu_ratio(const struct ddvm_bench_part *part, unsigned int i,
				   enum ddvm_bench_path path);

/* The report as a table for a terminal.  Return: text to free, or NULL. */
char *ddvm_bench_client_table(const struct ddvm_bench_client_report *rep);

/* The report as a JSON document.  Return: a new reference, or NULL. */
json_t *ddvm_bench_client_json(const struct ddvm_bench_client_report *rep);

/* One CSV row per workload and path (header first).  Return: text to free, or NULL. */
char *ddvm_bench_client_csv(const struct ddvm_bench_client_report *rep);

/**
 * ddvm_bench_client_gnuplot - data and script of the chart: four panels
 *	(1 MiB sequential MiB/s, 4 KiB random IOPS, TCP Mbit/s, host CPU
 *	s/GiB), one bar per path, the ratio to native above each.
 * @rep:    the report
 * @dat:    the data file the script reads
 * @png:    the image the script writes
 * @data:   set to the data text (caller frees)
 * @script: set to the script text (caller frees)
 *
 * Return: 0 or -ENOMEM.
 */
int ddvm_bench_client_gnuplot(const struct ddvm_bench_client_report *rep, const char *dat,
			      const char *png, char **data, char **script);

/* Write @base.dat, @base.gp and draw @base.png.  Return: as ddvm_bench_plot(). */
int ddvm_bench_client_plot(const struct ddvm_bench_client_report *rep, const char *base,
			   struct ddvm_err *err);

#endif /* DDVM_BENCH_CLIENT_H */
