/* tcp.h - TCP headers and options (RFC 9293 3.1, RFC 7323, RFC 2018). */
#ifndef MTCP_WIRE_TCP_H
#define MTCP_WIRE_TCP_H

#include "wire.h"

#define TCP_HLEN        20
#define TCP_HLEN_MAX    60

#define TH_FIN  0x01
#define TH_SYN  0x02
#define TH_RST  0x04
#define TH_PSH  0x08
#define TH_ACK  0x10
#define TH_URG  0x20
#define TH_ECE  0x40
#define TH_CWR  0x80

#define TCPOPT_EOL              0
#define TCPOPT_NOP              1
#define TCPOPT_MSS              2
#define TCPOPT_WSCALE           3
#define TCPOPT_SACK_PERMITTED   4
#define TCPOPT_SACK             5
#define TCPOPT_TIMESTAMP        8

#define TCP_MAX_SACK            4
#define TCP_MAX_WSCALE          14      /* RFC 7323 2.3 */

struct tcp_sack_block {
	uint32_t left, right;
};

struct tcp_opts {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_ts;
	uint16_t mss;
	uint8_t wscale;         /* as received; callers clamp to 14 (RFC 7323 2.3) */
	uint32_t ts_val, ts_ecr;
	uint8_t nsack;          /* SACK blocks present (0..4) */
	struct tcp_sack_block sack[TCP_MAX_SACK];
};

struct tcp_repr {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;          /* TH_* */
	uint16_t win;           /* as on the wire, unscaled */
	uint16_t urp;
	uint8_t hlen;           /* parse: data offset in bytes; emit: ignored */
	struct tcp_opts opt;
};

/*
 * Parse and validate: len >= 20 (WIRE_ETRUNC), len <= 65535 (WIRE_ELEN:
 * the pseudo-header length is 16 bits), data offset >= 5 and
 * offset*4 <= len (WIRE_EHLEN), the checksum over the pseudo-header built
 * from src/dst (host order) and all len bytes (WIRE_ECSUM), and options:
 * EOL ends the list, NOP is one byte, MSS len 4, WSCALE len 3,
 * SACK_PERMITTED len 2, SACK len 2 + 8n with 1 <= n <= 4, TIMESTAMP len 10
 * (a known kind with another length is WIRE_EOPT), unknown kinds need a
 * length >= 2 inside the header and are skipped. Payload is buf[hlen .. len).
 */
enum wire_err tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
			struct tcp_repr *out);
/* The same without the checksum, for a segment the device vouched for
 * (checksum offload: it was verified, or never left the machine). */
enum wire_err tcp_parse_verified(const uint8_t *buf, size_t len, uint32_t src,
				 uint32_t dst, struct tcp_repr *out);

/* Bytes of the options r would emit, padded to a multiple of 4. */
size_t tcp_opts_len(const struct tcp_opts *o);

/* Header length tcp_emit() will write: 20 + tcp_opts_len(). */
static inline size_t tcp_header_len(const struct tcp_repr *r)
{
	return TCP_HLEN + tcp_opts_len(&r->opt);
}

/*
 * Write the header and options at buf (tcp_header_len(r) bytes; options in
 * the order MSS, SACK_PERMITTED, TIMESTAMP, WSCALE, SACK with NOP padding,
 * as Linux lays them out; SACK blocks that do not fit in the 40 option
 * bytes are left out from the last, so at most 3 go with timestamps) and
 * the checksum over the pseudo-header, header and the payload_len bytes the
 * caller has already placed right after the header. Returns the header
 * length.
 */
size_t tcp_emit(const struct tcp_repr *r, uint8_t *buf, size_t payload_len,
		uint32_t src, uint32_t dst);
/* The same, but the checksum field gets only the folded pseudo-header sum,
 * for the device to finish (checksum offload, as Linux's CHECKSUM_PARTIAL):
 * no pass over the payload. */
size_t tcp_emit_partial(const struct tcp_repr *r, uint8_t *buf, size_t payload_len,
			uint32_t src, uint32_t dst);

#endif
