/*
 * epoll.c - epoll instances that watch stack sockets next to kernel fds.
 *
 * An instance is a real epoll fd (so kernel fds, nested epoll fds and
 * poll/select on the epoll fd itself all work as the kernel does) plus,
 * for the stack sockets, a list of items and a ready list kept here. A
 * wake-up eventfd of the instance sits in the real set: it is readable
 * while the ready list is not empty, which makes the epoll fd readable
 * to whoever polls it, and ends a real epoll_wait sleeping on it.
 *
 * Items follow Linux's fs/eventpoll.c: a socket's wakeup queues an item
 * when the wakeup's events match it; epoll_wait then asks the socket for
 * its readiness now and reports the item if any asked-for event is there;
 * level-triggered items go back on the ready list, edge-triggered ones
 * wait for the next wakeup, one-shot ones for EPOLL_CTL_MOD. Items are
 * keyed by (socket, fd) and vanish when the socket is released.
 */
#include <stdlib.h>
#include <string.h>

#include "preload.h"

/* data.u64 of the wake-up eventfd in the real set. */
#define PEP_WAKE_KEY    0x6d7463702d77616bULL   /* "mtcp-wak" */

struct pep {
	struct fdobj fo;
	int wake;                       /* eventfd, non-blocking */
	/* pl_lock: */
	bool wake_set;                  /* wake holds a count, or will (deferred) */
	bool wake_deferred;             /* the stack thread writes it after its
					   batch (pep_wake_deferred) */
	unsigned sleepers;              /* threads in a real epoll_wait */
	struct pitem *rdy_head, *rdy_tail;
	struct pitem *items;            /* every live item */
};

struct pitem {
	struct pwatch pw;               /* on the socket's watch list */
	struct pep *ep;
	int fd;
	epoll_data_t data;
	/* pl_lock: */
	bool linked;                    /* on ep->items and pw.ps's list */
	bool on_rdy;
	bool disabled;                  /* EPOLLONESHOT fired */
	unsigned refs;                  /* linked + on_rdy + snapshots */
	struct pitem *next, *prev;      /* ep->items */
	struct pitem *rnext;            /* ep's ready list */
};

#define EP_FLAGS        (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)
#define EP_EXCL_OK      (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | \
			 EPOLLET | EPOLLEXCLUSIVE)

static void pep_release(struct fdobj *o);
static void pep_free(struct fdobj *o);

const struct fdobj_ops pep_ops = {
	.name = "epoll",
	.release = pep_release,
	.free = pep_free,
};

static struct pep *pep_get(int fd)
{
	return (struct pep *)fdt_get_kind(fd, &pep_ops);
}

/* pl_lock held for all of the item helpers. */

static void item_unref(struct pitem *it)
{
	if (--it->refs == 0)
		free(it);
}

/* Instances whose wake-up the stack thread's current batch deferred, each
 * with a reference (stack thread only). */
#define EP_DEFER_MAX 64
static struct pep *ep_deferred[EP_DEFER_MAX];
static unsigned nep_deferred;

static void wake_write(struct pep *ep)
{
	uint64_t one = 1;

	if (REAL(write)(ep->wake, &one, sizeof(one)) < 0)
		log_error(pre, "epoll wake-up: %s", strerror(errno));
}

static void wake_set(struct pep *ep)
{
	if (ep->wake_set)
		return;
	ep->wake_set = true;
	if (ep->wake_deferred)
		return;         /* the stack thread's pending write covers it */
	/* From the stack thread, the write waits for the end of its batch:
	 * a thread woken now would only find the stack locked. */
	if (pl_stack_thread && nep_deferred < EP_DEFER_MAX &&
	    urcu_ref_get_unless_zero(&ep->fo.ref)) {
		ep->wake_deferred = true;
		ep_deferred[nep_deferred++] = ep;
		return;
	}
	wake_write(ep);
}

void pep_wake_deferred(void)
{
	unsigned n = nep_deferred;

	if (!n)
		return;
	pthread_mutex_lock(&pl_lock);
	for (unsigned i = 0; i < n; i++) {
		struct pep *ep = ep_deferred[i];
		ep->wake_deferred = false;
		/* Unless a harvest took the ready list meanwhile. */
		if (ep->wake_set)
			wake_write(ep);
	}
	pthread_mutex_unlock(&pl_lock);
	nep_deferred = 0;
	for (unsigned i = 0; i < n; i++)
		fdt_put(&ep_deferred[i]->fo);
}

static void rdy_add(struct pitem *it)
{
	struct pep *ep = it->ep;

	if (!it->on_rdy) {
		it->on_rdy = true;
		it->refs++;
		it->rnext = NULL;
		if (ep->rdy_tail)
			ep->rdy_tail->rnext = it;
		else
			ep->rdy_head = it;
		ep->rdy_tail = it;
	}
	wake_set(ep);
}

static struct pitem *rdy_pop(struct pep *ep)
{
	struct pitem *it = ep->rdy_head;

	if (!it)
		return NULL;
	ep->rdy_head = it->rnext;
	if (!ep->rdy_head)
		ep->rdy_tail = NULL;
	it->on_rdy = false;
	return it;              /* the list's reference passes to the caller */
}

/* Take it off its socket's watch list and its instance's item list. */
static void item_unlink(struct pitem *it)
{
	struct pwatch *pw = &it->pw;

	if (!it->linked)
		return;
	if (pw->ps) {
		if (pw->prev)
			pw->prev->next = pw->next;
		else
			pw->ps->watchers = pw->next;
		if (pw->next)
			pw->next->prev = pw->prev;
		pw->ps->nitems--;
		pw->ps = NULL;
	}
	if (it->prev)
		it->prev->next = it->next;
	else
		it->ep->items = it->next;
	if (it->next)
		it->next->prev = it->prev;
	it->linked = false;
	item_unref(it);
}

static void wake_clear(struct pep *ep)
{
	uint64_t v;

	if (!ep->wake_set)
		return;
	/* A deferred wake-up not written yet is simply called off. */
	if (!ep->wake_deferred && REAL(read)(ep->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error(pre, "epoll wake-up: %s", strerror(errno));
	ep->wake_set = false;
}

/* Take it off its instance's ready list (a short list: a walk). */
static void rdy_remove(struct pitem *it)
{
	struct pep *ep = it->ep;
	struct pitem **pp, *prev = NULL;

	for (pp = &ep->rdy_head; *pp; prev = *pp, pp = &(*pp)->rnext) {
		if (*pp != it)
			continue;
		*pp = it->rnext;
		if (ep->rdy_tail == it)
			ep->rdy_tail = prev;
		it->on_rdy = false;
		item_unref(it);
		return;
	}
}

void pep_recheck(struct psock *ps)
{
	unsigned rev = psock_poll(ps);

	pthread_mutex_lock(&pl_lock);
	for (struct pwatch *pw = ps->watchers, *next; pw; pw = next) {
		struct pitem *it = (struct pitem *)pw;

		next = pw->next;
		if (pw->kind != PW_EPOLL || !it->on_rdy ||
		    (rev & ((pw->events & ~EP_FLAGS) | EPOLLERR | EPOLLHUP)))
			continue;
		struct pep *ep = it->ep;
		rdy_remove(it);
		if (!ep->rdy_head)
			wake_clear(ep);
	}
	pthread_mutex_unlock(&pl_lock);
}

bool pep_item_notify(struct pwatch *pw, unsigned events)
{
	struct pitem *it = (struct pitem *)pw;

	if (it->disabled || !(events & (pw->events | EPOLLERR | EPOLLHUP)))
		return false;
	rdy_add(it);
	return (pw->events & EPOLLEXCLUSIVE) && it->ep->sleepers;
}

void pep_item_drop(struct pwatch *pw)
{
	struct pitem *it = (struct pitem *)pw;

	/* psock_release took pw off the socket's list already. */
	pw->ps = NULL;
	item_unlink(it);
}

static struct pitem *item_find(struct psock *ps, struct pep *ep, int fd)
{
	for (struct pwatch *pw = ps->watchers; pw; pw = pw->next) {
		struct pitem *it = (struct pitem *)pw;
		if (pw->kind == PW_EPOLL && it->ep == ep && it->fd == fd)
			return it;
	}
	return NULL;
}

/* ------------------------------------------------------------ create */

static int pep_create(int kfd)
{
	struct pep *ep;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = PEP_WAKE_KEY };

	if (kfd < 0)
		return kfd;
	PL_SECTION();
	fdt_forget(kfd);
	ep = calloc(1, sizeof(*ep));
	if (!ep)
		goto fail;
	fdobj_init(&ep->fo, &pep_ops);
	ep->wake = REAL(eventfd)(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ep->wake >= 0)
		ep->wake = pl_own_fd(ep->wake);     /* not the program's (ownfd.c) */
	if (ep->wake < 0) {
		free(ep);
		goto fail;
	}
	if (REAL(epoll_ctl)(kfd, EPOLL_CTL_ADD, ep->wake, &ev) < 0 ||
	    fdt_install(kfd, &ep->fo) < 0) {
		int e = errno;
		pl_own_close(ep->wake);
		free(ep);
		errno = e;
		goto fail;
	}
	fdt_put(&ep->fo);       /* the table holds it */
	return kfd;
fail:
	{
		int e = errno;
		REAL(close)(kfd);
		errno = e;
	}
	return -1;
}

PL_EXPORT int epoll_create(int size)
{
	return pep_create(REAL(epoll_create)(size));
}

PL_EXPORT int epoll_create1(int flags)
{
	return pep_create(REAL(epoll_create1)(flags));
}

/* Every fd naming the instance is closed. */
static void pep_release(struct fdobj *o)
{
	struct pep *ep = (struct pep *)o;

	pthread_mutex_lock(&pl_lock);
	while (ep->items)
		item_unlink(ep->items);
	for (struct pitem *it; (it = rdy_pop(ep));)
		item_unref(it);
	pthread_mutex_unlock(&pl_lock);
	pl_own_close(ep->wake);
}

static void pep_free(struct fdobj *o)
{
	free(o);
}

/* ------------------------------------------------------------ ctl */

static int ctl_sock(struct pep *ep, int op, int fd, struct psock *ps, struct epoll_event *ev)
{
	struct pitem *it;
	int rc = 0;

	if (op != EPOLL_CTL_DEL && !ev)
		return -EFAULT;
	if (op == EPOLL_CTL_ADD && (ev->events & EPOLLEXCLUSIVE) &&
	    ((ev->events & ~EP_EXCL_OK) || (ev->events & EPOLLONESHOT)))
		return -EINVAL;
	pthread_mutex_lock(&pl_lock);
	it = item_find(ps, ep, fd);
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it) {
			rc = -EEXIST;
			break;
		}
		it = calloc(1, sizeof(*it));
		if (!it) {
			rc = -ENOMEM;
			break;
		}
		it->pw.kind = PW_EPOLL;
		it->pw.ps = ps;
		it->pw.events = ev->events;
		it->ep = ep;
		it->fd = fd;
		it->data = ev->data;
		it->linked = true;
		it->refs = 1;
		ps->nitems++;
		it->pw.next = ps->watchers;
		if (ps->watchers)
			ps->watchers->prev = &it->pw;
		ps->watchers = &it->pw;
		it->next = ep->items;
		if (ep->items)
			ep->items->prev = it;
		ep->items = it;
		break;
	case EPOLL_CTL_MOD:
		if (!it) {
			rc = -ENOENT;
			break;
		}
		if ((ev->events | it->pw.events) & EPOLLEXCLUSIVE) {
			rc = -EINVAL;
			break;
		}
		it->pw.events = ev->events;
		it->data = ev->data;
		it->disabled = false;
		break;
	case EPOLL_CTL_DEL:
		if (!it)
			rc = -ENOENT;
		else
			item_unlink(it);
		it = NULL;
		break;
	default:
		rc = -EINVAL;
		break;
	}
	pthread_mutex_unlock(&pl_lock);
	if (rc < 0 || !it)
		return rc;

	/* Ready already? (ep_insert / ep_modify poll the file once.) */
	unsigned rev = psock_poll(ps);
	pthread_mutex_lock(&pl_lock);
	if (it->linked && !it->disabled && (rev & (it->pw.events | EPOLLERR | EPOLLHUP)))
		rdy_add(it);
	pthread_mutex_unlock(&pl_lock);
	return 0;
}

PL_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct psock *ps = psock_get(fd);
	struct pep *ep;
	int rc;

	if (!ps)
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	PL_SECTION();
	ep = pep_get(epfd);
	if (!ep) {
		psock_put(ps);
		if (REAL(fcntl)(epfd, F_GETFD) < 0)
			return -1;      /* EBADF */
		/* An epoll fd we did not create (a raw system call, or one
		 * inherited through exec): it cannot watch our sockets. */
		log_warn(pre, "epoll_ctl: fd %d is not an epoll instance made through "
			 "microtcp; it cannot watch socket %d: EINVAL", epfd, fd);
		return pl_ret(-EINVAL);
	}
	rc = ctl_sock(ep, op, fd, ps, ev);
	fdt_put(&ep->fo);
	psock_put(ps);
	return pl_ret(rc);
}

/* ------------------------------------------------------------ wait */

enum { SNAP = 64 };

/* Report up to max ready stack sockets of ep into out. */
static int harvest(struct pep *ep, struct epoll_event *out, int max)
{
	struct pitem *snap[SNAP];
	struct psock *ps[SNAP];
	unsigned rev[SNAP];
	int ns = 0, n = 0;

	pthread_mutex_lock(&pl_lock);
	wake_clear(ep);
	while (ns < max && ns < SNAP) {
		struct pitem *it = rdy_pop(ep);

		if (!it)
			break;
		/* A socket being released has no references left: skip it. */
		if (!it->linked || it->disabled || !it->pw.ps ||
		    !urcu_ref_get_unless_zero(&it->pw.ps->fo.ref)) {
			item_unref(it);
			continue;
		}
		ps[ns] = it->pw.ps;
		snap[ns++] = it;
	}
	pthread_mutex_unlock(&pl_lock);
	if (ns == 0) {
		pthread_mutex_lock(&pl_lock);
		goto out;
	}

	for (int i = 0; i < ns; i++) {
		rev[i] = psock_poll(ps[i]);
		psock_put(ps[i]);
	}

	pthread_mutex_lock(&pl_lock);
	for (int i = 0; i < ns; i++) {
		struct pitem *it = snap[i];
		uint32_t want = (it->pw.events & ~EP_FLAGS) | EPOLLERR | EPOLLHUP;
		uint32_t ev = rev[i] & want;

		if (it->linked && !it->disabled && ev) {
			out[n].events = ev;
			out[n].data = it->data;
			n++;
			if (it->pw.events & EPOLLONESHOT)
				it->disabled = true;
			else if (!(it->pw.events & EPOLLET))
				rdy_add(it);    /* level: look again next time */
		}
		item_unref(it);
	}
out:
	if (ep->rdy_head)
		wake_set(ep);           /* still something: stay readable */
	pthread_mutex_unlock(&pl_lock);
	return n;
}

/* Take the wake-up eventfd's entries out of what the kernel reported. */
static int drop_wake(struct epoll_event *ev, int n, bool *woke)
{
	int k = 0;

	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == PEP_WAKE_KEY) {
			*woke = true;
			continue;
		}
		ev[k++] = ev[i];
	}
	return k;
}

/* timeout: -1 forever, else microseconds. */
static int pep_wait(struct pep *ep, int epfd, struct epoll_event *ev, int max,
		    int64_t timeout, const sigset_t *mask)
{
	uint64_t deadline = timeout > 0 ? pl_now_us() + (uint64_t)timeout : 0;

	if (max <= 0)
		return -EINVAL;
	for (;;) {
		int n = harvest(ep, ev, max), k;
		bool woke = false;

		if (n > 0) {
			/* Add what the kernel has now, without waiting. */
			if (n < max) {
				k = REAL(epoll_wait)(epfd, ev + n, max - n, 0);
				if (k > 0)
					n += drop_wake(ev + n, k, &woke);
			}
			return n;
		}
		struct timespec ts, *tsp = NULL;
		if (timeout >= 0) {
			uint64_t now = pl_now_us(), left = 0;
			if (timeout > 0 && deadline > now)
				left = deadline - now;
			ts.tv_sec = (time_t)(left / 1000000u);
			ts.tv_nsec = (long)(left % 1000000u) * 1000;
			tsp = &ts;
		}
		pthread_mutex_lock(&pl_lock);
		ep->sleepers++;
		pthread_mutex_unlock(&pl_lock);
		if (REAL(epoll_pwait2)) {
			k = PL_OUTSIDE(REAL(epoll_pwait2)(epfd, ev, max, tsp, mask));
		} else {
			int ms = !tsp ? -1 : (int)((uint64_t)ts.tv_sec * 1000u +
						   ((uint64_t)ts.tv_nsec + 999999u) / 1000000u);
			k = PL_OUTSIDE(REAL(epoll_pwait)(epfd, ev, max, ms, mask));
		}
		int e = errno;
		pthread_mutex_lock(&pl_lock);
		ep->sleepers--;
		pthread_mutex_unlock(&pl_lock);
		if (k < 0)
			return -e;
		k = drop_wake(ev, k, &woke);
		if (k > 0) {
			if (woke && k < max)
				k += harvest(ep, ev + k, max - k);
			return k;
		}
		if (!woke)
			return 0;       /* the timeout */
		/* Only the wake-up: a stack socket is ready; harvest. */
	}
}

PL_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	struct pep *ep = pep_get(epfd);

	if (!ep)
		return REAL(epoll_wait)(epfd, ev, max, timeout);
	PL_SECTION();
	int rc = pep_wait(ep, epfd, ev, max, timeout < 0 ? -1 : (int64_t)timeout * 1000, NULL);
	fdt_put(&ep->fo);
	return pl_ret(rc);
}

PL_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	struct pep *ep = pep_get(epfd);

	if (!ep)
		return REAL(epoll_pwait)(epfd, ev, max, timeout, mask);
	PL_SECTION();
	int rc = pep_wait(ep, epfd, ev, max, timeout < 0 ? -1 : (int64_t)timeout * 1000, mask);
	fdt_put(&ep->fo);
	return pl_ret(rc);
}

PL_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts,
		 const sigset_t *mask)
{
	struct pep *ep;

	if (!REAL(epoll_pwait2)) {
		errno = ENOSYS;
		return -1;
	}
	ep = pep_get(epfd);
	if (!ep)
		return REAL(epoll_pwait2)(epfd, ev, max, ts, mask);
	PL_SECTION();
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
		fdt_put(&ep->fo);
		return pl_ret(-EINVAL);
	}
	int64_t us = !ts ? -1 : (int64_t)ts->tv_sec * 1000000 + (ts->tv_nsec + 999) / 1000;
	int rc = pep_wait(ep, epfd, ev, max, us, mask);
	fdt_put(&ep->fo);
	return pl_ret(rc);
}
