// SPDX-License-Identifier: GPL-2.0
/* libddvm net client: batched frames over the TX/RX rings, riding through restarts (see net_client.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <ddvm/check.h>

#include "chan_peer.h"
#include "net_client.h"

struct ddvm_net {
	struct ddvm_chan_client chan;
	struct ddvm_peer *peer;		/* NULL with a caller's transport */
	struct ddvm_ring_want want[DDVM_NET_NR_RINGS];
	struct ddvm_cli_block layout;	/* private: ring sizes and data area, for buffer offsets */
	uint8_t *data;			/* the data area in the region */
	struct ddvm_net_info info;	/* checked copy */
	uint32_t max_frame;
	bool event_idx;			/* the server honours cons_event/prod_event */
	/*
	 * The current generation's server was accepted and its rings are
	 * sane: false after a refused description or a broken ring, until
	 * the next generation.
	 */
	bool usable;
	bool reset_asked;		/* we asked for a fresh generation after a broken ring */
	int epfd;			/* doorbell + hub socket, for ddvm_net_fd() */
	struct ddvm_net_stats stats;
};

/* What ddvm_chan_client's placement costs before the data area, for @entries per ring. */
static uint64_t ddvm_net_data_start(uint32_t entries)
{
	uint64_t ring = (DDVM_RING_CTL_SIZE + (uint64_t)entries * sizeof(struct ddvm_net_desc) +
			 63) & ~63ull;

	return (DDVM_HDR_SIZE + DDVM_NET_NR_RINGS * ring + 4095) & ~4095ull;
}

/* The largest rings (same size both ways) whose buffers fit in the region. */
static int ddvm_net_plan(struct ddvm_net *net, struct ddvm_err *err)
{
	uint64_t size = net->chan.t.size;
	uint32_t e;

	for (e = DDVM_NET_RING_ENTRIES_MAX; e; e /= 2) {
		uint64_t start = ddvm_net_data_start(e);

		if (start < size &&
		    size - start >= (uint64_t)DDVM_NET_NR_RINGS * e * DDVM_NET_BUF_SIZE)
			break;
	}
	if (!e)
		return ddvm_errf(err, -ENOSPC,
				 "shared region of %llu bytes cannot hold a net channel (%u bytes at least)",
				 (unsigned long long)size,
				 (unsigned int)(ddvm_net_data_start(1) + 2 * DDVM_NET_BUF_SIZE));
	net->want[DDVM_NET_RING_TX] = (struct ddvm_ring_want){ e, sizeof(struct ddvm_net_desc) };
	net->want[DDVM_NET_RING_RX] = (struct ddvm_ring_want){ e, sizeof(struct ddvm_net_desc) };
	return 0;
}

/* Record where the layout put things; the same rules the server checks. */
static int ddvm_net_bind_layout(struct ddvm_net *net, struct ddvm_err *err)
{
	struct ddvm_cli_block *l = &net->layout;
	uint32_t i;

	memset(l, 0, sizeof(*l));
	l->nr_rings = DDVM_NET_NR_RINGS;
	for (i = 0; i < DDVM_NET_NR_RINGS; i++) {
		l->rings[i].entries = net->want[i].entries;
		l->rings[i].entry_size = net->want[i].entry_size;
	}
	l->data_off = net->chan.data_off;
	l->data_size = net->chan.data_size;
	if (ddvm_net_layout_check(l))
		return ddvm_errf(err, -ENOSPC, "data area of %llu bytes too small for %u+%u buffers",
				 (unsigned long long)l->data_size, net->want[0].entries,
				 net->want[1].entries);
	net->data = (uint8_t *)net->chan.t.region + l->data_off;
	return 0;
}

/* A server's description we can live with?  Fills a private, terminated copy. */
static int ddvm_net_check_info(const struct ddvm_srv_block *s, struct ddvm_net_info *out,
			       struct ddvm_err *err)
{
	struct ddvm_net_info i = s->net;
	static const uint8_t zero[6];

	if (i.mtu < DDVM_NET_MTU_MIN || i.mtu > DDVM_NET_MTU_MAX)
		return ddvm_errf(err, -EPROTO, "server reports MTU %u (want %d..%d)", i.mtu,
				 DDVM_NET_MTU_MIN, DDVM_NET_MTU_MAX);
	if (i.buf_size != DDVM_NET_BUF_SIZE)
		return ddvm_errf(err, -EPROTO, "server reports %u-byte frame buffers (want %d)",
				 i.buf_size, DDVM_NET_BUF_SIZE);
	if ((i.mac[0] & 1) || !memcmp(i.mac, zero, sizeof(zero)))
		return ddvm_errf(err, -EPROTO,
				 "server gives us %02x:%02x:%02x:%02x:%02x:%02x, not a unicast address",
				 i.mac[0], i.mac[1], i.mac[2], i.mac[3], i.mac[4], i.mac[5]);
	i.ifname[sizeof(i.ifname) - 1] = '\0';
	i.driver[sizeof(i.driver) - 1] = '\0';
	*out = i;
	return 0;
}

/* Take the server block @s (a private copy) as the current server's. */
static int ddvm_net_adopt_info(struct ddvm_net *net, const struct ddvm_srv_block *s,
			       struct ddvm_err *err)
{
	uint32_t max;
	int ret;

	ret = ddvm_net_check_info(s, &net->info, err);
	if (ret)
		return ret;
	max = net->info.mtu + DDVM_NET_FRAME_OVERHEAD;
	net->max_frame = max < DDVM_NET_BUF_SIZE ? max : DDVM_NET_BUF_SIZE;
	net->event_idx = !!(s->features & DDVM_F_EVENT_IDX);
	net->usable = true;
	return 0;
}

static void ddvm_net_notify(struct ddvm_net *net)
{
	net->stats.doorbells++;
	ddvm_chan_client_notify(&net->chan);
}

/*
 * The server moved one of our rings' indices impossibly.  We cannot trust
 * either ring any more, so ask for a fresh generation (handshake step 4)
 * and pass nothing until it comes.
 */
static void ddvm_net_ring_broken(struct ddvm_net *net)
{
	net->stats.ring_errors++;
	net->usable = false;
	net->reset_asked = true;
	ddvm_store_release(&net->chan.cli->state, DDVM_CLI_RESET);
	ddvm_net_notify(net);
}

/*
 * A new server generation waits for a layout: frames in flight are lost
 * (a restart is a cable pulled and plugged back), lay out again and carry on.
 */
static int ddvm_net_relayout(struct ddvm_net *net)
{
	struct ddvm_srv_block s;
	int ret;

	/* the hub may be telling us the new server's peer id right now */
	ret = ddvm_chan_client_wait(&net->chan, 0);
	if (ret < 0)
		return ret;
	net->usable = false;
	net->reset_asked = false;
	if (ddvm_chan_client_relayout(&net->chan, net->want, DDVM_NET_NR_RINGS, NULL))
		return 0;	/* no valid server block yet: look again later */
	net->stats.generations = net->chan.generations_seen;
	memcpy(&s, net->chan.srv, sizeof(s));
	if (s.generation != net->chan.generation)
		return 0;	/* moved on already: the next look lays out again */
	if (ddvm_net_adopt_info(net, &s, NULL))
		net->stats.bad_servers++;
	return 0;
}

/* Catch up with the server.  Return: 1 if frames may flow, 0 if not now, -errno (hub gone). */
static int ddvm_net_sync(struct ddvm_net *net)
{
	int ret;

	switch (ddvm_chan_client_health(&net->chan)) {
	case DDVM_CHAN_OK:
		/*
		 * A server still WAITing for the layout we withdrew cannot
		 * reset it; it needs a fresh copy of the same one.
		 */
		if (net->reset_asked && ddvm_load_acquire(&net->chan.srv->state) == DDVM_SRV_WAIT)
			break;
		return net->usable;
	case DDVM_CHAN_NEW_SERVER:
		ret = ddvm_net_relayout(net);
		if (ret < 0)
			return ret;
		return ddvm_chan_client_health(&net->chan) == DDVM_CHAN_OK && net->usable;
	case DDVM_CHAN_ABSENT:
		return 0;
	}
	ret = ddvm_net_relayout(net);
	return ret < 0 ? ret : 0;	/* frames flow from the next call */
}

int ddvm_net_send(struct ddvm_net *net, const struct iovec *frames, int n)
{
	struct ddvm_ring *tx = &net->chan.rings[DDVM_NET_RING_TX];
	struct ddvm_net_desc d = { 0 };
	int room, i, ret;
	uint32_t old;
	size_t len;

	if (n <= 0)
		return 0;
	/* a caller's mistake is an error whether or not a server runs */
	if (frames[0].iov_len < DDVM_NET_MIN_FRAME)
		return -EINVAL;
	if (frames[0].iov_len > net->max_frame)
		return -EMSGSIZE;
	ret = ddvm_net_sync(net);
	if (ret <= 0)
		return ret;
	room = ddvm_ring_free(tx);
	if (room < 0) {
		ddvm_net_ring_broken(net);
		return 0;
	}
	old = tx->local;
	for (i = 0; i < n && i < room; i++) {
		len = frames[i].iov_len;
		if (len < DDVM_NET_MIN_FRAME || len > net->max_frame)
			break;	/* the next call reports it */
		memcpy(net->data + ddvm_net_buf_off(&net->layout, DDVM_NET_RING_TX, tx->local),
		       frames[i].iov_base, len);
		d.len = (uint16_t)len;
		memcpy(ddvm_ring_next(tx), &d, sizeof(d));
		tx->local++;
		net->stats.tx_bytes += len;
	}
	if (i < n && i == room)
		net->stats.tx_full++;
	if (!i)
		return 0;
	net->stats.tx_frames += (uint64_t)i;
	/* one publication per batch; a bell only if the server sleeps on this ring */
	if (ddvm_ring_publish(tx, old) || !net->event_idx)
		ddvm_net_notify(net);
	return i;
}

int ddvm_net_recv(struct ddvm_net *net, struct iovec *frames, int max)
{
	struct ddvm_ring *rx = &net->chan.rings[DDVM_NET_RING_RX];
	struct ddvm_net_desc d;
	int avail, n = 0, ret;
	uint64_t off;
	uint32_t old;

	if (max <= 0)
		return 0;
	ret = ddvm_net_sync(net);
	if (ret <= 0)
		return ret;
	avail = ddvm_ring_avail(rx);
	if (avail < 0) {
		ddvm_net_ring_broken(net);
		return 0;
	}
	old = rx->local;
	while (avail-- > 0 && n < max) {
		off = ddvm_net_buf_off(&net->layout, DDVM_NET_RING_RX, rx->local);
		ddvm_ring_take(rx, &d);		/* d is ours: the server cannot change it now */
		if (d.len < DDVM_NET_MIN_FRAME || d.len > DDVM_NET_BUF_SIZE) {
			net->stats.rx_bad++;
			continue;
		}
		if (d.len > frames[n].iov_len) {
			net->stats.rx_too_long++;
			continue;
		}
		memcpy(frames[n].iov_base, net->data + off, d.len);
		frames[n].iov_len = d.len;
		net->stats.rx_bytes += d.len;
		n++;
	}
	net->stats.rx_frames += (uint64_t)n;
	if (rx->local != old && ddvm_ring_consumed(rx, old))
		ddvm_net_notify(net);	/* the server waits for room */
	return n;
}

int ddvm_net_arm(struct ddvm_net *net, unsigned int want)
{
	int ret, ready = 0;

	/* clear the fd first: a bell that rings after this keeps it readable */
	ret = ddvm_chan_client_wait(&net->chan, 0);
	if (ret < 0)
		return ret;
	ret = ddvm_net_sync(net);
	if (ret <= 0)
		return ret;
	if (want & DDVM_NET_WANT_RX) {
		ret = ddvm_ring_arm(&net->chan.rings[DDVM_NET_RING_RX]);
		if (ret < 0) {
			ddvm_net_ring_broken(net);
			return 0;
		}
		if (ret > 0)
			ready |= DDVM_NET_WANT_RX;
	}
	if (want & DDVM_NET_WANT_TX) {
		ret = ddvm_ring_arm_room(&net->chan.rings[DDVM_NET_RING_TX]);
		if (ret < 0) {
			ddvm_net_ring_broken(net);
			return 0;
		}
		if (ret > 0)
			ready |= DDVM_NET_WANT_TX;
	}
	return ready;
}

enum ddvm_net_link ddvm_net_link(struct ddvm_net *net)
{
	if (ddvm_net_sync(net) <= 0)
		return DDVM_NET_LINK_ABSENT;
	net->info.link_up = ddvm_load_once(&net->chan.srv->net.link_up) ? 1 : 0;
	return net->info.link_up ? DDVM_NET_LINK_UP : DDVM_NET_LINK_NO_CARRIER;
}

int ddvm_net_fd(const struct ddvm_net *net)
{
	return net->epfd;
}

/* One fd for callers: the doorbell, and the hub socket that brings peer changes. */
static int ddvm_net_make_fd(struct ddvm_net *net, struct ddvm_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN };

	net->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (net->epfd < 0)
		return ddvm_errf(err, -errno, "epoll_create1: %m");
	ev.data.fd = net->chan.t.doorbell_fd;
	if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		return ddvm_errf(err, -errno, "epoll on the doorbell: %m");
	if (net->chan.t.side_fd >= 0) {
		ev.data.fd = net->chan.t.side_fd;
		if (epoll_ctl(net->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
			return ddvm_errf(err, -errno, "epoll on the hub socket: %m");
	}
	return 0;
}

static void ddvm_net_free(struct ddvm_net *net)
{
	if (net->epfd >= 0)
		close(net->epfd);
	free(net);
}

int ddvm_net_open_transport(const struct ddvm_chan_transport *t, int timeout_ms,
			    struct ddvm_net **out, struct ddvm_err *err)
{
	struct ddvm_net *net;
	int ret;

	net = calloc(1, sizeof(*net));
	if (!net)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	net->epfd = -1;
	ddvm_chan_client_init(&net->chan, t, DDVM_CHAN_NET);
	ret = ddvm_net_plan(net, err);
	if (ret)
		goto out_free;
	ret = ddvm_chan_client_connect(&net->chan, net->want, DDVM_NET_NR_RINGS, timeout_ms, err);
	if (ret)
		goto out_free;
	ret = ddvm_net_bind_layout(net, err);
	if (ret)
		goto out_withdraw;
	ret = ddvm_net_adopt_info(net, &net->chan.srv_copy, err);
	if (ret)
		goto out_withdraw;
	ret = ddvm_net_make_fd(net, err);
	if (ret)
		goto out_withdraw;
	net->stats.generations = net->chan.generations_seen;
	*out = net;
	return 0;

out_withdraw:
	ddvm_store_release(&net->chan.cli->state, DDVM_CLI_NONE);
	ddvm_chan_client_notify(&net->chan);
out_free:
	ddvm_net_free(net);
	return ret;
}

int ddvm_net_open(const char *sock_path, int timeout_ms, struct ddvm_net **out,
		  struct ddvm_err *err)
{
	struct ddvm_chan_transport t;
	struct ddvm_peer *peer;
	int ret;

	ret = ddvm_chan_peer_open(sock_path, &peer, &t, err);
	if (ret)
		return ret;
	ret = ddvm_net_open_transport(&t, timeout_ms, out, err);
	if (ret) {
		ddvm_err_prefix(err, ret, "channel %s: ", sock_path);
		ddvm_peer_close(peer);
		return ret;
	}
	(*out)->peer = peer;
	return 0;
}

void ddvm_net_close(struct ddvm_net *net)
{
	if (!net)
		return;
	/* tell the server we left, so it stops delivering into our ring */
	ddvm_store_release(&net->chan.cli->state, DDVM_CLI_NONE);
	ddvm_chan_client_notify(&net->chan);
	if (net->peer)
		ddvm_peer_close(net->peer);
	ddvm_net_free(net);
}

const struct ddvm_net_info *ddvm_net_info(const struct ddvm_net *net)
{
	return &net->info;
}

uint32_t ddvm_net_max_frame(const struct ddvm_net *net)
{
	return net->max_frame;
}

uint32_t ddvm_net_mtu(const struct ddvm_net *net)
{
	return net->max_frame - DDVM_NET_FRAME_OVERHEAD;
}

void ddvm_net_ring_sizes(const struct ddvm_net *net, uint32_t *tx, uint32_t *rx)
{
	*tx = net->want[DDVM_NET_RING_TX].entries;
	*rx = net->want[DDVM_NET_RING_RX].entries;
}

void ddvm_net_get_stats(const struct ddvm_net *net, struct ddvm_net_stats *st)
{
	*st = net->stats;
}

void ddvm_net_server_counters(const struct ddvm_net *net, struct ddvm_net_srv_counters *c)
{
	const struct ddvm_net_info *i = &net->chan.srv->net;

	c->rx_frames = ddvm_load_once(&i->rx_frames);
	c->rx_dropped = ddvm_load_once(&i->rx_dropped);
	c->tx_frames = ddvm_load_once(&i->tx_frames);
	c->tx_dropped = ddvm_load_once(&i->tx_dropped);
}

void ddvm_net_server_state(const struct ddvm_net *net, uint64_t *heartbeat, uint32_t *generation,
			   uint32_t *state)
{
	*heartbeat = ddvm_load_once(&net->chan.srv->heartbeat);
	*generation = ddvm_load_once(&net->chan.srv->generation);
	*state = ddvm_load_acquire(&net->chan.srv->state);
}
