/*
 * stack_harness.h - one stack on a virtual clock, joined by an in-memory
 * link to the test, which plays the peer host (PEER_IP, PEER_MAC) and sees
 * every frame the stack sends. Used by the test_stack_* suites.
 *
 *   struct harness h; h_setup(&h, NULL);
 *   h_send_udp(&h, 5000, 7, "hi", 2);      // the peer sends
 *   struct frame f; ck_assert(h_next(&h, &f)); // the stack answered
 *   h_teardown(&h);                          // asserts nothing leaked
 */
#ifndef MTCP_STACK_HARNESS_H
#define MTCP_STACK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtcp.h"
#include "stack.h"
#include "wire/arp.h"
#include "wire/ether.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define STACK_IP        0x0a3d0002u     /* 10.61.0.2 */
#define PEER_IP         0x0a3d0001u     /* 10.61.0.1 */
#define OTHER_IP        0x0a3d0003u     /* 10.61.0.3: on the link, silent */
#define GATEWAY_IP      0x0a3d00feu     /* 10.61.0.254 */
#define FAR_IP          0x0a3e0009u     /* 10.62.0.9: beyond the gateway */
#define SUBNET_BCAST    0x0a3d00ffu

extern const uint8_t STACK_MAC[6];
extern const uint8_t PEER_MAC[6];

struct harness {
	uint64_t now;                   /* the virtual clock, microseconds */
	struct stack *st;
	struct netdev *peer;            /* the test's end of the link */
	uint16_t ip_id;
};

/* A frame the stack sent, parsed as far as it goes. */
struct frame {
	uint8_t buf[ETH_HLEN + ETH_MTU_MAX];
	size_t len;
	struct eth_repr eth;
	bool is_arp, is_ip, is_icmp, is_udp;
	struct arp_repr arp;
	struct ipv4_repr ip;
	const uint8_t *l4;              /* the IP payload */
	size_t l4_len;
	struct icmp_repr icmp;
	struct udp_repr udp;
	const uint8_t *data;            /* the UDP payload or the ICMP body */
	size_t data_len;
};

/* gateway: 0 for none. mtu: 0 for 1500. */
void h_setup_with(struct harness *h, uint32_t gateway, unsigned mtu);
void h_setup(struct harness *h);
/* Close nothing: asserts every socket was closed, then destroys the stack
 * (ASan's leak check covers buffers and entries). */
void h_teardown(struct harness *h);

/* Let the stack process everything queued and every timer due now. */
void h_poll(struct harness *h);
/* Advance the virtual clock by us, running timers as they fall due. */
void h_advance(struct harness *h, uint64_t us);

/* The next frame the stack sent, parsed; false when there is none. */
bool h_next(struct harness *h, struct frame *f);
/* Collect one datagram the stack sent, whole or in fragments, into out and
 * return its payload length; *first gets the first fragment's header and
 * *nfrags (may be NULL) their number. Asserts RFC 791 3.2 on the way: one
 * id, in-order contiguous offsets in 8-byte units, MF and a multiple of 8
 * bytes on all but the last, no DF on a fragment, none over the MTU. */
size_t h_collect(struct harness *h, uint8_t *out, size_t cap, struct ipv4_repr *first,
		 unsigned *nfrags);
/* Discard every frame the stack sent so far; returns how many. */
unsigned h_drain(struct harness *h);

/* The peer sends a raw frame. */
void h_send_frame(struct harness *h, const void *frame, size_t len);
/* The peer sends an ARP packet from (PEER_MAC, PEER_IP) to the stack. */
void h_send_arp(struct harness *h, uint16_t op, uint32_t spa, uint32_t tpa);
/* Build, as the peer would, an IPv4 packet (proto, payload) into pkt; mf
 * and frag_off (bytes) for fragments; id 0 picks the next id. Returns its
 * length. */
size_t h_build_ip(struct harness *h, uint8_t *pkt, uint8_t proto, uint32_t src, uint32_t dst,
		  uint16_t id, bool mf, uint16_t frag_off, const void *payload, size_t len);
/* The same for an IPv4 packet carrying a UDP datagram (checksum computed). */
size_t h_build_udp(struct harness *h, uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, const void *data, size_t len);
/* The peer puts an IPv4 packet on the link: to our MAC, or to everyone. */
void h_send_packet(struct harness *h, const uint8_t *pkt, size_t len, bool link_bcast);
/* The peer sends an IPv4 packet built by h_build_ip(). */
void h_send_ip_ex(struct harness *h, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
		  bool mf, uint16_t frag_off, const void *payload, size_t len, bool link_bcast);
void h_send_ip(struct harness *h, uint8_t proto, const void *payload, size_t len);
/* The peer sends a UDP datagram to the stack (checksum computed). */
void h_send_udp(struct harness *h, uint16_t sport, uint16_t dport, const void *data, size_t len);
/* Teach the stack the peer's MAC (an ARP request it answers); drains. */
void h_learn_peer(struct harness *h);

uint64_t h_drop(struct harness *h, enum drop_reason r);
uint64_t h_stat_udp_rx(struct harness *h);

/* A UDP socket on the stack bound to port (0: ephemeral). */
struct mtcp_sock *h_udp_socket(struct harness *h, uint16_t port);
struct sockaddr_in h_sin(uint32_t addr, uint16_t port);

#endif
