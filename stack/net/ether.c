/* ether.c - Ethernet II input and output. */
#include <errno.h>
#include <string.h>

#include "proto.h"
#include "stack.h"
#include "wire/ether.h"

void ether_input(struct stack *st, uint8_t *frame, size_t len,
		 const struct netdev_rxinfo *rx)
{
	struct eth_repr eth;

	st->stats.eth_rx++;
	if (eth_parse(frame, len, &eth) != WIRE_OK) {
		/* Short frames, and 802.3 length-field frames (not IPv4). */
		stack_drop(st, len < ETH_HLEN ? DROP_ETH_TRUNC : DROP_ETH_UNKNOWN_TYPE);
		return;
	}
	if (memcmp(eth.src, st->mac, ETH_ALEN) == 0) {
		stack_drop(st, DROP_ETH_FROM_US);
		return;
	}
	bool bcast = eth_is_broadcast(eth.dst);
	if (!bcast && memcmp(eth.dst, st->mac, ETH_ALEN) != 0) {
		stack_drop(st, DROP_ETH_NOT_FOR_US);
		return;
	}
	switch (eth.type) {
	case ETHERTYPE_ARP:
		arp_input(st, frame + ETH_HLEN, len - ETH_HLEN, &eth);
		break;
	case ETHERTYPE_IPV4:
		ipv4_input(st, frame + ETH_HLEN, len - ETH_HLEN, bcast, rx);
		break;
	default:
		stack_drop(st, DROP_ETH_UNKNOWN_TYPE);
	}
}

int ether_output(struct stack *st, struct pbuf *p, const uint8_t *dst, uint16_t type)
{
	struct eth_repr eth = { .type = type };

	memcpy(eth.dst, dst, ETH_ALEN);
	memcpy(eth.src, st->mac, ETH_ALEN);
	eth_emit(&eth, pbuf_push(p, ETH_HLEN));
	if (p->len < ETH_ZLEN) {
		/* pbuf_alloc leaves room for at least a minimum frame. */
		size_t pad = ETH_ZLEN - p->len;
		memset(pbuf_put(p, pad), 0, pad);
	}
	return netif_xmit(st, p);
}
