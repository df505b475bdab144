/*
 * scm.c - a socket of ours passed to another process with SCM_RIGHTS.
 *
 * A stack socket's descriptor is an eventfd of ours: sent over a unix
 * socket, it reaches the receiver as the same eventfd, which means
 * nothing to the receiver's library. vsftpd's privileged process makes
 * every FTP data connection and passes it this way to its session
 * process; systemd-style fd passing and privilege-separated daemons do
 * the same. So:
 *
 *   sender    each connection among the descriptors of an SCM_RIGHTS
 *             message is shared (stack/handoff.c) with the receiver
 *             counted as a holder to come, as a fork()ed child is
 *             (mtcp_share), and the registry notes the eventfd's id,
 *             which the kernel shows in /proc/PID/fdinfo ("eventfd-id")
 *             and which is the same in every process holding it; a send
 *             that fails takes the count back;
 *   receiver  each eventfd received whose id the registry knows gets a
 *             socket of ours again: a shell that joins as a holder and
 *             takes the connection at its first use (psock_claim);
 *             any other descriptor is left as it came.
 *
 * The sender's later close lets go of its copy (mtcp_release). A message
 * never received (its receiver died, or closed the unix socket before
 * reading it) leaves a pending count that the registry forgets after
 * HOST_PENDING_US (10 s); the connection closes then if nobody else holds
 * it. Only connections travel: a listener or a UDP socket sent this way
 * reaches the receiver as a bare eventfd (a log line says so).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

/* At most this many descriptors in one message (Linux's SCM_MAX_FD). */
#define SCM_FDS_MAX 253

/* ------------------------------------------------------------ eventfd ids */

/* This process's /proc/self/fdinfo, opened when its stack starts (a
 * process that later chroots, as vsftpd's session process does, still
 * reads it): (pid << 32) | fd, 0 before the first open. A fork()ed
 * child's copy is its parent's directory, reopened at its first use. */
static uint64_t info_dir;

/* Does the fdinfo of fd (under dir) have an eventfd id? 0 with *id, or
 * -ENOENT (not an eventfd, or a kernel that shows none), -errno. */
static int read_efd_id(int dir, int fd, uint64_t *id)
{
	char name[16], buf[512];
	ssize_t n;

	snprintf(name, sizeof(name), "%d", fd);
	int f = REAL(openat)(dir, name, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return -errno;
	n = REAL(read)(f, buf, sizeof(buf) - 1);
	REAL(close)(f);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	const char *p = strstr(buf, "\neventfd-id:");
	if (!p)
		return -ENOENT;
	*id = strtoull(p + 12, NULL, 10);
	/* An id may be 0 (the kernel's ida starts there): stored + 1, so
	 * that 0 means none in the registry. */
	*id += 1;
	return 0;
}

/* The kernel shows eventfd ids: once per process, one line if not. */
static void probe(int dir)
{
	int efd = REAL(eventfd)(0, EFD_CLOEXEC);
	uint64_t id;
	int rc;

	if (efd < 0)
		return;
	rc = read_efd_id(dir, efd, &id);
	REAL(close)(efd);
	if (rc < 0)
		log_warn(pre, "SCM_RIGHTS: this kernel shows no eventfd id in "
			 "/proc/self/fdinfo (%s): a socket of ours passed to another "
			 "process arrives there as a bare eventfd", strerror(-rc));
}

static int fdinfo_dir(void)
{
	uint64_t cur = __atomic_load_n(&info_dir, __ATOMIC_ACQUIRE);
	uint32_t pid = (uint32_t)getpid();

	if (cur && cur >> 32 == pid)
		return (int)(int32_t)(uint32_t)cur;
	int d = REAL(open)("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0) {
		int e = errno;
		log_warn(pre, "SCM_RIGHTS: /proc/self/fdinfo: %s: a socket of ours passed "
			 "to or from this process stays a bare eventfd", strerror(e));
		d = -1;
	} else {
		d = pl_own_fd(d);
	}
	uint64_t mine = ((uint64_t)pid << 32) | (uint32_t)d;
	if (!__atomic_compare_exchange_n(&info_dir, &cur, mine, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		/* Another thread of ours opened it meanwhile. */
		if (d >= 0)
			pl_own_close(d);
		return cur >> 32 == pid ? (int)(int32_t)(uint32_t)cur : -1;
	}
	if (cur && (int32_t)(uint32_t)cur >= 0)
		pl_own_close((int)(int32_t)(uint32_t)cur);      /* the parent's */
	if (d >= 0)
		probe(d);
	return d;
}

void pl_scm_init(void)
{
	(void)fdinfo_dir();
}

/* The eventfd id behind fd (+ 1: never 0); -ENOENT when fd is no eventfd. */
static int efd_id(int fd, uint64_t *id)
{
	int dir = fdinfo_dir();

	return dir < 0 ? -ENOENT : read_efd_id(dir, fd, id);
}

/* ------------------------------------------------------------ sending */

/* Calls f(fd, arg) for each descriptor in msg's SCM_RIGHTS messages,
 * those of a control buffer the kernel truncated (MSG_CTRUNC) included:
 * what is there was installed. */
static void each_passed(const struct msghdr *msg, void (*f)(int, void *), void *arg)
{
	if (!msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *p = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, p + i * sizeof(int), sizeof(int));
			f(fd, arg);
		}
	}
}

static bool passes_fds(const struct msghdr *msg)
{
	return msg && msg->msg_control && msg->msg_controllen >= sizeof(struct cmsghdr) &&
	       fdt_used();
}

/* The connections one send shares: taken back if it fails. */
struct sent {
	struct stack *st;
	unsigned n;
	uint64_t ids[SCM_FDS_MAX];
};

static void share_one(int fd, void *arg)
{
	struct sent *sn = arg;
	struct psock *ps = psock_get(fd);
	uint64_t id, efd;
	int rc;

	if (!ps)
		return;
	if (ps->dead || !ps->s || !sn->st || sn->n == SCM_FDS_MAX)
		goto out;
	if (ps->type != SOCK_STREAM || ps->listening) {
		log_warn(pre, "SCM_RIGHTS: fd %d is a %s socket: not passed to another "
			 "process (it arrives there as a bare eventfd)", fd,
			 ps->type != SOCK_STREAM ? "UDP" : "listening");
		goto out;
	}
	rc = mtcp_share(ps->s, true, &id);
	if (rc == 0 && ((rc = efd_id(fd, &efd)) < 0 ||
			(rc = mtcp_handle_set_efd(sn->st, id, efd)) < 0))
		mtcp_share_abort(sn->st, id);
	if (rc < 0) {
		log_warn(pre, "SCM_RIGHTS: fd %d: its connection cannot be shared with "
			 "another process (%s): it arrives there as a bare eventfd", fd,
			 rc == -EOPNOTSUPP ? "not connected" : strerror(-rc));
		goto out;
	}
	ps->handle = id;
	sn->ids[sn->n++] = id;
out:
	psock_put(ps);
}

/* Before a send: share what msg passes; false when nothing is ours. */
static bool share_passed(const struct msghdr *msg, struct sent *sn)
{
	sn->st = pl_stack_if_running();
	sn->n = 0;
	if (!sn->st)
		return false;
	each_passed(msg, share_one, sn);
	return true;
}

static void take_back(struct sent *sn)
{
	for (unsigned i = 0; i < sn->n; i++)
		mtcp_share_abort(sn->st, sn->ids[i]);
}

ssize_t pl_scm_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!passes_fds(msg))
		return REAL(sendmsg)(fd, msg, flags);
	PL_SECTION();
	struct sent *sn = malloc(sizeof(*sn));
	if (!sn || !share_passed(msg, sn)) {
		free(sn);
		return PL_OUTSIDE(REAL(sendmsg)(fd, msg, flags));
	}
	ssize_t rc = PL_OUTSIDE(REAL(sendmsg)(fd, msg, flags));
	if (rc < 0) {
		int e = errno;
		take_back(sn);
		errno = e;
	}
	free(sn);
	return rc;
}

/* sendmmsg: the messages after the ones that went did not go. */
int pl_scm_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	unsigned k;

	for (k = 0; k < n && !passes_fds(&v[k].msg_hdr); k++)
		;
	if (k == n)
		return REAL(sendmmsg)(fd, v, n, flags);
	PL_SECTION();
	struct sent *sn = calloc(n, sizeof(*sn));
	if (!sn)
		return PL_OUTSIDE(REAL(sendmmsg)(fd, v, n, flags));
	for (unsigned i = k; i < n; i++)
		if (passes_fds(&v[i].msg_hdr))
			(void)share_passed(&v[i].msg_hdr, &sn[i]);
	int rc = PL_OUTSIDE(REAL(sendmmsg)(fd, v, n, flags));
	int e = errno;
	for (unsigned i = rc < 0 ? 0 : (unsigned)rc; i < n; i++)
		if (sn[i].st)
			take_back(&sn[i]);
	free(sn);
	errno = e;
	return rc;
}

/* ------------------------------------------------------------ receiving */

struct found {
	uint64_t id;
	struct psock *ps;
};

static int find_handle(int fd, struct fdobj *o, void *arg)
{
	struct found *f = arg;
	struct psock *ps = (struct psock *)o;

	(void)fd;
	if (o->ops != &psock_ops || ps->dead ||
	    (ps->handle != f->id && !(ps->s && mtcp_handle(ps->s) == f->id)))
		return 0;
	fdobj_hold(o);
	f->ps = ps;
	return 1;
}

/* fd came in a message: a socket of ours when it is the eventfd of one
 * the registry knows. */
static void adopt_one(int fd, void *arg)
{
	struct stack *st;
	uint64_t efd, id = 0;
	int err = 0;

	(void)arg;
	/* Whatever the table had at fd was closed behind our back. */
	fdt_forget(fd);
	if (efd_id(fd, &efd) < 0 || !(st = pl_stack(&err)) ||
	    mtcp_handle_by_efd(st, efd, &id) < 0 || !id)
		return;
	/* Ours already, behind another descriptor (sent back to us, or
	 * twice): the same socket; the sender's count for us goes. */
	struct found f = { .id = id };
	fdt_each(0, fdt_max(), find_handle, &f);
	if (f.ps) {
		mtcp_share_abort(st, id);
	} else {
		int fl = REAL(fcntl)(fd, F_GETFL);
		if (!(f.ps = psock_new_received(st, id, fl >= 0 && (fl & O_NONBLOCK))))
			return;
	}
	if (fdt_install(fd, &f.ps->fo) < 0)
		log_warn(pre, "SCM_RIGHTS: fd %d: no room in the descriptor table: it "
			 "stays a bare eventfd", fd);
	psock_put(f.ps);
	log_debug(pre, "SCM_RIGHTS: fd %d: connection %016llx received", fd,
		  (unsigned long long)id);
}

static void adopt_received(struct msghdr *msg)
{
	int e = errno;

	PL_SECTION();
	each_passed(msg, adopt_one, NULL);
	errno = e;
}

ssize_t pl_scm_recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t rc = REAL(recvmsg)(fd, msg, flags);

	if (rc >= 0 && msg->msg_control && msg->msg_controllen)
		adopt_received(msg);
	return rc;
}

int pl_scm_recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags,
		    struct timespec *timeout)
{
	int rc = REAL(recvmmsg)(fd, v, n, flags, timeout);

	for (int i = 0; i < rc; i++)
		if (v[i].msg_hdr.msg_control && v[i].msg_hdr.msg_controllen)
			adopt_received(&v[i].msg_hdr);
	return rc;
}
