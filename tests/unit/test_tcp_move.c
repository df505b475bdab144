/*
 * test_tcp_move.c - a socket's whole state moves from one stack to
 * another (stack/move.h, stack/tcp/tcp_move.c) in the middle of its life,
 * and the peer never notices.
 *
 * Three stacks: a peer P (10.61.0.1), and A and B, which share 10.61.0.2
 * and one MAC (two processes on one address). Each has a memlink whose
 * other end the test holds: the test is the wire and the switch. A frame
 * spends WIRE_DELAY on the wire each way (so data is in flight in both
 * directions when a socket moves); P's frames go to whichever of A and B
 * owns the connection at the moment they arrive (ARP to both), A's and
 * B's go to P. P's device may be impaired (seeded loss and reordering).
 * A and P read one virtual clock; B's runs B_SKEW ahead of it, so what
 * the record carries must be relative time.
 *
 * No host registry here (st->host NULL): steering is the switch's.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "check_main.h"
#include "move.h"
#include "stack_harness.h"
#include "tcp_pair.h"
#include "tcp_var.h"
#include "usage.h"

#define P_IP            PAIR_A_IP       /* 10.61.0.1 */
#define AB_IP           PAIR_B_IP       /* 10.61.0.2 */
#define PORT            8080
#define QLEN            8192
#define WIRE_DELAY      (5 * USEC_PER_MSEC)
#define B_SKEW          (12345 * USEC_PER_SEC + 678)
#define IDLE_STEP       USEC_PER_MSEC
#define MAX_ROUNDS      100000
#define RUN_MAX         (300 * USEC_PER_SEC)

static const uint8_t P_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x01 };
static const uint8_t AB_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x0b, 0x02 };

enum { P, A, B, NSTACKS };
static const char *const who[NSTACKS] = { "P", "A", "B" };

/* A frame on the wire. */
struct wframe {
	struct wframe *next;
	uint64_t due;
	bool to_p;
	size_t len;
	uint8_t buf[];
};

struct world {
	struct pair pr;                 /* pr.now: the clock (pair_xfer's too) */
	struct stack *st[NSTACKS];
	struct netdev *end[NSTACKS];    /* the test's end of each stack's link */
	int owner;                      /* A or B: who gets P's frames */
	struct wframe *wire, *wire_tail;        /* in order of due */
	unsigned on_wire[2];            /* frames on the wire to A/B, to P */
};

static struct world w;

static uint64_t b_clock(void *ctx)
{
	return *(uint64_t *)ctx + B_SKEW;
}

static struct stack *make_stack(int i, uint32_t addr, const uint8_t mac[6],
				const struct impair_cfg *imp)
{
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP,
		.addr = addr,
		.prefix = 24,
		.has_mac = true,
		.seed = 0x5a + (uint64_t)i,
	};
	struct mtcp_clock clk = mtcp_virtual_clock(&w.pr.now);
	struct netdev *ours;
	struct stack *st;

	if (i == B)
		clk.now = clk.wall = b_clock;
	memcpy(cfg.mac, mac, 6);
	strcpy(cfg.iface, "memlink");
	ck_assert_int_eq(memlink_pair(&ours, &w.end[i], 1500, QLEN), 0);
	if (imp) {
		ours = impair_wrap(ours, imp);
		ck_assert_msg(ours, "impair_wrap failed");
	}
	ck_assert_int_eq(mtcp_stack_create(&cfg, ours, &clk, &st), 0);
	return st;
}

static void world_setup(const struct impair_cfg *imp)
{
	memset(&w, 0, sizeof(w));
	w.pr.now = 1000 * USEC_PER_SEC;
	w.st[P] = make_stack(P, P_IP, P_MAC, imp);
	w.st[A] = make_stack(A, AB_IP, AB_MAC, NULL);
	w.st[B] = make_stack(B, AB_IP, AB_MAC, NULL);
	w.owner = A;
}

static void setup(void)
{
	world_setup(NULL);
}

static void setup_lossy(void)
{
	struct impair_cfg imp = { .loss = 0.01, .reorder = 0.02, .seed = 13 };

	world_setup(&imp);
}

static void teardown(void)
{
	for (int i = 0; i < NSTACKS; i++)
		h_assert_socks_closed(w.st[i], who[i]);
	for (int i = 0; i < NSTACKS; i++) {
		mtcp_stack_destroy(w.st[i]);
		netdev_destroy(w.end[i]);
	}
	while (w.wire) {
		struct wframe *f = w.wire;
		w.wire = f->next;
		free(f);
	}
}

/* ---- the wire --------------------------------------------------------- */

static void wire_put(const uint8_t *buf, size_t len, bool to_p)
{
	struct wframe *f = malloc(sizeof(*f) + len);

	ck_assert_ptr_nonnull(f);
	f->next = NULL;
	f->due = w.pr.now + WIRE_DELAY;
	f->to_p = to_p;
	f->len = len;
	memcpy(f->buf, buf, len);
	if (w.wire_tail)
		w.wire_tail->next = f;
	else
		w.wire = f;
	w.wire_tail = f;
	w.on_wire[to_p]++;
}

static void deliver(int to, const uint8_t *buf, size_t len)
{
	int rc = netdev_send(w.end[to], buf, len, w.pr.now);

	ck_assert_msg(rc == 0, "the link to %s refused a frame: %s", who[to], strerror(-rc));
}

/* Take what the stacks sent onto the wire; deliver what is due. */
static unsigned route(void)
{
	static uint8_t buf[2048];
	unsigned moved = 0;
	ssize_t n;

	for (int src = 0; src < NSTACKS; src++) {
		while ((n = netdev_recv(w.end[src], buf, sizeof(buf), w.pr.now)) > 0) {
			wire_put(buf, (size_t)n, src != P);
			moved++;
		}
	}
	while (w.wire && w.wire->due <= w.pr.now) {
		struct wframe *f = w.wire;
		w.wire = f->next;
		if (!w.wire)
			w.wire_tail = NULL;
		w.on_wire[f->to_p]--;
		if (f->to_p) {
			deliver(P, f->buf, f->len);
		} else if (f->len >= 14 && f->buf[12] == 0x08 && f->buf[13] == 0x06) {
			deliver(A, f->buf, f->len);     /* ARP: both hear it */
			deliver(B, f->buf, f->len);
		} else {
			deliver(w.owner, f->buf, f->len);
		}
		free(f);
		moved++;
	}
	return moved;
}

static uint64_t next_due(void)
{
	uint64_t t = w.wire ? w.wire->due : TIME_NEVER;

	for (int i = 0; i < NSTACKS; i++) {
		uint64_t at = mtcp_stack_poll_at(w.st[i]);
		if (at < t)
			t = at;
	}
	return t;
}

static bool world_poll(void)
{
	bool any = false;

	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		bool more = false;
		for (int i = 0; i < NSTACKS; i++)
			more |= mtcp_stack_poll(w.st[i]);
		unsigned moved = route();
		any |= moved != 0;
		if (!more && !moved && next_due() > w.pr.now)
			return any;
	}
	ck_abort_msg("the stacks are still busy after %u rounds at t=%llu us", MAX_ROUNDS,
		     (unsigned long long)w.pr.now);
	return any;
}

static bool world_run_until(bool (*cond)(void *), void *ctx, uint64_t max_us)
{
	uint64_t end = w.pr.now + max_us;

	for (;;) {
		world_poll();
		if (cond) {
			if (cond(ctx))
				return true;
			if (world_poll() && cond(ctx))
				return true;
		}
		if (w.pr.now >= end)
			return false;
		uint64_t next = next_due();
		if (cond && next > w.pr.now + IDLE_STEP)
			next = w.pr.now + IDLE_STEP;
		if (next <= w.pr.now)
			next = w.pr.now + 1;
		w.pr.now = next < end ? next : end;
	}
}

static void world_run(uint64_t us)
{
	world_run_until(NULL, NULL, us);
}

/* ---- sockets ---------------------------------------------------------- */

static bool writable(void *s)
{
	return mtcp_poll(s) & (EPOLLOUT | EPOLLERR | EPOLLHUP);
}

struct accept_wait {
	struct mtcp_sock *l, *s;
	int rc;
};

static bool accepted(void *arg)
{
	struct accept_wait *aw = arg;

	aw->rc = mtcp_accept(aw->l, NULL, &aw->s);
	return aw->rc != -EAGAIN;
}

/* A (the owner) connects to P's listener: *a on A, *p on P. */
static void connect_a_to_p(struct mtcp_sock **a, struct mtcp_sock **p)
{
	struct accept_wait aw = { .l = pair_listen(w.st[P], PORT, 16) };
	struct sockaddr_in to = h_sin(P_IP, PORT);
	struct mtcp_sock *c;

	ck_assert_int_eq(mtcp_socket(w.st[A], SOCK_STREAM, &c), 0);
	ck_assert_int_eq(mtcp_connect(c, (const struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	ck_assert_msg(world_run_until(writable, c, 30 * USEC_PER_SEC), "A's connect hangs");
	ck_assert_int_eq(h_sock_error(c), 0);
	ck_assert_msg(world_run_until(accepted, &aw, 30 * USEC_PER_SEC), "P accepted nothing");
	ck_assert_int_eq(aw.rc, 0);
	mtcp_close(aw.l);
	*a = c;
	*p = aw.s;
}

static enum tcp_state state_of(struct mtcp_sock *s)
{
	pthread_mutex_lock(&s->st->lock);
	enum tcp_state t = s->tp ? s->tp->t_state : TCPS_CLOSED;
	pthread_mutex_unlock(&s->st->lock);
	return t;
}

static int owner_of(struct mtcp_sock *s)
{
	return s->st == w.st[A] ? A : B;
}

/* Move s from its stack to the other one (which then gets P's frames):
 * export, import, forget. Returns the new socket (an orphan's reference
 * is dropped: then NULL). */
static struct mtcp_sock *move(struct mtcp_sock *s)
{
	int from = owner_of(s), to = from == A ? B : A;
	struct move_buf b = { 0 };
	struct mtcp_sock *n = NULL;
	size_t used = 0;
	int rc;

	/* One stack lock at a time, as two processes would hold them (the
	 * world runs on this thread only: nothing moves in between). */
	pthread_mutex_lock(&w.st[from]->lock);
	rc = sock_export(s, &b);
	ck_assert_msg(rc == 0, "sock_export: %s", strerror(-rc));
	stack_unlock(w.st[from]);
	pthread_mutex_lock(&w.st[to]->lock);
	rc = sock_import(w.st[to], b.p, b.len, &used, &n);
	ck_assert_msg(rc == 0, "sock_import: %s", strerror(-rc));
	ck_assert_uint_eq(used, b.len);
	bool orphan = n->closed;
	if (orphan)
		sock_put_locked(n);
	stack_unlock(w.st[to]);
	pthread_mutex_lock(&w.st[from]->lock);
	sock_moved_away(s, 1);
	sock_put_locked(s);
	stack_unlock(w.st[from]);
	move_buf_free(&b);
	w.owner = to;
	return orphan ? NULL : n;
}

/* ---- moves during a transfer --------------------------------------- */

struct mover {
	struct pair_xfer *x;
	size_t every;                   /* bytes of progress between moves */
	size_t next;
	unsigned moves, max;
	bool prefer_ooo;                /* wait (half a step at most) for an OOO queue */
	/* what the moves carried */
	unsigned with_ooo, with_unacked, with_unsent, in_flight_both;
};

static size_t progress(const struct pair_xfer *x)
{
	return x->rcvd[0] + x->rcvd[1];
}

static bool xfer_and_move(void *arg)
{
	struct mover *m = arg;
	struct pair_xfer *x = m->x;

	if (pair_xfer_step(x))
		return true;
	if (m->moves >= m->max || progress(x) < m->next)
		return false;
	struct tcpcb *tp = x->s[0]->tp;
	if (m->prefer_ooo && !tp->reass && progress(x) < m->next + m->every / 2)
		return false;
	m->with_ooo += tp->reass != NULL;
	m->with_unacked += tp->snd_una != tp->snd_max;
	m->with_unsent += tp->snd.len > tp->snd_max - tp->snd_una;
	m->in_flight_both += w.on_wire[0] && w.on_wire[1];
	x->s[0] = move(x->s[0]);
	m->moves++;
	m->next = progress(x) + m->every;
	return false;
}

static void run_moving(struct pair_xfer *x, struct mover *m)
{
	char st[200];

	m->x = x;
	m->next = m->every;
	x->t_start = w.pr.now;
	world_run_until(xfer_and_move, m, RUN_MAX);
	ck_assert_msg(x->done && !x->failed, "after %u moves: %s (%s)", m->moves,
		      x->failed ? x->err : "not done", pair_xfer_status(x, st, sizeof(st)));
}

static void close_both(struct mtcp_sock *a, struct mtcp_sock *p)
{
	mtcp_close(a);
	mtcp_close(p);
	world_run(200 * USEC_PER_SEC);  /* TIME-WAIT and the rest run out */
	for (int i = 0; i < NSTACKS; i++)
		ck_assert_msg(usage(w.st[i]).tcp_pcbs == 0, "%s holds %u control blocks",
			      who[i], usage(w.st[i]).tcp_pcbs);
}

START_TEST(test_move_established_mid_transfer_keeps_every_byte)
{
	struct mtcp_sock *a, *p;
	struct pair_xfer x;
	struct mover m = { .every = 150000, .max = 6 };

	connect_a_to_p(&a, &p);
	pair_xfer_init(&x, &w.pr, a, p, 2000000, 1500000);
	run_moving(&x, &m);
	ck_assert_uint_eq(m.moves, 6);
	ck_assert_msg(m.with_unacked && m.in_flight_both, "no move had data in flight both "
		      "ways (%u unacked, %u both)", m.with_unacked, m.in_flight_both);
	ck_assert_uint_eq(w.st[A]->stats.sock_moved_out + w.st[B]->stats.sock_moved_out, 6);
	ck_assert_uint_eq(w.st[A]->stats.sock_moved_in + w.st[B]->stats.sock_moved_in, 6);
	close_both(x.s[0], p);
}
END_TEST

START_TEST(test_move_with_loss_and_reordering_carries_ooo_queue)
{
	struct mtcp_sock *a, *p;
	struct pair_xfer x;
	struct mover m = { .every = 150000, .max = 8, .prefer_ooo = true };

	connect_a_to_p(&a, &p);
	pair_xfer_init(&x, &w.pr, a, p, 2000000, 2000000);
	run_moving(&x, &m);
	ck_assert_uint_eq(m.moves, 8);
	ck_assert_msg(m.with_ooo && m.with_unacked && m.in_flight_both, "the moves carried "
		      "%u OOO queues, %u unacked, %u in flight both ways", m.with_ooo,
		      m.with_unacked, m.in_flight_both);
	close_both(x.s[0], p);
}
END_TEST

START_TEST(test_move_100_times_under_loss)
{
	struct mtcp_sock *a, *p;
	struct pair_xfer x;
	struct mover m = { .max = 100 };

	connect_a_to_p(&a, &p);
	pair_xfer_init(&x, &w.pr, a, p, 4000000, 4000000);
	m.every = (x.len[0] + x.len[1]) / 300;
	run_moving(&x, &m);
	ck_assert_uint_eq(m.moves, 100);
	ck_assert_msg(m.with_ooo && m.with_unacked, "the moves carried %u OOO queues, %u "
		      "unacked", m.with_ooo, m.with_unacked);
	close_both(x.s[0], p);
}
END_TEST

START_TEST(test_move_keeps_options_and_timestamps)
{
	struct mtcp_sock *a, *p;

	connect_a_to_p(&a, &p);
	h_sock_set_int(a, IPPROTO_TCP, TCP_NODELAY, 1);
	h_sock_set_int(a, SOL_SOCKET, SO_KEEPALIVE, 1);
	h_sock_set_int(a, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	h_sock_set_int(a, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
	h_sock_set_int(a, SOL_SOCKET, SO_RCVLOWAT, 9);
	h_sock_set_int(a, IPPROTO_IP, IP_TOS, 0x20);
	pthread_mutex_lock(&w.st[A]->lock);
	uint32_t before = tcp_ts_now(a->tp);
	ck_assert(a->tp->t_flags & TF_RCVD_TSTMP);
	pthread_mutex_unlock(&w.st[A]->lock);
	struct mtcp_sock *b = move(a);
	pthread_mutex_lock(&w.st[B]->lock);
	uint32_t after = tcp_ts_now(b->tp);
	pthread_mutex_unlock(&w.st[B]->lock);
	/* RFC 7323 5.4: on from where A was, though B's clock is hours ahead. */
	ck_assert_msg(after - before < 2, "TSval %u on A, %u on B", before, after);
	ck_assert_int_eq(h_sock_get_int(b, IPPROTO_TCP, TCP_NODELAY), 1);
	ck_assert_int_eq(h_sock_get_int(b, SOL_SOCKET, SO_KEEPALIVE), 1);
	ck_assert_int_eq(h_sock_get_int(b, IPPROTO_TCP, TCP_KEEPIDLE), 77);
	ck_assert_int_eq(h_sock_get_int(b, IPPROTO_TCP, TCP_USER_TIMEOUT), 5000);
	ck_assert_int_eq(h_sock_get_int(b, SOL_SOCKET, SO_RCVLOWAT), 9);
	ck_assert_int_eq(h_sock_get_int(b, IPPROTO_IP, IP_TOS), 0x20);
	pthread_mutex_lock(&w.st[B]->lock);
	ck_assert_msg(timer_armed(&b->tp->t_keep), "keepalive does not run on B");
	pthread_mutex_unlock(&w.st[B]->lock);
	close_both(b, p);
}
END_TEST

START_TEST(test_move_with_urgent_data_both_ways)
{
	struct mtcp_sock *a, *p;
	char buf[64];

	connect_a_to_p(&a, &p);
	/* P's urgent byte reaches A and waits there; A's goes out just
	 * before the move. */
	ck_assert_int_eq(mtcp_sendto(p, "helloY", 6, MSG_OOB, NULL), 6);
	world_run(100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_sendto(a, "worldX", 6, MSG_OOB, NULL), 6);
	pthread_mutex_lock(&w.st[A]->lock);
	ck_assert_int_eq(a->tp->urg_state, URG_VALID);
	ck_assert(a->tp->snd_urg);
	pthread_mutex_unlock(&w.st[A]->lock);
	struct mtcp_sock *b = move(a);
	world_run(200 * USEC_PER_MSEC);
	/* Reads stop at the mark; the byte is out of band. */
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), 0, NULL), 5);
	ck_assert(!memcmp(buf, "hello", 5));
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), MSG_OOB, NULL), 1);
	ck_assert_int_eq(buf[0], 'Y');
	ck_assert_int_eq(mtcp_recvfrom(p, buf, sizeof(buf), 0, NULL), 5);
	ck_assert(!memcmp(buf, "world", 5));
	ck_assert_int_eq(mtcp_recvfrom(p, buf, sizeof(buf), MSG_OOB, NULL), 1);
	ck_assert_int_eq(buf[0], 'X');
	close_both(b, p);
}
END_TEST

START_TEST(test_move_in_fin_wait_1_with_unsent_data)
{
	struct mtcp_sock *a, *p;
	struct pair_xfer x;
	uint8_t buf[16384];
	size_t sent = 0;
	ssize_t r;

	connect_a_to_p(&a, &p);
	/* P reads nothing: its window closes, A's queue fills. */
	for (int i = 0; i < 1000; i++) {
		pair_stream_fill(0x5eed, 0, sent, buf, sizeof(buf));
		while ((r = mtcp_sendto(a, buf, sizeof(buf), 0, NULL)) > 0) {
			sent += (size_t)r;
			pair_stream_fill(0x5eed, 0, sent, buf, sizeof(buf));
		}
		ck_assert_int_eq(r, -EAGAIN);
		world_run(20 * USEC_PER_MSEC);
		pthread_mutex_lock(&w.st[A]->lock);
		bool zero = a->tp->snd_wnd == 0;
		pthread_mutex_unlock(&w.st[A]->lock);
		if (zero)
			break;
	}
	ck_assert_int_eq(mtcp_shutdown(a, SHUT_WR), 0);
	world_run(500 * USEC_PER_MSEC);
	ck_assert_int_eq(state_of(a), TCPS_FIN_WAIT_1);
	pthread_mutex_lock(&w.st[A]->lock);
	ck_assert_msg(a->tp->snd.len > a->tp->snd_max - a->tp->snd_una, "nothing unsent");
	ck_assert_msg(timer_armed(&a->tp->t_rexmt) && (a->tp->t_flags & TF_PERSIST),
		      "the persist timer does not run");
	pthread_mutex_unlock(&w.st[A]->lock);
	struct mtcp_sock *b = move(a);
	ck_assert_int_eq(state_of(b), TCPS_FIN_WAIT_1);
	/* P reads it all now, then closes its side. */
	pair_xfer_init(&x, &w.pr, b, p, sent, 30000);
	x.sent[0] = sent;
	x.shut[0] = true;
	ck_assert_msg(world_run_until(pair_xfer_step, &x, RUN_MAX) && x.done, "%s", x.err);
	close_both(b, p);
}
END_TEST

START_TEST(test_move_in_close_wait)
{
	struct mtcp_sock *a, *p;
	struct pair_xfer x;
	uint8_t buf[40000];

	connect_a_to_p(&a, &p);
	pair_stream_fill(0x5eed, 1, 0, buf, sizeof(buf));
	ck_assert_int_eq(mtcp_sendto(p, buf, sizeof(buf), 0, NULL), (ssize_t)sizeof(buf));
	ck_assert_int_eq(mtcp_shutdown(p, SHUT_WR), 0);
	world_run(300 * USEC_PER_MSEC);
	ck_assert_int_eq(state_of(a), TCPS_CLOSE_WAIT);
	struct mtcp_sock *b = move(a);
	ck_assert_int_eq(state_of(b), TCPS_CLOSE_WAIT);
	pair_xfer_init(&x, &w.pr, b, p, 300000, sizeof(buf));
	x.sent[1] = sizeof(buf);
	x.shut[1] = true;
	ck_assert_msg(world_run_until(pair_xfer_step, &x, RUN_MAX) && x.done, "%s", x.err);
	close_both(b, p);
}
END_TEST

START_TEST(test_move_in_syn_sent)
{
	struct accept_wait aw = { .l = pair_listen(w.st[P], PORT, 16) };
	struct sockaddr_in to = h_sin(P_IP, PORT);
	struct mtcp_sock *c;
	struct pair_xfer x;

	ck_assert_int_eq(mtcp_socket(w.st[A], SOCK_STREAM, &c), 0);
	ck_assert_int_eq(mtcp_connect(c, (const struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	world_poll();
	ck_assert_int_eq(state_of(c), TCPS_SYN_SENT);
	/* The SYN is on the wire; the SYN-ACK comes back to B. */
	struct mtcp_sock *b = move(c);
	ck_assert_int_eq(state_of(b), TCPS_SYN_SENT);
	ck_assert_msg(world_run_until(writable, b, 30 * USEC_PER_SEC), "B's connect hangs");
	ck_assert_int_eq(mtcp_connect(b, (const struct sockaddr *)&to, sizeof(to)), 0);
	ck_assert_msg(world_run_until(accepted, &aw, 30 * USEC_PER_SEC), "P accepted nothing");
	ck_assert_int_eq(aw.rc, 0);
	mtcp_close(aw.l);
	ck_assert_uint_eq(w.st[A]->stats.tcp_out_rsts + w.st[B]->stats.tcp_out_rsts, 0);
	pair_xfer_init(&x, &w.pr, b, aw.s, 100000, 100000);
	ck_assert_msg(world_run_until(pair_xfer_step, &x, RUN_MAX) && x.done, "%s", x.err);
	close_both(b, aw.s);
}
END_TEST

static bool time_wait(void *s)
{
	return state_of(s) == TCPS_TIME_WAIT;
}

START_TEST(test_move_in_time_wait_ends_on_time)
{
	struct mtcp_sock *a, *p;
	uint64_t two_msl = 2 * tcp_msl(w.st[A]);

	connect_a_to_p(&a, &p);
	mtcp_sock_hold(a);      /* the orphan, to move it */
	mtcp_close(a);          /* A closes first: A waits in TIME-WAIT */
	world_run(50 * USEC_PER_MSEC);
	mtcp_close(p);
	ck_assert(world_run_until(time_wait, a, 10 * USEC_PER_SEC));
	uint64_t ends = w.pr.now + two_msl;
	world_run(two_msl / 3);
	ck_assert_ptr_null(move(a));    /* an orphan: TCP's now */
	ck_assert_uint_eq(usage(w.st[A]).tcp_pcbs, 0);
	ck_assert_uint_eq(usage(w.st[B]).tcp_pcbs, 1);
	world_run(ends - w.pr.now - USEC_PER_MSEC);
	ck_assert_msg(usage(w.st[B]).tcp_pcbs == 1, "TIME-WAIT ended early on B");
	world_run(2 * USEC_PER_MSEC);
	ck_assert_msg(usage(w.st[B]).tcp_pcbs == 0, "TIME-WAIT outlived 2MSL on B");
	ck_assert_uint_eq(usage(w.st[B]).sockets, 0);
	world_run(10 * USEC_PER_SEC);
	ck_assert_uint_eq(usage(w.st[P]).tcp_pcbs, 0);
}
END_TEST

START_TEST(test_move_bad_record_refused_without_leak)
{
	struct mtcp_sock *a, *p, *n = NULL;
	struct move_buf b = { 0 };
	size_t used = 0;
	uint8_t rcvd[100];

	connect_a_to_p(&a, &p);
	/* Something in every queue: unread data, unsent data. */
	ck_assert_int_eq(mtcp_sendto(p, "0123456789", 10, 0, NULL), 10);
	world_run(100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_sendto(a, "abc", 3, 0, NULL), 3);
	pthread_mutex_lock(&w.st[A]->lock);
	ck_assert_int_eq(sock_export(a, &b), 0);
	pthread_mutex_unlock(&w.st[A]->lock);
	struct mtcp_usage u0 = usage(w.st[B]);
	pthread_mutex_lock(&w.st[B]->lock);
	/* Truncated anywhere. */
	for (size_t len = 0; len < b.len; len += len < 64 ? 1 : 37)
		ck_assert_int_eq(sock_import(w.st[B], b.p, len, &used, &n), -EPROTO);
	/* One bit wrong anywhere. */
	for (size_t i = 0; i < b.len; i += 3) {
		b.p[i] ^= 0x10;
		ck_assert_msg(sock_import(w.st[B], b.p, b.len, &used, &n) == -EPROTO,
			      "a flipped bit at byte %zu of %zu is taken", i, b.len);
		b.p[i] ^= 0x10;
	}
	pthread_mutex_unlock(&w.st[B]->lock);
	struct mtcp_usage u1 = usage(w.st[B]);
	ck_assert_uint_eq(u1.sockets, u0.sockets);
	ck_assert_uint_eq(u1.tcp_pcbs, u0.tcp_pcbs);
	/* Whole, it is taken once; the second time its 4-tuple is there. */
	pthread_mutex_lock(&w.st[B]->lock);
	ck_assert_int_eq(sock_import(w.st[B], b.p, b.len, &used, &n), 0);
	struct mtcp_sock *n2 = NULL;
	ck_assert_int_eq(sock_import(w.st[B], b.p, b.len, &used, &n2), -EADDRINUSE);
	pthread_mutex_unlock(&w.st[B]->lock);
	ck_assert_uint_eq(usage(w.st[B]).tcp_pcbs, u0.tcp_pcbs + 1);
	pthread_mutex_lock(&w.st[A]->lock);
	sock_moved_away(a, 1);
	sock_put_locked(a);
	pthread_mutex_unlock(&w.st[A]->lock);
	w.owner = B;
	move_buf_free(&b);
	ck_assert_uint_eq(usage(w.st[A]).tcp_pcbs, 0);
	world_run(100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(n, rcvd, sizeof(rcvd), 0, NULL), 10);
	ck_assert(!memcmp(rcvd, "0123456789", 10));
	ck_assert_int_eq(mtcp_recvfrom(p, rcvd, sizeof(rcvd), 0, NULL), 3);
	ck_assert(!memcmp(rcvd, "abc", 3));
	/* A listener does not move. */
	struct mtcp_sock *l = pair_listen(w.st[B], PORT + 1, 4);
	pthread_mutex_lock(&w.st[B]->lock);
	ck_assert_int_eq(sock_export(l, &b), -EOPNOTSUPP);
	pthread_mutex_unlock(&w.st[B]->lock);
	ck_assert_uint_eq(b.len, 0);
	mtcp_close(l);
	move_buf_free(&b);
	close_both(n, p);
}
END_TEST

static struct mtcp_sock *udp_on(struct stack *st, uint16_t port)
{
	struct mtcp_sock *s;
	struct sockaddr_in a = h_sin(0, port);

	ck_assert_int_eq(mtcp_socket(st, SOCK_DGRAM, &s), 0);
	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	return s;
}

START_TEST(test_move_udp_queue_keeps_sources)
{
	struct mtcp_sock *u, *p1, *p2, *v = NULL;
	struct sockaddr_in to = h_sin(AB_IP, 5000), from;
	struct move_buf b = { 0 };
	char buf[100];
	size_t used;
	int ttl = 7;

	ck_assert_int_eq(mtcp_socket(w.st[A], SOCK_DGRAM, &u), 0);
	ck_assert_int_eq(mtcp_bind(u, &to), 0);
	ck_assert_int_eq(mtcp_setsockopt(u, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)), 0);
	p1 = udp_on(w.st[P], 6001);
	p2 = udp_on(w.st[P], 6002);
	ck_assert_int_eq(mtcp_sendto(p1, "one", 3, 0, &to), 3);
	ck_assert_int_eq(mtcp_sendto(p2, "two!", 4, 0, &to), 4);
	ck_assert_int_eq(mtcp_sendto(p1, "three", 5, 0, &to), 5);
	world_run(100 * USEC_PER_MSEC);

	pthread_mutex_lock(&w.st[A]->lock);
	ck_assert_int_eq(sock_export(u, &b), 0);
	pthread_mutex_lock(&w.st[B]->lock);
	ck_assert_int_eq(sock_import(w.st[B], b.p, b.len, &used, &v), 0);
	stack_unlock(w.st[B]);
	sock_moved_away(u, 1);
	sock_put_locked(u);
	stack_unlock(w.st[A]);
	move_buf_free(&b);
	w.owner = B;

	static const char *const want[] = { "one", "two!", "three" };
	static const uint16_t port[] = { 6001, 6002, 6001 };
	for (int i = 0; i < 3; i++) {
		ssize_t n = mtcp_recvfrom(v, buf, sizeof(buf), 0, &from);
		ck_assert_int_eq(n, (ssize_t)strlen(want[i]));
		ck_assert(!memcmp(buf, want[i], (size_t)n));
		ck_assert_uint_eq(ntohl(from.sin_addr.s_addr), P_IP);
		ck_assert_uint_eq(ntohs(from.sin_port), port[i]);
	}
	ck_assert_int_eq(mtcp_recvfrom(v, buf, sizeof(buf), 0, NULL), -EAGAIN);
	ck_assert_int_eq(h_sock_get_int(v, IPPROTO_IP, IP_TTL), 7);
	/* It goes on: bound here, it takes new datagrams and answers. */
	ck_assert_int_eq(mtcp_sendto(p2, "four", 4, 0, &to), 4);
	world_run(100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(v, buf, sizeof(buf), 0, &from), 4);
	ck_assert_int_eq(mtcp_sendto(v, "back", 4, 0, &from), 4);
	world_run(100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(p2, buf, sizeof(buf), 0, NULL), 4);
	ck_assert_uint_eq(usage(w.st[A]).sockets, 0);
	mtcp_close(v);
	mtcp_close(p1);
	mtcp_close(p2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("tcp_move");
	TCase *tc = tcase_create("move");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_move_established_mid_transfer_keeps_every_byte);
	tcase_add_test(tc, test_move_keeps_options_and_timestamps);
	tcase_add_test(tc, test_move_in_syn_sent);
	tcase_add_test(tc, test_move_with_urgent_data_both_ways);
	tcase_add_test(tc, test_move_in_fin_wait_1_with_unsent_data);
	tcase_add_test(tc, test_move_in_close_wait);
	tcase_add_test(tc, test_move_in_time_wait_ends_on_time);
	tcase_add_test(tc, test_move_bad_record_refused_without_leak);
	tcase_add_test(tc, test_move_udp_queue_keeps_sources);
	suite_add_tcase(s, tc);

	TCase *lossy = tcase_create("move_lossy");
	tcase_add_checked_fixture(lossy, setup_lossy, teardown);
	tcase_set_timeout(lossy, 120);
	tcase_add_test(lossy, test_move_with_loss_and_reordering_carries_ooo_queue);
	tcase_add_test(lossy, test_move_100_times_under_loss);
	suite_add_tcase(s, lossy);
	return s;
}

CHECK_MAIN(suite)
