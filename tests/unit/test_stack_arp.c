/* test_stack_arp.c - ARP (RFC 826) and the neighbour cache. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "stack_harness.h"

static struct harness h;

static void setup(void) { h_setup(&h); }
static void teardown(void) { h_teardown(&h); }

/* Send one UDP datagram from the stack to dst:9. */
static void stack_sends_to(uint32_t dst)
{
	struct mtcp_sock *s = h_udp_socket(&h, 0);
	struct sockaddr_in to = h_sin(dst, 9);

	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), 1);
	mtcp_close(s);
}

START_TEST(test_announce_sends_gratuitous_request)
{
	struct frame f;

	mtcp_stack_announce(h.st);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_arp);
	ck_assert_msg(eth_is_broadcast(f.eth.dst), "announcement not broadcast");
	ck_assert_uint_eq(f.arp.op, ARP_OP_REQUEST);
	ck_assert_uint_eq(f.arp.spa, STACK_IP);
	ck_assert_uint_eq(f.arp.tpa, STACK_IP);
	ck_assert_mem_eq(f.arp.sha, STACK_MAC, 6);
	ck_assert(!h_next(&h, &f));
}
END_TEST

START_TEST(test_request_for_us_gets_reply_and_teaches_sender)
{
	struct frame f;

	h_send_arp(&h, ARP_OP_REQUEST, PEER_IP, STACK_IP);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_arp);
	ck_assert_uint_eq(f.arp.op, ARP_OP_REPLY);
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	ck_assert_mem_eq(f.arp.sha, STACK_MAC, 6);
	ck_assert_uint_eq(f.arp.spa, STACK_IP);
	ck_assert_mem_eq(f.arp.tha, PEER_MAC, 6);
	ck_assert_uint_eq(f.arp.tpa, PEER_IP);

	/* The requester was learnt: traffic to it goes out without asking. */
	stack_sends_to(PEER_IP);
	ck_assert(h_next(&h, &f));
	ck_assert_msg(f.is_udp, "expected the datagram itself, not an ARP request");
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
}
END_TEST

START_TEST(test_request_for_other_host_ignored)
{
	struct frame f;

	h_send_arp(&h, ARP_OP_REQUEST, PEER_IP, OTHER_IP);
	ck_assert_msg(!h_next(&h, &f), "answered a request for another address");
	ck_assert_uint_eq(h_drop(&h, DROP_ARP_NOT_FOR_US), 1);
	/* RFC 826: not for us, and not known: not learnt either. */
	stack_sends_to(PEER_IP);
	ck_assert(h_next(&h, &f));
	ck_assert_msg(f.is_arp && f.arp.op == ARP_OP_REQUEST, "sender was learnt");
}
END_TEST

START_TEST(test_unresolved_packet_waits_then_goes_on_reply)
{
	struct frame f;

	stack_sends_to(PEER_IP);
	stack_sends_to(PEER_IP);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_arp);
	ck_assert_uint_eq(f.arp.op, ARP_OP_REQUEST);
	ck_assert_uint_eq(f.arp.tpa, PEER_IP);
	ck_assert(eth_is_broadcast(f.eth.dst));
	ck_assert_msg(!h_next(&h, &f), "second packet sent a second request");

	h_send_arp(&h, ARP_OP_REPLY, PEER_IP, STACK_IP);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(h_next(&h, &f), "held packet %d not released", i);
		ck_assert(f.is_udp);
		ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	}
	ck_assert(!h_next(&h, &f));
}
END_TEST

START_TEST(test_request_retried_once_a_second_then_fails)
{
	struct frame f;
	uint64_t sent[16];
	unsigned requests = 0;
	uint64_t start = h.now;

	stack_sends_to(OTHER_IP);
	for (int i = 0; i < 20; i++) {
		while (h_next(&h, &f)) {
			ck_assert(f.is_arp);
			ck_assert_uint_lt(requests, 16);
			sent[requests++] = h.now;
		}
		if (i == 14)    /* 3.5 s: the first resolution has failed */
			ck_assert_msg(h_drop(&h, DROP_ARP_UNRESOLVED) >= 1,
				      "no failure after 3 unanswered requests");
		h_advance(&h, USEC_PER_SEC / 4);
		stack_sends_to(OTHER_IP);       /* more traffic must not add requests */
	}
	/* RFC 1122 2.3.2.1: at most one request per second per address. */
	ck_assert_uint_ge(requests, 3);
	for (unsigned i = 1; i < requests; i++)
		ck_assert_msg(sent[i] - sent[i - 1] >= USEC_PER_SEC,
			      "requests %u and %u only %llu us apart", i - 1, i,
			      (unsigned long long)(sent[i] - sent[i - 1]));
	ck_assert_uint_le(requests, (h.now - start) / USEC_PER_SEC + 1);
}
END_TEST

START_TEST(test_hold_queue_is_bounded)
{
	struct mtcp_sock *s = h_udp_socket(&h, 0);
	struct sockaddr_in to = h_sin(PEER_IP, 9);

	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), 1);
	/* The oldest make room for the newest, and the sends succeed. */
	ck_assert_uint_eq(h_drop(&h, DROP_ARP_QUEUE_FULL), 100 - 64);
	h_send_arp(&h, ARP_OP_REPLY, PEER_IP, STACK_IP);
	ck_assert_uint_eq(h_drain(&h), 1 + 64);    /* request + held */
	mtcp_close(s);
}
END_TEST

START_TEST(test_stale_entry_is_confirmed_by_unicast_request)
{
	struct frame f;

	h_learn_peer(&h);
	h_advance(&h, 31 * USEC_PER_SEC);
	h_drain(&h);
	stack_sends_to(PEER_IP);
	/* RFC 1122 2.3.2.1: keep sending on the stale entry, poll it by unicast. */
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_arp);
	ck_assert_mem_eq(f.eth.dst, PEER_MAC, 6);
	ck_assert(h_next(&h, &f));
	ck_assert(f.is_udp);
}
END_TEST

START_TEST(test_idle_entry_is_collected)
{
	struct frame f;

	h_learn_peer(&h);
	h_advance(&h, 200 * USEC_PER_SEC);
	h_drain(&h);
	stack_sends_to(PEER_IP);
	ck_assert(h_next(&h, &f));
	ck_assert_msg(f.is_arp && eth_is_broadcast(f.eth.dst),
		      "entry idle for 200 s was still used");
}
END_TEST

START_TEST(test_claim_of_our_address_is_refused)
{
	struct frame f;

	h_send_arp(&h, ARP_OP_REQUEST, STACK_IP, STACK_IP);
	ck_assert(!h_next(&h, &f));
	ck_assert_uint_eq(h_drop(&h, DROP_ARP_BAD_SENDER), 1);
}
END_TEST

START_TEST(test_truncated_arp_dropped)
{
	uint8_t frame[ETH_HLEN + 20] = { 0 };
	struct eth_repr eth = { .type = ETHERTYPE_ARP };

	memcpy(eth.dst, eth_broadcast, 6);
	memcpy(eth.src, PEER_MAC, 6);
	eth_emit(&eth, frame);
	h_send_frame(&h, frame, sizeof(frame));
	ck_assert_uint_eq(h_drop(&h, DROP_ARP_MALFORMED), 1);
}
END_TEST

START_TEST(test_probe_with_zero_sender_answered_not_learnt)
{
	struct frame f;

	/* RFC 5227 probe: sender IP 0. */
	h_send_arp(&h, ARP_OP_REQUEST, 0, STACK_IP);
	ck_assert(h_next(&h, &f));
	ck_assert_uint_eq(f.arp.op, ARP_OP_REPLY);
	ck_assert_uint_eq(f.arp.tpa, 0);
	ck_assert_uint_eq(usage(h.st).arp_entries, 0);
}
END_TEST

static Suite *stack_arp_suite(void)
{
	Suite *s = suite_create("stack_arp");
	TCase *tc = tcase_create("arp");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_announce_sends_gratuitous_request);
	tcase_add_test(tc, test_request_for_us_gets_reply_and_teaches_sender);
	tcase_add_test(tc, test_request_for_other_host_ignored);
	tcase_add_test(tc, test_unresolved_packet_waits_then_goes_on_reply);
	tcase_add_test(tc, test_request_retried_once_a_second_then_fails);
	tcase_add_test(tc, test_hold_queue_is_bounded);
	tcase_add_test(tc, test_stale_entry_is_confirmed_by_unicast_request);
	tcase_add_test(tc, test_idle_entry_is_collected);
	tcase_add_test(tc, test_claim_of_our_address_is_refused);
	tcase_add_test(tc, test_truncated_arp_dropped);
	tcase_add_test(tc, test_probe_with_zero_sender_answered_not_learnt);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stack_arp_suite)
