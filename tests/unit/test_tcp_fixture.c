/*
 * test_tcp_fixture.c - the shared TCP fixture (tcp_fixture.h) does what
 * the suites built on it take for granted: every state it offers is
 * reached from both ends with the stack's own segments, TCP_INFO agrees
 * with the control block, the options asked for are the ones in use, and
 * the connection is one the peer's bookkeeping matches (a segment at its
 * snd_nxt is accepted silently).
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_fixture.h"

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

struct state_case {
	int state;
	int linux_state;                /* what tf_linux_state says (-1: no socket) */
	bool active;
	int after_ack;                  /* the state after the peer's pure ACK (-1: none sent) */
};

static const struct state_case cases[] = {
	{ TCPS_SYN_SENT, TCP_SYN_SENT, true, -1 },
	{ TCPS_SYN_RECEIVED, TCP_SYN_RECV, true, -1 },
	{ TCPS_SYN_RECEIVED, -1, false, -1 },    /* a listener's child: no socket */
	{ TCPS_ESTABLISHED, TCP_ESTABLISHED, false, TCPS_ESTABLISHED },
	{ TCPS_ESTABLISHED, TCP_ESTABLISHED, true, TCPS_ESTABLISHED },
	{ TCPS_FIN_WAIT_1, TCP_FIN_WAIT1, false, TCPS_FIN_WAIT_2 },
	{ TCPS_FIN_WAIT_1, TCP_FIN_WAIT1, true, TCPS_FIN_WAIT_2 },
	{ TCPS_FIN_WAIT_2, TCP_FIN_WAIT2, false, TCPS_FIN_WAIT_2 },
	{ TCPS_FIN_WAIT_2, TCP_FIN_WAIT2, true, TCPS_FIN_WAIT_2 },
	{ TCPS_CLOSING, TCP_CLOSING, false, TCPS_TIME_WAIT },
	{ TCPS_CLOSING, TCP_CLOSING, true, TCPS_TIME_WAIT },
	{ TCPS_TIME_WAIT, TCP_TIME_WAIT, false, TCPS_TIME_WAIT },
	{ TCPS_TIME_WAIT, TCP_TIME_WAIT, true, TCPS_TIME_WAIT },
	{ TCPS_CLOSE_WAIT, TCP_CLOSE_WAIT, false, TCPS_CLOSE_WAIT },
	{ TCPS_CLOSE_WAIT, TCP_CLOSE_WAIT, true, TCPS_CLOSE_WAIT },
	{ TCPS_LAST_ACK, TCP_LAST_ACK, false, TCPS_CLOSED },
	{ TCPS_LAST_ACK, TCP_LAST_ACK, true, TCPS_CLOSED },
};

START_TEST(test_set_state_reaches_every_state_from_either_end)
{
	const struct state_case *sc = &cases[_i];
	struct tf_params p = { .active = sc->active, .opts = TF_OPTS_ALL };
	static struct tf_conn t;

	tf_set_state(&h, &t, &p, sc->state);
	ck_assert_msg((t.l != NULL) == !sc->active, "%s %s: listener %p", tf_state_name(sc->state),
		      sc->active ? "active" : "passive", (void *)t.l);
	unsigned want_pcbs = 1 + !sc->active;
	ck_assert_msg(h_tcp_pcbs(&h) == want_pcbs, "%s %s: %u control blocks, expected %u",
		      tf_state_name(sc->state), sc->active ? "active" : "passive", h_tcp_pcbs(&h),
		      want_pcbs);
	if (sc->linux_state < 0) {
		ck_assert_ptr_null(t.s);
	} else {
		ck_assert_ptr_nonnull(t.s);
		int ls = tf_linux_state(t.s);
		ck_assert_msg(ls == sc->linux_state, "%s: TCP_INFO says %s, expected %s",
			      tf_state_name(sc->state), tf_linux_state_name(ls),
			      tf_linux_state_name(sc->linux_state));
	}
	/* Past the handshake, the peer's bookkeeping is the stack's: a
	 * segment at its snd_nxt acknowledging its rcv_nxt draws nothing (no
	 * challenge ACK, no RST, no retransmission) and acknowledges
	 * exactly what the stack sent, its FIN included. */
	if (sc->after_ack >= 0) {
		h_conn_send(&h, &t.c, TH_ACK, NULL, 0);
		h_expect_none(&h);
		if (t.s)
			ck_assert_msg(tf_state(t.s) == sc->after_ack, "a pure ACK at the peer's "
				      "snd_nxt took %s to %s, expected %s", tf_state_name(sc->state),
				      tf_state_name(tf_state(t.s)), tf_state_name(sc->after_ack));
	}
	tf_abort(&h, &t);
}
END_TEST

START_TEST(test_passive_open_with_all_options_puts_them_in_use)
{
	static struct tf_conn t;

	tf_open(&h, &t, &(struct tf_params){ .opts = TF_OPTS_ALL });
	ck_assert_msg(t.c.ts, "timestamps offered by both, not in use");
	ck_assert_msg(t.c.stack_opts.sack_permitted, "SYN-ACK without SACK-permitted");
	ck_assert_msg(t.c.stack_opts.has_wscale && t.c.wscale == 7,
		      "window scale %s, peer's shift %u, expected 7",
		      t.c.stack_opts.has_wscale ? "answered" : "not answered", t.c.wscale);
	ck_assert_uint_eq(t.c.sport, TF_PEER_PORT);
	ck_assert_uint_eq(t.c.dport, TF_OUR_PORT);
	ck_assert_uint_eq(t.c.iss, TF_PEER_ISS);
	tf_abort(&h, &t);
}
END_TEST

START_TEST(test_open_with_mss_only_uses_no_other_option)
{
	static struct tf_conn t;

	tf_open(&h, &t, &(struct tf_params){ .active = true });
	ck_assert_msg(!t.c.ts && t.c.wscale == 0 && !t.c.opts.sack_permitted,
		      "options in use that the peer did not offer (ts %d, wscale %u, sack %d)",
		      t.c.ts, t.c.wscale, t.c.opts.sack_permitted);
	ck_assert_msg(t.c.stack_opts.has_ts && t.c.stack_opts.has_wscale,
		      "the stack's SYN does not offer timestamps and window scale");
	tf_abort(&h, &t);
}
END_TEST

START_TEST(test_peer_mss_bounds_the_stacks_segments)
{
	static struct tf_conn t;
	static uint8_t buf[1000];

	tf_open(&h, &t, &(struct tf_params){ .opts = { .mss = 536 }, .sport = 41000,
					     .dport = 8080, .iss = 77 });
	ck_assert_uint_eq(t.c.dport, 8080);
	memset(buf, 'm', sizeof(buf));
	ck_assert_int_eq(mtcp_sendto(t.s, buf, sizeof(buf), 0, NULL), (ssize_t)sizeof(buf));
	h_conn_expect(&h, &t.c, TH_ACK, 536);
	h_conn_expect(&h, &t.c, TH_ACK, sizeof(buf) - 536);
	tf_abort(&h, &t);
}
END_TEST

START_TEST(test_handshake_rtt_is_virtual_time_between_syn_and_answer)
{
	static struct tf_conn t;
	uint64_t t0 = h.now;

	tf_open(&h, &t, &(struct tf_params){ .rtt = 40 * USEC_PER_MSEC });
	ck_assert_msg(h.now - t0 == 40 * USEC_PER_MSEC, "the handshake took %llu us, expected "
		      "the 40 ms asked for", (unsigned long long)(h.now - t0));
	struct tcp_info ti = h_tcp_info(t.s);
	ck_assert_msg(ti.tcpi_rtt == 40000, "RTT sample %u us, expected 40000", ti.tcpi_rtt);
	tf_abort(&h, &t);
}
END_TEST

START_TEST(test_orphan_fin_comes_from_close_and_releases_the_socket)
{
	static struct tf_conn t;

	tf_set_state(&h, &t, &(struct tf_params){ .orphan = true }, TCPS_TIME_WAIT);
	ck_assert_msg(t.s == NULL, "an orphan's socket is still in the fixture");
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "%u control blocks, expected the listener and one in "
		      "TIME-WAIT", h_tcp_pcbs(&h));
	h_advance(&h, 60 * USEC_PER_SEC);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "TIME-WAIT of an orphan did not end after 2MSL");
	tf_abort(&h, &t);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

static Suite *tcp_fixture_suite(void)
{
	Suite *s = suite_create("tcp_fixture");
	TCase *tc = tcase_create("fixture");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_set_state_reaches_every_state_from_either_end, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_passive_open_with_all_options_puts_them_in_use);
	tcase_add_test(tc, test_open_with_mss_only_uses_no_other_option);
	tcase_add_test(tc, test_peer_mss_bounds_the_stacks_segments);
	tcase_add_test(tc, test_handshake_rtt_is_virtual_time_between_syn_and_answer);
	tcase_add_test(tc, test_orphan_fin_comes_from_close_and_releases_the_socket);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tcp_fixture_suite)
