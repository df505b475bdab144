/*
 * tcp_input.c - a segment arrives (RFC 9293 3.10.7), in the RFC's order:
 * LISTEN, SYN-SENT, then for the other states the acceptability test,
 * RST, SYN, ACK, URG, text and FIN, with RFC 5961's blind-attack checks,
 * RFC 7323's timestamps and PAWS, and RFC 5681's ACK rules.
 *
 * Input changes the control block and sets TF_ACKNOW; output runs once,
 * at the end. Every segment that is not used is dropped with a reason.
 * In the synchronized states each step is a function that says whether
 * to go on or how the segment leaves (enum seg_action: OpenBSD's drop,
 * dropafterack, dropwithreset); synchronized_input alone decides what is
 * sent in answer.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "tcp_sack.h"
#include "tcp_var.h"
#include "wire/icmp.h"

/* What input needs of a segment, in host order. */
struct seg {
	tcp_seq seq, ack;
	uint32_t len;           /* payload bytes (after trimming) */
	uint8_t flags;
	uint32_t win;           /* as on the wire */
	uint16_t urp;
	const uint8_t *data;
	const struct tcp_opts *opt;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint16_t gso_size;      /* a merged frame: the sender's segment size */
};

/* Sequence space the segment occupies: data, plus SYN and FIN. */
static inline uint32_t seg_span(const struct seg *sg)
{
	return sg->len + !!(sg->flags & TH_SYN) + !!(sg->flags & TH_FIN);
}

/* RFC 9293 3.10.7.1: the reset that answers a segment for no connection
 * (or an unacceptable ACK in a non-synchronized state). Never to a RST. */
static void drop_with_reset(struct stack *st, const struct seg *sg)
{
	if (sg->flags & TH_RST)
		return;
	if (sg->flags & TH_ACK)
		tcp_respond(st, NULL, sg->laddr, sg->raddr, sg->lport, sg->rport, sg->ack, 0,
			    TH_RST);
	else
		tcp_respond(st, NULL, sg->laddr, sg->raddr, sg->lport, sg->rport, 0,
			    sg->seq + seg_span(sg), TH_RST | TH_ACK);
}

/* RFC 7323 2.3 / 3.2 and RFC 2018 2: what the SYN (or SYN-ACK) offered. */
static void syn_options(struct tcpcb *tp, const struct seg *sg)
{
	const struct tcp_opts *o = sg->opt;

	if (o->has_wscale && (tp->t_flags & TF_REQ_SCALE)) {
		tp->t_flags |= TF_RCVD_SCALE;
		if (o->wscale > TCP_MAX_WSCALE)
			log_info(tcp, "peer window scale %u clamped to 14 (RFC 7323 2.3)",
				 o->wscale);
		tp->snd_scale = o->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o->wscale;
		tp->rcv_scale = tp->request_r_scale;
	} else {
		tp->t_flags &= ~TF_RCVD_SCALE;
		tp->snd_scale = tp->rcv_scale = 0;
	}
	if (o->has_ts && (tp->t_flags & TF_REQ_TSTMP)) {
		tp->t_flags |= TF_RCVD_TSTMP;
		tp->ts_recent = o->ts_val;
		tp->ts_recent_age = stack_now(tp->st);
	} else {
		tp->t_flags &= ~TF_RCVD_TSTMP;
	}
	if (o->sack_permitted && (tp->t_flags & TF_SACK_REQ))
		tp->t_flags |= TF_SACK_PERMIT;
	tp->t_advmss = tcp_adv_mss(tp);
	tcp_mss_update(tp, o->has_mss ? o->mss : 0);
	tp->t_rcvmss = tp->t_advmss < tp->t_maxseg ? tp->t_advmss : tp->t_maxseg;
}

/* The handshake is complete: windows, congestion state, timers. */
static void established(struct tcpcb *tp, const struct seg *sg)
{
	uint64_t now = stack_now(tp->st);

	/* RFC 7323 2.2: the window in a SYN is never scaled; from here on
	 * it is. */
	tp->snd_wnd = sg->flags & TH_SYN ? sg->win : sg->win << tp->snd_scale;
	if (tp->snd_wnd > tp->max_sndwnd)
		tp->max_sndwnd = tp->snd_wnd;
	tp->snd_wl1 = sg->seq;
	tp->snd_wl2 = sg->ack;
	/* An RTT sample from the handshake unless the SYN was resent
	 * (Karn); RFC 6298 5.7: after a lost SYN the RTO for data is 3 s. */
	if (tp->t_rtttime && tp->t_rxtshift == 0)
		tcp_rtt_sample(tp, now - tp->t_rtttime);
	else if (tp->t_rxtshift && !tp->t_rtt_valid)
		tp->t_rto = TCP_RTO_AFTER_SYN_LOSS;
	tp->t_rtttime = 0;
	tp->t_rxtshift = 0;
	tp->t_backoff = 0;
	tp->t_rexmt_start = 0;
	tcp_rexmt_stop(tp);
	tcp_cc_init(tp);
	tp->t_quickack = 16;
	tp->t_rcvtime = now;
	tcp_set_state(tp, TCPS_ESTABLISHED);
	tp->so->handshaken = true;
	tcp_keep_arm(tp);
	/* shutdown(SHUT_WR) during the handshake: the FIN goes now. */
	if (tp->so->shut_wr)
		tcp_set_state(tp, TCPS_FIN_WAIT_1);
}

/* ---- LISTEN (RFC 9293 3.10.7.2) ------------------------------------------ */

static void listen_input(struct tcpcb *lp, const struct seg *sg, const tcp_seq *iss)
{
	struct stack *st = lp->st;

	if (sg->flags & TH_RST) {
		stack_drop(st, DROP_TCP_LISTEN_BAD);
		return;
	}
	if (sg->flags & TH_ACK) {
		stack_drop(st, DROP_TCP_LISTEN_BAD);
		/* Not to a connection another process on the address has, or
		 * is about to have (one moving from a closed listener copy). */
		if (!st->host || !host_owned_elsewhere(st->host, IPPROTO_TCP, sg->lport,
							sg->raddr, sg->rport))
			drop_with_reset(st, sg);
		return;
	}
	if (!(sg->flags & TH_SYN)) {
		stack_drop(st, DROP_TCP_LISTEN_BAD);
		return;
	}
	/* A full accept queue (more than backlog waiting: Linux's
	 * sk_acceptq_is_full) refuses new SYNs outright, as Linux does (the
	 * client retries; nothing is promised that cannot be kept). The SYN
	 * queue is bounded too. NOTE: no SYN cookies: a SYN flood fills the
	 * SYN queue, and further SYNs are dropped until it drains. */
	unsigned synq_max = lp->backlog > 128 ? lp->backlog : 128;
	if (lp->acceptq_len > lp->backlog || lp->synq_len >= synq_max) {
		stack_drop(st, DROP_TCP_LISTEN_OVERFLOW);
		return;
	}
	struct tcpcb *tp = tcp_new_child(lp, sg->laddr, sg->lport, sg->raddr, sg->rport);
	if (!tp) {
		stack_drop(st, DROP_NOMEM);
		return;
	}
	st->stats.tcp_passive_opens++;
	tp->request_r_scale = lp->request_r_scale;
	tp->irs = sg->seq;
	tp->rcv_nxt = sg->seq + 1;
	tp->rcv_adv = tp->rcv_nxt;
	syn_options(tp, sg);
	tp->iss = iss ? *iss : tcp_new_isn(st, sg->laddr, sg->lport, sg->raddr, sg->rport);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss;
	tp->snd_wnd = sg->win;
	tp->max_sndwnd = sg->win;
	tp->ts_offset = tcp_ts_offset(st, tp->so->laddr, tp->so->raddr);
	tp->t_rcvtime = stack_now(st);
	tcp_set_state(tp, TCPS_SYN_RECEIVED);
	/* Data on a SYN is not kept (no TCP Fast Open): the peer sends it
	 * again once we acknowledge only the SYN. */
	tp->t_flags |= TF_ACKNOW;
	tcp_output(tp);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---------------------------------------- */

static void syn_sent_input(struct tcpcb *tp, const struct seg *sg)
{
	struct stack *st = tp->st;
	bool ack_ok = false;

	if (sg->flags & TH_ACK) {
		if (SEQ_LEQ(sg->ack, tp->iss) || SEQ_GT(sg->ack, tp->snd_max)) {
			stack_drop(st, DROP_TCP_SYN_SENT_BAD);
			drop_with_reset(st, sg);
			return;
		}
		ack_ok = true;
	}
	if (sg->flags & TH_RST) {
		/* RFC 5961 3.2 leaves SYN-SENT as RFC 793 had it: a RST is
		 * good when it acknowledges our SYN. */
		if (ack_ok)
			tcp_drop(tp, ECONNREFUSED, false);
		else
			stack_drop(st, DROP_TCP_SYN_SENT_BAD);
		return;
	}
	if (!(sg->flags & TH_SYN)) {
		stack_drop(st, DROP_TCP_SYN_SENT_BAD);
		return;
	}
	tp->irs = sg->seq;
	tp->rcv_nxt = sg->seq + 1;
	tp->rcv_adv = tp->rcv_nxt;
	syn_options(tp, sg);
	tp->t_flags |= TF_ACKNOW;
	if (ack_ok) {
		tp->snd_una = sg->ack;
		if (SEQ_LT(tp->snd_nxt, tp->snd_una))
			tp->snd_nxt = tp->snd_una;
		established(tp, sg);
		/* Data or FIN on the SYN-ACK is not kept: acknowledging only
		 * the SYN makes the peer send it again. */
	} else {
		/* Simultaneous open (RFC 9293 3.5, figure 8): answer with a
		 * SYN-ACK from the same ISS. */
		tp->snd_wnd = sg->win;
		tp->max_sndwnd = sg->win;
		tp->snd_nxt = tp->iss;
		tcp_set_state(tp, TCPS_SYN_RECEIVED);
	}
	tcp_output(tp);
}

/* ---- Reassembly ------------------------------------------------------------ */

/* Queue an out-of-order segment, keeping the queue sorted and free of
 * overlaps (what is already held wins). Bounded by count and by the
 * receive buffer. */
static void reass_insert(struct tcpcb *tp, tcp_seq seq, const uint8_t *data, uint32_t len)
{
	struct stack *st = tp->st;
	struct pbuf **pp = &tp->reass, *prev = NULL;

	while (*pp && SEQ_LT((*pp)->addr, seq)) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (prev) {
		tcp_seq pend = prev->addr + (uint32_t)prev->len;
		if (SEQ_GEQ(pend, seq + len)) {
			st->stats.tcp_ooo_segs++;
			tp->last_ooo_seq = seq;
			return;         /* wholly duplicate */
		}
		if (SEQ_GT(pend, seq)) {
			uint32_t cut = pend - seq;
			seq += cut;
			data += cut;
			len -= cut;
		}
	}
	/* Segments we cover entirely go; one we overlap trims us. */
	while (*pp) {
		struct pbuf *n = *pp;
		tcp_seq nend = n->addr + (uint32_t)n->len;
		if (SEQ_GEQ(n->addr, seq + len))
			break;
		if (SEQ_LEQ(nend, seq + len)) {
			*pp = n->next;
			tp->reass_count--;
			tp->reass_bytes -= (uint32_t)n->len;
			pbuf_free(n);
			continue;
		}
		len = n->addr - seq;
		break;
	}
	if (!len)
		return;
	if (tp->reass_count >= TCP_REASS_MAX_SEGS ||
	    tp->reass_bytes + len > tp->rcv.limit) {
		stack_drop(st, DROP_TCP_OOO_FULL);
		return;
	}
	struct pbuf *p = pbuf_alloc(len);
	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return;
	}
	memcpy(pbuf_put(p, len), data, len);
	p->addr = seq;
	p->next = *pp;
	*pp = p;
	tp->reass_count++;
	tp->reass_bytes += len;
	tp->last_ooo_seq = seq;
	st->stats.tcp_ooo_segs++;
}

/* Append in-order data to the receive ring. What we advertised may be a
 * little more than the buffer's limit (a scaled window is rounded up
 * rather than let the right edge move left, as Linux does): the ring
 * takes everything up to the edge we advertised. */
static uint32_t rcv_store(struct tcpcb *tp, const uint8_t *data, uint32_t len)
{
	struct tcp_ring *r = &tp->rcv;
	uint32_t limit = r->limit;
	uint32_t adv = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;

	if (r->len + len > limit && len <= adv)
		r->limit = r->len + len;
	uint32_t n = ring_write(r, data, len);
	r->limit = limit;
	return n;
}

/* Move what has become in order from the queue to the receive ring. */
static void reass_pull(struct tcpcb *tp)
{
	while (tp->reass && SEQ_LEQ(tp->reass->addr, tp->rcv_nxt)) {
		struct pbuf *p = tp->reass;
		uint32_t skip = tp->rcv_nxt - p->addr;
		if (skip < p->len) {
			uint32_t n = rcv_store(tp, p->data + skip, (uint32_t)p->len - skip);
			tp->rcv_nxt += n;
			if (n < p->len - skip)
				break;  /* no room: keep the rest queued */
		}
		tp->reass = p->next;
		tp->reass_count--;
		tp->reass_bytes -= (uint32_t)p->len;
		pbuf_free(p);
	}
}

/* ---- The synchronized states (RFC 9293 3.10.7.4) ------------------------- */

/*
 * What each step of RFC 9293 3.10.7.4 tells synchronized_input: go on to
 * the next step, or how the segment leaves. The ways out are OpenBSD
 * tcp_input's drop, dropafterack and dropwithreset labels, so what is
 * sent in answer is decided in one place. A step that drops the segment
 * has counted its reason (stack_drop) before it returns.
 */
enum seg_action {
	SEG_CONTINUE,                   /* on to the next step */
	SEG_OUTPUT,                     /* done with it: send whatever is due */
	SEG_DROP,                       /* send nothing (or the connection is gone) */
	SEG_DROPAFTERACK,               /* ACK at once (never to a RST) */
	SEG_DROPAFTERACK_RATELIM,       /* a challenge ACK, rate limited (RFC 5961 7) */
	SEG_DROPWITHRESET,              /* a RST answers it (RFC 9293 3.10.7.1) */
};

/* RFC 9293 3.10.7.4, first check: is the segment acceptable? wnd is the
 * window we offered. */
static bool acceptable(const struct tcpcb *tp, const struct seg *sg, uint32_t wnd)
{
	uint32_t span = seg_span(sg);
	tcp_seq end = tp->rcv_nxt + wnd;

	if (span == 0) {
		if (wnd == 0)
			return sg->seq == tp->rcv_nxt;
		/* NOTE: the RFC wants SEG.SEQ < RCV.NXT+RCV.WND; like Linux
		 * (tcp_sequence) we also take an empty segment exactly at
		 * the right edge, where a sender that filled the window
		 * puts its ACKs. */
		return SEQ_LEQ(tp->rcv_nxt, sg->seq) && SEQ_LEQ(sg->seq, end);
	}
	if (wnd == 0)
		return false;
	tcp_seq last = sg->seq + span - 1;
	return (SEQ_LEQ(tp->rcv_nxt, sg->seq) && SEQ_LT(sg->seq, end)) ||
	       (SEQ_LEQ(tp->rcv_nxt, last) && SEQ_LT(last, end));
}

/* The window the acceptability test measures against: the one we
 * offered, or a larger one we could offer now. */
static uint32_t rcv_wnd_offered(const struct tcpcb *tp)
{
	uint32_t wnd = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	uint32_t space = tcp_rcv_space(tp);

	if (space > wnd)
		wnd = space;    /* a window we could offer now is fine too */
	return wnd;
}

/* SYN-RECEIVED, before the acceptability test: the peer's SYN again, or
 * its SYN-ACK crossing ours. */
static enum seg_action syn_received_syn(struct tcpcb *tp, struct seg *sg)
{
	/* A retransmitted SYN while we are in SYN-RECEIVED: our SYN-ACK was
	 * lost; send it again (RFC 9293 3.10.7.4 does it via the
	 * acceptability test's ACK; resending the SYN-ACK is what works),
	 * at once. */
	if ((sg->flags & TH_SYN) && !(sg->flags & (TH_ACK | TH_RST)) && sg->seq == tp->irs) {
		tp->snd_nxt = tp->iss;
		tp->t_flags &= ~TF_SENTFIN;
		tp->t_flags |= TF_ACK_NOBATCH;
		return SEG_OUTPUT;
	}

	/* Simultaneous open, RFC 9293 figure 7: in SYN-RECEIVED (from
	 * SYN-SENT) the peer's SYN-ACK crosses ours. Its SYN is the one we
	 * have; what is new is the ACK of our SYN (Linux lets it through the
	 * same way). */
	if (!(tp->t_flags & TF_PASSIVE) &&
	    (sg->flags & (TH_SYN | TH_ACK | TH_RST)) == (TH_SYN | TH_ACK) && sg->seq == tp->irs) {
		sg->flags &= (uint8_t)~TH_SYN;
		sg->seq++;
	}
	return SEG_CONTINUE;
}

/* RFC 7323 5.3 PAWS: a timestamp older than the last one is an old
 * duplicate; ACK it (unless RST) and drop it. NOTE: like Linux we accept
 * segments without a timestamp on a connection that uses them (RFC 7323
 * 3.2 says SHOULD drop). */
static enum seg_action paws_check(struct tcpcb *tp, const struct seg *sg, uint64_t now)
{
	if (!sg->opt->has_ts || !(tp->t_flags & TF_RCVD_TSTMP) || (sg->flags & TH_RST) ||
	    (int32_t)(sg->opt->ts_val - tp->ts_recent) >= 0)
		return SEG_CONTINUE;
	/* 5.5: a ts_recent idle for 24 days is invalid. */
	if (now - tp->ts_recent_age > 24ULL * 86400 * USEC_PER_SEC) {
		tp->ts_recent = sg->opt->ts_val;
		return SEG_CONTINUE;
	}
	stack_drop(tp->st, DROP_TCP_PAWS);
	return SEG_DROPAFTERACK;
}

/* A segment the acceptability test refused (wnd: the window we offered). */
static enum seg_action unacceptable(struct tcpcb *tp, struct seg *sg, uint32_t wnd,
				    uint64_t now)
{
	if (wnd == 0 && SEQ_LEQ(sg->seq, tp->rcv_nxt) &&
	    SEQ_GEQ(sg->seq, tp->rcv_nxt - (tp->max_sndwnd ? tp->max_sndwnd : 65535))) {
		/* RFC 9293 3.10.7.4: "special allowance should be made to
		 * accept valid ACKs, URGs, and RSTs" with a zero window: take
		 * the ACK (the RST must still be exact) of a segment at or
		 * just below RCV.NXT - the peer may have had to send it from
		 * behind, its own window shut too. */
		sg->len = 0;
		sg->flags &= (uint8_t)~(TH_FIN | TH_SYN);
		tp->t_flags |= TF_ACKNOW;
		return SEG_CONTINUE;
	}
	stack_drop(tp->st, DROP_TCP_OUT_OF_WINDOW);
	/* RFC 9293 3.10.7.4: in TIME-WAIT only the peer's FIN can come
	 * again: ACK it and restart the 2MSL wait. */
	if (tp->t_state == TCPS_TIME_WAIT && (sg->flags & TH_FIN))
		tcp_2msl_arm(tp);
	/* An ACK loop guard (Linux tcp_oow_rate_limited, RFC 5961 7's
	 * spirit): a pure ACK outside the window is answered at most twice a
	 * second. */
	bool pure = !sg->len && !(sg->flags & (TH_SYN | TH_FIN));
	if (pure && now - tp->t_last_oow_ack < TCP_OOW_ACK_INTERVAL && tp->t_last_oow_ack)
		return SEG_DROP;
	if (pure)
		tp->t_last_oow_ack = now;
	/* A duplicate: its ACK tells the sender what we hold (RFC 9293
	 * 3.10.7.4), at once. */
	return SEG_DROPAFTERACK;
}

/* First: check the sequence number (RFC 9293 3.10.7.4) - after what
 * SYN-RECEIVED needs first and PAWS (RFC 7323 5), the acceptability test
 * against the window we offered (*wnd, which the trimming uses). */
static enum seg_action check_seq(struct tcpcb *tp, struct seg *sg, uint32_t *wnd, uint64_t now)
{
	enum seg_action act;

	if (tp->t_state == TCPS_SYN_RECEIVED && (act = syn_received_syn(tp, sg)) != SEG_CONTINUE)
		return act;
	if ((act = paws_check(tp, sg, now)) != SEG_CONTINUE)
		return act;
	*wnd = rcv_wnd_offered(tp);
	if (!acceptable(tp, sg, *wnd) && (act = unacceptable(tp, sg, *wnd, now)) != SEG_CONTINUE)
		return act;
	/* The peer is there: keepalive and zero-window probes were answered
	 * (RFC 1122 4.2.2.17: probing goes on while the receiver answers). */
	tp->t_probes = 0;
	return SEG_CONTINUE;
}

/* The first check's trimming: what we already have at the front, what
 * does not fit the window (wnd) at the back, so only the new part is
 * processed (RFC 9293 3.10.7.4). It comes after the RST check, which
 * wants SEG.SEQ as it arrived. */
static void trim_to_window(struct tcpcb *tp, struct seg *sg, uint32_t wnd)
{
	if (SEQ_LT(sg->seq, tp->rcv_nxt)) {
		uint32_t todrop = tp->rcv_nxt - sg->seq;
		if (sg->flags & TH_SYN) {
			sg->flags &= (uint8_t)~TH_SYN;
			sg->seq++;
			todrop--;
		}
		if (todrop >= sg->len) {
			/* Wholly old data (a retransmission): ACK at once so
			 * the peer learns what we have (RFC 9293 3.10.7.4). */
			if (sg->len || (sg->flags & TH_FIN))
				tp->t_flags |= TF_ACKNOW;
			if (todrop > sg->len)
				sg->flags &= (uint8_t)~TH_FIN;  /* that FIN was seen */
			todrop = sg->len;
		}
		sg->seq += todrop;
		sg->data += todrop;
		sg->len -= todrop;
	}
	if (SEQ_GT(sg->seq + sg->len, tp->rcv_nxt + wnd)) {
		uint32_t fit = SEQ_GT(tp->rcv_nxt + wnd, sg->seq) ? tp->rcv_nxt + wnd - sg->seq : 0;
		sg->len = fit;
		sg->flags &= (uint8_t)~TH_FIN;
		tp->t_flags |= TF_ACKNOW;
	}
}

/* Second: the RST bit. In window: RFC 5961 3.2 - exactly at RCV.NXT
 * resets, anywhere else in the window draws a challenge ACK. Reset per
 * RFC 9293 3.10.7.4 and Linux's tcp_reset for the errno. */
static enum seg_action check_rst(struct tcpcb *tp, const struct seg *sg)
{
	if (!(sg->flags & TH_RST))
		return SEG_CONTINUE;
	if (sg->seq != tp->rcv_nxt) {
		stack_drop(tp->st, DROP_TCP_RST_INVALID);
		return SEG_DROPAFTERACK_RATELIM;
	}
	switch (tp->t_state) {
	case TCPS_SYN_RECEIVED:
		/* Passive: back to LISTEN, i.e. this child goes quietly;
		 * active (simultaneous open): connection refused. */
		tcp_drop(tp, (tp->t_flags & TF_PASSIVE) ? 0 : ECONNREFUSED, false);
		break;
	case TCPS_CLOSE_WAIT:
		tcp_drop(tp, EPIPE, false);
		break;
	case TCPS_TIME_WAIT:
		/* RFC 1337 (TIME-WAIT assassination): a RST does not end
		 * TIME-WAIT early. */
		stack_drop(tp->st, DROP_TCP_TIME_WAIT);
		break;
	case TCPS_CLOSING:
	case TCPS_LAST_ACK:
		tcp_drop(tp, 0, false);
		break;
	default:
		tcp_drop(tp, ECONNRESET, false);
		break;
	}
	return SEG_DROP;
}

/* RFC 7323 4.3: remember the timestamp to echo when the segment covers
 * the last ACK we sent. */
static void update_ts_recent(struct tcpcb *tp, const struct seg *sg)
{
	if (!sg->opt->has_ts || !(tp->t_flags & TF_RCVD_TSTMP))
		return;
	if (SEQ_LEQ(sg->seq, tp->last_ack_sent) &&
	    SEQ_LEQ(tp->last_ack_sent, sg->seq + seg_span(sg))) {
		tp->ts_recent = sg->opt->ts_val;
		tp->ts_recent_age = stack_now(tp->st);
	}
}

/* Fourth: a SYN on a synchronized connection (RFC 5961 4.2): never a
 * reset, always a challenge ACK. */
static enum seg_action check_syn(struct tcpcb *tp, const struct seg *sg)
{
	if (!(sg->flags & TH_SYN))
		return SEG_CONTINUE;
	stack_drop(tp->st, DROP_TCP_SYN_INVALID);
	return SEG_DROPAFTERACK_RATELIM;
}

/* ---- Fifth: the ACK field -------------------------------------------------- */

/* RFC 5961 5.2: an ACK is acceptable only within
 * [SND.UNA - MAX.SND.WND, SND.MAX]; else drop and ACK. */
static enum seg_action ack_acceptable(struct tcpcb *tp, const struct seg *sg)
{
	if (SEQ_GT(sg->ack, tp->snd_max) ||
	    SEQ_LT(sg->ack, tp->snd_una - (tp->max_sndwnd ? tp->max_sndwnd : 1))) {
		stack_drop(tp->st, DROP_TCP_ACK_INVALID);
		return SEG_DROPAFTERACK_RATELIM;
	}
	return SEG_CONTINUE;
}

/* SYN-RECEIVED (RFC 9293 3.10.7.4, fifth): an ACK of our SYN completes
 * the handshake; one that acknowledges nothing of ours is answered with
 * a reset. */
static enum seg_action syn_received_ack(struct tcpcb *tp, const struct seg *sg)
{
	if (!SEQ_GT(sg->ack, tp->snd_una)) {
		stack_drop(tp->st, DROP_TCP_ACK_INVALID);
		return SEG_DROPWITHRESET;
	}
	struct tcpcb *lp = tp->t_listener;
	if (lp && lp->acceptq_len > lp->backlog) {
		/* Linux (tcp_abort_on_overflow off): ignore the ACK; the
		 * SYN-ACK is sent again and the client's ACK with it, by when
		 * the application may have accepted. */
		stack_drop(tp->st, DROP_TCP_LISTEN_OVERFLOW);
		return SEG_DROP;
	}
	tp->snd_una++;          /* our SYN */
	established(tp, sg);
	if (lp)
		tcp_child_established(tp);
	return SEG_CONTINUE;
}

/* SEG.ACK = SND.UNA. RFC 5681 2: a duplicate ACK carries no data, no
 * SYN/FIN, does not move the window, while data is outstanding. RFC 6675
 * 2: with SACK, an ACK that SACKs new data is one whatever its window or
 * payload (receivers that autotune move their window on every ACK; a
 * two-way transfer's ACKs carry data). wnd: the segment's window, scaled. */
static void dupack_check(struct tcpcb *tp, const struct seg *sg, uint32_t wnd,
			 bool *need_output)
{
	bool maybe = !(sg->flags & (TH_SYN | TH_FIN)) && tp->snd_max != tp->snd_una &&
		     /* answers to window probes are not (the BSDs) */
		     wnd != 0 && !(tp->t_flags & TF_PERSIST);
	uint32_t before = tcp_sack_bytes(tp);
	tcp_sack_update(tp, sg->opt);
	bool dup = maybe && ((tp->t_flags & TF_SACK_PERMIT) ?
			     tcp_sack_bytes(tp) > before || (!sg->len && wnd == tp->snd_wnd) :
			     !sg->len && wnd == tp->snd_wnd);
	if (dup) {
		if (tcp_cc_dupack(tp))
			*need_output = true;
	} else if (!sg->len && !(tp->t_flags & TF_FASTRECOVERY)) {
		tp->t_dupacks = 0;      /* a window update breaks the run */
	}
}

/* An RTT sample from an ACK of new data: the timed segment (RFC 6298,
 * Karn), else the echoed timestamp (RFC 7323 4.1). */
static void ack_rtt(struct tcpcb *tp, const struct seg *sg, uint64_t now)
{
	if (tp->t_rtttime && SEQ_GT(sg->ack, tp->t_rtseq)) {
		tcp_rtt_sample(tp, now - tp->t_rtttime);
		tp->t_rtttime = 0;
	} else if (sg->opt->has_ts && sg->opt->ts_ecr && (tp->t_flags & TF_RCVD_TSTMP) &&
		   !tp->t_rtttime) {
		uint32_t ms = tcp_ts_now(tp) - sg->opt->ts_ecr;
		if (ms < 60000 * 10)
			tcp_rtt_sample(tp, (uint64_t)ms * USEC_PER_MSEC);
	}
}

/* Congestion control hears of acked bytes of new data (tcp_cc.c): NewReno
 * recovery's full or partial ACK, else slow start / avoidance. */
static void ack_cc(struct tcpcb *tp, tcp_seq ack, uint32_t acked, bool *need_output)
{
	if (tp->t_flags & TF_FASTRECOVERY) {
		if (tcp_cc_recovery_ack(tp, ack, acked))
			*need_output = true;
	} else {
		if ((tp->t_flags & TF_LOSS_RECOVERY) && SEQ_GEQ(ack, tp->snd_recover))
			tp->t_flags &= ~TF_LOSS_RECOVERY;
		tcp_cc_ack(tp, acked);
		tp->t_dupacks = 0;
	}
}

/* RFC 9293 3.10.7.4, fifth, ESTABLISHED: SND.UNA <- SEG.ACK, and what is
 * now acknowledged leaves the send buffer. Returns whether that covered
 * our FIN. */
static bool snd_una_advance(struct tcpcb *tp, const struct seg *sg, uint32_t acked)
{
	bool finacked = false;

	tcp_snd_autotune(tp);
	if (acked > tp->snd.len) {
		/* Past the last byte: our FIN (sent once at least, even if a
		 * timeout since has us sending it again). */
		finacked = true;
		tp->t_flags |= TF_SENTFIN;
		ring_consume(&tp->snd, tp->snd.len);
	} else {
		ring_consume(&tp->snd, acked);
	}
	tp->snd_una = sg->ack;
	if (tp->snd_urg && SEQ_GEQ(tp->snd_una, tp->snd_up))
		tp->snd_urg = false;    /* urgent data acknowledged */
	if (SEQ_LT(tp->snd_nxt, tp->snd_una))
		tp->snd_nxt = tp->snd_una;
	if (SEQ_LT(tp->sack_rexmit, tp->snd_una))
		tp->sack_rexmit = tp->snd_una;
	tcp_sack_update(tp, sg->opt);
	return finacked;
}

/* RFC 6298 5.2 / 5.3: stop the retransmission timer when all is acked,
 * restart it otherwise. The retry count starts again; the backoff stays
 * until a valid RTT sample (5.7, MUST-19). */
static void ack_rexmt_restart(struct tcpcb *tp, uint64_t now)
{
	tp->t_rxtshift = 0;
	/* The oldest unacknowledged data is now (about) this old:
	 * TCP_USER_TIMEOUT counts from here. */
	tp->t_rexmt_start = tp->snd_una == tp->snd_max ? 0 : now;
	tp->t_probes = 0;
	tp->t_flags &= ~TF_TLP_SENT;
	if (tp->snd_una == tp->snd_max)
		tcp_rexmt_stop(tp);
	else if (!(tp->t_flags & TF_PERSIST))
		tcp_rexmt_arm_or_probe(tp);
}

/* Our FIN is acknowledged: the states' own part of RFC 9293 3.10.7.4's
 * fifth step. FIN-WAIT-1 enters FIN-WAIT-2, CLOSING enters TIME-WAIT,
 * LAST-ACK deletes the TCB (the segment goes no further); in TIME-WAIT
 * only the peer's FIN can come again, which is the eighth step's. */
static enum seg_action fin_acked(struct tcpcb *tp)
{
	switch (tp->t_state) {
	case TCPS_FIN_WAIT_1:
		tcp_set_state(tp, TCPS_FIN_WAIT_2);
		tcp_keep_arm(tp);
		break;
	case TCPS_CLOSING:
		tcp_enter_time_wait(tp);
		break;
	case TCPS_LAST_ACK:
		tcp_closed(tp);
		return SEG_DROP;
	default:
		break;
	}
	return SEG_CONTINUE;
}

/* SND.UNA < SEG.ACK =< SND.MAX: new data acknowledged. */
static enum seg_action ack_new_data(struct tcpcb *tp, const struct seg *sg, uint64_t now,
				    bool *need_output)
{
	uint32_t acked = sg->ack - tp->snd_una;

	ack_rtt(tp, sg, now);
	ack_cc(tp, sg->ack, acked, need_output);
	bool was_writeable = tcp_writeable(tp);
	bool finacked = snd_una_advance(tp, sg, acked);
	ack_rexmt_restart(tp, now);
	*need_output = true;
	/* Writers wake when the buffer becomes writeable again, as Linux's
	 * sk_stream_write_space: not on every ACK. */
	if (!was_writeable && tcp_writeable(tp))
		sock_wake_ev(tp->so, EPOLLOUT | EPOLLWRNORM);
	return finacked ? fin_acked(tp) : SEG_CONTINUE;
}

/* RFC 9293 3.10.7.4: update the send window from the newest segment -
 * if SND.WL1 < SEG.SEQ, or SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK.
 * wnd: the segment's window, scaled (RFC 7323 2.3). */
static void snd_wnd_update(struct tcpcb *tp, const struct seg *sg, uint32_t wnd,
			   bool *need_output)
{
	if (!(SEQ_LT(tp->snd_wl1, sg->seq) ||
	      (tp->snd_wl1 == sg->seq && SEQ_LEQ(tp->snd_wl2, sg->ack))))
		return;
	if (wnd != tp->snd_wnd)
		*need_output = true;
	tp->snd_wnd = wnd;
	tp->snd_wl1 = sg->seq;
	tp->snd_wl2 = sg->ack;
	if (wnd > tp->max_sndwnd)
		tp->max_sndwnd = wnd;
	if (wnd && (tp->t_flags & TF_PERSIST)) {
		/* The window opened: the persist timer's work is done. */
		tcp_rexmt_stop(tp);
		tp->t_rxtshift = 0;
		tp->t_backoff = 0;
		tp->t_probes = 0;
		if (tp->snd_una != tp->snd_max)
			tcp_rexmt_arm(tp);
		*need_output = true;
	}
}

/* Fifth: the ACK field (RFC 9293 3.10.7.4). need_output: output has
 * something to do (new data acked, the window moved, recovery). */
static enum seg_action check_ack(struct tcpcb *tp, const struct seg *sg, bool *need_output)
{
	enum seg_action act;

	if (!(sg->flags & TH_ACK)) {
		stack_drop(tp->st, DROP_TCP_NO_ACK);
		return SEG_DROP;
	}

	uint64_t now = stack_now(tp->st);
	uint32_t wnd = sg->win << tp->snd_scale;

	if ((act = ack_acceptable(tp, sg)) != SEG_CONTINUE)
		return act;
	if (tp->t_state == TCPS_SYN_RECEIVED && (act = syn_received_ack(tp, sg)) != SEG_CONTINUE)
		return act;
	if (SEQ_LT(sg->ack, tp->snd_una))
		return SEG_CONTINUE;    /* old: nothing to learn from the ACK field */
	if (sg->ack == tp->snd_una)
		dupack_check(tp, sg, wnd, need_output);
	else if ((act = ack_new_data(tp, sg, now, need_output)) != SEG_CONTINUE)
		return act;     /* the connection is over */
	snd_wnd_update(tp, sg, wnd, need_output);
	return SEG_CONTINUE;
}

/* ---- Sixth to eighth: URG, text, FIN --------------------------------------- */

/* Text (RFC 9293 3.10.7.4, seventh): in order to the ring, else to the
 * reassembly queue with an immediate ACK (RFC 5681 4.2, RFC 1122 4.2.2.21). */
static void data_input(struct tcpcb *tp, const struct seg *sg)
{
	struct stack *st = tp->st;

	/* The peer's segment size, as Linux's tcp_measure_rcv_mss: a merged
	 * frame tells it outright. */
	uint32_t seglen = sg->gso_size ? sg->gso_size : sg->len;
	if (tp->t_rcvmss < seglen && seglen <= tp->t_advmss)
		tp->t_rcvmss = (uint16_t)seglen;
	if (sg->seq == tp->rcv_nxt) {
		bool had_gap = tp->reass != NULL;
		uint32_t n = rcv_store(tp, sg->data, sg->len);
		if (n < sg->len)
			stack_drop(st, DROP_TCP_RCVBUF_FULL);
		tp->rcv_nxt += n;
		if (had_gap) {
			reass_pull(tp);
			/* RFC 5681 4.2: a gap filled */
			tp->t_flags |= TF_ACKNOW | TF_ACK_NOBATCH;
		} else if (tp->t_quickack) {
			tp->t_quickack--;
			tp->t_flags |= TF_ACKNOW;
		} else if ((tp->t_flags & TF_DELACK) || sg->len >= 2u * tp->t_rcvmss) {
			/* RFC 5681 4.2 / RFC 1122 4.2.3.2: at least every
			 * second full-sized segment is acknowledged (a merged
			 * frame holds several). */
			tp->t_flags |= TF_ACKNOW;
		} else {
			tp->t_flags |= TF_DELACK;
			tcp_delack_arm(tp);
		}
		sock_wake_ev(tp->so, EPOLLIN | EPOLLRDNORM);
	} else {
		reass_insert(tp, sg->seq, sg->data, sg->len);
		tp->t_flags |= TF_ACKNOW | TF_ACK_NOBATCH;
	}
}

/* The urgent pointer (RFC 9293 3.8.5, MUST-62: it points to the octet
 * after the urgent data, so the urgent byte is SEG.SEQ + UP - 1). A newer
 * pointer replaces an older one, as in Linux's tcp_check_urg; the
 * application hears of it at once through EPOLLPRI (MUST-32). */
static void urg_input(struct tcpcb *tp, const struct seg *sg)
{
	tcp_seq ptr = sg->seq + sg->urp - 1;
	/* Before this segment's text is taken (the sixth step comes before
	 * the seventh): a pointer into what we already have is too late. */
	if (SEQ_LT(ptr, tp->rcv_nxt))
		return;
	if (tp->urg_state != URG_NONE && tp->urg_state != URG_READ && !SEQ_GT(ptr, tp->urg_seq))
		return;
	tp->urg_state = URG_NOTYET;
	tp->urg_seq = ptr;
	sock_wake_ev(tp->so, EPOLLPRI);
}

/* The urgent byte has arrived in order: keep a copy for MSG_OOB. */
static void urg_capture(struct tcpcb *tp)
{
	tcp_seq copied = tp->rcv_nxt - tp->rcv.len;

	if (!SEQ_LT(tp->urg_seq, tp->rcv_nxt))
		return;
	ring_peek(&tp->rcv, tp->urg_seq - copied, &tp->urg_byte, 1);
	tp->urg_state = URG_VALID;
	sock_wake_ev(tp->so, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
}

/* The FIN, once everything before it has arrived (RFC 9293 3.10.7.4,
 * eighth). */
static void fin_input(struct tcpcb *tp)
{
	struct mtcp_sock *s = tp->so;

	tp->fin_pending = false;
	tp->rcv_nxt++;
	tp->t_flags |= TF_ACKNOW;
	s->shut_rd = true;
	switch (tp->t_state) {
	case TCPS_SYN_RECEIVED:
	case TCPS_ESTABLISHED:
		tcp_set_state(tp, TCPS_CLOSE_WAIT);
		break;
	case TCPS_FIN_WAIT_1:
		/* Our FIN not yet acknowledged (else we would be in
		 * FIN-WAIT-2): simultaneous close. */
		tcp_set_state(tp, TCPS_CLOSING);
		break;
	case TCPS_FIN_WAIT_2:
		tcp_enter_time_wait(tp);
		break;
	case TCPS_TIME_WAIT:
		tcp_2msl_arm(tp);       /* a retransmitted FIN restarts 2MSL */
		break;
	default:
		break;
	}
	sock_wake(s);
}

/* Sixth: the URG bit (RFC 9293 3.8.5, MUST-30..33, MUST-66). */
static void check_urg(struct tcpcb *tp, const struct seg *sg)
{
	if ((sg->flags & TH_URG) && sg->urp && !TCPS_HAVERCVDFIN(tp->t_state))
		urg_input(tp, sg);
}

/* Seventh: process the segment text. */
static enum seg_action process_text(struct tcpcb *tp, const struct seg *sg)
{
	if (sg->len) {
		switch (tp->t_state) {
		case TCPS_ESTABLISHED:
		case TCPS_FIN_WAIT_1:
		case TCPS_FIN_WAIT_2:
			if (tp->t_state != TCPS_ESTABLISHED &&
			    ((tp->t_flags & TF_ORPHAN) || tp->so->shut_rd)) {
				/* Data for a socket that will never read it:
				 * Linux (and RFC 2525 2.17) reset. */
				stack_drop(tp->st, DROP_TCP_DATA_AFTER_CLOSE);
				tp->snd_nxt = tp->snd_max;
				tcp_drop(tp, 0, true);
				return SEG_DROP;
			}
			data_input(tp, sg);
			break;
		default:
			/* After the peer's FIN: nothing more can come. */
			break;
		}
	}
	if (tp->urg_state == URG_NOTYET)
		urg_capture(tp);
	return SEG_CONTINUE;
}

/* Eighth: the FIN bit, in order only; beyond a gap it waits for the gap. */
static void check_fin(struct tcpcb *tp, const struct seg *sg)
{
	if (sg->flags & TH_FIN) {
		tcp_seq fseq = sg->seq + sg->len;
		if (fseq == tp->rcv_nxt && !TCPS_HAVERCVDFIN(tp->t_state)) {
			fin_input(tp);
		} else if (tp->t_state == TCPS_TIME_WAIT || tp->t_state == TCPS_CLOSING ||
			   tp->t_state == TCPS_LAST_ACK || tp->t_state == TCPS_CLOSE_WAIT) {
			/* A retransmitted FIN: ACK it again. */
			tp->t_flags |= TF_ACKNOW;
			if (tp->t_state == TCPS_TIME_WAIT)
				tcp_2msl_arm(tp);
		} else if (SEQ_GT(fseq, tp->rcv_nxt)) {
			tp->fin_pending = true;
			tp->fin_seq = fseq;
		}
	}
	if (tp->fin_pending && tp->fin_seq == tp->rcv_nxt && !TCPS_HAVERCVDFIN(tp->t_state))
		fin_input(tp);
}

/*
 * A segment for a synchronized connection: RFC 9293 3.10.7.4's steps in
 * order, each changing the control block; then one way out, where what
 * goes back to the peer is decided.
 */
static void synchronized_input(struct tcpcb *tp, struct seg *sg)
{
	struct stack *st = tp->st;
	uint64_t now = stack_now(st);
	bool need_output = false;
	uint32_t wnd = 0;
	enum seg_action act;

	tp->t_rcvtime = now;
	if ((act = check_seq(tp, sg, &wnd, now)) != SEG_CONTINUE)       /* first */
		goto out;
	if ((act = check_rst(tp, sg)) != SEG_CONTINUE)                  /* second */
		goto out;
	/* Third, security: there is no IP security option here (RFC 9293
	 * 3.10.7.4 asks for an exact match of what the TCB has). */
	trim_to_window(tp, sg, wnd);
	update_ts_recent(tp, sg);
	if ((act = check_syn(tp, sg)) != SEG_CONTINUE)                  /* fourth */
		goto out;
	if ((act = check_ack(tp, sg, &need_output)) != SEG_CONTINUE)    /* fifth */
		goto out;
	check_urg(tp, sg);                                              /* sixth */
	if ((act = process_text(tp, sg)) != SEG_CONTINUE)               /* seventh */
		goto out;
	check_fin(tp, sg);                                              /* eighth */
	act = SEG_OUTPUT;

out:
	switch (act) {
	case SEG_CONTINUE:
	case SEG_OUTPUT:
		/* One ACK per batch (MUST-58) - but not for the duplicate ACKs
		 * of out-of-order data and the ACK of a filled gap: RFC 5681
		 * 4.2 wants each at once, and the sender's fast retransmit
		 * counts them. */
		if (tp->t_flags & TF_ACK_NOBATCH) {
			tp->t_flags &= ~TF_ACK_NOBATCH;
			tcp_output(tp);
		} else if (need_output || (tp->t_flags & TF_ACKNOW)) {
			tcp_output_later(tp);
		}
		return;
	case SEG_DROP:
		/* The reason is counted; tp may be gone (connection over). */
		return;
	case SEG_DROPAFTERACK:
		/* At once, not with the batch; never an ACK to a RST (RFC
		 * 9293 3.10.7.4). */
		if (sg->flags & TH_RST)
			return;
		tp->t_flags |= TF_ACKNOW;
		tcp_output(tp);
		return;
	case SEG_DROPAFTERACK_RATELIM:
		tcp_send_challenge_ack(tp);
		return;
	case SEG_DROPWITHRESET:
		drop_with_reset(st, sg);
		return;
	}
}

/* TIME-WAIT and a new SYN for the same 4-tuple (RFC 9293 MAY-2, RFC 6191):
 * accept it when it cannot be an old duplicate - its timestamp is newer,
 * or without timestamps, its sequence number is beyond what we saw. */
static bool time_wait_reuse(struct tcpcb *tp, const struct seg *sg)
{
	bool ts = (tp->t_flags & TF_RCVD_TSTMP) && sg->opt->has_ts;

	if ((sg->flags & (TH_SYN | TH_ACK | TH_RST)) != TH_SYN)
		return false;
	/* RFC 6191 2 (Linux's tcp_timewait_state_process): never with an
	 * older timestamp (PAWS); then a newer timestamp or a higher
	 * sequence number will do. */
	if (ts && (int32_t)(sg->opt->ts_val - tp->ts_recent) < 0)
		return false;
	return SEQ_GT(sg->seq, tp->rcv_nxt) ||
	       (ts && (int32_t)(sg->opt->ts_val - tp->ts_recent) > 0);
}

static void tcp_input(struct stack *st, const struct ipv4_pkt *pkt)
{
	struct tcp_repr th;
	enum wire_err e;

	st->stats.tcp_rx++;
	e = (pkt->csum_ok ? tcp_parse_verified : tcp_parse)(pkt->payload, pkt->len,
							  pkt->ip.src, pkt->ip.dst, &th);
	if (e != WIRE_OK) {
		stack_drop(st, e == WIRE_ECSUM ? DROP_TCP_BAD_CSUM :
			       e == WIRE_EOPT ? DROP_TCP_BAD_OPTIONS : DROP_TCP_MALFORMED);
		return;
	}
	/* RFC 1122 4.2.3.10 (MUST-57 neighbourhood): no connection to or
	 * from a broadcast or multicast address; say nothing. */
	if (pkt->ip_bcast || pkt->link_bcast) {
		stack_drop(st, DROP_TCP_BCAST);
		return;
	}

	struct seg sg = {
		.seq = th.seq, .ack = th.ack, .flags = th.flags, .win = th.win, .urp = th.urp,
		.data = pkt->payload + th.hlen, .len = (uint32_t)(pkt->len - th.hlen),
		.opt = &th.opt,
		.laddr = pkt->ip.dst, .raddr = pkt->ip.src,
		.lport = th.dport, .rport = th.sport,
		.gso_size = pkt->gso_size,
	};
	if (pkt->gso_size)
		st->stats.tcp_rx_merged++;

	struct tcpcb *tp = tcp_lookup(st, sg.laddr, sg.lport, sg.raddr, sg.rport);
	tcp_seq isn_floor = 0;
	bool reuse = false;
	if (tp && tp->t_state == TCPS_TIME_WAIT && time_wait_reuse(tp, &sg)) {
		/* RFC 9293 MAY-2 (1): the new ISS lies above everything the
		 * old incarnation sent (Linux: tw_snd_nxt + 65537). */
		isn_floor = tp->snd_max + 65537;
		reuse = true;
		tcp_closed(tp);
		tp = NULL;
	}
	if (!tp && !(sg.flags & TH_SYN) && handoff_hold(st, pkt))
		return;         /* its connection is on its way (handoff.c) */
	if (!tp) {
		/* A connection of a member that died, taken over to reset
		 * its peer (tcp_dead.c): answered as a segment for no
		 * connection, RFC 9293 3.10.7.1, whose <SEQ=SEG.ACK> is the
		 * peer's RCV.NXT: the exact match RFC 5961 3.2 resets on. */
		switch (tcp_dead_input(st, sg.lport, sg.raddr, sg.rport, sg.flags)) {
		case TCP_DEAD_RESET:
			stack_drop(st, DROP_TCP_DEAD_FLOW);
			drop_with_reset(st, &sg);
			return;
		case TCP_DEAD_DROP:
			stack_drop(st, DROP_TCP_DEAD_FLOW);
			return;
		case TCP_DEAD_NONE:
			break;
		}
		tp = tcp_lookup_listener(st, sg.laddr, sg.lport);
		if (!tp) {
			/* RFC 9293 3.10.7.1, as one host: only the member that
			 * answers for the address resets, and only a flow that
			 * no other process on it owns. */
			if (!stack_answers(st, IPPROTO_TCP, sg.lport, sg.raddr, sg.rport))
				return;
			stack_drop(st, DROP_TCP_NO_SOCKET);
			drop_with_reset(st, &sg);
			return;
		}
	}

	switch (tp->t_state) {
	case TCPS_CLOSED:
		stack_drop(st, DROP_TCP_NO_SOCKET);
		drop_with_reset(st, &sg);
		return;
	case TCPS_LISTEN:
		listen_input(tp, &sg, reuse ? &isn_floor : NULL);
		return;
	case TCPS_SYN_SENT:
		syn_sent_input(tp, &sg);
		return;
	default:
		synchronized_input(tp, &sg);
		return;
	}
}

/* An ICMP error about a segment we sent. Like Linux (and RFC 5461), hard
 * errors end only a connection still being opened; on a synchronized one
 * they are remembered as the soft error a timeout reports. The quoted
 * sequence number must be in flight (RFC 5927 4.1). */
static void tcp_err(struct stack *st, int err, enum ipv4_err_kind kind,
		    const struct ipv4_repr *orig, const uint8_t *data, size_t len)
{
	bool hard = kind == IPV4_ERR_HARD;

	if (len < 8) {
		stack_drop(st, DROP_ICMP_MALFORMED);
		return;
	}
	struct tcpcb *tp = tcp_lookup(st, orig->src, rd16(data), orig->dst, rd16(data + 2));
	tcp_seq seq = rd32(data + 4);

	if (!tp || SEQ_LT(seq, tp->snd_una) || SEQ_GT(seq, tp->snd_max)) {
		stack_drop(st, tp ? DROP_ICMP_IGNORED : DROP_ICMP_NO_MATCH);
		return;
	}
	if (err == EMSGSIZE) {
		/* NOTE: no path MTU discovery yet (RFC 1191): the stack has
		 * one link and announces its MTU in the MSS. */
		stack_drop(st, DROP_ICMP_IGNORED);
		return;
	}
	/* RFC 9293 MUST-56: Parameter Problem is soft for TCP (UDP reports
	 * it as EPROTO, as Linux does). */
	if (err == EPROTO)
		hard = false;
	/* NOTE: a SYN whose next hop never answered ARP ends the connect
	 * with EHOSTUNREACH, as Linux's neighbour failure does (it reaches
	 * tcp_v4_err as a local ICMP host unreachable, which aborts
	 * SYN-SENT). ICMP soft errors from the network still do not
	 * (MUST-56). */
	if (kind == IPV4_ERR_LOCAL && tp->t_state == TCPS_SYN_SENT)
		hard = true;
	if (hard && (tp->t_state == TCPS_SYN_SENT || tp->t_state == TCPS_SYN_RECEIVED)) {
		tcp_drop(tp, err, false);
		return;
	}
	tp->t_softerror = err;
	stack_drop(st, DROP_ICMP_IGNORED);
}

void tcp_input_init(struct stack *st)
{
	ipv4_register(st, IPPROTO_TCP_, tcp_input, tcp_err);
}
