/* test_stack_thread.c - two stacks, each with its own stack thread, joined
 * by an in-memory link on the real clock: the loop, the wake-ups (notify
 * hooks driving blocking calls, blocking.h) and the stack lock under real
 * concurrency (run it under make tsan). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "blocking.h"
#include "check_main.h"
#include "mtcp.h"
#include "stack.h"
#include "wire/arp.h"
#include "wire/ether.h"

#define A_IP 0x0a3d0101u
#define B_IP 0x0a3d0102u

static struct stack *a, *b;

static struct stack *make(struct netdev *dev, uint32_t addr, uint8_t last)
{
	struct mtcp_config cfg = { .addr = addr, .prefix = 24, .has_mac = true, .seed = last };
	struct stack *st;

	memcpy(cfg.mac, (uint8_t[6]){ 2, 0, 0, 0, 1, last }, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(mtcp_stack_create(&cfg, dev, &mtcp_real_clock, &st), 0);
	ck_assert_int_eq(mtcp_stack_start(st), 0);
	return st;
}

static void setup(void)
{
	struct netdev *da, *db;

	ck_assert_int_eq(memlink_pair(&da, &db, 1500, 1024), 0);
	a = make(da, A_IP, 1);
	b = make(db, B_IP, 2);
}

static void teardown(void)
{
	mtcp_stack_destroy(a);
	mtcp_stack_destroy(b);
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	s.sin_addr.s_addr = htonl(addr);
	s.sin_port = htons(port);
	return s;
}

/* B echoes every datagram until it has echoed n. */
struct echo_arg { struct mtcp_sock *s; int n; };

static void *echo_server(void *p)
{
	struct echo_arg *e = p;
	uint8_t buf[65536];
	struct sockaddr_in from;

	for (int i = 0; i < e->n; i++) {
		ssize_t n = bw_recvfrom(e->s, buf, sizeof(buf), 0, &from);
		if (n < 0)
			return (void *)(intptr_t)n;
		if (bw_sendto(e->s, buf, (size_t)n, 0, &from) != n)
			return (void *)(intptr_t)-EIO;
	}
	return NULL;
}

START_TEST(test_blocking_echo_between_threaded_stacks)
{
	struct mtcp_sock *srv, *cli;
	struct sockaddr_in bsin = sin_of(0, 7), to = sin_of(B_IP, 7);
	struct timeval tv = { 2, 0 };
	pthread_t th;
	enum { ROUNDS = 300 };
	struct echo_arg arg;
	static uint8_t out[9000], in[9000];

	ck_assert_int_eq(mtcp_socket(b, SOCK_DGRAM, &srv), 0);
	ck_assert_int_eq(mtcp_bind(srv, &bsin), 0);
	ck_assert_int_eq(mtcp_setsockopt(srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	arg = (struct echo_arg){ srv, ROUNDS };
	ck_assert_int_eq(pthread_create(&th, NULL, echo_server, &arg), 0);

	ck_assert_int_eq(mtcp_socket(a, SOCK_DGRAM, &cli), 0);
	ck_assert_int_eq(mtcp_setsockopt(cli, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	for (int i = 0; i < ROUNDS; i++) {
		/* Sizes from 1 byte to fragmented 9000-byte datagrams. */
		size_t len = 1 + (size_t)(i * 331) % sizeof(out);
		for (size_t k = 0; k < len; k++)
			out[k] = (uint8_t)(k ^ (size_t)i);
		ck_assert_int_eq(bw_sendto(cli, out, len, 0, &to), (ssize_t)len);
		ssize_t n = bw_recvfrom(cli, in, sizeof(in), 0, NULL);
		ck_assert_msg(n == (ssize_t)len, "round %d: got %zd, want %zu", i, n, len);
		ck_assert_msg(memcmp(in, out, len) == 0, "round %d: bytes differ", i);
	}
	void *ret;
	pthread_join(th, &ret);
	ck_assert_msg(ret == NULL, "echo thread failed: %d", (int)(intptr_t)ret);
	mtcp_close(cli);
	mtcp_close(srv);
}
END_TEST

/* B's side of a TCP transfer: accept, read and check every byte until
 * EOF, answer with the count, close. */
struct tcp_sink_arg { struct mtcp_sock *l; size_t want; };

static void *tcp_sink(void *p)
{
	struct tcp_sink_arg *t = p;
	struct mtcp_sock *c;
	static uint8_t buf[65536];
	size_t got = 0;
	ssize_t n;

	if (bw_accept(t->l, NULL, &c) < 0)
		return (void *)(intptr_t)-EIO;
	while ((n = bw_recvfrom(c, buf, sizeof(buf), 0, NULL)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (uint8_t)((got + (size_t)i) * 7 + 3))
				return (void *)(intptr_t)-EBADMSG;
		got += (size_t)n;
	}
	if (n < 0 || got != t->want)
		return (void *)(intptr_t)-EPROTO;
	uint64_t v = got;
	if (bw_sendto(c, &v, sizeof(v), 0, NULL) != sizeof(v))
		return (void *)(intptr_t)-EIO;
	bw_close(c);
	return NULL;
}

/* Blocking TCP between two threaded stacks: connect, accept, send that
 * blocks on a full buffer, recv, shutdown, a lingering close - the stack
 * thread and two application threads under the lock (make tsan). */
START_TEST(test_blocking_tcp_transfer_between_threaded_stacks)
{
	enum { TOTAL = 4 << 20 };
	struct mtcp_sock *l, *c;
	struct sockaddr_in any = sin_of(0, 80), to = sin_of(B_IP, 80);
	struct tcp_sink_arg arg;
	struct linger lg = { 1, 5 };
	pthread_t th;
	static uint8_t buf[100000];

	ck_assert_int_eq(mtcp_socket(b, SOCK_STREAM, &l), 0);
	ck_assert_int_eq(mtcp_bind(l, &any), 0);
	ck_assert_int_eq(mtcp_listen(l, 4), 0);
	arg = (struct tcp_sink_arg){ l, TOTAL };
	ck_assert_int_eq(pthread_create(&th, NULL, tcp_sink, &arg), 0);

	ck_assert_int_eq(mtcp_socket(a, SOCK_STREAM, &c), 0);
	ck_assert_int_eq(bw_connect(c, &to), 0);
	for (size_t sent = 0; sent < TOTAL;) {
		size_t n = TOTAL - sent < sizeof(buf) ? TOTAL - sent : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((sent + i) * 7 + 3);
		ssize_t r = bw_sendto(c, buf, n, 0, NULL);
		ck_assert_msg(r > 0, "send: %zd", r);
		sent += (size_t)r;
	}
	ck_assert_int_eq(mtcp_shutdown(c, SHUT_WR), 0);
	uint64_t v = 0;
	ck_assert_int_eq(bw_recvfrom(c, &v, sizeof(v), MSG_WAITALL, NULL), sizeof(v));
	ck_assert_uint_eq(v, TOTAL);
	ck_assert_int_eq(bw_recvfrom(c, buf, 1, 0, NULL), 0);       /* EOF */
	void *ret;
	pthread_join(th, &ret);
	ck_assert_msg(ret == NULL, "sink thread failed: %d", (int)(intptr_t)ret);
	ck_assert_int_eq(mtcp_setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	bw_close(c);
	mtcp_close(l);
}
END_TEST

static void *close_later(void *p)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
	mtcp_stack_stop(p);
	return NULL;
}

START_TEST(test_stop_wakes_blocked_receiver)
{
	struct mtcp_sock *s;
	struct sockaddr_in any = sin_of(0, 9);
	pthread_t th;
	char buf[8];

	ck_assert_int_eq(mtcp_socket(a, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(mtcp_bind(s, &any), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, close_later, a), 0);
	ck_assert_int_eq(bw_recvfrom(s, buf, sizeof(buf), 0, NULL), -ESHUTDOWN);
	pthread_join(th, NULL);
	mtcp_close(s);

	/* An unbound socket blocked in recv is woken too. */
	ck_assert_int_eq(mtcp_socket(b, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, close_later, b), 0);
	ck_assert_int_eq(bw_recvfrom(s, buf, sizeof(buf), 0, NULL), -ESHUTDOWN);
	pthread_join(th, NULL);
	mtcp_close(s);
}
END_TEST

/* ---- One threaded stack and a peer the test plays itself (the other end
 * of the link, read and written by hand): it can stay silent. */

static struct stack *solo;
static struct netdev *peer;
static const uint8_t peer_mac[6] = { 2, 0, 0, 0, 1, 2 };

static void solo_setup(void)
{
	struct netdev *da;

	ck_assert_int_eq(memlink_pair(&da, &peer, 1500, 1024), 0);
	solo = make(da, A_IP, 1);
}

static void solo_teardown(void)
{
	mtcp_stack_destroy(solo);
	netdev_destroy(peer);
}

static uint64_t mono_us(void)
{
	return mtcp_real_clock.now(NULL);
}

/* The next frame the stack sends of ethertype type (and, for IPv4, IP
 * protocol proto), within ms milliseconds: when it came (mono_us), or 0.
 * Other frames are read and dropped. */
static uint64_t peer_expect(uint16_t type, uint8_t proto, unsigned ms, uint8_t *f)
{
	uint64_t end = mono_us() + ms * 1000u;
	struct timespec nap = { 0, 1000 * 1000 };

	while (mono_us() < end) {
		ssize_t n = netdev_recv(peer, f, 2048, 0);
		if (n == -EAGAIN) {
			nanosleep(&nap, NULL);
			continue;
		}
		ck_assert_int_gt(n, ETH_HLEN);
		if ((f[12] << 8 | f[13]) == type &&
		    (type != ETHERTYPE_IPV4 || f[ETH_HLEN + 9] == proto))
			return mono_us();
	}
	return 0;
}

/* The peer answers the ARP request in f. */
static void peer_arp_reply(const uint8_t *f)
{
	struct arp_repr q, r = { .op = ARP_OP_REPLY, .spa = B_IP };
	struct eth_repr e = { .type = ETHERTYPE_ARP };
	uint8_t out[ETH_HLEN + ARP_LEN];

	ck_assert_int_eq(arp_parse(f + ETH_HLEN, ARP_LEN, &q), WIRE_OK);
	ck_assert_uint_eq(q.tpa, B_IP);
	memcpy(r.sha, peer_mac, 6);
	memcpy(r.tha, q.sha, 6);
	r.tpa = q.spa;
	memcpy(e.dst, q.sha, 6);
	memcpy(e.src, peer_mac, 6);
	eth_emit(&e, out);
	arp_emit(&r, out + ETH_HLEN);
	ck_assert_int_eq(netdev_send(peer, out, sizeof(out), 0), 0);
}

/* Let the stack thread go to sleep: after its start it has nothing to do
 * until the neighbour cache's collection, 10 s away. */
static void solo_quiet(void)
{
	uint8_t f[2048];

	while (peer_expect(ETHERTYPE_ARP, 0, 100, f))
		;               /* the gratuitous ARP */
}

/*
 * A timer armed by an application thread while the stack thread sleeps
 * must wake it: here the ARP retry a sendto() arms (RFC 1122 2.3.2.1: one
 * request a second). Before the fix the thread slept on until its own next
 * timer, 10 s later, and a lost ARP reply stalled every connection that
 * long (a CI run of preload_threads: no UDP echo in 4 s, 12 s for 2 s of
 * work).
 */
START_TEST(test_timer_armed_by_application_wakes_sleeping_stack)
{
	struct sockaddr_in to = sin_of(B_IP, 9);
	struct mtcp_sock *s;
	uint8_t f[2048];
	uint64_t t1, t2;

	solo_quiet();
	ck_assert_int_eq(mtcp_socket(solo, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(mtcp_sendto(s, "x", 1, 0, &to), 1);
	t1 = peer_expect(ETHERTYPE_ARP, 0, 1000, f);
	ck_assert_msg(t1, "no ARP request for the datagram");
	t2 = peer_expect(ETHERTYPE_ARP, 0, 3000, f);
	ck_assert_msg(t2, "no second ARP request within 3 s: the retry timer the "
		      "sending thread armed did not wake the stack thread");
	ck_assert_msg(t2 - t1 >= 900000, "ARP requests %llu us apart (at most one "
		      "a second)", (unsigned long long)(t2 - t1));
	mtcp_close(s);
}
END_TEST

/* The same for TCP: the neighbour is known, so connect() itself sends the
 * SYN and arms the retransmission timer (RFC 6298 2.1: 1 s) while the
 * stack thread sleeps; the peer drops the SYN. */
START_TEST(test_syn_retransmitted_when_connect_armed_the_timer)
{
	struct sockaddr_in to = sin_of(B_IP, 9), dst = sin_of(B_IP, 80);
	struct mtcp_sock *u, *s;
	uint8_t f[2048];
	uint64_t t1, t2;

	solo_quiet();
	ck_assert_int_eq(mtcp_socket(solo, SOCK_DGRAM, &u), 0);
	ck_assert_int_eq(mtcp_sendto(u, "x", 1, 0, &to), 1);
	ck_assert(peer_expect(ETHERTYPE_ARP, 0, 1000, f));
	peer_arp_reply(f);
	ck_assert(peer_expect(ETHERTYPE_IPV4, IPPROTO_UDP, 1000, f));
	solo_quiet();

	ck_assert_int_eq(mtcp_socket(solo, SOCK_STREAM, &s), 0);
	ck_assert_int_eq(mtcp_connect(s, (struct sockaddr *)&dst, sizeof(dst)),
			 -EINPROGRESS);
	t1 = peer_expect(ETHERTYPE_IPV4, IPPROTO_TCP, 1000, f);
	ck_assert_msg(t1, "no SYN");
	t2 = peer_expect(ETHERTYPE_IPV4, IPPROTO_TCP, 3000, f);
	ck_assert_msg(t2, "the SYN was not sent again within 3 s: the timer "
		      "connect() armed did not wake the stack thread");
	ck_assert_msg(t2 - t1 >= 900000, "SYNs %llu us apart (RTO 1 s)",
		      (unsigned long long)(t2 - t1));
	mtcp_close(s);
	mtcp_close(u);
}
END_TEST

static Suite *stack_thread_suite(void)
{
	Suite *s = suite_create("stack_thread");
	TCase *tc = tcase_create("thread");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_blocking_echo_between_threaded_stacks);
	tcase_add_test(tc, test_stop_wakes_blocked_receiver);
	tcase_add_test(tc, test_blocking_tcp_transfer_between_threaded_stacks);
	suite_add_tcase(s, tc);

	tc = tcase_create("sleeping");
	tcase_add_checked_fixture(tc, solo_setup, solo_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_timer_armed_by_application_wakes_sleeping_stack);
	tcase_add_test(tc, test_syn_retransmitted_when_connect_armed_the_timer);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(stack_thread_suite)
