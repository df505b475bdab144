/* arp.h - ARP for IPv4 over Ethernet (RFC 826). */
#ifndef MTCP_WIRE_ARP_H
#define MTCP_WIRE_ARP_H

#include "wire.h"
#include "ether.h"

#define ARP_LEN         28
#define ARP_OP_REQUEST  1
#define ARP_OP_REPLY    2

struct arp_repr {
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint32_t spa;           /* host order */
	uint8_t tha[ETH_ALEN];
	uint32_t tpa;           /* host order */
};

/* Validates hardware type 1 (Ethernet), protocol type 0x0800, hlen 6,
 * plen 4 (else WIRE_EUNSUPP) and op 1 or 2 (else WIRE_EFIELD). */
enum wire_err arp_parse(const uint8_t *buf, size_t len, struct arp_repr *out);

/* Write the 28-byte packet at buf. */
void arp_emit(const struct arp_repr *r, uint8_t *buf);

#endif
