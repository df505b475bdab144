/* stack.c - creating, driving and destroying a stack instance. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mtcp.h"
#include "os.h"
#include "proto.h"
#include "socket.h"
#include "tcp_var.h"
#include "move.h"
#include "stack.h"

static const char *const drop_names[DROP__COUNT] = {
#define DROP_NAME(name, text) [DROP_##name] = #name,
	DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

static const char *const drop_texts[DROP__COUNT] = {
#define DROP_TEXT(name, text) [DROP_##name] = text,
	DROP_REASONS(DROP_TEXT)
#undef DROP_TEXT
};

const char *drop_reason_name(enum drop_reason r)
{
	return (unsigned)r < DROP__COUNT ? drop_names[r] : "?";
}

const char *drop_reason_text(enum drop_reason r)
{
	return (unsigned)r < DROP__COUNT ? drop_texts[r] : "?";
}

void stack_drop(struct stack *st, enum drop_reason r)
{
	st->stats.drops[r]++;
	log_debug(core, "drop %s: %s", drop_names[r], drop_texts[r]);
}

bool stack_answers(struct stack *st, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport)
{
	if (!st->host)
		return true;
	if (host_is_default(st->host) &&
	    !host_owned_elsewhere(st->host, proto, lport, raddr, rport))
		return true;
	stack_drop(st, DROP_NOT_OURS);
	return false;
}

uint64_t stack_rand(struct stack *st)
{
	/* xorshift64* (Vigna 2014) */
	uint64_t x = st->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	st->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void random_mac(struct stack *st, uint8_t *mac)
{
	uint64_t r = stack_rand(st);

	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(r >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);     /* unicast, locally administered */
}

/* Without MTCP_MAC, a device's stack takes a MAC of its own that stays the
 * same from one run to the next (a hash of the interface name and the
 * address): a program restarted within a second would otherwise find the
 * kernel's neighbour entry holding the previous run's MAC, which Linux
 * does not replace on a gratuitous ARP inside its locktime (1 s), and
 * its replies would go to the old MAC for seconds. FNV-1a, 64 bits. */
static void stable_mac(const struct mtcp_config *cfg, uint8_t *mac)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = cfg->iface; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	for (int i = 0; i < 4; i++)
		h = (h ^ (uint8_t)(cfg->addr >> (8 * i))) * 0x100000001b3ULL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02);     /* unicast, locally administered */
}

int mtcp_stack_create(const struct mtcp_config *cfg, struct netdev *dev,
		      const struct mtcp_clock *clock, struct stack **out)
{
	struct stack *st = calloc(1, sizeof(*st));
	int rc;

	if (!st) {
		netdev_destroy(dev);
		return -ENOMEM;
	}
	/* Adaptive: the lock is held for microseconds at a time by the stack
	 * thread and the application's threads in turn; spinning a little
	 * before sleeping in the kernel saves a context switch each way when
	 * they meet (it was a third of nginx's time under load). */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&st->lock, &ma);
	pthread_mutex_init(&st->tx_lock, &ma);
	pthread_mutex_init(&st->call_lock, NULL);
	pthread_mutexattr_destroy(&ma);
	st->cfg = *cfg;
	st->clock = *clock;
	st->dev = dev;
	st->wake_fd = -1;
	st->loop_epfd = -1;

	st->rng = cfg->seed;
	if (!st->rng && getrandom(&st->rng, sizeof(st->rng), 0) != sizeof(st->rng))
		st->rng = stack_now(st) ^ (uint64_t)getpid() << 32;
	if (!st->rng)
		st->rng = 0x9e3779b97f4a7c15ULL;

	if (cfg->has_mac)
		memcpy(st->mac, cfg->mac, ETH_ALEN);
	else if (cfg->iface[0])
		stable_mac(cfg, st->mac);
	else
		random_mac(st, st->mac);
	st->addr = cfg->addr;
	st->mask = ~0u << (32 - cfg->prefix);
	st->bcast = st->addr | ~st->mask;
	st->mtu = cfg->mtu ? cfg->mtu : dev->mtu ? dev->mtu : 1500;
	if (st->mtu > ETH_MTU_MAX)
		st->mtu = ETH_MTU_MAX;
	st->offload = cfg->no_offload ? 0 : dev->features;
	if (!dev->ops->send_offload)
		st->offload &= ~(NETDEV_F_TXCSUM | NETDEV_F_TSO);
	/* TSO needs the checksum offload too (virtio-net's rule). The
	 * kernel takes GSO packets of up to 64 KiB (gso_max_size). */
	if ((st->offload & (NETDEV_F_TSO | NETDEV_F_TXCSUM)) == (NETDEV_F_TSO | NETDEV_F_TXCSUM))
		st->tso_max = TSO_MAX_PAYLOAD;
	else
		st->offload &= ~NETDEV_F_TSO;

	st->wake_fd = os_own(mtcp_os.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (st->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* Bottom up: each layer registers with the one below it. */
	if ((rc = arp_init(st)) < 0 || (rc = ipv4_init(st)) < 0 ||
	    (rc = reass_init(st)) < 0 || (rc = icmp_init(st)) < 0 ||
	    (rc = udp_init(st)) < 0 || (rc = tcp_init(st)) < 0)
		goto fail;

	char a[16], m[18];
	log_info(core, "stack %s/%u mac %s mtu %u on %s, offloads:%s%s%s%s", ipv4_ntoa(st->addr, a),
		 cfg->prefix, eth_ntoa(st->mac, m), st->mtu, dev->name,
		 st->offload ? "" : " none",
		 st->offload & NETDEV_F_RXCSUM ? " rx-csum" : "",
		 st->offload & NETDEV_F_TXCSUM ? " tx-csum" : "",
		 st->offload & NETDEV_F_TSO ? " tso" : "");
	*out = st;
	return 0;
fail:
	mtcp_stack_destroy(st);
	return rc;
}

/*
 * Join the other processes on this address (stack/host), unless
 * MTCP_SHARE=off: the registry gives the MAC they all use (in c) and the
 * steering filter goes on the device's receiving socket. With
 * MTCP_SHARE=auto, a host that cannot be joined (no CAP_BPF, a TAP made
 * without multi_queue) leaves this stack alone on the address, said once.
 */
static int host_open(struct mtcp_config *c, struct netdev *dev, struct host **out,
		     char *err, size_t errlen)
{
	struct host_params p = {
		.rundir = c->rundir[0] ? c->rundir : NULL,
		.iface = c->iface,
		.ifindex = (int)if_nametoindex(c->iface),
		.addr = c->addr,
	};
	char why[256] = "";
	int rc;

	*out = NULL;
	if (c->share == MTCP_SHARE_OFF)
		return netdev_steer_none(dev) < 0 ? -errno : 0;
	if (dev->steer_fd < 0) {
		/* The device has said why, once (a single-queue TAP). */
		if (c->share != MTCP_SHARE_ON)
			return 0;
		snprintf(err, errlen, "MTCP_SHARE=on: %s cannot be shared", dev->name);
		return -EOPNOTSUPP;
	} else {
		if (c->has_mac)
			memcpy(p.mac, c->mac, sizeof(p.mac));
		else
			stable_mac(c, p.mac);
		rc = host_join(&p, out, c->mac, why, sizeof(why));
		if (rc == 0 && (rc = host_attach(*out, dev->steer_fd, dev->steer_outgoing)) < 0) {
			snprintf(why, sizeof(why), "cannot attach the steering filter: %s",
				 strerror(-rc));
			host_leave(*out);
			*out = NULL;
		}
	}
	if (rc == 0) {
		c->has_mac = true;
		return 0;
	}
	if (c->share == MTCP_SHARE_ON) {
		snprintf(err, errlen, "MTCP_SHARE=on: %s", why);
		return rc;
	}
	log_warn(core, "%s; this process runs alone on the address: another one on "
		 "it would break it (MTCP_SHARE=off says so without this warning)", why);
	if (netdev_steer_none(dev) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dev->name, strerror(errno));
		return -errno;
	}
	return 0;
}

int mtcp_stack_open(const struct mtcp_config *cfg, struct stack **out,
		    char *err, size_t errlen)
{
	struct netdev *dev;
	int rc = 0;

	if (cfg->driver == MTCP_DRIVER_TAP)
		dev = tap_open(cfg->iface, &rc);
	else
		dev = packet_open(cfg->iface, &rc);
	if (!dev) {
		snprintf(err, errlen, "MTCP_IFACE: cannot open %s device \"%s\": %s%s",
			 cfg->driver == MTCP_DRIVER_TAP ? "tap" : "packet", cfg->iface,
			 strerror(-rc), cfg->driver == MTCP_DRIVER_TAP && rc == -EBUSY ?
			 " (a single-queue TAP that another process holds; for several "
			 "processes on it: ip tuntap add ... mode tap multi_queue)" : "");
		return rc;
	}
	/* tap.c: a TAP created without multi_queue takes one process only. */
	if (cfg->driver == MTCP_DRIVER_TAP && dev->steer_fd < 0)
		log_warn(core, "%s is a single-queue TAP: another process on this "
			 "address cannot join this one (for that, create it with: "
			 "ip tuntap add dev %s mode tap multi_queue)", dev->name, dev->name);
	switch (dev->link) {
	case NETDEV_LINK_ADMIN_DOWN:
		log_warn(core, "%s is down on the kernel's side: nothing arrives "
			 "until it is up (ip link set %s up)", dev->name, dev->name);
		break;
	case NETDEV_LINK_LATE:
		log_warn(core, "%s: the kernel's side was still not running after "
			 "%u ms; the first frames it sends us may be lost",
			 dev->name, dev->link_wait_ms);
		break;
	default:
		if (dev->link_wait_ms >= 100)
			log_info(core, "%s: the kernel took %u ms to run its side",
				 dev->name, dev->link_wait_ms);
		break;
	}
	if (cfg->has_impair) {
		struct netdev *imp = impair_wrap(dev, &cfg->impair);
		if (!imp) {
			netdev_destroy(dev);
			snprintf(err, errlen, "MTCP_IMPAIR: out of memory");
			return -ENOMEM;
		}
		dev = imp;
	}
	if (cfg->pcap[0]) {
		struct pcap_writer *pcap = pcap_open(cfg->pcap, &rc);
		struct netdev *cap = pcap ? pcap_wrap(dev, pcap, &mtcp_real_clock) : NULL;
		if (!cap) {
			if (pcap) {
				rc = -errno;
				pcap_close(pcap);
			}
			netdev_destroy(dev);
			snprintf(err, errlen, "MTCP_PCAP: cannot write \"%s\": %s",
				 cfg->pcap, strerror(-rc));
			return rc;
		}
		dev = cap;
	}
	/* The device stack, top down: pcap (the stack's own view), impair,
	 * then the driver. mtcp_stack_create owns it from here. */
	struct mtcp_config c = *cfg;
	struct host *h = NULL;
	if ((rc = host_open(&c, dev, &h, err, errlen)) < 0) {
		netdev_destroy(dev);
		return rc;
	}
	rc = mtcp_stack_create(&c, dev, &mtcp_real_clock, out);
	if (rc < 0) {
		host_leave(h);
		snprintf(err, errlen, "cannot create the stack: %s", strerror(-rc));
		return rc;
	}
	(*out)->host = h;
	return 0;
}

/* Connections closed by their owner that still have a FIN (and the data
 * before it) to deliver. Lock held. */
static unsigned closing_connections(struct stack *st)
{
	unsigned n = 0;

	for (struct mtcp_sock *s = st->socks; s; s = s->all_next)
		n += s->tp && TCPS_CLOSING_FIN(s->tp->t_state);
	return n;
}

unsigned mtcp_stack_drain(struct stack *st, uint64_t timeout_us)
{
	struct timespec nap = { 0, 2 * 1000 * 1000 };
	uint64_t waited = 0;
	unsigned n;

	for (;;) {
		pthread_mutex_lock(&st->lock);
		n = st->running ? closing_connections(st) : 0;
		stack_unlock(st);
		if (n == 0 || waited >= timeout_us)
			return n;
		/* NOTE: a short sleep, not a wakeup: this runs once, at exit. */
		nanosleep(&nap, NULL);
		waited += 2000;
	}
}

/*
 * NOTE: a TIME-WAIT connection on a port another member listens on does
 * not outlive the process. The kernel's TIME-WAIT hands a new SYN for its
 * 4-tuple to the listener at once (tcp_timewait_state_process,
 * TCP_TW_SYN; RFC 6191), but a keeper has no listener: it could only drop
 * it (tcp_input), and the client would wait for its SYN's retransmission,
 * 1 s. Behind a busy server whose clients reuse their ports (nginx's old
 * workers at a reload: thousands of them), that was nearly every new
 * connection. Until a TIME-WAIT can move to the listener's member (the
 * move protocol), it ends with its process, as every one did before the
 * keeper. One map lookup each.
 */
static bool time_wait_yields(struct stack *st, const struct tcpcb *tp)
{
	return tp->t_state == TCPS_TIME_WAIT && st->host &&
	       host_pick_keeper(st->host, IPPROTO_TCP, tp->so->lport) != 0;
}

/*
 * What the kernel goes on with after a process has exited (its orphans:
 * tcp_close leaves them to the protocol): TCP connections still sending
 * data or a FIN (FIN-WAIT-1, CLOSING, LAST-ACK), waiting for the peer's
 * FIN (FIN-WAIT-2, until TCP_FIN_TIMEOUT) or in TIME-WAIT (2MSL), except
 * a TIME-WAIT that yields to a listener (above), which shed closes. A
 * connection a thread still holds counts too: its process is exiting, so
 * it closes. Listeners and their queues, UDP sockets and closed ones end
 * with the process (a queue moves to another member: tcp_migrate.c).
 */
unsigned stack_leftovers_locked(struct stack *st, bool shed)
{
	struct mtcp_sock *s, *next;
	unsigned n = 0;

	for (s = st->socks; s; s = next) {
		struct tcpcb *tp = s->tp;

		next = s->all_next;     /* tcp_closed may free s, only s */
		/* A connection still opening just ends (tcp_usr_close). */
		if (!tp || !TCPS_HAVERCVDSYN(tp->t_state) || tp->t_listener)
			continue;
		if (time_wait_yields(st, tp)) {
			if (shed)
				tcp_closed(tp);
			continue;
		}
		n++;
	}
	return n;
}

bool mtcp_stack_shared(struct stack *st)
{
	return st->host != NULL;        /* set at open, never changed until stop */
}

unsigned mtcp_stack_leftovers(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	unsigned n = stack_leftovers_locked(st, false);
	stack_unlock(st);
	return n;
}

/* NOTE: the kernel gives an orphan's delivery no fixed time (its
 * retransmission limit, tcp_orphan_retries); the keeper gives it 60 s,
 * then the longer of TIME-WAIT and the orphan FIN-WAIT-2 limit. */
#define KEEP_DELIVER_US (60 * USEC_PER_SEC)

uint64_t mtcp_stack_keep_cap(struct stack *st)
{
	uint64_t tw = 2 * tcp_msl(st);

	return KEEP_DELIVER_US + (tw > TCP_FIN_TIMEOUT ? tw : TCP_FIN_TIMEOUT);
}

int mtcp_stack_fds(struct stack *st, int *out, int max)
{
	int n = netdev_fds(st->dev, out, max);

	if (st->wake_fd >= 0 && n < max)
		out[n++] = st->wake_fd;
	if (st->loop_epfd >= 0 && n < max)
		out[n++] = st->loop_epfd;
	return n + host_fds(st->host, out + n, max - n);
}

/*
 * fork() of a keeper: the stack thread is paused (mtcp_stack_pause); the
 * forking thread takes the stack lock, then tx_lock (stack_unlock's
 * order), so no other thread is changing the state or sending a frame
 * when the child's copy is made, and the capture's buffer is written out
 * first, so that parent and child do not both write it.
 */
void mtcp_stack_fork_prepare(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	pthread_mutex_lock(&st->tx_lock);
	netdev_idle(st->dev);
}

/* The parent hands the stack to the keeper: it keeps both locks for
 * good, so none of its threads touches the state, the device or the
 * registry again (one that tries waits until the process is gone), and
 * closes its copies of the fds, as a fork child forgets its parent's
 * stack (mtcp_stack_forget: nothing shared is touched). */
void mtcp_stack_fork_parent(struct stack *st)
{
	mtcp_stack_forget(st);
	st->host = NULL;
	st->wake_fd = -1;
	st->loop_epfd = -1;
}

/* The keeper, whose only thread is the one that took the locks (adaptive
 * mutexes: no owner check); or the parent, when fork failed. */
void mtcp_stack_fork_child(struct stack *st)
{
	pthread_mutex_unlock(&st->tx_lock);
	pthread_mutex_unlock(&st->lock);
}

void mtcp_stack_forget(struct stack *st)
{
	if (!st)
		return;
	host_forget(st->host);
	netdev_forget(st->dev);
	if (st->wake_fd >= 0)
		mtcp_os.close(st->wake_fd);
	if (st->loop_epfd >= 0)
		mtcp_os.close(st->loop_epfd);
}

void mtcp_stack_destroy(struct stack *st)
{
	if (!st)
		return;
	mtcp_stack_stop(st);
	pthread_mutex_lock(&st->lock);
	unsigned open = 0;
	for (struct mtcp_sock *s = st->socks; s; s = s->all_next)
		open += !s->closed;
	if (open)
		log_warn(core, "stack destroyed with %u sockets open", open);
	handoff_destroy(st);
	tcp_fini(st);
	udp_fini(st);
	icmp_fini(st);
	reass_fini(st);
	ipv4_fini(st);
	arp_fini(st);
	timer_heap_free(&st->timers);
	stack_unlock(st);
	netdev_destroy(st->dev);
	if (st->wake_fd >= 0)
		mtcp_os.close(st->wake_fd);
	if (st->loop_epfd >= 0)
		mtcp_os.close(st->loop_epfd);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->tx_lock);
	pthread_mutex_destroy(&st->call_lock);
	free(st);
}

/* Frames handled per call before timers get their turn: a busy link must
 * not starve retransmissions, and the caller gets control back. */
#define RX_BUDGET 64

/* Call with the lock held. Returns true when there is more to do at
 * once: the budget ran out, or packets to ourselves wait. */
/* What other members of the host sent us: connections moving here from
 * a listener another process closed (tcp_migrate.c), or held by several
 * processes (handoff.c). How many messages. */
static unsigned mailbox_input(struct stack *st)
{
	unsigned i;
	ssize_t n;

	for (i = 0; i < RX_BUDGET; i++) {
		int fd = -1;
		n = host_mail_recv_fd(st->host, st->rxbuf, sizeof(st->rxbuf), &fd);
		if (n < 0)
			break;
		if (handoff_is_msg(st->rxbuf, (size_t)n)) {
			handoff_input(st, st->rxbuf, (size_t)n, fd);
			continue;
		}
		if (fd >= 0)
			mtcp_os.close(fd);
		tcp_migrate_input(st, st->rxbuf, (size_t)n);
	}
	return i;
}

void stack_mail_flush(struct stack *st)
{
	if (st->host)
		while (mailbox_input(st))
			;
}

static bool stack_poll_locked(struct stack *st)
{
	unsigned n = netif_input(st, RX_BUDGET);

	/* The stack thread reads the mailbox when its poll saw it readable
	 * (a recv that finds nothing on every pass costs a system call); a
	 * stack driven by hand (tests) looks every time. */
	if (st->host && (!st->running || __atomic_exchange_n(&st->mail_ready, false,
							     __ATOMIC_RELAXED)) &&
	    mailbox_input(st) == RX_BUDGET)
		__atomic_store_n(&st->mail_ready, true, __ATOMIC_RELAXED);

	ipv4_loopback_run(st);
	tcp_output_flush(st);
	timer_run(st, &st->timers, stack_now(st));
	netif_tx_errors(st);
	return n == RX_BUDGET || ipv4_loopback_pending(st);
}

bool mtcp_stack_poll(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	bool more = stack_poll_locked(st);
	stack_unlock(st);
	return more;
}

uint64_t stack_poll_at_locked(struct stack *st)
{
	uint64_t t = timer_next(&st->timers);
	uint64_t d = netdev_poll_at(st->dev);

	return t < d ? t : d;
}

uint64_t mtcp_stack_poll_at(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	uint64_t at = stack_poll_at_locked(st);
	stack_unlock(st);
	return at;
}

void mtcp_stack_announce(struct stack *st)
{
	pthread_mutex_lock(&st->lock);
	arp_announce(st);
	stack_unlock(st);
}

void mtcp_stack_usage(struct stack *st, struct mtcp_usage *out)
{
	pthread_mutex_lock(&st->lock);
	out->sockets = st->nsockets;
	out->tcp_pcbs = tcp_pcb_count(st);
	out->arp_entries = arp_entries(st);
	reass_usage(st, &out->reass_datagrams, &out->reass_bytes);
	stack_unlock(st);
}

void mtcp_stack_stats(struct stack *st, struct stack_stats *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	stack_unlock(st);
}

void mtcp_stats_print(const struct stack_stats *s, FILE *f)
{
#define STAT_PRINT(name) fprintf(f, "stat " #name " %llu\n", (unsigned long long)s->name);
	STAT_COUNTERS(STAT_PRINT)
#undef STAT_PRINT
	for (int i = 0; i < DROP__COUNT; i++)
		fprintf(f, "drop %s %llu\n", drop_names[i], (unsigned long long)s->drops[i]);
	fprintf(f, "stat end\n");
	fflush(f);
}
