// SPDX-License-Identifier: GPL-2.0
/* VM test helpers: up/down through the real supervisor, log scan, image compare. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hub_spawn.h"
#include "pattern.h"
#include "vmtest.h"

int vmtest_ddvm(struct vmtest *t, const char *const *args)
{
	const char *argv[16];
	int pfd[2], status, n = 0, i;
	size_t used = 0;
	ssize_t r;
	pid_t pid;

	argv[n++] = hub_spawn_bin();
	for (i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(pfd, O_CLOEXEC))	/* dup2 makes the child's 1 and 2 inheritable */
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execv(argv[0], (char **)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	/* keep the tail: the end of ddvm's output says what went wrong */
	while ((r = read(pfd[0], t->log + used, sizeof(t->log) - 1 - used)) > 0) {
		used += (size_t)r;
		if (used > sizeof(t->log) / 2) {
			memmove(t->log, t->log + used / 2, used - used / 2);
			used -= used / 2;
		}
	}
	t->log[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A fresh temp dir for the test and its run dir; the config goes to @cfg. */
static int vmtest_prepare(struct vmtest *t, char *cfg, size_t len)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->dir, "/tmp/ddvm-vmtest-XXXXXX");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return -errno;
	}
	snprintf(t->run_dir, sizeof(t->run_dir), "%s/run", t->dir);
	snprintf(t->image, sizeof(t->image), "%s/disk.img", t->dir);
	snprintf(cfg, len, "%s/ddvm.json", t->dir);
	return 0;
}

int vmtest_up(struct vmtest *t, const char *controller, const char *disk_size,
	      unsigned int nr_channels)
{
	char cfg[160], chans[512];
	size_t used = 0;
	unsigned int i;
	FILE *f;
	int ret;

	ret = vmtest_prepare(t, cfg, sizeof(cfg));
	if (ret)
		return ret;
	for (i = 0; i < nr_channels; i++)
		used += (size_t)snprintf(chans + used, sizeof(chans) - used, "%s{\"name\": \"c%u\"}",
					 i ? ", " : "", i);
	f = fopen(cfg, "w");
	if (!f)
		return -errno;
	fprintf(f, "{ \"run_dir\": \"%s\", \"domains\": [ { \"name\": \"dd\",\n"
		   "  \"disk\": { \"image\": \"%s\", \"size\": \"%s\", \"controller\": \"%s\" },\n"
		   "  \"channels\": [ %s ] } ] }\n",
		t->run_dir, t->image, disk_size, controller, chans);
	fclose(f);
	ret = vmtest_ddvm(t, (const char *const[]){ "up", cfg, NULL });
	return ret ? -EIO : 0;
}

int vmtest_up_domains(struct vmtest *t, const char *domains_json)
{
	char cfg[160];
	FILE *f;
	int ret;

	ret = vmtest_prepare(t, cfg, sizeof(cfg));
	if (ret)
		return ret;
	f = fopen(cfg, "w");
	if (!f)
		return -errno;
	fprintf(f, "{ \"run_dir\": \"%s\", \"domains\": %s }\n", t->run_dir, domains_json);
	if (fclose(f))
		return -EIO;
	ret = vmtest_ddvm(t, (const char *const[]){ "up", cfg, NULL });
	return ret ? -EIO : 0;
}

int vmtest_init(struct vmtest *t)
{
	char cfg[160];

	return vmtest_prepare(t, cfg, sizeof(cfg));
}

int vmtest_up_json(struct vmtest *t, const char *body)
{
	char cfg[160];
	FILE *f;

	snprintf(cfg, sizeof(cfg), "%s/ddvm.json", t->dir);
	f = fopen(cfg, "w");
	if (!f)
		return -errno;
	fprintf(f, "{ \"run_dir\": \"%s\", %s }\n", t->run_dir, body);
	if (fclose(f))
		return -EIO;
	return vmtest_ddvm(t, (const char *const[]){ "up", cfg, NULL }) ? -EIO : 0;
}

int vmtest_down(struct vmtest *t, bool keep)
{
	char cmd[128];
	int ret;

	ret = vmtest_ddvm(t, (const char *const[]){ "down", "--run-dir", t->run_dir, NULL });
	if (!keep && t->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
		if (system(cmd))
			ret = ret ? ret : -EIO;
	}
	return ret ? -EIO : 0;
}

const char *vmtest_channel(const struct vmtest *t, const char *chan, char *buf, size_t len)
{
	snprintf(buf, len, "%s/hub/dd.%s.sock", t->run_dir, chan);
	return buf;
}

int vmtest_scan_console(const struct vmtest *t, char *line, size_t len)
{
	return vmtest_scan_console_of(t, "dd", line, len);
}

int vmtest_scan_console_of(const struct vmtest *t, const char *domain, char *line, size_t len)
{
	static const char *const bad[] = { "BUG:", "WARNING:", "Oops:", "Call Trace:",
					   "general protection fault" };
	char path[160], buf[1024];
	size_t i;
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/%s/console.log", t->run_dir, domain);
	f = fopen(path, "r");
	if (!f) {
		snprintf(line, len, "no console log at %s", path);
		return -ENOENT;
	}
	while (!ret && fgets(buf, sizeof(buf), f))
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			if (strstr(buf, bad[i])) {
				snprintf(line, len, "%s", buf);
				ret = -EIO;
				break;
			}
	fclose(f);
	return ret;
}

int vmtest_compare_image(const char *image, const uint8_t *written, uint64_t size,
			 uint64_t seed, uint64_t *bad)
{
	static const uint8_t zero[512];
	const size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t off, s, b;
	ssize_t n;
	int fd, ret = 0;

	fd = open(image, O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		return -errno;
	}
	for (off = 0; off < size && !ret; off += chunk) {
		n = pread(fd, buf, chunk, (off_t)off);
		if (n != (ssize_t)chunk) {
			*bad = off;
			ret = -EIO;
			break;
		}
		for (s = 0; s < chunk / 512; s++) {
			uint64_t sector = off / 512 + s;
			const uint8_t *p = buf + s * 512;

			if (written[sector / 8] & (1u << (sector % 8))) {
				b = ddvm_pattern_check(p, 512, sector * 512, seed);
				if (b != UINT64_MAX) {
					*bad = b;
					ret = -EIO;
					break;
				}
			} else if (memcmp(p, zero, 512)) {
				*bad = sector * 512;
				ret = -EIO;
				break;
			}
		}
	}
	close(fd);
	free(buf);
	return ret;
}
