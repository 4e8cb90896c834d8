/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for VM tests of client VMs under the supervisor (config "vms"):
 * reading a VM's console log (RUN/VM/console.log) for what its "run"
 * script printed, its shell through "ddvm console", a TCP sink in the
 * remote host's namespace that keeps what arrives in a file, and checks of
 * a disk slice on the host (e2fsck, debugfs).  Plain C returning 0/-errno
 * with a reason in a buffer, so no assertion fires on the sink's thread.
 */
#ifndef DDVM_VMTEST_CLIENT_H
#define DDVM_VMTEST_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmtest.h"

#define VMTEST_SHA_HEX	65	/* a SHA-256 in hex, NUL-terminated */

/*
 * vmtest_vm_wait_line - wait until client VM @vm's console has a line
 * containing @needle (checked every 200 ms, up to @timeout_s), or the VM
 * has stopped running (state.json: exited, failed, stopped).
 * @line:   the line (\r removed), or why there is none
 * @offset: if not NULL, the line's byte offset in the log
 *
 * Return: 0, -ETIMEDOUT, -ESRCH (the VM is no longer running), -ENOENT.
 */
int vmtest_vm_wait_line(const struct vmtest *t, const char *vm, const char *needle,
			int timeout_s, char *line, size_t len, long *offset);

/*
 * vmtest_vm_find - line number @nth (0: the first) of @vm's console that
 * holds @needle: *@rest is what follows the needle, *@offset the line's
 * byte offset (either may be NULL).  Return: 0 or -ENOENT.
 */
int vmtest_vm_find(const struct vmtest *t, const char *vm, const char *needle, unsigned int nth,
		   char *rest, size_t len, long *offset);

/*
 * vmtest_vm_console - pipe @input into `ddvm console VM` and return what
 * came back in @out.  Return: ddvm's exit status, or -errno.
 */
int vmtest_vm_console(const struct vmtest *t, const char *vm, const char *input, char *out,
		      size_t len);

/* A TCP listener in a network namespace keeping one connection's bytes in a file. */
struct vmtest_sink {
	int fd;				/* the listener */
	pthread_t thread;
	bool running;
	int timeout_s;			/* for the connection, and between reads */
	bool stop;			/* atomic: set by vmtest_sink_stop() */
	char path[160];
	uint64_t bytes;
	int error;			/* -errno of the thread */
	char why[256];
};

/*
 * vmtest_sink_start - listen on 0.0.0.0:@port inside namespace @ns (which
 * must exist; its addresses may come later) and, on a thread, accept one
 * connection and write what it sends to @path until it closes.
 * Return: 0 or -errno.
 */
int vmtest_sink_start(struct vmtest_sink *s, const char *ns, unsigned short port,
		      const char *path, int timeout_s);

/*
 * vmtest_sink_wait - join the thread; the SHA-256 of what arrived in @sha.
 * Return: s->error, or -errno of hashing it.
 */
int vmtest_sink_wait(struct vmtest_sink *s, char sha[VMTEST_SHA_HEX]);

/* Stop the thread wherever it is, and close the listener. */
void vmtest_sink_stop(struct vmtest_sink *s);

/* SHA-256 of file @path (sha256sum).  Return: 0 or -errno. */
int vmtest_sha256_file(const char *path, char sha[VMTEST_SHA_HEX]);

/*
 * vmtest_slice_check - the slice @offset+@length of @image, copied to
 * @tmp, must be a clean ext4 (e2fsck -fn); @sha gets the SHA-256 of its
 * /.manifest (debugfs), the list of what the VM wrote.
 * Return: 0 or -EIO with @why saying what e2fsck or debugfs said.
 */
int vmtest_slice_check(const char *image, uint64_t offset, uint64_t length, const char *tmp,
		       char sha[VMTEST_SHA_HEX], char *why, size_t len);

#endif /* DDVM_VMTEST_CLIENT_H */
