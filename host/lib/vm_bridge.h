/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One bridge of a client VM ("ddvm blk nbd" or "ddvm net stream", argv in
 * vm_args.h): started, restarted when it dies (at most BRIDGE_MAX_RESTARTS
 * in BRIDGE_WINDOW_S, with a backoff), stopped with SIGTERM.  Part of
 * vm_client.c; the same single thread.
 *
 * An NBD bridge listens: it is up once its socket is there, and QEMU, which
 * starts after it, finds a restarted one again (reconnect-delay).  A stream
 * bridge connects to the socket QEMU listens on, and again whenever the
 * connection ends: it is up as soon as it runs (QEMU may start after it),
 * and says on a pipe (--status-fd) each time it is connected or not, which
 * the supervisor shows; a restarted one connects to the same QEMU again.
 */
#ifndef DDVM_VM_BRIDGE_H
#define DDVM_VM_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "config.h"
#include "err.h"
#include "restart.h"
#include "rundir.h"
#include "vm_client.h"

enum ddvm_bridge_state {
	DDVM_BRIDGE_STARTING,	/* spawned, NBD socket not there yet */
	DDVM_BRIDGE_RUNNING,	/* NBD: its socket listens; stream: it runs (see connected) */
	DDVM_BRIDGE_RESTARTING,	/* died; the next start is due at t_retry */
	DDVM_BRIDGE_FAILED,	/* died too often: given up */
	DDVM_BRIDGE_STOPPED,	/* stopped on purpose, or not started yet */
};

struct ddvm_bridge {
	const struct ddvm_vms_host *h;
	const struct ddvm_vm_cfg *vm;
	bool nic;			/* vm->nics[index], else vm->disks[index] */
	unsigned int index;
	enum ddvm_bridge_state state;
	pid_t pid;			/* 0 when none */
	bool gave_up_told;		/* the VM heard it failed */
	/* a stream bridge's connection to QEMU, as it reports on status_fd */
	int status_fd;			/* the pipe's read end, -1 when none */
	bool status_midline;		/* the last byte read was not a newline */
	bool connected;
	bool late_told;			/* "not connected yet" logged for this start */
	unsigned int connections;	/* "connected" lines, all starts */
	long long t_qemu;		/* monotonic ms QEMU was started, 0: not yet */
	unsigned int starts;
	unsigned int restarts;
	long long t_start;		/* monotonic ms of the last start */
	long long t_retry;		/* when RESTARTING: the next start */
	long long restart_at[DDVM_RESTART_HISTORY];
	char channel[2 * DDVM_NAME_MAX + 2];	/* "DOMAIN.CHANNEL", for messages */
	char sock[DDVM_SOCK_PATH_MAX];
	char log[4096];			/* its stdout and stderr */
	char last_error[512];
};

/* What a tick found. */
enum ddvm_bridge_tick {
	DDVM_BRIDGE_TICK_WAIT,		/* not up (yet, or any more) */
	DDVM_BRIDGE_TICK_UP,		/* NBD: its socket listens; stream: it runs */
	DDVM_BRIDGE_TICK_GAVE_UP,	/* failed for good (said once) */
};

/**
 * ddvm_bridge_init - the bridge of @vm's disk (@nic false) or NIC @i; not
 *	started.
 * @b:   filled
 * @h:   the supervisor
 * @vm:  the VM
 * @nic: a NIC rather than a disk
 * @i:   its index
 * @err: names the socket path that does not fit
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_bridge_init(struct ddvm_bridge *b, const struct ddvm_vms_host *h,
		     const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, struct ddvm_err *err);

/* Spawn it now (an NBD bridge's old socket removed first: only the new one's counts). */
void ddvm_bridge_start(struct ddvm_bridge *b, long long now);

/**
 * ddvm_bridge_tick - a started NBD bridge's socket appeared?  One that
 *	does not within DDVM_BRIDGE_READY_MS is killed (and restarted); a
 *	restart that is due is made.  A stream bridge's connection news is
 *	read; one not connected DDVM_BRIDGE_READY_MS after QEMU started is
 *	logged (and shown in last_error) but left running: it keeps trying.
 * @b:   the bridge
 * @now: monotonic ms
 * @why: when it gave up: why, naming the VM, the channel and the log
 * @len: size of @why
 */
enum ddvm_bridge_tick ddvm_bridge_tick(struct ddvm_bridge *b, long long now, char *why,
				       size_t len);

/**
 * ddvm_bridge_reap - @pid ended with @status: was it this bridge?  If so,
 *	a restart is scheduled (or the bridge has failed), unless it was
 *	stopped on purpose or @stopping.
 *
 * Return: whether @pid was this bridge.
 */
bool ddvm_bridge_reap(struct ddvm_bridge *b, pid_t pid, int status, long long now,
		      bool stopping);

/* Stop it for good: SIGTERM (it exits cleanly), no restart. */
void ddvm_bridge_stop(struct ddvm_bridge *b);

/**
 * ddvm_bridge_wait - for shutdown, after ddvm_bridge_stop(): reap it if it
 *	has exited; SIGKILL and reap it when @force.
 *
 * Return: whether it is gone.
 */
bool ddvm_bridge_wait(struct ddvm_bridge *b, bool force);

/* QEMU was started on it now (@now monotonic ms): when a stream bridge should connect. */
void ddvm_bridge_qemu_started(struct ddvm_bridge *b, long long now);

/*
 * {"pid", "state", "starts", "restarts", "log", "last_error"} for
 * state.json; a stream bridge's state is "connected" or "connecting" while
 * it runs, and it adds {"connected", "connections"}.
 */
json_t *ddvm_bridge_json(const struct ddvm_bridge *b);

#endif /* DDVM_VM_BRIDGE_H */
