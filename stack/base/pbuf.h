/*
 * pbuf.h - a packet under construction or in a queue.
 *
 * One allocation: the header, then headroom for every header the layers
 * below will push (Ethernet + IPv4 with options + TCP with options), then
 * room for the payload. Output builds the transport header and payload and
 * each layer pushes its own header in front; whoever is handed a pbuf owns
 * it and must free it or pass it on.
 */
#ifndef MTCP_PBUF_H
#define MTCP_PBUF_H

#include <stddef.h>
#include <stdint.h>

#define PBUF_HEADROOM   (14 + 60 + 60 + 2)      /* eth + ip max + tcp max, aligned */

struct pbuf {
	struct pbuf *next;      /* for whoever queues it */
	uint8_t *data;          /* first byte of the packet */
	size_t len;             /* bytes from data */
	size_t size;            /* bytes of buf */
	uint64_t stamp;         /* free for the queue owner (e.g. enqueue time) */
	uint32_t addr;          /* free for the queue owner (a datagram's source) */
	uint16_t port;
	/* Offloads (set by the transport, used by netif_xmit): l4_pos is the
	 * index in buf of a TCP/UDP header whose checksum field, at
	 * csum_offset, holds only the pseudo-header sum for the device to
	 * finish (0: the checksum is complete); gso_size, when not 0, asks
	 * the device to cut the TCP payload, which starts at payload_pos,
	 * into segments of that size. */
	uint16_t l4_pos, csum_offset;
	uint16_t gso_size, payload_pos;
	uint8_t buf[];
};

/* A pbuf with headroom and room for payload bytes after it, len = 0,
 * data at the end of the headroom. NULL when out of memory. */
struct pbuf *pbuf_alloc(size_t payload);
void pbuf_free(struct pbuf *p);
/* Free a whole next-linked chain. */
void pbuf_free_chain(struct pbuf *p);

/* Prepend n bytes (a header) and return a pointer to them. The caller
 * guarantees the headroom (PBUF_HEADROOM covers every header the stack
 * pushes). */
static inline uint8_t *pbuf_push(struct pbuf *p, size_t n)
{
	p->data -= n;
	p->len += n;
	return p->data;
}

/* Append n bytes at the tail and return a pointer to them. */
static inline uint8_t *pbuf_put(struct pbuf *p, size_t n)
{
	uint8_t *t = p->data + p->len;
	p->len += n;
	return t;
}

static inline size_t pbuf_headroom(const struct pbuf *p)
{
	return (size_t)(p->data - p->buf);
}

static inline size_t pbuf_tailroom(const struct pbuf *p)
{
	return p->size - pbuf_headroom(p) - p->len;
}

#endif
