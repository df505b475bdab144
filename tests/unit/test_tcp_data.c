/*
 * test_tcp_data.c - TCP moving data, as the peer sees it on the wire:
 * segmentation and the initial window (RFC 6928), slow start and
 * congestion avoidance (RFC 5681), the peer's window and window scaling
 * (RFC 7323 2), the window we offer and receiver SWS avoidance (RFC 1122
 * 4.2.3.3), zero-window probing (RFC 9293 3.8.6.1), the retransmission
 * timer (RFC 6298), fast retransmit, limited transmit and NewReno (RFC
 * 5681 3.2, RFC 3042, RFC 6582), SACK (RFC 2018), reassembly, delayed
 * ACKs, Nagle and corking, keepalive (RFC 1122 4.2.3.6), timestamps and
 * PAWS (RFC 7323 4, 5), ICMP errors (RFC 5461), and the socket calls
 * around them, which answer as Linux's do.
 *
 * The test is the peer: it sends segments into one stack on the virtual
 * clock and asserts what comes back, timings to the microsecond where an
 * RFC fixes them.
 */
#include <check.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_fixture.h"

#define PEER_PORT       40000
#define OUR_PORT        80
#define PEER_ISS        1000u
#define MSS             1460u           /* the peer's MSS, and ours on a 1500-byte link */
#define MSS_TS          1448u           /* less the 12 bytes of a timestamp option */
#define MSEC            USEC_PER_MSEC
#define SEC             USEC_PER_SEC
#define DATA_MAX        (256 * 1024)

/* Linux's TCP_* states as TCP_INFO reports them */
#define LINUX_TCP_ESTABLISHED   1
#define LINUX_TCP_CLOSE         7
#define LINUX_TCP_CLOSE_WAIT    8

static struct harness h;
static struct h_conn c;
static struct mtcp_sock *L, *S;
static uint8_t app_data[DATA_MAX];      /* the stream the stack's user sends */
static uint8_t peer_data[DATA_MAX];     /* the stream the peer sends */
static uint32_t app_sent;               /* bytes of app_data handed to send */

/* A byte stream that does not repeat in any short period, so a byte at a
 * wrong offset shows. */
static uint8_t stream_byte(uint32_t off, uint32_t salt)
{
	uint32_t x = (off + salt) * 2654435761u;

	return (uint8_t)(x >> 24 ^ x >> 11);
}

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
	L = S = NULL;
	app_sent = 0;
	memset(&c, 0, sizeof(c));
	for (uint32_t i = 0; i < DATA_MAX; i++) {
		app_data[i] = stream_byte(i, 0);
		peer_data[i] = stream_byte(i, 0x5a5a);
	}
}

static void teardown(void)
{
	if (S)
		mtcp_close(S);
	if (L)
		mtcp_close(L);
	h_teardown(&h);
}

/* --- options and connections --- */

#define O_TS    1u
#define O_SACK  2u
#define O_WS    4u

/* What the peer offers on its SYN: MSS 1460 and the options asked for. */
static struct tcp_opts peer_opts(unsigned which, uint8_t wscale)
{
	return tf_syn_opts((struct tf_opts){ .ts = which & O_TS, .sack = which & O_SACK,
					     .ws = which & O_WS, .wscale = wscale });
}

/* A listener on OUR_PORT with one option set before listen (its children
 * inherit it; the window scale follows SO_RCVBUF). */
static void listen_with(int level, int name, int v)
{
	struct sockaddr_in a = h_sin(0, OUR_PORT);

	ck_assert_int_eq(mtcp_socket(h.st, SOCK_STREAM, &L), 0);
	ck_assert_int_eq(mtcp_setsockopt(L, level, name, &v, sizeof(v)), 0);
	ck_assert_int_eq(mtcp_bind(L, &a), 0);
	ck_assert_int_eq(mtcp_listen(L, 8), 0);
}

/* The peer opens a connection to OUR_PORT offering o (NULL: MSS only); its
 * ACK of the SYN-ACK comes rtt later. S is the accepted socket. */
static void open_rtt(const struct tcp_opts *o, uint64_t rtt)
{
	if (!L)
		L = h_tcp_listen(&h, OUR_PORT, 8);
	S = tf_accept(&h, L, &c, PEER_PORT, OUR_PORT, PEER_ISS, o, rtt);
}

static void open_conn(const struct tcp_opts *o)
{
	open_rtt(o, 0);
}

/* The stack's first data byte, the peer's first data byte. */
static uint32_t data0(void)
{
	return c.irs + 1;
}

static uint32_t p0(void)
{
	return c.iss + 1;
}

/* Segment k of the stack's stream cut at MSS. */
static uint32_t seg(unsigned k)
{
	return data0() + k * MSS;
}

/* --- the stack's user --- */

static void app_send_flags(size_t n, int flags)
{
	ssize_t r = mtcp_sendto(S, app_data + app_sent, n, flags, NULL);

	ck_assert_msg(r == (ssize_t)n, "send(%zu bytes, flags 0x%x) returned %zd", n, flags, r);
	app_sent += (uint32_t)n;
}

static void app_send(size_t n)
{
	app_send_flags(n, 0);
}

static ssize_t app_recv(void *buf, size_t n, int flags)
{
	return mtcp_recvfrom(S, buf, n, flags, NULL);
}

/* Everything readable is exactly the peer's bytes [off, off + n). */
static void expect_read(uint32_t off, size_t n, const char *what)
{
	static uint8_t buf[DATA_MAX];
	ssize_t got = app_recv(buf, sizeof(buf), 0);

	ck_assert_msg(got == (ssize_t)n, "%s: read %zd bytes, expected %zu", what, got, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(buf[i] == peer_data[off + i],
			      "%s: byte %zu read is 0x%02x, the peer sent 0x%02x", what,
			      off + i, buf[i], peer_data[off + i]);
}

static int set_int(struct mtcp_sock *s, int level, int name, int v)
{
	return mtcp_setsockopt(s, level, name, &v, sizeof(v));
}

static struct tcp_info tcpinfo(void)
{
	return h_tcp_info(S);
}

static int inq(void)
{
	int v = -1;

	ck_assert_int_eq(mtcp_ioctl_inq(S, &v), 0);
	return v;
}

static int outq(void)
{
	int v = -1;

	ck_assert_int_eq(mtcp_ioctl_outq(S, &v), 0);
	return v;
}

/* --- the peer --- */

/* The peer sends len bytes of its stream, in order. */
static void peer_send(size_t len)
{
	h_conn_send(&h, &c, TH_ACK, peer_data + (c.snd_nxt - p0()), len);
}

/* The peer sends its bytes [off, off + len) with extra flags, out of order
 * or again (its snd_nxt unchanged). */
static void peer_data_at(uint32_t off, size_t len, uint8_t flags)
{
	h_conn_send_ex(&h, &c, p0() + off, TH_ACK | flags, NULL, peer_data + off, len);
}

/* The same with a timestamp value of the test's choosing. */
static void peer_data_ts(uint32_t off, size_t len, uint32_t tsval)
{
	struct tcp_opts o = h_conn_opts(&h, &c, TH_ACK);

	ck_assert(o.has_ts);
	o.ts_val = tsval;
	h_conn_send_ex(&h, &c, p0() + off, TH_ACK, &o, peer_data + off, len);
}

/* A pure ACK from the peer acknowledging ack, with window c.win and n
 * SACK blocks. */
static void peer_ack_sack(uint32_t ack, const struct tcp_sack_block *blk, unsigned n)
{
	struct tcp_repr r = {
		.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = ack,
		.flags = TH_ACK, .win = c.win,
	};

	r.opt = h_conn_opts(&h, &c, TH_ACK);
	r.opt.nsack = (uint8_t)n;
	if (n)
		memcpy(r.opt.sack, blk, n * sizeof(*blk));
	h_send_tcp_repr(&h, &r, NULL, 0);
}

static void peer_ack(uint32_t ack)
{
	peer_ack_sack(ack, NULL, 0);
}

/* --- what the stack sends --- */

/* The next data segment, in order at the peer's rcv_nxt, carrying the
 * user's bytes. */
static const struct frame *expect_data(size_t len)
{
	uint32_t off = c.rcv_nxt - data0();

	return h_conn_expect_data(&h, &c, TH_ACK, app_data + off, len);
}

/* f is an ACK at seq (a retransmission or a probe) with len bytes of the
 * user's stream. */
static const struct frame *check_at(const struct frame *f, uint32_t seq, size_t len,
				    const char *what)
{
	char got[200];

	h_tcp_describe(f, got, sizeof(got));
	ck_assert_msg((f->tcp.flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) == TH_ACK &&
		      f->tcp.seq == seq && f->data_len == len,
		      "%s: expected . seq=%u len=%zu, got %s", what, seq, len, got);
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(f->data[i] == app_data[seq - data0() + i],
			      "%s: byte %zu of the segment is wrong", what, i);
	return f;
}

/* The next segment is such an ACK. */
static const struct frame *expect_at(uint32_t seq, size_t len, const char *what)
{
	static struct frame f;

	ck_assert_msg(h_next_tcp(&h, &f), "%s: expected . seq=%u len=%zu, the stack sent nothing",
		      what, seq, len);
	return check_at(&f, seq, len, what);
}

/* Advance until the next segment, which must come exactly after us. */
static const struct frame *expect_after(uint64_t us, const char *what)
{
	static struct frame f;
	char got[200];
	uint64_t dt = h_advance_until_tcp(&h, &f, us + 10 * SEC, what);

	ck_assert_msg(dt == us, "%s: the segment came after %llu us, expected %llu us: %s", what,
		      (unsigned long long)dt, (unsigned long long)us,
		      h_tcp_describe(&f, got, sizeof(got)));
	return &f;
}

/* Every segment sent now carries window 0. */
static void expect_only_zero_windows(const char *what)
{
	struct frame f;
	char got[200];

	while (h_next_tcp(&h, &f))
		ck_assert_msg(f.tcp.win == 0, "%s: the stack sent %s", what,
			      h_tcp_describe(&f, got, sizeof(got)));
}

/* The first 16 in-order data segments of a connection are ACKed at once
 * (quick ACKs, t_quickack in tcp_input.c, Linux's TCP_MAX_QUICKACKS):
 * send 16 one-byte segments to get past them. */
static void use_up_quickacks(void)
{
	char b[4];

	for (int i = 0; i < 16; i++) {
		peer_send(1);
		h_conn_expect(&h, &c, TH_ACK, 0);
		ck_assert_int_eq(app_recv(b, sizeof(b), 0), 1);
	}
}

/* ---------------------------------------------------------------------- */
/* Segmentation and congestion control                                     */
/* ---------------------------------------------------------------------- */

/* NOTE: the tail of a write waits for the ACK of the full segments before
 * it: classic Nagle (RFC 1122 4.2.3.4). Linux (Minshall's variant, no
 * short segment in flight) would send it at once; both are allowed. */
START_TEST(test_send_is_cut_at_mss_with_psh_on_the_last_segment)
{
	open_conn(NULL);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_MAXSEG), MSS);
	app_send(10000);
	for (int i = 0; i < 6; i++) {
		const struct frame *f = expect_data(MSS);
		ck_assert_msg(!(f->tcp.flags & TH_PSH), "segment %d of 7 has PSH", i + 1);
		ck_assert_uint_eq(f->ip.total_len, 1500);
	}
	/* The short tail goes at once: no other short segment is in flight
	 * (Nagle in Minshall's form, as Linux). */
	const struct frame *last = expect_data(10000 - 6 * MSS);
	ck_assert_msg(last->tcp.flags & TH_PSH, "the last segment has no PSH");
	h_expect_none(&h);
	/* A second short write waits for the first short segment's ACK. */
	app_send(100);
	h_expect_none(&h);
	peer_ack(data0() + 10000);
	expect_data(100);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_timestamps_leave_mss_less_12_bytes_per_segment)
{
	struct tcp_opts o = peer_opts(O_TS, 0);

	open_conn(&o);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_MAXSEG), MSS_TS);
	app_send(10000);
	for (int i = 0; i < 6; i++) {
		const struct frame *f = expect_data(MSS_TS);
		ck_assert_uint_eq(f->tcp.hlen, 32);
		ck_assert_uint_eq(f->ip.total_len, 1500);
	}
	ck_assert(expect_data(10000 - 6 * MSS_TS)->tcp.flags & TH_PSH);
	h_expect_none(&h);
}
END_TEST

/* A listener's TCP_MAXSEG bounds its connections' segments. */
START_TEST(test_tcp_maxseg_limits_the_segments_sent)
{
	listen_with(IPPROTO_TCP, TCP_MAXSEG, 1000);
	open_conn(NULL);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_MAXSEG), 1000);
	app_send(3000);
	for (int i = 0; i < 3; i++)
		expect_data(1000);
	h_expect_none(&h);
}
END_TEST

/* tcp(7): TCP_MAXSEG set before the connection "also changes the MSS value
 * announced to the other end in the initial packet" (Linux's
 * tcp_mss_clamp in tcp_make_synack). */
START_TEST(test_tcp_maxseg_set_before_listen_is_announced_in_the_synack)
{
	listen_with(IPPROTO_TCP, TCP_MAXSEG, 1000);
	open_conn(NULL);
	ck_assert(c.stack_opts.has_mss);
	ck_assert_msg(c.stack_opts.mss == 1000, "TCP_MAXSEG 1000 on the listener: the SYN-ACK "
		      "announces MSS %u", c.stack_opts.mss);
}
END_TEST

/* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)) = 10 segments here. */
START_TEST(test_initial_window_is_ten_segments_the_eleventh_waits_for_an_ack)
{
	open_conn(NULL);
	app_send(20 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 10);
	peer_ack(seg(1));
	expect_data(MSS);       /* the eleventh */
}
END_TEST

/* RFC 5681 3.1 (RFC 3465 L = 2*SMSS, as Linux): in slow start an ACK of
 * one segment grows cwnd by one segment and so lets two go; one of two
 * segments lets four go. */
START_TEST(test_slow_start_grows_cwnd_by_each_segment_acked)
{
	open_conn(NULL);
	app_send(30 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	peer_ack(seg(1));
	expect_data(MSS);
	expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 11);
	peer_ack(seg(2));
	expect_data(MSS);
	expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 12);
	peer_ack(seg(4));       /* two at once */
	for (int i = 0; i < 4; i++)
		expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 14);
}
END_TEST

/* Fast recovery sets ssthresh (6 segments here); the full ACK leaves cwnd
 * at one segment; slow start takes it to ssthresh, one segment per ACK;
 * from there congestion avoidance adds one segment per window of data
 * acknowledged (RFC 5681 3.1). */
START_TEST(test_congestion_avoidance_adds_one_segment_per_window_past_ssthresh)
{
	unsigned una = 0;
	struct tcp_info ti;

	open_conn(NULL);
	app_send(60 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	peer_ack(seg(0));
	expect_data(MSS);       /* limited transmit */
	peer_ack(seg(0));
	expect_data(MSS);
	peer_ack(seg(0));
	expect_at(seg(0), MSS, "fast retransmit");
	h_expect_none(&h);
	peer_ack(seg(12));      /* everything: recovery ends */
	ck_assert_uint_eq(tcpinfo().tcpi_snd_ssthresh, 6);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 6);
	for (int i = 0; i < 6; i++)
		expect_data(MSS);       /* cwnd = ssthresh: segments 12..17 */
	h_expect_none(&h);
	una = 12;

	/* Congestion avoidance: five ACKs of a segment each let one go and
	 * leave cwnd at 6; the sixth completes a window: cwnd 7, two go. */
	for (int i = 0; i < 5; i++) {
		peer_ack(seg(++una));
		expect_data(MSS);
		h_expect_none(&h);
		ti = tcpinfo();
		ck_assert_msg(ti.tcpi_snd_cwnd == 6, "congestion avoidance, ACK %d of the window: "
			      "cwnd %u segments, expected 6", i + 1, ti.tcpi_snd_cwnd);
	}
	peer_ack(seg(++una));
	expect_data(MSS);
	expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_cwnd, 7);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The peer's window                                                        */
/* ---------------------------------------------------------------------- */

START_TEST(test_never_sends_beyond_the_peers_window)
{
	open_conn(NULL);
	c.win = 3000;
	peer_ack(data0());
	app_send(10000);
	expect_data(MSS);
	expect_data(MSS);
	/* 80 bytes of window are left: too few to be worth a segment
	 * (RFC 1122 4.2.3.4), and more would be beyond the window. */
	h_expect_none(&h);
	peer_ack(seg(1));               /* the right edge moves by 1460 */
	expect_data(MSS);
	h_expect_none(&h);
	peer_ack(seg(3));
	expect_data(MSS);
	expect_data(MSS);
	h_expect_none(&h);
	ck_assert_uint_le(c.rcv_nxt - seg(3), 3000);
}
END_TEST

/* RFC 7323 2.3: the peer's window field is shifted by the scale it
 * offered: 500 << 4 = 8000 bytes, five full segments. */
START_TEST(test_peer_window_is_scaled_by_its_window_scale)
{
	struct tcp_opts o = peer_opts(O_WS, 4);

	open_conn(&o);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_wscale, 4);
	c.win = 500;
	peer_ack(data0());
	app_send(20000);
	for (int i = 0; i < 5; i++)
		expect_data(MSS);
	h_expect_none(&h);
}
END_TEST

/* RFC 7323 2.3: a shift above 14 is used as 14. Window field 1 is then
 * 16384 bytes (not 32768): with cwnd 12 segments and 8 in flight, three
 * more segments fit, not four. */
START_TEST(test_peer_window_scale_above_14_is_used_as_14)
{
	struct tcp_opts o = peer_opts(O_WS, 15);

	open_conn(&o);
	ck_assert_uint_eq(tcpinfo().tcpi_snd_wscale, 14);
	c.win = 1;
	peer_ack(data0());
	app_send(30 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	peer_ack(seg(2));
	for (int i = 0; i < 3; i++)
		expect_data(MSS);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_window_scale_offered_only_to_a_peer_that_offered_it)
{
	struct tcp_opts ws = peer_opts(O_WS, 2);
	struct h_conn other;

	L = h_tcp_listen(&h, OUR_PORT, 8);
	open_conn(&ws);
	ck_assert_msg(c.stack_opts.has_wscale, "no window scale on the SYN-ACK to a peer that "
		      "offered one");
	ck_assert_uint_eq(c.stack_opts.wscale, 7);      /* Linux's, for its default buffers */

	h_conn_init(&other, PEER_PORT + 1, OUR_PORT, 7000, NULL);
	h_conn_send(&h, &other, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &other);
	ck_assert_msg(!other.stack_opts.has_wscale, "window scale on the SYN-ACK to a peer that "
		      "offered none (RFC 7323 1.3)");
	ck_assert_uint_eq(other.last.tcp.win, 65535);
	h_conn_send(&h, &other, TH_RST, NULL, 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The window we offer                                                      */
/* ---------------------------------------------------------------------- */

/* Without scaling the window is exactly the free receive buffer (64 KiB:
 * Linux's tcp_rmem[1] / 2) as unread data accumulates. */
START_TEST(test_window_offered_is_the_free_receive_buffer)
{
	static const size_t sizes[] = { 1000, MSS, 1, MSS, 700 };
	uint32_t unread = 0;

	open_conn(NULL);
	ck_assert_uint_eq(c.stack_wnd, 65535);  /* the SYN-ACK: 64 KiB does not fit */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		peer_send(sizes[i]);
		unread += (uint32_t)sizes[i];
		h_conn_expect(&h, &c, TH_ACK, 0);
		ck_assert_msg(c.stack_wnd == 65536 - unread, "%u bytes unread: window %u, "
			      "expected %u", unread, c.stack_wnd, 65536 - unread);
	}
	ck_assert_int_eq(inq(), (int)unread);
}
END_TEST

/* With our scale 7 the window is the free buffer to 128 bytes, except
 * that it is rounded up rather than let the right edge move left (RFC
 * 7323 2.4, SHLD-14): Linux's tcp_select_window aligns the current window
 * up in that case, so while unread data accumulates the offer may run a
 * little ahead of the free buffer - never behind it by a granule, and the
 * right edge never moves left. */
START_TEST(test_scaled_window_offered_is_the_free_buffer_to_its_granularity)
{
	static const size_t sizes[] = { 1000, MSS, 1, MSS, 700 };
	struct tcp_opts o = peer_opts(O_WS, 7);
	uint32_t unread = 0;

	open_conn(&o);
	ck_assert_uint_eq(c.stack_wscale, 7);
	uint32_t edge = c.snd_nxt + c.stack_wnd;       /* what the SYN-ACK offered */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		peer_send(sizes[i]);
		unread += (uint32_t)sizes[i];
		h_conn_expect(&h, &c, TH_ACK, 0);
		uint32_t free_space = 65536 - unread;
		ck_assert_msg(c.stack_wnd + 128 > free_space,
			      "%u bytes unread: window %u (%u << 7) below free %u by a granule",
			      unread, c.stack_wnd, c.last.tcp.win, free_space);
		uint32_t ack = c.last.tcp.ack;
		ck_assert_msg((int32_t)(ack + c.stack_wnd - edge) >= 0,
			      "%u bytes unread: right edge moved left by %d", unread,
			      (int)(int32_t)(edge - ack - c.stack_wnd));
		ck_assert_msg(c.stack_wnd % 128 == 0, "window %u not a multiple of 128",
			      c.stack_wnd);
		edge = ack + c.stack_wnd;
	}
}
END_TEST

/* RFC 9293 3.8.6.2.2 (SHLD-14) and Linux (tcp_select_window rounds up to
 * the scale's granularity): the right edge ACK + window never moves left,
 * counting from the SYN-ACK's unscaled window. */
START_TEST(test_right_edge_never_moves_left_as_unread_data_accumulates)
{
	static const size_t sizes[] = { 1000, MSS, 1, MSS, 700, 100, MSS };
	struct tcp_opts o = peer_opts(O_WS, 7);

	open_conn(&o);
	uint32_t edge = c.last.tcp.ack + c.last.tcp.win;        /* the SYN-ACK's */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		peer_send(sizes[i]);
		const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
		uint32_t e = f->tcp.ack + c.stack_wnd;
		ck_assert_msg((int32_t)(e - edge) >= 0, "after segment %zu the right edge moved left "
			      "by %u bytes: ack %u + window %u (%u << 7) < the earlier edge %u",
			      i + 1, edge - e, f->tcp.ack, c.stack_wnd, f->tcp.win, edge);
		edge = e;
	}
}
END_TEST

/* Fill a receive buffer of SO_RCVBUF 4096 (the peer offers MSS 1460, no
 * options); returns the buffer the SYN-ACK offered. */
static uint32_t fill_small_buffer(void)
{
	listen_with(SOL_SOCKET, SO_RCVBUF, 4096);
	open_conn(NULL);
	uint32_t w0 = c.stack_wnd;
	ck_assert_msg(w0 > 0 && w0 <= 8192, "SO_RCVBUF 4096: the SYN-ACK offers %u", w0);
	for (uint32_t sent = 0; sent < w0;) {
		uint32_t n = w0 - sent < MSS ? w0 - sent : MSS;
		peer_send(n);
		h_conn_expect(&h, &c, TH_ACK, 0);
		sent += n;
	}
	ck_assert_msg(c.stack_wnd == 0, "the buffer is full but the window is %u", c.stack_wnd);
	return w0;
}

/* RFC 1122 4.2.3.3 (MUST-39) with Fr = 1/2, as Linux's __tcp_select_window:
 * a closed window stays closed until it can open by min(MSS, buffer/2).
 * An old duplicate makes the stack ACK, showing the window it offers. */
START_TEST(test_receiver_sws_window_not_reopened_by_less_than_an_mss)
{
	static uint8_t buf[8192];
	uint32_t w0 = fill_small_buffer();
	uint32_t threshold = w0 / 2 < MSS ? w0 / 2 : MSS;
	uint32_t x = threshold - 100;

	ck_assert_int_eq(app_recv(buf, x, 0), (ssize_t)x);
	expect_only_zero_windows("after the user read a little");
	peer_data_at(c.snd_nxt - p0() - 1, 1, 0);       /* an old duplicate */
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_msg(f->tcp.win == 0, "receiver SWS: %u of %u bytes free, less than "
		      "min(MSS, buffer/2) = %u, yet the window offered is %u", x, w0, threshold,
		      f->tcp.win);
}
END_TEST

/* Once the user frees half the buffer, the window update goes unasked. */
START_TEST(test_window_update_sent_when_the_reader_frees_half_the_buffer)
{
	static uint8_t buf[8192];
	uint32_t w0 = fill_small_buffer();

	ck_assert_int_eq(app_recv(buf, w0 / 2, 0), (ssize_t)(w0 / 2));
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_msg(c.stack_wnd == w0 / 2, "window update offers %u, expected the %u bytes "
		      "free", f->tcp.win, w0 / 2);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_so_rcvbuf_sets_the_window_offered)
{
	uint32_t w0 = fill_small_buffer();

	ck_assert_msg(!c.stack_opts.has_wscale, "window scale offered to a peer without");
	ck_assert_int_eq(inq(), (int)w0);
	/* A byte beyond the closed window is not taken; the ACK says so. */
	peer_data_at(c.snd_nxt - p0(), 1, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(c.stack_wnd, 0);
	ck_assert_int_eq(inq(), (int)w0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Zero window                                                              */
/* ---------------------------------------------------------------------- */

/* A zero window from the peer, 100 bytes queued. */
static void zero_window_with_data_queued(void)
{
	open_conn(NULL);
	c.win = 0;
	peer_ack(data0());
	app_send(100);
	h_expect_none(&h);
}

/* RFC 9293 3.8.6.1 (SHLD-29, SHLD-30): the first probe after one RTO
 * (200 ms after a handshake with no delay), then at doubling intervals;
 * each probe is one byte past the closed window (the BSDs). */
START_TEST(test_zero_window_probes_one_byte_at_doubling_intervals)
{
	zero_window_with_data_queued();
	check_at(expect_after(200 * MSEC, "the first probe"), data0(), 1,
		 "the first probe");
	check_at(expect_after(400 * MSEC, "the second probe"), data0(), 1,
		 "the second probe");
	check_at(expect_after(800 * MSEC, "the third probe"), data0(), 1,
		 "the third probe");
	h_expect_none(&h);
}
END_TEST

/* RFC 1122 4.2.2.17 (MUST-26): probing goes on for as long as the
 * receiver answers; an answered probe is no duplicate ACK (it leaves the
 * window closed: nothing but the probe may go). */
START_TEST(test_zero_window_probes_answered_with_zero_go_on_forever)
{
	struct frame f;
	char got[200];
	uint64_t prev = 0;

	zero_window_with_data_queued();
	for (int i = 0; i < 24; i++) {
		uint64_t dt = h_advance_until_tcp(&h, &f, 200 * SEC, "the next probe");
		ck_assert_msg(f.tcp.seq == data0() && f.data_len == 1 &&
			      !(f.tcp.flags & (TH_RST | TH_FIN)),
			      "probe %d, answered %d times: got %s", i + 1, i,
			      h_tcp_describe(&f, got, sizeof(got)));
		if (i == 0)
			ck_assert_uint_eq(dt, 200 * MSEC);
		else if (i < 8)
			ck_assert_msg(dt == 2 * prev, "probe %d came %llu us after the last, "
				      "expected %llu", i + 1, (unsigned long long)dt,
				      (unsigned long long)(2 * prev));
		else
			ck_assert_msg(dt >= prev && dt <= 120 * SEC, "probe %d after %llu us", i + 1,
				      (unsigned long long)dt);
		prev = dt;
		peer_ack(data0());      /* the byte is not taken: window 0 */
		if (h_next_tcp(&h, &f))
			ck_abort_msg("answer %d to a zero-window probe drew %s", i + 1,
				     h_tcp_describe(&f, got, sizeof(got)));
	}
	ck_assert_int_eq(app_recv(got, sizeof(got), 0), -EAGAIN);
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_ESTABLISHED);
}
END_TEST

/* The peer's ACK of an unaccepted probe has everything a duplicate ACK
 * has, but it is no sign of loss (FreeBSD counts none while persisting;
 * Linux's probes carry no data): three of them must not make the stack
 * "fast retransmit" past the closed window. */
START_TEST(test_answers_to_zero_window_probes_send_nothing_past_the_window)
{
	struct frame f;
	char got[200];

	zero_window_with_data_queued();
	for (int i = 0; i < 4; i++) {
		h_advance_until_tcp(&h, &f, 200 * SEC, "the next probe");
		check_at(&f, data0(), 1, "a probe");
		peer_ack(data0());
		while (h_next_tcp(&h, &f))
			ck_assert_msg(f.data_len == 0, "answer %d to a zero-window probe drew %s "
				      "into a window of 0", i + 1,
				      h_tcp_describe(&f, got, sizeof(got)));
	}
}
END_TEST

/* The same when the peer answers with data of its own while keeping its
 * window closed (Linux clears icsk_probes_out on every ACK): the peer is
 * alive, the connection must not time out. */
START_TEST(test_zero_window_probes_answered_by_peer_data_never_time_out)
{
	struct frame f;
	char got[200];

	zero_window_with_data_queued();
	for (int i = 0; i < 20; i++) {
		h_advance_until_tcp(&h, &f, 200 * SEC, "the next probe");
		ck_assert_msg(f.tcp.seq == data0() && f.data_len == 1 &&
			      !(f.tcp.flags & (TH_RST | TH_FIN)),
			      "probe %d, each answered: got %s", i + 1,
			      h_tcp_describe(&f, got, sizeof(got)));
		peer_send(1);
		h_advance(&h, 40 * MSEC);       /* a delayed ACK at the latest */
		ck_assert_msg(h_next_tcp(&h, &f), "the peer's byte %d was not acknowledged", i + 1);
		ck_assert_msg((f.tcp.flags & (TH_ACK | TH_RST)) == TH_ACK &&
			      f.tcp.ack == c.snd_nxt && f.data_len == 0,
			      "answer %d: expected a pure ACK of %u, got %s", i + 1, c.snd_nxt,
			      h_tcp_describe(&f, got, sizeof(got)));
		ck_assert_int_eq(app_recv(got, sizeof(got), 0), 1);
	}
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_ESTABLISHED);
}
END_TEST

/* After a probe byte the peer did not take, the peer's RCV.NXT is still
 * the probe's seq and its window 0: a segment is acceptable to it only at
 * exactly RCV.NXT (RFC 9293 3.10.7.4). An ACK at snd_max (one past the
 * probe) would be dropped, and the peer's data never acknowledged. The
 * BSDs send at snd_nxt while the persist timer runs for this reason. */
START_TEST(test_ack_while_probing_a_zero_window_is_at_the_peers_rcv_nxt)
{
	struct frame f;
	char got[200];

	zero_window_with_data_queued();
	check_at(expect_after(200 * MSEC, "the first probe"), data0(), 1, "the first probe");
	peer_send(1);
	ck_assert_msg(h_next_tcp(&h, &f), "the peer's byte was not acknowledged at once");
	ck_assert_msg((f.tcp.flags & (TH_ACK | TH_RST)) == TH_ACK && f.tcp.ack == c.snd_nxt &&
		      f.tcp.seq == data0() && f.data_len == 0,
		      "expected . seq=%u ack=%u len=0 (the peer's window is 0), got %s", data0(),
		      c.snd_nxt, h_tcp_describe(&f, got, sizeof(got)));
}
END_TEST

START_TEST(test_window_opening_after_zero_window_releases_the_data)
{
	zero_window_with_data_queued();
	check_at(expect_after(200 * MSEC, "the first probe"), data0(), 1,
		 "the first probe");
	c.win = 65535;
	peer_ack(data0());
	expect_data(100);
	h_expect_none(&h);
	peer_ack(data0() + 100);
	h_advance(&h, 10 * SEC);
	h_expect_none(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Retransmission timer (RFC 6298)                                          */
/* ---------------------------------------------------------------------- */

/* 2.1: the RTO starts at 1 s; 5.5: each timeout doubles it. */
START_TEST(test_syn_resent_after_initial_rto_of_1s_then_doubling)
{
	struct frame syn;
	char got[200];

	S = h_tcp_connect(&h, 0, PEER_PORT);
	ck_assert(h_next_tcp(&h, &syn));
	ck_assert_uint_eq(syn.tcp.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN), TH_SYN);
	for (unsigned k = 0; k < 3; k++) {
		const struct frame *f = expect_after(SEC << k, "a SYN retransmission");
		ck_assert_msg((f->tcp.flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN)) == TH_SYN &&
			      f->tcp.seq == syn.tcp.seq, "retransmission %u: expected the SYN "
			      "again, got %s", k + 1, h_tcp_describe(f, got, sizeof(got)));
	}
}
END_TEST

/* After a sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4*RTTVAR (2.2);
 * the next sample R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|, SRTT = 7/8
 * SRTT + 1/8 R' (2.3). */
START_TEST(test_rto_is_srtt_plus_four_rttvar)
{
	struct tcp_info ti;

	open_rtt(NULL, 100 * MSEC);
	ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_rtt, 100000);
	ck_assert_uint_eq(ti.tcpi_rttvar, 50000);
	ck_assert_uint_eq(ti.tcpi_rto, 300000);
	app_send(100);
	expect_data(100);
	h_advance(&h, 50 * MSEC);
	peer_ack(data0() + 100);
	ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_rtt, 93750);
	ck_assert_uint_eq(ti.tcpi_rttvar, 50000);
	ck_assert_uint_eq(ti.tcpi_rto, 293750);
	app_send(100);
	expect_data(100);
	check_at(expect_after(293750, "the retransmission"), data0() + 100, 100,
		 "the retransmission");
}
END_TEST

/* 2.4 sets 1 s; Linux (and the stack, TCP_RTO_MIN) use 200 ms. */
START_TEST(test_rto_never_below_200ms)
{
	open_rtt(NULL, 10 * MSEC);
	struct tcp_info ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_rtt, 10000);
	ck_assert_uint_eq(ti.tcpi_rto, 200000);
	app_send(100);
	expect_data(100);
	check_at(expect_after(200 * MSEC, "the retransmission"), data0(), 100,
		 "the retransmission");
}
END_TEST

/* 5.5 doubling, 2.5: a maximum of at least 60 s (120 s, Linux's). */
START_TEST(test_rto_backoff_doubles_up_to_120s)
{
	open_conn(NULL);
	app_send(100);
	expect_data(100);
	for (unsigned k = 0; k < 13; k++) {
		uint64_t want = (200 * MSEC) << k;
		if (want > 120 * SEC)
			want = 120 * SEC;
		check_at(expect_after(want, "a retransmission"), data0(), 100,
			 "a retransmission");
	}
}
END_TEST

/* 2.5: an RTO computed from a huge sample is clamped to the maximum. The
 * sample comes from the timestamp the peer echoes (RFC 7323 4.1), taken
 * 100 s after the data first went. */
START_TEST(test_rto_from_a_huge_rtt_sample_is_clamped_to_120s)
{
	struct tcp_opts o = peer_opts(O_TS, 0);

	open_conn(&o);
	app_send(100);
	uint32_t tsval = expect_data(100)->tcp.opt.ts_val;
	h_advance(&h, 100 * SEC);
	h_drain(&h);
	struct tcp_repr r = {
		.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = data0() + 100,
		.flags = TH_ACK, .win = c.win, .opt = h_conn_opts(&h, &c, TH_ACK),
	};
	r.opt.ts_ecr = tsval;
	h_send_tcp_repr(&h, &r, NULL, 0);
	ck_assert_uint_eq(tcpinfo().tcpi_rto, 120 * SEC);
	app_send(100);
	expect_data(100);
	check_at(expect_after(120 * SEC, "the retransmission"), data0() + 100, 100,
		 "the retransmission");
}
END_TEST

/* RFC 6298 3 (Karn): an ACK of a retransmitted segment gives no sample
 * (timed from the first transmission it would have said 250 ms), so the
 * backed-off RTO stays (RFC 6298 5.7, RFC 9293 MUST-19; Linux resets the
 * backoff only on a valid sample): the next segment waits 400 ms. */
START_TEST(test_karn_no_rtt_sample_from_a_retransmitted_segment)
{
	open_conn(NULL);
	struct tcp_info before = tcpinfo();
	app_send(100);
	expect_data(100);
	check_at(expect_after(200 * MSEC, "the retransmission"), data0(), 100,
		 "the retransmission");
	h_advance(&h, 50 * MSEC);
	peer_ack(data0() + 100);
	struct tcp_info after = tcpinfo();
	ck_assert_uint_eq(after.tcpi_rtt, before.tcpi_rtt);
	ck_assert_uint_eq(after.tcpi_rto, 400000);
	app_send(100);
	expect_data(100);
	check_at(expect_after(400 * MSEC, "the next retransmission"), data0() + 100, 100,
		 "the next retransmission");
}
END_TEST

/* RFC 1122 4.2.3.5 R2, Linux's tcp_retries2 = 15: the 16th expiry ends
 * the connection (924.6 s from the first transmission at RTO 200 ms) and
 * the user hears ETIMEDOUT. */
START_TEST(test_connection_ends_with_etimedout_after_15_retransmissions)
{
	struct frame f;
	char buf[8];

	open_conn(NULL);
	app_send(100);
	expect_data(100);
	for (unsigned k = 0; k < 15; k++) {
		uint64_t want = (200 * MSEC) << k;
		check_at(expect_after(want > 120 * SEC ? 120 * SEC : want, "a retransmission"), data0(), 100,
			 "a retransmission");
	}
	ck_assert_uint_eq(tcpinfo().tcpi_retransmits, 15);
	h_advance(&h, 120 * SEC - 1);
	h_expect_none(&h);
	ck_assert_int_eq(app_recv(buf, sizeof(buf), 0), -EAGAIN);
	h_advance(&h, 1);
	while (h_next_tcp(&h, &f))
		ck_assert_msg(f.tcp.flags & TH_RST, "after giving up the stack sent more than a RST");
	ck_assert_int_eq(app_recv(buf, sizeof(buf), 0), -ETIMEDOUT);
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_CLOSE);
}
END_TEST

/* RFC 5482 / RFC 793 USER TIMEOUT (Linux TCP_USER_TIMEOUT): data
 * unacknowledged for that long ends the connection - long before the
 * retry count. Data sent at 0 ms, 500 ms timeout: alive at 499 ms, over
 * by the first expiry past 500 ms (600 ms; Linux clamps its timer and
 * ends it at 500). */
START_TEST(test_user_timeout_ends_the_connection_early)
{
	char buf[8];

	open_conn(NULL);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_USER_TIMEOUT, 500), 0);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_USER_TIMEOUT), 500);
	uint64_t t0 = h.now;
	app_send(100);
	expect_data(100);
	check_at(expect_after(200 * MSEC, "the first retransmission"), data0(), 100,
		 "the first retransmission");
	h_advance(&h, t0 + 499 * MSEC - h.now);
	ck_assert_int_eq(app_recv(buf, sizeof(buf), 0), -EAGAIN);
	h_advance(&h, t0 + 600 * MSEC - h.now);
	h_drain(&h);
	ssize_t r = app_recv(buf, sizeof(buf), 0);
	ck_assert_msg(r == -ETIMEDOUT, "TCP_USER_TIMEOUT 500 ms: data unacknowledged for "
		      "600 ms and recv says %zd, expected -ETIMEDOUT", r);
}
END_TEST

/* RFC 6298 5.7 (Linux TCP_TIMEOUT_FALLBACK): after the SYN was resent,
 * the RTO for data is 3 s, there being no sample (Karn). */
START_TEST(test_rto_is_3s_after_a_resent_syn)
{
	struct frame syn;

	S = h_tcp_connect(&h, 0, PEER_PORT);
	ck_assert(h_next_tcp(&h, &syn));
	uint64_t dt = h_advance_until_tcp(&h, &syn, 5 * SEC, "the SYN again");
	ck_assert_uint_eq(dt, 1 * SEC);
	h_conn_from_syn(&h, &c, &syn, 5000, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(tcpinfo().tcpi_rto, 3 * SEC);
	app_send(100);
	expect_data(100);
	check_at(expect_after(3 * SEC, "the retransmission"), data0(), 100,
		 "the retransmission");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Fast retransmit, limited transmit, NewReno (RFC 5681 3.2, 3042, 6582)    */
/* ---------------------------------------------------------------------- */

START_TEST(test_third_duplicate_ack_resends_snd_una_before_the_rto)
{
	open_conn(NULL);
	app_send(10 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	peer_ack(seg(0));
	h_expect_none(&h);
	peer_ack(seg(0));
	h_expect_none(&h);
	peer_ack(seg(0));
	expect_at(seg(0), MSS, "fast retransmit");
	h_expect_none(&h);
}
END_TEST

/* Ten segments in flight, six more queued: the first two duplicates each
 * let one new segment go, the third resends the first. */
static void dupacks_into_recovery(void)
{
	open_conn(NULL);
	app_send(16 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	peer_ack(seg(0));
	expect_data(MSS);
	h_expect_none(&h);
	peer_ack(seg(0));
	expect_data(MSS);
	h_expect_none(&h);
	peer_ack(seg(0));
	expect_at(seg(0), MSS, "fast retransmit");
	h_expect_none(&h);
}

START_TEST(test_limited_transmit_first_two_dupacks_each_send_a_new_segment)
{
	dupacks_into_recovery();
	/* RFC 5681 3.2: ssthresh = max(FlightSize / 2, 2*SMSS), FlightSize
	 * 12 segments; cwnd = ssthresh + 3*SMSS. */
	struct tcp_info ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_snd_ssthresh, 6);
	ck_assert_uint_eq(ti.tcpi_snd_cwnd, 9);
}
END_TEST

/* RFC 6582 3.2 step 3: an ACK of part of the data sent before recovery
 * means the segment at the new snd_una is lost too: it goes at once. */
START_TEST(test_newreno_partial_ack_resends_the_next_hole_at_once)
{
	dupacks_into_recovery();
	peer_ack(seg(3));
	expect_at(seg(3), MSS, "the partial ACK's retransmission");
	h_expect_none(&h);
}
END_TEST

/* Further duplicates inflate cwnd until new segments go (RFC 5681 3.2
 * step 4); the full ACK (of everything sent before recovery) deflates it
 * to ssthresh (RFC 6582 3.2 step 3's second option, Linux's choice; the
 * first, min(ssthresh, FlightSize + SMSS), would leave 3 here): with
 * segments 12 and 13 in flight, the last two of the 16 go at once. */
START_TEST(test_full_ack_ends_recovery_with_cwnd_ssthresh)
{
	dupacks_into_recovery();
	for (int i = 4; i <= 6; i++) {
		peer_ack(seg(0));
		h_expect_none(&h);
	}
	peer_ack(seg(0));
	expect_data(MSS);       /* segment 12 */
	peer_ack(seg(0));
	expect_data(MSS);       /* segment 13 */
	h_expect_none(&h);
	peer_ack(seg(12));
	struct tcp_info ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_snd_cwnd, 6);
	ck_assert_uint_eq(ti.tcpi_snd_ssthresh, 6);
	expect_data(MSS);       /* segment 14 */
	expect_data(MSS);       /* segment 15, the last: four in flight of six */
	h_expect_none(&h);
}
END_TEST

/* FlightSize 3 segments: half is below the floor of two segments. */
START_TEST(test_ssthresh_after_fast_retransmit_is_at_least_two_segments)
{
	open_conn(NULL);
	app_send(3 * MSS);
	for (int i = 0; i < 3; i++)
		expect_data(MSS);
	for (int i = 0; i < 3; i++)
		peer_ack(seg(0));
	expect_at(seg(0), MSS, "fast retransmit");
	ck_assert_uint_eq(tcpinfo().tcpi_snd_ssthresh, 2);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* SACK (RFC 2018)                                                          */
/* ---------------------------------------------------------------------- */

static void assert_sack(const struct frame *f, unsigned n, const struct tcp_sack_block *want,
			const char *what)
{
	char got[200];

	h_tcp_describe(f, got, sizeof(got));
	ck_assert_msg(f->tcp.opt.nsack == n, "%s: %u SACK blocks, expected %u: %s", what,
		      f->tcp.opt.nsack, n, got);
	for (unsigned i = 0; i < n; i++)
		ck_assert_msg(f->tcp.opt.sack[i].left == want[i].left &&
			      f->tcp.opt.sack[i].right == want[i].right,
			      "%s: block %u is %u:%u, expected %u:%u: %s", what, i + 1,
			      f->tcp.opt.sack[i].left, f->tcp.opt.sack[i].right, want[i].left,
			      want[i].right, got);
}

/* RFC 2018 4: every ACK for out-of-order data carries SACK blocks, the
 * first the block holding the segment that triggered it, the rest the
 * most recent others. */
START_TEST(test_out_of_order_data_is_acked_with_sack_blocks_newest_first)
{
	struct tcp_opts o = peer_opts(O_SACK, 0);
	const struct frame *f;

	open_conn(&o);
	uint32_t b = p0();
	peer_data_at(100, 100, 0);
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 1, (struct tcp_sack_block[]){ { b + 100, b + 200 } }, "first hole");
	peer_data_at(300, 100, 0);
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 2, (struct tcp_sack_block[]){ { b + 300, b + 400 }, { b + 100, b + 200 } },
		    "second hole");
	peer_data_at(200, 100, 0);
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 1, (struct tcp_sack_block[]){ { b + 100, b + 400 } }, "merged");
	peer_data_at(0, 100, 0);
	c.snd_nxt = b + 400;
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 0, NULL, "in order");
	expect_read(0, 400, "after the gap filled");
}
END_TEST

/* RFC 2018 4: after the first block, the blocks most recently reported
 * come first (as Linux keeps them), so that a lost ACK costs the sender
 * the least. Arrival order [100,200), [500,600), [300,400): the third ACK
 * reports [300,400), then [500,600) (the previous first), then
 * [100,200) - not sequence order. */
START_TEST(test_sack_blocks_after_the_first_are_the_most_recently_reported)
{
	struct tcp_opts o = peer_opts(O_SACK, 0);
	const struct frame *f;

	open_conn(&o);
	uint32_t b = p0();
	peer_data_at(100, 100, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	peer_data_at(500, 100, 0);
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 2, (struct tcp_sack_block[]){ { b + 500, b + 600 }, { b + 100, b + 200 } },
		    "second block");
	peer_data_at(300, 100, 0);
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 3, (struct tcp_sack_block[]){ { b + 300, b + 400 }, { b + 500, b + 600 },
						      { b + 100, b + 200 } }, "third block");
}
END_TEST

START_TEST(test_no_sack_blocks_without_sack_permitted)
{
	open_conn(NULL);
	peer_data_at(100, 100, 0);
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	assert_sack(f, 0, NULL, "SACK not permitted");
}
END_TEST

/* The peer lost segments 0 and 3 of ten and SACKs the rest: recovery
 * resends exactly those two (RFC 6675 via RFC 2018's scoreboard). */
START_TEST(test_sack_recovery_resends_only_the_holes)
{
	struct tcp_opts o = peer_opts(O_SACK, 0);

	open_conn(&o);
	app_send(10 * MSS);
	for (int i = 0; i < 10; i++)
		expect_data(MSS);
	struct tcp_sack_block b[2] = { { seg(4), seg(10) }, { seg(1), seg(3) } };
	unsigned resent0 = 0, resent3 = 0;
	for (int dup = 1; dup <= 3; dup++) {
		peer_ack_sack(seg(0), b, 2);
		struct frame f;
		while (h_next_tcp(&h, &f)) {
			char got[200];
			h_tcp_describe(&f, got, sizeof(got));
			ck_assert_msg(f.data_len == MSS && (f.tcp.seq == seg(0) || f.tcp.seq == seg(3)),
				      "duplicate ACK %d: resent data the peer holds: %s", dup, got);
			check_at(&f, f.tcp.seq, MSS, "a hole");
			if (f.tcp.seq == seg(0))
				resent0++;
			else
				resent3++;
		}
	}
	ck_assert_msg(resent0 == 1 && resent3 == 1, "after three duplicate ACKs the holes at "
		      "segments 0 and 3 were resent %u and %u times, expected once each",
		      resent0, resent3);
	peer_ack(seg(10));
	h_expect_none(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Out-of-order arrival and reassembly                                      */
/* ---------------------------------------------------------------------- */

/* RFC 5681 4.2: out-of-order data is ACKed at once (a duplicate ACK) and
 * held; the segment that fills the gap draws one ACK for everything. */
START_TEST(test_out_of_order_segments_held_then_delivered_in_order)
{
	char b[8];

	open_conn(NULL);
	use_up_quickacks();
	uint32_t base = c.snd_nxt - p0();
	peer_data_at(base + 100, 100, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	peer_data_at(base + 200, 100, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	ck_assert_int_eq(inq(), 0);
	peer_send(100);
	c.snd_nxt = p0() + base + 300;
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	expect_read(base, 300, "after the gap filled");
}
END_TEST

/* A segment overlapping data already delivered: only its new bytes. */
START_TEST(test_segment_overlapping_delivered_data_adds_only_new_bytes)
{
	open_conn(NULL);
	peer_send(100);
	h_conn_expect(&h, &c, TH_ACK, 0);
	peer_data_at(50, 100, 0);
	c.snd_nxt = p0() + 150;
	h_conn_expect(&h, &c, TH_ACK, 0);
	expect_read(0, 150, "two overlapping segments");
}
END_TEST

/* Queued [200,300), then [150,250) and [280,400) overlapping it on either
 * side, then [0,160) filling the gap and overlapping [150,...): every
 * byte once, in order. */
START_TEST(test_overlapping_out_of_order_segments_deliver_each_byte_once)
{
	char b[8];

	open_conn(NULL);
	peer_data_at(200, 100, 0);
	peer_data_at(150, 100, 0);
	peer_data_at(280, 120, 0);
	h_drain(&h);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	peer_data_at(0, 160, 0);
	c.snd_nxt = p0() + 400;
	h_conn_expect(&h, &c, TH_ACK, 0);
	expect_read(0, 400, "overlapping segments");
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
}
END_TEST

/* Queued [100,200) and [300,350); [120,180) is wholly covered, [200,400)
 * wholly covers [300,350); [0,100) fills the gap; an old [0,50) again
 * adds nothing. */
START_TEST(test_covered_and_covering_segments_deliver_each_byte_once)
{
	char b[8];

	open_conn(NULL);
	peer_data_at(100, 100, 0);
	peer_data_at(300, 50, 0);
	peer_data_at(120, 60, 0);
	peer_data_at(200, 200, 0);
	h_drain(&h);
	peer_data_at(0, 100, 0);
	c.snd_nxt = p0() + 400;
	h_conn_expect(&h, &c, TH_ACK, 0);
	peer_data_at(0, 50, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);       /* a duplicate is ACKed at once */
	expect_read(0, 400, "covered and covering segments");
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
}
END_TEST

/* RFC 9293 3.10.7.4 eighth: a FIN is processed only in sequence. */
START_TEST(test_fin_beyond_a_gap_takes_effect_when_the_gap_fills)
{
	char b[8];

	open_conn(NULL);
	peer_data_at(100, 100, TH_FIN);
	h_conn_expect(&h, &c, TH_ACK, 0);       /* ack p0: the FIN not taken */
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	ck_assert(!(mtcp_poll(S) & EPOLLRDHUP));
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_ESTABLISHED);
	peer_data_at(0, 100, 0);
	c.snd_nxt = p0() + 201;
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_CLOSE_WAIT);
	ck_assert(mtcp_poll(S) & EPOLLRDHUP);
	expect_read(0, 200, "data before the FIN");
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2)                             */
/* ---------------------------------------------------------------------- */

START_TEST(test_delayed_ack_acks_the_segment_after_40ms)
{
	struct frame f;

	open_conn(NULL);
	use_up_quickacks();
	peer_send(100);
	h_advance(&h, 40 * MSEC - 1);
	h_expect_none(&h);
	h_advance(&h, 1);
	ck_assert(h_next_tcp(&h, &f));
	ck_assert_msg((f.tcp.flags & TH_ACK) && f.tcp.ack == c.snd_nxt && f.data_len == 0,
		      "the delayed ACK does not acknowledge the segment");
	h_expect_none(&h);
}
END_TEST

START_TEST(test_second_full_segment_is_acked_at_once)
{
	open_conn(NULL);
	use_up_quickacks();
	peer_send(MSS);
	h_expect_none(&h);
	peer_send(MSS);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	h_advance(&h, 100 * MSEC);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_out_of_order_segment_is_acked_at_once)
{
	open_conn(NULL);
	use_up_quickacks();
	peer_data_at(c.snd_nxt - p0() + 100, 100, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Nagle, TCP_NODELAY, TCP_CORK, MSG_MORE                                   */
/* ---------------------------------------------------------------------- */

/* RFC 1122 4.2.3.4 / RFC 896: with data unacknowledged, a short segment
 * waits for the ACK. */
START_TEST(test_nagle_small_send_waits_while_data_is_in_flight)
{
	open_conn(NULL);
	app_send(100);
	expect_data(100);
	app_send(50);
	h_expect_none(&h);
	peer_ack(data0() + 100);
	expect_data(50);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_nodelay_sends_small_segments_at_once)
{
	open_conn(NULL);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_NODELAY), 0);
	app_send(100);
	expect_data(100);
	app_send(50);
	h_expect_none(&h);
	/* Linux: setting TCP_NODELAY pushes what Nagle held. */
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	expect_data(50);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_NODELAY), 1);
	app_send(30);
	expect_data(30);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_cork_holds_partial_segments_until_uncorked)
{
	open_conn(NULL);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_CORK, 1), 0);
	app_send(100);
	h_expect_none(&h);
	app_send(1400);                         /* 1500 queued: one full segment goes */
	const struct frame *f = expect_data(MSS);
	ck_assert_msg(!(f->tcp.flags & TH_PSH), "PSH on a corked segment");
	h_expect_none(&h);
	peer_ack(data0() + MSS);
	h_advance(&h, 100 * MSEC);
	h_expect_none(&h);                      /* 40 bytes stay corked */
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_CORK, 0), 0);
	f = expect_data(40);
	ck_assert(f->tcp.flags & TH_PSH);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_msg_more_holds_data_until_a_send_without_it)
{
	open_conn(NULL);
	app_send_flags(100, MSG_MORE);
	h_expect_none(&h);
	app_send_flags(50, 0);
	expect_data(150);
	h_expect_none(&h);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Keepalive (RFC 1122 4.2.3.6)                                             */
/* ---------------------------------------------------------------------- */

static void keepalive_on(int idle, int intvl, int cnt)
{
	ck_assert_int_eq(set_int(S, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_KEEPIDLE, idle), 0);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_KEEPINTVL, intvl), 0);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_KEEPCNT, cnt), 0);
}

/* A keepalive probe: SEG.SEQ = SND.NXT - 1 (all acknowledged), no data. */
static void check_keepalive_probe(const struct frame *f, const char *what)
{
	char got[200];

	h_tcp_describe(f, got, sizeof(got));
	ck_assert_msg((f->tcp.flags & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) == TH_ACK &&
		      f->tcp.seq == c.rcv_nxt - 1 && f->tcp.ack == c.snd_nxt && f->data_len == 0,
		      "%s: expected . seq=%u ack=%u len=0, got %s", what, c.rcv_nxt - 1,
		      c.snd_nxt, got);
}

static void expect_keepalive_probe(const char *what)
{
	struct frame f;

	ck_assert_msg(h_next_tcp(&h, &f), "%s: no keepalive probe", what);
	check_keepalive_probe(&f, what);
}

START_TEST(test_keepalive_probe_after_idle_is_snd_una_minus_one_without_data)
{
	open_conn(NULL);
	keepalive_on(10, 2, 3);
	check_keepalive_probe(expect_after(10 * SEC, "the first probe"), "the first probe");
	check_keepalive_probe(expect_after(2 * SEC, "the second probe"), "the second probe");
	h_expect_none(&h);
}
END_TEST

START_TEST(test_answered_keepalive_probes_keep_the_connection)
{
	char b[8];

	open_conn(NULL);
	keepalive_on(10, 2, 3);
	for (int i = 0; i < 6; i++) {
		h_advance(&h, 10 * SEC - 1);
		h_expect_none(&h);
		h_advance(&h, 1);
		expect_keepalive_probe("an idle connection");
		peer_ack(c.rcv_nxt);
		h_expect_none(&h);
	}
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_ESTABLISHED);
}
END_TEST

/* keepidle + keepcnt * keepintvl = 16 s after the last segment, the
 * connection is dead: RST (Linux sends one) and ETIMEDOUT. */
START_TEST(test_unanswered_keepalive_probes_end_with_etimedout)
{
	struct frame f;
	char b[8];

	open_conn(NULL);
	keepalive_on(10, 2, 3);
	h_advance(&h, 10 * SEC);
	expect_keepalive_probe("probe 1");
	h_advance(&h, 2 * SEC);
	expect_keepalive_probe("probe 2");
	h_advance(&h, 2 * SEC);
	expect_keepalive_probe("probe 3");
	h_advance(&h, 2 * SEC - 1);
	h_expect_none(&h);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	h_advance(&h, 1);
	while (h_next_tcp(&h, &f))
		ck_assert_msg(f.tcp.flags & TH_RST, "a fourth probe instead of the end");
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -ETIMEDOUT);
}
END_TEST

START_TEST(test_keepalive_defaults_and_invalid_values)
{
	struct mtcp_sock *s;

	ck_assert_int_eq(mtcp_socket(h.st, SOCK_STREAM, &s), 0);
	ck_assert_int_eq(h_sock_get_int(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPCNT), 9);
	/* Linux: idle and interval 1..32767 s, count 1..127. */
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 0), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, -1), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 32768), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 0), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 32768), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 0), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 128), -EINVAL);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -EINVAL);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPCNT), 9);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 32767), 0);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 1), 0);
	ck_assert_int_eq(set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 127), 0);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 32767);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 1);
	ck_assert_int_eq(h_sock_get_int(s, IPPROTO_TCP, TCP_KEEPCNT), 127);
	mtcp_close(s);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Socket calls                                                              */
/* ---------------------------------------------------------------------- */

START_TEST(test_msg_peek_returns_data_without_consuming_it)
{
	char b[64];

	open_conn(NULL);
	peer_send(11);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(app_recv(b, 5, MSG_PEEK), 5);
	ck_assert_mem_eq(b, peer_data, 5);
	ck_assert_int_eq(app_recv(b, sizeof(b), MSG_PEEK), 11);
	ck_assert_mem_eq(b, peer_data, 11);
	ck_assert_int_eq(inq(), 11);
	expect_read(0, 11, "after two peeks");
	ck_assert_int_eq(app_recv(b, sizeof(b), MSG_PEEK), -EAGAIN);
}
END_TEST

START_TEST(test_recv_on_empty_socket_is_eagain_also_with_msg_dontwait)
{
	char b[8];

	open_conn(NULL);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	/* The stack's calls never block: MSG_DONTWAIT changes nothing. */
	ck_assert_int_eq(app_recv(b, sizeof(b), MSG_DONTWAIT), -EAGAIN);
}
END_TEST

/* Linux tcp_recvmsg: non-blocking, MSG_WAITALL returns what there is. */
START_TEST(test_msg_waitall_nonblocking_returns_what_is_there)
{
	char b[10];

	open_conn(NULL);
	peer_send(5);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(app_recv(b, sizeof(b), MSG_WAITALL), 5);
	ck_assert_mem_eq(b, peer_data, 5);
}
END_TEST

START_TEST(test_send_is_partial_when_the_send_buffer_fills_then_eagain)
{
	open_conn(NULL);
	ck_assert_int_eq(set_int(S, SOL_SOCKET, SO_SNDBUF, 4096), 0);
	ck_assert_int_eq(h_sock_get_int(S, SOL_SOCKET, SO_SNDBUF), 8192);
	ssize_t n = mtcp_sendto(S, app_data, 10000, 0, NULL);
	ck_assert_msg(n > 0 && n < 10000 && n <= 8192, "send of 10000 bytes into SO_SNDBUF "
		      "4096 returned %zd", n);
	app_sent = (uint32_t)n;
	ck_assert_int_eq(outq(), (int)n);
	ck_assert_int_eq(mtcp_sendto(S, app_data + n, 100, 0, NULL), -EAGAIN);
	ck_assert(!(mtcp_poll(S) & EPOLLOUT));
	uint32_t sent = 0;
	struct frame f;
	while (h_next_tcp(&h, &f))
		sent += (uint32_t)f.data_len;
	ck_assert_uint_gt(sent, 0);
	c.rcv_nxt = data0() + sent;
	peer_ack(data0() + sent);
	h_drain(&h);
	ck_assert_int_eq(outq(), (int)(n - sent));
	ck_assert_msg(mtcp_poll(S) & EPOLLOUT, "no EPOLLOUT after the ACK freed the buffer");
	ck_assert_int_eq(mtcp_sendto(S, app_data + n, 100, 0, NULL), 100);
}
END_TEST

START_TEST(test_inq_and_outq_count_unread_and_unacknowledged_bytes)
{
	char b[100];

	open_conn(NULL);
	ck_assert_int_eq(inq(), 0);
	ck_assert_int_eq(outq(), 0);
	peer_send(300);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(inq(), 300);
	ck_assert_int_eq(app_recv(b, 100, 0), 100);
	ck_assert_int_eq(inq(), 200);
	app_send(1000);
	expect_data(1000);
	ck_assert_int_eq(outq(), 1000);
	peer_ack(data0() + 400);
	ck_assert_int_eq(outq(), 600);
	peer_ack(data0() + 1000);
	ck_assert_int_eq(outq(), 0);
	int v;
	ck_assert_int_eq(mtcp_ioctl_inq(L, &v), -EINVAL);
	ck_assert_int_eq(mtcp_ioctl_outq(L, &v), -EINVAL);
}
END_TEST

START_TEST(test_getsockopt_maxseg_nodelay_and_tcp_info)
{
	struct tcp_opts o = peer_opts(O_TS | O_SACK | O_WS, 7);

	open_rtt(&o, 50 * MSEC);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_MAXSEG), MSS_TS);
	ck_assert_int_eq(h_sock_get_int(S, IPPROTO_TCP, TCP_NODELAY), 0);
	struct tcp_info ti = tcpinfo();
	ck_assert_uint_eq(ti.tcpi_state, LINUX_TCP_ESTABLISHED);
	ck_assert_uint_eq(ti.tcpi_snd_mss, MSS_TS);
	ck_assert_uint_eq(ti.tcpi_rtt, 50000);
	ck_assert_uint_eq(ti.tcpi_rttvar, 25000);
	ck_assert_uint_eq(ti.tcpi_rto, 200000);
	ck_assert_uint_eq(ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE),
			  TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	ck_assert_uint_eq(ti.tcpi_snd_wscale, 7);
	ck_assert_uint_eq(ti.tcpi_rcv_wscale, 7);
	ck_assert_uint_eq(ti.tcpi_snd_cwnd, 10);
	ck_assert_uint_eq(ti.tcpi_retransmits, 0);
	ck_assert_uint_eq(ti.tcpi_unacked, 0);
}
END_TEST

START_TEST(test_poll_reports_readable_and_writable_as_they_change)
{
	char b[200];
	unsigned ev;

	open_conn(NULL);
	ev = mtcp_poll(S);
	ck_assert_msg((ev & (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) == EPOLLOUT,
		      "idle connection: events 0x%x, expected EPOLLOUT alone", ev);
	peer_send(100);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert(mtcp_poll(S) & EPOLLIN);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), 100);
	ck_assert(!(mtcp_poll(S) & EPOLLIN));

	/* A full send buffer (the peer's window closed) is not writable. */
	ck_assert_int_eq(set_int(S, SOL_SOCKET, SO_SNDBUF, 4096), 0);
	c.win = 0;
	peer_ack(data0());
	ssize_t n = mtcp_sendto(S, app_data, 10000, 0, NULL);
	ck_assert_int_gt(n, 0);
	ck_assert(!(mtcp_poll(S) & EPOLLOUT));
	c.win = 65535;
	peer_ack(data0());
	uint32_t sent = 0;
	struct frame f;
	while (h_next_tcp(&h, &f))
		sent += (uint32_t)f.data_len;
	peer_ack(data0() + sent);
	ck_assert(mtcp_poll(S) & EPOLLOUT);

	h_conn_send(&h, &c, TH_ACK | TH_FIN, NULL, 0);
	ev = mtcp_poll(S);
	ck_assert_msg((ev & (EPOLLIN | EPOLLRDHUP)) == (EPOLLIN | EPOLLRDHUP),
		      "after the peer's FIN: events 0x%x", ev);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Timestamps and PAWS (RFC 7323)                                           */
/* ---------------------------------------------------------------------- */

/* 3.2 / 4.3: TSval follows our clock; TSecr echoes the TSval of the
 * peer's latest in-sequence segment. */
START_TEST(test_tsval_advances_and_tsecr_echoes_the_peers_tsval)
{
	struct tcp_opts o = peer_opts(O_TS, 0);
	uint32_t peer_ts = (uint32_t)(h.now / MSEC) + 7777;

	open_conn(&o);
	app_send(10);
	const struct frame *f = expect_data(10);
	uint32_t v1 = f->tcp.opt.ts_val;
	ck_assert_uint_eq(f->tcp.opt.ts_ecr, (uint32_t)(h.now / MSEC));  /* the handshake ACK's */
	struct tcp_repr r = {
		.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = data0() + 10,
		.flags = TH_ACK, .win = c.win, .opt = h_conn_opts(&h, &c, TH_ACK),
	};
	r.opt.ts_val = peer_ts;
	h_send_tcp_repr(&h, &r, NULL, 0);
	h_advance(&h, 2 * SEC);
	app_send(10);
	f = expect_data(10);
	ck_assert_msg(f->tcp.opt.ts_val - v1 >= 1 && f->tcp.opt.ts_val - v1 <= 2000,
		      "TSval %u, 2 s after %u", f->tcp.opt.ts_val, v1);
	ck_assert_uint_eq(f->tcp.opt.ts_ecr, peer_ts);
	peer_data_ts(0, 10, peer_ts + 5);
	c.snd_nxt += 10;
	f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(f->tcp.opt.ts_ecr, peer_ts + 5);
}
END_TEST

/* 4.3 case (A): with a delayed ACK covering two segments, TSecr echoes
 * the earlier one (SEG.SEQ <= Last.ACK.sent). */
START_TEST(test_tsecr_of_a_delayed_ack_echoes_the_earliest_segment)
{
	struct tcp_opts o = peer_opts(O_TS, 0);

	open_conn(&o);
	use_up_quickacks();
	uint32_t t = (uint32_t)(h.now / MSEC) + 100;
	uint32_t off = c.snd_nxt - p0();
	peer_data_ts(off, MSS_TS, t);
	h_expect_none(&h);
	h_advance(&h, 1 * MSEC);
	peer_data_ts(off + MSS_TS, MSS_TS, t + 1);
	c.snd_nxt += 2 * MSS_TS;
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_msg(f->tcp.opt.ts_ecr == t, "TSecr %u, expected %u (the earlier segment's)",
		      f->tcp.opt.ts_ecr, t);
}
END_TEST

/* 5.3 PAWS: a segment whose TSval is older than TS.Recent is an old
 * duplicate: dropped and ACKed. */
START_TEST(test_paws_drops_a_segment_with_an_older_tsval_and_acks_it)
{
	struct tcp_opts o = peer_opts(O_TS, 0);

	open_conn(&o);
	uint32_t t = (uint32_t)(h.now / MSEC) + 1000;
	peer_data_ts(0, 3, t);
	c.snd_nxt += 3;
	h_conn_expect(&h, &c, TH_ACK, 0);
	uint64_t paws = h_drop(&h, DROP_TCP_PAWS);
	peer_data_ts(3, 3, t - 10);
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(f->tcp.opt.ts_ecr, t);
	ck_assert_uint_eq(h_drop(&h, DROP_TCP_PAWS), paws + 1);
	expect_read(0, 3, "after the old duplicate");
	peer_data_ts(3, 3, t + 1);
	c.snd_nxt += 3;
	h_conn_expect(&h, &c, TH_ACK, 0);
	expect_read(3, 3, "the same bytes with a fresh timestamp");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* ICMP errors (RFC 5461, Linux tcp_v4_err)                                 */
/* ---------------------------------------------------------------------- */

/* The peer's host says "port unreachable" about the segment f. */
static void peer_sends_port_unreachable(const struct frame *f)
{
	uint8_t msg[ICMP_HLEN + IPV4_HLEN + 8];
	struct icmp_repr r = { .type = ICMP_DEST_UNREACH, .code = ICMP_PORT_UNREACH };

	memcpy(msg + ICMP_HLEN, f->buf + ETH_HLEN, IPV4_HLEN + 8);
	icmp_emit(&r, msg, IPV4_HLEN + 8);
	h_send_ip(&h, IPPROTO_ICMP_, msg, sizeof(msg));
}

START_TEST(test_port_unreachable_does_not_end_an_established_connection)
{
	char b[8];

	open_conn(NULL);
	app_send(100);
	const struct frame *f = expect_data(100);
	peer_sends_port_unreachable(f);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -EAGAIN);
	ck_assert(!(mtcp_poll(S) & (EPOLLERR | EPOLLHUP)));
	ck_assert_int_eq(h_sock_get_int(S, SOL_SOCKET, SO_ERROR), 0);
	ck_assert_uint_eq(tcpinfo().tcpi_state, LINUX_TCP_ESTABLISHED);
	peer_ack(data0() + 100);
	app_send(50);
	expect_data(50);
	peer_send(20);
	h_conn_expect(&h, &c, TH_ACK, 0);
	expect_read(0, 20, "after the ICMP error");
}
END_TEST

/* Linux tcp_write_err: a connection that times out after a soft ICMP
 * error reports that error rather than ETIMEDOUT. */
START_TEST(test_timeout_after_port_unreachable_reports_econnrefused)
{
	char b[8];

	open_conn(NULL);
	ck_assert_int_eq(set_int(S, IPPROTO_TCP, TCP_USER_TIMEOUT, 500), 0);
	app_send(100);
	peer_sends_port_unreachable(expect_data(100));
	h_advance(&h, 10 * SEC);
	h_drain(&h);
	ck_assert_int_eq(app_recv(b, sizeof(b), 0), -ECONNREFUSED);
}
END_TEST

START_TEST(test_port_unreachable_in_syn_sent_refuses_the_connect)
{
	struct frame syn;

	S = h_tcp_connect(&h, 0, PEER_PORT);
	ck_assert(h_next_tcp(&h, &syn));
	ck_assert_uint_eq(syn.tcp.flags & (TH_SYN | TH_ACK), TH_SYN);
	peer_sends_port_unreachable(&syn);
	unsigned ev = mtcp_poll(S);
	ck_assert_msg((ev & (EPOLLERR | EPOLLHUP)) == (EPOLLERR | EPOLLHUP),
		      "after the refusal: events 0x%x", ev);
	ck_assert_int_eq(h_sock_get_int(S, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	h_advance(&h, 5 * SEC);
	h_expect_none(&h);
}
END_TEST

static Suite *tcp_data_suite(void)
{
	Suite *s = suite_create("tcp_data");
	TCase *tc;

	tc = tcase_create("send");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_send_is_cut_at_mss_with_psh_on_the_last_segment);
	tcase_add_test(tc, test_timestamps_leave_mss_less_12_bytes_per_segment);
	tcase_add_test(tc, test_tcp_maxseg_limits_the_segments_sent);
	tcase_add_test(tc, test_tcp_maxseg_set_before_listen_is_announced_in_the_synack);
	tcase_add_test(tc, test_initial_window_is_ten_segments_the_eleventh_waits_for_an_ack);
	tcase_add_test(tc, test_slow_start_grows_cwnd_by_each_segment_acked);
	tcase_add_test(tc, test_congestion_avoidance_adds_one_segment_per_window_past_ssthresh);
	tcase_add_test(tc, test_never_sends_beyond_the_peers_window);
	tcase_add_test(tc, test_peer_window_is_scaled_by_its_window_scale);
	tcase_add_test(tc, test_peer_window_scale_above_14_is_used_as_14);
	tcase_add_test(tc, test_window_scale_offered_only_to_a_peer_that_offered_it);
	tcase_add_test(tc, test_nagle_small_send_waits_while_data_is_in_flight);
	tcase_add_test(tc, test_nodelay_sends_small_segments_at_once);
	tcase_add_test(tc, test_cork_holds_partial_segments_until_uncorked);
	tcase_add_test(tc, test_msg_more_holds_data_until_a_send_without_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_window_offered_is_the_free_receive_buffer);
	tcase_add_test(tc, test_scaled_window_offered_is_the_free_buffer_to_its_granularity);
	tcase_add_test(tc, test_right_edge_never_moves_left_as_unread_data_accumulates);
	tcase_add_test(tc, test_receiver_sws_window_not_reopened_by_less_than_an_mss);
	tcase_add_test(tc, test_window_update_sent_when_the_reader_frees_half_the_buffer);
	tcase_add_test(tc, test_so_rcvbuf_sets_the_window_offered);
	tcase_add_test(tc, test_zero_window_probes_one_byte_at_doubling_intervals);
	tcase_add_test(tc, test_zero_window_probes_answered_with_zero_go_on_forever);
	tcase_add_test(tc, test_answers_to_zero_window_probes_send_nothing_past_the_window);
	tcase_add_test(tc, test_zero_window_probes_answered_by_peer_data_never_time_out);
	tcase_add_test(tc, test_ack_while_probing_a_zero_window_is_at_the_peers_rcv_nxt);
	tcase_add_test(tc, test_window_opening_after_zero_window_releases_the_data);
	suite_add_tcase(s, tc);

	tc = tcase_create("rexmt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_syn_resent_after_initial_rto_of_1s_then_doubling);
	tcase_add_test(tc, test_rto_is_srtt_plus_four_rttvar);
	tcase_add_test(tc, test_rto_never_below_200ms);
	tcase_add_test(tc, test_rto_backoff_doubles_up_to_120s);
	tcase_add_test(tc, test_rto_from_a_huge_rtt_sample_is_clamped_to_120s);
	tcase_add_test(tc, test_karn_no_rtt_sample_from_a_retransmitted_segment);
	tcase_add_test(tc, test_connection_ends_with_etimedout_after_15_retransmissions);
	tcase_add_test(tc, test_user_timeout_ends_the_connection_early);
	tcase_add_test(tc, test_rto_is_3s_after_a_resent_syn);
	tcase_add_test(tc, test_third_duplicate_ack_resends_snd_una_before_the_rto);
	tcase_add_test(tc, test_limited_transmit_first_two_dupacks_each_send_a_new_segment);
	tcase_add_test(tc, test_newreno_partial_ack_resends_the_next_hole_at_once);
	tcase_add_test(tc, test_full_ack_ends_recovery_with_cwnd_ssthresh);
	tcase_add_test(tc, test_ssthresh_after_fast_retransmit_is_at_least_two_segments);
	tcase_add_test(tc, test_sack_recovery_resends_only_the_holes);
	suite_add_tcase(s, tc);

	tc = tcase_create("receive");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_out_of_order_data_is_acked_with_sack_blocks_newest_first);
	tcase_add_test(tc, test_sack_blocks_after_the_first_are_the_most_recently_reported);
	tcase_add_test(tc, test_no_sack_blocks_without_sack_permitted);
	tcase_add_test(tc, test_out_of_order_segments_held_then_delivered_in_order);
	tcase_add_test(tc, test_segment_overlapping_delivered_data_adds_only_new_bytes);
	tcase_add_test(tc, test_overlapping_out_of_order_segments_deliver_each_byte_once);
	tcase_add_test(tc, test_covered_and_covering_segments_deliver_each_byte_once);
	tcase_add_test(tc, test_fin_beyond_a_gap_takes_effect_when_the_gap_fills);
	tcase_add_test(tc, test_delayed_ack_acks_the_segment_after_40ms);
	tcase_add_test(tc, test_second_full_segment_is_acked_at_once);
	tcase_add_test(tc, test_out_of_order_segment_is_acked_at_once);
	tcase_add_test(tc, test_tsval_advances_and_tsecr_echoes_the_peers_tsval);
	tcase_add_test(tc, test_tsecr_of_a_delayed_ack_echoes_the_earliest_segment);
	tcase_add_test(tc, test_paws_drops_a_segment_with_an_older_tsval_and_acks_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_keepalive_probe_after_idle_is_snd_una_minus_one_without_data);
	tcase_add_test(tc, test_answered_keepalive_probes_keep_the_connection);
	tcase_add_test(tc, test_unanswered_keepalive_probes_end_with_etimedout);
	tcase_add_test(tc, test_keepalive_defaults_and_invalid_values);
	tcase_add_test(tc, test_msg_peek_returns_data_without_consuming_it);
	tcase_add_test(tc, test_recv_on_empty_socket_is_eagain_also_with_msg_dontwait);
	tcase_add_test(tc, test_msg_waitall_nonblocking_returns_what_is_there);
	tcase_add_test(tc, test_send_is_partial_when_the_send_buffer_fills_then_eagain);
	tcase_add_test(tc, test_inq_and_outq_count_unread_and_unacknowledged_bytes);
	tcase_add_test(tc, test_getsockopt_maxseg_nodelay_and_tcp_info);
	tcase_add_test(tc, test_poll_reports_readable_and_writable_as_they_change);
	tcase_add_test(tc, test_port_unreachable_does_not_end_an_established_connection);
	tcase_add_test(tc, test_timeout_after_port_unreachable_reports_econnrefused);
	tcase_add_test(tc, test_port_unreachable_in_syn_sent_refuses_the_connect);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tcp_data_suite)
