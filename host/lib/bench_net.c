// SPDX-License-Identifier: GPL-2.0
/* ddvm bench net: native (iperf3 in the DD/OS) and reuse (TAP client through a channel) side by side. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "bench_cpu.h"
#include "bench_fio.h"
#include "bench_net.h"
#include "bench_netns.h"
#include "qemu_args.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "supervisor.h"
#include "units.h"

#define NATIVE_CONSOLE_LOG	"native-console.log"
#define SERVER_LOG		"iperf3-server.log"
#define TAP_LOG			"net-tap.log"
#define STALE_RECORD		"bench-net.netns"	/* our namespaces, for a run that was killed */
#define RUN_SLACK_S		60	/* per run beyond omit + runtime */
#define TAP_WAIT_MS		10000
#define READY_TIMEOUT_MS	15000
#define POWEROFF_TIMEOUT_MS	15000
#define STOP_TIMEOUT_MS		60000
#define OPEN_TIMEOUT_MS		10000

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

struct netb {
	const struct ddvm_bench_net_opts *o;
	struct ddvm_bench_blk_report *rep;
	const struct ddvm_domain_cfg *dom;
	char remote_ns[DDVM_NETNS_MAX + 1];	/* the remote host */
	char client_ns[DDVM_NETNS_MAX + 1];	/* the reuse client */
	char client_if[IFNAMSIZ];
	char tap[IFNAMSIZ];			/* QEMU's, in remote_ns once moved */
	pid_t server_pid;			/* iperf3 -s in remote_ns */
};



/* Progress of run @b, which knows its printer and how many steps it has. */
#define say(b, ...)	ddvm_bench_say(&(struct ddvm_bench_sink){ (b)->o->progress, (b)->o->ctx, \
						2 * (b)->rep->nr }, __VA_ARGS__)
#define report_step(b, step, side, i, res, msg) \
	ddvm_bench_step(&(struct ddvm_bench_sink){ (b)->o->progress, (b)->o->ctx, 2 * (b)->rep->nr }, \
			step, side, &(b)->rep->w[i], res, msg)

/* ------------------------------------------------------------------ config */

int ddvm_bench_net_config(struct ddvm_config *out, const struct ddvm_config *in,
			  const char *domain, int model, const char *run_dir, struct ddvm_err *err)
{
	const struct ddvm_domain_cfg *src = NULL;
	struct ddvm_domain_cfg *d;
	unsigned int i;

	for (i = 0; i < in->nr_domains && !src; i++)
		if (in->domains[i].has_nic && (!domain || !strcmp(domain, in->domains[i].name)))
			src = &in->domains[i];
	if (!src)
		return ddvm_errf(err, -ENOENT, "%s has no NIC domain%s%s (try configs/net.json)",
				 in->source, domain ? " " : "", domain ? domain : "");
	*out = *in;
	out->nr_domains = 1;
	out->domains[0] = *src;
	d = &out->domains[0];
	/* a name of our own: QEMU's tap dd-NAME must not meet a `ddvm up`'s */
	snprintf(d->name, sizeof(d->name), "bn%d", (int)getpid());
	if (model >= 0)
		d->nic.model = (enum ddvm_nic_model)model;
	d->has_disk = false;
	for (i = 0; i < d->nr_channels; i++)
		if (d->channels[i].kind == DDVM_CHANNEL_NET)
			break;
	if (i == d->nr_channels)
		return ddvm_errf(err, -ENOENT, "domain %s has no NIC client", src->name);
	d->channels[0] = d->channels[i];
	d->nr_channels = 1;
	snprintf(d->nic.wire.netns, sizeof(d->nic.wire.netns), "ddvmb-r%d", (int)getpid());
	snprintf(d->nic.wire.address, sizeof(d->nic.wire.address), "%s",
		 DDVM_BENCH_NET_REMOTE DDVM_BENCH_NET_PREFIX);
	if (snprintf(out->run_dir, sizeof(out->run_dir), "%s", run_dir) >=
	    (int)sizeof(out->run_dir))
		return ddvm_errf(err, -ENAMETOOLONG, "run directory path too long");
	return 0;
}

/* ---------------------------------------------------------------- commands */

/*
 * Run @argv to completion within @timeout_ms, its stdout and stderr in
 * @out.  @cpu (if not NULL) gets the CPU seconds it used, from wait4: the
 * iperf3 client and ping are gone before /proc could be read again.
 * Return: 0 (exit 0), -EIO (another exit; @err has the output), -errno.
 */
static int run_capture(char *const *argv, char *out, size_t len, int timeout_ms, double *cpu,
		       bool interruptible, struct ddvm_err *err)
{
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .keep_fd = -1,
				 .death_signal = SIGKILL };
	struct pollfd pfd;
	struct rusage ru;
	double deadline = ddvm_bench_now() + timeout_ms / 1000.0;
	size_t got = 0;
	/* "ip netns exec NS PROGRAM": name PROGRAM in messages */
	const char *name = !strcmp(argv[0], "ip") && argv[1] && !strcmp(argv[1], "netns") &&
			   argv[2] && argv[3] && argv[4] ? argv[4] : argv[0];
	int op[2], status = 0, ret, pr;
	ssize_t n;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(op, O_CLOEXEC))
		return ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	ret = ddvm_spawn(&sp, &pid, err);
	close(op[1]);
	if (ret) {
		close(op[0]);
		return ret;
	}
	pfd.fd = op[0];
	pfd.events = POLLIN;
	ret = -ETIMEDOUT;	/* until EOF says the program is done */
	for (;;) {
		double left = deadline - ddvm_bench_now();

		if (left <= 0 || (interruptible && interrupted))
			break;
		pr = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		n = read(op[0], got < len - 1 ? out + got : (char[256]){ 0 },
			 got < len - 1 ? len - 1 - got : 256);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = 0;
			break;
		}
		if (got < len - 1)
			got += (size_t)n;
	}
	close(op[0]);
	out[got] = '\0';
	if (ret)
		kill(pid, SIGKILL);
	while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
		;
	if (cpu)
		*cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (ret)
		return ddvm_errf(err, interrupted ? -EINTR : -ETIMEDOUT, "%s: %s", name,
				 interrupted ? "interrupted" : "no result in time (a stalled connection?)");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return ddvm_errf(err, -EIO, "%s exited %d: %.300s", name,
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
	return 0;
}

/* Namespaces a run that was killed left behind (its children died with it). */
static void remove_stale(const char *run_dir)
{
	char path[DDVM_PATH_MAX + 32], line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" STALE_RECORD, run_dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "ddvmb-", 6) && strspn(line + 6, "rc0123456789") == strlen(line + 6))
			ddvm_bench_netns_del(line);
	}
	fclose(f);
	unlink(path);
}

/*
 * Each run's domain is "bnPID", so RUN/bnPID directories (a console log,
 * dead sockets) pile up: keep only the current one.
 */
static void remove_old_domains(const char *run_dir, const char *current)
{
	char path[DDVM_PATH_MAX + 320], file[DDVM_PATH_MAX + 640];
	struct dirent *de, *fe;
	DIR *d, *f;

	d = opendir(run_dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "bn", 2) || !de->d_name[2] ||
		    strspn(de->d_name + 2, "0123456789") != strlen(de->d_name + 2) ||
		    !strcmp(de->d_name, current))
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, de->d_name);
		f = opendir(path);
		if (!f)
			continue;
		while ((fe = readdir(f)))
			if (fe->d_name[0] != '.') {
				snprintf(file, sizeof(file), "%s/%s", path, fe->d_name);
				unlink(file);
			}
		closedir(f);
		rmdir(path);
	}
	closedir(d);
}

static void record_netns(struct netb *b)
{
	char path[DDVM_PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" STALE_RECORD, b->o->cfg->run_dir);
	f = fopen(path, "we");
	if (!f)
		return;
	fprintf(f, "%s\n%s\n", b->remote_ns, b->client_ns);
	fclose(f);
}

static int open_log(struct netb *b, const char *name)
{
	char path[DDVM_PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", b->o->cfg->run_dir, name);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/*
 * Unless told otherwise the remote end offloads TX checksums (and with
 * them TSO) to QEMU's tap, as a Linux host does: a virtio-net DD/OS then
 * gets frames whose TCP checksum is only the pseudo-header sum and 64 KiB
 * GSO frames, which ddvm_net.c hands offload clients as they are and
 * finishes or cuts up for plain ones.  --remote-csum-off (the old default,
 * from before ddvm_net.c finished partial checksums) turns it off, so the
 * remote sends finished 1500-byte frames; native and reuse get the same
 * wire either way.
 */
static int remote_csum_off(struct netb *b, struct ddvm_err *err)
{
	if (b->o->remote_offload)
		return 0;
	return ddvm_bench_tx_csum(b->remote_ns, b->tap, false, err);
}

/* The remote host: a namespace with an iperf3 server, up for the whole run. */
static int remote_start(struct netb *b, struct ddvm_err *err)
{
	char *argv[] = { "ip", "netns", "exec", b->remote_ns, "iperf3", "-s", NULL };
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .keep_fd = -1,
				 .death_signal = SIGKILL };
	int logfd, ret;

	ret = ddvm_bench_netns_add(b->remote_ns, err);
	if (ret)
		return ret;
	logfd = open_log(b, SERVER_LOG);
	sp.stdout_fd = logfd;
	sp.stderr_fd = logfd;
	ret = ddvm_spawn(&sp, &b->server_pid, err);
	if (logfd >= 0)
		close(logfd);
	if (ret)
		return ddvm_err_prefix(err, ret, "iperf3 server (Debian package iperf3): ");
	usleep(300 * 1000);	/* listening long before any client boots */
	if (waitpid(b->server_pid, NULL, WNOHANG) == b->server_pid) {
		b->server_pid = 0;
		return ddvm_errf(err, -EIO, "the iperf3 server exited (see %s/" SERVER_LOG ")",
				 b->o->cfg->run_dir);
	}
	return 0;
}

static void remote_stop(struct netb *b)
{
	if (b->server_pid > 0)
		ddvm_bench_reap(b->server_pid, 2000, SIGTERM);
	b->server_pid = 0;
	ddvm_bench_netns_del(b->remote_ns);
}

static int workload_index(const struct netb *b, const char *name)
{
	unsigned int i;

	for (i = 0; i < b->rep->nr; i++)
		if (!strcmp(b->rep->w[i].name, name))
			return (int)i;
	return -1;
}

/* One run's output into @r: iperf3 JSON or ping's summary. */
static int parse_output(struct netb *b, unsigned int i, const char *text, size_t len,
			struct ddvm_bench_result *r, struct ddvm_err *err)
{
	char ver[32];
	int ret;

	if (b->rep->w[i].rtt)
		return ddvm_bench_ping_parse(text, r, err);
	ret = ddvm_bench_iperf_parse(text, len, r, ver, sizeof(ver), err);
	if (!ret && ver[0])
		snprintf(b->rep->env.fio_version, sizeof(b->rep->env.fio_version), "%s", ver);
	return ret;
}

static void set_cpu(struct ddvm_bench_result *r, const struct ddvm_bench_workload *w,
		    double cpu, double window)
{
	if (w->rtt || window <= 0 || cpu < 0)
		return;	/* a few ping bytes: CPU per GiB means nothing */
	r->cpu_seconds = cpu;
	r->cpu_window = window;
	/* per byte moved in the run, not per second of iperf3's counting window */
	r->cpu_s_per_gib = r->bytes ? cpu / ((double)r->bytes / DDVM_GIB) : 0;
}

/* ------------------------------------------------------------------- native */

struct native {
	struct netb *b;
	struct ddvm_bench_console con;
	struct ddvm_bench_cpu cpu;
	int ack_fd;		/* QEMU's stdin: the guest's console input */
	double t_start[DDVM_BENCH_MAX_WORKLOADS], c_start[DDVM_BENCH_MAX_WORKLOADS];
	double t_stop[DDVM_BENCH_MAX_WORKLOADS], c_stop[DDVM_BENCH_MAX_WORKLOADS];
	bool begun, done, failed, tap_moved;
	double deadline;
	int script_status;
	char last_line[200];
	char *error;		/* rep->native_error */
	size_t error_len;
};

static int native_argv(struct netb *b, struct ddvm_argv *a, struct ddvm_err *err)
{
	struct ddvm_bench_iperf_opts io = {
		.ifname = DDVM_NIC_GUEST_IFNAME,
		.address = DDVM_BENCH_NET_NATIVE_ADDR DDVM_BENCH_NET_PREFIX,
		.remote = DDVM_BENCH_NET_REMOTE, .omit = b->o->omit, .runtime = b->o->runtime,
	};
	struct ddvm_config *ncfg;
	char script[2048], b64[2800], *cmdline;
	int i, ret, n;

	n = ddvm_bench_iperf_script(script, sizeof(script), &io, b->rep->w, b->rep->nr);
	if (n < 0 || ddvm_base64(b64, sizeof(b64), script, (size_t)n) < 0)
		return ddvm_errf(err, -ENOSPC, "the iperf3 script does not fit the kernel command line");
	ncfg = malloc(sizeof(*ncfg));
	if (!ncfg)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	*ncfg = *b->o->cfg;
	ncfg->domains[0].nr_channels = 0;	/* iperf3 alone on the NIC */
	ncfg->domains[0].memory = b->rep->env.memory_native;
	snprintf(ncfg->initrd, sizeof(ncfg->initrd), "%s", b->o->bench_initrd);
	ret = ddvm_qemu_argv(a, ncfg, &ncfg->domains[0], b->o->accel, b->o->cfg->run_dir, err);
	free(ncfg);
	if (ret)
		return ret;
	for (i = 0; i + 1 < a->argc; i++) {
		if (strcmp(a->argv[i], "-append"))
			continue;
		if (asprintf(&cmdline, "%s ddvm.mode=bench ddvm.wait=net:%s ddvm.cmd=%s",
			     a->argv[i + 1], DDVM_NIC_GUEST_IFNAME, b64) < 0)
			break;
		if (strlen(cmdline) > DDVM_KERNEL_CMDLINE_MAX) {
			ret = ddvm_errf(err, -E2BIG, "kernel command line of %zu bytes, at most %d "
					"fit", strlen(cmdline), DDVM_KERNEL_CMDLINE_MAX);
			free(cmdline);
			ddvm_argv_free(a);
			return ret;
		}
		free(a->argv[i + 1]);
		a->argv[i + 1] = cmdline;
		return 0;
	}
	ddvm_argv_free(a);
	return ddvm_errf(err, -EINVAL, "no -append in the QEMU command line (or out of memory)");
}

/* QEMU made the tap when it started: hand it to the remote host. */
static int native_wire(struct netb *b, struct ddvm_err *err)
{
	char path[64];
	struct stat st;
	double end = ddvm_bench_now() + TAP_WAIT_MS / 1000.0;
	int ret;

	snprintf(path, sizeof(path), "/sys/class/net/%s", b->tap);
	while (stat(path, &st)) {
		if (ddvm_bench_now() > end || interrupted)
			return ddvm_errf(err, -ETIMEDOUT, "QEMU's tap %s did not appear", b->tap);
		usleep(20 * 1000);
	}
	ret = ddvm_bench_ip(err, "link set dev %s netns %s", b->tap, b->remote_ns);
	if (!ret)
		ret = ddvm_bench_ip(err, "-n %s addr add %s dev %s", b->remote_ns,
			  DDVM_BENCH_NET_REMOTE DDVM_BENCH_NET_PREFIX, b->tap);
	if (!ret)
		ret = ddvm_bench_ip(err, "-n %s link set dev %s up", b->remote_ns, b->tap);
	return ret ? ret : remote_csum_off(b, err);
}

static void native_event(struct native *nv, const struct ddvm_bench_event *ev)
{
	struct netb *b = nv->b;
	struct ddvm_bench_result *r;
	struct ddvm_err err = { "" };
	int i = ev->name[0] ? workload_index(b, ev->name) : -1;
	double c;

	switch (ev->kind) {
	case DDVM_BENCH_EV_BEGIN:
		nv->begun = true;
		say(b, "native: DD/OS up, waiting for the remote host");
		break;
	case DDVM_BENCH_EV_START:
		if (i < 0)
			break;
		nv->t_start[i] = ddvm_bench_now();
		nv->c_start[i] = ddvm_bench_cpu_sample(&nv->cpu, &c, NULL) ? -1 : c;
		report_step(b, (unsigned int)i + 1, "native", (unsigned int)i, NULL, NULL);
		break;
	case DDVM_BENCH_EV_STOP:
		if (i < 0)
			break;
		nv->t_stop[i] = ddvm_bench_now();
		nv->c_stop[i] = ddvm_bench_cpu_sample(&nv->cpu, &c, NULL) ? -1 : c;
		break;
	case DDVM_BENCH_EV_JSON:
		if (i < 0)
			break;
		r = &b->rep->native[i];
		if (parse_output(b, (unsigned int)i, ev->json, ev->json_len, r, &err)) {
			snprintf(r->error, sizeof(r->error), "%s", err.msg);
			report_step(b, (unsigned int)i + 1, "native", (unsigned int)i, NULL, r->error);
			break;
		}
		if (nv->c_start[i] >= 0 && nv->c_stop[i] >= nv->c_start[i])
			set_cpu(r, &b->rep->w[i], nv->c_stop[i] - nv->c_start[i],
				nv->t_stop[i] - nv->t_start[i]);
		report_step(b, (unsigned int)i + 1, "native", (unsigned int)i, r, NULL);
		break;
	case DDVM_BENCH_EV_END:
		nv->done = true;
		nv->script_status = ev->status;
		break;
	case DDVM_BENCH_EV_FAIL:
		nv->failed = true;
		snprintf(nv->error, nv->error_len, "the bench DD/OS failed: %s", ev->msg);
		break;
	case DDVM_BENCH_EV_NONE:
		break;
	}
}

/* The guest set its MTU: give the remote end the same, then let it go on. */
static void native_mtu(struct native *nv, const char *mark)
{
	struct ddvm_err err = { "" };
	unsigned int mtu = (unsigned int)atoi(mark + strlen(DDVM_BENCH_MTU_MARK));

	if (ddvm_bench_ip(&err, "-n %s link set dev %s mtu %u", nv->b->remote_ns, nv->b->tap, mtu))
		say(nv->b, "native: remote MTU %u: %s", mtu, err.msg);
	if (write(nv->ack_fd, "go\n", 3) != 3)
		say(nv->b, "native: cannot answer the guest: %s", strerror(errno));
}

static void native_line(struct native *nv, const char *line, int logfd)
{
	struct ddvm_bench_event ev;
	const char *mark;
	size_t n = strlen(line);

	if (logfd >= 0 && (write(logfd, line, n) < 0 || write(logfd, "\n", 1) < 0))
		logfd = -1;
	if (n && line[0] != '\r' && !nv->con.in_json)
		snprintf(nv->last_line, sizeof(nv->last_line), "%.*s", (int)strcspn(line, "\r"),
			 line);
	if (!nv->con.in_json && (mark = strstr(line, DDVM_BENCH_MTU_MARK))) {
		nv->deadline = ddvm_bench_now() + RUN_SLACK_S;
		native_mtu(nv, mark);
		return;
	}
	if (ddvm_bench_console_line(&nv->con, line, &ev))
		return;
	if (ev.kind != DDVM_BENCH_EV_NONE)
		nv->deadline = ddvm_bench_now() + nv->b->o->omit + nv->b->o->runtime + RUN_SLACK_S;
	native_event(nv, &ev);
}

static void native_watch(struct native *nv, int fd, int logfd)
{
	static char buf[65536];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0, i, start;
	ssize_t n;
	double left;

	while (!nv->done && !nv->failed) {
		left = nv->deadline - ddvm_bench_now();
		if (interrupted) {
			snprintf(nv->error, nv->error_len, "interrupted");
			return;
		}
		if (left <= 0) {
			snprintf(nv->error, nv->error_len, "timed out %s; last console line: %s",
				 nv->begun ? "running iperf3" : "booting the bench DD/OS",
				 nv->last_line);
			return;
		}
		if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(nv->error, nv->error_len, "QEMU exited before %s; last console "
				 "line: %s", DDVM_BENCH_END, nv->last_line);
			return;
		}
		len += (size_t)n;
		for (i = 0, start = 0; i < len; i++) {
			if (buf[i] != '\n')
				continue;
			buf[i] = '\0';
			native_line(nv, buf + start, logfd);
			start = i + 1;
		}
		memmove(buf, buf + start, len - start);
		len -= start;
		if (len == sizeof(buf) - 1) {
			buf[len] = '\0';
			native_line(nv, buf, logfd);
			len = 0;
		}
	}
}

static void native_run(struct netb *b)
{
	struct ddvm_spawn sp = { .keep_fd = -1, .death_signal = SIGKILL };
	struct ddvm_err err = { "" };
	struct ddvm_argv a = { 0 };
	struct native *nv;
	int op[2], ip[2] = { -1, -1 }, logfd;
	pid_t pid;

	nv = calloc(1, sizeof(*nv));
	if (!nv) {
		snprintf(b->rep->native_error, sizeof(b->rep->native_error), "out of memory");
		return;
	}
	nv->b = b;
	nv->error = b->rep->native_error;
	nv->error_len = sizeof(b->rep->native_error);
	if (native_argv(b, &a, &err)) {
		snprintf(nv->error, nv->error_len, "%s", err.msg);
		goto out_free;
	}
	ddvm_argv_format(&a, b->rep->env.native_cmdline, sizeof(b->rep->env.native_cmdline));
	{
		char dir[DDVM_PATH_MAX + 64];

		/* QEMU's QMP socket lives in RUN/DOMAIN, which the supervisor makes later */
		snprintf(dir, sizeof(dir), "%.4000s/%s", b->o->cfg->run_dir, b->dom->name);
		mkdir(dir, 0755);
	}
	logfd = open_log(b, NATIVE_CONSOLE_LOG);
	if (logfd >= 0)
		dprintf(logfd, "=== ddvm bench net: %s\n", b->rep->env.native_cmdline);
	if (pipe2(op, O_CLOEXEC) || pipe2(ip, O_CLOEXEC)) {
		snprintf(nv->error, nv->error_len, "pipe: %s", strerror(errno));
		goto out_log;
	}
	say(b, "native: booting the DD/OS (%s, %llu MiB) with iperf3 from %s", b->rep->env.controller,
	    (unsigned long long)(b->rep->env.memory_native >> 20), b->o->bench_initrd);
	sp.argv = a.argv;
	sp.stdin_fd = ip[0];	/* the console's input: answers to MTU marks */
	sp.stdout_fd = op[1];
	sp.stderr_fd = op[1];
	if (ddvm_spawn(&sp, &pid, &err)) {
		snprintf(nv->error, nv->error_len, "%s", err.msg);
		close(op[0]);
		close(op[1]);
		goto out_pipes;
	}
	close(op[1]);
	nv->ack_fd = ip[1];
	/* native: QEMU and the iperf3 server do all the work */
	ddvm_bench_cpu_add(&nv->cpu, pid);
	ddvm_bench_cpu_add(&nv->cpu, b->server_pid);
	if (native_wire(b, &err)) {
		snprintf(nv->error, nv->error_len, "wire: %s", err.msg);
	} else {
		nv->deadline = ddvm_bench_now() + 2.0 * b->dom->boot_timeout;
		native_watch(nv, op[0], logfd);
	}
	close(op[0]);
	ddvm_bench_reap(pid, nv->done ? POWEROFF_TIMEOUT_MS : 0, 0);
	if (nv->done && nv->script_status && !nv->error[0])
		snprintf(nv->error, nv->error_len, "the iperf3 script exited %d (see %.400s/%s)",
			 nv->script_status, b->o->cfg->run_dir, NATIVE_CONSOLE_LOG);
out_pipes:
	close(ip[0]);
	close(ip[1]);
out_log:
	if (logfd >= 0)
		close(logfd);
out_free:
	ddvm_bench_console_free(&nv->con);
	ddvm_argv_free(&a);
	free(nv);
}

/* -------------------------------------------------------------------- reuse */

struct reuse {
	pid_t sv_pid, qemu_pid, hub_pid, tap_pid;
	char sock[DDVM_SOCK_PATH_MAX];
};

static void reuse_progress(void *arg, const char *line)
{
	struct netb *b = arg;

	say(b, "reuse: %s", line);
}

static int reuse_state(struct netb *b, struct reuse *ru, struct ddvm_err *err)
{
	json_t *st, *dom;
	int ret;

	ret = ddvm_state_load(b->o->cfg->run_dir, &st, err);
	if (ret)
		return ret;
	dom = json_array_get(json_object_get(st, "domains"), 0);
	ru->qemu_pid = (pid_t)json_integer_value(json_object_get(dom, "qemu_pid"));
	ru->hub_pid = (pid_t)json_integer_value(json_object_get(json_object_get(st, "hub"), "pid"));
	json_decref(st);
	if (ru->qemu_pid <= 0 || ru->hub_pid <= 0)
		return ddvm_errf(err, -ESRCH, "state.json names no QEMU or hub pid");
	return ddvm_hub_socket_path(ru->sock, sizeof(ru->sock), b->o->cfg->run_dir, b->dom->name,
				    b->dom->channels[0].name, err);
}

/* `ddvm net tap` for the channel, in the client namespace; wait for its "ready". */
static int tap_start(struct netb *b, struct reuse *ru, struct ddvm_err *err)
{
	char fdnum[16], buf[16];
	char *argv[] = { (char *)b->o->exe, "net", "tap", ru->sock, "--ifname", b->client_if,
			 "--netns", b->client_ns, "--ready-fd", fdnum, NULL };
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .death_signal = SIGTERM };
	struct pollfd pfd;
	int rp[2], logfd, ret;
	ssize_t n;

	if (pipe2(rp, O_CLOEXEC))
		return ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
	snprintf(fdnum, sizeof(fdnum), "%d", rp[1]);
	sp.keep_fd = rp[1];
	logfd = open_log(b, TAP_LOG);
	sp.stdout_fd = logfd;
	sp.stderr_fd = logfd;
	ret = ddvm_spawn(&sp, &ru->tap_pid, err);
	if (logfd >= 0)
		close(logfd);
	close(rp[1]);
	if (ret) {
		close(rp[0]);
		return ret;
	}
	pfd.fd = rp[0];
	pfd.events = POLLIN;
	do {
		ret = poll(&pfd, 1, READY_TIMEOUT_MS);
	} while (ret < 0 && errno == EINTR && !interrupted);
	n = ret > 0 ? read(rp[0], buf, sizeof(buf)) : 0;
	close(rp[0]);
	if (n != 6 || memcmp(buf, "ready\n", 6))
		return ddvm_errf(err, -EIO, "ddvm net tap did not get ready (see %s/" TAP_LOG ")",
				 b->o->cfg->run_dir);
	return 0;
}

/* The long-lived processes of the reuse side: everything but the per-run clients. */
static void reuse_cpu(struct reuse *ru, struct netb *b, struct ddvm_bench_cpu *cpu)
{
	ddvm_bench_cpu_add(cpu, ru->qemu_pid);
	ddvm_bench_cpu_add(cpu, ru->hub_pid);
	ddvm_bench_cpu_add(cpu, ru->sv_pid);
	ddvm_bench_cpu_add(cpu, ru->tap_pid);
	ddvm_bench_cpu_add(cpu, b->server_pid);
}

static int set_mtu(struct netb *b, uint32_t mtu, struct ddvm_err *err)
{
	int ret = ddvm_bench_ip(err, "-n %s link set dev %s mtu %u", b->client_ns, b->client_if, mtu);

	return ret ? ret : ddvm_bench_ip(err, "-n %s link set dev %s mtu %u", b->remote_ns, b->tap, mtu);
}

static void reuse_workloads(struct netb *b, struct reuse *ru)
{
	char t[16], o_s[16], c[16], *out;
	struct ddvm_bench_cpu cpu = { 0 };
	struct ddvm_err err = { "" };
	uint32_t mtu = 0;
	unsigned int i, k;
	int ret;

	out = malloc(DDVM_BENCH_JSON_MAX);
	if (!out) {
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error), "out of memory");
		return;
	}
	reuse_cpu(ru, b, &cpu);
	snprintf(t, sizeof(t), "%u", b->o->runtime);
	snprintf(o_s, sizeof(o_s), "%u", b->o->omit);
	snprintf(c, sizeof(c), "%u", DDVM_BENCH_NET_PINGS);
	/* the first frames wake ARP and the path: wait until the remote answers */
	for (k = 0; k < 30 && !interrupted; k++) {
		char *ping1[] = { "ip", "netns", "exec", b->client_ns, "ping", "-c1", "-W1",
				  DDVM_BENCH_NET_REMOTE, NULL };

		if (!run_capture(ping1, out, 4096, 3000, NULL, true, &err))
			break;
	}
	if (k == 30 || interrupted) {
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error),
			 "no reply from %s through the channel: %s", DDVM_BENCH_NET_REMOTE, err.msg);
		goto out;
	}
	/* the adapter asks for offloads as it starts; whether it got them is what we measure */
	say(b, "reuse: %s has TSO %s", b->client_if,
	    ddvm_bench_ethtool(b->client_ns, b->client_if, ETHTOOL_GTSO, 0) == 1 ?
	    "on: the channel carries offloads" : "off: frames cross one by one");
	for (i = 0; i < b->rep->nr && !interrupted; i++) {
		const struct ddvm_bench_workload *w = &b->rep->w[i];
		struct ddvm_bench_result *r = &b->rep->reuse[i];
		char *iperf[] = { "ip", "netns", "exec", b->client_ns, "iperf3", "-c",
				  DDVM_BENCH_NET_REMOTE, "-t", t, "-O", o_s, "-J",
				  w->write ? NULL : "-R", NULL };
		char *ping[] = { "ip", "netns", "exec", b->client_ns, "ping", "-c", c, "-i", "0.2",
				 DDVM_BENCH_NET_REMOTE, NULL };
		double c0, c1, t0, t1, client = 0;

		report_step(b, b->rep->nr + i + 1, "reuse", i, NULL, NULL);
		if (w->mtu != mtu) {
			mtu = w->mtu;
			ret = set_mtu(b, mtu, &err);
			if (ret) {
				snprintf(r->error, sizeof(r->error), "%s", err.msg);
				report_step(b, b->rep->nr + i + 1, "reuse", i, NULL, r->error);
				continue;
			}
		}
		t0 = ddvm_bench_now();
		ret = ddvm_bench_cpu_sample(&cpu, &c0, &err);
		if (!ret)
			ret = run_capture(w->rtt ? ping : iperf, out, DDVM_BENCH_JSON_MAX,
					  (int)(b->o->omit + b->o->runtime + RUN_SLACK_S) * 1000,
					  &client, true, &err);
		t1 = ddvm_bench_now();
		if (!ret)
			ret = ddvm_bench_cpu_sample(&cpu, &c1, &err);
		/* iperf3 says why it failed in its JSON; exit status says less */
		if (ret == -EIO && !w->rtt && strchr(out, '{'))
			ret = parse_output(b, i, out, strlen(out), r, &err);
		else if (!ret)
			ret = parse_output(b, i, out, strlen(out), r, &err);
		if (ret) {
			memset(r, 0, sizeof(*r));
			snprintf(r->error, sizeof(r->error), "%s", err.msg);
			report_step(b, b->rep->nr + i + 1, "reuse", i, NULL, r->error);
			if (ret == -ESRCH) {
				snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error),
					 "stopped: %s", err.msg);
				break;
			}
			continue;
		}
		set_cpu(r, w, c1 - c0 + client, t1 - t0);
		report_step(b, b->rep->nr + i + 1, "reuse", i, r, NULL);
	}
	if (interrupted && !b->rep->reuse_error[0])
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error), "interrupted");
out:
	free(out);
}

static void reuse_run(struct netb *b, int lock_fd)
{
	struct ddvm_err err = { "" };
	struct ddvm_argv a = { 0 };
	struct reuse ru = { 0 };
	double deadline;

	if (!ddvm_qemu_argv(&a, b->o->cfg, b->dom, b->o->accel, b->o->cfg->run_dir, NULL))
		ddvm_argv_format(&a, b->rep->env.reuse_cmdline, sizeof(b->rep->env.reuse_cmdline));
	ddvm_argv_free(&a);
	say(b, "reuse: starting a supervisor in %s (DD/OS of %llu MiB, channel of %llu KiB)",
	    b->o->cfg->run_dir, (unsigned long long)(b->dom->memory >> 20),
	    (unsigned long long)(b->dom->channels[0].size >> 10));
	deadline = ddvm_bench_now() + (double)b->dom->boot_timeout * (b->dom->boot_retries + 1) + 30;
	if (ddvm_bench_supervise(b->o->cfg, b->o->accel, lock_fd, b->o->exe, deadline,
				 reuse_progress, b, &ru.sv_pid, &err) ||
	    reuse_state(b, &ru, &err) || remote_csum_off(b, &err) ||
	    ddvm_bench_netns_add(b->client_ns, &err) ||
	    tap_start(b, &ru, &err) ||
	    ddvm_bench_ip(&err, "-n %s addr add %s dev %s", b->client_ns,
		DDVM_BENCH_NET_REUSE_ADDR DDVM_BENCH_NET_PREFIX, b->client_if)) {
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error), "%s", err.msg);
	} else {
		say(b, "reuse: DD/OS serving, client %s in namespace %s", b->client_if,
		    b->client_ns);
		reuse_workloads(b, &ru);
	}
	if (ru.tap_pid > 0)
		ddvm_bench_reap(ru.tap_pid, 5000, SIGTERM);
	ddvm_bench_netns_del(b->client_ns);
	if (ru.sv_pid > 0) {
		say(b, "reuse: stopping the supervisor");
		ddvm_bench_reap(ru.sv_pid, STOP_TIMEOUT_MS, SIGTERM);
	}
}

/* --------------------------------------------------------------------- run */

static void fill_env(struct netb *b)
{
	struct ddvm_bench_env *e = &b->rep->env;
	char *qv[] = { (char *)ddvm_qemu_binary(), "--version", NULL };
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(e->date, sizeof(e->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(e->command, sizeof(e->command), "%s", b->o->command ? b->o->command : "");
	snprintf(e->accel, sizeof(e->accel), "%s", ddvm_accel_name(b->o->accel));
	snprintf(e->accel_reason, sizeof(e->accel_reason), "%s", b->o->accel->reason);
	snprintf(e->controller, sizeof(e->controller), "%s", ddvm_nic_model_name(b->dom->nic.model));
	ddvm_bench_kernel_abi(b->o->cfg->kernel, e->kernel_abi, sizeof(e->kernel_abi));
	if (!uname(&u))
		snprintf(e->host_kernel, sizeof(e->host_kernel), "%.16s %.80s %.16s", u.sysname,
			 u.release, u.machine);
	e->host_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	ddvm_bench_capture_line(qv, e->qemu_version, sizeof(e->qemu_version));
	e->ramp = b->o->omit;
	e->runtime = b->o->runtime;
	e->memory_reuse = b->dom->memory;
	e->memory_native = b->dom->memory > DDVM_BENCH_NATIVE_MEMORY ? b->dom->memory :
			   DDVM_BENCH_NATIVE_MEMORY;
	e->cpus = b->dom->cpus;
	e->channel_size = b->dom->channels[0].size;
	snprintf(e->run_dir, sizeof(e->run_dir), "%s", b->o->cfg->run_dir);
	snprintf(e->remote, sizeof(e->remote), "%s in netns %s", DDVM_BENCH_NET_REMOTE,
		 b->remote_ns);
	snprintf(e->native_addr, sizeof(e->native_addr), "%s", DDVM_BENCH_NET_NATIVE_ADDR);
	e->remote_offload = b->o->remote_offload;
	snprintf(e->reuse_addr, sizeof(e->reuse_addr), "%s on %s in netns %s",
		 DDVM_BENCH_NET_REUSE_ADDR, b->client_if, b->client_ns);
	ddvm_loadavg(NULL, e->load_start);
}

int ddvm_bench_net_run(const struct ddvm_bench_net_opts *o, struct ddvm_bench_blk_report *rep,
		       struct ddvm_err *err)
{
	struct netb b = { .o = o, .rep = rep };
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct ddvm_config *ncfg;
	int lock_fd, ret;

	memset(rep, 0, sizeof(*rep));
	rep->w = ddvm_bench_net_workloads;
	rep->nr = ddvm_bench_net_nr_workloads;
	if (o->cfg->nr_domains != 1 || !o->cfg->domains[0].has_nic ||
	    o->cfg->domains[0].nr_channels != 1)
		return ddvm_errf(err, -EINVAL, "a net benchmark config has one NIC domain, one client");
	b.dom = &o->cfg->domains[0];
	if (!o->runtime)
		return ddvm_errf(err, -EINVAL, "runtime must be at least 1 s");
	snprintf(b.remote_ns, sizeof(b.remote_ns), "%s", b.dom->nic.wire.netns);
	snprintf(b.client_ns, sizeof(b.client_ns), "ddvmb-c%d", (int)getpid());
	snprintf(b.client_if, sizeof(b.client_if), "dvc%d", (int)getpid());
	ddvm_tap_name(b.dom->name, b.tap, sizeof(b.tap));

	ncfg = malloc(sizeof(*ncfg));
	if (!ncfg)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	*ncfg = *o->cfg;
	snprintf(ncfg->initrd, sizeof(ncfg->initrd), "%s", o->bench_initrd);
	ret = ddvm_supervisor_preflight(ncfg, err);
	free(ncfg);
	if (ret) {
		if (strstr(err->msg, o->bench_initrd))
			ddvm_err_prefix(err, ret, "bench image: ");
		return ret;
	}
	ret = ddvm_supervisor_preflight(o->cfg, err);
	if (ret)
		return ret;
	ret = ddvm_run_lock(o->cfg->run_dir, &lock_fd, err);
	if (ret)
		return ret;
	ddvm_run_clean_stale(o->cfg->run_dir);
	remove_stale(o->cfg->run_dir);
	remove_old_domains(o->cfg->run_dir, b.dom->name);
	fill_env(&b);

	/* ^C still cleans up: the loops see the flag, the namespaces go */
	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	record_netns(&b);
	say(&b, "remote host %s in namespace %s, iperf3 server", DDVM_BENCH_NET_REMOTE, b.remote_ns);
	ret = remote_start(&b, err);
	if (!ret) {
		native_run(&b);
		if (!interrupted)
			reuse_run(&b, lock_fd);
		else
			snprintf(rep->reuse_error, sizeof(rep->reuse_error), "interrupted");
	}
	remote_stop(&b);
	ddvm_bench_netns_del(b.client_ns);
	if (!ddvm_bench_netns_exists(b.remote_ns) && !ddvm_bench_netns_exists(b.client_ns)) {
		char path[DDVM_PATH_MAX + 32];

		snprintf(path, sizeof(path), "%s/" STALE_RECORD, o->cfg->run_dir);
		unlink(path);
	}
	ddvm_loadavg(NULL, rep->env.load_end);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	close(lock_fd);
	if (!ret && interrupted)
		ret = ddvm_errf(err, -EINTR, "interrupted (signal %d); cleaned up", (int)interrupted);
	return ret;
}
