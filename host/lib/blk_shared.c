// SPDX-License-Identifier: GPL-2.0
/* One block channel shared by many threads: an engine thread owns it (see blk_shared.h). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blk_shared.h"

/* a discard or zeroing piece: big ones are the device's to split, this only bounds a piece */
#define SHARED_NODATA_PIECE_MAX	(1u << 30)

/* A caller's request; lives on the caller's stack until done is set. */
struct shared_req {
	uint16_t op;
	uint16_t flags;
	uint8_t *buf;
	uint64_t len;
	uint64_t offset;
	struct shared_req *next;	/* incoming or pending list */
	/* engine thread only */
	uint64_t pos;			/* bytes handed to the channel */
	uint32_t out;			/* pieces in flight */
	bool queued;			/* on the pending list: pieces left to submit */
	bool flush_sent;		/* FLUSH: its one piece went out */
	bool flush_next;		/* FUA discard/zeroing: a flush follows */
	int status;			/* first error */
	sem_t done;			/* posted by the engine when status is final */
};

struct req_list {
	struct shared_req *head;
	struct shared_req **tail;
};

struct ddvm_blk_shared {
	struct ddvm_blk *blk;
	pthread_t thread;
	int wake_fd;			/* eventfd: a request came, or stop */
	pthread_mutex_t lock;		/* incoming, stopping, dead, stats */
	struct req_list incoming;
	bool stopping;
	int dead;			/* -errno once the channel is unusable */
	struct ddvm_blk_stats stats;
	/* engine thread only */
	struct req_list pending;	/* requests with pieces left to submit, in order */
	uint32_t depth;
	struct ddvm_blk_io *ios;
	struct ddvm_blk_io **free_ios;
	uint32_t nr_free;
	struct ddvm_blk_io **reaped;
};

static void list_init(struct req_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void list_append(struct req_list *l, struct shared_req *r)
{
	r->next = NULL;
	*l->tail = r;
	l->tail = &r->next;
}

static struct shared_req *list_pop(struct req_list *l)
{
	struct shared_req *r = l->head;

	if (r) {
		l->head = r->next;
		if (!l->head)
			l->tail = &l->head;
	}
	return r;
}

static void list_splice(struct req_list *to, struct req_list *from)
{
	if (!from->head)
		return;
	*to->tail = from->head;
	to->tail = from->tail;
	list_init(from);
}

static bool data_op(uint16_t op)
{
	return op == DDVM_BLK_READ || op == DDVM_BLK_WRITE;
}

static bool has_more(const struct shared_req *r)
{
	return r->op == DDVM_BLK_FLUSH ? !r->flush_sent : r->pos < r->len;
}

static void wake_engine(struct ddvm_blk_shared *s)
{
	uint64_t one = 1;

	/* an eventfd write fails only on overflow, and then the engine is awake anyway */
	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		return;
}

/* The caller's own semaphore: completions contend on no shared lock. */
static void complete(struct ddvm_blk_shared *s, struct shared_req *r, int status)
{
	r->status = status;
	sem_post(&r->done);
}

static void publish_stats(struct ddvm_blk_shared *s)
{
	pthread_mutex_lock(&s->lock);
	ddvm_blk_get_stats(s->blk, &s->stats);
	pthread_mutex_unlock(&s->lock);
}

/* @r has nothing left to submit and nothing in flight: finish it, or flush for its FUA. */
static void settle(struct ddvm_blk_shared *s, struct shared_req *r)
{
	if (!r->status && r->flush_next) {
		r->flush_next = false;
		r->op = DDVM_BLK_FLUSH;
		r->queued = true;
		list_append(&s->pending, r);
		return;
	}
	complete(s, r, r->status);
}

/* Move what callers queued onto the pending list.  Return: stop now? */
static bool take_incoming(struct ddvm_blk_shared *s)
{
	struct shared_req *r;
	struct req_list in;
	uint64_t v;
	bool stop;

	/* drain before taking: a request queued after this wakes the next wait */
	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return true;
	pthread_mutex_lock(&s->lock);
	in = s->incoming;
	if (!in.head)
		in.tail = &in.head;
	list_init(&s->incoming);
	stop = s->stopping;
	pthread_mutex_unlock(&s->lock);
	while ((r = list_pop(&in))) {
		r->queued = true;
		list_append(&s->pending, r);
	}
	return stop;
}

/* Hand pieces of the pending requests to the channel while io structs last.  Return: how many. */
static unsigned int submit_pieces(struct ddvm_blk_shared *s)
{
	unsigned int n = 0;
	struct shared_req *r;
	struct ddvm_blk_io *io;
	uint64_t piece;
	int ret;

	while ((r = s->pending.head) && s->nr_free) {
		if (r->status || !has_more(r)) {
			list_pop(&s->pending);
			r->queued = false;
			if (!r->out)
				settle(s, r);
			continue;
		}
		piece = r->len - r->pos;
		if (data_op(r->op) && piece > ddvm_blk_max_io(s->blk))
			piece = ddvm_blk_max_io(s->blk);
		else if (piece > SHARED_NODATA_PIECE_MAX)
			piece = SHARED_NODATA_PIECE_MAX;
		io = s->free_ios[--s->nr_free];
		io->op = r->op;
		io->flags = r->op == DDVM_BLK_WRITE ? r->flags & DDVM_BLK_REQ_FUA : 0;
		io->offset = r->offset + r->pos;
		io->len = (uint32_t)piece;
		io->buf = data_op(r->op) ? r->buf + r->pos : NULL;
		io->priv = r;
		ret = ddvm_blk_submit(s->blk, io);
		if (ret) {
			io->priv = NULL;
			s->free_ios[s->nr_free++] = io;
			r->status = ret;
			continue;	/* popped above on the next pass */
		}
		r->out++;
		r->pos += piece;
		if (r->op == DDVM_BLK_FLUSH)
			r->flush_sent = true;
		n++;
	}
	return n;
}

static void piece_done(struct ddvm_blk_shared *s, struct ddvm_blk_io *io)
{
	struct shared_req *r = io->priv;

	io->priv = NULL;	/* fail_all() looks for requests in flight by it */
	s->free_ios[s->nr_free++] = io;
	r->out--;
	if (io->status && !r->status)
		r->status = io->status;
	if (!r->out && !r->queued)
		settle(s, r);
}

/* Complete every request the engine holds with @status: it is stopping. */
static void fail_all(struct ddvm_blk_shared *s, int status)
{
	struct shared_req *r;
	uint32_t i, j;

	/* in flight: the io structs name them, a request once per piece */
	for (i = 0; i < s->depth; i++) {
		r = s->ios[i].priv;
		if (!r)
			continue;
		for (j = i; j < s->depth; j++)
			if (s->ios[j].priv == r)
				s->ios[j].priv = NULL;
		if (!r->queued)		/* else the pending list has it */
			complete(s, r, status);
	}
	while ((r = list_pop(&s->pending)))
		complete(s, r, status);
}

static void *engine_main(void *arg)
{
	struct ddvm_blk_shared *s = arg;
	int got, i, status = -ESHUTDOWN;

	for (;;) {
		if (take_incoming(s))
			break;
		if (submit_pieces(s))
			publish_stats(s);
		/* returns early when a caller queues more (the wake fd) */
		got = ddvm_blk_reap(s->blk, s->reaped, (int)s->depth, -1);
		if (got < 0) {
			status = got;
			break;
		}
		if (got)
			publish_stats(s);	/* before the callers wake: they see theirs counted */
		for (i = 0; i < got; i++)
			piece_done(s, s->reaped[i]);
	}
	pthread_mutex_lock(&s->lock);
	s->dead = status;
	list_splice(&s->pending, &s->incoming);
	ddvm_blk_get_stats(s->blk, &s->stats);
	pthread_mutex_unlock(&s->lock);
	fail_all(s, status);
	return NULL;
}

int ddvm_blk_shared_io(struct ddvm_blk_shared *s, uint16_t op, uint16_t flags, void *buf,
		       uint64_t len, uint64_t offset)
{
	struct shared_req r = {
		.op = op, .flags = flags, .buf = buf, .len = op == DDVM_BLK_FLUSH ? 0 : len,
		.offset = offset,
		.flush_next = (flags & DDVM_BLK_REQ_FUA) &&
			      (op == DDVM_BLK_DISCARD || op == DDVM_BLK_WRITE_ZEROES),
	};
	bool was_empty;
	int ret;

	if (op > DDVM_BLK_WRITE_ZEROES || (data_op(op) && len && !buf))
		return -EINVAL;
	sem_init(&r.done, 0, 0);
	pthread_mutex_lock(&s->lock);
	ret = s->dead;
	was_empty = !s->incoming.head;
	if (!ret)
		list_append(&s->incoming, &r);
	pthread_mutex_unlock(&s->lock);
	if (ret)
		goto out;
	/*
	 * The engine drains the wake fd, then takes the whole list: with
	 * requests already on it a wake-up is on its way.
	 */
	if (was_empty)
		wake_engine(s);
	while (sem_wait(&r.done))
		;	/* EINTR */
	ret = r.status;
out:
	sem_destroy(&r.done);
	return ret;
}

void ddvm_blk_shared_get_stats(struct ddvm_blk_shared *s, struct ddvm_blk_stats *st)
{
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->lock);
}

static void shared_free(struct ddvm_blk_shared *s)
{
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->ios);
	free(s->free_ios);
	free(s->reaped);
	free(s);
}

int ddvm_blk_shared_start(struct ddvm_blk *blk, struct ddvm_blk_shared **out)
{
	struct ddvm_blk_shared *s;
	uint32_t i;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->blk = blk;
	s->depth = ddvm_blk_depth(blk);
	pthread_mutex_init(&s->lock, NULL);
	list_init(&s->incoming);
	list_init(&s->pending);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->ios = calloc(s->depth, sizeof(*s->ios));
	s->free_ios = calloc(s->depth, sizeof(*s->free_ios));
	s->reaped = calloc(s->depth, sizeof(*s->reaped));
	if (s->wake_fd < 0 || !s->ios || !s->free_ios || !s->reaped) {
		ret = s->wake_fd < 0 ? -errno : -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < s->depth; i++)
		s->free_ios[s->nr_free++] = &s->ios[i];
	ddvm_blk_get_stats(blk, &s->stats);
	ddvm_blk_set_wake_fd(blk, s->wake_fd);
	ret = -pthread_create(&s->thread, NULL, engine_main, s);
	if (ret) {
		ddvm_blk_set_wake_fd(blk, -1);
		goto out_free;
	}
	*out = s;
	return 0;

out_free:
	shared_free(s);
	return ret;
}

void ddvm_blk_shared_stop(struct ddvm_blk_shared *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_mutex_unlock(&s->lock);
	wake_engine(s);
	pthread_join(s->thread, NULL);
	ddvm_blk_set_wake_fd(s->blk, -1);
	shared_free(s);
}
