/*
 * tcp_sack.c - selective acknowledgment (RFC 2018). The sender's
 * scoreboard: the blocks the peer reported above snd_una, sorted and
 * merged, so that recovery (tcp_cc.c, tcp_output.c) can find the holes
 * and resend each in one round trip, and the pipe it may fill (a
 * conservative FACK-style form of RFC 6675: holes below the highest
 * SACKed byte are taken as lost). The receiver's side: the blocks we
 * report of our reassembly queue (RFC 2018 4).
 */
#include <string.h>

#include "tcp_sack.h"

/* ---- The sender's scoreboard ---------------------------------------------- */

uint32_t tcp_sack_bytes(const struct tcpcb *tp)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < tp->nsackblk; i++)
		n += tp->sackblk[i].right - tp->sackblk[i].left;
	return n;
}

void tcp_sack_clean(struct tcpcb *tp)
{
	tp->nsackblk = 0;
}

/* Drop what snd_una has passed. */
static void sack_trim(struct tcpcb *tp)
{
	unsigned j = 0;

	for (unsigned i = 0; i < tp->nsackblk; i++) {
		struct tcp_sack_block b = tp->sackblk[i];
		if (SEQ_LEQ(b.right, tp->snd_una))
			continue;
		if (SEQ_LT(b.left, tp->snd_una))
			b.left = tp->snd_una;
		tp->sackblk[j++] = b;
	}
	tp->nsackblk = j;
}

static void sack_add(struct tcpcb *tp, tcp_seq left, tcp_seq right)
{
	/* Merge with every block it touches, keep the list sorted. */
	unsigned i = 0;

	while (i < tp->nsackblk) {
		struct tcp_sack_block *b = &tp->sackblk[i];
		if (SEQ_LT(right, b->left) || SEQ_GT(left, b->right)) {
			i++;
			continue;
		}
		left = SEQ_MIN(left, b->left);
		right = SEQ_MAX(right, b->right);
		for (unsigned k = i + 1; k < tp->nsackblk; k++)
			tp->sackblk[k - 1] = tp->sackblk[k];
		tp->nsackblk--;
	}
	unsigned pos = 0;
	while (pos < tp->nsackblk && SEQ_LT(tp->sackblk[pos].left, left))
		pos++;
	if (tp->nsackblk == TCP_SACK_HOLES) {
		/* Full: the highest block goes (it is the least urgent). */
		if (pos == TCP_SACK_HOLES)
			return;
		tp->nsackblk--;
	}
	for (unsigned k = tp->nsackblk; k > pos; k--)
		tp->sackblk[k] = tp->sackblk[k - 1];
	tp->sackblk[pos].left = left;
	tp->sackblk[pos].right = right;
	tp->nsackblk++;
}

void tcp_sack_update(struct tcpcb *tp, const struct tcp_opts *o)
{
	sack_trim(tp);
	if (!(tp->t_flags & TF_SACK_PERMIT))
		return;
	for (unsigned i = 0; i < o->nsack; i++) {
		tcp_seq l = o->sack[i].left, r = o->sack[i].right;
		/* Only blocks inside what is outstanding mean anything
		 * (a D-SACK below snd_una, RFC 2883, is ignored). */
		if (!SEQ_LT(l, r) || SEQ_LEQ(r, tp->snd_una) || SEQ_GT(r, tp->snd_max))
			continue;
		if (SEQ_LT(l, tp->snd_una))
			l = tp->snd_una;
		sack_add(tp, l, r);
	}
}

bool tcp_sack_is_sacked(const struct tcpcb *tp, tcp_seq seq, uint32_t *run)
{
	for (unsigned i = 0; i < tp->nsackblk; i++) {
		const struct tcp_sack_block *b = &tp->sackblk[i];
		if (SEQ_GEQ(seq, b->left) && SEQ_LT(seq, b->right)) {
			*run = b->right - seq;
			return true;
		}
		if (SEQ_LT(seq, b->left)) {
			*run = b->left - seq;   /* bytes until the next SACKed block */
			return false;
		}
	}
	*run = UINT32_MAX;
	return false;
}

bool tcp_sack_next_hole(struct tcpcb *tp, tcp_seq *seq, uint32_t *len)
{
	tcp_seq s = SEQ_MAX(tp->sack_rexmit, tp->snd_una);

	if (!tp->nsackblk)
		return false;
	tcp_seq fack = tp->sackblk[tp->nsackblk - 1].right;
	while (SEQ_LT(s, fack)) {
		uint32_t run;
		if (tcp_sack_is_sacked(tp, s, &run)) {
			s += run;
			continue;
		}
		*seq = s;
		*len = run;
		return true;
	}
	return false;
}

/* Bytes the network holds in recovery with SACK: above the highest SACKed
 * byte, plus holes below it already resent (FACK's estimate). */
uint32_t tcp_sack_pipe(const struct tcpcb *tp)
{
	if (!tp->nsackblk)
		return tcp_flight_size(tp);
	tcp_seq fack = tp->sackblk[tp->nsackblk - 1].right;
	uint32_t pipe = SEQ_GT(tp->snd_max, fack) ? tp->snd_max - fack : 0;
	tcp_seq resent_to = SEQ_MIN(SEQ_MAX(tp->sack_rexmit, tp->snd_una), fack);
	for (tcp_seq q = tp->snd_una; SEQ_LT(q, resent_to);) {
		uint32_t run;
		bool sacked = tcp_sack_is_sacked(tp, q, &run);
		if (run > resent_to - q)
			run = resent_to - q;
		if (!sacked)
			pipe += run;
		q += run;
	}
	return pipe;
}

/* ---- The receiver's blocks (RFC 2018 4) ------------------------------------ */

/* The next contiguous run of queued out-of-order data from *p (moved past
 * it); false at the end of the queue. */
static bool ooo_run(const struct pbuf **p, struct tcp_sack_block *out)
{
	const struct pbuf *q = *p;

	if (!q)
		return false;
	out->left = q->addr;
	out->right = q->addr + (uint32_t)q->len;
	for (q = q->next; q && q->addr == out->right; q = q->next)
		out->right = q->addr + (uint32_t)q->len;
	*p = q;
	return true;
}

/* The contiguous run of queued out-of-order data that holds seq. */
static bool ooo_block(const struct tcpcb *tp, tcp_seq seq, struct tcp_sack_block *out)
{
	const struct pbuf *p = tp->reass;

	while (ooo_run(&p, out))
		if (SEQ_LEQ(out->left, seq) && SEQ_LT(seq, out->right))
			return true;
	return false;
}

static void sack_add_unique(struct tcp_opts *o, const struct tcp_sack_block *b)
{
	for (unsigned i = 0; i < o->nsack; i++)
		if (o->sack[i].left == b->left)
			return;
	o->sack[o->nsack++] = *b;
}

/* Our SACK blocks (RFC 2018 4): the first holds the most recently
 * received out-of-order segment; then the blocks reported most recently
 * before (so each survives three ACKs); then the rest in sequence order. */
void tcp_sack_fill(struct tcpcb *tp, struct tcp_opts *o)
{
	struct tcp_sack_block b;

	o->nsack = 0;
	if (ooo_block(tp, tp->last_ooo_seq, &b))
		sack_add_unique(o, &b);
	for (unsigned i = 0; i < tp->nsack_hist && o->nsack < TCP_MAX_SACK; i++)
		if (ooo_block(tp, tp->sack_hist[i].left, &b))
			sack_add_unique(o, &b);
	for (const struct pbuf *p = tp->reass; o->nsack < TCP_MAX_SACK && ooo_run(&p, &b);)
		sack_add_unique(o, &b);
	memcpy(tp->sack_hist, o->sack, o->nsack * sizeof(o->sack[0]));
	tp->nsack_hist = o->nsack;
}
