/*
 * steer.h - steering in the kernel: which process's stack gets a frame.
 *
 * Every process on one address runs a stack of its own, and each stack
 * receives through an AF_PACKET socket of its own. An eBPF socket filter
 * on each of those sockets (steer.bpf.c) reads maps that all the
 * processes share and keeps a frame only if this stack owns its flow, so
 * no frame is ever copied to a stack that does not own it, and no stack
 * ever answers a flow another one owns. The maps:
 *
 *   flows  (proto, local port, remote address, remote port) -> member
 *          connections whose local port several members hold (passive
 *          opens on a listener; connects from a shared port)
 *   ports  (proto, local port) -> the members holding it (struct steer_port)
 *   conf   [0] -> the default member: the one that answers frames nobody
 *          owns (RST, port unreachable, echo, ARP requests)
 *
 * The filter's rules, in order (steer.bpf.c has them in code):
 *   ARP, IPv4 fragments, ICMP other than echo request -> every member
 *   (each one learns or discards: ARP replies reach every stack that
 *   asked); not IPv4 or not to our address -> the default member only
 *   (broadcasts and multicasts count as ours: 255.255.255.255, 224/4, and
 *   any IPv4 packet in a link-layer broadcast or multicast, which is how
 *   the subnet's broadcast, unknown to the filter, arrives); ICMP echo
 *   requests, and protocols other than TCP and UDP -> the default member;
 *   TCP/UDP: a flows entry -> its member; else a ports entry -> one of its
 *   active members, by a hash of the remote address and port (a
 *   listener's new connections, SO_REUSEPORT groups), or its only holder
 *   when it has one, or nobody when several hold it and none is active
 *   yet (a SYN dropped here is sent again by the peer); else the default.
 *
 * Members are numbered from 1 (0: nobody). Maps are created by the first
 * member of a registry (registry.c) and found by the others by id. Ids
 * and the layout below are shared between processes that may run
 * different builds of the library: STEER_ABI changes with the layout.
 *
 * No locking here: the registry serialises every change to ports and
 * conf under its lock; flows entries are each written by their member.
 */
#ifndef MTCP_STEER_H
#define MTCP_STEER_H

#include <stdbool.h>
#include <stdint.h>

#define STEER_ABI       1
#define STEER_HOLDERS   32      /* members holding one port at most */
#define STEER_FLOWS_MAX 262144  /* flows entries at most (not preallocated) */
#define STEER_PORTS_MAX 65536   /* ports entries at most (not preallocated
				   either: 65536 values of 580 bytes) */

/* steer_holder.flags */
#define STEER_H_ACTIVE  0x1     /* takes new flows (accepted, polled, read) */

struct steer_holder {
	uint16_t member;
	uint8_t flags;          /* STEER_H_* */
	uint8_t pad;
	uint16_t refs;          /* sockets of this member bound to the port */
	uint16_t listening;     /* ... of which listening */
	uint16_t no_reuseaddr;  /* ... without SO_REUSEADDR */
	uint16_t no_reuseport;  /* ... without SO_REUSEPORT */
	uint32_t uid;           /* the effective uid that bound (SO_REUSEPORT) */
};

struct steer_port {
	uint8_t nholders;
	uint8_t nactive;
	uint16_t pad;
	uint16_t active[STEER_HOLDERS];         /* members, the first nactive */
	struct steer_holder h[STEER_HOLDERS];   /* the first nholders */
};

struct steer_flow {
	uint32_t raddr;         /* network order */
	uint16_t rport;         /* network order */
	uint16_t lport;         /* network order */
	uint8_t proto;          /* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t pad[3];
};

struct steer_conf {
	uint16_t default_member;
	uint16_t pad;
	uint32_t addr;          /* network order: the address steered */
};

/* What another process needs to find the maps. */
struct steer_ids {
	uint32_t ports, flows, conf;
};

struct steer;

/* The first member: new maps. 0 or -errno (-EPERM without CAP_BPF). */
int steer_create(uint32_t addr, struct steer_ids *ids, struct steer **out);
/* A later member: the maps another made. -ENOENT when they are gone (every
 * member died: the registry then creates new ones). */
int steer_open(const struct steer_ids *ids, struct steer **out);
/* Close this process's handles (and its filter program). */
void steer_close(struct steer *s);
/* The fds those handles are (the maps, the filter libbpf loaded and what
 * it keeps with it), at most max in out; how many. */
int steer_fds(struct steer *s, int *out, int max);

/* Load the filter for member and attach it to sockfd (an AF_PACKET socket).
 * outgoing: the stack's frames are those the kernel sends on the
 * interface (a TAP read through a packet socket), not those it receives. */
int steer_attach(struct steer *s, int sockfd, uint16_t member, bool outgoing);

/* ports. port in network order, as in struct steer_flow (the map's key is
 * steer_hash.h's steer_port_key: proto << 16 | the port in host order).
 * get: 0, -ENOENT. put: v->nholders == 0 deletes the entry. */
int steer_port_get(struct steer *s, uint8_t proto, uint16_t port, struct steer_port *v);
int steer_port_put(struct steer *s, uint8_t proto, uint16_t port, const struct steer_port *v);
/* Walk every port entry (for a sweep); fn returns true to stop. v is a
 * copy: fn may steer_port_put the port it is given (even delete it). */
int steer_port_each(struct steer *s,
		    bool (*fn)(uint8_t proto, uint16_t port, struct steer_port *v, void *arg),
		    void *arg);

int steer_flow_add(struct steer *s, const struct steer_flow *k, uint16_t member);
int steer_flow_del(struct steer *s, const struct steer_flow *k);
/* 0 with *member set, or -ENOENT. */
int steer_flow_get(struct steer *s, const struct steer_flow *k, uint16_t *member);
/* Delete every flow whose member dead() says is gone. Returns how many. */
int steer_flow_sweep(struct steer *s, bool (*dead)(uint16_t member, void *arg), void *arg);
/* The same, but every flow take() accepts goes to member `to` instead
 * (a dead member's connections that `to` resets: host.c's sweep); the
 * rest are deleted. take() sees the key as the map has it (network
 * order). Returns how many went to `to`, or -errno. */
int steer_flow_takeover(struct steer *s, uint16_t to, bool (*dead)(uint16_t member, void *arg),
			bool (*take)(const struct steer_flow *k, void *arg), void *arg);

int steer_set_default(struct steer *s, uint16_t member);

/* The member the filter would pick among a port's active holders for this
 * remote end (raddr, rport network order): user space and steer.bpf.c use
 * the same hash (steer_hash.h). 0 when none is active. */
uint16_t steer_pick(const struct steer_port *v, uint32_t raddr, uint16_t rport);

#endif
