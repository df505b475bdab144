/*
 * netif.c - the stack's ground floor: frames between the device and the
 * protocols.
 *
 * Receive: netif_input reads a batch of frames from the device and hands
 * each to Ethernet with what the device said about it (struct
 * netdev_rxinfo, passed down with the frame to IPv4 and TCP).
 *
 * Transmit: the protocols queue finished frames with netif_xmit under the
 * stack lock; stack_unlock sends them after letting the lock go, in
 * order (tx_lock). The capture (pcap) and the impairment are device
 * wrappers below this file (dev/), not steps in it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mtcp.h"
#include "os.h"
#include "proto.h"
#include "stack.h"

/* The calling thread makes no system call but read, write, ppoll and
 * futex (mtcp_thread_quiet): what it queues, the stack thread sends. */
__thread bool stack_tls_quiet __attribute__((tls_model("initial-exec")));

void mtcp_thread_quiet(void)
{
	stack_tls_quiet = true;
}

void stack_kick(struct stack *st)
{
	uint64_t one = 1;

	if (st->wake_fd >= 0) {
		ssize_t r = mtcp_os.write(st->wake_fd, &one, sizeof(one));
		(void)r;        /* EAGAIN: the counter is already non-zero */
	}
}

static void tx_flush(struct stack *st, bool release);

int netif_xmit(struct stack *st, struct pbuf *p)
{
	st->stats.eth_tx++;
	p->next = NULL;
	if (st->txq_tail)
		st->txq_tail->next = p;
	else
		st->txq_head = p;
	st->txq_tail = p;
	/* A bulk sender builds a whole window at once: its super-frames go
	 * as they are made, so their buffers stay few and warm in the cache
	 * (queueing them all cost a fifth of its throughput). Small frames,
	 * where the lock hand-off matters, wait for stack_unlock. */
	st->txq_bytes += p->len;
	if (st->txq_bytes >= TXQ_FLUSH_BYTES && !stack_tls_quiet)
		tx_flush(st, false);
	return 0;
}

/* Send a chain of frames; tx_lock held. */
static void tx_send(struct stack *st, struct pbuf *p)
{
	uint64_t now = stack_now(st);

	while (p) {
		struct pbuf *next = p->next;
		int rc;

		if (p->l4_pos) {
			size_t start = pbuf_headroom(p);
			struct netdev_offload o = {
				.csum_start = (uint16_t)(p->l4_pos - start),
				.csum_offset = p->csum_offset,
				.gso_size = p->gso_size,
				.hdr_len = (uint16_t)(p->payload_pos - start),
			};
			rc = netdev_send_offload(st->dev, p->data, p->len, &o, now);
		} else {
			rc = netdev_send(st->dev, p->data, p->len, now);
		}
		if (rc < 0)
			__atomic_add_fetch(&st->tx_failed, 1, __ATOMIC_RELAXED);
		pbuf_free(p);
		p = next;
	}
}

/* Stack lock held: a timer armed while the stack thread sleeps (by
 * another thread) expires before the thread means to wake: wake it, once. */
static bool timers_need_kick(struct stack *st)
{
	uint64_t until = __atomic_load_n(&st->sleep_until, __ATOMIC_RELAXED);

	if (until == 0 || timer_next(&st->timers) >= until)
		return false;
	__atomic_store_n(&st->sleep_until, 0, __ATOMIC_RELAXED);
	return true;
}

/* A send that may have moved the device's own deadline (a wrapper that
 * holds frames back, like impair) wakes a sleeping stack thread to look
 * again; tap and packet have no deadline. */
static bool device_needs_kick(struct stack *st)
{
	uint64_t until;

	if (!st->dev->ops->poll_at)
		return false;
	until = __atomic_load_n(&st->sleep_until, __ATOMIC_RELAXED);
	return until != 0 && __atomic_compare_exchange_n(&st->sleep_until, &until, 0,
							false, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED);
}

/* Empty the transmit queue into the device, in order: with the stack
 * lock held, tx_lock is taken before release (if asked) lets the stack
 * lock go, so no later holder's frames can overtake these. Either way,
 * a sleeping stack thread is woken if what this holder did needs it. */
static void tx_flush(struct stack *st, bool release)
{
	struct pbuf *q = st->txq_head;
	bool kick = timers_need_kick(st);

	if (q && stack_tls_quiet && st->running) {
		/* Not ours to send: the stack thread's next pass does. */
		if (release)
			pthread_mutex_unlock(&st->lock);
		stack_kick(st);
		return;
	}
	if (!q) {
		if (release)
			pthread_mutex_unlock(&st->lock);
		if (kick)
			stack_kick(st);
		return;
	}
	st->txq_head = st->txq_tail = NULL;
	st->txq_bytes = 0;
	pthread_mutex_lock(&st->tx_lock);
	if (release)
		pthread_mutex_unlock(&st->lock);
	tx_send(st, q);
	pthread_mutex_unlock(&st->tx_lock);
	if (kick || device_needs_kick(st))
		stack_kick(st);
}

void stack_unlock(struct stack *st)
{
	tx_flush(st, true);
}

/* MTCP_OFFLOAD=off, or a device that vouches for nothing: every
 * checksum is ours to check. */
static void rx_own_checksums(uint8_t *frame, size_t len, struct netdev_rxinfo *rx)
{
	if (rx->csum == NETDEV_CSUM_PARTIAL)
		netdev_csum_complete(frame, len);
	rx->csum = NETDEV_CSUM_NONE;
}

unsigned netif_input(struct stack *st, unsigned budget)
{
	uint64_t now = stack_now(st);
	unsigned n;

	for (n = 0; n < budget; n++) {
		ssize_t len = netdev_recv(st->dev, st->rxbuf, sizeof(st->rxbuf), now);
		if (len <= 0) {
			if (len < 0 && len != -EAGAIN)
				log_warn(dev, "receive on %s: %s", st->dev->name,
					 strerror((int)-len));
			break;
		}
		struct netdev_rxinfo rx = st->dev->rx;
		if (!(st->offload & NETDEV_F_RXCSUM))
			rx_own_checksums(st->rxbuf, (size_t)len, &rx);
		ether_input(st, st->rxbuf, (size_t)len, &rx);
	}
	return n;
}

void netif_tx_errors(struct stack *st)
{
	uint64_t failed = __atomic_exchange_n(&st->tx_failed, 0, __ATOMIC_RELAXED);

	if (failed) {
		st->stats.drops[DROP_DEV_TX_FAIL] += failed;
		st->stats.eth_tx -= failed;
	}
}
