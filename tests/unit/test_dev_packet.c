/*
 * test_dev_packet.c - the AF_PACKET driver over a veth pair. Each test
 * moves into a network namespace of its own (unshare(CLONE_NEWNET) in
 * Check's forked child) and builds the pair there with ip(8); it all
 * vanishes with the test. Needs root; fails, never skips, without it.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "dev.h"
#include "wire/checksum.h"

#define IP		"PATH=/usr/sbin:/sbin:/usr/bin:/bin ip"
#define ETYPE		0x88b5          /* local experimental */

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0x0b, 0x01 };

static void
sh(const char *cmd)
{
	int st = system(cmd);

	ck_assert_msg(st == 0, "\"%s\" failed (status %d)", cmd, st);
}

/* A private namespace holding veth mtva <-> mtvb, both up. */
static void
veth_netns(void)
{
	if (unshare(CLONE_NEWNET) == -1)
		ck_abort_msg("unshare(CLONE_NEWNET): %s; the AF_PACKET tests "
		    "build a private network namespace and need root",
		    strerror(errno));
	sh(IP " link add mtva mtu 1400 address 02:00:00:00:0a:01 type veth "
	    "peer name mtvb mtu 1400 address 02:00:00:00:0b:01");
	sh(IP " link set mtva up && " IP " link set mtvb up");
}

static size_t
mkframe(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t seq)
{
	size_t i, len = 60 + seq % 1000;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	memcpy(f + 14, &seq, 4);
	for (i = 18; i < len; i++)
		f[i] = (uint8_t)(i ^ seq);
	return len;
}

/* Next frame of ETYPE within 3 s; its length, or 0. */
static ssize_t
wait_frame(struct netdev *d, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	ssize_t n;
	int i;

	for (i = 0; i <= ms / 10; i++) {
		while ((n = netdev_recv(d, buf, cap, 0)) > 0)
			if (n >= 14 && buf[12] == ETYPE >> 8 &&
			    buf[13] == (ETYPE & 0xff))
				return n;
		ck_assert_int_eq(n, -EAGAIN);
		(void)poll(&p, 1, 10);
	}
	return 0;
}

START_TEST(test_packet_takes_mtu_and_mac_from_the_interface)
{
	struct netdev *d;
	uint8_t buf[64];
	int err = 0;

	veth_netns();
	d = packet_open("mtva", &err);
	if (d)
		netdev_steer_none(d);	/* alone: no steering (dev.h) */
	ck_assert_msg(d != NULL, "packet_open: %s", strerror(-err));
	ck_assert_str_eq(d->name, "mtva");
	ck_assert_uint_eq(d->mtu, 1400);
	ck_assert(memcmp(d->hwaddr, mac_a, 6) == 0);
	ck_assert_msg(fcntl(d->fd, F_GETFL) & O_NONBLOCK, "fd is blocking");
	ck_assert_msg(fcntl(d->fd, F_GETFD) & FD_CLOEXEC, "fd lacks CLOEXEC");
	while (netdev_recv(d, buf, sizeof(buf), 0) > 0)
		;                       /* IPv6 chatter after link up */
	ck_assert_int_eq(netdev_recv(d, buf, sizeof(buf), 0), -EAGAIN);
	netdev_destroy(d);

	ck_assert_ptr_null(packet_open("mtnone0", &err));
	ck_assert_int_eq(err, -ENODEV);
	ck_assert_ptr_null(packet_open("an-interface-name-too-long", &err));
	ck_assert_int_eq(err, -ENAMETOOLONG);
}
END_TEST

START_TEST(test_packet_frames_cross_in_order_and_own_sends_are_skipped)
{
	static const uint8_t elsewhere[6] = { 0x02, 0x99, 0, 0, 0, 0x01 };
	struct netdev *a, *b;
	uint8_t f[1600], g[1600];
	uint32_t i;
	size_t len;
	ssize_t n;
	int err;

	veth_netns();
	a = packet_open("mtva", &err);
	if (a)
		netdev_steer_none(a);	/* alone: no steering (dev.h) */
	b = packet_open("mtvb", &err);
	if (b)
		netdev_steer_none(b);	/* alone: no steering (dev.h) */
	ck_assert(a != NULL && b != NULL);
	for (i = 0; i < 100; i++) {
		/* Odd frames are for another MAC: promiscuous b sees them. */
		len = mkframe(f, i % 2 ? elsewhere : mac_b, mac_a, i);
		ck_assert_int_eq(netdev_send(a, f, len, 0), 0);
	}
	for (i = 0; i < 100; i++) {
		len = mkframe(f, i % 2 ? elsewhere : mac_b, mac_a, i);
		n = wait_frame(b, g, sizeof(g), 3000);
		ck_assert_msg(n == (ssize_t)len, "frame %u: got %zd bytes, want "
		    "%zu", i, n, len);
		ck_assert_msg(memcmp(f, g, len) == 0, "frame %u differs", i);
	}
	ck_assert_uint_eq(a->stats.tx_frames, 100);
	ck_assert_uint_ge(b->stats.rx_frames, 100);
	/* a never reads back what it sent. */
	ck_assert_int_eq(wait_frame(a, g, sizeof(g), 200), 0);

	/* The other way, into a short buffer. */
	len = mkframe(f, mac_a, mac_b, 7);
	ck_assert_int_eq(netdev_send(b, f, len, 0), 0);
	ck_assert_int_eq(wait_frame(a, g, 20, 3000), 20);
	ck_assert(memcmp(f, g, 20) == 0);
	ck_assert_int_eq(wait_frame(b, g, sizeof(g), 200), 0);
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_packet_oversize_send_is_refused_and_counted)
{
	struct netdev *a;
	uint8_t f[1600];
	size_t len;
	int err;

	veth_netns();
	a = packet_open("mtva", &err);
	if (a)
		netdev_steer_none(a);	/* alone: no steering (dev.h) */
	ck_assert_ptr_nonnull(a);
	len = mkframe(f, mac_b, mac_a, 0);
	(void)len;
	memset(f + 14, 0, 1500);
	ck_assert_int_eq(netdev_send(a, f, 14 + 1400, 0), 0);
	ck_assert_int_eq(netdev_send(a, f, 14 + 1401, 0), -EMSGSIZE);
	ck_assert_uint_eq(a->stats.tx_errors, 1);
	ck_assert_uint_eq(a->stats.tx_frames, 1);
	netdev_destroy(a);
}
END_TEST

/* An Ethernet/IPv4/TCP frame from a to b with plen payload bytes and the
 * TCP checksum left partial (the folded pseudo-header sum), as the stack
 * builds one for checksum offload and TSO. Returns its length. */
static size_t
mktcp(uint8_t *f, size_t plen)
{
	uint8_t *ip = f + 14, *th = ip + 20;
	uint32_t src = 0x0a000001, dst = 0x0a000002;
	size_t i;

	memset(f, 0, 14 + 40);
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(40 + plen));
	ip[6] = 0x40;                   /* DF */
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	wr16(ip + 10, inet_checksum(ip, 20));
	wr16(th, 40000);
	wr16(th + 2, 80);
	wr32(th + 4, 1000);
	wr32(th + 8, 1);
	th[12] = 5 << 4;
	th[13] = 0x18;                  /* PSH ACK */
	wr16(th + 14, 512);
	for (i = 0; i < plen; i++)
		th[20 + i] = (uint8_t)(i * 7 + 3);
	wr16(th + 16, (uint16_t)~csum_finish(csum_pseudo_ipv4(src, dst, 6,
	    (uint16_t)(20 + plen))));
	return 14 + 40 + plen;
}

/* A TCP frame of ours with a full checksum: zero sum over the pseudo-header
 * and segment. */
static int
tcp_csum_ok(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14;

	return csum_finish(csum_add(csum_pseudo_ipv4(rd32(ip + 12), rd32(ip + 16),
	    6, (uint16_t)(len - 34)), ip + 20, len - 34)) == 0;
}

static ssize_t
wait_ip(struct netdev *d, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	ssize_t n;
	int i;

	for (i = 0; i <= ms / 10; i++) {
		while ((n = netdev_recv(d, buf, cap, 0)) > 0)
			if (n >= 54 && buf[12] == 0x08 && buf[13] == 0 && buf[23] == 6)
				return n;
		(void)poll(&p, 1, 10);
	}
	return 0;
}

/*
 * The offloads over veth: a 10000-byte TCP super-frame sent with TSO and
 * checksum offload reaches the peer's AF_PACKET socket whole, marked as a
 * merged frame of 1360-byte segments whose checksum is left partial; once
 * completed it verifies. (Before the virtio-net header, such frames from
 * a kernel sender were cut to the MTU and lost.)
 */
START_TEST(test_packet_super_frames_cross_whole_with_offload_info)
{
	static uint8_t f[14 + 40 + 10000], g[65536];
	struct netdev_offload o = { .csum_start = 34, .csum_offset = 16,
				    .gso_size = 1360, .hdr_len = 54 };
	struct netdev *a, *b;
	size_t len;
	ssize_t n;
	int err;

	veth_netns();
	a = packet_open("mtva", &err);
	if (a)
		netdev_steer_none(a);	/* alone: no steering (dev.h) */
	b = packet_open("mtvb", &err);
	if (b)
		netdev_steer_none(b);	/* alone: no steering (dev.h) */
	ck_assert(a != NULL && b != NULL);
	ck_assert_uint_eq(a->features & (NETDEV_F_TSO | NETDEV_F_TXCSUM | NETDEV_F_RXGRO),
	    NETDEV_F_TSO | NETDEV_F_TXCSUM | NETDEV_F_RXGRO);

	len = mktcp(f, 10000);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	ck_assert_uint_eq(a->stats.tx_gso, 1);
	n = wait_ip(b, g, sizeof(g), 3000);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_uint_eq(b->rx.gso_size, 1360);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_PARTIAL);
	ck_assert_uint_eq(b->stats.rx_merged, 1);
	ck_assert(!tcp_csum_ok(g, (size_t)n));
	netdev_csum_complete(g, (size_t)n);
	ck_assert(tcp_csum_ok(g, (size_t)n));
	ck_assert(memcmp(f + 54, g + 54, 10000) == 0);

	/* Checksum offload alone, one MTU-sized frame. */
	o.gso_size = 0;
	len = mktcp(f, 1000);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	n = wait_ip(b, g, sizeof(g), 3000);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_uint_eq(b->rx.gso_size, 0);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_PARTIAL);

	/* A plain frame: nothing to vouch for. */
	netdev_csum_complete(f, len);
	ck_assert_int_eq(netdev_send(a, f, len, 0), 0);
	n = wait_ip(b, g, sizeof(g), 3000);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_NONE);
	ck_assert(tcp_csum_ok(g, (size_t)n));
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

static Suite *
packet_suite(void)
{
	Suite *s = suite_create("dev_packet");
	TCase *tc = tcase_create("packet");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_packet_takes_mtu_and_mac_from_the_interface);
	tcase_add_test(tc,
	    test_packet_frames_cross_in_order_and_own_sends_are_skipped);
	tcase_add_test(tc, test_packet_oversize_send_is_refused_and_counted);
	tcase_add_test(tc, test_packet_super_frames_cross_whole_with_offload_info);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(packet_suite)
