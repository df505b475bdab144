/*
 * test_offload.c - checksum offload and TCP segmentation offload (TSO/GSO,
 * GRO), from the wire functions to two whole stacks:
 *
 *  - wire: tcp_emit_partial leaves in the checksum field exactly what
 *    virtio-net's NEEDS_CSUM completion needs (netdev_csum_complete and a
 *    reference completion give tcp_emit's bytes); tcp_parse_verified and
 *    udp_parse_verified skip the checksum and nothing else;
 *  - the virtio-net header both ways (netdev_vnet_tx / netdev_vnet_rx) and
 *    what netdev_csum_complete must leave alone;
 *  - memlink's offload emulation (memlink_set_offload): a veth-like link
 *    that passes super-frames whole with PARTIAL checksums, and a
 *    wire-like one that cuts them in software as the kernel's GSO does;
 *  - TCP between two stacks (tcp_pair.h) over both: bulk data intact,
 *    super-frames sent and received, Nagle with TSO, FIN after bulk data,
 *    MTCP_OFFLOAD=off, a receiver without offloads, impairment over an
 *    offloading link, and loopback, which never offloads.
 *
 * Every stack-level test runs its stacks on capture devices (struct
 * capdev, below) that record every frame each stack sends and receives,
 * with one event counter across both, so the tests can say what was on
 * the link and in which order.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "check_main.h"
#include "dev.h"
#include "stack_harness.h"
#include "tcp_pair.h"
#include "tcp_var.h"
#include "wire/checksum.h"
#include "wire_testutil.h"

#define SEC             USEC_PER_SEC
#define MB              (1024 * 1024)
#define PAST_TIME_WAIT  (2 * TCP_MSL_DEFAULT + 2 * SEC)
#define FEAT_ALL        (NETDEV_F_RXCSUM | NETDEV_F_RXGRO | NETDEV_F_TXCSUM | NETDEV_F_TSO)
#define QLEN            4096
#define FRAME_MAX       (ETH_HLEN + IPV4_MAXLEN)
#define MSS_TS          1448            /* MSS 1460 less the timestamp option */

static const char *const mode_name[] = { "none", "veth", "wire" };

/* --- frames built by hand --- */

struct mk {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	bool ts;                /* a timestamp option (12 bytes with padding) */
	size_t plen;            /* payload bytes */
	uint16_t ip_id;
	bool partial;           /* tcp_emit_partial instead of tcp_emit */
	uint8_t fill;           /* payload byte i is fill + 31 * i */
};

static struct mk mk_default(size_t plen, bool partial)
{
	struct mk m = {
		.src = PAIR_B_IP, .dst = PAIR_A_IP, .sport = 40000, .dport = 9,
		.seq = 0x10000000u, .ack = 0x20000000u, .flags = TH_ACK | TH_PSH,
		.ts = true, .plen = plen, .ip_id = 0x1234, .partial = partial, .fill = 7,
	};
	return m;
}

static void eth_hdr(uint8_t *f)
{
	struct eth_repr e = { .type = ETHERTYPE_IPV4 };

	memcpy(e.dst, PAIR_A_MAC, 6);
	memcpy(e.src, PAIR_B_MAC, 6);
	eth_emit(&e, f);
}

static void fill_payload(uint8_t *p, size_t n, uint8_t fill, size_t from)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(fill + 31 * (from + i));
}

/* An Ethernet/IPv4/TCP frame (IPv4 header without options, DF). Returns
 * its length; *hdr gets the bytes before the payload. */
static size_t mk_tcp(uint8_t *f, const struct mk *m, size_t *hdr)
{
	struct tcp_repr r = {
		.sport = m->sport, .dport = m->dport, .seq = m->seq, .ack = m->ack,
		.flags = m->flags, .win = 1000,
	};
	if (m->ts) {
		r.opt.has_ts = true;
		r.opt.ts_val = 0x01020304;
		r.opt.ts_ecr = 0x05060708;
	}
	size_t hl = tcp_header_len(&r);
	uint8_t *th = f + ETH_HLEN + IPV4_HLEN;
	struct ipv4_repr ip = {
		.total_len = (uint16_t)(IPV4_HLEN + hl + m->plen), .id = m->ip_id, .df = true,
		.ttl = 64, .proto = IPPROTO_TCP_, .src = m->src, .dst = m->dst,
	};

	ck_assert_msg(IPV4_HLEN + hl + m->plen <= IPV4_MAXLEN, "test frame too big");
	eth_hdr(f);
	fill_payload(th + hl, m->plen, m->fill, 0);
	if (m->partial)
		tcp_emit_partial(&r, th, m->plen, m->src, m->dst);
	else
		tcp_emit(&r, th, m->plen, m->src, m->dst);
	ipv4_emit(&ip, f + ETH_HLEN);
	if (hdr)
		*hdr = ETH_HLEN + IPV4_HLEN + hl;
	return ETH_HLEN + IPV4_HLEN + hl + m->plen;
}

/* An Ethernet/IPv4/UDP frame B -> A with plen payload bytes; partial: the
 * checksum field holds only the pseudo-header sum, as a sender with
 * checksum offload leaves it. */
static size_t mk_udp(uint8_t *f, size_t plen, uint16_t dport, bool partial, uint8_t fill)
{
	uint8_t *u = f + ETH_HLEN + IPV4_HLEN;
	struct udp_repr r = { .sport = 5000, .dport = dport, .len = (uint16_t)(UDP_HLEN + plen) };
	struct ipv4_repr ip = {
		.total_len = (uint16_t)(IPV4_HLEN + UDP_HLEN + plen), .id = 1, .ttl = 64,
		.proto = IPPROTO_UDP_, .src = PAIR_B_IP, .dst = PAIR_A_IP,
	};

	eth_hdr(f);
	fill_payload(u + UDP_HLEN, plen, fill, 0);
	udp_emit(&r, u, PAIR_B_IP, PAIR_A_IP);
	if (partial)
		wr16(u + 6, (uint16_t)~csum_finish(csum_pseudo_ipv4(PAIR_B_IP, PAIR_A_IP,
			IPPROTO_UDP_, r.len)));
	ipv4_emit(&ip, f + ETH_HLEN);
	return ETH_HLEN + IPV4_HLEN + UDP_HLEN + plen;
}

/* Virtio-net's NEEDS_CSUM, computed independently of the code under
 * test (wire_testutil.h's word-at-a-time sum): the sum from start to the
 * end, the checksum field - holding the pseudo-header sum - included. */
static void ref_complete(uint8_t *f, size_t len, size_t start, size_t off)
{
	put_csum(f + start + off, (uint16_t)~ref_sum(0, f + start, len - start));
}

/* The folded pseudo-header sum (not complemented), independently. */
static uint16_t ref_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint8_t ph[12] = {
		(uint8_t)(src >> 24), (uint8_t)(src >> 16), (uint8_t)(src >> 8), (uint8_t)src,
		(uint8_t)(dst >> 24), (uint8_t)(dst >> 16), (uint8_t)(dst >> 8), (uint8_t)dst,
		0, proto, (uint8_t)(len >> 8), (uint8_t)len,
	};
	return (uint16_t)ref_sum(0, ph, sizeof(ph));
}

static uint8_t *frame_buf(void)
{
	uint8_t *f = calloc(1, FRAME_MAX + 64);

	ck_assert_ptr_nonnull(f);
	return f;
}

/* --- wire --- */

static const size_t payload_sizes[] = {
	0, 1, 2, 3, 7, 100, 1447, 1448, 1449, 8999, 32768,
	IPV4_MAXLEN - IPV4_HLEN - 32,   /* the largest with timestamps: odd */
};
#define NSIZES (sizeof(payload_sizes) / sizeof(payload_sizes[0]))

START_TEST(test_partial_then_completed_equals_full_checksum)
{
	uint8_t *full = frame_buf(), *part = frame_buf(), *ref = frame_buf();

	for (unsigned ts = 0; ts < 2; ts++) {
		for (size_t i = 0; i < NSIZES; i++) {
			struct mk m = mk_default(payload_sizes[i], false);
			size_t hdr, len;
			m.ts = ts;
			len = mk_tcp(full, &m, &hdr);
			m.partial = true;
			ck_assert_uint_eq(mk_tcp(part, &m, NULL), len);
			size_t l4 = ETH_HLEN + IPV4_HLEN;
			uint16_t l4len = (uint16_t)(len - l4);
			/* The field: the folded pseudo-header sum (virtio-net,
			 * Linux's ~tcp_v4_check(len, saddr, daddr, 0)). */
			ck_assert_msg(rd16(part + l4 + 16) == ref_pseudo(m.src, m.dst, 6, l4len),
				      "payload %zu ts %u: partial field 0x%04x, pseudo-header sum 0x%04x",
				      m.plen, ts, rd16(part + l4 + 16),
				      ref_pseudo(m.src, m.dst, 6, l4len));
			/* Everything but the checksum field is the same. */
			memcpy(ref, part, len);
			wr16(ref + l4 + 16, rd16(full + l4 + 16));
			EXPECT_BYTES(ref, full, len);
			/* Completed by the device's rule from the field, and by
			 * netdev_csum_complete from the IP header: tcp_emit's. */
			memcpy(ref, part, len);
			ref_complete(ref, len, l4, 16);
			ck_assert_msg(rd16(ref + l4 + 16) == rd16(full + l4 + 16),
				      "payload %zu ts %u: virtio completion 0x%04x, tcp_emit 0x%04x",
				      m.plen, ts, rd16(ref + l4 + 16), rd16(full + l4 + 16));
			netdev_csum_complete(part, len);
			EXPECT_BYTES(part, full, len);
			struct tcp_repr r;
			ck_assert_int_eq(tcp_parse(part + l4, l4len, m.src, m.dst, &r), WIRE_OK);
		}
	}
	free(full);
	free(part);
	free(ref);
}
END_TEST

START_TEST(test_tcp_parse_verified_skips_only_the_checksum)
{
	uint8_t f[2000], bad[TCP_HLEN_MAX + 8];
	struct mk m = mk_default(300, false);
	struct tcp_repr r1, r2;
	size_t len = mk_tcp(f, &m, NULL), l4 = ETH_HLEN + IPV4_HLEN;
	uint8_t *th = f + l4;
	size_t tl = len - l4;

	ck_assert_int_eq(tcp_parse(th, tl, m.src, m.dst, &r1), WIRE_OK);
	th[16] ^= 0x5a;                         /* a wrong checksum */
	ck_assert_int_eq(tcp_parse(th, tl, m.src, m.dst, &r2), WIRE_ECSUM);
	memset(&r2, 0xee, sizeof(r2));
	ck_assert_int_eq(tcp_parse_verified(th, tl, m.src, m.dst, &r2), WIRE_OK);
	ck_assert_uint_eq(r2.seq, r1.seq);
	ck_assert_uint_eq(r2.ack, r1.ack);
	ck_assert_uint_eq(r2.flags, r1.flags);
	ck_assert_uint_eq(r2.hlen, r1.hlen);
	ck_assert_uint_eq(r2.win, r1.win);
	ck_assert(r2.opt.has_ts && r2.opt.ts_val == r1.opt.ts_val &&
		  r2.opt.ts_ecr == r1.opt.ts_ecr);
	/* Wrong addresses are a checksum matter only. */
	ck_assert_int_eq(tcp_parse_verified(th, tl, 1, 2, &r2), WIRE_OK);

	/* Malformed headers: the same error with or without the checksum,
	 * each built with a right checksum for tcp_parse. */
	struct {
		const char *what;
		size_t len;
		uint8_t doff;           /* 32-bit words */
		uint8_t opt[8];
		enum wire_err want;
	} cases[] = {
		{ "shorter than a header", 19, 5, { 0 }, WIRE_ETRUNC },
		{ "data offset 4", 20, 4, { 0 }, WIRE_EHLEN },
		{ "data offset past the end", 24, 7, { 1, 1, 1, 1 }, WIRE_EHLEN },
		{ "MSS option of length 3", 28, 7, { 2, 3, 5, 0, 1, 1, 1, 1 }, WIRE_EOPT },
		{ "option running past the header", 28, 7, { 1, 1, 1, 1, 1, 1, 8, 10 },
		  WIRE_EOPT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(bad, 0, sizeof(bad));
		memcpy(bad, th, TCP_HLEN);
		bad[12] = (uint8_t)(cases[i].doff << 4);
		memcpy(bad + TCP_HLEN, cases[i].opt, sizeof(cases[i].opt));
		bad[16] = bad[17] = 0;
		put_csum(bad + 16, ref_csum_pseudo(m.src, m.dst, 6, bad, cases[i].len));
		uint8_t *c = exact_copy(bad, cases[i].len);
		enum wire_err e1 = tcp_parse(c, cases[i].len, m.src, m.dst, &r1);
		enum wire_err e2 = tcp_parse_verified(c, cases[i].len, m.src, m.dst, &r2);
		free(c);
		ck_assert_msg(e1 == cases[i].want && e2 == cases[i].want,
			      "%s: tcp_parse %s, tcp_parse_verified %s, expected %s",
			      cases[i].what, wire_strerror(e1), wire_strerror(e2),
			      wire_strerror(cases[i].want));
	}
	/* Longer than the pseudo-header's 16-bit length. */
	uint8_t *big = calloc(1, 65536);
	memcpy(big, th, TCP_HLEN);
	big[12] = 5 << 4;
	ck_assert_int_eq(tcp_parse_verified(big, 65536, m.src, m.dst, &r2), WIRE_ELEN);
	ck_assert_int_eq(tcp_parse(big, 65536, m.src, m.dst, &r2), WIRE_ELEN);
	free(big);
}
END_TEST

START_TEST(test_udp_parse_verified_skips_only_the_checksum)
{
	uint8_t f[600];
	struct udp_repr r1, r2;
	size_t len = mk_udp(f, 501, 53, false, 3), l4 = ETH_HLEN + IPV4_HLEN;
	uint8_t *u = f + l4;
	size_t ul = len - l4;

	ck_assert_int_eq(udp_parse(u, ul, PAIR_B_IP, PAIR_A_IP, &r1), WIRE_OK);
	u[6] ^= 0x11;
	ck_assert_int_eq(udp_parse(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ECSUM);
	memset(&r2, 0xee, sizeof(r2));
	ck_assert_int_eq(udp_parse_verified(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_OK);
	ck_assert_uint_eq(r2.sport, r1.sport);
	ck_assert_uint_eq(r2.dport, r1.dport);
	ck_assert_uint_eq(r2.len, r1.len);

	/* Truncated and inconsistent lengths: refused either way. */
	ck_assert_int_eq(udp_parse(u, 7, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ETRUNC);
	ck_assert_int_eq(udp_parse_verified(u, 7, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ETRUNC);
	wr16(u + 4, 7);
	ck_assert_int_eq(udp_parse(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ELEN);
	ck_assert_int_eq(udp_parse_verified(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ELEN);
	wr16(u + 4, (uint16_t)(ul + 1));
	ck_assert_int_eq(udp_parse(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ELEN);
	ck_assert_int_eq(udp_parse_verified(u, ul, PAIR_B_IP, PAIR_A_IP, &r2), WIRE_ELEN);
}
END_TEST

/* --- the virtio-net header and netdev_csum_complete --- */

START_TEST(test_vnet_tx_header_says_what_the_device_must_do)
{
	struct virtio_net_hdr h;
	struct netdev_offload csum = { .csum_start = 34, .csum_offset = 16 };
	struct netdev_offload tso = { .csum_start = 34, .csum_offset = 16, .gso_size = 1448,
				      .hdr_len = 66 };

	memset(&h, 0xff, sizeof(h));
	netdev_vnet_tx(&h, NULL);
	ck_assert_uint_eq(h.flags, 0);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(h.gso_size, 0);
	ck_assert_uint_eq(h.hdr_len, 0);
	ck_assert_uint_eq(h.csum_start, 0);
	ck_assert_uint_eq(h.csum_offset, 0);

	memset(&h, 0xff, sizeof(h));
	netdev_vnet_tx(&h, &csum);
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.csum_start, 34);
	ck_assert_uint_eq(h.csum_offset, 16);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
	ck_assert_uint_eq(h.gso_size, 0);
	ck_assert_uint_eq(h.hdr_len, 0);

	netdev_vnet_tx(&h, &tso);
	ck_assert_uint_eq(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ck_assert_uint_eq(h.csum_start, 34);
	ck_assert_uint_eq(h.csum_offset, 16);
	ck_assert_uint_eq(h.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	ck_assert_uint_eq(h.gso_size, 1448);
	ck_assert_uint_eq(h.hdr_len, 66);
}
END_TEST

START_TEST(test_vnet_rx_header_round_trips_and_resets)
{
	struct netdev d;
	struct virtio_net_hdr h;
	struct netdev_offload tso = { .csum_start = 34, .csum_offset = 16, .gso_size = 1400,
				      .hdr_len = 66 };
	struct netdev_offload csum = { .csum_start = 34, .csum_offset = 6 };

	memset(&d, 0, sizeof(d));
	/* What we send, read back as the kernel's receive side would
	 * describe the same frame. */
	netdev_vnet_tx(&h, &tso);
	netdev_vnet_rx(&d, &h);
	ck_assert_int_eq(d.rx.csum, NETDEV_CSUM_PARTIAL);
	ck_assert_uint_eq(d.rx.gso_size, 1400);
	ck_assert_uint_eq(d.stats.rx_merged, 1);

	netdev_vnet_tx(&h, &csum);
	netdev_vnet_rx(&d, &h);
	ck_assert_int_eq(d.rx.csum, NETDEV_CSUM_PARTIAL);
	ck_assert_uint_eq(d.rx.gso_size, 0);
	ck_assert_uint_eq(d.stats.rx_merged, 1);

	netdev_vnet_tx(&h, NULL);
	netdev_vnet_rx(&d, &h);
	ck_assert_int_eq(d.rx.csum, NETDEV_CSUM_NONE);
	ck_assert_uint_eq(d.rx.gso_size, 0);

	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	netdev_vnet_rx(&d, &h);
	ck_assert_int_eq(d.rx.csum, NETDEV_CSUM_VALID);
	/* NEEDS_CSUM wins: the checksum is not there to be valid. */
	h.flags = VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_NEEDS_CSUM;
	netdev_vnet_rx(&d, &h);
	ck_assert_int_eq(d.rx.csum, NETDEV_CSUM_PARTIAL);

	/* GRO with ECN is still TCPv4; other GSO types are not ours. */
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
	h.gso_size = 1448;
	netdev_vnet_rx(&d, &h);
	ck_assert_uint_eq(d.rx.gso_size, 1448);
	ck_assert_uint_eq(d.stats.rx_merged, 2);
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	netdev_vnet_rx(&d, &h);
	ck_assert_uint_eq(d.rx.gso_size, 0);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	netdev_vnet_rx(&d, &h);
	ck_assert_uint_eq(d.rx.gso_size, 0);
	ck_assert_uint_eq(d.stats.rx_merged, 2);
}
END_TEST

/* netdev_csum_complete on f must leave it exactly as it is. */
static void expect_untouched(const char *what, uint8_t *f, size_t len)
{
	uint8_t *copy = exact_copy(f, len);

	netdev_csum_complete(f, len);
	ck_assert_msg(memcmp(f, copy, len) == 0, "netdev_csum_complete changed %s", what);
	free(copy);
}

START_TEST(test_csum_complete_leaves_other_frames_alone)
{
	uint8_t f[1600];
	struct mk m = mk_default(200, true);
	size_t len;

	/* Not IPv4: ARP, IPv6. */
	len = mk_tcp(f, &m, NULL);
	wr16(f + 12, ETHERTYPE_ARP);
	expect_untouched("an ARP frame", f, len);
	wr16(f + 12, 0x86dd);
	expect_untouched("an IPv6 frame", f, len);
	/* IPv4 ethertype, version 6. */
	len = mk_tcp(f, &m, NULL);
	f[ETH_HLEN] = 0x65;
	expect_untouched("an IPv4 frame with version 6", f, len);
	/* ICMP. */
	len = mk_tcp(f, &m, NULL);
	f[ETH_HLEN + 9] = IPPROTO_ICMP_;
	expect_untouched("an ICMP packet", f, len);
	/* Fragments: MF, or an offset. */
	len = mk_tcp(f, &m, NULL);
	f[ETH_HLEN + 6] |= 0x20;
	expect_untouched("a first fragment (MF)", f, len);
	len = mk_tcp(f, &m, NULL);
	wr16(f + ETH_HLEN + 6, 0x0010);
	expect_untouched("a later fragment", f, len);
	len = mk_tcp(f, &m, NULL);
	wr16(f + ETH_HLEN + 6, 0x0001);
	expect_untouched("a last fragment (offset 8)", f, len);
	/* Truncated: the IP total length runs past the frame. */
	len = mk_tcp(f, &m, NULL);
	expect_untouched("a truncated frame", f, len - 1);
	expect_untouched("a frame of 33 bytes", f, 33);
	/* Too short for the L4 header. */
	len = mk_tcp(f, &m, NULL);
	wr16(f + ETH_HLEN + 2, IPV4_HLEN + 19);
	expect_untouched("TCP shorter than its header", f, len);
	len = mk_udp(f, 10, 53, true, 1);
	wr16(f + ETH_HLEN + 2, IPV4_HLEN + 7);
	expect_untouched("UDP shorter than its header", f, len);
	/* IP header length below 20. */
	len = mk_tcp(f, &m, NULL);
	f[ETH_HLEN] = 0x44;
	expect_untouched("an IPv4 header length of 16", f, len);
}
END_TEST

START_TEST(test_csum_complete_ignores_padding_and_never_sends_udp_zero)
{
	uint8_t f[1600], full[1600];
	struct mk m = mk_default(0, true);
	struct tcp_repr r;
	struct udp_repr u;
	size_t len, l4 = ETH_HLEN + IPV4_HLEN;

	/* A pure ACK padded to the Ethernet minimum with garbage: the
	 * checksum covers the IP packet only. */
	m.ts = false;
	len = mk_tcp(f, &m, NULL);
	ck_assert_uint_eq(len, 54);
	memset(f + len, 0xaa, 6);
	netdev_csum_complete(f, 60);
	ck_assert_int_eq(tcp_parse(f + l4, len - l4, m.src, m.dst, &r), WIRE_OK);
	m.partial = false;
	mk_tcp(full, &m, NULL);
	EXPECT_BYTES(f, full, len);

	/* UDP whose checksum comes out as zero goes as 0xffff (RFC 768).
	 * Pick the two payload bytes that make the sum 0xffff. */
	len = mk_udp(f, 2, 53, false, 0);
	f[l4 + 8] = f[l4 + 9] = 0;
	wr16(f + l4 + 6, 0);
	uint16_t s0 = (uint16_t)ref_sum(ref_pseudo(PAIR_B_IP, PAIR_A_IP, 17, 10), f + l4, 10);
	wr16(f + l4 + 8, (uint16_t)(0xffff - s0));
	wr16(f + l4 + 6, ref_pseudo(PAIR_B_IP, PAIR_A_IP, 17, 10));
	netdev_csum_complete(f, len);
	ck_assert_uint_eq(rd16(f + l4 + 6), 0xffff);
	ck_assert_int_eq(udp_parse(f + l4, 10, PAIR_B_IP, PAIR_A_IP, &u), WIRE_OK);
	/* And an ordinary partial UDP datagram gets udp_emit's checksum. */
	for (size_t n = 0; n < 9; n++) {
		len = mk_udp(f, n * 101 + 1, 53, true, (uint8_t)n);
		mk_udp(full, n * 101 + 1, 53, false, (uint8_t)n);
		netdev_csum_complete(f, len);
		EXPECT_BYTES(f, full, len);
	}
}
END_TEST

/* --- memlink's offload emulation, device by device --- */

static int fake_send(struct netdev *d, const uint8_t *f, size_t len, uint64_t now)
{
	(void)d, (void)f, (void)len, (void)now;
	return 0;
}

static const struct netdev_ops fake_ops = { .send = fake_send };

static void ml_pair(struct netdev **a, struct netdev **b, unsigned qlen, enum memlink_offload ma,
		    enum memlink_offload mb)
{
	ck_assert_int_eq(memlink_pair(a, b, 1500, qlen), 0);
	if (ma != MEMLINK_OFFLOAD_NONE)
		ck_assert_int_eq(memlink_set_offload(*a, FEAT_ALL, ma), 0);
	if (mb != MEMLINK_OFFLOAD_NONE)
		ck_assert_int_eq(memlink_set_offload(*b, FEAT_ALL, mb), 0);
}

static struct netdev_offload tcp_off(size_t hdr, uint16_t gso)
{
	struct netdev_offload o = {
		.csum_start = ETH_HLEN + IPV4_HLEN, .csum_offset = 16, .gso_size = gso,
		.hdr_len = gso ? (uint16_t)hdr : 0,
	};
	return o;
}

START_TEST(test_memlink_offload_settings_checked)
{
	struct netdev *a, *b, fake;
	uint8_t f[200];
	struct mk m = mk_default(100, true);
	size_t hdr, len = mk_tcp(f, &m, &hdr);
	struct netdev_offload o = tcp_off(hdr, 0);

	memset(&fake, 0, sizeof(fake));
	fake.ops = &fake_ops;
	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	/* Off by default, and then send_offload is refused. */
	ck_assert_uint_eq(a->features, 0);
	ck_assert_ptr_nonnull(a->ops->send_offload);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -EOPNOTSUPP);
	ck_assert_uint_eq(a->stats.tx_errors, 1);

	ck_assert_int_eq(memlink_set_offload(&fake, FEAT_ALL, MEMLINK_OFFLOAD_VETH), -EINVAL);
	ck_assert_int_eq(memlink_set_offload(NULL, FEAT_ALL, MEMLINK_OFFLOAD_VETH), -EINVAL);
	ck_assert_int_eq(memlink_set_offload(a, 0x100, MEMLINK_OFFLOAD_VETH), -EINVAL);
	ck_assert_int_eq(memlink_set_offload(a, FEAT_ALL, (enum memlink_offload)7), -EINVAL);
	ck_assert_int_eq(memlink_set_offload(a, NETDEV_F_TXCSUM, MEMLINK_OFFLOAD_NONE), -EINVAL);
	ck_assert_uint_eq(a->features, 0);
	/* Receive offloads alone need no mode. */
	ck_assert_int_eq(memlink_set_offload(a, NETDEV_F_RXCSUM | NETDEV_F_RXGRO,
					     MEMLINK_OFFLOAD_NONE), 0);
	ck_assert_uint_eq(a->features, NETDEV_F_RXCSUM | NETDEV_F_RXGRO);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -EOPNOTSUPP);

	/* Checksum offload without TSO: a super-frame is refused. */
	ck_assert_int_eq(memlink_set_offload(a, NETDEV_F_TXCSUM, MEMLINK_OFFLOAD_WIRE), 0);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	o = tcp_off(hdr, 50);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -EOPNOTSUPP);
	/* The checksum field must lie inside the frame. */
	ck_assert_int_eq(memlink_set_offload(a, FEAT_ALL, MEMLINK_OFFLOAD_WIRE), 0);
	o = tcp_off(hdr, 0);
	o.csum_start = (uint16_t)(len - 17);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -EINVAL);
	ck_assert_uint_eq(a->stats.tx_errors, 4);
	ck_assert_uint_eq(a->stats.tx_frames, 1);
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_memlink_veth_passes_superframe_whole_and_partial)
{
	struct netdev *a, *b;
	uint8_t *f = frame_buf(), *g = frame_buf();
	struct mk m = mk_default(IPV4_MAXLEN - IPV4_HLEN - 32, true);
	size_t hdr, len = mk_tcp(f, &m, &hdr);
	struct netdev_offload o = tcp_off(hdr, MSS_TS);
	ssize_t n;

	ml_pair(&a, &b, 8, MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_VETH);
	ck_assert_uint_eq(len, FRAME_MAX);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	ck_assert_uint_eq(a->stats.tx_gso, 1);
	ck_assert_uint_eq(a->stats.tx_frames, 1);
	n = netdev_recv(b, g, FRAME_MAX + 64, 0);
	ck_assert_int_eq(n, (ssize_t)len);
	EXPECT_BYTES(g, f, len);                /* whole, checksum unfinished */
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_PARTIAL);
	ck_assert_uint_eq(b->rx.gso_size, MSS_TS);
	ck_assert_uint_eq(b->stats.rx_merged, 1);

	/* A plain partial frame: PARTIAL, no gso_size. */
	struct mk s = mk_default(10, true);
	len = mk_tcp(f, &s, &hdr);
	o = tcp_off(hdr, 0);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	ck_assert_int_eq(netdev_recv(b, g, 2000, 0), (ssize_t)len);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_PARTIAL);
	ck_assert_uint_eq(b->rx.gso_size, 0);
	ck_assert_uint_eq(b->stats.rx_merged, 1);
	/* An ordinary frame after it: rx says nothing. */
	ck_assert_int_eq(netdev_send(a, f, len, 0), 0);
	ck_assert_int_eq(netdev_recv(b, g, 2000, 0), (ssize_t)len);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_NONE);
	ck_assert_uint_eq(b->rx.gso_size, 0);
	/* And -EAGAIN resets it too. */
	b->rx.csum = NETDEV_CSUM_VALID;
	ck_assert_int_eq(netdev_recv(b, g, 2000, 0), -EAGAIN);
	ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_NONE);

	/* Limits: a plain frame still the MTU; a super-frame 64 KiB. */
	ck_assert_int_eq(netdev_send(a, f, 1515, 0), -EMSGSIZE);
	o = tcp_off(hdr, 0);
	ck_assert_int_eq(netdev_send_offload(a, f, 1515, &o, 0), -EMSGSIZE);
	o = tcp_off(hdr, MSS_TS);
	ck_assert_int_eq(netdev_send_offload(a, f, FRAME_MAX + 1, &o, 0), -EMSGSIZE);
	netdev_destroy(a);
	netdev_destroy(b);
	free(f);
	free(g);
}
END_TEST

/* Receive every frame b has, asserting each is at most the MTU; returns
 * how many, in fr[]. */
static unsigned recv_all(struct netdev *b, struct frame *fr, unsigned max)
{
	unsigned n = 0;
	ssize_t len;

	while ((len = netdev_recv(b, fr[n].buf, sizeof(fr[n].buf), 0)) > 0) {
		ck_assert_msg(len <= ETH_HLEN + 1500, "frame %u: %zd bytes, beyond the MTU", n, len);
		ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_NONE);
		ck_assert_uint_eq(b->rx.gso_size, 0);
		fr[n].len = (size_t)len;
		ck_assert_msg(++n < max, "more than %u frames", max);
	}
	return n;
}

/* Software GSO: super-frame with payload plen, MSS gso: check every
 * segment as the kernel would have cut it. */
static void check_gso(size_t plen, uint16_t gso, bool ts, uint8_t flags, uint32_t seq,
		      uint16_t ip_id)
{
	struct netdev *a, *b;
	uint8_t *f = frame_buf(), *data = frame_buf();
	struct mk m = mk_default(plen, true);
	static struct frame fr[64];
	size_t hdr, len, got = 0;
	unsigned want = plen ? (unsigned)((plen + gso - 1) / gso) : 1;

	m.ts = ts;
	m.flags = flags;
	m.seq = seq;
	m.ip_id = ip_id;
	len = mk_tcp(f, &m, &hdr);
	struct netdev_offload o = tcp_off(hdr, gso);
	ml_pair(&a, &b, 64, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	ck_assert_uint_eq(a->stats.tx_gso, 1);
	ck_assert_uint_eq(a->stats.tx_frames, want);
	unsigned n = recv_all(b, fr, 64);
	ck_assert_msg(n == want, "payload %zu gso %u: %u segments, expected %u", plen, gso, n,
		      want);
	ck_assert_uint_eq(b->stats.rx_merged, 0);
	for (unsigned k = 0; k < n; k++) {
		struct frame *s = &fr[k];
		const char *err = h_frame_parse(s, s->len);   /* checksums verified */
		size_t chunk = plen - got < gso ? plen - got : gso;
		ck_assert_msg(err == NULL, "payload %zu segment %u: %s", plen, k, err);
		ck_assert_msg(s->is_tcp, "segment %u is not TCP", k);
		ck_assert_uint_eq(s->len, ETH_HLEN + IPV4_HLEN + s->tcp.hlen + chunk < ETH_ZLEN ?
				  ETH_ZLEN : ETH_HLEN + IPV4_HLEN + s->tcp.hlen + chunk);
		ck_assert_uint_eq(s->ip.total_len, IPV4_HLEN + s->tcp.hlen + chunk);
		ck_assert_uint_eq(s->ip.id, (uint16_t)(ip_id + k));
		ck_assert(s->ip.df);
		ck_assert_uint_eq(s->ip.ttl, 64);
		ck_assert_uint_eq(s->tcp.hlen, hdr - ETH_HLEN - IPV4_HLEN);
		ck_assert_uint_eq(s->tcp.seq, seq + (uint32_t)got);
		ck_assert_uint_eq(s->tcp.ack, m.ack);
		ck_assert_uint_eq(s->tcp.win, 1000);
		ck_assert_uint_eq(s->tcp.sport, m.sport);
		ck_assert_uint_eq(s->tcp.dport, m.dport);
		ck_assert_int_eq(s->tcp.opt.has_ts, ts);
		if (ts)
			ck_assert(s->tcp.opt.ts_val == 0x01020304 && s->tcp.opt.ts_ecr == 0x05060708);
		uint8_t want_flags = flags;
		if (k > 0)
			want_flags &= (uint8_t)~TH_CWR;
		if (k + 1 < n)
			want_flags &= (uint8_t)~(TH_FIN | TH_PSH);
		ck_assert_msg(s->tcp.flags == want_flags, "segment %u of %u: flags 0x%02x, "
			      "expected 0x%02x", k, n, s->tcp.flags, want_flags);
		ck_assert_uint_eq(s->data_len, chunk);
		ck_assert_uint_eq(rd16(s->buf), rd16(PAIR_A_MAC));
		memcpy(data + got, s->data, chunk);
		got += chunk;
	}
	ck_assert_uint_eq(got, plen);
	EXPECT_BYTES(data, f + hdr, plen);
	netdev_destroy(a);
	netdev_destroy(b);
	free(f);
	free(data);
}

START_TEST(test_memlink_wire_cuts_superframe_like_gso)
{
	uint8_t all = TH_ACK | TH_PSH | TH_FIN | TH_CWR;

	/* A short last segment; seq and IP id wrap on the way. */
	check_gso(10 * MSS_TS + 100, MSS_TS, true, all, 0xfffff000u, 0xfffe);
	/* Exact multiple; no timestamps. */
	check_gso(4 * 1460, 1460, false, TH_ACK, 1, 0);
	/* A last segment of one byte, padded to the Ethernet minimum. */
	check_gso(1460 + 1, 1460, false, all, 77, 9);
	/* Odd segment sizes, and odd payload. */
	check_gso(9999, 999, true, TH_ACK | TH_PSH, 5, 5);
	/* No more payload than one segment: sent as it is, finished. */
	check_gso(500, MSS_TS, true, TH_ACK | TH_PSH | TH_FIN, 5, 5);
	/* The largest super-frame. */
	check_gso(IPV4_MAXLEN - IPV4_HLEN - 32, MSS_TS, true, TH_ACK | TH_PSH, 1u << 31, 3);
}
END_TEST

START_TEST(test_memlink_wire_completes_plain_partial_frames)
{
	struct netdev *a, *b;
	uint8_t f[1600], full[1600], g[1600];
	size_t hdr, len;
	struct netdev_offload o;

	ml_pair(&a, &b, 8, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	for (size_t plen = 0; plen < 1448; plen += 181) {
		struct mk m = mk_default(plen, true);
		len = mk_tcp(f, &m, &hdr);
		m.partial = false;
		mk_tcp(full, &m, NULL);
		o = tcp_off(hdr, 0);
		ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)len);
		ck_assert_int_eq(b->rx.csum, NETDEV_CSUM_NONE);
		EXPECT_BYTES(g, full, len);
	}
	for (size_t plen = 0; plen < 1472; plen += 97) {
		len = mk_udp(f, plen, 53, true, (uint8_t)plen);
		mk_udp(full, plen, 53, false, (uint8_t)plen);
		o.csum_start = ETH_HLEN + IPV4_HLEN;
		o.csum_offset = 6;
		o.gso_size = o.hdr_len = 0;
		ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)len);
		EXPECT_BYTES(g, full, len);
	}
	ck_assert_uint_eq(a->stats.tx_gso, 0);
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

/* The wire emulation finishes checksums from what the sender left in the
 * field, as hardware does: a sender that left a finished checksum (or any
 * wrong pseudo-header sum) there is caught at the receiver. */
START_TEST(test_memlink_wire_exposes_a_wrong_partial_checksum)
{
	struct netdev *a, *b;
	uint8_t *f = frame_buf();
	static struct frame fr[16];
	struct mk m = mk_default(5 * MSS_TS + 7, false);     /* tcp_emit: full checksum */
	size_t hdr, len = mk_tcp(f, &m, &hdr);
	struct netdev_offload o = tcp_off(hdr, MSS_TS);

	ml_pair(&a, &b, 16, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	unsigned n = recv_all(b, fr, 16);
	ck_assert_uint_eq(n, 6);
	for (unsigned k = 0; k < n; k++) {
		struct tcp_repr r;
		size_t l4 = ETH_HLEN + IPV4_HLEN;
		ck_assert_msg(tcp_parse(fr[k].buf + l4, fr[k].len - l4, m.src, m.dst, &r) ==
			      WIRE_ECSUM, "segment %u of a super-frame with a finished checksum "
			      "in its field verified", k);
	}
	/* The same without TSO. */
	struct mk s = mk_default(300, false);
	len = mk_tcp(f, &s, &hdr);
	o = tcp_off(hdr, 0);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	ck_assert_int_eq(netdev_recv(b, fr[0].buf, sizeof(fr[0].buf), 0), (ssize_t)len);
	ck_assert_ptr_nonnull(h_frame_parse(&fr[0], len));
	netdev_destroy(a);
	netdev_destroy(b);
	free(f);
}
END_TEST

/* A super-frame the kernel would refuse is refused in both modes. */
START_TEST(test_memlink_refuses_malformed_superframes)
{
	for (int mode = MEMLINK_OFFLOAD_VETH; mode <= MEMLINK_OFFLOAD_WIRE; mode++) {
		struct netdev *a, *b;
		uint8_t f[8000], g[8000];
		struct mk m = mk_default(4 * MSS_TS, true);
		size_t hdr, len = mk_tcp(f, &m, &hdr);
		struct netdev_offload o;
		unsigned bad = 0;

		ml_pair(&a, &b, 64, (enum memlink_offload)mode, (enum memlink_offload)mode);
#define REFUSED(what, want) do {                                                        \
	ck_assert_msg(netdev_send_offload(a, g, len, &o, 0) == (want),                  \
		      "%s mode: %s not refused with %s", mode_name[mode], what, #want); \
	bad++;                                                                          \
} while (0)
		memcpy(g, f, len);
		o = tcp_off(hdr, MSS_TS);
		o.hdr_len--;
		REFUSED("a wrong hdr_len", -EINVAL);
		o = tcp_off(hdr, MSS_TS);
		o.csum_start -= 2;
		REFUSED("a wrong csum_start", -EINVAL);
		o = tcp_off(hdr, MSS_TS);
		o.csum_offset = 6;
		REFUSED("a UDP csum_offset", -EINVAL);
		o = tcp_off(hdr, (uint16_t)(1500 - (hdr - ETH_HLEN) + 1));
		REFUSED("segments beyond the MTU", -EMSGSIZE);
		o = tcp_off(hdr, MSS_TS);
		g[ETH_HLEN + 10] ^= 1;
		REFUSED("a bad IP header checksum", -EINVAL);
		memcpy(g, f, len);
		g[ETH_HLEN + 9] = IPPROTO_UDP_;
		wr16(g + ETH_HLEN + 10, 0);
		wr16(g + ETH_HLEN + 10, inet_checksum(g + ETH_HLEN, IPV4_HLEN));
		REFUSED("UDP", -EINVAL);
		memcpy(g, f, len);
		wr16(g + ETH_HLEN + 6, IPV4_FLAG_MF);
		wr16(g + ETH_HLEN + 10, 0);
		wr16(g + ETH_HLEN + 10, inet_checksum(g + ETH_HLEN, IPV4_HLEN));
		REFUSED("a fragment", -EINVAL);
		memcpy(g, f, len);
		wr16(g + ETH_HLEN + 2, (uint16_t)(len - ETH_HLEN + 1));
		wr16(g + ETH_HLEN + 10, 0);
		wr16(g + ETH_HLEN + 10, inet_checksum(g + ETH_HLEN, IPV4_HLEN));
		REFUSED("an IP total length past the frame", -EINVAL);
#undef REFUSED
		ck_assert_uint_eq(a->stats.tx_errors, bad);
		ck_assert_uint_eq(a->stats.tx_frames, 0);
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), -EAGAIN);
		/* And the good one passes. */
		o = tcp_off(hdr, MSS_TS);
		ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
		netdev_destroy(a);
		netdev_destroy(b);
	}
}
END_TEST

static int readable(struct netdev *d)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };

	ck_assert_int_ge(poll(&p, 1, 0), 0);
	return (p.revents & POLLIN) != 0;
}

START_TEST(test_memlink_wire_superframe_queued_all_or_nothing)
{
	struct netdev *a, *b;
	uint8_t *f = frame_buf(), g[1600], small[100];
	struct mk m = mk_default(10 * MSS_TS + 1, true);      /* 11 segments */
	size_t hdr, len = mk_tcp(f, &m, &hdr);
	struct netdev_offload o = tcp_off(hdr, MSS_TS);

	/* A queue that could never hold it. */
	ml_pair(&a, &b, 8, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -ENOBUFS);
	ck_assert_msg(!readable(b), "a refused super-frame left something queued");
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), -EAGAIN);
	netdev_destroy(a);
	netdev_destroy(b);

	/* A queue with room for some of it: none goes; once there is
	 * room, all of it, after what was there, and the fd says so. */
	ml_pair(&a, &b, 16, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	memset(small, 0x42, sizeof(small));
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(netdev_send(a, small, sizeof(small), 0), 0);
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), -ENOBUFS);
	ck_assert_uint_eq(a->stats.tx_errors, 1);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)sizeof(small));
	ck_assert_int_eq(netdev_send_offload(a, f, len, &o, 0), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)sizeof(small));
	for (int i = 0; i < 11; i++) {
		ck_assert_msg(readable(b), "b not readable with %d segments queued", 11 - i);
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0),
				 i < 10 ? ETH_HLEN + 1500 : ETH_HLEN + IPV4_HLEN + 32 + 1);
		ck_assert_uint_eq(rd32(g + ETH_HLEN + IPV4_HLEN + 4), m.seq + (uint32_t)i * MSS_TS);
	}
	ck_assert_msg(!readable(b), "b readable with an empty queue");
	netdev_destroy(a);
	netdev_destroy(b);
	free(f);
}
END_TEST

/* One thread sends numbered super-frames (4 segments each) through a
 * small queue, another takes the segments: they arrive in order, each
 * super-frame's segments one after another, with no spurious wake-up. */
#define TH_SUPERS       2000
#define TH_SEGS         4

struct th_run {
	struct netdev *a, *b;
	unsigned spurious;
};

static void *th_sender(void *arg)
{
	struct th_run *t = arg;
	uint8_t f[ETH_HLEN + IPV4_HLEN + 32 + TH_SEGS * 100];
	struct mk m = mk_default(TH_SEGS * 100, true);

	for (unsigned i = 0; i < TH_SUPERS; i++) {
		size_t hdr, len;
		m.seq = i * TH_SEGS * 100;
		m.fill = (uint8_t)i;
		len = mk_tcp(f, &m, &hdr);
		struct netdev_offload o = tcp_off(hdr, 100);
		int rc;
		while ((rc = netdev_send_offload(t->a, f, len, &o, 0)) == -ENOBUFS)
			sched_yield();
		if (rc != 0)
			break;
	}
	return NULL;
}

START_TEST(test_memlink_wire_segments_in_order_across_threads)
{
	struct th_run t = { 0 };
	pthread_t th;
	uint8_t g[1600];
	struct pollfd p;
	unsigned got = 0;

	ml_pair(&t.a, &t.b, 10, MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE);
	ck_assert_int_eq(pthread_create(&th, NULL, th_sender, &t), 0);
	p.fd = t.b->fd;
	p.events = POLLIN;
	while (got < TH_SUPERS * TH_SEGS) {
		if (poll(&p, 1, 5000) <= 0)
			break;
		ssize_t n = netdev_recv(t.b, g, sizeof(g), 0);
		if (n == -EAGAIN) {
			t.spurious++;
			continue;
		}
		for (; n > 0; n = netdev_recv(t.b, g, sizeof(g), 0)) {
			uint32_t seq = rd32(g + ETH_HLEN + IPV4_HLEN + 4);
			ck_assert_msg(seq == got * 100, "segment %u has seq %u", got, seq);
			ck_assert_int_eq(inet_checksum(g + ETH_HLEN, IPV4_HLEN), 0);
			got++;
		}
	}
	pthread_join(th, NULL);
	ck_assert_uint_eq(got, TH_SUPERS * TH_SEGS);
	ck_assert_uint_eq(t.spurious, 0);
	ck_assert_uint_eq(t.a->stats.tx_gso, TH_SUPERS);
	netdev_destroy(t.a);
	netdev_destroy(t.b);
}
END_TEST

/* --- capture devices: what each stack sent and received --- */

struct cap_rec {
	uint64_t ev;            /* order across both devices */
	bool tx;                /* sent by the stack, else received */
	bool offload;           /* tx: through send_offload */
	uint16_t gso;           /* tx: gso_size asked for; rx: rx.gso_size */
	enum netdev_rxcsum csum; /* rx: what the device said */
	size_t len;
	bool tcp;               /* an unfragmented TCP/IPv4 segment */
	bool csum_good;         /* its TCP checksum verifies as it stands */
	uint32_t seq, ack, plen;
	uint8_t flags;
};

struct capdev {
	struct netdev d;        /* first: a netdev * is a capdev * */
	struct netdev *lower;
	struct cap_rec *r;
	size_t n, cap;
	/* Not 0: recv() says -EAGAIN after every rx_batch frames, so the
	 * stack handles (and acknowledges) that many per poll, as a host
	 * taking one interrupt per segment or two would. */
	unsigned rx_batch, rx_run;
};

static uint64_t cap_ev;

static void cap_record(struct capdev *c, bool tx, const uint8_t *f, size_t len, bool offload,
		       uint16_t gso, enum netdev_rxcsum csum)
{
	struct cap_rec r = {
		.ev = cap_ev++, .tx = tx, .offload = offload, .gso = gso, .csum = csum,
		.len = len,
	};
	struct ipv4_repr ip;
	struct tcp_repr th;

	if (len >= ETH_HLEN + IPV4_HLEN && rd16(f + 12) == ETHERTYPE_IPV4 &&
	    ipv4_parse(f + ETH_HLEN, len - ETH_HLEN, &ip) == WIRE_OK &&
	    ip.proto == IPPROTO_TCP_ && !ip.mf && !ip.frag_off &&
	    tcp_parse_verified(f + ETH_HLEN + ip.hlen, ip.total_len - ip.hlen, ip.src, ip.dst,
			       &th) == WIRE_OK) {
		r.tcp = true;
		r.csum_good = tcp_parse(f + ETH_HLEN + ip.hlen, ip.total_len - ip.hlen, ip.src,
					ip.dst, &th) == WIRE_OK;
		r.seq = th.seq;
		r.ack = th.ack;
		r.flags = th.flags;
		r.plen = (uint32_t)(ip.total_len - ip.hlen - th.hlen);
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
		ck_assert_ptr_nonnull(c->r);
	}
	c->r[c->n++] = r;
}

static int cap_send(struct netdev *d, const uint8_t *f, size_t len, uint64_t now)
{
	struct capdev *c = (struct capdev *)d;
	int rc;

	cap_record(c, true, f, len, false, 0, NETDEV_CSUM_NONE);
	rc = netdev_send(c->lower, f, len, now);
	c->d.stats = c->lower->stats;
	return rc;
}

static int cap_send_offload(struct netdev *d, const uint8_t *f, size_t len,
			    const struct netdev_offload *o, uint64_t now)
{
	struct capdev *c = (struct capdev *)d;
	int rc;

	cap_record(c, true, f, len, true, o->gso_size, NETDEV_CSUM_NONE);
	rc = netdev_send_offload(c->lower, f, len, o, now);
	c->d.stats = c->lower->stats;
	return rc;
}

static ssize_t cap_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct capdev *c = (struct capdev *)d;
	ssize_t n;

	if (c->rx_batch && ++c->rx_run > c->rx_batch) {
		c->rx_run = 0;
		c->d.rx.csum = NETDEV_CSUM_NONE;
		c->d.rx.gso_size = 0;
		return -EAGAIN;
	}
	n = netdev_recv(c->lower, buf, cap, now);
	c->d.rx = c->lower->rx;
	c->d.stats = c->lower->stats;
	if (n > 0)
		cap_record(c, false, buf, (size_t)n, false, c->d.rx.gso_size, c->d.rx.csum);
	return n;
}

static uint64_t cap_poll_at(struct netdev *d)
{
	return netdev_poll_at(((struct capdev *)d)->lower);
}

static void cap_destroy(struct netdev *d)
{
	struct capdev *c = (struct capdev *)d;

	netdev_destroy(c->lower);
	free(c->r);
	free(c);
}

static const struct netdev_ops cap_ops = {
	.send = cap_send, .recv = cap_recv, .send_offload = cap_send_offload,
	.poll_at = cap_poll_at, .destroy = cap_destroy,
};
static const struct netdev_ops cap_ops_plain = {
	.send = cap_send, .recv = cap_recv, .poll_at = cap_poll_at, .destroy = cap_destroy,
};

static struct capdev *cap_wrap(struct netdev *lower)
{
	struct capdev *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->lower = lower;
	c->d.ops = lower->ops->send_offload ? &cap_ops : &cap_ops_plain;
	snprintf(c->d.name, sizeof(c->d.name), "cap");
	c->d.fd = lower->fd;
	c->d.steer_fd = lower->steer_fd;
	c->d.steer_outgoing = lower->steer_outgoing;
	c->d.mtu = lower->mtu;
	c->d.features = lower->features;
	memcpy(c->d.hwaddr, lower->hwaddr, sizeof(c->d.hwaddr));
	return c;
}

/* MTCP_OFFLOAD_DUMP=1: print both captures in order (for a test run alone,
 * CK_RUN_CASE / CK_RUN_SUITE and CK_FORK=no). */
static void cap_dump(struct capdev *c0, struct capdev *c1)
{
	size_t i = 0, j = 0;

	if (!getenv("MTCP_OFFLOAD_DUMP"))
		return;
	while (i < c0->n || j < c1->n) {
		bool first = j >= c1->n || (i < c0->n && c0->r[i].ev < c1->r[j].ev);
		const struct cap_rec *r = first ? &c0->r[i++] : &c1->r[j++];
		char fl[H_FLAGS_LEN];
		fprintf(stderr, "%6llu %s %s len %5zu gso %4u csum %d%s",
			(unsigned long long)r->ev, first ? "A" : "B", r->tx ? "tx" : "rx", r->len,
			r->gso, r->csum, r->offload ? " off" : "");
		if (r->tcp)
			fprintf(stderr, " %s seq %u ack %u len %u%s", h_tcp_flags(r->flags, fl),
				r->seq, r->ack, r->plen, r->csum_good ? "" : " (csum unfinished)");
		fputc('\n', stderr);
	}
}

/* --- two stacks over an offloading memlink --- */

struct ocfg {
	enum memlink_offload mode[2];   /* A's end, B's end */
	unsigned feat[2];               /* 0: FEAT_ALL (with a mode) */
	bool no_offload[2];             /* cfg.no_offload: MTCP_OFFLOAD=off */
	const struct impair_cfg *imp;   /* wraps A's end (over the memlink) */
};

static struct pair p;
static struct capdev *cap[2];           /* each stack's device */
static struct netdev *ml[2];            /* the memlink ends below */

static struct stack *mk_stack(struct netdev *dev, uint32_t addr, const uint8_t *mac,
			      uint64_t seed, bool no_offload)
{
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP, .addr = addr, .prefix = 24, .has_mac = true,
		.mtu = p.mtu, .seed = seed, .no_offload = no_offload,
	};
	struct mtcp_clock clk = mtcp_virtual_clock(&p.now);
	struct stack *st;

	memcpy(cfg.mac, mac, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(mtcp_stack_create(&cfg, dev, &clk, &st), 0);
	return st;
}

static void off_setup(const struct ocfg *c)
{
	struct netdev *d[2];

	memset(&p, 0, sizeof(p));
	p.now = 1000 * SEC;
	p.mtu = 1500;
	cap_ev = 0;
	ck_assert_int_eq(memlink_pair(&d[0], &d[1], p.mtu, QLEN), 0);
	for (int i = 0; i < 2; i++) {
		ml[i] = d[i];
		if (c->mode[i] != MEMLINK_OFFLOAD_NONE || c->feat[i])
			ck_assert_int_eq(memlink_set_offload(d[i], c->feat[i] ? c->feat[i] :
							     FEAT_ALL, c->mode[i]), 0);
	}
	/* After the offloads: impair sizes its buffers from them. */
	if (c->imp) {
		d[0] = impair_wrap(d[0], c->imp);
		ck_assert_ptr_nonnull(d[0]);
		p.imp = d[0];
	}
	for (int i = 0; i < 2; i++)
		cap[i] = cap_wrap(d[i]);
	p.a = mk_stack(&cap[0]->d, PAIR_A_IP, PAIR_A_MAC, 0xa11ce, c->no_offload[0]);
	p.b = mk_stack(&cap[1]->d, PAIR_B_IP, PAIR_B_MAC, 0xb0b, c->no_offload[1]);
}

static void off_setup_mode(enum memlink_offload mode)
{
	struct ocfg c = { .mode = { mode, mode } };

	off_setup(&c);
}

static struct stack_stats stats_of(struct stack *st)
{
	struct stack_stats s;

	mtcp_stack_stats(st, &s);
	return s;
}

/* Drops only a damaged frame explains, on st. */
static uint64_t damage_drops(struct stack *st)
{
	static const enum drop_reason r[] = {
		DROP_IP_TRUNC, DROP_IP_BAD_VERSION, DROP_IP_BAD_HLEN, DROP_IP_BAD_LEN,
		DROP_IP_BAD_CSUM, DROP_IP_BAD_OPTIONS, DROP_TCP_MALFORMED, DROP_TCP_BAD_CSUM,
		DROP_TCP_BAD_OPTIONS,
	};
	struct stack_stats s = stats_of(st);
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		n += s.drops[r[i]];
	return n;
}

static bool leak_free(void *unused)
{
	(void)unused;
	return usage(p.a).tcp_pcbs == 0 && p.a->nsockets == 0 && usage(p.b).tcp_pcbs == 0 &&
	       p.b->nsockets == 0;
}

/* Close both and run until TIME-WAIT is over: nothing may be left. */
static void close_and_settle(struct mtcp_sock *a, struct mtcp_sock *b)
{
	mtcp_close(a);
	mtcp_close(b);
	ck_assert_msg(pair_run_until(&p, leak_free, NULL, PAST_TIME_WAIT + 60 * SEC),
		      "after close: A holds %u control blocks and %u sockets, B %u and %u",
		      usage(p.a).tcp_pcbs, p.a->nsockets, usage(p.b).tcp_pcbs, p.b->nsockets);
}

static void run_xfer(struct mtcp_sock *a, struct mtcp_sock *b, size_t ab, size_t ba,
		     uint64_t max_us, const char *what)
{
	struct pair_xfer x;

	pair_xfer_init(&x, &p, a, b, ab, ba);
	x.chunk = x.rchunk = 65536;
	ck_assert_msg(pair_xfer_run(&x, max_us), "%s: %s", what, x.err);
}

/* Frames side i sent: with TSO (gso), their count; the largest. */
struct tx_summary {
	unsigned frames, tcp, supers, offloaded, bad_partial_plain;
	size_t largest_plain, largest_super;
	uint32_t largest_gso;
};

static struct tx_summary tx_summary(int i)
{
	struct tx_summary s = { 0 };

	for (size_t k = 0; k < cap[i]->n; k++) {
		const struct cap_rec *r = &cap[i]->r[k];
		if (!r->tx)
			continue;
		s.frames++;
		s.offloaded += r->offload;
		s.tcp += r->tcp;
		if (r->gso) {
			s.supers++;
			if (r->len > s.largest_super)
				s.largest_super = r->len;
			if (r->gso > s.largest_gso)
				s.largest_gso = r->gso;
		} else if (r->len > s.largest_plain) {
			s.largest_plain = r->len;
		}
		/* A frame sent without offload must be finished. */
		if (r->tcp && !r->offload && !r->csum_good)
			s.bad_partial_plain++;
	}
	return s;
}

/* Of the frames side i received: how many, how many merged (rx.gso_size),
 * how many said PARTIAL, the largest. */
struct rx_summary {
	unsigned frames, tcp, merged, partial;
	size_t largest;
};

static struct rx_summary rx_summary(int i)
{
	struct rx_summary s = { 0 };

	for (size_t k = 0; k < cap[i]->n; k++) {
		const struct cap_rec *r = &cap[i]->r[k];
		if (r->tx)
			continue;
		s.frames++;
		s.tcp += r->tcp;
		s.merged += r->gso != 0;
		s.partial += r->csum == NETDEV_CSUM_PARTIAL;
		if (r->len > s.largest)
			s.largest = r->len;
	}
	return s;
}

/* Common checks of a bulk transfer over an offloading link in mode. */
static void check_offloaded_both_ways(enum memlink_offload mode)
{
	for (int i = 0; i < 2; i++) {
		const char *who = i ? "B" : "A";
		struct stack *st = i ? p.b : p.a;
		struct stack_stats s = stats_of(st);
		struct tx_summary tx = tx_summary(i);
		struct rx_summary rx = rx_summary(!i);

		ck_assert_msg(s.tcp_tx_tso > 0, "%s sent no TSO super-frame (%s mode)", who,
			      mode_name[mode]);
		ck_assert_msg(s.drops[DROP_DEV_TX_FAIL] == 0, "%s: %llu frames refused by the "
			      "device", who, (unsigned long long)s.drops[DROP_DEV_TX_FAIL]);
		ck_assert_uint_eq(ml[i]->stats.tx_gso, s.tcp_tx_tso);
		ck_assert_uint_eq(tx.supers, s.tcp_tx_tso);
		ck_assert_msg(tx.offloaded == tx.tcp, "%s: %u of %u TCP frames sent without "
			      "checksum offload", who, tx.tcp - tx.offloaded, tx.tcp);
		ck_assert_msg(tx.largest_plain <= ETH_HLEN + 1500, "%s sent a %zu-byte frame "
			      "without TSO", who, tx.largest_plain);
		ck_assert_msg(tx.largest_super > ETH_HLEN + 1500,
			      "%s's super-frames are at most %zu bytes", who, tx.largest_super);
		ck_assert_msg(tx.largest_gso <= MSS_TS, "%s asked for %u-byte segments, above "
			      "the MSS", who, tx.largest_gso);
		ck_assert_msg(s.drops[DROP_TCP_BAD_CSUM] == 0 && s.drops[DROP_IP_BAD_CSUM] == 0,
			      "%s dropped %llu TCP and %llu IP bad checksums", who,
			      (unsigned long long)s.drops[DROP_TCP_BAD_CSUM],
			      (unsigned long long)s.drops[DROP_IP_BAD_CSUM]);
		if (mode == MEMLINK_OFFLOAD_VETH) {
			/* The peer got them whole, trusted, and GRO'd. */
			ck_assert_msg(rx.merged == s.tcp_tx_tso, "%s got %u merged frames of "
				      "the %llu %s sent", i ? "A" : "B", rx.merged,
				      (unsigned long long)s.tcp_tx_tso, who);
			ck_assert_uint_eq(ml[!i]->stats.rx_merged, rx.merged);
			ck_assert_uint_eq(rx.partial, rx.tcp);
		} else {
			/* Segments within the MTU, every checksum checked. */
			ck_assert_uint_eq(rx.merged, 0);
			ck_assert_uint_eq(rx.partial, 0);
			ck_assert_msg(rx.largest <= ETH_HLEN + 1500, "%s received a %zu-byte "
				      "frame on a wire", i ? "A" : "B", rx.largest);
			ck_assert_msg(rx.frames > tx.frames, "%s received %u frames for %u "
				      "sent: nothing was cut", i ? "A" : "B", rx.frames, tx.frames);
		}
	}
}

START_TEST(test_bulk_both_ways_over_offload_link)
{
	enum memlink_offload mode = _i ? MEMLINK_OFFLOAD_WIRE : MEMLINK_OFFLOAD_VETH;
	struct mtcp_sock *a, *b;

	off_setup_mode(mode);
	ck_assert_uint_eq(p.a->offload, FEAT_ALL);
	ck_assert_uint_eq(p.a->tso_max, TSO_MAX_PAYLOAD);
	pair_connect(&p, 80, &a, &b);
	run_xfer(a, b, 4 * MB, 4 * MB + 1, 60 * SEC, mode_name[mode]);
	check_offloaded_both_ways(mode);
	close_and_settle(a, b);
	pair_teardown(&p);
}
END_TEST

/* Does side i's capture hold a data frame with a short segment (payload
 * not a multiple of mss) sent while an earlier short segment was still
 * unacknowledged? Nagle, in Minshall's form as Linux has it, forbids it
 * (RFC 1122 4.2.3.4: at most one small segment in flight) and TSO must not
 * smuggle one inside a super-frame. Returns how many such frames; the
 * first is described in buf. *in_super counts the super-frames that ended
 * in a short segment while any data was unacknowledged (what Minshall
 * allows and classic Nagle would not). */
static unsigned nagle_violations(int i, uint32_t mss, char *buf, size_t len, unsigned *in_super)
{
	const struct capdev *c = cap[i];
	uint32_t acked = 0, sml = 0;
	bool have = false, have_sml = false;
	unsigned bad = 0;

	buf[0] = 0;
	*in_super = 0;
	for (size_t k = 0; k < c->n; k++) {
		const struct cap_rec *r = &c->r[k];
		if (!r->tcp)
			continue;
		if (!r->tx) {
			if ((r->flags & TH_ACK) && (!have || SEQ_GT(r->ack, acked))) {
				acked = r->ack;
				have = true;
			}
			continue;
		}
		if (r->plen == 0 || r->plen % mss == 0)
			continue;
		/* New data past the last short segment while that one is
		 * unacknowledged (a resend below it is no new segment). */
		if (r->gso && !(have && SEQ_GEQ(acked, r->seq)))
			(*in_super)++;
		if (have_sml && (!have || SEQ_GT(sml, acked)) && SEQ_GEQ(r->seq, sml)) {
			if (!bad++)
				snprintf(buf, len, "seq %u: %u bytes (gso %u) sent while the short "
					 "segment ending at %u was unacknowledged (acked to %u)",
					 r->seq, r->plen, r->gso, sml, acked);
		}
		sml = r->seq + r->plen;
		have_sml = true;
	}
	return bad;
}

struct rd {
	struct mtcp_sock *s;
	size_t got;
	bool eof, bad;
};

/* Read what s has, checking it is the test pattern (fill_payload, 0x5c). */
static bool read_all(void *arg)
{
	struct rd *r = arg;
	uint8_t buf[65536], want[65536];
	ssize_t n;

	while (!r->eof && (n = mtcp_recvfrom(r->s, buf, sizeof(buf), 0, NULL)) >= 0) {
		if (n == 0) {
			r->eof = true;
			break;
		}
		fill_payload(want, (size_t)n, 0x5c, r->got);
		r->bad |= memcmp(buf, want, (size_t)n) != 0;
		r->got += (size_t)n;
	}
	return r->eof;
}

#define BULK_SEGS       40

/* Of A's frames in the last bulk_then_small, the super-frames with FIN. */
static unsigned super_fins;

/* A's first sequence number of data: its SYN's + 1. */
static uint32_t a_data_seq(void)
{
	for (size_t k = 0; k < cap[0]->n; k++)
		if (cap[0]->r[k].tx && cap[0]->r[k].tcp && (cap[0]->r[k].flags & TH_SYN))
			return cap[0]->r[k].seq + 1;
	ck_abort_msg("A sent no SYN");
	return 0;
}

/*
 * A writes a bulk of BULK_SEGS full segments in one call, then tail bytes
 * in another, then shuts down (fin); B reads it all, checking every byte,
 * then shuts down too. A's send buffer holds it all at once, so most of
 * it waits for cwnd. On the wire link B takes two segments per poll and
 * acknowledges them, so A's window opens while data is still in flight,
 * which is when Nagle matters (on the veth link one ACK covers each
 * super-frame). Returns A's Nagle violations (see nagle_violations); the
 * connection is closed and settled.
 */
static unsigned bulk_then_small(enum memlink_offload mode, bool nodelay, size_t tail, bool fin,
				char *why, size_t whylen, unsigned *in_super)
{
	static uint8_t buf[BULK_SEGS * MSS_TS + 1000];
	size_t bulk = BULK_SEGS * MSS_TS;
	struct mtcp_sock *a, *b;
	struct rd r = { 0 };

	ck_assert(tail <= 1000);
	off_setup_mode(mode);
	pair_connect(&p, 80, &a, &b);
	if (mode == MEMLINK_OFFLOAD_WIRE)
		cap[1]->rx_batch = 2;
	if (nodelay)
		h_sock_set_int(a, IPPROTO_TCP, TCP_NODELAY, 1);
	h_sock_set_int(a, SOL_SOCKET, SO_SNDBUF, 1 << 20);
	uint32_t mss = h_tcp_info(a).tcpi_snd_mss;
	ck_assert_uint_eq(mss, MSS_TS);
	fill_payload(buf, bulk + tail, 0x5c, 0);
	ck_assert_int_eq(mtcp_sendto(a, buf, bulk, 0, NULL), (ssize_t)bulk);
	ck_assert_int_eq(mtcp_sendto(a, buf + bulk, tail, 0, NULL), (ssize_t)tail);
	if (fin)
		ck_assert_int_eq(mtcp_shutdown(a, SHUT_WR), 0);
	r.s = b;
	if (fin) {
		ck_assert_msg(pair_run_until(&p, read_all, &r, 10 * SEC),
			      "%s mode: B got %zu of %zu bytes and no EOF", mode_name[mode], r.got,
			      bulk + tail);
		ck_assert_uint_eq(r.got, bulk + tail);
	} else {
		pair_run(&p, 5 * SEC);
		read_all(&r);
		ck_assert_msg(r.got == bulk + tail, "%s mode: B got %zu of %zu bytes",
			      mode_name[mode], r.got, bulk + tail);
	}
	ck_assert_msg(!r.bad, "B received wrong bytes");
	ck_assert_msg(stats_of(p.a).tcp_tx_tso > 0, "no super-frame sent");
	unsigned bad = nagle_violations(0, mss, why, whylen, in_super);
	cap_dump(cap[0], cap[1]);
	if (fin) {
		/* B saw FIN only at the end of A's stream, however A cut it. */
		uint32_t end = a_data_seq() + (uint32_t)(bulk + tail);
		unsigned fins = 0;
		for (size_t k = 0; k < cap[1]->n; k++) {
			const struct cap_rec *rr = &cap[1]->r[k];
			if (rr->tx || !rr->tcp || !(rr->flags & TH_FIN))
				continue;
			fins++;
			ck_assert_msg(rr->seq + rr->plen == end, "%s mode: B got a FIN on a "
				      "segment ending %d bytes from the stream's end", mode_name[mode],
				      (int)(rr->seq + rr->plen - end));
		}
		ck_assert_msg(fins >= 1, "B never received A's FIN");
		super_fins = 0;
		for (size_t k = 0; k < cap[0]->n; k++)
			super_fins += cap[0]->r[k].tx && cap[0]->r[k].gso &&
				      (cap[0]->r[k].flags & TH_FIN);
		ck_assert_int_eq(mtcp_shutdown(b, SHUT_WR), 0);
	}
	close_and_settle(a, b);
	pair_teardown(&p);
	return bad;
}

START_TEST(test_nagle_keeps_short_tail_out_of_superframes)
{
	enum memlink_offload mode = _i ? MEMLINK_OFFLOAD_WIRE : MEMLINK_OFFLOAD_VETH;
	char why[200];
	unsigned in_super;
	unsigned bad = bulk_then_small(mode, false, 100, false, why, sizeof(why), &in_super);

	ck_assert_msg(bad == 0, "%s mode, Nagle on: %u short segments sent while data was in "
		      "flight; the first: %s", mode_name[mode], bad, why);
}
END_TEST

/* The capture does see a short tail go inside a super-frame while data is
 * in flight (TCP_NODELAY), so the check above could fail. */
START_TEST(test_nodelay_lets_short_tail_ride_in_superframe)
{
	char why[200];
	unsigned in_super;

	(void)bulk_then_small(MEMLINK_OFFLOAD_WIRE, true, 100, false, why, sizeof(why), &in_super);
	ck_assert_msg(in_super > 0, "with TCP_NODELAY, no short tail went in a super-frame "
		      "while data was in flight: the Nagle test above proves nothing");
}
END_TEST

/* Bulk data, a short tail and FIN at once, Nagle on or off: the FIN
 * arrives once, after the last byte (on the wire link, only on the last
 * segment of a super-frame), and close completes. */
START_TEST(test_fin_after_bulk_data_over_offload_link)
{
	enum memlink_offload mode = _i & 1 ? MEMLINK_OFFLOAD_WIRE : MEMLINK_OFFLOAD_VETH;
	bool nodelay = _i & 2;
	char why[200];
	unsigned in_super;
	unsigned bad = bulk_then_small(mode, nodelay, 777, true, why, sizeof(why), &in_super);

	/* A FIN is never held back by Nagle (nor in Linux: tcp_nagle_test);
	 * with TCP_NODELAY the tail and the FIN ride with the last
	 * super-frame. */
	(void)bad;
	if (nodelay)
		ck_assert_msg(super_fins > 0, "%s mode, TCP_NODELAY: the FIN never went in a "
			      "super-frame", mode_name[mode]);
}
END_TEST

/* MTCP_OFFLOAD=off: the device offers everything, the stack uses none. */
START_TEST(test_offload_off_sends_plain_frames)
{
	struct ocfg c = { .mode = { MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_VETH },
			  .no_offload = { true, true } };
	struct mtcp_sock *a, *b;

	off_setup(&c);
	ck_assert_uint_eq(p.a->offload, 0);
	ck_assert_uint_eq(p.a->tso_max, 0);
	pair_connect(&p, 80, &a, &b);
	run_xfer(a, b, MB, MB, 30 * SEC, "offload off");
	for (int i = 0; i < 2; i++) {
		struct stack_stats s = stats_of(i ? p.b : p.a);
		struct tx_summary tx = tx_summary(i);
		ck_assert_uint_eq(s.tcp_tx_tso, 0);
		ck_assert_uint_eq(ml[i]->stats.tx_gso, 0);
		ck_assert_uint_eq(ml[i]->stats.rx_merged, 0);
		ck_assert_msg(tx.offloaded == 0, "%u frames sent with offloads", tx.offloaded);
		ck_assert_uint_le(tx.largest_plain, ETH_HLEN + 1500);
		ck_assert_msg(tx.bad_partial_plain == 0, "%u TCP frames sent with an unfinished "
			      "checksum", tx.bad_partial_plain);
		ck_assert_uint_eq(rx_summary(i).partial, 0);
	}
	close_and_settle(a, b);
	pair_teardown(&p);
}
END_TEST

/* A with MTCP_OFFLOAD=off on a link whose peer sends TSO super-frames
 * with partial checksums (a veth from a kernel with offloads): A takes
 * the super-frames, finishes and checks every checksum itself. */
START_TEST(test_offload_off_receiver_takes_partial_superframes)
{
	struct ocfg c = { .mode = { MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_VETH },
			  .no_offload = { true, false } };
	struct mtcp_sock *a, *b;

	off_setup(&c);
	pair_connect(&p, 80, &a, &b);
	run_xfer(a, b, MB, 2 * MB, 30 * SEC, "receiver with offload off");
	struct stack_stats sa = stats_of(p.a), sb = stats_of(p.b);
	struct rx_summary rx = rx_summary(0);
	ck_assert_uint_gt(sb.tcp_tx_tso, 0);
	ck_assert_uint_eq(sa.tcp_tx_tso, 0);
	ck_assert_uint_eq(rx.merged, sb.tcp_tx_tso);
	ck_assert_uint_gt(rx.partial, 0);
	ck_assert_uint_eq(damage_drops(p.a), 0);
	ck_assert_uint_eq(damage_drops(p.b), 0);
	close_and_settle(a, b);
	pair_teardown(&p);
}
END_TEST

/* Checksum offload without TSO: every frame finished by the device, none
 * larger than the MTU. */
START_TEST(test_csum_offload_without_tso)
{
	unsigned f = NETDEV_F_RXCSUM | NETDEV_F_TXCSUM;
	struct ocfg c = { .mode = { MEMLINK_OFFLOAD_WIRE, MEMLINK_OFFLOAD_WIRE },
			  .feat = { f, f } };
	struct mtcp_sock *a, *b;

	off_setup(&c);
	ck_assert_uint_eq(p.a->offload, f);
	ck_assert_uint_eq(p.a->tso_max, 0);
	pair_connect(&p, 80, &a, &b);
	run_xfer(a, b, MB, MB, 30 * SEC, "checksum offload only");
	for (int i = 0; i < 2; i++) {
		struct tx_summary tx = tx_summary(i);
		ck_assert_uint_eq(stats_of(i ? p.b : p.a).tcp_tx_tso, 0);
		ck_assert_uint_eq(tx.supers, 0);
		ck_assert_uint_eq(tx.offloaded, tx.tcp);
		ck_assert_uint_le(tx.largest_plain, ETH_HLEN + 1500);
		ck_assert_uint_eq(damage_drops(i ? p.b : p.a), 0);
	}
	close_and_settle(a, b);
	pair_teardown(&p);
}
END_TEST

/*
 * Impairment over an offloading link. impair takes frames from the
 * memlink below, finishes their partial checksums and only then damages
 * them, and offers no checksum offload above: A must catch every
 * corrupted frame, super-frames included.
 */

/* The test plays B on the raw memlink end: it sends A (no socket on the
 * port) super-frames and partial frames through impair with corrupt = 1
 * (_i = 1) or 0 (_i = 0, the control: the same frames all verify). */
START_TEST(test_impair_corruption_of_superframes_always_caught)
{
	bool corrupt = _i;
	struct impair_cfg ic = { .corrupt = corrupt ? 1.0 : 0.0, .seed = 11 };
	struct netdev *da, *db, *imp;
	uint8_t *f = frame_buf();
	unsigned n = 0;

	memset(&p, 0, sizeof(p));
	p.now = 1000 * SEC;
	p.mtu = 1500;
	ml_pair(&da, &db, 256, MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_VETH);
	imp = impair_wrap(da, &ic);
	ck_assert_ptr_nonnull(imp);
	ck_assert_uint_eq(imp->features, NETDEV_F_RXGRO);
	p.a = mk_stack(imp, PAIR_A_IP, PAIR_A_MAC, 1, false);
	ck_assert_uint_eq(p.a->offload, NETDEV_F_RXGRO);
	for (size_t plen = 6; plen < IPV4_MAXLEN - 52; plen = plen * 3 + 1) {
		struct mk m = mk_default(plen, true);
		size_t hdr, len;
		m.seq += (uint32_t)plen;
		m.fill = (uint8_t)plen;
		len = mk_tcp(f, &m, &hdr);
		struct netdev_offload o = tcp_off(hdr, plen > MSS_TS ? MSS_TS : 0);
		ck_assert_int_eq(netdev_send_offload(db, f, len, &o, 0), 0);
		n++;
		while (mtcp_stack_poll(p.a))
			;
	}
	while (mtcp_stack_poll(p.a))
		;
	struct stack_stats s = stats_of(p.a);
	ck_assert_uint_eq(s.eth_rx, n);
	ck_assert_uint_eq(da->stats.rx_merged, db->stats.tx_gso);
	if (corrupt) {
		ck_assert_uint_eq(imp->stats.imp_corrupted, n);
		ck_assert_msg(damage_drops(p.a) == n, "%u frames corrupted, %llu dropped as "
			      "damaged; %llu reached TCP's socket lookup", n,
			      (unsigned long long)damage_drops(p.a),
			      (unsigned long long)s.drops[DROP_TCP_NO_SOCKET]);
		ck_assert_uint_eq(s.drops[DROP_TCP_NO_SOCKET], 0);
	} else {
		ck_assert_uint_eq(damage_drops(p.a), 0);
		ck_assert_msg(s.drops[DROP_TCP_NO_SOCKET] == n, "%llu of %u frames reached "
			      "TCP's socket lookup", (unsigned long long)s.drops[DROP_TCP_NO_SOCKET],
			      n);
	}
	mtcp_stack_destroy(p.a);
	netdev_destroy(db);
	free(f);
}
END_TEST

/* Loss, duplication, reordering and corruption on A's end, in both
 * directions, while B sends super-frames A receives whole (veth) or cut
 * (wire): the data arrives intact both ways. */
START_TEST(test_impaired_offload_link_delivers_intact_data)
{
	enum memlink_offload mode = _i ? MEMLINK_OFFLOAD_WIRE : MEMLINK_OFFLOAD_VETH;
	struct impair_cfg ic = { .loss = 0.02, .dup = 0.02, .reorder = 0.02, .corrupt = 0.01,
				 .seed = 3 };
	struct ocfg c = { .mode = { mode, mode }, .imp = &ic };
	struct mtcp_sock *a, *b;

	off_setup(&c);
	/* impair offers no checksum offload, and keeps RXGRO. */
	ck_assert_uint_eq(p.a->offload, NETDEV_F_RXGRO);
	pair_connect(&p, 80, &a, &b);
	run_xfer(a, b, MB, 2 * MB, 120 * SEC, mode_name[mode]);
	struct stack_stats sa = stats_of(p.a), sb = stats_of(p.b);
	ck_assert_uint_gt(sb.tcp_tx_tso, 0);
	ck_assert_uint_eq(sa.tcp_tx_tso, 0);
	ck_assert_uint_gt(p.imp->stats.imp_lost, 0);
	ck_assert_uint_gt(p.imp->stats.imp_dup, 0);
	ck_assert_uint_gt(p.imp->stats.imp_corrupted, 0);
	ck_assert_uint_gt(damage_drops(p.a) + damage_drops(p.b), 0);
	ck_assert_uint_gt(sa.tcp_retrans_segs + sb.tcp_retrans_segs, 0);
	if (mode == MEMLINK_OFFLOAD_VETH)
		ck_assert_uint_gt(ml[0]->stats.rx_merged, 0);
	else
		ck_assert_uint_eq(ml[0]->stats.rx_merged, 0);
	close_and_settle(a, b);
	pair_teardown(&p);
}
END_TEST

/* A connection to the stack's own address runs through the loopback
 * queue: no offload, no frame on the device, data intact. */
START_TEST(test_loopback_never_offloads)
{
	struct mtcp_sock *l, *c, *s;
	struct sockaddr_in to = h_sin(PAIR_A_IP, 8080);
	int rc;

	off_setup_mode(MEMLINK_OFFLOAD_VETH);
	ck_assert_uint_eq(p.a->offload, FEAT_ALL);
	l = pair_listen(p.a, 8080, 4);
	ck_assert_int_eq(mtcp_socket(p.a, SOCK_STREAM, &c), 0);
	rc = mtcp_connect(c, (const struct sockaddr *)&to, sizeof(to));
	ck_assert_msg(rc == -EINPROGRESS || rc == 0, "connect: %d", rc);
	pair_run(&p, SEC);
	ck_assert_int_eq(mtcp_accept(l, NULL, &s), 0);
	mtcp_close(l);
	run_xfer(c, s, 2 * MB, MB + 3, 30 * SEC, "loopback");
	struct stack_stats sa = stats_of(p.a);
	ck_assert_uint_eq(sa.tcp_tx_tso, 0);
	ck_assert_uint_eq(damage_drops(p.a), 0);
	for (size_t k = 0; k < cap[0]->n; k++)
		ck_assert_msg(!cap[0]->r[k].tcp, "a TCP frame went to the device");
	ck_assert_uint_eq(ml[0]->stats.tx_gso, 0);
	close_and_settle(c, s);
	pair_teardown(&p);
}
END_TEST

/* UDP: a datagram whose checksum a local sender left to the device
 * (PARTIAL) is delivered, by a stack that trusts it and by one that
 * finishes and checks it (MTCP_OFFLOAD=off). */
START_TEST(test_udp_partial_checksum_delivered)
{
	bool off = _i;
	struct netdev *da, *db;
	struct mtcp_sock *u;
	struct sockaddr_in at = h_sin(0, 53);
	uint8_t f[1600], got[1600], want[1600];

	memset(&p, 0, sizeof(p));
	p.now = 1000 * SEC;
	p.mtu = 1500;
	ml_pair(&da, &db, 16, MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_VETH);
	p.a = mk_stack(da, PAIR_A_IP, PAIR_A_MAC, 1, off);
	ck_assert_int_eq(mtcp_socket(p.a, SOCK_DGRAM, &u), 0);
	ck_assert_int_eq(mtcp_bind(u, &at), 0);
	for (size_t plen = 1; plen < 1472; plen += 333) {
		size_t len = mk_udp(f, plen, 53, true, (uint8_t)plen);
		struct netdev_offload o = { .csum_start = ETH_HLEN + IPV4_HLEN, .csum_offset = 6 };
		ck_assert_int_eq(netdev_send_offload(db, f, len, &o, 0), 0);
		while (mtcp_stack_poll(p.a))
			;
		ck_assert_int_eq(mtcp_recvfrom(u, got, sizeof(got), 0, NULL), (ssize_t)plen);
		fill_payload(want, plen, (uint8_t)plen, 0);
		EXPECT_BYTES(got, want, plen);
	}
	ck_assert_uint_eq(stats_of(p.a).drops[DROP_UDP_BAD_CSUM], 0);
	mtcp_close(u);
	mtcp_stack_destroy(p.a);
	netdev_destroy(db);
}
END_TEST

static Suite *offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *tc;

	tc = tcase_create("wire");
	tcase_add_test(tc, test_partial_then_completed_equals_full_checksum);
	tcase_add_test(tc, test_tcp_parse_verified_skips_only_the_checksum);
	tcase_add_test(tc, test_udp_parse_verified_skips_only_the_checksum);
	tcase_add_test(tc, test_vnet_tx_header_says_what_the_device_must_do);
	tcase_add_test(tc, test_vnet_rx_header_round_trips_and_resets);
	tcase_add_test(tc, test_csum_complete_leaves_other_frames_alone);
	tcase_add_test(tc, test_csum_complete_ignores_padding_and_never_sends_udp_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("memlink");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_memlink_offload_settings_checked);
	tcase_add_test(tc, test_memlink_veth_passes_superframe_whole_and_partial);
	tcase_add_test(tc, test_memlink_wire_cuts_superframe_like_gso);
	tcase_add_test(tc, test_memlink_wire_completes_plain_partial_frames);
	tcase_add_test(tc, test_memlink_wire_exposes_a_wrong_partial_checksum);
	tcase_add_test(tc, test_memlink_refuses_malformed_superframes);
	tcase_add_test(tc, test_memlink_wire_superframe_queued_all_or_nothing);
	tcase_add_test(tc, test_memlink_wire_segments_in_order_across_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_bulk_both_ways_over_offload_link, 0, 2);
	tcase_add_loop_test(tc, test_nagle_keeps_short_tail_out_of_superframes, 0, 2);
	tcase_add_test(tc, test_nodelay_lets_short_tail_ride_in_superframe);
	tcase_add_loop_test(tc, test_fin_after_bulk_data_over_offload_link, 0, 4);
	tcase_add_test(tc, test_offload_off_sends_plain_frames);
	tcase_add_test(tc, test_offload_off_receiver_takes_partial_superframes);
	tcase_add_test(tc, test_csum_offload_without_tso);
	tcase_add_loop_test(tc, test_impair_corruption_of_superframes_always_caught, 0, 2);
	tcase_add_loop_test(tc, test_impaired_offload_link_delivers_intact_data, 0, 2);
	tcase_add_test(tc, test_loopback_never_offloads);
	tcase_add_loop_test(tc, test_udp_partial_checksum_delivered, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(offload_suite)
