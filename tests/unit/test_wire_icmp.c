/* test_wire_icmp.c - ICMPv4 messages (RFC 792). */
#include <check.h>
#include <string.h>

#include "icmp.h"
#include "check_main.h"
#include "wire_testutil.h"

/* An echo request as ping(8) sends it: id 0x1234, seq 1, 48-byte body;
 * checksum 0xc170 computed independently (python3). */
static const uint8_t icmp_echo[56] = {
	0x08, 0x00, 0xc1, 0x70, 0x12, 0x34, 0x00, 0x01,
	0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
	0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
};

static enum wire_err
parse_copy(const uint8_t *p, size_t len, struct icmp_repr *r)
{
	uint8_t *c = exact_copy(p, len);
	enum wire_err err = icmp_parse(c, len, r);

	free(c);
	return err;
}

START_TEST(test_icmp_parse_echo_request_fields)
{
	struct icmp_repr r;

	EXPECT_ERR(parse_copy(icmp_echo, sizeof(icmp_echo), &r), WIRE_OK);
	ck_assert_msg(r.type == ICMP_ECHO, "type %u, want 8", r.type);
	ck_assert_uint_eq(r.code, 0);
	ck_assert_msg(r.echo.id == 0x1234, "id 0x%04x, want 0x1234", r.echo.id);
	ck_assert_msg(r.echo.seq == 1, "seq %u, want 1", r.echo.seq);
}
END_TEST

START_TEST(test_icmp_emit_echo_request_matches_fixture)
{
	struct icmp_repr r = { .type = ICMP_ECHO, .code = 0,
		.echo = { .id = 0x1234, .seq = 1 } };
	uint8_t buf[sizeof(icmp_echo)];

	memset(buf, 0xee, ICMP_HLEN);
	memcpy(buf + ICMP_HLEN, icmp_echo + ICMP_HLEN,
	    sizeof(icmp_echo) - ICMP_HLEN);
	icmp_emit(&r, buf, sizeof(icmp_echo) - ICMP_HLEN);
	EXPECT_BYTES(buf, icmp_echo, sizeof(icmp_echo));
}
END_TEST

START_TEST(test_icmp_echo_reply_round_trip_odd_body)
{
	struct icmp_repr r = { .type = ICMP_ECHOREPLY,
		.echo = { .id = 0xfffe, .seq = 0x8001 } }, back;
	uint8_t buf[ICMP_HLEN + 5] = { [8] = 'h', 'e', 'l', 'l', 'o' };

	icmp_emit(&r, buf, 5);
	ck_assert_msg(ref_csum(buf, sizeof(buf)) == 0,
	    "emitted message does not verify with the reference checksum");
	EXPECT_ERR(icmp_parse(buf, sizeof(buf), &back), WIRE_OK);
	ck_assert_uint_eq(back.type, ICMP_ECHOREPLY);
	ck_assert_uint_eq(back.echo.id, 0xfffe);
	ck_assert_uint_eq(back.echo.seq, 0x8001);
}
END_TEST

START_TEST(test_icmp_frag_needed_round_trip_keeps_mtu)
{
	/* Body: the offending IP header + 8 bytes, as RFC 792 says. */
	struct icmp_repr r = { .type = ICMP_DEST_UNREACH,
		.code = ICMP_FRAG_NEEDED, .rest = 1400 }, back;
	uint8_t buf[ICMP_HLEN + 28];
	const uint8_t want_hdr[4] = { 0x00, 0x00, 0x05, 0x78 };

	memset(buf + ICMP_HLEN, 0x45, 28);
	icmp_emit(&r, buf, 28);
	EXPECT_BYTES(buf + 4, want_hdr, 4);
	EXPECT_ERR(icmp_parse(buf, sizeof(buf), &back), WIRE_OK);
	ck_assert_uint_eq(back.type, ICMP_DEST_UNREACH);
	ck_assert_uint_eq(back.code, ICMP_FRAG_NEEDED);
	ck_assert_msg(back.rest == 1400, "rest %u, want MTU 1400", back.rest);
}
END_TEST

START_TEST(test_icmp_parameter_problem_pointer_in_top_byte)
{
	struct icmp_repr r = { .type = ICMP_PARAMETERPROB, .rest = 9u << 24 },
		back;
	uint8_t buf[ICMP_HLEN];

	icmp_emit(&r, buf, 0);
	ck_assert_msg(buf[4] == 9 && buf[5] == 0 && buf[6] == 0 && buf[7] == 0,
	    "pointer bytes %02x %02x %02x %02x, want 09 00 00 00",
	    buf[4], buf[5], buf[6], buf[7]);
	EXPECT_ERR(icmp_parse(buf, sizeof(buf), &back), WIRE_OK);
	ck_assert_uint_eq(back.rest >> 24, 9);
}
END_TEST

START_TEST(test_icmp_truncated_at_every_length_rejected)
{
	struct icmp_repr r;
	enum wire_err err;
	size_t len;

	for (len = 0; len < sizeof(icmp_echo); len++) {
		err = parse_copy(icmp_echo, len, &r);
		/* Past 8 bytes the checksum covers what is there. */
		ck_assert_msg(err == (len < ICMP_HLEN ? WIRE_ETRUNC : WIRE_ECSUM),
		    "%zu of 56 bytes: got %s", len, wire_strerror(err));
	}
}
END_TEST

START_TEST(test_icmp_bad_checksum_rejected)
{
	uint8_t p[sizeof(icmp_echo)];
	struct icmp_repr r;
	size_t i;

	for (i = 0; i < sizeof(p); i++) {
		memcpy(p, icmp_echo, sizeof(p));
		p[i] ^= 0x40;
		ck_assert_msg(parse_copy(p, sizeof(p), &r) == WIRE_ECSUM,
		    "flipping a bit of byte %zu was not caught", i);
	}
}
END_TEST

static Suite *
icmp_suite(void)
{
	Suite *s = suite_create("wire_icmp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_icmp_parse_echo_request_fields);
	tcase_add_test(tc, test_icmp_emit_echo_request_matches_fixture);
	tcase_add_test(tc, test_icmp_echo_reply_round_trip_odd_body);
	tcase_add_test(tc, test_icmp_frag_needed_round_trip_keeps_mtu);
	tcase_add_test(tc, test_icmp_parameter_problem_pointer_in_top_byte);
	tcase_add_test(tc, test_icmp_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_icmp_bad_checksum_rejected);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(icmp_suite)
