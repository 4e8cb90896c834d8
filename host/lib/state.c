// SPDX-License-Identifier: GPL-2.0
/* Atomic save and checked load of RUN/state.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rundir.h"
#include "state.h"

int ddvm_state_save(const char *run_dir, json_t *state, struct ddvm_err *err)
{
	char path[4096], tmp[4096 + 8];
	int fd, ret;

	ret = ddvm_run_path(path, sizeof(path), run_dir, DDVM_STATE_FILE, err);
	if (ret)
		return ret;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return ddvm_errf(err, -ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ddvm_errf(err, -errno, "%s: %s", tmp, strerror(errno));
	ret = json_dumpfd(state, fd, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!ret && write(fd, "\n", 1) != 1)
		ret = -1;
	if (ret) {
		ret = ddvm_errf(err, -EIO, "%s: write failed", tmp);
		close(fd);
		unlink(tmp);
		return ret;
	}
	close(fd);
	if (rename(tmp, path)) {
		ret = ddvm_errf(err, -errno, "%s: rename: %s", path, strerror(errno));
		unlink(tmp);
		return ret;
	}
	return 0;
}

int ddvm_state_load(const char *run_dir, json_t **out, struct ddvm_err *err)
{
	char path[4096];
	json_error_t jerr;
	json_t *st;
	int ret;

	ret = ddvm_run_path(path, sizeof(path), run_dir, DDVM_STATE_FILE, err);
	if (ret)
		return ret;
	if (access(path, F_OK))
		return ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!st)
		return ddvm_errf(err, -EINVAL, "%s:%d: %s", path, jerr.line, jerr.text);
	if (!json_is_object(st) ||
	    json_integer_value(json_object_get(st, "version")) != DDVM_STATE_VERSION ||
	    !json_is_array(json_object_get(st, "domains"))) {
		json_decref(st);
		return ddvm_errf(err, -EINVAL, "%s: not a version %d ddvm state file", path,
				 DDVM_STATE_VERSION);
	}
	*out = st;
	return 0;
}
