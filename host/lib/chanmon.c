// SPDX-License-Identifier: GPL-2.0
/* Channel monitor: regions made and mapped read-only, headers decoded as hostile input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uapi/ddvm/channel.h>

#include "chanmon.h"

int ddvm_region_create(const char *name, uint64_t size, int *fd, struct ddvm_err *err)
{
	char memname[80];
	int f, g, ret;

	snprintf(memname, sizeof(memname), "ddvm:%s", name);
	f = memfd_create(memname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f < 0)
		return ddvm_errf(err, -errno, "channel %s: memfd_create: %s", name,
				 strerror(errno));
	/* a child's stdin/stdout/stderr would be dup2'ed over a low fd */
	if (f < 3) {
		g = fcntl(f, F_DUPFD_CLOEXEC, 3);
		close(f);
		if (g < 0)
			return ddvm_errf(err, -errno, "channel %s: dup: %s", name, strerror(errno));
		f = g;
	}
	if (ftruncate(f, (off_t)size)) {
		ret = ddvm_errf(err, -errno, "channel %s: cannot size region to %llu bytes: %s",
				name, (unsigned long long)size, strerror(errno));
		goto out_close;
	}
	/* as the hub does: nobody resizes it, nobody makes it read-only */
	if (fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		ret = ddvm_errf(err, -errno, "channel %s: cannot seal region: %s", name,
				strerror(errno));
		goto out_close;
	}
	*fd = f;
	return 0;

out_close:
	close(f);
	return ret;
}

int ddvm_chanmon_open(struct ddvm_chanmon *m, int fd, uint64_t size, const char *name,
		      struct ddvm_err *err)
{
	char path[40];
	int ro, e;
	void *p;

	memset(m, 0, sizeof(*m));
	m->beat_ms = -1;
	if (size < DDVM_HDR_SIZE || size > SIZE_MAX)
		return ddvm_errf(err, -EINVAL, "channel %s: region of %llu bytes has no room for "
				 "the header", name, (unsigned long long)size);
	/*
	 * Read-only, through a read-only reopen of the memfd: then not even
	 * mprotect() can make the supervisor's view writable, so no bug of
	 * ours can corrupt a channel.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return ddvm_errf(err, -errno, "channel %s: reopen region read-only (%s): %s", name,
				 path, strerror(errno));
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, ro, 0);
	e = errno;
	close(ro);
	if (p == MAP_FAILED)
		return ddvm_errf(err, -e, "channel %s: mmap: %s", name, strerror(e));
	m->map = p;
	m->size = (size_t)size;
	return 0;
}

void ddvm_chanmon_close(struct ddvm_chanmon *m)
{
	if (m->map)
		munmap((void *)m->map, m->size);
	m->map = NULL;
	m->size = 0;
}

/* A peer's string: cut at the field's end, printable ASCII only. */
static void copy_field(char *dst, size_t dlen, const char *src, size_t slen)
{
	size_t i, n = slen < dlen ? slen : dlen - 1;

	for (i = 0; i < n && src[i]; i++)
		dst[i] = (unsigned char)src[i] >= 0x20 && (unsigned char)src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

#define COPY_FIELD(dst, src) copy_field(dst, sizeof(dst), src, sizeof(src))

void ddvm_chan_decode(const void *region, size_t size, struct ddvm_chan_sample *out)
{
	struct ddvm_srv_block srv;
	struct ddvm_cli_block cli;

	memset(out, 0, sizeof(*out));
	if (!region || size < DDVM_HDR_SIZE)
		return;
	/* once, into private memory: the peers may change it while we look */
	memcpy(&srv, (const char *)region + DDVM_SRV_OFFSET, sizeof(srv));
	memcpy(&cli, (const char *)region + DDVM_CLI_OFFSET, sizeof(cli));

	if (cli.magic == DDVM_MAGIC) {
		out->cli_present = true;
		out->cli_state = cli.state;
		out->cli_generation = cli.generation;
	}
	if (srv.magic != DDVM_MAGIC)
		return;
	out->served = true;
	out->version = srv.version;
	out->type = srv.type;
	out->state = srv.state;
	out->generation = srv.generation;
	out->error = srv.error;
	out->heartbeat = srv.heartbeat;
	out->completed = srv.completed;
	out->version_ok = srv.version == DDVM_VERSION;
	if (!out->version_ok)
		return;
	if (srv.type == DDVM_CHAN_NET) {
		memcpy(out->net.mac, srv.net.mac, 6);
		out->net.mtu = srv.net.mtu;
		out->net.link_up = srv.net.link_up != 0;
		out->net.rx_frames = srv.net.rx_frames;
		out->net.rx_dropped = srv.net.rx_dropped;
		out->net.tx_frames = srv.net.tx_frames;
		out->net.tx_dropped = srv.net.tx_dropped;
		out->net.tx_bad_hdr = srv.net.tx_bad_hdr;
		out->net.rx_segmented = srv.net.rx_segmented;
		out->net.offload = cli.magic == DDVM_MAGIC &&
				   (srv.features & cli.features & DDVM_F_NET_OFFLOAD);
		COPY_FIELD(out->net.ifname, srv.net.ifname);
		COPY_FIELD(out->net.driver, srv.net.driver);
	} else if (srv.type == DDVM_CHAN_BLK) {
		out->blk.capacity = srv.blk.capacity;
		out->blk.logical_block_size = srv.blk.logical_block_size;
		out->blk.flags = srv.blk.flags;
		COPY_FIELD(out->blk.export_name, srv.blk.export_name);
		COPY_FIELD(out->blk.driver, srv.blk.driver);
	}
}

void ddvm_chanmon_sample(struct ddvm_chanmon *m, long long now_ms, struct ddvm_chan_sample *out)
{
	ddvm_chan_decode(m->map, m->size, out);
	m->samples++;
	if (!out->served)
		return;
	/*
	 * The first served sample starts the clock: a server that never beats
	 * from then on ages like one that stopped, which is what a hang
	 * detector must see.
	 */
	if (m->beat_ms < 0 || out->heartbeat != m->last_heartbeat ||
	    out->generation != m->last_generation)
		m->beat_ms = now_ms;
	m->last_heartbeat = out->heartbeat;
	m->last_generation = out->generation;
}

long long ddvm_chanmon_beat_age(const struct ddvm_chanmon *m, long long now_ms)
{
	if (m->beat_ms < 0)
		return -1;
	return now_ms >= m->beat_ms ? now_ms - m->beat_ms : 0;
}

bool ddvm_chan_attached(const struct ddvm_chan_sample *s)
{
	return s->served && s->version_ok &&
	       (s->state == DDVM_SRV_WAIT || s->state == DDVM_SRV_RUN ||
		s->state == DDVM_SRV_ERROR || s->state == DDVM_SRV_FAILED);
}

static const char *name_of(const char *const *names, size_t n, uint32_t v, char *buf, size_t len)
{
	if (v < n && names[v])
		return names[v];
	snprintf(buf, len, "?%u", v);
	return buf;
}

#define NAME_OF(names, v, buf, len) name_of(names, sizeof(names) / sizeof(names[0]), v, buf, len)

const char *ddvm_srv_state_name(uint32_t state, char *buf, size_t len)
{
	static const char *const names[] = {
		[DDVM_SRV_DOWN] = "down", [DDVM_SRV_WAIT] = "wait", [DDVM_SRV_RUN] = "run",
		[DDVM_SRV_ERROR] = "error", [DDVM_SRV_FAILED] = "failed",
		[DDVM_SRV_STOPPED] = "stopped",
	};

	return NAME_OF(names, state, buf, len);
}

const char *ddvm_cli_state_name(uint32_t state, char *buf, size_t len)
{
	static const char *const names[] = {
		[DDVM_CLI_NONE] = "none", [DDVM_CLI_READY] = "ready", [DDVM_CLI_RESET] = "reset",
	};

	return NAME_OF(names, state, buf, len);
}

const char *ddvm_chan_error_name(uint32_t error, char *buf, size_t len)
{
	static const char *const names[] = {
		[DDVM_ERR_NONE] = "none", [DDVM_ERR_VERSION] = "version", [DDVM_ERR_TYPE] = "type",
		[DDVM_ERR_LAYOUT] = "layout", [DDVM_ERR_RING] = "ring",
		[DDVM_ERR_IO_TIMEOUT] = "io-timeout", [DDVM_ERR_DEVICE] = "device",
		[DDVM_ERR_FEATURES] = "features",
	};

	return NAME_OF(names, error, buf, len);
}

const char *ddvm_chan_type_name(uint32_t type, char *buf, size_t len)
{
	static const char *const names[] = {
		[DDVM_CHAN_BLK] = "blk", [DDVM_CHAN_NET] = "net",
	};

	return NAME_OF(names, type, buf, len);
}

json_t *ddvm_chan_sample_json(const struct ddvm_chan_sample *s, long long beat_age_ms)
{
	char b1[16], b2[16], b3[16], mac[18];
	json_t *o, *srv, *dev = NULL;

	if (!s->served) {
		srv = json_pack("{s:s}", "state", "none");
	} else {
		srv = json_pack("{s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:I}",
				"state", ddvm_srv_state_name(s->state, b1, sizeof(b1)),
				"type", ddvm_chan_type_name(s->type, b2, sizeof(b2)),
				"version", (int)s->version,
				"generation", (json_int_t)s->generation,
				"heartbeat", (json_int_t)(s->heartbeat & INT64_MAX),
				"heartbeat_age_ms", (json_int_t)beat_age_ms,
				"error", ddvm_chan_error_name(s->error, b3, sizeof(b3)),
				"completed", (json_int_t)(s->completed & INT64_MAX));
		if (srv && s->version_ok && s->type == DDVM_CHAN_NET) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", s->net.mac[0],
				 s->net.mac[1], s->net.mac[2], s->net.mac[3], s->net.mac[4],
				 s->net.mac[5]);
			dev = json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}",
					"mac", mac, "mtu", (int)s->net.mtu, "link_up", s->net.link_up,
					"offload", s->net.offload,
					"rx_frames", (json_int_t)(s->net.rx_frames & INT64_MAX),
					"rx_dropped", (json_int_t)(s->net.rx_dropped & INT64_MAX),
					"rx_segmented", (json_int_t)(s->net.rx_segmented & INT64_MAX),
					"tx_frames", (json_int_t)(s->net.tx_frames & INT64_MAX),
					"tx_dropped", (json_int_t)(s->net.tx_dropped & INT64_MAX),
					"tx_bad_hdr", (json_int_t)(s->net.tx_bad_hdr & INT64_MAX),
					"ifname", s->net.ifname, "driver", s->net.driver);
			json_object_set_new(srv, "net", dev);
		} else if (srv && s->version_ok && s->type == DDVM_CHAN_BLK) {
			dev = json_pack("{s:s, s:s, s:I, s:i}",
					"export", s->blk.export_name, "driver", s->blk.driver,
					"capacity", (json_int_t)(s->blk.capacity & INT64_MAX),
					"block_size", (int)(s->blk.logical_block_size & INT32_MAX));
			json_object_set_new(srv, "blk", dev);
		}
	}
	o = json_pack("{s:o, s:{s:s, s:I}}", "server", srv ? srv : json_null(),
		      "client", "state", s->cli_present ?
		      ddvm_cli_state_name(s->cli_state, b1, sizeof(b1)) : "absent",
		      "generation", (json_int_t)s->cli_generation);
	return o;
}
