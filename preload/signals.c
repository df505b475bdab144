/*
 * signals.c - signals that arrive while the library holds a lock.
 *
 * The problem: a signal handler may call send() (the kernel's send is
 * async-signal-safe). If the signal interrupts a thread of ours that holds
 * pl_lock, the fd table's writer lock, the stack lock or tx_lock, the
 * handler's send() waits for a lock its own thread holds: a deadlock.
 *
 * The design (the pattern of OpenOnload's citp_enter_lib/citp_exit_lib):
 *
 *  - Sections. A wrapper that may take a library lock enters a section
 *    (signals.h: PL_SECTION, a thread-local depth counter) and leaves it
 *    when it returns. The section is the whole wrapper from the point it
 *    knows the call is ours, not each locked region: one enter/exit pair
 *    per wrapper is easy to see and to keep right as the code changes, and
 *    the unlocked stretches between locks are microseconds. Calls passed
 *    to the kernel (not ours) never enter one.
 *
 *  - Sleeps are outside. A blocking call sleeps in the kernel (psock.c's
 *    pl_sleep, the real ppoll of poll/select, the real epoll_wait, a real
 *    call after a loopback handover) holding no library lock; it steps out
 *    of the section around the sleep (PL_OUTSIDE), so a signal interrupts
 *    it at once, with the kernel's own EINTR / SA_RESTART behaviour, and
 *    its handler runs there as it would without us.
 *
 *  - Our handler. The library interposes sigaction(), signal() (and
 *    bsd_signal, sysv_signal, sigset: glibc implements those with an
 *    internal sigaction we would not see) so that, for a signal whose
 *    application action is a handler, the kernel runs ours (trampoline),
 *    installed with the application's sa_mask and flags plus SA_SIGINFO.
 *    Outside a section it calls the application's handler at once (the
 *    kernel already applied the mask, SA_NODEFER, SA_RESETHAND and
 *    SA_RESTART exactly as for the application's own handler). Inside a
 *    section it records the signal and its siginfo as pending for the
 *    thread, adds the signal to the interrupted context's mask (so more of
 *    it stay pending in the kernel, real-time ones queued, until the
 *    exit), and returns. At the exit of the outermost section (or before a
 *    sleep), pl_sig_run_pending runs each pending handler with the mask
 *    the kernel would have used (the thread's mask | sa_mask | the signal
 *    unless SA_NODEFER), then unblocks the signals it had held.
 *
 *  - What sigaction() reports is the kernel's answer with our trampoline
 *    replaced by the application's handler (and SA_SIGINFO as the
 *    application set it), so flags (SA_RESTORER, as glibc sets it), masks
 *    and errors are the kernel's own; the differential API suite compares
 *    them with the kernel.
 *
 *  - Not intercepted: SIGKILL/SIGSTOP (the kernel refuses them), glibc's
 *    internal signals, and the synchronous fault signals (SIGSEGV, SIGBUS,
 *    SIGFPE, SIGILL, SIGTRAP, SIGSYS): a fault cannot wait, returning
 *    would fault again.
 *
 *  - The stack thread blocks every signal (mtcp_stack_start): unaffected.
 *    fork(): the child starts with nothing pending and the application's
 *    mask (pl_sig_after_fork_child); the actions are inherited, as the
 *    kernel's are.
 *
 * NOTE: deviations from the kernel, all in rare races. A deferred signal's
 * handler is the one installed when it runs (microseconds after delivery),
 * not at delivery, if another thread installs a new one in between. A
 * second instance of a signal arriving inside our own handler before it
 * has blocked it (only with SA_NODEFER) is merged with the first. A
 * handler installed by a raw system call is not seen. A deferred handler
 * gets a ucontext of the exit point (getcontext), not of the interrupted
 * instruction.
 *
 * NOTE: not solved here: the stack's send path allocates (a connection's
 * send ring is allocated on demand, ring_reserve), so a handler's send()
 * that interrupted the program's own malloc may still deadlock in malloc.
 * (A handler's call that has to block while its thread sleeps in a call of
 * ours waits on a waiter of its own: pl_waiter.)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "preload.h"

#define TLS_IE __attribute__((tls_model("initial-exec")))

__thread int pl_sig_depth TLS_IE;
__thread uint64_t pl_sig_pending TLS_IE;
/* The siginfo of each pending signal (one each: the signal is blocked
 * from its deferral to its run). */
static __thread siginfo_t pend_info[64] TLS_IE;

#define BIT(sig) (1ull << ((sig) - 1))

/*
 * The application's action for each signal whose kernel action may be our
 * trampoline. Written under act_lock (by sigaction, inside a section, so a
 * handler on the writing thread never reads a half-written one); read by
 * the trampoline on any thread, lock-free, as a seqlock: seq is odd while
 * a write is under way. No fences (ThreadSanitizer does not model them):
 * the writer stores each field with release, so a reader that sees a new
 * field sees the odd seq before it; the reader loads each field with
 * acquire, so its second look at seq comes after them. (On x86 every one
 * of these is a plain move.)
 */
struct app_action {
	unsigned seq;
	void *fn;               /* sa_handler / sa_sigaction */
	int flags;
	uint64_t mask;          /* sa_mask, bit sig-1 */
};
static struct app_action actions[65];
static pthread_mutex_t act_lock = PTHREAD_MUTEX_INITIALIZER;

static void action_read(int sig, struct app_action *out)
{
	struct app_action *a = &actions[sig];
	unsigned s;

	do {
		while ((s = __atomic_load_n(&a->seq, __ATOMIC_ACQUIRE)) & 1)
			;
		out->fn = __atomic_load_n(&a->fn, __ATOMIC_ACQUIRE);
		out->flags = __atomic_load_n(&a->flags, __ATOMIC_ACQUIRE);
		out->mask = __atomic_load_n(&a->mask, __ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&a->seq, __ATOMIC_RELAXED) != s);
}

/* act_lock held. */
static void action_write(int sig, const struct app_action *in)
{
	struct app_action *a = &actions[sig];
	unsigned s = a->seq;

	__atomic_store_n(&a->seq, s + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&a->fn, in->fn, __ATOMIC_RELEASE);
	__atomic_store_n(&a->flags, in->flags, __ATOMIC_RELEASE);
	__atomic_store_n(&a->mask, in->mask, __ATOMIC_RELEASE);
	__atomic_store_n(&a->seq, s + 2, __ATOMIC_RELEASE);
}

static uint64_t set_bits(const sigset_t *s)
{
	uint64_t b = 0;

	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(s, sig) == 1)
			b |= BIT(sig);
	return b;
}

static void bits_set(uint64_t b, sigset_t *s)
{
	sigemptyset(s);
	for (int sig = 1; sig <= 64; sig++)
		if (b & BIT(sig))
			sigaddset(s, sig);
}

/* Signals whose handler may be deferred (see the top). */
static bool deferrable(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP:
	case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL: case SIGTRAP: case SIGSYS:
		return false;
	}
	if (sig < 1 || sig > 64)
		return false;
	/* glibc's own (cancellation, setxid): sigaction refuses them. */
	return sig < 32 || sig >= SIGRTMIN;
}

typedef void (*handler1_t)(int);
typedef void (*handler3_t)(int, siginfo_t *, void *);

static void call_app(int sig, siginfo_t *si, void *uc, const struct app_action *a)
{
	if (a->flags & SA_SIGINFO)
		((handler3_t)a->fn)(sig, si, uc);
	else
		((handler1_t)a->fn)(sig);
}

/* The handler the kernel runs for every signal the application handles. */
static void trampoline(int sig, siginfo_t *si, void *ucv)
{
	struct app_action a;

	if (__atomic_load_n(&pl_sig_depth, __ATOMIC_RELAXED) > 0) {
		ucontext_t *uc = ucv;

		if (si)
			pend_info[sig - 1] = *si;
		else
			memset(&pend_info[sig - 1], 0, sizeof(siginfo_t));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		__atomic_store_n(&pl_sig_pending, pl_sig_pending | BIT(sig), __ATOMIC_RELAXED);
		/* Blocked when this returns, until the exit unblocks it: its
		 * next instances wait in the kernel meanwhile. */
		sigaddset(&uc->uc_sigmask, sig);
		return;
	}
	action_read(sig, &a);
	call_app(sig, si, ucv, &a);
}

/* A deferred handler's call, apart: getcontext returns twice as far as
 * the compiler knows, and no variable of the caller's loop may live
 * across it (-Wclobbered). The context is the exit point's. */
static __attribute__((noinline)) void call_deferred(int sig, siginfo_t *si,
						    const struct app_action *a)
{
	ucontext_t uc;

	getcontext(&uc);
	call_app(sig, si, &uc, a);
}

void pl_sig_run_pending(void)
{
	int saved_errno = errno;
	uint64_t todo;

	/* Depth is 0 here: the trampoline no longer writes pending; a
	 * handler that enters the library and defers anew runs its own exit,
	 * which takes what it deferred. */
	while ((todo = __atomic_exchange_n(&pl_sig_pending, 0, __ATOMIC_RELAXED)) != 0) {
		sigset_t cur, m;
		uint64_t app;

		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		pthread_sigmask(SIG_SETMASK, NULL, &cur);
		/* The application's mask: ours minus what the deferrals added. */
		app = set_bits(&cur) & ~todo;
		for (int sig = 1; sig <= 64; sig++) {
			struct app_action a;
			siginfo_t si;

			if (!(todo & BIT(sig)))
				continue;
			si = pend_info[sig - 1];
			action_read(sig, &a);
			if (!a.fn)
				continue;       /* never ours: cannot happen */
			/* What the kernel blocks while a handler runs
			 * (signal_delivered: sa_mask, and sig unless SA_NODEFER). */
			bits_set(app | a.mask | ((a.flags & SA_NODEFER) ? 0 : BIT(sig)), &m);
			pthread_sigmask(SIG_SETMASK, &m, NULL);
			call_deferred(sig, &si, &a);
		}
		bits_set(app, &m);
		/* Instances that arrived while it was held are delivered now
		 * (depth 0: straight to their handler). */
		pthread_sigmask(SIG_SETMASK, &m, NULL);
	}
	errno = saved_errno;
}

void pl_sig_after_fork_child(void)
{
	uint64_t held = __atomic_exchange_n(&pl_sig_pending, 0, __ATOMIC_RELAXED);
	sigset_t s;

	if (held) {
		bits_set(held, &s);
		pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	}
}

/* ------------------------------------------------------------ sigaction */

static bool is_handler(void *fn)
{
	return fn != (void *)SIG_DFL && fn != (void *)SIG_IGN;
}

static int pl_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction mine, kold;
	struct app_action prev, next;
	bool wrote = false;
	int rc;

	if (!deferrable(sig))
		return REAL(sigaction)(sig, act, old);
	pl_enter();
	pthread_mutex_lock(&act_lock);
	action_read(sig, &prev);
	if (act) {
		mine = *act;            /* act may be old */
		if (is_handler((void *)act->sa_handler)) {
			next.fn = (void *)act->sa_handler;
			next.flags = act->sa_flags;
			next.mask = set_bits(&act->sa_mask);
			/* Before the kernel's: the trampoline may run as soon
			 * as it is installed. */
			action_write(sig, &next);
			wrote = true;
			mine.sa_sigaction = trampoline;
			mine.sa_flags |= SA_SIGINFO;
		}
	}
	rc = REAL(sigaction)(sig, act ? &mine : NULL, old ? &kold : NULL);
	if (rc < 0 && wrote)
		action_write(sig, &prev);
	if (rc == 0 && old) {
		if (kold.sa_sigaction == trampoline) {
			kold.sa_handler = (void (*)(int))prev.fn;
			if (!(prev.flags & SA_SIGINFO))
				kold.sa_flags &= ~SA_SIGINFO;
		}
		*old = kold;
	}
	pthread_mutex_unlock(&act_lock);
	pl_exit();
	return rc;
}

PL_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return pl_sigaction(sig, act, old);
}

/* glibc's signal() (BSD semantics): the signal blocked in its handler,
 * system calls restarted. NOTE: siginterrupt()'s choice (glibc's _sigintr)
 * is not seen here: SA_RESTART always. */
static sighandler_t pl_signal(int sig, sighandler_t h, int flags, bool self_mask)
{
	struct sigaction act, old;

	if (h == SIG_ERR || sig < 1 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = h;
	sigemptyset(&act.sa_mask);
	if (self_mask)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (pl_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

PL_EXPORT sighandler_t signal(int sig, sighandler_t h)
{
	return pl_signal(sig, h, SA_RESTART, true);
}

sighandler_t bsd_signal(int sig, sighandler_t h);
PL_EXPORT sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return pl_signal(sig, h, SA_RESTART, true);
}

/* System V's: reset to the default on delivery, not blocked in the
 * handler, no restart (glibc's sysv_signal). */
PL_EXPORT sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return pl_signal(sig, h, SA_RESETHAND | SA_NODEFER | SA_INTERRUPT, false);
}

/* sigset (XSI): SIG_HOLD blocks; anything else sets the action (no mask,
 * no flags) and unblocks. Returns SIG_HOLD when the signal was blocked. */
PL_EXPORT sighandler_t sigset(int sig, sighandler_t disp)
{
	struct sigaction act, old;
	sigset_t set, oset;

	sigemptyset(&set);
	if (sigaddset(&set, sig) < 0)
		return SIG_ERR;
	if (disp == SIG_HOLD) {
		if (pthread_sigmask(SIG_BLOCK, &set, &oset) != 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		if (pl_sigaction(sig, NULL, &old) < 0)
			return SIG_ERR;
		return old.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (pl_sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	if (pthread_sigmask(SIG_UNBLOCK, &set, &oset) != 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : old.sa_handler;
}
