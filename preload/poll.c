/*
 * poll.c - poll, ppoll, select and pselect over any mix of kernel fds and
 * stack sockets.
 *
 * With no stack socket among the fds, the call is the kernel's. Otherwise
 * the stack sockets are asked first (mtcp_poll); when none is ready and
 * the call may block, one real ppoll waits on the kernel fds plus this
 * thread's eventfd, which the watched sockets write when their readiness
 * changes (psock_notify). No busy loop, no periodic wakeup.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "preload.h"

/* One fd of the call that is a stack socket. */
struct pent {
	nfds_t i;               /* index in the caller's array */
	struct psock *ps;
	struct pwatch pw;
};

static uint64_t ts_to_us(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000u + (uint64_t)(ts->tv_nsec + 999) / 1000u;
}

/*
 * The core: fds[0..n) as poll(2) takes them; ts: NULL (forever) or a
 * relative timeout; sigmask for ppoll. Returns the count of fds with
 * events, or -errno. *left gets the time left (select's timeout update).
 */
static int mixed_poll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		      const sigset_t *sigmask, struct timespec *left)
{
	struct pent small[16], *pe = small;
	struct pollfd ksmall[17], *kfds = ksmall;
	nfds_t ismall[17], *kidx = ismall;
	nfds_t np = 0, nk = 0;
	uint64_t deadline = 0;
	int rc, err = 0;

	for (nfds_t i = 0; i < n; i++) {
		struct psock *ps = psock_get(fds[i].fd);

		if (!ps)
			continue;
		if (np == 16 && pe == small) {
			pe = malloc(n * sizeof(*pe));
			if (!pe) {
				psock_put(ps);
				rc = -ENOMEM;
				np = 16;
				pe = small;
				goto out;
			}
			memcpy(pe, small, sizeof(small));
		}
		pe[np].i = i;
		pe[np].ps = ps;
		np++;
	}
	if (np == 0) {
		rc = PL_OUTSIDE(REAL(ppoll)(fds, n, ts, sigmask));
		return rc < 0 ? -errno : rc;
	}

	/* The kernel's share: the other fds, packed (kidx: where each is in
	 * fds), this thread's eventfd last. Packed, not masked with -1: the
	 * kernel refuses more entries than RLIMIT_NOFILE (EINVAL), which
	 * a sandboxed process sets as low as 1 (sshd). */
	if (n + 1 > 17) {
		kfds = malloc((n + 1) * sizeof(*kfds));
		kidx = malloc((n + 1) * sizeof(*kidx));
		if (!kfds || !kidx) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (nfds_t i = 0, j = 0; i < n; i++) {
		if (j < np && pe[j].i == i) {
			j++;
			continue;
		}
		if (fds[i].fd < 0) {
			fds[i].revents = 0;     /* as the kernel: ignored */
			continue;
		}
		kfds[nk] = fds[i];
		kidx[nk++] = i;
	}

	struct pwaiter *w = pl_waiter(&err);
	if (!w) {
		rc = err;
		goto out;
	}
	for (nfds_t j = 0; j < np; j++)
		psock_watch(pe[j].ps, &pe[j].pw, w, fds[pe[j].i].events | EPOLLRDHUP);
	kfds[nk].fd = w->efd;
	kfds[nk].events = POLLIN;
	if (ts)
		deadline = pl_now_us() + ts_to_us(ts);

	for (;;) {
		int ready = 0;

		for (nfds_t j = 0; j < np; j++) {
			struct pollfd *p = &fds[pe[j].i];

			p->revents = (short)(psock_poll(pe[j].ps) &
					     ((unsigned)(unsigned short)p->events |
					      POLLERR | POLLHUP));
			ready += p->revents != 0;
		}
		struct timespec zero = { 0, 0 }, rem, *tsp = NULL;
		bool block = ready == 0 && !(ts && deadline <= pl_now_us());

		/* Sleep only if nothing was signalled since we looked. */
		if (block && !pl_sleep_begin(w))
			continue;
		if (!block) {
			tsp = &zero;
		} else if (ts) {
			uint64_t now = pl_now_us(), l = deadline > now ? deadline - now : 0;
			rem.tv_sec = (time_t)(l / 1000000u);
			rem.tv_nsec = (long)(l % 1000000u) * 1000;
			tsp = &rem;
		}
		/* Waiting: the eventfd joins the set; not waiting: the kernel
		 * fds are only asked. */
		rc = PL_OUTSIDE(REAL(ppoll)(kfds, block ? nk + 1 : nk, tsp, block ? sigmask : NULL));
		if (rc < 0)
			rc = -errno;
		if (block)
			pl_sleep_end(w);
		if (rc < 0)
			break;
		for (nfds_t k = 0; k < nk; k++) {
			fds[kidx[k]].revents = kfds[k].revents;
			ready += kfds[k].revents != 0;
		}
		if (block && (kfds[nk].revents & POLLIN)) {
			uint64_t v;
			if (REAL(read)(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				err = -errno;
		}
		if (ready || !block || (rc == 0 && ts)) {
			rc = ready;
			break;
		}
		/* Only our eventfd: a watched socket changed; look again. */
	}
	for (nfds_t j = 0; j < np; j++)
		psock_unwatch(&pe[j].pw);
	if (left && ts) {
		uint64_t now = pl_now_us(), l = deadline > now ? deadline - now : 0;
		left->tv_sec = (time_t)(l / 1000000u);
		left->tv_nsec = (long)(l % 1000000u) * 1000;
	}
out:
	for (nfds_t j = 0; j < np; j++)
		psock_put(pe[j].ps);
	if (pe != small)
		free(pe);
	if (kfds != ksmall)
		free(kfds);
	if (kidx != ismall)
		free(kidx);
	return rc;
}

PL_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts;

	if (!fdt_used())
		return REAL(poll)(fds, n, timeout);
	PL_SECTION();
	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
	}
	return pl_ret(mixed_poll(fds, n, timeout >= 0 ? &ts : NULL, NULL, NULL));
}

PL_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!fdt_used())
		return REAL(ppoll)(fds, n, ts, mask);
	PL_SECTION();
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return pl_ret(-EINVAL);
	return pl_ret(mixed_poll(fds, n, ts, mask, NULL));
}

extern void __chk_fail(void) __attribute__((noreturn));
PL_LOCAL(poll);
PL_LOCAL(ppoll);

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return pl_poll(fds, n, timeout);
}

int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		const sigset_t *mask, size_t fdslen);
PL_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return pl_ppoll(fds, n, ts, mask);
}

/* Linux's select: what poll bits make an fd readable, writable,
 * exceptional (fs/select.c POLLIN_SET, POLLOUT_SET, POLLEX_SET). */
#define SEL_IN  (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define SEL_EX  (POLLPRI)

static bool has_stack_fd(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	if (!fdt_used() || nfds <= 0)
		return false;
	PL_SECTION();           /* psock_put may release the last reference */
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE && fd <= fdt_max(); fd++) {
		if (!((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e))))
			continue;
		struct psock *ps = psock_get(fd);
		if (ps) {
			psock_put(ps);
			return true;
		}
	}
	return false;
}

/* select over poll: same answers as Linux's do_select for the same fds. */
static int mixed_select(int nfds, fd_set *r, fd_set *w, fd_set *e,
			const struct timespec *ts, const sigset_t *mask,
			struct timespec *left)
{
	struct pollfd *p;
	int n = 0, rc;

	if (nfds > FD_SETSIZE)
		nfds = FD_SETSIZE;
	p = malloc((size_t)nfds * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)(((r && FD_ISSET(fd, r)) ? POLLIN : 0) |
				   ((w && FD_ISSET(fd, w)) ? POLLOUT : 0) |
				   ((e && FD_ISSET(fd, e)) ? POLLPRI : 0));
		if (!ev)
			continue;
		p[n].fd = fd;
		p[n].events = ev;
		p[n].revents = 0;
		n++;
	}
	rc = mixed_poll(p, (nfds_t)n, ts, mask, left);
	if (rc >= 0) {
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLNVAL)
				rc = -EBADF;
	}
	if (rc >= 0) {
		rc = 0;
		for (int i = 0; i < n; i++) {
			int fd = p[i].fd;
			bool rin = r && FD_ISSET(fd, r), win = w && FD_ISSET(fd, w),
			     ein = e && FD_ISSET(fd, e);
			if (r)
				FD_CLR(fd, r);
			if (w)
				FD_CLR(fd, w);
			if (e)
				FD_CLR(fd, e);
			if (rin && (p[i].revents & SEL_IN)) {
				FD_SET(fd, r);
				rc++;
			}
			if (win && (p[i].revents & SEL_OUT)) {
				FD_SET(fd, w);
				rc++;
			}
			if (ein && (p[i].revents & SEL_EX)) {
				FD_SET(fd, e);
				rc++;
			}
		}
	}
	free(p);
	return rc;
}

PL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	struct timespec ts, left;

	if (!has_stack_fd(nfds, r, w, e))
		return REAL(select)(nfds, r, w, e, tv);
	PL_SECTION();
	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0)
			return pl_ret(-EINVAL);
		ts.tv_sec = tv->tv_sec + tv->tv_usec / 1000000;
		ts.tv_nsec = (long)(tv->tv_usec % 1000000) * 1000;
		left = ts;
	}
	int rc = mixed_select(nfds, r, w, e, tv ? &ts : NULL, NULL, &left);
	/* Linux writes the time left back (select(2), NOTES). */
	if (tv && rc != -ENOMEM) {
		tv->tv_sec = left.tv_sec;
		tv->tv_usec = left.tv_nsec / 1000;
	}
	return pl_ret(rc);
}

PL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
	    const sigset_t *mask)
{
	if (!has_stack_fd(nfds, r, w, e))
		return REAL(pselect)(nfds, r, w, e, ts, mask);
	PL_SECTION();
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return pl_ret(-EINVAL);
	return pl_ret(mixed_select(nfds, r, w, e, ts, mask, NULL));
}
