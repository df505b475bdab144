/* test_wire_udp.c - UDP headers (RFC 768, RFC 1122 4.1.3.4). */
#include <check.h>
#include <string.h>

#include "udp.h"
#include "check_main.h"
#include "wire_testutil.h"

#define SRC     0x0a000002      /* 10.0.0.2 */
#define DST     0x0a000001      /* 10.0.0.1 */

/* 10.0.0.2:40000 -> 10.0.0.1:7 "hello\n"; checksum 0x0bac over the
 * pseudo-header, computed independently (python3). */
static const uint8_t udp_dgram[14] = {
	0x9c, 0x40, 0x00, 0x07, 0x00, 0x0e, 0x0b, 0xac,
	0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a,
};

static enum wire_err
parse_copy(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
    struct udp_repr *r)
{
	uint8_t *c = exact_copy(p, len);
	enum wire_err err = udp_parse(c, len, src, dst, r);

	free(c);
	return err;
}

START_TEST(test_udp_parse_datagram_fields)
{
	struct udp_repr r;

	EXPECT_ERR(parse_copy(udp_dgram, sizeof(udp_dgram), SRC, DST, &r),
	    WIRE_OK);
	ck_assert_msg(r.sport == 40000, "sport %u, want 40000", r.sport);
	ck_assert_msg(r.dport == 7, "dport %u, want 7", r.dport);
	ck_assert_msg(r.len == 14, "len %u, want 14", r.len);
}
END_TEST

START_TEST(test_udp_emit_matches_fixture)
{
	struct udp_repr r = { .sport = 40000, .dport = 7, .len = 14 };
	uint8_t buf[sizeof(udp_dgram)];

	memset(buf, 0xee, UDP_HLEN);
	memcpy(buf + UDP_HLEN, "hello\n", 6);
	udp_emit(&r, buf, SRC, DST);
	EXPECT_BYTES(buf, udp_dgram, sizeof(udp_dgram));
}
END_TEST

START_TEST(test_udp_emit_parse_round_trip_odd_payload)
{
	struct udp_repr r = { .sport = 53, .dport = 33333, .len = 8 + 5 }, back;
	uint8_t buf[13] = { [8] = 1, 2, 3, 4, 5 };

	udp_emit(&r, buf, 0xc0a80101, 0x08080808);
	ck_assert_msg(ref_csum_pseudo(0xc0a80101, 0x08080808, 17, buf, 13) == 0,
	    "emitted datagram does not verify with the reference checksum");
	EXPECT_ERR(udp_parse(buf, sizeof(buf), 0xc0a80101, 0x08080808, &back),
	    WIRE_OK);
	ck_assert_uint_eq(back.sport, 53);
	ck_assert_uint_eq(back.dport, 33333);
	ck_assert_uint_eq(back.len, 13);
}
END_TEST

START_TEST(test_udp_truncated_at_every_length_rejected)
{
	struct udp_repr r;
	enum wire_err err;
	size_t len;

	for (len = 0; len < sizeof(udp_dgram); len++) {
		err = parse_copy(udp_dgram, len, SRC, DST, &r);
		/* From 8 bytes on, the length field (14) is past the end. */
		ck_assert_msg(err == (len < UDP_HLEN ? WIRE_ETRUNC : WIRE_ELEN),
		    "%zu of 14 bytes: got %s", len, wire_strerror(err));
	}
}
END_TEST

START_TEST(test_udp_bad_length_field_rejected)
{
	uint8_t p[sizeof(udp_dgram)];
	struct udp_repr r;
	uint8_t bad;

	memcpy(p, udp_dgram, sizeof(p));
	for (bad = 0; bad < UDP_HLEN; bad++) {
		p[4] = 0; p[5] = bad;
		ck_assert_msg(parse_copy(p, sizeof(p), SRC, DST, &r) == WIRE_ELEN,
		    "length field %u below 8 accepted", bad);
	}
	p[4] = 0; p[5] = 15;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ELEN);
	p[4] = 0xff; p[5] = 0xff;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ELEN);
}
END_TEST

START_TEST(test_udp_bytes_past_length_field_ignored)
{
	uint8_t p[sizeof(udp_dgram) + 4];
	struct udp_repr r;

	memcpy(p, udp_dgram, sizeof(udp_dgram));
	memset(p + sizeof(udp_dgram), 0x5a, 4);
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_OK);
	ck_assert_msg(r.len == 14, "len %u, want 14 (padding not counted)",
	    r.len);
}
END_TEST

START_TEST(test_udp_bad_checksum_rejected)
{
	uint8_t p[sizeof(udp_dgram)];
	struct udp_repr r;

	memcpy(p, udp_dgram, sizeof(p));
	p[13] = 'X';
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ECSUM);
	memcpy(p, udp_dgram, sizeof(p));
	p[7] ^= 1;
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_ECSUM);
}
END_TEST

START_TEST(test_udp_pseudo_header_mismatch_rejected)
{
	struct udp_repr r;

	EXPECT_ERR(parse_copy(udp_dgram, sizeof(udp_dgram), SRC, 0x0a000003, &r),
	    WIRE_ECSUM);
	EXPECT_ERR(parse_copy(udp_dgram, sizeof(udp_dgram), DST, SRC, &r),
	    WIRE_OK);   /* swapping src and dst keeps the sum */
}
END_TEST

START_TEST(test_udp_zero_checksum_means_none)
{
	uint8_t p[sizeof(udp_dgram)];
	struct udp_repr r;

	/* RFC 768: zero means the sender computed none; the payload is not
	 * what the original checksum covered, and that is fine. */
	memcpy(p, udp_dgram, sizeof(p));
	p[6] = p[7] = 0;
	p[8] = 'J';
	EXPECT_ERR(parse_copy(p, sizeof(p), SRC, DST, &r), WIRE_OK);
	ck_assert_uint_eq(r.len, 14);
}
END_TEST

START_TEST(test_udp_computed_zero_checksum_sent_as_ffff)
{
	/* 10.0.0.2:40000 -> 10.0.0.1:7, payload 4f 90: the one's complement
	 * sum is ffff, so the checksum computes to 0 (python3). */
	struct udp_repr r = { .sport = 40000, .dport = 7, .len = 10 }, back;
	uint8_t buf[10] = { [8] = 0x4f, 0x90 };

	udp_emit(&r, buf, SRC, DST);
	ck_assert_msg(buf[6] == 0xff && buf[7] == 0xff,
	    "checksum field %02x%02x, want ffff for a computed zero",
	    buf[6], buf[7]);
	EXPECT_ERR(udp_parse(buf, sizeof(buf), SRC, DST, &back), WIRE_OK);
	ck_assert_uint_eq(back.len, 10);
}
END_TEST

static Suite *
udp_suite(void)
{
	Suite *s = suite_create("wire_udp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_udp_parse_datagram_fields);
	tcase_add_test(tc, test_udp_emit_matches_fixture);
	tcase_add_test(tc, test_udp_emit_parse_round_trip_odd_payload);
	tcase_add_test(tc, test_udp_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_udp_bad_length_field_rejected);
	tcase_add_test(tc, test_udp_bytes_past_length_field_ignored);
	tcase_add_test(tc, test_udp_bad_checksum_rejected);
	tcase_add_test(tc, test_udp_pseudo_header_mismatch_rejected);
	tcase_add_test(tc, test_udp_zero_checksum_means_none);
	tcase_add_test(tc, test_udp_computed_zero_checksum_sent_as_ffff);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(udp_suite)
