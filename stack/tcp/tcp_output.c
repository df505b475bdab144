/*
 * tcp_output.c - the only place TCP segments are built.
 *
 * tcp_output() looks at the control block alone and sends what is due:
 * a SYN, retransmissions the congestion controller asked for, new data
 * within min(cwnd, the peer's window) under Nagle and sender-side
 * silly-window avoidance, a FIN after the last byte, a window update, or
 * an ACK someone asked for with TF_ACKNOW. tcp_respond() builds the
 * segments that answer for no connection (RST, keepalive probe, challenge
 * ACK).
 *
 * As in the BSDs, deciding is apart from sending: output_recovery resends
 * what loss recovery asks for; output_decide chooses the next segment
 * (send_window, output_len, send_now: Nagle, SWS avoidance, FIN, window
 * update; persist when nothing goes); output_send ("send:") has tcp_xmit
 * build and emit it (options, header, TSO) and accounts for it.
 */
#include <errno.h>

#include "tcp_sack.h"
#include "tcp_var.h"

/* RFC 9293 3.10.7.1 and 3.5.2: what each state sends besides data. */
static const uint8_t outflags[] = {
	[TCPS_CLOSED] = TH_RST | TH_ACK,
	[TCPS_LISTEN] = 0,
	[TCPS_SYN_SENT] = TH_SYN,
	[TCPS_SYN_RECEIVED] = TH_SYN | TH_ACK,
	[TCPS_ESTABLISHED] = TH_ACK,
	[TCPS_CLOSE_WAIT] = TH_ACK,
	[TCPS_FIN_WAIT_1] = TH_FIN | TH_ACK,
	[TCPS_CLOSING] = TH_FIN | TH_ACK,
	[TCPS_LAST_ACK] = TH_FIN | TH_ACK,
	[TCPS_FIN_WAIT_2] = TH_ACK,
	[TCPS_TIME_WAIT] = TH_ACK,
};

static uint32_t max_window(const struct tcpcb *tp)
{
	return (uint32_t)65535 << tp->rcv_scale;
}

/* The window field for win bytes: shifted by our scale, rounded up when
 * truncating would pull the right edge left (RFC 7323 2.4, SHLD-14). */
static uint16_t scaled_window(const struct tcpcb *tp, uint32_t win)
{
	uint32_t w = win >> tp->rcv_scale;
	uint32_t edge = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;

	if ((w << tp->rcv_scale) < edge)
		w++;
	return (uint16_t)(w > 65535 ? 65535 : w);
}

uint32_t tcp_rcv_window(struct tcpcb *tp)
{
	uint32_t win = tcp_rcv_space(tp);

	/* Out-of-order data already occupies sequence space ahead of
	 * rcv_nxt; it is inside the window we advertise, not beyond it. */
	if (win > max_window(tp))
		win = max_window(tp);
	/* RFC 1122 4.2.3.3 (receiver SWS avoidance, MUST-39): do not offer
	 * a sliver; keep the edge until it can move by min(buffer/2, MSS). */
	if (win < tp->rcv.limit / 2 && win < tp->t_rcvmss)
		win = 0;
	/* RFC 9293 3.8.6.2.2 / SHLD-14: never shrink the window offered. */
	if (SEQ_GT(tp->rcv_adv, tp->rcv_nxt) && win < tp->rcv_adv - tp->rcv_nxt)
		win = tp->rcv_adv - tp->rcv_nxt;
	return win;
}

void tcp_setpersist(struct tcpcb *tp)
{
	uint64_t t = tcp_rto_backoff(tp);

	if (t < TCP_PERSIST_MIN)
		t = TCP_PERSIST_MIN;
	if (t > TCP_PERSIST_MAX)
		t = TCP_PERSIST_MAX;
	timer_arm(&tp->st->timers, &tp->t_rexmt, stack_now(tp->st) + t);
	tp->t_flags |= TF_PERSIST;
}

/*
 * Nagle's algorithm (RFC 1122 4.2.3.4) as Minshall's variant, which Linux
 * uses (tcp_minshall_check): a short segment waits only while an earlier
 * short segment is unacknowledged, not while any data is. Classic Nagle
 * holds the short tail of every response bigger than one segment until
 * the peer's delayed ACK (40 ms on Linux) for its full segments: nginx's
 * "TCP_CORK on, writev, sendfile, TCP_CORK off" paid that on each request.
 * The RFC's aim, at most one small segment in flight, still holds.
 */
static bool nagle_ok(const struct tcpcb *tp)
{
	return (tp->t_flags & TF_NODELAY) || tp->snd_max == tp->snd_una ||
	       !SEQ_GT(tp->snd_sml, tp->snd_una);
}

/* May a short segment (or a super-frame's short tail) go now? Only with
 * the last byte we have (all), and then with a FIN, which never waits
 * (Linux pushes it with Nagle off), or when Nagle allows and not corked. */
static bool short_may_go(const struct tcpcb *tp, bool all, bool fin)
{
	return all && (fin || (nagle_ok(tp) && !(tp->t_flags & TF_CORK)));
}

/* May a segment with these flags go as a TSO super-frame? Only data past
 * the handshake to another host, without urgent data (whose pointer the
 * segments would have to repeat). */
static bool tcp_tso_ok(const struct tcpcb *tp, uint8_t flags)
{
	return (tp->st->offload & NETDEV_F_TSO) && !(flags & (TH_SYN | TH_RST)) &&
	       !tp->snd_urg && tp->so->raddr != tp->st->addr;
}

/* The options of a segment with these flags: on a SYN our MSS and what
 * we offer (or answer); on the others timestamps and our SACK blocks. */
static void xmit_options(struct tcpcb *tp, uint8_t flags, struct tcp_opts *o)
{
	if (flags & TH_SYN) {
		/* RFC 9293 3.7.1 (MUST-14): announce our MSS on the SYN. */
		o->has_mss = true;
		o->mss = tp->t_advmss;
		bool synack = flags & TH_ACK;
		/* RFC 7323 1.3 / 2.2: offer scaling and timestamps on a SYN,
		 * answer them on a SYN-ACK only when they were offered. */
		if ((tp->t_flags & TF_REQ_SCALE) && (!synack || (tp->t_flags & TF_RCVD_SCALE))) {
			o->has_wscale = true;
			o->wscale = tp->request_r_scale;
		}
		if ((tp->t_flags & TF_SACK_REQ) && (!synack || (tp->t_flags & TF_SACK_PERMIT)))
			o->sack_permitted = true;
		if ((tp->t_flags & TF_REQ_TSTMP) && (!synack || (tp->t_flags & TF_RCVD_TSTMP))) {
			o->has_ts = true;
			o->ts_val = tcp_ts_now(tp);
			o->ts_ecr = synack ? tp->ts_recent : 0;
		}
	} else {
		if ((tp->t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) ==
		    (TF_REQ_TSTMP | TF_RCVD_TSTMP)) {
			o->has_ts = true;
			o->ts_val = tcp_ts_now(tp);
			o->ts_ecr = tp->ts_recent;
		}
		if ((tp->t_flags & TF_SACK_PERMIT) && tp->reass && (flags & TH_ACK))
			tcp_sack_fill(tp, o);
	}
}

/* Build and send one segment at seq with len bytes from the send ring and
 * the given flags. Returns the payload bytes actually sent (options may
 * leave room for fewer than len) or -errno. */
static int tcp_xmit(struct tcpcb *tp, tcp_seq seq, uint32_t len, uint8_t flags)
{
	struct stack *st = tp->st;
	struct mtcp_sock *s = tp->so;
	struct tcp_repr r = { .sport = s->lport, .dport = s->rport, .seq = seq,
			      .flags = flags };
	uint32_t win;

	xmit_options(tp, flags, &r.opt);
	size_t optlen = tcp_opts_len(&r.opt);
	/* Options count against the MSS (RFC 9293 3.7.1, MUST-16). */
	uint32_t room = tp->t_maxopd > optlen ? tp->t_maxopd - (uint32_t)optlen : 1;
	uint16_t gso = 0;
	if (len > room && len > tp->t_maxseg && tcp_tso_ok(tp, flags)) {
		/* A super-frame the device cuts into segments of room bytes
		 * (RFC 9293 3.7.1 still holds for each segment on the wire);
		 * each carries these headers and options, and only the last
		 * keeps PSH and FIN (Linux's tcp_gso_segment). */
		gso = (uint16_t)room;   /* tcp_output kept len within tso_max */
	} else if (len > room) {
		len = room;
		flags &= (uint8_t)~TH_FIN;      /* the FIN goes after the last byte */
		r.flags = flags;
	}
	if (len && (tp->t_flags & TF_CORK) == 0 && seq + len == tp->snd_una + tp->snd.len)
		r.flags |= TH_PSH;      /* the last byte we have: push it */
	/* Urgent mode (RFC 9293 3.8.5, MUST-62): the pointer is the offset of
	 * the octet after the urgent data, on every segment before it (as
	 * Linux: 0xffff while it is too far to say). */
	if (tp->snd_urg && SEQ_LT(seq, tp->snd_up) && !(flags & TH_SYN)) {
		r.flags |= TH_URG;
		r.urp = tp->snd_up - seq < 0x10000 ? (uint16_t)(tp->snd_up - seq) : 0xffff;
	}

	/* The window: unscaled on SYN segments (RFC 7323 2.2). */
	win = tcp_rcv_window(tp);
	if (flags & TH_SYN)
		r.win = (uint16_t)(win > 65535 ? 65535 : win);
	else
		r.win = scaled_window(tp, win);
	if (flags & TH_ACK)
		r.ack = tp->rcv_nxt;

	size_t hlen = tcp_header_len(&r);
	struct pbuf *p = pbuf_alloc(hlen + len);
	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return -ENOBUFS;
	}
	uint8_t *h = pbuf_put(p, hlen + len);
	if (len)
		ring_peek(&tp->snd, seq - tp->snd_una, h + hlen, len);
	if ((st->offload & NETDEV_F_TXCSUM) && s->raddr != st->addr) {
		/* Checksum offload: the device finishes what the pseudo-header
		 * starts (never on loopback, which parses it here). */
		tcp_emit_partial(&r, h, len, s->laddr, s->raddr);
		p->l4_pos = (uint16_t)pbuf_headroom(p);
		p->csum_offset = 16;
		p->payload_pos = (uint16_t)(p->l4_pos + hlen);
		if (gso) {
			p->gso_size = gso;
			st->stats.tcp_tx_tso++;
		}
	} else {
		tcp_emit(&r, h, len, s->laddr, s->raddr);
	}

	/* What the peer now knows of us. */
	if (flags & TH_ACK) {
		tp->last_ack_sent = tp->rcv_nxt;
		uint32_t adv = (flags & TH_SYN) ? r.win : (uint32_t)r.win << tp->rcv_scale;
		if (SEQ_GT(tp->rcv_nxt + adv, tp->rcv_adv))
			tp->rcv_adv = tp->rcv_nxt + adv;
		tp->t_flags &= ~(TF_ACKNOW | TF_DELACK);
		timer_cancel(&st->timers, &tp->t_delack);
	}
	tp->t_last_send = stack_now(st);
	st->stats.tcp_tx++;
	struct ipv4_tx tx = { .ttl = s->ttl, .tos = s->tos, .df = true };
	int rc = ipv4_output(st, p, IPPROTO_TCP_, s->laddr, s->raddr, &tx);
	/* A segment waiting for (or lost to) ARP is in the network as far
	 * as TCP is concerned: retransmission covers it. */
	if (rc < 0 && rc != -EHOSTUNREACH)
		return rc;
	return (int)len;
}

/* The sequence number of a pure ACK: snd_max, but never past the
 * peer's window, where it would not be acceptable (a zero window
 * accepts only RCV.NXT: Linux's tcp_acceptable_seq). */
static tcp_seq ack_seq(const struct tcpcb *tp)
{
	tcp_seq wnd_end = tp->snd_una + tp->snd_wnd;

	return SEQ_GT(tp->snd_max, wnd_end) ? wnd_end : tp->snd_max;
}

/* After a segment with sequence space went out: bookkeeping shared by the
 * paths that send new data and those that retransmit. */
static void sent_seq_space(struct tcpcb *tp, tcp_seq start, tcp_seq end, bool rexmit)
{
	struct stack *st = tp->st;

	if (rexmit)
		st->stats.tcp_retrans_segs++;
	if (!tp->t_rexmt_start)
		tp->t_rexmt_start = stack_now(st);      /* TCP_USER_TIMEOUT counts from here */
	if (SEQ_GT(end, tp->snd_max)) {
		tp->snd_max = end;
		/* RTT timing, one segment at a time and never a retransmitted
		 * one (Karn, RFC 6298 3); timestamps replace it when on. */
		if (!tp->t_rtttime && !rexmit) {
			tp->t_rtttime = stack_now(st);
			tp->t_rtseq = start;
		}
	}
	/* RFC 6298 5.1: start the timer when data goes out and it is not
	 * running (a persist timer gives way to it). */
	if (!timer_armed(&tp->t_rexmt) || (tp->t_flags & TF_PERSIST)) {
		if (!(tp->t_flags & TF_FORCE) || SEQ_GT(end, tp->snd_una + 1) || tp->snd_wnd)
			tcp_rexmt_arm_or_probe(tp);
	}
}

/* Retransmit one segment at seq (up to len bytes, at most one MSS). */
static int rexmit_one(struct tcpcb *tp, tcp_seq seq, uint32_t len)
{
	uint32_t data_end = tp->snd_una + tp->snd.len;
	uint8_t flags = TH_ACK;

	if (len > tp->t_maxseg)
		len = tp->t_maxseg;
	if (SEQ_GT(seq + len, data_end))
		len = SEQ_GT(data_end, seq) ? data_end - seq : 0;
	/* Never into a closed window (RFC 9293 3.8.6: only within
	 * SND.UNA + SND.WND). */
	tcp_seq wnd_end = tp->snd_una + tp->snd_wnd;
	if (SEQ_GT(seq + len, wnd_end))
		len = SEQ_GT(wnd_end, seq) ? wnd_end - seq : 0;
	/* The FIN sits after the last byte. */
	if ((tp->t_flags & TF_SENTFIN) && seq + len == data_end && SEQ_GT(tp->snd_max, data_end))
		flags |= TH_FIN;
	if (!len && !(flags & TH_FIN))
		return 0;
	int n = tcp_xmit(tp, seq, len, flags);
	if (n < 0)
		return n;
	tcp_seq end = seq + (uint32_t)n + ((flags & TH_FIN) && (uint32_t)n == len ? 1 : 0);
	sent_seq_space(tp, seq, end, true);
	if (SEQ_GT(end, tp->snd_nxt))
		tp->snd_nxt = end;
	return n;
}

/* Loss recovery first: the segment at snd_una (fast retransmit, NewReno
 * partial ACK), then with SACK every hole the pipe allows. 0 or -errno. */
static int output_recovery(struct tcpcb *tp)
{
	int rc = 0;

	if (tp->t_flags & TF_REXMT_HEAD) {
		tp->t_flags &= ~TF_REXMT_HEAD;
		uint32_t run = tp->t_maxseg;
		if (tp->t_flags & TF_SACK_PERMIT)
			tcp_sack_is_sacked(tp, tp->snd_una, &run);
		if ((rc = rexmit_one(tp, tp->snd_una, run)) < 0)
			return rc;
		tp->rexmit_mark = tp->snd_max;
		if (SEQ_LT(tp->sack_rexmit, tp->snd_una + (uint32_t)rc))
			tp->sack_rexmit = tp->snd_una + (uint32_t)rc;
		tp->t_rtttime = 0;      /* Karn */
	}
	if ((tp->t_flags & (TF_FASTRECOVERY | TF_SACK_PERMIT)) ==
	    (TF_FASTRECOVERY | TF_SACK_PERMIT)) {
		tcp_seq hs;
		uint32_t hl;
		/* Each hole resent adds exactly its bytes to the pipe: what
		 * lies between the old sack_rexmit and the hole is SACKed. */
		uint32_t pipe = tcp_sack_pipe(tp);
		while (pipe + tp->t_maxseg <= tp->snd_cwnd && tcp_sack_next_hole(tp, &hs, &hl)) {
			if ((rc = rexmit_one(tp, hs, hl)) <= 0)
				break;
			pipe += (uint32_t)rc;
			tp->sack_rexmit = hs + (uint32_t)rc;
			tp->rexmit_mark = tp->snd_max;
			tp->st->stats.tcp_sack_rexmits++;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* What tcp_output decided the next segment carries. */
struct tcp_outseg {
	uint8_t flags;
	uint32_t off;           /* where it starts: snd_nxt - snd_una */
	uint32_t data;          /* bytes it may take from (none before ESTABLISHED) */
	uint32_t len;           /* payload bytes */
	bool sendalot;          /* more may go after it */
};

/* The window new data may use: the peer's, within cwnd - or within what
 * the pipe leaves in SACK recovery, or cwnd plus RFC 3042's limited
 * transmit. One byte for a persist probe into a zero window (RFC 9293
 * 3.8.6.1). */
static uint32_t send_window(const struct tcpcb *tp)
{
	uint32_t win = tp->snd_wnd;
	uint32_t cwnd = tp->snd_cwnd;

	if (TCPS_HAVEESTABLISHED(tp->t_state)) {
		if ((tp->t_flags & (TF_FASTRECOVERY | TF_SACK_PERMIT)) ==
		    (TF_FASTRECOVERY | TF_SACK_PERMIT)) {
			/* New data only as far as the pipe allows. */
			uint32_t pipe = tcp_sack_pipe(tp);
			cwnd = tp->snd_cwnd > pipe ? tcp_flight_size(tp) +
				(tp->snd_cwnd - pipe) : tcp_flight_size(tp);
		} else if (!(tp->t_flags & TF_FASTRECOVERY) && tp->t_dupacks &&
			   tp->t_dupacks < 3) {
			/* RFC 3042 limited transmit */
			cwnd += tp->t_dupacks * tp->t_maxseg;
		}
	}
	if (cwnd < win)
		win = cwnd;
	if ((tp->t_flags & TF_FORCE) && win == 0)
		win = 1;
	return win;
}

/* Sending on after a retransmission timeout: skip what the peer has told
 * us it holds. */
static void skip_sacked(struct tcpcb *tp)
{
	uint32_t run;

	if (!(tp->t_flags & TF_SACK_PERMIT))
		return;
	while (SEQ_LT(tp->snd_nxt, tp->snd_max) && tcp_sack_is_sacked(tp, tp->snd_nxt, &run))
		tp->snd_nxt += run;
}

/* How much of the data the segment takes within win: at most one MSS, or
 * as much as the device takes at once with TSO. */
static void output_len(struct tcpcb *tp, struct tcp_outseg *os, uint32_t win)
{
	struct stack *st = tp->st;
	int64_t len = (int64_t)(os->data < win ? os->data : win) - (int64_t)os->off;

	if (len < 0) {
		/* The window shrank below what we sent: go back and wait
		 * (RFC 9293 3.8.6.2.1 allows the peer to). */
		len = 0;
		if (win == 0 && !(os->flags & TH_SYN)) {
			tcp_rexmt_stop(tp);
			tp->t_rxtshift = tp->t_backoff = 0;
			tp->snd_nxt = tp->snd_una;
			os->off = 0;
		}
	}
	if (len > tp->t_maxseg && tcp_tso_ok(tp, os->flags)) {
		/* TSO: as many segments as the device takes at once. A short
		 * tail goes with them only when Nagle would send it on its
		 * own (Linux's tcp_mss_split_point). */
		uint32_t tail = (uint32_t)len % tp->t_maxseg;
		bool all = os->off + (uint32_t)len >= os->data;
		if (len > st->tso_max) {
			len = st->tso_max - st->tso_max % tp->t_maxseg;
			os->sendalot = true;
		} else if (tail && !short_may_go(tp, all, os->flags & TH_FIN)) {
			len -= tail;
			os->sendalot = true;
		}
	} else if (len > tp->t_maxseg) {
		len = tp->t_maxseg;
		os->sendalot = true;
	}
	os->len = (uint32_t)len;
}

/* A window update (RFC 1122 4.2.3.3, RFC 9293 3.8.6.2.2): once the edge
 * can move by two segments or half the buffer. */
static bool window_update_due(struct tcpcb *tp)
{
	if (!TCPS_HAVEESTABLISHED(tp->t_state) || TCPS_HAVERCVDFIN(tp->t_state))
		return false;
	uint32_t w = tcp_rcv_space(tp);
	if (w > max_window(tp))
		w = max_window(tp);
	uint32_t adv_now = SEQ_GT(tp->rcv_adv, tp->rcv_nxt) ? tp->rcv_adv - tp->rcv_nxt : 0;
	if (w <= adv_now)
		return false;
	uint32_t inc = w - adv_now;
	return inc >= 2u * tp->t_rcvmss || 2 * inc >= tp->rcv.limit;
}

/* Does the segment output_len sized go now? */
static bool send_now(struct tcpcb *tp, const struct tcp_outseg *os)
{
	if (os->len) {
		bool all = os->off + os->len >= os->data;
		if (os->len >= tp->t_maxseg)
			return true;
		/* Nagle (RFC 1122 4.2.3.4, RFC 896): a short segment only
		 * when no other short one is in flight or with TCP_NODELAY;
		 * never while corked unless closing. */
		if (short_may_go(tp, all, os->flags & TH_FIN))
			return true;
		if (tp->t_flags & TF_FORCE)
			return true;
		/* Sender SWS avoidance (RFC 9293 3.8.6.2.1, RFC 1122
		 * 4.2.3.4): at least half the largest window the peer ever
		 * offered. */
		if (tp->max_sndwnd && os->len >= tp->max_sndwnd / 2)
			return true;
		if (SEQ_LT(tp->snd_nxt, tp->snd_max))
			return true;
	}
	if (window_update_due(tp))
		return true;
	if (tp->t_flags & TF_ACKNOW)
		return true;
	return (os->flags & (TH_SYN | TH_RST | TH_FIN)) != 0;
}

/* The decision, before the BSDs' "send:": what the next segment carries
 * (SYN, data within the window, FIN) and whether it goes at all. When it
 * does not, data left waiting has the persist timer watch over it. */
static bool output_decide(struct tcpcb *tp, struct tcp_outseg *os)
{
	os->flags = outflags[tp->t_state];
	os->data = TCPS_HAVEESTABLISHED(tp->t_state) ? tp->snd.len : 0;
	os->sendalot = false;

	uint32_t win = send_window(tp);
	skip_sacked(tp);
	os->off = tp->snd_nxt - tp->snd_una;
	/* The SYN: only at iss, and never with data. */
	if (os->flags & TH_SYN) {
		if (tp->snd_nxt != tp->iss)
			os->flags &= (uint8_t)~TH_SYN;
		os->off = 0;
	}
	output_len(tp, os, win);
	/* The FIN goes with (or after) the last byte, once. */
	bool fin_due = (os->flags & TH_FIN) && os->off + os->len == os->data &&
		       (!(tp->t_flags & TF_SENTFIN) || tp->snd_nxt == tp->snd_una + os->data);
	if (!fin_due)
		os->flags &= (uint8_t)~TH_FIN;

	if (send_now(tp, os))
		return true;
	/* Data waits on a closed window: make sure someone will probe it
	 * (RFC 9293 3.8.6.1, MUST-35). The same for data held back by a
	 * small window (sender SWS avoidance): the persist timer is the
	 * override timeout of RFC 1122 4.2.3.4 / RFC 9293 3.8.6.2.1, so a
	 * lost window update cannot stall us (the BSDs). */
	if (os->data > os->off && !timer_armed(&tp->t_rexmt)) {
		tp->t_rxtshift = tp->t_backoff = 0;
		tcp_setpersist(tp);
	}
	return false;
}

/* The BSDs' "send:": build and emit the segment decided on (tcp_xmit)
 * and account for the sequence space it took. 0 or -errno. */
static int output_send(struct tcpcb *tp, struct tcp_outseg *os)
{
	/* Pure ACKs carry snd_max (the BSDs' choice): during a go-back-N,
	 * or with snd_nxt pulled back by a closed window, they must not
	 * look like old data to the peer. */
	bool seqspace = os->len || (os->flags & (TH_SYN | TH_FIN));
	tcp_seq seq = seqspace ? tp->snd_nxt : ack_seq(tp);
	bool rexmit = SEQ_LT(seq, tp->snd_max) && seqspace;
	int n = tcp_xmit(tp, seq, os->len, os->flags);
	if (n < 0)
		return n;
	if ((uint32_t)n < os->len) {
		/* Options took room: more remains (and the FIN waits). */
		os->sendalot = true;
		os->flags &= (uint8_t)~TH_FIN;
	}
	/* Minshall: remember where the latest short segment ends (a
	 * super-frame's last segment counts). */
	if (n && (uint32_t)n % tp->t_maxseg)
		tp->snd_sml = seq + (uint32_t)n;
	if (n || (os->flags & (TH_SYN | TH_FIN))) {
		tcp_seq end = seq + (uint32_t)n;
		if (os->flags & TH_SYN)
			end++;
		if (os->flags & TH_FIN) {
			end++;
			tp->t_flags |= TF_SENTFIN;
		}
		/* A window probe resends the same byte each time (the BSDs):
		 * snd_max covers it, snd_nxt stays. */
		bool probe = (tp->t_flags & (TF_FORCE | TF_PERSIST)) ==
			     (TF_FORCE | TF_PERSIST) && tp->snd_wnd == 0;
		if (seq == tp->snd_nxt && !probe)
			tp->snd_nxt = end;
		sent_seq_space(tp, seq, end, rexmit);
	}
	return 0;
}

int tcp_output(struct tcpcb *tp)
{
	struct tcp_outseg os;
	int rc;

	if (tp->t_state == TCPS_CLOSED || tp->t_state == TCPS_LISTEN)
		return 0;

	tcp_cc_idle_restart(tp, stack_now(tp->st));
	if ((rc = output_recovery(tp)) < 0)
		return rc;

	tcp_seq max_before = tp->snd_max;
	do {
		if (!output_decide(tp, &os))
			break;
		if ((rc = output_send(tp, &os)) < 0)
			return rc;
	} while (os.sendalot);
	/* RFC 8985 7.2: the probe timeout restarts when new data went out,
	 * so it measures from the tail of the flight. */
	if (SEQ_GT(tp->snd_max, max_before) && tcp_tlp_eligible(tp))
		tcp_rexmt_arm_or_probe(tp);
	return 0;
}

void tcp_output_later(struct tcpcb *tp)
{
	if (tp->out_pending)
		return;
	tp->out_pending = true;
	tp->out_next = tp->st->tcp->out_head;
	tp->st->tcp->out_head = tp;
}

void tcp_output_cancel(struct tcpcb *tp)
{
	if (!tp->out_pending)
		return;
	for (struct tcpcb **pp = &tp->st->tcp->out_head; *pp; pp = &(*pp)->out_next) {
		if (*pp == tp) {
			*pp = tp->out_next;
			break;
		}
	}
	tp->out_pending = false;
	tp->out_next = NULL;
}

void tcp_output_flush(struct stack *st)
{
	while (st->tcp->out_head) {
		struct tcpcb *tp = st->tcp->out_head;
		st->tcp->out_head = tp->out_next;
		tp->out_next = NULL;
		tp->out_pending = false;
		tcp_output(tp);
	}
}

void tcp_send_probe(struct tcpcb *tp)
{
	uint32_t unsent = tp->snd.len - (tp->snd_max - tp->snd_una);

	if (tp->snd_nxt == tp->snd_max && unsent &&
	    tp->snd_max - tp->snd_una + tp->t_maxseg <= tp->snd_wnd) {
		/* New data, past cwnd and Nagle: one segment. */
		uint32_t cwnd = tp->snd_cwnd, flags = tp->t_flags;
		tp->snd_cwnd = tp->snd_max - tp->snd_una + tp->t_maxseg;
		tp->t_flags = (tp->t_flags | TF_NODELAY) & ~TF_CORK;
		tcp_output(tp);
		tp->snd_cwnd = cwnd;
		tp->t_flags = (tp->t_flags & ~(TF_NODELAY | TF_CORK)) |
			      (flags & (TF_NODELAY | TF_CORK));
		return;
	}
	uint32_t len = tp->snd_max - tp->snd_una;
	if (len > tp->t_maxseg)
		len = tp->t_maxseg;
	/* Resend the last segment (a FIN after the data goes with it). */
	uint32_t data_end = tp->snd_una + tp->snd.len;
	tcp_seq start = SEQ_GT(tp->snd_max, data_end) ? data_end - len + 1 : tp->snd_max - len;
	if (SEQ_LT(start, tp->snd_una))
		start = tp->snd_una;
	rexmit_one(tp, start, len);
}

void tcp_respond(struct stack *st, const struct tcpcb *tp, uint32_t laddr, uint32_t raddr,
		 uint16_t lport, uint16_t rport, tcp_seq seq, tcp_seq ack, uint8_t flags)
{
	struct tcp_repr r = { .sport = lport, .dport = rport, .seq = seq, .ack = ack,
			      .flags = flags };

	if (tp && !(flags & TH_RST)) {
		uint32_t win = tcp_rcv_space(tp);
		if (win > max_window(tp))
			win = max_window(tp);
		r.win = scaled_window(tp, win);
	}
	if (tp && (tp->t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) ==
		  (TF_REQ_TSTMP | TF_RCVD_TSTMP)) {
		r.opt.has_ts = true;
		r.opt.ts_val = tcp_ts_now(tp);
		r.opt.ts_ecr = tp->ts_recent;
	}
	size_t hlen = tcp_header_len(&r);
	struct pbuf *p = pbuf_alloc(hlen);
	if (!p) {
		stack_drop(st, DROP_NOMEM);
		return;
	}
	tcp_emit(&r, pbuf_put(p, hlen), 0, laddr, raddr);
	st->stats.tcp_tx++;
	if (flags & TH_RST)
		st->stats.tcp_out_rsts++;
	struct ipv4_tx tx = { .ttl = tp ? tp->so->ttl : 0, .tos = tp ? tp->so->tos : 0,
			      .df = true };
	ipv4_output(st, p, IPPROTO_TCP_, laddr, raddr, &tx);
}

/* RFC 5961 7: at most TCP_CHALLENGE_PER_SEC challenge ACKs a second,
 * stack-wide (Linux's net.ipv4.tcp_challenge_ack_limit). */
void tcp_send_challenge_ack(struct tcpcb *tp)
{
	struct stack *st = tp->st;
	uint64_t now = stack_now(st);

	if (now - st->tcp->challenge_stamp >= USEC_PER_SEC) {
		st->tcp->challenge_stamp = now;
		st->tcp->challenge_count = 0;
	}
	if (st->tcp->challenge_count >= TCP_CHALLENGE_PER_SEC) {
		stack_drop(st, DROP_TCP_CHALLENGE_LIMIT);
		return;
	}
	st->tcp->challenge_count++;
	st->stats.tcp_challenge_acks++;
	tcp_respond(st, tp, tp->so->laddr, tp->so->raddr, tp->so->lport, tp->so->rport,
		    tp->snd_nxt, tp->rcv_nxt, TH_ACK);
}
