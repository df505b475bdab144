/*
 * wire.h - common definitions for the packet-format layer.
 *
 * The wire layer parses, validates and emits protocol headers. It is pure:
 * no state, no allocation, no logging, no clock. Parsers never read past the
 * length they are given; on success they fill a "repr" in host byte order.
 * Emitters write into a caller-supplied buffer that is large enough.
 */
#ifndef MTCP_WIRE_H
#define MTCP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Why a parser refused its input. The stack maps these to drop reasons. */
enum wire_err {
	WIRE_OK = 0,
	WIRE_ETRUNC,    /* fewer bytes than the header (or its length field) needs */
	WIRE_ECSUM,     /* checksum does not verify */
	WIRE_ELEN,      /* a length field is inconsistent (too small, too large) */
	WIRE_EVERSION,  /* wrong protocol version */
	WIRE_EHLEN,     /* header length field out of range */
	WIRE_EOPT,      /* malformed options */
	WIRE_EUNSUPP,   /* well formed but a variant we do not handle */
	WIRE_EFIELD,    /* a field holds a value the protocol forbids */
};

const char *wire_strerror(enum wire_err e);

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * The option list format IPv4 (RFC 791 3.1) and TCP (RFC 9293 3.1) share:
 * kind 0 ends the list, kind 1 is a byte of padding, and every other
 * option is kind, length (counting both bytes), value. Steps *pos past the
 * next option: 1 with its kind and value, 0 at the end of the list, -1
 * when an option's length is below 2 or runs past len.
 */
static inline int wire_opt_next(const uint8_t *p, size_t len, size_t *pos,
				uint8_t *kind, const uint8_t **val, size_t *vlen)
{
	size_t i = *pos;

	while (i < len && p[i] == 1)
		i++;
	if (i >= len || p[i] == 0) {
		*pos = len;
		return 0;
	}
	if (len - i < 2 || p[i + 1] < 2 || p[i + 1] > len - i)
		return -1;
	*kind = p[i];
	*val = p + i + 2;
	*vlen = (size_t)p[i + 1] - 2;
	*pos = i + p[i + 1];
	return 1;
}

#endif
