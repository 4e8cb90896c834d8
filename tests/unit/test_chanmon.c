// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the channel monitor: regions, decoding of hostile headers, heartbeat ageing. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <uapi/ddvm/channel.h>

#include "chanmon.h"

#define SIZE	(64 << 10)

static unsigned char region[SIZE] __attribute__((aligned(4096)));

static struct ddvm_srv_block *srv(void *r)
{
	return (struct ddvm_srv_block *)((char *)r + DDVM_SRV_OFFSET);
}

static struct ddvm_cli_block *cli(void *r)
{
	return (struct ddvm_cli_block *)((char *)r + DDVM_CLI_OFFSET);
}

static void net_server(void *r)
{
	struct ddvm_srv_block *s = srv(r);
	static const unsigned char mac[6] = { 0x02, 0xdd, 0x01, 0x02, 0x03, 0x04 };

	memset(r, 0, SIZE);
	s->magic = DDVM_MAGIC;
	s->version = DDVM_VERSION;
	s->type = DDVM_CHAN_NET;
	s->state = DDVM_SRV_RUN;
	s->generation = 3;
	s->heartbeat = 77;
	memcpy(s->net.mac, mac, 6);
	s->net.mtu = 1500;
	s->net.link_up = 1;
	s->net.rx_frames = 10;
	s->net.rx_dropped = 1;
	s->net.tx_frames = 20;
	s->net.tx_dropped = 2;
	s->net.tx_bad_hdr = 1;
	s->net.rx_segmented = 4;
	s->features = DDVM_F_NET_OFFLOAD;
	strcpy(s->net.ifname, "eth0");
	strcpy(s->net.driver, "e1000");
	cli(r)->magic = DDVM_MAGIC;
	cli(r)->state = DDVM_CLI_READY;
	cli(r)->generation = 3;
}

static void test_decode_empty(void **state)
{
	struct ddvm_chan_sample s;

	memset(region, 0, sizeof(region));
	ddvm_chan_decode(region, SIZE, &s);
	assert_false(s.served);
	assert_false(s.cli_present);
	ddvm_chan_decode(NULL, SIZE, &s);
	assert_false(s.served);
	/* too small to hold a header: nothing is read */
	net_server(region);
	ddvm_chan_decode(region, DDVM_HDR_SIZE - 1, &s);
	assert_false(s.served);
}

static void test_decode_net(void **state)
{
	struct ddvm_chan_sample s;
	char b[16];

	net_server(region);
	ddvm_chan_decode(region, SIZE, &s);
	assert_true(s.served && s.version_ok);
	assert_int_equal(s.type, DDVM_CHAN_NET);
	assert_int_equal(s.state, DDVM_SRV_RUN);
	assert_int_equal(s.generation, 3);
	assert_int_equal(s.heartbeat, 77);
	assert_int_equal(s.net.mac[1], 0xdd);
	assert_int_equal(s.net.mtu, 1500);
	assert_true(s.net.link_up);
	assert_int_equal(s.net.rx_frames, 10);
	assert_int_equal(s.net.tx_dropped, 2);
	assert_int_equal(s.net.tx_bad_hdr, 1);
	assert_int_equal(s.net.rx_segmented, 4);
	/* offered but not taken: no offload */
	assert_false(s.net.offload);
	cli(region)->features = DDVM_F_NET_OFFLOAD;
	ddvm_chan_decode(region, SIZE, &s);
	assert_true(s.net.offload);
	assert_string_equal(s.net.ifname, "eth0");
	assert_string_equal(s.net.driver, "e1000");
	assert_true(s.cli_present);
	assert_int_equal(s.cli_state, DDVM_CLI_READY);
	assert_true(ddvm_chan_attached(&s));
	assert_string_equal(ddvm_srv_state_name(s.state, b, sizeof(b)), "run");
	assert_string_equal(ddvm_chan_type_name(s.type, b, sizeof(b)), "net");
	assert_string_equal(ddvm_cli_state_name(s.cli_state, b, sizeof(b)), "ready");
}

static void test_decode_blk(void **state)
{
	struct ddvm_srv_block *s = srv(region);
	struct ddvm_chan_sample out;

	memset(region, 0, sizeof(region));
	s->magic = DDVM_MAGIC;
	s->version = DDVM_VERSION;
	s->type = DDVM_CHAN_BLK;
	s->state = DDVM_SRV_WAIT;
	s->completed = 1234;
	s->blk.capacity = 1 << 30;
	s->blk.logical_block_size = 512;
	strcpy(s->blk.export_name, "/dev/vda");
	strcpy(s->blk.driver, "virtio_blk");
	ddvm_chan_decode(region, SIZE, &out);
	assert_int_equal(out.completed, 1234);
	assert_int_equal(out.blk.capacity, 1 << 30);
	assert_string_equal(out.blk.export_name, "/dev/vda");
	assert_string_equal(out.blk.driver, "virtio_blk");
	assert_false(out.cli_present);
	assert_true(ddvm_chan_attached(&out));
	s->state = DDVM_SRV_STOPPED;
	ddvm_chan_decode(region, SIZE, &out);
	assert_false(ddvm_chan_attached(&out));
}

/* Whatever a peer writes, the sample holds bounded, printable strings and named numbers. */
static void test_decode_hostile(void **state)
{
	struct ddvm_srv_block *s = srv(region);
	struct ddvm_chan_sample out;
	json_t *j;
	char b[16], *text;

	net_server(region);
	memset(s->net.ifname, 'A', sizeof(s->net.ifname));	/* no NUL */
	memset(s->net.driver, 0xff, sizeof(s->net.driver));	/* not ASCII, no NUL */
	s->net.driver[3] = '\n';
	s->state = 99;
	s->error = 0xffffffff;
	s->heartbeat = UINT64_MAX;
	ddvm_chan_decode(region, SIZE, &out);
	assert_int_equal(strlen(out.net.ifname), sizeof(out.net.ifname) - 1);
	assert_int_equal(strlen(out.net.driver), sizeof(out.net.driver) - 1);
	assert_null(strchr(out.net.driver, '\n'));
	assert_int_equal(out.net.driver[0], '?');
	assert_string_equal(ddvm_srv_state_name(out.state, b, sizeof(b)), "?99");
	assert_string_equal(ddvm_chan_error_name(out.error, b, sizeof(b)), "?4294967295");
	assert_false(ddvm_chan_attached(&out));
	/* and it makes valid JSON */
	j = ddvm_chan_sample_json(&out, 1500);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"state\":\"?99\""));
	free(text);
	json_decref(j);

	/* a version we do not know: no device fields are trusted */
	net_server(region);
	s->version = DDVM_VERSION + 1;
	ddvm_chan_decode(region, SIZE, &out);
	assert_true(out.served);
	assert_false(out.version_ok);
	assert_string_equal(out.net.ifname, "");
	assert_false(ddvm_chan_attached(&out));
	/* an unknown type: neither net nor blk */
	net_server(region);
	s->type = 9;
	ddvm_chan_decode(region, SIZE, &out);
	assert_string_equal(out.net.ifname, "");
	assert_string_equal(ddvm_chan_type_name(out.type, b, sizeof(b)), "?9");
}

static void test_json(void **state)
{
	struct ddvm_chan_sample s;
	json_t *j, *srvj, *net;

	net_server(region);
	ddvm_chan_decode(region, SIZE, &s);
	j = ddvm_chan_sample_json(&s, 250);
	assert_non_null(j);
	srvj = json_object_get(j, "server");
	assert_string_equal(json_string_value(json_object_get(srvj, "state")), "run");
	assert_int_equal(json_integer_value(json_object_get(srvj, "generation")), 3);
	assert_int_equal(json_integer_value(json_object_get(srvj, "heartbeat_age_ms")), 250);
	net = json_object_get(srvj, "net");
	assert_string_equal(json_string_value(json_object_get(net, "mac")), "02:dd:01:02:03:04");
	assert_true(json_is_true(json_object_get(net, "link_up")));
	assert_int_equal(json_integer_value(json_object_get(net, "rx_dropped")), 1);
	assert_int_equal(json_integer_value(json_object_get(net, "tx_bad_hdr")), 1);
	assert_int_equal(json_integer_value(json_object_get(net, "rx_segmented")), 4);
	assert_true(json_is_false(json_object_get(net, "offload")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "client"),
							      "state")), "ready");
	json_decref(j);

	memset(region, 0, sizeof(region));
	ddvm_chan_decode(region, SIZE, &s);
	j = ddvm_chan_sample_json(&s, -1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "server"),
							      "state")), "none");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "client"),
							      "state")), "absent");
	json_decref(j);
}

/* A real region: made sealed, mapped read-only, its heartbeat aged between samples. */
static void test_region_and_heartbeat(void **state)
{
	struct ddvm_chan_sample s;
	struct ddvm_chanmon m;
	struct ddvm_err err;
	void *rw;
	int fd;

	assert_int_equal(ddvm_region_create("t.c0", 1 << 20, &fd, &err), 0);
	assert_true(fd >= 3);
	assert_int_equal(lseek(fd, 0, SEEK_END), 1 << 20);
	assert_int_equal(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_not_equal(ftruncate(fd, 2 << 20), 0);

	assert_int_equal(ddvm_chanmon_open(&m, fd, 1 << 20, "t.c0", &err), 0);
	rw = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(rw != MAP_FAILED);

	/* nobody served yet: no age */
	ddvm_chanmon_sample(&m, 1000, &s);
	assert_false(s.served);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 1000), -1);

	/* a server appears: the clock starts */
	memcpy(rw, region, DDVM_HDR_SIZE);
	net_server(region);
	memcpy(rw, region, DDVM_HDR_SIZE);
	ddvm_chanmon_sample(&m, 2000, &s);
	assert_true(s.served);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 2500), 500);
	/* no beat: it ages */
	ddvm_chanmon_sample(&m, 3000, &s);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 3000), 1000);
	/* a beat resets it */
	srv(rw)->heartbeat++;
	ddvm_chanmon_sample(&m, 4000, &s);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 4100), 100);
	/* a new generation counts as a beat, even with the counter back at 0 */
	srv(rw)->heartbeat = 0;
	srv(rw)->generation++;
	ddvm_chanmon_sample(&m, 9000, &s);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 9000), 0);
	assert_int_equal(ddvm_chanmon_beat_age(&m, 8000), 0);	/* clock never negative */

	/* the monitor's view is read-only */
	assert_int_not_equal(mprotect((void *)m.map, 4096, PROT_READ | PROT_WRITE), 0);
	ddvm_chanmon_close(&m);
	ddvm_chanmon_close(&m);
	assert_null(m.map);
	munmap(rw, 1 << 20);

	assert_int_equal(ddvm_chanmon_open(&m, fd, 1024, "t.c0", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "t.c0"));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_empty),
		cmocka_unit_test(test_decode_net),
		cmocka_unit_test(test_decode_blk),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_region_and_heartbeat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
