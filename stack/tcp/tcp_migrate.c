/*
 * tcp_migrate.c - a listener's pending connections move to another
 * process of its accept group when this process closes its copy.
 *
 * On the kernel a listener that several processes hold is one socket: one
 * of them closing it (an nginx worker told to quit by a reload) leaves the
 * connections that wait in its queue to the others. Here each process
 * holds a copy in its own stack, with its own queue, so closing a copy
 * would reset them (what Linux does to a SO_REUSEPORT listener's queue
 * unless net.ipv4.tcp_migrate_req is set). Instead, each connection that
 * is still the listener's (SYN-RECEIVED, or established and not yet
 * accepted) goes to another member that uses the listener (host.h,
 * host_pick_other), as Linux's tcp_migrate_req moves requests within a
 * reuseport group:
 *
 *   1. its steering moves first (host_flow_give): from then on its frames
 *      reach the new member, which drops them until the state arrives, and
 *      does not reset them (host_owned_elsewhere: a flows entry of its own);
 *   2. its state goes to that member's mailbox: sequence space, windows
 *      and scales, options, timestamps, RTT, and the bytes received and
 *      not yet read (an unaccepted connection has read nothing and sent
 *      nothing but its SYN-ACK and ACKs). One datagram carries every
 *      connection going to one member (as many as fit in 64 KiB): a
 *      mailbox queues only net.unix.max_dgram_qlen datagrams (10 by
 *      default) before a sender gets EAGAIN, and a busy listener has far
 *      more pending connections than that;
 *   3. this copy is freed without a word to the peer;
 *   4. the new member (tcp_migrate_input) builds the connection under its
 *      own listener for the port and queues it for accept, or, with none
 *      there, resets it as the old member would have.
 *
 * When no other member uses the listener yet, the connection goes to a
 * member that only holds it (host_pick_keeper): nginx's master during a
 * reload, whose old workers close their copies as soon as it has forked
 * the new ones, before these poll theirs. On the kernel the master's
 * descriptor keeps the one listening socket, and what waits in it, until
 * a new worker accepts; here the master's copy keeps it, and passes it on
 * (the same steps) as soon as a member uses the port: its t_pass timer
 * looks every TCP_PASS_INTERVAL (tcp_migrate_pass). Without that, every
 * connection pending in the old workers at a reload was reset.
 *
 * A connection that cannot move (no other member holds the listener,
 * out-of-order or urgent data pending, its mailbox full) is reset as
 * before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_var.h"

#define MIGRATE_MAGIC   0x4d54434du     /* "MTCM" */
#define MIGRATE_VERSION 2
/* A datagram is records, one per connection: a struct migrate_msg, its
 * data, padding to 8 bytes. It is built in st->rxbuf (the lock is held):
 * a record with at most this much data fits. */
#define MIGRATE_MAXDATA 60000
#define MIGRATE_REC_LEN(datalen) ((sizeof(struct migrate_msg) + (datalen) + 7u) & ~(size_t)7u)
/* A member that closed its listener copy too since it was picked passes
 * the connection on; a few times at most. */
#define MIGRATE_HOPS    4

/* TCP flags that describe what was negotiated (RFC 7323, RFC 2018). */
#define MIGRATE_TFLAGS  (TF_REQ_SCALE | TF_RCVD_SCALE | TF_REQ_TSTMP | TF_RCVD_TSTMP | \
			 TF_SACK_PERMIT | TF_SACK_REQ | TF_NODELAY)

struct migrate_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t state;                 /* enum tcp_state */
	uint32_t laddr, raddr;          /* host order */
	uint16_t lport, rport;
	uint32_t iss, irs;
	uint32_t snd_una, snd_max, rcv_nxt, rcv_adv;
	uint32_t snd_wnd, max_sndwnd, snd_wl1, snd_wl2;
	uint32_t ts_offset, ts_recent;
	uint32_t t_flags;
	uint8_t snd_scale, rcv_scale, request_r_scale, rtt_valid;
	uint16_t t_maxseg, t_peermss, t_advmss, t_rcvmss, t_maxopd;
	uint8_t hops;                   /* members it went through before */
	uint8_t pad;
	uint64_t srtt, rttvar, rto;
	uint32_t datalen;
	uint8_t data[];
};

static bool movable(const struct tcpcb *tp)
{
	switch (tp->t_state) {
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED:
	case TCPS_CLOSE_WAIT:
		break;
	default:
		return false;
	}
	/* Nothing of ours beyond the SYN has been sent, nothing is out of
	 * order, no urgent byte or FIN waits behind a hole. */
	return tp->snd_max == tp->iss + 1 && tp->snd.len == 0 && !tp->reass &&
	       !tp->fin_pending && tp->urg_state == URG_NONE &&
	       tp->rcv.len <= MIGRATE_MAXDATA;
}

/* tp's record at m; its length. */
static size_t migrate_put(struct tcpcb *tp, struct migrate_msg *m)
{
	struct mtcp_sock *s = tp->so;

	memset(m, 0, sizeof(*m));
	m->magic = MIGRATE_MAGIC;
	m->version = MIGRATE_VERSION;
	m->state = (uint16_t)tp->t_state;
	m->laddr = s->laddr;
	m->raddr = s->raddr;
	m->lport = s->lport;
	m->rport = s->rport;
	m->iss = tp->iss;
	m->irs = tp->irs;
	m->snd_una = tp->snd_una;
	m->snd_max = tp->snd_max;
	m->rcv_nxt = tp->rcv_nxt;
	m->rcv_adv = tp->rcv_adv;
	m->snd_wnd = tp->snd_wnd;
	m->max_sndwnd = tp->max_sndwnd;
	m->snd_wl1 = tp->snd_wl1;
	m->snd_wl2 = tp->snd_wl2;
	m->ts_offset = tp->ts_offset;
	m->ts_recent = tp->ts_recent;
	m->t_flags = tp->t_flags & MIGRATE_TFLAGS;
	m->snd_scale = tp->snd_scale;
	m->rcv_scale = tp->rcv_scale;
	m->request_r_scale = tp->request_r_scale;
	m->rtt_valid = tp->t_rtt_valid;
	m->t_maxseg = tp->t_maxseg;
	m->t_peermss = tp->t_peermss;
	m->t_advmss = tp->t_advmss;
	m->t_rcvmss = tp->t_rcvmss;
	m->t_maxopd = tp->t_maxopd;
	m->srtt = tp->t_srtt;
	m->rttvar = tp->t_rttvar;
	m->rto = tp->t_rto;
	m->datalen = tp->rcv.len;
	if (tp->rcv.len)        /* an empty ring may have no buffer at all */
		ring_peek(&tp->rcv, 0, m->data, tp->rcv.len);
	size_t len = MIGRATE_REC_LEN(m->datalen);
	memset((uint8_t *)m + sizeof(*m) + m->datalen, 0, len - sizeof(*m) - m->datalen);
	return len;
}

static void flow_give(struct tcpcb *tp, uint16_t to)
{
	struct mtcp_sock *s = tp->so;

	host_flow_give(tp->st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport, to);
}

/* One datagram to member to with the connections of go[0..n) (steering
 * first, see the top); they go without a word to the peer. A datagram
 * that cannot go leaves them here, their steering ours again. */
static void migrate_send(struct stack *st, uint16_t to, struct tcpcb **go, unsigned n,
			 size_t len)
{
	for (unsigned i = 0; i < n; i++)
		flow_give(go[i], to);
	int rc = host_mail_send(st->host, to, st->rxbuf, len);
	if (rc < 0) {
		for (unsigned i = 0; i < n; i++)
			flow_give(go[i], host_member(st->host));
		log_info(tcp, "port %u: %u pending connection(s) could not move to member %u: %s",
			 go[0]->so->lport, n, to, strerror(-rc));
		return;
	}
	st->stats.tcp_migrated_out += n;
	for (unsigned i = 0; i < n; i++)
		tcp_drop(go[i], 0, false);
}

/* Move lp's pending connections to the members that use the port (each
 * to the one the filter's hash picks for it), or, with keeper and no
 * such member, to one that holds it (host_pick_keeper). What cannot move
 * stays. */
static void migrate_children(struct tcpcb *lp, bool keeper)
{
	struct stack *st = lp->st;
	unsigned n = 0, cap = lp->synq_len + lp->acceptq_len;
	struct tcpcb *c;

	_Static_assert(MIGRATE_REC_LEN(MIGRATE_MAXDATA) <= sizeof(st->rxbuf),
		       "a record fits in rxbuf");
	if (!st->host || !lp->children || !cap)
		return;
	struct pending { struct tcpcb *tp; uint16_t to; } *p = calloc(cap, sizeof(*p));
	struct tcpcb **go = calloc(cap, sizeof(*go));
	if (!p || !go) {
		free(p);
		free(go);
		return;
	}
	uint16_t kept = keeper ? host_pick_keeper(st->host, IPPROTO_TCP, lp->so->lport) : 0;
	for (c = lp->children; c && n < cap; c = c->child_next) {
		struct mtcp_sock *s = c->so;
		if (!movable(c))
			continue;
		uint16_t to = host_pick_other(st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport);
		if (!to)
			to = kept;
		if (to)
			p[n++] = (struct pending){ c, to };
	}
	/* A datagram per member, or more when one is full. */
	for (unsigned i = 0; i < n; i++) {
		uint16_t to = p[i].to;
		unsigned k = 0;
		size_t len = 0;
		if (!p[i].tp)
			continue;
		for (unsigned j = i; j < n; j++) {
			if (!p[j].tp || p[j].to != to)
				continue;
			size_t rec = MIGRATE_REC_LEN(p[j].tp->rcv.len);
			if (k && len + rec > sizeof(st->rxbuf)) {
				migrate_send(st, to, go, k, len);
				k = 0;
				len = 0;
			}
			len += migrate_put(p[j].tp, (struct migrate_msg *)(void *)(st->rxbuf + len));
			go[k++] = p[j].tp;
			p[j].tp = NULL;
		}
		migrate_send(st, to, go, k, len);
	}
	free(p);
	free(go);
}

void tcp_migrate_listener(struct tcpcb *lp)
{
	migrate_children(lp, true);
}

void tcp_migrate_pass(struct tcpcb *lp)
{
	struct stack *st = lp->st;

	/* Used here since (accepted, polled): the queue is ours to serve. */
	if (lp->t_state != TCPS_LISTEN || lp->so->host_active || !st->host)
		return;
	/* Only to a member that uses the port: never from one copy that
	 * only holds it to another. */
	migrate_children(lp, false);
	if (lp->children)
		timer_arm(&st->timers, &lp->t_pass, stack_now(st) + TCP_PASS_INTERVAL);
}

/* Send m on, alone, to another member that uses the port, or holds it
 * (this one stopped since it was picked: its listener copy closed too,
 * or its queue is full). True when it went. */
static bool migrate_forward(struct stack *st, struct migrate_msg *m)
{
	size_t len = MIGRATE_REC_LEN(m->datalen);
	uint16_t to;

	if (m->hops >= MIGRATE_HOPS)
		return false;
	to = host_pick_other(st->host, IPPROTO_TCP, m->lport, m->raddr, m->rport);
	if (!to)
		to = host_pick_keeper(st->host, IPPROTO_TCP, m->lport);
	if (!to || host_flow_give(st->host, IPPROTO_TCP, m->lport, m->raddr, m->rport, to) < 0)
		return false;
	m->hops++;
	if (host_mail_send(st->host, to, m, len) < 0) {
		host_flow_give(st->host, IPPROTO_TCP, m->lport, m->raddr, m->rport,
			       host_member(st->host));
		return false;
	}
	st->stats.tcp_migrated_out++;
	return true;
}

/* The old member resets a connection it cannot place; so do we. */
static void migrate_reset(struct stack *st, const struct migrate_msg *m)
{
	tcp_respond(st, NULL, m->laddr, m->raddr, m->lport, m->rport, m->snd_max, m->rcv_nxt,
		    TH_RST | TH_ACK);
	host_flow_del(st->host, IPPROTO_TCP, m->lport, m->raddr, m->rport);
}

static void migrate_fill(struct tcpcb *tp, const struct migrate_msg *m)
{
	tp->t_flags |= m->t_flags;
	tp->request_r_scale = m->request_r_scale;
	tp->snd_scale = m->snd_scale;
	tp->rcv_scale = m->rcv_scale;
	tp->iss = m->iss;
	tp->irs = m->irs;
	tp->snd_una = m->snd_una;
	tp->snd_nxt = tp->snd_max = tp->snd_sml = m->snd_max;
	tp->rcv_nxt = m->rcv_nxt;
	tp->rcv_adv = m->rcv_adv;
	tp->snd_wnd = m->snd_wnd;
	tp->max_sndwnd = m->max_sndwnd;
	tp->snd_wl1 = m->snd_wl1;
	tp->snd_wl2 = m->snd_wl2;
	tp->ts_offset = m->ts_offset;
	tp->ts_recent = m->ts_recent;
	tp->ts_recent_age = stack_now(tp->st);
	tp->last_ack_sent = m->rcv_nxt;
	tp->t_maxseg = m->t_maxseg;
	tp->t_peermss = m->t_peermss;
	tp->t_advmss = m->t_advmss;
	tp->t_rcvmss = m->t_rcvmss;
	tp->t_maxopd = m->t_maxopd;
	if (m->rtt_valid) {
		tp->t_srtt = m->srtt;
		tp->t_rttvar = m->rttvar;
		tp->t_rto = m->rto;
		tp->t_rtt_valid = true;
	}
	tp->t_rcvtime = stack_now(tp->st);
}

static void migrate_one(struct stack *st, struct migrate_msg *m);

void tcp_migrate_input(struct stack *st, void *buf, size_t len)
{
	uint8_t *at = buf;

	_Static_assert(sizeof(struct migrate_msg) % 8 == 0, "records stay aligned");
	while (len) {
		struct migrate_msg *m = (struct migrate_msg *)(void *)at;
		if (len < sizeof(*m) || m->magic != MIGRATE_MAGIC ||
		    m->version != MIGRATE_VERSION || m->datalen > MIGRATE_MAXDATA ||
		    len < MIGRATE_REC_LEN(m->datalen) ||
		    (m->state != TCPS_SYN_RECEIVED && m->state != TCPS_ESTABLISHED &&
		     m->state != TCPS_CLOSE_WAIT)) {
			log_warn(tcp, "a malformed connection message (%zu bytes left) from "
				 "another member dropped", len);
			return;
		}
		size_t rec = MIGRATE_REC_LEN(m->datalen);
		migrate_one(st, m);
		at += rec;
		len -= rec;
	}
}

/* One connection arrives (step 4). */
static void migrate_one(struct stack *st, struct migrate_msg *m)
{
	struct tcpcb *old = tcp_lookup(st, m->laddr, m->lport, m->raddr, m->rport);
	if (old && old->t_state != TCPS_TIME_WAIT) {
		log_info(tcp, "port %u: a connection moving here is here already", m->lport);
		return;
	}
	/* An earlier incarnation of the 4-tuple that ended here: the new one
	 * replaces it, as a SYN that may reuse it does (RFC 9293 MAY-2). */
	if (old)
		tcp_closed(old);
	struct tcpcb *lp = tcp_lookup_listener(st, m->laddr, m->lport);
	if (!lp || lp->acceptq_len > lp->backlog) {
		if (migrate_forward(st, m))
			return;
		/* No listener here (closed since it was picked) is no socket
		 * for the connection, not a full queue. */
		stack_drop(st, lp ? DROP_TCP_LISTEN_OVERFLOW : DROP_TCP_NO_SOCKET);
		migrate_reset(st, m);
		return;
	}
	struct tcpcb *tp = tcp_new_child(lp, m->laddr, m->lport, m->raddr, m->rport);
	if (!tp) {
		stack_drop(st, DROP_NOMEM);
		migrate_reset(st, m);
		return;
	}
	st->stats.tcp_migrated_in++;
	migrate_fill(tp, m);
	/* A copy kept for the group, not used here: it passes the
	 * connection on once a member uses the port. */
	if (!lp->so->host_active && !timer_armed(&lp->t_pass))
		timer_arm(&st->timers, &lp->t_pass, stack_now(st) + TCP_PASS_INTERVAL);
	if (m->state == TCPS_SYN_RECEIVED) {
		/* Our SYN-ACK again, from the same ISS: the handshake goes on
		 * here (the peer takes a duplicate as it takes a resent one). */
		tcp_set_state(tp, TCPS_SYN_RECEIVED);
		tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss;
		tp->t_flags |= TF_ACKNOW;
		tcp_output(tp);
		return;
	}
	if (m->datalen && ring_write(&tp->rcv, m->data, m->datalen) != m->datalen) {
		tcp_drop(tp, 0, true);
		return;
	}
	tcp_cc_init(tp);
	tcp_set_state(tp, TCPS_ESTABLISHED);
	tp->so->handshaken = true;
	tcp_keep_arm(tp);
	if (m->state == TCPS_CLOSE_WAIT) {
		tp->so->shut_rd = true;
		tcp_set_state(tp, TCPS_CLOSE_WAIT);
	}
	tcp_child_established(tp);
	/* Our window, from here: the peer may have been told less. */
	tp->t_flags |= TF_ACKNOW;
	tcp_output(tp);
}
