/*
 * move.h - a socket's whole state as bytes, to rebuild it in another stack
 * (tcp/tcp_move.c).
 *
 * The processes on one address each run a stack (stack/host); a connection
 * has one owning stack at a time, and may change owner: the old one
 * serializes the socket (sock_export), gives its flow's steering to the
 * new one and forgets it without a word to the peer (sock_moved_away);
 * the new one rebuilds it from the record (sock_import) and goes on as if
 * it had always held it. The record carries no pointer and no absolute
 * time: deadlines are "microseconds left", stamps "microseconds ago", so
 * the two stacks need not share a clock (both read CLOCK_MONOTONIC in
 * production; unit tests give each its own).
 *
 * Everything here is called with the stack lock of st (or s->st) held.
 */
#ifndef MTCP_MOVE_H
#define MTCP_MOVE_H

#include <stddef.h>
#include <stdint.h>

#include "socket.h"
#include "stack.h"

/* A growable buffer of records (malloc'd; p NULL until the first append). */
struct move_buf {
	uint8_t *p;
	size_t len, cap;
};

void move_buf_free(struct move_buf *b);
/* The socket's fields a move carries (the record's), from one socket
 * object to another: handoff.c fills a shell from a socket just
 * imported. Lock held. */
void sock_state_copy(struct mtcp_sock *to, const struct mtcp_sock *from);

/* Append s's whole state to b as one record; s is unchanged (a copy).
 * TCP: every state but LISTEN (CLOSED too: a socket not connected yet, or
 * whose connection ended, with its options and bound port), orphans (the
 * user closed: TF_ORPHAN) included; not a connection still in its
 * listener's queue (not accepted: the listener's, tcp_migrate.c moves
 * those). UDP: addresses, options, the queued datagrams with their
 * sources. 0, -EOPNOTSUPP (a listener, an unaccepted child), -ENOMEM (b is
 * then as it was). */
int sock_export(struct mtcp_sock *s, struct move_buf *b);

/* Rebuild the record at p (len bytes available; *used: the bytes it took)
 * as a socket of st: linked into the lookup tables, its port held in st's
 * share of the host's port space with HOST_INHERITED semantics (the
 * exporter may hold it a moment longer), its flows entry its own
 * (s->host_flow: the exporter gave the steering to this member first),
 * its timers armed for the time they had left. notify is NULL: the
 * caller hooks it. *out holds one reference, the caller's: for a socket
 * the user holds, the owner's (mtcp_close drops it); for an orphan
 * (s->closed), the caller drops it with sock_put_locked and TCP keeps the
 * connection going. 0, -EPROTO (a bad, truncated or corrupted record, or
 * one of another version), -EADDRINUSE (the 4-tuple is here already),
 * -ENOMEM; on error nothing is left behind. */
int sock_import(struct stack *st, const uint8_t *p, size_t len, size_t *used,
		struct mtcp_sock **out);

/* s was exported and its state lives elsewhere now: give its flow's
 * steering to member to_member (host_flow_give; a flows entry is added
 * first when it had none, e.g. an active open steered by its port only),
 * release its port share here, and end its connection without a word to
 * the peer (no RST, no FIN), dropping every reference TCP holds; s is
 * closed (s->closed) and holds no queue. The caller's own reference stays
 * valid until it calls sock_put_locked. UDP steering goes by port only
 * (host_activate): nothing to give. */
void sock_moved_away(struct mtcp_sock *s, uint16_t to_member);

#endif
