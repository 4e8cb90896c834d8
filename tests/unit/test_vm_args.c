// SPDX-License-Identifier: GPL-2.0
/* Unit tests of client-VM command lines: NBD disks, stream NICs, front-end channels, bridges, ddvm.cmd. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "accel.h"
#include "argvtest.h"
#include "config.h"
#include "vm_args.h"

static struct ddvm_config cfg;
static struct ddvm_accel tcg = { .kind = DDVM_ACCEL_TCG };

/* A disk DD/OS with three channels, a NIC DD/OS with three clients. */
#define DOMAINS \
	"\"domains\":[{\"name\":\"disk0\",\"disk\":{},\"channels\":[{\"name\":\"c0\"}," \
	"{\"name\":\"c1\"},{\"name\":\"c2\"}]},{\"name\":\"net0\",\"nic\":{\"clients\":[" \
	"{\"name\":\"c0\",\"mac\":\"52:54:00:00:00:10\"},{\"name\":\"c1\"," \
	"\"mac\":\"52:54:00:00:00:11\"},{\"name\":\"c2\"}]}}]"

static void load(const char *vms)
{
	struct ddvm_err err;
	char json[4096];

	snprintf(json, sizeof(json), "{" DOMAINS ",\"vms\":[%s]}", vms);
	if (ddvm_config_parse(&cfg, json, strlen(json), "t.json", &err))
		fail_msg("%s", err.msg);
	if (ddvm_config_absolutize(&cfg, "/w", &err))
		fail_msg("%s", err.msg);
}

static void build(struct ddvm_argv *a, unsigned int vm)
{
	struct ddvm_err err;

	if (ddvm_vm_argv(a, &cfg, &cfg.vms[vm], &tcg, "/w/run", &err))
		fail_msg("%s", err.msg);
	assert_non_null(a->argv);
	assert_null(a->argv[a->argc]);
}

/* The stock-kernel path: an NBD disk and a stream NIC, exactly. */
static void test_nbd_stream_exact(void **state)
{
	static const char *const want[] = {
		"qemu-system-x86_64", "-name", "vm0", "-M", "q35", "-accel", "tcg,thread=multi",
		"-m", "384M", "-smp", "1,maxcpus=2", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot",
		"-kernel", "/w/var/guest/vmlinux", "-initrd", "/w/build/guest/initramfs-bench.cpio",
		"-append", "console=ttyS0 loglevel=5 panic=-1 cryptomgr.notests ddvm.mode=client "
			   "ddvm.disk=virtio-blk ddvm.net=virtio-net ddvm.wait=/dev/vda,net:eth0 "
			   "ddvm.ip=eth0=10.77.0.11/24",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-qmp", "unix:/w/run/vm0/qmp.sock,server=on,wait=off",
		"-chardev", "socket,id=sh,path=/w/run/vm0/shell.sock,server=on,wait=off",
		"-serial", "chardev:sh",
		"-blockdev", "driver=nbd,node-name=d0,server.type=unix,server.path=/w/run/vm0/d0.nbd,"
			     "reconnect-delay=10",
		"-device", "virtio-blk-pci,drive=d0,addr=0x4",
		"-netdev", "stream,id=n0,server=on,addr.type=unix,addr.path=/w/run/vm0/n0.sock",
		"-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:11,addr=0xa",
	};
	struct ddvm_argv a;

	load("{\"name\":\"vm0\",\"disks\":[{\"channel\":\"disk0.c1\",\"via\":\"nbd\"}],"
	     "\"nics\":[{\"channel\":\"net0.c1\",\"via\":\"stream\",\"address\":\"10.77.0.11/24\"}]}");
	build(&a, 0);
	argvt_expect(&a, want, sizeof(want) / sizeof(want[0]));
	ddvm_argv_free(&a);
}

/* The paper's path: every channel an ivshmem device at 0x10 + i, disks first. */
static void test_front_exact(void **state)
{
	static const char *const want[] = {
		"qemu-system-x86_64", "-name", "fv", "-M", "q35", "-accel", "tcg,thread=multi",
		"-m", "256M", "-smp", "2,maxcpus=2", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot",
		"-kernel", "/k", "-initrd", "/w/i.cpio",
		"-append", "console=ttyS0 loglevel=5 panic=-1 cryptomgr.notests ddvm.mode=client "
			   "ddvm.front=0000:00:10.0=blk,0000:00:11.0=blk,0000:00:12.0=net "
			   "ddvm.wait=/dev/ddvmblk0,/dev/ddvmblk1,net:ddvmnet0 "
			   "ddvm.ip=ddvmnet0=10.77.0.13/24 quiet",
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-qmp", "unix:/w/run/fv/qmp.sock,server=on,wait=off",
		"-chardev", "socket,id=sh,path=/w/run/fv/shell.sock,server=on,wait=off",
		"-serial", "chardev:sh",
		"-chardev", "socket,path=/w/run/hub/disk0.c2.sock,id=fch0",
		"-device", "ivshmem-doorbell,chardev=fch0,vectors=1,addr=0x10",
		"-chardev", "socket,path=/w/run/hub/disk0.c0.sock,id=fch1",
		"-device", "ivshmem-doorbell,chardev=fch1,vectors=1,addr=0x11",
		"-chardev", "socket,path=/w/run/hub/net0.c0.sock,id=fch2",
		"-device", "ivshmem-doorbell,chardev=fch2,vectors=1,addr=0x12",
	};
	struct ddvm_argv a;
	char buf[16];

	load("{\"name\":\"fv\",\"kernel\":\"/k\",\"initrd\":\"i.cpio\",\"memory\":\"256M\",\"cpus\":2,"
	     "\"append\":\"quiet\",\"disks\":[{\"channel\":\"disk0.c2\",\"via\":\"front\"},"
	     "{\"channel\":\"disk0.c0\",\"via\":\"front\"}],\"nics\":[{\"channel\":\"net0.c0\","
	     "\"via\":\"front\",\"address\":\"10.77.0.13/24\"}]}");
	build(&a, 0);
	argvt_expect(&a, want, sizeof(want) / sizeof(want[0]));
	ddvm_argv_free(&a);
	assert_string_equal(ddvm_vm_guest_name(&cfg.vms[0], false, 1, buf, sizeof(buf)),
			    "/dev/ddvmblk1");
	assert_string_equal(ddvm_vm_guest_name(&cfg.vms[0], true, 0, buf, sizeof(buf)), "ddvmnet0");
}

/* Both paths in one VM: each numbered on its own, in config order. */
static void test_mixed(void **state)
{
	struct ddvm_argv a;
	char buf[16];

	load("{\"name\":\"m\",\"disks\":[{\"channel\":\"disk0.c0\",\"via\":\"front\"},"
	     "{\"channel\":\"disk0.c1\"},{\"channel\":\"disk0.c2\"}],"
	     "\"nics\":[{\"channel\":\"net0.c0\",\"address\":\"10.0.0.2/24\"},"
	     "{\"channel\":\"net0.c2\",\"via\":\"front\",\"address\":\"10.0.1.2/24\"},"
	     "{\"channel\":\"net0.c1\"}]}");
	build(&a, 0);
	/* disk 1 is the first virtio disk, at the first slot, /dev/vda */
	assert_true(argvt_has_pair(&a, "-device", "virtio-blk-pci,drive=d1,addr=0x4"));
	assert_true(argvt_has_pair(&a, "-device", "virtio-blk-pci,drive=d2,addr=0x5"));
	assert_true(argvt_has_pair(&a, "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:10,addr=0xa"));
	assert_true(argvt_has_pair(&a, "-device", "virtio-net-pci,netdev=n2,mac=52:54:00:00:00:11,addr=0xb"));
	assert_true(argvt_has_pair(&a, "-chardev", "socket,path=/w/run/hub/disk0.c0.sock,id=fch0"));
	assert_true(argvt_has_pair(&a, "-chardev", "socket,path=/w/run/hub/net0.c2.sock,id=fch1"));
	assert_true(argvt_has_pair(&a, "-device", "ivshmem-doorbell,chardev=fch1,vectors=1,addr=0x11"));
	assert_non_null(strstr(argvt_value(&a, "-append"),
			       " ddvm.front=0000:00:10.0=blk,0000:00:11.0=net "
			       "ddvm.wait=/dev/ddvmblk0,/dev/vda,/dev/vdb,net:eth0,net:ddvmnet0,net:eth1 "
			       "ddvm.ip=eth0=10.0.0.2/24,ddvmnet0=10.0.1.2/24"));
	ddvm_argv_free(&a);
	assert_string_equal(ddvm_vm_guest_name(&cfg.vms[0], false, 0, buf, sizeof(buf)),
			    "/dev/ddvmblk0");
	assert_string_equal(ddvm_vm_guest_name(&cfg.vms[0], false, 2, buf, sizeof(buf)), "/dev/vdb");
	assert_string_equal(ddvm_vm_guest_name(&cfg.vms[0], true, 2, buf, sizeof(buf)), "eth1");
}

static void test_bridges(void **state)
{
	static const char *const nbd[] = {
		"/x/ddvm", "blk", "nbd", "/w/run/hub/disk0.c2.sock", "--socket", "/w/run/b/d1.nbd",
	};
	static const char *const stream[] = {
		"/x/ddvm", "net", "stream", "/w/run/hub/net0.c0.sock", "--socket", "/w/run/b/n0.sock",
		"--status-fd", "7",
	};
	struct ddvm_argv a;
	struct ddvm_err err;
	char path[108];

	load("{\"name\":\"b\",\"disks\":[{\"channel\":\"disk0.c0\",\"via\":\"front\"},"
	     "{\"channel\":\"disk0.c2\"}],\"nics\":[{\"channel\":\"net0.c0\"}]}");
	/* a disk's bridge has no status pipe, whatever it is given */
	assert_int_equal(ddvm_vm_bridge_argv(&a, &cfg, &cfg.vms[0], false, 1, "/x/ddvm", "/w/run",
					     7, &err), 0);
	argvt_expect(&a, nbd, sizeof(nbd) / sizeof(nbd[0]));
	ddvm_argv_free(&a);
	assert_int_equal(ddvm_vm_bridge_argv(&a, &cfg, &cfg.vms[0], true, 0, "/x/ddvm", "/w/run",
					     7, &err), 0);
	argvt_expect(&a, stream, sizeof(stream) / sizeof(stream[0]));
	ddvm_argv_free(&a);
	/* and without one, a NIC's has none either */
	assert_int_equal(ddvm_vm_bridge_argv(&a, &cfg, &cfg.vms[0], true, 0, "/x/ddvm", "/w/run",
					     -1, &err), 0);
	argvt_expect(&a, stream, sizeof(stream) / sizeof(stream[0]) - 2);
	ddvm_argv_free(&a);
	/* a front-end disk has no bridge */
	assert_int_equal(ddvm_vm_bridge_argv(&a, &cfg, &cfg.vms[0], false, 0, "/x/ddvm", "/w/run",
					     -1, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "disk0.c0"));
	assert_int_equal(a.argc, 0);
	assert_int_equal(ddvm_vm_bridge_socket(path, sizeof(path), "/w/run", &cfg.vms[0], false, 1,
					       &err), 0);
	assert_string_equal(path, "/w/run/b/d1.nbd");
}

/* "run": the script goes base64 into ddvm.cmd; too long is an error naming it. */
static void test_run_script(void **state)
{
	char script[] = "/tmp/ddvm-test-vm-args-XXXXXX", vms[256], big[1700];
	struct ddvm_argv a;
	struct ddvm_err err;
	int fd;

	fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "echo hi\n", 8), 8);
	snprintf(vms, sizeof(vms), "{\"name\":\"r\",\"run\":\"%s\"}", script);
	load(vms);
	build(&a, 0);
	/* base64("echo hi\n") */
	assert_non_null(strstr(argvt_value(&a, "-append"), " ddvm.cmd=ZWNobyBoaQo="));
	ddvm_argv_free(&a);

	memset(big, '#', sizeof(big));
	assert_int_equal(pwrite(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(ddvm_vm_argv(&a, &cfg, &cfg.vms[0], &tcg, "/w/run", &err), -E2BIG);
	assert_non_null(strstr(err.msg, script));
	assert_non_null(strstr(err.msg, "VM r"));
	close(fd);
	unlink(script);

	assert_int_equal(ddvm_vm_argv(&a, &cfg, &cfg.vms[0], &tcg, "/w/run", &err), -ENOENT);
	assert_non_null(strstr(err.msg, script));
	assert_int_equal(a.argc, 0);
}

static void test_long_run_dir(void **state)
{
	char dir[128];
	struct ddvm_argv a;
	struct ddvm_err err;

	load("{\"name\":\"vm0\",\"disks\":[{\"channel\":\"disk0.c0\"}]}");
	memset(dir, 'x', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_int_equal(ddvm_vm_argv(&a, &cfg, &cfg.vms[0], &tcg, dir, &err), -ENAMETOOLONG);
	assert_int_equal(a.argc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nbd_stream_exact),
		cmocka_unit_test(test_front_exact),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_bridges),
		cmocka_unit_test(test_run_script),
		cmocka_unit_test(test_long_run_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
