// SPDX-License-Identifier: GPL-2.0
/* Client-VM test helpers: console lines, ddvm console, a TCP sink, slice checks. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "hub_spawn.h"
#include "state.h"
#include "vmtest_client.h"
#include "vmtest_net.h"

static char *read_console(const struct vmtest *t, const char *vm, size_t *n)
{
	char path[256];
	struct stat st;
	char *buf;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s/console.log", t->run_dir, vm);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	*n = 0;
	while (*n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + *n, (size_t)st.st_size - *n);

		if (r <= 0)
			break;
		*n += (size_t)r;
	}
	/* NULs from a serial line must not hide what follows them */
	for (i = 0; i < *n; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[*n] = '\0';
	close(fd);
	return buf;
}

int vmtest_vm_find(const struct vmtest *t, const char *vm, const char *needle, unsigned int nth,
		   char *rest, size_t len, long *offset)
{
	char *buf, *line, *end, *hit;
	int ret = -ENOENT;
	size_t n;

	buf = read_console(t, vm, &n);
	if (!buf)
		return -ENOENT;
	for (line = buf; line < buf + n; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			end = buf + n;
		*end = '\0';
		if (end > line && end[-1] == '\r')
			end[-1] = '\0';
		hit = strstr(line, needle);
		if (!hit || nth--)
			continue;
		if (rest)
			snprintf(rest, len, "%s", hit + strlen(needle));
		if (offset)
			*offset = line - buf;
		ret = 0;
		break;
	}
	free(buf);
	return ret;
}

/* The VM's state in state.json, in @state; its last error in @why. */
static void vm_state(const struct vmtest *t, const char *vm, char *state, size_t slen,
		     char *why, size_t wlen)
{
	struct ddvm_err err;
	json_t *st, *v;
	size_t i;

	snprintf(state, slen, "?");
	why[0] = '\0';
	if (ddvm_state_load(t->run_dir, &st, &err))
		return;
	json_array_foreach(json_object_get(st, "vms"), i, v)
		if (!strcmp(json_string_value(json_object_get(v, "name")) ?: "", vm)) {
			snprintf(state, slen, "%s", json_string_value(json_object_get(v, "state")) ?: "?");
			snprintf(why, wlen, "%s",
				 json_string_value(json_object_get(v, "last_error")) ?: "");
		}
	json_decref(st);
}

int vmtest_vm_wait_line(const struct vmtest *t, const char *vm, const char *needle,
			int timeout_s, char *line, size_t len, long *offset)
{
	time_t deadline = time(NULL) + timeout_s;
	char state[32], why[384];

	for (;;) {
		if (!vmtest_vm_find(t, vm, needle, 0, NULL, 0, offset)) {
			char rest[512];
			long off;

			vmtest_vm_find(t, vm, needle, 0, rest, sizeof(rest), &off);
			snprintf(line, len, "%s%s", needle, rest);
			return 0;
		}
		vm_state(t, vm, state, sizeof(state), why, sizeof(why));
		if (!strcmp(state, "exited") || !strcmp(state, "failed") || !strcmp(state, "stopped")) {
			/* it may have said it just before it went */
			if (!vmtest_vm_find(t, vm, needle, 0, NULL, 0, offset))
				continue;
			snprintf(line, len, "VM %s is %s before \"%s\": %s", vm, state, needle, why);
			return -ESRCH;
		}
		if (time(NULL) >= deadline) {
			snprintf(line, len, "no \"%s\" on VM %s's console within %d s (state %s; "
				 "see %s/%s/console.log)", needle, vm, timeout_s, state, t->run_dir, vm);
			return -ETIMEDOUT;
		}
		usleep(200 * 1000);
	}
}

/* Run shell command @cmd, its output (stdout and stderr) in @out.  Return: status or -errno. */
static int run_capture(const char *cmd, char *out, size_t len)
{
	size_t used = 0;
	FILE *p;
	int st;

	p = popen(cmd, "r");
	if (!p)
		return -errno;
	out[0] = '\0';
	while (used + 1 < len) {
		size_t r = fread(out + used, 1, len - 1 - used, p);

		if (!r)
			break;
		used += r;
	}
	out[used] = '\0';
	/* drain what did not fit, or the command blocks on a full pipe */
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	if (st < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int vmtest_vm_console(const struct vmtest *t, const char *vm, const char *input, char *out,
		      size_t len)
{
	char in[160], cmd[512];
	FILE *f;

	snprintf(in, sizeof(in), "%s/console-%s.in", t->dir, vm);
	f = fopen(in, "w");
	if (!f)
		return -errno;
	fputs(input, f);
	if (fclose(f))
		return -EIO;
	snprintf(cmd, sizeof(cmd), "%s console --run-dir %s --timeout 120 %s <%s 2>&1",
		 hub_spawn_bin(), t->run_dir, vm, in);
	return run_capture(cmd, out, len);
}

int vmtest_sha256_file(const char *path, char sha[VMTEST_SHA_HEX])
{
	char cmd[256], out[256];
	int ret;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s' 2>&1", path);
	ret = run_capture(cmd, out, sizeof(out));
	if (ret || strlen(out) < VMTEST_SHA_HEX - 1)
		return ret < 0 ? ret : -EIO;
	memcpy(sha, out, VMTEST_SHA_HEX - 1);
	sha[VMTEST_SHA_HEX - 1] = '\0';
	return 0;
}

/* Wait up to the sink's timeout for @fd to be readable, looking at s->stop twice a second. */
static int sink_poll(struct vmtest_sink *s, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	time_t deadline = time(NULL) + s->timeout_s;
	int n;

	for (;;) {
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			return -ECANCELED;
		n = poll(&p, 1, 500);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (time(NULL) >= deadline)
			return -ETIMEDOUT;
	}
}

static void *sink_thread(void *arg)
{
	struct vmtest_sink *s = arg;
	char buf[65536];
	int c, out, ret;
	ssize_t n;

	ret = sink_poll(s, s->fd);
	if (ret) {
		s->error = ret;
		snprintf(s->why, sizeof(s->why), "no connection within %d s: %s", s->timeout_s,
			 strerror(-ret));
		return NULL;
	}
	c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		s->error = -errno;
		snprintf(s->why, sizeof(s->why), "accept: %s", strerror(errno));
		return NULL;
	}
	out = open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		s->error = -errno;
		snprintf(s->why, sizeof(s->why), "%s: %s", s->path, strerror(errno));
		close(c);
		return NULL;
	}
	for (;;) {
		ret = sink_poll(s, c);
		if (ret)
			break;
		n = recv(c, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : 0;
			break;
		}
		if (write(out, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
		s->bytes += (uint64_t)n;
	}
	if (ret) {
		s->error = ret;
		snprintf(s->why, sizeof(s->why), "after %llu bytes: %s",
			 (unsigned long long)s->bytes, strerror(-ret));
	}
	close(out);
	close(c);
	return NULL;
}

int vmtest_sink_start(struct vmtest_sink *s, const char *ns, unsigned short port,
		      const char *path, int timeout_s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->timeout_s = timeout_s;
	s->fd = vmtest_netns_socket(ns, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		snprintf(s->why, sizeof(s->why), "socket in netns %s: %s", ns, strerror(-s->fd));
		return s->fd;
	}
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 1)) {
		ret = -errno;
		snprintf(s->why, sizeof(s->why), "port %u in netns %s: %s", port, ns,
			 strerror(errno));
		close(s->fd);
		s->fd = -1;
		return ret;
	}
	ret = -pthread_create(&s->thread, NULL, sink_thread, s);
	if (ret) {
		close(s->fd);
		s->fd = -1;
		return ret;
	}
	s->running = true;
	return 0;
}

static void sink_join(struct vmtest_sink *s)
{
	if (s->running)
		pthread_join(s->thread, NULL);
	s->running = false;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void vmtest_sink_stop(struct vmtest_sink *s)
{
	__atomic_store_n(&s->stop, true, __ATOMIC_RELEASE);
	sink_join(s);
}

int vmtest_sink_wait(struct vmtest_sink *s, char sha[VMTEST_SHA_HEX])
{
	int ret;

	sink_join(s);
	if (s->error)
		return s->error;
	ret = vmtest_sha256_file(s->path, sha);
	if (ret)
		snprintf(s->why, sizeof(s->why), "sha256sum %s failed", s->path);
	return ret;
}

int vmtest_slice_check(const char *image, uint64_t offset, uint64_t length, const char *tmp,
		       char sha[VMTEST_SHA_HEX], char *why, size_t len)
{
	char cmd[512], out[2048], manifest[200];
	int ret;

	snprintf(cmd, sizeof(cmd), "dd if=%s of=%s bs=1M skip=%llu count=%llu iflag=skip_bytes,"
		 "count_bytes status=none 2>&1", image, tmp, (unsigned long long)offset,
		 (unsigned long long)length);
	ret = run_capture(cmd, out, sizeof(out));
	if (ret) {
		snprintf(why, len, "%s: %s", cmd, out);
		return -EIO;
	}
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s 2>&1", tmp);
	ret = run_capture(cmd, out, sizeof(out));
	if (ret) {
		snprintf(why, len, "e2fsck -fn of %s@%llu+%llu: status %d: %.1500s", image,
			 (unsigned long long)offset, (unsigned long long)length, ret, out);
		return -EIO;
	}
	snprintf(manifest, sizeof(manifest), "%s.manifest", tmp);
	unlink(manifest);
	snprintf(cmd, sizeof(cmd), "debugfs -R 'dump /.manifest %s' %s 2>&1", manifest, tmp);
	ret = run_capture(cmd, out, sizeof(out));
	if (ret || vmtest_sha256_file(manifest, sha)) {
		snprintf(why, len, "debugfs dump /.manifest of %s@%llu: %s", image,
			 (unsigned long long)offset, out);
		return -EIO;
	}
	return 0;
}
