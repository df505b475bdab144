/*
 * udp.c - UDP (RFC 768, RFC 1122 4.1) and its sockets.
 *
 * Sockets are hashed by local port. Unicast goes to the best match (a
 * connected socket beats one bound to our address beats a wildcard);
 * broadcast goes to every match (Linux's __udp4_lib_mcast_deliver; RFC
 * 1122 sets no rule for several listeners on one port). Errors and
 * return values follow Linux's udp_sendmsg / udp_recvmsg.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "iov.h"
#include "mtcp.h"
#include "proto.h"
#include "socket.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/udp.h"

#define UDP_MAX_PAYLOAD (IPV4_MAXLEN - IPV4_HLEN - UDP_HLEN)    /* 65507 */
/* Linux's ip_local_port_range default; RFC 6056 2.1 recommends 1024-65535,
 * NOTE: we keep Linux's range so A/B runs pick ports alike. */
#define EPHEMERAL_LO    32768
#define EPHEMERAL_HI    60999
/* What one queued datagram is charged beyond its payload (Linux charges
 * skb->truesize; this is close for small datagrams). */
#define RX_OVERHEAD     256
#define UDP_HASH        256

/* Every bound UDP socket, by local port. */
struct udp {
	struct mtcp_sock *hash[UDP_HASH];
};

static inline unsigned port_hash(uint16_t port)
{
	return port & (UDP_HASH - 1);
}

static bool port_in_use(struct stack *st, uint16_t port)
{
	for (struct mtcp_sock *s = st->udp->hash[port_hash(port)]; s; s = s->hnext)
		if (s->lport == port)
			return true;
	return false;
}

/* RFC 6056 3.3.1 (Algorithm 1): a random start, then the next free port. */
/* The port chosen is held in the host's port space too (another process
 * on the address may hold one that is free here). */
static int ephemeral_port(struct stack *st, struct mtcp_sock *s, uint16_t *out)
{
	unsigned n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	unsigned start = (unsigned)(stack_rand(st) % n);

	for (unsigned i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_LO + (start + i) % n);
		if (!port_in_use(st, port) && sock_host_bind(s, IPPROTO_UDP, port) == 0) {
			*out = port;
			return 0;
		}
	}
	return -EAGAIN;         /* Linux: no free ephemeral port */
}

static void hash_insert(struct stack *st, struct mtcp_sock *s)
{
	unsigned h = port_hash(s->lport);

	s->hnext = st->udp->hash[h];
	st->udp->hash[h] = s;
}

static void hash_remove(struct stack *st, struct mtcp_sock *s)
{
	for (struct mtcp_sock **pp = &st->udp->hash[port_hash(s->lport)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			s->hnext = NULL;
			return;
		}
	}
}

int udp_bind(struct mtcp_sock *s, uint32_t addr, uint16_t port, bool user)
{
	struct stack *st = s->st;
	bool port_chosen = port != 0;
	int rc;

	if (s->bound)
		return -EINVAL;
	if (addr != INADDR_ANY && addr != st->addr && !ipv4_is_bcast(st, addr))
		return -EADDRNOTAVAIL;
	if (port == 0) {
		if ((rc = ephemeral_port(st, s, &port)) < 0)
			return rc;
	} else {
		for (struct mtcp_sock *o = st->udp->hash[port_hash(port)]; o; o = o->hnext) {
			if (o->lport != port)
				continue;
			bool overlap = !o->laddr || !addr || o->laddr == addr;
			if (overlap && !(o->reuseaddr && s->reuseaddr) &&
			    !(o->reuseport && s->reuseport))
				return -EADDRINUSE;
		}
		if ((rc = sock_host_bind(s, IPPROTO_UDP, port)) < 0)
			return rc;
	}
	s->laddr = addr;
	s->addr_locked = user && addr != INADDR_ANY;
	s->port_locked = user && port_chosen;
	s->lport = port;
	s->bound = true;
	hash_insert(st, s);
	return 0;
}

int udp_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct stack *st = s->st;
	uint32_t nexthop, src;
	int rc;

	if (addr == INADDR_ANY)
		addr = st->addr;        /* Linux: connecting to 0.0.0.0 means this host */
	if (ipv4_is_bcast(st, addr) && !s->broadcast)
		return -EACCES;
	if ((rc = ipv4_route(st, addr, &nexthop, &src)) < 0)
		return rc;
	if (!s->bound && (rc = udp_bind(s, INADDR_ANY, 0, false)) < 0)
		return rc;
	/* Linux ip4_datagram_connect: a wildcard socket takes the source
	 * address routing picks, for sending and for matching input (so a
	 * connected socket no longer sees broadcasts). */
	if (!s->laddr)
		s->laddr = src;
	s->raddr = addr;
	s->rport = port;
	s->connected = true;
	return 0;
}

int udp_disconnect(struct mtcp_sock *s)
{
	/* Linux __udp_disconnect: give back what connect chose and the
	 * application did not. */
	s->raddr = 0;
	s->rport = 0;
	s->connected = false;
	if (!s->addr_locked)
		s->laddr = INADDR_ANY;
	if (!s->port_locked && s->bound) {
		hash_remove(s->st, s);
		sock_host_unbind(s, IPPROTO_UDP);
		s->lport = 0;
		s->bound = false;
	}
	return 0;
}

ssize_t udp_sendmsg(struct mtcp_sock *s, const struct msghdr *msg, int flags)
{
	struct stack *st = s->st;
	uint32_t daddr, saddr, nexthop, rsrc;
	uint16_t dport;
	size_t len = iov_total(msg->msg_iov, msg->msg_iovlen);
	int rc;

	/* The checks in the order Linux makes them (inet_sendmsg, then
	 * udp_sendmsg, then the buffer allocation in __ip_append_data), so
	 * a call with several faults reports the same one. */
	if (!s->bound && (rc = udp_bind(s, INADDR_ANY, 0, false)) < 0)
		return rc;
	if (len > IPV4_MAXLEN)
		return -EMSGSIZE;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (msg->msg_name) {
		const struct sockaddr_in *to = msg->msg_name;
		daddr = ntohl(to->sin_addr.s_addr);
		dport = ntohs(to->sin_port);
		if (dport == 0)
			return -EINVAL;
		if (daddr == INADDR_ANY)
			daddr = st->addr;
	} else if (s->connected) {
		daddr = s->raddr;
		dport = s->rport;
	} else {
		return -EDESTADDRREQ;
	}
	if ((rc = ipv4_route(st, daddr, &nexthop, &rsrc)) < 0)
		return rc;
	/* Linux routes the limited broadcast like any address (no default
	 * route: unreachable) unless the socket is bound to a source
	 * address, which names the interface (ip_route_output_key_hash). */
	if (daddr == 0xffffffffu && !s->laddr && !st->cfg.gateway)
		return -ENETUNREACH;
	if (ipv4_is_bcast(st, daddr) && !s->broadcast)
		return -EACCES;
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	/* A pending error (say ECONNREFUSED from an earlier ICMP port
	 * unreachable) is reported by the next send. */
	if ((rc = sock_error(s)) < 0)
		return rc;
	if (s->shut_wr)
		return -EPIPE;
	saddr = s->laddr && !ipv4_is_bcast(st, s->laddr) ? s->laddr : rsrc;

	struct pbuf *p = pbuf_alloc(UDP_HLEN + len);
	if (!p)
		return -ENOBUFS;
	uint8_t *h = pbuf_put(p, UDP_HLEN + len);
	size_t off = UDP_HLEN;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
		memcpy(h + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		off += msg->msg_iov[i].iov_len;
	}
	struct udp_repr u = { .sport = s->lport, .dport = dport,
			      .len = (uint16_t)(UDP_HLEN + len) };
	udp_emit(&u, h, saddr, daddr);

	/* Linux's default IP_PMTUDISC_WANT: DF when the datagram fits the
	 * MTU, fragments (without DF) when it does not. */
	struct ipv4_tx tx = { .ttl = s->ttl, .tos = s->tos,
			      .df = IPV4_HLEN + UDP_HLEN + len <= st->mtu };
	st->stats.udp_tx++;
	rc = ipv4_output(st, p, IPPROTO_UDP_, saddr, daddr, &tx);
	/* A datagram waiting for ARP, or lost to it, has still been "sent",
	 * as far as the caller can tell: Linux returns the length too. */
	if (rc < 0 && rc != -EHOSTUNREACH)
		return rc;
	return (ssize_t)len;
}

ssize_t udp_recvmsg(struct mtcp_sock *s, struct msghdr *msg, int flags)
{
	int rc;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;         /* no IP_RECVERR error queue */
	if ((rc = sock_error(s)) < 0)
		return rc;
	struct pbuf *p = s->rxq_head;
	if (p) {
		size_t copied = 0;
		for (size_t i = 0; i < (size_t)msg->msg_iovlen && copied < p->len; i++) {
			size_t n = msg->msg_iov[i].iov_len;
			if (n > p->len - copied)
				n = p->len - copied;
			memcpy(msg->msg_iov[i].iov_base, p->data + copied, n);
			copied += n;
		}
		msg->msg_flags = copied < p->len ? MSG_TRUNC : 0;
		if (msg->msg_name) {
			struct sockaddr_in from = {
				.sin_family = AF_INET,
				.sin_port = htons(p->port),
				.sin_addr.s_addr = htonl(p->addr),
			};
			socklen_t n = msg->msg_namelen < sizeof(from) ?
				      msg->msg_namelen : sizeof(from);
			memcpy(msg->msg_name, &from, n);
			msg->msg_namelen = sizeof(from);
		}
		msg->msg_controllen = 0;
		size_t full = p->len;
		if (!(flags & MSG_PEEK)) {
			s->rxq_head = p->next;
			if (!s->rxq_head)
				s->rxq_tail = NULL;
			s->rxq_bytes -= p->len + RX_OVERHEAD;
			pbuf_free(p);
		}
		return (ssize_t)((flags & MSG_TRUNC) ? full : copied);
	}
	if (s->shut_rd)
		return 0;
	if (s->closed)
		return -EBADF;
	return -EAGAIN;         /* the caller waits for EPOLLIN */
}

unsigned udp_poll(struct mtcp_sock *s)
{
	unsigned ev = EPOLLOUT | EPOLLWRNORM;

	if (s->rxq_head)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (s->so_error)
		ev |= EPOLLERR;
	if (s->shut_rd)
		ev |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (s->shut_rd && s->shut_wr)
		ev |= EPOLLHUP;
	return ev;
}

void udp_close(struct mtcp_sock *s)
{
	if (s->bound)
		hash_remove(s->st, s);
	sock_host_unbind(s, IPPROTO_UDP);
	s->bound = false;
	pbuf_free_chain(s->rxq_head);
	s->rxq_head = s->rxq_tail = NULL;
	s->rxq_bytes = 0;
}

void udp_enqueue(struct mtcp_sock *s, struct pbuf *p)
{
	if (s->rxq_tail)
		s->rxq_tail->next = p;
	else
		s->rxq_head = p;
	s->rxq_tail = p;
	s->rxq_bytes += p->len + RX_OVERHEAD;
}

void udp_hash_in(struct mtcp_sock *s)
{
	hash_insert(s->st, s);
}

static void deliver(struct stack *st, struct mtcp_sock *s, const struct ipv4_pkt *pkt,
		    const struct udp_repr *u)
{
	size_t len = u->len - UDP_HLEN;
	struct pbuf *p;

	if (s->rxq_bytes + len + RX_OVERHEAD > (size_t)s->rcvbuf) {
		stack_drop(st, DROP_UDP_RCVBUF_FULL);
		return;
	}
	p = pbuf_alloc(len);
	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return;
	}
	memcpy(pbuf_put(p, len), pkt->payload + UDP_HLEN, len);
	p->addr = pkt->ip.src;
	p->port = u->sport;
	udp_enqueue(s, p);
	sock_wake_ev(s, EPOLLIN | EPOLLRDNORM);
}

/* Does s accept a datagram from src:sport to dst? Higher is a better match;
 * negative: no. */
static int match(const struct mtcp_sock *s, uint32_t src, uint16_t sport, uint32_t dst)
{
	int score = 0;

	if (s->laddr) {
		if (s->laddr != dst)
			return -1;
		score += 2;
	}
	if (s->connected) {
		if (s->raddr != src || s->rport != sport)
			return -1;
		score += 4;
	}
	return score;
}

/* The socket a unicast datagram from raddr:rport to laddr:lport belongs
 * to: the best match (see match()), or NULL. */
static struct mtcp_sock *udp_lookup(struct stack *st, uint32_t laddr, uint16_t lport,
				    uint32_t raddr, uint16_t rport)
{
	struct mtcp_sock *best = NULL;
	int best_score = -1;

	for (struct mtcp_sock *s = st->udp->hash[port_hash(lport)]; s; s = s->hnext) {
		if (s->lport != lport)
			continue;
		int sc = match(s, raddr, rport, laddr);
		if (sc > best_score) {
			best = s;
			best_score = sc;
		}
	}
	return best;
}

static void udp_input(struct stack *st, const struct ipv4_pkt *pkt)
{
	struct udp_repr u;
	enum wire_err e;

	st->stats.udp_rx++;
	e = (pkt->csum_ok ? udp_parse_verified : udp_parse)(pkt->payload, pkt->len,
							  pkt->ip.src, pkt->ip.dst, &u);
	if (e != WIRE_OK) {
		stack_drop(st, e == WIRE_ECSUM ? DROP_UDP_BAD_CSUM : DROP_UDP_MALFORMED);
		return;
	}

	if (pkt->ip_bcast) {
		/* Every matching socket gets a copy of a broadcast. */
		bool delivered = false;
		for (struct mtcp_sock *s = st->udp->hash[port_hash(u.dport)]; s; s = s->hnext) {
			if (s->lport == u.dport && match(s, pkt->ip.src, u.sport, pkt->ip.dst) >= 0) {
				deliver(st, s, pkt, &u);
				delivered = true;
			}
		}
		if (delivered)
			return;
	} else {
		struct mtcp_sock *s = udp_lookup(st, pkt->ip.dst, u.dport, pkt->ip.src, u.sport);
		if (s) {
			deliver(st, s, pkt, &u);
			return;
		}
	}
	if (!stack_answers(st, IPPROTO_UDP, u.dport, pkt->ip.src, u.sport))
		return;
	stack_drop(st, DROP_UDP_NO_SOCKET);
	/* RFC 1122 4.1.3.1: port unreachable (icmp_send_error leaves out
	 * broadcasts and the rest of 3.2.2's exceptions). */
	icmp_send_error(st, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, pkt);
}

/* An ICMP error about a datagram we sent. Like Linux without IP_RECVERR,
 * only hard errors, and only to a connected socket (RFC 1122 4.1.3.3 leaves
 * the reporting to the application interface). */
static void udp_err(struct stack *st, int err, enum ipv4_err_kind kind,
		    const struct ipv4_repr *orig, const uint8_t *data, size_t len)
{
	/* Linux maps a failed neighbour to host unreachable, a soft error
	 * (icmp_err_convert): reported to no UDP socket. */
	bool hard = kind == IPV4_ERR_HARD;

	if (len < UDP_HLEN) {
		stack_drop(st, DROP_ICMP_MALFORMED);
		return;
	}
	/* Linux __udp4_lib_err: the socket a reply would reach, i.e. the
	 * best match (a connected socket wins over a wildcard one sharing
	 * the port through SO_REUSEADDR), not the first in the chain. */
	struct mtcp_sock *best = udp_lookup(st, orig->src, rd16(data), orig->dst, rd16(data + 2));

	if (best && best->connected && hard) {
		best->so_error = err;
		sock_wake(best);
		return;
	}
	stack_drop(st, best ? DROP_ICMP_IGNORED : DROP_ICMP_NO_MATCH);
}

int udp_init(struct stack *st)
{
	st->udp = calloc(1, sizeof(*st->udp));
	if (!st->udp)
		return -ENOMEM;
	ipv4_register(st, IPPROTO_UDP_, udp_input, udp_err);
	return 0;
}

void udp_fini(struct stack *st)
{
	free(st->udp);
	st->udp = NULL;
}
