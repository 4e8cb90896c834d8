// SPDX-License-Identifier: GPL-2.0
/* ddvm status: the supervisor's domains at a glance, or as JSON. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "rundir.h"
#include "state.h"

#define STATUS_USAGE \
	"usage: ddvm status [--json] [--run-dir DIR]\n" \
	"  Shows the supervisor owning DIR (default $" DDVM_RUN_DIR_ENV " or ./run).\n" \
	"  Exit status: 0 running, 3 not running, 1 error.\n"

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *run_dir = NULL;
	struct ddvm_err err;
	json_t *st = NULL;
	bool json = false;
	pid_t owner;
	char *text;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hjr:", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'h':
			fputs(STATUS_USAGE, stdout);
			return 0;
		default:
			fputs(STATUS_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(STATUS_USAGE, stderr);
		return 2;
	}
	run_dir = ddvm_run_dir_pick(run_dir, NULL);
	owner = ddvm_run_owner(run_dir);
	ret = ddvm_state_load(run_dir, &st, &err);
	if (ret && ret != -ENOENT) {
		fprintf(stderr, "ddvm status: %s\n", err.msg);
		return 1;
	}

	if (json) {
		/* the state as written, with liveness checked now */
		if (!st)
			st = json_pack("{s:s}", "run_dir", run_dir);
		json_object_set_new(st, "live", json_boolean(owner != 0));
		json_dumpf(st, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(st);
		return owner ? 0 : 3;
	}
	if (!owner) {
		if (!st) {
			printf("not running (no supervisor in %s)\n", run_dir);
			return 3;
		}
	} else if (!st) {
		printf("a supervisor in %s is starting\n", run_dir);
		return 0;
	}
	text = ddvm_state_format(st, owner != 0);
	json_decref(st);
	if (!text) {
		fprintf(stderr, "ddvm status: out of memory\n");
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return owner ? 0 : 3;
}
