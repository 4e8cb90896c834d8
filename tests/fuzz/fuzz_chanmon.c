// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the supervisor's decoding of a region header written by a hostile peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uapi/ddvm/channel.h>

#include "chanmon.h"

static unsigned char region[DDVM_HDR_SIZE];

/* A sample's string must be NUL-terminated in its field and printable ASCII. */
static void check_str(const char *s, size_t len)
{
	size_t i;

	if (!memchr(s, '\0', len))
		abort();
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddvm_chan_sample s;
	char *text;
	json_t *j;

	/* the fuzzer's bytes from offset 0: server block, client block, the rest */
	memset(region, 0, sizeof(region));
	memcpy(region, data, size < sizeof(region) ? size : sizeof(region));
	/* mostly valid headers, so the device fields get fuzzed too */
	if (size > 0 && (data[0] & 1)) {
		struct ddvm_srv_block *srv = (struct ddvm_srv_block *)(region + DDVM_SRV_OFFSET);

		srv->magic = DDVM_MAGIC;
		srv->version = DDVM_VERSION;
		srv->type = (data[0] & 2) ? DDVM_CHAN_NET : DDVM_CHAN_BLK;
	}
	ddvm_chan_decode(region, sizeof(region), &s);
	check_str(s.net.ifname, sizeof(s.net.ifname));
	check_str(s.net.driver, sizeof(s.net.driver));
	check_str(s.blk.export_name, sizeof(s.blk.export_name));
	check_str(s.blk.driver, sizeof(s.blk.driver));
	if (ddvm_chan_attached(&s) && (!s.served || !s.version_ok))
		abort();
	/* whatever it holds becomes valid JSON for state.json */
	j = ddvm_chan_sample_json(&s, (long long)size - 1);
	if (!j)
		abort();
	text = json_dumps(j, JSON_COMPACT);
	if (!text)
		abort();
	free(text);
	json_decref(j);
	return 0;
}
