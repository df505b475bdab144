/*
 * checksum.h - the Internet checksum (RFC 1071) and the IPv4 pseudo-header.
 *
 * Accumulate 16-bit big-endian words into a 32-bit sum with csum_add(), fold
 * and complement with csum_finish(). Addresses are in host order.
 */
#ifndef MTCP_WIRE_CHECKSUM_H
#define MTCP_WIRE_CHECKSUM_H

#include "wire.h"

/* Add len bytes at data (network order, any alignment, odd length padded
 * with a zero byte as RFC 1071 says) to the running sum. Callers that chain
 * several buffers must pass even lengths for all but the last. */
uint32_t csum_add(uint32_t sum, const void *data, size_t len);

/* Fold the carries and return the one's complement, ready to store. */
uint16_t csum_finish(uint32_t sum);

/* Sum of the IPv4 pseudo-header (RFC 793 3.1 / RFC 768): src, dst, zero,
 * protocol, and the upper-layer length. */
uint32_t csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);

/* csum_finish(csum_add(0, data, len)): zero when data holds a valid checksum. */
uint16_t inet_checksum(const void *data, size_t len);

#endif
