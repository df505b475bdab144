/*
 * test_stack_icmp.c - ICMPv4 (RFC 792, RFC 1122 3.2.2): echo, the errors
 * the stack sends and when it must not, its rate limit, and what it does
 * with the errors and other messages it receives.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "stack_harness.h"
#include "wire/checksum.h"

#define PEER_PORT       4000
#define CLOSED_PORT     9999

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

/* An ICMP message (header + body) ready to send. */
static size_t icmp_msg(uint8_t *msg, uint8_t type, uint8_t code, uint32_t rest,
		       const void *body, size_t len)
{
	struct icmp_repr r = { .type = type, .code = code, .rest = rest };

	memcpy(msg + ICMP_HLEN, body, len);
	icmp_emit(&r, msg, len);
	return ICMP_HLEN + len;
}

static size_t echo_msg(uint8_t *msg, uint16_t id, uint16_t seq, const void *data, size_t len)
{
	struct icmp_repr r = { .type = ICMP_ECHO, .echo = { id, seq } };

	memcpy(msg + ICMP_HLEN, data, len);
	icmp_emit(&r, msg, len);
	return ICMP_HLEN + len;
}

/* The next frame is an ICMP error of type/code from us to the peer,
 * quoting exactly the quote_len first bytes of orig. */
static void expect_error(uint8_t type, uint8_t code, const uint8_t *orig, size_t quote_len)
{
	struct frame f;

	ck_assert_msg(h_next(&h, &f), "no ICMP error %u/%u sent", type, code);
	ck_assert_msg(f.is_icmp, "sent a frame that is not ICMP (proto %u)", f.ip.proto);
	ck_assert_msg(f.icmp.type == type && f.icmp.code == code,
		      "sent ICMP %u/%u, expected %u/%u", f.icmp.type, f.icmp.code, type, code);
	ck_assert_uint_eq(f.icmp.rest, 0);
	ck_assert_uint_eq(f.ip.src, STACK_IP);
	ck_assert_uint_eq(f.ip.dst, PEER_IP);
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	/* RFC 1812 4.3.2.5 / Linux: errors go with precedence internetwork
	 * control. */
	ck_assert_msg(f.ip.tos == 0xc0, "error sent with TOS 0x%02x, expected 0xc0", f.ip.tos);
	ck_assert_msg(f.data_len == quote_len, "error quotes %zu bytes, expected %zu",
		      f.data_len, quote_len);
	ck_assert_uint_eq(f.ip.total_len, IPV4_HLEN + ICMP_HLEN + quote_len);
	ck_assert_msg(memcmp(f.data, orig, quote_len) == 0,
		      "quote differs from the datagram the peer sent");
}

static void expect_no_frame(const char *what)
{
	struct frame f;

	ck_assert_msg(!h_next(&h, &f), "%s: the stack sent %s (type %u)", what,
		      f.is_icmp ? "ICMP" : "a frame", f.icmp.type);
}

/* --- echo --- */

START_TEST(test_echo_request_gets_reply_with_same_id_seq_payload)
{
	uint8_t msg[ICMP_HLEN + 57], data[57];
	struct frame f;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xa0 + i);
	size_t len = echo_msg(msg, 0x1234, 7, data, sizeof(data));   /* odd length */
	h_send_ip(&h, IPPROTO_ICMP_, msg, len);

	ck_assert_msg(h_next(&h, &f), "no echo reply");
	ck_assert(f.is_icmp);   /* h_next verified both checksums */
	ck_assert_uint_eq(f.icmp.type, ICMP_ECHOREPLY);
	ck_assert_uint_eq(f.icmp.code, 0);
	ck_assert_uint_eq(f.icmp.echo.id, 0x1234);
	ck_assert_uint_eq(f.icmp.echo.seq, 7);
	ck_assert_uint_eq(f.ip.src, STACK_IP);
	ck_assert_uint_eq(f.ip.dst, PEER_IP);
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	ck_assert_msg(inet_checksum(f.l4, f.l4_len) == 0, "ICMP checksum does not verify");
	ck_assert_msg(inet_checksum(f.buf + ETH_HLEN, IPV4_HLEN) == 0,
		      "IP header checksum does not verify");
	ck_assert_uint_eq(f.data_len, sizeof(data));
	ck_assert_mem_eq(f.data, data, sizeof(data));
	ck_assert(!h_next(&h, &f));
	ck_assert_uint_eq(h.st->stats.icmp_echo_replies, 1);
}
END_TEST

START_TEST(test_fragmented_echo_gets_fragmented_reply)
{
	static uint8_t msg[ICMP_HLEN + 4000], data[4000], reply[IPV4_MAXLEN];
	uint8_t pkt[1500];
	struct ipv4_repr first;
	unsigned n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i ^ i >> 8);
	size_t len = echo_msg(msg, 0xbeef, 1, data, sizeof(data));
	for (size_t off = 0; off < len; off += 1480) {
		size_t chunk = len - off < 1480 ? len - off : 1480;
		size_t plen = h_build_ip(&h, pkt, IPPROTO_ICMP_, PEER_IP, STACK_IP, 77,
				       off + chunk < len, (uint16_t)off, msg + off, chunk);
		h_send_packet(&h, pkt, plen, false);
	}
	ck_assert_uint_eq(h.st->stats.ip_reassembled, 1);

	size_t got = h_collect(&h, reply, sizeof(reply), &first, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(first.proto, IPPROTO_ICMP_);
	ck_assert_uint_eq(first.dst, PEER_IP);
	ck_assert_uint_eq(got, len);

	struct icmp_repr r;
	ck_assert_msg(icmp_parse(reply, got, &r) == WIRE_OK, "reassembled reply does not verify");
	ck_assert_uint_eq(r.type, ICMP_ECHOREPLY);
	ck_assert_uint_eq(r.echo.id, 0xbeef);
	ck_assert_uint_eq(r.echo.seq, 1);
	ck_assert_msg(memcmp(reply + ICMP_HLEN, data, sizeof(data)) == 0,
		      "reply payload differs from the request's");
}
END_TEST

START_TEST(test_echo_to_broadcast_gets_no_reply)
{
	const uint32_t dst[] = { SUBNET_BCAST, INADDR_BROADCAST };
	uint8_t msg[ICMP_HLEN + 4], pkt[64];

	/* Linux icmp_echo_ignore_broadcasts (RFC 1122 3.2.2.6 allows it). */
	for (int i = 0; i < 2; i++) {
		size_t len = echo_msg(msg, 1, (uint16_t)i, "ping", 4);
		h_send_packet(&h, pkt, h_build_ip(&h, pkt, IPPROTO_ICMP_, PEER_IP, dst[i], 0, false, 0, msg, len),
			    true);
		expect_no_frame("echo to a broadcast address");
	}
	ck_assert_uint_eq(h.st->stats.icmp_rx, 2);
	ck_assert_uint_eq(h.st->stats.icmp_echo_replies, 0);
}
END_TEST

START_TEST(test_bad_checksum_dropped)
{
	uint8_t msg[ICMP_HLEN + 4];
	size_t len = echo_msg(msg, 1, 1, "ping", 4);

	msg[ICMP_HLEN] ^= 0x01;
	h_send_ip(&h, IPPROTO_ICMP_, msg, len);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_BAD_CSUM), 1);
	expect_no_frame("echo with a bad checksum");
}
END_TEST

START_TEST(test_truncated_message_is_malformed)
{
	uint8_t msg[ICMP_HLEN] = { 0 };
	size_t len = echo_msg(msg, 1, 1, "", 0);

	h_send_ip(&h, IPPROTO_ICMP_, msg, len - 1);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_MALFORMED), 1);
	h_send_ip(&h, IPPROTO_ICMP_, msg, 0);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_MALFORMED), 2);
	expect_no_frame("truncated ICMP");
}
END_TEST

/* --- errors we send --- */

START_TEST(test_udp_to_closed_port_gets_port_unreachable_quoting_datagram)
{
	uint8_t pkt[128];
	size_t len = h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT, CLOSED_PORT, "knock knock", 11);

	h_send_packet(&h, pkt, len, false);
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_NO_SOCKET), 1);
	/* RFC 1122 4.1.3.1, RFC 792: the header and (here all of) the data. */
	expect_error(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, pkt, len);
	expect_no_frame("after the port unreachable");
	ck_assert_uint_eq(h.st->stats.icmp_errors_sent, 1);
}
END_TEST

START_TEST(test_port_unreachable_quote_fits_576_bytes)
{
	static uint8_t data[1200];
	uint8_t pkt[1500];

	memset(data, 0x5a, sizeof(data));
	size_t len = h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT, CLOSED_PORT, data, sizeof(data));
	h_send_packet(&h, pkt, len, false);
	/* RFC 1812 4.3.2.3: as much as fits in 576 bytes. */
	expect_error(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, pkt, 576 - IPV4_HLEN - ICMP_HLEN);
}
END_TEST

START_TEST(test_no_error_about_broadcast_datagram)
{
	const uint32_t dst[] = { SUBNET_BCAST, INADDR_BROADCAST };
	uint8_t pkt[64];

	/* RFC 1122 3.2.2: not about a datagram to a broadcast address ... */
	for (int i = 0; i < 2; i++) {
		h_send_packet(&h, pkt, h_build_udp(&h, pkt, PEER_IP, dst[i], PEER_PORT,
						   CLOSED_PORT, "x", 1), true);
		expect_no_frame("UDP to a broadcast address, closed port");
	}
	/* ... nor one that came in a link-layer broadcast. */
	h_send_packet(&h, pkt, h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT,
					   CLOSED_PORT, "x", 1), true);
	expect_no_frame("UDP in a link-layer broadcast, closed port");
	ck_assert_uint_eq(h_drop(&h, DROP_UDP_NO_SOCKET), 3);
}
END_TEST

START_TEST(test_no_error_about_non_initial_fragment)
{
	uint8_t body[64] = { 0 }, pkt[128];

	/* Only a non-initial fragment: no time exceeded when it expires
	 * (RFC 792, RFC 1122 3.2.2: fragment zero is not available). */
	h_send_packet(&h, pkt, h_build_ip(&h, pkt, IPPROTO_UDP_, PEER_IP, STACK_IP, 99, false, 1480, body,
				   sizeof(body)), false);
	h_advance(&h, 31 * USEC_PER_SEC);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_TIMEOUT), 1);
	expect_no_frame("non-initial fragment timed out");
}
END_TEST

START_TEST(test_expired_first_fragment_gets_time_exceeded)
{
	uint8_t dgram[64] = { 0 }, pkt[128];

	/* The head of a 2000-byte datagram whose rest never comes. */
	wr16(dgram, PEER_PORT);
	wr16(dgram + 2, CLOSED_PORT);
	wr16(dgram + 4, 2000);
	size_t len = h_build_ip(&h, pkt, IPPROTO_UDP_, PEER_IP, STACK_IP, 98, true, 0, dgram,
				sizeof(dgram));
	h_send_packet(&h, pkt, len, false);
	h_advance(&h, 31 * USEC_PER_SEC);
	/* RFC 792: code 1, fragment reassembly time exceeded. */
	expect_error(ICMP_TIME_EXCEEDED, 1, pkt, len);
}
END_TEST

START_TEST(test_no_error_about_icmp_error)
{
	uint8_t quote[IPV4_HLEN + 8 + 52] = { 0 }, msg[ICMP_HLEN + sizeof(quote)], pkt[256];

	/* The first fragment of an ICMP error that never completes: an echo
	 * in its place would get time exceeded (above); an error must not
	 * (RFC 1122 3.2.2). */
	size_t len = icmp_msg(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, quote,
			      sizeof(quote));
	h_send_packet(&h, pkt, h_build_ip(&h, pkt, IPPROTO_ICMP_, PEER_IP, STACK_IP, 97, true, 0,
					  msg, len), false);
	h_advance(&h, 31 * USEC_PER_SEC);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_TIMEOUT), 1);
	expect_no_frame("ICMP error fragment timed out");

	h_learn_peer(&h);       /* 31 s on, the neighbour entry would need a probe */
	len = echo_msg(msg, 1, 1, quote, sizeof(quote));
	h_send_packet(&h, pkt, h_build_ip(&h, pkt, IPPROTO_ICMP_, PEER_IP, STACK_IP, 96, true, 0,
					  msg, len), false);
	h_advance(&h, 31 * USEC_PER_SEC);
	expect_error(ICMP_TIME_EXCEEDED, 1, pkt, IPV4_HLEN + len);
}
END_TEST

START_TEST(test_unknown_protocol_gets_protocol_unreachable)
{
	uint8_t pkt[64];
	size_t len = h_build_ip(&h, pkt, 253, PEER_IP, STACK_IP, 0, false, 0, "experimental", 12);

	h_send_packet(&h, pkt, len, false);
	ck_assert_uint_eq(h_drop(&h, DROP_IP_UNKNOWN_PROTO), 1);
	/* RFC 1122 3.2.2.1. */
	expect_error(ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, pkt, len);
}
END_TEST

START_TEST(test_error_burst_limited_per_peer)
{
	uint8_t pkt[64];
	unsigned errors = 0;
	struct frame f;

	for (int i = 0; i < 20; i++)
		h_send_packet(&h, pkt, h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT,
						   (uint16_t)(CLOSED_PORT + i), "x", 1), false);
	while (h_next(&h, &f))
		errors += f.is_icmp && f.icmp.type == ICMP_DEST_UNREACH;
	/* Linux's per-peer bucket: a burst of 6, then one a second. */
	ck_assert_msg(errors == 6, "%u errors for a burst of 20, expected 6", errors);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_RATELIMIT), 14);

	h_advance(&h, USEC_PER_SEC);
	errors = 0;
	for (int i = 0; i < 5; i++)
		h_send_packet(&h, pkt, h_build_udp(&h, pkt, PEER_IP, STACK_IP, PEER_PORT,
						   CLOSED_PORT, "x", 1), false);
	while (h_next(&h, &f))
		errors += f.is_icmp && f.icmp.type == ICMP_DEST_UNREACH;
	ck_assert_msg(errors == 1, "%u errors 1 s later, expected 1", errors);
}
END_TEST

/* --- errors and other messages we receive --- */

/* A quote of a UDP datagram src:sport -> dst:dport, header and 8 bytes. */
static void udp_quote(uint8_t *q, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct ipv4_repr ip = { .total_len = IPV4_HLEN + UDP_HLEN + 4, .id = 5, .ttl = 64,
				.proto = IPPROTO_UDP_, .src = src, .dst = dst };
	struct udp_repr u = { .sport = sport, .dport = dport, .len = UDP_HLEN + 4 };

	ipv4_emit(&ip, q);
	memset(q + IPV4_HLEN, 0, UDP_HLEN);
	memcpy(q + IPV4_HLEN + UDP_HLEN, "data", 4);
	udp_emit(&u, q + IPV4_HLEN, src, dst);
}

START_TEST(test_error_about_datagram_we_did_not_send_is_no_match)
{
	uint8_t q[IPV4_HLEN + UDP_HLEN + 4], msg[ICMP_HLEN + sizeof(q)];
	struct mtcp_sock *s = h_udp_socket(&h, 0);
	char buf[8];

	/* From a port nobody has. */
	udp_quote(q, STACK_IP, 4444, PEER_IP, 53);
	h_send_ip(&h, IPPROTO_ICMP_, msg,
		  icmp_msg(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, q, sizeof(q)));
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_NO_MATCH), 1);
	h_send_ip(&h, IPPROTO_ICMP_, msg, icmp_msg(msg, ICMP_TIME_EXCEEDED, 0, 0, q, sizeof(q)));
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_NO_MATCH), 2);
	/* From another host. */
	udp_quote(q, OTHER_IP, 4444, PEER_IP, 53);
	h_send_ip(&h, IPPROTO_ICMP_, msg,
		  icmp_msg(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, q, sizeof(q)));
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_NO_MATCH), 3);
	ck_assert_uint_eq(h.st->stats.icmp_errors_rx, 3);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), -EAGAIN);
	expect_no_frame("errors about datagrams we did not send");
	mtcp_close(s);
}
END_TEST

START_TEST(test_error_with_short_quote_is_malformed)
{
	uint8_t q[IPV4_HLEN + UDP_HLEN + 4], msg[ICMP_HLEN + sizeof(q)];

	udp_quote(q, STACK_IP, 4444, PEER_IP, 53);
	/* RFC 792: the header and 64 bits of data; 27 bytes is short. */
	for (size_t n = 0; n < IPV4_HLEN + 8; n += 9)
		h_send_ip(&h, IPPROTO_ICMP_, msg,
			  icmp_msg(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, q, n));
	h_send_ip(&h, IPPROTO_ICMP_, msg,
		  icmp_msg(msg, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, q, IPV4_HLEN + 4));
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_MALFORMED), 5);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_NO_MATCH), 0);
	expect_no_frame("errors with short quotes");
}
END_TEST

START_TEST(test_echo_reply_and_redirect_unhandled)
{
	uint8_t q[IPV4_HLEN + UDP_HLEN + 4], msg[ICMP_HLEN + sizeof(q)];
	struct icmp_repr r = { .type = ICMP_ECHOREPLY, .echo = { 1, 1 } };

	memcpy(msg + ICMP_HLEN, "pong", 4);
	icmp_emit(&r, msg, 4);
	h_send_ip(&h, IPPROTO_ICMP_, msg, ICMP_HLEN + 4);
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_UNHANDLED), 1);

	udp_quote(q, STACK_IP, 4444, PEER_IP, 53);
	h_send_ip(&h, IPPROTO_ICMP_, msg,
		  icmp_msg(msg, ICMP_REDIRECT, 1, GATEWAY_IP, q, sizeof(q)));
	ck_assert_uint_eq(h_drop(&h, DROP_ICMP_UNHANDLED), 2);
	expect_no_frame("echo reply and redirect");
}
END_TEST

static Suite *stack_icmp_suite(void)
{
	Suite *s = suite_create("stack_icmp");
	TCase *tc = tcase_create("icmp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_echo_request_gets_reply_with_same_id_seq_payload);
	tcase_add_test(tc, test_fragmented_echo_gets_fragmented_reply);
	tcase_add_test(tc, test_echo_to_broadcast_gets_no_reply);
	tcase_add_test(tc, test_bad_checksum_dropped);
	tcase_add_test(tc, test_truncated_message_is_malformed);
	tcase_add_test(tc, test_udp_to_closed_port_gets_port_unreachable_quoting_datagram);
	tcase_add_test(tc, test_port_unreachable_quote_fits_576_bytes);
	tcase_add_test(tc, test_no_error_about_broadcast_datagram);
	tcase_add_test(tc, test_no_error_about_non_initial_fragment);
	tcase_add_test(tc, test_expired_first_fragment_gets_time_exceeded);
	tcase_add_test(tc, test_no_error_about_icmp_error);
	tcase_add_test(tc, test_unknown_protocol_gets_protocol_unreachable);
	tcase_add_test(tc, test_error_burst_limited_per_peer);
	tcase_add_test(tc, test_error_about_datagram_we_did_not_send_is_no_match);
	tcase_add_test(tc, test_error_with_short_quote_is_malformed);
	tcase_add_test(tc, test_echo_reply_and_redirect_unhandled);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stack_icmp_suite)
