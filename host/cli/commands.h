/* SPDX-License-Identifier: GPL-2.0 */
/* The ddvm subcommands: one function each, dispatched from main.c's table. */
#ifndef DDVM_COMMANDS_H
#define DDVM_COMMANDS_H

struct ddvm_command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the subcommand */
	const char *usage;			/* one line, shown by "ddvm help" */
};

int cmd_hub(int argc, char **argv);
int cmd_accel(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_inject(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_blk(int argc, char **argv);
int cmd_net(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_campaign(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif /* DDVM_COMMANDS_H */
