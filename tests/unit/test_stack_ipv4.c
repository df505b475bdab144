/* test_stack_ipv4.c - IPv4 input checks, routing, fragmentation and
 * reassembly (RFC 791, RFC 1122 3), and frames that must not hurt us. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "stack_harness.h"
#include "wire/checksum.h"

static struct harness h;

static void setup(void) { h_setup(&h); h_learn_peer(&h); }
static void teardown(void) { h_teardown(&h); }

/* An ICMP echo request of len body bytes (pattern i*7), checksum set. */
static size_t make_echo(uint8_t *buf, size_t body, uint16_t seq)
{
	struct icmp_repr r = { .type = ICMP_ECHO, .echo = { 0x1234, seq } };

	for (size_t i = 0; i < body; i++)
		buf[ICMP_HLEN + i] = (uint8_t)(i * 7);
	icmp_emit(&r, buf, body);
	return ICMP_HLEN + body;
}

/* Send the echo as fragments of frag bytes (a multiple of 8), in the order
 * given by perm (indices into the fragment list), all with one id. */
static void send_fragmented(const uint8_t *pkt, size_t len, size_t frag, const int *perm,
			    int nperm, uint16_t id)
{
	for (int k = 0; k < nperm; k++) {
		size_t off = (size_t)perm[k] * frag;
		size_t n = len - off < frag ? len - off : frag;
		h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, id, off + n < len,
			     (uint16_t)off, pkt + off, n, false);
	}
}

static void assert_reply_matches(const uint8_t *req, size_t len)
{
	static uint8_t reply[IPV4_MAXLEN];
	struct ipv4_repr first;
	size_t n = h_collect(&h, reply, sizeof(reply), &first, NULL);

	ck_assert_uint_eq(first.proto, IPPROTO_ICMP_);

	ck_assert_uint_eq(n, len);
	ck_assert_uint_eq(reply[0], ICMP_ECHOREPLY);
	ck_assert_uint_eq(inet_checksum(reply, n), 0);
	ck_assert_msg(memcmp(reply + 4, req + 4, len - 4) == 0, "reply body differs");
}

START_TEST(test_fragmented_echo_reassembled_in_any_order)
{
	static uint8_t req[4008];
	size_t len = make_echo(req, 4000, 1);
	static const int orders[][6] = {
		{ 0, 1, 2, 3, 4, 5 }, { 5, 4, 3, 2, 1, 0 }, { 2, 0, 5, 1, 4, 3 },
	};

	for (unsigned o = 0; o < 3; o++) {
		send_fragmented(req, len, 800, orders[o], 6, (uint16_t)(100 + o));
		assert_reply_matches(req, len);
	}
	ck_assert_uint_eq(usage(h.st).reass_datagrams, 0);
}
END_TEST

START_TEST(test_exact_duplicate_fragment_ignored)
{
	static uint8_t req[2008];
	size_t len = make_echo(req, 2000, 2);
	static const int order[] = { 0, 0, 1, 1, 2 };

	send_fragmented(req, len, 800, order, 5, 200);
	assert_reply_matches(req, len);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_DUP), 2);
}
END_TEST

START_TEST(test_overlapping_fragment_discards_datagram)
{
	static uint8_t req[2008];
	size_t len = make_echo(req, 2000, 3);
	struct frame f;

	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 300, true, 0, req, 800, false);
	/* Overlaps the first fragment's tail with different bytes. */
	uint8_t evil[800];
	memset(evil, 0xee, sizeof(evil));
	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 300, true, 400, evil, 800, false);
	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 300, false, 1200, req + 1200,
		     len - 1200, false);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_OVERLAP), 1);
	ck_assert_msg(!h_next(&h, &f), "a datagram with overlapping fragments was answered");
}
END_TEST

START_TEST(test_fragment_past_declared_end_discards_datagram)
{
	uint8_t data[800] = { 0 };

	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 400, false, 800, data, 800, false);
	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 400, true, 1600, data, 800, false);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(usage(h.st).reass_datagrams, 0);
}
END_TEST

START_TEST(test_oversized_reassembly_refused)
{
	uint8_t data[800] = { 0 };

	/* "Ping of death": offset + length beyond 65535 is refused by the
	 * header check, ... */
	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 500, false, 64808, data, 800, false);
	ck_assert_uint_eq(h_drop(&h, DROP_IP_BAD_LEN), 1);
	/* ... and a datagram whose payload fits but whose header does not,
	 * by reassembly. */
	h_send_ip_ex(&h, IPPROTO_ICMP_, PEER_IP, STACK_IP, 501, false, 64728, data, 800, false);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_BAD), 1);
	ck_assert_uint_eq(usage(h.st).reass_datagrams, 0);
}
END_TEST

START_TEST(test_reassembly_timeout_sends_time_exceeded)
{
	static uint8_t req[2008];
	size_t len = make_echo(req, 2000, 4);
	struct frame f;
	static const int first_two[] = { 0, 1 };

	send_fragmented(req, len, 800, first_two, 2, 600);
	ck_assert(!h_next(&h, &f));
	h_advance(&h, 29 * USEC_PER_SEC);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_TIMEOUT), 0);
	h_advance(&h, 2 * USEC_PER_SEC);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_TIMEOUT), 1);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_icmp);
	ck_assert_uint_eq(f.icmp.type, ICMP_TIME_EXCEEDED);
	ck_assert_uint_eq(f.icmp.code, 1);
	ck_assert_uint_eq(f.ip.dst, PEER_IP);
}
END_TEST

START_TEST(test_reassembly_timeout_without_first_fragment_is_silent)
{
	static uint8_t req[2008];
	size_t len = make_echo(req, 2000, 5);
	struct frame f;
	static const int later[] = { 1, 2 };

	send_fragmented(req, len, 800, later, 2, 700);
	h_advance(&h, 31 * USEC_PER_SEC);
	ck_assert_uint_eq(h_drop(&h, DROP_FRAG_TIMEOUT), 1);
	ck_assert_msg(!h_next(&h, &f), "time exceeded sent without fragment zero");
}
END_TEST

START_TEST(test_fragment_flood_is_bounded)
{
	uint8_t data[1000];

	memset(data, 0x55, sizeof(data));
	/* 5000 datagrams that never complete: memory and count stay bounded,
	 * the oldest give way. */
	for (unsigned i = 0; i < 5000; i++)
		h_send_ip_ex(&h, IPPROTO_UDP_, PEER_IP, STACK_IP, (uint16_t)(i + 1), true, 0,
			     data, sizeof(data), false);
	ck_assert_uint_le(usage(h.st).reass_datagrams, 64);
	ck_assert_uint_le(usage(h.st).reass_bytes, 4u << 20);
	ck_assert_uint_ge(h_drop(&h, DROP_FRAG_TOO_MANY), 5000 - 64);

	/* And a real datagram still gets through. */
	static uint8_t req[3008];
	size_t len = make_echo(req, 3000, 6);
	static const int order[] = { 0, 1, 2, 3 };
	send_fragmented(req, len, 800, order, 4, 9999);
	assert_reply_matches(req, len);
}
END_TEST

START_TEST(test_tiny_fragment_train_is_bounded)
{
	uint8_t data[8] = { 0 };

	for (unsigned i = 0; i < 2000; i++)
		h_send_ip_ex(&h, IPPROTO_UDP_, PEER_IP, STACK_IP, 77, true, (uint16_t)(i * 16),
			     data, 8, false);
	ck_assert_uint_ge(h_drop(&h, DROP_FRAG_TOO_MANY), 1);
	ck_assert_uint_le(usage(h.st).reass_bytes, 4u << 20);
}
END_TEST

START_TEST(test_header_checks_drop_with_reason)
{
	uint8_t pkt[ETH_HLEN + 40];
	struct eth_repr eth = { .type = ETHERTYPE_IPV4 };
	struct ipv4_repr ip = { .total_len = 28, .ttl = 64, .proto = IPPROTO_UDP_,
				.src = PEER_IP, .dst = STACK_IP };
	uint8_t *iph = pkt + ETH_HLEN;

	memcpy(eth.dst, STACK_MAC, 6);
	memcpy(eth.src, PEER_MAC, 6);
	eth_emit(&eth, pkt);
#define SEND_MUTATED(mutation, reason) do {                                     \
		memset(iph, 0, 40);                                             \
		ipv4_emit(&ip, iph);                                            \
		mutation;                                                       \
		uint64_t before = h_drop(&h, reason);                           \
		h_send_frame(&h, pkt, ETH_HLEN + 28);                           \
		ck_assert_msg(h_drop(&h, reason) == before + 1,                 \
			      "%s not counted for: %s", #reason, #mutation);    \
	} while (0)
	SEND_MUTATED(iph[0] = 0x65, DROP_IP_BAD_VERSION);
	SEND_MUTATED(iph[0] = 0x44, DROP_IP_BAD_HLEN);
	SEND_MUTATED(iph[10] ^= 0xff, DROP_IP_BAD_CSUM);
	SEND_MUTATED((wr16(iph + 2, 200), wr16(iph + 10, 0),
		      wr16(iph + 10, inet_checksum(iph, 20))), DROP_IP_TRUNC);
	SEND_MUTATED((wr32(iph + 12, 0xe0000001), wr16(iph + 10, 0),
		      wr16(iph + 10, inet_checksum(iph, 20))), DROP_IP_BAD_SRC);
	SEND_MUTATED((wr32(iph + 16, OTHER_IP), wr16(iph + 10, 0),
		      wr16(iph + 10, inet_checksum(iph, 20))), DROP_IP_NOT_FOR_US);
#undef SEND_MUTATED
	/* The truncated Ethernet frame. */
	uint64_t before = h_drop(&h, DROP_ETH_TRUNC);
	h_send_frame(&h, pkt, 10);
	ck_assert_uint_eq(h_drop(&h, DROP_ETH_TRUNC), before + 1);
}
END_TEST

START_TEST(test_options_skipped_safely)
{
	/* Header with a record-route option, then an echo request. */
	uint8_t pkt[ETH_HLEN + 24 + 16];
	struct eth_repr eth = { .type = ETHERTYPE_IPV4 };
	uint8_t *iph = pkt + ETH_HLEN;
	struct frame f;

	memcpy(eth.dst, STACK_MAC, 6);
	memcpy(eth.src, PEER_MAC, 6);
	eth_emit(&eth, pkt);
	memset(iph, 0, 24 + 16);
	iph[0] = 0x46;
	wr16(iph + 2, 24 + 16);
	iph[8] = 64;
	iph[9] = IPPROTO_ICMP_;
	wr32(iph + 12, PEER_IP);
	wr32(iph + 16, STACK_IP);
	iph[20] = 7;            /* record route, length 3, pointer 4: empty */
	iph[21] = 3;
	iph[22] = 4;
	iph[23] = 0;            /* EOL */
	wr16(iph + 10, inet_checksum(iph, 24));
	make_echo(iph + 24, 8, 9);
	h_send_frame(&h, pkt, sizeof(pkt));
	ck_assert_msg(h_next(&h, &f) && f.is_icmp && f.icmp.type == ICMP_ECHOREPLY,
		      "echo with IP options not answered");

	/* An option running past the header is refused. */
	iph[21] = 9;
	wr16(iph + 10, 0);
	wr16(iph + 10, inet_checksum(iph, 24));
	h_send_frame(&h, pkt, sizeof(pkt));
	ck_assert_uint_eq(h_drop(&h, DROP_IP_BAD_OPTIONS), 1);
	ck_assert(!h_next(&h, &f));
}
END_TEST

START_TEST(test_unknown_protocol_gets_protocol_unreachable)
{
	uint8_t data[16] = { 1, 2, 3 };
	struct frame f;

	h_send_ip(&h, 253, data, sizeof(data));
	ck_assert_uint_eq(h_drop(&h, DROP_IP_UNKNOWN_PROTO), 1);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_icmp);
	ck_assert_uint_eq(f.icmp.type, ICMP_DEST_UNREACH);
	ck_assert_uint_eq(f.icmp.code, ICMP_PROT_UNREACH);
	ck_assert_uint_eq(f.data_len, IPV4_HLEN + sizeof(data));
}
END_TEST

START_TEST(test_no_route_without_gateway)
{
	struct mtcp_sock *s = h_udp_socket(&h, 0);
	struct sockaddr_in to = h_sin(FAR_IP, 9);

	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), -ENETUNREACH);
	mtcp_close(s);
}
END_TEST

START_TEST(test_gateway_is_next_hop_off_link)
{
	struct harness g;
	struct frame f;
	struct mtcp_sock *s;
	struct sockaddr_in to = h_sin(FAR_IP, 9);

	h_teardown(&h);
	h_setup_with(&g, GATEWAY_IP, 0);
	h = g;
	s = h_udp_socket(&h, 0);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), 1);
	ck_assert(h_next(&h, &f));
	ck_assert_msg(f.is_arp && f.arp.tpa == GATEWAY_IP, "did not ask for the gateway");
	mtcp_close(s);
	/* teardown() runs on h */
	h_learn_peer(&h);
}
END_TEST

START_TEST(test_small_mtu_fragments_on_send)
{
	struct harness g;
	struct mtcp_sock *s;
	struct sockaddr_in to = h_sin(PEER_IP, 9);
	static uint8_t data[3000];
	static uint8_t got[4000];
	struct ipv4_repr first;
	size_t total;
	unsigned frags;

	h_teardown(&h);
	h_setup_with(&g, 0, 576);
	h = g;
	h_learn_peer(&h);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	s = h_udp_socket(&h, 0);
	ck_assert_int_eq(mtcp_sendto(s, data, sizeof(data), 0, &to), (int)sizeof(data));
	total = h_collect(&h, got, sizeof(got), &first, &frags);
	ck_assert_uint_eq(total, UDP_HLEN + sizeof(data));
	ck_assert_uint_eq(frags, (UDP_HLEN + sizeof(data) + 551) / 552);
	ck_assert(memcmp(got + UDP_HLEN, data, sizeof(data)) == 0);
	mtcp_close(s);
}
END_TEST

/* Seeded garbage: random frames, and valid frames with random bytes
 * flipped, at every layer. Nothing may crash (ASan watches) and the stack
 * must still answer afterwards. */
START_TEST(test_random_and_mutated_frames_never_hurt)
{
	static uint8_t req[1208];
	uint8_t frame[1600];
	size_t len = make_echo(req, 1200, 7);
	uint64_t seed = 12345;

	for (int i = 0; i < 20000; i++) {
		seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
		size_t n = 14 + seed % 1500;
		/* Half random bytes, half a valid echo frame mutated. */
		if (i % 2) {
			for (size_t k = 0; k < n; k++) {
				seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
				frame[k] = (uint8_t)seed;
			}
			memcpy(frame, STACK_MAC, 6);
			frame[12] = 0x08;
			frame[13] = (seed >> 8) & 1 ? 0x06 : 0x00;
		} else {
			struct eth_repr eth = { .type = ETHERTYPE_IPV4 };
			struct ipv4_repr ip = { .total_len = (uint16_t)(IPV4_HLEN + len),
						.ttl = 64, .proto = (seed >> 20) % 3 ? IPPROTO_UDP_ :
						IPPROTO_ICMP_, .src = PEER_IP, .dst = STACK_IP,
						.mf = (seed >> 30) & 1, .id = (uint16_t)i };
			memcpy(eth.dst, STACK_MAC, 6);
			memcpy(eth.src, PEER_MAC, 6);
			eth_emit(&eth, frame);
			ipv4_emit(&ip, frame + ETH_HLEN);
			memcpy(frame + ETH_HLEN + IPV4_HLEN, req, len);
			n = ETH_HLEN + IPV4_HLEN + len;
			for (int m = 0; m < 3; m++) {
				seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
				frame[14 + seed % (n - 14)] ^= (uint8_t)(seed >> 32);
			}
			n -= (seed >> 40) % 64;
		}
		h_send_frame(&h, frame, n);
		if (i % 100 == 0)
			h_drain(&h);
	}
	h_drain(&h);
	h_advance(&h, 60 * USEC_PER_SEC);       /* let reassembly expire */
	h_drain(&h);
	h_learn_peer(&h);

	struct frame f;
	static uint8_t ok[16];
	size_t olen = make_echo(ok, 8, 1);
	h_send_ip(&h, IPPROTO_ICMP_, ok, olen);
	ck_assert_msg(h_next(&h, &f) && f.is_icmp && f.icmp.type == ICMP_ECHOREPLY,
		      "stack no longer answers after the barrage");
	ck_assert_uint_eq(usage(h.st).reass_datagrams, 0);
}
END_TEST

static Suite *stack_ipv4_suite(void)
{
	Suite *s = suite_create("stack_ipv4");
	TCase *tc = tcase_create("ipv4");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fragmented_echo_reassembled_in_any_order);
	tcase_add_test(tc, test_exact_duplicate_fragment_ignored);
	tcase_add_test(tc, test_overlapping_fragment_discards_datagram);
	tcase_add_test(tc, test_fragment_past_declared_end_discards_datagram);
	tcase_add_test(tc, test_oversized_reassembly_refused);
	tcase_add_test(tc, test_reassembly_timeout_sends_time_exceeded);
	tcase_add_test(tc, test_reassembly_timeout_without_first_fragment_is_silent);
	tcase_add_test(tc, test_fragment_flood_is_bounded);
	tcase_add_test(tc, test_tiny_fragment_train_is_bounded);
	tcase_add_test(tc, test_header_checks_drop_with_reason);
	tcase_add_test(tc, test_options_skipped_safely);
	tcase_add_test(tc, test_unknown_protocol_gets_protocol_unreachable);
	tcase_add_test(tc, test_no_route_without_gateway);
	tcase_add_test(tc, test_gateway_is_next_hop_off_link);
	tcase_add_test(tc, test_small_mtu_fragments_on_send);
	tcase_add_test(tc, test_random_and_mutated_frames_never_hurt);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stack_ipv4_suite)
