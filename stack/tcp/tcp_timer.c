/*
 * tcp_timer.c - TCP's timers, one handler each, every one ending in
 * tcp_output (or the connection's end), and the retransmission timeout
 * (RFC 6298).
 *
 *   t_rexmt   retransmission (RFC 6298 5) or, with TF_PERSIST, the persist
 *             timer probing a zero window (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17)
 *   t_delack  the delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2)
 *   t_keep    keepalive (RFC 1122 4.2.3.6) and the orphaned FIN-WAIT-2 limit
 *   t_2msl    TIME-WAIT (RFC 9293 3.3.2, 3.6.1)
 *   t_pass    a listener copy kept for its accept group passes its queue on
 *             (tcp_migrate.c)
 */
#include <errno.h>
#include <stddef.h>

#include "tcp_var.h"

#define tp_of(t, field) ((struct tcpcb *)((char *)(t) - offsetof(struct tcpcb, field)))

uint64_t tcp_msl(const struct stack *st)
{
	return st->cfg.msl_us ? st->cfg.msl_us : TCP_MSL_DEFAULT;
}

/* RFC 6298 2.2 / 2.3: alpha = 1/8, beta = 1/4, K = 4;
 * RTO = SRTT + max(G, K * RTTVAR), clamped (2.4, 2.5). */
void tcp_rtt_sample(struct tcpcb *tp, uint64_t rtt)
{
	if (rtt == 0)
		rtt = 1;
	if (!tp->t_rtt_valid) {
		tp->t_srtt = rtt;
		tp->t_rttvar = rtt / 2;
		tp->t_rtt_valid = true;
	} else {
		uint64_t delta = tp->t_srtt > rtt ? tp->t_srtt - rtt : rtt - tp->t_srtt;
		tp->t_rttvar = (3 * tp->t_rttvar + delta) / 4;
		tp->t_srtt = (7 * tp->t_srtt + rtt) / 8;
	}
	uint64_t var = 4 * tp->t_rttvar;
	uint64_t rto = tp->t_srtt + (var > TCP_CLOCK_G ? var : TCP_CLOCK_G);
	if (rto < TCP_RTO_MIN)
		rto = TCP_RTO_MIN;
	if (rto > TCP_RTO_MAX)
		rto = TCP_RTO_MAX;
	tp->t_rto = rto;
	/* A valid measurement ends the backoff (RFC 6298 5.7; Linux resets
	 * icsk_backoff only here). */
	tp->t_backoff = 0;
}

/* RFC 6298 5.5: the timer backs off by doubling, up to the maximum. */
uint64_t tcp_rto_backoff(const struct tcpcb *tp)
{
	uint64_t rto = tp->t_rto;

	for (unsigned i = 0; i < tp->t_backoff && rto < TCP_RTO_MAX; i++)
		rto *= 2;
	return rto > TCP_RTO_MAX ? TCP_RTO_MAX : rto;
}

void tcp_rexmt_arm(struct tcpcb *tp)
{
	uint64_t now = stack_now(tp->st);
	uint64_t at = now + tcp_rto_backoff(tp);

	/* TCP_USER_TIMEOUT: no later than when the oldest unacknowledged
	 * data will have waited that long (Linux
	 * tcp_clamp_rto_to_user_timeout). */
	if (tp->user_timeout && tp->t_rexmt_start && TCPS_HAVEESTABLISHED(tp->t_state)) {
		uint64_t limit = tp->t_rexmt_start + tp->user_timeout;
		if (limit < at)
			at = limit > now ? limit : now;
	}
	tp->t_flags &= ~(TF_PERSIST | TF_TLP);
	timer_arm(&tp->st->timers, &tp->t_rexmt, at);
}

/* RFC 8985 7.2 (tail loss probe): when the last ACKs of a flight are lost
 * or the tail of the data is, nothing would clock a fast retransmit and
 * the RTO would be the only way out. A probe after PTO = 2*SRTT (plus the
 * peer's worst-case delayed ACK when one segment is out; Linux adds a
 * little slack always) makes the peer tell us what it has, and SACK
 * recovery takes it from there. Only with SACK, and not after an RTO
 * (there the go-back-N already resends everything). NOTE: unlike RFC
 * 8985 we probe in fast recovery too: without RACK's reordering timer,
 * the probe is what saves a recovery whose last ACKs were lost. */
bool tcp_tlp_eligible(const struct tcpcb *tp)
{
	return (tp->t_flags & TF_SACK_PERMIT) && tp->t_rtt_valid && !tp->t_rxtshift &&
	       !(tp->t_flags & (TF_LOSS_RECOVERY | TF_TLP_SENT | TF_PERSIST)) &&
	       TCPS_HAVEESTABLISHED(tp->t_state) && tp->t_state != TCPS_TIME_WAIT;
}

void tcp_rexmt_arm_or_probe(struct tcpcb *tp)
{
	uint32_t flight = tp->snd_max - tp->snd_una;

	if (!tcp_tlp_eligible(tp)) {
		tcp_rexmt_arm(tp);
		return;
	}
	uint64_t pto = 2 * tp->t_srtt + TCP_TLP_SLACK;
	if (flight <= tp->t_maxseg)
		pto += TCP_WCDELACK;
	if (pto > tcp_rto_backoff(tp)) {
		tcp_rexmt_arm(tp);
		return;
	}
	tp->t_flags &= ~TF_PERSIST;
	tp->t_flags |= TF_TLP;
	timer_arm(&tp->st->timers, &tp->t_rexmt, stack_now(tp->st) + pto);
}

void tcp_rexmt_stop(struct tcpcb *tp)
{
	timer_cancel(&tp->st->timers, &tp->t_rexmt);
	tp->t_flags &= ~(TF_PERSIST | TF_TLP);
}

void tcp_delack_arm(struct tcpcb *tp)
{
	if (!timer_armed(&tp->t_delack))
		timer_arm(&tp->st->timers, &tp->t_delack, stack_now(tp->st) + TCP_DELACK_TIME);
}

/* Keepalive runs only on a synchronized connection whose user asked for
 * it; an orphan in FIN-WAIT-2 gets TCP_FIN_TIMEOUT instead. */
void tcp_keep_arm(struct tcpcb *tp)
{
	struct stack *st = tp->st;
	uint64_t now = stack_now(st);

	if (tp->t_state == TCPS_FIN_WAIT_2 && (tp->t_flags & TF_ORPHAN)) {
		timer_arm(&st->timers, &tp->t_keep, now + TCP_FIN_TIMEOUT);
	} else if (tp->so->keepalive && TCPS_HAVEESTABLISHED(tp->t_state) &&
		   tp->t_state != TCPS_TIME_WAIT) {
		uint64_t idle = (uint64_t)tp->keepidle * USEC_PER_SEC;
		timer_arm(&st->timers, &tp->t_keep, tp->t_rcvtime + idle > now ?
			  tp->t_rcvtime + idle : now);
	} else {
		timer_cancel(&st->timers, &tp->t_keep);
	}
}

void tcp_2msl_arm(struct tcpcb *tp)
{
	timer_arm(&tp->st->timers, &tp->t_2msl, stack_now(tp->st) + 2 * tcp_msl(tp->st));
}

void tcp_enter_time_wait(struct tcpcb *tp)
{
	tcp_set_state(tp, TCPS_TIME_WAIT);
	timer_cancel(&tp->st->timers, &tp->t_rexmt);
	timer_cancel(&tp->st->timers, &tp->t_keep);
	tp->t_flags &= ~TF_PERSIST;
	tcp_2msl_arm(tp);
}

/* Has the connection given up? RFC 1122 4.2.3.5: R2 retransmissions (at
 * least 3 minutes for a SYN), or TCP_USER_TIMEOUT (RFC 5482) of
 * unacknowledged data. */
static bool rexmt_give_up(struct tcpcb *tp, uint64_t now)
{
	if (tp->user_timeout && tp->t_rexmt_start &&
	    now - tp->t_rexmt_start >= tp->user_timeout)
		return true;
	if (tp->user_timeout && TCPS_HAVEESTABLISHED(tp->t_state))
		return false;   /* the user timeout replaces the count */
	unsigned max = tp->t_state == TCPS_SYN_SENT ? TCP_SYN_RETRIES :
		       tp->t_state == TCPS_SYN_RECEIVED ? TCP_SYNACK_RETRIES :
		       TCP_MAXRXTSHIFT;
	return tp->t_rxtshift >= max;
}

static void tcp_timer_rexmt(struct stack *st, struct timer *t)
{
	struct tcpcb *tp = tp_of(t, t_rexmt);
	uint64_t now = stack_now(st);

	if (tp->t_flags & TF_PERSIST) {
		/* RFC 1122 4.2.2.17: probe a zero window for as long as the
		 * receiver answers; only unanswered probes count (as in
		 * Linux's tcp_probe_timer). */
		if ((tp->user_timeout && tp->t_rcvtime + tp->user_timeout <= now) ||
		    tp->t_probes >= TCP_MAXRXTSHIFT) {
			tcp_drop(tp, ETIMEDOUT, true);
			return;
		}
		st->stats.tcp_persist_probes++;
		tp->t_probes++;
		tp->t_flags |= TF_FORCE;
		tcp_output(tp);
		tp->t_flags &= ~TF_FORCE;
		if (tp->t_rxtshift < TCP_MAXRXTSHIFT) {
			tp->t_rxtshift++;
			tp->t_backoff++;
		}
		tcp_setpersist(tp);
		return;
	}

	if (tp->t_flags & TF_TLP) {
		tp->t_flags &= ~TF_TLP;
		tp->t_flags |= TF_TLP_SENT;
		tcp_send_probe(tp);
		tcp_rexmt_arm(tp);      /* the RTO covers the probe */
		return;
	}
	if (!tp->t_rexmt_start)
		tp->t_rexmt_start = now;
	if (rexmt_give_up(tp, now)) {
		st->stats.tcp_timeouts++;
		tcp_drop(tp, ETIMEDOUT, tp->t_state != TCPS_SYN_SENT);
		return;
	}
	tp->t_rxtshift++;
	if (tp->t_backoff < 16)
		tp->t_backoff++;
	st->stats.tcp_timeouts++;
	/* RFC 1122 4.2.3.5 R1 (RFC 9293 MUST-20): past 3 retransmissions
	 * the path is suspect: negative advice to IP (the next hop's ARP
	 * entry is confirmed again), and, as the BSDs do, SRTT is forgotten
	 * so the next sample starts afresh instead of being averaged with a
	 * stale path's. */
	if (tp->t_rxtshift == TCP_R1)
		ipv4_negative_advice(st, tp->so->raddr);
	if (tp->t_rxtshift > TCP_R1)
		tp->t_rtt_valid = false;
	/* Karn's algorithm (RFC 6298 3): no sample from a retransmitted
	 * segment; the backed-off RTO stays until a fresh sample. */
	tp->t_rtttime = 0;
	if (tp->t_state == TCPS_SYN_SENT || tp->t_state == TCPS_SYN_RECEIVED) {
		/* No SYN option the peer choked on gets a second chance:
		 * RFC 9293 3.7.1 allows retrying without options, Linux does
		 * not; neither do we. */
	} else {
		tcp_cc_rto(tp);
	}
	tp->snd_nxt = tp->snd_una;
	tp->sack_rexmit = tp->snd_una;
	if (tp->t_state == TCPS_SYN_RECEIVED || tp->t_state == TCPS_SYN_SENT)
		tp->snd_nxt = tp->iss;
	/* A retransmitted FIN is sent again by output. */
	tp->t_flags &= ~TF_SENTFIN;
	tcp_rexmt_arm(tp);
	tcp_output(tp);
}

static void tcp_timer_delack(struct stack *st, struct timer *t)
{
	struct tcpcb *tp = tp_of(t, t_delack);

	st->stats.tcp_delayed_acks++;
	tp->t_flags |= TF_ACKNOW;
	tcp_output(tp);
}

static void tcp_timer_keep(struct stack *st, struct timer *t)
{
	struct tcpcb *tp = tp_of(t, t_keep);
	uint64_t now = stack_now(st);

	if (tp->t_state == TCPS_FIN_WAIT_2) {
		if (tp->t_flags & TF_ORPHAN) {
			/* Linux tcp_fin_timeout: an orphan does not wait forever
			 * for the peer's FIN. */
			tcp_drop(tp, 0, true);
			return;
		}
	}
	if (!tp->so->keepalive || !TCPS_HAVEESTABLISHED(tp->t_state) ||
	    tp->t_state == TCPS_TIME_WAIT)
		return;

	uint64_t idle = now - tp->t_rcvtime;
	if (idle < (uint64_t)tp->keepidle * USEC_PER_SEC) {
		tcp_keep_arm(tp);
		return;
	}
	/* RFC 1122 4.2.3.6: probes only when nothing is in flight (data
	 * outstanding has its own timer); after keepcnt unanswered ones,
	 * the connection is dead. Linux also applies TCP_USER_TIMEOUT. */
	if (tp->t_probes >= tp->keepcnt ||
	    (tp->user_timeout && tp->t_probes && idle >= tp->user_timeout)) {
		tcp_drop(tp, ETIMEDOUT, true);
		return;
	}
	if (tp->snd_una == tp->snd_max) {
		/* SEG.SEQ = SND.NXT - 1, no data: the peer must ACK it. */
		st->stats.tcp_keepalive_probes++;
		tcp_respond(st, tp, tp->so->laddr, tp->so->raddr, tp->so->lport, tp->so->rport,
			    tp->snd_una - 1, tp->rcv_nxt, TH_ACK);
		tp->t_probes++;
	}
	timer_arm(&st->timers, &tp->t_keep, now + (uint64_t)tp->keepintvl * USEC_PER_SEC);
}

static void tcp_timer_2msl(struct stack *st, struct timer *t)
{
	(void)st;
	tcp_closed(tp_of(t, t_2msl));
}

static void tcp_timer_pass(struct stack *st, struct timer *t)
{
	(void)st;
	tcp_migrate_pass(tp_of(t, t_pass));
}

void tcp_timers_init(struct tcpcb *tp)
{
	timer_init(&tp->t_rexmt, tcp_timer_rexmt);
	timer_init(&tp->t_delack, tcp_timer_delack);
	timer_init(&tp->t_keep, tcp_timer_keep);
	timer_init(&tp->t_2msl, tcp_timer_2msl);
	timer_init(&tp->t_pass, tcp_timer_pass);
}

void tcp_timers_cancel(struct tcpcb *tp)
{
	struct timer_heap *h = &tp->st->timers;

	timer_cancel(h, &tp->t_rexmt);
	timer_cancel(h, &tp->t_delack);
	timer_cancel(h, &tp->t_keep);
	timer_cancel(h, &tp->t_2msl);
	timer_cancel(h, &tp->t_pass);
	tp->t_flags &= ~(TF_PERSIST | TF_DELACK | TF_TLP);
}
