// SPDX-License-Identifier: GPL-2.0
/*
 * The checks of peer-written data in include/ddvm/check.h, case by case:
 * each case changes a valid layout or request in one way and asserts the
 * exact code returned, including arithmetic that would wrap near 2^64.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ddvm/check.h>

/* ------------------------------------------------------ layout check */

/*
 * A valid block layout in a 1 MiB region:
 *   ring 0 (req, 32-byte entries)  [4096, 8448)
 *   ring 1 (cmp, 16-byte entries)  [8448, 10752)
 *   data area                      [12288, 1 MiB)
 */
#define REGION		(1ull << 20)
#define R0_OFF		4096ull
#define R0_BYTES	(DDVM_RING_CTL_SIZE + 128ull * 32)	/* 4352 */
#define R1_OFF		(R0_OFF + R0_BYTES)			/* 8448 */
#define R1_BYTES	(DDVM_RING_CTL_SIZE + 128ull * 16)	/* 2304 */
#define DATA_OFF	12288ull
#define HIGH_PAGE	0xfffffffffffff000ull			/* last page of 2^64 */

static void base_layout(struct ddvm_cli_block *c, struct ddvm_layout_rules *r)
{
	memset(c, 0, sizeof(*c));
	c->magic = DDVM_MAGIC;
	c->version = DDVM_VERSION;
	c->type = DDVM_CHAN_BLK;
	c->state = DDVM_CLI_READY;
	c->generation = 7;
	c->peer_id = 3;
	c->nr_rings = DDVM_BLK_NR_RINGS;
	c->features = DDVM_F_EVENT_IDX;
	c->rings[0] = (struct ddvm_ring_layout){ R0_OFF, 128, sizeof(struct ddvm_blk_req) };
	c->rings[1] = (struct ddvm_ring_layout){ R1_OFF, 128, sizeof(struct ddvm_blk_cmp) };
	c->data_off = DATA_OFF;
	c->data_size = REGION - DATA_OFF;

	memset(r, 0, sizeof(*r));
	r->region_size = REGION;
	r->type = DDVM_CHAN_BLK;
	r->nr_rings = DDVM_BLK_NR_RINGS;
	r->entry_size[0] = sizeof(struct ddvm_blk_req);
	r->entry_size[1] = sizeof(struct ddvm_blk_cmp);
	r->features = DDVM_F_EVENT_IDX;
	r->page_size = 4096;
}

/* What a case changes: a client block field (C_*) or a server rule (R_*). */
enum field {
	F_NONE,
	C_MAGIC, C_VERSION, C_TYPE, C_FEATURES, C_NR_RINGS, C_PEER_ID, C_DATA_OFF, C_DATA_SIZE,
	C_R0_OFF, C_R0_ENTRIES, C_R0_ESIZE, C_R1_OFF, C_R1_ENTRIES, C_R1_ESIZE, C_R2_OFF,
	C_R2_ENTRIES,
	R_SIZE, R_TYPE, R_NR_RINGS, R_FEATURES, R_PAGE,
};

struct set {
	enum field f;
	uint64_t v;
};

struct layout_case {
	const char *name;
	struct set set[4];
	uint32_t want;
};

#define OK	0
#define VERS	DDVM_ERR_VERSION
#define TYPE	DDVM_ERR_TYPE
#define FEAT	DDVM_ERR_FEATURES
#define LAYOUT	DDVM_ERR_LAYOUT

static const struct layout_case layout_cases[] = {
	{ "valid", { { F_NONE, 0 } }, OK },
	/* identity: magic and version before anything else */
	{ "magic zero", { { C_MAGIC, 0 } }, VERS },
	{ "magic byte-swapped", { { C_MAGIC, 0x4444564d } }, VERS },
	{ "version 0", { { C_VERSION, 0 } }, VERS },
	{ "version 2", { { C_VERSION, 2 } }, VERS },
	{ "version 0xffff", { { C_VERSION, 0xffff } }, VERS },
	{ "bad magic wins over bad type",
	  { { C_MAGIC, 1 }, { C_TYPE, 9 }, { C_NR_RINGS, 0 } }, VERS },
	/* type */
	{ "type net to a blk server", { { C_TYPE, DDVM_CHAN_NET } }, TYPE },
	{ "type 0", { { C_TYPE, 0 } }, TYPE },
	{ "type 0x8001", { { C_TYPE, 0x8001 } }, TYPE },
	{ "net client to a net server",
	  { { C_TYPE, DDVM_CHAN_NET }, { R_TYPE, DDVM_CHAN_NET } }, OK },
	{ "bad type wins over bad features", { { C_TYPE, 2 }, { C_FEATURES, 2 } }, TYPE },
	/* features: a subset of what is offered */
	{ "feature never defined", { { C_FEATURES, 1ull << 1 } }, FEAT },
	{ "all features", { { C_FEATURES, UINT64_MAX } }, FEAT },
	{ "event idx not offered", { { R_FEATURES, 0 } }, FEAT },
	{ "no features accepted of those offered", { { C_FEATURES, 0 } }, OK },
	{ "more offered than accepted", { { R_FEATURES, 0xff } }, OK },
	{ "bad features win over bad layout", { { C_FEATURES, 4 }, { C_NR_RINGS, 0 } }, FEAT },
	/* ring count and peer id */
	{ "nr_rings 0", { { C_NR_RINGS, 0 } }, LAYOUT },
	{ "nr_rings 1", { { C_NR_RINGS, 1 } }, LAYOUT },
	{ "nr_rings 3", { { C_NR_RINGS, 3 } }, LAYOUT },
	{ "nr_rings 4 (array size)", { { C_NR_RINGS, DDVM_MAX_RINGS } }, LAYOUT },
	{ "nr_rings u32 max", { { C_NR_RINGS, UINT32_MAX } }, LAYOUT },
	{ "nr_rings 5 even if the rules say 5", { { C_NR_RINGS, 5 }, { R_NR_RINGS, 5 } }, LAYOUT },
	{ "peer id 0", { { C_PEER_ID, 0 } }, OK },
	{ "peer id 0xffff", { { C_PEER_ID, 0xffff } }, OK },
	{ "peer id 0x10000", { { C_PEER_ID, 0x10000 } }, LAYOUT },
	{ "peer id u32 max", { { C_PEER_ID, UINT32_MAX } }, LAYOUT },
	/* data area: alignment, header, rings, region end, wrap */
	{ "data at 0", { { C_DATA_OFF, 0 } }, LAYOUT },
	{ "data over the client block", { { C_DATA_OFF, 512 } }, LAYOUT },
	{ "data misaligned", { { C_DATA_OFF, DATA_OFF + 512 }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data misaligned by one",
	  { { C_DATA_OFF, DATA_OFF + 1 }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data aligned to 4 KiB but not the 64 KiB page", { { R_PAGE, 65536 } }, LAYOUT },
	{ "data aligned to a 64 KiB page",
	  { { R_PAGE, 65536 }, { C_DATA_OFF, 65536 }, { C_DATA_SIZE, REGION - 65536 } }, OK },
	{ "data over ring 0", { { C_DATA_OFF, 4096 }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data over ring 0's tail", { { C_DATA_OFF, 8192 }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data size 0", { { C_DATA_SIZE, 0 } }, LAYOUT },
	{ "data one byte past the end", { { C_DATA_SIZE, REGION - DATA_OFF + 1 } }, LAYOUT },
	{ "data ends at the region end",
	  { { C_DATA_OFF, REGION - 4096 }, { C_DATA_SIZE, 4096 } }, OK },
	{ "data starts at the region end",
	  { { C_DATA_OFF, REGION }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data size u64 max", { { C_DATA_SIZE, UINT64_MAX } }, LAYOUT },
	{ "data off + size wraps to 0", { { C_DATA_SIZE, 0ull - DATA_OFF } }, LAYOUT },
	{ "data off + size wraps past 0", { { C_DATA_SIZE, 0ull - DATA_OFF + 4096 } }, LAYOUT },
	{ "data in the last page of 2^64",
	  { { C_DATA_OFF, HIGH_PAGE }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data past 2^64 in a 2^64 region",
	  { { R_SIZE, UINT64_MAX }, { C_DATA_OFF, HIGH_PAGE }, { C_DATA_SIZE, 4096 } }, LAYOUT },
	{ "data to the last byte of a 2^64 region",
	  { { R_SIZE, UINT64_MAX }, { C_DATA_OFF, HIGH_PAGE }, { C_DATA_SIZE, 4095 } }, OK },
	{ "data right after ring 1", { { C_R1_OFF, DATA_OFF - R1_BYTES } }, OK },
	{ "ring 1 into the data by 64", { { C_R1_OFF, DATA_OFF - R1_BYTES + 64 } }, LAYOUT },
	/* ring offsets */
	{ "ring 0 at 0", { { C_R0_OFF, 0 } }, LAYOUT },
	{ "ring 0 over the client block", { { C_R0_OFF, 512 } }, LAYOUT },
	{ "ring 0 in the header's last line", { { C_R0_OFF, DDVM_HDR_SIZE - 64 } }, LAYOUT },
	{ "ring 0 misaligned", { { C_R0_OFF, R0_OFF + 32 } }, LAYOUT },
	{ "ring 0 misaligned by one", { { C_R0_OFF, R0_OFF + 1 } }, LAYOUT },
	{ "ring 0 at the region end", { { C_R0_OFF, REGION } }, LAYOUT },
	{ "ring 0 at 2^64 - 64", { { C_R0_OFF, 0ull - 64 } }, LAYOUT },
	{ "ring 1 exactly at the region end",
	  { { C_DATA_SIZE, 65536 }, { C_R1_OFF, REGION - R1_BYTES } }, OK },
	{ "ring 1 past the region end by 64",
	  { { C_DATA_SIZE, 65536 }, { C_R1_OFF, REGION - R1_BYTES + 64 } }, LAYOUT },
	{ "ring 1 control block only inside",
	  { { C_DATA_SIZE, 65536 }, { C_R1_OFF, REGION - 256 } }, LAYOUT },
	{ "ring 1 ends at the last byte of a 2^64 region",
	  { { R_SIZE, UINT64_MAX }, { C_R1_OFF, (UINT64_MAX - R1_BYTES) & ~63ull } }, OK },
	{ "ring 1 ends past 2^64",
	  { { R_SIZE, UINT64_MAX }, { C_R1_OFF, (0ull - R1_BYTES + 64) } }, LAYOUT },
	{ "ring 0 bytes wrap in a 2^64 region", { { R_SIZE, UINT64_MAX }, { C_R0_OFF, HIGH_PAGE } },
	  LAYOUT },
	{ "ring 1 over high data in a 2^64 region",
	  { { R_SIZE, UINT64_MAX }, { C_DATA_OFF, HIGH_PAGE - 4096 }, { C_DATA_SIZE, 4096 },
	    { C_R1_OFF, HIGH_PAGE - 4096 } }, LAYOUT },
	/* rings against each other */
	{ "ring 1 on ring 0", { { C_R1_OFF, R0_OFF } }, LAYOUT },
	{ "ring 1 inside ring 0", { { C_R1_OFF, R0_OFF + 64 } }, LAYOUT },
	{ "ring 1 over ring 0's last line", { { C_R1_OFF, R1_OFF - 64 } }, LAYOUT },
	{ "ring 1 before ring 0, adjacent",
	  { { C_R1_OFF, 4096 }, { C_R0_OFF, 4096 + R1_BYTES } }, OK },
	{ "ring 0 over ring 1's last line from above",
	  { { C_R1_OFF, 4096 }, { C_R0_OFF, 4096 + R1_BYTES - 64 } }, LAYOUT },
	/* entries */
	{ "entries 0", { { C_R0_ENTRIES, 0 } }, LAYOUT },
	{ "entries 1", { { C_R0_ENTRIES, 1 } }, OK },
	{ "entries 3", { { C_R0_ENTRIES, 3 } }, LAYOUT },
	{ "entries 96", { { C_R1_ENTRIES, 96 } }, LAYOUT },
	{ "entries 4096 (max)",
	  { { C_R1_ENTRIES, DDVM_RING_MAX_ENTRIES }, { C_DATA_OFF, 0x13000 },
	    { C_DATA_SIZE, REGION - 0x13000 } }, OK },
	{ "entries 8192", { { C_R1_ENTRIES, 8192 }, { C_DATA_OFF, 0x23000 },
			    { C_DATA_SIZE, REGION - 0x23000 } }, LAYOUT },
	{ "entries 2^31", { { C_R0_ENTRIES, 0x80000000u } }, LAYOUT },
	{ "entries u32 max", { { C_R0_ENTRIES, UINT32_MAX } }, LAYOUT },
	/* entry size: exactly the ABI's */
	{ "req ring with cmp entries", { { C_R0_ESIZE, sizeof(struct ddvm_blk_cmp) } }, LAYOUT },
	{ "cmp ring with req entries", { { C_R1_ESIZE, sizeof(struct ddvm_blk_req) } }, LAYOUT },
	{ "entry size 0", { { C_R0_ESIZE, 0 } }, LAYOUT },
	{ "entry size 33", { { C_R0_ESIZE, 33 } }, LAYOUT },
	{ "entry size u32 max", { { C_R1_ESIZE, UINT32_MAX } }, LAYOUT },
	/* what nr_rings does not cover is not looked at */
	{ "garbage in ring 2 unused", { { C_R2_OFF, 1 }, { C_R2_ENTRIES, 3 } }, OK },
};

static void apply(struct ddvm_cli_block *c, struct ddvm_layout_rules *r, const struct set *s)
{
	switch (s->f) {
	case F_NONE: break;
	case C_MAGIC: c->magic = (uint32_t)s->v; break;
	case C_VERSION: c->version = (uint16_t)s->v; break;
	case C_TYPE: c->type = (uint16_t)s->v; break;
	case C_FEATURES: c->features = s->v; break;
	case C_NR_RINGS: c->nr_rings = (uint32_t)s->v; break;
	case C_PEER_ID: c->peer_id = (uint32_t)s->v; break;
	case C_DATA_OFF: c->data_off = s->v; break;
	case C_DATA_SIZE: c->data_size = s->v; break;
	case C_R0_OFF: c->rings[0].off = s->v; break;
	case C_R0_ENTRIES: c->rings[0].entries = (uint32_t)s->v; break;
	case C_R0_ESIZE: c->rings[0].entry_size = (uint32_t)s->v; break;
	case C_R1_OFF: c->rings[1].off = s->v; break;
	case C_R1_ENTRIES: c->rings[1].entries = (uint32_t)s->v; break;
	case C_R1_ESIZE: c->rings[1].entry_size = (uint32_t)s->v; break;
	case C_R2_OFF: c->rings[2].off = s->v; break;
	case C_R2_ENTRIES: c->rings[2].entries = (uint32_t)s->v; break;
	case R_SIZE: r->region_size = s->v; break;
	case R_TYPE: r->type = (uint16_t)s->v; break;
	case R_NR_RINGS: r->nr_rings = (uint32_t)s->v; break;
	case R_FEATURES: r->features = s->v; break;
	case R_PAGE: r->page_size = (uint32_t)s->v; break;
	}
}

static void test_layout_cases(void **state)
{
	size_t n = sizeof(layout_cases) / sizeof(layout_cases[0]), failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct layout_case *t = &layout_cases[i];
		struct ddvm_cli_block c, before;
		struct ddvm_layout_rules r;
		uint32_t got;

		base_layout(&c, &r);
		for (size_t k = 0; k < 4; k++)
			apply(&c, &r, &t->set[k]);
		before = c;
		got = ddvm_layout_check(&c, &r);
		if (got != t->want) {
			print_error("layout case \"%s\": got %u, want %u\n", t->name, got, t->want);
			failed++;
		}
		/* a check, not a fix-up: the copy is untouched */
		assert_memory_equal(&c, &before, sizeof(c));
	}
	print_message("      %zu layout cases\n", n);
	assert_int_equal(failed, 0);
}

/* Every accepted layout is really inside the region and disjoint (128-bit arithmetic). */
static void test_layout_accepted_is_sound(void **state)
{
	size_t n = sizeof(layout_cases) / sizeof(layout_cases[0]), accepted = 0;

	for (size_t i = 0; i < n; i++) {
		struct ddvm_cli_block c;
		struct ddvm_layout_rules r;
		unsigned __int128 lo[3], hi[3];

		base_layout(&c, &r);
		for (size_t k = 0; k < 4; k++)
			apply(&c, &r, &layout_cases[i].set[k]);
		if (ddvm_layout_check(&c, &r))
			continue;
		accepted++;
		for (uint32_t k = 0; k < 2; k++) {
			lo[k] = c.rings[k].off;
			hi[k] = lo[k] + DDVM_RING_CTL_SIZE +
				(unsigned __int128)c.rings[k].entries * c.rings[k].entry_size;
		}
		lo[2] = c.data_off;
		hi[2] = lo[2] + c.data_size;
		for (uint32_t k = 0; k < 3; k++) {
			assert_true(lo[k] >= DDVM_HDR_SIZE && hi[k] <= r.region_size);
			for (uint32_t j = 0; j < k; j++)
				assert_true(hi[j] <= lo[k] || hi[k] <= lo[j]);
		}
	}
	assert_true(accepted >= 10);
}

/* ----------------------------------------------------- request check */

#define KiB	1024ull
#define MiB	(1024ull * 1024)
#define FLAGS_ALL	(DDVM_BLK_F_FLUSH | DDVM_BLK_F_FUA | DDVM_BLK_F_DISCARD | \
			 DDVM_BLK_F_WRITE_ZEROES)

static const struct ddvm_blk_limits limits[] = {
	/* 0: a writable 1 MiB disk with everything */
	{ .capacity = MiB, .data_size = 256 * KiB, .lbs = 512, .max_transfer = 64 * KiB,
	  .flags = FLAGS_ALL },
	/* 1: the same, read-only */
	{ .capacity = MiB, .data_size = 256 * KiB, .lbs = 512, .max_transfer = 64 * KiB,
	  .flags = FLAGS_ALL | DDVM_BLK_F_READ_ONLY },
	/* 2: no discard, no write zeroes */
	{ .capacity = MiB, .data_size = 256 * KiB, .lbs = 512, .max_transfer = 64 * KiB },
	/* 3: 4 KiB logical blocks */
	{ .capacity = MiB, .data_size = 256 * KiB, .lbs = 4096, .max_transfer = 128 * KiB,
	  .flags = FLAGS_ALL },
	/* 4: limits at the top of the u64 range */
	{ .capacity = UINT64_MAX & ~511ull, .data_size = UINT64_MAX & ~511ull, .lbs = 512,
	  .max_transfer = UINT32_MAX & ~511u, .flags = FLAGS_ALL },
	/* 5: an empty disk */
	{ .capacity = 0, .data_size = 256 * KiB, .lbs = 512, .max_transfer = 64 * KiB,
	  .flags = FLAGS_ALL },
	/* 6: read-only without discard */
	{ .capacity = MiB, .data_size = 256 * KiB, .lbs = 512, .max_transfer = 64 * KiB,
	  .flags = DDVM_BLK_F_READ_ONLY },
};

struct req_case {
	const char *name;
	int lim;
	struct ddvm_blk_req r;
	uint32_t want;
};

#define RD	DDVM_BLK_READ
#define WR	DDVM_BLK_WRITE
#define FL	DDVM_BLK_FLUSH
#define DI	DDVM_BLK_DISCARD
#define WZ	DDVM_BLK_WRITE_ZEROES
#define FUA	DDVM_BLK_REQ_FUA
#define S_OK	DDVM_BLK_S_OK
#define INVAL	DDVM_BLK_S_INVAL
#define RANGE	DDVM_BLK_S_RANGE
#define UNSUPP	DDVM_BLK_S_UNSUPP
#define RDONLY	DDVM_BLK_S_RDONLY
#define TOP	(UINT64_MAX & ~511ull)	/* highest 512-aligned u64 */

/* .r = { id, offset, data_off, len, op, flags } */
static const struct req_case req_cases[] = {
	{ "read", 0, { 1, 0, 0, 4096, RD, 0 }, S_OK },
	{ "write", 0, { 1, 512, 4096, 4096, WR, 0 }, S_OK },
	{ "write fua", 0, { 1, 0, 0, 512, WR, FUA }, S_OK },
	{ "read with fua is tolerated", 0, { 1, 0, 0, 512, RD, FUA }, S_OK },
	{ "id is anything", 0, { UINT64_MAX, 0, 0, 512, RD, 0 }, S_OK },
	/* op and flags */
	{ "op 5", 0, { 1, 0, 0, 512, 5, 0 }, INVAL },
	{ "op 0xffff", 0, { 1, 0, 0, 512, 0xffff, 0 }, INVAL },
	{ "flag bit 1", 0, { 1, 0, 0, 512, WR, 2 }, INVAL },
	{ "flag bit 15", 0, { 1, 0, 0, 512, RD, 0x8000 }, INVAL },
	{ "fua plus unknown", 0, { 1, 0, 0, 512, WR, FUA | 4 }, INVAL },
	/* lengths and alignment */
	{ "len 0", 0, { 1, 0, 0, 0, RD, 0 }, INVAL },
	{ "len 511", 0, { 1, 0, 0, 511, RD, 0 }, INVAL },
	{ "len 513", 0, { 1, 0, 0, 513, WR, 0 }, INVAL },
	{ "offset misaligned", 0, { 1, 100, 0, 512, RD, 0 }, INVAL },
	{ "data_off misaligned", 0, { 1, 0, 256, 512, RD, 0 }, INVAL },
	{ "data_off odd", 0, { 1, 0, 1, 512, WR, 0 }, INVAL },
	{ "len == max_transfer", 0, { 1, 0, 0, 64 * KiB, RD, 0 }, S_OK },
	{ "len > max_transfer", 0, { 1, 0, 0, 64 * KiB + 512, RD, 0 }, INVAL },
	{ "len 2^31", 0, { 1, 0, 0, 0x80000000u, WR, 0 }, INVAL },
	{ "len u32 max aligned", 0, { 1, 0, 0, 0xfffffe00u, RD, 0 }, INVAL },
	/* the data area */
	{ "last block of the data area", 0, { 1, 0, 256 * KiB - 512, 512, RD, 0 }, S_OK },
	{ "one block past the data area", 0, { 1, 0, 256 * KiB - 512, 1024, RD, 0 }, INVAL },
	{ "data_off at the data area end", 0, { 1, 0, 256 * KiB, 512, WR, 0 }, INVAL },
	{ "data_off beyond the data area", 0, { 1, 0, 256 * KiB + 512, 512, WR, 0 }, INVAL },
	{ "data_off + len wraps", 0, { 1, 0, TOP, 1024, RD, 0 }, INVAL },
	{ "data_off at the top", 0, { 1, 0, TOP, 512, WR, 0 }, INVAL },
	/* the device's end */
	{ "last block of the disk", 0, { 1, MiB - 512, 0, 512, RD, 0 }, S_OK },
	{ "one block past the disk", 0, { 1, MiB - 512, 0, 1024, RD, 0 }, RANGE },
	{ "offset at capacity", 0, { 1, MiB, 0, 512, WR, 0 }, RANGE },
	{ "offset past capacity", 0, { 1, MiB + 512, 0, 512, RD, 0 }, RANGE },
	{ "offset + len wraps", 0, { 1, TOP, 0, 1024, RD, 0 }, RANGE },
	{ "offset at the top", 0, { 1, TOP, 0, 512, WR, 0 }, RANGE },
	{ "bad data_off wins over bad offset", 0, { 1, TOP, 256, 512, RD, 0 }, INVAL },
	/* flush: only op and flags matter */
	{ "flush", 0, { 1, 0, 0, 0, FL, 0 }, S_OK },
	{ "flush ignores garbage fields", 0, { 1, 3, UINT64_MAX, 7, FL, 0 }, S_OK },
	{ "flush ignores huge len and offset", 0, { 1, TOP, TOP, UINT32_MAX, FL, 0 }, S_OK },
	{ "flush with fua", 0, { 1, 0, 0, 0, FL, FUA }, S_OK },
	{ "flush with unknown flags", 0, { 1, 0, 0, 0, FL, 2 }, INVAL },
	{ "flush on an empty disk", 5, { 1, 0, 0, 0, FL, 0 }, S_OK },
	{ "flush on a read-only disk", 1, { 1, 0, 0, 0, FL, 0 }, S_OK },
	/* discard and write zeroes: data_off and max_transfer do not apply */
	{ "discard the whole disk", 0, { 1, 0, UINT64_MAX, MiB, DI, 0 }, S_OK },
	{ "write zeroes the whole disk", 0, { 1, 0, 1, MiB, WZ, 0 }, S_OK },
	{ "discard len 0", 0, { 1, 0, 0, 0, DI, 0 }, INVAL },
	{ "discard misaligned", 0, { 1, 512, 0, 100, DI, 0 }, INVAL },
	{ "write zeroes misaligned offset", 0, { 1, 1, 0, 512, WZ, 0 }, INVAL },
	{ "discard past the disk", 0, { 1, 512, 0, MiB, DI, 0 }, RANGE },
	{ "write zeroes wraps", 0, { 1, TOP, 0, 1024, WZ, 0 }, RANGE },
	/* read-only */
	{ "ro: read", 1, { 1, 0, 0, 4096, RD, 0 }, S_OK },
	{ "ro: write", 1, { 1, 0, 0, 4096, WR, 0 }, RDONLY },
	{ "ro: write fua", 1, { 1, 0, 0, 4096, WR, FUA }, RDONLY },
	{ "ro: discard", 1, { 1, 0, 0, 4096, DI, 0 }, RDONLY },
	{ "ro: write zeroes", 1, { 1, 0, 0, 4096, WZ, 0 }, RDONLY },
	{ "ro: range wins over read-only", 1, { 1, MiB, 0, 512, WR, 0 }, RANGE },
	{ "ro: invalid wins over read-only", 1, { 1, 0, 0, 100, WR, 0 }, INVAL },
	{ "ro: read-only wins over unsupported", 6, { 1, 0, 0, 512, DI, 0 }, RDONLY },
	/* unsupported ops */
	{ "discard unsupported", 2, { 1, 0, 0, 512, DI, 0 }, UNSUPP },
	{ "write zeroes unsupported", 2, { 1, 0, 0, 512, WZ, 0 }, UNSUPP },
	{ "read without optional ops", 2, { 1, 0, 0, 512, RD, 0 }, S_OK },
	{ "range wins over unsupported", 2, { 1, MiB, 0, 512, DI, 0 }, RANGE },
	/* 4 KiB blocks */
	{ "4k: 512-byte read", 3, { 1, 0, 0, 512, RD, 0 }, INVAL },
	{ "4k: offset 512", 3, { 1, 512, 0, 4096, RD, 0 }, INVAL },
	{ "4k: data_off 512", 3, { 1, 0, 512, 4096, WR, 0 }, INVAL },
	{ "4k: aligned", 3, { 1, 4096, 8192, 4096, WR, 0 }, S_OK },
	{ "4k: discard 512", 3, { 1, 0, 0, 512, DI, 0 }, INVAL },
	{ "4k: max_transfer + 4096", 3, { 1, 0, 0, 128 * KiB + 4096, RD, 0 }, INVAL },
	/* limits near 2^64 */
	{ "top: last block", 4, { 1, TOP - 512, 0, 512, RD, 0 }, S_OK },
	{ "top: past the last block", 4, { 1, TOP - 512, 0, 1024, RD, 0 }, RANGE },
	{ "top: last data block", 4, { 1, 0, TOP - 512, 512, WR, 0 }, S_OK },
	{ "top: past the last data block", 4, { 1, 0, TOP - 512, 1024, WR, 0 }, INVAL },
	{ "top: biggest transfer", 4, { 1, 0, 0, UINT32_MAX & ~511u, WR, 0 }, S_OK },
	/* an empty disk */
	{ "empty: read", 5, { 1, 0, 0, 512, RD, 0 }, RANGE },
	{ "empty: discard", 5, { 1, 0, 0, 512, DI, 0 }, RANGE },
};

static void test_req_cases(void **state)
{
	size_t n = sizeof(req_cases) / sizeof(req_cases[0]), failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct req_case *t = &req_cases[i];
		struct ddvm_blk_req r = t->r;
		uint32_t got = ddvm_blk_req_check(&r, &limits[t->lim]);

		if (got != t->want) {
			print_error("request case \"%s\": got %u, want %u\n", t->name, got,
				    t->want);
			failed++;
		}
		assert_memory_equal(&r, &t->r, sizeof(r));
	}
	print_message("      %zu request cases\n", n);
	assert_int_equal(failed, 0);
}

/*
 * Random requests against a reference written from the ABI text in 128-bit
 * arithmetic: every accepted request is really inside the disk and (for
 * data ops) the data area, and every rejection has the ABI's reason.
 */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* A value that is often near an interesting edge. */
static uint64_t edgy(uint64_t *x, uint64_t edge)
{
	switch (rnd(x) % 5) {
	case 0:
		return rnd(x);
	case 1:
		return (rnd(x) % 64) * 512;
	case 2:
		return edge + (rnd(x) % 9) * 512 - 4 * 512;
	case 3:
		return 0ull - (rnd(x) % 9) * 512;
	default:
		return edge - (rnd(x) % 3);
	}
}

static uint32_t reference(const struct ddvm_blk_req *r, const struct ddvm_blk_limits *l)
{
	unsigned __int128 end = (unsigned __int128)r->offset + r->len;
	unsigned __int128 dend = (unsigned __int128)r->data_off + r->len;
	bool data_op = r->op == RD || r->op == WR;

	if (r->op > WZ || (r->flags & ~FUA))
		return INVAL;
	if (r->op == FL)
		return S_OK;
	if (r->len == 0 || r->len % l->lbs || r->offset % l->lbs)
		return INVAL;
	if (data_op && (r->len > l->max_transfer || r->data_off % l->lbs || dend > l->data_size))
		return INVAL;
	if (end > l->capacity)
		return RANGE;
	if (r->op != RD && (l->flags & DDVM_BLK_F_READ_ONLY))
		return RDONLY;
	if ((r->op == DI && !(l->flags & DDVM_BLK_F_DISCARD)) ||
	    (r->op == WZ && !(l->flags & DDVM_BLK_F_WRITE_ZEROES)))
		return UNSUPP;
	return S_OK;
}

static void test_req_random_against_reference(void **state)
{
	uint64_t x = 0xdeadbeefcafef00dull, accepted = 0;
	const size_t nl = sizeof(limits) / sizeof(limits[0]);

	for (int i = 0; i < 500000; i++) {
		const struct ddvm_blk_limits *l = &limits[rnd(&x) % nl];
		struct ddvm_blk_req r = {
			.id = rnd(&x),
			.offset = edgy(&x, l->capacity),
			.data_off = edgy(&x, l->data_size),
			.len = (uint32_t)edgy(&x, l->max_transfer),
			.op = (uint16_t)(rnd(&x) % 8 == 0 ? rnd(&x) : rnd(&x) % 5),
			.flags = (uint16_t)(rnd(&x) % 8 == 0 ? rnd(&x) : rnd(&x) % 2),
		};
		uint32_t got = ddvm_blk_req_check(&r, l), want = reference(&r, l);

		if (got != want)
			fail_msg("req {off %#llx data_off %#llx len %#x op %u flags %#x} lbs %u: "
				 "got %u, want %u", (unsigned long long)r.offset,
				 (unsigned long long)r.data_off, r.len, r.op, r.flags, l->lbs, got,
				 want);
		accepted += got == S_OK;
	}
	/* the generator reaches acceptance too, not only rejections */
	assert_true(accepted > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_cases),
		cmocka_unit_test(test_layout_accepted_is_sound),
		cmocka_unit_test(test_req_cases),
		cmocka_unit_test(test_req_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
