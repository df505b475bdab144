/*
 * test_dev_tap.c - the TAP driver against the real kernel, hermetically:
 * every test first moves into a network namespace of its own
 * (unshare(CLONE_NEWNET); Check runs each test in a forked child), so the
 * TAP and its address vanish with the test. Needs root (CAP_SYS_ADMIN and
 * CAP_NET_ADMIN); fails, never skips, without it.
 *
 * A TAP the driver opens is multi-queue (shared by the processes on one
 * address): the device writes into a queue of its own and receives what
 * the kernel sends on the interface through an AF_PACKET socket (d->fd,
 * d->steer_fd); one made single-queue by someone else is used as before.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "config.h"
#include "dev.h"
#include "log.h"
#include "mtcp.h"

#define TAPNAME		"mtt0"
#define KERNEL_IP	"10.61.0.1"
#define STACK_IP	"10.61.0.2"


/* A device the test drives alone: its receiving socket (a shared TAP's
 * packet socket) starts blocked until a stack steers it or says it is
 * alone (dev.h, netdev_steer_none). */
static struct netdev *tap_open_alone(const char *name, int *err)
{
	struct netdev *d = tap_open(name, err);

	if (d)
		netdev_steer_none(d);
	return d;
}

static const uint8_t stack_mac[6] = { 0x02, 0, 0, 0, 0x61, 0x02 };

static void
own_netns(void)
{
	if (unshare(CLONE_NEWNET) == -1)
		ck_abort_msg("unshare(CLONE_NEWNET): %s; the TAP tests build a "
		    "private network namespace and need root", strerror(errno));
}

static void
ifreq_of(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
}

/* Give the kernel side name addr/24 and bring it up. */
static void
ifup(const char *name, const char *addr)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	ifreq_of(&ifr, name);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	ck_assert_msg(ioctl(s, SIOCSIFADDR, &ifr) == 0, "SIOCSIFADDR: %s",
	    strerror(errno));
	ck_assert_int_eq(inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr), 1);
	ck_assert_msg(ioctl(s, SIOCSIFNETMASK, &ifr) == 0, "SIOCSIFNETMASK: %s",
	    strerror(errno));
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "SIOCSIFFLAGS: %s",
	    strerror(errno));
	close(s);
}

/* Create interface name as "ip tuntap add dev NAME mode tap [multi_queue]"
 * does: persistent, no queue attached. */
static void
tap_make(const char *name, bool multi_queue)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "/dev/net/tun: %s", strerror(errno));
	ifreq_of(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
	ck_assert_msg(ioctl(fd, TUNSETIFF, &ifr) == 0, "TUNSETIFF: %s",
	    strerror(errno));
	ck_assert_int_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

/* Attach a queue of our own to multi-queue TAP name (without taking the
 * filter the driver set on the others); the fd, or -1 with errno. */
static int
tap_queue(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ifreq_of(&ifr, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE |
	    IFF_NOFILTER;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
kernel_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	ifreq_of(&ifr, name);
	ck_assert_int_eq(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

/* Wait up to 3 s for a frame of ethertype type; its length or 0. */
static ssize_t
wait_frame(struct netdev *d, uint16_t type, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	ssize_t n;
	int i;

	for (i = 0; i < 30; i++) {
		while ((n = netdev_recv(d, buf, cap, 0)) > 0)
			if (n >= 14 && buf[12] == type >> 8 &&
			    buf[13] == (type & 0xff))
				return n;
		ck_assert_int_eq(n, -EAGAIN);
		(void)poll(&p, 1, 100);
	}
	return 0;
}

START_TEST(test_tap_opens_nonblocking_with_interface_mtu)
{
	struct netdev *d;
	uint8_t zero[6] = { 0 }, buf[64];
	int err = 0, fl;

	own_netns();
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_msg(d != NULL, "tap_open: %s", strerror(-err));
	ck_assert_str_eq(d->name, TAPNAME);
	ck_assert_uint_eq(d->mtu, 1500);
	ck_assert(memcmp(d->hwaddr, zero, 6) == 0);
	ck_assert_int_ge(d->fd, 0);
	fl = fcntl(d->fd, F_GETFL);
	ck_assert_msg(fl & O_NONBLOCK, "tap fd is blocking");
	ck_assert_msg(fcntl(d->fd, F_GETFD) & FD_CLOEXEC, "tap fd lacks CLOEXEC");
	ck_assert_int_eq(netdev_recv(d, buf, sizeof(buf), 0), -EAGAIN);
	ck_assert_uint_eq(netdev_poll_at(d), UINT64_MAX);
	/* A new interface is made multi-queue, and shared. */
	ck_assert_int_eq(d->steer_fd, d->fd);
	ck_assert(d->steer_outgoing);
	netdev_destroy(d);

	/* The kernel names it when we do not. */
	d = tap_open_alone("", &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(strncmp(d->name, "tap", 3) == 0, "name \"%s\"", d->name);
	netdev_destroy(d);

	ck_assert_ptr_null(tap_open_alone("a-name-far-too-long", &err));
	ck_assert_int_eq(err, -ENAMETOOLONG);
}
END_TEST

START_TEST(test_tap_mtu_comes_from_the_interface)
{
	struct netdev *d;
	struct ifreq ifr;
	int err, s;

	own_netns();
	/* An interface that outlives the device: change its MTU, reopen. */
	tap_make(TAPNAME, true);
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->mtu, 1500);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifreq_of(&ifr, TAPNAME);
	ifr.ifr_mtu = 9000;
	ck_assert_msg(ioctl(s, SIOCSIFMTU, &ifr) == 0, "SIOCSIFMTU: %s",
	    strerror(errno));
	close(s);
	netdev_destroy(d);
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->mtu, 9000);
	netdev_destroy(d);
}
END_TEST

START_TEST(test_tap_receives_the_kernels_arp_request)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct netdev *d;
	uint8_t f[2048], kmac[6], want_tpa[4], want_spa[4];
	int err, s;
	ssize_t n;

	own_netns();
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ifup(TAPNAME, KERNEL_IP);
	kernel_mac(TAPNAME, kmac);

	/* The kernel must resolve STACK_IP before it can send to it. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, STACK_IP, &to.sin_addr);
	ck_assert_int_eq(sendto(s, "x", 1, 0, (struct sockaddr *)&to,
	    sizeof(to)), 1);
	n = wait_frame(d, 0x0806, f, sizeof(f));
	ck_assert_msg(n >= 42, "no ARP request from the kernel (%zd)", n);
	inet_pton(AF_INET, STACK_IP, want_tpa);
	inet_pton(AF_INET, KERNEL_IP, want_spa);
	ck_assert(memcmp(f + 6, kmac, 6) == 0);         /* from the kernel */
	ck_assert_uint_eq(f[20] << 8 | f[21], 1);       /* request */
	ck_assert(memcmp(f + 28, want_spa, 4) == 0);
	ck_assert(memcmp(f + 38, want_tpa, 4) == 0);
	ck_assert_uint_ge(d->stats.rx_frames, 1);
	ck_assert_uint_ge(d->stats.rx_bytes, 42);

	/* The kernel repeats the request: read one into a short buffer. */
	ck_assert_int_eq(wait_frame(d, 0x0806, f, 20), 20);
	close(s);
	netdev_destroy(d);
}
END_TEST

/* Send who-has KERNEL_IP from STACK_IP; true if the kernel's reply comes
 * within ms milliseconds (other frames are skipped). */
static bool
arp_answered(struct netdev *d, unsigned ms)
{
	uint8_t f[2048] = { 0 };
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	ssize_t n;
	unsigned waited;

	memset(f, 0xff, 6);
	memcpy(f + 6, stack_mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	memcpy(f + 22, stack_mac, 6);
	inet_pton(AF_INET, STACK_IP, f + 28);
	inet_pton(AF_INET, KERNEL_IP, f + 38);
	ck_assert_int_eq(netdev_send(d, f, 42, 0), 0);
	for (waited = 0; waited <= ms; waited += 5) {
		while ((n = netdev_recv(d, f, sizeof(f), 0)) > 0)
			if (n >= 42 && f[12] == 0x08 && f[13] == 0x06 &&
			    f[20] == 0 && f[21] == 2)
				return true;
		(void)poll(&p, 1, 5);
	}
	return false;
}

/*
 * Attaching raises the carrier, but the kernel starts sending on the
 * interface only when its link-watch work has run; tap_open() waits for
 * that, so a request sent at once is answered, and says how it went. An
 * interface that is down is not waited for. (A bare attach lost the reply
 * about 1 in 100 times; with the driver's own ioctls before the first send
 * it is rarer, so this checks the report more than it catches the race.)
 */
START_TEST(test_tap_open_waits_until_the_kernel_runs_the_link)
{
	struct netdev *d;
	int err, i, lost = 0;

	own_netns();
	tap_make(TAPNAME, true);
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->link, NETDEV_LINK_ADMIN_DOWN);
	ck_assert_uint_lt(d->link_wait_ms, 1000);
	netdev_destroy(d);
	ifup(TAPNAME, KERNEL_IP);

	for (i = 0; i < 300; i++) {
		d = tap_open_alone(TAPNAME, &err);
		ck_assert_ptr_nonnull(d);
		ck_assert_int_eq(d->link, NETDEV_LINK_UP);
		lost += !arp_answered(d, 500);
		netdev_destroy(d);
	}
	ck_assert_msg(lost == 0, "%d of 300 cold opens lost the kernel's ARP "
	    "reply", lost);
}
END_TEST

static uint16_t
ipsum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet + IPv4 + UDP (checksum 0: none) by hand, from STACK_IP:sport
 * to KERNEL_IP:5000 on interface name. The frame's length. */
static size_t
udp_to_kernel(uint8_t *f, size_t cap, const char *name, const char *msg,
    uint16_t sport)
{
	size_t mlen = strlen(msg), len = 20 + 8 + mlen;
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t sum;

	ck_assert_uint_ge(cap, 14 + len);
	memset(f, 0, 14 + len);
	kernel_mac(name, f);
	memcpy(f + 6, stack_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(len >> 8);
	ip[3] = (uint8_t)len;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	inet_pton(AF_INET, STACK_IP, ip + 12);
	inet_pton(AF_INET, KERNEL_IP, ip + 16);
	sum = ipsum(ip, 20);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = 5000 >> 8;
	udp[3] = 5000 & 0xff;
	udp[5] = (uint8_t)(len - 20);
	memcpy(udp + 8, msg, mlen);
	return 14 + len;
}

/* A UDP socket of the kernel's on KERNEL_IP:5000. */
static int
kernel_udp(void)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(5000) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(s, 0);
	inet_pton(AF_INET, KERNEL_IP, &me.sin_addr);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);
	return s;
}

/* Wait up to 3 s for a datagram on s: from STACK_IP:sport, carrying msg. */
static void
kernel_got(int s, const char *msg, uint16_t sport)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	struct pollfd p = { .fd = s, .events = POLLIN };
	char got[64];
	ssize_t n;

	ck_assert_msg(poll(&p, 1, 3000) == 1, "kernel socket got nothing "
	    "(expected \"%s\")", msg);
	n = recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)&from, &flen);
	ck_assert_int_eq(n, (ssize_t)strlen(msg));
	ck_assert(memcmp(got, msg, (size_t)n) == 0);
	ck_assert_uint_eq(ntohs(from.sin_port), sport);
	ck_assert_str_eq(inet_ntoa(from.sin_addr), STACK_IP);
}

START_TEST(test_tap_send_reaches_a_kernel_socket)
{
	static const char msg[] = "hello from microtcp";
	struct netdev *d;
	uint8_t f[128];
	size_t len;
	int err, s;

	own_netns();
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ifup(TAPNAME, KERNEL_IP);
	s = kernel_udp();
	len = udp_to_kernel(f, sizeof(f), TAPNAME, msg, 4000);
	ck_assert_int_eq(netdev_send(d, f, len, 0), 0);
	ck_assert_uint_eq(d->stats.tx_frames, 1);
	ck_assert_uint_eq(d->stats.tx_bytes, len);
	kernel_got(s, msg, 4000);
	close(s);
	netdev_destroy(d);
}
END_TEST

START_TEST(test_tap_failed_write_counts_tx_error)
{
	struct netdev *d;
	uint8_t f[60];
	int err;

	own_netns();
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	memset(f, 0xff, sizeof(f));
	/* Shorter than an Ethernet header: the kernel refuses it. */
	ck_assert_int_lt(netdev_send(d, f, 4, 0), 0);
	ck_assert_uint_eq(d->stats.tx_errors, 1);
	ck_assert_uint_eq(d->stats.tx_frames, 0);
	netdev_destroy(d);
}
END_TEST

/* A frame of ethertype type in the next ms milliseconds? Others skipped. */
static bool
got_type(struct netdev *d, uint16_t type, unsigned ms)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	uint8_t f[2048];
	unsigned waited;
	ssize_t n;

	for (waited = 0; waited <= ms; waited += 5) {
		while ((n = netdev_recv(d, f, sizeof(f), 0)) > 0)
			if (n >= 14 && f[12] == type >> 8 && f[13] == (type & 0xff))
				return true;
		ck_assert_int_eq(n, -EAGAIN);
		(void)poll(&p, 1, 5);
	}
	return false;
}

/* Make the kernel send one frame to STACK_IP (an ARP request first, as it
 * has no neighbour entry for it). */
static void
kernel_sends(void)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, STACK_IP, &to.sin_addr);
	ck_assert_int_eq(sendto(s, "x", 1, 0, (struct sockaddr *)&to,
	    sizeof(to)), 1);
	close(s);
}

START_TEST(test_tap_multi_queue_interface_is_shared)
{
	struct netdev *d;
	int err, dom = 0, q;
	socklen_t dlen = sizeof(dom);

	own_netns();
	/* Made by "ip tuntap add ... multi_queue": opens shared. */
	tap_make(TAPNAME, true);
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_msg(d != NULL, "tap_open: %s", strerror(-err));
	ck_assert_int_ge(d->steer_fd, 0);
	ck_assert_int_eq(d->fd, d->steer_fd);
	ck_assert(d->steer_outgoing);
	ck_assert_int_eq(getsockopt(d->steer_fd, SOL_SOCKET, SO_DOMAIN, &dom,
	    &dlen), 0);
	ck_assert_int_eq(dom, AF_PACKET);
	ck_assert_uint_eq(d->features, NETDEV_F_RXCSUM | NETDEV_F_RXGRO |
	    NETDEV_F_TXCSUM | NETDEV_F_TSO);
	netdev_destroy(d);

	/* One the open creates is multi-queue: another queue may join. */
	d = tap_open_alone("mtt1", &err);
	ck_assert_ptr_nonnull(d);
	q = tap_queue("mtt1");
	ck_assert_msg(q >= 0, "a second queue on the TAP tap_open created: "
	    "%s", strerror(errno));
	close(q);
	netdev_destroy(d);
}
END_TEST

/*
 * Two devices on one TAP, as two processes on one address would be (no
 * steering filter here): each sends to the kernel through its own queue,
 * and each receives what the kernel sends, through its own packet socket.
 */
START_TEST(test_tap_two_devices_share_one_interface)
{
	struct netdev *d1, *d2;
	uint8_t f[128];
	size_t len;
	int err, s;

	own_netns();
	d1 = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d1);
	d2 = tap_open_alone(TAPNAME, &err);
	ck_assert_msg(d2 != NULL, "second tap_open: %s", strerror(-err));
	ck_assert_int_ne(d1->fd, d2->fd);
	ifup(TAPNAME, KERNEL_IP);
	s = kernel_udp();

	len = udp_to_kernel(f, sizeof(f), TAPNAME, "from d1", 4001);
	ck_assert_int_eq(netdev_send(d1, f, len, 0), 0);
	kernel_got(s, "from d1", 4001);
	len = udp_to_kernel(f, sizeof(f), TAPNAME, "from d2", 4002);
	ck_assert_int_eq(netdev_send(d2, f, len, 0), 0);
	kernel_got(s, "from d2", 4002);

	kernel_sends();
	ck_assert_msg(got_type(d1, 0x0806, 3000), "d1 missed the kernel's ARP request");
	ck_assert_msg(got_type(d2, 0x0806, 3000), "d2 missed the kernel's ARP request");
	close(s);
	netdev_destroy(d1);
	/* The other goes on alone. */
	ck_assert_msg(got_type(d2, 0x0806, 3000), "d2 missed the kernel's "
	    "repeated ARP request after d1 left");
	netdev_destroy(d2);
}
END_TEST

/*
 * What one device writes into the TAP reaches every packet socket on it,
 * as received by the kernel (a plain one sees it): neither device may take
 * it for something the kernel sent.
 */
START_TEST(test_tap_frames_a_device_writes_are_not_received)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
	    .sll_protocol = htons(ETH_P_ALL) };
	struct pollfd p;
	struct netdev *d1, *d2;
	uint8_t f[128], g[2048];
	bool seen = false;
	int err, spy, i;
	ssize_t n;

	own_netns();
	d1 = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d1);
	d2 = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d2);
	ifup(TAPNAME, KERNEL_IP);
	spy = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(spy, 0);
	sll.sll_ifindex = (int)if_nametoindex(TAPNAME);
	ck_assert_int_eq(bind(spy, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* A broadcast of a local experimental ethertype: the kernel keeps
	 * it to itself. */
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, stack_mac, 6);
	f[12] = 0x88, f[13] = 0xb5;
	memcpy(f + 14, "microtcp, not the kernel", 24);
	ck_assert_int_eq(netdev_send(d1, f, 60, 0), 0);
	p.fd = spy;
	p.events = POLLIN;
	for (i = 0; i < 30 && !seen; i++) {
		socklen_t sl = sizeof(sll);

		if (poll(&p, 1, 100) != 1)
			continue;
		n = recvfrom(spy, g, sizeof(g), 0, (struct sockaddr *)&sll, &sl);
		seen = n >= 60 && memcmp(g, f, 60) == 0;
		if (seen)
			ck_assert_int_ne(sll.sll_pkttype, PACKET_OUTGOING);
	}
	ck_assert_msg(seen, "a plain packet socket on the TAP never saw the "
	    "frame d1 wrote");
	ck_assert_msg(!got_type(d2, 0x88b5, 200), "d2 received what d1 wrote");
	ck_assert_msg(!got_type(d1, 0x88b5, 0), "d1 received what it wrote");
	close(spy);
	netdev_destroy(d1);
	netdev_destroy(d2);
}
END_TEST

/* Send a UDP broadcast on the TAP to each of ports 1..n (n flows, spread
 * over the TAP's queues). */
static void
kernel_broadcasts(int n)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, i;

	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one,
	    sizeof(one)), 0);
	inet_pton(AF_INET, "10.61.0.255", &to.sin_addr);
	for (i = 1; i <= n; i++) {
		to.sin_port = htons((uint16_t)(2000 + i));
		ck_assert_int_eq(sendto(s, "b", 1, 0, (struct sockaddr *)&to,
		    sizeof(to)), 1);
	}
	close(s);
}

/* Frames waiting on queue fd q (read and counted). */
static int
queued(int q)
{
	uint8_t f[70000];
	int n = 0;

	usleep(100 * 1000);
	while (read(q, f, sizeof(f)) > 0)
		n++;
	return n;
}

/* UDP frames d receives in 1 s at most, up to want. */
static int
udp_received(struct netdev *d, int want)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	uint8_t f[2048];
	int n = 0, i;
	ssize_t len;

	for (i = 0; i < 200 && n < want; i++) {
		while ((len = netdev_recv(d, f, sizeof(f), 0)) > 0)
			n += len >= 34 && f[12] == 0x08 && f[13] == 0 &&
			    f[23] == IPPROTO_UDP;
		(void)poll(&p, 1, 5);
	}
	return n;
}

/*
 * Nobody reads the TAP's queues of shared devices: the driver's filter
 * drops every frame the kernel would queue there, on every queue,
 * including one that joined (without the filter) after the first open;
 * the packet socket still gets them all.
 */
START_TEST(test_tap_queues_hold_nothing)
{
	struct netdev *d1, *d2;
	int err, q, held;

	own_netns();
	d1 = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d1);
	q = tap_queue(TAPNAME);
	ck_assert_int_ge(q, 0);
	ifup(TAPNAME, KERNEL_IP);
	ck_assert(d1->link == NETDEV_LINK_ADMIN_DOWN);
	/* A later open waits for the kernel to run the link, and not in
	 * vain: the open that created the interface made its operstate
	 * follow (UNKNOWN for good otherwise). */
	d2 = tap_open_alone(TAPNAME, &err);
	ck_assert_ptr_nonnull(d2);
	ck_assert_int_eq(d2->link, NETDEV_LINK_UP);
	ck_assert_uint_lt(d2->link_wait_ms, 2000);
	netdev_destroy(d2);

	/* Our own queue, joined unfiltered... the open after it filtered it. */
	kernel_broadcasts(64);
	ck_assert_int_eq(udp_received(d1, 64), 64);
	held = queued(q);
	ck_assert_msg(held == 0, "%d of 64 frames queued on a TAP queue "
	    "(the drop filter is missing)", held);
	close(q);

	/* And a queue that joins with none and is never filtered does hold
	 * frames: the check above can fail. */
	q = tap_queue(TAPNAME);
	ck_assert_int_ge(q, 0);
	kernel_broadcasts(64);
	ck_assert_int_eq(udp_received(d1, 64), 64);
	ck_assert_int_gt(queued(q), 0);
	close(q);
	netdev_destroy(d1);
}
END_TEST

/* Run fn with stderr in a pipe; what it wrote there (NUL-terminated). */
static void
capture_stderr(void (*fn)(void *), void *arg, char *out, size_t cap)
{
	int pfd[2], saved;
	ssize_t n;
	size_t got = 0;

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(dup2(pfd[1], STDERR_FILENO), 0);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pfd[1]);
	while (got + 1 < cap && (n = read(pfd[0], out + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(pfd[0]);
}

/* mtcp_stack_open on TAP name, then destroy the stack. */
static void
stack_open_close(void *name)
{
	struct mtcp_config cfg = { .driver = MTCP_DRIVER_TAP, .prefix = 24 };
	struct stack *st;
	char err[256];
	int rc;

	strcpy(cfg.iface, name);
	ck_assert_int_eq(config_parse_ipv4(STACK_IP, &cfg.addr), 0);
	rc = mtcp_stack_open(&cfg, &st, err, sizeof(err));
	ck_assert_msg(rc == 0, "mtcp_stack_open: %s", err);
	mtcp_stack_destroy(st);
}

/*
 * A TAP made single-queue by someone else ("ip tuntap add" without
 * multi_queue) refuses a multi-queue attach: the device then uses its one
 * queue both ways, as before, cannot be steered, and the stack says once
 * that no other process can join.
 */
START_TEST(test_tap_single_queue_interface_falls_back)
{
	struct netdev *d;
	char log[4096];
	int err = 0;

	own_netns();
	tap_make(TAPNAME, false);
	d = tap_open_alone(TAPNAME, &err);
	ck_assert_msg(d != NULL, "tap_open: %s", strerror(-err));
	ck_assert_int_eq(d->steer_fd, -1);
	ck_assert(!d->steer_outgoing);
	ck_assert_int_ge(d->fd, 0);
	ck_assert_uint_eq(d->features, NETDEV_F_RXCSUM | NETDEV_F_RXGRO |
	    NETDEV_F_TXCSUM | NETDEV_F_TSO);
	ifup(TAPNAME, KERNEL_IP);
	ck_assert_msg(arp_answered(d, 1000), "no ARP reply through a "
	    "single-queue TAP");
	/* Its only queue is taken. */
	ck_assert_ptr_null(tap_open_alone(TAPNAME, &err));
	ck_assert_int_eq(err, -EBUSY);
	netdev_destroy(d);

	log_set_all(LOG_WARN);
	capture_stderr(stack_open_close, TAPNAME, log, sizeof(log));
	ck_assert_msg(strstr(log, "mt" "t0 is a single-queue TAP: another "
	    "process on this address cannot join") != NULL,
	    "no fallback line in the log: \"%s\"", log);
	ck_assert_msg(strchr(log, '\n') == strrchr(log, '\n'),
	    "more than one line: \"%s\"", log);
	/* A multi-queue one says nothing of the kind. */
	tap_make("mtt1", true);
	capture_stderr(stack_open_close, "mtt1", log, sizeof(log));
	ck_assert_msg(strstr(log, "single-queue") == NULL, "\"%s\"", log);
}
END_TEST

static Suite *
tap_suite(void)
{
	Suite *s = suite_create("dev_tap");
	TCase *tc = tcase_create("tap");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tap_opens_nonblocking_with_interface_mtu);
	tcase_add_test(tc, test_tap_mtu_comes_from_the_interface);
	tcase_add_test(tc, test_tap_receives_the_kernels_arp_request);
	tcase_add_test(tc, test_tap_send_reaches_a_kernel_socket);
	tcase_add_test(tc, test_tap_failed_write_counts_tx_error);
	tcase_add_test(tc, test_tap_open_waits_until_the_kernel_runs_the_link);
	tcase_add_test(tc, test_tap_multi_queue_interface_is_shared);
	tcase_add_test(tc, test_tap_two_devices_share_one_interface);
	tcase_add_test(tc, test_tap_frames_a_device_writes_are_not_received);
	tcase_add_test(tc, test_tap_queues_hold_nothing);
	tcase_add_test(tc, test_tap_single_queue_interface_falls_back);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tap_suite)
