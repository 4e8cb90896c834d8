/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error reporting for libddvm: functions return 0 or -errno and, when the
 * caller passes a struct ddvm_err, fill it with a sentence naming the file,
 * flag or VM at fault.  Only main() and the CLI print.
 */
#ifndef DDVM_ERR_H
#define DDVM_ERR_H

#include <stddef.h>

struct ddvm_err {
	char msg[512];
};

/*
 * ddvm_errf - record a message in @err (may be NULL) and return @code.
 * @code: a negative errno, returned unchanged so callers can
 *        "return ddvm_errf(err, -EINVAL, "...", ...);"
 */
int ddvm_errf(struct ddvm_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix @err's message with more context ("config x.json: " + msg). */
int ddvm_err_prefix(struct ddvm_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* DDVM_ERR_H */
