// SPDX-License-Identifier: GPL-2.0
/* A host program as a channel peer: hub setup, peer table, doorbells (see peer.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ivshmem_proto.h"
#include "peer.h"

/* Enough to keep up with any honest hub, few enough not to starve the caller. */
#define PROCESS_BATCH	256

struct peer_entry {
	unsigned int id;
	unsigned int nfds;			/* doorbells received so far */
	int fds[DDVM_IVSHMEM_MAX_VECTORS];	/* the peer's eventfds, by vector */
};

struct ddvm_peer {
	int sock;				/* -1 once the hub has gone */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned int id;
	unsigned int vectors;
	void *region;
	size_t size;
	struct peer_entry self;
	struct peer_entry *others;
	unsigned int nr_others;
	unsigned int cap_others;
};

static void entry_close(struct peer_entry *e)
{
	unsigned int v;

	for (v = 0; v < e->nfds; v++)
		close(e->fds[v]);
	e->nfds = 0;
}

static struct peer_entry *find_other(const struct ddvm_peer *peer, unsigned int id)
{
	unsigned int i;

	for (i = 0; i < peer->nr_others; i++)
		if (peer->others[i].id == id)
			return &peer->others[i];
	return NULL;
}

static int add_other(struct ddvm_peer *peer, unsigned int id, struct peer_entry **out,
		     struct ddvm_err *err)
{
	struct peer_entry *e;

	if (peer->nr_others == DDVM_PEER_MAX_PEERS)
		return ddvm_errf(err, -EPROTO, "hub %s: more than %d peers", peer->name,
				 DDVM_PEER_MAX_PEERS);
	if (peer->nr_others == peer->cap_others) {
		unsigned int cap = peer->cap_others ? peer->cap_others * 2 : 4;

		e = realloc(peer->others, cap * sizeof(*e));
		if (!e)
			return ddvm_errf(err, -ENOMEM, "hub %s: out of memory", peer->name);
		peer->others = e;
		peer->cap_others = cap;
	}
	e = &peer->others[peer->nr_others++];
	e->id = id;
	e->nfds = 0;
	*out = e;
	return 0;
}

static void remove_other(struct ddvm_peer *peer, struct peer_entry *e)
{
	entry_close(e);
	*e = peer->others[--peer->nr_others];
}

/* A doorbell we write to must be an eventfd: a pipe could block us, a file be damaged. */
static bool is_eventfd(int fd)
{
	char link[64], target[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* Check and map the region; @fd is consumed. */
static int map_region(struct ddvm_peer *peer, int fd, struct ddvm_err *err)
{
	struct stat st;
	uint64_t size;
	void *p;
	int ret;

	if (peer->region) {
		ret = ddvm_errf(err, -EPROTO, "hub %s sent a second shared memory fd", peer->name);
		goto out_close;
	}
	if (fstat(fd, &st)) {
		ret = ddvm_errf(err, -errno, "hub %s: fstat of shared memory: %s", peer->name,
				strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ddvm_errf(err, -EPROTO,
				"hub %s: shared memory fd is not a memfd or regular file (mode 0%o)",
				peer->name, (unsigned int)st.st_mode);
		goto out_close;
	}
	size = (uint64_t)st.st_size;
	if (size < DDVM_IVSHMEM_MIN_SIZE || size > DDVM_IVSHMEM_MAX_SIZE || (size & (size - 1))) {
		ret = ddvm_errf(err, -EPROTO,
				"hub %s: shared memory size %" PRIu64 " is not a power of two in 64K..16G",
				peer->name, size);
		goto out_close;
	}
	p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = ddvm_errf(err, -errno, "hub %s: cannot map %" PRIu64 " bytes of shared memory: %s",
				peer->name, size, strerror(errno));
		goto out_close;
	}
	peer->region = p;
	peer->size = (size_t)size;
	ret = 0;

out_close:
	close(fd);
	return ret;
}

/* A peer id with an eventfd: one more doorbell of that peer (or ours). */
static int add_doorbell(struct ddvm_peer *peer, unsigned int id, int fd, struct ddvm_err *err)
{
	struct peer_entry *e;
	int ret;

	if (!is_eventfd(fd)) {
		ret = ddvm_errf(err, -EPROTO, "hub %s: doorbell for peer %u is not an eventfd",
				peer->name, id);
		goto out_close;
	}
	/* we only poll and write it; never let a full counter block us */
	if (fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK)) {
		ret = ddvm_errf(err, -errno, "hub %s: fcntl: %s", peer->name, strerror(errno));
		goto out_close;
	}
	if (id == peer->id) {
		e = &peer->self;
	} else {
		e = find_other(peer, id);
		if (!e) {
			ret = add_other(peer, id, &e, err);
			if (ret)
				goto out_close;
		}
	}
	/* the spec: a peer configured for fewer vectors closes the extra fds */
	if (e->nfds >= peer->vectors) {
		close(fd);
		return 0;
	}
	e->fds[e->nfds++] = fd;
	return 0;

out_close:
	close(fd);
	return ret;
}

/* One message after the version and id; @fd is consumed. */
static int handle_msg(struct ddvm_peer *peer, int64_t value, int fd, struct ddvm_err *err)
{
	struct peer_entry *e;

	if (value == DDVM_IVSHMEM_SHM_MSG) {
		if (fd < 0)
			return ddvm_errf(err, -EPROTO, "hub %s: shared memory message without an fd",
					 peer->name);
		return map_region(peer, fd, err);
	}
	if (value < 0 || value > DDVM_IVSHMEM_MAX_ID) {
		if (fd >= 0)
			close(fd);
		return ddvm_errf(err, -EPROTO, "hub %s: invalid message %" PRId64, peer->name,
				 value);
	}
	if (fd >= 0)
		return add_doorbell(peer, (unsigned int)value, fd, err);
	if (value == peer->id)
		return ddvm_errf(err, -EPROTO, "hub %s: told us that we (peer %u) left",
				 peer->name, peer->id);
	/* a departure of a peer we never heard of changes nothing */
	e = find_other(peer, (unsigned int)value);
	if (e)
		remove_other(peer, e);
	return 0;
}

static int recv_msg(struct ddvm_peer *peer, int64_t *value, int *fd, const char *what,
		    struct ddvm_err *err)
{
	int ret = ddvm_ivshmem_recv(peer->sock, value, fd);

	switch (ret) {
	case 0:
		return 0;
	case -EAGAIN:
		return ddvm_errf(err, -ETIMEDOUT, "hub %s: timed out after %d ms waiting for %s",
				 peer->name, DDVM_PEER_SETUP_TIMEOUT_MS, what);
	case -ECONNRESET:
		return ddvm_errf(err, -ECONNRESET, "hub %s closed the connection before sending %s",
				 peer->name, what);
	case -EPROTO:
		return ddvm_errf(err, -EPROTO, "hub %s: malformed message where %s was expected",
				 peer->name, what);
	default:
		return ddvm_errf(err, ret, "hub %s: receiving %s: %s", peer->name, what,
				 strerror(-ret));
	}
}

/* Messages 1-5 of the spec, until we have the region and all our doorbells. */
static int setup(struct ddvm_peer *peer, struct ddvm_err *err)
{
	struct timeval tmo = {
		.tv_sec = DDVM_PEER_SETUP_TIMEOUT_MS / 1000,
		.tv_usec = (DDVM_PEER_SETUP_TIMEOUT_MS % 1000) * 1000,
	};
	struct timespec deadline;
	int64_t value;
	int fd, ret;

	if (setsockopt(peer->sock, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)))
		return ddvm_errf(err, -errno, "hub %s: SO_RCVTIMEO: %s", peer->name,
				 strerror(errno));
	ret = recv_msg(peer, &value, &fd, "the protocol version", err);
	if (ret)
		return ret;
	if (fd >= 0) {
		close(fd);
		return ddvm_errf(err, -EPROTO, "hub %s: version message carries an fd", peer->name);
	}
	if (value < 0 && value >= -4095)
		return ddvm_errf(err, (int)value, "hub %s refused us: %s", peer->name,
				 value == DDVM_IVSHMEM_REFUSE_FULL ? "the channel is full" :
				 strerror((int)-value));
	if (value != DDVM_IVSHMEM_VERSION)
		return ddvm_errf(err, -EPROTO, "hub %s speaks protocol version %" PRId64
				 ", we speak %d", peer->name, value, DDVM_IVSHMEM_VERSION);

	ret = recv_msg(peer, &value, &fd, "our peer id", err);
	if (ret)
		return ret;
	if (fd >= 0) {
		close(fd);
		return ddvm_errf(err, -EPROTO, "hub %s: id message carries an fd", peer->name);
	}
	if (value < 0 || value > DDVM_IVSHMEM_MAX_ID)
		return ddvm_errf(err, -EPROTO, "hub %s: peer id %" PRId64 " is not in 0..%d",
				 peer->name, value, DDVM_IVSHMEM_MAX_ID);
	peer->id = (unsigned int)value;
	peer->self.id = peer->id;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += DDVM_PEER_SETUP_TIMEOUT_MS / 1000;
	while (!peer->region || peer->self.nfds < peer->vectors) {
		struct timespec now;

		/* SO_RCVTIMEO bounds each message; this bounds a hub that trickles */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec > deadline.tv_nsec))
			return ddvm_errf(err, -ETIMEDOUT, "hub %s: setup not complete within %d ms",
					 peer->name, DDVM_PEER_SETUP_TIMEOUT_MS);
		char what[96];

		if (peer->region)
			snprintf(what, sizeof(what),
				 "our doorbell %u of %u (does the hub have fewer --vectors?)",
				 peer->self.nfds + 1, peer->vectors);
		else
			snprintf(what, sizeof(what), "the shared memory");
		ret = recv_msg(peer, &value, &fd, what, err);
		if (ret)
			return ret;
		ret = handle_msg(peer, value, fd, err);
		if (ret)
			return ret;
	}

	/* from now on the caller polls: never block in process_hub */
	if (fcntl(peer->sock, F_SETFL, O_RDWR | O_NONBLOCK))
		return ddvm_errf(err, -errno, "hub %s: fcntl: %s", peer->name, strerror(errno));
	return 0;
}

int ddvm_peer_attach(int sock, const char *name, unsigned int vectors,
		     struct ddvm_peer **out, struct ddvm_err *err)
{
	struct ddvm_peer *peer;
	int ret;

	if (vectors < 1 || vectors > DDVM_IVSHMEM_MAX_VECTORS) {
		close(sock);
		return ddvm_errf(err, -EINVAL, "hub %s: %u vectors is not in 1..%d", name,
				 vectors, DDVM_IVSHMEM_MAX_VECTORS);
	}
	peer = calloc(1, sizeof(*peer));
	if (!peer) {
		close(sock);
		return ddvm_errf(err, -ENOMEM, "hub %s: out of memory", name);
	}
	peer->sock = sock;
	peer->vectors = vectors;
	snprintf(peer->name, sizeof(peer->name), "%s", name);
	ret = setup(peer, err);
	if (ret) {
		ddvm_peer_close(peer);
		return ret;
	}
	*out = peer;
	return 0;
}

int ddvm_peer_connect_vectors(const char *sock_path, unsigned int vectors,
			      struct ddvm_peer **out, struct ddvm_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int sock, ret;

	if (strlen(sock_path) >= sizeof(sun.sun_path))
		return ddvm_errf(err, -ENAMETOOLONG,
				 "hub socket path %s is too long (a unix socket path has at most %zu bytes)",
				 sock_path, sizeof(sun.sun_path) - 1);
	strcpy(sun.sun_path, sock_path);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return ddvm_errf(err, -errno, "hub %s: socket: %s", sock_path, strerror(errno));
	if (connect(sock, (struct sockaddr *)&sun, sizeof(sun))) {
		ret = -errno;
		close(sock);
		return ddvm_errf(err, ret, "cannot connect to hub %s: %s%s", sock_path,
				 strerror(-ret),
				 ret == -ENOENT || ret == -ECONNREFUSED ? " (is the hub running?)" : "");
	}
	return ddvm_peer_attach(sock, sock_path, vectors, out, err);
}

int ddvm_peer_connect(const char *sock_path, struct ddvm_peer **out, struct ddvm_err *err)
{
	return ddvm_peer_connect_vectors(sock_path, 1, out, err);
}

/* The spec: on error, close the connection; the stream may be out of step. */
static int hub_gone(struct ddvm_peer *peer, int ret)
{
	close(peer->sock);
	peer->sock = -1;
	return ret;
}

int ddvm_peer_process_hub(struct ddvm_peer *peer, struct ddvm_err *err)
{
	int n, ret;

	if (peer->sock < 0)
		return ddvm_errf(err, -ECONNRESET, "hub %s: no longer connected", peer->name);
	for (n = 0; n < PROCESS_BATCH; n++) {
		int64_t value;
		int fd;

		ret = ddvm_ivshmem_recv(peer->sock, &value, &fd);
		if (ret == -EAGAIN)
			break;
		if (ret == -ECONNRESET)
			return hub_gone(peer, ddvm_errf(err, -ECONNRESET,
							"hub %s closed the connection", peer->name));
		if (ret)
			return hub_gone(peer, ddvm_errf(err, ret, "hub %s: bad message: %s",
							peer->name, strerror(-ret)));
		if (value == DDVM_IVSHMEM_SHM_MSG) {
			if (fd >= 0)
				close(fd);
			return hub_gone(peer, ddvm_errf(err, -EPROTO,
							"hub %s sent shared memory again",
							peer->name));
		}
		ret = handle_msg(peer, value, fd, err);
		if (ret)
			return hub_gone(peer, ret);
	}
	return n;
}

int ddvm_peer_hub_fd(const struct ddvm_peer *peer)
{
	return peer->sock;
}

int ddvm_peer_notify(struct ddvm_peer *peer, unsigned int peer_id, unsigned int vector)
{
	const struct peer_entry *e;
	uint64_t one = 1;
	ssize_t n;

	e = peer_id == peer->id ? &peer->self : find_other(peer, peer_id);
	if (!e || vector >= e->nfds)
		return -ENOENT;
	do
		n = write(e->fds[vector], &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is near overflow, so a wake-up is pending anyway */
	if (n < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int ddvm_peer_doorbell_fd(const struct ddvm_peer *peer, unsigned int vector)
{
	if (vector >= peer->self.nfds)
		return -ENOENT;
	return peer->self.fds[vector];
}

bool ddvm_peer_has(const struct ddvm_peer *peer, unsigned int id)
{
	return id == peer->id || find_other(peer, id);
}

unsigned int ddvm_peer_id(const struct ddvm_peer *peer)
{
	return peer->id;
}

void *ddvm_peer_region(const struct ddvm_peer *peer, size_t *size)
{
	if (size)
		*size = peer->size;
	return peer->region;
}

void ddvm_peer_close(struct ddvm_peer *peer)
{
	if (!peer)
		return;
	while (peer->nr_others)
		remove_other(peer, &peer->others[0]);
	free(peer->others);
	entry_close(&peer->self);
	if (peer->region)
		munmap(peer->region, peer->size);
	if (peer->sock >= 0)
		close(peer->sock);
	free(peer);
}
