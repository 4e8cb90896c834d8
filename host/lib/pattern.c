// SPDX-License-Identifier: GPL-2.0
/* Seeded, offset-addressed verification pattern (see pattern.h). */
#include <string.h>

#include "pattern.h"

static inline uint64_t ddvm_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint64_t ddvm_pattern_word(uint64_t offset, uint64_t seed)
{
	return ddvm_mix(seed * 0x9e3779b97f4a7c15ull + offset);
}

void ddvm_pattern_fill(void *buf, uint64_t len, uint64_t offset, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t i, w;

	for (i = 0; i + 8 <= len; i += 8) {
		w = ddvm_pattern_word(offset + i, seed);
		memcpy(p + i, &w, 8);
	}
}

uint64_t ddvm_pattern_check(const void *buf, uint64_t len, uint64_t offset, uint64_t seed)
{
	const uint8_t *p = buf;
	uint64_t i, w;
	int b;

	for (i = 0; i + 8 <= len; i += 8) {
		w = ddvm_pattern_word(offset + i, seed);
		if (memcmp(p + i, &w, 8)) {
			for (b = 0; b < 8 && p[i + b] == ((uint8_t *)&w)[b]; b++)
				;
			return offset + i + b;
		}
	}
	return UINT64_MAX;
}

uint64_t ddvm_rand_next(uint64_t *state)
{
	*state += 0x9e3779b97f4a7c15ull;
	return ddvm_mix(*state);
}
