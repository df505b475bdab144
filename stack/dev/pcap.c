/*
 * pcap.c - a capture file writer in the classic libpcap format.
 *
 * Global header then one record per frame, all in host byte order (readers
 * tell the order from the magic), microsecond timestamps, LINKTYPE_ETHERNET.
 * Writes go through a stdio buffer and reach the file when it fills, on
 * pcap_flush() and on pcap_close().
 *
 * Locking: pw_mtx serializes writers, so frames from two threads never
 * interleave inside a record. After the first failed write the file is left
 * as it is (a torn record would make the rest unreadable) and every later
 * frame only counts as an error.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dev.h"

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_VERSION_MAJOR	2
#define PCAP_VERSION_MINOR	4
#define PCAP_SNAPLEN		262144u
#define LINKTYPE_ETHERNET	1
#define PCAP_BUFSIZE		(64 * 1024)

struct pcap_hdr {
	uint32_t	magic;
	uint16_t	version_major, version_minor;
	int32_t		thiszone;
	uint32_t	sigfigs;
	uint32_t	snaplen;
	uint32_t	linktype;
};

struct pcap_rec {
	uint32_t	ts_sec, ts_usec;
	uint32_t	incl_len, orig_len;
};

struct pcap_writer {
	pthread_mutex_t	 pw_mtx;
	FILE		*pw_f;
	bool		 pw_broken;	/* a write failed; write no more */
	uint64_t	 pw_errors;	/* frames not written */
};

struct pcap_writer *
pcap_open(const char *path, int *err)
{
	struct pcap_writer *w;
	struct pcap_hdr h = {
		.magic = PCAP_MAGIC_US,
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = LINKTYPE_ETHERNET,
	};
	int error;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	if ((w->pw_f = fopen(path, "wbe")) == NULL) {
		error = -errno;
		goto fail;
	}
	(void)setvbuf(w->pw_f, NULL, _IOFBF, PCAP_BUFSIZE);
	/* The header goes out now: a bad path or a full disk shows here. */
	errno = 0;
	if (fwrite(&h, sizeof(h), 1, w->pw_f) != 1 || fflush(w->pw_f) != 0) {
		error = errno ? -errno : -EIO;
		goto fail;
	}
	if ((error = pthread_mutex_init(&w->pw_mtx, NULL)) != 0) {
		error = -error;
		goto fail;
	}
	return w;

fail:
	if (w != NULL && w->pw_f != NULL)
		fclose(w->pw_f);
	free(w);
	if (err != NULL)
		*err = error;
	return NULL;
}

void
pcap_write(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame,
    size_t len)
{
	struct pcap_rec r;

	if (w == NULL)
		return;
	r.ts_sec = (uint32_t)(ts_us / 1000000);
	r.ts_usec = (uint32_t)(ts_us % 1000000);
	r.incl_len = len < PCAP_SNAPLEN ? (uint32_t)len : PCAP_SNAPLEN;
	r.orig_len = len < UINT32_MAX ? (uint32_t)len : UINT32_MAX;

	pthread_mutex_lock(&w->pw_mtx);
	if (w->pw_broken ||
	    fwrite(&r, sizeof(r), 1, w->pw_f) != 1 ||
	    (r.incl_len > 0 &&
	    fwrite(frame, r.incl_len, 1, w->pw_f) != 1)) {
		w->pw_broken = true;
		w->pw_errors++;
	}
	pthread_mutex_unlock(&w->pw_mtx);
}

int
pcap_flush(struct pcap_writer *w)
{
	int error = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->pw_mtx);
	if (w->pw_broken)
		error = -EIO;
	else if ((errno = 0, fflush(w->pw_f)) != 0) {
		error = errno ? -errno : -EIO;
		w->pw_broken = true;
		w->pw_errors++;
	}
	pthread_mutex_unlock(&w->pw_mtx);
	return error;
}

uint64_t
pcap_errors(struct pcap_writer *w)
{
	uint64_t n;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->pw_mtx);
	n = w->pw_errors;
	pthread_mutex_unlock(&w->pw_mtx);
	return n;
}

int
pcap_fd(struct pcap_writer *w)
{
	return w == NULL ? -1 : fileno(w->pw_f);
}

void
pcap_close(struct pcap_writer *w)
{
	if (w == NULL)
		return;
	(void)fclose(w->pw_f);
	pthread_mutex_destroy(&w->pw_mtx);
	free(w);
}

/*
 * The capture as a device wrapper (smoltcp's PcapWriter phy): every frame
 * the stack sends is recorded as built, before the device below sees it,
 * and every frame received as the device below hands it up. Stacked over
 * impair, it records the stack's own view: frames sent before the
 * impairment, frames received after it.
 */
struct pcap_dev {
	struct netdev	 pd_dev;	/* first: a struct netdev * is ours */
	struct netdev	*pd_lower;
	struct pcap_writer *pd_w;
	struct mtcp_clock pd_clock;
};

static uint64_t
pd_wall(struct pcap_dev *pd)
{
	return pd->pd_clock.wall(pd->pd_clock.ctx);
}

static int
pd_send_offload(struct netdev *d, const uint8_t *frame, size_t len,
    const struct netdev_offload *o, uint64_t now)
{
	struct pcap_dev *pd = (struct pcap_dev *)d;

	pcap_write(pd->pd_w, pd_wall(pd), frame, len);
	if (o == NULL)
		return netdev_send(pd->pd_lower, frame, len, now);
	return netdev_send_offload(pd->pd_lower, frame, len, o, now);
}

static ssize_t
pd_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	struct pcap_dev *pd = (struct pcap_dev *)d;
	ssize_t n = netdev_recv(pd->pd_lower, buf, cap, now);

	if (n > 0) {
		pd->pd_dev.rx = pd->pd_lower->rx;
		pcap_write(pd->pd_w, pd_wall(pd), buf, (size_t)n);
	}
	return n;
}

static uint64_t
pd_poll_at(struct netdev *d)
{
	return netdev_poll_at(((struct pcap_dev *)d)->pd_lower);
}

/* Going idle: push the buffered records out, so a process killed later
 * leaves a complete file. */
static void
pd_idle(struct netdev *d)
{
	struct pcap_dev *pd = (struct pcap_dev *)d;

	(void)pcap_flush(pd->pd_w);
	netdev_idle(pd->pd_lower);
}

/* The capture file stays the parent's: the child's copy of its buffer is
 * never written. */
static void
pd_forget(struct netdev *d)
{
	netdev_forget(((struct pcap_dev *)d)->pd_lower);
}

static void
pd_destroy(struct netdev *d)
{
	struct pcap_dev *pd = (struct pcap_dev *)d;

	netdev_destroy(pd->pd_lower);
	pcap_close(pd->pd_w);
	free(pd);
}

static int
pd_fds(struct netdev *d, int *out, int max)
{
	struct pcap_dev *pd = (struct pcap_dev *)d;
	int n = netdev_fds(pd->pd_lower, out, max);
	int fd = pcap_fd(pd->pd_w);

	if (fd >= 0 && n < max)
		out[n++] = fd;
	return n;
}

static const struct netdev_ops pd_ops = {
	.send_offload = pd_send_offload,
	.recv = pd_recv,
	.poll_at = pd_poll_at,
	.idle = pd_idle,
	.destroy = pd_destroy,
	.forget = pd_forget,
	.fds = pd_fds,
};

struct netdev *
pcap_wrap(struct netdev *lower, struct pcap_writer *w,
    const struct mtcp_clock *clock)
{
	struct pcap_dev *pd;

	if (lower == NULL || w == NULL || clock == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((pd = calloc(1, sizeof(*pd))) == NULL)
		return NULL;
	pd->pd_lower = lower;
	pd->pd_w = w;
	pd->pd_clock = *clock;
	pd->pd_dev.ops = &pd_ops;
	pd->pd_dev.fd = lower->fd;
	pd->pd_dev.steer_fd = lower->steer_fd;
	pd->pd_dev.steer_outgoing = lower->steer_outgoing;
	pd->pd_dev.mtu = lower->mtu;
	pd->pd_dev.features = lower->features;
	/* Transmit offloads come with send_offload (dev.h); ours forwards
	 * to plain send when the device below has none. */
	if (lower->ops->send_offload == NULL)
		pd->pd_dev.features &= ~(NETDEV_F_TXCSUM | NETDEV_F_TSO);
	memcpy(pd->pd_dev.hwaddr, lower->hwaddr, sizeof(pd->pd_dev.hwaddr));
	pd->pd_dev.link = lower->link;
	pd->pd_dev.link_wait_ms = lower->link_wait_ms;
	/* Named as the device below: logs and messages speak of it. */
	memcpy(pd->pd_dev.name, lower->name, sizeof(pd->pd_dev.name));
	return &pd->pd_dev;
}
