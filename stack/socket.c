/*
 * socket.c - the stack's socket API (mtcp.h): argument checks as Linux
 * makes them, waking (the notify hook), options; protocol work goes to
 * udp.c and tcp/tcp_usrreq.c. Nothing here sleeps: a call that cannot
 * finish now says -EAGAIN / -EINPROGRESS and the caller waits its own way.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "mtcp.h"
#include "proto.h"
#include "socket.h"
#include "stack.h"
#include "tcp_var.h"

/* Linux's defaults (net.core.rmem_default / wmem_default), reported doubled
 * by getsockopt as Linux does (socket(7): "the kernel doubles this value"). */
#define DEFAULT_RCVBUF  212992
#define DEFAULT_SNDBUF  212992
#define MIN_RCVBUF      2304
#define MIN_SNDBUF      4608
/* Linux's default net.core.rmem_max / wmem_max bound the plain options;
 * the FORCE ones (CAP_NET_ADMIN) go up to MAX_BUF_FORCE. */
#define MAX_BUF         (2 * 212992)
#define MAX_BUF_FORCE   (64 << 20)

static bool is_tcp(const struct mtcp_sock *s)
{
	return s->type == SOCK_STREAM;
}

/* A shell (handoff.c): the connection is another stack's; the caller
 * asks for it (mtcp_claim) and calls again. Lock held. */
#define REMOTE_OUT(s, ret)                              \
	do {                                            \
		if ((s)->remote) {                      \
			stack_unlock((s)->st);          \
			return (ret);                   \
		}                                       \
	} while (0)

int mtcp_socket_locked(struct stack *st, int type, struct mtcp_sock **out)
{
	struct mtcp_sock *s;

	if (type != SOCK_DGRAM && type != SOCK_STREAM) {
		log_warn(sock, "socket type %d not supported", type);
		return -EPROTONOSUPPORT;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->st = st;
	s->type = type;
	s->refs = 1;
	s->rcvbuf = DEFAULT_RCVBUF;
	s->sndbuf = DEFAULT_SNDBUF;
	s->rcvlowat = 1;
	if (type == SOCK_STREAM && tcp_attach(s) < 0) {
		free(s);
		return -ENOMEM;
	}
	s->all_next = st->socks;
	if (st->socks)
		st->socks->all_prev = s;
	st->socks = s;
	st->nsockets++;
	*out = s;
	return 0;
}

int mtcp_socket(struct stack *st, int type, struct mtcp_sock **out)
{
	pthread_mutex_lock(&st->lock);
	int rc = mtcp_socket_locked(st, type, out);
	stack_unlock(st);
	return rc;
}

void sock_put_locked(struct mtcp_sock *s)
{
	struct stack *st = s->st;

	if (--s->refs)
		return;
	if (s->tp)
		tcp_free(s->tp);
	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		st->socks = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
	st->nsockets--;
	free(s);
}

void mtcp_sock_hold(struct mtcp_sock *s)
{
	pthread_mutex_lock(&s->st->lock);
	s->refs++;
	stack_unlock(s->st);
}

void mtcp_sock_put(struct mtcp_sock *s)
{
	struct stack *st = s->st;

	pthread_mutex_lock(&st->lock);
	sock_put_locked(s);
	stack_unlock(st);
}

/* mtcp_close with the lock held. */
static void close_locked(struct mtcp_sock *s)
{
	s->closed = true;
	s->refs++;              /* held across the protocol's close */
	if (is_tcp(s))
		tcp_usr_close(s);
	else
		udp_close(s);
	/* The hook is the owner's, and the owner is gone (a caller that
	 * still holds a reference may hang one again, mtcp.h). */
	s->notify = NULL;
	sock_put_locked(s);
	sock_put_locked(s);
}

void mtcp_close(struct mtcp_sock *s)
{
	struct stack *st = s->st;

	pthread_mutex_lock(&st->lock);
	close_locked(s);
	stack_unlock(st);
}

/* A socket its owner still holds: not closed, and not a connection still
 * waiting in a listener's queue (that one is the listener's, and nobody
 * holds it yet). */
static bool owned(const struct mtcp_sock *s)
{
	/* Kept for other processes (handoff.c) is not the program's. */
	return !s->closed && !s->held_only && !s->remote && !(s->tp && s->tp->t_listener);
}

void sock_orphan_all(struct stack *st)
{
	struct mtcp_sock *s;

	/* Closing one may free others (a listener's queue): look again
	 * from the start each time. */
	for (;;) {
		for (s = st->socks; s && !owned(s); s = s->all_next)
			;
		if (!s)
			break;
		s->notify = NULL;
		close_locked(s);
	}
}

/* ---- The port space of the processes on this address (stack/host) ---- */

int sock_host_bind(struct mtcp_sock *s, uint8_t proto, uint16_t port)
{
	unsigned f = (s->reuseaddr ? HOST_REUSEADDR : 0) |
		     (s->reuseport ? HOST_REUSEPORT : 0) |
		     (s->host_inherit ? HOST_INHERITED : 0);
	int rc = host_bind(s->st->host, proto, port, f);

	if (rc == 0) {
		s->host_flags = f;
		s->host_held = true;
	}
	return rc;
}

void sock_host_unbind(struct mtcp_sock *s, uint8_t proto)
{
	struct host *h = s->st->host;

	if (!s->host_held)
		return;
	if (s->host_listening)
		host_listen(h, proto, s->lport, false);
	host_unbind(h, proto, s->lport, s->host_flags);
	s->host_held = s->host_listening = s->host_active = false;
}

void sock_host_use(struct mtcp_sock *s)
{
	if (s->host_active || !s->host_held || !s->st->host)
		return;
	/* A listener takes new connections; a UDP socket, datagrams. A
	 * connected TCP socket's flow is its own already. */
	if (is_tcp(s) && !s->host_listening)
		return;
	if (host_activate(s->st->host, is_tcp(s) ? IPPROTO_TCP : IPPROTO_UDP, s->lport) == 0)
		s->host_active = true;
}

int sock_error(struct mtcp_sock *s)
{
	int err = s->so_error;

	s->so_error = 0;
	return -err;
}

void sock_wake_all(struct stack *st)
{
	for (struct mtcp_sock *s = st->socks; s; s = s->all_next)
		sock_wake(s);
}

static int check_sin(const struct sockaddr *a, socklen_t len, bool allow_unspec)
{
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (allow_unspec && a->sa_family == AF_UNSPEC)
		return 0;
	if (len < sizeof(struct sockaddr_in))
		return -EINVAL;
	if (a->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	return 0;
}

int mtcp_bind(struct mtcp_sock *s, const struct sockaddr_in *a)
{
	int rc;

	/* Linux inet_bind: AF_UNSPEC is taken for AF_INET, but only with
	 * INADDR_ANY (compatibility with old applications). */
	if (a->sin_family != AF_INET &&
	    (a->sin_family != AF_UNSPEC || a->sin_addr.s_addr != htonl(INADDR_ANY)))
		return -EAFNOSUPPORT;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	if (is_tcp(s))
		rc = tcp_usr_bind(s, ntohl(a->sin_addr.s_addr), ntohs(a->sin_port));
	else
		rc = udp_bind(s, ntohl(a->sin_addr.s_addr), ntohs(a->sin_port), true);
	stack_unlock(s->st);
	return rc;
}

int mtcp_bind_inherited(struct mtcp_sock *s, const struct sockaddr_in *a)
{
	pthread_mutex_lock(&s->st->lock);
	s->host_inherit = true;
	stack_unlock(s->st);
	int rc = mtcp_bind(s, a);
	pthread_mutex_lock(&s->st->lock);
	s->host_inherit = false;
	stack_unlock(s->st);
	return rc;
}

int mtcp_listen(struct mtcp_sock *s, int backlog)
{
	int rc;

	if (!is_tcp(s))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	rc = tcp_usr_listen(s, backlog);
	stack_unlock(s->st);
	return rc;
}

int mtcp_accept(struct mtcp_sock *s, struct sockaddr_in *peer, struct mtcp_sock **out)
{
	int rc;

	if (!is_tcp(s))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	sock_host_use(s);
	rc = tcp_usr_accept(s, peer, out);
	stack_unlock(s->st);
	return rc;
}

int mtcp_connect(struct mtcp_sock *s, const struct sockaddr *a, socklen_t len)
{
	int rc = check_sin(a, len, true);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
	if (is_tcp(s)) {
		if (a->sa_family == AF_UNSPEC)
			rc = tcp_usr_disconnect(s);
		else
			rc = tcp_usr_connect(s, ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port));
	} else if (a->sa_family == AF_UNSPEC) {
		rc = udp_disconnect(s);
	} else {
		rc = udp_connect(s, ntohl(sin->sin_addr.s_addr), ntohs(sin->sin_port));
	}
	stack_unlock(s->st);
	return rc;
}

ssize_t mtcp_sendmsg(struct mtcp_sock *s, const struct msghdr *msg, int flags)
{
	ssize_t rc;

	/* TCP ignores a destination (Linux: unless TCP Fast Open). */
	if (msg->msg_name && !is_tcp(s)) {
		rc = check_sin(msg->msg_name, msg->msg_namelen, false);
		if (rc < 0)
			return rc;
	}
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	rc = is_tcp(s) ? tcp_usr_send(s, msg, flags) : udp_sendmsg(s, msg, flags);
	stack_unlock(s->st);
	return rc;
}

ssize_t mtcp_recvmsg(struct mtcp_sock *s, struct msghdr *msg, int flags)
{
	ssize_t rc;

	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	if (!is_tcp(s))
		sock_host_use(s);
	rc = is_tcp(s) ? tcp_usr_recv(s, msg, flags) : udp_recvmsg(s, msg, flags);
	stack_unlock(s->st);
	return rc;
}

ssize_t mtcp_sendto(struct mtcp_sock *s, const void *buf, size_t len, int flags,
		    const struct sockaddr_in *to)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = {
		.msg_name = (void *)to,
		.msg_namelen = to ? sizeof(*to) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	return mtcp_sendmsg(s, &msg, flags);
}

ssize_t mtcp_recvfrom(struct mtcp_sock *s, void *buf, size_t len, int flags,
		      struct sockaddr_in *from)
{
	struct iovec iov = { buf, len };
	struct msghdr msg = {
		.msg_name = from,
		.msg_namelen = from ? sizeof(*from) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	return mtcp_recvmsg(s, &msg, flags);
}

static void fill_sin(struct sockaddr_in *a, uint32_t addr, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(addr);
	a->sin_port = htons(port);
}

int mtcp_getsockname(struct mtcp_sock *s, struct sockaddr_in *a)
{
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	fill_sin(a, s->laddr, s->lport);
	stack_unlock(s->st);
	return 0;
}

int mtcp_getpeername(struct mtcp_sock *s, struct sockaddr_in *a)
{
	int rc = 0;

	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	/* Linux inet_getname: TCP has a peer from SYN-RECEIVED on, while the
	 * connection lasts. */
	bool has_peer = is_tcp(s) ? s->tp->t_state != TCPS_CLOSED &&
				    s->tp->t_state != TCPS_SYN_SENT &&
				    s->tp->t_state != TCPS_LISTEN : s->connected;
	if (!has_peer)
		rc = -ENOTCONN;
	else
		fill_sin(a, s->raddr, s->rport);
	stack_unlock(s->st);
	return rc;
}

static int opt_int(const void *val, socklen_t len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int opt_timeval(const void *val, socklen_t len, uint64_t *out)
{
	struct timeval tv;

	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	if (tv.tv_sec < 0)
		*out = 0;       /* Linux: a negative timeout means none, i.e. forever */
	else
		*out = (uint64_t)tv.tv_sec * USEC_PER_SEC + (uint64_t)tv.tv_usec;
	return 0;
}

/* The doubled size SO_RCVBUF / SO_SNDBUF ask for, before the minimum.
 * Linux sock_setsockopt caps the plain options with min_t(u32, val, max),
 * so a negative value asks for the maximum; the FORCE ones take it as 0. */
static int buf_value(bool plain, int v)
{
	if (v < 0)
		return plain ? MAX_BUF : 0;
	int max = plain ? MAX_BUF : MAX_BUF_FORCE;
	return v > max / 2 ? max : v * 2;
}

int mtcp_setsockopt(struct mtcp_sock *s, int level, int name, const void *val, socklen_t len)
{
	int v = 0, rc;

	if (mtcp_remote(s))
		return -MTCP_EREMOTE;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		uint64_t t;
		if ((rc = opt_timeval(val, len, &t)) < 0)
			return rc;
		pthread_mutex_lock(&s->st->lock);
		if (name == SO_RCVTIMEO)
			s->rcvtimeo = t;
		else
			s->sndtimeo = t;
		stack_unlock(s->st);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (len < sizeof(l))
			return -EINVAL;
		memcpy(&l, val, sizeof(l));
		pthread_mutex_lock(&s->st->lock);
		s->linger = l.l_onoff != 0;
		s->linger_us = l.l_linger > 0 ? (uint64_t)l.l_linger * USEC_PER_SEC : 0;
		stack_unlock(s->st);
		return 0;
	}
	if ((rc = opt_int(val, len, &v)) < 0)
		return rc;

	rc = 0;
	pthread_mutex_lock(&s->st->lock);
	if (is_tcp(s) && (level == IPPROTO_TCP || (level == SOL_SOCKET && name == SO_KEEPALIVE))) {
		rc = tcp_usr_setsockopt(s, level, name, v);
	} else if (level == SOL_SOCKET) {
		switch (name) {
		case SO_BROADCAST:
			s->broadcast = v != 0;
			break;
		case SO_REUSEADDR:
			s->reuseaddr = v != 0;
			break;
		case SO_REUSEPORT:
			/* NOTE: sockets sharing a port this way are not load
			 * balanced: the first listener (or bound UDP socket)
			 * found gets the traffic. */
			s->reuseport = v != 0;
			break;
		case SO_RCVLOWAT:
			/* Linux sock_setsockopt: negative is INT_MAX, 0 is 1. */
			s->rcvlowat = v < 0 ? INT_MAX : v ? v : 1;
			break;
		case SO_RCVBUF:
		case SO_RCVBUFFORCE:
			/* socket(7): the kernel doubles the value */
			v = buf_value(name == SO_RCVBUF || name == SO_SNDBUF, v);
			s->rcvbuf = v < MIN_RCVBUF ? MIN_RCVBUF : v;
			if (is_tcp(s))
				tcp_usr_bufsize(s, true);
			break;
		case SO_SNDBUF:
		case SO_SNDBUFFORCE:
			v = buf_value(name == SO_RCVBUF || name == SO_SNDBUF, v);
			s->sndbuf = v < MIN_SNDBUF ? MIN_SNDBUF : v;
			if (is_tcp(s))
				tcp_usr_bufsize(s, false);
			break;
		case SO_KEEPALIVE:
			s->keepalive = v != 0;
			break;
		case SO_OOBINLINE:
			s->oobinline = v != 0;
			break;
		default:
			rc = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TTL:
			/* Linux: 1..255, or -1 for the default. */
			if (v == -1)
				s->ttl = 0;
			else if (v < 1 || v > 255)
				rc = -EINVAL;
			else
				s->ttl = (uint8_t)v;
			break;
		case IP_TOS:
			s->tos = (uint8_t)(v & 0xfc);
			break;
		default:
			rc = -ENOPROTOOPT;
		}
	} else {
		rc = -ENOPROTOOPT;
	}
	stack_unlock(s->st);
	if (rc == -ENOPROTOOPT)
		log_info(sock, "setsockopt level %d name %d not supported", level, name);
	return rc;
}

int mtcp_getsockopt(struct mtcp_sock *s, int level, int name, void *val, socklen_t *len)
{
	int v = 0, rc = 0;

	if (mtcp_remote(s))
		return -MTCP_EREMOTE;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		struct timeval tv;
		pthread_mutex_lock(&s->st->lock);
		uint64_t t = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
		stack_unlock(s->st);
		tv.tv_sec = (time_t)(t / USEC_PER_SEC);
		tv.tv_usec = (suseconds_t)(t % USEC_PER_SEC);
		if (*len > sizeof(tv))
			*len = sizeof(tv);
		memcpy(val, &tv, *len);
		return 0;
	}

	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		pthread_mutex_lock(&s->st->lock);
		l.l_onoff = s->linger;
		l.l_linger = (int)(s->linger_us / USEC_PER_SEC);
		stack_unlock(s->st);
		if (*len > sizeof(l))
			*len = sizeof(l);
		memcpy(val, &l, *len);
		return 0;
	}
	pthread_mutex_lock(&s->st->lock);
	if (is_tcp(s) && level == IPPROTO_TCP) {
		rc = tcp_usr_getsockopt(s, level, name, val, len);
		stack_unlock(s->st);
		return rc;
	}
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE:           v = s->type; break;
		case SO_ERROR:          v = -sock_error(s); break;
		case SO_BROADCAST:      v = s->broadcast; break;
		case SO_REUSEADDR:      v = s->reuseaddr; break;
		case SO_REUSEPORT:      v = s->reuseport; break;
		case SO_RCVLOWAT:       v = s->rcvlowat; break;
		case SO_RCVBUF:         v = s->rcvbuf; break;
		case SO_SNDBUF:         v = s->sndbuf; break;
		case SO_DOMAIN:         v = AF_INET; break;
		case SO_PROTOCOL:       v = is_tcp(s) ? IPPROTO_TCP : IPPROTO_UDP; break;
		case SO_ACCEPTCONN:     v = is_tcp(s) && s->tp->t_state == TCPS_LISTEN; break;
		case SO_KEEPALIVE:      v = s->keepalive; break;
		case SO_OOBINLINE:      v = s->oobinline; break;
		default:                rc = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IP) {
		switch (name) {
		case IP_TTL:            v = s->ttl ? s->ttl : 64; break;
		case IP_TOS:            v = s->tos; break;
		default:                rc = -ENOPROTOOPT;
		}
	} else {
		/* Linux's do_ip_getsockopt: an unknown level is EOPNOTSUPP
		 * here (setsockopt says ENOPROTOOPT). */
		rc = is_tcp(s) || level != IPPROTO_UDP ? -EOPNOTSUPP : -ENOPROTOOPT;
	}
	stack_unlock(s->st);
	if (rc < 0)
		return rc;
	/* Linux copies min(len, sizeof(int)) and reports that length. */
	if (*len > sizeof(int))
		*len = sizeof(int);
	memcpy(val, &v, *len);
	return 0;
}

int mtcp_shutdown(struct mtcp_sock *s, int how)
{
	int rc = 0;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	if (is_tcp(s)) {
		rc = tcp_usr_shutdown(s, how);
		stack_unlock(s->st);
		return rc;
	}
	/* Linux: shutdown on an unconnected datagram socket is ENOTCONN, but
	 * the flags are still applied. */
	if (!s->connected)
		rc = -ENOTCONN;
	if (how != SHUT_WR)
		s->shut_rd = true;
	if (how != SHUT_RD)
		s->shut_wr = true;
	sock_wake(s);
	stack_unlock(s->st);
	return rc;
}

uint64_t mtcp_sock_timeo(struct mtcp_sock *s, int optname)
{
	pthread_mutex_lock(&s->st->lock);
	uint64_t t = optname == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
	stack_unlock(s->st);
	return t;
}

bool mtcp_sock_stopped(struct mtcp_sock *s)
{
	pthread_mutex_lock(&s->st->lock);
	bool stopped = s->st->stopping;
	stack_unlock(s->st);
	return stopped;
}

/* A closed socket's closing is still under way: Linux's tcp_close waits
 * (SO_LINGER) until our FIN is acknowledged. */
static bool closing(const struct mtcp_sock *s)
{
	return is_tcp(s) && s->tp && TCPS_CLOSING_FIN(s->tp->t_state);
}

unsigned mtcp_poll(struct mtcp_sock *s)
{
	unsigned ev;

	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, MTCP_POLL_REMOTE);
	if (s->closed) {
		ev = closing(s) ? 0 : EPOLLHUP;
	} else {
		sock_host_use(s);
		ev = is_tcp(s) ? tcp_usr_poll(s) : udp_poll(s);
	}
	stack_unlock(s->st);
	return ev;
}

void mtcp_set_notify(struct mtcp_sock *s, void (*fn)(struct mtcp_sock *, unsigned, void *), void *ctx)
{
	pthread_mutex_lock(&s->st->lock);
	s->notify = fn;
	s->notify_ctx = ctx;
	stack_unlock(s->st);
}

int mtcp_ioctl_inq(struct mtcp_sock *s, int *out)
{
	int rc = 0;

	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	if (is_tcp(s))
		rc = tcp_usr_inq(s, out);
	else    /* Linux FIONREAD on UDP: the next datagram's size */
		*out = s->rxq_head ? (int)s->rxq_head->len : 0;
	stack_unlock(s->st);
	return rc;
}

int mtcp_ioctl_outq(struct mtcp_sock *s, int *out)
{
	int rc = 0;

	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	if (is_tcp(s))
		rc = tcp_usr_outq(s, out);
	else
		*out = 0;       /* datagrams leave at once */
	stack_unlock(s->st);
	return rc;
}

int mtcp_ioctl_atmark(struct mtcp_sock *s, int *out)
{
	int rc;

	if (!is_tcp(s))
		return -ENOTTY;
	pthread_mutex_lock(&s->st->lock);
	REMOTE_OUT(s, -MTCP_EREMOTE);
	rc = tcp_usr_atmark(s, out);
	stack_unlock(s->st);
	return rc;
}
