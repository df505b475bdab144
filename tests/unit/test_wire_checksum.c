/* test_wire_checksum.c - the Internet checksum (RFC 1071) and wire_strerror. */
#include <check.h>
#include <string.h>

#include "checksum.h"
#include "check_main.h"
#include "wire_testutil.h"

/* RFC 1071 3 "Numerical Examples": the words 0001 f203 f4f5 f6f7 sum to
 * ddf2 (carries folded); the checksum is its complement. */
static const uint8_t rfc1071_example[8] = {
	0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7,
};

/* A real IPv4 header (10.0.0.2 -> 10.0.0.1, ICMP); checksum 0x0a69
 * computed independently with python3. */
static const uint8_t ip_hdr[20] = {
	0x45, 0x00, 0x00, 0x4c, 0x1c, 0x46, 0x40, 0x00,
	0x40, 0x01, 0x0a, 0x69, 0x0a, 0x00, 0x00, 0x02,
	0x0a, 0x00, 0x00, 0x01,
};

/* Deterministic bytes for comparisons against the reference. */
static void
fill_lcg(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

START_TEST(test_checksum_rfc1071_numerical_example)
{
	uint32_t sum = csum_add(0, rfc1071_example, sizeof(rfc1071_example));
	uint32_t folded = sum;

	while (folded >> 16)
		folded = (folded & 0xffff) + (folded >> 16);
	ck_assert_msg(folded == 0xddf2, "folded sum 0x%04x, want 0xddf2", folded);
	ck_assert_msg(csum_finish(sum) == 0x220d,
	    "checksum 0x%04x, want 0x220d", csum_finish(sum));
	ck_assert_uint_eq(inet_checksum(rfc1071_example, 8), 0x220d);
}
END_TEST

START_TEST(test_checksum_valid_ip_header_verifies_to_zero)
{
	uint8_t h[20];

	ck_assert_msg(inet_checksum(ip_hdr, sizeof(ip_hdr)) == 0,
	    "a header holding its checksum summed to 0x%04x, want 0",
	    inet_checksum(ip_hdr, sizeof(ip_hdr)));
	memcpy(h, ip_hdr, sizeof(h));
	h[10] = h[11] = 0;
	ck_assert_msg(inet_checksum(h, sizeof(h)) == 0x0a69,
	    "checksum with field zeroed 0x%04x, want 0x0a69",
	    inet_checksum(h, sizeof(h)));
}
END_TEST

START_TEST(test_checksum_odd_length_padded_with_zero_byte)
{
	const uint8_t odd[3] = { 0x12, 0x34, 0x56 };
	const uint8_t even[4] = { 0x12, 0x34, 0x56, 0x00 };

	ck_assert_msg(inet_checksum(odd, 3) == inet_checksum(even, 4),
	    "odd 0x%04x != padded 0x%04x", inet_checksum(odd, 3),
	    inet_checksum(even, 4));
	ck_assert_uint_eq(inet_checksum(odd, 3), (uint16_t)~(0x1234 + 0x5600));
	ck_assert_uint_eq(inet_checksum(odd, 1), (uint16_t)~0x1200);
}
END_TEST

START_TEST(test_checksum_empty_and_zero_input_give_ffff)
{
	const uint8_t zero[7] = { 0 };

	ck_assert_uint_eq(inet_checksum(zero, 0), 0xffff);
	ck_assert_uint_eq(inet_checksum(zero, sizeof(zero)), 0xffff);
	ck_assert_uint_eq(csum_add(0x1234, zero, 0), 0x1234);
}
END_TEST

START_TEST(test_checksum_negative_zero_sum_gives_zero)
{
	/* ffff + 0000 ... is one's complement -0: checksum 0, never ffff. */
	const uint8_t ones[6] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00 };
	const uint8_t cancel[4] = { 0x12, 0x34, 0xed, 0xcb };

	ck_assert_uint_eq(inet_checksum(ones, sizeof(ones)), 0x0000);
	ck_assert_uint_eq(inet_checksum(cancel, sizeof(cancel)), 0x0000);
}
END_TEST

START_TEST(test_checksum_matches_reference_for_all_lengths_and_alignments)
{
	uint8_t data[300], *copy;
	size_t len, off;

	fill_lcg(data, sizeof(data), 1);
	for (len = 0; len <= 260; len++) {
		for (off = 0; off < 8; off++) {
			/* Exact-size heap copy: ASan catches over-reads. */
			copy = exact_copy(data + off, len);
			ck_assert_msg(inet_checksum(copy, len) ==
			    ref_csum(data + off, len),
			    "len %zu off %zu: got 0x%04x, reference 0x%04x",
			    len, off, inet_checksum(copy, len),
			    ref_csum(data + off, len));
			/* Same bytes at an odd address. */
			ck_assert_uint_eq(inet_checksum(data + off, len),
			    ref_csum(data + off, len));
			free(copy);
		}
	}
}
END_TEST

START_TEST(test_checksum_chained_even_chunks_equal_one_pass)
{
	uint8_t data[200];
	uint32_t sum;
	size_t cut;

	fill_lcg(data, sizeof(data), 7);
	for (cut = 0; cut <= 198; cut += 2) {
		sum = csum_add(0, data, cut);
		sum = csum_add(sum, data + cut, 199 - cut);
		ck_assert_msg(csum_finish(sum) == inet_checksum(data, 199),
		    "split at %zu: 0x%04x != one pass 0x%04x", cut,
		    csum_finish(sum), inet_checksum(data, 199));
	}
}
END_TEST

START_TEST(test_checksum_large_buffer_and_large_start_sum)
{
	static uint8_t big[65535];
	uint32_t sum;

	memset(big, 0xff, sizeof(big));
	ck_assert_uint_eq(inet_checksum(big, sizeof(big)),
	    ref_csum(big, sizeof(big)));
	fill_lcg(big, sizeof(big), 99);
	ck_assert_uint_eq(inet_checksum(big, sizeof(big)),
	    ref_csum(big, sizeof(big)));
	/* A caller's running sum near 2^32 must carry, not wrap. */
	sum = csum_add(0xffffffffu, rfc1071_example, 8);
	ck_assert_msg(csum_finish(sum) ==
	    (uint16_t)~ref_sum(ref_sum(0, rfc1071_example, 8), (const uint8_t *)
	    "\xff\xff\xff\xff", 4),
	    "start sum 0xffffffff gave 0x%04x", csum_finish(sum));
}
END_TEST

START_TEST(test_checksum_pseudo_header_equals_summed_bytes)
{
	/* 10.0.0.2 -> 10.0.0.1, UDP, length 14. */
	const uint8_t ph[12] = {
		0x0a, 0x00, 0x00, 0x02, 0x0a, 0x00, 0x00, 0x01,
		0x00, 0x11, 0x00, 0x0e,
	};
	uint32_t a = csum_pseudo_ipv4(0x0a000002, 0x0a000001, 17, 14);

	ck_assert_msg(csum_finish(a) == ref_csum(ph, sizeof(ph)),
	    "pseudo-header checksum 0x%04x, want 0x%04x", csum_finish(a),
	    ref_csum(ph, sizeof(ph)));
	a = csum_pseudo_ipv4(0xffffffff, 0xffffffff, 255, 0xffff);
	ck_assert_uint_eq(csum_finish(a), (uint16_t)~ref_sum(0xffff * 5 + 255, NULL, 0));
}
END_TEST

START_TEST(test_wire_strerror_names_every_error)
{
	int e, f;

	for (e = WIRE_OK; e <= WIRE_EFIELD; e++) {
		const char *s = wire_strerror((enum wire_err)e);

		ck_assert_msg(s != NULL && s[0] != '\0', "error %d has no name", e);
		for (f = WIRE_OK; f < e; f++)
			ck_assert_msg(strcmp(s, wire_strerror((enum wire_err)f)),
			    "errors %d and %d share the name \"%s\"", f, e, s);
	}
	ck_assert_ptr_nonnull(wire_strerror((enum wire_err)1000));
}
END_TEST

static Suite *
checksum_suite(void)
{
	Suite *s = suite_create("wire_checksum");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_checksum_rfc1071_numerical_example);
	tcase_add_test(tc, test_checksum_valid_ip_header_verifies_to_zero);
	tcase_add_test(tc, test_checksum_odd_length_padded_with_zero_byte);
	tcase_add_test(tc, test_checksum_empty_and_zero_input_give_ffff);
	tcase_add_test(tc, test_checksum_negative_zero_sum_gives_zero);
	tcase_add_test(tc, test_checksum_matches_reference_for_all_lengths_and_alignments);
	tcase_add_test(tc, test_checksum_chained_even_chunks_equal_one_pass);
	tcase_add_test(tc, test_checksum_large_buffer_and_large_start_sum);
	tcase_add_test(tc, test_checksum_pseudo_header_equals_summed_bytes);
	tcase_add_test(tc, test_wire_strerror_names_every_error);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(checksum_suite)
