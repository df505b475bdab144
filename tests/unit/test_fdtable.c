/* test_fdtable.c - the fd table: references, release/free, growth, threads. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "fdtable.h"

#ifdef __SANITIZE_THREAD__
/* The fork test forks while liburcu's call_rcu thread runs; the child
 * starts a new one, which TSan refuses by default. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

#define MAGIC_LIVE	0x1ec7ab1eu
#define MAGIC_DEAD	0xdeadbeefu

/* A test object; the counters are atomics because release runs on
 * whichever thread puts last and free on the call_rcu thread. */
struct tobj {
	struct fdobj fo;
	unsigned magic;
	int id;
	int released;			/* release calls */
	long refs_at_release;		/* o->fo.ref at release time */
	int freed;			/* free calls (static objects only) */
	int (*on_release)(struct tobj *t);	/* a hook, may call fdt_* */
	int hook_fd;
};

/* Totals over every object of the running test. */
static long n_created, n_released, n_expect_free, n_freed, n_double_release,
	    n_release_with_refs, n_seen_dead;

#define REL(t)		__atomic_load_n(&(t).released, __ATOMIC_SEQ_CST)
#define FREED(t)	__atomic_load_n(&(t).freed, __ATOMIC_SEQ_CST)

static long ld(long *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void inc(long *p)
{
	__atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

static long refcount(struct tobj *t)
{
	return __atomic_load_n(&t->fo.ref.refcount, __ATOMIC_SEQ_CST);
}

static void tobj_release(struct fdobj *o)
{
	struct tobj *t = caa_container_of(o, struct tobj, fo);

	if (__atomic_fetch_add(&t->released, 1, __ATOMIC_SEQ_CST))
		inc(&n_double_release);
	t->refs_at_release = __atomic_load_n(&o->ref.refcount,
					     __ATOMIC_SEQ_CST);
	if (t->refs_at_release)
		inc(&n_release_with_refs);
	inc(&n_released);
	if (o->ops->free)
		inc(&n_expect_free);
	if (t->on_release)
		t->on_release(t);
}

/* Heap objects: counted, poisoned, freed. */
static void tobj_free_heap(struct fdobj *o)
{
	struct tobj *t = caa_container_of(o, struct tobj, fo);

	t->magic = MAGIC_DEAD;
	inc(&n_freed);
	free(t);
}

/* Objects that live in the test's frame: counted only. */
static void tobj_free_static(struct fdobj *o)
{
	struct tobj *t = caa_container_of(o, struct tobj, fo);

	__atomic_add_fetch(&t->freed, 1, __ATOMIC_SEQ_CST);
	inc(&n_freed);
}

static const struct fdobj_ops heap_ops = {
	.name = "test-heap",
	.release = tobj_release,
	.free = tobj_free_heap,
};

static const struct fdobj_ops static_ops = {
	.name = "test-static",
	.release = tobj_release,
	.free = tobj_free_static,
};

static const struct fdobj_ops nofree_ops = {
	.name = "test-nofree",
	.release = tobj_release,
	.free = NULL,
};

static void tobj_init(struct tobj *t, const struct fdobj_ops *ops, int id)
{
	memset(t, 0, sizeof(*t));
	t->magic = MAGIC_LIVE;
	t->id = id;
	fdobj_init(&t->fo, ops);
	inc(&n_created);
}

/* No ck_assert here: Check's asserts take a lock of Check's, which a
 * fork would copy locked when another thread is inside one. */
static struct tobj *tobj_new(int id)
{
	struct tobj *t = malloc(sizeof(*t));

	if (!t)
		abort();
	tobj_init(t, &heap_ops, id);
	return t;
}

static struct tobj *get(int fd)
{
	struct fdobj *o = fdt_get(fd);

	return o ? caa_container_of(o, struct tobj, fo) : NULL;
}

/* Install t at fd and drop the creator's reference: the table owns it. */
static void give(int fd, struct tobj *t)
{
	ck_assert_int_eq(fdt_install(fd, &t->fo), 0);
	fdt_put(&t->fo);
}

static int hard_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max > INT_MAX)
		return INT_MAX;
	return (int)rl.rlim_max;
}

/*
 * Wait until every released object was freed. Not urcu_bp_barrier: it
 * waits as well, but ThreadSanitizer sees neither its own allocations
 * change threads nor the order it gives (liburcu is not instrumented),
 * while these counters are atomics it understands.
 */
static void settle(void)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ld(&n_freed) != ld(&n_expect_free)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 10)
			ck_abort_msg("%ld objects released with a free op, "
				     "%ld freed after 10 s", ld(&n_expect_free),
				     ld(&n_freed));
		usleep(100);
	}
}

static void setup(void)
{
	n_created = n_released = n_expect_free = n_freed = 0;
	n_double_release = n_release_with_refs = n_seen_dead = 0;
}

/* Empty the table (CK_FORK=no runs every test in one process) and wait
 * for every pending free. */
static int remove_fn(int fd, struct fdobj *o, void *arg)
{
	(void)o;
	(void)arg;
	fdt_put(fdt_remove(fd));
	return 0;
}

static void teardown(void)
{
	fdt_each(0, INT_MAX, remove_fn, NULL);
	settle();
}

START_TEST(test_get_on_never_used_table_is_null)
{
	/* Must run first when CK_FORK=no: nothing installed yet. */
	ck_assert_msg(!fdt_used(), "table used before any install");
	ck_assert_int_eq(fdt_max(), -1);
	ck_assert_ptr_null(fdt_get(0));
	ck_assert_ptr_null(fdt_get(3));
	ck_assert_ptr_null(fdt_get(-1));
	ck_assert_ptr_null(fdt_remove(3));
	fdt_forget(3);
	ck_assert_int_eq(fdt_each(0, INT_MAX, NULL, NULL), 0);
	ck_assert_msg(!fdt_used(), "a lookup made the table used");
}
END_TEST

START_TEST(test_install_get_put_count_references)
{
	struct tobj t;

	tobj_init(&t, &static_ops, 1);
	ck_assert_int_eq(refcount(&t), 1);
	ck_assert_int_eq(fdt_install(5, &t.fo), 0);
	ck_assert_msg(fdt_used(), "install did not mark the table used");
	ck_assert_int_eq(refcount(&t), 2);

	ck_assert_ptr_eq(get(5), &t);
	ck_assert_int_eq(refcount(&t), 3);
	ck_assert_ptr_eq(get(5), &t);
	ck_assert_int_eq(refcount(&t), 4);
	fdt_put(&t.fo);
	fdt_put(&t.fo);
	ck_assert_int_eq(refcount(&t), 2);

	fdobj_hold(&t.fo);
	ck_assert_int_eq(refcount(&t), 3);
	fdt_put(&t.fo);

	fdt_put(&t.fo);		/* the creator's: the slot's remains */
	ck_assert_int_eq(refcount(&t), 1);
	ck_assert_int_eq(REL(t), 0);
	ck_assert_ptr_eq(get(5), &t);
	fdt_put(&t.fo);

	ck_assert_ptr_null(get(4));
	ck_assert_ptr_null(get(6));
	fdt_put(NULL);		/* harmless */

	fdt_forget(5);
	ck_assert_int_eq(REL(t), 1);
	settle();
	ck_assert_int_eq(FREED(t), 1);
}
END_TEST

START_TEST(test_install_over_stale_entry_releases_it)
{
	struct tobj a, b;

	tobj_init(&a, &static_ops, 1);
	tobj_init(&b, &static_ops, 2);
	give(7, &a);
	give(7, &b);
	ck_assert_msg(REL(a) == 1, "stale entry released %d times",
		      REL(a));
	ck_assert_int_eq(REL(b), 0);
	ck_assert_ptr_eq(get(7), &b);
	fdt_put(&b.fo);

	/* Installing the object that is already there keeps it alive. */
	ck_assert_int_eq(fdt_install(7, &b.fo), 0);
	ck_assert_int_eq(REL(b), 0);
	ck_assert_int_eq(refcount(&b), 1);

	settle();
	ck_assert_int_eq(FREED(a), 1);
	ck_assert_int_eq(FREED(b), 0);
	fdt_forget(7);
	settle();
	ck_assert_int_eq(FREED(b), 1);
}
END_TEST

START_TEST(test_stale_entry_still_referenced_is_released_by_last_put)
{
	struct tobj a, b;
	struct tobj *held;

	tobj_init(&a, &static_ops, 1);
	tobj_init(&b, &static_ops, 2);
	give(7, &a);
	held = get(7);
	give(7, &b);
	ck_assert_msg(REL(a) == 0, "released while a reader holds it");
	ck_assert_ptr_eq(get(7), &b);
	fdt_put(&b.fo);
	fdt_put(&held->fo);
	ck_assert_int_eq(REL(a), 1);
	fdt_forget(7);
	settle();
}
END_TEST

START_TEST(test_remove_passes_the_reference_to_the_caller)
{
	struct tobj t;
	struct fdobj *o;

	tobj_init(&t, &static_ops, 1);
	give(9, &t);
	o = fdt_remove(9);
	ck_assert_ptr_eq(o, &t.fo);
	ck_assert_int_eq(refcount(&t), 1);
	ck_assert_msg(REL(t) == 0, "remove released the object");
	ck_assert_ptr_null(fdt_get(9));
	ck_assert_ptr_null(fdt_remove(9));
	fdt_put(o);
	ck_assert_int_eq(REL(t), 1);
	ck_assert_int_eq(t.refs_at_release, 0);
	settle();
	ck_assert_int_eq(FREED(t), 1);
}
END_TEST

START_TEST(test_forget_drops_the_table_reference)
{
	struct tobj t;
	struct tobj *held;

	tobj_init(&t, &static_ops, 1);
	give(11, &t);
	fdt_forget(10);		/* never ours: nothing happens */
	fdt_forget(12);
	fdt_forget(1 << 19);
	ck_assert_int_eq(REL(t), 0);

	held = get(11);
	fdt_forget(11);
	ck_assert_ptr_null(fdt_get(11));
	ck_assert_msg(REL(t) == 0, "forget released a held object");
	fdt_put(&held->fo);
	ck_assert_int_eq(REL(t), 1);
	fdt_forget(11);		/* twice: harmless */
	ck_assert_int_eq(REL(t), 1);
	settle();	/* t lives in this frame */
}
END_TEST

START_TEST(test_growth_past_initial_size_keeps_entries)
{
	int fds[] = { 0, 3, 255, 256, 1000, 4095 };
	struct tobj *t[6];
	int i, n = 6, big, max;

	for (i = 0; i < n; i++) {
		t[i] = tobj_new(fds[i]);
		give(fds[i], t[i]);
		max = fdt_max();
		ck_assert_msg(max >= fds[i], "fdt_max %d after installing %d",
			      max, fds[i]);
		ck_assert_msg(((max + 1) & max) == 0,
			      "size %d is not a power of two", max + 1);
	}
	ck_assert_int_ge(fdt_max(), 255);

	/* As far as RLIMIT_NOFILE lets the table grow. */
	big = hard_nofile() - 1;
	if (big > (1 << 20) - 1)
		big = (1 << 20) - 1;
	if (big > 4095) {
		struct tobj *b = tobj_new(big);

		give(big, b);
		ck_assert_int_ge(fdt_max(), big);
		ck_assert_ptr_eq(get(big), b);
		fdt_put(&b->fo);
	}

	for (i = 0; i < n; i++) {
		struct tobj *g = get(fds[i]);

		ck_assert_msg(g == t[i], "fd %d lost in growth", fds[i]);
		ck_assert_int_eq(g->id, fds[i]);
		fdt_put(&g->fo);
	}
	ck_assert_int_eq(ld(&n_released), 0);
	teardown();
	ck_assert_int_eq(ld(&n_released), ld(&n_created));
	ck_assert_int_eq(ld(&n_freed), ld(&n_created));
}
END_TEST

START_TEST(test_fd_out_of_range_is_refused)
{
	struct tobj t;
	int max;

	tobj_init(&t, &static_ops, 1);
	ck_assert_int_eq(fdt_install(-1, &t.fo), -EBADF);
	ck_assert_int_eq(fdt_install(INT_MIN, &t.fo), -EBADF);
	ck_assert_int_eq(fdt_install(1 << 20, &t.fo), -EBADF);
	ck_assert_int_eq(fdt_install(INT_MAX, &t.fo), -EBADF);
	ck_assert_msg(refcount(&t) == 1, "a refused install kept a reference");

	give(2, &t);
	max = fdt_max();
	ck_assert_ptr_null(fdt_get(-1));
	ck_assert_ptr_null(fdt_get(INT_MIN));
	ck_assert_ptr_null(fdt_get(max + 1));
	ck_assert_ptr_null(fdt_get(INT_MAX));
	ck_assert_ptr_null(fdt_remove(-1));
	ck_assert_ptr_null(fdt_remove(max + 1));
	ck_assert_ptr_null(fdt_remove(INT_MAX));
	fdt_forget(-1);
	fdt_forget(INT_MAX);
	ck_assert_int_eq(fdt_max(), max);
	ck_assert_int_eq(refcount(&t), 1);
	fdt_forget(2);
	settle();
}
END_TEST

struct visit {
	int fds[16];
	long refs[16];
	int n;
	int stop_at;		/* return 42 on this visit (1-based), 0: never */
};

static int visit_fn(int fd, struct fdobj *o, void *arg)
{
	struct visit *v = arg;
	struct tobj *t = caa_container_of(o, struct tobj, fo);

	ck_assert_int_eq(t->id, fd);
	v->refs[v->n] = refcount(t);
	v->fds[v->n++] = fd;
	return v->n == v->stop_at ? 42 : 0;
}

START_TEST(test_each_visits_in_order_and_stops_early)
{
	int fds[] = { 300, 7, 3, 12, 0 };
	struct visit v;
	int i;

	for (i = 0; i < 5; i++)
		give(fds[i], tobj_new(fds[i]));

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(fdt_each(INT_MIN, INT_MAX, visit_fn, &v), 0);
	ck_assert_int_eq(v.n, 5);
	ck_assert_int_eq(v.fds[0], 0);
	ck_assert_int_eq(v.fds[1], 3);
	ck_assert_int_eq(v.fds[2], 7);
	ck_assert_int_eq(v.fds[3], 12);
	ck_assert_int_eq(v.fds[4], 300);
	for (i = 0; i < 5; i++)
		ck_assert_msg(v.refs[i] == 2, "fd %d visited with %ld refs",
			      v.fds[i], v.refs[i]);

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(fdt_each(4, 12, visit_fn, &v), 0);
	ck_assert_int_eq(v.n, 2);
	ck_assert_int_eq(v.fds[0], 7);
	ck_assert_int_eq(v.fds[1], 12);

	memset(&v, 0, sizeof(v));
	v.stop_at = 2;
	ck_assert_int_eq(fdt_each(0, INT_MAX, visit_fn, &v), 42);
	ck_assert_int_eq(v.n, 2);
	ck_assert_int_eq(v.fds[1], 3);

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(fdt_each(13, 299, visit_fn, &v), 0);
	ck_assert_int_eq(v.n, 0);
	ck_assert_int_eq(fdt_each(5, 4, visit_fn, &v), 0);
	ck_assert_int_eq(v.n, 0);
	ck_assert_int_eq(ld(&n_released), 0);
}
END_TEST

/* fdt_each's callback closes the fd it is given and the next one. */
static int close_two_fn(int fd, struct fdobj *o, void *arg)
{
	struct visit *v = arg;

	(void)o;
	v->fds[v->n++] = fd;
	fdt_put(fdt_remove(fd));
	fdt_put(fdt_remove(fd + 1));
	return 0;
}

START_TEST(test_each_survives_callback_removing_entries)
{
	struct visit v;
	int fd;

	for (fd = 10; fd < 16; fd++)
		give(fd, tobj_new(fd));
	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(fdt_each(0, 100, close_two_fn, &v), 0);
	ck_assert_int_eq(v.n, 3);
	ck_assert_int_eq(v.fds[0], 10);
	ck_assert_int_eq(v.fds[1], 12);
	ck_assert_int_eq(v.fds[2], 14);
	ck_assert_int_eq(ld(&n_released), 6);
}
END_TEST

START_TEST(test_release_runs_once_after_the_last_put)
{
	struct tobj t;
	struct tobj *g1, *g2;

	tobj_init(&t, &static_ops, 1);
	give(4, &t);
	g1 = get(4);
	g2 = get(4);
	fdt_put(fdt_remove(4));
	ck_assert_msg(REL(t) == 0, "released with 2 references left");
	fdt_put(&g1->fo);
	ck_assert_msg(REL(t) == 0, "released with 1 reference left");
	fdt_put(&g2->fo);
	ck_assert_int_eq(REL(t), 1);
	ck_assert_int_eq(t.refs_at_release, 0);
	ck_assert_ptr_null(fdt_get(4));
	settle();
	ck_assert_int_eq(REL(t), 1);
	ck_assert_int_eq(FREED(t), 1);
	ck_assert_int_eq(ld(&n_double_release), 0);
}
END_TEST

/* A release that closes another fd, as closing an epoll instance would:
 * it deadlocks if release ran under the writer lock. */
static int release_removes_other(struct tobj *t)
{
	fdt_put(fdt_remove(t->hook_fd));
	return 0;
}

START_TEST(test_release_may_call_back_into_the_table)
{
	struct tobj a, b, c, d;

	tobj_init(&a, &static_ops, 1);
	tobj_init(&b, &static_ops, 2);
	tobj_init(&c, &static_ops, 3);
	tobj_init(&d, &static_ops, 4);
	a.on_release = release_removes_other;
	a.hook_fd = 21;
	give(20, &a);
	give(21, &b);

	/* Through install's stale-entry put. */
	give(20, &c);
	ck_assert_int_eq(REL(a), 1);
	ck_assert_int_eq(REL(b), 1);
	ck_assert_ptr_null(fdt_get(21));

	/* Through forget. */
	c.on_release = release_removes_other;
	c.hook_fd = 22;
	give(22, &d);
	fdt_forget(20);
	ck_assert_int_eq(REL(c), 1);
	ck_assert_int_eq(REL(d), 1);
	settle();
	ck_assert_int_eq(ld(&n_freed), 4);
}
END_TEST

struct reader_ctl {
	int state;		/* 1: inside the read-side section, 2: leave */
};

static void *rcu_reader(void *arg)
{
	struct reader_ctl *c = arg;

	urcu_bp_read_lock();
	__atomic_store_n(&c->state, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&c->state, __ATOMIC_SEQ_CST) != 2)
		usleep(1000);
	urcu_bp_read_unlock();
	return NULL;
}

START_TEST(test_free_waits_for_a_grace_period)
{
	struct reader_ctl c = { 0 };
	struct tobj t;
	pthread_t th;
	int i;

	tobj_init(&t, &static_ops, 1);
	give(3, &t);
	ck_assert_int_eq(pthread_create(&th, NULL, rcu_reader, &c), 0);
	while (__atomic_load_n(&c.state, __ATOMIC_SEQ_CST) != 1)
		usleep(1000);

	fdt_forget(3);
	ck_assert_int_eq(REL(t), 1);
	/* A reader that began before the release is still inside. */
	for (i = 0; i < 100; i++) {
		ck_assert_msg(FREED(t) == 0,
			      "freed during a read-side section");
		usleep(1000);
	}
	__atomic_store_n(&c.state, 2, __ATOMIC_SEQ_CST);
	pthread_join(th, NULL);
	settle();
	ck_assert_int_eq(FREED(t), 1);
}
END_TEST

START_TEST(test_null_free_releases_and_frees_nothing)
{
	struct tobj t;

	tobj_init(&t, &nofree_ops, 1);
	give(3, &t);
	fdt_forget(3);
	ck_assert_int_eq(REL(t), 1);
	settle();
	ck_assert_int_eq(ld(&n_freed), 0);
}
END_TEST

static sigset_t worker_mask;
static int worker_mask_taken;

static void tobj_free_note_mask(struct fdobj *o)
{
	pthread_sigmask(SIG_BLOCK, NULL, &worker_mask);
	__atomic_store_n(&worker_mask_taken, 1, __ATOMIC_SEQ_CST);
	tobj_free_static(o);
}

static const struct fdobj_ops mask_ops = {
	.name = "test-mask",
	.release = tobj_release,
	.free = tobj_free_note_mask,
};

START_TEST(test_free_runs_with_signals_blocked)
{
	struct tobj t;
	sigset_t none;
	int sigs[] = { SIGINT, SIGTERM, SIGALRM, SIGCHLD, SIGUSR1, SIGIO,
		       SIGPIPE, SIGRTMIN };
	unsigned i;

	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	tobj_init(&t, &mask_ops, 1);
	give(3, &t);
	fdt_forget(3);
	settle();
	ck_assert_int_eq(worker_mask_taken, 1);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		ck_assert_msg(sigismember(&worker_mask, sigs[i]) == 1,
			      "signal %d not blocked on the call_rcu thread",
			      sigs[i]);
}
END_TEST

START_TEST(test_fork_child_keeps_a_working_table)
{
	struct tobj *a = tobj_new(5), *b;
	pid_t pid;
	int status;

	give(5, a);
	fdt_put(fdt_remove(5));	/* the call_rcu thread now runs */
	settle();
	give(5, tobj_new(5));
	give(6, tobj_new(6));

	fdt_before_fork();
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		fdt_after_fork_child();
		b = get(5);
		bad |= !b || b->id != 5;
		if (b)
			fdt_put(&b->fo);
		give(300, tobj_new(300));	/* writer lock usable */
		b = get(300);
		bad |= !b || b->id != 300;
		if (b)
			fdt_put(&b->fo);
		fdt_forget(6);
		bad |= ld(&n_released) != 2;
		fdt_forget(300);
		settle();	/* call_rcu works in the child */
		bad |= ld(&n_freed) != 3;
		_exit(bad ? 1 : 0);
	}
	fdt_after_fork_parent();
	ck_assert_int_ge(pid, 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child's table broken (status 0x%x)", status);

	/* The parent is unaffected. */
	b = get(6);
	ck_assert_ptr_nonnull(b);
	fdt_put(&b->fo);
	give(301, tobj_new(301));
	ck_assert_int_eq(ld(&n_released), 1);
}
END_TEST

/* Writers that keep the table busy while the test forks. */
static int churn_stop;

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	while (!__atomic_load_n(&churn_stop, __ATOMIC_SEQ_CST)) {
		int fd = 400 + (int)(seed % 600);
		struct tobj *t = tobj_new(fd);

		seed = seed * 1103515245u + 12345u;
		if (fdt_install(fd, &t->fo))
			inc(&n_seen_dead);
		fdt_put(&t->fo);
		fdt_put(fdt_remove(400 + (int)((seed >> 8) % 600)));
	}
	return NULL;
}

START_TEST(test_fork_during_concurrent_writers_does_not_deadlock)
{
	pthread_t th[2];
	int i, bad = 0;

	give(5, tobj_new(5));
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn,
						(void *)(uintptr_t)(i + 7)), 0);
	for (i = 0; i < 20; i++) {
		pid_t pid;
		int status;

		usleep(2000);
		fdt_before_fork();
		pid = fork();
		if (pid == 0) {
			struct tobj *t, mine;

			fdt_after_fork_child();
			t = get(5);
			if (!t || t->id != 5)
				_exit(1);
			fdt_put(&t->fo);
			fdt_forget(5);
			/* The totals were copied in the middle of the
			 * writers' work: count this child's own object. */
			tobj_init(&mine, &static_ops, 6);
			if (fdt_install(6, &mine.fo))
				_exit(3);
			fdt_put(&mine.fo);
			fdt_forget(6);
			/* No ck_* in this child (see tobj_new). */
			for (i = 0; i < 10000 && !FREED(mine); i++)
				usleep(1000);
			_exit(REL(mine) != 1 ? 2 : FREED(mine) != 1 ? 4 : 0);
		}
		fdt_after_fork_parent();
		ck_assert_int_ge(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad++;
	}
	__atomic_store_n(&churn_stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_msg(bad == 0, "%d of 20 children found a broken table", bad);
	ck_assert_int_eq(ld(&n_seen_dead), 0);
}
END_TEST

/*
 * Stress: readers get/put random fds while writers install, replace,
 * remove, forget and iterate, and the table grows under them. Every
 * object must be released exactly once, never while someone holds it,
 * and freed once after that. Bounded by time and by iterations.
 */
#define ST_READERS	4
#define ST_WRITERS	2
#define ST_FDS		2048
#define ST_WRITE_ITERS	200000
#define ST_NSEC		500000000L

static int st_go, st_stop;
static long st_reads, st_hits, st_writes;

static long elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + t.tv_nsec - t0->tv_nsec;
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void check_live(struct tobj *t)
{
	if (t->magic != MAGIC_LIVE ||
	    __atomic_load_n(&t->released, __ATOMIC_SEQ_CST))
		inc(&n_seen_dead);
}

static void *st_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct timespec t0;
	long i, hits = 0;

	while (!__atomic_load_n(&st_go, __ATOMIC_ACQUIRE))
		sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Until the writers are done (at most twice their time bound). */
	for (i = 0;; i++) {
		int fd = (int)(rnd(&seed) % (ST_FDS + 64)) - 32;
		struct tobj *t = get(fd);

		if (t) {
			hits++;
			check_live(t);
			if (t->id != fd)
				inc(&n_seen_dead);	/* wrong object */
			if ((i & 7) == 0) {
				fdobj_hold(&t->fo);
				fdt_put(&t->fo);
			}
			fdt_put(&t->fo);
		}
		if ((i & 1023) == 0 &&
		    (__atomic_load_n(&st_stop, __ATOMIC_RELAXED) ||
		     elapsed_ns(&t0) > 2 * ST_NSEC))
			break;
	}
	__atomic_add_fetch(&st_reads, i, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&st_hits, hits, __ATOMIC_SEQ_CST);
	return NULL;
}

static int st_each_fn(int fd, struct fdobj *o, void *arg)
{
	struct tobj *t = caa_container_of(o, struct tobj, fo);

	(void)arg;
	check_live(t);
	if (t->id != fd)
		inc(&n_seen_dead);
	return 0;
}

static void *st_writer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	struct timespec t0;
	long i;

	while (!__atomic_load_n(&st_go, __ATOMIC_ACQUIRE))
		sched_yield();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < ST_WRITE_ITERS; i++) {
		/* Mostly low fds, sometimes far up: the table grows while
		 * the readers run. */
		int limit = i < 64 ? 256 : ST_FDS;
		int fd = (int)(rnd(&seed) % (unsigned)limit);
		unsigned op = rnd(&seed) % 100;
		struct tobj *t;

		if (op < 50) {
			t = tobj_new(fd);
			if (fdt_install(fd, &t->fo))
				inc(&n_seen_dead);
			fdt_put(&t->fo);
		} else if (op < 75) {
			fdt_put(fdt_remove(fd));
		} else if (op < 90) {
			fdt_forget(fd);
		} else if (op < 95) {
			fdt_each(fd, fd + 64, st_each_fn, NULL);
		} else {
			/* A dup: the same object at a second number is
			 * not allowed here (ids name fds), so replace in
			 * place while holding the old one. */
			t = get(fd);
			if (t) {
				struct tobj *n = tobj_new(fd);

				fdt_install(fd, &n->fo);
				fdt_put(&n->fo);
				check_live(t);
				fdt_put(&t->fo);
			}
		}
		if ((i & 255) == 0 && elapsed_ns(&t0) > ST_NSEC)
			break;
	}
	__atomic_add_fetch(&st_writes, i, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_concurrent_readers_and_writers_release_each_object_once)
{
	pthread_t r[ST_READERS], w[ST_WRITERS];
	int i;

	for (i = 0; i < ST_READERS; i++)
		ck_assert_int_eq(pthread_create(&r[i], NULL, st_reader,
						(void *)(uintptr_t)(i + 1)), 0);
	for (i = 0; i < ST_WRITERS; i++)
		ck_assert_int_eq(pthread_create(&w[i], NULL, st_writer,
						(void *)(uintptr_t)(i + 101)),
				 0);
	__atomic_store_n(&st_go, 1, __ATOMIC_RELEASE);
	for (i = 0; i < ST_WRITERS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&st_stop, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < ST_READERS; i++)
		pthread_join(r[i], NULL);

	ck_assert_int_ge(fdt_max(), ST_FDS - 1);
	teardown();

	ck_assert_msg(ld(&n_seen_dead) == 0,
		      "%ld lookups saw a released or wrong object",
		      ld(&n_seen_dead));
	ck_assert_msg(ld(&n_double_release) == 0, "%ld double releases",
		      ld(&n_double_release));
	ck_assert_msg(ld(&n_release_with_refs) == 0,
		      "%ld releases with references left",
		      ld(&n_release_with_refs));
	ck_assert_msg(ld(&n_released) == ld(&n_created),
		      "%ld objects created, %ld released", ld(&n_created),
		      ld(&n_released));
	ck_assert_msg(ld(&n_freed) == ld(&n_created),
		      "%ld objects created, %ld freed", ld(&n_created),
		      ld(&n_freed));
	ck_assert_msg(ld(&st_writes) > 100 && ld(&st_hits) > 100,
		      "too little work: %ld writes, %ld reads, %ld hits",
		      ld(&st_writes), ld(&st_reads), ld(&st_hits));
}
END_TEST

static Suite *fdtable_suite(void)
{
	Suite *s = suite_create("fdtable");
	TCase *tc = tcase_create("core");
	TCase *tt = tcase_create("threads");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_on_never_used_table_is_null);
	tcase_add_test(tc, test_install_get_put_count_references);
	tcase_add_test(tc, test_install_over_stale_entry_releases_it);
	tcase_add_test(tc, test_stale_entry_still_referenced_is_released_by_last_put);
	tcase_add_test(tc, test_remove_passes_the_reference_to_the_caller);
	tcase_add_test(tc, test_forget_drops_the_table_reference);
	tcase_add_test(tc, test_growth_past_initial_size_keeps_entries);
	tcase_add_test(tc, test_fd_out_of_range_is_refused);
	tcase_add_test(tc, test_each_visits_in_order_and_stops_early);
	tcase_add_test(tc, test_each_survives_callback_removing_entries);
	tcase_add_test(tc, test_release_runs_once_after_the_last_put);
	tcase_add_test(tc, test_release_may_call_back_into_the_table);
	tcase_add_test(tc, test_null_free_releases_and_frees_nothing);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tt, setup, teardown);
	tcase_add_test(tt, test_free_waits_for_a_grace_period);
	tcase_add_test(tt, test_free_runs_with_signals_blocked);
	tcase_add_test(tt, test_fork_child_keeps_a_working_table);
	tcase_add_test(tt, test_fork_during_concurrent_writers_does_not_deadlock);
	tcase_add_test(tt, test_concurrent_readers_and_writers_release_each_object_once);
	tcase_set_timeout(tt, 60);
	suite_add_tcase(s, tt);
	return s;
}

CHECK_MAIN(fdtable_suite)
