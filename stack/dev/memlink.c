/*
 * memlink.c - two devices joined in memory.
 *
 * A link holds two bounded FIFO queues, one per direction; end i receives
 * from q[i] and sends into q[!i]. Frames are copied in on send and copied
 * out on recv. The link is shared by both ends and freed when the second
 * end is destroyed; frames sent towards an end that is gone are discarded,
 * as on a cable with nothing at the far end.
 *
 * Each queue owns an eventfd, which is the receiving end's fd. Its counter
 * is non-zero exactly while the queue holds frames: the enqueue that makes
 * the queue non-empty writes 1, the dequeue that empties it reads the
 * counter back to 0 (eventfd read without EFD_SEMAPHORE resets it). Both
 * happen under the link mutex together with the queue change, so a thread
 * polling the fd is woken for every frame and never finds it readable with
 * nothing to receive (no spinning, no lost wake-up). Two syscalls per burst,
 * not per frame.
 *
 * Offloads (memlink_set_offload): an end may emulate a Linux device with
 * checksum offload and TSO, so the stack's offload paths run in-process.
 * Its send_offload() follows virtio-net's rules (the checksum field holds
 * the pseudo-header sum; the device sums from csum_start to the end of the
 * frame and stores the result at csum_start + csum_offset) in one of two
 * ways, chosen per sending end:
 *  - MEMLINK_OFFLOAD_VETH: like a veth pair between two kernel stacks, the
 *    frame crosses whole and unfinished. The receiving end's recv() says
 *    so in rx: csum PARTIAL and, for a TCP super-frame, gso_size. Such a
 *    super-frame may be up to 64 KiB (the largest IPv4 packet) long.
 *  - MEMLINK_OFFLOAD_WIRE: like a NIC putting frames on a cable, the frame
 *    is finished in software before it crosses: its checksum completed, a
 *    super-frame cut into segments as the kernel's GSO does (ml_gso_tcp4).
 *    Nothing arrives beyond the MTU, and every checksum must verify at the
 *    receiver (rx.csum NONE): proof that the sender's headers and partial
 *    checksums were right.
 * Each queued frame carries what the receiver is told about it.
 *
 * Locking: l_mtx protects both queues, the eventfds' counters and l_refs.
 * The netdev stats and rx of an end belong to that end's user (its stack
 * lock), as do its features and offload mode (set before the end is used).
 */

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dev.h"
#include "os.h"
#include "../wire/checksum.h"
#include "../wire/wire.h"

#define ETH_HLEN_	14
#define ETH_ZLEN_	60		/* a shorter frame is padded on a wire */
#define IP_MAXLEN_	65535		/* the largest IPv4 packet */

struct ml_frame {
	size_t		 f_len;
	struct netdev_rxinfo f_rx;	/* what the receiver is told */
	uint8_t		 f_data[];
};

struct ml_queue {
	struct ml_frame	**q_slot;	/* ring of l_qlen entries */
	unsigned	 q_head;	/* oldest frame */
	unsigned	 q_count;
	int		 q_efd;		/* -1 once the receiving end is gone */
};

struct ml_link {
	pthread_mutex_t	 l_mtx;
	unsigned	 l_refs;
	unsigned	 l_qlen;
	size_t		 l_maxframe;	/* mtu + Ethernet header */
	size_t		 l_maxsuper;	/* a TCP super-frame for send_offload() */
	struct ml_queue	 l_q[2];
};

struct ml_dev {
	struct netdev	 md_dev;	/* first: a netdev * is an ml_dev * */
	struct ml_link	*md_link;
	int		 md_side;	/* receives from l_q[side] */
	enum memlink_offload md_mode;	/* what send_offload() does */
};

static unsigned ml_ids;

static void
ml_qflush(struct ml_queue *q, unsigned qlen)
{
	while (q->q_count > 0) {
		free(q->q_slot[q->q_head]);
		q->q_head = (q->q_head + 1) % qlen;
		q->q_count--;
	}
}

static struct ml_frame *
ml_frame_new(size_t len, enum netdev_rxcsum csum, uint16_t gso_size)
{
	struct ml_frame *f = malloc(sizeof(*f) + len);

	if (f != NULL) {
		f->f_len = len;
		f->f_rx.csum = csum;
		f->f_rx.gso_size = gso_size;
	}
	return f;
}

static void
ml_frames_free(struct ml_frame **fv, unsigned n)
{
	while (n > 0)
		free(fv[--n]);
}

/*
 * Queue n frames towards the far end of md, all or none (the segments of
 * one super-frame are one send, as one frame is). Takes the frames: they
 * are queued or freed. 0 (also when the far end is gone: they leave into
 * nothing, as on a cable with nothing at the far end), -ENOBUFS when the
 * queue has no room for all of them, -EIO.
 */
static int
ml_enqueue(struct ml_dev *md, struct ml_frame **fv, unsigned n)
{
	struct ml_link *l = md->md_link;
	struct ml_queue *q = &l->l_q[!md->md_side];
	uint64_t one = 1;
	unsigned i, was;
	int error = 0, queued = 0;

	pthread_mutex_lock(&l->l_mtx);
	if (q->q_efd == -1) {
		/* The far end is gone. */
	} else if (l->l_qlen - q->q_count < n) {
		error = -ENOBUFS;
	} else {
		was = q->q_count;
		for (i = 0; i < n; i++)
			q->q_slot[(q->q_head + q->q_count++) % l->l_qlen] = fv[i];
		if (was == 0 && n > 0 &&
		    mtcp_os.write(q->q_efd, &one, sizeof(one)) != sizeof(one)) {
			/* Cannot happen: the counter was 0. Undo. */
			q->q_count = was;
			error = -EIO;
		} else {
			queued = 1;
		}
	}
	pthread_mutex_unlock(&l->l_mtx);

	if (!queued)
		ml_frames_free(fv, n);
	return error;
}

static int
ml_send(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now)
{
	struct ml_dev *md = (struct ml_dev *)d;
	struct ml_link *l = md->md_link;
	struct ml_frame *f;
	int error;

	(void)now;
	if (len == 0 || len > l->l_maxframe) {
		d->stats.tx_errors++;
		return len == 0 ? -EINVAL : -EMSGSIZE;
	}
	if ((f = ml_frame_new(len, NETDEV_CSUM_NONE, 0)) == NULL) {
		d->stats.tx_errors++;
		return -ENOBUFS;
	}
	memcpy(f->f_data, frame, len);
	if ((error = ml_enqueue(md, &f, 1)) != 0) {
		d->stats.tx_errors++;
		return error;
	}
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	return 0;
}

/* One's complement sum folded to 16 bits, not complemented. */
static uint16_t
ml_fold(uint32_t sum)
{
	return (uint16_t)~csum_finish(sum);
}

/*
 * Virtio-net's NEEDS_CSUM, done as the kernel's skb_checksum_help() does
 * it for a device without checksum offload: the one's complement sum of
 * the frame from start to its end - the checksum field, at start + off,
 * holds the pseudo-header sum and is counted in - complemented and stored
 * in that field (a zero result goes as 0xffff, CSUM_MANGLED_0: the same
 * value in one's complement, and the only form UDP can carry). Nothing here
 * looks at the IP header: a sender that left a wrong pseudo-header sum gets
 * a checksum that fails at the receiver.
 */
static void
ml_csum_help(uint8_t *f, size_t len, size_t start, size_t off)
{
	uint16_t c = csum_finish(csum_add(0, f + start, len - start));

	wr16(f + start + off, c != 0 ? c : 0xffff);
}

/* Where the headers of a TCP/IPv4 super-frame end. */
struct ml_tso {
	size_t		 ihl, thl;	/* IPv4 and TCP header bytes */
	size_t		 hdr;		/* Ethernet + IPv4 + TCP header bytes */
	size_t		 payload;	/* TCP payload bytes */
};

/*
 * Is frame a TCP/IPv4 super-frame a kernel would take with these offloads
 * (virtio_net_hdr_to_skb, then inet_gso_segment / tcp_gso_segment)? The
 * IPv4 header must verify and not be a fragment (stricter than the kernel,
 * which rewrites it per segment: here a wrong one is the sender's bug and
 * must not be hidden), TCP, csum_start at the TCP header, csum_offset its
 * checksum field, hdr_len exactly the headers, and each segment within the
 * MTU. 0 with the layout in t, else -EINVAL or -EMSGSIZE.
 */
static int
ml_tso_check(const struct ml_link *l, const uint8_t *frame, size_t len,
    const struct netdev_offload *o, struct ml_tso *t)
{
	const uint8_t *ip = frame + ETH_HLEN_, *th;
	size_t tot;

	if (len < ETH_HLEN_ + 20 || rd16(frame + 12) != 0x0800 ||
	    (ip[0] >> 4) != 4)
		return -EINVAL;
	t->ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = rd16(ip + 2);
	if (t->ihl < 20 || tot < t->ihl + 20 || ETH_HLEN_ + tot > len ||
	    ip[9] != 6 || (rd16(ip + 6) & 0x3fff) != 0 ||
	    csum_finish(csum_add(0, ip, t->ihl)) != 0)
		return -EINVAL;
	th = ip + t->ihl;
	t->thl = (size_t)(th[12] >> 4) * 4;
	t->hdr = ETH_HLEN_ + t->ihl + t->thl;
	if (t->thl < 20 || t->ihl + t->thl > tot ||
	    o->csum_start != ETH_HLEN_ + t->ihl || o->csum_offset != 16 ||
	    o->hdr_len != t->hdr)
		return -EINVAL;
	t->payload = ETH_HLEN_ + tot - t->hdr;
	if (t->hdr + o->gso_size > l->l_maxframe)
		return -EMSGSIZE;
	return 0;
}

/*
 * Software GSO of a TCP/IPv4 super-frame (checked by ml_tso_check), as
 * the kernel cuts one for a device without TSO (skb_segment under
 * inet_gso_segment and tcp_gso_segment):
 *
 *  - the TCP payload goes in chunks of gso_size bytes, the last one
 *    shorter, each behind a copy of the super-frame's headers (the TCP
 *    options, timestamps included, are repeated unchanged);
 *  - IPv4: each segment's own total length; the k-th segment's id is the
 *    super-frame's + k (TSO without SKB_GSO_TCP_FIXEDID); the header
 *    checksum recomputed;
 *  - TCP: seq + the chunk's offset; CWR only on the first segment, FIN
 *    and PSH only on the last (tcp_gso_segment);
 *  - the TCP checksum: the super-frame's field holds the pseudo-header
 *    sum over its TCP length L; like tcp_gso_segment, which never looks
 *    at the addresses again, each segment's field becomes that sum moved
 *    to its own TCP length l (one's complement: + ~L + l), and then the
 *    device completes it (ml_csum_help). A wrong pseudo-header sum from
 *    the sender therefore reaches the receiver as a bad checksum.
 *
 * A segment shorter than the Ethernet minimum is padded with zeros, as a
 * NIC does. On success fv[0 .. *n) are new frames (the caller's), in
 * order; *n is at most nmax. -ENOBUFS when memory runs out.
 */
static int
ml_gso_tcp4(const uint8_t *sf, const struct netdev_offload *o,
    const struct ml_tso *t, struct ml_frame **fv, unsigned nmax, unsigned *n)
{
	const uint8_t *ip = sf + ETH_HLEN_, *th = ip + t->ihl;
	size_t g = o->gso_size, off, chunk, flen;
	unsigned k, nseg;
	uint16_t id0 = rd16(ip + 4), pseudo = rd16(th + 16);
	uint16_t l4_super = (uint16_t)(t->thl + t->payload);
	uint32_t seq0 = rd32(th + 4);
	uint8_t flags0 = th[13], *f, *sip, *sth;

	nseg = t->payload ? (unsigned)((t->payload + g - 1) / g) : 1;
	if (nseg > nmax)
		return -EMSGSIZE;
	for (k = 0; k < nseg; k++) {
		off = (size_t)k * g;
		chunk = t->payload - off < g ? t->payload - off : g;
		flen = t->hdr + chunk;
		fv[k] = ml_frame_new(flen < ETH_ZLEN_ ? ETH_ZLEN_ : flen,
		    NETDEV_CSUM_NONE, 0);
		if (fv[k] == NULL) {
			ml_frames_free(fv, k);
			return -ENOBUFS;
		}
		f = fv[k]->f_data;
		memcpy(f, sf, t->hdr);
		memcpy(f + t->hdr, sf + t->hdr + off, chunk);
		memset(f + flen, 0, fv[k]->f_len - flen);
		sip = f + ETH_HLEN_;
		sth = sip + t->ihl;

		wr16(sip + 2, (uint16_t)(t->ihl + t->thl + chunk));
		wr16(sip + 4, (uint16_t)(id0 + k));
		wr16(sip + 10, 0);
		wr16(sip + 10, csum_finish(csum_add(0, sip, t->ihl)));

		wr32(sth + 4, seq0 + (uint32_t)off);
		sth[13] = flags0;
		if (k > 0)
			sth[13] &= (uint8_t)~0x80;		/* CWR */
		if (k + 1 < nseg)
			sth[13] &= (uint8_t)~(0x01 | 0x08);	/* FIN, PSH */
		wr16(sth + 16, ml_fold((uint32_t)pseudo + (uint16_t)~l4_super +
		    (uint32_t)(t->thl + chunk)));
		ml_csum_help(f, flen, o->csum_start, o->csum_offset);
	}
	*n = nseg;
	return 0;
}

/*
 * send_offload: see the top of the file. A super-frame crosses whole
 * (veth) or as segments (wire); the other frames get their checksum
 * completed on a wire and cross unfinished on a veth. tx_frames counts the
 * frames put on the link, tx_gso the super-frames sent.
 */
static int
ml_send_offload(struct netdev *d, const uint8_t *frame, size_t len,
    const struct netdev_offload *o, uint64_t now)
{
	struct ml_dev *md = (struct ml_dev *)d;
	struct ml_link *l = md->md_link;
	struct ml_frame *one, **fv = &one;
	struct ml_tso t = { 0 };
	unsigned i, n = 1, nmax;
	uint64_t bytes = 0;
	int error;

	(void)now;
	error = -EOPNOTSUPP;
	if (md->md_mode == MEMLINK_OFFLOAD_NONE ||
	    !(d->features & NETDEV_F_TXCSUM) ||
	    (o->gso_size && !(d->features & NETDEV_F_TSO)))
		goto fail;
	error = -EINVAL;
	if (len == 0 || (size_t)o->csum_start + o->csum_offset + 2 > len)
		goto fail;
	error = -EMSGSIZE;
	if (len > (o->gso_size ? l->l_maxsuper : l->l_maxframe))
		goto fail;
	if (o->gso_size && (error = ml_tso_check(l, frame, len, o, &t)) != 0)
		goto fail;

	if (md->md_mode == MEMLINK_OFFLOAD_VETH || !o->gso_size) {
		int veth = md->md_mode == MEMLINK_OFFLOAD_VETH;
		one = ml_frame_new(len, veth ? NETDEV_CSUM_PARTIAL :
		    NETDEV_CSUM_NONE, veth ? o->gso_size : 0);
		error = -ENOBUFS;
		if (one == NULL)
			goto fail;
		memcpy(one->f_data, frame, len);
		if (!veth)
			ml_csum_help(one->f_data, len, o->csum_start,
			    o->csum_offset);
	} else {
		/* At most 64 KiB of payload in segments of >= 1 byte. */
		nmax = (unsigned)(t.payload / o->gso_size + 1);
		error = -ENOBUFS;
		if (nmax > l->l_qlen)
			goto fail;              /* could never be queued whole */
		if ((fv = calloc(nmax, sizeof(*fv))) == NULL)
			goto fail;
		if ((error = ml_gso_tcp4(frame, o, &t, fv, nmax, &n)) != 0) {
			free(fv);
			goto fail;
		}
	}
	for (i = 0; i < n; i++)
		bytes += fv[i]->f_len;
	error = ml_enqueue(md, fv, n);
	if (fv != &one)
		free(fv);
	if (error)
		goto fail;
	d->stats.tx_frames += n;
	d->stats.tx_bytes += bytes;
	if (o->gso_size)
		d->stats.tx_gso++;
	return 0;
fail:
	d->stats.tx_errors++;
	return error;
}

static ssize_t
ml_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct ml_dev *md = (struct ml_dev *)d;
	struct ml_link *l = md->md_link;
	struct ml_queue *q = &l->l_q[md->md_side];
	struct ml_frame *f;
	uint64_t cnt;
	size_t n;

	(void)now;
	d->rx.csum = NETDEV_CSUM_NONE;
	d->rx.gso_size = 0;
	pthread_mutex_lock(&l->l_mtx);
	if (q->q_count == 0) {
		pthread_mutex_unlock(&l->l_mtx);
		return -EAGAIN;
	}
	f = q->q_slot[q->q_head];
	q->q_slot[q->q_head] = NULL;
	q->q_head = (q->q_head + 1) % l->l_qlen;
	if (--q->q_count == 0) {
		/* Reset the counter: the fd stops being readable. */
		(void)!mtcp_os.read(q->q_efd, &cnt, sizeof(cnt));
	}
	pthread_mutex_unlock(&l->l_mtx);

	n = f->f_len < cap ? f->f_len : cap;
	memcpy(buf, f->f_data, n);
	d->rx = f->f_rx;
	if (f->f_rx.gso_size)
		d->stats.rx_merged++;
	free(f);
	d->stats.rx_frames++;
	d->stats.rx_bytes += n;
	return (ssize_t)n;
}

static void
ml_destroy(struct netdev *d)
{
	struct ml_dev *md = (struct ml_dev *)d;
	struct ml_link *l = md->md_link;
	struct ml_queue *q = &l->l_q[md->md_side];
	unsigned refs;

	pthread_mutex_lock(&l->l_mtx);
	ml_qflush(q, l->l_qlen);
	mtcp_os.close(q->q_efd);
	q->q_efd = -1;
	refs = --l->l_refs;
	pthread_mutex_unlock(&l->l_mtx);

	if (refs == 0) {
		pthread_mutex_destroy(&l->l_mtx);
		free(l->l_q[0].q_slot);
		free(l->l_q[1].q_slot);
		free(l);
	}
	free(md);
}

static const struct netdev_ops ml_ops = {
	.send = ml_send,
	.recv = ml_recv,
	.send_offload = ml_send_offload,
	.poll_at = NULL,
	.destroy = ml_destroy,
};

int
memlink_pair(struct netdev **a, struct netdev **b, unsigned mtu, unsigned qlen)
{
	struct ml_link *l;
	struct ml_dev *md[2] = { NULL, NULL };
	unsigned id;
	int i, error;

	if (mtu == 0 || mtu > 65535 || qlen == 0 || qlen > (1u << 20))
		return -EINVAL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	l->l_q[0].q_efd = l->l_q[1].q_efd = -1;
	l->l_qlen = qlen;
	l->l_maxframe = (size_t)mtu + ETH_HLEN_;
	l->l_maxsuper = IP_MAXLEN_ + ETH_HLEN_;
	l->l_refs = 2;
	error = -ENOMEM;
	for (i = 0; i < 2; i++) {
		l->l_q[i].q_slot = calloc(qlen, sizeof(*l->l_q[i].q_slot));
		md[i] = calloc(1, sizeof(*md[i]));
		if (l->l_q[i].q_slot == NULL || md[i] == NULL)
			goto fail;
		l->l_q[i].q_efd = mtcp_os.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (l->l_q[i].q_efd == -1) {
			error = -errno;
			goto fail;
		}
	}
	if ((error = pthread_mutex_init(&l->l_mtx, NULL)) != 0) {
		error = -error;
		goto fail;
	}

	id = __atomic_fetch_add(&ml_ids, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 2; i++) {
		md[i]->md_dev.ops = &ml_ops;
		snprintf(md[i]->md_dev.name, sizeof(md[i]->md_dev.name),
		    "mem%u%c", id % 100000000u, i == 0 ? 'a' : 'b');
		md[i]->md_dev.fd = l->l_q[i].q_efd;
		md[i]->md_dev.steer_fd = -1;    /* no kernel to steer in */
		md[i]->md_dev.mtu = mtu;
		md[i]->md_link = l;
		md[i]->md_side = i;
	}
	*a = &md[0]->md_dev;
	*b = &md[1]->md_dev;
	return 0;

fail:
	for (i = 0; i < 2; i++) {
		if (l->l_q[i].q_efd != -1)
			mtcp_os.close(l->l_q[i].q_efd);
		free(l->l_q[i].q_slot);
		free(md[i]);
	}
	free(l);
	return error;
}

int
memlink_set_offload(struct netdev *end, unsigned features,
    enum memlink_offload mode)
{
	struct ml_dev *md = (struct ml_dev *)end;
	const unsigned all = NETDEV_F_RXCSUM | NETDEV_F_RXGRO |
	    NETDEV_F_TXCSUM | NETDEV_F_TSO;

	if (end == NULL || end->ops != &ml_ops || (features & ~all) != 0 ||
	    (mode != MEMLINK_OFFLOAD_NONE && mode != MEMLINK_OFFLOAD_VETH &&
	    mode != MEMLINK_OFFLOAD_WIRE) ||
	    (mode == MEMLINK_OFFLOAD_NONE &&
	    (features & (NETDEV_F_TXCSUM | NETDEV_F_TSO)) != 0))
		return -EINVAL;
	end->features = features;
	md->md_mode = mode;
	return 0;
}
