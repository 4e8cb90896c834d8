// SPDX-License-Identifier: GPL-2.0
/*
 * The front-end module (guest/front/ddvm_front.ko, the paper's client stub
 * drivers) in a real client VM: the stock kernel and the client image, its
 * disk and NIC reached only through channels of DD/OSes that the real
 * supervisor runs.
 *
 *  - disk: a malformed channels= list is refused, naming the item; then
 *    /dev/ddvmblk0 shows the DD/OS's disk, gets an ext4 file system and a
 *    64 MiB file tree with checksums, fsck is clean, the tree verifies
 *    after a remount with cold caches, the module unloads; and on the host,
 *    with the DD/OS down, the backing image holds a clean ext4 file system
 *    whose files have the sums of the tree's manifest;
 *  - the DD/OS is killed in the middle of a file-tree write: the write
 *    completes after the restart (the front end replays what was in
 *    flight to the new server generation), fsck is clean, the tree
 *    verifies, and so does the image on the host; the same when the DD/OS
 *    scribbles over our completion ring and fails ("corrupt"), where the
 *    garbage completions must be dropped;
 *  - NIC: ddvmnet0 with the channel's MAC and an address pings the remote
 *    host, sends it 64 MiB over TCP and receives 16 MiB from it,
 *    checksummed at both ends, with the channel's offloads: TSO frames
 *    cross it whole both ways (the front end's counters) and the DD/OS
 *    refuses none of them; the NIC DD/OS is killed in the middle of a
 *    second transfer: ddvmnet0 keeps its carrier and address while no
 *    server runs, the same TCP connection carries on, every byte arrives,
 *    and the new generation has offloads again; then the module is loaded
 *    again with net_offload=0: the plain channel (as with a DD/OS that
 *    offers no offloads) carries a third transfer, every byte, no TSO
 *    frame crossing it.
 *
 * The client's kernel log must stay clean (no BUG, WARNING, Oops).
 * Needs root (namespaces, taps).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bench_fio.h"
#include "clientvm.h"
#include "hub_spawn.h"
#include "state.h"
#include "vmtest.h"
#include "vmtest_net.h"

#define FRONT_KO	"/lib/modules/ddvm/ddvm_front.ko"
#define CHAN_PCI	"0000:00:10.0"	/* the first front channel's slot (contract) */
#define DISK_SECTORS	"524288"	/* the DD/OS's 256M disk */
#define TREE_MIB	64
#define FAULT_TREE_MIB	64		/* a DD/OS restart fits in its second half */
#define FAULT_AT		"filetree: 32 files"	/* about 28 MiB into it */
#define BOOT_MS		60000		/* QEMU start to DDVM-READY */
#define STEP_MS		300000		/* one step of a script (a 64 MiB tree, a transfer) */
#define SUBNET		41		/* 10.79.41.0/24, in namespaces of the test's own */
#define TAG		'e'
#define PORT		7041
#define XFER1_BYTES	(64u << 20)
#define XFER2_BYTES	(16u << 20)
#define XFER3_BYTES	(16u << 20)	/* from the remote to the client */
#define SEND_PORT	7042		/* where the remote sends it from */
#define GATE_PORT	7043		/* the client waits here until we looked at the DD/OS */
#define XFER4_BYTES	(8u << 20)	/* without offloads (net_offload=0) */
#define KILL_AFTER	(4u << 20)	/* bytes of the second transfer before the NIC DD/OS dies */
#define RX_TIMEOUT_S	90		/* a receive may wait out a DD/OS restart */

static struct {
	struct vmtest t;		/* the disk DD/OS */
	bool t_up;
	struct vmtest_net n;		/* the NIC DD/OS */
	bool n_up;
	struct clientvm vm;
	bool passed;			/* keep the run's files unless the test passed */
} g;

/* ----------------------------------------------------------- helpers */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Boot the client VM on hub socket @sock (its first front channel), kernel
 * command line @append plus the script @script; console in @dir.
 */
static void start_client(const char *dir, const char *sock, const char *append, const char *script)
{
	char chardev[256], cmdline[2048], console[160], b64[1800];
	const char *args[] = { "-chardev", chardev, "-device",
			       "ivshmem-doorbell,chardev=fch0,vectors=1,addr=0x10", NULL };
	struct clientvm_opts o = { .name = "front-client", .console = console, .append = cmdline,
				   .args = args };

	/* the whole kernel command line must stay under 2048 bytes (contract) */
	if (ddvm_base64(b64, sizeof(b64), script, strlen(script)) < 0)
		fail_msg("the client's script (%zu bytes) is too long for the kernel command line",
			 strlen(script));
	if (snprintf(cmdline, sizeof(cmdline), "ddvm.mode=client ddvm.halt=1 %s ddvm.cmd=%s", append,
		     b64) >= (int)sizeof(cmdline))
		fail_msg("the client's kernel command line is over %zu bytes", sizeof(cmdline) - 1);
	snprintf(chardev, sizeof(chardev), "socket,id=fch0,path=%s", sock);
	snprintf(console, sizeof(console), "%s/client.log", dir);
	if (clientvm_start(&g.vm, &o))
		fail_msg("%s", g.vm.why);
}

/* Wait for a console line starting with @prefix; the line in @line. */
static void expect(const char *prefix, int timeout_ms, char *line, size_t len)
{
	size_t n;

	if (clientvm_wait_line(&g.vm, prefix, timeout_ms, line, len))
		fail_msg("%s", g.vm.why);
	/* the serial console ends its lines with \r\n */
	for (n = line ? strlen(line) : 0; n && line[n - 1] == '\r'; n--)
		line[n - 1] = '\0';
}

/* The script's end: DDVM-CMD-END 0, then the VM powers off. */
static void expect_end(void)
{
	char line[128];
	int ret;

	expect("DDVM-CMD-END", STEP_MS, line, sizeof(line));
	if (strcmp(line, "DDVM-CMD-END 0"))
		fail_msg("the client's script failed (%s); console %s", line, g.vm.console);
	ret = clientvm_wait_exit(&g.vm, 60000);
	if (ret)
		fail_msg("the client VM did not power off cleanly (%d): %s", ret, g.vm.why);
}

/* The client's kernel log must have no BUG, WARNING, Oops or call trace. */
static void client_log_clean(void)
{
	static const char *const bad[] = { "BUG:", "WARNING:", "Oops", "Call Trace",
					   "general protection fault", "DDVM-FAIL" };
	char buf[1024];
	FILE *f = fopen(g.vm.console, "r");
	size_t i;

	if (!f)
		fail_msg("no client console at %s", g.vm.console);
	while (fgets(buf, sizeof(buf), f))
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(buf, bad[i])) {
				fclose(f);
				fail_msg("client kernel log (%s): %s", g.vm.console, buf);
			}
	fclose(f);
}

static void dd_log_clean(const struct vmtest *t, const char *domain)
{
	char line[512];

	if (vmtest_scan_console_of(t, domain, line, sizeof(line)))
		fail_msg("DD/OS %s kernel log (%s/%s/console.log): %s", domain, t->run_dir, domain,
			 line);
}

/* "ddvm inject --run-dir RUN DOMAIN WHAT"; for a kill, returns when QEMU is dead. */
static void inject(const char *run_dir, const char *domain, const char *what)
{
	char out[512];
	int ret;

	ret = hub_spawn_run((const char *const[]){ "inject", "--run-dir", run_dir, domain, what,
						   NULL }, false, out, sizeof(out));
	if (ret)
		fail_msg("ddvm inject %s %s: status %d: %s", domain, what, ret, out);
}

/* Restarts the supervisor recorded for the first domain (-1 if unreadable). */
static int restarts(const char *run_dir)
{
	struct ddvm_err err;
	json_t *st, *d;
	int n = -1;

	if (ddvm_state_load(run_dir, &st, &err))
		return -1;
	d = json_array_get(json_object_get(st, "domains"), 0);
	if (d)
		n = (int)json_integer_value(json_object_get(d, "restarts"));
	json_decref(st);
	return n;
}

/* The first channel's client MAC, as the supervisor gave it (state.json), in @buf. */
static const char *channel_mac(const char *run_dir, char *buf, size_t len)
{
	struct ddvm_err err;
	json_t *st, *ch;

	buf[0] = '\0';
	if (ddvm_state_load(run_dir, &st, &err))
		fail_msg("%s/state.json: %s", run_dir, err.msg);
	ch = json_array_get(json_object_get(json_array_get(json_object_get(st, "domains"), 0),
					    "channels"), 0);
	snprintf(buf, len, "%s", json_string_value(json_object_get(ch, "mac")) ?: "?");
	json_decref(st);
	return buf;
}

/* e2fsck -fn on the host: the image a DD/OS wrote must be a clean ext4 file system. */
static void host_fsck(const char *image)
{
	const char *e2fsck = access("/usr/sbin/e2fsck", X_OK) ? "/sbin/e2fsck" : "/usr/sbin/e2fsck";
	char cmd[512], out[4096];
	size_t n;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s -fn '%s' 2>&1", e2fsck, image);
	p = popen(cmd, "r");
	if (!p)
		fail_msg("cannot run %s: %s", e2fsck, strerror(errno));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	if (status)
		fail_msg("%s -fn %s on the host: status 0x%x:\n%s", e2fsck, image, status, out);
}

/* ------------------------------------------------------------- disk */

static void disk_up(void)
{
	if (vmtest_up(&g.t, "virtio-blk", "256M", 1))
		fail_msg("ddvm up failed:\n%s", g.t.log);
	g.t_up = true;
}

/* Run @cmd through the shell; its first output line, without its end, in @out. */
static int run_line(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");

	out[0] = '\0';
	if (!p)
		return -errno;
	if (fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	while (fgetc(p) != EOF)
		;
	return pclose(p);
}

/*
 * The first files of the tree's manifest, read out of the image on the host
 * (debugfs): the bytes the client wrote are in the image, not only in the
 * client's caches.
 */
static void host_check_files(const char *image, unsigned int nr)
{
	const char *debugfs = access("/usr/sbin/debugfs", X_OK) ? "/sbin/debugfs" : "/usr/sbin/debugfs";
	char cmd[512], entry[256], sum[160];
	unsigned int i;

	for (i = 1; i <= nr; i++) {
		snprintf(cmd, sizeof(cmd), "%s -R 'cat /.manifest' '%s' 2>/dev/null | sed -n %up",
			 debugfs, image, i);
		if (run_line(cmd, entry, sizeof(entry)) || strlen(entry) < 67 || entry[64] != ' ')
			fail_msg("manifest line %u in %s on the host: \"%s\"", i, image, entry);
		entry[64] = '\0';
		snprintf(cmd, sizeof(cmd), "%s -R 'cat /%s' '%s' 2>/dev/null | sha256sum", debugfs,
			 entry + 66, image);
		if (run_line(cmd, sum, sizeof(sum)) || strncmp(sum, entry, 64))
			fail_msg("%s in %s on the host: sha256 %.64s, the manifest says %s", entry + 66,
				 image, sum, entry);
	}
}

/*
 * Shut the disk DD/OS down (its image stays): the image must be a clean
 * ext4 file system holding the tree's files.
 */
static void disk_down_and_check(void)
{
	if (vmtest_down(&g.t, true))
		fail_msg("ddvm down: %s", g.t.log);
	g.t_up = false;
	dd_log_clean(&g.t, "dd");
	host_fsck(g.t.image);
	host_check_files(g.t.image, 3);
}

/*
 * The standard check (contracts.md item 3), with cold caches before fsck and
 * before the verify so both read through the channel.
 */
#define STR(x)		#x
#define FS_WRITE(mib) \
	"mkfs.ext4 -q -F /dev/ddvmblk0\n" \
	"mount /dev/ddvmblk0 /mnt\n" \
	"/ddvm/run/filetree write /mnt " STR(mib) "\n" \
	"umount /mnt\n" \
	"echo 3 >/proc/sys/vm/drop_caches\n"
#define FS_CHECK \
	"e2fsck -fn /dev/ddvmblk0\n" \
	"echo FSCK-OK\n" \
	"mount /dev/ddvmblk0 /mnt\n" \
	"/ddvm/run/filetree verify /mnt\n" \
	"umount /mnt\n"

static const char blk_script[] =
	"K=" FRONT_KO "\n"
	"insmod $K channels=" CHAN_PCI "=blk,00:11.0=net 2>/dev/null && echo BAD-LIST-TAKEN\n"
	"dmesg | grep -q \"bad channels= item '00:11.0=net'\" && echo LIST-REFUSED\n"
	"set -e\n"
	"insmod $K channels=" CHAN_PCI "=blk\n"
	"echo GEOMETRY $(cat /sys/block/ddvmblk0/size /sys/block/ddvmblk0/queue/logical_block_size)\n"
	FS_WRITE(TREE_MIB) FS_CHECK
	"rmmod ddvm_front\n"
	"dmesg | grep -q 'ddvmblk0: removed after' && echo REMOVED\n";

static void test_blk_filetree(void **state)
{
	char sock[160], line[256];

	disk_up();
	/* the module is loaded by the script, after a malformed list first */
	start_client(g.t.dir, vmtest_channel(&g.t, "c0", sock, sizeof(sock)), "", blk_script);
	expect("DDVM-CMD-BEGIN", BOOT_MS, NULL, 0);
	expect("LIST-REFUSED", STEP_MS, NULL, 0);
	expect("GEOMETRY", STEP_MS, line, sizeof(line));
	if (strcmp(line, "GEOMETRY " DISK_SECTORS " 512"))
		fail_msg("/dev/ddvmblk0 is not the DD/OS's 256 MiB disk of 512-byte blocks: %s", line);
	expect("FILETREE-OK", STEP_MS, line, sizeof(line));
	print_message("  write: %s\n", line);
	expect("FSCK-OK", STEP_MS, NULL, 0);
	expect("FILETREE-OK", STEP_MS, line, sizeof(line));
	print_message("  verify after remount, cold caches: %s\n", line);
	expect("REMOVED", STEP_MS, NULL, 0);
	expect_end();
	client_log_clean();
	disk_down_and_check();
	g.passed = true;
}

static const char fault_script[] =
	"set -e\n"
	FS_WRITE(FAULT_TREE_MIB) FS_CHECK
	"echo \"REPLAY $(dmesg | grep 'ddvmblk0: server generation' | tail -n 1)\"\n"
	"rmmod ddvm_front\n"
	"echo \"REMOVED $(dmesg | grep 'ddvmblk0: removed after')\"\n";

/*
 * The disk DD/OS fails (@what: kill, corrupt) in the middle of a file-tree
 * write: the client's file system must not notice more than a pause.  A
 * corrupting DD/OS scribbles over our completion ring first: the client
 * must drop the garbage, and only then.
 */
static void run_blk_fault(const char *what)
{
	char sock[160], line[512], tail[4096];
	unsigned long long bad;
	const char *p;

	disk_up();
	start_client(g.t.dir, vmtest_channel(&g.t, "c0", sock, sizeof(sock)),
		     "ddvm.front=" CHAN_PCI "=blk", fault_script);
	expect("DDVM-CMD-BEGIN", BOOT_MS, NULL, 0);
	expect(FAULT_AT, STEP_MS, NULL, 0);
	inject(g.t.run_dir, "dd", what);
	clientvm_console_tail(&g.vm, tail, sizeof(tail));
	if (strstr(tail, "FILETREE-OK"))
		fail_msg("the file tree was written before the DD/OS failed: nothing was tested");

	expect("FILETREE-OK", STEP_MS, line, sizeof(line));
	print_message("  write across the %s: %s\n", what, line);
	expect("FSCK-OK", STEP_MS, NULL, 0);
	expect("FILETREE-OK", STEP_MS, line, sizeof(line));
	print_message("  verify: %s\n", line);
	/* the front end saw the new server and put what was in flight to it */
	expect("REPLAY", STEP_MS, line, sizeof(line));
	if (!strstr(line, "ddvmblk0: server generation"))
		fail_msg("the client never laid out for a new server generation: %s", line);
	print_message("  client: %s\n", strstr(line, "ddvmblk0"));
	expect("REMOVED", STEP_MS, line, sizeof(line));
	p = strstr(line, "layouts, ");
	if (!p || sscanf(p, "layouts, %llu bad completions", &bad) != 1)
		fail_msg("no counters from the module's removal: %s", line);
	if (!strcmp(what, "corrupt") && !bad)
		fail_msg("corrupt: the client took no garbage completion: %s", line);
	if (strcmp(what, "corrupt") && bad)
		fail_msg("%s: %llu bad completions: %s", what, bad, line);
	expect_end();
	client_log_clean();
	if (restarts(g.t.run_dir) != 1)
		fail_msg("the supervisor restarted the DD/OS %d times, want 1", restarts(g.t.run_dir));
	disk_down_and_check();
	g.passed = true;
}

static void test_blk_kill_mid_write(void **state)
{
	run_blk_fault("kill");
}

static void test_blk_corrupt_mid_write(void **state)
{
	run_blk_fault("corrupt");
}

/* -------------------------------------------------------------- net */

/*
 * The remote host's end of the transfers: accept connections one after
 * the other, count each one's bytes and hash them with sha256sum.
 */
struct rx {
	int listen_fd;
	unsigned int nr;		/* connections to take */
	uint64_t bytes[3];		/* atomic: received so far */
	char sha[3][65];
	bool done[3];			/* atomic */
	char why[256];
};

/* A sha256sum process: bytes go to *@in, the digest comes from *@out. */
struct sha_child {
	int in, out;
	pid_t pid;
};

static int sha_start(struct sha_child *c)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(out, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execlp("sha256sum", "sha256sum", NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	return 0;
}

/* End the input and read the hex digest into @sha ("" if there is none). */
static void sha_end(struct sha_child *c, char sha[65])
{
	ssize_t r;
	int status;

	close(c->in);
	r = read(c->out, sha, 64);
	sha[r == 64 ? 64 : 0] = '\0';
	close(c->out);
	waitpid(c->pid, &status, 0);
}

/* Feed @fd's stream to sha256sum until EOF; the hex digest to @sha. */
static int hash_stream(struct rx *rx, unsigned int k, int fd)
{
	struct sha_child c;
	char buf[65536];
	ssize_t r;
	int ret;

	ret = sha_start(&c);
	if (ret)
		return ret;
	for (;;) {
		r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (write(c.in, buf, (size_t)r) != r)
			break;
		__atomic_add_fetch(&rx->bytes[k], (uint64_t)r, __ATOMIC_RELAXED);
	}
	if (r < 0)
		snprintf(rx->why, sizeof(rx->why), "connection %u: recv after %llu bytes: %s", k + 1,
			 (unsigned long long)rx->bytes[k], strerror(errno));
	sha_end(&c, rx->sha[k]);
	return 0;
}

static void *rx_main(void *arg)
{
	struct rx *rx = arg;
	struct timeval tv = { .tv_sec = RX_TIMEOUT_S };
	struct pollfd p = { .fd = rx->listen_fd, .events = POLLIN };
	unsigned int k;
	int fd;

	for (k = 0; k < rx->nr; k++) {
		if (poll(&p, 1, STEP_MS) != 1) {
			snprintf(rx->why, sizeof(rx->why), "no connection %u within %d ms", k + 1, STEP_MS);
			break;
		}
		fd = accept4(rx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			snprintf(rx->why, sizeof(rx->why), "accept: %s", strerror(errno));
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		hash_stream(rx, k, fd);
		close(fd);	/* the client's nc exits when we close */
		__atomic_store_n(&rx->done[k], true, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int rx_listen(const char *ns, const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	fd = vmtest_netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 2)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* The VM said "SENT k <sha256>": the remote must have the same bytes. */
static void check_transfer(struct rx *rx, unsigned int k, uint64_t bytes)
{
	char line[160], want[80];
	int64_t end;

	snprintf(want, sizeof(want), "SENT %u ", k + 1);
	expect(want, STEP_MS, line, sizeof(line));
	end = now_ms() + 30000;
	while (!__atomic_load_n(&rx->done[k], __ATOMIC_ACQUIRE) && now_ms() < end)
		usleep(20000);
	if (!__atomic_load_n(&rx->done[k], __ATOMIC_ACQUIRE))
		fail_msg("transfer %u: the remote never saw its end (%s)", k + 1, rx->why);
	if (rx->bytes[k] != bytes)
		fail_msg("transfer %u: the remote received %llu bytes, want %llu (%s)", k + 1,
			 (unsigned long long)rx->bytes[k], (unsigned long long)bytes, rx->why);
	if (strcmp(line + strlen(want), rx->sha[k]))
		fail_msg("transfer %u: sent sha256 %s, the remote received %s", k + 1,
			 line + strlen(want), rx->sha[k]);
	print_message("  transfer %u: %llu bytes, sha256 %.16s... at both ends\n", k + 1,
		      (unsigned long long)bytes, rx->sha[k]);
}

/*
 * The remote host's sending end: one connection on SEND_PORT gets
 * XFER3_BYTES of pseudo-random data, hashed with sha256sum as they go out.
 */
struct tx {
	int listen_fd;
	char sha[65];
	bool done;			/* atomic */
	char why[256];
};

static int send_stream(struct tx *tx, int fd)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, buf[8192];
	struct sha_child c;
	uint32_t sent, i;
	int ret;

	ret = sha_start(&c);
	if (ret) {
		snprintf(tx->why, sizeof(tx->why), "cannot run sha256sum: %s", strerror(-ret));
		return ret;
	}
	for (sent = 0; sent < XFER3_BYTES; sent += sizeof(buf)) {
		for (i = 0; i < sizeof(buf) / sizeof(buf[0]); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (write(c.in, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    send(fd, buf, sizeof(buf), MSG_NOSIGNAL) != (ssize_t)sizeof(buf)) {
			snprintf(tx->why, sizeof(tx->why), "send after %u bytes: %s", sent,
				 strerror(errno));
			break;
		}
	}
	sha_end(&c, tx->sha);
	return 0;
}

static void *tx_main(void *arg)
{
	struct tx *tx = arg;
	struct timeval tv = { .tv_sec = RX_TIMEOUT_S };
	struct pollfd p = { .fd = tx->listen_fd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 2 * STEP_MS) != 1) {
		snprintf(tx->why, sizeof(tx->why), "no connection within %d ms", 2 * STEP_MS);
		goto out;
	}
	fd = accept4(tx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		snprintf(tx->why, sizeof(tx->why), "accept: %s", strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	send_stream(tx, fd);
	close(fd);	/* the client's nc exits at our end of the stream */
out:
	__atomic_store_n(&tx->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* The VM said "GOT <bytes> <sha256>  -": what the remote sent, every byte. */
static void check_received(struct tx *tx)
{
	char line[192], sha[65];
	unsigned long long bytes;
	int64_t end = now_ms() + 30000;

	expect("GOT ", STEP_MS, line, sizeof(line));
	while (!__atomic_load_n(&tx->done, __ATOMIC_ACQUIRE) && now_ms() < end)
		usleep(20000);
	if (!__atomic_load_n(&tx->done, __ATOMIC_ACQUIRE) || tx->why[0])
		fail_msg("the remote's transfer to the client: %s", tx->why[0] ? tx->why : "never ended");
	if (sscanf(line, "GOT %llu %64s", &bytes, sha) != 2)
		fail_msg("the client's receive: %s", line);
	if (bytes != XFER3_BYTES || strcmp(sha, tx->sha))
		fail_msg("the client received %llu bytes, sha256 %s; the remote sent %u, sha256 %s",
			 bytes, sha, XFER3_BYTES, tx->sha);
	print_message("  remote to client: %u bytes, sha256 %.16s... at both ends\n",
		      XFER3_BYTES, tx->sha);
}

/*
 * "OFFL K <offload> <tx_gso> <rx_gso> <rx_bad_hdr>" from ddvmnet0's
 * counters (/sys/class/net/ddvmnet0/ddvm): with @on, the layout carries
 * offloads, more TSO frames than @tx_before crossed the channel whole
 * (and GRO frames, if @want_rx); without, none did.  Never a frame the
 * DD/OS wrote refused.  Return: the TSO frames sent so far.
 */
static unsigned long long check_offloads(unsigned int k, unsigned long long tx_before,
					 bool want_rx, bool on_wanted)
{
	unsigned long long on, tx_gso, rx_gso, bad;
	char line[192], want[16];

	snprintf(want, sizeof(want), "OFFL %u ", k);
	expect(want, STEP_MS, line, sizeof(line));
	if (sscanf(line + strlen(want), "%llu %llu %llu %llu", &on, &tx_gso, &rx_gso, &bad) != 4)
		fail_msg("no offload counters from ddvmnet0: %s", line);
	if (!on_wanted) {
		if (on || tx_gso || rx_gso || bad)
			fail_msg("ddvmnet0 loaded with net_offload=0: %s", line);
		print_message("  no offloads: no TSO frame crossed the channel\n");
		return 0;
	}
	if (on != 1)
		fail_msg("ddvmnet0's layout does not carry the channel's offloads: %s", line);
	if (tx_gso <= tx_before)
		fail_msg("no TSO frame crossed the channel whole (%s, %llu before)", line, tx_before);
	if (want_rx && !rx_gso)
		fail_msg("no GRO frame of the DD/OS reached ddvmnet0 whole: %s", line);
	if (bad)
		fail_msg("ddvmnet0 refused %llu offloaded frames of the DD/OS: %s", bad, line);
	print_message("  offloads %u: %llu TSO frames out, %llu GRO frames in, none refused\n", k,
		      tx_gso, rx_gso);
	return tx_gso;
}

/*
 * The DD/OS's view of the channel (state.json, sampled by the supervisor):
 * it runs our layout with offloads and refused none of our frames.
 */
static void dd_offload_clean(const char *run_dir)
{
	struct ddvm_err err;
	json_t *st, *net;
	long long bad = -1, cut = -1;
	bool on = false;

	if (ddvm_state_load(run_dir, &st, &err))
		fail_msg("%s/state.json: %s", run_dir, err.msg);
	net = json_object_get(json_object_get(json_array_get(json_object_get(json_array_get(
		json_object_get(st, "domains"), 0), "channels"), 0), "server"), "net");
	if (net) {
		on = json_is_true(json_object_get(net, "offload"));
		bad = json_integer_value(json_object_get(net, "tx_bad_hdr"));
		cut = json_integer_value(json_object_get(net, "rx_segmented"));
	}
	json_decref(st);
	if (!on || bad)
		fail_msg("the NIC DD/OS's channel: offload %d, %lld frames refused (%s/state.json)",
			 on, bad, run_dir);
	print_message("  NIC DD/OS: offloads on, no frame refused, %lld GSO frames cut up for us\n",
		      cut);
}

/* Let the client go on: a connection on the gate, closed at once. */
static void open_gate(int gate_fd)
{
	struct pollfd p = { .fd = gate_fd, .events = POLLIN };
	int fd;

	if (poll(&p, 1, STEP_MS) != 1)
		fail_msg("the client never came to the gate (port %d)", GATE_PORT);
	fd = accept4(gate_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		fail_msg("accept on the gate: %s", strerror(errno));
	close(fd);
}

/*
 * x K BYTES: BYTES of random data to the remote, hashed as they go out.
 * y: what the remote sends, counted and hashed.
 * o K: ddvmnet0's offload counters.
 * After the restart, the client waits for the test to look at the DD/OS
 * (GATE_PORT), then loads the module again without offloads.
 * The second transfer runs while the NIC DD/OS is killed; meanwhile the
 * carrier is sampled every 100 ms: it must stay until the front end lays
 * out for the new server, and after that it is the new NIC's (counted for
 * 5 s, while that NIC finds its link).
 */
#define NET_SCRIPT(remote) \
	"R=" remote "\n" \
	"ping -c 3 -W 2 $R >/dev/null && echo PING-OK\n" \
	"x(){ mkfifo /tmp/f$1; sha256sum /tmp/f$1 >/tmp/s$1 &\n" \
	" head -c $2 /dev/urandom | tee /tmp/f$1 | nc $R %d; wait; read s r </tmp/s$1; echo \"SENT $1 $s\"; }\n" \
	"y(){ nc $R %d </dev/null >/tmp/y; echo \"GOT $(wc -c </tmp/y) $(sha256sum </tmp/y)\"; rm /tmp/y; }\n" \
	"o(){ echo OFFL $1 $(cd /sys/class/net/ddvmnet0/ddvm; cat offload tx_gso rx_gso rx_bad_hdr); }\n" \
	"x 1 %u\n" \
	"y\n" \
	"o 1\n" \
	"x 2 %u &\n" \
	"echo XFER2\n" \
	"i=0; d=0; a=0; e=900; f=never\n" \
	"while [ $i -lt $e ]; do read c </sys/class/net/ddvmnet0/carrier\n" \
	" [ $f = never ] && dmesg | grep -q 'ddvmnet0: server generation' && f=$i && e=$((i+50))\n" \
	" [ \"$c\" = 1 ] || { [ $f = never ] && d=$((d+1)) || a=$((a+1)); }\n" \
	" usleep 100000; i=$((i+1)); done\n" \
	"echo \"NEWGEN at=$f carrier_off=$d after=$a\"\n" \
	"wait\n" \
	"o 2\n" \
	"i=0; until ping -c 1 -W 2 $R >/dev/null; do i=$((i+1)); [ $i -lt 30 ] || break; done\n" \
	"echo \"PING-BACK $i\"\n" \
	"read o </sys/class/net/ddvmnet0/operstate\n" \
	"echo \"IF $o $(cat /sys/class/net/ddvmnet0/address) $(ip -4 addr show ddvmnet0 | grep -o 'inet [0-9./]*')\"\n" \
	"nc $R %d </dev/null\n" \
	"rmmod ddvm_front; insmod " FRONT_KO " channels=" CHAN_PCI "=net net_offload=0\n" \
	"ip a add 10.79.%d.10/24 dev ddvmnet0; ip l set ddvmnet0 up\n" \
	"x 3 %u\n" \
	"o 3\n"

static void test_net(void **state)
{
	struct vmtest_net *n = &g.n;
	struct rx rx = { .nr = 3 };
	struct tx tx = { 0 };
	char sock[192], script[2048], append[256], line[256], want[128], mac[18];
	unsigned int polls, off, after;
	unsigned long long tso;
	pthread_t thread, sender;
	int gate_fd;
	int64_t end;
	int ret;

	ret = vmtest_net_up(n, "e1000", SUBNET, TAG, 1);
	g.n_up = true;
	if (ret)
		fail_msg("%s", n->why);
	rx.listen_fd = rx_listen(n->remote_ns, n->remote_addr, PORT);
	if (rx.listen_fd < 0)
		fail_msg("listening on %s:%d in %s: %s", n->remote_addr, PORT, n->remote_ns,
			 strerror(-rx.listen_fd));
	tx.listen_fd = rx_listen(n->remote_ns, n->remote_addr, SEND_PORT);
	if (tx.listen_fd < 0)
		fail_msg("listening on %s:%d in %s: %s", n->remote_addr, SEND_PORT, n->remote_ns,
			 strerror(-tx.listen_fd));
	assert_int_equal(pthread_create(&thread, NULL, rx_main, &rx), 0);
	assert_int_equal(pthread_create(&sender, NULL, tx_main, &tx), 0);

	gate_fd = rx_listen(n->remote_ns, n->remote_addr, GATE_PORT);
	if (gate_fd < 0)
		fail_msg("listening on %s:%d in %s: %s", n->remote_addr, GATE_PORT, n->remote_ns,
			 strerror(-gate_fd));
	snprintf(script, sizeof(script), NET_SCRIPT("%s"), n->remote_addr, PORT, SEND_PORT,
		 XFER1_BYTES, XFER2_BYTES, GATE_PORT, SUBNET, XFER4_BYTES);
	snprintf(append, sizeof(append), "ddvm.front=" CHAN_PCI "=net ddvm.ip=ddvmnet0=10.79.%d.10/24",
		 SUBNET);
	start_client(n->vm.dir, vmtest_net_sock(n, 0, sock, sizeof(sock)), append, script);
	expect("DDVM-CMD-BEGIN", BOOT_MS, NULL, 0);
	expect("PING-OK", STEP_MS, NULL, 0);
	check_transfer(&rx, 0, XFER1_BYTES);
	check_received(&tx);
	tso = check_offloads(1, 0, true, true);

	/* the NIC DD/OS dies with the second transfer under way */
	expect("XFER2", STEP_MS, NULL, 0);
	end = now_ms() + STEP_MS;
	while (__atomic_load_n(&rx.bytes[1], __ATOMIC_RELAXED) < KILL_AFTER && now_ms() < end &&
	       clientvm_running(&g.vm))
		usleep(20000);
	if (rx.bytes[1] < KILL_AFTER)
		fail_msg("the second transfer did not get going: %llu bytes (%s)",
			 (unsigned long long)rx.bytes[1], rx.why);
	inject(n->vm.run_dir, n->domain, "kill");
	expect("NEWGEN", STEP_MS, line, sizeof(line));
	if (sscanf(line, "NEWGEN at=%u carrier_off=%u after=%u", &polls, &off, &after) != 3)
		fail_msg("ddvmnet0 never laid out for a new server: %s", line);
	if (off)
		fail_msg("ddvmnet0 lost its carrier while the NIC DD/OS restarted: %s", line);
	/* then the carrier is the new NIC's, which may still be finding its link */
	print_message("  NIC DD/OS killed %llu bytes into transfer 2; new server after %u polls of 100 ms, "
		      "carrier kept; then %u polls without it while the new NIC found its link\n",
		      (unsigned long long)KILL_AFTER, polls, after);
	check_transfer(&rx, 1, XFER2_BYTES);
	/* the new generation has them too: more TSO frames went out */
	check_offloads(2, tso, false, true);
	expect("PING-BACK", STEP_MS, line, sizeof(line));
	if (sscanf(line, "PING-BACK %u", &polls) != 1 || polls >= 30)
		fail_msg("the remote never answered a ping again after the restart: %s", line);
	/* up, with the channel's address from the DD/OS and the address init gave it */
	snprintf(want, sizeof(want), "IF up %s inet 10.79.%d.10/24",
		 channel_mac(n->vm.run_dir, mac, sizeof(mac)), SUBNET);
	expect("IF ", STEP_MS, line, sizeof(line));
	if (strcmp(line, want))
		fail_msg("ddvmnet0 after the restart: \"%s\", want \"%s\"", line, want);
	dd_offload_clean(n->vm.run_dir);
	open_gate(gate_fd);
	/* the plain channel: no offloads, every byte all the same */
	check_transfer(&rx, 2, XFER4_BYTES);
	check_offloads(3, 0, false, false);
	expect_end();
	pthread_join(thread, NULL);
	pthread_join(sender, NULL);
	close(rx.listen_fd);
	close(tx.listen_fd);
	close(gate_fd);
	client_log_clean();
	if (restarts(n->vm.run_dir) != 1)
		fail_msg("the supervisor restarted the NIC DD/OS %d times, want 1",
			 restarts(n->vm.run_dir));
	g.passed = true;
}

/* ------------------------------------------------------------ fixture */

static int setup(void **state)
{
	memset(&g, 0, sizeof(g));
	return 0;
}

static int teardown(void **state)
{
	const char *dir = g.t_up || g.t.dir[0] ? g.t.dir : g.n.vm.dir;

	clientvm_stop(&g.vm);
	if (g.t_up)
		vmtest_down(&g.t, !g.passed);
	else if (g.t.dir[0] && g.passed)
		vmtest_down(&g.t, false);
	if (g.n_up)
		vmtest_net_down(&g.n, !g.passed);
	if (!g.passed && dir[0])
		print_message("  kept %s (client console: client.log)\n", dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_filetree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_kill_mid_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blk_corrupt_mid_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
