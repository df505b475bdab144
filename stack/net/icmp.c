/*
 * icmp.c - ICMPv4 (RFC 792, RFC 1122 3.2.2).
 *
 * Echo requests are answered (not those sent to a broadcast address, like
 * Linux's icmp_echo_ignore_broadcasts). Errors we receive are matched to
 * the protocol that sent the quoted datagram, which finds the socket.
 * Errors we send obey RFC 1122 3.2.2's "MUST NOT send" list and a rate
 * limit modelled on Linux's: a global bucket (1000/s, burst 50) and one
 * per destination (1/s, burst 6), as RFC 1812 4.3.2.8 suggests.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

#define ICMP_ERR_MAXLEN         576     /* RFC 1812 4.3.2.3: quote as much as fits */
#define GLOBAL_COST             (USEC_PER_SEC / 1000)
#define GLOBAL_BURST            (50 * GLOBAL_COST)
#define PEER_COST               USEC_PER_SEC
#define PEER_BURST              (6 * PEER_COST)
#define IPTOS_PREC_INTERNETCONTROL 0xc0
#define ICMP_PEERS              64

struct icmp_bucket {
	uint32_t peer;
	uint64_t stamp;
	uint32_t tokens;        /* in microseconds of credit */
};

/* The error rate limit (RFC 1812 4.3.2.8): one bucket for everyone and
 * one per peer (a small hash; a collision shares a bucket). */
struct icmp {
	struct icmp_bucket global;
	struct icmp_bucket peer[ICMP_PEERS];
};

static bool bucket_take(struct icmp_bucket *b, uint64_t now, uint64_t cost, uint64_t burst)
{
	uint64_t tokens = b->tokens + (now - b->stamp);

	if (tokens > burst)
		tokens = burst;
	b->stamp = now;
	if (tokens < cost) {
		b->tokens = (uint32_t)tokens;
		return false;
	}
	b->tokens = (uint32_t)(tokens - cost);
	return true;
}

static bool icmp_rate_ok(struct stack *st, uint32_t peer)
{
	uint64_t now = stack_now(st);
	struct icmp_bucket *b = &st->icmp->peer[(peer ^ peer >> 16) % ICMP_PEERS];

	if (b->peer != peer) {
		/* A new peer (or a hash collision: NOTE the evicted peer gets
		 * a fresh burst when it comes back). */
		b->peer = peer;
		b->stamp = now;
		b->tokens = PEER_BURST;
	}
	if (!bucket_take(&st->icmp->global, now, GLOBAL_COST, GLOBAL_BURST))
		return false;
	return bucket_take(b, now, PEER_COST, PEER_BURST);
}

static bool icmp_is_error(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_SOURCE_QUENCH ||
	       type == ICMP_REDIRECT || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

static int icmp_send(struct stack *st, uint32_t dst, uint8_t tos, const struct icmp_repr *r,
		     const uint8_t *body1, size_t len1, const uint8_t *body2, size_t len2)
{
	struct pbuf *p = pbuf_alloc(ICMP_HLEN + len1 + len2);
	struct ipv4_tx tx = { .tos = tos };

	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return -ENOBUFS;
	}
	uint8_t *h = pbuf_put(p, ICMP_HLEN + len1 + len2);
	memcpy(h + ICMP_HLEN, body1, len1);
	if (len2)
		memcpy(h + ICMP_HLEN + len1, body2, len2);
	icmp_emit(r, h, len1 + len2);
	st->stats.icmp_tx++;
	return ipv4_output(st, p, IPPROTO_ICMP_, st->addr, dst, &tx);
}

void icmp_send_error(struct stack *st, uint8_t type, uint8_t code, uint32_t info,
		     const struct ipv4_pkt *orig)
{
	uint32_t src = orig->ip.src;

	/* RFC 1122 3.2.2: never about an ICMP error, a datagram to a
	 * broadcast or multicast address or in a link-layer broadcast, a
	 * fragment other than the first, or from a source that does not
	 * name a single host. */
	if (orig->ip.proto == IPPROTO_ICMP_ &&
	    (orig->len < 1 || icmp_is_error(orig->payload[0])))
		return;
	if (orig->ip_bcast || orig->link_bcast || ipv4_is_multicast(orig->ip.dst))
		return;
	if (orig->ip.frag_off)
		return;
	if (src == 0 || ipv4_is_bcast(st, src) || ipv4_is_multicast(src) ||
	    (src >> 24) == 127 || (src >> 28) == 0xf)
		return;
	if (!icmp_rate_ok(st, src)) {
		stack_drop(st, DROP_ICMP_RATELIMIT);
		return;
	}

	size_t room = ICMP_ERR_MAXLEN - IPV4_HLEN - ICMP_HLEN - orig->ip.hlen;
	size_t n = orig->len < room ? orig->len : room;
	struct icmp_repr r = { .type = type, .code = code, .rest = info };
	uint8_t tos = (orig->ip.tos & 0x1e) | IPTOS_PREC_INTERNETCONTROL;

	char a[16];
	log_debug(icmp, "error %u/%u to %s", type, code, ipv4_ntoa(src, a));
	st->stats.icmp_errors_sent++;
	icmp_send(st, src, tos, &r, orig->hdr, orig->ip.hlen, orig->payload, n);
}

/* RFC 1122 4.2.3.9 and Linux's icmp_err_convert: the errno an error maps
 * to, and whether it is "hard" (ends a connection attempt). */
static int icmp_errno(uint8_t type, uint8_t code, bool *hard)
{
	static const struct { int err; bool hard; } unreach[16] = {
		[0] = { ENETUNREACH, false },   [1] = { EHOSTUNREACH, false },
		[2] = { ENOPROTOOPT, true },    [3] = { ECONNREFUSED, true },
		[4] = { EMSGSIZE, false },      [5] = { EOPNOTSUPP, false },
		[6] = { ENETUNREACH, true },    [7] = { EHOSTDOWN, true },
		[8] = { ENONET, true },         [9] = { ENETUNREACH, true },
		[10] = { EHOSTUNREACH, true },  [11] = { ENETUNREACH, false },
		[12] = { EHOSTUNREACH, false }, [13] = { EHOSTUNREACH, true },
		[14] = { EHOSTUNREACH, true },  [15] = { EHOSTUNREACH, true },
	};

	switch (type) {
	case ICMP_DEST_UNREACH:
		if (code > 15)
			return 0;
		*hard = unreach[code].hard;
		return unreach[code].err;
	case ICMP_TIME_EXCEEDED:
		*hard = false;
		return EHOSTUNREACH;
	case ICMP_PARAMETERPROB:
		*hard = true;
		return EPROTO;
	default:
		return 0;
	}
}

static void icmp_error_input(struct stack *st, const struct icmp_repr *r,
			     const uint8_t *body, size_t len)
{
	struct ipv4_repr orig = { 0 };
	bool hard = false;
	int err;

	st->stats.icmp_errors_rx++;
	/* The quoted header, leniently: it is a copy, its total length and
	 * checksum describe a datagram we no longer see whole. */
	if (len < IPV4_HLEN || (body[0] >> 4) != 4) {
		stack_drop(st, DROP_ICMP_MALFORMED);
		return;
	}
	orig.hlen = (uint8_t)((body[0] & 0xf) * 4);
	if (orig.hlen < IPV4_HLEN || len < (size_t)orig.hlen + 8) {
		stack_drop(st, DROP_ICMP_MALFORMED);
		return;
	}
	orig.proto = body[9];
	orig.src = rd32(body + 12);
	orig.dst = rd32(body + 16);
	orig.id = rd16(body + 4);
	if (orig.src != st->addr) {
		stack_drop(st, DROP_ICMP_NO_MATCH);
		return;
	}
	err = icmp_errno(r->type, r->code, &hard);
	ipv4_err_fn fn = ipv4_err_handler(st, orig.proto);
	if (!err || !fn) {
		stack_drop(st, err ? DROP_ICMP_NO_MATCH : DROP_ICMP_UNHANDLED);
		return;
	}
	char a[16];
	log_debug(icmp, "error %u/%u from %s about proto %u", r->type, r->code,
		  ipv4_ntoa(orig.dst, a), orig.proto);
	fn(st, err, hard ? IPV4_ERR_HARD : IPV4_ERR_SOFT, &orig, body + orig.hlen,
	   len - orig.hlen);
}

static void icmp_input(struct stack *st, const struct ipv4_pkt *pkt)
{
	struct icmp_repr r;
	enum wire_err e;

	st->stats.icmp_rx++;
	e = icmp_parse(pkt->payload, pkt->len, &r);
	if (e != WIRE_OK) {
		stack_drop(st, e == WIRE_ECSUM ? DROP_ICMP_BAD_CSUM : DROP_ICMP_MALFORMED);
		return;
	}
	const uint8_t *body = pkt->payload + ICMP_HLEN;
	size_t len = pkt->len - ICMP_HLEN;

	switch (r.type) {
	case ICMP_ECHO:
		if (pkt->ip_bcast || pkt->link_bcast) {
			stack_drop(st, DROP_ICMP_UNHANDLED);
			return;
		}
		/* One reply per request for the whole address: the member
		 * that answers for it sends it (the steering sends it the
		 * requests; this covers a frame that reached another). */
		if (st->host && !host_is_default(st->host)) {
			stack_drop(st, DROP_NOT_OURS);
			return;
		}
		/* RFC 1122 3.2.2.6: the reply carries the request's data. */
		r.type = ICMP_ECHOREPLY;
		r.code = 0;
		st->stats.icmp_echo_replies++;
		icmp_send(st, pkt->ip.src, pkt->ip.tos, &r, body, len, NULL, 0);
		return;
	case ICMP_DEST_UNREACH:
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB:
		icmp_error_input(st, &r, body, len);
		return;
	default:
		/* Echo replies (we have no ping sockets), source quench
		 * (RFC 6633: ignored), redirects (one gateway: nothing to
		 * redirect), timestamps and the rest. */
		stack_drop(st, DROP_ICMP_UNHANDLED);
	}
}

int icmp_init(struct stack *st)
{
	uint64_t now = stack_now(st);

	st->icmp = calloc(1, sizeof(*st->icmp));
	if (!st->icmp)
		return -ENOMEM;
	st->icmp->global.stamp = now;
	st->icmp->global.tokens = GLOBAL_BURST;
	ipv4_register(st, IPPROTO_ICMP_, icmp_input, NULL);
	return 0;
}

void icmp_fini(struct stack *st)
{
	free(st->icmp);
	st->icmp = NULL;
}
