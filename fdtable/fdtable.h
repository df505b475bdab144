/*
 * fdtable.h - fd number -> the preload's object (a stack socket, an
 * emulated epoll instance), for every intercepted call.
 *
 * The table is an array indexed by fd, published with RCU (liburcu, bp
 * flavour: nothing for the application's threads to register, survives
 * fork). Readers (fdt_get) never take a lock: they load the slot inside a
 * read-side section and take a reference with urcu_ref_get_unless_zero.
 * Writers (install, remove, grow) serialise on one mutex; the array grows
 * by copy and the old one is freed after a grace period.
 *
 * Objects are reference counted. The table holds one reference per fd
 * number that names the object (dup'd numbers each hold one); every
 * fdt_get returns one more, dropped with fdt_put. The last reference calls
 * ops->release (synchronously, on the putting thread: close the stack
 * socket, ...), then the memory is freed by ops->free after a grace
 * period, since a reader may still be looking at the pointer.
 *
 * Linux's files_struct / fget_light in miniature (Documentation/
 * filesystems/files.rst).
 */
#ifndef MTCP_FDTABLE_H
#define MTCP_FDTABLE_H

#include <stdbool.h>
#include <urcu-bp.h>
#include <urcu/ref.h>

struct fdobj;

/*
 * release runs on the thread that drops the last reference, outside every
 * fdtable lock and read-side section: it may block and may call fdt_*
 * (remove other fds, ...). free runs later on liburcu's call_rcu thread
 * (signals blocked), after a grace period; it must not block long nor
 * change the table (no fdt_install/remove/forget, no last fdt_put): a
 * fork waits for it with the writer lock held. Either
 * may be NULL: a NULL free means the memory is not the table's business
 * (it must then stay readable for a grace period after release).
 */
struct fdobj_ops {
	const char *name;                       /* "socket", "epoll" */
	void (*release)(struct fdobj *o);       /* last reference gone */
	void (*free)(struct fdobj *o);          /* after a grace period */
};

struct fdobj {
	struct urcu_ref ref;
	const struct fdobj_ops *ops;
	struct rcu_head rcu;
};

/* Initialise o with one reference (the caller's). */
void fdobj_init(struct fdobj *o, const struct fdobj_ops *ops);
void fdobj_hold(struct fdobj *o);

/* The object at fd with a new reference, or NULL (fd < 0, too large, or
 * nothing there). Lock-free; costs one load when the table was never
 * used. */
struct fdobj *fdt_get(int fd);
/* Drop a reference from fdt_get, fdobj_init or fdt_remove. */
void fdt_put(struct fdobj *o);

/* Make fd name o: the table takes its own reference. Whatever was at fd
 * before is dropped (a stale entry). 0 or -ENOMEM / -EBADF (fd < 0, or
 * beyond what RLIMIT_NOFILE's hard limit (at most 1 << 20) allows). */
int fdt_install(int fd, struct fdobj *o);
/* Take fd's entry out of the table: the table's reference passes to the
 * caller (fdt_put it), or NULL when fd named nothing. */
struct fdobj *fdt_remove(int fd);
/* fdt_remove + fdt_put: a real call handed out fd, so nothing of ours can
 * be there any more. Cheap when fd was never ours. */
void fdt_forget(int fd);

/* True once anything was ever installed (the pass-through fast path). */
bool fdt_used(void);
/* The highest fd number the table can hold now (-1 before first use). */
int fdt_max(void);
/* Call fn for every fd in [lo, hi] that names an object, in increasing
 * order, each with a reference held for the call. Stops when fn returns
 * non-zero and returns that. Entries may change while it runs. */
int fdt_each(int lo, int hi, int (*fn)(int fd, struct fdobj *o, void *arg), void *arg);

/* fork: call around fork() (urcu-bp's and call_rcu's own handlers).
 * before_fork takes the writer lock: no fdt_install/fdt_remove/fdt_forget
 * (nor a release that calls them) on the forking thread until the matching
 * after_fork_* call. */
void fdt_before_fork(void);
void fdt_after_fork_parent(void);
void fdt_after_fork_child(void);

#endif
