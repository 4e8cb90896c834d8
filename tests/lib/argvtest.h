/* SPDX-License-Identifier: GPL-2.0 */
/* Looking into a built command line (host/lib/argv.h) from a cmocka test. */
#ifndef DDVM_ARGVTEST_H
#define DDVM_ARGVTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "argv.h"

/* Index of the first @opt in @a, or -1. */
int argvt_find(const struct ddvm_argv *a, const char *opt);

/* The value after the first @opt; the test fails when there is none. */
const char *argvt_value(const struct ddvm_argv *a, const char *opt);

/* Whether "@opt @val" appears as a pair. */
bool argvt_has_pair(const struct ddvm_argv *a, const char *opt, const char *val);

/* @a must be exactly the @n strings @want; the test fails naming the first difference. */
void argvt_expect(const struct ddvm_argv *a, const char *const *want, size_t n);

#endif /* DDVM_ARGVTEST_H */
