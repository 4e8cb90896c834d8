// SPDX-License-Identifier: GPL-2.0
/* The supervisor daemon: hub first, one QEMU per domain, boot watch, restarts, state. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <uapi/ddvm/channel.h>

#include "chan_client.h"
#include "chanmon.h"
#include "preflight.h"
#include "qemu_args.h"
#include "qmp.h"
#include "restart.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "supervisor.h"
#include "vm_client.h"

enum dom_state {
	DOM_BOOTING,	/* first boot, not yet DDVM-READY */
	DOM_SERVING,
	DOM_RESTARTING,	/* a later boot, or waiting to start one */
	DOM_FAILED,	/* retries used up; stays down */
	DOM_STOPPED,
};

static const char *const dom_state_names[] = {
	[DOM_BOOTING] = "booting",
	[DOM_SERVING] = "serving",
	[DOM_RESTARTING] = "restarting",
	[DOM_FAILED] = "failed",
	[DOM_STOPPED] = "stopped",
};

/*
 * Why a serving domain was restarted.  The supervisor decides the cause
 * before it kills QEMU (hang, device failure, panic, watchdog); an exit it
 * did not cause is "qemu-exit".
 */
enum restart_cause {
	CAUSE_NONE = -1,
	CAUSE_EXIT,	/* QEMU exited or was killed by someone else */
	CAUSE_PANIC,	/* guest kernel panic (pvpanic, or its console line) */
	CAUSE_HANG,	/* no channel's heartbeat moved for hang_timeout */
	CAUSE_WATCHDOG,	/* the guest's i6300esb was not petted */
	CAUSE_FAILED,	/* a channel's server said FAILED */
	CAUSE_GUEST,	/* the guest said DDVM-FAIL */
	NR_CAUSES
};

static const char *const cause_names[NR_CAUSES] = {
	[CAUSE_EXIT] = "qemu-exit",
	[CAUSE_PANIC] = "panic",
	[CAUSE_HANG] = "hang",
	[CAUSE_WATCHDOG] = "watchdog",
	[CAUSE_FAILED] = "device-failed",
	[CAUSE_GUEST] = "guest-fail",
};

/* restarts remembered for the window and for the time statistics */
#define RESTART_LOG	DDVM_RESTART_HISTORY
/* after a restart's DDVM-READY, how long to look for the clients' RUN */
#define RUN_WATCH_MS	15000

struct restart_rec {
	int cause;
	long long ready_ms;	/* detection to DDVM-READY */
	long long run_ms;	/* detection to every client channel in RUN; -1 unseen */
};

/* epoll data: what became ready, and for which domain */
enum ev_kind { EV_SIGNAL, EV_CONSOLE, EV_TIMER, EV_QMP, EV_TICK, EV_SPARE, EV_SPARE_TIMER, EV_VM };
#define EV(kind, idx)	(((uint64_t)(kind) << 32) | (uint32_t)(idx))

#define LINE_MAX_SCAN	512	/* console line kept for matching; logs keep all */
/*
 * Channel sampling: hang and failure detection and the restart-to-RUN
 * measurement want a fine clock; a sample is a 1 KiB copy per channel.
 */
#define TICK_MS		50
#define SAVE_TICKS	20	/* state.json refresh: every second */
#define IP_TIMEOUT_MS	5000	/* one "ip" command of the wire setup */
#define NETNS_DIR	"/run/netns"	/* where "ip netns" keeps named namespaces */
/*
 * RUN/netns.created (rundir.h) lists the namespaces this supervisor made,
 * so the next one removes them if this one dies: state.json does not
 * survive "ddvm up"'s cleanup of a dead supervisor's run directory.
 */
#define NETNS_RECORD	DDVM_NETNS_RECORD
#define PANIC_PREFIX	"Kernel panic - not syncing:"

struct sv;

struct domain {
	struct sv *sv;
	const struct ddvm_domain_cfg *cfg;
	unsigned int idx;
	enum dom_state state;
	pid_t pid;		/* QEMU, 0 when none */
	int out_fd;		/* QEMU's stdout+stderr, -1 when closed */
	int console_fd;		/* RUN/NAME/console.log */
	int timer_fd;		/* boot timeout or restart delay */
	struct ddvm_qmp *qmp;	/* after DDVM-READY; for events and quit */
	unsigned int boots;
	unsigned int boot_failures;
	unsigned int restarts;
	unsigned int attempt;	/* failed boots since the last success */
	long long t_start;	/* monotonic ms at spawn */
	long long last_boot_ms;	/* -1: never served */
	bool ready;		/* this QEMU printed DDVM-READY */
	bool expect_exit;	/* we killed it or asked it to quit */
	char why[256];		/* why this QEMU is going down, if we know */
	char last_error[384];
	char line[LINE_MAX_SCAN];	/* console line being assembled */
	size_t line_len;
	char last_line[160];	/* last non-empty console line, for error messages */
	/* recovery bookkeeping */
	int cause;		/* of the current QEMU's end, once decided */
	long long t_detect;	/* monotonic ms the failure was seen; 0: no recovery under way */
	long long t_ready;	/* monotonic ms of this QEMU's DDVM-READY */
	bool watch_run;		/* measuring detection to the clients' RUN */
	uint32_t gen_at_ready[DDVM_MAX_CHANNELS];
	bool had_client[DDVM_MAX_CHANNELS];	/* a client laid out before the failure */
	unsigned int causes[NR_CAUSES];
	int last_cause;
	long long restart_at[RESTART_LOG];	/* monotonic ms, ring by restarts */
	struct restart_rec rlog[RESTART_LOG];	/* ring by restarts */
	const char *wire;	/* "none", "pending", "up", "failed" */
	struct ddvm_chanmon mon[DDVM_MAX_CHANNELS];
	/*
	 * The warm spare (cfg->warm_spare): a second QEMU booted up to the
	 * point of loading ddvm.ko, waiting for "ddvm-activate" on its ttyS1.
	 * It takes over when the domain's QEMU is dead, so a restart costs
	 * a module load instead of a boot.
	 */
	struct {
		pid_t pid;
		int out_fd;		/* its console */
		int timer_fd;		/* boot timeout, or when to start one */
		int ctl_fd;		/* its ttyS1 socket, connected once ready */
		bool ready;		/* said DDVM-SPARE */
		unsigned int boots;
		unsigned int failures;	/* in a row */
		long long t_start;
		char line[LINE_MAX_SCAN];
		size_t line_len;
	} spare;
	int activate_fd;	/* the promoted spare's ttyS1, until its DDVM-READY */
	int region_fd[DDVM_MAX_CHANNELS];	/* the memfds the hub inherits; -1 none */
};

struct sv {
	const struct ddvm_supervisor_opts *o;
	const struct ddvm_config *cfg;
	const char *run_dir;
	int epfd;
	int sig_fd;
	int progress_fd;
	time_t started_at;
	pid_t hub_pid;
	const char *hub_state;
	char hub_error[256];
	bool settled;		/* the start-up result was reported */
	bool stop;		/* leave the loop */
	int stop_reason;	/* 0 requested, -EIO all failed */
	int tick_fd;
	unsigned int ticks;
	unsigned int nr;
	struct domain doms[DDVM_MAX_DOMAINS];
	/* client VMs (vm_client.h): started once their domains serve */
	struct ddvm_vms_host vm_host;
	struct ddvm_vms *vms;
	/* namespaces this supervisor made for wires, removed at the end */
	unsigned int nr_netns;
	char netns[DDVM_MAX_DOMAINS][DDVM_NETNS_MAX + 1];
};

/* Copy @src into @dst, cut to fit: messages may be long, fields are bounded. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void sv_log(struct sv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sv_log(struct sv *sv, const char *fmt, ...)
{
	char buf[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	n = (int)strftime(buf, sizeof(buf), "%F %T", &tm);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%03ld ", ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(sv->o->log_fd, buf, (size_t)n) < 0) {
		/* nowhere left to say it */
	}
}

/* A line for "ddvm up" (also logged); a gone reader is not an error. */
static void progress(struct sv *sv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void progress(struct sv *sv, const char *fmt, ...)
{
	char buf[640];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	if (buf[0] != '=')
		sv_log(sv, "%s", buf);
	buf[n++] = '\n';
	if (sv->progress_fd >= 0 && write(sv->progress_fd, buf, (size_t)n) != n) {
		close(sv->progress_fd);
		sv->progress_fd = -1;
	}
}

/* ------------------------------------------------------------------ state */

/* One channel: config, where to reach it, and what its region says now. */
static json_t *channel_json(struct sv *sv, struct domain *d, unsigned int i, long long now)
{
	const struct ddvm_channel_cfg *ch = &d->cfg->channels[i];
	char path[4096], pci[16], mac[18];
	struct ddvm_chan_sample smp;
	json_t *o, *live;

	ddvm_hub_socket_path(path, sizeof(path), sv->run_dir, d->cfg->name, ch->name, NULL);
	o = json_pack("{s:s, s:s, s:I, s:o, s:s}", "name", ch->name,
		      "kind", ch->kind == DDVM_CHANNEL_NET ? "net" : "blk",
		      "size", (json_int_t)ch->size, "socket", ddvm_json_string(path),
		      "pci", ddvm_channel_pci_addr(i, pci, sizeof(pci)));
	if (!o)
		return NULL;
	if (ch->kind == DDVM_CHANNEL_NET)
		json_object_set_new(o, "mac", json_string(ddvm_format_mac(ch->mac, mac,
									  sizeof(mac))));
	if (d->mon[i].map) {
		ddvm_chanmon_sample(&d->mon[i], now, &smp);
		live = ddvm_chan_sample_json(&smp, ddvm_chanmon_beat_age(&d->mon[i], now));
		if (live)
			json_object_update(o, live);
		json_decref(live);
	}
	return o;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * {"count", "median_ms", "worst_ms"} of the remembered restarts' times to
 * DDVM-READY (@run false) or to RUN (@run true), for one cause or all (-1).
 */
static json_t *restart_times_json(const struct domain *d, bool run, int cause)
{
	long long v[RESTART_LOG];
	unsigned int i, n = 0, have = d->restarts < RESTART_LOG ? d->restarts : RESTART_LOG;

	for (i = 0; i < have; i++) {
		const struct restart_rec *r = &d->rlog[i];
		long long t = run ? r->run_ms : r->ready_ms;

		if (t >= 0 && (cause < 0 || r->cause == cause))
			v[n++] = t;
	}
	if (!n)
		return json_pack("{s:i}", "count", 0);
	qsort(v, n, sizeof(v[0]), cmp_ll);
	return json_pack("{s:i, s:I, s:I}", "count", n,
			 "median_ms", (json_int_t)(n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2),
			 "worst_ms", (json_int_t)v[n - 1]);
}

/* What state.json says about a domain's recoveries (see state.h). */
static void restarts_json(json_t *o, const struct domain *d)
{
	unsigned int have = d->restarts < RESTART_LOG ? d->restarts : RESTART_LOG;
	unsigned int first = d->restarts - have, i;
	json_t *causes = json_object(), *log = json_array(), *per = json_object();
	int c;

	for (c = 0; c < NR_CAUSES; c++) {
		json_object_set_new(causes, cause_names[c], json_integer(d->causes[c]));
		if (d->causes[c])
			json_object_set_new(per, cause_names[c],
					    json_pack("{s:o, s:o}",
						      "ready", restart_times_json(d, false, c),
						      "run", restart_times_json(d, true, c)));
	}
	for (i = first; i < d->restarts; i++) {
		const struct restart_rec *r = &d->rlog[i % RESTART_LOG];

		json_array_append_new(log, json_pack("{s:s, s:I, s:I}",
						     "cause", cause_names[r->cause],
						     "ready_ms", (json_int_t)r->ready_ms,
						     "run_ms", (json_int_t)r->run_ms));
	}
	json_object_set_new(o, "restart_causes", causes);
	json_object_set_new(o, "last_restart_cause",
			    json_string(d->last_cause >= 0 ? cause_names[d->last_cause] : ""));
	json_object_set_new(o, "restart_ready_ms", restart_times_json(d, false, -1));
	json_object_set_new(o, "restart_run_ms", restart_times_json(d, true, -1));
	json_object_set_new(o, "restart_times_by_cause", per);
	json_object_set_new(o, "restart_log", log);
	json_object_set_new(o, "restart_policy",
			    json_pack("{s:i, s:i, s:i, s:i, s:i}",
				      "max_attempts", d->cfg->restart.max_attempts,
				      "window", d->cfg->restart.window,
				      "backoff_ms", d->cfg->restart.backoff_ms,
				      "backoff_max_ms", d->cfg->restart.backoff_max_ms,
				      "hang_timeout", d->cfg->hang_timeout));
}

static json_t *domain_json(struct sv *sv, struct domain *d)
{
	const struct ddvm_domain_cfg *c = d->cfg;
	long long now = ddvm_now_ms();
	char path[4096], tap[16], mac[18];
	json_t *chans = json_array(), *o;
	unsigned int i;

	for (i = 0; i < c->nr_channels; i++)
		json_array_append_new(chans, channel_json(sv, d, i, now));
	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:I, s:i, s:o, s:o}",
		      "name", c->name,
		      "state", dom_state_names[d->state],
		      "qemu_pid", (int)d->pid,
		      "boots", d->boots,
		      "boot_failures", d->boot_failures,
		      "restarts", d->restarts,
		      "last_boot_ms", (json_int_t)d->last_boot_ms,
		      "memory", (json_int_t)c->memory,
		      "cpus", c->cpus,
		      "last_error", ddvm_json_string(d->last_error),
		      "channels", chans);
	if (!o)
		return NULL;
	restarts_json(o, d);
	if (c->has_disk) {
		json_object_set_new(o, "controller",
				    json_string(ddvm_controller_name(c->disk.controller)));
		json_object_set_new(o, "device",
				    json_string(ddvm_controller_devpath(c->disk.controller)));
		json_object_set_new(o, "image", ddvm_json_string(c->disk.image));
	}
	if (c->has_nic)
		json_object_set_new(o, "nic", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}",
			"model", ddvm_nic_model_name(c->nic.model),
			"mac", ddvm_format_mac(c->nic.mac, mac, sizeof(mac)),
			"tap", ddvm_tap_name(c->name, tap, sizeof(tap)),
			"netns", c->nic.wire.netns, "address", c->nic.wire.address,
			"wire", d->wire));
	snprintf(path, sizeof(path), "%s/%s/" DDVM_CONSOLE_LOG, sv->run_dir, c->name);
	json_object_set_new(o, "console", ddvm_json_string(path));
	ddvm_qmp_socket_path(path, sizeof(path), sv->run_dir, c->name, NULL);
	json_object_set_new(o, "qmp", ddvm_json_string(path));
	if (c->warm_spare)
		json_object_set_new(o, "spare", json_pack("{s:i, s:s, s:i, s:i}",
			"pid", (int)d->spare.pid,
			"state", d->spare.ready ? "ready" : d->spare.pid ? "booting" :
				 d->spare.failures > c->boot_retries ? "failed" : "none",
			"boots", d->spare.boots, "failures", d->spare.failures));
	return o;
}

static void save_state(struct sv *sv, bool running)
{
	char hubdir[4096], hublog[4096];
	struct ddvm_err err;
	json_t *st, *doms = json_array();
	unsigned int i;

	for (i = 0; i < sv->nr; i++)
		json_array_append_new(doms, domain_json(sv, &sv->doms[i]));
	snprintf(hubdir, sizeof(hubdir), "%s/" DDVM_HUB_DIR, sv->run_dir);
	snprintf(hublog, sizeof(hublog), "%s/" DDVM_HUB_LOG, sv->run_dir);
	/* "o" steals references, also on failure: no leak either way */
	st = json_pack("{s:i, s:i, s:b, s:I, s:I, s:o, s:o, s:s, s:o,"
		       " s:{s:i, s:s, s:o, s:o, s:o}, s:o}",
		       "version", DDVM_STATE_VERSION,
		       "supervisor_pid", (int)getpid(),
		       "running", running,
		       "started_at", (json_int_t)sv->started_at,
		       "updated_at", (json_int_t)time(NULL),
		       "run_dir", ddvm_json_string(sv->run_dir),
		       "config", ddvm_json_string(sv->cfg->source),
		       "accel", ddvm_accel_name(sv->o->accel),
		       "accel_reason", ddvm_json_string(sv->o->accel->reason),
		       "hub", "pid", (int)sv->hub_pid, "state", sv->hub_state,
		       "socket_dir", ddvm_json_string(hubdir), "log", ddvm_json_string(hublog),
		       "last_error", ddvm_json_string(sv->hub_error),
		       "domains", doms);
	if (!st) {
		sv_log(sv, "cannot build state.json (out of memory?)");
		return;
	}
	{
		json_t *ns = json_array();
		unsigned int k;

		for (k = 0; k < sv->nr_netns; k++)
			json_array_append_new(ns, json_string(sv->netns[k]));
		json_object_set_new(st, "netns_created", ns);
	}
	if (sv->vms)
		json_object_set_new(st, "vms", ddvm_vms_json(sv->vms));
	if (json_array_size(doms) != sv->nr)
		sv_log(sv, "state.json lacks %zu domain(s) (out of memory?)",
		       (size_t)sv->nr - json_array_size(doms));
	if (ddvm_state_save(sv->run_dir, st, &err))
		sv_log(sv, "%s", err.msg);
	json_decref(st);
}

/* ---------------------------------------------------------------- helpers */

static int arm_fd_timer(int fd, long long ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 },
	};

	if (ms <= 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm: fire now */
	return timerfd_settime(fd, 0, &its, NULL);
}

static int arm_timer(struct domain *d, long long ms)
{
	return arm_fd_timer(d->timer_fd, ms);
}

static void disarm_timer(struct domain *d)
{
	struct itimerspec its = { 0 };

	timerfd_settime(d->timer_fd, 0, &its, NULL);
}

static void set_error(struct domain *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct domain *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->last_error, sizeof(d->last_error), fmt, ap);
	va_end(ap);
}

static void close_qmp(struct sv *sv, struct domain *d)
{
	if (!d->qmp)
		return;
	epoll_ctl(sv->epfd, EPOLL_CTL_DEL, ddvm_qmp_fd(d->qmp), NULL);
	ddvm_qmp_close(d->qmp);
	d->qmp = NULL;
}

/* -------------------------------------------------------------- the hub */

/* The last non-empty line of a log, for an error message. */
static void log_tail(const char *path, char *buf, size_t len)
{
	char chunk[2048];
	char *end, *start;
	struct stat st;
	ssize_t n;
	off_t off;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off = fstat(fd, &st) || st.st_size < (off_t)sizeof(chunk) ? 0 :
	      st.st_size - (off_t)sizeof(chunk) + 1;
	n = pread(fd, chunk, sizeof(chunk) - 1, off);
	close(fd);
	if (n <= 0)
		return;
	chunk[n] = '\0';
	end = chunk + n;
	while (end > chunk && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(chunk, '\n');
	copy_str(buf, len, start ? start + 1 : chunk);
}

/*
 * Every channel's region, made here rather than in the hub so the
 * supervisor holds it: a read-only view feeds status now and hang
 * detection later, and the regions outlive a hub that dies.
 */
static int make_regions(struct sv *sv, struct ddvm_err *err)
{
	char name[2 * DDVM_NAME_MAX + 2];
	unsigned int i, j;
	int ret;

	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];

		for (j = 0; j < d->cfg->nr_channels; j++) {
			snprintf(name, sizeof(name), "%s.%s", d->cfg->name, d->cfg->channels[j].name);
			ret = ddvm_region_create(name, d->cfg->channels[j].size, &d->region_fd[j],
						 err);
			if (!ret)
				ret = ddvm_chanmon_open(&d->mon[j], d->region_fd[j],
							d->cfg->channels[j].size, name, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int start_hub(struct sv *sv, struct ddvm_err *err)
{
	int keep[DDVM_MAX_DOMAINS * DDVM_MAX_CHANNELS];
	int fds[DDVM_MAX_DOMAINS][DDVM_MAX_CHANNELS];
	struct pollfd pfd;
	struct ddvm_spawn sp = { .stdin_fd = -1 };
	struct ddvm_argv a = { 0 };
	char logpath[4096], line[256], buf[16];
	unsigned int i, j, nk = 0;
	int rp[2], logfd, ret;
	long long deadline;
	ssize_t n;

	for (i = 0; i < sv->nr; i++)
		for (j = 0; j < sv->doms[i].cfg->nr_channels; j++)
			keep[nk++] = fds[i][j] = sv->doms[i].region_fd[j];

	ret = ddvm_run_path(logpath, sizeof(logpath), sv->run_dir, DDVM_HUB_LOG, err);
	if (ret)
		return ret;
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return ddvm_errf(err, -errno, "%s: %s", logpath, strerror(errno));
	if (pipe2(rp, O_CLOEXEC)) {
		ret = ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
		goto out_log;
	}
	ret = ddvm_hub_argv(&a, sv->cfg, sv->o->exe, rp[1], (const int (*)[DDVM_MAX_CHANNELS])fds,
			    sv->run_dir, err);
	if (ret)
		goto out_pipe;
	sp.argv = a.argv;
	sp.stdout_fd = logfd;
	sp.stderr_fd = logfd;
	sp.keep_fd = rp[1];
	sp.keep_fds = keep;
	sp.nr_keep_fds = nk;
	/* the hub outlives DD/OS restarts, not the supervisor */
	sp.death_signal = SIGTERM;
	ret = ddvm_spawn(&sp, &sv->hub_pid, err);
	ddvm_argv_format(&a, logpath, sizeof(logpath));
	ddvm_argv_free(&a);
	if (ret)
		goto out_pipe;
	sv_log(sv, "hub: started pid %d: %s", (int)sv->hub_pid, logpath);
	close(rp[1]);
	rp[1] = -1;

	/* "ready\n" once every socket listens; EOF means it gave up */
	pfd.fd = rp[0];
	pfd.events = POLLIN;
	deadline = ddvm_now_ms() + DDVM_HUB_READY_TIMEOUT_MS;
	n = 0;
	while ((size_t)n < 6) {
		long long left = deadline - ddvm_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		r = read(rp[0], buf + n, 6 - (size_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = -EPIPE;
			break;
		}
		n += r;
	}
	if (!ret && memcmp(buf, "ready\n", 6))
		ret = -EPROTO;
	if (ret) {
		ddvm_run_path(logpath, sizeof(logpath), sv->run_dir, DDVM_HUB_LOG, NULL);
		log_tail(logpath, line, sizeof(line));
		ret = ddvm_errf(err, ret, "hub did not become ready (%s): %s (see %s)",
				ret == -ETIMEDOUT ? "timed out" : "no \"ready\"",
				line[0] ? line : "no message", logpath);
		kill(sv->hub_pid, SIGKILL);
		waitpid(sv->hub_pid, NULL, 0);
		sv->hub_pid = 0;
		sv->hub_state = "failed";
		copy_str(sv->hub_error, sizeof(sv->hub_error), err ? err->msg : "");
		goto out_pipe;
	}
	sv->hub_state = "running";
	sv_log(sv, "hub: ready");
out_pipe:
	close(rp[0]);
	if (rp[1] >= 0)
		close(rp[1]);
out_log:
	close(logfd);
	return ret;
}

/* ------------------------------------------------------------------ wires */

/*
 * Run "ip ARGS..." to completion (bounded), its output kept for the error
 * message.  Synchronous: a few milliseconds per command, and only at a NIC
 * domain's DDVM-READY and at shutdown.
 */
static int run_ip(struct sv *sv, const char *const *args, char *why, size_t len)
{
	struct ddvm_spawn sp = { .stdin_fd = -1, .keep_fd = -1, .death_signal = SIGKILL };
	const char *argv[16];
	char out[512], cmd[256];
	struct ddvm_argv fmt;
	struct ddvm_err err;
	struct pollfd pfd;
	long long deadline;
	size_t got = 0, i;
	int op[2], status = 0, n;
	pid_t pid;
	ssize_t r;

	argv[0] = "ip";
	for (i = 0; args[i] && i < sizeof(argv) / sizeof(argv[0]) - 2; i++)
		argv[i + 1] = args[i];
	argv[i + 1] = NULL;
	fmt.argc = (int)i + 1;
	fmt.argv = (char **)argv;
	ddvm_argv_format(&fmt, cmd, sizeof(cmd));
	if (pipe2(op, O_CLOEXEC)) {
		n = errno;
		snprintf(why, len, "%s: pipe: %s", cmd, strerror(n));
		return -n;
	}
	sp.argv = (char *const *)argv;
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	n = ddvm_spawn(&sp, &pid, &err);
	close(op[1]);
	if (n) {
		close(op[0]);
		snprintf(why, len, "%.120s: %.200s (Debian package iproute2)", cmd, err.msg);
		return n;
	}
	pfd.fd = op[0];
	pfd.events = POLLIN;
	deadline = ddvm_now_ms() + IP_TIMEOUT_MS;
	for (;;) {
		long long left = deadline - ddvm_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		r = read(op[0], out + got, sizeof(out) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got == sizeof(out) - 1)
			break;
	}
	close(op[0]);
	out[got] = '\0';
	while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
		out[--got] = '\0';
	for (i = 0; i < got; i++)
		if (out[i] == '\n' || (unsigned char)out[i] < 0x20)
			out[i] = ' ';
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (ddvm_now_ms() >= deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(why, len, "%s: no exit within %d ms", cmd, IP_TIMEOUT_MS);
			return -ETIMEDOUT;
		}
		usleep(2000);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!out[0])
		ddvm_wait_status_text(status, out, sizeof(out));
	snprintf(why, len, "%.120s: %.200s", cmd, out);
	sv_log(sv, "%s", why);
	return -EIO;
}

static bool netns_exists(const char *ns)
{
	char path[sizeof(NETNS_DIR) + DDVM_NETNS_MAX + 2];
	struct stat st;

	snprintf(path, sizeof(path), NETNS_DIR "/%s", ns);
	return !stat(path, &st);
}

/* Rewrite RUN/netns.created from sv->netns (atomically; removed when empty). */
static void netns_record(struct sv *sv)
{
	char path[4096], tmp[4096 + 8];
	unsigned int i;
	FILE *f;

	if (ddvm_run_path(path, sizeof(path), sv->run_dir, NETNS_RECORD, NULL))
		return;
	if (!sv->nr_netns) {
		unlink(path);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		sv_log(sv, "%s: %s; a namespace may outlive a crash", tmp, strerror(errno));
		return;
	}
	for (i = 0; i < sv->nr_netns; i++)
		fprintf(f, "%s\n", sv->netns[i]);
	if (fclose(f) || rename(tmp, path)) {
		sv_log(sv, "%s: %s; a namespace may outlive a crash", path, strerror(errno));
		unlink(tmp);
	}
}

static bool valid_netns_name(const char *ns)
{
	size_t n = strlen(ns);

	return n && n <= DDVM_NETNS_MAX && ns[0] != '.' && ns[0] != '-' &&
	       strspn(ns, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static bool netns_ours(struct sv *sv, const char *ns)
{
	unsigned int i;

	for (i = 0; i < sv->nr_netns; i++)
		if (!strcmp(sv->netns[i], ns))
			return true;
	return false;
}

/*
 * Domain @d's QEMU made tap dd-NAME: give it the wire's stable MAC, move
 * it into wire.netns (made if missing), give it wire.address, bring it up.  Runs at every DDVM-READY,
 * since every boot's QEMU makes a new tap.  Only our namespace and our
 * tap are touched.
 */
static int wire_up(struct sv *sv, struct domain *d, char *why, size_t len)
{
	const struct ddvm_wire_cfg *w = &d->cfg->nic.wire;
	char tap[16], mac[18];
	int ret;

	if (!d->cfg->has_nic || !w->netns[0])
		return 0;
	ddvm_tap_name(d->cfg->name, tap, sizeof(tap));
	if (!netns_exists(w->netns)) {
		const char *add[] = { "netns", "add", w->netns, NULL };
		const char *lo[] = { "-n", w->netns, "link", "set", "dev", "lo", "up", NULL };

		ret = run_ip(sv, add, why, len);
		/* someone made it meanwhile: then it is theirs, not ours */
		if (ret && !netns_exists(w->netns))
			return ret;
		if (!ret) {
			if (sv->nr_netns < DDVM_MAX_DOMAINS && !netns_ours(sv, w->netns)) {
				snprintf(sv->netns[sv->nr_netns++], sizeof(sv->netns[0]), "%s",
					 w->netns);
				netns_record(sv);
			}
			sv_log(sv, "%s: made network namespace %s", d->cfg->name, w->netns);
			ret = run_ip(sv, lo, why, len);
			if (ret)
				return ret;
		}
	}
	{
		const char *mv[] = { "link", "set", "dev", tap, "address",
				     ddvm_format_mac(w->mac, mac, sizeof(mac)), "netns", w->netns, NULL };
		const char *addr[] = { "-n", w->netns, "addr", "add", w->address, "dev", tap, NULL };
		const char *up[] = { "-n", w->netns, "link", "set", "dev", tap, "up", NULL };

		ret = run_ip(sv, mv, why, len);
		if (!ret && w->address[0])
			ret = run_ip(sv, addr, why, len);
		if (!ret)
			ret = run_ip(sv, up, why, len);
	}
	if (!ret)
		sv_log(sv, "%s: wire %s up in namespace %s%s%s", d->cfg->name, tap, w->netns,
		       w->address[0] ? " as " : "", w->address);
	return ret;
}

/*
 * Remove namespace @ns if it holds nothing but lo: our taps are gone with
 * their QEMUs, and anything else in it is someone else's to keep.
 */
static void netns_remove(struct sv *sv, const char *ns)
{
	const char *del[] = { "netns", "delete", ns, NULL };
	char out[512];
	struct ddvm_spawn sp = { .stdin_fd = -1, .stderr_fd = -1, .keep_fd = -1 };
	const char *argv[] = { "ip", "-n", ns, "-o", "link", "show", NULL };
	int op[2], status;
	ssize_t r;
	size_t got = 0;
	pid_t pid;
	char *line;

	if (!netns_exists(ns))
		return;
	/* what is in it: one line per interface */
	if (pipe2(op, O_CLOEXEC))
		return;
	sp.argv = (char *const *)argv;
	sp.stdout_fd = op[1];
	if (ddvm_spawn(&sp, &pid, NULL)) {
		close(op[0]);
		close(op[1]);
		return;
	}
	close(op[1]);
	while (got < sizeof(out) - 1 && (r = read(op[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += (size_t)r;
	close(op[0]);
	waitpid(pid, &status, 0);
	out[got] = '\0';
	for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
		if (!strstr(line, ": lo:")) {
			sv_log(sv, "network namespace %s: kept, it holds more than lo: %.200s", ns,
			       line);
			return;
		}
	if (!run_ip(sv, del, out, sizeof(out)))
		sv_log(sv, "network namespace %s: removed", ns);
}

static void remove_netns(struct sv *sv)
{
	unsigned int i;

	for (i = 0; i < sv->nr_netns; i++)
		netns_remove(sv, sv->netns[i]);
	sv->nr_netns = 0;
	netns_record(sv);
}

/*
 * A supervisor that died could not remove the namespaces it made; its
 * RUN/netns.created still names them.  We own the run directory now:
 * remove them (if they hold only lo) before anything of ours starts.
 */
static void remove_stale_netns(struct sv *sv)
{
	char path[4096], line[128];
	FILE *f;

	if (ddvm_run_path(path, sizeof(path), sv->run_dir, NETNS_RECORD, NULL))
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		/* the file is ours, but a name becomes an argument: check it */
		if (!valid_netns_name(line))
			continue;
		sv_log(sv, "network namespace %s: left by a supervisor that died", line);
		netns_remove(sv, line);
	}
	fclose(f);
	unlink(path);
}

/* ----------------------------------------------------------------- ticks */

/* A periodic tick samples every channel into state.json. */
static void start_tick(struct sv *sv)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_TICK, 0) };
	struct itimerspec its = {
		.it_interval = { .tv_sec = TICK_MS / 1000, .tv_nsec = TICK_MS % 1000 * 1000000L },
		.it_value = { .tv_sec = TICK_MS / 1000, .tv_nsec = TICK_MS % 1000 * 1000000L },
	};

	sv->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sv->tick_fd < 0 || timerfd_settime(sv->tick_fd, 0, &its, NULL) ||
	    epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->tick_fd, &ev))
		/* status still works, from the state of the last event */
		sv_log(sv, "channel sampling timer: %s; status shows no live data", strerror(errno));
}

/* --------------------------------------------------------------- domains */

static void detect(struct domain *d, enum restart_cause cause, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A serving domain's QEMU must go: note why and when (the restart time is
 * measured from here) and kill it; its exit restarts it.  SIGKILL, not
 * quit: a hung or failed DD/OS has nothing worth a clean shutdown, and
 * every millisecond here is a client waiting.  The first cause wins.
 */
static void detect(struct domain *d, enum restart_cause cause, const char *fmt, ...)
{
	va_list ap;

	if (!d->pid || d->cause != CAUSE_NONE)
		return;
	d->cause = cause;
	d->t_detect = ddvm_now_ms();
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof(d->why), fmt, ap);
	va_end(ap);
	sv_log(d->sv, "%s: %s detected: %s; killing QEMU pid %d", d->cfg->name,
	       cause_names[cause], d->why, (int)d->pid);
	d->expect_exit = true;
	kill(d->pid, SIGKILL);
}

static void on_qmp_event(void *arg, const char *event, json_t *msg)
{
	struct domain *d = arg;

	sv_log(d->sv, "%s: QMP event %s", d->cfg->name, event);
	/* QEMU would exit by itself; killing now saves the panic's slow dump */
	if (!strcmp(event, "GUEST_PANICKED"))
		detect(d, CAUSE_PANIC, "guest kernel panicked (QMP GUEST_PANICKED)");
	/* -action watchdog=pause: the guest is frozen until we kill it */
	else if (!strcmp(event, "WATCHDOG"))
		detect(d, CAUSE_WATCHDOG, "guest watchdog expired (i6300esb not petted)");
}

static void connect_qmp(struct sv *sv, struct domain *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_QMP, d->idx) };
	char path[DDVM_SOCK_PATH_MAX];
	struct ddvm_err err;

	if (ddvm_qmp_socket_path(path, sizeof(path), sv->run_dir, d->cfg->name, &err) ||
	    ddvm_qmp_connect(&d->qmp, path, DDVM_QMP_TIMEOUT_MS, &err)) {
		/* not fatal: exits are still seen through SIGCHLD */
		sv_log(sv, "%s: %s", d->cfg->name, err.msg);
		d->qmp = NULL;
		return;
	}
	ddvm_qmp_set_event_handler(d->qmp, on_qmp_event, d);
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, ddvm_qmp_fd(d->qmp), &ev)) {
		sv_log(sv, "%s: epoll: %s", d->cfg->name, strerror(errno));
		ddvm_qmp_close(d->qmp);
		d->qmp = NULL;
	}
}

static void check_settled(struct sv *sv);
static void schedule_spare(struct domain *d);

static void start_domain(struct sv *sv, struct domain *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_CONSOLE, d->idx) };
	struct ddvm_spawn sp = { .stdin_fd = -1, .keep_fd = -1, .death_signal = SIGKILL };
	struct ddvm_argv a = { 0 };
	char cmd[4096], banner[4096 + 256];
	struct ddvm_err err;
	int op[2], n;
	pid_t pid;

	if (ddvm_qemu_argv(&a, sv->cfg, d->cfg, sv->o->accel, sv->run_dir, &err))
		goto out_fail;
	if (pipe2(op, O_CLOEXEC)) {
		ddvm_errf(&err, -errno, "pipe: %s", strerror(errno));
		goto out_fail;
	}
	d->boots++;
	if (strcmp(d->wire, "none"))
		d->wire = "pending";
	ddvm_argv_format(&a, cmd, sizeof(cmd));
	n = snprintf(banner, sizeof(banner), "\n=== ddvm: %s boot %u at %ld: %s\n", d->cfg->name,
		     d->boots, (long)time(NULL), cmd);
	if (n >= (int)sizeof(banner))
		n = (int)sizeof(banner) - 1;
	if (write(d->console_fd, banner, (size_t)n) < 0)
		sv_log(sv, "%s: console log: %s", d->cfg->name, strerror(errno));

	sp.argv = a.argv;
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	if (ddvm_spawn(&sp, &pid, &err)) {
		close(op[0]);
		close(op[1]);
		goto out_fail;
	}
	close(op[1]);
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	d->pid = pid;
	d->out_fd = op[0];
	d->ready = false;
	d->expect_exit = false;
	d->why[0] = '\0';
	d->cause = CAUSE_NONE;
	d->watch_run = false;
	d->line_len = 0;
	d->last_line[0] = '\0';
	d->t_start = ddvm_now_ms();
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, d->out_fd, &ev))
		sv_log(sv, "%s: epoll: %s", d->cfg->name, strerror(errno));
	arm_timer(d, (long long)d->cfg->boot_timeout * 1000);
	sv_log(sv, "%s: QEMU pid %d (boot %u): %s", d->cfg->name, (int)pid, d->boots, cmd);
	if (d->state == DOM_BOOTING && d->boots == 1)
		progress(sv, "%s: booting (%s)", d->cfg->name,
			 ddvm_accel_name(sv->o->accel));
	ddvm_argv_free(&a);
	save_state(sv, true);
	return;

out_fail:
	/* cannot even start QEMU: retrying will not help */
	ddvm_argv_free(&a);
	d->state = DOM_FAILED;
	set_error(d, "%s", err.msg);
	progress(sv, "%s: failed: %s", d->cfg->name, err.msg);
	save_state(sv, true);
	check_settled(sv);
}

/*
 * A restarted domain is ready again: the time from detection is the
 * number that matters to clients (they were stalled for it).  Then watch
 * for the clients' channels to reach RUN in the new generation.
 */
static void note_ready(struct sv *sv, struct domain *d)
{
	struct restart_rec *r = &d->rlog[(d->restarts - 1) % RESTART_LOG];
	struct ddvm_chan_sample smp;
	unsigned int j;

	r->ready_ms = d->t_ready - d->t_detect;
	r->run_ms = -1;
	d->watch_run = false;
	for (j = 0; j < d->cfg->nr_channels; j++) {
		d->gen_at_ready[j] = 0;
		d->had_client[j] = false;
		if (!d->mon[j].map)
			continue;
		ddvm_chanmon_sample(&d->mon[j], d->t_ready, &smp);
		d->gen_at_ready[j] = smp.generation;
		/*
		 * A client block (laid out for the predecessor, for us already,
		 * or being redone right now): a client to wait for.  One that
		 * left without a word just ends the watch at RUN_WATCH_MS,
		 * unmeasured.
		 */
		d->had_client[j] = smp.cli_present;
		d->watch_run |= d->had_client[j];
	}
	if (!d->watch_run)
		d->t_detect = 0;
	sv_log(sv, "%s: serving again %lld ms after the %s was detected (QEMU start to "
	       "DDVM-READY %lld ms)", d->cfg->name, r->ready_ms, cause_names[r->cause],
	       d->last_boot_ms);
}

static void on_console_line(struct sv *sv, struct domain *d, char *line)
{
	char *p;

	/*
	 * The console is the guest's to write: keep it printable ASCII before
	 * it reaches a log line or state.json (which must be valid UTF-8).
	 */
	for (p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = *p == '\r' || *p == '\t' ? *p : '?';
	if (sv->stop)
		return;
	/* serial lines end in \r\n; kernel messages may share the line */
	p = line + strlen(line);
	while (p > line && (p[-1] == '\r' || p[-1] == ' '))
		*--p = '\0';
	if (*line)
		copy_str(d->last_line, sizeof(d->last_line), line);
	if (!d->ready && strstr(line, DDVM_READY_LINE) &&
	    (d->state == DOM_BOOTING || d->state == DOM_RESTARTING)) {
		char why[192];

		/* the remote end of a NIC's wire is part of "serving" */
		if (wire_up(sv, d, why, sizeof(why))) {
			d->wire = "failed";
			snprintf(d->why, sizeof(d->why), "wire: %s", why);
			sv_log(sv, "%s: %s; killing QEMU pid %d", d->cfg->name, d->why, (int)d->pid);
			d->expect_exit = true;
			kill(d->pid, SIGKILL);
			return;
		}
		if (strcmp(d->wire, "none"))
			d->wire = "up";
		d->ready = true;
		d->t_ready = ddvm_now_ms();
		if (d->activate_fd >= 0) {
			close(d->activate_fd);
			d->activate_fd = -1;
		}
		schedule_spare(d);
		d->last_boot_ms = d->t_ready - d->t_start;
		if (d->t_detect)
			note_ready(sv, d);
		d->attempt = 0;
		d->state = DOM_SERVING;
		disarm_timer(d);
		progress(sv, "%s: serving after %.1f s (boot %u)", d->cfg->name,
			 (double)d->last_boot_ms / 1000.0, d->boots);
		connect_qmp(sv, d);
		save_state(sv, true);
		check_settled(sv);
		return;
	}
	p = strstr(line, PANIC_PREFIX);
	if (p && !d->why[0]) {
		p += strlen(PANIC_PREFIX);
		while (*p == ' ')
			p++;
		/* oops=panic: any oops ends here too; do not wait for pvpanic */
		if (d->state == DOM_SERVING) {
			detect(d, CAUSE_PANIC, "guest kernel panic: %s", p);
			return;
		}
		snprintf(d->why, sizeof(d->why), "guest kernel panic: %s", p);
		sv_log(sv, "%s: %s", d->cfg->name, d->why);
		return;
	}
	p = strstr(line, DDVM_FAIL_PREFIX);
	if (p && !d->why[0]) {
		p += strlen(DDVM_FAIL_PREFIX);
		while (*p == ' ')
			p++;
		/* init powers off after this line; the exit does the rest */
		snprintf(d->why, sizeof(d->why), "guest: DDVM-FAIL: %s", p);
		sv_log(sv, "%s: %s", d->cfg->name, d->why);
		if (d->state == DOM_SERVING) {
			d->cause = CAUSE_GUEST;
			d->t_detect = ddvm_now_ms();
		}
	}
}

/* Read what QEMU printed: append it to console.log and scan it by line. */
static void drain_console(struct sv *sv, struct domain *d)
{
	char buf[4096];
	ssize_t n, i;

	while (d->out_fd >= 0) {
		n = read(d->out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			epoll_ctl(sv->epfd, EPOLL_CTL_DEL, d->out_fd, NULL);
			close(d->out_fd);
			d->out_fd = -1;
			return;
		}
		if (write(d->console_fd, buf, (size_t)n) != n)
			sv_log(sv, "%s: console log write failed", d->cfg->name);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				d->line[d->line_len] = '\0';
				on_console_line(sv, d, d->line);
				d->line_len = 0;
			} else if (d->line_len < sizeof(d->line) - 1) {
				d->line[d->line_len++] = buf[i] ? buf[i] : ' ';
			}
		}
	}
}

static bool all_in(struct sv *sv, unsigned int mask)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++)
		if (!(mask & (1u << sv->doms[i].state)))
			return false;
	return true;
}

static void check_settled(struct sv *sv)
{
	bool vms_ok = true;

	if (all_in(sv, 1u << DOM_FAILED) && !sv->stop) {
		/* nothing left to supervise; "ddvm up" hears after the cleanup */
		sv_log(sv, "every domain failed; stopping");
		sv->stop = true;
		sv->stop_reason = -EIO;
		return;
	}
	/* a domain that now serves (or failed for good) may start (or fail) a client VM */
	if (sv->vms && ddvm_vms_kick(sv->vms))
		save_state(sv, true);
	if (!sv->settled && all_in(sv, (1u << DOM_SERVING) | (1u << DOM_FAILED)) &&
	    (!sv->vms || ddvm_vms_settled(sv->vms, &vms_ok))) {
		bool ok = all_in(sv, 1u << DOM_SERVING) && vms_ok;

		sv->settled = true;
		if (sv->o->foreground)
			progress(sv, "%s; ^C stops", ok ? "every domain serves" :
				 "some domain or client VM failed for good, the others run");
		else
			progress(sv, "%s", ok ? DDVM_PROGRESS_OK : DDVM_PROGRESS_FAIL);
		if (sv->progress_fd >= 0 && sv->progress_fd != STDOUT_FILENO)
			close(sv->progress_fd);
		sv->progress_fd = -1;
	}
}

/* ------------------------------------------------------------ warm spare */

/* A spare comes after the domain serves, so its boot never slows that one. */
#define SPARE_START_DELAY_MS	1000
#define SPARE_RETRY_DELAY_MS	2000
#define SPARE_LINE		"DDVM-SPARE"
#define ACTIVATE_LINE		"\nddvm-activate\n"

static const char *const spare_socks[] = {
	DDVM_QMP_SOCK, DDVM_QMP_TOOLS_SOCK, DDVM_INJECT_SOCK,
};

static void spare_close_fds(struct sv *sv, struct domain *d)
{
	if (d->spare.out_fd >= 0) {
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, d->spare.out_fd, NULL);
		close(d->spare.out_fd);
		d->spare.out_fd = -1;
	}
	if (d->spare.ctl_fd >= 0) {
		close(d->spare.ctl_fd);
		d->spare.ctl_fd = -1;
	}
}

static void start_spare(struct sv *sv, struct domain *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_SPARE, d->idx) };
	struct ddvm_spawn sp = { .stdin_fd = -1, .keep_fd = -1, .death_signal = SIGKILL };
	struct ddvm_argv a = { 0 };
	char cmd[4096], banner[256];
	struct ddvm_err err;
	int op[2], n;
	pid_t pid;

	if (d->spare.pid || sv->stop || !d->cfg->warm_spare)
		return;
	if (ddvm_qemu_argv_spare(&a, sv->cfg, d->cfg, sv->o->accel, sv->run_dir, &err))
		goto out_fail;
	if (pipe2(op, O_CLOEXEC)) {
		ddvm_errf(&err, -errno, "pipe: %s", strerror(errno));
		goto out_fail;
	}
	sp.argv = a.argv;
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	if (ddvm_spawn(&sp, &pid, &err)) {
		close(op[0]);
		close(op[1]);
		goto out_fail;
	}
	close(op[1]);
	fcntl(op[0], F_SETFL, O_NONBLOCK);
	d->spare.pid = pid;
	d->spare.out_fd = op[0];
	d->spare.ready = false;
	d->spare.line_len = 0;
	d->spare.boots++;
	d->spare.t_start = ddvm_now_ms();
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, op[0], &ev))
		sv_log(sv, "%s: epoll: %s", d->cfg->name, strerror(errno));
	arm_fd_timer(d->spare.timer_fd, (long long)d->cfg->boot_timeout * 1000);
	n = snprintf(banner, sizeof(banner), "\n=== ddvm: %s warm spare boot %u at %ld\n",
		     d->cfg->name, d->spare.boots, (long)time(NULL));
	if (write(d->console_fd, banner, (size_t)n) < 0)
		sv_log(sv, "%s: console log: %s", d->cfg->name, strerror(errno));
	sv_log(sv, "%s: warm spare QEMU pid %d (spare boot %u): %s", d->cfg->name, (int)pid,
	       d->spare.boots, ddvm_argv_format(&a, cmd, sizeof(cmd)));
	ddvm_argv_free(&a);
	return;

out_fail:
	ddvm_argv_free(&a);
	d->spare.failures = d->cfg->boot_retries + 1;
	sv_log(sv, "%s: no warm spare: %s", d->cfg->name, err.msg);
}

/* Its ttyS1, held open: the activation line must not be cut by a hang-up. */
static int spare_connect(struct sv *sv, struct domain *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	int fd;

	snprintf(name, sizeof(name), DDVM_SPARE_PREFIX DDVM_INJECT_SOCK);
	if (ddvm_domain_socket_path(sa.sun_path, sizeof(sa.sun_path), sv->run_dir, d->cfg->name,
				    name, NULL))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	d->spare.ctl_fd = fd;
	return 0;
}

static void on_spare_line(struct sv *sv, struct domain *d, char *line)
{
	int ret;

	if (d->spare.ready || !strstr(line, SPARE_LINE))
		return;
	ret = spare_connect(sv, d);
	if (ret) {
		sv_log(sv, "%s: warm spare pid %d: its ttyS1: %s; killing it", d->cfg->name,
		       (int)d->spare.pid, strerror(-ret));
		kill(d->spare.pid, SIGKILL);
		return;
	}
	d->spare.ready = true;
	d->spare.failures = 0;
	{
		struct itimerspec its = { 0 };

		timerfd_settime(d->spare.timer_fd, 0, &its, NULL);
	}
	sv_log(sv, "%s: warm spare pid %d ready after %lld ms", d->cfg->name, (int)d->spare.pid,
	       ddvm_now_ms() - d->spare.t_start);
	save_state(sv, true);
}

/* The spare's console goes to the domain's log, scanned for DDVM-SPARE. */
static void drain_spare(struct sv *sv, struct domain *d)
{
	char buf[4096];
	ssize_t n, i;

	while (d->spare.out_fd >= 0) {
		n = read(d->spare.out_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			epoll_ctl(sv->epfd, EPOLL_CTL_DEL, d->spare.out_fd, NULL);
			close(d->spare.out_fd);
			d->spare.out_fd = -1;
			return;
		}
		if (write(d->console_fd, buf, (size_t)n) != n)
			sv_log(sv, "%s: console log write failed", d->cfg->name);
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				d->spare.line[d->spare.line_len] = '\0';
				on_spare_line(sv, d, d->spare.line);
				d->spare.line_len = 0;
			} else if (d->spare.line_len < sizeof(d->spare.line) - 1) {
				d->spare.line[d->spare.line_len++] = buf[i] ? buf[i] : ' ';
			}
		}
	}
}

static void on_spare_exit(struct sv *sv, struct domain *d, int status)
{
	char how[96];

	drain_spare(sv, d);
	spare_close_fds(sv, d);
	ddvm_wait_status_text(status, how, sizeof(how));
	sv_log(sv, "%s: warm spare QEMU pid %d %s%s", d->cfg->name, (int)d->spare.pid, how,
	       d->spare.ready ? " while waiting" : " before it was ready");
	d->spare.pid = 0;
	d->spare.ready = false;
	if (sv->stop)
		return;
	if (++d->spare.failures > d->cfg->boot_retries) {
		sv_log(sv, "%s: warm spare failed %u times in a row; restarts boot cold",
		       d->cfg->name, d->spare.failures);
		save_state(sv, true);
		return;
	}
	arm_fd_timer(d->spare.timer_fd, SPARE_RETRY_DELAY_MS);
	save_state(sv, true);
}

static void on_spare_timer(struct sv *sv, struct domain *d)
{
	uint64_t ticks;

	if (read(d->spare.timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	if (d->spare.pid && !d->spare.ready) {
		sv_log(sv, "%s: warm spare pid %d: no %s within %u s, killing it", d->cfg->name,
		       (int)d->spare.pid, SPARE_LINE, d->cfg->boot_timeout);
		kill(d->spare.pid, SIGKILL);
		return;
	}
	if (!d->spare.pid && d->state == DOM_SERVING)
		start_spare(sv, d);
}

/* A spare is started a little after each DDVM-READY of the domain. */
static void schedule_spare(struct domain *d)
{
	if (d->cfg->warm_spare && !d->spare.pid && d->spare.failures <= d->cfg->boot_retries)
		arm_fd_timer(d->spare.timer_fd, SPARE_START_DELAY_MS);
}

/*
 * The domain's QEMU is dead and reaped (nothing of it can write the disk
 * any more): make the ready spare the domain's QEMU.  Its sockets take
 * the domain's names, its console becomes the domain's, and one line on
 * its ttyS1 makes its init load ddvm.ko, which attaches as the next
 * generation.  Return: whether it took over.
 */
static bool promote_spare(struct sv *sv, struct domain *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_CONSOLE, d->idx) };
	char from[DDVM_SOCK_PATH_MAX], to[DDVM_SOCK_PATH_MAX], name[64];
	size_t i;
	ssize_t n;

	if (!d->spare.ready || !d->spare.pid || d->pid)
		return false;
	for (i = 0; i < sizeof(spare_socks) / sizeof(spare_socks[0]); i++) {
		snprintf(name, sizeof(name), DDVM_SPARE_PREFIX "%s", spare_socks[i]);
		if (ddvm_domain_socket_path(from, sizeof(from), sv->run_dir, d->cfg->name, name,
					    NULL) ||
		    ddvm_domain_socket_path(to, sizeof(to), sv->run_dir, d->cfg->name,
					    spare_socks[i], NULL) ||
		    rename(from, to))
			sv_log(sv, "%s: warm spare: rename %s: %s", d->cfg->name, from,
			       strerror(errno));
	}
	n = write(d->spare.ctl_fd, ACTIVATE_LINE, sizeof(ACTIVATE_LINE) - 1);
	if (n != (ssize_t)sizeof(ACTIVATE_LINE) - 1) {
		sv_log(sv, "%s: warm spare pid %d: activation: %s; killing it", d->cfg->name,
		       (int)d->spare.pid, n < 0 ? strerror(errno) : "short write");
		kill(d->spare.pid, SIGKILL);
		return false;
	}
	d->pid = d->spare.pid;
	d->out_fd = d->spare.out_fd;
	epoll_ctl(sv->epfd, EPOLL_CTL_MOD, d->out_fd, &ev);
	d->activate_fd = d->spare.ctl_fd;
	d->spare.pid = 0;
	d->spare.out_fd = -1;
	d->spare.ctl_fd = -1;
	d->spare.ready = false;
	d->boots++;
	d->ready = false;
	d->expect_exit = false;
	d->why[0] = '\0';
	d->cause = CAUSE_NONE;
	d->watch_run = false;
	d->line_len = 0;
	d->last_line[0] = '\0';
	d->t_start = ddvm_now_ms();
	arm_timer(d, (long long)d->cfg->boot_timeout * 1000);
	sv_log(sv, "%s: warm spare QEMU pid %d takes over (boot %u)", d->cfg->name, (int)d->pid,
	       d->boots);
	save_state(sv, true);
	return true;
}

static void start_or_promote(struct sv *sv, struct domain *d)
{
	if (!promote_spare(sv, d))
		start_domain(sv, d);
}

/*
 * A serving domain went down for @why: restart it under its policy, at
 * most restart.max_attempts times in any restart.window seconds, after a
 * backoff that doubles with each restart in the window.
 */
static void restart_serving(struct sv *sv, struct domain *d, const char *why)
{
	const struct ddvm_restart_cfg *rp = &d->cfg->restart;
	long long now = ddvm_now_ms(), delay = 0;
	unsigned int in_window = 0, have;
	struct restart_rec *r;

	if (d->cause == CAUSE_NONE) {
		/* nobody here decided it: QEMU died (or was killed) by itself */
		d->cause = strstr(why, "panic") ? CAUSE_PANIC : CAUSE_EXIT;
		d->t_detect = now;
	}
	have = d->restarts < RESTART_LOG ? d->restarts : RESTART_LOG;
	if (!ddvm_restart_decide(rp, d->restart_at, have, now, &delay, &in_window)) {
		d->state = DOM_FAILED;
		d->t_detect = 0;
		set_error(d, "gave up: %u restart%s within %u s (restart.max_attempts); last "
			  "cause %s: %s", in_window, in_window == 1 ? "" : "s", rp->window,
			  cause_names[d->cause], why);
		progress(sv, "%s: failed: %s", d->cfg->name, d->last_error);
		save_state(sv, true);
		check_settled(sv);
		return;
	}
	r = &d->rlog[d->restarts % RESTART_LOG];
	r->cause = d->cause;
	r->ready_ms = -1;
	r->run_ms = -1;
	d->restart_at[d->restarts % RESTART_LOG] = now;
	d->restarts++;
	d->causes[d->cause]++;
	d->last_cause = d->cause;
	/* a recovery: a new boot retry budget */
	d->attempt = 0;
	d->state = DOM_RESTARTING;
	sv_log(sv, "%s: restarting (restart %u, cause %s, %u in the last %u s, delay %lld ms): %s",
	       d->cfg->name, d->restarts, cause_names[d->cause], in_window + 1, rp->window,
	       delay, why);
	save_state(sv, true);
	if (delay)
		arm_timer(d, delay);
	else
		start_or_promote(sv, d);
}

static void on_domain_exit(struct sv *sv, struct domain *d, int status)
{
	char how[96], why[sizeof(d->why) + sizeof(d->last_line) + 64];
	long long alive = ddvm_now_ms() - d->t_start;
	bool was_serving = d->state == DOM_SERVING;

	drain_console(sv, d);
	if (d->out_fd >= 0) {
		epoll_ctl(sv->epfd, EPOLL_CTL_DEL, d->out_fd, NULL);
		close(d->out_fd);
		d->out_fd = -1;
	}
	close_qmp(sv, d);
	disarm_timer(d);
	if (d->activate_fd >= 0) {
		close(d->activate_fd);
		d->activate_fd = -1;
	}
	ddvm_wait_status_text(status, how, sizeof(how));
	sv_log(sv, "%s: QEMU pid %d %s after %.1f s", d->cfg->name, (int)d->pid, how,
	       (double)alive / 1000.0);
	d->pid = 0;

	if (d->why[0])
		copy_str(why, sizeof(why), d->why);
	else
		snprintf(why, sizeof(why), "QEMU %s%s%s%s", how,
			 was_serving ? " while serving" : " before DDVM-READY",
			 d->last_line[0] ? "; last console line: " : "", d->last_line);
	set_error(d, "%s", why);

	if (was_serving) {
		restart_serving(sv, d, why);
		return;
	}
	d->boot_failures++;
	if (d->attempt < d->cfg->boot_retries) {
		d->attempt++;
		d->state = DOM_RESTARTING;
		progress(sv, "%s: boot %u failed: %s; retry %u of %u", d->cfg->name, d->boots,
			 why, d->attempt, d->cfg->boot_retries);
		arm_timer(d, DDVM_RETRY_DELAY_MS);
		save_state(sv, true);
		return;
	}
	d->state = DOM_FAILED;
	d->t_detect = 0;
	progress(sv, "%s: failed after %u boot%s: %s", d->cfg->name, d->boots,
		 d->boots == 1 ? "" : "s", why);
	save_state(sv, true);
	check_settled(sv);
}

static void on_timer(struct sv *sv, struct domain *d)
{
	uint64_t ticks;

	if (read(d->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	if (d->pid && !d->ready && !d->expect_exit) {
		snprintf(d->why, sizeof(d->why), "no %s within %u s (boot %u)%s%s",
			 DDVM_READY_LINE, d->cfg->boot_timeout, d->boots,
			 d->last_line[0] ? "; last console line: " : "", d->last_line);
		sv_log(sv, "%s: boot timeout, killing QEMU pid %d", d->cfg->name, (int)d->pid);
		d->expect_exit = true;
		kill(d->pid, SIGKILL);
		return;
	}
	if (!d->pid && d->state == DOM_RESTARTING)
		start_or_promote(sv, d);
}

/*
 * Every tick, for a serving domain: a channel whose server says FAILED, or
 * every attached channel's heartbeat stalled for hang_timeout, means the
 * DD/OS must restart.  A domain with no attached channel (nothing loaded
 * yet, or all stopped) has no heartbeat to judge: its watchdog covers it.
 * After a restart, also note when the clients are back in RUN.
 */
static void watch_domain(struct sv *sv, struct domain *d)
{
	long long now = ddvm_now_ms(), hang_ms = (long long)d->cfg->hang_timeout * 1000;
	unsigned int j, attached = 0, stalled = 0, clients = 0, running = 0;
	struct ddvm_chan_sample smp;
	long long oldest = 0;
	char ebuf[16];

	if (d->state != DOM_SERVING || !d->pid || d->cause != CAUSE_NONE)
		return;
	for (j = 0; j < d->cfg->nr_channels; j++) {
		long long age;

		if (!d->mon[j].map)
			continue;
		ddvm_chanmon_sample(&d->mon[j], now, &smp);
		if (!ddvm_chan_attached(&smp))
			continue;
		if (smp.state == DDVM_SRV_FAILED) {
			detect(d, CAUSE_FAILED, "channel %s: the DD/OS reports its device failed "
			       "(srv.state failed, error %s)", d->cfg->channels[j].name,
			       ddvm_chan_error_name(smp.error, ebuf, sizeof(ebuf)));
			return;
		}
		attached++;
		age = ddvm_chanmon_beat_age(&d->mon[j], now);
		if (age >= hang_ms) {
			stalled++;
			if (!oldest || age < oldest)
				oldest = age;
		}
		if (d->watch_run && d->had_client[j]) {
			clients++;
			running += smp.state == DDVM_SRV_RUN && smp.generation >= d->gen_at_ready[j] &&
				   smp.cli_generation == smp.generation;
		}
	}
	/* the heartbeat of a server attached at DDVM-READY starts counting then */
	if (attached && stalled == attached && now - d->t_ready >= hang_ms) {
		detect(d, CAUSE_HANG, "no heartbeat on any of %u channel%s for %lld ms "
		       "(hang_timeout %u s)", attached, attached == 1 ? "" : "s", oldest,
		       d->cfg->hang_timeout);
		return;
	}
	if (d->watch_run && d->restarts) {
		struct restart_rec *r = &d->rlog[(d->restarts - 1) % RESTART_LOG];

		if (clients && running == clients) {
			r->run_ms = now - d->t_detect;
			sv_log(sv, "%s: clients back in RUN %lld ms after the %s was detected",
			       d->cfg->name, r->run_ms, cause_names[r->cause]);
			d->watch_run = false;
			d->t_detect = 0;
		} else if (now - d->t_ready > RUN_WATCH_MS) {
			d->watch_run = false;
			d->t_detect = 0;
		}
	}
}

static void on_hub_exit(struct sv *sv, int status)
{
	char how[96];

	ddvm_wait_status_text(status, how, sizeof(how));
	sv->hub_pid = 0;
	sv->hub_state = "failed";
	/*
	 * The channel regions lived in the hub's memfds: the mapped ones
	 * stay valid in the QEMUs, but no peer can join any more.  Say so
	 * loudly; recovering the hub is later work.
	 */
	snprintf(sv->hub_error, sizeof(sv->hub_error),
		 "hub %s; channels accept no new peers (see %s/" DDVM_HUB_LOG ")", how,
		 sv->run_dir);
	sv_log(sv, "%s", sv->hub_error);
	save_state(sv, true);
}

static void reap(struct sv *sv)
{
	unsigned int i;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == sv->hub_pid) {
			on_hub_exit(sv, status);
			continue;
		}
		for (i = 0; i < sv->nr; i++) {
			if (sv->doms[i].pid == pid) {
				on_domain_exit(sv, &sv->doms[i], status);
				break;
			}
			if (sv->doms[i].spare.pid == pid) {
				on_spare_exit(sv, &sv->doms[i], status);
				break;
			}
		}
		if (i == sv->nr && sv->vms)
			ddvm_vms_reap(sv->vms, pid, status);
	}
}

static void on_signal(struct sv *sv)
{
	struct signalfd_siginfo si;

	while (read(sv->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(sv);
			break;
		case SIGTERM:
		case SIGINT:
			sv_log(sv, "signal %d from pid %u: stopping", (int)si.ssi_signo, si.ssi_pid);
			sv->stop = true;
			break;
		default:
			sv_log(sv, "signal %d ignored", (int)si.ssi_signo);
		}
	}
	/* a SIGCHLD merged with one already handled: reap anyway */
	reap(sv);
}

/* --------------------------------------------------------------- shutdown */

/* Wait until no domain has a QEMU, or @ms passes, reading their output meanwhile. */
static void wait_domains(struct sv *sv, long long ms)
{
	long long deadline = ddvm_now_ms() + ms;
	unsigned int i, alive;
	int status;

	for (;;) {
		alive = 0;
		for (i = 0; i < sv->nr; i++) {
			struct domain *d = &sv->doms[i];

			if (!d->pid)
				continue;
			drain_console(sv, d);
			if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
				char how[96];

				ddvm_wait_status_text(status, how, sizeof(how));
				sv_log(sv, "%s: QEMU pid %d %s", d->cfg->name, (int)d->pid, how);
				d->pid = 0;
				continue;
			}
			alive++;
		}
		if (!alive || ddvm_now_ms() >= deadline)
			return;
		usleep(20 * 1000);
	}
}

static void signal_domains(struct sv *sv, int sig)
{
	unsigned int i;

	for (i = 0; i < sv->nr; i++)
		if (sv->doms[i].pid) {
			sv_log(sv, "%s: sending signal %d to QEMU pid %d", sv->doms[i].cfg->name,
			       sig, (int)sv->doms[i].pid);
			kill(sv->doms[i].pid, sig);
		}
}

static void stop_hub(struct sv *sv)
{
	long long deadline = ddvm_now_ms() + DDVM_TERM_TIMEOUT_MS;
	int status;

	if (!sv->hub_pid)
		return;
	kill(sv->hub_pid, SIGTERM);
	while (waitpid(sv->hub_pid, &status, WNOHANG) == 0) {
		if (ddvm_now_ms() >= deadline) {
			sv_log(sv, "hub: no exit %d ms after SIGTERM, killing", DDVM_TERM_TIMEOUT_MS);
			kill(sv->hub_pid, SIGKILL);
			waitpid(sv->hub_pid, &status, 0);
			break;
		}
		usleep(20 * 1000);
	}
	sv_log(sv, "hub: stopped");
	sv->hub_pid = 0;
	sv->hub_state = "stopped";
}

/* A spare has written nothing and holds nothing: SIGKILL, reap, forget. */
static void kill_spares(struct sv *sv)
{
	char path[DDVM_SOCK_PATH_MAX], name[64];
	unsigned int i;
	size_t k;
	int status;

	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];

		if (d->spare.pid) {
			long long deadline = ddvm_now_ms() + DDVM_TERM_TIMEOUT_MS;

			kill(d->spare.pid, SIGKILL);
			while (waitpid(d->spare.pid, &status, WNOHANG) == 0 && ddvm_now_ms() < deadline)
				usleep(10 * 1000);
			sv_log(sv, "%s: warm spare pid %d stopped", d->cfg->name, (int)d->spare.pid);
			d->spare.pid = 0;
			d->spare.ready = false;
		}
		spare_close_fds(sv, d);
		for (k = 0; k < sizeof(spare_socks) / sizeof(spare_socks[0]); k++) {
			snprintf(name, sizeof(name), DDVM_SPARE_PREFIX "%s", spare_socks[k]);
			if (!ddvm_domain_socket_path(path, sizeof(path), sv->run_dir, d->cfg->name,
						     name, NULL))
				unlink(path);
		}
	}
}

static void shutdown_all(struct sv *sv)
{
	struct ddvm_err err;
	unsigned int i;

	/* client VMs first, then their bridges: nothing uses a domain after that */
	ddvm_vms_stop(sv->vms);
	kill_spares(sv);
	/* ask every QEMU first, then wait for all: they stop in parallel */
	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];
		char path[DDVM_SOCK_PATH_MAX];

		disarm_timer(d);
		if (!d->pid) {
			if (d->state != DOM_FAILED)
				d->state = DOM_STOPPED;
			continue;
		}
		d->expect_exit = true;
		if (!d->qmp &&
		    (ddvm_qmp_socket_path(path, sizeof(path), sv->run_dir, d->cfg->name, &err) ||
		     ddvm_qmp_connect(&d->qmp, path, DDVM_QMP_TIMEOUT_MS / 2, &err)))
			d->qmp = NULL;
		if (d->qmp && !ddvm_qmp_execute(d->qmp, "quit", NULL, DDVM_QMP_TIMEOUT_MS / 2,
						NULL, &err)) {
			sv_log(sv, "%s: asked QEMU pid %d to quit", d->cfg->name, (int)d->pid);
		} else {
			sv_log(sv, "%s: QMP quit failed (%s); SIGTERM", d->cfg->name, err.msg);
			kill(d->pid, SIGTERM);
		}
		close_qmp(sv, d);
	}
	wait_domains(sv, DDVM_QUIT_TIMEOUT_MS);
	signal_domains(sv, SIGTERM);
	wait_domains(sv, DDVM_TERM_TIMEOUT_MS);
	signal_domains(sv, SIGKILL);
	wait_domains(sv, DDVM_TERM_TIMEOUT_MS);
	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];
		char path[DDVM_SOCK_PATH_MAX];

		if (d->state != DOM_FAILED)
			d->state = DOM_STOPPED;
		if (!ddvm_qmp_socket_path(path, sizeof(path), sv->run_dir, d->cfg->name, NULL))
			unlink(path);
	}
	stop_hub(sv);
	/* every QEMU is gone, and its tap with it: the namespaces are empty */
	remove_netns(sv);
	/* the hub removes its sockets; a killed one cannot */
	for (i = 0; i < sv->nr; i++) {
		const struct ddvm_domain_cfg *c = sv->doms[i].cfg;
		char path[DDVM_SOCK_PATH_MAX];
		unsigned int j;

		for (j = 0; j < c->nr_channels; j++)
			if (!ddvm_hub_socket_path(path, sizeof(path), sv->run_dir, c->name,
						  c->channels[j].name, NULL))
				unlink(path);
	}
}

/* ------------------------------------------------------------------ setup */

static int setup_domain(struct sv *sv, struct domain *d, unsigned int idx,
			struct ddvm_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_TIMER, idx) };
	char dir[4096], path[4096 + 16];
	unsigned int j;

	memset(d, 0, sizeof(*d));
	d->timer_fd = -1;
	d->spare.timer_fd = d->spare.out_fd = d->spare.ctl_fd = -1;
	d->activate_fd = -1;
	for (j = 0; j < DDVM_MAX_CHANNELS; j++)
		d->region_fd[j] = -1;
	d->sv = sv;
	d->cfg = &sv->cfg->domains[idx];
	d->idx = idx;
	d->state = DOM_BOOTING;
	d->out_fd = -1;
	d->console_fd = -1;
	d->last_boot_ms = -1;
	d->cause = CAUSE_NONE;
	d->last_cause = CAUSE_NONE;
	d->wire = d->cfg->has_nic && d->cfg->nic.wire.netns[0] ? "pending" : "none";
	snprintf(dir, sizeof(dir), "%s/%s", sv->run_dir, d->cfg->name);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return ddvm_errf(err, -errno, "%s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/" DDVM_CONSOLE_LOG, dir);
	d->console_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (d->console_fd < 0)
		return ddvm_errf(err, -errno, "%s: %s", path, strerror(errno));
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->timer_fd < 0)
		return ddvm_errf(err, -errno, "timerfd: %s", strerror(errno));
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, d->timer_fd, &ev))
		return ddvm_errf(err, -errno, "epoll: %s", strerror(errno));
	d->spare.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->spare.timer_fd < 0)
		return ddvm_errf(err, -errno, "timerfd: %s", strerror(errno));
	ev.data.u64 = EV(EV_SPARE_TIMER, idx);
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, d->spare.timer_fd, &ev))
		return ddvm_errf(err, -errno, "epoll: %s", strerror(errno));
	return 0;
}

/* ------------------------------------------------------------- client VMs */

static enum ddvm_vm_dom_state vm_domain_state(void *arg, unsigned int dom)
{
	struct sv *sv = arg;

	switch (sv->doms[dom].state) {
	case DOM_SERVING:
		return DDVM_VM_DOM_SERVING;
	case DOM_FAILED:
		return DDVM_VM_DOM_FAILED;
	default:
		return DDVM_VM_DOM_PENDING;
	}
}

static void vm_log(void *arg, const char *line)
{
	sv_log(arg, "%s", line);
}

static void vm_progress(void *arg, const char *line)
{
	progress(arg, "%s", line);
}

static void vm_changed(void *arg)
{
	save_state(arg, true);
	check_settled(arg);
}

static int setup_vms(struct sv *sv, struct ddvm_err *err)
{
	sv->vm_host = (struct ddvm_vms_host){
		.cfg = sv->cfg, .accel = sv->o->accel, .run_dir = sv->run_dir, .exe = sv->o->exe,
		.epfd = sv->epfd, .ev_tag = EV(EV_VM, 0), .arg = sv,
		.domain_state = vm_domain_state, .log = vm_log, .progress = vm_progress,
		.changed = vm_changed,
	};
	return ddvm_vms_create(&sv->vms, &sv->vm_host, err);
}

static void teardown(struct sv *sv)
{
	unsigned int i, j;

	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];

		for (j = 0; j < DDVM_MAX_CHANNELS; j++) {
			ddvm_chanmon_close(&d->mon[j]);
			if (d->region_fd[j] >= 0)
				close(d->region_fd[j]);
			d->region_fd[j] = -1;
		}
		close_qmp(sv, d);
		spare_close_fds(sv, d);
		if (d->spare.timer_fd >= 0)
			close(d->spare.timer_fd);
		if (d->activate_fd >= 0)
			close(d->activate_fd);
		if (d->out_fd >= 0)
			close(d->out_fd);
		if (d->console_fd >= 0)
			close(d->console_fd);
		if (d->timer_fd >= 0)
			close(d->timer_fd);
	}
	ddvm_vms_destroy(sv->vms);
	sv->vms = NULL;
	if (sv->tick_fd >= 0)
		close(sv->tick_fd);
	if (sv->sig_fd >= 0)
		close(sv->sig_fd);
	if (sv->epfd >= 0)
		close(sv->epfd);
}

static void dispatch(struct sv *sv, uint64_t data)
{
	unsigned int idx = (uint32_t)data;
	struct domain *d = idx < sv->nr ? &sv->doms[idx] : NULL;
	struct ddvm_err err;

	switch ((enum ev_kind)(data >> 32)) {
	case EV_SIGNAL:
		on_signal(sv);
		break;
	case EV_CONSOLE:
		if (d)
			drain_console(sv, d);
		break;
	case EV_TIMER:
		if (d)
			on_timer(sv, d);
		break;
	case EV_SPARE:
		if (d)
			drain_spare(sv, d);
		break;
	case EV_SPARE_TIMER:
		if (d)
			on_spare_timer(sv, d);
		break;
	case EV_TICK: {
		uint64_t ticks;

		if (read(sv->tick_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
			break;
		for (idx = 0; idx < sv->nr; idx++)
			watch_domain(sv, &sv->doms[idx]);
		if (sv->vms)
			ddvm_vms_tick(sv->vms);
		/* fresh channel data in state.json for "ddvm status" */
		if (++sv->ticks % SAVE_TICKS == 0)
			save_state(sv, true);
		break;
	}
	case EV_VM:
		if (sv->vms)
			ddvm_vms_event(sv->vms, idx);
		break;
	case EV_QMP:
		if (d && d->qmp && ddvm_qmp_dispatch(d->qmp, &err)) {
			/* QEMU is going away (or babbling): the exit tells why */
			if (err.msg[0] && !strstr(err.msg, "closed the connection"))
				sv_log(sv, "%s: %s", d->cfg->name, err.msg);
			close_qmp(sv, d);
		}
		break;
	}
}

int ddvm_supervise(const struct ddvm_supervisor_opts *o, struct ddvm_err *err)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV(EV_SIGNAL, 0) };
	struct epoll_event evs[16];
	struct sv *sv;
	sigset_t mask, old;
	unsigned int i;
	int n, ret;
	char hubdir[4096];

	sv = calloc(1, sizeof(*sv));
	if (!sv)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	sv->o = o;
	sv->cfg = o->cfg;
	sv->run_dir = o->cfg->run_dir;
	sv->progress_fd = o->progress_fd;
	sv->started_at = time(NULL);
	sv->hub_state = "starting";
	sv->epfd = -1;
	sv->sig_fd = -1;
	sv->tick_fd = -1;
	sv->nr = o->cfg->nr_domains;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	/* a gone "ddvm up" must not kill us through the progress pipe */
	signal(SIGPIPE, SIG_IGN);

	ret = ddvm_run_write_pid(o->lock_fd, getpid());
	if (ret) {
		ddvm_errf(err, ret, "%s/" DDVM_PID_FILE ": %s", sv->run_dir, strerror(-ret));
		goto out_free;
	}
	sv_log(sv, "supervisor pid %d: %u domain%s, accelerator %s (%s), config %s",
	       (int)getpid(), sv->nr, sv->nr == 1 ? "" : "s",
	       ddvm_accel_name(o->accel), o->accel->reason,
	       sv->cfg->source);

	sv->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sv->sig_fd < 0 || sv->epfd < 0 ||
	    epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->sig_fd, &ev)) {
		ret = ddvm_errf(err, -errno, "signalfd/epoll: %s", strerror(errno));
		goto out_free;
	}
	/* teardown() may see domains never set up: nothing of theirs is open */
	for (i = 0; i < sv->nr; i++) {
		struct domain *d = &sv->doms[i];
		unsigned int j;

		d->timer_fd = d->out_fd = d->console_fd = -1;
		d->spare.timer_fd = d->spare.out_fd = d->spare.ctl_fd = -1;
		d->activate_fd = -1;
		for (j = 0; j < DDVM_MAX_CHANNELS; j++)
			d->region_fd[j] = -1;
	}
	for (i = 0; i < sv->nr; i++) {
		ret = setup_domain(sv, &sv->doms[i], i, err);
		if (ret)
			goto out_free;
	}
	ret = setup_vms(sv, err);
	if (ret)
		goto out_free;
	snprintf(hubdir, sizeof(hubdir), "%s/" DDVM_HUB_DIR, sv->run_dir);
	if (mkdir(hubdir, 0755) && errno != EEXIST) {
		ret = ddvm_errf(err, -errno, "%s: %s", hubdir, strerror(errno));
		goto out_free;
	}
	remove_stale_netns(sv);
	save_state(sv, true);

	ret = make_regions(sv, err);
	if (!ret)
		ret = start_hub(sv, err);
	if (ret) {
		for (i = 0; i < sv->nr; i++) {
			sv->doms[i].state = DOM_FAILED;
			set_error(&sv->doms[i], "not started: %s", err->msg);
		}
		progress(sv, "hub: %s", err->msg);
		if (!o->foreground)
			progress(sv, "%s", DDVM_PROGRESS_FAIL);
		save_state(sv, false);
		goto out_free;
	}
	start_tick(sv);
	save_state(sv, true);
	for (i = 0; i < sv->nr; i++)
		start_domain(sv, &sv->doms[i]);

	while (!sv->stop) {
		n = epoll_wait(sv->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = ddvm_errf(err, -errno, "epoll_wait: %s", strerror(errno));
			sv_log(sv, "%s", err->msg);
			break;
		}
		for (i = 0; i < (unsigned int)n && !sv->stop; i++)
			dispatch(sv, evs[i].data.u64);
	}

	sv_log(sv, "stopping");
	shutdown_all(sv);
	if (!ret && sv->stop_reason)
		ret = ddvm_errf(err, sv->stop_reason, "every domain failed");
	save_state(sv, false);
	sv_log(sv, "stopped");
	/* "ddvm up" still waiting: it reads the final state now */
	if (!sv->settled) {
		if (!sv->stop_reason)
			progress(sv, "stopped before every domain was up");
		if (!sv->o->foreground)
			progress(sv, "%s", DDVM_PROGRESS_FAIL);
	}
out_free:
	if (sv->hub_pid)
		stop_hub(sv);
	teardown(sv);
	{
		char pidfile[4096];

		if (!ddvm_run_path(pidfile, sizeof(pidfile), sv->run_dir, DDVM_PID_FILE, NULL))
			unlink(pidfile);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(sv);
	return ret;
}

/* ---------------------------------------------------------------- preflight */

/* Whether we hold CAP_NET_ADMIN (bit 12 of CapEff): QEMU needs it to make a tap. */
static bool have_net_admin(void)
{
	char line[256];
	unsigned long long caps = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found ? (caps >> 12) & 1 : geteuid() == 0;
}

/* A NIC domain needs a tap QEMU can make, and its wire needs ip. */
static int preflight_nic(const struct ddvm_domain_cfg *d, struct ddvm_err *err)
{
	char tap[16];
	int ret;

	ddvm_tap_name(d->name, tap, sizeof(tap));
	if (!have_net_admin())
		return ddvm_errf(err, -EPERM, "domain %s: QEMU must create tap %s, which needs "
				 "root (CAP_NET_ADMIN)", d->name, tap);
	if (access("/dev/net/tun", R_OK | W_OK))
		return ddvm_errf(err, -errno, "domain %s: /dev/net/tun: %s (QEMU creates tap %s "
				 "through it; modprobe tun)", d->name, strerror(errno), tap);
	if (d->nic.wire.netns[0]) {
		ret = ddvm_find_program("ip");
		if (ret)
			return ddvm_errf(err, ret, "domain %s: ip not found in PATH, needed for "
					 "nic.wire (Debian package iproute2)", d->name);
	}
	return 0;
}

int ddvm_supervisor_preflight(const struct ddvm_config *cfg, struct ddvm_err *err)
{
	const char *qemu = ddvm_qemu_binary();
	struct ddvm_accel tcg = { .kind = DDVM_ACCEL_TCG };
	struct ddvm_argv a = { 0 };
	unsigned int i;
	int ret;

	ret = ddvm_check_readable("kernel", cfg->kernel, " (make setup fetches it)", err);
	if (!ret)
		ret = ddvm_check_readable("initrd", cfg->initrd, " (make image builds it)", err);
	if (ret)
		return ret;
	ret = ddvm_find_program(qemu);
	if (ret && strchr(qemu, '/'))
		return ddvm_errf(err, ret, "QEMU %s ($" DDVM_QEMU_ENV "): %s", qemu, strerror(-ret));
	if (ret)
		return ddvm_errf(err, ret, "%s not found in PATH (Debian package qemu-system-x86)",
				 qemu);
	/* socket paths: building the command lines checks them all */
	ret = ddvm_hub_argv(&a, cfg, "ddvm", 3, NULL, cfg->run_dir, err);
	ddvm_argv_free(&a);
	if (ret)
		return ret;
	for (i = 0; i < cfg->nr_domains; i++) {
		ret = ddvm_qemu_argv(&a, cfg, &cfg->domains[i], &tcg, cfg->run_dir, err);
		ddvm_argv_free(&a);
		if (!ret && cfg->domains[i].has_nic)
			ret = preflight_nic(&cfg->domains[i], err);
		if (ret)
			return ret;
	}
	return ddvm_vms_preflight(cfg, err);
}
