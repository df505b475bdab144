/*
 * blocking.c - the tests' blocking calls over the non-blocking stack: one
 * mutex, one condition variable and a generation count that every hooked
 * socket's notify bumps. A waiter notes the generation, looks at
 * mtcp_poll, and sleeps only while the generation is unchanged, so a
 * notify between its look and its sleep is never lost. One condition for
 * every socket: a test has few waiters, and each looks again at its own.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <time.h>

#include "blocking.h"

static pthread_mutex_t bw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bw_cond;          /* on CLOCK_MONOTONIC */
static pthread_once_t bw_once = PTHREAD_ONCE_INIT;
static uint64_t bw_gen;                 /* bw_lock */

static void bw_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&bw_cond, &ca);
	pthread_condattr_destroy(&ca);
}

/* The notify hook: stack lock held, so only bw_lock is taken. */
static void bw_notify(struct mtcp_sock *s, unsigned ev, void *ctx)
{
	(void)s;
	(void)ev;
	(void)ctx;
	pthread_mutex_lock(&bw_lock);
	bw_gen++;
	pthread_cond_broadcast(&bw_cond);
	pthread_mutex_unlock(&bw_lock);
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The deadline of a call bounded by s's option timeo (0: none). */
static uint64_t deadline_of(struct mtcp_sock *s, int timeo)
{
	uint64_t t = mtcp_sock_timeo(s, timeo);

	return t ? mono_us() + t : 0;
}

int bw_wait(struct mtcp_sock *s, unsigned events, uint64_t deadline)
{
	pthread_once(&bw_once, bw_init);
	mtcp_set_notify(s, bw_notify, NULL);
	for (;;) {
		pthread_mutex_lock(&bw_lock);
		uint64_t gen = bw_gen;
		pthread_mutex_unlock(&bw_lock);

		/* As the stack's blocking calls did: a stopped stack is
		 * not waited on. */
		if (mtcp_sock_stopped(s))
			return -ESHUTDOWN;
		if (mtcp_poll(s) & (events | EPOLLERR | EPOLLHUP))
			return 0;
		pthread_mutex_lock(&bw_lock);
		while (bw_gen == gen) {
			if (!deadline) {
				pthread_cond_wait(&bw_cond, &bw_lock);
				continue;
			}
			struct timespec ts = {
				.tv_sec = (time_t)(deadline / 1000000u),
				.tv_nsec = (long)(deadline % 1000000u) * 1000,
			};
			if (pthread_cond_timedwait(&bw_cond, &bw_lock, &ts) == ETIMEDOUT &&
			    bw_gen == gen) {
				pthread_mutex_unlock(&bw_lock);
				return -ETIMEDOUT;
			}
		}
		pthread_mutex_unlock(&bw_lock);
	}
}

int bw_accept(struct mtcp_sock *l, struct sockaddr_in *peer, struct mtcp_sock **out)
{
	uint64_t deadline = deadline_of(l, SO_RCVTIMEO);
	int rc;

	while ((rc = mtcp_accept(l, peer, out)) == -EAGAIN) {
		int w = bw_wait(l, EPOLLIN, deadline);
		if (w < 0)
			return w == -ETIMEDOUT ? -EAGAIN : w;
	}
	return rc;
}

int bw_connect(struct mtcp_sock *s, const struct sockaddr_in *to)
{
	uint64_t deadline = deadline_of(s, SO_SNDTIMEO);
	int rc = mtcp_connect(s, (const struct sockaddr *)to, sizeof(*to));

	/* The handshake's end shows as EPOLLOUT or EPOLLERR; connect again
	 * to hear it (-EALREADY: not yet). */
	while (rc == -EINPROGRESS || rc == -EALREADY) {
		int w = bw_wait(s, EPOLLOUT, deadline);
		if (w < 0)
			return w == -ETIMEDOUT ? -EINPROGRESS : w;
		rc = mtcp_connect(s, (const struct sockaddr *)to, sizeof(*to));
	}
	return rc;
}

ssize_t bw_sendto(struct mtcp_sock *s, const void *buf, size_t len, int flags,
		  const struct sockaddr_in *to)
{
	uint64_t deadline = deadline_of(s, SO_SNDTIMEO);
	size_t done = 0;

	for (;;) {
		ssize_t n = mtcp_sendto(s, (const char *)buf + done, len - done, flags, to);
		if (n >= 0) {
			done += (size_t)n;
			if (done >= len)
				return (ssize_t)done;
			continue;
		}
		if (n != -EAGAIN || (flags & MSG_DONTWAIT))
			return done ? (ssize_t)done : n;
		int w = bw_wait(s, EPOLLOUT, deadline);
		if (w < 0)
			return done ? (ssize_t)done : w == -ETIMEDOUT ? -EAGAIN : w;
	}
}

ssize_t bw_recvfrom(struct mtcp_sock *s, void *buf, size_t len, int flags,
		    struct sockaddr_in *from)
{
	uint64_t deadline = deadline_of(s, SO_RCVTIMEO);
	bool all = (flags & (MSG_WAITALL | MSG_PEEK)) == MSG_WAITALL;
	size_t got = 0;

	for (;;) {
		ssize_t n = mtcp_recvfrom(s, (char *)buf + got, len - got, flags, from);
		if (n > 0) {
			got += (size_t)n;
			if (!all || got >= len)
				return (ssize_t)got;
			continue;
		}
		if (n != -EAGAIN || (flags & MSG_DONTWAIT))
			return got ? (ssize_t)got : n;
		int w = bw_wait(s, EPOLLIN | EPOLLRDHUP, deadline);
		if (w < 0)
			return got ? (ssize_t)got : w == -ETIMEDOUT ? -EAGAIN : w;
	}
}

void bw_close(struct mtcp_sock *s)
{
	struct linger l;
	socklen_t len = sizeof(l);

	if (mtcp_getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len) < 0 ||
	    !l.l_onoff || l.l_linger <= 0) {
		mtcp_close(s);
		return;
	}
	mtcp_sock_hold(s);
	mtcp_close(s);
	/* Closed: EPOLLHUP once the FIN is acknowledged (mtcp_poll). */
	bw_wait(s, EPOLLHUP, mono_us() + (uint64_t)l.l_linger * 1000000u);
	mtcp_set_notify(s, NULL, NULL);
	mtcp_sock_put(s);
}
