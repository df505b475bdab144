/* stack_harness.c - see stack_harness.h. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "stack_harness.h"
#include "wire/checksum.h"

const uint8_t STACK_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
const uint8_t PEER_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

void h_setup_with(struct harness *h, uint32_t gateway, unsigned mtu)
{
	struct netdev *ours;
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP,
		.addr = STACK_IP,
		.prefix = 24,
		.gateway = gateway,
		.has_mac = true,
		.mtu = mtu,
		.seed = 42,
	};

	memset(h, 0, sizeof(*h));
	h->now = 1000 * USEC_PER_SEC;
	h->ip_id = 1;
	memcpy(cfg.mac, STACK_MAC, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(memlink_pair(&ours, &h->peer, mtu ? mtu : 1500, 4096), 0);
	struct mtcp_clock clk = mtcp_virtual_clock(&h->now);
	ck_assert_int_eq(mtcp_stack_create(&cfg, ours, &clk, &h->st), 0);
}

void h_setup(struct harness *h)
{
	h_setup_with(h, 0, 0);
}

void h_teardown(struct harness *h)
{
	ck_assert_msg(h->st->nsockets == 0, "%u sockets left open", h->st->nsockets);
	mtcp_stack_destroy(h->st);
	netdev_destroy(h->peer);
}

void h_poll(struct harness *h)
{
	for (int i = 0; i < 1000 && mtcp_stack_poll(h->st); i++)
		;
}

void h_advance(struct harness *h, uint64_t us)
{
	uint64_t end = h->now + us;

	h_poll(h);
	for (;;) {
		uint64_t at = mtcp_stack_poll_at(h->st);
		if (at > end)
			break;
		if (at > h->now)
			h->now = at;
		h_poll(h);
	}
	h->now = end;
	h_poll(h);
}

bool h_next(struct harness *h, struct frame *f)
{
	ssize_t n;

	h_poll(h);
	memset(f, 0, sizeof(*f));
	n = netdev_recv(h->peer, f->buf, sizeof(f->buf), h->now);
	if (n <= 0)
		return false;
	f->len = (size_t)n;
	ck_assert_int_eq(eth_parse(f->buf, f->len, &f->eth), WIRE_OK);
	const uint8_t *p = f->buf + ETH_HLEN;
	size_t len = f->len - ETH_HLEN;
	if (f->eth.type == ETHERTYPE_ARP) {
		ck_assert_int_eq(arp_parse(p, len, &f->arp), WIRE_OK);
		f->is_arp = true;
		return true;
	}
	ck_assert_uint_eq(f->eth.type, ETHERTYPE_IPV4);
	ck_assert_msg(ipv4_parse(p, len, &f->ip) == WIRE_OK, "stack sent a bad IPv4 header");
	f->is_ip = true;
	f->l4 = p + f->ip.hlen;
	f->l4_len = f->ip.total_len - f->ip.hlen;
	if (f->ip.mf || f->ip.frag_off)
		return true;
	if (f->ip.proto == IPPROTO_ICMP_) {
		ck_assert_msg(icmp_parse(f->l4, f->l4_len, &f->icmp) == WIRE_OK,
			      "stack sent a bad ICMP message");
		f->is_icmp = true;
		f->data = f->l4 + ICMP_HLEN;
		f->data_len = f->l4_len - ICMP_HLEN;
	} else if (f->ip.proto == IPPROTO_UDP_) {
		ck_assert_msg(udp_parse(f->l4, f->l4_len, f->ip.src, f->ip.dst, &f->udp) == WIRE_OK,
			      "stack sent a bad UDP datagram");
		f->is_udp = true;
		f->data = f->l4 + UDP_HLEN;
		f->data_len = f->udp.len - UDP_HLEN;
	}
	return true;
}

size_t h_collect(struct harness *h, uint8_t *out, size_t cap, struct ipv4_repr *first,
		 unsigned *nfrags)
{
	struct frame f;
	size_t end = 0;
	unsigned n = 0;
	bool last = false;

	while (!last && h_next(h, &f)) {
		ck_assert_msg(f.is_ip, "frame %u is not IPv4", n);
		if (n == 0)
			*first = f.ip;
		ck_assert_msg(f.ip.id == first->id, "fragment %u has id %u, the first %u",
			      n, f.ip.id, first->id);
		ck_assert_msg(f.ip.frag_off == end, "fragment %u at offset %u, expected %zu",
			      n, f.ip.frag_off, end);
		ck_assert_msg(f.ip.total_len <= h->st->mtu, "fragment %u is %u bytes, over the "
			      "MTU %u", n, f.ip.total_len, h->st->mtu);
		last = !f.ip.mf;
		if (!last || n > 0) {
			ck_assert_msg(!f.ip.df, "fragment %u has DF set", n);
			ck_assert_msg(last || f.l4_len % 8 == 0, "fragment %u (MF) carries %zu "
				      "bytes, not a multiple of 8", n, f.l4_len);
		}
		ck_assert_uint_le(end + f.l4_len, cap);
		memcpy(out + end, f.l4, f.l4_len);
		end += f.l4_len;
		n++;
	}
	ck_assert_msg(last, "no fragment with MF clear among %u", n);
	if (nfrags)
		*nfrags = n;
	return end;
}

unsigned h_drain(struct harness *h)
{
	struct frame f;
	unsigned n = 0;

	while (h_next(h, &f))
		n++;
	return n;
}

void h_send_frame(struct harness *h, const void *frame, size_t len)
{
	ck_assert_int_eq(netdev_send(h->peer, frame, len, h->now), 0);
	h_poll(h);
}

void h_send_arp(struct harness *h, uint16_t op, uint32_t spa, uint32_t tpa)
{
	uint8_t frame[ETH_HLEN + ARP_LEN];
	struct eth_repr eth = { .type = ETHERTYPE_ARP };
	struct arp_repr a = { .op = op, .spa = spa, .tpa = tpa };

	memcpy(eth.dst, op == ARP_OP_REQUEST ? eth_broadcast : STACK_MAC, 6);
	memcpy(eth.src, PEER_MAC, 6);
	memcpy(a.sha, PEER_MAC, 6);
	if (op == ARP_OP_REPLY)
		memcpy(a.tha, STACK_MAC, 6);
	eth_emit(&eth, frame);
	arp_emit(&a, frame + ETH_HLEN);
	h_send_frame(h, frame, sizeof(frame));
}

size_t h_build_ip(struct harness *h, uint8_t *pkt, uint8_t proto, uint32_t src, uint32_t dst,
		  uint16_t id, bool mf, uint16_t frag_off, const void *payload, size_t len)
{
	struct ipv4_repr ip = {
		.total_len = (uint16_t)(IPV4_HLEN + len),
		.id = id ? id : h->ip_id++,
		.mf = mf,
		.frag_off = frag_off,
		.ttl = 64,
		.proto = proto,
		.src = src,
		.dst = dst,
	};

	ck_assert_uint_le(IPV4_HLEN + len, IPV4_MAXLEN);
	ipv4_emit(&ip, pkt);
	memmove(pkt + IPV4_HLEN, payload, len);
	return IPV4_HLEN + len;
}

size_t h_build_udp(struct harness *h, uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, const void *data, size_t len)
{
	struct udp_repr u = { .sport = sport, .dport = dport, .len = (uint16_t)(UDP_HLEN + len) };
	uint8_t *dgram = pkt + IPV4_HLEN;

	ck_assert_uint_le(IPV4_HLEN + UDP_HLEN + len, IPV4_MAXLEN);
	memmove(dgram + UDP_HLEN, data, len);
	udp_emit(&u, dgram, src, dst);
	return h_build_ip(h, pkt, IPPROTO_UDP_, src, dst, 0, false, 0, dgram, UDP_HLEN + len);
}

void h_send_packet(struct harness *h, const uint8_t *pkt, size_t len, bool link_bcast)
{
	static uint8_t frame[ETH_HLEN + IPV4_MAXLEN];
	struct eth_repr eth = { .type = ETHERTYPE_IPV4 };

	memcpy(eth.dst, link_bcast ? eth_broadcast : STACK_MAC, 6);
	memcpy(eth.src, PEER_MAC, 6);
	eth_emit(&eth, frame);
	memcpy(frame + ETH_HLEN, pkt, len);
	h_send_frame(h, frame, ETH_HLEN + len);
}

void h_send_ip_ex(struct harness *h, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id,
		  bool mf, uint16_t frag_off, const void *payload, size_t len, bool link_bcast)
{
	static uint8_t pkt[IPV4_MAXLEN];

	h_send_packet(h, pkt, h_build_ip(h, pkt, proto, src, dst, id, mf, frag_off, payload, len),
		      link_bcast);
}

void h_send_ip(struct harness *h, uint8_t proto, const void *payload, size_t len)
{
	h_send_ip_ex(h, proto, PEER_IP, STACK_IP, 0, false, 0, payload, len, false);
}

void h_send_udp(struct harness *h, uint16_t sport, uint16_t dport, const void *data, size_t len)
{
	static uint8_t pkt[IPV4_MAXLEN];

	h_send_packet(h, pkt, h_build_udp(h, pkt, PEER_IP, STACK_IP, sport, dport, data, len),
		      false);
}

void h_learn_peer(struct harness *h)
{
	h_send_arp(h, ARP_OP_REQUEST, PEER_IP, STACK_IP);
	h_drain(h);
}

uint64_t h_drop(struct harness *h, enum drop_reason r)
{
	struct stack_stats s;

	mtcp_stack_stats(h->st, &s);
	return s.drops[r];
}

uint64_t h_stat_udp_rx(struct harness *h)
{
	struct stack_stats s;

	mtcp_stack_stats(h->st, &s);
	return s.udp_rx;
}

struct sockaddr_in h_sin(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons(port);
	return a;
}

struct mtcp_sock *h_udp_socket(struct harness *h, uint16_t port)
{
	struct mtcp_sock *s;
	struct sockaddr_in a = h_sin(0, port);

	ck_assert_int_eq(mtcp_socket(h->st, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	mtcp_set_nonblock(s, true);
	return s;
}
