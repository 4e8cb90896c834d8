// SPDX-License-Identifier: GPL-2.0
/*
 * The NBD bridge against a real disk DD/OS: `ddvm blk nbd` serves its
 * channel, nbdinfo and qemu-img see the export as it is, qemu-io writes
 * (plain, FUA, unaligned, one larger than a channel request), zeroes (with
 * and without unmap, with FUA), trims and flushes, and reads everything
 * back; four qemu-io connections open at once write their own ranges in
 * parallel and read each other's; a qemu-io write stream keeps going while
 * the DD/OS is killed, and while it puts garbage on the completion ring.
 * At the end the backing image must hold exactly what was written: zeroes
 * where zeroed, and where trimmed either the old data or zeroes (a trim
 * promises no contents).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "hub_spawn.h"
#include "state.h"
#include "vmtest.h"

#define MIB		(1ull << 20)
#define DISK_SIZE	(128 * MIB)
#define SECTOR		512
#define SESSIONS	4		/* qemu-io connections open at once */
#define SESSION_AREA	(8 * MIB)	/* each one's own range, from CONC_BASE */
#define CONC_BASE	(32 * MIB)
#define STREAM_AREA_MIB	32		/* a ride-through stream's range, in 1 MiB writes */
#define STREAM_BEFORE	4		/* writes before the fault is injected */
#define STREAM_AFTER	16		/* writes once the restart has begun */
#define STREAM_MAX	5000		/* writes before giving up on ddvm inject */
#define MAX_QIO		8
#define ANSWER_MS	180000		/* a qemu-io batch, a DD/OS restart included */

struct qio {
	const char *what;
	pid_t pid;
	int in, out;
	char buf[16384];		/* output not yet taken as lines */
	size_t used;
	char cmd[256];			/* the command in progress */
	char last[256];			/* last line seen, for messages */
};

static struct {
	struct vmtest t;
	bool up;
	pid_t nbd;			/* `ddvm blk nbd` */
	char sock[160];
	char uri[200];
	char nbd_err[160];		/* its stderr */
	uint8_t *model;			/* what the image must hold */
	uint8_t *trimmed;		/* per sector: may also be all zeroes */
	pid_t qio[MAX_QIO];		/* qemu-io processes to kill if a test fails */
} g;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- model */

static void model_write(uint64_t off, uint64_t len, int byte)
{
	memset(g.model + off, byte, len);
	for (uint64_t s = (off + SECTOR - 1) / SECTOR; s < (off + len) / SECTOR; s++)
		g.trimmed[s] = 0;
}

static void model_trim(uint64_t off, uint64_t len)
{
	for (uint64_t s = off / SECTOR; s < (off + len) / SECTOR; s++)
		g.trimmed[s] = 1;
}

static void compare_image(void)
{
	static const uint8_t zero[SECTOR];
	uint8_t *buf = malloc(MIB);
	uint64_t off, i;
	int fd = open(g.t.image, O_RDONLY);

	assert_non_null(buf);
	if (fd < 0)
		fail_msg("%s: %s", g.t.image, strerror(errno));
	for (off = 0; off < DISK_SIZE; off += MIB) {
		if (pread(fd, buf, MIB, (off_t)off) != (ssize_t)MIB)
			fail_msg("%s: short read at %llu", g.t.image, (unsigned long long)off);
		for (i = 0; i < MIB; i += SECTOR) {
			const uint8_t *want = g.model + off + i, *got = buf + i;
			uint64_t b = 0;

			if (!memcmp(got, want, SECTOR))
				continue;
			if (g.trimmed[(off + i) / SECTOR] && !memcmp(got, zero, SECTOR))
				continue;
			while (got[b] == want[b])
				b++;
			fail_msg("%s: byte %llu is 0x%02x, want 0x%02x%s", g.t.image,
				 (unsigned long long)(off + i + b), got[b], want[b],
				 g.trimmed[(off + i) / SECTOR] ? " (trimmed: or all zero)" : "");
		}
	}
	close(fd);
	free(buf);
}

/* -------------------------------------------------------------- helpers */

/* Run @argv, its stdout and stderr into @out.  Return: exit status, or -1. */
static int run_capture(const char *const *argv, char *out, size_t len)
{
	int pfd[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], (char **)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + used, len - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static unsigned int restarts_now(void)
{
	struct ddvm_err err;
	json_t *st, *d;
	unsigned int n = 0;

	if (ddvm_state_load(g.t.run_dir, &st, &err))
		return 0;
	d = json_array_get(json_object_get(st, "domains"), 0);
	if (d)
		n = (unsigned int)json_integer_value(json_object_get(d, "restarts"));
	json_decref(st);
	return n;
}

static const char *nbd_stderr(void)
{
	static char buf[2048];
	int fd = open(g.nbd_err, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return buf;
}

/* ------------------------------------------------------ qemu-io sessions */

/*
 * A qemu-io of its own (one NBD connection), fed one command at a time on
 * stdin: it takes the next line only once stdin is readable again, so a
 * batch sent at once would stall in its stdio buffer.  "qemu-io> ", its
 * prompt, says the previous command is done.
 */
#define QIO_PROMPT	"qemu-io> "

static void qio_track(pid_t pid, bool live)
{
	for (int i = 0; i < MAX_QIO; i++)
		if (live ? !g.qio[i] : g.qio[i] == pid) {
			g.qio[i] = live ? pid : 0;
			return;
		}
}

/* Take qemu-io's output until its prompt; a line saying "failed" or "error" fails the test. */
static void qio_wait(struct qio *q)
{
	long long deadline = now_ms() + ANSWER_MS;
	struct pollfd pfd = { .fd = q->out, .events = POLLIN };
	char *nl;
	ssize_t n;

	for (;;) {
		while ((nl = memchr(q->buf, '\n', q->used))) {
			*nl = '\0';
			snprintf(q->last, sizeof(q->last), "%.255s", q->buf);
			q->used -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->used);
			if (strstr(q->last, "failed") || strstr(q->last, "rror"))
				fail_msg("%s: qemu-io: %s\nddvm blk nbd said:\n%s", q->what, q->last,
					 nbd_stderr());
		}
		if (q->used == strlen(QIO_PROMPT) && !memcmp(q->buf, QIO_PROMPT, q->used)) {
			q->used = 0;
			return;
		}
		if (now_ms() > deadline)
			fail_msg("%s: qemu-io did not finish \"%s\" within %d s; last line: %s",
				 q->what, q->cmd, ANSWER_MS / 1000, q->last);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(q->out, q->buf + q->used, sizeof(q->buf) - 1 - q->used);
		if (n <= 0)
			fail_msg("%s: qemu-io ended; last line: %s\nddvm blk nbd said:\n%s", q->what,
				 q->last, nbd_stderr());
		q->used += (size_t)n;
		if (q->used == sizeof(q->buf) - 1)	/* one endless line: keep its tail */
			q->used = 0;
	}
}

/* Start qemu-io on the export; it is connected once it prompts. */
static void qio_start(struct qio *q, const char *what)
{
	int in[2], out[2];

	memset(q, 0, sizeof(*q));
	q->what = what;
	snprintf(q->cmd, sizeof(q->cmd), "(connect)");
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		fail_msg("pipe: %s", strerror(errno));
	q->pid = fork();
	if (q->pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!q->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execlp("qemu-io", "qemu-io", "-f", "raw", g.uri, (char *)NULL);
		fprintf(stderr, "cannot run qemu-io: %s (package qemu-utils)\n", strerror(errno));
		_exit(127);
	}
	qio_track(q->pid, true);
	close(in[0]);
	close(out[1]);
	q->in = in[1];
	q->out = out[0];
	qio_wait(q);
}

/* Send one command; qio_wait() before the next. */
static void qio_send(struct qio *q, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(q->cmd, sizeof(q->cmd) - 1, fmt, ap);
	va_end(ap);
	q->cmd[n] = '\n';
	if (write(q->in, q->cmd, (size_t)n + 1) != n + 1)
		fail_msg("%s: qemu-io is gone (%s); last output: %s", q->what, strerror(errno),
			 q->last);
	q->cmd[n] = '\0';
}

static void qio_stop(struct qio *q)
{
	int status;

	close(q->in);	/* EOF: qemu-io closes the export and exits */
	close(q->out);
	if (waitpid(q->pid, &status, 0) != q->pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("%s: qemu-io exit status %d; last line: %s", q->what, status, q->last);
	qio_track(q->pid, false);
}

/* Send "write OPT -P BYTE OFF LEN" and remember it (the caller waits). */
static void send_write(struct qio *q, const char *opt, uint64_t off, uint64_t len, int byte)
{
	qio_send(q, "write %s -P %d %llu %llu", opt, byte, (unsigned long long)off,
		 (unsigned long long)len);
	model_write(off, len, byte);
}

/* The same, waited for. */
static void write_pattern(struct qio *q, const char *opt, uint64_t off, uint64_t len, int byte)
{
	send_write(q, opt, off, len, byte);
	qio_wait(q);
}

/* Zero (OPT: -f, -u) or trim [off, off+len), waited for. */
static void zero_range(struct qio *q, const char *opt, uint64_t off, uint64_t len)
{
	qio_send(q, "write -z %s %llu %llu", opt, (unsigned long long)off, (unsigned long long)len);
	model_write(off, len, 0);
	qio_wait(q);
}

static void trim_range(struct qio *q, uint64_t off, uint64_t len)
{
	qio_send(q, "discard %llu %llu", (unsigned long long)off, (unsigned long long)len);
	model_trim(off, len);
	qio_wait(q);
}

/* Read [off, off+len) through @q: it must be what the model says (one read per run of a byte). */
static void read_check(struct qio *q, uint64_t off, uint64_t len)
{
	uint64_t end = off + len, run;

	for (; off < end; off += run) {
		for (run = 1; off + run < end && g.model[off + run] == g.model[off]; run++)
			;
		qio_send(q, "read -P %d %llu %llu", g.model[off], (unsigned long long)off,
			 (unsigned long long)run);
		qio_wait(q);
	}
}

/* ---------------------------------------------------------------- setup */

/* The DD/OS up and `ddvm blk nbd dd.c0` listening. */
static void ensure_up(void)
{
	char line[256] = "";
	int out[2], err;
	FILE *f;

	if (g.up)
		return;
	if (vmtest_up(&g.t, "virtio-blk", "128M", 1))
		fail_msg("ddvm up failed:\n%s", g.t.log);
	g.up = true;
	snprintf(g.sock, sizeof(g.sock), "%s/nbd.sock", g.t.dir);
	snprintf(g.uri, sizeof(g.uri), "nbd+unix:///?socket=%s", g.sock);
	snprintf(g.nbd_err, sizeof(g.nbd_err), "%s/nbd.err", g.t.dir);
	err = open(g.nbd_err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (err < 0 || pipe2(out, O_CLOEXEC))
		fail_msg("%s: %s", g.nbd_err, strerror(errno));
	g.nbd = fork();
	if (g.nbd < 0)
		fail_msg("fork: %s", strerror(errno));
	if (!g.nbd) {
		/* DOMAIN.CHANNEL through the run dir, as a user would name it */
		setenv("DDVM_RUN_DIR", g.t.run_dir, 1);
		dup2(out[1], 1);
		dup2(err, 2);
		execl(hub_spawn_bin(), hub_spawn_bin(), "blk", "nbd", "dd.c0", "--socket", g.sock,
		      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(err);
	f = fdopen(out[0], "r");
	/* it says so once nbdkit's socket is there; EOF if it died */
	if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "listening on ", 13))
		fail_msg("ddvm blk nbd did not start (\"%s\"):\n%s", line, nbd_stderr());
	fclose(f);
}

static int setup(void **state)
{
	g.model = calloc(1, DISK_SIZE);
	g.trimmed = calloc(1, DISK_SIZE / SECTOR);
	return g.model && g.trimmed ? 0 : -1;
}

static int teardown(void **state)
{
	for (int i = 0; i < MAX_QIO; i++)
		if (g.qio[i] > 0) {
			kill(g.qio[i], SIGKILL);
			waitpid(g.qio[i], NULL, 0);
		}
	if (g.nbd > 0) {
		kill(g.nbd, SIGTERM);
		waitpid(g.nbd, NULL, 0);
	}
	if (g.up)
		vmtest_down(&g.t, true);	/* kept for a look at the logs */
	free(g.model);
	free(g.trimmed);
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_export_as_nbdinfo_and_qemu_img_see_it(void **state)
{
	static char out[16384];
	json_error_t jerr;
	json_t *j, *e;
	int ret;

	ensure_up();
	ret = run_capture((const char *const[]){ "nbdinfo", "--json", g.uri, NULL }, out,
			  sizeof(out));
	if (ret)
		fail_msg("nbdinfo --json %s: status %d: %s", g.uri, ret, out);
	j = json_loads(out, 0, &jerr);
	e = json_array_get(json_object_get(j, "exports"), 0);
	if (!e)
		fail_msg("nbdinfo said: %s", out);
	assert_int_equal(json_integer_value(json_object_get(e, "export-size")), DISK_SIZE);
	assert_int_equal(json_integer_value(json_object_get(e, "block_size_minimum")), 512);
	assert_true(json_integer_value(json_object_get(e, "block_size_maximum")) >= (json_int_t)MIB);
	/* virtio-blk in the DD/OS: flush, discard and write zeroes; FUA via the block layer */
	assert_true(json_is_true(json_object_get(e, "can_multi_conn")));
	assert_true(json_is_true(json_object_get(e, "can_flush")));
	assert_true(json_is_true(json_object_get(e, "can_fua")));
	assert_true(json_is_true(json_object_get(e, "can_trim")));
	assert_true(json_is_true(json_object_get(e, "can_zero")));
	assert_true(json_is_false(json_object_get(e, "is_read_only")));
	json_decref(j);

	ret = run_capture((const char *const[]){ "qemu-img", "info", "--output=json", g.uri,
						 NULL }, out, sizeof(out));
	if (ret)
		fail_msg("qemu-img info %s: status %d: %s", g.uri, ret, out);
	j = json_loads(out, 0, &jerr);
	if (!j)
		fail_msg("qemu-img info said: %s", out);
	assert_int_equal(json_integer_value(json_object_get(j, "virtual-size")), DISK_SIZE);
	json_decref(j);
}

/* 0..32 MiB: every kind of request through one connection, read back through it. */
static void test_qemu_io_writes_zeroes_trims_and_reads_back(void **state)
{
	struct qio q;

	ensure_up();
	qio_start(&q, "one connection");
	write_pattern(&q, "", 0, 4 * MIB, 0x11);
	write_pattern(&q, "", 100, 1000, 0x55);		/* unaligned: QEMU reads-modifies-writes */
	write_pattern(&q, "-f", 4 * MIB, MIB, 0x22);	/* FUA */
	write_pattern(&q, "", 5 * MIB, 3 * MIB, 0x33);
	trim_range(&q, 6 * MIB, MIB);
	write_pattern(&q, "", 8 * MIB, 4 * MIB, 0x44);
	zero_range(&q, "", 8 * MIB, MIB);		/* keep allocated */
	zero_range(&q, "-u", 9 * MIB, MIB);		/* may trim */
	zero_range(&q, "-f", 10 * MIB, MIB / 2);	/* FUA */
	write_pattern(&q, "-f", 12 * MIB, 64 << 10, 0x66);
	write_pattern(&q, "", 16 * MIB, 16 * MIB, 0x77);	/* 16 channel requests */
	qio_send(&q, "flush");
	qio_wait(&q);

	read_check(&q, 0, 6 * MIB);
	read_check(&q, 7 * MIB, 25 * MIB);
	qio_stop(&q);
}

/*
 * 32..64 MiB: SESSIONS connections open at once, each writing its own range
 * while the others write theirs; then each reads all of them back.
 */
static void test_connections_at_once(void **state)
{
	static const char *const names[SESSIONS] = { "connection 0", "connection 1",
						      "connection 2", "connection 3" };
	const uint64_t quarter = SESSION_AREA / 4;
	struct qio q[SESSIONS];
	uint64_t base;
	int i, step;

	ensure_up();
	for (i = 0; i < SESSIONS; i++)
		qio_start(&q[i], names[i]);	/* each one connected before any I/O */
	for (step = 0; step < 5; step++) {
		for (i = 0; i < SESSIONS; i++) {
			base = CONC_BASE + (uint64_t)i * SESSION_AREA;
			switch (step) {
			case 0:
				send_write(&q[i], "", base, 2 * quarter, 0xa0 + i);
				break;
			case 1:
				send_write(&q[i], "-f", base + 2 * quarter, quarter, 0xb0 + i);
				break;
			case 2:
				qio_send(&q[i], "discard %llu %llu",
					 (unsigned long long)(base + 3 * quarter),
					 (unsigned long long)(quarter / 2));
				model_trim(base + 3 * quarter, quarter / 2);
				break;
			case 3:
				qio_send(&q[i], "write -z %llu %llu",
					 (unsigned long long)(base + 3 * quarter + quarter / 2),
					 (unsigned long long)(quarter / 2));
				model_write(base + 3 * quarter + quarter / 2, quarter / 2, 0);
				break;
			case 4:
				qio_send(&q[i], "flush");
				break;
			}
		}
		for (i = 0; i < SESSIONS; i++)
			qio_wait(&q[i]);
	}
	/* no connection caches: each sees what the others wrote */
	for (i = 0; i < SESSIONS; i++)
		for (int j = 0; j < SESSIONS; j++) {
			base = CONC_BASE + (uint64_t)((i + j) % SESSIONS) * SESSION_AREA;
			read_check(&q[i], base, 3 * quarter);
			read_check(&q[i], base + 3 * quarter + quarter / 2, quarter / 2);
		}
	for (i = 0; i < SESSIONS; i++)
		qio_stop(&q[i]);
}

struct injector {
	pthread_t thread;
	const char *what;
	volatile bool done;
	int status;
	char out[1024];
};

static void *inject_thread(void *arg)
{
	struct injector *in = arg;

	in->status = run_capture((const char *const[]){ hub_spawn_bin(), "inject", "--run-dir",
							g.t.run_dir, "dd", in->what, NULL },
				 in->out, sizeof(in->out));
	in->done = true;
	return NULL;
}

/*
 * A stream of 1 MiB writes (every fourth FUA) over [base, base+32M) while
 * "ddvm inject dd FAULT" runs, and STREAM_AFTER writes more once the
 * supervisor has begun the restart, which meet a DD/OS that is not back
 * yet: every write must complete and read back, and the supervisor must
 * have restarted the DD/OS exactly once.
 */
static void ride_through(const char *fault, uint64_t base)
{
	struct injector in = { .what = fault };
	unsigned int restarts = restarts_now(), k, after = 0;
	long long t0, longest = 0;
	struct qio q;

	ensure_up();
	qio_start(&q, fault);
	for (k = 0; after < STREAM_AFTER; k++) {
		if (k == STREAM_BEFORE)
			assert_int_equal(pthread_create(&in.thread, NULL, inject_thread, &in), 0);
		/* from the restart on: the next DD/OS is still booting */
		if (after || (k > STREAM_BEFORE && in.done && restarts_now() > restarts))
			after++;
		if (k == STREAM_MAX)
			fail_msg("%s: no restart of the DD/OS after %u writes (ddvm inject %s)", fault,
				 k, in.done ? "returned" : "still running");
		t0 = now_ms();
		write_pattern(&q, k % 4 ? "" : "-f", base + (k % STREAM_AREA_MIB) * MIB, MIB,
			      1 + k % 250);
		if (now_ms() - t0 > longest)
			longest = now_ms() - t0;
	}
	print_message("%s: %u writes of 1 MiB, the longest took %lld ms\n", fault, k, longest);
	pthread_join(in.thread, NULL);
	if (in.status)
		fail_msg("ddvm inject dd %s: status %d: %s", fault, in.status, in.out);
	qio_send(&q, "flush");
	qio_wait(&q);
	read_check(&q, base, STREAM_AREA_MIB * MIB);
	qio_stop(&q);
	for (k = 0; k < 100 && restarts_now() == restarts; k++)
		usleep(100 * 1000);
	if (restarts_now() != restarts + 1)
		fail_msg("%s: the supervisor restarted the DD/OS %u times, want once", fault,
			 restarts_now() - restarts);
}

static void test_ride_through_a_killed_dd_os(void **state)
{
	ride_through("kill", 64 * MIB);
}

/* The DD/OS puts garbage on the completion ring and fails: libddvm drops it, replays. */
static void test_ride_through_garbage_completions(void **state)
{
	ride_through("corrupt", 96 * MIB);
}

/* SIGTERM ends the bridge cleanly; the image holds exactly what was written. */
static void test_image_holds_what_was_written(void **state)
{
	unsigned long long reqs, replayed, gens, bad;
	const char *log;
	struct stat st;
	int status;

	ensure_up();
	assert_int_equal(kill(g.nbd, SIGTERM), 0);
	assert_int_equal(waitpid(g.nbd, &status, 0), g.nbd);
	g.nbd = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("ddvm blk nbd: wait status %d after SIGTERM:\n%s", status, nbd_stderr());
	if (!lstat(g.sock, &st))
		fail_msg("%s is still there after ddvm blk nbd ended", g.sock);
	/* the plugin's summary: two restarts replayed, the garbage dropped */
	log = strstr(nbd_stderr(), "ddvm plugin: channel ");
	if (!log || sscanf(strstr(log + 21, ": ") + 2, "%llu requests, %llu replayed over %llu server "
			   "generations, %llu bad", &reqs, &replayed, &gens, &bad) != 4)
		fail_msg("no channel summary from the plugin:\n%s", nbd_stderr());
	print_message("%s", log);
	assert_true(replayed > 0);
	assert_int_equal(gens, 3);
	assert_true(bad > 0);
	if (vmtest_down(&g.t, true))
		fail_msg("ddvm down: %s", g.t.log);
	g.up = false;
	compare_image();
	vmtest_down(&g.t, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export_as_nbdinfo_and_qemu_img_see_it),
		cmocka_unit_test(test_qemu_io_writes_zeroes_trims_and_reads_back),
		cmocka_unit_test(test_connections_at_once),
		cmocka_unit_test(test_ride_through_a_killed_dd_os),
		cmocka_unit_test(test_ride_through_garbage_completions),
		cmocka_unit_test(test_image_holds_what_was_written),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
