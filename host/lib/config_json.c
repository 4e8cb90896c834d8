// SPDX-License-Identifier: GPL-2.0
/* Typed, path-naming getters for the strict JSON config (config.c, config_vm.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_json.h"
#include "rundir.h"
#include "units.h"

int cfg_err(struct cfg_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ddvm_errf(c->err, -EINVAL, "%s: %s: %s", c->name, path, msg);
}

const char *cfg_json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* A path cut short still points the reader close; mark the cut. */
void cfg_path_mark_cut(char *out, int n)
{
	if (n < 0 || n >= CFG_PATH_LEN)
		memcpy(out + CFG_PATH_LEN - 4, "...", 4);
}

/* Join @base and @key into a JSON path ("domains[0]" + "disk"). */
void cfg_path_key(char *out, const char *base, const char *key)
{
	cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "%s%s%s", base, *base ? "." : "", key));
}

void cfg_path_index(char *out, const char *base, size_t i)
{
	cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "%s[%zu]", base, i));
}

/* Unknown keys are errors: a misspelt key silently ignored is a lost setting. */
int cfg_check_keys(struct cfg_ctx *c, json_t *obj, const char *path,
		   const char *const *allowed)
{
	const char *key;
	json_t *val;
	char list[256];
	size_t i, off = 0;

	json_object_foreach(obj, key, val) {
		for (i = 0; allowed[i]; i++)
			if (!strcmp(key, allowed[i]))
				break;
		if (allowed[i])
			continue;
		for (i = 0; allowed[i] && off < sizeof(list); i++)
			off += snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "", allowed[i]);
		return cfg_err(c, *path ? path : "(top level)",
			       "unknown key \"%.64s\" (allowed: %s)", key, list);
	}
	return 0;
}

int cfg_expect_object(struct cfg_ctx *c, json_t *v, const char *path)
{
	if (!json_is_object(v))
		return cfg_err(c, *path ? path : "(top level)",
			       "expected an object, got %s", cfg_json_kind(v));
	return 0;
}

/*
 * Optional string member.  Returns 1 when present and copied, 0 when
 * absent, -EINVAL when of the wrong type, empty, too long or holding
 * control characters (which would end up in a command line).
 */
int cfg_get_string(struct cfg_ctx *c, json_t *obj, const char *base,
		   const char *key, char *out, size_t outlen)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_PATH_LEN];
	const char *s;
	size_t i, n;

	if (!v)
		return 0;
	cfg_path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected a string, got %s", cfg_json_kind(v));
	s = json_string_value(v);
	n = json_string_length(v);
	if (!n)
		return cfg_err(c, p, "must not be empty");
	if (n >= outlen)
		return cfg_err(c, p, "longer than %zu bytes", outlen - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return cfg_err(c, p, "contains a control character");
	memcpy(out, s, n + 1);
	return 1;
}

int cfg_get_name(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, char *out, bool required)
{
	char p[CFG_PATH_LEN];
	char tmp[DDVM_PATH_MAX];
	int ret;

	cfg_path_key(p, base, key);
	ret = cfg_get_string(c, obj, base, key, tmp, sizeof(tmp));
	if (ret < 0)
		return ret;
	if (!ret) {
		if (required)
			return cfg_err(c, p, "missing (a name of 1-%d characters [a-z0-9_-])",
				       DDVM_NAME_MAX);
		return 0;
	}
	if (!ddvm_valid_name(tmp))
		return cfg_err(c, p, "bad name \"%.64s\" (1-%d characters from a-z, 0-9, _ and -)",
			       tmp, DDVM_NAME_MAX);
	memcpy(out, tmp, strlen(tmp) + 1);
	return 1;
}

int cfg_get_dir_name(struct cfg_ctx *c, json_t *obj, const char *base, char *out)
{
	char p[CFG_PATH_LEN];
	int ret;

	ret = cfg_get_name(c, obj, base, "name", out, true);
	if (ret < 0)
		return ret;
	if (!strcmp(out, DDVM_HUB_DIR)) {
		cfg_path_key(p, base, "name");
		return cfg_err(c, p, "\"%s\" is reserved (the hub's socket directory)", out);
	}
	return 1;
}

int cfg_get_uint(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, unsigned int min, unsigned int max,
		 unsigned int *out)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_PATH_LEN];
	json_int_t n;

	if (!v)
		return 0;
	cfg_path_key(p, base, key);
	if (!json_is_integer(v))
		return cfg_err(c, p, "expected an integer from %u to %u, got %s",
			       min, max, cfg_json_kind(v));
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return cfg_err(c, p, "%lld is out of range (%u to %u)",
			       (long long)n, min, max);
	*out = (unsigned int)n;
	return 1;
}

int cfg_get_size(struct cfg_ctx *c, json_t *obj, const char *base,
		 const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	struct ddvm_err e;
	char p[CFG_PATH_LEN];

	if (!v)
		return 0;
	cfg_path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected a size string such as \"64M\", got %s",
			       cfg_json_kind(v));
	if (ddvm_parse_size(json_string_value(v), out, &e))
		return cfg_err(c, p, "%s", e.msg);
	return 1;
}

int cfg_get_memory(struct cfg_ctx *c, json_t *obj, const char *base, uint64_t *out)
{
	char p[CFG_PATH_LEN], a[24], b[24];
	int ret;

	ret = cfg_get_size(c, obj, base, "memory", out);
	if (ret <= 0)
		return ret;
	if (*out < DDVM_MEMORY_MIN || *out > DDVM_MEMORY_MAX || *out % DDVM_MIB) {
		cfg_path_key(p, base, "memory");
		return cfg_err(c, p, "must be whole MiB from %s to %s",
			       ddvm_format_size(DDVM_MEMORY_MIN, a, sizeof(a)),
			       ddvm_format_size(DDVM_MEMORY_MAX, b, sizeof(b)));
	}
	return 1;
}

int cfg_parse_enum(struct cfg_ctx *c, json_t *obj, const char *base,
		   const char *key, const char *const *names, size_t n,
		   unsigned int *out)
{
	json_t *v = json_object_get(obj, key);
	char p[CFG_PATH_LEN];
	char list[128];
	size_t i, off = 0;

	if (!v)
		return 0;
	if (json_is_string(v))
		for (i = 0; i < n; i++)
			if (!strcmp(json_string_value(v), names[i])) {
				*out = (unsigned int)i;
				return 1;
			}
	for (i = 0; i < n; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s", i ? ", " : "", names[i]);
	cfg_path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected one of the strings %s, got %s", list, cfg_json_kind(v));
	return cfg_err(c, p, "\"%.32s\" is not one of %s", json_string_value(v), list);
}

/*
 * "IP/PREFIX", IPv4 or IPv6, prefix explicit (ip's default of /32 would
 * leave the namespace without a route to the wire).  @family and @addr
 * receive the parsed address when not NULL.
 */
bool cfg_valid_address(const char *s, int *family, unsigned char addr[16])
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	unsigned long prefix;
	size_t n;
	char *end;
	int fam;

	if (!slash || (n = (size_t)(slash - s)) == 0 || n >= sizeof(ip))
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, ip, buf) != 1)
		return false;
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
		return false;
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end || errno || prefix > (fam == AF_INET ? 32UL : 128UL))
		return false;
	if (family)
		*family = fam;
	if (addr) {
		memset(addr, 0, 16);
		memcpy(addr, buf, fam == AF_INET ? 4 : 16);
	}
	return true;
}
