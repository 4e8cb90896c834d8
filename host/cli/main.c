// SPDX-License-Identifier: GPL-2.0
/* ddvm: git-style entry point; each subcommand lives in its own cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct ddvm_command commands[] = {
	/* keep one line per command; add yours here */
	{ "up", cmd_up, "up [--foreground] [--run-dir DIR] [CONFIG]  start the hub and driver domains under a supervisor" },
	{ "status", cmd_status, "status [--json] [--run-dir DIR]  show the supervisor's driver domains" },
	{ "down", cmd_down, "down [--run-dir DIR]  stop the supervisor, its driver domains and the hub" },
	{ "console", cmd_console, "console [--run-dir DIR] [--timeout S] VM  attach to a client VM's shell (Ctrl-] leaves; piped lines run there)" },
	{ "inject", cmd_inject, "inject [--run-dir DIR] DOMAIN kill|panic|hang|oops|wedge|corrupt  make a driver domain fail, to see it recover" },
	{ "campaign", cmd_campaign, "campaign [--faults N] [--seed S] [--controller C] [--spare] [--run-dir DIR] [--json FILE]  many faults under verified I/O, with a recovery table" },
	{ "demo", cmd_demo, "demo [--controller C] [--keep]  boot a driver domain, verify data through it" },
	{ "blk", cmd_blk, "blk info|read|write|verify|nbd CHANNEL ...  use a disk through its channel" },
	{ "net", cmd_net, "net info|tap|stream CHANNEL ...  use a NIC through its channel" },
	{ "bench", cmd_bench, "bench blk [--controller C] [--runtime S] [--size N] [--json-only] [--no-plot] [--out DIR] [CONFIG]  native vs reuse block benchmark" },
	{ "accel", cmd_accel, "accel [--qemu-arg]  say whether VMs run on KVM or TCG, and why" },
	{ "hub", cmd_hub, "hub [--ready-fd N] [--max-peers N] [--vectors N] SOCKDIR NAME=SIZE ...  run the ivshmem hub (the supervisor starts it)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ddvm COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ddvm: unknown command '%s' (see 'ddvm help')\n", argv[1]);
	return 2;
}
