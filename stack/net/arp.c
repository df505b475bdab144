/*
 * arp.c - ARP (RFC 826) and the neighbour cache.
 *
 * An entry is INCOMPLETE while we ask (packets for it wait in a bounded
 * queue), REACHABLE for ARP_REACHABLE after the neighbour last spoke for
 * itself, then STALE: still used, but the next use sends a request to
 * confirm it. An INCOMPLETE entry retries once a second (at most one
 * request per second per address, RFC 1122 2.3.2.1) ARP_RETRIES times, then
 * turns FAILED: its packets are dropped and their senders told
 * EHOSTUNREACH; a FAILED entry answers new packets with the same error
 * until it is collected, so a dead neighbour costs at most one request a
 * second. Unused entries are collected by a periodic timer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stack.h"
#include "wire/arp.h"
#include "wire/ether.h"

#define ARP_REACHABLE           (30 * USEC_PER_SEC)
#define ARP_RETRY               (1 * USEC_PER_SEC)
#define ARP_RETRIES             3
#define ARP_FAILED_HOLD         (1 * USEC_PER_SEC)
#define ARP_GC_INTERVAL         (10 * USEC_PER_SEC)
#define ARP_GC_IDLE             (120 * USEC_PER_SEC)
#define ARP_MAX_ENTRIES         1024
#define ARP_QUEUE_MAX_PKTS      64      /* enough for a 64 KiB datagram's fragments */
#define ARP_QUEUE_MAX_BYTES     (96 * 1024)

enum arp_state { ARP_INCOMPLETE, ARP_REACHABLE_S, ARP_STALE, ARP_FAILED };

struct arp_entry {
	struct arp_entry *next;
	struct stack *st;
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	enum arp_state state;
	uint64_t confirmed;             /* when the neighbour last spoke for itself */
	uint64_t used;                  /* when we last sent through it */
	uint64_t last_request;          /* rate limit: one per second */
	unsigned tries;
	struct timer timer;             /* retry (INCOMPLETE), expiry (FAILED) */
	struct pbuf *q_head, *q_tail;
	unsigned q_pkts;
	size_t q_bytes;
};

#define ARP_HASH                64

/* The neighbour cache: every entry by IPv4 address, and its collector. */
struct arp {
	struct arp_entry *hash[ARP_HASH];
	unsigned count;
	struct timer gc;
};

static inline unsigned arp_hash(uint32_t ip)
{
	return (ip ^ ip >> 8 ^ ip >> 16) & (ARP_HASH - 1);
}

static struct arp_entry *arp_lookup(struct stack *st, uint32_t ip)
{
	for (struct arp_entry *e = st->arp->hash[arp_hash(ip)]; e; e = e->next)
		if (e->ip == ip)
			return e;
	return NULL;
}

static void arp_free(struct stack *st, struct arp_entry *e)
{
	for (struct arp_entry **pp = &st->arp->hash[arp_hash(e->ip)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	timer_cancel(&st->timers, &e->timer);
	pbuf_free_chain(e->q_head);
	st->arp->count--;
	free(e);
}

static void arp_send(struct stack *st, uint16_t op, const uint8_t *tha, uint32_t tpa,
		     const uint8_t *eth_dst)
{
	struct arp_repr a = { .op = op, .spa = st->addr, .tpa = tpa };
	struct pbuf *p = pbuf_alloc(ARP_LEN);

	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return;
	}
	memcpy(a.sha, st->mac, ETH_ALEN);
	memcpy(a.tha, tha, ETH_ALEN);
	arp_emit(&a, pbuf_put(p, ARP_LEN));
	st->stats.arp_tx++;
	if (op == ARP_OP_REQUEST)
		st->stats.arp_requests_sent++;
	else
		st->stats.arp_replies_sent++;
	ether_output(st, p, eth_dst, ETHERTYPE_ARP);
}

static const uint8_t zero_mac[ETH_ALEN];

/* Ask for e->ip: broadcast while we know nothing, unicast to confirm a
 * STALE entry (RFC 1122 2.3.2.1's unicast poll). */
static void arp_request(struct stack *st, struct arp_entry *e)
{
	uint64_t now = stack_now(st);

	if (e->last_request && now - e->last_request < ARP_RETRY)
		return;
	e->last_request = now;
	e->tries++;
	arp_send(st, ARP_OP_REQUEST, zero_mac, e->ip,
		 e->state == ARP_STALE ? e->mac : eth_broadcast);
	if (e->state == ARP_INCOMPLETE)
		timer_arm(&st->timers, &e->timer, now + ARP_RETRY);
}

static void arp_timer(struct stack *st, struct timer *t)
{
	struct arp_entry *e = (struct arp_entry *)((char *)t - offsetof(struct arp_entry, timer));
	char a[16];

	switch (e->state) {
	case ARP_INCOMPLETE:
		if (e->tries < ARP_RETRIES) {
			arp_request(st, e);
			return;
		}
		log_info(arp, "%s: no reply after %u requests", ipv4_ntoa(e->ip, a), e->tries);
		e->state = ARP_FAILED;
		/* Tell the senders, as an ICMP host unreachable would
		 * (RFC 1122 2.3.2.2: the queue is flushed on failure). */
		while (e->q_head) {
			struct pbuf *p = e->q_head;
			e->q_head = p->next;
			stack_drop(st, DROP_ARP_UNRESOLVED);
			ipv4_local_error(st, p, EHOSTUNREACH);
			pbuf_free(p);
		}
		e->q_tail = NULL;
		e->q_pkts = 0;
		e->q_bytes = 0;
		timer_arm(&st->timers, &e->timer, stack_now(st) + ARP_FAILED_HOLD);
		break;
	case ARP_FAILED:
		arp_free(st, e);
		break;
	default:
		break;
	}
}

static void arp_gc(struct stack *st, struct timer *t)
{
	uint64_t now = stack_now(st);

	for (unsigned i = 0; i < ARP_HASH; i++) {
		struct arp_entry *e = st->arp->hash[i];
		while (e) {
			struct arp_entry *next = e->next;
			if ((e->state == ARP_REACHABLE_S || e->state == ARP_STALE) &&
			    now - e->used > ARP_GC_IDLE && now - e->confirmed > ARP_GC_IDLE)
				arp_free(st, e);
			e = next;
		}
	}
	timer_arm(&st->timers, t, now + ARP_GC_INTERVAL);
}

/* Make room for one more entry: drop the least recently used complete one. */
static void arp_evict(struct stack *st)
{
	struct arp_entry *victim = NULL;

	for (unsigned i = 0; i < ARP_HASH; i++)
		for (struct arp_entry *e = st->arp->hash[i]; e; e = e->next)
			if (e->state != ARP_INCOMPLETE && (!victim || e->used < victim->used))
				victim = e;
	if (victim)
		arp_free(st, victim);
}

static struct arp_entry *arp_create(struct stack *st, uint32_t ip)
{
	struct arp_entry *e;

	if (st->arp->count >= ARP_MAX_ENTRIES)
		arp_evict(st);
	if (st->arp->count >= ARP_MAX_ENTRIES)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->st = st;
	e->ip = ip;
	e->state = ARP_INCOMPLETE;
	e->used = stack_now(st);
	timer_init(&e->timer, arp_timer);
	unsigned h = arp_hash(ip);
	e->next = st->arp->hash[h];
	st->arp->hash[h] = e;
	st->arp->count++;
	return e;
}

/* The neighbour told us its address: record it, send what waited. */
static void arp_update(struct stack *st, struct arp_entry *e, const uint8_t *mac)
{
	char a[16], m[18];

	if (e->state != ARP_REACHABLE_S || memcmp(e->mac, mac, ETH_ALEN) != 0)
		log_debug(arp, "%s is at %s", ipv4_ntoa(e->ip, a), eth_ntoa(mac, m));
	memcpy(e->mac, mac, ETH_ALEN);
	e->state = ARP_REACHABLE_S;
	e->confirmed = stack_now(st);
	e->tries = 0;
	timer_cancel(&st->timers, &e->timer);
	while (e->q_head) {
		struct pbuf *p = e->q_head;
		e->q_head = p->next;
		p->next = NULL;
		ether_output(st, p, e->mac, ETHERTYPE_IPV4);
	}
	e->q_tail = NULL;
	e->q_pkts = 0;
	e->q_bytes = 0;
}

void arp_input(struct stack *st, const uint8_t *pkt, size_t len, const struct eth_repr *eth)
{
	struct arp_repr a;
	struct arp_entry *e;

	st->stats.arp_rx++;
	if (arp_parse(pkt, len, &a) != WIRE_OK) {
		stack_drop(st, DROP_ARP_MALFORMED);
		return;
	}
	if (eth_is_multicast(a.sha) || a.spa == st->addr || ipv4_is_bcast(st, a.spa) ||
	    ipv4_is_multicast(a.spa)) {
		if (a.spa == st->addr) {
			char m[18];
			log_warn(arp, "address conflict: %s also claims our address",
				 eth_ntoa(a.sha, m));
		}
		stack_drop(st, DROP_ARP_BAD_SENDER);
		return;
	}
	(void)eth;

	/* RFC 826 "Packet Reception": merge the sender into an entry we
	 * have; add it only when the packet is for us. An all-zero sender
	 * address is an RFC 5227 probe: answer it, learn nothing from it. */
	bool merged = false;
	if (a.spa && (e = arp_lookup(st, a.spa)) && e->state != ARP_FAILED) {
		arp_update(st, e, a.sha);
		merged = true;
	}
	if (a.tpa != st->addr) {
		if (!merged)
			stack_drop(st, DROP_ARP_NOT_FOR_US);
		return;
	}
	if (a.spa && !merged) {
		e = arp_lookup(st, a.spa);
		if (e && e->state == ARP_FAILED) {
			timer_cancel(&st->timers, &e->timer);
		} else if (!e) {
			e = arp_create(st, a.spa);
		}
		if (e)
			arp_update(st, e, a.sha);
	}
	/* Every member learns from what it sees; one answers for the address
	 * (the host's default member), as one host would. */
	if (a.op == ARP_OP_REQUEST && (!st->host || host_is_default(st->host)))
		arp_send(st, ARP_OP_REPLY, a.sha, a.spa, a.sha);
}

int arp_output(struct stack *st, struct pbuf *p, uint32_t nexthop)
{
	struct arp_entry *e = arp_lookup(st, nexthop);
	uint64_t now = stack_now(st);

	if (!e) {
		e = arp_create(st, nexthop);
		if (!e) {
			stack_drop(st, DROP_NOMEM);
			pbuf_free(p);
			return -ENOBUFS;
		}
	}
	e->used = now;
	switch (e->state) {
	case ARP_STALE:
	case ARP_REACHABLE_S:
		if (e->state == ARP_REACHABLE_S && now - e->confirmed > ARP_REACHABLE)
			e->state = ARP_STALE;
		if (e->state == ARP_STALE)
			arp_request(st, e);     /* confirm, rate limited; keep sending */
		return ether_output(st, p, e->mac, ETHERTYPE_IPV4);
	case ARP_FAILED:
		stack_drop(st, DROP_ARP_UNRESOLVED);
		pbuf_free(p);
		return -EHOSTUNREACH;
	case ARP_INCOMPLETE:
		break;
	}
	/* Full: like Linux's neighbour queue, the oldest packet makes room
	 * (the newest is likelier to matter: a retransmission, a fresh
	 * query); the caller's send still succeeds. */
	while (e->q_head && (e->q_pkts >= ARP_QUEUE_MAX_PKTS ||
			     e->q_bytes + p->len > ARP_QUEUE_MAX_BYTES)) {
		struct pbuf *old = e->q_head;
		e->q_head = old->next;
		if (!e->q_head)
			e->q_tail = NULL;
		e->q_pkts--;
		e->q_bytes -= old->len;
		stack_drop(st, DROP_ARP_QUEUE_FULL);
		pbuf_free(old);
	}
	p->next = NULL;
	if (e->q_tail)
		e->q_tail->next = p;
	else
		e->q_head = p;
	e->q_tail = p;
	e->q_pkts++;
	e->q_bytes += p->len;
	if (!e->tries)
		arp_request(st, e);
	return 0;
}

void arp_negative_advice(struct stack *st, uint32_t ip)
{
	struct arp_entry *e = arp_lookup(st, ip);

	/* RFC 1122 3.3.1.4: a transport's negative advice makes the entry
	 * suspect; the next use confirms it with a unicast request (STALE),
	 * and three unanswered requests fail it. */
	if (e && e->state == ARP_REACHABLE_S)
		e->state = ARP_STALE;
}

void arp_announce(struct stack *st)
{
	/* Gratuitous ARP: a request for our own address (RFC 5227 3). */
	struct arp_repr a = { .op = ARP_OP_REQUEST, .spa = st->addr, .tpa = st->addr };
	struct pbuf *p = pbuf_alloc(ARP_LEN);

	if (!p)
		return;
	memcpy(a.sha, st->mac, ETH_ALEN);
	arp_emit(&a, pbuf_put(p, ARP_LEN));
	st->stats.arp_tx++;
	st->stats.arp_requests_sent++;
	ether_output(st, p, eth_broadcast, ETHERTYPE_ARP);
}

int arp_init(struct stack *st)
{
	st->arp = calloc(1, sizeof(*st->arp));
	if (!st->arp)
		return -ENOMEM;
	timer_init(&st->arp->gc, arp_gc);
	return timer_arm(&st->timers, &st->arp->gc, stack_now(st) + ARP_GC_INTERVAL);
}

unsigned arp_entries(const struct stack *st)
{
	return st->arp ? st->arp->count : 0;
}

void arp_fini(struct stack *st)
{
	if (!st->arp)
		return;
	for (unsigned i = 0; i < ARP_HASH; i++)
		while (st->arp->hash[i])
			arp_free(st, st->arp->hash[i]);
	timer_cancel(&st->timers, &st->arp->gc);
	free(st->arp);
	st->arp = NULL;
}
