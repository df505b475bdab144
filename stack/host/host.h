/*
 * host.h - the processes on one address, as one host.
 *
 * On the kernel every program on a host, and every process of a forking
 * server, shares one address and one port space. microtcp runs a stack in
 * each process; this module makes those stacks one host:
 *
 *   - a registry per (network namespace, interface, address): a small
 *     file under MTCP_RUNDIR (default /run/microtcp) holding the members
 *     (one per process running a stack there), the MAC they all use, the
 *     default member and the ids of the steering maps (steer.h). No
 *     pointers: programs map it at different addresses. A robust,
 *     process-shared mutex serialises every change; a member that dies
 *     holding it leaves the next locker to repair (EOWNERDEAD).
 *   - liveness: each member holds an open-file-description lock on a byte
 *     of the file for its slot; the kernel drops it when the process dies,
 *     even by SIGKILL, or execs. A sweep (host_tick, and any bind that
 *     meets a conflict) frees the dead members' ports and flows.
 *   - one port space: bind, listen and ephemeral choice across processes
 *     follow Linux's rules (inet_csk_bind_conflict): a port held by another
 *     member conflicts unless both sides set SO_REUSEPORT with the same
 *     effective uid, or both set SO_REUSEADDR and the other is not
 *     listening. Within one process the stack keeps its own rules; here a
 *     member's sockets on a port count as one holder.
 *   - accept groups: a port several members hold (SO_REUSEPORT, or a
 *     listener inherited across fork) sends each new connection to one of
 *     the members that have used it (host_activate: accepted, polled,
 *     read), never to one that only holds it (nginx's master).
 *
 * Addresses and ports are in host order here (the stack's), network order
 * in steer.h (the frame's).
 *
 * Calls take the registry lock (a few microseconds: a map update is a
 * system call). Every call accepts h == NULL (a stack alone: unit tests,
 * memlink) and then does nothing and succeeds.
 */
#ifndef MTCP_HOST_H
#define MTCP_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct host;

struct host_params {
	const char *rundir;     /* NULL: "/run/microtcp" */
	const char *iface;      /* for messages */
	int ifindex;
	uint32_t addr;          /* host order */
	uint8_t mac[6];         /* the MAC this process would take; the
				   registry's first member's wins */
};

/* Join the registry (creating it, or re-creating it when every member is
 * dead). *mac_out: the MAC every member uses. 0, or -errno with a message
 * naming the cause in err. */
int host_join(const struct host_params *p, struct host **out, uint8_t mac_out[6],
	      char *err, size_t errlen);
/* Leave: every port and flow of this member is released, another member
 * becomes the default if this one was. */
void host_leave(struct host *h);
/* In a fork()ed child: the parent's membership was inherited as memory and
 * fds. Close the fds, free the memory, touch nothing shared. */
void host_forget(struct host *h);
/* The fds this membership holds (the registry's two descriptions, one of
 * which holds the liveness lock; the mailbox; the steering maps and
 * filter), at most max in out; how many. A process that forks a keeper
 * to go on as this member (preload/init.c, at exit) keeps them open in
 * it: the keeper inherits the lock, and with it the membership. */
int host_fds(const struct host *h, int *out, int max);

/* Attach the steering filter to this member's receiving AF_PACKET socket.
 * outgoing: see steer_attach. */
int host_attach(struct host *h, int sockfd, bool outgoing);

uint16_t host_member(const struct host *h);
/* This member answers what nobody owns (RST, port unreachable, echo, ARP). */
bool host_is_default(struct host *h);
/* Someone receives this flow, or is about to (a flows entry of a live
 * member, this one included: a connection moving here), or another
 * member holds its port: the default member must not answer it. */
bool host_owned_elsewhere(struct host *h, uint8_t proto, uint16_t lport,
			  uint32_t raddr, uint16_t rport);

/* Liveness: at most every HOST_SWEEP_US, look for dead members and free
 * what they held. Call it from the stack thread, any lock held or not. */
#define HOST_SWEEP_US   (250 * 1000)
void host_tick(struct host *h, uint64_t now_us);

/* Ports (host order). flags: */
#define HOST_REUSEADDR  0x1
#define HOST_REUSEPORT  0x2
#define HOST_INHERITED  0x4     /* fork: the same socket in a new process */

/* One more socket of this member on port. 0, or -EADDRINUSE. */
int host_bind(struct host *h, uint8_t proto, uint16_t port, unsigned flags);
/* Undo one host_bind (the same flags). */
void host_unbind(struct host *h, uint8_t proto, uint16_t port, unsigned flags);
/* One of this member's sockets on port listens (on: true) or stops. */
int host_listen(struct host *h, uint8_t proto, uint16_t port, bool on);
/* This member takes new flows of port from now on. */
int host_activate(struct host *h, uint8_t proto, uint16_t port);

/* A connection of this member whose local port other members may hold. */
int host_flow_add(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		  uint16_t rport);
void host_flow_del(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport);

/* Hand this flow's steering to member (a connection moving there:
 * tcp_migrate.c), before its state goes. host_flow_del then leaves the
 * entry alone: it deletes only the caller's own. */
int host_flow_give(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport, uint16_t member);
/* A live member other than this one that has used port (host_activate),
 * picked for this remote end by the filter's hash; 0 when there is none. */
uint16_t host_pick_other(struct host *h, uint8_t proto, uint16_t port, uint32_t raddr,
			 uint16_t rport);
/* When no other member uses port yet: a live member other than this one
 * that holds it with a listening socket all the same (nginx's master
 * between a reload's old workers closing their copies and the new ones
 * polling theirs), the lowest; 0 when there is none. On the kernel that
 * process's descriptor keeps the one listening socket, and its queue,
 * alive: here its copy keeps what waits until a member uses the port
 * (tcp_migrate.c). */
uint16_t host_pick_keeper(struct host *h, uint8_t proto, uint16_t port);

/* Mailboxes: one datagram socket per member (abstract AF_UNIX, named by
 * the registry, the member and its slot's generation). The stack thread
 * polls host_mailbox_fd (-1 for h NULL) and reads with host_mail_recv
 * (a length, -EAGAIN); host_mail_send: 0, -ESRCH (no such live member),
 * -EAGAIN (its mailbox is full), -errno. */
int host_mailbox_fd(const struct host *h);
ssize_t host_mail_recv(struct host *h, void *buf, size_t cap);
int host_mail_send(struct host *h, uint16_t member, const void *msg, size_t len);

/* The same, carrying a file descriptor (SCM_RIGHTS; fd -1: none). The
 * receiver gets its own descriptor of the same open file: state too big
 * for a datagram travels in a memfd. */
int host_mail_send_fd(struct host *h, uint16_t member, const void *msg, size_t len,
		      int fd);
/* *fd: the descriptor the datagram carried (MSG_CMSG_CLOEXEC), the
 * caller's to close; -1 if none. fd NULL: any descriptor is closed. A
 * datagram with more than one descriptor, or whose control message was
 * truncated, is dropped whole (its descriptors closed, a log line) and the
 * next one read; one whose data was truncated (a length > cap) comes with
 * no descriptor (closed). */
ssize_t host_mail_recv_fd(struct host *h, void *buf, size_t cap, int *fd);

/*
 * Handles: the sockets several processes hold a descriptor to (fork,
 * SCM_RIGHTS, exec), one table in the registry. An entry: a 64-bit id
 * (never 0, never reused within a registry file), the owning member (the
 * stack that has its state; 0: none, or it died and the state is lost:
 * callers get ECONNRESET), the members holding a descriptor to it, a
 * pending count (fork children that have not joined yet, forgotten
 * HOST_PENDING_US after it was last raised) and an exec grace (a deadline
 * until which the entry lives for a new program image that has not held
 * it yet).
 *
 * "Holders" below counts the live members holding it, plus the pending
 * count (if not expired), plus one for a running grace. Every call takes
 * the registry lock; ids and members are host values. Errors: -ENOENT (no
 * such id), -ESRCH (no such live member), -ENOSPC (the table is full).
 * h == NULL: every call succeeds and reports nothing (id 0, counts 0,
 * member 0).
 */
#define HOST_HANDLES_MAX   4096
#define HOST_PENDING_US    (10ULL * 1000 * 1000)

/* A new entry: owner and only holder this member. */
int host_handle_new(struct host *h, uint64_t *id);
/* A parent about to fork: one more pending holder (the child). */
int host_handle_pend(struct host *h, uint64_t id);
/* Undo a pend: the fork failed, or the child gave up before joining. */
void host_handle_unpend(struct host *h, uint64_t id);
/* A fork child, joined as a member: it holds the entry; pending - 1. */
int host_handle_join(struct host *h, uint64_t id);
/* This member holds the entry (a descriptor that came by SCM_RIGHTS, or
 * by exec into this image: the grace ends). grace_us > 0: a process about
 * to exec keeps the entry alive grace_us for its new image instead (its
 * own hold is not added; its membership ends at exec anyway). */
int host_handle_hold(struct host *h, uint64_t id, uint64_t grace_us);
/* This member lets go (its last descriptor closed). The holders left
 * (other live members, pending, a running grace); at 0 the entry is
 * freed: the caller closes the socket for real. */
int host_handle_drop(struct host *h, uint64_t id);
/* The holders, this member included. */
int host_handle_holders(struct host *h, uint64_t id);
/* The live owner; 0: none, lost, or no such id. */
uint16_t host_handle_owner(struct host *h, uint64_t id);
/* The state moved to member (0: lost). */
int host_handle_set_owner(struct host *h, uint64_t id, uint16_t member);
/* A live holder other than this member (the lowest), to push the state
 * to at exit; 0 if none. */
uint16_t host_handle_pick_holder(struct host *h, uint64_t id);
/* The id of the eventfd (its /proc/PID/fdinfo "eventfd-id") behind the
 * socket's descriptors, for a process that receives one by SCM_RIGHTS
 * to find the entry (preload/README.md, "SCM_RIGHTS"). The kernel reuses
 * an eventfd's id once it is gone: setting one takes it from any other
 * entry (whose descriptor, then, no longer lives). efd_id 0: none. */
int host_handle_set_efd(struct host *h, uint64_t id, uint64_t efd_id);
/* *id: the entry whose eventfd id is efd_id; -ENOENT (*id 0) if none. */
int host_handle_by_efd(struct host *h, uint64_t efd_id, uint64_t *id);
/* Entries this member owns whose holders are all gone (dead, none
 * pending, grace over; this member not holding either): their ids in
 * out (up to n), each entry freed. The owner closes them for real.
 * Returns how many. */
size_t host_handle_orphans(struct host *h, uint64_t *out, size_t n);

/* The keeper: one member per address that finishes what exiting members
 * left (issue 13's exit keeper). Claim: 0 (this member is, or already
 * was, the keeper), -EEXIST (another live member is). Leaving or dying
 * releases it. host_keeper: the live keeper, 0 if none. */
int host_keeper_claim(struct host *h);
uint16_t host_keeper(struct host *h);
void host_keeper_release(struct host *h);

/* A dead member's TCP connections. The sweep that finds a member dead
 * (exactly one: it runs under the registry lock) steers the dead
 * member's TCP flows entries to its own member and keeps their 4-tuples
 * for its stack, which makes each peer reset its end (tcp_dead.c). Its
 * other flows (UDP) are deleted. A process still joining (no member
 * yet) deletes them all, as before. Host order. */
struct host_flow {
	uint32_t raddr;
	uint16_t lport, rport;
};
#define HOST_TAKEN_MAX  65536   /* flows kept for the stack at most; more
				   are deleted (their peers learn on their
				   own, at their next send) */
/* The flows the sweeps took since the last call, at most cap of them into
 * out: how many (0: none; no lock taken then). The stack thread calls it
 * after host_tick. */
size_t host_taken(struct host *h, struct host_flow *out, size_t cap);

/* Counters (mtcp_stats_print). */
struct host_stats {
	uint16_t member, default_member, members, keeper;
	uint32_t handles;       /* entries in use */
	uint64_t sweeps, dead_reaped, conflicts, lock_repairs;
};
void host_get_stats(struct host *h, struct host_stats *out);

/* The steering maps this member uses (tests, diagnostics: steer.h's
 * getters read what the filter reads). NULL for h == NULL. */
struct steer;
struct steer *host_steer(struct host *h);

/* Tests only: this process's clock for the registry's deadlines (pending,
 * grace) runs us ahead of CLOCK_MONOTONIC. */
void host_test_skew_clock(struct host *h, int64_t us);

/* Tests only: take the registry lock and never let it go, as a member
 * that dies in the middle of a change would. 0 or -errno. */
int host_test_hold_lock(struct host *h);

#endif
