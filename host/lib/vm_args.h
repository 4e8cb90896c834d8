/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command lines of a client VM and of its bridges: pure functions of the
 * config (the VM's "run" script aside, which is read to go into ddvm.cmd),
 * so the exact argv is unit-tested and the supervisor only executes it.
 *
 * The guest's view of a client VM (q35, bus 0):
 *   00:04.0 + i   virtio-blk-pci of the i-th "nbd" disk: /dev/vda, vdb, ...
 *   00:0a.0 + i   virtio-net-pci of the i-th "stream" NIC: eth0, eth1, ...
 *                 with the channel's MAC (the DD/OS delivers by MAC)
 *   00:10.0 + i   ivshmem-doorbell of the i-th "front" channel, disks
 *                 first, then NICs: /dev/ddvmblk0.. and ddvmnet0.. in order
 *   ttyS0         the console (QEMU's stdout: RUN/VM/console.log)
 *   ttyS1         the guest init's shell, RUN/VM/shell.sock ("ddvm console")
 *
 * Bridges, one per nbd disk and stream NIC, are "ddvm" subcommands:
 *   ddvm blk nbd HUB-SOCKET --socket RUN/VM/dI.nbd    (disk I)
 *   ddvm net stream HUB-SOCKET --socket RUN/VM/nI.sock (NIC I)
 */
#ifndef DDVM_VM_ARGS_H
#define DDVM_VM_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "accel.h"
#include "argv.h"
#include "config.h"
#include "err.h"

#define DDVM_VM_DISK_PCI_SLOT	0x04
#define DDVM_VM_NIC_PCI_SLOT	0x0a
#define DDVM_VM_SHELL_SOCK	"shell.sock"
/* the guest init's contract: the whole kernel command line under 2048 bytes */
#define DDVM_VM_CMDLINE_MAX	2048
/* QEMU's NBD client waits this long for a bridge that went away to return */
#define DDVM_VM_NBD_RECONNECT_S	10

/**
 * ddvm_vm_argv - the QEMU command line of client VM @vm.
 * @out:     filled; free with ddvm_argv_free()
 * @cfg:     the config (the channels @vm uses)
 * @vm:      the VM
 * @accel:   the accelerator chosen for this host
 * @run_dir: the run directory (its sockets, the bridges' sockets, the hub's)
 * @err:     names the VM and what does not fit
 *
 * Return: 0, -ENAMETOOLONG (a socket path too long), -E2BIG (the kernel
 * command line, with the "run" script, is 2048 bytes or more), -errno from
 * reading the script, -ENOMEM.
 */
int ddvm_vm_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
		 const struct ddvm_vm_cfg *vm, const struct ddvm_accel *accel,
		 const char *run_dir, struct ddvm_err *err);

/**
 * ddvm_vm_bridge_argv - the command line of the bridge of @vm's disk
 *	(@nic false) or NIC (@nic true) number @i, which must be an nbd disk
 *	or a stream NIC.
 * @out:     filled; free with ddvm_argv_free()
 * @cfg:     the config
 * @vm:      the VM
 * @nic:     a NIC rather than a disk
 * @i:       its index in vm->disks or vm->nics
 * @exe:     the ddvm binary
 * @run_dir: the run directory
 * @status_fd: a NIC's: the descriptor (as the bridge will have it) that
 *	     gets "connected"/"disconnected" lines (--status-fd), or -1
 * @err:     what failed
 *
 * Return: 0, -EINVAL (a front device has no bridge), -ENAMETOOLONG, -ENOMEM.
 */
int ddvm_vm_bridge_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
			const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, const char *exe,
			const char *run_dir, int status_fd, struct ddvm_err *err);

/**
 * ddvm_vm_bridge_socket - the socket of @vm's disk or NIC @i: RUN/VM/dI.nbd,
 *	where the NBD bridge listens, or RUN/VM/nI.sock, where QEMU listens
 *	and the stream bridge connects.
 * @buf:     where to write; DDVM_SOCK_PATH_MAX bytes suffice
 * @len:     size of @buf
 * @run_dir: the run directory
 * @vm:      the VM
 * @nic:     a NIC rather than a disk
 * @i:       its index
 * @err:     says when the path is too long for a unix socket
 *
 * Return: 0 or -ENAMETOOLONG.
 */
int ddvm_vm_bridge_socket(char *buf, size_t len, const char *run_dir,
			  const struct ddvm_vm_cfg *vm, bool nic, unsigned int i,
			  struct ddvm_err *err);

/**
 * ddvm_vm_guest_name - what the guest calls @vm's disk or NIC @i:
 *	"/dev/vdb", "/dev/ddvmblk0", "eth1" or "ddvmnet0".
 * @vm:  the VM
 * @nic: a NIC rather than a disk
 * @i:   its index
 * @buf: where to write; 16 bytes suffice
 * @len: size of @buf
 *
 * Return: @buf.
 */
char *ddvm_vm_guest_name(const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, char *buf,
			 size_t len);

#endif /* DDVM_VM_ARGS_H */
