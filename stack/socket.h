/*
 * socket.h - the stack's socket object, shared by the protocols.
 *
 * Fields are guarded by the stack lock. A socket lives while it has
 * references: the owner's (dropped by mtcp_close), TCP's while its
 * connection lasts, and any a caller took (mtcp_sock_hold); the protocol
 * tables hold none (close unlinks first). No call sleeps here: readiness
 * goes out through the notify hook, and whoever blocks does so on its own
 * side (mtcp.h).
 */
#ifndef MTCP_SOCKET_H
#define MTCP_SOCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "stack.h"

struct tcpcb;

struct mtcp_sock {
	struct stack *st;
	int type;               /* SOCK_DGRAM or SOCK_STREAM */
	struct tcpcb *tp;       /* SOCK_STREAM: the control block (tcp_var.h) */
	unsigned refs;

	uint32_t laddr, raddr;  /* host order; 0: any / none */
	uint16_t lport, rport;  /* host order; 0: unbound / unconnected */
	bool bound, connected, closed;
	bool connecting;        /* TCP: SS_CONNECTING (a connect in progress) */
	bool handshaken;        /* TCP: this connect reached ESTABLISHED */
	/* Linux's SOCK_BINDADDR_LOCK / SOCK_BINDPORT_LOCK: the application
	 * chose the address / port, so disconnecting keeps them. */
	bool addr_locked, port_locked;
	bool broadcast, reuseaddr, reuseport, keepalive, oobinline;
	int rcvlowat;           /* SO_RCVLOWAT: bytes that make it readable */
	bool linger;            /* SO_LINGER on, for linger_us */
	uint64_t linger_us;
	bool shut_rd, shut_wr;
	int so_error;           /* positive errno, reported once */
	int rcvbuf, sndbuf;     /* bytes (as Linux reports: doubled) */
	/* SO_RCVTIMEO/SO_SNDTIMEO: stored, reported and inherited here, applied
	 * by the caller that blocks (mtcp_sock_timeo). µs, 0: forever. */
	uint64_t rcvtimeo, sndtimeo;
	uint8_t ttl, tos;

	/* Its share of the port space of the processes on this address
	 * (stack/host): what it told the registry, to be undone. */
	unsigned host_flags;    /* HOST_* of its host_bind */
	bool host_held;         /* holds lport there (sock_host_unbind) */
	bool host_listening;    /* host_listen(on) done */
	bool host_active;       /* takes new flows of lport (host_activate) */
	bool host_flow;         /* a flows entry of its own (passive opens) */
	bool host_inherit;      /* its bind is a fork()ed copy's (HOST_INHERITED) */

	/* Held by several processes (handoff.c): its handle in the host's
	 * registry (0: this process's alone). remote: a shell, the connection
	 * is another stack's (every call answers -MTCP_EREMOTE; atomic, read
	 * without the lock as a hint); lost: that stack died with it;
	 * held_only: ours, kept for other processes, none of ours uses it. */
	uint64_t handle;
	bool remote, lost, held_only;
	bool ho_tried;                  /* offered to the keeper once (exit) */
	bool ho_want;                   /* a quiet thread wants it (handoff_tick asks) */
	uint64_t ho_asked;              /* when we last asked its owner for it */
	struct mtcp_sock *ho_next;      /* handoff.c's table */

	/* Received datagrams: pbufs with data = payload, addr/port = source. */
	struct pbuf *rxq_head, *rxq_tail;
	size_t rxq_bytes;       /* charged as Linux does: payload + overhead */

	void (*notify)(struct mtcp_sock *, unsigned, void *);
	void *notify_ctx;

	struct mtcp_sock *hnext;        /* protocol hash chain */
	struct mtcp_sock *all_next, *all_prev;  /* st->socks: every live socket */
};

/* The port space shared with the other processes on the address
 * (socket.c; each a no-op for a stack alone). Lock held. */
int sock_host_bind(struct mtcp_sock *s, uint8_t proto, uint16_t port);
void sock_host_unbind(struct mtcp_sock *s, uint8_t proto);
/* The socket is being used (accepted, polled, read): it takes its share
 * of its port's new flows. */
void sock_host_use(struct mtcp_sock *s);

/* Create a socket (the stack lock held). */
int mtcp_socket_locked(struct stack *st, int type, struct mtcp_sock **out);
/* Drop a reference; the last one frees the socket (and its TCP control
 * block). Lock held. */
void sock_put_locked(struct mtcp_sock *s);

/* Readiness changed: call the notify hook. ev says which events the
 * change is about, as the key of Linux's wakeups: EPOLLIN (data arrived,
 * sk_data_ready), EPOLLOUT (room to write, sk_write_space), EPOLLPRI
 * (urgent data); sock_wake means any (a state change). On every segment's
 * path: one test when nobody listens. */
#define SOCK_WAKE_ANY   0xffffffffu
static inline void sock_wake_ev(struct mtcp_sock *s, unsigned ev)
{
	if (s->notify)
		s->notify(s, ev, s->notify_ctx);
}
static inline void sock_wake(struct mtcp_sock *s)
{
	sock_wake_ev(s, SOCK_WAKE_ANY);
}
/* The pending error, reported once: -so_error (then cleared), or 0.
 * Linux's sock_error(). */
int sock_error(struct mtcp_sock *s);
/* The stack is stopping: a state change for every socket, so that whoever
 * waits on one looks again (mtcp_sock_stopped). */
void sock_wake_all(struct stack *st);
/* Close every socket an owner still holds, as mtcp_close would, without
 * a word to its hook: in an exiting process's keeper (mtcp_stack_keep),
 * the threads that held them are gone. Lock held. */
void sock_orphan_all(struct stack *st);

/* udp.c */
/* bind(2) (user: true) or an automatic bind to an ephemeral port. */
int udp_bind(struct mtcp_sock *s, uint32_t addr, uint16_t port, bool user);
int udp_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port);
int udp_disconnect(struct mtcp_sock *s);
ssize_t udp_sendmsg(struct mtcp_sock *s, const struct msghdr *msg, int flags);
ssize_t udp_recvmsg(struct mtcp_sock *s, struct msghdr *msg, int flags);
unsigned udp_poll(struct mtcp_sock *s);
void udp_close(struct mtcp_sock *s);
/* A datagram p (data: payload, addr/port: its source) at the end of s's
 * queue, charged as received ones are; no wake-up (deliver's, or a moved
 * socket's, tcp_move.c). */
struct pbuf;
void udp_enqueue(struct mtcp_sock *s, struct pbuf *p);
/* A socket rebuilt here (tcp_move.c), bound already: into the port table. */
void udp_hash_in(struct mtcp_sock *s);

#endif
