// SPDX-License-Identifier: GPL-2.0
/* A net channel as a TAP interface, and the loop that moves frames (see tap.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

#define DDVM_NETNS_DIR		"/var/run/netns"
#define DDVM_TAP_DEFAULT_NAME	"ddvm%d"
/* look at the NIC's carrier and the server at least this often */
#define DDVM_TAP_TICK_MS	1000
/* what a tap with offloads takes from the host stack: what ddvm_net_send_hdr passes */
#define DDVM_TAP_OFFLOADS	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)

struct ddvm_tap {
	int fd;			/* the tap queue, non-blocking */
	int ctl;		/* a socket in the tap's namespace, for its ioctls */
	char ifname[IFNAMSIZ];
	int carrier;		/* -1 unknown, 0, 1 */
	bool vnet_hdr;		/* frames on the fd start with a struct ddvm_net_hdr */
	int offload;		/* -1 unknown, 0, 1: TUNSETOFFLOAD as last set */
};

static int ddvm_tap_ifreq(struct ddvm_tap *tap, unsigned long req, struct ifreq *ifr,
			  const char *what, struct ddvm_err *err)
{
	memcpy(ifr->ifr_name, tap->ifname, IFNAMSIZ);
	if (ioctl(tap->ctl, req, ifr))
		return ddvm_errf(err, -errno, "%s %s: %m", what, tap->ifname);
	return 0;
}

int ddvm_tap_set_mac(struct ddvm_tap *tap, const uint8_t mac[6], struct ddvm_err *err)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	return ddvm_tap_ifreq(tap, SIOCSIFHWADDR, &ifr, "setting the MAC address of", err);
}

int ddvm_tap_set_mtu(struct ddvm_tap *tap, uint32_t mtu, struct ddvm_err *err)
{
	struct ifreq ifr = { 0 };

	ifr.ifr_mtu = (int)mtu;
	return ddvm_tap_ifreq(tap, SIOCSIFMTU, &ifr, "setting the MTU of", err);
}

int ddvm_tap_set_carrier(struct ddvm_tap *tap, bool on)
{
	int v = on;

	if (tap->carrier == v)
		return 0;
	if (ioctl(tap->fd, TUNSETCARRIER, &v) && errno != EINVAL && errno != ENOTTY)
		return -errno;
	tap->carrier = v;
	return 0;
}

int ddvm_tap_set_offload(struct ddvm_tap *tap, bool on)
{
	if (!tap->vnet_hdr)
		return -EINVAL;
	if (tap->offload == on)
		return 0;
	if (ioctl(tap->fd, TUNSETOFFLOAD, on ? DDVM_TAP_OFFLOADS : 0))
		return -errno;
	tap->offload = on;
	return 0;
}

static int ddvm_tap_up(struct ddvm_tap *tap, struct ddvm_err *err)
{
	struct ifreq ifr = { 0 };
	int ret;

	ret = ddvm_tap_ifreq(tap, SIOCGIFFLAGS, &ifr, "reading the flags of", err);
	if (ret)
		return ret;
	ifr.ifr_flags |= IFF_UP;
	return ddvm_tap_ifreq(tap, SIOCSIFFLAGS, &ifr, "bringing up", err);
}

/* Everything that must happen in the interface's namespace. */
static int ddvm_tap_create(struct ddvm_tap *tap, const struct ddvm_tap_opts *o,
			   struct ddvm_err *err)
{
	const char *name = o->ifname && *o->ifname ? o->ifname : DDVM_TAP_DEFAULT_NAME;
	struct ifreq ifr = { 0 };
	int ret;

	if (strlen(name) >= IFNAMSIZ || strchr(name, '/') || strchr(name, ' '))
		return ddvm_errf(err, -EINVAL, "bad interface name \"%s\" (at most %d characters)",
				 name, IFNAMSIZ - 1);
	/* a tun file belongs to the namespace it was opened in: open it here */
	tap->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tap->fd < 0)
		return ddvm_errf(err, -errno, "/dev/net/tun: %m (tun module loaded? CAP_NET_ADMIN?)");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (o->plain ? 0 : IFF_VNET_HDR);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(tap->fd, TUNSETIFF, &ifr))
		return ddvm_errf(err, -errno, "creating tap %s: %m%s", name,
				 errno == EBUSY ? " (an interface of that name exists)" : "");
	memcpy(tap->ifname, ifr.ifr_name, IFNAMSIZ);
	tap->ifname[IFNAMSIZ - 1] = '\0';
	if (!o->plain) {
		int hdr_len = DDVM_NET_HDR_LEN;	/* virtio_net_hdr_v1's size, not the legacy 10 */

		if (ioctl(tap->fd, TUNSETVNETHDRSZ, &hdr_len))
			return ddvm_errf(err, -errno, "tap %s: TUNSETVNETHDRSZ: %m", tap->ifname);
		tap->vnet_hdr = true;
	}
	tap->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tap->ctl < 0)
		return ddvm_errf(err, -errno, "socket for interface ioctls: %m");
	ret = ddvm_tap_set_mac(tap, o->mac, err);
	if (!ret)
		ret = ddvm_tap_set_mtu(tap, o->mtu, err);
	if (!ret)
		ret = ddvm_tap_up(tap, err);
	return ret;
}

/* Open the namespace @name for setns(); -errno naming it if there is none. */
static int ddvm_netns_open(const char *name, struct ddvm_err *err)
{
	char path[sizeof(DDVM_NETNS_DIR) + NAME_MAX + 1];
	int fd;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) > NAME_MAX)
		return ddvm_errf(err, -EINVAL, "bad network namespace name \"%.80s\"", name);
	snprintf(path, sizeof(path), DDVM_NETNS_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ddvm_errf(err, -errno, "network namespace %s: %s: %m%s", name, path,
				 errno == ENOENT ? " (create it with ip netns add)" : "");
	return fd;
}

int ddvm_tap_open(const struct ddvm_tap_opts *o, struct ddvm_tap **out, struct ddvm_err *err)
{
	int self = -1, ns = -1, ret;
	struct ddvm_tap *tap;

	tap = calloc(1, sizeof(*tap));
	if (!tap)
		return ddvm_errf(err, -ENOMEM, "out of memory");
	tap->fd = tap->ctl = -1;
	tap->carrier = -1;
	tap->offload = -1;
	if (o->netns) {
		ns = ddvm_netns_open(o->netns, err);
		if (ns < 0) {
			ret = ns;
			goto out_free;
		}
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (self < 0) {
			ret = ddvm_errf(err, -errno, "/proc/self/ns/net: %m");
			goto out_free;
		}
		/* only this thread moves, and only while it creates the interface */
		if (setns(ns, CLONE_NEWNET)) {
			ret = ddvm_errf(err, -errno, "entering network namespace %s: %m", o->netns);
			goto out_free;
		}
	}
	ret = ddvm_tap_create(tap, o, err);
	if (self >= 0 && setns(self, CLONE_NEWNET)) {
		/* we cannot stay in the wrong namespace, whatever else happened */
		ret = ddvm_errf(err, -errno, "returning from network namespace %s: %m", o->netns);
	}
	if (ret)
		goto out_free;
	close(self);
	close(ns);
	*out = tap;
	return 0;

out_free:
	if (self >= 0)
		close(self);
	if (ns >= 0)
		close(ns);
	ddvm_tap_close(tap);
	return ret;
}

void ddvm_tap_close(struct ddvm_tap *tap)
{
	if (!tap)
		return;
	if (tap->ctl >= 0)
		close(tap->ctl);
	if (tap->fd >= 0)
		close(tap->fd);	/* the interface goes with its last queue */
	free(tap);
}

const char *ddvm_tap_ifname(const struct ddvm_tap *tap)
{
	return tap->ifname;
}

int ddvm_tap_fd(const struct ddvm_tap *tap)
{
	return tap->fd;
}

/* ------------------------------------------------------------ the adapter */

struct ddvm_tap_loop {
	struct ddvm_net *net;
	struct ddvm_tap *tap;
	struct ddvm_tap_stats *st;
	uint8_t *txb, *rxb;		/* DDVM_TAP_BATCH buffers of slot bytes each */
	size_t slot;			/* a frame, with its header if the tap has them */
	struct iovec pending[DDVM_TAP_BATCH];	/* read from the tap, not yet queued */
	int nr_pending, first_pending;
	bool tap_watched;		/* EPOLLIN on the tap fd */
	int epfd;
	uint64_t generations;		/* of the server info we applied */
};

/* Channel -> tap: drain the RX ring a batch at a time.  Return: 0 or -errno. */
static int ddvm_tap_from_chan(struct ddvm_tap_loop *l)
{
	struct iovec iov[DDVM_TAP_BATCH];
	int n, i;

	do {
		for (i = 0; i < DDVM_TAP_BATCH; i++)
			iov[i] = (struct iovec){ l->rxb + (size_t)i * l->slot, l->slot };
		n = l->tap->vnet_hdr ? ddvm_net_recv_hdr(l->net, iov, DDVM_TAP_BATCH) :
				       ddvm_net_recv(l->net, iov, DDVM_TAP_BATCH);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			/* a tap takes a whole frame per write, or refuses it */
			if (write(l->tap->fd, iov[i].iov_base, iov[i].iov_len) < 0)
				l->st->write_errors++;
			else
				l->st->from_chan++;
		}
	} while (n == DDVM_TAP_BATCH);
	return 0;
}

/* Queue what we read from the tap and the channel did not take yet. */
static void ddvm_tap_flush_pending(struct ddvm_tap_loop *l)
{
	int n;

	while (l->nr_pending) {
		n = l->tap->vnet_hdr ?
		    ddvm_net_send_hdr(l->net, l->pending + l->first_pending, l->nr_pending) :
		    ddvm_net_send(l->net, l->pending + l->first_pending, l->nr_pending);
		if (n == -EINVAL || n == -EMSGSIZE) {
			/* a frame the channel cannot carry: drop it, as a NIC would */
			l->st->refused++;
			n = 1;
		} else if (n <= 0) {
			l->st->tx_waits++;
			return;		/* ring full, or no server: keep them */
		} else {
			l->st->to_chan += (uint64_t)n;
		}
		l->first_pending += n;
		l->nr_pending -= n;
	}
}

/* Tap -> channel: read a batch (if the ring took the last one), then send it at once. */
static int ddvm_tap_to_chan(struct ddvm_tap_loop *l, struct ddvm_err *err)
{
	ssize_t len;
	int n = 0;

	if (!l->nr_pending) {
		while (n < DDVM_TAP_BATCH) {
			len = read(l->tap->fd, l->txb + (size_t)n * l->slot, l->slot);
			if (len < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				return ddvm_errf(err, -errno, "reading tap %s: %m", l->tap->ifname);
			}
			l->pending[n].iov_base = l->txb + (size_t)n * l->slot;
			l->pending[n].iov_len = (size_t)len;
			n++;
		}
		l->first_pending = 0;
		l->nr_pending = n;
	}
	ddvm_tap_flush_pending(l);
	return 0;
}

/* Follow the NIC: carrier always, MAC and MTU when a new server says otherwise. */
static void ddvm_tap_follow(struct ddvm_tap_loop *l)
{
	enum ddvm_net_link link = ddvm_net_link(l->net);
	const struct ddvm_net_info *i;
	struct ddvm_net_stats ns;
	int old = l->tap->carrier;

	/* a restarting DD/OS is not a pulled cable: keep the carrier as it was */
	if (link != DDVM_NET_LINK_ABSENT) {
		ddvm_tap_set_carrier(l->tap, link == DDVM_NET_LINK_UP);
		if (l->tap->carrier != old)
			l->st->carrier_changes++;
	}
	ddvm_net_get_stats(l->net, &ns);
	if (ns.generations != l->generations && link != DDVM_NET_LINK_ABSENT) {
		l->generations = ns.generations;
		i = ddvm_net_info(l->net);
		/* best effort: the old values keep working for the frames that fit */
		ddvm_tap_set_mac(l->tap, i->mac, NULL);
		ddvm_tap_set_mtu(l->tap, ddvm_net_mtu(l->net), NULL);
	}
	/* a server without offloads gets frames the host stack finished */
	if (l->tap->vnet_hdr && link != DDVM_NET_LINK_ABSENT &&
	    l->tap->offload != ddvm_net_offload(l->net) &&
	    !ddvm_tap_set_offload(l->tap, ddvm_net_offload(l->net)))
		l->st->offload_changes++;
}

static int ddvm_tap_watch(struct ddvm_tap_loop *l, bool on, struct ddvm_err *err)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.fd = l->tap->fd };

	if (on == l->tap_watched)
		return 0;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, l->tap->fd, &ev))
		return ddvm_errf(err, -errno, "epoll: %m");
	l->tap_watched = on;
	return 0;
}

static int ddvm_tap_loop_run(struct ddvm_tap_loop *l, int stop_fd, struct ddvm_err *err)
{
	struct epoll_event evs[4];
	int ret, n, i, timeout;
	unsigned int want;

	for (;;) {
		ret = ddvm_tap_from_chan(l);
		if (ret < 0)
			return ddvm_errf(err, ret, "channel: %s", strerror(-ret));
		ret = ddvm_tap_to_chan(l, err);
		if (ret < 0)
			return ret;
		ddvm_tap_follow(l);

		want = DDVM_NET_WANT_RX | (l->nr_pending ? DDVM_NET_WANT_TX : 0);
		ret = ddvm_net_arm(l->net, want);
		if (ret < 0)
			return ddvm_errf(err, ret, "channel: %s", strerror(-ret));
		if (ret > 0)
			continue;	/* frames or room came while we armed */
		/* with frames held back, the tap waits until the ring has room */
		ret = ddvm_tap_watch(l, !l->nr_pending, err);
		if (ret)
			return ret;
		timeout = ddvm_net_link(l->net) == DDVM_NET_LINK_ABSENT ? DDVM_NET_RETRY_MS :
									 DDVM_TAP_TICK_MS;
		n = epoll_wait(l->epfd, evs, 4, timeout);
		if (n < 0 && errno != EINTR)
			return ddvm_errf(err, -errno, "epoll_wait: %m");
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == stop_fd)
				return 0;
	}
}

int ddvm_tap_run(struct ddvm_net *net, struct ddvm_tap *tap, int stop_fd,
		 struct ddvm_tap_stats *st, struct ddvm_err *err)
{
	struct ddvm_tap_loop l = { .net = net, .tap = tap, .st = st, .epfd = -1 };
	struct epoll_event ev = { .events = EPOLLIN };
	struct ddvm_net_stats ns;
	int ret;

	memset(st, 0, sizeof(*st));
	ddvm_net_get_stats(net, &ns);
	l.generations = ns.generations;
	l.slot = tap->vnet_hdr ? DDVM_NET_HDR_BUF_SIZE : DDVM_NET_BUF_SIZE;
	/* too small a channel for chains: the tap passes plain frames behind zero headers */
	if (tap->vnet_hdr)
		ddvm_net_set_offload(net, true);
	l.txb = malloc((size_t)DDVM_TAP_BATCH * l.slot);
	l.rxb = malloc((size_t)DDVM_TAP_BATCH * l.slot);
	if (!l.txb || !l.rxb) {
		ret = ddvm_errf(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l.epfd < 0) {
		ret = ddvm_errf(err, -errno, "epoll_create1: %m");
		goto out_free;
	}
	ev.data.fd = tap->fd;
	l.tap_watched = true;
	if (epoll_ctl(l.epfd, EPOLL_CTL_ADD, tap->fd, &ev))
		goto out_epoll;
	ev.data.fd = ddvm_net_fd(net);
	if (epoll_ctl(l.epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto out_epoll;
	ev.data.fd = stop_fd;
	if (epoll_ctl(l.epfd, EPOLL_CTL_ADD, stop_fd, &ev))
		goto out_epoll;
	ret = ddvm_tap_loop_run(&l, stop_fd, err);
	goto out_free;

out_epoll:
	ret = ddvm_errf(err, -errno, "epoll_ctl: %m");
out_free:
	if (l.epfd >= 0)
		close(l.epfd);
	free(l.txb);
	free(l.rxb);
	return ret;
}
