/*
 * tcp_subr.c - TCP control blocks: creation and end, the lookup tables,
 * port choice, the initial sequence number, state changes and listeners'
 * children.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/random.h>

#include "mtcp.h"
#include "tcp_var.h"

const char *const tcp_state_names[] = {
	"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT",
	"FIN-WAIT-1", "CLOSING", "LAST-ACK", "FIN-WAIT-2", "TIME-WAIT",
};

/* Linux's ip_local_port_range, as UDP uses (udp.c). */
#define EPHEMERAL_LO    32768
#define EPHEMERAL_HI    60999

/* ---- ISN (RFC 6528) ---------------------------------------------------- */

/* SipHash-2-4 (Aumasson and Bernstein) of a 12-byte 4-tuple. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do {                                   \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);       \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                          \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                          \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);       \
} while (0)

static uint64_t siphash_4tuple(const uint64_t key[2], uint64_t m0, uint64_t m1)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL;
	uint64_t v1 = key[1] ^ 0x646f72616e646f6dULL;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL;
	uint64_t v3 = key[1] ^ 0x7465646279746573ULL;
	uint64_t m[2] = { m0, m1 | (12ULL << 56) };     /* 12 bytes, length in the top byte */

	for (int i = 0; i < 2; i++) {
		v3 ^= m[i];
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a 4-microsecond timer, F a keyed hash: predictable to no one off the
 * path, and increasing for one 4-tuple (so TIME-WAIT reuse works). */
uint32_t tcp_new_isn(struct stack *st, uint32_t laddr, uint16_t lport,
		     uint32_t raddr, uint16_t rport)
{
	uint64_t m0 = (uint64_t)laddr << 32 | raddr;
	uint64_t m1 = (uint64_t)lport << 16 | rport;

	return (uint32_t)siphash_4tuple(st->tcp->isn_key, m0, m1) + (uint32_t)(stack_now(st) / 4);
}

/* The offset our timestamps carry on a connection: a keyed hash of the two
 * addresses (as Linux's secure_tcp_ts_off): nothing about the host's
 * clock leaks, yet successive connections to one peer see one monotonic
 * clock, so PAWS in the peer's TIME-WAIT accepts a new connection's SYN
 * (RFC 7323 5.8, RFC 6191). */
uint32_t tcp_ts_offset(struct stack *st, uint32_t laddr, uint32_t raddr)
{
	return (uint32_t)(siphash_4tuple(st->tcp->isn_key, (uint64_t)laddr << 32 | raddr,
					 0x7473u) >> 32);
}

/* ---- Tables ------------------------------------------------------------ */

static inline unsigned bhash(uint16_t lport)
{
	return lport & (TCP_BHASH - 1);
}

static inline unsigned ehash(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	uint32_t h = raddr ^ (laddr * 2654435761u) ^ ((uint32_t)lport << 16 | rport);
	h ^= h >> 15;
	h *= 0x2c1b3c6du;
	h ^= h >> 12;
	return h & (TCP_EHASH - 1);
}

void tcp_bhash_insert(struct stack *st, struct tcpcb *tp)
{
	unsigned h = bhash(tp->so->lport);

	tp->bnext = st->tcp->bhash[h];
	if (tp->bnext)
		tp->bnext->bpprev = &tp->bnext;
	tp->bpprev = &st->tcp->bhash[h];
	st->tcp->bhash[h] = tp;
	tp->in_bhash = true;
	tp->so->bound = true;
}

/* O(1): a busy server's port holds every connection it accepted,
 * TIME-WAIT ones included. */
static void bhash_remove(struct tcpcb *tp)
{
	if (!tp->in_bhash)
		return;
	sock_host_unbind(tp->so, IPPROTO_TCP);
	*tp->bpprev = tp->bnext;
	if (tp->bnext)
		tp->bnext->bpprev = tp->bpprev;
	tp->bnext = NULL;
	tp->bpprev = NULL;
	tp->in_bhash = false;
}

static void lhash_insert(struct stack *st, struct tcpcb *tp)
{
	unsigned h = bhash(tp->so->lport);

	if (tp->in_lhash)
		return;
	tp->lnext = st->tcp->lhash[h];
	st->tcp->lhash[h] = tp;
	tp->in_lhash = true;
}

static void lhash_remove(struct stack *st, struct tcpcb *tp)
{
	if (!tp->in_lhash)
		return;
	for (struct tcpcb **pp = &st->tcp->lhash[bhash(tp->so->lport)]; *pp; pp = &(*pp)->lnext) {
		if (*pp == tp) {
			*pp = tp->lnext;
			break;
		}
	}
	tp->lnext = NULL;
	tp->in_lhash = false;
}

void tcp_ehash_insert(struct stack *st, struct tcpcb *tp)
{
	struct mtcp_sock *s = tp->so;
	unsigned h = ehash(s->laddr, s->lport, s->raddr, s->rport);

	tp->enext = st->tcp->ehash[h];
	st->tcp->ehash[h] = tp;
	tp->in_ehash = true;
}

static void ehash_remove(struct stack *st, struct tcpcb *tp)
{
	struct mtcp_sock *s = tp->so;

	if (!tp->in_ehash)
		return;
	for (struct tcpcb **pp = &st->tcp->ehash[ehash(s->laddr, s->lport, s->raddr, s->rport)];
	     *pp; pp = &(*pp)->enext) {
		if (*pp == tp) {
			*pp = tp->enext;
			break;
		}
	}
	tp->enext = NULL;
	tp->in_ehash = false;
	if (s->host_flow) {
		host_flow_del(st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport);
		s->host_flow = false;
	}
}

struct tcpcb *tcp_lookup(struct stack *st, uint32_t laddr, uint16_t lport,
			 uint32_t raddr, uint16_t rport)
{
	for (struct tcpcb *tp = st->tcp->ehash[ehash(laddr, lport, raddr, rport)]; tp;
	     tp = tp->enext) {
		const struct mtcp_sock *s = tp->so;
		if (s->lport == lport && s->rport == rport && s->raddr == raddr &&
		    s->laddr == laddr)
			return tp;
	}
	return NULL;
}

/* A listener on lport: one bound to laddr beats a wildcard one. */
struct tcpcb *tcp_lookup_listener(struct stack *st, uint32_t laddr, uint16_t lport)
{
	struct tcpcb *wild = NULL;

	for (struct tcpcb *tp = st->tcp->lhash[bhash(lport)]; tp; tp = tp->lnext) {
		if (tp->t_state != TCPS_LISTEN || tp->so->lport != lport)
			continue;
		if (tp->so->laddr == laddr)
			return tp;
		if (tp->so->laddr == INADDR_ANY)
			wild = tp;
	}
	return wild;
}

bool tcp_port_conflict(struct stack *st, const struct tcpcb *tp, uint32_t laddr,
		       uint16_t lport, bool listen)
{
	for (struct tcpcb *o = st->tcp->bhash[bhash(lport)]; o; o = o->bnext) {
		if (o == tp || o->so->lport != lport)
			continue;
		bool overlap = !o->so->laddr || !laddr || o->so->laddr == laddr;
		if (!overlap)
			continue;
		/* SO_REUSEPORT on both: they share it, listeners too. */
		if (tp->so->reuseport && o->so->reuseport)
			continue;
		if (listen) {
			if (o->t_state == TCPS_LISTEN)
				return true;
			continue;
		}
		if (tp->so->reuseaddr && o->so->reuseaddr && o->t_state != TCPS_LISTEN)
			continue;
		return true;
	}
	return false;
}

/* RFC 6056 3.3.1 (Algorithm 1): a random start, then the next port that is
 * free to bind, or, when connecting, that makes a unique 4-tuple (Linux
 * shares ephemeral ports between connections to different peers only
 * when the port is not bound otherwise; we keep it simple: a free port). */
static int ephemeral_port(struct stack *st, struct tcpcb *tp, uint32_t laddr,
			  uint32_t raddr, uint16_t rport, uint16_t *out)
{
	unsigned n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	unsigned start = (unsigned)(stack_rand(st) % n);

	for (unsigned i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_LO + (start + i) % n);
		bool used = false;
		for (struct tcpcb *o = st->tcp->bhash[bhash(port)]; o && !used; o = o->bnext)
			used = o != tp && o->so->lport == port;
		if (used)
			continue;
		if (rport && tcp_lookup(st, laddr, port, raddr, rport))
			continue;
		/* Free here; held by no other process on the address either. */
		if (sock_host_bind(tp->so, IPPROTO_TCP, port) < 0)
			continue;
		*out = port;
		return 0;
	}
	return -EADDRNOTAVAIL;  /* Linux connect(): no free local port */
}

int tcp_bind_port(struct tcpcb *tp, uint32_t laddr, uint16_t lport,
		  uint32_t raddr, uint16_t rport, bool user)
{
	struct stack *st = tp->st;
	struct mtcp_sock *s = tp->so;
	int rc;

	if (lport == 0) {
		if ((rc = ephemeral_port(st, tp, laddr, raddr, rport, &lport)) < 0)
			return rc == -EADDRNOTAVAIL && !rport ? -EADDRINUSE : rc;
	} else if (tcp_port_conflict(st, tp, laddr, lport, false)) {
		return -EADDRINUSE;
	} else if ((rc = sock_host_bind(s, IPPROTO_TCP, lport)) < 0) {
		return rc;
	}
	s->laddr = laddr;
	s->lport = lport;
	if (user) {
		s->addr_locked = laddr != INADDR_ANY;
		s->port_locked = true;
	}
	tcp_bhash_insert(st, tp);
	return 0;
}

/* ---- Control blocks ---------------------------------------------------- */

static void tcb_defaults(struct tcpcb *tp)
{
	tp->t_state = TCPS_CLOSED;
	tp->t_maxseg = TCP_DEFAULT_MSS;
	tp->t_maxopd = TCP_DEFAULT_MSS;
	tp->t_rcvmss = TCP_DEFAULT_MSS;
	tp->t_rto = TCP_RTO_INIT;
	tp->keepidle = TCP_KEEPIDLE_DEF;
	tp->keepintvl = TCP_KEEPINTVL_DEF;
	tp->keepcnt = TCP_KEEPCNT_DEF;
	tp->snd.limit = TCP_SNDBUF_MAX;
	tp->rcv.limit = TCP_RCVBUF_DEFAULT / 2;
	tp->t_flags = TF_REQ_SCALE | TF_REQ_TSTMP | TF_SACK_REQ;
	tcp_timers_init(tp);
}

/* The options a user sets on a control block (kept over a disconnect,
 * inherited by a listener's children). */
static void copy_user_opts(struct tcpcb *dst, const struct tcpcb *src)
{
	dst->keepidle = src->keepidle;
	dst->keepintvl = src->keepintvl;
	dst->keepcnt = src->keepcnt;
	dst->user_timeout = src->user_timeout;
	dst->user_mss = src->user_mss;
	dst->snd.limit = src->snd.limit;
	dst->rcv.limit = src->rcv.limit;
}

void tcp_reinit(struct tcpcb *tp)
{
	struct tcpcb keep = *tp;
	const uint32_t user_flags = TF_NODELAY | TF_CORK | TF_RCVBUF_LOCK | TF_SNDBUF_LOCK;

	lhash_remove(tp->st, tp);
	memset(tp, 0, sizeof(*tp));
	tp->so = keep.so;
	tp->st = keep.st;
	tp->bnext = keep.bnext;
	tp->bpprev = keep.bpprev;
	tp->in_bhash = keep.in_bhash;
	tcb_defaults(tp);
	tp->t_flags |= keep.t_flags & user_flags;
	copy_user_opts(tp, &keep);
}

int tcp_attach(struct mtcp_sock *s)
{
	struct tcpcb *tp = calloc(1, sizeof(*tp));

	if (!tp)
		return -ENOMEM;
	tp->so = s;
	tp->st = s->st;
	s->tp = tp;
	s->sndbuf = TCP_SNDBUF_DEFAULT;
	s->rcvbuf = TCP_RCVBUF_DEFAULT;
	tcb_defaults(tp);
	/* A socket's send limit follows SO_SNDBUF once set; until then the
	 * ring may grow to tcp_wmem[2] (Linux autotuning), see tcp_usr_send. */
	tp->snd.limit = TCP_SNDBUF_MAX;
	s->st->tcp->pcbs++;
	return 0;
}

/* Buffer memory accounting for the leak oracle. */
static void tcp_free_buffers(struct tcpcb *tp)
{
	ring_free(&tp->snd);
	ring_free(&tp->rcv);
	pbuf_free_chain(tp->reass);
	tp->reass = NULL;
	tp->reass_count = 0;
	tp->reass_bytes = 0;
}

void tcp_free(struct tcpcb *tp)
{
	lhash_remove(tp->st, tp);
	tcp_timers_cancel(tp);
	tcp_output_cancel(tp);
	tcp_free_buffers(tp);
	tp->st->tcp->pcbs--;
	tp->so->tp = NULL;
	free(tp);
}

void tcp_wakeup(struct tcpcb *tp)
{
	sock_wake(tp->so);
	if (tp->t_listener)
		sock_wake(tp->t_listener->so);
}

void tcp_set_state(struct tcpcb *tp, enum tcp_state ns)
{
	struct mtcp_sock *s = tp->so;

	if (tp->t_state == ns)
		return;
	char a[16], b[16];
	log_debug(tcp, "%s:%u > %s:%u %s -> %s", ipv4_ntoa(s->laddr, a), s->lport,
		  ipv4_ntoa(s->raddr, b), s->rport, tcp_state_names[tp->t_state],
		  tcp_state_names[ns]);
	if (tp->t_state == TCPS_CLOSED && !(tp->t_flags & TF_REFHELD)) {
		/* Alive for TCP's sake until CLOSED again. */
		s->refs++;
		tp->t_flags |= TF_REFHELD;
	}
	if (tp->t_state == TCPS_LISTEN)
		lhash_remove(tp->st, tp);
	tp->t_state = ns;
	if (ns == TCPS_LISTEN)
		lhash_insert(tp->st, tp);
	tcp_wakeup(tp);
}

void tcp_child_unlink(struct tcpcb *tp)
{
	struct tcpcb *lp = tp->t_listener;

	if (!lp)
		return;
	if (tp->t_flags & TF_WAITING_ACCEPT) {
		struct mtcp_sock **pp = &lp->acceptq_head, *prev = NULL;
		for (; *pp; prev = *pp, pp = &(*pp)->tp->accept_next) {
			if (*pp == tp->so) {
				*pp = tp->accept_next;
				if (lp->acceptq_tail == tp->so)
					lp->acceptq_tail = prev;
				break;
			}
		}
		lp->acceptq_len--;
		tp->t_flags &= ~TF_WAITING_ACCEPT;
	} else {
		lp->synq_len--;
	}
	if (tp->child_prev)
		tp->child_prev->child_next = tp->child_next;
	else
		lp->children = tp->child_next;
	if (tp->child_next)
		tp->child_next->child_prev = tp->child_prev;
	tp->child_next = tp->child_prev = NULL;
	tp->accept_next = NULL;
	tp->t_listener = NULL;
}

void tcp_closed(struct tcpcb *tp)
{
	struct stack *st = tp->st;
	struct mtcp_sock *s = tp->so;

	tcp_timers_cancel(tp);
	tcp_output_cancel(tp);
	if (tp->t_listener) {
		/* A child that never reached the user: it goes with its
		 * connection. */
		tcp_child_unlink(tp);
		tp->t_flags |= TF_ORPHAN;
		s->closed = true;
	}
	ehash_remove(st, tp);
	/* An orphan gives its port back; a user's socket keeps the port it
	 * bound (Linux keeps the bind bucket until close). */
	if ((tp->t_flags & TF_ORPHAN) || !s->port_locked) {
		bhash_remove(tp);
		if (!s->port_locked) {
			s->bound = false;
			s->lport = 0;
		}
		if (!s->addr_locked)
			s->laddr = INADDR_ANY;
	}
	tcp_free_buffers(tp);
	lhash_remove(st, tp);
	if (tp->t_state != TCPS_CLOSED) {
		log_debug(tcp, "port %u %s -> CLOSED", s->lport, tcp_state_names[tp->t_state]);
		tp->t_state = TCPS_CLOSED;
	}
	s->shut_rd = s->shut_wr = true;
	tcp_wakeup(tp);
	if (tp->t_flags & TF_REFHELD) {
		tp->t_flags &= ~TF_REFHELD;
		sock_put_locked(s);     /* may free s and tp */
	}
}

void tcp_drop(struct tcpcb *tp, int err, bool send_rst)
{
	struct mtcp_sock *s = tp->so;

	if (send_rst && TCPS_HAVERCVDSYN(tp->t_state) && tp->t_state != TCPS_TIME_WAIT) {
		tcp_respond(tp->st, tp, s->laddr, s->raddr, s->lport, s->rport,
			    tp->snd_nxt, 0, TH_RST);
	}
	if (err) {
		/* Linux reports an earlier ICMP soft error instead of a bare
		 * timeout (tcp_write_err). */
		if (err == ETIMEDOUT && tp->t_softerror)
			err = tp->t_softerror;
		s->so_error = err;
	}
	if (tp->t_state == TCPS_SYN_SENT && err)
		tp->st->stats.tcp_attempt_fails++;
	else if (TCPS_HAVEESTABLISHED(tp->t_state) && err)
		tp->st->stats.tcp_estab_resets++;
	tcp_closed(tp);
}

uint32_t tcp_ts_now(const struct tcpcb *tp)
{
	return (uint32_t)(stack_now(tp->st) / USEC_PER_MSEC) + tp->ts_offset;
}

/* Send buffer autotuning (Linux's tcp_sndbuf_expand, simplified): until
 * the user sets SO_SNDBUF, the buffer may hold about two windows' worth -
 * twice the larger of cwnd and the peer's window, at least 64 KiB, at
 * most tcp_wmem[2] - so a peer that stops reading does not pin 4 MiB. */
void tcp_snd_autotune(struct tcpcb *tp)
{
	if (tp->t_flags & TF_SNDBUF_LOCK)
		return;
	uint64_t want = 2 * (uint64_t)(tp->snd_cwnd > tp->snd_wnd ? tp->snd_cwnd : tp->snd_wnd);
	if (want < 65536)
		want = 65536;
	if (want > TCP_SNDBUF_MAX)
		want = TCP_SNDBUF_MAX;
	if (want > tp->snd.limit || tp->snd.len <= want)
		tp->snd.limit = (uint32_t)want;
}

bool tcp_writeable(const struct tcpcb *tp)
{
	uint32_t space = ring_space(&tp->snd);

	return space > 0 && space >= tp->snd.len / 2;
}

uint32_t tcp_rcv_space(const struct tcpcb *tp)
{
	return tp->rcv.limit > tp->rcv.len ? tp->rcv.limit - tp->rcv.len : 0;
}

/* RFC 9293 3.7.1 / RFC 1122 4.2.2.6: the MSS we announce is the MTU of the
 * interface less the fixed IP and TCP headers (MUST-14..16). */
uint16_t tcp_mss_for_route(struct stack *st, uint32_t raddr)
{
	(void)raddr;            /* one interface: one MTU (no PMTU cache yet) */
	unsigned mss = st->mtu - IPV4_HLEN - TCP_HLEN;

	return (uint16_t)(mss < TCP_MIN_MSS ? TCP_MIN_MSS : mss);
}

/* The MSS we announce: the route's, or TCP_MAXSEG when smaller (tcp(7):
 * set before the connection, it is what the SYN announces). */
uint16_t tcp_adv_mss(const struct tcpcb *tp)
{
	uint16_t mss = tcp_mss_for_route(tp->st, tp->so->raddr);

	return tp->user_mss && tp->user_mss < mss ? tp->user_mss : mss;
}

/* The largest segment we send: the peer's MSS (536 when it sent none,
 * RFC 9293 3.7.1 MUST-15), our own limit and TCP_MAXSEG, less the option
 * bytes every segment carries (RFC 9293 3.7.1: "the TCP header options
 * count against the MSS"; MUST-16). */
void tcp_mss_update(struct tcpcb *tp, uint16_t peer_mss)
{
	unsigned mss = peer_mss ? peer_mss : TCP_DEFAULT_MSS;
	unsigned ours = tcp_mss_for_route(tp->st, tp->so->raddr);

	tp->t_peermss = (uint16_t)mss;
	if (mss > ours)
		mss = ours;
	if (tp->user_mss && mss > tp->user_mss)
		mss = tp->user_mss;
	tp->t_maxopd = (uint16_t)mss;
	if (tp->t_flags & TF_RCVD_TSTMP)
		mss -= 12;      /* timestamps: 10 bytes + 2 NOPs */
	if (mss < TCP_MIN_MSS - 12)
		mss = TCP_MIN_MSS - 12;
	tp->t_maxseg = (uint16_t)mss;
}

struct tcpcb *tcp_new_child(struct tcpcb *lp, uint32_t laddr, uint16_t lport,
			    uint32_t raddr, uint16_t rport)
{
	struct stack *st = lp->st;
	struct mtcp_sock *ls = lp->so, *s;

	/* The child is a socket nobody holds yet: refs start at 0 and
	 * tcp_set_state takes TCP's one. */
	if (mtcp_socket_locked(st, SOCK_STREAM, &s) < 0)
		return NULL;
	s->refs = 0;
	struct tcpcb *tp = s->tp;
	/* Inherited from the listener, as Linux's sk_clone does. */
	s->reuseaddr = ls->reuseaddr;
	s->keepalive = ls->keepalive;
	s->linger = ls->linger;
	s->linger_us = ls->linger_us;
	s->rcvbuf = ls->rcvbuf;
	s->sndbuf = ls->sndbuf;
	s->rcvtimeo = ls->rcvtimeo;
	s->sndtimeo = ls->sndtimeo;
	s->ttl = ls->ttl;
	s->tos = ls->tos;
	tp->t_flags = (lp->t_flags & (TF_NODELAY | TF_CORK | TF_REQ_SCALE | TF_REQ_TSTMP |
				      TF_SACK_REQ | TF_RCVBUF_LOCK | TF_SNDBUF_LOCK)) |
		      TF_PASSIVE;
	copy_user_opts(tp, lp);

	s->laddr = laddr;
	s->lport = lport;
	s->raddr = raddr;
	s->rport = rport;
	s->bound = true;
	s->port_locked = true;
	tcp_bhash_insert(st, tp);
	tcp_ehash_insert(st, tp);
	/* Other processes may hold the listener's port (an accept group,
	 * SO_REUSEPORT): the rest of this connection must reach us, not the
	 * member the hash would pick for the next SYN. */
	if (st->host && host_flow_add(st->host, IPPROTO_TCP, lport, raddr, rport) == 0)
		s->host_flow = true;

	tp->t_listener = lp;
	tp->child_next = lp->children;
	if (lp->children)
		lp->children->child_prev = tp;
	lp->children = tp;
	lp->synq_len++;
	return tp;
}

void tcp_child_established(struct tcpcb *tp)
{
	struct tcpcb *lp = tp->t_listener;

	lp->synq_len--;
	lp->acceptq_len++;
	tp->t_flags |= TF_WAITING_ACCEPT;
	tp->accept_next = NULL;
	if (lp->acceptq_tail)
		lp->acceptq_tail->tp->accept_next = tp->so;
	else
		lp->acceptq_head = tp->so;
	lp->acceptq_tail = tp->so;
	sock_wake_ev(lp->so, EPOLLIN | EPOLLRDNORM);
}

int tcp_init(struct stack *st)
{
	st->tcp = calloc(1, sizeof(*st->tcp));
	if (!st->tcp)
		return -ENOMEM;
	/* With a fixed seed (tests) the ISN key is reproducible too. */
	if (st->cfg.seed || getrandom(st->tcp->isn_key, sizeof(st->tcp->isn_key), 0) !=
			    sizeof(st->tcp->isn_key)) {
		st->tcp->isn_key[0] = stack_rand(st);
		st->tcp->isn_key[1] = stack_rand(st);
	}
	tcp_input_init(st);
	return 0;
}

unsigned tcp_pcb_count(const struct stack *st)
{
	return st->tcp ? st->tcp->pcbs : 0;
}

void tcp_fini(struct stack *st)
{
	if (!st->tcp)
		return;
	tcp_dead_fini(st);
	/* Every connection still going (orphans in FIN-WAIT or TIME-WAIT,
	 * listeners' children) ends here, without a word on the wire. */
	for (unsigned i = 0; i < TCP_EHASH; i++)
		while (st->tcp->ehash[i])
			tcp_closed(st->tcp->ehash[i]);
	for (unsigned i = 0; i < TCP_BHASH; i++) {
		struct tcpcb *tp = st->tcp->bhash[i];
		while (tp) {
			struct tcpcb *next = tp->bnext;
			if (tp->t_state != TCPS_CLOSED)
				tcp_closed(tp);
			tp = next;
		}
	}
	free(st->tcp);
	st->tcp = NULL;
}
