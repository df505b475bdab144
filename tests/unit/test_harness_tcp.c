/*
 * test_harness_tcp.c - the TCP test scaffolding itself: the segment builder
 * and parser of stack_harness, the peer-side connection helpers (checked on
 * the wire, with the stack paused and the test writing its end of the
 * link), and the two-stack pair (clock, impairment, UDP between the
 * stacks). The last case is a smoke test of the real TCP through them.
 */
#include <check.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_pair.h"
#include "wire_testutil.h"

#define PEER_PORT       40000
#define OUR_PORT        80

static struct harness h;

static void setup(void) { h_setup(&h); }
static void teardown(void) { h_teardown(&h); }

/* A segment with every option the builder knows. */
static struct tcp_opts all_opts(void)
{
	struct tcp_opts o = {
		.has_mss = true, .mss = 1460,
		.sack_permitted = true,
		.has_ts = true, .ts_val = 0x01020304, .ts_ecr = 0xa0b0c0d0,
		.has_wscale = true, .wscale = 7,
	};

	return o;
}

static void assert_opts_eq(const struct tcp_opts *got, const struct tcp_opts *want)
{
	ck_assert_int_eq(got->has_mss, want->has_mss);
	if (want->has_mss)
		ck_assert_uint_eq(got->mss, want->mss);
	ck_assert_int_eq(got->sack_permitted, want->sack_permitted);
	ck_assert_int_eq(got->has_ts, want->has_ts);
	if (want->has_ts) {
		ck_assert_uint_eq(got->ts_val, want->ts_val);
		ck_assert_uint_eq(got->ts_ecr, want->ts_ecr);
	}
	ck_assert_int_eq(got->has_wscale, want->has_wscale);
	if (want->has_wscale)
		ck_assert_uint_eq(got->wscale, want->wscale);
	ck_assert_uint_eq(got->nsack, want->nsack);
	for (unsigned i = 0; i < want->nsack; i++) {
		ck_assert_uint_eq(got->sack[i].left, want->sack[i].left);
		ck_assert_uint_eq(got->sack[i].right, want->sack[i].right);
	}
}

/* Build r + data with h_build_tcp, check the IPv4 header and the checksum
 * independently, parse the segment back into out; returns the payload. */
static const uint8_t *build_and_parse(uint8_t *pkt, const struct tcp_repr *r, const void *data,
				      size_t len, struct tcp_repr *out)
{
	struct ipv4_repr ip;
	size_t n = h_build_tcp(&h, pkt, PEER_IP, STACK_IP, r, data, len);

	ck_assert_uint_eq(n, IPV4_HLEN + tcp_header_len(r) + len);
	ck_assert_int_eq(ipv4_parse(pkt, n, &ip), WIRE_OK);
	ck_assert_uint_eq(ip.proto, IPPROTO_TCP_);
	ck_assert_uint_eq(ip.src, PEER_IP);
	ck_assert_uint_eq(ip.dst, STACK_IP);
	ck_assert_uint_eq(ip.total_len, n);
	/* A naive sum over pseudo-header and segment, checksum included. */
	ck_assert_uint_eq(ref_csum_pseudo(PEER_IP, STACK_IP, IPPROTO_TCP_, pkt + IPV4_HLEN,
					  n - IPV4_HLEN), 0);
	ck_assert_int_eq(tcp_parse(pkt + IPV4_HLEN, n - IPV4_HLEN, PEER_IP, STACK_IP, out),
			 WIRE_OK);
	ck_assert_uint_eq(out->hlen, tcp_header_len(r));
	return pkt + IPV4_HLEN + out->hlen;
}

/* --- the builder and the parser --- */

START_TEST(test_build_tcp_round_trips_header_and_payload)
{
	static uint8_t pkt[IPV4_MAXLEN];
	struct tcp_repr r = {
		.sport = PEER_PORT, .dport = OUR_PORT, .seq = 0xfffffff0, .ack = 0x12345678,
		.flags = TH_ACK | TH_PSH, .win = 4321, .urp = 0,
	}, out;
	const uint8_t *payload = build_and_parse(pkt, &r, "hello", 5, &out);

	ck_assert_uint_eq(out.sport, PEER_PORT);
	ck_assert_uint_eq(out.dport, OUR_PORT);
	ck_assert_uint_eq(out.seq, 0xfffffff0);
	ck_assert_uint_eq(out.ack, 0x12345678);
	ck_assert_uint_eq(out.flags, TH_ACK | TH_PSH);
	ck_assert_uint_eq(out.win, 4321);
	ck_assert_uint_eq(out.hlen, TCP_HLEN);
	ck_assert_mem_eq(payload, "hello", 5);
	assert_opts_eq(&out.opt, &r.opt);
}
END_TEST

START_TEST(test_build_tcp_round_trips_syn_options)
{
	static uint8_t pkt[IPV4_MAXLEN];
	struct tcp_repr r = {
		.sport = PEER_PORT, .dport = OUR_PORT, .seq = 1000, .flags = TH_SYN,
		.win = 65535, .opt = all_opts(),
	}, out;

	build_and_parse(pkt, &r, NULL, 0, &out);
	ck_assert_uint_eq(out.flags, TH_SYN);
	ck_assert_uint_eq(out.hlen, 40);        /* Linux's 20-byte SYN option block */
	assert_opts_eq(&out.opt, &r.opt);
}
END_TEST

START_TEST(test_build_tcp_round_trips_sack_blocks_with_data)
{
	static uint8_t pkt[IPV4_MAXLEN];
	static uint8_t data[1400];
	struct tcp_repr r = {
		.sport = PEER_PORT, .dport = OUR_PORT, .seq = 7, .ack = 9, .flags = TH_ACK,
		.win = 1000,
		.opt = { .has_ts = true, .ts_val = 5, .ts_ecr = 6, .nsack = 3,
			 .sack = { { 100, 200 }, { 300, 400 }, { 0xfffffff0, 0x10 } } },
	}, out;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	const uint8_t *payload = build_and_parse(pkt, &r, data, sizeof(data), &out);
	assert_opts_eq(&out.opt, &r.opt);
	ck_assert_mem_eq(payload, data, sizeof(data));
}
END_TEST

/* A frame as the stack would put it on the link: STACK -> PEER. */
static size_t stack_frame(uint8_t *frame, const struct tcp_repr *r, const void *data, size_t len)
{
	struct eth_repr eth = { .type = ETHERTYPE_IPV4 };

	memcpy(eth.dst, PEER_MAC, 6);
	memcpy(eth.src, STACK_MAC, 6);
	eth_emit(&eth, frame);
	return ETH_HLEN + h_build_tcp(&h, frame + ETH_HLEN, STACK_IP, PEER_IP, r, data, len);
}

START_TEST(test_frame_parse_reads_tcp_and_its_payload)
{
	static struct frame f;
	struct tcp_repr r = {
		.sport = OUR_PORT, .dport = PEER_PORT, .seq = 1, .ack = 2,
		.flags = TH_ACK | TH_FIN, .win = 100, .opt = { .has_ts = true, .ts_val = 3 },
	};
	size_t n = stack_frame(f.buf, &r, "bye", 3);

	ck_assert_ptr_null(h_frame_parse(&f, n));
	ck_assert(f.is_ip && f.is_tcp && !f.is_udp && !f.is_icmp && !f.is_arp);
	ck_assert_uint_eq(f.len, n);
	ck_assert_uint_eq(f.tcp.sport, OUR_PORT);
	ck_assert_uint_eq(f.tcp.flags, TH_ACK | TH_FIN);
	ck_assert(f.tcp.opt.has_ts);
	ck_assert_uint_eq(f.data_len, 3);
	ck_assert_mem_eq(f.data, "bye", 3);
	ck_assert_uint_eq(f.l4_len, f.tcp.hlen + 3u);
}
END_TEST

START_TEST(test_frame_parse_reports_a_bad_tcp_checksum)
{
	static struct frame f;
	struct tcp_repr r = { .sport = OUR_PORT, .dport = PEER_PORT, .flags = TH_ACK };
	size_t n = stack_frame(f.buf, &r, "x", 1);
	const char *err;

	f.buf[n - 1] ^= 0x40;   /* the payload: the IPv4 header stays valid */
	err = h_frame_parse(&f, n);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "TCP") && strstr(err, wire_strerror(WIRE_ECSUM)),
		      "message \"%s\" names neither TCP nor the checksum", err);
	ck_assert(!f.is_tcp);
}
END_TEST

START_TEST(test_tcp_flags_are_spelled_like_tcpdump)
{
	char b[H_FLAGS_LEN];

	ck_assert_str_eq(h_tcp_flags(TH_SYN, b), "S");
	ck_assert_str_eq(h_tcp_flags(TH_SYN | TH_ACK, b), "S.");
	ck_assert_str_eq(h_tcp_flags(TH_RST, b), "R");
	ck_assert_str_eq(h_tcp_flags(TH_RST | TH_ACK, b), "R.");
	ck_assert_str_eq(h_tcp_flags(TH_ACK, b), ".");
	ck_assert_str_eq(h_tcp_flags(TH_FIN | TH_PSH | TH_ACK, b), "FP.");
	ck_assert_str_eq(h_tcp_flags(TH_SYN | TH_ECE | TH_CWR, b), "SEW");
	ck_assert_str_eq(h_tcp_flags(0xff, b), "FSRP.UEW");
	ck_assert_str_eq(h_tcp_flags(0, b), "none");
}
END_TEST

START_TEST(test_tcp_describe_says_everything_on_one_line)
{
	static struct frame f;
	struct tcp_repr r = {
		.sport = OUR_PORT, .dport = PEER_PORT, .seq = 1, .ack = 1001,
		.flags = TH_SYN | TH_ACK, .win = 65535, .opt = all_opts(),
	};
	char buf[200];

	ck_assert_ptr_null(h_frame_parse(&f, stack_frame(f.buf, &r, NULL, 0)));
	ck_assert_str_eq(h_tcp_describe(&f, buf, sizeof(buf)),
			 "80>40000 S. seq=1 ack=1001 win=65535 len=0 "
			 "<mss 1460,sackOK,ts 16909060 2695938256,ws 7>");
	r = (struct tcp_repr){ .sport = 1, .dport = 2, .seq = 3, .flags = TH_RST };
	ck_assert_ptr_null(h_frame_parse(&f, stack_frame(f.buf, &r, "ab", 2)));
	ck_assert_str_eq(h_tcp_describe(&f, buf, sizeof(buf)),
			 "1>2 R seq=3 ack=0 win=0 len=2");
	/* Cut short, still a string. */
	ck_assert_str_eq(h_tcp_describe(&f, buf, 6), "1>2 R");
}
END_TEST

/* --- the peer helpers, on the wire: the stack is paused and the test
 * writes and reads the stack's end of the link itself --- */

static void paused_setup(void)
{
	h_setup(&h);
	h.paused = true;
}

/* Put a frame on the link as the stack would. */
static void as_stack_send(const uint8_t *frame, size_t len)
{
	ck_assert_int_eq(netdev_send(h.st->dev, frame, len, h.now), 0);
}

static void as_stack_send_tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			      uint8_t flags, uint16_t win, const struct tcp_opts *opt,
			      const void *data, size_t len)
{
	static uint8_t frame[ETH_HLEN + IPV4_MAXLEN];
	struct tcp_repr r = {
		.sport = sport, .dport = dport, .seq = seq, .ack = ack, .flags = flags,
		.win = win,
	};

	if (opt)
		r.opt = *opt;
	as_stack_send(frame, stack_frame(frame, &r, data, len));
}

/* What the peer sent, read at the stack's end. */
static bool as_stack_next(struct frame *f)
{
	ssize_t n = netdev_recv(h.st->dev, f->buf, sizeof(f->buf), h.now);
	const char *err;

	if (n <= 0)
		return false;
	err = h_frame_parse(f, (size_t)n);
	ck_assert_msg(err == NULL, "the peer sent a bad frame: %s", err);
	return true;
}

static void as_stack_expect_tcp(struct frame *f, uint8_t flags, uint32_t seq, uint32_t ack)
{
	char got[200], fl[H_FLAGS_LEN];

	ck_assert_msg(as_stack_next(f), "the peer sent nothing, expected %s",
		      h_tcp_flags(flags, fl));
	ck_assert_msg(f->is_tcp && f->ip.src == PEER_IP && f->ip.dst == STACK_IP &&
		      f->tcp.flags == flags && f->tcp.seq == seq && f->tcp.ack == ack,
		      "expected %s seq=%u ack=%u from the peer, got %s", h_tcp_flags(flags, fl),
		      seq, ack, h_tcp_describe(f, got, sizeof(got)));
}

START_TEST(test_next_tcp_skips_other_frames_and_answers_arp)
{
	static uint8_t frame[ETH_HLEN + IPV4_MAXLEN];
	static struct frame f;
	struct eth_repr eth = { .type = ETHERTYPE_ARP };
	struct arp_repr a = { .op = ARP_OP_REQUEST, .spa = STACK_IP, .tpa = PEER_IP };

	/* The stack asks for the peer, sends a UDP datagram, then a segment. */
	memcpy(eth.dst, eth_broadcast, 6);
	memcpy(eth.src, STACK_MAC, 6);
	memcpy(a.sha, STACK_MAC, 6);
	eth_emit(&eth, frame);
	arp_emit(&a, frame + ETH_HLEN);
	as_stack_send(frame, ETH_HLEN + ARP_LEN);
	eth.type = ETHERTYPE_IPV4;
	memcpy(eth.dst, PEER_MAC, 6);
	eth_emit(&eth, frame);
	as_stack_send(frame, ETH_HLEN + h_build_udp(&h, frame + ETH_HLEN, STACK_IP, PEER_IP,
						     53, 53, "q", 1));
	as_stack_send_tcp(OUR_PORT, PEER_PORT, 5, 6, TH_ACK | TH_PSH, 1000, NULL, "z", 1);

	ck_assert(h_next_tcp(&h, &f));
	ck_assert_uint_eq(h.skipped, 2);
	ck_assert_uint_eq(f.tcp.seq, 5);
	ck_assert_uint_eq(f.data_len, 1);
	ck_assert(!h_next_tcp(&h, &f));

	/* The peer answered the ARP request. */
	ck_assert(as_stack_next(&f));
	ck_assert(f.is_arp);
	ck_assert_uint_eq(f.arp.op, ARP_OP_REPLY);
	ck_assert_uint_eq(f.arp.spa, PEER_IP);
	ck_assert_uint_eq(f.arp.tpa, STACK_IP);
	ck_assert_mem_eq(f.arp.sha, PEER_MAC, 6);
	ck_assert(!as_stack_next(&f));
}
END_TEST

START_TEST(test_expect_tcp_matches_control_flags_and_ignores_psh)
{
	static struct frame f;

	as_stack_send_tcp(OUR_PORT, PEER_PORT, 100, 200, TH_ACK | TH_PSH, 1000, NULL, "ab", 2);
	as_stack_send_tcp(OUR_PORT, PEER_PORT, 102, 0, TH_RST, 0, NULL, NULL, 0);
	h_expect_tcp(&h, &f, TH_ACK, 100, 200);
	ck_assert_uint_eq(f.data_len, 2);
	h_expect_tcp(&h, NULL, TH_RST, 102, 12345);     /* ack not compared without ACK */
	h_expect_none(&h);
}
END_TEST

/* What the test's peer offers on its SYN in the handshake tests. */
static struct tcp_opts peer_syn_opts(void)
{
	struct tcp_opts o = all_opts();

	o.ts_val = 0;   /* h_conn fills in the timestamps */
	o.ts_ecr = 0;
	return o;
}

/* The stack's SYN-ACK for test_conn_connect_*: ISS 5000, MSS 1400, WS 5,
 * TS 777 echoing the peer's SYN. */
static void stack_synack_ahead(uint32_t peer_iss)
{
	struct tcp_opts o = {
		.has_mss = true, .mss = 1400, .has_wscale = true, .wscale = 5,
		.has_ts = true, .ts_val = 777, .ts_ecr = (uint32_t)(h.now / USEC_PER_MSEC),
	};

	as_stack_send_tcp(OUR_PORT, PEER_PORT, 5000, peer_iss + 1, TH_SYN | TH_ACK, 29200, &o,
			  NULL, 0);
}

START_TEST(test_conn_connect_does_the_handshake_on_the_wire)
{
	static struct frame f;
	static struct h_conn c;
	struct tcp_opts o = peer_syn_opts();
	uint32_t ms = (uint32_t)(h.now / USEC_PER_MSEC);

	stack_synack_ahead(1000);
	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 1000, &o);

	/* The peer's SYN, with its options and TSecr 0 ... */
	as_stack_expect_tcp(&f, TH_SYN, 1000, 0);
	ck_assert_uint_eq(f.tcp.dport, OUR_PORT);
	ck_assert_uint_eq(f.tcp.win, 65535);
	o.ts_val = ms;
	assert_opts_eq(&f.tcp.opt, &o);
	/* ... and its ACK of the SYN-ACK, with a timestamp echoing 777. */
	as_stack_expect_tcp(&f, TH_ACK, 1001, 5001);
	ck_assert(f.tcp.opt.has_ts && !f.tcp.opt.has_mss && !f.tcp.opt.has_wscale);
	ck_assert_uint_eq(f.tcp.opt.ts_val, ms);
	ck_assert_uint_eq(f.tcp.opt.ts_ecr, 777);
	ck_assert(!as_stack_next(&f));

	ck_assert_uint_eq(c.iss, 1000);
	ck_assert_uint_eq(c.irs, 5000);
	ck_assert_uint_eq(c.snd_nxt, 1001);
	ck_assert_uint_eq(c.rcv_nxt, 5001);
	ck_assert(c.ts);
	ck_assert_uint_eq(c.wscale, 7);
	ck_assert_uint_eq(c.stack_wscale, 5);
	ck_assert_uint_eq(c.ts_recent, 777);
	ck_assert_uint_eq(c.stack_wnd, 29200);          /* a SYN's window is not scaled */
	ck_assert_uint_eq(c.stack_opts.mss, 1400);
	ck_assert_uint_eq(c.last.tcp.seq, 5000);
}
END_TEST

START_TEST(test_conn_without_stack_timestamps_sends_none)
{
	static struct frame f;
	static struct h_conn c;
	struct tcp_opts o = peer_syn_opts();

	/* The stack's SYN-ACK has MSS only: no timestamps, no scaling. */
	struct tcp_opts so = { .has_mss = true, .mss = 536 };
	as_stack_send_tcp(OUR_PORT, PEER_PORT, 1, 1001, TH_SYN | TH_ACK, 8192, &so, NULL, 0);
	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 1000, &o);
	ck_assert(!c.ts);
	ck_assert_uint_eq(c.wscale, 0);
	ck_assert_uint_eq(c.stack_wscale, 0);
	as_stack_expect_tcp(&f, TH_SYN, 1000, 0);
	as_stack_expect_tcp(&f, TH_ACK, 1001, 2);
	ck_assert(!f.tcp.opt.has_ts);
}
END_TEST

START_TEST(test_conn_send_and_expect_track_both_sequence_spaces)
{
	static struct frame f;
	static struct h_conn c;
	struct tcp_opts o = peer_syn_opts();
	struct tcp_opts ts = { .has_ts = true, .ts_val = 900 };

	stack_synack_ahead(0xfffffffe);         /* the peer's seq wraps */
	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 0xfffffffe, &o);
	as_stack_next(&f);
	as_stack_next(&f);

	/* The peer sends 5 bytes across the wrap. */
	h_conn_send(&h, &c, TH_ACK | TH_PSH, "hello", 5);
	ck_assert_uint_eq(c.snd_nxt, 4);
	as_stack_expect_tcp(&f, TH_ACK | TH_PSH, 0xffffffff, 5001);
	ck_assert_uint_eq(f.data_len, 5);
	ck_assert_mem_eq(f.data, "hello", 5);
	ck_assert_uint_eq(f.tcp.win, 65535);

	/* The stack answers with 3 bytes and a scaled window. */
	ts.ts_ecr = f.tcp.opt.ts_val;
	as_stack_send_tcp(OUR_PORT, PEER_PORT, 5001, 4, TH_ACK | TH_PSH, 100, &ts, "abc", 3);
	h_conn_expect_data(&h, &c, TH_ACK, "abc", 3);
	ck_assert_uint_eq(c.rcv_nxt, 5004);
	ck_assert_uint_eq(c.stack_wnd, 100u << 5);
	ck_assert_uint_eq(c.ts_recent, 900);

	/* A retransmission at an older seq leaves snd_nxt alone and echoes
	 * the latest TSval. */
	h_conn_send_ex(&h, &c, 0xffffffff, TH_ACK, NULL, "h", 1);
	as_stack_expect_tcp(&f, TH_ACK, 0xffffffff, 5004);
	ck_assert_uint_eq(c.snd_nxt, 4);
	ck_assert_uint_eq(f.tcp.opt.ts_ecr, 900);

	/* FINs count one each way. */
	ts.ts_val = 901;
	as_stack_send_tcp(OUR_PORT, PEER_PORT, 5004, 4, TH_ACK | TH_FIN, 100, &ts, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK | TH_FIN, 0);
	ck_assert_uint_eq(c.rcv_nxt, 5005);
	h_conn_send(&h, &c, TH_ACK | TH_FIN, NULL, 0);
	ck_assert_uint_eq(c.snd_nxt, 5);
	as_stack_expect_tcp(&f, TH_ACK | TH_FIN, 4, 5005);
	ck_assert_uint_eq(f.tcp.opt.ts_ecr, 901);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_conn_from_syn_offers_only_what_the_stack_offered)
{
	static struct frame f, syn;
	static struct h_conn c;
	struct tcp_opts so = { .has_mss = true, .mss = 1460, .has_ts = true, .ts_val = 4242 };
	struct tcp_opts o = peer_syn_opts();

	as_stack_send_tcp(33000, 7, 7000, 0, TH_SYN, 64240, &so, NULL, 0);
	ck_assert(h_next_tcp(&h, &syn));
	h_conn_from_syn(&h, &c, &syn, 9000, &o);

	ck_assert_uint_eq(c.sport, 7);
	ck_assert_uint_eq(c.dport, 33000);
	ck_assert_uint_eq(c.irs, 7000);
	ck_assert_uint_eq(c.rcv_nxt, 7001);
	ck_assert_uint_eq(c.snd_nxt, 9001);
	ck_assert(c.ts);
	ck_assert_uint_eq(c.wscale, 0);
	ck_assert_uint_eq(c.ts_recent, 4242);
	as_stack_expect_tcp(&f, TH_SYN | TH_ACK, 9000, 7001);
	ck_assert_uint_eq(f.tcp.sport, 7);
	ck_assert_uint_eq(f.tcp.dport, 33000);
	ck_assert(f.tcp.opt.has_mss && f.tcp.opt.has_ts);
	ck_assert(!f.tcp.opt.has_wscale && !f.tcp.opt.sack_permitted);
	ck_assert_uint_eq(f.tcp.opt.ts_ecr, 4242);

	/* The stack's ACK completes it. */
	so = (struct tcp_opts){ .has_ts = true, .ts_val = 4243, .ts_ecr = f.tcp.opt.ts_val };
	as_stack_send_tcp(33000, 7, 7001, 9001, TH_ACK, 502, &so, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_uint_eq(c.stack_wnd, 502);
	ck_assert_uint_eq(c.ts_recent, 4243);
}
END_TEST

/* --- two stacks --- */

static struct pair p;

static struct mtcp_sock *pair_udp(struct stack *st, uint16_t port)
{
	struct mtcp_sock *s;
	struct sockaddr_in a = h_sin(0, port);

	ck_assert_int_eq(mtcp_socket(st, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	return s;
}

static void udp_to(struct mtcp_sock *s, uint32_t addr, uint16_t port, const void *d, size_t n)
{
	struct sockaddr_in to = h_sin(addr, port);

	ck_assert_int_eq(mtcp_sendto(s, d, n, 0, &to), (ssize_t)n);
}

START_TEST(test_pair_setup_and_teardown_leave_nothing)
{
	pair_setup(&p, NULL, 0);
	ck_assert_ptr_nonnull(p.a);
	ck_assert_ptr_nonnull(p.b);
	ck_assert_ptr_null(p.imp);
	ck_assert_uint_eq(p.mtu, 1500);
	ck_assert(!pair_poll(&p));              /* nothing to do, nothing moved */
	pair_teardown(&p);
}
END_TEST

START_TEST(test_pair_moves_udp_both_ways)
{
	struct mtcp_sock *a, *b;
	struct sockaddr_in from;
	char buf[16];
	uint64_t t0;

	pair_setup(&p, NULL, 0);
	a = pair_udp(p.a, 5000);
	b = pair_udp(p.b, 7);
	t0 = p.now;
	udp_to(a, PAIR_B_IP, 7, "ping", 4);
	pair_run(&p, 10 * USEC_PER_MSEC);
	ck_assert_uint_eq(p.now, t0 + 10 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), 0, &from), 4);
	ck_assert_mem_eq(buf, "ping", 4);
	ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), PAIR_A_IP);
	ck_assert_uint_eq(ntohs(from.sin_port), 5000);

	/* Both have resolved each other: the answer needs one poll. */
	ck_assert_int_eq(mtcp_sendto(b, "pong", 4, 0, &from), 4);
	ck_assert(pair_poll(&p));
	ck_assert_int_eq(mtcp_recvfrom(a, buf, sizeof(buf), 0, NULL), 4);
	ck_assert_mem_eq(buf, "pong", 4);
	ck_assert_int_eq(mtcp_recvfrom(a, buf, sizeof(buf), 0, NULL), -EAGAIN);
	mtcp_close(a);
	mtcp_close(b);
	pair_teardown(&p);
}
END_TEST

static bool never(void *ctx)
{
	(*(unsigned *)ctx)++;
	return false;
}

static bool third_call(void *ctx)
{
	return ++*(unsigned *)ctx == 3;
}

START_TEST(test_pair_run_until_steps_the_clock_when_idle)
{
	unsigned calls = 0;
	uint64_t t0;

	pair_setup(&p, NULL, 0);
	t0 = p.now;
	ck_assert(!pair_run_until(&p, never, &calls, 50 * USEC_PER_MSEC));
	ck_assert_uint_eq(p.now, t0 + 50 * USEC_PER_MSEC);
	/* Nothing is due: at most PAIR_IDLE_STEP between turns. */
	ck_assert_uint_ge(calls, 50 * USEC_PER_MSEC / PAIR_IDLE_STEP);

	calls = 0;
	t0 = p.now;
	ck_assert(pair_run_until(&p, third_call, &calls, 10 * USEC_PER_SEC));
	ck_assert_uint_eq(calls, 3);
	ck_assert_uint_le(p.now, t0 + 2 * PAIR_IDLE_STEP);

	/* Without a condition, an idle pair jumps to the end at once. */
	t0 = p.now;
	pair_run(&p, 3600 * USEC_PER_SEC);
	ck_assert_uint_eq(p.now, t0 + 3600 * USEC_PER_SEC);
	pair_teardown(&p);
}
END_TEST

/* Send from a until b receives something (ARP may be lost too). */
static void warm_up(struct mtcp_sock *a, struct mtcp_sock *b)
{
	char buf[64];

	for (int i = 0; i < 20; i++) {
		udp_to(a, PAIR_B_IP, 7, "warm", 4);
		pair_run(&p, 1500 * USEC_PER_MSEC);
		bool got = false;
		while (mtcp_recvfrom(b, buf, sizeof(buf), 0, NULL) > 0)
			got = true;
		if (got)
			return;
	}
	ck_abort_msg("no datagram got through in 20 tries");
}

START_TEST(test_pair_impairment_loses_about_the_configured_fraction)
{
	struct impair_cfg cfg = { .loss = 0.1, .seed = 7, .reorder_hold_us = 1000 };
	struct mtcp_sock *a, *b;
	uint32_t v;
	unsigned got = 0;
	int64_t last = -1;

	pair_setup(&p, &cfg, 0);
	ck_assert_ptr_nonnull(p.imp);
	a = pair_udp(p.a, 5000);
	b = pair_udp(p.b, 7);
	warm_up(a, b);
	uint64_t lost0 = p.imp->stats.imp_lost;
	for (uint32_t i = 0; i < 200; i++) {
		udp_to(a, PAIR_B_IP, 7, &i, sizeof(i));
		pair_poll(&p);
		while (mtcp_recvfrom(b, &v, sizeof(v), 0, NULL) == sizeof(v)) {
			ck_assert_msg((int64_t)v > last, "datagram %u after %lld", v,
				      (long long)last);
			last = v;
			got++;
		}
	}
	uint64_t lost = p.imp->stats.imp_lost - lost0;
	ck_assert_msg(got >= 150 && got < 200, "%u of 200 datagrams arrived with loss=0.1", got);
	ck_assert_uint_eq(got + lost, 200);
	mtcp_close(a);
	mtcp_close(b);
	pair_teardown(&p);
}
END_TEST

START_TEST(test_pair_run_releases_a_held_frame)
{
	struct impair_cfg cfg = { .reorder = 1.0, .seed = 3, .reorder_hold_us = 1000 };
	struct mtcp_sock *a, *b;
	char buf[16];

	pair_setup(&p, &cfg, 0);
	a = pair_udp(p.a, 5000);
	b = pair_udp(p.b, 7);
	warm_up(a, b);
	uint64_t held0 = p.imp->stats.imp_reordered;
	udp_to(a, PAIR_B_IP, 7, "late", 4);
	pair_poll(&p);
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), 0, NULL), -EAGAIN);
	ck_assert_uint_eq(p.imp->stats.imp_reordered, held0 + 1);
	/* Nothing else is sent: only the device's poll_at brings it out. */
	pair_run(&p, 2 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), 0, NULL), 4);
	ck_assert_mem_eq(buf, "late", 4);
	mtcp_close(a);
	mtcp_close(b);
	pair_teardown(&p);
}
END_TEST

START_TEST(test_stream_fill_depends_on_position_only)
{
	static uint8_t whole[1000], parts[1000], other[1000];
	size_t pos = 0, step = 1;

	pair_stream_fill(1, 0, 0, whole, sizeof(whole));
	while (pos < sizeof(parts)) {
		size_t n = step < sizeof(parts) - pos ? step : sizeof(parts) - pos;
		pair_stream_fill(1, 0, pos, parts + pos, n);
		pos += n;
		step = step * 3 % 17 + 1;
	}
	ck_assert_mem_eq(whole, parts, sizeof(whole));
	pair_stream_fill(1, 1, 0, other, sizeof(other));
	ck_assert(memcmp(whole, other, sizeof(other)) != 0);
	pair_stream_fill(2, 0, 0, other, sizeof(other));
	ck_assert(memcmp(whole, other, sizeof(other)) != 0);
	/* Not periodic in a way a shifted copy would pass. */
	ck_assert(memcmp(whole, whole + 8, 64) != 0);
}
END_TEST

/* --- the real TCP through the scaffolding --- */

static void tcp_setup(void)
{
	h_setup(&h);
	h_learn_peer(&h);
}

START_TEST(test_smoke_handshake_and_bytes_with_the_harness)
{
	static struct h_conn c;
	struct mtcp_sock *l = h_tcp_listen(&h, OUR_PORT, 4), *s;
	char buf[16];

	h_conn_connect(&h, &c, PEER_PORT, OUR_PORT, 1000, NULL);
	s = h_tcp_accept(&h, l);

	h_conn_send(&h, &c, TH_ACK | TH_PSH, "hello", 5);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	h_advance(&h, 500 * USEC_PER_MSEC);     /* a delayed ACK, at the latest */
	h_conn_expect(&h, &c, TH_ACK, 0);

	ck_assert_int_eq(mtcp_sendto(s, "world", 5, 0, NULL), 5);
	h_conn_expect_data(&h, &c, TH_ACK, "world", 5);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);

	/* The stack closes first, the peer answers with its FIN. */
	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	h_conn_expect(&h, &c, TH_ACK, 0);
	h_expect_none(&h);
	mtcp_close(l);
}
END_TEST

START_TEST(test_smoke_stack_connects_and_the_peer_answers)
{
	static struct h_conn c;
	static struct frame syn;
	struct mtcp_sock *s = h_tcp_connect(&h, 0, PEER_PORT);
	int err = -1;
	socklen_t len = sizeof(err);
	char buf[16];

	ck_assert_msg(h_next_tcp(&h, &syn), "no SYN after a non-blocking connect");
	h_conn_from_syn(&h, &c, &syn, 5000, NULL);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(mtcp_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, 0);
	ck_assert(mtcp_poll(s) & EPOLLOUT);

	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, NULL), 1);
	h_conn_expect_data(&h, &c, TH_ACK, "x", 1);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);

	/* The peer closes first. */
	h_conn_send(&h, &c, TH_FIN | TH_ACK, NULL, 0);
	h_advance(&h, 500 * USEC_PER_MSEC);
	h_conn_expect(&h, &c, TH_ACK, 0);
	ck_assert_int_eq(mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL), 0);
	mtcp_close(s);
	h_conn_expect(&h, &c, TH_FIN | TH_ACK, 0);
	h_conn_send(&h, &c, TH_ACK, NULL, 0);
	h_expect_none(&h);
}
END_TEST

START_TEST(test_smoke_pair_moves_100k_each_way)
{
	struct mtcp_sock *a, *b;
	static struct pair_xfer x;

	pair_setup(&p, NULL, 0);
	pair_connect(&p, 5001, &a, &b);
	pair_xfer_init(&x, &p, a, b, 100 * 1000, 100 * 1000);
	ck_assert_msg(pair_xfer_run(&x, 60 * USEC_PER_SEC), "%s", x.err);
	mtcp_close(a);
	mtcp_close(b);
	pair_run(&p, 1 * USEC_PER_SEC);
	pair_teardown(&p);
}
END_TEST

static Suite *harness_tcp_suite(void)
{
	Suite *s = suite_create("harness_tcp");
	TCase *tc;

	tc = tcase_create("frame");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_build_tcp_round_trips_header_and_payload);
	tcase_add_test(tc, test_build_tcp_round_trips_syn_options);
	tcase_add_test(tc, test_build_tcp_round_trips_sack_blocks_with_data);
	tcase_add_test(tc, test_frame_parse_reads_tcp_and_its_payload);
	tcase_add_test(tc, test_frame_parse_reports_a_bad_tcp_checksum);
	tcase_add_test(tc, test_tcp_flags_are_spelled_like_tcpdump);
	tcase_add_test(tc, test_tcp_describe_says_everything_on_one_line);
	suite_add_tcase(s, tc);

	tc = tcase_create("peer");
	tcase_add_checked_fixture(tc, paused_setup, teardown);
	tcase_add_test(tc, test_next_tcp_skips_other_frames_and_answers_arp);
	tcase_add_test(tc, test_expect_tcp_matches_control_flags_and_ignores_psh);
	tcase_add_test(tc, test_conn_connect_does_the_handshake_on_the_wire);
	tcase_add_test(tc, test_conn_without_stack_timestamps_sends_none);
	tcase_add_test(tc, test_conn_send_and_expect_track_both_sequence_spaces);
	tcase_add_test(tc, test_conn_from_syn_offers_only_what_the_stack_offered);
	suite_add_tcase(s, tc);

	tc = tcase_create("pair");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pair_setup_and_teardown_leave_nothing);
	tcase_add_test(tc, test_pair_moves_udp_both_ways);
	tcase_add_test(tc, test_pair_run_until_steps_the_clock_when_idle);
	tcase_add_test(tc, test_pair_impairment_loses_about_the_configured_fraction);
	tcase_add_test(tc, test_pair_run_releases_a_held_frame);
	tcase_add_test(tc, test_stream_fill_depends_on_position_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp_smoke");
	tcase_add_checked_fixture(tc, tcp_setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_smoke_handshake_and_bytes_with_the_harness);
	tcase_add_test(tc, test_smoke_stack_connects_and_the_peer_answers);
	tcase_add_test(tc, test_smoke_pair_moves_100k_each_way);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(harness_tcp_suite)
