// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the restart policy and of its config: defaults, backoff, the window, bad values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "qemu_args.h"
#include "restart.h"

static struct ddvm_config cfg;

static int parse(const char *json, struct ddvm_err *err)
{
	memset(err, 0, sizeof(*err));
	return ddvm_config_parse(&cfg, json, strlen(json), "t.json", err);
}

#define D(body) "{\"domains\":[{\"name\":\"d\",\"disk\":{}" body "}]}"

static void test_config_defaults(void **state)
{
	const struct ddvm_restart_cfg *r = &cfg.domains[0].restart;
	struct ddvm_err err;

	assert_int_equal(parse(D(""), &err), 0);
	assert_int_equal(cfg.domains[0].hang_timeout, 3);
	assert_false(cfg.domains[0].warm_spare);
	assert_int_equal(r->max_attempts, 5);
	assert_int_equal(r->window, 60);
	assert_int_equal(r->backoff_ms, 0);
	assert_int_equal(r->backoff_max_ms, 5000);
}

static void test_config_values(void **state)
{
	const struct ddvm_restart_cfg *r = &cfg.domains[0].restart;
	struct ddvm_err err;

	assert_int_equal(parse(D(", \"hang_timeout\": 7, \"warm_spare\": true, \"restart\": "
				 "{\"max_attempts\": 2, \"window\": 10, \"backoff_ms\": 100, "
				 "\"backoff_max_ms\": 300}"), &err), 0);
	assert_int_equal(cfg.domains[0].hang_timeout, 7);
	assert_true(cfg.domains[0].warm_spare);
	assert_int_equal(r->max_attempts, 2);
	assert_int_equal(r->window, 10);
	assert_int_equal(r->backoff_ms, 100);
	assert_int_equal(r->backoff_max_ms, 300);
	/* a first delay beyond the default cap raises the cap with it */
	assert_int_equal(parse(D(", \"restart\": {\"backoff_ms\": 8000}"), &err), 0);
	assert_int_equal(r->backoff_max_ms, 8000);
}

static void expect_error(const char *json, const char *want)
{
	struct ddvm_err err;

	assert_int_equal(parse(json, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("message lacks \"%s\": %s", want, err.msg);
}

static void test_config_errors(void **state)
{
	expect_error(D(", \"restart\": {\"max_attempt\": 1}"), "max_attempt");
	expect_error(D(", \"restart\": {\"window\": 0}"), "restart.window");
	expect_error(D(", \"restart\": {\"backoff_ms\": 500, \"backoff_max_ms\": 100}"),
		     "backoff_max_ms");
	expect_error(D(", \"restart\": 3"), "restart");
	expect_error(D(", \"hang_timeout\": 0"), "hang_timeout");
	expect_error(D(", \"warm_spare\": 1"), "warm_spare");
	expect_error("{\"domains\":[{\"name\":\"n\",\"nic\":{},\"warm_spare\":true}]}",
		     "warm_spare");
}

static void test_decide(void **state)
{
	struct ddvm_restart_cfg p = { .max_attempts = 3, .window = 10, .backoff_ms = 0,
				      .backoff_max_ms = 5000 };
	long long at[4] = { 1000, 2000, 3000 }, delay;
	unsigned int w;

	/* no history: at once */
	assert_true(ddvm_restart_decide(&p, at, 0, 5000, &delay, &w));
	assert_int_equal(delay, 0);
	assert_int_equal(w, 0);
	/* two in the window: still allowed, still at once without backoff */
	assert_true(ddvm_restart_decide(&p, at, 2, 5000, &delay, &w));
	assert_int_equal(w, 2);
	assert_int_equal(delay, 0);
	/* three in the window: give up */
	assert_false(ddvm_restart_decide(&p, at, 3, 5000, &delay, &w));
	assert_int_equal(w, 3);
	/* the window slides: the first fell out 10 s later */
	assert_true(ddvm_restart_decide(&p, at, 3, 11000, &delay, &w));
	assert_int_equal(w, 2);
	/* max_attempts 0: never */
	p.max_attempts = 0;
	assert_false(ddvm_restart_decide(&p, at, 0, 5000, &delay, &w));
}

static void test_backoff(void **state)
{
	struct ddvm_restart_cfg p = { .max_attempts = 100, .window = 60, .backoff_ms = 100,
				      .backoff_max_ms = 700 };
	long long at[DDVM_RESTART_HISTORY], delay;
	unsigned int w, i;

	for (i = 0; i < DDVM_RESTART_HISTORY; i++)
		at[i] = 1000 + i;
	assert_true(ddvm_restart_decide(&p, at, 0, 2000, &delay, &w));
	assert_int_equal(delay, 100);
	assert_true(ddvm_restart_decide(&p, at, 1, 2000, &delay, &w));
	assert_int_equal(delay, 200);
	assert_true(ddvm_restart_decide(&p, at, 2, 2000, &delay, &w));
	assert_int_equal(delay, 400);
	assert_true(ddvm_restart_decide(&p, at, 3, 2000, &delay, &w));
	assert_int_equal(delay, 700);
	/* many restarts: capped, no overflow; more than the history counts as the history */
	assert_true(ddvm_restart_decide(&p, at, 1000, 2000, &delay, &w));
	assert_int_equal(delay, 700);
	assert_int_equal(w, DDVM_RESTART_HISTORY);
}

/* The spare's QEMU: its own sockets, ddvm.spare=1, and no image lock for either. */
static void test_spare_argv(void **state)
{
	struct ddvm_accel tcg = { .kind = DDVM_ACCEL_TCG };
	struct ddvm_argv a;
	struct ddvm_err err;
	char line[4096];

	assert_int_equal(parse("{\"run_dir\":\"/r\",\"domains\":[{\"name\":\"d\",\"disk\":"
			       "{\"image\":\"/i\"},\"warm_spare\":true}]}", &err), 0);
	assert_int_equal(ddvm_qemu_argv_spare(&a, &cfg, &cfg.domains[0], &tcg, "/r", &err), 0);
	ddvm_argv_format(&a, line, sizeof(line));
	assert_non_null(strstr(line, "unix:/r/d/spare-qmp.sock,"));
	assert_non_null(strstr(line, "unix:/r/d/spare-qmp-tools.sock,"));
	assert_non_null(strstr(line, "path=/r/d/spare-inject.sock,"));
	assert_non_null(strstr(line, " ddvm.spare=1 "));
	assert_non_null(strstr(line, "file.locking=off"));
	ddvm_argv_free(&a);
	assert_int_equal(ddvm_qemu_argv(&a, &cfg, &cfg.domains[0], &tcg, "/r", &err), 0);
	ddvm_argv_format(&a, line, sizeof(line));
	assert_non_null(strstr(line, "unix:/r/d/qmp.sock,"));
	assert_null(strstr(line, "spare"));
	assert_non_null(strstr(line, "file.locking=off"));
	ddvm_argv_free(&a);
	/* the hub lets the spare join beside the server and the client */
	assert_int_equal(ddvm_hub_argv(&a, &cfg, "ddvm", 3, NULL, "/r", &err), 0);
	ddvm_argv_format(&a, line, sizeof(line));
	assert_non_null(strstr(line, "--max-peers 3"));
	ddvm_argv_free(&a);
}

/* The example config of the README's fault section loads as documented. */
static void test_example_config(void **state)
{
	struct ddvm_err err;

	if (ddvm_config_load(&cfg, "configs/spare.json", &err))
		fail_msg("%s (run from the repository root)", err.msg);
	assert_string_equal(cfg.domains[0].name, "disk0");
	assert_true(cfg.domains[0].warm_spare);
	assert_int_equal(cfg.domains[0].restart.max_attempts, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_spare_argv),
		cmocka_unit_test(test_example_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
