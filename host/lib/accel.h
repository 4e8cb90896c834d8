/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Accelerator choice for QEMU: KVM only where a probe guest really runs on
 * it, TCG everywhere else, with the reason either way.
 */
#ifndef DDVM_ACCEL_H
#define DDVM_ACCEL_H

#include "err.h"

enum ddvm_accel_kind {
	DDVM_ACCEL_TCG,
	DDVM_ACCEL_KVM,
};

struct ddvm_accel {
	enum ddvm_accel_kind kind;
	char reason[256];	/* why this kind, for "ddvm accel" and status */
};

/* How long the KVM probe guest may take before we call KVM broken. */
#define DDVM_ACCEL_PROBE_TIMEOUT_MS	3000

/* Where detection looks; tests point these at fakes. */
struct ddvm_accel_env {
	const char *cpuinfo;	/* /proc/cpuinfo */
	const char *kvm_dev;	/* /dev/kvm */
	const char *force;	/* value of DDVM_ACCEL: NULL/"" auto, "tcg", "kvm" */
};

/**
 * ddvm_accel_detect - choose KVM or TCG for this host.
 * @out: filled with the kind and a one-line reason.
 * @err: filled on error.
 *
 * KVM is chosen only when /proc/cpuinfo shows vmx or svm, /dev/kvm opens
 * with API version 12, and a tiny real-mode guest runs to its OUT and HLT
 * (in a child process, killed after DDVM_ACCEL_PROBE_TIMEOUT_MS, so a
 * broken KVM cannot hang the caller).  DDVM_ACCEL=tcg forces TCG;
 * DDVM_ACCEL=kvm insists on KVM and is an error where KVM does not work.
 *
 * Return: 0, or -ENODEV (KVM forced but unusable), -EINVAL (bad DDVM_ACCEL).
 */
int ddvm_accel_detect(struct ddvm_accel *out, struct ddvm_err *err);

/* ddvm_accel_detect() with explicit paths and override (for tests). */
int ddvm_accel_detect_env(const struct ddvm_accel_env *env, struct ddvm_accel *out,
			  struct ddvm_err *err);

/*
 * ddvm_accel_for_config - the accelerator a config asks for: "tcg" forces
 * TCG, "kvm" insists on a usable KVM (an error naming @source otherwise),
 * "auto" detects.  @pref is an enum ddvm_accel_pref (config.h).
 */
int ddvm_accel_for_config(int pref, const char *source, struct ddvm_accel *out,
			  struct ddvm_err *err);

/* The QEMU -accel argument: "kvm" or "tcg,thread=multi". */
const char *ddvm_accel_qemu_arg(const struct ddvm_accel *accel);

/* "kvm" or "tcg". */
const char *ddvm_accel_name(const struct ddvm_accel *accel);

/*
 * ddvm_accel_cpu_has_virt - does @cpuinfo's first "flags" line list vmx or
 * svm?  Return: 1 yes, 0 no, -errno when the file cannot be read or has no
 * flags line (message in @err).
 */
int ddvm_accel_cpu_has_virt(const char *cpuinfo, struct ddvm_err *err);

/*
 * ddvm_accel_kvm_probe - run the probe guest on @kvm_dev.
 * Return: 0 when it ran as expected, else -errno with the step that failed
 * in @err.
 */
int ddvm_accel_kvm_probe(const char *kvm_dev, unsigned int timeout_ms, struct ddvm_err *err);

#endif /* DDVM_ACCEL_H */
