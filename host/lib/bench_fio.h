/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The native side of the block benchmark: the shell script that runs fio
 * inside the DD/OS (passed as ddvm.cmd=<base64>), the console protocol it
 * speaks between DDVM-BENCH-BEGIN and DDVM-BENCH-END, and the parser of
 * fio's JSON output.  All pure, so all unit-tested.
 *
 * The DD/OS's init (bench mode) frames the script with DDVM-BENCH-BEGIN
 * and DDVM-BENCH-END <status>; a client VM's init (client mode) with
 * DDVM-CMD-BEGIN and DDVM-CMD-END <status>: the parser takes either, so
 * the same script runs in both.
 *
 * Console lines the script prints, besides the JSON itself:
 *   DDVM-BENCH-MARK start NAME     fio's exec_prerun: the job begins I/O
 *   DDVM-BENCH-MARK end NAME       fio's exec_postrun: the job is done
 *   DDVM-BENCH-JSON NAME STATUS    fio's exit status; its JSON follows
 *   DDVM-BENCH-JSON-END NAME
 */
#ifndef DDVM_BENCH_FIO_H
#define DDVM_BENCH_FIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_engine.h"
#include "err.h"

#define DDVM_BENCH_MARK		"DDVM-BENCH-MARK"
#define DDVM_BENCH_JSON		"DDVM-BENCH-JSON"
#define DDVM_BENCH_JSON_END	"DDVM-BENCH-JSON-END"
#define DDVM_BENCH_BEGIN	"DDVM-BENCH-BEGIN"
#define DDVM_BENCH_END		"DDVM-BENCH-END"
#define DDVM_BENCH_CMD_BEGIN	"DDVM-CMD-BEGIN"	/* a client VM's init */
#define DDVM_BENCH_CMD_END	"DDVM-CMD-END"

/* The kernel's command line holds at most this many bytes (x86 COMMAND_LINE_SIZE - 1). */
#define DDVM_KERNEL_CMDLINE_MAX	2047

struct ddvm_bench_fio_opts {
	const char *dev;	/* /dev/vda, ... */
	uint64_t size;		/* bytes of the device to use */
	unsigned int ramp;	/* seconds */
	unsigned int runtime;	/* seconds */
	const char *ioengine;	/* "libaio" */
};

/**
 * ddvm_bench_fio_script - the guest shell script that runs @n workloads
 *	with fio, one process each, and prints them in the console protocol.
 * @buf: where to write (NUL-terminated)
 * @len: size of @buf
 * @o:   device, size, times
 * @w:   the workloads
 * @n:   how many
 *
 * Return: the script's length, or -ENOSPC when @buf is too small.
 */
int ddvm_bench_fio_script(char *buf, size_t len, const struct ddvm_bench_fio_opts *o,
			  const struct ddvm_bench_workload *w, unsigned int n);

/**
 * ddvm_base64 - standard base64 (with padding) of @in.
 * @out: where to write, NUL-terminated; needs 4 * ceil(@len / 3) + 1 bytes
 * @cap: size of @out
 * @in:  the data
 * @len: its length
 *
 * Return: the encoded length, or -ENOSPC.
 */
int ddvm_base64(char *out, size_t cap, const void *in, size_t len);

/**
 * ddvm_bench_fio_parse - read one workload's result from fio's JSON output.
 * @json:    the text (fio's own warnings before the first '{' are skipped)
 * @len:     its length
 * @w:       the workload it ran (a read or a write side is taken)
 * @res:     filled (valid; no CPU fields) on success
 * @version: if not NULL, fio's version string ("fio-3.33"), @version_len bytes
 * @version_len: size of @version
 * @err:     says what is missing or wrong
 *
 * Return: 0, -EINVAL for text that is not fio JSON, -EIO when fio reports
 * an error for the job.
 */
int ddvm_bench_fio_parse(const char *json, size_t len, const struct ddvm_bench_workload *w,
			 struct ddvm_bench_result *res, char *version, size_t version_len,
			 struct ddvm_err *err);

enum ddvm_bench_ev_kind {
	DDVM_BENCH_EV_NONE,	/* an ordinary console line (or JSON being collected) */
	DDVM_BENCH_EV_BEGIN,	/* the script starts */
	DDVM_BENCH_EV_START,	/* workload @name begins I/O */
	DDVM_BENCH_EV_STOP,	/* workload @name is done with I/O */
	DDVM_BENCH_EV_JSON,	/* @json (@json_len bytes) is @name's fio output; fio exited @status */
	DDVM_BENCH_EV_END,	/* the script exited @status */
	DDVM_BENCH_EV_FAIL,	/* the guest init failed: @msg */
};

struct ddvm_bench_event {
	enum ddvm_bench_ev_kind kind;
	char name[32];
	int status;
	const char *json;	/* valid until the next ddvm_bench_console_line() */
	size_t json_len;
	const char *msg;	/* points into the line given */
};

/* State of the console parser; zero it to start, ddvm_bench_console_free() at the end. */
struct ddvm_bench_console {
	bool in_json;
	char name[32];
	int status;
	char *json;
	size_t len, cap;
	bool overflow;
};

#define DDVM_BENCH_JSON_MAX	(1 << 20)

/**
 * ddvm_bench_console_line - feed one console line (without its newline;
 *	a trailing '\r' is ignored).
 * @c:    the parser
 * @line: the line, NUL-terminated
 * @ev:   what the line meant
 *
 * Return: 0, or -ENOMEM / -EFBIG (JSON over DDVM_BENCH_JSON_MAX).
 */
int ddvm_bench_console_line(struct ddvm_bench_console *c, const char *line,
			    struct ddvm_bench_event *ev);

void ddvm_bench_console_free(struct ddvm_bench_console *c);

#endif /* DDVM_BENCH_FIO_H */
