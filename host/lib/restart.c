// SPDX-License-Identifier: GPL-2.0
/* The restart policy of a driver domain: attempts per window, then backoff. */
#include "restart.h"

bool ddvm_restart_decide(const struct ddvm_restart_cfg *p, const long long *at, unsigned int n,
			 long long now, long long *delay_ms, unsigned int *in_window)
{
	long long delay = 0;
	unsigned int i, w = 0;

	if (n > DDVM_RESTART_HISTORY)
		n = DDVM_RESTART_HISTORY;
	for (i = 0; i < n; i++)
		if (now - at[i] < (long long)p->window * 1000)
			w++;
	*in_window = w;
	*delay_ms = 0;
	if (w >= p->max_attempts)
		return false;
	if (p->backoff_ms) {
		/* doubling stops at the cap: no overflow however many restarts */
		delay = p->backoff_ms;
		for (i = 0; i < w && delay < p->backoff_max_ms; i++)
			delay *= 2;
		if (delay > p->backoff_max_ms)
			delay = p->backoff_max_ms;
	}
	*delay_ms = delay;
	return true;
}
