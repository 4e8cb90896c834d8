// SPDX-License-Identifier: GPL-2.0
/* ddvm bench client: fio and iperf3 in a client VM by path, against native (see bench_client.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_client.h"
#include "bench_cpu.h"
#include "bench_fio.h"
#include "bench_iperf.h"
#include "bench_net.h"
#include "bench_netns.h"
#include "bench_vm.h"
#include "rundir.h"
#include "supervisor.h"
#include "vm_args.h"

#define SCRIPT_FILE		"bench.sh"	/* RUN/PART-PATH/: the VM's script */
#define DIRECT_CONSOLE_LOG	"direct-console.log"
#define SERVER_LOG		"iperf3-server.log"
#define STALE_RECORD		"bench-client.netns"	/* our namespace, for a run that was killed */
#define STALE_PREFIX		"ddvmc-r"
#define DIRECT_DISK		"/dev/vda"	/* the direct VM's only disk and NIC */
#define DIRECT_IFNAME		"eth0"
#define STOP_TIMEOUT_MS		60000
#define TAP_WAIT_MS		10000

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

/* One run of the benchmark. */
struct cb {
	const struct ddvm_bench_client_opts *o;
	struct ddvm_bench_client_report *rep;
	unsigned int step, total;	/* progress: steps done, in all */
	struct ddvm_config *blk_base;	/* the disk domain on the scratch image */
	struct ddvm_config *nic_base;	/* the NIC domain wired to the remote host */
	struct ddvm_bench_remote remote;
	char direct_tap[IFNAMSIZ];
};

/* One path of one half. */
struct pathrun {
	struct cb *b;
	struct ddvm_bench_part *part;
	enum ddvm_bench_path path;
	const char *side;		/* the path's name, for progress */
	unsigned int step0;		/* its first workload is step step0 + 1 */
	char dir[DDVM_PATH_MAX];	/* RUN/blk-nbd, ... */
	struct ddvm_bench_watch *wt;
	const char *prefix;		/* a nested benchmark's messages */
};

static void say(const struct cb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct cb *b, const char *fmt, ...)
{
	struct ddvm_bench_sink s = { b->o->progress, b->o->ctx, b->total };
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ddvm_bench_say(&s, "%s", msg);
}

static void step(const struct pathrun *pr, unsigned int i, const struct ddvm_bench_result *r,
		 const char *msg)
{
	struct ddvm_bench_sink s = { pr->b->o->progress, pr->b->o->ctx, pr->b->total };

	ddvm_bench_step(&s, pr->step0 + i + 1, pr->side, &pr->part->w[i], r, msg);
}

/* ------------------------------------------------------------- pure parts */

static const char *const path_names[DDVM_BENCH_NR_PATHS] = {
	[DDVM_BENCH_PATH_BRIDGE] = "bridge",
	[DDVM_BENCH_PATH_FRONT] = "front",
	[DDVM_BENCH_PATH_DIRECT] = "direct",
	[DDVM_BENCH_PATH_NATIVE] = "native",
};

const char *ddvm_bench_path_name(enum ddvm_bench_path p, bool net)
{
	if (p == DDVM_BENCH_PATH_BRIDGE)
		return net ? "stream" : "nbd";
	if ((unsigned int)p >= DDVM_BENCH_NR_PATHS)
		return "?";
	return path_names[p];
}

int ddvm_bench_parse_paths(const char *list, unsigned int *mask, struct ddvm_err *err)
{
	char buf[256], *save = NULL, *t;
	unsigned int m = 0, p;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return ddvm_errf(err, -EINVAL, "--paths: list too long");
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		for (p = 0; p < DDVM_BENCH_NR_PATHS; p++)
			if (!strcmp(t, path_names[p]) || !strcmp(t, ddvm_bench_path_name(p, false)) ||
			    !strcmp(t, ddvm_bench_path_name(p, true)))
				break;
		if (p == DDVM_BENCH_NR_PATHS)
			return ddvm_errf(err, -EINVAL, "--paths: unknown path '%.40s' (want nbd or "
					 "stream, front, direct, native)", t);
		m |= 1u << p;
	}
	if (!m)
		return ddvm_errf(err, -EINVAL, "--paths: no path given");
	*mask = m;
	return 0;
}

void ddvm_bench_client_workloads(struct ddvm_bench_client_report *rep)
{
	unsigned int i;

	rep->blk.net = false;
	rep->blk.nr = 0;
	for (i = 0; i < ddvm_bench_nr_workloads && rep->blk.nr < DDVM_BENCH_MAX_WORKLOADS; i++)
		rep->blk.w[rep->blk.nr++] = ddvm_bench_workloads[i];
	rep->net.net = true;
	rep->net.nr = 0;
	for (i = 0; i < ddvm_bench_net_nr_workloads && rep->net.nr < DDVM_BENCH_MAX_WORKLOADS; i++)
		if (ddvm_bench_net_workloads[i].mtu == DDVM_BENCH_CLIENT_MTU)
			rep->net.w[rep->net.nr++] = ddvm_bench_net_workloads[i];
}

int ddvm_bench_client_vm(struct ddvm_vm_cfg *vm, const struct ddvm_config *in, const char *initrd,
			 const char *script, struct ddvm_err *err)
{
	memset(vm, 0, sizeof(*vm));
	if (in->nr_vms) {
		/* the config's own client VM, as far as a benchmark can use it */
		snprintf(vm->kernel, sizeof(vm->kernel), "%s", in->vms[0].kernel);
		vm->memory = in->vms[0].memory;
		vm->cpus = in->vms[0].cpus;
		vm->boot_timeout = in->vms[0].boot_timeout;
	} else {
		snprintf(vm->kernel, sizeof(vm->kernel), "%s", in->kernel);
		vm->memory = DDVM_DEFAULT_VM_MEMORY;
		vm->cpus = 1;
		vm->boot_timeout = DDVM_DEFAULT_VM_BOOT_TIMEOUT;
	}
	/* fio and iperf3 unpack in RAM; a VM whose boot is not watched is watched here */
	if (vm->memory < DDVM_BENCH_NATIVE_MEMORY)
		vm->memory = DDVM_BENCH_NATIVE_MEMORY;
	if (!vm->boot_timeout)
		vm->boot_timeout = DDVM_DEFAULT_VM_BOOT_TIMEOUT;
	snprintf(vm->name, sizeof(vm->name), DDVM_BENCH_CLIENT_VM);
	if (snprintf(vm->initrd, sizeof(vm->initrd), "%s", initrd) >= (int)sizeof(vm->initrd) ||
	    snprintf(vm->run, sizeof(vm->run), "%s", script) >= (int)sizeof(vm->run))
		return ddvm_errf(err, -ENAMETOOLONG, "bench image or script path too long");
	return 0;
}

int ddvm_bench_client_config(struct ddvm_config *out, const struct ddvm_config *base,
			     const struct ddvm_vm_cfg *vm, enum ddvm_vm_via via,
			     const char *run_dir, struct ddvm_err *err)
{
	const struct ddvm_domain_cfg *d = &base->domains[0];
	const struct ddvm_channel_cfg *ch = &d->channels[0];
	bool net = ch->kind == DDVM_CHANNEL_NET;
	struct ddvm_vm_dev_cfg *dev;
	struct ddvm_vm_cfg *v;

	if (base->nr_domains != 1 || d->nr_channels != 1)
		return ddvm_errf(err, -EINVAL, "a client benchmark config has one domain with one "
				 "channel");
	if ((via == DDVM_VIA_NBD && net) || (via == DDVM_VIA_STREAM && !net))
		return ddvm_errf(err, -EINVAL, "channel %s.%s is a %s channel: no %s path", d->name,
				 ch->name, net ? "net" : "blk", ddvm_vm_via_name(via));
	*out = *base;
	if (snprintf(out->run_dir, sizeof(out->run_dir), "%s", run_dir) >= (int)sizeof(out->run_dir))
		return ddvm_errf(err, -ENAMETOOLONG, "run directory path too long");
	out->nr_vms = 1;
	v = &out->vms[0];
	*v = *vm;
	v->nr_disks = !net;
	v->nr_nics = net;
	dev = net ? &v->nics[0] : &v->disks[0];
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->domain, sizeof(dev->domain), "%s", d->name);
	snprintf(dev->channel, sizeof(dev->channel), "%s", ch->name);
	dev->dom = 0;
	dev->chan = 0;
	dev->via = via;
	/* no address: the script adds it, after the remote host is ready */
	return 0;
}

int ddvm_bench_client_nic_config(struct ddvm_config *out, const struct ddvm_config *in,
				 const char *domain, int model, const char *remote_ns,
				 const char *run_dir, struct ddvm_err *err)
{
	struct ddvm_wire_cfg *w;
	int ret;

	ret = ddvm_bench_net_config(out, in, domain, model, run_dir, err);
	if (ret)
		return ret;
	w = &out->domains[0].nic.wire;
	if (snprintf(w->netns, sizeof(w->netns), "%s", remote_ns) >= (int)sizeof(w->netns))
		return ddvm_errf(err, -ENAMETOOLONG, "namespace name %s too long", remote_ns);
	w->address[0] = '\0';
	out->nr_vms = 0;	/* the config's VMs name domains this one drops */
	return 0;
}

int ddvm_bench_direct_argv(struct ddvm_argv *out, const struct ddvm_config *cfg,
			   struct ddvm_vm_cfg *vm, const struct ddvm_accel *accel,
			   const char *image, const char *tap, const char *run_dir,
			   struct ddvm_err *err)
{
	char *esc = NULL;
	int ret;

	vm->nr_disks = 0;
	vm->nr_nics = 0;
	/* the devices are ours, not channels: the guest init needs their drivers named */
	snprintf(vm->append, sizeof(vm->append), "%s ddvm.halt=1",
		 image ? "ddvm.disk=virtio-blk ddvm.wait=" DIRECT_DISK :
			 "ddvm.net=virtio-net ddvm.wait=net:" DIRECT_IFNAME);
	ret = ddvm_vm_argv(out, cfg, vm, accel, run_dir, err);
	if (ret)
		return ret;
	if (image) {
		esc = ddvm_opt_escape(image);
		/* as the DD/OS opens it (qemu_args.c), so only the path differs */
		ret = !esc || ddvm_argv_add(out, "-drive", NULL) ||
		      ddvm_argv_addf(out, "file=%s,if=none,id=direct,format=raw,cache=writeback",
				     esc) ||
		      ddvm_argv_add(out, "-device", NULL) ||
		      ddvm_argv_addf(out, "virtio-blk-pci,drive=direct,addr=0x%x",
				     DDVM_VM_DISK_PCI_SLOT);
	} else {
		ret = ddvm_argv_add(out, "-netdev", NULL) ||
		      ddvm_argv_addf(out, "tap,id=direct,ifname=%s,script=no,downscript=no", tap) ||
		      ddvm_argv_add(out, "-device", NULL) ||
		      ddvm_argv_addf(out, "virtio-net-pci,netdev=direct,mac=%s,addr=0x%x",
				     DDVM_BENCH_CLIENT_DIRECT_MAC, DDVM_VM_NIC_PCI_SLOT);
	}
	free(esc);
	if (ret) {
		ddvm_argv_free(out);
		return ddvm_errf(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ------------------------------------------------------ in the client VM */

/* RUN/PART-PATH: made, and locked (a supervisor needs its run directory's lock). */
static int path_dir(struct pathrun *pr, bool lock, int *lock_fd, struct ddvm_err *err)
{
	int ret;

	*lock_fd = -1;
	if (snprintf(pr->dir, sizeof(pr->dir), "%s/%s-%s", pr->b->o->run_dir,
		     pr->part->net ? "net" : "blk", ddvm_bench_path_name(pr->path, pr->part->net)) >=
	    (int)sizeof(pr->dir))
		return ddvm_errf(err, -ENAMETOOLONG, "run directory path too long");
	if (mkdir(pr->dir, 0755) && errno != EEXIST)
		return ddvm_errf(err, -errno, "%s: %s", pr->dir, strerror(errno));
	if (!lock)
		return 0;
	ret = ddvm_run_lock(pr->dir, lock_fd, err);
	if (!ret)
		ddvm_run_clean_stale(pr->dir);
	return ret;
}

/* The path's script, in RUN/PART-PATH/bench.sh: fio on @dev or iperf3 over @dev. */
static int write_script(struct pathrun *pr, const char *dev, char *path, size_t len,
			struct ddvm_err *err)
{
	const struct ddvm_bench_client_opts *o = pr->b->o;
	struct ddvm_bench_part *part = pr->part;
	char script[DDVM_KERNEL_CMDLINE_MAX];
	int n;

	if (!part->net) {
		struct ddvm_bench_fio_opts fo = {
			.dev = dev, .size = o->size, .ramp = o->ramp, .runtime = o->runtime,
			.ioengine = DDVM_BENCH_IOENGINE,
		};

		n = ddvm_bench_fio_script(script, sizeof(script), &fo, part->w, part->nr);
	} else {
		struct ddvm_bench_iperf_opts io = {
			.ifname = dev, .address = DDVM_BENCH_CLIENT_ADDR DDVM_BENCH_NET_PREFIX,
			.remote = DDVM_BENCH_NET_REMOTE, .omit = o->omit, .runtime = o->runtime,
			.link_mtu = DDVM_BENCH_CLIENT_MTU,
		};

		n = ddvm_bench_iperf_script(script, sizeof(script), &io, part->w, part->nr);
	}
	if (n < 0)
		return ddvm_errf(err, -ENOSPC, "the bench script does not fit the kernel command line");
	if (snprintf(path, len, "%s/" SCRIPT_FILE, pr->dir) >= (int)len)
		return ddvm_errf(err, -ENAMETOOLONG, "script path too long");
	return ddvm_bench_write_file(path, script, err);
}

static int parse_out(void *ctx, unsigned int i, const char *out, size_t len,
		     struct ddvm_bench_result *r, struct ddvm_err *err)
{
	struct pathrun *pr = ctx;
	struct ddvm_bench_client_env *e = &pr->b->rep->env;
	const struct ddvm_bench_workload *w = &pr->part->w[i];
	char ver[32] = "";
	int ret;

	if (!pr->part->net) {
		ret = ddvm_bench_fio_parse(out, len, w, r, ver, sizeof(ver), err);
		if (!ret)
			snprintf(e->fio_version, sizeof(e->fio_version), "%s", ver);
		return ret;
	}
	if (w->rtt)
		return ddvm_bench_ping_parse(out, r, err);
	ret = ddvm_bench_iperf_parse(out, len, r, ver, sizeof(ver), err);
	if (!ret && ver[0])
		snprintf(e->iperf_version, sizeof(e->iperf_version), "%s", ver);
	return ret;
}

static void note(void *ctx, int i, const struct ddvm_bench_result *r, const char *msg)
{
	struct pathrun *pr = ctx;

	if (i < 0)
		say(pr->b, "%s: client VM up, %s starting", pr->side, pr->part->net ? "iperf3" : "fio");
	else
		step(pr, (unsigned int)i, r, msg);
}

/* A watch of the path's script in the client VM; @cpu filled by the caller. */
static struct ddvm_bench_watch *new_watch(struct pathrun *pr, unsigned int boot_s)
{
	const struct ddvm_bench_client_opts *o = pr->b->o;
	struct ddvm_bench_watch *wt = calloc(1, sizeof(*wt));

	if (!wt)
		return NULL;
	wt->w = pr->part->w;
	wt->nr = pr->part->nr;
	wt->res = pr->part->res[pr->path];
	wt->what = "the client VM";
	wt->boot_s = boot_s;
	wt->step_s = (pr->part->net ? o->omit : o->ramp) + o->runtime +
		     DDVM_BENCH_WORKLOAD_SLACK_S;
	wt->log_fd = -1;
	wt->stop = &interrupted;
	wt->parse = parse_out;
	wt->note = note;
	wt->ctx = pr;
	return wt;
}

/* A client-VM path is over: its watch's error (naming @log) is the path's; let go. */
static void path_done(struct pathrun *pr, int lock_fd, const char *log)
{
	char *error = pr->part->error[pr->path];

	if (pr->wt && pr->wt->error[0])
		snprintf(error, sizeof(pr->part->error[0]), "%.380s (see %.120s)", pr->wt->error, log);
	if (lock_fd >= 0)
		close(lock_fd);
	if (pr->wt)
		ddvm_bench_watch_free(pr->wt);
	free(pr->wt);
	pr->wt = NULL;
}

static void sv_line(void *ctx, const char *line)
{
	struct pathrun *pr = ctx;

	say(pr->b, "%s: %s", pr->side, line);
}

/* Every process of a supervised path: the VM, its DD/OS, hub, supervisor, bridges, remote. */
static int account(struct pathrun *pr, pid_t sv, pid_t *vm, struct ddvm_err *err)
{
	struct ddvm_bench_cpu *cpu = &pr->wt->cpu;
	struct ddvm_bench_pids p;
	unsigned int i;
	int ret;

	ret = ddvm_bench_run_pids(pr->dir, &p, err);
	if (ret)
		return ret;
	if (!p.vm)
		return ddvm_errf(err, -ESRCH, "%s/state.json names no client VM QEMU", pr->dir);
	*vm = p.vm;
	ret = ddvm_bench_cpu_add(cpu, p.vm) || ddvm_bench_cpu_add(cpu, p.domain[0]) ||
	      ddvm_bench_cpu_add(cpu, p.hub) || ddvm_bench_cpu_add(cpu, sv);
	for (i = 0; !ret && i < p.nr_bridges; i++)
		/* `ddvm blk nbd` runs nbdkit as its child */
		ret = ddvm_bench_cpu_add(cpu, p.bridge[i]) ||
		      ddvm_bench_cpu_add_children(cpu, p.bridge[i]) < 0;
	if (!ret && pr->part->net)
		ret = ddvm_bench_cpu_add(cpu, pr->b->remote.server);
	return ret ? ddvm_errf(err, -ENOSPC, "too many processes to account") : 0;
}

/* nbd, stream or front: the DD/OS and the client VM under a private supervisor. */
static void run_supervised(struct pathrun *pr, const struct ddvm_config *base,
			   enum ddvm_vm_via via)
{
	struct cb *b = pr->b;
	const struct ddvm_bench_client_opts *o = b->o;
	const struct ddvm_domain_cfg *d = &base->domains[0];
	char *error = pr->part->error[pr->path];
	char script[DDVM_PATH_MAX + 16], console[DDVM_PATH_MAX + 64], dev[16], tap[IFNAMSIZ];
	struct ddvm_err err = { "" };
	struct ddvm_argv a = { 0 };
	struct ddvm_config *cfg;
	struct ddvm_vm_cfg *vm;
	int lock_fd = -1, ret;
	double deadline;
	pid_t sv = -1, qemu = 0;

	cfg = malloc(sizeof(*cfg));
	vm = malloc(sizeof(*vm));
	if (!cfg || !vm) {
		snprintf(error, 512, "out of memory");
		goto out;
	}
	ret = path_dir(pr, true, &lock_fd, &err);
	if (!ret)
		ret = snprintf(script, sizeof(script), "%s/" SCRIPT_FILE, pr->dir) >=
		      (int)sizeof(script) ? ddvm_errf(&err, -ENAMETOOLONG, "path too long") : 0;
	if (!ret)
		ret = ddvm_bench_client_vm(vm, o->cfg, o->bench_initrd, script, &err);
	if (!ret)
		ret = ddvm_bench_client_config(cfg, base, vm, via, pr->dir, &err);
	if (!ret)
		ret = write_script(pr, ddvm_vm_guest_name(&cfg->vms[0], pr->part->net, 0, dev,
							  sizeof(dev)), script, sizeof(script), &err);
	if (!ret)
		ret = ddvm_supervisor_preflight(cfg, &err);
	if (!ret)
		ret = ddvm_vm_argv(&a, cfg, &cfg->vms[0], o->accel, pr->dir, &err);
	if (ret) {
		snprintf(error, 512, "%s", err.msg);
		goto out;
	}
	ddvm_argv_format(&a, pr->part->qemu[pr->path], sizeof(pr->part->qemu[0]));
	/* the supervisor appends every boot: this run's console alone */
	snprintf(console, sizeof(console), "%s/%s/" DDVM_CONSOLE_LOG, pr->dir, vm->name);
	unlink(console);
	say(b, "%s: starting a supervisor in %s: DD/OS %s, client VM %s with %s via %s",
	    pr->side, pr->dir, d->name, vm->name, dev, ddvm_vm_via_name(via));
	deadline = ddvm_bench_now() + (double)d->boot_timeout * (d->boot_retries + 1) +
		   vm->boot_timeout + 30;
	pr->wt = new_watch(pr, 60);
	if (!pr->wt) {
		snprintf(error, 512, "out of memory");
		goto out;
	}
	ret = ddvm_bench_supervise(cfg, o->accel, lock_fd, o->exe, deadline, sv_line, pr, &sv, &err);
	if (!ret)
		ret = account(pr, sv, &qemu, &err);
	/* the tap is in the remote's namespace since the DD/OS's DDVM-READY */
	if (!ret && pr->part->net)
		ret = ddvm_bench_remote_wire(&b->remote, ddvm_tap_name(d->name, tap, sizeof(tap)),
					     true, o->remote_offload,
					     DDVM_BENCH_NET_REMOTE DDVM_BENCH_NET_PREFIX, &err);
	if (ret) {
		snprintf(error, 512, "%s", err.msg);
		goto out;
	}
	/* up to DDVM-READY already: the script's begin is in the log or close */
	ddvm_bench_vm_follow(console, qemu, pr->wt);
out:
	if (sv > 0) {
		say(b, "%s: stopping the supervisor", pr->side);
		ddvm_bench_reap(sv, STOP_TIMEOUT_MS, SIGTERM);
	}
	path_done(pr, lock_fd, console);
	ddvm_argv_free(&a);
	free(vm);
	free(cfg);
}

/* The direct VM runs: account the remote host, hand it the tap. */
static int direct_started(void *ctx, pid_t pid, struct ddvm_err *err)
{
	struct pathrun *pr = ctx;
	struct cb *b = pr->b;
	int ret;

	if (!pr->part->net)
		return 0;
	if (ddvm_bench_cpu_add(&pr->wt->cpu, b->remote.server))
		return ddvm_errf(err, -ENOSPC, "too many processes to account");
	ret = ddvm_bench_wait_link(b->direct_tap, TAP_WAIT_MS, &interrupted, err);
	return ret ? ret : ddvm_bench_remote_wire(&b->remote, b->direct_tap, false,
						  b->o->remote_offload,
						  DDVM_BENCH_NET_REMOTE DDVM_BENCH_NET_PREFIX, err);
}

/* direct: the client VM's QEMU has the image, or a tap, itself; no DD/OS. */
static void run_direct(struct pathrun *pr)
{
	struct cb *b = pr->b;
	const struct ddvm_bench_client_opts *o = b->o;
	char *error = pr->part->error[pr->path];
	char script[DDVM_PATH_MAX + 16], log[DDVM_PATH_MAX + 64];
	struct ddvm_err err = { "" };
	struct ddvm_argv a = { 0 };
	struct ddvm_vm_cfg *vm;
	int lock_fd = -1, ret;

	vm = malloc(sizeof(*vm));
	if (!vm) {
		snprintf(error, 512, "out of memory");
		return;
	}
	ret = path_dir(pr, true, &lock_fd, &err);
	if (!ret)
		ret = write_script(pr, pr->part->net ? DIRECT_IFNAME : DIRECT_DISK, script,
				   sizeof(script), &err);
	if (!ret)
		ret = ddvm_bench_client_vm(vm, o->cfg, o->bench_initrd, script, &err);
	if (!ret) {
		/* QEMU's sockets live in RUN/VM */
		snprintf(log, sizeof(log), "%s/%s", pr->dir, vm->name);
		if (mkdir(log, 0755) && errno != EEXIST)
			ret = ddvm_errf(&err, -errno, "%s: %s", log, strerror(errno));
	}
	if (!ret)
		ret = ddvm_bench_direct_argv(&a, o->cfg, vm, o->accel,
					     pr->part->net ? NULL : o->image, b->direct_tap,
					     pr->dir, &err);
	pr->wt = ret ? NULL : new_watch(pr, 2.0 * vm->boot_timeout);
	if (!ret && !pr->wt)
		ret = ddvm_errf(&err, -ENOMEM, "out of memory");
	if (ret) {
		snprintf(error, 512, "%s", err.msg);
		goto out;
	}
	ddvm_argv_format(&a, pr->part->qemu[pr->path], sizeof(pr->part->qemu[0]));
	snprintf(log, sizeof(log), "%s/" DIRECT_CONSOLE_LOG, pr->dir);
	say(b, "%s: booting the client VM with %s %s of its own (no DD/OS)", pr->side,
	    pr->part->net ? "tap" : "image", pr->part->net ? b->direct_tap : o->image);
	ddvm_bench_vm_run(&a, log, pr->wt, -1, direct_started, pr);
out:
	path_done(pr, lock_fd, log);
	ddvm_argv_free(&a);
	free(vm);
}

/* ------------------------------------------------------------------ native */

/* A nested benchmark's progress, renumbered; its other sides and workloads left out. */
static void nested_progress(void *ctx, const struct ddvm_bench_progress *p)
{
	struct pathrun *pr = ctx;
	unsigned int i;

	if (!p->w) {
		say(pr->b, "%s%s", pr->prefix, p->msg);
		return;
	}
	if (strcmp(p->side, "native"))
		return;
	for (i = 0; i < pr->part->nr; i++)
		if (!strcmp(pr->part->w[i].name, p->w->name))
			step(pr, i, p->res, p->msg);
}

/* Results of the nested benchmark's native side for our workloads, by name. */
static void take_native(struct pathrun *pr, const struct ddvm_bench_blk_report *r)
{
	unsigned int i, j;

	for (i = 0; i < pr->part->nr; i++)
		for (j = 0; j < r->nr; j++)
			if (!strcmp(pr->part->w[i].name, r->w[j].name))
				pr->part->res[DDVM_BENCH_PATH_NATIVE][i] = r->native[j];
	snprintf(pr->part->error[DDVM_BENCH_PATH_NATIVE], sizeof(pr->part->error[0]), "%s",
		 r->native_error);
	snprintf(pr->part->qemu[DDVM_BENCH_PATH_NATIVE], sizeof(pr->part->qemu[0]), "%s",
		 r->env.native_cmdline);
}

/* native disk: `ddvm bench blk`'s native side, fio in the DD/OS. */
static void run_native_blk(struct pathrun *pr, struct ddvm_bench_blk_report *r)
{
	struct cb *b = pr->b;
	const struct ddvm_bench_client_opts *o = b->o;
	struct ddvm_bench_blk_opts bo = {
		.bench_initrd = o->bench_initrd, .accel = o->accel, .ramp = o->ramp,
		.runtime = o->runtime, .exe = o->exe, .command = o->command,
		.progress = nested_progress, .ctx = pr, .stop = &interrupted,
	};
	struct ddvm_err err = { "" };
	struct ddvm_config *cfg;
	int lock_fd = -1;

	cfg = malloc(sizeof(*cfg));
	if (!cfg || path_dir(pr, true, &lock_fd, &err)) {
		snprintf(pr->part->error[pr->path], 512, "%s", cfg ? err.msg : "out of memory");
		goto out;
	}
	*cfg = *b->blk_base;
	snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s", pr->dir);
	bo.cfg = cfg;
	pr->prefix = "";
	if (ddvm_bench_blk_native(&bo, r, &err))
		snprintf(pr->part->error[pr->path], 512, "%s", err.msg);
	else
		take_native(pr, r);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	free(cfg);
}

/* native NIC: `ddvm bench net` (its native side is the one reported). */
static void run_native_net(struct pathrun *pr, struct ddvm_bench_blk_report *r)
{
	struct cb *b = pr->b;
	const struct ddvm_bench_client_opts *o = b->o;
	struct ddvm_bench_net_opts no = {
		.bench_initrd = o->bench_initrd, .accel = o->accel, .omit = o->omit,
		.runtime = o->runtime, .exe = o->exe, .command = o->command,
		.remote_offload = o->remote_offload, .progress = nested_progress, .ctx = pr,
	};
	struct ddvm_err err = { "" };
	struct ddvm_config *cfg;
	int lock_fd, ret;

	cfg = malloc(sizeof(*cfg));
	if (!cfg || path_dir(pr, false, &lock_fd, &err)) {
		snprintf(pr->part->error[pr->path], 512, "%s", cfg ? err.msg : "out of memory");
		free(cfg);
		return;
	}
	ret = ddvm_bench_net_config(cfg, o->cfg, o->nic_domain, o->nic_model, pr->dir, &err);
	if (!ret) {
		cfg->nr_vms = 0;
		no.cfg = cfg;
		pr->prefix = "bench net: ";
		say(b, "native: `ddvm bench net` in %s (its MTU 500 runs and its host-TAP side are "
		    "not part of this table)", pr->dir);
		ret = ddvm_bench_net_run(&no, r, &err);
	}
	if (ret == -EINTR)
		interrupted = SIGINT;
	if (ret)
		snprintf(pr->part->error[pr->path], 512, "%s", err.msg);
	else
		take_native(pr, r);
	free(cfg);
}

/* ------------------------------------------------------------------- run */

static void run_path(struct cb *b, struct ddvm_bench_part *part, enum ddvm_bench_path path)
{
	struct pathrun pr = {
		.b = b, .part = part, .path = path, .step0 = b->step,
		.side = ddvm_bench_path_name(path, part->net),
	};
	struct ddvm_bench_blk_report *r;

	b->step += part->nr;
	if (interrupted) {
		snprintf(part->error[path], sizeof(part->error[0]), "interrupted");
		return;
	}
	switch (path) {
	case DDVM_BENCH_PATH_BRIDGE:
		run_supervised(&pr, part->net ? b->nic_base : b->blk_base,
			       part->net ? DDVM_VIA_STREAM : DDVM_VIA_NBD);
		break;
	case DDVM_BENCH_PATH_FRONT:
		run_supervised(&pr, part->net ? b->nic_base : b->blk_base, DDVM_VIA_FRONT);
		break;
	case DDVM_BENCH_PATH_DIRECT:
		run_direct(&pr);
		break;
	case DDVM_BENCH_PATH_NATIVE:
		r = calloc(1, sizeof(*r));
		if (!r) {
			snprintf(part->error[path], sizeof(part->error[0]), "out of memory");
			break;
		}
		if (part->net)
			run_native_net(&pr, r);
		else
			run_native_blk(&pr, r);
		if (!b->rep->env.fio_version[0] && !part->net)
			snprintf(b->rep->env.fio_version, sizeof(b->rep->env.fio_version), "%s",
				 r->env.fio_version);
		if (!b->rep->env.iperf_version[0] && part->net)
			snprintf(b->rep->env.iperf_version, sizeof(b->rep->env.iperf_version),
				 "%s", r->env.fio_version);
		free(r);
		break;
	case DDVM_BENCH_NR_PATHS:
		break;
	}
}

/* Native first, as the other benchmarks do, then the client paths. */
static void run_part(struct cb *b, struct ddvm_bench_part *part)
{
	static const enum ddvm_bench_path order[] = {
		DDVM_BENCH_PATH_NATIVE, DDVM_BENCH_PATH_BRIDGE, DDVM_BENCH_PATH_FRONT,
		DDVM_BENCH_PATH_DIRECT,
	};
	unsigned int k;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		if (b->rep->paths & (1u << order[k]))
			run_path(b, part, order[k]);
}

/* The namespace a run that was killed left (its children died with it). */
static void remove_stale(const char *run_dir)
{
	char path[DDVM_PATH_MAX + 32], line[64];
	size_t n = strlen(STALE_PREFIX);
	FILE *f;

	snprintf(path, sizeof(path), "%s/" STALE_RECORD, run_dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, STALE_PREFIX, n) && line[n] &&
		    strspn(line + n, "0123456789") == strlen(line + n))
			ddvm_bench_netns_del(line);
	}
	fclose(f);
	unlink(path);
}

/* The remote host of the client paths: namespace, iperf3 server; recorded for a killed run. */
static int remote_up(struct cb *b, struct ddvm_err *err)
{
	char ns[DDVM_NETNS_MAX + 1], path[DDVM_PATH_MAX + 32], log[DDVM_PATH_MAX + 32];
	FILE *f;
	int ret;

	snprintf(ns, sizeof(ns), STALE_PREFIX "%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/" STALE_RECORD, b->o->run_dir);
	f = fopen(path, "we");
	if (f) {
		fprintf(f, "%s\n", ns);
		fclose(f);
	}
	snprintf(log, sizeof(log), "%s/" SERVER_LOG, b->o->run_dir);
	say(b, "remote host %s in namespace %s, iperf3 server", DDVM_BENCH_NET_REMOTE, ns);
	ret = ddvm_bench_remote_start(&b->remote, ns, log, err);
	if (ret)
		unlink(path);
	return ret;
}

static void remote_down(struct cb *b)
{
	char path[DDVM_PATH_MAX + 32];

	if (!b->remote.ns[0])
		return;
	ddvm_bench_remote_stop(&b->remote);
	snprintf(path, sizeof(path), "%s/" STALE_RECORD, b->o->run_dir);
	unlink(path);
}

/* The first domain of @cfg with a disk (@nic false) or a NIC: its name, or NULL. */
static const char *first_domain(const struct ddvm_config *cfg, bool nic)
{
	unsigned int i;

	for (i = 0; i < cfg->nr_domains; i++)
		if (nic ? cfg->domains[i].has_nic : cfg->domains[i].has_disk)
			return cfg->domains[i].name;
	return NULL;
}

/* The domains the paths use, checked before anything runs. */
static int make_bases(struct cb *b, struct ddvm_err *err)
{
	const struct ddvm_bench_client_opts *o = b->o;
	struct ddvm_domain_cfg *d;
	char ns[DDVM_NETNS_MAX + 1];
	int ret;

	b->blk_base = calloc(1, sizeof(*b->blk_base));
	b->nic_base = calloc(1, sizeof(*b->nic_base));
	if (!b->blk_base || !b->nic_base)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	if (o->blk) {
		const char *dom = o->disk_domain ? o->disk_domain : first_domain(o->cfg, false);

		if (!dom)
			return ddvm_errf(err, -ENOENT, "%s has no domain with a disk", o->cfg->source);
		ret = ddvm_bench_blk_config(b->blk_base, o->cfg, dom, o->controller, o->image,
					    o->size, o->run_dir, err);
		if (ret)
			return ret;
		d = &b->blk_base->domains[0];
		d->has_nic = false;	/* its disk alone */
		if (d->channels[0].kind != DDVM_CHANNEL_BLK)
			return ddvm_errf(err, -EINVAL, "domain %s has no disk channel", d->name);
		ret = ddvm_bench_preflight(b->blk_base, o->bench_initrd, err);
		if (ret)
			return ret;
	}
	if (o->net) {
		snprintf(ns, sizeof(ns), STALE_PREFIX "%d", (int)getpid());
		ret = ddvm_bench_client_nic_config(b->nic_base, o->cfg, o->nic_domain, o->nic_model,
						   ns, o->run_dir, err);
		if (!ret)
			ret = ddvm_bench_preflight(b->nic_base, o->bench_initrd, err);
		if (ret)
			return ret;
	}
	return 0;
}

static void fill_env(struct cb *b)
{
	const struct ddvm_bench_client_opts *o = b->o;
	struct ddvm_bench_client_env *e = &b->rep->env;
	const struct ddvm_domain_cfg *dd = &b->blk_base->domains[0];
	const struct ddvm_domain_cfg *nd = &b->nic_base->domains[0];
	struct ddvm_vm_cfg *vm = calloc(1, sizeof(*vm));

	ddvm_bench_host_info(&e->host);
	snprintf(e->command, sizeof(e->command), "%s", o->command ? o->command : "");
	snprintf(e->accel, sizeof(e->accel), "%s", ddvm_accel_name(o->accel));
	snprintf(e->accel_reason, sizeof(e->accel_reason), "%s", o->accel->reason);
	ddvm_bench_kernel_abi(o->cfg->kernel, e->kernel_abi, sizeof(e->kernel_abi));
	if (o->blk) {
		snprintf(e->controller, sizeof(e->controller), "%s",
			 ddvm_controller_name(dd->disk.controller));
		e->disk_dd_memory = dd->memory;
		e->dd_cpus = dd->cpus;
		e->blk_channel_size = dd->channels[0].size;
	}
	if (o->net) {
		snprintf(e->nic, sizeof(e->nic), "%s", ddvm_nic_model_name(nd->nic.model));
		e->nic_dd_memory = nd->memory;
		e->dd_cpus = nd->cpus;
		e->net_channel_size = nd->channels[0].size;
		/* native is `ddvm bench net`'s, with a remote host of its own */
		if (o->paths & ~(1u << DDVM_BENCH_PATH_NATIVE))
			snprintf(e->remote, sizeof(e->remote), "%s in namespace " STALE_PREFIX "%d",
				 DDVM_BENCH_NET_REMOTE, (int)getpid());
	}
	snprintf(e->image, sizeof(e->image), "%s", o->image ? o->image : "");
	e->size = o->size;
	e->ramp = o->ramp;
	e->runtime = o->runtime;
	e->omit = o->omit;
	e->remote_offload = o->remote_offload;
	if (vm && !ddvm_bench_client_vm(vm, o->cfg, o->bench_initrd, "", NULL)) {
		e->vm_memory = vm->memory;
		e->vm_cpus = vm->cpus;
	}
	free(vm);
	snprintf(e->run_dir, sizeof(e->run_dir), "%s", o->run_dir);
	ddvm_loadavg(NULL, e->load_start);
}

/* Take the scratch image (the lock `ddvm bench blk` takes too) and fill it. */
static int scratch(struct cb *b, int *lock_fd, struct ddvm_err *err)
{
	bool filled;
	int ret;

	ret = ddvm_run_lock(b->o->scratch_lock, lock_fd, err);
	if (ret)
		return ddvm_err_prefix(err, ret, "scratch image %s: ", b->o->image);
	say(b, "scratch image %s (%llu MiB): checking", b->o->image,
	    (unsigned long long)(b->o->size >> 20));
	ret = ddvm_bench_scratch(b->o->image, b->o->size, &filled, err);
	if (!ret && filled)
		say(b, "scratch image filled with data");
	return ret;
}

static unsigned int popcount(unsigned int m)
{
	unsigned int n = 0;

	for (; m; m &= m - 1)
		n++;
	return n;
}

int ddvm_bench_client_run(const struct ddvm_bench_client_opts *o,
			  struct ddvm_bench_client_report *rep, struct ddvm_err *err)
{
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
	struct cb b = { .o = o, .rep = rep };
	int lock_fd = -1, scratch_fd = -1, ret;
	unsigned int clients;

	memset(rep, 0, sizeof(*rep));
	ddvm_bench_client_workloads(rep);
	rep->paths = o->paths & DDVM_BENCH_ALL_PATHS;
	rep->blk.on = o->blk;
	rep->net.on = o->net;
	if (!o->runtime)
		return ddvm_errf(err, -EINVAL, "runtime must be at least 1 s");
	if (!rep->paths || (!o->blk && !o->net))
		return ddvm_errf(err, -EINVAL, "nothing to run: no path or neither disk nor NIC");
	snprintf(b.direct_tap, sizeof(b.direct_tap), "dcv%d", (int)getpid());
	b.total = popcount(rep->paths) * ((o->blk ? rep->blk.nr : 0) + (o->net ? rep->net.nr : 0));
	ret = make_bases(&b, err);
	if (ret)
		goto out_free;
	/* two client benchmarks would share their paths' directories and namespaces */
	ret = ddvm_run_lock(o->run_dir, &lock_fd, err);
	if (ret)
		goto out_free;
	ddvm_run_clean_stale(o->run_dir);
	remove_stale(o->run_dir);
	fill_env(&b);

	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	if (o->blk) {
		ret = scratch(&b, &scratch_fd, err);
		if (ret)
			goto out;
		run_part(&b, &rep->blk);
		close(scratch_fd);
		scratch_fd = -1;
	}
	clients = rep->paths & ~(1u << DDVM_BENCH_PATH_NATIVE);
	if (o->net && !interrupted) {
		ret = clients ? remote_up(&b, err) : 0;
		if (ret)
			goto out;
		run_part(&b, &rep->net);
		remote_down(&b);
	}
	if (interrupted)
		ret = ddvm_errf(err, -EINTR, "interrupted (signal %d); cleaned up", (int)interrupted);
out:
	remote_down(&b);
	if (scratch_fd >= 0)
		close(scratch_fd);
	ddvm_loadavg(NULL, rep->env.load_end);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	close(lock_fd);
out_free:
	free(b.blk_base);
	free(b.nic_base);
	return ret;
}
