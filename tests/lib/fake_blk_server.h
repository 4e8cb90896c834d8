/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A block server in a child process over a memfd region and two eventfds:
 * the DD/OS side of the channel protocol, with a RAM disk behind it, built
 * from the same include/ddvm checks as ddvm.ko.  Lets host tests drive
 * libddvm against an honest peer, or one that misbehaves on purpose.
 */
#ifndef DDVM_FAKE_BLK_SERVER_H
#define DDVM_FAKE_BLK_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include "chan_client.h"

enum fake_blk_misbehave {
	FAKE_BLK_HONEST = 0,
	FAKE_BLK_FORGED_IDS,		/* also post completions for ids never submitted */
	FAKE_BLK_DOUBLE_COMPLETE,	/* complete every request twice */
	FAKE_BLK_WILD_INDEX,		/* move the completion producer index impossibly once */
	FAKE_BLK_RESTART_AFTER,		/* drop everything in flight after N requests, new generation */
	FAKE_BLK_IOERR_AT,		/* requests covering byte N fail with DDVM_BLK_S_IOERR */
	FAKE_BLK_WILD_STATUS_AT,	/* ... complete with a status no ABI defines */
};

struct fake_blk_server {
	pid_t pid;
	int memfd;
	void *region;
	uint64_t size;
	int srv_efd;		/* the server's doorbell (client rings it) */
	int cli_efd;		/* the client's doorbell */
	struct ddvm_chan_transport transport;	/* for ddvm_blk_open_transport() */
	uint8_t *disk;		/* shared RAM disk, so tests can look at it */
	uint64_t capacity;
};

/*
 * fake_blk_start - fork a server with a RAM disk of @capacity bytes over a
 * region of @region_size bytes.  @arg: N of FAKE_BLK_RESTART_AFTER, IOERR_AT,
 * WILD_STATUS_AT.
 * Return: 0 or -errno.
 */
int fake_blk_start(struct fake_blk_server *s, uint64_t region_size, uint64_t capacity,
		   enum fake_blk_misbehave mode, uint64_t arg);
void fake_blk_stop(struct fake_blk_server *s);

#endif /* DDVM_FAKE_BLK_SERVER_H */
