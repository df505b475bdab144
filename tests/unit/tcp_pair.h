/*
 * tcp_pair.h - two whole stacks, A (10.61.0.1) and B (10.61.0.2), on one
 * shared virtual clock, joined by an in-memory link that may be impaired
 * (loss, duplication, reordering, corruption; seeded, so every run is the
 * same). The test drives both by hand: there is no stack thread, so every
 * socket must be non-blocking.
 *
 *   struct pair p;
 *   pair_setup(&p, NULL, 0);
 *   struct mtcp_sock *a, *b;
 *   pair_connect(&p, 80, &a, &b);           // a on A, b on B, established
 *   struct pair_xfer x;
 *   pair_xfer_init(&x, &p, a, b, 100000, 100000);
 *   ck_assert_msg(pair_xfer_run(&x, 60 * USEC_PER_SEC), "%s", x.err);
 *   mtcp_close(a); mtcp_close(b);
 *   pair_teardown(&p);                       // asserts every socket closed
 *
 * MTCP_PAIR_PCAP=prefix writes what each stack sees to prefix.a.pcap and
 * prefix.b.pcap (timestamps: the virtual clock), for a test run alone.
 */
#ifndef MTCP_TCP_PAIR_H
#define MTCP_TCP_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtcp.h"
#include "stack.h"
#include "usage.h"

#define PAIR_A_IP       0x0a3d0001u     /* 10.61.0.1 */
#define PAIR_B_IP       0x0a3d0002u     /* 10.61.0.2 */

extern const uint8_t PAIR_A_MAC[6];
extern const uint8_t PAIR_B_MAC[6];

/* When nothing is due, pair_run_until advances the clock by this much
 * between two calls of its condition. */
#define PAIR_IDLE_STEP  (1 * USEC_PER_MSEC)

/* The clock is p->now: a struct pair must not move after pair_setup. */
struct pair {
	uint64_t now;                   /* the shared virtual clock, microseconds */
	struct stack *a, *b;
	struct netdev *imp;             /* A's impair device (A owns it), or NULL */
	unsigned mtu;
};

/* imp: impairment on A's end of the link (so on both directions), NULL
 * for none. mtu: 0 for 1500. */
void pair_setup(struct pair *p, const struct impair_cfg *imp, unsigned mtu);
/* Asserts every socket of both stacks was closed (TCP connections may
 * linger: see h_assert_socks_closed), then destroys both stacks. */
void pair_teardown(struct pair *p);

/* Poll both stacks at the current time until neither has anything left to
 * do now (no frame moved in a round, no timer or impair release due).
 * Returns whether any frame moved. */
bool pair_poll(struct pair *p);
/* Advance the clock to now + us, stopping at every timer and impair
 * release in between and polling there. */
void pair_run(struct pair *p, uint64_t us);
/* The same, calling cond(ctx) after every round of polls, and stopping as
 * soon as it returns true (the clock then stays where it was). Between
 * two calls the clock moves to the next timer but at most PAIR_IDLE_STEP,
 * so a condition that acts (sends, reads) gets regular turns. cond may
 * use the sockets; when it causes traffic, the stacks are polled and cond
 * asked again before the clock moves. Returns whether cond became true;
 * false with p->now == start + max_us when not. cond NULL: pair_run. */
bool pair_run_until(struct pair *p, bool (*cond)(void *ctx), void *ctx, uint64_t max_us);

/* A non-blocking listening TCP socket on st, any address, port. */
struct mtcp_sock *pair_listen(struct stack *st, uint16_t port, int backlog);
/* B listens on port, A connects (non-blocking): run until B accepts and
 * A is writable with no error (at most 60 s of virtual time), close the
 * listener. *a is A's end, *b B's, both non-blocking; the caller closes
 * them. Fails the test when the connection does not come up. */
void pair_connect(struct pair *p, uint16_t port, struct mtcp_sock **a, struct mtcp_sock **b);

/*
 * Moving data both ways at once: len[0] bytes from a to b and len[1] from
 * b to a, each a deterministic stream (pair_stream_fill(seed, dir, ...)),
 * every received byte checked against it; each sender shuts down its
 * writing side (SHUT_WR) once all its bytes are accepted, and each
 * receiver must then see EOF (recv 0) exactly after the last byte.
 * Direction 0 is a -> b, 1 is b -> a.
 */
#define PAIR_XFER_CHUNK_MAX     65536

struct pair_xfer {
	/* set by pair_xfer_init; the test may change them before running */
	struct pair *p;
	struct mtcp_sock *s[2];         /* s[0] = a (on A), s[1] = b (on B) */
	size_t len[2];                  /* bytes to move, per direction */
	uint64_t seed;                  /* of the data streams */
	size_t chunk;                   /* bytes per send call (default 16384) */
	size_t rchunk;                  /* bytes per recv call (default 16384) */
	size_t rbudget;                 /* bytes read per direction per step, 0: no limit
					 * (a slow reader: window closing, persist) */
	/* progress, per direction */
	size_t sent[2], rcvd[2];
	bool shut[2];                   /* the sender has shut down its writing side */
	bool eof[2];                    /* the receiver saw EOF */
	/* outcome */
	bool done, failed;
	char err[320];                  /* why it failed, "" otherwise */
	uint64_t t_start, t_end;        /* virtual time of pair_xfer_run / completion */
};

void pair_xfer_init(struct pair_xfer *x, struct pair *p, struct mtcp_sock *a,
		    struct mtcp_sock *b, size_t a_to_b, size_t b_to_a);
/* One round of I/O on both sockets, as far as they take it; a condition
 * for pair_run_until: true once done or failed. */
bool pair_xfer_step(void *x);
/* Run the transfer for at most max_us of virtual time. true when every
 * byte went both ways, verified, and both ends saw EOF; else x->err says
 * what went wrong (a wrong byte, an error, or where it stood at the
 * timeout). */
bool pair_xfer_run(struct pair_xfer *x, uint64_t max_us);
/* "a->b 100000/100000 shut eof, b->a 5000/100000" into buf; returns buf. */
const char *pair_xfer_status(const struct pair_xfer *x, char *buf, size_t len);

/* The bytes at [pos, pos + n) of stream dir (0 or 1) of seed. */
void pair_stream_fill(uint64_t seed, unsigned dir, uint64_t pos, uint8_t *buf, size_t n);

#endif
