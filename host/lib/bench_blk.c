// SPDX-License-Identifier: GPL-2.0
/* ddvm bench blk: native (fio in the DD/OS) and reuse (host client) side by side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_blk.h"
#include "progress.h"
#include "bench_cpu.h"
#include "bench_fio.h"
#include "bench_vm.h"
#include "blk_client.h"
#include "pattern.h"
#include "qemu_args.h"
#include "rundir.h"
#include "spawn.h"
#include "state.h"
#include "supervisor.h"
#include "units.h"

#define NATIVE_CONSOLE_LOG	"native-console.log"
#define WORKLOAD_SLACK_S	60	/* per workload beyond ramp + runtime: fio start, JSON */
#define POWEROFF_TIMEOUT_MS	15000
#define STOP_TIMEOUT_MS		60000
#define OPEN_TIMEOUT_MS		10000
#define SCRATCH_SEED		0xbe7c4ull

struct bench {
	const struct ddvm_bench_blk_opts *o;
	struct ddvm_bench_blk_report *rep;
	const struct ddvm_domain_cfg *dom;
	unsigned int step;
};



/* Progress of run @b, which knows its printer and how many steps it has. */
#define say(b, ...)	ddvm_bench_say(&(struct ddvm_bench_sink){ (b)->o->progress, (b)->o->ctx, \
						2 * (b)->rep->nr }, __VA_ARGS__)
#define report_step(b, step, side, i, res, msg) \
	ddvm_bench_step(&(struct ddvm_bench_sink){ (b)->o->progress, (b)->o->ctx, 2 * (b)->rep->nr }, \
			step, side, &(b)->rep->w[i], res, msg)

/* ------------------------------------------------------------------ config */

int ddvm_bench_blk_config(struct ddvm_config *out, const struct ddvm_config *in,
			  const char *domain, int controller, const char *image, uint64_t size,
			  const char *run_dir, struct ddvm_err *err)
{
	const struct ddvm_domain_cfg *src = in->nr_domains ? &in->domains[0] : NULL;
	struct ddvm_domain_cfg *d;

	if (domain)
		src = ddvm_config_find_domain(in, domain);
	if (!src)
		return ddvm_errf(err, -ENOENT, "%s has no domain %s", in->source,
				 domain ? domain : "at all");
	*out = *in;
	out->nr_domains = 1;
	out->domains[0] = *src;
	d = &out->domains[0];
	if (controller >= 0)
		d->disk.controller = (enum ddvm_controller)controller;
	if (snprintf(d->disk.image, sizeof(d->disk.image), "%s", image) >=
	    (int)sizeof(d->disk.image) ||
	    snprintf(out->run_dir, sizeof(out->run_dir), "%s", run_dir) >= (int)sizeof(out->run_dir))
		return ddvm_errf(err, -ENAMETOOLONG, "scratch image or run directory path too long");
	d->disk.size = size;
	d->has_disk = true;
	if (!d->nr_channels) {
		snprintf(d->channels[0].name, sizeof(d->channels[0].name), "%s",
			 DDVM_DEFAULT_CHANNEL);
		d->channels[0].size = DDVM_DEFAULT_CHANNEL_SIZE;
	}
	d->nr_channels = 1;
	/* the scratch image is the benchmark's: its channel sees all of it */
	d->channels[0].offset = 0;
	d->channels[0].length = 0;
	d->warm_spare = false;
	out->nr_vms = 0;	/* the config's VMs name domains this one drops */
	return 0;
}

/* ------------------------------------------------------------ scratch image */

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int ddvm_bench_scratch(const char *path, uint64_t size, bool *filled, struct ddvm_err *err)
{
	const size_t chunk = 1 << 20;
	uint8_t *buf = NULL;
	char dir[DDVM_PATH_MAX], *slash;
	struct stat st;
	uint64_t off;
	int fd, ret = 0;
	bool fill = false;

	*filled = false;
	if (!size || size % 4096)
		return ddvm_errf(err, -EINVAL, "scratch size %llu is not a non-zero multiple of 4K",
				 (unsigned long long)size);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return ddvm_errf(err, -errno, "%s: %s", dir, strerror(errno));
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return ddvm_errf(err, -errno, "scratch image %s: %s", path, strerror(errno));
	if (fstat(fd, &st)) {
		ret = ddvm_errf(err, -errno, "scratch image %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = ddvm_errf(err, -EINVAL, "scratch image %s is not a regular file", path);
		goto out;
	}
	buf = aligned_alloc(4096, chunk);
	if (!buf) {
		ret = ddvm_errf(err, -ENOMEM, "out of memory");
		goto out;
	}
	if ((uint64_t)st.st_size != size) {
		if (ftruncate(fd, (off_t)size)) {
			ret = ddvm_errf(err, -errno, "scratch image %s: resize: %s", path,
					strerror(errno));
			goto out;
		}
		fill = true;
	} else if (pread(fd, buf, 4096, 0) != 4096 || all_zero(buf, 4096) ||
		   pread(fd, buf, 4096, (off_t)(size - 4096)) != 4096 || all_zero(buf, 4096)) {
		fill = true;
	}
	for (off = 0; fill && off < size; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;

		ddvm_pattern_fill(buf, n, off, SCRATCH_SEED);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			ret = ddvm_errf(err, errno ? -errno : -EIO, "scratch image %s: write at %llu: %s",
					path, (unsigned long long)off, strerror(errno ? errno : EIO));
			goto out;
		}
	}
	/* written back now, not while a workload runs */
	if (fill && fdatasync(fd)) {
		ret = ddvm_errf(err, -errno, "scratch image %s: fdatasync: %s", path, strerror(errno));
		goto out;
	}
	*filled = fill;
out:
	free(buf);
	close(fd);
	return ret;
}

/* -------------------------------------------------------------- environment */

void ddvm_bench_capture_line(char *const *argv, char *out, size_t len)
{
	struct ddvm_spawn sp = { .argv = argv, .stdin_fd = -1, .stderr_fd = -1, .keep_fd = -1 };
	char buf[512];
	size_t got = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(p, O_CLOEXEC))
		return;
	sp.stdout_fd = p[1];
	if (ddvm_spawn(&sp, &pid, NULL)) {
		close(p[0]);
		close(p[1]);
		return;
	}
	close(p[1]);
	while (got < sizeof(buf) - 1 && (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
	got = strcspn(buf, "\n");
	if (got >= len)
		got = len - 1;
	memcpy(out, buf, got);
	out[got] = '\0';
}

void ddvm_bench_kernel_abi(const char *kernel, char *out, size_t len)
{
	char path[DDVM_PATH_MAX + 8], *slash;
	FILE *f;

	snprintf(out, len, "unknown");
	snprintf(path, sizeof(path), "%s", kernel);
	slash = strrchr(path, '/');
	if (!slash)
		return;
	snprintf(slash + 1, sizeof(path) - (size_t)(slash + 1 - path), "abi");
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

void ddvm_bench_host_info(struct ddvm_bench_host *h)
{
	char *qv[] = { (char *)ddvm_qemu_binary(), "--version", NULL };
	struct utsname u;
	time_t t = time(NULL);
	struct tm tm;

	memset(h, 0, sizeof(*h));
	gmtime_r(&t, &tm);
	strftime(h->date, sizeof(h->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!uname(&u))
		snprintf(h->host_kernel, sizeof(h->host_kernel), "%.16s %.80s %.16s", u.sysname,
			 u.release, u.machine);
	h->host_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	ddvm_bench_capture_line(qv, h->qemu_version, sizeof(h->qemu_version));
}

static void fill_env(struct bench *b)
{
	struct ddvm_bench_env *e = &b->rep->env;
	struct ddvm_bench_host h;

	ddvm_bench_host_info(&h);
	memcpy(e->date, h.date, sizeof(e->date));
	memcpy(e->host_kernel, h.host_kernel, sizeof(e->host_kernel));
	memcpy(e->qemu_version, h.qemu_version, sizeof(e->qemu_version));
	e->host_cpus = h.host_cpus;
	snprintf(e->command, sizeof(e->command), "%s", b->o->command ? b->o->command : "");
	snprintf(e->accel, sizeof(e->accel), "%s", ddvm_accel_name(b->o->accel));
	snprintf(e->accel_reason, sizeof(e->accel_reason), "%s", b->o->accel->reason);
	snprintf(e->controller, sizeof(e->controller), "%s",
		 ddvm_controller_name(b->dom->disk.controller));
	ddvm_bench_kernel_abi(b->o->cfg->kernel, e->kernel_abi, sizeof(e->kernel_abi));
	snprintf(e->ioengine, sizeof(e->ioengine), "%s", DDVM_BENCH_IOENGINE);
	snprintf(e->image, sizeof(e->image), "%s", b->dom->disk.image);
	e->size = b->dom->disk.size;
	e->ramp = b->o->ramp;
	e->runtime = b->o->runtime;
	e->memory_reuse = b->dom->memory;
	e->memory_native = b->dom->memory > DDVM_BENCH_NATIVE_MEMORY ? b->dom->memory :
			   DDVM_BENCH_NATIVE_MEMORY;
	e->cpus = b->dom->cpus;
	e->channel_size = b->dom->channels[0].size;
	snprintf(e->run_dir, sizeof(e->run_dir), "%s", b->o->cfg->run_dir);
	ddvm_loadavg(NULL, e->load_start);
}

int ddvm_bench_reap(pid_t pid, int ms, int sig_first)
{
	int status = 0, waited;

	if (sig_first)
		kill(pid, sig_first);
	for (waited = 0; waited < ms; waited += 50) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return status;
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* ------------------------------------------------------------------- native */

/* The QEMU command line of the native side: the domain's, bench image and script. */
static int native_argv(struct bench *b, struct ddvm_argv *a, struct ddvm_err *err)
{
	const struct ddvm_config *cfg = b->o->cfg;
	struct ddvm_bench_fio_opts fo = {
		.dev = ddvm_controller_devpath(b->dom->disk.controller),
		.size = b->dom->disk.size, .ramp = b->o->ramp, .runtime = b->o->runtime,
		.ioengine = DDVM_BENCH_IOENGINE,
	};
	struct ddvm_config *ncfg;
	char script[2048], args[2900];
	int ret, n;

	n = ddvm_bench_fio_script(script, sizeof(script), &fo, b->rep->w, b->rep->nr);
	memcpy(args, " ddvm.mode=bench ddvm.cmd=", 26);
	if (n < 0 || ddvm_base64(args + 26, sizeof(args) - 26, script, (size_t)n) < 0)
		return ddvm_errf(err, -ENOSPC, "the fio script does not fit the kernel command line");
	ncfg = malloc(sizeof(*ncfg));
	if (!ncfg)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	*ncfg = *cfg;
	ncfg->domains[0].nr_channels = 0;	/* fio alone on the device */
	ncfg->domains[0].memory = b->rep->env.memory_native;
	snprintf(ncfg->initrd, sizeof(ncfg->initrd), "%s", b->o->bench_initrd);
	ret = ddvm_qemu_argv(a, ncfg, &ncfg->domains[0], b->o->accel, cfg->run_dir, err);
	free(ncfg);
	if (!ret)
		ret = ddvm_bench_cmdline_append(a, args, err);
	if (ret)
		ddvm_argv_free(a);
	return ret;
}

static int native_parse(void *ctx, unsigned int i, const char *out, size_t len,
			struct ddvm_bench_result *r, struct ddvm_err *err)
{
	struct bench *b = ctx;
	char ver[32];
	int ret;

	ret = ddvm_bench_fio_parse(out, len, &b->rep->w[i], r, ver, sizeof(ver), err);
	if (!ret)
		snprintf(b->rep->env.fio_version, sizeof(b->rep->env.fio_version), "%s", ver);
	return ret;
}

static void native_note(void *ctx, int i, const struct ddvm_bench_result *r, const char *msg)
{
	struct bench *b = ctx;

	if (i < 0)
		say(b, "native: DD/OS up, fio starting");
	else
		report_step(b, (unsigned int)i + 1, "native", (unsigned int)i, r, msg);
}

static void native_run(struct bench *b)
{
	struct ddvm_bench_watch *wt;
	struct ddvm_argv a = { 0 };
	struct ddvm_err err = { "" };
	char log[DDVM_PATH_MAX + 32];

	wt = calloc(1, sizeof(*wt));
	if (!wt) {
		snprintf(b->rep->native_error, sizeof(b->rep->native_error), "out of memory");
		return;
	}
	if (native_argv(b, &a, &err)) {
		snprintf(b->rep->native_error, sizeof(b->rep->native_error), "%s", err.msg);
		goto out_free;
	}
	ddvm_argv_format(&a, b->rep->env.native_cmdline, sizeof(b->rep->env.native_cmdline));
	/* QEMU's QMP socket lives in RUN/DOMAIN, which the supervisor makes later */
	snprintf(log, sizeof(log), "%.4000s/%s", b->o->cfg->run_dir, b->dom->name);
	if (mkdir(log, 0755) && errno != EEXIST) {
		snprintf(b->rep->native_error, sizeof(b->rep->native_error), "%.400s: %s", log,
			 strerror(errno));
		goto out_free;
	}
	snprintf(log, sizeof(log), "%s/" NATIVE_CONSOLE_LOG, b->o->cfg->run_dir);
	say(b, "native: booting the DD/OS from %s (%llu MiB) with fio on %s", b->o->bench_initrd,
	    (unsigned long long)(b->rep->env.memory_native >> 20),
	    ddvm_controller_devpath(b->dom->disk.controller));
	/* native: QEMU alone does the work (ddvm_bench_vm_run accounts it) */
	wt->w = b->rep->w;
	wt->nr = b->rep->nr;
	wt->res = b->rep->native;
	wt->what = "the bench DD/OS";
	wt->boot_s = 2.0 * b->dom->boot_timeout;
	wt->step_s = b->o->ramp + b->o->runtime + DDVM_BENCH_WORKLOAD_SLACK_S;
	wt->stop = b->o->stop;
	wt->parse = native_parse;
	wt->note = native_note;
	wt->ctx = b;
	ddvm_bench_vm_run(&a, log, wt, -1, NULL, NULL);
	if (wt->error[0])
		snprintf(b->rep->native_error, sizeof(b->rep->native_error), "%.400s (see %.80s)",
			 wt->error, log);
out_free:
	ddvm_bench_watch_free(wt);
	ddvm_argv_free(&a);
	free(wt);
}

/* -------------------------------------------------------------------- reuse */

struct reuse {
	pid_t sv_pid;		/* the supervisor, our child */
	pid_t qemu_pid, hub_pid;
	char sock[DDVM_SOCK_PATH_MAX];
};

static void reuse_progress(void *arg, const char *line)
{
	struct bench *b = arg;

	say(b, "reuse: %s", line);
}

/* Pids and the channel socket from the supervisor's state.json. */
static int reuse_state(struct bench *b, struct reuse *ru, struct ddvm_err *err)
{
	const struct ddvm_domain_cfg *d = b->dom;
	struct ddvm_bench_pids p;
	int ret;

	ret = ddvm_bench_run_pids(b->o->cfg->run_dir, &p, err);
	if (ret)
		return ret;
	ru->qemu_pid = p.domain[0];
	ru->hub_pid = p.hub;
	return ddvm_hub_socket_path(ru->sock, sizeof(ru->sock), b->o->cfg->run_dir, d->name,
				    d->channels[0].name, err);
}

/* The supervisor's progress for the caller, its last line kept for the error. */
struct follow {
	ddvm_progress_fn *line;
	void *ctx;
	char last[256];
};

static void follow_line(void *arg, const char *line)
{
	struct follow *f = arg;

	snprintf(f->last, sizeof(f->last), "%s", line);
	if (f->line)
		f->line(f->ctx, line);
}

int ddvm_bench_supervise(const struct ddvm_config *cfg, const struct ddvm_accel *accel, int lock_fd,
			 const char *exe, double deadline, ddvm_progress_fn *line, void *ctx,
			 pid_t *sv_pid, struct ddvm_err *err)
{
	struct ddvm_supervisor_opts so = {
		.cfg = cfg, .accel = accel, .lock_fd = lock_fd, .exe = exe,
	};
	struct follow f = { .line = line, .ctx = ctx };
	char log[DDVM_PATH_MAX + 32];
	struct ddvm_err e2;
	int pp[2], logfd, ret;
	double left;
	pid_t pid;

	*sv_pid = -1;
	snprintf(log, sizeof(log), "%s/" DDVM_LOG_FILE, cfg->run_dir);
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return ddvm_errf(err, -errno, "%s: %s", log, strerror(errno));
	if (pipe2(pp, O_CLOEXEC)) {
		close(logfd);
		return ddvm_errf(err, -errno, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		ret = ddvm_errf(err, -errno, "fork: %s", strerror(errno));
		close(pp[0]);
		close(pp[1]);
		close(logfd);
		return ret;
	}
	if (pid == 0) {
		/* a benchmark killed outright must not leave a DD/OS behind */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		close(pp[0]);
		dup2(logfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		so.progress_fd = pp[1];
		so.log_fd = STDERR_FILENO;
		ret = ddvm_supervise(&so, &e2);
		if (ret)
			dprintf(STDERR_FILENO, "supervisor: %s\n", e2.msg);
		_exit(ret ? 1 : 0);
	}
	close(pp[1]);
	close(logfd);
	*sv_pid = pid;
	left = deadline - ddvm_bench_now();
	ret = left > 0 && !ddvm_progress_follow(pp[0], (int)(left * 1000), follow_line, &f) ?
	      0 : -1;
	close(pp[0]);
	/* the consoles are RUN/NAME/console.log, a domain's or a VM's */
	if (ret)
		return ddvm_errf(err, -EIO, "a DD/OS%s did not come up%s%.200s (see %s and the "
				 "consoles in %s)", cfg->nr_vms ? " or client VM" : "",
				 f.last[0] ? "; last: " : "", f.last, log, cfg->run_dir);
	return 0;
}

/* The supervisor, as `ddvm up` runs it, in a child of ours. */
static int reuse_start(struct bench *b, struct reuse *ru, int lock_fd, struct ddvm_err *err)
{
	double deadline;
	int ret;

	say(b, "reuse: starting a supervisor in %s (DD/OS of %llu MiB, channel of %llu MiB)",
	    b->o->cfg->run_dir, (unsigned long long)(b->dom->memory >> 20),
	    (unsigned long long)(b->dom->channels[0].size >> 20));
	deadline = ddvm_bench_now() + (double)b->dom->boot_timeout * (b->dom->boot_retries + 1) + 30;
	ret = ddvm_bench_supervise(b->o->cfg, b->o->accel, lock_fd, b->o->exe, deadline,
				   reuse_progress, b, &ru->sv_pid, err);
	if (ret)
		return ret;
	return reuse_state(b, ru, err);
}

static void reuse_workloads(struct bench *b, struct reuse *ru)
{
	struct ddvm_bench_engine_opts eo = {
		.size = b->dom->disk.size, .ramp = b->o->ramp, .runtime = b->o->runtime,
		.seed = 1, .stall_ms = 30000,
	};
	struct ddvm_bench_cpu cpu = { 0 };
	struct ddvm_err err = { "" };
	struct ddvm_blk *blk;
	unsigned int i;
	int ret;

	if (ddvm_blk_open(ru->sock, OPEN_TIMEOUT_MS, &blk, &err)) {
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error), "%s", err.msg);
		return;
	}
	snprintf(b->rep->env.channel_driver, sizeof(b->rep->env.channel_driver), "%.31s",
		 ddvm_blk_info(blk)->driver);
	b->rep->env.channel_depth = ddvm_blk_depth(blk);
	b->rep->env.channel_max_io = ddvm_blk_max_io(blk);
	/* reuse: everything the run has: QEMU, the hub, the supervisor and us */
	ddvm_bench_cpu_add(&cpu, ru->qemu_pid);
	ddvm_bench_cpu_add(&cpu, ru->hub_pid);
	ddvm_bench_cpu_add(&cpu, ru->sv_pid);
	ddvm_bench_cpu_add(&cpu, getpid());
	eo.cpu = &cpu;
	for (i = 0; i < b->rep->nr; i++) {
		struct ddvm_bench_result *r = &b->rep->reuse[i];

		report_step(b, b->rep->nr + i + 1, "reuse", i, NULL, NULL);
		ret = ddvm_bench_engine_run(blk, &b->rep->w[i], &eo, r, &err);
		if (ret) {
			snprintf(r->error, sizeof(r->error), "%s", err.msg);
			report_step(b, b->rep->nr + i + 1, "reuse", i, NULL, r->error);
			if (ret == -EIO || ret == -EINVAL)
				continue;	/* drained: the channel is still good */
			snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error),
				 "stopped after %s: %s", b->rep->w[i].name, err.msg);
			break;
		}
		report_step(b, b->rep->nr + i + 1, "reuse", i, r, NULL);
	}
	ddvm_blk_close(blk);
}

static void reuse_run(struct bench *b, int lock_fd)
{
	struct ddvm_err err = { "" };
	struct ddvm_argv a = { 0 };
	struct reuse ru = { 0 };

	if (!ddvm_qemu_argv(&a, b->o->cfg, b->dom, b->o->accel, b->o->cfg->run_dir, NULL))
		ddvm_argv_format(&a, b->rep->env.reuse_cmdline, sizeof(b->rep->env.reuse_cmdline));
	ddvm_argv_free(&a);
	if (reuse_start(b, &ru, lock_fd, &err)) {
		snprintf(b->rep->reuse_error, sizeof(b->rep->reuse_error), "%s", err.msg);
	} else {
		say(b, "reuse: DD/OS serving, channel %s", ru.sock);
		reuse_workloads(b, &ru);
	}
	if (ru.sv_pid > 0) {
		say(b, "reuse: stopping the supervisor");
		ddvm_bench_reap(ru.sv_pid, STOP_TIMEOUT_MS, SIGTERM);
	}
}

/* --------------------------------------------------------------------- run */

int ddvm_bench_preflight(const struct ddvm_config *cfg, const char *bench_initrd,
			 struct ddvm_err *err)
{
	struct ddvm_config *ncfg;
	int ret;

	/* what would fail later: kernel, both images, QEMU, socket paths */
	ncfg = malloc(sizeof(*ncfg));
	if (!ncfg)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	*ncfg = *cfg;
	snprintf(ncfg->initrd, sizeof(ncfg->initrd), "%s", bench_initrd);
	ret = ddvm_supervisor_preflight(ncfg, err);
	free(ncfg);
	if (ret) {
		if (strstr(err->msg, bench_initrd))
			ddvm_err_prefix(err, ret, "bench image: ");
		return ret;
	}
	return ddvm_supervisor_preflight(cfg, err);
}

static int bench_init(struct bench *b, const struct ddvm_bench_blk_opts *o,
		      struct ddvm_bench_blk_report *rep, struct ddvm_err *err)
{
	memset(rep, 0, sizeof(*rep));
	b->o = o;
	b->rep = rep;
	rep->w = ddvm_bench_workloads;
	rep->nr = ddvm_bench_nr_workloads;
	if (o->cfg->nr_domains != 1)
		return ddvm_errf(err, -EINVAL, "a benchmark config has one domain");
	b->dom = &o->cfg->domains[0];
	if (!o->runtime)
		return ddvm_errf(err, -EINVAL, "runtime must be at least 1 s");
	return 0;
}

int ddvm_bench_blk_native(const struct ddvm_bench_blk_opts *o, struct ddvm_bench_blk_report *rep,
			  struct ddvm_err *err)
{
	struct bench b;
	int ret;

	ret = bench_init(&b, o, rep, err);
	if (ret)
		return ret;
	fill_env(&b);
	native_run(&b);
	ddvm_loadavg(NULL, rep->env.load_end);
	return 0;
}

int ddvm_bench_blk_run(const struct ddvm_bench_blk_opts *o, struct ddvm_bench_blk_report *rep,
		       struct ddvm_err *err)
{
	struct bench b;
	int lock_fd, ret;
	bool filled;

	ret = bench_init(&b, o, rep, err);
	if (!ret)
		ret = ddvm_bench_preflight(o->cfg, o->bench_initrd, err);
	if (ret)
		return ret;
	/* the run directory's lock also keeps two benchmarks off one scratch image */
	ret = ddvm_run_lock(o->cfg->run_dir, &lock_fd, err);
	if (ret)
		return ret;
	ddvm_run_clean_stale(o->cfg->run_dir);
	fill_env(&b);
	say(&b, "scratch image %s (%llu MiB): checking", b.dom->disk.image,
	    (unsigned long long)(b.dom->disk.size >> 20));
	ret = ddvm_bench_scratch(b.dom->disk.image, b.dom->disk.size, &filled, err);
	if (ret)
		goto out;
	if (filled)
		say(&b, "scratch image filled with data");

	native_run(&b);
	reuse_run(&b, lock_fd);
	ddvm_loadavg(NULL, rep->env.load_end);
out:
	close(lock_fd);
	return ret;
}

void ddvm_bench_say(const struct ddvm_bench_sink *s, const char *fmt, ...)
{
	struct ddvm_bench_progress p = { .total = s->total };
	char msg[768];
	va_list ap;

	if (!s->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p.msg = msg;
	s->progress(s->ctx, &p);
}

void ddvm_bench_step(const struct ddvm_bench_sink *s, unsigned int step, const char *side,
		     const struct ddvm_bench_workload *w, const struct ddvm_bench_result *res,
		     const char *msg)
{
	struct ddvm_bench_progress p = {
		.step = step, .total = s->total, .side = side, .w = w, .res = res, .msg = msg,
	};

	if (s->progress)
		s->progress(s->ctx, &p);
}

double ddvm_bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
