// SPDX-License-Identifier: GPL-2.0
/* ddvm blk: inspect, read, write and verify a disk through its channel. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_client.h"
#include "blk_nbd.h"
#include "blk_verify.h"
#include "commands.h"
#include "rundir.h"
#include "units.h"

#define BLK_OPEN_TIMEOUT_MS	10000

static const char blk_usage[] =
	"usage: ddvm blk info CHANNEL\n"
	"       ddvm blk read CHANNEL OFFSET LENGTH [-o FILE]\n"
	"       ddvm blk write CHANNEL OFFSET [-i FILE] [--fua]\n"
	"       ddvm blk verify CHANNEL [--offset O] [--length L] [--block B] [--random N]\n"
	"                       [--qd N] [--seed N]\n"
	"       ddvm blk nbd CHANNEL --socket PATH   (an NBD export for QEMU, qemu-io, nbdinfo)\n"
	"CHANNEL is DOMAIN.CHANNEL (e.g. disk0.c0, see 'ddvm status') or a hub socket path.\n";

static int blk_open(const char *name, struct ddvm_blk **blk)
{
	struct ddvm_err err = { "" };
	char path[512];
	int ret;

	ret = ddvm_channel_socket(path, sizeof(path), name, &err);
	if (!ret)
		ret = ddvm_blk_open(path, BLK_OPEN_TIMEOUT_MS, blk, &err);
	if (ret)
		fprintf(stderr, "ddvm blk: %s\n", err.msg);
	return ret;
}

static int blk_size_arg(const char *what, const char *s, uint64_t *out)
{
	struct ddvm_err err = { "" };

	if (ddvm_parse_size(s, out, &err)) {
		fprintf(stderr, "ddvm blk: %s '%s': %s\n", what, s, err.msg);
		return -EINVAL;
	}
	return 0;
}

static const char *blk_flag_names(uint64_t flags, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s%s", flags & DDVM_BLK_F_FLUSH ? " flush" : "",
		 flags & DDVM_BLK_F_FUA ? " fua" : "", flags & DDVM_BLK_F_DISCARD ? " discard" : "",
		 flags & DDVM_BLK_F_WRITE_ZEROES ? " write-zeroes" : "",
		 flags & DDVM_BLK_F_READ_ONLY ? " read-only" : "");
	return buf[0] ? buf + 1 : "none";
}

static int blk_info(struct ddvm_blk *blk)
{
	const struct ddvm_blk_info *i = ddvm_blk_info(blk);
	char sz[32], mi[32], fl[96];
	uint64_t hb;
	uint32_t gen, state;

	ddvm_blk_server_state(blk, &hb, &gen, &state);
	printf("export:       %.64s (driver %.32s)\n", i->export_name, i->driver);
	printf("capacity:     %s (%" PRIu64 " bytes)\n", ddvm_format_size(i->capacity, sz, sizeof(sz)),
	       (uint64_t)i->capacity);
	printf("block size:   %u logical, %u physical\n", i->logical_block_size,
	       i->physical_block_size);
	printf("features:     %s\n", blk_flag_names(i->flags, fl, sizeof(fl)));
	printf("requests:     %s max each, %u in flight\n",
	       ddvm_format_size(ddvm_blk_max_io(blk), mi, sizeof(mi)), ddvm_blk_depth(blk));
	printf("server:       generation %u, heartbeat %" PRIu64 "\n", gen, hb);
	return 0;
}

static int blk_read(struct ddvm_blk *blk, int argc, char **argv)
{
	const char *out = NULL;
	uint64_t off, len;
	void *buf;
	int fd = STDOUT_FILENO, ret, c;

	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c != 'o')
			return -EINVAL;
		out = optarg;
	}
	if (argc - optind != 2 || blk_size_arg("OFFSET", argv[optind], &off) ||
	    blk_size_arg("LENGTH", argv[optind + 1], &len))
		return -EINVAL;
	if (len > (1ull << 32)) {
		fprintf(stderr, "ddvm blk read: LENGTH over 4G; read in pieces\n");
		return -EINVAL;
	}
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	ret = ddvm_blk_pread(blk, buf, len, off);
	if (ret) {
		fprintf(stderr, "ddvm blk read: %s\n", strerror(-ret));
		goto out_free;
	}
	if (out) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			ret = -errno;
			fprintf(stderr, "ddvm blk read: %s: %s\n", out, strerror(errno));
			goto out_free;
		}
	}
	for (uint64_t done = 0; done < len;) {
		ssize_t n = write(fd, (char *)buf + done, len - done);

		if (n < 0) {
			ret = -errno;
			fprintf(stderr, "ddvm blk read: writing %s: %s\n", out ? out : "stdout",
				strerror(errno));
			break;
		}
		done += (uint64_t)n;
	}
	if (out)
		close(fd);
out_free:
	free(buf);
	return ret;
}

static int blk_write(struct ddvm_blk *blk, int argc, char **argv)
{
	static const struct option opts[] = { { "fua", no_argument, NULL, 'F' }, { 0 } };
	const char *in = NULL;
	uint16_t flags = 0;
	uint64_t off, len = 0, cap = 1 << 20;
	char *buf = NULL, *nb;
	int fd = STDIN_FILENO, ret, c;
	ssize_t n;

	while ((c = getopt_long(argc, argv, "i:", opts, NULL)) != -1) {
		if (c == 'i')
			in = optarg;
		else if (c == 'F')
			flags |= DDVM_BLK_REQ_FUA;
		else
			return -EINVAL;
	}
	if (argc - optind != 1 || blk_size_arg("OFFSET", argv[optind], &off))
		return -EINVAL;
	if (in && (fd = open(in, O_RDONLY)) < 0) {
		fprintf(stderr, "ddvm blk write: %s: %s\n", in, strerror(errno));
		return -errno;
	}
	for (;;) {	/* slurp the input */
		if (len == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			ret = -errno;
			fprintf(stderr, "ddvm blk write: reading %s: %s\n", in ? in : "stdin",
				strerror(errno));
			goto out;
		}
		if (!n)
			break;
		len += (uint64_t)n;
	}
	ret = ddvm_blk_pwrite(blk, buf, len, off, flags);
	if (ret)
		fprintf(stderr, "ddvm blk write: %" PRIu64 " bytes at %" PRIu64 ": %s\n", len, off,
			strerror(-ret));
	else
		ret = ddvm_blk_flush(blk);
out:
	if (in)
		close(fd);
	free(buf);
	return ret;
}

static int blk_verify(struct ddvm_blk *blk, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "offset", required_argument, NULL, 'o' }, { "length", required_argument, NULL, 'l' },
		{ "block", required_argument, NULL, 'b' },  { "random", required_argument, NULL, 'r' },
		{ "qd", required_argument, NULL, 'q' },     { "seed", required_argument, NULL, 's' },
		{ 0 }
	};
	struct ddvm_verify_opts o = { .qd = 16, .seed = 1 };
	struct ddvm_verify_result r;
	uint64_t v;
	char a[32], b[32];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *name = c == 'o' ? "--offset" : c == 'l' ? "--length" :
				   c == 'b' ? "--block" : c == 'r' ? "--random" :
				   c == 'q' ? "--qd" : "--seed";

		if (c == '?' || blk_size_arg(name, optarg, &v))
			return -EINVAL;
		switch (c) {
		case 'o': o.offset = v; break;
		case 'l': o.length = v; break;
		case 'b': o.block = (uint32_t)v; break;
		case 'r': o.random_ops = v; break;
		case 'q': o.qd = (uint32_t)v; break;
		case 's': o.seed = v; break;
		}
	}
	ret = ddvm_blk_verify(blk, &o, &r);
	printf("wrote %s in %" PRIu64 " requests (%.1f MiB/s), read back %s (%.1f MiB/s), %" PRIu64 " mismatches\n",
	       ddvm_format_human(r.bytes_written, a, sizeof(a)), r.ops,
	       r.write_seconds > 0 ? r.bytes_written / r.write_seconds / 1048576 : 0.0,
	       ddvm_format_human(r.bytes_read, b, sizeof(b)),
	       r.read_seconds > 0 ? r.bytes_read / r.read_seconds / 1048576 : 0.0, r.mismatches);
	if (r.mismatches)
		printf("first mismatch at device offset %" PRIu64 "\n", r.first_bad);
	if (r.io_error)
		printf("request error: %s\n", strerror(-r.io_error));
	if (ret && !r.mismatches && !r.io_error)
		fprintf(stderr, "ddvm blk verify: %s\n", strerror(-ret));
	return ret;
}

int cmd_blk(int argc, char **argv)
{
	struct ddvm_blk *blk;
	const char *sub;
	int ret;

	if (argc < 3) {
		fputs(blk_usage, stderr);
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "nbd"))	/* nbdkit opens the channel, not this process */
		return blk_nbd(argc - 1, argv + 1);
	if (strcmp(sub, "info") && strcmp(sub, "read") && strcmp(sub, "write") &&
	    strcmp(sub, "verify")) {
		fprintf(stderr, "ddvm blk: unknown subcommand '%s'\n%s", sub, blk_usage);
		return 2;
	}
	if (blk_open(argv[2], &blk))
		return 1;
	/* let getopt see "CHANNEL ARGS...": drop "blk SUB" */
	optind = 1;
	if (!strcmp(sub, "info"))
		ret = blk_info(blk);
	else if (!strcmp(sub, "read"))
		ret = blk_read(blk, argc - 2, argv + 2);
	else if (!strcmp(sub, "write"))
		ret = blk_write(blk, argc - 2, argv + 2);
	else
		ret = blk_verify(blk, argc - 2, argv + 2);
	ddvm_blk_close(blk);
	if (ret == -EINVAL)
		fputs(blk_usage, stderr);
	return ret ? 1 : 0;
}
