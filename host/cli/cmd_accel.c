// SPDX-License-Identifier: GPL-2.0
/* ddvm accel: say whether VMs will run on KVM or TCG, and why. */
#include <stdio.h>
#include <string.h>

#include "accel.h"
#include "commands.h"

static const char accel_usage[] =
	"usage: ddvm accel [--qemu-arg]\n"
	"Prints \"kvm (reason)\" or \"tcg (reason)\"; --qemu-arg prints the QEMU -accel value.\n"
	"DDVM_ACCEL=tcg|kvm overrides the detection (kvm fails where KVM does not work).\n";

int cmd_accel(int argc, char **argv)
{
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;
	int qemu_arg = 0;

	if (argc == 2 && !strcmp(argv[1], "--qemu-arg")) {
		qemu_arg = 1;
	} else if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(accel_usage, stdout);
		return 0;
	} else if (argc != 1) {
		fputs(accel_usage, stderr);
		return 2;
	}
	if (ddvm_accel_detect(&accel, &err)) {
		fprintf(stderr, "ddvm accel: %s\n", err.msg);
		return 1;
	}
	if (qemu_arg)
		printf("%s\n", ddvm_accel_qemu_arg(&accel));
	else
		printf("%s (%s)\n", ddvm_accel_name(&accel), accel.reason);
	return 0;
}
