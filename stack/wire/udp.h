/* udp.h - UDP headers (RFC 768, RFC 1122 4.1). */
#ifndef MTCP_WIRE_UDP_H
#define MTCP_WIRE_UDP_H

#include "wire.h"

#define UDP_HLEN 8

struct udp_repr {
	uint16_t sport, dport;
	uint16_t len;           /* header + payload, from the header */
};

/* Validates len >= 8 (WIRE_ETRUNC), 8 <= length field <= len (WIRE_ELEN;
 * bytes past the length field are ignored) and, unless the checksum field
 * is zero (none sent), the checksum over the pseudo-header built from src
 * and dst (host order) and the datagram (WIRE_ECSUM). Payload is
 * buf[8 .. out->len). */
enum wire_err udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
			struct udp_repr *out);
/* The same without the checksum, for a datagram the device vouched for. */
enum wire_err udp_parse_verified(const uint8_t *buf, size_t len, uint32_t src,
				 uint32_t dst, struct udp_repr *out);

/* Write the header at buf with r->len and the checksum over the pseudo-header,
 * the header and the r->len - 8 payload bytes already at buf + 8. A computed
 * checksum of zero is sent as 0xffff (RFC 768). */
void udp_emit(const struct udp_repr *r, uint8_t *buf, uint32_t src, uint32_t dst);

#endif
