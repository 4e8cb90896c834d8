/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The restart policy of a driver domain (config "restart"): whether a
 * domain that failed while serving is restarted, and after what delay.
 * Pure, so the supervisor only applies it and the unit tests pin it down.
 */
#ifndef DDVM_RESTART_H
#define DDVM_RESTART_H

#include <stdbool.h>

#include "config.h"

/* restarts remembered: the window counts at most this many */
#define DDVM_RESTART_HISTORY	64

/**
 * ddvm_restart_decide - may the domain restart now, and after what delay?
 * @p:         the policy
 * @at:        monotonic ms of earlier restarts, any order; unused slots are
 *             ignored by @n
 * @n:         how many of @at are valid (at most DDVM_RESTART_HISTORY)
 * @now:       monotonic ms
 * @delay_ms:  set to the backoff: 0 for the first restart in the window
 *             when backoff_ms is 0, else backoff_ms doubled per earlier
 *             restart in the window, capped at backoff_max_ms
 * @in_window: set to the earlier restarts within the last @p->window s
 *
 * Return: true to restart, false when max_attempts restarts already fell
 * within the window (the domain is then "failed").
 */
bool ddvm_restart_decide(const struct ddvm_restart_cfg *p, const long long *at, unsigned int n,
			 long long now, long long *delay_ms, unsigned int *in_window);

#endif /* DDVM_RESTART_H */
