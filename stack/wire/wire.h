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

#endif
