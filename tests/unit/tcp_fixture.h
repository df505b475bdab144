/*
 * tcp_fixture.h - TCP connections in a known state for the suites that
 * play the peer of the harness's stack (stack_harness.h), built by driving
 * real segments through the stack, never by writing control-block fields:
 * the state a test starts from is one the stack reached itself.
 *
 *   struct tf_conn t;
 *   tf_open(&h, &t, &(struct tf_params){ .opts = TF_OPTS_ALL });  // ESTABLISHED
 *   h_conn_send(&h, &t.c, TH_ACK | TH_PSH, "hi", 2);
 *   ...
 *   tf_set_state(&h, &t, &(struct tf_params){ .active = true }, TCPS_LAST_ACK);
 *
 * The pieces are usable on their own by a suite that keeps its own h_conn
 * and sockets: tf_accept (passive open, as many times as it likes on one
 * listener), tf_connect (active open), tf_drive (from ESTABLISHED to a
 * closing state), tf_syn_opts (what a peer offers), tf_state (where a
 * socket's connection is).
 *
 * As with lwIP's tcp_set_state test helper, the target is one of the
 * stack's own states (tcp_var.h TCPS_*).
 */
#ifndef MTCP_TCP_FIXTURE_H
#define MTCP_TCP_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "stack_harness.h"
#include "tcp_var.h"

#define TF_PEER_PORT    40000           /* the peer's port, unless told */
#define TF_OUR_PORT     80              /* the stack's port, unless told */
#define TF_PEER_ISS     1000u           /* the peer's ISS, unless told */

/* The options the peer offers on its SYN or SYN-ACK. MSS is always sent. */
struct tf_opts {
	uint16_t mss;                   /* 0: 1460 */
	bool ws;                        /* window scale, shift wscale */
	uint8_t wscale;
	bool sack;                      /* SACK-permitted */
	bool ts;                        /* timestamps */
};

#define TF_OPTS_MSS     ((struct tf_opts){ .mss = 0 })
#define TF_OPTS_TS      ((struct tf_opts){ .ts = true })
#define TF_OPTS_SACK    ((struct tf_opts){ .sack = true })
#define TF_OPTS_ALL     ((struct tf_opts){ .ws = true, .wscale = 7, .sack = true, .ts = true })

/* The tcp_opts of a SYN offering o. */
struct tcp_opts tf_syn_opts(struct tf_opts o);

/* How the connection is made. Every field may be left 0. */
struct tf_params {
	bool active;                    /* the stack connects; else the peer connects to a
					 * listener on dport and the stack accepts */
	struct tf_opts opts;            /* what the peer offers */
	uint16_t sport, dport;          /* the peer's and the stack's port (0: 40000, 80;
					 * for an active open dport 0 is an ephemeral port) */
	uint32_t iss;                   /* the peer's ISS (0: 1000) */
	uint64_t rtt;                   /* virtual time between the stack's SYN(-ACK)
					 * and the peer's answer */
	int backlog;                    /* the listener's (0: 8) */
	bool orphan;                    /* the stack's FIN comes from mtcp_close (the
					 * socket is released: t->s becomes NULL) rather
					 * than from shutdown(SHUT_WR) */
};

struct tf_conn {
	struct h_conn c;                /* the peer's side */
	struct mtcp_sock *s;            /* the stack's socket; NULL for a passive
					 * SYN-RECEIVED (not accepted yet) or an orphan */
	struct mtcp_sock *l;            /* the listener of a passive open, else NULL */
};

/* An ESTABLISHED connection: tf_set_state(h, t, p, TCPS_ESTABLISHED). */
void tf_open(struct harness *h, struct tf_conn *t, const struct tf_params *p);

/* A new connection in state (SYN_SENT, SYN_RECEIVED, ESTABLISHED,
 * FIN_WAIT_1, FIN_WAIT_2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK), every
 * segment on the way asserted, nothing left unsent, and the state
 * asserted at the end. SYN-SENT needs p->active (the stack's SYN is
 * unanswered; t->c is filled from it). SYN-RECEIVED: active, a
 * simultaneous open (the peer's SYN crossed the stack's, the stack's
 * SYN-ACK unanswered); passive, the peer's SYN answered by the listener
 * (t->s NULL: after the peer's ACK, h_tcp_accept(h, t->l) takes it). */
void tf_set_state(struct harness *h, struct tf_conn *t, const struct tf_params *p, int state);

/* Reset and close whatever t holds (SO_LINGER 0), the listener too, and
 * discard what the stack sent. */
void tf_abort(struct harness *h, struct tf_conn *t);

/*
 * The pieces.
 */

/* Passive open: the peer connects from sport to dport (where l listens)
 * with ISS iss offering o (NULL: MSS 1460), its ACK rtt after the
 * SYN-ACK; asserts the stack sends nothing more; returns the accepted
 * socket (non-blocking). */
struct mtcp_sock *tf_accept(struct harness *h, struct mtcp_sock *l, struct h_conn *c,
			    uint16_t sport, uint16_t dport, uint32_t iss,
			    const struct tcp_opts *o, uint64_t rtt);
/* Active open: a socket bound to lport (0: ephemeral) connects to the
 * peer's rport; the peer answers from iss offering o (NULL: MSS 1460) rtt
 * later, and the stack's ACK is asserted. */
struct mtcp_sock *tf_connect(struct harness *h, struct h_conn *c, uint16_t lport,
			     uint16_t rport, uint32_t iss, const struct tcp_opts *o,
			     uint64_t rtt);
/* The stack sent syn (its SYN, unanswered): fill c from it for a peer
 * with ISS iss offering o (NULL: MSS 1460), as the peer's side of a
 * connection whose SYN-ACK has not come yet. No I/O. */
void tf_conn_from_syn(struct h_conn *c, const struct frame *syn, uint32_t iss,
		      const struct tcp_opts *o);
/* Simultaneous open (RFC 9293 3.5 figure 7): after tf_conn_from_syn, the
 * peer's own SYN crosses the stack's; the stack answers with a SYN-ACK
 * repeating its ISS, asserted and returned (in c->last). */
const struct frame *tf_simultaneous_syn(struct harness *h, struct h_conn *c);

/* Drive ESTABLISHED connection c / s to state (ESTABLISHED, FIN_WAIT_1,
 * FIN_WAIT_2, CLOSING, TIME_WAIT, CLOSE_WAIT, LAST_ACK). The stack's FIN
 * comes from shutdown(SHUT_WR), or with orphan from mtcp_close (the
 * caller's s is then released). Asserts every segment, that nothing else
 * is sent, and the state reached. */
void tf_drive(struct harness *h, struct h_conn *c, struct mtcp_sock *s, int state, bool orphan);

/* The stack's state of s's connection (TCPS_*; TCPS_CLOSED when it has
 * none), and its name. */
int tf_state(const struct mtcp_sock *s);
const char *tf_state_name(int state);

/* Linux's view (TCP_INFO's tcpi_state, TCP_ESTABLISHED...), but TIME-WAIT
 * for a connection in TIME-WAIT, where TCP_INFO says CLOSE (Linux's socket
 * says CLOSE once its mini TIME-WAIT socket has taken over); and its name. */
int tf_linux_state(struct mtcp_sock *s);
const char *tf_linux_state_name(int st);

/* Assert s's connection is in state want: TCPS_* / Linux's TCP_*. */
#define tf_assert_state(s, want) tf_assert_state_(tf_state(s), want, tf_state_name)
#define tf_assert_linux_state(s, want) \
	tf_assert_state_(tf_linux_state(s), want, tf_linux_state_name)
#define tf_assert_state_(got, want, name)                                       \
	do {                                                                    \
		int got_ = (got), want_ = (want);                               \
		ck_assert_msg(got_ == want_, "state %s, expected %s", name(got_), \
			      name(want_));                                     \
	} while (0)

#endif
