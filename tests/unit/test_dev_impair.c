/*
 * test_dev_impair.c - MTCP_IMPAIR parsing and the impairment wrapper, run
 * over a memlink in both directions: tx (impair wraps the sender) and rx
 * (impair wraps the receiver).
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "dev.h"

#define FAR_FUTURE	(UINT64_MAX / 2)

/* A delivered frame: its number (bytes 0..3, never corrupted) and a hash. */
struct rec {
	uint32_t	seq;
	uint32_t	len;
	uint64_t	hash;
};

struct run {
	struct rec	*r;
	size_t		 n, cap;
	struct netdev_stats st;
};

enum dir { TX, RX };

static size_t
flen(uint32_t seq)
{
	return 15 + (seq * 131u) % 1500u;      /* 15..1514 */
}

static void
mkframe(uint8_t *f, uint32_t seq)
{
	size_t i, len = flen(seq);

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 13 + seq);
	memcpy(f, &seq, 4);
}

static uint64_t
fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static void
record(struct run *run, const uint8_t *f, ssize_t n)
{
	if (run->n == run->cap) {
		run->cap = run->cap ? run->cap * 2 : 1024;
		run->r = realloc(run->r, run->cap * sizeof(*run->r));
		if (run->r == NULL)
			ck_abort_msg("out of memory");
	}
	memcpy(&run->r[run->n].seq, f, 4);
	run->r[run->n].len = (uint32_t)n;
	run->r[run->n].hash = fnv(f, (size_t)n);
	run->n++;
}

static void
drain(struct netdev *d, struct run *run, uint64_t now)
{
	uint8_t g[1600];
	ssize_t n;

	while ((n = netdev_recv(d, g, sizeof(g), now)) > 0)
		record(run, g, n);
	if (n != -EAGAIN)       /* (no ck_assert in hot loops: it is slow) */
		ck_abort_msg("recv on %s: %zd", d->name, n);
}

/*
 * Push n frames through an impair device with cfg, frame i at now = i * 10,
 * in direction dir; flush anything held at the end. Returns what arrived.
 */
static struct run
simulate(const struct impair_cfg *cfg, enum dir dir, uint32_t n)
{
	struct netdev *a, *b, *w;
	struct run run = { 0 };
	uint8_t f[1600];
	uint32_t i;
	int e;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	w = impair_wrap(a, cfg);
	ck_assert_ptr_nonnull(w);
	for (i = 0; i < n; i++) {
		mkframe(f, i);
		if (dir == TX) {
			if ((e = netdev_send(w, f, flen(i), i * 10ULL)) != 0)
				ck_abort_msg("send %u: %d", i, e);
			drain(b, &run, i * 10ULL);
		} else {
			if ((e = netdev_send(b, f, flen(i), 0)) != 0)
				ck_abort_msg("send %u: %d", i, e);
			drain(w, &run, i * 10ULL);
		}
	}
	if (dir == TX) {
		ck_assert_int_eq(netdev_recv(w, f, sizeof(f), FAR_FUTURE), -EAGAIN);
		drain(b, &run, FAR_FUTURE);
	} else {
		drain(w, &run, FAR_FUTURE);
	}
	ck_assert_uint_eq(netdev_poll_at(w), UINT64_MAX);
	run.st = w->stats;
	netdev_destroy(w);
	netdev_destroy(b);
	return run;
}

static bool
same_frames(const struct run *x, const struct run *y)
{
	return x->n == y->n && memcmp(x->r, y->r, x->n * sizeof(*x->r)) == 0;
}

static bool
same_run(const struct run *x, const struct run *y)
{
	return same_frames(x, y) &&
	    memcmp(&x->st, &y->st, sizeof(x->st)) == 0;
}

static struct impair_cfg
cfg_of(const char *spec)
{
	struct impair_cfg c;
	char err[256];

	ck_assert_msg(impair_parse(spec, &c, err, sizeof(err)) == 0,
	    "\"%s\" rejected: %s", spec, err);
	return c;
}

/* Parsing. */

START_TEST(test_parse_accepts_good_specs)
{
	struct impair_cfg c;
	char err[128];

	ck_assert_int_eq(impair_parse("", &c, err, sizeof(err)), 0);
	ck_assert(c.loss == 0 && c.dup == 0 && c.reorder == 0 && c.corrupt == 0);
	ck_assert_uint_eq(c.seed, 1);
	ck_assert_uint_eq(c.reorder_hold_us, 1000);

	ck_assert_int_eq(impair_parse("loss=0.02,dup=0.01,reorder=0.02,"
	    "corrupt=0.001,seed=7", &c, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(c.loss, 0.02, 1e-12);
	ck_assert_double_eq_tol(c.dup, 0.01, 1e-12);
	ck_assert_double_eq_tol(c.reorder, 0.02, 1e-12);
	ck_assert_double_eq_tol(c.corrupt, 0.001, 1e-12);
	ck_assert_uint_eq(c.seed, 7);

	ck_assert_int_eq(impair_parse("seed=0x10,loss=1,dup=0,corrupt=1e-3,"
	    "reorder=.5,hold_us=250", &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.seed, 16);
	ck_assert(c.loss == 1.0 && c.dup == 0.0);
	ck_assert_double_eq_tol(c.corrupt, 0.001, 1e-12);
	ck_assert_double_eq_tol(c.reorder, 0.5, 1e-12);
	ck_assert_uint_eq(c.reorder_hold_us, 250);

	ck_assert_int_eq(impair_parse("loss=1.000,seed=18446744073709551615,"
	    "dup=0E+5", &c, NULL, 0), 0);
	ck_assert_uint_eq(c.seed, UINT64_MAX);
	ck_assert(c.loss == 1.0 && c.dup == 0.0);
	ck_assert_int_eq(impair_parse(NULL, &c, err, sizeof(err)), 0);
}
END_TEST

static const struct {
	const char	*spec;
	const char	*names;         /* must appear in the message */
} bad_specs[] = {
	{ "los=0.1",			"los" },
	{ "loss=0.1,jitter=3",		"jitter" },
	{ "loss=1.5",			"1.5" },
	{ "loss=1.0001",		"loss" },
	{ "loss=-0.1",			"-0.1" },
	{ "dup=abc",			"abc" },
	{ "dup=0.1x",			"0.1x" },
	{ "reorder=",			"reorder" },
	{ "corrupt=nan",		"nan" },
	{ "corrupt=inf",		"corrupt" },
	{ "corrupt= 0.1",		"corrupt" },
	{ "corrupt=1e",			"1e" },
	{ "loss=2e-0",			"2e-0" },
	{ "seed=-1",			"seed" },
	{ "seed=1.5",			"1.5" },
	{ "seed=18446744073709551616",	"18446744073709551616" },
	{ "seed=0x",			"seed" },
	{ "hold_us=4294967296",		"hold_us" },
	{ "loss=0.1,,dup=0.1",		"empty" },
	{ "loss=0.1,",			"empty" },
	{ ",loss=0.1",			"empty" },
	{ "loss",			"loss" },
	{ "loss=0.1,loss=0.2",		"twice" },
	{ "LOSS=0.1",			"LOSS" },
};

START_TEST(test_parse_rejects_bad_spec_naming_it)
{
	struct impair_cfg c, before;
	char err[256];

	memset(&before, 0x5a, sizeof(before));
	c = before;
	memset(err, 0, sizeof(err));
	ck_assert_msg(impair_parse(bad_specs[_i].spec, &c, err, sizeof(err)) ==
	    -EINVAL, "\"%s\" accepted", bad_specs[_i].spec);
	ck_assert_msg(strstr(err, bad_specs[_i].names) != NULL,
	    "message for \"%s\" does not name \"%s\": \"%s\"",
	    bad_specs[_i].spec, bad_specs[_i].names, err);
	ck_assert_msg(memcmp(&c, &before, sizeof(c)) == 0,
	    "\"%s\" modified the output", bad_specs[_i].spec);
	/* A tiny or absent buffer is fine. */
	ck_assert_int_eq(impair_parse(bad_specs[_i].spec, &c, err, 4), -EINVAL);
	ck_assert_uint_le(strlen(err), 3);
	ck_assert_int_eq(impair_parse(bad_specs[_i].spec, &c, NULL, 0), -EINVAL);
}
END_TEST

/* The wrapper. */

START_TEST(test_wrap_copies_lower_identity_and_rejects_bad_cfg)
{
	struct netdev *a, *b, *w;
	struct impair_cfg c = cfg_of("loss=0.5");

	ck_assert_int_eq(memlink_pair(&a, &b, 1400, 4), 0);
	memcpy(a->hwaddr, "\x02\x00\x00\x00\x00\x07", 6);
	c.loss = 1.5;
	errno = 0;
	ck_assert_ptr_null(impair_wrap(a, &c));
	ck_assert_int_eq(errno, EINVAL);
	c.loss = 0.5;
	w = impair_wrap(a, &c);         /* a still ours after the failure */
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(w->fd, a->fd);
	ck_assert_uint_eq(w->mtu, 1400);
	ck_assert(memcmp(w->hwaddr, a->hwaddr, 6) == 0);
	ck_assert_msg(strncmp(w->name, "impair(", 7) == 0 &&
	    w->name[strlen(w->name) - 1] == ')', "name \"%s\"", w->name);
	ck_assert_msg(strstr(w->name, a->name) != NULL, "name \"%s\" lacks %s",
	    w->name, a->name);
	ck_assert_uint_eq(netdev_poll_at(w), UINT64_MAX);
	netdev_destroy(w);              /* destroys a too (ASan: no leak) */
	netdev_destroy(b);
}
END_TEST

START_TEST(test_same_seed_gives_identical_sequences)
{
	struct impair_cfg c = cfg_of("loss=0.1,dup=0.1,reorder=0.1,"
	    "corrupt=0.1,seed=42,hold_us=35");
	enum dir dir = _i ? RX : TX;
	struct run x = simulate(&c, dir, 5000), y = simulate(&c, dir, 5000);

	ck_assert_msg(same_run(&x, &y), "%s: two runs with seed 42 differ "
	    "(%zu vs %zu frames)", dir == TX ? "tx" : "rx", x.n, y.n);
	ck_assert(x.st.imp_lost > 0 && x.st.imp_dup > 0 &&
	    x.st.imp_reordered > 0 && x.st.imp_corrupted > 0);
	free(x.r);
	free(y.r);
}
END_TEST

START_TEST(test_different_seeds_give_different_sequences)
{
	struct impair_cfg c = cfg_of("loss=0.1,dup=0.1,reorder=0.1,"
	    "corrupt=0.1,seed=42");
	enum dir dir = _i ? RX : TX;
	struct run x = simulate(&c, dir, 2000), y;

	c.seed = 43;
	y = simulate(&c, dir, 2000);
	ck_assert_msg(!same_frames(&x, &y), "seeds 42 and 43 delivered the "
	    "same frames");
	free(x.r);
	free(y.r);
}
END_TEST

START_TEST(test_directions_decide_independently)
{
	/* Same seed, tx vs rx: the two generators are not the same stream. */
	struct impair_cfg c = cfg_of("loss=0.5,seed=9");
	struct run x = simulate(&c, TX, 1000), y = simulate(&c, RX, 1000);

	ck_assert_msg(!same_frames(&x, &y), "tx and rx made identical "
	    "decisions");
	ck_assert_uint_ne(x.st.imp_lost, y.st.imp_lost);
	free(x.r);
	free(y.r);
}
END_TEST

START_TEST(test_loss_one_drops_every_frame)
{
	struct impair_cfg c = cfg_of("loss=1,dup=1,reorder=1,corrupt=1");
	struct run x = simulate(&c, _i ? RX : TX, 1000);

	ck_assert_uint_eq(x.n, 0);
	ck_assert_uint_eq(x.st.imp_lost, 1000);
	ck_assert_uint_eq(x.st.imp_dup + x.st.imp_reordered +
	    x.st.imp_corrupted, 0);
	free(x.r);
}
END_TEST

START_TEST(test_dup_one_delivers_each_frame_twice)
{
	struct impair_cfg c = cfg_of("dup=1");
	struct run x = simulate(&c, _i ? RX : TX, 1000);
	uint32_t i;

	ck_assert_uint_eq(x.n, 2000);
	for (i = 0; i < 2000; i++)
		ck_assert_msg(x.r[i].seq == i / 2 && x.r[i].len == flen(i / 2),
		    "delivery %u is frame %u", i, x.r[i].seq);
	ck_assert_uint_eq(x.st.imp_dup, 1000);
	free(x.r);
}
END_TEST

START_TEST(test_rx_duplicate_is_announced_by_poll_at)
{
	struct netdev *a, *b, *w;
	struct impair_cfg c = cfg_of("dup=1");
	uint8_t f[1600];

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	w = impair_wrap(a, &c);
	mkframe(f, 3);
	ck_assert_int_eq(netdev_send(b, f, flen(3), 0), 0);
	ck_assert_int_eq(netdev_recv(w, f, sizeof(f), 5), (ssize_t)flen(3));
	/* The copy is inside the wrapper, not behind the lower fd. */
	ck_assert_uint_eq(netdev_poll_at(w), 0);
	ck_assert_int_eq(netdev_recv(w, f, sizeof(f), 5), (ssize_t)flen(3));
	ck_assert_uint_eq(netdev_poll_at(w), UINT64_MAX);
	ck_assert_int_eq(netdev_recv(w, f, sizeof(f), 5), -EAGAIN);
	ck_assert_uint_eq(w->stats.rx_frames, 2);
	netdev_destroy(w);
	netdev_destroy(b);
}
END_TEST

static void
check_rate(const char *what, uint64_t count, uint32_t n, double lo, double hi)
{
	double r = (double)count / n;

	ck_assert_msg(r >= lo && r <= hi, "%s rate %.4f outside [%.3f, %.3f]",
	    what, r, lo, hi);
}

START_TEST(test_rates_match_probabilities_over_100k_frames)
{
	const uint32_t n = 100000;
	enum dir dir = _i ? RX : TX;
	struct impair_cfg c;
	struct run x;

	c = cfg_of("loss=0.1,seed=11");
	x = simulate(&c, dir, n);
	check_rate("loss", x.st.imp_lost, n, 0.09, 0.11);
	check_rate("delivered", x.n, n, 0.89, 0.91);
	free(x.r);

	c = cfg_of("dup=0.1,seed=12");
	x = simulate(&c, dir, n);
	check_rate("dup", x.st.imp_dup, n, 0.09, 0.11);
	ck_assert_uint_eq(x.n, n + x.st.imp_dup);
	free(x.r);

	c = cfg_of("corrupt=0.1,seed=13");
	x = simulate(&c, dir, n);
	check_rate("corrupt", x.st.imp_corrupted, n, 0.09, 0.11);
	free(x.r);

	/* A frame is held only when none is: p / (1 + p) of all frames. */
	c = cfg_of("reorder=0.1,seed=14");
	x = simulate(&c, dir, n);
	check_rate("reorder", x.st.imp_reordered, n, 0.0859, 0.0959);
	ck_assert_uint_eq(x.n, n);
	free(x.r);
}
END_TEST

START_TEST(test_reorder_one_swaps_adjacent_frames)
{
	struct impair_cfg c = cfg_of("reorder=1");
	struct run x = simulate(&c, _i ? RX : TX, 1000);
	uint32_t i;

	ck_assert_uint_eq(x.n, 1000);
	for (i = 0; i < 1000; i++)
		ck_assert_msg(x.r[i].seq == (i ^ 1), "delivery %u is frame %u, "
		    "want %u", i, x.r[i].seq, i ^ 1);
	ck_assert_uint_eq(x.st.imp_reordered, 500);
	free(x.r);
}
END_TEST

START_TEST(test_tx_held_frame_released_after_hold_time)
{
	struct netdev *a, *b, *w;
	struct impair_cfg c = cfg_of("reorder=1,hold_us=500");
	uint8_t f[1600], g[1600];

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	w = impair_wrap(a, &c);
	mkframe(f, 0);
	ck_assert_int_eq(netdev_send(w, f, flen(0), 1000), 0);
	ck_assert_uint_eq(netdev_poll_at(w), 1500);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1499), -EAGAIN);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 1499), -EAGAIN);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1500), -EAGAIN);
	ck_assert_uint_eq(netdev_poll_at(w), UINT64_MAX);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 1500), (ssize_t)flen(0));
	ck_assert(memcmp(f, g, flen(0)) == 0);

	/* Due at the next send: it goes first, in its place; the new frame
	 * is held in turn. */
	ck_assert_int_eq(netdev_send(w, f, flen(0), 2000), 0);
	mkframe(f, 1);
	ck_assert_int_eq(netdev_send(w, f, flen(1), 2600), 0);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 2600), (ssize_t)flen(0));
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 2600), -EAGAIN);
	ck_assert_uint_eq(netdev_poll_at(w), 3100);
	netdev_destroy(w);              /* with a frame held: no leak */
	netdev_destroy(b);
}
END_TEST

START_TEST(test_rx_held_frame_released_after_hold_time)
{
	struct netdev *a, *b, *w;
	struct impair_cfg c = cfg_of("reorder=1,hold_us=500");
	uint8_t f[1600], g[1600];

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	w = impair_wrap(a, &c);
	mkframe(f, 0);
	ck_assert_int_eq(netdev_send(b, f, flen(0), 0), 0);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1000), -EAGAIN);
	ck_assert_uint_eq(netdev_poll_at(w), 1500);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1499), -EAGAIN);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1500), (ssize_t)flen(0));
	ck_assert(memcmp(f, g, flen(0)) == 0);
	ck_assert_uint_eq(netdev_poll_at(w), UINT64_MAX);
	ck_assert_int_eq(netdev_recv(w, g, sizeof(g), 1500), -EAGAIN);
	netdev_destroy(w);
	netdev_destroy(b);
}
END_TEST

static int
bits_differing(const uint8_t *x, const uint8_t *y, size_t n, size_t *first)
{
	int bits = 0;
	size_t i;

	*first = n;
	for (i = 0; i < n; i++) {
		if (x[i] != y[i] && *first == n)
			*first = i;
		bits += __builtin_popcount(x[i] ^ y[i]);
	}
	return bits;
}

START_TEST(test_corrupt_flips_exactly_one_bit_past_ethernet_header)
{
	struct netdev *a, *b, *w;
	struct impair_cfg c = cfg_of("corrupt=1,seed=5");
	uint8_t f[1600], g[1600];
	size_t first, len;
	uint32_t i;
	ssize_t n;
	int bits;

	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	w = impair_wrap(a, &c);
	for (i = 0; i < 2000; i++) {
		mkframe(f, i);
		len = flen(i);
		if (i % 2 == 0) {
			ck_assert_int_eq(netdev_send(w, f, len, 0), 0);
			n = netdev_recv(b, g, sizeof(g), 0);
		} else {
			ck_assert_int_eq(netdev_send(b, f, len, 0), 0);
			n = netdev_recv(w, g, sizeof(g), 0);
		}
		ck_assert_int_eq(n, (ssize_t)len);
		bits = bits_differing(f, g, len, &first);
		ck_assert_msg(bits == 1 && first >= 14, "frame %u (%zu bytes): "
		    "%d bits differ, first at byte %zu", i, len, bits, first);
	}
	/* The caller's buffer is never touched. */
	mkframe(g, 7);
	memcpy(f, g, flen(7));
	ck_assert_int_eq(netdev_send(w, f, flen(7), 0), 0);
	ck_assert(memcmp(f, g, flen(7)) == 0);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)flen(7));
	/* A bare header has nothing to corrupt. */
	memset(f, 0xee, 14);
	ck_assert_int_eq(netdev_send(w, f, 14, 0), 0);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), 14);
	ck_assert(memcmp(f, g, 14) == 0);
	ck_assert_uint_eq(w->stats.imp_corrupted, 2001);
	netdev_destroy(w);
	netdev_destroy(b);
}
END_TEST

START_TEST(test_counters_match_what_was_delivered)
{
	const uint32_t n = 20000;
	struct impair_cfg c = cfg_of("loss=0.05,dup=0.05,reorder=0.05,"
	    "corrupt=0.05,seed=99,hold_us=100000000");
	struct run x = simulate(&c, _i ? RX : TX, n);
	uint8_t f[1600];
	uint8_t *corrupted = calloc(n, 1);
	uint64_t ncorrupt = 0, inversions = 0, dups = 0;
	size_t k;

	ck_assert_uint_eq(x.n, n - x.st.imp_lost + x.st.imp_dup);
	for (k = 0; k < x.n; k++) {
		mkframe(f, x.r[k].seq);
		if (fnv(f, flen(x.r[k].seq)) != x.r[k].hash &&
		    !corrupted[x.r[k].seq]) {
			corrupted[x.r[k].seq] = 1;
			ncorrupt++;
		}
		if (k > 0 && x.r[k].seq == x.r[k - 1].seq)
			dups++;
		else if (k > 0 && x.r[k].seq < x.r[k - 1].seq)
			inversions++;
	}
	ck_assert_uint_eq(ncorrupt, x.st.imp_corrupted);
	ck_assert_uint_eq(dups, x.st.imp_dup);
	/* Every hold is one swap, unless the last one timed out alone. */
	ck_assert_msg(inversions == x.st.imp_reordered ||
	    inversions + 1 == x.st.imp_reordered, "%lu inversions, %lu holds",
	    (unsigned long)inversions, (unsigned long)x.st.imp_reordered);
	ck_assert_uint_eq(_i ? x.st.rx_frames : x.st.tx_frames,
	    _i ? x.n : n);
	free(corrupted);
	free(x.r);
}
END_TEST

static Suite *
impair_suite(void)
{
	Suite *s = suite_create("dev_impair");
	TCase *tp = tcase_create("parse");
	TCase *tw = tcase_create("wrap");
	int nbad = sizeof(bad_specs) / sizeof(bad_specs[0]);

	tcase_add_test(tp, test_parse_accepts_good_specs);
	tcase_add_loop_test(tp, test_parse_rejects_bad_spec_naming_it, 0, nbad);
	suite_add_tcase(s, tp);

	/* Loop tests: _i = 0 impairs the send side, 1 the receive side. */
	tcase_set_timeout(tw, 60);
	tcase_add_test(tw, test_wrap_copies_lower_identity_and_rejects_bad_cfg);
	tcase_add_loop_test(tw, test_same_seed_gives_identical_sequences, 0, 2);
	tcase_add_loop_test(tw, test_different_seeds_give_different_sequences,
	    0, 2);
	tcase_add_test(tw, test_directions_decide_independently);
	tcase_add_loop_test(tw, test_loss_one_drops_every_frame, 0, 2);
	tcase_add_loop_test(tw, test_dup_one_delivers_each_frame_twice, 0, 2);
	tcase_add_test(tw, test_rx_duplicate_is_announced_by_poll_at);
	tcase_add_loop_test(tw, test_rates_match_probabilities_over_100k_frames,
	    0, 2);
	tcase_add_loop_test(tw, test_reorder_one_swaps_adjacent_frames, 0, 2);
	tcase_add_test(tw, test_tx_held_frame_released_after_hold_time);
	tcase_add_test(tw, test_rx_held_frame_released_after_hold_time);
	tcase_add_test(tw,
	    test_corrupt_flips_exactly_one_bit_past_ethernet_header);
	tcase_add_loop_test(tw, test_counters_match_what_was_delivered, 0, 2);
	suite_add_tcase(s, tw);
	return s;
}

CHECK_MAIN(impair_suite)
