/*
 * stack_harness.h - one stack on a virtual clock, joined by an in-memory
 * link to the test, which plays the peer host (PEER_IP, PEER_MAC) and sees
 * every frame the stack sends. Used by the test_stack_* suites.
 *
 *   struct harness h; h_setup(&h);
 *   h_send_udp(&h, 5000, 7, "hi", 2);      // the peer sends
 *   struct frame f; ck_assert(h_next(&h, &f)); // the stack answered
 *   h_teardown(&h);                          // asserts nothing leaked
 *
 * For TCP the test plays a TCP peer, segment by segment (h_send_tcp,
 * h_expect_tcp), or through a struct h_conn that keeps the peer's side of
 * one connection (sequence numbers, window, timestamps):
 *
 *   struct mtcp_sock *l = h_tcp_listen(&h, 80, 8);
 *   struct h_conn c;
 *   h_conn_connect(&h, &c, 40000, 80, 1000, NULL);  // SYN, SYN-ACK, ACK
 *   struct mtcp_sock *s = h_tcp_accept(&h, l);
 *   h_conn_send(&h, &c, TH_ACK | TH_PSH, "hi", 2);  // data to the stack
 *   h_conn_expect(&h, &c, TH_ACK, 0);               // acknowledged
 *
 * The stack is driven by hand on the virtual clock, with no thread: every
 * socket a test uses must be non-blocking (the helpers here make theirs
 * so), or a call that would block blocks forever.
 */
#ifndef MTCP_STACK_HARNESS_H
#define MTCP_STACK_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtcp.h"
#include "stack.h"
#include "usage.h"
#include "wire/arp.h"
#include "wire/ether.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

#include <netinet/tcp.h>

#define STACK_IP        0x0a3d0002u     /* 10.61.0.2 */
#define PEER_IP         0x0a3d0001u     /* 10.61.0.1 */
#define OTHER_IP        0x0a3d0003u     /* 10.61.0.3: on the link, silent */
#define GATEWAY_IP      0x0a3d00feu     /* 10.61.0.254 */
#define FAR_IP          0x0a3e0009u     /* 10.62.0.9: beyond the gateway */
#define SUBNET_BCAST    0x0a3d00ffu

extern const uint8_t STACK_MAC[6];
extern const uint8_t PEER_MAC[6];

struct harness {
	uint64_t now;                   /* the virtual clock, microseconds */
	struct stack *st;
	struct netdev *peer;            /* the test's end of the link */
	uint16_t ip_id;
	/* Set by the test: the stack is not polled (h_poll does nothing),
	 * so what the peer sends waits in the link, and the test may read
	 * and write the stack's end (st->dev) itself: a wire-level test of
	 * the harness, or a burst that must arrive in one poll. */
	bool paused;
	unsigned skipped;               /* non-TCP frames h_next_tcp skipped */
};

/* A frame the stack sent, parsed as far as it goes. buf and len come
 * first (h_frame_parse clears everything after them). */
struct frame {
	uint8_t buf[ETH_HLEN + ETH_MTU_MAX];
	size_t len;
	struct eth_repr eth;
	bool is_arp, is_ip, is_icmp, is_udp, is_tcp;
	struct arp_repr arp;
	struct ipv4_repr ip;
	const uint8_t *l4;              /* the IP payload */
	size_t l4_len;
	struct icmp_repr icmp;
	struct udp_repr udp;
	struct tcp_repr tcp;
	const uint8_t *data;            /* the UDP or TCP payload, or the ICMP body */
	size_t data_len;
};

/* Parse the len bytes already in f->buf into f (an unfragmented IPv4
 * packet's ICMP, UDP or TCP too, checksums verified). NULL when the frame
 * is well formed, else what is wrong (a static buffer). h_next asserts
 * on it; exposed for tests that read a link end themselves. */
const char *h_frame_parse(struct frame *f, size_t len);

/* gateway: 0 for none. mtu: 0 for 1500. */
void h_setup_with(struct harness *h, uint32_t gateway, unsigned mtu);
void h_setup(struct harness *h);
/* Close nothing: asserts every socket was closed, then destroys the stack
 * (ASan's leak check covers buffers and entries). */
void h_teardown(struct harness *h);
/* Assert every socket st still has was closed by its user (mtcp_close):
 * TCP connections linger after close (FIN exchange, TIME_WAIT) and are
 * freed by mtcp_stack_destroy. who names the stack in the message. */
void h_assert_socks_closed(struct stack *st, const char *who);

/* Let the stack process everything queued and every timer due now. */
void h_poll(struct harness *h);
/* Advance the virtual clock by us, running timers as they fall due. */
void h_advance(struct harness *h, uint64_t us);

/* The next frame the stack sent, parsed; false when there is none. */
bool h_next(struct harness *h, struct frame *f);
/* Collect one datagram the stack sent, whole or in fragments, into out and
 * return its payload length; *first gets the first fragment's header and
 * *nfrags (may be NULL) their number. Asserts RFC 791 3.2 on the way: one
 * id, in-order contiguous offsets in 8-byte units, MF and a multiple of 8
 * bytes on all but the last, no DF on a fragment, none over the MTU. */
size_t h_collect(struct harness *h, uint8_t *out, size_t cap, struct ipv4_repr *first,
		 unsigned *nfrags);
/* Discard every frame the stack sent so far; returns how many. */
unsigned h_drain(struct harness *h);

/* The peer sends a raw frame. */
void h_send_frame(struct harness *h, const void *frame, size_t len);
/* The peer sends an ARP packet from (PEER_MAC, PEER_IP) to the stack. */
void h_send_arp(struct harness *h, uint16_t op, uint32_t spa, uint32_t tpa);
/* Build, as the peer would, an IPv4 packet (proto, payload) into pkt; mf
 * and frag_off (bytes) for fragments; id 0 picks the next id. Returns its
 * length. */
size_t h_build_ip(struct harness *h, uint8_t *pkt, uint8_t proto, uint32_t src, uint32_t dst,
		  uint16_t id, bool mf, uint16_t frag_off, const void *payload, size_t len);
/* The same for an IPv4 packet carrying a UDP datagram (checksum computed). */
size_t h_build_udp(struct harness *h, uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, const void *data, size_t len);
/* The peer puts an IPv4 packet on the link: to our MAC, or to everyone. */
void h_send_packet(struct harness *h, const uint8_t *pkt, size_t len, bool link_bcast);
/* The peer sends an IPv4 packet built by h_build_ip(). */
void h_send_ip_ex(struct harness *h, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
		  bool mf, uint16_t frag_off, const void *payload, size_t len, bool link_bcast);
void h_send_ip(struct harness *h, uint8_t proto, const void *payload, size_t len);
/* The peer sends a UDP datagram to the stack (checksum computed). */
void h_send_udp(struct harness *h, uint16_t sport, uint16_t dport, const void *data, size_t len);
/* Teach the stack the peer's MAC (an ARP request it answers); drains. */
void h_learn_peer(struct harness *h);

uint64_t h_drop(struct harness *h, enum drop_reason r);
uint64_t h_stat_udp_rx(struct harness *h);

/* A UDP socket on the stack bound to port (0: ephemeral). */
struct mtcp_sock *h_udp_socket(struct harness *h, uint16_t port);
struct sockaddr_in h_sin(uint32_t addr, uint16_t port);

/*
 * TCP, the wire side. The test's segments come from PEER_IP to STACK_IP;
 * sport is the peer's port, dport the stack's.
 */

/* Build, as the peer would, an IPv4 packet from src to dst carrying the
 * segment r (options from r->opt, hlen ignored) with data after the
 * header; the checksum is computed. Returns the packet's length. */
size_t h_build_tcp(struct harness *h, uint8_t *pkt, uint32_t src, uint32_t dst,
		   const struct tcp_repr *r, const void *data, size_t len);
/* The peer sends segment r (ports, flags, everything from r). */
void h_send_tcp_repr(struct harness *h, const struct tcp_repr *r, const void *data, size_t len);
/* The peer sends a segment. opt: NULL for no options. */
void h_send_tcp(struct harness *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		uint8_t flags, uint16_t win, const struct tcp_opts *opt, const void *data,
		size_t len);

/* The next TCP segment the stack sent; false when there is none. Frames
 * that are not TCP are skipped and counted in h->skipped (an ARP request
 * for PEER_IP is answered first, so a stack whose neighbour entry went
 * stale or was collected keeps talking); use h_next to see every frame.
 * A TCP segment with a bad checksum fails the test. */
bool h_next_tcp(struct harness *h, struct frame *f);
/* Assert the next TCP segment exists and has exactly these flags (of
 * FIN|SYN|RST|ACK; PSH and the rest are ignored), this seq and, when
 * flags has ACK, this ack. f: where to put it (NULL: not needed). */
void h_expect_tcp(struct harness *h, struct frame *f, uint8_t flags, uint32_t seq,
		  uint32_t ack);
/* Assert the stack sent no TCP segment (non-TCP frames are skipped). */
void h_expect_none(struct harness *h);

/* tcpdump's spelling of flags, in its order: F S R P . (ACK) U E W;
 * "none" for 0. Returns buf (H_FLAGS_LEN bytes). */
#define H_FLAGS_LEN     12
const char *h_tcp_flags(uint8_t flags, char *buf);
/* One line about a TCP frame, for messages:
 * "80>40000 S. seq=1 ack=1001 win=65535 len=0 <mss 1460,sackOK,ts 5 0,ws 7>".
 * Returns buf. */
const char *h_tcp_describe(const struct frame *f, char *buf, size_t len);

/*
 * TCP, a connection the test plays the peer of. Sequence numbers are the
 * peer's view: snd_nxt is what the peer sends next, rcv_nxt what it
 * expects next from the stack. Timestamps, when both SYNs carried them,
 * go on every segment the peer sends (TSval: the virtual clock in ms,
 * TSecr: the stack's latest TSval).
 */
struct h_conn {
	uint16_t sport;                 /* the peer's port */
	uint16_t dport;                 /* the stack's port */
	uint32_t iss;                   /* the peer's initial sequence number */
	uint32_t irs;                   /* the stack's initial sequence number */
	uint32_t snd_nxt;               /* the peer's next sequence number */
	uint32_t rcv_nxt;               /* the next seq the peer expects from the stack */
	uint16_t win;                   /* the window the peer advertises, as on the wire */
	struct tcp_opts opts;           /* what the peer put on its SYN / SYN-ACK */
	struct tcp_opts stack_opts;     /* what the stack put on its SYN / SYN-ACK */
	uint8_t wscale;                 /* shift the stack applies to win (0: none) */
	uint8_t stack_wscale;           /* shift the peer applies to the stack's window */
	bool ts;                        /* timestamps in use (both SYNs had them) */
	uint32_t ts_recent;             /* the stack's latest TSval */
	uint32_t stack_wnd;             /* the stack's latest window, scaled, bytes */
	struct frame last;              /* the segment h_conn_expect* matched last */
};

/* Fill c for a connection from the peer's sport to the stack's dport with
 * the peer's ISS iss; opts: what the peer offers on its SYN (NULL: MSS
 * 1460 only). win starts at 65535. No I/O. */
void h_conn_init(struct h_conn *c, uint16_t sport, uint16_t dport, uint32_t iss,
		 const struct tcp_opts *opts);
/* After the peer's SYN: assert the next segment is a SYN-ACK acking
 * iss + 1 from dport to sport, and record the stack's ISS, options and
 * window. Returns the segment (in c->last). */
const struct frame *h_conn_expect_synack(struct harness *h, struct h_conn *c);
/* A handshake with a listening stack socket: h_conn_init, the peer's SYN,
 * h_conn_expect_synack, the peer's ACK. */
void h_conn_connect(struct harness *h, struct h_conn *c, uint16_t sport, uint16_t dport,
		    uint32_t iss, const struct tcp_opts *opts);
/* The stack connected (h_tcp_connect) and syn is its SYN: fill c from it
 * (ports, the stack's ISS and options), then the peer answers with a
 * SYN-ACK from ISS iss offering opts (NULL: MSS 1460) less what the
 * stack did not offer (RFC 7323 / RFC 2018: no WS, TS or SACK_PERMITTED
 * in a SYN-ACK to a SYN without them). The stack's ACK is the test's to
 * expect (h_conn_expect(h, c, TH_ACK, 0)). */
void h_conn_from_syn(struct harness *h, struct h_conn *c, const struct frame *syn,
		     uint32_t iss, const struct tcp_opts *opts);

/* The options the peer puts on a segment with these flags: the SYN's
 * (c->opts) on a SYN, else a timestamp when in use, else none. */
struct tcp_opts h_conn_opts(struct harness *h, const struct h_conn *c, uint8_t flags);
/* The peer sends flags + data at snd_nxt (ack: rcv_nxt when flags has
 * ACK) and advances snd_nxt by len, + 1 for SYN, + 1 for FIN. */
void h_conn_send(struct harness *h, struct h_conn *c, uint8_t flags, const void *data,
		 size_t len);
/* The same at any seq, with opt (NULL: h_conn_opts), snd_nxt unchanged:
 * retransmissions, out-of-order data, old duplicates, SACK blocks. */
void h_conn_send_ex(struct harness *h, struct h_conn *c, uint32_t seq, uint8_t flags,
		    const struct tcp_opts *opt, const void *data, size_t len);
/* Assert the next TCP segment is on this connection with exactly flags
 * (of FIN|SYN|RST|ACK), seq rcv_nxt, ack snd_nxt when flags has ACK, and
 * len bytes of data (and, when timestamps are in use and it is not a RST,
 * a timestamp); then advance rcv_nxt by len (+ 1 for SYN, + 1 for FIN)
 * and record the stack's window and TSval. Returns the segment (c->last). */
const struct frame *h_conn_expect(struct harness *h, struct h_conn *c, uint8_t flags,
				  size_t len);
/* The same, and the data is these bytes. */
const struct frame *h_conn_expect_data(struct harness *h, struct h_conn *c, uint8_t flags,
				       const void *data, size_t len);

/* TCP, the socket side (non-blocking sockets: there is no stack thread). */

/* A listening socket on port (any address), non-blocking. */
struct mtcp_sock *h_tcp_listen(struct harness *h, uint16_t port, int backlog);
/* Assert a connection is ready on listener l and accept it (non-blocking). */
struct mtcp_sock *h_tcp_accept(struct harness *h, struct mtcp_sock *l);
/* A non-blocking socket bound to lport (0: ephemeral) connecting to
 * PEER_IP:rport: asserts mtcp_connect says -EINPROGRESS. Its SYN is the
 * next TCP segment (see h_conn_from_syn). */
struct mtcp_sock *h_tcp_connect(struct harness *h, uint16_t lport, uint16_t rport);
/* A new TCP socket on the stack, non-blocking. */
struct mtcp_sock *h_tcp_socket(struct harness *h);
/* mtcp_connect to addr:port; returns its result. */
int h_sock_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port);
/* Set an int option (asserting success) / read one (asserting success and
 * an int-sized result). */
void h_sock_set_int(struct mtcp_sock *s, int level, int name, int v);
int h_sock_get_int(struct mtcp_sock *s, int level, int name);
/* SO_ERROR: the pending error, reported once. */
int h_sock_error(struct mtcp_sock *s);
/* getsockopt(TCP_INFO), asserting success. */
struct tcp_info h_tcp_info(struct mtcp_sock *s);
/* SO_LINGER {1, 0}: close resets the connection. */
void h_sock_linger0(struct mtcp_sock *s);
/* Reset and close s (SO_LINGER 0), discarding what the stack sent. */
void h_tcp_abort(struct harness *h, struct mtcp_sock *s);
/* TCP control blocks the stack holds (a listener, each connection,
 * TIME-WAIT included): the leak oracle. */
unsigned h_tcp_pcbs(const struct harness *h);
/* Close s (the last socket), discard what the stack sent, and assert no
 * TCP control block is left. */
void h_tcp_close_last(struct harness *h, struct mtcp_sock *s);
/* The peer resets connection c (RST at its snd_nxt). */
void h_conn_rst(struct harness *h, struct h_conn *c);
/* Advance to the stack's next timers, again and again, until it sends a
 * TCP segment (into *f); returns how long that took. Fails after max. */
uint64_t h_advance_until_tcp(struct harness *h, struct frame *f, uint64_t max, const char *what);

#endif
