/*
 * tap.c - a Linux TAP interface.
 *
 * The kernel owns the interface (and its MAC, which is the kernel side's
 * address, not ours), so hwaddr stays zero and the stack picks its own.
 * Each read() returns one frame, each write() sends one.
 *
 * Offloads: the device is opened with IFF_VNET_HDR, so every frame carries
 * a virtio-net header, and TUNSETOFFLOAD tells the kernel it may hand us
 * TCP super-frames (up to 64 KiB, TSO4) and frames whose checksum it left
 * to "hardware". Frames we write may ask the same of the kernel, which
 * takes a super-frame as GRO would have made it. Where the kernel refuses
 * (an old one), the device works without them.
 *
 * Several processes may each run a stack on one address over one TAP,
 * the kernel steering each frame to the stack that owns its flow
 * (host/steer.h). So the TAP is opened multi-queue (IFF_MULTI_QUEUE; an
 * interface that does not exist yet is created so): each process attaches
 * a queue of its own and writes its frames there, to the kernel. It does
 * not read that queue. Which queue gets a frame the kernel sends is tun's
 * choice (a flow hash, or a steering program that returns a queue index),
 * and indexes move: when a queue detaches (its process killed), the last
 * queue takes its number. Each process receives instead through an
 * AF_PACKET socket bound to the TAP, which sees every frame the kernel
 * transmits there (PACKET_OUTGOING, handed to packet sockets before tun's
 * xmit, as tun would queue it: a TCP super-frame, a partial checksum), and
 * on which the steering filter keeps this stack's (netdev.steer_fd). The
 * frames any stack writes into the TAP reach that socket too, as received
 * by the kernel: a classic socket filter of our own keeps only outgoing
 * ones until a steering filter, which must do the same, replaces it. The
 * queues get a filter that drops every frame ("ret #0", TUNATTACHFILTER),
 * so that nothing piles up in them; a TAP whose queues nobody reads would
 * otherwise hold up to txqueuelen frames each (or stop its queue, where
 * tun pushes back). The interface counts those drops as TX dropped.
 *
 * NOTE: tun keeps one classic filter for all queues and attaches it to
 * each when TUNATTACHFILTER is called. It means to attach it to a queue
 * that joins later too (tun_attach(), from the sock_fprog it kept, which
 * points into the first caller's memory), but here (Linux 6.18) a queue
 * that joined that way was handed frames: it had no filter. So every
 * process attaches with IFF_NOFILTER and sets the filter itself, for all
 * queues. TUNSETFILTEREBPF (one eBPF program for the device) would not
 * depend on that, but needs bpf() and CAP_BPF; the classic filter needs
 * nothing beyond the TAP.
 *
 * An interface created single-queue (ip tuntap add without multi_queue)
 * refuses a multi-queue attach (EINVAL): the device then reads and writes
 * its one queue as before, no other process can join, and steer_fd is -1.
 *
 * Attaching raises the interface's carrier, but the kernel starts sending
 * on it only later, when its link-watch work runs (linkwatch_do_dev():
 * operstate UP, then dev_activate() swaps the noop qdisc that dropped
 * every frame for the real one). A bare attach that sent an ARP request
 * at once lost the kernel's reply 8 times in 1,000 here (our open's own
 * ioctls usually give the link watch time to run first, but nothing makes
 * it so, least of all a busy rtnl lock). So tap_open() waits, on
 * rtnetlink, for the interface to run.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dev.h"
#include "os.h"

#define TUN_PATH	"/dev/net/tun"
#define TAP_DEFMTU	1500
#define TAP_HDROOM	(14 + 4)	/* Ethernet header and a VLAN tag */
#define TAP_GROSZ	(65535 + TAP_HDROOM)	/* the largest merged frame */
#define TAP_UP_WAIT_MS	5000		/* for the kernel to run its side */
#define TAP_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
#define TAP_SOCKBUF	(4 * 1024 * 1024)	/* the packet socket's receive buffer */
/* IFLA_OPERSTATE values (RFC 2863; linux/if.h, which clashes with net/if.h) */
#define OPER_UNKNOWN	0
#define OPER_UP		6

struct tap_dev {
	struct netdev	 td_dev;	/* first */
	int		 td_qfd;	/* our TAP queue: frames to the kernel
					   (single-queue: also from it; = fd) */
	uint8_t		*td_buf;	/* single-queue: reads into a short buffer */
	size_t		 td_bufsz;
	int		 td_vnet;	/* frames carry a virtio-net header */
};

/*
 * An interface ioctl (SIOCGIFMTU, SIOCGIFFLAGS, ...) through a throwaway
 * socket. The kernel answers interface ioctls on any socket: AF_UNIX,
 * or AF_INET in a kernel built without it. 0, or -1 with errno set.
 */
static int
ifioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	static const int fams[] = { AF_UNIX, AF_INET };
	unsigned i;
	int s, r = -1, e = EAFNOSUPPORT;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if ((s = mtcp_os.socket(fams[i], SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		memset(ifr, 0, sizeof(*ifr));
		memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
		r = mtcp_os.ioctl(s, req, ifr);
		e = errno;
		mtcp_os.close(s);
		if (r == 0)
			return 0;
	}
	errno = e;
	return r;
}

/* The interface's MTU. */
static unsigned
ifmtu(const char *name)
{
	struct ifreq ifr;

	if (ifioctl(name, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		return (unsigned)ifr.ifr_mtu;
	return TAP_DEFMTU;
}

/*
 * A socket on rtnetlink's link group, opened before the attach so that no
 * change of the interface's state is missed; -1 if there is none (the wait
 * then polls the flags).
 */
static int
link_watch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
	    .nl_groups = RTMGRP_LINK };
	int fd;

	fd = os_own(mtcp_os.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    NETLINK_ROUTE));
	if (fd != -1 && mtcp_os.bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		mtcp_os.close(fd);
		fd = -1;
	}
	return fd;
}

/* Ask for the interface's state; the answer comes in with the events. */
static int
link_watch_ask(int fd, int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
		    .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};

	return mtcp_os.send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req) ? 0 : -1;
}

/*
 * Read what the watch has (answers and events alike): the state of
 * ifindex, the last message about it winning. Returns -1 when the socket
 * overran (ENOBUFS: ask again), 1 when something about ifindex came, else 0.
 */
static int
link_watch_read(int fd, int ifindex, unsigned *flags, unsigned char *oper)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int got = 0;
	ssize_t n;

	while ((n = mtcp_os.recv(fd, buf, sizeof(buf), 0)) > 0) {
		size_t left = (size_t)n;

		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		    NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct rtattr *rta;
			unsigned alen;

			if (nh->nlmsg_type != RTM_NEWLINK ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) ||
			    ifi->ifi_index != ifindex)
				continue;
			*flags = ifi->ifi_flags;
			*oper = OPER_UNKNOWN;
			alen = (unsigned)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
			for (rta = IFLA_RTA(ifi); RTA_OK(rta, alen);
			    rta = RTA_NEXT(rta, alen))
				if (rta->rta_type == IFLA_OPERSTATE &&
				    RTA_PAYLOAD(rta) >= 1)
					*oper = *(unsigned char *)RTA_DATA(rta);
			got = 1;
		}
	}
	return n == -1 && errno == ENOBUFS ? -1 : got;
}

/* The real clock, in milliseconds: the wait is the open's, not the stack's. */
static uint64_t
mono_ms(void)
{
	return mtcp_real_clock.now(NULL) / USEC_PER_MSEC;
}

/*
 * Wait, at most TAP_UP_WAIT_MS, until the kernel runs its side of the
 * link: operstate UP is set in the same step as dev_activate(), and
 * rtnetlink announces it. IFF_RUNNING alone would not do: it also counts
 * operstate UNKNOWN, which is what an interface the link watch has not
 * looked at yet reports ("ip tuntap add", "ip link set up", and a program
 * at once), with the queue still the noop one. An interface that is
 * administratively down is not waited for: its owner brings it up when it
 * likes. Without rtnetlink, IFF_RUNNING is polled every millisecond. The
 * outcome is left in d->link and d->link_wait_ms.
 *
 * An interface whose carrier never went off reports UNKNOWN for good (the
 * link watch runs on carrier changes), although the kernel sends on it
 * from the moment it is up: one that an open created, its creator still
 * attached. A process joining it would wait here in vain; so the open that
 * creates the interface turns the carrier off and on (carrier_cycle).
 */
static void
link_wait(struct netdev *d, int nl)
{
	uint64_t start = mono_ms(), now;
	unsigned char oper = OPER_UNKNOWN;
	unsigned flags = 0;
	struct ifreq ifr;
	int ifindex, ask = 1;

	if (ifioctl(d->name, SIOCGIFINDEX, &ifr) == -1) {
		d->link = NETDEV_LINK_UNKNOWN;
		goto out;
	}
	ifindex = ifr.ifr_ifindex;
	for (;;) {
		now = mono_ms();
		if (now - start >= TAP_UP_WAIT_MS) {
			d->link = NETDEV_LINK_LATE;
			goto out;
		}
		if (nl != -1) {
			if (ask && link_watch_ask(nl, ifindex) == -1) {
				mtcp_os.close(nl);      /* fall back to the flags */
				nl = -1;
				continue;
			}
			ask = 0;
			switch (link_watch_read(nl, ifindex, &flags, &oper)) {
			case -1:
				ask = 1;
				continue;
			case 0:
				break;
			default:
				if (!(flags & IFF_UP)) {
					d->link = NETDEV_LINK_ADMIN_DOWN;
					goto out;
				}
				if (oper == OPER_UP) {
					d->link = NETDEV_LINK_UP;
					goto out;
				}
				break;
			}
		} else {
			if (ifioctl(d->name, SIOCGIFFLAGS, &ifr) == -1) {
				d->link = NETDEV_LINK_UNKNOWN;
				goto out;
			}
			if (!(ifr.ifr_flags & IFF_UP)) {
				d->link = NETDEV_LINK_ADMIN_DOWN;
				goto out;
			}
			if (ifr.ifr_flags & IFF_RUNNING) {
				d->link = NETDEV_LINK_UP;
				goto out;
			}
		}
		if (nl != -1) {
			struct pollfd p = { .fd = nl, .events = POLLIN };

			(void)mtcp_os.poll(&p, 1, (int)(TAP_UP_WAIT_MS - (now - start)));
		} else {
			struct timespec nap = { 0, 1000 * 1000 };

			(void)nanosleep(&nap, NULL);
		}
	}
out:
	if (nl != -1)
		mtcp_os.close(nl);
	d->link_wait_ms = (unsigned)(mono_ms() - start);
}

/*
 * Ask for the offloads on a device opened with IFF_VNET_HDR. The header
 * stays on every frame either way (its size is the default, 10 bytes);
 * when the kernel refuses, it is written zeroed and read back as "nothing
 * to do", but the device then advertises nothing.
 */
static int
offloads(int fd)
{
	int hdrsz = (int)sizeof(struct virtio_net_hdr);

	if (mtcp_os.ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) == -1)
		return 0;
	return mtcp_os.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) == 0;
}

static int
tap_send_offload(struct netdev *d, const uint8_t *frame, size_t len,
    const struct netdev_offload *o, uint64_t now)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { (void *)frame, len } };
	int vnet = ((struct tap_dev *)d)->td_vnet;
	ssize_t n;

	(void)now;
	netdev_vnet_tx(&vh, o);
	do
		n = mtcp_os.writev(((struct tap_dev *)d)->td_qfd, iov + !vnet,
		    vnet ? 2 : 1);
	while (n == -1 && errno == EINTR);
	return netdev_vnet_tx_done(d, n, vnet, len, o, errno);
}

static ssize_t
tap_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct tap_dev *td = (struct tap_dev *)d;
	struct virtio_net_hdr vh;
	int vnet = td->td_vnet;
	size_t hl = vnet ? sizeof(vh) : 0;
	uint8_t *dst = buf;
	ssize_t n;

	(void)now;
	d->rx.csum = NETDEV_CSUM_NONE;
	d->rx.gso_size = 0;
	/* A short buffer reads into ours, so the kernel never cuts a frame. */
	if (cap < td->td_bufsz)
		dst = td->td_buf;
	struct iovec iov[2] = { { &vh, sizeof(vh) },
				{ dst, dst == buf ? cap : td->td_bufsz } };
	do
		n = mtcp_os.readv(d->fd, iov + !vnet, vnet ? 2 : 1);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n <= hl)
		return -EAGAIN;
	n -= (ssize_t)hl;
	if ((size_t)n > cap)
		n = (ssize_t)cap;
	if (dst != buf)
		memcpy(buf, dst, (size_t)n);
	if (vnet)
		netdev_vnet_rx(d, &vh);
	d->stats.rx_frames++;
	d->stats.rx_bytes += (uint64_t)n;
	return n;
}

/*
 * Shared (multi-queue): what the kernel sent on the TAP, from the packet
 * socket; a frame longer than cap is cut by the kernel's copy. A packet
 * socket reports the interface going down (or down when it was bound) as
 * a one-time error, ENETDOWN; a TAP's reader sees nothing then, and
 * neither does ours: the next frame is read instead.
 */
static ssize_t
tap_shared_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	ssize_t n;

	(void)now;
	n = netdev_packet_recv(d, d->fd, buf, cap, true, true);
	if (n == -ENETDOWN)
		n = netdev_packet_recv(d, d->fd, buf, cap, true, true);
	return n;
}

/* The fds only: tap_destroy's first half, and all a fork()ed child's copy
 * does (dev.h). */
static void
tap_forget(struct netdev *d)
{
	struct tap_dev *td = (struct tap_dev *)d;

	if (td->td_qfd != d->fd)
		mtcp_os.close(td->td_qfd);
	mtcp_os.close(d->fd);
}

static int
tap_fds(struct netdev *d, int *out, int max)
{
	struct tap_dev *td = (struct tap_dev *)d;
	int n = 0;

	if (n < max)
		out[n++] = d->fd;
	if (td->td_qfd != d->fd && n < max)
		out[n++] = td->td_qfd;
	return n;
}

static void
tap_destroy(struct netdev *d)
{
	struct tap_dev *td = (struct tap_dev *)d;

	tap_forget(d);
	free(td->td_buf);
	free(td);
}

static const struct netdev_ops tap_ops = {
	.send = NULL,
	.send_offload = tap_send_offload,
	.recv = tap_recv,
	.poll_at = NULL,
	.destroy = tap_destroy,
	.forget = tap_forget,
	.fds = tap_fds,
};

static const struct netdev_ops tap_shared_ops = {
	.send = NULL,
	.send_offload = tap_send_offload,
	.recv = tap_shared_recv,
	.poll_at = NULL,
	.destroy = tap_destroy,
	.forget = tap_forget,
	.fds = tap_fds,
};

/*
 * Attach fd to interface name (created if it does not exist): a queue of
 * its own (*shared = 1), or, on an interface made single-queue, its only
 * queue (*shared = 0). ifr gets the interface's name. 0, or -errno.
 */
static int
tap_attach(int fd, const char *name, struct ifreq *ifr, int *shared)
{
	static const int flags[] = {
		TAP_FLAGS | IFF_MULTI_QUEUE | IFF_NOFILTER,
		TAP_FLAGS,
	};
	unsigned i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		memset(ifr, 0, sizeof(*ifr));
		ifr->ifr_flags = (short)flags[i];
		/* An empty name lets the kernel pick one (tap%d). */
		memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
		if (mtcp_os.ioctl(fd, TUNSETIFF, ifr) == 0) {
			*shared = i == 0;
			return 0;
		}
		/* EINVAL: a single-queue interface (or a kernel without
		 * IFF_MULTI_QUEUE); anything else is no fault of the mode. */
		if (errno != EINVAL)
			break;
	}
	return -errno;
}

/* After creating the interface: make the link watch run once (see
 * link_wait). Best effort: TUNSETCARRIER is Linux 5.0's. */
static void
carrier_cycle(int fd)
{
	int off = 0, on = 1;

	if (mtcp_os.ioctl(fd, TUNSETCARRIER, &off) == 0)
		(void)mtcp_os.ioctl(fd, TUNSETCARRIER, &on);
}

/* Drop every frame the kernel would queue on the TAP's queues (all of
 * them: tun attaches it to each). 0, or -errno. */
static int
tap_queues_drop(int qfd)
{
	/* Static: tun keeps the pointer (see the NOTE above). */
	static struct sock_filter drop[] = {
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog fp = { .len = 1, .filter = drop };

	return mtcp_os.ioctl(qfd, TUNATTACHFILTER, &fp) == -1 ? -errno : 0;
}

/*
 * The socket a shared device receives through: AF_PACKET on interface
 * name, the virtio-net header on every frame, and a filter that keeps
 * nothing until the steering filter replaces it (or, alone on the
 * address, the stack takes it off: recv keeps only PACKET_OUTGOING
 * frames, what the kernel sends there). Bound last, so nothing reaches
 * it unfiltered. The socket, or -errno.
 */
static int
tap_rx_socket(const char *name)
{
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int s, one = 1, sz = TAP_SOCKBUF, error;

	s = os_own(mtcp_os.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (s == -1)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (mtcp_os.ioctl(s, SIOCGIFINDEX, &ifr) == -1 ||
	    netdev_block_all(s) == -1 ||
	    mtcp_os.setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one,
	    sizeof(one)) == -1)
		goto fail;
	/* The FORCE variant passes over net.core.rmem_max, with CAP_NET_ADMIN. */
	if (mtcp_os.setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		(void)mtcp_os.setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (mtcp_os.bind(s, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		goto fail;
	return s;
fail:
	error = errno;
	mtcp_os.close(s);
	return -error;
}

struct netdev *
tap_open(const char *name, int *err)
{
	struct tap_dev *td = NULL;
	struct ifreq ifr;
	int fd = -1, nl = -1, rx = -1, shared = 0, created, error;

	if (name == NULL)
		name = "";
	if (strlen(name) >= IFNAMSIZ || strlen(name) >= NETDEV_NAMELEN) {
		error = -ENAMETOOLONG;
		goto fail;
	}
	if ((fd = os_own(mtcp_os.open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC))) == -1) {
		error = -errno;
		goto fail;
	}
	nl = link_watch_open();
	/* Whether this open creates the interface (racy: of two opens that
	 * create it at once, both may cycle the carrier, and the kernel
	 * drops what it sends meanwhile, a frame or two). */
	created = name[0] == '\0' || ifioctl(name, SIOCGIFINDEX, &ifr) == -1;
	if ((error = tap_attach(fd, name, &ifr, &shared)) < 0)
		goto fail;
	if (created)
		carrier_cycle(fd);
	/* Receiving at once: the kernel may send as soon as we attached. */
	if (shared) {
		if ((rx = tap_rx_socket(ifr.ifr_name)) < 0) {
			error = rx;
			goto fail;
		}
		if ((error = tap_queues_drop(fd)) < 0)
			goto fail;
	}
	if ((td = calloc(1, sizeof(*td))) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	td->td_dev.ops = shared ? &tap_shared_ops : &tap_ops;
	td->td_qfd = fd;
	td->td_dev.fd = shared ? rx : fd;
	td->td_dev.steer_fd = shared ? rx : -1;
	td->td_dev.steer_outgoing = shared;
	memcpy(td->td_dev.name, ifr.ifr_name, NETDEV_NAMELEN - 1);
	td->td_dev.mtu = ifmtu(td->td_dev.name);
	td->td_bufsz = (size_t)td->td_dev.mtu + TAP_HDROOM;
	td->td_vnet = 1;
	if (offloads(fd)) {
		td->td_dev.features = NETDEV_F_RXCSUM | NETDEV_F_RXGRO |
		    NETDEV_F_TXCSUM | NETDEV_F_TSO;
		td->td_bufsz = TAP_GROSZ;
	}
	if (!shared && (td->td_buf = malloc(td->td_bufsz)) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	link_wait(&td->td_dev, nl);     /* and closes nl */
	return &td->td_dev;

fail:
	if (nl != -1)
		mtcp_os.close(nl);
	if (rx >= 0)
		mtcp_os.close(rx);
	if (fd != -1)
		mtcp_os.close(fd);
	free(td);
	if (err != NULL)
		*err = error;
	return NULL;
}
