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
#define DDVM_NIC_DOMAIN_NAME_MAX 12	/* its tap "dd-NAME" must fit IFNAMSIZ - 1 = 15 */
#define DDVM_NETNS_MAX		32	/* wire.netns: [A-Za-z0-9_.-], not starting with . or - */
#define DDVM_ADDRESS_MAX	63	/* wire.address: "IP/PREFIX", IPv4 or IPv6 */
#define DDVM_BOOT_TIMEOUT_MAX	3600
#define DDVM_BOOT_RETRIES_MAX	100
#define DDVM_HANG_TIMEOUT_MAX	3600
#define DDVM_RESTART_ATTEMPTS_MAX 1000
#define DDVM_RESTART_WINDOW_MAX	86400
#define DDVM_BACKOFF_MS_MAX	600000
#define DDVM_MAX_VMS		16
#define DDVM_VM_MAX_DISKS	4	/* virtio-blk at PCI slots 0x04..0x07 */
#define DDVM_VM_MAX_NICS	4	/* virtio-net at PCI slots 0x0a..0x0d */
#define DDVM_APPEND_MAX		512	/* a client VM's extra kernel arguments */
#define DDVM_SLICE_ALIGN	4096	/* blk channel slices: offset and length */

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

enum ddvm_nic_model {
	DDVM_NIC_E1000,
	DDVM_NIC_E1000E,
	DDVM_NIC_VIRTIO_NET,
	DDVM_NIC_RTL8139,
};

/* What a channel carries: the domain's disk, or one client's share of its NIC. */
enum ddvm_channel_kind {
	DDVM_CHANNEL_BLK,
	DDVM_CHANNEL_NET,
};

struct ddvm_channel_cfg {
	char name[DDVM_NAME_MAX + 1];
	uint64_t size;			/* shared region bytes, power of two */
	enum ddvm_channel_kind kind;
	uint8_t mac[6];			/* net: the client's address (given or generated) */
	bool mac_given;			/* net: from the config, not generated */
	/*
	 * blk: the slice of the disk the channel exports, so several
	 * clients share one disk without sharing data.  @length 0: the
	 * whole disk (and @offset 0).  Multiples of DDVM_SLICE_ALIGN.
	 */
	uint64_t offset;
	uint64_t length;
};

/*
 * The "remote host" side of a NIC domain's wire: QEMU's tap dd-DOMAIN is
 * moved into network namespace @netns and given @address there, so tests
 * and benchmarks have a peer to talk to without touching the host's own
 * networking.  Empty @netns: the tap stays, down, where QEMU made it.
 */
struct ddvm_wire_cfg {
	char netns[DDVM_NETNS_MAX + 1];
	char address[DDVM_ADDRESS_MAX + 1];	/* "" = no address */
	/*
	 * The tap's own address, generated like clients' MACs: each boot's
	 * QEMU makes a new tap with a random one, and the remote host must
	 * keep its MAC across DD/OS restarts or every client's ARP entry
	 * for it goes stale (TCP stalls until the entry times out).
	 */
	uint8_t mac[6];
};

struct ddvm_nic_cfg {
	enum ddvm_nic_model model;
	uint8_t mac[6];			/* the emulated NIC's own address, distinct from clients' */
	bool mac_given;
	struct ddvm_wire_cfg wire;
};

/*
 * How a serving domain that fails is restarted: at most @max_attempts
 * restarts within any @window seconds (beyond: the domain is "failed"),
 * each after a delay that starts at @backoff_ms and doubles per restart
 * in the window, up to @backoff_max_ms.
 */
struct ddvm_restart_cfg {
	unsigned int max_attempts;
	unsigned int window;		/* seconds */
	unsigned int backoff_ms;	/* 0: the first restart is immediate */
	unsigned int backoff_max_ms;
};

struct ddvm_domain_cfg {
	char name[DDVM_NAME_MAX + 1];
	uint64_t memory;		/* bytes, whole MiB */
	unsigned int cpus;
	unsigned int boot_timeout;	/* seconds from QEMU start to DDVM-READY */
	unsigned int boot_retries;	/* further boots after a failed one */
	unsigned int hang_timeout;	/* seconds of no heartbeat on any channel: hung */
	struct ddvm_restart_cfg restart;
	/*
	 * Keep a second QEMU booted and waiting (ddvm.ko not loaded, disk
	 * not written) to take over at once; disk-only domains (a tap has
	 * one owner).  The domain's image is then opened without QEMU's
	 * lock, since two QEMUs hold it: the supervisor lets only one write.
	 */
	bool warm_spare;
	/*
	 * A domain drives a disk, a NIC or both (at least one after loading).
	 * channels[] holds the disk's channels ("channels") first, then one
	 * per NIC client ("nic.clients"); a channel's index is its PCI slot
	 * offset, so this order is what the guest sees.
	 */
	bool has_disk;
	struct ddvm_disk_cfg disk;
	bool has_nic;
	struct ddvm_nic_cfg nic;
	unsigned int nr_channels;
	struct ddvm_channel_cfg channels[DDVM_MAX_CHANNELS];
};

/* How a client VM reaches a channel. */
enum ddvm_vm_via {
	DDVM_VIA_NBD,		/* disk: virtio-blk on QEMU's NBD client, bridge "ddvm blk nbd" */
	DDVM_VIA_STREAM,	/* NIC: virtio-net on a stream netdev, bridge "ddvm net stream" */
	DDVM_VIA_FRONT,		/* either: the channel's ivshmem device in the VM, ddvm_front.ko */
};

/* One disk or NIC of a client VM: a channel of a domain, and the path to it. */
struct ddvm_vm_dev_cfg {
	char domain[DDVM_NAME_MAX + 1];
	char channel[DDVM_NAME_MAX + 1];
	unsigned int dom;		/* index of @domain in ddvm_config.domains */
	unsigned int chan;		/* index of @channel in that domain's channels */
	enum ddvm_vm_via via;
	char address[DDVM_ADDRESS_MAX + 1];	/* NIC: "IP/PREFIX" in the guest, "" none */
};

/*
 * A client VM: any kernel with virtio drivers (or a Linux with the
 * front-end module) whose disks and NICs are channels of driver domains.
 * The supervisor starts it once those domains serve, and never restarts
 * it: it is not a driver domain.
 */
struct ddvm_vm_cfg {
	char name[DDVM_NAME_MAX + 1];
	char kernel[DDVM_PATH_MAX];
	char initrd[DDVM_PATH_MAX];
	uint64_t memory;		/* bytes, whole MiB */
	unsigned int cpus;
	unsigned int boot_timeout;	/* s from QEMU start to DDVM-READY; 0: not watched */
	unsigned int nr_disks;
	struct ddvm_vm_dev_cfg disks[DDVM_VM_MAX_DISKS];
	unsigned int nr_nics;
	struct ddvm_vm_dev_cfg nics[DDVM_VM_MAX_NICS];
	char run[DDVM_PATH_MAX];	/* host script the guest runs at boot (ddvm.cmd); "" none */
	char append[DDVM_APPEND_MAX];	/* more kernel arguments; "" none */
};

struct ddvm_config {
	char source[DDVM_PATH_MAX];	/* file name, or "(built-in defaults)" */
	char run_dir[DDVM_PATH_MAX];
	char kernel[DDVM_PATH_MAX];
	char initrd[DDVM_PATH_MAX];
	enum ddvm_accel_pref accel;
	unsigned int nr_domains;
	struct ddvm_domain_cfg domains[DDVM_MAX_DOMAINS];
	unsigned int nr_vms;
	struct ddvm_vm_cfg vms[DDVM_MAX_VMS];
};

/* Defaults for fields a config leaves out. */
#define DDVM_DEFAULT_RUN_DIR		"run"
#define DDVM_DEFAULT_KERNEL		"var/guest/vmlinux"
#define DDVM_DEFAULT_INITRD		"build/guest/initramfs.cpio"
#define DDVM_DEFAULT_DOMAIN		"disk0"
#define DDVM_DEFAULT_MEMORY		(192ULL << 20)
#define DDVM_DEFAULT_BOOT_TIMEOUT	30
#define DDVM_DEFAULT_BOOT_RETRIES	3
#define DDVM_DEFAULT_HANG_TIMEOUT	3
#define DDVM_DEFAULT_RESTART_ATTEMPTS	5
#define DDVM_DEFAULT_RESTART_WINDOW	60
#define DDVM_DEFAULT_BACKOFF_MS		0
#define DDVM_DEFAULT_BACKOFF_MAX_MS	5000
#define DDVM_DEFAULT_DISK_SIZE		(256ULL << 20)
#define DDVM_DEFAULT_CHANNEL		"c0"
#define DDVM_DEFAULT_CHANNEL_SIZE	(64ULL << 20)
#define DDVM_DEFAULT_NIC_MODEL		DDVM_NIC_E1000
/*
 * A net channel: 4096 header + two rings of 256 entries (256-byte control
 * block + 256 * 8-byte descriptors = 2304 bytes each, 64-aligned) ends at
 * 8704; the data area starts 4096-aligned at 12288 and holds 2 * 256
 * buffers of DDVM_NET_BUF_SIZE (2 KiB) = 1 MiB: 1 MiB + 12 KiB in all.
 * The next power of two (2M) would fit that exactly once; 4M also fits
 * two rings of 512 (2 MiB + 16 KiB) so a client may double its rings
 * without a config change.
 */
#define DDVM_DEFAULT_NET_CHANNEL_SIZE	(4ULL << 20)
#define DDVM_DEFAULT_VM_INITRD		"build/guest/initramfs-bench.cpio"
#define DDVM_DEFAULT_VM_MEMORY		(384ULL << 20)	/* the bench image needs it */
/*
 * A client VM unpacks the ~100 MB bench image: 3.5 s to DDVM-READY on an
 * idle 2-core TCG host, 30 s seen at load 8; it is never retried, so wait long.
 */
#define DDVM_DEFAULT_VM_BOOT_TIMEOUT	120
/* generated MACs: locally administered unicast, 02:dd + 4 bytes of a hash */
#define DDVM_MAC_PREFIX0		0x02
#define DDVM_MAC_PREFIX1		0xdd

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
 * ddvm_nic_model_name - the config spelling of @m ("e1000", "virtio-net", ...),
 *	which is also the guest init's ddvm.net= value.
 * @m: the model
 */
const char *ddvm_nic_model_name(enum ddvm_nic_model m);

/**
 * ddvm_parse_mac - parse "52:54:00:aa:bb:cc" (hex either case, colons).
 * @s:   the text
 * @mac: the address
 *
 * Return: 0, or -EINVAL when malformed.  Says nothing about the address's
 * kind: see ddvm_mac_problem().
 */
int ddvm_parse_mac(const char *s, uint8_t mac[6]);

/**
 * ddvm_mac_problem - why @mac cannot be a client's or a NIC's address:
 *	"multicast", "all zeroes", or NULL when it is a usable unicast one.
 * @mac: the address
 */
const char *ddvm_mac_problem(const uint8_t mac[6]);

/**
 * ddvm_format_mac - @mac as "02:dd:12:34:56:78" (lower case).
 * @mac: the address
 * @buf: where to write; 18 bytes suffice
 * @len: size of @buf
 *
 * Return: @buf.
 */
char *ddvm_format_mac(const uint8_t mac[6], char *buf, size_t len);

/**
 * ddvm_tap_name - the host tap of NIC domain @domain: "dd-DOMAIN".
 * @domain: the domain name (at most DDVM_NIC_DOMAIN_NAME_MAX characters)
 * @buf:    where to write; 16 bytes (IFNAMSIZ) suffice
 * @len:    size of @buf
 *
 * Return: @buf.
 */
char *ddvm_tap_name(const char *domain, char *buf, size_t len);

/**
 * ddvm_accel_pref_name - the config spelling of @a ("auto", "tcg", "kvm").
 * @a: the preference
 */
const char *ddvm_accel_pref_name(enum ddvm_accel_pref a);

/**
 * ddvm_vm_via_name - the config spelling of @v ("nbd", "stream", "front").
 * @v: the path
 */
const char *ddvm_vm_via_name(enum ddvm_vm_via v);

/**
 * ddvm_config_find_domain - the domain called @name, or NULL.
 * @cfg:  the config
 * @name: the domain name
 */
const struct ddvm_domain_cfg *ddvm_config_find_domain(const struct ddvm_config *cfg,
						      const char *name);

#endif /* DDVM_CONFIG_H */
