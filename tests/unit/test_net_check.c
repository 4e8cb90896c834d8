// SPDX-License-Identifier: GPL-2.0
/*
 * The net offload checks of include/ddvm/check.h (ddvm_net_hdr_check, the
 * chain rules, the offload layout rule), case by case: each case breaks a
 * valid frame in one way and asserts the exact reason returned; then
 * random headers over random frames, where every header accepted must
 * keep the promises the DD/OS builds an skb on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ddvm/check.h>

#define MAX_FRAME	1518		/* MTU 1500 */
#define PAYLOAD		60000u

/* A frame under test: bytes and the header that describes them. */
struct frame {
	unsigned char b[DDVM_NET_OFFLOAD_MAX_FRAME + 64];
	uint32_t len;
	struct ddvm_net_hdr h;
};

static void put16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/*
 * A GSO frame: Ethernet (a VLAN tag if @vlan), IPv4 (@v6: IPv6), TCP with
 * 12 bytes of options (@udp: UDP), @payload bytes, and its valid header.
 */
static void make_gso(struct frame *f, bool v6, bool udp, bool vlan, uint32_t payload)
{
	uint32_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20), l4_len = udp ? 8 : 32;

	/* the payload's bytes are never read: only the headers are cleared */
	memset(&f->h, 0, sizeof(f->h));
	memset(f->b, 0, 256);
	memset(f->b, 0x11, 12);
	if (vlan) {
		put16(f->b + 12, 0x8100);
		put16(f->b + 14, 7);
	}
	put16(f->b + l3 - 2, v6 ? 0x86dd : 0x0800);
	if (v6) {
		f->b[l3] = 0x60;
		f->b[l3 + 6] = udp ? 17 : 6;
	} else {
		f->b[l3] = 0x45;
		put16(f->b + l3 + 6, 0x4000);	/* DF: not a fragment */
		f->b[l3 + 9] = udp ? 17 : 6;
	}
	if (!udp)
		f->b[l4 + 12] = (l4_len / 4) << 4;
	f->len = l4 + l4_len + payload;
	f->h.flags = DDVM_NET_HDR_F_NEEDS_CSUM;
	f->h.gso_type = udp ? DDVM_NET_GSO_UDP_L4 : v6 ? DDVM_NET_GSO_TCPV6 : DDVM_NET_GSO_TCPV4;
	f->h.hdr_len = (uint16_t)(l4 + l4_len);
	f->h.gso_size = (uint16_t)(MAX_FRAME - l4 - l4_len);
	f->h.csum_start = (uint16_t)l4;
	f->h.csum_offset = udp ? 6 : 16;
}

static uint32_t check(const struct frame *f)
{
	return ddvm_net_hdr_check(&f->h, f->b, f->len, f->len, MAX_FRAME);
}

/* The rules for frames without GSO. */
static void test_plain_frames(void **state)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.len = 1514;
	assert_int_equal(check(&f), DDVM_NET_HDR_OK);
	f.len = MAX_FRAME;
	assert_int_equal(check(&f), DDVM_NET_HDR_OK);
	f.len = MAX_FRAME + 1;
	assert_int_equal(check(&f), DDVM_NET_HDR_LENGTH);
	f.len = 13;
	assert_int_equal(check(&f), DDVM_NET_HDR_LENGTH);
	f.len = 14;
	assert_int_equal(check(&f), DDVM_NET_HDR_OK);

	/* a partial checksum anywhere in the frame past Ethernet: a tunnel's inner one too */
	f.len = 100;
	f.h.flags = DDVM_NET_HDR_F_NEEDS_CSUM;
	f.h.csum_start = 14;
	f.h.csum_offset = 84;
	assert_int_equal(check(&f), DDVM_NET_HDR_OK);
	f.h.csum_offset = 85;			/* the field's second byte past the end */
	assert_int_equal(check(&f), DDVM_NET_HDR_CSUM);
	f.h.csum_offset = 0xffff;		/* 16-bit sums must not wrap */
	assert_int_equal(check(&f), DDVM_NET_HDR_CSUM);
	f.h.csum_offset = 0;
	f.h.csum_start = 13;			/* inside the Ethernet header */
	assert_int_equal(check(&f), DDVM_NET_HDR_CSUM);
	f.h.csum_start = 100;			/* at the end */
	assert_int_equal(check(&f), DDVM_NET_HDR_CSUM);
	f.h.csum_start = 0xffff;
	assert_int_equal(check(&f), DDVM_NET_HDR_CSUM);
	f.h.csum_start = 14;

	f.h.flags = DDVM_NET_HDR_F_DATA_VALID;
	assert_int_equal(check(&f), DDVM_NET_HDR_OK);
	f.h.flags = 4;
	assert_int_equal(check(&f), DDVM_NET_HDR_FLAGS);
	f.h.flags = 0;
	f.h.rsvd = 1;
	assert_int_equal(check(&f), DDVM_NET_HDR_FLAGS);
	f.h.rsvd = 0;
	f.h.gso_size = 1448;			/* GSO fields without GSO */
	assert_int_equal(check(&f), DDVM_NET_HDR_GSO_SIZE);
	f.h.gso_size = 0;
	f.h.hdr_len = 54;
	assert_int_equal(check(&f), DDVM_NET_HDR_GSO_SIZE);
}

/* What a case does to a valid TCPv4 GSO frame, and the reason it must get. */
struct gso_case {
	const char *name;
	void (*edit)(struct frame *f);
	uint32_t want;
};

static void e_none(struct frame *f) { (void)f; }
static void e_v6(struct frame *f) { make_gso(f, true, false, false, PAYLOAD); }
static void e_udp(struct frame *f) { make_gso(f, false, true, false, 20000); }
static void e_udp6(struct frame *f) { make_gso(f, true, true, false, 20000); }
static void e_vlan(struct frame *f) { make_gso(f, false, false, true, PAYLOAD); }
static void e_ecn(struct frame *f) { f->h.gso_type |= DDVM_NET_GSO_ECN; }
static void e_max_gso(struct frame *f) { f->h.gso_size = MAX_FRAME - f->h.hdr_len; }
static void e_one_segment(struct frame *f) { f->len = f->h.hdr_len + 100; }
static void e_no_payload(struct frame *f) { f->len = f->h.hdr_len; }
static void e_max_len(struct frame *f) { f->len = DDVM_NET_OFFLOAD_MAX_FRAME; }

static void e_no_csum(struct frame *f) { f->h.flags = 0; }
static void e_valid_only(struct frame *f) { f->h.flags = DDVM_NET_HDR_F_DATA_VALID; }
static void e_ufo(struct frame *f) { f->h.gso_type = 3; }
static void e_type2(struct frame *f) { f->h.gso_type = 2; }
static void e_type_high(struct frame *f) { f->h.gso_type = 0x41; }
static void e_udp_ecn(struct frame *f) { e_udp(f); f->h.gso_type |= DDVM_NET_GSO_ECN; }
static void e_gso0(struct frame *f) { f->h.gso_size = 0; }
static void e_gso7(struct frame *f) { f->h.gso_size = 7; }
static void e_gso_huge(struct frame *f) { f->h.gso_size = 0xffff; }
static void e_gso_mtu1(struct frame *f) { f->h.gso_size = MAX_FRAME - f->h.hdr_len + 1; }
static void e_gso_segs(struct frame *f) { f->h.gso_size = 8; }	/* 7500 segments */
static void e_udp_segs(struct frame *f) { e_udp(f); f->h.gso_size = 150; }
static void e_too_long(struct frame *f) { f->len = DDVM_NET_OFFLOAD_MAX_FRAME + 1; }
static void e_short(struct frame *f) { f->len = 13; }
static void e_cut_tcp(struct frame *f) { f->len = f->h.hdr_len - 1; }
static void e_csum_start(struct frame *f) { f->h.csum_start += 2; }
static void e_csum_start_far(struct frame *f) { f->h.csum_start = 60000; }
static void e_csum_past(struct frame *f) { f->h.csum_start = (uint16_t)f->len; }
static void e_csum_off(struct frame *f) { f->h.csum_offset = 6; }
static void e_hdr_len(struct frame *f) { f->h.hdr_len -= 12; }
static void e_hdr_len0(struct frame *f) { f->h.hdr_len = 0; }
static void e_hdr_len_big(struct frame *f) { f->h.hdr_len = 0xffff; }
static void e_v4_as_v6(struct frame *f) { f->h.gso_type = DDVM_NET_GSO_TCPV6; }
static void e_v6_as_v4(struct frame *f) { e_v6(f); f->h.gso_type = DDVM_NET_GSO_TCPV4; }
static void e_udp_as_tcp(struct frame *f) { f->b[14 + 9] = 17; }
static void e_tcp_as_udp(struct frame *f) { f->h.gso_type = DDVM_NET_GSO_UDP_L4; f->h.csum_offset = 6; }
static void e_arp(struct frame *f) { put16(f->b + 12, 0x0806); }
static void e_ihl4(struct frame *f) { f->b[14] = 0x44; }
static void e_ver6(struct frame *f) { f->b[14] = 0x65; }
static void e_frag_mf(struct frame *f) { put16(f->b + 14 + 6, 0x2000); }
static void e_frag_off(struct frame *f) { put16(f->b + 14 + 6, 0x0001); }
static void e_doff4(struct frame *f) { f->b[34 + 12] = 4 << 4; }
static void e_doff15(struct frame *f) { f->b[34 + 12] = 15 << 4; f->len = 34 + 59; }
static void e_v6_ext(struct frame *f) { e_v6(f); f->b[14 + 6] = 0; }	/* hop-by-hop */
static void e_two_tags(struct frame *f) { e_vlan(f); put16(f->b + 16, 0x8100); }
static void e_rsvd(struct frame *f) { f->h.rsvd = 0x100; }

static const struct gso_case gso_cases[] = {
	{ "TCPv4", e_none, DDVM_NET_HDR_OK },
	{ "TCPv6", e_v6, DDVM_NET_HDR_OK },
	{ "UDP over IPv4", e_udp, DDVM_NET_HDR_OK },
	{ "UDP over IPv6", e_udp6, DDVM_NET_HDR_OK },
	{ "TCPv4 behind a VLAN tag", e_vlan, DDVM_NET_HDR_OK },
	{ "TCP with ECN", e_ecn, DDVM_NET_HDR_OK },
	{ "segments of exactly the MTU", e_max_gso, DDVM_NET_HDR_OK },
	{ "one segment only", e_one_segment, DDVM_NET_HDR_OK },
	{ "headers only", e_no_payload, DDVM_NET_HDR_OK },
	{ "the longest frame", e_max_len, DDVM_NET_HDR_OK },

	{ "GSO without NEEDS_CSUM", e_no_csum, DDVM_NET_HDR_GSO_TYPE },
	{ "GSO with DATA_VALID only", e_valid_only, DDVM_NET_HDR_GSO_TYPE },
	{ "UFO (type 3)", e_ufo, DDVM_NET_HDR_GSO_TYPE },
	{ "type 2", e_type2, DDVM_NET_HDR_GSO_TYPE },
	{ "type 0x41", e_type_high, DDVM_NET_HDR_GSO_TYPE },
	{ "UDP with ECN", e_udp_ecn, DDVM_NET_HDR_GSO_TYPE },
	{ "gso_size 0", e_gso0, DDVM_NET_HDR_GSO_SIZE },
	{ "gso_size 7", e_gso7, DDVM_NET_HDR_GSO_SIZE },
	{ "gso_size 65535", e_gso_huge, DDVM_NET_HDR_GSO_SIZE },
	{ "segments one byte over the MTU", e_gso_mtu1, DDVM_NET_HDR_GSO_SIZE },
	{ "7500 segments", e_gso_segs, DDVM_NET_HDR_GSO_SIZE },
	{ "134 UDP segments", e_udp_segs, DDVM_NET_HDR_GSO_SIZE },
	{ "one byte over the longest frame", e_too_long, DDVM_NET_HDR_LENGTH },
	{ "shorter than Ethernet", e_short, DDVM_NET_HDR_LENGTH },
	{ "TCP header cut", e_cut_tcp, DDVM_NET_HDR_PROTO },
	{ "csum_start 2 bytes into TCP", e_csum_start, DDVM_NET_HDR_CSUM },
	{ "csum_start in the payload", e_csum_start_far, DDVM_NET_HDR_CSUM },
	{ "csum_start at the end", e_csum_past, DDVM_NET_HDR_CSUM },
	{ "csum_offset of UDP on TCP", e_csum_off, DDVM_NET_HDR_CSUM },
	{ "hdr_len without the TCP options", e_hdr_len, DDVM_NET_HDR_HDR_LEN },
	{ "hdr_len 0", e_hdr_len0, DDVM_NET_HDR_HDR_LEN },
	{ "hdr_len 65535", e_hdr_len_big, DDVM_NET_HDR_HDR_LEN },
	{ "TCPV6 on IPv4", e_v4_as_v6, DDVM_NET_HDR_PROTO },
	{ "TCPV4 on IPv6", e_v6_as_v4, DDVM_NET_HDR_PROTO },
	{ "TCPV4 on UDP", e_udp_as_tcp, DDVM_NET_HDR_PROTO },
	{ "UDP_L4 on TCP", e_tcp_as_udp, DDVM_NET_HDR_PROTO },
	{ "GSO on ARP", e_arp, DDVM_NET_HDR_PROTO },
	{ "IPv4 header length 16", e_ihl4, DDVM_NET_HDR_PROTO },
	{ "IP version 6 in an IPv4 frame", e_ver6, DDVM_NET_HDR_PROTO },
	{ "IPv4 fragment (MF)", e_frag_mf, DDVM_NET_HDR_PROTO },
	{ "IPv4 fragment (offset)", e_frag_off, DDVM_NET_HDR_PROTO },
	{ "TCP data offset 4", e_doff4, DDVM_NET_HDR_PROTO },
	{ "TCP data offset past the frame", e_doff15, DDVM_NET_HDR_PROTO },
	{ "IPv6 extension header", e_v6_ext, DDVM_NET_HDR_PROTO },
	{ "two VLAN tags", e_two_tags, DDVM_NET_HDR_PROTO },
	{ "rsvd set", e_rsvd, DDVM_NET_HDR_FLAGS },
};

static void test_gso_cases(void **state)
{
	static struct frame f;
	size_t n = sizeof(gso_cases) / sizeof(gso_cases[0]), failed = 0;
	struct ddvm_net_hdr before;

	for (size_t i = 0; i < n; i++) {
		uint32_t got;

		make_gso(&f, false, false, false, PAYLOAD);
		gso_cases[i].edit(&f);
		before = f.h;
		got = check(&f);
		if (got != gso_cases[i].want) {
			print_error("GSO case \"%s\": got %u, want %u\n", gso_cases[i].name, got,
				    gso_cases[i].want);
			failed++;
		}
		/* a check, not a fix-up */
		assert_memory_equal(&f.h, &before, sizeof(before));
	}
	print_message("      %zu GSO cases\n", n);
	assert_int_equal(failed, 0);
}

/* A checker that may read only @avail bytes refuses what it cannot see, and reads no further. */
static void test_gso_reads_only_what_it_has(void **state)
{
	static struct frame f;
	uint32_t avail;

	make_gso(&f, false, false, false, PAYLOAD);
	for (avail = 0; avail < f.h.hdr_len; avail++)
		assert_int_equal(ddvm_net_hdr_check(&f.h, f.b, avail, f.len, MAX_FRAME),
				 DDVM_NET_HDR_PROTO);
	assert_int_equal(ddvm_net_hdr_check(&f.h, f.b, f.h.hdr_len, f.len, MAX_FRAME),
			 DDVM_NET_HDR_OK);
	assert_true(f.h.hdr_len <= DDVM_NET_HDR_PARSE_MAX);
}

/* ------------------------------------------------------------ chains */

struct chain_case {
	const char *name;
	uint16_t len[40], flags[40];
	uint32_t n;
	bool ok;
	uint32_t bytes;
};

#define M	DDVM_NET_DESC_MORE
#define B	DDVM_NET_BUF_SIZE

static const struct chain_case chain_cases[] = {
	{ "one entry", { 1526 }, { 0 }, 1, true, 1526 },
	{ "the shortest frame", { 26 }, { 0 }, 1, true, 26 },
	{ "a header and 13 bytes", { 25 }, { 0 }, 1, false, 0 },
	{ "two entries", { B, 1 }, { M, 0 }, 2, true, B + 1 },
	{ "empty entry", { 0 }, { 0 }, 1, false, 0 },
	{ "empty last entry", { B, 0 }, { M, 0 }, 2, false, 0 },
	{ "a buffer and a byte in one entry", { B + 1 }, { 0 }, 1, false, 0 },
	{ "a short entry with MORE", { B - 1, 100 }, { M, 0 }, 2, false, 0 },
	{ "an unknown flag", { 100 }, { 2 }, 1, false, 0 },
	{ "65535 in one entry", { 65535 }, { 0 }, 1, false, 0 },
};

static void run_chain(const uint16_t *len, const uint16_t *flags, uint32_t n,
		      struct ddvm_net_chain *ch)
{
	struct ddvm_net_desc d = { 0 };
	uint32_t i;

	memset(ch, 0, sizeof(*ch));
	for (i = 0; i < n; i++) {
		d.len = len[i];
		d.flags = flags[i];
		/* the chain ends where the flags say, not where the test's array does */
		assert_int_equal(ddvm_net_chain_add(ch, &d), i + 1 < n);
	}
}

static void test_chain_cases(void **state)
{
	size_t n = sizeof(chain_cases) / sizeof(chain_cases[0]);
	struct ddvm_net_chain ch;

	for (size_t i = 0; i < n; i++) {
		const struct chain_case *t = &chain_cases[i];

		run_chain(t->len, t->flags, t->n, &ch);
		if (ddvm_net_chain_check(&ch) != t->ok)
			fail_msg("chain case \"%s\": %s", t->name, t->ok ? "refused" : "accepted");
		if (t->ok)
			assert_int_equal(ch.bytes, t->bytes);
	}
}

/* The longest frame fits DDVM_NET_CHAIN_MAX entries; one more entry is refused. */
static void test_chain_limits(void **state)
{
	uint32_t total = sizeof(struct ddvm_net_hdr) + DDVM_NET_OFFLOAD_MAX_FRAME;
	uint32_t n = (total + B - 1) / B, i;
	uint16_t len[DDVM_NET_CHAIN_MAX + 1], flags[DDVM_NET_CHAIN_MAX + 1];
	struct ddvm_net_chain ch;

	assert_int_equal(n, DDVM_NET_CHAIN_MAX);
	for (i = 0; i < n; i++) {
		len[i] = i + 1 < n ? B : (uint16_t)(total - (n - 1) * B);
		flags[i] = i + 1 < n ? M : 0;
	}
	run_chain(len, flags, n, &ch);
	assert_true(ddvm_net_chain_check(&ch));
	assert_int_equal(ch.bytes, total);
	len[n - 1]++;				/* one byte more */
	run_chain(len, flags, n, &ch);
	assert_false(ddvm_net_chain_check(&ch));
	len[n - 1] = B;				/* DDVM_NET_CHAIN_MAX + 1 entries */
	flags[n - 1] = M;
	len[n] = 1;
	flags[n] = 0;
	run_chain(len, flags, n + 1, &ch);
	assert_false(ddvm_net_chain_check(&ch));
}

/* ------------------------------------------------------------ layout */

static void test_offload_layout_needs_long_rings(void **state)
{
	struct ddvm_cli_block c;

	memset(&c, 0, sizeof(c));
	c.nr_rings = DDVM_NET_NR_RINGS;
	c.rings[0].entries = c.rings[1].entries = DDVM_NET_OFFLOAD_MIN_ENTRIES / 2;
	c.data_size = 1 << 20;
	assert_int_equal(ddvm_net_layout_check(&c), 0);		/* fine without offloads */
	c.features = DDVM_F_NET_OFFLOAD;
	assert_int_equal(ddvm_net_layout_check(&c), DDVM_ERR_LAYOUT);
	c.rings[0].entries = DDVM_NET_OFFLOAD_MIN_ENTRIES;
	assert_int_equal(ddvm_net_layout_check(&c), DDVM_ERR_LAYOUT);
	c.rings[1].entries = DDVM_NET_OFFLOAD_MIN_ENTRIES;
	assert_int_equal(ddvm_net_layout_check(&c), 0);
}

/* --------------------------------------------------------- at random */

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Mostly near-valid values, sometimes anything. */
static uint16_t fuzz16(uint64_t *x, uint32_t good)
{
	switch (rnd(x) % 8) {
	case 0:
		return (uint16_t)rnd(x);
	case 1:
		return (uint16_t)(good + rnd(x) % 5 - 2);
	default:
		return (uint16_t)good;
	}
}

/*
 * Every accepted header keeps the promises the DD/OS relies on: the
 * checksum field inside the frame, the headers inside it and no longer
 * than the parse limit, every segment within the MTU, a bounded number of
 * segments, the frame within the limits.
 */
static void test_random_accepted_is_sound(void **state)
{
	static struct frame f;
	uint64_t x = 0x9e3779b97f4a7c15ull, accepted = 0, gso = 0;

	for (int i = 0; i < 300000; i++) {
		uint32_t payload = (uint32_t)(rnd(&x) % 70000), segs;

		make_gso(&f, rnd(&x) & 1, rnd(&x) % 4 == 0, rnd(&x) % 8 == 0, payload);
		if (rnd(&x) % 16 == 0)
			f.b[rnd(&x) % 80] = (unsigned char)rnd(&x);
		f.len = rnd(&x) % 16 ? f.len : (uint32_t)(rnd(&x) % 70000);
		f.h.flags = (uint8_t)(rnd(&x) % 8 ? f.h.flags : rnd(&x) % 4);
		f.h.gso_type = (uint8_t)(rnd(&x) % 8 ? (rnd(&x) % 4 ? f.h.gso_type : 0) : rnd(&x));
		f.h.hdr_len = fuzz16(&x, f.h.hdr_len);
		f.h.gso_size = fuzz16(&x, (uint32_t)(rnd(&x) % MAX_FRAME));
		f.h.csum_start = fuzz16(&x, f.h.csum_start);
		f.h.csum_offset = fuzz16(&x, f.h.csum_offset);
		f.h.rsvd = rnd(&x) % 32 ? 0 : (uint16_t)rnd(&x);
		if (rnd(&x) % 4 == 0) {		/* a frame without GSO, mostly */
			f.h.gso_type = 0;
			f.h.gso_size = rnd(&x) % 8 ? 0 : f.h.gso_size;
			f.h.hdr_len = rnd(&x) % 8 ? 0 : f.h.hdr_len;
			f.len = (uint32_t)(rnd(&x) % 1600);
		}
		if (check(&f))
			continue;
		accepted++;
		assert_true(f.len >= DDVM_NET_MIN_FRAME && f.len <= DDVM_NET_OFFLOAD_MAX_FRAME);
		assert_int_equal(f.h.rsvd, 0);
		if (f.h.flags & DDVM_NET_HDR_F_NEEDS_CSUM)
			assert_true(f.h.csum_start >= 14 &&
				    (uint32_t)f.h.csum_start + f.h.csum_offset + 2 <= f.len);
		if (f.h.gso_type == DDVM_NET_GSO_NONE) {
			assert_true(f.len <= MAX_FRAME);
			continue;
		}
		gso++;
		assert_true(f.h.flags & DDVM_NET_HDR_F_NEEDS_CSUM);
		assert_true(f.h.hdr_len <= f.len && f.h.hdr_len <= DDVM_NET_HDR_PARSE_MAX);
		assert_true(f.h.csum_start < f.h.hdr_len);
		assert_true(f.h.gso_size >= DDVM_NET_GSO_SIZE_MIN &&
			    (uint32_t)f.h.hdr_len + f.h.gso_size <= MAX_FRAME);
		segs = (f.len - f.h.hdr_len + f.h.gso_size - 1) / f.h.gso_size;
		assert_true(segs <= DDVM_NET_GSO_MAX_SEGS);
	}
	/* the generator reaches both kinds of acceptance, not only refusals */
	print_message("      %llu of 300000 accepted, %llu of them GSO\n",
		      (unsigned long long)accepted, (unsigned long long)gso);
	assert_true(gso > 5000 && accepted > gso);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_frames),
		cmocka_unit_test(test_gso_cases),
		cmocka_unit_test(test_gso_reads_only_what_it_has),
		cmocka_unit_test(test_chain_cases),
		cmocka_unit_test(test_chain_limits),
		cmocka_unit_test(test_offload_layout_needs_long_rings),
		cmocka_unit_test(test_random_accepted_is_sound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
