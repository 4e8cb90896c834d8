/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Argument vectors of the programs the supervisor starts (QEMU, the hub,
 * bridges): built piece by piece, every string owned by the vector, with
 * one error check at the end of a chain ("a || b || c ? -ENOMEM : 0").
 */
#ifndef DDVM_ARGV_H
#define DDVM_ARGV_H

#include <stddef.h>

/* A NULL-terminated argument vector; every string is owned by it. */
struct ddvm_argv {
	int argc;
	char **argv;
	int cap;
};

/**
 * ddvm_argv_push - append @s, which the vector now owns (freed on failure).
 * @a: the vector
 * @s: a malloc'd string; NULL (a failed allocation) gives -ENOMEM
 *
 * Return: 0 or -ENOMEM.
 */
int ddvm_argv_push(struct ddvm_argv *a, char *s);

/* Append one printf-formatted argument.  Return: 0 or -ENOMEM. */
int ddvm_argv_addf(struct ddvm_argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append copies of the plain strings that follow, up to a NULL.  Return: 0 or -ENOMEM. */
int ddvm_argv_add(struct ddvm_argv *a, ...);

/**
 * ddvm_argv_free - free @a's strings and array; @a may be zeroed or
 *	half-built.
 * @a: the vector
 */
void ddvm_argv_free(struct ddvm_argv *a);

/**
 * ddvm_opt_escape - @s as a value inside a QEMU option list
 *	("file=X,if=none"): a comma in it doubled, or QEMU would read it as
 *	the next option.
 * @s: the value
 *
 * Return: a malloc'd copy (caller frees), or NULL when out of memory.
 */
char *ddvm_opt_escape(const char *s);

/**
 * ddvm_argv_format - @a as one shell-quoted line, for logs.
 * @a:   the vector
 * @buf: where to write (truncated with "..." when too small)
 * @len: size of @buf
 *
 * Return: @buf.
 */
char *ddvm_argv_format(const struct ddvm_argv *a, char *buf, size_t len);

#endif /* DDVM_ARGV_H */
