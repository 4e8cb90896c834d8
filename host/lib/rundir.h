/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The run directory: where a supervisor keeps its pid file, logs, state and
 * sockets, and how other commands (status, down, clients) find them.
 *
 *   RUN/supervisor.pid    pid of the live supervisor; it holds an OFD write
 *                         lock on this file for as long as it runs
 *   RUN/supervisor.log    the supervisor's log
 *   RUN/state.json        current state (see state.h), replaced atomically
 *   RUN/hub.log           the hub's stderr
 *   RUN/hub/D.C.sock      the hub's socket for channel C of domain D
 *   RUN/D/console.log     domain D's serial console, every boot appended
 *   RUN/D/qmp.sock        QMP socket of domain D's QEMU (the supervisor's)
 *   RUN/D/qmp-tools.sock  a second QMP socket of D's QEMU, for tools
 *                         ("ddvm inject D hang" stops the VM through it)
 *   RUN/D/inject.sock     D's second serial port (ttyS1): the DD/OS's init
 *                         reads "ddvm-inject WHAT" lines from it (fault
 *                         injection; only who can reach RUN can use it)
 *   RUN/D/spare-*.sock    the same three of D's warm spare, if it has one
 *   RUN/netns.created     network namespaces the supervisor made for NIC
 *                         wires, one per line; it removes them at its end,
 *                         or the next supervisor does if it died
 *
 * Logs of the previous run are kept once, renamed to *.old.
 */
#ifndef DDVM_RUNDIR_H
#define DDVM_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

#define DDVM_RUN_DIR_ENV	"DDVM_RUN_DIR"
#define DDVM_PID_FILE		"supervisor.pid"
#define DDVM_LOG_FILE		"supervisor.log"
#define DDVM_STATE_FILE		"state.json"
#define DDVM_HUB_LOG		"hub.log"
#define DDVM_HUB_DIR		"hub"
#define DDVM_CONSOLE_LOG	"console.log"
#define DDVM_QMP_SOCK		"qmp.sock"
#define DDVM_QMP_TOOLS_SOCK	"qmp-tools.sock"
#define DDVM_INJECT_SOCK	"inject.sock"
#define DDVM_SPARE_PREFIX	"spare-"	/* a warm spare's sockets: RUN/D/spare-qmp.sock, ... */
#define DDVM_NETNS_RECORD	"netns.created"

/* a unix socket path must fit in sockaddr_un.sun_path */
#define DDVM_SOCK_PATH_MAX	108

/**
 * ddvm_run_dir_pick - choose the run directory: @flag (--run-dir) if set,
 *	else $DDVM_RUN_DIR, else @config_value if set, else "run".
 * @flag:         the command-line value or NULL
 * @config_value: the config's run_dir or NULL
 */
const char *ddvm_run_dir_pick(const char *flag, const char *config_value);

/**
 * ddvm_run_path - build "RUN/PART" (PART may hold slashes).
 * @buf:     where to write
 * @len:     size of @buf
 * @run_dir: the run directory
 * @part:    the file inside it
 * @err:     names the path when it does not fit
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_run_path(char *buf, size_t len, const char *run_dir, const char *part,
		  struct ddvm_err *err);

/**
 * ddvm_hub_socket_path - the hub socket of channel @channel of domain
 *	@domain: RUN/hub/DOMAIN.CHANNEL.sock.
 * @buf:     where to write; DDVM_SOCK_PATH_MAX bytes suffice for any path
 *	     that can be used
 * @len:     size of @buf
 * @run_dir: the run directory
 * @domain:  the domain name
 * @channel: the channel name
 * @err:     says when the path is too long for a unix socket
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_hub_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			 const char *channel, struct ddvm_err *err);

/**
 * ddvm_qmp_socket_path - the QMP socket of domain @domain: RUN/DOMAIN/qmp.sock.
 * @buf:     where to write
 * @len:     size of @buf
 * @run_dir: the run directory
 * @domain:  the domain name
 * @err:     says when the path is too long for a unix socket
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_qmp_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			 struct ddvm_err *err);

/**
 * ddvm_domain_socket_path - socket @name (DDVM_*_SOCK) of domain @domain:
 *	RUN/DOMAIN/NAME.
 * @buf:     where to write
 * @len:     size of @buf
 * @run_dir: the run directory
 * @domain:  the domain name
 * @name:    the socket's file name
 * @err:     says when the path is too long for a unix socket
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_domain_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			    const char *name, struct ddvm_err *err);

/**
 * ddvm_resolve_channel - the socket path of channel "DOMAIN.CHANNEL" of the
 *	supervisor running in @run_dir, checked against its state.json.
 * @buf:     where to write the path
 * @len:     size of @buf
 * @run_dir: the run directory
 * @name:    "DOMAIN.CHANNEL", e.g. "disk0.c0"
 * @err:     says what is wrong: malformed name, no state, no such channel
 *	     (listing those that exist)
 *
 * Return: 0, -EINVAL (malformed name), -ENOENT (no state or no such
 * channel), -ENAMETOOLONG.
 */
int ddvm_resolve_channel(char *buf, size_t len, const char *run_dir, const char *name,
			 struct ddvm_err *err);

/**
 * ddvm_channel_socket - the hub socket a client command names: a path (any
 *	@name with a '/') as it is, for hubs ddvm did not start; else
 *	DOMAIN.CHANNEL of the supervisor in the run directory
 *	(ddvm_run_dir_pick(NULL, NULL)), as ddvm_resolve_channel() finds it.
 * @buf:  where to write the path
 * @len:  size of @buf
 * @name: what the user gave
 * @err:  says what is wrong
 *
 * Return: 0 or -errno as ddvm_resolve_channel().
 */
int ddvm_channel_socket(char *buf, size_t len, const char *name, struct ddvm_err *err);

/**
 * ddvm_run_lock - create @run_dir if needed and take ownership of it.
 * @run_dir: the run directory
 * @fd:      the locked pid file (O_CLOEXEC); ownership lasts until the last
 *	     descriptor of it is closed, including copies made by fork()
 * @err:     names the run directory and the supervisor that owns it
 *
 * Return: 0, -EBUSY when a live supervisor owns @run_dir, or -errno.
 */
int ddvm_run_lock(const char *run_dir, int *fd, struct ddvm_err *err);

/**
 * ddvm_run_write_pid - record @pid in the pid file locked by ddvm_run_lock().
 * @fd:  the locked pid file
 * @pid: the supervisor's pid
 *
 * Return: 0 or -errno.
 */
int ddvm_run_write_pid(int fd, pid_t pid);

/**
 * ddvm_run_owner - the pid of the live supervisor owning @run_dir.
 * @run_dir: the run directory
 *
 * A pid file nobody holds locked is stale, whatever pid it names.
 *
 * Return: the pid (> 0), 0 when no supervisor is live, -1 when one is
 * live but has not written its pid yet.
 */
pid_t ddvm_run_owner(const char *run_dir);

/**
 * ddvm_run_clean_stale - remove what a dead supervisor left behind: its
 *	sockets and pid; rotate the logs to *.old.  Call with the lock held.
 * @run_dir: the run directory
 */
void ddvm_run_clean_stale(const char *run_dir);

#endif /* DDVM_RUNDIR_H */
