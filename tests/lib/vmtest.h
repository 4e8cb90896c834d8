/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for VM tests: bring driver domains up and down through the real
 * supervisor (`ddvm up`/`ddvm down`) in a private run directory, check the
 * DD/OS kernel log, and compare a backing image with what a client wrote.
 */
#ifndef DDVM_VMTEST_H
#define DDVM_VMTEST_H

#include <stdbool.h>
#include <stdint.h>

struct vmtest {
	char dir[64];		/* private temp dir: run dir, config, images */
	char run_dir[96];
	char image[128];	/* the first domain's image */
	char log[4096];		/* output of the last ddvm command */
};

/*
 * vmtest_up - write a config for one block domain and `ddvm up` it.
 * @controller: virtio-blk, nvme or ahci
 * @disk_size:  e.g. "256M"
 * @nr_channels: 1..8, named c0, c1, ...
 *
 * Return: 0, or -errno with t->log holding what ddvm said.
 */
int vmtest_up(struct vmtest *t, const char *controller, const char *disk_size,
	      unsigned int nr_channels);

/*
 * vmtest_up_domains - `ddvm up` a config of the test's own run dir and the
 * "domains" array @domains_json (JSON text), for tests that need more than
 * one block domain named "dd".
 *
 * Return: 0, or -errno with t->log holding what ddvm said.
 */
int vmtest_up_domains(struct vmtest *t, const char *domains_json);

/*
 * vmtest_init - a fresh temp dir and run dir in @t, for a test that writes
 * files there (scripts, images) before vmtest_up_json().  Return: 0 or -errno.
 */
int vmtest_init(struct vmtest *t);

/*
 * vmtest_up_json - `ddvm up` a config of the test's run dir and @body, the
 * rest of the top-level object's members as JSON text ("\"domains\": [..],
 * \"vms\": [..]").  After vmtest_init().
 *
 * Return: 0, or -errno with t->log holding what ddvm said.
 */
int vmtest_up_json(struct vmtest *t, const char *body);

/*
 * vmtest_ddvm - run the ddvm binary with @args (NULL-terminated), its
 * output (the tail, if long) in t->log.  Return: its exit status or -errno.
 */
int vmtest_ddvm(struct vmtest *t, const char *const *args);

/* `ddvm down` and remove the temp dir unless @keep. Return: 0 or -errno. */
int vmtest_down(struct vmtest *t, bool keep);

/* The hub socket of channel @chan ("c0") of the test domain, in @buf. */
const char *vmtest_channel(const struct vmtest *t, const char *chan, char *buf, size_t len);

/*
 * vmtest_scan_console - look for BUG:, WARNING:, Oops:, "Call Trace" in the
 * DD/OS console log.  Return: 0 if clean, -EIO with the line in @line.
 */
int vmtest_scan_console(const struct vmtest *t, char *line, size_t len);

/* As vmtest_scan_console, for the domain named @domain. */
int vmtest_scan_console_of(const struct vmtest *t, const char *domain, char *line, size_t len);

/*
 * vmtest_compare_image - the image file must hold the pattern of @seed in
 * every 512-byte sector set in @written and zeroes elsewhere.
 * Return: 0, or -EIO with the first differing byte's offset in *bad.
 */
int vmtest_compare_image(const char *image, const uint8_t *written, uint64_t size,
			 uint64_t seed, uint64_t *bad);

#endif /* DDVM_VMTEST_H */
