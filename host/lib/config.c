// SPDX-License-Identifier: GPL-2.0
/* Strict JSON config loader: every error names the file, the JSON path and what is allowed. */
#include <arpa/inet.h>
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
#include "config_json.h"
#include "units.h"

static const char *const controller_names[] = {
	[DDVM_CTRL_VIRTIO_BLK] = "virtio-blk",
	[DDVM_CTRL_NVME] = "nvme",
	[DDVM_CTRL_AHCI] = "ahci",
};

static const char *const nic_model_names[] = {
	[DDVM_NIC_E1000] = "e1000",
	[DDVM_NIC_E1000E] = "e1000e",
	[DDVM_NIC_VIRTIO_NET] = "virtio-net",
	[DDVM_NIC_RTL8139] = "rtl8139",
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

const char *ddvm_nic_model_name(enum ddvm_nic_model m)
{
	if ((unsigned int)m >= sizeof(nic_model_names) / sizeof(nic_model_names[0]))
		return "?";
	return nic_model_names[m];
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ddvm_parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	for (i = 0; i < 6; i++) {
		hi = hexval(s[i * 3]);
		lo = hi < 0 ? -1 : hexval(s[i * 3 + 1]);
		if (lo < 0)
			return -EINVAL;
		if (s[i * 3 + 2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

const char *ddvm_mac_problem(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	/* the I/G bit: a group address can never be one interface's own */
	if (mac[0] & 1)
		return "a multicast (group) address";
	if (!memcmp(mac, zero, 6))
		return "all zeroes";
	return NULL;
}

char *ddvm_format_mac(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

char *ddvm_tap_name(const char *domain, char *buf, size_t len)
{
	snprintf(buf, len, "dd-%s", domain);
	return buf;
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

static int parse_disk(struct cfg_ctx *c, json_t *obj, const char *path,
		      struct ddvm_domain_cfg *d)
{
	static const char *const keys[] = { "image", "size", "controller", NULL };
	struct ddvm_disk_cfg *disk = &d->disk;
	char p[CFG_PATH_LEN];
	unsigned int ctrl;
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	snprintf(disk->image, sizeof(disk->image), "var/%s.img", d->name);
	disk->size = 0;
	disk->controller = DDVM_CTRL_VIRTIO_BLK;
	ret = cfg_get_string(c, obj, path, "image", disk->image, sizeof(disk->image));
	if (ret < 0)
		return ret;
	ret = cfg_get_size(c, obj, path, "size", &disk->size);
	if (ret < 0)
		return ret;
	if (ret > 0 && (!disk->size || disk->size % 512)) {
		cfg_path_key(p, path, "size");
		return cfg_err(c, p, "must be a non-zero multiple of 512 bytes (a sector)");
	}
	ret = cfg_parse_enum(c, obj, path, "controller", controller_names,
			     sizeof(controller_names) / sizeof(controller_names[0]), &ctrl);
	if (ret < 0)
		return ret;
	if (ret)
		disk->controller = (enum ddvm_controller)ctrl;
	d->has_disk = true;
	return 0;
}

/* "mac": a unicast address; 1 when given, 0 when absent. */
static int get_mac(struct cfg_ctx *c, json_t *obj, const char *base, uint8_t mac[6])
{
	char p[CFG_PATH_LEN], text[32];
	const char *why;
	int ret;

	ret = cfg_get_string(c, obj, base, "mac", text, sizeof(text));
	cfg_path_key(p, base, "mac");
	if (ret == -EINVAL && json_is_string(json_object_get(obj, "mac")))
		return cfg_err(c, p, "bad MAC address (want six hex pairs with colons, "
			       "e.g. \"52:54:00:aa:bb:cc\")");
	if (ret <= 0)
		return ret;
	if (ddvm_parse_mac(text, mac))
		return cfg_err(c, p, "bad MAC address \"%s\" (want six hex pairs with colons, "
			       "e.g. \"52:54:00:aa:bb:cc\")", text);
	why = ddvm_mac_problem(mac);
	if (why)
		return cfg_err(c, p, "%s is %s; an interface needs a unicast address "
			       "(first byte even, e.g. 02:...)", text, why);
	return 1;
}

static int parse_channel(struct cfg_ctx *c, json_t *obj, const char *path,
			 struct ddvm_channel_cfg *ch, enum ddvm_channel_kind kind)
{
	static const char *const blk_keys[] = { "name", "size", "offset", "length", NULL };
	static const char *const net_keys[] = { "name", "mac", "size", NULL };
	char p[CFG_PATH_LEN];
	char a[24], b[24];
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->kind = kind;
	if ((ret = cfg_expect_object(c, obj, path)) ||
	    (ret = cfg_check_keys(c, obj, path, kind == DDVM_CHANNEL_NET ? net_keys : blk_keys)))
		return ret;
	ret = cfg_get_name(c, obj, path, "name", ch->name, true);
	if (ret < 0)
		return ret;
	if (kind == DDVM_CHANNEL_NET) {
		ret = get_mac(c, obj, path, ch->mac);
		if (ret < 0)
			return ret;
		ch->mac_given = ret > 0;
	}
	ch->size = kind == DDVM_CHANNEL_NET ? DDVM_DEFAULT_NET_CHANNEL_SIZE :
		   DDVM_DEFAULT_CHANNEL_SIZE;
	ret = cfg_get_size(c, obj, path, "size", &ch->size);
	if (ret < 0)
		return ret;
	if (!ddvm_is_pow2(ch->size) || ch->size < DDVM_CHANNEL_MIN ||
	    ch->size > DDVM_CHANNEL_MAX) {
		cfg_path_key(p, path, "size");
		return cfg_err(c, p, "must be a power of two from %s to %s",
			       ddvm_format_size(DDVM_CHANNEL_MIN, a, sizeof(a)),
			       ddvm_format_size(DDVM_CHANNEL_MAX, b, sizeof(b)));
	}
	return 0;
}

/*
 * A disk channel's "offset" and "length": the slice of the disk it
 * exports (the DD/OS's "DEV@OFFSET+LENGTH").  Multiples of 4 KiB (any
 * block size divides them), inside the disk when its size is given;
 * "offset" alone would leave the length to a disk size not known yet.
 */
static int parse_slice(struct cfg_ctx *c, json_t *obj, const char *path,
		       struct ddvm_channel_cfg *ch, uint64_t disk_size)
{
	char p[CFG_PATH_LEN], a[24], b[24], e[24];
	int has_off, has_len;

	has_off = cfg_get_size(c, obj, path, "offset", &ch->offset);
	if (has_off < 0)
		return has_off;
	has_len = cfg_get_size(c, obj, path, "length", &ch->length);
	if (has_len < 0)
		return has_len;
	if (has_off && !has_len) {
		cfg_path_key(p, path, "length");
		return cfg_err(c, p, "missing (a slice given by \"offset\" needs its \"length\")");
	}
	if (!has_len)
		return 0;
	cfg_path_key(p, path, "offset");
	if (ch->offset % DDVM_SLICE_ALIGN)
		return cfg_err(c, p, "%llu is not a multiple of %d", (unsigned long long)ch->offset,
			       DDVM_SLICE_ALIGN);
	cfg_path_key(p, path, "length");
	if (!ch->length || ch->length % DDVM_SLICE_ALIGN)
		return cfg_err(c, p, "must be a non-zero multiple of %d", DDVM_SLICE_ALIGN);
	if (disk_size && (ch->offset >= disk_size || ch->length > disk_size - ch->offset))
		return cfg_err(c, p, "the slice %s+%s ends beyond the disk (%s)",
			       ddvm_format_size(ch->offset, a, sizeof(a)),
			       ddvm_format_size(ch->length, b, sizeof(b)),
			       ddvm_format_size(disk_size, e, sizeof(e)));
	return 0;
}

/*
 * Append the channels in @arr ("channels" for the disk, "nic.clients" for
 * the NIC) to @d's.  Names are unique across both lists: they are the
 * DOMAIN.NAME the clients ask for.
 */
static int parse_channels(struct cfg_ctx *c, json_t *arr, const char *path,
			  struct ddvm_domain_cfg *d, enum ddvm_channel_kind kind)
{
	const char *what = kind == DDVM_CHANNEL_NET ? "clients" : "channels";
	unsigned int base = d->nr_channels;
	char p[CFG_PATH_LEN];
	size_t i, j, n;
	int ret;

	if (!json_is_array(arr))
		return cfg_err(c, path, "expected an array of %s, got %s", what, cfg_json_kind(arr));
	n = json_array_size(arr);
	if (n < 1 || n > DDVM_MAX_CHANNELS - base)
		return cfg_err(c, path, "has %zu %s (allowed: 1 to %u%s; at most %d channels "
			       "per domain)", n, what, DDVM_MAX_CHANNELS - base,
			       base ? " beside the disk's channels" : "", DDVM_MAX_CHANNELS);
	for (i = 0; i < n; i++) {
		struct ddvm_channel_cfg *ch = &d->channels[base + i];

		cfg_path_index(p, path, i);
		ret = parse_channel(c, json_array_get(arr, i), p, ch, kind);
		if (!ret && kind == DDVM_CHANNEL_BLK)
			ret = parse_slice(c, json_array_get(arr, i), p, ch, d->disk.size);
		if (ret)
			return ret;
		for (j = 0; j < base + i; j++)
			if (!strcmp(d->channels[j].name, ch->name)) {
				char q[CFG_PATH_LEN];

				cfg_path_key(q, p, "name");
				if (j < base)
					return cfg_err(c, q, "duplicate channel name \"%s\" (also a "
						       "channel of the disk)", ch->name);
				return cfg_err(c, q, "duplicate channel name \"%s\" (also %s[%zu])",
					       ch->name, path, j - base);
			}
	}
	d->nr_channels = base + (unsigned int)n;
	return 0;
}

/* A namespace name becomes a file under /run/netns and an argument to ip. */
static bool valid_netns(const char *s)
{
	size_t i;

	if (!s[0] || s[0] == '.' || s[0] == '-' || strlen(s) > DDVM_NETNS_MAX)
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr("_.-", s[i])))
			return false;
	return true;
}

static int parse_wire(struct cfg_ctx *c, json_t *obj, const char *path,
		      struct ddvm_wire_cfg *w)
{
	static const char *const keys[] = { "netns", "address", NULL };
	char p[CFG_PATH_LEN];
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	cfg_path_key(p, path, "netns");
	ret = cfg_get_string(c, obj, path, "netns", w->netns, sizeof(w->netns));
	if (ret < 0)
		return ret;
	if (!ret)
		return cfg_err(c, p, "missing (the network namespace the tap is moved into, "
			       "e.g. \"ddvm-remote\")");
	if (!valid_netns(w->netns))
		return cfg_err(c, p, "bad namespace name \"%s\" (1-%d characters from A-Z, a-z, "
			       "0-9, _, . and -, not starting with . or -)", w->netns,
			       DDVM_NETNS_MAX);
	cfg_path_key(p, path, "address");
	ret = cfg_get_string(c, obj, path, "address", w->address, sizeof(w->address));
	if (ret < 0)
		return ret;
	if (ret && !cfg_valid_address(w->address, NULL, NULL))
		return cfg_err(c, p, "bad address \"%s\" (want IP/PREFIX, e.g. \"10.77.0.1/24\" "
			       "or \"fd00:77::1/64\")", w->address);
	return 0;
}

static int parse_nic(struct cfg_ctx *c, json_t *obj, const char *path,
		     struct ddvm_domain_cfg *d)
{
	static const char *const keys[] = { "model", "mac", "clients", "wire", NULL };
	struct ddvm_nic_cfg *nic = &d->nic;
	unsigned int model;
	char p[CFG_PATH_LEN];
	json_t *v;
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	memset(nic, 0, sizeof(*nic));
	nic->model = DDVM_DEFAULT_NIC_MODEL;
	ret = cfg_parse_enum(c, obj, path, "model", nic_model_names,
			     sizeof(nic_model_names) / sizeof(nic_model_names[0]), &model);
	if (ret < 0)
		return ret;
	if (ret)
		nic->model = (enum ddvm_nic_model)model;
	ret = get_mac(c, obj, path, nic->mac);
	if (ret < 0)
		return ret;
	nic->mac_given = ret > 0;
	v = json_object_get(obj, "clients");
	cfg_path_key(p, path, "clients");
	if (v) {
		ret = parse_channels(c, v, p, d, DDVM_CHANNEL_NET);
		if (ret)
			return ret;
	} else {
		struct ddvm_channel_cfg *ch;
		unsigned int i;

		/* one client "c0" by default, like the disk's default channel */
		if (d->nr_channels >= DDVM_MAX_CHANNELS)
			return cfg_err(c, p, "missing, and the disk's channels leave no room "
				       "for a default client (at most %d channels per domain)",
				       DDVM_MAX_CHANNELS);
		for (i = 0; i < d->nr_channels; i++)
			if (!strcmp(d->channels[i].name, DDVM_DEFAULT_CHANNEL))
				return cfg_err(c, p, "missing; the default client \"%s\" would "
					       "clash with the disk's channel of that name",
					       DDVM_DEFAULT_CHANNEL);
		ch = &d->channels[d->nr_channels++];
		memset(ch, 0, sizeof(*ch));
		snprintf(ch->name, sizeof(ch->name), DDVM_DEFAULT_CHANNEL);
		ch->size = DDVM_DEFAULT_NET_CHANNEL_SIZE;
		ch->kind = DDVM_CHANNEL_NET;
	}
	v = json_object_get(obj, "wire");
	if (v) {
		cfg_path_key(p, path, "wire");
		ret = parse_wire(c, v, p, &nic->wire);
		if (ret)
			return ret;
	}
	d->has_nic = true;
	return 0;
}

static int parse_restart(struct cfg_ctx *c, json_t *obj, const char *path,
			 struct ddvm_restart_cfg *r)
{
	static const char *const keys[] = {
		"max_attempts", "window", "backoff_ms", "backoff_max_ms", NULL
	};
	char p[CFG_PATH_LEN];
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	/* a bigger first delay alone raises the default cap with it */
	if (!json_object_get(obj, "backoff_max_ms"))
		r->backoff_max_ms = 0;
	if ((ret = cfg_get_uint(c, obj, path, "max_attempts", 0, DDVM_RESTART_ATTEMPTS_MAX,
				&r->max_attempts)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "window", 1, DDVM_RESTART_WINDOW_MAX,
				&r->window)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "backoff_ms", 0, DDVM_BACKOFF_MS_MAX,
				&r->backoff_ms)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "backoff_max_ms", 0, DDVM_BACKOFF_MS_MAX,
				&r->backoff_max_ms)) < 0)
		return ret;
	if (!json_object_get(obj, "backoff_max_ms"))
		r->backoff_max_ms = r->backoff_ms > DDVM_DEFAULT_BACKOFF_MAX_MS ?
				    r->backoff_ms : DDVM_DEFAULT_BACKOFF_MAX_MS;
	if (r->backoff_max_ms < r->backoff_ms) {
		cfg_path_key(p, path, "backoff_max_ms");
		return cfg_err(c, p, "%u is less than backoff_ms (%u)", r->backoff_max_ms,
			       r->backoff_ms);
	}
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
	d->hang_timeout = DDVM_DEFAULT_HANG_TIMEOUT;
	d->restart.max_attempts = DDVM_DEFAULT_RESTART_ATTEMPTS;
	d->restart.window = DDVM_DEFAULT_RESTART_WINDOW;
	d->restart.backoff_ms = DDVM_DEFAULT_BACKOFF_MS;
	d->restart.backoff_max_ms = DDVM_DEFAULT_BACKOFF_MAX_MS;
	d->has_disk = true;
	snprintf(d->disk.image, sizeof(d->disk.image), "var/%s.img", name);
	d->disk.size = DDVM_DEFAULT_DISK_SIZE;
	d->disk.controller = DDVM_CTRL_VIRTIO_BLK;
	d->nr_channels = 1;
	snprintf(d->channels[0].name, sizeof(d->channels[0].name), DDVM_DEFAULT_CHANNEL);
	d->channels[0].size = DDVM_DEFAULT_CHANNEL_SIZE;
}

static int parse_domain(struct cfg_ctx *c, json_t *obj, const char *path,
			struct ddvm_domain_cfg *d)
{
	static const char *const keys[] = {
		"name", "memory", "cpus", "boot_timeout", "boot_retries",
		"hang_timeout", "restart", "warm_spare", "disk", "channels", "nic", NULL
	};
	char p[CFG_PATH_LEN];
	json_t *v;
	int ret;

	if ((ret = cfg_expect_object(c, obj, path)) || (ret = cfg_check_keys(c, obj, path, keys)))
		return ret;
	domain_defaults(d, "");
	ret = cfg_get_dir_name(c, obj, path, d->name);
	if (ret < 0)
		return ret;
	if ((ret = cfg_get_memory(c, obj, path, &d->memory)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "cpus", 1, DDVM_CPUS_MAX, &d->cpus)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "boot_timeout", 1, DDVM_BOOT_TIMEOUT_MAX,
				&d->boot_timeout)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "boot_retries", 0, DDVM_BOOT_RETRIES_MAX,
				&d->boot_retries)) < 0 ||
	    (ret = cfg_get_uint(c, obj, path, "hang_timeout", 1, DDVM_HANG_TIMEOUT_MAX,
				&d->hang_timeout)) < 0)
		return ret;
	v = json_object_get(obj, "restart");
	if (v) {
		cfg_path_key(p, path, "restart");
		ret = parse_restart(c, v, p, &d->restart);
		if (ret)
			return ret;
	}

	/* the devices: a disk, a NIC, or both; the disk's channels come first */
	d->has_disk = false;
	d->nr_channels = 0;
	if (!json_object_get(obj, "disk") && !json_object_get(obj, "nic"))
		return cfg_err(c, path, "missing \"disk\" or \"nic\" (a domain drives a disk, "
			       "a NIC, or both)");
	v = json_object_get(obj, "disk");
	if (v) {
		cfg_path_key(p, path, "disk");
		ret = parse_disk(c, v, p, d);
		if (ret)
			return ret;
		v = json_object_get(obj, "channels");
		cfg_path_key(p, path, "channels");
		if (v) {
			ret = parse_channels(c, v, p, d, DDVM_CHANNEL_BLK);
			if (ret)
				return ret;
		} else {
			d->nr_channels = 1;	/* the default "c0" of domain_defaults() */
		}
	} else if (json_object_get(obj, "channels")) {
		cfg_path_key(p, path, "channels");
		return cfg_err(c, p, "are the disk's channels, and this domain has no \"disk\" "
			       "(a NIC's channels are its \"nic.clients\")");
	} else {
		/* no stray default image path for anything to trip over */
		memset(&d->disk, 0, sizeof(d->disk));
	}
	v = json_object_get(obj, "nic");
	if (v) {
		/* the tap dd-NAME must fit in IFNAMSIZ */
		if (strlen(d->name) > DDVM_NIC_DOMAIN_NAME_MAX) {
			cfg_path_key(p, path, "name");
			return cfg_err(c, p, "\"%s\" is too long for a domain with a NIC (at most "
				       "%d characters: its tap dd-%s must fit in 15)", d->name,
				       DDVM_NIC_DOMAIN_NAME_MAX, d->name);
		}
		cfg_path_key(p, path, "nic");
		ret = parse_nic(c, v, p, d);
		if (ret)
			return ret;
	}
	v = json_object_get(obj, "warm_spare");
	if (v) {
		cfg_path_key(p, path, "warm_spare");
		if (!json_is_boolean(v))
			return cfg_err(c, p, "expected a boolean, got %s", cfg_json_kind(v));
		d->warm_spare = json_is_true(v);
		if (d->warm_spare && d->has_nic)
			return cfg_err(c, p, "not for a domain with a NIC (its tap dd-%s can have "
				       "only one QEMU)", d->name);
	}
	return 0;
}

/* -------------------------------------------------------------------- MACs */

/* Where a MAC of the config lives, for messages and for generation. */
struct mac_slot {
	uint8_t *mac;
	bool given;
	unsigned int dom;
	int chan;		/* channel index, or one of: */
#define MAC_SLOT_NIC	-1	/* the NIC itself */
#define MAC_SLOT_WIRE	-2	/* the remote host's end of its wire (never given) */
};

static void mac_path(char *out, const struct ddvm_config *cfg, const struct mac_slot *m)
{
	const struct ddvm_domain_cfg *d = &cfg->domains[m->dom];
	unsigned int first_net = 0;

	while (first_net < d->nr_channels && d->channels[first_net].kind != DDVM_CHANNEL_NET)
		first_net++;
	if (m->chan == MAC_SLOT_NIC)
		cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "domains[%u].nic.mac", m->dom));
	else
		cfg_path_mark_cut(out, snprintf(out, CFG_PATH_LEN, "domains[%u].nic.clients[%u].mac",
						m->dom, (unsigned int)m->chan - first_net));
}

/* FNV-1a: small, fixed forever (generated MACs must not change between releases). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool mac_taken(uint8_t *const *taken, size_t n, const uint8_t mac[6])
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(taken[i], mac, 6))
			return true;
	return false;
}

/*
 * Give every NIC and client without a "mac" one derived from its names, so
 * it is the same in every run of the same config (a client's address is
 * what the remote side's ARP cache and tcpdump filters know it by).  Given
 * MACs must be unique in the whole config; a generated one that would
 * collide with any other is rehashed until it does not.
 */
static int assign_macs(struct cfg_ctx *c, struct ddvm_config *cfg)
{
	struct mac_slot slots[DDVM_MAX_DOMAINS * (DDVM_MAX_CHANNELS + 2)];
	uint8_t *taken[DDVM_MAX_DOMAINS * (DDVM_MAX_CHANNELS + 2)];
	char p[CFG_PATH_LEN], q[CFG_PATH_LEN], text[18];
	size_t n = 0, i, j, done;
	unsigned int di, ci;

	for (di = 0; di < cfg->nr_domains; di++) {
		struct ddvm_domain_cfg *d = &cfg->domains[di];

		if (!d->has_nic)
			continue;
		slots[n++] = (struct mac_slot){ d->nic.mac, d->nic.mac_given, di, MAC_SLOT_NIC };
		for (ci = 0; ci < d->nr_channels; ci++)
			if (d->channels[ci].kind == DDVM_CHANNEL_NET)
				slots[n++] = (struct mac_slot){ d->channels[ci].mac,
					d->channels[ci].mac_given, di, (int)ci };
		slots[n++] = (struct mac_slot){ d->nic.wire.mac, false, di, MAC_SLOT_WIRE };
	}
	for (i = 0; i < n; i++) {
		if (!slots[i].given)
			continue;
		for (j = 0; j < i; j++) {
			if (!slots[j].given || memcmp(slots[i].mac, slots[j].mac, 6))
				continue;
			mac_path(p, cfg, &slots[i]);
			mac_path(q, cfg, &slots[j]);
			return cfg_err(c, p, "%s is also %s (every NIC and client needs its own "
				       "address)", ddvm_format_mac(slots[i].mac, text, sizeof(text)),
				       q);
		}
	}
	/* generated ones, in config order, each avoiding all given and earlier ones */
	for (i = 0, done = 0; i < n; i++)
		if (slots[i].given)
			taken[done++] = slots[i].mac;
	for (i = 0; i < n; i++) {
		const struct ddvm_domain_cfg *d = &cfg->domains[slots[i].dom];
		const char *cname;
		uint64_t h = 0xcbf29ce484222325ULL;
		uint8_t mac[6];

		if (slots[i].given)
			continue;
		h = fnv1a(h, d->name, strlen(d->name));
		if (slots[i].chan == MAC_SLOT_NIC) {
			h = fnv1a(h, "/nic", 4);
		} else if (slots[i].chan == MAC_SLOT_WIRE) {
			h = fnv1a(h, "/wire", 5);
		} else {
			cname = d->channels[slots[i].chan].name;
			h = fnv1a(h, ".", 1);
			h = fnv1a(h, cname, strlen(cname));
		}
		for (;;) {
			mac[0] = DDVM_MAC_PREFIX0;
			mac[1] = DDVM_MAC_PREFIX1;
			mac[2] = (uint8_t)(h >> 56);
			mac[3] = (uint8_t)(h >> 48);
			mac[4] = (uint8_t)(h >> 40);
			mac[5] = (uint8_t)(h >> 32);
			if (!mac_taken(taken, done, mac))
				break;
			h = fnv1a(h, "+", 1);
		}
		memcpy(slots[i].mac, mac, 6);
		taken[done++] = slots[i].mac;
	}
	return 0;
}

/* Two wires into one namespace with one address would fight over it. */
static int check_wires(struct cfg_ctx *c, const struct ddvm_config *cfg)
{
	unsigned char a[16], b[16];
	unsigned int i, j;
	char p[CFG_PATH_LEN];
	int fa, fb;

	for (i = 0; i < cfg->nr_domains; i++) {
		const struct ddvm_wire_cfg *wi = &cfg->domains[i].nic.wire;

		if (!cfg->domains[i].has_nic || !wi->address[0])
			continue;
		cfg_valid_address(wi->address, &fa, a);
		for (j = 0; j < i; j++) {
			const struct ddvm_wire_cfg *wj = &cfg->domains[j].nic.wire;

			if (!cfg->domains[j].has_nic || !wj->address[0] ||
			    strcmp(wi->netns, wj->netns))
				continue;
			cfg_valid_address(wj->address, &fb, b);
			if (fa == fb && !memcmp(a, b, 16)) {
				cfg_path_mark_cut(p, snprintf(p, CFG_PATH_LEN, "domains[%u].nic.wire.address",
							      i));
				return cfg_err(c, p, "%s is also domains[%u]'s address in "
					       "namespace %s", wi->address, j, wi->netns);
			}
		}
	}
	return 0;
}

static int parse_domains(struct cfg_ctx *c, json_t *arr, struct ddvm_config *cfg)
{
	char p[CFG_PATH_LEN], q[CFG_PATH_LEN];
	size_t i, j, n;
	int ret;

	if (!json_is_array(arr))
		return cfg_err(c, "domains", "expected an array of domains, got %s",
			       cfg_json_kind(arr));
	n = json_array_size(arr);
	if (n < 1 || n > DDVM_MAX_DOMAINS)
		return cfg_err(c, "domains", "has %zu domains (allowed: 1 to %d)",
			       n, DDVM_MAX_DOMAINS);
	for (i = 0; i < n; i++) {
		struct ddvm_domain_cfg *d = &cfg->domains[i];

		cfg_path_index(p, "domains", i);
		ret = parse_domain(c, json_array_get(arr, i), p, d);
		if (ret)
			return ret;
		for (j = 0; j < i; j++) {
			if (!strcmp(cfg->domains[j].name, d->name)) {
				cfg_path_key(q, p, "name");
				return cfg_err(c, q, "duplicate domain name \"%s\" (also domains[%zu])",
					       d->name, j);
			}
			/* two VMs writing one image would corrupt it */
			if (d->has_disk && cfg->domains[j].has_disk &&
			    !strcmp(cfg->domains[j].disk.image, d->disk.image)) {
				cfg_path_key(q, p, "disk.image");
				return cfg_err(c, q, "image \"%.256s\" is also used by domains[%zu]",
					       d->disk.image, j);
			}
		}
	}
	cfg->nr_domains = (unsigned int)n;
	ret = assign_macs(c, cfg);
	if (ret)
		return ret;
	return check_wires(c, cfg);
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
		"run_dir", "kernel", "initrd", "accel", "domains", "vms", NULL
	};
	struct cfg_ctx c = { .name = name, .err = err };
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
	if ((ret = cfg_expect_object(&c, root, "")) || (ret = cfg_check_keys(&c, root, "", keys)))
		goto out;
	if ((ret = cfg_get_string(&c, root, "", "run_dir", cfg->run_dir, sizeof(cfg->run_dir))) < 0 ||
	    (ret = cfg_get_string(&c, root, "", "kernel", cfg->kernel, sizeof(cfg->kernel))) < 0 ||
	    (ret = cfg_get_string(&c, root, "", "initrd", cfg->initrd, sizeof(cfg->initrd))) < 0)
		goto out;
	ret = cfg_parse_enum(&c, root, "", "accel", accel_names,
			     sizeof(accel_names) / sizeof(accel_names[0]), &accel);
	if (ret < 0)
		goto out;
	if (ret)
		cfg->accel = (enum ddvm_accel_pref)accel;
	ret = 0;
	v = json_object_get(root, "domains");
	if (v)
		ret = parse_domains(&c, v, cfg);
	/* after the domains: a VM's channels are theirs */
	v = json_object_get(root, "vms");
	if (!ret && v)
		ret = cfg_parse_vms(&c, v, cfg);
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
	for (i = 0; i < cfg->nr_vms; i++) {
		struct ddvm_vm_cfg *vm = &cfg->vms[i];

		if ((ret = absolutize(vm->kernel, cwd, "kernel", err)) ||
		    (ret = absolutize(vm->initrd, cwd, "initrd", err)) ||
		    (vm->run[0] && (ret = absolutize(vm->run, cwd, "run", err))))
			return ret;
	}
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
