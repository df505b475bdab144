/*
 * signals.h - the library's critical sections, and the signals deferred
 * out of them (signals.c says why and how).
 *
 * Every interposed call that may take a library lock (pl_lock, the fd
 * table's writer lock, the stack lock and tx_lock inside mtcp_*, init and
 * resolve locks) runs inside a section: PL_SECTION() at the point where
 * the wrapper knows the fd is ours (or at its top), left when the
 * wrapper returns. A signal whose handler the application installed that
 * arrives inside a section is recorded and its handler runs when the
 * thread leaves the outermost section. Sleeps in the kernel (blocking
 * waits, real calls on kernel fds that may block) are made with
 * PL_OUTSIDE(call): no lock is held there, and a signal must interrupt
 * them as it would without the library.
 *
 * Cost on the fast path: an increment and a decrement of a thread-local
 * counter and a test of a thread-local word; no system call.
 */
#ifndef MTCP_SIGNALS_H
#define MTCP_SIGNALS_H

#include <stdint.h>

/* > 0: this thread is inside the library (a lock may be held). */
extern __thread int pl_sig_depth __attribute__((tls_model("initial-exec")));
/* Bit sig-1: sig arrived inside a section and waits for its exit. */
extern __thread uint64_t pl_sig_pending __attribute__((tls_model("initial-exec")));

/* Run the handlers of the signals deferred on this thread (depth 0). */
void pl_sig_run_pending(void);
/* In a fork()ed child: nothing is pending (the kernel does not pass a
 * parent's pending signals on) and the mask is the application's. */
void pl_sig_after_fork_child(void);

/* The signal fences keep the compiler from moving the counter's update
 * across the locked code, or the look at pending before the update: the
 * only other party is a signal handler on this same thread. */
static inline void pl_enter(void)
{
	__atomic_store_n(&pl_sig_depth, pl_sig_depth + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void pl_exit(void)
{
	int d = pl_sig_depth - 1;

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&pl_sig_depth, d, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (d == 0 && __builtin_expect(__atomic_load_n(&pl_sig_pending, __ATOMIC_RELAXED) != 0, 0))
		pl_sig_run_pending();
}

/* Step out of the section for a sleep: what is pending runs first (the
 * sleep may be long), then signals go to their handlers at once. */
static inline int pl_sig_out(void)
{
	int d = pl_sig_depth;

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&pl_sig_depth, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (__builtin_expect(__atomic_load_n(&pl_sig_pending, __ATOMIC_RELAXED) != 0, 0))
		pl_sig_run_pending();
	return d;
}

static inline void pl_sig_in(int d)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&pl_sig_depth, d, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void pl_section_end_(int *unused)
{
	(void)unused;
	pl_exit();
}

/* A section from here to the end of the enclosing block (the return). */
#define PL_SECTION()                                                      \
	int pl_section_ __attribute__((cleanup(pl_section_end_), unused)) = \
		(pl_enter(), 0)

/* call (an expression with a value) made outside the section: a sleep. */
#define PL_OUTSIDE(call) __extension__ ({                                 \
		int pl_d_ = pl_sig_out();                                 \
		__typeof__(call) pl_r_ = (call);                          \
		pl_sig_in(pl_d_);                                         \
		pl_r_;                                                    \
	})

#endif
