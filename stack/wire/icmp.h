/* icmp.h - ICMPv4 messages (RFC 792). */
#ifndef MTCP_WIRE_ICMP_H
#define MTCP_WIRE_ICMP_H

#include "wire.h"

#define ICMP_HLEN               8

#define ICMP_ECHOREPLY          0
#define ICMP_DEST_UNREACH       3
#define ICMP_SOURCE_QUENCH      4
#define ICMP_REDIRECT           5
#define ICMP_ECHO               8
#define ICMP_TIME_EXCEEDED      11
#define ICMP_PARAMETERPROB      12

/* Codes of ICMP_DEST_UNREACH. */
#define ICMP_NET_UNREACH        0
#define ICMP_HOST_UNREACH       1
#define ICMP_PROT_UNREACH       2
#define ICMP_PORT_UNREACH       3
#define ICMP_FRAG_NEEDED        4
#define ICMP_SR_FAILED          5

struct icmp_repr {
	uint8_t type;
	uint8_t code;
	/* The 4 bytes after the checksum: id/seq for echo, next-hop MTU
	 * (low 16 bits) for FRAG_NEEDED, pointer (top byte) for PARAMETERPROB.
	 * The two members overlap: parse fills and emit reads echo when type
	 * is ICMP_ECHO or ICMP_ECHOREPLY, rest for every other type. */
	union {
		struct { uint16_t id, seq; } echo;
		uint32_t rest;
	};
};

/* Validates len >= 8 (WIRE_ETRUNC) and the checksum over all len bytes
 * (WIRE_ECSUM). The body is buf[8 .. len). */
enum wire_err icmp_parse(const uint8_t *buf, size_t len, struct icmp_repr *out);

/* Write the 8-byte header at buf and the checksum over the header and the
 * body_len bytes the caller has already placed at buf + 8. */
void icmp_emit(const struct icmp_repr *r, uint8_t *buf, size_t body_len);

#endif
