/* timer.c - binary min-heap of one-shot timers. */
#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "timer.h"

void timer_init(struct timer *t, timer_fn fn)
{
	t->expires = 0;
	t->index = SIZE_MAX;
	t->fn = fn;
}

static void heap_set(struct timer_heap *h, size_t i, struct timer *t)
{
	h->v[i] = t;
	t->index = i;
}

static void sift_up(struct timer_heap *h, size_t i)
{
	struct timer *t = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->v[parent]->expires <= t->expires)
			break;
		heap_set(h, i, h->v[parent]);
		i = parent;
	}
	heap_set(h, i, t);
}

static void sift_down(struct timer_heap *h, size_t i)
{
	struct timer *t = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->expires < h->v[c]->expires)
			c++;
		if (t->expires <= h->v[c]->expires)
			break;
		heap_set(h, i, h->v[c]);
		i = c;
	}
	heap_set(h, i, t);
}

int timer_arm(struct timer_heap *h, struct timer *t, uint64_t expires)
{
	if (timer_armed(t)) {
		uint64_t old = t->expires;
		t->expires = expires;
		if (expires < old)
			sift_up(h, t->index);
		else
			sift_down(h, t->index);
		return 0;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timer **v = realloc(h->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	t->expires = expires;
	heap_set(h, h->n++, t);
	sift_up(h, t->index);
	return 0;
}

void timer_cancel(struct timer_heap *h, struct timer *t)
{
	size_t i = t->index;

	if (i == SIZE_MAX)
		return;
	t->index = SIZE_MAX;
	if (--h->n == i)
		return;
	heap_set(h, i, h->v[h->n]);
	/* The moved timer may belong above or below its new place. */
	if (i > 0 && h->v[(i - 1) / 2]->expires > h->v[i]->expires)
		sift_up(h, i);
	else
		sift_down(h, i);
}

uint64_t timer_next(const struct timer_heap *h)
{
	return h->n ? h->v[0]->expires : TIME_NEVER;
}

unsigned timer_run(struct stack *st, struct timer_heap *h, uint64_t now)
{
	unsigned ran = 0;

	while (h->n && h->v[0]->expires <= now) {
		struct timer *t = h->v[0];
		timer_cancel(h, t);
		t->fn(st, t);
		ran++;
	}
	return ran;
}

void timer_heap_free(struct timer_heap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->index = SIZE_MAX;
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
