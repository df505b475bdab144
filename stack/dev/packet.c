/*
 * packet.c - an AF_PACKET socket bound to one interface.
 *
 * The socket sees every frame on the interface (promiscuous membership) and
 * sends onto it directly. Frames we sent come back to a packet socket as
 * PACKET_OUTGOING; PACKET_IGNORE_OUTGOING stops them in the kernel where it
 * exists, and recv() skips any that still arrive. Note that this also hides
 * frames the kernel's own stack sends on the interface.
 *
 * NOTE: no PACKET_QDISC_BYPASS. It would save little (veth has no qdisc),
 * but drop the qdisc's back-pressure and hide our frames from tcpdump on
 * the interface, and an A/B against the kernel should take the same path.
 *
 * Offloads: the socket speaks the virtio-net header (PACKET_VNET_HDR), as
 * a virtual machine's NIC would. A veth peer's TCP super-frames (TSO, up to
 * 64 KiB) arrive whole with their segment size, and packets whose checksum
 * the kernel left to "hardware" arrive marked so (NETDEV_CSUM_PARTIAL):
 * the data never left the machine, so nothing needs checking, just as the
 * kernel's own receive path trusts them. Frames we send may ask the kernel
 * to fill in their checksum and to cut a super-frame into segments; over
 * veth the peer then receives it whole, as from a kernel sender with TSO.
 * Without PACKET_VNET_HDR (an old kernel) frames the kernel passes on
 * before computing their checksum (TP_STATUS_CSUMNOTREADY in the
 * PACKET_AUXDATA) get it computed here, as skb_checksum_help would, and
 * the device offers no offloads.
 *
 * The socket is opened with protocol 0 (receiving nothing) and only starts
 * receiving when bind() names both the protocol and the interface, so no
 * frame from another interface is ever queued on it.
 *
 * netdev_packet_recv() serves tap.c too, which receives what the kernel
 * sends on a shared TAP through a packet socket: the other direction.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev.h"
#include "os.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif

#define PKT_SOCKBUF	(4 * 1024 * 1024)
#define PKT_RXBURST	64	/* frames skipped per recv() at most */

static void
sockbuf(int s, int force, int plain, int size)
{
	/* The FORCE variants pass over net.core.*mem_max, with CAP_NET_ADMIN. */
	if (mtcp_os.setsockopt(s, SOL_SOCKET, force, &size, sizeof(size)) == -1)
		(void)mtcp_os.setsockopt(s, SOL_SOCKET, plain, &size, sizeof(size));
}

static int
pkt_send_offload(struct netdev *d, const uint8_t *frame, size_t len,
    const struct netdev_offload *o, uint64_t now)
{
	struct virtio_net_hdr vh;
	struct iovec iov[2];
	struct msghdr msg;
	ssize_t n;
	int vnet = (d->features & NETDEV_F_TXCSUM) != 0;

	(void)now;
	netdev_vnet_tx(&vh, o);
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov + !vnet;
	msg.msg_iovlen = vnet ? 2 : 1;
	do
		n = mtcp_os.sendmsg(d->fd, &msg, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return netdev_vnet_tx_done(d, n, vnet, len, o, errno);
}

ssize_t
netdev_packet_recv(struct netdev *d, int fd, uint8_t *buf, size_t cap,
    bool vnet, bool outgoing)
{
	struct sockaddr_ll sll;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct virtio_net_hdr vh;
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { buf, cap } };
	size_t hl = vnet ? sizeof(vh) : 0;
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;
	int i;

	d->rx.csum = NETDEV_CSUM_NONE;
	d->rx.gso_size = 0;
	for (i = 0; i < PKT_RXBURST; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sll;
		msg.msg_namelen = sizeof(sll);
		msg.msg_iov = iov + !vnet;
		msg.msg_iovlen = vnet ? 2 : 1;
		msg.msg_control = &ctl;
		msg.msg_controllen = sizeof(ctl);
		/* MSG_TRUNC: the length returned is the frame's, not cap. */
		n = mtcp_os.recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		if ((sll.sll_pkttype == PACKET_OUTGOING) != outgoing ||
		    (size_t)n <= hl)
			continue;
		n -= (ssize_t)hl;
		if ((size_t)n > cap)
			n = (ssize_t)cap;
		if (vnet) {
			netdev_vnet_rx(d, &vh);
		} else {
			for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
				struct tpacket_auxdata aux;
				if (cm->cmsg_level != SOL_PACKET ||
				    cm->cmsg_type != PACKET_AUXDATA ||
				    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
					continue;
				memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
				if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
					netdev_csum_complete(buf, (size_t)n);
			}
		}
		d->stats.rx_frames++;
		d->stats.rx_bytes += (uint64_t)n;
		return n;
	}
	return -EAGAIN;
}

static ssize_t
pkt_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	(void)now;
	return netdev_packet_recv(d, d->fd, buf, cap,
	    (d->features & NETDEV_F_RXCSUM) != 0, false);
}

static void
pkt_destroy(struct netdev *d)
{
	mtcp_os.close(d->fd);
	free(d);
}

static const struct netdev_ops pkt_ops = {
	.send = NULL,
	.send_offload = pkt_send_offload,
	.recv = pkt_recv,
	.poll_at = NULL,
	.destroy = pkt_destroy,
};

struct netdev *
packet_open(const char *name, int *err)
{
	struct netdev *d = NULL;
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	struct ifreq ifr;
	int s = -1, one = 1, error, ifindex;

	if (name == NULL || name[0] == '\0' || strlen(name) >= IFNAMSIZ ||
	    strlen(name) >= NETDEV_NAMELEN) {
		error = name == NULL || name[0] == '\0' ? -EINVAL :
		    -ENAMETOOLONG;
		goto fail;
	}
	s = os_own(mtcp_os.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (s == -1) {
		error = -errno;
		goto fail;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (mtcp_os.ioctl(s, SIOCGIFINDEX, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	ifindex = ifr.ifr_ifindex;
	if (mtcp_os.ioctl(s, SIOCGIFHWADDR, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	/* Frames must start with an Ethernet header (lo's is all zeros). */
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER &&
	    ifr.ifr_hwaddr.sa_family != ARPHRD_LOOPBACK) {
		error = -EPROTONOSUPPORT;
		goto fail;
	}
	memcpy(d->hwaddr, ifr.ifr_hwaddr.sa_data, sizeof(d->hwaddr));
	if (mtcp_os.ioctl(s, SIOCGIFMTU, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	d->mtu = (unsigned)ifr.ifr_mtu;

	if (mtcp_os.setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) == -1) {
		error = -errno;
		goto fail;
	}
	/* Offloads: without them (an old kernel) the device works as before. */
	if (mtcp_os.setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0)
		d->features = NETDEV_F_RXCSUM | NETDEV_F_RXGRO | NETDEV_F_TXCSUM |
		    NETDEV_F_TSO;
	/* Best effort: older kernels lack these, and recv() copes. */
	(void)mtcp_os.setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
	    sizeof(one));
	sockbuf(s, SO_RCVBUFFORCE, SO_RCVBUF, PKT_SOCKBUF);
	sockbuf(s, SO_SNDBUFFORCE, SO_SNDBUF, PKT_SOCKBUF);

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (mtcp_os.setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
	    sizeof(mr)) == -1) {
		error = -errno;
		goto fail;
	}
	/* Nothing is queued until the stack says what is its own: the
	 * steering filter replaces this one (stack/host), or the stack alone
	 * on the address takes it off (netdev_steer_none). Frames queued
	 * before a filter would be other processes' (stack.c, host_open). */
	if (netdev_block_all(s) < 0) {
		error = -errno;
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (mtcp_os.bind(s, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		error = -errno;
		goto fail;
	}

	d->ops = &pkt_ops;
	d->fd = s;
	d->steer_fd = s;
	d->steer_outgoing = false;
	memcpy(d->name, name, strlen(name) + 1);
	return d;

fail:
	if (s != -1)
		mtcp_os.close(s);       /* drops the promiscuous membership too */
	free(d);
	if (err != NULL)
		*err = error;
	return NULL;
}
