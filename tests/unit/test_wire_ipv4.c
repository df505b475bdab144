/* test_wire_ipv4.c - IPv4 headers (RFC 791, RFC 1122 3.2.1). */
#include <check.h>
#include <string.h>

#include "ipv4.h"
#include "check_main.h"
#include "wire_testutil.h"

/* ICMP echo request 10.0.0.2 -> 10.0.0.1, id 0x1c46, DF, TTL 64, 76 bytes;
 * header checksum 0x0a69 computed independently (python3). */
static const uint8_t ip_echo[76] = {
	0x45, 0x00, 0x00, 0x4c, 0x1c, 0x46, 0x40, 0x00,
	0x40, 0x01, 0x0a, 0x69, 0x0a, 0x00, 0x00, 0x02,
	0x0a, 0x00, 0x00, 0x01, 0x08, 0x00, 0xc1, 0x70,
	0x12, 0x34, 0x00, 0x01, 0xa1, 0xb2, 0xc3, 0xd4,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13,
	0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b,
	0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23,
	0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b,
	0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33,
	0x34, 0x35, 0x36, 0x37,
};

/* UDP 10.0.0.2 -> 10.0.0.1 with IHL 8: NOP, then Record Route (type 7,
 * length 11, pointer 4, two empty slots); checksum 0x16b8 (python3). */
static const uint8_t ip_opts[40] = {
	0x48, 0x00, 0x00, 0x28, 0x01, 0x00, 0x40, 0x00,
	0x40, 0x11, 0x16, 0xb8, 0x0a, 0x00, 0x00, 0x02,
	0x0a, 0x00, 0x00, 0x01, 0x01, 0x07, 0x0b, 0x04,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x02, 0x00, 0x08, 0x00, 0x00,
};

/* Recompute the header checksum of p after a test changed it. */
static void
fix_csum(uint8_t *p)
{
	size_t hlen = (size_t)(p[0] & 0xf) * 4;

	p[10] = p[11] = 0;
	put_csum(p + 10, ref_csum(p, hlen));
}

static enum wire_err
parse_copy(const uint8_t *p, size_t len, struct ipv4_repr *r)
{
	uint8_t *c = exact_copy(p, len);
	enum wire_err err = ipv4_parse(c, len, r);

	free(c);
	return err;
}

START_TEST(test_ipv4_parse_echo_request_fields)
{
	struct ipv4_repr r;

	EXPECT_ERR(parse_copy(ip_echo, sizeof(ip_echo), &r), WIRE_OK);
	ck_assert_msg(r.hlen == 20, "hlen %u, want 20", r.hlen);
	ck_assert_uint_eq(r.tos, 0);
	ck_assert_msg(r.total_len == 76, "total_len %u, want 76", r.total_len);
	ck_assert_msg(r.id == 0x1c46, "id 0x%04x, want 0x1c46", r.id);
	ck_assert_msg(r.df && !r.mf, "df %d mf %d, want DF only", r.df, r.mf);
	ck_assert_uint_eq(r.frag_off, 0);
	ck_assert_uint_eq(r.ttl, 64);
	ck_assert_uint_eq(r.proto, IPPROTO_ICMP_);
	ck_assert_msg(r.src == 0x0a000002, "src 0x%08x, want 10.0.0.2", r.src);
	ck_assert_msg(r.dst == 0x0a000001, "dst 0x%08x, want 10.0.0.1", r.dst);
}
END_TEST

START_TEST(test_ipv4_emit_matches_fixture)
{
	struct ipv4_repr r = {
		.hlen = 44,     /* ignored by emit */
		.tos = 0, .total_len = 76, .id = 0x1c46, .df = true,
		.ttl = 64, .proto = IPPROTO_ICMP_,
		.src = 0x0a000002, .dst = 0x0a000001,
	};
	uint8_t buf[IPV4_HLEN + 1];

	memset(buf, 0xee, sizeof(buf));
	ipv4_emit(&r, buf);
	EXPECT_BYTES(buf, ip_echo, IPV4_HLEN);
	ck_assert_msg(buf[IPV4_HLEN] == 0xee, "ipv4_emit wrote past 20 bytes");
}
END_TEST

START_TEST(test_ipv4_emit_parse_round_trip_fragment)
{
	struct ipv4_repr r = {
		.tos = 0xb8, .total_len = 20 + 1480, .id = 0xbeef, .mf = true,
		.frag_off = 2960, .ttl = 1, .proto = IPPROTO_UDP_,
		.src = 0xc0a80001, .dst = 0xe00000fb,
	}, back;
	static uint8_t buf[1500];

	ipv4_emit(&r, buf);
	ck_assert_msg(ref_csum(buf, IPV4_HLEN) == 0,
	    "emitted header does not verify with the reference checksum");
	EXPECT_ERR(ipv4_parse(buf, sizeof(buf), &back), WIRE_OK);
	ck_assert_uint_eq(back.hlen, IPV4_HLEN);
	ck_assert_uint_eq(back.tos, r.tos);
	ck_assert_uint_eq(back.total_len, r.total_len);
	ck_assert_uint_eq(back.id, r.id);
	ck_assert(!back.df && back.mf);
	ck_assert_msg(back.frag_off == 2960, "frag_off %u, want 2960",
	    back.frag_off);
	ck_assert_uint_eq(back.ttl, r.ttl);
	ck_assert_uint_eq(back.proto, r.proto);
	ck_assert_uint_eq(back.src, r.src);
	ck_assert_uint_eq(back.dst, r.dst);
	ck_assert(ipv4_is_multicast(back.dst));
	ck_assert(!ipv4_is_multicast(back.src));
}
END_TEST

START_TEST(test_ipv4_truncated_at_every_length_rejected)
{
	struct ipv4_repr r;
	enum wire_err err;
	size_t len;

	for (len = 0; len < sizeof(ip_echo); len++) {
		err = parse_copy(ip_echo, len, &r);
		ck_assert_msg(err == WIRE_ETRUNC,
		    "%zu of 76 bytes: got %s, want truncated", len,
		    wire_strerror(err));
	}
	/* Cut inside the options: the IHL says more than is there. */
	for (len = 0; len < sizeof(ip_opts); len++) {
		err = parse_copy(ip_opts, len, &r);
		if (len >= IPV4_HLEN && len < 32)
			ck_assert_msg(err == WIRE_EHLEN,
			    "%zu of 40 bytes (IHL 32): got %s, want bad header "
			    "length", len, wire_strerror(err));
		else
			ck_assert_msg(err == WIRE_ETRUNC,
			    "%zu of 40 bytes: got %s, want truncated", len,
			    wire_strerror(err));
	}
}
END_TEST

START_TEST(test_ipv4_link_padding_after_total_len_ignored)
{
	uint8_t frame[60];
	struct ipv4_repr r;

	/* 40-byte datagram in a 60-byte minimum Ethernet payload... */
	memset(frame, 0xa5, sizeof(frame));
	memcpy(frame, ip_opts, sizeof(ip_opts));
	EXPECT_ERR(parse_copy(frame, sizeof(frame), &r), WIRE_OK);
	ck_assert_msg(r.total_len == 40, "total_len %u, want 40", r.total_len);
	ck_assert_uint_eq(r.hlen, 32);
}
END_TEST

START_TEST(test_ipv4_bad_checksum_rejected)
{
	uint8_t p[sizeof(ip_echo)];
	struct ipv4_repr r;

	memcpy(p, ip_echo, sizeof(p));
	p[11] ^= 0x01;
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ECSUM);
	memcpy(p, ip_echo, sizeof(p));
	p[8] = 63;                      /* TTL changed, checksum not */
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ECSUM);
	/* A payload change does not affect the header checksum. */
	memcpy(p, ip_echo, sizeof(p));
	p[40] ^= 0xff;
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_OK);
}
END_TEST

START_TEST(test_ipv4_bad_checksum_in_options_rejected)
{
	uint8_t p[sizeof(ip_opts)];
	struct ipv4_repr r;

	memcpy(p, ip_opts, sizeof(p));
	p[25] = 0x0a;                   /* inside the RR slots */
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ECSUM);
}
END_TEST

START_TEST(test_ipv4_wrong_version_rejected)
{
	uint8_t p[sizeof(ip_echo)];
	struct ipv4_repr r;

	memcpy(p, ip_echo, sizeof(p));
	p[0] = 0x65;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_EVERSION);
	p[0] = 0x05;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_EVERSION);
}
END_TEST

START_TEST(test_ipv4_bad_header_length_rejected)
{
	uint8_t p[sizeof(ip_echo)];
	struct ipv4_repr r;
	int ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		memcpy(p, ip_echo, sizeof(p));
		p[0] = (uint8_t)(0x40 | ihl);
		EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_EHLEN);
	}
	/* IHL 15 (60 bytes) in a 40-byte buffer. */
	memcpy(p, ip_opts, sizeof(ip_opts));
	p[0] = 0x4f;
	EXPECT_ERR(parse_copy(p, sizeof(ip_opts), &r), WIRE_EHLEN);
}
END_TEST

START_TEST(test_ipv4_bad_total_length_rejected)
{
	uint8_t p[sizeof(ip_opts)];
	struct ipv4_repr r;

	/* total_len below the header length (32 with options). */
	memcpy(p, ip_opts, sizeof(p));
	p[2] = 0; p[3] = 31;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ELEN);
	p[3] = 0;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ELEN);
	/* total_len equal to hlen: empty payload is fine. */
	p[3] = 32;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_OK);
	ck_assert_uint_eq(r.total_len, 32);
	/* total_len past the bytes received. */
	p[3] = 41;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ETRUNC);
	p[2] = 0xff; p[3] = 0xff;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_ETRUNC);
}
END_TEST

START_TEST(test_ipv4_options_nop_eol_rr_skipped)
{
	uint8_t p[sizeof(ip_opts)];
	struct ipv4_repr r;

	EXPECT_ERR(parse_copy(ip_opts, sizeof(ip_opts), &r), WIRE_OK);
	ck_assert_msg(r.hlen == 32, "hlen %u, want 32", r.hlen);
	ck_assert_uint_eq(r.proto, IPPROTO_UDP_);
	ck_assert_uint_eq(r.id, 0x0100);

	/* EOL ends the list: what follows it is not looked at. */
	memcpy(p, ip_opts, sizeof(p));
	p[20] = 0x00;                   /* EOL */
	p[21] = 0x44;                   /* would be a bad option */
	p[22] = 0x00;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_OK);

	/* All NOPs. */
	memset(p + 20, 0x01, 12);
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_OK);

	/* An option filling the header exactly (type 0x44, length 12). */
	p[20] = 0x44; p[21] = 12;
	fix_csum(p);
	EXPECT_ERR(parse_copy(p, sizeof(p), &r), WIRE_OK);
}
END_TEST

/* Set ip_opts' 12 option bytes and fix the checksum. */
static enum wire_err
parse_with_opts(const uint8_t opts[12])
{
	uint8_t p[sizeof(ip_opts)];
	struct ipv4_repr r;

	memcpy(p, ip_opts, sizeof(p));
	memcpy(p + 20, opts, 12);
	fix_csum(p);
	return parse_copy(p, sizeof(p), &r);
}

START_TEST(test_ipv4_malformed_options_rejected)
{
	const uint8_t len0[12] = { 0x01, 0x07, 0x00, 0x04 };
	const uint8_t len1[12] = { 0x07, 0x01, 0x04 };
	const uint8_t past[12] = { 0x01, 0x07, 0x0c, 0x04 };       /* 1 + 12 */
	const uint8_t way_past[12] = { 0x07, 0xff, 0x04 };
	const uint8_t no_len[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0x07 };
	const uint8_t second_bad[12] = { 0x07, 0x07, 0x04, 0, 0, 0, 0,
		0x44, 0x06, 0, 0, 0 };

	EXPECT_ERR(parse_with_opts(len0), WIRE_EOPT);
	EXPECT_ERR(parse_with_opts(len1), WIRE_EOPT);
	EXPECT_ERR(parse_with_opts(past), WIRE_EOPT);
	EXPECT_ERR(parse_with_opts(way_past), WIRE_EOPT);
	EXPECT_ERR(parse_with_opts(no_len), WIRE_EOPT);
	EXPECT_ERR(parse_with_opts(second_bad), WIRE_EOPT);
}
END_TEST

/* A header with the given fragment word and payload length. */
static enum wire_err
parse_frag(uint16_t frag, size_t plen, struct ipv4_repr *r)
{
	static uint8_t p[IPV4_MAXLEN];
	size_t tlen = IPV4_HLEN + plen;

	memset(p, 0, tlen);
	memcpy(p, ip_echo, IPV4_HLEN);
	p[2] = (uint8_t)(tlen >> 8); p[3] = (uint8_t)tlen;
	p[6] = (uint8_t)(frag >> 8); p[7] = (uint8_t)frag;
	fix_csum(p);
	return ipv4_parse(p, tlen, r);
}

START_TEST(test_ipv4_fragment_rules)
{
	struct ipv4_repr r;

	/* RFC 791 3.2: non-last fragments carry 8n data bytes. */
	EXPECT_ERR(parse_frag(IPV4_FLAG_MF, 1480, &r), WIRE_OK);
	ck_assert(r.mf && r.frag_off == 0);
	EXPECT_ERR(parse_frag(IPV4_FLAG_MF | 185, 1481, &r), WIRE_ELEN);
	EXPECT_ERR(parse_frag(IPV4_FLAG_MF | 185, 7, &r), WIRE_ELEN);
	/* The last fragment may be any length. */
	EXPECT_ERR(parse_frag(185, 1001, &r), WIRE_OK);
	ck_assert_msg(r.frag_off == 1480 && !r.mf,
	    "frag_off %u mf %d, want 1480 and no MF", r.frag_off, r.mf);
	/* Offset 65528 plus 7 bytes ends at 65535 exactly... */
	EXPECT_ERR(parse_frag(IPV4_OFFMASK, 7, &r), WIRE_OK);
	ck_assert_uint_eq(r.frag_off, 65528);
	/* ...one more byte would not fit in a reassembled datagram. */
	EXPECT_ERR(parse_frag(IPV4_OFFMASK, 8, &r), WIRE_ELEN);
	EXPECT_ERR(parse_frag(1000, 65535 - IPV4_HLEN, &r), WIRE_ELEN);
}
END_TEST

START_TEST(test_ipv4_ntoa_dotted_quad)
{
	char s[16];

	ck_assert_str_eq(ipv4_ntoa(0x0a000002, s), "10.0.0.2");
	ck_assert_str_eq(ipv4_ntoa(0xffffffff, s), "255.255.255.255");
	ck_assert_str_eq(ipv4_ntoa(0, s), "0.0.0.0");
	ck_assert_str_eq(ipv4_ntoa(0xc0a8010a, s), "192.168.1.10");
}
END_TEST

static Suite *
ipv4_suite(void)
{
	Suite *s = suite_create("wire_ipv4");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ipv4_parse_echo_request_fields);
	tcase_add_test(tc, test_ipv4_emit_matches_fixture);
	tcase_add_test(tc, test_ipv4_emit_parse_round_trip_fragment);
	tcase_add_test(tc, test_ipv4_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_ipv4_link_padding_after_total_len_ignored);
	tcase_add_test(tc, test_ipv4_bad_checksum_rejected);
	tcase_add_test(tc, test_ipv4_bad_checksum_in_options_rejected);
	tcase_add_test(tc, test_ipv4_wrong_version_rejected);
	tcase_add_test(tc, test_ipv4_bad_header_length_rejected);
	tcase_add_test(tc, test_ipv4_bad_total_length_rejected);
	tcase_add_test(tc, test_ipv4_options_nop_eol_rr_skipped);
	tcase_add_test(tc, test_ipv4_malformed_options_rejected);
	tcase_add_test(tc, test_ipv4_fragment_rules);
	tcase_add_test(tc, test_ipv4_ntoa_dotted_quad);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ipv4_suite)
