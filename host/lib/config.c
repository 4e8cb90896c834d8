// SPDX-License-Identifier: GPL-2.0
/* Strict JSON config loader: every error names the file, the JSON path and what is allowed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "units.h"

/* JSON paths are short ("domains[15].channels[7].size"); longer is a bug. */
#define PATH_LEN 96

struct parse_ctx {
	const char *name;	/* the file, for messages */
	struct ddvm_err *err;
};

static const char *const controller_names[] = {
	[DDVM_CTRL_VIRTIO_BLK] = "virtio-blk",
	[DDVM_CTRL_NVME] = "nvme",
	[DDVM_CTRL_AHCI] = "ahci",
};

static const char *const accel_names[] = {
	[DDVM_ACCEL_PREF_AUTO] = "auto",
	[DDVM_ACCEL_PREF_TCG] = "tcg",
	[DDVM_ACCEL_PREF_KVM] = "kvm",
};

const char *ddvm_controller_name(enum ddvm_controller c)
{
	if ((unsigned int)c >= sizeof(controller_names) / sizeof(controller_names[0]))
		return "?";
	return controller_names[c];
}

const char *ddvm_accel_pref_name(enum ddvm_accel_pref a)
{
	if ((unsigned int)a >= sizeof(accel_names) / sizeof(accel_names[0]))
		return "?";
	return accel_names[a];
}

bool ddvm_valid_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char ch = s[n];

		if (n >= DDVM_NAME_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-'))
			return false;
	}
	return n > 0;
}

static int cfg_err(struct parse_ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_err(struct parse_ctx *c, const char *path, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ddvm_errf(c->err, -EINVAL, "%s: %s: %s", c->name, path, msg);
}

static const char *json_kind(const json_t *v)
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
static void path_mark_cut(char *out, int n)
{
	if (n < 0 || n >= PATH_LEN)
		memcpy(out + PATH_LEN - 4, "...", 4);
}

/* Join @base and @key into a JSON path ("domains[0]" + "disk"). */
static void path_key(char *out, const char *base, const char *key)
{
	path_mark_cut(out, snprintf(out, PATH_LEN, "%s%s%s", base, *base ? "." : "", key));
}

static void path_index(char *out, const char *base, size_t i)
{
	path_mark_cut(out, snprintf(out, PATH_LEN, "%s[%zu]", base, i));
}

/* Unknown keys are errors: a misspelt key silently ignored is a lost setting. */
static int check_keys(struct parse_ctx *c, json_t *obj, const char *path,
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

static int expect_object(struct parse_ctx *c, json_t *v, const char *path)
{
	if (!json_is_object(v))
		return cfg_err(c, *path ? path : "(top level)",
			       "expected an object, got %s", json_kind(v));
	return 0;
}

/*
 * Optional string member.  Returns 1 when present and copied, 0 when
 * absent, -EINVAL when of the wrong type, empty, too long or holding
 * control characters (which would end up in a command line).
 */
static int get_string(struct parse_ctx *c, json_t *obj, const char *base,
		      const char *key, char *out, size_t outlen)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN];
	const char *s;
	size_t i, n;

	if (!v)
		return 0;
	path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected a string, got %s", json_kind(v));
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

static int get_name(struct parse_ctx *c, json_t *obj, const char *base,
		    const char *key, char *out, bool required)
{
	char p[PATH_LEN];
	char tmp[DDVM_PATH_MAX];
	int ret;

	path_key(p, base, key);
	ret = get_string(c, obj, base, key, tmp, sizeof(tmp));
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

static int get_uint(struct parse_ctx *c, json_t *obj, const char *base,
		    const char *key, unsigned int min, unsigned int max,
		    unsigned int *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN];
	json_int_t n;

	if (!v)
		return 0;
	path_key(p, base, key);
	if (!json_is_integer(v))
		return cfg_err(c, p, "expected an integer from %u to %u, got %s",
			       min, max, json_kind(v));
	n = json_integer_value(v);
	if (n < (json_int_t)min || n > (json_int_t)max)
		return cfg_err(c, p, "%lld is out of range (%u to %u)",
			       (long long)n, min, max);
	*out = (unsigned int)n;
	return 1;
}

static int get_size(struct parse_ctx *c, json_t *obj, const char *base,
		    const char *key, uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	struct ddvm_err e;
	char p[PATH_LEN];

	if (!v)
		return 0;
	path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected a size string such as \"64M\", got %s",
			       json_kind(v));
	if (ddvm_parse_size(json_string_value(v), out, &e))
		return cfg_err(c, p, "%s", e.msg);
	return 1;
}

static int parse_enum(struct parse_ctx *c, json_t *obj, const char *base,
		      const char *key, const char *const *names, size_t n,
		      unsigned int *out)
{
	json_t *v = json_object_get(obj, key);
	char p[PATH_LEN];
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
	path_key(p, base, key);
	if (!json_is_string(v))
		return cfg_err(c, p, "expected one of the strings %s, got %s", list, json_kind(v));
	return cfg_err(c, p, "\"%.32s\" is not one of %s", json_string_value(v), list);
}

static int parse_disk(struct parse_ctx *c, json_t *obj, const char *path,
		      struct ddvm_domain_cfg *d)
{
	static const char *const keys[] = { "image", "size", "controller", NULL };
	struct ddvm_disk_cfg *disk = &d->disk;
	char p[PATH_LEN];
	unsigned int ctrl;
	int ret;

	if ((ret = expect_object(c, obj, path)) || (ret = check_keys(c, obj, path, keys)))
		return ret;
	snprintf(disk->image, sizeof(disk->image), "var/%s.img", d->name);
	disk->size = 0;
	disk->controller = DDVM_CTRL_VIRTIO_BLK;
	ret = get_string(c, obj, path, "image", disk->image, sizeof(disk->image));
	if (ret < 0)
		return ret;
	ret = get_size(c, obj, path, "size", &disk->size);
	if (ret < 0)
		return ret;
	if (ret > 0 && (!disk->size || disk->size % 512)) {
		path_key(p, path, "size");
		return cfg_err(c, p, "must be a non-zero multiple of 512 bytes (a sector)");
	}
	ret = parse_enum(c, obj, path, "controller", controller_names,
			 sizeof(controller_names) / sizeof(controller_names[0]), &ctrl);
	if (ret < 0)
		return ret;
	if (ret)
		disk->controller = (enum ddvm_controller)ctrl;
	d->has_disk = true;
	return 0;
}

static int parse_channel(struct parse_ctx *c, json_t *obj, const char *path,
			 struct ddvm_channel_cfg *ch)
{
	static const char *const keys[] = { "name", "size", NULL };
	char p[PATH_LEN];
	char a[24], b[24];
	int ret;

	if ((ret = expect_object(c, obj, path)) || (ret = check_keys(c, obj, path, keys)))
		return ret;
	ret = get_name(c, obj, path, "name", ch->name, true);
	if (ret < 0)
		return ret;
	ch->size = DDVM_DEFAULT_CHANNEL_SIZE;
	ret = get_size(c, obj, path, "size", &ch->size);
	if (ret < 0)
		return ret;
	if (!ddvm_is_pow2(ch->size) || ch->size < DDVM_CHANNEL_MIN ||
	    ch->size > DDVM_CHANNEL_MAX) {
		path_key(p, path, "size");
		return cfg_err(c, p, "must be a power of two from %s to %s",
			       ddvm_format_size(DDVM_CHANNEL_MIN, a, sizeof(a)),
			       ddvm_format_size(DDVM_CHANNEL_MAX, b, sizeof(b)));
	}
	return 0;
}

static int parse_channels(struct parse_ctx *c, json_t *arr, const char *path,
			  struct ddvm_domain_cfg *d)
{
	char p[PATH_LEN];
	size_t i, j, n;
	int ret;

	if (!json_is_array(arr))
		return cfg_err(c, path, "expected an array of channels, got %s", json_kind(arr));
	n = json_array_size(arr);
	if (n < 1 || n > DDVM_MAX_CHANNELS)
		return cfg_err(c, path, "has %zu channels (allowed: 1 to %d per domain)",
			       n, DDVM_MAX_CHANNELS);
	for (i = 0; i < n; i++) {
		path_index(p, path, i);
		ret = parse_channel(c, json_array_get(arr, i), p, &d->channels[i]);
		if (ret)
			return ret;
		for (j = 0; j < i; j++)
			if (!strcmp(d->channels[j].name, d->channels[i].name)) {
				char q[PATH_LEN];

				path_key(q, p, "name");
				return cfg_err(c, q, "duplicate channel name \"%s\" (also %s[%zu])",
					       d->channels[i].name, path, j);
			}
	}
	d->nr_channels = (unsigned int)n;
	return 0;
}

static void domain_defaults(struct ddvm_domain_cfg *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->memory = DDVM_DEFAULT_MEMORY;
	d->cpus = 1;
	d->boot_timeout = DDVM_DEFAULT_BOOT_TIMEOUT;
	d->boot_retries = DDVM_DEFAULT_BOOT_RETRIES;
	d->has_disk = true;
	snprintf(d->disk.image, sizeof(d->disk.image), "var/%s.img", name);
	d->disk.size = DDVM_DEFAULT_DISK_SIZE;
	d->disk.controller = DDVM_CTRL_VIRTIO_BLK;
	d->nr_channels = 1;
	snprintf(d->channels[0].name, sizeof(d->channels[0].name), DDVM_DEFAULT_CHANNEL);
	d->channels[0].size = DDVM_DEFAULT_CHANNEL_SIZE;
}

static int parse_domain(struct parse_ctx *c, json_t *obj, const char *path,
			struct ddvm_domain_cfg *d)
{
	static const char *const keys[] = {
		"name", "memory", "cpus", "boot_timeout", "boot_retries",
		"disk", "channels", NULL
	};
	char p[PATH_LEN];
	char a[24], b[24];
	json_t *v;
	int ret;

	if ((ret = expect_object(c, obj, path)) || (ret = check_keys(c, obj, path, keys)))
		return ret;
	domain_defaults(d, "");
	ret = get_name(c, obj, path, "name", d->name, true);
	if (ret < 0)
		return ret;
	/* the run directory holds RUN/NAME/ per domain beside RUN/hub/ */
	if (!strcmp(d->name, "hub")) {
		path_key(p, path, "name");
		return cfg_err(c, p, "\"hub\" is reserved (the hub's socket directory)");
	}
	ret = get_size(c, obj, path, "memory", &d->memory);
	if (ret < 0)
		return ret;
	if (d->memory < DDVM_MEMORY_MIN || d->memory > DDVM_MEMORY_MAX ||
	    d->memory % DDVM_MIB) {
		path_key(p, path, "memory");
		return cfg_err(c, p, "must be whole MiB from %s to %s",
			       ddvm_format_size(DDVM_MEMORY_MIN, a, sizeof(a)),
			       ddvm_format_size(DDVM_MEMORY_MAX, b, sizeof(b)));
	}
	if ((ret = get_uint(c, obj, path, "cpus", 1, DDVM_CPUS_MAX, &d->cpus)) < 0 ||
	    (ret = get_uint(c, obj, path, "boot_timeout", 1, DDVM_BOOT_TIMEOUT_MAX,
			    &d->boot_timeout)) < 0 ||
	    (ret = get_uint(c, obj, path, "boot_retries", 0, DDVM_BOOT_RETRIES_MAX,
			    &d->boot_retries)) < 0)
		return ret;

	/* the device section: only "disk" exists until the network DD/OS */
	d->has_disk = false;
	v = json_object_get(obj, "disk");
	if (!v)
		return cfg_err(c, path, "missing \"disk\" (a domain drives one device; "
			       "\"disk\" is the only kind so far)");
	path_key(p, path, "disk");
	ret = parse_disk(c, v, p, d);
	if (ret)
		return ret;

	v = json_object_get(obj, "channels");
	if (v) {
		path_key(p, path, "channels");
		ret = parse_channels(c, v, p, d);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_domains(struct parse_ctx *c, json_t *arr, struct ddvm_config *cfg)
{
	char p[PATH_LEN], q[PATH_LEN];
	size_t i, j, n;
	int ret;

	if (!json_is_array(arr))
		return cfg_err(c, "domains", "expected an array of domains, got %s",
			       json_kind(arr));
	n = json_array_size(arr);
	if (n < 1 || n > DDVM_MAX_DOMAINS)
		return cfg_err(c, "domains", "has %zu domains (allowed: 1 to %d)",
			       n, DDVM_MAX_DOMAINS);
	for (i = 0; i < n; i++) {
		struct ddvm_domain_cfg *d = &cfg->domains[i];

		path_index(p, "domains", i);
		ret = parse_domain(c, json_array_get(arr, i), p, d);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (!strcmp(cfg->domains[j].name, d->name)) {
				path_key(q, p, "name");
				return cfg_err(c, q, "duplicate domain name \"%s\" (also domains[%zu])",
					       d->name, j);
			}
			/* two VMs writing one image would corrupt it */
			if (!strcmp(cfg->domains[j].disk.image, d->disk.image)) {
				path_key(q, p, "disk.image");
				return cfg_err(c, q, "image \"%.256s\" is also used by domains[%zu]",
					       d->disk.image, j);
			}
		}
	}
	cfg->nr_domains = (unsigned int)n;
	return 0;
}

void ddvm_config_defaults(struct ddvm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->source, sizeof(cfg->source), "(built-in defaults)");
	snprintf(cfg->run_dir, sizeof(cfg->run_dir), DDVM_DEFAULT_RUN_DIR);
	snprintf(cfg->kernel, sizeof(cfg->kernel), DDVM_DEFAULT_KERNEL);
	snprintf(cfg->initrd, sizeof(cfg->initrd), DDVM_DEFAULT_INITRD);
	cfg->accel = DDVM_ACCEL_PREF_AUTO;
	cfg->nr_domains = 1;
	domain_defaults(&cfg->domains[0], DDVM_DEFAULT_DOMAIN);
}

int ddvm_config_parse(struct ddvm_config *cfg, const char *buf, size_t len,
		      const char *name, struct ddvm_err *err)
{
	static const char *const keys[] = {
		"run_dir", "kernel", "initrd", "accel", "domains", NULL
	};
	struct parse_ctx c = { .name = name, .err = err };
	json_error_t jerr;
	unsigned int accel;
	json_t *root, *v;
	int ret;

	ddvm_config_defaults(cfg);
	snprintf(cfg->source, sizeof(cfg->source), "%s", name);
	if (len > DDVM_CONFIG_MAX_BYTES)
		return ddvm_errf(err, -EFBIG, "%s: larger than %d bytes", name,
				 DDVM_CONFIG_MAX_BYTES);
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return ddvm_errf(err, -EINVAL, "%s:%d:%d: %s", name, jerr.line,
				 jerr.column, jerr.text);
	if ((ret = expect_object(&c, root, "")) || (ret = check_keys(&c, root, "", keys)))
		goto out;
	if ((ret = get_string(&c, root, "", "run_dir", cfg->run_dir, sizeof(cfg->run_dir))) < 0 ||
	    (ret = get_string(&c, root, "", "kernel", cfg->kernel, sizeof(cfg->kernel))) < 0 ||
	    (ret = get_string(&c, root, "", "initrd", cfg->initrd, sizeof(cfg->initrd))) < 0)
		goto out;
	ret = parse_enum(&c, root, "", "accel", accel_names,
			 sizeof(accel_names) / sizeof(accel_names[0]), &accel);
	if (ret < 0)
		goto out;
	if (ret)
		cfg->accel = (enum ddvm_accel_pref)accel;
	ret = 0;
	v = json_object_get(root, "domains");
	if (v)
		ret = parse_domains(&c, v, cfg);
out:
	json_decref(root);
	return ret;
}

int ddvm_config_load(struct ddvm_config *cfg, const char *path, struct ddvm_err *err)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd, ret;

	if (!path) {
		ddvm_config_defaults(cfg);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ddvm_errf(err, -errno, "config %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = ddvm_errf(err, -errno, "config %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ddvm_errf(err, -EINVAL, "config %s: not a regular file", path);
		goto out_close;
	}
	if (st.st_size > DDVM_CONFIG_MAX_BYTES) {
		ret = ddvm_errf(err, -EFBIG, "config %s: larger than %d bytes", path,
				DDVM_CONFIG_MAX_BYTES);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = ddvm_errf(err, -ENOMEM, "config %s: out of memory", path);
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ddvm_errf(err, -errno, "config %s: %s", path, strerror(errno));
			goto out_free;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	ret = ddvm_config_parse(cfg, buf, got, path, err);
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

static int absolutize(char *path, const char *cwd, const char *what, struct ddvm_err *err)
{
	char tmp[DDVM_PATH_MAX];
	int n;

	if (path[0] == '/')
		return 0;
	n = snprintf(tmp, sizeof(tmp), "%s/%s", cwd, path);
	if (n < 0 || n >= (int)sizeof(tmp))
		return ddvm_errf(err, -ENAMETOOLONG, "%s %s: path too long below %s", what,
				 path, cwd);
	memcpy(path, tmp, (size_t)n + 1);
	return 0;
}

int ddvm_config_absolutize(struct ddvm_config *cfg, const char *cwd, struct ddvm_err *err)
{
	unsigned int i;
	int ret;

	if ((ret = absolutize(cfg->run_dir, cwd, "run_dir", err)) ||
	    (ret = absolutize(cfg->kernel, cwd, "kernel", err)) ||
	    (ret = absolutize(cfg->initrd, cwd, "initrd", err)))
		return ret;
	for (i = 0; i < cfg->nr_domains; i++)
		if (cfg->domains[i].has_disk &&
		    (ret = absolutize(cfg->domains[i].disk.image, cwd, "image", err)))
			return ret;
	return 0;
}

const struct ddvm_domain_cfg *ddvm_config_find_domain(const struct ddvm_config *cfg,
						      const char *name)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_domains; i++)
		if (!strcmp(cfg->domains[i].name, name))
			return &cfg->domains[i];
	return NULL;
}
