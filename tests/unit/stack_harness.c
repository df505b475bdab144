/* stack_harness.c - see stack_harness.h. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "socket.h"
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

void h_assert_socks_closed(struct stack *st, const char *who)
{
	unsigned total = 0, open = 0, nsockets;
	char first[64] = "";

	pthread_mutex_lock(&st->lock);
	nsockets = st->nsockets;
	for (struct mtcp_sock *s = st->socks; s; s = s->all_next) {
		total++;
		if (s->closed)
			continue;
		if (!open++)
			snprintf(first, sizeof(first), "%s port %u",
				 s->type == SOCK_STREAM ? "TCP" : s->type == SOCK_DGRAM ?
				 "UDP" : "?", s->lport);
	}
	pthread_mutex_unlock(&st->lock);
	ck_assert_msg(total == nsockets, "%s: %u sockets on the list, nsockets says %u",
		      who, total, nsockets);
	ck_assert_msg(open == 0, "%s: %u of %u sockets left open (not mtcp_close'd), "
		      "the first %s", who, open, total, first);
}

void h_teardown(struct harness *h)
{
	h_assert_socks_closed(h->st, "stack");
	mtcp_stack_destroy(h->st);
	netdev_destroy(h->peer);
}

void h_poll(struct harness *h)
{
	if (h->paused)
		return;
	for (int i = 0; i < 1000 && mtcp_stack_poll(h->st); i++)
		;
}

void h_advance(struct harness *h, uint64_t us)
{
	uint64_t end = h->now + us;

	if (h->paused) {
		h->now = end;
		return;
	}
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

const char *h_frame_parse(struct frame *f, size_t len)
{
	static char msg[160];
	enum wire_err e;

	memset(&f->eth, 0, sizeof(*f) - offsetof(struct frame, eth));
	f->len = len;
	if ((e = eth_parse(f->buf, f->len, &f->eth)) != WIRE_OK) {
		snprintf(msg, sizeof(msg), "bad Ethernet header: %s", wire_strerror(e));
		return msg;
	}
	const uint8_t *p = f->buf + ETH_HLEN;
	len = f->len - ETH_HLEN;
	if (f->eth.type == ETHERTYPE_ARP) {
		if ((e = arp_parse(p, len, &f->arp)) != WIRE_OK) {
			snprintf(msg, sizeof(msg), "bad ARP packet: %s", wire_strerror(e));
			return msg;
		}
		f->is_arp = true;
		return NULL;
	}
	if (f->eth.type != ETHERTYPE_IPV4) {
		snprintf(msg, sizeof(msg), "ethertype 0x%04x is neither ARP nor IPv4",
			 f->eth.type);
		return msg;
	}
	if ((e = ipv4_parse(p, len, &f->ip)) != WIRE_OK) {
		snprintf(msg, sizeof(msg), "bad IPv4 header: %s", wire_strerror(e));
		return msg;
	}
	f->is_ip = true;
	f->l4 = p + f->ip.hlen;
	f->l4_len = f->ip.total_len - f->ip.hlen;
	if (f->ip.mf || f->ip.frag_off)
		return NULL;
	if (f->ip.proto == IPPROTO_ICMP_) {
		if ((e = icmp_parse(f->l4, f->l4_len, &f->icmp)) != WIRE_OK) {
			snprintf(msg, sizeof(msg), "bad ICMP message: %s", wire_strerror(e));
			return msg;
		}
		f->is_icmp = true;
		f->data = f->l4 + ICMP_HLEN;
		f->data_len = f->l4_len - ICMP_HLEN;
	} else if (f->ip.proto == IPPROTO_UDP_) {
		e = udp_parse(f->l4, f->l4_len, f->ip.src, f->ip.dst, &f->udp);
		if (e != WIRE_OK) {
			snprintf(msg, sizeof(msg), "bad UDP datagram: %s", wire_strerror(e));
			return msg;
		}
		f->is_udp = true;
		f->data = f->l4 + UDP_HLEN;
		f->data_len = f->udp.len - UDP_HLEN;
	} else if (f->ip.proto == IPPROTO_TCP_) {
		e = tcp_parse(f->l4, f->l4_len, f->ip.src, f->ip.dst, &f->tcp);
		if (e != WIRE_OK) {
			snprintf(msg, sizeof(msg), "bad TCP segment: %s", wire_strerror(e));
			return msg;
		}
		f->is_tcp = true;
		f->data = f->l4 + f->tcp.hlen;
		f->data_len = f->l4_len - f->tcp.hlen;
	}
	return NULL;
}

bool h_next(struct harness *h, struct frame *f)
{
	const char *err;
	ssize_t n;

	h_poll(h);
	n = netdev_recv(h->peer, f->buf, sizeof(f->buf), h->now);
	if (n <= 0) {
		memset(&f->eth, 0, sizeof(*f) - offsetof(struct frame, eth));
		f->len = 0;
		return false;
	}
	err = h_frame_parse(f, (size_t)n);
	ck_assert_msg(err == NULL, "the stack sent a %zd-byte frame: %s", n, err);
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
	return s;
}

/* --- TCP: the wire side --- */

size_t h_build_tcp(struct harness *h, uint8_t *pkt, uint32_t src, uint32_t dst,
		   const struct tcp_repr *r, const void *data, size_t len)
{
	uint8_t *seg = pkt + IPV4_HLEN;
	size_t hl = tcp_header_len(r);

	ck_assert_uint_le(IPV4_HLEN + hl + len, IPV4_MAXLEN);
	if (len)
		memmove(seg + hl, data, len);
	ck_assert_uint_eq(tcp_emit(r, seg, len, src, dst), hl);
	return h_build_ip(h, pkt, IPPROTO_TCP_, src, dst, 0, false, 0, seg, hl + len);
}

void h_send_tcp_repr(struct harness *h, const struct tcp_repr *r, const void *data, size_t len)
{
	static uint8_t pkt[IPV4_MAXLEN];

	h_send_packet(h, pkt, h_build_tcp(h, pkt, PEER_IP, STACK_IP, r, data, len), false);
}

void h_send_tcp(struct harness *h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		uint8_t flags, uint16_t win, const struct tcp_opts *opt, const void *data,
		size_t len)
{
	struct tcp_repr r = {
		.sport = sport, .dport = dport, .seq = seq, .ack = ack,
		.flags = flags, .win = win,
	};

	if (opt)
		r.opt = *opt;
	h_send_tcp_repr(h, &r, data, len);
}

bool h_next_tcp(struct harness *h, struct frame *f)
{
	while (h_next(h, f)) {
		if (f->is_tcp)
			return true;
		h->skipped++;
		if (f->is_arp && f->arp.op == ARP_OP_REQUEST && f->arp.tpa == PEER_IP)
			h_send_arp(h, ARP_OP_REPLY, PEER_IP, f->arp.spa);
	}
	return false;
}

const char *h_tcp_flags(uint8_t flags, char *buf)
{
	static const struct { uint8_t bit; char c; } order[] = {
		{ TH_FIN, 'F' }, { TH_SYN, 'S' }, { TH_RST, 'R' }, { TH_PSH, 'P' },
		{ TH_ACK, '.' }, { TH_URG, 'U' }, { TH_ECE, 'E' }, { TH_CWR, 'W' },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (flags & order[i].bit)
			buf[n++] = order[i].c;
	if (!n)
		return strcpy(buf, "none");
	buf[n] = '\0';
	return buf;
}

/* snprintf at buf + *pos, never past len. */
static void appendf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void appendf(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = *pos + (size_t)n < len ? *pos + (size_t)n : len - 1;
}

const char *h_tcp_describe(const struct frame *f, char *buf, size_t len)
{
	const struct tcp_repr *t = &f->tcp;
	const struct tcp_opts *o = &t->opt;
	char fl[H_FLAGS_LEN];
	size_t pos = 0;
	const char *sep = " <";

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!f->is_tcp) {
		appendf(buf, len, &pos, "not TCP (%zu-byte frame%s)", f->len,
			f->is_arp ? ", ARP" : f->is_icmp ? ", ICMP" : f->is_udp ? ", UDP" : "");
		return buf;
	}
	appendf(buf, len, &pos, "%u>%u %s seq=%u ack=%u win=%u len=%zu", t->sport, t->dport,
		h_tcp_flags(t->flags, fl), t->seq, t->ack, t->win, f->data_len);
	if (t->urp)
		appendf(buf, len, &pos, " urp=%u", t->urp);
	if (o->has_mss) {
		appendf(buf, len, &pos, "%smss %u", sep, o->mss);
		sep = ",";
	}
	if (o->sack_permitted) {
		appendf(buf, len, &pos, "%ssackOK", sep);
		sep = ",";
	}
	if (o->has_ts) {
		appendf(buf, len, &pos, "%sts %u %u", sep, o->ts_val, o->ts_ecr);
		sep = ",";
	}
	if (o->has_wscale) {
		appendf(buf, len, &pos, "%sws %u", sep, o->wscale);
		sep = ",";
	}
	for (unsigned i = 0; i < o->nsack; i++) {
		appendf(buf, len, &pos, "%ssack %u:%u", sep, o->sack[i].left, o->sack[i].right);
		sep = ",";
	}
	if (sep[0] == ',')
		appendf(buf, len, &pos, ">");
	return buf;
}

#define CTL_FLAGS       (TH_FIN | TH_SYN | TH_RST | TH_ACK)

/* "S. seq=1 ack=2" (no ack= without ACK in flags) into buf. */
static const char *want_str(char *buf, size_t len, uint8_t flags, uint32_t seq, uint32_t ack)
{
	char fl[H_FLAGS_LEN];
	size_t pos = 0;

	buf[0] = '\0';
	appendf(buf, len, &pos, "%s seq=%u", h_tcp_flags(flags, fl), seq);
	if (flags & TH_ACK)
		appendf(buf, len, &pos, " ack=%u", ack);
	return buf;
}

void h_expect_tcp(struct harness *h, struct frame *f, uint8_t flags, uint32_t seq,
		  uint32_t ack)
{
	static struct frame local;
	char want[64], got[200];

	if (!f)
		f = &local;
	want_str(want, sizeof(want), flags, seq, ack);
	ck_assert_msg(h_next_tcp(h, f), "expected %s, the stack sent no TCP segment", want);
	h_tcp_describe(f, got, sizeof(got));
	ck_assert_msg((f->tcp.flags & CTL_FLAGS) == (flags & CTL_FLAGS) && f->tcp.seq == seq &&
		      (!(flags & TH_ACK) || f->tcp.ack == ack),
		      "expected %s, got %s", want, got);
}

void h_expect_none(struct harness *h)
{
	struct frame f;
	char got[200];

	if (h_next_tcp(h, &f))
		ck_abort_msg("expected no TCP segment, the stack sent %s",
			     h_tcp_describe(&f, got, sizeof(got)));
}

/* --- TCP: a connection the test plays the peer of --- */

static uint8_t clamp_wscale(uint8_t w)
{
	return w > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : w;
}

void h_conn_init(struct h_conn *c, uint16_t sport, uint16_t dport, uint32_t iss,
		 const struct tcp_opts *opts)
{
	memset(c, 0, sizeof(*c));
	c->sport = sport;
	c->dport = dport;
	c->iss = iss;
	c->snd_nxt = iss;
	c->win = 65535;
	if (opts) {
		c->opts = *opts;
	} else {
		c->opts.has_mss = true;
		c->opts.mss = 1460;
	}
}

/* Both SYNs are known: settle what was negotiated (RFC 7323 1.3, 2.2). */
static void conn_negotiate(struct h_conn *c)
{
	c->ts = c->opts.has_ts && c->stack_opts.has_ts;
	if (c->opts.has_wscale && c->stack_opts.has_wscale) {
		c->wscale = clamp_wscale(c->opts.wscale);
		c->stack_wscale = clamp_wscale(c->stack_opts.wscale);
	} else {
		c->wscale = c->stack_wscale = 0;
	}
}

/* Record what segment f says about the stack's side (after it matched). */
static void conn_note(struct h_conn *c, const struct frame *f)
{
	const struct tcp_repr *t = &f->tcp;

	if (t->flags & TH_RST)
		return;
	if (t->opt.has_ts)
		c->ts_recent = t->opt.ts_val;
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	c->stack_wnd = (uint32_t)t->win << (t->flags & TH_SYN ? 0 : c->stack_wscale);
}

/* Assert f is a TCP segment of c, from the stack to the peer. */
static void conn_check_ends(const struct h_conn *c, const struct frame *f)
{
	char got[200];

	ck_assert_msg(f->ip.src == STACK_IP && f->ip.dst == PEER_IP &&
		      f->tcp.sport == c->dport && f->tcp.dport == c->sport,
		      "expected a segment %u>%u from the stack to the peer, got %08x>%08x %s",
		      c->dport, c->sport, f->ip.src, f->ip.dst,
		      h_tcp_describe(f, got, sizeof(got)));
}

const struct frame *h_conn_expect_synack(struct harness *h, struct h_conn *c)
{
	struct frame *f = &c->last;
	char got[200];

	ck_assert_msg(h_next_tcp(h, f), "expected a SYN-ACK acking %u, the stack sent no "
		      "TCP segment", c->iss + 1);
	conn_check_ends(c, f);
	ck_assert_msg((f->tcp.flags & CTL_FLAGS) == (TH_SYN | TH_ACK) &&
		      f->tcp.ack == c->iss + 1 && f->data_len == 0,
		      "expected a SYN-ACK acking %u, got %s", c->iss + 1,
		      h_tcp_describe(f, got, sizeof(got)));
	c->irs = f->tcp.seq;
	c->rcv_nxt = c->irs + 1;
	c->stack_opts = f->tcp.opt;
	conn_negotiate(c);
	conn_note(c, f);
	return f;
}

void h_conn_connect(struct harness *h, struct h_conn *c, uint16_t sport, uint16_t dport,
		    uint32_t iss, const struct tcp_opts *opts)
{
	h_conn_init(c, sport, dport, iss, opts);
	h_conn_send(h, c, TH_SYN, NULL, 0);
	h_conn_expect_synack(h, c);
	h_conn_send(h, c, TH_ACK, NULL, 0);
}

void h_conn_from_syn(struct harness *h, struct h_conn *c, const struct frame *syn,
		     uint32_t iss, const struct tcp_opts *opts)
{
	char got[200];

	ck_assert_msg(syn->is_tcp && (syn->tcp.flags & CTL_FLAGS) == TH_SYN &&
		      syn->ip.src == STACK_IP && syn->ip.dst == PEER_IP,
		      "expected the stack's SYN to the peer, got %s",
		      h_tcp_describe(syn, got, sizeof(got)));
	h_conn_init(c, syn->tcp.dport, syn->tcp.sport, iss, opts);
	c->irs = syn->tcp.seq;
	c->rcv_nxt = c->irs + 1;
	c->stack_opts = syn->tcp.opt;
	/* RFC 7323 2.2, 3.2, RFC 2018 2: a SYN-ACK carries WS, TS and
	 * SACK_PERMITTED only when the SYN did. */
	if (!c->stack_opts.has_wscale)
		c->opts.has_wscale = false;
	if (!c->stack_opts.has_ts)
		c->opts.has_ts = false;
	if (!c->stack_opts.sack_permitted)
		c->opts.sack_permitted = false;
	c->opts.nsack = 0;
	conn_negotiate(c);
	conn_note(c, syn);
	c->last = *syn;
	h_conn_send(h, c, TH_SYN | TH_ACK, NULL, 0);
}

struct tcp_opts h_conn_opts(struct harness *h, const struct h_conn *c, uint8_t flags)
{
	struct tcp_opts o = { 0 };
	bool ts = c->ts;

	if (flags & TH_SYN) {
		o = c->opts;
		ts = o.has_ts;
	}
	o.has_ts = ts;
	if (ts) {
		o.ts_val = (uint32_t)(h->now / USEC_PER_MSEC);
		/* RFC 7323 3.2: TSecr is 0 on a SYN without ACK. */
		o.ts_ecr = (flags & (TH_SYN | TH_ACK)) == TH_SYN ? 0 : c->ts_recent;
	}
	return o;
}

void h_conn_send_ex(struct harness *h, struct h_conn *c, uint32_t seq, uint8_t flags,
		    const struct tcp_opts *opt, const void *data, size_t len)
{
	struct tcp_repr r = {
		.sport = c->sport, .dport = c->dport, .seq = seq,
		.ack = flags & TH_ACK ? c->rcv_nxt : 0,
		.flags = flags, .win = c->win,
	};

	r.opt = opt ? *opt : h_conn_opts(h, c, flags);
	h_send_tcp_repr(h, &r, data, len);
}

void h_conn_send(struct harness *h, struct h_conn *c, uint8_t flags, const void *data,
		 size_t len)
{
	uint32_t seq = c->snd_nxt;

	c->snd_nxt += (uint32_t)len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	h_conn_send_ex(h, c, seq, flags, NULL, data, len);
}

const struct frame *h_conn_expect(struct harness *h, struct h_conn *c, uint8_t flags,
				  size_t len)
{
	struct frame *f = &c->last;
	char want[64], got[200];

	want_str(want, sizeof(want), flags, c->rcv_nxt, c->snd_nxt);
	ck_assert_msg(h_next_tcp(h, f), "expected %s len=%zu, the stack sent no TCP segment",
		      want, len);
	conn_check_ends(c, f);
	h_tcp_describe(f, got, sizeof(got));
	ck_assert_msg((f->tcp.flags & CTL_FLAGS) == (flags & CTL_FLAGS) &&
		      f->tcp.seq == c->rcv_nxt && f->data_len == len &&
		      (!(flags & TH_ACK) || f->tcp.ack == c->snd_nxt),
		      "expected %s len=%zu, got %s", want, len, got);
	/* RFC 7323 3.2: once both sides agreed, every segment but a RST
	 * carries a timestamp. */
	ck_assert_msg(!c->ts || (f->tcp.flags & TH_RST) || f->tcp.opt.has_ts,
		      "timestamps are in use but the stack sent %s without one", got);
	c->rcv_nxt += (uint32_t)len + !!(f->tcp.flags & TH_SYN) + !!(f->tcp.flags & TH_FIN);
	conn_note(c, f);
	return f;
}

const struct frame *h_conn_expect_data(struct harness *h, struct h_conn *c, uint8_t flags,
				       const void *data, size_t len)
{
	const struct frame *f = h_conn_expect(h, c, flags, len);

	for (size_t i = 0; i < len; i++)
		ck_assert_msg(f->data[i] == ((const uint8_t *)data)[i],
			      "data byte %zu (seq %u) is 0x%02x, expected 0x%02x", i,
			      f->tcp.seq + (uint32_t)i, f->data[i], ((const uint8_t *)data)[i]);
	return f;
}

/* --- TCP: the socket side --- */

struct mtcp_sock *h_tcp_socket(struct harness *h)
{
	struct mtcp_sock *s;

	ck_assert_int_eq(mtcp_socket(h->st, SOCK_STREAM, &s), 0);
	return s;
}

int h_sock_connect(struct mtcp_sock *s, uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = h_sin(addr, port);

	return mtcp_connect(s, (const struct sockaddr *)&a, sizeof(a));
}

void h_sock_set_int(struct mtcp_sock *s, int level, int name, int v)
{
	ck_assert_int_eq(mtcp_setsockopt(s, level, name, &v, sizeof(v)), 0);
}

int h_sock_get_int(struct mtcp_sock *s, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	ck_assert_int_eq(mtcp_getsockopt(s, level, name, &v, &len), 0);
	ck_assert_uint_eq(len, sizeof(v));
	return v;
}

int h_sock_error(struct mtcp_sock *s)
{
	return h_sock_get_int(s, SOL_SOCKET, SO_ERROR);
}

struct tcp_info h_tcp_info(struct mtcp_sock *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0xee, sizeof(ti));
	ck_assert_int_eq(mtcp_getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti;
}

void h_sock_linger0(struct mtcp_sock *s)
{
	struct linger lg = { 1, 0 };

	ck_assert_int_eq(mtcp_setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
}

void h_tcp_abort(struct harness *h, struct mtcp_sock *s)
{
	h_sock_linger0(s);
	mtcp_close(s);
	h_drain(h);
}

unsigned h_tcp_pcbs(const struct harness *h)
{
	return usage(h->st).tcp_pcbs;
}

void h_tcp_close_last(struct harness *h, struct mtcp_sock *s)
{
	mtcp_close(s);
	h_drain(h);
	ck_assert_msg(h_tcp_pcbs(h) == 0, "%u TCP control blocks left", h_tcp_pcbs(h));
}

void h_conn_rst(struct harness *h, struct h_conn *c)
{
	h_conn_send_ex(h, c, c->snd_nxt, TH_RST, NULL, NULL, 0);
}

uint64_t h_advance_until_tcp(struct harness *h, struct frame *f, uint64_t max, const char *what)
{
	uint64_t start = h->now;

	for (int i = 0; !h_next_tcp(h, f); i++) {
		uint64_t at = mtcp_stack_poll_at(h->st);
		ck_assert_msg(i < 100000 && at != TIME_NEVER && at <= start + max,
			      "%s: the stack sent nothing within %llu us", what,
			      (unsigned long long)max);
		h_advance(h, at > h->now ? at - h->now : 0);
	}
	return h->now - start;
}

struct mtcp_sock *h_tcp_listen(struct harness *h, uint16_t port, int backlog)
{
	struct mtcp_sock *s = h_tcp_socket(h);
	struct sockaddr_in a = h_sin(0, port);

	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	ck_assert_int_eq(mtcp_listen(s, backlog), 0);
	return s;
}

struct mtcp_sock *h_tcp_accept(struct harness *h, struct mtcp_sock *l)
{
	struct mtcp_sock *s = NULL;
	int rc;

	h_poll(h);
	rc = mtcp_accept(l, NULL, &s);
	ck_assert_msg(rc == 0, "accept: %d (%s), expected a connection ready", rc,
		      strerror(-rc));
	return s;
}

struct mtcp_sock *h_tcp_connect(struct harness *h, uint16_t lport, uint16_t rport)
{
	struct mtcp_sock *s = h_tcp_socket(h);
	int rc;

	if (lport) {
		struct sockaddr_in a = h_sin(0, lport);
		ck_assert_int_eq(mtcp_bind(s, &a), 0);
	}
	rc = h_sock_connect(s, PEER_IP, rport);
	ck_assert_msg(rc == -EINPROGRESS, "non-blocking connect: %d (%s), expected "
		      "-EINPROGRESS", rc, strerror(-rc));
	return s;
}
