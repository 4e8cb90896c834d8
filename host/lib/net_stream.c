// SPDX-License-Identifier: GPL-2.0
/* QEMU's stream netdev framing and the relay to a net channel (see net_stream.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_stream.h"

/* with no server, look for a new one this often; else wake up at least this often */
#define DDVM_NET_STREAM_TICK_MS	1000

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool ddvm_net_stream_len_ok(uint32_t len)
{
	return len >= DDVM_NET_MIN_FRAME && len <= DDVM_NET_STREAM_LEN_MAX;
}

int ddvm_net_stream_parse(uint8_t *buf, size_t len, struct iovec *frames, int max, size_t *used)
{
	size_t off = 0;
	uint32_t flen;
	int n = 0;

	while (n < max && len - off >= DDVM_NET_STREAM_HDR) {
		flen = get_be32(buf + off);
		if (!ddvm_net_stream_len_ok(flen)) {
			if (n)
				break;	/* the good frames first; the error next time */
			*used = off;
			return -EPROTO;
		}
		if (len - off - DDVM_NET_STREAM_HDR < flen)
			break;
		frames[n].iov_base = buf + off + DDVM_NET_STREAM_HDR;
		frames[n].iov_len = flen;
		n++;
		off += DDVM_NET_STREAM_HDR + flen;
	}
	*used = off;
	return n;
}

/* ------------------------------------------------------------ input buffer */

int ddvm_net_stream_in_init(struct ddvm_net_stream_in *in)
{
	memset(in, 0, sizeof(*in));
	in->buf = malloc(DDVM_NET_STREAM_IN_SIZE);
	return in->buf ? 0 : -ENOMEM;
}

void ddvm_net_stream_in_free(struct ddvm_net_stream_in *in)
{
	free(in->buf);
	in->buf = NULL;
}

uint8_t *ddvm_net_stream_in_space(struct ddvm_net_stream_in *in, size_t *room)
{
	if (in->start) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
	}
	/*
	 * Never full: what is left uncut is less than one header and a
	 * frame of DDVM_NET_STREAM_LEN_MAX, which leaves room to spare.
	 */
	*room = DDVM_NET_STREAM_IN_SIZE - in->end;
	return in->buf + in->end;
}

void ddvm_net_stream_in_fill(struct ddvm_net_stream_in *in, size_t n)
{
	in->end += n;
}

int ddvm_net_stream_in_cut(struct ddvm_net_stream_in *in, struct iovec *frames, int max,
			   uint32_t *bad_len)
{
	size_t used;
	int n;

	n = ddvm_net_stream_parse(in->buf + in->start, in->end - in->start, frames, max, &used);
	if (n < 0) {
		*bad_len = get_be32(in->buf + in->start);
		return n;
	}
	in->start += used;
	in->offset += used;
	return n;
}

/* ------------------------------------------------------------------ relay */

struct ddvm_net_stream_loop {
	struct ddvm_net *net;
	int sock;
	int epfd;
	struct ddvm_net_stream_stats *st;
	struct ddvm_err *err;
	/* QEMU -> channel */
	struct ddvm_net_stream_in in;
	struct iovec pending[DDVM_NET_STREAM_BATCH];	/* cut from in, not yet queued */
	int nr_pending, first_pending;
	/* channel -> QEMU */
	uint8_t *rxb;			/* DDVM_NET_STREAM_BATCH frame buffers */
	uint8_t *out;			/* DDVM_NET_STREAM_OUT_SIZE bytes the socket did not take */
	size_t out_start, out_end;
	bool closed;			/* the peer went away */
	uint32_t sock_events;		/* what epoll watches on sock now */
};

/* Queue the frames cut from the stream; drop those the channel can never carry. */
static void ddvm_net_stream_flush_pending(struct ddvm_net_stream_loop *l)
{
	int n, i;

	while (l->nr_pending) {
		n = ddvm_net_send(l->net, l->pending + l->first_pending, l->nr_pending);
		if (n == -EMSGSIZE || n == -EINVAL) {
			/* too long for the NIC's MTU: a giant on a wire, dropped */
			l->st->too_big++;
			n = 1;
		} else if (n <= 0) {
			l->st->tx_waits++;
			return;		/* ring full or no server: keep them, read no more */
		} else {
			for (i = 0; i < n; i++)
				l->st->to_chan_bytes += l->pending[l->first_pending + i].iov_len;
			l->st->to_chan_frames += (uint64_t)n;
		}
		l->first_pending += n;
		l->nr_pending -= n;
	}
}

/*
 * QEMU -> channel: queue what was cut already; once all of it is taken, cut
 * more, reading the socket (once per call) only when no complete frame is
 * left.  Return: 0 or -errno.
 */
static int ddvm_net_stream_to_chan(struct ddvm_net_stream_loop *l)
{
	uint32_t bad_len;
	bool did_read = false;
	uint8_t *space;
	size_t room;
	ssize_t r;
	int n;

	for (;;) {
		ddvm_net_stream_flush_pending(l);
		if (l->nr_pending || l->closed)
			return 0;
		n = ddvm_net_stream_in_cut(&l->in, l->pending, DDVM_NET_STREAM_BATCH, &bad_len);
		if (n < 0) {
			l->st->protocol_errors++;
			return ddvm_errf(l->err, -EPROTO,
					 "the peer sent a frame length of %u at stream offset %llu (want %d..%d): disconnected",
					 bad_len, (unsigned long long)l->in.offset, DDVM_NET_MIN_FRAME,
					 DDVM_NET_STREAM_LEN_MAX);
		}
		if (n) {
			l->first_pending = 0;
			l->nr_pending = n;
			continue;
		}
		if (did_read)
			return 0;	/* let the other direction have its turn */
		space = ddvm_net_stream_in_space(&l->in, &room);
		r = read(l->sock, space, room);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == ECONNRESET) {
				l->closed = true;
				return 0;
			}
			return ddvm_errf(l->err, -errno, "reading the stream socket: %m");
		}
		if (!r) {
			/* a frame cut short by the close is lost with the connection */
			l->closed = true;
			return 0;
		}
		ddvm_net_stream_in_fill(&l->in, (size_t)r);
		l->st->reads++;
		did_read = true;
	}
}

/* Send the queue.  Return: 0 (the peer going away is l->closed) or -errno. */
static int ddvm_net_stream_flush_out(struct ddvm_net_stream_loop *l)
{
	ssize_t w;

	while (l->out_start < l->out_end) {
		w = send(l->sock, l->out + l->out_start, l->out_end - l->out_start,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				l->st->write_waits++;
				return 0;
			}
			if (errno == EPIPE || errno == ECONNRESET) {
				l->closed = true;
				return 0;
			}
			return ddvm_errf(l->err, -errno, "writing the stream socket: %m");
		}
		l->out_start += (size_t)w;
		l->st->writes++;
	}
	l->out_start = l->out_end = 0;
	return 0;
}

/*
 * Keep what the socket did not take of @iov (2 entries a frame, @skip bytes
 * of it written) in the queue: whole frames only, as long as they fit.
 */
static void ddvm_net_stream_queue(struct ddvm_net_stream_loop *l, const struct iovec *iov,
				  int nr_iov, size_t skip)
{
	size_t frame_len, len;
	int i;

	for (i = 0; i < nr_iov; i += 2) {
		frame_len = iov[i].iov_len + iov[i + 1].iov_len;
		if (skip >= frame_len) {
			skip -= frame_len;
			continue;
		}
		len = frame_len - skip;
		/* a frame partly written must be finished, or the stream is cut */
		if (!skip && DDVM_NET_STREAM_OUT_SIZE - (l->out_end - l->out_start) < len) {
			l->st->queue_drops++;
			continue;
		}
		if (DDVM_NET_STREAM_OUT_SIZE - l->out_end < len) {
			memmove(l->out, l->out + l->out_start, l->out_end - l->out_start);
			l->out_end -= l->out_start;
			l->out_start = 0;
		}
		if (skip < iov[i].iov_len) {
			memcpy(l->out + l->out_end, (uint8_t *)iov[i].iov_base + skip,
			       iov[i].iov_len - skip);
			l->out_end += iov[i].iov_len - skip;
			skip = 0;
		} else {
			skip -= iov[i].iov_len;
		}
		memcpy(l->out + l->out_end, (uint8_t *)iov[i + 1].iov_base + skip,
		       iov[i + 1].iov_len - skip);
		l->out_end += iov[i + 1].iov_len - skip;
		skip = 0;
	}
}

/*
 * Channel -> QEMU: a batch at a time, each frame behind its length, with
 * one writev while nothing is queued; what the socket does not take waits
 * in the queue.  Return: 0 or -errno.
 */
static int ddvm_net_stream_from_chan(struct ddvm_net_stream_loop *l)
{
	struct iovec frames[DDVM_NET_STREAM_BATCH], iov[2 * DDVM_NET_STREAM_BATCH];
	uint8_t hdr[DDVM_NET_STREAM_BATCH][DDVM_NET_STREAM_HDR];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t w;
	int n, i;

	/* what waits goes first, and with it gone the batch can go straight out */
	n = ddvm_net_stream_flush_out(l);
	if (n || l->closed)
		return n;
	do {
		for (i = 0; i < DDVM_NET_STREAM_BATCH; i++)
			frames[i] = (struct iovec){ l->rxb + (size_t)i * DDVM_NET_BUF_SIZE,
						    DDVM_NET_BUF_SIZE };
		n = ddvm_net_recv(l->net, frames, DDVM_NET_STREAM_BATCH);
		if (n < 0)
			return ddvm_errf(l->err, n, "channel: %s", strerror(-n));
		for (i = 0; i < n; i++) {
			put_be32(hdr[i], (uint32_t)frames[i].iov_len);
			iov[2 * i] = (struct iovec){ hdr[i], DDVM_NET_STREAM_HDR };
			iov[2 * i + 1] = frames[i];
			l->st->from_chan_bytes += frames[i].iov_len;
		}
		l->st->from_chan_frames += (uint64_t)n;
		w = 0;
		if (n && l->out_start == l->out_end && !l->closed) {
			msg.msg_iovlen = (size_t)(2 * n);
			do {
				w = sendmsg(l->sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
			} while (w < 0 && errno == EINTR);
			if (w < 0) {
				if (errno == EPIPE || errno == ECONNRESET) {
					l->closed = true;
					return 0;
				}
				if (errno != EAGAIN)
					return ddvm_errf(l->err, -errno, "writing the stream socket: %m");
				l->st->write_waits++;
				w = 0;
			} else {
				l->st->writes++;
			}
		}
		ddvm_net_stream_queue(l, iov, 2 * n, (size_t)w);
	} while (n == DDVM_NET_STREAM_BATCH);
	return ddvm_net_stream_flush_out(l);
}

/* Watch the socket for what the loop can act on now. */
static int ddvm_net_stream_watch(struct ddvm_net_stream_loop *l)
{
	struct epoll_event ev = { .data.fd = l->sock };

	/* with frames held back, the socket waits until the ring has room */
	ev.events = (l->nr_pending ? 0 : EPOLLIN) | (l->out_start < l->out_end ? EPOLLOUT : 0);
	if (ev.events == l->sock_events)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->sock, &ev))
		return ddvm_errf(l->err, -errno, "epoll: %m");
	l->sock_events = ev.events;
	return 0;
}

static int ddvm_net_stream_loop_run(struct ddvm_net_stream_loop *l, int stop_fd)
{
	struct epoll_event evs[4];
	int ret, n, i, timeout;
	unsigned int want;

	for (;;) {
		ret = ddvm_net_stream_from_chan(l);
		if (!ret)
			ret = ddvm_net_stream_to_chan(l);
		if (ret)
			return ret;
		if (l->closed)
			return 0;

		want = DDVM_NET_WANT_RX | (l->nr_pending ? DDVM_NET_WANT_TX : 0);
		ret = ddvm_net_arm(l->net, want);
		if (ret < 0)
			return ddvm_errf(l->err, ret, "channel: %s", strerror(-ret));
		if (ret > 0)
			continue;	/* frames or room came while we armed */
		ret = ddvm_net_stream_watch(l);
		if (ret)
			return ret;
		timeout = ddvm_net_link(l->net) == DDVM_NET_LINK_ABSENT ? DDVM_NET_RETRY_MS :
									 DDVM_NET_STREAM_TICK_MS;
		n = epoll_wait(l->epfd, evs, 4, timeout);
		if (n < 0 && errno != EINTR)
			return ddvm_errf(l->err, -errno, "epoll_wait: %m");
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == stop_fd)
				return 1;
			/* a hang-up shows even while we do not read: the peer is gone */
			if (evs[i].data.fd == l->sock && (evs[i].events & (EPOLLHUP | EPOLLERR)) &&
			    !(evs[i].events & EPOLLIN))
				return 0;
		}
	}
}

static int ddvm_net_stream_epoll(struct ddvm_net_stream_loop *l, int stop_fd)
{
	int fds[3] = { l->sock, ddvm_net_fd(l->net), stop_fd };
	struct epoll_event ev;
	int i;

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return ddvm_errf(l->err, -errno, "epoll_create1: %m");
	for (i = 0; i < 3; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = fds[i] };
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fds[i], &ev))
			return ddvm_errf(l->err, -errno, "epoll_ctl: %m");
	}
	l->sock_events = EPOLLIN;
	return 0;
}

int ddvm_net_stream_relay(struct ddvm_net *net, int sock, int stop_fd,
			  struct ddvm_net_stream_stats *st, struct ddvm_err *err)
{
	struct ddvm_net_stream_loop l = {
		.net = net, .sock = sock, .epfd = -1, .st = st, .err = err,
	};
	int ret;

	st->connections++;
	l.rxb = malloc((size_t)DDVM_NET_STREAM_BATCH * DDVM_NET_BUF_SIZE);
	l.out = malloc(DDVM_NET_STREAM_OUT_SIZE);
	if (!l.rxb || !l.out || ddvm_net_stream_in_init(&l.in)) {
		ret = ddvm_errf(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	ret = ddvm_net_stream_epoll(&l, stop_fd);
	if (!ret)
		ret = ddvm_net_stream_loop_run(&l, stop_fd);
out_free:
	if (l.epfd >= 0)
		close(l.epfd);
	ddvm_net_stream_in_free(&l.in);
	free(l.out);
	free(l.rxb);
	return ret;
}
