/* test_wire_ether.c - Ethernet II header parse/emit and MAC text forms. */
#include <check.h>
#include <string.h>

#include "ether.h"
#include "check_main.h"
#include "wire_testutil.h"

/* A real ARP request frame: who-has 10.0.0.1 tell 10.0.0.2, broadcast,
 * padded to the 60-byte minimum. */
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

static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

START_TEST(test_eth_parse_arp_frame_fields)
{
	struct eth_repr r;

	EXPECT_ERR(eth_parse(arp_frame, sizeof(arp_frame), &r), WIRE_OK);
	EXPECT_BYTES(r.dst, eth_broadcast, ETH_ALEN);
	EXPECT_BYTES(r.src, mac_a, ETH_ALEN);
	ck_assert_msg(r.type == ETHERTYPE_ARP, "type 0x%04x, want 0x0806", r.type);
}
END_TEST

START_TEST(test_eth_emit_matches_fixture)
{
	struct eth_repr r;
	uint8_t buf[ETH_HLEN + 2];

	memcpy(r.dst, eth_broadcast, ETH_ALEN);
	memcpy(r.src, mac_a, ETH_ALEN);
	r.type = ETHERTYPE_ARP;
	memset(buf, 0xee, sizeof(buf));
	eth_emit(&r, buf);
	EXPECT_BYTES(buf, arp_frame, ETH_HLEN);
	ck_assert_msg(buf[ETH_HLEN] == 0xee && buf[ETH_HLEN + 1] == 0xee,
	    "eth_emit wrote past the 14-byte header");
}
END_TEST

START_TEST(test_eth_emit_parse_round_trip)
{
	struct eth_repr r = {
		.dst = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },
		.src = { 0x02, 0xab, 0xcd, 0xef, 0x01, 0x23 },
		.type = ETHERTYPE_IPV4,
	}, back;
	uint8_t buf[ETH_HLEN];

	eth_emit(&r, buf);
	EXPECT_ERR(eth_parse(buf, sizeof(buf), &back), WIRE_OK);
	EXPECT_BYTES(back.dst, r.dst, ETH_ALEN);
	EXPECT_BYTES(back.src, r.src, ETH_ALEN);
	ck_assert_uint_eq(back.type, ETHERTYPE_IPV4);
}
END_TEST

START_TEST(test_eth_truncated_at_every_length_rejected)
{
	struct eth_repr r;
	uint8_t *p;
	size_t len;

	for (len = 0; len < ETH_HLEN; len++) {
		p = exact_copy(arp_frame, len);
		ck_assert_msg(eth_parse(p, len, &r) == WIRE_ETRUNC,
		    "%zu-byte frame: got %s, want truncated", len,
		    wire_strerror(eth_parse(p, len, &r)));
		free(p);
	}
	p = exact_copy(arp_frame, ETH_HLEN);
	EXPECT_ERR(eth_parse(p, ETH_HLEN, &r), WIRE_OK);
	free(p);
}
END_TEST

START_TEST(test_eth_8023_length_field_unsupported)
{
	struct eth_repr r;
	uint8_t f[ETH_HLEN];

	memcpy(f, arp_frame, ETH_HLEN);
	f[12] = 0x05; f[13] = 0xdc;     /* 1500: an 802.3 length */
	EXPECT_ERR(eth_parse(f, sizeof(f), &r), WIRE_EUNSUPP);
	f[12] = 0x05; f[13] = 0xff;
	EXPECT_ERR(eth_parse(f, sizeof(f), &r), WIRE_EUNSUPP);
	f[12] = 0x06; f[13] = 0x00;     /* first EtherType value */
	EXPECT_ERR(eth_parse(f, sizeof(f), &r), WIRE_OK);
	ck_assert_uint_eq(r.type, 0x0600);
}
END_TEST

START_TEST(test_eth_broadcast_and_multicast_predicates)
{
	const uint8_t mcast[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	const uint8_t almost[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };

	ck_assert(eth_is_broadcast(eth_broadcast));
	ck_assert(eth_is_multicast(eth_broadcast));
	ck_assert(!eth_is_broadcast(mcast));
	ck_assert(eth_is_multicast(mcast));
	ck_assert(!eth_is_broadcast(almost));
	ck_assert(!eth_is_multicast(mac_a));
}
END_TEST

START_TEST(test_eth_ntoa_lowercase_colon_form)
{
	const uint8_t mac[ETH_ALEN] = { 0x52, 0x54, 0x00, 0xAB, 0x0c, 0xff };
	char s[18];

	memset(s, 'x', sizeof(s));
	ck_assert_ptr_eq(eth_ntoa(mac, s), s);
	ck_assert_str_eq(s, "52:54:00:ab:0c:ff");
}
END_TEST

START_TEST(test_eth_aton_accepts_valid_forms)
{
	uint8_t mac[ETH_ALEN];
	const uint8_t want[ETH_ALEN] = { 0x52, 0x54, 0x00, 0xab, 0x0c, 0xff };
	const uint8_t want1[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
	char s[18];

	ck_assert_int_eq(eth_aton("52:54:00:ab:0c:ff", mac), 0);
	EXPECT_BYTES(mac, want, ETH_ALEN);
	ck_assert_int_eq(eth_aton("52:54:00:AB:0C:FF", mac), 0);
	EXPECT_BYTES(mac, want, ETH_ALEN);
	/* One digit per byte, as ether_aton(3) allows. */
	ck_assert_int_eq(eth_aton("2:0:0:0:0:a", mac), 0);
	EXPECT_BYTES(mac, want1, ETH_ALEN);
	ck_assert_int_eq(eth_aton(eth_ntoa(want, s), mac), 0);
	EXPECT_BYTES(mac, want, ETH_ALEN);
}
END_TEST

START_TEST(test_eth_aton_rejects_malformed_and_leaves_mac)
{
	static const char *const bad[] = {
		"", "52:54:00:ab:0c", "52:54:00:ab:0c:ff:", "52:54:00:ab:0c:ff:00",
		"52-54-00-ab-0c-ff", "52:54:00:ab:0c:fg", "525:4:00:ab:0c:ff",
		"52:54::ab:0c:ff", ":52:54:00:ab:0c", "52:54:00:ab:0c:ff ",
		" 52:54:00:ab:0c:ff", "52:54:00:ab:0c:fff",
	};
	uint8_t mac[ETH_ALEN];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, mac_a, ETH_ALEN);
		ck_assert_msg(eth_aton(bad[i], mac) == -1,
		    "eth_aton accepted \"%s\"", bad[i]);
		EXPECT_BYTES(mac, mac_a, ETH_ALEN);
	}
}
END_TEST

static Suite *
ether_suite(void)
{
	Suite *s = suite_create("wire_ether");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_eth_parse_arp_frame_fields);
	tcase_add_test(tc, test_eth_emit_matches_fixture);
	tcase_add_test(tc, test_eth_emit_parse_round_trip);
	tcase_add_test(tc, test_eth_truncated_at_every_length_rejected);
	tcase_add_test(tc, test_eth_8023_length_field_unsupported);
	tcase_add_test(tc, test_eth_broadcast_and_multicast_predicates);
	tcase_add_test(tc, test_eth_ntoa_lowercase_colon_form);
	tcase_add_test(tc, test_eth_aton_accepts_valid_forms);
	tcase_add_test(tc, test_eth_aton_rejects_malformed_and_leaves_mac);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ether_suite)
