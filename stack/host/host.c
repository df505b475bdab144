/*
 * host.c - the registry that makes the processes on one address one host
 * (host.h has the design; steer.h the maps it keeps).
 *
 * The registry file, <rundir>/net<netns inode>.<ifindex>.<a.b.c.d>, holds
 * struct host_reg: fixed layout, no pointers, mapped MAP_SHARED by every
 * member. It is created whole (a temporary file initialised, then link()ed
 * into place) so nobody ever maps a half-made one, and never removed: a
 * later join finds it and, when every member is dead, starts it afresh.
 *
 * Liveness: member m (slot m - 1) holds an open-file-description write
 * lock on byte HOST_LOCK_BASE + slot through a description of its own
 * (lockfd). The kernel lets it go when the last fd of that description
 * closes: the process died (even by SIGKILL) or exec'ed (O_CLOEXEC). Any
 * other description (ours: fd, the one mapped) sees it with F_OFD_GETLK.
 *
 * Protection: reg->lock, a robust process-shared mutex, serialises every
 * change to the registry and to the ports and conf maps. It is taken only
 * in this file and never held across a call out of it (steer_* are system
 * calls). Fields read without it (in_use, default_member) are read and
 * written with atomics. flows entries are each written by their member
 * without the lock; a sweep deletes only dead members' entries.
 *
 * The per-process struct host is shared by the process's threads: its
 * counters and inherited bits change only under reg->lock, next_sweep and
 * the active bits are atomics, host_attach has a mutex of its own, and
 * everything else is set at join and read-only after.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "host.h"
#include "steer.h"
#include "log.h"
#include "os.h"

#define HOST_MAGIC        0x6d74637072656731ULL        /* "mtcpreg1" */
/* 2: the handles table and the keeper; 3: a handle's eventfd id. A
 * file of another version that no member uses any more is replaced
 * (reg_replace). */
#define HOST_VERSION      3
#define HOST_MEMBERS_MAX  256
/* Liveness bytes lie past the data, at an offset aligned for any page
 * size, so they never share a byte range with anything else. */
#define HOST_LOCK_BASE    (1u << 20)
#define HOST_RUNDIR       "/run/microtcp"

struct host_member {
	int32_t pid;            /* for messages only: pid namespaces differ */
	uint32_t in_use;
	uint32_t generation;    /* times the slot was taken */
	uint32_t orphans;       /* atomic: an entry it owns may have no holder
				   left (host_handle_orphans looks) */
};

/* An id is (a registry-wide sequence number << HANDLE_IDX_BITS) | the
 * entry's index: found without a search, never 0, never reused while
 * the file lives. */
#define HANDLE_IDX_BITS   12
#define HANDLE_WORDS      (HOST_MEMBERS_MAX / 64)

struct host_handle {
	uint64_t id;            /* 0: a free entry */
	uint16_t owner;         /* the member with the state; 0: none, lost */
	uint16_t pad;
	uint32_t pending;       /* fork children that have not joined */
	uint64_t pending_at;    /* host_now() when pending was last raised */
	uint64_t grace_until;   /* exec grace, host_now() deadline; 0: none */
	uint64_t efd_id;        /* its descriptor's eventfd id; 0: none */
	uint64_t holders[HANDLE_WORDS];         /* bit m - 1: member m */
};

struct host_reg {
	uint64_t magic;
	uint32_t version;       /* HOST_VERSION */
	uint32_t size;          /* sizeof(struct host_reg) */
	uint32_t steer_abi;     /* STEER_ABI */
	uint32_t mutex_size;    /* sizeof(pthread_mutex_t) */
	pthread_mutex_t lock;
	uint8_t mac[6];
	uint16_t default_member;        /* 0: none */
	struct steer_ids ids;
	uint32_t addr;          /* host order: for messages */
	struct host_member members[HOST_MEMBERS_MAX];
	uint16_t keeper;        /* atomic; 0: none */
	uint16_t pad;
	uint32_t handles_used;
	uint64_t handle_seq;    /* the last id's sequence number */
	uint64_t handle_due;    /* atomic: the earliest pending expiry or grace
				   end (a sweep is due then); UINT64_MAX: none */
	uint32_t handle_next;   /* where the search for a free entry starts */
	uint32_t pad2;
	struct host_handle handles[HOST_HANDLES_MAX];
};

_Static_assert(sizeof(struct host_reg) <= HOST_LOCK_BASE,
	       "liveness bytes must lie past the registry's data");
_Static_assert(HOST_MEMBERS_MAX < UINT16_MAX, "members are uint16_t");
_Static_assert(HOST_MEMBERS_MAX % 64 == 0, "holders are 64-bit words");
_Static_assert(HOST_HANDLES_MAX == 1u << HANDLE_IDX_BITS, "an id's index bits");

/* The file's size: the data, rounded to a page of any size. */
#define HOST_FILE_SIZE    HOST_LOCK_BASE

struct host {
	struct host_reg *reg;
	int fd;                 /* the mapped description: looks at liveness */
	int lockfd;             /* our own description: holds our byte */
	uint16_t member;        /* slot + 1 */
	struct steer *steer;
	/* steer_attach loads a program into the struct steer: one at a time
	 * (the rest of steer.h only reads and writes maps through its fds). */
	pthread_mutex_t attach_lock;
	bool repair_pending;    /* EOWNERDEAD before the maps were open */
	uint64_t next_sweep;    /* atomic: host_tick's next look */
	/* under reg->lock: */
	uint64_t sweeps, dead_reaped, conflicts, lock_repairs;
	/* Bits per (proto, port), [0] TCP, [1] UDP, cleared when our holder
	 * goes (refs 0), which only we do. active: activated already, so
	 * host_activate on every accept or poll costs no lock (atomic: read
	 * without it). inherited: one of our sockets there came with fork
	 * (under reg->lock). */
	uint8_t active[2][65536 / 8];
	uint8_t inherited[2][65536 / 8];
	char path[PATH_MAX];
	int mbox;               /* our mailbox (host_mail_*), -1: none */
	uint64_t path_hash;     /* names the registry in mailbox addresses */
	int64_t skew_us;        /* host_test_skew_clock */
	/* Under reg->lock (ntaken also read without it, atomic): dead
	 * members' TCP flows our sweeps took, not yet given to our stack
	 * (host_taken). At most HOST_TAKEN_MAX. */
	struct host_flow *taken;
	size_t ntaken, taken_cap;
};

/* Members whose entries a sweep or a leave removes: index by member. */
struct gone {
	struct host *h;
	bool m[HOST_MEMBERS_MAX + 1];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- liveness ------------------------------------------------------- */

/* libmtcp.so exports fcntl (the preload's wrapper) and mtcp_os has no
 * slot for it: make the system call, as libc's fcntl does for these
 * commands. */
static int ofd_lock_range(int fd, int cmd, short type, off_t start, off_t len,
			  short *type_out)
{
#ifdef SYS_fcntl64
	struct flock64 fl = { 0 };
	long sysno = SYS_fcntl64;
#else
	struct flock fl = { 0 };
	long sysno = SYS_fcntl;
#endif
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	fl.l_pid = 0;           /* F_OFD_*: must be 0 */
	if (syscall(sysno, fd, cmd, &fl) < 0)
		return -errno;
	if (type_out)
		*type_out = fl.l_type;
	return 0;
}

static int ofd_lock(int fd, int cmd, short type, unsigned slot, short *type_out)
{
	return ofd_lock_range(fd, cmd, type, HOST_LOCK_BASE + slot, 1, type_out);
}

static bool slot_in_use(const struct host *h, unsigned slot)
{
	return __atomic_load_n(&h->reg->members[slot].in_use, __ATOMIC_ACQUIRE) != 0;
}

/* Does a live process hold slot's byte? An error counts as alive: a
 * member is never reaped on a doubt. */
static bool slot_locked(const struct host *h, unsigned slot)
{
	short type = F_WRLCK;

	if (ofd_lock(h->fd, F_OFD_GETLK, F_WRLCK, slot, &type) < 0)
		return true;
	return type != F_UNLCK;
}

static bool member_live(const struct host *h, uint16_t m)
{
	return m >= 1 && m <= HOST_MEMBERS_MAX && slot_in_use(h, m - 1u) &&
	       slot_locked(h, m - 1u);
}

static uint16_t default_member(const struct host *h)
{
	return __atomic_load_n(&h->reg->default_member, __ATOMIC_ACQUIRE);
}

static void set_default(struct host *h, uint16_t m)
{
	__atomic_store_n(&h->reg->default_member, m, __ATOMIC_RELEASE);
	int err = steer_set_default(h->steer, m);
	if (err)
		log_warn(host, "%s: default member %u not written to the maps: %s",
			 h->path, m, strerror(-err));
	else
		log_info(host, "%s: member %u is the default", h->path, m);
}

/* The lowest live member answers what nobody owns; never the keeper,
 * which runs no program: it only finishes what exited ones left, and a
 * keeper that answered for the address would reset the flows of whoever
 * uses the address next (the kernel, in an A/B run on the same link).
 * Under the lock. */
static void elect_default(struct host *h)
{
	uint16_t cur = default_member(h);
	uint16_t keeper = __atomic_load_n(&h->reg->keeper, __ATOMIC_ACQUIRE);

	if (cur && cur != keeper && member_live(h, cur))
		return;
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
		if ((uint16_t)(s + 1) != keeper && member_live(h, (uint16_t)(s + 1))) {
			set_default(h, (uint16_t)(s + 1));
			return;
		}
	if (cur)
		set_default(h, 0);
}

/* ---- port entries --------------------------------------------------- */

static bool gone_has(const struct gone *g, uint16_t m)
{
	return m == 0 || m > HOST_MEMBERS_MAX || g->m[m];
}

static bool active_has(const struct steer_port *v, uint16_t m)
{
	for (unsigned i = 0; i < v->nactive && i < STEER_HOLDERS; i++)
		if (v->active[i] == m)
			return true;
	return false;
}

static struct steer_holder *holder_find(struct steer_port *v, uint16_t m)
{
	for (unsigned i = 0; i < v->nholders; i++)
		if (v->h[i].member == m)
			return &v->h[i];
	return NULL;
}

/* Rewrite *v from what is consistent in it: holders of members not gone,
 * once each, with refs, counts no larger than refs; active[] the active
 * holders, in their old order (the filter hashes over it) and then any
 * missing. Also what repairs an entry a dead lock owner half wrote.
 * Returns true if *v changed. */
static bool port_normalise(struct steer_port *v, const struct gone *g)
{
	struct steer_port n;
	unsigned nh = v->nholders < STEER_HOLDERS ? v->nholders : STEER_HOLDERS;

	memset(&n, 0, sizeof(n));
	for (unsigned i = 0; i < nh; i++) {
		struct steer_holder hd = v->h[i];

		if (hd.refs == 0 || gone_has(g, hd.member) || holder_find(&n, hd.member))
			continue;
		hd.flags &= STEER_H_ACTIVE;
		hd.pad = 0;
		if (hd.listening > hd.refs)
			hd.listening = hd.refs;
		if (hd.no_reuseaddr > hd.refs)
			hd.no_reuseaddr = hd.refs;
		if (hd.no_reuseport > hd.refs)
			hd.no_reuseport = hd.refs;
		n.h[n.nholders++] = hd;
	}
	for (unsigned i = 0; i < v->nactive && i < STEER_HOLDERS; i++) {
		struct steer_holder *hd = holder_find(&n, v->active[i]);

		if (hd && (hd->flags & STEER_H_ACTIVE) && !active_has(&n, hd->member))
			n.active[n.nactive++] = hd->member;
	}
	for (unsigned i = 0; i < n.nholders; i++)
		if ((n.h[i].flags & STEER_H_ACTIVE) && !active_has(&n, n.h[i].member))
			n.active[n.nactive++] = n.h[i].member;
	if (memcmp(&n, v, sizeof(n)) == 0)
		return false;
	*v = n;
	return true;
}

/* The entry, or an empty one. */
static int port_load(struct host *h, uint8_t proto, uint16_t port, struct steer_port *v)
{
	int err = steer_port_get(h->steer, proto, htons(port), v);

	if (err == -ENOENT) {
		memset(v, 0, sizeof(*v));
		return 0;
	}
	if (err)
		log_warn(host, "%s: ports entry %u/%u unreadable: %s", h->path, proto, port,
			 strerror(-err));
	return err;
}

/* Store *v normalised (no member gone: only refs 0 drops a holder). */
static int port_store(struct host *h, uint8_t proto, uint16_t port, struct steer_port *v)
{
	struct gone none = { .h = h };
	int err;

	port_normalise(v, &none);
	err = steer_port_put(h->steer, proto, htons(port), v);
	if (err)
		log_warn(host, "%s: ports entry %u/%u not written: %s", h->path, proto, port,
			 strerror(-err));
	return err;
}

/* ---- per-port bits ------------------------------------------------- */

static uint8_t *port_byte(uint8_t (*bits)[65536 / 8], uint8_t proto, uint16_t port)
{
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return NULL;
	return &bits[proto == IPPROTO_UDP][port / 8];
}

static bool port_bit(uint8_t (*bits)[65536 / 8], uint8_t proto, uint16_t port)
{
	uint8_t *b = port_byte(bits, proto, port);

	return b && (__atomic_load_n(b, __ATOMIC_RELAXED) & (1u << (port % 8)));
}

static void port_bit_set(uint8_t (*bits)[65536 / 8], uint8_t proto, uint16_t port, bool on)
{
	uint8_t *b = port_byte(bits, proto, port);
	uint8_t bit = (uint8_t)(1u << (port % 8));

	if (!b)
		return;
	if (on)
		__atomic_fetch_or(b, bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(b, (uint8_t)~bit, __ATOMIC_RELAXED);
}

/* ---- sweeping ------------------------------------------------------- */

/* A walk collects the entries to rewrite; they are rewritten after it,
 * as changing a map under its own iteration may skip or repeat keys. */
struct port_key {
	uint8_t proto;
	uint16_t port;          /* network order, as the walk gives it */
};

struct fixup {
	const struct gone *g;
	struct port_key *keys;
	size_t n, cap;
	int err;
};

static bool fixup_collect(uint8_t proto, uint16_t port, struct steer_port *v, void *arg)
{
	struct fixup *f = arg;
	struct steer_port copy = *v;

	if (!port_normalise(&copy, f->g))
		return false;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct port_key *k = realloc(f->keys, cap * sizeof(*k));

		if (!k) {
			f->err = -ENOMEM;
			return true;
		}
		f->keys = k;
		f->cap = cap;
	}
	f->keys[f->n++] = (struct port_key){ proto, port };
	return false;
}

/* Rewrite every ports entry that holds a member g says is gone, or that
 * is inconsistent. Under the lock. */
static int ports_fix(struct host *h, const struct gone *g)
{
	struct fixup f = { .g = g };
	int err = steer_port_each(h->steer, fixup_collect, &f);

	if (!err)
		err = f.err;
	for (size_t i = 0; i < f.n; i++) {
		struct steer_port v;
		int e = steer_port_get(h->steer, f.keys[i].proto, f.keys[i].port, &v);

		if (e == 0 && port_normalise(&v, g))
			e = steer_port_put(h->steer, f.keys[i].proto, f.keys[i].port, &v);
		if (e && e != -ENOENT && !err)
			err = e;
	}
	free(f.keys);
	if (err)
		log_warn(host, "%s: ports sweep incomplete: %s", h->path, strerror(-err));
	return err;
}

static bool flow_gone(uint16_t member, void *arg)
{
	return gone_has(arg, member);
}

/* Mark every member not in use, and every one in use whose byte no
 * process holds. Returns how many of the latter (the dead). */
static unsigned gone_init(struct host *h, struct gone *g)
{
	unsigned dead = 0;

	memset(g, 0, sizeof(*g));
	g->h = h;
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++) {
		if (!slot_in_use(h, s)) {
			g->m[s + 1] = true;
		} else if (!slot_locked(h, s)) {
			g->m[s + 1] = true;
			dead++;
		}
	}
	return dead;
}

static void slot_free(struct host *h, unsigned s)
{
	__atomic_store_n(&h->reg->members[s].in_use, 0, __ATOMIC_RELEASE);
	h->reg->members[s].pid = 0;
}

/* ---- handles: what a sweep does to them --------------------------- */

/* CLOCK_MONOTONIC, microseconds: every member's deadlines in the
 * registry are on the one clock all processes share. */
static uint64_t host_now(const struct host *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u +
	       (uint64_t)h->skew_us;
}

static bool hbit(const struct host_handle *e, uint16_t m)
{
	return (e->holders[(m - 1u) / 64] >> ((m - 1u) % 64)) & 1;
}

static void hbit_set(struct host_handle *e, uint16_t m, bool on)
{
	uint64_t bit = 1ULL << ((m - 1u) % 64);

	if (on)
		e->holders[(m - 1u) / 64] |= bit;
	else
		e->holders[(m - 1u) / 64] &= ~bit;
}

static bool pending_live(const struct host_handle *e, uint64_t now)
{
	return e->pending && now < e->pending_at + HOST_PENDING_US;
}

static bool grace_live(const struct host_handle *e, uint64_t now)
{
	return e->grace_until && now < e->grace_until;
}

/* A sweep is due at t (a pending expiry, a grace's end). Under the lock. */
static void handle_due_at(struct host *h, uint64_t t)
{
	if (t < h->reg->handle_due)
		__atomic_store_n(&h->reg->handle_due, t, __ATOMIC_RELAXED);
}

static void handle_free(struct host *h, struct host_handle *e)
{
	memset(e, 0, sizeof(*e));
	if (h->reg->handles_used)
		h->reg->handles_used--;
}

/* Tell owner that an entry of its may have no holder left. */
static void orphan_hint(struct host *h, uint16_t owner)
{
	__atomic_store_n(&h->reg->members[owner - 1u].orphans, 1, __ATOMIC_RELEASE);
}

/* Gone members (g) leave every entry's holders; an entry a gone member
 * owned is lost (owner 0); pending counts and graces past their time
 * end; an entry with nothing left and no owner is freed, one with a live
 * owner left to it (host_handle_orphans). The keeper goes with its
 * member. full: every entry looked at, the count of those in use
 * rebuilt (a lock owner that died may have left it wrong). Under the
 * lock. */
static void handles_sweep(struct host *h, const struct gone *g, uint64_t now, bool full)
{
	struct host_reg *r = h->reg;
	uint64_t due = UINT64_MAX;
	uint32_t used = 0;
	unsigned lost = 0, freed = 0;

	if (r->keeper && gone_has(g, r->keeper)) {
		log_info(host, "%s: the keeper, member %u, is gone", h->path, r->keeper);
		__atomic_store_n(&r->keeper, 0, __ATOMIC_RELEASE);
	}
	for (unsigned i = 0; i < HOST_HANDLES_MAX && (full || r->handles_used); i++) {
		struct host_handle *e = &r->handles[i];
		bool held = false;

		if (!e->id)
			continue;
		for (unsigned w = 0; w < HANDLE_WORDS; w++) {
			for (uint64_t b = e->holders[w]; b; b &= b - 1) {
				uint16_t m = (uint16_t)(w * 64 + (unsigned)__builtin_ctzll(b) + 1);

				if (gone_has(g, m))
					hbit_set(e, m, false);
			}
			held |= e->holders[w] != 0;
		}
		if (e->owner && gone_has(g, e->owner)) {
			log_debug(host, "%s: handle %#llx: its owner, member %u, is gone: "
				  "its state is lost", h->path, (unsigned long long)e->id,
				  e->owner);
			e->owner = 0;
			lost++;
		}
		if (e->pending && !pending_live(e, now)) {
			log_info(host, "%s: handle %#llx: %u fork children did not join in "
				 "%llu s: forgotten", h->path, (unsigned long long)e->id,
				 e->pending, HOST_PENDING_US / 1000000);
			e->pending = 0;
		}
		if (e->grace_until && !grace_live(e, now))
			e->grace_until = 0;
		if (!held && !e->pending && !e->grace_until) {
			if (!e->owner) {
				handle_free(h, e);
				freed++;
				continue;
			}
			orphan_hint(h, e->owner);
		}
		used++;
		if (e->pending)
			due = due < e->pending_at + HOST_PENDING_US ? due :
			      e->pending_at + HOST_PENDING_US;
		if (e->grace_until)
			due = due < e->grace_until ? due : e->grace_until;
	}
	if (full)
		r->handles_used = used;
	__atomic_store_n(&r->handle_due, due, __ATOMIC_RELAXED);
	if (lost || freed)
		log_debug(host, "%s: handles sweep: %u lost, %u freed", h->path, lost, freed);
}

/* Free what dead members held: their ports holders, their flows, their
 * handles and slots; elect a default if it was one of them. full:
 * rewrite every entry even if nobody died (after a lock owner died
 * mid-change). Under the lock, with the maps open. */
static bool flow_take(const struct steer_flow *k, void *arg);

static void sweep_locked(struct host *h, bool full)
{
	struct gone g;
	unsigned dead = gone_init(h, &g);
	uint64_t now = host_now(h);

	if (dead || full || now >= __atomic_load_n(&h->reg->handle_due, __ATOMIC_RELAXED) ||
	    (h->reg->keeper && gone_has(&g, h->reg->keeper)))
		handles_sweep(h, &g, now, full);
	if (dead || full) {
		ports_fix(h, &g);
		/* Their TCP flows come to us: our stack resets each peer
		 * (host_taken). A joining process has no member yet: it
		 * deletes them, as every flow of theirs was once. */
		int flows = h->member ?
			steer_flow_takeover(h->steer, h->member, flow_gone, flow_take, &g) :
			steer_flow_sweep(h->steer, flow_gone, &g);
		for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
			if (g.m[s + 1] && slot_in_use(h, s)) {
				log_info(host, "%s: member %u (pid %d) is dead: freed", h->path,
					 s + 1, (int)h->reg->members[s].pid);
				slot_free(h, s);
			}
		h->sweeps++;
		h->dead_reaped += dead;
		log_debug(host, "%s: sweep: %u dead, %d flows %s", h->path, dead, flows,
			  h->member ? "taken" : "deleted");
	}
	elect_default(h);
}

/* ---- the lock ------------------------------------------------------- */

/* 0, or -errno. A previous owner that died holding it may have left
 * anything half done: make the mutex usable again and rewrite what it
 * may have touched from what is consistent. */
static int reg_lock(struct host *h)
{
	int err = pthread_mutex_lock(&h->reg->lock);

	if (err == EOWNERDEAD) {
		pthread_mutex_consistent(&h->reg->lock);
		h->lock_repairs++;
		log_warn(host, "%s: a member died holding the registry lock: repairing",
			 h->path);
		if (h->steer)
			sweep_locked(h, true);
		else
			h->repair_pending = true;
		return 0;
	}
	if (err) {
		/* ENOTRECOVERABLE: a repairer died too before marking it
		 * consistent. Nothing but a fresh registry helps. */
		log_error(host, "%s: registry lock unusable: %s (stop every member and "
			  "remove the file)", h->path, strerror(err));
		return -err;
	}
	return 0;
}

static void reg_unlock(struct host *h)
{
	pthread_mutex_unlock(&h->reg->lock);
}

/* ---- the registry file ---------------------------------------------- */

static int reg_path(const struct host_params *p, char *path, size_t len, char *err,
		    size_t errlen)
{
	const char *dir = p->rundir ? p->rundir : HOST_RUNDIR;
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0) {
		int e = errno;
		seterr(err, errlen, "stat /proc/self/ns/net: %s", strerror(e));
		return -e;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		seterr(err, errlen, "registry directory %s: %s", dir, strerror(e));
		return -e;
	}
	int n = snprintf(path, len, "%s/net%llu.%d.%u.%u.%u.%u", dir,
			 (unsigned long long)st.st_ino, p->ifindex, p->addr >> 24,
			 (p->addr >> 16) & 0xff, (p->addr >> 8) & 0xff, p->addr & 0xff);
	if (n < 0 || (size_t)n >= len) {
		seterr(err, errlen, "registry path under %s too long", dir);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int mutex_init_shared(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int err;

	pthread_mutexattr_init(&a);
	err = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return -err;
}

static int reg_init(int fd, const struct host_params *p)
{
	struct host_reg *r;
	int err;

	if (ftruncate(fd, HOST_FILE_SIZE) < 0)
		return -errno;
	r = mmap(NULL, HOST_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED)
		return -errno;
	r->magic = HOST_MAGIC;
	r->version = HOST_VERSION;
	r->size = sizeof(*r);
	r->steer_abi = STEER_ABI;
	r->mutex_size = sizeof(pthread_mutex_t);
	memcpy(r->mac, p->mac, 6);
	r->addr = p->addr;
	r->handle_due = UINT64_MAX;
	/* Ids differ from those of an earlier file at this path too (a
	 * program image may still carry one across exec). */
	uint32_t seed;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	r->handle_seq = seed;
	err = mutex_init_shared(&r->lock);
	munmap(r, HOST_FILE_SIZE);
	return err;
}

/* Put an initialised registry at path unless someone else has: a
 * temporary file made whole, then link()ed (EEXIST: another won); or,
 * replace, rename()d over the file there. */
static int reg_create(const struct host_params *p, const char *path, bool replace,
		      char *err, size_t errlen)
{
	static unsigned seq;
	char tmp[PATH_MAX + 32];
	int fd, e;

	snprintf(tmp, sizeof(tmp), "%s.tmp%d.%u", path, (int)getpid(),
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	fd = mtcp_os.open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		e = -errno;
		seterr(err, errlen, "create %s: %s", tmp, strerror(-e));
		return e;
	}
	e = reg_init(fd, p);
	if (!e && replace && rename(tmp, path) < 0)
		e = -errno;
	else if (!e && !replace && link(tmp, path) < 0 && errno != EEXIST)
		e = -errno;
	if (e)
		seterr(err, errlen, "create registry %s: %s", path, strerror(-e));
	unlink(tmp);
	mtcp_os.close(fd);
	return e;
}

/* The header must be the one this build writes: anything else is another
 * version of the library, whose file we cannot read. *ours: it is one
 * all the same (the magic), which reg_replace may replace. */
static int reg_check(int fd, const char *path, bool *ours, char *err, size_t errlen)
{
	struct host_reg r;
	off_t size = lseek(fd, 0, SEEK_END);
	bool whole = pread(fd, &r, offsetof(struct host_reg, lock), 0) ==
		     (ssize_t)offsetof(struct host_reg, lock);

	*ours = whole && r.magic == HOST_MAGIC;
	if (size != HOST_FILE_SIZE || !whole ||
	    r.magic != HOST_MAGIC || r.version != HOST_VERSION || r.size != sizeof(r) ||
	    r.steer_abi != STEER_ABI || r.mutex_size != sizeof(pthread_mutex_t)) {
		seterr(err, errlen, "registry %s is not of this library's version %u "
		       "(steering ABI %u, %zu bytes): stop its members and remove it", path,
		       HOST_VERSION, STEER_ABI, sizeof(r));
		return -EPROTO;
	}
	return 0;
}

/* A registry of another version of the library (a layout that changed)
 * that no member uses: replace it by ours. A write lock on the whole
 * file proves nobody lives there (each member of any version holds a
 * byte of it) and keeps other replacers out while we rename; a replacer
 * that comes after finds the path naming another file, and opens that.
 * Closes fd. 0: open the path again; -EPROTO: members still use it. */
static int reg_replace(const struct host_params *p, const char *path, int fd, char *err,
		       size_t errlen)
{
	struct stat a, b;
	int e = 0;

	if (ofd_lock_range(fd, F_OFD_SETLK, F_WRLCK, 0, 0, NULL) < 0) {
		mtcp_os.close(fd);
		return -EPROTO;         /* reg_check's message says it */
	}
	if (mtcp_os.fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino) {
		log_info(host, "%s: a registry of another version, unused: replaced", path);
		e = reg_create(p, path, true, err, errlen);
	}
	mtcp_os.close(fd);              /* the lock goes with it */
	return e;
}

/* Open (creating if need be), check and map the registry; and open our
 * own description of it for our liveness byte. */
static int reg_open(struct host *h, const struct host_params *p, char *err, size_t errlen)
{
	bool ours;
	int e;

	for (int tries = 0;; tries++) {
		h->fd = os_own(mtcp_os.open(h->path, O_RDWR | O_CLOEXEC));
		if (h->fd < 0 && errno == ENOENT && tries < 3) {
			e = reg_create(p, h->path, false, err, errlen);
			if (e)
				return e;
			continue;
		}
		if (h->fd < 0) {
			e = -errno;
			seterr(err, errlen, "open registry %s: %s", h->path, strerror(-e));
			return e;
		}
		e = reg_check(h->fd, h->path, &ours, err, errlen);
		if (!e)
			break;
		if (!ours || tries >= 3)
			return e;
		e = reg_replace(p, h->path, h->fd, err, errlen);
		h->fd = -1;
		if (e)
			return e;
	}
	h->reg = mmap(NULL, HOST_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h->fd, 0);
	if (h->reg == MAP_FAILED) {
		h->reg = NULL;
		e = -errno;
		seterr(err, errlen, "map registry %s: %s", h->path, strerror(-e));
		return e;
	}
	h->lockfd = os_own(mtcp_os.open(h->path, O_RDWR | O_CLOEXEC));
	if (h->lockfd < 0) {
		e = -errno;
		seterr(err, errlen, "open registry %s: %s", h->path, strerror(-e));
		return e;
	}
	return 0;
}

static void host_free(struct host *h)
{
	if (h->mbox >= 0)
		mtcp_os.close(h->mbox);
	if (h->steer)
		steer_close(h->steer);
	if (h->lockfd >= 0)
		mtcp_os.close(h->lockfd);
	if (h->fd >= 0)
		mtcp_os.close(h->fd);
	if (h->reg)
		munmap(h->reg, HOST_FILE_SIZE);
	pthread_mutex_destroy(&h->attach_lock);
	free(h->taken);
	free(h);
}

/* ---- join ----------------------------------------------------------- */

/* Without maps (new ones are made): free the dead members' slots; what
 * they held was in the old maps. */
static void slots_free_dead(struct host *h)
{
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
		if (slot_in_use(h, s) && !slot_locked(h, s))
			slot_free(h, s);
}

static bool any_live(struct host *h)
{
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
		if (slot_in_use(h, s) && slot_locked(h, s))
			return true;
	return false;
}

static int maps_new(struct host *h, const struct host_params *p, char *err, size_t errlen)
{
	struct steer_ids ids;
	int e = steer_create(htonl(p->addr), &ids, &h->steer);

	if (e) {
		seterr(err, errlen, "steering maps for %s: %s%s", h->path, strerror(-e),
		       e == -EPERM ? " (BPF needs root or CAP_BPF)" : "");
		return e;
	}
	/* What the dead held in the handles table goes as in a sweep; an
	 * exec grace or a fork child still to join survives, with its id. */
	struct gone g;
	gone_init(h, &g);
	handles_sweep(h, &g, host_now(h), true);
	slots_free_dead(h);
	h->reg->ids = ids;
	memcpy(h->reg->mac, p->mac, 6);
	h->reg->addr = p->addr;
	__atomic_store_n(&h->reg->default_member, 0, __ATOMIC_RELEASE);
	h->repair_pending = false;      /* nothing left to repair in new maps */
	log_info(host, "%s: new steering maps (ports %u, flows %u, conf %u)", h->path,
		 ids.ports, ids.flows, ids.conf);
	return 0;
}

/* The maps: new ones if nobody lives, else the members'. */
static int maps_get(struct host *h, const struct host_params *p, char *err, size_t errlen)
{
	if (!any_live(h))
		return maps_new(h, p, err, errlen);
	int e = steer_open(&h->reg->ids, &h->steer);
	if (e == -ENOENT) {
		log_warn(host, "%s: steering maps gone although members look alive: "
			 "recreating", h->path);
		return maps_new(h, p, err, errlen);
	}
	if (e) {
		seterr(err, errlen, "steering maps of %s: %s%s", h->path, strerror(-e),
		       e == -EPERM ? " (BPF needs root or CAP_BPF)" : "");
		return e;
	}
	if (h->repair_pending) {
		h->repair_pending = false;
		sweep_locked(h, true);
	} else {
		sweep_locked(h, false);   /* no dead member's slot or port is reused */
	}
	return 0;
}

/* Take the lowest free slot whose byte we can lock. */
static int slot_take(struct host *h, char *err, size_t errlen)
{
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++) {
		if (slot_in_use(h, s))
			continue;
		/* EAGAIN: a process still holds a freed slot's byte (a forked
		 * child that has not let go yet): take another. */
		if (ofd_lock(h->lockfd, F_OFD_SETLK, F_WRLCK, s, NULL) < 0)
			continue;
		struct host_member *m = &h->reg->members[s];
		m->pid = (int32_t)getpid();
		m->generation++;
		m->orphans = 0;
		__atomic_store_n(&m->in_use, 1, __ATOMIC_RELEASE);
		h->member = (uint16_t)(s + 1);
		return 0;
	}
	seterr(err, errlen, "registry %s is full (%d members)", h->path, HOST_MEMBERS_MAX);
	return -EUSERS;
}

static int join_locked(struct host *h, const struct host_params *p, uint8_t mac_out[6],
		       char *err, size_t errlen)
{
	int e = maps_get(h, p, err, errlen);

	if (!e)
		e = slot_take(h, err, errlen);
	if (e)
		return e;
	if (!member_live(h, default_member(h)) ||
	    default_member(h) == __atomic_load_n(&h->reg->keeper, __ATOMIC_ACQUIRE))
		set_default(h, h->member);
	memcpy(mac_out, h->reg->mac, 6);
	log_info(host, "%s: joined as member %u (%s, pid %d, generation %u)%s", h->path,
		 h->member, p->iface ? p->iface : "?", (int)getpid(),
		 h->reg->members[h->member - 1].generation,
		 default_member(h) == h->member ? ", the default" : "");
	return 0;
}

/* ---- mailboxes ------------------------------------------------------ */

/*
 * Each member has a datagram socket of its own in the abstract namespace
 * (per network namespace, like the registry), named by the registry's
 * path, the member and the slot's generation, so a message never reaches
 * a later member that took a dead one's slot. Used to move a pending
 * connection to another member of its accept group (tcp_migrate.c).
 */
#define HOST_MBOX_BUF   (4 * 1024 * 1024)

static socklen_t mbox_addr(const struct host *h, uint16_t member, struct sockaddr_un *a)
{
	uint32_t gen = __atomic_load_n(&h->reg->members[member - 1].generation,
				       __ATOMIC_ACQUIRE);
	int n;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "microtcp/%016llx/%u.%u",
		     (unsigned long long)h->path_hash, member, gen);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int mbox_open(struct host *h)
{
	struct sockaddr_un a;
	uint64_t x = 0xcbf29ce484222325ULL;     /* FNV-1a */
	int size = HOST_MBOX_BUF;

	for (const char *c = h->path; *c; c++)
		x = (x ^ (uint8_t)*c) * 0x100000001b3ULL;
	h->path_hash = x;
	h->mbox = os_own(mtcp_os.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (h->mbox < 0)
		return -errno;
	(void)mtcp_os.setsockopt(h->mbox, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	(void)mtcp_os.setsockopt(h->mbox, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	socklen_t len = mbox_addr(h, h->member, &a);
	if (mtcp_os.bind(h->mbox, (struct sockaddr *)&a, len) < 0)
		return -errno;
	return 0;
}

int host_mailbox_fd(const struct host *h)
{
	return h ? h->mbox : -1;
}

int host_mail_send_fd(struct host *h, uint16_t member, const void *msg, size_t len,
		      int fd)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct sockaddr_un a;
	struct iovec iov = { (void *)msg, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!h || !member || member > HOST_MEMBERS_MAX || !member_live(h, member))
		return -ESRCH;
	m.msg_name = &a;
	m.msg_namelen = mbox_addr(h, member, &a);
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.b;
		m.msg_controllen = sizeof(ctl.b);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	if (mtcp_os.sendmsg(h->mbox, &m, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

int host_mail_send(struct host *h, uint16_t member, const void *msg, size_t len)
{
	return host_mail_send_fd(h, member, msg, len, -1);
}

/* Room for more descriptors than a message may carry: what a bad sender
 * put in arrives, and is closed, rather than being cut (MSG_CTRUNC). */
#define HOST_MAIL_FDS   8

/* The descriptors of the SCM_RIGHTS messages in m, up to HOST_MAIL_FDS
 * in fds (the kernel installed them all: any beyond, the control buffer
 * would have truncated). How many. */
static unsigned mail_fds(struct msghdr *m, int *fds)
{
	unsigned n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n < HOST_MAIL_FDS; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

static void fds_close(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mtcp_os.close(fds[i]);
}

ssize_t host_mail_recv_fd(struct host *h, void *buf, size_t cap, int *fd)
{
	if (fd)
		*fd = -1;
	if (!h)
		return -EAGAIN;
	for (;;) {
		union {
			struct cmsghdr c;
			char b[CMSG_SPACE(sizeof(int) * HOST_MAIL_FDS)];
		} ctl;
		struct iovec iov = { buf, cap };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				    .msg_controllen = sizeof(ctl.b) };
		int fds[HOST_MAIL_FDS];
		const char *why = NULL;
		ssize_t n;
		unsigned nfd;

		n = mtcp_os.recvmsg(h->mbox, &m, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		nfd = mail_fds(&m, fds);
		if (m.msg_flags & MSG_CTRUNC)
			why = "its control data was truncated";
		else if (nfd > 1)
			why = "more than one descriptor";
		if (why) {
			fds_close(fds, nfd);
			log_warn(host, "%s: member %u: a mailbox datagram dropped: %s (%u "
				 "descriptors closed)", h->path, h->member, why, nfd);
			continue;
		}
		if (nfd && (!fd || (size_t)n > cap)) {
			/* Nobody to take it, or with a message cut short: the
			 * caller drops the message and would leak it. */
			log_debug(host, "%s: member %u: a descriptor in the mailbox closed "
				  "(%s)", h->path, h->member, fd ? "message truncated" :
				  "not asked for");
			fds_close(fds, nfd);
			nfd = 0;
		}
		if (nfd)
			*fd = fds[0];
		return n;
	}
}

ssize_t host_mail_recv(struct host *h, void *buf, size_t cap)
{
	return host_mail_recv_fd(h, buf, cap, NULL);
}

int host_join(const struct host_params *p, struct host **out, uint8_t mac_out[6],
	      char *err, size_t errlen)
{
	struct host *h = calloc(1, sizeof(*h));
	int e;

	*out = NULL;
	if (!h) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->fd = h->lockfd = h->mbox = -1;
	pthread_mutex_init(&h->attach_lock, NULL);
	e = reg_path(p, h->path, sizeof(h->path), err, errlen);
	if (!e)
		e = reg_open(h, p, err, errlen);
	if (!e) {
		e = reg_lock(h);
		if (e)
			seterr(err, errlen, "registry %s: lock: %s", h->path, strerror(-e));
	}
	if (e) {
		host_free(h);
		return e;
	}
	e = join_locked(h, p, mac_out, err, errlen);
	reg_unlock(h);
	if (!e && (e = mbox_open(h)) < 0)
		seterr(err, errlen, "registry %s: mailbox: %s", h->path, strerror(-e));
	if (e) {
		if (h->member)
			host_leave(h);
		else
			host_free(h);
		return e;
	}
	*out = h;
	return 0;
}

/* ---- leave, forget -------------------------------------------------- */

static bool flow_mine(uint16_t member, void *arg)
{
	return member == *(uint16_t *)arg;
}

static void leave_locked(struct host *h)
{
	struct gone g = { .h = h };
	unsigned s = h->member - 1u;

	g.m[h->member] = true;
	ports_fix(h, &g);
	steer_flow_sweep(h->steer, flow_mine, &h->member);
	handles_sweep(h, &g, host_now(h), false);
	slot_free(h, s);
	ofd_lock(h->lockfd, F_OFD_SETLK, F_UNLCK, s, NULL);
	if (default_member(h) == h->member)
		elect_default(h);
	log_info(host, "%s: member %u left", h->path, h->member);
}

void host_leave(struct host *h)
{
	if (!h)
		return;
	if (reg_lock(h) == 0) {
		leave_locked(h);
		reg_unlock(h);
	}
	/* Locked or not, closing lockfd ends our membership: the next sweep
	 * frees whatever leave_locked could not. */
	host_free(h);
}

void host_forget(struct host *h)
{
	if (!h)
		return;
	/* steer_close only closes this process's fds; the lock on our byte
	 * belongs to the parent's description and stays with it. */
	host_free(h);
}

int host_fds(const struct host *h, int *out, int max)
{
	int n = 0;

	if (!h)
		return 0;
	int own[3] = { h->fd, h->lockfd, h->mbox };
	for (int i = 0; i < 3; i++)
		if (own[i] >= 0 && n < max)
			out[n++] = own[i];
	return n + steer_fds(h->steer, out + n, max - n);
}

/* ---- small queries -------------------------------------------------- */

int host_attach(struct host *h, int sockfd, bool outgoing)
{
	int e;

	if (!h)
		return 0;
	pthread_mutex_lock(&h->attach_lock);
	e = steer_attach(h->steer, sockfd, h->member, outgoing);
	pthread_mutex_unlock(&h->attach_lock);
	return e;
}

uint16_t host_member(const struct host *h)
{
	return h ? h->member : 0;
}

bool host_is_default(struct host *h)
{
	return !h || default_member(h) == h->member;
}

struct steer *host_steer(struct host *h)
{
	return h ? h->steer : NULL;
}

static struct steer_flow flow_key(uint8_t proto, uint16_t lport, uint32_t raddr,
				  uint16_t rport)
{
	struct steer_flow k;

	memset(&k, 0, sizeof(k));
	k.raddr = htonl(raddr);
	k.rport = htons(rport);
	k.lport = htons(lport);
	k.proto = proto;
	return k;
}

bool host_owned_elsewhere(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
			  uint16_t rport)
{
	struct steer_flow k = flow_key(proto, lport, raddr, rport);
	struct steer_port v;
	uint16_t m;

	if (!h)
		return false;
	/* A dead member's flow is nobody's: the default answers it (a reset
	 * tells the peer at once, before the sweep deletes the entry). */
	/* Ours without a connection: one moving here from another member
	 * (tcp_migrate.c), whose state has not arrived yet. Not to reset. */
	if (steer_flow_get(h->steer, &k, &m) == 0 && (m == h->member || member_live(h, m)))
		return true;
	if (steer_port_get(h->steer, proto, htons(lport), &v) != 0)
		return false;
	for (unsigned i = 0; i < v.nholders && i < STEER_HOLDERS; i++)
		if (v.h[i].member != h->member && member_live(h, v.h[i].member))
			return true;
	return false;
}

/* ---- liveness tick -------------------------------------------------- */

/* Without the lock: is anything to sweep? */
static bool sweep_needed(struct host *h)
{
	if (default_member(h) == 0 ||
	    host_now(h) >= __atomic_load_n(&h->reg->handle_due, __ATOMIC_RELAXED))
		return true;
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
		if (slot_in_use(h, s) && !slot_locked(h, s))
			return true;
	return false;
}

void host_tick(struct host *h, uint64_t now_us)
{
	uint64_t next;

	if (!h)
		return;
	next = __atomic_load_n(&h->next_sweep, __ATOMIC_RELAXED);
	if (now_us < next ||
	    !__atomic_compare_exchange_n(&h->next_sweep, &next, now_us + HOST_SWEEP_US,
					 false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	if (!sweep_needed(h))
		return;
	if (reg_lock(h) == 0) {
		sweep_locked(h, false);
		reg_unlock(h);
	}
}

/* ---- ports ---------------------------------------------------------- */

/* Linux's inet_csk_bind_conflict, between a new socket of ours (flags)
 * and another member's holder. */
static bool holder_conflicts(const struct steer_holder *o, unsigned flags, uint32_t uid)
{
	bool reuseport = (flags & HOST_REUSEPORT) && o->no_reuseport == 0 && o->uid == uid;
	bool reuseaddr = (flags & HOST_REUSEADDR) && o->no_reuseaddr == 0 &&
			 o->listening == 0;

	return !reuseport && !reuseaddr;
}

/* 0: no conflict; 1: one with a live member; -1: only with dead ones. */
static int port_conflict(struct host *h, const struct steer_port *v, unsigned flags,
			 uint32_t uid)
{
	int found = 0;

	for (unsigned i = 0; i < v->nholders && i < STEER_HOLDERS; i++) {
		const struct steer_holder *o = &v->h[i];

		if (o->member == h->member || !holder_conflicts(o, flags, uid))
			continue;
		if (member_live(h, o->member))
			return 1;
		found = -1;
	}
	return found;
}

/* Refuse with -EADDRINUSE if another member's holder conflicts. A port
 * a dead process held must be free at once, not at the next tick: sweep
 * first when only dead holders conflict. Reloads *v after a sweep. */
static int check_conflict(struct host *h, uint8_t proto, uint16_t port,
			  struct steer_port *v, unsigned flags, uint32_t uid)
{
	int c = port_conflict(h, v, flags, uid);

	if (c < 0) {
		sweep_locked(h, false);
		int e = port_load(h, proto, port, v);
		if (e)
			return e;
		c = port_conflict(h, v, flags, uid);
	}
	if (c == 0)
		return 0;
	h->conflicts++;
	log_debug(host, "%s: member %u: port %u/%u in use by another member", h->path,
		  h->member, proto, port);
	return -EADDRINUSE;
}

/* Our holder in *v, added if missing. NULL: the entry is full. */
static struct steer_holder *holder_get(struct host *h, struct steer_port *v, uint32_t uid)
{
	struct steer_holder *me = holder_find(v, h->member);

	if (me)
		return me;
	if (v->nholders >= STEER_HOLDERS)
		return NULL;
	me = &v->h[v->nholders++];
	memset(me, 0, sizeof(*me));
	me->member = h->member;
	me->uid = uid;
	return me;
}

/* The uid a socket of ours on port counts as. A socket inherited across
 * fork was made by the process that bound it, whose holder is already
 * there: keep its uid (a server that binds as root and then drops to
 * another user shares its port with its root siblings as Linux would). */
static uint32_t bind_uid(struct host *h, const struct steer_port *v, unsigned flags)
{
	if (flags & HOST_INHERITED)
		for (unsigned i = 0; i < v->nholders && i < STEER_HOLDERS; i++)
			if (v->h[i].member != h->member)
				return v->h[i].uid;
	return (uint32_t)geteuid();
}

static int bind_locked(struct host *h, uint8_t proto, uint16_t port, unsigned flags)
{
	struct steer_port v;
	struct steer_holder *me;
	int e = port_load(h, proto, port, &v);
	uint32_t uid = bind_uid(h, &v, flags);

	if (!e && !(flags & HOST_INHERITED))
		e = check_conflict(h, proto, port, &v, flags, uid);
	if (e)
		return e;
	me = holder_get(h, &v, uid);
	if (!me || me->refs == UINT16_MAX) {
		log_warn(host, "%s: port %u/%u: no room for member %u (%d holders at most)",
			 h->path, proto, port, h->member, STEER_HOLDERS);
		return -EADDRINUSE;
	}
	if (me->refs == 0)
		me->uid = uid;
	me->refs++;
	if (!(flags & HOST_REUSEADDR))
		me->no_reuseaddr++;
	if (!(flags & HOST_REUSEPORT))
		me->no_reuseport++;
	e = port_store(h, proto, port, &v);
	if (!e && (flags & HOST_INHERITED))
		port_bit_set(h->inherited, proto, port, true);
	return e;
}

int host_bind(struct host *h, uint8_t proto, uint16_t port, unsigned flags)
{
	int e;

	if (!h)
		return 0;
	e = reg_lock(h);
	if (e)
		return e;
	e = bind_locked(h, proto, port, flags);
	reg_unlock(h);
	return e;
}

static void unbind_locked(struct host *h, uint8_t proto, uint16_t port, unsigned flags)
{
	struct steer_port v;
	struct steer_holder *me;

	if (port_load(h, proto, port, &v) || !(me = holder_find(&v, h->member)) ||
	    me->refs == 0)
		return;
	me->refs--;
	if (!(flags & HOST_REUSEADDR) && me->no_reuseaddr)
		me->no_reuseaddr--;
	if (!(flags & HOST_REUSEPORT) && me->no_reuseport)
		me->no_reuseport--;
	if (me->refs == 0) {
		port_bit_set(h->active, proto, port, false);
		port_bit_set(h->inherited, proto, port, false);
	}
	port_store(h, proto, port, &v);         /* refs 0: the holder goes */
}

void host_unbind(struct host *h, uint8_t proto, uint16_t port, unsigned flags)
{
	if (!h || reg_lock(h))
		return;
	unbind_locked(h, proto, port, flags);
	reg_unlock(h);
}

/* The flags our sockets on the port all have: what a listen of one of
 * them is checked with (Linux checks the listening socket's own). */
static unsigned holder_flags(const struct steer_holder *me)
{
	return (me->no_reuseaddr ? 0 : HOST_REUSEADDR) | (me->no_reuseport ? 0 : HOST_REUSEPORT);
}

static int listen_locked(struct host *h, uint8_t proto, uint16_t port, bool on)
{
	struct steer_port v;
	struct steer_holder *me;
	int e = port_load(h, proto, port, &v);

	if (e)
		return e;
	if (!(me = holder_find(&v, h->member)))
		return -ENOENT;
	/* Linux's listen checks the port again (a SO_REUSEADDR sharer that
	 * listens already makes ours conflict), but not for a socket that
	 * listened before (a listener inherited across fork, which the other
	 * holder's count includes): with one of those here, no check. */
	if (on && !port_bit(h->inherited, proto, port)) {
		e = check_conflict(h, proto, port, &v, holder_flags(me), me->uid);
		if (e)
			return e;
		me = holder_find(&v, h->member);
		if (!me)
			return -ENOENT;
	}
	if (on && me->listening < me->refs)
		me->listening++;
	else if (!on && me->listening)
		me->listening--;
	return port_store(h, proto, port, &v);
}

int host_listen(struct host *h, uint8_t proto, uint16_t port, bool on)
{
	int e;

	if (!h)
		return 0;
	e = reg_lock(h);
	if (e)
		return e;
	e = listen_locked(h, proto, port, on);
	reg_unlock(h);
	return e;
}

static int activate_locked(struct host *h, uint8_t proto, uint16_t port)
{
	struct steer_port v;
	struct steer_holder *me;
	int e = port_load(h, proto, port, &v);

	if (e)
		return e;
	if (!(me = holder_find(&v, h->member)))
		return -ENOENT;
	if (!(me->flags & STEER_H_ACTIVE) || !active_has(&v, h->member)) {
		me->flags |= STEER_H_ACTIVE;
		e = port_store(h, proto, port, &v);     /* appends us to active[] */
		if (e)
			return e;
		log_debug(host, "%s: member %u takes new flows of %u/%u", h->path, h->member,
			  proto, port);
	}
	port_bit_set(h->active, proto, port, true);
	return 0;
}

int host_activate(struct host *h, uint8_t proto, uint16_t port)
{
	int e;

	if (!h || port_bit(h->active, proto, port))
		return 0;
	e = reg_lock(h);
	if (e)
		return e;
	e = activate_locked(h, proto, port);
	reg_unlock(h);
	return e;
}

/* ---- flows ---------------------------------------------------------- */

/* No registry lock: a flows entry is written only by its member. */
int host_flow_add(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		  uint16_t rport)
{
	struct steer_flow k = flow_key(proto, lport, raddr, rport);

	if (!h)
		return 0;
	return steer_flow_add(h->steer, &k, h->member);
}

void host_flow_del(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport)
{
	struct steer_flow k = flow_key(proto, lport, raddr, rport);
	uint16_t m;

	/* Ours only: a flow given to another member (host_flow_give) is
	 * theirs now. Nobody else writes our entries, so the read and the
	 * delete cannot be split by a change. */
	if (h && steer_flow_get(h->steer, &k, &m) == 0 && m == h->member)
		steer_flow_del(h->steer, &k);
}

int host_flow_give(struct host *h, uint8_t proto, uint16_t lport, uint32_t raddr,
		   uint16_t rport, uint16_t member)
{
	struct steer_flow k = flow_key(proto, lport, raddr, rport);

	if (!h)
		return -ESRCH;
	return steer_flow_add(h->steer, &k, member);
}

uint16_t host_pick_other(struct host *h, uint8_t proto, uint16_t port, uint32_t raddr,
			 uint16_t rport)
{
	struct steer_port v, o = { 0 };

	if (!h || steer_port_get(h->steer, proto, htons(port), &v) != 0)
		return 0;
	for (unsigned i = 0; i < v.nactive && i < STEER_HOLDERS; i++)
		if (v.active[i] != h->member && member_live(h, v.active[i]))
			o.active[o.nactive++] = v.active[i];
	return steer_pick(&o, htonl(raddr), htons(rport));
}

uint16_t host_pick_keeper(struct host *h, uint8_t proto, uint16_t port)
{
	struct steer_port v;
	uint16_t best = 0;

	if (!h || steer_port_get(h->steer, proto, htons(port), &v) != 0)
		return 0;
	for (unsigned i = 0; i < v.nholders && i < STEER_HOLDERS; i++) {
		uint16_t m = v.h[i].member;
		if (m != h->member && v.h[i].listening && (!best || m < best) &&
		    member_live(h, m))
			best = m;
	}
	return best;
}

/* ---- handles -------------------------------------------------------- */

/* The entry of id, or NULL. Under the lock. */
static struct host_handle *handle_find(struct host *h, uint64_t id)
{
	struct host_handle *e = &h->reg->handles[id & (HOST_HANDLES_MAX - 1)];

	return id && e->id == id ? e : NULL;
}

/* Live holders (this member counted if it holds: it lives), the pending
 * count if not expired, one for a running grace. Under the lock. */
static int handle_count(struct host *h, const struct host_handle *e, uint64_t now)
{
	int n = 0;

	for (unsigned w = 0; w < HANDLE_WORDS; w++)
		for (uint64_t b = e->holders[w]; b; b &= b - 1) {
			uint16_t m = (uint16_t)(w * 64 + (unsigned)__builtin_ctzll(b) + 1);

			n += m == h->member || member_live(h, m);
		}
	if (pending_live(e, now))
		n += (int)e->pending;
	return n + grace_live(e, now);
}

int host_handle_new(struct host *h, uint64_t *id)
{
	struct host_reg *r;
	int e;

	*id = 0;
	if (!h)
		return 0;
	if ((e = reg_lock(h)))
		return e;
	r = h->reg;
	e = -ENOSPC;
	for (unsigned i = 0; i < HOST_HANDLES_MAX && r->handles_used < HOST_HANDLES_MAX;
	     i++) {
		unsigned idx = (r->handle_next + i) % HOST_HANDLES_MAX;
		struct host_handle *x = &r->handles[idx];

		if (x->id)
			continue;
		memset(x, 0, sizeof(*x));
		x->id = (++r->handle_seq << HANDLE_IDX_BITS) | idx;
		x->owner = h->member;
		hbit_set(x, h->member, true);
		r->handles_used++;
		r->handle_next = (idx + 1) % HOST_HANDLES_MAX;
		*id = x->id;
		e = 0;
		break;
	}
	reg_unlock(h);
	if (e)
		log_warn(host, "%s: member %u: the handles table is full (%d sockets shared "
			 "between processes)", h->path, h->member, HOST_HANDLES_MAX);
	return e;
}

/* The calls on one entry: op runs under the lock on id's entry (-ENOENT
 * if there is none); h NULL: 0. */
static int handle_call(struct host *h, uint64_t id, uint64_t arg,
		       int (*op)(struct host *, struct host_handle *, uint64_t))
{
	struct host_handle *x;
	int e;

	if (!h)
		return 0;
	if ((e = reg_lock(h)))
		return e;
	x = handle_find(h, id);
	e = x ? op(h, x, arg) : -ENOENT;
	reg_unlock(h);
	return e;
}

static int pend_op(struct host *h, struct host_handle *x, uint64_t arg)
{
	(void)arg;
	x->pending++;
	x->pending_at = host_now(h);
	handle_due_at(h, x->pending_at + HOST_PENDING_US);
	return 0;
}

int host_handle_pend(struct host *h, uint64_t id)
{
	return handle_call(h, id, 0, pend_op);
}

/* join: a fork child that has joined holds it, one pending less. */
static int unpend_op(struct host *h, struct host_handle *x, uint64_t join)
{
	if (join)
		hbit_set(x, h->member, true);
	if (x->pending)
		x->pending--;
	return 0;
}

void host_handle_unpend(struct host *h, uint64_t id)
{
	handle_call(h, id, false, unpend_op);
}

int host_handle_join(struct host *h, uint64_t id)
{
	return handle_call(h, id, true, unpend_op);
}

static int hold_op(struct host *h, struct host_handle *x, uint64_t grace_us)
{
	if (grace_us) {
		uint64_t until = host_now(h) + grace_us;

		if (until > x->grace_until)
			x->grace_until = until;
		handle_due_at(h, x->grace_until);
	} else {
		/* The new image holds it: what the grace waited for. */
		hbit_set(x, h->member, true);
		x->grace_until = 0;
	}
	return 0;
}

int host_handle_hold(struct host *h, uint64_t id, uint64_t grace_us)
{
	return handle_call(h, id, grace_us, hold_op);
}

static int drop_op(struct host *h, struct host_handle *x, uint64_t arg)
{
	int n;

	(void)arg;
	hbit_set(x, h->member, false);
	n = handle_count(h, x, host_now(h));
	/* Nobody holds it: ours, or nobody's, to close now; a live owner's
	 * other than us, to its host_handle_orphans. */
	if (n == 0 && x->owner && x->owner != h->member && member_live(h, x->owner))
		orphan_hint(h, x->owner);
	else if (n == 0)
		handle_free(h, x);
	return n;
}

int host_handle_drop(struct host *h, uint64_t id)
{
	return handle_call(h, id, 0, drop_op);
}

static int holders_op(struct host *h, struct host_handle *x, uint64_t arg)
{
	(void)arg;
	return handle_count(h, x, host_now(h));
}

int host_handle_holders(struct host *h, uint64_t id)
{
	return handle_call(h, id, 0, holders_op);
}

static int owner_op(struct host *h, struct host_handle *x, uint64_t arg)
{
	(void)arg;
	return x->owner && (x->owner == h->member || member_live(h, x->owner)) ?
	       x->owner : 0;
}

uint16_t host_handle_owner(struct host *h, uint64_t id)
{
	int m = handle_call(h, id, 0, owner_op);

	return m > 0 ? (uint16_t)m : 0;
}

static int set_owner_op(struct host *h, struct host_handle *x, uint64_t member)
{
	if (member && member != h->member && !member_live(h, (uint16_t)member))
		return -ESRCH;
	x->owner = (uint16_t)member;
	return 0;
}

int host_handle_set_owner(struct host *h, uint64_t id, uint16_t member)
{
	return handle_call(h, id, member, set_owner_op);
}

static int pick_op(struct host *h, struct host_handle *x, uint64_t arg)
{
	(void)arg;
	for (uint16_t m = 1; m <= HOST_MEMBERS_MAX; m++)
		if (m != h->member && hbit(x, m) && member_live(h, m))
			return m;
	return 0;
}

uint16_t host_handle_pick_holder(struct host *h, uint64_t id)
{
	int m = handle_call(h, id, 0, pick_op);

	return m > 0 ? (uint16_t)m : 0;
}

size_t host_handle_orphans(struct host *h, uint64_t *out, size_t n)
{
	uint32_t *hint;
	size_t k = 0;
	bool more = false;

	if (!h || !n)
		return 0;
	/* Free when nothing is owed: a sweep or a drop that leaves one of
	 * our entries without holders raises the hint. */
	hint = &h->reg->members[h->member - 1u].orphans;
	if (!__atomic_exchange_n(hint, 0, __ATOMIC_ACQ_REL))
		return 0;
	if (reg_lock(h)) {
		orphan_hint(h, h->member);      /* still owed */
		return 0;
	}
	uint64_t now = host_now(h);
	for (unsigned i = 0; i < HOST_HANDLES_MAX && h->reg->handles_used; i++) {
		struct host_handle *x = &h->reg->handles[i];

		if (!x->id || x->owner != h->member || handle_count(h, x, now))
			continue;
		if (k == n) {
			more = true;
			break;
		}
		out[k++] = x->id;
		handle_free(h, x);
	}
	reg_unlock(h);
	if (more)
		orphan_hint(h, h->member);
	return k;
}

/* The entry whose eventfd id is efd_id, or NULL. Under the lock. */
static struct host_handle *handle_by_efd(struct host *h, uint64_t efd_id)
{
	struct host_reg *r = h->reg;

	for (unsigned i = 0, seen = 0; i < HOST_HANDLES_MAX && seen < r->handles_used; i++) {
		struct host_handle *x = &r->handles[i];

		if (!x->id)
			continue;
		seen++;
		if (x->efd_id == efd_id)
			return x;
	}
	return NULL;
}

static int set_efd_op(struct host *h, struct host_handle *x, uint64_t efd_id)
{
	struct host_handle *old;

	/* The kernel reuses an id once its eventfd is gone: an entry that
	 * still names it (a message with the descriptor that was never
	 * received, pending until it expires) names a dead descriptor. */
	while (efd_id && (old = handle_by_efd(h, efd_id)) && old != x)
		old->efd_id = 0;
	x->efd_id = efd_id;
	return 0;
}

int host_handle_set_efd(struct host *h, uint64_t id, uint64_t efd_id)
{
	return handle_call(h, id, efd_id, set_efd_op);
}

int host_handle_by_efd(struct host *h, uint64_t efd_id, uint64_t *id)
{
	struct host_handle *x;
	int e;

	*id = 0;
	if (!h)
		return 0;
	if (!efd_id)
		return -ENOENT;
	if ((e = reg_lock(h)))
		return e;
	x = handle_by_efd(h, efd_id);
	if (x)
		*id = x->id;
	reg_unlock(h);
	return x ? 0 : -ENOENT;
}

/* ---- the keeper ----------------------------------------------------- */

int host_keeper_claim(struct host *h)
{
	uint16_t k;
	int e;

	if (!h)
		return 0;
	if ((e = reg_lock(h)))
		return e;
	k = __atomic_load_n(&h->reg->keeper, __ATOMIC_ACQUIRE);
	if (k && k != h->member && member_live(h, k)) {
		e = -EEXIST;
	} else if (k != h->member) {
		__atomic_store_n(&h->reg->keeper, h->member, __ATOMIC_RELEASE);
		log_info(host, "%s: member %u is the keeper", h->path, h->member);
		if (default_member(h) == h->member)
			elect_default(h);       /* another, or none */
	}
	reg_unlock(h);
	return e;
}

uint16_t host_keeper(struct host *h)
{
	uint16_t k;

	if (!h)
		return 0;
	k = __atomic_load_n(&h->reg->keeper, __ATOMIC_ACQUIRE);
	return k && (k == h->member || member_live(h, k)) ? k : 0;
}

void host_keeper_release(struct host *h)
{
	if (!h || reg_lock(h))
		return;
	if (h->reg->keeper == h->member)
		__atomic_store_n(&h->reg->keeper, 0, __ATOMIC_RELEASE);
	reg_unlock(h);
}

/* ---- counters, tests ------------------------------------------------ */

void host_get_stats(struct host *h, struct host_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	out->member = h->member;
	out->default_member = default_member(h);
	out->keeper = host_keeper(h);
	out->handles = __atomic_load_n(&h->reg->handles_used, __ATOMIC_RELAXED);
	for (unsigned s = 0; s < HOST_MEMBERS_MAX; s++)
		out->members += slot_in_use(h, s);
	out->sweeps = h->sweeps;
	out->dead_reaped = h->dead_reaped;
	out->conflicts = h->conflicts;
	out->lock_repairs = h->lock_repairs;
}

void host_test_skew_clock(struct host *h, int64_t us)
{
	if (h)
		h->skew_us = us;
}

int host_test_hold_lock(struct host *h)
{
	return h ? reg_lock(h) : 0;
}

/* ---- a dead member's connections ------------------------------------ */

/* steer_flow_takeover's take: a TCP flow of a dead member is ours to
 * reset while there is room for it; the rest are deleted. Under the
 * lock. */
static bool flow_take(const struct steer_flow *k, void *arg)
{
	struct host *h = ((struct gone *)arg)->h;

	if (k->proto != IPPROTO_TCP || h->ntaken >= HOST_TAKEN_MAX)
		return false;
	if (h->ntaken == h->taken_cap) {
		size_t cap = h->taken_cap ? h->taken_cap * 2 : 256;
		struct host_flow *t = realloc(h->taken, cap * sizeof(*t));

		if (!t)
			return false;
		h->taken = t;
		h->taken_cap = cap;
	}
	h->taken[h->ntaken] = (struct host_flow){
		.raddr = ntohl(k->raddr), .lport = ntohs(k->lport), .rport = ntohs(k->rport),
	};
	__atomic_store_n(&h->ntaken, h->ntaken + 1, __ATOMIC_RELAXED);
	return true;
}

size_t host_taken(struct host *h, struct host_flow *out, size_t cap)
{
	size_t n;

	if (!h || __atomic_load_n(&h->ntaken, __ATOMIC_RELAXED) == 0 || reg_lock(h))
		return 0;
	n = h->ntaken < cap ? h->ntaken : cap;
	memcpy(out, h->taken + (h->ntaken - n), n * sizeof(*out));
	__atomic_store_n(&h->ntaken, h->ntaken - n, __ATOMIC_RELAXED);
	if (h->ntaken == 0) {
		free(h->taken);
		h->taken = NULL;
		h->taken_cap = 0;
	}
	reg_unlock(h);
	return n;
}
