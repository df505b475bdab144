/*
 * tcp_dead.c - the connections of a member that died (SIGKILL): each peer
 * is made to reset its end, within a second or so, instead of hanging.
 *
 * A process killed by SIGKILL sends nothing. The member whose sweep finds
 * it dead (stack/host/host.c, exactly one: the sweep runs under the
 * registry lock) steers the dead member's TCP flows to itself and hands
 * their 4-tuples here (host_taken, tcp_dead_take). This stack has no
 * control block for them and does not know their sequence numbers, so it
 * cannot send a RST the peer accepts (RFC 5961 3.2: only a RST exactly at
 * RCV.NXT resets; one elsewhere in the window draws a challenge ACK, one
 * outside it is dropped). It makes the peer tell it RCV.NXT instead:
 *
 *   - a probe: a bare ACK (no data, no options) whose sequence number is
 *     outside the peer's receive window. RFC 9293 3.10.7.4 (first check):
 *     an unacceptable segment is answered with <SEQ=SND.NXT><ACK=RCV.NXT>
 *     <CTL=ACK> (Linux: tcp_validate_incoming -> tcp_send_dupack). Not
 *     knowing the window, two probes go, their sequence numbers 2^31
 *     apart: a window is at most 2^30 (RFC 7323 2.3), so at least one of
 *     them is outside it. The other may be acceptable: a bare ACK with
 *     an ACK field the peer ignores or answers (RFC 5961 5.2); it carries
 *     no data and no window the peer could be harmed by.
 *   - the peer's answer, like any segment of a dead flow, is answered as
 *     a segment for no connection (RFC 9293 3.10.7.1): <SEQ=SEG.ACK>
 *     <CTL=RST>. SEG.ACK is the peer's RCV.NXT: the exact match of RFC
 *     5961 3.2, which Linux accepts at once (tcp_validate_incoming: seq ==
 *     rcv_nxt -> tcp_reset; the peer's read gets ECONNRESET).
 *
 * Timestamps: the probes and the RST carry none. Linux applies PAWS only
 * to a segment that has a timestamp (tcp_validate_incoming: !saw_tstamp
 * goes straight to the sequence check), and a RST is let through PAWS
 * anyway, so both work whether the connection negotiated timestamps or
 * not (RFC 7323 3.2 says a non-RST segment without one SHOULD be dropped;
 * Linux does not, and the RST does not need it).
 *
 * Linux answers at most one out-of-window segment per 500 ms per socket
 * (net.ipv4.tcp_invalid_ratelimit, tcp_oow_rate_limited), so a probe
 * round lost on the way (or eaten by an ARP queue) is sent again after
 * TCP_DEAD_PROBE_US, TCP_DEAD_ROUNDS rounds in all. At TCP_DEAD_LIFE_US
 * the entry and its steering go; a peer that never answered learns at
 * its next send, from whoever answers then.
 *
 * A SYN for a dead flow is a new connection (the peer has none there):
 * the entry and its steering go, and the SYN takes the ordinary path
 * (our listener, or whoever owns the port: its next copy is steered
 * there). A RST from the peer ends the entry too.
 *
 * The table: a hash of entries (lport, raddr, rport) and a list in order
 * of arrival, which is the order of their deadlines; one timer. At most
 * TCP_DEAD_MAX entries. Under the stack lock, like all of TCP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_var.h"

#define TCP_DEAD_MAX            65536
#define TCP_DEAD_HASH           4096
#define TCP_DEAD_LIFE_US        (3 * USEC_PER_SEC)
#define TCP_DEAD_PROBE_US       (600 * 1000)    /* > tcp_invalid_ratelimit's 500 ms */
#define TCP_DEAD_ROUNDS         3
#define TCP_DEAD_HALF           0x80000000u     /* 2^31: the second probe's offset */

struct dead_flow {
	struct dead_flow *hnext;
	struct dead_flow *prev, *next;  /* by arrival: by deadline */
	uint32_t raddr;
	uint16_t lport, rport;
	tcp_seq seq, ack;               /* the probes: seq and seq + 2^31 */
	uint64_t deadline, next_probe;
	unsigned rounds;                /* probe rounds sent */
	bool answered;                  /* the peer sent something */
};

struct tcp_dead {
	struct dead_flow *hash[TCP_DEAD_HASH];
	struct dead_flow *head, *tail;
	unsigned n;
	struct timer timer;
};

static unsigned dead_hash(uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uint32_t h = raddr * 0x9e3779b1u ^ ((uint32_t)lport << 16 | rport) * 0x85ebca6bu;

	return (h ^ h >> 16) % TCP_DEAD_HASH;
}

static struct dead_flow **dead_slot(struct tcp_dead *d, uint16_t lport, uint32_t raddr,
				    uint16_t rport)
{
	struct dead_flow **pp = &d->hash[dead_hash(lport, raddr, rport)];

	while (*pp && ((*pp)->lport != lport || (*pp)->raddr != raddr || (*pp)->rport != rport))
		pp = &(*pp)->hnext;
	return pp;
}

/* Both probes of one round (RFC 9293 3.10.7.4, above). */
static void dead_probe(struct stack *st, struct dead_flow *f)
{
	tcp_respond(st, NULL, st->addr, f->raddr, f->lport, f->rport, f->seq, f->ack, TH_ACK);
	tcp_respond(st, NULL, st->addr, f->raddr, f->lport, f->rport, f->seq + TCP_DEAD_HALF,
		    f->ack, TH_ACK);
	st->stats.tcp_dead_probes += 2;
	f->rounds++;
	f->next_probe += TCP_DEAD_PROBE_US;
}

/* Forget f. unsteer: its flows entry goes too, unless a connection of
 * ours took the 4-tuple meanwhile (a new one from a SYN). */
static void dead_free(struct stack *st, struct dead_flow *f, bool unsteer)
{
	struct tcp_dead *d = st->tcp->dead;
	struct dead_flow **pp = dead_slot(d, f->lport, f->raddr, f->rport);

	*pp = f->hnext;
	if (f->prev)
		f->prev->next = f->next;
	else
		d->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		d->tail = f->prev;
	d->n--;
	if (unsteer && !tcp_lookup(st, st->addr, f->lport, f->raddr, f->rport))
		host_flow_del(st->host, IPPROTO_TCP, f->lport, f->raddr, f->rport);
	free(f);
}

/* The next thing due: a deadline or a probe round. */
static void dead_arm(struct stack *st)
{
	struct tcp_dead *d = st->tcp->dead;
	uint64_t at = TIME_NEVER;

	for (struct dead_flow *f = d->head; f; f = f->next) {
		if (f->deadline < at)
			at = f->deadline;
		if (f->rounds < TCP_DEAD_ROUNDS && f->next_probe < at)
			at = f->next_probe;
	}
	if (at == TIME_NEVER)
		timer_cancel(&st->timers, &d->timer);
	else
		timer_arm(&st->timers, &d->timer, at);
}

static void dead_timer(struct stack *st, struct timer *t)
{
	struct tcp_dead *d = st->tcp->dead;
	uint64_t now = stack_now(st);
	struct dead_flow *f, *next;

	(void)t;
	for (f = d->head; f; f = next) {
		next = f->next;
		if (f->deadline <= now) {
			if (!f->answered)
				st->stats.tcp_dead_unanswered++;
			dead_free(st, f, true);
		} else if (f->rounds < TCP_DEAD_ROUNDS && f->next_probe <= now) {
			dead_probe(st, f);
		}
	}
	dead_arm(st);
}

int tcp_dead_add(struct stack *st, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct tcp_dead *d = st->tcp->dead;
	uint64_t now = stack_now(st);

	if (!d) {
		d = calloc(1, sizeof(*d));
		if (!d)
			return -ENOMEM;
		timer_init(&d->timer, dead_timer);
		st->tcp->dead = d;
	}
	/* A connection of ours on it: not a dead one (nothing to do). */
	if (tcp_lookup(st, st->addr, lport, raddr, rport))
		return -EEXIST;
	struct dead_flow **pp = dead_slot(d, lport, raddr, rport);
	if (*pp)
		return -EEXIST;
	if (d->n >= TCP_DEAD_MAX)
		return -ENOSPC;
	struct dead_flow *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	uint64_t r = stack_rand(st);
	f->raddr = raddr;
	f->lport = lport;
	f->rport = rport;
	f->seq = (tcp_seq)r;
	f->ack = (tcp_seq)(r >> 32);
	f->deadline = now + TCP_DEAD_LIFE_US;
	f->next_probe = now;
	*pp = f;
	f->prev = d->tail;
	if (d->tail)
		d->tail->next = f;
	else
		d->head = f;
	d->tail = f;
	d->n++;
	st->stats.tcp_dead_taken++;
	/* The first round at once: the peer may be waiting on a read. */
	dead_probe(st, f);
	if (!timer_armed(&d->timer) || d->timer.expires > f->next_probe)
		timer_arm(&st->timers, &d->timer, f->next_probe);
	return 0;
}

void tcp_dead_take(struct stack *st)
{
	struct host_flow fl[64];
	size_t n;

	while ((n = host_taken(st->host, fl, sizeof(fl) / sizeof(fl[0]))) > 0)
		for (size_t i = 0; i < n; i++) {
			int err = tcp_dead_add(st, fl[i].lport, fl[i].raddr, fl[i].rport);

			/* No room: the flow is left to the peer's own next
			 * send, answered by whoever owns the port then. */
			if (err && err != -EEXIST) {
				log_warn(tcp, "a dead member's connection :%u <- %u.%u.%u.%u:%u "
					 "not reset: %s", fl[i].lport, fl[i].raddr >> 24,
					 fl[i].raddr >> 16 & 255, fl[i].raddr >> 8 & 255,
					 fl[i].raddr & 255, fl[i].rport, strerror(-err));
				host_flow_del(st->host, IPPROTO_TCP, fl[i].lport, fl[i].raddr,
					      fl[i].rport);
			}
		}
}

enum tcp_dead_verdict tcp_dead_input(struct stack *st, uint16_t lport, uint32_t raddr,
				     uint16_t rport, uint8_t flags)
{
	struct tcp_dead *d = st->tcp->dead;
	struct dead_flow *f;

	if (!d || !d->n || !(f = *dead_slot(d, lport, raddr, rport)))
		return TCP_DEAD_NONE;
	f->answered = true;
	if ((flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN) {
		/* A new connection: the peer has none on the 4-tuple. */
		dead_free(st, f, true);
		dead_arm(st);
		return TCP_DEAD_NONE;
	}
	if (flags & TH_RST) {
		/* The peer's end is gone (it took our RST, or reset on its
		 * own). RFC 9293 3.10.7.1: a RST is never answered. */
		dead_free(st, f, true);
		dead_arm(st);
		return TCP_DEAD_DROP;
	}
	st->stats.tcp_dead_resets++;
	return TCP_DEAD_RESET;
}

unsigned tcp_dead_count(const struct stack *st)
{
	return st->tcp && st->tcp->dead ? st->tcp->dead->n : 0;
}

void tcp_dead_fini(struct stack *st)
{
	struct tcp_dead *d = st->tcp->dead;

	if (!d)
		return;
	timer_cancel(&st->timers, &d->timer);
	while (d->head)
		dead_free(st, d->head, false);
	free(d);
	st->tcp->dead = NULL;
}
