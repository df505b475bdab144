/* arp.c - ARP for IPv4 over Ethernet (RFC 826). */
#include <string.h>

#include "arp.h"

#define ARP_HRD_ETHER   1

enum wire_err
arp_parse(const uint8_t *buf, size_t len, struct arp_repr *out)
{
	uint16_t op;

	/* Frames are padded to ETH_ZLEN, so len > ARP_LEN is normal. */
	if (len < ARP_LEN)
		return WIRE_ETRUNC;
	/* RFC 826 "Packet Reception": check ar$hrd, ar$pro, ar$hln, ar$pln. */
	if (rd16(buf) != ARP_HRD_ETHER || rd16(buf + 2) != ETHERTYPE_IPV4 ||
	    buf[4] != ETH_ALEN || buf[5] != 4)
		return WIRE_EUNSUPP;
	op = rd16(buf + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return WIRE_EFIELD;
	out->op = op;
	memcpy(out->sha, buf + 8, ETH_ALEN);
	out->spa = rd32(buf + 14);
	memcpy(out->tha, buf + 18, ETH_ALEN);
	out->tpa = rd32(buf + 24);
	return WIRE_OK;
}

void
arp_emit(const struct arp_repr *r, uint8_t *buf)
{
	wr16(buf, ARP_HRD_ETHER);
	wr16(buf + 2, ETHERTYPE_IPV4);
	buf[4] = ETH_ALEN;
	buf[5] = 4;
	wr16(buf + 6, r->op);
	memcpy(buf + 8, r->sha, ETH_ALEN);
	wr32(buf + 14, r->spa);
	memcpy(buf + 18, r->tha, ETH_ALEN);
	wr32(buf + 24, r->tpa);
}
