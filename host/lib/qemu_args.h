/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command lines of the processes the supervisor starts: one QEMU per
 * driver domain, and the hub.  Pure functions of the config, so the exact
 * argv is unit-tested and the supervisor only executes it.
 *
 * The guest finds its exports by PCI address, so the layout is fixed:
 *   00:08.0            the disk controller (virtio-blk or nvme; AHCI is
 *                      q35's built-in 00:1f.2)
 *   00:09.0            the NIC (e1000, e1000e, virtio-net-pci, rtl8139),
 *                      backed by tap dd-DOMAIN that QEMU creates; the
 *                      guest's only NIC, so it is eth0
 *   00:10.0 + i        the ivshmem-doorbell device of channel i (0..7)
 */
#ifndef DDVM_QEMU_ARGS_H
#define DDVM_QEMU_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "accel.h"
#include "argv.h"
#include "config.h"
#include "err.h"

#define DDVM_QEMU_BINARY	"qemu-system-x86_64"
#define DDVM_QEMU_ENV		"DDVM_QEMU"	/* overrides the binary */

/* The QEMU binary every command line starts with: $DDVM_QEMU, else DDVM_QEMU_BINARY. */
const char *ddvm_qemu_binary(void);
#define DDVM_DISK_PCI_SLOT	0x08
#define DDVM_NIC_PCI_SLOT	0x09
#define DDVM_NIC_GUEST_IFNAME	"eth0"
#define DDVM_CHANNEL_PCI_SLOT	0x10
/* doorbell eventfds per peer: QEMU's vectors= and the hub's --vectors */
#define DDVM_CHANNEL_VECTORS	1
/* the guest console line that says the DD/OS serves, and the failure prefix */
#define DDVM_READY_LINE		"DDVM-READY"
#define DDVM_FAIL_PREFIX	"DDVM-FAIL:"

/**
 * ddvm_qemu_argv - the QEMU command line of driver domain @dom.
 * @out:     filled; free with ddvm_argv_free()
 * @cfg:     the config (kernel and initrd paths)
 * @dom:     the domain
 * @accel:   the accelerator chosen for this host
 * @run_dir: the run directory (QMP socket, hub sockets)
 * @err:     names the domain and what does not fit
 *
 * Return: 0, -ENAMETOOLONG (a socket path too long), -EINVAL (a domain
 * without a device), -ENOMEM.
 *
 * A NIC domain's NIC is backed by "-netdev tap,ifname=dd-DOMAIN": QEMU
 * creates the tap (which needs CAP_NET_ADMIN), and it goes away with QEMU.
 */
int ddvm_qemu_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
		   const struct ddvm_domain_cfg *dom, const struct ddvm_accel *accel,
		   const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_qemu_argv_spare - the QEMU command line of domain @dom's warm spare:
 *	the same machine, its sockets named RUN/DOMAIN/spare-*.sock (renamed
 *	to the domain's own when it takes over), and ddvm.spare=1 so its
 *	init boots, then waits for "ddvm-activate" on ttyS1 before it loads
 *	ddvm.ko.  Arguments as ddvm_qemu_argv().
 */
int ddvm_qemu_argv_spare(struct ddvm_argv *out, const struct ddvm_config *cfg,
			 const struct ddvm_domain_cfg *dom, const struct ddvm_accel *accel,
			 const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_hub_argv - the hub's command line: every channel of every domain,
 *	named DOMAIN.CHANNEL, listening in RUN/hub.
 * @out:        filled; free with ddvm_argv_free()
 * @cfg:        the config
 * @exe:        the ddvm binary (the supervisor passes "/proc/self/exe")
 * @ready_fd:   the descriptor the hub writes "ready\n" to
 * @region_fds: per domain and channel, the region's memfd the hub inherits
 *		("NAME=SIZE@fd:N"); NULL: the hub makes its own ("NAME=SIZE")
 * @run_dir:    the run directory
 * @err:        what failed
 *
 * Return: 0 or -ENOMEM/-ENAMETOOLONG.
 */
int ddvm_hub_argv(struct ddvm_argv *out, const struct ddvm_config *cfg, const char *exe,
		  int ready_fd, const int (*region_fds)[DDVM_MAX_CHANNELS],
		  const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_qemu_machine_args - the start every VM's QEMU command line shares:
 *	the binary, q35, the accelerator (and -cpu), memory, -smp (maxcpus
 *	>= 2 under TCG, see qemu_args.c), no default devices, no display, no
 *	reboot, the kernel, initrd and command line, and the console (ttyS0)
 *	on QEMU's stdout.
 * @a:       the vector to append to
 * @name:    the VM's name (-name)
 * @memory:  bytes, whole MiB
 * @cpus:    vCPUs
 * @accel:   the accelerator chosen for this host
 * @kernel:  the kernel image
 * @initrd:  the initramfs
 * @cmdline: the kernel command line, malloc'd; the vector takes it (NULL:
 *	     an allocation that failed)
 *
 * Return: 0 or -ENOMEM.
 */
int ddvm_qemu_machine_args(struct ddvm_argv *a, const char *name, uint64_t memory,
			   unsigned int cpus, const struct ddvm_accel *accel, const char *kernel,
			   const char *initrd, char *cmdline);

/* "-qmp unix:PATH,server=on,wait=off".  Return: 0 or -ENOMEM. */
int ddvm_qemu_add_qmp(struct ddvm_argv *a, const char *path);

/*
 * The next serial port (ttyS1 after the console) as a unix socket QEMU
 * listens on at @path, chardev @id.  Return: 0 or -ENOMEM.
 */
int ddvm_qemu_add_serial_socket(struct ddvm_argv *a, const char *id, const char *path);

/*
 * An ivshmem-doorbell device at PCI slot @slot (function 0, bus 0) joined
 * to the hub socket @hub_socket of a channel, chardev @id.  Return: 0 or
 * -ENOMEM.
 */
int ddvm_qemu_add_ivshmem(struct ddvm_argv *a, const char *id, const char *hub_socket,
			  unsigned int slot);

/**
 * ddvm_nic_qemu_device - QEMU's device for NIC model @m: "e1000",
 *	"e1000e", "virtio-net-pci" or "rtl8139".
 * @m: the model
 */
const char *ddvm_nic_qemu_device(enum ddvm_nic_model m);

/**
 * ddvm_controller_devpath - the guest's block device for controller @c:
 *	/dev/vda, /dev/nvme0n1 or /dev/sda.
 * @c: the controller
 */
const char *ddvm_controller_devpath(enum ddvm_controller c);

/**
 * ddvm_channel_pci_addr - the guest PCI address of channel @index,
 *	"0000:00:10.0" for channel 0.
 * @index: the channel's position in the domain (0..7)
 * @buf:   where to write; 16 bytes suffice
 * @len:   size of @buf
 *
 * Return: @buf.
 */
char *ddvm_channel_pci_addr(unsigned int index, char *buf, size_t len);

#endif /* DDVM_QEMU_ARGS_H */
