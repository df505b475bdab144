/*
 * impair.c - a device wrapper that loses, duplicates, reorders and corrupts
 * frames, deterministically.
 *
 * Each direction (send = tx, recv = rx) has its own splitmix64 generator,
 * both derived from cfg->seed, and draws exactly five numbers per frame
 * offered to it (loss, dup, reorder, corrupt, bit position) whatever is
 * decided, so the same seed, frames and "now" values give the same outcome.
 *
 * Per frame, in this order:
 *  - loss: the frame is dropped (nothing else applies);
 *  - corrupt: one bit at byte offset >= 14 is flipped (frames of 14 bytes or
 *    less are left alone and not counted);
 *  - reorder: when no frame of this direction is held, the frame is held
 *    back; when one is held, the frame passes and the held frame follows it
 *    (adjacent swap). At most one frame per direction is held. A held frame
 *    is released anyway once now >= hold time + reorder_hold_us, and then
 *    goes in its original place (delayed, not swapped);
 *  - dup: the frame is delivered twice in a row (when held, both copies go
 *    on release).
 *
 * Release rules (what poll_at() announces):
 *  - rx: the next recv() with now >= deadline returns the held frame.
 *  - tx: the next send() delivers it right after its own frame; a send() or
 *    recv() with now >= deadline delivers it to the lower device first.
 *    The stack loop therefore calls recv() at poll_at() as for any device.
 *  - poll_at() is 0 while recv() has frames ready that the lower fd does
 *    not announce (a duplicate or a released frame waiting to be returned).
 *
 * Locking: the stack sends from whichever thread flushes its transmit
 * queue (under its tx_lock) while its own thread receives (under the stack
 * lock), and a receive releases a held tx frame: the tx direction, and the
 * lower device's send, have a mutex of their own (id_txmtx).
 *
 * Counters: imp_lost frames dropped, imp_dup extra copies, imp_reordered
 * frames held back, imp_corrupted frames with a bit flipped; both
 * directions together. stats.tx_* count frames given to send(), rx_* frames
 * returned by recv(), tx_errors failed sends to the lower device.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"

#define ETH_HLEN_	14
#define IMP_NPEND	4	/* rx frames ready to return; 3 at most used */
#define IMP_RXBURST	64	/* lower frames read by one recv() at most */

struct imp_frame {
	uint8_t		*f_buf;
	size_t		 f_len, f_cap;
	bool		 f_dup;
};

struct imp_dir {
	uint64_t	 d_rng;
	struct imp_frame d_held;	/* f_len == 0: none */
	uint64_t	 d_deadline;
};

struct imp_dev {
	struct netdev	 id_dev;	/* first */
	struct netdev	*id_lower;
	struct impair_cfg id_cfg;
	pthread_mutex_t	 id_txmtx;	/* id_tx, id_txbuf, sends to lower */
	struct imp_dir	 id_tx, id_rx;
	size_t		 id_fsz;	/* rx buffer size: lower mtu + 18 */
	uint8_t		*id_rxbuf;	/* scratch for frames read from lower */
	uint8_t		*id_txbuf;	/* scratch for a corrupted tx frame */
	size_t		 id_txcap;
	struct imp_frame id_pend[IMP_NPEND];	/* rx frames to return */
	unsigned	 id_phead, id_pcount;
};

struct imp_verdict {
	bool		 v_lost, v_dup, v_reorder, v_corrupt;
	uint64_t	 v_bit;
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z;

	z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1): p = 1 always hits, p = 0 never does. */
static bool
chance(uint64_t *s, double p)
{
	return (double)(splitmix64(s) >> 11) * 0x1.0p-53 < p;
}

static void
decide(struct imp_dev *id, struct imp_dir *dir, struct imp_verdict *v)
{
	const struct impair_cfg *c = &id->id_cfg;

	v->v_lost = chance(&dir->d_rng, c->loss);
	v->v_dup = chance(&dir->d_rng, c->dup);
	v->v_reorder = chance(&dir->d_rng, c->reorder);
	v->v_corrupt = chance(&dir->d_rng, c->corrupt);
	v->v_bit = splitmix64(&dir->d_rng);
}

/* Flip one bit past the Ethernet header. */
static bool
corrupt(uint8_t *f, size_t len, uint64_t r)
{
	uint64_t bit;

	if (len <= ETH_HLEN_)
		return false;
	bit = r % ((uint64_t)(len - ETH_HLEN_) * 8);
	f[ETH_HLEN_ + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	return true;
}

static int
frame_store(struct imp_frame *fr, const uint8_t *p, size_t len)
{
	uint8_t *nb;

	if (len > fr->f_cap) {
		if ((nb = realloc(fr->f_buf, len)) == NULL)
			return -ENOMEM;
		fr->f_buf = nb;
		fr->f_cap = len;
	}
	memcpy(fr->f_buf, p, len);
	fr->f_len = len;
	return 0;
}

/*
 * tx side.
 */

static int
lower_send(struct imp_dev *id, const uint8_t *f, size_t len, bool dup,
    uint64_t now)
{
	int error, e2;

	error = netdev_send(id->id_lower, f, len, now);
	if (error)
		id->id_dev.stats.tx_errors++;
	if (dup) {
		if ((e2 = netdev_send(id->id_lower, f, len, now)) != 0)
			id->id_dev.stats.tx_errors++;
		if (error)
			error = e2;
	}
	return error;
}

static void
tx_release(struct imp_dev *id, uint64_t now)
{
	struct imp_frame *h = &id->id_tx.d_held;

	if (h->f_len == 0)
		return;
	(void)lower_send(id, h->f_buf, h->f_len, h->f_dup, now);
	h->f_len = 0;
}

static void
tx_release_due(struct imp_dev *id, uint64_t now)
{
	if (id->id_tx.d_held.f_len != 0 && now >= id->id_tx.d_deadline)
		tx_release(id, now);
}

static int
imp_send_locked(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now)
{
	struct imp_dev *id = (struct imp_dev *)d;
	struct imp_frame *h = &id->id_tx.d_held;
	struct imp_verdict v;
	uint8_t *nb;
	int error;

	tx_release_due(id, now);
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	decide(id, &id->id_tx, &v);
	if (v.v_lost) {
		d->stats.imp_lost++;
		return 0;
	}
	if (v.v_corrupt && len > ETH_HLEN_) {
		if (len > id->id_txcap) {
			if ((nb = realloc(id->id_txbuf, len)) == NULL) {
				d->stats.tx_errors++;
				return -ENOBUFS;
			}
			id->id_txbuf = nb;
			id->id_txcap = len;
		}
		memcpy(id->id_txbuf, frame, len);
		corrupt(id->id_txbuf, len, v.v_bit);
		frame = id->id_txbuf;
		d->stats.imp_corrupted++;
	}
	if (v.v_dup)
		d->stats.imp_dup++;

	if (h->f_len != 0) {
		/* This frame overtakes the held one. */
		error = lower_send(id, frame, len, v.v_dup, now);
		tx_release(id, now);
		return error;
	}
	if (v.v_reorder && len > 0) {
		if (frame_store(h, frame, len) != 0) {
			d->stats.tx_errors++;
			return -ENOBUFS;
		}
		h->f_dup = v.v_dup;
		id->id_tx.d_deadline = now + id->id_cfg.reorder_hold_us;
		d->stats.imp_reordered++;
		return 0;
	}
	return lower_send(id, frame, len, v.v_dup, now);
}

static int
imp_send(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now)
{
	struct imp_dev *id = (struct imp_dev *)d;
	int error;

	pthread_mutex_lock(&id->id_txmtx);
	error = imp_send_locked(d, frame, len, now);
	pthread_mutex_unlock(&id->id_txmtx);
	return error;
}

/*
 * rx side.
 */

/* Queue a copy (or, with swap, the buffer itself) for a later recv(). */
static int
pend_push(struct imp_dev *id, struct imp_frame *src, bool swap)
{
	struct imp_frame *p, t;

	if (id->id_pcount == IMP_NPEND)
		return -ENOBUFS;        /* cannot happen: 3 at most */
	/* All rx buffers are id_fsz long: the copy never reallocates. */
	p = &id->id_pend[(id->id_phead + id->id_pcount) % IMP_NPEND];
	if (swap) {
		t = *p;
		*p = *src;
		*src = t;
		src->f_len = 0;
	} else if (frame_store(p, src->f_buf, src->f_len) != 0)
		return -ENOMEM;
	id->id_pcount++;
	return 0;
}

static ssize_t
deliver(struct imp_dev *id, const uint8_t *f, size_t len, uint8_t *buf,
    size_t cap)
{
	size_t n = len < cap ? len : cap;

	memcpy(buf, f, n);
	id->id_dev.stats.rx_frames++;
	id->id_dev.stats.rx_bytes += n;
	return (ssize_t)n;
}

/* Move the held rx frame (and its duplicate) to the ready queue. */
static void
rx_release(struct imp_dev *id)
{
	struct imp_frame *h = &id->id_rx.d_held;

	if (h->f_dup)
		(void)pend_push(id, h, false);
	(void)pend_push(id, h, true);
}

static ssize_t
imp_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct imp_dev *id = (struct imp_dev *)d;
	struct imp_frame *h = &id->id_rx.d_held, cur, *p;
	struct imp_verdict v;
	ssize_t n, r;
	int i;

	pthread_mutex_lock(&id->id_txmtx);
	tx_release_due(id, now);
	pthread_mutex_unlock(&id->id_txmtx);
	if (id->id_pcount == 0 && h->f_len != 0 &&
	    now >= id->id_rx.d_deadline)
		rx_release(id);
	if (id->id_pcount > 0) {
		p = &id->id_pend[id->id_phead];
		r = deliver(id, p->f_buf, p->f_len, buf, cap);
		p->f_len = 0;
		id->id_phead = (id->id_phead + 1) % IMP_NPEND;
		id->id_pcount--;
		return r;
	}

	for (i = 0; i < IMP_RXBURST; i++) {
		n = netdev_recv(id->id_lower, id->id_rxbuf, id->id_fsz, now);
		if (n <= 0)
			return n == 0 ? -EAGAIN : n;
		if (id->id_lower->rx.csum == NETDEV_CSUM_PARTIAL)
			netdev_csum_complete(id->id_rxbuf, (size_t)n);
		decide(id, &id->id_rx, &v);
		if (v.v_lost) {
			d->stats.imp_lost++;
			continue;
		}
		if (v.v_corrupt && corrupt(id->id_rxbuf, (size_t)n, v.v_bit))
			d->stats.imp_corrupted++;
		if (v.v_dup)
			d->stats.imp_dup++;
		cur.f_buf = id->id_rxbuf;
		cur.f_len = (size_t)n;
		cur.f_cap = id->id_fsz;
		cur.f_dup = v.v_dup;

		if (h->f_len == 0 && v.v_reorder) {
			/* Hold it: swap buffers with the (empty) held slot. */
			id->id_rxbuf = h->f_buf;
			h->f_buf = cur.f_buf;
			h->f_len = cur.f_len;
			h->f_dup = v.v_dup;
			id->id_rx.d_deadline = now + id->id_cfg.reorder_hold_us;
			d->stats.imp_reordered++;
			continue;
		}
		if (v.v_dup)
			(void)pend_push(id, &cur, false);
		if (h->f_len != 0)
			rx_release(id);         /* it follows this frame */
		return deliver(id, cur.f_buf, cur.f_len, buf, cap);
	}
	return -EAGAIN;
}

static uint64_t
imp_poll_at(struct netdev *d)
{
	struct imp_dev *id = (struct imp_dev *)d;
	uint64_t t = netdev_poll_at(id->id_lower);

	if (id->id_pcount > 0)
		return 0;
	if (id->id_rx.d_held.f_len != 0 && id->id_rx.d_deadline < t)
		t = id->id_rx.d_deadline;
	pthread_mutex_lock(&id->id_txmtx);
	if (id->id_tx.d_held.f_len != 0 && id->id_tx.d_deadline < t)
		t = id->id_tx.d_deadline;
	pthread_mutex_unlock(&id->id_txmtx);
	return t;
}

static void
imp_forget(struct netdev *d)
{
	netdev_forget(((struct imp_dev *)d)->id_lower);
}

static int
imp_fds(struct netdev *d, int *out, int max)
{
	return netdev_fds(((struct imp_dev *)d)->id_lower, out, max);
}

static void
imp_destroy(struct netdev *d)
{
	struct imp_dev *id = (struct imp_dev *)d;
	int i;

	netdev_destroy(id->id_lower);
	pthread_mutex_destroy(&id->id_txmtx);
	free(id->id_tx.d_held.f_buf);
	free(id->id_rx.d_held.f_buf);
	for (i = 0; i < IMP_NPEND; i++)
		free(id->id_pend[i].f_buf);
	free(id->id_rxbuf);
	free(id->id_txbuf);
	free(id);
}

static void
imp_idle(struct netdev *d)
{
	netdev_idle(((struct imp_dev *)d)->id_lower);
}

static const struct netdev_ops imp_ops = {
	.send = imp_send,
	.recv = imp_recv,
	.poll_at = imp_poll_at,
	.idle = imp_idle,
	.destroy = imp_destroy,
	.forget = imp_forget,
	.fds = imp_fds,
};

static bool
prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0;    /* false for NaN */
}

struct netdev *
impair_wrap(struct netdev *lower, const struct impair_cfg *cfg)
{
	struct imp_dev *id;
	uint64_t s;
	size_t i, n;
	bool fail;
	const char *pfx = "impair(";

	if (lower == NULL || cfg == NULL || !prob_ok(cfg->loss) ||
	    !prob_ok(cfg->dup) || !prob_ok(cfg->reorder) ||
	    !prob_ok(cfg->corrupt)) {
		errno = EINVAL;
		return NULL;
	}
	if ((id = calloc(1, sizeof(*id))) == NULL)
		return NULL;
	pthread_mutex_init(&id->id_txmtx, NULL);
	id->id_fsz = (size_t)lower->mtu + ETH_HLEN_ + 4;
	/* A lower device that passes on merged TCP frames needs room for
	 * the largest IPv4 packet. */
	if (lower->features & NETDEV_F_RXGRO)
		id->id_fsz = 65535 + ETH_HLEN_ + 4;
	if (id->id_fsz < 64)
		id->id_fsz = 64;
	/*
	 * Every rx buffer has room for the largest frame the lower device
	 * returns, so held and ready frames move between them by swapping.
	 */
	id->id_rxbuf = malloc(id->id_fsz);
	id->id_rx.d_held.f_buf = malloc(id->id_fsz);
	id->id_rx.d_held.f_cap = id->id_fsz;
	fail = id->id_rxbuf == NULL || id->id_rx.d_held.f_buf == NULL;
	for (i = 0; i < IMP_NPEND; i++) {
		id->id_pend[i].f_buf = malloc(id->id_fsz);
		id->id_pend[i].f_cap = id->id_fsz;
		fail |= id->id_pend[i].f_buf == NULL;
	}
	if (fail) {
		id->id_lower = NULL;    /* still the caller's */
		imp_destroy(&id->id_dev);
		errno = ENOMEM;
		return NULL;
	}
	id->id_lower = lower;
	id->id_cfg = *cfg;
	s = cfg->seed;
	id->id_tx.d_rng = splitmix64(&s);
	id->id_rx.d_rng = splitmix64(&s);

	id->id_dev.ops = &imp_ops;
	id->id_dev.fd = lower->fd;
	id->id_dev.steer_fd = lower->steer_fd;
	id->id_dev.steer_outgoing = lower->steer_outgoing;
	id->id_dev.mtu = lower->mtu;
	/* No checksum offload: a corrupted frame must fail its checksum
	 * above us, so every frame goes up with a complete one. */
	id->id_dev.features = lower->features & NETDEV_F_RXGRO;
	memcpy(id->id_dev.hwaddr, lower->hwaddr, sizeof(id->id_dev.hwaddr));
	/* "impair(<lower>)", the lower name cut to fit. */
	n = strlen(pfx);
	memcpy(id->id_dev.name, pfx, n);
	for (i = 0; lower->name[i] != '\0' && i < NETDEV_NAMELEN &&
	    n < NETDEV_NAMELEN - 2; i++)
		id->id_dev.name[n++] = lower->name[i];
	id->id_dev.name[n++] = ')';
	id->id_dev.name[n] = '\0';
	return &id->id_dev;
}

/*
 * MTCP_IMPAIR parsing. Numbers are read by hand: strtod() depends on the
 * application's LC_NUMERIC, and this runs inside other people's programs.
 */

static void
seterr(char *err, size_t errlen, const char *fmt, const char *k, size_t kl,
    const char *v, size_t vl)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, fmt, (int)kl, k, (int)vl, v);
}

/* Decimal: D+[.D*] | .D+, optional e[+-]D+. 0, or -EINVAL. */
static int
parse_prob(const char *s, size_t len, double *out)
{
	const char *p = s, *end = s + len;
	double m = 0.0;
	int digits = 0, scale = 0, e = 0, esign = 1, edigits = 0;

	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
		m = m * 10.0 + (*p - '0');
	if (p < end && *p == '.') {
		for (p++; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
			m = m * 10.0 + (*p - '0');
			scale--;
		}
	}
	if (digits == 0)
		return -EINVAL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			esign = *p++ == '-' ? -1 : 1;
		for (; p < end && *p >= '0' && *p <= '9'; p++, edigits++)
			if (e < 1000)
				e = e * 10 + (*p - '0');
		if (edigits == 0)
			return -EINVAL;
	}
	if (p != end)
		return -EINVAL;
	scale += esign * e;
	for (; scale > 0 && m <= 1.0; scale--)
		m *= 10.0;
	for (; scale < 0 && m != 0.0; scale++)
		m /= 10.0;
	if (scale > 0 && m != 0.0)
		m = 2.0;                /* out of range anyway */
	if (!prob_ok(m))
		return -EINVAL;
	*out = m;
	return 0;
}

/* Unsigned decimal or 0x hex, at most max. */
static int
parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0, d;
	unsigned base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return -EINVAL;
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = (uint64_t)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (uint64_t)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (uint64_t)(s[i] - 'A' + 10);
		else
			return -EINVAL;
		if (v > (max - d) / base)
			return -EINVAL;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int
impair_parse(const char *spec, struct impair_cfg *out, char *err,
    size_t errlen)
{
	static const char *keys[] = { "loss", "dup", "reorder", "corrupt",
	    "seed", "hold_us" };
	struct impair_cfg c = { .seed = 1, .reorder_hold_us = 1000 };
	const char *item, *eq, *end, *v;
	size_t kl, vl, k;
	unsigned seen = 0;
	uint64_t u;
	double *dp;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (spec == NULL)
		spec = "";
	for (item = spec; *item != '\0'; item = *end ? end + 1 : end) {
		end = strchr(item, ',');
		if (end == NULL)
			end = item + strlen(item);
		if (end == item || (*end == ',' && end[1] == '\0')) {
			seterr(err, errlen, "empty item in \"%.*s%.*s\"",
			    spec, strlen(spec) > 64 ? 64 : strlen(spec), "", 0);
			return -EINVAL;
		}
		eq = memchr(item, '=', (size_t)(end - item));
		if (eq == NULL) {
			seterr(err, errlen, "\"%.*s\": expected key=value%.*s",
			    item, (size_t)(end - item), "", 0);
			return -EINVAL;
		}
		kl = (size_t)(eq - item);
		v = eq + 1;
		vl = (size_t)(end - v);
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (strlen(keys[k]) == kl &&
			    memcmp(keys[k], item, kl) == 0)
				break;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			seterr(err, errlen, "unknown key \"%.*s\" (value "
			    "\"%.*s\"); keys: loss dup reorder corrupt seed "
			    "hold_us", item, kl, v, vl);
			return -EINVAL;
		}
		if (seen & (1u << k)) {
			seterr(err, errlen, "key \"%.*s\" given twice "
			    "(second value \"%.*s\")", item, kl, v, vl);
			return -EINVAL;
		}
		seen |= 1u << k;
		dp = NULL;
		switch (k) {
		case 0: dp = &c.loss; break;
		case 1: dp = &c.dup; break;
		case 2: dp = &c.reorder; break;
		case 3: dp = &c.corrupt; break;
		case 4:
			if (parse_uint(v, vl, UINT64_MAX, &u) != 0) {
				seterr(err, errlen, "%.*s=\"%.*s\": expected an "
				    "unsigned integer", item, kl, v, vl);
				return -EINVAL;
			}
			c.seed = u;
			break;
		case 5:
			if (parse_uint(v, vl, UINT32_MAX, &u) != 0) {
				seterr(err, errlen, "%.*s=\"%.*s\": expected "
				    "microseconds (0..4294967295)", item, kl,
				    v, vl);
				return -EINVAL;
			}
			c.reorder_hold_us = (uint32_t)u;
			break;
		}
		if (dp != NULL && parse_prob(v, vl, dp) != 0) {
			seterr(err, errlen, "%.*s=\"%.*s\": expected a "
			    "probability between 0 and 1", item, kl, v, vl);
			return -EINVAL;
		}
	}
	*out = c;
	return 0;
}
