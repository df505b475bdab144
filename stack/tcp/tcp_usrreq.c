/*
 * tcp_usrreq.c - the socket-facing side of TCP: what bind, listen,
 * accept, connect, send, recv, shutdown, close, poll and the options do on
 * a SOCK_STREAM socket. Return values, errno and their order follow
 * Linux's inet_stream_connect, tcp_sendmsg, tcp_recvmsg, inet_shutdown,
 * tcp_close and tcp_poll, so a program sees the same results on either
 * stack. Called from socket.c with the stack lock held.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>

#include "iov.h"
#include "mtcp.h"
#include "tcp_var.h"

static ssize_t recv_urg(struct mtcp_sock *s, struct msghdr *msg, int flags);

/* Linux's TCP_* state numbers, for TCP_INFO. */
static const uint8_t linux_state[] = {
	[TCPS_CLOSED] = 7, [TCPS_LISTEN] = 10, [TCPS_SYN_SENT] = 2,
	[TCPS_SYN_RECEIVED] = 3, [TCPS_ESTABLISHED] = 1, [TCPS_CLOSE_WAIT] = 8,
	[TCPS_FIN_WAIT_1] = 4, [TCPS_CLOSING] = 11, [TCPS_LAST_ACK] = 9,
	[TCPS_FIN_WAIT_2] = 5, [TCPS_TIME_WAIT] = 6,
};

/* The window scale we offer: enough for the largest buffer this socket
 * may have (Linux offers 7 with its default tcp_rmem). */
static uint8_t wscale_for(const struct tcpcb *tp)
{
	uint32_t max = (tp->t_flags & TF_RCVBUF_LOCK) ? tp->rcv.limit : TCP_RCVBUF_MAX;
	uint8_t ws = 0;

	if (!(tp->t_flags & TF_RCVBUF_LOCK))
		return TCP_RCV_WSCALE;
	while (ws < TCP_MAX_WSCALE && ((uint32_t)65535 << ws) < max)
		ws++;
	return ws;
}

int tcp_usr_bind(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct stack *st = s->st;
	struct tcpcb *tp = s->tp;

	if (s->bound || tp->t_state != TCPS_CLOSED)
		return -EINVAL;
	if (addr != INADDR_ANY && addr != st->addr && !ipv4_is_bcast(st, addr))
		return -EADDRNOTAVAIL;
	return tcp_bind_port(tp, addr, port, 0, 0, true);
}

int tcp_usr_listen(struct mtcp_sock *s, int backlog)
{
	struct stack *st = s->st;
	struct tcpcb *tp = s->tp;
	int rc;

	/* Linux inet_listen: only an unconnected socket, CLOSED or already
	 * listening (then only the backlog changes). */
	if (s->connected || s->connecting ||
	    (tp->t_state != TCPS_CLOSED && tp->t_state != TCPS_LISTEN))
		return -EINVAL;
	/* min_t(u32, backlog, somaxconn): a negative backlog is the maximum. */
	tp->backlog = (unsigned)backlog > TCP_BACKLOG_MAX ? TCP_BACKLOG_MAX : (unsigned)backlog;
	if (tp->t_state == TCPS_LISTEN)
		return 0;
	if (!s->bound) {
		if ((rc = tcp_bind_port(tp, INADDR_ANY, 0, 0, 0, false)) < 0)
			return rc;
	} else if (tcp_port_conflict(st, tp, s->laddr, s->lport, true)) {
		return -EADDRINUSE;
	}
	/* Another process may have bound the port with SO_REUSEADDR too and
	 * listen on it already (Linux checks again at listen). */
	if (s->host_held && !s->host_listening) {
		if ((rc = host_listen(st->host, IPPROTO_TCP, s->lport, true)) < 0)
			return rc;
		s->host_listening = true;
	}
	tp->request_r_scale = wscale_for(tp);
	tcp_set_state(tp, TCPS_LISTEN);
	return 0;
}

int tcp_usr_accept(struct mtcp_sock *s, struct sockaddr_in *peer, struct mtcp_sock **out)
{
	struct tcpcb *tp = s->tp;
	struct mtcp_sock *c = tp->acceptq_head;

	if (tp->t_state != TCPS_LISTEN)
		return -EINVAL;
	if (!c)
		return -EAGAIN;
	tcp_child_unlink(c->tp);
	c->refs++;              /* the caller's */
	c->connected = true;    /* SS_CONNECTED, as inet_accept */
	if (peer) {
		memset(peer, 0, sizeof(*peer));
		peer->sin_family = AF_INET;
		peer->sin_addr.s_addr = htonl(c->raddr);
		peer->sin_port = htons(c->rport);
	}
	*out = c;
	return 0;
}

/* Open the connection: route, local address and port, ISS, SYN. */
static int tcp_open(struct tcpcb *tp, uint32_t addr, uint16_t port)
{
	struct stack *st = tp->st;
	struct mtcp_sock *s = tp->so;
	uint32_t nexthop, src;
	int rc;

	if (addr == INADDR_ANY)
		addr = st->addr;        /* Linux: 0.0.0.0 means this host */
	if (ipv4_is_bcast(st, addr) || (addr >> 28) == 0xe)
		return -ENETUNREACH;    /* Linux ip_route_connect: no broadcast/multicast */
	if ((rc = ipv4_route(st, addr, &nexthop, &src)) < 0)
		return rc;
	if (!s->bound) {
		if ((rc = tcp_bind_port(tp, src, 0, addr, port, false)) < 0)
			return rc;
	} else {
		if (!s->laddr || ipv4_is_bcast(st, s->laddr))
			s->laddr = src;
		struct tcpcb *o = tcp_lookup(st, s->laddr, s->lport, addr, port);
		if (o && o != tp)
			return -EADDRNOTAVAIL;  /* Linux __inet_hash_connect */
	}
	s->raddr = addr;
	s->rport = port;
	tcp_ehash_insert(st, tp);

	tp->t_advmss = tcp_adv_mss(tp);
	tcp_mss_update(tp, 0);
	tp->t_rcvmss = tp->t_advmss;
	tp->request_r_scale = wscale_for(tp);
	tp->iss = tcp_new_isn(st, s->laddr, s->lport, addr, port);
	tp->snd_una = tp->snd_nxt = tp->snd_max = tp->snd_sml = tp->iss;
	tp->snd_wl2 = tp->iss;
	tp->ts_offset = tcp_ts_offset(st, tp->so->laddr, tp->so->raddr);
	tp->t_rxtshift = 0;
	tp->t_backoff = 0;
	tp->t_rexmt_start = 0;
	tp->t_rto = TCP_RTO_INIT;
	tp->t_rtt_valid = false;
	st->stats.tcp_active_opens++;
	tcp_set_state(tp, TCPS_SYN_SENT);
	tcp_output(tp);
	return 0;
}

/* Linux __inet_stream_connect, state for state. */
int tcp_usr_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct tcpcb *tp = s->tp;
	int rc;

	if (s->connected)
		return -EISCONN;
	if (s->connecting) {
		rc = -EALREADY;
	} else {
		if (tp->t_state != TCPS_CLOSED)
			return -EISCONN;
		if ((rc = tcp_open(tp, addr, port)) < 0)
			return rc;
		s->connecting = true;
		s->handshaken = false;
		rc = -EINPROGRESS;
	}

	/* Still opening: the caller learns the end from poll (EPOLLOUT or
	 * EPOLLERR) and connects again to hear it, as after the wait in
	 * __inet_stream_connect. */
	if (tp->t_state == TCPS_SYN_SENT || tp->t_state == TCPS_SYN_RECEIVED)
		return rc;
	if (tp->t_state == TCPS_CLOSED && !s->handshaken) {
		/* Refused, reset, timed out or unreachable. */
		rc = sock_error(s);
		s->connecting = false;
		return rc ? rc : -ECONNABORTED;
	}
	/* NOTE: established, and maybe reset since: the connect succeeded
	 * and the error waits for the next call (Linux returns it here
	 * when the RST beats the woken connecting thread: a race it
	 * nearly always wins, and a caller that waits outside the stack
	 * sees later than the kernel's would). */
	s->connecting = false;
	s->connected = true;
	return 0;
}

/* connect(AF_UNSPEC): Linux tcp_disconnect - abort whatever there is. */
int tcp_usr_disconnect(struct mtcp_sock *s)
{
	struct tcpcb *tp = s->tp;

	if (tp->t_state == TCPS_LISTEN) {
		tcp_usr_close_listener(tp);
	} else if (tp->t_state != TCPS_CLOSED) {
		bool rst = tp->t_state != TCPS_SYN_SENT;
		tcp_drop(tp, 0, rst);
	}
	/* A fresh start: the socket may connect again. */
	tcp_reinit(tp);
	s->connected = s->connecting = s->handshaken = false;
	s->shut_rd = s->shut_wr = false;
	s->so_error = 0;
	return 0;
}

ssize_t tcp_usr_send(struct mtcp_sock *s, const struct msghdr *msg, int flags)
{
	struct tcpcb *tp = s->tp;
	size_t total = iov_total(msg->msg_iov, msg->msg_iovlen), idx = 0, off = 0;
	size_t copied = 0;
	int rc;


	/* sk_stream_wait_connect: a connection being opened is one to wait
	 * for (the caller's -EAGAIN, EPOLLOUT at its end). */
	if (tp->t_state != TCPS_ESTABLISHED && tp->t_state != TCPS_CLOSE_WAIT) {
		if (s->so_error)
			return sock_error(s);
		if (tp->t_state != TCPS_SYN_SENT && tp->t_state != TCPS_SYN_RECEIVED)
			goto pipe;
		return -EAGAIN;
	}

	for (;;) {
		if (s->so_error || s->shut_wr ||
		    (tp->t_state != TCPS_ESTABLISHED && tp->t_state != TCPS_CLOSE_WAIT)) {
			if (copied)
				return (ssize_t)copied;
			goto pipe;
		}
		if (copied == total && total)
			break;
		tcp_snd_autotune(tp);
		uint32_t want = total - copied > UINT32_MAX ? UINT32_MAX : (uint32_t)(total - copied);
		uint32_t n = ring_space(&tp->snd) ? ring_write_iov(&tp->snd, msg->msg_iov,
					(size_t)msg->msg_iovlen, &idx, &off, want) : 0;
		copied += n;
		if (n && (flags & MSG_OOB)) {
			/* Urgent: the pointer follows the last byte queued
			 * (Linux tcp_mark_urg). */
			tp->snd_urg = true;
			tp->snd_up = tp->snd_una + tp->snd.len;
		}
		if (n || !total) {
			/* MSG_MORE: hold a partial segment, as TCP_CORK. */
			uint32_t saved = tp->t_flags;
			if (flags & MSG_MORE)
				tp->t_flags |= TF_CORK;
			tcp_output(tp);
			tp->t_flags = (tp->t_flags & ~TF_CORK) | (saved & TF_CORK);
			if (!total)
				break;
			continue;
		}
		/* The buffer is full: what went, or the caller waits for
		 * EPOLLOUT (sk_stream_wait_memory). */
		return copied ? (ssize_t)copied : -EAGAIN;
	}
	return (ssize_t)copied;
pipe:
	/* sk_stream_error: a pending error first, then EPIPE. */
	rc = sock_error(s);
	return rc ? rc : -EPIPE;
}

/* Receive buffer autotuning, a simple form of Linux's dynamic right-sizing:
 * when the application drained half the buffer within one round trip,
 * the sender is limited by our window - double it. */
static void rcv_autotune(struct tcpcb *tp, uint32_t n)
{
	uint64_t now = stack_now(tp->st);
	uint64_t rtt = tp->t_rtt_valid ? tp->t_srtt : 1000;

	if (tp->t_flags & TF_RCVBUF_LOCK)
		return;
	tp->rcvq_copied += n;
	if (now - tp->rcvq_stamp < rtt)
		return;
	if (tp->rcvq_copied * 2 >= tp->rcv.limit && tp->rcv.limit < TCP_RCVBUF_MAX / 2) {
		tp->rcv.limit *= 2;
		if (tp->rcv.limit > TCP_RCVBUF_MAX / 2)
			tp->rcv.limit = TCP_RCVBUF_MAX / 2;
	}
	tp->rcvq_stamp = now;
	tp->rcvq_copied = 0;
}

ssize_t tcp_usr_recv(struct mtcp_sock *s, struct msghdr *msg, int flags)
{
	struct tcpcb *tp = s->tp;
	size_t total = 0, copied = 0;
	int rc;

	if (tp->t_state == TCPS_LISTEN)
		return -ENOTCONN;
	if (flags & MSG_OOB)
		return recv_urg(s, msg, flags);
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;
	total = iov_total(msg->msg_iov, msg->msg_iovlen);
	/* MSG_WAITALL is the caller's to wait for: here it takes what
	 * there is, as tcp_recvmsg does when it may not sleep. */
	size_t target = total < 1 ? total : 1;
	if (msg->msg_name)
		msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;

	for (;;) {
		/* Copy what is there, up to the urgent mark. */
		uint32_t avail = tp->rcv.len - ((flags & MSG_PEEK) ? (uint32_t)copied : 0);
		if ((flags & MSG_PEEK) && copied > tp->rcv.len)
			avail = 0;
		if (tp->urg_state == URG_NOTYET || tp->urg_state == URG_VALID ||
		    tp->urg_state == URG_READ) {
			tcp_seq at = tp->rcv_nxt - tp->rcv.len + ((flags & MSG_PEEK) ? (uint32_t)copied : 0);
			uint32_t mark = tp->urg_seq - at;
			if (SEQ_GEQ(tp->urg_seq, at) && mark < avail) {
				if (mark == 0) {
					/* At the mark: a read stops here once it
					 * has data; the urgent byte itself is not
					 * in the stream unless SO_OOBINLINE. */
					if (copied)
						break;
					if (!s->oobinline && !(flags & MSG_PEEK)) {
						/* Past the mark the byte is gone,
						 * MSG_OOB included (Linux). */
						ring_consume(&tp->rcv, 1);
						tp->urg_state = URG_NONE;
						continue;
					}
					if (s->oobinline && !(flags & MSG_PEEK) &&
					    tp->urg_state != URG_NOTYET)
						tp->urg_state = URG_NONE;
				} else {
					avail = mark;
				}
			}
		}
		size_t n = total - copied < avail ? total - copied : avail;
		if (n) {
			if (!(flags & MSG_TRUNC)) {
				size_t done = 0, pos = 0;
				for (size_t i = 0; i < (size_t)msg->msg_iovlen && done < n; i++) {
					size_t l = msg->msg_iov[i].iov_len;
					if (pos + l <= copied) {
						pos += l;
						continue;
					}
					size_t skip = copied > pos ? copied - pos : 0;
					size_t m = l - skip < n - done ? l - skip : n - done;
					uint32_t roff = (flags & MSG_PEEK) ? (uint32_t)(copied + done) : 0;
					ring_peek(&tp->rcv, roff, (uint8_t *)msg->msg_iov[i].iov_base + skip,
						  (uint32_t)m);
					if (!(flags & MSG_PEEK))
						ring_consume(&tp->rcv, (uint32_t)m);
					done += m;
					pos += l;
				}
			} else if (!(flags & MSG_PEEK)) {
				ring_consume(&tp->rcv, (uint32_t)n);
			}
			copied += n;
			if (!(flags & MSG_PEEK)) {
				rcv_autotune(tp, (uint32_t)n);
				/* The window may have opened: tell the peer
				 * (output decides whether it is worth it). */
				if (TCPS_HAVEESTABLISHED(tp->t_state))
					tcp_output(tp);
			}
		}
		/* A zero-length read returns 0 once there is data (or EOF);
		 * with nothing queued it is EAGAIN or waits, as tcp_recvmsg
		 * (its target is at least one byte). */
		if (copied >= target && (copied || (!total && tp->rcv.len)))
			break;
		if (copied)
			break;
		if ((rc = sock_error(s)) < 0)
			return rc;
		if (s->shut_rd)
			break;
		if (tp->t_state == TCPS_CLOSED)
			return -ENOTCONN;
		return -EAGAIN;
	}
	return (ssize_t)copied;
}

/* recv(MSG_OOB): the urgent byte, as Linux's tcp_recv_urg. */
static ssize_t recv_urg(struct mtcp_sock *s, struct msghdr *msg, int flags)
{
	struct tcpcb *tp = s->tp;

	if (s->oobinline || tp->urg_state == URG_NONE || tp->urg_state == URG_READ)
		return -EINVAL;
	if (tp->urg_state == URG_VALID) {
		size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
		if (!(flags & MSG_PEEK))
			tp->urg_state = URG_READ;
		msg->msg_flags = MSG_OOB;
		if (!total) {
			msg->msg_flags |= MSG_TRUNC;
			return 0;
		}
		for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
			if (msg->msg_iov[i].iov_len) {
				*(uint8_t *)msg->msg_iov[i].iov_base = tp->urg_byte;
				break;
			}
		}
		return 1;
	}
	if (tp->t_state == TCPS_CLOSED || s->shut_rd)
		return 0;
	return -EAGAIN;
}

int tcp_usr_atmark(struct mtcp_sock *s, int *out)
{
	struct tcpcb *tp = s->tp;

	*out = tp->urg_state != URG_NONE && tp->urg_seq == tp->rcv_nxt - tp->rcv.len;
	return 0;
}

/* RFC 9293 3.10.4 CLOSE for the sending direction: the FIN follows the
 * queued data. Returns false when there is no connection to close. */
static bool usrclosed(struct tcpcb *tp)
{
	switch (tp->t_state) {
	case TCPS_ESTABLISHED:
		tcp_set_state(tp, TCPS_FIN_WAIT_1);
		break;
	case TCPS_CLOSE_WAIT:
		tcp_set_state(tp, TCPS_LAST_ACK);
		break;
	case TCPS_SYN_RECEIVED:
		/* The FIN waits for the handshake (established() sends it). */
		break;
	default:
		return false;
	}
	tcp_output(tp);
	return true;
}

/* Linux inet_shutdown + tcp_shutdown. */
int tcp_usr_shutdown(struct mtcp_sock *s, int how)
{
	struct tcpcb *tp = s->tp;
	int rc = 0;

	switch (tp->t_state) {
	case TCPS_CLOSED:
	case TCPS_TIME_WAIT:    /* Linux's socket is TCP_CLOSE by then */
		rc = -ENOTCONN;
		break;
	case TCPS_LISTEN:
		if (how == SHUT_WR)
			return 0;
		tcp_usr_close_listener(tp);
		tcp_reinit(tp);
		s->connected = s->connecting = false;
		sock_wake(s);
		return 0;
	case TCPS_SYN_SENT:
		tcp_drop(tp, 0, false);
		tcp_reinit(tp);
		s->connecting = false;
		sock_wake(s);
		return 0;
	default:
		break;
	}
	if (how != SHUT_WR)
		s->shut_rd = true;
	if (how != SHUT_RD && !s->shut_wr) {
		s->shut_wr = true;
		usrclosed(tp);
	}
	sock_wake(s);
	return rc;
}

/* Close a listener: children still in the handshake go quietly; those
 * established and waiting for accept are reset (Linux
 * inet_csk_listen_stop). */
void tcp_usr_close_listener(struct tcpcb *lp)
{
	/* Other processes holding the port take them, as the one listener
	 * it would be on the kernel (tcp_migrate.c). */
	tcp_migrate_listener(lp);
	while (lp->children) {
		struct tcpcb *c = lp->children;
		tcp_drop(c, 0, c->t_state != TCPS_SYN_RECEIVED);
	}
	tcp_closed(lp);
}

void tcp_usr_close(struct mtcp_sock *s)
{
	struct tcpcb *tp = s->tp;

	tp->t_flags |= TF_ORPHAN;
	s->shut_rd = true;
	s->shut_wr = true;
	switch (tp->t_state) {
	case TCPS_CLOSED:
		tcp_closed(tp);         /* gives back a bound port */
		return;
	case TCPS_LISTEN:
		tcp_usr_close_listener(tp);
		return;
	case TCPS_SYN_SENT:
		tcp_drop(tp, 0, false);
		return;
	case TCPS_TIME_WAIT:
		return;                 /* 2MSL runs its course */
	default:
		break;
	}
	/* RFC 2525 2.17 / Linux: closing with unread data aborts (RST), so
	 * the peer knows it was not all consumed; so does SO_LINGER 0. */
	if (tp->rcv.len || tp->reass || (s->linger && s->linger_us == 0)) {
		tcp_drop(tp, 0, true);
		return;
	}
	usrclosed(tp);
	if (tp->t_state == TCPS_FIN_WAIT_2)
		tcp_keep_arm(tp);       /* the orphan FIN-WAIT-2 limit */
	/* SO_LINGER with a time: close(2) waits for the FIN to be
	 * acknowledged; that wait is the caller's (mtcp_close in mtcp.h). */
}

unsigned tcp_usr_poll(struct mtcp_sock *s)
{
	struct tcpcb *tp = s->tp;
	unsigned ev = 0;

	/* Linux tcp_poll, line for line. */
	if (tp->t_state == TCPS_LISTEN)
		return tp->acceptq_head ? EPOLLIN | EPOLLRDNORM : 0;
	if ((s->shut_rd && s->shut_wr) || tp->t_state == TCPS_CLOSED)
		ev |= EPOLLHUP;
	if (s->shut_rd)
		ev |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (tp->t_state != TCPS_SYN_SENT && tp->t_state != TCPS_SYN_RECEIVED) {
		if (tp->rcv.len && tp->rcv.len >= (uint32_t)s->rcvlowat)
			ev |= EPOLLIN | EPOLLRDNORM;
		if (!s->shut_wr) {
			if (tcp_writeable(tp))
				ev |= EPOLLOUT | EPOLLWRNORM;
		} else {
			ev |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	if (tp->urg_state == URG_VALID)
		ev |= EPOLLPRI;         /* urgent data to read (MUST-32) */
	if (s->so_error)
		ev |= EPOLLERR;
	return ev;
}

int tcp_usr_inq(struct mtcp_sock *s, int *out)
{
	if (s->tp->t_state == TCPS_LISTEN)
		return -EINVAL;
	*out = (int)s->tp->rcv.len;
	return 0;
}

int tcp_usr_outq(struct mtcp_sock *s, int *out)
{
	if (s->tp->t_state == TCPS_LISTEN)
		return -EINVAL;
	*out = (int)s->tp->snd.len;
	return 0;
}

/* Buffer sizes from SO_SNDBUF / SO_RCVBUF (already doubled, as Linux
 * reports them): about half is payload, as in Linux's accounting. Setting
 * either turns its autotuning off (SOCK_SNDBUF_LOCK / SOCK_RCVBUF_LOCK). */
void tcp_usr_bufsize(struct mtcp_sock *s, bool rcv)
{
	struct tcpcb *tp = s->tp;

	if (rcv) {
		tp->t_flags |= TF_RCVBUF_LOCK;
		tp->rcv.limit = (uint32_t)s->rcvbuf / 2;
		if (tp->rcv.limit < tp->rcv.len)
			tp->rcv.limit = tp->rcv.len;
	} else {
		tp->t_flags |= TF_SNDBUF_LOCK;
		tp->snd.limit = (uint32_t)s->sndbuf / 2;
		if (tp->snd.limit < tp->snd.len)
			tp->snd.limit = tp->snd.len;
	}
}

int tcp_usr_setsockopt(struct mtcp_sock *s, int level, int name, int v)
{
	struct tcpcb *tp = s->tp;

	if (level == SOL_SOCKET && name == SO_KEEPALIVE) {
		s->keepalive = v != 0;
		tcp_keep_arm(tp);
		return 0;
	}
	if (level != IPPROTO_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_NODELAY:
		if (v) {
			tp->t_flags |= TF_NODELAY;
			tcp_output(tp);         /* Linux pushes what is pending */
		} else {
			tp->t_flags &= ~TF_NODELAY;
		}
		return 0;
	case TCP_CORK:
		if (v) {
			tp->t_flags |= TF_CORK;
		} else {
			tp->t_flags &= ~TF_CORK;
			tcp_output(tp);
		}
		return 0;
	case TCP_MAXSEG:
		/* Linux: 0 (no limit) or TCP_MIN_MSS..32767. */
		if (v && (v < TCP_MIN_MSS || v > 32767))
			return -EINVAL;
		tp->user_mss = (uint16_t)v;
		return 0;
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
		if (v < 1 || v > 32767)
			return -EINVAL;
		if (name == TCP_KEEPIDLE) {
			tp->keepidle = (uint32_t)v;
			tcp_keep_arm(tp);
		} else {
			tp->keepintvl = (uint32_t)v;
		}
		return 0;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			return -EINVAL;
		tp->keepcnt = (unsigned)v;
		return 0;
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return -EINVAL;
		tp->user_timeout = (uint64_t)v * USEC_PER_MSEC;
		return 0;
	case TCP_QUICKACK:
		if (v) {
			tp->t_quickack = 16;
			if (tp->t_flags & TF_DELACK) {
				tp->t_flags |= TF_ACKNOW;
				tcp_output(tp);
			}
		}
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static void fill_info(const struct tcpcb *tp, struct tcp_info *ti)
{
	memset(ti, 0, sizeof(*ti));
	/* Linux moves TIME-WAIT into a separate mini socket: the
	 * application's socket reads TCP_CLOSE from then on. */
	ti->tcpi_state = linux_state[tp->t_state == TCPS_TIME_WAIT ? TCPS_CLOSED : tp->t_state];
	ti->tcpi_retransmits = (uint8_t)tp->t_rxtshift;
	ti->tcpi_backoff = (uint8_t)tp->t_backoff;
	if ((tp->t_flags & (TF_REQ_TSTMP | TF_RCVD_TSTMP)) == (TF_REQ_TSTMP | TF_RCVD_TSTMP))
		ti->tcpi_options |= TCPI_OPT_TIMESTAMPS;
	if (tp->t_flags & TF_SACK_PERMIT)
		ti->tcpi_options |= TCPI_OPT_SACK;
	if (tp->t_flags & TF_RCVD_SCALE) {
		ti->tcpi_options |= TCPI_OPT_WSCALE;
		ti->tcpi_snd_wscale = tp->snd_scale & 0xf;
		ti->tcpi_rcv_wscale = tp->rcv_scale & 0xf;
	}
	ti->tcpi_rto = (uint32_t)tcp_rto_backoff(tp);
	ti->tcpi_ato = (uint32_t)TCP_DELACK_TIME;
	ti->tcpi_snd_mss = tp->t_maxseg;
	ti->tcpi_rcv_mss = tp->t_rcvmss;
	uint32_t mss = tp->t_maxseg ? tp->t_maxseg : 1;
	ti->tcpi_unacked = (tp->snd_max - tp->snd_una + mss - 1) / mss;
	ti->tcpi_rtt = (uint32_t)tp->t_srtt;
	ti->tcpi_rttvar = (uint32_t)tp->t_rttvar;
	ti->tcpi_snd_ssthresh = tp->snd_ssthresh / mss;
	ti->tcpi_snd_cwnd = tp->snd_cwnd / mss;
	ti->tcpi_advmss = tp->t_advmss;
	ti->tcpi_rcv_space = tp->rcv.limit;
	ti->tcpi_pmtu = tp->st->mtu;
}

int tcp_usr_getsockopt(struct mtcp_sock *s, int level, int name, void *val, socklen_t *len)
{
	struct tcpcb *tp = s->tp;
	int v;

	if (level == IPPROTO_TCP && name == TCP_INFO) {
		struct tcp_info ti;
		fill_info(tp, &ti);
		if (*len > sizeof(ti))
			*len = sizeof(ti);
		memcpy(val, &ti, *len);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_KEEPALIVE) {
		v = s->keepalive;
	} else if (level != IPPROTO_TCP) {
		return -ENOPROTOOPT;
	} else {
		switch (name) {
		case TCP_NODELAY:       v = !!(tp->t_flags & TF_NODELAY); break;
		case TCP_CORK:          v = !!(tp->t_flags & TF_CORK); break;
		case TCP_MAXSEG:
			/* Linux: the current MSS once connected, else the
			 * user's or the default. */
			v = TCPS_HAVEESTABLISHED(tp->t_state) ? tp->t_maxseg :
			    tp->user_mss ? tp->user_mss : TCP_DEFAULT_MSS;
			break;
		case TCP_KEEPIDLE:      v = (int)tp->keepidle; break;
		case TCP_KEEPINTVL:     v = (int)tp->keepintvl; break;
		case TCP_KEEPCNT:       v = (int)tp->keepcnt; break;
		case TCP_USER_TIMEOUT:  v = (int)(tp->user_timeout / USEC_PER_MSEC); break;
		case TCP_QUICKACK:      v = tp->t_quickack > 0; break;
		default:
			return -ENOPROTOOPT;
		}
	}
	if (*len > sizeof(int))
		*len = sizeof(int);
	memcpy(val, &v, *len);
	return 0;
}
