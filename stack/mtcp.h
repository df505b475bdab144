/*
 * mtcp.h - what the stack offers its users: mtcp-echo, the preload library
 * and the tests.
 *
 * A stack instance owns a device, a configuration and its protocol state.
 * It runs either in its own thread (mtcp_stack_start) or driven by hand
 * (mtcp_stack_poll, for unit tests on a virtual clock).
 *
 * The socket API mirrors the BSD calls but returns 0 / a byte count or a
 * negative errno, never -1 + errno. Every call takes the stack lock itself:
 * call none of them with it held.
 */
#ifndef MTCP_H
#define MTCP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include "clock.h"
#include "config.h"
#include "stats.h"

struct stack;
struct mtcp_sock;
struct netdev;

/* Create a stack over dev (taking ownership) with the given clock.
 * 0 or -errno; on error dev has been destroyed. */
int mtcp_stack_create(const struct mtcp_config *cfg, struct netdev *dev,
		      const struct mtcp_clock *clock, struct stack **out);

/* Open the device cfg names (tap or packet, wrapped by impair when
 * configured, pcap when configured) and create a stack on the real clock.
 * 0, or -errno with a message naming the variable or device in err. */
int mtcp_stack_open(const struct mtcp_config *cfg, struct stack **out,
		    char *err, size_t errlen);

/* Announce ourselves (gratuitous ARP, RFC 5227 2.3 style) and run the stack
 * thread. 0 or -errno. */
int mtcp_stack_start(struct stack *st);
/* A function the stack thread runs first, before any I/O (the preload
 * marks the thread there, so the wake-ups of its notify callbacks wait for
 * the batch hook). Process-wide; set it before mtcp_stack_start. */
void mtcp_set_thread_hook(void (*fn)(void));
/* A function the stack thread runs after each batch of frames and timers,
 * with no lock held: the preload sends the wake-ups the batch's notify
 * callbacks deferred, so a woken thread never finds the stack still
 * locked. Process-wide; set it before mtcp_stack_start. */
void mtcp_set_batch_hook(void (*fn)(void));
/* The calling thread may make no system call from now on but read,
 * write, ppoll, futex and nanosleep (a seccomp sandbox: sshd's
 * pre-authentication child): the frames it queues and the messages it
 * would mail, the stack thread sends. */
void mtcp_thread_quiet(void);
/* Run fn(arg) on the stack thread (no lock held) and wait for it to
 * return: what a quiet thread cannot do itself. -ESRCH when the thread
 * does not run, -ETIMEDOUT after timeout_us. */
int mtcp_stack_call(struct stack *st, void (*fn)(void *), void *arg, uint64_t timeout_us);
/* Stop the thread (if running). Every socket's notify hook then hears a
 * state change (all events) and mtcp_sock_stopped turns true, so a caller
 * waiting for readiness that will never come can give up (-ESHUTDOWN is
 * the usual answer). The socket calls themselves go on answering as
 * before: nothing moves any more. */
void mtcp_stack_stop(struct stack *st);
/* Wait (at most timeout_us) until every closed TCP connection has had its
 * data and FIN acknowledged (or died): what the kernel keeps doing after a
 * process exits. Returns how many were still closing. */
unsigned mtcp_stack_drain(struct stack *st, uint64_t timeout_us);
/*
 * Exit without waiting (preload/init.c). On the kernel a process's exit
 * closes its sockets and the kernel goes on delivering; here an exiting
 * process that leaves work forks a keeper that goes on as the same member
 * of the host, and exits at once:
 *
 *   mtcp_stack_leftovers    anything to go on with? (else just stop)
 *   mtcp_stack_pause        the stack thread stops; the host is kept
 *   mtcp_stack_fork_prepare the locks taken, around fork()
 *   parent: mtcp_stack_fork_parent, then exit: the stack is the keeper's
 *   child:  mtcp_stack_fork_child, mtcp_stack_fds (what to keep open),
 *           mtcp_stack_keep, mtcp_stack_stop, _exit
 *   fork failed: unlock (mtcp_stack_fork_child), mtcp_stack_resume, drain
 *
 * A stack alone (!mtcp_stack_shared) drains instead, as before.
 */
/* TCP connections the kernel would go on with once the process is gone:
 * data or a FIN to deliver, FIN-WAIT-2, TIME-WAIT (and connections still
 * open, which an exit closes). */
unsigned mtcp_stack_leftovers(struct stack *st);
/* The stack is a member of its address's host (stack/host): a keeper
 * can go on as that member beside the next process on the address. A
 * stack alone (MTCP_SHARE=off, a single-queue TAP, no CAP_BPF) cannot:
 * its keeper would hold the device and answer every frame. */
bool mtcp_stack_shared(struct stack *st);
/* Stop the stack thread and wait for it, without leaving the host and
 * without waking any socket. */
void mtcp_stack_pause(struct stack *st);
/* Run the stack thread again after mtcp_stack_pause. 0 or -errno. */
int mtcp_stack_resume(struct stack *st);
/* The fds the stack holds (device, wake-up, the host's registry, liveness
 * lock, mailbox and steering), at most max in out; how many. */
int mtcp_stack_fds(struct stack *st, int *out, int max);
/* Around fork(): prepare takes the stack's locks (the thread paused);
 * in the parent, fork_parent keeps them for good and forgets the stack
 * (closes its fds, touches nothing shared); in the child, fork_child
 * makes them free again (also the parent's undo when fork failed). */
void mtcp_stack_fork_prepare(struct stack *st);
void mtcp_stack_fork_parent(struct stack *st);
void mtcp_stack_fork_child(struct stack *st);
/* The keeper's loop, on the calling thread (the stack thread must not
 * run): every socket still open is closed, then frames and timers are
 * served until no leftover remains or cap_us passes. Returns how many
 * were left (abandoned) at the end. */
unsigned mtcp_stack_keep(struct stack *st, uint64_t cap_us);
/* The keeper's cap: the time a connection has to deliver its data and FIN
 * (60 s), then its FIN-WAIT-2 or TIME-WAIT (2MSL). */
uint64_t mtcp_stack_keep_cap(struct stack *st);
/* Free everything; every socket must have been closed. */
void mtcp_stack_destroy(struct stack *st);
/* In a fork()ed child, which inherited st as memory and fds while the
 * parent's threads may have held its locks: close its fds (device,
 * wake-up, registry) and leave its memory alone. The child runs a stack
 * of its own (and joins the host as a member of its own). */
void mtcp_stack_forget(struct stack *st);

/* Driving by hand: process received frames and due timers at the clock's
 * now; returns true while there is more to do right away. */
bool mtcp_stack_poll(struct stack *st);
/* When mtcp_stack_poll next has timer work (TIME_NEVER when none). */
uint64_t mtcp_stack_poll_at(struct stack *st);
/* Send the gratuitous ARP announcement (mtcp_stack_start does it). */
void mtcp_stack_announce(struct stack *st);

/* What the stack holds now: the tests' leak oracle. */
struct mtcp_usage {
	unsigned sockets;               /* live sockets */
	unsigned tcp_pcbs;              /* TCP control blocks allocated */
	unsigned arp_entries;           /* neighbour cache entries */
	unsigned reass_datagrams;       /* IPv4 datagrams being reassembled */
	size_t reass_bytes;             /* the memory charged for them */
};
void mtcp_stack_usage(struct stack *st, struct mtcp_usage *out);

/* A snapshot of the counters. */
void mtcp_stack_stats(struct stack *st, struct stack_stats *out);
/* "stat NAME VALUE" and "drop REASON VALUE" lines, then "stat end". */
void mtcp_stats_print(const struct stack_stats *s, FILE *f);

/*
 * Sockets. type: SOCK_DGRAM (UDP) or SOCK_STREAM (TCP); anything else is
 * -EPROTONOSUPPORT. Semantics and errno follow Linux (the README's
 * "Semantics contract") for a socket with O_NONBLOCK: no call ever
 * sleeps. One that cannot finish now returns -EAGAIN (a TCP connect
 * -EINPROGRESS, its result then in SO_ERROR or a second connect), a send
 * with room for part of it the bytes that went; the caller waits for
 * mtcp_poll to show the events (the notify hook says when to look) and
 * calls again. Sending on a TCP connection that cannot send any more is
 * -EPIPE (the caller raises SIGPIPE, not the stack).
 *
 * Who owns what. Blocking is the caller's: O_NONBLOCK, MSG_DONTWAIT's
 * meaning, MSG_WAITALL and a send of all bytes (the loops around the
 * calls), signals (EINTR, SA_RESTART) and the wait itself, with its clock
 * (the preload per open file description, in psock; the tests' helper in
 * tests/unit/blocking.c). SO_RCVTIMEO / SO_SNDTIMEO are socket options:
 * the stack stores them, answers getsockopt, copies them to accepted
 * connections (as sk_clone), and the caller that blocks reads them with
 * mtcp_sock_timeo when it is about to wait. SO_LINGER likewise: the stack
 * stores it and sends FIN or RST by it on close; the wait of a lingering
 * close is the caller's (mtcp_close).
 */
int mtcp_socket(struct stack *st, int type, struct mtcp_sock **out);

/*
 * A socket several processes hold (handoff.c): fork, exec and exit. Its
 * connection lives in one stack at a time; in every other process that
 * holds it the socket is a shell, on which each call above answers
 * -MTCP_EREMOTE (mtcp_poll: MTCP_POLL_REMOTE): the caller asks for the
 * connection with mtcp_claim and waits for the socket's notify hook, then
 * calls again. Each needs the host (stack/host): -EOPNOTSUPP without.
 */
#define MTCP_EREMOTE            0x4000          /* not an errno: never returned to a user */
#define MTCP_POLL_REMOTE        0x08000000u
/* Give s (a connection of ours) a handle in the registry, or return the
 * one it has. fork: a process to come will hold it too, a child about to
 * be forked or the receiver of a descriptor sent by SCM_RIGHTS (pending
 * until it joins with mtcp_shell; mtcp_share_abort if the fork or the
 * send fails). */
int mtcp_share(struct mtcp_sock *s, bool fork, uint64_t *id);
void mtcp_share_abort(struct stack *st, uint64_t id);
/* A shell in st for handle id, whose connection another stack serves.
 * joined: a fork()ed child's, or a descriptor received by SCM_RIGHTS
 * (the sender counted it pending); else the process takes a hold of its
 * own (an exec'd image). -ECONNRESET when the stack that served it died.
 * A connection st keeps for others (its descriptors here all closed)
 * comes back as it is, not as a shell. */
int mtcp_shell(struct stack *st, int type, uint64_t id, bool joined, struct mtcp_sock **out);
/* SCM_RIGHTS: the eventfd id behind handle id's descriptors (a sender
 * records it), and the handle a received eventfd names (*id 0: none, or
 * no host). host_handle_set_efd, host_handle_by_efd. */
int mtcp_handle_set_efd(struct stack *st, uint64_t id, uint64_t efd_id);
int mtcp_handle_by_efd(struct stack *st, uint64_t efd_id, uint64_t *id);
/* Ask for s's connection: 0 (ours now), -EINPROGRESS (asked: wait for
 * the notify hook and call again; it asks again after 50 ms), or
 * -ECONNRESET (its stack died with it). */
int mtcp_claim(struct mtcp_sock *s);
bool mtcp_remote(struct mtcp_sock *s);
uint64_t mtcp_handle(struct mtcp_sock *s);
/* The process's last descriptor for s closes: mtcp_close for a socket
 * this process alone holds; for a shared one, this process lets go, and
 * the connection closes when the last holder does. */
void mtcp_release(struct mtcp_sock *s);
/* At exit: what this stack keeps for other processes goes to one of
 * them that is alive. How many found none (yet: a fork()ed child that
 * has not joined; a keeper takes those). */
unsigned mtcp_handoff_push(struct stack *st);
/* At exit: what the stack still has to finish (orphaned connections,
 * those kept for others) goes to the address's keeper, when one lives
 * (host_keeper) and it is not this process. How many could not go;
 * ~0u when there is no keeper to take them. */
unsigned mtcp_handoff_to_keeper(struct stack *st);
/* exec: the process's hold on s passes to the image it execs, which takes
 * it with mtcp_shell within grace_us. */
int mtcp_exec_hold(struct mtcp_sock *s, uint64_t grace_us);
int mtcp_bind(struct mtcp_sock *s, const struct sockaddr_in *a);
/* bind for a socket a fork()ed child re-creates in its own stack for one
 * it inherited: the very same socket on the kernel, so it never conflicts
 * with the parent's copy, and shares its port as one accept group. */
int mtcp_bind_inherited(struct mtcp_sock *s, const struct sockaddr_in *a);
int mtcp_connect(struct mtcp_sock *s, const struct sockaddr *a, socklen_t len);
/* TCP: accept connections on s, at most backlog (clamped to 1..4096, as
 * Linux's somaxconn) waiting in the accept queue. 0 or -errno. */
int mtcp_listen(struct mtcp_sock *s, int backlog);
/* TCP: the next established connection of listening socket s: 0 with *out
 * (a new socket whose reference the caller owns, with no notify hook yet:
 * poll it once after setting one) and *peer (when non-NULL), or -EAGAIN
 * (empty queue), -EINVAL (not listening). */
int mtcp_accept(struct mtcp_sock *s, struct sockaddr_in *peer, struct mtcp_sock **out);
ssize_t mtcp_sendmsg(struct mtcp_sock *s, const struct msghdr *msg, int flags);
ssize_t mtcp_recvmsg(struct mtcp_sock *s, struct msghdr *msg, int flags);
ssize_t mtcp_sendto(struct mtcp_sock *s, const void *buf, size_t len, int flags,
		    const struct sockaddr_in *to);
ssize_t mtcp_recvfrom(struct mtcp_sock *s, void *buf, size_t len, int flags,
		      struct sockaddr_in *from);
int mtcp_getsockname(struct mtcp_sock *s, struct sockaddr_in *a);
int mtcp_getpeername(struct mtcp_sock *s, struct sockaddr_in *a);
int mtcp_setsockopt(struct mtcp_sock *s, int level, int name, const void *val, socklen_t len);
int mtcp_getsockopt(struct mtcp_sock *s, int level, int name, void *val, socklen_t *len);
int mtcp_shutdown(struct mtcp_sock *s, int how);
/* SO_RCVTIMEO or SO_SNDTIMEO (optname) in microseconds, 0: none; for the
 * caller about to block. */
uint64_t mtcp_sock_timeo(struct mtcp_sock *s, int optname);
/* True once s's stack is stopping (mtcp_stack_stop): no readiness will
 * change any more. */
bool mtcp_sock_stopped(struct mtcp_sock *s);
/* Readiness now: EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP | EPOLLPRI
 * (with the matching EPOLLRDNORM / EPOLLWRNORM), as Linux reports it.
 * A closed socket (mtcp_close, a reference still held) shows EPOLLHUP once
 * its closing is done, 0 until then. */
unsigned mtcp_poll(struct mtcp_sock *s);
/* Called (stack lock held; must not block or call back into the stack)
 * whenever the socket's readiness may have changed, with the events the
 * change is about (EPOLLIN: data or a connection arrived; EPOLLOUT: room
 * to write; EPOLLPRI: urgent data; all bits: a state change), as Linux
 * keys its socket wakeups. */
void mtcp_set_notify(struct mtcp_sock *s, void (*fn)(struct mtcp_sock *, unsigned, void *), void *ctx);
/* Bytes waiting: FIONREAD/SIOCINQ (readable) and SIOCOUTQ (sent, not yet
 * acknowledged, or queued). 0 or -errno (-EINVAL on a listening socket). */
int mtcp_ioctl_inq(struct mtcp_sock *s, int *out);
int mtcp_ioctl_outq(struct mtcp_sock *s, int *out);
/* SIOCATMARK: 1 when the next byte read is at the urgent mark. */
int mtcp_ioctl_atmark(struct mtcp_sock *s, int *out);
/* Release the socket: the caller's reference is gone after this, and so
 * is its notify hook. A TCP connection goes on (sending what is queued,
 * then FIN; or RST when unread data is discarded or SO_LINGER 0 says so)
 * until it is done. It never waits, whatever SO_LINGER says: a caller
 * that wants close(2)'s lingering wait (Linux waits, even with
 * O_NONBLOCK, until the FIN is acknowledged or the linger time passed)
 * holds a reference across mtcp_close (mtcp_sock_hold), hangs a hook
 * again if it wants to be woken, and waits until mtcp_poll shows
 * EPOLLHUP. */
void mtcp_close(struct mtcp_sock *s);
/* References for callers that share a socket between threads. */
void mtcp_sock_hold(struct mtcp_sock *s);
void mtcp_sock_put(struct mtcp_sock *s);

#endif
