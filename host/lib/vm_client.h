/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client VMs under the supervisor (config "vms"): each waits until every
 * driver domain it uses serves, then gets its bridges (one "ddvm blk nbd"
 * per nbd disk, one "ddvm net stream" per stream NIC, each restarted when
 * it dies), then its QEMU (vm_args.h).  A client VM is never restarted: it
 * is not a driver domain; its exit is reported.  It is never touched when a
 * driver domain it uses restarts: bridges and front-end modules ride
 * through by themselves.
 *
 * Runs inside the supervisor's single-threaded loop: the supervisor hands
 * it its epoll events, the children it reaps, its 50 ms tick and the
 * domains' progress, and puts its JSON into state.json (state.h, "vms").
 *
 *   RUN/VM/console.log   the VM's console (ttyS0), every boot appended
 *   RUN/VM/shell.sock    its ttyS1: the guest init's shell ("ddvm console")
 *   RUN/VM/qmp.sock      its QMP socket
 *   RUN/VM/dI.nbd        the NBD bridge of disk I; its output in dI.log
 *   RUN/VM/nI.sock       the stream bridge of NIC I; its output in nI.log
 */
#ifndef DDVM_VM_CLIENT_H
#define DDVM_VM_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "accel.h"
#include "config.h"
#include "err.h"

/* a bridge whose socket is not there this long after its start is killed */
#define DDVM_BRIDGE_READY_MS	15000

/* What the supervisor says about a driver domain a VM waits for. */
enum ddvm_vm_dom_state {
	DDVM_VM_DOM_PENDING,	/* not serving yet */
	DDVM_VM_DOM_SERVING,	/* has served: the VM may start */
	DDVM_VM_DOM_FAILED,	/* failed for good: the VM never will */
};

/* The supervisor, as the client VMs see it. */
struct ddvm_vms_host {
	const struct ddvm_config *cfg;	/* paths absolute */
	const struct ddvm_accel *accel;
	const char *run_dir;
	const char *exe;		/* the ddvm binary, to run the bridges */
	int epfd;			/* the supervisor's epoll */
	uint64_t ev_tag;		/* epoll data of a VM's console: ev_tag | VM index */
	void *arg;			/* for the callbacks */
	enum ddvm_vm_dom_state (*domain_state)(void *arg, unsigned int dom);
	void (*log)(void *arg, const char *line);	/* supervisor.log */
	void (*progress)(void *arg, const char *line);	/* also to "ddvm up" */
	void (*changed)(void *arg);	/* a VM's state changed: save it, check settled */
};

struct ddvm_vms;

/**
 * ddvm_vms_create - set up every client VM of @h->cfg: RUN/VM/ and its
 *	console log; nothing starts yet.
 * @out: the VMs (none in the config: still a valid, empty set)
 * @h:   the supervisor; must outlive the set
 * @err: names the directory or file that failed
 *
 * Return: 0 or -errno.
 */
int ddvm_vms_create(struct ddvm_vms **out, const struct ddvm_vms_host *h, struct ddvm_err *err);

/**
 * ddvm_vms_kick - start the VMs whose domains all serve now; fail those
 *	waiting on a domain that failed for good.  Call whenever a domain
 *	becomes serving or failed.
 * @v: the VMs
 *
 * Return: whether any VM's state changed.
 */
bool ddvm_vms_kick(struct ddvm_vms *v);

/* An epoll event whose data was h->ev_tag | @idx. */
void ddvm_vms_event(struct ddvm_vms *v, uint32_t idx);

/* The supervisor's periodic tick: bridge sockets, restarts, boot timeouts. */
void ddvm_vms_tick(struct ddvm_vms *v);

/**
 * ddvm_vms_reap - a child the supervisor reaped: a VM's QEMU or a bridge?
 * @v:      the VMs
 * @pid:    the child
 * @status: its wait status
 *
 * Return: true when it was one of ours (and is handled).
 */
bool ddvm_vms_reap(struct ddvm_vms *v, pid_t pid, int status);

/* Whether every VM has settled: running, exited or failed.  @ok: none failed. */
bool ddvm_vms_settled(const struct ddvm_vms *v, bool *ok);

/* The "vms" array of state.json (state.h). */
json_t *ddvm_vms_json(const struct ddvm_vms *v);

/**
 * ddvm_vms_stop - stop everything, in order: every VM's QEMU (SIGTERM: it
 *	flushes its disks and quits; SIGKILL after DDVM_QUIT_TIMEOUT_MS),
 *	then every bridge (SIGTERM, then SIGKILL).  Blocks until done; the
 *	driver domains are the caller's to stop after.
 * @v: the VMs
 */
void ddvm_vms_stop(struct ddvm_vms *v);

/* Close and free; after ddvm_vms_stop(). */
void ddvm_vms_destroy(struct ddvm_vms *v);

/**
 * ddvm_vms_preflight - what would fail later, checked before anything
 *	starts: each VM's kernel, initrd and "run" script, its command lines
 *	(socket paths, the kernel command line's length) and nbdkit for the
 *	NBD bridges.
 * @cfg: the config, paths absolute
 * @err: names the VM and what is wrong
 *
 * Return: 0 or -errno.
 */
int ddvm_vms_preflight(const struct ddvm_config *cfg, struct ddvm_err *err);

#endif /* DDVM_VM_CLIENT_H */
