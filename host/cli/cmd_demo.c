// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm demo: the main job on built-in defaults.  Boots a driver domain that
 * drives a disk with Linux's own driver, writes and verifies data from this
 * host program through its channel, prints what happened, shuts it down.
 * Uses its own run directory and scratch image under var/demo, so it never
 * touches a user's domains or disks.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "blk_client.h"
#include "blk_verify.h"
#include "commands.h"
#include "units.h"

#define DEMO_DIR	"var/demo"
#define DEMO_RUN	DEMO_DIR "/run"
#define DEMO_CONFIG	DEMO_DIR "/ddvm.json"
#define DEMO_SOCK	DEMO_RUN "/hub/demo.c0.sock"

static int demo_run_self(const char *const *args)
{
	const char *argv[8] = { "/proc/self/exe" };
	int status, n = 1;
	pid_t pid;

	while (*args && n < 7)
		argv[n++] = *args++;
	argv[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static int demo_config(const char *controller)
{
	FILE *f;

	if (mkdir("var", 0755) && errno != EEXIST)
		return -errno;
	if (mkdir(DEMO_DIR, 0755) && errno != EEXIST)
		return -errno;
	f = fopen(DEMO_CONFIG, "w");
	if (!f)
		return -errno;
	fprintf(f, "{ \"run_dir\": \"%s\",\n  \"domains\": [ { \"name\": \"demo\",\n"
		   "    \"disk\": { \"image\": \"%s/disk.img\", \"size\": \"512M\", \"controller\": \"%s\" },\n"
		   "    \"channels\": [ { \"name\": \"c0\" } ] } ] }\n",
		DEMO_RUN, DEMO_DIR, controller);
	return fclose(f) ? -errno : 0;
}

static void demo_report(const char *what, const struct ddvm_verify_result *r)
{
	char w[32], rd[32];

	printf("  %-28s wrote %9s at %7.1f MiB/s, read back %9s at %7.1f MiB/s, %llu mismatches\n",
	       what, ddvm_format_human(r->bytes_written, w, sizeof(w)),
	       r->write_seconds > 0 ? r->bytes_written / r->write_seconds / 1048576 : 0.0,
	       ddvm_format_human(r->bytes_read, rd, sizeof(rd)),
	       r->read_seconds > 0 ? r->bytes_read / r->read_seconds / 1048576 : 0.0,
	       (unsigned long long)r->mismatches);
}

static int demo_io(struct ddvm_blk *blk, uint64_t *verified)
{
	const struct ddvm_verify_opts steps[] = {
		{ .block = 1 << 20, .qd = 8, .seed = 1 },				/* whole disk */
		{ .random_ops = 2000, .block = 256 << 10, .qd = 32, .seed = 2 },
		{ .random_ops = 4000, .block = 4096, .qd = 32, .seed = 3 },
	};
	const char *names[] = { "sequential 1 MiB, QD 8", "random up to 256 KiB, QD 32",
				"random 512 B..4 KiB, QD 32" };
	struct ddvm_verify_result r;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		printf("[%zu/3] %s ...\n", i + 1, names[i]);
		fflush(stdout);
		ret = ddvm_blk_verify(blk, &steps[i], &r);
		demo_report(names[i], &r);
		if (ret) {
			fprintf(stderr, "ddvm demo: verification failed: %s%s\n", strerror(-ret),
				r.mismatches ? " (data mismatch)" : "");
			return ret;
		}
		*verified += r.bytes_read;
	}
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	static const struct option opts[] = { { "controller", required_argument, NULL, 'c' },
					      { "keep", no_argument, NULL, 'k' }, { 0 } };
	const char *controller = "virtio-blk";
	const struct ddvm_blk_info *info;
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;
	struct ddvm_blk *blk;
	uint64_t verified = 0;
	bool keep = false;
	char sz[32];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c') {
			controller = optarg;
		} else if (c == 'k') {
			keep = true;
		} else {
			fprintf(stderr, "usage: ddvm demo [--controller virtio-blk|nvme|ahci] [--keep]\n");
			return 2;
		}
	}
	if (ddvm_accel_detect(&accel, &err)) {
		fprintf(stderr, "ddvm demo: %s\n", err.msg);
		return 1;
	}
	printf("ddvm demo: a driver domain serves a %s disk to this host program\n", controller);
	ret = demo_config(controller);
	if (ret) {
		fprintf(stderr, "ddvm demo: cannot write %s: %s\n", DEMO_CONFIG, strerror(-ret));
		return 1;
	}
	demo_run_self((const char *const[]){ "down", "--run-dir", DEMO_RUN, NULL }); /* leftovers */
	if (demo_run_self((const char *const[]){ "up", DEMO_CONFIG, NULL })) {
		fprintf(stderr, "ddvm demo: the driver domain did not come up (see %s/demo/console.log)\n",
			DEMO_RUN);
		return 1;
	}
	ret = ddvm_blk_open(DEMO_SOCK, 20000, &blk, &err);
	if (ret) {
		fprintf(stderr, "ddvm demo: %s\n", err.msg);
		goto out_down;
	}
	info = ddvm_blk_info(blk);
	ret = demo_io(blk, &verified);
	printf("\nsummary\n");
	printf("  accelerator   %s (%s)\n", accel.kind == DDVM_ACCEL_KVM ? "kvm" : "tcg", accel.reason);
	printf("  controller    %s, driven in the DD/OS by %s as %s\n", controller, info->driver,
	       info->export_name);
	printf("  disk          %s, channel %s\n", ddvm_format_size(info->capacity, sz, sizeof(sz)),
	       DEMO_SOCK);
	printf("  verified      %s read back and checked, %s\n",
	       ddvm_format_human(verified, sz, sizeof(sz)), ret ? "FAILED" : "all correct");
	ddvm_blk_close(blk);
out_down:
	if (!keep)
		demo_run_self((const char *const[]){ "down", "--run-dir", DEMO_RUN, NULL });
	else
		printf("  left running: ddvm status --run-dir %s; ddvm down --run-dir %s\n", DEMO_RUN,
		       DEMO_RUN);
	return ret ? 1 : 0;
}
