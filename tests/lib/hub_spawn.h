/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test helper: run the real "ddvm hub" in a temporary directory, wait for
 * its ready line, read its log, stop it.  Plain C (no cmocka), returning
 * 0/-errno, so any test tier can use it.
 */
#ifndef DDVM_TEST_HUB_SPAWN_H
#define DDVM_TEST_HUB_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hub_spawn {
	pid_t pid;		/* 0 when not running */
	char dir[64];		/* socket directory, a fresh temp dir */
	char log[96];		/* the hub's stderr */
	char why[512];		/* what went wrong, for the test's failure message */
};

/* The ddvm binary: $DDVM_BIN, else $BUILD/ddvm, else build/ddvm. */
const char *hub_spawn_bin(void);

/**
 * hub_spawn_start() - start "ddvm hub --ready-fd N OPTS... DIR CHANNELS...".
 * @h: filled in; h->dir is created
 * @opts: NULL-terminated extra options (e.g. "--max-peers", "3"), or NULL
 * @channels: NULL-terminated NAME=SIZE arguments
 *
 * Return: 0 once the hub wrote "ready"; -errno otherwise, with h->why
 * saying why (including the hub's log).
 */
int hub_spawn_start(struct hub_spawn *h, const char *const *opts, const char *const *channels);

/* As hub_spawn_start(), in an existing directory @dir (removed by cleanup). */
int hub_spawn_start_in(struct hub_spawn *h, const char *dir, const char *const *opts,
		       const char *const *channels);

/**
 * hub_spawn_stop() - send @sig and wait (up to 5 s) for the hub to exit.
 * @h: the hub
 * @sig: e.g. SIGTERM
 * @status: its wait status, may be NULL
 *
 * Return: 0, or -ETIMEDOUT (the hub is then killed).
 */
int hub_spawn_stop(struct hub_spawn *h, int sig, int *status);

/* Stop (SIGKILL if still running) and remove the temp dir. */
void hub_spawn_cleanup(struct hub_spawn *h);

/* Path of channel @name's socket in @buf. */
const char *hub_spawn_sock(const struct hub_spawn *h, const char *name, char *buf, size_t len);

/* Whether the hub's log contains @needle (read fresh each call). */
bool hub_spawn_log_has(const struct hub_spawn *h, const char *needle);

/* Wait up to @ms for hub_spawn_log_has(); return whether it appeared. */
bool hub_spawn_log_wait(const struct hub_spawn *h, const char *needle, int ms);

/* The whole log, NUL-terminated, in @buf (truncated to @len - 1). */
const char *hub_spawn_log_read(const struct hub_spawn *h, char *buf, size_t len);

/**
 * hub_spawn_run() - run "ddvm ARGV..." to completion (up to 10 s).
 * @argv: NULL-terminated arguments after "ddvm"
 * @run_as_nobody: drop to uid/gid 65534 first (when root), to meet
 *                 permission checks root would pass
 * @out: stdout and stderr together, NUL-terminated
 * @len: size of @out
 *
 * Return: the wait status, or -errno.
 */
int hub_spawn_run(const char *const *argv, bool run_as_nobody, char *out, size_t len);

#endif /* DDVM_TEST_HUB_SPAWN_H */
