// SPDX-License-Identifier: GPL-2.0
/* Preflight checks: files readable, programs found (preflight.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preflight.h"

int ddvm_check_readable(const char *what, const char *path, const char *hint,
			struct ddvm_err *err)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK))
		return ddvm_errf(err, -errno, "%s %s: %s%s", what, path, strerror(errno), hint);
	if (!S_ISREG(st.st_mode))
		return ddvm_errf(err, -EINVAL, "%s %s: not a regular file", what, path);
	return 0;
}

int ddvm_find_program(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];
	const char *p, *e;

	if (strchr(prog, '/'))
		return access(prog, X_OK) ? -errno : 0;
	for (p = path ? path : "/usr/bin:/bin"; ; p = e + 1) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), e == p ? "." : p, prog) <
		    (int)sizeof(buf) && !access(buf, X_OK))
			return 0;
		if (!*e)
			return -ENOENT;
	}
}
