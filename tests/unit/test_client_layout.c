// SPDX-License-Identifier: GPL-2.0
/*
 * ddvm/client.h, the handshake decisions the front-end module makes in a
 * client VM: every layout it plans for any region size is one the DD/OS's
 * own checks (ddvm/check.h) accept, block slots and net buffers fit their
 * data area, the layout stays put across generations (replay relies on
 * slots staying where they were), the server block and health rules
 * are libddvm's, and net offloads are accepted only when offered, with
 * rings that hold the longest chain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <ddvm/check.h>
#include <ddvm/client.h>

static struct ddvm_srv_block server(uint16_t type, uint32_t generation)
{
	struct ddvm_srv_block s;

	memset(&s, 0, sizeof(s));
	s.magic = DDVM_MAGIC;
	s.version = DDVM_VERSION;
	s.type = type;
	s.generation = generation;
	s.peer_id = 3;
	s.features = DDVM_F_EVENT_IDX;
	return s;
}

/* What ddvm.ko accepts from a client of @type (ddvm_chan.c's rules). */
static uint32_t server_accepts(const struct ddvm_cli_block *c, uint16_t type, uint64_t size)
{
	struct ddvm_layout_rules rules = {
		.region_size = size,
		.type = type,
		.nr_rings = 2,
		.features = DDVM_F_EVENT_IDX | (type == DDVM_CHAN_NET ? DDVM_F_NET_OFFLOAD : 0),
		.page_size = 4096,
	};

	if (type == DDVM_CHAN_BLK) {
		rules.entry_size[DDVM_BLK_RING_REQ] = sizeof(struct ddvm_blk_req);
		rules.entry_size[DDVM_BLK_RING_CMP] = sizeof(struct ddvm_blk_cmp);
	} else {
		rules.entry_size[DDVM_NET_RING_TX] = sizeof(struct ddvm_net_desc);
		rules.entry_size[DDVM_NET_RING_RX] = sizeof(struct ddvm_net_desc);
	}
	return ddvm_layout_check(c, &rules) ?: (type == DDVM_CHAN_NET ? ddvm_net_layout_check(c) : 0);
}

static void test_blk_layouts_accepted(void **state)
{
	struct ddvm_srv_block s = server(DDVM_CHAN_BLK, 7);
	struct ddvm_ring_want want[2];
	struct ddvm_cli_block c;
	uint32_t entries, slot;
	uint64_t size;

	for (size = 8192; size <= (1ull << 30); size *= 2) {
		if (ddvm_blk_client_plan(size, &entries, &slot)) {
			assert_true(size < (64u << 10));	/* only tiny regions hold no disk */
			continue;
		}
		want[0] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_req) };
		want[1] = (struct ddvm_ring_want){ entries, sizeof(struct ddvm_blk_cmp) };
		assert_int_equal(ddvm_client_layout(&c, &s, DDVM_CHAN_BLK, 5, size, want, 2), 0);
		assert_int_equal(server_accepts(&c, DDVM_CHAN_BLK, size), 0);
		assert_true((uint64_t)entries * slot <= c.data_size);
		assert_int_equal(slot % 4096, 0);
		assert_int_equal(c.generation, 7);
		assert_int_equal(c.peer_id, 5);
		assert_int_equal(c.state, DDVM_CLI_NONE);
	}
	/* the default 64 MiB region: libddvm's 32 slots of 1 MiB */
	assert_int_equal(ddvm_blk_client_plan(64u << 20, &entries, &slot), 0);
	assert_int_equal(entries, 32);
	assert_int_equal(slot, 1u << 20);
	assert_int_equal(ddvm_blk_client_plan(8192, &entries, &slot), -ENOSPC);
}

static void test_net_layouts_accepted(void **state)
{
	struct ddvm_srv_block s = server(DDVM_CHAN_NET, 1);
	struct ddvm_ring_want want[2];
	struct ddvm_cli_block c;
	uint32_t tx, rx;
	uint64_t size;

	for (size = 8192; size <= (1ull << 30); size *= 2) {
		if (ddvm_net_client_plan(size, &tx, &rx))
			continue;
		assert_true(rx == tx || rx == 2 * tx);
		want[0] = (struct ddvm_ring_want){ tx, sizeof(struct ddvm_net_desc) };
		want[1] = (struct ddvm_ring_want){ rx, sizeof(struct ddvm_net_desc) };
		assert_int_equal(ddvm_client_layout(&c, &s, DDVM_CHAN_NET, 1, size, want, 2), 0);
		assert_int_equal(server_accepts(&c, DDVM_CHAN_NET, size), 0);
		/* the next size up would not fit, or the cap is reached */
		if (rx < DDVM_NET_CLIENT_RX_MAX) {
			want[0].entries = rx == tx ? tx * 2 : tx;
			want[1].entries = rx * 2;
			if (!ddvm_client_layout(&c, &s, DDVM_CHAN_NET, 1, size, want, 2))
				assert_int_not_equal(server_accepts(&c, DDVM_CHAN_NET, size), 0);
		}
	}
	/* the default net region: the largest rings there are */
	assert_int_equal(ddvm_net_client_plan(4u << 20, &tx, &rx), 0);
	assert_int_equal(tx, 512);
	assert_int_equal(rx, DDVM_NET_CLIENT_RX_MAX);
	assert_int_equal(ddvm_net_client_plan(8192, &tx, &rx), -ENOSPC);
}

/* Offloads: taken when offered and wanted, never otherwise; chains as channel.h counts them. */
static void test_net_offload(void **state)
{
	struct ddvm_srv_block s = server(DDVM_CHAN_NET, 1);
	uint32_t e, rx;
	struct ddvm_ring_want want[2];
	struct ddvm_cli_block c;

	assert_int_equal(ddvm_client_features(DDVM_F_EVENT_IDX | DDVM_F_NET_OFFLOAD,
					      DDVM_F_NET_OFFLOAD),
			 DDVM_F_EVENT_IDX | DDVM_F_NET_OFFLOAD);
	/* an old DD/OS offers none: the plain channel */
	assert_int_equal(ddvm_client_features(DDVM_F_EVENT_IDX, DDVM_F_NET_OFFLOAD), DDVM_F_EVENT_IDX);
	assert_int_equal(ddvm_client_features(DDVM_F_NET_OFFLOAD, 0), 0);
	/* the default region's rings hold chains, and the DD/OS takes the layout */
	assert_int_equal(ddvm_net_client_plan(4u << 20, &e, &rx), 0);
	assert_true(e >= DDVM_NET_OFFLOAD_MIN_ENTRIES);
	want[0] = (struct ddvm_ring_want){ e, sizeof(struct ddvm_net_desc) };
	want[1] = (struct ddvm_ring_want){ rx, sizeof(struct ddvm_net_desc) };
	s.features |= DDVM_F_NET_OFFLOAD;
	assert_int_equal(ddvm_client_layout(&c, &s, DDVM_CHAN_NET, 1, 4u << 20, want, 2), 0);
	c.features = ddvm_client_features(s.features, DDVM_F_NET_OFFLOAD);
	assert_int_equal(server_accepts(&c, DDVM_CHAN_NET, 4u << 20), 0);
	/* too short a ring for chains is refused */
	want[0].entries = want[1].entries = DDVM_NET_OFFLOAD_MIN_ENTRIES / 2;
	assert_int_equal(ddvm_client_layout(&c, &s, DDVM_CHAN_NET, 1, 4u << 20, want, 2), 0);
	c.features = ddvm_client_features(s.features, DDVM_F_NET_OFFLOAD);
	assert_int_not_equal(server_accepts(&c, DDVM_CHAN_NET, 4u << 20), 0);

	assert_int_equal(ddvm_net_chain_entries(DDVM_NET_MIN_FRAME), 1);
	assert_int_equal(ddvm_net_chain_entries(DDVM_NET_BUF_SIZE - sizeof(struct ddvm_net_hdr)), 1);
	assert_int_equal(ddvm_net_chain_entries(DDVM_NET_BUF_SIZE - sizeof(struct ddvm_net_hdr) + 1), 2);
	assert_int_equal(ddvm_net_chain_entries(DDVM_NET_OFFLOAD_MAX_FRAME), DDVM_NET_CHAIN_MAX);
}

/* A new generation gets the same rings and data area: slots and buffers stay put. */
static void test_layout_stays_put(void **state)
{
	struct ddvm_srv_block a = server(DDVM_CHAN_BLK, 1), b = server(DDVM_CHAN_BLK, 2);
	struct ddvm_ring_want want[2] = { { 32, sizeof(struct ddvm_blk_req) },
					  { 32, sizeof(struct ddvm_blk_cmp) } };
	struct ddvm_cli_block x, y;

	b.peer_id = 9;
	b.features = 0;
	assert_int_equal(ddvm_client_layout(&x, &a, DDVM_CHAN_BLK, 4, 64u << 20, want, 2), 0);
	assert_int_equal(ddvm_client_layout(&y, &b, DDVM_CHAN_BLK, 4, 64u << 20, want, 2), 0);
	assert_memory_equal(x.rings, y.rings, sizeof(x.rings));
	assert_int_equal(x.data_off, y.data_off);
	assert_int_equal(x.data_size, y.data_size);
	assert_int_equal(y.generation, 2);
	assert_int_equal(x.features, DDVM_F_EVENT_IDX);
	assert_int_equal(y.features, 0);	/* only what the server offers */
	/* rings that leave no data area */
	want[0].entries = want[1].entries = 4096;
	assert_int_equal(ddvm_client_layout(&x, &a, DDVM_CHAN_BLK, 4, 16384, want, 2), -ENOSPC);
}

static void test_server_block_checks(void **state)
{
	struct ddvm_srv_block s = server(DDVM_CHAN_BLK, 1);

	assert_int_equal(ddvm_client_srv_check(&s, DDVM_CHAN_BLK), 0);
	assert_int_equal(ddvm_client_srv_check(&s, DDVM_CHAN_NET), -EPROTO);
	s.peer_id = 0x10000;
	assert_int_equal(ddvm_client_srv_check(&s, DDVM_CHAN_BLK), -EPROTO);
	s.peer_id = 0;
	s.version = DDVM_VERSION + 1;
	assert_int_equal(ddvm_client_srv_check(&s, DDVM_CHAN_BLK), -EPROTO);
	s.magic = 0;
	assert_int_equal(ddvm_client_srv_check(&s, DDVM_CHAN_BLK), -EAGAIN);
}

static void test_health(void **state)
{
	assert_int_equal(ddvm_client_health(DDVM_SRV_RUN, 4, 4), DDVM_CHAN_OK);
	assert_int_equal(ddvm_client_health(DDVM_SRV_WAIT, 4, 4), DDVM_CHAN_OK);
	assert_int_equal(ddvm_client_health(DDVM_SRV_WAIT, 5, 4), DDVM_CHAN_NEW_SERVER);
	assert_int_equal(ddvm_client_health(DDVM_SRV_ERROR, 5, 4), DDVM_CHAN_NEW_SERVER);
	assert_int_equal(ddvm_client_health(DDVM_SRV_ERROR, 4, 4), DDVM_CHAN_ABSENT);
	assert_int_equal(ddvm_client_health(DDVM_SRV_RUN, 5, 4), DDVM_CHAN_ABSENT);
	assert_int_equal(ddvm_client_health(DDVM_SRV_FAILED, 4, 4), DDVM_CHAN_ABSENT);
	assert_int_equal(ddvm_client_health(DDVM_SRV_STOPPED, 4, 4), DDVM_CHAN_ABSENT);
	assert_int_equal(ddvm_client_health(DDVM_SRV_DOWN, 0, 0), DDVM_CHAN_ABSENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blk_layouts_accepted),
		cmocka_unit_test(test_net_layouts_accepted),
		cmocka_unit_test(test_net_offload),
		cmocka_unit_test(test_layout_stays_put),
		cmocka_unit_test(test_server_block_checks),
		cmocka_unit_test(test_health),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
