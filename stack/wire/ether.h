/* ether.h - Ethernet II frames. */
#ifndef MTCP_WIRE_ETHER_H
#define MTCP_WIRE_ETHER_H

#include "wire.h"

#define ETH_ALEN        6
#define ETH_HLEN        14
#define ETH_ZLEN        60      /* minimum frame without FCS; shorter is padded */
#define ETH_MTU_MAX     9000
#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_ARP   0x0806

struct eth_repr {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t type;
};

/* Parse a frame's header; payload starts at buf + ETH_HLEN. Type values
 * below 0x0600 (802.3 length fields) are refused with WIRE_EUNSUPP. */
enum wire_err eth_parse(const uint8_t *buf, size_t len, struct eth_repr *out);

/* Write the 14-byte header at buf. */
void eth_emit(const struct eth_repr *r, uint8_t *buf);

static inline bool eth_is_broadcast(const uint8_t *a)
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}

static inline bool eth_is_multicast(const uint8_t *a)
{
	return a[0] & 1;
}

extern const uint8_t eth_broadcast[ETH_ALEN];

/* "aa:bb:cc:dd:ee:ff" into out (needs 18 bytes). Returns out. */
char *eth_ntoa(const uint8_t *mac, char *out);
/* Parse "aa:bb:cc:dd:ee:ff"; returns 0 or -1. */
int eth_aton(const char *s, uint8_t *mac);

#endif
