/*
 * offload.c - the virtio-net header, which AF_PACKET (PACKET_VNET_HDR) and
 * TAP (IFF_VNET_HDR) put in front of every frame to say what the kernel
 * left undone (a checksum) or merged (a TCP super-frame), and what it must
 * do to a frame we send. See <linux/virtio_net.h> and the kernel's
 * include/linux/virtio_net.h (virtio_net_hdr_to_skb / _from_skb).
 */

#include <linux/filter.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "dev.h"
#include "../wire/checksum.h"
#include "../wire/wire.h"

void
netdev_vnet_rx(struct netdev *d, const struct virtio_net_hdr *h)
{
	d->rx.csum = NETDEV_CSUM_NONE;
	d->rx.gso_size = 0;
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		d->rx.csum = NETDEV_CSUM_PARTIAL;
	else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		d->rx.csum = NETDEV_CSUM_VALID;
	if ((h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_TCPV4) {
		d->rx.gso_size = h->gso_size;
		d->stats.rx_merged++;
	}
}

void
netdev_vnet_tx(struct virtio_net_hdr *h, const struct netdev_offload *o)
{
	memset(h, 0, sizeof(*h));
	if (o == NULL)
		return;
	h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h->csum_start = o->csum_start;
	h->csum_offset = o->csum_offset;
	if (o->gso_size) {
		h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		h->gso_size = o->gso_size;
		h->hdr_len = o->hdr_len;
	}
}

int
netdev_vnet_tx_done(struct netdev *d, ssize_t n, int vnet, size_t len,
    const struct netdev_offload *o, int err)
{
	if (n != -1 && vnet)
		n = n >= (ssize_t)sizeof(struct virtio_net_hdr) ?
		    n - (ssize_t)sizeof(struct virtio_net_hdr) : 0;
	if (o != NULL && o->gso_size && n == (ssize_t)len)
		d->stats.tx_gso++;
	return netdev_tx_done(d, n, len, err);
}

/*
 * Fill in the TCP or UDP checksum the sender left to "hardware": the field
 * holds only the pseudo-header sum. Frames that are not an unfragmented
 * IPv4 TCP/UDP packet are left alone (the kernel never defers those).
 */
void
netdev_csum_complete(uint8_t *f, size_t len)
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

int netdev_block_all(int sockfd)
{
	struct sock_filter nothing[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = nothing };

	return mtcp_os.setsockopt(sockfd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

int netdev_steer_none(struct netdev *d)
{
	int one = 1;

	if (d->steer_fd < 0)
		return 0;
	return mtcp_os.setsockopt(d->steer_fd, SOL_SOCKET, SO_DETACH_FILTER, &one, sizeof(one));
}
