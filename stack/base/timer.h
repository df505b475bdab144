/*
 * timer.h - one-shot timers on the stack's clock, kept in a binary min-heap.
 *
 * A timer is embedded in the object it serves (an ARP entry, a reassembly
 * queue, later a TCP control block). Arming an armed timer moves it;
 * cancelling an idle timer does nothing. Callbacks run from timer_run()
 * with the stack lock held and may re-arm or cancel any timer, including
 * their own, and may free the object that embeds it after cancelling.
 * Call everything here with the stack lock held.
 */
#ifndef MTCP_TIMER_H
#define MTCP_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stack;
struct timer;

typedef void (*timer_fn)(struct stack *st, struct timer *t);

struct timer {
	uint64_t expires;
	size_t index;           /* position in the heap; SIZE_MAX when idle */
	timer_fn fn;
};

struct timer_heap {
	struct timer **v;
	size_t n, cap;
};

void timer_init(struct timer *t, timer_fn fn);
static inline bool timer_armed(const struct timer *t)
{
	return t->index != SIZE_MAX;
}
/* 0, or -ENOMEM (the timer stays as it was). */
int timer_arm(struct timer_heap *h, struct timer *t, uint64_t expires);
void timer_cancel(struct timer_heap *h, struct timer *t);
/* The earliest expiry, or TIME_NEVER. */
uint64_t timer_next(const struct timer_heap *h);
/* Run every timer due at now; returns how many ran. */
unsigned timer_run(struct stack *st, struct timer_heap *h, uint64_t now);
void timer_heap_free(struct timer_heap *h);

#endif
