/*
 * fdtable.c - fd number -> object, lock-free on the read side.
 *
 * The shape is Linux's files_struct (Documentation/filesystems/files.rst):
 * one array indexed by fd, reached through an RCU-published pointer.
 * Readers take urcu_bp_read_lock, load the array, load the slot and take a
 * reference with urcu_ref_get_unless_zero; a slot whose object is already
 * dying (count 0) reads as empty. Writers serialise on fdt_lock, grow the
 * array by copying it, publish the copy and hand the old one to call_rcu.
 *
 * liburcu's "bulletproof" flavour (urcu-bp): application threads call us
 * without registering, and it has fork handlers (liburcu README, "Usage of
 * liburcu-bp"; lttng-ust uses it for the same reason).
 *
 * Lifetime of an object:
 *   fdobj_init: count 1 (the creator's)
 *   fdt_install: +1 for the slot; fdt_get / fdobj_hold: +1
 *   fdt_put: -1; at 0, ops->release(o) runs on the putting thread, never
 *       with fdt_lock held (release may remove other fds), then ops->free(o)
 *       runs on the call_rcu thread after a grace period, because a reader
 *       that loaded the slot before it was cleared may still be reading
 *       o->ref in urcu_ref_get_unless_zero.
 *
 * Nothing here calls a libc function the preload intercepts: malloc, free,
 * pthread, getrlimit and liburcu only.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "fdtable.h"

/*
 * ThreadSanitizer cannot see liburcu: the library is not instrumented, its
 * atomics are inline asm and its grace periods wait on futexes. Tell it
 * about the happens-before edges RCU and the reference count give us, so
 * a TSan build reports only our own races:
 *  - publication: everything written before rcu_assign_pointer is visible
 *    to a reader that loaded the pointer (release before the store,
 *    acquire after the load, on the object or the array);
 *  - the reference count: every fdt_put releases, the one that reaches 0
 *    acquires (what refcount_dec_and_test orders in Linux);
 *  - grace periods: every read-side section releases fdt_gp when it ends,
 *    every RCU callback acquires it first. Coarser than RCU (it also
 *    orders sections that began after the callback was queued) but
 *    never wrong.
 * Without TSan these compile to nothing.
 */
#if defined(__SANITIZE_THREAD__)
#define FDT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FDT_TSAN 1
#endif
#endif

#ifdef FDT_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_acquire(addr)	__tsan_acquire((void *)(addr))
#define tsan_release(addr)	__tsan_release((void *)(addr))
#else
#define tsan_acquire(addr)	do { } while (0)
#define tsan_release(addr)	do { } while (0)
#endif

/* The smallest table, and the largest fd we ever index: the kernel's
 * default fs.nr_open, above which no RLIMIT_NOFILE can go. */
#define FDT_MIN_SIZE	256
#define FDT_MAX_SIZE	(1 << 20)

struct fdt_array {
	struct rcu_head rcu;
	int size;			/* a power of two */
	struct fdobj *slot[];		/* RCU: rcu_assign_pointer under
					 * fdt_lock, rcu_dereference under
					 * urcu_bp_read_lock */
};

/*
 * The published array: NULL until the first fdt_install, then never NULL
 * again. Written under fdt_lock with rcu_assign_pointer; read with
 * rcu_dereference under urcu_bp_read_lock (or with a relaxed load for the
 * never-used test, which only compares it with NULL).
 */
static struct fdt_array *fdt_table;

/* Serialises every writer: slot stores, growth, the table pointer. */
static pthread_mutex_t fdt_lock = PTHREAD_MUTEX_INITIALIZER;

#ifdef FDT_TSAN
static char fdt_gp;		/* TSan's stand-in for a grace period */
#endif

/* --- call_rcu with a signal-free worker --- */

static pthread_once_t fdt_crcu_once = PTHREAD_ONCE_INIT;

/*
 * Create liburcu's default call_rcu thread with every signal blocked: it
 * inherits the creating thread's mask, and an application that directs a
 * signal at "any thread" (SIGALRM, SIGCHLD, SIGIO) must never have it
 * delivered to our worker. lttng-ust masks signals around its own threads
 * for the same reason.
 */
static void fdt_crcu_create(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	(void)urcu_bp_get_default_call_rcu_data();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void fdt_call_rcu(struct rcu_head *head, void (*fn)(struct rcu_head *))
{
	pthread_once(&fdt_crcu_once, fdt_crcu_create);
	tsan_release(&fdt_gp);
	urcu_bp_call_rcu(head, fn);
}

static void fdt_read_lock(void)
{
	urcu_bp_read_lock();
}

static void fdt_read_unlock(void)
{
	tsan_release(&fdt_gp);
	urcu_bp_read_unlock();
}

/* Load the published array; call under fdt_read_lock or fdt_lock. */
static struct fdt_array *fdt_array_deref(void)
{
	struct fdt_array *t = rcu_dereference(fdt_table);

	tsan_acquire(&fdt_table);
	return t;
}

/* Load t's slot fd; call under fdt_read_lock or fdt_lock. */
static struct fdobj *fdt_slot_deref(struct fdt_array *t, int fd)
{
	struct fdobj *o = rcu_dereference(t->slot[fd]);

	if (o)
		tsan_acquire(o);
	return o;
}

/* Store o in slot fd; call with fdt_lock held. */
static void fdt_slot_assign(struct fdt_array *t, int fd, struct fdobj *o)
{
	if (o)
		tsan_release(o);
	rcu_assign_pointer(t->slot[fd], o);
}

/* --- objects --- */

void fdobj_init(struct fdobj *o, const struct fdobj_ops *ops)
{
	urcu_ref_init(&o->ref);
	o->ops = ops;
	memset(&o->rcu, 0, sizeof(o->rcu));
}

void fdobj_hold(struct fdobj *o)
{
	urcu_ref_get(&o->ref);
}

static void fdobj_free_rcu(struct rcu_head *head)
{
	struct fdobj *o = caa_container_of(head, struct fdobj, rcu);

	tsan_acquire(&fdt_gp);
	o->ops->free(o);
}

/* The last reference is gone: nobody can find o any more (no slot holds
 * it), but a reader may still be inside urcu_ref_get_unless_zero on it. */
static void fdobj_last_put(struct urcu_ref *ref)
{
	struct fdobj *o = caa_container_of(ref, struct fdobj, ref);
	const struct fdobj_ops *ops = o->ops;

	tsan_acquire(&o->ref);
	if (ops->release)
		ops->release(o);
	/* NOTE: free == NULL means the object is not ours to free (static,
	 * or its memory is managed elsewhere); it must then stay valid for
	 * a grace period after release returns. */
	if (ops->free)
		fdt_call_rcu(&o->rcu, fdobj_free_rcu);
}

void fdt_put(struct fdobj *o)
{
	if (!o)
		return;
	tsan_release(&o->ref);
	urcu_ref_put(&o->ref, fdobj_last_put);
}

/* --- readers --- */

bool fdt_used(void)
{
	return __atomic_load_n(&fdt_table, __ATOMIC_RELAXED) != NULL;
}

struct fdobj *fdt_get(int fd)
{
	struct fdt_array *t;
	struct fdobj *o = NULL;

	/* The pass-through fast path: one load, no read-side section. */
	if (fd < 0 || !__atomic_load_n(&fdt_table, __ATOMIC_RELAXED))
		return NULL;

	fdt_read_lock();
	t = fdt_array_deref();
	if (fd < t->size) {
		o = fdt_slot_deref(t, fd);
		if (o && !urcu_ref_get_unless_zero(&o->ref))
			o = NULL;	/* dying: as good as closed */
	}
	fdt_read_unlock();
	return o;
}

int fdt_max(void)
{
	struct fdt_array *t;
	int max;

	if (!fdt_used())
		return -1;
	fdt_read_lock();
	t = fdt_array_deref();
	max = t->size - 1;
	fdt_read_unlock();
	return max;
}

int fdt_each(int lo, int hi, int (*fn)(int fd, struct fdobj *o, void *arg),
	     void *arg)
{
	int fd = lo < 0 ? 0 : lo;
	int ret;

	if (!fdt_used())
		return 0;
	while (fd <= hi) {
		struct fdt_array *t;
		struct fdobj *o = NULL;

		/* Find the next live entry and pin it; the call is made
		 * outside the read-side section, since fn may block or
		 * close (the table may have grown or shrunk by then: we
		 * carry on from fd + 1 in whatever array is current). */
		fdt_read_lock();
		t = fdt_array_deref();
		for (; fd <= hi && fd < t->size; fd++) {
			o = fdt_slot_deref(t, fd);
			if (o && urcu_ref_get_unless_zero(&o->ref))
				break;
			o = NULL;
		}
		fdt_read_unlock();
		if (!o)
			break;
		ret = fn(fd, o, arg);
		fdt_put(o);
		if (ret)
			return ret;
		fd++;
	}
	return 0;
}

/* --- writers --- */

static void fdt_array_free_rcu(struct rcu_head *head)
{
	struct fdt_array *t = caa_container_of(head, struct fdt_array, rcu);

	tsan_acquire(&fdt_gp);
	free(t);
}

/* The number of slots the table may have: RLIMIT_NOFILE's hard limit
 * rounded up to a power of two, at most FDT_MAX_SIZE. The kernel never
 * hands out an fd at or above the hard limit, but the limit can be raised
 * later, so ask at every growth. */
static int fdt_limit(void)
{
	struct rlimit rl;
	int lim = FDT_MIN_SIZE;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max >= FDT_MAX_SIZE)
		return FDT_MAX_SIZE;
	while ((rlim_t)lim < rl.rlim_max)
		lim <<= 1;
	return lim;
}

/*
 * Make the table hold fd: publish a copy with room for it and retire the
 * old one after a grace period. Called with fdt_lock held. Returns the
 * current array, or NULL with *err set.
 */
static struct fdt_array *fdt_expand(int fd, int *err)
{
	struct fdt_array *t = fdt_table, *n;
	int size = t ? t->size : FDT_MIN_SIZE;

	if (t && fd < t->size)
		return t;
	if (fd >= fdt_limit()) {
		*err = -EBADF;
		return NULL;
	}
	while (size <= fd)
		size <<= 1;
	n = calloc(1, sizeof(*n) + (size_t)size * sizeof(n->slot[0]));
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	n->size = size;
	if (t)
		memcpy(n->slot, t->slot, (size_t)t->size * sizeof(t->slot[0]));
	tsan_release(&fdt_table);
	rcu_assign_pointer(fdt_table, n);
	if (t)
		fdt_call_rcu(&t->rcu, fdt_array_free_rcu);
	return n;
}

int fdt_install(int fd, struct fdobj *o)
{
	struct fdt_array *t;
	struct fdobj *old;
	int err = 0;

	if (fd < 0)
		return -EBADF;
	fdobj_hold(o);			/* the slot's reference */
	pthread_mutex_lock(&fdt_lock);
	t = fdt_expand(fd, &err);
	if (!t) {
		pthread_mutex_unlock(&fdt_lock);
		fdt_put(o);
		return err;
	}
	old = t->slot[fd];
	fdt_slot_assign(t, fd, o);
	pthread_mutex_unlock(&fdt_lock);
	/* Stale: the kernel reused the number behind our back (a real
	 * close we did not see). Its release may take fdt_lock. */
	fdt_put(old);
	return 0;
}

/* Is anything at fd? A look without the writer lock: the common case is
 * a libc fd that was never ours (every close() asks). An entry installed
 * after this look is a new one, made for a number the kernel handed out
 * after the caller's. */
static bool fdt_occupied(int fd)
{
	struct fdt_array *t;
	bool there = false;

	fdt_read_lock();
	t = fdt_array_deref();
	if (fd < t->size)
		there = rcu_dereference(t->slot[fd]) != NULL;
	fdt_read_unlock();
	return there;
}

struct fdobj *fdt_remove(int fd)
{
	struct fdt_array *t;
	struct fdobj *o = NULL;

	if (fd < 0 || !fdt_used() || !fdt_occupied(fd))
		return NULL;
	pthread_mutex_lock(&fdt_lock);
	t = fdt_table;
	if (fd < t->size) {
		o = t->slot[fd];
		if (o)
			fdt_slot_assign(t, fd, NULL);
	}
	pthread_mutex_unlock(&fdt_lock);
	return o;
}

void fdt_forget(int fd)
{
	fdt_put(fdt_remove(fd));
}

/* --- fork --- */

/*
 * The order matters; every lock is taken in the order the other paths
 * take them. fdt_lock first: a writer holding it may call call_rcu (the
 * first call takes call_rcu's mutex to create the worker) and may
 * register with urcu-bp (its registry lock). Then call_rcu's workers are
 * paused: a worker finishes the callback it is in (ops->free, which never
 * takes fdt_lock) and may need urcu-bp's grace-period lock to get there,
 * which urcu_bp_before_fork takes last. The after-fork handlers undo it
 * in reverse.
 */
void fdt_before_fork(void)
{
	pthread_mutex_lock(&fdt_lock);
	urcu_bp_call_rcu_before_fork();
	urcu_bp_before_fork();
}

void fdt_after_fork_parent(void)
{
	urcu_bp_after_fork_parent();
	urcu_bp_call_rcu_after_fork_parent();
	pthread_mutex_unlock(&fdt_lock);
}

void fdt_after_fork_child(void)
{
	sigset_t all, old;

	urcu_bp_after_fork_child();
	/* call_rcu_after_fork_child starts a new default worker (when
	 * call_rcu was ever used): it must be born with signals blocked
	 * too. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	urcu_bp_call_rcu_after_fork_child();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Only this thread exists in the child: start from a fresh mutex
	 * rather than unlock one that was locked in another process. */
	pthread_mutex_init(&fdt_lock, NULL);
}
