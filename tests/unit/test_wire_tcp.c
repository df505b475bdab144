/* test_wire_tcp.c - TCP headers and options (RFC 9293, RFC 7323, RFC 2018). */
#include <check.h>
#include <string.h>

#include "tcp.h"
#include "check_main.h"
#include "wire_testutil.h"

#define SRC     0x0a000002      /* 10.0.0.2 */
#define DST     0x0a000001      /* 10.0.0.1 */

/* Fixtures 10.0.0.2:45678 -> 10.0.0.1:80, checksums computed
 * independently (python3). */

/* SYN as Linux sends it: MSS 1460, SACK_PERMITTED + TS, NOP + WSCALE 7. */
static const uint8_t tcp_syn[40] = {
	0xb2, 0x6e, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4d,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0x3c, 0x21, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
	0x04, 0x02, 0x08, 0x0a, 0x00, 0x13, 0xf3, 0xa1,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* PSH|ACK with NOP NOP TS and an 18-byte HTTP request. */
static const uint8_t tcp_data[50] = {
	0xb2, 0x6e, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x4e,
	0x77, 0x66, 0x55, 0x45, 0x80, 0x18, 0x01, 0xf6,
	0x2d, 0xe6, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a,
	0x00, 0x13, 0xf3, 0xb0, 0x8a, 0x5c, 0x00, 0x21,
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54,
	0x54, 0x50, 0x2f, 0x31, 0x2e, 0x30, 0x0d, 0x0a,
	0x0d, 0x0a,
};
#define DATA_PAYLOAD "GET / HTTP/1.0\r\n\r\n"

/* ACK with NOP NOP TS, NOP NOP SACK (one block). */
static const uint8_t tcp_sack[44] = {
	0xb2, 0x6e, 0x00, 0x50, 0x1a, 0x2b, 0x3c, 0x60,
	0x77, 0x66, 0x55, 0x45, 0xb0, 0x10, 0x01, 0xf5,
	0x29, 0x01, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a,
	0x00, 0x13, 0xf3, 0xc0, 0x8a, 0x5c, 0x00, 0x30,
	0x01, 0x01, 0x05, 0x0a, 0x77, 0x66, 0x5d, 0x45,
	0x77, 0x66, 0x61, 0x45,
};

static enum wire_err
parse_copy(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
    struct tcp_repr *r)
{
	uint8_t *c = exact_copy(p, len);
	enum wire_err err = tcp_parse(c, len, src, dst, r);

	free(c);
	return err;
}

/* The SYN's fixed header with the given options (a multiple of 4 bytes)
 * and a correct checksum; returns the segment length. */
static size_t
build_with_opts(uint8_t *buf, const uint8_t *opts, size_t optlen)
{
	ck_assert_msg(optlen % 4 == 0 && optlen <= 40, "bad test optlen %zu",
	    optlen);
	memcpy(buf, tcp_syn, TCP_HLEN);
	memcpy(buf + TCP_HLEN, opts, optlen);
	buf[12] = (uint8_t)((TCP_HLEN + optlen) / 4 << 4);
	buf[16] = buf[17] = 0;
	put_csum(buf + 16, ref_csum_pseudo(SRC, DST, 6, buf, TCP_HLEN + optlen));
	return TCP_HLEN + optlen;
}

static enum wire_err
parse_opts(const uint8_t *opts, size_t optlen, struct tcp_repr *r)
{
	uint8_t buf[TCP_HLEN_MAX];
	size_t len = build_with_opts(buf, opts, optlen);

	return parse_copy(buf, len, SRC, DST, r);
}

START_TEST(test_tcp_parse_linux_syn_fields_and_options)
{
	struct tcp_repr r;

	EXPECT_ERR(parse_copy(tcp_syn, sizeof(tcp_syn), SRC, DST, &r), WIRE_OK);
	ck_assert_uint_eq(r.sport, 45678);
	ck_assert_uint_eq(r.dport, 80);
	ck_assert_msg(r.seq == 0x1a2b3c4d, "seq 0x%08x", r.seq);
	ck_assert_uint_eq(r.ack, 0);
	ck_assert_msg(r.flags == TH_SYN, "flags 0x%02x, want SYN", r.flags);
	ck_assert_msg(r.win == 64240, "win %u, want 64240", r.win);
	ck_assert_uint_eq(r.urp, 0);
	ck_assert_msg(r.hlen == 40, "hlen %u, want 40", r.hlen);
	ck_assert_msg(r.opt.has_mss && r.opt.mss == 1460, "mss %d/%u",
	    r.opt.has_mss, r.opt.mss);
	ck_assert_msg(r.opt.sack_permitted, "SACK_PERMITTED not seen");
	ck_assert_msg(r.opt.has_ts && r.opt.ts_val == 0x0013f3a1 &&
	    r.opt.ts_ecr == 0, "ts %d %08x %08x", r.opt.has_ts, r.opt.ts_val,
	    r.opt.ts_ecr);
	ck_assert_msg(r.opt.has_wscale && r.opt.wscale == 7, "wscale %d/%u",
	    r.opt.has_wscale, r.opt.wscale);
	ck_assert_uint_eq(r.opt.nsack, 0);
}
END_TEST

START_TEST(test_tcp_emit_linux_syn_layout)
{
	struct tcp_repr r = {
		.sport = 45678, .dport = 80, .seq = 0x1a2b3c4d, .flags = TH_SYN,
		.win = 64240, .hlen = 99,
		.opt = { .has_mss = true, .mss = 1460, .sack_permitted = true,
			.has_ts = true, .ts_val = 0x0013f3a1, .has_wscale = true,
			.wscale = 7 },
	};
	uint8_t buf[sizeof(tcp_syn) + 1];

	ck_assert_uint_eq(tcp_opts_len(&r.opt), 20);
	ck_assert_uint_eq(tcp_header_len(&r), 40);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_uint_eq(tcp_emit(&r, buf, 0, SRC, DST), 40);
	EXPECT_BYTES(buf, tcp_syn, sizeof(tcp_syn));
	ck_assert_msg(buf[40] == 0xee, "tcp_emit wrote past the header");
}
END_TEST

START_TEST(test_tcp_emit_syn_without_timestamps_layout)
{
	/* Linux: 02 04 05b4 01 01 04 02 01 03 03 07. */
	const uint8_t want[12] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04,
		0x02, 0x01, 0x03, 0x03, 0x07 };
	struct tcp_repr r = { .flags = TH_SYN | TH_ACK,
		.opt = { .has_mss = true, .mss = 1460, .sack_permitted = true,
			.has_wscale = true, .wscale = 7 } }, back;
	uint8_t buf[TCP_HLEN_MAX];

	ck_assert_uint_eq(tcp_emit(&r, buf, 0, SRC, DST), 32);
	EXPECT_BYTES(buf + TCP_HLEN, want, sizeof(want));
	EXPECT_ERR(tcp_parse(buf, 32, SRC, DST, &back), WIRE_OK);
	ck_assert(back.opt.has_mss && back.opt.sack_permitted &&
	    back.opt.has_wscale && !back.opt.has_ts);
	ck_assert_uint_eq(back.flags, TH_SYN | TH_ACK);
}
END_TEST

START_TEST(test_tcp_opts_len_per_option_set)
{
	struct tcp_opts o;

	memset(&o, 0, sizeof(o));
	ck_assert_uint_eq(tcp_opts_len(&o), 0);
	o.has_mss = true;
	ck_assert_uint_eq(tcp_opts_len(&o), 4);
	o.has_mss = false;
	o.has_ts = true;
	ck_assert_uint_eq(tcp_opts_len(&o), 12);
	o.has_ts = false;
	o.sack_permitted = true;
	ck_assert_uint_eq(tcp_opts_len(&o), 4);
	o.sack_permitted = false;
	o.has_wscale = true;
	ck_assert_uint_eq(tcp_opts_len(&o), 4);
	o.has_wscale = false;
	o.nsack = 1;
	ck_assert_uint_eq(tcp_opts_len(&o), 12);
	o.nsack = 4;
	ck_assert_uint_eq(tcp_opts_len(&o), 36);
	o.has_ts = true;                /* 12 + 4 + 3 * 8: one block dropped */
	ck_assert_uint_eq(tcp_opts_len(&o), 40);
}
END_TEST

START_TEST(test_tcp_parse_data_segment_payload_offset)
{
	struct tcp_repr r;

	EXPECT_ERR(parse_copy(tcp_data, sizeof(tcp_data), SRC, DST, &r), WIRE_OK);
	ck_assert_msg(r.hlen == 32, "hlen %u, want 32", r.hlen);
	ck_assert_uint_eq(r.flags, TH_PSH | TH_ACK);
	ck_assert_uint_eq(r.seq, 0x1a2b3c4e);
	ck_assert_uint_eq(r.ack, 0x77665545);
	ck_assert_uint_eq(r.win, 502);
	ck_assert(r.opt.has_ts && !r.opt.has_mss && !r.opt.sack_permitted &&
	    !r.opt.has_wscale && r.opt.nsack == 0);
	ck_assert_uint_eq(r.opt.ts_val, 0x0013f3b0);
	ck_assert_uint_eq(r.opt.ts_ecr, 0x8a5c0021);
	EXPECT_BYTES(tcp_data + r.hlen, DATA_PAYLOAD, sizeof(tcp_data) - r.hlen);
}
END_TEST

START_TEST(test_tcp_emit_data_segment_matches_fixture)
{
	struct tcp_repr r = { .sport = 45678, .dport = 80, .seq = 0x1a2b3c4e,
		.ack = 0x77665545, .flags = TH_PSH | TH_ACK, .win = 502,
		.opt = { .has_ts = true, .ts_val = 0x0013f3b0,
			.ts_ecr = 0x8a5c0021 } };
	uint8_t buf[sizeof(tcp_data)];
	size_t plen = sizeof(DATA_PAYLOAD) - 1;

	memcpy(buf + 32, DATA_PAYLOAD, plen);
	ck_assert_uint_eq(tcp_emit(&r, buf, plen, SRC, DST), 32);
	EXPECT_BYTES(buf, tcp_data, sizeof(tcp_data));
}
END_TEST

START_TEST(test_tcp_parse_and_emit_sack_fixture)
{
	struct tcp_repr r;
	uint8_t buf[sizeof(tcp_sack)];

	EXPECT_ERR(parse_copy(tcp_sack, sizeof(tcp_sack), SRC, DST, &r), WIRE_OK);
	ck_assert_msg(r.opt.nsack == 1, "nsack %u, want 1", r.opt.nsack);
	ck_assert_uint_eq(r.opt.sack[0].left, 0x77665d45);
	ck_assert_uint_eq(r.opt.sack[0].right, 0x77666145);
	ck_assert(r.opt.has_ts);
	ck_assert_uint_eq(r.hlen, 44);
	ck_assert_uint_eq(tcp_emit(&r, buf, 0, SRC, DST), 44);
	EXPECT_BYTES(buf, tcp_sack, sizeof(tcp_sack));
}
END_TEST

START_TEST(test_tcp_sack_one_to_four_blocks_round_trip)
{
	struct tcp_repr r = { .sport = 1, .dport = 2, .flags = TH_ACK,
		.win = 1000 }, back;
	uint8_t buf[TCP_HLEN_MAX];
	unsigned n, k;
	size_t hlen;

	for (n = 1; n <= TCP_MAX_SACK; n++) {
		r.opt.nsack = (uint8_t)n;
		for (k = 0; k < n; k++) {
			r.opt.sack[k].left = 1000 * (k + 1);
			r.opt.sack[k].right = 1000 * (k + 1) + 500;
		}
		hlen = tcp_emit(&r, buf, 0, SRC, DST);
		ck_assert_msg(hlen == TCP_HLEN + 4 + 8 * n,
		    "%u blocks: hlen %zu", n, hlen);
		ck_assert_msg(buf[20] == 1 && buf[21] == 1 && buf[22] == 5 &&
		    buf[23] == 2 + 8 * n, "%u blocks: option head %02x %02x "
		    "%02x %02x, want 01 01 05 %02x", n, buf[20], buf[21],
		    buf[22], buf[23], 2 + 8 * n);
		EXPECT_ERR(tcp_parse(buf, hlen, SRC, DST, &back), WIRE_OK);
		ck_assert_msg(back.opt.nsack == n, "sent %u blocks, parsed %u",
		    n, back.opt.nsack);
		for (k = 0; k < n; k++)
			ck_assert_msg(back.opt.sack[k].left == r.opt.sack[k].left &&
			    back.opt.sack[k].right == r.opt.sack[k].right,
			    "%u blocks: block %u differs", n, k);
	}
}
END_TEST

START_TEST(test_tcp_sack_blocks_beyond_option_space_dropped)
{
	struct tcp_repr r = { .flags = TH_ACK, .opt = { .has_ts = true,
		.ts_val = 5, .ts_ecr = 6, .nsack = 4, .sack = {
		{ 10, 20 }, { 30, 40 }, { 50, 60 }, { 70, 80 } } } }, back;
	uint8_t buf[TCP_HLEN_MAX];

	/* RFC 2018 3: with timestamps only 3 blocks fit in 40 bytes. */
	ck_assert_uint_eq(tcp_emit(&r, buf, 0, SRC, DST), 60);
	EXPECT_ERR(tcp_parse(buf, 60, SRC, DST, &back), WIRE_OK);
	ck_assert_msg(back.opt.nsack == 3, "nsack %u, want 3", back.opt.nsack);
	ck_assert_uint_eq(back.opt.sack[0].left, 10);
	ck_assert_uint_eq(back.opt.sack[2].right, 60);
	ck_assert(back.opt.has_ts && back.opt.ts_val == 5 &&
	    back.opt.ts_ecr == 6);

	/* Everything at once: 20 bytes of SYN options leave room for 2. */
	r.opt.has_mss = r.opt.sack_permitted = r.opt.has_wscale = true;
	r.opt.mss = 536;
	r.opt.wscale = 14;
	ck_assert_uint_eq(tcp_emit(&r, buf, 0, SRC, DST), 60);
	EXPECT_ERR(tcp_parse(buf, 60, SRC, DST, &back), WIRE_OK);
	ck_assert_uint_eq(back.opt.nsack, 2);
	ck_assert(back.opt.has_mss && back.opt.mss == 536);
	ck_assert(back.opt.has_wscale && back.opt.wscale == 14);
	ck_assert(back.opt.sack_permitted);

	/* A bogus nsack above 4 is treated as 4, never read past sack[]. */
	memset(&r.opt, 0, sizeof(r.opt));
	r.opt.nsack = 200;
	ck_assert_uint_eq(tcp_opts_len(&r.opt), 36);
}
END_TEST

START_TEST(test_tcp_round_trip_all_flags_and_payload)
{
	struct tcp_repr r = { .sport = 65535, .dport = 1, .seq = 0xffffffff,
		.ack = 0x80000000, .flags = 0xff, .win = 0xffff, .urp = 0x1234,
		.opt = { .has_wscale = true, .wscale = 0 } }, back;
	uint8_t buf[TCP_HLEN_MAX + 7];
	size_t hlen;

	hlen = tcp_header_len(&r);
	memcpy(buf + hlen, "payload", 7);
	ck_assert_uint_eq(tcp_emit(&r, buf, 7, SRC, DST), hlen);
	ck_assert_msg(ref_csum_pseudo(SRC, DST, 6, buf, hlen + 7) == 0,
	    "emitted segment does not verify with the reference checksum");
	EXPECT_ERR(tcp_parse(buf, hlen + 7, SRC, DST, &back), WIRE_OK);
	ck_assert_uint_eq(back.sport, r.sport);
	ck_assert_uint_eq(back.dport, r.dport);
	ck_assert_uint_eq(back.seq, r.seq);
	ck_assert_uint_eq(back.ack, r.ack);
	ck_assert_msg(back.flags == 0xff, "flags 0x%02x, want 0xff (CWR/ECE "
	    "kept)", back.flags);
	ck_assert_uint_eq(back.win, r.win);
	ck_assert_uint_eq(back.urp, r.urp);
	ck_assert_uint_eq(back.hlen, hlen);
	ck_assert(back.opt.has_wscale && back.opt.wscale == 0);
}
END_TEST

START_TEST(test_tcp_truncated_at_every_length_rejected)
{
	struct tcp_repr r;
	enum wire_err err, want;
	size_t len;

	for (len = 0; len < sizeof(tcp_syn); len++) {
		err = parse_copy(tcp_syn, len, SRC, DST, &r);
		want = len < TCP_HLEN ? WIRE_ETRUNC : WIRE_EHLEN;
		ck_assert_msg(err == want, "SYN cut to %zu of 40: got %s, "
		    "want %s", len, wire_strerror(err), wire_strerror(want));
	}
	for (len = 0; len < sizeof(tcp_data); len++) {
		err = parse_copy(tcp_data, len, SRC, DST, &r);
		want = len < TCP_HLEN ? WIRE_ETRUNC :
		    len < 32 ? WIRE_EHLEN : WIRE_ECSUM;
		ck_assert_msg(err == want, "data cut to %zu of 50: got %s, "
		    "want %s", len, wire_strerror(err), wire_strerror(want));
	}
}
END_TEST

START_TEST(test_tcp_bad_checksum_rejected)
{
	uint8_t p[sizeof(tcp_data)];
	struct tcp_repr r;

	memcpy(p, tcp_data, sizeof(p));
	p[49] ^= 0x20;                  /* payload */
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ECSUM);
	memcpy(p, tcp_data, sizeof(p));
	p[17] ^= 0x01;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ECSUM);
	/* Addressed to someone else: the pseudo-header differs. */
	EXPECT_ERR(parse_copy(tcp_data, sizeof(tcp_data), SRC, 0x0a000009, &r),
	    WIRE_ECSUM);
}
END_TEST

START_TEST(test_tcp_bad_data_offset_rejected)
{
	uint8_t p[sizeof(tcp_syn)];
	struct tcp_repr r;
	int off;

	for (off = 0; off < 5; off++) {
		memcpy(p, tcp_syn, sizeof(p));
		p[12] = (uint8_t)(off << 4);
		ck_assert_msg(parse_copy(p, sizeof(p), SRC, DST, &r) == WIRE_EHLEN,
		    "data offset %d accepted", off);
	}
	/* Offset 11 (44 bytes) in a 40-byte segment. */
	memcpy(p, tcp_syn, sizeof(p));
	p[12] = 0xb0;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_EHLEN);
	p[12] = 0xf0;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_EHLEN);
}
END_TEST

START_TEST(test_tcp_oversized_segment_rejected)
{
	size_t len = 65536;
	uint8_t *p = calloc(1, len);
	struct tcp_repr r;

	ck_assert_ptr_nonnull(p);
	memcpy(p, tcp_syn, sizeof(tcp_syn));
	EXPECT_ERR(tcp_parse(p, len, SRC, DST, &r), WIRE_ELEN);
	free(p);
}
END_TEST

START_TEST(test_tcp_unknown_option_kinds_skipped)
{
	/* Kind 30 (MPTCP) len 4, kind 254 (experimental) len 6, then MSS. */
	const uint8_t opts[16] = { 0x1e, 0x04, 0xab, 0xcd,
		0xfe, 0x06, 0xf9, 0x89, 0x00, 0x00,
		0x02, 0x04, 0x02, 0x18, 0x01, 0x01 };
	struct tcp_repr r;

	EXPECT_ERR(parse_opts(opts, sizeof(opts), &r), WIRE_OK);
	ck_assert_msg(r.opt.has_mss && r.opt.mss == 536,
	    "MSS after unknown options: has %d mss %u", r.opt.has_mss,
	    r.opt.mss);
	ck_assert(!r.opt.has_ts && !r.opt.has_wscale && !r.opt.sack_permitted);
}
END_TEST

START_TEST(test_tcp_eol_ends_option_list)
{
	/* MSS, EOL, then bytes that would be malformed options. */
	const uint8_t opts[8] = { 0x02, 0x04, 0x05, 0xb4, 0x00, 0x03, 0x09,
		0xff };
	struct tcp_repr r;

	EXPECT_ERR(parse_opts(opts, sizeof(opts), &r), WIRE_OK);
	ck_assert(r.opt.has_mss && !r.opt.has_wscale);
}
END_TEST

START_TEST(test_tcp_malformed_known_options_rejected)
{
	static const struct {
		const char *what;
		size_t len;
		uint8_t opts[12];
	} bad[] = {
		{ "MSS len 3", 4,       { 0x02, 0x03, 0x05, 0x01 } },
		{ "MSS len 5", 8,       { 0x02, 0x05, 0x05, 0xb4, 0x00 } },
		{ "WSCALE len 2", 4,    { 0x03, 0x02, 0x01, 0x01 } },
		{ "WSCALE len 4", 4,    { 0x03, 0x04, 0x07, 0x00 } },
		{ "SACK_PERMITTED len 3", 4, { 0x04, 0x03, 0x00, 0x01 } },
		{ "SACK len 2 (no block)", 4, { 0x05, 0x02, 0x01, 0x01 } },
		{ "SACK len 9", 12,     { 0x05, 0x09, 1, 2, 3, 4, 5, 6, 7 } },
		{ "SACK len 17", 20,    { 0x05, 0x11 } },
		{ "TIMESTAMP len 8", 8, { 0x08, 0x08, 1, 2, 3, 4, 5, 6 } },
		{ "TIMESTAMP len 12", 12, { 0x08, 0x0c } },
		{ "option len 0", 4,    { 0x01, 0xfe, 0x00, 0x00 } },
		{ "option len 1", 4,    { 0xfe, 0x01, 0x00, 0x00 } },
		{ "option past header", 4, { 0x01, 0xfe, 0x08, 0x00 } },
		{ "kind without length", 4, { 0x01, 0x01, 0x01, 0x02 } },
		{ "TIMESTAMP past header", 4, { 0x01, 0x01, 0x08, 0x0a } },
		{ "bad option after good MSS", 8,
		    { 0x02, 0x04, 0x05, 0xb4, 0x03, 0x04, 0x07, 0x00 } },
	};
	uint8_t opts[20];
	struct tcp_repr r;
	enum wire_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(opts, 0, sizeof(opts));
		memcpy(opts, bad[i].opts, sizeof(bad[i].opts));
		err = parse_opts(opts, bad[i].len, &r);
		ck_assert_msg(err == WIRE_EOPT, "%s: got %s, want malformed "
		    "options", bad[i].what, wire_strerror(err));
	}
}
END_TEST

START_TEST(test_tcp_sack_option_running_past_header_rejected)
{
	/* Five blocks (len 42) cannot fit: it runs past the 40 bytes. */
	uint8_t opts[40];
	struct tcp_repr r;

	memset(opts, 0, sizeof(opts));
	opts[0] = TCPOPT_SACK;
	opts[1] = 42;
	EXPECT_ERR(parse_opts(opts, sizeof(opts), &r), WIRE_EOPT);
	opts[1] = 34;                   /* four blocks: fine */
	EXPECT_ERR(parse_opts(opts, sizeof(opts), &r), WIRE_OK);
	ck_assert_uint_eq(r.opt.nsack, 4);
}
END_TEST

START_TEST(test_tcp_wscale_reported_as_received)
{
	/* RFC 7323 2.3 clamping is the caller's job. */
	const uint8_t opts[4] = { 0x01, 0x03, 0x03, 0x0f };
	struct tcp_repr r;

	EXPECT_ERR(parse_opts(opts, sizeof(opts), &r), WIRE_OK);
	ck_assert_msg(r.opt.has_wscale && r.opt.wscale == 15,
	    "wscale %u, want 15 unclamped", r.opt.wscale);
}
END_TEST

static Suite *
tcp_suite(void)
{
	Suite *s = suite_create("wire_tcp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_tcp_parse_linux_syn_fields_and_options);
	tcase_add_test(tc, test_tcp_emit_linux_syn_layout);
	tcase_add_test(tc, test_tcp_emit_syn_without_timestamps_layout);
	tcase_add_test(tc, test_tcp_opts_len_per_option_set);
	tcase_add_test(tc, test_tcp_parse_data_segment_payload_offset);
	tcase_add_test(tc, test_tcp_emit_data_segment_matches_fixture);
	tcase_add_test(tc, test_tcp_parse_and_emit_sack_fixture);
	tcase_add_test(tc, test_tcp_sack_one_to_four_blocks_round_trip);
	tcase_add_test(tc, test_tcp_sack_blocks_beyond_option_space_dropped);
	tcase_add_test(tc, test_tcp_round_trip_all_flags_and_payload);
	tcase_add_test(tc, test_tcp_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_tcp_bad_checksum_rejected);
	tcase_add_test(tc, test_tcp_bad_data_offset_rejected);
	tcase_add_test(tc, test_tcp_oversized_segment_rejected);
	tcase_add_test(tc, test_tcp_unknown_option_kinds_skipped);
	tcase_add_test(tc, test_tcp_eol_ends_option_list);
	tcase_add_test(tc, test_tcp_malformed_known_options_rejected);
	tcase_add_test(tc, test_tcp_sack_option_running_past_header_rejected);
	tcase_add_test(tc, test_tcp_wscale_reported_as_received);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tcp_suite)
