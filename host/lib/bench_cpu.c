// SPDX-License-Identifier: GPL-2.0
/* Host CPU accounting from /proc for benchmarks (see bench_cpu.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cpu.h"

/* Read a small /proc file whole.  Return: bytes read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			got = -errno;
			break;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	if (got >= 0)
		buf[got] = '\0';
	return got;
}

int ddvm_proc_stat_ticks(const char *text, uint64_t *ticks)
{
	const char *p = strrchr(text, ')');
	unsigned long long ut, st;
	int field;
	char *end;

	if (!p || p[1] != ' ')
		return -EINVAL;
	/* after "pid (comm)" comes field 3 (state); utime and stime are 14 and 15 */
	p += 2;
	for (field = 3; field < 14; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	errno = 0;
	ut = strtoull(p, &end, 10);
	if (end == p || *end != ' ' || errno)
		return -EINVAL;
	p = end + 1;
	st = strtoull(p, &end, 10);
	if (end == p || (*end != ' ' && *end != '\n' && *end) || errno)
		return -EINVAL;
	*ticks = ut + st;
	return 0;
}

int ddvm_bench_cpu_add(struct ddvm_bench_cpu *c, pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	if (c->nr >= DDVM_BENCH_MAX_PIDS)
		return -ENOSPC;
	c->pids[c->nr++] = pid;
	return 0;
}

int ddvm_bench_cpu_sample(const struct ddvm_bench_cpu *c, double *seconds, struct ddvm_err *err)
{
	const char *proc = c->proc ? c->proc : "/proc";
	long hz = c->hz > 0 ? c->hz : sysconf(_SC_CLK_TCK);
	char path[256], buf[1024];
	uint64_t total = 0, t;
	unsigned int i;
	ssize_t n;

	if (hz <= 0)
		return ddvm_errf(err, -EINVAL, "sysconf(_SC_CLK_TCK) failed");
	for (i = 0; i < c->nr; i++) {
		snprintf(path, sizeof(path), "%s/%d/stat", proc, (int)c->pids[i]);
		n = read_small(path, buf, sizeof(buf));
		if (n == -ENOENT)
			return ddvm_errf(err, -ESRCH, "process %d is gone (%s)", (int)c->pids[i],
					 path);
		if (n < 0)
			return ddvm_errf(err, (int)n, "%s: %s", path, strerror((int)-n));
		if (ddvm_proc_stat_ticks(buf, &t))
			return ddvm_errf(err, -EINVAL, "%s: not a stat line", path);
		total += t;
	}
	*seconds = (double)total / (double)hz;
	return 0;
}

int ddvm_loadavg(const char *proc, double avg[3])
{
	char path[256], buf[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/loadavg", proc ? proc : "/proc");
	n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (sscanf(buf, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3)
		return -EINVAL;
	return 0;
}
