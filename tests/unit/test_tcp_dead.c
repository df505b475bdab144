/*
 * test_tcp_dead.c - a dead member's connections (stack/tcp/tcp_dead.c):
 * the stack that took them over makes each peer reset its end.
 *
 * The test plays the peer, the way Linux answers (tcp_validate_incoming):
 * an out-of-window segment draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, a
 * RST at exactly RCV.NXT resets. It checks what the stack sends: two
 * bare ACKs 2^31 apart per round, rounds again after the peer's rate
 * limit, a RST at the peer's ACK (RCV.NXT) for any segment of the flow,
 * with or without timestamps; the entry ends at the peer's RST, at a SYN
 * (left to the listener), or at the deadline.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "check_main.h"
#include "proto.h"
#include "stack_harness.h"
#include "tcp_var.h"

#define PEER_PORT       40000
#define OUR_PORT        80
#define MS              USEC_PER_MSEC
#define SEC             USEC_PER_SEC
#define HALF            0x80000000u

/* The peer's side of the dead connection: what its Linux holds. */
#define PEER_SND_NXT    5000u
#define PEER_RCV_NXT    777777u

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void)
{
	h_teardown(&h);
}

static int dead_add(uint16_t lport, uint16_t rport)
{
	pthread_mutex_lock(&h.st->lock);
	int r = tcp_dead_add(h.st, lport, PEER_IP, rport);
	stack_unlock(h.st);
	return r;
}

static unsigned dead_count(void)
{
	return tcp_dead_count(h.st);
}

static struct stack_stats stats(void)
{
	struct stack_stats s;

	mtcp_stack_stats(h.st, &s);
	return s;
}

/* One probe round: two bare ACKs from OUR_PORT to rport, no options, no
 * window, sequence numbers 2^31 apart, one ACK field. *seq: the first. */
static void expect_round(uint16_t rport, uint32_t *seq, const char *when)
{
	struct frame a, b;
	char d[160];

	ck_assert_msg(h_next_tcp(&h, &a), "%s: no probe", when);
	ck_assert_msg(h_next_tcp(&h, &b), "%s: only one probe: %s", when,
		      h_tcp_describe(&a, d, sizeof(d)));
	for (struct frame *f = &a; f; f = f == &a ? &b : NULL) {
		ck_assert_msg(f->tcp.flags == TH_ACK && f->data_len == 0 &&
			      f->tcp.sport == OUR_PORT && f->tcp.dport == rport &&
			      !f->tcp.opt.has_ts && f->tcp.win == 0,
			      "%s: not a bare ACK probe: %s", when,
			      h_tcp_describe(f, d, sizeof(d)));
	}
	ck_assert_msg(b.tcp.seq - a.tcp.seq == HALF, "%s: probes at %u and %u: not 2^31 apart",
		      when, a.tcp.seq, b.tcp.seq);
	ck_assert_uint_eq(a.tcp.ack, b.tcp.ack);
	*seq = a.tcp.seq;
}

/* Linux's answer to the out-of-window probe (tcp_send_dupack). */
static void peer_dupack(uint16_t rport, bool ts)
{
	struct tcp_opts o = { .has_ts = ts, .ts_val = 123456, .ts_ecr = 0 };

	h_send_tcp(&h, rport, OUR_PORT, PEER_SND_NXT, PEER_RCV_NXT, TH_ACK, 502,
		   ts ? &o : NULL, NULL, 0);
}

static void expect_rst_at_peer_rcv_nxt(const char *when)
{
	struct frame f;
	char d[160];

	ck_assert_msg(h_next_tcp(&h, &f), "%s: no RST", when);
	/* RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>, no ACK, no options. */
	ck_assert_msg(f.tcp.flags == TH_RST && f.tcp.seq == PEER_RCV_NXT && !f.tcp.opt.has_ts,
		      "%s: expected RST seq=%u (the peer's RCV.NXT), got %s", when, PEER_RCV_NXT,
		      h_tcp_describe(&f, d, sizeof(d)));
}

START_TEST(test_dead_flow_sends_two_probes_2_31_apart_at_once)
{
	uint32_t seq;

	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), 0);
	expect_round(PEER_PORT, &seq, "at once");
	h_expect_none(&h);
	ck_assert_uint_eq(dead_count(), 1);
	ck_assert_uint_eq(stats().tcp_dead_taken, 1);
	ck_assert_uint_eq(stats().tcp_dead_probes, 2);
	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), -EEXIST);
	ck_assert_uint_eq(stats().tcp_dead_taken, 1);
}
END_TEST

static void answered_with_rst(bool ts)
{
	uint32_t seq;

	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), 0);
	expect_round(PEER_PORT, &seq, "probes");
	peer_dupack(PEER_PORT, ts);
	expect_rst_at_peer_rcv_nxt(ts ? "the peer's ACK with a timestamp" : "the peer's ACK");
	ck_assert_uint_eq(stats().tcp_dead_resets, 1);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_DEAD_FLOW), 1);
	/* Data too (a peer that was sending): the same answer. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, PEER_SND_NXT, PEER_RCV_NXT, TH_ACK | TH_PSH, 502,
		   NULL, "abc", 3);
	expect_rst_at_peer_rcv_nxt("the peer's data");
	/* The peer's end is gone: its kernel resets our next probe. A RST
	 * ends the entry and is never answered. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, seq, 0, TH_RST, 0, NULL, NULL, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(dead_count(), 0);
	ck_assert_uint_eq(stats().tcp_dead_resets, 2);
	ck_assert_uint_eq(stats().tcp_dead_unanswered, 0);
}

START_TEST(test_peer_ack_to_a_probe_gets_rst_at_its_ack_without_timestamps)
{
	answered_with_rst(false);
}
END_TEST

START_TEST(test_peer_ack_to_a_probe_gets_rst_at_its_ack_with_timestamps)
{
	answered_with_rst(true);
}
END_TEST

START_TEST(test_probes_repeat_after_the_rate_limit_then_the_entry_expires)
{
	uint32_t s0, s1, s2;
	struct frame f;

	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), 0);
	expect_round(PEER_PORT, &s0, "round 1");
	/* Linux answers one out-of-window segment per 500 ms per socket:
	 * nothing more before that. */
	h_advance(&h, 500 * MS);
	h_expect_none(&h);
	h_advance(&h, 100 * MS);
	expect_round(PEER_PORT, &s1, "round 2 (600 ms)");
	h_advance(&h, 600 * MS);
	expect_round(PEER_PORT, &s2, "round 3 (1.2 s)");
	ck_assert(s0 == s1 && s1 == s2);
	h_advance(&h, 1700 * MS);
	h_expect_none(&h);
	ck_assert_uint_eq(dead_count(), 1);
	h_advance(&h, 100 * MS);       /* 3 s */
	ck_assert_msg(dead_count() == 0, "the entry outlived its 3 s");
	ck_assert_uint_eq(stats().tcp_dead_probes, 6);
	ck_assert_uint_eq(stats().tcp_dead_unanswered, 1);
	h_expect_none(&h);
	/* Afterwards a segment of the flow is an ordinary one for no
	 * connection (here a stack alone: it answers it). */
	uint64_t r0 = stats().tcp_dead_resets;
	peer_dupack(PEER_PORT, false);
	ck_assert(h_next_tcp(&h, &f));
	ck_assert_uint_eq(stats().tcp_dead_resets, r0);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_NO_SOCKET), 1);
}
END_TEST

START_TEST(test_syn_for_a_dead_flow_is_left_to_the_listener)
{
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct h_conn c;
	uint32_t seq;

	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), 0);
	expect_round(PEER_PORT, &seq, "probes");
	/* The peer has no connection there any more and opens a new one. */
	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 90000, NULL);
	ck_assert_uint_eq(dead_count(), 0);
	ck_assert_uint_eq(stats().tcp_dead_resets, 0);
	struct mtcp_sock *s = h_tcp_accept(&h, l);
	/* Past the old deadline, the new connection is untouched. */
	h_advance(&h, 4 * SEC);
	h_expect_none(&h);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "hi", 2);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_tcp_abort(&h, s);
	mtcp_close(l);
}
END_TEST

START_TEST(test_a_connection_of_ours_is_not_taken_for_a_dead_one)
{
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct h_conn c;

	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 90000, NULL);
	struct mtcp_sock *s = h_tcp_accept(&h, l);
	ck_assert_int_eq(dead_add(OUR_PORT, PEER_PORT), -EEXIST);
	h_expect_none(&h);
	ck_assert_uint_eq(dead_count(), 0);
	h_tcp_abort(&h, s);
	mtcp_close(l);
}
END_TEST

START_TEST(test_many_dead_flows_each_probed_and_each_expires)
{
	enum { N = 300 };
	uint32_t seq;

	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(dead_add(OUR_PORT, (uint16_t)(20000 + i)), 0);
		expect_round((uint16_t)(20000 + i), &seq, "probes");
	}
	ck_assert_uint_eq(dead_count(), N);
	peer_dupack(20007, false);
	expect_rst_at_peer_rcv_nxt("one of many");
	h_advance(&h, 3 * SEC);
	h_drain(&h);
	ck_assert_uint_eq(dead_count(), 0);
	ck_assert_uint_eq(stats().tcp_dead_unanswered, N - 1);
}
END_TEST

static Suite *tcp_dead_suite(void)
{
	Suite *s = suite_create("tcp_dead");
	TCase *t = tcase_create("dead");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_dead_flow_sends_two_probes_2_31_apart_at_once);
	tcase_add_test(t, test_peer_ack_to_a_probe_gets_rst_at_its_ack_without_timestamps);
	tcase_add_test(t, test_peer_ack_to_a_probe_gets_rst_at_its_ack_with_timestamps);
	tcase_add_test(t, test_probes_repeat_after_the_rate_limit_then_the_entry_expires);
	tcase_add_test(t, test_syn_for_a_dead_flow_is_left_to_the_listener);
	tcase_add_test(t, test_a_connection_of_ours_is_not_taken_for_a_dead_one);
	tcase_add_test(t, test_many_dead_flows_each_probed_and_each_expires);
	suite_add_tcase(s, t);
	return s;
}

CHECK_MAIN(tcp_dead_suite)
