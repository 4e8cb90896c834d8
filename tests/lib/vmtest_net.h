/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for VM tests of the net path: a NIC domain under the real
 * supervisor wired into a private "remote host" namespace, clients as TAP
 * adapters (`ddvm net tap`) in private namespaces, sockets made inside a
 * namespace, a verified TCP transfer and a frame sniffer.  Plain C
 * returning 0/-errno with a reason in a buffer, so no assertion fires on a
 * helper thread; every namespace and process is the test's own and goes
 * away in vmtest_net_down(), on SIGTERM/SIGINT too.
 */
#ifndef DDVM_VMTEST_NET_H
#define DDVM_VMTEST_NET_H

#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmtest.h"

#define VMTEST_NET_CLIENTS	2
#define VMTEST_NS_MAX		32	/* the supervisor's limit for wire.netns */

struct vmtest_net_client {
	char chan[8];			/* channel name: c0, c1 */
	char netns[VMTEST_NS_MAX + 1];	/* where its interface lives */
	char ifname[16];
	char addr[20];			/* IPv4, no prefix */
	uint8_t mac[6];			/* the channel's, as the interface carries it */
	bool netns_made;
	bool plain;			/* the adapter runs with --no-offload */
	pid_t tap_pid;			/* the adapter, 0 when not running */
	char tap_log[160];		/* the adapter's stdout and stderr */
};

struct vmtest_net {
	struct vmtest vm;
	bool vm_made;			/* vm.dir exists: `ddvm down` it */
	char domain[13];		/* also names the tap: dd-DOMAIN, 15 at most */
	char model[16];
	char remote_ns[VMTEST_NS_MAX + 1];	/* the wire's namespace, the supervisor's */
	char remote_if[16];		/* dd-DOMAIN, moved into remote_ns */
	char remote_addr[20];
	uint8_t remote_mac[6];
	unsigned int nr_clients;
	struct vmtest_net_client c[VMTEST_NET_CLIENTS];
	char why[4096];			/* what went wrong */
};

/*
 * vmtest_net_up - boot one NIC domain of @model with @nr_clients clients
 * (c0, c1, ...), its wire in a namespace of its own with 10.79.@subnet.1/24.
 * Names carry the pid and @tag, so concurrent runs never meet.  Clients are
 * not started.  Return: 0 or -errno, n->why saying why.
 */
int vmtest_net_up(struct vmtest_net *n, const char *model, unsigned int subnet, char tag,
		  unsigned int nr_clients);

/*
 * vmtest_net_down - stop the adapters, delete the client namespaces, `ddvm
 * down`; the remote namespace must be gone then (the supervisor removes
 * what it made), else it is removed here and -EEXIST returned.  Removes the
 * temp dir unless @keep.  Safe on a half-made @n, and to call twice.
 * Return: 0 or -errno, n->why saying why.
 */
int vmtest_net_down(struct vmtest_net *n, bool keep);

/*
 * vmtest_net_cleanup - a fixture's end: vmtest_net_down(), keeping the temp
 * dir (console and adapter logs) when the test did not pass; says on
 * stderr what went wrong and what was kept.
 */
void vmtest_net_cleanup(struct vmtest_net *n, bool passed);

/* The hub socket of client @i's channel, in @buf. */
const char *vmtest_net_sock(const struct vmtest_net *n, unsigned int i, char *buf, size_t len);

/*
 * vmtest_net_client_start - run `ddvm net tap` for client @i in its own
 * namespace (made on first use), wait for its "ready", give the interface
 * its address and read its MAC.  Return: 0 or -errno, n->why saying why.
 */
int vmtest_net_client_start(struct vmtest_net *n, unsigned int i);

/*
 * vmtest_net_client_stop - SIGTERM the adapter and wait for it (up to 5 s,
 * then SIGKILL).  Return: its exit status (0 for a clean stop), or -errno.
 */
int vmtest_net_client_stop(struct vmtest_net *n, unsigned int i);

/*
 * vmtest_netns_socket - socket(@domain, @type, @proto) inside network
 * namespace @ns (a name under /run/netns); the calling thread comes back
 * to its own namespace.  Return: the fd or -errno.
 */
int vmtest_netns_socket(const char *ns, int domain, int type, int proto);

/*
 * vmtest_netns_if_ioctl - ioctl @req on @ifr (its name already set) from a
 * socket in namespace @ns: SIOCGIFFLAGS, SIOCETHTOOL...  Return: 0 or -errno.
 */
int vmtest_netns_if_ioctl(const char *ns, unsigned long req, struct ifreq *ifr);

/* A NIC's link comes up a while after its driver loads; its clients' carrier follows. */
#define VMTEST_CARRIER_MS	15000

/* Wait until @ifname in @ns is IFF_RUNNING (up with carrier).  Return: 0 or -errno. */
int vmtest_netns_wait_running(const char *ns, const char *ifname, int ms);

/* ifindex and MAC of @ifname in @ns.  Return: 0 or -errno. */
int vmtest_netns_ifinfo(const char *ns, const char *ifname, int *ifindex, uint8_t mac[6]);

/*
 * vmtest_ping - @count echo requests from namespace @ns to @addr, 0.2 s
 * apart.  Return: 0 if every one was answered, else -EIO with ping's
 * output in @out.
 */
int vmtest_ping(const char *ns, const char *addr, unsigned int count, char *out, size_t len);

/* TCP segments namespace @ns dropped for a bad checksum (/proc/net/snmp).  Return: 0 or -errno. */
int vmtest_tcp_csum_errors(const char *ns, uint64_t *count);

/* A TCP transfer of pattern data (host/lib/pattern.h) and what arrived. */
struct vmtest_xfer {
	uint64_t sent;
	uint64_t received;
	uint64_t first_bad;	/* stream offset of the first wrong byte, UINT64_MAX if none */
	int64_t ms;		/* connect to the receiver's end of stream */
	char why[256];		/* a socket error, on either side */
	uint64_t progress;	/* atomic: bytes checked so far, for a watcher on another thread */
};

/*
 * Seconds any one send/recv/accept of a transfer may block (default 20): a
 * test that stalls a stream on purpose (a DD/OS restarting, TCP backing off
 * its retransmits) sets it higher.
 */
extern int vmtest_net_sock_timeout_s;

/*
 * vmtest_tcp_transfer - send @bytes (a multiple of 8) of the pattern of
 * @seed from a socket in @from_ns to a listener on @to_addr in @to_ns,
 * which checks every byte as it arrives.  Every socket call is bounded.
 * Return: 0 if all arrived intact, else -EIO (@x says what happened).
 */
int vmtest_tcp_transfer(const char *from_ns, const char *to_ns, const char *to_addr,
			uint64_t bytes, uint64_t seed, struct vmtest_xfer *x);

/*
 * A sniffer: a promiscuous packet socket on one interface, counting on a
 * thread what the interface receives (frames it sends are not counted).
 */
struct vmtest_sniffer {
	int fd;
	pthread_t thread;
	bool running;
	bool stop;			/* atomic: set by vmtest_sniff_stop() */
	uint8_t own[6];			/* the interface's own address */
	uint8_t watch[6];		/* frames to this destination are counted apart */
	uint16_t marker_type;		/* frames of this ethertype ... */
	char marker[32];		/* ... starting with this payload, too */
	uint64_t frames;
	uint64_t to_watch;		/* destination == watch */
	uint64_t foreign;		/* unicast, not to own (to_watch included) */
	uint64_t markers;
	int error;			/* -errno of a failed recv */
};

/*
 * vmtest_sniff_start - count what @ifname in @ns receives until
 * vmtest_sniff_stop(); @own, @watch and the marker as in struct
 * vmtest_sniffer (@marker NULL: none).  Return: 0 or -errno.
 */
int vmtest_sniff_start(struct vmtest_sniffer *s, const char *ns, const char *ifname,
		       const uint8_t own[6], const uint8_t watch[6], uint16_t marker_type,
		       const char *marker);

/* Stop the thread and close the socket; the counts stay.  Return: s->error. */
int vmtest_sniff_stop(struct vmtest_sniffer *s);

/* Open a packet socket on @ifname in @ns for ethertype @proto.  Return: fd or -errno. */
int vmtest_packet_socket(const char *ns, const char *ifname, uint16_t proto, int *ifindex);

#endif /* DDVM_VMTEST_NET_H */
