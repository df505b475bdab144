/* test_wire_arp.c - ARP packets (RFC 826). */
#include <check.h>
#include <string.h>

#include "arp.h"
#include "check_main.h"
#include "wire_testutil.h"

/* A real ARP request frame: who-has 10.0.0.1 tell 10.0.0.2 from
 * 02:00:00:00:00:02, padded to 60 bytes; the ARP packet is at 14. */
static const uint8_t arp_frame[60] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x08, 0x06, 0x00, 0x01,
	0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x02,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
};
#define ARP_REQ         (arp_frame + ETH_HLEN)
#define ARP_REQ_PADDED  (sizeof(arp_frame) - ETH_HLEN)

/* The reply: 10.0.0.1 is-at 52:54:00:12:34:56, to 10.0.0.2. */
static const uint8_t arp_reply[ARP_LEN] = {
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x0a, 0x00,
	0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02,
	0x0a, 0x00, 0x00, 0x02,
};

static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_b[ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_zero[ETH_ALEN];

START_TEST(test_arp_parse_request_with_padding)
{
	struct arp_repr r;

	EXPECT_ERR(arp_parse(ARP_REQ, ARP_REQ_PADDED, &r), WIRE_OK);
	ck_assert_msg(r.op == ARP_OP_REQUEST, "op %u, want request", r.op);
	EXPECT_BYTES(r.sha, mac_a, ETH_ALEN);
	ck_assert_msg(r.spa == 0x0a000002, "spa 0x%08x, want 10.0.0.2", r.spa);
	EXPECT_BYTES(r.tha, mac_zero, ETH_ALEN);
	ck_assert_msg(r.tpa == 0x0a000001, "tpa 0x%08x, want 10.0.0.1", r.tpa);
}
END_TEST

START_TEST(test_arp_parse_reply)
{
	struct arp_repr r;

	EXPECT_ERR(arp_parse(arp_reply, sizeof(arp_reply), &r), WIRE_OK);
	ck_assert_uint_eq(r.op, ARP_OP_REPLY);
	EXPECT_BYTES(r.sha, mac_b, ETH_ALEN);
	ck_assert_uint_eq(r.spa, 0x0a000001);
	EXPECT_BYTES(r.tha, mac_a, ETH_ALEN);
	ck_assert_uint_eq(r.tpa, 0x0a000002);
}
END_TEST

START_TEST(test_arp_emit_matches_fixtures)
{
	struct arp_repr req = { .op = ARP_OP_REQUEST, .spa = 0x0a000002,
		.tpa = 0x0a000001 };
	struct arp_repr rep = { .op = ARP_OP_REPLY, .spa = 0x0a000001,
		.tpa = 0x0a000002 };
	uint8_t buf[ARP_LEN + 1];

	memcpy(req.sha, mac_a, ETH_ALEN);
	memset(req.tha, 0, ETH_ALEN);
	memset(buf, 0xee, sizeof(buf));
	arp_emit(&req, buf);
	EXPECT_BYTES(buf, ARP_REQ, ARP_LEN);
	ck_assert_msg(buf[ARP_LEN] == 0xee, "arp_emit wrote past 28 bytes");

	memcpy(rep.sha, mac_b, ETH_ALEN);
	memcpy(rep.tha, mac_a, ETH_ALEN);
	arp_emit(&rep, buf);
	EXPECT_BYTES(buf, arp_reply, ARP_LEN);
}
END_TEST

START_TEST(test_arp_emit_parse_round_trip)
{
	struct arp_repr r = { .op = ARP_OP_REPLY, .spa = 0xc0a80101,
		.tpa = 0xffffffff }, back;
	uint8_t buf[ARP_LEN];

	memcpy(r.sha, mac_b, ETH_ALEN);
	memcpy(r.tha, eth_broadcast, ETH_ALEN);
	arp_emit(&r, buf);
	EXPECT_ERR(arp_parse(buf, sizeof(buf), &back), WIRE_OK);
	ck_assert_uint_eq(back.op, r.op);
	EXPECT_BYTES(back.sha, r.sha, ETH_ALEN);
	ck_assert_uint_eq(back.spa, r.spa);
	EXPECT_BYTES(back.tha, r.tha, ETH_ALEN);
	ck_assert_uint_eq(back.tpa, r.tpa);
}
END_TEST

START_TEST(test_arp_truncated_at_every_length_rejected)
{
	struct arp_repr r;
	enum wire_err err;
	uint8_t *p;
	size_t len;

	for (len = 0; len < ARP_LEN; len++) {
		p = exact_copy(ARP_REQ, len);
		err = arp_parse(p, len, &r);
		ck_assert_msg(err == WIRE_ETRUNC,
		    "%zu-byte packet: got %s, want truncated", len,
		    wire_strerror(err));
		free(p);
	}
	p = exact_copy(ARP_REQ, ARP_LEN);
	EXPECT_ERR(arp_parse(p, ARP_LEN, &r), WIRE_OK);
	free(p);
}
END_TEST

/* Mutate one byte of the request and expect err. */
static void
expect_mutation(size_t off, uint8_t val, enum wire_err want)
{
	uint8_t p[ARP_LEN];
	struct arp_repr r;

	memcpy(p, ARP_REQ, ARP_LEN);
	p[off] = val;
	ck_assert_msg(arp_parse(p, sizeof(p), &r) == want,
	    "byte %zu = 0x%02x: got %s, want %s", off, val,
	    wire_strerror(arp_parse(p, sizeof(p), &r)), wire_strerror(want));
}

START_TEST(test_arp_non_ethernet_ipv4_unsupported)
{
	expect_mutation(1, 6, WIRE_EUNSUPP);    /* hrd 6: IEEE 802 */
	expect_mutation(0, 1, WIRE_EUNSUPP);    /* hrd 0x0101 */
	expect_mutation(2, 0x86, WIRE_EUNSUPP); /* pro 0x8600 */
	expect_mutation(3, 0x06, WIRE_EUNSUPP); /* pro 0x0806 */
	expect_mutation(4, 8, WIRE_EUNSUPP);    /* hln 8 */
	expect_mutation(5, 16, WIRE_EUNSUPP);   /* pln 16 */
}
END_TEST

START_TEST(test_arp_bad_opcode_rejected)
{
	expect_mutation(7, 0, WIRE_EFIELD);
	expect_mutation(7, 3, WIRE_EFIELD);     /* RARP request */
	expect_mutation(6, 1, WIRE_EFIELD);     /* 0x0101 */
	expect_mutation(7, 2, WIRE_OK);
}
END_TEST

static Suite *
arp_suite(void)
{
	Suite *s = suite_create("wire_arp");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_arp_parse_request_with_padding);
	tcase_add_test(tc, test_arp_parse_reply);
	tcase_add_test(tc, test_arp_emit_matches_fixtures);
	tcase_add_test(tc, test_arp_emit_parse_round_trip);
	tcase_add_test(tc, test_arp_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_arp_non_ethernet_ipv4_unsupported);
	tcase_add_test(tc, test_arp_bad_opcode_rejected);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(arp_suite)
