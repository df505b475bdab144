/*
 * ip_reass.c - IPv4 reassembly (RFC 791 3.2, RFC 815, RFC 1122 3.3.2).
 *
 * A datagram in reassembly is keyed by (source, destination, protocol, id)
 * and holds its fragments sorted by offset. Defences against floods and
 * crafted fragments:
 *  - at most REASS_MAX_DATAGRAMS datagrams and REASS_MAX_BYTES of memory
 *    (each fragment charged its payload plus bookkeeping) in reassembly;
 *    beyond that the oldest datagram is evicted (FRAG_TOO_MANY);
 *  - at most REASS_MAX_FRAGS fragments per datagram;
 *  - any overlap that is not an exact duplicate discards the whole
 *    datagram (FRAG_OVERLAP). NOTE: RFC 791 lets the later copy win; like
 *    Linux since 4.19 (and RFC 5722 for IPv6) we refuse to guess, which
 *    closes the overlap-rewrite attacks on inspection devices;
 *  - a fragment past the end the last fragment declared, a second last
 *    fragment with another end, or a datagram over 65535 bytes discards
 *    the datagram (FRAG_BAD);
 *  - REASS_TIMEOUT after the first fragment arrived the datagram is
 *    dropped (FRAG_TIMEOUT), with ICMP time exceeded (code 1) to the sender
 *    when fragment zero had arrived (RFC 792, RFC 1122 3.3.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stack.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* RFC 1122 3.3.2 suggests 60-120 s; Linux uses 30 s (ipfrag_time), which
 * bounds the memory a flood can pin for half as long. */
#define REASS_TIMEOUT           (30 * USEC_PER_SEC)
#define REASS_MAX_DATAGRAMS     64
#define REASS_MAX_BYTES         (4u << 20)
#define REASS_MAX_FRAGS         1024
#define FRAG_OVERHEAD           64

struct frag {
	struct frag *next;
	uint16_t off, len;
	uint8_t data[];
};

struct reass {
	struct reass *next, *prev;      /* st->ip_reass->list, oldest first */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool have_first, have_last, link_bcast;
	uint32_t total;                 /* payload length, once the last fragment came */
	unsigned nfrags;
	size_t charge;                  /* memory charged to st->ip_reass->bytes */
	struct frag *frags;             /* sorted by offset, disjoint */
	struct ipv4_repr ip0;           /* fragment zero's header, parsed ... */
	uint8_t hdr[IPV4_HLEN_MAX];     /* ... and as received */
	struct timer timer;
};

/* Every datagram being put together, and what they hold in all. */
struct ip_reass {
	struct reass *list;             /* oldest first */
	unsigned count;
	size_t bytes;
};

static void reass_free(struct stack *st, struct reass *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		st->ip_reass->list = r->next;
	if (r->next)
		r->next->prev = r->prev;
	timer_cancel(&st->timers, &r->timer);
	for (struct frag *f = r->frags, *n; f; f = n) {
		n = f->next;
		free(f);
	}
	st->ip_reass->bytes -= r->charge;
	st->ip_reass->count--;
	free(r);
}

static void reass_discard(struct stack *st, struct reass *r, enum drop_reason why)
{
	stack_drop(st, why);
	reass_free(st, r);
}

static void reass_timeout(struct stack *st, struct timer *t)
{
	struct reass *r = (struct reass *)((char *)t - offsetof(struct reass, timer));

	if (r->have_first) {
		struct ipv4_pkt orig = {
			.ip = r->ip0,
			.hdr = r->hdr,
			.payload = r->frags->data,
			.len = r->frags->len,
			.link_bcast = r->link_bcast,
			.ip_bcast = ipv4_is_bcast(st, r->dst),
		};
		/* RFC 792: code 1, fragment reassembly time exceeded. */
		icmp_send_error(st, ICMP_TIME_EXCEEDED, 1, 0, &orig);
	}
	reass_discard(st, r, DROP_FRAG_TIMEOUT);
}

static struct reass *reass_find(struct stack *st, const struct ipv4_repr *ip)
{
	for (struct reass *r = st->ip_reass->list; r; r = r->next)
		if (r->id == ip->id && r->src == ip->src && r->dst == ip->dst &&
		    r->proto == ip->proto)
			return r;
	return NULL;
}

/* Evict the oldest datagrams (other than keep) until need more bytes fit. */
static void reass_make_room(struct stack *st, size_t need, const struct reass *keep)
{
	struct reass *r = st->ip_reass->list;

	while (r && (st->ip_reass->bytes + need > REASS_MAX_BYTES ||
		     st->ip_reass->count > REASS_MAX_DATAGRAMS)) {
		struct reass *next = r->next;
		if (r != keep)
			reass_discard(st, r, DROP_FRAG_TOO_MANY);
		r = next;
	}
}

static struct reass *reass_create(struct stack *st, const struct ipv4_pkt *pkt)
{
	struct reass *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->src = pkt->ip.src;
	r->dst = pkt->ip.dst;
	r->id = pkt->ip.id;
	r->proto = pkt->ip.proto;
	r->link_bcast = pkt->link_bcast;
	r->charge = sizeof(*r);
	timer_init(&r->timer, reass_timeout);
	/* Append: the list stays oldest first. */
	struct reass **pp = &st->ip_reass->list, *prev = NULL;
	while (*pp) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	*pp = r;
	r->prev = prev;
	st->ip_reass->count++;
	st->ip_reass->bytes += r->charge;
	timer_arm(&st->timers, &r->timer, stack_now(st) + REASS_TIMEOUT);
	reass_make_room(st, 0, r);
	return r;
}

/* All of [0, total) present? The list is sorted and disjoint. */
static bool reass_complete(const struct reass *r)
{
	uint32_t next = 0;

	if (!r->have_last)
		return false;
	for (const struct frag *f = r->frags; f; f = f->next) {
		if (f->off != next)
			return false;
		next += f->len;
	}
	return next == r->total;
}

static void reass_finish(struct stack *st, struct reass *r)
{
	uint8_t *buf = malloc(r->total ? r->total : 1);

	if (!buf) {
		reass_discard(st, r, DROP_NOMEM);
		return;
	}
	for (const struct frag *f = r->frags; f; f = f->next)
		memcpy(buf + f->off, f->data, f->len);

	struct ipv4_pkt pkt = {
		.ip = r->ip0,
		.hdr = r->hdr,
		.payload = buf,
		.len = r->total,
		.link_bcast = r->link_bcast,
		.ip_bcast = ipv4_is_bcast(st, r->dst),
	};
	pkt.ip.mf = false;
	pkt.ip.frag_off = 0;
	pkt.ip.total_len = (uint16_t)(pkt.ip.hlen + r->total);
	st->stats.ip_reassembled++;
	/* Unlink before delivery: the protocol may send, and sending may
	 * (through the loopback queue, later) reach reassembly again. */
	reass_free(st, r);
	ipv4_deliver(st, &pkt);
	free(buf);
}

void reass_input(struct stack *st, const struct ipv4_pkt *pkt)
{
	uint32_t off = pkt->ip.frag_off;
	uint32_t len = (uint32_t)pkt->len;
	uint32_t end = off + len;
	struct reass *r;

	/* An empty fragment that is not the last says nothing; one that
	 * takes the datagram past 65535 bytes is the "ping of death". */
	if ((len == 0 && pkt->ip.mf) || end + pkt->ip.hlen > IPV4_MAXLEN) {
		stack_drop(st, DROP_FRAG_BAD);
		return;
	}
	r = reass_find(st, &pkt->ip);
	if (!r && !(r = reass_create(st, pkt))) {
		stack_drop(st, DROP_NOMEM);
		return;
	}

	if (!pkt->ip.mf) {
		if ((r->have_last && r->total != end)) {
			reass_discard(st, r, DROP_FRAG_BAD);
			return;
		}
		for (const struct frag *f = r->frags; f; f = f->next)
			if (f->off + f->len > end) {
				reass_discard(st, r, DROP_FRAG_BAD);
				return;
			}
		r->have_last = true;
		r->total = end;
	} else if (r->have_last && end > r->total) {
		reass_discard(st, r, DROP_FRAG_BAD);
		return;
	}

	/* Find the place; refuse overlaps that are not exact duplicates. */
	struct frag **pp = &r->frags;
	for (; *pp; pp = &(*pp)->next) {
		struct frag *f = *pp;
		if (f->off + f->len <= off)
			continue;
		if (f->off >= end)
			break;
		if (f->off == off && f->len == len && memcmp(f->data, pkt->payload, len) == 0) {
			stack_drop(st, DROP_FRAG_DUP);
			return;
		}
		reass_discard(st, r, DROP_FRAG_OVERLAP);
		return;
	}

	size_t charge = sizeof(struct frag) + len + FRAG_OVERHEAD;
	if (r->nfrags >= REASS_MAX_FRAGS) {
		reass_discard(st, r, DROP_FRAG_TOO_MANY);
		return;
	}
	reass_make_room(st, charge, r);
	if (st->ip_reass->bytes + charge > REASS_MAX_BYTES) {
		/* This datagram alone is over the limit. */
		reass_discard(st, r, DROP_FRAG_TOO_MANY);
		return;
	}
	struct frag *f = malloc(sizeof(*f) + len);
	if (!f) {
		reass_discard(st, r, DROP_NOMEM);
		return;
	}
	f->off = (uint16_t)off;
	f->len = (uint16_t)len;
	memcpy(f->data, pkt->payload, len);
	f->next = *pp;
	*pp = f;
	r->nfrags++;
	r->charge += charge;
	st->ip_reass->bytes += charge;

	if (off == 0) {
		r->have_first = true;
		r->ip0 = pkt->ip;
		memcpy(r->hdr, pkt->hdr, pkt->ip.hlen);
	}
	if (reass_complete(r))
		reass_finish(st, r);
}

int reass_init(struct stack *st)
{
	st->ip_reass = calloc(1, sizeof(*st->ip_reass));
	return st->ip_reass ? 0 : -ENOMEM;
}

void reass_fini(struct stack *st)
{
	if (!st->ip_reass)
		return;
	while (st->ip_reass->list)
		reass_free(st, st->ip_reass->list);
	free(st->ip_reass);
	st->ip_reass = NULL;
}

void reass_usage(const struct stack *st, unsigned *datagrams, size_t *bytes)
{
	*datagrams = st->ip_reass ? st->ip_reass->count : 0;
	*bytes = st->ip_reass ? st->ip_reass->bytes : 0;
}
