// SPDX-License-Identifier: GPL-2.0
/* Client VMs for VM tests: start QEMU, follow its console, stop it (see clientvm.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "clientvm.h"
#include "qemu_args.h"

#define MAX_ARGS	96
#define POLL_US		50000	/* how often the console is looked at */
#define STOP_MS		5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int why(struct clientvm *vm, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why(struct clientvm *vm, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vm->why, sizeof(vm->why), fmt, ap);
	va_end(ap);
	return ret;
}

/* @given, else $ENV/@rest (ENV unset: @dflt/@rest), in @buf. */
static const char *path_or(const char *given, const char *env, const char *dflt, const char *rest,
			   char *buf, size_t len)
{
	const char *dir = getenv(env);

	if (given)
		snprintf(buf, len, "%s", given);
	else
		snprintf(buf, len, "%s/%s", dir && *dir ? dir : dflt, rest);
	return buf;
}

struct args {
	const char *v[MAX_ARGS];
	int n;
};

static void add(struct args *a, ...)
{
	const char *s;
	va_list ap;

	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) && a->n < MAX_ARGS - 1)
		a->v[a->n++] = s;
	va_end(ap);
	a->v[a->n] = NULL;
}

int clientvm_start(struct clientvm *vm, const struct clientvm_opts *o)
{
	char kernel[256], initrd[256], append[2048], serial[300];
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;
	struct args a = { .n = 0 };
	int i, ret, fd;
	pid_t pid;

	memset(vm, 0, sizeof(*vm));
	snprintf(vm->name, sizeof(vm->name), "%s", o->name);
	snprintf(vm->console, sizeof(vm->console), "%s", o->console);
	snprintf(vm->qemu_log, sizeof(vm->qemu_log), "%s.qemu", o->console);
	ret = ddvm_accel_detect(&accel, &err);
	if (ret)
		return why(vm, ret, "%s: choosing the accelerator: %s", vm->name, err.msg);
	path_or(o->kernel, "VAR", "var", "guest/vmlinux", kernel, sizeof(kernel));
	path_or(o->initrd, "BUILD", "build", "guest/initramfs-bench.cpio", initrd, sizeof(initrd));
	if (access(kernel, R_OK) || access(initrd, R_OK))
		return why(vm, -ENOENT, "%s: %s or %s is missing (make setup guest)", vm->name,
			   kernel, initrd);
	if (snprintf(append, sizeof(append), "console=ttyS0 loglevel=5 panic=-1 cryptomgr.notests %s",
		     o->append ? o->append : "") >= (int)sizeof(append))
		return why(vm, -E2BIG, "%s: kernel command line over %zu bytes", vm->name,
			   sizeof(append));
	snprintf(serial, sizeof(serial), "file:%s", vm->console);
	add(&a, ddvm_qemu_binary(), "-name", vm->name, "-M", "q35", "-accel",
	    ddvm_accel_qemu_arg(&accel), "-m", o->memory ? o->memory : CLIENTVM_MEMORY, NULL);
	/* one CPU, but two possible under TCG: TCG keeps the barriers then */
	if (accel.kind == DDVM_ACCEL_KVM)
		add(&a, "-cpu", "host", "-smp", "1", NULL);
	else
		add(&a, "-smp", "1,maxcpus=2", NULL);
	add(&a, "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-kernel",
	    kernel, "-initrd", initrd, "-append", append, "-serial", serial, NULL);
	for (i = 0; o->args && o->args[i]; i++) {
		if (a.n >= MAX_ARGS - 1)
			return why(vm, -E2BIG, "%s: too many QEMU arguments", vm->name);
		add(&a, o->args[i], NULL);
	}

	fd = open(vm->qemu_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return why(vm, -errno, "%s: %s: %s", vm->name, vm->qemu_log, strerror(errno));
	/* a console left by an earlier run must not answer this run's waits */
	if (truncate(vm->console, 0) && errno != ENOENT) {
		ret = -errno;
		close(fd);
		return why(vm, ret, "%s: %s: %s", vm->name, vm->console, strerror(-ret));
	}
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(fd);
		return why(vm, ret, "%s: fork: %s", vm->name, strerror(-ret));
	}
	if (!pid) {
		/* a VM must not outlive the test that started it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(a.v[0], (char *const *)a.v);
		fprintf(stderr, "cannot run %s: %s\n", a.v[0], strerror(errno));
		_exit(127);
	}
	close(fd);
	vm->pid = pid;
	return 0;
}

bool clientvm_running(struct clientvm *vm)
{
	int status;

	if (vm->pid <= 0)
		return false;
	if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
		vm->status = status;
		vm->pid = 0;
		return false;
	}
	return true;
}

/* The tail of @path into @buf (empty if unreadable). */
static void file_tail(const char *path, char *buf, size_t len)
{
	ssize_t r = 0;
	off_t size;
	int fd;

	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size >= 0)
		r = pread(fd, buf, len - 1, size > (off_t)len - 1 ? size - (off_t)len + 1 : 0);
	close(fd);
	buf[r > 0 ? r : 0] = '\0';
}

void clientvm_console_tail(const struct clientvm *vm, char *buf, size_t len)
{
	file_tail(vm->console, buf, len);
}

/* vm->why: what QEMU and the console said last, after @what. */
static int why_tail(struct clientvm *vm, int ret, const char *what)
{
	char con[1200], qemu[400];

	clientvm_console_tail(vm, con, sizeof(con));
	file_tail(vm->qemu_log, qemu, sizeof(qemu));
	return why(vm, ret, "%s: %s\n--- console (%s), tail:\n%s\n--- QEMU said:\n%s", vm->name,
		   what, vm->console, con, qemu);
}

int clientvm_wait_line(struct clientvm *vm, const char *prefix, int timeout_ms, char *line,
		       size_t len)
{
	int64_t end = now_ms() + timeout_ms;
	size_t plen = strlen(prefix);
	char buf[4096], what[160];
	bool alive = true;
	ssize_t r;
	int fd;

	fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	for (;;) {
		/* read whole lines from where the last wait stopped */
		r = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, (off_t)vm->scanned) : 0;
		if (r > 0) {
			char *nl, *p = buf;

			buf[r] = '\0';
			while ((nl = memchr(p, '\n', (size_t)(buf + r - p)))) {
				*nl = '\0';
				vm->scanned += (size_t)(nl - p) + 1;
				/* the UART ends lines with \r\n, and may start one with a stray \r */
				while (*p == '\r')
					p++;
				if (nl > p && nl[-1] == '\r')
					nl[-1] = '\0';
				if (!strncmp(p, prefix, plen)) {
					if (line)
						snprintf(line, len, "%s", p);
					close(fd);
					return 0;
				}
				p = nl + 1;
			}
			if (p != buf)
				continue;	/* more whole lines may follow */
			if (r == (ssize_t)sizeof(buf) - 1)
				vm->scanned += (size_t)r;	/* a line longer than we care for */
		}
		if (!alive)
			break;
		if (now_ms() > end) {
			if (fd >= 0)
				close(fd);
			snprintf(what, sizeof(what), "no \"%s\" within %d ms", prefix, timeout_ms);
			return why_tail(vm, -ETIMEDOUT, what);
		}
		/* one last read after QEMU is gone: it may have written before it went */
		alive = clientvm_running(vm);
		if (alive)
			usleep(POLL_US);
		if (fd < 0)
			fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof(what), "QEMU exited (status 0x%x) without \"%s\"", vm->status, prefix);
	return why_tail(vm, -ECHILD, what);
}

int clientvm_wait_exit(struct clientvm *vm, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (clientvm_running(vm)) {
		if (now_ms() > end)
			return why_tail(vm, -ETIMEDOUT, "still running");
		usleep(POLL_US);
	}
	return WIFEXITED(vm->status) ? WEXITSTATUS(vm->status) : 128 + WTERMSIG(vm->status);
}

void clientvm_stop(struct clientvm *vm)
{
	int64_t end = now_ms() + STOP_MS;

	if (vm->pid <= 0)
		return;
	kill(vm->pid, SIGTERM);
	while (clientvm_running(vm) && now_ms() < end)
		usleep(10000);
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, &vm->status, 0);
		vm->pid = 0;
	}
}
