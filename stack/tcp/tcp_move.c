/*
 * tcp_move.c - a socket's whole state serialized by one stack and rebuilt
 * by another (move.h): the processes on one address hand a connection
 * over, and the peer sees nothing but, at most, a round trip's pause.
 *
 * The record, one per socket (no pointer, host byte order: the two stacks
 * run on one machine):
 *
 *   struct move_rec   fixed layout, explicit widths, no implicit padding:
 *                     a magic, a version, its own size, the record's
 *                     total length and a checksum (FNV-1a over the whole
 *                     record with the field zero), then the socket's
 *                     fields and, for TCP, the control block's;
 *   TCP:  snd_len bytes   the send queue from snd_una (sent and unacked,
 *                         then unsent)
 *         rcv_len bytes   received in order, not yet read
 *         nooo x { u32 seq, u32 len, len bytes }   the out-of-order queue
 *   UDP:  ndgram x { u32 addr, u32 port, u32 len, len bytes }
 *                         the queued datagrams and their sources
 *   zeros to a multiple of 8 bytes (total_len).
 *
 * Time: a deadline travels as the microseconds it had left, a stamp as
 * the microseconds since it was taken (MOVE_NEVER for a stamp that was 0:
 * "none"), so the importer's clock need not be the exporter's. Our TSval
 * goes as the value it has now: the importer sets its offset so that its
 * TSvals go on from there (RFC 7323 5.4: they must not go backwards, or
 * the peer's PAWS drops what we send).
 *
 * The SACK scoreboard (RFC 2018) travels whole: eight blocks. RFC 2018 8
 * would let the importer forget it (a sender must not discard data the
 * peer SACKed until it is acknowledged, and resending SACKed data is
 * harmless), but carrying it costs 64 bytes and keeps recovery exact.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "move.h"
#include "tcp_var.h"

#define MOVE_MAGIC      0x564d434du     /* "MCMV" */
#define MOVE_VERSION    1
#define MOVE_NEVER      UINT64_MAX      /* a stamp that was 0 */
/* Sanity bounds for what a record may ask us to allocate. */
#define MOVE_RING_MAX   (64u << 20)
#define MOVE_DGRAM_MAX  65535u

/* sflags: the socket's booleans */
static const size_t sock_bools[] = {
	offsetof(struct mtcp_sock, bound), offsetof(struct mtcp_sock, connected),
	offsetof(struct mtcp_sock, closed), offsetof(struct mtcp_sock, connecting),
	offsetof(struct mtcp_sock, handshaken), offsetof(struct mtcp_sock, addr_locked),
	offsetof(struct mtcp_sock, port_locked), offsetof(struct mtcp_sock, broadcast),
	offsetof(struct mtcp_sock, reuseaddr), offsetof(struct mtcp_sock, reuseport),
	offsetof(struct mtcp_sock, keepalive), offsetof(struct mtcp_sock, oobinline),
	offsetof(struct mtcp_sock, linger), offsetof(struct mtcp_sock, shut_rd),
	offsetof(struct mtcp_sock, shut_wr),
};
#define NSOCK_BOOLS     (sizeof(sock_bools) / sizeof(sock_bools[0]))

/* tbools: the control block's */
#define MT_RTT_VALID    0x1u
#define MT_FIN_PENDING  0x2u
#define MT_SND_URG      0x4u

/* Timers, in the order of timers[] and the bits of move_rec.timers.
 * t_pass is a listener's: never moved. */
enum { MT_REXMT, MT_DELACK, MT_KEEP, MT_2MSL, MT_NTIMERS };

/* t_flags that belong to this stack, not to the connection. */
#define MOVE_TF_LOCAL   (TF_REFHELD | TF_WAITING_ACCEPT)

struct move_rec {
	/* the frame */
	uint32_t magic;
	uint16_t version;
	uint16_t hdr_len;               /* sizeof(struct move_rec) */
	uint32_t total_len;             /* with the variable parts and padding */
	uint32_t check;
	/* the socket */
	uint64_t linger_us, rcvtimeo, sndtimeo;
	uint32_t sflags;                /* bit i: *sock_bools[i] */
	uint32_t laddr, raddr;
	int32_t so_error, rcvlowat, rcvbuf, sndbuf;
	uint16_t lport, rport;
	uint8_t type, ttl, tos, urg_state;
	/* the control block */
	uint64_t srtt, rttvar, rto, user_timeout;
	uint64_t timer_left[MT_NTIMERS];        /* µs left, when armed */
	/* µs ago (MOVE_NEVER: the stamp was 0) */
	uint64_t last_send_ago, rtttime_ago, rexmt_start_ago, ts_recent_ago;
	uint64_t rcvtime_ago, rcvq_stamp_ago, last_oow_ack_ago;
	uint32_t state, t_flags, tbools, timers;
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_sml, snd_wl1, snd_wl2;
	uint32_t snd_wnd, max_sndwnd;
	uint32_t irs, rcv_nxt, rcv_adv, rcv_wnd;
	uint32_t snd_cwnd, snd_ssthresh, bytes_acked, snd_recover, dupacks;
	uint32_t nsackblk, sack_rexmit, rexmit_mark;
	struct tcp_sack_block sackblk[TCP_SACK_HOLES];
	uint32_t rxtshift, backoff, rtseq, probes;
	uint32_t tsval, ts_recent, last_ack_sent;
	uint32_t keepidle, keepintvl, keepcnt;
	uint32_t snd_limit, rcv_limit;
	uint32_t last_ooo_seq, nsack_hist;
	struct tcp_sack_block sack_hist[TCP_MAX_SACK];
	uint32_t fin_seq, quickack, rcvq_copied;
	uint32_t snd_up, urg_seq;
	int32_t softerror;
	uint16_t t_maxseg, t_peermss, t_advmss, t_rcvmss, t_maxopd, user_mss;
	uint8_t snd_scale, rcv_scale, request_r_scale, urg_byte;
	/* the variable parts */
	uint32_t snd_len, rcv_len, nooo, ndgram;
};

/* The socket's, with the same names. */
#define MOVE_SOCK_PLAIN(X) \
	X(laddr) X(raddr) X(lport) X(rport) X(so_error) X(rcvlowat) X(rcvbuf) \
	X(sndbuf) X(linger_us) X(rcvtimeo) X(sndtimeo) X(ttl) X(tos)

/* The control block's fields that travel as they are: X(record, tcpcb). */
#define MOVE_TCP_PLAIN(X) \
	X(iss, iss) X(snd_una, snd_una) X(snd_nxt, snd_nxt) X(snd_max, snd_max) \
	X(snd_sml, snd_sml) X(snd_wl1, snd_wl1) X(snd_wl2, snd_wl2) \
	X(snd_wnd, snd_wnd) X(max_sndwnd, max_sndwnd) X(irs, irs) \
	X(rcv_nxt, rcv_nxt) X(rcv_adv, rcv_adv) X(rcv_wnd, rcv_wnd) \
	X(snd_scale, snd_scale) X(rcv_scale, rcv_scale) \
	X(request_r_scale, request_r_scale) X(t_maxseg, t_maxseg) \
	X(t_peermss, t_peermss) X(t_advmss, t_advmss) X(t_rcvmss, t_rcvmss) \
	X(t_maxopd, t_maxopd) X(snd_cwnd, snd_cwnd) \
	X(snd_ssthresh, snd_ssthresh) X(bytes_acked, t_bytes_acked) \
	X(snd_recover, snd_recover) X(dupacks, t_dupacks) X(nsackblk, nsackblk) \
	X(sack_rexmit, sack_rexmit) X(rexmit_mark, rexmit_mark) X(srtt, t_srtt) \
	X(rttvar, t_rttvar) X(rto, t_rto) X(rxtshift, t_rxtshift) \
	X(backoff, t_backoff) X(rtseq, t_rtseq) X(probes, t_probes) \
	X(ts_recent, ts_recent) X(last_ack_sent, last_ack_sent) \
	X(keepidle, keepidle) X(keepintvl, keepintvl) X(keepcnt, keepcnt) \
	X(user_timeout, user_timeout) X(user_mss, user_mss) \
	X(last_ooo_seq, last_ooo_seq) X(nsack_hist, nsack_hist) \
	X(fin_seq, fin_seq) X(quickack, t_quickack) X(rcvq_copied, rcvq_copied) \
	X(snd_up, snd_up) X(urg_seq, urg_seq) X(urg_byte, urg_byte) \
	X(softerror, t_softerror)

/* Stamps, as µs ago: X(record, tcpcb). */
#define MOVE_TCP_STAMPS(X) \
	X(last_send_ago, t_last_send) X(rtttime_ago, t_rtttime) \
	X(rexmt_start_ago, t_rexmt_start) X(ts_recent_ago, ts_recent_age) \
	X(rcvtime_ago, t_rcvtime) X(rcvq_stamp_ago, rcvq_stamp) \
	X(last_oow_ack_ago, t_last_oow_ack)

_Static_assert(sizeof(struct move_rec) % 8 == 0, "records stay aligned");

#define ALIGN8(n)       (((n) + 7u) & ~(size_t)7u)

/* ---- The buffer ------------------------------------------------------- */

void move_buf_free(struct move_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int move_buf_reserve(struct move_buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return 0;
	size_t ncap = b->cap ? b->cap : 4096;
	while (ncap - b->len < n)
		ncap *= 2;
	uint8_t *np = realloc(b->p, ncap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

/* FNV-1a (32 bits): catches a record damaged on its way (a flipped bit,
 * a stray write), not an attacker: records come from our own members. */
static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t rec_check(const uint8_t *rec, size_t len)
{
	static const uint8_t zero[4];
	size_t at = offsetof(struct move_rec, check);
	uint32_t h = fnv1a(2166136261u, rec, at);

	h = fnv1a(h, zero, sizeof(zero));
	return fnv1a(h, rec + at + 4, len - at - 4);
}

/* ---- Time ------------------------------------------------------------- */

static uint64_t ago(uint64_t now, uint64_t t)
{
	if (!t)
		return MOVE_NEVER;
	return now > t ? now - t : 0;
}

/* A stamp again, on this stack's clock; never 0 (that means "none"), so
 * one older than this clock's start is its start. */
static uint64_t stamp(uint64_t now, uint64_t ago_us)
{
	if (ago_us == MOVE_NEVER)
		return 0;
	return now > ago_us ? now - ago_us : 1;
}

/* ---- Export ----------------------------------------------------------- */

static struct timer *tcp_timer(struct tcpcb *tp, unsigned i)
{
	switch (i) {
	case MT_REXMT:  return &tp->t_rexmt;
	case MT_DELACK: return &tp->t_delack;
	case MT_KEEP:   return &tp->t_keep;
	default:        return &tp->t_2msl;
	}
}

void sock_state_copy(struct mtcp_sock *to, const struct mtcp_sock *from)
{
	for (unsigned i = 0; i < NSOCK_BOOLS; i++)
		*(bool *)((char *)to + sock_bools[i]) =
			*(const bool *)((const char *)from + sock_bools[i]);
#define COPY(f) to->f = from->f;
	MOVE_SOCK_PLAIN(COPY)
#undef COPY
}

static void put_sock(const struct mtcp_sock *s, struct move_rec *r)
{
	for (unsigned i = 0; i < NSOCK_BOOLS; i++)
		if (*(const bool *)((const char *)s + sock_bools[i]))
			r->sflags |= 1u << i;
#define PUT(f) r->f = s->f;
	MOVE_SOCK_PLAIN(PUT)
#undef PUT
	r->type = (uint8_t)s->type;
}

static void put_tcp(struct tcpcb *tp, struct move_rec *r)
{
	uint64_t now = stack_now(tp->st);

#define PUT(rf, tf) r->rf = tp->tf;
#define PUT_AGO(rf, tf) r->rf = ago(now, tp->tf);
	MOVE_TCP_PLAIN(PUT)
	MOVE_TCP_STAMPS(PUT_AGO)
#undef PUT
#undef PUT_AGO
	r->state = tp->t_state;
	r->t_flags = tp->t_flags & ~MOVE_TF_LOCAL;
	/* An ACK queued for the end of this batch (tcp_output_later) goes
	 * from the importer instead. */
	if (tp->out_pending)
		r->t_flags |= TF_ACKNOW;
	r->tbools = (tp->t_rtt_valid ? MT_RTT_VALID : 0) |
		    (tp->fin_pending ? MT_FIN_PENDING : 0) | (tp->snd_urg ? MT_SND_URG : 0);
	for (unsigned i = 0; i < MT_NTIMERS; i++) {
		struct timer *t = tcp_timer(tp, i);
		if (!timer_armed(t))
			continue;
		r->timers |= 1u << i;
		r->timer_left[i] = t->expires > now ? t->expires - now : 0;
	}
	memcpy(r->sackblk, tp->sackblk, sizeof(r->sackblk));
	r->tsval = tcp_ts_now(tp);
	r->snd_limit = tp->snd.limit;
	r->rcv_limit = tp->rcv.limit;
	memcpy(r->sack_hist, tp->sack_hist, sizeof(r->sack_hist));
	r->urg_state = (uint8_t)tp->urg_state;
	r->snd_len = tp->snd.len;
	r->rcv_len = tp->rcv.len;
	for (const struct pbuf *q = tp->reass; q; q = q->next)
		r->nooo++;
}

static size_t var_len(const struct mtcp_sock *s)
{
	size_t n = 0;

	if (s->type == SOCK_STREAM) {
		n = (size_t)s->tp->snd.len + s->tp->rcv.len;
		for (const struct pbuf *q = s->tp->reass; q; q = q->next)
			n += 8 + q->len;
	} else {
		for (const struct pbuf *q = s->rxq_head; q; q = q->next)
			n += 12 + q->len;
	}
	return n;
}

static uint8_t *put(uint8_t *at, const void *v, size_t n)
{
	memcpy(at, v, n);
	return at + n;
}

static uint8_t *put_ring(uint8_t *at, const struct tcp_ring *r)
{
	if (r->len)     /* an empty ring may have no buffer at all */
		ring_peek(r, 0, at, r->len);
	return at + r->len;
}

int sock_export(struct mtcp_sock *s, struct move_buf *b)
{
	struct tcpcb *tp = s->tp;
	struct move_rec r;

	if (s->type == SOCK_STREAM && (tp->t_state == TCPS_LISTEN || tp->t_listener))
		return -EOPNOTSUPP;
	size_t total = ALIGN8(sizeof(r) + var_len(s));
	if (total > UINT32_MAX)
		return -ENOMEM;
	if (move_buf_reserve(b, total) < 0)
		return -ENOMEM;
	memset(&r, 0, sizeof(r));
	r.magic = MOVE_MAGIC;
	r.version = MOVE_VERSION;
	r.hdr_len = sizeof(r);
	r.total_len = (uint32_t)total;
	put_sock(s, &r);
	if (tp)
		put_tcp(tp, &r);
	uint8_t *rec = b->p + b->len, *at = rec + sizeof(r);
	if (tp) {
		at = put_ring(at, &tp->snd);
		at = put_ring(at, &tp->rcv);
		for (const struct pbuf *q = tp->reass; q; q = q->next) {
			uint32_t h[2] = { q->addr, (uint32_t)q->len };
			at = put(at, h, sizeof(h));
			at = put(at, q->data, q->len);
		}
	} else {
		for (const struct pbuf *q = s->rxq_head; q; q = q->next) {
			uint32_t h[3] = { q->addr, q->port, (uint32_t)q->len };
			at = put(at, h, sizeof(h));
			at = put(at, q->data, q->len);
			r.ndgram++;
		}
	}
	memset(at, 0, (size_t)(rec + total - at));
	memcpy(rec, &r, sizeof(r));
	r.check = rec_check(rec, total);
	memcpy(rec + offsetof(struct move_rec, check), &r.check, sizeof(r.check));
	b->len += total;
	return 0;
}

/* ---- Import ----------------------------------------------------------- */

/* A reader over the variable parts: every take is bounds checked. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return at;
}

static bool take_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *at = take(c, 4);

	if (at)
		memcpy(v, at, 4);
	return at != NULL;
}

/* Is the TCP part sane? Only what would break an invariant of the stack
 * (a state it never is in, more blocks than the arrays hold, lengths the
 * queues cannot be); the rest is the exporter's word. */
static bool tcp_rec_ok(const struct move_rec *r)
{
	if (r->state == TCPS_LISTEN || r->state > TCPS_TIME_WAIT)
		return false;
	if (r->state != TCPS_CLOSED && (!r->lport || !r->rport || !r->raddr))
		return false;
	if (r->nsackblk > TCP_SACK_HOLES || r->nsack_hist > TCP_MAX_SACK ||
	    r->urg_state > URG_READ || r->snd_scale > TCP_MAX_WSCALE ||
	    r->rcv_scale > TCP_MAX_WSCALE || r->request_r_scale > TCP_MAX_WSCALE)
		return false;
	if (r->snd_len > MOVE_RING_MAX || r->rcv_len > MOVE_RING_MAX ||
	    r->nooo > TCP_REASS_MAX_SEGS || !r->t_maxseg || r->ndgram)
		return false;
	return !(r->timers >> MT_NTIMERS);
}

/* Check the record at p and walk its variable parts (c: where they
 * start, and their bytes). 0 or -EPROTO. */
static int rec_parse(const uint8_t *p, size_t len, struct move_rec *r, struct cursor *c)
{
	if (len < sizeof(*r))
		return -EPROTO;
	memcpy(r, p, sizeof(*r));
	if (r->magic != MOVE_MAGIC || r->version != MOVE_VERSION || r->hdr_len != sizeof(*r) ||
	    r->total_len < sizeof(*r) || r->total_len > len || r->total_len % 8 ||
	    rec_check(p, r->total_len) != r->check)
		return -EPROTO;
	if (r->type == SOCK_STREAM ? !tcp_rec_ok(r) : r->type != SOCK_DGRAM)
		return -EPROTO;
	if (r->sflags >> NSOCK_BOOLS)
		return -EPROTO;
	c->p = p + sizeof(*r);
	c->left = r->total_len - sizeof(*r);

	/* The variable parts must fill the record to its padding. */
	struct cursor w = *c;
	if (r->type == SOCK_STREAM) {
		uint32_t seq, n;
		tcp_seq end = r->rcv_nxt;
		if (!take(&w, r->snd_len) || !take(&w, r->rcv_len))
			return -EPROTO;
		/* Out-of-order segments: above rcv_nxt, sorted, apart. */
		for (uint32_t i = 0; i < r->nooo; i++) {
			if (!take_u32(&w, &seq) || !take_u32(&w, &n) || !n ||
			    n > MOVE_DGRAM_MAX || !SEQ_GEQ(seq, end) || !take(&w, n))
				return -EPROTO;
			end = seq + n;
		}
	} else {
		uint32_t v;
		for (uint32_t i = 0; i < r->ndgram; i++) {
			if (!take_u32(&w, &v) || !take_u32(&w, &v) || !take_u32(&w, &v) ||
			    v > MOVE_DGRAM_MAX || !take(&w, v))
				return -EPROTO;
		}
	}
	return w.left < 8 ? 0 : -EPROTO;
}

static void get_sock(struct mtcp_sock *s, const struct move_rec *r)
{
	for (unsigned i = 0; i < NSOCK_BOOLS; i++)
		*(bool *)((char *)s + sock_bools[i]) = (r->sflags >> i) & 1;
#define GET(f) s->f = r->f;
	MOVE_SOCK_PLAIN(GET)
#undef GET
}

static void get_tcp(struct tcpcb *tp, const struct move_rec *r)
{
	uint64_t now = stack_now(tp->st);

	/* The state itself is set once the control block is linked. */
#define GET(rf, tf) tp->tf = r->rf;
#define GET_STAMP(rf, tf) tp->tf = stamp(now, r->rf);
	MOVE_TCP_PLAIN(GET)
	MOVE_TCP_STAMPS(GET_STAMP)
#undef GET
#undef GET_STAMP
	tp->t_flags = r->t_flags & ~MOVE_TF_LOCAL;
	tp->t_rtt_valid = r->tbools & MT_RTT_VALID;
	tp->fin_pending = r->tbools & MT_FIN_PENDING;
	tp->snd_urg = r->tbools & MT_SND_URG;
	memcpy(tp->sackblk, r->sackblk, sizeof(tp->sackblk));
	/* RFC 7323 5.4: our TSvals go on from the exporter's. */
	tp->ts_offset = r->tsval - (uint32_t)(now / USEC_PER_MSEC);
	tp->snd.limit = r->snd_limit;
	tp->rcv.limit = r->rcv_limit;
	memcpy(tp->sack_hist, r->sack_hist, sizeof(tp->sack_hist));
	tp->urg_state = r->urg_state;
}

/* Fill ring r with n bytes at c, whatever its limit (the user may have
 * lowered SO_SNDBUF below what is queued, and the receive ring may hold a
 * little more than its limit: tcp_input.c rcv_store). */
static int get_ring(struct tcp_ring *r, struct cursor *c, uint32_t n)
{
	uint32_t limit = r->limit;
	const uint8_t *at = take(c, n);

	if (!n)
		return 0;
	if (r->limit < n)
		r->limit = n;
	uint32_t done = ring_write(r, at, n);
	r->limit = limit;
	return done == n ? 0 : -ENOMEM;
}

static int get_reass(struct tcpcb *tp, struct cursor *c, uint32_t nooo)
{
	struct pbuf **tail = &tp->reass;
	uint32_t seq = 0, n = 0;

	for (uint32_t i = 0; i < nooo; i++) {
		take_u32(c, &seq);
		take_u32(c, &n);
		struct pbuf *p = pbuf_alloc(n);
		if (!p)
			return -ENOMEM;
		memcpy(pbuf_put(p, n), take(c, n), n);
		p->addr = seq;
		*tail = p;
		tail = &p->next;
		tp->reass_count++;
		tp->reass_bytes += n;
	}
	return 0;
}

/* The port share, with fork()'s semantics: the exporter may hold the
 * port a moment longer. */
static int host_bind_inherited(struct mtcp_sock *s, uint8_t proto)
{
	s->host_inherit = true;
	int rc = sock_host_bind(s, proto, s->lport);
	s->host_inherit = false;
	return rc;
}

static int tcp_import(struct stack *st, const struct move_rec *r, struct cursor *c,
		      struct mtcp_sock **out)
{
	struct mtcp_sock *s;
	int rc;

	if (r->state != TCPS_CLOSED && tcp_lookup(st, r->laddr, r->lport, r->raddr, r->rport))
		return -EADDRINUSE;
	if ((rc = mtcp_socket_locked(st, SOCK_STREAM, &s)) < 0)
		return rc;
	struct tcpcb *tp = s->tp;
	get_sock(s, r);
	get_tcp(tp, r);
	if ((rc = get_ring(&tp->snd, c, r->snd_len)) < 0 ||
	    (rc = get_ring(&tp->rcv, c, r->rcv_len)) < 0 ||
	    (rc = get_reass(tp, c, r->nooo)) < 0)
		goto fail;
	uint64_t now = stack_now(st);
	for (unsigned i = 0; i < MT_NTIMERS; i++) {
		if ((r->timers >> i & 1) &&
		    (rc = timer_arm(&st->timers, tcp_timer(tp, i), now + r->timer_left[i])) < 0)
			goto fail;
	}
	if (s->bound) {
		if ((rc = host_bind_inherited(s, IPPROTO_TCP)) < 0)
			goto fail;
		tcp_bhash_insert(st, tp);
	}
	if (r->state != TCPS_CLOSED) {
		tcp_ehash_insert(st, tp);
		/* The exporter gave us the flows entry before it sent this. */
		s->host_flow = st->host != NULL;
		tcp_set_state(tp, (enum tcp_state)r->state);    /* TCP's reference */
		if (tp->t_flags & TF_ACKNOW)
			tcp_output(tp);
	}
	*out = s;
	return 0;
fail:
	sock_put_locked(s);     /* frees the control block, its queues and timers */
	return rc;
}

static int udp_import(struct stack *st, const struct move_rec *r, struct cursor *c,
		      struct mtcp_sock **out)
{
	struct mtcp_sock *s;
	uint32_t addr = 0, port = 0, n = 0;
	int rc;

	if ((rc = mtcp_socket_locked(st, SOCK_DGRAM, &s)) < 0)
		return rc;
	get_sock(s, r);
	for (uint32_t i = 0; i < r->ndgram; i++) {
		take_u32(c, &addr);
		take_u32(c, &port);
		take_u32(c, &n);
		struct pbuf *p = pbuf_alloc(n);
		if (!p) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(pbuf_put(p, n), take(c, n), n);
		p->addr = addr;
		p->port = (uint16_t)port;
		udp_enqueue(s, p);
	}
	if (s->bound) {
		if ((rc = host_bind_inherited(s, IPPROTO_UDP)) < 0)
			goto fail;
		udp_hash_in(s);
	}
	*out = s;
	return 0;
fail:
	s->bound = false;       /* not hashed yet */
	udp_close(s);           /* frees the queue */
	sock_put_locked(s);
	return rc;
}

int sock_import(struct stack *st, const uint8_t *p, size_t len, size_t *used,
		struct mtcp_sock **out)
{
	struct move_rec r;
	struct cursor c;
	int rc;

	if ((rc = rec_parse(p, len, &r, &c)) < 0) {
		log_info(tcp, "a moved socket's record is damaged or of another version (%zu "
			 "bytes): refused", len);
		return rc;
	}
	rc = r.type == SOCK_STREAM ? tcp_import(st, &r, &c, out) : udp_import(st, &r, &c, out);
	if (rc < 0)
		return rc;
	*used = r.total_len;
	st->stats.sock_moved_in++;
	return 0;
}

/* ---- The exporter's end ---------------------------------------------- */

void sock_moved_away(struct mtcp_sock *s, uint16_t to_member)
{
	struct stack *st = s->st;
	struct tcpcb *tp = s->tp;

	st->stats.sock_moved_out++;
	s->closed = true;
	if (!tp) {
		udp_close(s);
		return;
	}
	if (st->host && tp->in_ehash) {
		/* host_flow_give writes the entry whether there was one (a
		 * passive open's) or not (an active open, steered by its
		 * port): the new owner's either way. Then it is not ours to
		 * delete (ehash_remove). */
		host_flow_give(st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport, to_member);
		s->host_flow = false;
	}
	/* As an orphan, tcp_closed gives the port back whatever the user
	 * bound; it sends nothing, and drops TCP's reference. */
	tp->t_flags |= TF_ORPHAN;
	tcp_closed(tp);
}
