/* ipv4.c - IPv4 headers (RFC 791, RFC 1122 3.2.1). */
#include <stdio.h>

#include "checksum.h"
#include "ipv4.h"


/*
 * RFC 791 3.1 "Options": EOL and NOP are single octets; every other option
 * is type, length (counting both), data. Walk them without reading past
 * the header; the contents are not interpreted.
 */
static enum wire_err
ipv4_check_opts(const uint8_t *p, size_t len)
{
	size_t pos = 0, vlen;
	const uint8_t *val;
	uint8_t kind;
	int r;

	while ((r = wire_opt_next(p, len, &pos, &kind, &val, &vlen)) > 0)
		;
	return r < 0 ? WIRE_EOPT : WIRE_OK;
}

enum wire_err
ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_repr *out)
{
	size_t hlen, tlen, plen;
	uint16_t frag;
	enum wire_err err;

	if (len < IPV4_HLEN)
		return WIRE_ETRUNC;
	/* RFC 1122 3.2.1.1: silently discard a version other than 4. */
	if (buf[0] >> 4 != 4)
		return WIRE_EVERSION;
	hlen = (size_t)(buf[0] & 0xf) * 4;
	if (hlen < IPV4_HLEN || hlen > len)
		return WIRE_EHLEN;
	tlen = rd16(buf + 2);
	if (tlen < hlen)
		return WIRE_ELEN;
	/* Bytes past total length are link-layer padding (ETH_ZLEN). */
	if (tlen > len)
		return WIRE_ETRUNC;
	/* RFC 1122 3.2.1.2: silently discard a bad header checksum. */
	if (inet_checksum(buf, hlen) != 0)
		return WIRE_ECSUM;
	frag = rd16(buf + 6);
	plen = tlen - hlen;
	/* RFC 791 3.2 "Fragmentation": a fragment may not end past 65535. */
	if ((size_t)(frag & IPV4_OFFMASK) * 8 + plen > IPV4_MAXLEN)
		return WIRE_ELEN;
	/* RFC 791 3.2: every fragment but the last carries 8n data octets. */
	if ((frag & IPV4_FLAG_MF) && plen % 8 != 0)
		return WIRE_ELEN;
	if ((err = ipv4_check_opts(buf + IPV4_HLEN, hlen - IPV4_HLEN)) != WIRE_OK)
		return err;

	out->hlen = (uint8_t)hlen;
	out->tos = buf[1];
	out->total_len = (uint16_t)tlen;
	out->id = rd16(buf + 4);
	out->df = (frag & IPV4_FLAG_DF) != 0;
	out->mf = (frag & IPV4_FLAG_MF) != 0;
	out->frag_off = (uint16_t)((frag & IPV4_OFFMASK) * 8);
	out->ttl = buf[8];
	out->proto = buf[9];
	out->src = rd32(buf + 12);
	out->dst = rd32(buf + 16);
	return WIRE_OK;
}

void
ipv4_emit(const struct ipv4_repr *r, uint8_t *buf)
{
	uint16_t frag;

	frag = (uint16_t)((r->frag_off / 8) & IPV4_OFFMASK);
	if (r->df)
		frag |= IPV4_FLAG_DF;
	if (r->mf)
		frag |= IPV4_FLAG_MF;
	buf[0] = 4 << 4 | IPV4_HLEN / 4;
	buf[1] = r->tos;
	wr16(buf + 2, r->total_len);
	wr16(buf + 4, r->id);
	wr16(buf + 6, frag);
	buf[8] = r->ttl;
	buf[9] = r->proto;
	wr16(buf + 10, 0);
	wr32(buf + 12, r->src);
	wr32(buf + 16, r->dst);
	/* RFC 791 3.1 "Header Checksum": computed with the field zero. */
	wr16(buf + 10, inet_checksum(buf, IPV4_HLEN));
}

char *
ipv4_ntoa(uint32_t addr, char *out)
{
	snprintf(out, 16, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
	    (addr >> 8) & 0xff, addr & 0xff);
	return out;
}
