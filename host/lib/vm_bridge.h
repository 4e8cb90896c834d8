/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One bridge of a client VM ("ddvm blk nbd" or "ddvm net stream", argv in
 * vm_args.h): started, watched until its socket is there, restarted when
 * it dies (at most BRIDGE_MAX_RESTARTS in BRIDGE_WINDOW_S, with a backoff),
 * stopped with SIGTERM.  Part of vm_client.c; the same single thread.
 *
 * A restarted NBD bridge is found again by QEMU's NBD client
 * (reconnect-delay).  QEMU 7.2's stream netdev has no reconnect: a stream
 * bridge that dies leaves the VM's NIC without its backend even after the
 * restart, which the bridge's last_error then says.
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
	DDVM_BRIDGE_STARTING,	/* spawned, socket not there yet */
	DDVM_BRIDGE_RUNNING,	/* its socket listens */
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
	bool qemu_started;		/* the VM's QEMU was started on it */
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
	DDVM_BRIDGE_TICK_WAIT,		/* not listening (yet, or any more) */
	DDVM_BRIDGE_TICK_UP,		/* its socket listens */
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

/* Spawn it now (its old socket removed first: only the new one's counts). */
void ddvm_bridge_start(struct ddvm_bridge *b, long long now);

/**
 * ddvm_bridge_tick - a started bridge's socket appeared?  One that does not
 *	within DDVM_BRIDGE_READY_MS is killed (and restarted); a restart
 *	that is due is made.
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

/* {"pid", "state", "starts", "restarts", "log", "last_error"} for state.json. */
json_t *ddvm_bridge_json(const struct ddvm_bridge *b);

#endif /* DDVM_VM_BRIDGE_H */
