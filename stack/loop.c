/*
 * loop.c - the stack thread: waits on the device, the wake-up eventfd and
 * the nearest timer; processes frames and timers under the stack lock.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
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

static void *stack_thread(void *arg)
{
	struct stack *st = arg;

	if (thread_hook)
		thread_hook();
	struct pollfd pfd[3] = {
		{ .fd = st->dev->fd, .events = POLLIN },
		{ .fd = st->wake_fd, .events = POLLIN },
		/* Other members' messages (-1 alone: poll skips it). */
		{ .fd = host_mailbox_fd(st->host), .events = POLLIN },
	};

	for (;;) {
		bool more = mtcp_stack_poll(st);
		if (batch_hook)
			batch_hook();
		int timeout;

		/* What to sleep for, decided under the lock: from here on a
		 * thread that arms an earlier timer kicks us (tx_flush). */
		pthread_mutex_lock(&st->lock);
		bool stop = st->stopping;
		uint64_t now = stack_now(st);
		if (st->host) {
			/* The others on the address: free what dead ones held,
			 * and reset the peers of their connections we took. */
			host_tick(st->host, now);
			tcp_dead_take(st);
			handoff_tick(st, now);
		}
		uint64_t at = stack_poll_at_locked(st);
		if (st->host && at > now + HOST_SWEEP_US)
			at = now + HOST_SWEEP_US;
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
			break;

		/* Going idle: the device pushes out what it buffers (a
		 * capture's records, so a process killed later leaves a
		 * complete file). */
		if (timeout != 0)
			netdev_idle(st->dev);

		if (mtcp_os.poll(pfd, 3, timeout) < 0 && errno != EINTR) {
			log_error(core, "poll: %s", strerror(errno));
			break;
		}
		__atomic_store_n(&st->sleep_until, 0, __ATOMIC_RELAXED);
		if (pfd[2].revents & POLLIN)
			__atomic_store_n(&st->mail_ready, true, __ATOMIC_RELAXED);
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = mtcp_os.read(st->wake_fd, &v, sizeof(v));
			(void)r;
		}
	}
	return NULL;
}

int mtcp_stack_start(struct stack *st)
{
	sigset_t all, old;
	int rc;

	mtcp_stack_announce(st);
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

void mtcp_stack_stop(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	bool running = st->running;
	st->stopping = true;
	st->running = false;
	sock_wake_all(st);
	stack_unlock(st);
	if (running) {
		stack_kick(st);
		pthread_join(st->thread, NULL);
	}
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
