/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client VM for VM tests: QEMU with the stock kernel and the client image
 * (build/guest/initramfs-bench.cpio), whatever devices the test adds, and
 * its console (ttyS0) in a file the test reads line by line.  The
 * accelerator is chosen as the supervisor chooses it (host/lib/accel.h);
 * under TCG the VM gets -smp 1,maxcpus=2, as every ddvm VM must (see
 * host/lib/qemu_args.c).  QEMU dies with the test (PR_SET_PDEATHSIG).
 * Plain C returning 0/-errno with a reason in vm->why.
 */
#ifndef DDVM_TEST_CLIENTVM_H
#define DDVM_TEST_CLIENTVM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CLIENTVM_MEMORY		"384M"	/* what the client image needs */

struct clientvm_opts {
	const char *name;		/* QEMU's -name, and in messages */
	const char *console;		/* file for ttyS0; QEMU's own stderr goes to console.qemu */
	const char *append;		/* kernel command line after "console=ttyS0 ..." */
	const char *const *args;	/* more QEMU arguments, NULL-terminated, or NULL */
	const char *memory;		/* NULL: CLIENTVM_MEMORY */
	const char *kernel;		/* NULL: $VAR/guest/vmlinux (VAR default var) */
	const char *initrd;		/* NULL: $BUILD/guest/initramfs-bench.cpio */
};

struct clientvm {
	pid_t pid;			/* 0 once reaped */
	char name[32];
	char console[256];
	char qemu_log[264];
	size_t scanned;			/* console bytes clientvm_wait_line() went past */
	int status;			/* wait status once reaped */
	char why[2048];
};

/* Start QEMU.  Return: 0, or -errno with vm->why saying why. */
int clientvm_start(struct clientvm *vm, const struct clientvm_opts *o);

/*
 * clientvm_wait_line - wait up to @timeout_ms for a console line that
 * starts with @prefix, after the lines earlier waits went past.
 * @line: the whole line, without its end (may be NULL)
 *
 * Return: 0; -ETIMEDOUT; -ECHILD when QEMU exited without printing it
 * (vm->why has the console's tail either way).
 */
int clientvm_wait_line(struct clientvm *vm, const char *prefix, int timeout_ms, char *line,
		       size_t len);

/*
 * clientvm_wait_exit - wait up to @timeout_ms for QEMU to exit (a guest
 * that powers off).  Return: its exit status, 128 + signal, or -ETIMEDOUT.
 */
int clientvm_wait_exit(struct clientvm *vm, int timeout_ms);

/* SIGTERM, then SIGKILL after 5 s; safe to call twice. */
void clientvm_stop(struct clientvm *vm);

/* Whether QEMU still runs (reaps it if not). */
bool clientvm_running(struct clientvm *vm);

/* The last @len - 1 bytes of the console, for failure messages. */
void clientvm_console_tail(const struct clientvm *vm, char *buf, size_t len);

#endif /* DDVM_TEST_CLIENTVM_H */
