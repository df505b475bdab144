/* tcp_pair.c - see tcp_pair.h. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "stack_harness.h"
#include "tcp_pair.h"

const uint8_t PAIR_A_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x01 };
const uint8_t PAIR_B_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0x0a, 0x02 };

#define PAIR_QLEN       4096            /* frames per direction of the link */
#define PAIR_MAX_ROUNDS 100000          /* pair_poll: rounds at one time */
#define PAIR_MAX_SAME   10000           /* pair_run_until: cond turns at one time */
#define CONNECT_MAX     (60 * USEC_PER_SEC)

static struct stack *make_stack(struct pair *p, struct netdev *dev, uint32_t addr,
				const uint8_t *mac, uint64_t seed, const char *side)
{
	struct mtcp_config cfg = {
		.driver = MTCP_DRIVER_TAP,
		.addr = addr,
		.prefix = 24,
		.has_mac = true,
		.mtu = p->mtu,
		.seed = seed,
	};
	struct mtcp_clock clk = mtcp_virtual_clock(&p->now);
	const char *prefix = getenv("MTCP_PAIR_PCAP");
	struct stack *st;

	memcpy(cfg.mac, mac, 6);
	strcpy(cfg.iface, "memlink");
	if (prefix && *prefix) {
		char path[512];
		int err = 0;
		snprintf(path, sizeof(path), "%s.%s.pcap", prefix, side);
		struct pcap_writer *w = pcap_open(path, &err);
		ck_assert_msg(w, "MTCP_PAIR_PCAP: cannot write %s: %s", path, strerror(-err));
		dev = pcap_wrap(dev, w, &clk);
		ck_assert_msg(dev, "MTCP_PAIR_PCAP: pcap_wrap failed");
	}
	ck_assert_int_eq(mtcp_stack_create(&cfg, dev, &clk, &st), 0);
	return st;
}

void pair_setup(struct pair *p, const struct impair_cfg *imp, unsigned mtu)
{
	struct netdev *da, *db;

	memset(p, 0, sizeof(*p));
	p->now = 1000 * USEC_PER_SEC;
	p->mtu = mtu ? mtu : 1500;
	ck_assert_int_eq(memlink_pair(&da, &db, p->mtu, PAIR_QLEN), 0);
	if (imp) {
		struct netdev *w = impair_wrap(da, imp);
		ck_assert_msg(w, "impair_wrap failed");
		da = p->imp = w;
	}
	p->a = make_stack(p, da, PAIR_A_IP, PAIR_A_MAC, 0xa11ce, "a");
	p->b = make_stack(p, db, PAIR_B_IP, PAIR_B_MAC, 0xb0b, "b");
}

void pair_teardown(struct pair *p)
{
	h_assert_socks_closed(p->a, "stack A");
	h_assert_socks_closed(p->b, "stack B");
	mtcp_stack_destroy(p->a);
	mtcp_stack_destroy(p->b);
	p->a = p->b = NULL;
	p->imp = NULL;
}

/* Frames st's device has moved so far, either way. */
static uint64_t dev_moves(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	const struct netdev_stats *s = &st->dev->stats;
	uint64_t n = s->rx_frames + s->tx_frames + s->tx_errors;
	pthread_mutex_unlock(&st->lock);
	return n;
}

static uint64_t next_due(struct pair *p)
{
	uint64_t a = mtcp_stack_poll_at(p->a), b = mtcp_stack_poll_at(p->b);

	return a < b ? a : b;
}

bool pair_poll(struct pair *p)
{
	bool any = false;

	for (unsigned round = 0;; round++) {
		uint64_t before = dev_moves(p->a) + dev_moves(p->b);
		bool more_a = mtcp_stack_poll(p->a);
		bool more_b = mtcp_stack_poll(p->b);
		uint64_t moved = dev_moves(p->a) + dev_moves(p->b) - before;
		uint64_t due = next_due(p);
		any |= moved != 0;
		/* B's frames of this round reach A in the next one: a round
		 * that moved nothing means both queues are empty. */
		if (!more_a && !more_b && !moved && due > p->now)
			return any;
		if (round + 1 == PAIR_MAX_ROUNDS)
			ck_abort_msg("pair_poll: the stacks are still busy after %u rounds at "
				     "t=%llu us (the last round: %llu frame events, more %d/%d, "
				     "a timer %sdue): an exchange that never ends at one instant, "
				     "e.g. two ends ACKing each other; MTCP_PAIR_PCAP=prefix "
				     "records the frames", round + 1, (unsigned long long)p->now,
				     (unsigned long long)moved, more_a, more_b,
				     due <= p->now ? "" : "not ");
	}
}

bool pair_run_until(struct pair *p, bool (*cond)(void *ctx), void *ctx, uint64_t max_us)
{
	uint64_t end = max_us < TIME_NEVER - 1 - p->now ? p->now + max_us : TIME_NEVER - 1;
	unsigned same = 0;

	for (;;) {
		pair_poll(p);
		if (cond) {
			if (cond(ctx))
				return true;
			/* What cond did (sent, read, closed) may have caused
			 * traffic: let it settle and ask again at this time. */
			if (pair_poll(p) && ++same < PAIR_MAX_SAME)
				continue;
		}
		same = 0;
		if (p->now >= end)
			return false;
		uint64_t next = next_due(p);
		if (cond && next > p->now + PAIR_IDLE_STEP)
			next = p->now + PAIR_IDLE_STEP;
		if (next <= p->now)
			next = p->now + 1;      /* pair_poll left it due: move on anyway */
		p->now = next < end ? next : end;
	}
}

void pair_run(struct pair *p, uint64_t us)
{
	pair_run_until(p, NULL, NULL, us);
}

struct mtcp_sock *pair_listen(struct stack *st, uint16_t port, int backlog)
{
	struct mtcp_sock *s;
	struct sockaddr_in a = h_sin(0, port);

	ck_assert_int_eq(mtcp_socket(st, SOCK_STREAM, &s), 0);
	ck_assert_int_eq(mtcp_bind(s, &a), 0);
	ck_assert_int_eq(mtcp_listen(s, backlog), 0);
	return s;
}

static bool connected_or_failed(void *s)
{
	return mtcp_poll(s) & (EPOLLOUT | EPOLLERR | EPOLLHUP);
}

struct accept_wait {
	struct mtcp_sock *l, *s;
	int rc;
};

static bool accepted(void *arg)
{
	struct accept_wait *w = arg;

	w->rc = mtcp_accept(w->l, NULL, &w->s);
	return w->rc != -EAGAIN;
}

void pair_connect(struct pair *p, uint16_t port, struct mtcp_sock **a, struct mtcp_sock **b)
{
	struct accept_wait w = { .l = pair_listen(p->b, port, 16) };
	struct sockaddr_in to = h_sin(PAIR_B_IP, port);
	struct mtcp_sock *c;
	int rc, err = -1;
	socklen_t len = sizeof(err);

	ck_assert_int_eq(mtcp_socket(p->a, SOCK_STREAM, &c), 0);
	rc = mtcp_connect(c, (const struct sockaddr *)&to, sizeof(to));
	ck_assert_msg(rc == -EINPROGRESS, "non-blocking connect: %d (%s), expected -EINPROGRESS",
		      rc, strerror(-rc));
	ck_assert_msg(pair_run_until(p, connected_or_failed, c, CONNECT_MAX),
		      "A's connect to port %u: not writable after %llu s", port,
		      (unsigned long long)(CONNECT_MAX / USEC_PER_SEC));
	ck_assert_int_eq(mtcp_getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_msg(err == 0, "A's connect to port %u failed: SO_ERROR %d (%s)", port, err,
		      strerror(err));
	ck_assert_msg(mtcp_poll(c) & EPOLLOUT, "A's connected socket is not writable "
		      "(poll 0x%x)", mtcp_poll(c));
	ck_assert_msg(pair_run_until(p, accepted, &w, CONNECT_MAX),
		      "B accepted nothing on port %u in %llu s though A is connected", port,
		      (unsigned long long)(CONNECT_MAX / USEC_PER_SEC));
	ck_assert_msg(w.rc == 0, "B's accept: %d (%s)", w.rc, strerror(-w.rc));
	mtcp_close(w.l);
	*a = c;
	*b = w.s;
}

/* --- the transfer driver --- */

static const char *const dir_name[2] = { "a->b", "b->a" };

/* splitmix64's finaliser. */
static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void pair_stream_fill(uint64_t seed, unsigned dir, uint64_t pos, uint8_t *buf, size_t n)
{
	uint64_t key = mix64(seed ^ ((uint64_t)dir + 1) * 0xd1b54a32d192ed03ULL);

	while (n) {
		uint64_t v = mix64(key + pos / 8);
		for (unsigned off = pos % 8; off < 8 && n; off++, n--, pos++)
			*buf++ = (uint8_t)(v >> (8 * off));
	}
}

void pair_xfer_init(struct pair_xfer *x, struct pair *p, struct mtcp_sock *a,
		    struct mtcp_sock *b, size_t a_to_b, size_t b_to_a)
{
	memset(x, 0, sizeof(*x));
	x->p = p;
	x->s[0] = a;
	x->s[1] = b;
	x->len[0] = a_to_b;
	x->len[1] = b_to_a;
	x->seed = 0x5eed;
	x->chunk = 16384;
	x->rchunk = 16384;
}

static bool xfer_fail(struct pair_xfer *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool xfer_fail(struct pair_xfer *x, const char *fmt, ...)
{
	va_list ap;

	if (!x->failed) {
		va_start(ap, fmt);
		vsnprintf(x->err, sizeof(x->err), fmt, ap);
		va_end(ap);
		x->failed = true;
		x->t_end = x->p->now;
	}
	return false;
}

static size_t clamp_chunk(size_t n)
{
	return n == 0 ? 16384 : n > PAIR_XFER_CHUNK_MAX ? PAIR_XFER_CHUNK_MAX : n;
}

/* Send what direction d's socket takes; shut down when all is sent.
 * Returns whether anything happened. */
static bool xfer_send(struct pair_xfer *x, unsigned d)
{
	uint8_t buf[PAIR_XFER_CHUNK_MAX];
	size_t chunk = clamp_chunk(x->chunk);
	bool progress = false;

	while (x->sent[d] < x->len[d]) {
		size_t n = x->len[d] - x->sent[d] < chunk ? x->len[d] - x->sent[d] : chunk;
		pair_stream_fill(x->seed, d, x->sent[d], buf, n);
		ssize_t r = mtcp_sendto(x->s[d], buf, n, 0, NULL);
		if (r == -EAGAIN)
			return progress;
		if (r <= 0 || (size_t)r > n)
			return xfer_fail(x, "%s: send of %zu bytes at byte %zu returned %zd (%s)",
					 dir_name[d], n, x->sent[d], r,
					 r < 0 ? strerror((int)-r) : "no progress");
		x->sent[d] += (size_t)r;
		progress = true;
	}
	if (!x->shut[d]) {
		int rc = mtcp_shutdown(x->s[d], SHUT_WR);
		if (rc)
			return xfer_fail(x, "%s: shutdown(SHUT_WR) after %zu bytes: %d (%s)",
					 dir_name[d], x->sent[d], rc, strerror(-rc));
		x->shut[d] = true;
		progress = true;
	}
	return progress;
}

/* Read and check what direction d's receiver has. Returns whether
 * anything happened. */
static bool xfer_recv(struct pair_xfer *x, unsigned d)
{
	uint8_t buf[PAIR_XFER_CHUNK_MAX], want[PAIR_XFER_CHUNK_MAX];
	size_t rchunk = clamp_chunk(x->rchunk);
	size_t budget = x->rbudget ? x->rbudget : SIZE_MAX;
	bool progress = false;

	while (!x->eof[d] && budget) {
		size_t ask = budget < rchunk ? budget : rchunk;
		ssize_t n = mtcp_recvfrom(x->s[!d], buf, ask, 0, NULL);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return xfer_fail(x, "%s: recv after %zu of %zu bytes returned %zd (%s)",
					 dir_name[d], x->rcvd[d], x->len[d], n,
					 strerror((int)-n));
		if (n == 0) {
			if (x->rcvd[d] < x->len[d])
				return xfer_fail(x, "%s: EOF after %zu of %zu bytes", dir_name[d],
						 x->rcvd[d], x->len[d]);
			if (!x->shut[d])
				return xfer_fail(x, "%s: EOF though the sender has not shut down",
						 dir_name[d]);
			x->eof[d] = true;
			return true;
		}
		if ((size_t)n > ask)
			return xfer_fail(x, "%s: recv of at most %zu bytes returned %zd",
					 dir_name[d], ask, n);
		if (x->rcvd[d] + (size_t)n > x->len[d])
			return xfer_fail(x, "%s: %zu bytes received, more than the %zu sent",
					 dir_name[d], x->rcvd[d] + (size_t)n, x->len[d]);
		pair_stream_fill(x->seed, d, x->rcvd[d], want, (size_t)n);
		if (memcmp(buf, want, (size_t)n) != 0) {
			size_t i = 0;
			while (buf[i] == want[i])
				i++;
			return xfer_fail(x, "%s: stream byte %zu is 0x%02x, expected 0x%02x "
					 "(in a recv of %zd bytes from byte %zu)", dir_name[d],
					 x->rcvd[d] + i, buf[i], want[i], n, x->rcvd[d]);
		}
		x->rcvd[d] += (size_t)n;
		budget -= (size_t)n;
		progress = true;
	}
	return progress;
}

bool pair_xfer_step(void *arg)
{
	struct pair_xfer *x = arg;
	bool progress = true;

	while (progress && !x->done && !x->failed) {
		progress = false;
		for (unsigned d = 0; d < 2 && !x->failed; d++) {
			progress |= xfer_send(x, d);
			progress |= xfer_recv(x, d);
		}
		if (x->rbudget)
			break;          /* one helping per step */
	}
	if (!x->failed && x->eof[0] && x->eof[1]) {
		x->done = true;
		x->t_end = x->p->now;
	}
	return x->done || x->failed;
}

const char *pair_xfer_status(const struct pair_xfer *x, char *buf, size_t len)
{
	snprintf(buf, len, "a->b sent %zu rcvd %zu of %zu%s%s, b->a sent %zu rcvd %zu of %zu%s%s",
		 x->sent[0], x->rcvd[0], x->len[0], x->shut[0] ? " shut" : "",
		 x->eof[0] ? " eof" : "", x->sent[1], x->rcvd[1], x->len[1],
		 x->shut[1] ? " shut" : "", x->eof[1] ? " eof" : "");
	return buf;
}

bool pair_xfer_run(struct pair_xfer *x, uint64_t max_us)
{
	char st[200];

	x->t_start = x->p->now;
	pair_run_until(x->p, pair_xfer_step, x, max_us);
	if (!x->done && !x->failed)
		xfer_fail(x, "not done after %llu us of virtual time: %s",
			  (unsigned long long)max_us, pair_xfer_status(x, st, sizeof(st)));
	return x->done && !x->failed;
}
