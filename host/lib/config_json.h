/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The config loader's JSON primitives, shared by config.c (domains) and
 * config_vm.c (client VMs): every getter checks the type and range of one
 * member and, when it is wrong, says so with the file and the JSON path
 * ("vms[1].disks[0].channel").  Internal to the config loader.
 *
 * Getters of optional members return 1 when the member was present and
 * stored, 0 when absent (the output untouched), -EINVAL when wrong.
 */
#ifndef DDVM_CONFIG_JSON_H
#define DDVM_CONFIG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* JSON paths are short ("domains[15].channels[7].size"); longer is a bug. */
#define CFG_PATH_LEN 96

struct cfg_ctx {
	const char *name;	/* the file, for messages */
	struct ddvm_err *err;
};

/* Fill c->err with "FILE: PATH: message".  Return: -EINVAL. */
int cfg_err(struct cfg_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "an object", "a string", ...: what a value is, for messages. */
const char *cfg_json_kind(const json_t *v);

/* When snprintf's result @n says a path was cut, end @out with "...". */
void cfg_path_mark_cut(char *out, int n);

/* Join @base and @key into a JSON path ("domains[0]" + "disk"). */
void cfg_path_key(char *out, const char *base, const char *key);

/* @base[@i]. */
void cfg_path_index(char *out, const char *base, size_t i);

/* Unknown keys of @obj are errors naming the allowed ones (NULL-terminated). */
int cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *path,
		   const char *const *allowed);

int cfg_expect_object(struct cfg_ctx *c, json_t *v, const char *path);

/* A string: not empty, shorter than @outlen, no control characters. */
int cfg_get_string(struct cfg_ctx *c, json_t *obj, const char *base,
		   const char *key, char *out, size_t outlen);

/* A name as ddvm_valid_name(); absent is an error when @required. */
int cfg_get_name(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, char *out, bool required);

/*
 * The required "name" of something with a directory RUN/NAME/ (a domain or
 * a VM): a valid name, and not the hub's directory.
 */
int cfg_get_dir_name(struct cfg_ctx *c, json_t *obj, const char *base, char *out);

int cfg_get_uint(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, unsigned int min, unsigned int max,
		 unsigned int *out);

/* A size string ("64M", "4096"; units.h). */
int cfg_get_size(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, uint64_t *out);

/* "memory": a size in whole MiB within DDVM_MEMORY_MIN..MAX. */
int cfg_get_memory(struct cfg_ctx *c, json_t *obj, const char *base, uint64_t *out);

/* One of the @n strings @names; *@out is its index. */
int cfg_parse_enum(struct cfg_ctx *c, json_t *obj, const char *base,
		   const char *key, const char *const *names, size_t n,
		   unsigned int *out);

/*
 * "IP/PREFIX", IPv4 or IPv6, prefix explicit.  @family and @addr (16
 * bytes, IPv4 in the first 4) receive the parsed address when not NULL.
 */
bool cfg_valid_address(const char *s, int *family, unsigned char addr[16]);

struct ddvm_config;

/*
 * cfg_parse_vms - the top-level "vms" array into @cfg->vms, checked against
 *	@cfg->domains (parsed first).  config_vm.c.
 */
int cfg_parse_vms(struct cfg_ctx *c, json_t *arr, struct ddvm_config *cfg);

#endif /* DDVM_CONFIG_JSON_H */
