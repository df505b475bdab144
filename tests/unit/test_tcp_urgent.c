/* test_tcp_urgent.c - urgent data (RFC 9293 3.8.5: MUST-30..33, MUST-62,
 * MUST-66), with Linux's socket semantics: one urgent byte held out of
 * band (recv(MSG_OOB), EPOLLPRI, SIOCATMARK) unless SO_OOBINLINE, reads
 * stopping at the mark, MSG_OOB sends marking the byte after the data. */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_fixture.h"
#include "tcp_var.h"

#define OUR_PORT        80
#define PEER_ISS        1000u

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

/* A connection accepted from the peer (no options: plain segments). */
static struct mtcp_sock *open_conn(struct mtcp_sock **l, struct h_conn *c)
{
	*l = h_tcp_listen(&h, OUR_PORT, 4);
	return tf_accept(&h, *l, c, TF_PEER_PORT, OUR_PORT, PEER_ISS, NULL, 0);
}

/* The peer sends data with URG and an urgent pointer up (the offset of
 * the octet after the urgent data). */
static void send_urg(struct h_conn *c, const char *data, uint16_t up)
{
	struct tcp_repr r = {
		.sport = c->sport, .dport = c->dport, .seq = c->snd_nxt, .ack = c->rcv_nxt,
		.flags = TH_ACK | TH_PSH | TH_URG, .win = c->win, .urp = up,
	};
	h_send_tcp_repr(&h, &r, data, strlen(data));
	c->snd_nxt += (uint32_t)strlen(data);
}

static ssize_t rd(struct mtcp_sock *s, char *buf, size_t len, int flags)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = mtcp_recvmsg(s, &m, flags);

	if (n >= 0 && (size_t)n < len)
		buf[n] = 0;
	return n;
}

static void close_all(struct mtcp_sock *s, struct mtcp_sock *l)
{
	h_sock_linger0(s);
	mtcp_close(s);
	h_tcp_close_last(&h, l);
}

START_TEST(test_urgent_byte_out_of_band_with_epollpri_and_mark)
{
	struct mtcp_sock *l, *s;
	struct h_conn c;
	char buf[64];
	int mark;

	s = open_conn(&l, &c);
	/* "abc!" with UP = 4: the urgent byte is '!' (SEG.SEQ + UP - 1). */
	send_urg(&c, "abc!", 4);
	h_poll(&h);
	ck_assert_uint_eq(mtcp_poll(s) & EPOLLPRI, EPOLLPRI);
	/* The out-of-band byte, first. */
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), 1);
	ck_assert_int_eq(buf[0], '!');
	ck_assert_uint_eq(mtcp_poll(s) & EPOLLPRI, 0);
	/* Read once more: EINVAL (Linux: already read). */
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), -EINVAL);
	/* The stream stops at the mark, without the urgent byte. */
	ck_assert_int_eq(mtcp_ioctl_atmark(s, &mark), 0);
	ck_assert_int_eq(mark, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), 0), 3);
	ck_assert_str_eq(buf, "abc");
	ck_assert_int_eq(mtcp_ioctl_atmark(s, &mark), 0);
	ck_assert_int_eq(mark, 1);
	/* After the mark, normal data again, the urgent byte skipped. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "de", 2);
	h_poll(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), 0), 2);
	ck_assert_str_eq(buf, "de");
	close_all(s, l);
}
END_TEST

START_TEST(test_urgent_inline_stays_in_the_stream)
{
	struct mtcp_sock *l, *s;
	struct h_conn c;
	char buf[64];
	int one = 1;

	s = open_conn(&l, &c);
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)), 0);
	send_urg(&c, "xy!z", 3);
	h_poll(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), -EINVAL);
	/* Up to the mark, then from it: every byte in order. */
	ck_assert_int_eq(rd(s, buf, sizeof(buf), 0), 2);
	ck_assert_str_eq(buf, "xy");
	ck_assert_int_eq(rd(s, buf, sizeof(buf), 0), 2);
	ck_assert_str_eq(buf, "!z");
	close_all(s, l);
}
END_TEST

START_TEST(test_urgent_pointer_ahead_of_the_data_waits_for_it)
{
	struct mtcp_sock *l, *s;
	struct h_conn c;
	char buf[64];

	s = open_conn(&l, &c);
	/* The pointer says the urgent byte is the 6th octet: not here yet. */
	send_urg(&c, "ab", 6);
	h_poll(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), -EAGAIN);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), 0), 2);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "cdU", 3);
	h_poll(&h);
	ck_assert_uint_eq(mtcp_poll(s) & EPOLLPRI, 0);  /* 'U' is the 5th */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "!", 1);
	h_poll(&h);
	ck_assert_uint_eq(mtcp_poll(s) & EPOLLPRI, EPOLLPRI);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), 1);
	ck_assert_int_eq(buf[0], '!');
	close_all(s, l);
}
END_TEST

START_TEST(test_urgent_processed_with_a_zero_window)
{
	/* MUST-66: RST and URG are processed even when the window is 0. */
	struct mtcp_sock *l, *s;
	struct h_conn c;
	char buf[64];
	int small = 1;          /* the minimum receive buffer */

	/* Small from the start, so no larger window was ever offered. */
	l = h_tcp_listen(&h, OUR_PORT, 4);
	ck_assert_int_eq(mtcp_setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	h_conn_connect(&h, &c, 40000, OUR_PORT, PEER_ISS, NULL);
	h_expect_none(&h);
	s = h_tcp_accept(&h, l);
	/* Fill the buffer. */
	uint32_t space = tcp_rcv_space(s->tp);
	static char fill[4096];
	memset(fill, 'f', sizeof(fill));
	ck_assert_uint_le(space, sizeof(fill));
	h_conn_send(&h, &c, TH_ACK | TH_PSH, fill, space);
	h_poll(&h);
	ck_assert_uint_eq(tcp_rcv_space(s->tp), 0);
	h_drain(&h);
	/* A segment at RCV.NXT whose pointer covers a later byte: the data
	 * cannot be taken, but the pointer is. */
	struct tcp_repr r = {
		.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = c.rcv_nxt,
		.flags = TH_ACK | TH_URG, .win = c.win, .urp = 3,
	};
	h_send_tcp_repr(&h, &r, "uv!", 3);
	h_poll(&h);
	ck_assert_int_eq(s->tp->urg_state, URG_NOTYET);
	ck_assert_int_eq(rd(s, buf, sizeof(buf), MSG_OOB), -EAGAIN);
	close_all(s, l);
}
END_TEST

START_TEST(test_send_oob_sets_urg_pointer_after_the_data)
{
	/* MUST-62: the pointer is the offset of the octet after the urgent
	 * data, on every segment before it. */
	struct mtcp_sock *l, *s;
	struct h_conn c;
	struct frame f;
	int one = 1;

	s = open_conn(&l, &c);
	ck_assert_int_eq(mtcp_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	ck_assert_int_eq(mtcp_sendto(s, "data", 4, 0, NULL), 4);
	ck_assert(h_next_tcp(&h, &f));
	ck_assert_uint_eq(f.tcp.flags & TH_URG, 0);
	ck_assert_int_eq(mtcp_sendto(s, "!", 1, MSG_OOB, NULL), 1);
	ck_assert(h_next_tcp(&h, &f));
	ck_assert_uint_eq(f.tcp.flags & TH_URG, TH_URG);
	ck_assert_uint_eq(f.data_len, 1);
	ck_assert_uint_eq(f.tcp.urp, 1);        /* seq + 1: just after '!' */
	/* Once acknowledged, urgent mode ends: the next segment has no URG. */
	h_send_tcp(&h, c.sport, c.dport, c.snd_nxt, f.tcp.seq + 1, TH_ACK, 65535, NULL,
		   NULL, 0);
	h_poll(&h);
	ck_assert_int_eq(mtcp_sendto(s, "more", 4, 0, NULL), 4);
	ck_assert(h_next_tcp(&h, &f));
	ck_assert_uint_eq(f.tcp.flags & TH_URG, 0);
	close_all(s, l);
}
END_TEST

static Suite *urgent_suite(void)
{
	Suite *s = suite_create("tcp_urgent");
	TCase *tc = tcase_create("urgent");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_urgent_byte_out_of_band_with_epollpri_and_mark);
	tcase_add_test(tc, test_urgent_inline_stays_in_the_stream);
	tcase_add_test(tc, test_urgent_pointer_ahead_of_the_data_waits_for_it);
	tcase_add_test(tc, test_urgent_processed_with_a_zero_window);
	tcase_add_test(tc, test_send_oob_sets_urg_pointer_after_the_data);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(urgent_suite)
