/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The supervisor: makes every channel's region, starts the hub (which
 * inherits them), then one QEMU per driver domain, watches each boot for
 * DDVM-READY, sets up a NIC domain's wire (its tap moved into a network
 * namespace with an address: the "remote host"), restarts what fails, and
 * keeps RUN/state.json current, with each channel's live header data
 * refreshed every second.  Control plane only: it maps the regions
 * read-only (chanmon.h) and never takes part in the data path.
 *
 * Single-threaded: one epoll over a signalfd (SIGCHLD, SIGTERM, SIGINT,
 * SIGHUP), each QEMU's console pipe, a timerfd per domain, the sampling
 * tick and each domain's QMP socket.
 */
#ifndef DDVM_SUPERVISOR_H
#define DDVM_SUPERVISOR_H

#include <stdbool.h>

#include "accel.h"
#include "config.h"
#include "err.h"

/*
 * Progress protocol to "ddvm up": text lines to show as they come, then
 * one final line, after which the descriptor is closed.
 */
#define DDVM_PROGRESS_OK	"=ok"	/* every domain serves */
#define DDVM_PROGRESS_FAIL	"=fail"	/* some domain failed for good */

#define DDVM_HUB_READY_TIMEOUT_MS	10000
#define DDVM_QMP_TIMEOUT_MS		2000
#define DDVM_QUIT_TIMEOUT_MS		5000	/* QMP quit to exit, then SIGTERM */
#define DDVM_TERM_TIMEOUT_MS		3000	/* SIGTERM to exit, then SIGKILL */
#define DDVM_RETRY_DELAY_MS		500	/* between a failed boot and the next */

struct ddvm_supervisor_opts {
	const struct ddvm_config *cfg;	/* paths absolute, run_dir the one to use */
	const struct ddvm_accel *accel;
	int lock_fd;		/* RUN/supervisor.pid, locked by ddvm_run_lock() */
	int progress_fd;	/* progress lines for "ddvm up", or -1 */
	bool foreground;	/* progress_fd is read by people: no protocol lines */
	int log_fd;		/* where the supervisor logs */
	const char *exe;	/* the ddvm binary, to run "ddvm hub" */
};

/**
 * ddvm_supervisor_preflight - check, before anything starts, what would
 *	otherwise fail later and further from its cause: kernel and initrd
 *	readable, QEMU found, socket paths short enough, and for NIC domains
 *	CAP_NET_ADMIN, /dev/net/tun and (for a wire) ip.  (Disk images are
 *	the caller's, once it owns the run directory: ddvm_image_prepare().)
 * @cfg: the config, paths absolute
 * @err: names the file, image or domain at fault
 *
 * Return: 0 or -errno.
 */
int ddvm_supervisor_preflight(const struct ddvm_config *cfg, struct ddvm_err *err);

/**
 * ddvm_supervise - run the supervisor until SIGTERM/SIGINT, or until every
 *	domain has failed for good; then stop every QEMU (QMP quit, SIGTERM,
 *	SIGKILL, each after a bound), stop the hub, remove the network
 *	namespaces it made (those left holding only lo), the sockets and the
 *	pid file, and write the final state.
 * @o:   what to run and where to report
 * @err: why it stopped, when that was not a request
 *
 * Return: 0 after a requested stop, -EIO when every domain failed, or
 * another -errno when start-up failed (the hub did not come up).
 */
int ddvm_supervise(const struct ddvm_supervisor_opts *o, struct ddvm_err *err);

#endif /* DDVM_SUPERVISOR_H */
