// SPDX-License-Identifier: GPL-2.0
/*
 * The stream netdev bridge (host/lib/net_stream.c): the framing parser on
 * its own, then the relay between a real unix stream socket (the test plays
 * QEMU on the other end) and the fake net server, which echoes every frame
 * back.  Long streams written in arbitrary pieces come back whole and in
 * order; hostile lengths end the connection, frames too big for the
 * channel do not; a full TX ring stops the reading, a QEMU that does not
 * read costs frames, never the framing; an absent server holds frames.
 * Then the bridge's side of the connection: it connects to "QEMU"'s socket
 * and keeps trying, with growing waits, while there is none or nobody
 * listens on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_net_server.h"
#include "net_stream.h"
#include "pattern.h"

#define REGION		(2ull << 20)	/* 256 entries a ring */
#define ETHERTYPE_TEST	0x88b5
#define WINDOW		128		/* frames in flight: fits the socket and the queue */
#define IO_TIMEOUT_S	10

static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		return -errno;
	return 0;
}

/* ------------------------------------------------------------- frames */

/* Frame @seq: @fixed bytes long, or a length in 60..1514 that is a function of seq. */
static uint32_t frame_len(uint64_t seq, uint32_t fixed)
{
	uint64_t st = seq * 0x9e3779b97f4a7c15ull + 7;

	return fixed ? fixed : 60 + (uint32_t)(ddvm_rand_next(&st) % (1514 - 60 + 1));
}

static void frame_body(uint8_t *f, uint64_t seq, uint32_t len)
{
	uint64_t st = seq ^ 0x5eed5eedull, v;
	uint32_t i;

	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	memcpy(f + 14, &seq, 8);
	for (i = 22; i < len; i += 8) {
		v = ddvm_rand_next(&st);
		memcpy(f + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* Frame @seq as QEMU would send it for a guest with @mac, behind its length. */
static size_t put_frame(uint8_t *p, uint64_t seq, const uint8_t *mac, uint32_t fixed)
{
	uint32_t len = frame_len(seq, fixed);

	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, peer_mac, 6);
	memcpy(p + 10, mac, 6);
	frame_body(p + 4, seq, len);
	return 4 + len;
}

/* Is @f the echo of a frame of ours, to @mac?  Returns its seq. */
static uint64_t check_echo(const uint8_t *f, uint32_t len, const uint8_t *mac, uint32_t fixed)
{
	uint8_t want[DDVM_NET_BUF_SIZE];
	uint64_t seq;

	assert_true(len >= 22 && len <= DDVM_NET_BUF_SIZE);
	memcpy(&seq, f + 14, 8);
	assert_int_equal(len, frame_len(seq, fixed));
	memcpy(want, mac, 6);
	memcpy(want + 6, peer_mac, 6);
	frame_body(want, seq, len);
	assert_memory_equal(f, want, len);
	return seq;
}

/* -------------------------------------------------- the parser alone */

static void put_len(uint8_t *p, uint32_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void test_parse_cuts_complete_frames_only(void **state)
{
	static uint8_t buf[3 * 4 + 60 + 1514 + 100];
	struct iovec f[4];
	size_t used;

	put_len(buf, 60);
	put_len(buf + 64, 1514);
	put_len(buf + 64 + 1518, 100);
	/* nothing, a partial header, a header alone */
	assert_int_equal(ddvm_net_stream_parse(buf, 0, f, 4, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(ddvm_net_stream_parse(buf, 3, f, 4, &used), 0);
	assert_int_equal(ddvm_net_stream_parse(buf, 4, f, 4, &used), 0);
	assert_int_equal(used, 0);
	/* one frame and a partial second */
	assert_int_equal(ddvm_net_stream_parse(buf, 64 + 1000, f, 4, &used), 1);
	assert_int_equal(used, 64);
	assert_ptr_equal(f[0].iov_base, buf + 4);
	assert_int_equal(f[0].iov_len, 60);
	/* all three, and no more than asked for */
	assert_int_equal(ddvm_net_stream_parse(buf, sizeof(buf), f, 4, &used), 3);
	assert_int_equal(used, sizeof(buf));
	assert_ptr_equal(f[2].iov_base, buf + 64 + 1518 + 4);
	assert_int_equal(f[2].iov_len, 100);
	assert_int_equal(ddvm_net_stream_parse(buf, sizeof(buf), f, 2, &used), 2);
	assert_int_equal(used, 64 + 1518);
}

static void test_parse_refuses_impossible_lengths(void **state)
{
	static const uint32_t bad[] = { 0, 1, 13, DDVM_NET_STREAM_LEN_MAX + 1, 0x80000000u,
					0xffffffffu };
	static const uint32_t good[] = { 14, 9018, DDVM_NET_STREAM_LEN_MAX };
	uint8_t buf[64 + 4];
	struct iovec f[2];
	size_t used, i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_len(buf, bad[i]);
		/* seen as soon as the header is: no waiting for a frame that never comes */
		assert_int_equal(ddvm_net_stream_parse(buf, 4, f, 2, &used), -EPROTO);
		assert_int_equal(used, 0);
		/* frames before it come out first, then the error */
		put_len(buf, 60);
		put_len(buf + 64, bad[i]);
		assert_int_equal(ddvm_net_stream_parse(buf, sizeof(buf), f, 2, &used), 1);
		assert_int_equal(used, 64);
		assert_int_equal(ddvm_net_stream_parse(buf + used, sizeof(buf) - used, f, 2, &used),
				 -EPROTO);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		put_len(buf, good[i]);
		assert_int_equal(ddvm_net_stream_parse(buf, 4, f, 2, &used), 0);	/* waits */
	}
}

/* The input buffer fed in odd pieces cuts exactly the frames that were put in. */
static void test_input_buffer_across_reads(void **state)
{
	const size_t total = 3u << 20;
	uint8_t *stream = malloc(total), *space;
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	struct ddvm_net_stream_in in;
	struct iovec f[DDVM_NET_STREAM_BATCH];
	uint64_t seq = 0, next = 0, rng = 42;
	size_t len = 0, fed = 0, pos = 0, room, piece;
	uint32_t bad;
	int n, i;

	assert_non_null(stream);
	while (len + 4 + 1514 <= total)
		len += put_frame(stream + len, seq++, mac, 0);
	assert_int_equal(ddvm_net_stream_in_init(&in), 0);
	while (fed < len) {
		space = ddvm_net_stream_in_space(&in, &room);
		assert_true(room > 0);
		piece = 1 + ddvm_rand_next(&rng) % 9000;
		if (piece > room)
			piece = room;
		if (piece > len - fed)
			piece = len - fed;
		memcpy(space, stream + fed, piece);
		ddvm_net_stream_in_fill(&in, piece);
		fed += piece;
		do {
			n = ddvm_net_stream_in_cut(&in, f, DDVM_NET_STREAM_BATCH, &bad);
			assert_true(n >= 0);
			/* each frame is the next one of the stream, byte for byte */
			for (i = 0; i < n; i++) {
				assert_int_equal(f[i].iov_len, frame_len(next, 0));
				assert_memory_equal(f[i].iov_base, stream + pos + 4, f[i].iov_len);
				pos += 4 + f[i].iov_len;
				next++;
			}
			assert_int_equal(in.offset, pos);
		} while (n);
	}
	assert_int_equal(next, seq);
	assert_int_equal(in.offset, len);
	ddvm_net_stream_in_free(&in);
	free(stream);
}

/* ---------------------------------------------------------- the relay */

struct fixture {
	struct fake_net_server srv;
	struct ddvm_net *net;
	uint8_t mac[6];
	int sock;			/* the test's end: "QEMU" */
	int relay_sock;			/* the relay's end */
	int stop_fd;
	pthread_t thread;
	bool running;
	int ret;			/* the relay's return */
	bool done;			/* atomic */
	struct ddvm_net_stream_stats st;
	struct ddvm_err err;
};

static void *relay_main(void *arg)
{
	struct fixture *f = arg;

	f->ret = ddvm_net_stream_relay(f->net, f->relay_sock, f->stop_fd, &f->st, &f->err);
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static struct fixture *fixture_open(const struct fake_net_opts *o)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	struct fixture *f = calloc(1, sizeof(*f));
	struct ddvm_err err = { "" };
	int sv[2];

	assert_non_null(f);
	assert_int_equal(fake_net_start(&f->srv, REGION, o), 0);
	if (ddvm_net_open_transport(&f->srv.transport, 5000, &f->net, &err))
		fail_msg("open: %s", err.msg);
	memcpy(f->mac, ddvm_net_info(f->net)->mac, 6);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->sock = sv[0];
	f->relay_sock = sv[1];
	assert_int_equal(set_nonblock(f->relay_sock, true), 0);
	setsockopt(f->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(f->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(f->stop_fd >= 0);
	return f;
}

static void relay_start(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, relay_main, f), 0);
	f->running = true;
}

/* Wait for the relay to return by itself (up to IO_TIMEOUT_S).  Return: its value. */
static int relay_wait(struct fixture *f)
{
	int64_t end = now_ms() + IO_TIMEOUT_S * 1000;

	while (!__atomic_load_n(&f->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			fail_msg("the relay did not return within %d s", IO_TIMEOUT_S);
		usleep(1000);
	}
	pthread_join(f->thread, NULL);
	f->running = false;
	return f->ret;
}

static void relay_stop(struct fixture *f)
{
	uint64_t one = 1;

	if (!f->running)
		return;
	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(relay_wait(f), 1);
}

static void fixture_close(struct fixture *f)
{
	relay_stop(f);
	close(f->sock);
	close(f->relay_sock);
	close(f->stop_fd);
	ddvm_net_close(f->net);
	fake_net_stop(&f->srv);
	free(f);
}

/* Wait until *@p reaches @want (written by the relay thread). */
static void wait_count(const uint64_t *p, uint64_t want, const char *what)
{
	int64_t end = now_ms() + IO_TIMEOUT_S * 1000;

	while (load(p) < want) {
		if (now_ms() > end)
			fail_msg("%s: %llu, want %llu", what, (unsigned long long)load(p),
				 (unsigned long long)want);
		usleep(1000);
	}
}

static int read_full(int fd, uint8_t *p, size_t len)
{
	ssize_t r;

	while (len) {
		r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r ? -errno : -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const uint8_t *p, size_t len)
{
	ssize_t w;

	while (len) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One frame from the relay, read the way QEMU does: length, then the frame. */
static uint32_t read_frame(struct fixture *f, uint8_t *buf)
{
	uint8_t hdr[4];
	uint32_t len;

	if (read_full(f->sock, hdr, 4))
		fail_msg("reading a frame length: %s", strerror(errno));
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len < 14 || len > DDVM_NET_BUF_SIZE)
		fail_msg("the relay sent a frame length of %u", len);
	if (read_full(f->sock, buf, len))
		fail_msg("reading a frame of %u bytes: %s", len, strerror(errno));
	return len;
}

/* Send frames first..first+n-1 to the relay in one write. */
static void send_frames(struct fixture *f, uint64_t first, uint64_t n, uint32_t fixed)
{
	uint8_t *buf = malloc(n * (4 + (fixed > 1514 ? fixed : 1514)));
	size_t len = 0;
	uint64_t i;

	assert_non_null(buf);
	for (i = 0; i < n; i++)
		len += put_frame(buf + len, first + i, f->mac, fixed);
	assert_int_equal(write_full(f->sock, buf, len), 0);
	free(buf);
}

/* Read @n echoes and check they are first..first+n-1. */
static void expect_echoes(struct fixture *f, uint64_t first, uint64_t n, uint32_t fixed)
{
	uint8_t buf[DDVM_NET_BUF_SIZE];
	uint64_t i;
	uint32_t len;

	for (i = 0; i < n; i++) {
		len = read_frame(f, buf);
		assert_int_equal(check_echo(buf, len, f->mac, fixed), first + i);
	}
}

/* ------------------------------------------------------ a long stream */

struct writer {
	struct fixture *f;
	uint64_t total;
	uint64_t received;	/* atomic: echoes the reader checked */
	int ret;
};

/*
 * Write the frames as one byte stream in pieces of 1..64 KiB that cut
 * headers and frames anywhere, never more than WINDOW frames ahead of the
 * echoes: then nothing can overflow and every frame must come back.
 */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t *buf = malloc(64 << 10);
	uint64_t seq = 0, rng = 7;
	size_t have = 0, piece;
	int64_t end;

	w->ret = buf ? 0 : -ENOMEM;
	while (!w->ret && (seq < w->total || have)) {
		end = now_ms() + IO_TIMEOUT_S * 1000;
		while (seq < w->total && have + 4 + 1514 <= (64 << 10) &&
		       seq - __atomic_load_n(&w->received, __ATOMIC_ACQUIRE) < WINDOW)
			have += put_frame(buf + have, seq++, w->f->mac, 0);
		if (!have) {
			if (now_ms() > end) {
				w->ret = -ETIMEDOUT;
				break;
			}
			usleep(200);
			continue;
		}
		piece = 1 + ddvm_rand_next(&rng) % (64 << 10);
		if (piece > have)
			piece = have;
		w->ret = write_full(w->f->sock, buf, piece);
		memmove(buf, buf + piece, have - piece);
		have -= piece;
	}
	free(buf);
	return NULL;
}

static void test_long_stream_comes_back_whole(void **state)
{
	struct fixture *f = fixture_open(NULL);
	struct writer w = { .f = f, .total = 30000 };
	uint8_t buf[DDVM_NET_BUF_SIZE];
	struct ddvm_net_stats ns;
	uint64_t i, bytes = 0, bells0;
	pthread_t thread;
	uint32_t len;

	relay_start(f);
	bells0 = load(&f->srv.ctl->doorbells);
	assert_int_equal(pthread_create(&thread, NULL, writer_main, &w), 0);
	for (i = 0; i < w.total; i++) {
		len = read_frame(f, buf);
		assert_int_equal(check_echo(buf, len, f->mac, 0), i);
		bytes += len;
		__atomic_store_n(&w.received, i + 1, __ATOMIC_RELEASE);
	}
	pthread_join(thread, NULL);
	assert_int_equal(w.ret, 0);
	relay_stop(f);
	ddvm_net_get_stats(f->net, &ns);
	print_message("%llu frames: %llu reads, %llu writes, %llu doorbells\n",
		      (unsigned long long)w.total, (unsigned long long)f->st.reads,
		      (unsigned long long)f->st.writes,
		      (unsigned long long)(load(&f->srv.ctl->doorbells) - bells0));
	assert_int_equal(f->st.to_chan_frames, w.total);
	assert_int_equal(f->st.from_chan_frames, w.total);
	assert_int_equal(f->st.to_chan_bytes, bytes);
	assert_int_equal(f->st.from_chan_bytes, bytes);
	assert_int_equal(f->st.queue_drops + f->st.too_big + f->st.protocol_errors, 0);
	/* at most one doorbell per ring batch, never one per frame */
	assert_true(ns.doorbells < w.total / 4);
	fixture_close(f);
}

/* What is in the socket when the relay looks goes in one read and one ring publication. */
static void test_one_read_one_publication(void **state)
{
	struct fixture *f = fixture_open(NULL);
	struct ddvm_net_stats ns0, ns;

	f->srv.ctl->paused = 1;		/* the frames stay on the ring */
	send_frames(f, 0, 64, 0);
	ddvm_net_get_stats(f->net, &ns0);
	relay_start(f);
	wait_count(&f->st.to_chan_frames, 64, "frames queued");
	ddvm_net_get_stats(f->net, &ns);
	assert_int_equal(f->st.reads, 1);
	assert_true(ns.doorbells - ns0.doorbells <= 1);
	f->srv.ctl->paused = 0;
	expect_echoes(f, 0, 64, 0);
	fixture_close(f);
}

/* -------------------------------------------------------- hostile QEMU */

static void test_impossible_length_drops_the_connection(void **state)
{
	static const uint32_t bad[] = { 0, 13, DDVM_NET_STREAM_LEN_MAX + 1 };
	uint8_t tail[4 + 64];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fixture *f = fixture_open(NULL);

		relay_start(f);
		send_frames(f, 0, 10, 0);
		put_len(tail, bad[i]);
		memset(tail + 4, 0xee, 64);
		assert_int_equal(write_full(f->sock, tail, sizeof(tail)), 0);
		assert_int_equal(relay_wait(f), -EPROTO);
		assert_non_null(strstr(f->err.msg, "frame length"));
		assert_int_equal(f->st.protocol_errors, 1);
		/* what came before the garbage was delivered */
		assert_int_equal(f->st.to_chan_frames, 10);
		fixture_close(f);
	}
}

/* A frame the NIC's MTU cannot carry is dropped; the connection and the rest go on. */
static void test_too_big_frame_is_dropped_alone(void **state)
{
	struct fixture *f = fixture_open(NULL);	/* MTU 1500: frames up to 1518 */

	relay_start(f);
	send_frames(f, 0, 5, 0);
	send_frames(f, 5, 1, 1519);
	send_frames(f, 6, 1, 9018);
	send_frames(f, 7, 5, 0);
	expect_echoes(f, 0, 5, 0);
	expect_echoes(f, 7, 5, 0);
	assert_int_equal(f->st.too_big, 2);
	assert_int_equal(f->st.protocol_errors, 0);
	assert_false(__atomic_load_n(&f->done, __ATOMIC_ACQUIRE));
	fixture_close(f);
}

/* ------------------------------------------------------- backpressure */

/* With the TX ring full the relay reads no more: QEMU keeps its frames, none is lost. */
static void test_full_ring_stops_reading(void **state)
{
	struct fixture *f = fixture_open(NULL);
	uint8_t rec[4 + 60];
	uint64_t written = 0;

	f->srv.ctl->paused = 1;
	relay_start(f);
	assert_int_equal(set_nonblock(f->sock, true), 0);
	/* 60-byte frames until the socket takes no more */
	for (;;) {
		put_frame(rec, written, f->mac, 60);
		if (write(f->sock, rec, sizeof(rec)) != sizeof(rec)) {
			assert_int_equal(errno, EAGAIN);
			/* the relay may still be taking a read: look once more */
			usleep(100 * 1000);
			if (write(f->sock, rec, sizeof(rec)) != sizeof(rec))
				break;
		}
		written++;
		assert_true(written * sizeof(rec) < (8u << 20));	/* it must stop reading */
	}
	assert_int_equal(errno, EAGAIN);
	wait_count(&f->st.tx_waits, 1, "waits for TX room");
	assert_int_equal(f->st.to_chan_frames, 256);	/* the ring, and not one more */
	print_message("%llu frames held back while the ring was full\n",
		      (unsigned long long)written);
	assert_int_equal(set_nonblock(f->sock, false), 0);
	f->srv.ctl->paused = 0;
	expect_echoes(f, 0, written, 60);
	assert_int_equal(f->st.queue_drops, 0);
	fixture_close(f);
}

/*
 * A QEMU that does not read: the relay queues, then drops whole frames.
 * What QEMU reads later is a clean stream of whole frames, in order.
 */
static void test_unread_socket_drops_whole_frames(void **state)
{
	struct fixture *f = fixture_open(NULL);
	const uint64_t total = 2000;	/* 3 MB of echoes: more than socket and queue hold */
	uint8_t buf[DDVM_NET_BUF_SIZE];
	uint64_t got = 0, next = 0, seq;
	uint32_t len;
	int i;

	relay_start(f);
	for (i = 0; i < 20; i++)
		send_frames(f, (uint64_t)i * 100, 100, 1514);
	wait_count(&f->st.from_chan_frames, total, "frames from the channel");
	assert_true(f->st.queue_drops > 0);
	assert_true(f->st.write_waits > 0);
	while (got + f->st.queue_drops < total) {
		len = read_frame(f, buf);
		seq = check_echo(buf, len, f->mac, 1514);
		assert_true(seq >= next);	/* gaps, never a repeat or a reordering */
		next = seq + 1;
		got++;
	}
	print_message("%llu frames read, %llu dropped\n", (unsigned long long)got,
		      (unsigned long long)f->st.queue_drops);
	assert_int_equal(got + f->st.queue_drops, total);
	/* and the stream goes on */
	send_frames(f, total, 3, 0);
	expect_echoes(f, total, 3, 0);
	fixture_close(f);
}

/* ------------------------------------------------------- ride-through */

/* No server for a while: the socket stays open, frames wait and then all arrive. */
static void test_absent_server_holds_frames(void **state)
{
	struct fixture *f = fixture_open(NULL);
	uint64_t reads, waits;

	relay_start(f);
	send_frames(f, 0, 100, 0);
	expect_echoes(f, 0, 100, 0);
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_STOP, 0, 2000), 0);
	reads = load(&f->st.reads);
	send_frames(f, 100, 100, 0);
	wait_count(&f->st.reads, reads + 1, "reads");
	waits = load(&f->st.tx_waits);
	wait_count(&f->st.tx_waits, waits + 2, "waits while no server runs");
	assert_int_equal(load(&f->st.to_chan_frames), 100);
	assert_false(__atomic_load_n(&f->done, __ATOMIC_ACQUIRE));
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_START, 0, 2000), 0);
	expect_echoes(f, 100, 100, 0);
	fixture_close(f);
}

static void test_peer_close_ends_the_relay(void **state)
{
	struct fixture *f = fixture_open(NULL);

	relay_start(f);
	send_frames(f, 0, 3, 0);
	expect_echoes(f, 0, 3, 0);
	shutdown(f->sock, SHUT_RDWR);
	assert_int_equal(relay_wait(f), 0);
	fixture_close(f);
}

/* ------------------------------------------------------------ connect */

struct connector {
	struct fixture *f;
	char path[108];
	int ret;
	bool done;			/* atomic */
	pthread_t thread;
};

static void *connect_main(void *arg)
{
	struct connector *c = arg;

	c->ret = ddvm_net_stream_connect(c->f->net, c->path, c->f->stop_fd, &c->f->st,
					 &c->f->err);
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void connect_start(struct connector *c, struct fixture *f, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->f = f;
	snprintf(c->path, sizeof(c->path), "%s", path);
	assert_int_equal(pthread_create(&c->thread, NULL, connect_main, c), 0);
}

/* Join the connector (up to IO_TIMEOUT_S).  Return: what it returned. */
static int connect_join(struct connector *c)
{
	int64_t end = now_ms() + IO_TIMEOUT_S * 1000;

	while (!__atomic_load_n(&c->done, __ATOMIC_ACQUIRE)) {
		if (now_ms() > end)
			fail_msg("ddvm_net_stream_connect(%s) did not return within %d s", c->path,
				 IO_TIMEOUT_S);
		usleep(1000);
	}
	pthread_join(c->thread, NULL);
	return c->ret;
}

/* "QEMU": a unix socket listening at @path, or only bound there when !@listening. */
static int qemu_socket(const char *path, bool listening)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (listening)
		assert_int_equal(listen(fd, 0), 0);
	return fd;
}

/* Accept on @lfd and check a byte each way between it and connection @c. */
static void expect_connected(int lfd, int c)
{
	char x = 'q', y = 0;
	int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	assert_true(a >= 0);
	assert_int_equal(write(a, &x, 1), 1);
	assert_int_equal(poll(&(struct pollfd){ .fd = c, .events = POLLIN }, 1,
			      IO_TIMEOUT_S * 1000), 1);
	assert_int_equal(read(c, &y, 1), 1);
	assert_int_equal(y, 'q');
	assert_int_equal(write(c, "b", 1), 1);
	assert_int_equal(read(a, &y, 1), 1);
	assert_int_equal(y, 'b');
	close(a);
}

/* QEMU starts listening at @path: @c connects; then all goes (@dir too). */
static void qemu_arrives(struct fixture *f, struct connector *c, const char *path,
			 const char *dir)
{
	int lfd = qemu_socket(path, true);

	assert_true(connect_join(c) >= 0);
	expect_connected(lfd, c->ret);
	close(c->ret);
	close(lfd);
	unlink(path);
	rmdir(dir);
	fixture_close(f);
}

/* Frames for the client while nobody is connected: taken off the ring, dropped. */
static void inject_three(struct fixture *f)
{
	int i;

	for (i = 0; i < 3; i++) {
		f->srv.ctl->inject[i].len = 60;
		memcpy(f->srv.ctl->inject[i].data, f->mac, 6);
		memcpy(f->srv.ctl->inject[i].data + 6, peer_mac, 6);
	}
	assert_int_equal(fake_net_cmd(&f->srv, FAKE_NET_INJECT, 3, 2000), 0);
}

/*
 * No socket yet (QEMU not started): the bridge keeps trying, dropping what
 * the channel receives, and connects once QEMU listens.
 */
static void test_connect_waits_for_the_socket(void **state)
{
	struct fixture *f = fixture_open(NULL);
	char dir[] = "/tmp/ddvm-nst-XXXXXX", path[64];
	struct connector c;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	connect_start(&c, f, path);
	inject_three(f);
	wait_count(&f->st.idle_drops, 3, "frames dropped with nobody connected");
	wait_count(&f->st.connect_attempts, 3, "attempts to connect");
	assert_false(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	qemu_arrives(f, &c, path, dir);
}

/*
 * A socket nobody listens on (a QEMU that was killed) is tried again
 * until a new QEMU listens there, with waits that grow: the first 6
 * attempts cannot come sooner than 20 + 40 + 80 + 160 + 320 ms apart.
 */
static void test_connect_retries_a_dead_socket(void **state)
{
	struct fixture *f = fixture_open(NULL);
	char dir[] = "/tmp/ddvm-nst-XXXXXX", path[64];
	struct connector c;
	int64_t t0;
	int dead;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	dead = qemu_socket(path, false);
	t0 = now_ms();
	connect_start(&c, f, path);
	wait_count(&f->st.connect_attempts, 6, "attempts to connect");
	assert_true(now_ms() - t0 >= 20 + 40 + 80 + 160 + 320);
	assert_false(__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	close(dead);
	unlink(path);
	qemu_arrives(f, &c, path, dir);
}

/* A stop ends the wait; what cannot get better is an error at once, naming the path. */
static void test_connect_stops_and_fails(void **state)
{
	struct fixture *f = fixture_open(NULL);
	char dir[] = "/tmp/ddvm-nst-XXXXXX", path[64], lng[200];
	struct connector c;
	uint64_t one = 1;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	connect_start(&c, f, path);
	wait_count(&f->st.connect_attempts, 2, "attempts to connect");
	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), sizeof(one));
	assert_int_equal(connect_join(&c), -EINTR);
	assert_int_equal(read(f->stop_fd, &one, sizeof(one)), sizeof(one));

	/* a regular file where a directory should be */
	snprintf(path, sizeof(path), "%s/f", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	snprintf(lng, sizeof(lng), "%s/s.sock", path);
	assert_int_equal(ddvm_net_stream_connect(f->net, lng, f->stop_fd, &f->st, &f->err),
			 -ENOTDIR);
	assert_non_null(strstr(f->err.msg, lng));
	unlink(path);
	memset(lng, 'x', sizeof(lng) - 1);
	lng[sizeof(lng) - 1] = '\0';
	assert_int_equal(ddvm_net_stream_connect(f->net, lng, f->stop_fd, &f->st, &f->err),
			 -ENAMETOOLONG);
	rmdir(dir);
	fixture_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cuts_complete_frames_only),
		cmocka_unit_test(test_parse_refuses_impossible_lengths),
		cmocka_unit_test(test_input_buffer_across_reads),
		cmocka_unit_test(test_long_stream_comes_back_whole),
		cmocka_unit_test(test_one_read_one_publication),
		cmocka_unit_test(test_impossible_length_drops_the_connection),
		cmocka_unit_test(test_too_big_frame_is_dropped_alone),
		cmocka_unit_test(test_full_ring_stops_reading),
		cmocka_unit_test(test_unread_socket_drops_whole_frames),
		cmocka_unit_test(test_absent_server_holds_frames),
		cmocka_unit_test(test_peer_close_ends_the_relay),
		cmocka_unit_test(test_connect_waits_for_the_socket),
		cmocka_unit_test(test_connect_retries_a_dead_socket),
		cmocka_unit_test(test_connect_stops_and_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
