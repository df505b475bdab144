/*
 * loop.c - the stack thread: waits on the device, the wake-up eventfd and
 * the nearest timer; processes frames and timers under the stack lock.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtcp.h"
#include "os.h"
#include "proto.h"
#include "socket.h"
#include "stack.h"

static void (*thread_hook)(void);
static void (*batch_hook)(void);

void mtcp_set_thread_hook(void (*fn)(void))
{
	thread_hook = fn;
}

void mtcp_set_batch_hook(void (*fn)(void))
{
	batch_hook = fn;
}

/* The device, the wake-up eventfd, other members' messages (-1 alone:
 * poll skips it). */
static void loop_fds(struct stack *st, struct pollfd pfd[3])
{
	pfd[0] = (struct pollfd){ .fd = st->dev->fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = st->wake_fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = host_mailbox_fd(st->host), .events = POLLIN };
	/* The same three in an epoll set, made now: a process may lower its
	 * RLIMIT_NOFILE below three later (sshd's sandboxed child sets 1),
	 * and poll(2) then refuses three descriptors (EINVAL) where
	 * epoll_wait(2) still waits on them (loop_wait). */
	if (st->loop_epfd < 0 && (st->loop_epfd = os_own(mtcp_os.epoll_create1(EPOLL_CLOEXEC))) >= 0)
		for (int i = 0; i < 3; i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
			if (pfd[i].fd >= 0)
				(void)mtcp_os.epoll_ctl(st->loop_epfd, EPOLL_CTL_ADD, pfd[i].fd, &ev);
		}
}

/* poll(2) on pfd, or the epoll set when poll cannot take them. */
static int loop_wait(struct stack *st, struct pollfd pfd[3], int timeout)
{
	int n = mtcp_os.poll(pfd, 3, timeout);
	if (n >= 0 || errno != EINVAL || st->loop_epfd < 0)
		return n;

	struct epoll_event ev[3];
	n = mtcp_os.epoll_wait(st->loop_epfd, ev, 3, timeout);
	for (int i = 0; i < 3; i++)
		pfd[i].revents = 0;
	for (int i = 0; i < n; i++)
		if (ev[i].data.u32 < 3)
			pfd[ev[i].data.u32].revents = (short)ev[i].events;
	return n;
}

/* An exiting process's keeper's loop (mtcp_stack_keep). */
struct keep {
	uint64_t until;         /* the cap */
	uint64_t next_shed;     /* when the next look for TIME-WAITs that
				   yield (stack_leftovers_locked) is due */
};

/*
 * One turn of the loop: a pass (frames, mail, timers), then a sleep until
 * the device, a wake-up, the mailbox or the nearest timer. keeper (NULL
 * for the stack thread): there is no application to hook, and the loop
 * ends when nothing is left or keeper->until passes. false when the loop
 * ends.
 */

static bool loop_turn(struct stack *st, struct pollfd pfd[3], struct keep *keeper)
{
	uint64_t until = keeper ? keeper->until : TIME_NEVER;
	void (*fn)(void *) = __atomic_load_n(&st->call_fn, __ATOMIC_ACQUIRE);

	if (fn) {       /* mtcp_stack_call */
		fn(st->call_arg);
		__atomic_store_n(&st->call_fn, NULL, __ATOMIC_RELAXED);
		__atomic_store_n(&st->call_done, true, __ATOMIC_RELEASE);
	}
	bool more = mtcp_stack_poll(st);
	if (!keeper && batch_hook)
		batch_hook();
	int timeout;

	/* What to sleep for, decided under the lock: from here on a
	 * thread that arms an earlier timer kicks us (tx_flush). */
	pthread_mutex_lock(&st->lock);
	bool stop = st->stopping;
	uint64_t now = stack_now(st);
	if (st->host) {
		/* The others on the address: free what dead ones held,
		 * reset the peers of their connections we took, close what
		 * only dead holders held. */
		host_tick(st->host, now);
		tcp_dead_take(st);
		handoff_tick(st, now);
	}
	uint64_t at = stack_poll_at_locked(st);
	if (st->host && at > now + HOST_SWEEP_US)
		at = now + HOST_SWEEP_US;
	if (keeper) {
		/* A member may start listening on a TIME-WAIT's port
		 * later: look again with the sweeps' period. */
		bool shed = now >= keeper->next_shed;
		if (shed)
			keeper->next_shed = now + HOST_SWEEP_US;
		if (now >= until || !stack_leftovers_locked(st, shed))
			stop = true;
		if (at > keeper->next_shed)
			at = keeper->next_shed;
	}
	if (at > until)
		at = until;
	if (more || at <= now)
		timeout = 0;
	else if (at == TIME_NEVER)
		timeout = -1;
	else    /* round up: waking early only to sleep again wastes a pass */
		timeout = (int)((at - now + 999) / 1000);
	if (timeout != 0 && !stop)
		__atomic_store_n(&st->sleep_until, at, __ATOMIC_RELAXED);
	stack_unlock(st);
	if (stop)
		return false;

	/* Going idle: the device pushes out what it buffers (a
	 * capture's records, so a process killed later leaves a
	 * complete file). */
	if (timeout != 0)
		netdev_idle(st->dev);

	if (loop_wait(st, pfd, timeout) < 0 && errno != EINTR) {
		log_error(core, "poll: %s", strerror(errno));
		return false;
	}
	__atomic_store_n(&st->sleep_until, 0, __ATOMIC_RELAXED);
	if (pfd[2].revents & POLLIN)
		__atomic_store_n(&st->mail_ready, true, __ATOMIC_RELAXED);
	if (pfd[1].revents & POLLIN) {
		uint64_t v;
		ssize_t r = mtcp_os.read(st->wake_fd, &v, sizeof(v));
		(void)r;
	}
	return true;
}

static void *stack_thread(void *arg)
{
	struct stack *st = arg;
	struct pollfd pfd[3];

	if (thread_hook)
		thread_hook();
	loop_fds(st, pfd);
	while (loop_turn(st, pfd, NULL))
		;
	return NULL;
}

/* Run the stack thread (again, after mtcp_stack_pause). */
static int thread_start(struct stack *st)
{
	sigset_t all, old;
	int rc;

	pthread_mutex_lock(&st->lock);
	st->stopping = false;
	stack_unlock(st);
	/* The application's signals are the application's: the stack thread
	 * blocks them all, so handlers run on the threads that expect them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->thread, NULL, stack_thread, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return -rc;
	pthread_mutex_lock(&st->lock);
	st->running = true;
	stack_unlock(st);
	return 0;
}

int mtcp_stack_start(struct stack *st)
{
	mtcp_stack_announce(st);
	return thread_start(st);
}

int mtcp_stack_resume(struct stack *st)
{
	return thread_start(st);
}

/* Stop the thread and wait for it; the stack stays a member of its host.
 * wake: every socket hears it (mtcp_stack_stop's callers, waiting for
 * readiness that will never come, give up). */
static void thread_stop(struct stack *st, bool wake)
{
	pthread_mutex_lock(&st->lock);
	bool running = st->running;
	st->stopping = true;
	st->running = false;
	if (wake)
		sock_wake_all(st);
	stack_unlock(st);
	if (running) {
		stack_kick(st);
		pthread_join(st->thread, NULL);
	}
}

void mtcp_stack_pause(struct stack *st)
{
	/* No socket is woken: an application thread blocked in a call
	 * stays so until the process is gone, as exit_group ends it on
	 * the kernel. */
	thread_stop(st, false);
}

void mtcp_stack_stop(struct stack *st)
{
	thread_stop(st, true);
	/* Nothing moves any more: what this process held on the address
	 * (ports, flows, its answering for it) goes to the others; first
	 * what other members sent it at the last moment (one that picked
	 * it before it closed its listener copy). */
	pthread_mutex_lock(&st->lock);
	stack_mail_flush(st);
	struct host *h = st->host;
	st->host = NULL;
	stack_unlock(st);
	host_leave(h);
}

/*
 * The keeper (preload/init.c): a process forked at exit to finish what
 * its parent left, as the kernel goes on after a process is gone. It runs
 * the loop on its only thread, as the same member of the host (it holds
 * the parent's liveness lock and steering), until no connection is left
 * or cap_us passes.
 */
unsigned mtcp_stack_keep(struct stack *st, uint64_t cap_us)
{
	struct pollfd pfd[3];
	unsigned left;

	pthread_mutex_lock(&st->lock);
	/* Sockets a thread of the parent held in a call when it exited:
	 * that thread is gone, so they close as the kernel closes a dead
	 * process's files (FIN, or RST with unread data). */
	sock_orphan_all(st);
	struct keep k = { .until = stack_now(st) + cap_us, .next_shed = 0 };
	st->stopping = false;
	st->running = true;     /* the loop's, as the thread's: mail on poll */
	__atomic_store_n(&st->mail_ready, true, __ATOMIC_RELAXED);
	stack_unlock(st);

	/* The address's keeper, if it has none: a later process on the
	 * address hands its leftovers here (handoff.c) instead of forking
	 * one more. Kept until this one leaves (host_leave), so it is never
	 * elected to answer for the address meanwhile. NOTE: a hand-over
	 * that read the role just before the loop ended is lost with it. */
	pthread_mutex_lock(&st->lock);
	(void)host_keeper_claim(st->host);
	stack_unlock(st);
	loop_fds(st, pfd);
	while (loop_turn(st, pfd, &k))
		;
	pthread_mutex_lock(&st->lock);
	left = stack_leftovers_locked(st, false);
	st->running = false;
	stack_unlock(st);
	netdev_idle(st->dev);
	return left;
}

int mtcp_stack_call(struct stack *st, void (*fn)(void *), void *arg, uint64_t timeout_us)
{
	/* Waited for with nanosleep: a quiet thread has no eventfd to
	 * make, and the call is rare (a sandboxed process's exit). */
	struct timespec nap = { 0, 1000 * 1000 };
	uint64_t waited = 0;
	int rc = 0;

	pthread_mutex_lock(&st->call_lock);
	pthread_mutex_lock(&st->lock);
	bool running = st->running && !st->stopping;
	stack_unlock(st);
	if (!running) {
		pthread_mutex_unlock(&st->call_lock);
		return -ESRCH;
	}
	st->call_arg = arg;
	__atomic_store_n(&st->call_done, false, __ATOMIC_RELAXED);
	__atomic_store_n(&st->call_fn, fn, __ATOMIC_RELEASE);
	stack_kick(st);
	while (!__atomic_load_n(&st->call_done, __ATOMIC_ACQUIRE)) {
		if (waited >= timeout_us) {
			/* Too late to take it back safely: it may run yet. */
			rc = -ETIMEDOUT;
			break;
		}
		nanosleep(&nap, NULL);
		waited += 1000;
	}
	pthread_mutex_unlock(&st->call_lock);
	return rc;
}
