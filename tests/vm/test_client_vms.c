// SPDX-License-Identifier: GPL-2.0
/*
 * Client VMs under the real supervisor (config "vms"), with the stock
 * kernel's virtio drivers and the bridges: a disk DD/OS exports two slices
 * of one disk, a NIC DD/OS (e1000) two clients, and two client VMs each
 * get a slice over NBD and a client over the stream netdev.  Each VM runs
 * the standard disk check (ext4, a 64 MiB tree with checksums, fsck clean,
 * remount, verify) and sends 64 MiB to the remote host, which checks the
 * SHA-256 of what arrived; on the host, each slice of the image is then a
 * clean ext4 holding that VM's manifest and not the other's, and neither
 * VM's NIC received the other's stream.  "ddvm console" runs a command in a
 * VM.  Then the fault: the disk DD/OS is killed in the middle of a VM's
 * file-tree write; the VM is left alone and its tree still verifies; and
 * its NBD bridge, killed, is restarted and found again by QEMU.  Last, a
 * VM's NIC bridge is SIGKILLed in the middle of a 64 MiB TCP stream: the
 * supervisor restarts it, it connects to the same QEMU again, and the same
 * TCP connection finishes with every byte verified at the far end.
 * Needs root (the NIC DD/OS's tap, namespaces).
 */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "state.h"
#include "vmtest.h"
#include "vmtest_client.h"

#define SLICE		(128ull << 20)	/* each VM's share of the 256M disk */
#define TREE_MIB	64
#define XFER_MIB	64
#define PORT0		5710		/* vm0's transfer; vm1's is PORT0 + 1 */
#define SCRIPT_S	900		/* a VM's whole script, on a busy 2-core TCG host */
#define SINK_S		900
#define KILL_AFTER	64		/* requests completed into the tree write before the kill */
#define NIC_KILL_AT	(16ull << 20)	/* bytes at the far end before the NIC bridge is killed */
#define CONNECT_S	60		/* a stream bridge to "connected", on a busy host */

struct fixture {
	struct vmtest t;
	bool up;
	char netns[32];			/* the remote host, made by the test */
	bool netns_made;
	struct vmtest_sink sink[2];
	bool keep;			/* a failure: keep the run dir to look at */
};

static int setup(void **state)
{
	struct fixture *f;

	if (geteuid() != 0) {
		print_error("test_client_vms needs root (the NIC DD/OS's tap, namespaces); "
			    "uid %u\n", geteuid());
		return -1;
	}
	f = calloc(1, sizeof(*f));
	if (!f || vmtest_init(&f->t)) {
		print_error("cannot make the test's temp dir: %s\n", strerror(errno));
		free(f);
		return -1;
	}
	f->sink[0].fd = f->sink[1].fd = -1;
	f->keep = true;		/* until the test says it passed */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	unsigned int i;

	if (f->up && vmtest_down(&f->t, true))
		print_error("ddvm down: %s\n", f->t.log);
	/* the VMs that were to send are gone */
	for (i = 0; i < 2; i++)
		vmtest_sink_stop(&f->sink[i]);
	if (f->netns_made) {
		snprintf(cmd, sizeof(cmd), "ip netns delete %s", f->netns);
		if (system(cmd))
			print_error("%s failed\n", cmd);
	}
	if (f->keep) {
		print_error("kept %s for a look\n", f->t.dir);
	} else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->t.dir);
		if (system(cmd))
			print_error("%s failed\n", cmd);
	}
	free(f);
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_file(const struct fixture *f, const char *name, const char *text)
{
	char path[160];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->t.dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/* The first 64 hex digits after @needle on @vm's console. */
static void console_sha(struct fixture *f, const char *vm, const char *needle,
			char sha[VMTEST_SHA_HEX])
{
	char rest[256];

	if (vmtest_vm_find(&f->t, vm, needle, 0, rest, sizeof(rest), NULL))
		fail_msg("VM %s printed no \"%s\" (see %s/%s/console.log)", vm, needle,
			 f->t.run_dir, vm);
	if (strspn(rest, "0123456789abcdef") < VMTEST_SHA_HEX - 1)
		fail_msg("VM %s: \"%s%s\" is not a SHA-256", vm, needle, rest);
	memcpy(sha, rest, VMTEST_SHA_HEX - 1);
	sha[VMTEST_SHA_HEX - 1] = '\0';
}

/* The VM's script ran to its end with status 0, and both tree passes said OK. */
static void expect_script_ok(struct fixture *f, const char *vm)
{
	char line[512], rest[64];

	if (vmtest_vm_wait_line(&f->t, vm, "DDVM-CMD-END", SCRIPT_S, line, sizeof(line), NULL))
		fail_msg("%s", line);
	assert_int_equal(vmtest_vm_find(&f->t, vm, "DDVM-CMD-END ", 0, rest, sizeof(rest), NULL), 0);
	if (strcmp(rest, "0"))
		fail_msg("VM %s: its script ended with status %s (see %s/%s/console.log)", vm,
			 rest, f->t.run_dir, vm);
	/* write, then verify after fsck and remount */
	assert_int_equal(vmtest_vm_find(&f->t, vm, "FILETREE-OK", 1, NULL, 0, NULL), 0);
	if (!vmtest_vm_find(&f->t, vm, "FILETREE-BAD", 0, rest, sizeof(rest), NULL))
		fail_msg("VM %s: FILETREE-BAD%s", vm, rest);
}

/* Entry @name of state.json's @list ("vms", "domains"): a reference the caller drops. */
static json_t *state_entry(struct fixture *f, const char *list, const char *name)
{
	struct ddvm_err err;
	json_t *st, *o, *found = NULL;
	size_t i;

	if (ddvm_state_load(f->t.run_dir, &st, &err))
		fail_msg("%s", err.msg);
	json_array_foreach(json_object_get(st, list), i, o)
		if (!strcmp(json_string_value(json_object_get(o, "name")) ?: "", name))
			found = json_incref(o);
	json_decref(st);
	if (!found)
		fail_msg("state.json has no %s entry \"%s\"", list, name);
	return found;
}

/* A number of VM @vm in state.json: .@key, or .@key.@sub. */
static long long vm_num(struct fixture *f, const char *vm, const char *key, const char *sub)
{
	json_t *o = state_entry(f, "vms", vm), *v = json_object_get(o, key);
	long long n = json_integer_value(sub ? json_object_get(v, sub) : v);

	json_decref(o);
	return n;
}

/*
 * The bridge of VM @vm's first device of @kind ("disks", "nics") in
 * state.json: a reference the caller drops.
 */
static json_t *first_bridge(struct fixture *f, const char *vm, const char *kind)
{
	json_t *o = state_entry(f, "vms", vm);
	json_t *br = json_incref(json_object_get(json_array_get(json_object_get(o, kind), 0),
						 "bridge"));

	json_decref(o);
	if (!br)
		fail_msg("state.json: VM %s's first of its %s has no bridge", vm, kind);
	return br;
}

static long long bridge_num(struct fixture *f, const char *vm, const char *kind,
			    const char *key)
{
	json_t *br = first_bridge(f, vm, kind);
	long long n = json_integer_value(json_object_get(br, key));

	json_decref(br);
	return n;
}

static long long vm_bridge_num(struct fixture *f, const char *vm, const char *key)
{
	return bridge_num(f, vm, "disks", key);
}

/* Is the state of VM @vm's first @kind bridge @want ("running", "connected", ...)? */
static bool bridge_in(struct fixture *f, const char *vm, const char *kind, const char *want)
{
	json_t *br = first_bridge(f, vm, kind);
	bool in = !strcmp(json_string_value(json_object_get(br, "state")) ?: "", want);

	json_decref(br);
	return in;
}

static bool vm_bridge_running(struct fixture *f, const char *vm)
{
	return bridge_in(f, vm, "disks", "running");
}

/* The completed requests of domain @dom's first channel, from state.json. */
static long long completed(struct fixture *f, const char *dom)
{
	json_t *d = state_entry(f, "domains", dom);
	long long n = json_integer_value(json_object_get(json_object_get(
		json_array_get(json_object_get(d, "channels"), 0), "server"), "completed"));

	json_decref(d);
	return n;
}

static void scan_consoles(struct fixture *f, const char *const *names)
{
	char line[1024];

	for (; *names; names++)
		if (vmtest_scan_console_of(&f->t, *names, line, sizeof(line)))
			fail_msg("%s's console: %s", *names, line);
}

#define DISK_CHECK \
	"D=/dev/vda\n" \
	"mkfs.ext4 -q -F $D && mount $D /mnt && /ddvm/run/filetree write /mnt %d %u && " \
	"umount /mnt &&\n" \
	"e2fsck -fn $D && mount $D /mnt && /ddvm/run/filetree verify /mnt || exit 1\n" \
	"echo \"MANIFEST $(sha256sum </mnt/.manifest)\"\n" \
	"umount /mnt || exit 2\n"

static void test_two_vms(void **state)
{
	struct fixture *f = *state;
	char body[4096], script[1024], name[16], path[160], out[8192], nicdom[16];
	char sha_vm[2][VMTEST_SHA_HEX], sha_got[VMTEST_SHA_HEX], sha_remote[VMTEST_SHA_HEX];
	char sha_slice[2][VMTEST_SHA_HEX];
	char why[2048], rest[64];
	unsigned int i;
	long long rx;

	/* the remote host: made first, so the sinks listen before any VM sends */
	snprintf(f->netns, sizeof(f->netns), "cvmt-%d", (int)getpid());
	snprintf(nicdom, sizeof(nicdom), "cvn%d", (int)(getpid() % 1000000));
	snprintf(body, sizeof(body), "ip netns add %s && ip -n %s link set lo up", f->netns,
		 f->netns);
	assert_int_equal(system(body), 0);
	f->netns_made = true;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/recv%u", f->t.dir, i);
		if (vmtest_sink_start(&f->sink[i], f->netns, PORT0 + i, path, SINK_S))
			fail_msg("sink %u: %s", i, f->sink[i].why);
		snprintf(script, sizeof(script),
			 "# client VM %u: the standard disk check, then a stream to the remote host\n"
			 DISK_CHECK
			 /* the stream is hashed as it goes: 64 MiB more would not fit in RAM */
			 "mkfifo /tmp/x || exit 3\n"
			 "sha256sum </tmp/x >/tmp/x.sum &\n"
			 "dd if=/dev/urandom bs=1M count=%d 2>/dev/null | tee /tmp/x | "
			 "nc 10.81.0.1 %u || exit 4\n"
			 "wait $! && echo \"XFER $(cat /tmp/x.sum)\"\n"
			 "echo \"RXBYTES $(cat /sys/class/net/eth0/statistics/rx_bytes)\"\n",
			 i, TREE_MIB, i + 1, XFER_MIB, PORT0 + i);
		snprintf(name, sizeof(name), "vm%u.sh", i);
		write_file(f, name, script);
	}
	snprintf(body, sizeof(body),
		 "\"domains\": [\n"
		 " { \"name\": \"cvd\", \"disk\": { \"image\": \"%s\", \"size\": \"256M\" },\n"
		 "   \"channels\": [ { \"name\": \"c0\", \"offset\": \"0\", \"length\": \"128M\" },\n"
		 "                 { \"name\": \"c1\", \"offset\": \"128M\", \"length\": \"128M\" } ] },\n"
		 " { \"name\": \"%s\", \"nic\": { \"model\": \"e1000\",\n"
		 "   \"clients\": [ { \"name\": \"c0\" }, { \"name\": \"c1\" } ],\n"
		 "   \"wire\": { \"netns\": \"%s\", \"address\": \"10.81.0.1/24\" } } } ],\n"
		 "\"vms\": [\n"
		 " { \"name\": \"vm0\", \"run\": \"%s/vm0.sh\",\n"
		 "   \"disks\": [ { \"channel\": \"cvd.c0\", \"via\": \"nbd\" } ],\n"
		 "   \"nics\": [ { \"channel\": \"%s.c0\", \"via\": \"stream\", "
		 "\"address\": \"10.81.0.11/24\" } ] },\n"
		 " { \"name\": \"vm1\", \"run\": \"%s/vm1.sh\",\n"
		 "   \"disks\": [ { \"channel\": \"cvd.c1\", \"via\": \"nbd\" } ],\n"
		 "   \"nics\": [ { \"channel\": \"%s.c1\", \"via\": \"stream\", "
		 "\"address\": \"10.81.0.12/24\" } ] } ]",
		 f->t.image, nicdom, f->netns, f->t.dir, nicdom, f->t.dir, nicdom);
	if (vmtest_up_json(&f->t, body))
		fail_msg("ddvm up failed:\n%s", f->t.log);
	f->up = true;
	print_message("both client VMs run; waiting for their disk checks and transfers\n");

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "vm%u", i);
		expect_script_ok(f, name);
		console_sha(f, name, "MANIFEST ", sha_vm[i]);
		/* the remote end checks what arrived against what the VM sent */
		console_sha(f, name, "XFER ", sha_got);
		if (vmtest_sink_wait(&f->sink[i], sha_remote))
			fail_msg("remote end of %s's transfer: %s", name, f->sink[i].why);
		assert_int_equal(f->sink[i].bytes, (uint64_t)XFER_MIB << 20);
		if (strcmp(sha_remote, sha_got))
			fail_msg("%s sent SHA-256 %s, the remote host got %s", name, sha_got,
				 sha_remote);
		/* frames go by MAC: the other VM's 64 MiB never reached this NIC */
		assert_int_equal(vmtest_vm_find(&f->t, name, "RXBYTES ", 0, rest, sizeof(rest),
						NULL), 0);
		rx = atoll(rest);
		if (rx <= 0 || rx >= (XFER_MIB << 20) / 4)
			fail_msg("%s's eth0 received %lld bytes (its own ACKs are a few MiB; the "
				 "other VM's stream would be %d MiB)", name, rx, XFER_MIB);
		print_message("%s: tree of %d MiB verified, %d MiB sent and verified remotely, "
			      "eth0 received %lld bytes\n", name, TREE_MIB, XFER_MIB, rx);
	}

	/* the shell on ttyS1 */
	if (vmtest_vm_console(&f->t, "vm0", "echo hello-console-$((6*7))\n", out, sizeof(out)))
		fail_msg("ddvm console vm0: %s", out);
	if (!strstr(out, "hello-console-42"))
		fail_msg("ddvm console vm0 did not run the command: %s", out);
	assert_int_not_equal(vmtest_vm_console(&f->t, "cvd", "true\n", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "driver domain"));

	/* status: both running, no bridge restarted */
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "vm%u", i);
		assert_true(vm_num(f, name, "qemu_pid", NULL) > 0);
		assert_int_equal(vm_num(f, name, "run", "exit_status"), 0);
	}
	assert_int_equal(vmtest_ddvm(&f->t, (const char *const[]){ "status", "--run-dir",
								  f->t.run_dir, NULL }), 0);
	if (!strstr(f->t.log, "vm0          running") || !strstr(f->t.log, "<- cvd.c1 via nbd"))
		fail_msg("ddvm status lacks the VMs:\n%s", f->t.log);
	scan_consoles(f, (const char *const[]){ "cvd", nicdom, "vm0", "vm1", NULL });

	if (vmtest_down(&f->t, true))
		fail_msg("ddvm down: %s", f->t.log);
	f->up = false;
	/* on the host: each slice a clean ext4 with its own VM's files */
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/slice%u.img", f->t.dir, i);
		if (vmtest_slice_check(f->t.image, i * SLICE, SLICE, path, sha_slice[i], why,
				       sizeof(why)))
			fail_msg("slice %u: %s", i, why);
		if (strcmp(sha_slice[i], sha_vm[i]))
			fail_msg("slice %u holds manifest %s, vm%u wrote %s", i, sha_slice[i], i,
				 sha_vm[i]);
		unlink(path);
	}
	assert_string_not_equal(sha_slice[0], sha_slice[1]);
	f->keep = false;
}

static void test_dd_killed_mid_tree(void **state)
{
	struct fixture *f = *state;
	char script[1024], body[1024], line[512], out[256], why[2048], path[160];
	char sha_vm[VMTEST_SHA_HEX], sha_disk[VMTEST_SHA_HEX], console[8192];
	long long base, pid, kill_off, bridge;
	long write_ok_off;
	time_t deadline;
	int ret;

	/*
	 * A small dirty limit makes the guest write back while the tree is
	 * written, so the DD/OS has the tree's writes in flight when it dies.
	 */
	snprintf(script, sizeof(script),
		 "echo 4194304 >/proc/sys/vm/dirty_bytes\n"
		 "echo 1048576 >/proc/sys/vm/dirty_background_bytes\n"
		 "D=/dev/vda\n"
		 "mkfs.ext4 -q -F $D && mount $D /mnt && echo TREE-WRITING && "
		 "/ddvm/run/filetree write /mnt %d 3 && umount /mnt &&\n"
		 "e2fsck -fn $D && mount $D /mnt && /ddvm/run/filetree verify /mnt || exit 1\n"
		 "echo \"MANIFEST $(sha256sum </mnt/.manifest)\"\n"
		 "umount /mnt || exit 2\n", TREE_MIB);
	write_file(f, "vmf.sh", script);
	snprintf(body, sizeof(body),
		 "\"domains\": [ { \"name\": \"cvf\", \"disk\": { \"image\": \"%s\", "
		 "\"size\": \"128M\" } } ],\n"
		 "\"vms\": [ { \"name\": \"vmf\", \"run\": \"%s/vmf.sh\",\n"
		 "   \"disks\": [ { \"channel\": \"cvf.c0\", \"via\": \"nbd\" } ] } ]",
		 f->t.image, f->t.dir);
	if (vmtest_up_json(&f->t, body))
		fail_msg("ddvm up failed:\n%s", f->t.log);
	f->up = true;

	if (vmtest_vm_wait_line(&f->t, "vmf", "TREE-WRITING", SCRIPT_S, line, sizeof(line), NULL))
		fail_msg("%s", line);
	/* the tree's writes reach the DD/OS: kill it among them */
	base = completed(f, "cvf");
	deadline = time(NULL) + SCRIPT_S;
	while (completed(f, "cvf") < base + KILL_AFTER) {
		if (time(NULL) > deadline)
			fail_msg("the DD/OS completed fewer than %d requests of the tree write in "
				 "%d s", KILL_AFTER, SCRIPT_S);
		usleep(100 * 1000);
	}
	pid = vm_num(f, "vmf", "qemu_pid", NULL);
	ret = vmtest_vm_find(&f->t, "vmf", "FILETREE-", 0, out, sizeof(out), NULL);
	if (!ret)
		fail_msg("the tree write ended (FILETREE-%s) before the kill: nothing tested", out);
	{
		char p[160];
		FILE *fp;

		snprintf(p, sizeof(p), "%s/vmf/console.log", f->t.run_dir);
		fp = fopen(p, "r");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		kill_off = ftell(fp);
		fclose(fp);
	}
	if (vmtest_ddvm(&f->t, (const char *const[]){ "inject", "--run-dir", f->t.run_dir, "cvf",
						      "kill", NULL }))
		fail_msg("ddvm inject cvf kill: %s", f->t.log);
	print_message("killed the disk DD/OS %lld requests into vmf's tree write\n",
		      completed(f, "cvf") - base);

	expect_script_ok(f, "vmf");
	/* the write finished after the kill: it rode through the restart */
	assert_int_equal(vmtest_vm_find(&f->t, "vmf", "FILETREE-OK", 0, NULL, 0, &write_ok_off), 0);
	if (write_ok_off < kill_off)
		fail_msg("the tree write ended before the kill: nothing tested");
	/* the VM was left alone: same QEMU, bridge never restarted */
	assert_int_equal(vm_num(f, "vmf", "qemu_pid", NULL), pid);
	{
		json_t *d = state_entry(f, "domains", "cvf");

		assert_true(json_integer_value(json_object_get(d, "restarts")) >= 1);
		json_decref(d);
	}
	assert_int_equal(vm_bridge_num(f, "vmf", "restarts"), 0);
	assert_true(vm_bridge_running(f, "vmf"));
	console_sha(f, "vmf", "MANIFEST ", sha_vm);

	/* a bridge that dies is restarted, and QEMU's NBD client finds it again */
	bridge = vm_bridge_num(f, "vmf", "pid");
	assert_true(bridge > 0);
	assert_int_equal(kill((pid_t)bridge, SIGKILL), 0);
	deadline = time(NULL) + 60;
	while (vm_bridge_num(f, "vmf", "restarts") < 1 || !vm_bridge_running(f, "vmf")) {
		if (time(NULL) > deadline)
			fail_msg("vmf's NBD bridge was not restarted within 60 s after SIGKILL");
		usleep(100 * 1000);
	}
	if (vmtest_vm_console(&f->t, "vmf", "mount /dev/vda /mnt && /ddvm/run/filetree verify "
			      "/mnt; umount /mnt\n", console, sizeof(console)))
		fail_msg("ddvm console vmf: %s", console);
	if (!strstr(console, "FILETREE-OK"))
		fail_msg("after its bridge was killed and restarted, vmf's tree: %s", console);
	assert_int_equal(vm_num(f, "vmf", "qemu_pid", NULL), pid);
	scan_consoles(f, (const char *const[]){ "vmf", NULL });
	if (vmtest_down(&f->t, true))
		fail_msg("ddvm down: %s", f->t.log);
	f->up = false;
	snprintf(path, sizeof(path), "%s/disk.copy", f->t.dir);
	if (vmtest_slice_check(f->t.image, 0, 128ull << 20, path, sha_disk, why, sizeof(why)))
		fail_msg("the disk after the fault: %s", why);
	if (strcmp(sha_disk, sha_vm))
		fail_msg("the disk holds manifest %s, vmf wrote %s", sha_disk, sha_vm);
	f->keep = false;
}

/*
 * The stream bridge of a VM's NIC dies (SIGKILL) mid-stream: the supervisor
 * restarts it, it connects to the QEMU that still listens, and the TCP
 * stream that was under way finishes intact.  Frames QEMU dropped while no
 * bridge was connected are the guest's TCP's to send again: a pause.
 */
static void test_nic_bridge_killed_mid_stream(void **state)
{
	struct fixture *f = *state;
	char script[1024], body[2048], nicdom[16], path[160], line[512], out[8192];
	char sha_got[VMTEST_SHA_HEX], sha_remote[VMTEST_SHA_HEX];
	long long pid, bridge, t_kill, t_connected, t_moving;
	uint64_t at_kill;
	time_t deadline;

	snprintf(f->netns, sizeof(f->netns), "cvmk-%d", (int)getpid());
	snprintf(nicdom, sizeof(nicdom), "cvk%d", (int)(getpid() % 1000000));
	snprintf(body, sizeof(body), "ip netns add %s && ip -n %s link set lo up", f->netns,
		 f->netns);
	assert_int_equal(system(body), 0);
	f->netns_made = true;
	snprintf(path, sizeof(path), "%s/recvk", f->t.dir);
	if (vmtest_sink_start(&f->sink[0], f->netns, PORT0 + 2, path, SINK_S))
		fail_msg("sink: %s", f->sink[0].why);
	snprintf(script, sizeof(script),
		 "i=0;until ping -c1 -W1 10.81.0.1 >/dev/null 2>&1;do i=$((i+1));"
		 "[ $i -lt 60 ]||exit 10;done\n"
		 "mkfifo /tmp/x || exit 3\n"
		 "sha256sum </tmp/x >/tmp/x.sum &\n"
		 "dd if=/dev/urandom bs=1M count=%d 2>/dev/null | tee /tmp/x | "
		 "nc 10.81.0.1 %u || exit 4\n"
		 "wait $! && echo \"XFER $(cat /tmp/x.sum)\"\n", XFER_MIB, PORT0 + 2);
	write_file(f, "vmk.sh", script);
	snprintf(body, sizeof(body),
		 "\"domains\": [\n"
		 " { \"name\": \"%s\", \"nic\": { \"model\": \"e1000\",\n"
		 "   \"clients\": [ { \"name\": \"c0\" } ],\n"
		 "   \"wire\": { \"netns\": \"%s\", \"address\": \"10.81.0.1/24\" } } } ],\n"
		 "\"vms\": [\n"
		 " { \"name\": \"vmk\", \"run\": \"%s/vmk.sh\",\n"
		 "   \"nics\": [ { \"channel\": \"%s.c0\", \"via\": \"stream\", "
		 "\"address\": \"10.81.0.13/24\" } ] } ]",
		 nicdom, f->netns, f->t.dir, nicdom);
	if (vmtest_up_json(&f->t, body))
		fail_msg("ddvm up failed:\n%s", f->t.log);
	f->up = true;

	/* the supervisor shows the bridge connected once QEMU listens */
	deadline = time(NULL) + CONNECT_S;
	while (!bridge_in(f, "vmk", "nics", "connected")) {
		if (time(NULL) > deadline)
			fail_msg("vmk's NIC bridge not connected %d s after ddvm up", CONNECT_S);
		usleep(100 * 1000);
	}
	assert_int_equal(bridge_num(f, "vmk", "nics", "connections"), 1);

	/* the stream is under way: kill the bridge in the middle of it */
	deadline = time(NULL) + SCRIPT_S;
	while (__atomic_load_n(&f->sink[0].bytes, __ATOMIC_RELAXED) < NIC_KILL_AT) {
		if (time(NULL) > deadline || f->sink[0].error)
			fail_msg("the far end got %llu bytes of vmk's stream in %d s: %s",
				 (unsigned long long)f->sink[0].bytes, SCRIPT_S, f->sink[0].why);
		usleep(20 * 1000);
	}
	pid = vm_num(f, "vmk", "qemu_pid", NULL);
	bridge = bridge_num(f, "vmk", "nics", "pid");
	assert_true(pid > 0);
	assert_true(bridge > 0);
	assert_int_equal(bridge_num(f, "vmk", "nics", "restarts"), 0);
	assert_int_equal(kill((pid_t)bridge, SIGKILL), 0);
	at_kill = __atomic_load_n(&f->sink[0].bytes, __ATOMIC_RELAXED);
	if (at_kill >= (uint64_t)XFER_MIB << 20)
		fail_msg("the stream ended before the kill: nothing tested");

	/* restarted once, connected again: a second connection to the same QEMU */
	t_kill = mono_ms();
	deadline = time(NULL) + CONNECT_S;
	while (bridge_num(f, "vmk", "nics", "connections") < 2 ||
	       !bridge_in(f, "vmk", "nics", "connected")) {
		if (time(NULL) > deadline)
			fail_msg("vmk's NIC bridge not connected again %d s after SIGKILL "
				 "(%lld restarts, %lld connections)", CONNECT_S,
				 bridge_num(f, "vmk", "nics", "restarts"),
				 bridge_num(f, "vmk", "nics", "connections"));
		usleep(100 * 1000);
	}
	assert_true(bridge_num(f, "vmk", "nics", "pid") != bridge);
	t_connected = mono_ms();
	/* the stream moves again (how long it stood still is reported, not judged) */
	deadline = time(NULL) + SCRIPT_S;
	while (__atomic_load_n(&f->sink[0].bytes, __ATOMIC_RELAXED) <= at_kill + (1u << 20)) {
		if (time(NULL) > deadline || f->sink[0].error)
			fail_msg("vmk's stream stood still at %llu bytes after its bridge came back: "
				 "%s", (unsigned long long)f->sink[0].bytes, f->sink[0].why);
		usleep(20 * 1000);
	}
	t_moving = mono_ms();
	assert_int_equal(vmtest_ddvm(&f->t, (const char *const[]){ "status", "--run-dir",
								  f->t.run_dir, NULL }), 0);
	if (!strstr(f->t.log, "via stream, bridge connected"))
		fail_msg("ddvm status does not show vmk's NIC bridge connected:\n%s", f->t.log);

	/* the same TCP connection finishes: the VM's hash is the far end's */
	if (vmtest_vm_wait_line(&f->t, "vmk", "DDVM-CMD-END", SCRIPT_S, line, sizeof(line), NULL))
		fail_msg("%s", line);
	assert_int_equal(vmtest_vm_find(&f->t, "vmk", "DDVM-CMD-END ", 0, out, sizeof(out), NULL),
			 0);
	if (strcmp(out, "0"))
		fail_msg("vmk: its script ended with status %s (see %s/vmk/console.log)", out,
			 f->t.run_dir);
	console_sha(f, "vmk", "XFER ", sha_got);
	if (vmtest_sink_wait(&f->sink[0], sha_remote))
		fail_msg("remote end of vmk's stream: %s", f->sink[0].why);
	assert_int_equal(f->sink[0].bytes, (uint64_t)XFER_MIB << 20);
	if (strcmp(sha_remote, sha_got))
		fail_msg("vmk sent SHA-256 %s, the remote host got %s", sha_got, sha_remote);
	/* the same VM throughout, its bridge restarted exactly once */
	assert_int_equal(vm_num(f, "vmk", "qemu_pid", NULL), pid);
	assert_int_equal(bridge_num(f, "vmk", "nics", "restarts"), 1);
	assert_int_equal(bridge_num(f, "vmk", "nics", "connections"), 2);
	print_message("killed vmk's NIC bridge at %llu MiB of %d; restarted once, connected again "
		      "after %lld ms, the stream moved 1 MiB on %lld ms after the kill; %d MiB "
		      "arrived intact over one TCP connection\n", (unsigned long long)(at_kill >> 20),
		      XFER_MIB, t_connected - t_kill, t_moving - t_kill, XFER_MIB);
	scan_consoles(f, (const char *const[]){ nicdom, "vmk", NULL });
	if (vmtest_down(&f->t, true))
		fail_msg("ddvm down: %s", f->t.log);
	f->up = false;
	f->keep = false;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dd_killed_mid_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nic_bridge_killed_mid_stream, setup, teardown),
	};

	/* CLIENT_VMS_FILTER=test_nic_bridge_killed_mid_stream: one test alone, when chasing it */
	if (getenv("CLIENT_VMS_FILTER"))
		cmocka_set_test_filter(getenv("CLIENT_VMS_FILTER"));

	return cmocka_run_group_tests(tests, NULL, NULL);
}
