// SPDX-License-Identifier: GPL-2.0
/* A block channel server in a child process, for host tests (see fake_blk_server.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ddvm/check.h>

#include "fake_blk_server.h"

#define FAKE_SERVER_ID	0
#define FAKE_CLIENT_ID	1

static int fake_notify(void *ctx, uint32_t peer_id)
{
	struct fake_blk_server *s = ctx;
	uint64_t one = 1;

	if (peer_id != FAKE_SERVER_ID)
		return -ENOENT;
	return write(s->srv_efd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

struct fake_state {
	struct fake_blk_server *s;
	struct ddvm_srv_block *srv;
	struct ddvm_cli_block *cli;
	struct ddvm_ring req, cmp;
	struct ddvm_blk_limits limits;
	uint64_t data_off;
	uint32_t gen;
	uint64_t served;
	enum fake_blk_misbehave mode;
	uint64_t arg;
	bool wild_done;
};

static void fake_ring_client(struct fake_state *st)
{
	uint64_t one = 1;

	if (write(st->s->cli_efd, &one, sizeof(one)) < 0)
		_exit(3);
}

static void fake_new_generation(struct fake_state *st)
{
	st->gen++;
	ddvm_store_once(&st->srv->generation, st->gen);
	ddvm_store_release(&st->srv->state, DDVM_SRV_WAIT);
	fake_ring_client(st);
}

static void fake_try_start(struct fake_state *st)
{
	struct ddvm_layout_rules rules = {
		.region_size = st->s->size,
		.type = DDVM_CHAN_BLK,
		.nr_rings = DDVM_BLK_NR_RINGS,
		.entry_size = { sizeof(struct ddvm_blk_req), sizeof(struct ddvm_blk_cmp) },
		.features = DDVM_F_EVENT_IDX,
		.page_size = 4096,
	};
	struct ddvm_cli_block c;

	if (ddvm_load_acquire(&st->cli->state) != DDVM_CLI_READY)
		return;
	memcpy(&c, st->cli, sizeof(c));
	if (c.generation != st->gen)
		return;
	if (ddvm_layout_check(&c, &rules)) {
		ddvm_store_once(&st->srv->error, DDVM_ERR_LAYOUT);
		ddvm_store_release(&st->srv->state, DDVM_SRV_ERROR);
		fake_ring_client(st);
		return;
	}
	ddvm_ring_init(&st->req, st->s->region, &c.rings[DDVM_BLK_RING_REQ]);
	ddvm_ring_init(&st->cmp, st->s->region, &c.rings[DDVM_BLK_RING_CMP]);
	st->data_off = c.data_off;
	st->limits.data_size = c.data_size;
	ddvm_store_release(&st->srv->state, DDVM_SRV_RUN);
	fake_ring_client(st);
}

static void fake_post(struct fake_state *st, uint64_t id, uint32_t status, bool *notify)
{
	struct ddvm_blk_cmp c = { .id = id, .status = status };
	uint32_t old = st->cmp.local;

	memcpy(ddvm_ring_next(&st->cmp), &c, sizeof(c));
	st->cmp.local++;
	if (ddvm_ring_publish(&st->cmp, old))
		*notify = true;
}

static void fake_serve(struct fake_state *st)
{
	uint8_t *data = (uint8_t *)st->s->region + st->data_off;
	struct ddvm_blk_req batch[64], r;
	bool notify = false;
	uint32_t status, old;
	int avail, n, i;

	for (;;) {
		avail = ddvm_ring_avail(&st->req);
		if (!avail)
			avail = ddvm_ring_arm(&st->req);
		if (avail <= 0)
			break;
		/* as the ABI asks: hand the slots back before completing */
		old = st->req.local;
		for (n = 0; n < avail && n < 64; n++)
			ddvm_ring_take(&st->req, &batch[n]);
		ddvm_ring_consumed(&st->req, old);
		for (i = 0; i < n; i++) {
			r = batch[i];
			if (st->mode == FAKE_BLK_RESTART_AFTER && st->served == st->arg) {
				/* "crash": the rest of this batch is lost, a new server comes */
				st->served++;
				fake_new_generation(st);
				return;
			}
			status = ddvm_blk_req_check(&r, &st->limits);
			if (!status && r.op != DDVM_BLK_FLUSH && r.offset <= st->arg &&
			    st->arg - r.offset < r.len) {
				if (st->mode == FAKE_BLK_IOERR_AT)
					status = DDVM_BLK_S_IOERR;
				else if (st->mode == FAKE_BLK_WILD_STATUS_AT)
					status = 0xdead0000;
			}
			if (!status && r.op == DDVM_BLK_READ)
				memcpy(data + r.data_off, st->s->disk + r.offset, r.len);
			else if (!status && r.op == DDVM_BLK_WRITE)
				memcpy(st->s->disk + r.offset, data + r.data_off, r.len);
			else if (!status && r.op == DDVM_BLK_WRITE_ZEROES)
				memset(st->s->disk + r.offset, 0, r.len);
			fake_post(st, r.id, status, &notify);
			/*
			 * Extras only while the ring is at most half full, so
			 * they never overwrite a real completion: this peer
			 * lies about ids, it does not overflow the ring.
			 */
			if (ddvm_ring_free(&st->cmp) > (int)(st->cmp.mask + 1) / 2) {
				if (st->mode == FAKE_BLK_DOUBLE_COMPLETE)
					fake_post(st, r.id, status, &notify);
				if (st->mode == FAKE_BLK_FORGED_IDS)
					fake_post(st, r.id ^ (1ull << 40), DDVM_BLK_S_OK, &notify);
			}
			st->served++;
		}
		if (st->mode == FAKE_BLK_WILD_INDEX && !st->wild_done && st->served > 10) {
			st->wild_done = true;
			ddvm_store_release(&st->cmp.ctl->prod, st->cmp.local + 100000);
			notify = true;
			break;
		}
	}
	if (notify)
		fake_ring_client(st);
}

static void fake_server_main(struct fake_blk_server *s, enum fake_blk_misbehave mode, uint64_t arg)
{
	struct fake_state st = { .s = s, .mode = mode, .arg = arg };
	struct pollfd pfd = { .fd = s->srv_efd, .events = POLLIN };
	struct ddvm_srv_block *srv;
	uint64_t v;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	srv = st.srv = (struct ddvm_srv_block *)((char *)s->region + DDVM_SRV_OFFSET);
	st.cli = (struct ddvm_cli_block *)((char *)s->region + DDVM_CLI_OFFSET);
	st.limits = (struct ddvm_blk_limits){ .capacity = s->capacity, .lbs = 512,
					      .max_transfer = 1u << 20,
					      .flags = DDVM_BLK_F_FLUSH | DDVM_BLK_F_WRITE_ZEROES };
	srv->version = DDVM_VERSION;
	srv->type = DDVM_CHAN_BLK;
	srv->peer_id = FAKE_SERVER_ID;
	srv->features = DDVM_F_EVENT_IDX;
	srv->blk.capacity = s->capacity;
	srv->blk.logical_block_size = 512;
	srv->blk.physical_block_size = 512;
	srv->blk.max_transfer = 1u << 20;
	srv->blk.max_inflight = 128;
	srv->blk.flags = st.limits.flags;
	strcpy(srv->blk.export_name, "ram");
	strcpy(srv->blk.driver, "fake");
	srv->magic = DDVM_MAGIC;
	fake_new_generation(&st);
	for (;;) {
		if (poll(&pfd, 1, 10) > 0 && read(s->srv_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			_exit(2);
		switch (ddvm_load_acquire(&srv->state)) {
		case DDVM_SRV_WAIT:
		case DDVM_SRV_ERROR:
			fake_try_start(&st);
			break;
		case DDVM_SRV_RUN:
			if (ddvm_load_acquire(&st.cli->state) != DDVM_CLI_READY ||
			    ddvm_load_once(&st.cli->generation) != st.gen) {
				fake_new_generation(&st);
				break;
			}
			fake_serve(&st);
			break;
		}
	}
}

int fake_blk_start(struct fake_blk_server *s, uint64_t region_size, uint64_t capacity,
		   enum fake_blk_misbehave mode, uint64_t arg)
{
	memset(s, 0, sizeof(*s));
	s->size = region_size;
	s->capacity = capacity;
	s->memfd = memfd_create("fake-blk", MFD_CLOEXEC);
	if (s->memfd < 0 || ftruncate(s->memfd, (off_t)region_size))
		return -errno;
	s->region = mmap(NULL, region_size, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
	s->disk = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->region == MAP_FAILED || s->disk == MAP_FAILED)
		return -ENOMEM;
	s->srv_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->cli_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->srv_efd < 0 || s->cli_efd < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid)
		fake_server_main(s, mode, arg);
	s->transport = (struct ddvm_chan_transport){
		.region = s->region, .size = region_size, .own_id = FAKE_CLIENT_ID,
		.doorbell_fd = s->cli_efd, .side_fd = -1, .notify = fake_notify, .ctx = s,
	};
	return 0;
}

void fake_blk_stop(struct fake_blk_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	munmap(s->region, s->size);
	munmap(s->disk, s->capacity);
	close(s->memfd);
	close(s->srv_efd);
	close(s->cli_efd);
}
