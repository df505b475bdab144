/*
 * wire_testutil.h - helpers shared by the test_wire_*.c suites.
 *
 * ref_csum() is a deliberately naive RFC 1071 checksum, one 16-bit word
 * at a time, so fixtures can be fixed up without trusting the code under
 * test. exact_copy() puts a fixture in a heap block of exactly len bytes,
 * so AddressSanitizer reports any read past len.
 */
#ifndef MTCP_WIRE_TESTUTIL_H
#define MTCP_WIRE_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One's complement sum of 16-bit big-endian words, folded. */
static inline uint32_t
ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static inline uint16_t
ref_csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~ref_sum(0, p, len);
}

/* Checksum of a TCP/UDP segment over the IPv4 pseudo-header. */
static inline uint16_t
ref_csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto,
    const uint8_t *p, size_t len)
{
	uint8_t ph[12];

	ph[0] = (uint8_t)(src >> 24); ph[1] = (uint8_t)(src >> 16);
	ph[2] = (uint8_t)(src >> 8);  ph[3] = (uint8_t)src;
	ph[4] = (uint8_t)(dst >> 24); ph[5] = (uint8_t)(dst >> 16);
	ph[6] = (uint8_t)(dst >> 8);  ph[7] = (uint8_t)dst;
	ph[8] = 0;
	ph[9] = proto;
	ph[10] = (uint8_t)(len >> 8);
	ph[11] = (uint8_t)len;
	return (uint16_t)~ref_sum(ref_sum(0, ph, sizeof(ph)), p, len);
}

/* Store a 16-bit checksum at p (network order). */
static inline void
put_csum(uint8_t *p, uint16_t c)
{
	p[0] = (uint8_t)(c >> 8);
	p[1] = (uint8_t)c;
}

/* A heap copy of exactly len bytes (at least one allocated). */
static inline uint8_t *
exact_copy(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_msg(p != NULL, "malloc(%zu) failed", len);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* Fail with the first differing offset and both bytes. */
#define EXPECT_BYTES(got, want, n) do {                                   \
	const uint8_t *g_ = (const uint8_t *)(got);                       \
	const uint8_t *w_ = (const uint8_t *)(want);                      \
	size_t i_, n_ = (n);                                              \
	for (i_ = 0; i_ < n_; i_++)                                       \
		ck_assert_msg(g_[i_] == w_[i_],                           \
		    "%s differs from %s at byte %zu of %zu: got 0x%02x, "  \
		    "want 0x%02x", #got, #want, i_, n_, g_[i_], w_[i_]);   \
} while (0)

/* Both sides printed with the error's name. */
#define EXPECT_ERR(got, want) do {                                        \
	enum wire_err g_ = (got), w_ = (want);                            \
	ck_assert_msg(g_ == w_, "%s returned %d (%s), want %d (%s)",      \
	    #got, g_, wire_strerror(g_), w_, wire_strerror(w_));          \
} while (0)

#endif
