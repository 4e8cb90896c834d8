// SPDX-License-Identifier: GPL-2.0
/*
 * nbdkit plugin "ddvm": a block channel as an NBD export, so that QEMU
 * (-blockdev nbd, a virtio-blk disk for a client VM), qemu-img, qemu-io and
 * nbdinfo use a disk that a DD/OS serves.
 *
 *   nbdkit [--unix PATH] build/nbdkit-ddvm-plugin.so socket=HUB-SOCKET [timeout=S]
 *
 * (`ddvm blk nbd CHANNEL --socket PATH` runs exactly that.)  One channel per
 * nbdkit process, shared by every NBD connection: a ddvm_blk is not
 * thread-safe, so an engine thread owns it (blk_shared.h) and nbdkit's
 * worker threads, any number at once (PARALLEL), queue whole requests to it
 * and sleep; the engine splits them into max_io pieces with the channel's
 * full depth in flight.  The channel is opened in .after_fork, where threads
 * may start.  Requests ride through DD/OS restarts: libddvm replays them to
 * the next server generation and the NBD client sees a pause.
 *
 * Multi-conn is safe: nothing is cached here, a write is acknowledged only
 * once the DD/OS completed its bio, and a channel FLUSH is a REQ_PREFLUSH
 * bio on the whole block device (guest/modules/ddvm_blk.c), so it covers
 * every write any connection had acknowledged before it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "blk_shared.h"

#define THREAD_MODEL		NBDKIT_THREAD_MODEL_PARALLEL
#define DEFAULT_TIMEOUT_S	30
/* what NBD clients (QEMU, libnbd) send at most per request anyway */
#define NBD_MAX_REQUEST		(32u << 20)

static const char *sock_path;
static unsigned int open_timeout_s = DEFAULT_TIMEOUT_S;
static struct ddvm_blk *blk;
static struct ddvm_blk_shared *shared;
static struct ddvm_blk_info info;	/* as the server described it at open */

static int ddvm_config(const char *key, const char *value)
{
	if (!strcmp(key, "socket")) {
		sock_path = value;
		return 0;
	}
	if (!strcmp(key, "timeout"))
		return nbdkit_parse_unsigned("timeout", value, &open_timeout_s);
	nbdkit_error("unknown parameter '%s' (see nbdkit ddvm --help)", key);
	return -1;
}

static int ddvm_config_complete(void)
{
	if (!sock_path) {
		nbdkit_error("socket=PATH is required: the hub socket of a block channel");
		return -1;
	}
	return 0;
}

/* Before nbdkit forks, where errors are still seen: is there a socket at all? */
static int ddvm_get_ready(void)
{
	struct stat st;

	if (stat(sock_path, &st)) {
		nbdkit_error("channel socket %s: %m", sock_path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		nbdkit_error("channel socket %s: not a socket", sock_path);
		return -1;
	}
	return 0;
}

static int ddvm_after_fork(void)
{
	struct ddvm_err err = { "" };
	int ret;

	ret = ddvm_blk_open(sock_path, (int)(open_timeout_s * 1000), &blk, &err);
	if (ret) {
		nbdkit_error("%s", err.msg);
		return -1;
	}
	info = *ddvm_blk_info(blk);
	ret = ddvm_blk_shared_start(blk, &shared);
	if (ret) {
		nbdkit_error("channel %s: cannot start the engine thread: %s", sock_path,
			     strerror(-ret));
		ddvm_blk_close(blk);
		blk = NULL;
		return -1;
	}
	nbdkit_debug("channel %s: %s (driver %s), %" PRIu64 " bytes, %u-byte blocks, "
		     "%u requests of %u bytes in flight", sock_path, info.export_name, info.driver,
		     (uint64_t)info.capacity, info.logical_block_size, ddvm_blk_depth(blk),
		     ddvm_blk_max_io(blk));
	return 0;
}

static void ddvm_cleanup(void)
{
	struct ddvm_blk_stats st;

	if (!shared)
		return;
	ddvm_blk_shared_get_stats(shared, &st);
	/* one line for whoever ran us (ddvm blk nbd passes it on): how the channel fared */
	fprintf(stderr, "ddvm plugin: channel %s: %" PRIu64 " requests, %" PRIu64 " replayed over %"
		PRIu64 " server generations, %" PRIu64 " bad completions dropped\n", sock_path,
		st.completed, st.replayed, st.generations, st.bad_completions);
	ddvm_blk_shared_stop(shared);
	ddvm_blk_close(blk);
	shared = NULL;
	blk = NULL;
}

static void *ddvm_open(int readonly)
{
	return NBDKIT_HANDLE_NOT_NEEDED;	/* every connection shares the one channel */
}

static int64_t ddvm_get_size(void *handle)
{
	return (int64_t)info.capacity;
}

static int ddvm_block_size(void *handle, uint32_t *minimum, uint32_t *preferred,
			   uint32_t *maximum)
{
	uint32_t phys = info.physical_block_size;

	*minimum = info.logical_block_size;
	/* no read-modify-write below the physical block; nbdkit wants a power of two */
	*preferred = phys >= 4096 && phys <= (1u << 20) && !(phys & (phys - 1)) ? phys : 4096;
	*maximum = NBD_MAX_REQUEST;	/* the engine splits into the channel's max_io */
	return 0;
}

static int ddvm_can_write(void *handle)
{
	return !(info.flags & DDVM_BLK_F_READ_ONLY);
}

static int ddvm_can_flush(void *handle)
{
	return 1;	/* a no-op where the device has no volatile cache */
}

static int ddvm_can_fua(void *handle)
{
	/* the DD/OS's block layer turns REQ_FUA into a flush where the device lacks it */
	return NBDKIT_FUA_NATIVE;
}

static int ddvm_can_trim(void *handle)
{
	return !!(info.flags & DDVM_BLK_F_DISCARD);
}

/*
 * A channel WRITE_ZEROES is a REQ_OP_WRITE_ZEROES bio, which the block layer
 * never emulates with data writes: so it is fast wherever it exists, and
 * where it does not nbdkit writes zeroes itself.
 */
static int ddvm_can_zero(void *handle)
{
	return !!(info.flags & DDVM_BLK_F_WRITE_ZEROES);
}

static int ddvm_can_fast_zero(void *handle)
{
	return ddvm_can_zero(handle);
}

static int ddvm_can_multi_conn(void *handle)
{
	return 1;	/* see the head of this file */
}

/* The errno NBD clients get: a server status, else the channel is gone (EIO). */
static int nbd_errno(int ret)
{
	switch (-ret) {
	case EIO:
	case EINVAL:
	case EOPNOTSUPP:	/* a zero request nbdkit then does with writes */
	case EROFS:
	case ESHUTDOWN:
		return -ret;
	case ERANGE:
		return EINVAL;	/* the device shrank under a request nbdkit checked */
	default:
		return EIO;
	}
}

static const char *const op_names[] = {
	[DDVM_BLK_READ] = "read", [DDVM_BLK_WRITE] = "write", [DDVM_BLK_FLUSH] = "flush",
	[DDVM_BLK_DISCARD] = "trim", [DDVM_BLK_WRITE_ZEROES] = "zero",
};

static int do_io(uint16_t op, uint32_t nbd_flags, void *buf, uint32_t count, uint64_t offset)
{
	uint16_t flags = (nbd_flags & NBDKIT_FLAG_FUA) ? DDVM_BLK_REQ_FUA : 0;
	int ret;

	ret = ddvm_blk_shared_io(shared, op, flags, buf, count, offset);
	if (!ret)
		return 0;
	/* a zero nbdkit falls back from is no error worth a line */
	if (ret != -EOPNOTSUPP || op != DDVM_BLK_WRITE_ZEROES)
		nbdkit_error("channel %s: %s of %" PRIu32 " bytes at %" PRIu64 ": %s", sock_path,
			     op_names[op], count, offset, strerror(-ret));
	nbdkit_set_error(nbd_errno(ret));
	return -1;
}

static int ddvm_pread(void *handle, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	return do_io(DDVM_BLK_READ, 0, buf, count, offset);
}

static int ddvm_pwrite(void *handle, const void *buf, uint32_t count, uint64_t offset,
		       uint32_t flags)
{
	/* the channel only reads a write's buffer */
	return do_io(DDVM_BLK_WRITE, flags, (void *)(uintptr_t)buf, count, offset);
}

static int ddvm_flush(void *handle, uint32_t flags)
{
	return do_io(DDVM_BLK_FLUSH, 0, NULL, 0, 0);
}

static int ddvm_trim(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	return do_io(DDVM_BLK_DISCARD, flags, NULL, count, offset);
}

/*
 * NBDKIT_FLAG_MAY_TRIM is not needed to zero, and its absence cannot be
 * passed on: the channel has no "keep allocated" flag, so the device may
 * deallocate either way (NBD only says it should not); reads see zeroes
 * either way.  NBDKIT_FLAG_FAST_ZERO comes only with can_zero, where zeroing
 * is the device's own command.
 */
static int ddvm_zero(void *handle, uint32_t count, uint64_t offset, uint32_t flags)
{
	return do_io(DDVM_BLK_WRITE_ZEROES, flags, NULL, count, offset);
}

static struct nbdkit_plugin plugin = {
	.name = "ddvm",
	.longname = "ddvm block channel",
	.description = "Serve a disk that a ddvm driver domain (DD/OS) exports over a block channel.",
	.config = ddvm_config,
	.config_complete = ddvm_config_complete,
	.config_help = "socket=<PATH>      (required) the hub socket of the block channel\n"
		       "timeout=<SECONDS>  wait this long for the channel's server at start (default 30)",
	.magic_config_key = "socket",
	.get_ready = ddvm_get_ready,
	.after_fork = ddvm_after_fork,
	.cleanup = ddvm_cleanup,
	.open = ddvm_open,
	.get_size = ddvm_get_size,
	.block_size = ddvm_block_size,
	.can_write = ddvm_can_write,
	.can_flush = ddvm_can_flush,
	.can_fua = ddvm_can_fua,
	.can_trim = ddvm_can_trim,
	.can_zero = ddvm_can_zero,
	.can_fast_zero = ddvm_can_fast_zero,
	.can_multi_conn = ddvm_can_multi_conn,
	.pread = ddvm_pread,
	.pwrite = ddvm_pwrite,
	.flush = ddvm_flush,
	.trim = ddvm_trim,
	.zero = ddvm_zero,
};

struct nbdkit_plugin *plugin_init(void);	/* nbdkit's entry point, defined just below */
NBDKIT_REGISTER_PLUGIN(plugin)
