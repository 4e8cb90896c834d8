/* SPDX-License-Identifier: GPL-2.0 */
/*
 * RUN/state.json: the supervisor's view of its domains, rewritten
 * atomically (temporary file + rename) after every change, and read by
 * "ddvm status", "ddvm down" and clients looking for channel sockets.
 *
 * {
 *   "version": 1,
 *   "supervisor_pid": 1234,          0 once it has stopped
 *   "running": true,                 false in the last state it writes
 *   "started_at": 1700000000,        unix seconds
 *   "updated_at": 1700000002,
 *   "run_dir": "/abs/run",
 *   "config": "configs/x.json",      or "(built-in defaults)"
 *   "accel": "tcg",  "accel_reason": "no vmx/svm in /proc/cpuinfo",
 *   "hub": { "pid": 1235, "state": "running|stopped|failed",
 *            "socket_dir": "/abs/run/hub", "log": "/abs/run/hub.log",
 *            "last_error": "" },
 *   "domains": [ {
 *       "name": "disk0",
 *       "state": "booting|serving|restarting|failed|stopped",
 *                                    failed: boots or restarts used up (last_error)
 *       "qemu_pid": 1240,            0 when no QEMU runs
 *       "boots": 1,                  QEMU processes started
 *       "boot_failures": 0,          boots that never reached DDVM-READY
 *       "restarts": 0,               recoveries of a serving domain that died
 *       "last_boot_ms": 2100,        QEMU start to DDVM-READY, last success
 *       "restart_causes": { "qemu-exit": 0, "panic": 1, "hang": 0, "watchdog": 0,
 *                           "device-failed": 0, "guest-fail": 0 },
 *       "last_restart_cause": "panic",   "" before any restart
 *       "restart_ready_ms": { "count": 1, "median_ms": 420, "worst_ms": 420 },
 *                                    failure detected to DDVM-READY again
 *       "restart_run_ms": { "count": 1, ... },  detected to every client that
 *                                    was laid out back in RUN (new generation)
 *       "restart_times_by_cause": { "panic": { "ready": {..}, "run": {..} } },
 *       "restart_log": [ { "cause": "panic", "ready_ms": 420, "run_ms": 450 } ],
 *                                    the last 64 restarts; -1: not seen
 *       "spare": { "pid": 1250, "state": "none|booting|ready|failed",   warm_spare only
 *                  "boots": 2, "failures": 0 },
 *       "restart_policy": { "max_attempts": 5, "window": 60, "backoff_ms": 0,
 *                           "backoff_max_ms": 5000, "hang_timeout": 3 },
 *       "controller": "virtio-blk", "device": "/dev/vda",   with a disk only
 *       "image": "/abs/var/disk0.img",
 *       "nic": { "model": "e1000", "mac": "02:dd:..",        with a NIC only
 *                "tap": "dd-net0", "netns": "ddvm-remote", "address": "10.77.0.1/24",
 *                "wire": "none|pending|up|failed" },
 *       "memory": 201326592, "cpus": 1,
 *       "console": "/abs/run/disk0/console.log",
 *       "qmp": "/abs/run/disk0/qmp.sock",
 *       "channels": [ { "name": "c0", "kind": "blk|net", "size": 67108864,
 *                       "socket": "/abs/run/hub/disk0.c0.sock",
 *                       "pci": "0000:00:10.0",
 *                       "mac": "02:dd:..",                   net: the client's
 *                       live from the region (chanmon.h), refreshed every second:
 *                       "server": { "state": "none" } before any server, else
 *                                 { "state": "down|wait|run|error|failed|stopped",
 *                                   "type": "blk|net", "version": 1,
 *                                   "generation": 2, "heartbeat": 812,
 *                                   "heartbeat_age_ms": 300,  since it last moved
 *                                   "error": "none|layout|...", "completed": 0,
 *                                   "net": { "mac", "mtu", "link_up", "rx_frames",
 *                                            "rx_dropped", "tx_frames",
 *                                            "tx_dropped", "ifname", "driver" },
 *                                   "blk": { "export", "driver", "capacity",
 *                                            "block_size" } },
 *                       "client": { "state": "absent|none|ready|reset",
 *                                   "generation": 2 } } ],
 *       "last_error": "" } ],
 *   "netns_created": [ "ddvm-remote" ],  made by this supervisor; removed at
 *                                        its end (or the next one's start)
 *   "vms": [ {                           client VMs (config "vms"), if any
 *       "name": "vm0",
 *       "state": "waiting|bridges|booting|running|exited|failed|stopped",
 *                                    waiting: for its domains to serve; bridges:
 *                                    for its bridges' sockets; exited: QEMU ended
 *                                    after it ran (never restarted); failed: it
 *                                    never ran (last_error says why)
 *       "qemu_pid": 1300,  "started_at": 1700000005,   unix s of QEMU's start
 *       "boot_ms": 8100,             QEMU start to DDVM-READY; -1 not (yet)
 *       "exit_status": 0,            QEMU's, 128+N for signal N; -1 while it runs
 *       "memory": 402653184, "cpus": 1, "kernel": "/abs/..", "initrd": "/abs/..",
 *       "console": "/abs/run/vm0/console.log", "shell": "/abs/run/vm0/shell.sock",
 *       "qmp": "/abs/run/vm0/qmp.sock",
 *       "run": { "script": "/abs/t.sh",                 with "run" only
 *                "state": "not started|running|done", "exit_status": 0 },  -1 until done
 *       "disks": [ { "channel": "disk0.c0", "via": "nbd|front",
 *                    "guest": "/dev/vda",             or /dev/ddvmblkN (front)
 *                    "socket": "/abs/run/vm0/d0.nbd",  the hub's for front
 *                    "bridge": { "pid": 1290,          not for front
 *                                "state": "starting|running|restarting|failed|stopped",
 *                                "starts": 1, "restarts": 0,
 *                                "log": "/abs/run/vm0/d0.log", "last_error": "" } } ],
 *       "nics": [ { as disks, "via": "stream|front", "guest": "eth0" or "ddvmnetN",
 *                   "mac": "02:dd:..", "address": "10.77.0.11/24" } ],
 *       "last_error": "" } ]
 * }
 *
 * Every string from a region is cut and made printable ASCII before it
 * gets here; enums out of range read "?N".
 */
#ifndef DDVM_STATE_H
#define DDVM_STATE_H

#include <jansson.h>

#include "err.h"

#define DDVM_STATE_VERSION	1

/**
 * ddvm_state_save - replace RUN/state.json with @state atomically, so a
 *	reader never sees a half-written file.
 * @run_dir: the run directory
 * @state:   the state object
 * @err:     names the file on failure
 *
 * Return: 0 or -errno.
 */
int ddvm_state_save(const char *run_dir, json_t *state, struct ddvm_err *err);

/**
 * ddvm_state_load - read RUN/state.json.
 * @run_dir: the run directory
 * @out:     the state object (caller json_decrefs)
 * @err:     names the file and what is wrong with it
 *
 * Return: 0, -ENOENT when there is none, -EINVAL when it is not a state
 * file this version understands, or -errno.
 */
int ddvm_state_load(const char *run_dir, json_t **out, struct ddvm_err *err);

/**
 * ddvm_json_string - a JSON string of @s for state.json, which must stay
 *	valid JSON whatever bytes a path given on the command line holds:
 *	text that is not UTF-8 is stored with its non-ASCII bytes as '?'
 *	rather than dropped.
 * @s: the text
 *
 * Return: a new reference, or NULL when out of memory.
 */
json_t *ddvm_json_string(const char *s);

/**
 * ddvm_state_format - @state as a compact table for people: one line for
 *	the supervisor and hub, one per domain (its wire and last error
 *	below it), then one per channel with what its region said, then the
 *	client VMs with their disks, NICs and bridges.
 * @state: the state object
 * @live:  whether its supervisor is alive; if not, the header says whether
 *	   it stopped cleanly or died (the state then being stale), and no
 *	   QEMU pids are shown
 *
 * Return: the text (caller frees), or NULL when out of memory.
 */
char *ddvm_state_format(json_t *state, int live);

#endif /* DDVM_STATE_H */
