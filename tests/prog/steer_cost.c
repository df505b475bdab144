/*
 * steer_cost - what the steering filter (stack/host/steer.bpf.c) costs per
 * frame, for scripts/mtcp-ab's steer workload: the kernel runs the
 * filter on one frame REPEAT times (BPF_PROG_TEST_RUN, as
 * tests/unit/test_steer.c's test_cost_per_frame_is_reported does) and
 * reports the mean run time.
 *
 *   steer_cost [REPEAT] [ROUNDS]       default REPEAT = 1000000, ROUNDS = 5
 *
 * The maps as nginx with two workers leaves them: TCP port 8080 held by
 * member 1 (the master, the default member, never accepting) and members
 * 2 and 3 (the workers, both active), 1000 connections in the flows map.
 * The filter is member 2's, loaded with steer_load on maps of its own
 * (steer_create): nothing is attached to any socket, no frame is sent.
 * The frames, each behind the outer Ethernet header a test run consumes
 * (test_steer.c says why):
 *   flows    a TCP ACK of one of member 2's connections: a flows hit
 *   ports    a SYN to 8080 from a remote end with no flows entry: the
 *            ports entry, one of the two active members by hash
 *   default  a SYN to a port nobody holds: the default member
 *   arp      an ARP request: every member
 *
 * Prints one line per frame, the best round (least disturbed) and the
 * median of the rounds, in ns per frame, and the filter's verdict for
 * member 2:
 *   steer_cost: flows best_ns 31 median_ns 33 kept
 *
 * Exit status 0; 1 with a message on stderr when a map or the program
 * cannot be made (it needs root: CAP_BPF and CAP_NET_ADMIN) or a verdict
 * is not the expected one; 2 for bad arguments. Linked with
 * libmtcpstack.a for steer.c (steer_int.h); the filter measured is the one
 * embedded in that build.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "steer.h"
#include "steer_int.h"

#define OUR_ADDR        0x0a010101u     /* 10.1.1.1 */
#define PEER            0x0a010102u     /* 10.1.1.2 */
#define PORT            8080
#define MEMBER          2               /* the filter measured is this member's */
#define OTHER_FLOWS     1000
#define MAX_ROUNDS      101
#define OUTER           ETH_HLEN

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct frame {
	uint8_t b[128];
	size_t len;             /* with the outer header */
};

static void put(struct frame *f, const void *p, size_t n)
{
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

/* The outer header (all-zero destination: the test run's pkt_type is
 * PACKET_HOST), then the frame's own Ethernet header. */
static void eth(struct frame *f, uint16_t type)
{
	static const uint8_t zero[6];

	put(f, zero, 6);
	put(f, peer_mac, 6);
	put16(f, 0x88b5);
	put(f, our_mac, 6);
	put(f, peer_mac, 6);
	put16(f, type);
}

/* PEER:sport -> OUR_ADDR:dport, TCP, no options, no payload. */
static struct frame tcp(uint16_t sport, uint16_t dport, bool syn)
{
	struct frame f = { .len = 0 };

	eth(&f, ETH_P_IP);
	put(&f, "\x45\x00", 2);
	put16(&f, 40);
	put16(&f, 0x1234);              /* id */
	put16(&f, 0x4000);              /* DF */
	put(&f, "\x40\x06\0\0", 4);     /* TTL 64, TCP, checksum (read by nobody) */
	put32(&f, PEER);
	put32(&f, OUR_ADDR);
	put16(&f, sport);
	put16(&f, dport);
	put32(&f, 1000);                /* seq */
	put32(&f, syn ? 0 : 5000);      /* ack */
	put(&f, syn ? "\x50\x02\xff\xff\0\0\0\0" : "\x50\x10\x01\xf5\0\0\0\0", 8);
	return f;
}

static struct frame arp_request(void)
{
	struct frame f = { .len = 0 };

	eth(&f, ETH_P_ARP);
	put16(&f, 1);                   /* Ethernet */
	put16(&f, ETH_P_IP);
	put(&f, "\x06\x04\x00\x01", 4); /* sizes, request */
	put(&f, peer_mac, 6);
	put32(&f, PEER);
	put(&f, "\0\0\0\0\0\0", 6);
	put32(&f, OUR_ADDR);
	return f;
}

static void must(int err, const char *what)
{
	if (err >= 0)
		return;
	fprintf(stderr, "steer_cost: %s: %s%s\n", what, strerror(-err),
		err == -EPERM || err == -EACCES ? " (needs root: CAP_BPF and CAP_NET_ADMIN)" : "");
	exit(1);
}

static long parse(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > max) {
		fprintf(stderr, "steer_cost: bad %s '%s' (1..%ld)\n", what, s, max);
		exit(2);
	}
	return v;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static struct steer_flow flow_key(uint16_t rport)
{
	struct steer_flow k;

	memset(&k, 0, sizeof(k));
	k.proto = IPPROTO_TCP;
	k.lport = htons(PORT);
	k.raddr = htonl(PEER);
	k.rport = htons(rport);
	return k;
}

/* Runs the filter on f, rounds times repeat; prints the line. want: the
 * verdict expected for member 2 (1 kept, 0 dropped, -1 either). */
static void measure(int prog, const char *name, const struct frame *f, uint32_t repeat,
		    int rounds, int want)
{
	uint32_t ns[MAX_ROUNDS], retval = 0;

	for (int i = 0; i < rounds; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b,
			    .data_size_in = (uint32_t)f->len, .repeat = repeat);

		must(bpf_prog_test_run_opts(prog, &o), "bpf_prog_test_run_opts");
		ns[i] = o.duration;
		retval = o.retval;
	}
	if (retval != 0 && retval != f->len - OUTER) {
		fprintf(stderr, "steer_cost: %s: verdict %u for a frame of %zu bytes: neither "
			"all nor nothing\n", name, retval, f->len - OUTER);
		exit(1);
	}
	if (want >= 0 && (retval != 0) != want) {
		fprintf(stderr, "steer_cost: %s: member %d %s the frame, expected it %s\n", name,
			MEMBER, retval ? "kept" : "dropped", want ? "kept" : "dropped");
		exit(1);
	}
	qsort(ns, (size_t)rounds, sizeof(ns[0]), cmp_u32);
	printf("steer_cost: %s best_ns %u median_ns %u %s\n", name, ns[0], ns[rounds / 2],
	       retval ? "kept" : "dropped");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	uint32_t repeat = 1000000;
	int rounds = 5, prog;
	struct steer *s;
	struct steer_ids ids;
	struct steer_port v;
	struct steer_flow k;
	struct frame f;

	if (argc > 3) {
		fprintf(stderr, "usage: steer_cost [REPEAT] [ROUNDS]\n");
		return 2;
	}
	if (argc > 1)
		repeat = (uint32_t)parse(argv[1], "REPEAT", 100000000L);
	if (argc > 2)
		rounds = (int)parse(argv[2], "ROUNDS", MAX_ROUNDS);

	must(steer_create(htonl(OUR_ADDR), &ids, &s), "steer_create");
	must(steer_set_default(s, 1), "steer_set_default");
	memset(&v, 0, sizeof(v));
	v.nholders = 3;
	for (int i = 0; i < 3; i++) {
		v.h[i].member = (uint16_t)(i + 1);
		v.h[i].refs = 1;
		v.h[i].listening = 1;
	}
	v.nactive = 2;
	v.active[0] = 2;
	v.active[1] = 3;
	v.h[1].flags = v.h[2].flags = STEER_H_ACTIVE;
	must(steer_port_put(s, IPPROTO_TCP, htons(PORT), &v), "steer_port_put");
	k = flow_key(41000);
	must(steer_flow_add(s, &k, MEMBER), "steer_flow_add");
	for (int i = 0; i < OTHER_FLOWS; i++) {         /* a flows map not empty */
		k = flow_key((uint16_t)(20000 + i));
		must(steer_flow_add(s, &k, (uint16_t)(2 + i % 2)), "steer_flow_add");
	}
	prog = steer_load(s, MEMBER, false);
	must(prog, "steer_load");

	printf("steer_cost: repeat %u rounds %d member %d\n", repeat, rounds, MEMBER);
	f = tcp(41000, PORT, false);
	measure(prog, "flows", &f, repeat, rounds, 1);
	f = tcp(41001, PORT, true);
	measure(prog, "ports", &f, repeat, rounds, -1);
	f = tcp(41000, PORT + 1, true);
	measure(prog, "default", &f, repeat, rounds, 0);
	f = arp_request();
	measure(prog, "arp", &f, repeat, rounds, 1);
	steer_close(s);
	return 0;
}
