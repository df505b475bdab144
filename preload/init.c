/*
 * init.c - the preload's process-wide state: the stack (started by the
 * first AF_INET socket() a program makes), fork(), and exit.
 *
 * A process that never opens an AF_INET socket never reads the
 * configuration, never opens the device and never starts a thread.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "config.h"
#include "os.h"
#include "preload.h"

/* Set on the stack thread: the wake-ups its notify callbacks make wait for
 * the end of its batch (pl_wake_deferred). */
__thread bool pl_stack_thread __attribute__((tls_model("initial-exec")));
bool pl_exiting;
unsigned pl_gen;

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stack *stack;
static int init_err;            /* the first start's failure, repeated */
static unsigned long handovers;
static pid_t stack_pid;
static char stats_path[PATH_MAX];       /* MTCP_STATS */

static void mark_stack_thread(void)
{
	pl_stack_thread = true;
}

/* The stack's operating-system calls (os.h) are libc's, never our
 * wrappers: every frame it sends would otherwise be looked up in the fd
 * table first, and its own AF_INET socket (an interface ioctl) would
 * become one of ours. */
static void os_fill(void)
{
	struct mtcp_os os = {
		.socket = REAL(socket),
		.bind = REAL(bind),
		.setsockopt = REAL(setsockopt),
		.ioctl = REAL(ioctl),
		.open = REAL(open),
		.close = pl_own_close,
		.read = REAL(read),
		.write = REAL(write),
		.readv = REAL(readv),
		.writev = REAL(writev),
		.send = REAL(send),
		.recv = REAL(recv),
		.sendmsg = REAL(sendmsg),
		.recvmsg = REAL(recvmsg),
		.poll = REAL(poll),
		.eventfd = REAL(eventfd),
		.fstat = REAL(fstat),
		.epoll_create1 = REAL(epoll_create1),
		.epoll_ctl = REAL(epoll_ctl),
		.epoll_wait = REAL(epoll_wait),
		.own = pl_own_fd,
	};

	mtcp_os_set(&os);
}

/* Once, before any code of the stack runs for us: from our constructor
 * (the preload's own log lines, which go through the stack's log), or
 * from the first pl_stack when another library's constructor opens a
 * socket before ours has run. */
static pthread_once_t os_once = PTHREAD_ONCE_INIT;

static void os_install(void)
{
	pthread_once(&os_once, os_fill);
}

__attribute__((constructor))
static void pl_init(void)
{
	os_install();
	pl_exec_adopt();
}

struct stack *pl_stack_if_running(void)
{
	struct stack *st = __atomic_load_n(&stack, __ATOMIC_ACQUIRE);

	return st && getpid() == stack_pid ? st : NULL;
}

struct stack *pl_stack(int *err)
{
	struct stack *st = __atomic_load_n(&stack, __ATOMIC_ACQUIRE);
	struct mtcp_config cfg;
	char msg[512];
	int rc;

	if (st)
		return st;
	pthread_mutex_lock(&init_lock);
	if (stack || init_err) {
		st = stack;
		*err = init_err;
		pthread_mutex_unlock(&init_lock);
		return st;
	}
	os_install();
	mtcp_set_thread_hook(mark_stack_thread);
	mtcp_set_batch_hook(pl_wake_deferred);
	rc = config_from_env(&cfg, msg, sizeof(msg));
	if (rc == 0)
		rc = mtcp_stack_open(&cfg, &st, msg, sizeof(msg));
	if (rc == 0) {
		rc = mtcp_stack_start(st);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "cannot start the stack thread: %s",
				 strerror(-rc));
			mtcp_stack_destroy(st);
		}
	}
	if (rc < 0) {
		/* The variable is named in msg; every later socket() fails the
		 * same way without repeating it. */
		log_error(pre, "%s: AF_INET sockets fail with EAFNOSUPPORT", msg);
		init_err = -EAFNOSUPPORT;
		*err = init_err;
		st = NULL;
	} else {
		stack_pid = getpid();
		memcpy(stats_path, cfg.stats, sizeof(stats_path));
		log_info(pre, "stack started on %s (%s)", cfg.iface,
			 cfg.driver == MTCP_DRIVER_TAP ? "tap" : "packet");
		pl_scm_init();
		__atomic_store_n(&stack, st, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&init_lock);
	return st;
}

bool pl_called_from_libc(const void *ra)
{
	static void *libc_base;
	void *base = __atomic_load_n(&libc_base, __ATOMIC_RELAXED);
	Dl_info info;

	if (!base) {
		if (!dladdr((void *)REAL(socket), &info))
			return false;
		base = info.dli_fbase;
		__atomic_store_n(&libc_base, base, __ATOMIC_RELAXED);
	}
	return dladdr(ra, &info) && info.dli_fbase == base;
}

void pl_count_handover(void)
{
	__atomic_add_fetch(&handovers, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------ fork */

/* Counts the inherited sockets a child can serve (psock_after_fork). */
static int count_servable(int fd, struct fdobj *o, void *arg)
{
	struct psock *ps = (struct psock *)o;

	(void)fd;
	if (o->ops == &psock_ops &&
	    ((ps->has_local && (ps->type == SOCK_DGRAM || ps->listening)) || ps->handle))
		++*(unsigned *)arg;
	return 0;
}

static int after_fork_each(int fd, struct fdobj *o, void *arg)
{
	(void)fd;
	if (o->ops == &psock_ops)
		psock_after_fork((struct psock *)o, arg);
	return 0;
}

/*
 * The child of a fork(): the parent's stack came along as memory and fds,
 * its thread did not. The child leaves it (closing its fds: the device,
 * the registry's lock that says the parent is alive) and, when it
 * inherited a listener or a bound UDP socket, runs a stack of its own at
 * once, a new member of the address's host: those sockets are re-created
 * there and hold their ports with the parent's copies, as one socket
 * would. Everything else it inherited is dead here (psock_after_fork).
 */
static void stack_after_fork_child(void)
{
	struct stack *old = __atomic_load_n(&stack, __ATOMIC_RELAXED);
	struct stack *st = NULL;
	unsigned servable = 0;
	int err = 0;

	pthread_mutex_init(&init_lock, NULL);
	pl_gen++;
	if (!old)
		return;
	__atomic_store_n(&stack, NULL, __ATOMIC_RELAXED);
	mtcp_stack_forget(old);
	fdt_each(0, fdt_max(), count_servable, &servable);
	if (servable) {
		st = pl_stack(&err);
		if (!st)
			log_error(pre, "fork: the child's stack did not start: its %u "
				  "inherited listener(s) fail with EBADFD", servable);
	}
	fdt_each(0, fdt_max(), after_fork_each, st);
	/* This thread's waiter, now: a child that shares a connection may
	 * lock itself down before its first wait (sshd's pre-authentication
	 * child sets RLIMIT_NOFILE to 1 and a seccomp filter), when no
	 * eventfd can be made any more. */
	if (st)
		(void)pl_waiter(&err);
}

/*
 * Before a fork(): every connection the child inherits is shared (a
 * handle in the registry, the child counted as a holder to come), so
 * that the parent's close of its copy leaves it to the child, as the
 * kernel's one socket would be (stack/handoff.c).
 */
struct share_pass {
	unsigned epoch;
	uint64_t *ids;
	size_t n, cap;
	struct stack *st;
};
static unsigned share_epoch;

static int share_each(int fd, struct fdobj *o, void *arg)
{
	struct share_pass *sp = arg;
	struct psock *ps = (struct psock *)o;
	uint64_t id;

	(void)fd;
	if (o->ops != &psock_ops || ps->dead || !ps->s || ps->type != SOCK_STREAM ||
	    ps->listening || ps->shared_epoch == sp->epoch)
		return 0;
	ps->shared_epoch = sp->epoch;   /* once per socket, not per fd */
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 16;
		uint64_t *ids = realloc(sp->ids, cap * sizeof(*ids));
		if (!ids)
			return 0;
		sp->ids = ids;
		sp->cap = cap;
	}
	if (mtcp_share(ps->s, true, &id) == 0) {
		ps->handle = id;
		sp->ids[sp->n++] = id;
	}
	return 0;
}

PL_EXPORT pid_t fork(void)
{
	struct share_pass sp = { .epoch = ++share_epoch };
	pid_t pid;

	pl_enter();
	sp.st = __atomic_load_n(&stack, __ATOMIC_ACQUIRE);
	if (sp.st && getpid() == stack_pid)
		fdt_each(0, fdt_max(), share_each, &sp);
	/* pl_lock first: nothing under it reaches the table's locks, and
	 * fdt_before_fork pauses the call_rcu worker. */
	pthread_mutex_lock(&pl_lock);
	fdt_before_fork();
	pid = REAL(fork)();
	if (pid == 0) {
		pthread_mutex_init(&pl_lock, NULL);
		fdt_after_fork_child();
		pl_waiter_after_fork_child();
		pl_sig_after_fork_child();
		stack_after_fork_child();
	} else {
		fdt_after_fork_parent();
		pthread_mutex_unlock(&pl_lock);
		for (size_t i = 0; pid < 0 && i < sp.n; i++)
			mtcp_share_abort(sp.st, sp.ids[i]);
	}
	free(sp.ids);
	pl_exit();
	return pid;
}

/* daemon(3) forks inside libc, past our fork(): done here as glibc does it
 * (misc/daemon.c), with our fork, so that the daemon runs a stack of its
 * own. The parent leaves with _exit, as there: no exit handlers of the
 * program's (ours, _exit's, hand what the child holds too to it). */
PL_LOCAL(fork);
PL_LOCAL(_exit);

PL_EXPORT int daemon(int nochdir, int noclose)
{
	switch (pl_fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		pl__exit(0);
	}
	if (setsid() == -1)
		return -1;
	if (!nochdir && chdir("/") == -1)
		return -1;
	if (!noclose) {
		int fd = pl_open("/dev/null", O_RDWR);
		if (fd == -1)
			return -1;
		(void)pl_dup2(fd, STDIN_FILENO);
		(void)pl_dup2(fd, STDOUT_FILENO);
		(void)pl_dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			(void)pl_close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------ exit */

static int close_at_exit(int fd, struct fdobj *o, void *arg)
{
	(void)arg;
	if (o->ops != &psock_ops)
		return 0;
	struct fdobj *mine = fdt_remove(fd);
	if (mine)
		fdt_put(mine);
	return 0;
}

/* What the stack held when the process began to exit, before its
 * sockets closed: the program's sockets and their control blocks (a
 * forking server's parent should hold only its listener). */
static struct mtcp_usage usage_at_exit;

/* MTCP_STATS: "usage" lines (usage_at_exit), then the counters and drops
 * as mtcp-echo prints them. */
static void write_stats(struct stack *st)
{
	struct stack_stats ss;
	bool out = strcmp(stats_path, "-") == 0;
	FILE *f;

	mtcp_stack_stats(st, &ss);
	f = out ? stderr : fopen(stats_path, "we");
	if (!f) {
		log_error(pre, "MTCP_STATS: cannot write \"%s\": %s", stats_path,
			  strerror(errno));
	} else {
		fprintf(f, "usage sockets %u\nusage tcp_pcbs %u\n", usage_at_exit.sockets,
			usage_at_exit.tcp_pcbs);
		mtcp_stats_print(&ss, f);
		if (!out && fclose(f))
			log_error(pre, "MTCP_STATS: writing \"%s\": %s", stats_path,
				  strerror(errno));
	}
}

/* ------------------------------------------------------------ keeper */

/* The stack's fds, sorted: far fewer than this (device 1-2, wake-up 1,
 * registry 2, mailbox 1, steering 3 maps, the filter and libbpf's). */
#define KEEP_FDS_MAX 64

static int fd_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static bool fd_kept(const int *keep, int n, int fd)
{
	return bsearch(&fd, keep, (size_t)n, sizeof(*keep), fd_cmp) != NULL;
}

/* Close fds lo..hi (UINT_MAX: all from lo on). */
static void close_from(unsigned lo, unsigned hi)
{
	struct rlimit rl;

	if (lo > hi)
		return;
	/* close_range(2) (Linux 5.9); else one at a time, up to the
	 * limit (no fd lies at or past it). Never our close: the fd table
	 * is the parent's and nothing here looks at it. */
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < hi)
		hi = rl.rlim_cur > lo ? (unsigned)rl.rlim_cur - 1 : lo;
	for (unsigned fd = lo; fd <= hi && fd < (1u << 20); fd++)
		(void)REAL(close)((int)fd);
}

/*
 * The keeper holds the stack's fds and nothing of the program's: a pipe
 * or socket it kept would tell its reader the program is still there (a
 * shell's $(prog) would wait for the keeper, not the program). stdin and
 * stdout become /dev/null; stderr too unless it is a regular file (a log
 * the keeper may still write its one line to).
 */
static void keeper_fds(struct stack *st)
{
	int keep[KEEP_FDS_MAX];
	int n = mtcp_stack_fds(st, keep, KEEP_FDS_MAX);
	struct stat sb;
	int null;

	qsort(keep, (size_t)n, sizeof(*keep), fd_cmp);
	null = REAL(open)("/dev/null", O_RDWR);
	for (int fd = 0; fd <= STDERR_FILENO; fd++) {
		if (fd_kept(keep, n, fd) || fd == null)
			continue;
		if (fd == STDERR_FILENO && REAL(fstat)(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			continue;
		if (null >= 0)
			(void)REAL(dup2)(null, fd);
		else
			(void)REAL(close)(fd);
	}
	unsigned lo = STDERR_FILENO + 1;
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		close_from(lo, (unsigned)keep[i] - 1);
		lo = (unsigned)keep[i] + 1;
	}
	close_from(lo, UINT_MAX);
}

/*
 * Signals: every disposition back to the default and none blocked, as a
 * new program would have them: the program's handlers are its own and
 * would run its code in a process it does not know about. setsid() has
 * taken the keeper out of the program's process group and terminal, so a
 * ^C, a hang-up or a kill of the job (SIGINT, SIGHUP, SIGTERM to the
 * group) does not end it before its connections are done; one sent to its
 * own pid does, as it ends any member (its liveness lock goes, the others
 * free its flows). SIGPIPE is ignored: its writes are to its own fds.
 */
static void keeper_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa.sa_handler = sig == SIGPIPE ? SIG_IGN : SIG_DFL;
		(void)REAL(sigaction)(sig, &sa, NULL);
	}
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
}

/*
 * The keeper, a child forked at exit (pl_fini): the same member of the
 * address's host as the program was (it inherited the liveness lock's
 * description, the device and the steering), so its connections' frames
 * keep reaching it and nothing moves. It finishes them, leaves the host
 * and ends with _exit: the program's exit handlers and stdio buffers are
 * the program's, already run or written by it.
 */
static void __attribute__((noreturn)) keeper_main(struct stack *st)
{
	mtcp_stack_fork_child(st);
	(void)setsid();
	keeper_fds(st);
	keeper_signals();
	(void)REAL(prctl)(PR_SET_NAME, "mtcp-keeper", 0, 0, 0);
	uint64_t cap = mtcp_stack_keep_cap(st);
	unsigned left = mtcp_stack_keep(st, cap);
	if (left)
		log_warn(pre, "keeper %d: %u connection(s) still not done after %llu s "
			 "abandoned", (int)getpid(), left,
			 (unsigned long long)(cap / 1000000));
	mtcp_stack_stop(st);
	REAL(_exit)(0);
	__builtin_unreachable();
}

/*
 * Hand what the stack still has to a keeper and let the process go. 0:
 * the keeper has it (this process must not touch the stack again);
 * -errno: fork failed, the stack runs as before.
 */
static int keeper_fork(struct stack *st)
{
	pid_t pid;

	/* The address's keeper, when one lives, takes these connections
	 * (stack/handoff.c) instead of a new fork, so that keepers do not
	 * pile up, one per exited process; what it cannot take is forked
	 * below. */
	if (mtcp_handoff_to_keeper(st) == 0 && !mtcp_stack_leftovers(st)) {
		mtcp_stack_stop(st);
		log_debug(pre, "exit: the keeper took this process's connections");
		return 0;
	}

	mtcp_stack_pause(st);
	mtcp_stack_fork_prepare(st);
	/* libc's fork: its own atfork work (malloc's locks) makes the copy
	 * usable; ours (fork()) would start a new member in the child. */
	pid = REAL(fork)();
	if (pid == 0)
		keeper_main(st);
	if (pid < 0) {
		int err = errno;

		mtcp_stack_fork_child(st);
		int rc = mtcp_stack_resume(st);
		if (rc < 0)
			log_error(pre, "exit: the stack thread did not start again: %s",
				  strerror(-rc));
		return -err;
	}
	mtcp_stack_fork_parent(st);
	log_info(pre, "exit: keeper %d finishes this process's connections", (int)pid);
	return 0;
}

/*
 * exec (exec.c): the process's sockets were let go; what the stack still
 * has (connections others hold, the new image's among them; orphans
 * finishing) goes to a keeper as at exit, and the next pl_stack (an exec
 * that failed) starts a new stack. This image's stack is never touched
 * again.
 */
void pl_leave_stack(struct stack *st)
{
	pthread_mutex_lock(&init_lock);
	__atomic_store_n(&stack, NULL, __ATOMIC_RELEASE);
	init_err = 0;
	pthread_mutex_unlock(&init_lock);
	(void)mtcp_handoff_push(st);
	if (mtcp_stack_leftovers(st) && mtcp_stack_shared(st)) {
		int rc = keeper_fork(st);
		if (rc == 0)
			return;
		log_warn(pre, "exec: no keeper (fork: %s): the sockets the new program "
			 "inherits are lost", strerror(-rc));
	}
	mtcp_stack_stop(st);
}

/* ------------------------------------------------------------ sandboxes */

/* This thread runs under a seccomp filter the program installed (sshd's
 * pre-authentication child): no system call of ours but read, write,
 * ppoll, futex and nanosleep from here on (mtcp_thread_quiet). */
static __thread bool pl_sandboxed __attribute__((tls_model("initial-exec")));

/*
 * prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): the filter covers the
 * calling thread only, not our stack thread. Before it goes on, this
 * thread gets what it would otherwise make later (its waiter's eventfd);
 * after, the stack thread sends its frames and messages, and its exit
 * runs there (pl_fini). A filter applied with seccomp(2) and TSYNC
 * reaches the stack thread too: not supported (the stack would die on
 * its first blocked call).
 */
PL_EXPORT int prctl(int option, ...)
{
	unsigned long a2, a3, a4, a5;
	va_list ap;
	int err = 0, rc;

	va_start(ap, option);
	a2 = va_arg(ap, unsigned long);
	a3 = va_arg(ap, unsigned long);
	a4 = va_arg(ap, unsigned long);
	a5 = va_arg(ap, unsigned long);
	va_end(ap);
	bool sandbox = option == PR_SET_SECCOMP && a2 == SECCOMP_MODE_FILTER &&
		       pl_stack_if_running();
	if (sandbox && !pl_waiter(&err))
		log_warn(pre, "seccomp: no waiter for this thread (%s)", strerror(-err));
	rc = REAL(prctl)(option, a2, a3, a4, a5);
	if (rc == 0 && sandbox) {
		pl_sandboxed = true;
		mtcp_thread_quiet();
	}
	return rc;
}

/* Let go of a socket at a sandboxed exit, leaving the fd table alone:
 * its frees go through call_rcu, whose worker thread a sandboxed
 * process (RLIMIT_NPROC 0) may not have and cannot start. */
static int release_at_exit(int fd, struct fdobj *o, void *arg)
{
	struct psock *ps = (struct psock *)o;

	(void)fd;
	(void)arg;
	if (o->ops != &psock_ops)
		return 0;
	struct mtcp_sock *s = __atomic_exchange_n(&ps->s, NULL, __ATOMIC_ACQ_REL);
	if (s) {
		mtcp_set_notify(s, NULL, NULL);
		mtcp_release(s);
	}
	return 0;
}

bool pl_thread_sandboxed(void)
{
	return pl_sandboxed;
}

/* pl_fini's work for a sandboxed thread, on the stack thread. */
static void exit_for_sandboxed(void *arg)
{
	struct stack *st = arg;

	mtcp_stack_usage(st, &usage_at_exit);
	fdt_each(0, fdt_max(), release_at_exit, NULL);
	(void)mtcp_handoff_push(st);
}

/*
 * The process is exiting: the kernel would close every socket and go on
 * delivering what was written (and the FIN), and keep TIME-WAIT, after
 * the process is gone. A user-space stack dies with its process, so it
 * closes them now and, when something is left, forks a keeper that goes
 * on with it (keeper_fork); the process exits at once.
 */
__attribute__((destructor))
static void pl_fini(void)
{
	struct stack *st = __atomic_load_n(&stack, __ATOMIC_ACQUIRE);
	bool stats_done = false;
	int rc;

	if (!st || getpid() != stack_pid || __atomic_exchange_n(&pl_exiting, true,
								 __ATOMIC_RELAXED))
		return;
	if (pl_sandboxed) {
		/* No fork, no socket call here: the stack thread closes our
		 * sockets and hands what others hold to them; what is left
		 * ends with the process (its member's sweep). */
		int e = mtcp_stack_call(st, exit_for_sandboxed, st, 5 * 1000 * 1000);
		if (e < 0)
			log_warn(pre, "exit (sandboxed): %s", strerror(-e));
		return;
	}
	pl_enter();
	/* pl_exiting (set above): Linux's inet_release, no lingering close
	 * at exit (psock.c). What the kernel releases at exit goes now:
	 * listeners (their queues move to the port's other holders,
	 * tcp_migrate.c), UDP sockets, the ports of closed sockets; what is
	 * left are orphaned connections, and those other processes still
	 * hold, which go to one of them (handoff.c) when one is alive. */
	mtcp_stack_usage(st, &usage_at_exit);
	fdt_each(0, fdt_max(), close_at_exit, NULL);
	(void)mtcp_handoff_push(st);
	if (handovers)
		log_info(pre, "exit: %lu socket(s) were handed to the kernel", handovers);
	if (!mtcp_stack_leftovers(st)) {
		mtcp_stack_stop(st);
		if (stats_path[0])
			write_stats(st);
		pl_exit();
		return;
	}
	if (!mtcp_stack_shared(st)) {
		/* A keeper alone on the address would hold the device and
		 * answer (reset) the next process's frames. */
		log_info(pre, "exit: the stack is alone on its address: no keeper");
	} else {
		/* The counters are this process's: written before the keeper
		 * goes on with its stack. */
		if (stats_path[0])
			write_stats(st);
		if ((rc = keeper_fork(st)) == 0) {
			pl_exit();
			return;
		}
		stats_done = true;
		log_warn(pre, "exit: no keeper (fork: %s): waiting for the connections "
			 "still delivering data, at most 10 s", strerror(-rc));
	}
	/* NOTE: no keeper: 10 s, then what is left is abandoned (logged). */
	unsigned left = mtcp_stack_drain(st, 10 * 1000 * 1000);
	if (left)
		log_warn(pre, "exit: %u connection(s) still delivering data after 10 s "
			 "abandoned", left);
	mtcp_stack_stop(st);
	if (stats_path[0] && !stats_done)
		write_stats(st);
	pl_exit();
}

/* _exit(2) runs no exit handlers, ours included; the kernel still closes
 * the process's sockets and finishes their connections. Forking servers'
 * children leave by _exit (python's socketserver, daemon(3)'s parent):
 * the same as at exit. */
PL_EXPORT void _exit(int status)
{
	pl_fini();
	REAL(_exit)(status);
	__builtin_unreachable();
}

PL_EXPORT void _Exit(int status)
{
	pl_fini();
	REAL(_exit)(status);
	__builtin_unreachable();
}
