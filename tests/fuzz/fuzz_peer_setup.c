// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a hostile hub.  The input becomes a byte stream with
 * file descriptors (eventfds, memfds of good and bad sizes, pipes, a char
 * device) attached at fuzzer-chosen places, sent through a socketpair into
 * the peer's setup and update parser (host/lib/peer.c).  It must never
 * crash, hang or leak a descriptor, and every failure must say why.
 *
 * Input: byte 0 picks the vector count; then operations, each an op byte
 *   bits 0-1: 0 raw chunk (next byte: length-1 mod 16, then the bytes)
 *             1 message, value = next byte as int8
 *             2 message, value = next 8 bytes (LE)
 *             3 message, value = next byte mod 8 - 1 (-1..6: the usual ids)
 *   bits 2-4: descriptor sent with it: none, eventfd, memfd 64K, memfd 4K,
 *             pipe, two eventfds, /dev/null, memfd 128K
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer.h"

/* Keeps the whole stream within a socket's send buffer (no writer thread). */
#define MAX_OPS		96

enum fd_kind { FD_NONE, FD_EVENT, FD_MEM64K, FD_MEM4K, FD_PIPE, FD_TWO_EVENTS, FD_NULL,
	       FD_MEM128K };

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int make_memfd(off_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, size))
		abort();
	return fd;
}

/* Make the descriptors of @kind into @fds; return how many. */
static int make_fds(enum fd_kind kind, int fds[2])
{
	int p[2];

	switch (kind) {
	case FD_NONE:
		return 0;
	case FD_EVENT:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		return 1;
	case FD_MEM64K:
		fds[0] = make_memfd(64 << 10);
		return 1;
	case FD_MEM4K:
		fds[0] = make_memfd(4 << 10);
		return 1;
	case FD_PIPE:
		if (pipe2(p, O_CLOEXEC))
			abort();
		close(p[1]);
		fds[0] = p[0];
		return 1;
	case FD_TWO_EVENTS:
		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = eventfd(0, EFD_CLOEXEC);
		return 2;
	case FD_NULL:
		fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
		return 1;
	case FD_MEM128K:
		fds[0] = make_memfd(128 << 10);
		return 1;
	}
	return 0;
}

/* Send @len bytes with the descriptors of @kind; false once the socket is full. */
static int send_chunk(int s, const void *buf, size_t len, enum fd_kind kind)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 2)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2], n, i;
	ssize_t r;

	n = make_fds(kind, fds);
	for (i = 0; i < n; i++)
		if (fds[i] < 0)
			abort();
	if (n) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	}
	r = sendmsg(s, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return r == (ssize_t)len;
}

static void feed(int s, const uint8_t *data, size_t size)
{
	size_t pos = 0;
	int ops;

	for (ops = 0; pos < size && ops < MAX_OPS; ops++) {
		uint8_t op = data[pos++];
		enum fd_kind kind = (enum fd_kind)((op >> 2) & 7);
		uint8_t buf[16];
		size_t len = 8;
		int64_t v = 0;
		uint64_t le;

		switch (op & 3) {
		case 0:
			if (pos >= size)
				return;
			len = (size_t)(data[pos++] % 16) + 1;
			if (len > size - pos)
				len = size - pos;
			memcpy(buf, data + pos, len);
			pos += len;
			break;
		case 1:
			if (pos >= size)
				return;
			v = (int8_t)data[pos++];
			break;
		case 2:
			if (size - pos < 8)
				return;
			memcpy(&le, data + pos, 8);
			pos += 8;
			v = (int64_t)le64toh(le);
			break;
		case 3:
			if (pos >= size)
				return;
			v = (int64_t)(data[pos++] % 8) - 1;
			break;
		}
		if (op & 3) {
			le = htole64((uint64_t)v);
			memcpy(buf, &le, 8);
		}
		if (!len || !send_chunk(s, buf, len, kind))
			return;
	}
}

/* Use everything the API offers on a peer built from hostile input. */
static void exercise(struct ddvm_peer *p)
{
	struct ddvm_err err;
	unsigned int id, v;
	size_t size;
	char *r;
	int i, n;

	r = ddvm_peer_region(p, &size);
	if (!r || size < (64 << 10) || (size & (size - 1)))
		abort();
	r[0] = 1;
	r[size - 1] = 1;
	for (i = 0; i < 1000; i++) {
		err.msg[0] = '\0';
		n = ddvm_peer_process_hub(p, &err);
		if (n < 0 && !err.msg[0])
			abort();
		if (n <= 0)
			break;
	}
	for (id = 0; id < 8; id++) {
		(void)ddvm_peer_has(p, id);
		for (v = 0; v < 5; v++)
			(void)ddvm_peer_notify(p, id, v);
	}
	for (v = 0; v < 5; v++)
		(void)ddvm_peer_doorbell_fd(p, v);
	if (ddvm_peer_doorbell_fd(p, 0) < 0 || !ddvm_peer_has(p, ddvm_peer_id(p)))
		abort();
	(void)ddvm_peer_hub_fd(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ddvm_peer *p = NULL;
	struct ddvm_err err;
	int sp[2], before, ret;

	if (!size)
		return 0;
	before = count_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp))
		abort();
	feed(sp[0], data + 1, size - 1);
	/* the hub hangs up after its last word: setup never waits */
	shutdown(sp[0], SHUT_WR);
	err.msg[0] = '\0';
	ret = ddvm_peer_attach(sp[1], "fuzz", 1 + data[0] % 4, &p, &err);
	if (ret) {
		if (ret > 0 || !err.msg[0] || p)
			abort();
	} else {
		exercise(p);
		ddvm_peer_close(p);
	}
	close(sp[0]);
	/* anything the parser kept or dropped must be closed by now */
	if (count_fds() != before)
		abort();
	return 0;
}
