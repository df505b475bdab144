/*
 * fdcalls.c - the calls on any fd that must know about ours: close, the
 * dup family, fcntl, ioctl, fstat; and every call that hands out a new fd
 * number, which cannot be ours any more (a stale entry, left by a close
 * we did not see, is forgotten).
 */
#include <linux/sockios.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "preload.h"

/* A new fd from the kernel: nothing of ours is at that number. */
static int fresh(int fd)
{
	if (fd >= 0) {
		/* The writer lock, when a stale entry is there. The call
		 * itself (open of a fifo may sleep) stays outside. */
		pl_enter();
		fdt_forget(fd);
		pl_exit();
	}
	return fd;
}

PL_EXPORT int close(int fd)
{
	if (pl_fd_own(fd)) {
		/* The library's own (ownfd.c): not the program's to close. */
		errno = EBADF;
		return -1;
	}
	PL_SECTION();
	struct fdobj *o = fdt_remove(fd);
	/* A kernel socket with SO_LINGER sleeps in close. */
	int rc = PL_OUTSIDE(REAL(close)(fd));

	if (o)
		fdt_put(o);
	return rc;
}

/* fd is now a duplicate of what o (from fdt_get(old), or NULL) was:
 * name the same object there, or nothing; drops o's reference. */
static int alias(struct fdobj *o, int fd)
{
	if (fd >= 0) {
		if (o)
			fdt_install(fd, o);     /* drops what fd named, if anything */
		else
			fdt_forget(fd);
	}
	if (o)
		fdt_put(o);
	return fd;
}

PL_EXPORT int dup(int old)
{
	PL_SECTION();
	struct fdobj *o = fdt_get(old);

	return alias(o, REAL(dup)(old));
}

static int dup_to(int old, int fd, int rc)
{
	if (rc < 0 || old == fd)
		return rc;
	PL_SECTION();
	alias(fdt_get(old), fd);
	return rc;
}

PL_EXPORT int dup2(int old, int fd)
{
	return dup_to(old, fd, REAL(dup2)(old, fd));
}

PL_EXPORT int dup3(int old, int fd, int flags)
{
	return dup_to(old, fd, REAL(dup3)(old, fd, flags));
}

static int collect(int fd, struct fdobj *o, void *arg)
{
	(void)o;
	(void)arg;
	struct fdobj *mine = fdt_remove(fd);
	if (mine)
		fdt_put(mine);
	return 0;
}

/* close_range over the runs of [first, last] that hold none of the
 * library's own descriptors (ownfd.c). */
struct ranges {
	int flags, rc, err;
};

static void close_gap(unsigned lo, unsigned hi, void *arg)
{
	struct ranges *r = arg;

	if (REAL(close_range)) {
		if (PL_OUTSIDE(REAL(close_range)(lo, hi, r->flags)) < 0 && r->rc == 0) {
			r->rc = -1;
			r->err = errno;
		}
		return;
	}
	/* A libc without close_range (closefrom's fallback): one by one, up
	 * to what can be open. */
	unsigned top = (unsigned)sysconf(_SC_OPEN_MAX);
	for (unsigned fd = lo; fd <= hi && fd < top; fd++)
		REAL(close)((int)fd);
}

PL_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	struct ranges r = { .flags = flags };
	int rc;

	if (!REAL(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	PL_SECTION();
	if (first > last) {
		errno = EINVAL;
		return -1;
	}
	pl_own_gaps(first, last, close_gap, &r);
	if ((rc = r.rc) < 0)
		errno = r.err;
	if (rc == 0 && !(flags & CLOSE_RANGE_CLOEXEC) && first <= (unsigned)fdt_max())
		fdt_each((int)first, last > (unsigned)fdt_max() ? fdt_max() : (int)last,
			 collect, NULL);
	return rc;
}

PL_EXPORT void closefrom(int lowfd)
{
	struct ranges r = { .flags = 0 };

	PL_SECTION();
	if (lowfd < 0)
		lowfd = 0;
	pl_own_gaps((unsigned)lowfd, ~0u, close_gap, &r);
	if (lowfd <= fdt_max())
		fdt_each(lowfd, fdt_max(), collect, NULL);
}

/* ------------------------------------------------------------ fcntl */

static int fcntl_common(int fd, int cmd, void *arg)
{
	struct fdobj *o;
	int rc;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		PL_SECTION();
		o = fdt_get(fd);
		return alias(o, REAL(fcntl)(fd, cmd, arg));
	}
	case F_SETFL: {
		PL_SECTION();
		struct psock *ps = psock_get(fd);
		if (ps && (long)arg & O_ASYNC) {
			log_warn(pre, "fd %d: O_ASYNC (SIGIO) is not supported on "
				 "microtcp's sockets: EINVAL", fd);
			psock_put(ps);
			errno = EINVAL;
			return -1;
		}
		/* The eventfd keeps the flags (F_GETFL reads them back);
		 * the socket follows O_NONBLOCK. */
		rc = REAL(fcntl)(fd, cmd, arg);
		if (ps) {
			if (rc == 0)
				ps->nonblock = ((long)arg & O_NONBLOCK) != 0;
			psock_put(ps);
		}
		return rc;
	}
	case F_SETOWN:
	case F_SETOWN_EX:
	case F_SETSIG: {
		PL_SECTION();
		struct psock *ps = psock_get(fd);
		if (ps) {
			log_warn(pre, "fd %d: signal-driven I/O (F_SETOWN/F_SETSIG) is not "
				 "supported on microtcp's sockets: EINVAL", fd);
			psock_put(ps);
			errno = EINVAL;
			return -1;
		}
		return REAL(fcntl)(fd, cmd, arg);
	}
	default:
		return REAL(fcntl)(fd, cmd, arg);
	}
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}
PL_ALIAS(fcntl64, fcntl);

/* ------------------------------------------------------------ ioctl */

PL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct psock *ps;
	va_list ap;
	void *arg;
	int rc, v;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	ps = psock_get(fd);
	if (!ps)
		return REAL(ioctl)(fd, req, arg);
	PL_SECTION();
	if (psock_dead(ps)) {
		psock_put(ps);
		return -1;
	}
	switch (req) {
	case FIONBIO:
		v = *(int *)arg;
		rc = REAL(ioctl)(fd, FIONBIO, &v) < 0 ? -errno : 0;
		if (rc == 0)
			ps->nonblock = v != 0;
		break;
	case FIONREAD:          /* = SIOCINQ */
		rc = mtcp_ioctl_inq(ps->s, &v);
		if (rc == 0)
			*(int *)arg = v;
		break;
	case SIOCOUTQ:
		rc = mtcp_ioctl_outq(ps->s, &v);
		if (rc == 0)
			*(int *)arg = v;
		break;
	case SIOCATMARK:
		rc = mtcp_ioctl_atmark(ps->s, &v);
		if (rc == 0)
			*(int *)arg = v;
		break;
	case FIOCLEX:
	case FIONCLEX:
		rc = REAL(ioctl)(fd, req, arg) < 0 ? -errno : 0;
		break;
	default:
		/* Linux answers ENOTTY (ENOIOCTLCMD) for what a socket does
		 * not know; what we do not serve is said once per request. */
		log_warn(pre, "fd %d: ioctl 0x%lx is not supported on microtcp's "
			 "sockets: ENOTTY", fd, req);
		rc = -ENOTTY;
		break;
	}
	psock_put(ps);
	return pl_ret(rc);
}

/* ------------------------------------------------------------ fstat */

/* A stack socket looks like a socket (S_IFSOCK), as it would on Linux. */
static int sockstat(int fd, struct stat *st, int rc)
{
	struct psock *ps;

	if (rc < 0)
		return rc;
	PL_SECTION();
	ps = psock_get(fd);
	if (ps) {
		st->st_mode = S_IFSOCK | 0777;
		st->st_size = 0;
		st->st_blksize = 4096;
		psock_put(ps);
	}
	return rc;
}

PL_EXPORT int fstat(int fd, struct stat *st)
{
	return sockstat(fd, st, REAL(fstat)(fd, st));
}

PL_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return sockstat(fd, (struct stat *)st, REAL(fstat)(fd, (struct stat *)st));
}

/* ------------------------------------------------------------ new fds */

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	       (mode_t)va_arg(ap, int) : 0;
}

PL_EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(open)(path, flags, mode));
}
PL_ALIAS(open64, open);

PL_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return fresh(REAL(openat)(dirfd, path, flags, mode));
}
PL_ALIAS(openat64, openat);

/* _FORTIFY_SOURCE's open without a mode. */
int __open_2(const char *path, int flags);
PL_EXPORT int __open_2(const char *path, int flags)
{
	return fresh(REAL(open)(path, flags, 0));
}
PL_ALIAS(__open64_2, __open_2);

PL_EXPORT int pipe(int fds[2])
{
	int rc = REAL(pipe)(fds);

	if (rc == 0) {
		fresh(fds[0]);
		fresh(fds[1]);
	}
	return rc;
}

PL_EXPORT int pipe2(int fds[2], int flags)
{
	int rc = REAL(pipe2)(fds, flags);

	if (rc == 0) {
		fresh(fds[0]);
		fresh(fds[1]);
	}
	return rc;
}

PL_EXPORT int eventfd(unsigned init, int flags)
{
	return fresh(REAL(eventfd)(init, flags));
}

PL_LOCAL(close);
PL_LOCAL(dup2);
PL_LOCAL(open);
