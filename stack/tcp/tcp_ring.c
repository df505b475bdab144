/*
 * tcp_ring.c - the byte rings that hold a connection's data: the send
 * queue (unacknowledged and unsent bytes) and the in-order receive queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_ring.h"

/* Make room for want more bytes (up to limit): allocate or grow. */
int ring_reserve(struct tcp_ring *r, uint32_t want)
{
	uint32_t need = r->len + want;

	if (need > r->limit)
		need = r->limit;
	if (need <= r->cap)
		return 0;
	uint32_t ncap = r->cap ? r->cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if (ncap > r->limit)
		ncap = r->limit;
	uint8_t *nb = malloc(ncap);
	if (!nb)
		return -ENOMEM;
	/* Linearize into the new buffer. */
	if (r->len)
		ring_peek(r, 0, nb, r->len);
	free(r->buf);
	r->buf = nb;
	r->cap = ncap;
	r->head = 0;
	return 0;
}

static void ring_copy_in(struct tcp_ring *r, const uint8_t *data, uint32_t n)
{
	uint32_t tail = (r->head + r->len) % r->cap;
	uint32_t first = r->cap - tail < n ? r->cap - tail : n;

	memcpy(r->buf + tail, data, first);
	memcpy(r->buf, data + first, n - first);
	r->len += n;
}

uint32_t ring_write(struct tcp_ring *r, const uint8_t *data, uint32_t len)
{
	if (ring_reserve(r, len) < 0)
		return 0;
	uint32_t n = r->cap - r->len;

	if (n > len)
		n = len;
	ring_copy_in(r, data, n);
	return n;
}

uint32_t ring_write_iov(struct tcp_ring *r, const struct iovec *iov, size_t iovcnt,
			size_t *iov_idx, size_t *iov_off, uint32_t max)
{
	uint32_t done = 0;

	if (ring_reserve(r, max) < 0)
		return 0;
	while (*iov_idx < iovcnt && done < max && r->len < r->cap) {
		const struct iovec *v = &iov[*iov_idx];
		size_t left = v->iov_len - *iov_off;
		uint32_t n = r->cap - r->len;
		if (n > max - done)
			n = max - done;
		if (n > left)
			n = (uint32_t)left;
		ring_copy_in(r, (const uint8_t *)v->iov_base + *iov_off, n);
		done += n;
		*iov_off += n;
		if (*iov_off == v->iov_len) {
			(*iov_idx)++;
			*iov_off = 0;
		}
	}
	return done;
}

void ring_peek(const struct tcp_ring *r, uint32_t off, uint8_t *out, uint32_t len)
{
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = r->cap - start < len ? r->cap - start : len;

	memcpy(out, r->buf + start, first);
	memcpy(out + first, r->buf, len - first);
}

/* An empty ring this small is given back: an idle connection (a
 * keep-alive client between requests) then holds no buffer memory, as a
 * Linux socket holds no skbs once its queues drain. A bigger one carries
 * a bulk transfer that empties it all the time; it stays. */
#define RING_KEEP_MIN   (64 * 1024)

void ring_consume(struct tcp_ring *r, uint32_t len)
{
	r->len -= len;
	r->head = r->len ? (r->head + len) % r->cap : 0;
	if (!r->len && r->cap < RING_KEEP_MIN)
		ring_free(r);
}

void ring_free(struct tcp_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->head = r->len = 0;
}
