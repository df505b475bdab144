/* ether.c - Ethernet II frames (IEEE 802.3 clause 3, RFC 894). */
#include <string.h>

#include "ether.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

enum wire_err
eth_parse(const uint8_t *buf, size_t len, struct eth_repr *out)
{
	uint16_t type;

	if (len < ETH_HLEN)
		return WIRE_ETRUNC;
	type = rd16(buf + 12);
	/* Values below 0x0600 are 802.3 lengths (LLC/SNAP), not types. */
	if (type < 0x0600)
		return WIRE_EUNSUPP;
	memcpy(out->dst, buf, ETH_ALEN);
	memcpy(out->src, buf + 6, ETH_ALEN);
	out->type = type;
	return WIRE_OK;
}

void
eth_emit(const struct eth_repr *r, uint8_t *buf)
{
	memcpy(buf, r->dst, ETH_ALEN);
	memcpy(buf + 6, r->src, ETH_ALEN);
	wr16(buf + 12, r->type);
}

char *
eth_ntoa(const uint8_t *mac, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	int i;

	for (i = 0; i < ETH_ALEN; i++) {
		if (i > 0)
			*p++ = ':';
		*p++ = hex[mac[i] >> 4];
		*p++ = hex[mac[i] & 0xf];
	}
	*p = '\0';
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Accepts one or two hex digits per byte, ':' separated, nothing after. */
int
eth_aton(const char *s, uint8_t *mac)
{
	uint8_t tmp[ETH_ALEN];
	int i, hi, lo;

	for (i = 0; i < ETH_ALEN; i++) {
		if (i > 0 && *s++ != ':')
			return -1;
		if ((hi = hexval(*s)) < 0)
			return -1;
		s++;
		if ((lo = hexval(*s)) >= 0) {
			hi = hi << 4 | lo;
			s++;
		}
		tmp[i] = (uint8_t)hi;
	}
	if (*s != '\0')
		return -1;
	memcpy(mac, tmp, ETH_ALEN);
	return 0;
}
