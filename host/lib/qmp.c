// SPDX-License-Identifier: GPL-2.0
/* QMP client: bounded line reads, JSON checks and deadlines on every wait. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

struct ddvm_qmp {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *buf;		/* bytes received, not yet split into lines */
	size_t len;
	size_t cap;
	json_int_t next_id;	/* answers are matched to commands by id */
	ddvm_qmp_event_fn *event_fn;
	void *event_arg;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(long long deadline)
{
	long long left = deadline - now_ms();

	return left < 0 ? 0 : (int)left;
}

/*
 * Take one complete line out of the buffer into a parsed JSON object.
 * Return: 1 with *msg set, 0 if no complete line is buffered, or -errno.
 */
static int take_message(struct ddvm_qmp *q, json_t **msg, struct ddvm_err *err)
{
	json_error_t jerr;
	char *nl;
	size_t n;
	json_t *m;

	for (;;) {
		nl = memchr(q->buf, '\n', q->len);
		if (!nl) {
			if (q->len >= DDVM_QMP_LINE_MAX)
				return ddvm_errf(err, -EMSGSIZE,
						 "QMP %s: a message longer than %d bytes",
						 q->path, DDVM_QMP_LINE_MAX);
			return 0;
		}
		n = (size_t)(nl - q->buf);
		if (n > 1 || (n == 1 && q->buf[0] != '\r'))
			break;
		/* QMP never sends blank lines, but they carry no harm */
		memmove(q->buf, nl + 1, q->len - n - 1);
		q->len -= n + 1;
	}
	m = json_loadb(q->buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!m || !json_is_object(m)) {
		int shown = n > 60 ? 60 : (int)n;

		json_decref(m);
		return ddvm_errf(err, -EPROTO, "QMP %s: not a JSON object: \"%.*s\"%s",
				 q->path, shown, q->buf, n > 60 ? "..." : "");
	}
	memmove(q->buf, nl + 1, q->len - n - 1);
	q->len -= n + 1;
	*msg = m;
	return 1;
}

/* Read once from the socket.  Return: bytes read, 0 if none now, or -errno. */
static int fill(struct ddvm_qmp *q, struct ddvm_err *err)
{
	ssize_t n;

	if (q->cap - q->len < 4096 && q->cap < DDVM_QMP_LINE_MAX + 1) {
		size_t cap = q->cap * 2;
		char *b;

		if (cap > DDVM_QMP_LINE_MAX + 1)
			cap = DDVM_QMP_LINE_MAX + 1;
		b = realloc(q->buf, cap);
		if (!b)
			return ddvm_errf(err, -ENOMEM, "QMP %s: out of memory", q->path);
		q->buf = b;
		q->cap = cap;
	}
	if (q->len == q->cap)	/* full without a newline: take_message says so */
		return ddvm_errf(err, -EMSGSIZE, "QMP %s: a message longer than %d bytes",
				 q->path, DDVM_QMP_LINE_MAX);
	do
		n = read(q->fd, q->buf + q->len, q->cap - q->len);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		return ddvm_errf(err, -errno, "QMP %s: read: %s", q->path, strerror(errno));
	if (n == 0)
		return ddvm_errf(err, -EPIPE, "QMP %s: QEMU closed the connection", q->path);
	q->len += (size_t)n;
	return (int)n;
}

/*
 * Wait for the next message that is not an event, passing events on.
 * Return: 0 with *msg set, or -errno.
 */
static int next_reply(struct ddvm_qmp *q, long long deadline, const char *what,
		      json_t **msg, struct ddvm_err *err)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	json_t *m;
	int ret;

	for (;;) {
		ret = take_message(q, &m, err);
		if (ret < 0)
			return ret;
		if (ret) {
			json_t *ev = json_object_get(m, "event");

			if (!ev) {
				*msg = m;
				return 0;
			}
			if (q->event_fn && json_is_string(ev))
				q->event_fn(q->event_arg, json_string_value(ev), m);
			json_decref(m);
			continue;
		}
		ret = poll(&pfd, 1, remaining_ms(deadline));
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return ddvm_errf(err, -errno, "QMP %s: poll: %s", q->path, strerror(errno));
		if (ret == 0)
			return ddvm_errf(err, -ETIMEDOUT, "QMP %s: no answer to %s in time",
					 q->path, what);
		ret = fill(q, err);
		if (ret < 0)
			return ret;
	}
}

static int send_all(struct ddvm_qmp *q, const char *s, size_t n, long long deadline,
		    struct ddvm_err *err)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLOUT };
	ssize_t w;

	while (n) {
		w = send(q->fd, s, n, MSG_NOSIGNAL);
		if (w > 0) {
			s += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return ddvm_errf(err, errno == EPIPE ? -EPIPE : -errno, "QMP %s: send: %s",
					 q->path, strerror(errno));
		if (poll(&pfd, 1, remaining_ms(deadline)) == 0)
			return ddvm_errf(err, -ETIMEDOUT, "QMP %s: send timed out", q->path);
	}
	return 0;
}

static int execute_until(struct ddvm_qmp *q, const char *command, json_t *arguments,
			 long long deadline, json_t **result, struct ddvm_err *err)
{
	json_int_t id = q->next_id++;
	json_t *req, *reply = NULL, *rid, *e;
	char *text;
	int ret;

	if (arguments && !json_is_object(arguments))
		return ddvm_errf(err, -EINVAL, "QMP %s: arguments of %s must be an object",
				 q->path, command);
	req = json_pack("{s:s, s:I}", "execute", command, "id", id);
	if (!req)
		return ddvm_errf(err, -ENOMEM, "QMP %s: out of memory", q->path);
	if (arguments)
		json_object_set(req, "arguments", arguments);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return ddvm_errf(err, -ENOMEM, "QMP %s: out of memory", q->path);
	ret = send_all(q, text, strlen(text), deadline, err);
	if (!ret)
		ret = send_all(q, "\n", 1, deadline, err);
	free(text);
	if (ret)
		return ret;

	for (;;) {
		ret = next_reply(q, deadline, command, &reply, err);
		if (ret)
			return ret;
		rid = json_object_get(reply, "id");
		/* an answer to an earlier command that timed out: skip it */
		if (json_is_integer(rid) && json_integer_value(rid) == id)
			break;
		json_decref(reply);
	}

	e = json_object_get(reply, "error");
	if (e) {
		const char *desc = json_string_value(json_object_get(e, "desc"));
		const char *cls = json_string_value(json_object_get(e, "class"));

		ret = ddvm_errf(err, -EREMOTEIO, "QMP %s: %s failed: %s (%s)", q->path, command,
				desc ? desc : "(no description)", cls ? cls : "no class");
	} else if (!json_object_get(reply, "return")) {
		ret = ddvm_errf(err, -EPROTO, "QMP %s: answer to %s has neither return nor error",
				q->path, command);
	} else if (result) {
		*result = json_incref(json_object_get(reply, "return"));
	}
	json_decref(reply);
	return ret;
}

int ddvm_qmp_execute(struct ddvm_qmp *q, const char *command, json_t *arguments,
		     int timeout_ms, json_t **result, struct ddvm_err *err)
{
	return execute_until(q, command, arguments, now_ms() + timeout_ms, result, err);
}

/* Connect, retrying while QEMU has not created or is not yet accepting the socket. */
static int connect_until(struct ddvm_qmp *q, long long deadline, struct ddvm_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	memcpy(sa.sun_path, q->path, sizeof(q->path));
	for (;;) {
		/* non-blocking: a full backlog (QEMU hung) gives EAGAIN, not a hang */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return ddvm_errf(err, -errno, "QMP %s: socket: %s", q->path,
					 strerror(errno));
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			break;
		e = errno;
		close(fd);
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN && e != EINTR) ||
		    now_ms() >= deadline)
			return ddvm_errf(err, -e, "QMP %s: connect: %s", q->path, strerror(e));
		usleep(20 * 1000);
	}
	q->fd = fd;
	return 0;
}

int ddvm_qmp_connect(struct ddvm_qmp **out, const char *path, int timeout_ms,
		     struct ddvm_err *err)
{
	long long deadline = now_ms() + timeout_ms;
	struct ddvm_qmp *q;
	json_t *greeting = NULL;
	int ret;

	if (strlen(path) >= sizeof(q->path))
		return ddvm_errf(err, -ENAMETOOLONG, "QMP %s: socket path longer than %zu bytes",
				 path, sizeof(q->path) - 1);
	q = calloc(1, sizeof(*q));
	if (!q)
		return ddvm_errf(err, -ENOMEM, "QMP %s: out of memory", path);
	q->fd = -1;
	q->next_id = 1;
	memcpy(q->path, path, strlen(path) + 1);
	q->cap = 4096;
	q->buf = malloc(q->cap);
	if (!q->buf) {
		ret = ddvm_errf(err, -ENOMEM, "QMP %s: out of memory", path);
		goto out_free;
	}
	ret = connect_until(q, deadline, err);
	if (ret)
		goto out_free;
	ret = next_reply(q, deadline, "the connection (greeting)", &greeting, err);
	if (ret)
		goto out_free;
	if (!json_is_object(json_object_get(greeting, "QMP"))) {
		ret = ddvm_errf(err, -EPROTO, "QMP %s: the first message is not a QMP greeting",
				path);
		goto out_free;
	}
	ret = execute_until(q, "qmp_capabilities", NULL, deadline, NULL, err);
	if (ret)
		goto out_free;
	json_decref(greeting);
	*out = q;
	return 0;

out_free:
	json_decref(greeting);
	ddvm_qmp_close(q);
	return ret;
}

void ddvm_qmp_set_event_handler(struct ddvm_qmp *q, ddvm_qmp_event_fn *fn, void *arg)
{
	q->event_fn = fn;
	q->event_arg = arg;
}

int ddvm_qmp_fd(const struct ddvm_qmp *q)
{
	return q->fd;
}

int ddvm_qmp_dispatch(struct ddvm_qmp *q, struct ddvm_err *err)
{
	json_t *m;
	int ret;

	for (;;) {
		ret = take_message(q, &m, err);
		if (ret < 0)
			return ret;
		if (ret) {
			json_t *ev = json_object_get(m, "event");

			/* an answer nobody waits for any more is dropped */
			if (ev && json_is_string(ev) && q->event_fn)
				q->event_fn(q->event_arg, json_string_value(ev), m);
			json_decref(m);
			continue;
		}
		ret = fill(q, err);
		if (ret <= 0)
			return ret;
	}
}

void ddvm_qmp_close(struct ddvm_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}
