// SPDX-License-Identifier: GPL-2.0
/* Builds a client VM's QEMU command line and its bridges' (pure but for the "run" script). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_fio.h"
#include "qemu_args.h"
#include "rundir.h"
#include "vm_args.h"

/* Of the devices before @i in @devs, how many go @via: the guest numbers them in order. */
static unsigned int rank(const struct ddvm_vm_dev_cfg *devs, unsigned int i, enum ddvm_vm_via via)
{
	unsigned int j, n = 0;

	for (j = 0; j < i; j++)
		n += devs[j].via == via;
	return n;
}

char *ddvm_vm_guest_name(const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, char *buf,
			 size_t len)
{
	const struct ddvm_vm_dev_cfg *devs = nic ? vm->nics : vm->disks;
	unsigned int k = rank(devs, i, devs[i].via);

	if (devs[i].via == DDVM_VIA_FRONT)
		snprintf(buf, len, nic ? "ddvmnet%u" : "/dev/ddvmblk%u", k);
	else if (nic)
		snprintf(buf, len, "eth%u", k);
	else
		snprintf(buf, len, "/dev/vd%c", 'a' + k);
	return buf;
}

int ddvm_vm_bridge_socket(char *buf, size_t len, const char *run_dir,
			  const struct ddvm_vm_cfg *vm, bool nic, unsigned int i,
			  struct ddvm_err *err)
{
	char name[16];

	snprintf(name, sizeof(name), nic ? "n%u.sock" : "d%u.nbd", i);
	return ddvm_domain_socket_path(buf, len, run_dir, vm->name, name, err);
}

/* The hub socket of the channel @dev names. */
static int hub_socket(char *buf, size_t len, const struct ddvm_config *cfg, const char *run_dir,
		      const struct ddvm_vm_dev_cfg *dev, struct ddvm_err *err)
{
	const struct ddvm_domain_cfg *d = &cfg->domains[dev->dom];

	return ddvm_hub_socket_path(buf, len, run_dir, d->name, d->channels[dev->chan].name, err);
}

int ddvm_vm_bridge_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
			const struct ddvm_vm_cfg *vm, bool nic, unsigned int i, const char *exe,
			const char *run_dir, int status_fd, struct ddvm_err *err)
{
	const struct ddvm_vm_dev_cfg *dev = nic ? &vm->nics[i] : &vm->disks[i];
	char hub[DDVM_SOCK_PATH_MAX], sock[DDVM_SOCK_PATH_MAX];
	struct ddvm_argv a = { 0 };
	int ret;

	memset(out, 0, sizeof(*out));
	if (dev->via == DDVM_VIA_FRONT)
		return ddvm_errf(err, -EINVAL, "VM %s: %s %u reaches %s.%s through the front-end "
				 "module: no bridge", vm->name, nic ? "NIC" : "disk", i,
				 dev->domain, dev->channel);
	ret = hub_socket(hub, sizeof(hub), cfg, run_dir, dev, err);
	if (!ret)
		ret = ddvm_vm_bridge_socket(sock, sizeof(sock), run_dir, vm, nic, i, err);
	if (ret)
		return ret;
	if (ddvm_argv_add(&a, exe, nic ? "net" : "blk", nic ? "stream" : "nbd", hub,
			  "--socket", sock, NULL) ||
	    (nic && status_fd >= 0 && (ddvm_argv_add(&a, "--status-fd", NULL) ||
				       ddvm_argv_addf(&a, "%d", status_fd)))) {
		ddvm_argv_free(&a);
		return ddvm_errf(err, -ENOMEM, "VM %s: out of memory", vm->name);
	}
	*out = a;
	return 0;
}

/* Append ",ITEM" (or "ITEM" first) to a list under construction. */
static void list_add(char *buf, size_t len, const char *item)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? "," : "", item);
}

/*
 * ddvm.cmd=<base64> of @vm's "run" script, or "" without one.  The script
 * is read now, at every start, so an edit shows at the next "ddvm up".
 */
static int run_arg(char *out, size_t cap, const struct ddvm_vm_cfg *vm, struct ddvm_err *err)
{
	char script[DDVM_VM_CMDLINE_MAX];
	ssize_t n;
	int fd, ret;

	out[0] = '\0';
	if (!vm->run[0])
		return 0;
	fd = open(vm->run, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ddvm_errf(err, -errno, "VM %s: run script %s: %s", vm->name, vm->run,
				 strerror(errno));
	n = read(fd, script, sizeof(script));
	ret = -errno;
	close(fd);
	if (n < 0)
		return ddvm_errf(err, ret, "VM %s: run script %s: %s", vm->name, vm->run,
				 strerror(-ret));
	/* base64 grows it by a third: this much can never fit */
	if ((size_t)n >= sizeof(script) * 3 / 4)
		return ddvm_errf(err, -E2BIG, "VM %s: run script %s is too long for the kernel "
				 "command line (%d bytes in all, base64)", vm->name, vm->run,
				 DDVM_VM_CMDLINE_MAX);
	memcpy(out, " ddvm.cmd=", 10);
	if (ddvm_base64(out + 10, cap - 10, script, (size_t)n) < 0)
		return ddvm_errf(err, -E2BIG, "VM %s: run script %s is too long", vm->name, vm->run);
	return 0;
}

/* The guest init's contract for a client (guest/init/init, ddvm.mode=client). */
static int kernel_cmdline(char **out, const struct ddvm_vm_cfg *vm, struct ddvm_err *err)
{
	char front[DDVM_MAX_CHANNELS * 24] = "", waits[256] = "", ips[512] = "";
	char cmd[DDVM_VM_CMDLINE_MAX + 16], pci[16], item[96], name[16];
	unsigned int i, nbd = 0, stream = 0, nfront = 0;
	int ret, n;

	for (i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		bool nic = i >= vm->nr_disks;
		unsigned int k = nic ? i - vm->nr_disks : i;
		const struct ddvm_vm_dev_cfg *dev = nic ? &vm->nics[k] : &vm->disks[k];

		ddvm_vm_guest_name(vm, nic, k, name, sizeof(name));
		if (dev->via == DDVM_VIA_FRONT) {
			ddvm_channel_pci_addr(nfront++, pci, sizeof(pci));
			snprintf(item, sizeof(item), "%s=%s", pci, nic ? "net" : "blk");
			list_add(front, sizeof(front), item);
		} else {
			nbd += !nic;
			stream += nic;
		}
		/* init loads the front-end first, then waits for every device */
		snprintf(item, sizeof(item), "%s%s", nic ? "net:" : "", name);
		list_add(waits, sizeof(waits), item);
		if (nic && dev->address[0]) {
			snprintf(item, sizeof(item), "%s=%s", name, dev->address);
			list_add(ips, sizeof(ips), item);
		}
	}
	ret = run_arg(cmd, sizeof(cmd), vm, err);
	if (ret)
		return ret;
	/* cryptomgr.notests: as the DD/OS's (qemu_args.c), a faster boot under TCG */
	n = asprintf(out, "console=ttyS0 loglevel=5 panic=-1 cryptomgr.notests ddvm.mode=client"
		     "%s%s%s%s%s%s%s%s%s%s%s",
		     nbd ? " ddvm.disk=virtio-blk" : "", stream ? " ddvm.net=virtio-net" : "",
		     front[0] ? " ddvm.front=" : "", front, waits[0] ? " ddvm.wait=" : "", waits,
		     ips[0] ? " ddvm.ip=" : "", ips, cmd, vm->append[0] ? " " : "", vm->append);
	if (n < 0) {
		*out = NULL;
		return ddvm_errf(err, -ENOMEM, "VM %s: out of memory", vm->name);
	}
	if (n >= DDVM_VM_CMDLINE_MAX) {
		free(*out);
		*out = NULL;
		return ddvm_errf(err, -E2BIG, "VM %s: the kernel command line would be %d bytes, "
				 "the guest takes fewer than %d (shorten \"run\"%s)", vm->name, n,
				 DDVM_VM_CMDLINE_MAX, vm->append[0] ? " or \"append\"" : "");
	}
	return 0;
}

static int add_nbd_disk(struct ddvm_argv *a, const char *sock, unsigned int i, unsigned int slot)
{
	char *esc = ddvm_opt_escape(sock);
	int ret;

	ret = !esc || ddvm_argv_add(a, "-blockdev", NULL) ||
	      ddvm_argv_addf(a, "driver=nbd,node-name=d%u,server.type=unix,server.path=%s,"
			     "reconnect-delay=%d", i, esc, DDVM_VM_NBD_RECONNECT_S) ||
	      ddvm_argv_add(a, "-device", NULL) ||
	      ddvm_argv_addf(a, "virtio-blk-pci,drive=d%u,addr=0x%x", i, slot);
	free(esc);
	return ret ? -ENOMEM : 0;
}

/*
 * The DD/OS hands a client the frames addressed to its channel's MAC: the
 * VM's NIC has it.  QEMU listens and the bridge connects: QEMU 7.2 accepts
 * a restarted bridge's new connection, but never reconnects by itself.
 */
static int add_stream_nic(struct ddvm_argv *a, const char *sock, unsigned int i,
			  unsigned int slot, const uint8_t mac[6])
{
	char *esc = ddvm_opt_escape(sock);
	char text[18];
	int ret;

	ret = !esc || ddvm_argv_add(a, "-netdev", NULL) ||
	      ddvm_argv_addf(a, "stream,id=n%u,server=on,addr.type=unix,addr.path=%s", i, esc) ||
	      ddvm_argv_add(a, "-device", NULL) ||
	      ddvm_argv_addf(a, "virtio-net-pci,netdev=n%u,mac=%s,addr=0x%x", i,
			     ddvm_format_mac(mac, text, sizeof(text)), slot);
	free(esc);
	return ret ? -ENOMEM : 0;
}

int ddvm_vm_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
		 const struct ddvm_vm_cfg *vm, const struct ddvm_accel *accel,
		 const char *run_dir, struct ddvm_err *err)
{
	char path[DDVM_SOCK_PATH_MAX], id[16];
	struct ddvm_argv a = { 0 };
	unsigned int i, nfront = 0;
	char *cmdline;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = kernel_cmdline(&cmdline, vm, err);
	if (ret)
		return ret;
	if (ddvm_qemu_machine_args(&a, vm->name, vm->memory, vm->cpus, accel, vm->kernel,
				   vm->initrd, cmdline))
		goto out_nomem;
	ret = ddvm_qmp_socket_path(path, sizeof(path), run_dir, vm->name, err);
	if (ret)
		goto out_free;
	if (ddvm_qemu_add_qmp(&a, path))
		goto out_nomem;
	ret = ddvm_domain_socket_path(path, sizeof(path), run_dir, vm->name, DDVM_VM_SHELL_SOCK,
				      err);
	if (ret)
		goto out_free;
	if (ddvm_qemu_add_serial_socket(&a, "sh", path))
		goto out_nomem;

	for (i = 0; i < vm->nr_disks; i++) {
		const struct ddvm_vm_dev_cfg *dev = &vm->disks[i];

		if (dev->via == DDVM_VIA_FRONT)
			continue;
		ret = ddvm_vm_bridge_socket(path, sizeof(path), run_dir, vm, false, i, err);
		if (ret)
			goto out_free;
		if (add_nbd_disk(&a, path, i, DDVM_VM_DISK_PCI_SLOT + rank(vm->disks, i,
									  DDVM_VIA_NBD)))
			goto out_nomem;
	}
	for (i = 0; i < vm->nr_nics; i++) {
		const struct ddvm_vm_dev_cfg *dev = &vm->nics[i];
		const struct ddvm_domain_cfg *d = &cfg->domains[dev->dom];

		if (dev->via == DDVM_VIA_FRONT)
			continue;
		ret = ddvm_vm_bridge_socket(path, sizeof(path), run_dir, vm, true, i, err);
		if (ret)
			goto out_free;
		if (add_stream_nic(&a, path, i, DDVM_VM_NIC_PCI_SLOT + rank(vm->nics, i,
									   DDVM_VIA_STREAM),
				   d->channels[dev->chan].mac))
			goto out_nomem;
	}
	/* front channels: the VM's QEMU is the channel's client peer itself */
	for (i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		const struct ddvm_vm_dev_cfg *dev = i < vm->nr_disks ? &vm->disks[i] :
						     &vm->nics[i - vm->nr_disks];

		if (dev->via != DDVM_VIA_FRONT)
			continue;
		ret = hub_socket(path, sizeof(path), cfg, run_dir, dev, err);
		if (ret)
			goto out_free;
		snprintf(id, sizeof(id), "fch%u", nfront);
		if (ddvm_qemu_add_ivshmem(&a, id, path, DDVM_CHANNEL_PCI_SLOT + nfront))
			goto out_nomem;
		nfront++;
	}
	*out = a;
	return 0;

out_nomem:
	ret = ddvm_errf(err, -ENOMEM, "VM %s: out of memory building the QEMU command line",
			vm->name);
out_free:
	ddvm_argv_free(&a);
	return ret;
}
