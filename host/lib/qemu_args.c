// SPDX-License-Identifier: GPL-2.0
/* Builds the QEMU and hub command lines from the config (pure, unit-tested). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_args.h"
#include "rundir.h"
#include "units.h"

/*
 * -cpu under TCG: QEMU's default model (qemu64) boots the DD/OS faster than
 * "max", measured with interleaved boots on a 2-core host under load: the
 * real image to DDVM-READY in 5.4 s vs 6.4 s (mean of 6 each), the kernel
 * to /init with a minimal initrd in 3.6 s vs 4.2 s (mean of 10 each).  So
 * no -cpu under TCG.  Under KVM the host model costs nothing.
 */
#define TCG_CPU		NULL
#define KVM_CPU		"host"

static const char *const devpaths[] = {
	[DDVM_CTRL_VIRTIO_BLK] = "/dev/vda",
	[DDVM_CTRL_NVME] = "/dev/nvme0n1",
	[DDVM_CTRL_AHCI] = "/dev/sda",
};

static const char *const nic_devices[] = {
	[DDVM_NIC_E1000] = "e1000",
	[DDVM_NIC_E1000E] = "e1000e",
	[DDVM_NIC_VIRTIO_NET] = "virtio-net-pci",
	[DDVM_NIC_RTL8139] = "rtl8139",
};

const char *ddvm_nic_qemu_device(enum ddvm_nic_model m)
{
	if ((unsigned int)m >= sizeof(nic_devices) / sizeof(nic_devices[0]))
		return "?";
	return nic_devices[m];
}

const char *ddvm_controller_devpath(enum ddvm_controller c)
{
	if ((unsigned int)c >= sizeof(devpaths) / sizeof(devpaths[0]))
		return "?";
	return devpaths[c];
}

char *ddvm_channel_pci_addr(unsigned int index, char *buf, size_t len)
{
	snprintf(buf, len, "0000:00:%02x.0", DDVM_CHANNEL_PCI_SLOT + index);
	return buf;
}

static int add_disk(struct ddvm_argv *a, const struct ddvm_domain_cfg *dom)
{
	char *img = ddvm_opt_escape(dom->disk.image);
	int ret;

	if (!img)
		return -ENOMEM;
	/* with a warm spare two QEMUs hold the image: the supervisor serialises them */
	ret = ddvm_argv_add(a, "-drive", NULL) ||
	      ddvm_argv_addf(a, "file=%s,if=none,id=disk,format=raw,cache=writeback%s", img,
			dom->warm_spare ? ",file.locking=off" : "");
	free(img);
	if (ret)
		return -ENOMEM;
	switch (dom->disk.controller) {
	case DDVM_CTRL_VIRTIO_BLK:
		return ddvm_argv_add(a, "-device", NULL) ||
		       ddvm_argv_addf(a, "virtio-blk-pci,drive=disk,addr=0x%x", DDVM_DISK_PCI_SLOT) ?
		       -ENOMEM : 0;
	case DDVM_CTRL_NVME:
		return ddvm_argv_add(a, "-device", NULL) ||
		       ddvm_argv_addf(a, "nvme,drive=disk,serial=ddvm-%s,addr=0x%x", dom->name,
				 DDVM_DISK_PCI_SLOT) ? -ENOMEM : 0;
	case DDVM_CTRL_AHCI:
		/* q35's built-in ICH9 AHCI at 00:1f.2; its first port is ide.0 */
		return ddvm_argv_add(a, "-device", "ide-hd,drive=disk,bus=ide.0", NULL) ? -ENOMEM : 0;
	}
	return -EINVAL;
}

/*
 * The tap QEMU creates for the NIC, and the NIC itself.  The NIC's own MAC
 * is never a client's: the DD/OS hands frames to clients by destination
 * MAC, and the NIC's address is the DD/OS's, not theirs.
 */
static int add_nic(struct ddvm_argv *a, const struct ddvm_domain_cfg *dom)
{
	char tap[16], mac[18];

	return ddvm_argv_add(a, "-netdev", NULL) ||
	       ddvm_argv_addf(a, "tap,id=nic,ifname=%s,script=no,downscript=no",
			 ddvm_tap_name(dom->name, tap, sizeof(tap))) ||
	       ddvm_argv_add(a, "-device", NULL) ||
	       ddvm_argv_addf(a, "%s,netdev=nic,mac=%s,addr=0x%x", ddvm_nic_qemu_device(dom->nic.model),
			 ddvm_format_mac(dom->nic.mac, mac, sizeof(mac)), DDVM_NIC_PCI_SLOT) ?
	       -ENOMEM : 0;
}

/* The kernel command line: the guest init's contract (guest/init/init). */
static char *kernel_cmdline(const struct ddvm_domain_cfg *dom, bool spare)
{
	const char *dev = ddvm_controller_devpath(dom->disk.controller);
	/* the longest: "0000:00:17.0=blk:/dev/nvme0n1@OFFSET+LENGTH," with 20-digit numbers */
	char exports[DDVM_MAX_CHANNELS * 80] = "";
	char devs[64] = "";
	char pci[16], mac[18];
	size_t off = 0;
	unsigned int i;
	char *s;

	for (i = 0; i < dom->nr_channels; i++) {
		const struct ddvm_channel_cfg *ch = &dom->channels[i];

		ddvm_channel_pci_addr(i, pci, sizeof(pci));
		if (ch->kind == DDVM_CHANNEL_NET)
			off += (size_t)snprintf(exports + off, sizeof(exports) - off,
						"%s%s=net:" DDVM_NIC_GUEST_IFNAME "@%s",
						i ? "," : "", pci,
						ddvm_format_mac(ch->mac, mac, sizeof(mac)));
		else if (ch->length)
			off += (size_t)snprintf(exports + off, sizeof(exports) - off,
						"%s%s=blk:%s@%llu+%llu", i ? "," : "", pci, dev,
						(unsigned long long)ch->offset,
						(unsigned long long)ch->length);
		else
			off += (size_t)snprintf(exports + off, sizeof(exports) - off,
						"%s%s=blk:%s", i ? "," : "", pci, dev);
	}
	if (dom->has_disk)
		snprintf(devs, sizeof(devs), " ddvm.disk=%s",
			 ddvm_controller_name(dom->disk.controller));
	if (dom->has_nic)
		snprintf(devs + strlen(devs), sizeof(devs) - strlen(devs), " ddvm.net=%s",
			 ddvm_nic_model_name(dom->nic.model));
	/*
	 * oops=panic: an oops leaves a DD/OS half dead (a work item killed,
	 * a lock held); the honest policy is a restart, and pvpanic tells the
	 * supervisor at once.  cryptomgr.notests: the kernel's crypto
	 * self-tests are on every (re)boot's path and the DD/OS uses no
	 * kernel crypto; under TCG they cost 0.3-0.6 s (kernel to /init,
	 * 4 interleaved boots each: 1.9-2.8 s with, 1.6-1.7 s without).
	 */
	if (spare)
		snprintf(devs + strlen(devs), sizeof(devs) - strlen(devs), " ddvm.spare=1");
	if (asprintf(&s, "console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests%s "
		     "ddvm.exports=%s", devs, exports) < 0)
		return NULL;
	return s;
}

int ddvm_qemu_machine_args(struct ddvm_argv *a, const char *name, uint64_t memory,
			   unsigned int cpus, const struct ddvm_accel *accel, const char *kernel,
			   const char *initrd, char *cmdline)
{
	const char *cpu = accel->kind == DDVM_ACCEL_KVM ? KVM_CPU : TCG_CPU;
	int ret;

	ret = ddvm_argv_add(a, ddvm_qemu_binary(), "-name", name, "-M", "q35",
			    "-accel", ddvm_accel_qemu_arg(accel), NULL);
	if (!ret && cpu)
		ret = ddvm_argv_add(a, "-cpu", cpu, NULL);
	if (!ret)
		ret = ddvm_argv_add(a, "-m", NULL) ||
		      ddvm_argv_addf(a, "%lluM", (unsigned long long)(memory / DDVM_MIB)) ||
		      ddvm_argv_add(a, "-smp", NULL) ||
		      /*
		       * Under TCG a guest with one possible CPU runs without
		       * parallel mode, and TCG then drops its memory barriers.
		       * The rings are shared with a host process on another
		       * core, so a lost barrier lost doorbells (1 s stalls and
		       * hangs seen here).  maxcpus=2 keeps them.
		       */
		      (accel->kind == DDVM_ACCEL_KVM ?
		       ddvm_argv_addf(a, "%u", cpus) :
		       ddvm_argv_addf(a, "%u,maxcpus=%u", cpus, cpus < 2 ? 2 : cpus)) ||
		      ddvm_argv_add(a, "-nodefaults", "-no-user-config", "-display", "none",
				    "-no-reboot", "-kernel", kernel, "-initrd", initrd,
				    "-append", NULL);
	if (ret) {
		free(cmdline);
		return -ENOMEM;
	}
	return ddvm_argv_push(a, cmdline) ||
	       ddvm_argv_add(a, "-chardev", "stdio,id=con,signal=off",
			     "-serial", "chardev:con", NULL) ? -ENOMEM : 0;
}

int ddvm_qemu_add_qmp(struct ddvm_argv *a, const char *path)
{
	char *esc = ddvm_opt_escape(path);
	int ret;

	ret = !esc || ddvm_argv_add(a, "-qmp", NULL) ||
	      ddvm_argv_addf(a, "unix:%s,server=on,wait=off", esc);
	free(esc);
	return ret ? -ENOMEM : 0;
}

int ddvm_qemu_add_serial_socket(struct ddvm_argv *a, const char *id, const char *path)
{
	char *esc = ddvm_opt_escape(path);
	int ret;

	ret = !esc || ddvm_argv_add(a, "-chardev", NULL) ||
	      ddvm_argv_addf(a, "socket,id=%s,path=%s,server=on,wait=off", id, esc) ||
	      ddvm_argv_add(a, "-serial", NULL) || ddvm_argv_addf(a, "chardev:%s", id);
	free(esc);
	return ret ? -ENOMEM : 0;
}

int ddvm_qemu_add_ivshmem(struct ddvm_argv *a, const char *id, const char *hub_socket,
			  unsigned int slot)
{
	char *esc = ddvm_opt_escape(hub_socket);
	int ret;

	ret = !esc || ddvm_argv_add(a, "-chardev", NULL) ||
	      ddvm_argv_addf(a, "socket,path=%s,id=%s", esc, id) ||
	      ddvm_argv_add(a, "-device", NULL) ||
	      ddvm_argv_addf(a, "ivshmem-doorbell,chardev=%s,vectors=%d,addr=0x%x", id,
			     DDVM_CHANNEL_VECTORS, slot);
	free(esc);
	return ret ? -ENOMEM : 0;
}

static int qemu_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
		     const struct ddvm_domain_cfg *dom, const struct ddvm_accel *accel,
		     const char *run_dir, bool spare, struct ddvm_err *err)
{
	const char *pfx = spare ? DDVM_SPARE_PREFIX : "";
	char name[64], id[16];
	struct ddvm_argv a = { 0 };
	char path[DDVM_SOCK_PATH_MAX];
	unsigned int i;
	int ret;

	if (!dom->has_disk && !dom->has_nic)
		return ddvm_errf(err, -EINVAL, "domain %s: no device to drive", dom->name);
	if (ddvm_qemu_machine_args(&a, dom->name, dom->memory, dom->cpus, accel, cfg->kernel,
				   cfg->initrd, kernel_cmdline(dom, spare)))
		goto out_nomem;

	snprintf(name, sizeof(name), "%s" DDVM_QMP_SOCK, pfx);
	ret = ddvm_domain_socket_path(path, sizeof(path), run_dir, dom->name, name, err);
	if (ret)
		goto out_free;
	if (ddvm_qemu_add_qmp(&a, path) || ddvm_argv_add(&a, "-device", "pvpanic-pci", NULL))
		goto out_nomem;
	/*
	 * A watchdog the guest's init pets: a wedged guest kernel is caught
	 * even with no channel to show a heartbeat.  "pause" freezes it and
	 * sends QMP WATCHDOG; the supervisor restarts it with that cause.
	 */
	if (ddvm_argv_add(&a, "-device", "i6300esb", "-action", "watchdog=pause", NULL))
		goto out_nomem;
	/* tools get their own QMP socket: the supervisor holds qmp.sock */
	snprintf(name, sizeof(name), "%s" DDVM_QMP_TOOLS_SOCK, pfx);
	ret = ddvm_domain_socket_path(path, sizeof(path), run_dir, dom->name, name, err);
	if (ret)
		goto out_free;
	if (ddvm_qemu_add_qmp(&a, path))
		goto out_nomem;
	/* ttyS1: fault injection lines for the guest's init ("ddvm inject") */
	snprintf(name, sizeof(name), "%s" DDVM_INJECT_SOCK, pfx);
	ret = ddvm_domain_socket_path(path, sizeof(path), run_dir, dom->name, name, err);
	if (ret)
		goto out_free;
	if (ddvm_qemu_add_serial_socket(&a, "inj", path))
		goto out_nomem;

	if (dom->has_disk) {
		ret = add_disk(&a, dom);
		if (ret)
			goto out_nomem;
	}
	if (dom->has_nic) {
		ret = add_nic(&a, dom);
		if (ret)
			goto out_nomem;
	}

	for (i = 0; i < dom->nr_channels; i++) {
		ret = ddvm_hub_socket_path(path, sizeof(path), run_dir, dom->name,
					   dom->channels[i].name, err);
		if (ret)
			goto out_free;
		snprintf(id, sizeof(id), "ch%u", i);
		if (ddvm_qemu_add_ivshmem(&a, id, path, DDVM_CHANNEL_PCI_SLOT + i))
			goto out_nomem;
	}
	*out = a;
	return 0;

out_nomem:
	ret = ddvm_errf(err, -ENOMEM, "domain %s: out of memory building the QEMU command line",
			dom->name);
out_free:
	ddvm_argv_free(&a);
	return ret;
}

int ddvm_qemu_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
		   const struct ddvm_domain_cfg *dom, const struct ddvm_accel *accel,
		   const char *run_dir, struct ddvm_err *err)
{
	return qemu_argv(out, cfg, dom, accel, run_dir, false, err);
}

int ddvm_qemu_argv_spare(struct ddvm_argv *out, const struct ddvm_config *cfg,
			 const struct ddvm_domain_cfg *dom, const struct ddvm_accel *accel,
			 const char *run_dir, struct ddvm_err *err)
{
	return qemu_argv(out, cfg, dom, accel, run_dir, true, err);
}

int ddvm_hub_argv(struct ddvm_argv *out, const struct ddvm_config *cfg, const char *exe,
		  int ready_fd, const int (*region_fds)[DDVM_MAX_CHANNELS],
		  const char *run_dir, struct ddvm_err *err)
{
	struct ddvm_argv a = { 0 };
	char path[DDVM_SOCK_PATH_MAX], size[24];
	unsigned int i, j;
	int ret;

	ret = ddvm_argv_add(&a, exe, "hub", "--ready-fd", NULL) || ddvm_argv_addf(&a, "%d", ready_fd) ||
	      ddvm_argv_add(&a, "--vectors", NULL) || ddvm_argv_addf(&a, "%d", DDVM_CHANNEL_VECTORS);
	for (i = 0; !ret && i < cfg->nr_domains; i++)
		if (cfg->domains[i].warm_spare) {
			/* server, client, and the spare waiting to be the next server */
			ret = ddvm_argv_add(&a, "--max-peers", "3", NULL);
			break;
		}
	ret = ret || ddvm_argv_addf(&a, "%s/" DDVM_HUB_DIR, run_dir);
	if (ret)
		goto out_nomem;
	for (i = 0; i < cfg->nr_domains; i++) {
		const struct ddvm_domain_cfg *d = &cfg->domains[i];

		for (j = 0; j < d->nr_channels; j++) {
			/* the socket must fit: fail here with a clear message */
			ret = ddvm_hub_socket_path(path, sizeof(path), run_dir, d->name,
						   d->channels[j].name, err);
			if (ret)
				goto out_free;
			ddvm_format_size(d->channels[j].size, size, sizeof(size));
			if (region_fds ?
			    ddvm_argv_addf(&a, "%s.%s=%s@fd:%d", d->name, d->channels[j].name, size,
				      region_fds[i][j]) :
			    ddvm_argv_addf(&a, "%s.%s=%s", d->name, d->channels[j].name, size))
				goto out_nomem;
		}
	}
	*out = a;
	return 0;

out_nomem:
	ret = ddvm_errf(err, -ENOMEM, "out of memory building the hub command line");
out_free:
	ddvm_argv_free(&a);
	return ret;
}

const char *ddvm_qemu_binary(void)
{
	const char *qemu = getenv(DDVM_QEMU_ENV);

	return qemu && *qemu ? qemu : DDVM_QEMU_BINARY;
}
