// SPDX-License-Identifier: GPL-2.0
/* Run directory ownership (an OFD lock on the pid file), paths, and stale cleanup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "rundir.h"
#include "state.h"

const char *ddvm_run_dir_pick(const char *flag, const char *config_value)
{
	const char *env = getenv(DDVM_RUN_DIR_ENV);

	if (flag && *flag)
		return flag;
	if (env && *env)
		return env;
	if (config_value && *config_value)
		return config_value;
	return DDVM_DEFAULT_RUN_DIR;
}

int ddvm_run_path(char *buf, size_t len, const char *run_dir, const char *part,
		  struct ddvm_err *err)
{
	int n = snprintf(buf, len, "%s/%s", run_dir, part);

	if (n < 0 || (size_t)n >= len)
		return ddvm_errf(err, -ENAMETOOLONG, "path %s/%s is too long", run_dir, part);
	return 0;
}

int ddvm_hub_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			 const char *channel, struct ddvm_err *err)
{
	int n = snprintf(buf, len, "%s/" DDVM_HUB_DIR "/%s.%s.sock", run_dir, domain, channel);

	if (n < 0 || (size_t)n >= len || n >= DDVM_SOCK_PATH_MAX)
		return ddvm_errf(err, -ENAMETOOLONG,
				 "socket path %s/" DDVM_HUB_DIR "/%s.%s.sock is longer than a unix "
				 "socket allows (%d bytes); use a shorter run directory",
				 run_dir, domain, channel, DDVM_SOCK_PATH_MAX - 1);
	return 0;
}

int ddvm_domain_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			    const char *name, struct ddvm_err *err)
{
	int n = snprintf(buf, len, "%s/%s/%s", run_dir, domain, name);

	if (n < 0 || (size_t)n >= len || n >= DDVM_SOCK_PATH_MAX)
		return ddvm_errf(err, -ENAMETOOLONG,
				 "socket path %s/%s/%s is longer than a unix socket "
				 "allows (%d bytes); use a shorter run directory",
				 run_dir, domain, name, DDVM_SOCK_PATH_MAX - 1);
	return 0;
}

int ddvm_qmp_socket_path(char *buf, size_t len, const char *run_dir, const char *domain,
			 struct ddvm_err *err)
{
	return ddvm_domain_socket_path(buf, len, run_dir, domain, DDVM_QMP_SOCK, err);
}

int ddvm_resolve_channel(char *buf, size_t len, const char *run_dir, const char *name,
			 struct ddvm_err *err)
{
	char domain[DDVM_NAME_MAX + 1], list[256] = "";
	const char *dot = strchr(name, '.');
	json_t *st, *d, *c;
	size_t i, j, off = 0;
	int ret;

	if (!dot || (size_t)(dot - name) > DDVM_NAME_MAX)
		goto bad_name;
	memcpy(domain, name, (size_t)(dot - name));
	domain[dot - name] = '\0';
	if (!ddvm_valid_name(domain) || !ddvm_valid_name(dot + 1))
		goto bad_name;

	ret = ddvm_state_load(run_dir, &st, err);
	if (ret)
		return ddvm_err_prefix(err, ret, "channel %s: no supervisor state (ddvm up?): ",
				       name);
	json_array_foreach(json_object_get(st, "domains"), i, d) {
		const char *dn = json_string_value(json_object_get(d, "name"));

		json_array_foreach(json_object_get(d, "channels"), j, c) {
			const char *cn = json_string_value(json_object_get(c, "name"));

			if (!dn || !cn)
				continue;
			if (!strcmp(dn, domain) && !strcmp(cn, dot + 1)) {
				/* dn and cn live in st: use them before letting go */
				ret = ddvm_hub_socket_path(buf, len, run_dir, dn, cn, err);
				json_decref(st);
				return ret;
			}
			if (off < sizeof(list))
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s.%s",
							off ? ", " : "", dn, cn);
		}
	}
	json_decref(st);
	return ddvm_errf(err, -ENOENT, "no channel %s in %s (channels: %s)", name, run_dir,
			 off ? list : "none");

bad_name:
	return ddvm_errf(err, -EINVAL,
			 "bad channel name \"%.80s\" (want DOMAIN.CHANNEL, e.g. disk0.c0)", name);
}

int ddvm_channel_socket(char *buf, size_t len, const char *name, struct ddvm_err *err)
{
	int n;

	if (!strchr(name, '/'))
		return ddvm_resolve_channel(buf, len, ddvm_run_dir_pick(NULL, NULL), name, err);
	n = snprintf(buf, len, "%s", name);
	if (n < 0 || (size_t)n >= len || n >= DDVM_SOCK_PATH_MAX)
		return ddvm_errf(err, -ENAMETOOLONG, "socket path %.80s... is too long", name);
	return 0;
}

int ddvm_run_lock(const char *run_dir, int *fd, struct ddvm_err *err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[4096];
	pid_t owner;
	int ret, f;

	if (mkdir(run_dir, 0755) && errno != EEXIST)
		return ddvm_errf(err, -errno, "run directory %s: %s", run_dir, strerror(errno));
	ret = ddvm_run_path(path, sizeof(path), run_dir, DDVM_PID_FILE, err);
	if (ret)
		return ret;
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f < 0)
		return ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	/*
	 * An open-file-description lock: it follows the descriptor into the
	 * forked daemon and dies with it, so a crashed supervisor never
	 * leaves the directory "owned", and a reused pid cannot fake it.
	 */
	if (fcntl(f, F_OFD_SETLK, &fl)) {
		ret = -errno;
		close(f);
		if (ret != -EAGAIN && ret != -EACCES)
			return ddvm_errf(err, ret, "%s: lock: %s", path, strerror(-ret));
		owner = ddvm_run_owner(run_dir);
		if (owner > 0)
			return ddvm_errf(err, -EBUSY,
					 "%s is in use by the supervisor with pid %d (ddvm down first)",
					 run_dir, (int)owner);
		return ddvm_errf(err, -EBUSY, "%s is in use by a supervisor that is starting",
				 run_dir);
	}
	*fd = f;
	return 0;
}

int ddvm_run_write_pid(int fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

pid_t ddvm_run_owner(const char *run_dir)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[4096], buf[32];
	ssize_t n;
	long pid;
	int fd;

	if (ddvm_run_path(path, sizeof(path), run_dir, DDVM_PID_FILE, NULL))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_OFD_GETLK, &fl) || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 ? (pid_t)pid : -1;
}

static void unlink_at(const char *dir, const char *name)
{
	char p[4096];

	if (snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p))
		unlink(p);
}

/* Keep the previous run's log once: it is what explains a failure. */
static void rotate(const char *dir, const char *name)
{
	char a[4096], b[4096 + 4];

	if (snprintf(a, sizeof(a), "%s/%s", dir, name) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s.old", a) >= (int)sizeof(b))
		return;
	rename(a, b);
}

void ddvm_run_clean_stale(const char *run_dir)
{
	char sub[4096];
	struct dirent *de;
	DIR *d;
	size_t n;

	unlink_at(run_dir, DDVM_STATE_FILE);
	rotate(run_dir, DDVM_LOG_FILE);
	rotate(run_dir, DDVM_HUB_LOG);

	if (snprintf(sub, sizeof(sub), "%s/" DDVM_HUB_DIR, run_dir) < (int)sizeof(sub)) {
		d = opendir(sub);
		while (d && (de = readdir(d))) {
			n = strlen(de->d_name);
			if (n > 5 && !strcmp(de->d_name + n - 5, ".sock"))
				unlink_at(sub, de->d_name);
		}
		if (d)
			closedir(d);
	}

	/* per-domain directories, including those of domains since removed */
	d = opendir(run_dir);
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || !ddvm_valid_name(de->d_name) ||
		    !strcmp(de->d_name, DDVM_HUB_DIR))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", run_dir, de->d_name) >= (int)sizeof(sub))
			continue;
		unlink_at(sub, DDVM_QMP_SOCK);
		rotate(sub, DDVM_CONSOLE_LOG);
	}
	if (d)
		closedir(d);
}
