/* clock.c - the real and virtual clocks. */
#include <time.h>

#include "clock.h"

static uint64_t ts_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t real_now(void *ctx)
{
	(void)ctx;
	return ts_us(CLOCK_MONOTONIC);
}

static uint64_t real_wall(void *ctx)
{
	(void)ctx;
	return ts_us(CLOCK_REALTIME);
}

const struct mtcp_clock mtcp_real_clock = { real_now, real_wall, 0 };

static uint64_t virtual_now(void *ctx)
{
	return *(const uint64_t *)ctx;
}

struct mtcp_clock mtcp_virtual_clock(uint64_t *t)
{
	return (struct mtcp_clock){ virtual_now, virtual_now, t };
}
