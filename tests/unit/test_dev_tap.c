/*
 * test_dev_tap.c - the TAP driver against the real kernel, hermetically:
 * every test first moves into a network namespace of its own
 * (unshare(CLONE_NEWNET); Check runs each test in a forked child), so the
 * TAP and its address vanish with the test. Needs root (CAP_SYS_ADMIN and
 * CAP_NET_ADMIN); fails, never skips, without it.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "dev.h"

#define TAPNAME		"mtt0"
#define KERNEL_IP	"10.61.0.1"
#define STACK_IP	"10.61.0.2"

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
	d = tap_open(TAPNAME, &err);
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
	netdev_destroy(d);

	/* The kernel names it when we do not. */
	d = tap_open("", &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_msg(strncmp(d->name, "tap", 3) == 0, "name \"%s\"", d->name);
	netdev_destroy(d);

	ck_assert_ptr_null(tap_open("a-name-far-too-long", &err));
	ck_assert_int_eq(err, -ENAMETOOLONG);
}
END_TEST

START_TEST(test_tap_mtu_comes_from_the_interface)
{
	struct netdev *d;
	struct ifreq ifr;
	int err, s;

	own_netns();
	d = tap_open(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	/* Keep the interface across a close, change its MTU, reopen. */
	ck_assert_int_eq(ioctl(d->fd, TUNSETPERSIST, 1), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ifreq_of(&ifr, TAPNAME);
	ifr.ifr_mtu = 9000;
	ck_assert_msg(ioctl(s, SIOCSIFMTU, &ifr) == 0, "SIOCSIFMTU: %s",
	    strerror(errno));
	close(s);
	netdev_destroy(d);
	d = tap_open(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->mtu, 9000);
	ck_assert_int_eq(ioctl(d->fd, TUNSETPERSIST, 0), 0);
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
	d = tap_open(TAPNAME, &err);
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
	d = tap_open(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(d->link, NETDEV_LINK_ADMIN_DOWN);
	ck_assert_uint_lt(d->link_wait_ms, 1000);
	ck_assert_int_eq(ioctl(d->fd, TUNSETPERSIST, 1), 0);
	netdev_destroy(d);
	ifup(TAPNAME, KERNEL_IP);

	for (i = 0; i < 300; i++) {
		d = tap_open(TAPNAME, &err);
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

START_TEST(test_tap_send_reaches_a_kernel_socket)
{
	static const char msg[] = "hello from microtcp";
	struct sockaddr_in me = { .sin_family = AF_INET,
	    .sin_port = htons(5000) }, from;
	socklen_t flen = sizeof(from);
	struct pollfd p;
	struct netdev *d;
	uint8_t f[128], *ip, *udp;
	char got[64];
	size_t len;
	uint16_t sum;
	int err, s;
	ssize_t n;

	own_netns();
	d = tap_open(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	ifup(TAPNAME, KERNEL_IP);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, KERNEL_IP, &me.sin_addr);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&me, sizeof(me)), 0);

	/* Ethernet + IPv4 + UDP (checksum 0: none) by hand. */
	memset(f, 0, sizeof(f));
	kernel_mac(TAPNAME, f);
	memcpy(f + 6, stack_mac, 6);
	f[12] = 0x08;
	ip = f + 14;
	udp = ip + 20;
	len = 20 + 8 + sizeof(msg) - 1;
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
	udp[0] = 4000 >> 8;
	udp[1] = 4000 & 0xff;
	udp[2] = 5000 >> 8;
	udp[3] = 5000 & 0xff;
	udp[5] = (uint8_t)(len - 20);
	memcpy(udp + 8, msg, sizeof(msg) - 1);

	ck_assert_int_eq(netdev_send(d, f, 14 + len, 0), 0);
	ck_assert_uint_eq(d->stats.tx_frames, 1);
	ck_assert_uint_eq(d->stats.tx_bytes, 14 + len);
	p.fd = s;
	p.events = POLLIN;
	ck_assert_msg(poll(&p, 1, 3000) == 1, "kernel socket got nothing");
	n = recvfrom(s, got, sizeof(got), 0, (struct sockaddr *)&from, &flen);
	ck_assert_int_eq(n, (ssize_t)sizeof(msg) - 1);
	ck_assert(memcmp(got, msg, (size_t)n) == 0);
	ck_assert_uint_eq(ntohs(from.sin_port), 4000);
	ck_assert_str_eq(inet_ntoa(from.sin_addr), STACK_IP);
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
	d = tap_open(TAPNAME, &err);
	ck_assert_ptr_nonnull(d);
	memset(f, 0xff, sizeof(f));
	/* Shorter than an Ethernet header: the kernel refuses it. */
	ck_assert_int_lt(netdev_send(d, f, 4, 0), 0);
	ck_assert_uint_eq(d->stats.tx_errors, 1);
	ck_assert_uint_eq(d->stats.tx_frames, 0);
	netdev_destroy(d);
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
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tap_suite)
