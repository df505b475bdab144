/*
 * tcp_ring.h - a growable ring of bytes: a TCP connection's send and
 * receive queues. Guarded by whatever guards the control block that
 * holds it (the stack lock).
 */
#ifndef MTCP_TCP_RING_H
#define MTCP_TCP_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The send buffer (first byte at snd_una) and the receive buffer (first
 * byte is the next one the user reads). Allocated on first use, so an
 * idle connection costs no buffer memory. */
struct tcp_ring {
	uint8_t *buf;
	uint32_t cap;           /* allocated bytes */
	uint32_t limit;         /* what it may grow to */
	uint32_t head;          /* index of the first byte */
	uint32_t len;           /* bytes held */
};

int ring_reserve(struct tcp_ring *r, uint32_t want);
uint32_t ring_write_iov(struct tcp_ring *r, const struct iovec *iov, size_t iovcnt,
			size_t *iov_idx, size_t *iov_off, uint32_t max);
uint32_t ring_write(struct tcp_ring *r, const uint8_t *data, uint32_t len);
void ring_peek(const struct tcp_ring *r, uint32_t off, uint8_t *out, uint32_t len);
void ring_consume(struct tcp_ring *r, uint32_t len);
void ring_free(struct tcp_ring *r);
static inline uint32_t ring_space(const struct tcp_ring *r)
{
	return r->limit > r->len ? r->limit - r->len : 0;
}

#endif
