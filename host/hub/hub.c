// SPDX-License-Identifier: GPL-2.0
/* The hub's core: channels, peers and the epoll loop that connects them (see hub.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hub.h"
#include "ivshmem_proto.h"

/* A peer that does not read for this long is dropped, so it cannot wedge us. */
#define PEER_SEND_TIMEOUT_S	1
#define LISTEN_BACKLOG		16

enum hub_kind { HUB_STOP, HUB_LISTEN, HUB_PEER };

/* What an epoll event points at: the first member of channel and peer. */
struct hub_watch {
	enum hub_kind kind;
};

struct hub_peer {
	struct hub_watch w;
	struct hub_channel *ch;
	struct hub_peer *next;		/* channel's list, sorted by id */
	int sock;
	unsigned int id;
	uint64_t joined;		/* channel event count when it joined */
	bool dead;			/* to be dropped by channel_reap() */
	char why[128];			/* why it is dead, for the log */
	int eventfds[];			/* hub->vectors of them; the peer's doorbells */
};

struct hub_channel {
	struct hub_watch w;
	struct ddvm_hub *hub;
	char name[DDVM_HUB_NAME_MAX + 1];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool bound;			/* path is ours to unlink */
	int listen_fd;
	int shm_fd;
	uint64_t size;
	struct hub_peer *peers;
	unsigned int nr_peers;
	uint64_t events;		/* joins and departures so far */
	uint64_t *left_at;		/* per id: event count when its last holder left, 0 never */
	unsigned int nr_left_at;
	unsigned int id_hint;		/* no id below it can be handed out */
};

struct ddvm_hub {
	int epfd;
	unsigned int max_peers;
	unsigned int vectors;
	unsigned int nr_channels;
	struct hub_watch stop_w;
	struct hub_channel *channels;
};

void ddvm_hub_log(const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t len;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	len = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + len, sizeof(line) - len, ".%03ld ddvm hub: ",
		     ts.tv_nsec / 1000000);
	len += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	len += n < 0 ? 0 : (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	/* one write per line, so lines from several processes never interleave */
	if (write(STDERR_FILENO, line, len) < 0)
		return;
}

/* ---------------------------------------------------------------- peers */

static void peer_mark_dead(struct hub_peer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void peer_mark_dead(struct hub_peer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->dead)
		return;
	p->dead = true;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
}

/* Send to @p, or mark it dead: every send is checked, a failure drops the peer. */
static void peer_send(struct hub_peer *p, int64_t value, int fd)
{
	int ret;

	if (p->dead)
		return;
	ret = ddvm_ivshmem_send(p->sock, value, fd);
	if (ret == -EAGAIN)
		peer_mark_dead(p, "send failed: peer did not read for %d s",
			       PEER_SEND_TIMEOUT_S);
	else if (ret)
		peer_mark_dead(p, "send failed: %s", strerror(-ret));
}

static void peer_free(struct ddvm_hub *hub, struct hub_peer *p)
{
	unsigned int v;

	epoll_ctl(hub->epfd, EPOLL_CTL_DEL, p->sock, NULL);
	close(p->sock);
	for (v = 0; v < hub->vectors; v++)
		if (p->eventfds[v] >= 0)
			close(p->eventfds[v]);
	free(p);
}

/*
 * Drop every dead peer and tell the others it left.  Telling them can kill
 * more peers, hence the loop instead of recursion.
 */
static void channel_reap(struct hub_channel *ch)
{
	struct hub_peer **pp, *p, *o;
	bool oldest;

	for (;;) {
		for (pp = &ch->peers; *pp && !(*pp)->dead; pp = &(*pp)->next)
			;
		p = *pp;
		if (!p)
			return;
		*pp = p->next;
		ch->nr_peers--;
		ddvm_hub_log("channel %s: peer %u disconnected: %s (%u peers left)",
			     ch->name, p->id, p->why, ch->nr_peers);
		ch->events++;
		if (p->id < ch->nr_left_at)
			ch->left_at[p->id] = ch->events;
		/*
		 * Everyone still here sees p->id leave, so it stays unusable.
		 * If p was the oldest, ids only it had seen leave become usable
		 * again: channel_free_id() must scan from 0 once more.
		 */
		oldest = true;
		for (o = ch->peers; o; o = o->next)
			if (o->joined < p->joined)
				oldest = false;
		if (oldest)
			ch->id_hint = 0;
		for (o = ch->peers; o; o = o->next)
			peer_send(o, p->id, -1);
		peer_free(ch->hub, p);
	}
}

/*
 * Why a peer's socket is readable: peers never send, so it is a hang-up or
 * a misbehaving peer; either way it goes.
 */
static void peer_check(struct hub_peer *p, const char *when)
{
	char c;
	ssize_t n;

	n = recv(p->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0)
		peer_mark_dead(p, "socket error: %s%s", strerror(errno), when);
	else if (n == 0)
		peer_mark_dead(p, "hung up%s", when);
	else
		peer_mark_dead(p, "sent data, which peers never do%s", when);
}

static void peer_event(struct hub_peer *p)
{
	peer_check(p, "");
	channel_reap(p->ch);
}

/*
 * A restarted DD/OS may connect before we have seen its predecessor hang
 * up.  Before refusing a peer for a full channel, look for the hang-ups
 * that are already queued.
 */
static void channel_reap_hung(struct hub_channel *ch)
{
	struct hub_peer *p;

	for (p = ch->peers; p; p = p->next) {
		struct pollfd pfd = { .fd = p->sock, .events = POLLIN | POLLRDHUP };

		if (poll(&pfd, 1, 0) > 0)
			peer_check(p, " (found while accepting a new peer)");
	}
	channel_reap(ch);
}

/*
 * The smallest id that no peer of @ch has and that no connected peer has
 * seen leave.  The second rule is QEMU's: its ivshmem device (7.2) frees a
 * departed peer's eventfd array in close_peer_eventfds() but keeps the
 * dangling pointer (resize_peers() only allocates for new ids), and writes
 * through it when that id connects again -- a use-after-free that crashed
 * QEMU here with "double free or corruption".  An id is safe once every
 * connected peer joined after its last holder left.  The price: while one
 * peer stays, every departure uses up an id, and after 65535 of them new
 * peers are refused until it goes.  The list is sorted by id; the scan
 * starts at ch->id_hint, which keeps that churn from costing 65535 steps per
 * join.
 *
 * Return: 0 with *@out and *@link (where to insert) set; -ENOSPC if no id
 * is safe; -ENOMEM.
 */
static int channel_free_id(struct hub_channel *ch, struct hub_peer ***link, unsigned int *out)
{
	uint64_t oldest = UINT64_MAX, *grown;
	struct hub_peer **pp = &ch->peers, *p;
	unsigned int id, n;

	for (p = ch->peers; p; p = p->next)
		if (p->joined < oldest)
			oldest = p->joined;
	for (id = ch->id_hint; id <= DDVM_IVSHMEM_MAX_ID; id++) {
		while (*pp && (*pp)->id < id)
			pp = &(*pp)->next;
		if (*pp && (*pp)->id == id)
			continue;			/* in use */
		if (id < ch->nr_left_at && ch->left_at[id] && ch->left_at[id] >= oldest)
			continue;			/* a connected peer saw it leave */
		break;
	}
	if (id > DDVM_IVSHMEM_MAX_ID)
		return -ENOSPC;
	/* grown here, not on departure, so that recording one never fails */
	if (id >= ch->nr_left_at) {
		n = ch->nr_left_at ? ch->nr_left_at * 2 : 16;
		while (n <= id)
			n *= 2;
		grown = realloc(ch->left_at, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + ch->nr_left_at, 0, (n - ch->nr_left_at) * sizeof(*grown));
		ch->left_at = grown;
		ch->nr_left_at = n;
	}
	*link = pp;
	*out = id;
	return 0;
}

static struct hub_peer *peer_new(struct hub_channel *ch, int sock, unsigned int id)
{
	struct ddvm_hub *hub = ch->hub;
	struct hub_peer *p;
	unsigned int v;

	p = calloc(1, sizeof(*p) + hub->vectors * sizeof(int));
	if (!p) {
		ddvm_hub_log("channel %s: new peer %u: out of memory", ch->name, id);
		return NULL;
	}
	p->w.kind = HUB_PEER;
	p->ch = ch;
	p->sock = sock;
	p->id = id;
	for (v = 0; v < hub->vectors; v++)
		p->eventfds[v] = -1;
	for (v = 0; v < hub->vectors; v++) {
		/* QEMU sets O_NONBLOCK on these itself; do it for every peer */
		p->eventfds[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (p->eventfds[v] < 0) {
			ddvm_hub_log("channel %s: new peer %u: eventfd: %s", ch->name, id,
				     strerror(errno));
			goto out_free;
		}
	}
	return p;

out_free:
	for (v = 0; v < hub->vectors; v++)
		if (p->eventfds[v] >= 0)
			close(p->eventfds[v]);
	free(p);
	return NULL;
}

/*
 * Refuse a peer in a way QEMU reports cleanly (see DDVM_IVSHMEM_REFUSE_FULL).
 * @why ends the log line "channel NAME: WHY, refusing a new peer".
 */
static void channel_refuse(struct hub_channel *ch, int sock, const char *why)
{
	ddvm_hub_log("channel %s: %s, refusing a new peer", ch->name, why);
	ddvm_ivshmem_send(sock, DDVM_IVSHMEM_REFUSE_FULL, -1);
	close(sock);
}

static void channel_accept(struct hub_channel *ch)
{
	struct ddvm_hub *hub = ch->hub;
	struct timeval tmo = { .tv_sec = PEER_SEND_TIMEOUT_S };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct hub_peer *p, *o, **link;
	unsigned int v, id;
	char why[64];
	int sock, ret;

	sock = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (sock < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return;
		ddvm_hub_log("channel %s: accept: %s", ch->name, strerror(errno));
		/* out of fds or memory: do not spin on a listener that stays ready */
		usleep(100 * 1000);
		return;
	}
	if (setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo))) {
		ddvm_hub_log("channel %s: SO_SNDTIMEO: %s, refusing a new peer", ch->name,
			     strerror(errno));
		close(sock);
		return;
	}
	if (ch->nr_peers >= hub->max_peers)
		channel_reap_hung(ch);
	if (ch->nr_peers >= hub->max_peers) {
		snprintf(why, sizeof(why), "full (%u peers)", ch->nr_peers);
		channel_refuse(ch, sock, why);
		return;
	}
	ret = channel_free_id(ch, &link, &id);
	if (ret == -ENOSPC) {
		/* the peer that saw those ids leave may itself be gone already */
		channel_reap_hung(ch);
		ret = channel_free_id(ch, &link, &id);
	}
	if (ret == -ENOSPC) {
		/* every id is taken or was seen leaving by a connected peer */
		channel_refuse(ch, sock, "no peer id left that the connected peers can take");
		return;
	}
	if (ret) {
		channel_refuse(ch, sock, "out of memory");
		return;
	}
	p = peer_new(ch, sock, id);
	if (!p) {
		close(sock);
		return;
	}

	/* its id and the region, then the others' doorbells */
	peer_send(p, DDVM_IVSHMEM_VERSION, -1);
	peer_send(p, id, -1);
	peer_send(p, DDVM_IVSHMEM_SHM_MSG, ch->shm_fd);
	for (o = ch->peers; o; o = o->next)
		for (v = 0; v < hub->vectors; v++)
			peer_send(p, o->id, o->eventfds[v]);
	if (p->dead) {
		ddvm_hub_log("channel %s: new peer %u: %s, dropped before joining",
			     ch->name, id, p->why);
		peer_free(hub, p);
		return;
	}
	ev.data.ptr = &p->w;
	if (epoll_ctl(hub->epfd, EPOLL_CTL_ADD, sock, &ev)) {
		ddvm_hub_log("channel %s: new peer %u: epoll: %s, dropped before joining",
			     ch->name, id, strerror(errno));
		peer_free(hub, p);
		return;
	}
	p->next = *link;
	*link = p;
	ch->nr_peers++;
	p->joined = ++ch->events;
	/* the ids below were taken or seen leaving; only a departure changes that */
	ch->id_hint = id + 1;
	ddvm_hub_log("channel %s: peer %u connected (%u of %u peers)", ch->name, id,
		     ch->nr_peers, hub->max_peers);

	/* tell the others, then give it its own doorbells, as QEMU expects */
	for (o = ch->peers; o; o = o->next)
		if (o != p)
			for (v = 0; v < hub->vectors; v++)
				peer_send(o, id, p->eventfds[v]);
	for (v = 0; v < hub->vectors; v++)
		peer_send(p, id, p->eventfds[v]);
	channel_reap(ch);
}

/* ---------------------------------------------------------------- setup */

/*
 * A socket file already at @path: replace it if nobody answers on it (a hub
 * that died), refuse if a live hub does, never delete anything else.
 */
static int remove_stale_socket(const struct sockaddr_un *sun, struct ddvm_err *err)
{
	struct stat st;
	int fd, ret;

	if (lstat(sun->sun_path, &st)) {
		if (errno == ENOENT)
			return 0;
		return ddvm_errf(err, -errno, "%s: %s", sun->sun_path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return ddvm_errf(err, -EEXIST, "%s exists and is not a socket; not replacing it",
				 sun->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ddvm_errf(err, -errno, "socket: %s", strerror(errno));
	ret = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (!ret)
		return ddvm_errf(err, -EADDRINUSE, "%s: another hub is listening on it",
				 sun->sun_path);
	if (unlink(sun->sun_path) && errno != ENOENT)
		return ddvm_errf(err, -errno, "cannot remove stale socket %s: %s",
				 sun->sun_path, strerror(errno));
	return 0;
}

/*
 * Take over a region someone else made (the supervisor, which keeps a
 * read-only view for status).  Peers get this fd, so it must be what the
 * hub would have made: a memfd of exactly the channel's size that nobody
 * can resize and nobody has made read-only.
 */
static int channel_adopt_region(struct hub_channel *ch, int fd, struct ddvm_err *err)
{
	const int need = F_SEAL_SHRINK | F_SEAL_GROW;
	struct stat st;
	int seals;

	if (fstat(fd, &st))
		return ddvm_errf(err, -errno, "channel %s: region fd %d: %s", ch->name, fd,
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return ddvm_errf(err, -EINVAL, "channel %s: region fd %d is not a memfd", ch->name,
				 fd);
	if ((uint64_t)st.st_size != ch->size)
		return ddvm_errf(err, -EINVAL,
				 "channel %s: region fd %d has %lld bytes, the channel %llu",
				 ch->name, fd, (long long)st.st_size, (unsigned long long)ch->size);
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return ddvm_errf(err, -EINVAL, "channel %s: region fd %d is not a memfd (%s)",
				 ch->name, fd, strerror(errno));
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE))
		return ddvm_errf(err, -EINVAL, "channel %s: region fd %d is sealed read-only",
				 ch->name, fd);
	if ((seals & need) != need &&
	    fcntl(fd, F_ADD_SEALS, need | F_SEAL_SEAL))
		return ddvm_errf(err, -EINVAL, "channel %s: region fd %d can be resized and "
				 "cannot be sealed: %s", ch->name, fd, strerror(errno));
	ch->shm_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (ch->shm_fd < 0)
		return ddvm_errf(err, -errno, "channel %s: dup region fd %d: %s", ch->name, fd,
				 strerror(errno));
	return 0;
}

/* Two channels on one region would let their clients see each other. */
static int check_distinct_regions(struct ddvm_hub *hub, unsigned int n, struct ddvm_err *err)
{
	struct hub_channel *ch = &hub->channels[n];
	struct stat a, b;
	unsigned int i;

	if (fstat(ch->shm_fd, &a))
		return ddvm_errf(err, -errno, "channel %s: fstat: %s", ch->name, strerror(errno));
	for (i = 0; i < n; i++) {
		if (fstat(hub->channels[i].shm_fd, &b))
			return ddvm_errf(err, -errno, "channel %s: fstat: %s",
					 hub->channels[i].name, strerror(errno));
		if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return ddvm_errf(err, -EINVAL, "channel %s: its region is also channel %s's",
					 ch->name, hub->channels[i].name);
	}
	return 0;
}

static int channel_make_region(struct hub_channel *ch, struct ddvm_err *err)
{
	char memname[DDVM_HUB_NAME_MAX + 8];

	snprintf(memname, sizeof(memname), "ddvm:%s", ch->name);
	ch->shm_fd = memfd_create(memname, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ch->shm_fd < 0)
		return ddvm_errf(err, -errno, "channel %s: memfd_create: %s", ch->name,
				 strerror(errno));
	if (ftruncate(ch->shm_fd, (off_t)ch->size))
		return ddvm_errf(err, -errno, "channel %s: cannot size region to %llu bytes: %s",
				 ch->name, (unsigned long long)ch->size, strerror(errno));
	/*
	 * Peers get this fd: none may resize the region under the others, and
	 * none may add F_SEAL_WRITE and make it read-only for later peers.
	 */
	if (fcntl(ch->shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return ddvm_errf(err, -errno, "channel %s: cannot seal region: %s", ch->name,
				 strerror(errno));
	return 0;
}

static int channel_listen(struct hub_channel *ch, const char *sockdir, struct ddvm_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int n, ret;

	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", sockdir, ch->name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return ddvm_errf(err, -ENAMETOOLONG,
				 "socket path %s/%s.sock is too long (%d bytes, a unix socket path has at most %zu)",
				 sockdir, ch->name, n, sizeof(sun.sun_path) - 1);
	memcpy(ch->path, sun.sun_path, sizeof(ch->path));
	ret = remove_stale_socket(&sun, err);
	if (ret)
		return ret;
	ch->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ch->listen_fd < 0)
		return ddvm_errf(err, -errno, "socket: %s", strerror(errno));
	if (bind(ch->listen_fd, (struct sockaddr *)&sun, sizeof(sun)))
		return ddvm_errf(err, -errno, "cannot create socket %s: %s", ch->path,
				 strerror(errno));
	ch->bound = true;
	if (listen(ch->listen_fd, LISTEN_BACKLOG))
		return ddvm_errf(err, -errno, "cannot listen on %s: %s", ch->path,
				 strerror(errno));
	ev.data.ptr = &ch->w;
	if (epoll_ctl(ch->hub->epfd, EPOLL_CTL_ADD, ch->listen_fd, &ev))
		return ddvm_errf(err, -errno, "epoll: %s", strerror(errno));
	return 0;
}

static int check_config(const struct ddvm_hub_config *cfg, struct ddvm_err *err)
{
	unsigned int i, j;

	if (!cfg->nr_channels)
		return ddvm_errf(err, -EINVAL, "no channels given");
	if (cfg->max_peers < 1 || cfg->max_peers > DDVM_HUB_MAX_PEERS)
		return ddvm_errf(err, -EINVAL, "max-peers %u is not in 1..%u", cfg->max_peers,
				 DDVM_HUB_MAX_PEERS);
	if (cfg->vectors < 1 || cfg->vectors > DDVM_IVSHMEM_MAX_VECTORS)
		return ddvm_errf(err, -EINVAL, "vectors %u is not in 1..%u", cfg->vectors,
				 DDVM_IVSHMEM_MAX_VECTORS);
	for (i = 0; i < cfg->nr_channels; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->channels[i].name, cfg->channels[j].name))
				return ddvm_errf(err, -EINVAL, "channel %s is given twice",
						 cfg->channels[i].name);
	return 0;
}

int ddvm_hub_create(const struct ddvm_hub_config *cfg, struct ddvm_hub **out,
		    struct ddvm_err *err)
{
	struct ddvm_hub *hub;
	unsigned int i;
	int ret;

	ret = check_config(cfg, err);
	if (ret)
		return ret;
	hub = calloc(1, sizeof(*hub));
	if (!hub)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	hub->channels = calloc(cfg->nr_channels, sizeof(*hub->channels));
	if (!hub->channels) {
		free(hub);
		return ddvm_errf(err, -ENOMEM, "out of memory");
	}
	hub->max_peers = cfg->max_peers;
	hub->vectors = cfg->vectors;
	hub->stop_w.kind = HUB_STOP;
	hub->epfd = -1;
	hub->nr_channels = cfg->nr_channels;
	for (i = 0; i < cfg->nr_channels; i++) {
		struct hub_channel *ch = &hub->channels[i];

		ch->w.kind = HUB_LISTEN;
		ch->hub = hub;
		ch->listen_fd = -1;
		ch->shm_fd = -1;
		ch->size = cfg->channels[i].size;
		snprintf(ch->name, sizeof(ch->name), "%s", cfg->channels[i].name);
	}
	hub->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (hub->epfd < 0) {
		ret = ddvm_errf(err, -errno, "epoll_create1: %s", strerror(errno));
		goto out_destroy;
	}
	for (i = 0; i < hub->nr_channels; i++) {
		if (cfg->channels[i].inherited) {
			ret = channel_adopt_region(&hub->channels[i], cfg->channels[i].fd, err);
			if (!ret)
				ret = check_distinct_regions(hub, i, err);
		} else {
			ret = channel_make_region(&hub->channels[i], err);
		}
		if (ret)
			goto out_destroy;
		ret = channel_listen(&hub->channels[i], cfg->sockdir, err);
		if (ret)
			goto out_destroy;
	}
	*out = hub;
	return 0;

out_destroy:
	ddvm_hub_destroy(hub);
	return ret;
}

int ddvm_hub_run(struct ddvm_hub *hub, int stop_fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &hub->stop_w };
	int ret = 0;

	if (stop_fd >= 0 && epoll_ctl(hub->epfd, EPOLL_CTL_ADD, stop_fd, &ev)) {
		ret = -errno;
		ddvm_hub_log("epoll: %s", strerror(errno));
		return ret;
	}
	for (;;) {
		struct hub_watch *w;
		int n;

		/*
		 * One event at a time: handling one can free the peer another
		 * event of the same batch points at.
		 */
		n = epoll_wait(hub->epfd, &ev, 1, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			ddvm_hub_log("epoll_wait: %s", strerror(errno));
			break;
		}
		if (!n)
			continue;
		w = ev.data.ptr;
		if (w->kind == HUB_STOP)
			break;
		if (w->kind == HUB_LISTEN)
			channel_accept((struct hub_channel *)w);
		else
			peer_event((struct hub_peer *)w);
	}
	if (stop_fd >= 0)
		epoll_ctl(hub->epfd, EPOLL_CTL_DEL, stop_fd, NULL);
	return ret;
}

void ddvm_hub_destroy(struct ddvm_hub *hub)
{
	unsigned int i;

	if (!hub)
		return;
	for (i = 0; i < hub->nr_channels; i++) {
		struct hub_channel *ch = &hub->channels[i];

		while (ch->peers) {
			struct hub_peer *p = ch->peers;

			ch->peers = p->next;
			peer_free(hub, p);
		}
		if (ch->listen_fd >= 0)
			close(ch->listen_fd);
		if (ch->bound)
			unlink(ch->path);
		if (ch->shm_fd >= 0)
			close(ch->shm_fd);
		free(ch->left_at);
	}
	if (hub->epfd >= 0)
		close(hub->epfd);
	free(hub->channels);
	free(hub);
}
