// SPDX-License-Identifier: GPL-2.0
/* Command-line checks for cmocka tests (argvtest.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "argvtest.h"

int argvt_find(const struct ddvm_argv *a, const char *opt)
{
	int i;

	for (i = 0; i < a->argc; i++)
		if (!strcmp(a->argv[i], opt))
			return i;
	return -1;
}

const char *argvt_value(const struct ddvm_argv *a, const char *opt)
{
	int i = argvt_find(a, opt);

	if (i < 0 || i + 1 >= a->argc)
		fail_msg("no %s in argv", opt);
	return a->argv[i + 1];
}

bool argvt_has_pair(const struct ddvm_argv *a, const char *opt, const char *val)
{
	int i;

	for (i = 0; i + 1 < a->argc; i++)
		if (!strcmp(a->argv[i], opt) && !strcmp(a->argv[i + 1], val))
			return true;
	return false;
}

void argvt_expect(const struct ddvm_argv *a, const char *const *want, size_t n)
{
	char line[4096];
	size_t i;

	if ((size_t)a->argc != n)
		fail_msg("argc %d, want %zu: %s", a->argc, n, ddvm_argv_format(a, line, sizeof(line)));
	for (i = 0; i < n; i++)
		if (strcmp(a->argv[i], want[i]))
			fail_msg("argv[%zu] = \"%s\", want \"%s\"", i, a->argv[i], want[i]);
}
