/* ipv4.h - IPv4 headers (RFC 791, RFC 1122 3.2.1). */
#ifndef MTCP_WIRE_IPV4_H
#define MTCP_WIRE_IPV4_H

#include "wire.h"

#define IPV4_HLEN       20      /* header without options */
#define IPV4_HLEN_MAX   60
#define IPV4_MAXLEN     65535

#define IPPROTO_ICMP_   1
#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17

/* Flags and fragment offset word. */
#define IPV4_FLAG_RF    0x8000
#define IPV4_FLAG_DF    0x4000
#define IPV4_FLAG_MF    0x2000
#define IPV4_OFFMASK    0x1fff

struct ipv4_repr {
	uint8_t hlen;           /* header bytes, options included (20..60) */
	uint8_t tos;
	uint16_t total_len;     /* header + payload, from the header */
	uint16_t id;
	bool df, mf;
	uint16_t frag_off;      /* in bytes (field * 8) */
	uint8_t ttl;
	uint8_t proto;
	uint32_t src, dst;      /* host order */
};

/*
 * Parse and validate: version 4 (WIRE_EVERSION), IHL >= 5 and IHL*4 <= len
 * (WIRE_EHLEN), total length >= IHL*4 (WIRE_ELEN) and <= len (WIRE_ETRUNC;
 * bytes past total_len are link padding and ignored), header checksum
 * (WIRE_ECSUM), frag_off + payload <= 65535 (WIRE_ELEN), a fragment with MF
 * set whose payload is not a multiple of 8 (WIRE_ELEN), and options walked
 * safely: EOL/NOP are one byte, every other option has a length >= 2 that
 * stays inside the header (else WIRE_EOPT). Options are otherwise ignored.
 * The payload is buf[hlen .. total_len).
 */
enum wire_err ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *out);

/* Write a 20-byte header (no options) with checksum; r->hlen is ignored
 * and the header is always IPV4_HLEN long. */
void ipv4_emit(const struct ipv4_repr *r, uint8_t *buf);

static inline bool ipv4_is_multicast(uint32_t a)
{
	return (a >> 28) == 0xe;
}

/* Dotted quad into out (needs 16 bytes). Returns out. */
char *ipv4_ntoa(uint32_t addr, char *out);

#endif
