// SPDX-License-Identifier: GPL-2.0
/* Atomic save and checked load of RUN/state.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

json_t *ddvm_json_string(const char *s)
{
	json_t *j = json_string(s);
	char *copy, *p;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void print_uptime(FILE *f, long long secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		fprintf(f, "%llds", secs);
	else if (secs < 7200)
		fprintf(f, "%lldm", secs / 60);
	else
		fprintf(f, "%lldh%02lldm", secs / 3600, secs / 60 % 60);
}

/* A heartbeat age for people: "-" never, "0.3s", "42s". */
static void print_beat(char *buf, size_t len, long long ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (ms < 10000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 100000000)
		snprintf(buf, len, "%llds", ms / 1000);
	else
		snprintf(buf, len, "long");
}

/*
 * "02:dd:.. eth0 link up, offload, rx 10 (0 dropped), tx 12 (1 dropped:
 * 1 bad offload header)": the offload counters only when they say something.
 */
static void print_net_counters(FILE *f, json_t *net)
{
	long long bad = num(net, "tx_bad_hdr"), cut = num(net, "rx_segmented");

	fprintf(f, "%s %s %s%s, rx %lld (%lld dropped", str(net, "mac"), str(net, "ifname"),
		json_is_true(json_object_get(net, "link_up")) ? "link up" : "link down",
		json_is_true(json_object_get(net, "offload")) ? ", offload" : "",
		num(net, "rx_frames"), num(net, "rx_dropped"));
	if (cut)
		fprintf(f, ", %lld GSO frames cut", cut);
	fprintf(f, "), tx %lld (%lld dropped", num(net, "tx_frames"), num(net, "tx_dropped"));
	if (bad)
		fprintf(f, ": %lld bad offload header%s", bad, bad == 1 ? "" : "s");
	fprintf(f, ")");
}

/* One line per channel: what its region said at the last update. */
static void print_channel(FILE *f, json_t *d, json_t *c)
{
	json_t *srv = json_object_get(c, "server"), *cli = json_object_get(c, "client");
	json_t *net = json_object_get(srv, "net"), *blk = json_object_get(srv, "blk");
	char name[80], beat[16], gen[16];

	snprintf(name, sizeof(name), "%s.%s", str(d, "name"), str(c, "name"));
	if (!srv || !strcmp(str(srv, "state"), "none")) {
		fprintf(f, "%-18s %-4s %-8s %5s %6s %-7s %s", name, str(c, "kind"),
			srv ? "-" : "?", "", "", *str(cli, "state") ? str(cli, "state") : "?",
			srv ? "never served" : "no live data");
		if (!strcmp(str(c, "kind"), "net"))
			fprintf(f, " (client MAC %s)", str(c, "mac"));
		fprintf(f, "\n");
		return;
	}
	print_beat(beat, sizeof(beat), num(srv, "heartbeat_age_ms"));
	snprintf(gen, sizeof(gen), "%lld", num(srv, "generation"));
	fprintf(f, "%-18s %-4s %-8s %5s %6s %-7s ", name, str(srv, "type"), str(srv, "state"),
		gen, beat, str(cli, "state"));
	if (net)
		print_net_counters(f, net);
	else if (blk)
		fprintf(f, "%s (%s), %lld completed", str(blk, "export"), str(blk, "driver"),
			num(srv, "completed"));
	if (strcmp(str(srv, "error"), "none") && *str(srv, "error"))
		fprintf(f, "%serror %s", net || blk ? "; " : "", str(srv, "error"));
	fprintf(f, "\n");
}

/*
 * "restarts: hang 1, panic 2 (last panic); back serving in 420 ms median,
 * 610 worst; clients in RUN 450/650 ms"
 */
static void print_restarts(FILE *f, json_t *d)
{
	json_t *causes = json_object_get(d, "restart_causes");
	json_t *ready = json_object_get(d, "restart_ready_ms");
	json_t *run = json_object_get(d, "restart_run_ms");
	const char *key, *sep = "";
	json_t *v;

	fprintf(f, "%-12s restarts:", "");
	json_object_foreach(causes, key, v)
		if (json_integer_value(v) > 0) {
			fprintf(f, "%s %s %lld", sep, key, (long long)json_integer_value(v));
			sep = ",";
		}
	if (*str(d, "last_restart_cause"))
		fprintf(f, " (last %s)", str(d, "last_restart_cause"));
	if (num(ready, "count") > 0)
		fprintf(f, "; serving again in %lld ms median, %lld worst", num(ready, "median_ms"),
			num(ready, "worst_ms"));
	if (num(run, "count") > 0)
		fprintf(f, "; clients in RUN in %lld ms median, %lld worst", num(run, "median_ms"),
			num(run, "worst_ms"));
	fprintf(f, "\n");
}

/* "disk /dev/vda <- disk0.c0 via nbd, bridge pid 4300 running (2 restarts)" */
static void print_vm_dev(FILE *f, json_t *dev, const char *kind, int live)
{
	json_t *br = json_object_get(dev, "bridge");
	char guest[48];

	snprintf(guest, sizeof(guest), "%s%s%s", str(dev, "guest"),
		 *str(dev, "address") ? " " : "", str(dev, "address"));
	fprintf(f, "%-12s %-4s %-24s <- %s via %s", "", kind, guest, str(dev, "channel"),
		str(dev, "via"));
	if (br) {
		fprintf(f, ", bridge %s", str(br, "state"));
		if (live && num(br, "pid"))
			fprintf(f, " pid %lld", num(br, "pid"));
		if (num(br, "restarts"))
			fprintf(f, " (%lld restart%s)", num(br, "restarts"),
				num(br, "restarts") == 1 ? "" : "s");
		if (*str(br, "last_error"))
			fprintf(f, ": %s", str(br, "last_error"));
	}
	fprintf(f, "\n");
}

/* The client VMs: one line each, then one per disk and NIC, its run script and error. */
static void print_vms(FILE *f, json_t *vms, int live)
{
	json_t *vm, *dev, *run;
	size_t i, j;

	fprintf(f, "\n%-12s %-10s %-7s %8s %s\n", "VM", "STATE", "PID", "READY", "UP");
	json_array_foreach(vms, i, vm) {
		long long ms = num(vm, "boot_ms"), code = num(vm, "exit_status");
		char state[32], ready[24];

		if (!strcmp(str(vm, "state"), "exited") && code >= 128)
			snprintf(state, sizeof(state), "killed %lld", code - 128);
		else if (!strcmp(str(vm, "state"), "exited"))
			snprintf(state, sizeof(state), "exited %lld", code);
		else
			snprintf(state, sizeof(state), "%s", str(vm, "state"));
		if (ms >= 0)
			snprintf(ready, sizeof(ready), "%.1f s", (double)ms / 1000.0);
		else
			snprintf(ready, sizeof(ready), "-");
		fprintf(f, "%-12s %-10s %-7lld %8s ", str(vm, "name"), state,
			live ? num(vm, "qemu_pid") : 0, ready);
		if (live && num(vm, "qemu_pid") && num(vm, "started_at") > 0 &&
		    (!strcmp(str(vm, "state"), "running") || !strcmp(str(vm, "state"), "booting")))
			print_uptime(f, (long long)time(NULL) - num(vm, "started_at"));
		else
			fprintf(f, "-");
		fprintf(f, "\n%-12s console %s, shell %s\n", "", str(vm, "console"),
			str(vm, "shell"));
		json_array_foreach(json_object_get(vm, "disks"), j, dev)
			print_vm_dev(f, dev, "disk", live);
		json_array_foreach(json_object_get(vm, "nics"), j, dev)
			print_vm_dev(f, dev, "nic", live);
		run = json_object_get(vm, "run");
		if (run && !strcmp(str(run, "state"), "done"))
			fprintf(f, "%-12s run %s: exited %lld\n", "", str(run, "script"),
				num(run, "exit_status"));
		else if (run)
			fprintf(f, "%-12s run %s: %s\n", "", str(run, "script"), str(run, "state"));
		if (*str(vm, "last_error"))
			fprintf(f, "%-12s last error: %s\n", "", str(vm, "last_error"));
	}
}

char *ddvm_state_format(json_t *st, int live)
{
	json_t *hub = json_object_get(st, "hub"), *doms = json_object_get(st, "domains");
	json_t *d, *c, *nic;
	size_t i, j, len = 0, nchan = 0;
	char *out = NULL;
	FILE *f;

	f = open_memstream(&out, &len);
	if (!f)
		return NULL;
	if (live) {
		fprintf(f, "supervisor pid %lld, up ", num(st, "supervisor_pid"));
		print_uptime(f, (long long)time(NULL) - num(st, "started_at"));
	} else if (!json_is_true(json_object_get(st, "running"))) {
		fprintf(f, "not running (supervisor pid %lld stopped ", num(st, "supervisor_pid"));
		print_uptime(f, (long long)time(NULL) - num(st, "updated_at"));
		fprintf(f, " ago)");
	} else {
		/* it never wrote its final state: it died */
		fprintf(f, "not running (supervisor pid %lld died; this state is stale, from ",
			num(st, "supervisor_pid"));
		print_uptime(f, (long long)time(NULL) - num(st, "updated_at"));
		fprintf(f, " ago)");
	}
	fprintf(f, "; accel %s (%s)\n", str(st, "accel"), str(st, "accel_reason"));
	fprintf(f, "run dir %s, config %s\n", str(st, "run_dir"), str(st, "config"));
	fprintf(f, "hub %s, pid %lld%s%s\n", str(hub, "state"), num(hub, "pid"),
		*str(hub, "last_error") ? ": " : "", str(hub, "last_error"));
	fprintf(f, "\n%-12s %-10s %-7s %5s %6s %8s %-22s %s\n", "DOMAIN", "STATE", "PID",
		"BOOTS", "RESTRT", "READY", "DEVICE", "CHANNELS");
	json_array_foreach(doms, i, d) {
		long long ms = num(d, "last_boot_ms");
		char ready[16], dev[48];

		nic = json_object_get(d, "nic");
		if (ms >= 0)
			snprintf(ready, sizeof(ready), "%.1f s", (double)ms / 1000.0);
		else
			snprintf(ready, sizeof(ready), "-");
		if (nic && *str(d, "controller"))
			snprintf(dev, sizeof(dev), "%s+%s", str(d, "controller"), str(nic, "model"));
		else if (nic)
			snprintf(dev, sizeof(dev), "%s %s", str(nic, "model"), str(nic, "tap"));
		else
			snprintf(dev, sizeof(dev), "%s %s", str(d, "controller"), str(d, "device"));
		fprintf(f, "%-12s %-10s %-7lld %5lld %6lld %8s %-22s", str(d, "name"),
			str(d, "state"), live ? num(d, "qemu_pid") : 0, num(d, "boots"),
			num(d, "restarts"), ready, dev);
		json_array_foreach(json_object_get(d, "channels"), j, c) {
			fprintf(f, " %s.%s", str(d, "name"), str(c, "name"));
			nchan++;
		}
		fprintf(f, "\n");
		if (nic && *str(nic, "netns"))
			fprintf(f, "%-12s wire %s in netns %s%s%s: %s\n", "", str(nic, "tap"),
				str(nic, "netns"), *str(nic, "address") ? ", " : "",
				str(nic, "address"), str(nic, "wire"));
		if (num(d, "restarts") > 0)
			print_restarts(f, d);
		if (json_object_get(d, "spare"))
			fprintf(f, "%-12s warm spare: %s, pid %lld (%lld boot%s)\n", "",
				str(json_object_get(d, "spare"), "state"),
				live ? num(json_object_get(d, "spare"), "pid") : 0,
				num(json_object_get(d, "spare"), "boots"),
				num(json_object_get(d, "spare"), "boots") == 1 ? "" : "s");
		if (*str(d, "last_error"))
			fprintf(f, "%-12s last error: %s\n", "", str(d, "last_error"));
	}
	if (nchan) {
		fprintf(f, "\n%-18s %-4s %-8s %5s %6s %-7s %s", "CHANNEL", "TYPE", "SERVER", "GEN",
			"BEAT", "CLIENT", "DETAIL");
		if (!live) {
			fprintf(f, " (as of ");
			print_uptime(f, (long long)time(NULL) - num(st, "updated_at"));
			fprintf(f, " ago)");
		}
		fprintf(f, "\n");
		json_array_foreach(doms, i, d)
			json_array_foreach(json_object_get(d, "channels"), j, c)
				print_channel(f, d, c);
	}
	if (json_array_size(json_object_get(st, "vms")))
		print_vms(f, json_object_get(st, "vms"), live);
	if (fclose(f)) {
		free(out);
		return NULL;
	}
	return out;
}
