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
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dev.h"

#define TUN_PATH	"/dev/net/tun"
#define TAP_DEFMTU	1500
#define TAP_HDROOM	(14 + 4)	/* Ethernet header and a VLAN tag */
#define TAP_GROSZ	(65535 + TAP_HDROOM)	/* the largest merged frame */

struct tap_dev {
	struct netdev	 td_dev;	/* first */
	uint8_t		*td_buf;	/* for reads into a short buffer */
	size_t		 td_bufsz;
	int		 td_vnet;	/* frames carry a virtio-net header */
};

/*
 * The interface's MTU, asked through a throwaway socket. AF_UNIX first:
 * the kernel answers interface ioctls on any socket, and an AF_INET one
 * would be ours to serve when running under the preload library.
 */
static unsigned
ifmtu(const char *name)
{
	static const int fams[] = { AF_UNIX, AF_INET };
	struct ifreq ifr;
	unsigned i;
	int s, r;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if ((s = socket(fams[i], SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
		r = ioctl(s, SIOCGIFMTU, &ifr);
		close(s);
		if (r == 0 && ifr.ifr_mtu > 0)
			return (unsigned)ifr.ifr_mtu;
	}
	return TAP_DEFMTU;
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

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrsz) == -1)
		return 0;
	return ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) == 0;
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
		n = writev(d->fd, iov + !vnet, vnet ? 2 : 1);
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
		n = readv(d->fd, iov + !vnet, vnet ? 2 : 1);
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

static void
tap_destroy(struct netdev *d)
{
	struct tap_dev *td = (struct tap_dev *)d;

	close(d->fd);
	free(td->td_buf);
	free(td);
}

static const struct netdev_ops tap_ops = {
	.send = NULL,
	.send_offload = tap_send_offload,
	.recv = tap_recv,
	.poll_at = NULL,
	.destroy = tap_destroy,
};

struct netdev *
tap_open(const char *name, int *err)
{
	struct tap_dev *td = NULL;
	struct ifreq ifr;
	int fd = -1, error;

	if (name == NULL)
		name = "";
	if (strlen(name) >= IFNAMSIZ || strlen(name) >= NETDEV_NAMELEN) {
		error = -ENAMETOOLONG;
		goto fail;
	}
	if ((fd = open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1) {
		error = -errno;
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	/* An empty name lets the kernel pick one (tap%d). */
	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		error = -errno;
		goto fail;
	}
	if ((td = calloc(1, sizeof(*td))) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	td->td_dev.ops = &tap_ops;
	td->td_dev.fd = fd;
	memcpy(td->td_dev.name, ifr.ifr_name, NETDEV_NAMELEN - 1);
	td->td_dev.mtu = ifmtu(td->td_dev.name);
	td->td_bufsz = (size_t)td->td_dev.mtu + TAP_HDROOM;
	td->td_vnet = 1;
	if (offloads(fd)) {
		td->td_dev.features = NETDEV_F_RXCSUM | NETDEV_F_RXGRO |
		    NETDEV_F_TXCSUM | NETDEV_F_TSO;
		td->td_bufsz = TAP_GROSZ;
	}
	if ((td->td_buf = malloc(td->td_bufsz)) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	return &td->td_dev;

fail:
	if (fd != -1)
		close(fd);
	free(td);
	if (err != NULL)
		*err = error;
	return NULL;
}
