/* pbuf.c - packet buffers. */
#include <stdlib.h>

#include "pbuf.h"

struct pbuf *pbuf_alloc(size_t payload)
{
	/* At least a minimum Ethernet frame's worth, so padding always fits. */
	size_t size = PBUF_HEADROOM + (payload < 64 ? 64 : payload);
	struct pbuf *p = malloc(sizeof(*p) + size);

	if (!p)
		return NULL;
	p->next = NULL;
	p->size = size;
	p->data = p->buf + PBUF_HEADROOM;
	p->len = 0;
	p->stamp = 0;
	p->addr = 0;
	p->port = 0;
	p->l4_pos = p->csum_offset = 0;
	p->gso_size = p->payload_pos = 0;
	return p;
}

void pbuf_free(struct pbuf *p)
{
	free(p);
}

void pbuf_free_chain(struct pbuf *p)
{
	while (p) {
		struct pbuf *next = p->next;
		free(p);
		p = next;
	}
}
