// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm campaign: many faults in a row against a block DD/OS of its own,
 * with verified I/O running throughout, and an account of every recovery,
 * request and acknowledged byte at the end.  Uses its own run directory and
 * scratch image (var/campaign by default), never a user's domains or disks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blk_client.h"
#include "campaign.h"
#include "commands.h"

#define CAMPAIGN_RUN		"var/campaign/run"
#define CAMPAIGN_DOMAIN		"camp0"
#define CAMPAIGN_DISK_SIZE	(256ull << 20)
#define CAMPAIGN_QD		16
#define CAMPAIGN_RECOVER_MS	30000
#define CAMPAIGN_OPEN_MS	30000
#define CAMPAIGN_PATH_MAX	512

#define CAMPAIGN_USAGE \
	"usage: ddvm campaign [--faults N] [--seed S] [--controller C] [--spare]\n" \
	"                     [--run-dir DIR] [--json FILE]\n" \
	"  Boots block domain " CAMPAIGN_DOMAIN " (run dir DIR, default " CAMPAIGN_RUN ";\n" \
	"  its config and 256M scratch image go beside DIR), keeps verified random I/O\n" \
	"  going at QD 16 and injects N random faults (default 20) 0.5-3 s apart,\n" \
	"  each expected to recover within 30 s; then compares the whole image with\n" \
	"  the acknowledged writes and prints a table per fault kind.\n"

/* Run this binary with @args; its output into @out (may be NULL). Return: exit status or -errno. */
static int run_self(const char *const *args, char *out, size_t len)
{
	const char *argv[12] = { "/proc/self/exe" };
	char sink[256];
	int pfd[2], status, n = 1;
	size_t used = 0;
	ssize_t r;
	pid_t pid;

	while (*args && n < 11)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (!pid) {
		/* only async-signal-safe calls: the campaign is multi-threaded */
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(pfd[1]);
	if (!out || len < 2) {
		out = sink;
		len = sizeof(sink);
	}
	while ((r = read(pfd[0], out + used, len - 1 - used)) > 0) {
		used += (size_t)r;
		if (used >= len - 1)
			used = 0;	/* keep reading: a full pipe would block the child */
	}
	out[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct campaign_ctx {
	const char *run_dir;
};

static int campaign_inject(void *arg, const char *kind, char *out, size_t len)
{
	struct campaign_ctx *ctx = arg;
	int ret;

	ret = run_self((const char *const[]){ "inject", "--run-dir", ctx->run_dir,
					      CAMPAIGN_DOMAIN, kind, NULL }, out, len);
	return ret ? (ret < 0 ? ret : -EIO) : 0;
}

static int write_config(const char *path, const char *run_dir, const char *image,
			const char *controller, bool spare, unsigned int faults)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	/* room for every fault in the restart window: the campaign is the policy's test */
	fprintf(f, "{ \"run_dir\": \"%s\",\n  \"domains\": [ { \"name\": \"%s\",\n"
		   "    \"hang_timeout\": 3,\n"
		   "    \"restart\": { \"max_attempts\": %u, \"window\": 60 },\n"
		   "    \"warm_spare\": %s,\n"
		   "    \"disk\": { \"image\": \"%s\", \"size\": \"256M\", \"controller\": \"%s\" },\n"
		   "    \"channels\": [ { \"name\": \"c0\", \"size\": \"64M\" } ] } ] }\n",
		run_dir, CAMPAIGN_DOMAIN, faults + 10 > 1000 ? 1000 : faults + 10,
		spare ? "true" : "false", image, controller);
	return fclose(f) ? -errno : 0;
}

static int mkdir_p(const char *dir)
{
	char buf[CAMPAIGN_PATH_MAX], *p;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int cmd_campaign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "faults", required_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "controller", required_argument, NULL, 'c' },
		{ "spare", no_argument, NULL, 'S' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char base[CAMPAIGN_PATH_MAX - 64], cfg[CAMPAIGN_PATH_MAX], image[CAMPAIGN_PATH_MAX];
	char sock[CAMPAIGN_PATH_MAX], tmp[CAMPAIGN_PATH_MAX - 64], log[4096];
	const char *controller = "virtio-blk", *run_dir = CAMPAIGN_RUN, *json = NULL;
	struct ddvm_campaign c = { 0 };
	struct campaign_ctx ctx;
	struct ddvm_err err = { "" };
	unsigned long faults = 20;
	unsigned long long seed = 1;
	bool spare = false;
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			faults = strtoul(optarg, &end, 10);
			if (*end || !*optarg || faults > 100000) {
				fprintf(stderr, "ddvm campaign: --faults %s: not a count\n", optarg);
				return 2;
			}
			break;
		case 's':
			seed = strtoull(optarg, &end, 0);
			if (*end || !*optarg) {
				fprintf(stderr, "ddvm campaign: --seed %s: not a number\n", optarg);
				return 2;
			}
			break;
		case 'c':
			controller = optarg;
			break;
		case 'S':
			spare = true;
			break;
		case 'r':
			run_dir = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'h':
			fputs(CAMPAIGN_USAGE, stdout);
			return 0;
		default:
			fputs(CAMPAIGN_USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc || strlen(run_dir) > CAMPAIGN_PATH_MAX - 64) {
		fputs(CAMPAIGN_USAGE, stderr);
		return 2;
	}
	strcpy(tmp, run_dir);	/* length checked above */
	strcpy(base, dirname(tmp));
	if (snprintf(cfg, sizeof(cfg), "%s/campaign.json", base) >= (int)sizeof(cfg) ||
	    snprintf(image, sizeof(image), "%s/disk.img", base) >= (int)sizeof(image) ||
	    snprintf(sock, sizeof(sock), "%s/hub/" CAMPAIGN_DOMAIN ".c0.sock", run_dir) >=
	    (int)sizeof(sock)) {
		fprintf(stderr, "ddvm campaign: --run-dir %s: too long\n", run_dir);
		return 2;
	}
	ctx.run_dir = run_dir;

	ret = mkdir_p(base);
	if (!ret)
		ret = write_config(cfg, run_dir, image, controller, spare, (unsigned int)faults);
	if (ret) {
		fprintf(stderr, "ddvm campaign: cannot write %s: %s\n", cfg, strerror(-ret));
		return 1;
	}
	run_self((const char *const[]){ "down", "--run-dir", run_dir, NULL }, NULL, 0);
	/* a fresh image: the written bitmap starts empty, so must the disk */
	if (unlink(image) && errno != ENOENT) {
		fprintf(stderr, "ddvm campaign: cannot remove %s: %s\n", image, strerror(errno));
		return 1;
	}
	printf("ddvm campaign: %lu faults, seed %llu, %s%s, run dir %s\n", faults, seed,
	       controller, spare ? " with a warm spare" : ", cold restarts", run_dir);
	ret = run_self((const char *const[]){ "up", cfg, NULL }, log, sizeof(log));
	if (ret) {
		fprintf(stderr, "ddvm campaign: the driver domain did not come up:\n%s", log);
		run_self((const char *const[]){ "down", "--run-dir", run_dir, NULL }, NULL, 0);
		return 1;
	}
	ret = ddvm_blk_open(sock, CAMPAIGN_OPEN_MS, &c.blk, &err);
	if (ret) {
		fprintf(stderr, "ddvm campaign: %s\n", err.msg);
		goto out_down;
	}
	c.run_dir = run_dir;
	c.domain = CAMPAIGN_DOMAIN;
	c.seed = seed;
	c.disk_size = CAMPAIGN_DISK_SIZE;
	c.nr_faults = (unsigned int)faults;
	c.qd = CAMPAIGN_QD;
	c.recover_ms = CAMPAIGN_RECOVER_MS;
	c.spare = spare;
	c.inject = campaign_inject;
	c.inject_arg = &ctx;
	ret = ddvm_campaign_run(&c);
	if (ret)
		fprintf(stderr, "ddvm campaign: %s\n", c.fatal);
	ddvm_blk_close(c.blk);
	c.blk = NULL;
out_down:
	if (run_self((const char *const[]){ "down", "--run-dir", run_dir, NULL }, log,
		     sizeof(log)))
		fprintf(stderr, "ddvm campaign: ddvm down:\n%s", log);
	if (c.written) {
		/* after down: QEMU has written back everything it acknowledged */
		int cmp = ddvm_campaign_compare_image(image, c.written, c.disk_size, c.seed,
						      &c.lost_sectors, &c.stray_sectors,
						      &c.first_bad);

		c.image_checked = cmp == 0 || cmp == -EIO;
		if (!c.image_checked)
			fprintf(stderr, "ddvm campaign: cannot read %s: %s\n", image,
				strerror(-cmp));
		ddvm_campaign_print(&c, stdout);
		if (json && ddvm_campaign_write_json(&c, json, &err))
			fprintf(stderr, "ddvm campaign: %s\n", err.msg);
	}
	ret = c.written && ddvm_campaign_ok(&c) ? 0 : 1;
	ddvm_campaign_free(&c);
	return ret;
}
