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
 * Locking: l_mtx protects both queues, the eventfds' counters and l_refs.
 * The netdev stats of an end belong to that end's user (its stack lock).
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

#define ETH_HLEN_	14

struct ml_frame {
	size_t		 f_len;
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
	struct ml_queue	 l_q[2];
};

struct ml_dev {
	struct netdev	 md_dev;	/* first: a netdev * is an ml_dev * */
	struct ml_link	*md_link;
	int		 md_side;	/* receives from l_q[side] */
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

static int
ml_send(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now)
{
	struct ml_dev *md = (struct ml_dev *)d;
	struct ml_link *l = md->md_link;
	struct ml_queue *q = &l->l_q[!md->md_side];
	struct ml_frame *f;
	uint64_t one = 1;
	int error = 0;

	(void)now;
	if (len == 0 || len > l->l_maxframe) {
		d->stats.tx_errors++;
		return len == 0 ? -EINVAL : -EMSGSIZE;
	}
	if ((f = malloc(sizeof(*f) + len)) == NULL) {
		d->stats.tx_errors++;
		return -ENOBUFS;
	}
	f->f_len = len;
	memcpy(f->f_data, frame, len);

	pthread_mutex_lock(&l->l_mtx);
	if (q->q_efd == -1) {
		/* The far end is gone: the frame leaves into nothing. */
		free(f);
	} else if (q->q_count == l->l_qlen) {
		free(f);
		error = -ENOBUFS;
	} else {
		q->q_slot[(q->q_head + q->q_count) % l->l_qlen] = f;
		if (q->q_count++ == 0 &&
		    write(q->q_efd, &one, sizeof(one)) != sizeof(one)) {
			/* Cannot happen: the counter was 0. Undo. */
			q->q_count--;
			free(f);
			error = -EIO;
		}
	}
	pthread_mutex_unlock(&l->l_mtx);

	if (error) {
		d->stats.tx_errors++;
		return error;
	}
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	return 0;
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
		(void)!read(q->q_efd, &cnt, sizeof(cnt));
	}
	pthread_mutex_unlock(&l->l_mtx);

	n = f->f_len < cap ? f->f_len : cap;
	memcpy(buf, f->f_data, n);
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
	close(q->q_efd);
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
	l->l_refs = 2;
	error = -ENOMEM;
	for (i = 0; i < 2; i++) {
		l->l_q[i].q_slot = calloc(qlen, sizeof(*l->l_q[i].q_slot));
		md[i] = calloc(1, sizeof(*md[i]));
		if (l->l_q[i].q_slot == NULL || md[i] == NULL)
			goto fail;
		l->l_q[i].q_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
			close(l->l_q[i].q_efd);
		free(l->l_q[i].q_slot);
		free(md[i]);
	}
	free(l);
	return error;
}
