/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ddvm configuration: which driver domains to run, with which device and
 * channels.  Loaded from strict JSON into plain structs with defaults, so
 * that everything after loading works on checked values only.
 */
#ifndef DDVM_CONFIG_H
#define DDVM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define DDVM_NAME_MAX		32	/* domain and channel names: [a-z0-9_-]{1,32} */
#define DDVM_PATH_MAX		4096
#define DDVM_MAX_DOMAINS	16
#define DDVM_MAX_CHANNELS	8	/* ivshmem devices at PCI slots 0x10..0x17 */
#define DDVM_CONFIG_MAX_BYTES	(1024 * 1024)

#define DDVM_MEMORY_MIN		(64ULL << 20)
#define DDVM_MEMORY_MAX		(64ULL << 30)
#define DDVM_CHANNEL_MIN	(64ULL << 10)
#define DDVM_CHANNEL_MAX	(1ULL << 30)
#define DDVM_CPUS_MAX		64
#define DDVM_BOOT_TIMEOUT_MAX	3600
#define DDVM_BOOT_RETRIES_MAX	100

enum ddvm_accel_pref {
	DDVM_ACCEL_PREF_AUTO,	/* KVM where it really works, else TCG */
	DDVM_ACCEL_PREF_TCG,
	DDVM_ACCEL_PREF_KVM,	/* fail rather than fall back */
};

enum ddvm_controller {
	DDVM_CTRL_VIRTIO_BLK,
	DDVM_CTRL_NVME,
	DDVM_CTRL_AHCI,
};

struct ddvm_disk_cfg {
	char image[DDVM_PATH_MAX];	/* raw image, created sparse if missing */
	uint64_t size;			/* bytes; 0 = "as found" (256M if created) */
	enum ddvm_controller controller;
};

struct ddvm_channel_cfg {
	char name[DDVM_NAME_MAX + 1];
	uint64_t size;			/* shared region bytes, power of two */
};

struct ddvm_domain_cfg {
	char name[DDVM_NAME_MAX + 1];
	uint64_t memory;		/* bytes, whole MiB */
	unsigned int cpus;
	unsigned int boot_timeout;	/* seconds from QEMU start to DDVM-READY */
	unsigned int boot_retries;	/* further boots after a failed one */
	/*
	 * A domain drives one device.  Only block exists now, so has_disk is
	 * always true after loading; a network domain will add a "nic"
	 * section beside it.
	 */
	bool has_disk;
	struct ddvm_disk_cfg disk;
	unsigned int nr_channels;
	struct ddvm_channel_cfg channels[DDVM_MAX_CHANNELS];
};

struct ddvm_config {
	char source[DDVM_PATH_MAX];	/* file name, or "(built-in defaults)" */
	char run_dir[DDVM_PATH_MAX];
	char kernel[DDVM_PATH_MAX];
	char initrd[DDVM_PATH_MAX];
	enum ddvm_accel_pref accel;
	unsigned int nr_domains;
	struct ddvm_domain_cfg domains[DDVM_MAX_DOMAINS];
};

/* Defaults for fields a config leaves out. */
#define DDVM_DEFAULT_RUN_DIR		"run"
#define DDVM_DEFAULT_KERNEL		"var/guest/vmlinux"
#define DDVM_DEFAULT_INITRD		"build/guest/initramfs.cpio"
#define DDVM_DEFAULT_DOMAIN		"disk0"
#define DDVM_DEFAULT_MEMORY		(192ULL << 20)
#define DDVM_DEFAULT_BOOT_TIMEOUT	30
#define DDVM_DEFAULT_BOOT_RETRIES	3
#define DDVM_DEFAULT_DISK_SIZE		(256ULL << 20)
#define DDVM_DEFAULT_CHANNEL		"c0"
#define DDVM_DEFAULT_CHANNEL_SIZE	(64ULL << 20)

/**
 * ddvm_config_defaults - fill @cfg with the built-in configuration: one
 *	domain "disk0" (virtio-blk, var/disk0.img of 256M, 192M of memory)
 *	with one channel "c0" of 64M.
 * @cfg: the config to fill
 */
void ddvm_config_defaults(struct ddvm_config *cfg);

/**
 * ddvm_config_parse - parse and validate a JSON config held in memory.
 * @cfg:  filled on success; unspecified on failure
 * @buf:  the JSON text (need not be NUL-terminated)
 * @len:  its length
 * @name: where the text came from, used in messages and kept in cfg->source
 * @err:  on failure, names @name, the JSON path (e.g.
 *	  "domains[0].disk.controller") and what is allowed
 *
 * Unknown keys, wrong types and out-of-range values are errors, never
 * ignored.  Paths are kept as written (relative to the current directory).
 *
 * Return: 0 or -EINVAL.
 */
int ddvm_config_parse(struct ddvm_config *cfg, const char *buf, size_t len,
		      const char *name, struct ddvm_err *err);

/**
 * ddvm_config_load - read and validate a config file.
 * @cfg:  filled on success
 * @path: the file; NULL for the built-in defaults
 * @err:  names @path and what is wrong
 *
 * Return: 0, -errno from reading, or -EINVAL/-EFBIG for bad content.
 */
int ddvm_config_load(struct ddvm_config *cfg, const char *path, struct ddvm_err *err);

/**
 * ddvm_config_absolutize - make every path in @cfg absolute, relative ones
 *	taken from @cwd, so the daemon and QEMU find them wherever they run
 *	and state.json shows paths that work from anywhere.
 * @cfg: the config
 * @cwd: the directory relative paths were written against (absolute)
 * @err: names the path that became too long
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_config_absolutize(struct ddvm_config *cfg, const char *cwd, struct ddvm_err *err);

/**
 * ddvm_valid_name - whether @s is a valid domain or channel name,
 *	[a-z0-9_-]{1,32}.
 * @s: the name
 */
bool ddvm_valid_name(const char *s);

/**
 * ddvm_controller_name - the config spelling of @c ("virtio-blk", ...).
 * @c: the controller
 */
const char *ddvm_controller_name(enum ddvm_controller c);

/**
 * ddvm_accel_pref_name - the config spelling of @a ("auto", "tcg", "kvm").
 * @a: the preference
 */
const char *ddvm_accel_pref_name(enum ddvm_accel_pref a);

/**
 * ddvm_config_find_domain - the domain called @name, or NULL.
 * @cfg:  the config
 * @name: the domain name
 */
const struct ddvm_domain_cfg *ddvm_config_find_domain(const struct ddvm_config *cfg,
						      const char *name);

#endif /* DDVM_CONFIG_H */
