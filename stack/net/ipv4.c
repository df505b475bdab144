/*
 * ipv4.c - IPv4 (RFC 791, RFC 1122 3.2/3.3): a host, not a router.
 *
 * Input validates the header (the wire layer), accepts what is addressed to
 * us or to a broadcast address, reassembles fragments (ip_reass.c) and hands
 * the payload to the protocol registered for it. Output routes (longest
 * prefix: the connected subnet, then the default gateway), fragments what
 * exceeds the MTU and resolves the next hop (arp.c). Packets to our own
 * address loop back through a queue the stack thread drains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define IP_DEFAULT_TTL  64      /* RFC 1700 / Linux; RFC 1122 3.2.1.7 */
#define LOOP_MAX_PKTS   1024
#define MAX_ROUTES      8

struct route {
	uint32_t dst, mask;     /* host order */
	uint32_t gw;            /* 0: directly connected */
};

/* The IPv4 layer: the protocols above it, the routes, the next datagram
 * id, and the packets we sent to ourselves, waiting for the next pass. */
struct ipv4 {
	ipv4_input_fn proto_input[256];
	ipv4_err_fn proto_err[256];
	struct route routes[MAX_ROUTES];
	unsigned nroutes;
	uint16_t ip_id;
	struct pbuf *loop_head, *loop_tail;
	unsigned loop_count;
};

static void route_add(struct stack *st, uint32_t dst, uint32_t mask, uint32_t gw)
{
	if (st->ip->nroutes < MAX_ROUTES)
		st->ip->routes[st->ip->nroutes++] = (struct route){ dst & mask, mask, gw };
}

int ipv4_init(struct stack *st)
{
	st->ip = calloc(1, sizeof(*st->ip));
	if (!st->ip)
		return -ENOMEM;
	st->ip->ip_id = (uint16_t)stack_rand(st);
	route_add(st, st->addr, st->mask, 0);
	if (st->cfg.gateway)
		route_add(st, 0, 0, st->cfg.gateway);
	return 0;
}

void ipv4_fini(struct stack *st)
{
	if (!st->ip)
		return;
	pbuf_free_chain(st->ip->loop_head);
	free(st->ip);
	st->ip = NULL;
}

ipv4_err_fn ipv4_err_handler(const struct stack *st, uint8_t proto)
{
	return st->ip->proto_err[proto];
}

bool ipv4_loopback_pending(const struct stack *st)
{
	return st->ip->loop_head != NULL;
}

void ipv4_register(struct stack *st, uint8_t proto, ipv4_input_fn in, ipv4_err_fn err)
{
	st->ip->proto_input[proto] = in;
	st->ip->proto_err[proto] = err;
}

bool ipv4_is_bcast(const struct stack *st, uint32_t a)
{
	return a == INADDR_BROADCAST || a == st->bcast;
}

int ipv4_route(struct stack *st, uint32_t dst, uint32_t *nexthop, uint32_t *src)
{
	const struct route *best = NULL;

	*src = st->addr;
	if (dst == INADDR_BROADCAST || dst == st->addr) {
		*nexthop = dst;
		return 0;
	}
	for (unsigned i = 0; i < st->ip->nroutes; i++) {
		const struct route *r = &st->ip->routes[i];
		if ((dst & r->mask) == r->dst && (!best || r->mask > best->mask))
			best = r;
	}
	if (!best)
		return -ENETUNREACH;
	*nexthop = best->gw ? best->gw : dst;
	return 0;
}

static enum drop_reason ip_drop_reason(enum wire_err e)
{
	switch (e) {
	case WIRE_ETRUNC:       return DROP_IP_TRUNC;
	case WIRE_EVERSION:     return DROP_IP_BAD_VERSION;
	case WIRE_EHLEN:        return DROP_IP_BAD_HLEN;
	case WIRE_ECSUM:        return DROP_IP_BAD_CSUM;
	case WIRE_EOPT:         return DROP_IP_BAD_OPTIONS;
	default:                return DROP_IP_BAD_LEN;
	}
}

void ipv4_deliver(struct stack *st, const struct ipv4_pkt *pkt)
{
	ipv4_input_fn in = st->ip->proto_input[pkt->ip.proto];

	if (!in) {
		stack_drop(st, DROP_IP_UNKNOWN_PROTO);
		/* RFC 1122 3.2.2.1: protocol unreachable. */
		icmp_send_error(st, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, pkt);
		return;
	}
	in(st, pkt);
}

static bool has_source_route(const uint8_t *opt, size_t len)
{
	size_t pos = 0;
	uint8_t kind;
	const uint8_t *val;
	size_t vlen;

	while (wire_opt_next(opt, len, &pos, &kind, &val, &vlen) > 0)
		if (kind == 0x83 || kind == 0x89)       /* LSRR, SSRR */
			return true;
	return false;
}

void ipv4_input(struct stack *st, const uint8_t *buf, size_t len, bool link_bcast,
		const struct netdev_rxinfo *rx)
{
	struct ipv4_pkt pkt = { .link_bcast = link_bcast };
	enum wire_err e;

	st->stats.ip_rx++;
	e = ipv4_parse(buf, len, &pkt.ip);
	if (e != WIRE_OK) {
		stack_drop(st, ip_drop_reason(e));
		return;
	}
	/* RFC 1122 3.2.1.3: a source that cannot be a host is discarded. */
	uint32_t src = pkt.ip.src;
	/* 0/8 ("this network") only as a source of a broadcast (a host
	 * that does not know its address yet, as in DHCP), as Linux. */
	if (ipv4_is_bcast(st, src) || ipv4_is_multicast(src) || (src >> 24) == 127 ||
	    (src >> 28) == 0xf || ((src >> 24) == 0 && !ipv4_is_bcast(st, pkt.ip.dst))) {
		stack_drop(st, DROP_IP_BAD_SRC);
		return;
	}
	/* RFC 1122 3.3.4.2 / 3.3.6: ours, or a broadcast; no forwarding. */
	uint32_t dst = pkt.ip.dst;
	pkt.ip_bcast = ipv4_is_bcast(st, dst);
	if (dst != st->addr && !pkt.ip_bcast) {
		stack_drop(st, DROP_IP_NOT_FOR_US);
		return;
	}
	/* RFC 7126 4.3 / 4.4: a source-routed datagram is dropped, as
	 * Linux does by default (accept_source_route = 0). This is also why
	 * TCP never has to keep a return route (RFC 9293 MUST-53). */
	if (pkt.ip.hlen > IPV4_HLEN && has_source_route(buf + IPV4_HLEN, pkt.ip.hlen - IPV4_HLEN)) {
		stack_drop(st, DROP_IP_SOURCE_ROUTE);
		return;
	}
	pkt.hdr = buf;
	pkt.payload = buf + pkt.ip.hlen;
	pkt.len = pkt.ip.total_len - pkt.ip.hlen;
	/* What the device vouched for (loopback packets come with none,
	 * reassembled ones are built afresh). A merged TCP frame (GRO) is
	 * never a fragment. */
	if (rx) {
		pkt.csum_ok = rx->csum != NETDEV_CSUM_NONE;
		pkt.gso_size = rx->gso_size;
	}

	if (pkt.ip.mf || pkt.ip.frag_off) {
		st->stats.ip_frags_rx++;
		reass_input(st, &pkt);
		return;
	}
	ipv4_deliver(st, &pkt);
}

/* Queue a packet to ourselves for the stack thread: never recurse into
 * input from output. */
static int loop_enqueue(struct stack *st, struct pbuf *p)
{
	if (st->ip->loop_count >= LOOP_MAX_PKTS) {
		stack_drop(st, DROP_NOMEM);
		pbuf_free(p);
		return -ENOBUFS;
	}
	p->next = NULL;
	if (st->ip->loop_tail)
		st->ip->loop_tail->next = p;
	else
		st->ip->loop_head = p;
	st->ip->loop_tail = p;
	st->ip->loop_count++;
	stack_kick(st);
	return 0;
}

/* Emit one packet (header + payload in p) to its next hop. */
static int ipv4_xmit(struct stack *st, struct pbuf *p, uint32_t dst, uint32_t nexthop)
{
	st->stats.ip_tx++;
	if (dst == st->addr)
		return loop_enqueue(st, p);
	if (ipv4_is_bcast(st, dst)) {
		/* Like Linux (ip_mc_output), a broadcast reaches our own
		 * sockets too. */
		struct pbuf *copy = pbuf_alloc(p->len);
		if (copy) {
			memcpy(pbuf_put(copy, p->len), p->data, p->len);
			loop_enqueue(st, copy);
		}
		return ether_output(st, p, eth_broadcast, ETHERTYPE_IPV4);
	}
	return arp_output(st, p, nexthop);
}

void ipv4_loopback_run(struct stack *st)
{
	struct pbuf *p;

	while ((p = st->ip->loop_head)) {
		st->ip->loop_head = p->next;
		if (!st->ip->loop_head)
			st->ip->loop_tail = NULL;
		st->ip->loop_count--;
		ipv4_input(st, p->data, p->len, false, NULL);
		pbuf_free(p);
	}
}

int ipv4_output(struct stack *st, struct pbuf *p, uint8_t proto, uint32_t src,
		uint32_t dst, const struct ipv4_tx *tx)
{
	struct ipv4_repr ip = {
		.tos = tx->tos,
		.ttl = tx->ttl ? tx->ttl : IP_DEFAULT_TTL,
		.proto = proto,
		.src = src,
		.dst = dst,
	};
	uint32_t nexthop, rsrc;
	size_t len = p->len;
	int rc;

	if ((rc = ipv4_route(st, dst, &nexthop, &rsrc)) < 0) {
		stack_drop(st, DROP_IP_NO_ROUTE);
		pbuf_free(p);
		return rc;
	}
	if (len + IPV4_HLEN > IPV4_MAXLEN) {
		stack_drop(st, DROP_IP_TOO_BIG);
		pbuf_free(p);
		return -EMSGSIZE;
	}
	ip.id = st->ip->ip_id++;
	/* The device numbers a super-frame's segments id, id+1, ...: keep
	 * those for it (Linux's ip_select_ident_segs). */
	if (p->gso_size) {
		size_t payload = len - (size_t)(p->payload_pos - p->l4_pos);
		st->ip->ip_id = (uint16_t)(st->ip->ip_id + (payload + p->gso_size - 1) / p->gso_size - 1);
	}

	/* A TCP super-frame is cut to size by the device (TSO). */
	if (len + IPV4_HLEN <= st->mtu || dst == st->addr || p->gso_size) {
		ip.df = tx->df;
		ip.total_len = (uint16_t)(len + IPV4_HLEN);
		ipv4_emit(&ip, pbuf_push(p, IPV4_HLEN));
		return ipv4_xmit(st, p, dst, nexthop);
	}
	if (tx->df) {
		pbuf_free(p);
		return -EMSGSIZE;
	}

	/* RFC 791 3.2 "Fragmentation": every fragment but the last carries a
	 * multiple of 8 payload bytes and MF; offsets count 8-byte units. */
	size_t chunk = ((st->mtu - IPV4_HLEN) / 8) * 8;
	rc = 0;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		struct pbuf *f = pbuf_alloc(n);
		if (!f) {
			stack_drop(st, DROP_NOMEM);
			rc = -ENOBUFS;
			break;
		}
		memcpy(pbuf_put(f, n), p->data + off, n);
		ip.frag_off = (uint16_t)off;
		ip.mf = off + n < len;
		ip.total_len = (uint16_t)(n + IPV4_HLEN);
		ipv4_emit(&ip, pbuf_push(f, IPV4_HLEN));
		st->stats.ip_frags_tx++;
		int r = ipv4_xmit(st, f, dst, nexthop);
		if (r < 0 && !rc)
			rc = r;
	}
	pbuf_free(p);
	return rc;
}

void ipv4_local_error(struct stack *st, const struct pbuf *p, int err)
{
	struct ipv4_repr ip;

	/* Only the first fragment carries the transport header. */
	if (ipv4_parse(p->data, p->len, &ip) != WIRE_OK || ip.frag_off)
		return;
	ipv4_err_fn fn = st->ip->proto_err[ip.proto];
	if (fn)
		fn(st, err, IPV4_ERR_LOCAL, &ip, p->data + ip.hlen, ip.total_len - ip.hlen);
}

void ipv4_negative_advice(struct stack *st, uint32_t dst)
{
	uint32_t nexthop, src;

	if (ipv4_route(st, dst, &nexthop, &src) == 0)
		arp_negative_advice(st, nexthop);
}
