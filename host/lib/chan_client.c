// SPDX-License-Identifier: GPL-2.0
/* Client end of a ddvm channel: handshake, layout and doorbells (see chan_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan_client.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the channel ABI is little-endian");

/* how often to look at the server block while no doorbell can reach us */
#define DDVM_POLL_MS	20

int64_t ddvm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ddvm_chan_client_init(struct ddvm_chan_client *c, const struct ddvm_chan_transport *t,
			   uint16_t type)
{
	memset(c, 0, sizeof(*c));
	c->t = *t;
	c->srv = (struct ddvm_srv_block *)((char *)t->region + DDVM_SRV_OFFSET);
	c->cli = (struct ddvm_cli_block *)((char *)t->region + DDVM_CLI_OFFSET);
	c->type = type;
	c->server_id = UINT32_MAX;
	c->wake_fd = -1;
}

int ddvm_chan_client_notify(struct ddvm_chan_client *c)
{
	if (c->server_id > 0xffff)
		return -ENOENT;
	return c->t.notify(c->t.ctx, c->server_id);
}

int ddvm_chan_client_wait(struct ddvm_chan_client *c, int timeout_ms)
{
	/* poll() skips the entries whose fd is -1 */
	struct pollfd pfd[3] = {
		{ .fd = c->t.doorbell_fd, .events = POLLIN },
		{ .fd = c->t.side_fd, .events = POLLIN },
		{ .fd = c->wake_fd, .events = POLLIN },
	};
	uint64_t v;
	int n, ret;

	n = poll(pfd, 3, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 1 : -errno;
	if (!n)
		return 0;
	if (pfd[0].revents & POLLIN) {
		/* eventfd: one read clears however many rings came */
		if (read(c->t.doorbell_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
	}
	if (c->t.side_fd >= 0 && pfd[1].revents) {
		ret = c->t.service(c->t.ctx);
		if (ret < 0)
			return ret;
	}
	return pfd[2].revents ? DDVM_CHAN_WAKE_FD : 1;
}

/* A private, checked copy of the server block; -EAGAIN while nothing sane is there. */
static int ddvm_chan_read_srv(struct ddvm_chan_client *c, struct ddvm_srv_block *s)
{
	uint32_t state = ddvm_load_acquire(&c->srv->state);

	memcpy(s, c->srv, sizeof(*s));
	s->state = state;	/* the fields we rely on were published before state */
	return ddvm_client_srv_check(s, c->type);
}

enum ddvm_chan_health ddvm_chan_client_health(struct ddvm_chan_client *c)
{
	uint32_t state = ddvm_load_acquire(&c->srv->state);
	uint32_t gen = ddvm_load_once(&c->srv->generation);

	return ddvm_client_health(state, gen, c->generation);
}

/* Write a layout for generation @s->generation and hand it to the server. */
static int ddvm_chan_layout(struct ddvm_chan_client *c, const struct ddvm_srv_block *s,
			    const struct ddvm_ring_want *want, uint32_t nr_rings,
			    struct ddvm_err *err)
{
	struct ddvm_cli_block cli;
	uint32_t i;

	if (ddvm_client_layout(&cli, s, c->type, c->t.own_id, c->t.size, want, nr_rings))
		return ddvm_errf(err, -ENOSPC, "shared region of %llu bytes too small for the rings",
				 (unsigned long long)c->t.size);
	/* and what the typed client wants on top, if this server offers it */
	cli.features = ddvm_client_features(s->features, c->want_features);

	/* withdraw the old layout first, so the server never sees half of the new one */
	ddvm_store_release(&c->cli->state, DDVM_CLI_NONE);
	for (i = 0; i < nr_rings; i++) {
		ddvm_ring_init(&c->rings[i], c->t.region, &cli.rings[i]);
		ddvm_ring_reset(&c->rings[i]);
	}
	memcpy(c->cli, &cli, sizeof(cli));	/* state NONE: not offered until the release below */
	ddvm_store_release(&c->cli->state, DDVM_CLI_READY);

	c->nr_rings = nr_rings;
	c->data_off = cli.data_off;
	c->data_size = cli.data_size;
	c->generation = s->generation;
	c->server_id = s->peer_id;
	c->srv_copy = *s;	/* the checked copy this layout was made from */
	c->generations_seen++;
	return 0;
}

int ddvm_chan_client_relayout(struct ddvm_chan_client *c, const struct ddvm_ring_want *want,
			      uint32_t nr_rings, struct ddvm_err *err)
{
	struct ddvm_srv_block s;
	int ret;

	ret = ddvm_chan_read_srv(c, &s);
	if (ret)
		return ddvm_errf(err, ret == -EAGAIN ? -EAGAIN : -EPROTO,
				 "no valid server block to lay out for");
	ret = ddvm_chan_layout(c, &s, want, nr_rings, err);
	if (!ret)
		ddvm_chan_client_notify(c);
	return ret;
}

int ddvm_chan_client_connect(struct ddvm_chan_client *c, const struct ddvm_ring_want *want,
			     uint32_t nr_rings, int timeout_ms, struct ddvm_err *err)
{
	int64_t deadline = ddvm_now_ms() + timeout_ms, left;
	bool laid_out = false, reset_sent = false;
	struct ddvm_srv_block s;
	int ret;

	if (nr_rings == 0 || nr_rings > DDVM_MAX_RINGS)
		return ddvm_errf(err, -EINVAL, "a channel has 1..%d rings", DDVM_MAX_RINGS);
	for (;;) {
		ret = ddvm_chan_read_srv(c, &s);
		if (ret == -EPROTO)
			return ddvm_errf(err, ret, "server block speaks version %u type %u peer %u, want version %u type %u",
					 s.version, s.type, s.peer_id, DDVM_VERSION, c->type);
		if (!ret) {
			if (laid_out && s.generation == c->generation) {
				if (s.state == DDVM_SRV_RUN) {
					c->srv_copy = s;
					return 0;
				}
				if (s.state == DDVM_SRV_ERROR)
					return ddvm_errf(err, -EPROTO, "server rejected our layout (error %u)",
							 s.error);
			} else if (s.state == DDVM_SRV_WAIT || s.state == DDVM_SRV_ERROR) {
				ret = ddvm_chan_layout(c, &s, want, nr_rings, err);
				if (ret)
					return ret;
				laid_out = true;
				ddvm_chan_client_notify(c);
			} else if (s.state == DDVM_SRV_RUN && !reset_sent) {
				/*
				 * Serving a predecessor of ours: ask for a clean
				 * generation, nothing of the old rings survives.
				 */
				c->server_id = s.peer_id;
				c->cli->peer_id = c->t.own_id;
				ddvm_store_release(&c->cli->state, DDVM_CLI_RESET);
				reset_sent = true;
				ddvm_chan_client_notify(c);
			}
		}
		if (ddvm_now_ms() >= deadline) {
			if (!ret && s.state == DDVM_SRV_FAILED)
				return ddvm_errf(err, -EIO, "the server reports a failed device (error %u)",
						 s.error);
			return ddvm_errf(err, -ETIMEDOUT, "no server answered within %d ms (%s)",
					 timeout_ms, ret ? "no server block yet" :
					 s.state == DDVM_SRV_STOPPED ? "server stopped" : "server busy");
		}
		left = deadline - ddvm_now_ms();
		ret = ddvm_chan_client_wait(c, left <= 0 ? 0 : left < DDVM_POLL_MS ? (int)left :
					    DDVM_POLL_MS);
		if (ret < 0)
			return ddvm_errf(err, ret, "lost the hub while waiting for the server");
		if (laid_out || reset_sent)
			ddvm_chan_client_notify(c);	/* the server's id may have just become known */
	}
}
