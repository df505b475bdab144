/*
 * handoff.c - a socket that several processes hold, served by one stack
 * at a time (fork, exec, exit).
 *
 * On the kernel a socket belongs to no process: a fork()ed child shares
 * it with its parent, an exec keeps it, and either may use it at any time.
 * Here each process runs a stack of its own, and a connection's state
 * lives in exactly one of them, its owner. Every other process that holds
 * a descriptor for it has a shell in its own stack instead: a socket
 * object with the same handle and s->remote set, on which every call
 * answers -MTCP_EREMOTE. A caller that meets that asks the owner for the
 * connection (mtcp_claim) and waits for its socket to signal: the
 * connection follows the process that uses it.
 *
 *   requester                       owner
 *   HO_REQ(id) -------------------> export the state (tcp_move.c) into a
 *                                   memfd; the registry names the
 *                                   requester owner; the memfd goes in
 *   <---------------------------- HO_SOCK(id) (SCM_RIGHTS); the steering
 *                                   moves to the requester and the socket
 *   import into the shell,          here becomes a shell (sock_moved_away)
 *   wake whoever waits on it
 *
 * No frame is lost on the way: the owner moves the flow's steering
 * first, then reads what its device already holds (those frames count in
 * the state it exports); the requester holds the frames that reach it
 * before the state does (handoff_hold: a segment for no connection while
 * it waits for one) and replays them once it has imported it.
 *
 * Who holds a handle is the registry's (host_handle_*): a bit per member
 * with a descriptor for it, and a count of fork()ed children that have
 * not joined yet. A process whose last descriptor closes lets go
 * (mtcp_release): the owner keeps a connection that others still hold,
 * with no user of its own (held_only), until one of them asks for it or
 * the last one lets go, and only then closes it as the kernel would
 * close the one socket. A process that exits hands what it still owns to
 * a keeper (preload/README.md, "exit").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "move.h"
#include "os.h"
#include "mtcp.h"
#include "socket.h"
#include "stack.h"
#include "proto.h"
#include "tcp_var.h"

#define HANDOFF_MAGIC   0x4d54484fu     /* "MTHO" */
#define HANDOFF_VERSION 1
/* A state larger than this is refused (the send and receive buffers'
 * limits, twice, and room for the out-of-order queue). */
#define HANDOFF_MAX_STATE (64u << 20)
/* How often a waiting requester asks again (the owner may have changed
 * between its look at the registry and its request). */
#define HANDOFF_REASK_US (50 * USEC_PER_MSEC)

enum ho_type {
	HO_REQ = 1,     /* from wants id */
	HO_SOCK,        /* id's state, in the memfd that comes with it */
	HO_DROP,        /* from let go of id and nobody else holds it */
};

struct ho_msg {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint16_t from;
	uint16_t pad;
	uint32_t len;                   /* HO_SOCK: the state's length */
	uint64_t id;
};

#define HO_HASH 256
/* Frames held for a connection on its way here: at most so many, so
 * long (a move takes a mailbox round trip: well under a millisecond). */
#define HO_HOLD_MAX     512
#define HO_HOLD_US      (200 * USEC_PER_MSEC)
#define HO_QUIET_MAX    64
/* A state this small travels in the message itself, not in a memfd: no
 * descriptor is made or passed (fewer system calls, and it works where
 * none can be: sshd's pre-authentication child runs with
 * RLIMIT_NOFILE 1). The datagram must fit the receiver's st->rxbuf. */
#define HO_INLINE_MAX   (60 * 1024)

/* A held TCP segment: its IPv4 header and payload, copied. */
struct ho_held {
	struct ho_held *next;
	struct ipv4_pkt pkt;            /* hdr and payload point into data */
	uint64_t at;
	uint8_t data[];
};

struct handoff {
	struct mtcp_sock *hash[HO_HASH];        /* via ho_next; a reference each */
	unsigned count;
	uint64_t next_orphan_check;
	uint64_t asked_at;                      /* the latest request we sent */
	struct ho_held *held, **held_tail;
	unsigned nheld;
	bool expiring;                          /* held_expire delivers: hold none */
	/* Messages a quiet thread (mtcp_thread_quiet) could not send: the
	 * stack thread's next turn sends them (handoff_tick). */
	struct ho_msg quiet[HO_QUIET_MAX];
	uint16_t quiet_to[HO_QUIET_MAX];
	unsigned nquiet;
	unsigned nwant;                         /* shells with ho_want */
};

static unsigned ho_bucket(uint64_t id)
{
	return (unsigned)((id * 0x9e3779b97f4a7c15ull) >> 56) & (HO_HASH - 1);
}

static struct handoff *ho_state(struct stack *st)
{
	if (!st->handoff)
		st->handoff = calloc(1, sizeof(*st->handoff));
	return st->handoff;
}

static struct mtcp_sock *ho_find(struct stack *st, uint64_t id)
{
	if (!st->handoff)
		return NULL;
	for (struct mtcp_sock *s = st->handoff->hash[ho_bucket(id)]; s; s = s->ho_next)
		if (s->handle == id)
			return s;
	return NULL;
}

static int ho_insert(struct stack *st, struct mtcp_sock *s)
{
	struct handoff *ho = ho_state(st);

	if (!ho)
		return -ENOMEM;
	unsigned b = ho_bucket(s->handle);
	s->ho_next = ho->hash[b];
	ho->hash[b] = s;
	ho->count++;
	s->refs++;
	return 0;
}

/* Take s out of the table; its reference there goes too (the caller
 * still holds one). */
static void ho_remove(struct stack *st, struct mtcp_sock *s)
{
	struct handoff *ho = st->handoff;

	if (!ho || !s->handle)
		return;
	for (struct mtcp_sock **pp = &ho->hash[ho_bucket(s->handle)]; *pp; pp = &(*pp)->ho_next) {
		if (*pp != s)
			continue;
		*pp = s->ho_next;
		s->ho_next = NULL;
		ho->count--;
		sock_put_locked(s);
		return;
	}
}

static uint16_t me(struct stack *st)
{
	return host_member(st->host);
}

static struct ho_msg ho_header(struct stack *st, enum ho_type type, uint64_t id, uint32_t len)
{
	return (struct ho_msg){
		.magic = HANDOFF_MAGIC,
		.version = HANDOFF_VERSION,
		.type = (uint16_t)type,
		.from = me(st),
		.len = len,
		.id = id,
	};
}

static int ho_send(struct stack *st, uint16_t to, enum ho_type type, uint64_t id,
		   uint32_t len, int fd)
{
	struct ho_msg m = ho_header(st, type, id, len);

	if (stack_tls_quiet && fd < 0) {
		/* No sendmsg on this thread: the stack thread sends it. */
		struct handoff *ho = ho_state(st);
		if (!ho || ho->nquiet == HO_QUIET_MAX)
			return -EAGAIN;
		ho->quiet[ho->nquiet] = m;
		ho->quiet_to[ho->nquiet++] = to;
		stack_kick(st);
		return 0;
	}
	return host_mail_send_fd(st->host, to, &m, sizeof(m), fd);
}

/* HO_SOCK with the state after the header. */
static int ho_send_inline(struct stack *st, uint16_t to, uint64_t id, const struct move_buf *b)
{
	struct ho_msg m = ho_header(st, HO_SOCK, id, (uint32_t)b->len);
	uint8_t *d = malloc(sizeof(m) + b->len);
	int rc;

	if (!d)
		return -ENOMEM;
	memcpy(d, &m, sizeof(m));
	memcpy(d + sizeof(m), b->p, b->len);
	rc = host_mail_send_fd(st->host, to, d, sizeof(m) + b->len, -1);
	free(d);
	return rc;
}

/* A shell: the socket object a process keeps for a connection another
 * stack serves. s keeps its handle, its notify hook and its references;
 * its control block is a fresh one, never used while it is a shell. */
static int make_shell(struct mtcp_sock *s)
{
	s->remote = true;
	s->held_only = false;
	s->closed = false;
	s->ho_asked = 0;        /* the next use asks at once */
	s->connected = s->connecting = s->handshaken = false;
	s->bound = false;
	s->so_error = 0;
	if (s->type == SOCK_STREAM && !s->tp && tcp_attach(s) < 0)
		return -ENOMEM;
	return 0;
}

/* The state of a socket arrived (n, just imported): it becomes shell s's
 * connection. The control block changes hands; n, emptied, is freed. */
static void fill_shell(struct mtcp_sock *s, struct mtcp_sock *n)
{
	struct tcpcb *tp = n->tp;

	if (s->tp)
		tcp_free(s->tp);
	s->tp = tp;
	n->tp = NULL;
	if (tp) {
		tp->so = s;
		/* TCP's own reference (TF_REFHELD) moves with it. */
		if (tp->t_flags & TF_REFHELD) {
			s->refs++;
			n->refs--;
		}
	}
	sock_state_copy(s, n);
	s->host_flags = n->host_flags;
	s->host_held = n->host_held;
	s->host_listening = n->host_listening;
	s->host_active = n->host_active;
	s->host_flow = n->host_flow;
	s->host_inherit = n->host_inherit;
	n->host_held = n->host_listening = n->host_active = n->host_flow = false;
	s->remote = false;
	sock_put_locked(n);
}

static int ask(struct stack *st, struct mtcp_sock *s);

/* ---- frames that come before the state ---- */

bool handoff_hold(struct stack *st, const struct ipv4_pkt *pkt)
{
	struct handoff *ho = st->handoff;

	if (!ho || !ho->asked_at || ho->expiring || stack_now(st) - ho->asked_at > HO_HOLD_US ||
	    ho->nheld >= HO_HOLD_MAX)
		return false;
	struct ho_held *h = malloc(sizeof(*h) + pkt->ip.hlen + pkt->len);
	if (!h)
		return false;
	h->pkt = *pkt;
	memcpy(h->data, pkt->hdr, pkt->ip.hlen);
	memcpy(h->data + pkt->ip.hlen, pkt->payload, pkt->len);
	h->pkt.hdr = h->data;
	h->pkt.payload = h->data + pkt->ip.hlen;
	h->at = stack_now(st);
	h->next = NULL;
	if (!ho->held)
		ho->held_tail = &ho->held;
	*ho->held_tail = h;
	ho->held_tail = &h->next;
	ho->nheld++;
	return true;
}

/* A connection arrived: what waited goes through again, in order (a
 * frame of a connection still on its way is held again). */
static void replay(struct stack *st)
{
	struct handoff *ho = st->handoff;
	struct ho_held *h = ho->held;

	ho->held = NULL;
	ho->held_tail = &ho->held;
	ho->nheld = 0;
	while (h) {
		struct ho_held *next = h->next;
		ipv4_deliver(st, &h->pkt);
		free(h);
		h = next;
	}
}

/* Held too long: the connection never came (its owner died, or it went
 * elsewhere), or the frame was never one of its own. It goes through as
 * any segment for no connection (answered, or dropped). */
static void held_expire(struct stack *st, uint64_t now)
{
	struct handoff *ho = st->handoff;

	ho->expiring = true;
	while (ho->held && now - ho->held->at > HO_HOLD_US) {
		struct ho_held *h = ho->held;
		ho->held = h->next;
		ho->nheld--;
		if (!ho->held)
			ho->held_tail = &ho->held;
		ipv4_deliver(st, &h->pkt);
		free(h);
	}
	ho->expiring = false;
}

/* ---- the owner's side ---- */

/* Send s's state to member to, which asked for it (or takes it at our
 * exit: another holder, or the keeper), and keep a shell when a program
 * of ours still uses it. 0, or -errno with s unchanged. */
static int give(struct stack *st, struct mtcp_sock *s, uint16_t to)
{
	struct move_buf b = { 0 };
	int rc, fd = -1;

	/* Steering first, then what the device already holds for it (read
	 * into the connection here, exported with it): no frame of the
	 * connection is left behind. The requester holds what comes next. */
	bool steered = st->host && s->tp && s->tp->in_ehash;
	if (steered) {
		host_flow_give(st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport, to);
		s->refs++;
		while (netif_input(st, 64) == 64)
			;
		bool gone = s->refs == 1;
		sock_put_locked(s);
		if (gone)
			return 0;       /* a frame ended it (an orphan's last ACK) */
	}
	if ((rc = sock_export(s, &b)) < 0)
		goto out;
	bool inline_state = b.len <= HO_INLINE_MAX;
	if (!inline_state) {
		fd = memfd_create("mtcp-move", MFD_CLOEXEC);
		if (fd < 0 || mtcp_os.write(fd, b.p, b.len) != (ssize_t)b.len) {
			rc = fd < 0 ? -errno : -EIO;
			goto out;
		}
	}
	/* The registry first: the requester, when the state arrives, is
	 * the owner, and a third process asks it, not us. */
	if (s->handle)
		host_handle_set_owner(st->host, s->handle, to);
	if ((rc = inline_state ? ho_send_inline(st, to, s->handle, &b)
			       : ho_send(st, to, HO_SOCK, s->handle, (uint32_t)b.len, fd)) < 0) {
		if (s->handle)
			host_handle_set_owner(st->host, s->handle, me(st));
		goto out;
	}
	steered = false;
	log_debug(core, "handoff %016llx: given to member %u (%zu bytes)",
		  (unsigned long long)s->handle, to, b.len);
	/* From here the state is the other stack's: its steering follows,
	 * and nothing goes to the peer from here. An orphan's last
	 * reference was TCP's: ours keeps s until we are done with it. */
	s->refs++;
	sock_moved_away(s, to);
	if (s->handle && s->held_only) {
		/* Nobody here uses it any more. */
		s->held_only = false;
		ho_remove(st, s);
	} else if (s->handle) {
		make_shell(s);
		sock_wake(s);   /* a caller of ours waiting on it looks again */
	}
	sock_put_locked(s);
out:
	if (steered)    /* it stays: its steering comes back */
		host_flow_give(st->host, IPPROTO_TCP, s->lport, s->raddr, s->rport, me(st));
	if (rc < 0)
		log_info(core, "handoff %016llx to member %u: %s",
			 (unsigned long long)s->handle, to, strerror(-rc));
	if (fd >= 0)
		mtcp_os.close(fd);
	move_buf_free(&b);
	return rc;
}

/* Nobody holds id any more (the last holder let go, or died): a
 * connection we keep for others closes as the kernel's one socket would
 * at its last close. */
static void last_close(struct stack *st, struct mtcp_sock *s)
{
	if (!s->held_only || s->remote)
		return;
	if (host_handle_holders(st->host, s->handle) > 0)
		return;
	s->held_only = false;
	host_handle_drop(st->host, s->handle);
	/* The table's reference was the last user: close with one of our own. */
	s->refs++;
	ho_remove(st, s);
	s->closed = true;
	if (s->type == SOCK_STREAM)
		tcp_usr_close(s);
	else
		udp_close(s);
	s->notify = NULL;
	sock_put_locked(s);
}

/* ---- the requester's side ---- */

static void take(struct stack *st, uint64_t id, int fd, uint32_t len, const uint8_t *inl,
		 size_t inlen)
{
	struct mtcp_sock *s = ho_find(st, id), *n = NULL;
	const uint8_t *state;
	struct stat sb;
	uint8_t *p = MAP_FAILED;
	size_t used = 0;
	int rc;

	if (fd < 0 && inlen == len && len > 0) {
		state = inl;            /* it came in the message */
	} else if (fd < 0 || len > HANDOFF_MAX_STATE || mtcp_os.fstat(fd, &sb) < 0 ||
		   (uint64_t)sb.st_size < len || len == 0) {
		rc = -EPROTO;
		goto fail;
	} else if ((p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		rc = -errno;
		goto fail;
	} else {
		state = p;
	}
	if ((rc = sock_import(st, state, len, &used, &n)) < 0)
		goto fail;
	log_debug(core, "handoff %016llx: taken (%u bytes)", (unsigned long long)id, len);
	if (s && s->remote) {
		fill_shell(s, n);
		sock_wake(s);
		replay(st);
	} else if (!s && n->closed) {
		/* An orphan (its last holder closed it): TCP finishes it
		 * here, as the kernel after its process is gone. */
		sock_put_locked(n);
	} else if (!s) {
		/* Pushed to us with no descriptor of ours for it (a keeper,
		 * or a process that let go meanwhile): kept for its
		 * holders, or closed when there are none. */
		n->handle = id;
		n->held_only = true;
		if (ho_insert(st, n) == 0) {
			sock_put_locked(n);     /* the table's reference is enough */
			last_close(st, n);
		} else {
			sock_put_locked(n);
		}
		replay(st);
	} else {
		/* Already ours: a duplicate can only be a bug elsewhere. */
		log_error(core, "handoff %016llx: arrived twice", (unsigned long long)id);
		sock_put_locked(n);
	}
	if (p != MAP_FAILED)
		munmap(p, len);
	return;
fail:
	if (p != MAP_FAILED)
		munmap(p, len);
	log_warn(core, "handoff %016llx: the state that came cannot be used (%s): "
		 "the connection is lost", (unsigned long long)id, strerror(-rc));
	host_handle_set_owner(st->host, id, 0);
	if (s && s->remote) {
		s->lost = true;
		sock_wake(s);
	}
}

void handoff_input(struct stack *st, const void *msg, size_t len, int fd)
{
	const struct ho_msg *m = msg;

	if (len < sizeof(*m) || m->version != HANDOFF_VERSION) {
		log_warn(core, "handoff: a malformed message (%zu bytes) dropped", len);
		if (fd >= 0)
			mtcp_os.close(fd);
		return;
	}
	/* The message is in st->rxbuf, which a give reuses (it reads the
	 * device): what it says, first. */
	const struct ho_msg msg_copy = *m;
	m = &msg_copy;
	struct mtcp_sock *s = ho_find(st, m->id);
	switch (m->type) {
	case HO_REQ:
		/* Not ours (any more): the requester asks again, of the
		 * owner the registry names by then. */
		if (s && !s->remote)
			give(st, s, m->from);
		break;
	case HO_SOCK:
		/* The state follows the header in st->rxbuf (inline), which
		 * nothing else fills while it is imported. */
		take(st, m->id, fd, m->len, (const uint8_t *)msg + sizeof(*m), len - sizeof(*m));
		break;
	case HO_DROP:
		if (s)
			last_close(st, s);
		break;
	default:
		log_warn(core, "handoff: a message of unknown type %u dropped", m->type);
	}
	if (fd >= 0)
		mtcp_os.close(fd);
}

bool handoff_is_msg(const void *msg, size_t len)
{
	const struct ho_msg *m = msg;

	return len >= sizeof(uint32_t) && m->magic == HANDOFF_MAGIC;
}

void handoff_tick(struct stack *st, uint64_t now)
{
	struct handoff *ho = st->handoff;
	uint64_t ids[64];
	size_t n;

	if (ho && ho->nwant && !stack_tls_quiet) {
		ho->nwant = 0;
		for (unsigned b = 0; b < HO_HASH; b++)
			for (struct mtcp_sock *s = ho->hash[b]; s; s = s->ho_next)
				if (s->ho_want) {
					s->ho_want = false;
					if (s->remote && !s->lost)
						(void)ask(st, s);
				}
	}
	if (ho && ho->nquiet && !stack_tls_quiet) {
		for (unsigned i = 0; i < ho->nquiet; i++)
			(void)host_mail_send_fd(st->host, ho->quiet_to[i], &ho->quiet[i],
						sizeof(ho->quiet[i]), -1);
		ho->nquiet = 0;
	}
	if (ho && ho->held)
		held_expire(st, now);
	if (!ho || !ho->count || now < ho->next_orphan_check)
		return;
	ho->next_orphan_check = now + HOST_SWEEP_US;
	/* Holders that died without letting go (SIGKILL): what only they
	 * held closes. */
	n = host_handle_orphans(st->host, ids, sizeof(ids) / sizeof(ids[0]));
	for (size_t i = 0; i < n; i++) {
		struct mtcp_sock *s = ho_find(st, ids[i]);
		if (s)
			last_close(st, s);
	}
}

unsigned handoff_held(struct stack *st)
{
	unsigned n = 0;

	if (!st->handoff)
		return 0;
	for (unsigned b = 0; b < HO_HASH; b++)
		for (struct mtcp_sock *s = st->handoff->hash[b]; s; s = s->ho_next)
			n += s->held_only;
	return n;
}

void handoff_destroy(struct stack *st)
{
	struct handoff *ho = st->handoff;

	if (!ho)
		return;
	for (unsigned b = 0; b < HO_HASH; b++)
		while (ho->hash[b])
			ho_remove(st, ho->hash[b]);
	while (ho->held) {
		struct ho_held *h = ho->held;
		ho->held = h->next;
		free(h);
	}
	free(ho);
	st->handoff = NULL;
}

/* ---- the API (mtcp.h) ---- */

static bool shareable(const struct mtcp_sock *s)
{
	/* A connection, or one being made: what a listener or a bound UDP
	 * socket is, each process re-creates (mtcp_bind_inherited). */
	return s->type == SOCK_STREAM && s->tp && s->tp->t_state != TCPS_LISTEN &&
	       s->tp->t_state != TCPS_CLOSED && !s->closed;
}

int mtcp_share(struct mtcp_sock *s, bool fork, uint64_t *id)
{
	struct stack *st = s->st;
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	if (!st->host) {
		rc = -EOPNOTSUPP;
	} else if (s->remote) {
		rc = 0;
	} else if (!s->handle) {
		if (!shareable(s))
			rc = -EOPNOTSUPP;
		else if ((rc = host_handle_new(st->host, &s->handle)) == 0 &&
			 (rc = ho_insert(st, s)) < 0) {
			host_handle_drop(st->host, s->handle);
			s->handle = 0;
		}
	}
	if (rc == 0 && fork)
		rc = host_handle_pend(st->host, s->handle);
	if (rc == 0)
		*id = s->handle;
	stack_unlock(st);
	return rc;
}

void mtcp_share_abort(struct stack *st, uint64_t id)
{
	pthread_mutex_lock(&st->lock);
	host_handle_unpend(st->host, id);
	stack_unlock(st);
}

int mtcp_shell(struct stack *st, int type, uint64_t id, bool joined, struct mtcp_sock **out)
{
	struct mtcp_sock *s;
	int rc;

	pthread_mutex_lock(&st->lock);
	if (!st->host) {
		rc = -EOPNOTSUPP;
		goto out;
	}
	if ((s = ho_find(st, id)) && s->held_only && !s->remote) {
		/* Ours still, kept for others since our last descriptor
		 * closed, and a descriptor for it came back (SCM_RIGHTS):
		 * the program uses it again. */
		rc = joined ? host_handle_join(st->host, id) : host_handle_hold(st->host, id, 0);
		if (rc == 0) {
			s->held_only = false;
			s->refs++;
			*out = s;
		}
		goto out;
	}
	if ((rc = mtcp_socket_locked(st, type, &s)) < 0)
		goto out;
	s->handle = id;
	make_shell(s);
	rc = joined ? host_handle_join(st->host, id) : host_handle_hold(st->host, id, 0);
	if (rc == 0 && host_handle_owner(st->host, id) == 0)
		rc = -ECONNRESET;       /* its stack died: the state is gone */
	if (rc == 0)
		rc = ho_insert(st, s);
	if (rc < 0) {
		sock_put_locked(s);
		goto out;
	}
	*out = s;
out:
	stack_unlock(st);
	return rc;
}

int mtcp_handle_set_efd(struct stack *st, uint64_t id, uint64_t efd_id)
{
	return host_handle_set_efd(st->host, id, efd_id);
}

int mtcp_handle_by_efd(struct stack *st, uint64_t efd_id, uint64_t *id)
{
	return host_handle_by_efd(st->host, efd_id, id);
}

/* Ask s's owner for it (at most every HANDOFF_REASK_US): -EINPROGRESS,
 * or -ECONNRESET when its stack died with it. Lock held. */
static int ask(struct stack *st, struct mtcp_sock *s)
{
	uint16_t owner = host_handle_owner(st->host, s->handle);
	uint64_t now = stack_now(st);

	if (owner == 0) {
		s->lost = true;
		sock_wake(s);
		return -ECONNRESET;
	}
	/* owner == me: the state is on its way to our mailbox. */
	if (owner != me(st) && (!s->ho_asked || now - s->ho_asked >= HANDOFF_REASK_US)) {
		int e = ho_send(st, owner, HO_REQ, s->handle, 0, -1);
		log_debug(core, "handoff %016llx: asked member %u: %s",
			  (unsigned long long)s->handle, owner, e ? strerror(-e) : "sent");
		s->ho_asked = now;
		if (ho_state(st))
			st->handoff->asked_at = now;
	}
	return -EINPROGRESS;
}

int mtcp_claim(struct mtcp_sock *s)
{
	struct stack *st = s->st;
	int rc = -EINPROGRESS;

	pthread_mutex_lock(&st->lock);
	if (!s->remote) {
		rc = 0;
	} else if (s->lost) {
		rc = -ECONNRESET;
	} else if (stack_tls_quiet) {
		/* The registry's liveness checks are system calls: the stack
		 * thread asks for us (handoff_tick). */
		struct handoff *ho = ho_state(st);
		if (ho && !s->ho_want) {
			s->ho_want = true;
			ho->nwant++;
		}
		stack_kick(st);
	} else {
		rc = ask(st, s);
	}
	stack_unlock(st);
	return rc;
}

bool mtcp_remote(struct mtcp_sock *s)
{
	return __atomic_load_n(&s->remote, __ATOMIC_RELAXED);
}

uint64_t mtcp_handle(struct mtcp_sock *s)
{
	return s->handle;
}

void mtcp_release(struct mtcp_sock *s)
{
	struct stack *st = s->st;

	if (!s->handle) {
		mtcp_close(s);
		return;
	}
	pthread_mutex_lock(&st->lock);
	uint16_t owner = host_handle_owner(st->host, s->handle);
	int left = host_handle_drop(st->host, s->handle);
	if (s->remote) {
		/* A shell: the connection is another stack's. The last
		 * holder tells it to close. */
		if (left == 0 && owner && owner != me(st))
			ho_send(st, owner, HO_DROP, s->handle, 0, -1);
		ho_remove(st, s);
		s->closed = true;
		s->notify = NULL;
		sock_put_locked(s);
	} else if (left > 0) {
		/* Others still hold it: it stays, with no user here, until
		 * one asks for it or the last lets go (last_close). */
		s->held_only = true;
		s->notify = NULL;
		sock_put_locked(s);     /* the table keeps its own */
	} else {
		ho_remove(st, s);
		stack_unlock(st);
		mtcp_close(s);
		return;
	}
	stack_unlock(st);
}

unsigned mtcp_handoff_push(struct stack *st)
{
	unsigned left = 0;

	pthread_mutex_lock(&st->lock);
	struct handoff *ho = st->handoff;
	for (unsigned b = 0; ho && b < HO_HASH; b++) {
		struct mtcp_sock *s = ho->hash[b], *next;
		for (; s; s = next) {
			next = s->ho_next;
			if (!s->held_only || s->remote)
				continue;
			uint16_t to = host_handle_pick_holder(st->host, s->handle);
			if (!to || give(st, s, to) < 0)
				left++;
		}
	}
	stack_unlock(st);
	return left;
}

unsigned mtcp_handoff_to_keeper(struct stack *st)
{
	unsigned left = 0;

	pthread_mutex_lock(&st->lock);
	uint16_t k = host_keeper(st->host);
	if (!k || k == me(st)) {
		stack_unlock(st);
		return ~0u;
	}
	/* Look again from the start after each: a hand-over frees s. */
	for (;;) {
		struct mtcp_sock *s;
		for (s = st->socks; s; s = s->all_next) {
			struct tcpcb *tp = s->tp;
			if (s->remote || !tp || !TCPS_HAVERCVDSYN(tp->t_state) ||
			    tp->t_listener || tp->t_state == TCPS_CLOSED ||
			    (!s->closed && !s->held_only) || s->ho_tried)
				continue;
			break;
		}
		if (!s)
			break;
		s->ho_tried = true;
		if (give(st, s, k) < 0)
			left++;
	}
	stack_unlock(st);
	return left;
}

int mtcp_exec_hold(struct mtcp_sock *s, uint64_t grace_us)
{
	struct stack *st = s->st;
	int rc;

	pthread_mutex_lock(&st->lock);
	rc = host_handle_hold(st->host, s->handle, grace_us);
	stack_unlock(st);
	return rc;
}
