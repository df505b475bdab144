/*
 * stack.h - one stack instance: the state every protocol module shares.
 *
 * stack.c creates and destroys it and drives one pass (receive, timers);
 * netif.c is its device side; loop.c its thread. Each protocol keeps its
 * own state behind a pointer here, in a struct its own file defines.
 *
 * Everything in struct stack is guarded by st->lock unless said otherwise.
 * Functions in stack/ that take a struct stack * expect the lock held,
 * except the mtcp_* API (mtcp.h), which takes it.
 */
#ifndef MTCP_STACK_H
#define MTCP_STACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "pbuf.h"
#include "stats.h"
#include "timer.h"
#include "host.h"
#include "dev/dev.h"
#include "wire/ether.h"
#include "wire/ipv4.h"

struct mtcp_sock;
struct ipv4_pkt;
struct tcpcb;

/* The largest TCP payload of one TSO super-frame: its IPv4 total length
 * must fit 16 bits with the largest headers. */
#define TSO_MAX_PAYLOAD (65535 - 20 - 60)


/* Called for each packet of a protocol, payload validated by the IPv4 layer. */
typedef void (*ipv4_input_fn)(struct stack *st, const struct ipv4_pkt *pkt);
/* How an error about a packet we sent came to be known. */
enum ipv4_err_kind {
	IPV4_ERR_SOFT,          /* an ICMP soft error (RFC 1122 4.2.3.9) */
	IPV4_ERR_HARD,          /* an ICMP hard error: ends a connection attempt */
	IPV4_ERR_LOCAL,         /* found here: the next hop never answered ARP */
};

/* Called for each ICMP error about a packet of the protocol we sent: err is
 * the errno it maps to, kind where it comes from, orig the IPv4 header of
 * our packet as quoted and data/len what of its payload was quoted (at
 * least 8 bytes). */
typedef void (*ipv4_err_fn)(struct stack *st, int err, enum ipv4_err_kind kind,
			    const struct ipv4_repr *orig, const uint8_t *data, size_t len);

struct stack {
	pthread_mutex_t lock;
	struct mtcp_clock clock;
	struct mtcp_config cfg;
	struct netdev *dev;
	uint64_t rng;                   /* xorshift64* state */

	uint8_t mac[ETH_ALEN];
	uint32_t addr, mask;            /* host order */
	uint32_t bcast;                 /* subnet-directed broadcast */
	unsigned mtu;
	unsigned offload;               /* NETDEV_F_* the stack uses */
	unsigned tso_max;               /* largest TCP super-frame payload; 0: no TSO */

	struct timer_heap timers;
	struct stack_stats stats;

	/* Each protocol's own state, in a struct its file defines and its
	 * init allocates (arp.c, ipv4.c, ip_reass.c, icmp.c, udp.c; TCP's in
	 * tcp_var.h, shared by the tcp_*.c files). Nothing else looks inside. */
	struct arp *arp;
	struct ipv4 *ip;
	struct ip_reass *ip_reass;
	struct icmp *icmp;
	struct udp *udp;
	struct tcp *tcp;

	/* The other processes on this address (stack/host/host.h), NULL
	 * when the stack is alone (tests, MTCP_SHARE=off). */
	struct host *host;
	/* Sockets held by several processes, by handle (handoff.c). */
	struct handoff *handoff;

	/* Sockets (socket.c) */
	struct mtcp_sock *socks;        /* every live socket (socket.c) */
	unsigned nsockets;

	/* The stack thread (loop.c). sleep_until is when the sleeping thread
	 * means to wake up on its own (TIME_NEVER: only when kicked), 0 while
	 * it is awake; stack_unlock compares it with the timers, so a timer
	 * another thread arms earlier (a connect()'s SYN timer, an ARP retry)
	 * kicks it. Written under the lock; read without it only by tx_flush
	 * after a send (atomics). */
	pthread_t thread;
	bool running, stopping;
	int wake_fd;
	int loop_epfd;          /* the thread's fds as an epoll set (loop.c), or -1 */
	bool mail_ready;        /* the thread's poll saw the mailbox readable
				   (atomic: stack_poll_locked reads it) */
	uint64_t sleep_until;
	/* mtcp_stack_call: a function the thread runs at its next turn
	 * (atomics; one caller at a time, call_lock). */
	pthread_mutex_t call_lock;
	void (*call_fn)(void *);
	void *call_arg;
	bool call_done;

	/* The frame being received (netif.c): room for the largest IPv4
	 * packet (a merged TCP frame). */
	uint8_t rxbuf[ETH_HLEN + 65535 + 64] __attribute__((aligned(8)));

	/* Frames waiting for stack_unlock (under lock), and the lock that
	 * orders their sending. tx_failed counts frames the device refused,
	 * outside the stack lock; netif_tx_errors folds it into the drops. */
	struct pbuf *txq_head, *txq_tail;
	size_t txq_bytes;
	pthread_mutex_t tx_lock;
	uint64_t tx_failed;
};

static inline uint64_t stack_now(const struct stack *st)
{
	return st->clock.now(st->clock.ctx);
}

/* Count a drop and log it at debug. Returns nothing: callers free what
 * they hold themselves. */
void stack_drop(struct stack *st, enum drop_reason r);

/* A segment or datagram for no socket of ours: true when this stack is
 * the one to answer it (RST, port unreachable): alone, or the host's
 * default member and nobody else on the address owns the flow. Counts
 * the drop when not. Ports and addresses in host order. */
bool stack_answers(struct stack *st, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport);

/* The stack's PRNG (seeded from the config or getrandom). Not for secrets
 * that face an attacker: TCP's ISN gets its own keyed hash (RFC 6528). */
uint64_t stack_rand(struct stack *st);

/* mtcp_stack_leftovers with the lock held. shed: a TIME-WAIT that must
 * not outlive the process (a port another member listens on) closes. */
unsigned stack_leftovers_locked(struct stack *st, bool shed);

/* mtcp_stack_poll_at with the lock held. */
uint64_t stack_poll_at_locked(struct stack *st);

/* ---- netif.c: the device side ---- */

/* mtcp_thread_quiet was called on this thread. */
extern __thread bool stack_tls_quiet;

/* Wake the stack thread (it has queued work, e.g. looped-back packets). */
void stack_kick(struct stack *st);
/* The stack stops: connections other members sent and the stack thread
 * never read go on from here (tcp_migrate.c: to another member, or
 * reset), not with the mailbox. Lock held, the thread gone. */
void stack_mail_flush(struct stack *st);

/* ---- handoff.c: sockets several processes hold ---- */

/* A mailbox message of the handoff protocol? (the others are
 * tcp_migrate.c's). */
bool handoff_is_msg(const void *msg, size_t len);
/* Handle one; fd: the descriptor that came with it (-1: none), closed. */
void handoff_input(struct stack *st, const void *msg, size_t len, int fd);
/* Every HOST_SWEEP_US: close what the holders that died held alone. */
void handoff_tick(struct stack *st, uint64_t now);
/* tcp_input: a segment for no connection here while one is on its way
 * (we asked for it): held (true), replayed when it comes. */
struct ipv4_pkt;
bool handoff_hold(struct stack *st, const struct ipv4_pkt *pkt);
/* Sockets kept for other processes, none of ours using them. */
unsigned handoff_held(struct stack *st);
void handoff_destroy(struct stack *st);

/* Read up to budget frames from the device and hand each to Ethernet
 * with what the device said about it. Returns how many were read. */
unsigned netif_input(struct stack *st, unsigned budget);

/* Fold the frames the device refused (counted outside the lock) into the
 * drops. */
void netif_tx_errors(struct stack *st);

/* Give a frame to the device. The pbuf is consumed.
 * The frame waits on the transmit queue until the lock is released
 * (stack_unlock); it is lost there only if the device refuses it. */
int netif_xmit(struct stack *st, struct pbuf *p);

/*
 * Release the stack lock, then send the frames queued under it. Sending
 * into a veth or a TAP runs the kernel's receive path for the peer inside
 * our system call (softirq), several microseconds a frame: under the stack
 * lock that time stalled every other thread that wanted it. tx_lock keeps
 * the frames of successive holders in order: it is taken before the stack
 * lock is let go (lock order: stack, then tx).
 */
void stack_unlock(struct stack *st);
#define TXQ_FLUSH_BYTES (16 * 1024)    /* queued beyond this: sent at once,
					   the lock kept (netif_xmit) */

#endif
