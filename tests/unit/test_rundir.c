// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the supervisor's run directory, state file and disk images. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "image.h"
#include "rundir.h"
#include "state.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/ddvm-test-rundir-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	unsetenv(DDVM_RUN_DIR_ENV);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void path(char *buf, size_t len, const char *part)
{
	snprintf(buf, len, "%s/%s", dir, part);
}

static void touch(const char *part, const char *text)
{
	char p[256];
	FILE *f;

	path(p, sizeof(p), part);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *part)
{
	char p[256];

	path(p, sizeof(p), part);
	return access(p, F_OK) == 0;
}

static void test_pick(void **state)
{
	assert_string_equal(ddvm_run_dir_pick(NULL, NULL), "run");
	assert_string_equal(ddvm_run_dir_pick(NULL, "cfg"), "cfg");
	setenv(DDVM_RUN_DIR_ENV, "env", 1);
	assert_string_equal(ddvm_run_dir_pick(NULL, "cfg"), "env");
	assert_string_equal(ddvm_run_dir_pick("flag", "cfg"), "flag");
	unsetenv(DDVM_RUN_DIR_ENV);
	assert_string_equal(ddvm_run_dir_pick("", "cfg"), "cfg");
}

static void test_socket_paths(void **state)
{
	char buf[DDVM_SOCK_PATH_MAX], run[120];
	struct ddvm_err err;

	assert_int_equal(ddvm_hub_socket_path(buf, sizeof(buf), "/r", "disk0", "c0", &err), 0);
	assert_string_equal(buf, "/r/hub/disk0.c0.sock");
	assert_int_equal(ddvm_qmp_socket_path(buf, sizeof(buf), "/r", "disk0", &err), 0);
	assert_string_equal(buf, "/r/disk0/qmp.sock");

	memset(run, 'x', sizeof(run) - 1);
	run[sizeof(run) - 1] = '\0';
	assert_int_equal(ddvm_hub_socket_path(buf, sizeof(buf), run, "d", "c", &err),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "unix socket"));
	assert_int_equal(ddvm_qmp_socket_path(buf, sizeof(buf), run, "d", &err), -ENAMETOOLONG);
}

static void test_lock(void **state)
{
	char run[128];
	struct ddvm_err err;
	int fd, fd2;

	path(run, sizeof(run), "run");
	assert_int_equal(ddvm_run_owner(run), 0);	/* no directory yet */
	assert_int_equal(ddvm_run_lock(run, &fd, &err), 0);
	assert_int_equal(ddvm_run_owner(run), -1);	/* locked, no pid yet */
	assert_int_equal(ddvm_run_write_pid(fd, 4242), 0);
	assert_int_equal(ddvm_run_owner(run), 4242);

	/* a second owner is refused, naming the first */
	assert_int_equal(ddvm_run_lock(run, &fd2, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "4242"));
	assert_non_null(strstr(err.msg, run));

	/* closing the last descriptor releases it: the pid file is now stale */
	close(fd);
	assert_int_equal(ddvm_run_owner(run), 0);
	assert_int_equal(ddvm_run_lock(run, &fd, &err), 0);
	close(fd);
}

static void test_lock_follows_fork(void **state)
{
	char run[128];
	struct ddvm_err err;
	int fd, p[2];
	char c;
	pid_t pid;

	path(run, sizeof(run), "run");
	assert_int_equal(ddvm_run_lock(run, &fd, &err), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* the daemon: keeps the lock after its parent lets go */
		ddvm_run_write_pid(fd, getpid());
		close(p[0]);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(fd);
	assert_int_equal(ddvm_run_owner(run), pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* a killed daemon never leaves the directory owned */
	assert_int_equal(ddvm_run_owner(run), 0);
	close(p[0]);
}

static json_t *sample_state(const char *run)
{
	return json_pack("{s:i, s:i, s:b, s:I, s:I, s:s, s:s, s:s, s:s,"
			 " s:{s:i, s:s, s:s}, s:[{s:s, s:s, s:i, s:i, s:i, s:I, s:s, s:s,"
			 " s:s, s:[{s:s}, {s:s}]}]}",
			 "version", DDVM_STATE_VERSION, "supervisor_pid", 77, "running", 1,
			 "started_at", (json_int_t)0, "updated_at", (json_int_t)0,
			 "run_dir", run, "config", "x.json", "accel", "tcg",
			 "accel_reason", "no vmx/svm",
			 "hub", "pid", 78, "state", "running", "last_error", "",
			 "domains", "name", "disk0", "state", "serving", "qemu_pid", 79,
			 "boots", 2, "restarts", 1, "last_boot_ms", (json_int_t)2100,
			 "controller", "virtio-blk", "device", "/dev/vda",
			 "last_error", "QEMU killed by signal 9",
			 "channels", "name", "c0", "name", "c1");
}

static void test_state_roundtrip_and_resolve(void **state)
{
	char run[128], buf[DDVM_SOCK_PATH_MAX], want[256];
	struct ddvm_err err;
	json_t *st, *back;
	char *text;

	path(run, sizeof(run), "run");
	assert_int_equal(mkdir(run, 0755), 0);
	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "disk0.c0", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "ddvm up"));

	st = sample_state(run);
	assert_non_null(st);
	assert_int_equal(ddvm_state_save(run, st, &err), 0);
	assert_false(exists("run/state.json.tmp"));
	assert_int_equal(ddvm_state_load(run, &back, &err), 0);
	assert_true(json_equal(st, back));
	json_decref(back);

	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "disk0.c1", &err), 0);
	snprintf(want, sizeof(want), "%s/hub/disk0.c1.sock", run);
	assert_string_equal(buf, want);
	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "disk0.c9", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "disk0.c0, disk0.c1"));
	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "disk0", &err), -EINVAL);
	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "Disk0.c0", &err), -EINVAL);
	assert_int_equal(ddvm_resolve_channel(buf, sizeof(buf), run, "a.b.c", &err), -EINVAL);

	/* what client commands call: DOMAIN.CHANNEL of $DDVM_RUN_DIR, or a path as it is */
	setenv(DDVM_RUN_DIR_ENV, run, 1);
	assert_int_equal(ddvm_channel_socket(buf, sizeof(buf), "disk0.c1", &err), 0);
	assert_string_equal(buf, want);
	assert_int_equal(ddvm_channel_socket(buf, sizeof(buf), "disk0.c9", &err), -ENOENT);
	unsetenv(DDVM_RUN_DIR_ENV);
	assert_int_equal(ddvm_channel_socket(buf, sizeof(buf), "./other/x.sock", &err), 0);
	assert_string_equal(buf, "./other/x.sock");
	memset(want, 'a', 150);
	want[0] = '/';
	want[150] = '\0';
	assert_int_equal(ddvm_channel_socket(buf, sizeof(buf), want, &err), -ENAMETOOLONG);

	text = ddvm_state_format(st, 1);
	assert_non_null(text);
	if (!strstr(text, "supervisor pid 77") || !strstr(text, "disk0") ||
	    !strstr(text, "serving") || !strstr(text, "2.1 s") ||
	    !strstr(text, "disk0.c0 disk0.c1") || !strstr(text, "QEMU killed by signal 9"))
		fail_msg("table lacks something:\n%s", text);
	free(text);
	text = ddvm_state_format(st, 0);	/* running=true but dead: stale */
	assert_non_null(strstr(text, "died"));
	free(text);
	json_object_set_new(st, "running", json_false());
	text = ddvm_state_format(st, 0);
	assert_non_null(strstr(text, "stopped"));
	free(text);
	json_decref(st);
}

static void test_state_load_rejects(void **state)
{
	char run[128];
	struct ddvm_err err;
	json_t *st;

	path(run, sizeof(run), "run");
	assert_int_equal(mkdir(run, 0755), 0);
	touch("run/state.json", "{ not json");
	assert_int_equal(ddvm_state_load(run, &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "state.json"));
	touch("run/state.json", "{\"version\": 99, \"domains\": []}");
	assert_int_equal(ddvm_state_load(run, &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "version"));
}

static void bind_socket(const char *part)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	path(sa.sun_path, sizeof(sa.sun_path), part);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

static void test_clean_stale(void **state)
{
	char run[128];

	path(run, sizeof(run), "run");
	assert_int_equal(mkdir(run, 0755), 0);
	path(run, sizeof(run), "run/hub");
	assert_int_equal(mkdir(run, 0755), 0);
	path(run, sizeof(run), "run/disk0");
	assert_int_equal(mkdir(run, 0755), 0);
	bind_socket("run/hub/disk0.c0.sock");
	bind_socket("run/disk0/qmp.sock");
	touch("run/state.json", "{}");
	touch("run/supervisor.log", "old log\n");
	touch("run/disk0/console.log", "old console\n");
	touch("run/hub/keep.txt", "not a socket\n");

	path(run, sizeof(run), "run");
	ddvm_run_clean_stale(run);
	assert_false(exists("run/hub/disk0.c0.sock"));
	assert_false(exists("run/disk0/qmp.sock"));
	assert_false(exists("run/state.json"));
	assert_false(exists("run/supervisor.log"));
	assert_true(exists("run/supervisor.log.old"));
	assert_true(exists("run/disk0/console.log.old"));
	assert_true(exists("run/hub/keep.txt"));
}

static void test_image(void **state)
{
	struct ddvm_domain_cfg d;
	struct ddvm_err err;
	struct stat st;
	uint64_t size;
	bool created;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "disk0");
	snprintf(d.disk.image, sizeof(d.disk.image), "%s/var/sub/disk0.img", dir);
	d.disk.size = 3ULL << 20;

	/* missing: created, directories too, sparse and exact */
	assert_int_equal(ddvm_image_prepare(&d, &created, &size, &err), 0);
	assert_true(created);
	assert_int_equal(size, 3ULL << 20);
	assert_int_equal(stat(d.disk.image, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);
	assert_true(st.st_blocks * 512 < st.st_size);

	/* present with the right size: left alone */
	assert_int_equal(ddvm_image_prepare(&d, &created, &size, &err), 0);
	assert_false(created);

	/* present with another size: an error naming it, and untouched */
	d.disk.size = 4ULL << 20;
	assert_int_equal(ddvm_image_prepare(&d, &created, &size, &err), -EINVAL);
	assert_non_null(strstr(err.msg, d.disk.image));
	assert_non_null(strstr(err.msg, "disk0"));
	assert_non_null(strstr(err.msg, "3M"));
	assert_int_equal(stat(d.disk.image, &st), 0);
	assert_int_equal(st.st_size, 3 << 20);

	/* size not given: whatever is there */
	d.disk.size = 0;
	assert_int_equal(ddvm_image_prepare(&d, &created, &size, &err), 0);
	assert_int_equal(size, 3ULL << 20);

	/* not a file */
	snprintf(d.disk.image, sizeof(d.disk.image), "%s", dir);
	assert_int_equal(ddvm_image_prepare(&d, &created, &size, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "neither"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_follows_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_roundtrip_and_resolve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_load_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
