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
 * Frames the kernel passes on before computing their TCP/UDP checksum
 * (a veth peer with checksum offload: TP_STATUS_CSUMNOTREADY in the
 * PACKET_AUXDATA) get it computed here, as the kernel's skb_checksum_help
 * would before putting them on a wire, so everything above sees ordinary
 * frames: the impairment device, the pcap file and the parsers.
 *
 * The socket is opened with protocol 0 (receiving nothing) and only starts
 * receiving when bind() names both the protocol and the interface, so no
 * frame from another interface is ever queued on it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev.h"
#include "../wire/checksum.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING	23
#endif

#define PKT_SOCKBUF	(4 * 1024 * 1024)
#define PKT_RXBURST	64	/* own frames skipped per recv() at most */

static void
sockbuf(int s, int force, int plain, int size)
{
	/* The FORCE variants pass over net.core.*mem_max, with CAP_NET_ADMIN. */
	if (setsockopt(s, SOL_SOCKET, force, &size, sizeof(size)) == -1)
		(void)setsockopt(s, SOL_SOCKET, plain, &size, sizeof(size));
}

static int
pkt_send(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now)
{
	ssize_t n;

	(void)now;
	do
		n = send(d->fd, frame, len, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	return netdev_tx_done(d, n, len, errno);
}

/*
 * Fill in the TCP or UDP checksum the sender left to "hardware": the field
 * holds only the pseudo-header sum. Frames that are not an unfragmented
 * IPv4 TCP/UDP packet are left alone (the kernel never defers those).
 */
static void
csum_complete(uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;
	size_t ihl, total, l4len, off;
	uint8_t proto;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (ip[0] >> 4) != 4)
		return;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	total = rd16(ip + 2);
	if (ihl < 20 || total < ihl || 14 + total > len || (ip[6] & 0x3f) || ip[7])
		return;
	proto = ip[9];
	l4len = total - ihl;
	if (proto == IPPROTO_UDP && l4len >= 8)
		off = 6;
	else if (proto == IPPROTO_TCP && l4len >= 20)
		off = 16;
	else
		return;

	uint8_t *l4 = f + 14 + ihl;
	wr16(l4 + off, 0);
	uint16_t c = csum_finish(csum_add(csum_pseudo_ipv4(rd32(ip + 12), rd32(ip + 16),
	    proto, (uint16_t)l4len), l4, l4len));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;     /* RFC 768: zero means "none" */
	wr16(l4 + off, c);
}

static ssize_t
pkt_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct sockaddr_ll sll;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr msg;
	struct cmsghdr *cm;
	ssize_t n;
	int i;

	(void)now;
	for (i = 0; i < PKT_RXBURST; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_name = &sll;
		msg.msg_namelen = sizeof(sll);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = &ctl;
		msg.msg_controllen = sizeof(ctl);
		/* MSG_TRUNC: the length returned is the frame's, not cap. */
		n = recvmsg(d->fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
		if (sll.sll_pkttype == PACKET_OUTGOING || n == 0)
			continue;
		if ((size_t)n > cap)
			n = (ssize_t)cap;
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			struct tpacket_auxdata aux;
			if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA ||
			    cm->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(cm), sizeof(aux));
			if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
				csum_complete(buf, (size_t)n);
		}
		d->stats.rx_frames++;
		d->stats.rx_bytes += (uint64_t)n;
		return n;
	}
	return -EAGAIN;
}

static void
pkt_destroy(struct netdev *d)
{
	close(d->fd);
	free(d);
}

static const struct netdev_ops pkt_ops = {
	.send = pkt_send,
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
	s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
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
	if (ioctl(s, SIOCGIFINDEX, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == -1) {
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
	if (ioctl(s, SIOCGIFMTU, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	d->mtu = (unsigned)ifr.ifr_mtu;

	if (setsockopt(s, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) == -1) {
		error = -errno;
		goto fail;
	}
	/* Best effort: older kernels lack these, and recv() copes. */
	(void)setsockopt(s, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
	    sizeof(one));
	sockbuf(s, SO_RCVBUFFORCE, SO_RCVBUF, PKT_SOCKBUF);
	sockbuf(s, SO_SNDBUFFORCE, SO_SNDBUF, PKT_SOCKBUF);

	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(s, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
	    sizeof(mr)) == -1) {
		error = -errno;
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		error = -errno;
		goto fail;
	}

	d->ops = &pkt_ops;
	d->fd = s;
	memcpy(d->name, name, strlen(name) + 1);
	return d;

fail:
	if (s != -1)
		close(s);       /* drops the promiscuous membership too */
	free(d);
	if (err != NULL)
		*err = error;
	return NULL;
}
