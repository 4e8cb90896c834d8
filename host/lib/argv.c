// SPDX-License-Identifier: GPL-2.0
/* Argument vectors for the programs the supervisor starts (argv.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

int ddvm_argv_push(struct ddvm_argv *a, char *s)
{
	if (!s)
		return -ENOMEM;
	if (a->argc + 2 > a->cap) {
		int cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->argv, (size_t)cap * sizeof(*v));

		if (!v) {
			free(s);
			return -ENOMEM;
		}
		a->argv = v;
		a->cap = cap;
	}
	a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
	return 0;
}

int ddvm_argv_addf(struct ddvm_argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return ddvm_argv_push(a, n < 0 ? NULL : s);
}

int ddvm_argv_add(struct ddvm_argv *a, ...)
{
	const char *s;
	va_list ap;
	int ret = 0;

	va_start(ap, a);
	while (!ret && (s = va_arg(ap, const char *)))
		ret = ddvm_argv_push(a, strdup(s));
	va_end(ap);
	return ret;
}

void ddvm_argv_free(struct ddvm_argv *a)
{
	int i;

	for (i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

char *ddvm_opt_escape(const char *s)
{
	size_t n = strlen(s), commas = 0, i, j;
	char *out;

	for (i = 0; i < n; i++)
		commas += s[i] == ',';
	out = malloc(n + commas + 1);
	if (!out)
		return NULL;
	for (i = 0, j = 0; i < n; i++) {
		out[j++] = s[i];
		if (s[i] == ',')
			out[j++] = ',';
	}
	out[j] = '\0';
	return out;
}

char *ddvm_argv_format(const struct ddvm_argv *a, char *buf, size_t len)
{
	size_t n = 0;
	char *s = NULL;
	const char *p;
	FILE *f;
	int i;

	if (!len)
		return buf;
	buf[0] = '\0';
	f = open_memstream(&s, &n);
	if (!f)
		return buf;
	for (i = 0; i < a->argc; i++) {
		p = a->argv[i];
		if (i)
			fputc(' ', f);
		if (*p && !strpbrk(p, " \t\n'\"\\$`*?[]{}()<>|&;#~")) {
			fputs(p, f);
			continue;
		}
		fputc('\'', f);
		for (; *p; p++) {
			if (*p == '\'')
				fputs("'\\''", f);
			else
				fputc(*p, f);
		}
		fputc('\'', f);
	}
	if (fclose(f) == 0 && s) {
		snprintf(buf, len, "%s", s);
		if (n >= len && len > 4)
			memcpy(buf + len - 4, "...", 4);
	}
	free(s);
	return buf;
}
