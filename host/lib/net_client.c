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
	uint32_t max_frame;		/* plain frames: MTU + overhead, at most a buffer */
	uint32_t mtu_frame;		/* offloaded unsegmented frames: MTU + overhead */
	bool event_idx;			/* the server honours cons_event/prod_event */
	bool offload;			/* this generation carries DDVM_F_NET_OFFLOAD */
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

/* The rings the region holds (ddvm/client.h: RX doubled where there is room). */
static int ddvm_net_plan(struct ddvm_net *net, struct ddvm_err *err)
{
	uint64_t size = net->chan.t.size;
	uint32_t tx, rx;

	if (ddvm_net_client_plan(size, &tx, &rx))
		return ddvm_errf(err, -ENOSPC,
				 "shared region of %llu bytes cannot hold a net channel (%u bytes at least)",
				 (unsigned long long)size,
				 (unsigned int)(ddvm_net_client_data_start(1, 1) + 2 * DDVM_NET_BUF_SIZE));
	net->want[DDVM_NET_RING_TX] = (struct ddvm_ring_want){ tx, sizeof(struct ddvm_net_desc) };
	net->want[DDVM_NET_RING_RX] = (struct ddvm_ring_want){ rx, sizeof(struct ddvm_net_desc) };
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
	net->mtu_frame = max;
	net->max_frame = max < DDVM_NET_BUF_SIZE ? max : DDVM_NET_BUF_SIZE;
	net->event_idx = !!(s->features & DDVM_F_EVENT_IDX);
	/* what the layout accepted: chan_client offered back what we wanted of srv.features */
	net->offload = !!(net->chan.srv_copy.features & net->chan.want_features &
			  DDVM_F_NET_OFFLOAD);
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
static void ddvm_net_ask_reset(struct ddvm_net *net)
{
	net->usable = false;
	net->reset_asked = true;
	ddvm_store_release(&net->chan.cli->state, DDVM_CLI_RESET);
	ddvm_net_notify(net);
}

static void ddvm_net_ring_broken(struct ddvm_net *net)
{
	net->stats.ring_errors++;
	ddvm_net_ask_reset(net);
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

/* ------------------------------------------------------------ frames */

/* The Internet checksum of @len bytes at @p (RFC 1071), in network order. */
static uint16_t ddvm_net_csum(const uint8_t *p, uint32_t len)
{
	uint64_t sum = 0;

	for (; len >= 2; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Finish the partial checksum @h describes in @frame (checked: inside it). */
static void ddvm_net_finish_csum(uint8_t *frame, uint32_t len, const struct ddvm_net_hdr *h)
{
	uint16_t sum = ddvm_net_csum(frame + h->csum_start, len - h->csum_start);

	if (!sum)
		sum = 0xffff;	/* 0 means "no checksum" to UDP */
	frame[h->csum_start + h->csum_offset] = (uint8_t)(sum >> 8);
	frame[h->csum_start + h->csum_offset + 1] = (uint8_t)sum;
}

/* TX entries a frame of @len bytes takes in this generation. */
static uint32_t ddvm_net_entries(const struct ddvm_net *net, uint32_t len)
{
	return net->offload ? ddvm_net_chain_entries(len) : 1;
}

/*
 * Copy a frame into the TX ring from its next entry on: one entry, or with
 * offloads a chain with @h in front.  The caller checked the room.
 * Return: where the frame's copy starts in the region (contiguous without
 * offloads, which is when the caller may still change it).
 */
static uint8_t *ddvm_net_put(struct ddvm_net *net, const struct ddvm_net_hdr *h,
			     const uint8_t *frame, uint32_t len)
{
	struct ddvm_ring *tx = &net->chan.rings[DDVM_NET_RING_TX];
	uint8_t *buf = net->data + ddvm_net_buf_off(&net->layout, DDVM_NET_RING_TX, tx->local);
	struct ddvm_net_desc d = { 0 };
	uint32_t total, part;

	if (!net->offload) {
		memcpy(buf, frame, len);
		d.len = (uint16_t)len;
		memcpy(ddvm_ring_next(tx), &d, sizeof(d));
		tx->local++;
		return buf;
	}
	memcpy(buf, h, DDVM_NET_HDR_LEN);
	part = ddvm_net_buf_room(&net->layout, DDVM_NET_RING_TX, tx->local) - DDVM_NET_HDR_LEN;
	if (part > len)
		part = len;
	memcpy(buf + DDVM_NET_HDR_LEN, frame, part);
	if (part < len)
		memcpy(net->data + ddvm_net_buf_off(&net->layout, DDVM_NET_RING_TX, 0), frame + part,
		       len - part);
	for (total = DDVM_NET_HDR_LEN + len; total; total -= d.len) {
		d.len = total > DDVM_NET_BUF_SIZE ? DDVM_NET_BUF_SIZE : (uint16_t)total;
		d.flags = total > DDVM_NET_BUF_SIZE ? DDVM_NET_DESC_MORE : 0;
		memcpy(ddvm_ring_next(tx), &d, sizeof(d));
		tx->local++;
	}
	return buf + DDVM_NET_HDR_LEN;
}

/* One frame to queue: its header (zero for a plain one) and bytes. */
struct ddvm_net_out {
	struct ddvm_net_hdr h;
	const uint8_t *frame;
	uint32_t len;
};

/* A plain frame the channel can carry?  0, -EINVAL or -EMSGSIZE. */
static int ddvm_net_out_plain(const struct ddvm_net *net, const struct iovec *iov,
			      struct ddvm_net_out *o)
{
	memset(&o->h, 0, sizeof(o->h));
	o->frame = iov->iov_base;
	o->len = (uint32_t)iov->iov_len;
	if (iov->iov_len < DDVM_NET_MIN_FRAME)
		return -EINVAL;
	return iov->iov_len > net->max_frame ? -EMSGSIZE : 0;
}

/* A frame behind an offload header the channel can carry?  0, -EINVAL or -EMSGSIZE. */
static int ddvm_net_out_hdr(const struct ddvm_net *net, const struct iovec *iov,
			    struct ddvm_net_out *o)
{
	struct ddvm_net_l4 l;
	uint32_t err;

	if (iov->iov_len < DDVM_NET_HDR_LEN + DDVM_NET_MIN_FRAME)
		return -EINVAL;
	if (iov->iov_len > DDVM_NET_HDR_LEN + DDVM_NET_OFFLOAD_MAX_FRAME)
		return -EMSGSIZE;
	memcpy(&o->h, iov->iov_base, sizeof(o->h));
	o->frame = (const uint8_t *)iov->iov_base + DDVM_NET_HDR_LEN;
	o->len = (uint32_t)iov->iov_len - DDVM_NET_HDR_LEN;
	/* Linux's taps say how much of the frame was linear: the headers are what we mean */
	if (o->h.gso_type != DDVM_NET_GSO_NONE && ddvm_net_l4_parse(o->frame, o->len, o->len, &l))
		o->h.hdr_len = (uint16_t)(l.l4_off + l.l4_len);
	o->h.flags &= ~DDVM_NET_HDR_F_DATA_VALID;	/* means nothing to a server */
	err = ddvm_net_hdr_check(&o->h, o->frame, o->len, o->len, net->mtu_frame);
	if (err)
		return err == DDVM_NET_HDR_LENGTH ? -EMSGSIZE : -EINVAL;
	/* without offloads, an unsegmented frame must fit one buffer */
	if (!net->offload && o->h.gso_type == DDVM_NET_GSO_NONE && o->len > net->max_frame)
		return -EMSGSIZE;
	return 0;
}

typedef int (*ddvm_net_out_fn)(const struct ddvm_net *net, const struct iovec *iov,
			       struct ddvm_net_out *o);

/* ddvm_net_send and ddvm_net_send_hdr: @check reads and checks each frame. */
static int ddvm_net_send_frames(struct ddvm_net *net, const struct iovec *frames, int n,
				ddvm_net_out_fn check)
{
	struct ddvm_ring *tx = &net->chan.rings[DDVM_NET_RING_TX];
	struct ddvm_net_out o;
	int room, i, ret, queued = 0;
	uint32_t old, need;
	uint8_t *copy;

	if (n <= 0)
		return 0;
	/* a caller's mistake is an error whether or not a server runs */
	ret = check(net, &frames[0], &o);
	if (ret)
		return ret;
	ret = ddvm_net_sync(net);
	if (ret <= 0)
		return ret;
	room = ddvm_ring_free(tx);
	if (room < 0) {
		ddvm_net_ring_broken(net);
		return 0;
	}
	old = tx->local;
	for (i = 0; i < n; i++) {
		if (check(net, &frames[i], &o))
			break;	/* the next call reports it */
		if (!net->offload && o.h.gso_type != DDVM_NET_GSO_NONE) {
			net->stats.tx_offload_dropped++;	/* a link that cannot carry it */
			continue;
		}
		need = ddvm_net_entries(net, o.len);
		if (need > (uint32_t)room) {
			net->stats.tx_full++;
			break;
		}
		room -= (int)need;
		copy = ddvm_net_put(net, &o.h, o.frame, o.len);
		if (!net->offload && (o.h.flags & DDVM_NET_HDR_F_NEEDS_CSUM))
			ddvm_net_finish_csum(copy, o.len, &o.h);
		net->stats.tx_bytes += o.len;
		queued++;
	}
	if (!queued)
		return i;	/* nothing queued: dropped ones still count as taken */
	net->stats.tx_frames += (uint64_t)queued;
	/* one publication per batch; a bell only if the server sleeps on this ring */
	if (ddvm_ring_publish(tx, old) || !net->event_idx)
		ddvm_net_notify(net);
	return i;
}

int ddvm_net_send(struct ddvm_net *net, const struct iovec *frames, int n)
{
	return ddvm_net_send_frames(net, frames, n, ddvm_net_out_plain);
}

int ddvm_net_send_hdr(struct ddvm_net *net, const struct iovec *frames, int n)
{
	return ddvm_net_send_frames(net, frames, n, ddvm_net_out_hdr);
}

/* Where a received frame's bytes are: contiguous, then (a chain that wraps) at wrap. */
struct ddvm_net_in {
	struct ddvm_net_hdr h;
	const uint8_t *frame, *wrap;
	uint32_t len, part;
};

/*
 * Take the next frame off the RX ring.  Return: 1 with @in filled, 0 if it
 * was dropped (counted), -EPROTO if the server's index cuts a chain.
 */
static int ddvm_net_take(struct ddvm_net *net, int *avail, struct ddvm_net_in *in)
{
	struct ddvm_ring *rx = &net->chan.rings[DDVM_NET_RING_RX];
	const uint8_t *buf = net->data + ddvm_net_buf_off(&net->layout, DDVM_NET_RING_RX, rx->local);
	struct ddvm_net_chain ch = { 0 };
	uint32_t room = ddvm_net_buf_room(&net->layout, DDVM_NET_RING_RX, rx->local);
	struct ddvm_net_desc d;

	memset(in, 0, sizeof(*in));
	if (!net->offload) {
		ddvm_ring_take(rx, &d);		/* d is ours: the server cannot change it now */
		(*avail)--;
		if (d.len < DDVM_NET_MIN_FRAME || d.len > DDVM_NET_BUF_SIZE) {
			net->stats.rx_bad++;
			return 0;
		}
		in->frame = buf;
		in->len = in->part = d.len;
		return 1;
	}
	if (ddvm_net_chain_take(rx, avail, &ch))
		return -EPROTO;
	if (!ddvm_net_chain_check(&ch)) {
		net->stats.rx_bad_hdr++;
		return 0;
	}
	memcpy(&in->h, buf, sizeof(in->h));	/* checked once the frame is ours too */
	in->frame = buf + DDVM_NET_HDR_LEN;
	in->len = ch.bytes - DDVM_NET_HDR_LEN;
	in->part = room - DDVM_NET_HDR_LEN < in->len ? room - DDVM_NET_HDR_LEN : in->len;
	in->wrap = net->data + ddvm_net_buf_off(&net->layout, DDVM_NET_RING_RX, 0);
	return 1;
}

/*
 * Copy frame @in into @out (room for it checked) and check its header on
 * that copy, which the server can no longer change.  Return: true if the
 * frame is fit to hand up.
 */
static bool ddvm_net_copy_in(struct ddvm_net *net, const struct ddvm_net_in *in, uint8_t *out)
{
	memcpy(out, in->frame, in->part);
	if (in->part < in->len)
		memcpy(out + in->part, in->wrap, in->len - in->part);
	if (!net->offload)
		return true;
	if (ddvm_net_hdr_check(&in->h, out, in->len, in->len, net->mtu_frame)) {
		net->stats.rx_bad_hdr++;
		return false;
	}
	return true;
}

/* ddvm_net_recv and ddvm_net_recv_hdr: frames with their headers in front, or plain. */
static int ddvm_net_recv_frames(struct ddvm_net *net, struct iovec *frames, int max, bool hdr)
{
	struct ddvm_ring *rx = &net->chan.rings[DDVM_NET_RING_RX];
	size_t lead = hdr ? DDVM_NET_HDR_LEN : 0;
	struct ddvm_net_in in;
	int avail, n = 0, ret;
	uint8_t *out;
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
	while (avail > 0 && n < max) {
		ret = ddvm_net_take(net, &avail, &in);
		if (ret < 0) {
			ddvm_net_ring_broken(net);	/* what we took so far is still good */
			break;
		}
		if (!ret)
			continue;
		/* (the header is not checked yet: it can only make us drop) */
		if (!hdr && in.h.gso_type != DDVM_NET_GSO_NONE) {
			net->stats.rx_gso_dropped++;
			continue;
		}
		if (lead + in.len > frames[n].iov_len) {
			net->stats.rx_too_long++;
			continue;
		}
		out = (uint8_t *)frames[n].iov_base;
		if (!ddvm_net_copy_in(net, &in, out + lead))
			continue;
		if (hdr)
			memcpy(out, &in.h, sizeof(in.h));
		else if (in.h.flags & DDVM_NET_HDR_F_NEEDS_CSUM)
			ddvm_net_finish_csum(out, in.len, &in.h);
		frames[n].iov_len = lead + in.len;
		net->stats.rx_bytes += in.len;
		n++;
	}
	net->stats.rx_frames += (uint64_t)n;
	if (net->usable && rx->local != old && ddvm_ring_consumed(rx, old))
		ddvm_net_notify(net);	/* the server waits for room */
	return n;
}

int ddvm_net_recv(struct ddvm_net *net, struct iovec *frames, int max)
{
	return ddvm_net_recv_frames(net, frames, max, false);
}

int ddvm_net_recv_hdr(struct ddvm_net *net, struct iovec *frames, int max)
{
	return ddvm_net_recv_frames(net, frames, max, true);
}

int ddvm_net_set_offload(struct ddvm_net *net, bool on)
{
	uint64_t want = on ? DDVM_F_NET_OFFLOAD : 0;

	if (on && (net->want[DDVM_NET_RING_TX].entries < DDVM_NET_OFFLOAD_MIN_ENTRIES ||
		   net->want[DDVM_NET_RING_RX].entries < DDVM_NET_OFFLOAD_MIN_ENTRIES))
		return -ENOSPC;
	net->chan.want_features = (net->chan.want_features & ~DDVM_F_NET_OFFLOAD) | want;
	/* a server that runs a layout which says otherwise is asked to start afresh */
	if (net->usable && net->offload != !!(net->chan.srv_copy.features & want))
		ddvm_net_ask_reset(net);
	return 0;
}

bool ddvm_net_offload(const struct ddvm_net *net)
{
	return net->offload;
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
	c->tx_bad_hdr = ddvm_load_once(&i->tx_bad_hdr);
	c->rx_segmented = ddvm_load_once(&i->rx_segmented);
}

void ddvm_net_server_state(const struct ddvm_net *net, uint64_t *heartbeat, uint32_t *generation,
			   uint32_t *state)
{
	*heartbeat = ddvm_load_once(&net->chan.srv->heartbeat);
	*generation = ddvm_load_once(&net->chan.srv->generation);
	*state = ddvm_load_acquire(&net->chan.srv->state);
}
