/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network plumbing for benchmarks: "ip" commands, network namespaces the
 * benchmark makes and removes, a tap's TX checksum offload, and the
 * "remote host" (a namespace with an iperf3 server) that NIC benchmarks
 * send to.  Only names the caller chose are touched.
 */
#ifndef DDVM_BENCH_NETNS_H
#define DDVM_BENCH_NETNS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "err.h"

#define DDVM_BENCH_IP_TIMEOUT_MS	5000

/**
 * ddvm_bench_ip - run "ip ARGS" to completion (bounded), ARGS split at
 *	spaces (names with none only).
 * @err: the command and its output when it fails; may be NULL
 * @fmt: the arguments, printf-style
 *
 * Return: 0, -EIO (ip failed), -ETIMEDOUT, -errno.
 */
int ddvm_bench_ip(struct ddvm_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool ddvm_bench_netns_exists(const char *ns);

/* ddvm_bench_netns_add - make namespace @ns with lo up.  Return: 0 or -errno. */
int ddvm_bench_netns_add(const char *ns, struct ddvm_err *err);

/* ddvm_bench_netns_del - remove namespace @ns if it exists (quietly). */
void ddvm_bench_netns_del(const char *ns);

/**
 * ddvm_bench_ethtool - one ethtool value get or set on interface @ifname in
 *	namespace @ns, from a child so that the caller stays where it is.
 * @ns:     the namespace
 * @ifname: the interface
 * @cmd:    ETHTOOL_G* or ETHTOOL_S* of a struct ethtool_value
 * @data:   the value a set writes
 *
 * Return: the value got (0 or 1), 0 after a set, or -EIO.
 */
int ddvm_bench_ethtool(const char *ns, const char *ifname, uint32_t cmd, uint32_t data);

/**
 * ddvm_bench_tx_csum - turn TX checksum offload of interface @ifname in
 *	namespace @ns on or off (ETHTOOL_STXCSUM, from a child in @ns).
 * @ns:     the namespace
 * @ifname: the interface
 * @on:     the setting
 * @err:    names the interface
 *
 * Return: 0 or -EIO.
 */
int ddvm_bench_tx_csum(const char *ns, const char *ifname, bool on, struct ddvm_err *err);

/**
 * ddvm_bench_wait_link - wait up to @ms for interface @ifname to exist
 *	in our namespace (QEMU makes its tap after it starts).
 * @stop: if not NULL and set, stop waiting
 *
 * Return: 0, -ETIMEDOUT or -EINTR.
 */
int ddvm_bench_wait_link(const char *ifname, int ms, volatile sig_atomic_t *stop,
			 struct ddvm_err *err);

/* The remote host: namespace @ns with an iperf3 server in it. */
struct ddvm_bench_remote {
	char ns[DDVM_NETNS_MAX + 1];
	pid_t server;		/* iperf3 -s, our child; 0 when none */
};

/**
 * ddvm_bench_remote_start - make namespace @ns (which must not exist) and
 *	start "iperf3 -s" in it, its output in @log.
 * @r:   filled
 * @ns:  the namespace
 * @log: the server's log file
 * @err: names the namespace or says why iperf3 did not stay up
 *
 * Return: 0 or -errno; on failure nothing is left behind.
 */
int ddvm_bench_remote_start(struct ddvm_bench_remote *r, const char *ns, const char *log,
			    struct ddvm_err *err);

/**
 * ddvm_bench_remote_wire - give the remote host tap @tap (in our
 *	namespace, or already in the remote's when @moved): move it, set
 *	TX checksum offload @offload, add @address, bring it up.  The
 *	address last, so a guest waiting for the remote to answer finds
 *	the offload already set.
 *
 * Return: 0 or -errno.
 */
int ddvm_bench_remote_wire(const struct ddvm_bench_remote *r, const char *tap, bool moved,
			   bool offload, const char *address, struct ddvm_err *err);

/* ddvm_bench_remote_stop - stop the server and remove the namespace. */
void ddvm_bench_remote_stop(struct ddvm_bench_remote *r);

#endif /* DDVM_BENCH_NETNS_H */
