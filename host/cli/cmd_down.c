// SPDX-License-Identifier: GPL-2.0
/* ddvm down: ask the supervisor to stop its domains and the hub, and wait for it. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "rundir.h"
#include "state.h"

/*
 * The supervisor's own bounds: per QEMU 2 s QMP + 5 s quit + 3 s SIGTERM
 * + 3 s SIGKILL, in parallel, then 3 s for the hub: well below this.
 */
#define DOWN_TIMEOUT_S	60

#define DOWN_USAGE \
	"usage: ddvm down [--run-dir DIR]\n" \
	"  Stops the supervisor owning DIR (default $" DDVM_RUN_DIR_ENV " or ./run): each\n" \
	"  QEMU is asked to quit, then the hub stops; waits up to 60 s.\n"

static void report(const char *run_dir)
{
	struct ddvm_err err;
	json_t *st, *d;
	size_t i;

	if (ddvm_state_load(run_dir, &st, &err))
		return;
	/* client VMs first: they were stopped first */
	json_array_foreach(json_object_get(st, "vms"), i, d)
		printf("  %s: %s\n", json_string_value(json_object_get(d, "name")),
		       json_string_value(json_object_get(d, "state")));
	json_array_foreach(json_object_get(st, "domains"), i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *state = json_string_value(json_object_get(d, "state"));
		const char *e = json_string_value(json_object_get(d, "last_error"));

		if (e && *e)
			printf("  %s: %s (last error: %s)\n", name, state, e);
		else
			printf("  %s: %s\n", name, state);
	}
	json_decref(st);
}

int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *run_dir = NULL;
	struct timespec t0, t;
	pid_t owner;
	int c, waited;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hr:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			fputs(DOWN_USAGE, stdout);
			return 0;
		default:
			fputs(DOWN_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(DOWN_USAGE, stderr);
		return 2;
	}
	run_dir = ddvm_run_dir_pick(run_dir, NULL);

	/* a supervisor that has not written its pid yet gets a moment */
	for (waited = 0; (owner = ddvm_run_owner(run_dir)) < 0 && waited < 50; waited++)
		usleep(100 * 1000);
	if (owner == 0) {
		printf("ddvm down: no supervisor running in %s\n", run_dir);
		return 0;
	}
	if (owner < 0) {
		fprintf(stderr, "ddvm down: the supervisor in %s never wrote its pid\n", run_dir);
		return 1;
	}
	if (kill(owner, SIGTERM)) {
		fprintf(stderr, "ddvm down: cannot signal supervisor pid %d: %s\n", (int)owner,
			strerror(errno));
		return 1;
	}
	printf("ddvm down: stopping supervisor pid %d in %s ...\n", (int)owner, run_dir);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* its lock on the pid file is released only when it has exited */
	while (ddvm_run_owner(run_dir) != 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= DOWN_TIMEOUT_S) {
			fprintf(stderr, "ddvm down: supervisor pid %d still running after %d s; "
				"see %s/" DDVM_LOG_FILE "\n", (int)owner, DOWN_TIMEOUT_S, run_dir);
			return 1;
		}
		usleep(50 * 1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("ddvm down: stopped after %.1f s\n",
	       (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9);
	report(run_dir);
	return 0;
}
