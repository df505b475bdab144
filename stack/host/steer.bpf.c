/*
 * steer.bpf.c - the steering filter: an eBPF socket filter on one member's
 * AF_PACKET socket that keeps a frame only if this member owns it.
 *
 * Built with clang -target bpf (see the Makefile) and embedded in the
 * library (steer_obj.S); steer.c loads it once per member, with the
 * member's number and the outgoing flag written into .rodata first (the
 * verifier then sees them as constants), and the three maps replaced by
 * the registry's (bpf_map__reuse_fd): the definitions below only give
 * their shape, which must match steer_create's.
 *
 * A socket filter's return value is how many bytes of the frame to keep:
 * skb->len keeps it whole, 0 drops it. On an AF_PACKET SOCK_RAW socket
 * the frame starts at its Ethernet header (packet_rcv pushes the link
 * header back before the filter runs), so offset 0 below is the Ethernet
 * header; bpf_skb_load_bytes also reads frames whose headers are not all
 * in the linear part of the skb.
 *
 * The rules are steer.h's, in the same order.
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "steer.h"
#include "steer_hash.h"

/* Set by steer.c before load (steer_load). */
const volatile uint16_t steer_member = 0;       /* this member's number */
const volatile uint8_t steer_outgoing = 0;      /* steer_attach's outgoing */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_PORTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, uint32_t);                  /* steer_port_key() */
	__type(value, struct steer_port);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_FLOWS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_flow);
	__type(value, uint16_t);                /* member */
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, uint32_t);
	__type(value, struct steer_conf);
} conf SEC(".maps");

#define ETH_P_8021Q_    0x8100
#define IP_MF_OFFSET    0x3fff          /* more fragments, fragment offset */
#define ICMP_ECHO_REQ   8

/* Verdicts. */
static __always_inline int keep(struct __sk_buff *skb)
{
	return (int)skb->len;
}

static __always_inline int keep_if(struct __sk_buff *skb, uint16_t m)
{
	return m != 0 && m == steer_member ? keep(skb) : 0;
}

/* What nobody owns: the default member's. */
static __always_inline int to_default(struct __sk_buff *skb, const struct steer_conf *c)
{
	return c ? keep_if(skb, c->default_member) : 0;
}

/* A ports entry: one of its active members, by the remote end; its only
 * holder; or nobody while several hold it and none takes new flows. */
static __always_inline int to_port(struct __sk_buff *skb, const struct steer_port *p,
				   uint32_t raddr, uint16_t rport)
{
	uint32_t n = p->nactive;

	if (n > 0) {
		uint32_t i;

		if (n > STEER_HOLDERS)
			n = STEER_HOLDERS;
		i = steer_hash_index(steer_hash(raddr, rport), n);
		if (i >= STEER_HOLDERS)         /* cannot be: for the verifier */
			return 0;
		return keep_if(skb, p->active[i]);
	}
	if (p->nholders == 1)
		return keep_if(skb, p->h[0].member);
	return 0;
}

SEC("socket")
int steer_filter(struct __sk_buff *skb)
{
	const struct steer_conf *c;
	struct steer_port *p;
	struct steer_flow fk;
	struct ethhdr eth;
	struct iphdr ip;
	uint16_t *fm;
	uint16_t l4[2];                         /* source, destination port */
	uint32_t key = 0, off = ETH_HLEN, l4off;
	uint16_t proto;
	uint8_t icmp_type;

	/* Only the frames of our direction: those the kernel sends on a TAP
	 * (outgoing), or those the interface receives. */
	if (steer_outgoing) {
		if (skb->pkt_type != PACKET_OUTGOING)
			return 0;
	} else if (skb->pkt_type == PACKET_OUTGOING) {
		return 0;
	}

	c = bpf_map_lookup_elem(&conf, &key);
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return to_default(skb, c);
	proto = eth.h_proto;
	if (proto == bpf_htons(ETH_P_8021Q_)) {
		uint16_t tag[2];                /* TCI, the type inside */

		if (bpf_skb_load_bytes(skb, off, tag, sizeof(tag)) < 0)
			return to_default(skb, c);
		proto = tag[1];
		off += sizeof(tag);
	}

	/* ARP: every member (replies reach each stack that asked). */
	if (proto == bpf_htons(ETH_P_ARP))
		return keep(skb);
	if (proto != bpf_htons(ETH_P_IP))
		return to_default(skb, c);
	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0 ||
	    ip.version != 4 || ip.ihl < 5)
		return to_default(skb, c);
	l4off = off + ip.ihl * 4u;

	/* Fragments: every member (only the first has the ports, and each
	 * stack's reassembly keeps or drops its own). */
	if (ip.frag_off & bpf_htons(IP_MF_OFFSET))
		return keep(skb);
	/* ICMP errors and replies: every member (each matches them to its
	 * own connections); echo requests: the default member answers. */
	if (ip.protocol == IPPROTO_ICMP) {
		if (bpf_skb_load_bytes(skb, l4off, &icmp_type, 1) < 0 ||
		    icmp_type == ICMP_ECHO_REQ)
			return to_default(skb, c);
		return keep(skb);
	}

	/* Not to us: the default member (which drops it, counted). A
	 * broadcast or multicast (the limited broadcast, or any IPv4 packet in
	 * a link-layer broadcast or multicast, e.g. the subnet's broadcast,
	 * which the filter cannot tell from the address alone) goes on to the
	 * port rules, as the stacks accept them. */
	if (!c)
		return 0;
	if (ip.daddr != c->addr && ip.daddr != 0xffffffffu &&
	    (ip.daddr & bpf_htonl(0xf0000000)) != bpf_htonl(0xe0000000) &&
	    !(eth.h_dest[0] & 1))
		return to_default(skb, c);
	if (ip.protocol != IPPROTO_TCP && ip.protocol != IPPROTO_UDP)
		return to_default(skb, c);
	if (bpf_skb_load_bytes(skb, l4off, l4, sizeof(l4)) < 0)
		return to_default(skb, c);

	/* A connection several members' port shares: its member. */
	__builtin_memset(&fk, 0, sizeof(fk));
	fk.raddr = ip.saddr;
	fk.rport = l4[0];
	fk.lport = l4[1];
	fk.proto = ip.protocol;
	fm = bpf_map_lookup_elem(&flows, &fk);
	if (fm)
		return keep_if(skb, *fm);

	key = steer_port_key(ip.protocol, bpf_ntohs(l4[1]));
	p = bpf_map_lookup_elem(&ports, &key);
	if (p && p->nholders > 0)
		return to_port(skb, p, ip.saddr, l4[0]);
	/* Nobody's port: the default member answers (RST, port unreachable). */
	return to_default(skb, c);
}

/* The kernel lets only GPL-compatible programs call some helpers; none of
 * those is used here, and the string says nothing of the library's own. */
char LICENSE[] SEC("license") = "GPL";
