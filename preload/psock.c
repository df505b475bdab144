/*
 * psock.c - the preload's socket object, and how threads wait for one.
 *
 * A blocking call never sleeps inside the stack (no stack call does): it
 * tries, and when the stack says -EAGAIN it sleeps on its thread's
 * eventfd, which psock_notify writes. Sleeping in the kernel gives the
 * kernel's signal semantics for free: a read(2) of the eventfd is
 * restarted after an SA_RESTART handler and fails with EINTR otherwise,
 * as a socket call without a timeout is; with a timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO) ppoll(2) fails with EINTR whatever the flags,
 * as signal(7) says such socket calls do.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"

/* Adaptive, as the stack's lock (see mtcp_stack_open): held briefly, often
 * by the stack thread and the application at once. */
pthread_mutex_t pl_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;

static void psock_release(struct fdobj *o);
static void psock_free(struct fdobj *o);

const struct fdobj_ops psock_ops = {
	.name = "socket",
	.release = psock_release,
	.free = psock_free,
};

static void waiter_kick(struct pwaiter *w)
{
	uint64_t one = 1;

	if (REAL(write)(w->efd, &one, sizeof(one)) < 0)
		log_error(pre, "waking a waiter: %s", strerror(errno));
}

/* Waiters the stack thread's current batch woke (stack thread only). */
#define DEFER_MAX 64
static struct pwaiter *deferred[DEFER_MAX];
static unsigned ndeferred;

/* The stack's hook: stack lock held, so only pl_lock may be taken. */
static void psock_notify(struct mtcp_sock *s, unsigned events, void *ctx)
{
	struct psock *ps = ctx;
	bool exclusive_woken = false;

	(void)s;
	pthread_mutex_lock(&pl_lock);
	for (struct pwatch *pw = ps->watchers; pw; pw = pw->next) {
		if (pw->kind == PW_EPOLL) {
			/* EPOLLEXCLUSIVE: the walk stops at the first
			 * instance someone sleeps on (Linux's ep_poll_callback
			 * return value ends an exclusive wake-up). */
			if (exclusive_woken && (pw->events & EPOLLEXCLUSIVE))
				continue;
			if (pep_item_notify(pw, events))
				exclusive_woken = true;
			continue;
		}
		if (!(events & (pw->events | EPOLLERR | EPOLLHUP)))
			continue;
		struct pwaiter *w = pw->w;

		w->signaled = true;
		if (w->sleeping) {
			w->sleeping = false;
			if (pl_stack_thread && ndeferred < DEFER_MAX) {
				/* Woken after the batch, when the stack is
				 * unlocked: it would otherwise wake only to
				 * wait for the stack lock. */
				w->wake_deferred = true;
				deferred[ndeferred++] = w;
			} else {
				waiter_kick(w);
			}
		}
	}
	pthread_mutex_unlock(&pl_lock);
}

void pl_wake_deferred(void)
{
	pep_wake_deferred();
	if (!ndeferred)
		return;
	for (unsigned i = 0; i < ndeferred; i++)
		waiter_kick(deferred[i]);
	pthread_mutex_lock(&pl_lock);
	for (unsigned i = 0; i < ndeferred; i++)
		deferred[i]->wake_deferred = false;
	pthread_mutex_unlock(&pl_lock);
	ndeferred = 0;
}

struct psock *psock_new(struct mtcp_sock *s, int type, bool nonblock)
{
	struct psock *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	fdobj_init(&ps->fo, &psock_ops);
	ps->s = s;
	ps->type = type;
	ps->pid = getpid();
	ps->gen = pl_gen;
	ps->nonblock = nonblock;
	mtcp_set_notify(s, psock_notify, ps);
	return ps;
}

struct psock *psock_new_inherited(int type, bool nonblock, uint64_t id)
{
	struct psock *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	fdobj_init(&ps->fo, &psock_ops);
	ps->type = type;
	ps->pid = getpid();
	ps->gen = pl_gen;
	ps->nonblock = nonblock;
	ps->handle = id;
	return ps;
}

/* ps's shell in st for its handle (mtcp_shell's joined); 0 or -errno. */
static int psock_shell(struct psock *ps, struct stack *st, bool joined)
{
	struct mtcp_sock *s;
	int rc;

	if ((rc = mtcp_shell(st, ps->type, ps->handle, joined, &s)) < 0)
		return rc;
	mtcp_set_notify(s, psock_notify, ps);
	__atomic_store_n(&ps->s, s, __ATOMIC_RELEASE);
	return 0;
}

void psock_adopt_late(struct psock *ps)
{
	static pthread_mutex_t late_lock = PTHREAD_MUTEX_INITIALIZER;
	struct stack *st;
	int rc = 0;

	pthread_mutex_lock(&late_lock);
	if (ps->s || ps->dead)
		goto out;
	if (!(st = pl_stack(&rc)) || (rc = psock_shell(ps, st, false)) < 0) {
		log_warn(pre, "exec: an inherited connection cannot be taken up (%s): "
			 "every call on it fails with EBADFD", strerror(-rc));
		ps->dead = true;
	}
out:
	pthread_mutex_unlock(&late_lock);
}

struct psock *psock_new_received(struct stack *st, uint64_t id, bool nonblock)
{
	struct psock *ps = psock_new_inherited(SOCK_STREAM, nonblock, id);
	int rc;

	if (!ps)
		return NULL;
	if ((rc = psock_shell(ps, st, true)) < 0) {
		log_warn(pre, "SCM_RIGHTS: a connection received cannot be taken up "
			 "(%s): every call on it fails with EBADFD", strerror(-rc));
		ps->dead = true;
	}
	return ps;
}

/* SO_LINGER's time in µs when it is on with one, else 0. */
static uint64_t linger_us(struct mtcp_sock *s)
{
	struct linger l;
	socklen_t len = sizeof(l);

	if (mtcp_getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len) < 0 ||
	    !l.l_onoff || l.l_linger <= 0)
		return 0;
	return (uint64_t)l.l_linger * 1000000u;
}

/*
 * close(2) with SO_LINGER on and a time: Linux's tcp_close waits, even
 * with O_NONBLOCK, until the FIN is acknowledged (sk_stream_wait_close),
 * the time passes or a signal comes; close returns 0 either way. s has
 * been closed with our reference kept: it shows EPOLLHUP once its closing
 * is done, and our hook, hung again for the wait, says when to look.
 */
static void linger_wait(struct psock *ps, struct mtcp_sock *s, uint64_t us)
{
	uint64_t deadline = pl_now_us() + us;
	struct pwatch pw;
	struct pwaiter *w;
	int err = 0;

	if (!(w = pl_waiter(&err))) {
		log_warn(pre, "close: no eventfd to wait on for SO_LINGER (%s): not "
			 "waiting", strerror(-err));
		return;
	}
	psock_watch(ps, &pw, w, EPOLLHUP);
	mtcp_set_notify(s, psock_notify, ps);
	while (!(mtcp_poll(s) & EPOLLHUP)) {
		if (pl_sleep(w, deadline, false) < 0)
			break;          /* -ETIMEDOUT or -EINTR */
	}
	mtcp_set_notify(s, NULL, NULL);
	psock_unwatch(&pw);
}

/* The last reference: every fd naming it is closed and no call is using
 * it. */
static void psock_release(struct fdobj *o)
{
	struct psock *ps = (struct psock *)o;

	pthread_mutex_lock(&pl_lock);
	while (ps->watchers) {
		struct pwatch *pw = ps->watchers;

		/* Only epoll items can be left (a waiter holds a reference
		 * while it waits): Linux drops a file's epoll items when the
		 * file is released. */
		ps->watchers = pw->next;
		pw->next = pw->prev = NULL;
		pw->ps = NULL;
		pep_item_drop(pw);
	}
	for (struct sockopt_rec *r = ps->opts, *n; r; r = n) {
		n = r->next;
		free(r);
	}
	ps->opts = NULL;
	pthread_mutex_unlock(&pl_lock);
	/* Never used since an exec left it: its shell, to let go properly. */
	if (!ps->s && ps->handle && !ps->dead)
		psock_adopt_late(ps);
	/* A dead socket's stack is the parent's: never touched (s is NULL). */
	if (ps->s && mtcp_handle(ps->s)) {
		/* Other processes may hold it: they keep it open. */
		mtcp_set_notify(ps->s, NULL, NULL);
		mtcp_release(ps->s);
	} else if (ps->s) {
		struct mtcp_sock *s = ps->s;
		/* Linux's inet_release: no lingering for a process that is
		 * exiting (PF_EXITING); the FIN or RST goes all the same. */
		uint64_t linger = ps->type == SOCK_STREAM &&
				  !__atomic_load_n(&pl_exiting, __ATOMIC_RELAXED) ?
				  linger_us(s) : 0;

		if (linger)
			mtcp_sock_hold(s);      /* to watch its closing */
		mtcp_set_notify(s, NULL, NULL);
		mtcp_close(s);
		if (linger) {
			linger_wait(ps, s, linger);
			mtcp_sock_put(s);
		}
	}
	ps->s = NULL;
}

static void psock_free(struct fdobj *o)
{
	free(o);
}

bool psock_dead(struct psock *ps)
{
	int rc;

	if (ps->dead) {
		errno = EBADFD;
		return true;
	}
	if (!ps->s || !mtcp_remote(ps->s) || (rc = psock_claim(ps)) == 0)
		return false;
	errno = -rc;
	return true;
}

/* How long a process waits for a connection it asked for: the owner's
 * stack thread answers within a pass; only a stopped or wedged owner
 * takes longer. */
#define CLAIM_TIMEOUT_US (5 * 1000 * 1000)
#define CLAIM_REASK_US   (50 * 1000)

int psock_claim(struct psock *ps)
{
	uint64_t deadline = pl_now_us() + CLAIM_TIMEOUT_US;
	struct pwatch pw;
	struct pwaiter *w;
	int rc, err = 0;

	if ((rc = mtcp_claim(ps->s)) != -EINPROGRESS)
		return rc;
	if (!(w = pl_waiter(&err)))
		return err;
	psock_watch(ps, &pw, w, EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP);
	while ((rc = mtcp_claim(ps->s)) == -EINPROGRESS) {
		uint64_t now = pl_now_us();
		if (now >= deadline) {
			log_warn(pre, "socket %016llx: its owner never handed it over "
				 "in %u s: ETIMEDOUT", (unsigned long long)ps->handle,
				 CLAIM_TIMEOUT_US / 1000000);
			rc = -ETIMEDOUT;
			break;
		}
		/* Signals do not interrupt the move: it is ours to finish. */
		(void)pl_sleep(w, now + CLAIM_REASK_US < deadline ? now + CLAIM_REASK_US
								  : deadline, false);
	}
	psock_unwatch(&pw);
	log_debug(pre, "socket %016llx: %s after %llu us", (unsigned long long)ps->handle,
		  rc ? strerror(-rc) : "ours", (unsigned long long)(pl_now_us() - (deadline - CLAIM_TIMEOUT_US)));
	return rc;
}

unsigned psock_poll(struct psock *ps)
{
	if (ps->dead)
		return EPOLLERR | EPOLLHUP;
	unsigned ev = mtcp_poll(ps->s);
	if (!(ev & MTCP_POLL_REMOTE))
		return ev;
	/* Asked for: its arrival (or loss) signals the socket. */
	return mtcp_claim(ps->s) == -ECONNRESET ? EPOLLERR | EPOLLHUP : 0;
}

/* Where the child can serve an inherited socket (see preload/README.md,
 * "fork"): a listener or a bound UDP socket is re-created in the child's
 * stack, its port held as the kernel's one socket would be; its
 * connections (and any connected socket) stay the parent's. */
int psock_rebuild_in(struct psock *ps, struct stack *st)
{
	struct mtcp_sock *s;
	int rc;

	if (!ps->has_local || (ps->type == SOCK_STREAM && !ps->listening))
		return -EBADFD;
	if (ps->s) {
		s = ps->s;      /* made already (exec.c) */
	} else if ((rc = mtcp_socket(st, ps->type, &s)) < 0) {
		return rc;
	}
	for (struct sockopt_rec *r = ps->opts; r; r = r->next)
		if ((rc = mtcp_setsockopt(s, r->level, r->name, r->val, r->len)) < 0)
			log_debug(pre, "fork: replaying option %d/%d: %s", r->level,
				  r->name, strerror(-rc));
	rc = mtcp_bind_inherited(s, &ps->local);
	if (rc == 0 && ps->listening)
		rc = mtcp_listen(s, ps->backlog);
	if (rc < 0) {
		if (!ps->s)
			mtcp_close(s);
		return rc;
	}
	mtcp_set_notify(s, psock_notify, ps);
	ps->s = s;
	return 0;
}

void psock_after_fork(struct psock *ps, struct stack *st)
{
	int rc = -EBADFD;

	if (ps->gen == pl_gen)
		return;                 /* seen through another fd (dup) */
	ps->gen = pl_gen;
	ps->s = NULL;                   /* the parent's stack's: never touched */
	if (st && ps->handle) {
		/* A connection the parent shared for us (fork in init.c):
		 * a shell here, filled at its first use. */
		if ((rc = psock_shell(ps, st, true)) == 0)
			return;
	} else if (st && (rc = psock_rebuild_in(ps, st)) == 0) {
		return;
	}
	ps->dead = true;
	char a[INET_ADDRSTRLEN] = "?", where[48] = "";
	if (ps->has_local) {
		inet_ntop(AF_INET, &ps->local.sin_addr, a, sizeof(a));
		snprintf(where, sizeof(where), " on %s:%u", a, ntohs(ps->local.sin_port));
	}
	log_warn(pre, "fork: an inherited %s socket%s is not usable in the child "
		 "(%s): every call on it fails with EBADFD",
		 ps->type == SOCK_STREAM ? "TCP" : "UDP", where,
		 rc != -EBADFD ? strerror(-rc) : ps->type == SOCK_STREAM ?
		 "a connection stays with the process that made it" : "it was never bound");
}

/* ------------------------------------------------------------ waiting */

static pthread_key_t waiter_key;
static pthread_once_t waiter_once = PTHREAD_ONCE_INIT;

/* A thread's waiters, one per level of nested waiting (pl_waiter). */
struct pwaiters {
	struct pwaiter *w[PL_WAITER_LEVELS];
};
static __thread struct pwaiters *tls_waiters __attribute__((tls_model("initial-exec")));

static void waiters_destroy(void *p)
{
	struct pwaiters *ws = p;

	for (unsigned i = 0; i < PL_WAITER_LEVELS && ws->w[i]; i++) {
		pl_own_close(ws->w[i]->efd);
		free(ws->w[i]);
	}
	free(ws);
}

static void waiter_key_init(void)
{
	pthread_key_create(&waiter_key, waiters_destroy);
}

static struct pwaiter *waiter_new(int *err)
{
	struct pwaiter *w = calloc(1, sizeof(*w));

	if (!w) {
		*err = -ENOMEM;
		return NULL;
	}
	w->efd = REAL(eventfd)(0, EFD_CLOEXEC);
	if (w->efd < 0) {
		*err = -errno;
		free(w);
		return NULL;
	}
	w->efd = pl_own_fd(w->efd);     /* not the program's (ownfd.c) */
	return w;
}

struct pwaiter *pl_waiter(int *err)
{
	struct pwaiters *ws = tls_waiters;
	unsigned i;

	if (!ws) {
		pthread_once(&waiter_once, waiter_key_init);
		if (!(ws = calloc(1, sizeof(*ws)))) {
			*err = -ENOMEM;
			return NULL;
		}
		tls_waiters = ws;
		pthread_setspecific(waiter_key, ws);
	}
	/* The first one free: an outer call of this thread (interrupted by
	 * the signal handler we run in) keeps its watches on its own. */
	for (i = 0; i < PL_WAITER_LEVELS && ws->w[i] && ws->w[i]->watches; i++)
		;
	if (i == PL_WAITER_LEVELS) {
		log_warn(pre, "%u blocking calls nested in signal handlers on one "
			 "thread: EDEADLK", PL_WAITER_LEVELS);
		*err = -EDEADLK;
		return NULL;
	}
	if (!ws->w[i] && !(ws->w[i] = waiter_new(err)))
		return NULL;
	return ws->w[i];
}

/* After fork() the child's copies of this thread's waiters share their
 * eventfds with the parent: forget them (the child never waits on the
 * stack). */
void pl_waiter_after_fork_child(void)
{
	tls_waiters = NULL;
}

void psock_watch(struct psock *ps, struct pwatch *pw, struct pwaiter *w, unsigned events)
{
	pw->ps = ps;
	pw->kind = PW_WAITER;
	pw->events = events;
	pw->w = w;
	pw->prev = NULL;
	w->watches++;
	pthread_mutex_lock(&pl_lock);
	w->signaled = false;
	pw->next = ps->watchers;
	if (ps->watchers)
		ps->watchers->prev = pw;
	ps->watchers = pw;
	pthread_mutex_unlock(&pl_lock);
}

void psock_unwatch(struct pwatch *pw)
{
	pw->w->watches--;
	pthread_mutex_lock(&pl_lock);
	if (pw->ps) {
		if (pw->prev)
			pw->prev->next = pw->next;
		else
			pw->ps->watchers = pw->next;
		if (pw->next)
			pw->next->prev = pw->prev;
		pw->ps = NULL;
	}
	pthread_mutex_unlock(&pl_lock);
}

uint64_t pl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool pl_sleep_begin(struct pwaiter *w)
{
	bool sleep;

	pthread_mutex_lock(&pl_lock);
	sleep = !w->signaled;
	w->signaled = false;
	w->sleeping = sleep;
	pthread_mutex_unlock(&pl_lock);
	return sleep;
}

void pl_sleep_end(struct pwaiter *w)
{
	pthread_mutex_lock(&pl_lock);
	/* Woken otherwise (a signal, a timeout) while the stack thread still
	 * means to write our eventfd: wait for that write, which follows its
	 * batch at once, so it never lands on a closed (or reused) fd after
	 * this thread exits. */
	while (w->wake_deferred) {
		pthread_mutex_unlock(&pl_lock);
		if (pl_thread_sandboxed()) {
			/* sched_yield is not in sshd's seccomp filter. */
			struct timespec nap = { 0, 10000 };
			nanosleep(&nap, NULL);
		} else {
			sched_yield();
		}
		pthread_mutex_lock(&pl_lock);
	}
	w->sleeping = false;
	w->signaled = false;
	pthread_mutex_unlock(&pl_lock);
}

int pl_sleep(struct pwaiter *w, uint64_t deadline, bool restart)
{
	uint64_t v;
	int rc = 0;

	if (!pl_sleep_begin(w))
		return 0;

	if (deadline == 0 && restart) {
		/* Restarted by the kernel after an SA_RESTART handler. */
		if (PL_OUTSIDE(REAL(read)(w->efd, &v, sizeof(v))) < 0)
			rc = -errno;
	} else {
		struct pollfd p = { .fd = w->efd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;

		if (deadline) {
			uint64_t now = pl_now_us();
			uint64_t left = deadline > now ? deadline - now : 0;
			ts.tv_sec = (time_t)(left / 1000000u);
			ts.tv_nsec = (long)(left % 1000000u) * 1000;
			tsp = &ts;
		}
		int n = PL_OUTSIDE(REAL(ppoll)(&p, 1, tsp, NULL));
		if (n < 0)
			rc = -errno;
		else if (n == 0)
			rc = -ETIMEDOUT;
		else if (REAL(read)(w->efd, &v, sizeof(v)) < 0)
			rc = -errno;
	}
	pl_sleep_end(w);
	return rc;
}

int psock_wait(struct pwatch *pw, uint64_t deadline)
{
	int rc = pl_sleep(pw->w, deadline, true);

	if (rc == -ETIMEDOUT)
		return -EAGAIN;
	return rc;
}
