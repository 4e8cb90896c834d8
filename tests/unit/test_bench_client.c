// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of `ddvm bench client`'s pure parts: paths, configs and QEMU
 * command lines of each path, the console watch (over a pipe and over a
 * followed file), pids from state.json, children from /proc, the report.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench_client.h"
#include "bench_iperf.h"
#include "bench_vm.h"
#include "units.h"
#include "vm_args.h"

static void close_to(double got, double want, double rel)
{
	double d = got > want ? got - want : want - got;

	if (d > rel * (want > 0 ? want : 1))
		fail_msg("%f is not within %.3f%% of %f", got, rel * 100, want);
}

static bool has_arg(const struct ddvm_argv *a, const char *s)
{
	int i;

	for (i = 0; i < a->argc; i++)
		if (strstr(a->argv[i], s))
			return true;
	return false;
}

static const char *arg_after(const struct ddvm_argv *a, const char *flag)
{
	int i;

	for (i = 0; i + 1 < a->argc; i++)
		if (!strcmp(a->argv[i], flag))
			return a->argv[i + 1];
	return NULL;
}

/* ---------------------------------------------------------------- paths */

static void test_paths(void **state)
{
	struct ddvm_err err;
	unsigned int m = 0;

	assert_string_equal(ddvm_bench_path_name(DDVM_BENCH_PATH_BRIDGE, false), "nbd");
	assert_string_equal(ddvm_bench_path_name(DDVM_BENCH_PATH_BRIDGE, true), "stream");
	assert_string_equal(ddvm_bench_path_name(DDVM_BENCH_PATH_NATIVE, true), "native");
	assert_int_equal(ddvm_bench_parse_paths("nbd,front,direct,native", &m, &err), 0);
	assert_int_equal(m, DDVM_BENCH_ALL_PATHS);
	/* either bridge name means the bridge of both halves */
	assert_int_equal(ddvm_bench_parse_paths("stream", &m, &err), 0);
	assert_int_equal(m, 1u << DDVM_BENCH_PATH_BRIDGE);
	assert_int_equal(ddvm_bench_parse_paths("direct,bridge", &m, &err), 0);
	assert_int_equal(m, 1u << DDVM_BENCH_PATH_BRIDGE | 1u << DDVM_BENCH_PATH_DIRECT);
	assert_int_equal(ddvm_bench_parse_paths("nbd,tap", &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'tap'"));
	assert_int_equal(ddvm_bench_parse_paths(",", &m, &err), -EINVAL);
	assert_int_equal(ddvm_bench_parse_paths("", &m, &err), -EINVAL);
}

static void test_workloads(void **state)
{
	struct ddvm_bench_client_report *rep = calloc(1, sizeof(*rep));
	unsigned int i;

	assert_non_null(rep);
	ddvm_bench_client_workloads(rep);
	/* the disk: bench blk's, all of them */
	assert_int_equal(rep->blk.nr, ddvm_bench_nr_workloads);
	assert_string_equal(rep->blk.w[0].name, ddvm_bench_workloads[0].name);
	assert_false(rep->blk.net);
	/* the NIC: bench net's at MTU 1500 only, by name, so native results match */
	assert_true(rep->net.net);
	assert_int_equal(rep->net.nr, 3);
	assert_string_equal(rep->net.w[0].name, "tcp-send-1500");
	assert_string_equal(rep->net.w[1].name, "tcp-recv-1500");
	assert_string_equal(rep->net.w[2].name, "rtt");
	for (i = 0; i < rep->net.nr; i++)
		assert_int_equal(rep->net.w[i].mtu, DDVM_BENCH_CLIENT_MTU);
	free(rep);
}

/* --------------------------------------------------------------- configs */

static const char clients_json[] =
	"{\"kernel\":\"/k/vmlinux\",\"initrd\":\"/b/initramfs.cpio\",\"domains\":["
	"{\"name\":\"disk0\",\"disk\":{\"image\":\"/v/disk0.img\",\"size\":\"256M\"},"
	"\"channels\":[{\"name\":\"c0\",\"offset\":\"0\",\"length\":\"128M\"},"
	"{\"name\":\"c1\",\"offset\":\"128M\",\"length\":\"128M\"}]},"
	"{\"name\":\"net0\",\"nic\":{\"model\":\"e1000\",\"clients\":[{\"name\":\"c0\"}],"
	"\"wire\":{\"netns\":\"ddvm-remote\",\"address\":\"10.77.0.1/24\"}}}],"
	"\"vms\":[{\"name\":\"vm0\",\"memory\":\"512M\",\"cpus\":2,"
	"\"disks\":[{\"channel\":\"disk0.c0\",\"via\":\"nbd\"}],"
	"\"nics\":[{\"channel\":\"net0.c0\",\"via\":\"stream\",\"address\":\"10.77.0.11/24\"}]}]}";

struct cfgs {
	struct ddvm_config in, base, out;
	struct ddvm_vm_cfg vm;
};

static struct cfgs *load_cfgs(void)
{
	struct cfgs *c = calloc(1, sizeof(*c));
	struct ddvm_err err;

	assert_non_null(c);
	if (ddvm_config_parse(&c->in, clients_json, sizeof(clients_json) - 1, "t.json", &err))
		fail_msg("config: %s", err.msg);
	return c;
}

static void test_client_vm(void **state)
{
	struct cfgs *c = load_cfgs();
	struct ddvm_err err;

	/* the config's VM: its memory, cpus, kernel; our name, image and script */
	assert_int_equal(ddvm_bench_client_vm(&c->vm, &c->in, "/b/bench.cpio", "/r/bench.sh", &err),
			 0);
	assert_string_equal(c->vm.name, DDVM_BENCH_CLIENT_VM);
	assert_int_equal(c->vm.memory, 512ULL << 20);
	assert_int_equal(c->vm.cpus, 2);
	assert_string_equal(c->vm.kernel, "/k/vmlinux");
	assert_string_equal(c->vm.initrd, "/b/bench.cpio");
	assert_string_equal(c->vm.run, "/r/bench.sh");
	assert_int_equal(c->vm.nr_disks + c->vm.nr_nics, 0);
	assert_true(c->vm.boot_timeout > 0);
	/* no VM in the config: the defaults, never less than fio needs */
	c->in.nr_vms = 0;
	assert_int_equal(ddvm_bench_client_vm(&c->vm, &c->in, "/b/bench.cpio", "/r/s", &err), 0);
	assert_int_equal(c->vm.memory, DDVM_BENCH_NATIVE_MEMORY);
	assert_int_equal(c->vm.cpus, 1);
	free(c);
}

static void test_blk_paths_config(void **state)
{
	struct cfgs *c = load_cfgs();
	const struct ddvm_domain_cfg *d;
	const struct ddvm_vm_cfg *v;
	struct ddvm_err err;
	char name[16];

	assert_int_equal(ddvm_bench_blk_config(&c->base, &c->in, "disk0", DDVM_CTRL_NVME,
					       "/v/scratch.img", 1ULL << 30, "/r", &err), 0);
	d = &c->base.domains[0];
	/* the scratch image whole: the config's slice and VMs are not the benchmark's */
	assert_int_equal(c->base.nr_domains, 1);
	assert_int_equal(c->base.nr_vms, 0);
	assert_int_equal(d->channels[0].offset, 0);
	assert_int_equal(d->channels[0].length, 0);
	assert_int_equal(d->disk.controller, DDVM_CTRL_NVME);
	assert_int_equal(d->disk.size, 1ULL << 30);

	assert_int_equal(ddvm_bench_client_vm(&c->vm, &c->in, "/b/bench.cpio", "/r/s.sh", &err), 0);
	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_NBD,
						  "/r/blk-nbd", &err), 0);
	v = &c->out.vms[0];
	assert_int_equal(c->out.nr_vms, 1);
	assert_string_equal(c->out.run_dir, "/r/blk-nbd");
	assert_int_equal(v->nr_disks, 1);
	assert_int_equal(v->nr_nics, 0);
	assert_string_equal(v->disks[0].domain, "disk0");
	assert_string_equal(v->disks[0].channel, "c0");
	assert_int_equal(v->disks[0].dom, 0);
	assert_int_equal(v->disks[0].chan, 0);
	assert_int_equal(v->disks[0].via, DDVM_VIA_NBD);
	assert_string_equal(ddvm_vm_guest_name(v, false, 0, name, sizeof(name)), "/dev/vda");

	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_FRONT,
						  "/r/blk-front", &err), 0);
	assert_string_equal(ddvm_vm_guest_name(&c->out.vms[0], false, 0, name, sizeof(name)),
			    "/dev/ddvmblk0");
	/* a disk channel has no stream path */
	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_STREAM,
						  "/r/x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "disk0.c0"));
	free(c);
}

static void test_nic_paths_config(void **state)
{
	struct cfgs *c = load_cfgs();
	const struct ddvm_domain_cfg *d;
	const struct ddvm_vm_cfg *v;
	struct ddvm_err err;
	char name[16], dom[32];

	assert_int_equal(ddvm_bench_client_nic_config(&c->base, &c->in, NULL, DDVM_NIC_VIRTIO_NET,
						      "ddvmc-r42", "/r", &err), 0);
	d = &c->base.domains[0];
	snprintf(dom, sizeof(dom), "bn%d", (int)getpid());
	assert_string_equal(d->name, dom);
	assert_true(d->has_nic);
	assert_false(d->has_disk);
	assert_int_equal(d->nic.model, DDVM_NIC_VIRTIO_NET);
	assert_int_equal(d->nr_channels, 1);
	assert_int_equal(d->channels[0].kind, DDVM_CHANNEL_NET);
	/* our remote host, no address yet: it comes once the tap's offload is set */
	assert_string_equal(d->nic.wire.netns, "ddvmc-r42");
	assert_string_equal(d->nic.wire.address, "");
	assert_int_equal(c->base.nr_vms, 0);

	assert_int_equal(ddvm_bench_client_vm(&c->vm, &c->in, "/b/bench.cpio", "/r/s.sh", &err), 0);
	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_STREAM,
						  "/r/net-stream", &err), 0);
	v = &c->out.vms[0];
	assert_int_equal(v->nr_disks, 0);
	assert_int_equal(v->nr_nics, 1);
	assert_int_equal(v->nics[0].via, DDVM_VIA_STREAM);
	assert_string_equal(v->nics[0].address, "");	/* the script adds it */
	assert_string_equal(ddvm_vm_guest_name(v, true, 0, name, sizeof(name)), "eth0");
	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_FRONT,
						  "/r/net-front", &err), 0);
	assert_string_equal(ddvm_vm_guest_name(&c->out.vms[0], true, 0, name, sizeof(name)),
			    "ddvmnet0");
	assert_int_equal(ddvm_bench_client_config(&c->out, &c->base, &c->vm, DDVM_VIA_NBD,
						  "/r/x", &err), -EINVAL);
	free(c);
}

static void test_direct_argv(void **state)
{
	static const struct ddvm_accel accel = { .kind = DDVM_ACCEL_TCG };
	char dir[] = "/tmp/ddvm-bcdirect-XXXXXX", script[128];
	struct cfgs *c = load_cfgs();
	struct ddvm_argv a = { 0 };
	struct ddvm_err err;
	const char *append;

	assert_non_null(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/bench.sh", dir);
	assert_int_equal(ddvm_bench_write_file(script, "echo hi\n", &err), 0);
	assert_int_equal(ddvm_bench_client_vm(&c->vm, &c->in, "/b/bench.cpio", script, &err), 0);

	/* the disk: the image itself as the VM's virtio-blk, as the DD/OS opens it */
	assert_int_equal(ddvm_bench_direct_argv(&a, &c->in, &c->vm, &accel, "/v/scratch.img",
						"dcv1", dir, &err), 0);
	assert_true(has_arg(&a, "file=/v/scratch.img,if=none,id=direct,format=raw,cache=writeback"));
	assert_true(has_arg(&a, "virtio-blk-pci,drive=direct,addr=0x4"));
	assert_false(has_arg(&a, "tap,"));
	assert_false(has_arg(&a, "ivshmem"));
	assert_false(has_arg(&a, "driver=nbd"));
	append = arg_after(&a, "-append");
	assert_non_null(append);
	assert_non_null(strstr(append, "ddvm.mode=client"));
	assert_non_null(strstr(append, "ddvm.disk=virtio-blk ddvm.wait=/dev/vda ddvm.halt=1"));
	assert_non_null(strstr(append, "ddvm.cmd=ZWNobyBoaQo="));	/* "echo hi\n" */
	assert_true(has_arg(&a, "384M") || has_arg(&a, "512M"));
	ddvm_argv_free(&a);

	/* the NIC: virtio-net on a tap QEMU makes */
	assert_int_equal(ddvm_bench_direct_argv(&a, &c->in, &c->vm, &accel, NULL, "dcv1", dir,
						&err), 0);
	assert_true(has_arg(&a, "tap,id=direct,ifname=dcv1,script=no,downscript=no"));
	assert_true(has_arg(&a, "virtio-net-pci,netdev=direct,mac=" DDVM_BENCH_CLIENT_DIRECT_MAC
			     ",addr=0xa"));
	assert_false(has_arg(&a, "format=raw"));
	append = arg_after(&a, "-append");
	assert_non_null(strstr(append, "ddvm.net=virtio-net ddvm.wait=net:eth0 ddvm.halt=1"));
	assert_null(strstr(append, "ddvm.disk="));
	ddvm_argv_free(&a);
	unlink(script);
	rmdir(dir);
	free(c);
}

static void test_cmdline_append(void **state)
{
	struct ddvm_argv a = { 0 };
	struct ddvm_err err;
	char big[DDVM_KERNEL_CMDLINE_MAX + 8];

	assert_int_equal(ddvm_argv_add(&a, "qemu", "-append", "console=ttyS0", "-m", "1G", NULL),
			 0);
	assert_int_equal(ddvm_bench_cmdline_append(&a, " ddvm.mode=bench", &err), 0);
	assert_string_equal(a.argv[2], "console=ttyS0 ddvm.mode=bench");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ddvm_bench_cmdline_append(&a, big, &err), -E2BIG);
	assert_string_equal(a.argv[2], "console=ttyS0 ddvm.mode=bench");	/* untouched */
	ddvm_argv_free(&a);
	assert_int_equal(ddvm_argv_add(&a, "qemu", "-m", "1G", NULL), 0);
	assert_int_equal(ddvm_bench_cmdline_append(&a, " x", &err), -EINVAL);
	ddvm_argv_free(&a);
}

/* ----------------------------------------------------------------- watch */

/* A stand-in for fio's JSON: "ios=N bytes=B". */
static int fake_parse(void *ctx, unsigned int i, const char *out, size_t len,
		      struct ddvm_bench_result *r, struct ddvm_err *err)
{
	unsigned long long ios, bytes;
	const char *p = strstr(out, "ios=");

	memset(r, 0, sizeof(*r));
	if (!p || sscanf(p, "ios=%llu bytes=%llu", &ios, &bytes) != 2)
		return ddvm_errf(err, -EINVAL, "no ios= in %.40s", out);
	r->ios = ios;
	r->bytes = bytes;
	r->seconds = 1;
	r->mib_s = (double)bytes / DDVM_MIB;
	r->iops = (double)ios;
	r->valid = true;
	return 0;
}

struct notes {
	int begun, started, done, failed;
};

static void fake_note(void *ctx, int i, const struct ddvm_bench_result *r, const char *msg)
{
	struct notes *n = ctx;

	if (i < 0)
		n->begun++;
	else if (!r && !msg)
		n->started++;
	else if (r)
		n->done++;
	else
		n->failed++;
}

static const struct ddvm_bench_workload two[] = {
	{ "seq-read", "seq read", false, false, 1 << 20, 8, true, 0, false },
	{ "tcp-send-1500", "TCP send", true, false, 0, 1, true, 1500, false },
};

static void watch_init(struct ddvm_bench_watch *wt, struct ddvm_bench_result *res,
		       struct notes *n)
{
	memset(wt, 0, sizeof(*wt));
	memset(res, 0, 2 * sizeof(*res));
	memset(n, 0, sizeof(*n));
	wt->w = two;
	wt->nr = 2;
	wt->res = res;
	wt->what = "the test VM";
	wt->boot_s = 60;	/* never reached: the data is all there */
	wt->step_s = 60;
	wt->log_fd = -1;
	wt->parse = fake_parse;
	wt->note = fake_note;
	wt->ctx = n;
	/* the CPU of this process: a real sample at each mark */
	assert_int_equal(ddvm_bench_cpu_add(&wt->cpu, getpid()), 0);
}

/* Write @text into a pipe (it fits) and close it: the console of a QEMU that is gone. */
static int pipe_of(const char *text)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

static const char transcript[] =
	"[    1.0] Linux version 6.1.0\r\n"
	"DDVM-READY\r\n"
	"DDVM-CMD-BEGIN\r\n"
	"DDVM-BENCH-MARK start seq-read\r\n"
	"DDVM-BENCH-MARK end seq-read\r\n"
	"DDVM-BENCH-JSON seq-read 0\r\n"
	"{ ios=100 bytes=104857600 }\r\n"
	"DDVM-BENCH-JSON-END seq-read\r\n"
	"DDVM-BENCH-MARK start tcp-send-1500\r\n"
	"DDVM-BENCH-MARK end tcp-send-1500\r\n"
	"DDVM-BENCH-JSON tcp-send-1500 0\r\n"
	"{ ios=1 bytes=1073741824 }\r\n"
	"DDVM-BENCH-JSON-END tcp-send-1500\r\n";

static void test_watch_pipe(void **state)
{
	struct ddvm_bench_result res[2];
	struct ddvm_bench_watch wt;
	struct notes n;
	char text[2048];
	int fd;

	/* the whole run: both results, CPU charged as each kind counts it */
	watch_init(&wt, res, &n);
	snprintf(text, sizeof(text), "%sDDVM-CMD-END 0\r\n[   9.0] reboot: Power down\r\n",
		 transcript);
	fd = pipe_of(text);
	ddvm_bench_watch_fd(&wt, fd, 0);
	close(fd);
	assert_string_equal(wt.error, "");
	assert_true(wt.begun);
	assert_true(wt.done);
	assert_int_equal(wt.status, 0);
	assert_int_equal(n.begun, 1);
	assert_int_equal(n.started, 2);
	assert_int_equal(n.done, 2);
	assert_true(res[0].valid);
	assert_int_equal(res[0].ios, 100);
	assert_true(res[1].valid);
	assert_int_equal(res[1].bytes, 1ULL << 30);
	/* the marks came at once: whatever CPU there was, over a window we measured */
	assert_true(res[0].cpu_seconds >= 0);
	if (res[1].cpu_window > 0)	/* net: CPU seconds per GiB the receiver got */
		close_to(res[1].cpu_s_per_gib, res[1].cpu_seconds, 1e-9);
	ddvm_bench_watch_free(&wt);

	/* QEMU gone before the end line: said, with the last line */
	watch_init(&wt, res, &n);
	fd = pipe_of(transcript);
	ddvm_bench_watch_fd(&wt, fd, 0);
	close(fd);
	assert_false(wt.done);
	assert_non_null(strstr(wt.error, "exited before the script's end"));
	assert_non_null(strstr(wt.error, "last console line: DDVM-BENCH-JSON tcp-send-1500"));
	assert_int_equal(n.done, 2);
	ddvm_bench_watch_free(&wt);

	/* the guest's failure ends the watch; a workload's bad output is its error */
	watch_init(&wt, res, &n);
	fd = pipe_of("DDVM-CMD-BEGIN\r\nDDVM-BENCH-MARK start seq-read\r\n"
		     "DDVM-BENCH-JSON seq-read 2\r\nfio: no such device\r\n"
		     "DDVM-BENCH-JSON-END seq-read\r\n"
		     "DDVM-FAIL: /dev/vda did not appear within 10 s\r\nnever read\r\n");
	ddvm_bench_watch_fd(&wt, fd, 0);
	close(fd);
	assert_non_null(strstr(wt.error, "the test VM failed: /dev/vda did not appear"));
	assert_false(res[0].valid);
	assert_non_null(strstr(res[0].error, "exit status 2"));
	assert_int_equal(n.failed, 1);
	assert_string_equal(wt.last_line, "DDVM-FAIL: /dev/vda did not appear within 10 s");
	ddvm_bench_watch_free(&wt);

	/* a script that exits non-zero is an error, after the results */
	watch_init(&wt, res, &n);
	snprintf(text, sizeof(text), "%sDDVM-CMD-END 3\r\n", transcript);
	fd = pipe_of(text);
	ddvm_bench_watch_fd(&wt, fd, 0);
	close(fd);
	assert_true(wt.done);
	assert_int_equal(wt.status, 3);
	assert_non_null(strstr(wt.error, "exited 3"));
	assert_true(res[1].valid);
	ddvm_bench_watch_free(&wt);
}

/* A console log a supervisor appends to: read to the end line, not to the file's end. */
static void test_watch_follow(void **state)
{
	char path[] = "/tmp/ddvm-bcwatch-XXXXXX";
	struct ddvm_bench_result res[2];
	struct ddvm_bench_watch wt;
	struct notes n;
	int fd, status;
	pid_t child;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	/* the writer: half the transcript now, the rest later, as QEMU would */
	assert_int_equal(write(fd, transcript, 200), 200);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		usleep(200 * 1000);
		if (write(fd, transcript + 200, strlen(transcript) - 200) < 0 ||
		    write(fd, "DDVM-CMD-END 0\r\n", 16) != 16)
			_exit(1);
		pause();	/* a VM stays up after its script */
		_exit(0);
	}
	close(fd);
	watch_init(&wt, res, &n);
	ddvm_bench_vm_follow(path, child, &wt);
	assert_string_equal(wt.error, "");
	assert_true(wt.done);
	assert_true(res[0].valid);
	assert_true(res[1].valid);
	ddvm_bench_watch_free(&wt);

	/* the writer gone before the end: what it wrote is read, then that is said */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, transcript, strlen(transcript)), (ssize_t)strlen(transcript));
	close(fd);
	watch_init(&wt, res, &n);
	ddvm_bench_vm_follow(path, child, &wt);
	assert_false(wt.done);
	assert_true(res[1].valid);
	assert_non_null(strstr(wt.error, "exited before the script's end"));
	ddvm_bench_watch_free(&wt);

	watch_init(&wt, res, &n);
	ddvm_bench_vm_follow("/nonexistent/console.log", child, &wt);
	assert_non_null(strstr(wt.error, "/nonexistent/console.log"));
	unlink(path);
}

/* ------------------------------------------------------------------ pids */

static void test_state_pids(void **state)
{
	static const char doc[] =
		"{\"hub\":{\"pid\":100,\"state\":\"running\"},"
		"\"domains\":[{\"name\":\"disk0\",\"qemu_pid\":200}],"
		"\"vms\":[{\"name\":\"bcvm\",\"qemu_pid\":300,"
		"\"disks\":[{\"via\":\"nbd\",\"bridge\":{\"pid\":400}},{\"via\":\"front\"}],"
		"\"nics\":[{\"via\":\"stream\",\"bridge\":{\"pid\":500}}]}]}";
	struct ddvm_bench_pids p;
	struct ddvm_err err;
	json_t *st;

	st = json_loads(doc, 0, NULL);
	assert_non_null(st);
	assert_int_equal(ddvm_bench_state_pids(st, &p, &err), 0);
	assert_int_equal(p.hub, 100);
	assert_int_equal(p.nr_domains, 1);
	assert_int_equal(p.domain[0], 200);
	assert_int_equal(p.vm, 300);
	assert_int_equal(p.nr_bridges, 2);
	assert_int_equal(p.bridge[0], 400);
	assert_int_equal(p.bridge[1], 500);
	json_decref(st);

	/* a domain down (pid 0) or a hostile value is no pid to account */
	st = json_loads("{\"hub\":{\"pid\":1},\"domains\":[{\"name\":\"d\",\"qemu_pid\":0}]}", 0,
			NULL);
	assert_int_equal(ddvm_bench_state_pids(st, &p, &err), -ESRCH);
	assert_non_null(strstr(err.msg, "domain d"));
	json_decref(st);
	st = json_loads("{\"hub\":{\"pid\":-5},\"domains\":[]}", 0, NULL);
	assert_int_equal(ddvm_bench_state_pids(st, &p, &err), -ESRCH);
	json_decref(st);
	st = json_loads("{\"hub\":{\"pid\":7},\"domains\":[{\"qemu_pid\":8}],"
			"\"vms\":[{\"qemu_pid\":\"x\"}]}", 0, NULL);
	assert_int_equal(ddvm_bench_state_pids(st, &p, &err), 0);
	assert_int_equal(p.vm, 0);
	assert_int_equal(p.nr_bridges, 0);
	json_decref(st);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void fake_proc(const char *root, int pid, const char *stat)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	write_text(path, stat);
}

static void test_children(void **state)
{
	char root[] = "/tmp/ddvm-bcproc-XXXXXX", cmd[300];
	struct ddvm_bench_cpu c = { 0 };
	pid_t ppid;

	assert_int_equal(ddvm_proc_stat_ppid("12 (nbdkit) S 11 12 12 0", &ppid), 0);
	assert_int_equal(ppid, 11);
	/* a name with ") S 99" in it must not fool the parser */
	assert_int_equal(ddvm_proc_stat_ppid("12 (x) S 99 (y) S 11 12 0", &ppid), 0);
	assert_int_equal(ppid, 11);
	assert_int_equal(ddvm_proc_stat_ppid("12 (x) S", &ppid), -EINVAL);
	assert_int_equal(ddvm_proc_stat_ppid("garbage", &ppid), -EINVAL);

	assert_non_null(mkdtemp(root));
	fake_proc(root, 10, "10 (ddvm) S 1 10 10 0\n");
	fake_proc(root, 11, "11 (nbdkit) S 10 10 10 0\n");
	fake_proc(root, 12, "12 (other) S 1 12 12 0\n");
	fake_proc(root, 13, "13 (nbdkit) S 10 10 10 0\n");
	c.proc = root;
	assert_int_equal(ddvm_bench_cpu_add_children(&c, 10), 2);
	assert_int_equal(c.nr, 2);
	assert_true((c.pids[0] == 11 && c.pids[1] == 13) || (c.pids[0] == 13 && c.pids[1] == 11));
	assert_int_equal(ddvm_bench_cpu_add_children(&c, 12), 0);
	while (c.nr < DDVM_BENCH_MAX_PIDS)
		ddvm_bench_cpu_add(&c, 99);
	assert_int_equal(ddvm_bench_cpu_add_children(&c, 10), -ENOSPC);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* ---------------------------------------------------------------- report */

static void result(struct ddvm_bench_result *r, double mib_s, double iops, double cpu)
{
	memset(r, 0, sizeof(*r));
	r->valid = true;
	r->seconds = 5;
	r->mib_s = mib_s;
	r->iops = iops;
	r->bytes = (uint64_t)(mib_s * DDVM_MIB * 5);
	r->cpu_s_per_gib = cpu;
	r->lat_p50_us = 100;
	r->lat_p99_us = 900;
	r->lat_mean_us = 300;
}

static struct ddvm_bench_client_report *make_report(void)
{
	struct ddvm_bench_client_report *rep = calloc(1, sizeof(*rep));
	enum { B = DDVM_BENCH_PATH_BRIDGE, F = DDVM_BENCH_PATH_FRONT,
	       D = DDVM_BENCH_PATH_DIRECT, N = DDVM_BENCH_PATH_NATIVE };

	assert_non_null(rep);
	ddvm_bench_client_workloads(rep);
	rep->paths = DDVM_BENCH_ALL_PATHS;
	rep->blk.on = rep->net.on = true;
	snprintf(rep->env.controller, sizeof(rep->env.controller), "virtio-blk");
	snprintf(rep->env.nic, sizeof(rep->env.nic), "e1000");
	snprintf(rep->env.accel, sizeof(rep->env.accel), "tcg");
	snprintf(rep->env.host.date, sizeof(rep->env.host.date), "2026-11-21T20:00:00Z");
	rep->env.host.host_cpus = 2;
	rep->env.load_start[0] = 1.5;
	rep->env.load_end[0] = 2.25;
	/* seq read: nbd 400, front 800, direct 900, native 1000 MiB/s */
	result(&rep->blk.res[B][0], 400, 400, 2.0);
	result(&rep->blk.res[F][0], 800, 800, 1.0);
	result(&rep->blk.res[D][0], 900, 900, 0.6);
	result(&rep->blk.res[N][0], 1000, 1000, 0.5);
	/* rand read QD1: IOPS */
	result(&rep->blk.res[B][2], 1, 250, 300);
	result(&rep->blk.res[F][2], 2, 500, 100);
	result(&rep->blk.res[N][2], 4, 1000, 50);
	snprintf(rep->blk.res[D][2].error, sizeof(rep->blk.res[D][2].error), "fio: \"odd\" error");
	snprintf(rep->blk.error[D], sizeof(rep->blk.error[D]), "the client VM stalled");
	/* TCP send: stream 50, front 100, direct 150, native 125 MiB/s */
	result(&rep->net.res[B][0], 50, 1, 40);
	result(&rep->net.res[F][0], 100, 1, 20);
	result(&rep->net.res[D][0], 150, 1, 5);
	result(&rep->net.res[N][0], 125, 1, 10);
	/* RTT: mean us */
	result(&rep->net.res[B][2], 0, 0, 0);
	rep->net.res[B][2].lat_mean_us = 2000;
	result(&rep->net.res[N][2], 0, 0, 0);
	rep->net.res[N][2].lat_mean_us = 500;
	return rep;
}

static void test_ratios(void **state)
{
	struct ddvm_bench_client_report *rep = make_report();

	close_to(ddvm_bench_client_ratio(&rep->blk, 0, DDVM_BENCH_PATH_BRIDGE), 0.4, 1e-12);
	close_to(ddvm_bench_client_ratio(&rep->blk, 0, DDVM_BENCH_PATH_DIRECT), 0.9, 1e-12);
	close_to(ddvm_bench_client_ratio(&rep->blk, 2, DDVM_BENCH_PATH_FRONT), 0.5, 1e-12);
	assert_true(ddvm_bench_client_ratio(&rep->blk, 2, DDVM_BENCH_PATH_DIRECT) < 0);
	assert_true(ddvm_bench_client_ratio(&rep->blk, 1, DDVM_BENCH_PATH_BRIDGE) < 0);
	close_to(ddvm_bench_client_ratio(&rep->net, 0, DDVM_BENCH_PATH_DIRECT), 1.2, 1e-12);
	close_to(ddvm_bench_client_ratio(&rep->net, 2, DDVM_BENCH_PATH_BRIDGE), 4.0, 1e-12);
	close_to(ddvm_bench_client_cpu_ratio(&rep->blk, 0, DDVM_BENCH_PATH_BRIDGE), 4.0, 1e-12);
	close_to(ddvm_bench_client_cpu_ratio(&rep->net, 0, DDVM_BENCH_PATH_FRONT), 2.0, 1e-12);
	assert_true(ddvm_bench_client_cpu_ratio(&rep->blk, 2, DDVM_BENCH_PATH_DIRECT) < 0);
	free(rep);
}

static void test_table(void **state)
{
	struct ddvm_bench_client_report *rep = make_report();
	char *t;

	t = ddvm_bench_client_table(rep);
	assert_non_null(t);
	assert_non_null(strstr(t, "disk: fio                            nbd               front"
				  "              direct              native\n"));
	assert_non_null(strstr(t, "seq read 1M QD8       400.0 MiB/s  0.40x  800.0 MiB/s  0.80x"
				  "  900.0 MiB/s  0.90x  1000.0 MiB/s      \n"));
	assert_non_null(strstr(t, "rand read 4K QD1         250 IOPS  0.25x     500 IOPS  0.50x"
				  "             -           1000 IOPS      \n"));
	assert_non_null(strstr(t, "NIC: iperf3, ping                 stream"));
	assert_non_null(strstr(t, "TCP send MTU 1500      419 Mbit/s  0.40x   839 Mbit/s  0.80x"));
	assert_non_null(strstr(t, "ping RTT MTU 1500         2000 us  4.00x"));
	/* CPU s/GiB and its ratio; none for ping */
	assert_non_null(strstr(t, "seq read 1M QD8              2.00  4.00x"));
	assert_null(strstr(strstr(t, "NIC: iperf3"), "ping RTT MTU 1500              -"));
	assert_non_null(strstr(t, "100 / 900"));
	assert_non_null(strstr(t, "disk direct rand-read-qd1: fio: \"odd\" error\n"));
	assert_non_null(strstr(t, "disk direct: the client VM stalled\n"));
	assert_non_null(strstr(t, "host load average 1.50 at start, 2.25 at end (2 CPUs)"));
	free(t);

	/* paths not run have no column */
	rep->paths = 1u << DDVM_BENCH_PATH_FRONT | 1u << DDVM_BENCH_PATH_NATIVE;
	rep->net.on = false;
	t = ddvm_bench_client_table(rep);
	assert_non_null(strstr(t, "disk: fio                          front              native\n"));
	assert_null(strstr(t, "nbd"));
	assert_null(strstr(t, "NIC:"));
	free(t);
	free(rep);
}

static void test_json(void **state)
{
	struct ddvm_bench_client_report *rep = make_report();
	json_t *doc, *disk, *w0, *net;

	doc = ddvm_bench_client_json(rep);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "benchmark")), "client");
	disk = json_object_get(doc, "disk");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
		json_object_get(disk, "paths"), "direct"), "error")), "the client VM stalled");
	w0 = json_array_get(json_object_get(disk, "workloads"), 0);
	assert_string_equal(json_string_value(json_object_get(w0, "name")), "seq-read");
	close_to(json_real_value(json_object_get(json_object_get(w0, "ratio"), "nbd")), 0.4, 1e-12);
	close_to(json_real_value(json_object_get(json_object_get(w0, "cpu_ratio"), "front")), 2.0,
		 1e-12);
	assert_null(json_object_get(json_object_get(w0, "ratio"), "native"));
	close_to(json_real_value(json_object_get(json_object_get(json_object_get(w0, "results"),
		 "native"), "mib_s")), 1000, 1e-12);
	net = json_array_get(json_object_get(json_object_get(doc, "net"), "workloads"), 0);
	assert_string_equal(json_string_value(json_object_get(net, "metric")), "mbit_s");
	assert_non_null(json_object_get(json_object_get(net, "results"), "stream"));
	assert_true(json_is_null(json_object_get(json_object_get(
		json_array_get(json_object_get(disk, "workloads"), 2), "ratio"), "direct")));
	json_decref(doc);

	rep->net.on = false;
	doc = ddvm_bench_client_json(rep);
	assert_null(json_object_get(doc, "net"));
	json_decref(doc);
	free(rep);
}

static void test_csv(void **state)
{
	struct ddvm_bench_client_report *rep = make_report();
	char *csv;

	csv = ddvm_bench_client_csv(rep);
	assert_non_null(csv);
	assert_true(!strncmp(csv, "part,workload,label,path,valid,metric,value,ratio,", 50));
	assert_non_null(strstr(csv, "\ndisk,seq-read,\"seq read 1M QD8\",nbd,1,mib_s,400,0.4,2,4,"
				    "100,900,\"\"\n"));
	assert_non_null(strstr(csv, "\ndisk,seq-read,\"seq read 1M QD8\",native,1,mib_s,1000,,0.5,,"));
	/* an error with quotes, doubled; no value */
	assert_non_null(strstr(csv, "\ndisk,rand-read-qd1,\"rand read 4K QD1\",direct,0,iops,,,,,,,"
				    "\"fio: \"\"odd\"\" error\"\n"));
	assert_non_null(strstr(csv, "\nnet,tcp-send-1500,\"TCP send MTU 1500\",stream,1,mbit_s,"
				    "419.43"));
	assert_non_null(strstr(csv, "\nnet,rtt,\"ping RTT MTU 1500\",stream,1,rtt_avg_us,2000,4,,,"));
	free(csv);
	free(rep);
}

static void test_gnuplot(void **state)
{
	struct ddvm_bench_client_report *rep = make_report();
	char *data, *script;

	assert_int_equal(ddvm_bench_client_gnuplot(rep, "/o/c.dat", "/o/c.png", &data, &script), 0);
	/* one block per panel: values of nbd front direct native, then the three ratios */
	assert_non_null(strstr(data, "\"seq read 1M QD8\" 400.000 800.000 900.000 1000.000 0.400 "
				     "0.800 0.900\n"));
	assert_non_null(strstr(data, "\"rand read 4K QD1\" 250.000 500.000 - 1000.000 0.250 0.500 "
				     "-1.000\n"));
	assert_non_null(strstr(data, "\"TCP send MTU 1500\" 419.430 838.861 1258.291 1048.576"));
	assert_true(strstr(data, "# host CPU") > strstr(data, "\"TCP send MTU 1500\""));
	assert_non_null(strstr(strstr(data, "# host CPU"), "\"seq read 1M QD8\" 2.000 1.000 0.600 "
				     "0.500 4.000 2.000 1.200\n"));
	assert_null(strstr(data, "ping RTT"));	/* lower is better: the table has it */
	assert_non_null(strstr(script, "set output '/o/c.png'"));
	assert_non_null(strstr(script, "set multiplot layout 2,2"));
	assert_non_null(strstr(script, "plot '/o/c.dat' index 0 using 2:xtic(1) title "
				       "'bridge (nbd / stream)'"));
	assert_non_null(strstr(script, "'' index 3 using 5 title 'native (in the DD/OS)'"));
	/* labels over the client bars: centres -0.3, -0.1, +0.1 of each cluster */
	assert_non_null(strstr(script, "using ($0-0.300):2:($6 >= 0 ? sprintf('%.2fx', $6) : '')"));
	assert_non_null(strstr(script, "using ($0+0.100):4:($8 >= 0"));
	/* CPU: 0.5 to 40 s/GiB on a log axis */
	assert_non_null(strstr(script, "set logscale y\nset yrange [0.2500:120.000]"));
	assert_true(strstr(script, "set logscale y") > strstr(script, "index 2 using"));
	free(data);
	free(script);

	/* no NIC half: its panel stays, empty */
	rep->net.on = false;
	assert_int_equal(ddvm_bench_client_gnuplot(rep, "/o/c.dat", "/o/c.png", &data, &script), 0);
	assert_null(strstr(data, "TCP send"));
	assert_non_null(strstr(script, "plot NaN notitle"));
	free(data);
	free(script);
	free(rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_workloads),
		cmocka_unit_test(test_client_vm),
		cmocka_unit_test(test_blk_paths_config),
		cmocka_unit_test(test_nic_paths_config),
		cmocka_unit_test(test_direct_argv),
		cmocka_unit_test(test_cmdline_append),
		cmocka_unit_test(test_watch_pipe),
		cmocka_unit_test(test_watch_follow),
		cmocka_unit_test(test_state_pids),
		cmocka_unit_test(test_children),
		cmocka_unit_test(test_ratios),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_gnuplot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
