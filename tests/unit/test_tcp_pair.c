/*
 * test_tcp_pair.c - TCP end to end: two whole stacks on one virtual clock
 * (tcp_pair.h), moving data through a clean or an impaired link (loss,
 * duplication, reordering, corruption; seeded), opening and closing
 * thousands of connections, and ending every one of them: after TIME-WAIT
 * no control block and no socket may be left on either stack (the leak
 * oracle: usage().tcp_pcbs and st->nsockets).
 *
 * Every transfer logs one line to stderr (virtual seconds, wall seconds,
 * the retransmission counters of both stacks, what the link did), so a
 * regression in recovery efficiency shows even while the tests pass:
 *
 *   tcp_pair: loss=0.01    seed=1  10485760/10485760:   0.324 s virtual, ...
 *   tcp_pair: loss=0.01    10 seeds: mean 0.068 s, worst 0.240 s virtual (bound 1 s)
 *
 * MTCP_PAIR_SEED=N runs only seed N in the loops over seeds (with
 * MTCP_PAIR_PCAP and CK_RUN_CASE, to look at one run in a capture:
 * CK_RUN_CASE=loss5 MTCP_PAIR_SEED=2 MTCP_PAIR_PCAP=/tmp/x). MTCP_PAIR_SEEDS=N
 * runs seeds 1..N in every loop instead (a soak run).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "check_main.h"
#include "stack_harness.h"
#include "tcp_pair.h"
#include "tcp_var.h"

#define MB              (1024 * 1024)
#define SEC             USEC_PER_SEC
#define MSL             TCP_MSL_DEFAULT
/* Past TIME-WAIT (2 MSL) with room for the last FIN handshake. */
#define PAST_TIME_WAIT  (2 * MSL + 2 * SEC)

static struct pair p;

/* --- helpers --- */

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double vsec(uint64_t us)
{
	return (double)us / SEC;
}

static struct stack_stats stats_of(struct stack *st)
{
	struct stack_stats s;

	mtcp_stack_stats(st, &s);
	return s;
}

/* The counters of both stacks, added. */
struct both_stats {
	uint64_t retrans, fast, rto, sack, rsts, estab_resets, nomem;
};

static struct both_stats both_stats(void)
{
	struct stack_stats a = stats_of(p.a), b = stats_of(p.b);
	struct both_stats s = {
		.retrans = a.tcp_retrans_segs + b.tcp_retrans_segs,
		.fast = a.tcp_fast_retrans + b.tcp_fast_retrans,
		.rto = a.tcp_timeouts + b.tcp_timeouts,
		.sack = a.tcp_sack_rexmits + b.tcp_sack_rexmits,
		.rsts = a.tcp_out_rsts + b.tcp_out_rsts,
		.estab_resets = a.tcp_estab_resets + b.tcp_estab_resets,
		.nomem = a.drops[DROP_NOMEM] + b.drops[DROP_NOMEM],
	};

	return s;
}

/* Drops that only a damaged frame explains: a header or checksum that does
 * not verify, on either stack. */
static uint64_t damage_drops(void)
{
	static const enum drop_reason r[] = {
		DROP_ETH_TRUNC, DROP_ETH_NOT_FOR_US, DROP_ETH_UNKNOWN_TYPE, DROP_ETH_FROM_US,
		DROP_ARP_MALFORMED, DROP_ARP_NOT_FOR_US, DROP_ARP_BAD_SENDER,
		DROP_IP_TRUNC, DROP_IP_BAD_VERSION, DROP_IP_BAD_HLEN, DROP_IP_BAD_LEN,
		DROP_IP_BAD_CSUM, DROP_IP_BAD_OPTIONS, DROP_IP_BAD_SRC, DROP_IP_NOT_FOR_US,
		DROP_IP_UNKNOWN_PROTO, DROP_TCP_MALFORMED, DROP_TCP_BAD_CSUM,
		DROP_TCP_BAD_OPTIONS,
	};
	struct stack_stats a = stats_of(p.a), b = stats_of(p.b);
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		n += a.drops[r[i]] + b.drops[r[i]];
	return n;
}

/* "A: TCP_OUT_OF_WINDOW 3, ...; B: ..." (the drops each stack counted),
 * for messages. Returns a static buffer. */
static const char *drops_str(void)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = 0;
	for (unsigned side = 0; side < 2; side++) {
		struct stack_stats s = stats_of(side ? p.b : p.a);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:", side ? "; " : "",
					side ? "B" : "A");
		for (unsigned r = 0; r < DROP__COUNT && off < sizeof(buf); r++)
			if (s.drops[r])
				off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %s %llu",
							drop_reason_name(r),
							(unsigned long long)s.drops[r]);
		if (off >= sizeof(buf))
			break;
	}
	return buf;
}

static bool leak_free(void)
{
	return usage(p.a).tcp_pcbs == 0 && p.a->nsockets == 0 &&
	       usage(p.b).tcp_pcbs == 0 && p.b->nsockets == 0;
}

static bool leak_free_cond(void *unused)
{
	(void)unused;
	return leak_free();
}

/* Every socket closed by the test: run until no control block and no
 * socket is left on either stack, for at most max_us; fail saying what
 * was left. Returns the virtual time it took. */
static uint64_t settle(uint64_t max_us, const char *what)
{
	uint64_t t0 = p.now;

	if (!pair_run_until(&p, leak_free_cond, NULL, max_us))
		ck_abort_msg("%s: %.1f s after the last close, A holds %u control blocks and "
			     "%u sockets, B %u and %u (expected none)", what, vsec(max_us),
			     usage(p.a).tcp_pcbs, p.a->nsockets, usage(p.b).tcp_pcbs, p.b->nsockets);
	return p.now - t0;
}

/* MTCP_PAIR_SEED=N: the seed loops run seed N only. */
static bool seed_wanted(uint64_t seed)
{
	const char *v = getenv("MTCP_PAIR_SEED");

	return !v || !*v || strtoull(v, NULL, 0) == seed;
}

/* MTCP_PAIR_SEEDS=N: every seed loop runs seeds 1..N (a soak run). */
static unsigned nseeds(unsigned n)
{
	const char *v = getenv("MTCP_PAIR_SEEDS");

	return v && *v && strtoul(v, NULL, 0) ? (unsigned)strtoul(v, NULL, 0) : n;
}

static uint16_t local_port(struct mtcp_sock *s)
{
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getsockname(s, &a), 0);
	return ntohs(a.sin_port);
}

static uint16_t peer_port(struct mtcp_sock *s)
{
	struct sockaddr_in a;

	ck_assert_int_eq(mtcp_getpeername(s, &a), 0);
	return ntohs(a.sin_port);
}

static const char *state_of(struct mtcp_sock *s)
{
	return s->tp ? tcp_state_names[s->tp->t_state] : "(no tcpcb)";
}

/* --- one transfer, clean or impaired --- */

struct xfer_case {
	const char *name;               /* for the log: "loss=0.01" */
	struct impair_cfg imp;          /* all zero: a clean link */
	size_t bytes;                   /* each way */
	bool one_way;                   /* a -> b only */
	uint64_t max_us;                /* virtual time the transfer must take at most */
};

struct xfer_result {
	uint64_t vus;                   /* the transfer's virtual time */
	uint64_t settle_us;             /* from the closes to nothing left */
	struct both_stats st;
	struct netdev_stats link;
	uint64_t damage;
};

/* Connect A to B over a link impaired as c says (seed), move c->bytes each
 * way at once, check every byte and both EOFs, close both and run until
 * both stacks are empty. Logs one line. */
static struct xfer_result run_xfer(const struct xfer_case *c, uint64_t seed)
{
	static struct pair_xfer x;
	struct impair_cfg imp = c->imp;
	bool impaired = imp.loss || imp.dup || imp.reorder || imp.corrupt;
	struct xfer_result r = { 0 };
	struct mtcp_sock *a, *b;
	double w0 = wall_now();
	char st[200];

	imp.seed = seed;
	pair_setup(&p, impaired ? &imp : NULL, 0);
	pair_connect(&p, 5000, &a, &b);
	pair_xfer_init(&x, &p, a, b, c->bytes, c->one_way ? 0 : c->bytes);
	x.seed = seed;
	bool ok = pair_xfer_run(&x, c->max_us);
	r.vus = x.t_end - x.t_start;
	r.st = both_stats();
	if (p.imp)
		r.link = p.imp->stats;
	r.damage = damage_drops();
	fprintf(stderr, "tcp_pair: %-12s seed=%-2llu %zu/%zu: %7.3f s virtual, %5.2f s wall; "
		"retrans %llu fast %llu rto %llu sack %llu; link lost %llu dup %llu "
		"reord %llu corrupt %llu, damage drops %llu%s\n",
		c->name, (unsigned long long)seed, x.rcvd[0], x.rcvd[1], vsec(r.vus),
		wall_now() - w0, (unsigned long long)r.st.retrans,
		(unsigned long long)r.st.fast, (unsigned long long)r.st.rto,
		(unsigned long long)r.st.sack, (unsigned long long)r.link.imp_lost,
		(unsigned long long)r.link.imp_dup, (unsigned long long)r.link.imp_reordered,
		(unsigned long long)r.link.imp_corrupted, (unsigned long long)r.damage,
		ok ? "" : " FAILED");
	ck_assert_msg(ok, "%s seed %llu: %s (A's end %s, B's end %s; %s)", c->name,
		      (unsigned long long)seed, x.err, state_of(a), state_of(b),
		      pair_xfer_status(&x, st, sizeof(st)));
	mtcp_close(a);
	mtcp_close(b);
	r.settle_us = settle(impaired ? PAST_TIME_WAIT + 240 * SEC : PAST_TIME_WAIT, c->name);
	ck_assert_msg(r.st.nomem == 0, "%s seed %llu: %llu frames dropped as DROP_NOMEM "
		      "(drops %s)", c->name, (unsigned long long)seed,
		      (unsigned long long)r.st.nomem, drops_str());
	pair_teardown(&p);
	return r;
}

/* Run c for seeds 1..n (or as MTCP_PAIR_SEED / MTCP_PAIR_SEEDS say);
 * returns the slowest transfer's virtual time. */
static uint64_t run_seeds(const struct xfer_case *c, unsigned n)
{
	uint64_t worst = 0, total = 0;
	unsigned runs = 0;

	for (uint64_t seed = 1; seed <= nseeds(n); seed++) {
		if (!seed_wanted(seed))
			continue;
		struct xfer_result r = run_xfer(c, seed);
		if (r.vus > worst)
			worst = r.vus;
		total += r.vus;
		runs++;
	}
	if (runs > 1)
		fprintf(stderr, "tcp_pair: %-12s %u seeds: mean %.3f s, worst %.3f s virtual "
			"(bound %.0f s)\n", c->name, runs, vsec(total / runs), vsec(worst),
			vsec(c->max_us));
	return worst;
}

/* --- 1. a clean transfer --- */

START_TEST(test_clean_10mb_each_way_byte_exact_then_nothing_left_after_time_wait)
{
	static struct pair_xfer x;
	struct mtcp_sock *a, *b;
	char st[200];

	pair_setup(&p, NULL, 0);
	pair_connect(&p, 5000, &a, &b);
	pair_xfer_init(&x, &p, a, b, 10 * MB, 10 * MB);
	ck_assert_msg(pair_xfer_run(&x, 60 * SEC), "%s", x.err);
	ck_assert_msg(x.eof[0] && x.eof[1], "EOF not seen: %s",
		      pair_xfer_status(&x, st, sizeof(st)));
	struct both_stats s = both_stats();
	fprintf(stderr, "tcp_pair: clean     10 MB each way: %.3f s virtual; retrans %llu "
		"fast %llu rto %llu sack %llu rsts %llu\n", vsec(x.t_end - x.t_start),
		(unsigned long long)s.retrans, (unsigned long long)s.fast,
		(unsigned long long)s.rto, (unsigned long long)s.sack,
		(unsigned long long)s.rsts);
	/* Nothing is lost on a clean link: nothing may be resent, nothing reset. */
	ck_assert_msg(s.retrans == 0 && s.rto == 0,
		      "clean link: %llu segments retransmitted (%llu fast), %llu timeouts; "
		      "drops %s", (unsigned long long)s.retrans, (unsigned long long)s.fast,
		      (unsigned long long)s.rto, drops_str());
	ck_assert_msg(s.rsts == 0, "clean link: %llu RSTs sent", (unsigned long long)s.rsts);

	mtcp_close(a);
	mtcp_close(b);
	uint64_t closed = p.now;
	/* Whoever closed first waits out TIME-WAIT: something is left until
	 * 2 MSL have passed... */
	pair_run(&p, 2 * MSL - 2 * SEC);
	ck_assert_msg(usage(p.a).tcp_pcbs + usage(p.b).tcp_pcbs >= 1,
		      "no control block left %.1f s after the close: TIME-WAIT shorter "
		      "than 2 MSL (%.0f s)", vsec(p.now - closed), vsec(2 * MSL));
	/* ...and nothing after. */
	settle(PAST_TIME_WAIT - (p.now - closed), "clean transfer");
	fprintf(stderr, "tcp_pair: clean     both stacks empty %.1f s after the close\n",
		vsec(p.now - closed));
	s = both_stats();
	ck_assert_msg(s.rsts == 0, "clean close: %llu RSTs sent", (unsigned long long)s.rsts);
	pair_teardown(&p);
}
END_TEST

/* --- 2. impaired transfers --- */

/*
 * Virtual-time bounds. On this link (no delay, no bandwidth limit) a
 * transfer takes no virtual time except what it spends waiting for timers
 * (delayed ACKs, retransmission timeouts, 200 ms at least), so its virtual
 * time measures how much recovery falls back on the RTO. Each bound is 3x
 * the slowest of the seeds measured when these tests were written (the
 * "worst" of the summary lines): slower than that, recovery has regressed
 * towards RTO-only.
 */
#define LOSS1_MAX_US    (1 * SEC)       /* worst of 20 seeds: 0.24 s */
#define LOSS5_MAX_US    (5 * SEC)       /* 1.65 s */
#define LOSS5_1WAY_MAX_US (10 * SEC)    /* 3.20 s */
#define LOSS10_MAX_US   (110 * SEC)     /* 36.2 s (mean 7.3 s) */
#define REORDER_MAX_US  (1 * SEC)       /* 0.000 s: no retransmission timer fired */
#define DUP_MAX_US      (1 * SEC)       /* 0.000 s */
#define CORRUPT_MAX_US  (2 * SEC)       /* 0.40 s */
#define MIX_MAX_US      (3 * SEC)       /* 0.72 s */
#define MIX1_MAX_US     (1 * SEC)       /* 0.24 s (20 seeds, 1 MB each way) */

START_TEST(test_loss_1pct_10mb_each_way_recovers_without_timeouts_dominating)
{
	struct xfer_case c = {
		.name = "loss=0.01", .imp = { .loss = 0.01 }, .bytes = 10 * MB,
		.max_us = LOSS1_MAX_US,
	};

	run_seeds(&c, 10);
}
END_TEST

START_TEST(test_loss_5pct_10mb_each_way_byte_exact)
{
	struct xfer_case c = {
		.name = "loss=0.05", .imp = { .loss = 0.05 }, .bytes = 10 * MB,
		.max_us = LOSS5_MAX_US,
	};

	run_seeds(&c, 5);
}
END_TEST

/* The same loss with data one way only: the receiver's ACKs carry no
 * data, so every one can count as a duplicate. A baseline for the two-way
 * runs, whose ACKs mostly ride on data. */
START_TEST(test_loss_5pct_10mb_one_way_byte_exact)
{
	struct xfer_case c = {
		.name = "loss=0.05 1way", .imp = { .loss = 0.05 }, .bytes = 10 * MB,
		.one_way = true, .max_us = LOSS5_1WAY_MAX_US,
	};

	run_seeds(&c, 5);
}
END_TEST

START_TEST(test_loss_10pct_10mb_each_way_byte_exact)
{
	struct xfer_case c = {
		.name = "loss=0.10", .imp = { .loss = 0.10 }, .bytes = 10 * MB,
		.max_us = LOSS10_MAX_US,
	};

	run_seeds(&c, 3);
}
END_TEST

START_TEST(test_reorder_5pct_10mb_each_way_byte_exact)
{
	struct xfer_case c = {
		.name = "reorder=0.05", .imp = { .reorder = 0.05 }, .bytes = 10 * MB,
		.max_us = REORDER_MAX_US,
	};

	run_seeds(&c, 10);
}
END_TEST

START_TEST(test_dup_5pct_10mb_each_way_byte_exact)
{
	struct xfer_case c = {
		.name = "dup=0.05", .imp = { .dup = 0.05 }, .bytes = 10 * MB,
		.max_us = DUP_MAX_US,
	};

	run_seeds(&c, 10);
}
END_TEST

START_TEST(test_corrupt_1pct_10mb_each_way_dropped_by_checksums_never_delivered)
{
	struct xfer_case c = {
		.name = "corrupt=0.01", .imp = { .corrupt = 0.01 }, .bytes = 10 * MB,
		.max_us = CORRUPT_MAX_US,
	};
	uint64_t worst = 0;

	for (uint64_t seed = 1; seed <= nseeds(10); seed++) {
		if (!seed_wanted(seed))
			continue;
		/* Byte-exact delivery is run_xfer's check: a damaged frame
		 * taken as data would show as a wrong byte. */
		struct xfer_result r = run_xfer(&c, seed);
		ck_assert_msg(r.link.imp_corrupted > 0, "seed %llu: the link corrupted nothing",
			      (unsigned long long)seed);
		/* Every damaged frame is dropped as damaged (padding of short
		 * frames, which no checksum covers, aside). */
		ck_assert_msg(r.damage <= r.link.imp_corrupted &&
			      r.damage * 10 >= r.link.imp_corrupted * 9,
			      "seed %llu: %llu frames corrupted, %llu dropped as damaged",
			      (unsigned long long)seed, (unsigned long long)r.link.imp_corrupted,
			      (unsigned long long)r.damage);
		if (r.vus > worst)
			worst = r.vus;
	}
	fprintf(stderr, "tcp_pair: %-12s worst %.3f s virtual (bound %.0f s)\n", c.name,
		vsec(worst), vsec(c.max_us));
}
END_TEST

START_TEST(test_mixed_impairment_many_seeds_byte_exact)
{
	struct xfer_case c = {
		.name = "mix",
		.imp = { .loss = 0.02, .dup = 0.01, .reorder = 0.02, .corrupt = 0.002 },
		.bytes = 10 * MB, .max_us = MIX_MAX_US,
	};

	run_seeds(&c, 8);
}
END_TEST

/* More seeds, smaller: 1 MB each way reaches other corners (the start of
 * a connection, small windows) in a fraction of the time. */
START_TEST(test_mixed_impairment_1mb_more_seeds_byte_exact)
{
	struct xfer_case c = {
		.name = "mix 1MB",
		.imp = { .loss = 0.02, .dup = 0.01, .reorder = 0.02, .corrupt = 0.002 },
		.bytes = 1 * MB, .max_us = MIX1_MAX_US,
	};

	run_seeds(&c, 32);
}
END_TEST

/* --- 3. churn: thousands of short connections through one listener --- */

/* How each connection ends. */
enum churn_kind {
	K_A_FIRST,              /* A closes, B reads EOF and closes */
	K_B_FIRST,              /* B closes after its reply, A reads it, EOF, closes */
	K_A_RST,                /* A closes with SO_LINGER 0: B reads ECONNRESET */
	K_B_UNREAD,             /* B closes with A's data unread: RST, A reads ECONNRESET */
	K_BOTH,                 /* both close at the same instant */
	K_B_RST,                /* B closes with SO_LINGER 0: A reads ECONNRESET */
	K__COUNT
};

static const char *const kind_name[K__COUNT] = {
	"A closes first", "B closes first", "A resets (linger 0)", "B closes with unread data",
	"simultaneous close", "B resets (linger 0)",
};

#define CHURN_MSG       8               /* hello and reply: magic + index */
#define CHURN_EXTRA     100             /* K_B_UNREAD: what B leaves unread */
#define CHURN_PORT      7000

struct churn_conn {
	struct mtcp_sock *a, *b;
	unsigned idx;
	enum churn_kind kind;
	unsigned a_phase, b_phase;
	uint8_t abuf[CHURN_MSG];        /* the reply, as A reads it */
	size_t agot;
	bool a_done, b_done;            /* closed */
	uint64_t wait_since;            /* when a side began waiting for a RST */
};

/* An accepted socket not yet matched to its connection (no hello yet). */
struct churn_new {
	struct mtcp_sock *b;
	uint8_t buf[CHURN_MSG];
	size_t got;
};

struct churn {
	struct mtcp_sock *l;
	unsigned n, window;             /* connections in all, at once */
	unsigned started, finished;
	unsigned low;                   /* every connection below is done */
	struct churn_conn *c;           /* [n] */
	struct churn_new *nb;           /* [n] */
	unsigned nnew;
	uint64_t rst_wait_us;           /* how long a side waits for a RST (0: forever) */
	/* outcome */
	unsigned resets_seen, resets_missed;
	bool failed;
	char err[256];
};

static bool churn_fail(struct churn *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool churn_fail(struct churn *ch, const char *fmt, ...)
{
	va_list ap;

	if (!ch->failed) {
		va_start(ap, fmt);
		vsnprintf(ch->err, sizeof(ch->err), fmt, ap);
		va_end(ap);
		ch->failed = true;
	}
	return true;
}

static void churn_msg(uint8_t *m, char tag, unsigned idx)
{
	m[0] = 'C';
	m[1] = 'H';
	m[2] = 'N';
	m[3] = (uint8_t)tag;
	memcpy(m + 4, &idx, 4);
}

static void churn_launch(struct churn *ch)
{
	struct churn_conn *c = &ch->c[ch->started];
	struct sockaddr_in to = h_sin(PAIR_B_IP, CHURN_PORT);
	int rc;

	c->idx = ch->started++;
	c->kind = c->idx % K__COUNT;
	ck_assert_int_eq(mtcp_socket(p.a, SOCK_STREAM, &c->a), 0);
	rc = mtcp_connect(c->a, (const struct sockaddr *)&to, sizeof(to));
	if (rc != -EINPROGRESS)
		churn_fail(ch, "connection %u: connect %d (%s), expected -EINPROGRESS", c->idx,
			   rc, strerror(-rc));
}

static void churn_close(struct churn *ch, struct churn_conn *c, bool side_a)
{
	if (side_a) {
		mtcp_close(c->a);
		c->a_done = true;
	} else {
		mtcp_close(c->b);
		c->b_done = true;
	}
	if (c->a_done && c->b_done)
		ch->finished++;
}

/* Read from s expecting EOF (want_reset false) or ECONNRESET. true once
 * it came (or the wait for a RST timed out: a lost RST is not resent). */
static bool churn_wait_end(struct churn *ch, struct churn_conn *c, struct mtcp_sock *s,
			   bool want_reset, const char *side)
{
	uint8_t buf[64];
	ssize_t n = mtcp_recvfrom(s, buf, sizeof(buf), 0, NULL);

	if (n == -EAGAIN) {
		if (!want_reset)
			return false;
		if (!c->wait_since)
			c->wait_since = p.now;
		if (ch->rst_wait_us && p.now - c->wait_since >= ch->rst_wait_us) {
			ch->resets_missed++;
			return true;
		}
		return false;
	}
	if (want_reset && n == -ECONNRESET) {
		ch->resets_seen++;
		return true;
	}
	if (!want_reset && n == 0)
		return true;
	churn_fail(ch, "connection %u (%s): %s's recv returned %zd (%s), expected %s", c->idx,
		   kind_name[c->kind], side, n, n < 0 ? strerror((int)-n) : "data",
		   want_reset ? "-ECONNRESET" : "EOF (0)");
	return false;
}

/* A's side: 0 connecting, 1 reading the reply, 2 ending as its kind says. */
static void churn_step_a(struct churn *ch, struct churn_conn *c)
{
	uint8_t want[CHURN_MSG];

	if (c->a_done)
		return;
	if (c->a_phase == 0) {
		unsigned ev = mtcp_poll(c->a);
		if (ev & (EPOLLERR | EPOLLHUP)) {
			churn_fail(ch, "connection %u: connect failed (poll 0x%x, %s)", c->idx,
				   ev, state_of(c->a));
			return;
		}
		if (!(ev & EPOLLOUT))
			return;
		churn_msg(want, 'h', c->idx);
		ssize_t n = mtcp_sendto(c->a, want, CHURN_MSG, 0, NULL);
		if (n != CHURN_MSG) {
			churn_fail(ch, "connection %u: A's hello: send returned %zd", c->idx, n);
			return;
		}
		c->a_phase = 1;
	}
	if (c->a_phase == 1) {
		ssize_t n = mtcp_recvfrom(c->a, c->abuf + c->agot, CHURN_MSG - c->agot, 0, NULL);
		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			churn_fail(ch, "connection %u (%s): A's recv of the reply returned %zd (%s)",
				   c->idx, kind_name[c->kind], n, n ? strerror((int)-n) : "EOF");
			return;
		}
		c->agot += (size_t)n;
		if (c->agot < CHURN_MSG)
			return;
		churn_msg(want, 'r', c->idx);
		if (memcmp(c->abuf, want, CHURN_MSG) != 0) {
			churn_fail(ch, "connection %u: A got a wrong reply", c->idx);
			return;
		}
		c->a_phase = 2;
		if (c->kind == K_B_UNREAD) {
			static const uint8_t extra[CHURN_EXTRA];
			n = mtcp_sendto(c->a, extra, sizeof(extra), 0, NULL);
			if (n != CHURN_EXTRA) {
				churn_fail(ch, "connection %u: A's extra data: send returned %zd",
					   c->idx, n);
				return;
			}
		}
	}
	switch (c->kind) {
	case K_A_FIRST:
		churn_close(ch, c, true);
		break;
	case K_A_RST:
		h_sock_linger0(c->a);
		churn_close(ch, c, true);
		break;
	case K_B_FIRST:
		if (churn_wait_end(ch, c, c->a, false, "A"))
			churn_close(ch, c, true);
		break;
	case K_B_UNREAD:
	case K_B_RST:
		if (churn_wait_end(ch, c, c->a, true, "A"))
			churn_close(ch, c, true);
		break;
	case K_BOTH:
		/* B has replied (A has it): both close now, at one instant. */
		if (c->b && c->b_phase == 1) {
			churn_close(ch, c, true);
			churn_close(ch, c, false);
		}
		break;
	default:
		break;
	}
}

/* B's side of a matched connection: 1 replied, ending as its kind says. */
static void churn_step_b(struct churn *ch, struct churn_conn *c)
{
	int inq = 0;

	if (c->b_done || !c->b)
		return;
	switch (c->kind) {
	case K_A_FIRST:
		if (churn_wait_end(ch, c, c->b, false, "B"))
			churn_close(ch, c, false);
		break;
	case K_A_RST:
		if (c->a_done && churn_wait_end(ch, c, c->b, true, "B"))
			churn_close(ch, c, false);
		break;
	case K_B_FIRST:
		churn_close(ch, c, false);
		break;
	case K_B_UNREAD:
		ck_assert_int_eq(mtcp_ioctl_inq(c->b, &inq), 0);
		if (inq >= CHURN_EXTRA)
			churn_close(ch, c, false);     /* unread: RST */
		break;
	case K_B_RST:
		if (c->a_phase == 2) {          /* A has the reply */
			h_sock_linger0(c->b);
			churn_close(ch, c, false);
		}
		break;
	default:
		break;                          /* K_BOTH: A's step closes both */
	}
}

/* Accept what is waiting; read each new socket's hello, reply, match it. */
static void churn_accept(struct churn *ch)
{
	struct mtcp_sock *s;
	uint8_t reply[CHURN_MSG];
	int rc;

	while ((rc = mtcp_accept(ch->l, NULL, &s)) == 0) {
		ck_assert_uint_lt(ch->nnew, ch->n);
		ch->nb[ch->nnew++] = (struct churn_new){ .b = s };
	}
	if (rc != -EAGAIN) {
		churn_fail(ch, "accept: %d (%s)", rc, strerror(-rc));
		return;
	}
	for (unsigned i = 0; i < ch->nnew && !ch->failed;) {
		struct churn_new *nb = &ch->nb[i];
		ssize_t n = mtcp_recvfrom(nb->b, nb->buf + nb->got, CHURN_MSG - nb->got, 0, NULL);
		if (n == -EAGAIN) {
			i++;
			continue;
		}
		if (n <= 0) {
			churn_fail(ch, "an accepted connection (from port %u): recv of the hello "
				   "returned %zd", peer_port(nb->b), n);
			return;
		}
		nb->got += (size_t)n;
		if (nb->got < CHURN_MSG)
			continue;
		unsigned idx;
		memcpy(&idx, nb->buf + 4, 4);
		if (memcmp(nb->buf, "CHNh", 4) != 0 || idx >= ch->started || ch->c[idx].b) {
			churn_fail(ch, "an accepted connection sent a wrong hello (index %u)", idx);
			return;
		}
		struct churn_conn *c = &ch->c[idx];
		if (local_port(c->a) != peer_port(nb->b)) {
			churn_fail(ch, "connection %u: hello from port %u, A's port is %u", idx,
				   peer_port(nb->b), local_port(c->a));
			return;
		}
		c->b = nb->b;
		churn_msg(reply, 'r', idx);
		n = mtcp_sendto(c->b, reply, CHURN_MSG, 0, NULL);
		if (n != CHURN_MSG) {
			churn_fail(ch, "connection %u: B's reply: send returned %zd", idx, n);
			return;
		}
		c->b_phase = 1;
		*nb = ch->nb[--ch->nnew];
	}
}

static bool churn_step(void *arg)
{
	struct churn *ch = arg;

	while (!ch->failed && ch->started < ch->n && ch->started - ch->finished < ch->window)
		churn_launch(ch);
	churn_accept(ch);
	while (ch->low < ch->started && ch->c[ch->low].a_done && ch->c[ch->low].b_done)
		ch->low++;
	for (unsigned i = ch->low; i < ch->started && !ch->failed; i++) {
		if (ch->c[i].a_done && ch->c[i].b_done)
			continue;
		churn_step_a(ch, &ch->c[i]);
		churn_step_b(ch, &ch->c[i]);
	}
	return ch->failed || ch->finished == ch->n;
}

/* n connections, window at a time, each ending as its index says; then
 * nothing may be left after TIME-WAIT. */
static void run_churn(unsigned n, unsigned window, uint64_t max_us, uint64_t rst_wait_us,
		      const char *name)
{
	static struct churn ch;
	struct both_stats s;
	double w0 = wall_now();
	uint64_t t0 = p.now;

	memset(&ch, 0, sizeof(ch));
	ch.n = n;
	ch.window = window;
	ch.rst_wait_us = rst_wait_us;
	ch.c = calloc(n, sizeof(*ch.c));
	ch.nb = calloc(n, sizeof(*ch.nb));
	ck_assert(ch.c && ch.nb);
	ch.l = pair_listen(p.b, CHURN_PORT, 64);

	bool done = pair_run_until(&p, churn_step, &ch, max_us);
	ck_assert_msg(!ch.failed, "%s: %s", name, ch.err);
	if (!done) {
		/* Name the first connection that did not end. */
		for (unsigned i = 0; i < ch.started; i++) {
			struct churn_conn *c = &ch.c[i];
			if (c->a_done && c->b_done)
				continue;
			ck_abort_msg("%s: %u of %u connections done after %.0f s; connection %u "
				     "(%s) is not: A %s (phase %u, %s), B %s (%s)", name,
				     ch.finished, n, vsec(max_us), i, kind_name[c->kind],
				     c->a_done ? "closed" : "open", c->a_phase,
				     c->a_done ? "-" : state_of(c->a),
				     c->b_done ? "closed" : c->b ? "open" : "not accepted",
				     c->b && !c->b_done ? state_of(c->b) : "-");
		}
		ck_abort_msg("%s: only %u of %u connections started", name, ch.started, n);
	}
	uint64_t vus = p.now - t0;
	mtcp_close(ch.l);
	uint64_t settle_us = settle(rst_wait_us ? PAST_TIME_WAIT + 240 * SEC : PAST_TIME_WAIT,
				    name);
	s = both_stats();
	fprintf(stderr, "tcp_pair: %s: %u connections in %.3f s virtual, %.2f s wall, empty "
		"%.1f s later; resets seen %u, missed %u; retrans %llu rto %llu rsts %llu; "
		"drops %s\n", name, n, vsec(vus), wall_now() - w0, vsec(settle_us),
		ch.resets_seen, ch.resets_missed, (unsigned long long)s.retrans,
		(unsigned long long)s.rto, (unsigned long long)s.rsts, drops_str());
	ck_assert_msg(s.nomem == 0, "%s: %llu DROP_NOMEM", name, (unsigned long long)s.nomem);
	if (!rst_wait_us) {
		/* Each connection of the three resetting kinds reported it. */
		unsigned want = 0;
		for (unsigned i = 0; i < n; i++)
			want += ch.c[i].kind == K_A_RST || ch.c[i].kind == K_B_UNREAD ||
				ch.c[i].kind == K_B_RST;
		ck_assert_msg(ch.resets_seen == want, "%s: %u ECONNRESETs seen, expected %u",
			      name, ch.resets_seen, want);
	}
	free(ch.c);
	free(ch.nb);
}

START_TEST(test_churn_2000_connections_leave_nothing_after_time_wait)
{
	pair_setup(&p, NULL, 0);
	run_churn(2000, 16, 600 * SEC, 0, "churn 2000");
	pair_teardown(&p);
}
END_TEST

START_TEST(test_churn_200_connections_under_5pct_loss_leave_nothing)
{
	struct impair_cfg imp = { .loss = 0.05, .seed = 5 };

	pair_setup(&p, &imp, 0);
	/* A lost RST is not resent: a side waiting for one gives up after
	 * 10 s and closes (its FIN then draws a RST from the other stack). */
	run_churn(200, 16, 1200 * SEC, 10 * SEC, "churn 200, loss=0.05");
	pair_teardown(&p);
}
END_TEST

/* A connection whose 4-tuple the peer still holds in TIME-WAIT (here B,
 * which closed first): RFC 6191 / RFC 9293 MAY-2 let a new SYN in when its
 * timestamp is newer. That holds only if both incarnations' timestamps
 * come from one clock (Linux: an offset hashed from the addresses), so the
 * SYN is accepted at once - no RST, no SYN timeout. */
#define REUSE_PORT      41000
#define REUSE_LPORT     7200
#define REUSE_ROUNDS    8

struct reuse_wait {
	struct mtcp_sock *l, *a, *b;
	bool eof;
};

static bool reuse_accepted(void *arg)
{
	struct reuse_wait *w = arg;

	return mtcp_accept(w->l, NULL, &w->b) == 0;
}

static bool reuse_a_eof(void *arg)
{
	struct reuse_wait *w = arg;
	char buf[16];

	return mtcp_recvfrom(w->a, buf, sizeof(buf), 0, NULL) == 0;
}

static bool connected_or_failed_a(void *arg)
{
	struct reuse_wait *w = arg;

	return mtcp_poll(w->a) & (EPOLLOUT | EPOLLERR | EPOLLHUP);
}

START_TEST(test_reconnect_to_a_peer_holding_the_tuple_in_time_wait_is_immediate)
{
	struct reuse_wait w = { 0 };
	struct sockaddr_in me = h_sin(0, REUSE_PORT), to = h_sin(PAIR_B_IP, REUSE_LPORT);
	char slow[256] = "";
	size_t off = 0;
	unsigned nslow = 0;

	pair_setup(&p, NULL, 0);
	w.l = pair_listen(p.b, REUSE_LPORT, 8);
	for (unsigned i = 0; i < REUSE_ROUNDS; i++) {
		ck_assert_int_eq(mtcp_socket(p.a, SOCK_STREAM, &w.a), 0);
		ck_assert_int_eq(mtcp_bind(w.a, &me), 0);
		ck_assert_int_eq(mtcp_connect(w.a, (const struct sockaddr *)&to, sizeof(to)),
				 -EINPROGRESS);
		uint64_t t0 = p.now;
		ck_assert_msg(pair_run_until(&p, connected_or_failed_a, &w, 90 * SEC),
			      "round %u: no connection after 90 s", i);
		uint64_t took = p.now - t0;
		ck_assert_msg(!(mtcp_poll(w.a) & (EPOLLERR | EPOLLHUP)),
			      "round %u: the connect failed (A %s)", i, state_of(w.a));
		if (took >= 500 * USEC_PER_MSEC) {
			nslow++;
			off += (size_t)snprintf(slow + off, sizeof(slow) - off, " round %u: %.1f s;",
						i, vsec(took));
		}
		ck_assert_msg(pair_run_until(&p, reuse_accepted, &w, 10 * SEC),
			      "round %u: B accepted nothing", i);
		/* B closes first and keeps the tuple in TIME-WAIT. */
		mtcp_close(w.b);
		ck_assert_msg(pair_run_until(&p, reuse_a_eof, &w, 10 * SEC),
			      "round %u: A saw no EOF", i);
		mtcp_close(w.a);
		pair_run(&p, 1 * SEC);
		ck_assert_msg(usage(p.a).tcp_pcbs == 0 && usage(p.b).tcp_pcbs == 2,
			      "round %u: %u control blocks on A (expected 0), %u on B (expected "
			      "the listener and one in TIME-WAIT)", i, usage(p.a).tcp_pcbs,
			      usage(p.b).tcp_pcbs);
	}
	struct stack_stats a = stats_of(p.a), b = stats_of(p.b);
	ck_assert_msg(nslow == 0, "%u of %u reconnections to B's TIME-WAIT tuple were delayed "
		      "by a SYN timeout:%s B dropped %llu SYNs by PAWS, A sent %llu RSTs and "
		      "dropped %llu segments in SYN-SENT", nslow, REUSE_ROUNDS - 1, slow,
		      (unsigned long long)b.drops[DROP_TCP_PAWS],
		      (unsigned long long)a.tcp_out_rsts,
		      (unsigned long long)a.drops[DROP_TCP_SYN_SENT_BAD]);
	mtcp_close(w.l);
	settle(PAST_TIME_WAIT, "reconnections");
	pair_teardown(&p);
}
END_TEST

/* --- 4. many connections at once --- */

#define MANY_CONNS      100
#define MANY_BYTES      (100 * 1000)
#define MANY_PORT       7500

struct many {
	struct pair_xfer x[MANY_CONNS];
	unsigned done;
};

static bool many_step(void *arg)
{
	struct many *m = arg;

	m->done = 0;
	for (unsigned i = 0; i < MANY_CONNS; i++) {
		if (!m->x[i].done && !m->x[i].failed)
			pair_xfer_step(&m->x[i]);
		if (m->x[i].failed)
			return true;
		m->done += m->x[i].done;
	}
	return m->done == MANY_CONNS;
}

static bool many_accept(void *arg)
{
	struct mtcp_sock **acc = arg;
	struct mtcp_sock *l = acc[MANY_CONNS], *s;
	unsigned n = 0;

	while (n < MANY_CONNS && acc[n])
		n++;
	while (n < MANY_CONNS && mtcp_accept(l, NULL, &s) == 0)
		acc[n++] = s;
	return n == MANY_CONNS;
}

START_TEST(test_100_connections_move_100k_each_way_concurrently)
{
	static struct many m;
	static struct mtcp_sock *a[MANY_CONNS], *acc[MANY_CONNS + 1];
	struct sockaddr_in to = h_sin(PAIR_B_IP, MANY_PORT);
	double w0 = wall_now();
	char st[200];

	memset(&m, 0, sizeof(m));
	memset(acc, 0, sizeof(acc));
	pair_setup(&p, NULL, 0);
	acc[MANY_CONNS] = pair_listen(p.b, MANY_PORT, 128);
	for (unsigned i = 0; i < MANY_CONNS; i++) {
		ck_assert_int_eq(mtcp_socket(p.a, SOCK_STREAM, &a[i]), 0);
		ck_assert_int_eq(mtcp_connect(a[i], (const struct sockaddr *)&to, sizeof(to)),
				 -EINPROGRESS);
	}
	ck_assert_msg(pair_run_until(&p, many_accept, acc, 60 * SEC),
		      "B did not accept %u connections in 60 s", MANY_CONNS);
	mtcp_close(acc[MANY_CONNS]);
	/* Pair each of A's sockets with the one B accepted from its port. */
	for (unsigned i = 0; i < MANY_CONNS; i++) {
		uint16_t port = local_port(a[i]);
		struct mtcp_sock *b = NULL;
		ck_assert_msg(mtcp_poll(a[i]) & EPOLLOUT, "connection %u not writable", i);
		for (unsigned j = 0; j < MANY_CONNS && !b; j++)
			if (acc[j] && peer_port(acc[j]) == port) {
				b = acc[j];
				acc[j] = NULL;
			}
		ck_assert_msg(b, "B accepted nothing from A's port %u", port);
		pair_xfer_init(&m.x[i], &p, a[i], b, MANY_BYTES, MANY_BYTES);
		m.x[i].seed = 1000 + i;         /* every connection its own bytes */
	}
	/* 100 SYNs at once outrun A's ARP queue (64 packets while B's
	 * address resolves): some connect after a SYN timeout. The transfer
	 * itself, on a clean link, must need no retransmission. */
	struct both_stats before = both_stats();
	uint64_t t0 = p.now;
	bool ok = pair_run_until(&p, many_step, &m, 120 * SEC);
	for (unsigned i = 0; i < MANY_CONNS; i++) {
		ck_assert_msg(!m.x[i].failed, "connection %u: %s", i, m.x[i].err);
		ck_assert_msg(m.x[i].done, "connection %u not done after 120 s (%u of %u done): "
			      "%s", i, m.done, MANY_CONNS,
			      pair_xfer_status(&m.x[i], st, sizeof(st)));
	}
	ck_assert(ok);
	struct both_stats s = both_stats();
	fprintf(stderr, "tcp_pair: %u connections x %u bytes each way: %.3f s virtual, "
		"%.2f s wall; retrans %llu (%llu while connecting) rto %llu rsts %llu; drops %s\n",
		MANY_CONNS, MANY_BYTES, vsec(p.now - t0), wall_now() - w0,
		(unsigned long long)s.retrans, (unsigned long long)before.retrans,
		(unsigned long long)s.rto, (unsigned long long)s.rsts, drops_str());
	ck_assert_msg(s.retrans == before.retrans, "100 connections on a clean link: %llu "
		      "segments retransmitted during the transfer (drops %s)",
		      (unsigned long long)(s.retrans - before.retrans), drops_str());
	for (unsigned i = 0; i < MANY_CONNS; i++) {
		mtcp_close(m.x[i].s[0]);
		mtcp_close(m.x[i].s[1]);
	}
	settle(PAST_TIME_WAIT, "100 connections");
	s = both_stats();
	ck_assert_msg(s.rsts == 0 && s.nomem == 0, "100 connections: %llu RSTs, %llu "
		      "DROP_NOMEM", (unsigned long long)s.rsts, (unsigned long long)s.nomem);
	pair_teardown(&p);
}
END_TEST

/* --- 5. simultaneous close --- */

struct eof_wait {
	struct mtcp_sock *s[2];
	bool eof[2];
	size_t extra[2];                /* data read where EOF was expected */
	int err[2];
};

static bool both_eof(void *arg)
{
	struct eof_wait *w = arg;
	uint8_t buf[4096];

	for (unsigned i = 0; i < 2; i++) {
		while (!w->eof[i] && !w->err[i]) {
			ssize_t n = mtcp_recvfrom(w->s[i], buf, sizeof(buf), 0, NULL);
			if (n == -EAGAIN)
				break;
			if (n == 0)
				w->eof[i] = true;
			else if (n < 0)
				w->err[i] = (int)-n;
			else
				w->extra[i] += (size_t)n;
		}
	}
	return (w->eof[0] || w->err[0]) && (w->eof[1] || w->err[1]);
}

static void assert_state(struct mtcp_sock *s, enum tcp_state want, const char *who)
{
	ck_assert_msg(s->tp && s->tp->t_state == want, "%s is in %s, expected %s", who,
		      state_of(s), tcp_state_names[want]);
}

static void assert_no_rst(const char *what)
{
	struct stack_stats a = stats_of(p.a), b = stats_of(p.b);

	ck_assert_msg(a.tcp_out_rsts == 0 && b.tcp_out_rsts == 0,
		      "%s: A sent %llu RSTs, B %llu (expected none)", what,
		      (unsigned long long)a.tcp_out_rsts, (unsigned long long)b.tcp_out_rsts);
	ck_assert_msg(a.tcp_estab_resets == 0 && b.tcp_estab_resets == 0,
		      "%s: %llu + %llu connections reset", what,
		      (unsigned long long)a.tcp_estab_resets,
		      (unsigned long long)b.tcp_estab_resets);
}

START_TEST(test_simultaneous_shutdown_ends_in_time_wait_on_both_without_rst)
{
	struct mtcp_sock *a, *b;
	struct eof_wait w = { 0 };

	pair_setup(&p, NULL, 0);
	pair_connect(&p, 5000, &a, &b);
	/* Both FINs leave before either arrives (RFC 9293 3.6, figure 13). */
	ck_assert_int_eq(mtcp_shutdown(a, SHUT_WR), 0);
	ck_assert_int_eq(mtcp_shutdown(b, SHUT_WR), 0);
	w.s[0] = a;
	w.s[1] = b;
	ck_assert_msg(pair_run_until(&p, both_eof, &w, 10 * SEC),
		      "no EOF after 10 s: A %s, B %s", state_of(a), state_of(b));
	ck_assert_msg(w.eof[0] && w.eof[1] && !w.extra[0] && !w.extra[1],
		      "A: eof %d err %d, B: eof %d err %d", w.eof[0], w.err[0], w.eof[1],
		      w.err[1]);
	pair_run(&p, 1 * SEC);
	/* FIN-WAIT-1 -> CLOSING -> TIME-WAIT, on both sides. */
	assert_state(a, TCPS_TIME_WAIT, "A");
	assert_state(b, TCPS_TIME_WAIT, "B");
	mtcp_close(a);
	mtcp_close(b);
	settle(PAST_TIME_WAIT, "simultaneous shutdown");
	assert_no_rst("simultaneous shutdown");
	pair_teardown(&p);
}
END_TEST

START_TEST(test_simultaneous_close_with_data_in_flight_ends_cleanly)
{
	static struct pair_xfer x;
	struct mtcp_sock *a, *b;

	pair_setup(&p, NULL, 0);
	pair_connect(&p, 5000, &a, &b);
	/* Each sends 10000 bytes (7 segments) and shuts down at the same
	 * instant, before the stacks run at all: each FIN follows data the
	 * other has not seen yet. */
	pair_xfer_init(&x, &p, a, b, 10000, 10000);
	x.seed = 1;
	pair_xfer_step(&x);
	ck_assert_msg(!x.failed, "%s", x.err);
	ck_assert_msg(x.shut[0] && x.shut[1], "the send buffers did not take 10000 bytes "
		      "at once: a->b sent %zu, b->a %zu", x.sent[0], x.sent[1]);
	ck_assert_msg(pair_xfer_run(&x, 10 * SEC), "%s", x.err);
	pair_run(&p, 1 * SEC);
	assert_state(a, TCPS_TIME_WAIT, "A");
	ck_assert_msg(b->tp && (b->tp->t_state == TCPS_TIME_WAIT ||
				b->tp->t_state == TCPS_CLOSED),
		      "B is in %s after both closed", state_of(b));
	mtcp_close(a);
	mtcp_close(b);
	settle(PAST_TIME_WAIT, "simultaneous close with data");
	assert_no_rst("simultaneous close with data");
	pair_teardown(&p);
}
END_TEST

START_TEST(test_simultaneous_mtcp_close_on_both_ends_without_rst)
{
	struct mtcp_sock *a, *b;
	char buf[16];

	pair_setup(&p, NULL, 0);
	pair_connect(&p, 5000, &a, &b);
	ck_assert_int_eq(mtcp_sendto(a, "ping", 4, 0, NULL), 4);
	pair_run(&p, 100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(b, buf, sizeof(buf), 0, NULL), 4);
	ck_assert_int_eq(mtcp_sendto(b, "pong", 4, 0, NULL), 4);
	pair_run(&p, 100 * USEC_PER_MSEC);
	ck_assert_int_eq(mtcp_recvfrom(a, buf, sizeof(buf), 0, NULL), 4);
	/* Nothing unread on either side: both FINs, no RST. */
	mtcp_close(a);
	mtcp_close(b);
	pair_run(&p, 1 * SEC);
	ck_assert_msg(usage(p.a).tcp_pcbs == 1 && usage(p.b).tcp_pcbs == 1,
		      "1 s after a simultaneous close: %u control blocks on A, %u on B "
		      "(expected both in TIME-WAIT)", usage(p.a).tcp_pcbs, usage(p.b).tcp_pcbs);
	settle(PAST_TIME_WAIT, "simultaneous close");
	assert_no_rst("simultaneous close");
	pair_teardown(&p);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

static Suite *tcp_pair_suite(void)
{
	Suite *s = suite_create("tcp_pair");
	TCase *tc;

	tc = tcase(s, "clean", 60);
	tcase_add_test(tc, test_clean_10mb_each_way_byte_exact_then_nothing_left_after_time_wait);

	/* One case per impairment: CK_RUN_CASE=loss5 MTCP_PAIR_SEED=2
	 * MTCP_PAIR_PCAP=/tmp/x captures one run. */
	tc = tcase(s, "loss1", 120);
	tcase_add_test(tc, test_loss_1pct_10mb_each_way_recovers_without_timeouts_dominating);
	tc = tcase(s, "loss5", 120);
	tcase_add_test(tc, test_loss_5pct_10mb_each_way_byte_exact);
	tc = tcase(s, "loss5_1way", 120);
	tcase_add_test(tc, test_loss_5pct_10mb_one_way_byte_exact);
	tc = tcase(s, "loss10", 120);
	tcase_add_test(tc, test_loss_10pct_10mb_each_way_byte_exact);
	tc = tcase(s, "reorder", 120);
	tcase_add_test(tc, test_reorder_5pct_10mb_each_way_byte_exact);
	tc = tcase(s, "dup", 120);
	tcase_add_test(tc, test_dup_5pct_10mb_each_way_byte_exact);
	tc = tcase(s, "corrupt", 120);
	tcase_add_test(tc, test_corrupt_1pct_10mb_each_way_dropped_by_checksums_never_delivered);
	tc = tcase(s, "mix", 120);
	tcase_add_test(tc, test_mixed_impairment_many_seeds_byte_exact);
	tc = tcase(s, "mix1mb", 120);
	tcase_add_test(tc, test_mixed_impairment_1mb_more_seeds_byte_exact);

	tc = tcase(s, "churn", 120);
	tcase_add_test(tc, test_churn_2000_connections_leave_nothing_after_time_wait);
	tcase_add_test(tc, test_churn_200_connections_under_5pct_loss_leave_nothing);
	tc = tcase(s, "reuse", 60);
	tcase_add_test(tc, test_reconnect_to_a_peer_holding_the_tuple_in_time_wait_is_immediate);

	tc = tcase(s, "many", 120);
	tcase_add_test(tc, test_100_connections_move_100k_each_way_concurrently);

	tc = tcase(s, "close", 60);
	tcase_add_test(tc, test_simultaneous_shutdown_ends_in_time_wait_on_both_without_rst);
	tcase_add_test(tc, test_simultaneous_close_with_data_in_flight_ends_cleanly);
	tcase_add_test(tc, test_simultaneous_mtcp_close_on_both_ends_without_rst);
	return s;
}

CHECK_MAIN(tcp_pair_suite)
