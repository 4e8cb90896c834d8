/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Seed files for the libFuzzer targets (DDVM_FUZZ_SEEDS=DIR): header-only,
 * because the fuzzers link the library sources, not the test helpers.
 */
#ifndef DDVM_FUZZ_SEED_H
#define DDVM_FUZZ_SEED_H

#include <stdio.h>
#include <stdlib.h>

/* Write @len bytes of @buf to DIR/NAME, or exit saying why. */
static inline void fuzz_write_seed(const char *dir, const char *name, const void *buf, size_t len)
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

/* With DDVM_FUZZ_SEEDS=DIR in the environment, @write the seeds to DIR and exit. */
static inline void fuzz_seeds_if_asked(void (*write)(const char *dir))
{
	const char *dir = getenv("DDVM_FUZZ_SEEDS");

	if (dir) {
		write(dir);
		exit(0);
	}
}

#endif /* DDVM_FUZZ_SEED_H */
