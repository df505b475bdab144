/*
 * checksum.c - the Internet checksum (RFC 1071).
 *
 * The sum is computed 32 bits at a time in the machine's native byte order
 * and byte-swapped once at the end: RFC 1071 2(A) lets us defer the carries
 * and 2(B) makes the one's complement sum independent of byte order, up to
 * a swap of the folded result. Loads go through memcpy, so any alignment is
 * fine and the compiler still emits plain 32-bit loads.
 */
#include <string.h>

#include "checksum.h"

/* Fold a wide one's complement accumulator to 16 bits. Each step keeps the
 * value modulo 0xffff and never turns a non-zero sum into zero. */
static uint32_t
fold16(uint64_t acc)
{
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint32_t)acc;
}

static uint32_t
ld32(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

uint32_t
csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0, total;
	uint32_t s16;

	/*
	 * RFC 1071 2(A): carries are deferred into the upper half of a
	 * 64-bit accumulator; 2^32 words (16 GiB) would be needed to
	 * overflow it.
	 */
	while (len >= 16) {
		acc += ld32(p);
		acc += ld32(p + 4);
		acc += ld32(p + 8);
		acc += ld32(p + 12);
		p += 16;
		len -= 16;
	}
	while (len >= 4) {
		acc += ld32(p);
		p += 4;
		len -= 4;
	}
	s16 = fold16(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* RFC 1071 2(B): swap the native-order sum into network order. */
	s16 = (uint32_t)(((s16 & 0xff) << 8) | (s16 >> 8));
#endif
	total = (uint64_t)sum + s16;
	/* The tail is at a 4-byte boundary of this buffer: even offsets. */
	if (len >= 2) {
		total += rd16(p);
		p += 2;
		len -= 2;
	}
	/* RFC 1071 4.1: an odd byte is padded with a zero on its right. */
	if (len)
		total += (uint32_t)p[0] << 8;
	total = (total & 0xffffffffu) + (total >> 32);
	total = (total & 0xffffffffu) + (total >> 32);
	return (uint32_t)total;
}

uint16_t
csum_finish(uint32_t sum)
{
	return (uint16_t)~fold16(sum);
}

uint32_t
csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	/* RFC 9293 3.1 / RFC 768: src, dst, zero, protocol, length. */
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
	    proto + len;
}

uint16_t
inet_checksum(const void *data, size_t len)
{
	return csum_finish(csum_add(0, data, len));
}
