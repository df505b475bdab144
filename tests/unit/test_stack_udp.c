/*
 * test_stack_udp.c - UDP (RFC 768, RFC 1122 4.1) and its socket API, which
 * must answer as Linux's does: the same return values, the errno negated.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "blocking.h"
#include "check_main.h"
#include "stack_harness.h"
#include "wire/checksum.h"

#define PEER_PORT       4000
#define OUR_PORT        5000

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

/* An unbound UDP socket. */
static struct mtcp_sock *udp_socket(void)
{
	struct mtcp_sock *s;

	ck_assert_int_eq(mtcp_socket(h.st, SOCK_DGRAM, &s), 0);
	return s;
}

static int bind_to(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = h_sin(addr, port);

	return mtcp_bind(s, &a);
}

static int connect_to(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = h_sin(addr, port);

	return mtcp_connect(s, (const struct sockaddr *)&a, sizeof(a));
}

static void set_opt(struct mtcp_sock *s, int name, int v)
{
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, name, &v, sizeof(v)), 0);
}

static int get_opt(struct mtcp_sock *s, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(mtcp_getsockopt(s, SOL_SOCKET, name, &v, &len), 0);
	ck_assert_uint_eq(len, sizeof(v));
	return v;
}

static uint16_t local_port(struct mtcp_sock *s)
{
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	return ntohs(a.sin_port);
}

static void assert_sin(const struct sockaddr_in *a, uint32_t addr, uint16_t port,
		       const char *what)
{
	ck_assert_msg(a->sin_family == AF_INET, "%s: family %d, expected AF_INET",
		      what, a->sin_family);
	ck_assert_msg(ntohl(a->sin_addr.s_addr) == addr && ntohs(a->sin_port) == port,
		      "%s: %08x:%u, expected %08x:%u", what,
		      ntohl(a->sin_addr.s_addr), ntohs(a->sin_port), addr, port);
}

static void send_udp_from(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
			  const char *data)
{
	uint8_t pkt[IPV4_HLEN + UDP_HLEN + 256];

	h_send_packet(&h, pkt, h_build_udp(&h, pkt, src, dst, sport, dport, data, strlen(data)),
		    dst == SUBNET_BCAST || dst == INADDR_BROADCAST);
}

/* Exactly one datagram waiting on s, equal to want. */
static void expect_datagram(struct mtcp_sock *s, const char *want, const char *what)
{
	char buf[256];
	ssize_t n = mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL);

	ck_assert_msg(n == (ssize_t)strlen(want), "%s: recv returned %zd, expected %zu",
		      what, n, strlen(want));
	ck_assert_msg(memcmp(buf, want, (size_t)n) == 0, "%s: wrong bytes delivered", what);
	n = mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL);
	ck_assert_msg(n == -EAGAIN, "%s: second recv returned %zd, expected -EAGAIN", what, n);
}

static void expect_nothing(struct mtcp_sock *s, const char *what)
{
	char buf[64];
	ssize_t n = mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL);

	ck_assert_msg(n == -EAGAIN, "%s: recv returned %zd, expected -EAGAIN", what, n);
}

/* --- bind --- */

START_TEST(test_bind_same_port_twice_is_eaddrinuse)
{
	struct mtcp_sock *a = udp_socket(), *b = udp_socket();

	ck_assert_int_eq(bind_to(a, 0, OUR_PORT), 0);
	ck_assert_int_eq(bind_to(b, 0, OUR_PORT), -EADDRINUSE);
	/* The failed bind left b unbound: another port still works. */
	ck_assert_int_eq(bind_to(b, 0, OUR_PORT + 1), 0);
	mtcp_close(a);
	mtcp_close(b);
}
END_TEST

START_TEST(test_bind_wildcard_and_specific_overlap_is_eaddrinuse)
{
	struct mtcp_sock *a = udp_socket(), *b = udp_socket();
	struct mtcp_sock *c = udp_socket(), *d = udp_socket();

	ck_assert_int_eq(bind_to(a, 0, OUR_PORT), 0);
	ck_assert_int_eq(bind_to(b, STACK_IP, OUR_PORT), -EADDRINUSE);
	ck_assert_int_eq(bind_to(c, STACK_IP, OUR_PORT + 1), 0);
	ck_assert_int_eq(bind_to(d, 0, OUR_PORT + 1), -EADDRINUSE);
	/* Two different specific addresses do not overlap. */
	ck_assert_int_eq(bind_to(d, SUBNET_BCAST, OUR_PORT + 1), 0);
	mtcp_close(a);
	mtcp_close(b);
	mtcp_close(c);
	mtcp_close(d);
}
END_TEST

START_TEST(test_bind_same_port_allowed_when_both_reuseaddr)
{
	struct mtcp_sock *a = udp_socket(), *b = udp_socket(), *c = udp_socket();

	set_opt(a, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(a, 0, OUR_PORT), 0);
	/* Only one side asking is not enough (Linux udp_lib_lport_inuse). */
	ck_assert_int_eq(bind_to(c, 0, OUR_PORT), -EADDRINUSE);
	set_opt(b, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(b, 0, OUR_PORT), 0);
	ck_assert_int_eq(get_opt(b, SO_REUSEADDR), 1);
	mtcp_close(a);
	mtcp_close(b);
	mtcp_close(c);
}
END_TEST

START_TEST(test_bind_foreign_address_is_eaddrnotavail)
{
	struct mtcp_sock *s = udp_socket();

	ck_assert_int_eq(bind_to(s, OTHER_IP, OUR_PORT), -EADDRNOTAVAIL);
	ck_assert_int_eq(bind_to(s, FAR_IP, OUR_PORT), -EADDRNOTAVAIL);
	ck_assert_int_eq(bind_to(s, STACK_IP, OUR_PORT), 0);
	mtcp_close(s);
}
END_TEST

START_TEST(test_second_bind_is_einval)
{
	struct mtcp_sock *s = udp_socket();

	ck_assert_int_eq(bind_to(s, 0, OUR_PORT), 0);
	ck_assert_int_eq(bind_to(s, 0, OUR_PORT + 1), -EINVAL);
	ck_assert_uint_eq(local_port(s), OUR_PORT);
	mtcp_close(s);
}
END_TEST

START_TEST(test_bind_af_unspec_any_accepted_other_families_refused)
{
	struct mtcp_sock *s = udp_socket(), *t = udp_socket();
	struct sockaddr_in a = h_sin(0, OUR_PORT);

	/* Linux inet_bind: AF_UNSPEC passes as AF_INET for INADDR_ANY only. */
	a.sin_family = AF_UNSPEC;
	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	ck_assert_uint_eq(local_port(s), OUR_PORT);
	a = h_sin(STACK_IP, OUR_PORT + 1);
	a.sin_family = AF_UNSPEC;
	ck_assert_int_eq(mtcp_bind(t, &a), -EAFNOSUPPORT);
	a.sin_family = AF_INET6;
	ck_assert_int_eq(mtcp_bind(t, &a), -EAFNOSUPPORT);
	mtcp_close(s);
	mtcp_close(t);
}
END_TEST

START_TEST(test_bind_port_zero_picks_distinct_ephemeral_ports)
{
	struct mtcp_sock *s[20];
	uint16_t port[20];

	for (int i = 0; i < 20; i++) {
		s[i] = udp_socket();
		ck_assert_int_eq(bind_to(s[i], 0, 0), 0);
		port[i] = local_port(s[i]);
		ck_assert_msg(port[i] >= 32768 && port[i] <= 60999,
			      "ephemeral port %u outside Linux's 32768-60999", port[i]);
		for (int j = 0; j < i; j++)
			ck_assert_msg(port[i] != port[j], "sockets %d and %d both got port %u",
				      j, i, port[i]);
	}
	for (int i = 0; i < 20; i++)
		mtcp_close(s[i]);
}
END_TEST

/* --- send --- */

START_TEST(test_sendto_without_address_unconnected_is_edestaddrreq)
{
	struct mtcp_sock *s = udp_socket();
	struct frame f;

	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, NULL), -EDESTADDRREQ);
	ck_assert(!h_next(&h, &f));
	mtcp_close(s);
}
END_TEST

START_TEST(test_sendto_port_zero_is_einval)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in to = h_sin(PEER_IP, 0);
	struct frame f;

	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), -EINVAL);
	ck_assert(!h_next(&h, &f));
	mtcp_close(s);
}
END_TEST

START_TEST(test_payload_65508_is_emsgsize)
{
	static uint8_t big[65508];
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in to = h_sin(PEER_IP, PEER_PORT);
	struct frame f;

	/* 65508 + 8 + 20 exceeds the 65535 an IPv4 total length can say. */
	ck_assert_int_eq(mtcp_sendto(s, big, sizeof(big), 0, &to), -EMSGSIZE);
	ck_assert_msg(!h_next(&h, &f), "something was sent for an oversized datagram");
	mtcp_close(s);
}
END_TEST

START_TEST(test_payload_65507_goes_out_in_fragments_that_reassemble)
{
	static uint8_t data[65507], whole[IPV4_MAXLEN];
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in to = h_sin(PEER_IP, PEER_PORT);
	struct frame f;
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	ck_assert_int_eq(mtcp_sendto(s, data, sizeof(data), 0, &to), (ssize_t)sizeof(data));

	/* RFC 791 3.2 rules are asserted by h_collect. */
	struct ipv4_repr first;
	size_t end = h_collect(&h, whole, sizeof(whole), &first, &n);
	ck_assert_uint_eq(first.proto, IPPROTO_UDP_);
	ck_assert_msg(!h_next(&h, &f), "a frame followed the last fragment");
	/* 65515 bytes of UDP in 1480-byte pieces. */
	ck_assert_uint_eq(n, (UDP_HLEN + sizeof(data) + 1479) / 1480);
	ck_assert_uint_eq(end, UDP_HLEN + sizeof(data));

	struct udp_repr u;
	ck_assert_msg(udp_parse(whole, end, STACK_IP, PEER_IP, &u) == WIRE_OK,
		      "reassembled datagram does not verify");
	ck_assert_uint_eq(u.dport, PEER_PORT);
	ck_assert_uint_eq(u.len, end);
	ck_assert_msg(memcmp(whole + UDP_HLEN, data, sizeof(data)) == 0,
		      "reassembled payload differs from what was sent");
	mtcp_close(s);
}
END_TEST

START_TEST(test_broadcast_without_so_broadcast_is_eacces)
{
	const uint32_t dst[] = { SUBNET_BCAST, INADDR_BROADCAST };
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in me = h_sin(STACK_IP, 0);
	struct frame f;

	ck_assert_int_eq(mtcp_bind(s, &me), 0);

	for (int i = 0; i < 2; i++) {
		struct sockaddr_in to = h_sin(dst[i], PEER_PORT);
		ck_assert_msg(mtcp_sendto(s, "x", 1, 0, &to) == -EACCES,
			      "sendto %08x without SO_BROADCAST was not EACCES", dst[i]);
		ck_assert_msg(connect_to(s, dst[i], PEER_PORT) == -EACCES,
			      "connect %08x without SO_BROADCAST was not EACCES", dst[i]);
	}
	ck_assert(!h_next(&h, &f));
	mtcp_close(s);
}
END_TEST

START_TEST(test_limited_broadcast_unbound_without_gateway_is_enetunreach)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in to = h_sin(INADDR_BROADCAST, PEER_PORT);
	struct frame f;

	set_opt(s, SO_BROADCAST, 1);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), -ENETUNREACH);
	ck_assert(!h_next(&h, &f));
	mtcp_close(s);
}
END_TEST

START_TEST(test_broadcast_with_so_broadcast_goes_to_ethernet_broadcast)
{
	const uint32_t dst[] = { SUBNET_BCAST, INADDR_BROADCAST };
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in me = h_sin(STACK_IP, 0);
	struct frame f;

	/* Bound to our address: that names the interface for the limited
	 * broadcast (unbound and without a default route it is
	 * ENETUNREACH, as on Linux). */
	ck_assert_int_eq(mtcp_bind(s, &me), 0);

	set_opt(s, SO_BROADCAST, 1);
	ck_assert_int_eq(get_opt(s, SO_BROADCAST), 1);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in to = h_sin(dst[i], PEER_PORT);
		ck_assert_int_eq(mtcp_sendto(s, "hello", 5, 0, &to), 5);
		ck_assert_msg(h_next(&h, &f), "nothing sent to %08x", dst[i]);
		ck_assert_msg(f.is_udp, "frame to %08x is not UDP (ARP for a broadcast?)", dst[i]);
		ck_assert_msg(eth_is_broadcast(f.eth.dst), "frame to %08x not to ff:ff:ff:ff:ff:ff",
			      dst[i]);
		ck_assert_uint_eq(f.ip.dst, dst[i]);
		ck_assert_uint_eq(f.ip.src, STACK_IP);
		ck_assert_uint_eq(f.udp.dport, PEER_PORT);
		ck_assert_mem_eq(f.data, "hello", 5);
	}
	mtcp_close(s);
}
END_TEST

START_TEST(test_connected_send_without_address_goes_to_peer)
{
	struct mtcp_sock *s = udp_socket();
	struct frame f;

	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_sendto(s, "abc", 3, 0, NULL), 3);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_udp);
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	ck_assert_uint_eq(f.ip.dst, PEER_IP);
	ck_assert_uint_eq(f.udp.dport, PEER_PORT);
	ck_assert_uint_eq(f.udp.sport, local_port(s));
	ck_assert_uint_eq(f.data_len, 3);
	ck_assert_mem_eq(f.data, "abc", 3);
	mtcp_close(s);
}
END_TEST

START_TEST(test_emitted_datagram_checksum_verifies)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in to = h_sin(PEER_IP, PEER_PORT);
	struct frame f;

	/* An odd length exercises the checksum's padding byte. */
	ck_assert_int_eq(mtcp_sendto(s, "odd", 3, 0, &to), 3);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_udp);    /* h_next has run udp_parse, which verifies */
	ck_assert_msg(rd16(f.l4 + 6) != 0, "checksum left out (zero)");
	uint32_t sum = csum_pseudo_ipv4(f.ip.src, f.ip.dst, IPPROTO_UDP_, (uint16_t)f.l4_len);
	ck_assert_msg(csum_finish(csum_add(sum, f.l4, f.l4_len)) == 0,
		      "UDP checksum does not verify over the pseudo-header");
	ck_assert_uint_eq(f.udp.len, f.l4_len);
	mtcp_close(s);
}
END_TEST

/* --- connect, names --- */

START_TEST(test_connected_socket_ignores_other_sources)
{
	struct mtcp_sock *s = udp_socket();

	ck_assert_int_eq(bind_to(s, 0, OUR_PORT), 0);
	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	send_udp_from(OTHER_IP, PEER_PORT, STACK_IP, OUR_PORT, "other host");
	send_udp_from(PEER_IP, PEER_PORT + 1, STACK_IP, OUR_PORT, "other port");
	expect_nothing(s, "datagrams from other sources");
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_NO_SOCKET), 2);
	send_udp_from(PEER_IP, PEER_PORT, STACK_IP, OUR_PORT, "peer");
	expect_datagram(s, "peer", "datagram from the connected peer");
	h_drain(&h);
	mtcp_close(s);
}
END_TEST

START_TEST(test_getsockname_and_getpeername)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, 0, 0, "unbound getsockname");
	ck_assert_int_eq(mtcp_getpeername(s, &a), -ENOTCONN);
	ck_assert_int_eq(bind_to(s, 0, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, 0, OUR_PORT, "bound getsockname");
	ck_assert_int_eq(mtcp_getpeername(s, &a), -ENOTCONN);

	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_getpeername(s, &a), 0);
	assert_sin(&a, PEER_IP, PEER_PORT, "getpeername");
	/* Linux ip4_datagram_connect fixes the source address routing chose. */
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, STACK_IP, OUR_PORT, "connected getsockname");
	mtcp_close(s);
}
END_TEST

START_TEST(test_connect_binds_an_ephemeral_port)
{
	struct mtcp_sock *s = udp_socket();

	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	uint16_t port = local_port(s);
	ck_assert_msg(port >= 32768 && port <= 60999, "connect bound port %u", port);
	ck_assert_int_eq(bind_to(s, 0, OUR_PORT), -EINVAL);
	mtcp_close(s);
}
END_TEST

START_TEST(test_connect_af_unspec_disconnects)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct sockaddr_in a;

	ck_assert_int_eq(bind_to(s, 0, OUR_PORT), 0);
	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_connect(s, &unspec, sizeof(unspec)), 0);
	ck_assert_int_eq(mtcp_getpeername(s, &a), -ENOTCONN);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, NULL), -EDESTADDRREQ);
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, 0, OUR_PORT, "getsockname after disconnect");
	/* Any source is welcome again. */
	send_udp_from(OTHER_IP, 7777, STACK_IP, OUR_PORT, "anyone");
	expect_datagram(s, "anyone", "datagram after disconnect");
	mtcp_close(s);
}
END_TEST

/* --- recv --- */

START_TEST(test_recv_empty_nonblocking_is_eagain)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	char buf[8];

	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), -EAGAIN);
	/* MSG_DONTWAIT does the same (no stack call blocks). */
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL), -EAGAIN);
	mtcp_close(s);
}
END_TEST

START_TEST(test_msg_peek_leaves_datagram_queued)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	char buf[16];

	h_send_udp(&h, PEER_PORT, OUR_PORT, "first", 5);
	h_send_udp(&h, PEER_PORT, OUR_PORT, "second", 6);
	for (int i = 0; i < 2; i++) {
		memset(buf, 0, sizeof(buf));
		ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), MSG_PEEK, NULL), 5);
		ck_assert_str_eq(buf, "first");
	}
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), 5);
	ck_assert_str_eq(buf, "first");
	expect_datagram(s, "second", "datagram after the peeked one");
	mtcp_close(s);
}
END_TEST

START_TEST(test_truncated_recv_sets_msg_trunc_and_discards_rest)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	char buf[4];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	h_send_udp(&h, PEER_PORT, OUR_PORT, "0123456789", 10);
	h_send_udp(&h, PEER_PORT, OUR_PORT, "ab", 2);
	ck_assert_int_eq(mtcp_recvmsg(s, &msg, 0), 4);
	ck_assert_msg(msg.msg_flags & MSG_TRUNC, "MSG_TRUNC not set in msg_flags (0x%x)",
		      msg.msg_flags);
	ck_assert_mem_eq(buf, "0123", 4);
	/* The rest of a datagram is gone: the next read is the next one. */
	ck_assert_int_eq(mtcp_recvmsg(s, &msg, 0), 2);
	ck_assert_msg(!(msg.msg_flags & MSG_TRUNC), "MSG_TRUNC set for a whole datagram");
	ck_assert_mem_eq(buf, "ab", 2);
	mtcp_close(s);
}
END_TEST

START_TEST(test_msg_trunc_flag_returns_full_length)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	char buf[4];

	h_send_udp(&h, PEER_PORT, OUR_PORT, "0123456789", 10);
	/* Linux udp_recvmsg: with MSG_TRUNC the real length is returned. */
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), MSG_TRUNC | MSG_PEEK, NULL), 10);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), MSG_TRUNC, NULL), 10);
	ck_assert_mem_eq(buf, "0123", 4);
	expect_nothing(s, "after the truncated read");
	mtcp_close(s);
}
END_TEST

START_TEST(test_recvfrom_fills_source_address)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	struct sockaddr_in from;
	char buf[8];
	char small[4];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_name = small, .msg_namelen = sizeof(small),
			      .msg_iov = &iov, .msg_iovlen = 1 };

	memset(&from, 0xa5, sizeof(from));
	h_send_udp(&h, PEER_PORT, OUR_PORT, "hi", 2);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, &from), 2);
	assert_sin(&from, PEER_IP, PEER_PORT, "recvfrom source");

	/* A short name buffer gets what fits; namelen says the real size. */
	h_send_udp(&h, PEER_PORT, OUR_PORT, "hi", 2);
	ck_assert_int_eq(mtcp_recvmsg(s, &msg, 0), 2);
	ck_assert_uint_eq(msg.msg_namelen, sizeof(struct sockaddr_in));
	mtcp_close(s);
}
END_TEST

START_TEST(test_rcvtimeo_blocking_recv_times_out_eagain)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 }, got;
	socklen_t len = sizeof(got);
	struct timespec t0, t1;
	char buf[8];

	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ck_assert_int_eq(mtcp_getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
	ck_assert_int_eq(got.tv_usec, 100000);
	ck_assert_uint_eq(mtcp_sock_timeo(s, SO_RCVTIMEO), 100000);
	/* The blocking recv (blocking.h) waits out the stack's SO_RCVTIMEO. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ssize_t n = bw_recvfrom(s, buf, sizeof(buf), 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_msg(n == -EAGAIN, "recv returned %zd, expected -EAGAIN", n);
	ck_assert_msg(ms >= 90, "recv gave up after %ld ms, SO_RCVTIMEO is 100 ms", ms);
	mtcp_close(s);
}
END_TEST

/* --- input --- */

START_TEST(test_bad_checksum_dropped_not_delivered)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	uint8_t pkt[64];
	size_t len = h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT, OUR_PORT, "data", 4);

	pkt[IPV4_HLEN + 6] ^= 0x40;
	h_send_packet(&h, pkt, len, false);
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_BAD_CSUM), 1);
	expect_nothing(s, "datagram with a bad checksum");
	mtcp_close(s);
}
END_TEST

START_TEST(test_length_field_beyond_ip_payload_is_malformed)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	uint8_t pkt[64];
	size_t len = h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT, OUR_PORT, "data", 4);

	wr16(pkt + IPV4_HLEN + 4, UDP_HLEN + 40);      /* claims 40 bytes, has 4 */
	wr16(pkt + IPV4_HLEN + 6, 0);
	h_send_packet(&h, pkt, len, false);
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_MALFORMED), 1);
	expect_nothing(s, "datagram longer than its IP payload");
	mtcp_close(s);
}
END_TEST

START_TEST(test_zero_checksum_accepted)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	uint8_t pkt[64];
	size_t len = h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT, OUR_PORT, "nocsum", 6);

	/* RFC 768: zero means the sender computed none. */
	wr16(pkt + IPV4_HLEN + 6, 0);
	h_send_packet(&h, pkt, len, false);
	expect_datagram(s, "nocsum", "datagram without checksum");
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_BAD_CSUM), 0);
	mtcp_close(s);
}
END_TEST

START_TEST(test_full_receive_buffer_drops_rcvbuf_full)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	static uint8_t data[1000];
	char buf[sizeof(data)];
	int got = 0;

	set_opt(s, SO_RCVBUF, 1);
	for (int i = 0; i < 10; i++)
		h_send_udp(&h, PEER_PORT, OUR_PORT, data, sizeof(data));
	while (mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL) == (ssize_t)sizeof(data))
		got++;
	uint64_t dropped = h_drop(&h, DROP_UDP_RCVBUF_FULL);
	ck_assert_msg(got >= 1 && dropped >= 1,
		      "%d delivered, %llu dropped: expected some of each", got,
		      (unsigned long long)dropped);
	ck_assert_uint_eq(got + dropped, 10);
	/* Reading made room again. */
	h_send_udp(&h, PEER_PORT, OUR_PORT, "again", 5);
	expect_datagram(s, "again", "datagram after the buffer drained");
	mtcp_close(s);
}
END_TEST

START_TEST(test_broadcast_delivered_to_every_matching_socket)
{
	struct mtcp_sock *a = udp_socket(), *b = udp_socket(), *c = udp_socket();

	set_opt(a, SO_REUSEADDR, 1);
	set_opt(b, SO_REUSEADDR, 1);
	set_opt(c, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(a, 0, OUR_PORT), 0);
	ck_assert_int_eq(bind_to(b, 0, OUR_PORT), 0);
	/* Bound to our unicast address: a broadcast is not for it. */
	ck_assert_int_eq(bind_to(c, STACK_IP, OUR_PORT), 0);
	send_udp_from(PEER_IP, PEER_PORT, SUBNET_BCAST, OUR_PORT, "subnet");
	expect_datagram(a, "subnet", "first socket, subnet broadcast");
	expect_datagram(b, "subnet", "second socket, subnet broadcast");
	expect_nothing(c, "socket bound to our address, subnet broadcast");
	send_udp_from(PEER_IP, PEER_PORT, INADDR_BROADCAST, OUR_PORT, "limited");
	expect_datagram(a, "limited", "first socket, limited broadcast");
	expect_datagram(b, "limited", "second socket, limited broadcast");
	expect_nothing(c, "socket bound to our address, limited broadcast");
	mtcp_close(a);
	mtcp_close(b);
	mtcp_close(c);
}
END_TEST

START_TEST(test_unicast_goes_to_most_specific_socket)
{
	struct mtcp_sock *any = udp_socket(), *ours = udp_socket();

	set_opt(any, SO_REUSEADDR, 1);
	set_opt(ours, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(ours, STACK_IP, OUR_PORT), 0);
	ck_assert_int_eq(bind_to(any, 0, OUR_PORT), 0);
	h_send_udp(&h, PEER_PORT, OUR_PORT, "one", 3);
	expect_datagram(ours, "one", "socket bound to our address");
	expect_nothing(any, "wildcard socket");
	ck_assert_uint_eq(h_stat_udp_rx(&h), 1);
	mtcp_close(any);
	mtcp_close(ours);
}
END_TEST

START_TEST(test_send_to_own_address_loops_back)
{
	struct mtcp_sock *rx = h_udp_socket(&h, OUR_PORT), *tx = udp_socket();
	struct sockaddr_in to = h_sin(STACK_IP, OUR_PORT), from;
	struct frame f;
	char buf[16];

	ck_assert_int_eq(mtcp_sendto(tx, "self", 4, 0, &to), 4);
	h_poll(&h);
	ck_assert_int_eq(mtcp_recvfrom(rx, buf, sizeof(buf), 0, &from), 4);
	ck_assert_mem_eq(buf, "self", 4);
	assert_sin(&from, STACK_IP, local_port(tx), "looped-back source");
	ck_assert_msg(!h_next(&h, &f), "a datagram to ourselves went on the wire");
	mtcp_close(rx);
	mtcp_close(tx);
}
END_TEST

/* --- options --- */

START_TEST(test_so_rcvbuf_doubled_like_linux)
{
	struct mtcp_sock *s = udp_socket();

	/* Linux's net.core.rmem_default, as getsockopt reports it. */
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 212992);
	set_opt(s, SO_RCVBUF, 4096);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 8192);
	/* socket(7) / SOCK_MIN_RCVBUF: never below 2304. */
	set_opt(s, SO_RCVBUF, 1);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 2304);
	set_opt(s, SO_RCVBUF, 0);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 2304);
	/* Linux compares the value as unsigned against the cap: a negative
	 * one asks for the most. */
	set_opt(s, SO_RCVBUF, 1 << 30);
	int max = get_opt(s, SO_RCVBUF);
	set_opt(s, SO_RCVBUF, -1);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), max);
	mtcp_close(s);
}
END_TEST

START_TEST(test_so_type_and_so_error)
{
	struct mtcp_sock *s = udp_socket();
	int v;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(get_opt(s, SO_TYPE), SOCK_DGRAM);
	ck_assert_int_eq(get_opt(s, SO_ERROR), 0);
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, 2), -EINVAL);
	ck_assert_int_eq(mtcp_getsockopt(s, SOL_SOCKET, 9999, &v, &len), -ENOPROTOOPT);
	mtcp_close(s);
}
END_TEST

/* --- ICMP errors, shutdown --- */

/* The peer answers frame f (a datagram the stack sent) with ICMP
 * destination unreachable code, quoting its header and 8 bytes. */
static void peer_sends_unreachable(const struct frame *f, uint8_t code)
{
	uint8_t msg[ICMP_HLEN + IPV4_HLEN + 8];
	struct icmp_repr r = { .type = ICMP_DEST_UNREACH, .code = code };

	memcpy(msg + ICMP_HLEN, f->buf + ETH_HLEN, IPV4_HLEN + 8);
	icmp_emit(&r, msg, IPV4_HLEN + 8);
	h_send_ip(&h, IPPROTO_ICMP_, msg, sizeof(msg));
}

START_TEST(test_port_unreachable_refuses_connected_socket_once)
{
	struct mtcp_sock *s = udp_socket();
	struct frame f;
	char buf[8];

	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_sendto(s, "ping", 4, 0, NULL), 4);
	ck_assert(h_next(&h, &f));
	peer_sends_unreachable(&f, ICMP_PORT_UNREACH);
	ck_assert_msg(mtcp_poll(s) & EPOLLERR, "no EPOLLERR after port unreachable");
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), -ECONNREFUSED);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), -EAGAIN);
	ck_assert_int_eq(get_opt(s, SO_ERROR), 0);
	mtcp_close(s);
}
END_TEST

START_TEST(test_port_unreachable_reported_by_so_error_once)
{
	struct mtcp_sock *s = udp_socket();
	struct frame f;

	ck_assert_int_eq(connect_to(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_sendto(s, "ping", 4, 0, NULL), 4);
	ck_assert(h_next(&h, &f));
	peer_sends_unreachable(&f, ICMP_PORT_UNREACH);
	ck_assert_int_eq(get_opt(s, SO_ERROR), ECONNREFUSED);
	ck_assert_int_eq(get_opt(s, SO_ERROR), 0);
	ck_assert_int_eq(mtcp_sendto(s, "ping", 4, 0, NULL), 4);
	mtcp_close(s);
}
END_TEST

START_TEST(test_port_unreachable_reaches_connected_socket_sharing_port)
{
	struct mtcp_sock *conn = udp_socket(), *any = udp_socket();
	struct frame f;
	char buf[8];

	set_opt(conn, SO_REUSEADDR, 1);
	set_opt(any, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(conn, 0, OUR_PORT), 0);
	ck_assert_int_eq(connect_to(conn, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(bind_to(any, 0, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_sendto(conn, "ping", 4, 0, NULL), 4);
	ck_assert(h_next(&h, &f));
	/* Linux looks up the socket the error is for as it would a reply:
	 * the connected socket is the best match, wherever it hashes. */
	peer_sends_unreachable(&f, ICMP_PORT_UNREACH);
	ck_assert_int_eq(mtcp_recvfrom(conn, buf, sizeof(buf), 0, NULL), -ECONNREFUSED);
	expect_nothing(any, "the unconnected socket on the same port");
	mtcp_close(conn);
	mtcp_close(any);
}
END_TEST

START_TEST(test_port_unreachable_ignored_by_unconnected_socket)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT);
	struct sockaddr_in to = h_sin(PEER_IP, PEER_PORT);
	struct frame f;

	ck_assert_int_eq(mtcp_sendto(s, "ping", 4, 0, &to), 4);
	ck_assert(h_next(&h, &f));
	/* Linux without IP_RECVERR tells an unconnected socket nothing. */
	peer_sends_unreachable(&f, ICMP_PORT_UNREACH);
	ck_assert_msg(!(mtcp_poll(s) & EPOLLERR), "EPOLLERR on an unconnected socket");
	expect_nothing(s, "unconnected socket after port unreachable");
	ck_assert_int_eq(get_opt(s, SO_ERROR), 0);
	ck_assert_int_eq(mtcp_sendto(s, "ping", 4, 0, &to), 4);
	mtcp_close(s);
}
END_TEST

START_TEST(test_shutdown_unconnected_is_enotconn)
{
	struct mtcp_sock *s = h_udp_socket(&h, OUR_PORT), *c = udp_socket();

	ck_assert_int_eq(mtcp_shutdown(s, SHUT_RDWR), -ENOTCONN);
	ck_assert_int_eq(mtcp_shutdown(s, 7), -EINVAL);
	ck_assert_int_eq(connect_to(c, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(mtcp_shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(mtcp_sendto(c, "x", 1, 0, NULL), -EPIPE);
	mtcp_close(s);
	mtcp_close(c);
}
END_TEST

/* --- the address and port a socket holds across connect / disconnect --- */
START_TEST(test_disconnect_gives_back_automatic_port_and_address)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in a;

	ck_assert_int_eq(connect_to(s, PEER_IP, 5000), 0);
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, STACK_IP, local_port(s), "after connect");
	ck_assert_uint_ne(local_port(s), 0);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	ck_assert_int_eq(mtcp_connect(s, &unspec, sizeof(unspec)), 0);
	/* Linux __udp_disconnect: nothing the application chose, so all goes. */
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, 0, 0, "after disconnect");
	mtcp_close(s);
}
END_TEST

START_TEST(test_disconnect_keeps_what_bind_chose)
{
	struct mtcp_sock *s = udp_socket();
	struct sockaddr_in a;
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	ck_assert_int_eq(bind_to(s, 0, 4444), 0);
	ck_assert_int_eq(connect_to(s, PEER_IP, 5000), 0);
	ck_assert_int_eq(mtcp_connect(s, &unspec, sizeof(unspec)), 0);
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, 0, 4444, "bound port after disconnect");
	mtcp_close(s);
}
END_TEST

START_TEST(test_connected_socket_gets_no_broadcast)
{
	struct mtcp_sock *s = udp_socket();

	ck_assert_int_eq(bind_to(s, 0, 4445), 0);
	ck_assert_int_eq(connect_to(s, PEER_IP, 5000), 0);
	send_udp_from(PEER_IP, 5000, SUBNET_BCAST, 4445, "to all");
	expect_nothing(s, "connected socket, broadcast datagram");
	send_udp_from(PEER_IP, 5000, STACK_IP, 4445, "to you");
	expect_datagram(s, "to you", "connected socket, unicast datagram");
	mtcp_close(s);
}
END_TEST

START_TEST(test_own_broadcast_reaches_own_socket)
{
	struct mtcp_sock *rx = udp_socket(), *tx = udp_socket();
	struct sockaddr_in to = h_sin(SUBNET_BCAST, 4446);

	ck_assert_int_eq(bind_to(rx, 0, 4446), 0);
	set_opt(tx, SO_BROADCAST, 1);
	ck_assert_int_eq(mtcp_sendto(tx, "hello all", 9, 0, &to), 9);
	h_poll(&h);
	expect_datagram(rx, "hello all", "our own broadcast");
	ck_assert_uint_eq(h_drain(&h), 1);      /* and it went on the wire */
	mtcp_close(rx);
	mtcp_close(tx);
}
END_TEST

START_TEST(test_send_reports_bad_arguments_before_pending_error)
{
	struct mtcp_sock *s = h_udp_socket(&h, 4447);
	struct sockaddr_in to = h_sin(PEER_IP, 5000), zero = h_sin(PEER_IP, 0);
	struct frame f;

	ck_assert_int_eq(connect_to(s, PEER_IP, 5000), 0);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, NULL), 1);
	ck_assert(h_next(&h, &f));
	peer_sends_unreachable(&f, ICMP_PORT_UNREACH);
	/* Linux checks the arguments first: port 0 is EINVAL even now ... */
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &zero), -EINVAL);
	/* ... and the pending error comes before EPIPE, once. */
	ck_assert_int_eq(mtcp_shutdown(s, SHUT_WR), 0);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), -ECONNREFUSED);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), -EPIPE);
	mtcp_close(s);
}
END_TEST

START_TEST(test_so_rcvbuf_capped_at_rmem_max_like_linux)
{
	struct mtcp_sock *s = udp_socket();

	set_opt(s, SO_RCVBUF, 1 << 24);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 2 * 212992);
	set_opt(s, SO_RCVBUFFORCE, 1 << 22);
	ck_assert_int_eq(get_opt(s, SO_RCVBUF), 1 << 23);
	mtcp_close(s);
}
END_TEST

static Suite *stack_udp_suite(void)
{
	Suite *s = suite_create("stack_udp");
	TCase *tc = tcase_create("udp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bind_same_port_twice_is_eaddrinuse);
	tcase_add_test(tc, test_disconnect_gives_back_automatic_port_and_address);
	tcase_add_test(tc, test_disconnect_keeps_what_bind_chose);
	tcase_add_test(tc, test_connected_socket_gets_no_broadcast);
	tcase_add_test(tc, test_own_broadcast_reaches_own_socket);
	tcase_add_test(tc, test_send_reports_bad_arguments_before_pending_error);
	tcase_add_test(tc, test_so_rcvbuf_capped_at_rmem_max_like_linux);
	tcase_add_test(tc, test_bind_wildcard_and_specific_overlap_is_eaddrinuse);
	tcase_add_test(tc, test_bind_same_port_allowed_when_both_reuseaddr);
	tcase_add_test(tc, test_bind_foreign_address_is_eaddrnotavail);
	tcase_add_test(tc, test_second_bind_is_einval);
	tcase_add_test(tc, test_bind_af_unspec_any_accepted_other_families_refused);
	tcase_add_test(tc, test_bind_port_zero_picks_distinct_ephemeral_ports);
	tcase_add_test(tc, test_sendto_without_address_unconnected_is_edestaddrreq);
	tcase_add_test(tc, test_sendto_port_zero_is_einval);
	tcase_add_test(tc, test_payload_65508_is_emsgsize);
	tcase_add_test(tc, test_payload_65507_goes_out_in_fragments_that_reassemble);
	tcase_add_test(tc, test_broadcast_without_so_broadcast_is_eacces);
	tcase_add_test(tc, test_limited_broadcast_unbound_without_gateway_is_enetunreach);
	tcase_add_test(tc, test_broadcast_with_so_broadcast_goes_to_ethernet_broadcast);
	tcase_add_test(tc, test_connected_send_without_address_goes_to_peer);
	tcase_add_test(tc, test_emitted_datagram_checksum_verifies);
	tcase_add_test(tc, test_connected_socket_ignores_other_sources);
	tcase_add_test(tc, test_getsockname_and_getpeername);
	tcase_add_test(tc, test_connect_binds_an_ephemeral_port);
	tcase_add_test(tc, test_connect_af_unspec_disconnects);
	tcase_add_test(tc, test_recv_empty_nonblocking_is_eagain);
	tcase_add_test(tc, test_msg_peek_leaves_datagram_queued);
	tcase_add_test(tc, test_truncated_recv_sets_msg_trunc_and_discards_rest);
	tcase_add_test(tc, test_msg_trunc_flag_returns_full_length);
	tcase_add_test(tc, test_recvfrom_fills_source_address);
	tcase_add_test(tc, test_rcvtimeo_blocking_recv_times_out_eagain);
	tcase_add_test(tc, test_bad_checksum_dropped_not_delivered);
	tcase_add_test(tc, test_length_field_beyond_ip_payload_is_malformed);
	tcase_add_test(tc, test_zero_checksum_accepted);
	tcase_add_test(tc, test_full_receive_buffer_drops_rcvbuf_full);
	tcase_add_test(tc, test_broadcast_delivered_to_every_matching_socket);
	tcase_add_test(tc, test_unicast_goes_to_most_specific_socket);
	tcase_add_test(tc, test_send_to_own_address_loops_back);
	tcase_add_test(tc, test_so_rcvbuf_doubled_like_linux);
	tcase_add_test(tc, test_so_type_and_so_error);
	tcase_add_test(tc, test_port_unreachable_refuses_connected_socket_once);
	tcase_add_test(tc, test_port_unreachable_reported_by_so_error_once);
	tcase_add_test(tc, test_port_unreachable_reaches_connected_socket_sharing_port);
	tcase_add_test(tc, test_port_unreachable_ignored_by_unconnected_socket);
	tcase_add_test(tc, test_shutdown_unconnected_is_enotconn);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stack_udp_suite)
