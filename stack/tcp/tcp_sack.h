/*
 * tcp_sack.h - selective acknowledgment (RFC 2018), both ways: the
 * sender's scoreboard of what the peer holds above snd_una (the blocks it
 * reported, kept sorted and merged in tcpcb sackblk[]; the holes between
 * them; the pipe in recovery), and the blocks we report of our own
 * out-of-order queue. Called with the stack lock held, like everything on
 * a control block.
 */
#ifndef MTCP_TCP_SACK_H
#define MTCP_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp_var.h"

/* The sender's scoreboard */
void tcp_sack_update(struct tcpcb *tp, const struct tcp_opts *o);
void tcp_sack_clean(struct tcpcb *tp);
uint32_t tcp_sack_bytes(const struct tcpcb *tp);        /* SACKed above snd_una */
bool tcp_sack_is_sacked(const struct tcpcb *tp, tcp_seq seq, uint32_t *run);
/* The next hole to retransmit in recovery at or after sack_rexmit, with
 * its length; false when none. */
bool tcp_sack_next_hole(struct tcpcb *tp, tcp_seq *seq, uint32_t *len);
/* Bytes the network holds in recovery with SACK (FACK's estimate). */
uint32_t tcp_sack_pipe(const struct tcpcb *tp);

/* The receiver's blocks (RFC 2018 4) for an ACK we send, from the
 * reassembly queue. */
void tcp_sack_fill(struct tcpcb *tp, struct tcp_opts *o);

#endif
