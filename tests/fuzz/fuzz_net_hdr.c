// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the checks the DD/OS runs on a client's offloaded frame
 * (include/ddvm/check.h: the chain rules, ddvm_net_hdr_check and the parse
 * under it), on hostile input.  They must never read outside what they are
 * given (ASan: the frame ends where its allocation does), and whatever they
 * accept must keep the promises ddvm_net.c builds an skb on: the chain's
 * bytes hold a header and a frame within the limits, the checksum field
 * lies inside the frame, a GSO frame's headers are where the parse found
 * them, inside the bytes checked, and every segment fits the MTU.
 *
 * Input:
 *   byte 0     MTU selector: 68, 500, 1500 or 9000 (low 2 bits);
 *              bit 2: check only the first DDVM_NET_HDR_PARSE_MAX bytes
 *   bytes 1-12 the struct ddvm_net_hdr
 *   byte 13    descriptors to chain (0..40), then 4 bytes each (len, flags)
 *   rest       the frame (its length is what is left)
 *
 * DDVM_FUZZ_SEEDS=DIR writes seed inputs to DIR and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ddvm/check.h>

#include "fuzz_seed.h"

static const uint32_t mtus[4] = { 68, 500, 1500, 9000 };

static void check_failed(const char *what, int line)
{
	fprintf(stderr, "fuzz_net_hdr:%d: %s\n", line, what);
	abort();
}

#define CHECK(cond) do { if (!(cond)) check_failed(#cond, __LINE__); } while (0)

/* The descriptors of the input, as a consumer takes them. */
static void chain(const uint8_t *d, uint32_t n)
{
	struct ddvm_net_chain ch = { 0 };
	struct ddvm_net_desc desc = { 0 };
	uint32_t i, entries = 0;
	bool more = true;

	for (i = 0; i < n && more; i++) {
		desc.len = (uint16_t)(d[4 * i] | d[4 * i + 1] << 8);
		desc.flags = (uint16_t)(d[4 * i + 2] | d[4 * i + 3] << 8);
		more = ddvm_net_chain_add(&ch, &desc);
		entries++;
	}
	CHECK(ch.entries == entries);
	if (!ddvm_net_chain_check(&ch))
		return;
	/* a cut chain may still look sane so far: the consumer finds it cut, not bad */
	CHECK(ch.entries <= DDVM_NET_CHAIN_MAX);
	CHECK(ch.bytes >= sizeof(struct ddvm_net_hdr) + DDVM_NET_MIN_FRAME);
	CHECK(ch.bytes <= sizeof(struct ddvm_net_hdr) + DDVM_NET_OFFLOAD_MAX_FRAME);
	CHECK(ch.bytes <= ch.entries * DDVM_NET_BUF_SIZE &&
	      ch.bytes > (ch.entries - 1) * DDVM_NET_BUF_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddvm_net_hdr h;
	uint32_t max_frame, n, len, avail, segs, payload;
	struct ddvm_net_l4 l;
	uint8_t *frame;

	if (size < 14)
		return 0;
	max_frame = mtus[data[0] & 3] + DDVM_NET_FRAME_OVERHEAD;
	memcpy(&h, data + 1, sizeof(h));
	n = data[13] % 41;
	if (size < 14 + 4 * (size_t)n)
		return 0;
	chain(data + 14, n);
	len = (uint32_t)(size - 14 - 4 * n);
	/* a copy of its own size: ASan sees any read past the frame */
	frame = malloc(len ? len : 1);
	if (!frame)
		abort();
	memcpy(frame, data + 14 + 4 * n, len);
	avail = (data[0] & 4) && len > DDVM_NET_HDR_PARSE_MAX ? DDVM_NET_HDR_PARSE_MAX : len;
	if (ddvm_net_hdr_check(&h, frame, avail, len, max_frame)) {
		free(frame);
		return 0;
	}
	CHECK(len >= DDVM_NET_MIN_FRAME && len <= DDVM_NET_OFFLOAD_MAX_FRAME);
	CHECK(!h.rsvd && !(h.flags & ~(DDVM_NET_HDR_F_NEEDS_CSUM | DDVM_NET_HDR_F_DATA_VALID)));
	if (h.flags & DDVM_NET_HDR_F_NEEDS_CSUM)
		CHECK(h.csum_start >= DDVM_NET_MIN_FRAME &&
		      (uint32_t)h.csum_start + h.csum_offset + 2 <= len);
	if (h.gso_type == DDVM_NET_GSO_NONE) {
		CHECK(len <= max_frame && !h.gso_size && !h.hdr_len);
	} else {
		CHECK(h.flags & DDVM_NET_HDR_F_NEEDS_CSUM);
		CHECK(ddvm_net_l4_parse(frame, avail, len, &l));
		CHECK(h.csum_start == l.l4_off && h.hdr_len == l.l4_off + l.l4_len);
		CHECK(h.hdr_len <= avail && h.hdr_len <= DDVM_NET_HDR_PARSE_MAX);
		CHECK(h.gso_size >= DDVM_NET_GSO_SIZE_MIN &&
		      (uint32_t)h.hdr_len + h.gso_size <= max_frame);
		payload = len - h.hdr_len;
		segs = (payload + h.gso_size - 1) / h.gso_size;
		CHECK(segs <= DDVM_NET_GSO_MAX_SEGS);
	}
	free(frame);
	return 0;
}

/* ------------------------------------------------------------- seeds */

static void write_seeds(const char *dir)
{
	static uint8_t buf[14 + 8 + 14 + 20 + 32 + 3000];
	struct ddvm_net_hdr h = {
		.flags = DDVM_NET_HDR_F_NEEDS_CSUM, .gso_type = DDVM_NET_GSO_TCPV4,
		.hdr_len = 14 + 20 + 32, .gso_size = 1448, .csum_start = 34, .csum_offset = 16,
	};
	uint8_t *f = buf + 14 + 8;
	size_t len = sizeof(buf);

	/* a TCPv4 GSO frame with 12 bytes of TCP options, over a chain of two entries */
	buf[0] = 2 | 4;
	memcpy(buf + 1, &h, sizeof(h));
	buf[13] = 2;
	buf[14] = DDVM_NET_BUF_SIZE & 0xff;
	buf[15] = DDVM_NET_BUF_SIZE >> 8;
	buf[16] = DDVM_NET_DESC_MORE;
	buf[18] = 1000 & 0xff;
	buf[19] = 1000 >> 8;
	f[12] = 0x08;
	f[14] = 0x45;
	f[14 + 6] = 0x40;
	f[14 + 9] = 6;
	f[34 + 12] = 8 << 4;
	fuzz_write_seed(dir, "tcp4-gso", buf, len);
	/* the same as TCPv6 over a VLAN tag */
	memset(f, 0, 80);
	h.gso_type = DDVM_NET_GSO_TCPV6;
	h.csum_start = 18 + 40;
	h.hdr_len = 18 + 40 + 20;
	memcpy(buf + 1, &h, sizeof(h));
	f[12] = 0x81;
	f[16] = 0x86;
	f[17] = 0xdd;
	f[18] = 0x60;
	f[18 + 6] = 6;
	f[58 + 12] = 5 << 4;
	fuzz_write_seed(dir, "tcp6-vlan-gso", buf, len);
	/* a plain frame with a checksum to finish */
	memset(&h, 0, sizeof(h));
	h.flags = DDVM_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 4;
	memcpy(buf + 1, &h, sizeof(h));
	buf[13] = 0;
	fuzz_write_seed(dir, "plain-csum", buf, 14 + 100);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_seeds_if_asked(write_seeds);
	return 0;
}
