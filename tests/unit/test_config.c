// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the config loader: defaults, good configs, and an error naming the JSON path for every kind of bad input. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "units.h"

static struct ddvm_config cfg;

static int parse(const char *json, struct ddvm_err *err)
{
	memset(err, 0, sizeof(*err));
	return ddvm_config_parse(&cfg, json, strlen(json), "t.json", err);
}

/* The parse must fail and the message must contain each of the strings. */
static void expect_error(const char *json, ...)
{
	struct ddvm_err err;
	const char *want;
	va_list ap;
	int ret;

	ret = parse(json, &err);
	if (ret == 0)
		fail_msg("accepted bad config: %s", json);
	assert_int_equal(ret, -EINVAL);
	if (!strstr(err.msg, "t.json"))
		fail_msg("message does not name the file: %s", err.msg);
	va_start(ap, json);
	while ((want = va_arg(ap, const char *)))
		if (!strstr(err.msg, want))
			fail_msg("message lacks \"%s\": %s\n  for %s", want, err.msg, json);
	va_end(ap);
}

#define D(body) "{\"domains\":[{\"name\":\"d\",\"disk\":{}" body "}]}"

static void test_defaults(void **state)
{
	const struct ddvm_domain_cfg *d;
	struct ddvm_err err;

	assert_int_equal(ddvm_config_load(&cfg, NULL, &err), 0);
	assert_string_equal(cfg.run_dir, "run");
	assert_string_equal(cfg.kernel, "var/guest/vmlinux");
	assert_string_equal(cfg.initrd, "build/guest/initramfs.cpio");
	assert_int_equal(cfg.accel, DDVM_ACCEL_PREF_AUTO);
	assert_int_equal(cfg.nr_domains, 1);
	d = &cfg.domains[0];
	assert_string_equal(d->name, "disk0");
	assert_true(d->has_disk);
	assert_string_equal(d->disk.image, "var/disk0.img");
	assert_int_equal(d->disk.size, 256ULL << 20);
	assert_int_equal(d->disk.controller, DDVM_CTRL_VIRTIO_BLK);
	assert_int_equal(d->nr_channels, 1);
	assert_string_equal(d->channels[0].name, "c0");
	assert_int_equal(d->channels[0].size, 64ULL << 20);
	assert_true(d->memory >= DDVM_MEMORY_MIN);
	assert_int_equal(d->cpus, 1);
	assert_true(d->boot_timeout > 0);
	assert_ptr_equal(ddvm_config_find_domain(&cfg, "disk0"), d);
	assert_null(ddvm_config_find_domain(&cfg, "disk1"));
}

static void test_empty_object_is_defaults(void **state)
{
	struct ddvm_err err;

	assert_int_equal(parse("{}", &err), 0);
	assert_int_equal(cfg.nr_domains, 1);
	assert_string_equal(cfg.domains[0].name, "disk0");
	assert_string_equal(cfg.source, "t.json");
}

static void test_full_roundtrip(void **state)
{
	static const char json[] =
		"{ \"run_dir\": \"r\", \"kernel\": \"k/vmlinux\", \"initrd\": \"i.cpio\", \"accel\": \"tcg\",\n"
		"  \"domains\": [ { \"name\": \"disk0\", \"memory\": \"192M\", \"cpus\": 2, \"boot_timeout\": 45,\n"
		"      \"boot_retries\": 0,\n"
		"      \"disk\": { \"image\": \"var/disk0.img\", \"size\": \"256M\", \"controller\": \"nvme\" },\n"
		"      \"channels\": [ { \"name\": \"c0\", \"size\": \"64M\" }, { \"name\": \"c_1-x\" },\n"
		"                    { \"name\": \"big\", \"size\": \"1G\" }, { \"name\": \"small\", \"size\": \"64k\" } ] },\n"
		"    { \"name\": \"sata\", \"disk\": { \"controller\": \"ahci\" } } ] }\n";
	const struct ddvm_domain_cfg *d;
	struct ddvm_err err;

	assert_int_equal(parse(json, &err), 0);
	assert_string_equal(cfg.run_dir, "r");
	assert_string_equal(cfg.kernel, "k/vmlinux");
	assert_string_equal(cfg.initrd, "i.cpio");
	assert_int_equal(cfg.accel, DDVM_ACCEL_PREF_TCG);
	assert_int_equal(cfg.nr_domains, 2);
	d = &cfg.domains[0];
	assert_string_equal(d->name, "disk0");
	assert_int_equal(d->memory, 192ULL << 20);
	assert_int_equal(d->cpus, 2);
	assert_int_equal(d->boot_timeout, 45);
	assert_int_equal(d->boot_retries, 0);
	assert_int_equal(d->disk.size, 256ULL << 20);
	assert_int_equal(d->disk.controller, DDVM_CTRL_NVME);
	assert_int_equal(d->nr_channels, 4);
	assert_string_equal(d->channels[1].name, "c_1-x");
	assert_int_equal(d->channels[1].size, 64ULL << 20);	/* default */
	assert_int_equal(d->channels[2].size, 1ULL << 30);
	assert_int_equal(d->channels[3].size, 64ULL << 10);
	d = &cfg.domains[1];
	assert_string_equal(d->name, "sata");
	assert_int_equal(d->disk.controller, DDVM_CTRL_AHCI);
	assert_string_equal(d->disk.image, "var/sata.img");	/* default from name */
	assert_int_equal(d->disk.size, 0);			/* "as found" */
	assert_int_equal(d->nr_channels, 1);
	assert_string_equal(d->channels[0].name, "c0");
	assert_int_equal(d->memory, DDVM_DEFAULT_MEMORY);
	assert_int_equal(d->boot_retries, DDVM_DEFAULT_BOOT_RETRIES);
}

static void test_example_configs_load(void **state)
{
	static const char *const files[] = {
		"configs/virtio-blk.json", "configs/nvme.json", "configs/ahci.json",
	};
	static const enum ddvm_controller want[] = {
		DDVM_CTRL_VIRTIO_BLK, DDVM_CTRL_NVME, DDVM_CTRL_AHCI,
	};
	struct ddvm_err err;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (ddvm_config_load(&cfg, files[i], &err))
			fail_msg("%s (run from the repository root)", err.msg);
		assert_int_equal(cfg.domains[0].disk.controller, want[i]);
	}
	if (ddvm_config_load(&cfg, "configs/net.json", &err))
		fail_msg("%s (run from the repository root)", err.msg);
	assert_true(cfg.domains[0].has_nic);
	assert_false(cfg.domains[0].has_disk);
	assert_int_equal(cfg.domains[0].nr_channels, 2);
	assert_string_equal(cfg.domains[0].nic.wire.netns, "ddvm-remote");
	if (ddvm_config_load(&cfg, "configs/clients.json", &err))
		fail_msg("%s (run from the repository root)", err.msg);
	assert_int_equal(cfg.nr_vms, 2);
	assert_int_equal(cfg.domains[0].channels[1].offset, 128ULL << 20);
}

static void test_syntax_errors(void **state)
{
	expect_error("", "t.json:", NULL);
	expect_error("{", "t.json:1:", NULL);
	expect_error("{\"run_dir\": \"a\", \"run_dir\": \"b\"}", "duplicate", NULL);
	expect_error("[]", "(top level)", "expected an object", NULL);
	expect_error("{\"domains\":[]} x", "t.json:1", NULL);
}

static void test_unknown_keys(void **state)
{
	expect_error("{\"runn_dir\": \"x\"}", "(top level)", "runn_dir", "allowed:", "run_dir", NULL);
	expect_error(D(",\"usb\":{}"), "domains[0]", "\"usb\"", "allowed:", "nic", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"img\":\"x\"}}]}",
		     "domains[0].disk", "\"img\"", "image", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"bytes\":\"64M\"}]"),
		     "domains[0].channels[0]", "\"bytes\"", NULL);
}

static void test_wrong_types(void **state)
{
	expect_error("{\"run_dir\": 3}", "run_dir", "expected a string", NULL);
	expect_error("{\"kernel\": null}", "kernel", "expected a string", NULL);
	expect_error("{\"initrd\": \"\"}", "initrd", "empty", NULL);
	expect_error("{\"kernel\": \"a\\nb\"}", "kernel", "control character", NULL);
	expect_error("{\"accel\": true}", "accel", "auto, tcg, kvm", "boolean", NULL);
	expect_error("{\"domains\": {}}", "domains", "expected an array", NULL);
	expect_error("{\"domains\": [3]}", "domains[0]", "expected an object", NULL);
	expect_error(D(",\"cpus\":\"2\""), "domains[0].cpus", "expected an integer", NULL);
	expect_error(D(",\"cpus\":1.5"), "domains[0].cpus", "expected an integer", NULL);
	expect_error(D(",\"memory\":128"), "domains[0].memory", "size string", NULL);
	expect_error(D(",\"channels\":{}"), "domains[0].channels", "expected an array", NULL);
	expect_error(D(",\"channels\":[\"c0\"]"), "domains[0].channels[0]", "expected an object", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":[]}]}", "domains[0].disk",
		     "expected an object", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":512}}]}",
		     "domains[0].disk.size", "size string", NULL);
}

static void test_bad_names(void **state)
{
	expect_error("{\"domains\":[{\"disk\":{}}]}", "domains[0].name", "missing", NULL);
	expect_error("{\"domains\":[{\"name\":\"Disk\",\"disk\":{}}]}", "domains[0].name",
		     "bad name", "a-z", NULL);
	expect_error("{\"domains\":[{\"name\":\"a.b\",\"disk\":{}}]}", "domains[0].name", "bad name", NULL);
	expect_error("{\"domains\":[{\"name\":\"hub\",\"disk\":{}}]}", "domains[0].name", "reserved", NULL);
	expect_error("{\"domains\":[{\"name\":\"a b\",\"disk\":{}}]}", "domains[0].name", "bad name", NULL);
	expect_error("{\"domains\":[{\"name\":\"x23456789012345678901234567890123\",\"disk\":{}}]}",
		     "domains[0].name", "bad name", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{}},{\"name\":\"d\",\"disk\":{\"image\":\"o\"}}]}",
		     "domains[1].name", "duplicate", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\"},{\"name\":\"c\"}]"),
		     "domains[0].channels[1].name", "duplicate", NULL);
	expect_error(D(",\"channels\":[{\"size\":\"64M\"}]"), "domains[0].channels[0].name",
		     "missing", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"C0\"}]"), "domains[0].channels[0].name",
		     "bad name", NULL);
	/* a 32-character name is the longest allowed */
	assert_true(ddvm_valid_name("x2345678901234567890123456789012"));
	assert_false(ddvm_valid_name(""));
}

static void test_bad_values(void **state)
{
	expect_error("{\"accel\": \"hvf\"}", "accel", "auto, tcg, kvm", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"controller\":\"scsi\"}}]}",
		     "domains[0].disk.controller", "\"scsi\"", "virtio-blk, nvme, ahci", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"controller\":\"\"}}]}",
		     "domains[0].disk.controller", "virtio-blk, nvme, ahci", NULL);
	expect_error(D(",\"memory\":\"32M\""), "domains[0].memory", "64M", NULL);
	expect_error(D(",\"memory\":\"100000K\""), "domains[0].memory", "whole MiB", NULL);
	expect_error(D(",\"memory\":\"1T\""), "domains[0].memory", "bad size", NULL);
	expect_error(D(",\"memory\":\"-64M\""), "domains[0].memory", "bad size", NULL);
	expect_error(D(",\"memory\":\"64 M\""), "domains[0].memory", "bad size", NULL);
	expect_error(D(",\"memory\":\"99999999999999999999M\""), "domains[0].memory", "too large", NULL);
	expect_error(D(",\"cpus\":0"), "domains[0].cpus", "out of range", NULL);
	expect_error(D(",\"cpus\":-1"), "domains[0].cpus", "out of range", NULL);
	expect_error(D(",\"boot_timeout\":0"), "domains[0].boot_timeout", "out of range", NULL);
	expect_error(D(",\"boot_retries\":1000"), "domains[0].boot_retries", "out of range", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":\"1000\"}}]}",
		     "domains[0].disk.size", "512", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":\"0\"}}]}",
		     "domains[0].disk.size", "512", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"size\":\"96M\"}]"),
		     "domains[0].channels[0].size", "power of two", "64K", "1G", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"size\":\"32K\"}]"),
		     "domains[0].channels[0].size", "power of two", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"size\":\"2G\"}]"),
		     "domains[0].channels[0].size", "power of two", NULL);
	expect_error(D(",\"channels\":[]"), "domains[0].channels", "1 to 8", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},"
		       "{\"name\":\"d\"},{\"name\":\"e\"},{\"name\":\"f\"},{\"name\":\"g\"},"
		       "{\"name\":\"h\"},{\"name\":\"i\"}]"),
		     "domains[0].channels", "9 channels", "1 to 8", NULL);
	expect_error("{\"domains\":[]}", "domains", "1 to", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\"}]}", "domains[0]", "missing \"disk\" or \"nic\"",
		     NULL);
	expect_error("{\"domains\":[{\"name\":\"a\",\"disk\":{\"image\":\"x.img\"}},"
		     "{\"name\":\"b\",\"disk\":{\"image\":\"x.img\"}}]}",
		     "domains[1].disk.image", "domains[0]", NULL);
}

static void test_eight_channels_ok(void **state)
{
	struct ddvm_err err;

	assert_int_equal(parse(D(",\"channels\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"c\"},"
				 "{\"name\":\"d\"},{\"name\":\"e\"},{\"name\":\"f\"},{\"name\":\"g\"},"
				 "{\"name\":\"h\"}]"), &err), 0);
	assert_int_equal(cfg.domains[0].nr_channels, 8);
}

/* A NIC domain: model, clients with given and generated MACs, the wire. */
#define N(body) "{\"domains\":[{\"name\":\"n\",\"nic\":{" body "}}]}"

static void mac_equal(const uint8_t *mac, const char *want)
{
	char buf[18];

	assert_string_equal(ddvm_format_mac(mac, buf, sizeof(buf)), want);
}

static void test_nic_domain(void **state)
{
	static const char json[] =
		"{\"domains\":[{\"name\":\"net0\",\"nic\":{\"model\":\"e1000\",\"clients\":["
		"{\"name\":\"c0\"},{\"name\":\"c1\",\"mac\":\"52:54:00:AA:bb:cc\"},"
		"{\"name\":\"big\",\"size\":\"16M\"}],"
		"\"wire\":{\"netns\":\"ddvm-remote\",\"address\":\"10.77.0.1/24\"}}}]}";
	const struct ddvm_domain_cfg *d;
	struct ddvm_err err;
	char tap[16];
	unsigned int i;

	assert_int_equal(parse(json, &err), 0);
	d = &cfg.domains[0];
	assert_false(d->has_disk);
	assert_true(d->has_nic);
	assert_int_equal(d->nic.model, DDVM_NIC_E1000);
	assert_int_equal(d->nr_channels, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(d->channels[i].kind, DDVM_CHANNEL_NET);
	assert_string_equal(d->channels[0].name, "c0");
	/* 2 x 256 buffers of 2 KiB + rings fit, with room for 512-entry rings */
	assert_int_equal(d->channels[0].size, DDVM_DEFAULT_NET_CHANNEL_SIZE);
	assert_int_equal(DDVM_DEFAULT_NET_CHANNEL_SIZE, 4ULL << 20);
	assert_int_equal(d->channels[2].size, 16ULL << 20);
	assert_false(d->channels[0].mac_given);
	assert_true(d->channels[1].mac_given);
	mac_equal(d->channels[1].mac, "52:54:00:aa:bb:cc");
	/* generated: locally administered unicast 02:dd:... */
	assert_int_equal(d->channels[0].mac[0], 0x02);
	assert_int_equal(d->channels[0].mac[1], 0xdd);
	assert_int_equal(d->nic.mac[0], 0x02);
	assert_null(ddvm_mac_problem(d->channels[0].mac));
	assert_memory_not_equal(d->channels[0].mac, d->channels[2].mac, 6);
	assert_memory_not_equal(d->nic.mac, d->channels[0].mac, 6);
	assert_memory_not_equal(d->nic.mac, d->channels[2].mac, 6);
	assert_string_equal(d->nic.wire.netns, "ddvm-remote");
	assert_string_equal(d->nic.wire.address, "10.77.0.1/24");
	assert_string_equal(ddvm_tap_name(d->name, tap, sizeof(tap)), "dd-net0");
	assert_string_equal(ddvm_nic_model_name(DDVM_NIC_VIRTIO_NET), "virtio-net");
	assert_string_equal(ddvm_nic_model_name(DDVM_NIC_RTL8139), "rtl8139");

	/* defaults: e1000, one client c0, no wire */
	assert_int_equal(parse(N(""), &err), 0);
	d = &cfg.domains[0];
	assert_int_equal(d->nic.model, DDVM_NIC_E1000);
	assert_int_equal(d->nr_channels, 1);
	assert_string_equal(d->channels[0].name, "c0");
	assert_int_equal(d->channels[0].kind, DDVM_CHANNEL_NET);
	assert_string_equal(d->nic.wire.netns, "");
	assert_int_equal(parse(N("\"model\":\"virtio-net\",\"wire\":{\"netns\":\"x\"}"), &err), 0);
	assert_int_equal(cfg.domains[0].nic.model, DDVM_NIC_VIRTIO_NET);
	assert_string_equal(cfg.domains[0].nic.wire.address, "");
	assert_int_equal(parse(N("\"wire\":{\"netns\":\"r\",\"address\":\"fd00:77::1/64\"}"), &err), 0);
	assert_int_equal(parse(N("\"mac\":\"02:00:00:00:00:01\""), &err), 0);
	mac_equal(cfg.domains[0].nic.mac, "02:00:00:00:00:01");
}

/* Both devices: the disk's channels first (PCI order), names unique across both. */
static void test_nic_and_disk(void **state)
{
	struct ddvm_err err;
	const struct ddvm_domain_cfg *d;

	assert_int_equal(parse("{\"domains\":[{\"name\":\"both\",\"disk\":{},"
			       "\"channels\":[{\"name\":\"b0\"},{\"name\":\"b1\"}],"
			       "\"nic\":{\"model\":\"rtl8139\",\"clients\":[{\"name\":\"n0\"}]}}]}",
			       &err), 0);
	d = &cfg.domains[0];
	assert_true(d->has_disk && d->has_nic);
	assert_int_equal(d->nr_channels, 3);
	assert_int_equal(d->channels[0].kind, DDVM_CHANNEL_BLK);
	assert_int_equal(d->channels[1].kind, DDVM_CHANNEL_BLK);
	assert_int_equal(d->channels[2].kind, DDVM_CHANNEL_NET);
	assert_string_equal(d->channels[2].name, "n0");
	assert_int_equal(d->channels[0].size, DDVM_DEFAULT_CHANNEL_SIZE);

	/* the disk's default channel c0 plus the NIC's default client: a clash */
	expect_error("{\"domains\":[{\"name\":\"b\",\"disk\":{},\"nic\":{}}]}",
		     "domains[0].nic.clients", "clash", "c0", NULL);
	expect_error("{\"domains\":[{\"name\":\"b\",\"disk\":{},"
		     "\"nic\":{\"clients\":[{\"name\":\"x\"},{\"name\":\"c0\"}]}}]}",
		     "domains[0].nic.clients[1].name", "duplicate", "disk", NULL);
	expect_error("{\"domains\":[{\"name\":\"b\",\"disk\":{},\"channels\":[{\"name\":\"a\"},"
		     "{\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\"},{\"name\":\"e\"},"
		     "{\"name\":\"f\"}],\"nic\":{\"clients\":[{\"name\":\"g\"},{\"name\":\"h\"},"
		     "{\"name\":\"i\"}]}}]}",
		     "domains[0].nic.clients", "3 clients", "1 to 2", "8 channels", NULL);
	/* two domains, one with a disk only: images are checked only where there are disks */
	assert_int_equal(parse("{\"domains\":[{\"name\":\"a\",\"nic\":{}},"
			       "{\"name\":\"b\",\"nic\":{}},{\"name\":\"c\",\"disk\":{}}]}", &err),
			 0);
	assert_memory_not_equal(cfg.domains[0].channels[0].mac, cfg.domains[1].channels[0].mac, 6);
}

/* Generated MACs are a function of the names: the same in every run. */
static void test_mac_generation(void **state)
{
	static const char json[] =
		"{\"domains\":[{\"name\":\"net0\",\"nic\":{\"clients\":[{\"name\":\"c0\"},"
		"{\"name\":\"c1\"}]}}]}";
	uint8_t c0[6], c1[6], nic[6], wire[6];
	struct ddvm_err err;
	char text[64];

	assert_int_equal(parse(json, &err), 0);
	memcpy(c0, cfg.domains[0].channels[0].mac, 6);
	memcpy(c1, cfg.domains[0].channels[1].mac, 6);
	memcpy(nic, cfg.domains[0].nic.mac, 6);
	memcpy(wire, cfg.domains[0].nic.wire.mac, 6);
	assert_memory_not_equal(c0, c1, 6);
	/* the remote end of the wire: its own unicast address, like the others */
	assert_null(ddvm_mac_problem(wire));
	assert_memory_not_equal(wire, nic, 6);
	assert_memory_not_equal(wire, c0, 6);
	assert_memory_not_equal(wire, c1, 6);
	assert_int_equal(parse(json, &err), 0);
	assert_memory_equal(c0, cfg.domains[0].channels[0].mac, 6);
	assert_memory_equal(c1, cfg.domains[0].channels[1].mac, 6);
	assert_memory_equal(nic, cfg.domains[0].nic.mac, 6);
	assert_memory_equal(wire, cfg.domains[0].nic.wire.mac, 6);
	/* a client's MAC does not depend on its position or on other clients */
	assert_int_equal(parse("{\"domains\":[{\"name\":\"net0\",\"nic\":{\"clients\":["
			       "{\"name\":\"zz\"},{\"name\":\"c1\"}]}}]}", &err), 0);
	assert_memory_equal(c1, cfg.domains[0].channels[1].mac, 6);
	/* a given MAC equal to what c1 would get pushes c1 elsewhere, uniquely */
	snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", c1[0], c1[1], c1[2], c1[3],
		 c1[4], c1[5]);
	{
		char j[512];

		snprintf(j, sizeof(j), "{\"domains\":[{\"name\":\"net0\",\"nic\":{\"clients\":["
			 "{\"name\":\"c0\",\"mac\":\"%s\"},{\"name\":\"c1\"}]}}]}", text);
		assert_int_equal(parse(j, &err), 0);
	}
	assert_memory_equal(c1, cfg.domains[0].channels[0].mac, 6);
	assert_memory_not_equal(c1, cfg.domains[0].channels[1].mac, 6);
	assert_null(ddvm_mac_problem(cfg.domains[0].channels[1].mac));
}

static void test_nic_errors(void **state)
{
	expect_error(N("\"model\":\"ne2000\""), "domains[0].nic.model", "\"ne2000\"",
		     "e1000, e1000e, virtio-net, rtl8139", NULL);
	expect_error(N("\"speed\":1"), "domains[0].nic", "\"speed\"", "allowed:", "clients", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"ip\":\"x\"}]"),
		     "domains[0].nic.clients[0]", "\"ip\"", "mac", NULL);
	expect_error(N("\"clients\":[]"), "domains[0].nic.clients", "0 clients", NULL);
	expect_error(N("\"clients\":{}"), "domains[0].nic.clients", "expected an array", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\"},{\"name\":\"c\"}]"),
		     "domains[0].nic.clients[1].name", "duplicate", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"size\":\"3M\"}]"),
		     "domains[0].nic.clients[0].size", "power of two", NULL);
	/* MACs */
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"01:00:5e:00:00:01\"}]"),
		     "domains[0].nic.clients[0].mac", "multicast", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"ff:ff:ff:ff:ff:ff\"}]"),
		     "domains[0].nic.clients[0].mac", "multicast", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"00:00:00:00:00:00\"}]"),
		     "domains[0].nic.clients[0].mac", "all zeroes", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"52:54:00:aa:bb\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"52:54:00:aa:bb:cc:dd\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"52-54-00-aa-bb-cc\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"5g:54:00:aa:bb:cc\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":\"52:54:00:aa:bb:cc:00:00:00:00:00:00:00:00\"}]"),
		     "domains[0].nic.clients[0].mac", "bad MAC", NULL);
	expect_error(N("\"clients\":[{\"name\":\"c\",\"mac\":5}]"),
		     "domains[0].nic.clients[0].mac", "expected a string", NULL);
	expect_error(N("\"mac\":\"03:00:00:00:00:01\""), "domains[0].nic.mac", "multicast", NULL);
	expect_error(N("\"clients\":[{\"name\":\"a\",\"mac\":\"52:54:00:00:00:01\"},"
		       "{\"name\":\"b\",\"mac\":\"52:54:00:00:00:01\"}]"),
		     "domains[0].nic.clients[1].mac", "52:54:00:00:00:01",
		     "also domains[0].nic.clients[0].mac", NULL);
	expect_error(N("\"mac\":\"52:54:00:00:00:01\",\"clients\":[{\"name\":\"a\","
		       "\"mac\":\"52:54:00:00:00:01\"}]"),
		     "domains[0].nic.clients[0].mac", "also domains[0].nic.mac", NULL);
	expect_error("{\"domains\":[{\"name\":\"a\",\"nic\":{\"clients\":[{\"name\":\"c\","
		     "\"mac\":\"52:54:00:00:00:01\"}]}},{\"name\":\"b\",\"disk\":{},\"nic\":{"
		     "\"clients\":[{\"name\":\"x\"},{\"name\":\"c\",\"mac\":\"52:54:00:00:00:01\"}]}}]}",
		     "domains[1].nic.clients[1].mac", "also domains[0].nic.clients[0].mac", NULL);
	/* the domain and its channels */
	expect_error("{\"domains\":[{\"name\":\"n\",\"nic\":{},\"channels\":[{\"name\":\"c\"}]}]}",
		     "domains[0].channels", "no \"disk\"", "nic.clients", NULL);
	expect_error("{\"domains\":[{\"name\":\"abcdefghijklm\",\"nic\":{}}]}",
		     "domains[0].name", "too long", "12", "dd-abcdefghijklm", NULL);
	expect_error("{\"domains\":[{\"name\":\"n\",\"nic\":[]}]}", "domains[0].nic",
		     "expected an object", NULL);
	/* the wire */
	expect_error(N("\"wire\":{}"), "domains[0].nic.wire.netns", "missing", NULL);
	expect_error(N("\"wire\":{\"netns\":\"a\",\"mtu\":1}"), "domains[0].nic.wire",
		     "\"mtu\"", NULL);
	expect_error(N("\"wire\":{\"netns\":\"../etc\"}"), "domains[0].nic.wire.netns",
		     "bad namespace name", NULL);
	expect_error(N("\"wire\":{\"netns\":\"a/b\"}"), "domains[0].nic.wire.netns",
		     "bad namespace name", NULL);
	expect_error(N("\"wire\":{\"netns\":\"-n\"}"), "domains[0].nic.wire.netns",
		     "bad namespace name", NULL);
	expect_error(N("\"wire\":{\"netns\":\"x23456789012345678901234567890123\"}"),
		     "domains[0].nic.wire.netns", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"10.77.0.1\"}"),
		     "domains[0].nic.wire.address", "IP/PREFIX", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"10.77.0.1/33\"}"),
		     "domains[0].nic.wire.address", "IP/PREFIX", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"10.77.0.1/2x\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"10.77.0.1/-1\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"10.77.0/24\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"fd00::1/129\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"host/24\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error(N("\"wire\":{\"netns\":\"r\",\"address\":\"/24\"}"),
		     "domains[0].nic.wire.address", NULL);
	expect_error("{\"domains\":[{\"name\":\"a\",\"nic\":{\"wire\":{\"netns\":\"r\","
		     "\"address\":\"10.0.0.1/24\"}}},{\"name\":\"b\",\"nic\":{\"wire\":{"
		     "\"netns\":\"r\",\"address\":\"10.0.0.1/16\"}}}]}",
		     "domains[1].nic.wire.address", "also domains[0]", NULL);
}

static void test_mac_helpers(void **state)
{
	uint8_t mac[6];
	char buf[18];

	assert_int_equal(ddvm_parse_mac("02:DD:0a:0B:ff:00", mac), 0);
	assert_string_equal(ddvm_format_mac(mac, buf, sizeof(buf)), "02:dd:0a:0b:ff:00");
	assert_int_equal(ddvm_parse_mac("02:dd:0a:0b:ff:0", mac), -EINVAL);
	assert_int_equal(ddvm_parse_mac("02:dd:0a:0b:ff:00 ", mac), -EINVAL);
	assert_int_equal(ddvm_parse_mac("", mac), -EINVAL);
	assert_int_equal(ddvm_parse_mac("02:dd:0a:0b:ff", mac), -EINVAL);
	assert_null(ddvm_mac_problem(mac));
}

static void test_load_errors(void **state)
{
	char path[] = "/tmp/ddvm-test-config-XXXXXX";
	struct ddvm_err err;
	int fd;

	assert_int_equal(ddvm_config_load(&cfg, "/nonexistent/x.json", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/x.json"));
	assert_int_equal(ddvm_config_load(&cfg, "/tmp", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"accel\":\"kvm\"}", 15), 15);
	close(fd);
	assert_int_equal(ddvm_config_load(&cfg, path, &err), 0);
	assert_int_equal(cfg.accel, DDVM_ACCEL_PREF_KVM);
	assert_string_equal(cfg.source, path);
	unlink(path);
}

static void test_absolutize(void **state)
{
	struct ddvm_err err;

	assert_int_equal(parse("{\"kernel\":\"/boot/vmlinux\",\"domains\":[{\"name\":\"a\",\"disk\":{}},"
			       "{\"name\":\"b\",\"disk\":{\"image\":\"/abs/b.img\"}}]}", &err), 0);
	assert_int_equal(ddvm_config_absolutize(&cfg, "/home/u", &err), 0);
	assert_string_equal(cfg.run_dir, "/home/u/run");
	assert_string_equal(cfg.kernel, "/boot/vmlinux");
	assert_string_equal(cfg.initrd, "/home/u/build/guest/initramfs.cpio");
	assert_string_equal(cfg.domains[0].disk.image, "/home/u/var/a.img");
	assert_string_equal(cfg.domains[1].disk.image, "/abs/b.img");

	assert_int_equal(parse("{\"domains\":[{\"name\":\"a\",\"disk\":{}}],\"vms\":[{\"name\":"
			       "\"v\",\"run\":\"t.sh\",\"initrd\":\"/i.cpio\"}]}", &err), 0);
	assert_int_equal(ddvm_config_absolutize(&cfg, "/home/u", &err), 0);
	assert_string_equal(cfg.vms[0].kernel, "/home/u/var/guest/vmlinux");
	assert_string_equal(cfg.vms[0].initrd, "/i.cpio");
	assert_string_equal(cfg.vms[0].run, "/home/u/t.sh");
}

/* A disk DD/OS with two slices, a NIC DD/OS with two clients, two VMs. */
#define VM_DOMAINS \
	"\"domains\":[{\"name\":\"disk0\",\"disk\":{\"size\":\"256M\"},\"channels\":[" \
	"{\"name\":\"c0\",\"offset\":\"0\",\"length\":\"128M\"}," \
	"{\"name\":\"c1\",\"offset\":\"128M\",\"length\":\"128M\"},{\"name\":\"c2\"}]}," \
	"{\"name\":\"net0\",\"nic\":{\"clients\":[{\"name\":\"c0\"},{\"name\":\"c1\"}]}}]"
#define VMS(body) "{" VM_DOMAINS ",\"vms\":[" body "]}"

static void test_vms(void **state)
{
	const struct ddvm_vm_cfg *v;
	struct ddvm_err err;

	if (parse("{\"kernel\":\"k\"," VM_DOMAINS ",\"vms\":["
		  "{\"name\":\"vm0\",\"disks\":[{\"channel\":\"disk0.c0\"}],"
		  "\"nics\":[{\"channel\":\"net0.c1\",\"address\":\"10.77.0.11/24\"}]},"
		  "{\"name\":\"vm1\",\"kernel\":\"k2\",\"initrd\":\"i2\",\"memory\":\"512M\","
		  "\"cpus\":2,\"boot_timeout\":0,\"run\":\"s.sh\",\"append\":\"quiet x=1\","
		  "\"disks\":[{\"channel\":\"disk0.c1\",\"via\":\"front\"},"
		  "{\"channel\":\"disk0.c2\",\"via\":\"nbd\"}],"
		  "\"nics\":[{\"channel\":\"net0.c0\",\"via\":\"front\"}]}]}", &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.nr_vms, 2);
	v = &cfg.vms[0];
	assert_string_equal(v->name, "vm0");
	assert_string_equal(v->kernel, "k");		/* the config's kernel */
	assert_string_equal(v->initrd, DDVM_DEFAULT_VM_INITRD);
	assert_int_equal(v->memory, DDVM_DEFAULT_VM_MEMORY);
	assert_int_equal(v->cpus, 1);
	assert_int_equal(v->boot_timeout, DDVM_DEFAULT_VM_BOOT_TIMEOUT);
	assert_string_equal(v->run, "");
	assert_string_equal(v->append, "");
	assert_int_equal(v->nr_disks, 1);
	assert_string_equal(v->disks[0].domain, "disk0");
	assert_string_equal(v->disks[0].channel, "c0");
	assert_int_equal(v->disks[0].dom, 0);
	assert_int_equal(v->disks[0].chan, 0);
	assert_int_equal(v->disks[0].via, DDVM_VIA_NBD);	/* the stock-kernel path */
	assert_int_equal(v->nr_nics, 1);
	assert_int_equal(v->nics[0].dom, 1);
	assert_int_equal(v->nics[0].chan, 1);
	assert_int_equal(v->nics[0].via, DDVM_VIA_STREAM);
	assert_string_equal(v->nics[0].address, "10.77.0.11/24");
	v = &cfg.vms[1];
	assert_string_equal(v->kernel, "k2");
	assert_string_equal(v->initrd, "i2");
	assert_int_equal(v->memory, 512ULL << 20);
	assert_int_equal(v->cpus, 2);
	assert_int_equal(v->boot_timeout, 0);
	assert_string_equal(v->run, "s.sh");
	assert_string_equal(v->append, "quiet x=1");
	assert_int_equal(v->nr_disks, 2);
	assert_int_equal(v->disks[0].via, DDVM_VIA_FRONT);
	assert_int_equal(v->disks[1].chan, 2);
	assert_int_equal(v->nics[0].via, DDVM_VIA_FRONT);
	assert_string_equal(v->nics[0].address, "");
	assert_string_equal(ddvm_vm_via_name(DDVM_VIA_STREAM), "stream");

	/* no "vms": none; an empty list is fine too */
	assert_int_equal(parse("{}", &err), 0);
	assert_int_equal(cfg.nr_vms, 0);
	assert_int_equal(parse(VMS(""), &err), 0);
	assert_int_equal(cfg.nr_vms, 0);
	/* a VM of the default domain */
	assert_int_equal(parse("{\"vms\":[{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c0\"}]}]}",
			       &err), 0);
	assert_int_equal(cfg.vms[0].disks[0].dom, 0);
}

static void test_vm_errors(void **state)
{
	expect_error("{\"vms\":{}}", "vms", "expected an array", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disk\":[]}"), "vms[0]", "unknown key \"disk\"",
		     "disks", NULL);
	expect_error(VMS("{\"disks\":[]}"), "vms[0].name", "missing", NULL);
	expect_error(VMS("{\"name\":\"hub\"}"), "vms[0].name", "reserved", NULL);
	expect_error(VMS("{\"name\":\"net0\"}"), "vms[0].name", "domains[1]", "unique", NULL);
	expect_error(VMS("{\"name\":\"a\"},{\"name\":\"a\"}"), "vms[1].name", "duplicate",
		     "vms[0]", NULL);
	expect_error(VMS("{\"name\":\"v\",\"memory\":\"100K\"}"), "vms[0].memory", "whole MiB",
		     NULL);
	expect_error(VMS("{\"name\":\"v\",\"cpus\":0}"), "vms[0].cpus", "out of range", NULL);
	expect_error(VMS("{\"name\":\"v\",\"append\":\"a\\nb\"}"), "vms[0].append",
		     "control character", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":{}}"), "vms[0].disks", "expected an array",
		     NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{}]}"), "vms[0].disks[0].channel", "missing",
		     NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0\"}]}"),
		     "vms[0].disks[0].channel", "DOMAIN.CHANNEL", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk9.c0\"}]}"),
		     "vms[0].disks[0].channel", "no domain \"disk9\"", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c7\"}]}"),
		     "vms[0].disks[0].channel", "no channel \"c7\"", "disk0.c0, disk0.c1, disk0.c2",
		     NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"net0.c0\"}]}"),
		     "vms[0].disks[0].channel", "net0.c0 is a net channel", "needs a blk", NULL);
	expect_error(VMS("{\"name\":\"v\",\"nics\":[{\"channel\":\"disk0.c0\"}]}"),
		     "vms[0].nics[0].channel", "is a blk channel", "needs a net", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c0\",\"via\":\"stream\"}]}"),
		     "vms[0].disks[0].via", "nbd, front", NULL);
	expect_error(VMS("{\"name\":\"v\",\"nics\":[{\"channel\":\"net0.c0\",\"via\":\"nbd\"}]}"),
		     "vms[0].nics[0].via", "stream, front", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c0\",\"address\":\"x\"}]}"),
		     "vms[0].disks[0]", "unknown key \"address\"", NULL);
	expect_error(VMS("{\"name\":\"v\",\"nics\":[{\"channel\":\"net0.c0\",\"address\":\"10.0.0.1\"}]}"),
		     "vms[0].nics[0].address", "IP/PREFIX", NULL);
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c0\"},"
			 "{\"channel\":\"disk0.c1\"},{\"channel\":\"disk0.c2\"},{\"channel\":\"disk0.c0\"},"
			 "{\"channel\":\"disk0.c1\"}]}"), "vms[0].disks", "at most 4", NULL);
	/* a channel has one client: within a VM and across VMs */
	expect_error(VMS("{\"name\":\"v\",\"disks\":[{\"channel\":\"disk0.c0\"},"
			 "{\"channel\":\"disk0.c0\",\"via\":\"front\"}]}"),
		     "vms[0].disks[1]", "disk0.c0 is also vms[0].disks[0]'s", NULL);
	expect_error(VMS("{\"name\":\"a\",\"nics\":[{\"channel\":\"net0.c1\"}]},"
			 "{\"name\":\"b\",\"disks\":[{\"channel\":\"disk0.c1\"}],"
			 "\"nics\":[{\"channel\":\"net0.c1\"}]}"),
		     "vms[1].nics[0]", "net0.c1 is also vms[0].nics[0]'s", "one client", NULL);
}

static void test_slices(void **state)
{
	struct ddvm_err err;

	if (parse(VMS(""), &err))
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.domains[0].channels[0].offset, 0);
	assert_int_equal(cfg.domains[0].channels[0].length, 128ULL << 20);
	assert_int_equal(cfg.domains[0].channels[1].offset, 128ULL << 20);
	assert_int_equal(cfg.domains[0].channels[1].length, 128ULL << 20);
	assert_int_equal(cfg.domains[0].channels[2].length, 0);	/* the whole disk */
	/* length alone: from the start; a disk of unknown size takes any slice */
	assert_int_equal(parse(D(",\"channels\":[{\"name\":\"c\",\"length\":\"1G\"}]"), &err), 0);
	assert_int_equal(cfg.domains[0].channels[0].length, 1ULL << 30);
	assert_int_equal(cfg.domains[0].channels[0].offset, 0);

	expect_error(D(",\"channels\":[{\"name\":\"c\",\"offset\":\"4K\"}]"),
		     "domains[0].channels[0].length", "missing", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"offset\":\"512\",\"length\":\"4K\"}]"),
		     "domains[0].channels[0].offset", "multiple of 4096", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"length\":\"6K\"}]"),
		     "domains[0].channels[0].length", "multiple of 4096", NULL);
	expect_error(D(",\"channels\":[{\"name\":\"c\",\"length\":\"0\"}]"),
		     "domains[0].channels[0].length", "non-zero", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":\"256M\"},\"channels\":["
		     "{\"name\":\"c\",\"offset\":\"192M\",\"length\":\"128M\"}]}]}",
		     "domains[0].channels[0].length", "beyond the disk", "256M", NULL);
	expect_error("{\"domains\":[{\"name\":\"d\",\"disk\":{\"size\":\"256M\"},\"channels\":["
		     "{\"name\":\"c\",\"offset\":\"256M\",\"length\":\"4K\"}]}]}",
		     "domains[0].channels[0].length", "beyond the disk", NULL);
	/* NIC clients are not slices */
	expect_error("{\"domains\":[{\"name\":\"n\",\"nic\":{\"clients\":[{\"name\":\"c\","
		     "\"length\":\"4K\"}]}}]}", "domains[0].nic.clients[0]", "unknown key \"length\"",
		     NULL);
}

static void test_units(void **state)
{
	struct ddvm_err err;
	uint64_t v;
	char buf[24];

	assert_int_equal(ddvm_parse_size("4096", &v, &err), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(ddvm_parse_size("2g", &v, &err), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(ddvm_parse_size("16G", &v, &err), 0);
	assert_int_equal(ddvm_parse_size("17179869184G", &v, &err), -ERANGE);
	assert_int_equal(ddvm_parse_size("M", &v, &err), -EINVAL);
	assert_int_equal(ddvm_parse_size("64MB", &v, &err), -EINVAL);
	assert_int_equal(ddvm_parse_size("+1", &v, &err), -EINVAL);
	assert_int_equal(ddvm_parse_size("0x10", &v, &err), -EINVAL);
	assert_int_equal(ddvm_parse_size("", &v, &err), -EINVAL);
	assert_string_equal(ddvm_format_size(64ULL << 20, buf, sizeof(buf)), "64M");
	assert_string_equal(ddvm_format_size(1ULL << 30, buf, sizeof(buf)), "1G");
	assert_string_equal(ddvm_format_size(1536 << 10, buf, sizeof(buf)), "1536K");
	assert_string_equal(ddvm_format_size(1000, buf, sizeof(buf)), "1000");
	assert_string_equal(ddvm_format_size(0, buf, sizeof(buf)), "0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_object_is_defaults),
		cmocka_unit_test(test_full_roundtrip),
		cmocka_unit_test(test_example_configs_load),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_eight_channels_ok),
		cmocka_unit_test(test_nic_domain),
		cmocka_unit_test(test_nic_and_disk),
		cmocka_unit_test(test_mac_generation),
		cmocka_unit_test(test_nic_errors),
		cmocka_unit_test(test_mac_helpers),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_absolutize),
		cmocka_unit_test(test_vms),
		cmocka_unit_test(test_vm_errors),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
