// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the stream netdev framing (host/lib/net_stream.c), the
 * bytes a hostile QEMU could write to `ddvm net stream`.  The input is that
 * byte stream, fed to the relay's input buffer in pieces of sizes the input
 * also chooses (as reads would return them), and cut after every piece in
 * batches of a chosen size.  A plain decoder over the whole stream is the
 * oracle: the relay's cuts must be exactly its frames (same lengths, same
 * bytes, same order), every frame must lie inside the buffer, and a length
 * below DDVM_NET_MIN_FRAME or above DDVM_NET_STREAM_LEN_MAX must be refused
 * exactly where the decoder meets it, and nothing after it cut.
 *
 * Input:
 *   byte 0     frames per cut: 1 + b % DDVM_NET_STREAM_BATCH
 *   byte 1     piece sizes: bits 0-3 pick a scale (1 << (b & 15) bytes at
 *              most), bit 4 whole stream at once
 *   bytes 2-9  seed of the piece sizes
 *   then       the stream
 *
 * DDVM_FUZZ_SEEDS=DIR writes seed inputs to DIR and exits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_stream.h"
#include "pattern.h"

#define HDR_LEN		10

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_net_stream:%d: %s\n", line, what);
	abort();
}

#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } while (0)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The oracle: the frame at stream offset @off, by plain reading.  Return:
 * 1 a frame of *@len at @off + 4, 0 the stream ends before it is whole,
 * -1 an impossible length at @off.
 */
static int oracle(const uint8_t *s, size_t size, size_t off, uint32_t *len)
{
	if (size - off < DDVM_NET_STREAM_HDR)
		return 0;
	*len = be32(s + off);
	if (*len < DDVM_NET_MIN_FRAME || *len > DDVM_NET_STREAM_LEN_MAX)
		return -1;
	return size - off - DDVM_NET_STREAM_HDR >= *len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ddvm_net_stream_in in;
	struct iovec f[DDVM_NET_STREAM_BATCH];
	const uint8_t *s = data + HDR_LEN;
	size_t len, fed = 0, pos = 0, room, piece, cap;
	uint64_t rng;
	uint32_t bad, want;
	bool refused = false;
	int max, n, i, o;

	if (size < HDR_LEN)
		return 0;
	len = size - HDR_LEN;
	max = 1 + data[0] % DDVM_NET_STREAM_BATCH;
	cap = (data[1] & 16) ? SIZE_MAX : (size_t)1 << (data[1] & 15);
	memcpy(&rng, data + 2, 8);
	if (!in.buf && ddvm_net_stream_in_init(&in))
		abort();
	in.start = in.end = 0;
	in.offset = 0;

	while (fed < len && !refused) {
		uint8_t *space = ddvm_net_stream_in_space(&in, &room);

		CHECK(room > 0 && space + room == in.buf + DDVM_NET_STREAM_IN_SIZE);
		piece = cap == SIZE_MAX ? len - fed : 1 + ddvm_rand_next(&rng) % cap;
		if (piece > room)
			piece = room;
		if (piece > len - fed)
			piece = len - fed;
		memcpy(space, s + fed, piece);
		ddvm_net_stream_in_fill(&in, piece);
		fed += piece;
		do {
			n = ddvm_net_stream_in_cut(&in, f, max, &bad);
			CHECK(n <= max);
			if (n < 0) {
				CHECK(n == -EPROTO);
				/* refused exactly where the plain reading is impossible */
				CHECK(in.offset == pos);
				CHECK(oracle(s, fed, pos, &want) == -1);
				CHECK(bad == want);
				refused = true;
				break;
			}
			for (i = 0; i < n; i++) {
				const uint8_t *b = f[i].iov_base;

				o = oracle(s, fed, pos, &want);
				CHECK(o == 1);
				CHECK(f[i].iov_len == want);
				CHECK(b >= in.buf && b + want <= in.buf + in.end);
				CHECK(!memcmp(b, s + pos + DDVM_NET_STREAM_HDR, want));
				pos += DDVM_NET_STREAM_HDR + want;
			}
			CHECK(in.offset == pos);
		} while (n > 0);
	}
	/* everything the plain reading finds whole was cut, or the stream was refused */
	if (!refused) {
		o = oracle(s, len, pos, &want);
		CHECK(o == 0);
		/* what is left is less than a frame: the buffer never fills up */
		CHECK(in.end - in.start == len - pos);
	}
	return 0;
}

/* ------------------------------------------------------------- seeds */

static void write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static size_t put_frame(uint8_t *p, uint32_t len, uint8_t fill)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memset(p + 4, fill, len);
	return 4 + len;
}

static void write_seeds(const char *dir)
{
	static uint8_t buf[HDR_LEN + 4 * (4 + 1514) + 64];
	size_t len;

	/* honest frames, read in small pieces */
	memset(buf, 0, HDR_LEN);
	buf[0] = 3;
	buf[1] = 6;
	buf[2] = 0x5a;
	len = HDR_LEN;
	len += put_frame(buf + len, 60, 1);
	len += put_frame(buf + len, 1514, 2);
	len += put_frame(buf + len, 14, 3);
	len += put_frame(buf + len, 1518, 4);
	len += put_frame(buf + len, 200, 5) - 100;	/* cut short */
	write_seed(dir, "honest", buf, len);

	/* a zero length after a good frame, all at once */
	buf[1] = 16;
	len = HDR_LEN;
	len += put_frame(buf + len, 60, 1);
	len += put_frame(buf + len, 0, 0);
	write_seed(dir, "zero-length", buf, len);

	/* a length beyond anything QEMU sends */
	buf[1] = 2;
	len = HDR_LEN;
	len += put_frame(buf + len, 100, 7);
	memcpy(buf + len, "\x7f\xff\xff\xff", 4);
	len += 4;
	write_seed(dir, "huge-length", buf, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("DDVM_FUZZ_SEEDS");

	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}
