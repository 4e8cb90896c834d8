/* SPDX-License-Identifier: GPL-2.0 */
/* Reading the supervisor daemon's progress lines, for the programs that start one. */
#ifndef DDVM_PROGRESS_H
#define DDVM_PROGRESS_H

/* Called for every progress line that is not the final verdict. */
typedef void ddvm_progress_fn(void *arg, const char *line);

/*
 * ddvm_progress_follow - read lines from @fd until the daemon's verdict.
 * @timeout_ms: for the whole wait; -1 for none
 *
 * Return: 0 if every domain serves, 1 if one failed for good, -1 if the
 * daemon went away or the time ran out first.
 */
int ddvm_progress_follow(int fd, int timeout_ms, ddvm_progress_fn *fn, void *arg);

#endif /* DDVM_PROGRESS_H */
