// SPDX-License-Identifier: GPL-2.0
/* Unit tests of KVM/TCG detection: CPU flag parsing, the DDVM_ACCEL override, and KVM refused where it cannot work. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "accel.h"

static char dir[] = "/tmp/ddvm-test-accel.XXXXXX";

/* Writes @text to a file in the test directory and returns its path. */
static const char *fake_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define CPU_VMX "processor\t: 0\nflags\t\t: fpu vme de pse vmx sse2\n\nprocessor\t: 1\nflags\t\t: fpu vmx\n"
#define CPU_SVM "processor\t: 0\nflags\t\t: fpu svm lm\n"
#define CPU_NONE "processor\t: 0\nflags\t\t: fpu vme vmxx xsvm hypervisor\n"

/* The host's own answer, parsed independently of the library. */
static int host_has_virt(void)
{
	char line[8192];
	int found = 0;
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			found = strstr(line, " vmx ") || strstr(line, " svm ") ||
				strstr(line, " vmx\n") || strstr(line, " svm\n");
			break;
		}
	fclose(f);
	return found;
}

static void expect_msg(const char *msg, const char *want)
{
	if (!strstr(msg, want))
		fail_msg("message lacks \"%s\": %s", want, msg);
}

static void test_cpu_flags(void **state)
{
	struct ddvm_err err = { "" };

	assert_int_equal(ddvm_accel_cpu_has_virt(fake_file("vmx", CPU_VMX), &err), 1);
	assert_int_equal(ddvm_accel_cpu_has_virt(fake_file("svm", CPU_SVM), &err), 1);
	/* whole words only: "vmxx" and "xsvm" are not vmx/svm */
	assert_int_equal(ddvm_accel_cpu_has_virt(fake_file("none", CPU_NONE), &err), 0);
	assert_int_equal(ddvm_accel_cpu_has_virt(fake_file("noflags", "processor\t: 0\n"), &err),
			 -ENOENT);
	expect_msg(err.msg, "no \"flags\" line");
	assert_int_equal(ddvm_accel_cpu_has_virt("/nonexistent/cpuinfo", &err), -ENOENT);
	expect_msg(err.msg, "/nonexistent/cpuinfo");
}

/* The real detection agrees with the host's CPU flags. */
static void test_detect_matches_cpuinfo(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;

	unsetenv("DDVM_ACCEL");
	assert_int_equal(ddvm_accel_detect(&accel, &err), 0);
	if (!host_has_virt()) {
		assert_int_equal(accel.kind, DDVM_ACCEL_TCG);
		expect_msg(accel.reason, "no vmx/svm");
		assert_string_equal(ddvm_accel_qemu_arg(&accel), "tcg,thread=multi");
		assert_string_equal(ddvm_accel_name(&accel), "tcg");
	} else if (accel.kind == DDVM_ACCEL_TCG) {
		expect_msg(accel.reason, "KVM probe guest failed");
	} else {
		assert_string_equal(ddvm_accel_qemu_arg(&accel), "kvm");
	}
}

static void test_force_tcg(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;

	setenv("DDVM_ACCEL", "tcg", 1);
	assert_int_equal(ddvm_accel_detect(&accel, &err), 0);
	unsetenv("DDVM_ACCEL");
	assert_int_equal(accel.kind, DDVM_ACCEL_TCG);
	expect_msg(accel.reason, "DDVM_ACCEL=tcg");
	assert_string_equal(ddvm_accel_qemu_arg(&accel), "tcg,thread=multi");
}

static void test_force_bad_value(void **state)
{
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;

	setenv("DDVM_ACCEL", "xen", 1);
	assert_int_equal(ddvm_accel_detect(&accel, &err), -EINVAL);
	unsetenv("DDVM_ACCEL");
	expect_msg(err.msg, "DDVM_ACCEL='xen'");
}

/* DDVM_ACCEL=kvm on a host without usable KVM is an error, not a fallback. */
static void test_force_kvm_without_kvm(void **state)
{
	struct ddvm_accel_env env = {
		.cpuinfo = fake_file("none", CPU_NONE),
		.kvm_dev = "/dev/kvm",
		.force = "kvm",
	};
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;

	assert_int_equal(ddvm_accel_detect_env(&env, &accel, &err), -ENODEV);
	expect_msg(err.msg, "DDVM_ACCEL=kvm");
	expect_msg(err.msg, "no vmx/svm");

	/* CPU flags present but no KVM device */
	env.cpuinfo = fake_file("vmx", CPU_VMX);
	env.kvm_dev = "/nonexistent/kvm";
	assert_int_equal(ddvm_accel_detect_env(&env, &accel, &err), -ENODEV);
	expect_msg(err.msg, "cannot open /nonexistent/kvm");

	/* and the real host, when it is a non-KVM one */
	if (!host_has_virt()) {
		setenv("DDVM_ACCEL", "kvm", 1);
		assert_int_equal(ddvm_accel_detect(&accel, &err), -ENODEV);
		unsetenv("DDVM_ACCEL");
		expect_msg(err.msg, "not usable");
	}
}

/* A device that opens but is not KVM: the probe fails and we stay on TCG. */
static void test_probe_not_kvm(void **state)
{
	struct ddvm_accel_env env = {
		.cpuinfo = fake_file("vmx", CPU_VMX),
		.kvm_dev = "/dev/null",
	};
	struct ddvm_err err = { "" };
	struct ddvm_accel accel;

	assert_int_equal(ddvm_accel_detect_env(&env, &accel, &err), 0);
	assert_int_equal(accel.kind, DDVM_ACCEL_TCG);
	expect_msg(accel.reason, "KVM probe guest failed");
	expect_msg(accel.reason, "KVM_GET_API_VERSION");

	assert_int_equal(ddvm_accel_kvm_probe("/dev/null", 1000, &err), -ENODEV);
	expect_msg(err.msg, "/dev/null");
}

/*
 * Whatever the host's /dev/kvm is, the probe answers within its timeout with
 * a verdict (some hosts have a /dev/kvm that runs this probe yet cannot boot
 * a real guest; that is why the CPU flags are checked first).
 */
static void test_probe_real_dev_is_bounded(void **state)
{
	struct ddvm_err err = { "" };
	struct timespec t0, t1;
	int ret;

	if (access("/dev/kvm", R_OK | W_OK)) {
		print_message("no usable /dev/kvm here; probing it is covered by test_probe_not_kvm\n");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = ddvm_accel_kvm_probe("/dev/kvm", 2000, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 4);
	if (ret)
		assert_true(err.msg[0] != '\0');
	print_message("/dev/kvm probe: %s\n", ret ? err.msg : "ran");
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	const char *names[] = { "vmx", "svm", "none", "noflags" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_flags),
		cmocka_unit_test(test_detect_matches_cpuinfo),
		cmocka_unit_test(test_force_tcg),
		cmocka_unit_test(test_force_bad_value),
		cmocka_unit_test(test_force_kvm_without_kvm),
		cmocka_unit_test(test_probe_not_kvm),
		cmocka_unit_test(test_probe_real_dev_is_bounded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
