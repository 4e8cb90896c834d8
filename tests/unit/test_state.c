// SPDX-License-Identifier: GPL-2.0
/* Unit tests of "ddvm status" formatting: NIC domains, wires and live channel data. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <uapi/ddvm/channel.h>

#include "chanmon.h"
#include "state.h"

/* A channel as the supervisor writes it, live part from a made-up region. */
static json_t *channel(const char *name, const char *kind, const struct ddvm_chan_sample *s,
		       long long age)
{
	json_t *c = json_pack("{s:s, s:s, s:s}", "name", name, "kind", kind,
			      "mac", "02:dd:11:22:33:44");
	json_t *live = ddvm_chan_sample_json(s, age);

	json_object_update(c, live);
	json_decref(live);
	return c;
}

static json_t *state(void)
{
	struct ddvm_chan_sample net = {
		.served = true, .version_ok = true, .version = DDVM_VERSION,
		.type = DDVM_CHAN_NET, .state = DDVM_SRV_RUN, .generation = 2,
		.heartbeat = 99, .cli_present = true, .cli_state = DDVM_CLI_READY,
		.cli_generation = 2,
		.net = { .mac = { 0x02, 0xdd, 0x11, 0x22, 0x33, 0x44 }, .mtu = 1500,
			 .link_up = true, .rx_frames = 120, .rx_dropped = 3, .tx_frames = 98,
			 .tx_dropped = 2, .tx_bad_hdr = 2, .rx_segmented = 5, .offload = true,
			 .ifname = "eth0", .driver = "e1000" },
	};
	struct ddvm_chan_sample blk = {
		.served = true, .version_ok = true, .version = DDVM_VERSION,
		.type = DDVM_CHAN_BLK, .state = DDVM_SRV_ERROR, .error = DDVM_ERR_LAYOUT,
		.generation = 1, .completed = 1234,
		.blk = { .export_name = "/dev/vda", .driver = "virtio_blk" },
	};
	struct ddvm_chan_sample none = { 0 };
	json_t *st;

	st = json_pack("{s:i, s:i, s:b, s:I, s:I, s:s, s:s, s:s, s:s,"
		       " s:{s:i, s:s, s:s}, s:[{s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:s,"
		       " s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:[o, o]},"
		       " {s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:[o]}]}",
		       "version", DDVM_STATE_VERSION, "supervisor_pid", 42, "running", 1,
		       "started_at", (json_int_t)time(NULL) - 5, "updated_at",
		       (json_int_t)time(NULL), "run_dir", "/r", "config", "c.json",
		       "accel", "tcg", "accel_reason", "no vmx",
		       "hub", "pid", 43, "state", "running", "last_error", "",
		       "domains",
		       "name", "net0", "state", "serving", "qemu_pid", 44, "boots", 1,
		       "restarts", 0, "last_boot_ms", (json_int_t)5100, "last_error", "",
		       "controller", "",
		       "nic", "model", "e1000", "mac", "02:dd:00:00:00:01", "tap", "dd-net0",
		       "netns", "ddvm-remote", "address", "10.77.0.1/24", "wire", "up",
		       "channels", channel("c0", "net", &net, 300),
		       channel("c1", "net", &none, -1),
		       "name", "disk0", "state", "serving", "qemu_pid", 45, "boots", 2,
		       "restarts", 1, "last_boot_ms", (json_int_t)4000, "controller", "virtio-blk",
		       "device", "/dev/vda", "last_error", "",
		       "channels", channel("c0", "blk", &blk, 42000));
	assert_non_null(st);
	return st;
}

/* The line that begins with @start must hold each of the strings. */
static void expect_line(const char *text, const char *start, ...)
{
	const char *p, *want;
	char line[512];
	size_t n;
	va_list ap;

	for (p = text; p && strncmp(p, start, strlen(start)); p = strchr(p, '\n'), p = p ? p + 1 : p)
		;
	if (!p)
		fail_msg("no line with \"%s\" in:\n%s", start, text);
	n = strcspn(p, "\n");
	snprintf(line, sizeof(line), "%.*s", (int)n, p);
	va_start(ap, start);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(line, want))
			fail_msg("line lacks \"%s\": %s", want, line);
	va_end(ap);
}

static void test_format_live(void **state_)
{
	json_t *st = state();
	char *text = ddvm_state_format(st, 1);

	assert_non_null(text);
	expect_line(text, "net0         serving", "e1000 dd-net0", "net0.c0 net0.c1", NULL);
	expect_line(text, "             wire dd-net0", "netns ddvm-remote", "10.77.0.1/24", ": up", NULL);
	expect_line(text, "disk0        serving", "virtio-blk /dev/vda", NULL);
	expect_line(text, "CHANNEL ", "SERVER", "GEN", "BEAT", "CLIENT", NULL);
	expect_line(text, "net0.c0 ", "net", "run", " 2 ", "0.3s", "ready",
		    "02:dd:11:22:33:44 eth0 link up, offload",
		    "rx 120 (3 dropped, 5 GSO frames cut)", "tx 98 (2 dropped: 2 bad offload headers)",
		    NULL);
	expect_line(text, "net0.c1 ", "never served", "client MAC 02:dd:11:22:33:44", NULL);
	expect_line(text, "disk0.c0 ", "blk", "error", "42s", "absent",
		    "/dev/vda (virtio_blk), 1234 completed", "error layout", NULL);
	assert_null(strstr(text, "as of"));
	free(text);

	/* a stopped supervisor's channels are as of its last update */
	json_object_set_new(st, "running", json_false());
	text = ddvm_state_format(st, 0);
	expect_line(text, "CHANNEL ", "as of", NULL);
	free(text);
	json_decref(st);
}

/* A state from before live data (or with members missing) still prints. */
static void test_format_sparse(void **state_)
{
	json_t *st = json_pack("{s:i, s:[{s:s, s:s, s:[{s:s}]}]}", "version", 1, "domains",
			       "name", "d", "state", "booting", "channels", "name", "c0");
	char *text = ddvm_state_format(st, 1);

	assert_non_null(text);
	expect_line(text, "d.c0", "no live data", NULL);
	free(text);
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_live),
		cmocka_unit_test(test_format_sparse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
