/*
 * test_tcp_conformance.c - the rows of tests/conformance/rfc9293.md that no
 * other suite proves. Each test is named after the row (or the few rows one
 * exchange shows) it proves: test_must57_... is RFC 9293's MUST-57,
 * test_rfc6582_3_... the "Other RFCs" row 6582-3.
 *
 * The test plays the peer (stack_harness.h), as in test_tcp_state.c and
 * test_tcp_data.c; where a row is about what goes below TCP (IP options,
 * checksums, ICMP), the test builds the datagram byte by byte.
 */
#include <check.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_fixture.h"
#include "tcp_var.h"
#include "wire/checksum.h"

#define PEER_PORT       40000
#define OUR_PORT        80
#define PEER_ISS        1000u
#define MSS             1460u
#define MS              USEC_PER_MSEC
#define SEC             USEC_PER_SEC

static struct harness h;

static void setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

static void teardown(void) { h_teardown(&h); }

/* ---- helpers ------------------------------------------------------------ */

/* The state as Linux numbers it (TCP_ESTABLISHED, TCP_SYN_SENT, ...). */
static int state_of(struct mtcp_sock *s)
{
	return h_tcp_info(s).tcpi_state;
}

static int bind_to(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = h_sin(addr, port);

	return mtcp_bind(s, &a);
}

static struct sockaddr_in local_addr(struct mtcp_sock *s)
{
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	return a;
}

static ssize_t rd(struct mtcp_sock *s, void *buf, size_t len)
{
	return mtcp_recvfrom(s, buf, len, 0, NULL);
}

static ssize_t wr(struct mtcp_sock *s, const void *buf, size_t len)
{
	return mtcp_sendto(s, buf, len, 0, NULL);
}

/* A listener on port, with SO_REUSEADDR when asked. */
static struct mtcp_sock *listener(uint16_t port, bool reuse)
{
	struct mtcp_sock *l = h_tcp_socket(&h);

	if (reuse)
		h_sock_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, port), 0);
	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	return l;
}

/* The peer connects from sport to l's OUR_PORT offering o (NULL: MSS
 * 1460); its ACK of the SYN-ACK comes rtt later. The accepted socket. */
static struct mtcp_sock *open_rtt(struct mtcp_sock *l, struct h_conn *c, uint16_t sport,
				  const struct tcp_opts *o, uint64_t rtt)
{
	return tf_accept(&h, l, c, sport, OUR_PORT, PEER_ISS, o, rtt);
}

static struct mtcp_sock *passive_open(struct mtcp_sock *l, struct h_conn *c, uint16_t sport,
				      const struct tcp_opts *o)
{
	return open_rtt(l, c, sport, o, 0);
}

/* A pure ACK from the peer acknowledging ack with window win. */
static void peer_ack_win(struct h_conn *c, uint32_t ack, uint16_t win)
{
	struct tcp_repr r = {
		.sport = c->sport, .dport = c->dport, .seq = c->snd_nxt, .ack = ack,
		.flags = TH_ACK, .win = win,
	};

	r.opt = h_conn_opts(&h, c, TH_ACK);
	h_send_tcp_repr(&h, &r, NULL, 0);
}

static void peer_ack(struct h_conn *c, uint32_t ack)
{
	peer_ack_win(c, ack, c->win);
}

static uint64_t drops(enum drop_reason r)
{
	return h_drop(&h, r);
}

static struct stack_stats stats(void)
{
	struct stack_stats s;

	mtcp_stack_stats(h.st, &s);
	return s;
}

/* The Internet checksum of the pseudo-header and the segment, computed
 * here from RFC 9293 3.1 without the stack's code: 0 over a segment whose
 * checksum is right; over one whose checksum field is 0, the value to put
 * there. */
static uint16_t ref_tcp_csum(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 +
		       (uint32_t)len;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)seg[i] << 8 | seg[i + 1];
	if (len & 1)
		sum += (uint32_t)seg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A TCP segment with raw option bytes (optlen a multiple of 4) and data,
 * its checksum set, into seg; returns its length. */
static size_t raw_tcp(uint8_t *seg, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opt,
		      size_t optlen, const void *data, size_t len)
{
	size_t hl = TCP_HLEN + optlen;

	ck_assert(optlen % 4 == 0 && optlen <= 40);
	memset(seg, 0, hl);
	wr16(seg, sport);
	wr16(seg + 2, dport);
	wr32(seg + 4, seq);
	wr32(seg + 8, ack);
	seg[12] = (uint8_t)(hl / 4 << 4);
	seg[13] = flags;
	wr16(seg + 14, win);
	if (optlen)
		memcpy(seg + TCP_HLEN, opt, optlen);
	if (len)
		memcpy(seg + hl, data, len);
	wr16(seg + 16, ref_tcp_csum(src, dst, seg, hl + len));
	return hl + len;
}

/* The peer sends on c a segment with raw TCP options: flags and data at
 * its snd_nxt, which advances. */
static void conn_send_raw(struct h_conn *c, uint8_t flags, const uint8_t *opt, size_t optlen,
			  const void *data, size_t len)
{
	static uint8_t seg[IPV4_MAXLEN], pkt[IPV4_MAXLEN];
	size_t n = raw_tcp(seg, PEER_IP, STACK_IP, c->sport, c->dport, c->snd_nxt,
			   flags & TH_ACK ? c->rcv_nxt : 0, flags, c->win, opt, optlen, data, len);

	c->snd_nxt += (uint32_t)len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	h_send_packet(&h, pkt, h_build_ip(&h, pkt, IPPROTO_TCP_, PEER_IP, STACK_IP, 0, false, 0,
					  seg, n), false);
}

/* An IPv4 packet with ipopt (a multiple of 4 bytes) in its header. */
static size_t ip_with_opts(uint8_t *pkt, uint32_t src, uint32_t dst, uint8_t proto,
			   const uint8_t *ipopt, size_t optlen, const void *payload, size_t len)
{
	size_t hl = IPV4_HLEN + optlen;

	ck_assert(optlen % 4 == 0 && optlen <= 40);
	memmove(pkt + hl, payload, len);
	memset(pkt, 0, hl);
	pkt[0] = (uint8_t)(0x40 | hl / 4);
	wr16(pkt + 2, (uint16_t)(hl + len));
	wr16(pkt + 4, h.ip_id++);
	pkt[8] = 64;
	pkt[9] = proto;
	wr32(pkt + 12, src);
	wr32(pkt + 16, dst);
	memcpy(pkt + IPV4_HLEN, ipopt, optlen);
	wr16(pkt + 10, inet_checksum(pkt, hl));
	return hl + len;
}

/* The peer sends on c (flags and data at its snd_nxt, as h_conn_send) in
 * a datagram carrying the IP options ipopt. */
static void conn_send_ipopt(struct h_conn *c, uint8_t flags, const void *data, size_t len,
			    const uint8_t *ipopt, size_t optlen)
{
	static uint8_t seg[IPV4_MAXLEN], pkt[IPV4_MAXLEN];
	struct tcp_repr r = {
		.sport = c->sport, .dport = c->dport, .seq = c->snd_nxt,
		.ack = flags & TH_ACK ? c->rcv_nxt : 0, .flags = flags, .win = c->win,
	};

	r.opt = h_conn_opts(&h, c, flags);
	size_t hl = tcp_header_len(&r);
	if (len)
		memcpy(seg + hl, data, len);
	tcp_emit(&r, seg, len, PEER_IP, STACK_IP);
	c->snd_nxt += (uint32_t)len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	h_send_packet(&h, pkt, ip_with_opts(pkt, PEER_IP, STACK_IP, IPPROTO_TCP_, ipopt, optlen,
					    seg, hl + len), false);
}

/* An ICMP error of type/code about the segment f the stack sent, from the
 * peer, quoting its IP header and first 8 bytes (RFC 792). */
static void icmp_about(const struct frame *f, uint8_t type, uint8_t code)
{
	uint8_t msg[ICMP_HLEN + IPV4_HLEN + 8];
	struct icmp_repr r = { .type = type, .code = code };

	memcpy(msg + ICMP_HLEN, f->buf + ETH_HLEN, IPV4_HLEN + 8);
	icmp_emit(&r, msg, IPV4_HLEN + 8);
	h_send_ip(&h, IPPROTO_ICMP_, msg, sizeof(msg));
}

/* The next TCP segment, which must exist. */
static void next_seg(struct frame *f, const char *what)
{
	ck_assert_msg(h_next_tcp(&h, f), "%s: the stack sent no TCP segment", what);
}

static uint8_t pattern[64 * 1024];

static void fill_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 131 + (i >> 8));
}

/* ---- MUST-1, MUST-2, MUST-3: header fields --------------------------------- */

/* MUST-1: the window field is unsigned: 0xffff is 65535 bytes, not -1,
 * and shifted by 14 it is 0x3fffc000 (REC-1: 32-bit window arithmetic). */
START_TEST(test_must1_window_field_is_unsigned)
{
	static struct h_conn c, d;
	struct tcp_opts ws14 = { .has_mss = true, .mss = MSS, .has_wscale = true, .wscale = 14 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *t;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, NULL);
	c.win = 0x9000;                 /* the top bit set */
	peer_ack(&c, c.rcv_nxt);
	ck_assert_uint_eq(s->tp->snd_wnd, 0x9000);
	ck_assert_int_eq(wr(s, pattern, 4 * MSS), 4 * MSS);
	for (int i = 0; i < 4; i++)
		h_conn_expect_data(&h, &c, TH_ACK, pattern + i * MSS, MSS);
	h_expect_none(&h);

	t = passive_open(l, &d, PEER_PORT + 1, &ws14);
	d.win = 0xffff;
	peer_ack(&d, d.rcv_nxt);
	ck_assert_uint_eq(t->tp->snd_wnd, 0xffffu << 14);
	ck_assert_int_eq(wr(t, pattern, 4 * MSS), 4 * MSS);
	for (int i = 0; i < 4; i++)
		h_conn_expect_data(&h, &d, TH_ACK, pattern + i * MSS, MSS);
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	h_tcp_abort(&h, t);
	h_tcp_close_last(&h, l);
}
END_TEST

/* Assert the checksum of f is right by ref_tcp_csum. */
static void assert_csum(const struct frame *f, const char *what)
{
	ck_assert_msg(f->is_tcp, "%s: not a TCP segment", what);
	ck_assert_msg(ref_tcp_csum(f->ip.src, f->ip.dst, f->l4, f->l4_len) == 0,
		      "%s: the TCP checksum (0x%04x) does not verify", what, rd16(f->l4 + 16));
}

/* MUST-2: every kind of segment the stack sends carries a checksum over
 * the pseudo-header, header and data, verified here independently of the
 * stack's checksum code: SYN, SYN-ACK, ACK, data of odd length, FIN, the
 * RST for no connection, the challenge ACK and the abort's RST. */
START_TEST(test_must2_every_segment_sent_carries_a_valid_checksum)
{
	static struct h_conn c, d;
	static struct frame f;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_ALL);
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *a;

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, &o);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	assert_csum(h_conn_expect_synack(&h, &c), "SYN-ACK");
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_int_eq(wr(s, "odd", 3), 3);
	assert_csum(h_conn_expect_data(&h, &c, TH_ACK, "odd", 3), "3 bytes of data");
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "12345", 5);
	assert_csum(h_conn_expect(&h, &c, TH_ACK, 0), "ACK");
	h_conn_send_ex(&h, &c, c.snd_nxt + 100, TH_RST, NULL, NULL, 0);
	assert_csum(h_conn_expect(&h, &c, TH_ACK, 0), "challenge ACK");
	ck_assert_int_eq(mtcp_shutdown(s, SHUT_WR), 0);
	assert_csum(h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0), "FIN");
	h_tcp_abort(&h, s);          /* unread data: RST */

	h_send_tcp(&h, PEER_PORT, 81, 7, 0, TH_SYN, 65535, NULL, NULL, 0);
	next_seg(&f, "SYN to a closed port");
	ck_assert(f.tcp.flags & TH_RST);
	assert_csum(&f, "RST for no connection");

	a = h_tcp_connect(&h, 0, PEER_PORT);
	next_seg(&f, "connect");
	assert_csum(&f, "SYN");
	h_conn_from_syn(&h, &d, &f, PEER_ISS, &o);
	assert_csum(h_conn_expect(&h, &d, TH_ACK, 0), "handshake ACK");
	struct linger lg = { 1, 0 };
	ck_assert_int_eq(mtcp_setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	mtcp_close(a);
	next_seg(&f, "abort");
	ck_assert(f.tcp.flags & TH_RST);
	assert_csum(&f, "abort RST (with timestamps)");
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-3: a segment whose checksum fails is dropped (DROP_TCP_BAD_CSUM)
 * before anything else looks at it: a SYN draws no SYN-ACK and makes no
 * connection, a segment to a closed port no RST, data on a connection is
 * neither delivered nor acknowledged. */
START_TEST(test_must3_segment_with_a_bad_checksum_is_dropped_unanswered)
{
	static struct h_conn c;
	static uint8_t pkt[IPV4_MAXLEN];
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	struct tcp_repr r = {
		.sport = PEER_PORT, .dport = OUR_PORT, .seq = PEER_ISS, .flags = TH_SYN,
		.win = 65535, .opt = { .has_mss = true, .mss = MSS },
	};
	uint64_t d0 = drops(DROP_TCP_BAD_CSUM);
	char buf[8];
	size_t n;

	n = h_build_tcp(&h, pkt, PEER_IP, STACK_IP, &r, NULL, 0);
	pkt[IPV4_HLEN + 17] ^= 0x01;            /* the checksum's low bit */
	h_send_packet(&h, pkt, n, false);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	ck_assert_uint_eq(drops(DROP_TCP_BAD_CSUM), d0 + 1);

	r.dport = 81;
	n = h_build_tcp(&h, pkt, PEER_IP, STACK_IP, &r, NULL, 0);
	pkt[IPV4_HLEN + 16] ^= 0x80;
	h_send_packet(&h, pkt, n, false);
	h_expect_none(&h);
	ck_assert_uint_eq(drops(DROP_TCP_BAD_CSUM), d0 + 2);

	s = passive_open(l, &c, PEER_PORT, NULL);
	struct tcp_repr dr = {
		.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = c.rcv_nxt,
		.flags = TH_ACK | TH_PSH, .win = c.win,
	};
	n = h_build_tcp(&h, pkt, PEER_IP, STACK_IP, &dr, "bad", 3);
	pkt[n - 2] ^= 0x20;                     /* "bad" -> "bAd" under the old checksum */
	h_send_packet(&h, pkt, n, false);
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	ck_assert_uint_eq(drops(DROP_TCP_BAD_CSUM), d0 + 3);
	/* The same segment intact is taken. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "bad", 3);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "bad", 3);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-5, MUST-6, MUST-7, MUST-64: options -------------------------------- */

/* MUST-5: options are accepted on any segment, not only on SYNs: data
 * and a FIN with a timestamp the connection never negotiated and an MSS
 * option (which only a SYN may carry: ignored here, not an error). */
START_TEST(test_must5_options_accepted_on_segments_without_syn)
{
	static struct h_conn c;
	static const uint8_t opt[16] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 2, 4, 0x02, 0x00 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[32];

	s = passive_open(l, &c, PEER_PORT, NULL);
	conn_send_raw(&c, TH_ACK | TH_PSH, opt, sizeof(opt), "with options", 12);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 12);
	ck_assert_mem_eq(buf, "with options", 12);
	/* The stray MSS changed nothing: full segments are still 1460. */
	fill_pattern();
	ck_assert_int_eq(wr(s, pattern, 2 * MSS), 2 * MSS);
	h_conn_expect(&h, &c, TH_ACK, MSS);
	h_conn_expect(&h, &c, TH_ACK, MSS);
	conn_send_raw(&c, TH_ACK | TH_FIN, opt, sizeof(opt), NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(state_of(s), TCP_CLOSE_WAIT);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-6 (and MUST-64): an option the stack does not know, with a length
 * field, is skipped: on a SYN it hides nothing after it (the MSS behind
 * it, at an odd offset, is honoured), on data it costs nothing. */
START_TEST(test_must6_unknown_option_with_a_length_is_skipped)
{
	static struct h_conn c;
	/* kind 253 (RFC 4727 experiment) len 3; MSS 700 at offset 3; NOP */
	static const uint8_t syn_opt[8] = { 253, 3, 0xaa, 2, 4, 0x02, 0xbc, 1 };
	/* kind 30 len 6, kind 254 len 2 */
	static const uint8_t data_opt[8] = { 30, 6, 1, 2, 3, 4, 254, 2 };
	struct tcp_opts o = { .has_mss = true, .mss = 700 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[16];

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, &o);
	conn_send_raw(&c, TH_SYN, syn_opt, sizeof(syn_opt), NULL, 0);
	h_conn_expect_synack(&h, &c);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	fill_pattern();
	ck_assert_int_eq(wr(s, pattern, 1400), 1400);
	h_conn_expect_data(&h, &c, TH_ACK, pattern, 700);
	h_conn_expect_data(&h, &c, TH_ACK, pattern + 700, 700);
	h_expect_none(&h);
	conn_send_raw(&c, TH_ACK | TH_PSH, data_opt, sizeof(data_opt), "skipped", 7);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, "skipped", 7);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-7: an illegal option length - zero, one, past the header, a known
 * kind with the wrong length - is survived: the segment is dropped
 * (DROP_TCP_BAD_OPTIONS) without a reply, no connection is made from such
 * a SYN, and an established connection is unharmed. */
START_TEST(test_must7_illegal_option_length_is_dropped_without_a_reply)
{
	static struct h_conn c, d;
	static const uint8_t bad[][4] = {
		{ 253, 0, 0, 0 },       /* length 0: a naive parser loops */
		{ 253, 1, 0, 0 },       /* length 1 */
		{ 1, 253, 12, 0 },      /* past the header */
		{ 2, 40, 5, 0xb4 },     /* MSS with length 40 */
		{ 1, 1, 1, 2 },         /* a kind without its length */
	};
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	uint64_t d0 = drops(DROP_TCP_BAD_OPTIONS);
	char buf[8];

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
		conn_send_raw(&c, TH_SYN, bad[i], 4, NULL, 0);
		h_expect_none(&h);
		ck_assert_msg(h_tcp_pcbs(&h) == 1, "bad option %u made a connection", i);
	}
	ck_assert_uint_eq(drops(DROP_TCP_BAD_OPTIONS), d0 + 5);

	s = passive_open(l, &d, PEER_PORT + 1, NULL);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conn_send_raw(&d, TH_ACK | TH_PSH, bad[i], 4, "lost", 4);
		d.snd_nxt -= 4;
		h_expect_none(&h);
	}
	ck_assert_uint_eq(drops(DROP_TCP_BAD_OPTIONS), d0 + 10);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	h_conn_send(&h, &d, TH_ACK | TH_PSH, "good", 4);
	h_conn_expect(&h, &d, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 4);
	ck_assert_mem_eq(buf, "good", 4);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-16, MUST-65, MUST-67, SHLD-5: the MSS option --------------------- */

/* No SYN-only option (MSS; window scale, SACK-permitted: RFC 7323 2.2,
 * RFC 2018 2) on a segment without SYN. */
static void assert_no_syn_options(const struct frame *f, const char *what)
{
	char got[200];

	ck_assert_msg(!(f->tcp.flags & TH_SYN), "%s: a SYN", what);
	ck_assert_msg(!f->tcp.opt.has_mss && !f->tcp.opt.has_wscale && !f->tcp.opt.sack_permitted,
		      "%s carries a SYN-only option: %s", what,
		      h_tcp_describe(f, got, sizeof(got)));
}

/* MUST-65: the MSS option goes on SYNs only: never on an ACK, data, a
 * SACK ACK, a challenge ACK, a keepalive probe, a FIN or a RST. */
START_TEST(test_must65_no_mss_option_on_segments_without_syn)
{
	static struct h_conn c, d;
	static struct frame f;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_ALL);
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *a;

	s = passive_open(l, &c, PEER_PORT, &o);
	ck_assert(c.stack_opts.has_mss);        /* the SYN-ACK has it */
	ck_assert_int_eq(wr(s, "data", 4), 4);
	assert_no_syn_options(h_conn_expect(&h, &c, TH_ACK, 4), "data");
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "ack me", 6);
	assert_no_syn_options(h_conn_expect(&h, &c, TH_ACK, 0), "ACK");
	h_conn_send_ex(&h, &c, c.snd_nxt + 10, TH_ACK | TH_PSH, NULL, "later", 5);
	const struct frame *sf = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(sf->tcp.opt.nsack, 1);
	assert_no_syn_options(sf, "SACK ACK");
	h_conn_send_ex(&h, &c, c.snd_nxt + 100, TH_RST, NULL, NULL, 0);
	assert_no_syn_options(h_conn_expect(&h, &c, TH_ACK, 0), "challenge ACK");
	h_sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1);
	h_sock_set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 1);
	h_advance(&h, 1 * SEC);
	next_seg(&f, "keepalive");
	assert_no_syn_options(&f, "keepalive probe");
	h_sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, 0);
	ck_assert_int_eq(mtcp_shutdown(s, SHUT_WR), 0);
	assert_no_syn_options(h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0), "FIN");
	struct linger lg = { 1, 0 };
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	mtcp_close(s);
	next_seg(&f, "abort");
	ck_assert(f.tcp.flags & TH_RST);
	assert_no_syn_options(&f, "RST");

	a = h_tcp_socket(&h);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&f, "connect");
	ck_assert(f.tcp.opt.has_mss);
	h_conn_from_syn(&h, &d, &f, PEER_ISS, &o);
	assert_no_syn_options(h_conn_expect(&h, &d, TH_ACK, 0), "handshake ACK");
	h_tcp_abort(&h, a);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-67 (and MUST-16): on a 1000-byte MTU the MSS announced is
 * 1000 - 20 - 20 = 960 on the SYN-ACK and on the SYN, and a peer
 * announcing 1460 gets segments of min(1460 + 20, 1000 - 20) - 20 = 960,
 * each a 1000-byte datagram. */
START_TEST(test_must67_mss_announced_is_the_mtu_less_40)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l, *s, *a;

	h_teardown(&h);
	h_setup_with(&h, 0, 1000);
	h_learn_peer(&h);
	fill_pattern();
	l = listener(OUR_PORT, false);
	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	const struct frame *sa = h_conn_expect_synack(&h, &c);
	ck_assert_msg(sa->tcp.opt.has_mss && sa->tcp.opt.mss == 960, "SYN-ACK MSS %u on MTU 1000",
		      sa->tcp.opt.mss);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_int_eq(wr(s, pattern, 2000), 2000);
	for (int i = 0; i < 2; i++) {
		const struct frame *df = h_conn_expect_data(&h, &c, TH_ACK, pattern + 960 * i, 960);
		ck_assert_uint_eq(df->ip.total_len, 1000);
	}
	/* The last 80 bytes: a short segment, no other in flight (Minshall). */
	ck_assert_uint_eq(h_conn_expect_data(&h, &c, TH_ACK | TH_PSH, pattern + 1920, 80)->ip.total_len,
			  120);
	h_expect_none(&h);
	h_tcp_abort(&h, s);

	a = h_tcp_connect(&h, 0, PEER_PORT);
	next_seg(&f, "connect");
	ck_assert_msg(f.tcp.opt.has_mss && f.tcp.opt.mss == 960, "SYN MSS %u on MTU 1000",
		      f.tcp.opt.mss);
	mtcp_close(a);
	h_tcp_close_last(&h, l);
}
END_TEST

/* SHLD-5 (and MAY-3): every SYN carries the MSS option: the SYN and its
 * retransmission, the SYN-ACK to a SYN with no options at all and its
 * retransmission, the SYN-ACK of a simultaneous open. */
START_TEST(test_shld5_every_syn_carries_the_mss_option)
{
	static struct h_conn c, d;
	static struct frame f;
	struct tcp_opts none = { 0 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *a;

	a = h_tcp_connect(&h, 0, PEER_PORT);
	next_seg(&f, "connect");
	ck_assert_msg(f.tcp.opt.has_mss, "SYN without MSS");
	h_advance_until_tcp(&h, &f, 2 * SEC, "SYN retransmission");
	ck_assert_msg((f.tcp.flags & TH_SYN) && f.tcp.opt.has_mss, "SYN retransmission without MSS");
	/* The peer's SYN crosses ours: the SYN-ACK of a simultaneous open. */
	tf_conn_from_syn(&d, &f, PEER_ISS, &none);
	const struct frame *so = tf_simultaneous_syn(&h, &d);
	ck_assert_msg(so->tcp.opt.has_mss, "simultaneous-open SYN-ACK without MSS");
	h_tcp_abort(&h, a);

	h_conn_init(&c, PEER_PORT + 1, OUR_PORT, PEER_ISS, &none);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	ck_assert_msg(h_conn_expect_synack(&h, &c)->tcp.opt.has_mss, "SYN-ACK without MSS");
	h_advance_until_tcp(&h, &f, 2 * SEC, "SYN-ACK retransmission");
	ck_assert_msg((f.tcp.flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && f.tcp.opt.has_mss,
		      "SYN-ACK retransmission without MSS");
	h_conn_rst(&h, &c);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-20, MUST-22: R1 gives IP negative advice ---------------------------- */

struct seen {
	unsigned tcp, arp_unicast, arp_bcast;
};

/* Count what the stack sent since: TCP segments and ARP requests for the
 * peer (a unicast one confirms a suspect entry, RFC 1122 2.3.2.1). */
static struct seen drain_seen(void)
{
	struct frame f;
	struct seen s = { 0 };

	while (h_next(&h, &f)) {
		if (f.is_tcp)
			s.tcp++;
		else if (f.is_arp && f.arp.op == ARP_OP_REQUEST && f.arp.tpa == PEER_IP) {
			if (memcmp(f.eth.dst, PEER_MAC, 6) == 0)
				s.arp_unicast++;
			else
				s.arp_bcast++;
		}
	}
	return s;
}

/* MUST-20 (a)/(b) and SHLD-10: once the same segment has been sent R1 = 3
 * more times, TCP gives IP negative advice: the next hop's ARP entry turns
 * suspect and is confirmed by a unicast request (RFC 1122 3.3.1.4), with
 * the third retransmission and not before; answered, no more requests.
 * (R2: test_tcp_data.c test_connection_ends_with_etimedout_after_15_...) */
START_TEST(test_must20_r1_third_retransmission_gives_ip_negative_advice)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	struct seen sn;

	s = passive_open(l, &c, PEER_PORT, NULL);
	ck_assert_int_eq(wr(s, "r1", 2), 2);
	h_conn_expect_data(&h, &c, TH_ACK, "r1", 2);
	uint64_t rto = 200 * MS;        /* the minimum: no RTT to speak of */
	for (int k = 1; k <= 4; k++, rto *= 2) {
		h_advance(&h, rto);
		sn = drain_seen();
		ck_assert_msg(sn.tcp == 1, "retransmission %d: %u TCP segments", k, sn.tcp);
		ck_assert_msg(sn.arp_bcast == 0, "retransmission %d: broadcast ARP", k);
		ck_assert_msg(sn.arp_unicast == (k == 3), "retransmission %d: %u unicast ARP "
			      "requests for the next hop, expected %d", k, sn.arp_unicast, k == 3);
		if (sn.arp_unicast)
			h_send_arp(&h, ARP_OP_REPLY, PEER_IP, STACK_IP);
	}
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-22: the SYN gets the same treatment: its third retransmission
 * (7 s after the first SYN) comes with the negative advice. (R2 for a SYN
 * and the user's ETIMEDOUT: test_tcp_state.c
 * test_active_syn_backs_off_then_etimedout.) */
START_TEST(test_must22_r1_third_syn_retransmission_gives_ip_negative_advice)
{
	struct mtcp_sock *a = h_tcp_connect(&h, 0, PEER_PORT);
	struct seen sn = drain_seen();
	uint64_t rto = 1 * SEC;

	ck_assert_uint_eq(sn.tcp, 1);
	for (int k = 1; k <= 4; k++, rto *= 2) {
		h_advance(&h, rto);
		sn = drain_seen();
		ck_assert_msg(sn.tcp == 1, "SYN retransmission %d: %u TCP segments", k, sn.tcp);
		ck_assert_msg(sn.arp_unicast == (k == 3), "SYN retransmission %d: %u unicast ARP "
			      "requests, expected %d", k, sn.arp_unicast, k == 3);
		if (sn.arp_unicast)
			h_send_arp(&h, ARP_OP_REPLY, PEER_IP, STACK_IP);
	}
	mtcp_close(a);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* ---- MUST-19 / RFC 6298: the backed-off RTO ----------------------------------- */

/* MUST-19 ("exponential backoff of RTO ... keeping the backed-off value
 * until a subsequent segment with new data has been sent and acknowledged
 * without retransmission", RFC 9293 3.8.1; RFC 6298 5 and Karn; Linux
 * resets icsk_backoff only on a valid RTT sample): the ACK of a
 * retransmitted segment gives no sample, so the next segment's timer is
 * still the backed-off 400 ms; a segment acknowledged without
 * retransmission gives a sample, and the RTO comes back down. */
START_TEST(test_must19_backed_off_rto_kept_until_new_data_is_acked_without_retransmission)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = passive_open(l, &c, PEER_PORT, NULL);
	ck_assert_int_eq(wr(s, "one", 3), 3);
	h_conn_expect(&h, &c, TH_ACK, 3);
	ck_assert_uint_eq(h_advance_until_tcp(&h, &f, 10 * SEC, "the RTO"), 200 * MS);
	ck_assert_uint_eq(f.tcp.seq, c.rcv_nxt - 3);
	h_advance(&h, 50 * MS);
	peer_ack(&c, c.rcv_nxt);                /* acks the retransmission: no sample */

	ck_assert_int_eq(wr(s, "two", 3), 3);
	h_conn_expect(&h, &c, TH_ACK, 3);
	uint64_t dt = h_advance_until_tcp(&h, &f, 10 * SEC, "the next RTO");
	ck_assert_msg(dt == 400 * MS, "after an RTO and the ACK of the retransmission, with no "
		      "RTT sample since, the next segment was retransmitted after %llu ms, "
		      "expected the backed-off 400 ms", (unsigned long long)(dt / MS));
	peer_ack(&c, c.rcv_nxt);

	/* Acked without retransmission: a sample, the RTO collapses. */
	ck_assert_int_eq(wr(s, "three", 5), 5);
	h_conn_expect(&h, &c, TH_ACK, 5);
	h_advance(&h, 10 * MS);
	peer_ack(&c, c.rcv_nxt);
	ck_assert_int_eq(wr(s, "four", 4), 4);
	h_conn_expect(&h, &c, TH_ACK, 4);
	ck_assert_uint_eq(h_advance_until_tcp(&h, &f, 10 * SEC, "the RTO after a sample"), 200 * MS);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-24..MUST-28: keep-alives ---------------------------------------------- */

/* MUST-25: off by default (three idle hours, nothing sent); MUST-24: on
 * and off per connection; MUST-28: the default interval is two hours
 * (the first probe 7200 s after the last segment received, not before). */
START_TEST(test_must24_25_28_keepalive_off_by_default_switchable_two_hours)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = passive_open(l, &c, PEER_PORT, NULL);
	ck_assert_int_eq(h_sock_get_int(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	h_advance(&h, 3 * 3600 * SEC);
	h_expect_none(&h);

	peer_ack(&c, c.rcv_nxt);                /* the last segment received: now */
	h_sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1);
	h_advance(&h, 7200 * SEC - 1);
	h_expect_none(&h);
	h_advance(&h, 1);
	next_seg(&f, "keepalive after 2 h");
	ck_assert_msg(f.tcp.seq == c.rcv_nxt - 1 && f.data_len == 0, "not a keepalive probe");
	peer_ack(&c, c.rcv_nxt);

	h_sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, 0);
	h_advance(&h, 5 * 3600 * SEC);
	h_expect_none(&h);
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-26: a keep-alive only when nothing is outstanding and nothing has
 * arrived for the interval: segments every 5 s with a 10 s interval draw
 * no probe; data unacknowledged for a minute draws retransmissions of it,
 * never a probe, and the keep-alive count (3 x 2 s) does not end it. */
START_TEST(test_must26_no_keepalive_while_segments_arrive_or_data_is_outstanding)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char b[4];

	s = passive_open(l, &c, PEER_PORT, NULL);
	h_sock_set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1);
	h_sock_set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, 10);
	h_sock_set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, 2);
	h_sock_set_int(s, IPPROTO_TCP, TCP_KEEPCNT, 3);
	for (int i = 0; i < 12; i++) {
		h_advance(&h, 5 * SEC);
		h_conn_send(&h, &c, TH_ACK | TH_PSH, "x", 1);
		h_conn_expect(&h, &c, TH_ACK, 0);
		h_expect_none(&h);
		ck_assert_int_eq(rd(s, b, sizeof(b)), 1);
	}
	ck_assert_int_eq(wr(s, "out", 3), 3);
	h_conn_expect(&h, &c, TH_ACK, 3);
	unsigned rexmits = 0;
	for (int i = 0; i < 60; i++) {
		h_advance(&h, 1 * SEC);
		while (h_next_tcp(&h, &f)) {
			ck_assert_msg(f.tcp.seq == c.rcv_nxt - 3 && f.data_len == 3,
				      "with data outstanding the stack sent something other than "
				      "its retransmission (a keep-alive probe?)");
			rexmits++;
		}
	}
	ck_assert_uint_ge(rexmits, 5);
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-34, MUST-35, SHLD-15..17: the peer shrinks its window ------------ */

/* The stack has sent 10 full segments of pattern on c. */
static struct mtcp_sock *ten_segments_out(struct mtcp_sock *l, struct h_conn *c)
{
	struct mtcp_sock *s = passive_open(l, c, PEER_PORT, NULL);

	fill_pattern();
	ck_assert_int_eq(wr(s, pattern, 10 * MSS), 10 * MSS);
	for (int i = 0; i < 10; i++)
		h_conn_expect_data(&h, c, TH_ACK, pattern + i * MSS, MSS);
	h_expect_none(&h);
	return s;
}

/* Receive (acknowledging as it comes, window win) everything of pattern
 * from una up to end; every segment must stay inside the window. */
static void receive_all(struct h_conn *c, uint32_t una, uint32_t end, uint16_t win)
{
	uint32_t d0 = c->irs + 1;
	struct frame f;
	char got[200];

	while (SEQ_LT(una, end)) {
		h_advance_until_tcp(&h, &f, 30 * SEC, "the rest of the data");
		h_tcp_describe(&f, got, sizeof(got));
		ck_assert_msg(f.data_len > 0 && SEQ_LEQ(f.tcp.seq, una) &&
			      SEQ_LEQ(f.tcp.seq + (uint32_t)f.data_len, una + win),
			      "expected data from %u within a window of %u, got %s", una, win, got);
		ck_assert_msg(memcmp(f.data, pattern + (f.tcp.seq - d0), f.data_len) == 0,
			      "wrong bytes in %s", got);
		if (SEQ_GT(f.tcp.seq + (uint32_t)f.data_len, una))
			una = f.tcp.seq + (uint32_t)f.data_len;
		peer_ack_win(c, una, win);
	}
	c->rcv_nxt = end;
}

/* MUST-34, MUST-35 and SHLD-17: the peer acknowledges two segments and
 * closes its window, its right edge now left of SND.NXT. The stack copes:
 * it probes the zero window (one byte at SND.UNA), keeps the connection
 * for as long as the probes are answered - well past R2 - and, the window
 * open again, sends everything from SND.UNA. */
START_TEST(test_must34_35_window_shrunk_to_zero_is_survived_and_probed)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = ten_segments_out(l, &c);
	uint32_t d0 = c.irs + 1, una = d0 + 2 * MSS;
	peer_ack_win(&c, una, 0);
	h_expect_none(&h);
	uint64_t t0 = h.now;
	for (int i = 0; i < 30; i++) {
		h_advance_until_tcp(&h, &f, 200 * SEC, "a zero-window probe");
		ck_assert_msg(f.tcp.seq == una && f.data_len == 1 && !(f.tcp.flags & TH_RST),
			      "probe %d is not one byte at SND.UNA", i + 1);
		peer_ack_win(&c, una, 0);
	}
	ck_assert_msg(h.now - t0 > 1000 * SEC, "30 probes in %llu s",
		      (unsigned long long)((h.now - t0) / SEC));
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	ck_assert_int_eq(h_sock_error(s), 0);
	peer_ack_win(&c, una, 65535);
	receive_all(&c, una, d0 + 10 * MSS, 65535);
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* SHLD-15, SHLD-16 (and MAY-7 not taken): the peer acknowledges two
 * segments with a window of two, its right edge eight segments behind
 * SND.NXT. Nothing new goes past the edge, not even data written since;
 * the RTO resends what lies in the window, and from there the transfer
 * goes on inside the (sliding) window to the last byte. */
START_TEST(test_shld15_16_after_a_shrink_nothing_past_the_edge_and_the_window_is_resent)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = ten_segments_out(l, &c);
	uint32_t d0 = c.irs + 1, una = d0 + 2 * MSS;
	peer_ack_win(&c, una, 2 * MSS);
	h_expect_none(&h);
	ck_assert_int_eq(wr(s, pattern + 10 * MSS, 4 * MSS), 4 * MSS);
	h_expect_none(&h);
	receive_all(&c, una, d0 + 14 * MSS, 2 * MSS);
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-38: sender SWS avoidance, the override timeout ------------------- */

/* MUST-38 (RFC 9293 3.8.6.2.1 / RFC 1122 4.2.3.4, case 4): with nothing in
 * flight and a usable window smaller than both an MSS and half the
 * largest window ever offered, data waits - but not for ever: the
 * override timeout (0.1 to 1 s) sends what the window takes. Without it a
 * lost window update stalls the connection for good: no timer runs. */
START_TEST(test_must38_sws_override_timeout_sends_into_a_small_window)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = passive_open(l, &c, PEER_PORT, NULL);
	fill_pattern();
	peer_ack_win(&c, c.rcv_nxt, 500);       /* the peer's buffer filled up */
	ck_assert_int_eq(wr(s, pattern, 1000), 1000);
	h_expect_none(&h);                      /* SWS avoidance: wait a little */
	uint64_t t0 = h.now;
	bool sent = false;
	while (!sent && h.now - t0 < 60 * SEC) {
		h_advance(&h, 100 * MS);
		sent = h_next_tcp(&h, &f);
	}
	ck_assert_msg(sent, "1000 bytes queued, nothing in flight, a window of 500: nothing "
		      "sent in 60 s (no override timeout; no timer runs)");
	ck_assert_msg(h.now - t0 <= 1 * SEC, "the override came after %llu ms",
		      (unsigned long long)((h.now - t0) / MS));
	ck_assert_msg(f.tcp.seq == c.rcv_nxt && f.data_len > 0 && f.data_len <= 500,
		      "expected up to 500 bytes at %u", c.rcv_nxt);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-41..MUST-46: OPEN ------------------------------------------------------ */

/* Data both ways on an established connection. */
static void both_ways(struct mtcp_sock *s, struct h_conn *c, const char *what)
{
	char buf[16];

	ck_assert_msg(state_of(s) == TCP_ESTABLISHED, "%s: not established", what);
	ck_assert_int_eq(wr(s, "out", 3), 3);
	h_conn_expect_data(&h, c, TH_ACK, "out", 3);
	h_conn_send(&h, c, TH_ACK | TH_PSH, "in", 2);
	h_conn_expect(&h, c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 2);
	ck_assert_mem_eq(buf, "in", 2);
}

/* MUST-41: a passive open either makes a new LISTEN record or fails, and
 * leaves existing connections alone: a second listener on the port fails
 * (EADDRINUSE), listen on the connected socket fails (EINVAL), listen
 * again on the listener only changes its backlog; with the listener
 * closed, a new one on the port is made beside the connection. The
 * connection carries on through all of it. */
START_TEST(test_must41_a_passive_open_never_disturbs_an_existing_connection)
{
	static struct h_conn c, d;
	struct mtcp_sock *l = listener(OUR_PORT, true), *s, *l2, *t;

	s = passive_open(l, &c, PEER_PORT, NULL);
	l2 = h_tcp_socket(&h);
	h_sock_set_int(l2, SOL_SOCKET, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(l2, INADDR_ANY, OUR_PORT), -EADDRINUSE);
	ck_assert_int_eq(mtcp_listen(s, 8), -EINVAL);
	ck_assert_int_eq(mtcp_listen(l, 16), 0);
	both_ways(s, &c, "after the failed passive opens");

	mtcp_close(l);
	h_expect_none(&h);
	ck_assert_int_eq(bind_to(l2, INADDR_ANY, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_listen(l2, 8), 0);
	both_ways(s, &c, "after a new listener on the port");
	t = passive_open(l2, &d, PEER_PORT + 1, NULL);
	both_ways(t, &d, "the new listener's connection");
	both_ways(s, &c, "the first connection, still");
	h_tcp_abort(&h, s);
	h_tcp_abort(&h, t);
	h_tcp_close_last(&h, l2);
}
END_TEST

/* MUST-42: listen on a local port whose connection is in SYN-SENT (and,
 * below, SYN-RECEIVED after a simultaneous open). As on Linux, both
 * sockets ask for SO_REUSEADDR. The connection completes, and the
 * listener takes new connections on the port. */
START_TEST(test_must42_listen_on_a_port_whose_connection_is_in_syn_sent_or_syn_received)
{
	static struct h_conn c, d, e;
	static struct frame syn;
	struct mtcp_sock *a = h_tcp_socket(&h), *l = h_tcp_socket(&h), *t;

	h_sock_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1);
	h_sock_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(a, INADDR_ANY, 5000), 0);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&syn, "connect");
	ck_assert_int_eq(state_of(a), TCP_SYN_SENT);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, 5000), 0);
	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	h_expect_none(&h);
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	both_ways(a, &c, "the connection from SYN-SENT");
	h_conn_init(&d, PEER_PORT + 1, 5000, 7000, NULL);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &d);
	h_conn_send(&h, &d, TH_ACK, NULL, 0);
	t = h_tcp_accept(&h, l);
	both_ways(t, &d, "the listener's connection");
	h_tcp_abort(&h, a);
	h_tcp_abort(&h, t);
	mtcp_close(l);

	/* SYN-RECEIVED, reached by a simultaneous open. */
	a = h_tcp_socket(&h);
	l = h_tcp_socket(&h);
	h_sock_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1);
	h_sock_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
	ck_assert_int_eq(bind_to(a, INADDR_ANY, 5001), 0);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&syn, "connect");
	h_conn_init(&e, PEER_PORT, 5001, PEER_ISS, NULL);
	e.irs = syn.tcp.seq;
	e.rcv_nxt = e.irs;
	h_conn_send(&h, &e, TH_SYN, NULL, 0);
	h_conn_expect(&h, &e, TH_SYN | TH_ACK, 0);
	ck_assert_int_eq(state_of(a), TCP_SYN_RECV);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, 5001), 0);
	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	h_conn_send(&h, &e, TH_ACK, NULL, 0);
	h_expect_none(&h);
	both_ways(a, &e, "the connection from SYN-RECEIVED");
	h_conn_init(&d, PEER_PORT + 2, 5001, 9000, NULL);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &d);
	h_conn_send(&h, &d, TH_ACK, NULL, 0);
	t = h_tcp_accept(&h, l);
	both_ways(t, &d, "the second listener's connection");
	h_tcp_abort(&h, a);
	h_tcp_abort(&h, t);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-43: the application chooses the local address: bound to ours, the
 * connection uses it; an address that is not ours is refused. */
START_TEST(test_must43_connect_from_the_local_address_bound)
{
	static struct frame syn;
	struct mtcp_sock *a = h_tcp_socket(&h), *b = h_tcp_socket(&h);
	struct sockaddr_in me;

	ck_assert_int_eq(bind_to(b, OTHER_IP, 0), -EADDRNOTAVAIL);
	ck_assert_int_eq(bind_to(a, STACK_IP, 0), 0);
	me = local_addr(a);
	ck_assert_uint_eq(ntohl(me.sin_addr.s_addr), STACK_IP);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&syn, "connect");
	ck_assert_uint_eq(syn.ip.src, STACK_IP);
	ck_assert_uint_eq(syn.tcp.sport, ntohs(me.sin_port));
	mtcp_close(a);
	mtcp_close(b);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* MUST-44 and MUST-45: connect with no local address (unbound, or bound
 * to INADDR_ANY): the address the route gives is the socket's before the
 * SYN leaves, and every segment of the connection - SYN, ACK, data, FIN -
 * comes from it, as do those of a connection accepted on a wildcard
 * listener. */
START_TEST(test_must44_45_local_address_chosen_before_the_syn_and_kept)
{
	static struct h_conn c, d;
	static struct frame syn;
	struct mtcp_sock *a = h_tcp_socket(&h), *b = h_tcp_socket(&h), *l, *s;
	struct sockaddr_in me;

	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	me = local_addr(a);
	ck_assert_uint_eq(ntohl(me.sin_addr.s_addr), STACK_IP);
	next_seg(&syn, "connect");
	ck_assert_uint_eq(syn.ip.src, STACK_IP);
	ck_assert_uint_eq(syn.tcp.sport, ntohs(me.sin_port));
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 0)->ip.src, STACK_IP);
	ck_assert_int_eq(wr(a, "x", 1), 1);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 1)->ip.src, STACK_IP);
	ck_assert_int_eq(mtcp_shutdown(a, SHUT_WR), 0);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0)->ip.src, STACK_IP);
	me = local_addr(a);
	ck_assert_uint_eq(ntohl(me.sin_addr.s_addr), STACK_IP);
	h_tcp_abort(&h, a);

	ck_assert_int_eq(bind_to(b, INADDR_ANY, 6000), 0);
	ck_assert_int_eq(h_sock_connect(b, PEER_IP, PEER_PORT), -EINPROGRESS);
	me = local_addr(b);
	ck_assert_uint_eq(ntohl(me.sin_addr.s_addr), STACK_IP);
	ck_assert_uint_eq(ntohs(me.sin_port), 6000);
	next_seg(&syn, "connect");
	ck_assert_uint_eq(syn.ip.src, STACK_IP);
	mtcp_close(b);

	l = listener(OUR_PORT, false);
	h_conn_init(&d, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	ck_assert_uint_eq(h_conn_expect_synack(&h, &d)->ip.src, STACK_IP);
	h_conn_send(&h, &d, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_uint_eq(ntohl(local_addr(s).sin_addr.s_addr), STACK_IP);
	ck_assert_int_eq(wr(s, "y", 1), 1);
	ck_assert_uint_eq(h_conn_expect(&h, &d, TH_ACK, 1)->ip.src, STACK_IP);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-46: an open to a broadcast or multicast address is refused
 * (ENETUNREACH, as Linux's ip_route_connect) and nothing is sent. */
START_TEST(test_must46_connect_to_broadcast_or_multicast_is_refused)
{
	static const uint32_t bad[] = { SUBNET_BCAST, 0xffffffffu, 0xe0000001u, 0xeffffffau };

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mtcp_sock *a = h_tcp_socket(&h);
		ck_assert_msg(h_sock_connect(a, bad[i], PEER_PORT) == -ENETUNREACH,
			      "connect to %08x not refused", bad[i]);
		h_expect_none(&h);
		mtcp_close(a);
	}
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* ---- MUST-47, MUST-48, MUST-49, SHLD-21, SHLD-22, SHLD-25 ------------------- */

/* MUST-47 and SHLD-25: a soft ICMP error is made available to the
 * application: a connection that then times out reports it (Linux's
 * tcp_write_err) - host unreachable on an established connection, net
 * unreachable on a SYN - instead of a bare ETIMEDOUT. */
START_TEST(test_must47_shld25_soft_icmp_error_reported_when_the_connection_fails)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *a;
	char buf[8];

	s = passive_open(l, &c, PEER_PORT, NULL);
	h_sock_set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 500);
	ck_assert_int_eq(wr(s, "lost", 4), 4);
	icmp_about(h_conn_expect(&h, &c, TH_ACK, 4), ICMP_DEST_UNREACH, ICMP_HOST_UNREACH);
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	h_advance(&h, 10 * SEC);
	h_drain(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EHOSTUNREACH);
	mtcp_close(s);

	a = h_tcp_connect(&h, 0, PEER_PORT + 1);
	next_seg(&f, "connect");
	icmp_about(&f, ICMP_DEST_UNREACH, ICMP_NET_UNREACH);
	ck_assert_int_eq(state_of(a), TCP_SYN_SENT);
	uint64_t t0 = h.now;
	while (!(mtcp_poll(a) & EPOLLERR)) {
		ck_assert_msg(h.now - t0 < 600 * SEC, "connect still pending after 600 s");
		h_advance(&h, 1 * SEC);
		h_drain(&h);
	}
	ck_assert_int_eq(h_sock_error(a), ENETUNREACH);
	mtcp_close(a);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-48, SHLD-21, SHLD-22: the Diffserv field the application sets
 * (IP_TOS) is on every segment of the connection, from the SYN on; set
 * again mid-connection, the next segments carry the new value; a
 * listener's passes to its connections, the SYN-ACK included. */
START_TEST(test_must48_shld21_22_ip_tos_marks_every_segment)
{
	static struct h_conn c, d;
	static struct frame f;
	struct mtcp_sock *a = h_tcp_socket(&h), *l = h_tcp_socket(&h), *s;

	h_sock_set_int(a, IPPROTO_IP, IP_TOS, 0x28);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&f, "connect");
	ck_assert_uint_eq(f.ip.tos, 0x28);
	h_conn_from_syn(&h, &c, &f, PEER_ISS, NULL);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 0)->ip.tos, 0x28);
	ck_assert_int_eq(wr(a, "af11", 4), 4);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 4)->ip.tos, 0x28);
	peer_ack(&c, c.rcv_nxt);
	h_sock_set_int(a, IPPROTO_IP, IP_TOS, 0xb8);
	ck_assert_int_eq(wr(a, "ef", 2), 2);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 2)->ip.tos, 0xb8);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "ack", 3);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 0)->ip.tos, 0xb8);
	h_tcp_abort(&h, a);

	h_sock_set_int(l, IPPROTO_IP, IP_TOS, 0x10);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	h_conn_init(&d, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	ck_assert_uint_eq(h_conn_expect_synack(&h, &d)->ip.tos, 0x10);
	h_conn_send(&h, &d, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	ck_assert_int_eq(wr(s, "x", 1), 1);
	ck_assert_uint_eq(h_conn_expect(&h, &d, TH_ACK, 1)->ip.tos, 0x10);
	struct linger lg = { 1, 0 };
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	mtcp_close(s);
	next_seg(&f, "abort");
	ck_assert(f.tcp.flags & TH_RST);
	ck_assert_uint_eq(f.ip.tos, 0x10);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-49: the TTL of the segments sent is configurable (IP_TTL): 64 by
 * default, the value set from the SYN on, and a listener's on its
 * connections' SYN-ACK and RST. */
START_TEST(test_must49_ip_ttl_of_segments_is_configurable)
{
	static struct h_conn c, d;
	static struct frame f;
	struct mtcp_sock *a = h_tcp_socket(&h), *b = h_tcp_socket(&h), *l = h_tcp_socket(&h), *s;

	ck_assert_int_eq(h_sock_connect(b, PEER_IP, PEER_PORT + 1), -EINPROGRESS);
	next_seg(&f, "connect");
	ck_assert_uint_eq(f.ip.ttl, 64);
	mtcp_close(b);

	h_sock_set_int(a, IPPROTO_IP, IP_TTL, 7);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	next_seg(&f, "connect");
	ck_assert_uint_eq(f.ip.ttl, 7);
	h_conn_from_syn(&h, &c, &f, PEER_ISS, NULL);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 0)->ip.ttl, 7);
	ck_assert_int_eq(wr(a, "ttl", 3), 3);
	ck_assert_uint_eq(h_conn_expect(&h, &c, TH_ACK, 3)->ip.ttl, 7);
	h_tcp_abort(&h, a);

	h_sock_set_int(l, IPPROTO_IP, IP_TTL, 9);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_listen(l, 8), 0);
	h_conn_init(&d, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &d, TH_SYN, NULL, 0);
	ck_assert_uint_eq(h_conn_expect_synack(&h, &d)->ip.ttl, 9);
	h_conn_send(&h, &d, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);
	struct linger lg = { 1, 0 };
	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	mtcp_close(s);
	next_seg(&f, "abort");
	ck_assert(f.tcp.flags & TH_RST);
	ck_assert_uint_eq(f.ip.ttl, 9);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-50..MUST-53: IP options --------------------------------------------------- */

/* Record Route (7, empty), Timestamp (68, one empty slot), an option the
 * stack has never heard of (30, RFC 4727's experiment), padded. */
static const uint8_t ip_opts_plain[20] = {
	7, 7, 4, 0, 0, 0, 0, 1,
	68, 8, 5, 0, 0, 0, 0, 0,
	30, 4, 0xab, 0xcd,
};

/* MUST-50: IP options TCP does not understand are ignored, the segment
 * processed: a SYN and data in datagrams with Record Route, Timestamp and
 * an unknown option are taken as if they had none. */
START_TEST(test_must50_ip_options_on_tcp_segments_are_ignored)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[16];

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	conn_send_ipopt(&c, TH_SYN, NULL, 0, ip_opts_plain, sizeof(ip_opts_plain));
	ck_assert_uint_eq(h_conn_expect_synack(&h, &c)->ip.hlen, IPV4_HLEN);
	conn_send_ipopt(&c, TH_ACK, NULL, 0, ip_opts_plain, sizeof(ip_opts_plain));
	s = h_tcp_accept(&h, l);
	conn_send_ipopt(&c, TH_ACK | TH_PSH, "options", 7, ip_opts_plain, sizeof(ip_opts_plain));
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 7);
	ck_assert_mem_eq(buf, "options", 7);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-53 (n/a: no return route is ever needed) and SHLD-24: a
 * source-routed datagram - Loose (0x83) or Strict (0x89) Source and Record
 * Route, even completed - is dropped by IP (DROP_IP_SOURCE_ROUTE, RFC 7126
 * 4.3/4.4, Linux's accept_source_route = 0): no connection, no answer,
 * no data. */
START_TEST(test_must53_source_routed_datagram_is_dropped)
{
	static struct h_conn c, d;
	/* a completed route through 10.61.0.254: pointer past the one address */
	static const uint8_t lsrr[8] = { 0x83, 7, 8, 10, 61, 0, 254, 1 };
	static const uint8_t ssrr[8] = { 0x89, 7, 8, 10, 61, 0, 254, 1 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	uint64_t d0 = drops(DROP_IP_SOURCE_ROUTE);
	char buf[8];

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	conn_send_ipopt(&c, TH_SYN, NULL, 0, lsrr, sizeof(lsrr));
	h_expect_none(&h);
	c.snd_nxt = PEER_ISS;
	conn_send_ipopt(&c, TH_SYN, NULL, 0, ssrr, sizeof(ssrr));
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	ck_assert_uint_eq(drops(DROP_IP_SOURCE_ROUTE), d0 + 2);

	s = passive_open(l, &d, PEER_PORT + 1, NULL);
	conn_send_ipopt(&d, TH_ACK | TH_PSH, "routed", 6, ssrr, sizeof(ssrr));
	d.snd_nxt -= 6;
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	ck_assert_uint_eq(drops(DROP_IP_SOURCE_ROUTE), d0 + 3);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-51, MUST-52 (n/a) and MAY-10, MAY-11: there is no way for the
 * application to hand IP options to the stack (IP_OPTIONS is refused). */
START_TEST(test_must51_no_ip_options_for_the_application)
{
	struct mtcp_sock *a = h_tcp_socket(&h);
	int v = 0;

	ck_assert_int_eq(mtcp_setsockopt(a, IPPROTO_IP, IP_OPTIONS, &v, sizeof(v)), -ENOPROTOOPT);
	mtcp_close(a);
}
END_TEST

/* ---- MUST-54, MUST-55, MUST-56: ICMP --------------------------------------------------- */

/* MUST-54: an ICMP error goes to the connection whose segment it quotes,
 * and only there; one quoting a sequence number the connection has not
 * sent is ignored (RFC 5927 4.1). */
START_TEST(test_must54_icmp_error_reaches_only_the_connection_it_quotes)
{
	static struct frame s1, s2, bogus;
	static struct h_conn c;
	struct mtcp_sock *a = h_tcp_connect(&h, 0, PEER_PORT);

	next_seg(&s1, "first connect");
	struct mtcp_sock *b = h_tcp_connect(&h, 0, PEER_PORT + 1);
	next_seg(&s2, "second connect");
	bogus = s1;
	wr32(bogus.buf + ETH_HLEN + IPV4_HLEN + 4, s1.tcp.seq + 100000);
	icmp_about(&bogus, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
	ck_assert_int_eq(state_of(a), TCP_SYN_SENT);
	icmp_about(&s2, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH);
	ck_assert_int_eq(h_sock_error(b), ECONNREFUSED);
	ck_assert_int_eq(state_of(a), TCP_SYN_SENT);
	ck_assert_int_eq(h_sock_error(a), 0);
	h_conn_from_syn(&h, &c, &s1, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(state_of(a), TCP_ESTABLISHED);
	h_tcp_abort(&h, a);
	mtcp_close(b);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* MUST-55: ICMP Source Quench is discarded (DROP_ICMP_UNHANDLED): nothing
 * sent, the congestion window untouched, no error, on an established
 * connection and on one being opened. */
START_TEST(test_must55_source_quench_is_silently_discarded)
{
	static struct h_conn c, d;
	static struct frame syn;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *a;
	uint64_t d0 = drops(DROP_ICMP_UNHANDLED);

	s = passive_open(l, &c, PEER_PORT, NULL);
	fill_pattern();
	ck_assert_int_eq(wr(s, pattern, 3 * MSS), 3 * MSS);
	h_conn_expect(&h, &c, TH_ACK, MSS);
	h_conn_expect(&h, &c, TH_ACK, MSS);
	const struct frame *last = h_conn_expect(&h, &c, TH_ACK, MSS);
	struct tcp_info before = h_tcp_info(s);
	icmp_about(last, ICMP_SOURCE_QUENCH, 0);
	struct tcp_info after = h_tcp_info(s);
	ck_assert_uint_eq(drops(DROP_ICMP_UNHANDLED), d0 + 1);
	h_expect_none(&h);
	ck_assert_uint_eq(after.tcpi_snd_cwnd, before.tcpi_snd_cwnd);
	ck_assert_uint_eq(after.tcpi_snd_ssthresh, before.tcpi_snd_ssthresh);
	ck_assert_int_eq(h_sock_error(s), 0);
	peer_ack(&c, c.rcv_nxt);
	both_ways(s, &c, "after a source quench");

	a = h_tcp_connect(&h, 0, PEER_PORT + 1);
	next_seg(&syn, "connect");
	icmp_about(&syn, ICMP_SOURCE_QUENCH, 0);
	ck_assert_uint_eq(drops(DROP_ICMP_UNHANDLED), d0 + 2);
	ck_assert_int_eq(state_of(a), TCP_SYN_SENT);
	h_conn_from_syn(&h, &d, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &d, TH_ACK, 0);
	ck_assert_int_eq(h_sock_error(a), 0);
	h_tcp_abort(&h, s);
	h_tcp_abort(&h, a);
	h_tcp_close_last(&h, l);
}
END_TEST

static const struct { uint8_t type, code; } soft_errors[] = {
	{ ICMP_DEST_UNREACH, ICMP_NET_UNREACH },
	{ ICMP_DEST_UNREACH, ICMP_HOST_UNREACH },
	{ ICMP_DEST_UNREACH, ICMP_SR_FAILED },
	{ ICMP_TIME_EXCEEDED, 0 },
	{ ICMP_TIME_EXCEEDED, 1 },
	{ ICMP_PARAMETERPROB, 0 },
};
#define NSOFT   (sizeof(soft_errors) / sizeof(soft_errors[0]))

/* MUST-56 (and SHLD-26 not taken): no soft error - Destination
 * Unreachable 0, 1, 5, Time Exceeded, Parameter Problem - aborts an
 * established connection; nor, here, does a hard one (port unreachable). */
START_TEST(test_must56_soft_icmp_errors_do_not_abort_an_established_connection)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = passive_open(l, &c, PEER_PORT, NULL);
	for (unsigned i = 0; i <= NSOFT; i++) {
		uint8_t type = i < NSOFT ? soft_errors[i].type : ICMP_DEST_UNREACH;
		uint8_t code = i < NSOFT ? soft_errors[i].code : ICMP_PORT_UNREACH;
		ck_assert_int_eq(wr(s, "data", 4), 4);
		icmp_about(h_conn_expect(&h, &c, TH_ACK, 4), type, code);
		h_expect_none(&h);
		ck_assert_msg(state_of(s) == TCP_ESTABLISHED && !(mtcp_poll(s) & EPOLLERR),
			      "ICMP %u/%u aborted an established connection", type, code);
		peer_ack(&c, c.rcv_nxt);
	}
	both_ways(s, &c, "after the ICMP errors");
	ck_assert_int_eq(h_sock_error(s), 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-56: nor do Destination Unreachable 0, 1, 5 and Time Exceeded abort
 * a connection in SYN-SENT (unlike Linux, which aborts on them): the SYN
 * is sent again and the SYN-ACK completes the connection. */
START_TEST(test_must56_soft_icmp_errors_do_not_abort_syn_sent)
{
	static struct h_conn c;
	static struct frame syn, f;
	struct mtcp_sock *a = h_tcp_connect(&h, 0, PEER_PORT);

	next_seg(&syn, "connect");
	for (unsigned i = 0; i < NSOFT; i++) {
		if (soft_errors[i].type == ICMP_PARAMETERPROB)
			continue;       /* its own test below */
		icmp_about(&syn, soft_errors[i].type, soft_errors[i].code);
		ck_assert_msg(state_of(a) == TCP_SYN_SENT && !(mtcp_poll(a) & EPOLLERR),
			      "ICMP %u/%u aborted the connect", soft_errors[i].type,
			      soft_errors[i].code);
	}
	h_advance_until_tcp(&h, &f, 2 * SEC, "the SYN again");
	ck_assert_uint_eq(f.tcp.seq, syn.tcp.seq);
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(state_of(a), TCP_ESTABLISHED);
	h_tcp_abort(&h, a);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* MUST-56 (RFC 9293 3.9.2.2 and Appendix B: "Abort on Param Problem -
 * MUST NOT"; RFC 1122 4.2.3.9): Parameter Problem is a soft error, in
 * every state. A connect must survive it. */
START_TEST(test_must56_parameter_problem_does_not_abort_syn_sent)
{
	static struct h_conn c;
	static struct frame syn;
	struct mtcp_sock *a = h_tcp_connect(&h, 0, PEER_PORT);

	next_seg(&syn, "connect");
	icmp_about(&syn, ICMP_PARAMETERPROB, 0);
	ck_assert_msg(state_of(a) == TCP_SYN_SENT && !(mtcp_poll(a) & EPOLLERR),
		      "ICMP Parameter Problem aborted the connect (state %d, SO_ERROR %d)",
		      state_of(a), h_sock_error(a));
	h_conn_from_syn(&h, &c, &syn, PEER_ISS, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_tcp_abort(&h, a);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

/* MUST-56: the same for a passive open in SYN-RECEIVED: a Parameter
 * Problem about the SYN-ACK leaves the connection to complete. */
START_TEST(test_must56_parameter_problem_does_not_abort_syn_received)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	icmp_about(h_conn_expect_synack(&h, &c), ICMP_PARAMETERPROB, 0);
	ck_assert_msg(h_tcp_pcbs(&h) == 2, "ICMP Parameter Problem ended the connection in "
		      "SYN-RECEIVED");
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
	s = h_tcp_accept(&h, l);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-57, MUST-63: addresses ----------------------------------------------------- */

/* The peer sends a SYN from src to dst:OUR_PORT (in a link-layer broadcast
 * frame when bcast). */
static void syn_from_to(uint32_t src, uint32_t dst, bool bcast)
{
	static uint8_t pkt[IPV4_MAXLEN];
	struct tcp_repr r = {
		.sport = PEER_PORT, .dport = OUR_PORT, .seq = PEER_ISS, .flags = TH_SYN,
		.win = 65535, .opt = { .has_mss = true, .mss = MSS },
	};

	h_send_packet(&h, pkt, h_build_tcp(&h, pkt, src, dst, &r, NULL, 0), bcast);
}

/* MUST-57: a SYN to a broadcast or multicast address is discarded without
 * a word, even with a wildcard listener on the port: to the subnet's
 * broadcast address, to 255.255.255.255, to our address in a link-layer
 * broadcast, to a multicast group. So is any other segment (RFC 1122
 * 4.2.3.10): an ACK to the broadcast address draws no RST. */
START_TEST(test_must57_syn_to_broadcast_or_multicast_is_silently_dropped)
{
	static struct h_conn c;
	static uint8_t pkt[IPV4_MAXLEN];
	struct mtcp_sock *l = listener(OUR_PORT, false);
	uint64_t b0 = drops(DROP_TCP_BCAST), n0 = drops(DROP_IP_NOT_FOR_US);

	syn_from_to(PEER_IP, SUBNET_BCAST, true);
	syn_from_to(PEER_IP, 0xffffffffu, true);
	syn_from_to(PEER_IP, STACK_IP, true);
	syn_from_to(PEER_IP, 0xe0000001u, true);
	syn_from_to(PEER_IP, 0xe00000fbu, false);
	h_expect_none(&h);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 1);
	ck_assert_uint_eq(drops(DROP_TCP_BCAST), b0 + 3);
	ck_assert_uint_eq(drops(DROP_IP_NOT_FOR_US), n0 + 2);
	struct tcp_repr ack = { .sport = PEER_PORT, .dport = 81, .seq = 5, .ack = 9,
				.flags = TH_ACK, .win = 100 };
	h_send_packet(&h, pkt, h_build_tcp(&h, pkt, PEER_IP, SUBNET_BCAST, &ack, NULL, 0), true);
	h_expect_none(&h);
	ck_assert_uint_eq(drops(DROP_TCP_BCAST), b0 + 4);
	/* The same SYN to our address is answered. */
	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	h_conn_rst(&h, &c);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-63: a SYN from a source that cannot be a host (RFC 1122 3.2.1.3) -
 * a broadcast address, a multicast address, loopback, class E - is
 * ignored by IP (DROP_IP_BAD_SRC): no answer, no connection. */
START_TEST(test_must63_syn_from_a_broadcast_or_multicast_source_is_dropped)
{
	static const uint32_t bad[] = {
		SUBNET_BCAST, 0xffffffffu, 0xe0000005u, 0x7f000001u, 0xf0000001u,
	};
	struct mtcp_sock *l = listener(OUR_PORT, false);
	uint64_t d0 = drops(DROP_IP_BAD_SRC);

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		syn_from_to(bad[i], STACK_IP, false);
		h_expect_none(&h);
		ck_assert_msg(h_tcp_pcbs(&h) == 1, "a SYN from %08x made a connection", bad[i]);
	}
	ck_assert_uint_eq(drops(DROP_IP_BAD_SRC), d0 + 5);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MUST-63: nor may a SYN from 0.0.0.0 ("this host", valid only as the
 * source of a host learning its own address, RFC 1122 3.2.1.3 (a); Linux
 * drops it as a martian) or 0.0.0.9 ((b), the same) make a connection:
 * nothing could ever be sent back to it. */
START_TEST(test_must63_syn_from_this_host_0_0_0_0_is_ignored)
{
	struct mtcp_sock *l = listener(OUR_PORT, false);

	syn_from_to(0, STACK_IP, false);
	h_expect_none(&h);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "a SYN from 0.0.0.0 made a connection (%u control blocks)",
		      h_tcp_pcbs(&h));
	syn_from_to(9, STACK_IP, false);
	h_expect_none(&h);
	ck_assert_msg(h_tcp_pcbs(&h) == 1, "a SYN from 0.0.0.9 made a connection (%u control blocks)",
		      h_tcp_pcbs(&h));
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- MUST-58, MUST-59: ACKs per batch ------------------------------------------------- */

/* MUST-58 and MUST-59: segments that arrive together are all processed
 * before the ACK goes, and draw one: two data segments queued on the link
 * before the stack polls (each alone would be acknowledged at once: the
 * quick ACKs of a new connection); then eight; then, with the quick ACKs
 * used up, three full-sized segments and a FIN. (Out-of-order segments
 * and the one filling a gap are acknowledged one by one, at once: RFC
 * 5681 4.2, for the sender's fast retransmit.) */
START_TEST(test_must58_59_segments_queued_together_draw_one_ack)
{
	static struct h_conn c;
	static char buf[8 * MSS];
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, NULL);
	h.paused = true;
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "one", 3);
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "two", 3);
	h.paused = false;
	h_poll(&h);
	h_conn_expect(&h, &c, TH_ACK, 0);       /* acks both */
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 6);
	ck_assert_mem_eq(buf, "onetwo", 6);

	h.paused = true;
	for (int i = 0; i < 8; i++)
		h_conn_send(&h, &c, TH_ACK, pattern + i * 10, 10);
	h.paused = false;
	h_poll(&h);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 80);
	ck_assert(memcmp(buf, pattern, 80) == 0);

	for (int i = 0; i < 16; i++) {          /* past the quick ACKs */
		h_conn_send(&h, &c, TH_ACK, "q", 1);
		h_advance(&h, 40 * MS);
		h_drain(&h);
	}
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 16);
	h.paused = true;
	for (int i = 0; i < 3; i++)
		h_conn_send(&h, &c, TH_ACK, pattern + i * MSS, MSS);
	h_conn_send(&h, &c, TH_ACK | TH_FIN, NULL, 0);
	h.paused = false;
	h_poll(&h);
	h_conn_expect(&h, &c, TH_ACK, 0);       /* data and FIN */
	h_expect_none(&h);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 3 * MSS);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* A connection accepted on a listener with the smallest receive buffer
 * (so no larger window was ever offered), then filled by the peer until
 * the stack's window is zero. */
static struct mtcp_sock *zero_window_conn(struct mtcp_sock **lp, struct h_conn *c)
{
	static char fill[8192];
	struct mtcp_sock *l = h_tcp_socket(&h), *s;

	h_sock_set_int(l, SOL_SOCKET, SO_RCVBUF, 1);
	ck_assert_int_eq(bind_to(l, INADDR_ANY, OUR_PORT), 0);
	ck_assert_int_eq(mtcp_listen(l, 4), 0);
	s = passive_open(l, c, PEER_PORT, NULL);
	uint32_t space = tcp_rcv_space(s->tp);
	ck_assert_uint_le(space, sizeof(fill));
	memset(fill, 'f', sizeof(fill));
	h_conn_send(&h, c, TH_ACK | TH_PSH, fill, space);
	h_conn_expect(&h, c, TH_ACK, 0);
	ck_assert_uint_eq(c->stack_wnd, 0);
	*lp = l;
	return s;
}

/* ---- MUST-66: RST with a zero window ------------------------------------------------- */

/* MUST-66: with the receive window at zero, a RST is still processed (the
 * URG half: test_tcp_urgent.c test_urgent_processed_with_a_zero_window). */
START_TEST(test_must66_rst_processed_with_a_zero_receive_window)
{
	static struct h_conn c;
	struct mtcp_sock *l, *s = zero_window_conn(&l, &c);
	ck_assert_uint_eq(tcp_rcv_space(s->tp), 0);
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	ck_assert_int_eq(state_of(s), TCP_CLOSE);
	ck_assert_int_eq(h_sock_error(s), ECONNRESET);
	mtcp_close(s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- SHLD-2, SHLD-27, SHLD-28, MAY-8, MAY-12 ---------------------------------------- */

/* SHLD-2: a RST may carry data (a diagnostic): it resets all the same. */
START_TEST(test_shld2_rst_carrying_data_is_accepted)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[8];

	s = passive_open(l, &c, PEER_PORT, NULL);
	h_conn_send_ex(&h, &c, c.snd_nxt, TH_RST | TH_ACK, NULL, "goodbye: reason", 15);
	h_expect_none(&h);
	ck_assert_int_eq(state_of(s), TCP_CLOSE);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -ECONNRESET);
	mtcp_close(s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* SHLD-27, SHLD-28 and MAY-16: small writes made while data is in flight
 * are held and sent together: as soon as they make a full-sized segment
 * (data of eight writes), without PSH (the queue is not empty); the rest
 * when the ACK comes, with PSH (it empties the queue). */
START_TEST(test_shld27_28_small_writes_go_out_as_full_segments)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, NULL);
	ck_assert_int_eq(wr(s, pattern, 100), 100);
	h_conn_expect_data(&h, &c, TH_ACK, pattern, 100);
	for (int i = 0; i < 7; i++)
		ck_assert_int_eq(wr(s, pattern + 100 + 200 * i, 200), 200);
	h_expect_none(&h);                      /* 1400 bytes: not yet a segment */
	for (int i = 7; i < 10; i++)
		ck_assert_int_eq(wr(s, pattern + 100 + 200 * i, 200), 200);
	const struct frame *f = h_conn_expect_data(&h, &c, TH_ACK, pattern + 100, MSS);
	ck_assert_msg(!(f->tcp.flags & TH_PSH), "PSH on a segment that does not empty the queue");
	h_expect_none(&h);                      /* the last 540 bytes wait for an ACK (Nagle) */
	peer_ack(&c, c.rcv_nxt);
	f = h_conn_expect_data(&h, &c, TH_ACK, pattern + 100 + MSS, 2000 - MSS);
	ck_assert(f->tcp.flags & TH_PSH);
	h_expect_none(&h);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MAY-8: our window may stay closed for as long as nobody reads: an hour
 * of the peer's probes, each answered with window 0 and the byte not
 * taken, and the connection is still there. */
START_TEST(test_may8_our_window_stays_closed_while_nobody_reads)
{
	static struct h_conn c;
	struct mtcp_sock *l, *s = zero_window_conn(&l, &c);
	for (int i = 0; i < 6; i++) {
		h_advance(&h, 600 * SEC);
		h_conn_send_ex(&h, &c, c.snd_nxt, TH_ACK, NULL, "p", 1);
		h_conn_expect(&h, &c, TH_ACK, 0);       /* ack unmoved */
		ck_assert_uint_eq(c.stack_wnd, 0);
	}
	ck_assert_int_eq(state_of(s), TCP_ESTABLISHED);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* MAY-12 (RFC 5961 5.2, the lower bound; the upper one:
 * test_tcp_state.c test_ack_beyond_snd_max_is_dropped_with_an_ack): an
 * ACK field below SND.UNA - MAX.SND.WND is a blind injection: the segment
 * is dropped (DROP_TCP_ACK_INVALID) and answered with an ACK; an old
 * ACK field within the window is merely old, its data taken. */
START_TEST(test_may12_ack_below_snd_una_less_the_max_window_is_dropped)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	uint64_t d0 = drops(DROP_TCP_ACK_INVALID);
	char buf[8];

	s = passive_open(l, &c, PEER_PORT, NULL);
	uint32_t una = c.rcv_nxt;
	h_send_tcp(&h, c.sport, c.dport, c.snd_nxt, una - 70000, TH_ACK | TH_PSH, c.win, NULL,
		   "inj", 3);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	ck_assert_uint_eq(drops(DROP_TCP_ACK_INVALID), d0 + 1);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), -EAGAIN);
	h_send_tcp(&h, c.sport, c.dport, c.snd_nxt, una - 1000, TH_ACK | TH_PSH, c.win, NULL,
		   "old", 3);
	c.snd_nxt += 3;
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "old", 3);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- REC-1: sequence numbers wrap -------------------------------------------------- */

/* REC-1 (and RFC 9293 3.4's modulo-2^32 arithmetic): a connection whose
 * sequence numbers cross 2^32 in both directions carries on: the peer
 * starts at 0xffffff00, and the stack's ISN is brought to 0xfffff000 by
 * the clock (RFC 6528: the same 4-tuple, 4 us per step). */
START_TEST(test_rec1_sequence_numbers_wrap_past_2_32_in_both_directions)
{
	static struct h_conn c;
	static char buf[8192];
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	const uint32_t want_iss = 0xfffff000u;

	fill_pattern();
	h_conn_init(&c, PEER_PORT, OUR_PORT, PEER_ISS, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	h_conn_rst(&h, &c);
	h_expect_none(&h);
	h_advance(&h, (uint64_t)(want_iss - c.irs) * 4);

	h_conn_init(&c, PEER_PORT, OUR_PORT, 0xffffff00u, NULL);
	h_conn_send(&h, &c, TH_SYN, NULL, 0);
	h_conn_expect_synack(&h, &c);
	ck_assert_msg(c.irs == want_iss, "ISS %08x, expected %08x", c.irs, want_iss);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	s = h_tcp_accept(&h, l);

	/* The stack sends 8000 bytes: the wrap is 4095 bytes in. */
	ck_assert_int_eq(wr(s, pattern, 8000), 8000);
	uint32_t got = 0;
	while (got < 8000) {
		struct frame f;
		h_advance_until_tcp(&h, &f, 10 * SEC, "data across 2^32");
		ck_assert_msg(f.tcp.seq == c.rcv_nxt && f.data_len > 0, "seq %08x, expected %08x",
			      f.tcp.seq, c.rcv_nxt);
		ck_assert(memcmp(f.data, pattern + got, f.data_len) == 0);
		got += (uint32_t)f.data_len;
		c.rcv_nxt += (uint32_t)f.data_len;
		peer_ack(&c, c.rcv_nxt);
	}
	ck_assert_uint_lt(c.rcv_nxt, 8000);             /* wrapped */
	h_expect_none(&h);
	ck_assert_int_eq(h_tcp_info(s).tcpi_unacked, 0);

	/* The peer sends 3 x 500 bytes: the wrap is 255 bytes in. */
	for (int i = 0; i < 3; i++) {
		h_conn_send(&h, &c, TH_ACK | TH_PSH, pattern + 500 * i, 500);
		h_conn_expect(&h, &c, TH_ACK, 0);
	}
	ck_assert_uint_eq(c.snd_nxt, 0xffffff01u + 1500);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 1500);
	ck_assert(memcmp(buf, pattern, 1500) == 0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* ---- Other RFCs -------------------------------------------------------------------- */

/* RFC 5681 3.1 (row 5681-5), equation 4: on an RTO with ten segments in
 * flight, ssthresh = FlightSize / 2 = 5 segments and cwnd = 1: the
 * timeout resends the first segment alone. */
START_TEST(test_rfc5681_5_rto_sets_ssthresh_half_the_flight_and_cwnd_one_segment)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = ten_segments_out(l, &c);
	h_advance_until_tcp(&h, &f, 10 * SEC, "the RTO");
	ck_assert_msg(f.tcp.seq == c.irs + 1 && f.data_len == MSS, "the RTO did not resend the "
		      "first segment");
	h_expect_none(&h);
	struct tcp_info ti = h_tcp_info(s);
	ck_assert_uint_eq(ti.tcpi_snd_ssthresh, 5);
	ck_assert_uint_eq(ti.tcpi_snd_cwnd, 1);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 5681 4.1 (row 5681-8): after an idle period longer than the RTO,
 * cwnd restarts from min(IW, cwnd): grown to 20 segments, then idle for
 * 2 s, the next burst is ten segments. */
START_TEST(test_rfc5681_8_idle_longer_than_the_rto_restarts_from_the_initial_window)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, NULL);
	ck_assert_int_eq(wr(s, pattern, 30 * MSS), 30 * MSS);
	uint32_t end = c.irs + 1 + 30 * MSS;
	while (SEQ_LT(c.rcv_nxt, end)) {
		next_seg(&f, "slow start");
		c.rcv_nxt = f.tcp.seq + (uint32_t)f.data_len;
		peer_ack(&c, c.rcv_nxt);
	}
	h_expect_none(&h);
	ck_assert_uint_ge(h_tcp_info(s).tcpi_snd_cwnd, 20);
	h_advance(&h, 2 * SEC);
	ck_assert_int_eq(wr(s, pattern, 20 * MSS), 20 * MSS);
	unsigned n = 0;
	while (h_next_tcp(&h, &f))
		n++;
	ck_assert_msg(n == 10, "after 2 s idle %u segments went, expected the initial 10", n);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 6582 3.2 step 3 (row 6582-3), Slow-but-Steady: a partial ACK
 * restarts the retransmission timer. Recovery starts at t0 with an RTO of
 * 200 ms; the partial ACK at t0 + 150 ms resends the next hole at once
 * and moves the timeout to t0 + 350 ms. */
START_TEST(test_rfc6582_3_partial_ack_restarts_the_retransmission_timer)
{
	static struct h_conn c;
	static struct frame f;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, NULL);
	uint32_t d0 = c.irs + 1;
	ck_assert_int_eq(wr(s, pattern, 12 * MSS), 12 * MSS);
	for (int i = 0; i < 10; i++)
		h_conn_expect(&h, &c, TH_ACK, MSS);
	for (int i = 0; i < 3; i++) {
		peer_ack(&c, d0);
		while (h_next_tcp(&h, &f))
			;
	}
	ck_assert(s->tp->t_flags & TF_FASTRECOVERY);
	h_advance(&h, 150 * MS);
	peer_ack(&c, d0 + 3 * MSS);
	next_seg(&f, "the partial ACK's retransmission");
	ck_assert_uint_eq(f.tcp.seq, d0 + 3 * MSS);
	h_expect_none(&h);
	h_advance(&h, 200 * MS - 1);
	h_expect_none(&h);
	h_advance(&h, 1);
	next_seg(&f, "the RTO");
	ck_assert_uint_eq(f.tcp.seq, d0 + 3 * MSS);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 6298 2.2/2.3 (row 6298-7): the clock granularity G = 1 ms is in the
 * formula RTO = SRTT + max(G, 4 * RTTVAR): after forty samples of exactly
 * 300 ms RTTVAR is all but gone and the RTO is 300 + 1 ms. */
START_TEST(test_rfc6298_7_clock_granularity_of_1ms_in_the_rto)
{
	static struct h_conn c;
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;

	s = open_rtt(l, &c, PEER_PORT, NULL, 300 * MS);
	ck_assert_uint_eq(h_tcp_info(s).tcpi_rto, 900000);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(wr(s, "g", 1), 1);
		h_conn_expect(&h, &c, TH_ACK, 1);
		h_advance(&h, 300 * MS);
		peer_ack(&c, c.rcv_nxt);
		h_expect_none(&h);
	}
	struct tcp_info ti = h_tcp_info(s);
	ck_assert_uint_eq(ti.tcpi_rtt, 300000);
	ck_assert_uint_eq(ti.tcpi_rto, 301000);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 7323 3.2 (row 7323-5), the stated deviation: on a connection that
 * uses timestamps, a segment without one is accepted, as Linux does
 * (RFC 7323 says SHOULD drop). */
START_TEST(test_rfc7323_5_segment_without_timestamp_accepted_on_a_timestamp_connection)
{
	static struct h_conn c;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_TS);
	struct tcp_opts none = { 0 };
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[8];

	s = passive_open(l, &c, PEER_PORT, &o);
	ck_assert(c.ts);
	h_conn_send_ex(&h, &c, c.snd_nxt, TH_ACK | TH_PSH, &none, "nots", 4);
	c.snd_nxt += 4;
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 4);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 7323 5.5 (row 7323-9): TS.Recent idle for more than 24 days is no
 * longer valid: after 25 days of silence a segment whose TSval is older
 * (the peer's clock went round) is taken, not dropped by PAWS, and its
 * TSval is echoed from then on. */
START_TEST(test_rfc7323_9_ts_recent_invalid_after_24_days_idle)
{
	static struct h_conn c;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_TS);
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	char buf[8];

	s = passive_open(l, &c, PEER_PORT, &o);
	uint32_t old_ts = (uint32_t)(h.now / MS);
	uint64_t paws = drops(DROP_TCP_PAWS);
	h_advance(&h, 25ULL * 86400 * SEC);
	struct tcp_opts t = h_conn_opts(&h, &c, TH_ACK);
	t.ts_val = old_ts - 5000;
	h_conn_send_ex(&h, &c, c.snd_nxt, TH_ACK | TH_PSH, &t, "late", 4);
	c.snd_nxt += 4;
	const struct frame *f = h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(f->tcp.opt.ts_ecr, old_ts - 5000);
	ck_assert_uint_eq(drops(DROP_TCP_PAWS), paws);
	ck_assert_int_eq(rd(s, buf, sizeof(buf)), 4);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 6675 2 and 5 (row "6675"): with SACK an ACK that reports newly
 * SACKed data is a duplicate whatever its window says (three of them,
 * each with another window, start recovery), and more than 3 * SMSS
 * SACKed above SND.UNA means a loss at once: one ACK SACKing four
 * segments resends the first. */
START_TEST(test_rfc6675_sack_duplicates_and_loss_after_3_smss_sacked)
{
	static struct h_conn c, d;
	static struct frame f;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_SACK);
	struct mtcp_sock *l = listener(OUR_PORT, false), *s, *t;

	fill_pattern();
	s = passive_open(l, &c, PEER_PORT, &o);
	uint32_t d0 = c.irs + 1;
	ck_assert_int_eq(wr(s, pattern, 10 * MSS), 10 * MSS);
	for (int i = 0; i < 10; i++)
		h_conn_expect(&h, &c, TH_ACK, MSS);
	for (int k = 1; k <= 3; k++) {
		struct tcp_repr r = {
			.sport = c.sport, .dport = c.dport, .seq = c.snd_nxt, .ack = d0,
			.flags = TH_ACK, .win = (uint16_t)(60000 + 1000 * k),
			.opt = { .nsack = 1, .sack = { { d0 + MSS, d0 + (uint32_t)(k + 1) * MSS } } },
		};
		h_send_tcp_repr(&h, &r, NULL, 0);
		bool resent = false;
		while (h_next_tcp(&h, &f))
			resent |= f.tcp.seq == d0 && f.data_len == MSS;
		ck_assert_msg(resent == (k == 3), "duplicate ACK %d (a new SACK block, another "
			      "window): the first segment resent: %d", k, resent);
	}
	h_tcp_abort(&h, s);

	t = passive_open(l, &d, PEER_PORT + 1, &o);
	d0 = d.irs + 1;
	ck_assert_int_eq(wr(t, pattern, 10 * MSS), 10 * MSS);
	for (int i = 0; i < 10; i++)
		h_conn_expect(&h, &d, TH_ACK, MSS);
	struct tcp_repr r = {
		.sport = d.sport, .dport = d.dport, .seq = d.snd_nxt, .ack = d0,
		.flags = TH_ACK, .win = d.win,
		.opt = { .nsack = 1, .sack = { { d0 + MSS, d0 + 5 * MSS } } },
	};
	h_send_tcp_repr(&h, &r, NULL, 0);
	next_seg(&f, "recovery after one ACK SACKing 4 segments");
	ck_assert_msg(f.tcp.seq == d0 && f.data_len == MSS, "not the first segment resent");
	h_tcp_abort(&h, t);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 8985 7.2 (row "8985-7"): the tail loss probe. SRTT 300 ms (RTTVAR
 * 150, RTO 900 ms). With three segments in flight and nothing new to
 * send, PTO = 2 * SRTT + 2 ms = 602 ms: the last segment is sent again
 * then, before the RTO and not counted as one. With one segment in
 * flight the peer's delayed ACK is allowed for: PTO = 802 ms. */
START_TEST(test_rfc8985_7_tail_loss_probe_after_2_srtt)
{
	static struct h_conn c, d;
	static struct frame f;
	struct tcp_opts o = tf_syn_opts(TF_OPTS_SACK);
	struct mtcp_sock *l = listener(OUR_PORT, false), *s;
	uint64_t rto0 = stats().tcp_timeouts;

	fill_pattern();
	s = open_rtt(l, &c, PEER_PORT, &o, 300 * MS);
	ck_assert_uint_eq(h_tcp_info(s).tcpi_rto, 900000);
	ck_assert_int_eq(wr(s, pattern, 3 * MSS), 3 * MSS);
	for (int i = 0; i < 3; i++)
		h_conn_expect(&h, &c, TH_ACK, MSS);
	ck_assert_uint_eq(h_advance_until_tcp(&h, &f, 5 * SEC, "the probe"), 602 * MS);
	ck_assert_msg(f.tcp.seq == c.rcv_nxt - MSS && f.data_len == MSS,
		      "the probe is not the last segment");
	ck_assert_uint_eq(stats().tcp_timeouts, rto0);
	h_tcp_abort(&h, s);

	s = open_rtt(l, &d, PEER_PORT + 1, &o, 300 * MS);
	ck_assert_int_eq(wr(s, "tail", 4), 4);
	h_conn_expect(&h, &d, TH_ACK, 4);
	ck_assert_uint_eq(h_advance_until_tcp(&h, &f, 5 * SEC, "the probe"), 802 * MS);
	ck_assert_msg(f.tcp.seq == d.rcv_nxt - 4 && f.data_len == 4, "the probe is not the "
		      "segment in flight");
	ck_assert_uint_eq(stats().tcp_timeouts, rto0);
	h_tcp_abort(&h, s);
	h_tcp_close_last(&h, l);
}
END_TEST

/* RFC 6056 3.3 (row 6056-3): a port in use is skipped, and with every
 * ephemeral port taken connect() says EADDRNOTAVAIL (as Linux). Every port
 * of 32768..60999 but 40000 is bound; the connection gets 40000; the next
 * one finds none. */
START_TEST(test_rfc6056_3_busy_ports_skipped_then_eaddrnotavail)
{
	enum { LO = 32768, HI = 60999, FREE = 40000 };
	static struct mtcp_sock *held[HI - LO + 1];
	static struct frame syn;
	struct mtcp_sock *a, *b;

	for (unsigned p = LO; p <= HI; p++) {
		if (p == FREE)
			continue;
		ck_assert_int_eq(mtcp_socket(h.st, SOCK_STREAM, &held[p - LO]), 0);
		ck_assert_int_eq(bind_to(held[p - LO], INADDR_ANY, (uint16_t)p), 0);
	}
	a = h_tcp_socket(&h);
	ck_assert_int_eq(h_sock_connect(a, PEER_IP, PEER_PORT), -EINPROGRESS);
	ck_assert_uint_eq(ntohs(local_addr(a).sin_port), FREE);
	next_seg(&syn, "connect");
	ck_assert_uint_eq(syn.tcp.sport, FREE);
	b = h_tcp_socket(&h);
	ck_assert_int_eq(h_sock_connect(b, PEER_IP, PEER_PORT), -EADDRNOTAVAIL);
	h_expect_none(&h);
	mtcp_close(a);
	mtcp_close(b);
	for (unsigned p = LO; p <= HI; p++)
		if (p != FREE)
			mtcp_close(held[p - LO]);
	ck_assert_uint_eq(h_tcp_pcbs(&h), 0);
}
END_TEST

static Suite *tcp_conformance_suite(void)
{
	Suite *s = suite_create("tcp_conformance");
	TCase *tc;

	tc = tcase_create("header");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_must1_window_field_is_unsigned);
	tcase_add_test(tc, test_must2_every_segment_sent_carries_a_valid_checksum);
	tcase_add_test(tc, test_must3_segment_with_a_bad_checksum_is_dropped_unanswered);
	tcase_add_test(tc, test_must5_options_accepted_on_segments_without_syn);
	tcase_add_test(tc, test_must6_unknown_option_with_a_length_is_skipped);
	tcase_add_test(tc, test_must7_illegal_option_length_is_dropped_without_a_reply);
	tcase_add_test(tc, test_must65_no_mss_option_on_segments_without_syn);
	tcase_add_test(tc, test_must67_mss_announced_is_the_mtu_less_40);
	tcase_add_test(tc, test_shld5_every_syn_carries_the_mss_option);
	tcase_add_test(tc, test_rec1_sequence_numbers_wrap_past_2_32_in_both_directions);
	suite_add_tcase(s, tc);

	tc = tcase_create("timers");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_must19_backed_off_rto_kept_until_new_data_is_acked_without_retransmission);
	tcase_add_test(tc, test_must20_r1_third_retransmission_gives_ip_negative_advice);
	tcase_add_test(tc, test_must22_r1_third_syn_retransmission_gives_ip_negative_advice);
	tcase_add_test(tc, test_must24_25_28_keepalive_off_by_default_switchable_two_hours);
	tcase_add_test(tc, test_must26_no_keepalive_while_segments_arrive_or_data_is_outstanding);
	tcase_add_test(tc, test_rfc5681_5_rto_sets_ssthresh_half_the_flight_and_cwnd_one_segment);
	tcase_add_test(tc, test_rfc5681_8_idle_longer_than_the_rto_restarts_from_the_initial_window);
	tcase_add_test(tc, test_rfc6582_3_partial_ack_restarts_the_retransmission_timer);
	tcase_add_test(tc, test_rfc6298_7_clock_granularity_of_1ms_in_the_rto);
	tcase_add_test(tc, test_rfc7323_5_segment_without_timestamp_accepted_on_a_timestamp_connection);
	tcase_add_test(tc, test_rfc7323_9_ts_recent_invalid_after_24_days_idle);
	tcase_add_test(tc, test_rfc6675_sack_duplicates_and_loss_after_3_smss_sacked);
	tcase_add_test(tc, test_rfc8985_7_tail_loss_probe_after_2_srtt);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_must34_35_window_shrunk_to_zero_is_survived_and_probed);
	tcase_add_test(tc, test_shld15_16_after_a_shrink_nothing_past_the_edge_and_the_window_is_resent);
	tcase_add_test(tc, test_must38_sws_override_timeout_sends_into_a_small_window);
	tcase_add_test(tc, test_must58_59_segments_queued_together_draw_one_ack);
	tcase_add_test(tc, test_must66_rst_processed_with_a_zero_receive_window);
	tcase_add_test(tc, test_shld2_rst_carrying_data_is_accepted);
	tcase_add_test(tc, test_shld27_28_small_writes_go_out_as_full_segments);
	tcase_add_test(tc, test_may8_our_window_stays_closed_while_nobody_reads);
	tcase_add_test(tc, test_may12_ack_below_snd_una_less_the_max_window_is_dropped);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_must41_a_passive_open_never_disturbs_an_existing_connection);
	tcase_add_test(tc, test_must42_listen_on_a_port_whose_connection_is_in_syn_sent_or_syn_received);
	tcase_add_test(tc, test_must43_connect_from_the_local_address_bound);
	tcase_add_test(tc, test_must44_45_local_address_chosen_before_the_syn_and_kept);
	tcase_add_test(tc, test_must46_connect_to_broadcast_or_multicast_is_refused);
	tcase_add_test(tc, test_must48_shld21_22_ip_tos_marks_every_segment);
	tcase_add_test(tc, test_must49_ip_ttl_of_segments_is_configurable);
	tcase_add_test(tc, test_rfc6056_3_busy_ports_skipped_then_eaddrnotavail);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip_icmp");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_must47_shld25_soft_icmp_error_reported_when_the_connection_fails);
	tcase_add_test(tc, test_must50_ip_options_on_tcp_segments_are_ignored);
	tcase_add_test(tc, test_must51_no_ip_options_for_the_application);
	tcase_add_test(tc, test_must53_source_routed_datagram_is_dropped);
	tcase_add_test(tc, test_must54_icmp_error_reaches_only_the_connection_it_quotes);
	tcase_add_test(tc, test_must55_source_quench_is_silently_discarded);
	tcase_add_test(tc, test_must56_soft_icmp_errors_do_not_abort_an_established_connection);
	tcase_add_test(tc, test_must56_soft_icmp_errors_do_not_abort_syn_sent);
	tcase_add_test(tc, test_must56_parameter_problem_does_not_abort_syn_sent);
	tcase_add_test(tc, test_must56_parameter_problem_does_not_abort_syn_received);
	tcase_add_test(tc, test_must57_syn_to_broadcast_or_multicast_is_silently_dropped);
	tcase_add_test(tc, test_must63_syn_from_a_broadcast_or_multicast_source_is_dropped);
	tcase_add_test(tc, test_must63_syn_from_this_host_0_0_0_0_is_ignored);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tcp_conformance_suite)
