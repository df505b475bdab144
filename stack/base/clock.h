/*
 * clock.h - the stack's notion of time.
 *
 * Protocol code never reads a system clock: it reads stack_now(), which
 * asks the clock the stack was created with. The real clock is
 * CLOCK_MONOTONIC; unit tests use a virtual clock they advance by hand, so
 * a 60 s timeout takes no time and every run is the same.
 * All times are microseconds.
 */
#ifndef MTCP_CLOCK_H
#define MTCP_CLOCK_H

#include <stdint.h>

#define USEC_PER_MSEC   1000ULL
#define USEC_PER_SEC    1000000ULL
#define TIME_NEVER      UINT64_MAX

struct mtcp_clock {
	uint64_t (*now)(void *ctx);     /* monotonic microseconds */
	uint64_t (*wall)(void *ctx);    /* microseconds since the epoch (pcap) */
	void *ctx;
};

/* CLOCK_MONOTONIC / CLOCK_REALTIME. */
extern const struct mtcp_clock mtcp_real_clock;

/* A virtual clock: now() returns *(uint64_t *)ctx; wall() the same. */
struct mtcp_clock mtcp_virtual_clock(uint64_t *t);

#endif
