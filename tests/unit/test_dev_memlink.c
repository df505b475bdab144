/*
 * test_dev_memlink.c - the in-memory link: order, bounds, the eventfd
 * contract, teardown in either order, and two threads hammering it.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "dev.h"

static void
mkframe(uint8_t *f, size_t len, uint32_t seq)
{
	size_t i;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
	if (len >= 4)
		memcpy(f, &seq, 4);
}

static size_t
framelen(uint32_t seq)
{
	return 60 + (seq * 37) % (1514 - 60 + 1);
}

static int
readable(struct netdev *d)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };

	ck_assert_int_ge(poll(&p, 1, 0), 0);
	return (p.revents & POLLIN) != 0;
}

START_TEST(test_frames_arrive_in_order_both_directions)
{
	struct netdev *a, *b;
	uint8_t f[1514], g[1514];
	uint32_t i;
	ssize_t n;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 64), 0);
	ck_assert_int_ge(a->fd, 0);
	ck_assert_int_ge(b->fd, 0);
	ck_assert_int_ne(a->fd, b->fd);
	ck_assert_uint_eq(a->mtu, 1500);
	ck_assert_str_ne(a->name, b->name);
	for (i = 0; i < 50; i++) {
		mkframe(f, framelen(i), i);
		ck_assert_int_eq(netdev_send(a, f, framelen(i), 0), 0);
		mkframe(f, framelen(i + 1000), i + 1000);
		ck_assert_int_eq(netdev_send(b, f, framelen(i + 1000), 0), 0);
	}
	for (i = 0; i < 50; i++) {
		n = netdev_recv(b, g, sizeof(g), 0);
		ck_assert_int_eq(n, (ssize_t)framelen(i));
		mkframe(f, framelen(i), i);
		ck_assert_msg(memcmp(f, g, n) == 0, "a->b frame %u differs", i);
		n = netdev_recv(a, g, sizeof(g), 0);
		ck_assert_int_eq(n, (ssize_t)framelen(i + 1000));
		mkframe(f, framelen(i + 1000), i + 1000);
		ck_assert_msg(memcmp(f, g, n) == 0, "b->a frame %u differs", i);
	}
	ck_assert_int_eq(netdev_recv(a, g, sizeof(g), 0), -EAGAIN);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), -EAGAIN);
	ck_assert_uint_eq(a->stats.tx_frames, 50);
	ck_assert_uint_eq(a->stats.rx_frames, 50);
	ck_assert_uint_eq(b->stats.tx_frames, 50);
	ck_assert_uint_eq(b->stats.rx_frames, 50);
	ck_assert_uint_eq(netdev_poll_at(a), UINT64_MAX);
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_full_queue_returns_enobufs)
{
	struct netdev *a, *b;
	uint8_t f[64], g[64];
	uint32_t i;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 4), 0);
	for (i = 0; i < 4; i++) {
		mkframe(f, 64, i);
		ck_assert_int_eq(netdev_send(a, f, 64, 0), 0);
	}
	mkframe(f, 64, 4);
	ck_assert_int_eq(netdev_send(a, f, 64, 0), -ENOBUFS);
	ck_assert_uint_eq(a->stats.tx_errors, 1);
	ck_assert_uint_eq(a->stats.tx_frames, 4);
	/* The other direction has its own bound. */
	ck_assert_int_eq(netdev_send(b, f, 64, 0), 0);
	/* One out, one more fits; the dropped frame 4 never shows up. */
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 64);
	mkframe(f, 64, 5);
	ck_assert_int_eq(netdev_send(a, f, 64, 0), 0);
	for (i = 1; i < 4; i++) {
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 64);
		ck_assert_uint_eq(*(uint32_t *)g, i);
	}
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 64);
	ck_assert_uint_eq(*(uint32_t *)g, 5);
	netdev_destroy(b);
	netdev_destroy(a);
}
END_TEST

START_TEST(test_fd_readable_exactly_while_frames_pending)
{
	struct netdev *a, *b;
	uint8_t f[100], g[100];
	int round;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	memset(f, 0xab, sizeof(f));
	for (round = 0; round < 3; round++) {
		ck_assert_msg(!readable(a) && !readable(b), "idle fd readable");
		ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
		ck_assert_msg(readable(b), "b not readable with 1 queued");
		ck_assert_msg(!readable(a), "a readable though nothing sent to it");
		ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
		ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 100);
		ck_assert_msg(readable(b), "b not readable with 2 queued");
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 100);
		ck_assert_msg(readable(b), "b not readable with 1 queued");
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 100);
		ck_assert_msg(!readable(b), "b readable with an empty queue");
		ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), -EAGAIN);
		ck_assert_msg(!readable(b), "b readable after -EAGAIN");
	}
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_destroy_receiver_first_then_sender_keeps_working)
{
	struct netdev *a, *b;
	uint8_t f[80], g[80];

	memset(f, 1, sizeof(f));
	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 4), 0);
	ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
	ck_assert_int_eq(netdev_send(b, f, sizeof(f), 0), 0);
	netdev_destroy(b);              /* with a frame queued for it */
	/* Frames towards a vanished end leave into nothing. */
	ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
	ck_assert_int_eq(netdev_recv(a, g, sizeof(g), 0), 80);
	ck_assert_int_eq(netdev_recv(a, g, sizeof(g), 0), -EAGAIN);
	ck_assert_msg(!readable(a), "a readable with nothing queued");
	netdev_destroy(a);              /* ASan: nothing leaks */
}
END_TEST

START_TEST(test_destroy_sender_first_leaves_queued_frames)
{
	struct netdev *a, *b;
	uint8_t f[80], g[80];

	memset(f, 2, sizeof(f));
	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 4), 0);
	ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
	ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
	netdev_destroy(a);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 80);
	ck_assert_msg(readable(b), "b lost its second frame");
	ck_assert_int_eq(netdev_send(b, f, sizeof(f), 0), 0);
	netdev_destroy(b);              /* frees one frame still queued */
}
END_TEST

START_TEST(test_oversize_frame_cut_to_cap_and_beyond_mtu_refused)
{
	struct netdev *a, *b;
	uint8_t f[1515], g[1515];
	ssize_t n;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 4), 0);
	mkframe(f, 1514, 9);
	ck_assert_int_eq(netdev_send(a, f, 1514, 0), 0);
	n = netdev_recv(b, g, 100, 0);
	ck_assert_int_eq(n, 100);
	ck_assert_msg(memcmp(f, g, 100) == 0, "truncated frame's prefix differs");
	ck_assert_uint_eq(b->stats.rx_bytes, 100);
	ck_assert_msg(!readable(b), "the cut-off tail was kept as a frame");
	ck_assert_int_eq(netdev_send(a, f, 1515, 0), -EMSGSIZE);
	ck_assert_int_eq(netdev_send(a, f, 0, 0), -EINVAL);
	ck_assert_uint_eq(a->stats.tx_errors, 2);
	netdev_destroy(a);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_bad_arguments_rejected)
{
	struct netdev *a = NULL, *b = NULL;

	ck_assert_int_eq(memlink_pair(&a, &b, 0, 4), -EINVAL);
	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 0), -EINVAL);
	ck_assert_ptr_null(a);
	ck_assert_ptr_null(b);
}
END_TEST

/*
 * Two threads: the pinger sends N numbered frames on a (interleaving
 * receives when b's queue is full) and expects them back in order; the
 * ponger waits on b's fd and echoes each frame. Neither thread may see its
 * fd readable and then get -EAGAIN.
 */
#define PP_FRAMES	50000

struct pp {
	struct netdev	*a, *b;
	unsigned	 spurious_a, spurious_b;
	unsigned	 bad_order, echoed, received;
};

static void *
ponger(void *arg)
{
	struct pp *pp = arg;
	struct pollfd p = { .fd = pp->b->fd, .events = POLLIN };
	uint8_t g[1514];
	ssize_t n;
	int r;

	while (pp->echoed < PP_FRAMES) {
		if (poll(&p, 1, 5000) <= 0)
			break;
		n = netdev_recv(pp->b, g, sizeof(g), 0);
		if (n == -EAGAIN) {
			pp->spurious_b++;
			continue;
		}
		while ((r = netdev_send(pp->b, g, (size_t)n, 0)) == -ENOBUFS)
			sched_yield();
		pp->echoed++;
	}
	return NULL;
}

START_TEST(test_two_threads_echo_in_order_without_spurious_wakeups)
{
	struct pp pp = { 0 };
	struct pollfd p;
	pthread_t t;
	uint8_t f[1514], g[1514];
	uint32_t sent = 0, seq;
	ssize_t n;

	ck_assert_int_eq(memlink_pair(&pp.a, &pp.b, 1500, 16), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, ponger, &pp), 0);
	p.fd = pp.a->fd;
	p.events = POLLIN;
	while (pp.received < PP_FRAMES) {
		if (sent < PP_FRAMES) {
			mkframe(f, framelen(sent), sent);
			if (netdev_send(pp.a, f, framelen(sent), 0) == 0) {
				sent++;
				continue;
			}
		}
		if (poll(&p, 1, 5000) <= 0)
			break;
		if ((n = netdev_recv(pp.a, g, sizeof(g), 0)) == -EAGAIN)
			pp.spurious_a++;
		for (; n > 0; n = netdev_recv(pp.a, g, sizeof(g), 0)) {
			memcpy(&seq, g, 4);
			if (seq != pp.received ||
			    n != (ssize_t)framelen(seq))
				pp.bad_order++;
			pp.received++;
		}
	}
	pthread_join(t, NULL);
	ck_assert_msg(pp.received == PP_FRAMES, "received %u of %u",
	    pp.received, PP_FRAMES);
	ck_assert_msg(pp.bad_order == 0, "%u frames out of order", pp.bad_order);
	ck_assert_msg(pp.spurious_a == 0 && pp.spurious_b == 0,
	    "spurious wake-ups: a %u b %u", pp.spurious_a, pp.spurious_b);
	ck_assert_uint_eq(pp.a->stats.tx_frames, PP_FRAMES);
	ck_assert_uint_eq(pp.b->stats.rx_frames, PP_FRAMES);
	netdev_destroy(pp.b);
	netdev_destroy(pp.a);
}
END_TEST

static void *
destroyer(void *arg)
{
	netdev_destroy(arg);
	return NULL;
}

START_TEST(test_ends_destroyed_concurrently_while_sending)
{
	struct netdev *a, *b;
	pthread_t t;
	uint8_t f[64];
	int i, round;

	memset(f, 3, sizeof(f));
	for (round = 0; round < 200; round++) {
		ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
		ck_assert_int_eq(pthread_create(&t, NULL, destroyer, b), 0);
		for (i = 0; i < 20; i++) {
			int r = netdev_send(a, f, sizeof(f), 0);
			ck_assert(r == 0 || r == -ENOBUFS);
		}
		pthread_join(t, NULL);
		netdev_destroy(a);
	}
}
END_TEST

static Suite *
memlink_suite(void)
{
	Suite *s = suite_create("dev_memlink");
	TCase *tc = tcase_create("memlink");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_frames_arrive_in_order_both_directions);
	tcase_add_test(tc, test_full_queue_returns_enobufs);
	tcase_add_test(tc, test_fd_readable_exactly_while_frames_pending);
	tcase_add_test(tc, test_destroy_receiver_first_then_sender_keeps_working);
	tcase_add_test(tc, test_destroy_sender_first_leaves_queued_frames);
	tcase_add_test(tc, test_oversize_frame_cut_to_cap_and_beyond_mtu_refused);
	tcase_add_test(tc, test_bad_arguments_rejected);
	tcase_add_test(tc, test_two_threads_echo_in_order_without_spurious_wakeups);
	tcase_add_test(tc, test_ends_destroyed_concurrently_while_sending);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(memlink_suite)
