/*
 * tcp_var.h - TCP's control block and what the TCP files offer each other.
 *
 * TCP is split by role, as in the BSDs:
 *   tcp_input.c    a segment arrives (RFC 9293 3.10.7, in the RFC's order)
 *   tcp_output.c   the only place segments are built (tcp_output, tcp_respond)
 *   tcp_timer.c    retransmit, persist, delayed ACK, keepalive, 2MSL; RTO
 *   tcp_cc.c       congestion control: slow start, congestion avoidance,
 *                  fast retransmit and NewReno recovery (RFC 5681, 6582)
 *   tcp_sack.c     SACK (RFC 2018): the sender's scoreboard (holes, pipe)
 *                  and the blocks we report (tcp_sack.h)
 *   tcp_subr.c     control blocks, lookup tables, ISN, state changes
 *   tcp_usrreq.c   the socket-facing side (the mtcp_* calls for SOCK_STREAM)
 *
 * Everything here is called with the stack lock held. A control block
 * belongs to one socket (s->tp, tp->so) and lives exactly as long as it.
 * The socket holds one extra reference for TCP while the connection is in
 * any state but CLOSED (TF_REFHELD), so a connection the user has closed
 * lives on until its FIN handshake and TIME-WAIT are done.
 */
#ifndef MTCP_TCP_VAR_H
#define MTCP_TCP_VAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "proto.h"
#include "socket.h"
#include "stack.h"
#include "tcp_ring.h"
#include "timer.h"
#include "wire/tcp.h"

/* Sequence numbers compare modulo 2^32 (RFC 9293 3.4). */
typedef uint32_t tcp_seq;
#define SEQ_LT(a, b)    ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b)   ((int32_t)((a) - (b)) <= 0)
#define SEQ_GT(a, b)    ((int32_t)((a) - (b)) > 0)
#define SEQ_GEQ(a, b)   ((int32_t)((a) - (b)) >= 0)
#define SEQ_MAX(a, b)   (SEQ_GT(a, b) ? (a) : (b))
#define SEQ_MIN(a, b)   (SEQ_LT(a, b) ? (a) : (b))

/* RFC 9293 3.3.2 */
enum tcp_state {
	TCPS_CLOSED,
	TCPS_LISTEN,
	TCPS_SYN_SENT,
	TCPS_SYN_RECEIVED,
	TCPS_ESTABLISHED,
	TCPS_CLOSE_WAIT,
	TCPS_FIN_WAIT_1,
	TCPS_CLOSING,
	TCPS_LAST_ACK,
	TCPS_FIN_WAIT_2,
	TCPS_TIME_WAIT,
};
#define TCPS_HAVERCVDSYN(s)     ((s) >= TCPS_SYN_RECEIVED)
#define TCPS_HAVEESTABLISHED(s) ((s) >= TCPS_ESTABLISHED)
/* We have sent our FIN (or will: the user closed the sending side). */
#define TCPS_SENDCLOSED(s)      ((s) >= TCPS_FIN_WAIT_1)
/* The peer's FIN has arrived. */
#define TCPS_HAVERCVDFIN(s)     ((s) == TCPS_CLOSE_WAIT || (s) == TCPS_CLOSING || \
				 (s) == TCPS_LAST_ACK || (s) == TCPS_TIME_WAIT)
/* Our FIN is out and not yet acknowledged (Linux's sk_stream_closing):
 * what a lingering close and the exit drain wait for. */
#define TCPS_CLOSING_FIN(s)     ((s) == TCPS_FIN_WAIT_1 || (s) == TCPS_CLOSING || \
				 (s) == TCPS_LAST_ACK)

extern const char *const tcp_state_names[];

/* t_flags */
#define TF_ACKNOW       0x00001u        /* send an ACK now */
#define TF_DELACK       0x00002u        /* an ACK is owed; the delayed-ACK timer runs */
#define TF_NODELAY      0x00004u        /* TCP_NODELAY: no Nagle */
#define TF_CORK         0x00008u        /* TCP_CORK: only full segments */
#define TF_SENTFIN      0x00010u        /* our FIN has been sent (snd_max covers it) */
#define TF_REQ_SCALE    0x00020u        /* we offer window scaling */
#define TF_RCVD_SCALE   0x00040u        /* the peer offered it too */
#define TF_REQ_TSTMP    0x00080u        /* we offer timestamps */
#define TF_RCVD_TSTMP   0x00100u        /* the peer offered them too */
#define TF_SACK_PERMIT  0x00200u        /* both sides offered SACK */
#define TF_FASTRECOVERY 0x00400u        /* in NewReno fast recovery */
#define TF_FORCE        0x00800u        /* send one byte past a closed window */
#define TF_REFHELD      0x01000u        /* the connection holds a socket reference */
#define TF_PERSIST      0x02000u        /* t_rexmt runs as the persist timer */
#define TF_RCVBUF_LOCK  0x04000u        /* SO_RCVBUF set by the user: no autotuning */
#define TF_SNDBUF_LOCK  0x08000u        /* SO_SNDBUF set by the user */
#define TF_PASSIVE      0x10000u        /* opened from a listener */
#define TF_ORPHAN       0x20000u        /* the user has closed the socket */
#define TF_WAITING_ACCEPT 0x40000u      /* established, in the listener's accept queue */
#define TF_SACK_REQ     0x80000u        /* we offer SACK */
#define TF_LOSS_RECOVERY 0x200000u      /* after an RTO: snd_recover marks its end */
#define TF_REXMT_HEAD   0x400000u       /* resend the segment at snd_una now (fast
					   retransmit, partial ACK) */
#define TF_TLP          0x800000u       /* t_rexmt runs as the tail loss probe timer */
#define TF_TLP_SENT     0x1000000u      /* a probe is out; no other until new data is acked */
#define TF_ACK_NOBATCH  0x2000000u      /* this ACK goes now, not at the end of the batch */

/* SACK blocks the peer reported (RFC 2018), kept sorted and merged: the
 * sender's scoreboard (tcp_sack.c). */
#define TCP_SACK_HOLES  8

#define TCP_BHASH       256
#define TCP_EHASH       4096

/* TCP's state in a stack (tcp_subr.c owns it; the tcp_*.c files share
 * it): every bound control block by local port, every one with a peer by
 * 4-tuple, the listeners alone (a SYN never walks a port's connections). */
struct tcp {
	struct tcpcb *bhash[TCP_BHASH];
	struct tcpcb *lhash[TCP_BHASH];
	struct tcpcb *ehash[TCP_EHASH];
	unsigned pcbs;                  /* control blocks allocated: the leak oracle */
	struct tcpcb *out_head;         /* output deferred to the end of the batch */
	uint64_t isn_key[2];            /* RFC 6528 secret */
	uint64_t challenge_stamp;       /* RFC 5961 7: the per-second budget */
	unsigned challenge_count;
	struct tcp_dead *dead;          /* a dead member's connections (tcp_dead.c) */
};

struct tcpcb {
	struct mtcp_sock *so;
	struct stack *st;
	enum tcp_state t_state;
	uint32_t t_flags;

	/* Lookup (tcp_subr.c): the port table holds every bound control
	 * block; the connection table every one with a peer. */
	struct tcpcb *bnext, **bpprev;          /* bpprev: what points at us */
	struct tcpcb *enext;
	struct tcpcb *lnext;                    /* listeners by port */
	bool in_bhash, in_ehash, in_lhash;
	/* Output deferred to the end of the receive batch (tcp_output_later) */
	struct tcpcb *out_next;
	bool out_pending;

	/* Send sequence space (RFC 9293 3.3.1) */
	tcp_seq snd_una, snd_nxt, snd_max;      /* snd_max: highest sent */
	tcp_seq snd_sml;                        /* end of the last short segment sent
						   (Minshall's Nagle) */
	tcp_seq snd_wl1, snd_wl2;
	tcp_seq iss;
	uint32_t snd_wnd;                       /* scaled */
	uint32_t max_sndwnd;                    /* largest window the peer offered */
	/* Receive sequence space */
	tcp_seq rcv_nxt, irs;
	tcp_seq rcv_adv;                        /* right edge we advertised */
	uint32_t rcv_wnd;
	uint8_t snd_scale, rcv_scale;           /* RFC 7323 2 */
	uint8_t request_r_scale;

	/* Segment size: t_maxseg is what we send (the peer's MSS and our
	 * MTU, less options); t_rcvmss what we expect of the peer. */
	uint16_t t_maxseg, t_peermss, t_advmss, t_rcvmss;
	uint16_t t_maxopd;                      /* t_maxseg + the option bytes it allows for */

	/* Congestion control (tcp_cc.c) */
	uint32_t snd_cwnd, snd_ssthresh;
	uint32_t t_bytes_acked;                 /* congestion avoidance counter */
	tcp_seq snd_recover;                    /* RFC 6582 "recover" */
	unsigned t_dupacks;
	uint64_t t_last_send;                   /* for restart after idle */

	/* Sender's SACK scoreboard: what the peer holds above snd_una. */
	struct tcp_sack_block sackblk[TCP_SACK_HOLES];
	unsigned nsackblk;
	tcp_seq sack_rexmit;                    /* next hole byte to resend in recovery */
	tcp_seq rexmit_mark;                    /* snd_max at the latest retransmission */

	/* Round-trip time (RFC 6298), all microseconds */
	uint64_t t_srtt, t_rttvar;
	uint64_t t_rto;                         /* current, before backoff */
	unsigned t_rxtshift;                    /* retransmissions of snd_una (R1/R2) */
	unsigned t_backoff;                     /* RTO doublings: kept until a valid RTT
						   sample (RFC 6298 5.7, MUST-19) */
	uint64_t t_rtttime;                     /* when t_rtseq was sent; 0: not timing */
	tcp_seq t_rtseq;
	bool t_rtt_valid;                       /* have a sample */
	uint64_t t_rexmt_start;                 /* when the oldest unacked data was sent */
	unsigned t_probes;                      /* unanswered persist / keepalive probes */

	/* Timestamps (RFC 7323 3, 5) */
	uint32_t ts_offset;                     /* our TSval = clock ms + offset */
	uint32_t ts_recent;
	uint64_t ts_recent_age;
	tcp_seq last_ack_sent;

	/* Timers (tcp_timer.c) */
	struct timer t_rexmt;                   /* retransmit or persist */
	struct timer t_delack;
	struct timer t_keep;                    /* keepalive, FIN-WAIT-2, handshake */
	struct timer t_2msl;                    /* TIME-WAIT */
	struct timer t_pass;                    /* a listener copy kept for an accept
						   group: its queue goes on (tcp_migrate.c) */
	uint64_t t_rcvtime;                     /* last segment received */

	/* Options the user set */
	uint32_t keepidle, keepintvl;           /* seconds */
	unsigned keepcnt;
	uint64_t user_timeout;                  /* microseconds; 0: the retry count */
	uint16_t user_mss;                      /* TCP_MAXSEG; 0: none */

	/* Buffers */
	struct tcp_ring snd, rcv;
	struct pbuf *reass;                     /* out-of-order segments by seq;
						   pbuf->addr is the seq */
	unsigned reass_count;
	uint32_t reass_bytes;
	tcp_seq last_ooo_seq;                   /* newest OOO segment, SACK block 1 */
	struct tcp_sack_block sack_hist[TCP_MAX_SACK];  /* the blocks we sent last */
	unsigned nsack_hist;
	bool fin_pending;                       /* a FIN arrived beyond a gap, at fin_seq */
	tcp_seq fin_seq;
	unsigned t_quickack;                    /* segments still acked at once */
	/* Receive buffer autotuning (a simple form of Linux's DRS) */
	uint64_t rcvq_stamp;
	uint32_t rcvq_copied;

	/* Listening sockets */
	struct mtcp_sock *acceptq_head, *acceptq_tail;  /* via accept_next */
	unsigned acceptq_len;
	unsigned synq_len;                      /* children in SYN-RECEIVED */
	unsigned backlog;
	/* Children: the listener until accepted */
	struct tcpcb *t_listener;
	struct mtcp_sock *accept_next;
	struct tcpcb *child_next, *child_prev;  /* listener's children list */
	struct tcpcb *children;

	/* Urgent data (RFC 9293 3.8.5), Linux's model: one urgent byte, held
	 * out of band unless SO_OOBINLINE; reads stop at the mark. */
	bool snd_urg;                           /* urgent mode: snd_up is valid */
	tcp_seq snd_up;                         /* the octet after our urgent data */
	enum { URG_NONE, URG_NOTYET, URG_VALID, URG_READ } urg_state;
	tcp_seq urg_seq;                        /* the peer's urgent byte */
	uint8_t urg_byte;

	int t_softerror;                        /* last ICMP soft error, for ETIMEDOUT */
	uint64_t t_last_oow_ack;                /* last ACK to an out-of-window ACK */
};

/* Timer values (microseconds) */
#define TCP_RTO_INIT            (1 * USEC_PER_SEC)      /* RFC 6298 2.1 */
#define TCP_RTO_MIN             (200 * USEC_PER_MSEC)   /* NOTE: Linux's; RFC 6298 2.4 says 1 s */
#define TCP_RTO_MAX             (120 * USEC_PER_SEC)    /* RFC 6298 2.5: at least 60 s */
#define TCP_RTO_AFTER_SYN_LOSS  (3 * USEC_PER_SEC)      /* RFC 6298 5.7 */
#define TCP_CLOCK_G             (1 * USEC_PER_MSEC)     /* RFC 6298: clock granularity G */
#define TCP_TLP_SLACK           (2 * USEC_PER_MSEC)     /* Linux: PTO = 2*SRTT + 2 jiffies */
#define TCP_WCDELACK            (200 * USEC_PER_MSEC)   /* RFC 8985 7.2 WCDelAckT */
#define TCP_DELACK_TIME         (40 * USEC_PER_MSEC)    /* RFC 1122 4.2.3.2: < 0.5 s; Linux's */
#define TCP_PERSIST_MIN         (200 * USEC_PER_MSEC)
#define TCP_PERSIST_MAX         (60 * USEC_PER_SEC)
#define TCP_FIN_TIMEOUT         (60 * USEC_PER_SEC)     /* orphaned FIN-WAIT-2, Linux's */
#define TCP_MAXRXTSHIFT         15                      /* RFC 1122 4.2.3.5 R2; Linux tcp_retries2 */
#define TCP_SYN_RETRIES         7                       /* >= 3 min of SYN retries: RFC 1122 4.2.3.5 */
#define TCP_SYNACK_RETRIES      5                       /* Linux tcp_synack_retries */
#define TCP_R1                  3                       /* RFC 1122 4.2.3.5 R1 */
#define TCP_KEEPIDLE_DEF        7200                    /* RFC 1122 4.2.3.6: >= 2 h */
#define TCP_KEEPINTVL_DEF       75
#define TCP_KEEPCNT_DEF         9
#define TCP_MSL_DEFAULT         (30 * USEC_PER_SEC)     /* Linux: TIME-WAIT = 60 s */
#define TCP_PASS_INTERVAL       (10 * USEC_PER_MSEC)    /* a kept queue looks for a member
							   that uses the port (tcp_migrate.c) */

/* Sizes */
#define TCP_DEFAULT_MSS         536                     /* RFC 9293 3.7.1 (MUST-15) */
#define TCP_MIN_MSS             88                      /* Linux's floor */
#define TCP_IW_SEGS             10                      /* RFC 6928 */
#define TCP_SNDBUF_DEFAULT      16384                   /* Linux tcp_wmem[1] */
#define TCP_RCVBUF_DEFAULT      131072                  /* Linux tcp_rmem[1] */
#define TCP_SNDBUF_MAX          (4 << 20)               /* Linux tcp_wmem[2] */
#define TCP_RCVBUF_MAX          (6 << 20)               /* Linux tcp_rmem[2] */
#define TCP_RCV_WSCALE          7                       /* what Linux offers by default */
#define TCP_REASS_MAX_SEGS      512
#define TCP_BACKLOG_MAX         4096                    /* Linux somaxconn */
#define TCP_CHALLENGE_PER_SEC   1000                    /* RFC 5961 7; Linux's limit */
#define TCP_OOW_ACK_INTERVAL    (500 * USEC_PER_MSEC)   /* Linux tcp_invalid_ratelimit */

/* tcp_subr.c */
int tcp_attach(struct mtcp_sock *s);            /* a new socket's control block */
void tcp_free(struct tcpcb *tp);                /* with the socket, last reference */
void tcp_set_state(struct tcpcb *tp, enum tcp_state ns);
/* The connection is over: unlink, stop timers, free buffers, CLOSED. */
void tcp_closed(struct tcpcb *tp);
/* End the connection with err (0: none) reported to the user; sends RST
 * first when synchronized and send_rst. */
void tcp_drop(struct tcpcb *tp, int err, bool send_rst);
uint32_t tcp_new_isn(struct stack *st, uint32_t laddr, uint16_t lport,
		     uint32_t raddr, uint16_t rport);
void tcp_bhash_insert(struct stack *st, struct tcpcb *tp);
void tcp_ehash_insert(struct stack *st, struct tcpcb *tp);
struct tcpcb *tcp_lookup(struct stack *st, uint32_t laddr, uint16_t lport,
			 uint32_t raddr, uint16_t rport);
struct tcpcb *tcp_lookup_listener(struct stack *st, uint32_t laddr, uint16_t lport);
/* Linux inet_csk_bind_conflict: two sockets may share a port when their
 * addresses differ (neither a wildcard), or when both set SO_REUSEADDR and
 * the one already there is not listening. With listen, the question is
 * whether another listener overlaps: two never share a port and address,
 * whatever SO_REUSEADDR says (inet_csk_get_port on listen). */
bool tcp_port_conflict(struct stack *st, const struct tcpcb *tp, uint32_t laddr,
		       uint16_t lport, bool listen);
/* A bind (user: true) or an automatic one (port 0: ephemeral, RFC 6056).
 * raddr/rport, when set, make the ephemeral choice avoid that 4-tuple. */
int tcp_bind_port(struct tcpcb *tp, uint32_t laddr, uint16_t lport,
		  uint32_t raddr, uint16_t rport, bool user);
/* MSS to advertise and the largest segment the path allows. */
uint16_t tcp_mss_for_route(struct stack *st, uint32_t raddr);
void tcp_mss_update(struct tcpcb *tp, uint16_t peer_mss);
uint16_t tcp_adv_mss(const struct tcpcb *tp);
uint32_t tcp_ts_now(const struct tcpcb *tp);
uint32_t tcp_ts_offset(struct stack *st, uint32_t laddr, uint32_t raddr);
uint32_t tcp_rcv_space(const struct tcpcb *tp);  /* free receive buffer */
/* Can the user queue more? Linux sk_stream_is_writeable: the free space
 * is at least half of what is queued. */
bool tcp_writeable(const struct tcpcb *tp);
void tcp_snd_autotune(struct tcpcb *tp);
/* A child of listener lp for a SYN from raddr:rport to laddr:lport. */
struct tcpcb *tcp_new_child(struct tcpcb *lp, uint32_t laddr, uint16_t lport,
			    uint32_t raddr, uint16_t rport);
void tcp_child_unlink(struct tcpcb *tp);
/* A child completed its handshake: move it to the accept queue. */
void tcp_child_established(struct tcpcb *tp);
void tcp_wakeup(struct tcpcb *tp);
/* After a disconnect: a CLOSED control block as new, keeping the user's
 * options and the bound port. */
void tcp_reinit(struct tcpcb *tp);

/* tcp_input.c */
void tcp_input_init(struct stack *st);

/* tcp_dead.c: a dead member's connections, taken over by this stack;
 * each peer is made to reset its end (RFC 5961 3.2's exact match). */
enum tcp_dead_verdict {
	TCP_DEAD_NONE,          /* not a dead flow (any more): the ordinary path */
	TCP_DEAD_RESET,         /* answer as a segment for no connection */
	TCP_DEAD_DROP,          /* say nothing (a RST) */
};
/* A segment for no control block of ours: is it one of a dead flow? */
enum tcp_dead_verdict tcp_dead_input(struct stack *st, uint16_t lport, uint32_t raddr,
				     uint16_t rport, uint8_t flags);
void tcp_dead_fini(struct stack *st);

/* tcp_output.c */
/* Send whatever the control block says is due (data, SYN, FIN, ACK, window
 * update, probe). 0 or -errno from the layers below. */
int tcp_output(struct tcpcb *tp);
/* RFC 9293 3.10.7.4 (MUST-58, MUST-59): while a batch of received
 * segments is processed, ACKs are not sent one by one: the connection is
 * queued and tcp_output_flush, at the end of the batch, sends one. */
void tcp_output_later(struct tcpcb *tp);
void tcp_output_flush(struct stack *st);
void tcp_output_cancel(struct tcpcb *tp);
/* A segment with no connection behind it: RST or (challenge) ACK built from
 * explicit values (RFC 9293 3.10.7.1 for resets). */
void tcp_respond(struct stack *st, const struct tcpcb *tp, uint32_t laddr, uint32_t raddr,
		 uint16_t lport, uint16_t rport, tcp_seq seq, tcp_seq ack, uint8_t flags);
/* The ACK that answers an unacceptable segment or a blind attack
 * (RFC 5961 3.2, 4.2, 5.2), rate limited. */
void tcp_send_challenge_ack(struct tcpcb *tp);
void tcp_setpersist(struct tcpcb *tp);
/* RFC 8985 7.3: send one new segment, or resend the last one. */
void tcp_send_probe(struct tcpcb *tp);
/* The window we would advertise now (unscaled bytes). */
uint32_t tcp_rcv_window(struct tcpcb *tp);

/* tcp_timer.c */
void tcp_timers_init(struct tcpcb *tp);
void tcp_timers_cancel(struct tcpcb *tp);
void tcp_rexmt_arm(struct tcpcb *tp);           /* (re)start with the current RTO */
/* The same, but as a tail loss probe (RFC 8985 7) when one is due. */
void tcp_rexmt_arm_or_probe(struct tcpcb *tp);
bool tcp_tlp_eligible(const struct tcpcb *tp);
void tcp_rexmt_stop(struct tcpcb *tp);
void tcp_delack_arm(struct tcpcb *tp);
void tcp_keep_arm(struct tcpcb *tp);            /* keepalive or FIN-WAIT-2 */
void tcp_2msl_arm(struct tcpcb *tp);
/* Enter TIME-WAIT: every other timer stops, 2MSL starts (RFC 9293 3.3.2). */
void tcp_enter_time_wait(struct tcpcb *tp);
/* An RTT sample (RFC 6298 2.2/2.3) and the RTO that follows. */
void tcp_rtt_sample(struct tcpcb *tp, uint64_t rtt);
uint64_t tcp_rto_backoff(const struct tcpcb *tp);
uint64_t tcp_msl(const struct stack *st);

/* tcp_cc.c */
void tcp_cc_init(struct tcpcb *tp);             /* after the handshake */

/* tcp_migrate.c: the pending connections of a listener this process
 * closes go to other members of its accept group. listener: those that
 * can go, go (freed without a word to the peer), the others stay; input:
 * some arrived; pass: the t_pass timer of a listener copy this process
 * does not use, which keeps connections until a member that uses the
 * port can take them. */
void tcp_migrate_listener(struct tcpcb *lp);
void tcp_migrate_input(struct stack *st, void *msg, size_t len);
void tcp_migrate_pass(struct tcpcb *lp);
void tcp_cc_ack(struct tcpcb *tp, uint32_t acked);     /* new data acked */
/* A duplicate ACK: returns true when output should run. */
bool tcp_cc_dupack(struct tcpcb *tp);
/* An ACK advancing snd_una while in recovery: handles NewReno's partial
 * ACK (true: still in recovery). */
bool tcp_cc_recovery_ack(struct tcpcb *tp, tcp_seq ack, uint32_t acked);
void tcp_cc_rto(struct tcpcb *tp);
void tcp_cc_idle_restart(struct tcpcb *tp, uint64_t now);
uint32_t tcp_flight_size(const struct tcpcb *tp);
/* The SACK scoreboard: tcp_sack.h */

/* tcp_usrreq.c (socket.c dispatches here for SOCK_STREAM) */
int tcp_usr_bind(struct mtcp_sock *s, uint32_t addr, uint16_t port);
int tcp_usr_listen(struct mtcp_sock *s, int backlog);
int tcp_usr_accept(struct mtcp_sock *s, struct sockaddr_in *peer, struct mtcp_sock **out);
int tcp_usr_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port);
int tcp_usr_disconnect(struct mtcp_sock *s);
ssize_t tcp_usr_send(struct mtcp_sock *s, const struct msghdr *msg, int flags);
ssize_t tcp_usr_recv(struct mtcp_sock *s, struct msghdr *msg, int flags);
int tcp_usr_shutdown(struct mtcp_sock *s, int how);
void tcp_usr_close(struct mtcp_sock *s);
unsigned tcp_usr_poll(struct mtcp_sock *s);
int tcp_usr_setsockopt(struct mtcp_sock *s, int level, int name, int v);
int tcp_usr_getsockopt(struct mtcp_sock *s, int level, int name, void *val, socklen_t *len);
int tcp_usr_inq(struct mtcp_sock *s, int *out);
int tcp_usr_atmark(struct mtcp_sock *s, int *out);
void tcp_usr_close_listener(struct tcpcb *lp);
void tcp_usr_bufsize(struct mtcp_sock *s, bool rcv);
int tcp_usr_outq(struct mtcp_sock *s, int *out);

#endif
