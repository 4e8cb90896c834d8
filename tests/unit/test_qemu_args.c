// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the QEMU and hub command lines: controllers, NICs, channel PCI addresses, KVM vs TCG. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "accel.h"
#include "argvtest.h"
#include "config.h"
#include "qemu_args.h"

static struct ddvm_config cfg;
static struct ddvm_accel tcg = { .kind = DDVM_ACCEL_TCG };
static struct ddvm_accel kvm = { .kind = DDVM_ACCEL_KVM };

static void load(const char *json)
{
	struct ddvm_err err;

	if (ddvm_config_parse(&cfg, json, strlen(json), "t.json", &err))
		fail_msg("%s", err.msg);
	if (ddvm_config_absolutize(&cfg, "/w", &err))
		fail_msg("%s", err.msg);
}

static void build(struct ddvm_argv *a, unsigned int dom, const struct ddvm_accel *acc)
{
	struct ddvm_err err;

	memset(a, 0, sizeof(*a));
	if (ddvm_qemu_argv(a, &cfg, &cfg.domains[dom], acc, "/w/run", &err))
		fail_msg("%s", err.msg);
	assert_non_null(a->argv);
	assert_null(a->argv[a->argc]);
}

static void test_default_virtio_blk_exact(void **state)
{
	static const char *const want[] = {
		"qemu-system-x86_64", "-name", "disk0", "-M", "q35",
		"-accel", "tcg,thread=multi",
		"-m", "192M", "-smp", "1,maxcpus=2", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot",
		"-kernel", "/w/var/guest/vmlinux", "-initrd", "/w/build/guest/initramfs.cpio",
		"-append", "console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests ddvm.disk=virtio-blk "
			   "ddvm.exports=0000:00:10.0=blk:/dev/vda",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-qmp", "unix:/w/run/disk0/qmp.sock,server=on,wait=off",
		"-device", "pvpanic-pci",
		"-device", "i6300esb", "-action", "watchdog=pause",
		"-qmp", "unix:/w/run/disk0/qmp-tools.sock,server=on,wait=off",
		"-chardev", "socket,id=inj,path=/w/run/disk0/inject.sock,server=on,wait=off",
		"-serial", "chardev:inj",
		"-drive", "file=/w/var/disk0.img,if=none,id=disk,format=raw,cache=writeback",
		"-device", "virtio-blk-pci,drive=disk,addr=0x8",
		"-chardev", "socket,path=/w/run/hub/disk0.c0.sock,id=ch0",
		"-device", "ivshmem-doorbell,chardev=ch0,vectors=1,addr=0x10",
	};
	struct ddvm_argv a;
	char line[2048];
	size_t i;

	load("{}");
	build(&a, 0, &tcg);
	if ((size_t)a.argc != sizeof(want) / sizeof(want[0]))
		fail_msg("argc %d, want %zu: %s", a.argc, sizeof(want) / sizeof(want[0]),
			 ddvm_argv_format(&a, line, sizeof(line)));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strcmp(a.argv[i], want[i]))
			fail_msg("argv[%zu] = \"%s\", want \"%s\"", i, a.argv[i], want[i]);
	assert_string_equal(argvt_value(&a, "-accel"), ddvm_accel_qemu_arg(&tcg));
	ddvm_argv_free(&a);
	assert_int_equal(a.argc, 0);
}

static void test_nvme(void **state)
{
	struct ddvm_argv a;

	load("{\"domains\":[{\"name\":\"n1\",\"memory\":\"128M\",\"cpus\":2,"
	     "\"disk\":{\"controller\":\"nvme\"}}]}");
	build(&a, 0, &tcg);
	assert_true(argvt_has_pair(&a, "-device", "nvme,drive=disk,serial=ddvm-n1,addr=0x8"));
	assert_false(argvt_has_pair(&a, "-device", "virtio-blk-pci,drive=disk,addr=0x8"));
	assert_string_equal(argvt_value(&a, "-m"), "128M");
	assert_string_equal(argvt_value(&a, "-smp"), "2,maxcpus=2");
	assert_non_null(strstr(argvt_value(&a, "-append"), " ddvm.disk=nvme "));
	assert_non_null(strstr(argvt_value(&a, "-append"), "ddvm.exports=0000:00:10.0=blk:/dev/nvme0n1"));
	assert_string_equal(argvt_value(&a, "-drive"),
			    "file=/w/var/n1.img,if=none,id=disk,format=raw,cache=writeback");
	ddvm_argv_free(&a);
}

/* Channel slices (several clients of one disk): DEV@OFFSET+LENGTH in bytes. */
static void test_slice_exports(void **state)
{
	struct ddvm_argv a;

	load("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":\"256M\"},\"channels\":["
	     "{\"name\":\"c0\",\"length\":\"128M\"},"
	     "{\"name\":\"c1\",\"offset\":\"128M\",\"length\":\"128M\"},{\"name\":\"c2\"}]}]}");
	build(&a, 0, &tcg);
	assert_non_null(strstr(argvt_value(&a, "-append"),
			       " ddvm.exports=0000:00:10.0=blk:/dev/vda@0+134217728,"
			       "0000:00:11.0=blk:/dev/vda@134217728+134217728,"
			       "0000:00:12.0=blk:/dev/vda"));
	ddvm_argv_free(&a);
}

static void test_ahci(void **state)
{
	struct ddvm_argv a;

	load("{\"domains\":[{\"name\":\"s\",\"disk\":{\"controller\":\"ahci\"}}]}");
	build(&a, 0, &tcg);
	/* q35's own AHCI: no controller device, just the disk on its first port */
	assert_true(argvt_has_pair(&a, "-device", "ide-hd,drive=disk,bus=ide.0"));
	assert_false(argvt_has_pair(&a, "-device", "nvme,drive=disk,serial=ddvm-s,addr=0x8"));
	assert_non_null(strstr(argvt_value(&a, "-append"), " ddvm.disk=ahci "));
	assert_non_null(strstr(argvt_value(&a, "-append"), "=blk:/dev/sda"));
	assert_string_equal(argvt_value(&a, "-M"), "q35");
	ddvm_argv_free(&a);
	assert_string_equal(ddvm_controller_devpath(DDVM_CTRL_VIRTIO_BLK), "/dev/vda");
	assert_string_equal(ddvm_controller_devpath(DDVM_CTRL_NVME), "/dev/nvme0n1");
	assert_string_equal(ddvm_controller_devpath(DDVM_CTRL_AHCI), "/dev/sda");
}

static void test_channel_addresses(void **state)
{
	struct ddvm_argv a;
	char want[128], pci[16];
	unsigned int i;

	load("{\"domains\":[{\"name\":\"d\",\"disk\":{},\"channels\":[{\"name\":\"a\"},"
	     "{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"},{\"name\":\"e\"},"
	     "{\"name\":\"f\"},{\"name\":\"g\"},{\"name\":\"h\",\"size\":\"1G\"}]}]}");
	build(&a, 0, &tcg);
	for (i = 0; i < 8; i++) {
		snprintf(want, sizeof(want), "socket,path=/w/run/hub/d.%c.sock,id=ch%u", 'a' + i, i);
		if (!argvt_has_pair(&a, "-chardev", want))
			fail_msg("missing -chardev %s", want);
		snprintf(want, sizeof(want), "ivshmem-doorbell,chardev=ch%u,vectors=1,addr=0x%x",
			 i, 0x10 + i);
		if (!argvt_has_pair(&a, "-device", want))
			fail_msg("missing -device %s", want);
	}
	assert_string_equal(argvt_value(&a, "-append"),
			    "console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests ddvm.disk=virtio-blk ddvm.exports="
			    "0000:00:10.0=blk:/dev/vda,0000:00:11.0=blk:/dev/vda,"
			    "0000:00:12.0=blk:/dev/vda,0000:00:13.0=blk:/dev/vda,"
			    "0000:00:14.0=blk:/dev/vda,0000:00:15.0=blk:/dev/vda,"
			    "0000:00:16.0=blk:/dev/vda,0000:00:17.0=blk:/dev/vda");
	ddvm_argv_free(&a);
	assert_string_equal(ddvm_channel_pci_addr(0, pci, sizeof(pci)), "0000:00:10.0");
	assert_string_equal(ddvm_channel_pci_addr(7, pci, sizeof(pci)), "0000:00:17.0");
}

/* A NIC domain: tap netdev, the NIC at 00:09.0, net exports with the clients' MACs. */
static void test_nic_exact(void **state)
{
	static const char *const want_tail[] = {
		"-device", "pvpanic-pci",
		"-device", "i6300esb", "-action", "watchdog=pause",
		"-qmp", "unix:/w/run/net0/qmp-tools.sock,server=on,wait=off",
		"-chardev", "socket,id=inj,path=/w/run/net0/inject.sock,server=on,wait=off",
		"-serial", "chardev:inj",
		"-netdev", "tap,id=nic,ifname=dd-net0,script=no,downscript=no",
		"-device", "e1000,netdev=nic,mac=02:00:00:00:00:99,addr=0x9",
		"-chardev", "socket,path=/w/run/hub/net0.c0.sock,id=ch0",
		"-device", "ivshmem-doorbell,chardev=ch0,vectors=1,addr=0x10",
		"-chardev", "socket,path=/w/run/hub/net0.c1.sock,id=ch1",
		"-device", "ivshmem-doorbell,chardev=ch1,vectors=1,addr=0x11",
	};
	const size_t nt = sizeof(want_tail) / sizeof(want_tail[0]);
	struct ddvm_argv a;
	char mac0[18], want[256];
	size_t i;

	load("{\"domains\":[{\"name\":\"net0\",\"nic\":{\"model\":\"e1000\","
	     "\"mac\":\"02:00:00:00:00:99\",\"clients\":[{\"name\":\"c0\"},"
	     "{\"name\":\"c1\",\"mac\":\"52:54:00:aa:bb:cc\"}]}}]}");
	build(&a, 0, &tcg);
	assert_true((size_t)a.argc > nt);
	for (i = 0; i < nt; i++)
		if (strcmp(a.argv[a.argc - nt + i], want_tail[i]))
			fail_msg("argv[%zu] = \"%s\", want \"%s\"", a.argc - nt + i,
				 a.argv[a.argc - nt + i], want_tail[i]);
	ddvm_format_mac(cfg.domains[0].channels[0].mac, mac0, sizeof(mac0));
	snprintf(want, sizeof(want), "console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests ddvm.net=e1000 "
		 "ddvm.exports=0000:00:10.0=net:eth0@%s,0000:00:11.0=net:eth0@52:54:00:aa:bb:cc",
		 mac0);
	assert_string_equal(argvt_value(&a, "-append"), want);
	/* no disk: no drive, no disk controller, no ddvm.disk */
	assert_int_equal(argvt_find(&a, "-drive"), -1);
	assert_null(strstr(argvt_value(&a, "-append"), "ddvm.disk"));
	ddvm_argv_free(&a);
}

static void test_nic_models(void **state)
{
	static const struct { const char *model, *device; } m[] = {
		{ "e1000", "e1000" }, { "e1000e", "e1000e" },
		{ "virtio-net", "virtio-net-pci" }, { "rtl8139", "rtl8139" },
	};
	struct ddvm_argv a;
	char json[256], want[128], mac[18];
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		snprintf(json, sizeof(json), "{\"domains\":[{\"name\":\"n\",\"nic\":"
			 "{\"model\":\"%s\"}}]}", m[i].model);
		load(json);
		build(&a, 0, &tcg);
		snprintf(want, sizeof(want), "%s,netdev=nic,mac=%s,addr=0x9", m[i].device,
			 ddvm_format_mac(cfg.domains[0].nic.mac, mac, sizeof(mac)));
		if (!argvt_has_pair(&a, "-device", want))
			fail_msg("missing -device %s", want);
		snprintf(want, sizeof(want), " ddvm.net=%s ", m[i].model);
		assert_non_null(strstr(argvt_value(&a, "-append"), want));
		assert_string_equal(ddvm_nic_qemu_device(cfg.domains[0].nic.model), m[i].device);
		ddvm_argv_free(&a);
	}
}

/* Disk and NIC in one domain: both devices, blk exports first. */
static void test_disk_and_nic(void **state)
{
	struct ddvm_argv a;
	char want[256], mac[18];

	load("{\"domains\":[{\"name\":\"both\",\"disk\":{\"controller\":\"nvme\"},"
	     "\"nic\":{\"model\":\"virtio-net\",\"clients\":[{\"name\":\"n0\"}]}}]}");
	build(&a, 0, &tcg);
	assert_true(argvt_has_pair(&a, "-device", "nvme,drive=disk,serial=ddvm-both,addr=0x8"));
	assert_true(argvt_has_pair(&a, "-netdev", "tap,id=nic,ifname=dd-both,script=no,downscript=no"));
	snprintf(want, sizeof(want), "console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests ddvm.disk=nvme "
		 "ddvm.net=virtio-net ddvm.exports=0000:00:10.0=blk:/dev/nvme0n1,"
		 "0000:00:11.0=net:eth0@%s",
		 ddvm_format_mac(cfg.domains[0].channels[1].mac, mac, sizeof(mac)));
	assert_string_equal(argvt_value(&a, "-append"), want);
	ddvm_argv_free(&a);
}

static void test_kvm_vs_tcg(void **state)
{
	struct ddvm_argv a;

	load("{}");
	build(&a, 0, &kvm);
	assert_string_equal(argvt_value(&a, "-accel"), "kvm");
	assert_string_equal(argvt_value(&a, "-accel"), ddvm_accel_qemu_arg(&kvm));
	assert_string_equal(argvt_value(&a, "-cpu"), "host");
	assert_string_equal(argvt_value(&a, "-smp"), "1");	/* KVM keeps guest barriers */
	ddvm_argv_free(&a);

	build(&a, 0, &tcg);
	assert_string_equal(argvt_value(&a, "-accel"), "tcg,thread=multi");
	/* one possible vCPU would let TCG drop the barriers the rings need */
	assert_string_equal(argvt_value(&a, "-smp"), "1,maxcpus=2");
	/* under TCG the default CPU model booted faster than "max" */
	assert_int_equal(argvt_find(&a, "-cpu"), -1);
	ddvm_argv_free(&a);
}

static void test_comma_in_path_escaped(void **state)
{
	struct ddvm_argv a;
	struct ddvm_err err;

	load("{\"domains\":[{\"name\":\"d\",\"disk\":{\"image\":\"/img/a,b.img\"}}]}");
	build(&a, 0, &tcg);
	assert_string_equal(argvt_value(&a, "-drive"),
			    "file=/img/a,,b.img,if=none,id=disk,format=raw,cache=writeback");
	ddvm_argv_free(&a);

	memset(&a, 0, sizeof(a));
	assert_int_equal(ddvm_qemu_argv(&a, &cfg, &cfg.domains[0], &tcg, "/r,x", &err), 0);
	assert_true(argvt_has_pair(&a, "-qmp", "unix:/r,,x/d/qmp.sock,server=on,wait=off"));
	assert_true(argvt_has_pair(&a, "-chardev", "socket,path=/r,,x/hub/d.c0.sock,id=ch0"));
	ddvm_argv_free(&a);
}

static void test_socket_path_too_long(void **state)
{
	char run[200];
	struct ddvm_argv a = { 0 };
	struct ddvm_err err;

	memset(run, 'r', sizeof(run) - 1);
	run[0] = '/';
	run[sizeof(run) - 1] = '\0';
	load("{}");
	assert_int_equal(ddvm_qemu_argv(&a, &cfg, &cfg.domains[0], &tcg, run, &err),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "shorter run directory"));
	assert_null(a.argv);
	assert_int_equal(ddvm_hub_argv(&a, &cfg, "/proc/self/exe", 5, NULL, run, &err), -ENAMETOOLONG);
}

static void test_hub_argv(void **state)
{
	static const char *const want[] = {
		"/proc/self/exe", "hub", "--ready-fd", "7", "--vectors", "1", "/w/run/hub",
		"a.c0=64M", "a.big=1G", "b.c0=64K",
	};
	struct ddvm_argv a;
	struct ddvm_err err;
	size_t i;

	load("{\"domains\":[{\"name\":\"a\",\"disk\":{},\"channels\":[{\"name\":\"c0\"},"
	     "{\"name\":\"big\",\"size\":\"1G\"}]},{\"name\":\"b\",\"disk\":{},"
	     "\"channels\":[{\"name\":\"c0\",\"size\":\"64K\"}]}]}");
	assert_int_equal(ddvm_hub_argv(&a, &cfg, "/proc/self/exe", 7, NULL, "/w/run", &err), 0);
	assert_int_equal(a.argc, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(a.argv[i], want[i]);
	assert_null(a.argv[a.argc]);
	ddvm_argv_free(&a);
}

/* With the supervisor's memfds: NAME=SIZE@fd:N, per domain and channel. */
static void test_hub_argv_fds(void **state)
{
	static const char *const want[] = {
		"ddvm", "hub", "--ready-fd", "3", "--vectors", "1", "/w/run/hub",
		"a.c0=64M@fd:10", "a.big=1G@fd:11", "n.c0=4M@fd:20", "n.c1=4M@fd:21",
	};
	int fds[DDVM_MAX_DOMAINS][DDVM_MAX_CHANNELS] = { { 10, 11 }, { 20, 21 } };
	struct ddvm_argv a;
	struct ddvm_err err;
	size_t i;

	load("{\"domains\":[{\"name\":\"a\",\"disk\":{},\"channels\":[{\"name\":\"c0\"},"
	     "{\"name\":\"big\",\"size\":\"1G\"}]},{\"name\":\"n\",\"nic\":{"
	     "\"clients\":[{\"name\":\"c0\"},{\"name\":\"c1\"}]}}]}");
	assert_int_equal(ddvm_hub_argv(&a, &cfg, "ddvm", 3, (const int (*)[DDVM_MAX_CHANNELS])fds,
				       "/w/run", &err), 0);
	assert_int_equal(a.argc, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(a.argv[i], want[i]);
	ddvm_argv_free(&a);
}

static void test_argv_format(void **state)
{
	char *v[] = { "qemu", "-append", "a b", "it's", NULL };
	struct ddvm_argv a = { .argc = 4, .argv = v };
	char buf[64], small[12];

	assert_string_equal(ddvm_argv_format(&a, buf, sizeof(buf)),
			    "qemu -append 'a b' 'it'\\''s'");
	ddvm_argv_format(&a, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small + sizeof(small) - 4, "...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_virtio_blk_exact),
		cmocka_unit_test(test_nvme),
		cmocka_unit_test(test_slice_exports),
		cmocka_unit_test(test_ahci),
		cmocka_unit_test(test_channel_addresses),
		cmocka_unit_test(test_nic_exact),
		cmocka_unit_test(test_nic_models),
		cmocka_unit_test(test_disk_and_nic),
		cmocka_unit_test(test_kvm_vs_tcg),
		cmocka_unit_test(test_comma_in_path_escaped),
		cmocka_unit_test(test_socket_path_too_long),
		cmocka_unit_test(test_hub_argv),
		cmocka_unit_test(test_hub_argv_fds),
		cmocka_unit_test(test_argv_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
