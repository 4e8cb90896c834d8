/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small QMP client: the supervisor's way to ask a DD/OS's QEMU to quit
 * and to hear its events (GUEST_PANICKED, SHUTDOWN, ...).  QEMU is treated
 * as an untrusted peer: lines are capped, non-JSON is rejected, and every
 * wait has a deadline.
 */
#ifndef DDVM_QMP_H
#define DDVM_QMP_H

#include <jansson.h>

#include "err.h"

/* query-qmp-schema is ~200 KiB on one line; anything far beyond is broken */
#define DDVM_QMP_LINE_MAX	(1 << 20)

struct ddvm_qmp;

/*
 * Called for every event QMP sends, with the event name and the whole
 * message ({"event": ..., "data": ..., "timestamp": ...}), which is only
 * valid during the call.
 */
typedef void ddvm_qmp_event_fn(void *arg, const char *event, json_t *msg);

/**
 * ddvm_qmp_connect - connect to QEMU's QMP socket, read the greeting and
 *	negotiate capabilities.
 * @out:        the new connection
 * @path:       the unix socket (QEMU's -qmp unix:PATH,server=on)
 * @timeout_ms: the bound for the whole exchange; the socket may appear
 *		during it (QEMU creates it shortly after starting)
 * @err:        names @path and what failed
 *
 * Return: 0, -ETIMEDOUT, -ENOENT/-ECONNREFUSED (no QEMU listening when
 * the time ran out), -EPROTO (not QMP), or another -errno.
 */
int ddvm_qmp_connect(struct ddvm_qmp **out, const char *path, int timeout_ms,
		     struct ddvm_err *err);

/**
 * ddvm_qmp_set_event_handler - route events to @fn (NULL drops them).
 * @q:   the connection
 * @fn:  the handler
 * @arg: passed to @fn
 */
void ddvm_qmp_set_event_handler(struct ddvm_qmp *q, ddvm_qmp_event_fn *fn, void *arg);

/**
 * ddvm_qmp_execute - run one QMP command and wait for its answer.
 * @q:          the connection
 * @command:    e.g. "query-status"
 * @arguments:  an object of arguments, or NULL; borrowed
 * @timeout_ms: how long to wait for the answer
 * @result:     if not NULL, set to the "return" value (a new reference the
 *		caller must json_decref)
 * @err:        on a QMP error, QMP's "desc" and "class"
 *
 * Events arriving before the answer go to the event handler.
 *
 * Return: 0, -EREMOTEIO when QEMU answered with an error, -ETIMEDOUT,
 * -EPIPE when QEMU closed the connection, -EPROTO/-EMSGSIZE for a
 * malformed or oversized message.
 */
int ddvm_qmp_execute(struct ddvm_qmp *q, const char *command, json_t *arguments,
		     int timeout_ms, json_t **result, struct ddvm_err *err);

/**
 * ddvm_qmp_fd - the socket, for an event loop to wait on.
 * @q: the connection
 */
int ddvm_qmp_fd(const struct ddvm_qmp *q);

/**
 * ddvm_qmp_dispatch - read what is available without blocking and pass
 *	events to the handler; for an event loop when ddvm_qmp_fd() is
 *	readable.
 * @q:   the connection
 * @err: what failed
 *
 * Return: 0, -EPIPE when QEMU closed the connection (it is exiting), or
 * -EPROTO/-EMSGSIZE for a malformed message.
 */
int ddvm_qmp_dispatch(struct ddvm_qmp *q, struct ddvm_err *err);

/**
 * ddvm_qmp_close - close the connection and free it; NULL is allowed.
 * @q: the connection
 */
void ddvm_qmp_close(struct ddvm_qmp *q);

#endif /* DDVM_QMP_H */
