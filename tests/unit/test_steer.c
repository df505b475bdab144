/*
 * test_steer.c - the steering maps and filter (stack/host/steer.[ch],
 * steer.bpf.c).
 *
 * The filter is run by the kernel on crafted frames (BPF_PROG_TEST_RUN),
 * once per member, each member with a program of its own on the shared
 * maps, as three processes would have; a test states which members keep
 * a frame. One test attaches the filter to real AF_PACKET sockets on lo,
 * in a network namespace of its own, for what a test run cannot show
 * (PACKET_OUTGOING frames). Then the maps: finding them by id, their end
 * with the last handle, the flow sweep, the port walk.
 *
 * How a test run differs from a packet socket: for a socket filter the
 * kernel takes the data as an Ethernet frame, sets pkt_type from its
 * destination (eth_type_trans on lo: lo's own address, all zeros, gives
 * PACKET_HOST; ff:ff:.. PACKET_BROADCAST; any other PACKET_OTHERHOST), and
 * pulls that header before the program runs, while on a packet socket the
 * program sees the frame from its Ethernet header on. So every frame
 * here goes in behind an outer Ethernet header of 14 bytes, which the
 * test run consumes, and the filter reads the real frame from offset 0, as
 * on a socket. PACKET_OUTGOING cannot be made this way.
 *
 * Needs root (CAP_BPF, CAP_NET_ADMIN): without it every test fails with
 * a message that says so; none is skipped.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check_main.h"
#include "steer.h"
#include "steer_int.h"

#define OUR_ADDR        0x0a010101u     /* 10.1.1.1 */
#define OUR_BCAST       0x0a0101ffu     /* 10.1.1.255: the subnet's broadcast */
#define PEER            0x0a010102u     /* 10.1.1.2 */
#define OTHER_ADDR      0x0a010163u     /* 10.1.1.99: not ours */
#define NMEMBERS        3               /* members 1..3; 1 is the default */
#define ALL             0xeu            /* bits 1..3: every member */
#define BIT(m)          (1u << (m))

#define IPPROTO_TCP_    6
#define IPPROTO_UDP_    17
#define IPPROTO_ICMP_   1

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* The registry's first member made the maps (creator); each member has a
 * handle of its own and a program loaded on it. */
static struct steer *creator;
static struct steer_ids ids;
static struct steer *member[NMEMBERS + 1];
static int prog[NMEMBERS + 1];

/* A bpf() call refused for lack of privilege fails the test, saying so. */
static void must(int err, const char *what)
{
	ck_assert_msg(err != -EPERM && err != -EACCES,
		      "%s: %s: test_steer needs root (CAP_BPF and CAP_NET_ADMIN to create "
		      "BPF maps and load programs)", what, strerror(-err));
	ck_assert_msg(err >= 0, "%s: %s", what, strerror(-err));
}

static void setup(void)
{
	must(steer_create(htonl(OUR_ADDR), &ids, &creator), "steer_create");
	ck_assert_msg(ids.ports && ids.flows && ids.conf, "map ids %u %u %u", ids.ports,
		      ids.flows, ids.conf);
	must(steer_set_default(creator, 1), "steer_set_default");
	for (int m = 1; m <= NMEMBERS; m++) {
		must(steer_open(&ids, &member[m]), "steer_open");
		prog[m] = steer_load(member[m], (uint16_t)m, false);
		must(prog[m], "steer_load");
	}
}

static void teardown(void)
{
	for (int m = 1; m <= NMEMBERS; m++) {
		steer_close(member[m]);
		member[m] = NULL;
	}
	steer_close(creator);
	creator = NULL;
}

/* Frames */

/* What pkt_type the outer header makes the test run set. */
enum pkt { PKT_HOST, PKT_OTHERHOST, PKT_BROADCAST };

#define OUTER   ETH_HLEN

struct frame {
	uint8_t b[192];
	size_t len;             /* with the outer header */
};

struct spec {
	uint16_t ethertype;     /* 0: IPv4 */
	bool vlan;              /* one 802.1Q tag */
	bool eth_bcast;         /* link-layer broadcast */
	enum pkt pkt;
	uint8_t proto;
	uint32_t src, dst;      /* host order; dst 0: ours */
	uint16_t sport, dport;
	uint8_t icmp_type;
	uint16_t frag;          /* the IPv4 flags + offset field */
	size_t cut;             /* if not 0: the frame ends here (truncated) */
};

static void put(struct frame *f, const void *p, size_t n)
{
	ck_assert(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint16_t n = htons(v);

	put(f, &n, 2);
}

static void put32(struct frame *f, uint32_t v)
{
	uint32_t n = htonl(v);

	put(f, &n, 4);
}

static void eth(struct frame *f, const uint8_t dst[6], uint16_t type)
{
	put(f, dst, 6);
	put(f, peer_mac, 6);
	put16(f, type);
}

static struct frame build(const struct spec *sp)
{
	static const uint8_t outer_dst[][6] = {
		[PKT_HOST] = { 0 },
		[PKT_OTHERHOST] = { 0x02, 0, 0, 0, 0, 0x77 },
		[PKT_BROADCAST] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	uint16_t type = sp->ethertype ? sp->ethertype : ETH_P_IP;
	const uint8_t *dst = sp->eth_bcast ? bcast_mac : our_mac;
	struct frame f = { .len = 0 };
	size_t l4len;

	eth(&f, outer_dst[sp->pkt], 0x88b5);
	if (sp->vlan) {
		eth(&f, dst, ETH_P_8021Q);
		put16(&f, 7);                   /* VLAN 7 */
		put16(&f, type);
	} else {
		eth(&f, dst, type);
	}
	if (type == ETH_P_ARP) {
		put16(&f, 1);                   /* Ethernet */
		put16(&f, ETH_P_IP);
		put(&f, "\x06\x04\x00\x01", 4); /* sizes, request */
		put(&f, peer_mac, 6);
		put32(&f, PEER);
		put(&f, "\0\0\0\0\0\0", 6);
		put32(&f, OUR_ADDR);
	} else if (type == ETH_P_IP) {
		l4len = sp->proto == IPPROTO_TCP_ ? 20 : 8;
		put(&f, "\x45\x00", 2);
		put16(&f, (uint16_t)(20 + l4len));
		put16(&f, 0x1234);              /* id */
		put16(&f, sp->frag);
		f.b[f.len++] = 64;              /* TTL */
		f.b[f.len++] = sp->proto;
		put16(&f, 0);                   /* checksum: the filter reads none */
		put32(&f, sp->src ? sp->src : PEER);
		put32(&f, sp->dst ? sp->dst : OUR_ADDR);
		if (sp->proto == IPPROTO_ICMP_) {
			f.b[f.len++] = sp->icmp_type;
			f.b[f.len++] = 0;
			put(&f, "\0\0\0\0\0\0", 6);
		} else {
			put16(&f, sp->sport);
			put16(&f, sp->dport);
			if (sp->proto == IPPROTO_TCP_) {
				put32(&f, 1000);        /* seq */
				put32(&f, 0);
				put(&f, "\x50\x02\xff\xff\0\0\0\0", 8); /* SYN */
			} else {
				put(&f, "\0\x08\0\0", 4);
			}
		}
	} else {                                /* IPv6 or anything: bytes */
		put(&f, "\x60\0\0\0\0\x08\x11\x40", 8);
		for (int i = 0; i < 40; i++)
			f.b[f.len++] = (uint8_t)i;
	}
	if (sp->cut)
		f.len = OUTER + sp->cut;
	return f;
}

static struct frame tcp_syn(uint32_t src, uint16_t sport, uint16_t dport)
{
	return build(&(struct spec){ .proto = IPPROTO_TCP_, .src = src, .sport = sport,
				     .dport = dport });
}

/* Runs */

/* Runs one program; returns its verdict, which must be the whole frame or
 * nothing. */
static uint32_t run_prog(int fd, const struct frame *f, uint32_t repeat, uint32_t *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->len,
		    .repeat = repeat);
	int err = bpf_prog_test_run_opts(fd, &o);

	must(err, "bpf_prog_test_run_opts");
	ck_assert_msg(o.retval == 0 || o.retval == f->len - OUTER,
		      "verdict %u for a frame of %zu bytes: neither all nor nothing", o.retval,
		      f->len - OUTER);
	if (ns)
		*ns = o.duration;
	return o.retval;
}

/* Which members keep the frame: bit m for member m. */
static unsigned who(const struct frame *f)
{
	unsigned mask = 0;

	for (int m = 1; m <= NMEMBERS; m++)
		if (run_prog(prog[m], f, 1, NULL))
			mask |= BIT(m);
	return mask;
}

#define EXPECT_WHO(f, want, what) do {                                          \
		unsigned got_ = who(f);                                         \
		ck_assert_msg(got_ == (want), "%s: kept by members 0x%x, expected 0x%x " \
			      "(bit m: member m)", what, got_, (unsigned)(want)); \
	} while (0)

/* Maps */

/* A port held by the members in holders[], of which active[] take new flows. */
static void port_set(uint8_t proto, uint16_t port, const uint16_t *holders, int nh,
		     const uint16_t *active, int na)
{
	struct steer_port v;

	memset(&v, 0, sizeof(v));
	v.nholders = (uint8_t)nh;
	v.nactive = (uint8_t)na;
	for (int i = 0; i < nh; i++) {
		v.h[i].member = holders[i];
		v.h[i].refs = 1;
	}
	for (int i = 0; i < na; i++) {
		v.active[i] = active[i];
		v.h[i].flags = STEER_H_ACTIVE;
	}
	must(steer_port_put(creator, proto, htons(port), &v), "steer_port_put");
}

static struct steer_flow flow(uint8_t proto, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	struct steer_flow k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.lport = htons(lport);
	k.raddr = htonl(raddr);
	k.rport = htons(rport);
	return k;
}

/* The filter's rules */

START_TEST(test_arp_reaches_every_member)
{
	struct frame f = build(&(struct spec){ .ethertype = ETH_P_ARP, .eth_bcast = true });

	EXPECT_WHO(&f, ALL, "ARP request");
	f = build(&(struct spec){ .ethertype = ETH_P_ARP, .vlan = true });
	EXPECT_WHO(&f, ALL, "ARP in an 802.1Q tag");
}
END_TEST

START_TEST(test_syn_to_port_of_one_holder_reaches_only_it)
{
	const uint16_t h[] = { 2 };
	struct frame f;

	port_set(IPPROTO_TCP_, 80, h, 1, NULL, 0);
	f = tcp_syn(PEER, 40000, 80);
	EXPECT_WHO(&f, BIT(2), "SYN to port 80 held by member 2 alone (not active)");
	f = build(&(struct spec){ .vlan = true, .proto = IPPROTO_TCP_, .sport = 40000,
				  .dport = 80 });
	EXPECT_WHO(&f, BIT(2), "the same SYN in an 802.1Q tag");
	/* The port is TCP's: UDP to the same number is nobody's. */
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 80 });
	EXPECT_WHO(&f, BIT(1), "UDP to port 80 (TCP's is held)");
	/* An active holder alone: the same. */
	port_set(IPPROTO_TCP_, 80, h, 1, h, 1);
	f = tcp_syn(PEER, 40001, 80);
	EXPECT_WHO(&f, BIT(2), "SYN to port 80, member 2 alone and active");
}
END_TEST

START_TEST(test_flow_entry_wins_over_port)
{
	const uint16_t h[] = { 2 };
	struct steer_flow k = flow(IPPROTO_TCP_, 80, PEER, 40000);
	struct frame f;
	uint16_t m = 0;

	port_set(IPPROTO_TCP_, 80, h, 1, h, 1);
	must(steer_flow_add(member[3], &k, 3), "steer_flow_add");
	must(steer_flow_get(creator, &k, &m), "steer_flow_get");
	ck_assert_msg(m == 3, "flow's member %u, expected 3", m);
	f = tcp_syn(PEER, 40000, 80);
	EXPECT_WHO(&f, BIT(3), "the flow member 3 entered, on member 2's port");
	f = tcp_syn(PEER, 40001, 80);
	EXPECT_WHO(&f, BIT(2), "another remote port: the port's holder");
	f = tcp_syn(PEER + 1, 40000, 80);
	EXPECT_WHO(&f, BIT(2), "another remote address: the port's holder");
	/* A flows entry on a port nobody holds (a connect from an ephemeral
	 * port whose entry is gone) still wins over the default. */
	k = flow(IPPROTO_UDP_, 5353, PEER, 53);
	must(steer_flow_add(member[3], &k, 3), "steer_flow_add");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 53, .dport = 5353 });
	EXPECT_WHO(&f, BIT(3), "a UDP flow of member 3 on no port entry");
	must(steer_flow_del(member[3], &k), "steer_flow_del");
	EXPECT_WHO(&f, BIT(1), "the same, the flow deleted: the default");
	ck_assert_int_eq(steer_flow_del(member[3], &k), -ENOENT);
	ck_assert_int_eq(steer_flow_get(member[3], &k, &m), -ENOENT);
}
END_TEST

START_TEST(test_shared_port_sends_each_remote_end_to_one_active_member)
{
	const uint16_t h[] = { 1, 2, 3 }, act[] = { 3, 2 };
	struct steer_port v;
	unsigned got[NMEMBERS + 1] = { 0 };

	/* Member 1 holds the port and never took a connection (a master). */
	port_set(IPPROTO_TCP_, 8080, h, 3, act, 2);
	must(steer_port_get(member[1], IPPROTO_TCP_, htons(8080), &v), "steer_port_get");
	for (uint16_t rport = 50000; rport < 50064; rport++) {
		struct frame f = tcp_syn(PEER, rport, 8080);
		uint16_t pick = steer_pick(&v, htonl(PEER), htons(rport));
		unsigned mask = who(&f);

		ck_assert_msg(pick == 2 || pick == 3, "steer_pick chose %u, not an active member",
			      pick);
		ck_assert_msg(mask == BIT(pick), "remote port %u: kept by 0x%x, steer_pick says "
			      "member %u", rport, mask, pick);
		got[pick]++;
	}
	ck_assert_msg(got[2] > 0 && got[3] > 0, "64 remote ports: member 2 got %u, member 3 "
		      "%u: the hash sends everything to one", got[2], got[3]);
	/* Remote addresses spread too. */
	memset(got, 0, sizeof(got));
	for (uint32_t a = 0; a < 64; a++) {
		struct frame f = tcp_syn(0xc0a80000u + a, 40000, 8080);
		uint16_t pick = steer_pick(&v, htonl(0xc0a80000u + a), htons(40000));

		EXPECT_WHO(&f, BIT(pick), "a remote address");
		got[pick]++;
	}
	ck_assert_msg(got[2] > 0 && got[3] > 0, "64 remote addresses: member 2 got %u, "
		      "member 3 %u", got[2], got[3]);
}
END_TEST

START_TEST(test_port_held_by_several_none_active_drops_everywhere)
{
	const uint16_t h[] = { 2, 3 };
	struct frame f;

	port_set(IPPROTO_TCP_, 443, h, 2, NULL, 0);
	f = tcp_syn(PEER, 40000, 443);
	EXPECT_WHO(&f, 0, "SYN to a port two members hold, neither active");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 443 });
	EXPECT_WHO(&f, BIT(1), "UDP to the same number: nobody's port");
}
END_TEST

START_TEST(test_unowned_port_goes_to_default_only)
{
	struct frame f = tcp_syn(PEER, 40000, 81);

	EXPECT_WHO(&f, BIT(1), "SYN to a port nobody holds");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 81 });
	EXPECT_WHO(&f, BIT(1), "UDP to a port nobody holds");
	f = build(&(struct spec){ .proto = 47, .sport = 1, .dport = 2 });     /* GRE */
	EXPECT_WHO(&f, BIT(1), "a protocol neither TCP nor UDP");
	must(steer_set_default(member[2], 2), "steer_set_default");
	f = tcp_syn(PEER, 40000, 81);
	EXPECT_WHO(&f, BIT(2), "SYN to nobody's port, member 2 the default");
	must(steer_set_default(creator, 0), "steer_set_default");
	EXPECT_WHO(&f, 0, "SYN to nobody's port, no default member");
}
END_TEST

START_TEST(test_fragments_reach_every_member)
{
	const uint16_t h[] = { 2 };
	struct frame f;

	port_set(IPPROTO_UDP_, 53, h, 1, h, 1);
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 53,
				  .frag = 0x2000 });
	EXPECT_WHO(&f, ALL, "first fragment (MF) to member 2's port");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 53,
				  .frag = 185 });
	EXPECT_WHO(&f, ALL, "last fragment (offset 1480, no MF)");
	f = build(&(struct spec){ .proto = IPPROTO_TCP_, .dst = OTHER_ADDR, .sport = 1,
				  .dport = 2, .frag = 0x2000 | 10 });
	EXPECT_WHO(&f, ALL, "a middle fragment to another address (rules in steer.h's order)");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .sport = 40000, .dport = 53,
				  .frag = 0x4000 });
	EXPECT_WHO(&f, BIT(2), "DF alone is no fragment");
}
END_TEST

START_TEST(test_icmp_echo_goes_to_default_errors_to_every_member)
{
	struct frame f = build(&(struct spec){ .proto = IPPROTO_ICMP_, .icmp_type = 8 });

	EXPECT_WHO(&f, BIT(1), "ICMP echo request");
	f = build(&(struct spec){ .proto = IPPROTO_ICMP_, .icmp_type = 3 });
	EXPECT_WHO(&f, ALL, "ICMP destination unreachable");
	f = build(&(struct spec){ .proto = IPPROTO_ICMP_, .icmp_type = 0 });
	EXPECT_WHO(&f, ALL, "ICMP echo reply");
	f = build(&(struct spec){ .proto = IPPROTO_ICMP_, .icmp_type = 11 });
	EXPECT_WHO(&f, ALL, "ICMP time exceeded");
	f = build(&(struct spec){ .proto = IPPROTO_ICMP_, .icmp_type = 8, .cut = 14 + 20 });
	EXPECT_WHO(&f, BIT(1), "ICMP without its type (truncated)");
}
END_TEST

START_TEST(test_other_destination_goes_to_default_only)
{
	const uint16_t h[] = { 2 };
	struct frame f;

	port_set(IPPROTO_TCP_, 80, h, 1, h, 1);
	port_set(IPPROTO_UDP_, 67, h, 1, h, 1);
	f = build(&(struct spec){ .proto = IPPROTO_TCP_, .dst = OTHER_ADDR, .sport = 40000,
				  .dport = 80 });
	EXPECT_WHO(&f, BIT(1), "SYN to another address, port 80 held by 2");
	f = build(&(struct spec){ .ethertype = ETH_P_IPV6 });
	EXPECT_WHO(&f, BIT(1), "IPv6");
	f = build(&(struct spec){ .ethertype = 0x88b5 });
	EXPECT_WHO(&f, BIT(1), "an ethertype of nobody's");
	f = tcp_syn(PEER, 40000, 80);
	f.b[OUTER + 14] = 0x65;                 /* IP version 6 in an IPv4 frame */
	EXPECT_WHO(&f, BIT(1), "an IPv4 ethertype, version 6");
	f = build(&(struct spec){ .proto = IPPROTO_TCP_, .sport = 40000, .dport = 80,
				  .cut = 14 + 12 });
	EXPECT_WHO(&f, BIT(1), "an IPv4 header cut short");
	f = build(&(struct spec){ .proto = IPPROTO_TCP_, .sport = 40000, .dport = 80,
				  .cut = 14 + 22 });
	EXPECT_WHO(&f, BIT(1), "TCP without its destination port");
	f = build(&(struct spec){ .cut = 10 });
	EXPECT_WHO(&f, BIT(1), "a runt: no whole Ethernet header");

	/* Broadcasts are ours: they go by port. */
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .dst = 0xffffffffu, .eth_bcast = true,
				  .sport = 68, .dport = 67 });
	EXPECT_WHO(&f, BIT(2), "UDP to 255.255.255.255, port held by 2");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .dst = OUR_BCAST, .eth_bcast = true,
				  .sport = 68, .dport = 67 });
	EXPECT_WHO(&f, BIT(2), "UDP to the subnet's broadcast, in a link broadcast");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .dst = OUR_BCAST, .sport = 68,
				  .dport = 67 });
	EXPECT_WHO(&f, BIT(1), "the subnet's broadcast address in a unicast frame");
	f = build(&(struct spec){ .proto = IPPROTO_UDP_, .dst = 0xe00000fbu, .sport = 68,
				  .dport = 67 });
	EXPECT_WHO(&f, BIT(2), "UDP to 224.0.0.251, port held by 2");
}
END_TEST

/* Members 1 and 2 on the "outgoing" side; a test run's frames are never
 * PACKET_OUTGOING (see the top), so that side must drop them all, and
 * the received side must keep them whatever pkt_type they had. */
START_TEST(test_outgoing_flag_against_pkt_type)
{
	static const enum pkt pkts[] = { PKT_HOST, PKT_OTHERHOST, PKT_BROADCAST };
	struct steer *out;
	int ofd;

	must(steer_open(&ids, &out), "steer_open");
	ofd = steer_load(out, 1, true);
	must(ofd, "steer_load outgoing");
	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++) {
		struct frame f = build(&(struct spec){ .ethertype = ETH_P_ARP, .pkt = pkts[i] });

		ck_assert_msg(run_prog(prog[1], &f, 1, NULL) == f.len - OUTER,
			      "received side dropped ARP with pkt_type case %zu", i);
		ck_assert_msg(run_prog(ofd, &f, 1, NULL) == 0,
			      "outgoing side kept ARP that was not PACKET_OUTGOING (case %zu)", i);
		f = build(&(struct spec){ .proto = IPPROTO_TCP_, .sport = 40000, .dport = 81,
					  .pkt = pkts[i] });
		ck_assert_msg(run_prog(prog[1], &f, 1, NULL) == f.len - OUTER,
			      "received side dropped a SYN to the default (case %zu)", i);
		ck_assert_msg(run_prog(ofd, &f, 1, NULL) == 0,
			      "outgoing side kept a SYN to the default that was not "
			      "PACKET_OUTGOING (case %zu)", i);
	}
	steer_close(out);
}
END_TEST

/* Real sockets */

static void lo_up(void)
{
	struct ifreq ifr;
	int fd;

	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert(ioctl(fd, SIOCGIFFLAGS, &ifr) == 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0, "lo up: %s", strerror(errno));
	close(fd);
}

/* An AF_PACKET socket on ifindex receiving only what member m's filter
 * keeps: the filter is attached before bind starts the reception. */
static int packet_socket(int ifindex, struct steer *s, uint16_t m, bool outgoing)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = ifindex };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, 0);

	ck_assert_msg(fd >= 0, "AF_PACKET socket: %s", strerror(errno));
	must(steer_attach(s, fd, m, outgoing), "steer_attach");
	ck_assert_msg(bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0, "bind: %s",
		      strerror(errno));
	return fd;
}

/* How many copies of frame fd received (waiting up to 200 ms for the
 * first), each with pkt_type want. */
static int copies(int fd, const uint8_t *frame, size_t len, int want)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t buf[256];
	int n = 0;

	(void)poll(&p, 1, 200);
	for (;;) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sll, &sl);

		if (r < 0)
			break;
		if ((size_t)r != len || memcmp(buf, frame, len))
			continue;               /* not ours */
		ck_assert_msg(sll.sll_pkttype == want, "a copy with pkt_type %u, expected %d",
			      sll.sll_pkttype, want);
		n++;
	}
	return n;
}

/* On lo, a frame sent through a packet socket reaches the others twice:
 * leaving (PACKET_OUTGOING, dev_queue_xmit_nit) and coming back
 * (PACKET_HOST: lo's address is all zeros, as is the frame's
 * destination). The received side keeps only the second, the outgoing
 * side only the first, and each only for the member that owns it. */
START_TEST(test_attached_filter_keeps_its_direction_and_member)
{
	static const uint8_t zero_mac[6] = { 0 };
	const uint16_t h[] = { 2 };
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_halen = 6 };
	struct steer *out2;
	int ifindex, tx, rx2, out2fd, rx1;
	struct frame f;
	const uint8_t *fr;
	size_t len;

	lo_up();
	ifindex = (int)if_nametoindex("lo");
	ck_assert(ifindex > 0);
	port_set(IPPROTO_TCP_, 80, h, 1, h, 1);
	must(steer_open(&ids, &out2), "steer_open");
	rx2 = packet_socket(ifindex, member[2], 2, false);
	out2fd = packet_socket(ifindex, out2, 2, true);
	rx1 = packet_socket(ifindex, member[1], 1, false);
	tx = socket(AF_PACKET, SOCK_RAW, 0);
	ck_assert(tx >= 0);
	to.sll_ifindex = ifindex;

	f = tcp_syn(PEER, 40000, 80);
	memcpy(f.b + OUTER, zero_mac, 6);
	fr = f.b + OUTER;
	len = f.len - OUTER;
	ck_assert_msg(sendto(tx, fr, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len,
		      "send: %s", strerror(errno));
	ck_assert_msg(copies(rx2, fr, len, PACKET_HOST) == 1,
		      "member 2's received side: not one copy of the SYN to its port");
	ck_assert_msg(copies(out2fd, fr, len, PACKET_OUTGOING) == 1,
		      "member 2's outgoing side: not one copy of the SYN to its port");
	ck_assert_msg(copies(rx1, fr, len, PACKET_HOST) == 0,
		      "member 1 (the default) received a SYN to member 2's port");

	f = tcp_syn(PEER, 40000, 81);
	memcpy(f.b + OUTER, zero_mac, 6);
	ck_assert(sendto(tx, fr, len, 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len);
	ck_assert_msg(copies(rx1, fr, len, PACKET_HOST) == 1,
		      "the default member did not receive a SYN to nobody's port");
	ck_assert_msg(copies(rx2, fr, len, PACKET_HOST) == 0,
		      "member 2 received a SYN to nobody's port");
	ck_assert_msg(copies(out2fd, fr, len, PACKET_OUTGOING) == 0,
		      "member 2's outgoing side kept a SYN to nobody's port");
	close(tx);
	close(rx1);
	close(rx2);
	close(out2fd);
	steer_close(out2);
}
END_TEST

/* The maps */

START_TEST(test_open_by_id_shares_the_maps)
{
	const uint16_t h[] = { 2, 3 }, act[] = { 3 };
	struct steer_flow k = flow(IPPROTO_TCP_, 8080, PEER, 41000);
	struct steer_port v;
	uint16_t m = 0;

	port_set(IPPROTO_TCP_, 8080, h, 2, act, 1);
	must(steer_port_get(member[2], IPPROTO_TCP_, htons(8080), &v), "steer_port_get");
	ck_assert_msg(v.nholders == 2 && v.nactive == 1 && v.h[0].member == 2 &&
		      v.h[1].member == 3 && v.active[0] == 3,
		      "port read through another handle: %u holders (%u, %u), %u active (%u)",
		      v.nholders, v.h[0].member, v.h[1].member, v.nactive, v.active[0]);
	ck_assert_int_eq(steer_port_get(member[2], IPPROTO_UDP_, htons(8080), &v), -ENOENT);
	must(steer_flow_add(member[3], &k, 3), "steer_flow_add");
	must(steer_flow_get(creator, &k, &m), "steer_flow_get");
	ck_assert_int_eq(m, 3);
	/* Whatever the caller left in the padding, the key is the filter's. */
	k.pad[0] = 0xaa;
	k.pad[2] = 0x55;
	m = 0;
	must(steer_flow_get(member[1], &k, &m), "steer_flow_get with dirty padding");
	ck_assert_int_eq(m, 3);
}
END_TEST

static bool open_gone(void)
{
	struct steer *s = NULL;
	int err = steer_open(&ids, &s);

	steer_close(s);
	ck_assert_msg(err == 0 || err == -ENOENT, "steer_open: %s", strerror(-err));
	return err == -ENOENT;
}

START_TEST(test_open_fails_with_enoent_once_every_handle_is_closed)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int tries = 0;

	ck_assert_msg(!open_gone(), "maps gone while handles are open");
	teardown();
	/* A program's maps are let go after an RCU grace period: wait. */
	while (!open_gone() && ++tries < 300)
		nanosleep(&ts, NULL);
	ck_assert_msg(tries < 300, "maps still found by id 3 s after every handle closed");
}
END_TEST

START_TEST(test_open_refuses_maps_not_ours)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	struct steer_ids bad = ids;
	struct steer *s = (struct steer *)1;
	int fd;

	/* Same type and sizes as the ports map, another name. */
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "mtcp_ports_v0", sizeof(uint32_t),
			    sizeof(struct steer_port), 16, &o);
	must(fd, "bpf_map_create");
	memset(&info, 0, sizeof(info));
	must(bpf_obj_get_info_by_fd(fd, &info, &len), "bpf_obj_get_info_by_fd");
	bad.ports = info.id;
	ck_assert_int_eq(steer_open(&bad, &s), -ENOENT);
	ck_assert_msg(s == NULL, "steer_open failed but left *out set");
	bad = ids;
	bad.flows = ids.conf;                   /* a map of ours, the wrong one */
	ck_assert_int_eq(steer_open(&bad, &s), -ENOENT);
	bad = ids;
	bad.conf = 0;
	ck_assert_int_eq(steer_open(&bad, &s), -ENOENT);
	close(fd);
}
END_TEST

static bool member2_dead(uint16_t m, void *arg)
{
	(*(int *)arg)++;
	return m == 2;
}

START_TEST(test_flow_sweep_deletes_the_dead_members_flows_only)
{
	int calls = 0, n;
	uint16_t m;

	for (uint16_t i = 0; i < 300; i++) {
		struct steer_flow k = flow(IPPROTO_TCP_, 80, PEER, (uint16_t)(30000 + i));

		must(steer_flow_add(member[1 + i % 3], &k, (uint16_t)(1 + i % 3)),
		     "steer_flow_add");
	}
	n = steer_flow_sweep(creator, member2_dead, &calls);
	ck_assert_msg(n == 100, "sweep deleted %d flows, expected member 2's 100", n);
	ck_assert_msg(calls == 300, "dead() asked %d times for 300 flows", calls);
	for (uint16_t i = 0; i < 300; i++) {
		struct steer_flow k = flow(IPPROTO_TCP_, 80, PEER, (uint16_t)(30000 + i));
		int err = steer_flow_get(member[1], &k, &m);

		if (i % 3 == 1)
			ck_assert_msg(err == -ENOENT, "member 2's flow %u survived the sweep", i);
		else
			ck_assert_msg(err == 0 && m == 1 + i % 3, "flow %u of member %u: %s, "
				      "member %u", i, 1 + i % 3, strerror(-err), m);
	}
	calls = 0;
	ck_assert_int_eq(steer_flow_sweep(creator, member2_dead, &calls), 0);
	ck_assert_int_eq(calls, 200);
}
END_TEST

struct walk {
	unsigned seen;          /* bit i: TCP port 1000 + i */
	int stop_after;         /* 0: never */
	int calls;
	bool delete;
	struct steer *s;
};

static bool walk_fn(uint8_t proto, uint16_t port, struct steer_port *v, void *arg)
{
	struct walk *w = arg;
	unsigned p = ntohs(port);

	ck_assert_msg(proto == IPPROTO_TCP_ && p >= 1000 && p < 1010, "walk: proto %u port %u",
		      proto, p);
	ck_assert_msg(v->nholders == 1 && v->h[0].member == p - 999,
		      "walk: port %u's value has %u holders, first %u", p, v->nholders,
		      v->h[0].member);
	w->seen |= 1u << (p - 1000);
	if (w->delete) {
		v->nholders = 0;
		must(steer_port_put(w->s, proto, port, v), "steer_port_put (delete)");
	}
	return ++w->calls == w->stop_after;
}

START_TEST(test_port_walk_visits_every_port_and_may_delete)
{
	struct walk w = { .s = creator };
	struct steer_port v;

	for (uint16_t i = 0; i < 10; i++) {
		uint16_t h = (uint16_t)(i + 1);

		port_set(IPPROTO_TCP_, (uint16_t)(1000 + i), &h, 1, NULL, 0);
	}
	must(steer_port_each(member[1], walk_fn, &w), "steer_port_each");
	ck_assert_msg(w.seen == 0x3ff && w.calls == 10, "walk saw 0x%x in %d calls", w.seen,
		      w.calls);
	w = (struct walk){ .stop_after = 3, .s = creator };
	must(steer_port_each(member[1], walk_fn, &w), "steer_port_each");
	ck_assert_msg(w.calls == 3, "walk asked to stop after 3 went on to %d", w.calls);
	w = (struct walk){ .delete = true, .s = creator };
	must(steer_port_each(member[1], walk_fn, &w), "steer_port_each");
	ck_assert_msg(w.seen == 0x3ff && w.calls == 10, "deleting walk saw 0x%x in %d calls",
		      w.seen, w.calls);
	ck_assert_int_eq(steer_port_get(creator, IPPROTO_TCP_, htons(1000), &v), -ENOENT);
	w = (struct walk){ .s = creator };
	must(steer_port_each(member[1], walk_fn, &w), "steer_port_each");
	ck_assert_msg(w.calls == 0, "walk over an empty map called fn %d times", w.calls);
	/* Deleting what is not there is no error. */
	memset(&v, 0, sizeof(v));
	must(steer_port_put(creator, IPPROTO_TCP_, htons(1000), &v), "steer_port_put");
}
END_TEST

START_TEST(test_bad_arguments_are_refused)
{
	struct steer_flow k = flow(IPPROTO_TCP_, 80, PEER, 1);
	struct steer_port v;

	memset(&v, 0, sizeof(v));
	v.nholders = 1;
	v.nactive = 2;
	ck_assert_int_eq(steer_port_put(creator, IPPROTO_TCP_, htons(80), &v), -EINVAL);
	v.nholders = STEER_HOLDERS + 1;
	v.nactive = 0;
	ck_assert_int_eq(steer_port_put(creator, IPPROTO_TCP_, htons(80), &v), -EINVAL);
	ck_assert_int_eq(steer_flow_add(creator, &k, 0), -EINVAL);
	ck_assert_int_eq(steer_load(creator, 0, false), -EINVAL);
	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(steer_pick(&v, htonl(PEER), htons(1)), 0);
	ck_assert_int_eq(steer_attach(creator, -1, 1, false), -EBADF);
}
END_TEST

/* The filter's cost: the kernel runs it a million times on one frame and
 * reports the mean. Printed, not asserted (machines differ). */
START_TEST(test_cost_per_frame_is_reported)
{
	const uint16_t h[] = { 2, 3 }, act[] = { 2, 3 };
	struct steer_flow k = flow(IPPROTO_TCP_, 8080, PEER, 41000);
	struct frame fp, ff, fd;
	uint32_t ns_port, ns_flow, ns_def, ns_arp;
	struct frame fa = build(&(struct spec){ .ethertype = ETH_P_ARP });

	port_set(IPPROTO_TCP_, 8080, h, 2, act, 2);
	must(steer_flow_add(member[3], &k, 3), "steer_flow_add");
	for (int i = 0; i < 1000; i++) {        /* a flows map not empty */
		struct steer_flow o = flow(IPPROTO_TCP_, 8080, PEER + 1, (uint16_t)(20000 + i));

		must(steer_flow_add(member[2], &o, 2), "steer_flow_add");
	}
	fp = tcp_syn(PEER, 41001, 8080);
	ff = tcp_syn(PEER, 41000, 8080);
	fd = tcp_syn(PEER, 41000, 8081);
	run_prog(prog[2], &fp, 1000000, &ns_port);
	run_prog(prog[2], &ff, 1000000, &ns_flow);
	run_prog(prog[2], &fd, 1000000, &ns_def);
	run_prog(prog[2], &fa, 1000000, &ns_arp);
	fprintf(stderr, "steer filter cost (bpf_prog_test_run, repeat 1000000): "
		"TCP hitting ports (2 active) %u ns/frame, TCP hitting flows %u ns/frame, "
		"TCP to nobody's port %u ns/frame, ARP %u ns/frame\n",
		ns_port, ns_flow, ns_def, ns_arp);
}
END_TEST

static Suite *steer_suite(void)
{
	Suite *s = suite_create("steer");
	TCase *tf = tcase_create("filter");
	TCase *tm = tcase_create("maps");

	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_arp_reaches_every_member);
	tcase_add_test(tf, test_syn_to_port_of_one_holder_reaches_only_it);
	tcase_add_test(tf, test_flow_entry_wins_over_port);
	tcase_add_test(tf, test_shared_port_sends_each_remote_end_to_one_active_member);
	tcase_add_test(tf, test_port_held_by_several_none_active_drops_everywhere);
	tcase_add_test(tf, test_unowned_port_goes_to_default_only);
	tcase_add_test(tf, test_fragments_reach_every_member);
	tcase_add_test(tf, test_icmp_echo_goes_to_default_errors_to_every_member);
	tcase_add_test(tf, test_other_destination_goes_to_default_only);
	tcase_add_test(tf, test_outgoing_flag_against_pkt_type);
	tcase_add_test(tf, test_attached_filter_keeps_its_direction_and_member);
	tcase_add_test(tf, test_cost_per_frame_is_reported);
	suite_add_tcase(s, tf);

	tcase_add_checked_fixture(tm, setup, teardown);
	tcase_set_timeout(tm, 60);
	tcase_add_test(tm, test_open_by_id_shares_the_maps);
	tcase_add_test(tm, test_open_fails_with_enoent_once_every_handle_is_closed);
	tcase_add_test(tm, test_open_refuses_maps_not_ours);
	tcase_add_test(tm, test_flow_sweep_deletes_the_dead_members_flows_only);
	tcase_add_test(tm, test_port_walk_visits_every_port_and_may_delete);
	tcase_add_test(tm, test_bad_arguments_are_refused);
	suite_add_tcase(s, tm);
	return s;
}

CHECK_MAIN(steer_suite)
