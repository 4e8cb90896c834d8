// SPDX-License-Identifier: GPL-2.0
/* KVM-or-TCG detection for QEMU (see accel.h): CPU flags, /dev/kvm, and a probe guest that must run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "config.h"

/* The probe guest, 16-bit real mode at PROBE_GPA: mov $0x2a,%al; out %al,$0x10; hlt */
#define PROBE_GPA	0x1000
#define PROBE_PORT	0x10
#define PROBE_VALUE	0x2a
static const uint8_t probe_code[] = { 0xb0, PROBE_VALUE, 0xe6, PROBE_PORT, 0xf4 };

int ddvm_accel_cpu_has_virt(const char *cpuinfo, struct ddvm_err *err)
{
	char *line = NULL, *p, *tok, *save;
	size_t cap = 0;
	int found = -1;
	FILE *f;

	f = fopen(cpuinfo, "re");
	if (!f)
		return ddvm_errf(err, -errno, "cannot read %s: %s", cpuinfo, strerror(errno));
	while (found < 0 && getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5) || !(p = strchr(line, ':')))
			continue;
		found = 0;
		for (tok = strtok_r(p + 1, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			if (!strcmp(tok, "vmx") || !strcmp(tok, "svm"))
				found = 1;
	}
	free(line);
	fclose(f);
	if (found < 0)
		return ddvm_errf(err, -ENOENT, "%s has no \"flags\" line", cpuinfo);
	return found;
}

/*
 * Runs in the probe child: writes "ok" or the failing step to @msg.  Every
 * descriptor and mapping dies with the child, so there is no unwinding.
 */
static void kvm_probe_child(const char *dev, char *msg, size_t len)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, version, i, saw_out = 0;
	long run_size;
	uint8_t *mem;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(msg, len, "cannot open %s: %s", dev, strerror(errno));
		return;
	}
	version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(msg, len, "%s: KVM_GET_API_VERSION gave %d (%s), want %d", dev, version,
			 version < 0 ? strerror(errno) : "mismatch", KVM_API_VERSION);
		return;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		snprintf(msg, len, "KVM_CREATE_VM: %s", strerror(errno));
		return;
	}
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		snprintf(msg, len, "mmap guest memory: %s", strerror(errno));
		return;
	}
	memcpy(mem, probe_code, sizeof(probe_code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = PROBE_GPA,
		.memory_size = 0x1000,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(msg, len, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		snprintf(msg, len, "KVM_CREATE_VCPU: %s", strerror(errno));
		return;
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run)) {
		snprintf(msg, len, "KVM_GET_VCPU_MMAP_SIZE gave %ld", run_size);
		return;
	}
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		snprintf(msg, len, "mmap kvm_run: %s", strerror(errno));
		return;
	}
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(msg, len, "KVM_GET_SREGS: %s", strerror(errno));
		return;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(msg, len, "KVM_SET_SREGS: %s", strerror(errno));
		return;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = PROBE_GPA;
	regs.rflags = 0x2;	/* bit 1 is reserved and must be set */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		snprintf(msg, len, "KVM_SET_REGS: %s", strerror(errno));
		return;
	}
	/* expect exactly: OUT 0x2a to port 0x10, then HLT */
	for (i = 0; i < 8; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(msg, len, "KVM_RUN: %s", strerror(errno));
			return;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != PROBE_PORT ||
			    run->io.size != 1 || run->io.count != 1 ||
			    run->io.data_offset >= (uint64_t)run_size ||
			    ((uint8_t *)run)[run->io.data_offset] != PROBE_VALUE) {
				snprintf(msg, len, "unexpected I/O exit (port 0x%x, size %u)",
					 run->io.port, run->io.size);
				return;
			}
			saw_out = 1;
			break;
		case KVM_EXIT_HLT:
			if (!saw_out) {
				snprintf(msg, len, "guest halted before its OUT");
				return;
			}
			snprintf(msg, len, "ok");
			return;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(msg, len, "VM entry failed (hardware reason 0x%llx)",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return;
		case KVM_EXIT_INTERNAL_ERROR:
			snprintf(msg, len, "KVM internal error (suberror %u)", run->internal.suberror);
			return;
		default:
			snprintf(msg, len, "unexpected exit reason %u", run->exit_reason);
			return;
		}
	}
	snprintf(msg, len, "guest did not halt after %d runs", i);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * The probe runs in a child process: a KVM that wedges in KVM_RUN would
 * otherwise hang us, and a thread stuck in an ioctl cannot be cancelled.
 */
int ddvm_accel_kvm_probe(const char *kvm_dev, unsigned int timeout_ms, struct ddvm_err *err)
{
	char msg[200] = "";
	struct timespec t0;
	struct pollfd pfd;
	size_t got = 0;
	int pipefd[2], status = 0, ret;
	ssize_t n;
	pid_t pid;
	long left;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return ddvm_errf(err, -errno, "KVM probe: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		ret = ddvm_errf(err, -errno, "KVM probe: fork: %s", strerror(errno));
		goto out_pipe;
	}
	if (pid == 0) {
		close(pipefd[0]);
		kvm_probe_child(kvm_dev, msg, sizeof(msg));
		n = write(pipefd[1], msg, strlen(msg));
		_exit(n < 0);
	}
	close(pipefd[1]);
	pipefd[1] = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pfd = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	for (;;) {
		left = (long)timeout_ms - ms_since(&t0);
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			ret = ddvm_errf(err, -ETIMEDOUT, "KVM probe guest did not finish within %u ms",
					timeout_ms);
			goto out_pipe;
		}
		ret = poll(&pfd, 1, (int)left);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0) {
			ret = ddvm_errf(err, -errno, "KVM probe: poll: %s", strerror(errno));
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			goto out_pipe;
		}
		if (ret == 0)
			continue;
		n = read(pipefd[0], msg + got, sizeof(msg) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || got + n >= sizeof(msg) - 1) {
			if (n > 0)
				got += n;
			break;
		}
		got += n;
	}
	msg[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!strcmp(msg, "ok")) {
		ret = 0;
	} else if (got) {
		ret = ddvm_errf(err, -ENODEV, "%s", msg);
	} else if (WIFSIGNALED(status)) {
		ret = ddvm_errf(err, -ENODEV, "probe process died of signal %d", WTERMSIG(status));
	} else {
		ret = ddvm_errf(err, -ENODEV, "probe process exited with %d and no result",
				WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
out_pipe:
	close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return ret;
}

/* Fills @out with the automatic choice; never fails, the reason says why. */
static void accel_auto(const struct ddvm_accel_env *env, struct ddvm_accel *out)
{
	struct ddvm_err e = { "" };
	int ret;

	out->kind = DDVM_ACCEL_TCG;
	ret = ddvm_accel_cpu_has_virt(env->cpuinfo, &e);
	if (ret < 0) {
		snprintf(out->reason, sizeof(out->reason), "CPU flags unknown: %s", e.msg);
		return;
	}
	if (ret == 0) {
		snprintf(out->reason, sizeof(out->reason), "no vmx/svm CPU flag in %s", env->cpuinfo);
		return;
	}
	ret = ddvm_accel_kvm_probe(env->kvm_dev, DDVM_ACCEL_PROBE_TIMEOUT_MS, &e);
	if (ret) {
		snprintf(out->reason, sizeof(out->reason), "KVM probe guest failed: %s", e.msg);
		return;
	}
	out->kind = DDVM_ACCEL_KVM;
	snprintf(out->reason, sizeof(out->reason), "%s ran a probe guest", env->kvm_dev);
}

int ddvm_accel_detect_env(const struct ddvm_accel_env *env, struct ddvm_accel *out,
			  struct ddvm_err *err)
{
	const char *force = env->force;

	if (!force || !*force) {
		accel_auto(env, out);
		return 0;
	}
	if (!strcmp(force, "tcg")) {
		out->kind = DDVM_ACCEL_TCG;
		snprintf(out->reason, sizeof(out->reason), "forced by DDVM_ACCEL=tcg");
		return 0;
	}
	if (strcmp(force, "kvm"))
		return ddvm_errf(err, -EINVAL, "DDVM_ACCEL='%s': want tcg or kvm (or unset)", force);
	accel_auto(env, out);
	if (out->kind != DDVM_ACCEL_KVM)
		return ddvm_errf(err, -ENODEV, "DDVM_ACCEL=kvm, but KVM is not usable here: %s",
				 out->reason);
	snprintf(out->reason, sizeof(out->reason), "forced by DDVM_ACCEL=kvm; %s ran a probe guest",
		 env->kvm_dev);
	return 0;
}

int ddvm_accel_detect(struct ddvm_accel *out, struct ddvm_err *err)
{
	const struct ddvm_accel_env env = {
		.cpuinfo = "/proc/cpuinfo",
		.kvm_dev = "/dev/kvm",
		.force = getenv("DDVM_ACCEL"),
	};

	return ddvm_accel_detect_env(&env, out, err);
}

const char *ddvm_accel_qemu_arg(const struct ddvm_accel *accel)
{
	/* thread=multi: a host thread per vCPU, so a 2-vCPU DD/OS can use two cores */
	return accel->kind == DDVM_ACCEL_KVM ? "kvm" : "tcg,thread=multi";
}

const char *ddvm_accel_name(const struct ddvm_accel *accel)
{
	return accel->kind == DDVM_ACCEL_KVM ? "kvm" : "tcg";
}

int ddvm_accel_for_config(int pref, const char *source, struct ddvm_accel *out,
			  struct ddvm_err *err)
{
	int ret;

	if (pref == DDVM_ACCEL_PREF_TCG) {
		memset(out, 0, sizeof(*out));
		out->kind = DDVM_ACCEL_TCG;
		snprintf(out->reason, sizeof(out->reason), "accel \"tcg\" in the config");
		return 0;
	}
	ret = ddvm_accel_detect(out, err);
	if (ret)
		return ret;
	if (pref == DDVM_ACCEL_PREF_KVM && out->kind != DDVM_ACCEL_KVM)
		return ddvm_errf(err, -ENODEV, "%s asks for accel \"kvm\", but KVM is not usable: %s",
				 source, out->reason);
	return 0;
}
