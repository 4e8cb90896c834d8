/* SPDX-License-Identifier: GPL-2.0 */
/* Checks before anything starts, shared by the supervisor's preflight and the client VMs'. */
#ifndef DDVM_PREFLIGHT_H
#define DDVM_PREFLIGHT_H

#include "err.h"

/**
 * ddvm_check_readable - @path must be a readable regular file.
 * @what: what it is, for the message ("kernel", "VM vm0: initrd")
 * @path: the file
 * @hint: appended to the message when it is missing (" (make image builds it)")
 * @err:  names @what and @path
 *
 * Return: 0 or -errno (-EINVAL: not a regular file).
 */
int ddvm_check_readable(const char *what, const char *path, const char *hint,
			struct ddvm_err *err);

/**
 * ddvm_find_program - whether @prog can be executed, looked up in PATH as
 *	execvp() does (a name with a '/' as it is).
 * @prog: the program
 *
 * Return: 0 or -errno (-ENOENT: not found).
 */
int ddvm_find_program(const char *prog);

#endif /* DDVM_PREFLIGHT_H */
