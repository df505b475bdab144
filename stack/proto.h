/*
 * proto.h - how the protocol modules call each other. Call everything here
 * with the stack lock held. Functions that take a struct pbuf * consume it.
 */
#ifndef MTCP_PROTO_H
#define MTCP_PROTO_H

#include "stack.h"
#include <netinet/in.h>

#include "wire/ipv4.h"

/* ether.c */
/* rx: what the device said about the frame (checksum, merged size). */
void ether_input(struct stack *st, uint8_t *frame, size_t len,
		 const struct netdev_rxinfo *rx);
/* Push an Ethernet header to dst (type: ETHERTYPE_*) and send. */
int ether_output(struct stack *st, struct pbuf *p, const uint8_t *dst, uint16_t type);

/* arp.c (RFC 826) */
int arp_init(struct stack *st);
void arp_fini(struct stack *st);
void arp_input(struct stack *st, const uint8_t *pkt, size_t len, const struct eth_repr *eth);
/* Send an IPv4 packet to nexthop on the link, resolving its MAC; while
 * resolution is pending the packet is held (bounded). 0 or -errno
 * (-EHOSTUNREACH when resolution has just failed). */
int arp_output(struct stack *st, struct pbuf *p, uint32_t nexthop);
void arp_announce(struct stack *st);
/* Entries in the neighbour cache. */
unsigned arp_entries(const struct stack *st);
/* Negative advice about neighbour ip (RFC 1122 3.3.1.4): confirm it. */
void arp_negative_advice(struct stack *st, uint32_t ip);

/* ipv4.c (RFC 791, RFC 1122 3) */
struct ipv4_pkt {
	struct ipv4_repr ip;
	const uint8_t *hdr;     /* the header as received (first fragment's) */
	const uint8_t *payload;
	size_t len;             /* payload bytes */
	bool link_bcast;        /* arrived in a link-layer broadcast frame */
	bool ip_bcast;          /* to a broadcast address */
	bool csum_ok;           /* the device vouched for the L4 checksum */
	uint16_t gso_size;      /* a merged TCP frame: the sender's segment size */
};

struct ipv4_tx {
	uint8_t ttl;            /* 0: the default, 64 */
	uint8_t tos;
	bool df;
};

int ipv4_init(struct stack *st);
void ipv4_fini(struct stack *st);
void ipv4_register(struct stack *st, uint8_t proto, ipv4_input_fn in, ipv4_err_fn err);
/* rx: the device's word on the frame, NULL when there is none. */
void ipv4_input(struct stack *st, const uint8_t *pkt, size_t len, bool link_bcast,
		const struct netdev_rxinfo *rx);
/* Hand a complete datagram to its protocol (also used by reassembly). */
void ipv4_deliver(struct stack *st, const struct ipv4_pkt *pkt);
/* Send payload p (transport header and data) from src to dst, fragmenting
 * when it exceeds the MTU (unless tx->df: then -EMSGSIZE). 0 or -errno. */
int ipv4_output(struct stack *st, struct pbuf *p, uint8_t proto, uint32_t src,
		uint32_t dst, const struct ipv4_tx *tx);
/* Route lookup: the next hop for dst and the source address to use.
 * 0, or -ENETUNREACH. */
int ipv4_route(struct stack *st, uint32_t dst, uint32_t *nexthop, uint32_t *src);
bool ipv4_is_bcast(const struct stack *st, uint32_t a);
/* A transport's negative advice about the path to dst (RFC 1122 3.3.1.4,
 * RFC 9293 MUST-20 at R1): the next hop is checked again. */
void ipv4_negative_advice(struct stack *st, uint32_t dst);
/* Deliver a locally generated error about a packet we failed to send (ARP
 * could not resolve the next hop) to its protocol, as an ICMP error would. */
void ipv4_local_error(struct stack *st, const struct pbuf *p, int err);
/* Run the packets we sent to ourselves. */
void ipv4_loopback_run(struct stack *st);
/* Packets to ourselves wait for ipv4_loopback_run. */
bool ipv4_loopback_pending(const struct stack *st);
/* The error handler registered for proto, or NULL (icmp.c delivers). */
ipv4_err_fn ipv4_err_handler(const struct stack *st, uint8_t proto);

/* ip_reass.c (RFC 791 3.2, RFC 815) */
int reass_init(struct stack *st);
void reass_fini(struct stack *st);
void reass_input(struct stack *st, const struct ipv4_pkt *frag);
/* Datagrams being reassembled and the memory charged for them. */
void reass_usage(const struct stack *st, unsigned *datagrams, size_t *bytes);

/* icmp.c (RFC 792, RFC 1122 3.2.2) */
int icmp_init(struct stack *st);
void icmp_fini(struct stack *st);
/* Send an ICMP error about orig, obeying RFC 1122 3.2.2's "never send"
 * rules and the rate limit. info: the 4 bytes after the checksum. */
void icmp_send_error(struct stack *st, uint8_t type, uint8_t code, uint32_t info,
		     const struct ipv4_pkt *orig);

/* udp.c (RFC 768, RFC 1122 4.1) */
int udp_init(struct stack *st);
void udp_fini(struct stack *st);

/* tcp_subr.c: TCP's state (RFC 9293); the rest of its interface is
 * tcp_var.h, which only the tcp_*.c files and socket.c include. */
int tcp_init(struct stack *st);
void tcp_fini(struct stack *st);       /* stack destroy: ends every connection */
/* Control blocks allocated (the leak oracle). */
unsigned tcp_pcb_count(const struct stack *st);
/* tcp_dead.c: a connection another member had when it died, which this
 * stack now answers for: its peer is probed until it resets (ports and
 * address in host order; the local address is the stack's). 0, -EEXIST
 * (known, or a connection of ours), -ENOSPC (table full), -ENOMEM. */
int tcp_dead_add(struct stack *st, uint16_t lport, uint32_t raddr, uint16_t rport);
/* Every flow the host's sweeps took for this stack (host_taken) goes to
 * tcp_dead_add. The stack thread calls it after host_tick. */
void tcp_dead_take(struct stack *st);
/* Dead flows being reset now. */
unsigned tcp_dead_count(const struct stack *st);

#endif
