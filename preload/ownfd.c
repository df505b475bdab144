/*
 * ownfd.c - the descriptors the library keeps for itself: the stack's
 * device, wake-up eventfd, registry and mailbox, its steering maps.
 *
 * They live in the program's descriptor table, where the program does not
 * expect them: daemons close every descriptor they do not know at start
 * (closefrom, close_range, a close loop up to the limit), and sshd, inetd
 * children and shells dup2 onto fixed low numbers. So the stack's are
 * moved high, below the soft RLIMIT_NOFILE (pl_own_fd, through
 * mtcp_os.own), where the kernel hands out a number only when every lower
 * one is taken, and the program's close, closefrom and close_range leave
 * them alone, as if they were not there (close says EBADF, as for a
 * descriptor that is not open).
 *
 * The stack also needs a few new descriptors as it goes (a thread's
 * waiter eventfd, a connection's state arriving in a memfd, poll over
 * its own): a process that lowers RLIMIT_NOFILE below NOFILE_FLOOR while
 * it has sockets of ours gets NOFILE_FLOOR (setrlimit, prlimit).
 */
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

#define OWN_MAX         (1 << 20)       /* the kernel's fs.nr_open default */
#define OWN_ROOM        128             /* numbers kept below the soft limit */

static uint64_t own_bits[OWN_MAX / 64];
static int own_hi = -1;                 /* the highest marked, a bound for scans */

static void mark(int fd, bool on)
{
	if (fd < 0 || fd >= OWN_MAX)
		return;
	if (on) {
		__atomic_fetch_or(&own_bits[fd / 64], 1ull << (fd % 64), __ATOMIC_RELAXED);
		int hi = __atomic_load_n(&own_hi, __ATOMIC_RELAXED);
		while (fd > hi && !__atomic_compare_exchange_n(&own_hi, &hi, fd, false,
							       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
	} else {
		__atomic_fetch_and(&own_bits[fd / 64], ~(1ull << (fd % 64)), __ATOMIC_RELAXED);
	}
}

bool pl_fd_own(int fd)
{
	return fd >= 0 && fd < OWN_MAX &&
	       (__atomic_load_n(&own_bits[fd / 64], __ATOMIC_RELAXED) >> (fd % 64)) & 1;
}

/* Where the library's descriptors go: OWN_ROOM below the soft limit (half
 * of a small one), so that a program gets the low numbers it expects. */
static int own_base(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > OWN_MAX)
		rl.rlim_cur = OWN_MAX;
	return rl.rlim_cur > 2 * OWN_ROOM ? (int)rl.rlim_cur - OWN_ROOM : (int)rl.rlim_cur / 2;
}

int pl_own_fd(int fd)
{
	int nfd = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, own_base());

	if (nfd < 0) {
		/* No room up there: it stays where it is, guarded all the same. */
		mark(fd, true);
		return fd;
	}
	REAL(close)(fd);
	mark(nfd, true);
	return nfd;
}

int pl_own_close(int fd)
{
	mark(fd, false);
	return REAL(close)(fd);
}

/* fn(lo, hi) for each run [lo, hi] within [first, last] holding none of
 * ours. */
void pl_own_gaps(unsigned first, unsigned last, void (*fn)(unsigned, unsigned, void *),
		 void *arg)
{
	int hi = __atomic_load_n(&own_hi, __ATOMIC_RELAXED);
	unsigned lo = first;

	for (int fd = (int)first; fd <= hi && (unsigned)fd <= last; fd++) {
		if (!pl_fd_own(fd))
			continue;
		if ((unsigned)fd > lo)
			fn(lo, (unsigned)fd - 1, arg);
		lo = (unsigned)fd + 1;
	}
	if (lo <= last && lo >= first)
		fn(lo, last, arg);
}

/* NOTE: vsftpd's pre-login process sets RLIMIT_NOFILE to 0 (no descriptor
 * can be made any more) and serves its control connection, a kernel
 * socket, all the same. Ours needs descriptors of the library's: the
 * limit goes no lower than this, which lets that process make a few of
 * its own too (one log line). */
#define NOFILE_FLOOR    64

/* The plain call: the system call itself, touching nothing of ours (no
 * REAL to resolve): sanitizer runtimes set limits at their start, before
 * anything of ours may run. */
#define PLAIN_PRLIMIT(pid, res, nl, ol) \
	((int)syscall(SYS_prlimit64, (pid), (res), (nl), (ol)))

/* Not instrumented by ThreadSanitizer: its runtime calls setrlimit while
 * it starts, when an instrumented function entry would crash. */
#define NO_TSAN __attribute__((no_sanitize_thread))

NO_TSAN
static int prlimit_common(pid_t pid, int res, const struct rlimit *nl, struct rlimit *ol)
{
	struct rlimit cur, fl;

	if (res != RLIMIT_NOFILE || !nl)
		return PLAIN_PRLIMIT(pid, res, nl, ol);
	if ((pid != 0 && pid != getpid()) ||
	    (nl->rlim_cur >= NOFILE_FLOOR && nl->rlim_max >= NOFILE_FLOOR) ||
	    (!pl_stack_if_running() && !fdt_used()) ||
	    REAL(prlimit)(0, RLIMIT_NOFILE, NULL, &cur) < 0)
		return REAL(prlimit)(pid, res, nl, ol);
	/* Never above what it was: lowering needs no privilege. */
	rlim_t floor = cur.rlim_max < NOFILE_FLOOR ? cur.rlim_max : NOFILE_FLOOR;
	fl.rlim_max = nl->rlim_max > floor ? nl->rlim_max : floor;
	fl.rlim_cur = nl->rlim_cur > floor ? nl->rlim_cur : floor;
	if (fl.rlim_cur > fl.rlim_max)
		fl.rlim_cur = fl.rlim_max;
	log_info(pre, "RLIMIT_NOFILE %llu/%llu asked: %llu/%llu set (microtcp's sockets need "
		 "descriptors of the library's)", (unsigned long long)nl->rlim_cur,
		 (unsigned long long)nl->rlim_max, (unsigned long long)fl.rlim_cur,
		 (unsigned long long)fl.rlim_max);
	return REAL(prlimit)(pid, res, &fl, ol);
}

_Static_assert(sizeof(struct rlimit) == sizeof(struct rlimit64),
	       "the *64 calls take the same structure");

NO_TSAN PL_EXPORT int prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *nl,
		      struct rlimit *ol)
{
	return prlimit_common(pid, (int)res, nl, ol);
}

NO_TSAN PL_EXPORT int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl,
			struct rlimit64 *ol)
{
	return prlimit_common(pid, (int)res, (const struct rlimit *)nl, (struct rlimit *)ol);
}

NO_TSAN PL_EXPORT int setrlimit(__rlimit_resource_t res, const struct rlimit *nl)
{
	return prlimit_common(0, (int)res, nl, NULL);
}

NO_TSAN PL_EXPORT int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *nl)
{
	return prlimit_common(0, (int)res, (const struct rlimit *)nl, NULL);
}
