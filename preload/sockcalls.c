/*
 * sockcalls.c - the socket calls: which sockets are ours, and how each
 * call on one of ours becomes a call into the stack.
 *
 * Ours: AF_INET SOCK_STREAM (TCP) and SOCK_DGRAM (UDP), created by the
 * program (not by libc's own resolver). Everything else is the kernel's.
 * A socket of ours that binds or connects to 127.0.0.0/8 is handed to the
 * kernel: a kernel socket, with the options set so far replayed, takes
 * over its fd numbers (loopback is the kernel's; our stack has none).
 *
 * The stack's calls never block; blocking (O_NONBLOCK is the psock's),
 * timeouts (SO_RCVTIMEO/SO_SNDTIMEO, stored by the stack) and signals are
 * done here (psock_wait), so that a blocked call is a sleep in the kernel
 * that a signal can interrupt.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "iov.h"
#include "preload.h"

/* ------------------------------------------------------------ helpers */

/* Copy msg's iovec array into a buffer of our own that can be advanced. */
struct iovcopy {
	struct iovec small[8];
	struct iovec *v;
};

static int iov_copy(struct iovcopy *c, struct msghdr *m)
{
	size_t n = m->msg_iovlen;

	c->v = n <= 8 ? c->small : malloc(n * sizeof(struct iovec));
	if (!c->v)
		return -ENOMEM;
	memcpy(c->v, m->msg_iov, n * sizeof(struct iovec));
	m->msg_iov = c->v;
	return 0;
}

static void iov_free(struct iovcopy *c)
{
	if (c->v && c->v != c->small)
		free(c->v);
}

static void iov_advance(struct msghdr *m, size_t n)
{
	while (n && m->msg_iovlen) {
		struct iovec *v = m->msg_iov;

		if (n < v->iov_len) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= n;
			return;
		}
		n -= v->iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
}

static bool is_loopback(const struct sockaddr *a, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;

	return a && len >= sizeof(*sin) && sin->sin_family == AF_INET &&
	       (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

static void sigpipe(void)
{
	/* Linux sends SIGPIPE to the sending thread (sk_stream_error). */
	pthread_kill(pthread_self(), SIGPIPE);
}

/* ------------------------------------------------------------ handover */

struct handover {
	struct psock *ps;
	int kfd;
	int err;
};

static int handover_fd(int fd, struct fdobj *o, void *arg)
{
	struct handover *h = arg;

	if (o != &h->ps->fo)
		return 0;
	int fl = REAL(fcntl)(fd, F_GETFD);
	if (REAL(dup3)(h->kfd, fd, fl > 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
		h->err = -errno;
		return 1;
	}
	struct fdobj *mine = fdt_remove(fd);
	if (mine)
		fdt_put(mine);
	return 0;
}

/* Can ps still become a kernel socket? Only before it has an address of
 * ours: unbound, or bound by the program to INADDR_ANY. */
static bool can_hand_over(struct psock *ps)
{
	struct sockaddr_in a;

	if (mtcp_getsockname(ps->s, &a) < 0)
		return false;
	if (a.sin_port == 0)
		return true;
	return ps->has_bound && a.sin_addr.s_addr == htonl(INADDR_ANY);
}

/* Give every fd naming ps to a new kernel socket, then the caller makes
 * the real call on fd. 0 or -errno (nothing changed). */
static int hand_over(int fd, struct psock *ps, const char *what,
		     const struct sockaddr *to)
{
	struct handover h = { .ps = ps };
	const struct sockaddr_in *sin = (const struct sockaddr_in *)to;
	char addr[INET_ADDRSTRLEN] = "";

	h.kfd = REAL(socket)(AF_INET, ps->type | SOCK_CLOEXEC |
			     (ps->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (h.kfd < 0)
		return -errno;
	pthread_mutex_lock(&pl_lock);
	for (struct sockopt_rec *r = ps->opts; r; r = r->next)
		if (REAL(setsockopt)(h.kfd, r->level, r->name, r->val, r->len) < 0)
			log_debug(pre, "handover: replaying option %d/%d: %s",
				  r->level, r->name, strerror(errno));
	pthread_mutex_unlock(&pl_lock);
	if (ps->has_bound && REAL(bind)(h.kfd, (struct sockaddr *)&ps->bound,
					sizeof(ps->bound)) < 0) {
		h.err = -errno;
		REAL(close)(h.kfd);
		return h.err;
	}
	fdt_each(0, fdt_max(), handover_fd, &h);
	REAL(close)(h.kfd);
	if (h.err)
		return h.err;
	pl_count_handover();
	inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	log_info(pre, "fd %d: %s %s:%u is loopback: handed to the kernel", fd, what,
		 addr, ntohs(sin->sin_port));
	return 0;
}

/* ------------------------------------------------------------ socket */

PL_EXPORT int socket(int domain, int type, int protocol)
{
	PL_SECTION();
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	bool ours = domain == AF_INET &&
		    ((base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
		     (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP)));
	struct mtcp_sock *s;
	struct psock *ps;
	struct stack *st;
	int fd, err = 0;

	if (ours && pl_called_from_libc(__builtin_return_address(0)))
		ours = false;           /* the resolver's: the kernel's */
	if (!ours || (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC | 0xf))) {
		fd = REAL(socket)(domain, type, protocol);
		if (fd >= 0)
			fdt_forget(fd);
		return fd;
	}
	st = pl_stack(&err);
	if (!st)
		return pl_ret(err);
	fd = REAL(eventfd)(0, ((type & SOCK_CLOEXEC) ? EFD_CLOEXEC : 0) |
				((type & SOCK_NONBLOCK) ? EFD_NONBLOCK : 0));
	if (fd < 0)
		return -1;
	err = mtcp_socket(st, base, &s);
	if (err < 0) {
		REAL(close)(fd);
		return pl_ret(err);
	}
	ps = psock_new(s, base, type & SOCK_NONBLOCK);
	if (!ps || fdt_install(fd, &ps->fo) < 0) {
		if (ps)
			psock_put(ps);
		else
			mtcp_close(s);
		REAL(close)(fd);
		errno = ENOMEM;
		return -1;
	}
	psock_put(ps);          /* the table holds it now */
	return fd;
}

PL_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	PL_SECTION();
	int rc = REAL(socketpair)(domain, type, protocol, sv);

	if (rc == 0) {
		fdt_forget(sv[0]);
		fdt_forget(sv[1]);
	}
	return rc;
}

/* What a fork()ed child needs to re-create the socket (psock_after_fork):
 * the address and port it holds, a port 0 bind's or a listen's choice. */
static void note_local(struct psock *ps)
{
	if (mtcp_getsockname(ps->s, &ps->local) == 0)
		ps->has_local = true;
}

PL_EXPORT int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	struct psock *ps = psock_get(fd);
	int rc;

	if (!ps)
		return REAL(bind)(fd, a, len);
	PL_SECTION();
	if (psock_dead(ps)) {
		psock_put(ps);
		return -1;
	}
	if (!a || len < sizeof(struct sockaddr_in)) {
		psock_put(ps);
		return pl_ret(-EINVAL);
	}
	if (is_loopback(a, len) && can_hand_over(ps)) {
		rc = hand_over(fd, ps, "bind to", a);
		psock_put(ps);
		return rc < 0 ? pl_ret(rc) : REAL(bind)(fd, a, len);
	}
	rc = mtcp_bind(ps->s, (const struct sockaddr_in *)a);
	if (rc == 0) {
		memcpy(&ps->bound, a, sizeof(ps->bound));
		ps->bound.sin_family = AF_INET;
		ps->has_bound = true;
		note_local(ps);
	}
	psock_put(ps);
	return pl_ret(rc);
}

/* A call that is one stack call on our socket (stackcall, using ps),
 * the real call otherwise. */
#define ONE_CALL(fd, realcall, stackcall)                               \
	do {                                                            \
		struct psock *ps = psock_get(fd);                       \
		int rc_;                                                \
		if (!ps)                                                \
			return realcall;                                \
		PL_SECTION();                                           \
		rc_ = psock_dead(ps) ? -EBADFD : (stackcall);           \
		psock_put(ps);                                          \
		return pl_ret(rc_);                                     \
	} while (0)

PL_EXPORT int listen(int fd, int backlog)
{
	struct psock *ps = psock_get(fd);
	int rc;

	if (!ps)
		return REAL(listen)(fd, backlog);
	PL_SECTION();
	rc = psock_dead(ps) ? -EBADFD : mtcp_listen(ps->s, backlog);
	if (rc == 0) {
		ps->listening = true;
		ps->backlog = backlog;
		note_local(ps);
	}
	psock_put(ps);
	return pl_ret(rc);
}

/* Sleep on ps until events (or error/hangup), within the socket's timeout
 * timeo (SO_RCVTIMEO or SO_SNDTIMEO: read when the call first registers,
 * so that it bounds the whole call, as Linux's sock_rcvtimeo). Returns 0
 * to retry, -EAGAIN on timeout, -EINTR. */
static int wait_on(struct psock *ps, struct pwatch *pw, bool *watching,
		   unsigned events, int timeo, uint64_t *deadline)
{
	int err = 0;

	if (!*watching) {
		struct pwaiter *w = pl_waiter(&err);
		if (!w)
			return err;
		uint64_t t = mtcp_sock_timeo(ps->s, timeo);
		*deadline = t ? pl_now_us() + t : 0;
		psock_watch(ps, pw, w, events);
		*watching = true;
		return 0;       /* registered: try once more before sleeping */
	}
	return psock_wait(pw, *deadline);
}

PL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	struct psock *ps = psock_get(fd), *nps;
	struct mtcp_sock *ns;
	struct sockaddr_in peer;
	struct pwatch pw;
	bool watching = false;
	uint64_t deadline = 0;
	int nfd, rc;

	if (!ps) {
		nfd = REAL(accept4)(fd, addr, alen, flags);
		if (nfd >= 0) {
			pl_enter();
			fdt_forget(nfd);
			pl_exit();
		}
		return nfd;
	}
	PL_SECTION();
	if (psock_dead(ps)) {
		psock_put(ps);
		return -1;
	}
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) {
		psock_put(ps);
		return pl_ret(-EINVAL);
	}
	/* The new fd first: when there is none to give, the connection
	 * stays queued (Linux checks the fd table before dequeueing too). */
	nfd = REAL(eventfd)(0, ((flags & SOCK_CLOEXEC) ? EFD_CLOEXEC : 0) |
				 ((flags & SOCK_NONBLOCK) ? EFD_NONBLOCK : 0));
	if (nfd < 0) {
		psock_put(ps);
		return -1;
	}
	for (;;) {
		rc = mtcp_accept(ps->s, &peer, &ns);
		if (rc != -EAGAIN || ps->nonblock)
			break;
		rc = wait_on(ps, &pw, &watching, EPOLLIN, SO_RCVTIMEO, &deadline);
		if (rc < 0)
			break;
	}
	if (watching)
		psock_unwatch(&pw);
	if (rc < 0) {
		REAL(close)(nfd);
		psock_put(ps);
		return pl_ret(rc);
	}
	nps = psock_new(ns, SOCK_STREAM, flags & SOCK_NONBLOCK);
	if (!nps || fdt_install(nfd, &nps->fo) < 0) {
		if (nps)
			psock_put(nps);
		else
			mtcp_close(ns);
		REAL(close)(nfd);
		psock_put(ps);
		return pl_ret(-ENOMEM);
	}
	pep_consumed(ps);
	psock_put(nps);
	psock_put(ps);
	if (addr && alen) {
		socklen_t n = *alen < sizeof(peer) ? *alen : sizeof(peer);
		memcpy(addr, &peer, n);
		*alen = sizeof(peer);
	}
	return nfd;
}

PL_LOCAL(accept4);
PL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	struct psock *ps = psock_get(fd);

	if (!ps) {
		int nfd = REAL(accept)(fd, addr, alen);
		if (nfd >= 0) {
			pl_enter();
			fdt_forget(nfd);
			pl_exit();
		}
		return nfd;
	}
	pl_enter();
	psock_put(ps);
	pl_exit();
	return pl_accept4(fd, addr, alen, 0);
}

PL_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	struct psock *ps = psock_get(fd);
	struct pwatch pw;
	bool watching = false;
	uint64_t deadline = 0;
	int rc;

	if (!ps)
		return REAL(connect)(fd, a, len);
	PL_SECTION();
	if (psock_dead(ps)) {
		psock_put(ps);
		return -1;
	}
	if (is_loopback(a, len) && can_hand_over(ps)) {
		rc = hand_over(fd, ps, "connect to", a);
		psock_put(ps);
		return rc < 0 ? pl_ret(rc) : PL_OUTSIDE(REAL(connect)(fd, a, len));
	}
	rc = mtcp_connect(ps->s, a, len);
	while (rc == -EINPROGRESS && !ps->nonblock) {
		/* Blocking: wait for the handshake's end, then connect()
		 * again reports it (0, or the error), as __inet_stream_connect
		 * does after its wait. */
		unsigned ev = psock_poll(ps);

		if (watching && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
			rc = mtcp_connect(ps->s, a, len);
			break;
		}
		int w = wait_on(ps, &pw, &watching, EPOLLOUT, SO_SNDTIMEO, &deadline);
		if (w == -EAGAIN)
			break;          /* timed out: EINPROGRESS, as Linux */
		if (w < 0) {
			rc = w;
			break;
		}
	}
	if (watching)
		psock_unwatch(&pw);
	psock_put(ps);
	return pl_ret(rc);
}

PL_EXPORT int shutdown(int fd, int how)
{
	ONE_CALL(fd, REAL(shutdown)(fd, how), mtcp_shutdown(ps->s, how));
}

static int name_out(int rc, const struct sockaddr_in *in, struct sockaddr *a, socklen_t *len)
{
	if (rc < 0)
		return pl_ret(rc);
	if ((int)*len < 0)
		return pl_ret(-EINVAL);
	socklen_t n = *len < sizeof(*in) ? *len : sizeof(*in);
	memcpy(a, in, n);
	*len = sizeof(*in);
	return 0;
}

PL_EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	struct psock *ps = psock_get(fd);
	struct sockaddr_in in;
	int rc;

	if (!ps)
		return REAL(getsockname)(fd, a, len);
	PL_SECTION();
	rc = psock_dead(ps) ? -EBADFD : mtcp_getsockname(ps->s, &in);
	psock_put(ps);
	return name_out(rc, &in, a, len);
}

PL_EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	struct psock *ps = psock_get(fd);
	struct sockaddr_in in;
	int rc;

	if (!ps)
		return REAL(getpeername)(fd, a, len);
	PL_SECTION();
	rc = psock_dead(ps) ? -EBADFD : mtcp_getpeername(ps->s, &in);
	psock_put(ps);
	return name_out(rc, &in, a, len);
}

PL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	ONE_CALL(fd, REAL(getsockopt)(fd, level, name, val, len),
		 mtcp_getsockopt(ps->s, level, name, val, len));
}

/* Remember an option for a handover (the latest value of each). */
void psock_record_opt(struct psock *ps, int level, int name, const void *val, socklen_t len)
{
	struct sockopt_rec *r = malloc(sizeof(*r) + len), **pp;

	if (!r)
		return;
	r->level = level;
	r->name = name;
	r->len = len;
	r->next = NULL;
	memcpy(r->val, val, len);
	pthread_mutex_lock(&pl_lock);
	for (pp = &ps->opts; *pp; pp = &(*pp)->next) {
		if ((*pp)->level == level && (*pp)->name == name) {
			struct sockopt_rec *old = *pp;
			r->next = old->next;
			*pp = r;
			free(old);
			r = NULL;
			break;
		}
	}
	if (r)
		*pp = r;
	pthread_mutex_unlock(&pl_lock);
}

PL_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct psock *ps = psock_get(fd);
	int rc;

	if (!ps)
		return REAL(setsockopt)(fd, level, name, val, len);
	PL_SECTION();
	rc = psock_dead(ps) ? -EBADFD : mtcp_setsockopt(ps->s, level, name, val, len);
	if (rc == 0 && val && len <= 256)
		psock_record_opt(ps, level, name, val, len);
	psock_put(ps);
	return pl_ret(rc);
}

/* ------------------------------------------------------------ send */

/*
 * The blocking part of a send or a receive (rx) whose first try gave rc:
 * try again after each wakeup until data moved, or, with all, until all
 * of msg went; an error, a signal or the call's timeout stops it. Returns
 * the bytes moved, or the error when none did; msg's output fields are
 * those of the last try.
 */
static ssize_t ps_block(struct psock *ps, struct msghdr *msg, int flags, ssize_t rc,
			bool rx, bool all)
{
	size_t total = iov_total(msg->msg_iov, msg->msg_iovlen), done = 0;
	struct msghdr m = *msg;
	struct iovcopy ic = { .v = NULL };
	struct pwatch pw;
	bool watching = false;
	uint64_t deadline = 0;

	if (iov_copy(&ic, &m) < 0)
		return -ENOMEM;
	for (;;) {
		if (rc > 0) {
			done += (size_t)rc;
			if (!all || done >= total)
				break;
			iov_advance(&m, (size_t)rc);
		} else if (rc != -EAGAIN) {
			break;
		} else {
			int w = rx ? wait_on(ps, &pw, &watching, EPOLLIN | EPOLLPRI | EPOLLRDHUP,
					     SO_RCVTIMEO, &deadline)
				   : wait_on(ps, &pw, &watching, EPOLLOUT,
					     SO_SNDTIMEO, &deadline);
			if (w < 0) {
				rc = w;
				break;
			}
		}
		rc = rx ? mtcp_recvmsg(ps->s, &m, flags)
			: mtcp_sendmsg(ps->s, &m, flags);
		/* Another process took the connection while we waited: it
		 * follows us back (psock_claim). */
		if (rc == -MTCP_EREMOTE && (rc = psock_claim(ps)) == 0)
			rc = -EAGAIN;
	}
	if (watching)
		psock_unwatch(&pw);
	iov_free(&ic);
	msg->msg_namelen = m.msg_namelen;
	msg->msg_controllen = m.msg_controllen;
	msg->msg_flags = m.msg_flags;
	return done ? (ssize_t)done : rc;
}

ssize_t ps_sendmsg(struct psock *ps, const struct msghdr *msg, int flags)
{
	bool nb = ps->nonblock || (flags & MSG_DONTWAIT);
	bool stream = ps->type == SOCK_STREAM;
	ssize_t rc;

	while ((rc = mtcp_sendmsg(ps->s, msg, flags)) == -MTCP_EREMOTE &&
	       (rc = psock_claim(ps)) == 0)
		;

	/* Blocking: all of it goes, unless an error, a signal or
	 * SO_SNDTIMEO stops it (then what went is the result). */
	if (!nb && (rc == -EAGAIN ||
		    (stream && rc >= 0 && (size_t)rc < iov_total(msg->msg_iov, msg->msg_iovlen)))) {
		struct msghdr m = *msg;         /* its output fields are not ours to set */
		rc = ps_block(ps, &m, flags, rc, false, stream);
	}
	if (rc == -EPIPE && !(flags & MSG_NOSIGNAL))
		sigpipe();
	return rc;
}

ssize_t ps_recvmsg(struct psock *ps, struct msghdr *msg, int flags)
{
	bool nb = ps->nonblock || (flags & MSG_DONTWAIT);
	/* NOTE: MSG_PEEK with MSG_WAITALL waits for some data, not all. */
	bool waitall = ps->type == SOCK_STREAM &&
		       (flags & (MSG_WAITALL | MSG_PEEK | MSG_TRUNC)) == MSG_WAITALL;
	ssize_t rc;

	while ((rc = mtcp_recvmsg(ps->s, msg, flags)) == -MTCP_EREMOTE &&
	       (rc = psock_claim(ps)) == 0)
		;

	/* Urgent data never blocks (tcp_recv_urg). */
	if (!nb && !(flags & MSG_OOB) &&
	    (rc == -EAGAIN ||
	     (waitall && rc > 0 && (size_t)rc < iov_total(msg->msg_iov, msg->msg_iovlen))))
		rc = ps_block(ps, msg, flags, rc, true, waitall);
	if (rc >= 0 && !(flags & MSG_PEEK))
		pep_consumed(ps);
	return rc;
}

/* Entry of the data calls: fd's psock, or the real call. */
#define SOCK_OR_REAL(fd, realcall)                      \
	struct psock *ps = psock_get(fd);               \
	if (!ps)                                        \
		return realcall;                        \
	PL_SECTION();                                   \
	if (psock_dead(ps)) {                           \
		psock_put(ps);                          \
		return -1;                              \
	}

static ssize_t send_iov(struct psock *ps, const struct iovec *iov, int n, int flags,
			const struct sockaddr *to, socklen_t tolen)
{
	struct msghdr m = {
		.msg_name = (void *)to, .msg_namelen = tolen,
		.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n,
	};
	ssize_t rc = ps_sendmsg(ps, &m, flags);

	psock_put(ps);
	return pl_sret(rc);
}

static ssize_t recv_iov(struct psock *ps, const struct iovec *iov, int n, int flags,
			struct sockaddr *from, socklen_t *fromlen)
{
	struct msghdr m = {
		.msg_name = from, .msg_namelen = from && fromlen ? *fromlen : 0,
		.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n,
	};
	ssize_t rc = ps_recvmsg(ps, &m, flags);

	if (rc >= 0 && from && fromlen)
		*fromlen = m.msg_namelen;
	psock_put(ps);
	return pl_sret(rc);
}

PL_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	SOCK_OR_REAL(fd, REAL(send)(fd, buf, len, flags));
	struct iovec v = { (void *)buf, len };
	return send_iov(ps, &v, 1, flags, NULL, 0);
}

PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
	       const struct sockaddr *to, socklen_t tolen)
{
	SOCK_OR_REAL(fd, REAL(sendto)(fd, buf, len, flags, to, tolen));
	if (ps->type == SOCK_DGRAM && is_loopback(to, tolen) && can_hand_over(ps)) {
		int rc = hand_over(fd, ps, "sendto", to);
		psock_put(ps);
		return rc < 0 ? pl_sret(rc) :
		       PL_OUTSIDE(REAL(sendto)(fd, buf, len, flags, to, tolen));
	}
	struct iovec v = { (void *)buf, len };
	return send_iov(ps, &v, 1, flags, to, tolen);
}

PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	SOCK_OR_REAL(fd, pl_scm_sendmsg(fd, msg, flags));
	if (ps->type == SOCK_DGRAM && is_loopback(msg->msg_name, msg->msg_namelen) &&
	    can_hand_over(ps)) {
		int rc = hand_over(fd, ps, "sendmsg", msg->msg_name);
		psock_put(ps);
		return rc < 0 ? pl_sret(rc) : PL_OUTSIDE(REAL(sendmsg)(fd, msg, flags));
	}
	ssize_t rc = ps_sendmsg(ps, msg, flags);
	psock_put(ps);
	return pl_sret(rc);
}

PL_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	SOCK_OR_REAL(fd, pl_scm_sendmmsg(fd, v, n, flags));
	unsigned i;
	ssize_t rc = 0;

	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (i = 0; i < n; i++) {
		rc = ps_sendmsg(ps, &v[i].msg_hdr, flags);
		if (rc < 0)
			break;
		v[i].msg_len = (unsigned)rc;
	}
	psock_put(ps);
	/* An error after some went is reported by the next call (Linux). */
	return i ? (int)i : (int)pl_sret(rc);
}

PL_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	SOCK_OR_REAL(fd, REAL(write)(fd, buf, len));
	struct iovec v = { (void *)buf, len };
	return send_iov(ps, &v, 1, 0, NULL, 0);
}

PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	SOCK_OR_REAL(fd, REAL(writev)(fd, iov, n));
	if (n < 0 || n > UIO_MAXIOV) {
		psock_put(ps);
		return pl_sret(-EINVAL);
	}
	return send_iov(ps, iov, n, 0, NULL, 0);
}

/* ------------------------------------------------------------ receive */

PL_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	SOCK_OR_REAL(fd, REAL(recv)(fd, buf, len, flags));
	struct iovec v = { buf, len };
	return recv_iov(ps, &v, 1, flags, NULL, NULL);
}

PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		 socklen_t *fromlen)
{
	SOCK_OR_REAL(fd, REAL(recvfrom)(fd, buf, len, flags, from, fromlen));
	struct iovec v = { buf, len };
	return recv_iov(ps, &v, 1, flags, from, fromlen);
}

PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	SOCK_OR_REAL(fd, pl_scm_recvmsg(fd, msg, flags));
	ssize_t rc = ps_recvmsg(ps, msg, flags);
	psock_put(ps);
	return pl_sret(rc);
}

PL_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout)
{
	SOCK_OR_REAL(fd, pl_scm_recvmmsg(fd, v, n, flags, timeout));
	uint64_t end = 0;
	unsigned i;
	ssize_t rc = 0;

	if (timeout)
		end = pl_now_us() + (uint64_t)timeout->tv_sec * 1000000u +
		      (uint64_t)timeout->tv_nsec / 1000u;
	for (i = 0; i < n; i++) {
		rc = ps_recvmsg(ps, &v[i].msg_hdr, flags);
		if (rc < 0)
			break;
		v[i].msg_len = (unsigned)rc;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
		/* The timeout is checked after each datagram (recvmmsg(2)'s
		 * BUGS section: it is not a bound on the wait). */
		if (timeout && pl_now_us() >= end)
			{ i++; break; }
	}
	psock_put(ps);
	return i ? (int)i : (int)pl_sret(rc);
}

PL_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	SOCK_OR_REAL(fd, REAL(read)(fd, buf, len));
	if (len == 0) {
		/* sock_read_iter: a zero-length read is 0, at once. */
		psock_put(ps);
		return 0;
	}
	struct iovec v = { buf, len };
	return recv_iov(ps, &v, 1, 0, NULL, NULL);
}

PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	SOCK_OR_REAL(fd, REAL(readv)(fd, iov, n));
	if (n < 0 || n > UIO_MAXIOV) {
		psock_put(ps);
		return pl_sret(-EINVAL);
	}
	if (iov_total(iov, (size_t)n) == 0) {
		psock_put(ps);
		return 0;
	}
	return recv_iov(ps, iov, n, 0, NULL, NULL);
}

/* _FORTIFY_SOURCE's checked variants: the same, after the buffer check. */
extern void __chk_fail(void) __attribute__((noreturn));
PL_LOCAL(recv);
PL_LOCAL(recvfrom);
PL_LOCAL(read);

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	if (len > buflen)
		__chk_fail();
	return pl_recv(fd, buf, len, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);
PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen)
{
	if (len > buflen)
		__chk_fail();
	return pl_recvfrom(fd, buf, len, flags, from, fromlen);
}

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return pl_read(fd, buf, len);
}

/* ------------------------------------------------------------ sendfile */

/* Linux sendfile to a socket: read from in_fd (at *off, or its position),
 * send, and leave in_fd's position after what was sent. */
PL_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	SOCK_OR_REAL(out, REAL(sendfile)(out, in, off, count));
	enum { CHUNK = 64 * 1024 };
	char *buf = malloc(CHUNK);
	size_t done = 0;
	ssize_t rc = 0;

	if (!buf) {
		psock_put(ps);
		return pl_sret(-ENOMEM);
	}
	while (done < count) {
		size_t want = count - done < CHUNK ? count - done : CHUNK;
		/* in may be a pipe: reading it may sleep. */
		ssize_t got = off ? pread(in, buf, want, *off) :
			      PL_OUTSIDE(REAL(read)(in, buf, want));

		if (got <= 0) {
			rc = got < 0 ? -errno : 0;
			break;
		}
		struct iovec v = { buf, (size_t)got };
		struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
		rc = ps_sendmsg(ps, &m, 0);
		ssize_t sent = rc > 0 ? rc : 0;

		if (off)
			*off += sent;
		else if (sent < got)
			lseek(in, sent - got, SEEK_CUR);
		done += (size_t)sent;
		if (sent < got)
			break;
	}
	free(buf);
	psock_put(ps);
	if (done)
		return (ssize_t)done;
	return pl_sret(rc);
}

PL_LOCAL(sendfile);
ssize_t sendfile64(int out, int in, off64_t *off, size_t count);
PL_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	return pl_sendfile(out, in, (off_t *)off, count);
}

PL_EXPORT int sockatmark(int fd)
{
	struct psock *ps = psock_get(fd);
	int v = 0, rc;

	if (!ps)
		return REAL(ioctl)(fd, SIOCATMARK, &v) < 0 ? -1 : v;
	PL_SECTION();
	rc = psock_dead(ps) ? -EBADFD : mtcp_ioctl_atmark(ps->s, &v);
	psock_put(ps);
	return rc < 0 ? pl_ret(rc) : v;
}
