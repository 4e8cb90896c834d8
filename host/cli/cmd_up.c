// SPDX-License-Identifier: GPL-2.0
/* ddvm up: check the config, take the run directory, start the supervisor and show its progress. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "accel.h"
#include "commands.h"
#include "config.h"
#include "image.h"
#include "rundir.h"
#include "state.h"
#include "progress.h"
#include "supervisor.h"
#include "units.h"

#define UP_USAGE \
	"usage: ddvm up [--foreground] [--run-dir DIR] [CONFIG]\n" \
	"  Starts the hub and every driver domain of CONFIG (default: one virtio-blk\n" \
	"  domain \"disk0\" with channel \"c0\") under a supervisor that owns DIR\n" \
	"  (--run-dir, else $" DDVM_RUN_DIR_ENV ", else the config's run_dir, else ./run).\n" \
	"  Then starts CONFIG's client VMs (\"vms\") once the domains they use serve.\n" \
	"  Returns once every domain serves and every VM runs (0) or one failed (1).\n" \
	"  --foreground  run the supervisor here, logging to stderr, until ^C\n"

/* Create missing images (saying so) and check the others. */
static int prepare_images(const struct ddvm_config *cfg, struct ddvm_err *err)
{
	char sz[24];
	unsigned int i;
	uint64_t size;
	bool created;
	int ret;

	for (i = 0; i < cfg->nr_domains; i++) {
		ret = ddvm_image_prepare(&cfg->domains[i], &created, &size, err);
		if (ret)
			return ret;
		if (created)
			printf("%s: created %s (%s, sparse)\n", cfg->domains[i].name,
			       cfg->domains[i].disk.image, ddvm_format_size(size, sz, sizeof(sz)));
	}
	return 0;
}

static void show_progress(void *arg, const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
}


/* The state as the supervisor last wrote it; it says itself whether it still runs. */
static void summary(const char *run_dir, bool ok)
{
	struct ddvm_err err;
	json_t *st, *d;
	bool running;
	char *text;
	size_t i;

	if (ddvm_state_load(run_dir, &st, &err)) {
		fprintf(stderr, "ddvm up: %s\n", err.msg);
		return;
	}
	running = json_is_true(json_object_get(st, "running"));
	text = ddvm_state_format(st, running);
	if (text)
		printf("\n%s", text);
	free(text);
	if (!ok) {
		json_array_foreach(json_object_get(st, "domains"), i, d)
			if (!strcmp(json_string_value(json_object_get(d, "state")) ?: "", "failed"))
				fprintf(stderr, "ddvm up: %s failed: %s\n",
					json_string_value(json_object_get(d, "name")),
					json_string_value(json_object_get(d, "last_error")));
		json_array_foreach(json_object_get(st, "vms"), i, d)
			if (!strcmp(json_string_value(json_object_get(d, "state")) ?: "", "failed"))
				fprintf(stderr, "ddvm up: client VM %s failed: %s\n",
					json_string_value(json_object_get(d, "name")),
					json_string_value(json_object_get(d, "last_error")));
		if (running)
			fprintf(stderr, "ddvm up: the supervisor keeps the other domains running; "
				"'ddvm down' stops it\n");
		else
			fprintf(stderr, "ddvm up: nothing left running; logs in %s\n", run_dir);
	}
	json_decref(st);
}

static int run_daemon(struct ddvm_supervisor_opts *o, int logfd)
{
	struct ddvm_err err;
	int null_fd, ret;

	/* a daemon: no terminal, no hold on the directory it was started in */
	setsid();
	if (chdir("/"))
		return 1;
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0)
		dup2(null_fd, STDIN_FILENO);
	dup2(logfd, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	o->log_fd = STDERR_FILENO;
	ret = ddvm_supervise(o, &err);
	if (ret)
		dprintf(STDERR_FILENO, "supervisor: %s\n", err.msg);
	return ret ? 1 : 0;
}

int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ddvm_supervisor_opts o = { .exe = "/proc/self/exe" };
	static struct ddvm_config cfg;
	const char *run_flag = NULL, *cfg_path = NULL;
	char cwd[PATH_MAX], logpath[DDVM_PATH_MAX + 32];
	struct ddvm_accel accel;
	struct ddvm_err err;
	bool foreground = false;
	int c, ret, lock_fd, logfd, pp[2];
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hfr:", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'r':
			run_flag = optarg;
			break;
		case 'h':
			fputs(UP_USAGE, stdout);
			return 0;
		default:
			fputs(UP_USAGE, stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		fputs(UP_USAGE, stderr);
		return 2;
	}
	if (optind < argc)
		cfg_path = argv[optind];

	if (ddvm_config_load(&cfg, cfg_path, &err))
		goto out_err;
	if (run_flag || getenv(DDVM_RUN_DIR_ENV)) {
		const char *rd = ddvm_run_dir_pick(run_flag, NULL);

		if (strlen(rd) >= sizeof(cfg.run_dir)) {
			ddvm_errf(&err, -ENAMETOOLONG, "run directory %s: path too long", rd);
			goto out_err;
		}
		memcpy(cfg.run_dir, rd, strlen(rd) + 1);
	}
	if (!getcwd(cwd, sizeof(cwd))) {
		ddvm_errf(&err, -errno, "getcwd: %s", strerror(errno));
		goto out_err;
	}
	if (ddvm_config_absolutize(&cfg, cwd, &err) ||
	    ddvm_accel_for_config(cfg.accel, cfg.source, &accel, &err) ||
	    ddvm_supervisor_preflight(&cfg, &err))
		goto out_err;
	if (ddvm_run_lock(cfg.run_dir, &lock_fd, &err))
		goto out_err;
	if (prepare_images(&cfg, &err)) {
		close(lock_fd);
		goto out_err;
	}
	ddvm_run_clean_stale(cfg.run_dir);

	o.cfg = &cfg;
	o.accel = &accel;
	o.lock_fd = lock_fd;
	printf("ddvm up: %u domain%s from %s, accel %s (%s), run dir %s\n", cfg.nr_domains,
	       cfg.nr_domains == 1 ? "" : "s", cfg.source,
	       ddvm_accel_name(&accel), accel.reason, cfg.run_dir);
	fflush(stdout);

	if (foreground) {
		o.progress_fd = STDOUT_FILENO;
		o.foreground = true;
		o.log_fd = STDERR_FILENO;
		ret = ddvm_supervise(&o, &err);
		close(lock_fd);
		if (ret)
			goto out_err;
		return 0;
	}

	snprintf(logpath, sizeof(logpath), "%s/" DDVM_LOG_FILE, cfg.run_dir);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		ddvm_errf(&err, -errno, "%s: %s", logpath, strerror(errno));
		close(lock_fd);
		goto out_err;
	}
	if (pipe2(pp, O_CLOEXEC)) {
		ddvm_errf(&err, -errno, "pipe: %s", strerror(errno));
		close(lock_fd);
		close(logfd);
		goto out_err;
	}
	pid = fork();
	if (pid < 0) {
		ddvm_errf(&err, -errno, "fork: %s", strerror(errno));
		close(lock_fd);
		close(logfd);
		close(pp[0]);
		close(pp[1]);
		goto out_err;
	}
	if (pid == 0) {
		close(pp[0]);
		o.progress_fd = pp[1];
		_exit(run_daemon(&o, logfd));
	}
	/* the daemon holds the run directory's lock now; ours would outlive it */
	close(lock_fd);
	close(logfd);
	close(pp[1]);
	ret = ddvm_progress_follow(pp[0], -1, show_progress, NULL);
	close(pp[0]);
	if (ret < 0) {
		fprintf(stderr, "ddvm up: the supervisor (pid %d) exited during start-up; see %s\n",
			(int)pid, logpath);
		return 1;
	}
	summary(cfg.run_dir, ret == 0);
	return ret ? 1 : 0;

out_err:
	fprintf(stderr, "ddvm up: %s\n", err.msg);
	return 1;
}
