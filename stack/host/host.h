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

/* Counters (mtcp_stats_print). */
struct host_stats {
	uint16_t member, default_member, members;
	uint64_t sweeps, dead_reaped, conflicts, lock_repairs;
};
void host_get_stats(struct host *h, struct host_stats *out);

/* The steering maps this member uses (tests, diagnostics: steer.h's
 * getters read what the filter reads). NULL for h == NULL. */
struct steer;
struct steer *host_steer(struct host *h);

/* Tests only: take the registry lock and never let it go, as a member
 * that dies in the middle of a change would. 0 or -errno. */
int host_test_hold_lock(struct host *h);

#endif
