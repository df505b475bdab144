/*
 * stack.h - one stack instance: the state every protocol module shares.
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
#include "dev/dev.h"
#include "wire/ether.h"
#include "wire/ipv4.h"

struct mtcp_sock;
struct ipv4_pkt;
struct arp_entry;
struct reass;
struct tcpcb;

/* The largest TCP payload of one TSO super-frame: its IPv4 total length
 * must fit 16 bits with the largest headers. */
#define TSO_MAX_PAYLOAD (65535 - 20 - 60)

#define ARP_HASH        64
#define UDP_HASH        256
#define MAX_ROUTES      8
#define ICMP_PEERS      64
#define TCP_BHASH       256
#define TCP_EHASH       4096

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

struct route {
	uint32_t dst, mask;     /* host order */
	uint32_t gw;            /* 0: directly connected */
};

struct icmp_bucket {
	uint32_t peer;
	uint64_t stamp;
	uint32_t tokens;        /* in microseconds of credit */
};

struct stack {
	pthread_mutex_t lock;
	struct mtcp_clock clock;
	struct mtcp_config cfg;
	struct netdev *dev;
	struct pcap_writer *pcap;
	uint64_t rng;                   /* xorshift64* state */

	uint8_t mac[ETH_ALEN];
	uint32_t addr, mask;            /* host order */
	uint32_t bcast;                 /* subnet-directed broadcast */
	unsigned mtu;
	unsigned offload;               /* NETDEV_F_* the stack uses */
	unsigned tso_max;               /* largest TCP super-frame payload; 0: no TSO */

	struct timer_heap timers;
	struct stack_stats stats;

	/* ARP (arp.c) */
	struct arp_entry *arp_hash[ARP_HASH];
	unsigned arp_count;
	struct timer arp_gc;

	/* IPv4 (ipv4.c, ip_reass.c) */
	ipv4_input_fn proto_input[256];
	ipv4_err_fn proto_err[256];
	struct route routes[MAX_ROUTES];
	unsigned nroutes;
	uint16_t ip_id;
	struct reass *reass_list;       /* oldest first */
	unsigned reass_count;
	size_t reass_bytes;
	struct pbuf *loop_head, *loop_tail;     /* packets to ourselves */
	unsigned loop_count;

	/* ICMP (icmp.c): global bucket + per-peer buckets, RFC 1812 4.3.2.8 */
	struct icmp_bucket icmp_global;
	struct icmp_bucket icmp_peer[ICMP_PEERS];

	/* TCP (tcp_subr.c): every bound control block by local port, every
	 * one with a peer by 4-tuple. */
	struct tcpcb *tcp_bhash[TCP_BHASH];
	struct tcpcb *tcp_lhash[TCP_BHASH];     /* the listeners alone: a SYN
						   never walks a port's connections */
	struct tcpcb *tcp_ehash[TCP_EHASH];
	unsigned tcp_pcbs;              /* control blocks allocated: the leak oracle */
	struct tcpcb *tcp_out_head;     /* output deferred to the end of the batch */
	uint64_t isn_key[2];            /* RFC 6528 secret */
	uint64_t challenge_stamp;       /* RFC 5961 7: the per-second budget */
	unsigned challenge_count;

	/* Sockets (socket.c, udp.c) */
	struct mtcp_sock *udp_hash[UDP_HASH];
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
	uint64_t sleep_until;

	/* The frame being received: room for the largest IPv4 packet (a
	 * merged TCP frame), and what the device said about it. */
	struct netdev_rxinfo rx;
	uint8_t rxbuf[ETH_HLEN + 65535 + 64];

	/* Frames waiting for stack_unlock (under lock), and the lock that
	 * orders their sending. tx_failed counts frames the device refused,
	 * outside the stack lock; stack_poll folds it into the drops. */
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

/* The stack's PRNG (seeded from the config or getrandom). Not for secrets
 * that face an attacker: TCP's ISN gets its own keyed hash (RFC 6528). */
uint64_t stack_rand(struct stack *st);

/* Wake the stack thread (it has queued work, e.g. looped-back packets). */
void stack_kick(struct stack *st);

/* mtcp_stack_poll_at with the lock held. */
uint64_t stack_poll_at_locked(struct stack *st);

/* Give a frame to the device (and the pcap writer). The pbuf is consumed.
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
#define TXQ_FLUSH_BYTES (16 * 1024)    /* queued beyond this: sent at once */
/* Send the queued frames while keeping the lock (before waiting on a
 * condition variable, which releases the lock without stack_unlock). */
void stack_flush_locked(struct stack *st);

#endif
