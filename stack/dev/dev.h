/*
 * dev.h - link devices: where Ethernet frames enter and leave the stack.
 *
 * A device moves whole Ethernet frames (no FCS). Drivers: tap (a Linux TAP
 * interface, which several processes may share: each receives through an
 * AF_PACKET socket), packet (an AF_PACKET socket bound to one interface),
 * memlink (two devices joined in memory, for tests); wrappers: impair (drops,
 * duplicates, reorders and corrupts with a seeded generator) and pcap
 * (records every frame both ways).
 *
 * A device serves one stack. recv and poll_at run under that stack's lock;
 * send and send_offload under its tx_lock only (frames go out after the
 * stack lock is let go, stack.h), so a device's send and recv may run at
 * the same time on two threads: a device with state on both paths (impair,
 * pcap, memlink's shared queues) locks it itself. idle runs with no lock.
 *
 * Time ("now", microseconds on the stack's clock) is passed in; the only
 * clock a driver reads is the real one, while tap_open waits for the link.
 */
#ifndef MTCP_DEV_H
#define MTCP_DEV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "os.h"

#define NETDEV_NAMELEN  16

struct netdev;

/*
 * Offloads (netdev.features). The Linux devices we sit on (veth, TAP) can
 * carry packets whose TCP/UDP checksum is left to "hardware", and TCP
 * super-frames of up to 64 KiB that the kernel segments (GSO/TSO) or
 * merged (GRO) - virtio-net's model, which AF_PACKET (PACKET_VNET_HDR) and
 * TAP (IFF_VNET_HDR) both speak. A device that offers them lets the stack
 * skip a checksum pass per packet and a system call per segment.
 */
#define NETDEV_F_RXCSUM 0x1u    /* recv() reports frames the link vouches for */
#define NETDEV_F_RXGRO  0x2u    /* recv() may return TCP frames beyond the MTU */
#define NETDEV_F_TXCSUM 0x4u    /* send_offload() fills in TCP/UDP checksums */
#define NETDEV_F_TSO    0x8u    /* send_offload() cuts TCP frames to gso_size */

/* What recv() knew about the frame it returned last (reset on each call). */
enum netdev_rxcsum {
	NETDEV_CSUM_NONE,       /* verify it */
	NETDEV_CSUM_VALID,      /* the link checked the L4 checksum */
	NETDEV_CSUM_PARTIAL,    /* from a local sender: the L4 checksum field
				   holds only the pseudo-header sum; the data
				   never left the machine */
};

struct netdev_rxinfo {
	enum netdev_rxcsum csum;
	uint16_t gso_size;      /* a merged TCP frame: the sender's segment size */
};

/* How send_offload() must finish a frame. */
struct netdev_offload {
	uint16_t csum_start;    /* the L4 header's offset in the frame */
	uint16_t csum_offset;   /* the checksum field's offset in that header;
				   the field holds the folded pseudo-header sum */
	uint16_t gso_size;      /* non-zero: a TCP/IPv4 frame to cut into
				   segments of this many payload bytes */
	uint16_t hdr_len;       /* with gso_size: Ethernet+IP+TCP header bytes */
};

struct netdev_ops {
	/* Send one frame. 0, or -errno; -EAGAIN/-ENOBUFS when the device has
	 * no room (the frame is lost; the caller counts it). */
	int (*send)(struct netdev *d, const uint8_t *frame, size_t len, uint64_t now);
	/* Receive one frame into buf. Its length (> 0), -EAGAIN when none is
	 * ready now, or -errno. A frame longer than cap is cut to cap. */
	ssize_t (*recv)(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now);
	/* Send one frame that needs the offloads o describes (only with
	 * the matching NETDEV_F_* features), or none when o is NULL. May be
	 * NULL; a driver that has it may leave send NULL. */
	int (*send_offload)(struct netdev *d, const uint8_t *frame, size_t len,
			    const struct netdev_offload *o, uint64_t now);
	/* The time at which the device wants recv() called even without its
	 * fd becoming readable (an impair device holding a frame back), or
	 * UINT64_MAX. May be NULL. */
	uint64_t (*poll_at)(struct netdev *d);
	/* The stack is about to sleep: push out what the device buffers
	 * (a capture's records). May be NULL. */
	void (*idle)(struct netdev *d);
	/* Release everything. */
	void (*destroy)(struct netdev *d);
	/* In a fork()ed child, which inherited the device as memory and fds
	 * but runs a stack of its own: close the fds, touch nothing else
	 * (another thread of the parent may have held the device's locks).
	 * May be NULL: then fd is closed. */
	void (*forget)(struct netdev *d);
	/* The fds the device holds, at most max of them in out; how many.
	 * May be NULL: then fd alone (when >= 0). */
	int (*fds)(struct netdev *d, int *out, int max);
};

struct netdev_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t tx_errors;             /* send() failed */
	uint64_t rx_merged;             /* TCP super-frames received (GRO/TSO) */
	uint64_t tx_gso;                /* TCP super-frames sent for the kernel to cut */
	/* impair only */
	uint64_t imp_lost, imp_dup, imp_reordered, imp_corrupted;
};

/* Where the kernel's side of the link stood when the device opened. */
enum netdev_link {
	NETDEV_LINK_UP,                 /* running (or not the device's concern) */
	NETDEV_LINK_ADMIN_DOWN,         /* down: its owner has not set it up */
	NETDEV_LINK_LATE,               /* up, but not running after the wait */
	NETDEV_LINK_UNKNOWN,            /* its flags could not be read */
};

struct netdev {
	const struct netdev_ops *ops;
	char name[NETDEV_NAMELEN];
	int fd;                 /* readable when recv() may return a frame; -1 if none */
	unsigned mtu;           /* largest IP packet (payload of a frame) */
	uint8_t hwaddr[6];      /* the interface's own MAC where it has one, else zero */
	unsigned features;      /* NETDEV_F_* */
	struct netdev_rxinfo rx; /* about the frame recv() returned last */
	struct netdev_stats stats;
	enum netdev_link link;  /* at open (TAP: see tap.c) */
	unsigned link_wait_ms;  /* how long the open waited for it to run */
	/*
	 * Steering (host/steer.h): the AF_PACKET socket this device receives
	 * through, for a socket filter that keeps only the frames of this
	 * stack's flows; -1 when the device cannot be steered (memlink, a
	 * single-queue TAP). The filter replaces any the device attached.
	 * steer_outgoing: the stack's frames are those the kernel SENDS on the
	 * interface (PACKET_OUTGOING: a TAP read through a packet socket), and
	 * the filter must drop every other direction, as the device's own
	 * filter does (frames any stack writes into the TAP come back to the
	 * socket as received by the kernel); false: the frames the interface
	 * receives (the packet driver, which never sees its own).
	 */
	int steer_fd;
	bool steer_outgoing;
};

static inline int netdev_send(struct netdev *d, const uint8_t *f, size_t len, uint64_t now)
{
	if (!d->ops->send)
		return d->ops->send_offload(d, f, len, NULL, now);
	return d->ops->send(d, f, len, now);
}

static inline ssize_t netdev_recv(struct netdev *d, uint8_t *buf, size_t cap, uint64_t now)
{
	return d->ops->recv(d, buf, cap, now);
}

static inline int netdev_send_offload(struct netdev *d, const uint8_t *f, size_t len,
				      const struct netdev_offload *o, uint64_t now)
{
	return d->ops->send_offload(d, f, len, o, now);
}

static inline uint64_t netdev_poll_at(struct netdev *d)
{
	return d->ops->poll_at ? d->ops->poll_at(d) : UINT64_MAX;
}

static inline void netdev_idle(struct netdev *d)
{
	if (d->ops->idle)
		d->ops->idle(d);
}

static inline void netdev_destroy(struct netdev *d)
{
	if (d)
		d->ops->destroy(d);
}

/* A steerable device's receiving socket starts with a filter that keeps
 * nothing (a classic BPF "ret #0"): the steering filter replaces it; a
 * stack alone on its address takes it off. 0, or -1 with errno. */
int netdev_block_all(int sockfd);
int netdev_steer_none(struct netdev *d);

static inline void netdev_forget(struct netdev *d)
{
	if (!d)
		return;
	if (d->ops->forget)
		d->ops->forget(d);
	else if (d->fd >= 0)
		mtcp_os.close(d->fd);
}

/* The fds d holds (its own and those of the devices it wraps): an exiting
 * process's keeper keeps these and closes every other (preload/init.c).
 * How many were written to out, at most max. */
static inline int netdev_fds(struct netdev *d, int *out, int max)
{
	if (!d || max <= 0)
		return 0;
	if (d->ops->fds)
		return d->ops->fds(d, out, max);
	if (d->fd < 0)
		return 0;
	out[0] = d->fd;
	return 1;
}

/* For drivers: account a send(2)/write(2) of a len-byte frame that
 * returned n (errno set when n is -1) and turn it into send()'s result. */
static inline int netdev_tx_done(struct netdev *d, ssize_t n, size_t len, int err)
{
	if (n == -1 || (size_t)n != len) {
		d->stats.tx_errors++;
		if (n != -1)
			return -EIO;
		return err == EWOULDBLOCK ? -EAGAIN : -err;
	}
	d->stats.tx_frames++;
	d->stats.tx_bytes += len;
	return 0;
}

/* For drivers that speak the virtio-net header (offload.c). */
struct virtio_net_hdr;
/* Set d->rx from a received frame's header. */
void netdev_vnet_rx(struct netdev *d, const struct virtio_net_hdr *h);
/* The header to send a frame with: o's offloads, or none when o is NULL. */
void netdev_vnet_tx(struct virtio_net_hdr *h, const struct netdev_offload *o);
/* netdev_tx_done for a write of a len-byte frame that returned n, counting
 * the virtio-net header in n when vnet, and the super-frames sent. */
int netdev_vnet_tx_done(struct netdev *d, ssize_t n, int vnet, size_t len,
			const struct netdev_offload *o, int err);
/* Complete the TCP/UDP checksum of an Ethernet/IPv4 frame whose field
 * holds only the pseudo-header sum (NETDEV_CSUM_PARTIAL). */
void netdev_csum_complete(uint8_t *frame, size_t len);

/* For drivers that receive through an AF_PACKET socket (packet.c): recv()
 * on fd, a socket with PACKET_VNET_HDR when vnet (else PACKET_AUXDATA).
 * Keeps only the frames the interface sends (PACKET_OUTGOING) when
 * outgoing, else only those it receives; skips the others. */
ssize_t netdev_packet_recv(struct netdev *d, int fd, uint8_t *buf, size_t cap,
			   bool vnet, bool outgoing);

/* TAP: open /dev/net/tun as IFF_TAP|IFF_NO_PI on interface name (created if
 * it does not exist; the caller must then bring it up). Non-blocking. If the
 * interface is up, waits (at most 5 s) until the kernel runs its side: until
 * then the kernel drops whatever it would send us (d->link says how it went).
 * Shared by the processes on one address where the interface is
 * multi-queue (as one it creates is): frames go out through a queue of
 * this device's own and come in through an AF_PACKET socket (fd,
 * steer_fd); on a single-queue interface, the one queue both ways, and
 * steer_fd is -1 (tap.c). On failure returns NULL with *err = -errno
 * (-EBUSY: a single-queue interface another process holds). */
struct netdev *tap_open(const char *name, int *err);

/* AF_PACKET: a raw socket bound to interface name, receiving every frame the
 * interface sees (promiscuous membership, our own transmissions skipped).
 * mtu and hwaddr come from the interface. NULL with *err = -errno. */
struct netdev *packet_open(const char *name, int *err);

/* Two devices joined in memory: a frame sent on one is received on the
 * other, in order. Each direction holds at most qlen frames (send returns
 * -ENOBUFS beyond). fd is an eventfd readable while frames are queued, so a
 * real stack thread can wait on it. Thread-safe. */
int memlink_pair(struct netdev **a, struct netdev **b, unsigned mtu, unsigned qlen);
/* Make end emulate a Linux device with offloads (before it is used):
 * features (NETDEV_F_*) are what it advertises; mode says what becomes of
 * the frames it is given by send_offload(). VETH: they cross whole and
 * unfinished (the receiver's rx says PARTIAL, and gso_size for a TCP
 * super-frame of up to 64 KiB). WIRE: checksums are completed and TCP
 * super-frames cut into MTU-sized segments in software, as the kernel's
 * GSO does, so the receiver verifies every one. NONE (features without
 * TXCSUM and TSO): no send_offload(). 0, or -EINVAL. */
enum memlink_offload { MEMLINK_OFFLOAD_NONE, MEMLINK_OFFLOAD_VETH, MEMLINK_OFFLOAD_WIRE };
int memlink_set_offload(struct netdev *end, unsigned features, enum memlink_offload mode);

/* Impairment. Probabilities in [0, 1]; each key of MTCP_IMPAIR is optional. */
struct impair_cfg {
	double loss, dup, reorder, corrupt;
	uint64_t seed;
	uint32_t reorder_hold_us;       /* longest a held frame waits (default 1000) */
};

/* Parse "loss=0.02,dup=0.01,reorder=0.02,corrupt=0.001,seed=7". 0 or -EINVAL
 * with a message naming the bad key in err. Unset keys are 0; seed defaults
 * to 1. */
int impair_parse(const char *spec, struct impair_cfg *out, char *err, size_t errlen);

/* Wrap lower (taking ownership): impairments apply to both directions, each
 * direction deciding independently. Loss drops the frame; dup delivers it
 * twice; reorder holds it back until the next frame in that direction has
 * passed (or reorder_hold_us has elapsed); corrupt flips one random bit of
 * the frame past the Ethernet header. Same seed, same frames -> same result. */
struct netdev *impair_wrap(struct netdev *lower, const struct impair_cfg *cfg);

/* pcap writer (libpcap format, LINKTYPE_ETHERNET, microsecond timestamps). */
struct pcap_writer;
struct pcap_writer *pcap_open(const char *path, int *err);
/* ts_us is wall-clock microseconds since the epoch. Write errors are counted,
 * not fatal. */
void pcap_write(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame, size_t len);
/* Records are buffered; push them to the file now (e.g. when the stack is
 * idle). 0, or -errno: the writer then stops writing and counts errors. */
int pcap_flush(struct pcap_writer *w);
/* Frames not written because of a write error. */
uint64_t pcap_errors(struct pcap_writer *w);
/* The capture file's fd (-1 for w NULL). */
int pcap_fd(struct pcap_writer *w);
void pcap_close(struct pcap_writer *w);
/* A device that records every frame through lower, both ways, into w
 * (timestamps from clock's wall time; a copy of clock is kept). Takes
 * lower and w: destroying it closes both. NULL with errno on failure
 * (lower and w are then still the caller's). */
struct mtcp_clock;
struct netdev *pcap_wrap(struct netdev *lower, struct pcap_writer *w,
			 const struct mtcp_clock *clock);

#endif
