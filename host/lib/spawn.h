/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Starting a child program for the supervisor (QEMU, the hub) with chosen
 * standard descriptors, a clean signal state, and exec failures reported
 * to the parent instead of lost in the child.
 */
#ifndef DDVM_SPAWN_H
#define DDVM_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

struct ddvm_spawn {
	char *const *argv;	/* argv[0] is looked up in PATH */
	int stdin_fd;		/* -1: /dev/null */
	int stdout_fd;		/* -1: /dev/null */
	int stderr_fd;		/* -1: /dev/null */
	int keep_fd;		/* one more descriptor the child keeps, or -1 */
	const int *keep_fds;	/* and these @nr_keep_fds (same numbers in the child) */
	unsigned int nr_keep_fds;
	int death_signal;	/* sent to the child if the supervisor dies; 0: none */
};

/**
 * ddvm_spawn - fork and exec @s->argv.
 * @s:   what to run
 * @pid: the child's pid
 * @err: names the program when it cannot be executed
 *
 * The child starts with an empty signal mask and default dispositions
 * (the supervisor blocks signals for its signalfd and ignores SIGPIPE;
 * a child must not inherit either), in its own process group so a
 * terminal's ^C reaches only the supervisor, and with every other
 * descriptor closed by O_CLOEXEC.
 *
 * Return: 0, or -errno from fork or exec (e.g. -ENOENT: not installed).
 */
int ddvm_spawn(const struct ddvm_spawn *s, pid_t *pid, struct ddvm_err *err);

/**
 * ddvm_wait_status_text - a child's wait status for people: "exited with
 *	status 1", "killed by signal 9 (Killed)".
 * @status: from waitpid()
 * @buf:    where to write; 96 bytes suffice
 * @len:    size of @buf
 */
void ddvm_wait_status_text(int status, char *buf, size_t len);

#endif /* DDVM_SPAWN_H */
