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
	if (n == -1 || (size_t)n != len) {
		d->stats.tx_errors++;
		if (n != -1)
			return -EIO;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	return 0;
}

static ssize_t
pkt_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct sockaddr_ll sll;
	socklen_t slen;
	ssize_t n;
	int i;

	(void)now;
	for (i = 0; i < PKT_RXBURST; i++) {
		slen = sizeof(sll);
		/* MSG_TRUNC: the length returned is the frame's, not cap. */
		n = recvfrom(d->fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC,
		    (struct sockaddr *)&sll, &slen);
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
