// SPDX-License-Identifier: GPL-2.0
/* The supervisor's progress protocol, reader side (see progress.h, supervisor.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "chan_client.h"
#include "progress.h"
#include "supervisor.h"

int ddvm_progress_follow(int fd, int timeout_ms, ddvm_progress_fn *fn, void *arg)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : ddvm_now_ms() + timeout_ms, left;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[1024], line[1024];
	size_t len = 0;
	ssize_t n, i;

	for (;;) {
		left = deadline - ddvm_now_ms();
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)	/* an overlong line is cut, not overrun */
					line[len++] = buf[i];
				continue;
			}
			line[len] = '\0';
			len = 0;
			if (!strcmp(line, DDVM_PROGRESS_OK))
				return 0;
			if (!strcmp(line, DDVM_PROGRESS_FAIL))
				return 1;
			fn(arg, line);
		}
	}
}
