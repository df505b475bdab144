/*
 * test_tcp_state.c - TCP's state machine on the wire (RFC 9293 3.5, 3.6,
 * 3.10, RFC 5961, RFC 6528, RFC 6191, RFC 1337) and what a socket sees of
 * it, as Linux shows it: return values, the errno negated, poll bits.
 *
 * The test plays the peer (stack_harness.h). Every test drives segments
 * in and asserts the segments out: flags, seq, ack, window, options.
 * Where it makes sense a test ends by closing everything, letting
 * TIME-WAIT run out on the virtual clock and asserting that no TCP control
 * block is left (h_tcp_pcbs, the leak oracle).
 */
#include <check.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "stack_harness.h"
#include "socket.h"
#include "tcp_fixture.h"
#include "tcp_var.h"

#define PEER_PORT       40000
#define OUR_PORT        80
#define PEER_ISS        1000u

#define MS              USEC_PER_MSEC
#define SEC             USEC_PER_SEC
/* TIME-WAIT with the default configuration: 2 * MSL, MSL 30 s (Linux). */
#define TIME_WAIT_US    (2 * 30 * SEC)

/* poll bits as Linux's tcp_poll reports them */
#define POLL_IN         (EPOLLIN | EPOLLRDNORM)
#define POLL_OUT        (EPOLLOUT | EPOLLWRNORM)
/* A connection that is over (reset, refused, timed out) with its error
 * still pending: Linux tcp_poll on a CLOSED socket, shutdown both ways. */
#define POLL_DEAD_ERR   (EPOLLERR | EPOLLHUP | POLL_IN | EPOLLRDHUP | POLL_OUT)

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

/* ---- helpers --------------------------------------------------------- */

static ssize_t rd(struct mtcp_sock *s, void *buf, size_t len)
{
	return mtcp_recvfrom(s, buf, len, 0, NULL);
}

static ssize_t wr(struct mtcp_sock *s, const void *buf, size_t len)
{
	return mtcp_sendto(s, buf, len, 0, NULL);
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
	ck_assert_msg(a->sin_family == AF_INET, "%s: family %d", what, a->sin_family);
	ck_assert_msg(ntohl(a->sin_addr.s_addr) == addr && ntohs(a->sin_port) == port,
		      "%s: %08x:%u, expected %08x:%u", what, ntohl(a->sin_addr.s_addr),
		      ntohs(a->sin_port), addr, port);
}

static int bind_port(struct mtcp_sock *s, uint16_t port)
{
	struct sockaddr_in a = h_sin(0, port);

	return mtcp_bind(s, &a);
}

/* Passive open from the peer's sport to OUR_PORT; the accepted socket. */
static struct mtcp_sock *passive_open(struct mtcp_sock *l, struct h_conn *c, uint16_t sport,
				      const struct tcp_opts *o)
{
	return tf_accept(&h, l, c, sport, OUR_PORT, PEER_ISS, o, 0);
}

/* The stack resets connection c: RFC 9293 3.10.4 ABORT sends
 * <SEQ=SND.NXT><CTL=RST>; Linux adds ACK (tcp_send_active_reset), then
 * the ack is RCV.NXT. Either form, exactly. */
static void expect_reset(struct h_conn *c, const char *what)
{
	struct frame f;
	char got[200];

	ck_assert_msg(h_next_tcp(&h, &f), "%s: expected a RST seq=%u, nothing was sent",
		      what, c->rcv_nxt);
	h_tcp_describe(&f, got, sizeof(got));
	ck_assert_msg(f.tcp.sport == c->dport && f.tcp.dport == c->sport, "%s: %s is not on "
		      "the connection %u>%u", what, got, c->dport, c->sport);
	ck_assert_msg((f.tcp.flags & (TH_RST | TH_SYN | TH_FIN)) == TH_RST &&
		      f.tcp.seq == c->rcv_nxt &&
		      (!(f.tcp.flags & TH_ACK) || f.tcp.ack == c->snd_nxt) && f.data_len == 0,
		      "%s: expected R seq=%u (or R. ack=%u), got %s", what, c->rcv_nxt,
		      c->snd_nxt, got);
}

/* ---- passive open ---------------------------------------------------- */

START_TEST(test_passive_synack_offers_mss_wscale_sack_ts_when_offered)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s = NULL;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_ALL);
	struct sockaddr_in peer, a;

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, &o);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	uint32_t peer_tsval = (uint32_t)(h.now / MS);
	const struct frame *f = h_conn_expect_synack(&h, &c);
	const struct tcp_opts *so = &f->tcp.opt;

	/* RFC 9293 3.7.1: MSS = MTU 1500 - 40. */
	ck_assert_msg(so->has_mss && so->mss == 1460, "SYN-ACK MSS %s%u, expected 1460",
		      so->has_mss ? "" : "absent ", so->mss);
	/* RFC 7323 2.2: answered because offered; Linux offers 7. */
	ck_assert_msg(so->has_wscale && so->wscale == 7, "SYN-ACK window scale %s%u, "
		      "expected 7", so->has_wscale ? "" : "absent ", so->wscale);
	ck_assert_msg(so->sack_permitted, "SYN-ACK lacks SACK-permitted (RFC 2018 2)");
	/* RFC 7323 3.2: TSecr echoes the SYN's TSval. */
	ck_assert_msg(so->has_ts && so->ts_ecr == peer_tsval, "SYN-ACK timestamp %s, ecr "
		      "%u, expected ecr %u", so->has_ts ? "present" : "absent", so->ts_ecr,
		      peer_tsval);
	ck_assert_uint_eq(so->nsack, 0);
	/* RFC 7323 2.2: a SYN's window is never scaled: 64 KiB of buffer
	 * shows as the largest unscaled window. */
	ck_assert_uint_eq(f->tcp.win, 65535);
	ck_assert_uint_eq(f->data_len, 0);

	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	ck_assert_msg(mtcp_poll(l) & EPOLLIN, "listener not readable with a connection ready");
	ck_assert_int_eq(mtcp_accept(l, &peer, &s), 0);
	assert_sin(&peer, PEER_IP, PEER_PORT, "accept's peer address");
	ck_assert_int_eq(mtcp_getpeername(s, &a), 0);
	assert_sin(&a, PEER_IP, PEER_PORT, "getpeername");
	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	assert_sin(&a, STACK_IP, OUR_PORT, "getsockname");
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);

	/* Data now carries timestamps (asserted by h_conn_expect). */
	ck_assert_int_eq(wr(s, "abc", 3), 3);
	h_conn_expect_data(&h, &c, TH_ACK, "abc", 3);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_passive_synack_omits_options_the_syn_lacked_and_sends_536)
{
	static struct h_conn c;
	static uint8_t data[3 * 536];
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s;
	struct tcp_opts none = { 0 };
	int v = 0;
	socklen_t len = sizeof(v);

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, &none);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	const struct frame *f = h_conn_expect_synack(&h, &c);
	/* RFC 9293 3.7.1 (MUST-14/SHLD-5): our MSS is always sent. */
	ck_assert_msg(f->tcp.opt.has_mss && f->tcp.opt.mss == 1460, "SYN-ACK MSS missing or "
		      "%u", f->tcp.opt.mss);
	/* RFC 7323 2.2, 3.2, RFC 2018 2: not offered, not answered. */
	ck_assert_msg(!f->tcp.opt.has_wscale, "SYN-ACK has window scale, the SYN had none");
	ck_assert_msg(!f->tcp.opt.sack_permitted, "SYN-ACK has SACK-permitted unasked");
	ck_assert_msg(!f->tcp.opt.has_ts, "SYN-ACK has a timestamp, the SYN had none");
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);

	/* RFC 9293 3.7.1 (MUST-15): no MSS option means 536. */
	ck_assert_int_eq(mtcp_getsockopt(s, IPPROTO_TCP, TCP_MAXSEG, &v, &len), 0);
	ck_assert_int_eq(v, 536);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	ck_assert_int_eq(wr(s, data, sizeof(data)), (ssize_t)sizeof(data));
	for (int i = 0; i < 3; i++) {
		f = h_conn_expect_data(&h, &c, TH_ACK, data + 536 * i, 536);
		ck_assert_msg(!f->tcp.opt.has_ts && !f->tcp.opt.nsack, "segment %d has options", i);
	}
	h_expect_none(&h);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_peer_mss_less_timestamp_option_bounds_data_segments)
{
	static struct h_conn c;
	static uint8_t data[2 * 688];
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_TS);

	o.mss = 700;
	s = passive_open(l, &c, PEER_PORT, &o);
	ck_assert(c.ts);
	/* RFC 9293 3.7.1 (MUST-16) / RFC 6691: the 12 option bytes on every
	 * segment count against the peer's 700. */
	memset(data, 'm', sizeof(data));
	ck_assert_int_eq(wr(s, data, sizeof(data)), (ssize_t)sizeof(data));
	h_conn_expect(&h, &c, TH_ACK, 688);
	h_conn_expect(&h, &c, TH_ACK, 688);
	h_expect_none(&h);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_synack_mss_follows_the_link_mtu)
{
	static struct h_conn c;

	h_teardown(&h);
	h_setup_with(&h, 0, 1280);
	h_learn_peer(&h);
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	const struct frame *f = h_conn_expect_synack(&h, &c);
	ck_assert_msg(f->tcp.opt.has_mss && f->tcp.opt.mss == 1240,
		      "SYN-ACK MSS %u with MTU 1280, expected 1240", f->tcp.opt.mss);
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_synack_resent_when_peer_retransmits_its_syn)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_ALL);

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, &o);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	uint32_t iss = c.irs;

	/* Our SYN-ACK was lost: the peer sends its SYN again. */
	h_advance(&h, 1 * MS);
	h_conn_send_ex(&h, &c, PEER_ISS, TH_SYN, NULL, NULL, 0);
	const struct frame *f = h_conn_expect_synack(&h, &c);
	ck_assert_msg(f->tcp.seq == iss, "second SYN-ACK seq %u, the first had %u",
		      f->tcp.seq, iss);
	ck_assert(f->tcp.opt.has_mss && f->tcp.opt.has_wscale && f->tcp.opt.sack_permitted &&
		  f->tcp.opt.has_ts);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);       /* still one child */

	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_synack_retransmitted_on_rto_then_child_given_up)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s = NULL;
	struct frame f;
	uint64_t rto = 1 * SEC;

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	/* RFC 6298 2.1, 5.5: 1 s, then doubling; Linux gives up after 5
	 * retransmissions (tcp_synack_retries). */
	for (int i = 0; i < 5; i++) {
		h_advance(&h, rto - 1);
		h_expect_none(&h);
		h_advance(&h, 1);
		h_expect_tcp(&h, &f, TH_SYN | TH_ACK, c.irs, PEER_ISS + 1);
		rto *= 2;
	}
	h_advance(&h, rto - 1);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_advance(&h, 1);
	/* The child is gone (a RST for it, if any, at ISS + 1). */
	if (h_next_tcp(&h, &f))
		ck_assert_msg((f.tcp.flags & (TH_RST | TH_SYN)) == TH_RST && f.tcp.seq == c.irs + 1,
			      "giving up on SYN-RECEIVED sent something other than a RST at "
			      "ISS+1");
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), -EAGAIN);
	/* The peer's late ACK reaches the listener: RST seq = its ack. */
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, c.irs + 1, 0);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_rst_in_syn_received_drops_the_child_quietly)
{
	static struct h_conn c, d;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s = NULL;

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_conn_rst(&h, &c);
	/* RFC 9293 3.10.7.4: passive OPEN goes back to LISTEN, silently. */
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), -EAGAIN);
	/* The listener still works. */
	s = passive_open(l, &d, PEER_PORT + 1, NULL);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_handshake_ack_carrying_data_and_fin)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s;
	char buf[8];

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	/* The third segment of the handshake brings data and the FIN: the
	 * connection is established, the data queued, then CLOSE-WAIT. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH | TH_FIN, "hi", 2);
	h_conn_expect(&h, &c, TH_ACK, 0);       /* acks data and FIN */
	h_expect_none(&h);
	s = h_tcp_accept(&h, l);
	tf_assert_linux_state(s, TCP_CLOSE_WAIT);
	ck_assert_uint_eq(mtcp_poll(s), POLL_IN | EPOLLRDHUP | POLL_OUT);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "hi", 2);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- active open ----------------------------------------------------- */

START_TEST(test_active_connect_sends_syn_with_all_options_and_einprogress)
{
	static struct frame syn;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);   /* asserts -EINPROGRESS */
	struct sockaddr_in a;
	const struct tcp_opts *o = &syn.tcp.opt;

	ck_assert_msg(h_next_tcp(&h, &syn), "no SYN after connect");
	ck_assert_uint_eq(syn.tcp.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN), TH_SYN);
	ck_assert_uint_eq(syn.ip.dst, PEER_IP);
	ck_assert_uint_eq(syn.tcp.dport, PEER_PORT);
	ck_assert_uint_eq(syn.tcp.sport, local_port(s));
	ck_assert_uint_eq(syn.data_len, 0);
	ck_assert_uint_eq(syn.tcp.win, 65535);
	ck_assert_msg(o->has_mss && o->mss == 1460, "SYN MSS %u", o->mss);
	ck_assert_msg(o->has_wscale && o->wscale == 7, "SYN wscale %s%u",
		      o->has_wscale ? "" : "absent ", o->wscale);
	ck_assert_msg(o->sack_permitted, "SYN lacks SACK-permitted");
	/* RFC 7323 3.2: TSecr is 0 on a SYN. */
	ck_assert_msg(o->has_ts && o->ts_ecr == 0, "SYN timestamp %s ecr %u",
		      o->has_ts ? "present" : "absent", o->ts_ecr);

	ck_assert_int_eq(mtcp_poll(s) & (EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLIN), 0);
	tf_assert_linux_state(s, TCP_SYN_SENT);
	ck_assert_int_eq(h_sock_connect(s, PEER_IP, PEER_PORT), -EALREADY);
	/* Linux inet_getname: no peer in SYN-SENT. */
	ck_assert_int_eq(mtcp_getpeername(s, &a), -ENOTCONN);
	/* Linux sk_stream_wait_connect, non-blocking. */
	ck_assert_int_eq(wr(s, "x", 1), -EAGAIN);
	h_expect_none(&h);

	/* Closing in SYN-SENT sends nothing (RFC 9293 3.10.4). */
	mtcp_close(s);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_active_synack_completes_second_connect_0_then_eisconn)
{
	static struct h_conn c;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_ALL);
	struct mtcp_sock *s = tf_connect(&h, &c, 0, PEER_PORT, PEER_ISS, &o, 0);
	struct sockaddr_in a;

	ck_assert(c.ts && c.wscale == 7 && c.stack_wscale == 7);
	ck_assert_uint_eq(c.last.tcp.ack, PEER_ISS + 1);
	/* The window, scaled by our 7 from here on (RFC 7323 2.2). */
	ck_assert_uint_eq((uint32_t)c.last.tcp.win << 7, TCP_RCVBUF_DEFAULT / 2);
	h_expect_none(&h);

	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);
	ck_assert_int_eq(h_sock_error(s), 0);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	/* Linux __inet_stream_connect: the connect that finds the handshake
	 * done returns 0, the next one EISCONN. */
	ck_assert_int_eq(h_sock_connect(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(h_sock_connect(s, PEER_IP, PEER_PORT), -EISCONN);
	ck_assert_int_eq(mtcp_getpeername(s, &a), 0);
	assert_sin(&a, PEER_IP, PEER_PORT, "getpeername");
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_active_rst_to_syn_is_econnrefused)
{
	static struct frame syn;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);

	ck_assert(h_next_tcp(&h, &syn));
	h_send_tcp(&h, PEER_PORT, syn.tcp.sport, 0, syn.tcp.seq + 1, TH_RST | TH_ACK, 0, NULL,
		   NULL, 0);
	h_expect_none(&h);
	unsigned ev = mtcp_poll(s);
	ck_assert_msg(ev == POLL_DEAD_ERR, "poll 0x%x after a refused connect, expected 0x%x "
		      "(EPOLLERR|EPOLLHUP|IN|RDHUP|OUT)", ev, POLL_DEAD_ERR);
	ck_assert_int_eq(h_sock_error(s), ECONNREFUSED);
	ck_assert_int_eq(h_sock_error(s), 0);
	tf_assert_linux_state(s, TCP_CLOSE);
	mtcp_close(s);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_active_syn_backs_off_then_etimedout)
{
	static struct frame syn, f;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);
	uint64_t start = h.now, rto = 1 * SEC, last_syn = h.now;

	ck_assert(h_next_tcp(&h, &syn));
	/* RFC 6298 2.1 and 5.5: 1 s, then the timer doubles. */
	for (int i = 0; i < 7; i++) {
		h_advance(&h, rto - 1);
		h_expect_none(&h);
		ck_assert_msg(!(mtcp_poll(s) & (EPOLLOUT | EPOLLERR)), "connect ended early");
		h_advance(&h, 1);
		h_expect_tcp(&h, &f, TH_SYN, syn.tcp.seq, 0);
		ck_assert_msg(f.tcp.opt.has_mss && f.tcp.opt.mss == 1460 && f.tcp.opt.has_ts &&
			      f.tcp.opt.has_wscale && f.tcp.opt.sack_permitted,
			      "retransmission %d changed the SYN's options", i + 1);
		last_syn = h.now;
		rto *= 2;
	}
	/* After 1+2+...+64 = 127 s: any further retransmission waits at
	 * least 60 s (RFC 6298 2.5) and never longer than the 120 s maximum;
	 * no RST on giving up in SYN-SENT. */
	while (!(mtcp_poll(s) & EPOLLERR)) {
		ck_assert_msg(h.now - start < 600 * SEC, "connect still pending after 600 s");
		h_advance(&h, 1 * SEC);
		if (h_next_tcp(&h, &f)) {
			ck_assert_msg((f.tcp.flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN &&
				      f.tcp.seq == syn.tcp.seq, "expected only SYN retransmissions");
			ck_assert_msg(h.now - last_syn >= 60 * SEC && h.now - last_syn <= 120 * SEC,
				      "SYN retransmitted %llu s after the previous one",
				      (unsigned long long)((h.now - last_syn) / SEC));
			last_syn = h.now;
		}
	}
	/* RFC 1122 4.2.3.5 (RFC 9293 MUST-23): at least 3 minutes of SYN
	 * retransmission before giving up. */
	ck_assert_msg(h.now - start >= 180 * SEC, "connect gave up after %llu s, under 3 min",
		      (unsigned long long)((h.now - start) / SEC));
	ck_assert_msg(h.now - last_syn <= 120 * SEC, "gave up %llu s after the last SYN",
		      (unsigned long long)((h.now - last_syn) / SEC));
	ck_assert_uint_eq(mtcp_poll(s), POLL_DEAD_ERR);
	ck_assert_int_eq(h_sock_error(s), ETIMEDOUT);
	h_expect_none(&h);
	mtcp_close(s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_syn_sent_synack_with_bad_ack_draws_rst_seq_eq_ack)
{
	static struct frame syn, f;
	static struct h_conn c;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);
	uint16_t lport = local_port(s);
	uint64_t bad0 = h_drop(&h, DROP_TCP_SYN_SENT_BAD);

	ck_assert(h_next_tcp(&h, &syn));
	uint32_t iss = syn.tcp.seq;
	/* RFC 9293 3.10.7.3: SEG.ACK > SND.NXT -> <SEQ=SEG.ACK><CTL=RST>. */
	h_send_tcp(&h, PEER_PORT, lport, 5000, iss + 1000, TH_SYN | TH_ACK, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, iss + 1000, 0);
	ck_assert_uint_eq(f.tcp.sport, lport);
	ck_assert_uint_eq(f.tcp.dport, PEER_PORT);
	/* SEG.ACK =< ISS too. */
	h_send_tcp(&h, PEER_PORT, lport, 5000, iss, TH_SYN | TH_ACK, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, iss, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_SYN_SENT_BAD) - bad0, 2);
	/* Still connecting; the right SYN-ACK completes it. */
	tf_assert_linux_state(s, TCP_SYN_SENT);
	ck_assert_int_eq(h_sock_error(s), 0);
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);
	h_tcp_abort(&h, s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_syn_sent_ignores_rst_without_acceptable_ack)
{
	static struct frame syn;
	static struct h_conn c;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);
	uint16_t lport = local_port(s);

	ck_assert(h_next_tcp(&h, &syn));
	/* RFC 9293 3.10.7.3: a RST without ACK, or whose ACK is not
	 * acceptable, is dropped; never a RST for a RST. */
	h_send_tcp(&h, PEER_PORT, lport, 0, 0, TH_RST, 0, NULL, NULL, 0);
	h_send_tcp(&h, PEER_PORT, lport, 0, syn.tcp.seq + 77, TH_RST | TH_ACK, 0, NULL, NULL, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_SYN_SENT);
	ck_assert_int_eq(h_sock_error(s), 0);
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_close_in_syn_sent_then_late_synack_draws_rst)
{
	static struct frame syn, f;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);

	ck_assert(h_next_tcp(&h, &syn));
	mtcp_close(s);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
	h_send_tcp(&h, PEER_PORT, syn.tcp.sport, PEER_ISS, syn.tcp.seq + 1, TH_SYN | TH_ACK,
		   65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, syn.tcp.seq + 1, 0);
	h_expect_none(&h);
}
END_TEST

/* The stack's SYN crossed the peer's: fill c from the stack's SYN for a
 * peer that offers only MSS 1460, and have the peer send its own SYN. */
static void simultaneous_syns(struct h_conn *c, const struct frame *syn)
{
	tf_conn_from_syn(c, syn, PEER_ISS, NULL);
	const struct frame *f = tf_simultaneous_syn(&h, c);
	ck_assert_msg(f->tcp.opt.has_mss && f->tcp.opt.mss == 1460, "SYN-ACK lacks MSS");
	ck_assert_msg(!f->tcp.opt.has_ts && !f->tcp.opt.has_wscale && !f->tcp.opt.sack_permitted,
		      "SYN-ACK answers options the peer's SYN did not offer");
}

START_TEST(test_simultaneous_open_syn_then_ack_establishes)
{
	static struct frame syn;
	static struct h_conn c;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);

	ck_assert(h_next_tcp(&h, &syn));
	simultaneous_syns(&c, &syn);
	ck_assert_uint_eq(c.last.tcp.seq, syn.tcp.seq);
	tf_assert_linux_state(s, TCP_SYN_RECV);
	ck_assert_int_eq(mtcp_poll(s) & (EPOLLOUT | EPOLLERR), 0);
	h_expect_none(&h);

	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);
	ck_assert_int_eq(h_sock_connect(s, PEER_IP, PEER_PORT), 0);
	ck_assert_int_eq(wr(s, "sim", 3), 3);
	h_conn_expect_data(&h, &c, TH_ACK, "sim", 3);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_tcp_abort(&h, s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_simultaneous_open_crossing_synacks_establish)
{
	static struct frame syn, f;
	static struct h_conn c;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);

	ck_assert(h_next_tcp(&h, &syn));
	simultaneous_syns(&c, &syn);
	/* RFC 9293 figure 7 line 6: the peer's SYN-ACK
	 * <SEQ=300><ACK=101><CTL=SYN,ACK> takes SYN-RECEIVED to ESTABLISHED
	 * (MUST-10; Linux tcp_validate_incoming lets this SYN-ACK pass). */
	h_conn_send_ex(&h, &c, PEER_ISS, TH_SYN | TH_ACK, NULL, NULL, 0);
	if (h_next_tcp(&h, &f))
		ck_assert_msg((f.tcp.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_ACK &&
			      f.tcp.seq == c.rcv_nxt && f.tcp.ack == c.snd_nxt,
			      "the crossing SYN-ACK drew something other than an ACK");
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);
	h_tcp_abort(&h, s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_rst_after_simultaneous_open_is_econnrefused)
{
	static struct frame syn;
	static struct h_conn c;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);

	ck_assert(h_next_tcp(&h, &syn));
	simultaneous_syns(&c, &syn);
	/* RFC 9293 3.10.7.4: SYN-RECEIVED reached from an active OPEN and a
	 * RST -> "connection refused" (Linux's tcp_reset says ECONNRESET
	 * here; the RFC is followed). */
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	ck_assert_uint_eq(mtcp_poll(s), POLL_DEAD_ERR);
	ck_assert_int_eq(h_sock_error(s), ECONNREFUSED);
	mtcp_close(s);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* ---- close ------------------------------------------------------------ */

START_TEST(test_stack_closes_first_fin_wait_then_time_wait_lasts_2msl)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	mtcp_sock_hold(s);              /* to watch the state after close */
	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	tf_assert_linux_state(s, TCP_FIN_WAIT1);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_FIN_WAIT2);
	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_TIME_WAIT);
	mtcp_sock_put(s);

	/* RFC 9293 3.3.2 (MUST-13): 2 MSL, 60 s by default as on Linux. */
	h_advance(&h, TIME_WAIT_US - 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "TIME-WAIT ended before 2MSL (%u control blocks)", h_tcp_pcbs(&h));
	h_expect_none(&h);
	h_advance(&h, 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "TIME-WAIT still there after 2MSL (%u control blocks)",
		      h_tcp_pcbs(&h));
	/* The 4-tuple is free: an ACK for it reaches the listener -> RST. */
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, c.rcv_nxt, 0);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_lasts_twice_the_configured_msl)
{
	static struct h_conn c;
	struct netdev *ours;
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP, .addr = STACK_IP, .prefix = 24, .has_mac = true,
		.seed = 42, .msl_us = 5 * SEC,
	};

	/* The harness's stack, built again with MSL 5 s. */
	h_teardown(&h);
	memset(&h, 0, sizeof(h));
	h.now = 1000 * SEC;
	h.ip_id = 1;
	memcpy(cfg.mac, STACK_MAC, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(memlink_pair(&ours, &h.peer, 1500, 4096), 0);
	struct mtcp_clock clk = mtcp_virtual_clock(&h.now);
	ck_assert_int_eq(mtcp_stack_create(&cfg, ours, &clk, &h.st), 0);
	h_learn_peer(&h);

	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 10 * SEC - 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "TIME-WAIT ended before 2 x 5 s");
	h_advance(&h, 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "TIME-WAIT lasted beyond 2 x 5 s");
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_peer_closes_first_close_wait_then_last_ack)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	char buf[16];

	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	/* RFC 9293 3.10.7.4 eighth: ACK the FIN. */
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_CLOSE_WAIT);
	unsigned ev = mtcp_poll(s);
	ck_assert_msg(ev == (POLL_IN | EPOLLRDHUP | POLL_OUT), "poll 0x%x in CLOSE-WAIT, "
		      "expected IN|RDHUP|OUT", ev);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	/* The sending direction still works. */
	ck_assert_int_eq(wr(s, "late", 4), 4);
	h_conn_expect_data(&h, &c, TH_ACK, "late", 4);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);

	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "LAST-ACK connection gone before the ACK of its FIN");
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	/* LAST-ACK -> CLOSED at once, no TIME-WAIT on this side. */
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "connection still there after LAST-ACK was acknowledged");
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_simultaneous_close_goes_closing_then_time_wait)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	mtcp_sock_hold(s);
	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	/* The peer's FIN crossed ours: it does not acknowledge our FIN. */
	c.rcv_nxt--;
	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	c.rcv_nxt++;
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_CLOSING);
	/* Now the ACK of our FIN. */
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_TIME_WAIT);
	mtcp_sock_put(s);
	h_advance(&h, TIME_WAIT_US - 1);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_advance(&h, 1);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_shutdown_wr_sends_fin_and_still_receives)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	char buf[16];

	ck_assert_int_eq(mtcp_shutdown(s, SHUT_WR), 0);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	tf_assert_linux_state(s, TCP_FIN_WAIT1);
	/* Linux tcp_poll: SEND_SHUTDOWN reports writable, no HUP yet. */
	ck_assert_uint_eq(mtcp_poll(s), POLL_OUT);
	ck_assert_int_eq(wr(s, "x", 1), -EPIPE);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_FIN_WAIT2);

	h_conn_send(&h, &c, TH_ACK | TH_PSH, "half", 4);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "half", 4);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);

	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	tf_assert_linux_state(s, TCP_TIME_WAIT);
	ck_assert_uint_eq(mtcp_poll(s), POLL_IN | EPOLLRDHUP | POLL_OUT | EPOLLHUP);
	ck_assert_int_eq(wr(s, "x", 1), -EPIPE);
	mtcp_close(s);
	h_expect_none(&h);
	h_advance(&h, TIME_WAIT_US);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_lost_fin_is_retransmitted_after_rto)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);

	/* A 100 ms handshake RTT: RTO = 100 + 4 * 50 = 300 ms (RFC 6298 2.2). */
	struct mtcp_sock *s = tf_accept(&h, l, &c, PEER_PORT, OUR_PORT, PEER_ISS, NULL, 100 * MS);

	tf_drive(&h, &c, s, TCPS_FIN_WAIT_1, true);
	uint32_t fin_seq = c.rcv_nxt - 1;
	h_advance(&h, 300 * MS - 1);
	h_expect_none(&h);
	h_advance(&h, 1);
	h_expect_tcp(&h, NULL, TH_FIN | TH_ACK, fin_seq, c.snd_nxt);
	/* RFC 6298 5.5: the timer backs off. */
	h_advance(&h, 600 * MS - 1);
	h_expect_none(&h);
	h_advance(&h, 1);
	h_expect_tcp(&h, NULL, TH_FIN | TH_ACK, fin_seq, c.snd_nxt);
	/* Acknowledged: no more. */
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_advance(&h, 5 * SEC);
	h_expect_none(&h);
	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_advance(&h, TIME_WAIT_US);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_reacks_retransmitted_fin_and_restarts_2msl)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 30 * SEC);
	/* Our last ACK was lost: the peer sends its FIN again. */
	h_conn_send_ex(&h, &c, c.snd_nxt - 1, TH_FIN | TH_ACK, NULL, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	/* RFC 9293 3.10.7.4 (TIME-WAIT, FIN): restart the 2 MSL timeout. */
	h_advance(&h, TIME_WAIT_US - 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "TIME-WAIT did not restart on the retransmitted FIN");
	h_advance(&h, 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "TIME-WAIT did not end 2MSL after the last FIN");
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_orphan_fin_wait_2_times_out_with_rst)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	tf_drive(&h, &c, s, TCPS_FIN_WAIT_2, true);
	/* Linux tcp_fin_timeout (60 s): an orphan does not wait forever
	 * for the peer's FIN; it resets. */
	h_advance(&h, 60 * SEC - 1);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_advance(&h, 1);
	expect_reset(&c, "FIN-WAIT-2 timeout");
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- RST generation -------------------------------------------------- */

START_TEST(test_segment_to_closed_port_draws_rst_per_rfc9293)
{
	static struct frame f;
	uint64_t d0 = h_drop(&h, DROP_TCP_NO_SOCKET);

	/* ACK off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (3.10.7.1),
	 * SYN and FIN counting in SEG.LEN. */
	h_send_tcp(&h, PEER_PORT, 81, 100, 0, TH_SYN, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST | TH_ACK, 0, 101);
	ck_assert_uint_eq(f.tcp.sport, 81);
	ck_assert_uint_eq(f.tcp.dport, PEER_PORT);
	ck_assert_uint_eq(f.ip.dst, PEER_IP);
	ck_assert_uint_eq(f.tcp.win, 0);
	ck_assert_uint_eq(f.data_len, 0);
	h_send_tcp(&h, PEER_PORT, 81, 300, 0, TH_PSH, 65535, NULL, "hello", 5);
	h_expect_tcp(&h, &f, TH_RST | TH_ACK, 0, 305);
	h_send_tcp(&h, PEER_PORT, 81, 400, 0, TH_FIN, 65535, NULL, "ab", 2);
	h_expect_tcp(&h, &f, TH_RST | TH_ACK, 0, 403);
	/* ACK on: <SEQ=SEG.ACK><CTL=RST>. */
	h_send_tcp(&h, PEER_PORT, 81, 200, 777, TH_ACK | TH_PSH, 65535, NULL, "hello", 5);
	h_expect_tcp(&h, &f, TH_RST, 777, 0);
	ck_assert_uint_eq(f.data_len, 0);
	h_send_tcp(&h, PEER_PORT, 81, 200, 0xfffffff0u, TH_SYN | TH_ACK, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, 0xfffffff0u, 0);
	/* Never a RST for a RST. */
	h_send_tcp(&h, PEER_PORT, 81, 500, 0, TH_RST, 0, NULL, NULL, 0);
	h_send_tcp(&h, PEER_PORT, 81, 500, 9, TH_RST | TH_ACK, 0, NULL, NULL, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_NO_SOCKET) - d0, 7);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_close_with_unread_data_sends_rst_not_fin)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	h_conn_send(&h, &c, TH_ACK | TH_PSH, "unread", 6);
	h_conn_expect(&h, &c, TH_ACK, 0);
	/* RFC 9293 3.6 (SHLD-3), RFC 2525 2.17, Linux tcp_close. */
	mtcp_close(s);
	expect_reset(&c, "close with unread data");
	h_expect_none(&h);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "the reset connection lingers");
	/* It is gone: the peer's next segment is answered with a RST. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "more", 4);
	h_expect_tcp(&h, NULL, TH_RST, c.rcv_nxt, 0);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_so_linger_zero_close_sends_rst)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	struct linger lg = { -1, -1 };
	socklen_t len = sizeof(lg);

	ck_assert_int_eq(wr(s, "sent", 4), 4);
	h_conn_expect_data(&h, &c, TH_ACK, "sent", 4);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_sock_linger0(s);
	ck_assert_int_eq(mtcp_getsockopt(s, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	ck_assert(lg.l_onoff == 1 && lg.l_linger == 0);
	mtcp_close(s);
	expect_reset(&c, "SO_LINGER {1, 0} close");
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_data_after_close_draws_rst)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_DATA_AFTER_CLOSE);

	tf_drive(&h, &c, s, TCPS_FIN_WAIT_2, true);
	/* RFC 9293 3.6 (SHLD-3): new data after CLOSE -> RST. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "nobody", 6);
	expect_reset(&c, "data after close");
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_DATA_AFTER_CLOSE) - d0, 1);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- RST processing -------------------------------------------------- */

START_TEST(test_rst_at_rcv_nxt_resets_recv_econnreset)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	char buf[8];

	h_conn_rst(&h, &c);
	h_expect_none(&h);
	ck_assert_uint_eq(mtcp_poll(s), POLL_DEAD_ERR);
	tf_assert_linux_state(s, TCP_CLOSE);
	/* Linux tcp_recvmsg: the error once, then end of stream. */
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -ECONNRESET);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(h_sock_error(s), 0);
	mtcp_close(s);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_send_after_reset_is_econnreset_then_epipe)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	h_conn_send_ex(&h, &c, c.snd_nxt, TH_RST | TH_ACK, NULL, NULL, 0);
	h_expect_none(&h);
	/* Linux sk_stream_error: the pending error first, then EPIPE. */
	ck_assert_int_eq(wr(s, "x", 1), -ECONNRESET);
	ck_assert_int_eq(wr(s, "x", 1), -EPIPE);
	ck_assert_int_eq(wr(s, "x", 1), -EPIPE);
	h_expect_none(&h);
	mtcp_close(s);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_rst_in_window_not_exact_draws_challenge_ack)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_RST_INVALID);
	char buf[8];

	/* RFC 5961 3.2: in the window but not RCV.NXT -> <SEQ=SND.NXT>
	 * <ACK=RCV.NXT><CTL=ACK>; the connection stays. */
	h_conn_send_ex(&h, &c, c.snd_nxt + 100, TH_RST, NULL, NULL, 0);
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(f->data_len, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_RST_INVALID) - d0, 1);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_int_eq(h_sock_error(s), 0);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "alive", 5);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 5);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_rst_outside_window_is_ignored)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_OUT_OF_WINDOW);

	/* RFC 5961 3.2 / RFC 9293 3.10.7.4: outside the window, silently. */
	h_conn_send_ex(&h, &c, c.snd_nxt + 200000, TH_RST, NULL, NULL, 0);
	h_conn_send_ex(&h, &c, c.snd_nxt - 1, TH_RST, NULL, NULL, 0);
	h_conn_send_ex(&h, &c, c.snd_nxt - 70000, TH_RST | TH_ACK, NULL, NULL, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_OUT_OF_WINDOW) - d0, 3);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_int_eq(wr(s, "ok", 2), 2);
	h_conn_expect_data(&h, &c, TH_ACK, "ok", 2);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_rst_in_time_wait_is_ignored)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_TIME_WAIT);

	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 1 * SEC);
	/* RFC 1337: TIME-WAIT assassination - a RST does not end it. */
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_TIME_WAIT) - d0, 1);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "a RST ended TIME-WAIT");
	/* Still there: a retransmitted FIN is acknowledged. */
	h_conn_send_ex(&h, &c, c.snd_nxt - 1, TH_FIN | TH_ACK, NULL, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_advance(&h, TIME_WAIT_US);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_rst_in_close_wait_reports_epipe)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	char buf[8];

	tf_drive(&h, &c, s, TCPS_CLOSE_WAIT, false);
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	/* Linux tcp_reset: EPIPE in CLOSE-WAIT. */
	ck_assert_int_eq(h_sock_error(s), EPIPE);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	mtcp_close(s);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- RFC 5961: blind SYN, ACK, challenge ACK limit -------------------- */

START_TEST(test_syn_on_established_draws_challenge_ack_not_reset)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_SYN_INVALID);
	char buf[8];

	/* RFC 5961 4.2: a SYN in the window -> challenge ACK, no RST. */
	h_conn_send_ex(&h, &c, c.snd_nxt + 10, TH_SYN, NULL, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_SYN_INVALID) - d0, 1);
	/* The old SYN (its ISS, below RCV.NXT) -> an ACK too. */
	h_conn_send_ex(&h, &c, PEER_ISS, TH_SYN, NULL, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	ck_assert_int_eq(h_sock_error(s), 0);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "fine", 4);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 4);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_ack_beyond_snd_max_is_dropped_with_an_ack)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_ACK_INVALID);
	char buf[8];

	/* RFC 5961 5.2: SEG.ACK > SND.MAX -> drop the segment (its data
	 * too) and send an ACK. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, c.snd_nxt, c.rcv_nxt + 1000, TH_ACK | TH_PSH,
		   c.win, NULL, "bad", 3);
	h_conn_expect(&h, &c, TH_ACK, 0);          /* ack = the peer's snd_nxt, unmoved */
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_ACK_INVALID) - d0, 1);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	/* The same bytes with a good ACK are taken. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "bad", 3);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "bad", 3);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_challenge_acks_limited_to_1000_per_second)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t lim0 = h_drop(&h, DROP_TCP_CHALLENGE_LIMIT);
	uint64_t inv0 = h_drop(&h, DROP_TCP_RST_INVALID);
	unsigned acks = 0;

	/* RFC 5961 7 (Linux tcp_challenge_ack_limit 1000): 1100 bad RSTs
	 * within one second draw 1000 challenge ACKs. */
	for (int i = 0; i < 1100; i++) {
		h_conn_send_ex(&h, &c, c.snd_nxt + 1 + (uint32_t)i, TH_RST, NULL, NULL, 0);
		while (h_next_tcp(&h, &f)) {
			ck_assert_msg((f.tcp.flags & (TH_ACK | TH_RST | TH_SYN | TH_FIN)) == TH_ACK &&
				      f.tcp.seq == c.rcv_nxt && f.tcp.ack == c.snd_nxt,
				      "challenge %u is not the expected ACK", acks);
			acks++;
		}
	}
	ck_assert_uint_eq(acks, 1000);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_CHALLENGE_LIMIT) - lim0, 100);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_RST_INVALID) - inv0, 1100);
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	/* A new second, a new budget. */
	h_advance(&h, 1 * SEC);
	h_conn_send_ex(&h, &c, c.snd_nxt + 1, TH_RST, NULL, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- acceptability ---------------------------------------------------- */

START_TEST(test_out_of_window_data_acked_not_delivered)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint64_t d0 = h_drop(&h, DROP_TCP_OUT_OF_WINDOW);
	char buf[8];

	/* Beyond RCV.NXT + RCV.WND (64 KiB): <SEQ=SND.NXT><ACK=RCV.NXT>. */
	h_conn_send_ex(&h, &c, c.snd_nxt + 100000, TH_ACK | TH_PSH, NULL, "far", 3);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_OUT_OF_WINDOW) - d0, 1);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	ck_assert_uint_eq(mtcp_poll(s) & EPOLLIN, 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_old_duplicate_data_acked_not_redelivered)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	char buf[16];

	h_conn_send(&h, &c, TH_ACK | TH_PSH, "hello", 5);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 5);
	/* The same segment again (our ACK was lost): ACK at once. */
	h_conn_send_ex(&h, &c, c.snd_nxt - 5, TH_ACK | TH_PSH, NULL, "hello", 5);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	/* Overlapping old and new: only the new bytes are delivered. */
	h_conn_send_ex(&h, &c, c.snd_nxt - 2, TH_ACK | TH_PSH, NULL, "lo!!", 4);
	c.snd_nxt += 2;
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "!!", 2);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- listen / accept --------------------------------------------------- */

START_TEST(test_backlog_1_holds_two_then_drops_syn_until_accept)
{
	static struct h_conn c[3];
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 1), *a = NULL, *b = NULL, *d = NULL;
	struct sockaddr_in peer;
	uint64_t d0 = h_drop(&h, DROP_TCP_LISTEN_OVERFLOW);

	/* Linux sk_acceptq_is_full: backlog + 1 complete connections wait. */
	h_conn_connect(&h, &c[0], PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_connect(&h, &c[1], PEER_PORT + 1, OUR_PORT, PEER_ISS, NULL);
	h_expect_none(&h);
	h_conn_init(&c[2], PEER_PORT + 2, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c[2], TH_SYN, NULL, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_LISTEN_OVERFLOW) - d0, 1);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 3);

	ck_assert_int_eq(mtcp_accept(l, &peer, &a), 0);
	assert_sin(&peer, PEER_IP, PEER_PORT, "first accept");
	/* The client's SYN retransmission now gets through. */
	h_conn_send_ex(&h, &c[2], PEER_ISS, TH_SYN, NULL, NULL, 0);
	h_conn_expect_synack(&h, &c[2]);
	h_conn_send(&h, &c[2], TH_ACK, NULL, 0);
	h_expect_none(&h);
	ck_assert_int_eq(mtcp_accept(l, &peer, &b), 0);
	assert_sin(&peer, PEER_IP, PEER_PORT + 1, "second accept");
	ck_assert_int_eq(mtcp_accept(l, &peer, &d), 0);
	assert_sin(&peer, PEER_IP, PEER_PORT + 2, "third accept");
	struct mtcp_sock *none = NULL;
	ck_assert_int_eq(mtcp_accept(l, &peer, &none), -EAGAIN);
	h_tcp_abort(&h, a);
	h_tcp_abort(&h, b);
	h_tcp_abort(&h, d);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_fifty_connections_on_one_listener)
{
	enum { N = 50 };
	static struct h_conn c[N];
	static struct mtcp_sock *s[N];
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 64);
	struct sockaddr_in peer;
	uint8_t b;

	for (int i = 0; i < N; i++)
		h_conn_connect(&h, &c[i], (uint16_t)(41000 + i), OUR_PORT, PEER_ISS + 1000u * i,
			       NULL);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), N + 1);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(mtcp_accept(l, &peer, &s[i]), 0);
		assert_sin(&peer, PEER_IP, (uint16_t)(41000 + i), "accept order");
	}
	struct mtcp_sock *none = NULL;
	ck_assert_int_eq(mtcp_accept(l, &peer, &none), -EAGAIN);
	/* Each peer's byte lands on its own socket. */
	for (int i = N - 1; i >= 0; i--) {
		b = (uint8_t)i;
		h_conn_send(&h, &c[i], TH_ACK | TH_PSH, &b, 1);
		h_conn_expect(&h, &c[i], TH_ACK, 0);
	}
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(rd(s[i], &b, 1), 1);
		ck_assert_uint_eq(b, (uint8_t)i);
		tf_drive(&h, &c[i], s[i], TCPS_TIME_WAIT, true);
	}
	ck_assert_uint_eq(h_tcp_pcbs(&h), N + 1);
	h_advance(&h, TIME_WAIT_US);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_closing_listener_resets_unaccepted_children)
{
	static struct h_conn c[3];
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);

	h_conn_connect(&h, &c[0], PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_connect(&h, &c[1], PEER_PORT + 1, OUR_PORT, PEER_ISS, NULL);
	h_conn_init(&c[2], PEER_PORT + 2, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c[2], TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c[2]);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 4);

	mtcp_close(l);
	/* Linux inet_csk_listen_stop: established children are reset; the
	 * one still in SYN-RECEIVED goes quietly. Newest first or oldest
	 * first: both must be reset, once each. */
	static struct frame f;
	bool reset[2] = { false, false };
	for (int n = 0; n < 2; n++) {
		ck_assert_msg(h_next_tcp(&h, &f), "only %d of 2 children were reset", n);
		int i = f.tcp.dport == PEER_PORT ? 0 : f.tcp.dport == PEER_PORT + 1 ? 1 : -1;
		ck_assert_msg(i >= 0 && !reset[i], "unexpected segment to port %u", f.tcp.dport);
		ck_assert_msg((f.tcp.flags & (TH_RST | TH_SYN | TH_FIN)) == TH_RST &&
			      f.tcp.seq == c[i].rcv_nxt &&
			      (!(f.tcp.flags & TH_ACK) || f.tcp.ack == c[i].snd_nxt),
			      "child %d: not a RST at seq %u", i, c[i].rcv_nxt);
		reset[i] = true;
	}
	h_expect_none(&h);
	ck_assert_msg(h_tcp_pcbs(&h) == 0, "%u control blocks left after closing the listener", h_tcp_pcbs(&h));
	/* Nothing listens any more. */
	h_conn_send(&h, &c[0], TH_ACK | TH_PSH, "x", 1);
	h_expect_tcp(&h, NULL, TH_RST, c[0].rcv_nxt, 0);
}
END_TEST

START_TEST(test_ack_to_listener_draws_rst)
{
	static struct frame f;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	uint64_t d0 = h_drop(&h, DROP_TCP_LISTEN_BAD);

	/* RFC 9293 3.10.7.2: an ACK in LISTEN -> <SEQ=SEG.ACK><CTL=RST>. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, 5000, 12345, TH_ACK, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_RST, 12345, 0);
	ck_assert_uint_eq(f.tcp.sport, OUR_PORT);
	ck_assert_uint_eq(f.tcp.dport, PEER_PORT);
	/* A RST in LISTEN is ignored; so is a segment with neither. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, 5000, 0, TH_RST, 0, NULL, NULL, 0);
	h_send_tcp(&h, PEER_PORT, OUR_PORT, 5000, 0, TH_PSH, 65535, NULL, "x", 1);
	h_expect_none(&h);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_LISTEN_BAD) - d0, 3);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_accept_on_non_listening_socket_is_einval)
{
	struct mtcp_sock *s = h_tcp_socket(&h), *out = NULL;

	ck_assert_int_eq(mtcp_accept(s, NULL, &out), -EINVAL);
	ck_assert_int_eq(bind_port(s, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_accept(s, NULL, &out), -EINVAL);
	ck_assert_ptr_null(out);
	mtcp_close(s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_nonblocking_accept_on_empty_queue_is_eagain)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8), *s = NULL;

	ck_assert_int_eq(mtcp_accept(l, NULL, &s), -EAGAIN);
	ck_assert_uint_eq(mtcp_poll(l), 0);
	/* A connection in SYN-RECEIVED is not ready either. */
	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), -EAGAIN);
	ck_assert_uint_eq(mtcp_poll(l), 0);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	ck_assert_uint_eq(mtcp_poll(l), POLL_IN);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), 0);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), -EAGAIN);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- bind --------------------------------------------------------------- */

START_TEST(test_bind_same_port_twice_is_eaddrinuse)
{
	struct mtcp_sock *a = h_tcp_socket(&h), *b = h_tcp_socket(&h);

	ck_assert_int_eq(bind_port(a, 5000), 0);
	ck_assert_int_eq(bind_port(b, 5000), -EADDRINUSE);
	ck_assert_int_eq(bind_port(b, 5001), 0);
	ck_assert_uint_eq(local_port(b), 5001);
	mtcp_close(a);
	mtcp_close(b);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_bind_reuseaddr_shares_port_but_never_two_listeners)
{
	struct mtcp_sock *a = h_tcp_socket(&h), *b = h_tcp_socket(&h), *c = h_tcp_socket(&h);
	struct mtcp_sock *d = h_tcp_socket(&h);

	h_sock_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1);
	h_sock_set_int(b, SOL_SOCKET, SO_REUSEADDR, 1);
	h_sock_set_int(d, SOL_SOCKET, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_port(a, 5000), 0);
	/* Only one side asking is not enough (Linux inet_csk_bind_conflict). */
	ck_assert_int_eq(bind_port(c, 5000), -EADDRINUSE);
	ck_assert_int_eq(bind_port(b, 5000), 0);
	ck_assert_int_eq(mtcp_listen(a, 8), 0);
	ck_assert_int_eq(mtcp_listen(b, 8), -EADDRINUSE);
	/* Nor may anyone bind next to a listener. */
	ck_assert_int_eq(bind_port(d, 5000), -EADDRINUSE);
	mtcp_close(a);
	mtcp_close(b);
	mtcp_close(c);
	mtcp_close(d);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_listen_unbound_binds_an_ephemeral_port)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_socket(&h);
	uint16_t port;

	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	port = local_port(l);
	ck_assert_msg(port >= 32768 && port <= 60999, "listen picked port %u, outside "
		      "32768..60999", port);
	/* It listens there. */
	h_conn_init(&c, PEER_PORT, port, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	h_conn_rst(&h, &c);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_successive_connects_get_different_random_ports)
{
	enum { N = 6 };
	struct mtcp_sock *s[N];
	uint16_t port[N];
	bool all_sequential = true;
	static struct frame syn;

	for (int i = 0; i < N; i++) {
		s[i] = h_tcp_connect(&h, 0, PEER_PORT);
		ck_assert(h_next_tcp(&h, &syn));
		port[i] = local_port(s[i]);
		ck_assert_uint_eq(syn.tcp.sport, port[i]);
		ck_assert_msg(port[i] >= 32768 && port[i] <= 60999, "port %u", port[i]);
		for (int j = 0; j < i; j++)
			ck_assert_msg(port[i] != port[j], "connects %d and %d share port %u", j, i,
				      port[i]);
		if (i && port[i] != port[i - 1] + 1)
			all_sequential = false;
	}
	/* RFC 6056: the choice is randomised, not a counter. */
	ck_assert_msg(!all_sequential, "ephemeral ports are sequential: %u %u %u ...", port[0],
		      port[1], port[2]);
	for (int i = 0; i < N; i++)
		mtcp_close(s[i]);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* ---- ISN ---------------------------------------------------------------- */

START_TEST(test_isns_of_different_4tuples_are_unrelated)
{
	static struct h_conn c, d;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_init(&d, PEER_PORT + 1, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &d);
	/* RFC 6528: a keyed hash of the 4-tuple; same instant, neighbouring
	 * ports, and still nowhere near each other. */
	int32_t diff = (int32_t)(d.irs - c.irs);
	ck_assert_msg(diff > (1 << 20) || diff < -(1 << 20), "ISNs %u and %u differ by only %d",
		      c.irs, d.irs, diff);
	h_conn_rst(&h, &c);
	h_conn_rst(&h, &d);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_isn_of_same_4tuple_grows_with_the_clock)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	uint32_t isn1 = c.irs;
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);

	h_advance(&h, 10 * SEC);
	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS + 5, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	/* RFC 6528 3: ISN = M + F(4-tuple, key), M a 4 us timer. */
	ck_assert_msg(SEQ_GT(c.irs, isn1), "ISN %u 10 s later is not above %u", c.irs, isn1);
	ck_assert_msg(c.irs - isn1 == 10 * SEC / 4, "ISN grew by %u in 10 s, expected %llu",
		      c.irs - isn1, (unsigned long long)(10 * SEC / 4));
	h_conn_rst(&h, &c);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- TIME-WAIT reuse (RFC 9293 MAY-2, RFC 6191) ------------------------ */

START_TEST(test_time_wait_accepts_new_syn_with_higher_seq)
{
	static struct h_conn c, n;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint32_t old_snd_max = c.rcv_nxt;       /* past our FIN */

	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 1 * SEC);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_conn_init(&n, PEER_PORT, OUR_PORT, c.snd_nxt + 100000, NULL);
	h_conn_send(&h, &n, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &n);
	/* MAY-2 (1): the new ISS lies above the old incarnation's. */
	ck_assert_msg(SEQ_GT(n.irs, old_snd_max), "new ISS %u not above the old SND.MAX %u",
		      n.irs, old_snd_max);
	h_conn_send(&h, &n, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);   /* the TIME-WAIT block gave way */
	tf_assert_linux_state(s, TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_refuses_syn_with_older_seq)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);

	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 1 * SEC);
	/* An old duplicate of the first SYN: TIME-WAIT answers with an ACK
	 * (RFC 5961 4.2 / RFC 9293 3.10.7.4), no new connection. */
	h_send_tcp(&h, PEER_PORT, OUR_PORT, PEER_ISS, 0, TH_SYN, 65535, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_ACK, c.rcv_nxt, c.snd_nxt);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_advance(&h, TIME_WAIT_US);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_accepts_syn_with_newer_timestamp)
{
	static struct h_conn c, n;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_TS);
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, &o);

	ck_assert(c.ts);
	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	h_advance(&h, 1 * SEC);
	/* RFC 6191 2: a newer timestamp is enough, whatever the sequence
	 * number (here below the old one). */
	h_conn_init(&n, PEER_PORT, OUR_PORT, PEER_ISS - 5000, &o);
	h_conn_send(&h, &n, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &n);
	h_conn_send(&h, &n, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 2);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_accepts_syn_with_equal_timestamp_and_higher_seq)
{
	static struct h_conn c, n;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_TS);
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, &o);

	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	/* No time passes: the SYN's TSval equals the last one seen. RFC 6191
	 * 2: equal timestamp and a higher sequence number -> honour it. */
	h_conn_init(&n, PEER_PORT, OUR_PORT, c.snd_nxt + 100000, &o);
	h_conn_send(&h, &n, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &n);
	h_conn_send(&h, &n, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

START_TEST(test_time_wait_reuse_picks_iss_above_old_snd_max)
{
	enum { TOTAL = 100000 };
	static struct h_conn c, n;
	static uint8_t data[TOTAL];
	static struct frame f;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 8);
	struct mtcp_sock *s = passive_open(l, &c, PEER_PORT, NULL);
	uint32_t got = 0;

	/* The old incarnation sends 100 kB (in no time at all). */
	memset(data, 'd', sizeof(data));
	ck_assert_int_eq(wr(s, data, sizeof(data)), TOTAL);
	while (got < TOTAL) {
		bool any = false;
		while (h_next_tcp(&h, &f)) {
			ck_assert_msg(f.tcp.seq == c.rcv_nxt && f.data_len > 0,
				      "unexpected segment seq %u len %zu", f.tcp.seq, f.data_len);
			c.rcv_nxt += (uint32_t)f.data_len;
			got += (uint32_t)f.data_len;
			any = true;
		}
		ck_assert_msg(any, "the sender stalled at %u of %u bytes", got, TOTAL);
		h_conn_send(&h, &c, TH_ACK, NULL, 0);
	}
	tf_drive(&h, &c, s, TCPS_TIME_WAIT, true);
	uint32_t old_snd_max = c.rcv_nxt;

	/* 100 ms later the client comes back on the same 4-tuple. */
	h_advance(&h, 100 * MS);
	h_conn_init(&n, PEER_PORT, OUR_PORT, c.snd_nxt + 100000, NULL);
	h_conn_send(&h, &n, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &n);
	/* RFC 9293 3.6 MAY-2 (1): the new ISN must be larger than the
	 * largest sequence number used on the previous incarnation (Linux:
	 * tw_snd_nxt + 65537), else its old segments may be taken as new. */
	ck_assert_msg(SEQ_GT(n.irs, old_snd_max), "reused 4-tuple got ISS %u, not above the "
		      "old incarnation's SND.MAX %u", n.irs, old_snd_max);
	h_conn_rst(&h, &n);
	h_expect_none(&h);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(test_connect_to_unanswering_neighbour_fails_ehostunreach)
{
	static struct frame f;
	struct mtcp_sock *s = h_tcp_socket(&h);
	uint64_t start = h.now;
	unsigned arp_requests = 0;

	ck_assert_int_eq(h_sock_connect(s, OTHER_IP, PEER_PORT), -EINPROGRESS);
	/* Nobody answers ARP for OTHER_IP: no SYN ever reaches the wire. */
	while (!(mtcp_poll(s) & EPOLLERR)) {
		ck_assert_msg(h.now - start < 600 * SEC, "connect still pending after 600 s");
		h_advance(&h, 1 * SEC);
		while (h_next(&h, &f)) {
			ck_assert_msg(!f.is_tcp, "a TCP segment went out without a neighbour");
			if (f.is_arp && f.arp.op == ARP_OP_REQUEST && f.arp.tpa == OTHER_IP)
				arp_requests++;
		}
	}
	ck_assert_uint_gt(arp_requests, 0);
	/* What the stack does: the ARP failure is remembered as a soft
	 * error (EHOSTUNREACH) and reported when the SYN retries run out. */
	ck_assert_int_eq(h_sock_error(s), EHOSTUNREACH);
	ck_assert_uint_eq(mtcp_poll(s), POLL_DEAD_ERR & ~EPOLLERR);
	mtcp_close(s);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_recv_on_never_connected_socket_is_enotconn)
{
	struct mtcp_sock *s = h_tcp_socket(&h);
	char buf[4];

	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -ENOTCONN);
	ck_assert_int_eq(bind_port(s, 5000), 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -ENOTCONN);
	ck_assert_int_eq(mtcp_listen(s, 4), 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -ENOTCONN);
	mtcp_close(s);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

START_TEST(test_getpeername_before_connect_is_enotconn)
{
	struct mtcp_sock *s = h_tcp_socket(&h), *l = h_tcp_listen(&h, OUR_PORT, 4);
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getpeername(s, &a), -ENOTCONN);
	ck_assert_int_eq(mtcp_getpeername(l, &a), -ENOTCONN);
	ck_assert_int_eq(mtcp_shutdown(s, SHUT_RDWR), -ENOTCONN);
	mtcp_close(s);
	h_tcp_close_last(&h, l);
}
END_TEST

static Suite *tcp_state_suite(void)
{
	Suite *s = suite_create("tcp_state");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_passive_synack_offers_mss_wscale_sack_ts_when_offered);
	tcase_add_test(tc, test_passive_synack_omits_options_the_syn_lacked_and_sends_536);
	tcase_add_test(tc, test_peer_mss_less_timestamp_option_bounds_data_segments);
	tcase_add_test(tc, test_synack_mss_follows_the_link_mtu);
	tcase_add_test(tc, test_synack_resent_when_peer_retransmits_its_syn);
	tcase_add_test(tc, test_synack_retransmitted_on_rto_then_child_given_up);
	tcase_add_test(tc, test_rst_in_syn_received_drops_the_child_quietly);
	tcase_add_test(tc, test_handshake_ack_carrying_data_and_fin);
	tcase_add_test(tc, test_active_connect_sends_syn_with_all_options_and_einprogress);
	tcase_add_test(tc, test_active_synack_completes_second_connect_0_then_eisconn);
	tcase_add_test(tc, test_active_rst_to_syn_is_econnrefused);
	tcase_add_test(tc, test_active_syn_backs_off_then_etimedout);
	tcase_add_test(tc, test_syn_sent_synack_with_bad_ack_draws_rst_seq_eq_ack);
	tcase_add_test(tc, test_syn_sent_ignores_rst_without_acceptable_ack);
	tcase_add_test(tc, test_close_in_syn_sent_then_late_synack_draws_rst);
	tcase_add_test(tc, test_simultaneous_open_syn_then_ack_establishes);
	tcase_add_test(tc, test_simultaneous_open_crossing_synacks_establish);
	tcase_add_test(tc, test_rst_after_simultaneous_open_is_econnrefused);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_stack_closes_first_fin_wait_then_time_wait_lasts_2msl);
	tcase_add_test(tc, test_time_wait_lasts_twice_the_configured_msl);
	tcase_add_test(tc, test_peer_closes_first_close_wait_then_last_ack);
	tcase_add_test(tc, test_simultaneous_close_goes_closing_then_time_wait);
	tcase_add_test(tc, test_shutdown_wr_sends_fin_and_still_receives);
	tcase_add_test(tc, test_lost_fin_is_retransmitted_after_rto);
	tcase_add_test(tc, test_time_wait_reacks_retransmitted_fin_and_restarts_2msl);
	tcase_add_test(tc, test_orphan_fin_wait_2_times_out_with_rst);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_segment_to_closed_port_draws_rst_per_rfc9293);
	tcase_add_test(tc, test_close_with_unread_data_sends_rst_not_fin);
	tcase_add_test(tc, test_so_linger_zero_close_sends_rst);
	tcase_add_test(tc, test_data_after_close_draws_rst);
	tcase_add_test(tc, test_rst_at_rcv_nxt_resets_recv_econnreset);
	tcase_add_test(tc, test_send_after_reset_is_econnreset_then_epipe);
	tcase_add_test(tc, test_rst_in_window_not_exact_draws_challenge_ack);
	tcase_add_test(tc, test_rst_outside_window_is_ignored);
	tcase_add_test(tc, test_rst_in_time_wait_is_ignored);
	tcase_add_test(tc, test_rst_in_close_wait_reports_epipe);
	suite_add_tcase(s, tc);

	tc = tcase_create("rfc5961");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_syn_on_established_draws_challenge_ack_not_reset);
	tcase_add_test(tc, test_ack_beyond_snd_max_is_dropped_with_an_ack);
	tcase_add_test(tc, test_challenge_acks_limited_to_1000_per_second);
	tcase_add_test(tc, test_out_of_window_data_acked_not_delivered);
	tcase_add_test(tc, test_old_duplicate_data_acked_not_redelivered);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backlog_1_holds_two_then_drops_syn_until_accept);
	tcase_add_test(tc, test_fifty_connections_on_one_listener);
	tcase_add_test(tc, test_closing_listener_resets_unaccepted_children);
	tcase_add_test(tc, test_ack_to_listener_draws_rst);
	tcase_add_test(tc, test_accept_on_non_listening_socket_is_einval);
	tcase_add_test(tc, test_nonblocking_accept_on_empty_queue_is_eagain);
	tcase_add_test(tc, test_bind_same_port_twice_is_eaddrinuse);
	tcase_add_test(tc, test_bind_reuseaddr_shares_port_but_never_two_listeners);
	tcase_add_test(tc, test_listen_unbound_binds_an_ephemeral_port);
	tcase_add_test(tc, test_successive_connects_get_different_random_ports);
	suite_add_tcase(s, tc);

	tc = tcase_create("isn");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_isns_of_different_4tuples_are_unrelated);
	tcase_add_test(tc, test_isn_of_same_4tuple_grows_with_the_clock);
	tcase_add_test(tc, test_time_wait_accepts_new_syn_with_higher_seq);
	tcase_add_test(tc, test_time_wait_refuses_syn_with_older_seq);
	tcase_add_test(tc, test_time_wait_accepts_syn_with_newer_timestamp);
	tcase_add_test(tc, test_time_wait_accepts_syn_with_equal_timestamp_and_higher_seq);
	tcase_add_test(tc, test_time_wait_reuse_picks_iss_above_old_snd_max);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_connect_to_unanswering_neighbour_fails_ehostunreach);
	tcase_add_test(tc, test_recv_on_never_connected_socket_is_enotconn);
	tcase_add_test(tc, test_getpeername_before_connect_is_enotconn);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tcp_state_suite)
