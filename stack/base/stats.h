/*
 * stats.h - counters, and the reasons a frame is dropped.
 *
 * Nothing is dropped without a reason: every drop site passes one of
 * enum drop_reason to stack_drop(), which counts it and logs it at debug.
 * Counters are per stack instance and guarded by the stack lock; readers
 * outside the lock may see a slightly stale value (they are plain words).
 */
#ifndef MTCP_STATS_H
#define MTCP_STATS_H

#include <stdint.h>

#define DROP_REASONS(X) \
	X(ETH_TRUNC,            "ethernet frame shorter than its header") \
	X(ETH_NOT_FOR_US,       "ethernet destination is neither us nor broadcast") \
	X(ETH_UNKNOWN_TYPE,     "ethertype not handled") \
	X(ETH_FROM_US,          "frame carries our own source MAC") \
	X(ARP_MALFORMED,        "ARP packet truncated or not IPv4-over-Ethernet") \
	X(ARP_NOT_FOR_US,       "ARP target is not our address") \
	X(ARP_BAD_SENDER,       "ARP sender address is ours, broadcast or multicast") \
	X(ARP_QUEUE_FULL,       "packet waiting for ARP resolution beyond the queue limit") \
	X(ARP_UNRESOLVED,       "ARP resolution failed; held packets dropped") \
	X(IP_TRUNC,             "IPv4 packet shorter than its header or total length") \
	X(IP_BAD_VERSION,       "IPv4 version field is not 4") \
	X(IP_BAD_HLEN,          "IPv4 header length out of range") \
	X(IP_BAD_LEN,           "IPv4 total length or fragment length inconsistent") \
	X(IP_BAD_CSUM,          "IPv4 header checksum mismatch") \
	X(IP_BAD_OPTIONS,       "IPv4 options malformed") \
	X(IP_BAD_SRC,           "IPv4 source is broadcast, multicast, loopback, class E or 0/8") \
	X(IP_NOT_FOR_US,        "IPv4 destination is not ours (no forwarding)") \
	X(IP_SOURCE_ROUTE,      "IPv4 datagram with a source route option (RFC 7126 4.3)") \
	X(IP_UNKNOWN_PROTO,     "no handler for the IPv4 protocol") \
	X(IP_NO_ROUTE,          "no route to the destination") \
	X(IP_TOO_BIG,           "datagram larger than 65535 bytes") \
	X(FRAG_OVERLAP,         "fragment overlaps data already received differently") \
	X(FRAG_TOO_MANY,        "reassembly limits reached (datagrams or bytes)") \
	X(FRAG_TIMEOUT,         "reassembly timed out") \
	X(FRAG_BAD,             "fragment inconsistent with the datagram's known end") \
	X(FRAG_DUP,             "fragment is an exact duplicate of one held") \
	X(ICMP_MALFORMED,       "ICMP message truncated") \
	X(ICMP_BAD_CSUM,        "ICMP checksum mismatch") \
	X(ICMP_UNHANDLED,       "ICMP type not handled") \
	X(ICMP_RATELIMIT,       "ICMP error not sent: rate limited") \
	X(ICMP_NO_MATCH,        "ICMP error matches no socket") \
	X(ICMP_IGNORED,         "ICMP error not reported: soft, or an unconnected socket") \
	X(UDP_MALFORMED,        "UDP datagram truncated or length field wrong") \
	X(UDP_BAD_CSUM,         "UDP checksum mismatch") \
	X(UDP_NO_SOCKET,        "no UDP socket bound to the port") \
	X(UDP_RCVBUF_FULL,      "UDP receive buffer full") \
	X(TCP_MALFORMED,        "TCP segment truncated or header length wrong") \
	X(TCP_BAD_CSUM,         "TCP checksum mismatch") \
	X(TCP_BAD_OPTIONS,      "TCP options malformed") \
	X(TCP_NO_SOCKET,        "no TCP socket for the segment") \
	X(NOT_OURS,             "another process on the address owns the flow, or answers for it") \
	X(TCP_BCAST,            "TCP segment to a broadcast address (RFC 1122 4.2.3.10)") \
	X(TCP_OUT_OF_WINDOW,    "TCP segment outside the receive window (RFC 9293 3.10.7.4)") \
	X(TCP_PAWS,             "TCP timestamp older than the last one (RFC 7323 5.3 PAWS)") \
	X(TCP_RST_INVALID,      "TCP RST not exactly at RCV.NXT (RFC 5961 3.2)") \
	X(TCP_SYN_INVALID,      "TCP SYN on a synchronized connection (RFC 5961 4.2)") \
	X(TCP_ACK_INVALID,      "TCP ACK outside what we sent (RFC 5961 5.2)") \
	X(TCP_NO_ACK,           "TCP segment without ACK on a synchronized connection") \
	X(TCP_LISTEN_BAD,       "TCP segment to a listener neither SYN nor RST") \
	X(TCP_LISTEN_OVERFLOW,  "TCP SYN or handshake ACK dropped: listen queue full") \
	X(TCP_SYN_SENT_BAD,     "TCP segment in SYN-SENT with an unacceptable ACK or no SYN") \
	X(TCP_RCVBUF_FULL,      "TCP data beyond the receive buffer (and the window offered)") \
	X(TCP_OOO_FULL,         "TCP out-of-order segment beyond the reassembly limits") \
	X(TCP_DATA_AFTER_CLOSE, "TCP data for a socket the user has closed (reset)") \
	X(TCP_TIME_WAIT,        "TCP segment absorbed by TIME-WAIT") \
	X(TCP_CHALLENGE_LIMIT,  "TCP challenge ACK not sent: rate limited (RFC 5961 7)") \
	X(TCP_DEAD_FLOW,        "TCP segment of a dead member's connection (reset, tcp_dead.c)") \
	X(DEV_TX_FAIL,          "the device refused a frame") \
	X(NOMEM,                "out of memory")

enum drop_reason {
#define DROP_ENUM(name, text) DROP_##name,
	DROP_REASONS(DROP_ENUM)
#undef DROP_ENUM
	DROP__COUNT
};

const char *drop_reason_name(enum drop_reason r);   /* "IP_BAD_CSUM" */
const char *drop_reason_text(enum drop_reason r);

/* Traffic counters (not drops). */
#define STAT_COUNTERS(X) \
	X(eth_rx) X(eth_tx) \
	X(arp_rx) X(arp_tx) X(arp_requests_sent) X(arp_replies_sent) \
	X(ip_rx) X(ip_tx) X(ip_frags_rx) X(ip_reassembled) X(ip_frags_tx) \
	X(icmp_rx) X(icmp_tx) X(icmp_echo_replies) X(icmp_errors_sent) X(icmp_errors_rx) \
	X(udp_rx) X(udp_tx) \
	X(tcp_rx) X(tcp_tx) X(tcp_rx_merged) X(tcp_tx_tso) \
	X(tcp_active_opens) X(tcp_passive_opens) X(tcp_attempt_fails) X(tcp_estab_resets) \
	X(tcp_retrans_segs) X(tcp_fast_retrans) X(tcp_timeouts) X(tcp_out_rsts) \
	X(tcp_challenge_acks) X(tcp_ooo_segs) X(tcp_keepalive_probes) X(tcp_persist_probes) \
	X(tcp_delayed_acks) X(tcp_partial_acks) X(tcp_sack_rexmits) \
	X(tcp_migrated_out) X(tcp_migrated_in) \
	X(sock_moved_out) X(sock_moved_in) \
	X(tcp_dead_taken) X(tcp_dead_probes) X(tcp_dead_resets) X(tcp_dead_unanswered)

struct stack_stats {
#define STAT_FIELD(name) uint64_t name;
	STAT_COUNTERS(STAT_FIELD)
#undef STAT_FIELD
	uint64_t drops[DROP__COUNT];
};

#endif
