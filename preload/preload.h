/*
 * preload.h - what the preload's files share.
 *
 * Objects behind fd numbers (fdtable.h):
 *   struct psock   a stack socket; its fd is an eventfd of ours
 *   struct pep     an epoll instance; its fd is the real epoll fd, which
 *                  also watches a wake-up eventfd the stack signals
 *
 * Waking. The stack calls psock_notify (stack lock held) whenever a
 * socket's readiness may change. Whoever waits on a socket hangs a
 * struct pwatch on its watch list: a blocked call or a poll/select caller
 * (a pwaiter, woken through its thread's eventfd), or an epoll item (put
 * on its instance's ready list, whose wake-up eventfd is then signalled).
 *
 * Locking. pl_lock guards every watch list, every epoll instance's item
 * and ready lists, and the replay list of a socket's options. The order
 * is: stack lock, then pl_lock. Never call into the stack (mtcp_*) with
 * pl_lock held.
 */
#ifndef MTCP_PRELOAD_H
#define MTCP_PRELOAD_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "fdtable.h"
#include "log.h"
#include "mtcp.h"
#include "real.h"
#include "signals.h"

struct pwatch;
struct pitem;

/* A recorded setsockopt, replayed on the kernel socket at a handover. */
struct sockopt_rec {
	struct sockopt_rec *next;
	int level, name;
	socklen_t len;
	unsigned char val[];
};

struct psock {
	struct fdobj fo;
	struct mtcp_sock *s;    /* its calls never block: the waiting is ours */
	int type;               /* SOCK_STREAM or SOCK_DGRAM */
	pid_t pid;              /* the process that created it */
	/* O_NONBLOCK of its open file description: ours alone (the stack has
	 * none); SO_RCVTIMEO/SO_SNDTIMEO are the socket's, read from the
	 * stack when a call is about to wait (mtcp_sock_timeo). */
	_Atomic bool nonblock;
	struct pwatch *watchers;        /* pl_lock */
	_Atomic unsigned nitems;        /* epoll items on watchers (a hint) */
	struct sockopt_rec *opts;       /* pl_lock */
	struct sockaddr_in bound;       /* what bind(2) asked for (replay) */
	bool has_bound;
	/* For a fork()ed child's copy (psock_after_fork): the address the
	 * socket holds, and whether and with what backlog it listens. */
	struct sockaddr_in local;
	bool has_local, listening;
	int backlog;
	/* Set in a fork()ed child for a socket it cannot serve (a
	 * connection: its state is the parent's stack's): every call fails
	 * with EBADFD, poll and epoll report EPOLLERR|EPOLLHUP. */
	bool dead;
	/* Held by other processes too (stack/handoff.c): its handle, set
	 * when a fork() shares it or an exec'd image adopts it. */
	uint64_t handle;
	unsigned shared_epoch;  /* fork() shares each socket once (init.c) */
	unsigned gen;           /* pl_gen when this process last looked at it */
};

/* One waiting thread (a blocked call, poll or select): its eventfd is
 * written when a watched socket signals while it sleeps. */
struct pwaiter {
	int efd;
	unsigned watches;       /* its thread's watches on it (in use while > 0);
				   only its own thread changes it */
	bool signaled;          /* pl_lock: a notify came since the last check */
	bool sleeping;          /* pl_lock: write efd to wake it */
	bool wake_deferred;     /* pl_lock: the stack thread will write efd after
				   its batch (pl_wake_deferred) */
};

/* The stack thread, after a batch: write the eventfds of the waiters its
 * notify callbacks woke (no stack lock held then). */
void pl_wake_deferred(void);
void pep_wake_deferred(void);           /* epoll.c: the same for epoll instances */
extern __thread bool pl_stack_thread;

enum { PW_WAITER, PW_EPOLL };

struct pwatch {
	struct pwatch *next, *prev;     /* on ps->watchers (pl_lock) */
	struct psock *ps;
	int kind;                       /* PW_WAITER or PW_EPOLL */
	unsigned events;                /* PW_WAITER: what it waits for */
	struct pwaiter *w;              /* PW_WAITER */
};

extern pthread_mutex_t pl_lock;

/* init.c */
extern bool pl_exiting;         /* the process is exiting (pl_fini): no lingering close */
/* The stack, started on first use: NULL with -errno in *err on failure
 * (the message already logged). */
struct stack *pl_stack(int *err);
/* Is a socket() call from this return address libc's own (its resolver)? */
bool pl_called_from_libc(const void *ra);
/* A kernel socket stood in for a stack socket (a loopback handover):
 * counted for the exit log. */
void pl_count_handover(void);
/* The stack, when this process runs one (not a fork()ed or vfork()ed
 * copy's), else NULL. */
struct stack *pl_stack_if_running(void);
/* exec: this process's stack goes; its sockets were let go already. What
 * it keeps for others or still has to finish goes to a keeper process;
 * the next pl_stack starts a new stack. */
void pl_leave_stack(struct stack *st);
/* ownfd.c: the library's own descriptors (the stack's), kept high and
 * out of the program's close/closefrom/close_range. */
bool pl_fd_own(int fd);
int pl_own_fd(int fd);          /* mtcp_os.own */
int pl_own_close(int fd);       /* mtcp_os.close */
/* fn(lo, hi, arg) for each run of numbers in [first, last] with none of
 * ours in it. */
void pl_own_gaps(unsigned first, unsigned last, void (*fn)(unsigned, unsigned, void *),
		 void *arg);
/* This thread runs under the program's seccomp filter (init.c, prctl):
 * only read, write, ppoll, futex and nanosleep. */
bool pl_thread_sandboxed(void);
/* exec.c: take up the sockets an exec'ing image left us (at start). */
void pl_exec_adopt(void);

/* The object of kind ops behind fd, with a reference, or NULL. */
static inline struct fdobj *fdt_get_kind(int fd, const struct fdobj_ops *ops)
{
	struct fdobj *o = fdt_get(fd);

	if (o && o->ops != ops) {
		pl_enter();     /* the last reference releases it: locks */
		fdt_put(o);
		pl_exit();
		return NULL;
	}
	return o;
}

/* psock.c */
extern const struct fdobj_ops psock_ops;
/* The stack socket behind fd, with a reference, or NULL. */
void psock_adopt_late(struct psock *ps);
static inline struct psock *psock_get(int fd)
{
	struct psock *ps = (struct psock *)fdt_get_kind(fd, &psock_ops);

	/* Left by an exec'd image (exec.c): its shell is made at first use. */
	if (ps && __builtin_expect(!__atomic_load_n(&ps->s, __ATOMIC_ACQUIRE), 0) &&
	    ps->handle && !ps->dead)
		psock_adopt_late(ps);
	return ps;
}
static inline void psock_put(struct psock *ps)
{
	fdt_put(&ps->fo);
}
/* Wrap s (whose reference passes to the psock) for fd number efd. */
struct psock *psock_new(struct mtcp_sock *s, int type, bool nonblock);
/* A socket an exec'd image left us, connection id: no stack socket yet
 * (psock_adopt_late makes its shell at first use, so a program that
 * closes every descriptor it does not know at start, as sshd does, finds
 * no stack of ours running yet). */
struct psock *psock_new_inherited(int type, bool nonblock, uint64_t id);
/* A connection received by SCM_RIGHTS, handle id (the sender counted us
 * pending): its shell in st, made now (the hold is ours from here). On
 * failure a dead psock (logged); NULL: no memory. */
struct psock *psock_new_received(struct stack *st, uint64_t id, bool nonblock);
/* In a fork()ed child every inherited stack socket is dead: true (with
 * errno EBADFD and one log line per socket) when ps is one. */
bool psock_dead(struct psock *ps);
/* Also: a socket whose connection another process's stack serves is
 * asked for and waited for (the connection follows the caller); false
 * once it is ours. */
/* Ask for ps's connection and wait until it is ours: 0, -ECONNRESET (its
 * stack died with it), -ETIMEDOUT (its owner never answered, logged). */
int psock_claim(struct psock *ps);
/* mtcp_poll for the poll and epoll paths: EPOLLERR|EPOLLHUP for a dead
 * socket; for a shell, no events while its connection is asked for (its
 * arrival signals the socket). */
unsigned psock_poll(struct psock *ps);
/* In a fork()ed child, once per socket it inherited: re-create it in the
 * child's stack st (a listener, or a bound UDP socket: one accept group
 * with the parent's copy), or mark it dead (st NULL, or a connection). */
void psock_after_fork(struct psock *ps, struct stack *st);
/* Re-create ps (a listener or a bound UDP socket another process holds
 * too: ps->local, listening, backlog, opts) in st: in ps->s when set. */
int psock_rebuild_in(struct psock *ps, struct stack *st);
/* Remember an option, to replay it on a re-created or handed-over socket. */
void psock_record_opt(struct psock *ps, int level, int name, const void *val, socklen_t len);
/* Bumped in each fork()ed child: psocks whose gen differs are inherited. */
extern unsigned pl_gen;
/* Wait until pw's socket signals something in its events (or a timeout,
 * or a signal):
 * 0 to try again, -EAGAIN once the absolute CLOCK_MONOTONIC deadline (µs,
 * 0: none) has passed, -EINTR after a signal handler (restarted
 * transparently, as the kernel does with SA_RESTART, when there is no
 * deadline). The waiter must already be registered (psock_watch). */
int psock_wait(struct pwatch *pw, uint64_t deadline);
/* A waiter of this thread that no call of it is using (no watch hangs on
 * it): its eventfd made on first use. A signal handler that blocks in one
 * of our calls while its thread sleeps in another gets a waiter of its
 * own, so it can neither take the sleeping call's wake-up nor leave it a
 * stale one. NULL + -errno when no eventfd could be made, or -EDEADLK
 * past PL_WAITER_LEVELS nested waits. */
#define PL_WAITER_LEVELS 8
struct pwaiter *pl_waiter(int *err);
/* In a fork()ed child: forget the waiters, whose eventfds are the parent's. */
void pl_waiter_after_fork_child(void);
/* Hang pw (kind PW_WAITER, for events) on ps / take it off. */
void psock_watch(struct psock *ps, struct pwatch *pw, struct pwaiter *w, unsigned events);
void psock_unwatch(struct pwatch *pw);
/* Sleep on w until a signal, a notify or the absolute CLOCK_MONOTONIC
 * deadline (µs, 0: none). 0, -ETIMEDOUT or -EINTR. restart: let the kernel
 * restart the sleep after an SA_RESTART handler. */
int pl_sleep(struct pwaiter *w, uint64_t deadline, bool restart);
/* The two halves of any sleep on w's eventfd: begin says whether to sleep
 * (false: a notify came since the last look, look again) and marks w
 * sleeping, so psock_notify writes its eventfd; end clears both. */
bool pl_sleep_begin(struct pwaiter *w);
void pl_sleep_end(struct pwaiter *w);
uint64_t pl_now_us(void);

/* sockcalls.c: the send/receive core shared with sendfile, read, write */
ssize_t ps_sendmsg(struct psock *ps, const struct msghdr *msg, int flags);
ssize_t ps_recvmsg(struct psock *ps, struct msghdr *msg, int flags);

/* scm.c: sendmsg/recvmsg on descriptors not ours (unix sockets): a
 * connection of ours passed with SCM_RIGHTS is shared with the receiver,
 * which takes it up. pl_scm_init: at a stack's start, before a chroot
 * can hide /proc. */
void pl_scm_init(void);
ssize_t pl_scm_sendmsg(int fd, const struct msghdr *msg, int flags);
int pl_scm_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags);
ssize_t pl_scm_recvmsg(int fd, struct msghdr *msg, int flags);
int pl_scm_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags,
		    struct timespec *timeout);

/* epoll.c */
extern const struct fdobj_ops pep_ops;
/* The notify path for epoll items (pl_lock held): true when pw is an
 * EPOLLEXCLUSIVE item whose instance had a thread waiting (that ends an
 * exclusive wake-up). */
bool pep_item_notify(struct pwatch *pw, unsigned events);
/* ps is going away: unhook its epoll items (pl_lock held). */
void pep_item_drop(struct pwatch *pw);
/* The program consumed from ps: take its items that are no longer ready
 * off their ready lists, so an epoll fd polled from outside (nested in
 * another epoll, poll or select) stops looking readable, as Linux's
 * ep_eventpoll_poll would see. */
void pep_recheck(struct psock *ps);
static inline void pep_consumed(struct psock *ps)
{
	if (__atomic_load_n(&ps->nitems, __ATOMIC_RELAXED))
		pep_recheck(ps);
}

/*
 * PL_EXPORT marks a function libmtcp.so exports: the calls it interposes,
 * and nothing else. Everything is compiled with -fvisibility=hidden (the
 * Makefile), so these definitions are the list of what is exported; the
 * stack's own functions stay internal, and a program's same-named
 * functions cannot take their place.
 */
#define PL_EXPORT __attribute__((visibility("default")))

/*
 * PL_LOCAL(fn): pl_fn, a hidden second name for our exported wrapper fn,
 * for a wrapper that is another one plus a little (accept is accept4 with
 * no flags, __read_chk is read after a check). Called by its plain name,
 * fn is an indirect jump through the PLT to whichever fn the process bound
 * first (an interposer loaded before us, say); pl_fn is a direct call to
 * ours. Declare it in the file that defines fn.
 */
#if defined(__has_attribute) && __has_attribute(copy)
/* fn's own attributes too (libc declares some nothrow): an alias with
 * fewer draws -Wmissing-attributes. */
#define PL_LOCAL(fn) \
	extern __typeof__(fn) pl_##fn \
		__attribute__((alias(#fn), visibility("hidden"), copy(fn)))
#else
#define PL_LOCAL(fn) \
	extern __typeof__(fn) pl_##fn __attribute__((alias(#fn), visibility("hidden")))
#endif

/* Our wrappers' hidden names, for calls between files (PL_LOCAL). */
int pl_close(int fd);
int pl_dup2(int old, int fd);
int pl_open(const char *path, int flags, ...);

/*
 * PL_ALIAS(name, fn): export name as a second name of our wrapper fn, one
 * body for both: the large-file twins (fcntl64, open64, ...) are the same
 * call where off_t is 64 bits, as it is on every ABI we build for.
 */
_Static_assert(sizeof(off_t) == 8, "the *64 twins alias their plain calls only where off_t is 64 bits");
#if defined(__has_attribute) && __has_attribute(copy)
#define PL_ALIAS(name, fn) \
	extern __typeof__(fn) name \
		__attribute__((alias(#fn), visibility("default"), copy(fn)))
#else
#define PL_ALIAS(name, fn) \
	extern __typeof__(fn) name __attribute__((alias(#fn), visibility("default")))
#endif

/* Set errno from a negative stack return and give -1, or pass rc. */
static inline int pl_ret(int rc)
{
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}
static inline ssize_t pl_sret(ssize_t rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

#endif
