/*
 * tcp_cc.c - congestion control: slow start and congestion avoidance
 * (RFC 5681 3.1), fast retransmit and fast recovery (RFC 5681 3.2) with
 * NewReno's partial ACKs (RFC 6582), restart after idle (RFC 5681 4.1),
 * the initial window (RFC 6928); with SACK, recovery resends every hole
 * of the scoreboard (tcp_sack.c) in one round trip.
 *
 * Only this file changes snd_cwnd and snd_ssthresh.
 */
#include "tcp_sack.h"
#include "tcp_var.h"

uint32_t tcp_flight_size(const struct tcpcb *tp)
{
	return tp->snd_max - tp->snd_una;
}

/* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)). */
static uint32_t initial_window(const struct tcpcb *tp)
{
	uint32_t mss = tp->t_maxseg;
	uint32_t iw = 14600 > 2 * mss ? 14600 : 2 * mss;

	return iw < TCP_IW_SEGS * mss ? iw : TCP_IW_SEGS * mss;
}

void tcp_cc_init(struct tcpcb *tp)
{
	/* RFC 5681 3.1: IW; ssthresh arbitrarily high (the peer's window
	 * would do; "infinite" is allowed). RFC 5681 3.1 also says a SYN
	 * lost means IW = 1 segment; Linux ignores that, and so do we
	 * (RFC 6928 3 discusses it). */
	tp->snd_cwnd = initial_window(tp);
	tp->snd_ssthresh = UINT32_MAX / 2;
	tp->snd_recover = tp->snd_una;
	tp->t_bytes_acked = 0;
}

/* RFC 5681 4.1: after an idle period longer than the RTO, restart from
 * the restart window, min(IW, cwnd). */
void tcp_cc_idle_restart(struct tcpcb *tp, uint64_t now)
{
	if (tp->snd_una != tp->snd_max || !tp->t_last_send)
		return;
	uint64_t rto = tp->t_rto;
	if (now - tp->t_last_send > rto) {
		uint32_t rw = initial_window(tp);
		if (tp->snd_cwnd > rw)
			tp->snd_cwnd = rw;
	}
}

/* New data acknowledged outside recovery. */
void tcp_cc_ack(struct tcpcb *tp, uint32_t acked)
{
	uint32_t mss = tp->t_maxseg;

	if (tp->snd_cwnd < tp->snd_ssthresh) {
		/* Slow start, RFC 5681 3.1 with RFC 3465's appropriate byte
		 * counting, L = 2*SMSS. */
		tp->snd_cwnd += acked < 2 * mss ? acked : 2 * mss;
	} else {
		/* Congestion avoidance: one SMSS per cwnd of data acked
		 * (RFC 5681 3.1, equation 3's byte-counting form). */
		tp->t_bytes_acked += acked;
		if (tp->t_bytes_acked >= tp->snd_cwnd) {
			tp->t_bytes_acked -= tp->snd_cwnd;
			tp->snd_cwnd += mss;
		}
	}
	if (tp->snd_cwnd > (1u << 30))
		tp->snd_cwnd = 1u << 30;
}

/* A retransmission lost too: once the peer SACKs data we sent after our
 * latest retransmission, every hole still open below it was lost again
 * (the idea of Linux's lost-retransmit detection and RFC 8985's RACK, on
 * a per-round rather than per-segment clock). Resend them. */
static void sack_lost_retransmit(struct tcpcb *tp)
{
	if (!tp->nsackblk)
		return;
	tcp_seq fack = tp->sackblk[tp->nsackblk - 1].right;
	if (SEQ_GT(fack, tp->rexmit_mark) && SEQ_GT(tp->sack_rexmit, tp->snd_una)) {
		uint32_t run;
		tp->sack_rexmit = tp->snd_una;
		tp->rexmit_mark = tp->snd_max;
		if (!tcp_sack_is_sacked(tp, tp->snd_una, &run))
			tp->t_flags |= TF_REXMT_HEAD;
	}
}

static void enter_recovery(struct tcpcb *tp)
{
	uint32_t mss = tp->t_maxseg;
	uint32_t flight = tcp_flight_size(tp);

	/* RFC 5681 3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS). */
	tp->snd_ssthresh = flight / 2 > 2 * mss ? flight / 2 : 2 * mss;
	/* RFC 6582 3.2 step 2: remember the highest sequence sent. */
	tp->snd_recover = tp->snd_max;
	tp->t_flags |= TF_FASTRECOVERY | TF_REXMT_HEAD;
	tp->sack_rexmit = tp->snd_una;
	tp->rexmit_mark = tp->snd_max;
	if (tp->t_flags & TF_SACK_PERMIT)
		tp->snd_cwnd = tp->snd_ssthresh;        /* RFC 6675 5 step 4.2 */
	else
		tp->snd_cwnd = tp->snd_ssthresh + 3 * mss;      /* RFC 5681 3.2 step 3 */
	tp->t_bytes_acked = 0;
	tp->st->stats.tcp_fast_retrans++;
}

bool tcp_cc_dupack(struct tcpcb *tp)
{
	uint32_t mss = tp->t_maxseg;

	if (tp->t_flags & TF_FASTRECOVERY) {
		/* RFC 5681 3.2 step 4: every further duplicate means a
		 * segment left the network (without SACK: inflate). With
		 * SACK the scoreboard's pipe tells output what may go. */
		if (!(tp->t_flags & TF_SACK_PERMIT))
			tp->snd_cwnd += mss;
		else
			sack_lost_retransmit(tp);
		return true;
	}
	tp->t_dupacks++;
	/* RFC 6675 5: with SACK, a loss is also known once more than
	 * 3 segments' worth above snd_una has been SACKed. */
	bool sack_loss = (tp->t_flags & TF_SACK_PERMIT) && tcp_sack_bytes(tp) > 3 * mss;
	/* After a tail loss probe, SACK for anything means the tail (or
	 * its ACKs) was lost: recover now (RFC 8985 7.4's intent). */
	bool tlp_loss = (tp->t_flags & TF_TLP_SENT) && tcp_sack_bytes(tp) > 0;
	if (tp->t_dupacks == 3 || ((sack_loss || tlp_loss) && tp->t_dupacks < 3)) {
		/* RFC 6582 3.2 step 1: no new recovery while the previous
		 * one's data is unacknowledged ("recover" covers it), unless
		 * that was a timeout's go-back-N. */
		if (SEQ_LEQ(tp->snd_una, tp->snd_recover) && tp->snd_una != tp->snd_recover &&
		    !(tp->t_flags & TF_LOSS_RECOVERY))
			return false;
		tp->t_dupacks = 3;
		enter_recovery(tp);
		return true;
	}
	/* RFC 3042 limited transmit: the first two duplicates each let one
	 * new segment go (output allows cwnd + dupacks * SMSS). */
	return tp->t_dupacks < 3;
}

bool tcp_cc_recovery_ack(struct tcpcb *tp, tcp_seq ack, uint32_t acked)
{
	uint32_t mss = tp->t_maxseg;

	if (SEQ_GEQ(ack, tp->snd_recover)) {
		/* RFC 6582 3.2 step 3, full acknowledgment: cwnd = ssthresh
		 * (the RFC's second option, and where Linux's PRR ends).
		 * NOTE: the first option, min(ssthresh, FlightSize + SMSS),
		 * leaves one segment when the full ACK empties the pipe, and
		 * a receiver then holds its ACK for the delayed-ACK timer. */
		tp->snd_cwnd = tp->snd_ssthresh;
		tp->t_flags &= ~TF_FASTRECOVERY;
		tp->t_dupacks = 0;
		return false;
	}
	/* Partial acknowledgment (RFC 6582 3.2 step 3): the next hole is at
	 * the new snd_una: resend it; deflate by what was acked and add back
	 * one SMSS if that was at least one (without SACK; with it the pipe
	 * accounts for both). */
	tp->st->stats.tcp_partial_acks++;
	if (!(tp->t_flags & TF_SACK_PERMIT)) {
		tp->snd_cwnd = tp->snd_cwnd > acked ? tp->snd_cwnd - acked : mss;
		if (acked >= mss)
			tp->snd_cwnd += mss;
	}
	if (SEQ_LT(tp->sack_rexmit, ack))
		tp->sack_rexmit = ack;
	if (tp->t_flags & TF_SACK_PERMIT) {
		/* The hole at the new snd_una: resend it unless it was
		 * resent this round already (sack_rexmit is past it). */
		uint32_t run;
		if (!tcp_sack_is_sacked(tp, ack, &run) && SEQ_LEQ(tp->sack_rexmit, ack))
			tp->t_flags |= TF_REXMT_HEAD;
		sack_lost_retransmit(tp);
	} else {
		tp->t_flags |= TF_REXMT_HEAD;
	}
	return true;
}

/* RFC 5681 3.1 / 5.?: on a retransmission timeout, ssthresh =
 * max(FlightSize/2, 2*SMSS) (only for the first timeout of a segment,
 * RFC 5681 equation 4's note), cwnd = 1 SMSS (the loss window); RFC 6582
 * 4: recover = the highest sequence sent. RFC 2018 8: forget the SACKs
 * (the receiver may have reneged). */
void tcp_cc_rto(struct tcpcb *tp)
{
	uint32_t mss = tp->t_maxseg;

	if (tp->t_rxtshift <= 1) {
		uint32_t flight = tcp_flight_size(tp);
		tp->snd_ssthresh = flight / 2 > 2 * mss ? flight / 2 : 2 * mss;
	}
	tp->snd_cwnd = mss;
	tp->snd_recover = tp->snd_max;
	tp->t_flags &= ~(TF_FASTRECOVERY | TF_REXMT_HEAD);
	tp->t_flags |= TF_LOSS_RECOVERY;
	tp->t_dupacks = 0;
	tp->t_bytes_acked = 0;
	tcp_sack_clean(tp);
}
